"""Dense optical flow between frames, the occlusion mask, and warping along the flow (OpenCV, CPU).

Pure array code shared by the run kinds that carry a dream along motion (``dreamer video``, ``dreamer live``).

A flow ``f`` from frame A to frame B holds, for each pixel p of A, the displacement to where it is in B:
``A(p) ~ B(p + f(p))``. Arrays are NumPy: images (H, W, 3) float32 in [0, 1], flows (H, W, 2) float32.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from dreamer.errors import DreamerError, install_line

FLOW_NEEDS = f"optical flow needs OpenCV: {install_line('video')}"
# Farneback parameters used by DeepDreamAnim (RECIPES.md): pyr_scale, levels, winsize, iterations, poly_n, sigma.
FARNEBACK = (0.5, 3, 15, 3, 5, 1.2, 0)


def load_cv2() -> Any:
    """The OpenCV module, imported on first use so the extra stays optional."""
    try:
        import cv2
    except ImportError:
        raise DreamerError(FLOW_NEEDS) from None
    return cv2


def gray(image: np.ndarray) -> np.ndarray:
    """(H, W, 3) float [0, 1] or uint8 RGB -> (H, W) uint8 luminance, what the flow methods read."""
    cv2 = load_cv2()
    if image.dtype != np.uint8:
        image = np.clip(image * 255.0 + 0.5, 0, 255).astype(np.uint8)
    return cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)


def flow(a: np.ndarray, b: np.ndarray, method: str = "dis") -> np.ndarray:
    """Dense flow from grey frame ``a`` to grey frame ``b``: (H, W, 2) float32 displacements in pixels."""
    cv2 = load_cv2()
    if method == "dis":
        dis = cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_MEDIUM)
        return dis.calc(a, b, None)
    if method == "farneback":
        return cv2.calcOpticalFlowFarneback(a, b, None, *FARNEBACK)
    raise DreamerError(f"must be dis or farneback (got {method!r})", field="flow")


def _grid(f: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Absolute sampling coordinates p + f(p) for ``cv2.remap``."""
    h, w = f.shape[:2]
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
    return xs + f[..., 0], ys + f[..., 1]


def warp(image: np.ndarray, f: np.ndarray) -> np.ndarray:
    """Sample ``image`` at p + f(p) for each pixel p: with ``f`` from B to A, carries A's content onto B."""
    cv2 = load_cv2()
    mx, my = _grid(f)
    return cv2.remap(image, mx, my, interpolation=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)


def occlusion(back: np.ndarray, fwd: np.ndarray, threshold: float) -> np.ndarray:
    """(H, W) bool: where ``back`` (new -> old) and ``fwd`` (old -> new) disagree, so a warp there is wrong.

    Forward-backward consistency (Sundaram et al. 2010, as in Ruder et al.'s video style transfer): following
    ``back`` then ``fwd`` should return to the start; a mismatch over ``threshold`` pixels (plus 1 % of the
    motion, so fast motion is not all flagged) marks occlusions and bad matches. Samples that leave the frame
    count as occluded too.
    """
    h, w = back.shape[:2]
    mx, my = _grid(back)
    fwd_there = warp(fwd, back)
    loop = back + fwd_there  # ~0 where consistent
    mismatch = (loop**2).sum(-1)
    allowed = 0.01 * ((back**2).sum(-1) + (fwd_there**2).sum(-1)) + threshold**2
    outside = (mx < 0) | (mx > w - 1) | (my < 0) | (my > h - 1)
    return (mismatch > allowed) | outside
