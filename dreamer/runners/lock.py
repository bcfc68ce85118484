"""One writer per output folder: an advisory lock, so two runs on the same gallery never interleave."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from dreamer.errors import DreamerError
from dreamer.outputs.folders import LOCK_NAME


@contextmanager
def folder_lock(folder: Path) -> Iterator[None]:
    """Hold ``folder``'s lock for the block, or fail at once with a one-line error naming the holder."""
    try:
        import fcntl
    except ImportError:  # not POSIX: no lock, as before
        yield
        return
    path = folder / LOCK_NAME
    try:
        handle = open(path, "a+", encoding="utf-8")  # noqa: SIM115 - held open for the whole block
    except OSError as exc:
        raise DreamerError(f"{folder}: cannot write there ({exc.strerror or exc})") from None
    with handle as f:
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            f.seek(0)
            holder = f.read().strip() or "another process"
            raise DreamerError(
                f"{folder}: another dreamer run is writing here (pid {holder}); wait for it or use another folder"
            ) from None
        with contextlib.suppress(OSError):  # the pid only informs a second run; a full disk fails later, in one line
            os.truncate(f.fileno(), 0)
            os.pwrite(f.fileno(), str(os.getpid()).encode(), 0)
        try:
            yield
        finally:
            path.unlink(missing_ok=True)  # leave the folder as clean as we found it
            fcntl.flock(f, fcntl.LOCK_UN)


def lock_holder(folder: Path) -> str | None:
    """The process id a run holding ``folder``'s lock wrote there, or None when no run holds it."""
    try:
        import fcntl

        handle = open(folder / LOCK_NAME, encoding="utf-8")  # noqa: SIM115 - closed below
    except (ImportError, OSError):
        return None
    with handle as f:
        try:
            fcntl.flock(f, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return f.read().strip() or "?"
        fcntl.flock(f, fcntl.LOCK_UN)
    return None
