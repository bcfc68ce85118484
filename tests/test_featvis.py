"""Feature visualisation: parametrisations, transforms, batched grids, class and channel quality."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from click.testing import CliRunner
from PIL import Image

from dreamer.cli import cli
from dreamer.core.objectives import channel, class_logit, per_image
from dreamer.core.tensors import to_tensor
from dreamer.engine import Engine, Step
from dreamer.errors import DreamerError
from dreamer.featvis import param
from dreamer.featvis.cells import Cell, class_index, grid_cells
from dreamer.featvis.maps import top_channels
from dreamer.featvis.optimize import render_cells
from dreamer.featvis.param import pixel, spatial
from dreamer.featvis.transforms import standard_transforms
from dreamer.nets.hooks import LayerHooks
from dreamer.outputs.metadata import read_metadata
from dreamer.outputs.sheets import tidy_columns
from dreamer.spec.specs import PARAM_CHOICES, PARAM_DEFAULTS, VisSpec

FAST = {"size": 48, "steps": 3, "seed": 0}
CLASSES = ["goldfish", "flamingo", "tarantula", "jellyfish", "daisy", "lemon", "pizza", "volcano", "school bus"]
CLASSES.append("accordion")


def test_fourier_image_starts_near_grey_and_has_the_requested_shape() -> None:
    gen = torch.Generator().manual_seed(0)
    params, image_fn = param.image(2, 40, 56, VisSpec(param="fourier"), generator=gen)
    image = image_fn().detach()
    assert image.shape == (2, 3, 40, 56)
    assert params[0].requires_grad and params[0].shape == (2, 3, 40, 29, 2)
    assert 0.0 < float(image.min()) and float(image.max()) < 1.0
    assert abs(float(image.mean()) - 0.5) < 0.05


def test_fourier_spectrum_favours_low_frequencies() -> None:
    # A white-noise spectrum through the 1/f scaling gives an image much smoother than pixel noise.
    def roughness(img: torch.Tensor) -> float:
        img = img.detach()
        return float((img[..., 1:, :] - img[..., :-1, :]).abs().mean() / img.std())

    gen = torch.Generator().manual_seed(0)
    with torch.no_grad():
        fourier = spatial.fourier_image(1, 64, 64, generator=gen)[1]()
        pixels = pixel.pixel_image(1, 64, 64, generator=gen)[1]()
    assert roughness(pixels) > 1.0  # about 2/sqrt(pi) for white noise
    assert roughness(fourier) < 0.7


def test_pixel_parametrisation_and_unknown_name() -> None:
    gen = torch.Generator().manual_seed(0)
    params, image_fn = param.image(1, 32, 32, VisSpec(param="pixel"), generator=gen)
    assert image_fn().shape == (1, 3, 32, 32) and params[0].shape == (1, 3, 32, 32)
    with pytest.raises(DreamerError, match="param") as caught:
        VisSpec(param="wavelet")
    assert caught.value.field == "param"


def test_every_parametrisation_has_one_leaf_and_one_row_of_defaults() -> None:
    """The dispatcher's leaves and the spec's table of defaults name the same parametrisations, in one order."""
    assert tuple(param.LEAVES) == PARAM_CHOICES == tuple(PARAM_DEFAULTS)
    for name, defaults in PARAM_DEFAULTS.items():
        spec = VisSpec(param=name)
        assert (spec.step_count, spec.learning_rate) == (defaults.steps, defaults.lr)
    assert (VisSpec(param="maco").step_count, VisSpec(param="fourier").learning_rate) == (128, 0.05)
    assert VisSpec.__dataclass_fields__["steps"].metadata["knob"].show == "128 with maco, else 256"
    assert VisSpec.__dataclass_fields__["lr"].metadata["knob"].show == "1.0 with maco, else 0.05"


def test_maco_ignores_decorrelate_and_the_others_follow_it() -> None:
    """MACO's spectrum lives in decorrelated colour, so only the Fourier and pixel leaves switch it off."""
    for name, follows in (("maco", False), ("fourier", True), ("pixel", True)):
        on, off = (
            param.image(1, 32, 32, VisSpec(param=name, decorrelate=d), generator=torch.Generator().manual_seed(0))[1]()
            for d in (True, False)
        )
        assert torch.equal(on, off) is not follows, name


def test_transforms_are_repeatable_from_the_generator() -> None:
    image = torch.rand(2, 3, 64, 64)
    t = standard_transforms()
    a = t(image, torch.Generator().manual_seed(5))
    b = t(image, torch.Generator().manual_seed(5))
    assert torch.equal(a, b) and a.shape[:2] == (2, 3)
    outs = [t(image, torch.Generator().manual_seed(s)) for s in range(20)]
    assert {o.shape[-1] for o in outs} == {76}  # 64 + 2*12 pad - 8 - 4 jitter: one size, whatever the draw
    assert len({o.numpy().tobytes() for o in outs}) > 15  # but the views really differ


def test_the_transform_scales_rotates_and_shifts_the_content() -> None:
    """A bright dot moves with the shift, and its spread follows the scale: the view really changes."""
    image = torch.full((1, 3, 64, 64), 0.5)
    image[..., 30:34, 30:34] = 1.0
    t = standard_transforms()
    centres = set()
    for s in range(30):
        out = t(image, torch.Generator().manual_seed(s))[0, 0]
        ys, xs = torch.nonzero(out > 0.75, as_tuple=True)
        assert len(ys) > 0  # the dot survives every view
        centres.add((round(float(ys.float().mean())), round(float(xs.float().mean()))))
    assert len(centres) > 8 and all(abs(y - 37.5) <= 10 and abs(x - 37.5) <= 10 for y, x in centres)


def test_per_image_gives_objective_i_to_image_i(random_model) -> None:
    objs = [channel("blocks.3", 2), channel("blocks.4", 5), channel("blocks.3", 7)]
    x = torch.rand(3, 3, 64, 64)
    combined = per_image(objs)
    assert set(combined.layers) == {"blocks.3", "blocks.4"}
    with LayerHooks(random_model, combined.layers) as run, torch.no_grad():
        acts = run(x)
        scores = combined(acts)
        expected = torch.stack([objs[i](acts)[i] for i in range(3)])
    assert scores.shape == (3,)
    assert torch.allclose(scores, expected)


def test_same_seed_same_image_other_seed_other_image(random_engine) -> None:
    (a,) = random_engine.visualize([channel("blocks.3", 1)], VisSpec(**FAST))
    (b,) = random_engine.visualize([channel("blocks.3", 1)], VisSpec(**FAST))
    (c,) = random_engine.visualize([channel("blocks.3", 1)], VisSpec(**{**FAST, "seed": 1}))
    assert a.size == (48, 48)
    assert a.tobytes() == b.tobytes()
    assert a.tobytes() != c.tobytes()
    assert a.info["dreamer"]["spec"]["seed"] == 0 and a.info["dreamer"]["cells"] == ["blocks.3:1"]


def test_batched_and_one_at_a_time_give_the_same_sheet_layout(random_engine, random_model) -> None:
    steps: list[tuple[int, int]] = []
    together = random_engine.grid(VisSpec(**FAST), layer="blocks.3", channels=[0, 1, 2, 3, 4, 5])
    apart = random_engine.grid(
        VisSpec(**FAST, batch=1),
        layer="blocks.3",
        channels=[0, 1, 2, 3, 4, 5],
        on_event=lambda e: steps.append((e.done, e.total)) if isinstance(e, Step) else None,
        preview_every=3,
    )
    assert together.size == apart.size
    assert together.info["dreamer"]["cells"] == apart.info["dreamer"]["cells"] == [f"blocks.3:{c}" for c in range(6)]
    assert steps == [(i, 18) for i in range(1, 19)]  # one 3-step optimisation per channel
    cells = [Cell(channel("blocks.3", c), str(c)) for c in range(4)]
    images = render_cells(random_model, [c.objective for c in cells], VisSpec(**FAST, batch=3), torch.Generator())
    assert [im.size for im in images] == [(48, 48)] * 4
    assert all(p.grad is None for p in random_model.net.parameters())


def test_layers_give_one_row_per_layer(random_engine, random_model) -> None:
    cells, columns = grid_cells(random_model, layers=["blocks.1", "blocks.3", "blocks.5"], channels=[0, 2, 4])
    assert columns == 3
    assert [c.label for c in cells[:4]] == ["blocks.1:0", "blocks.1:2", "blocks.1:4", "blocks.3:0"]
    sheet = random_engine.grid(VisSpec(**FAST), layers=["blocks.1", "blocks.3"], channels=[0, 1, 2])
    assert sheet.size == (3 * (48 + 4) + 4, 2 * (48 + 14 + 4) + 4)


def test_grid_argument_errors(random_model, cat: Path) -> None:
    with pytest.raises(DreamerError, match="exactly one"):
        grid_cells(random_model, layer="blocks.3", classes=["goldfish"])
    with pytest.raises(DreamerError, match="^top needs photo"):
        grid_cells(random_model, layer="blocks.3", top=4)
    with pytest.raises(DreamerError, match="no layer 'blocks.33'"):
        grid_cells(random_model, layer="blocks.33")
    with pytest.raises(DreamerError, match="^top 99"):
        top_channels(random_model, cat, "blocks.1", 99)


def test_class_names_with_suggestions(random_model) -> None:
    assert class_index(random_model, "Goldfish") == 1
    assert class_index(random_model, "school bus") == 779
    assert class_index(random_model, "1") == 1
    with pytest.raises(DreamerError, match="did you mean goldfish"):
        class_index(random_model, "goldfsh")


def test_tidy_columns() -> None:
    assert [tidy_columns(n) for n in (1, 4, 10, 12, 16, 7)] == [1, 2, 5, 4, 4, 4]


def test_top_channels_are_the_strongest_on_the_photo(real_model, cat: Path) -> None:
    top = top_channels(real_model, cat, "blocks.4", 5)
    with LayerHooks(real_model, ["blocks.4"]) as run, torch.no_grad():
        means = run(to_tensor(Image.open(cat)))["blocks.4"][0].mean((1, 2))
    assert len(set(top)) == 5
    assert float(means[top].min()) >= float(means.sort(descending=True).values[8])


@pytest.mark.slow
def test_optimising_a_channel_raises_it_above_the_other_channels(real_model) -> None:
    chans = [3, 40, 90]
    objectives = [channel("blocks.4", c) for c in chans]
    images = render_cells(
        real_model, objectives, VisSpec(size=64, steps=48, param="fourier"), torch.Generator().manual_seed(0)
    )
    x = torch.cat([to_tensor(im) for im in images])
    with LayerHooks(real_model, ["blocks.4"]) as run, torch.no_grad():
        means = run(x)["blocks.4"].mean((2, 3))  # (3, C)
    for i, c in enumerate(chans):
        others = torch.cat([means[i, :c], means[i, c + 1 :]])
        assert float(means[i, c]) > float(others.mean()) + 3 * float(others.std()), c


def _crop_and_rotate(x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """A random 85% crop of each image, rotated by up to 8 degrees (black corners), resized back."""
    out = []
    for im in x:
        s = im.shape[-1]
        c = int(0.85 * s)
        y0, x0 = torch.randint(s - c + 1, (2,), generator=generator).tolist()
        a = math.radians(float(torch.empty(1).uniform_(-8, 8, generator=generator)))
        theta = torch.tensor([[[math.cos(a), -math.sin(a), 0.0], [math.sin(a), math.cos(a), 0.0]]])
        crop = im[None, :, y0 : y0 + c, x0 : x0 + c]
        crop = F.grid_sample(crop, F.affine_grid(theta, list(crop.shape), align_corners=False), align_corners=False)
        out.append(F.interpolate(crop, size=(s, s), mode="bilinear", align_corners=False))
    return torch.cat(out)


@pytest.mark.slow
def test_class_visualisations_are_in_the_models_own_top5_on_a_transformed_copy(real_model) -> None:
    idx = [class_index(real_model, name) for name in CLASSES]
    objectives = [class_logit(i) for i in idx]
    images = render_cells(
        real_model, objectives, VisSpec(size=128, steps=96, param="fourier"), torch.Generator().manual_seed(0)
    )
    x = _crop_and_rotate(torch.cat([to_tensor(im) for im in images]), torch.Generator().manual_seed(1))
    with torch.no_grad():
        top5 = real_model.net(real_model.prepare(x)).topk(5, dim=1).indices
    hits = [i in row for i, row in zip(idx, top5.tolist(), strict=True)]
    assert sum(hits) >= 8, dict(zip(CLASSES, hits, strict=True))


@pytest.fixture()
def runner(monkeypatch: pytest.MonkeyPatch, random_model) -> CliRunner:
    """Feature-visualisation commands use the random-weight model: mechanics only."""
    monkeypatch.setattr(Engine, "model", lambda self, *args, **kwargs: random_model)
    return CliRunner()


def test_cli_grid_writes_a_labelled_png_with_metadata(runner: CliRunner, tmp_path: Path) -> None:
    out = tmp_path / "grid.png"
    args = ["grid", "--layer", "blocks.3", "--channels", "0-3,9", "--size", "40", "--steps", "2", "--seed", "4"]
    result = runner.invoke(cli, [*args, "-o", str(out), "-q"])
    assert result.exit_code == 0, result.output
    meta = read_metadata(out)
    assert meta["cells"] == ["blocks.3:0", "blocks.3:1", "blocks.3:2", "blocks.3:3", "blocks.3:9"]
    assert meta["spec"]["seed"] == 4 and meta["spec"]["size"] == 40 and meta["kind"] == "grid"
    assert Image.open(out).size == (5 * 44 + 4, 40 + 14 + 8)  # 5 columns, 1 row


def test_cli_grid_top_channels_of_a_photo_and_classes(runner: CliRunner, tmp_path: Path, cat: Path) -> None:
    out = tmp_path / "top.png"
    fast = ["--size", "32", "--steps", "1", "-q"]
    result = runner.invoke(
        cli, ["grid", "--layer", "blocks.2", "--top", "4", "--photo", str(cat), *fast, "-o", str(out)]
    )
    assert result.exit_code == 0, result.output
    assert len(read_metadata(out)["cells"]) == 4
    result = runner.invoke(cli, ["grid", "--classes", "goldfish, daisy", *fast, "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert read_metadata(out)["cells"] == ["goldfish", "daisy"]


def test_cli_grid_errors_are_one_line(runner: CliRunner, tmp_path: Path) -> None:
    out = tmp_path / "g.png"
    result = runner.invoke(cli, ["grid", "--classes", "goldfsh", "-o", str(out)])
    assert result.exit_code == 1
    assert result.output.strip() == "Error: --classes: unknown class 'goldfsh'; did you mean goldfish, goldfinch?"
    result = runner.invoke(cli, ["grid", "--layer", "blocks.3", "--size", "8", "-o", str(out)])
    assert result.exit_code == 1 and "--size must be at least 32" in result.output
    result = runner.invoke(cli, ["grid", "--layer", "blocks.3", "--channels", "5-2", "-o", str(out)])
    assert result.exit_code == 1 and "--channels" in result.output
    assert not out.exists()


def test_cli_maps_puts_each_heat_map_beside_its_visualisation(runner: CliRunner, cat: Path, tmp_path: Path) -> None:
    result = runner.invoke(cli, ["maps", str(cat), "--layer", "blocks.3", "--top", "3", "--size", "40", "--steps", "1"])
    assert result.exit_code == 0, result.output
    out = cat.with_name("cat_maps.png")
    meta = read_metadata(out)
    assert len(meta["channels"]) == 3 and meta["layer"] == "blocks.3"
    w, h = Image.open(cat).size
    pair_w = round(40 * w / h) + 2 + 40
    assert Image.open(out).size == (3 * (pair_w + 4) + 4, 40 + 14 + 8)


def test_maps_rejects_a_channel_out_of_range(random_engine, cat: Path) -> None:
    with pytest.raises(DreamerError, match="channel 500 out of range"):
        random_engine.maps(cat, "blocks.3", VisSpec(**FAST), channels=[1, 500])


@pytest.mark.slow
def test_the_engines_bf16_grid_still_raises_each_channel_above_the_rest(real_model) -> None:
    """The engine's fast path (bf16, as auto picks on CPUs with native bf16) keeps what fp32 showed."""
    engine = Engine(device="cpu", precision="bf16")
    engine.use(real_model)
    chans = [3, 40, 90]
    images = engine.visualize(
        [channel("blocks.4", c) for c in chans], VisSpec(param="fourier", size=64, steps=48, seed=0)
    )
    assert engine.model("lite0").precision == "bf16"
    x = torch.cat([to_tensor(im) for im in images])
    with LayerHooks(real_model, ["blocks.4"]) as run, torch.no_grad():  # judged by the fp32 model
        means = run(x)["blocks.4"].mean((2, 3))
    for i, c in enumerate(chans):
        others = torch.cat([means[i, :c], means[i, c + 1 :]])
        assert float(means[i, c]) > float(others.mean()) + 3 * float(others.std()), c
