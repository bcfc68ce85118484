"""Temporal consistency: the occlusion-masked warping error (Lai et al., ECCV 2018, "Blind Video Consistency").

For each pair of frames (t-1, t) the previous *output* frame is warped onto frame t along the *input's*
optical flow (t -> t-1), and the mean squared difference to output frame t is taken over the pixels
where the flow is consistent forward and backward (``flow.occlusion``); the score of a clip is the mean
over its pairs. Lower is steadier; a still clip scores 0. Images are (H, W, 3) float in [0, 1], so the
score is in squared pixel units of [0, 1] (we print it times 1000).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np

from dreamer.core import flow as fl

OCCLUSION = 1.0  # forward-backward mismatch (pixels) over which a pixel is left out: fixed, so scores compare
SHOWN = 1000.0  # the score is printed times this


def masked_error(cur: np.ndarray, warped_prev: np.ndarray, valid: np.ndarray) -> float | None:
    """Mean squared difference of two (H, W, 3) images over the (H, W) ``valid`` pixels; None when none are."""
    n = int(valid.sum())
    if n == 0:
        return None
    diff = np.square(cur.astype(np.float64) - warped_prev.astype(np.float64)).mean(-1)
    return float(diff[valid].sum() / n)


def warping_error(
    prev_out: np.ndarray, cur_out: np.ndarray, back: np.ndarray, fwd: np.ndarray, threshold: float = OCCLUSION
) -> float | None:
    """One pair's warping error: ``prev_out`` warped along ``back`` (t -> t-1) against ``cur_out``, occlusions out.

    ``back`` and ``fwd`` are the *input* frames' flows (t -> t-1 and t-1 -> t), as ``flow.flow`` gives them.
    """
    valid = ~fl.occlusion(back, fwd, threshold)
    return masked_error(cur_out, fl.warp(prev_out, back), valid)


@dataclass
class Score:
    """Per-pair warping errors of a clip (``pairs[t]`` for the pair (t-1, t); None for frame 0 or no valid pixel)."""

    pairs: dict[int, float] = field(default_factory=dict)

    def add(self, index: int, error: float | None) -> None:
        """Record the error of the pair ending at frame ``index``."""
        if error is not None:
            self.pairs[index] = error

    def mean(self, only: Iterable[int] | None = None) -> float | None:
        """The mean error over all pairs, or over the pairs ending at the frames in ``only``."""
        keys = self.pairs.keys() if only is None else [i for i in only if i in self.pairs]
        values = [self.pairs[i] for i in keys]
        return float(np.mean(values)) if values else None


def steadier(reference: float | None, error: float | None) -> float | None:
    """How many times lower ``error`` is than ``reference`` (e.g. frame-by-frame dreaming); None if undefined."""
    if reference is None or error is None:
        return None
    return reference / max(error, 1e-12)
