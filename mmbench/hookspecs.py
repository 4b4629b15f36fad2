"""Hook specifications: what a plugin can provide.

Each hook receives a ``register`` callback; call it once per class the plugin provides::

    @mmbench.hookimpl
    def mmbench_register_classifiers(register):
        register(MyClassifier, name="my-clf", aliases=["myclf"])

``register(cls, name=None, aliases=())`` checks the class against its kind's contract
(:mod:`mmbench.protocols`) and refuses a name another plugin already took.
"""

from __future__ import annotations

from typing import Any, Protocol

import pluggy

hookspec = pluggy.HookspecMarker("mmbench")


class Register(Protocol):
    """The callback each registration hook receives."""

    def __call__(self, cls: type, name: str | None = None, aliases: Any = ()) -> None: ...


@hookspec
def mmbench_register_datasets(register: Register) -> None:
    """Register dataset classes (:class:`mmbench.protocols.Dataset`).

    :param register: call ``register(cls, name=..., aliases=...)`` for each dataset.
    """


@hookspec
def mmbench_register_featurizers(register: Register) -> None:
    """Register featurizer classes (:class:`mmbench.protocols.Featurizer`).

    :param register: call ``register(cls, name=..., aliases=...)`` for each featurizer.
    """


@hookspec
def mmbench_register_fusions(register: Register) -> None:
    """Register fusion-strategy classes (:class:`mmbench.protocols.Fusion`).

    :param register: call ``register(cls, name=..., aliases=...)`` for each strategy.
    """


@hookspec
def mmbench_register_classifiers(register: Register) -> None:
    """Register classifier classes (scikit-learn estimators with ``predict_proba``).

    :param register: call ``register(cls, name=..., aliases=...)`` for each classifier.
    """


@hookspec
def mmbench_register_executors(register: Register) -> None:
    """Register executors: classes that run a suite's cells (locally, on a cluster...).

    Executors are written against :mod:`mmbench.executor_api` (their contract: import from it
    only). An executor has ``run(tasks, on_done)``: it evaluates each ``CellTask``
    (``run_remote`` in another process) and calls ``on_done(task, outcome)``
    in the calling process as each finishes. Optional: ``remote = True`` (cells run where only
    installed plugins exist), ``prepare()`` (connect and check before the run), ``close()``
    (after it), and ``featurizes = True`` with ``run_featurize(job) -> list[ndarray]`` to
    compute :class:`~mmbench.featurize.FeaturizeJob` s on workers.

    :param register: call ``register(cls, name=..., aliases=...)`` for each executor.
    """
