"""The one run loop: Started, Octave and Step events (with previews when asked), cancellation, Finished.

Dreams, visualisations and accentuation each open a ``RunLoop`` around their optimisation and report
every step to it; what leaves the engine, when a preview is drawn and where a stop request is honoured
is decided here, once, for every kind of run.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from types import TracebackType

from PIL import Image

from dreamer.engine.events import CancelToken, Finished, Octave, OnEvent, Started, Step, emit


class RunLoop:
    """One run's events and stop requests; ``with`` announces it (Started) and, unless it failed, its end.

    ``octave`` is the octave of a dream, the batch of a visualisation; ``step`` counts within it.
    """

    def __init__(
        self, started: Started, on_event: OnEvent | None, cancel: CancelToken | None, preview_every: int = 0
    ) -> None:
        self.started = started
        self.on_event = on_event
        self.cancel = cancel
        self.preview_every = preview_every
        self.done = 0  # steps finished so far
        self._t0 = 0.0

    @property
    def total(self) -> int:
        """The steps this run announced."""
        return self.started.total

    @property
    def watched(self) -> bool:
        """Whether anyone listens or may ask to stop (else the work may skip reporting altogether)."""
        return self.on_event is not None or self.cancel is not None

    def __enter__(self) -> RunLoop:
        self._t0 = time.perf_counter()
        emit(self.on_event, self.started)
        self.check()
        return self

    def __exit__(self, kind: type[BaseException] | None, _exc: BaseException | None, _tb: TracebackType | None) -> None:
        if kind is None:
            emit(self.on_event, Finished(time.perf_counter() - self._t0))

    def check(self) -> None:
        """Raise ``Cancelled`` when a stop was asked for."""
        if self.cancel is not None:
            self.cancel.check()

    def octave(self, index: int, count: int, size: tuple[int, int]) -> None:
        """A dream moved to octave ``index`` of ``count``, (width, height) ``size``."""
        emit(self.on_event, Octave(index, count, size))

    def step(
        self,
        octave: int,
        step: int,
        score: float,
        *,
        last: bool = False,
        preview: Callable[[], Image.Image] | None = None,
    ) -> None:
        """The next step finished; ``preview`` draws the image so far when one is due (every Nth, and at ``last``)."""
        self.done += 1
        due = self.preview_every and (self.done % self.preview_every == 0 or last)
        image = preview() if due and preview is not None and self.on_event is not None else None
        emit(self.on_event, Step(self.done, self.total, octave, step, score, image))
        self.check()
