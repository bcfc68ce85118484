"""Batch galleries: many photos times many styles, resumable, with a manifest and an HTML index.

plan (``runners.plan``: plain-data jobs and the resume rule) -> execute (an executor: ``local`` in
process, ``pool`` of CPU processes, ``ray`` on a Ray cluster; each worker keeps one ``Engine``) ->
bookkeeping (``runners.book``: results into the job store, ``runners.store``, in batches; the manifest
exported from it now and then) -> pages (``runners.pages``, ``runners.sheet``: paginated index, contact sheet).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from contextlib import suppress
from pathlib import Path
from typing import Any

from dreamer.engine.styles import checked_style
from dreamer.errors import DreamerError
from dreamer.outputs.folders import read_record, refuse_foreign
from dreamer.outputs.images import clean_stale_parts
from dreamer.runners.book import Recorder, finished_jobs, open_store
from dreamer.runners.local import Executor, LocalExecutor, render_job, run_one
from dreamer.runners.lock import folder_lock
from dreamer.runners.pages import is_page, write_index
from dreamer.runners.plan import (
    DREAM_FILE,
    GalleryReport,
    Job,
    Progress,
    Result,
    collect_photos,
    is_done,
    plan_jobs,
    unique_styles,
)
from dreamer.runners.sheet import write_contact_sheet
from dreamer.runners.store import STORE_NAME, is_store, store_files
from dreamer.spec.specs import RunEnv
from dreamer.spec.styles import Style

__all__ = ["GalleryReport", "Job", "Result", "collect_photos", "gallery", "is_done", "make_executor", "plan_jobs"]
__all__ += ["render_job", "run_one"]  # moved to runners.local; still importable from here


def gallery(
    photos: Iterable[str],
    styles: Iterable[str],
    out_dir: str | os.PathLike[str],
    *,
    overrides: dict[str, Any] | None = None,
    force: bool = False,
    workers: int | None = None,
    env: RunEnv | None = None,
    executor: str | Executor | None = None,
    address: str | None = None,
    shared_storage: bool = False,
    on_start: Callable[[int], None] | None = None,
    on_result: Callable[[Result], None] | None = None,
    on_progress: Progress | None = None,
) -> GalleryReport:
    """Render every photo in every style into ``out_dir``; skip what is already done; never stop on a bad photo.

    ``executor``: ``"local"`` (default for one worker), ``"pool"`` (default for several), ``"ray"``
    (implied by ``address``: ``auto``, ``HOST:PORT`` or ``ray://HOST:10001``), or an executor object.
    ``on_progress(stage, done, total)``: planning and the resume check, for a progress bar.
    """
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise DreamerError(f"{out}: is a file; the gallery output must be a folder")
    chosen = unique_styles([checked_style(s) for s in dict.fromkeys(styles)])
    if not chosen:
        raise DreamerError("--style: choose at least one style (or --all-styles)")
    runner = make_executor(executor, workers, env or RunEnv(), address, shared_storage)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise DreamerError(f"{out}: cannot create the gallery folder ({exc.strerror or exc})") from None
    if not os.access(out, os.W_OK):
        raise DreamerError(f"{out}: output folder is not writable")
    refuse_foreign(out, gallery_owns(out), "an earlier gallery's")
    with folder_lock(out):
        return _run_gallery(out, photos, chosen, overrides, force, runner, (on_start, on_result, on_progress))


def gallery_owns(out: Path) -> Callable[[str], bool]:
    """What a gallery writes in ``out``: its dreams, its store, and its pages where its manifest or store vouch."""
    record = read_record(out / "manifest.json")
    store = is_store(out / STORE_NAME)
    earlier = store or (record is not None and isinstance(record.get("jobs"), list))
    return lambda name: bool(DREAM_FILE.fullmatch(name)) or (earlier and (is_page(name) or store_files(name)))


def _run_gallery(
    out: Path,
    photos: Iterable[str],
    chosen: list[Style],
    overrides: dict[str, Any] | None,
    force: bool,
    runner: Executor,
    hooks: tuple[Callable[[int], None] | None, Callable[[Result], None] | None, Progress | None],
) -> GalleryReport:
    """The gallery, with its folder locked: plan, skip what is done, run the rest, write the pages."""
    on_start, on_result, on_progress = hooks
    _clean(out)
    found, missing = collect_photos(photos, exclude=out)
    jobs = plan_jobs(found, chosen, overrides, on_progress)
    report = GalleryReport(out_dir=out, missing=missing)
    store, rebuilt = open_store(out)
    try:
        done = finished_jobs(store, rebuilt, jobs, out, force, on_progress)
        book = Recorder(store, report, runner.describe, on_result)
        for job in jobs:
            if job.key in done:
                report.results.append(Result(job, "skipped"))
                if on_result is not None:
                    on_result(report.results[-1])
        report.executor = runner.describe()
        styles = [{"name": s.name, "description": s.description, "settings": s.settings} for s in chosen]
        photo_list = list(dict.fromkeys(j.photo for j in jobs))
        meta = {"photos": photo_list, "missing_inputs": missing, "styles": styles, "executor": report.executor}
        store.begin_run(jobs, done, meta)
        todo = [job for job in jobs if job.key not in done]
        if on_start is not None:
            on_start(len(todo))
        results = runner.run(todo, out)
        try:
            for result in results:
                book.add(result)
        except BaseException as exc:  # Ctrl-C, a lost cluster: what finished stays recorded, with its page
            with suppress(DreamerError):  # the store's own failure (a full disk) is the error already raised
                book.flush(export=True)
            if isinstance(exc, KeyboardInterrupt):  # a rerun renders only the rest
                write_index(report, jobs, chosen)
            raise
        finally:  # on Ctrl-C too: the executor stops its workers and cancels what is outstanding,
            getattr(results, "close", lambda: None)()
            _clean(out)  # and the files a stopped worker was writing go
        book.flush(export=True)
    finally:
        store.close()
    write_index(report, jobs, chosen)
    write_contact_sheet(report, jobs, chosen)
    return report


def _clean(out: Path) -> None:
    """Remove the temporary files of dead processes (a killed run's, or stopped workers') from the gallery."""
    for folder in (out, out / "thumbs"):
        if folder.is_dir():
            clean_stale_parts(folder)


def make_executor(
    executor: str | Executor | None,
    workers: int | None,
    env: RunEnv,
    address: str | None = None,
    shared_storage: bool = False,
) -> Executor:
    """The executor named (or given); none named: ``ray`` with an address, else ``local`` or ``pool`` by workers."""
    if executor is not None and not isinstance(executor, str):
        return executor
    name = executor or ("ray" if address else "pool" if (workers or 1) > 1 else "local")
    if name != "ray" and (address or shared_storage):
        raise DreamerError(f"--address and --shared-storage need --executor ray (got --executor {name})")
    if name == "local":
        return LocalExecutor(env)
    if name == "pool":
        from dreamer.runners.pool import PoolExecutor

        return PoolExecutor(workers or 2, env)
    if name == "ray":
        from dreamer.runners.ray import RayExecutor

        return RayExecutor(address, workers=workers, env=env, shared_storage=shared_storage)
    raise DreamerError(f"--executor must be local, pool or ray (got {name!r})")
