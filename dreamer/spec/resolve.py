"""One resolution path for every setting: defaults < style < replayed PNG < explicit options.

Each source is a mapping of knob names to values plus how to name a knob in an error, so a bad
value reads ``--octave-scale must be greater than 1`` from the command line, ``classic.toml: key
'octave_scale' ...`` from a style and ``photo.png: key 'octave_scale' ...`` from a replayed PNG;
arguments leave the field to the surface (``octave_scale`` in Python, ``octave scale`` in the studio).
Every source gets the same type, range and finiteness checks (``dreamer.spec.schema.check``).
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

from dreamer.errors import DreamerError
from dreamer.spec.schema import Kind, check, knobs

T = TypeVar("T")


@dataclass(frozen=True)
class Source:
    """Values from one place, with how that place names a knob in an error."""

    values: Mapping[str, Any]
    name: Callable[[str], str] | None  # knob name -> how the user spelled it here; None: the surface spells it
    kinds: tuple[Kind, ...] = tuple(Kind)  # the kinds this source may set; others are dropped
    strict: bool = True  # exact types (files); False for values a parser already typed (the CLI)
    unknown_ok: bool = False  # ignore keys that are not knobs (a PNG also records provenance)
    dropped: list[str] = field(default_factory=list)  # filled by resolve: known keys this source may not set


def cli_flag(name: str, cls: type | None = None) -> str:
    """``octave_scale`` -> ``--octave-scale`` (the flag a knob gets in the CLI)."""
    k = knobs(cls)[name][1] if cls is not None and name in knobs(cls) else None
    return "--" + ((k.flag if k and k.flag else name).replace("_", "-"))


def from_options(values: Mapping[str, Any], cls: type, *, cli: bool = True) -> Source:
    """Explicit options: given on the command line (named by flag) or as arguments (errors carry the field)."""
    return Source(values, (lambda n: cli_flag(n, cls)) if cli else None, strict=not cli)


def from_file(values: Mapping[str, Any], where: str, *, kinds: tuple[Kind, ...], unknown_ok: bool = False) -> Source:
    """Values read from a file (a style's TOML, a PNG's metadata), named by file and key."""
    return Source(values, lambda n: f"{where}: key {n!r}", kinds=kinds, unknown_ok=unknown_ok)


def _unknown(source: Source, key: str, names: list[str]) -> DreamerError:
    close = difflib.get_close_matches(key, names, n=1)
    hint = f"; did you mean {close[0]!r}?" if close else f"; allowed: {', '.join(names)}"
    return DreamerError(f"{(source.name or str)(key)}: unknown setting{hint}")


def checked(cls: type, source: Source) -> dict[str, Any]:
    """The source's values for ``cls``, each checked, with errors named the source's way."""
    table = knobs(cls)
    out: dict[str, Any] = {}
    for key, value in source.values.items():
        if key not in table:
            if source.unknown_ok:
                continue
            raise _unknown(source, key, list(table))
        if table[key][1].kind not in source.kinds:
            source.dropped.append(key)
            continue
        try:
            out[key] = check(cls, key, value, strict=source.strict)
        except DreamerError as exc:
            raise (exc.spell(source.name) if source.name else exc) from None
    return out


def resolve(cls: type[T], *sources: Source, base: T | None = None) -> T:
    """``base`` (default: the class defaults) with each source applied in order, later ones winning."""
    merged: dict[str, Any] = {}
    for source in sources:
        merged.update(checked(cls, source))
    start = base if base is not None else cls()
    try:
        return start.replace(**merged)  # type: ignore[attr-defined]
    except DreamerError as exc:  # a rule across knobs (e.g. tile 0 or >= 64): name it like its source
        owner = next((s for s in reversed(sources) if exc.field in s.values), None)
        if owner is None or owner.name is None:
            raise
        raise exc.spell(owner.name) from None
