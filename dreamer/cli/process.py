"""Process-wide settings, made once by an entry point (the CLI, a pool worker), never by library calls.

- glibc malloc keeps freed buffers (measured 1.1-1.3x faster ascent steps, ``bench/heap.py``).
- Pillow's decoding limit is raised to ``DREAMER_MAX_PIXELS``: ``load_image`` checks each image's
  declared size against that limit itself, before decoding.
"""

from __future__ import annotations


def tune_process() -> None:
    """Apply dreamer's process-wide settings (call once, at start-up)."""
    from PIL import Image

    from dreamer.outputs.images import max_pixels
    from dreamer.runners.heap import keep_freed_memory

    keep_freed_memory()
    Image.MAX_IMAGE_PIXELS = max(max_pixels(), Image.MAX_IMAGE_PIXELS or 0)
