"""Process start-up, made once by an entry point (the CLI, a pool worker, a Ray actor), never by library calls.

- glibc malloc keeps freed buffers (measured 1.1-1.3x faster ascent steps, ``bench/heap.py``).
- Pillow's decoding limit is raised to ``DREAMER_MAX_PIXELS``: ``load_image`` checks each image's
  declared size against that limit itself, before decoding.

A worker process is its own entry point: ``start_worker`` applies the same settings there, then
gives it its share of the cores and its one ``Engine``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from dreamer.spec.specs import RunEnv

if TYPE_CHECKING:
    from dreamer.engine.engine import Engine


def tune_process() -> None:
    """Apply dreamer's process-wide settings (call once, at start-up)."""
    from PIL import Image

    from dreamer.outputs.limits import max_pixels
    from dreamer.runners.heap import keep_freed_memory

    keep_freed_memory()
    Image.MAX_IMAGE_PIXELS = max(max_pixels(), Image.MAX_IMAGE_PIXELS or 0)


def start_worker(threads: int, env: RunEnv) -> Engine:
    """A worker process's start-up: the CLI's process settings, ``threads`` torch threads, its one Engine."""
    import torch

    from dreamer.engine.engine import Engine

    tune_process()
    torch.set_num_threads(threads)
    return Engine(env)
