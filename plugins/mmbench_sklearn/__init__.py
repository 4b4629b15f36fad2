"""Built-in classifiers: logistic regression, linear SVM, random forest, XGBoost."""

from __future__ import annotations

import mmbench

from .classifiers import LinearSVM, LogReg, RandomForest, XGBoost


@mmbench.hookimpl
def mmbench_register_classifiers(register):  # type: ignore[no-untyped-def]
    register(LogReg, name="logreg", aliases=["logistic-regression"])
    register(LinearSVM, name="linear-svm", aliases=["svm"])
    register(RandomForest, name="random-forest", aliases=["rf"])
    register(XGBoost, name="xgboost", aliases=["xgb"])
