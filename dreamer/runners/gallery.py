"""Batch galleries: many photos times many styles, resumable, with a manifest and an HTML index.

plan (``runners.plan``: plain-data jobs and the resume rule) -> execute (here in process or in a
process pool, each worker keeping one ``Engine``) -> outputs (``outputs.pages``).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from dreamer.errors import DreamerError
from dreamer.outputs.images import clean_stale_parts
from dreamer.outputs.pages import thumb_name, write_contact_sheet, write_index, write_manifest, write_thumbnail
from dreamer.runners.lock import folder_lock
from dreamer.runners.plan import GalleryReport, Job, Result, collect_photos, is_done, plan_jobs, unique_styles
from dreamer.spec.specs import DreamSpec, RunEnv
from dreamer.spec.styles import Style, load_style


def render_job(job: Job, out_dir: Path, engine: Any) -> float:
    """Render one job into ``out_dir`` (atomically); returns the seconds it took."""
    from dreamer.api import save_dream
    from dreamer.outputs.images import load_image

    started = time.perf_counter()
    image = load_image(job.photo)
    out = engine.dream(image, DreamSpec(**job.config), provenance={"style": job.style, "job_key": job.key})
    save_dream(out, out_dir / job.output)
    return time.perf_counter() - started


_WORKER: dict[str, Any] = {}  # filled only inside pool worker processes: their own Engine


def _worker_init(threads: int, env: RunEnv) -> None:
    """Pool worker set-up: share the cores fairly and keep one Engine (models load once per worker)."""
    import torch

    from dreamer.engine.engine import Engine
    from dreamer.runners.heap import keep_freed_memory

    keep_freed_memory()  # a worker process is its own entry point: tune its malloc as the CLI does
    torch.set_num_threads(threads)
    _WORKER["engine"] = Engine(env)


def run_one(job: Job, out_dir: Path, engine: Any) -> Result:
    """Render a job and its thumbnail; any failure becomes a failed result, never an abort."""
    try:
        seconds = render_job(job, out_dir, engine)
        write_thumbnail(job, out_dir)
        return Result(job, "done", seconds)
    except DreamerError as exc:
        return Result(job, "failed", error=str(exc))
    except Exception as exc:  # noqa: BLE001 - one broken render must not stop the batch
        return Result(job, "failed", error=f"{Path(job.photo).name}: {type(exc).__name__}: {exc}".splitlines()[0])


def _worker_render(job: Job, out_dir: str) -> Result:
    """Process-pool entry point."""
    return run_one(job, Path(out_dir), _WORKER["engine"])


def gallery(
    photos: Iterable[str],
    styles: Iterable[str],
    out_dir: str | os.PathLike[str],
    *,
    overrides: dict[str, Any] | None = None,
    force: bool = False,
    workers: int = 1,
    env: RunEnv | None = None,
    on_start: Callable[[int], None] | None = None,
    on_result: Callable[[Result], None] | None = None,
) -> GalleryReport:
    """Render every photo in every style into ``out_dir``; skip what is already done; never stop on a bad photo."""
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise DreamerError(f"{out}: is a file; the gallery output must be a folder")
    chosen = unique_styles([load_style(s) for s in dict.fromkeys(styles)])
    if not chosen:
        raise DreamerError("--style: choose at least one style (or --all-styles)")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise DreamerError(f"{out}: cannot create the gallery folder ({exc.strerror or exc})") from None
    if not os.access(out, os.W_OK):
        raise DreamerError(f"{out}: output folder is not writable")
    with folder_lock(out):
        return _run_gallery(out, photos, chosen, overrides, force, workers, env, on_start, on_result)


def _run_gallery(
    out: Path,
    photos: Iterable[str],
    chosen: list[Style],
    overrides: dict[str, Any] | None,
    force: bool,
    workers: int,
    env: RunEnv | None,
    on_start: Callable[[int], None] | None,
    on_result: Callable[[Result], None] | None,
) -> GalleryReport:
    """The gallery, with its folder locked: plan, skip what is done, run the rest, write the pages."""
    for folder in (out, out / "thumbs"):
        if folder.is_dir():
            clean_stale_parts(folder)
    found, missing = collect_photos(photos, exclude=out)
    jobs = plan_jobs(found, chosen, overrides)
    report = GalleryReport(out_dir=out, missing=missing)

    def record(result: Result) -> None:
        report.results.append(result)
        write_manifest(report, jobs, chosen)  # after every job: a killed run loses nothing finished
        if on_result is not None:
            on_result(result)

    todo = []
    for job in jobs:
        if not force and is_done(job, out):
            if not (out / thumb_name(job)).is_file():
                write_thumbnail(job, out)
            report.results.append(Result(job, "skipped"))
            if on_result is not None:
                on_result(report.results[-1])
        else:
            todo.append(job)
    write_manifest(report, jobs, chosen)  # once for everything skipped, then after every render
    if on_start is not None:
        on_start(len(todo))
    env = env or RunEnv()
    if workers <= 1:
        from dreamer.engine.engine import Engine

        engine = Engine(env)
        for job in todo:
            record(run_one(job, out, engine))
    else:
        from concurrent.futures import ProcessPoolExecutor

        threads = max(1, (os.cpu_count() or 1) // workers)
        with ProcessPoolExecutor(workers, initializer=_worker_init, initargs=(threads, env)) as pool:
            for result in pool.map(_worker_render, todo, [str(out)] * len(todo)):
                record(result)
    write_index(report, jobs, chosen)
    write_contact_sheet(report, jobs, chosen)
    return report
