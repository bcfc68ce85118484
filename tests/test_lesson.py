"""The lesson page and the sweep: hand-worked numbers, real shapes, the page in a browser, bad input."""

from __future__ import annotations

import json
import re
from html import escape
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from chromium import DevTools
from click.testing import CliRunner
from PIL import Image

from dreamer.cli import cli
from dreamer.engine import Engine
from dreamer.errors import DreamerError
from dreamer.lecture import figures, handwork, run
from dreamer.lecture.lesson import MARKER, lesson
from dreamer.lecture.sweep import sweep
from dreamer.nets.wrapper import DreamModel
from dreamer.outputs.metadata import read_metadata
from dreamer.spec.specs import DreamSpec, VisSpec

TINY_VIS = VisSpec(size=32, steps=2, batch=32)
TINY_DREAM = DreamSpec(steps=2, octaves=2, step_size=0.02)


def make_lesson(photo: Path, out: Path, model: DreamModel, **kw: object) -> Path:
    """A lesson with the random-weight model at toy sizes: mechanics only."""
    engine = Engine(device="cpu", precision="fp32")
    engine.use(model)
    sizes = {"max_side": 64, "vis": TINY_VIS, "sweep_side": 48, "dream": TINY_DREAM}
    return lesson(photo, out, engine=engine, seed=3, **sizes, **kw)


@pytest.fixture(scope="module")
def page(tmp_path_factory: pytest.TempPathFactory, random_model: DreamModel) -> Path:
    """One toy lesson on a 96x64 cat, shared by the tests that only read it."""
    folder = tmp_path_factory.mktemp("lesson")
    photo = folder / "cat <b>.png"
    from dreamer.samples import sample_path

    Image.open(sample_path("chelsea")).convert("RGB").resize((96, 64)).save(photo)
    return make_lesson(photo, folder / "out", random_model)


def test_hand_worked_numbers_equal_torch() -> None:
    rng = np.random.default_rng(0)
    cases = [(handwork.x_pattern(9), handwork.diagonal_kernel())]
    cases += [(rng.integers(-3, 4, (n, n + 1)), rng.integers(-2, 3, (3, 3))) for n in (5, 6, 8)]
    for image, kernel in cases:
        fmap = handwork.convolve(image, kernel)
        t = torch.tensor(image, dtype=torch.float64)[None, None]
        want = F.conv2d(t, torch.tensor(kernel, dtype=torch.float64)[None, None])
        assert np.array_equal(fmap, want[0, 0].numpy())
        rect = handwork.relu(fmap)
        assert np.array_equal(rect, F.relu(want)[0, 0].numpy())
        pooled = handwork.max_pool(rect)
        assert np.array_equal(pooled, F.max_pool2d(F.relu(want), 2, ceil_mode=True)[0, 0].numpy())
    hw = handwork.work_by_hand()
    assert hw.feature_map.shape == (7, 7) and hw.pooled.shape == (4, 4)
    # A perfect match along the \ stroke scores 9; at the centre the / stroke spoils two cells (9 - 2*2 = 5).
    assert list(np.diag(hw.feature_map)) == [9, 9, 9, 5, 9, 9, 9] and hw.feature_map[0, 6] == 1
    assert hw.feature_map.min() < 0 and hw.rectified.min() == 0


def test_page_prints_every_hand_worked_number(page: Path) -> None:
    html = page.read_text()
    tables = re.findall(r'<table class="grid">(.*?)</table>', html)
    hw = handwork.work_by_hand()
    grids = [hw.pattern, hw.kernel, hw.feature_map, hw.rectified, hw.pooled]
    assert len(tables) == len(grids)
    for table, grid in zip(tables, grids, strict=True):
        assert [int(v) for v in re.findall(r"<td[^>]*>(-?\d+)</td>", table)] == grid.flatten().tolist()


def test_architecture_sizes_are_the_models_real_shapes(random_model: DreamModel, cat_image: Image.Image) -> None:
    parts = figures.anatomy(random_model)
    stages = figures.architecture(random_model, cat_image, parts.stages)
    seen: dict[str, tuple[int, ...]] = {}

    def keep(name: str):  # noqa: ANN202
        def hook(_module: torch.nn.Module, _inputs: object, out: torch.Tensor) -> None:
            seen[name] = tuple(out.shape)

        return hook

    handles = [random_model.net.get_submodule(n).register_forward_hook(keep(n)) for n in parts.stages]
    try:
        with torch.no_grad():
            random_model.net(random_model.prepare(torch.rand(1, 3, cat_image.height, cat_image.width)))
    finally:
        for h in handles:
            h.remove()
    assert [s.name for s in stages] == ["input", *parts.stages]
    assert [(s.channels, s.height, s.width) for s in stages[1:]] == [seen[n][1:] for n in parts.stages]
    assert [seen[f"blocks.{i}"][1] for i in range(7)] == [16, 24, 40, 80, 112, 192, 320]


def test_page_states_the_real_sizes(page: Path, random_model: DreamModel) -> None:
    photo = Image.open(page.parent / "photo.png")
    html = page.read_text()
    parts = figures.anatomy(random_model)
    for s in figures.architecture(random_model, photo, [*parts.stages, parts.head]):
        assert f"<td>{s.name}</td><td>{s.channels}</td><td>{s.width}x{s.height}</td>" in html


def test_page_is_self_contained_and_escaped(page: Path) -> None:
    html = page.read_text()
    sources = re.findall(r'src="([^"]+)"', html)
    assert len(sources) >= 15 and all((page.parent / s).is_file() for s in sources)
    assert not re.search(r"(https?:)?//", html.replace("file://", "")), "no network resources"
    assert "cat <b>.png" not in html and "cat &lt;b&gt;.png" in html
    assert json.loads((page.parent / MARKER).read_text())["seed"] == 3
    command = "dreamer render 'cat <b>.png' --octaves 2 --steps 2 --step-size 0.02 --seed 3 --max-side 64"
    assert escape(command + " --precision fp32") in html
    assert not [p for p in page.parent.parent.iterdir() if p.name.endswith((".part", ".old"))]


def test_page_loads_every_image_in_headless_chromium_and_fetches_nothing(page: Path, browser: DevTools) -> None:
    browser.call("Network.enable")
    browser.call("Page.enable")
    browser.call("Page.navigate", url=page.as_uri())
    browser.wait_event("Page.loadEventFired", 60)  # the page and every image in it
    expression = "JSON.stringify(Array.from(document.images).map(i => i.complete && i.naturalWidth > 0))"
    loaded = json.loads(browser.js(expression))
    requests = [e["params"]["request"]["url"] for e in browser.events if e["method"] == "Network.requestWillBeSent"]
    n_images = page.read_text().count("<img ")
    assert loaded is not None and len(loaded) == n_images and all(loaded), loaded
    assert requests and all(u.startswith("file://") for u in requests), requests


def test_not_an_image_is_one_line_and_leaves_nothing(tmp_path: Path) -> None:
    bad = tmp_path / "notes.png"
    bad.write_text("not a picture")
    result = CliRunner().invoke(cli, ["lesson", str(bad), "-o", str(tmp_path / "out"), "-q"])
    assert result.exit_code == 1 and "notes.png" in result.output
    assert len(result.output.strip().splitlines()) == 1 and "Traceback" not in result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.png"]


def test_unwritable_folder_is_one_line_and_leaves_nothing(cat: Path, tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    for out in (blocker / "lesson", blocker):
        result = CliRunner().invoke(cli, ["lesson", str(cat), "-o", str(out), "-q"])
        assert result.exit_code == 1 and str(out) in result.output, result.output
        assert len(result.output.strip().splitlines()) == 1
    assert blocker.read_text() == "x" and sorted(p.name for p in tmp_path.iterdir()) == ["a-file", "cat.png"]
    (tmp_path / "busy").mkdir()
    (tmp_path / "busy" / "mine.txt").write_text("keep")
    result = CliRunner().invoke(cli, ["lesson", str(cat), "-o", str(tmp_path / "busy"), "-q"])
    assert result.exit_code == 1 and "not empty" in result.output
    assert [p.name for p in (tmp_path / "busy").iterdir()] == ["mine.txt"]


def test_failure_midway_leaves_no_half_page_and_keeps_the_earlier_lesson(
    cat: Path, tmp_path: Path, random_model: DreamModel, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "out"
    make_lesson(cat, out, random_model)
    before = (out / "index.html").read_text()
    stage_before = Image.open(out / "stage_0.png").size

    def broken(*_a: object, **_k: object) -> None:
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(run, "dream", broken)
    with pytest.raises(RuntimeError, match="disk on fire"):
        make_lesson(cat, out, random_model)
    assert (out / "index.html").read_text() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cat.png", "out"]
    monkeypatch.undo()
    with pytest.raises(DreamerError, match="holds the photo"):
        make_lesson(out / "photo.png", out, random_model)  # the new lesson would delete its own input
    make_lesson(cat, out, random_model, top=1)  # an earlier lesson is replaced whole
    assert Image.open(out / "stage_0.png").width < stage_before[0]  # one channel per stage now, not three
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cat.png", "out"]


def test_sweep_has_one_labelled_panel_per_layer(cat: Path, random_engine: Engine) -> None:
    layers = ["blocks.1", "blocks.3", "blocks.5"]
    strip = sweep(cat, layers, DreamSpec(max_side=64, steps=1, octaves=1, seed=2), engine=random_engine)
    panel_w, gap = 96, 6
    assert strip.width == len(layers) * (panel_w + gap) + gap and strip.info["dreamer"]["layers"] == layers
    a = np.asarray(strip.convert("L"), dtype=np.int16)
    for i in range(len(layers)):
        x = gap + i * (panel_w + gap)
        assert a[gap : gap + 64, x : x + panel_w].std() > 5  # a picture
        assert (a[gap + 64 : gap + 64 + 20, x : x + panel_w] < 100).sum() > 20  # its caption
    panels = [a[gap : gap + 64, gap + i * (panel_w + gap) :][:, :panel_w] for i in range(3)]
    assert np.abs(panels[0] - panels[2]).mean() > 1  # different layers, different dreams


def test_sweep_command_writes_the_strip(cat: Path, tmp_path: Path, use_random_model: None) -> None:
    out = tmp_path / "strip.png"
    args = ["sweep", str(cat), "-l", "blocks.2", "-l", "blocks.4", "--max-side", "64", "--steps", "1"]
    result = CliRunner().invoke(cli, [*args, "--octaves", "1", "--seed", "5", "-o", str(out), "-q"])
    assert result.exit_code == 0, result.output
    meta = read_metadata(out)
    assert meta["kind"] == "sweep" and meta["layers"] == ["blocks.2", "blocks.4"] and meta["spec"]["seed"] == 5
    bad = CliRunner().invoke(cli, [*args[:2], "-l", "blocks.42", "-o", str(tmp_path / "x.png"), "-q"])
    assert bad.exit_code == 1 and "blocks.42" in bad.output and not (tmp_path / "x.png").exists()


def test_other_networks_get_an_anatomy_from_their_module_list(cat_image: Image.Image) -> None:
    from dreamer.nets.registry import get_spec

    spec = get_spec("mobilenet_v2")  # random weights: nothing is downloaded
    model = DreamModel(spec.architecture(), spec, torch.device("cpu"), precision="fp32")
    parts = figures.anatomy(model)
    assert (parts.conv, parts.pre, parts.act) == ("features.0.0", "features.0.1", "features.0.2")
    assert parts.stages == tuple(f"features.{i}" for i in range(19))
    stages = figures.architecture(model, cat_image, parts.stages)
    assert stages[1].channels == 32 and stages[-1].channels == 1280 and stages[-1].height < stages[1].height


@pytest.mark.parametrize("case", ["text", "zip", "empty", "truncated-jpeg", "truncated-png", "directory", "missing"])
@pytest.mark.parametrize("command", ["lesson", "sweep"])
def test_broken_photos_are_one_line_and_leave_nothing(tmp_path: Path, command: str, case: str) -> None:
    from hostile import broken_files

    path, words = broken_files(tmp_path / "in")[case]
    out = tmp_path / "out"
    target = ["-o", str(out / ("lesson" if command == "lesson" else "s.png"))]
    out.mkdir()
    result = CliRunner().invoke(cli, [command, str(path), *target, "-q"])
    errors = [line for line in result.output.splitlines() if line.lower().startswith("error")]
    assert result.exit_code == 1 and len(errors) == 1 and words in errors[0] and path.name in errors[0], result.output
    assert list(out.iterdir()) == []


def _text(html: str) -> str:
    from html import unescape

    return unescape(re.sub(r"<[^>]+>", " ", html))


def test_every_size_caption_is_width_x_height(page: Path, random_model: DreamModel) -> None:
    """Each size the page writes (two numbers joined by x) is width x height, checked against the real images."""
    photo = Image.open(page.parent / "photo.png")
    assert photo.width != photo.height  # a wide photo: a size written height x width would show
    text = _text(page.read_text())
    chains = [re.findall(r"\d+", c) for c in re.findall(r"\d+(?:\s?[x×]\s?\d+)+", text)]
    sizes = [(int(a), int(b)) for a, b in (c for c in chains if len(c) == 2)]
    wide = [(w, h) for w, h in sizes if w != h]
    assert len(wide) >= 10, sizes  # the photo, the first layers' maps, the stages
    aspect = np.log(photo.width / photo.height)
    wrong = [(w, h) for w, h in wide if abs(np.log(w / h) - aspect) > abs(np.log(w / h) + aspect)]
    assert not wrong, f"written height x width: {wrong}"
    caption = re.search(r'<img src="photo.png"[^>]*><figcaption>([^<]*)', page.read_text())
    assert caption and f"{photo.width}x{photo.height}" in caption[1]
    parts = figures.anatomy(random_model)
    maps = figures.architecture(random_model, photo, [*parts.stages, parts.head])
    for s in maps:  # the table and the diagram's labels: the network's real map sizes
        assert f"{s.width}x{s.height}" in text
        assert f"{s.width}x{s.height}" in figures.label(s)
    first = figures.architecture(random_model, photo, [parts.pre])[1]  # the real shapes, as tested above
    assert f"{first.channels} channels, each {first.width}x{first.height}" in text


def test_first_screen_is_plain_words_and_every_name_is_explained(page: Path, random_model: DreamModel) -> None:
    html = page.read_text()
    first = re.search(r"</h1><p>(.*?)</p>", html)
    assert first and "weights" not in first[1] and ".pth" not in first[1] and "(" not in first[1].split(".")[0]
    small = re.search(r'<p class="small">(.*?)</p>', html)
    assert small and random_model.weights.split(" ")[0] in small[1]
    glossary = _text(re.search(r'<aside class="glossary".*?</aside>', html, re.S)[0])
    parts = figures.anatomy(random_model)
    names = [parts.conv, parts.pre, parts.act, parts.stages[0], parts.stages[-1], parts.head]  # "blocks.0 to blocks.6"
    words = ["channel", "layer", "activation", "ReLU6", "fourier", "kernel", "feature map", "max-pooling", "octave"]
    missing = [w for w in [*names, *words] if w not in glossary]
    assert not missing, f"not in the glossary: {missing}"
    assert "param fourier" not in _text(html)  # the settings are said in words


def _slabs(im: Image.Image) -> list[tuple[int, int]]:
    """(thickness, height) of each slab as drawn: measured on the pixels along the slabs' common base line."""
    ink = np.asarray(im.convert("L")) < 250
    rows = ink.any(1)
    top = int(rows.argmax())
    base = top + int((~rows[top:]).argmax()) - 1  # the last row of the band the slabs stand in
    line = ink[base - 1]
    edges = np.flatnonzero(np.diff(line.astype(int)))
    runs = list(zip(edges[::2] + 1, edges[1::2] + 1, strict=True))
    out = []
    for x0, x1 in runs:
        column = ink[: base + 1, x0 + 2][::-1]
        out.append((int(x1 - x0), int((~column).argmax()) if not column.all() else base))
    return out


def test_architecture_drawing_shows_channels_growing_while_maps_shrink(random_model: DreamModel) -> None:
    """On the drawn pixels: thickness grows with log(channels), height with log(map size); the input is thin."""
    photo = Image.new("RGB", (256, 170))
    parts = figures.anatomy(random_model)
    stages = figures.architecture(random_model, photo, [*parts.stages, parts.head])
    drawn = _slabs(figures.diagram(stages, 1000))
    assert len(drawn) == len(stages)
    thick = np.array([t for t, _ in drawn], dtype=float)
    high = np.array([h for _, h in drawn], dtype=float)
    channels = np.log2([s.channels for s in stages])
    sides = 1 + np.log2([s.height for s in stages])
    assert np.all(np.diff(thick) > 0) and np.all(np.diff(high) <= 1), drawn  # deeper: thicker, never taller
    assert np.ptp(thick / channels) / np.mean(thick / channels) < 0.15, drawn  # thickness ~ log2(channels)
    assert np.ptp(high / sides) / np.mean(high / sides) < 0.15, drawn  # height ~ log2(map height)
    fronts = thick * high
    assert fronts[0] < fronts[-1] and fronts[0] < np.median(fronts), drawn  # the 3-channel input is not the biggest
