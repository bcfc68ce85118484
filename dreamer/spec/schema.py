"""The knob schema: each setting declared once, as a dataclass field carrying its type, range, help and kind.

Everything else is derived from these declarations: the Click options (``dreamer.cli.options``),
style-file and replay validation (``dreamer.spec.resolve``), the README option table and the studio's
form. Adding a knob is one ``knob(...)`` field plus the code that uses it.
"""

from __future__ import annotations

import dataclasses
import functools
import math
import os
import types
import typing
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from dreamer.errors import DreamerError

QUICK_ENV = "DREAMER_QUICK"  # set to 1 for a quick trial of any command (the README's examples run so in tests)
MAX_INT = 2**63 - 1  # seeds and counts must fit a signed 64-bit integer (torch generators take no more)


class Kind(StrEnum):
    """What a knob is part of: what decides the look, where it runs, or a file it reads."""

    LOOK = "look"  # hashed into gallery keys and replayed from a PNG
    ENV = "env"  # resolved on the machine that runs (device, precision, tiles): never replayed
    FILE = "file"  # a path the run reads: replayed only when the user names it again


@dataclass(frozen=True)
class Knob:
    """A knob's declaration, kept in its dataclass field's metadata."""

    help: str
    kind: Kind = Kind.LOOK
    lo: float | None = None  # smallest allowed value (inclusive unless lo_open)
    hi: float | None = None  # largest allowed value (inclusive)
    lo_open: bool = False
    choices: tuple[str, ...] = ()
    short: str | None = None  # one-letter CLI flag, e.g. "-l"
    flag: str | None = None  # CLI flag name when it is not the field's name, e.g. "layer" for layers
    cli: bool = True  # False: set in code or files only; the CLI test requires a reason in ``why_not_cli``
    why_not_cli: str = ""
    parse: Callable[[str], Any] | None = None  # CLI text -> value, for types Click has no option type for
    show: str | None = None  # how the default reads in help, when its repr would not
    group: str = "general"  # where the knob sits in a form (the studio's accordions)
    quick: int | float | None = None  # the cap in a quick trial (``DREAMER_QUICK=1``); None or above it becomes it


def knob(default: Any, help: str, **meta: Any) -> Any:
    """A dataclass field declaring one knob: its default, its one-line help, and its checks (see ``Knob``)."""
    spec = Knob(help=help, **meta)
    if isinstance(default, (list, tuple)):
        return dataclasses.field(default=tuple(default), metadata={"knob": spec})
    return dataclasses.field(default=default, metadata={"knob": spec})


def knobs(cls: type) -> dict[str, tuple[dataclasses.Field, Knob]]:
    """Every knob field of a spec class, by name, in declaration order."""
    return {f.name: (f, f.metadata["knob"]) for f in dataclasses.fields(cls) if "knob" in f.metadata}


@functools.cache
def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)  # resolving every annotation is slow: once per spec class


def field_type(cls: type, name: str) -> Any:
    """The resolved annotation of a spec field (``int``, ``str | None``, ``tuple[str, ...]`` ...)."""
    return _hints(cls)[name]


def base_type(tp: Any) -> tuple[Any, bool]:
    """(the type without ``None``, whether ``None`` is allowed)."""
    if isinstance(tp, types.UnionType) or typing.get_origin(tp) is typing.Union:
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        return args[0], len(args) < len(typing.get_args(tp))
    return tp, False


def type_name(tp: Any) -> str:
    """How a type reads in an error message."""
    base, optional = base_type(tp)
    if typing.get_origin(base) is tuple:
        inner = typing.get_args(base)
        name = "a list of strings" if inner[-1] is Ellipsis else f"a list of {len(inner)} numbers"
    else:
        name = {int: "a whole number", float: "a number", bool: "true or false", str: "a string"}.get(base, str(base))
    return f"{name} (or empty)" if optional else name


def _coerce(value: Any, tp: Any) -> tuple[bool, Any]:
    """(ok, value) for a value from an untrusted source: exact types only, ints allowed where floats are."""
    base, optional = base_type(tp)
    if value is None:
        return optional, None
    if typing.get_origin(base) is tuple:
        inner = typing.get_args(base)
        if not isinstance(value, (list, tuple)):
            return False, value
        if inner[-1] is Ellipsis:
            return all(isinstance(v, str) for v in value), tuple(value)
        ok = len(value) == len(inner) and all(_is_number(v) for v in value)
        return ok, tuple(float(v) for v in value) if ok else value
    if base is bool:
        return isinstance(value, bool), value
    if base is int:
        return isinstance(value, int) and not isinstance(value, bool), value
    if base is float:
        return _is_number(value), float(value) if _is_number(value) else value
    if base is str:
        return isinstance(value, str), value
    return isinstance(value, base), value


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _range_problem(value: Any, k: Knob) -> str | None:
    """Why a well-typed value is out of range, or None."""
    numbers = value if isinstance(value, tuple) and all(_is_number(v) for v in value) else (value,)
    for v in numbers:
        if isinstance(v, float) and not math.isfinite(v):
            return "must be a finite number"
        if isinstance(v, int) and not isinstance(v, bool) and abs(v) > MAX_INT:
            return f"must fit in 64 bits (at most {MAX_INT})"
        if isinstance(v, float) and abs(v) > 1e30:
            return "is too large"
    if k.choices and value not in k.choices:
        return f"must be one of {', '.join(k.choices)}"
    if _is_number(value):
        if k.lo is not None and (value <= k.lo if k.lo_open else value < k.lo):
            return f"must be {'greater than' if k.lo_open else 'at least'} {k.lo:g}"
        if k.hi is not None and value > k.hi:
            return f"must be at most {k.hi:g}"
    return None


def check(cls: type, name: str, value: Any, *, strict: bool = True) -> Any:
    """The value checked against the knob's type and range; raises ``DreamerError(field=name)``.

    ``strict`` (files, the library): exact types. Values the CLI parsed are already typed.
    """
    tp = field_type(cls, name)
    k = knobs(cls)[name][1]
    if isinstance(value, str) and value == "" and base_type(tp)[1]:
        value = None  # an empty string clears an optional setting (e.g. ``--guide ''``)
    if not strict and hasattr(value, "__fspath__"):
        value = str(value)
    ok, value = _coerce(value, tp)
    if not ok:
        raise DreamerError(f"must be {type_name(tp)} (got {value!r:.60})", field=name)
    if value is not None and (why := _range_problem(value, k)):
        raise DreamerError(f"{why} (got {value!r:.60})", field=name)
    return value


def quick_trial() -> bool:
    """Whether ``DREAMER_QUICK`` asks for a quick trial: every size, step count and frame count capped small."""
    return os.environ.get(QUICK_ENV, "") not in ("", "0")


def validate(spec: Any) -> None:
    """Check every knob of a spec instance (called from each spec's ``__post_init__``); apply quick-trial caps."""
    quick = quick_trial()
    for name, (_, k) in knobs(type(spec)).items():
        value = check(type(spec), name, getattr(spec, name), strict=False)
        if quick and k.quick is not None and (value is None or value > k.quick):
            value = k.quick
        object.__setattr__(spec, name, value)


def to_dict(spec: Any, kinds: tuple[Kind, ...] = tuple(Kind)) -> dict[str, Any]:
    """A spec's knobs of the given kinds as plain JSON-ready data (tuples become lists)."""
    return {
        name: list(v) if isinstance(v := getattr(spec, name), tuple) else v
        for name, (_, k) in knobs(type(spec)).items()
        if k.kind in kinds
    }
