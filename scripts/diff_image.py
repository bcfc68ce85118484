"""``diff_image.py A B OUT [GAIN]``: the per-pixel |A - B| (B resized to A), times GAIN (default 4), as an image."""

from __future__ import annotations

import sys

import numpy as np
from PIL import Image

from dreamer.outputs.images import save_image


def main() -> None:
    """Write the amplified difference of two images."""
    a_path, b_path, out = sys.argv[1:4]
    gain = float(sys.argv[4]) if len(sys.argv) > 4 else 4.0
    b = Image.open(b_path).convert("RGB")
    a = Image.open(a_path).convert("RGB").resize(b.size, Image.Resampling.LANCZOS)
    diff = np.abs(np.asarray(a, dtype=np.float32) - np.asarray(b, dtype=np.float32)) * gain
    save_image(Image.fromarray(diff.clip(0, 255).astype(np.uint8), "RGB"), out)


if __name__ == "__main__":
    main()
