"""Conformance checks, one function per rule, in one module per plugin kind.

Every check takes a plugin (a class, built with its defaults, or an instance, deep-copied so
each check starts from a fresh unfitted object) and raises ``AssertionError`` with a message
that names the plugin with its parameters and says what to fix. :data:`CHECKS` lists them by
kind; :mod:`mmbench.testing` runs them (``check_fusion``...) or hands them to pytest one by one
(``parametrize_with_checks``). docs/testing.md describes every rule and the data they run on.

- :mod:`.datasets`, :mod:`.featurizers`, :mod:`.classifiers`, :mod:`.fusions`: each kind's own
  rules; :mod:`.behaviour`: the rules of every fitted kind (seeds, refits, parameters, pickling);
- :mod:`.data`: :func:`tiny_data`, the data they run on; :mod:`.base`: what they share.
"""

from __future__ import annotations

from .base import KINDS, Check, fresh, kind_of, label, plugin_class, shared_work
from .behaviour import (check_fit_twice, check_params_unchanged_by_fit, check_pickle_round_trip,
                        check_refuses_invalid_params, check_same_random_state)
from .classifiers import (SKLEARN_SKIPPED, check_classifier_contract,
                          check_classifier_fit_returns_self, check_classifier_labels_not_from_zero,
                          check_classifier_learns, check_classifier_params,
                          check_classifier_predict_proba, check_classifier_sklearn_suite)
from .data import tiny_data
from .datasets import (check_dataset_contract, check_dataset_fingerprint, check_dataset_labels,
                       check_dataset_load, check_dataset_samples)
from .featurizers import (check_featurizer_contract, check_featurizer_deterministic,
                          check_featurizer_fit_returns_self, check_featurizer_output,
                          check_featurizer_rows_independent)
from .fusions import (check_fusion_all_missing_gives_prior, check_fusion_class_missing_from_training,
                      check_fusion_complete_rows_unchanged, check_fusion_contract,
                      check_fusion_fit_returns_self, check_fusion_learns,
                      check_fusion_leaves_views_alone, check_fusion_missing_modality,
                      check_fusion_predict_proba, check_fusion_refit_classifier)

#: the rules of every fitted kind, after its own
FITTED = [check_same_random_state, check_fit_twice, check_params_unchanged_by_fit,
          check_pickle_round_trip, check_refuses_invalid_params]

CHECKS: dict[str, list[Check]] = {
    "dataset": [check_dataset_contract, check_dataset_load, check_dataset_labels,
                check_dataset_samples, check_dataset_fingerprint],
    "featurizer": [check_featurizer_contract, check_featurizer_fit_returns_self,
                   check_featurizer_output, check_featurizer_rows_independent,
                   check_featurizer_deterministic, *FITTED],
    "fusion": [check_fusion_contract, check_fusion_fit_returns_self, check_fusion_predict_proba,
               check_fusion_learns, check_fusion_missing_modality,
               check_fusion_all_missing_gives_prior, check_fusion_complete_rows_unchanged,
               check_fusion_class_missing_from_training, check_fusion_leaves_views_alone,
               check_fusion_refit_classifier,
               *FITTED],
    "classifier": [check_classifier_contract, check_classifier_params,
                   check_classifier_fit_returns_self, check_classifier_predict_proba,
                   check_classifier_labels_not_from_zero, check_classifier_learns, *FITTED,
                   check_classifier_sklearn_suite],
}


def checks_for(plugin: object, kind: str | None = None) -> list[Check]:
    """The checks that apply to ``plugin`` (kind inferred unless given)."""
    kind = kind or kind_of(plugin)
    if kind not in CHECKS:
        raise ValueError(f"no checks for kind {kind!r}; kinds with checks: {sorted(CHECKS)}")
    return list(CHECKS[kind])


__all__ = ["CHECKS", "FITTED", "KINDS", "SKLEARN_SKIPPED", "checks_for", "fresh", "kind_of",
           "label", "plugin_class", "shared_work", "tiny_data",
           *[c.__name__ for rules in CHECKS.values() for c in rules]]
