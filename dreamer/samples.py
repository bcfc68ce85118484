"""The photos bundled with dreamer, for the demo, notebooks and tests."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from dreamer.errors import DreamerError


def sample_names() -> list[str]:
    """Names of the bundled sample photos (``astronaut``, ``chelsea``, ``coffee``)."""
    folder = resources.files("dreamer") / "assets"
    return sorted(p.name.removesuffix(".png") for p in folder.iterdir() if p.name.endswith(".png"))


DEFAULT_SAMPLE = "chelsea"  # the sample a bare sample_path() and the studio's first screen give


def sample_path(name: str = DEFAULT_SAMPLE) -> Path:
    """The path of a bundled sample photo."""
    if name not in sample_names():
        raise DreamerError(f"no sample photo {name!r}; choose from {', '.join(sample_names())}")
    return Path(str(resources.files("dreamer") / "assets" / f"{name}.png"))
