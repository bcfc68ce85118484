"""The lesson page's HTML pieces: its style sheet and the escaped building blocks its sections are made of."""

from __future__ import annotations

from html import escape

import numpy as np

from dreamer.lecture.words import size

STYLE = """
body { font: 16px/1.5 Georgia, 'DejaVu Serif', serif; color: #222; margin: 0; background: #fdfdfb; }
main { max-width: 1080px; margin: 0 auto; padding: 24px 32px 64px; }
h1 { font-size: 2em; margin-bottom: 0.2em; } h2 { margin-top: 2em; border-bottom: 1px solid #ccc; }
p { max-width: 46em; } code, pre { font: 14px 'DejaVu Sans Mono', monospace; background: #f1f1ec; }
pre { padding: 8px 12px; white-space: pre-wrap; }
img { max-width: 100%; height: auto; } figure { margin: 12px 0; } figcaption { color: #555; font-size: 0.9em; }
.steps { display: flex; flex-wrap: wrap; gap: 18px; align-items: flex-start; }
.steps figure { margin: 0; } .pair { display: flex; gap: 10px; align-items: flex-start; margin-top: 4px; }
table.grid { border-collapse: collapse; font: 13px 'DejaVu Sans Mono', monospace; }
table.grid td { border: 1px solid #bbb; width: 1.9em; height: 1.55em; padding: 0; text-align: center; }
td.neg { color: #1d4fd8; } td.pos { color: #b91c1c; font-weight: bold; }
table.data { border-collapse: collapse; } table.data td, table.data th { padding: 2px 10px; text-align: left; }
table.data tr:nth-child(even) { background: #f1f1ec; }
.bar { display: inline-block; height: 0.9em; background: #b45309; vertical-align: middle; }
nav ol { margin: 0; padding-left: 1.4em; } .top { display: flex; gap: 28px; align-items: flex-start; }
.top figure { margin: 0 0 10px; } .small { font-size: 0.8em; color: #666; }
aside.glossary { flex: 1; background: #f4f1e8; border: 1px solid #ddd6c3; padding: 8px 14px; font-size: 0.82em; }
aside.glossary h2 { margin: 0 0 4px; border: none; font-size: 1.2em; } aside.glossary dl { margin: 0; }
aside.glossary dt { font-weight: bold; display: inline; } aside.glossary dd { display: inline; margin: 0; }
aside.glossary dl { columns: 2; column-gap: 22px; } aside.glossary div { margin: 0 0 3px; break-inside: avoid; }
@media print { body { background: white; } main { max-width: none; padding: 0; }
  section, figure, table, aside { break-inside: avoid; } h2 { break-after: avoid; } nav { display: none; } }
"""


def grid_table(grid: np.ndarray) -> str:
    """A grid of integers as a table, each cell coloured by its sign."""
    rows = []
    for row in grid:
        cells = "".join(f'<td class="{"neg" if v < 0 else "pos" if v > 0 else "zero"}">{int(v)}</td>' for v in row)
        rows.append(f"<tr>{cells}</tr>")
    return f'<table class="grid">{"".join(rows)}</table>'


def step(title: str, file: str, grid: np.ndarray, note: str) -> str:
    """One hand-worked step: its title and size, its picture beside its numbers."""
    h, w = grid.shape
    return (
        f"<figure><figcaption><b>{escape(title)}</b> ({size(w, h)}): {escape(note)}</figcaption>"
        f'<div class="pair"><img src="{escape(file)}" alt="{escape(title)}">{grid_table(grid)}</div></figure>'
    )


def img(file: str, alt: str, caption: str = "") -> str:
    """A figure: the image beside the page, with its caption."""
    cap = f"<figcaption>{escape(caption)}</figcaption>" if caption else ""
    return f'<figure><img src="{escape(file)}" alt="{escape(alt)}">{cap}</figure>'


def plain(value: object) -> str:
    """A setting's value as text (lists joined by commas)."""
    return ", ".join(map(str, value)) if isinstance(value, (list, tuple)) else str(value)


def section(anchor: str, title: str, *parts: str) -> str:
    """A numbered section with its heading."""
    return f'<section id="{anchor}"><h2>{escape(title)}</h2>{"".join(parts)}</section>'


def para(text: str) -> str:
    """A paragraph of plain (escaped) text."""
    return f"<p>{escape(text)}</p>"
