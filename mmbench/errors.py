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


class DataMissingError(UserError):
    """Data that is needed is neither on disk nor downloadable."""
