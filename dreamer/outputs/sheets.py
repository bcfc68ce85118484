"""Contact sheets: equal-sized images laid out in a grid with a caption under each."""

from __future__ import annotations

import math

from PIL import Image, ImageDraw, ImageFont

from dreamer.errors import DreamerError


def tidy_columns(n: int) -> int:
    """Columns for ``n`` cells: fewest empty cells, then the squarest sheet (never taller than wide)."""
    if n <= 1:
        return 1
    base = math.ceil(math.sqrt(n))
    candidates = range(base, min(n, 2 * base) + 1)
    return min(candidates, key=lambda c: (c * math.ceil(n / c) - n, c - math.ceil(n / c)))


def labelled_grid(
    cells: list[Image.Image], labels: list[str], columns: int | None = None, gap: int = 4, label_height: int = 14
) -> Image.Image:
    """Lay equal-sized images out in a sheet with a caption under each (Pillow's default font)."""
    if not cells:
        raise DreamerError("nothing to put in the grid")
    columns = columns or tidy_columns(len(cells))
    rows = math.ceil(len(cells) / columns)
    w, h = cells[0].size
    sheet = Image.new("RGB", (columns * (w + gap) + gap, rows * (h + label_height + gap) + gap), "white")
    draw = ImageDraw.Draw(sheet)
    font = ImageFont.load_default()
    for i, (cell, label) in enumerate(zip(cells, labels, strict=True)):
        x = gap + (i % columns) * (w + gap)
        y = gap + (i // columns) * (h + label_height + gap)
        sheet.paste(cell.convert("RGB").resize((w, h)), (x, y))
        while label and draw.textlength(label, font=font) > w:  # cut long captions to the cell
            label = label[:-2] + "…" if len(label) > 2 else ""
        draw.text((x + 1, y + h + 1), label, fill="black", font=font)
    return sheet
