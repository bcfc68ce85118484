"""The progress bar the command line and the notebook API share: engine events into ``tqdm.auto``.

``tqdm.auto`` is a widget in Jupyter and text in a terminal; warnings go through ``warnings.warn``.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from PIL import Image

from dreamer.engine.events import Event, Octave, OnEvent, Started, Step, Warned
from dreamer.errors import DreamerWarning

Preview = Callable[[int, Image.Image], None]  # (steps done, image so far)


@contextmanager
def progress_bar(desc: str, enabled: bool = True, preview: Preview | None = None) -> Iterator[OnEvent]:
    """An event listener that drives a tqdm bar, shows warnings, and hands previews to ``preview``."""
    from tqdm.auto import tqdm

    bars: list[Any] = []  # made on the first Started event, so a run that fails early prints no bar
    octave: dict[str, Any] = {}  # the octave now running: its label and its first score

    def on_event(event: Event) -> None:
        if isinstance(event, Started):
            octave.clear()
            if bars:
                bars[0].reset(total=event.total)
            else:
                bars.append(tqdm(total=event.total, disable=not enabled, desc=desc, leave=False))
        elif isinstance(event, Octave):
            octave.update(label=f"{event.index + 1}/{event.count} at {event.size[0]}x{event.size[1]}", first=None)
        elif isinstance(event, Step) and bars:
            bar = bars[0]
            bar.update(1)
            bar.set_postfix_str(step_postfix(event.score, octave))
            if preview is not None and event.preview is not None:
                preview(event.done, event.preview)
        elif isinstance(event, Warned):
            warnings.warn(event.message, DreamerWarning, stacklevel=2)

    try:
        yield on_event
    finally:
        for bar in bars:
            bar.close()


def step_postfix(score: float, octave: dict[str, Any]) -> str:
    """``octave 2/4 at 256x171, +35%``: the octave, and the score's gain since the octave began.

    Each octave starts from a larger image whose score is lower, so a raw score drops at every
    octave while the dream is going well; the gain within the octave reads the same at every scale.
    """
    if "label" not in octave:  # a visualisation: one scale, the raw objective
        return f"score={score:.3g}"
    if octave.get("first") is None:
        octave["first"] = score
    first = octave["first"]
    gain = f"{score / first - 1:+.0%}" if first > 0 else f"score={score:.3g}"
    return f"octave {octave['label']}, {gain}"
