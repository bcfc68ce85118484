"""The progress bar the command line and the notebook API share: engine events into ``tqdm.auto``.

``tqdm.auto`` is a widget in Jupyter and text in a terminal; warnings go through ``warnings.warn``.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from PIL import Image

from dreamer.engine.events import Event, OnEvent, Started, Step, Warned
from dreamer.errors import DreamerWarning

Preview = Callable[[int, Image.Image], None]  # (steps done, image so far)


@contextmanager
def progress_bar(desc: str, enabled: bool = True, preview: Preview | None = None) -> Iterator[OnEvent]:
    """An event listener that drives a tqdm bar, shows warnings, and hands previews to ``preview``."""
    from tqdm.auto import tqdm

    bars: list[Any] = []  # made on the first Started event, so a run that fails early prints no bar

    def on_event(event: Event) -> None:
        if isinstance(event, Started):
            if bars:
                bars[0].reset(total=event.total)
            else:
                bars.append(tqdm(total=event.total, disable=not enabled, desc=desc, leave=False))
        elif isinstance(event, Step) and bars:
            bar = bars[0]
            bar.update(1)
            bar.set_postfix(score=f"{event.score:.3g}")
            if preview is not None and event.preview is not None:
                preview(event.done, event.preview)
        elif isinstance(event, Warned):
            warnings.warn(event.message, DreamerWarning, stacklevel=2)

    try:
        yield on_event
    finally:
        for bar in bars:
            bar.close()
