"""Gallery outputs: thumbnails, the manifest, a static index page and a contact sheet, each written atomically."""

from __future__ import annotations

import html
import json
import time
from pathlib import Path
from typing import Any
from urllib.parse import quote

from PIL import Image, ImageDraw

from dreamer.outputs.images import atomic_write, save_image
from dreamer.runners.plan import GalleryReport, Job, Result
from dreamer.spec.styles import Style
from dreamer.version import __version__

THUMB = 256  # thumbnail size (longer side) in the page and the contact sheet


def thumb_name(job: Job) -> str:
    return f"thumbs/{job.output.removesuffix('.png')}.jpg"


def write_thumbnail(job: Job, out_dir: Path) -> None:
    """A small JPEG of a finished render, for the page and the contact sheet."""
    (out_dir / "thumbs").mkdir(exist_ok=True)
    with Image.open(out_dir / job.output) as im:
        thumb = im.convert("RGB")
        thumb.thumbnail((THUMB, THUMB))
    save_image(thumb, out_dir / thumb_name(job))


def write_manifest(report: GalleryReport, jobs: list[Job], styles: list[Style]) -> None:
    """``manifest.json``: inputs, styles, resolved settings, timings and errors (written atomically)."""
    by_key = {r.job.key: r for r in report.results}
    photos = list(dict.fromkeys(j.photo for j in jobs))
    data = {
        "dreamer_version": __version__,
        "updated": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "photos": photos,
        "missing_inputs": report.missing,
        "executor": report.executor,
        "styles": [{"name": s.name, "description": s.description, "settings": s.settings} for s in styles],
        "jobs": [
            {
                **j.to_dict(),
                "status": by_key[j.key].status if j.key in by_key else "pending",
                "seconds": round(by_key[j.key].seconds, 2) if j.key in by_key else None,
                "error": by_key[j.key].error if j.key in by_key else None,
                **_attempts(by_key.get(j.key)),
            }
            for j in jobs
        ],
    }
    text = json.dumps(data, indent=2)
    atomic_write(report.out_dir / "manifest.json", lambda tmp: tmp.write_text(text, encoding="utf-8"))


def _attempts(result: Result | None) -> dict[str, Any]:
    """Where a job ran and how many tries it took, for executors that report them."""
    if result is None or (result.node is None and not result.retries):
        return {}
    return {"node": result.node, "attempts": 1 + len(result.retries), "retries": result.retries}


def _tooltip(job: Job) -> str:
    keys = ("model", "layers", "octaves", "octave_scale", "steps", "step_size", "jitter", "seed")
    return "\n".join(f"{k}: {job.config.get(k)}" for k in keys if k in job.config)


def counted(n: int, noun: str) -> str:
    """``1 photo``, ``3 photos``: a count with its noun."""
    return f"{n} {noun}{'' if n == 1 else 's'}"


def write_index(report: GalleryReport, jobs: list[Job], styles: list[Style]) -> None:
    """A static ``index.html``: rows are photos, columns styles; thumbnails open the full image."""
    by_key = {r.job.key: r for r in report.results}
    photos = list(dict.fromkeys(j.photo for j in jobs))
    sizes = f"{counted(len(photos), 'photo')} &times; {counted(len(styles), 'style')}"
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
                    f'<td><a href="{quote(job.output)}"><img src="{quote(thumb_name(job))}" '
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
<p>{sizes}. Hover a picture for its settings; click for the full image.</p>
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
                with Image.open(report.out_dir / thumb_name(job)) as t:
                    sheet.paste(t.convert("RGB"), (x + (THUMB - t.width) // 2, y + (THUMB - t.height) // 2))
            else:
                draw.text((x + 8, y + THUMB // 2), "failed", fill="#f88")
    save_image(sheet, report.out_dir / "contact_sheet.png")
