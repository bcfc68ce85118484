"""Make ``dreamer/assets/maco_spectrum.npy``: the natural magnitude spectrum MACO fixes.

The average rfft2 magnitude (3 x 128 x 65, float16) of 48 random square crops (40-100% of the
short side, resized to 128 px) of each bundled photo (``dreamer/assets/{chelsea,astronaut,coffee}.png``:
public domain and CC0, see ``dreamer/assets/SOURCES.md``), in the decorrelated colour space MACO's
image lives in. Run from the repository root::

    python scripts/maco_spectrum.py [--folder PHOTOS] [--out dreamer/assets/maco_spectrum.npy]

``--spectrum FOLDER`` on the CLI computes the same from a user's folder at render time instead.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from dreamer.featvis.param.maco import SPECTRUM_ASSET, compute_spectrum, photos_in
from dreamer.samples import sample_names, sample_path


def main() -> None:
    """Compute the spectrum and write it."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--folder", type=Path, help="photos to use instead of the bundled ones")
    parser.add_argument("--out", type=Path, default=SPECTRUM_ASSET)
    args = parser.parse_args()
    photos = photos_in(args.folder) if args.folder else [sample_path(n) for n in sample_names()]
    spectrum = compute_spectrum(photos)
    np.save(args.out, spectrum.astype(np.float16))
    print(f"wrote {args.out}: {spectrum.shape} from {len(photos)} photos")


if __name__ == "__main__":
    main()
