"""The gallery's contact sheet: the index's grid, labelled, in one PNG, capped so it never grows past a poster.

Up to ``MAX_ROWS`` photos and ``MAX_COLUMNS`` styles: a larger gallery's sheet is an even sample of
its photos (and styles), with a note saying so; the index pages hold everything.
"""

from __future__ import annotations

from pathlib import Path

from PIL import Image, ImageDraw

from dreamer.outputs.images import save_image
from dreamer.runners.pages import THUMB, counted, thumb_name
from dreamer.runners.plan import GalleryReport, Job
from dreamer.spec.styles import Style

MAX_ROWS = 24  # photos on the sheet at most (a 256 px thumbnail each: about 6,300 px tall)
MAX_COLUMNS = 12  # styles on the sheet at most


def sample(items: list, most: int) -> list:
    """``most`` items spread evenly over ``items`` (first and last included), or all of them when they fit."""
    if len(items) <= most:
        return items
    if most == 1:
        return items[:1]
    return [items[round(i * (len(items) - 1) / (most - 1))] for i in range(most)]


def write_contact_sheet(report: GalleryReport, jobs: list[Job], styles: list[Style]) -> None:
    """``contact_sheet.png``: the grid of the index pages (a sample of it for large galleries), labelled."""
    done = {r.job.key for r in report.results if r.status in ("done", "skipped")}
    every = list(dict.fromkeys(j.photo for j in jobs))
    photos, shown = sample(every, MAX_ROWS), sample(styles, MAX_COLUMNS)
    cell = {(j.photo, j.style): j for j in jobs}
    note = ""
    if len(photos) < len(every) or len(shown) < len(styles):
        note = (
            f"a sample: {counted(len(photos), 'photo')} of {len(every)}, {counted(len(shown), 'style')} of "
            f"{len(styles)}; index.html shows them all"
        )
    label_w, label_h, pad = 160, 24, 6
    foot = label_h if note else 0
    size = (label_w + len(shown) * (THUMB + pad), label_h + len(photos) * (THUMB + pad) + foot)
    sheet = Image.new("RGB", size, "#111")
    draw = ImageDraw.Draw(sheet)
    for c, s in enumerate(shown):
        draw.text((label_w + c * (THUMB + pad) + 4, 6), s.name, fill="#eee")
    for r, photo in enumerate(photos):
        y = label_h + r * (THUMB + pad)
        draw.text((4, y + THUMB // 2), Path(photo).name[:24], fill="#eee")
        for c, s in enumerate(shown):
            job = cell[(photo, s.name)]
            x = label_w + c * (THUMB + pad)
            if job.key in done:
                with Image.open(report.out_dir / thumb_name(job)) as t:
                    sheet.paste(t.convert("RGB"), (x + (THUMB - t.width) // 2, y + (THUMB - t.height) // 2))
            else:
                draw.text((x + 8, y + THUMB // 2), "failed", fill="#f88")
    if note:
        draw.text((4, size[1] - label_h + 6), note, fill="#fc6")
    save_image(sheet, report.out_dir / "contact_sheet.png")
