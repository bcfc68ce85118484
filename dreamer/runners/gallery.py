"""Batch galleries: many photos times many styles, resumable, with a manifest and an HTML index.

The plan (a list of ``Job``) is plain data, independent of what executes it: the in-process
runner here, a process pool, or a distributed engine could run the same jobs with the same
resume rule (an output whose metadata holds the job's key is done).
"""

from __future__ import annotations

import glob
import hashlib
import html
import json
import os
import re
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

from PIL import Image, ImageDraw

from dreamer import __version__
from dreamer.errors import DreamerError
from dreamer.outputs.images import atomic_write, read_metadata, save_image
from dreamer.spec.config import DreamConfig
from dreamer.spec.styles import Style, load_style

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".webp", ".bmp", ".gif", ".tif", ".tiff"}
THUMB = 256  # thumbnail size (longer side) in the page and the contact sheet


@dataclass(frozen=True)
class Job:
    """One render: a photo in a style, with every resolved setting and the output's name."""

    photo: str
    style: str
    config: dict[str, Any]
    output: str  # file name inside the gallery folder
    key: str  # hash of the photo's bytes and the resolved settings: same key = same image

    def to_dict(self) -> dict[str, Any]:
        """Plain data for the manifest (and for any other executor)."""
        return {"photo": self.photo, "style": self.style, "config": self.config, "output": self.output, "key": self.key}


@dataclass
class Result:
    """What happened to one job."""

    job: Job
    status: str  # "done", "skipped" (already there) or "failed"
    seconds: float = 0.0
    error: str | None = None


@dataclass
class GalleryReport:
    """The outcome of a gallery run."""

    out_dir: Path
    results: list[Result] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)  # one line per input that matched no photo

    @property
    def failed(self) -> list[Result]:
        """Jobs that could not be rendered."""
        return [r for r in self.results if r.status == "failed"]


def collect_photos(inputs: Iterable[str]) -> tuple[list[Path], list[str]]:
    """Files, folders (walked for images) and globs -> (photos in order, a message per input that matched nothing)."""
    photos: list[Path] = []
    missing: list[str] = []
    for item in inputs:
        path = Path(item)
        if path.is_dir():
            found = sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)
        elif path.exists():
            found = [path]
        else:
            found = sorted(Path(p) for p in glob.glob(item, recursive=True) if Path(p).is_file())
        if not found:
            why = "folder holds no images" if path.is_dir() else "no such file, folder or matching glob"
            missing.append(f"{item}: {why}")
        photos.extend(found)
    return list(dict.fromkeys(photos)), missing


def _file_hash(path: Path) -> str:
    h = hashlib.sha256()
    try:
        with open(path, "rb") as f:
            for chunk in iter(lambda: f.read(1 << 20), b""):
                h.update(chunk)
    except OSError:  # unreadable: the render will report it; keep the plan going
        h.update(str(path).encode())
    return h.hexdigest()


def _safe_stem(path: Path) -> str:
    """A file-system- and URL-friendly version of a photo's name, with a short hash for uniqueness."""
    stem = re.sub(r"[^A-Za-z0-9._-]+", "_", path.stem).strip("._") or "photo"
    return f"{stem[:40]}-{hashlib.sha1(str(path.resolve()).encode()).hexdigest()[:6]}"


def plan_jobs(photos: Iterable[Path], styles: Iterable[Style], overrides: dict[str, Any] | None = None) -> list[Job]:
    """Every photo in every style, settings resolved (defaults < style < overrides) and keyed."""
    jobs = []
    for photo in photos:
        digest = _file_hash(photo)
        for style in styles:
            config = style.apply().replace(**(overrides or {}))
            settings = config.to_dict()
            settings.pop("device")  # where it runs does not change what it is
            key = hashlib.sha256(json.dumps([digest, style.name, settings], sort_keys=True).encode()).hexdigest()
            if config.seed is None:  # a seed derived from the key: reruns give the same image
                settings["seed"] = int(key[:15], 16)
            jobs.append(Job(str(photo), style.name, settings, f"{_safe_stem(photo)}__{style.name}.png", key))
    return jobs


def is_done(job: Job, out_dir: Path) -> bool:
    """The resume rule: the output exists and records this job's key."""
    path = out_dir / job.output
    if not path.is_file():
        return False
    try:
        return read_metadata(path).get("job_key") == job.key
    except DreamerError:
        return False


def render_job(job: Job, out_dir: Path, dreamer: Any, progress: bool = False) -> float:
    """Render one job into ``out_dir`` (atomically); returns the seconds it took."""
    from dreamer.engine.engine import save_dream
    from dreamer.outputs.images import load_image

    started = time.perf_counter()
    config = DreamConfig.from_dict(job.config).replace(device=str(dreamer.device))
    image = load_image(job.photo)
    out = dreamer.dream(image, config, progress=progress, metadata={"style": job.style, "job_key": job.key})
    save_dream(out, out_dir / job.output)
    return time.perf_counter() - started


def _thumb_name(job: Job) -> str:
    return f"thumbs/{job.output.removesuffix('.png')}.jpg"


def write_thumbnail(job: Job, out_dir: Path) -> None:
    """A small JPEG of a finished render, for the page and the contact sheet."""
    (out_dir / "thumbs").mkdir(exist_ok=True)
    with Image.open(out_dir / job.output) as im:
        thumb = im.convert("RGB")
        thumb.thumbnail((THUMB, THUMB))
    save_image(thumb, out_dir / _thumb_name(job))


def write_manifest(report: GalleryReport, jobs: list[Job], styles: list[Style]) -> None:
    """``manifest.json``: inputs, styles, resolved settings, timings and errors (written atomically)."""
    by_key = {r.job.key: r for r in report.results}
    photos = list(dict.fromkeys(j.photo for j in jobs))
    data = {
        "dreamer_version": __version__,
        "updated": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "photos": photos,
        "missing_inputs": report.missing,
        "styles": [{"name": s.name, "description": s.description, "settings": s.settings} for s in styles],
        "jobs": [
            {
                **j.to_dict(),
                "status": by_key[j.key].status if j.key in by_key else "pending",
                "seconds": round(by_key[j.key].seconds, 2) if j.key in by_key else None,
                "error": by_key[j.key].error if j.key in by_key else None,
            }
            for j in jobs
        ],
    }
    text = json.dumps(data, indent=2)
    atomic_write(report.out_dir / "manifest.json", lambda tmp: tmp.write_text(text, encoding="utf-8"))


def _tooltip(job: Job) -> str:
    keys = ("model", "layers", "octaves", "octave_scale", "steps", "step_size", "jitter", "seed")
    return "\n".join(f"{k}: {job.config.get(k)}" for k in keys if k in job.config)


def write_index(report: GalleryReport, jobs: list[Job], styles: list[Style]) -> None:
    """A static ``index.html``: rows are photos, columns styles; thumbnails open the full image."""
    by_key = {r.job.key: r for r in report.results}
    photos = list(dict.fromkeys(j.photo for j in jobs))
    cell = {(j.photo, j.style): j for j in jobs}
    esc = html.escape
    head = "".join(f'<th title="{esc(s.description)}">{esc(s.name)}</th>' for s in styles)
    rows = []
    for photo in photos:
        cells = []
        for s in styles:
            job = cell[(photo, s.name)]
            result = by_key.get(job.key)
            if result and result.status in ("done", "skipped"):
                cells.append(
                    f'<td><a href="{quote(job.output)}"><img src="{quote(_thumb_name(job))}" '
                    f'alt="{esc(Path(photo).name)} in {esc(s.name)}" title="{esc(_tooltip(job))}"></a></td>'
                )
            else:
                why = result.error if result else "not rendered yet"
                cells.append(f'<td class="failed">{esc(why or "failed")}</td>')
        rows.append(f"<tr><th>{esc(Path(photo).name)}</th>{''.join(cells)}</tr>")
    page = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>dreamer gallery</title>
<style>
body {{ font-family: system-ui, sans-serif; background: #111; color: #eee; }}
table {{ border-collapse: collapse; }} th, td {{ padding: 6px; text-align: center; vertical-align: middle; }}
img {{ max-width: {THUMB}px; max-height: {THUMB}px; display: block; }}
td.failed {{ color: #f88; max-width: {THUMB}px; font-size: small; }}
</style></head><body>
<h1>dreamer gallery</h1>
<p>{len(photos)} photos &times; {len(styles)} styles. Hover a picture for its settings; click for the full image.</p>
<table><tr><th></th>{head}</tr>
{chr(10).join(rows)}
</table></body></html>
"""
    atomic_write(report.out_dir / "index.html", lambda tmp: tmp.write_text(page, encoding="utf-8"))


def write_contact_sheet(report: GalleryReport, jobs: list[Job], styles: list[Style]) -> None:
    """``contact_sheet.png``: the same grid as the page, labelled, in one image."""
    done = {r.job.key for r in report.results if r.status in ("done", "skipped")}
    photos = list(dict.fromkeys(j.photo for j in jobs))
    cell = {(j.photo, j.style): j for j in jobs}
    label_w, label_h, pad = 160, 24, 6
    sheet = Image.new("RGB", (label_w + len(styles) * (THUMB + pad), label_h + len(photos) * (THUMB + pad)), "#111")
    draw = ImageDraw.Draw(sheet)
    for c, s in enumerate(styles):
        draw.text((label_w + c * (THUMB + pad) + 4, 6), s.name, fill="#eee")
    for r, photo in enumerate(photos):
        y = label_h + r * (THUMB + pad)
        draw.text((4, y + THUMB // 2), Path(photo).name[:24], fill="#eee")
        for c, s in enumerate(styles):
            job = cell[(photo, s.name)]
            x = label_w + c * (THUMB + pad)
            if job.key in done:
                with Image.open(report.out_dir / _thumb_name(job)) as t:
                    sheet.paste(t.convert("RGB"), (x + (THUMB - t.width) // 2, y + (THUMB - t.height) // 2))
            else:
                draw.text((x + 8, y + THUMB // 2), "failed", fill="#f88")
    save_image(sheet, report.out_dir / "contact_sheet.png")


_WORKER: dict[str, Any] = {}  # filled only inside pool worker processes: their own Dreamer


def _worker_init(threads: int, device: str) -> None:
    """Pool worker set-up: share the cores fairly and keep one Dreamer (models load once per worker)."""
    import torch

    from dreamer.engine.engine import Dreamer
    from dreamer.runners.heap import keep_freed_memory

    keep_freed_memory()  # a spawned worker does not inherit the parent's malloc settings
    torch.set_num_threads(threads)
    _WORKER["dreamer"] = Dreamer(device)


def _run_one(job: Job, out_dir: Path, dreamer: Any, progress: bool = False) -> Result:
    """Render a job and its thumbnail; any failure becomes a failed result, never an abort."""
    try:
        seconds = render_job(job, out_dir, dreamer, progress=progress)
        write_thumbnail(job, out_dir)
        return Result(job, "done", seconds)
    except DreamerError as exc:
        return Result(job, "failed", error=str(exc))
    except Exception as exc:  # noqa: BLE001 - one broken render must not stop the batch
        return Result(job, "failed", error=f"{Path(job.photo).name}: {type(exc).__name__}: {exc}".splitlines()[0])


def _worker_render(job: Job, out_dir: str) -> Result:
    """Process-pool entry point."""
    return _run_one(job, Path(out_dir), _WORKER["dreamer"])


def gallery(
    photos: Iterable[str],
    styles: Iterable[str],
    out_dir: str | os.PathLike[str],
    *,
    overrides: dict[str, Any] | None = None,
    force: bool = False,
    workers: int = 1,
    device: str = "auto",
    progress: bool = True,
    on_result: Callable[[Result], None] | None = None,
) -> GalleryReport:
    """Render every photo in every style into ``out_dir``; skip what is already done; never stop on a bad photo."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    if not os.access(out, os.W_OK):
        raise DreamerError(f"{out}: output folder is not writable")
    chosen = [load_style(s) for s in dict.fromkeys(styles)]
    if not chosen:
        raise DreamerError("--style: choose at least one style (or --all-styles)")
    found, missing = collect_photos(photos)
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
            if not (out / _thumb_name(job)).is_file():
                write_thumbnail(job, out)
            record(Result(job, "skipped"))
        else:
            todo.append(job)
    from tqdm.auto import tqdm

    with tqdm(total=len(todo), disable=not progress, desc="gallery", unit="render") as bar:
        if workers <= 1:
            from dreamer.engine.engine import Dreamer

            dreamer = Dreamer(device)
            for job in todo:
                bar.set_postfix_str(f"{Path(job.photo).name} x {job.style}")
                record(_run_one(job, out, dreamer, progress=progress))
                bar.update(1)
        else:
            from concurrent.futures import ProcessPoolExecutor

            threads = max(1, (os.cpu_count() or 1) // workers)
            with ProcessPoolExecutor(workers, initializer=_worker_init, initargs=(threads, device)) as pool:
                for result in pool.map(_worker_render, todo, [str(out)] * len(todo)):
                    record(result)
                    bar.update(1)
    write_index(report, jobs, chosen)
    write_contact_sheet(report, jobs, chosen)
    return report
