"""dreamer's cache folder (layer thumbnails of the studio): where it is and how much it holds."""

from __future__ import annotations

import os
from pathlib import Path


def cache_dir(override: str | os.PathLike[str] | None = None) -> Path:
    """Where cached files live: ``override``, else ``$DREAMER_CACHE``, else the user's cache dir."""
    if override:
        return Path(override)
    if env := os.environ.get("DREAMER_CACHE"):
        return Path(env)
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "dreamer"


def folder_size(folder: Path) -> tuple[int, int]:
    """(files, bytes) under ``folder``; (0, 0) when it does not exist."""
    sizes = [p.stat().st_size for p in folder.rglob("*") if p.is_file()] if folder.is_dir() else []
    return len(sizes), sum(sizes)
