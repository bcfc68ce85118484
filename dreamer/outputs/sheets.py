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


def sheet_size(
    n: int, cell: tuple[int, int], columns: int | None = None, gap: int = 4, label_height: int = 14
) -> tuple[int, int]:
    """(width, height) of the ``labelled_grid`` sheet of ``n`` cells of ``cell`` size: known before any cell is made."""
    columns = columns or tidy_columns(n)
    rows = math.ceil(n / columns)
    return columns * (cell[0] + gap) + gap, rows * (cell[1] + label_height + gap) + gap


def labelled_grid(
    cells: list[Image.Image], labels: list[str], columns: int | None = None, gap: int = 4, label_height: int = 14
) -> Image.Image:
    """Lay equal-sized images out in a sheet with a caption under each (Pillow's default font)."""
    if not cells:
        raise DreamerError("nothing to put in the grid")
    columns = columns or tidy_columns(len(cells))
    w, h = cells[0].size
    sheet = Image.new("RGB", sheet_size(len(cells), (w, h), columns, gap, label_height), "white")
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
