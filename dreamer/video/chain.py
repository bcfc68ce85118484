"""One chain of video frames dreamed in order: each starts from the last dream carried along the flow.

The single-process run is one chain from frame 0; a chunk of a chunked run is one chain from its
warm-up's first frame. Both score each pair as they go (``core.consistency``), with the flows the
carry already computed.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np
import torch

from dreamer.core import flow as fl
from dreamer.core.consistency import Score, warping_error
from dreamer.core.tensors import to_pil
from dreamer.engine.engine import Engine
from dreamer.engine.events import CancelToken
from dreamer.engine.seeds import frame_seed
from dreamer.spec.specs import DreamSpec
from dreamer.spec.video import VideoSpec

Flows = tuple[np.ndarray, np.ndarray]  # (back: new -> old, fwd: old -> new) between two input frames


def as_float(image: np.ndarray) -> np.ndarray:
    """uint8 RGB -> float32 [0, 1]."""
    return image.astype(np.float32) / 255.0


def rms(detail: np.ndarray) -> float:
    """Root mean square of a detail image (output - input, floats)."""
    return float(np.sqrt(np.mean(np.square(detail, dtype=np.float64))))


def pair_flows(prev_in: np.ndarray, cur_in: np.ndarray, method: str) -> Flows:
    """The flows between two input frames: back (cur -> prev) and forward (prev -> cur)."""
    a, b = fl.gray(prev_in), fl.gray(cur_in)
    return fl.flow(b, a, method), fl.flow(a, b, method)


def carry(
    prev_in: np.ndarray,
    prev_out: np.ndarray,
    cur_in: np.ndarray,
    spec: VideoSpec,
    reference: float,
    flows: Flows | None = None,
) -> tuple[np.ndarray, float]:
    """The start image of the next frame, (H, W, 3) float [0, 1], and the occluded share (flow mode).

    ``reference`` is the first frame's detail RMS, the most the carried detail may hold times ``detail_cap``;
    ``flows`` are ``pair_flows``' when already computed.
    """
    cur = as_float(cur_in)
    if spec.mode == "frames":
        return cur, 0.0
    if spec.mode == "blend":
        return (1.0 - spec.blend) * cur + spec.blend * as_float(prev_out), 0.0
    back, fwd = flows or pair_flows(prev_in, cur_in, spec.flow)
    detail = fl.warp(as_float(prev_out) - as_float(prev_in), back)
    occluded = fl.occlusion(back, fwd, spec.occlusion)
    detail *= spec.blend * (~occluded)[..., None]  # occluded: the raw frame, dreamed fresh
    if spec.detail_cap and (r := rms(detail)) > spec.detail_cap * reference > 0:
        detail *= spec.detail_cap * reference / r  # no detail piling up frame after frame on still scenes
    return np.clip(cur + detail, 0.0, 1.0), float(occluded.mean())


def dream_frame(
    engine: Engine,
    start: np.ndarray,
    spec: DreamSpec,
    mask: torch.Tensor | None = None,
    cancel: CancelToken | None = None,
) -> np.ndarray:
    """The one call into the engine: (H, W, 3) float [0, 1] -> dreamed (H, W, 3) uint8.

    Keep-colours, strength and the mask apply against the frame the dream started from, as the zoom does.
    """
    x = torch.from_numpy(np.ascontiguousarray(start, dtype=np.float32)).permute(2, 0, 1)[None]
    return np.asarray(to_pil(engine.dream_frame(x, spec, mask=mask, cancel=cancel)))


@dataclass
class Chain:
    """The state carried from frame to frame, and the pairs scored so far (input and output)."""

    engine: Engine
    spec: DreamSpec  # planned: its seed is the run's
    video: VideoSpec
    mask: torch.Tensor | None = None
    prev_in: np.ndarray | None = None
    prev_out: np.ndarray | None = None
    reference: float = 0.0
    inputs: Score = field(default_factory=Score)
    outputs: Score = field(default_factory=Score)

    def flows(self, cur_in: np.ndarray) -> Flows | None:
        """The flows from the previous input frame to ``cur_in`` (None at a chain's first frame)."""
        return None if self.prev_in is None else pair_flows(self.prev_in, cur_in, self.video.flow)

    def dream(self, index: int, cur_in: np.ndarray, cancel: CancelToken | None = None) -> tuple[np.ndarray, float]:
        """Dream frame ``index`` (the chain's first gets the full dream); (output, seconds of flow and warping)."""
        t0 = time.perf_counter()
        first = self.prev_in is None or self.prev_out is None
        flows = self.flows(cur_in) if not first and self.video.mode == "flow" else None
        if first:
            start = as_float(cur_in)
        else:
            start = carry(self.prev_in, self.prev_out, cur_in, self.video, self.reference, flows)[0]  # type: ignore[arg-type]
        flow_seconds = time.perf_counter() - t0
        full = first or self.video.mode == "frames"
        frame_spec = self.spec if full else self.video.frame_spec(self.spec)
        frame_spec = frame_spec.replace(seed=frame_seed(self.spec.seed, index))
        out = dream_frame(self.engine, start, frame_spec, self.mask, cancel)
        self.advance(index, cur_in, out, flows)
        return out, flow_seconds

    def advance(self, index: int, cur_in: np.ndarray, out: np.ndarray, flows: Flows | None = None) -> None:
        """Take ``out`` as frame ``index``'s dream (dreamed now or read back) and score its pair with the last.

        The chain's first frame sets the carry's reference strength, unless one was given (a resumed chunk).
        """
        if self.prev_in is None and not self.reference:
            self.reference = rms(as_float(out) - as_float(cur_in))
        if self.prev_in is not None and self.prev_out is not None:
            back, fwd = flows or pair_flows(self.prev_in, cur_in, self.video.flow)
            self.inputs.add(index, warping_error(as_float(self.prev_in), as_float(cur_in), back, fwd))
            self.outputs.add(index, warping_error(as_float(self.prev_out), as_float(out), back, fwd))
        self.prev_in, self.prev_out = cur_in, out
