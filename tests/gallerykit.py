"""An instant executor for gallery mechanics (tests, ``bench/gallery.py``): tiny images with real metadata, no torch.

Each job's image is a small PNG carrying the job's key as a render would, so the resume rule, the
store and the pages see exactly what a real run leaves; ``renders`` counts what it rendered.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from PIL import Image, PngImagePlugin

from dreamer.outputs.images import METADATA_KEY, save_image
from dreamer.outputs.metadata import document
from dreamer.runners.plan import Job, Result

THUMB = io.BytesIO()
Image.new("RGB", (8, 8), "teal").save(THUMB, format="JPEG")


def write_job(job: Job, out_dir: Path, durable: bool = True) -> None:
    """The job's image (atomically, as a render saves it; or plainly, for a bench's many files) and thumbnail."""
    meta = document("dream", job.config, {}, style=job.style, job_key=job.key)
    image = Image.new("RGB", (8, 8), "teal")
    (out_dir / "thumbs").mkdir(exist_ok=True)
    if durable:
        save_image(image, out_dir / job.output, metadata=meta)
        save_image(image, out_dir / f"thumbs/{job.output.removesuffix('.png')}.jpg")
        return
    info = PngImagePlugin.PngInfo()
    info.add_itxt(METADATA_KEY, json.dumps(meta, sort_keys=True))
    image.save(out_dir / job.output, format="PNG", pnginfo=info)
    (out_dir / f"thumbs/{job.output.removesuffix('.png')}.jpg").write_bytes(THUMB.getvalue())


class InstantExecutor:
    """Writes each job's image at once (``prerendered``: already there, results only); each ``fail_every``th fails."""

    name = "instant"

    def __init__(self, prerendered: bool = False, durable: bool = True, fail_every: int = 0) -> None:
        self.prerendered, self.durable, self.fail_every = prerendered, durable, fail_every
        self.renders: list[str] = []

    def run(self, jobs: Sequence[Job], out_dir: Path) -> Iterator[Result]:
        """One result per job, in order."""
        for job in jobs:
            if self.fail_every and (len(self.renders) + 1) % self.fail_every == 0:
                self.renders.append(job.key)
                yield Result(job, "failed", error=f"{Path(job.photo).name}: made to fail")
                continue
            if not self.prerendered:
                write_job(job, out_dir, self.durable)
            self.renders.append(job.key)
            yield Result(job, "done", 0.001, node="node-a" if len(self.renders) % 2 else "node-b")

    def describe(self) -> dict[str, Any]:
        """For the manifest."""
        return {"name": self.name, "workers": 1}


def store_state(out: Path) -> tuple[dict[str, int], dict[str, Any]]:
    """(the latest run's jobs by status, the run's facts) from a gallery's store, running or not; empty if none yet."""
    from dreamer.runners.store import open_status

    try:
        store = open_status(out)
    except Exception:  # noqa: BLE001 - being created at this moment: nothing to read yet
        return {}, {}
    if store is None:
        return {}, {}
    try:
        return store.counts()[0], store.meta()
    finally:
        store.close()


def done_count(out: Path) -> int:
    """How many jobs the gallery in ``out`` has rendered (or found done) so far, by its store."""
    counts, _ = store_state(out)
    return counts.get("done", 0) + counts.get("skipped", 0)
