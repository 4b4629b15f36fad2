"""Checking a suite entry's parameters before any plugin is built: each value against the
``__init__`` annotation (``int``, ``float``, ``bool``, ``str``, ``Literal[...]``, ``None`` and
unions of these; other annotations are left to the plugin), and, when a constructor refuses
its parameters, which parameter the refusal is about (so the message points at its line).
"""

from __future__ import annotations

import difflib
import inspect
import re
import sys
import types
import typing
from collections.abc import Callable
from typing import Any, Literal, Union

#: Annotation -> how a value is checked; anything else is not checked here.
_SIMPLE: dict[Any, str] = {int: "int", float: "float", bool: "bool", str: "str",
                           type(None): "None"}


def annotations_of(cls: type) -> dict[str, Any]:
    """``cls.__init__``'s parameter annotations, resolved (string annotations evaluated in the
    defining module); one that cannot be resolved stays a string (and is not checked)."""
    init = getattr(cls, "__init__", None)
    try:
        return typing.get_type_hints(init)
    except Exception:
        pass
    raw = getattr(init, "__annotations__", {}) or {}
    scope = vars(sys.modules.get(getattr(init, "__module__", ""), types.ModuleType("x")))
    out = {}
    for name, hint in raw.items():
        if isinstance(hint, str):
            try:
                hint = eval(hint, dict(scope), {})  # noqa: S307 - the plugin's own annotation
            except Exception:
                pass
        out[name] = hint
    return out


def _members(hint: Any) -> tuple[Any, ...] | None:
    """The members of a union annotation, else None."""
    if typing.get_origin(hint) in (Union, types.UnionType):
        return typing.get_args(hint)
    return None


def literal_values(hint: Any) -> list[Any]:
    """The values a ``Literal[...]`` (or a union holding Literals) allows; [] when none."""
    if typing.get_origin(hint) is Literal:
        return list(typing.get_args(hint))
    members = _members(hint)
    return [v for m in members for v in literal_values(m)] if members else []


def describe_type(hint: Any) -> str:
    """An annotation as a reader writes it: ``int | None``, ``str`` for a Literal of strings;
    '' when there is none."""
    if hint is inspect.Parameter.empty:
        return ""
    if isinstance(hint, str):
        return hint
    members = _members(hint)
    if members:
        parts = [describe_type(m) for m in members]
        return " | ".join(dict.fromkeys(p for p in parts if p))
    if typing.get_origin(hint) is Literal:
        return " | ".join(dict.fromkeys(type(v).__name__ if v is not None else "None"
                                        for v in typing.get_args(hint)))
    if hint in _SIMPLE:
        return _SIMPLE[hint]
    if hint is Any:
        return "any"
    if isinstance(hint, type) and typing.get_origin(hint) is None:
        return hint.__name__
    return str(hint).replace("typing.", "")


def _checkable(hint: Any) -> bool:
    if hint in _SIMPLE or typing.get_origin(hint) is Literal:
        return True
    members = _members(hint)
    return bool(members) and all(_checkable(m) for m in members)


def _matches(hint: Any, value: Any) -> bool:
    members = _members(hint)
    if members:
        return any(_matches(m, value) for m in members)
    if typing.get_origin(hint) is Literal:
        return any(value == v and type(value) is type(v) for v in typing.get_args(hint))
    if hint is bool:
        return isinstance(value, bool)
    if hint is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if hint is float:
        return isinstance(value, int | float) and not isinstance(value, bool)
    if hint is str:
        return isinstance(value, str)
    return value is None  # NoneType


def _expected(hint: Any) -> str:
    members = _members(hint)
    if members:
        return " or ".join(dict.fromkeys(_expected(m) for m in members))
    if typing.get_origin(hint) is Literal:
        return "one of " + ", ".join(_toml(v) for v in typing.get_args(hint))
    return {"int": "an integer", "float": "a number", "bool": "true or false",
            "str": "a string", "None": "unset"}[_SIMPLE[hint]]


def _toml(value: Any) -> str:
    """A value as it is written in TOML."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return f'"{value}"'
    return repr(value)


def _got(value: Any) -> str:
    kinds = {bool: "the boolean", int: "the integer", float: "the number", str: "the string",
             list: "the list", dict: "the table"}
    return f"{kinds.get(type(value), type(value).__name__)} {_toml(value)}"


def type_problem(name: str, hint: Any, value: Any) -> str | None:
    """Why ``value`` does not fit ``hint`` (``hidden_dim must be an integer, got the string
    "64"; write hidden_dim = 64``), or None when it fits or the annotation is not checked."""
    if not _checkable(hint) or _matches(hint, value):
        return None
    message = f"{name} must be {_expected(hint)}, got {_got(value)}"
    if isinstance(value, str):
        for m in _members(hint) or (hint,):
            if m in (int, float):
                try:
                    number = m(value)
                except ValueError:
                    continue
                return f"{message}; write {name} = {number!r} (no quotes)"
        allowed = [v for v in literal_values(hint) if isinstance(v, str)]
        close = difflib.get_close_matches(value, allowed, n=1, cutoff=0.6)
        if close:
            return f"{message}; did you mean {_toml(close[0])}?"
    return message


def type_problems(cls: type, params: dict[str, Any]) -> list[tuple[str, str]]:
    """(parameter, problem) for each suite value (each value of a sweep) whose type does not fit
    ``cls.__init__``'s annotation."""
    hints = annotations_of(cls)
    out = []
    for name, value in params.items():
        for choice in value if isinstance(value, list) else [value]:
            problem = type_problem(name, hints.get(name, inspect.Parameter.empty), choice)
            if problem:
                out.append((name, problem))
    return out


def blame(build: Callable[[dict[str, Any]], Any], params: dict[str, Any],
          message: str) -> str | None:
    """Which parameter a constructor's refusal of ``params`` is about: of those refused when
    passed alone (the others left at their defaults), the only one the message names, else the
    only one; None when that cannot be told (a combination is at fault)."""
    if len(params) == 1:
        return next(iter(params))
    refused = []
    for p in params:
        try:
            build({p: params[p]})
        except Exception:
            refused.append(p)
    named = [p for p in refused if re.search(rf"(?<![\w.]){re.escape(p)}(?!\w)", message)]
    if len(named) == 1:
        return named[0]
    return refused[0] if len(refused) == 1 else None
