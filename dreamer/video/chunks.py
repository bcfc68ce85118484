"""Chunk planning for a video dreamed in pieces at once: pure functions, no I/O.

The clip's frames are cut into consecutive chunks, one per worker. Each chunk after the first starts
``warmup`` frames early: those frames are dreamed (from a full dream, as frame 0 is) and dropped, so
the carried dream has built up by the chunk's first kept frame. The last ``lead`` warm-up frames are
also the previous chunk's last ``lead`` kept frames (its ``tail``): both chunks' dreams of them are
kept as seam frames and cross-faded, the later chunk's weight rising frame by frame.

A chunk's outputs, in order: its lead (seam ``b`` files), its own frames, its tail (seam ``a`` files).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from dreamer.errors import DreamerError

SEAM_NAME = "seam_{:05d}_{}.png"  # side "a": the earlier chunk's dream of the frame, "b": the later chunk's
SEAM_FILE = re.compile(r"seam_\d{5,}_[ab]\.png")


@dataclass(frozen=True)
class Chunk:
    """Frames ``first`` .. ``stop - 1`` kept, dreamed from ``first - warmup``; ``lead``/``tail`` are seams."""

    index: int
    first: int
    stop: int
    warmup: int = 0  # frames before ``first`` dreamed and dropped (none for the first chunk)
    lead: int = 0  # of those, the last ones cross-faded with the previous chunk's tail
    tail: int = 0  # the last kept frames cross-faded with the next chunk's lead

    @property
    def start(self) -> int:
        """The first frame this chunk dreams."""
        return self.first - self.warmup

    def outputs(self) -> list[tuple[int, str]]:
        """(frame, where its raw dream goes: "b", "frame" or "a") for each frame the chunk hands over."""
        lead = [(i, "b") for i in range(self.first - self.lead, self.first)]
        own = [(i, "frame") for i in range(self.first, self.stop - self.tail)]
        return lead + own + [(i, "a") for i in range(self.stop - self.tail, self.stop)]


def plan_chunks(total: int, chunks: int, warmup: int, overlap: int) -> list[Chunk]:
    """Cut ``total`` frames into ``chunks`` near-equal chunks with ``warmup`` and ``overlap`` (clipped to fit)."""
    if total < 1:
        raise DreamerError("a video of no frames cannot be cut into chunks")
    n = max(1, min(chunks, total))
    cuts = [round(k * total / n) for k in range(n + 1)]
    return from_borders([[cuts[k], cuts[k + 1]] for k in range(n)], warmup, overlap)


def from_borders(kept: list[list[int]], warmup: int, overlap: int) -> list[Chunk]:
    """The chunks keeping the [first, stop] ranges ``kept`` (a resume keeps the recorded ones)."""
    if overlap > warmup:
        raise DreamerError(f"must be at most --warmup {warmup} (got {overlap})", field="overlap")
    # a lead never takes the previous chunk's every frame: each chunk keeps one frame of its own dream
    leads = [0] + [min(overlap, kept[k - 1][1] - kept[k - 1][0] - 1) for k in range(1, len(kept))] + [0]
    return [Chunk(k, a, b, min(warmup, a), leads[k], leads[k + 1]) for k, (a, b) in enumerate(kept)]


def borders(chunks: list[Chunk]) -> list[list[int]]:
    """The chunks' kept ranges as [first, stop] pairs (what a chunked run's video.json records)."""
    return [[c.first, c.stop] for c in chunks]


def resumable(have: list[bool]) -> int:
    """How many outputs an earlier run left, counted from the first, without a gap."""
    return next((n for n, ok in enumerate(have) if not ok), len(have))


def seam_pairs(chunks: list[Chunk]) -> list[int]:
    """The frames t whose pair (t-1, t) spans a border or a cross-fade: the ones the seam score looks at."""
    return [t for c in chunks[1:] for t in range(c.first - c.lead, c.first + 1)]


def crossfade(earlier: np.ndarray, later: np.ndarray, position: int, lead: int) -> np.ndarray:
    """Frame ``position`` (0-based) of a ``lead``-frame seam: the two chunks' uint8 dreams mixed, later rising."""
    w = (position + 1) / (lead + 1)
    mixed = (1.0 - w) * earlier.astype(np.float32) + w * later.astype(np.float32)
    return np.clip(mixed + 0.5, 0, 255).astype(np.uint8)
