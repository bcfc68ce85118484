"""Named presets: TOML files that set render knobs, validated before any render starts.

A style is ``styles/NAME.toml`` (shipped inside the package) or a user's own file. It holds a
one-line ``description`` and any ``DreamConfig`` knobs. Precedence: defaults < style < explicit
options. TOML is data only (read with ``tomllib``): nothing in a style file can run code.
"""

from __future__ import annotations

import dataclasses
import difflib
import tomllib
import types
import typing
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from dreamer.errors import DreamerError
from dreamer.spec.config import DreamConfig

NOT_STYLE_KEYS = {"seed", "device", "weights"}  # per-run choices, not part of a look
PATH_KEYS = {"guide", "mask"}  # resolved against the style file's folder


@dataclass(frozen=True)
class Style:
    """A loaded, validated preset."""

    name: str
    description: str
    settings: dict[str, Any]
    path: Path

    def apply(self, base: DreamConfig | None = None) -> DreamConfig:
        """``base`` (the defaults) with this style's settings on top."""
        return (base or DreamConfig()).replace(**self.settings)


def styles_dir() -> Path:
    """The shipped styles: the top-level ``styles/`` in a checkout, ``dreamer/styles`` when installed."""
    source = Path(__file__).resolve().parents[2] / "styles"
    if source.is_dir() and any(source.glob("*.toml")):
        return source
    return Path(str(resources.files("dreamer") / "styles"))


def style_names() -> list[str]:
    """Names of the shipped styles, sorted."""
    return sorted(p.stem for p in styles_dir().glob("*.toml"))


def _field_types() -> dict[str, Any]:
    hints = typing.get_type_hints(DreamConfig)
    return {f.name: hints[f.name] for f in dataclasses.fields(DreamConfig) if f.name not in NOT_STYLE_KEYS}


def _type_name(tp: Any) -> str:
    if typing.get_origin(tp) is tuple:
        return "a list of strings"
    args = [a for a in typing.get_args(tp) if a is not type(None)]
    base = args[0] if isinstance(tp, types.UnionType) and args else tp
    return {int: "a whole number", float: "a number", bool: "true or false", str: "a string"}.get(base, str(tp))


def _coerce(where: str, key: str, value: Any, tp: Any) -> Any:
    """Check a TOML value against the knob's type; ints are accepted where floats are."""
    args = [a for a in typing.get_args(tp) if a is not type(None)]
    base = args[0] if isinstance(tp, types.UnionType) and args else tp
    ok = False
    if typing.get_origin(tp) is tuple:
        ok = isinstance(value, list) and all(isinstance(v, str) for v in value)
        value = tuple(value) if ok else value
    elif base is bool:
        ok = isinstance(value, bool)
    elif base is int:
        ok = isinstance(value, int) and not isinstance(value, bool)
    elif base is float:
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
        value = float(value) if ok else value
    elif base is str:
        ok = isinstance(value, str)
    if not ok:
        raise DreamerError(f"{where}: key {key!r} must be {_type_name(tp)} (got {value!r})")
    return value


def _check_layers(where: str, config: DreamConfig) -> None:
    """Every layer a style names must exist in its model (checked on the bare architecture)."""
    from dreamer.core.objectives import parse_specs
    from dreamer.nets.registry import get_spec

    if not config.layers:
        return
    objective = parse_specs(config.layers)
    spec = get_spec(config.model)
    names = {n for n, _ in spec.architecture().named_modules() if n} | {"logits"}
    for name in objective.layers:
        if name not in names:
            close = difflib.get_close_matches(name, sorted(names), n=3, cutoff=0.5)
            hint = f"did you mean {', '.join(close)}?" if close else f"see `dreamer layers --model {config.model}`"
            raise DreamerError(f"{where}: key 'layers': model {config.model} has no layer {name!r}; {hint}")


def load_style(name_or_path: str | Path, check_layers: bool = True) -> Style:
    """A shipped style by name, or a user's ``.toml`` file, fully validated."""
    text = str(name_or_path)
    path = Path(text) if text.endswith(".toml") or Path(text).is_file() else styles_dir() / f"{text}.toml"
    if not path.is_file():
        names = style_names()
        close = difflib.get_close_matches(text, names, n=3)
        hint = f"did you mean {', '.join(close)}?" if close else f"choose from {', '.join(names)} or give a .toml file"
        raise DreamerError(f"--style: no style {text!r}; {hint}")
    where = str(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise DreamerError(f"{where}: not valid TOML ({exc})") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise DreamerError(f"{where}: cannot read the style file ({exc})") from None
    description = data.pop("description", None)
    if not isinstance(description, str) or not description.strip():
        raise DreamerError(f"{where}: key 'description' is required (a one-line string)")
    fields = _field_types()
    settings: dict[str, Any] = {}
    for key, value in data.items():
        if key not in fields:
            close = difflib.get_close_matches(key, list(fields), n=1)
            hint = f"did you mean {close[0]!r}? " if close else ""
            raise DreamerError(f"{where}: unknown key {key!r}; {hint}allowed: description, {', '.join(fields)}")
        value = _coerce(where, key, value, fields[key])
        if key in PATH_KEYS and value:
            value = str((path.parent / value).resolve())
        try:
            DreamConfig().replace(**{key: value})
        except DreamerError as exc:  # the range check names the CLI option; name the file and key too
            raise DreamerError(f"{where}: key {key!r}: {exc}") from None
        settings[key] = value
    config = DreamConfig().replace(**settings)
    if check_layers:
        _check_layers(where, config)
    return Style(name=path.stem, description=description.strip(), settings=settings, path=path)
