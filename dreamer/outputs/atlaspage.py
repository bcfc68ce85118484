"""An atlas's static page and sheet: the cells in place, each with its count and its nearest real patches."""

from __future__ import annotations

import html
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from PIL import Image

from dreamer.outputs.images import atomic_write

BACKGROUND = (238, 238, 238)


@dataclass(frozen=True)
class PageCell:
    """One kept cell as the page shows it: where it sits, its picture, its patch count and its patches' files."""

    row: int
    column: int
    picture: str  # relative to the page
    count: int
    patches: tuple[tuple[str, str], ...]  # (file relative to the page, caption: photo and box)


def atlas_sheet(pictures: dict[tuple[int, int], Image.Image], grid: int, side: int, gap: int = 2) -> Image.Image:
    """The cells drawn in place on a ``grid`` x ``grid`` board (empty cells left grey)."""
    step = side + gap
    sheet = Image.new("RGB", (grid * step + gap, grid * step + gap), BACKGROUND)
    for (row, column), picture in pictures.items():
        sheet.paste(picture.convert("RGB").resize((side, side)), (gap + column * step, gap + row * step))
    return sheet


def write_page(path: Path, cells: list[PageCell], grid: int, title: str, about: str) -> None:
    """``index.html``: the grid of cells, each picture with its patch count and nearest patches under it."""
    esc = html.escape
    figures = []
    for c in cells:
        patches = "".join(
            f'<img class="patch" src="{quote(src)}" alt="patch" title="{esc(caption)}">' for src, caption in c.patches
        )
        figures.append(
            f'<figure style="grid-row:{c.row + 1};grid-column:{c.column + 1}">'
            f'<img class="cell" src="{quote(c.picture)}" alt="cell {c.row},{c.column}">'
            f"<figcaption>{c.count} patches</figcaption><div>{patches}</div></figure>"
        )
    page = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{esc(title)}</title>
<style>
body {{ font-family: system-ui, sans-serif; background: #111; color: #eee; }}
main {{ display: grid; grid-template-columns: repeat({grid}, 132px); gap: 4px; }}
figure {{ margin: 0; background: #222; padding: 2px; }}
img.cell {{ width: 128px; height: 128px; display: block; image-rendering: auto; }}
img.patch {{ width: 40px; height: 40px; margin: 1px; }}
figcaption {{ font-size: 11px; color: #aaa; }}
</style></head><body>
<h1>{esc(title)}</h1>
<p>{esc(about)}</p>
<main>
{chr(10).join(figures)}
</main></body></html>
"""
    atomic_write(path, lambda tmp: tmp.write_text(page, encoding="utf-8"))
