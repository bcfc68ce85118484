"""Evidence for a grid or maps sheet: each cell's top exemplar patches from a photo folder, and a judge's belief.

``gather`` finds, for each cell's channel or class, the photo patches that drive it most; for a class
it also asks an independent network (``lite1`` or ``lite2``, ``dreamer.featvis.judge``) how probable
that class is in the visualisation. ``apply`` draws the exemplars in a strip under each picture and the
probability into its caption; ``record`` is what the PNG's metadata keeps.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from PIL import Image

from dreamer.core.objectives import Objective
from dreamer.core.tensors import to_tensor
from dreamer.engine.atlas import atlas_photos
from dreamer.engine.plan import Plan, Planner
from dreamer.errors import DreamerError
from dreamer.featvis.exemplars import Exemplar, exemplars_for, strip_height, target_of, with_strip
from dreamer.featvis.judge import class_probabilities
from dreamer.nets.wrapper import LOGITS
from dreamer.outputs.images import load_image
from dreamer.spec.atlas import JUDGES
from dreamer.spec.specs import VisSpec

EXEMPLARS = 4  # patches in each cell's strip


@dataclass(frozen=True)
class Evidence:
    """What backs each cell: its exemplars (None: not a channel or class) and, for a class, the judge's probability."""

    folder: str
    judge: str | None
    exemplars: list[list[Exemplar] | None]
    probabilities: list[float | None]

    def record(self, labels: list[str]) -> dict[str, Any]:
        """The evidence as the sheet's metadata keeps it, by cell label."""
        cells = {}
        for label, found, p in zip(labels, self.exemplars, self.probabilities, strict=True):
            entry: dict[str, Any] = {"exemplars": [e.record() for e in found or []]}
            if p is not None:
                entry["judge_probability"] = round(p, 4)
            cells[label] = entry
        return {"folder": self.folder, "judge": self.judge, "cells": cells}

    def apply(self, pictures: list[Image.Image], labels: list[str]) -> tuple[list[Image.Image], list[str]]:
        """Each picture with its exemplar strip, each caption with the judge's probability (where there is one)."""
        out = [with_strip(p, found or [], EXEMPLARS) for p, found in zip(pictures, self.exemplars, strict=True)]
        captions = [
            f"{label} {self.judge} {p:.0%}" if p is not None else label
            for label, p in zip(labels, self.probabilities, strict=True)
        ]
        return out, captions


def cell_size(size: tuple[int, int]) -> tuple[int, int]:
    """A picture's (width, height) once its strip is under it (what a sheet's size is planned with)."""
    return size[0], size[1] + strip_height(size[0], EXEMPLARS)


def evidence_photos(folder: str | Path) -> list[tuple[str, Image.Image]]:
    """The photos of an evidence folder (or one photo), loaded as RGB; unreadable ones are an error naming them."""
    photos = []
    for path in atlas_photos([folder]):
        try:
            photos.append((path.name, load_image(path).rgb))
        except DreamerError as exc:
            raise DreamerError(str(exc), field="evidence") from None
    return photos


def gather(
    engine: Planner,
    plan: Plan,
    folder: str | Path,
    objectives: list[Objective],
    pictures: list[Image.Image],
    judge: str | None = JUDGES[0],
) -> Evidence:
    """Exemplars from ``folder`` for each objective and, for class objectives, ``judge``'s probability."""
    if judge is not None and judge not in JUDGES:
        raise DreamerError(f"unknown judge {judge!r} (use {', '.join(JUDGES)})", field="judge")
    photos = evidence_photos(folder)
    found = exemplars_for(plan.model, photos, objectives, EXEMPLARS)
    targets = [target_of(o) for o in objectives]
    classes = [(i, t[1]) for i, t in enumerate(targets) if t is not None and t[0] == LOGITS]
    probabilities: list[float | None] = [None] * len(objectives)
    if classes and judge is not None:
        net = engine.plan(VisSpec(model=judge, seed=0)).model
        images = torch.cat([to_tensor(pictures[i].convert("RGB")) for i, _ in classes])
        for (i, _), p in zip(classes, class_probabilities(net, images, [c for _, c in classes]), strict=True):
            probabilities[i] = p
    return Evidence(Path(folder).name, judge if classes else None, found, probabilities)
