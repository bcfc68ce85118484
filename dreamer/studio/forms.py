"""Forms from the knob schema: one control per knob of a tab's profile, grouped in accordions, and back to a spec.

Nothing here lists knobs by hand: ``controls`` walks a profile's part (``dreamer.spec.profiles``), the
same table the CLI's options come from, so a knob added to a spec shows up in the studio the way it
shows up as a CLI option.
"""

from __future__ import annotations

import inspect
import shlex
import typing
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import gradio as gr

from dreamer.spec.profiles import Part
from dreamer.spec.resolve import cli_flag, from_options, resolve
from dreamer.spec.schema import Kind, base_type, field_type, knobs, to_dict
from dreamer.spec.specs import ADVANCED

Choices = Sequence[str | tuple[str, str]]


@dataclass
class Form:
    """The controls made for one spec class, in the order their values arrive in a handler."""

    cls: type
    names: list[str]
    components: list[Any]
    lists: set[str]  # list knobs shown as multi-select dropdowns (the others as comma-separated text)

    def spec(self, values: Sequence[Any], base: Any = None) -> Any:
        """The checked spec the form's values describe (a bad value raises a one-line DreamerError)."""
        given = {name: _from_control(self.cls, name, v) for name, v in zip(self.names, values, strict=True)}
        return resolve(self.cls, from_options(given, self.cls, cli=False), base=base)

    def values(self, spec: Any, files: bool = True) -> list[Any]:
        """Control values showing ``spec`` (``files=False``: leave file uploads as they are)."""
        out = []
        for name in self.names:
            if knobs(self.cls)[name][1].kind is Kind.FILE and not files:
                out.append(gr.skip())
            else:
                out.append(_shown(self.cls, name, getattr(spec, name), name in self.lists))
        return out


def _shown(cls: type, name: str, value: Any, as_list: bool = False) -> Any:
    """A knob's value as its control holds it (see ``_control``): lists in dropdowns, text in text boxes."""
    tp, optional = base_type(field_type(cls, name))
    if isinstance(value, tuple):
        if as_list:
            return list(value)
        return ",".join(f"{v:g}" if isinstance(v, float) else str(v) for v in value)
    if tp in (int, float) and optional:
        return "" if value is None else str(value)
    return value


def label(name: str) -> str:
    """A knob's control label (``guide_layer`` -> ``guide layer``): how the page names a field in an error."""
    return name.replace("_", " ")


def _control(cls: type, name: str, default: Any, choices: dict[str, Choices]) -> Any:
    """The Gradio component for one knob: its type decides the widget, its help the tooltip."""
    _, k = knobs(cls)[name]
    tp, optional = base_type(field_type(cls, name))
    common = {"label": label(name), "info": k.help}
    if k.kind is Kind.FILE:
        gr.Markdown(f"**{label(name)}**: {k.help}")
        return gr.File(type="filepath", file_count="single", label=label(name))
    if name in choices or k.choices:
        multi = typing.get_origin(tp) is tuple
        options = list(choices.get(name, k.choices))
        value = list(default) if multi else default
        return gr.Dropdown(options, value=value, multiselect=multi, allow_custom_value=not k.choices, **common)
    if tp is bool:
        return gr.Checkbox(value=default, **common)
    if tp in (int, float) and optional:  # a Number box cannot be empty in the page; empty means "not given"
        return gr.Textbox(value=_shown(cls, name, default), placeholder=k.show or "empty: none", **common)
    if tp in (int, float):
        if tp is float and k.lo is not None and k.hi is not None and k.hi - k.lo <= 1:
            return gr.Slider(k.lo, k.hi, value=default, step=0.01, **common)
        return gr.Number(value=default, precision=0 if tp is int else None, **common)
    if typing.get_origin(tp) is tuple:
        return gr.Textbox(value=_shown(cls, name, default), **common)
    return gr.Textbox(value=default or "", placeholder="empty: none" if optional else None, **common)


def controls(
    part: Part,
    defaults: Any = None,
    *,
    choices: dict[str, Choices] | None = None,
    open_groups: tuple[str, ...] = (),
) -> Form:
    """One control per look or file knob of a profile's part, in accordions by ``Knob.group``, in declaration order.

    ``defaults`` (the server's configuration) replaces the part's preset as the values shown.
    """
    cls = part.cls
    defaults = defaults if defaults is not None else part.defaults
    groups: dict[str, list[str]] = {}
    for name in part.names():
        k = knobs(cls)[name][1]
        if k.kind is not Kind.ENV:  # where a run goes is the server's, never the page's
            groups.setdefault(k.group, []).append(name)
    names: list[str] = []
    components: list[Any] = []
    for group, members in sorted(groups.items(), key=lambda item: item[0] == ADVANCED):  # expert knobs last
        with gr.Accordion(group.capitalize(), open=group in open_groups):
            for name in members:
                names.append(name)
                components.append(_control(cls, name, getattr(defaults, name), choices or {}))
    lists = {n for n in names if n in (choices or {}) and typing.get_origin(base_type(field_type(cls, n))[0]) is tuple}
    return Form(cls, names, components, lists)


def _from_control(cls: type, name: str, value: Any) -> Any:
    """A control's value as the knob's type wants it; what cannot be read is left for the check to name."""
    tp, optional = base_type(field_type(cls, name))
    parse = knobs(cls)[name][1].parse
    if parse is not None and isinstance(value, str):
        return parse(value)
    if typing.get_origin(tp) is tuple:
        if isinstance(value, str):
            value = [v.strip() for v in value.split(",") if v.strip()]
        return () if value is None else tuple(value)
    if value is None or (isinstance(value, str) and not value.strip() and optional):
        return None
    if tp in (int, float) and isinstance(value, str):
        try:
            return tp(value.strip())
        except ValueError:
            return value  # the check names the knob and what it must be
    if tp is int and isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def command(spec: dict[str, Any], photo: str, cls: type, verb: str = "render") -> str:
    """The ``dreamer render ...`` line that makes the same image: the photo and every knob off its default."""
    defaults = to_dict(cls())
    parts = ["dreamer", verb, shlex.quote(photo)]
    for name, (_, k) in knobs(cls).items():
        if not k.cli or name not in spec or spec[name] == defaults[name]:
            continue
        value, flag = spec[name], cli_flag(name, cls)
        if isinstance(value, bool):
            parts.append(flag if value else f"--no-{flag[2:]}")
        elif isinstance(value, list):
            parts += [f"{flag} {shlex.quote(str(v))}" for v in value]
        elif k.kind is Kind.FILE and value:
            parts.append(f"{flag} {shlex.quote(Path(value).name)}")
        else:
            parts.append(f"{flag} {shlex.quote('' if value is None else str(value))}")
    return " ".join(parts)


def named(fn: Callable[..., Any], *names: str) -> Callable[..., Any]:
    """``fn`` taking positional values, presented with parameter names (what the HTTP API calls them)."""
    if inspect.isgeneratorfunction(fn):

        def wrapper(*args: Any) -> Any:
            yield from fn(*args)

    else:

        def wrapper(*args: Any) -> Any:
            return fn(*args)

    kind = inspect.Parameter.POSITIONAL_OR_KEYWORD
    wrapper.__signature__ = inspect.Signature([inspect.Parameter(n, kind) for n in names])  # type: ignore[attr-defined]
    wrapper.__name__ = getattr(fn, "__name__", "run")
    wrapper.__doc__ = fn.__doc__
    return wrapper
