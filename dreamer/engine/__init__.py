"""The engine: one owner of models and runs; every surface builds a spec and calls it."""

from dreamer.engine.engine import Engine
from dreamer.engine.events import CancelToken, Event, Finished, Octave, Started, Step, Warned
from dreamer.engine.plan import Plan

__all__ = ["CancelToken", "Engine", "Event", "Finished", "Octave", "Plan", "Started", "Step", "Warned"]
