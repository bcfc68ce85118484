"""One writer per output folder: an advisory lock, so two runs on the same gallery never interleave."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from dreamer.errors import DreamerError

LOCK_NAME = ".dreamer.lock"


@contextmanager
def folder_lock(folder: Path) -> Iterator[None]:
    """Hold ``folder``'s lock for the block, or fail at once with a one-line error naming the holder."""
    try:
        import fcntl
    except ImportError:  # not POSIX: no lock, as before
        yield
        return
    path = folder / LOCK_NAME
    with open(path, "a+", encoding="utf-8") as f:
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            f.seek(0)
            holder = f.read().strip() or "another process"
            raise DreamerError(
                f"{folder}: another dreamer run is writing here (pid {holder}); wait for it or use another folder"
            ) from None
        f.seek(0)
        f.truncate()
        f.write(str(os.getpid()))
        f.flush()
        try:
            yield
        finally:
            path.unlink(missing_ok=True)  # leave the folder as clean as we found it
            fcntl.flock(f, fcntl.LOCK_UN)
