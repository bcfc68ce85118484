"""Where every run's randomness comes from: seeds are drawn here and nowhere else.

A run without a seed gets a random one (recorded in its output, so it can be replayed); a frame of
an animation gets one derived from the run's seed and its index alone, so a resumed run repeats it.
"""

from __future__ import annotations

import secrets
from typing import Any

import numpy as np

from dreamer.spec.schema import MAX_INT  # seeds are 0 .. MAX_INT: torch generators take signed 64-bit ones


def draw_seed() -> int:
    """A fresh random seed in the schema's range."""
    return secrets.randbits(MAX_INT.bit_length())


def seeded(spec: Any, recorded: int | None = None) -> Any:
    """``spec`` with its seed filled in when it has none: ``recorded`` (a resumed run's, if valid), else a fresh one."""
    if spec.seed is not None:
        return spec
    return spec.replace(seed=recorded if recorded is not None and 0 <= recorded <= MAX_INT else draw_seed())


def frame_seed(seed: int, index: int) -> int:
    """The seed of one frame, from the run's seed and the frame index only (so resuming repeats it)."""
    state = np.random.SeedSequence([seed % (MAX_INT + 1), index]).generate_state(2, np.uint32)
    return (int(state[0]) << 31) ^ int(state[1])
