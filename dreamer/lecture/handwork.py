"""Convolution, ReLU and max-pooling worked by hand on a tiny X, with plain loops a student can follow.

Every number is computed here with NumPy loops, not torch, so a test can check them against
``torch.nn.functional``: the lesson's first section prints them all.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw, ImageFont

CELL = 22  # pixels per grid cell in the drawn figures (about a table row of the page)


def x_pattern(n: int = 9) -> np.ndarray:
    """An X drawn in +1 on a background of -1, on an n x n grid."""
    grid = -np.ones((n, n), dtype=np.int64)
    for i in range(n):
        grid[i, i] = grid[i, n - 1 - i] = 1
    return grid


def diagonal_kernel() -> np.ndarray:
    """A 3x3 kernel that looks for a stroke from top-left to bottom-right (+1 on it, -1 off it)."""
    return np.where(np.eye(3, dtype=bool), 1, -1).astype(np.int64)


def convolve(image: np.ndarray, kernel: np.ndarray) -> np.ndarray:
    """Slide the kernel over every position where it fits; each output is the sum of products.

    This is what CNNs call convolution (strictly, cross-correlation: the kernel is not flipped).
    """
    kh, kw = kernel.shape
    out = np.zeros((image.shape[0] - kh + 1, image.shape[1] - kw + 1), dtype=image.dtype)
    for y in range(out.shape[0]):
        for x in range(out.shape[1]):
            total = 0
            for i in range(kh):
                for j in range(kw):
                    total += image[y + i, x + j] * kernel[i, j]
            out[y, x] = total
    return out


def relu(feature_map: np.ndarray) -> np.ndarray:
    """Negative values become 0; the rest stay."""
    out = feature_map.copy()
    for y in range(out.shape[0]):
        for x in range(out.shape[1]):
            if out[y, x] < 0:
                out[y, x] = 0
    return out


def max_pool(feature_map: np.ndarray, size: int = 2) -> np.ndarray:
    """The largest value of each size x size block; blocks cut by the edge keep what they have."""
    rows = -(-feature_map.shape[0] // size)
    cols = -(-feature_map.shape[1] // size)
    out = np.zeros((rows, cols), dtype=feature_map.dtype)
    for y in range(rows):
        for x in range(cols):
            block = feature_map[y * size : (y + 1) * size, x * size : (x + 1) * size]
            out[y, x] = max(int(v) for v in block.flat)
    return out


@dataclass(frozen=True)
class HandWork:
    """The four grids of the hand-worked example: pattern, kernel, feature map, after ReLU, after pooling."""

    pattern: np.ndarray
    kernel: np.ndarray
    feature_map: np.ndarray
    rectified: np.ndarray
    pooled: np.ndarray


def work_by_hand(n: int = 9) -> HandWork:
    """The X pattern, the diagonal kernel, and every step computed from them."""
    pattern, kernel = x_pattern(n), diagonal_kernel()
    fmap = convolve(pattern, kernel)
    rectified = relu(fmap)
    return HandWork(pattern, kernel, fmap, rectified, max_pool(rectified))


def _colour(value: float, limit: float) -> tuple[int, int, int]:
    """Blue for negative, white for zero, red for positive, full strength at +-limit."""
    t = max(-1.0, min(1.0, value / limit)) if limit else 0.0
    if t >= 0:
        return (255, round(255 * (1 - t)), round(255 * (1 - t)))
    return (round(255 * (1 + t)), round(255 * (1 + t)), 255)


def draw_grid(grid: np.ndarray, limit: float | None = None, numbers: bool = True) -> Image.Image:
    """A grid as coloured cells (signed colour map, symmetric around 0) with each number written in."""
    limit = float(limit if limit is not None else max(1, int(np.abs(grid).max())))
    rows, cols = grid.shape
    im = Image.new("RGB", (cols * CELL + 1, rows * CELL + 1), "white")
    draw = ImageDraw.Draw(im)
    font = ImageFont.load_default(size=12)
    for y in range(rows):
        for x in range(cols):
            v = int(grid[y, x])
            box = (x * CELL, y * CELL, (x + 1) * CELL, (y + 1) * CELL)
            fill = _colour(v, limit)
            draw.rectangle(box, fill=fill, outline=(150, 150, 150))
            if numbers:
                dark = sum(fill) < 400
                draw.text(
                    ((box[0] + box[2]) / 2, (box[1] + box[3]) / 2),
                    str(v),
                    fill="white" if dark else "black",
                    font=font,
                    anchor="mm",
                )
    return im
