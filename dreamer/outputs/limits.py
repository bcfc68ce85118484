"""The decoding limit: how many pixels an image may declare before dreamer refuses to decode it.

Kept apart from ``images`` (which needs torch) so that process start-up can read it without
importing torch: ``dreamer --help`` stays quick.
"""

from __future__ import annotations

import os

from dreamer.errors import DreamerError

DEFAULT_MAX_PIXELS = 100_000_000  # refuse larger images before decoding them


def max_pixels() -> int:
    """The decoding limit: ``DREAMER_MAX_PIXELS`` in the environment, else 100 megapixels."""
    raw = os.environ.get("DREAMER_MAX_PIXELS", "")
    try:
        return int(raw) if raw else DEFAULT_MAX_PIXELS
    except ValueError:
        raise DreamerError(f"DREAMER_MAX_PIXELS must be a whole number (got {raw!r})") from None
