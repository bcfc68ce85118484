"""Named presets: TOML files that set render knobs, validated before any render starts.

A style is ``styles/NAME.toml`` (shipped inside the package) or a user's own file. It holds a
one-line ``description`` and any ``DreamSpec`` look or file knob except the seed and weights.
TOML is data only (read with ``tomllib``): nothing in a style file can run code. Values get the
same checks as every other source (``dreamer.spec.resolve``).
"""

from __future__ import annotations

import difflib
import tomllib
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from dreamer.errors import DreamerError
from dreamer.spec.resolve import Source, checked, from_file
from dreamer.spec.schema import Kind, knobs
from dreamer.spec.specs import DreamSpec

NOT_STYLE_KEYS = {"seed", "weights"}  # per-run choices, not part of a look


@dataclass(frozen=True)
class Style:
    """A loaded, validated preset."""

    name: str
    description: str
    settings: dict[str, Any]
    path: Path

    def source(self) -> Source:
        """The style as a resolution source (its values are already checked)."""
        return from_file(self.settings, str(self.path), kinds=(Kind.LOOK, Kind.FILE))

    def apply(self, base: DreamSpec | None = None) -> DreamSpec:
        """``base`` (the defaults) with this style's settings on top."""
        return (base or DreamSpec()).replace(**self.settings)


def styles_dir() -> Path:
    """The shipped styles, ``dreamer/styles`` (the checkout's top-level ``styles/`` links to it)."""
    return Path(str(resources.files("dreamer") / "styles"))


def style_names() -> list[str]:
    """Names of the shipped styles, sorted."""
    return sorted(p.stem for p in styles_dir().glob("*.toml"))


def load_style(name_or_path: str | Path) -> Style:
    """A shipped style by name, or a user's ``.toml`` file, validated (its layers: ``dreamer.engine.styles``)."""
    text = str(name_or_path)
    path = Path(text) if text.endswith(".toml") or Path(text).is_file() else styles_dir() / f"{text}.toml"
    if not path.is_file():
        names = style_names()
        close = difflib.get_close_matches(text, names, n=3)
        hint = f"did you mean {', '.join(close)}?" if close else f"choose from {', '.join(names)} or give a .toml file"
        raise DreamerError(f"`style`: no style {text!r}; {hint}", field="style")
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
    for key in data.keys() & NOT_STYLE_KEYS:
        raise DreamerError(f"{where}: key {key!r} is chosen per run, not by a style (give it as an option)")
    settings = checked(DreamSpec, from_file(data, where, kinds=(Kind.LOOK, Kind.FILE)))
    for key, (_, k) in knobs(DreamSpec).items():
        if k.kind is Kind.FILE and settings.get(key):  # relative to the style file, not the working folder
            settings[key] = str((path.parent / settings[key]).resolve())
    DreamSpec().replace(**settings)  # the settings together make a valid spec
    return Style(name=path.stem, description=description.strip(), settings=settings, path=path)
