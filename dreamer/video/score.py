"""A video dream's temporal-consistency score: its warping error, the input's, frame-by-frame dreaming's on a sample.

The score (``core.consistency``) of the dreamed video is set beside the same score of the input (its
floor: what warping along the flow cannot explain) and of frame-by-frame dreaming on the first few
frames (what the carry saves): printed at the end, kept in ``video.json`` and the output's metadata.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

import numpy as np
import torch

from dreamer.core.consistency import OCCLUSION, SHOWN, Score, steadier
from dreamer.engine.engine import Engine
from dreamer.engine.events import CancelToken
from dreamer.spec.specs import DreamSpec
from dreamer.spec.video import VideoSpec
from dreamer.video.chain import Chain

KEY = "score"  # its key in video.json


def frame_by_frame(
    engine: Engine,
    spec: DreamSpec,
    video: VideoSpec,
    inputs: list[np.ndarray],
    first_out: np.ndarray,
    mask: torch.Tensor | None = None,
    cancel: CancelToken | None = None,
) -> float | None:
    """The warping error of dreaming ``inputs`` each on its own (frame 0's dream is ``first_out``, the same)."""
    chain = Chain(engine, spec, video.replace(mode="frames"), mask)
    chain.advance(0, inputs[0], first_out)
    for index, cur in enumerate(inputs[1:], 1):
        chain.dream(index, cur, cancel)
    return chain.outputs.mean()


def cached_sample(state: dict[str, Any] | None, frames: int) -> float | None:
    """A frame-by-frame error recorded in ``video.json`` by an earlier run over the same ``frames``."""
    sample = ((state or {}).get(KEY) or {}).get("frame_by_frame") or {}
    error = sample.get("error") if isinstance(sample, dict) else None
    return float(error) if sample.get("frames") == frames and isinstance(error, (int, float)) else None


def summarize(
    inputs: Score, outputs: Score, sample: tuple[int, float | None] | None = None, seams: Iterable[int] = ()
) -> dict[str, Any]:
    """The score record: the video's error and the input's; the sample's (frames, error); at ``seams``' pairs."""
    record: dict[str, Any] = {
        "warp_error": outputs.mean(),
        "input": inputs.mean(),
        "pairs": len(outputs.pairs),
        "occlusion_px": OCCLUSION,
        "measure": "occlusion-masked warping error (Lai et al. 2018): mean squared difference, pixels in [0, 1]",
    }
    if sample is not None and sample[1] is not None:
        frames, error = sample
        same = outputs.mean(range(1, frames))
        record["frame_by_frame"] = {"frames": frames, "error": error, "video": same, "steadier": steadier(error, same)}
    seams = sorted(set(seams))
    if seams:
        inside = [i for i in outputs.pairs if i not in seams]
        record["seams"] = {"frames": seams, "error": outputs.mean(seams), "inside": outputs.mean(inside)}
    return record


def _shown(value: float | None) -> str:
    return "n/a" if value is None else f"{value * SHOWN:.2f}"


def line(record: dict[str, Any]) -> str:
    """One line for the terminal: 'warping error 2.41 (input 0.83; frame by frame 7.52: 3.1x steadier) x1000'."""
    parts = [f"input {_shown(record.get('input'))}"]
    if fbf := record.get("frame_by_frame"):
        ratio = fbf.get("steadier")
        how = f"{ratio:.1f}x steadier than frame by frame" if ratio is not None else "frame by frame"
        parts.append(f"{how} ({_shown(fbf['error'])} vs {_shown(fbf['video'])} on the first {fbf['frames']} frames)")
    if seams := record.get("seams"):
        parts.append(f"at chunk borders {_shown(seams['error'])}, inside chunks {_shown(seams['inside'])}")
    return f"temporal consistency: warping error {_shown(record.get('warp_error'))} x1e-3 ({'; '.join(parts)})"


def comment(record: dict[str, Any]) -> str:
    """The record as the JSON an output file's comment carries."""
    return json.dumps({"dreamer_temporal_consistency": record}, sort_keys=True, allow_nan=False)
