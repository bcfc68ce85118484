"""Output folders that may hold the user's own files: written into only when they hold nothing else.

A command writes into a folder only if it holds nothing but that command's own earlier output (and
dreamer's temporaries), looked at file by file.

Each command that writes a folder names what it owns there (``own``: a name -> bool); anything else
in the folder makes the run refuse, in one line naming a few of those files, before any work.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from dreamer.errors import DreamerError
from dreamer.outputs.images import PART

LOCK_NAME = ".dreamer.lock"  # the advisory lock of a run writing the folder (``runners.lock``)


def _temporary(name: str) -> bool:
    """Whether ``name`` is one of dreamer's leftovers: an atomic write's hidden temporary, a run's folder lock."""
    return name.startswith(".") and (name.endswith(PART) or name == LOCK_NAME)


def foreign_files(folder: Path, own: Callable[[str], bool]) -> list[str]:
    """The names in ``folder`` that are not ``own`` (nor a temporary of dreamer's); none when it does not exist."""
    try:
        names = os.listdir(folder)
    except (FileNotFoundError, NotADirectoryError):
        return []
    return sorted(n for n in names if not (own(n) or _temporary(n)))


def refuse_foreign(folder: Path, own: Callable[[str], bool], what: str) -> None:
    """Refuse ``folder`` if it holds anything but ``what`` (e.g. "frames of an earlier zoom"), naming a few."""
    foreign = foreign_files(folder, own)
    if foreign:
        shown = ", ".join(foreign[:3]) + (f" and {len(foreign) - 3} more" if len(foreign) > 3 else "")
        raise DreamerError(
            f"{folder}: holds files that are not {what} ({shown}); nothing there is touched: use an empty or new folder"
        )


def read_record(path: Path) -> dict[str, Any] | None:
    """A JSON object a command wrote beside its output (a state file, a record), or None when missing or not one.

    Read as untrusted: bad UTF-8, bad JSON, nesting past the parser's depth and numbers past int's
    digit limit (ValueError) all count as "not one".
    """
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError):
        return None
    return data if isinstance(data, dict) else None
