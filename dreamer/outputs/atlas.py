"""An atlas's output folder: what it holds, the per-photo activation caches, the layout, the finished cells.

::

    OUTDIR/atlas.json           the settings the folder was made with (a rerun with others is refused)
    OUTDIR/acts/NAME-KEY.npz    each photo's sampled patches: activations and boxes (KEY: photo and settings)
    OUTDIR/layout.npz           the 2D layout and each patch's cell, made once (a resume reuses it as it was)
    OUTDIR/cells/cell_R_C.png   each kept cell's picture, written as it finishes (a rerun skips whole ones)
    OUTDIR/patches/cell_R_C_K.jpg  its nearest real patches
    OUTDIR/atlas.png, index.html   the sheet and the page

Every file is written atomically; a folder holding anything else is refused before any work.
"""

from __future__ import annotations

import hashlib
import io
import json
import re
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from dreamer.errors import DreamerError
from dreamer.outputs.folders import read_record, refuse_foreign
from dreamer.outputs.frames import check_folder, whole_png
from dreamer.outputs.images import atomic_write

STATE = "atlas.json"
TOP = {STATE, "layout.npz", "atlas.png", "index.html", "acts", "cells", "patches"}
OWN = {
    "acts": re.compile(r"[\w.-]+-[0-9a-f]{16}\.npz"),
    "cells": re.compile(r"cell_\d+_\d+\.png"),
    "patches": re.compile(r"cell_\d+_\d+_\d+\.jpg"),
}


def file_digest(path: Path) -> str:
    """SHA-1 of a file's bytes (a photo's identity in the caches)."""
    h = hashlib.sha1()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def cell_name(cell: int, grid: int) -> str:
    """``cell_R_C``: a cell by its row and column."""
    return f"cell_{cell // grid:02d}_{cell % grid:02d}"


class AtlasFolder:
    """One atlas's folder (see the module docstring)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)

    def check(self) -> None:
        """Refuse a folder that is a file, cannot be written, or holds files that are not an atlas's."""
        check_folder(self.path)
        refuse_foreign(self.path, TOP.__contains__, "an atlas's files")
        for sub, pattern in OWN.items():
            folder = self.path / sub
            if folder.exists() and not folder.is_dir():
                raise DreamerError(f"{folder}: is a file; an atlas keeps a folder there")
            refuse_foreign(folder, lambda n, p=pattern: bool(p.fullmatch(n)), f"an atlas's {sub}")

    def recorded(self) -> dict[str, Any] | None:
        """The settings recorded in ``atlas.json``, or None when there are none."""
        state = self.path / STATE
        if not state.exists():
            return None
        data = read_record(state)
        if data is None:
            raise DreamerError(f"{state}: cannot read the atlas's settings there; delete it to start over")
        return data

    def agree(self, settings: dict[str, Any]) -> None:
        """Record ``settings``, or refuse them when the folder was made with others (naming what changed)."""
        old = self.recorded()
        if old is None:
            if any((self.path / sub).exists() for sub in ("cells", "layout.npz")):
                raise DreamerError(f"{self.path}: holds atlas cells but no {STATE}; use an empty or new folder")
            text = json.dumps(settings, indent=2, sort_keys=True)
            self.path.mkdir(parents=True, exist_ok=True)
            atomic_write(self.path / STATE, lambda tmp: tmp.write_text(text, encoding="utf-8"))
            return
        changed = [k for k in dict.fromkeys([*settings, *old]) if old.get(k) != settings.get(k)]
        if changed:
            raise DreamerError(
                f"{self.path}: holds an atlas made with other settings ({', '.join(changed)}); "
                "use the same options, another folder, or delete it to start over"
            )

    def acts_path(self, name: str, key: str) -> Path:
        """Where one photo's patches are cached."""
        stem = re.sub(r"[^\w.-]", "_", Path(name).stem)[:60] or "photo"
        return self.path / "acts" / f"{stem}-{key[:16]}.npz"

    def save_arrays(self, path: Path, **arrays: np.ndarray) -> None:
        """Write arrays to an .npz atomically."""
        path.parent.mkdir(parents=True, exist_ok=True)
        buffer = io.BytesIO()
        np.savez(buffer, **arrays)
        atomic_write(path, lambda tmp: tmp.write_bytes(buffer.getvalue()))

    def load_arrays(self, path: Path, names: tuple[str, ...]) -> dict[str, np.ndarray] | None:
        """The named arrays of an .npz written by ``save_arrays``, or None when missing or unreadable (redone)."""
        try:
            with np.load(path, allow_pickle=False) as data:
                return {n: data[n] for n in names}
        except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile):
            return None

    def cell_path(self, cell: int, grid: int) -> Path:
        """Where a cell's picture goes."""
        return self.path / "cells" / f"{cell_name(cell, grid)}.png"

    def finished(self, cell: int, grid: int) -> bool:
        """Whether the cell's picture is there and whole."""
        return whole_png(self.cell_path(cell, grid))

    def patch_path(self, cell: int, grid: int, k: int) -> Path:
        """Where a cell's k-th nearest patch goes."""
        return self.path / "patches" / f"{cell_name(cell, grid)}_{k}.jpg"
