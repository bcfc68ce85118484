"""Every knob of ``dreamer atlas``, declared once: how many patches, which layout, what grid, how many neighbours.

The cells' pictures take their look from a ``VisSpec`` (``ATLAS_VIS`` by default: small MACO icons in
batches, affordable on a CPU); this spec holds what the atlas itself chooses.
"""

from __future__ import annotations

from dataclasses import dataclass

from dreamer.spec.schema import knob
from dreamer.spec.specs import Spec, VisSpec

LAYOUTS = ("auto", "umap", "tsne", "pca")
JUDGES = ("lite1", "lite2")  # the independent networks that judge class images (grid --evidence --judge)


@dataclass(frozen=True)
class AtlasSpec(Spec):
    """An activation atlas: patches sampled from photos, laid out in 2D, binned, each cell visualised."""

    patches: int = knob(
        400, "Random patches (one spatial position each) sampled from every photo.", lo=1, hi=100_000, group="atlas"
    )
    layout: str = knob(
        "auto",
        "2D layout of the activations: umap (needs the atlas extra: umap-learn), tsne (PCA then t-SNE, "
        "deterministic), pca (first two components), auto (umap when installed, else tsne).",
        choices=LAYOUTS,
        group="atlas",
    )
    grid: int = knob(10, "Cells per side of the grid laid over the layout.", lo=2, hi=64, group="atlas", quick=4)
    min_points: int = knob(3, "Cells with fewer patches than this are left empty.", lo=1, hi=100_000, group="atlas")
    power: float = knob(
        2.0,
        "Each cell's objective: dot * clamp(cos, 0.1) ** power with its mean activation.",
        lo=0.0,
        hi=8.0,
        group="atlas",
    )
    neighbours: int = knob(6, "Nearest real patches shown for each cell on the page.", lo=0, hi=64, group="atlas")


# The cells' pictures: small MACO icons, 32 at a time (about 1 minute per 32 cells on 2 CPU cores, bench/atlas.py).
ATLAS_VIS = VisSpec(size=64, steps=64, batch=32)
