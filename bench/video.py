"""Video coherence: flicker along the known motion, activation gain and speed, three variants in lockstep.

A clip of known motion is made from the bundled cat photo (camera pan and slow zoom, a disc crossing).
Each frame is dreamed in turn by the three variants with the same settings and seeds, using the functions
``dreamer video`` runs (``carry`` then ``dream_frame``): ``frames`` (each frame on its own), ``blend``
(the new frame mixed 0.85 with the last dream) and ``flow`` (the default). Alternating per frame keeps
the shared CPU's swings out of the ratios.

- flicker: mean |out_i - warp(out_{i-1}, known motion)| in 0-255 over the background (borders and the
  disc left out), i.e. what changes between frames beyond the motion itself; the input's own is printed.
- gain: the dream objective at the dream layer on the output over the input, per frame, then the
  variant's mean over the ``frames`` variant's (each frame dreamed on its own is a still).
- speed: frames per second per variant, and the flow's share of the flow variant's time per frame.

Run: ``python bench/video.py [--frames 16] [--side 320] [--gif DIR]``.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from dreamer.core import flow as fl
from dreamer.engine.engine import Engine
from dreamer.engine.inputs import objective_for
from dreamer.engine.seeds import frame_seed
from dreamer.nets.hooks import LayerHooks
from dreamer.samples import sample_path
from dreamer.spec import VIDEO_SPEC, VideoSpec
from dreamer.video.run import _float, carry, dream_frame, rms
from dreamer.video.synth import motion_frames

VARIANTS = {
    "frames": VideoSpec(mode="frames"),
    "blend": VideoSpec(mode="blend", blend=0.85),
    "flow": VideoSpec(),
}


def flicker(frames: list[np.ndarray], motion: list[np.ndarray], boxes: list[tuple[int, int, int, int]]) -> float:
    """Mean absolute change between consecutive frames after undoing the known motion (0-255, background)."""
    cv2 = fl.load_cv2()
    h, w = frames[0].shape[:2]
    diffs = []
    for i in range(1, len(frames)):
        moved = cv2.warpAffine(frames[i - 1].astype(np.float32), motion[i], (w, h), flags=cv2.INTER_CUBIC)
        valid = cv2.warpAffine(np.ones((h, w), np.float32), motion[i], (w, h), flags=cv2.INTER_NEAREST) > 0
        valid[:8], valid[-8:], valid[:, :8], valid[:, -8:] = False, False, False, False
        for x0, y0, x1, y1 in (boxes[i - 1], boxes[i]):  # the disc moves on its own: leave it out, with a margin
            valid[max(y0 - 8, 0) : y1 + 8, max(x0 - 8, 0) : x1 + 8] = False
        diffs.append(np.abs(frames[i].astype(np.float32) - moved)[valid].mean())
    return float(np.mean(diffs))


def main() -> None:
    """Dream the clip with each variant in lockstep and print flicker, gain and speed."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=16)
    parser.add_argument("--side", type=int, default=320)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--flow", default="", help="flow variant knobs, e.g. blend=0.85,frame_steps=2")
    parser.add_argument("--gif", type=Path, help="also write each variant's frames as DIR/VARIANT.gif")
    args = parser.parse_args()
    knobs = dict(kv.split("=") for kv in args.flow.split(",") if kv)
    types = {f: type(getattr(VideoSpec(), f)) for f in knobs}
    VARIANTS["flow"] = VideoSpec(**{k: types[k](v) for k, v in knobs.items()})
    w, h = args.side, int(args.side * 0.7) // 2 * 2
    clip, motion, boxes = motion_frames(
        sample_path("chelsea"),
        args.frames,
        (w, h),
        pan=(2.0, 0.5),
        zoom=1.005,
        scale=args.side / 320,
        object_speed=(5.0, 0.0),
    )
    config = VIDEO_SPEC.replace(max_side=args.side, seed=args.seed)
    engine = Engine(device="cpu")
    model = engine.model(config.model, config.weights)
    objective = objective_for(engine.resolved(config), model)
    outs: dict[str, list[np.ndarray]] = {v: [] for v in VARIANTS}
    seconds: dict[str, list[float]] = {v: [] for v in VARIANTS}
    flow_seconds: list[float] = []
    reference: dict[str, float] = {}
    dream_frame(engine, _float(clip[0][:64, :64]), config.replace(octaves=1, steps=1))  # warm up
    for i, cur in enumerate(clip):
        for name, spec in VARIANTS.items():
            t0 = time.perf_counter()
            first = i == 0 or spec.mode == "frames"
            start = _float(cur) if i == 0 else carry(clip[i - 1], outs[name][-1], cur, spec, reference[name])[0]
            t1 = time.perf_counter()
            frame_config = (config if first else spec.frame_spec(config)).replace(seed=frame_seed(args.seed, i))
            outs[name].append(dream_frame(engine, start, frame_config))
            seconds[name].append(time.perf_counter() - t0)
            if name == "flow" and i > 0:
                flow_seconds.append(t1 - t0)
            if i == 0:
                reference[name] = rms(_float(outs[name][0]) - _float(cur))

    def score(images: list[np.ndarray]) -> np.ndarray:
        with LayerHooks(model, objective.layers) as run, torch.no_grad():
            x = torch.from_numpy(np.stack([_float(a) for a in images])).permute(0, 3, 1, 2).to(model.device)
            return objective(run(x)).float().cpu().numpy()

    base = score(clip)
    gains = {name: score(frames) / base for name, frames in outs.items()}
    later = slice(1, None)  # frame 0 is the same full dream in every variant
    print(f"clip: {args.frames} frames {w}x{h}, pan (2, 0.5) px and zoom 1.005 per frame, a disc crossing at 5 px")
    print(f"dream: {config.octaves} octaves x {config.steps} steps (first frame / every frame in 'frames'),")
    print(f"  flow variant: {VARIANTS['flow']}; layer {objective.name}")
    print(f"input flicker along the motion: {flicker(clip, motion, boxes):.2f}")
    print(f"{'variant':<8} {'flicker':>8} {'vs frames':>10} {'gain':>6} {'vs still':>9} {'s/frame':>8} {'fps':>6}")
    still_gain = gains["frames"][later].mean()
    base_flicker = flicker(outs["frames"], motion, boxes)
    for name in VARIANTS:
        f = flicker(outs[name], motion, boxes)
        g = gains[name][later].mean()
        s = float(np.median(seconds[name][1:]))
        print(f"{name:<8} {f:8.2f} {base_flicker / f:9.2f}x {g:6.2f} {g / still_gain:8.0%} {s:8.3f} {1 / s:6.2f}")
    share = np.sum(flow_seconds) / np.sum(seconds["flow"][1:])
    print(f"flow's share of the flow variant's time per frame: {share:.1%} (median {np.median(flow_seconds):.3f} s)")
    if args.gif:
        from PIL import Image

        from dreamer.outputs.animation import assemble
        from dreamer.outputs.images import save_image

        args.gif.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory() as tmp:
            for name, frames in [("input", clip), *outs.items()]:
                paths = [save_image(Image.fromarray(a), Path(tmp) / f"{name}{i:05d}.png") for i, a in enumerate(frames)]
                assemble(paths, args.gif / f"{name}.gif", fps=12)


if __name__ == "__main__":
    main()
