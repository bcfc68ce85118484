"""Click options derived from the schema: one option per knob of a command's profile, help and default declared.

Values are told apart by where they came from (Click's parameter source), not by ``None``
sentinels: only options given on the command line override a style or a replayed PNG, and an
empty value (``--guide ''``) clears an optional setting a style set.
"""

from __future__ import annotations

import dataclasses
import typing
from collections.abc import Callable
from typing import Any

import click
from click.core import ParameterSource

from dreamer.errors import DreamerError
from dreamer.spec.profiles import PROFILES, profile
from dreamer.spec.resolve import Source, cli_flag, from_options
from dreamer.spec.schema import Knob, base_type, field_type, knobs

GIVEN = (ParameterSource.COMMANDLINE, ParameterSource.ENVIRONMENT)


def _shown(value: Any, k: Knob) -> str:
    if k.show is not None:
        return k.show
    if isinstance(value, bool):
        return "on" if value else "off"
    return "none" if value is None else str(value)


def knob_option(cls: type, name: str, defaults: Any) -> Callable[[Any], Any]:
    """The Click option for one knob of ``cls``, showing ``defaults``' value as its default."""
    _, k = knobs(cls)[name]
    tp, _optional = base_type(field_type(cls, name))
    default = getattr(defaults, name)
    flag = cli_flag(name, cls)
    decls = [k.short, flag] if k.short else [flag]
    preset = default != getattr(cls(), name)  # a command's preset: its own value, not the class default's wording
    help_text = f"{k.help} [default: {_shown(default, dataclasses.replace(k, show=None) if preset else k)}]"
    extra: dict[str, Any] = {}
    if tp is bool:
        decls = [f"{flag}/--no-{flag[2:]}"]
        extra["default"] = default
    elif k.parse is not None:
        extra.update(type=str, default=k.show)
    elif typing.get_origin(tp) is tuple:
        extra.update(multiple=True, default=default)
    elif k.choices:
        extra.update(type=click.Choice(k.choices), default=default)
    else:
        extra.update(type={int: int, float: float}.get(tp, str), default=default)
    return click.option(*decls, name, help=help_text, **extra)


def profile_options(command: str, *classes: type) -> Callable[[Any], Any]:
    """A decorator adding one option per CLI knob of the command's profile (of ``classes``, default all of it)."""
    parts = [p for p in profile(command).parts if not classes or p.cls in classes]

    def decorate(f: Any) -> Any:
        for part in reversed(parts):
            for name in reversed(part.names()):
                if knobs(part.cls)[name][1].cli:
                    f = knob_option(part.cls, name, part.defaults)(f)
        return f

    return decorate


def given(ctx: click.Context, params: dict[str, Any], cls: type) -> Source:
    """The knobs of ``cls`` the user typed on the command line, parsed, as a resolution source."""
    values: dict[str, Any] = {}
    for name, (_, k) in knobs(cls).items():
        if name in params and ctx.get_parameter_source(name) in GIVEN:
            value = params[name]
            if k.parse is not None:
                try:
                    value = k.parse(value)
                except DreamerError as exc:
                    raise exc.spell(lambda n: cli_flag(n, cls)) from None
            values[name] = value
    return from_options(values, cls, cli=True)


def flag(field: str, command: str | None = None) -> str:
    """How the CLI spells an error's field: its knob's flag (the command's own knobs first), else ``--field``."""
    own = PROFILES[command].parts if command in PROFILES else ()
    for part in (*own, *(p for prof in PROFILES.values() for p in prof.parts)):
        if field in knobs(part.cls):
            return cli_flag(field, part.cls)
    return cli_flag(field)
