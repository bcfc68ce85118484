"""An atlas's 2D layout and its grid: activations -> points in the plane -> cells with enough points.

``layout_2d`` uses UMAP (cosine) when the optional ``umap-learn`` is installed, else a deterministic
fallback: PCA, then an exact t-SNE in torch started from the PCA plane (no random numbers anywhere,
so the same activations give the same layout). ``bin_points`` lays a grid over the points.
"""

from __future__ import annotations

import importlib.util
import math
from dataclasses import dataclass

import torch

from dreamer.errors import DreamerError, install_line

PCA_DIMS = 32  # t-SNE's input: enough components to keep the neighbourhoods, few enough to be quick
PERPLEXITY = 30.0
TSNE_STEPS = 500
EXAGGERATION = (12.0, 125)  # early exaggeration and how many steps it lasts
CLIP = 0.005  # the layout's edges: quantiles, so a few outliers do not squeeze every other point into one cell


def pca(x: torch.Tensor, k: int) -> torch.Tensor:
    """The first ``k`` principal components' scores of (N, D) rows, each axis's sign fixed (largest loading > 0)."""
    centred = x.double() - x.double().mean(0)
    _, _, vt = torch.linalg.svd(centred, full_matrices=False)
    axes = vt[: min(k, vt.shape[0])]  # (k, D)
    signs = torch.sign(axes.gather(1, axes.abs().argmax(1, keepdim=True)))
    return centred @ (axes * signs).T


def _affinities(x: torch.Tensor, perplexity: float) -> torch.Tensor:
    """Symmetric t-SNE input affinities P (N, N), each row's Gaussian width found by bisection on its entropy."""
    d = torch.cdist(x, x).pow(2)
    d = d / d.mean().clamp_min(1e-12)
    n = d.shape[0]
    perplexity = min(perplexity, (n - 1) / 3)
    target = math.log(perplexity)
    lo, hi = torch.full((n, 1), -20.0, dtype=d.dtype), torch.full((n, 1), 20.0, dtype=d.dtype)
    eye = torch.eye(n, dtype=torch.bool)
    for _ in range(40):  # bisection on log(beta), all rows at once
        beta = ((lo + hi) / 2).exp()
        logits = (-d * beta).masked_fill(eye, -math.inf)
        p = logits.softmax(1)
        entropy = -(p * p.clamp_min(1e-30).log()).sum(1, keepdim=True)
        too_flat = entropy > target  # too wide: raise beta
        lo = torch.where(too_flat, (lo + hi) / 2, lo)
        hi = torch.where(too_flat, hi, (lo + hi) / 2)
    p = (p + p.T) / (2 * n)
    return p.clamp_min(1e-12)


def tsne(x: torch.Tensor, steps: int = TSNE_STEPS, perplexity: float = PERPLEXITY) -> torch.Tensor:
    """Exact t-SNE of (N, D) rows to (N, 2), started from the first two PCA axes: deterministic."""
    n = x.shape[0]
    if n < 4:
        return pca(x, 2)
    p = _affinities(x.float(), perplexity)
    y = pca(x, 2).float()
    y = y / y[:, 0].std().clamp_min(1e-12) * 1e-4  # sklearn's PCA start: tiny, so early exaggeration shapes it
    velocity, gains = torch.zeros_like(y), torch.ones_like(y)
    lr = max(n / EXAGGERATION[0] / 4, 50.0)
    for step in range(steps):
        exaggerate = EXAGGERATION[0] if step < EXAGGERATION[1] else 1.0
        sq = y.pow(2).sum(1)
        w = 1.0 / (1.0 + (sq[:, None] + sq[None, :] - 2 * y @ y.T).clamp_min(0))  # Student-t kernel (N, N)
        w.fill_diagonal_(0.0)
        a = (exaggerate * p - w / w.sum()) * w
        grad = 4.0 * (a.sum(1, keepdim=True) * y - a @ y)  # sum_j a_ij (y_i - y_j), as two matrix products
        same = torch.sign(grad) == torch.sign(velocity)
        gains = torch.where(same, gains * 0.8, gains + 0.2).clamp_min(0.01)
        velocity = (0.5 if step < EXAGGERATION[1] else 0.8) * velocity - lr * gains * grad
        y = y + velocity
        y = y - y.mean(0)
    return y.double()


def umap_installed() -> bool:
    """Whether the optional ``umap-learn`` package is importable."""
    return importlib.util.find_spec("umap") is not None


def _umap(x: torch.Tensor, seed: int) -> torch.Tensor:
    import umap

    reducer = umap.UMAP(n_components=2, metric="cosine", random_state=seed, n_neighbors=min(15, len(x) - 1))
    return torch.as_tensor(reducer.fit_transform(x.double().numpy()), dtype=torch.float64)


def layout_2d(vectors: torch.Tensor, method: str = "auto", seed: int = 0) -> tuple[torch.Tensor, str]:
    """(N, C) activations -> (N, 2) points and the method used; rows are compared by direction (cosine)."""
    if method == "auto":
        method = "umap" if umap_installed() else "tsne"
    if method == "umap" and not umap_installed():
        raise DreamerError(f"layout umap needs umap-learn ({install_line('atlas')})", field="layout")
    unit = torch.nn.functional.normalize(vectors.double(), dim=1)
    if method == "umap":
        return _umap(unit, seed), method
    if method == "pca":
        return pca(unit, 2), method
    return tsne(pca(unit, PCA_DIMS)), method


@dataclass(frozen=True)
class Binning:
    """Points binned into a ``grid`` x ``grid`` layout: each point's cell and the cells kept."""

    grid: int
    cells: torch.Tensor  # (N,) cell index of each point: row * grid + column, row 0 at the top
    counts: torch.Tensor  # (grid * grid,) points per cell
    kept: list[int]  # cells with at least ``min_points`` points, in row-major order

    def coverage(self) -> float:
        """The share of points whose cell is kept (visualised)."""
        kept = torch.zeros_like(self.counts, dtype=torch.bool)
        kept[self.kept] = True
        return float(kept[self.cells].float().mean()) if len(self.cells) else 0.0

    def members(self, cell: int) -> torch.Tensor:
        """Indices of the points in ``cell``."""
        return (self.cells == cell).nonzero().flatten()


def bin_points(xy: torch.Tensor, grid: int, min_points: int) -> Binning:
    """A grid over the points' extent (its edges at the ``CLIP`` quantiles; points beyond fall in the edge cells)."""
    if grid < 1:
        raise DreamerError(f"must be at least 1 (got {grid})", field="grid")
    xy = xy.double()
    if len(xy) >= 20:
        lo, hi = torch.quantile(xy, CLIP, dim=0), torch.quantile(xy, 1 - CLIP, dim=0)
    else:
        lo, hi = xy.min(0).values, xy.max(0).values
    unit = (xy - lo) / (hi - lo).clamp_min(1e-12)
    col = (unit[:, 0] * grid).floor().long().clamp(0, grid - 1)
    row = ((1 - unit[:, 1]) * grid).floor().long().clamp(0, grid - 1)  # y up, as a plot: row 0 is the top
    cells = row * grid + col
    counts = torch.bincount(cells, minlength=grid * grid)
    kept = (counts >= min_points).nonzero().flatten().tolist()
    return Binning(grid, cells, counts, kept)
