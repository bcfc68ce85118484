"""The decoding limit: how many pixels an image may declare before dreamer refuses to decode it.

Kept apart from ``images`` (which needs torch) so that process start-up can read it without
importing torch: ``dreamer --help`` stays quick.
"""

from __future__ import annotations

import os
import warnings

from dreamer.errors import DreamerError, DreamerWarning

DEFAULT_MAX_PIXELS = 100_000_000  # refuse larger images before decoding them


def max_pixels() -> int:
    """The decoding limit: ``DREAMER_MAX_PIXELS`` in the environment, else 100 megapixels."""
    raw = os.environ.get("DREAMER_MAX_PIXELS", "")
    try:
        return int(raw) if raw else DEFAULT_MAX_PIXELS
    except ValueError:
        raise DreamerError(f"DREAMER_MAX_PIXELS must be a whole number (got {raw!r})") from None


# What each output format can hold, checked before any work starts (``check_animation``, ``check_output_path``).
MAX_SIDE_OF = {"WEBP": 16383, "JPEG": 65535, "PNG": 2**31 - 1, "GIF": 65535, "MP4": 16384}  # pixels a side
GIF_TICK = 0.01  # seconds: a GIF frame's duration is a 16-bit count of these
GIF_MIN_FPS = 1 / (65535 * GIF_TICK)  # its longest frame, 655.35 s
GIF_MAX_FPS = 50.0  # 20 ms frames: shorter ones are played as 100 ms by browsers, so dreamer writes 20 ms
MP4_MIN_FPS = 1 / 1000  # the rate is written as a fraction with a denominator of at most 1001


def check_animation(output: str, kind: str, fps: float, size: tuple[int, int] | None = None) -> None:
    """Refuse, before any frame is dreamed, a frame rate or frame size the GIF or MP4 ``output`` cannot hold."""
    if kind not in ("gif", "mp4"):
        return
    low = GIF_MIN_FPS if kind == "gif" else MP4_MIN_FPS
    if not fps >= low:  # NaN too
        why = "a GIF shows a frame for at most 655.35 s" if kind == "gif" else "an MP4 shows a frame for at most 1000 s"
        raise DreamerError(
            f"`fps` {fps:g} is too low for {output}: {why}, so it needs at least {low:.4g} frames per second",
            field="fps",
        )
    if kind == "gif" and fps > GIF_MAX_FPS:
        message = f"{output}: a GIF plays at most {GIF_MAX_FPS:g} frames per second; it will play slower than {fps:g}"
        warnings.warn(message, DreamerWarning, stacklevel=3)
    side = MAX_SIDE_OF[kind.upper()]
    if size is not None and max(size) > side:
        raise DreamerError(
            f"{output}: {kind.upper()} frames can be at most {side} px on a side, these would be "
            f"{size[0]}x{size[1]}; use a smaller `max_side` or a folder for the frames",
            field="max_side",
        )


def gif_duration_ms(fps: float) -> int:
    """A GIF frame's duration in whole milliseconds: 10 ms ticks, at least 20 ms (``check_animation`` bounds it)."""
    return max(20, round(1 / (fps * GIF_TICK)) * 10)
