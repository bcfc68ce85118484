"""The gallery's job store: one SQLite row per job in the gallery folder, with the images the resume's truth.

WAL mode, one short transaction per batch of results: a run killed at any moment leaves the store as
of its last commit (SQLite's guarantee), and the images' own metadata covers what it had not recorded
yet. It is checked before it is trusted: a damaged one is set aside and rebuilt from the images.
``manifest.json`` is an export of it (``export_manifest``), written now and then, not after every job.
"""

from __future__ import annotations

import errno
import json
import os
import shutil
import sqlite3
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from dreamer.errors import DreamerError
from dreamer.outputs.images import atomic_write
from dreamer.runners.plan import Job, Result
from dreamer.version import __version__

STORE_NAME = "gallery.sqlite"
SIDECARS = ("-wal", "-shm", "-journal")  # SQLite's files beside the store while (or after) it is open
APPLICATION_ID = 0x44524D47  # "DRMG", in the file's header: a dreamer gallery's store, told apart from any other
FORMAT = 1  # PRAGMA user_version: this layout
SQLITE_IOERR, SQLITE_FULL = 10, 13  # an I/O error with (almost) no room left is a full disk
LOW_SPACE = 1 << 20
COLUMNS = "key, photo, style, output, settings, status, seconds, node, retries, error, size, mtime_ns, run, position"
SCHEMA = """
CREATE TABLE meta (name TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE jobs (
    key TEXT PRIMARY KEY, photo TEXT NOT NULL, style TEXT NOT NULL, output TEXT NOT NULL, settings TEXT NOT NULL,
    status TEXT NOT NULL, seconds REAL, node TEXT, retries TEXT NOT NULL, error TEXT,
    size INTEGER, mtime_ns INTEGER, run INTEGER NOT NULL, position INTEGER NOT NULL
);
CREATE INDEX jobs_by_run ON jobs (run, position);
"""
Stat = tuple[int, int]  # (size, mtime_ns) of a finished image, as recorded: a changed file is checked again


def store_files(name: str) -> bool:
    """Whether ``name`` is the store or one of SQLite's files beside it."""
    return name == STORE_NAME or any(name == STORE_NAME + s for s in SIDECARS)


def is_store(path: Path) -> bool:
    """Whether ``path`` is (by its header) a dreamer gallery's store, or an empty file where one was being made."""
    try:
        with open(path, "rb") as f:
            head = f.read(100)
    except OSError:
        return False
    return not head or (head[:16] == b"SQLite format 3\x00" and int.from_bytes(head[68:72], "big") == APPLICATION_ID)


def stat_of(path: Path) -> Stat | None:
    """(size, mtime_ns) of a file, or None when it is not there."""
    try:
        st = path.stat()
    except OSError:
        return None
    return st.st_size, st.st_mtime_ns


def _failed(path: Path, exc: sqlite3.Error) -> DreamerError:
    """A one-line error naming the store; a full disk reads as every other full disk does."""
    code = getattr(exc, "sqlite_errorcode", 0) & 0xFF  # the primary code (SQLite does not pass on errno)
    full = code == SQLITE_FULL or (code == SQLITE_IOERR and _free(path.parent) < LOW_SPACE)
    return DreamerError(f"{path}: cannot write ({os.strerror(errno.ENOSPC) if full else exc})")


def _free(folder: Path) -> int:
    """Bytes free on ``folder``'s file system (a large number when unknown)."""
    try:
        return shutil.disk_usage(folder).free
    except OSError:
        return 1 << 62


class JobStore:
    """The open store of one gallery folder; ``open`` checks it, or rebuilds it when missing or damaged."""

    def __init__(self, path: Path, db: sqlite3.Connection) -> None:
        self.path = path
        self.db = db

    @classmethod
    def open(cls, folder: Path) -> tuple[JobStore, str | None]:
        """(the store, why a new one was made: ``missing`` or ``damaged (...)``, or None when it was sound)."""
        path = folder / STORE_NAME
        if path.exists():
            try:
                db = _connect(path)
            except sqlite3.Error as exc:
                why = f"damaged ({exc})"
            else:
                try:
                    _check(db)
                    return cls(path, db), None
                except (sqlite3.Error, ValueError) as exc:
                    db.close()
                    why = f"damaged ({exc})"
            _remove(path)  # ours (the folder check claimed it), and no use: the images rebuild it
        else:
            why = "missing"
        try:
            db = _connect(path)
            db.executescript(f"BEGIN; {SCHEMA} PRAGMA application_id = {APPLICATION_ID}; COMMIT;")
            db.execute(f"PRAGMA user_version = {FORMAT}")
            db.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # the header (our id) into the file itself, now
        except sqlite3.Error as exc:
            _remove(path)  # half-made: the next run makes it again
            raise _failed(path, exc) from None
        return cls(path, db), why

    def close(self) -> None:
        """Close the store (SQLite folds its log back in and removes its files beside it)."""
        self.db.close()

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """One transaction; a failed write (a full disk) is a one-line error naming the store."""
        try:
            with self.db:
                yield self.db
        except sqlite3.Error as exc:
            raise _failed(self.path, exc) from None

    def finished(self) -> dict[str, Stat]:
        """Keys of the jobs recorded as finished (done or skipped), with their images' recorded size and time."""
        rows = self.db.execute("SELECT key, size, mtime_ns FROM jobs WHERE status IN ('done', 'skipped')")
        return {key: (size, mtime) for key, size, mtime in rows if size is not None}

    def begin_run(self, jobs: list[Job], skipped: dict[str, Stat], meta: dict[str, Any]) -> None:
        """A new run's plan: every job a row (skipped ones finished, the rest pending), numbered as this run."""
        with self._write() as db:
            run = 1 + int(self.meta().get("run") or 0)
            db.executemany(
                f"INSERT OR REPLACE INTO jobs ({COLUMNS}) VALUES ({', '.join('?' * 14)})",
                (
                    (j.key, j.photo, j.style, j.output, json.dumps(j.config), "skipped" if j.key in skipped else
                     "pending", 0.0 if j.key in skipped else None, None, "[]", None,
                     *skipped.get(j.key, (None, None)), run, n)
                    for n, j in enumerate(jobs)
                ),
            )  # fmt: skip
            self._set_meta(db, {**meta, "run": run})

    def record(self, results: Iterable[Result], stats: dict[str, Stat | None], meta: dict[str, Any]) -> None:
        """Several results and the run's facts in one transaction (``stats``: each finished image's size and time)."""
        with self._write() as db:
            self._set_meta(db, meta)
            db.executemany(
                "UPDATE jobs SET status = ?, seconds = ?, node = ?, retries = ?, error = ?, size = ?, mtime_ns = ? "
                "WHERE key = ?",
                (
                    (r.status, r.seconds, r.node, json.dumps(r.retries), r.error,
                     *(stats.get(r.job.key) or (None, None)), r.job.key)
                    for r in results
                ),
            )  # fmt: skip

    @staticmethod
    def _set_meta(db: sqlite3.Connection, values: dict[str, Any]) -> None:
        db.executemany("INSERT OR REPLACE INTO meta VALUES (?, ?)", ((k, json.dumps(v)) for k, v in values.items()))

    def meta(self) -> dict[str, Any]:
        """The run's facts, as stored."""
        return {name: json.loads(value) for name, value in self.db.execute("SELECT name, value FROM meta")}

    def jobs(self) -> list[dict[str, Any]]:
        """The latest run's jobs, in plan order, as the manifest lists them."""
        run = self.meta().get("run", 0)
        rows = self.db.execute(f"SELECT {COLUMNS} FROM jobs WHERE run = ? ORDER BY position", (run,))
        names = COLUMNS.split(", ")
        return [_manifest_job(dict(zip(names, row, strict=True))) for row in rows]

    def counts(self) -> tuple[dict[str, int], dict[str, int]]:
        """The latest run's jobs by status, and its rendered jobs by node."""
        run = self.meta().get("run", 0)
        by_status = self.db.execute("SELECT status, count(*) FROM jobs WHERE run = ? GROUP BY status", (run,))
        by_node = self.db.execute(
            "SELECT node, count(*) FROM jobs WHERE run = ? AND status = 'done' AND node IS NOT NULL GROUP BY node",
            (run,),
        )
        return dict(by_status.fetchall()), dict(by_node.fetchall())


def _manifest_job(row: dict[str, Any]) -> dict[str, Any]:
    """One store row as a manifest entry (the format ``manifest.json`` always had)."""
    job = {k: row[k] for k in ("photo", "style", "output", "key", "status", "error")}
    job["config"] = json.loads(row["settings"])
    job["seconds"] = None if row["seconds"] is None else round(row["seconds"], 2)
    retries = json.loads(row["retries"])
    if row["node"] is not None or retries:  # executors with several machines, or a worker that died
        job.update(node=row["node"], attempts=1 + len(retries), retries=retries)
    return job


def export_manifest(store: JobStore, out_dir: Path) -> None:
    """``manifest.json`` from the store: inputs, styles, resolved settings, timings and errors (atomically)."""
    meta = store.meta()
    head = {
        "dreamer_version": __version__,
        "updated": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        **{k: meta.get(k, []) for k in ("photos", "missing_inputs")},
        "executor": meta.get("executor", {}),
        "styles": meta.get("styles", []),
    }
    # A key a line and a job a line: json's C encoder (``indent`` would take its pure-Python one, 5x slower).
    lines = [f" {json.dumps(k)}: {json.dumps(v)}," for k, v in head.items()]
    jobs = ",\n".join(f"  {json.dumps(job)}" for job in store.jobs())
    text = "{\n" + "\n".join(lines) + f'\n "jobs": [\n{jobs}\n ]\n}}\n'
    atomic_write(out_dir / "manifest.json", lambda tmp: tmp.write_text(text, encoding="utf-8"))


def _connect(path: Path) -> sqlite3.Connection:
    """Open ``path`` in WAL mode; NORMAL sync: a killed process loses nothing committed (the images cover more)."""
    db = sqlite3.connect(path, timeout=10, isolation_level=None)
    db.execute("PRAGMA journal_mode = WAL")
    db.execute("PRAGMA synchronous = NORMAL")
    db.isolation_level = "DEFERRED"  # ``with db:`` is then one transaction
    return db


def _check(db: sqlite3.Connection) -> None:
    """Raise ValueError (or SQLite's error) unless ``db`` is a sound store of this format."""
    if db.execute("PRAGMA application_id").fetchone()[0] != APPLICATION_ID:
        raise ValueError("not a dreamer gallery store")
    if db.execute("PRAGMA user_version").fetchone()[0] != FORMAT:
        raise ValueError("another format")
    check = db.execute("PRAGMA quick_check").fetchone()[0]
    if check != "ok":
        raise ValueError(check)
    db.execute(f"SELECT {COLUMNS} FROM jobs LIMIT 1").fetchall()
    db.execute("SELECT name, value FROM meta LIMIT 1").fetchall()


def _remove(path: Path) -> None:
    for name in (path.name, *(path.name + s for s in SIDECARS)):
        (path.parent / name).unlink(missing_ok=True)


def open_status(folder: Path) -> JobStore | None:
    """The store of a gallery (running or stopped) to read, or None when the folder has none."""
    path = folder / STORE_NAME
    if not is_store(path) or not path.stat().st_size:
        return None
    try:
        db = sqlite3.connect(f"{path.resolve().as_uri()}?mode=rw", uri=True, timeout=10)
        _check(db)
    except (sqlite3.Error, ValueError) as exc:
        raise DreamerError(f"{path}: cannot read the gallery's store ({exc})") from None
    return JobStore(path, db)


def gallery_status(folder: Path) -> tuple[dict[str, int], dict[str, int]] | None:
    """(the latest run's jobs by status, its renders by node) from ``folder``'s store; None when it has none."""
    store = open_status(folder)
    if store is None:
        return None
    try:
        return store.counts()
    except sqlite3.Error as exc:
        raise DreamerError(f"{store.path}: cannot read the gallery's store ({exc})") from None
    finally:
        store.close()
