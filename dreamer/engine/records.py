"""The settings document of each kind of run (schema 2, ``dreamer.outputs.metadata``), assembled here only.

Stills, sheets (grid, maps, accent), animation frames and sweeps each get theirs from one function
below, so no surface builds metadata by hand: the spec's look and file knobs, where the run ran,
and the provenance of that kind.
"""

from __future__ import annotations

import time
from typing import Any

from dreamer.engine.plan import Plan
from dreamer.outputs.metadata import document
from dreamer.spec.schema import Kind, to_dict

LOOK_AND_FILES = (Kind.LOOK, Kind.FILE)


def looks(spec: Any) -> dict[str, Any]:
    """A spec's look and file knobs, as a document records them (and a frames folder compares them)."""
    return to_dict(spec, LOOK_AND_FILES)


def _seconds(started: float) -> float:
    return round(time.perf_counter() - started, 2)


def dream_record(plan: Plan, started: float, **about: Any) -> dict[str, Any]:
    """A still's document: the resolved spec, where it ran, the weights, the time and ``about`` (input, style ...)."""
    about = {"weights_name": plan.model.weights, "seconds": _seconds(started), **about}
    return document("dream", looks(plan.spec), plan.env(), **about)


def sheet_record(plan: Plan, kind: str, started: float, **about: Any) -> dict[str, Any]:
    """A sheet's document (kind ``grid``, ``maps`` or ``accent``): spec, env, weights, time and ``about``."""
    about |= {"weights_name": plan.model.weights, "seconds": _seconds(started)}
    return document(kind, looks(plan.spec), plan.env(), **about)


def frame_record(plan: Plan, index: int, source: str, **about: Any) -> dict[str, Any]:
    """An animation frame's document: the run's spec, so ``dreamer info`` and ``--replay`` read it like a still's."""
    return document("frame", looks(plan.spec), plan.env(), **about, source=source, frame=index)


def sweep_record(plan: Plan, layers: list[str], input_name: str | None) -> dict[str, Any]:
    """A sweep strip's document: the spec shared by every layer, the layers, the input and the weights."""
    return document(
        "sweep", looks(plan.spec), plan.env(), layers=layers, input=input_name, weights_name=plan.model.weights
    )
