"""The one run loop: dreams, visualisations, accentuation and caricatures announce, step, stop and finish alike."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from dreamer.core.objectives import channel
from dreamer.engine.events import CancelToken, Step
from dreamer.errors import Cancelled
from dreamer.spec.specs import VisSpec

VIS = VisSpec(size=32, steps=4, seed=0, param="pixel")


def _runs(engine: Any, photo: Any) -> dict[str, Callable[..., Any]]:
    return {
        "dream": lambda **kw: engine.dream(photo, steps=4, octaves=1, max_side=48, seed=0, **kw),
        "grid": lambda **kw: engine.grid(VIS, layer="blocks.3", channels=[0], **kw),
        "accent": lambda **kw: engine.accent(photo, channel("blocks.3", 0), VIS.replace(size=48), **kw),
        "caricature": lambda **kw: engine.caricature(photo, VIS, **kw),
    }


@pytest.mark.parametrize("kind", ["dream", "grid", "accent", "caricature"])
def test_every_kind_of_run_reports_each_step_and_then_finishes(random_engine, cat_image, kind: str) -> None:
    events: list[Any] = []
    _runs(random_engine, cat_image)[kind](on_event=events.append)
    names = [type(e).__name__ for e in events]
    assert names == ["Started", *(["Octave"] if kind == "dream" else []), *["Step"] * 4, "Finished"]
    assert [e.done for e in events if isinstance(e, Step)] == [1, 2, 3, 4] and events[0].total == 4


@pytest.mark.parametrize("kind", ["dream", "grid", "accent", "caricature"])
def test_every_kind_of_run_stops_within_one_step_without_finishing(random_engine, cat_image, kind: str) -> None:
    token, events = CancelToken(), []

    def on_event(event: Any) -> None:
        events.append(event)
        if isinstance(event, Step) and event.done == 2:
            token.cancel()

    with pytest.raises(Cancelled):
        _runs(random_engine, cat_image)[kind](on_event=on_event, cancel=token)
    assert [type(e).__name__ for e in events][-2:] == ["Step", "Step"]
