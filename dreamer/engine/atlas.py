"""An activation atlas through the engine: patches -> 2D layout -> grid -> one picture per kept cell, resumable.

Each photo's sampled patches are cached in the folder (``dreamer.outputs.atlas``), the layout is
made once and kept, and the cells' pictures are optimised ``VisSpec.batch`` at a time from one
batched direction objective and written as each batch finishes; the same call after an
interruption skips what is there. Then the sheet (the cells in place) and the page (each cell with
its nearest real patches) are written.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image

from dreamer.core.tensors import to_pil
from dreamer.engine.events import CancelToken, OnEvent, Warned, emit
from dreamer.engine.plan import Plan, Planner
from dreamer.engine.records import looks, sheet_record
from dreamer.engine.seeds import seeded
from dreamer.errors import DreamerError
from dreamer.featvis.atlas import PATCH_STRIDES, SIDES, cell_directions, directions, nearest_in_cell, photo_patches
from dreamer.featvis.layout import Binning, bin_points, layout_2d
from dreamer.featvis.optimize import optimize
from dreamer.featvis.param.maco import PHOTO_SUFFIXES
from dreamer.nets.wrapper import LOGITS
from dreamer.outputs.atlas import AtlasFolder, cell_name, file_digest
from dreamer.outputs.atlaspage import PageCell, atlas_sheet, write_page
from dreamer.outputs.images import load_image, save_image
from dreamer.spec.atlas import AtlasSpec
from dreamer.spec.schema import to_dict
from dreamer.spec.specs import VisSpec

PATCH_SIDE = 64  # the page's patch files, pixels a side


@dataclass(frozen=True)
class AtlasResult:
    """What an atlas run made: where, how many cells of the grid, and how much of the data they cover."""

    folder: Path
    sheet: Path
    page: Path
    points: int  # patches laid out
    cells: int  # cells kept (visualised)
    made: int  # cells optimised by this call (the rest were there already)
    coverage: float  # share of the patches whose cell was visualised
    layout: str  # the method used: umap, tsne or pca
    seconds: float


def atlas_photos(photos: Sequence[str | Path]) -> list[Path]:
    """The photo files named, folders expanded to the photos in them (by suffix, sorted); none is an error."""
    found: list[Path] = []
    for given in photos:
        p = Path(given)
        if p.is_dir():
            found += sorted(f for f in p.iterdir() if f.is_file() and f.suffix.lower() in PHOTO_SUFFIXES)
        elif p.is_file():
            found.append(p)
        else:
            raise DreamerError(f"{p}: no such photo or folder", field="photos")
    if not found:
        shown = ", ".join(str(p) for p in photos) or "nothing given"
        raise DreamerError(f"no photos to make an atlas from ({shown}; suffixes {', '.join(PHOTO_SUFFIXES)})")
    return list(dict.fromkeys(found))


def _key(*parts: Any) -> str:
    return hashlib.sha1(json.dumps(parts, sort_keys=True).encode()).hexdigest()


def _patches(
    plan: Plan, folder: AtlasFolder, files: list[tuple[Path, str]], layer: str, spec: AtlasSpec, on_event: Any
) -> tuple[torch.Tensor, np.ndarray, list[Path]]:
    """Every photo's patches (cached per photo): activations (N, C), boxes (N, 4), and the photo each came from."""
    vectors, boxes, owners = [], [], []
    model = plan.model
    for path, digest in files:
        key = _key(digest, model.name, model.weights, layer, spec.patches, SIDES, PATCH_STRIDES, plan.seed)
        cache = folder.acts_path(path.name, key)
        arrays = folder.load_arrays(cache, ("vectors", "boxes"))
        if arrays is None:
            try:
                rgb = load_image(path).rgb
            except DreamerError as exc:
                emit(on_event, Warned(f"skipped {exc}"))
                continue
            generator = torch.Generator().manual_seed(plan.seed ^ int(digest[:12], 16))
            v, b = photo_patches(model, rgb, layer, spec.patches, generator)
            arrays = {"vectors": v.numpy().astype(np.float32), "boxes": np.asarray(b, dtype=np.int32).reshape(-1, 4)}
            folder.save_arrays(cache, **arrays)
        vectors.append(torch.from_numpy(arrays["vectors"]))
        boxes.append(arrays["boxes"])
        owners += [path] * len(arrays["vectors"])
    if not vectors:
        raise DreamerError("no usable photo to make an atlas from", field="photos")
    return torch.cat(vectors), np.concatenate(boxes), owners


def _layout(folder: AtlasFolder, vectors: torch.Tensor, spec: AtlasSpec, seed: int) -> tuple[torch.Tensor, str]:
    """The 2D layout: made once and kept in the folder, so a resume bins exactly as the first run did."""
    path = folder.path / "layout.npz"
    kept = folder.load_arrays(path, ("xy", "method"))
    if kept is not None and len(kept["xy"]) == len(vectors):
        return torch.from_numpy(kept["xy"]), str(kept["method"])
    xy, method = layout_2d(vectors, spec.layout, seed)
    folder.save_arrays(path, xy=xy.numpy(), method=np.array(method))
    return xy, method


def _write_patches(
    folder: AtlasFolder, binning: Binning, nearest: dict[int, list[int]], boxes: np.ndarray, owners: list[Path]
) -> None:
    """Each kept cell's nearest patches as small JPEGs (those already there are kept)."""
    opened: dict[Path, Image.Image] = {}
    for cell, picks in nearest.items():
        for k, i in enumerate(picks):
            out = folder.patch_path(cell, binning.grid, k)
            if out.is_file():
                continue
            if owners[i] not in opened:
                opened[owners[i]] = load_image(owners[i]).rgb
            crop = opened[owners[i]].crop(tuple(int(v) for v in boxes[i]))
            out.parent.mkdir(parents=True, exist_ok=True)
            save_image(crop.resize((PATCH_SIDE, PATCH_SIDE), Image.Resampling.LANCZOS), out)


def _render(
    plan: Plan,
    folder: AtlasFolder,
    binning: Binning,
    targets: torch.Tensor,
    layer: str,
    spec: AtlasSpec,
    on_event: OnEvent | None,
    cancel: CancelToken | None,
) -> int:
    """Optimise the kept cells' pictures in fixed batches, skipping batches already whole; the count made."""
    vis, grid = plan.spec, binning.grid
    batches = [range(s, min(s + vis.batch, len(binning.kept))) for s in range(0, len(binning.kept), vis.batch)]
    todo = [(n, b) for n, b in enumerate(batches) if not all(folder.finished(binning.kept[i], grid) for i in b)]
    made = 0
    folder.cell_path(0, grid).parent.mkdir(parents=True, exist_ok=True)
    with plan.loop("visualize", vis.step_count * len(todo), on_event, cancel) as loop:
        for n, batch in todo:
            started = time.perf_counter()
            objective = directions(layer, targets[list(batch)], spec.power)
            generator = torch.Generator().manual_seed(plan.seed + n)  # a batch's own seed: resumes repeat it

            def on_step(step: int, _images: torch.Tensor, score: float, n: int = n) -> None:
                loop.step(n, step, score)

            images = optimize(plan.model, objective, len(batch), vis, generator, on_step)
            for i, image in zip(batch, images, strict=True):
                cell = binning.kept[i]
                if folder.finished(cell, grid):
                    continue
                record = sheet_record(
                    plan, "atlas", started, layer=layer, cell=cell_name(cell, grid), points=int(binning.counts[cell])
                )
                save_image(to_pil(image[:3]), folder.cell_path(cell, grid), metadata=record)
                made += 1
    return made


def atlas(
    engine: Planner,
    photos: Sequence[str | Path],
    out_dir: str | Path,
    layer: str,
    spec: AtlasSpec,
    vis: VisSpec,
    *,
    on_event: OnEvent | None = None,
    cancel: CancelToken | None = None,
) -> AtlasResult:
    """An activation atlas of ``layer`` over ``photos`` (files or folders) in ``out_dir``; see the module docstring."""
    started = time.perf_counter()
    files = atlas_photos(photos)
    folder = AtlasFolder(out_dir)
    folder.check()
    recorded = (folder.recorded() or {}).get("spec", {})
    plan = engine.plan(seeded(vis.replace(alpha=False), recorded.get("seed") if isinstance(recorded, dict) else None))
    if layer == LOGITS:
        raise DreamerError("an atlas needs a layer with positions, not logits", field="layer")
    plan.model.check_layer(layer)
    unique = {file_digest(p): p for p in reversed(files)}  # the same photo twice (two folders) counts once
    digests = sorted(((p, d) for d, p in unique.items()), key=lambda pd: files.index(pd[0]))
    folder.agree(
        {
            "layer": layer,
            "atlas": to_dict(spec),
            "spec": looks(plan.spec),
            "photos": sorted(d for _, d in digests),
        }
    )
    vectors, boxes, owners = _patches(plan, folder, digests, layer, spec, on_event)
    xy, method = _layout(folder, vectors, spec, plan.seed)
    binning = bin_points(xy, spec.grid, spec.min_points)
    if not binning.kept:
        raise DreamerError(
            f"no cell of the {spec.grid}x{spec.grid} grid has {spec.min_points} patches; "
            "use a smaller grid, a smaller min-points or more patches",
            field="grid",
        )
    targets = cell_directions(vectors, binning.cells, binning.kept)
    nearest = {
        c: nearest_in_cell(vectors, binning.members(c), targets[i], spec.neighbours) for i, c in enumerate(binning.kept)
    }
    _write_patches(folder, binning, nearest, boxes, owners)
    made = _render(plan, folder, binning, targets, layer, spec, on_event, cancel)
    return _finish(plan, folder, binning, nearest, boxes, owners, layer, method, made, started)


def _finish(
    plan: Plan,
    folder: AtlasFolder,
    binning: Binning,
    nearest: dict[int, list[int]],
    boxes: np.ndarray,
    owners: list[Path],
    layer: str,
    method: str,
    made: int,
    started: float,
) -> AtlasResult:
    """The sheet and the page from the cells in the folder."""
    grid, side = binning.grid, plan.spec.size
    pictures, cells = {}, []
    for cell in binning.kept:
        with Image.open(folder.cell_path(cell, grid)) as im:
            pictures[divmod(cell, grid)] = im.convert("RGB")
        patches = tuple(
            (
                folder.patch_path(cell, grid, k).relative_to(folder.path).as_posix(),
                f"{owners[i].name} {' '.join(str(int(v)) for v in boxes[i])}",
            )
            for k, i in enumerate(nearest[cell])
        )
        picture = folder.cell_path(cell, grid).relative_to(folder.path).as_posix()
        cells.append(PageCell(cell // grid, cell % grid, picture, int(binning.counts[cell]), patches))
    coverage = binning.coverage()
    record = sheet_record(
        plan,
        "atlas",
        started,
        layer=layer,
        layout=method,
        grid=grid,
        points=len(binning.cells),
        cells=[cell_name(c, grid) for c in binning.kept],
        coverage=round(coverage, 4),
        photos=sorted({p.name for p in owners}),
    )
    sheet = save_image(atlas_sheet(pictures, grid, side), folder.path / "atlas.png", metadata=record)
    about = (
        f"{plan.model.name} {layer}: {len(binning.cells)} patches from {len(set(owners))} photos, "
        f"{method} layout, {len(binning.kept)} of {grid * grid} cells kept ({coverage:.0%} of the patches). "
        "Hover a patch for its photo and box."
    )
    page = folder.path / "index.html"
    write_page(page, cells, grid, f"atlas of {layer}", about)
    seconds = round(time.perf_counter() - started, 2)
    return AtlasResult(folder.path, sheet, page, len(binning.cells), len(binning.kept), made, coverage, method, seconds)
