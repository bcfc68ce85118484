"""The warping error (core.consistency) on synthetic pans whose true flow is known, so is the answer."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("cv2")

from dreamer.core import flow as fl  # noqa: E402
from dreamer.core.consistency import Score, masked_error, steadier, warping_error  # noqa: E402
from dreamer.samples import sample_path  # noqa: E402
from dreamer.video.synth import motion_frames  # noqa: E402

H, W, SHIFT = 40, 64, 2  # the camera pans SHIFT px right per frame: content moves left


def _pan(frames: int) -> list[np.ndarray]:
    """Frames of a texture in [0.25, 0.75] panned by exactly SHIFT px per frame."""
    texture = np.random.default_rng(1).uniform(0.25, 0.75, (H, W + SHIFT * frames, 3)).astype(np.float32)
    return [texture[:, t * SHIFT : t * SHIFT + W] for t in range(frames)]


def _true_flows() -> tuple[np.ndarray, np.ndarray]:
    """The true flows. Back (t -> t-1): pixel p of frame t was at p + SHIFT in frame t-1; fwd the opposite."""
    back = np.zeros((H, W, 2), np.float32)
    back[..., 0] = SHIFT
    return back, -back


def _clip_error(outputs: list[np.ndarray]) -> float:
    back, fwd = _true_flows()
    score = Score()
    for t in range(1, len(outputs)):
        score.add(t, warping_error(outputs[t - 1], outputs[t], back, fwd))
    mean = score.mean()
    assert mean is not None
    return mean


def test_known_answers_on_an_exact_pan() -> None:
    frames = _pan(6)
    # Output that follows the motion exactly: nothing to explain but the warp, which is exact here.
    assert _clip_error(frames) < 1e-10
    # Independent noise on every frame (frame-by-frame flicker): E[(n_t - n_t-1)^2] = 2 sigma^2.
    rng = np.random.default_rng(2)
    sigma = 0.02
    noisy = [f + rng.normal(0, sigma, f.shape).astype(np.float32) for f in frames]
    assert _clip_error(noisy) == pytest.approx(2 * sigma**2, rel=0.05)
    # A pattern fixed to the screen (detail that does not follow the motion): its own shifted difference.
    pattern = rng.normal(0, 0.03, (H, W, 3)).astype(np.float32)
    stuck = [f + pattern for f in frames]
    expected = np.square(pattern[:, : W - SHIFT] - pattern[:, SHIFT:]).mean()
    assert _clip_error(stuck) == pytest.approx(expected, rel=1e-3)


def test_occluded_and_outside_pixels_are_left_out() -> None:
    back, fwd = _true_flows()
    a, b = _pan(2)
    b = b.copy()
    b[:, W - SHIFT :] = 1.0  # the strip entering from the right: no source in the previous frame
    assert warping_error(a, b, back, fwd) < 1e-10
    bad = fwd.copy()
    bad[10:20, 10:20] += 5.0  # the flows disagree there: occluded, so a change there does not count
    b[12:18, 12:18] = 0.0
    c, _ = _pan(2)
    assert warping_error(c, b, back, bad) < 1e-10
    assert warping_error(c, b, back, fwd) > 1e-3
    assert masked_error(a, b, np.zeros((H, W), bool)) is None


def test_the_estimated_flow_ranks_a_steady_clip_above_a_flickering_one() -> None:
    frames, _, _ = motion_frames(sample_path("chelsea"), 5, (96, 64), pan=(4.0, 0.0))
    rng = np.random.default_rng(0)
    steady, flicker = Score(), Score()
    for t in range(1, 5):
        a, b = fl.gray(frames[t - 1]), fl.gray(frames[t])
        back, fwd = fl.flow(b, a), fl.flow(a, b)
        prev, cur = (f.astype(np.float32) / 255 for f in (frames[t - 1], frames[t]))
        steady.add(t, warping_error(prev, cur, back, fwd))
        flicker.add(t, warping_error(prev + rng.normal(0, 0.03, prev.shape), cur, back, fwd))
    assert steady.mean() < 0.2 * flicker.mean()
    assert steadier(flicker.mean(), steady.mean()) > 5
    assert steady.mean([1, 2]) == pytest.approx((steady.pairs[1] + steady.pairs[2]) / 2)
    assert Score().mean() is None and steadier(None, 1.0) is None
