"""PNG writing: zlib's default strategy against its run-length one, on the gallery's own outputs.

Dreams, sheets and feature visualisations are dense in detail; after PNG's row filters, deflate's
string matching finds little that run-length coding does not. Variants alternate per file; total
size and time are compared.

Run: ``python bench/png.py`` (every PNG under ``gallery/``).
"""

from __future__ import annotations

import argparse
import io
import time
import zlib
from pathlib import Path

from PIL import Image

VARIANTS = {"default (deflate, level 6)": {}, "Z_RLE (what save_image uses)": {"compress_type": zlib.Z_RLE}}


def main() -> None:
    """Encode every gallery PNG with each strategy, alternating; print total sizes and times."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--folder", type=Path, default=Path(__file__).resolve().parents[1] / "gallery")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    images = []
    for path in sorted(args.folder.rglob("*.png")):
        with Image.open(path) as im:
            images.append(im.convert("RGBA" if "A" in im.getbands() else "RGB"))
    size = dict.fromkeys(VARIANTS, 0)
    seconds = dict.fromkeys(VARIANTS, 0.0)
    for repeat in range(args.repeats):
        for im in images:
            for name, options in VARIANTS.items():
                out = io.BytesIO()
                started = time.perf_counter()
                im.save(out, "PNG", **options)
                seconds[name] += time.perf_counter() - started
                if repeat == 0:
                    size[name] += len(out.getvalue())
    pixels = sum(im.width * im.height for im in images) / 1e6
    print(f"{len(images)} PNGs from {args.folder.name}/ ({pixels:.1f} Mpixel), {args.repeats} alternating passes")
    base = next(iter(VARIANTS))
    for name in VARIANTS:
        print(
            f"  {name:<30} {size[name] / 2**20:7.1f} MB  {seconds[name] / args.repeats:6.2f} s a pass"
            f"  (size x{size[name] / size[base]:.3f}, {seconds[base] / seconds[name]:.2f}x as fast)"
        )


if __name__ == "__main__":
    main()
