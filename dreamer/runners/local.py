"""Execute gallery jobs in this process with one ``Engine``; also the per-job render every executor shares.

An executor takes planned jobs (``runners.plan``) and yields one ``Result`` per job, in any order;
the gallery records each (image, thumbnail, manifest) as it arrives. Executors: ``local`` (here),
``pool`` (``runners.pool``: CPU processes) and ``ray`` (``runners.ray``: a Ray cluster).
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, Protocol

from dreamer.errors import DreamerError
from dreamer.runners.pages import write_thumbnail
from dreamer.runners.plan import Job, Result
from dreamer.spec.specs import DreamSpec, RunEnv


class Executor(Protocol):
    """Runs jobs somewhere and yields their results; the gallery writes the manifest as they come."""

    name: str

    def run(self, jobs: Sequence[Job], out_dir: Path) -> Iterator[Result]:
        """Render ``jobs`` into ``out_dir`` (each image written atomically), yielding one result per job."""
        ...

    def describe(self) -> dict[str, Any]:
        """What ran the jobs, for the manifest: the executor's name, its workers and nodes."""
        ...


def render_job(job: Job, out_dir: Path, engine: Any) -> float:
    """Render one job into ``out_dir`` (atomically); returns the seconds it took."""
    from dreamer.outputs.images import load_image, save_dream

    started = time.perf_counter()
    image = load_image(job.photo)
    out = engine.dream(image, DreamSpec(**job.config), provenance={"style": job.style, "job_key": job.key})
    save_dream(out, out_dir / job.output)
    return time.perf_counter() - started


def failure(job: Job, exc: Exception) -> Result:
    """A failed result whose error is one line naming the photo."""
    if isinstance(exc, DreamerError):
        return Result(job, "failed", error=str(exc))
    return Result(job, "failed", error=f"{Path(job.photo).name}: {type(exc).__name__}: {exc}".splitlines()[0])


def run_one(job: Job, out_dir: Path, engine: Any) -> Result:
    """Render a job and its thumbnail; any failure becomes a failed result, never an abort."""
    try:
        seconds = render_job(job, out_dir, engine)
        write_thumbnail(job, out_dir)
        return Result(job, "done", seconds)
    except Exception as exc:  # noqa: BLE001 - one broken render must not stop the batch
        return failure(job, exc)


class LocalExecutor:
    """Every job in this process, one after the other, on one ``Engine`` (models load once)."""

    name = "local"

    def __init__(self, env: RunEnv | None = None) -> None:
        self.env = env or RunEnv()

    def run(self, jobs: Sequence[Job], out_dir: Path) -> Iterator[Result]:
        """Render the jobs in order."""
        if not jobs:
            return
        from dreamer.engine.engine import Engine

        engine = Engine(self.env)
        for job in jobs:
            yield run_one(job, out_dir, engine)

    def describe(self) -> dict[str, Any]:
        """One worker: the current process."""
        return {"name": self.name, "workers": 1}
