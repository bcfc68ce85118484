"""What dreamer knows about a model, and the registry whose decorators register one (as torchvision's).

A registered function returns a ``ModelSpec``; ``dreamer.nets.zoo`` holds the registry and its
registrations, and ``dreamer.nets.registry`` is the one door (``get_spec``, ``get_model``, ``list_models``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from torch import nn


@dataclass(frozen=True)
class ModelSpec:
    """A model as its weights describe it: how to build it, how it wants its input, where to look in it."""

    name: str  # the registry name: --model NAME
    display_name: str  # for people: pages and listings
    build: Callable[[], nn.Module]  # architecture with its default weights loaded (fp32, CPU)
    architecture: Callable[[], nn.Module]  # architecture with random weights, for --weights
    mean: tuple[float, float, float]
    std: tuple[float, float, float]
    weights_name: str
    dream_layers: tuple[str, ...] = ()  # recommended for dreams (chosen from renders); the first is the default
    stages: tuple[str, ...] = ()  # the network's stages in order; () = found from the module list (the lesson)
    head: str | None = None  # a last layer after the stages, before the maps are averaged
    categories: tuple[str, ...] = ()  # class names in logit order
    input_size: int = 224  # the side it was trained at
    convert_keys: Callable[[dict], dict] = dict  # renames checkpoint keys to the architecture's
    at_hand: Callable[[], bool] = lambda: True  # whether its default weights load with no download (shipped, cached)

    @property
    def dream_layer(self) -> str | None:
        """The default dream layer (the first recommended one), or None when none is recommended."""
        return self.dream_layers[0] if self.dream_layers else None


SpecFactory = Callable[[], ModelSpec]
FamilyFactory = Callable[[str], ModelSpec]


class Registry:
    """Model names -> the functions that make their specs, filled by decorators (see ``dreamer.nets.zoo``)."""

    def __init__(self) -> None:
        self._models: dict[str, SpecFactory] = {}
        self._families: list[tuple[Callable[[], Iterable[str]], FamilyFactory]] = []  # (names, spec for a name)

    def register(self, name: str) -> Callable[[SpecFactory], SpecFactory]:
        """Decorator: register a function returning a model's spec under ``name``; a name taken twice is an error."""

        def register(factory: SpecFactory) -> SpecFactory:
            if name in self._models:
                raise ValueError(f"a model named {name!r} is already registered")
            self._models[name] = factory
            return factory

        return register

    def register_family(self, names: Callable[[], Iterable[str]]) -> Callable[[FamilyFactory], FamilyFactory]:
        """Decorator: register a function giving the spec for each of ``names()`` (read when asked).

        A name that is also registered on its own (``register``) is served by that registration.
        """

        def register(factory: FamilyFactory) -> FamilyFactory:
            self._families.append((names, factory))
            return factory

        return register

    def names(self) -> list[str]:
        """Every name: those registered on their own first, then the families', in registration order."""
        out = dict.fromkeys(self._models)
        for names, _ in self._families:
            out |= dict.fromkeys(names())
        return list(out)

    def spec(self, name: str) -> ModelSpec | None:
        """The spec for ``name``, or None when nothing registered it."""
        if name in self._models:
            return self._models[name]()
        for names, factory in self._families:
            if name in names():
                return factory(name)
        return None
