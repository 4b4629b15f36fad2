"""Exceptions with messages a user can act on.

Everything the user can fix (a suite, a path, a parameter, missing data) raises
:class:`UserError`; the CLI prints its message on one line and exits with code 2.
"""

from __future__ import annotations


class MmbenchError(Exception):
    """Base class of mmbench's own errors."""


class UserError(MmbenchError):
    """Bad input: the message says what is wrong, where, and what to do. Exit code 2."""


class SuiteError(UserError):
    """A suite failed validation; ``problems`` holds one line per problem."""

    def __init__(self, path: str, problems: list[str]) -> None:
        self.path = path
        self.problems = problems
        lines = "\n".join(f"  {p}" for p in problems)
        super().__init__(f"{path}: {len(problems)} problem(s)\n{lines}")


class UnknownNameError(UserError):
    """A name that no plugin registered."""


class DuplicateNameError(MmbenchError):
    """Two plugins registered the same name."""


class PluginContractError(MmbenchError):
    """A registered class does not meet its kind's contract."""


class DataError(UserError, ValueError):
    """A dataset's samples disagree (a modality with another number of rows than the labels,
    groups or a split of the wrong length): raised by :class:`~mmbench.protocols.MultimodalData`
    (a ``ValueError`` too, as before)."""


class DataMissingError(UserError):
    """Data that is needed is neither on disk nor downloadable."""


class PluginOutputError(UserError):
    """A plugin returned something that breaks its contract (a wrong shape, NaN or inf); the
    message names the plugin. The runner records no result for the cells it affects."""


class ResourceError(UserError):
    """Work that would not fit: a featurization's memory, a write's disk space."""


class DiskFullError(ResourceError):
    """A write ran out of disk space (or quota); the half-written file was removed."""

    def __init__(self, path: object) -> None:
        self.path = str(path)
        super().__init__(
            f"disk full while writing {path}: nothing half-written was left there; free space "
            f"on that disk (or point results_dir / cache_dir / MMBENCH_CACHE_DIR elsewhere) and "
            f"run again: finished cells are kept and only the missing ones run"
        )


def is_disk_full(exc: BaseException) -> bool:
    """Whether ``exc`` is an out-of-space (or out-of-quota) error from the operating system."""
    import errno

    return isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT)


class MemoryLimitError(ResourceError):
    """A featurization's estimated memory exceeds what is available; nothing was computed."""
