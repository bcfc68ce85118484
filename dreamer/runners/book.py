"""The gallery's bookkeeping: which planned jobs are finished, and the results recorded in batches as they come.

Resume: a job is finished when its image is there and either the store recorded it finished with that
file's size and time, or the image's own metadata holds the job's key (what the store missed: a run
killed before its last commit, a store rebuilt). So the store is never trusted past the images.
Results go to the store in short transactions of up to ``BATCH`` (each at most ``FLUSH_EVERY`` late);
``manifest.json`` is exported at most every ``MANIFEST_EVERY`` seconds, and at the end.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable
from pathlib import Path

from dreamer.errors import DreamerWarning
from dreamer.runners.pages import thumb_name, write_thumbnail
from dreamer.runners.plan import DREAM_FILE, PROGRESS_EVERY, GalleryReport, Job, Progress, Result, is_done
from dreamer.runners.store import JobStore, Stat, export_manifest, stat_of

BATCH = 500  # results in one store transaction at most
FLUSH_EVERY = 0.25  # seconds a result waits for its transaction at most (when more results keep coming)
MANIFEST_EVERY = 5.0  # seconds between manifest exports while running, at least...
MANIFEST_SHARE = 20  # ...and this many times the last export's duration, so a huge manifest costs < 5% of the run


def open_store(out: Path) -> tuple[JobStore, str | None]:
    """The folder's store, and why it is being rebuilt from the images (None: sound, or a new gallery)."""
    store, why = JobStore.open(out)
    if why == "missing" and not any(DREAM_FILE.fullmatch(p.name) for p in out.iterdir()):
        why = None  # a new gallery: nothing to rebuild
    return store, why


def finished_jobs(
    store: JobStore, rebuilt: str | None, jobs: list[Job], out: Path, force: bool, progress: Progress | None
) -> dict[str, Stat]:
    """The planned jobs already done (key -> its image's size and time); their missing thumbnails are made."""
    if force:
        return {}
    known = store.finished()
    done: dict[str, Stat] = {}
    checked = 0  # by the image's metadata: what the store did not vouch for
    for n, job in enumerate(jobs):
        stat = stat_of(out / job.output)
        if stat is not None and known.get(job.key) != stat:
            checked += 1
            stat = stat if is_done(job, out) else None
        if stat is not None:
            done[job.key] = stat
            if not (out / thumb_name(job)).is_file():
                write_thumbnail(job, out)
        if progress is not None and (n + 1) % PROGRESS_EVERY == 0:
            progress("checking", n + 1, len(jobs))
    if progress is not None:
        progress("checking", len(jobs), len(jobs))
    if rebuilt is not None:
        warnings.warn(
            f"{store.path}: {rebuilt}; rebuilt from the images ({len(done)} of {len(jobs)} jobs found done)",
            DreamerWarning,
            stacklevel=2,
        )
    return done


class Recorder:
    """Takes results as the executor yields them: into the report at once, into the store in batches."""

    def __init__(
        self,
        store: JobStore,
        report: GalleryReport,
        describe: Callable[[], dict],
        on_result: Callable[[Result], None] | None,
    ) -> None:
        self.store, self.report, self.describe, self.on_result = store, report, describe, on_result
        self.batch: list[Result] = []
        self.flushed = self.exported = time.monotonic()
        self.export_cost = 0.0

    def add(self, result: Result) -> None:
        """One result: kept, passed on, and committed with its batch."""
        self.report.results.append(result)
        self.batch.append(result)
        if self.on_result is not None:
            self.on_result(result)
        if len(self.batch) >= BATCH or time.monotonic() - self.flushed >= FLUSH_EVERY:
            self.flush()

    def flush(self, export: bool = False) -> None:
        """Commit the waiting results; export the manifest when it is due (or ``export``)."""
        out = self.report.out_dir
        stats = {r.job.key: stat_of(out / r.job.output) for r in self.batch if r.status == "done"}
        self.report.executor = self.describe()  # where the workers are: ``--status`` and a watcher read it
        self.store.record(self.batch, stats, {"executor": self.report.executor})
        self.batch.clear()
        self.flushed = now = time.monotonic()
        if export or now - self.exported >= max(MANIFEST_EVERY, MANIFEST_SHARE * self.export_cost):
            export_manifest(self.store, out)
            self.exported = time.monotonic()
            self.export_cost = self.exported - now
