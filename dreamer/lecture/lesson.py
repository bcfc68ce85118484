"""``lesson``: the CNN lecture as a folder with one offline page, every figure drawn by the real network.

photo -> hand-worked convolution, kernels, first feature maps, architecture, hierarchy
(batched visualisations), classes, dream -> ``index.html`` and its PNGs, written into a
hidden folder beside the target and renamed into place only once everything is there.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PIL import Image
from torch import nn

from dreamer.engine.engine import Engine, ImageLike
from dreamer.engine.seeds import seeded
from dreamer.errors import DreamerError
from dreamer.lecture import deep, figures, handwork, run, words
from dreamer.lecture.page import PageData, render
from dreamer.lecture.sweep import dream_strip
from dreamer.nets.summary import list_layers
from dreamer.nets.wrapper import DreamModel
from dreamer.outputs.folders import read_record, refuse_foreign
from dreamer.outputs.imagelike import as_loaded
from dreamer.outputs.images import fit_max_side, save_image
from dreamer.spec.presets import LESSON_VIS
from dreamer.spec.specs import DEFAULT_MODEL, DreamSpec, VisSpec
from dreamer.version import __version__

SectionCallback = Callable[[int, int, str], None]  # (sections done, total, the one just finished)
SECTION_NAMES = ("by hand", "kernels", "first layers", "architecture", "hierarchy", "sweep", "dream", "page")
MARKER = "lesson.json"  # a lesson's record of itself: a folder holding it and only its files may be replaced
# What a lesson wrote before its record listed its files (0.2): a new one may replace only these.
EARLIER = re.compile(
    r"index\.html|lesson\.json|(photo|kernels|architecture|class|sweep|dream|first_\d+|stage_\d+|"
    r"hand_(pattern|kernel|feature_map|rectified|pooled))\.png"
)


def lesson(
    photo: ImageLike,
    out: str | os.PathLike[str],
    *,
    model: str = DEFAULT_MODEL,
    weights: str | None = None,
    max_side: int = 512,
    top: int = 3,
    seed: int | None = None,
    vis: VisSpec = LESSON_VIS,
    sweep_side: int = 288,
    engine: Engine | None = None,
    device: str = "auto",
    precision: str = "auto",
    dream: DreamSpec | None = None,
    on_section: SectionCallback | None = None,
) -> Path:
    """Write the lesson for ``photo`` into folder ``out`` (``out/index.html`` and its figures); returns the page.

    ``dream`` holds the look of the dreams (steps, octaves, ...); the model, seed and sizes come from here.
    """
    loaded = as_loaded(photo, "photo", seeable=True)
    target = Path(os.path.abspath(out))  # "." and "dir/.." have names to put a hidden folder beside
    _check_target(target, loaded.path)
    base = seeded((dream or DreamSpec()).replace(model=model, weights=weights, seed=seed))
    seed = base.seed
    engine = engine or Engine(device=device, precision=precision)
    tmp = _make_temp(target)
    try:
        data = _build(
            loaded.rgb,
            loaded.path,
            tmp,
            engine,
            base,
            max_side,
            top,
            seed,
            vis,
            sweep_side,
            on_section,
        )
        (tmp / "index.html").write_text(render(data), encoding="utf-8")
        files = sorted([*os.listdir(tmp), MARKER])
        record = {"kind": "lesson", "seed": seed, "dream": data.dream_settings, "files": files}
        (tmp / MARKER).write_text(json.dumps(record, indent=1))
        if on_section:
            on_section(len(SECTION_NAMES), len(SECTION_NAMES), "page")
        _swap_in(tmp, target)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return target / "index.html"


def _check_target(target: Path, photo: Path | None) -> None:
    """Refuse a target that is a file, holds the photo, or holds anything other than an earlier lesson."""
    if photo is not None and target.resolve() in photo.resolve().parents:
        raise DreamerError(f"-o {target}: holds the photo {photo.name}, which the new lesson would delete")
    if target.exists() and not target.is_dir():
        raise DreamerError(f"-o {target}: is a file, not a folder")
    if not target.is_dir() or not any(target.iterdir()):
        return
    record = read_record(target / MARKER)
    if record is None or record.get("kind") != "lesson":
        raise DreamerError(f"-o {target}: folder is not empty and holds no earlier lesson; choose a new one")
    files = record.get("files")
    listed = set(files) if isinstance(files, list) and all(isinstance(f, str) for f in files) else None
    own = (lambda n: n in listed) if listed is not None else (lambda n: bool(EARLIER.fullmatch(n)))
    refuse_foreign(target, own, "the earlier lesson's own (a new lesson replaces the folder whole)")


def _make_temp(target: Path) -> Path:
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(f".{target.name}.{secrets.token_hex(4)}.part")
        tmp.mkdir()  # with the user's usual permissions (mkdtemp's would be private)
        return tmp
    except OSError as exc:
        raise DreamerError(f"-o {target}: cannot write there ({exc.strerror or exc})") from None


def _swap_in(tmp: Path, target: Path) -> None:
    """Rename the finished folder into place; an earlier lesson there is moved aside first, then removed."""
    old = None
    if target.exists():
        old = target.with_name(f".{target.name}.{secrets.token_hex(4)}.old")
        os.replace(target, old)
    os.replace(tmp, target)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def _downsampling(model: DreamModel) -> str:
    if any(isinstance(layer.module, nn.MaxPool2d) for layer in list_layers(model)):
        return "This network halves its maps with max-pooling layers, like the hand-worked example above."
    return (
        "This network uses no max-pooling: it halves its maps with strided convolutions, kernels that jump two "
        "pixels at a time (its very first convolution already does, which is why the maps below are half the "
        "photo's size). The third row shows real 2x2 max-pooling, done by us on the activation, for comparison: "
        "the same halving, keeping the strongest response of each block."
    )


def _batch_norm(model: DreamModel, name: str) -> bool:
    """Whether a layer is a batch normalisation, or one named so that lite0 folded into its convolution."""
    return isinstance(model.module(name), nn.BatchNorm2d) or name.rsplit(".", 1)[-1].startswith("bn")


def _activation(model: DreamModel, act: str | None) -> str:
    """What the first activation does, in words (empty when the network has none there)."""
    if act is None:
        return ""
    kind = type(model.module(act)).__name__
    return words.ACTIVATIONS.get(kind, f"This network's activation is {kind}.")


def _build(
    src: Image.Image,
    path: Path | None,
    tmp: Path,
    engine: Engine,
    base: DreamSpec,
    max_side: int,
    top: int,
    seed: int,
    vis: VisSpec,
    sweep_side: int,
    on_section: SectionCallback | None,
) -> PageData:
    started = time.perf_counter()
    model_name, weights = base.model, base.weights
    total = len(SECTION_NAMES)
    done = 0

    def finished(name: str) -> None:
        nonlocal done
        done += 1
        if on_section:
            on_section(done, total, name)

    def save(im: Image.Image, name: str, meta: dict[str, Any] | None = None) -> str:
        save_image(im, tmp / name, metadata=meta)
        return name

    photo = src.resize(fit_max_side(src.size, max_side), Image.Resampling.LANCZOS) if max(src.size) > max_side else src
    save(photo, "photo.png")
    hw = handwork.work_by_hand()
    limits = {"pattern": 1, "kernel": 1, "feature_map": 9, "rectified": 9, "pooled": 9}
    hand_files = {
        k: save(handwork.draw_grid(getattr(hw, k), lim, numbers=False), f"hand_{k}.png") for k, lim in limits.items()
    }
    finished("by hand")

    model = engine.model(model_name, weights)
    parts = figures.anatomy(model)
    kernel_im, kernel_shape = figures.kernels(model, parts.conv)
    kernels_file = save(kernel_im, "kernels.png")
    finished("kernels")

    first = figures.first_layers(model, photo, parts)
    first_rows = [(what, save(im, f"first_{i}.png"), shape) for i, (what, im, shape) in enumerate(first.rows)]
    finished("first layers")

    stages = figures.architecture(model, photo, [*parts.stages, *([parts.head] if parts.head else [])])
    diagram_file = save(figures.diagram(stages, len(model.spec.categories) or None), "architecture.png")
    finished("architecture")

    vis = vis.replace(seed=seed, model=model_name, weights=weights)
    tree = deep.hierarchy(engine, photo, parts.stages, top, vis)
    hierarchy = [(name, save(im, f"stage_{i}.png")) for i, (name, im) in enumerate(tree.stages)]
    class_file = save(tree.class_picture.resize((2 * vis.size, 2 * vis.size), Image.Resampling.LANCZOS), "class.png")
    finished("hierarchy")

    columns = 4 if len(parts.stages) == 7 else None  # the photo and seven dreams: two rows of four
    swept = dream_strip(
        engine, photo, parts.stages, base.replace(max_side=sweep_side), with_photo=True, columns=columns
    )
    sweep_file = save(swept, "sweep.png")
    finished("sweep")

    dreamed = run.dream(engine, photo, base.replace(max_side=max_side))
    dream_file = save(dreamed, "dream.png", dreamed.info["dreamer"])
    finished("dream")

    settings = {k: v for k, v in dreamed.info["dreamer"]["spec"].items() if k in _SHOWN}
    name = path.name if path else "photo"
    return PageData(
        photo_name=name,
        model=model.spec.display_name,
        weights=model.weights,
        photo_size=photo.size,
        hand=hw,
        hand_files=hand_files,
        kernels_file=kernels_file,
        kernels_shape=kernel_shape,
        first_rows=first_rows,
        downsampling=_downsampling(model),
        activation=_activation(model, parts.act),
        layer_names=words.layer_names(
            parts.conv,
            parts.pre,
            parts.act,
            _batch_norm(model, parts.pre),
            parts.stages,
            parts.head,
        ),
        stages=stages,
        diagram_file=diagram_file,
        classes=len(model.spec.categories),
        hierarchy=hierarchy,
        sweep_file=sweep_file,
        top=tree.top,
        class_file=class_file,
        dream_file=dream_file,
        dream_settings=settings,
        command=_command(name, base.replace(max_side=max_side), engine.env.precision),
        vis_settings={"size": vis.size, "steps": vis.steps, "param": vis.param, "seed": seed},
        seconds=time.perf_counter() - started,
        version=__version__,
    )


_SHOWN = ("model", "layers", "octaves", "octave_scale", "steps", "step_size", "jitter", "smooth", "seed", "max_side")


def _command(photo: str, spec: DreamSpec, precision: str) -> str:
    """The ``dreamer render`` line that makes the same dream: every setting that is not the default."""
    import shlex

    args = ["dreamer", "render", photo]
    default = DreamSpec()
    for name in ("model", "weights", *_SHOWN[2:]):
        value = getattr(spec, name)
        if value != getattr(default, name) and value is not None:
            args += [f"--{name.replace('_', '-')}", str(value)]
    for text in spec.layers:
        args += ["-l", text]
    if precision != "auto":
        args += ["--precision", precision]
    return shlex.join(args)
