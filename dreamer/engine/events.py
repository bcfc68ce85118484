"""What a run tells the world: typed events, and the token that asks it to stop.

Events are the only way progress leaves the engine. The CLI turns them into tqdm bars, the
notebook API into ``tqdm.auto`` and previews, the studio into streamed images.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass

from PIL import Image

from dreamer.errors import Cancelled


@dataclass(frozen=True)
class Started:
    """A run began: how many steps it will take and what it resolved (seed, device, precision)."""

    kind: str  # "dream" or "visualize"
    total: int
    seed: int
    device: str
    precision: str


@dataclass(frozen=True)
class Octave:
    """A dream moved to its next scale."""

    index: int
    count: int
    size: tuple[int, int]  # (width, height)


@dataclass(frozen=True)
class Step:
    """One ascent or optimisation step finished; ``preview`` is the image so far, when asked for."""

    done: int
    total: int
    octave: int
    step: int
    score: float
    preview: Image.Image | None = None


@dataclass(frozen=True)
class Warned:
    """Something the user should know that does not stop the run."""

    message: str


@dataclass(frozen=True)
class Finished:
    """The run ended normally."""

    seconds: float


Event = Started | Octave | Step | Warned | Finished
OnEvent = Callable[[Event], None]


class CancelToken:
    """Ask a run to stop from any thread; the engine checks it between steps and raises ``Cancelled``."""

    def __init__(self) -> None:
        self._event = threading.Event()

    def cancel(self) -> None:
        """Ask the run to stop after the step in progress."""
        self._event.set()

    @property
    def cancelled(self) -> bool:
        """Whether a stop was asked for."""
        return self._event.is_set()

    def check(self) -> None:
        """Raise ``Cancelled`` when a stop was asked for."""
        if self._event.is_set():
            raise Cancelled("stopped on request")


def emit(on_event: OnEvent | None, event: Event) -> None:
    """Hand an event to the listener, if there is one."""
    if on_event is not None:
        on_event(event)
