"""Gallery bookkeeping at scale: planning, the driver's results per second, resume and rebuild, per job.

Synthetic galleries of 1,000, 10,000 and 100,000 jobs (tiny photos times ten shipped styles),
rendered instantly by the tests' ``InstantExecutor`` (``tests/gallerykit.py``): no torch, so what is
timed is only the gallery's own work. For each size, after a set-up that is not timed (photos, and
every job's image and thumbnail written as a render leaves them):

- run: ``gallery(force=True)`` end to end: plan (hash photos, key jobs), start the store's run, take
  every result (the executor yields at once: the images are there), export the manifest, write the
  index pages and the contact sheet. Its driver phase is quoted as results per second.
- resume: the same gallery again: plan, check every job (the store vouches by file size and time).
- rebuild: the store deleted, then resume: every image's metadata read (the store made again).
- old manifest: the manifest writer before the store (``write_manifest``, kept here), once at that
  size: the old driver paid this after every job, so it is its bookkeeping per job.

Run: ``python bench/gallery.py [--sizes 1000,10000,100000] [--dir /dev/shm]``.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from gallerykit import InstantExecutor, write_job  # noqa: E402
from PIL import Image  # noqa: E402

from dreamer.engine.styles import checked_style  # noqa: E402
from dreamer.errors import DreamerWarning  # noqa: E402
from dreamer.outputs.images import atomic_write  # noqa: E402
from dreamer.runners.gallery import gallery  # noqa: E402
from dreamer.runners.plan import GalleryReport, Result, collect_photos, plan_jobs  # noqa: E402
from dreamer.runners.store import STORE_NAME  # noqa: E402

STYLES = ["classic", "deep", "fur", "gentle", "keep-palette", "neon", "nightmare", "painterly", "stripes", "swirls"]


def old_write_manifest(report: GalleryReport, jobs: list, styles: list) -> None:
    """The manifest writer the gallery had before its store (called after every job), for comparison."""
    by_key = {r.job.key: r for r in report.results}
    data = {
        "photos": list(dict.fromkeys(j.photo for j in jobs)),
        "missing_inputs": report.missing,
        "executor": report.executor,
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


class Clock:
    """Time stamps of a gallery run's phases, from its hooks."""

    def __init__(self) -> None:
        self.t0 = time.perf_counter()
        self.marks: dict[str, float] = {}
        self.results = 0

    def progress(self, stage: str, done: int, total: int) -> None:
        if done == total:
            self.marks[stage] = time.perf_counter()

    def start(self, n: int) -> None:
        self.marks["start"] = time.perf_counter()

    def result(self, result: Result) -> None:
        if result.status == "done":
            self.results += 1
            self.marks["last"] = time.perf_counter()


def timed(photos: Path, out: Path, styles: list[str], **options: Any) -> tuple[float, Clock]:
    clock = Clock()
    gallery(
        [str(photos)],
        styles,
        out,
        on_progress=clock.progress,
        on_start=clock.start,
        on_result=clock.result,
        executor=InstantExecutor(prerendered=True),
        **options,
    )
    return time.perf_counter() - clock.t0, clock


def one_size(jobs_wanted: int, base: Path) -> dict[str, Any]:
    folder = Path(tempfile.mkdtemp(dir=base, prefix="gallery-bench-"))
    try:
        photos, out = folder / "photos", folder / "g"
        photos.mkdir()
        out.mkdir()
        n_photos = jobs_wanted // len(STYLES)
        for i in range(n_photos):
            Image.new("RGB", (8, 6), (i % 256, i // 256 % 256, i // 65536)).save(photos / f"p{i:06d}.png")
        chosen = [checked_style(s) for s in STYLES]
        jobs = plan_jobs(collect_photos([str(photos)])[0], chosen)
        for job in jobs:
            write_job(job, out, durable=False)
        (out / "manifest.json").write_text('{"jobs": []}')  # a gallery's folder: its thumbs are its own
        run, clock = timed(photos, out, STYLES, force=True)
        plan_s = clock.marks["planning"] - clock.t0
        driver_s = clock.marks["last"] - clock.marks["start"]
        after_s = run - (clock.marks["last"] - clock.t0)  # manifest export, index pages, contact sheet
        resume, rclock = timed(photos, out, STYLES)
        check_s = rclock.marks["checking"] - rclock.marks["planning"]
        (out / STORE_NAME).unlink()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DreamerWarning)  # "rebuilt from the images": expected here
            rebuild, _ = timed(photos, out, STYLES)
        report = GalleryReport(out_dir=out, results=[Result(j, "done", 1.0) for j in jobs])
        started = time.perf_counter()
        old_write_manifest(report, jobs, chosen)
        old = time.perf_counter() - started
        pages = len(list(out.glob("index*.html")))
        return {
            "jobs": len(jobs),
            "photos": n_photos,
            "pages": pages,
            "run": run,
            "plan": plan_s,
            "driver": driver_s,
            "rate": clock.results / driver_s,
            "after": after_s,
            "resume": resume,
            "check": check_s,
            "rebuild": rebuild,
            "old": old,
        }
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def main() -> None:
    """Every size once, smallest first; a table of totals and of time per job."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,10000,100000")
    parser.add_argument("--dir", type=Path, default=Path(tempfile.gettempdir()))
    args = parser.parse_args()
    print(f"synthetic galleries in {args.dir}: tiny photos x {len(STYLES)} styles, instant renders")
    rows = [one_size(int(n), args.dir) for n in args.sizes.split(",")]
    print(f"{'jobs':>8} {'pages':>5} | {'run s':>6} {'plan':>6} {'driver':>6} {'after':>6} | {'resume s':>8}")
    for r in rows:
        print(
            f"{r['jobs']:>8,} {r['pages']:>5} | {r['run']:6.2f} {r['plan']:6.2f} {r['driver']:6.2f} {r['after']:6.2f}"
            f" | {r['resume']:8.2f}  rebuild {r['rebuild']:6.2f}  old manifest once {r['old']:6.3f}"
        )
    print("per job (microseconds):")
    print(f"{'jobs':>8} | {'run':>6} {'plan':>6} {'driver':>6} {'resume':>6} {'check':>6} {'rebuild':>7} | old")
    for r in rows:
        us = {k: 1e6 * r[k] / r["jobs"] for k in ("run", "plan", "driver", "resume", "check", "rebuild")}
        print(
            f"{r['jobs']:>8,} | {us['run']:6.0f} {us['plan']:6.0f} {us['driver']:6.0f} {us['resume']:6.0f} "
            f"{us['check']:6.0f} {us['rebuild']:7.0f} | {1e6 * r['old']:,.0f} (one rewrite after every job)"
        )
    print("driver: " + ", ".join(f"{r['rate']:,.0f} results/s at {r['jobs']:,}" for r in rows))


if __name__ == "__main__":
    main()
