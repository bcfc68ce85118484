"""Gallery pages: thumbnails (written once, by whoever rendered the image) and a paginated static index.

The index is ``index.html``, ``index-2.html``, ...: about ``PAGE_CELLS`` thumbnails a page, rows are
photos, columns styles. A filter box hides the rows whose file name does not match and, from
``search.js`` (every photo's name and page, loaded as a script so it works from ``file://``), links the
pages that hold the other matches. No server needed.
"""

from __future__ import annotations

import html
import json
import re
from pathlib import Path
from urllib.parse import quote

from PIL import Image

from dreamer.outputs.images import atomic_write, save_image
from dreamer.runners.plan import GalleryReport, Job
from dreamer.spec.styles import Style

THUMB = 256  # thumbnail size (longer side) in the page and the contact sheet
PAGE_CELLS = 500  # thumbnails a page, about: whole photo rows, at least one
INDEX_PAGE = re.compile(r"index(-[0-9]+)?\.html")
PAGES = {"manifest.json", "contact_sheet.png", "thumbs", "search.js"}  # with the index pages: a gallery's own


def is_page(name: str) -> bool:
    """Whether ``name`` is one of the pages a gallery writes beside its images."""
    return name in PAGES or bool(INDEX_PAGE.fullmatch(name))


def thumb_name(job: Job) -> str:
    """The thumbnail's path inside the gallery folder."""
    return f"thumbs/{job.output.removesuffix('.png')}.jpg"


def write_thumbnail(job: Job, out_dir: Path) -> None:
    """A small JPEG of a finished render, for the page and the contact sheet."""
    (out_dir / "thumbs").mkdir(exist_ok=True)
    with Image.open(out_dir / job.output) as im:
        thumb = im.convert("RGB")
        thumb.thumbnail((THUMB, THUMB))
    save_image(thumb, out_dir / thumb_name(job))


def _tooltip(job: Job) -> str:
    keys = ("model", "layers", "octaves", "octave_scale", "steps", "step_size", "jitter", "seed")
    return "\n".join(f"{k}: {job.config.get(k)}" for k in keys if k in job.config)


def counted(n: int, noun: str) -> str:
    """``1 photo``, ``3 photos``: a count with its noun."""
    return f"{n} {noun}{'' if n == 1 else 's'}"


def page_name(page: int) -> str:
    """``index.html`` for the first page (0), ``index-2.html`` for the second, and so on."""
    return "index.html" if page == 0 else f"index-{page + 1}.html"


STYLE = f"""body {{ font-family: system-ui, sans-serif; background: #111; color: #eee; }}
a {{ color: #9cf; }} nav a, nav b {{ margin-right: 6px; }} #filter {{ font-size: 1em; width: 20em; }}
table {{ border-collapse: collapse; }} th, td {{ padding: 6px; text-align: center; vertical-align: middle; }}
img {{ max-width: {THUMB}px; max-height: {THUMB}px; display: block; }}
td.failed {{ color: #f88; max-width: {THUMB}px; font-size: small; }}"""

SCRIPT = """const box = document.getElementById('filter'), elsewhere = document.getElementById('elsewhere');
const rows = Array.from(document.querySelectorAll('#grid tr')).slice(1);
function filter() {
  const q = box.value.trim().toLowerCase();
  let shown = 0;
  for (const row of rows) {
    const hit = row.firstElementChild.textContent.toLowerCase().includes(q);
    row.hidden = !hit;
    shown += hit;
  }
  elsewhere.replaceChildren();
  if (!q) return;
  const counts = new Map();
  for (const [name, page] of (window.GALLERY_PHOTOS || []))
    if (page !== PAGE && name.toLowerCase().includes(q)) counts.set(page, (counts.get(page) || 0) + 1);
  elsewhere.append(`${shown} here` + (counts.size ? '; more on ' : ''));
  for (const [page, n] of counts) {
    const link = document.createElement('a');
    link.href = (page === 1 ? 'index.html' : `index-${page}.html`) + '?q=' + encodeURIComponent(box.value);
    link.textContent = `page ${page} (${n})`;
    elsewhere.append(link, ' ');
  }
}
box.addEventListener('input', filter);
box.value = new URLSearchParams(location.search).get('q') || '';
filter();"""


def write_index(report: GalleryReport, jobs: list[Job], styles: list[Style]) -> None:
    """The static index pages and ``search.js``; pages an earlier, larger gallery left are removed."""
    by_key = {r.job.key: r for r in report.results}
    photos = list(dict.fromkeys(j.photo for j in jobs))
    cell = {(j.photo, j.style): j for j in jobs}
    per_page = max(1, PAGE_CELLS // max(1, len(styles)))
    chunks = [photos[i : i + per_page] for i in range(0, len(photos), per_page)] or [[]]
    esc = html.escape
    head = "".join(f'<th title="{esc(s.description)}">{esc(s.name)}</th>' for s in styles)
    sizes = f"{counted(len(photos), 'photo')} &times; {counted(len(styles), 'style')}"
    for page, chunk in enumerate(chunks):
        rows = []
        for photo in chunk:
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
        nav = " ".join(
            f"<b>{n + 1}</b>" if n == page else f'<a href="{page_name(n)}">{n + 1}</a>' for n in range(len(chunks))
        )
        text = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>dreamer gallery, page {page + 1} of {len(chunks)}</title>
<style>
{STYLE}
</style></head><body>
<h1>dreamer gallery</h1>
<p>{sizes}. Hover a picture for its settings; click for the full image.</p>
<nav>pages: {nav}</nav>
<p><input id="filter" type="search" placeholder="filter by file name" aria-label="filter by file name">
<span id="elsewhere"></span></p>
<table id="grid"><tr><th></th>{head}</tr>
{chr(10).join(rows)}
</table>
<script src="search.js"></script>
<script>const PAGE = {page + 1};
{SCRIPT}</script></body></html>
"""
        atomic_write(report.out_dir / page_name(page), lambda tmp, text=text: tmp.write_text(text, encoding="utf-8"))
    names = [[Path(photo).name, n + 1] for n, chunk in enumerate(chunks) for photo in chunk]
    search = f"window.GALLERY_PHOTOS = {json.dumps(names)};\n"
    atomic_write(report.out_dir / "search.js", lambda tmp: tmp.write_text(search, encoding="utf-8"))
    for old in report.out_dir.glob("index-*.html"):
        m = INDEX_PAGE.fullmatch(old.name)
        if m and m.group(1) and int(m.group(1)[1:]) > len(chunks):
            old.unlink(missing_ok=True)
