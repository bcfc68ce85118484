"""The frames folder of a video dream: where output goes, the state file, and what a resume may reuse."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from dreamer.errors import DreamerError
from dreamer.outputs.images import atomic_write
from dreamer.video.io import OUTPUT_TYPES

STATE = "video.json"


def check_output(output: Path, source: Path) -> str:
    """What ``-o`` asks for: "frames" (a folder), "mp4" or "gif"; refused before any frame is dreamed."""
    kind = output.suffix.lower()
    if output.is_dir() or not kind or str(output).endswith(("/", os.sep)):
        check_folder(output)
        return "frames"
    if kind not in OUTPUT_TYPES:
        raise DreamerError(f"{output}: unknown video type {output.suffix!r} (use .mp4, .gif or a folder for frames)")
    if output.exists() and source.exists() and output.resolve() == source.resolve():
        raise DreamerError(f"{output}: output path is the input video; choose another name")
    if not output.parent.is_dir():
        raise DreamerError(f"{output}: output folder {output.parent} does not exist")
    if not os.access(output.parent, os.W_OK):
        raise DreamerError(f"{output}: output folder {output.parent} is not writable")
    return kind[1:]


def check_folder(folder: Path) -> None:
    """Refuse a frames folder that is a file, or that cannot be created or written."""
    if folder.exists() and not folder.is_dir():
        raise DreamerError(f"{folder}: is a file; the frames folder must be a directory")
    existing = folder
    while not existing.exists():
        existing = existing.parent
    if not os.access(existing, os.W_OK):
        raise DreamerError(f"{folder}: cannot write the frames there ({existing} is not writable)")


def read_state(folder: Path) -> dict[str, Any] | None:
    """The settings recorded in a frames folder, or None when there are none."""
    path = folder / STATE
    if not path.exists():
        return None
    try:
        state = json.loads(path.read_text())
        if not isinstance(state, dict):
            raise ValueError
        return state
    except (OSError, ValueError):
        raise DreamerError(f"{path}: cannot read the settings of the frames there; delete it to start over") from None


def check_state(folder: Path, old: dict[str, Any], new: dict[str, Any]) -> None:
    """Refuse to continue frames made with other settings (the duration may change)."""
    changed = []
    for key, value in new.items():
        if isinstance(value, dict):  # name the knob, not the group
            was = old.get(key) if isinstance(old.get(key), dict) else {}
            changed += [k for k, v in value.items() if was.get(k) != v]
        elif old.get(key) != value:
            changed.append(key)
    if changed:
        raise DreamerError(
            f"{folder}: holds frames made with other settings ({', '.join(changed)}); "
            "use the same options, another frames folder, or delete it to start over"
        )


def write_state(folder: Path, state: dict[str, Any]) -> None:
    """Create the folder and record the settings its frames are made with."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        atomic_write(folder / STATE, lambda tmp: tmp.write_text(json.dumps(state, indent=2, sort_keys=True)))
    except OSError as exc:
        raise DreamerError(f"{folder}: cannot write the frames there ({exc.strerror or exc})") from None
