"""MACO, diversity, transparency, accentuation, and transfer of class images to another network."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from click.testing import CliRunner
from PIL import Image

import dreamer
from dreamer.cli import cli
from dreamer.core.objectives import channel, class_logit, neuron
from dreamer.core.tensors import to_tensor
from dreamer.engine.engine import Engine
from dreamer.errors import DreamerError
from dreamer.featvis import param
from dreamer.featvis.accent import accentuate, default_accent_layer
from dreamer.featvis.alpha import importance_alpha, on_checkerboard
from dreamer.featvis.cells import class_index
from dreamer.featvis.diversity import gram_similarity
from dreamer.featvis.optimize import render_cells
from dreamer.featvis.param import maco
from dreamer.featvis.param.color import COLOR
from dreamer.nets.hooks import LayerHooks
from dreamer.nets.lite0 import STAGES, scaled_stages
from dreamer.outputs.metadata import read_metadata
from dreamer.samples import sample_path
from dreamer.spec.specs import VisSpec

# Ten classes of different kinds: animals, plants, food, objects, scenes.
CLASSES = ["goldfish", "flamingo", "jellyfish", "daisy", "lemon", "pizza", "volcano", "monarch", "strawberry", "castle"]


def _batch(images: list[Image.Image]) -> torch.Tensor:
    return torch.cat([to_tensor(im.convert("RGB")) for im in images])


def _render(model, objectives, **knobs) -> list[Image.Image]:
    return render_cells(model, objectives, VisSpec(**knobs), torch.Generator().manual_seed(0))


def test_maco_keeps_the_magnitude_and_optimises_only_the_phase() -> None:
    gen = torch.Generator().manual_seed(0)
    params, image_fn = param.image(2, 48, 64, VisSpec(param="maco", decorrelate=False), generator=gen)
    (phase,) = params
    assert phase.shape == (2, 3, 48, 33)
    x = image_fn()
    assert x.shape == (2, 3, 48, 64) and 0 <= float(x.detach().min()) and float(x.detach().max()) <= 1
    x.mean().backward()
    assert phase.grad is not None and float(phase.grad.abs().sum()) > 0
    # Undo the sigmoid and the colour mixing: the spectra of the two images have one magnitude, up to scale.
    inverse = torch.linalg.inv(COLOR)
    t = torch.einsum("bchw,dc->bdhw", torch.logit(image_fn().detach().double(), eps=1e-12), inverse.double())
    mags = torch.fft.rfft2(t).abs()
    ratio = (mags[0] / mags[1])[:, :, 1:-1]  # the DC and Nyquist columns are constrained to be real
    assert float(ratio.std() / ratio.mean()) < 1e-3
    expected = maco.resample(maco.load_spectrum("natural"), 48, 64)[:, :, 1:-1].double()
    assert float(torch.corrcoef(torch.stack([mags[0, :, :, 1:-1].flatten(), expected.flatten()]))[0, 1]) > 0.999


def test_spectrum_sources(tmp_path: Path) -> None:
    natural = maco.load_spectrum("natural")
    assert natural.shape == (3, maco.SPECTRUM_SIDE, maco.SPECTRUM_SIDE // 2 + 1)
    low, high = float(natural[0, 1, 1]), float(natural[0, 40, 40])
    assert low > 5 * high  # natural photos: energy falls with frequency
    fit = maco.load_spectrum("powerlaw")
    keep = natural > 0
    assert float(torch.corrcoef(torch.stack([natural[keep].log(), fit[keep].log()]))[0, 1]) > 0.9
    Image.open(sample_path("coffee")).convert("RGB").resize((96, 64)).save(tmp_path / "a.png")
    own = maco.load_spectrum(str(tmp_path))
    assert own.shape == natural.shape and float(own[0, 1, 1]) > float(own[0, 40, 40])
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(DreamerError, match="no photos"):
        maco.load_spectrum(str(empty))
    with pytest.raises(DreamerError, match="not 'natural', 'powerlaw' or a folder"):
        maco.load_spectrum(str(tmp_path / "missing"))


def test_lite_scaling_gives_lite0_unchanged_and_lite2s_widths() -> None:
    assert scaled_stages() == STAGES
    lite2 = scaled_stages(1.1, 1.2)
    assert [s[5] for s in lite2] == [16, 24, 48, 88, 120, 208, 352]
    assert [s[1] for s in lite2] == [1, 3, 3, 4, 4, 5, 1]


def test_the_judge_recognises_a_real_photo() -> None:
    from dreamer.featvis.judge import top5_hits
    from dreamer.nets.registry import get_model

    judge = get_model("lite1", device="cpu", precision="fp32")
    cat = to_tensor(Image.open(sample_path("chelsea")).convert("RGB"))
    hits = top5_hits(judge, cat, [285], n=4)  # 285: Egyptian cat
    assert hits == [1.0]


def test_importance_alpha_is_high_where_the_importance_is() -> None:
    imp = torch.rand(1, 1, 40, 40) * 0.01
    imp[..., 4:28, 4:28] += 1.0  # 36% of the image: above the 80th percentile
    a = importance_alpha(imp)
    assert float(a[..., 8:24, 8:24].min()) > 0.99 and float(a[..., 34:, 34:].max()) < 0.1


def test_alpha_follows_the_gradient_of_a_corner_neuron(random_model) -> None:
    (im,) = _render(
        random_model, [neuron("blocks.2", 3, 1, 1)], size=64, steps=4, param="fourier", transforms=False, alpha=True
    )
    assert im.mode == "RGBA"
    alpha = torch.from_numpy(np.asarray(im.getchannel("A"), dtype=np.float32))
    assert float(alpha[:20, :20].mean()) > 5 * float(alpha[40:, 40:].mean()) + 1
    preview = on_checkerboard(im)
    assert preview.mode == "RGB" and preview.getpixel((63, 63)) in ((255, 255, 255), (204, 204, 204))


@pytest.mark.slow
def test_diverse_images_of_a_channel_differ_and_each_still_excites_it(real_model) -> None:
    layer, c = "blocks.4", 29
    base = dict(size=64, steps=48, crops=2, diversity=3)
    plain = _render(real_model, [channel(layer, c)], **base, diversity_weight=0)
    diverse = _render(real_model, [channel(layer, c)], **base)
    with LayerHooks(real_model, [layer]) as run, torch.no_grad():
        a_plain, a_div = run(_batch(plain))[layer], run(_batch(diverse))[layer]
    sim_plain, sim_div = float(gram_similarity(a_plain, 3).mean()), float(gram_similarity(a_div, 3).mean())
    assert sim_div < 0.7 * sim_plain, (sim_div, sim_plain)  # measured 0.27 against 0.66
    plain_mean = float(a_plain.mean((2, 3))[:, c].mean())
    for row in a_div.mean((2, 3)):  # each image: the channel among its 10 strongest of 112, as strong as without
        assert int((row > row[c]).sum()) < 10 and float(row[c]) > 0.75 * plain_mean


@pytest.mark.slow
def test_accentuation_raises_the_target_and_stays_closer_than_plain_ascent(real_model) -> None:
    photo = to_tensor(Image.open(sample_path("chelsea")).convert("RGB").resize((144, 96)))
    objective = class_logit(class_index(real_model, "goldfish"))
    layer = default_accent_layer(real_model)
    assert layer == "blocks.2"
    config = VisSpec(steps=32, seed=0)
    w = config.accent_weight
    runs = {
        k: accentuate(real_model, photo, objective, config, layer=layer, weight=k, generator=torch.Generator())
        for k in (w, 0.0)
    }
    (_, acc), (_, plain) = runs[w], runs[0.0]
    assert acc["target"] > 3 * acc["photo_target"], acc  # goldfish logit on the cat: 4.9 -> about 33
    assert acc["distance"] < 0.7 * plain["distance"], (acc, plain)


@pytest.mark.slow
def test_class_images_transfer_to_another_network(real_model) -> None:
    """Default recipe, small: at least 8 of 10 classes in Lite1's top 5, 9 of 10 in Lite0's own."""
    from dreamer.featvis.judge import top5_hits
    from dreamer.nets.registry import get_model

    idx = [class_index(real_model, name) for name in CLASSES]
    images = _render(real_model, [class_logit(i) for i in idx], size=96, steps=64)
    x = _batch(images)
    own = top5_hits(real_model, x, idx, n=4)
    judged = top5_hits(get_model("lite1", device="cpu", precision="fp32"), x, idx, n=4)
    # 9 of 10, not all: on another CPU's numerics (this machine after a restart) castle fell out of Lite0's top 5.
    assert sum(h >= 0.5 for h in own) >= 9, dict(zip(CLASSES, own, strict=True))
    assert sum(h >= 0.5 for h in judged) >= 8, dict(zip(CLASSES, judged, strict=True))


@pytest.fixture()
def runner(monkeypatch: pytest.MonkeyPatch, random_model) -> CliRunner:
    """Commands use the random-weight model: mechanics only."""
    monkeypatch.setattr(Engine, "model", lambda self, *args, **kwargs: random_model)
    return CliRunner()


def test_cli_grid_alpha_and_diversity(runner: CliRunner, tmp_path: Path) -> None:
    out = tmp_path / "g.png"
    args = ["grid", "--layer", "blocks.3", "--channels", "0,1", "--size", "32", "--steps", "2", "--seed", "1"]
    result = runner.invoke(cli, [*args, "--param", "maco", "--diversity", "2", "--alpha", "-o", str(out), "-q"])
    assert result.exit_code == 0, result.output
    sheet, rgba = Image.open(out), Image.open(tmp_path / "g_rgba.png")
    assert sheet.mode == "RGB" and rgba.mode == "RGBA" and sheet.size == rgba.size == (2 * 36 + 4, 2 * 50 + 4)
    meta = read_metadata(out)
    assert meta["spec"]["diversity"] == 2 and meta["spec"]["alpha"] is True and meta["spec"]["param"] == "maco"


def test_library_visualize_with_alpha_gives_rgba(random_engine) -> None:
    fast = dict(engine=random_engine, size=32, seed=0, progress=False)
    im = dreamer.visualize(channel("blocks.3", 2), steps=2, alpha=True, **fast)
    assert im.mode == "RGBA" and im.size == (32, 32)
    sheet = dreamer.grid(layer="blocks.3", channels=[0], steps=1, diversity=3, **fast)
    assert sheet.size == (3 * 36 + 4, 32 + 14 + 8)
    row = dreamer.visualize(channel("blocks.3", 2), steps=1, diversity=2, **fast)
    assert row.size == (2 * 36 + 4, 32 + 14 + 8)


def test_cli_accent_writes_the_photo_accentuated(runner: CliRunner, cat: Path, tmp_path: Path) -> None:
    out = tmp_path / "a.png"
    fast = ["--size", "48", "--steps", "2", "--seed", "0", "-o", str(out)]
    result = runner.invoke(cli, ["accent", str(cat), "--channel", "blocks.4:3", *fast])
    assert result.exit_code == 0, result.output
    meta = read_metadata(out)
    assert meta["kind"] == "accent" and meta["spec"]["accent_layer"] == "blocks.2"
    assert Image.open(out).size == (48, 32)
    result = runner.invoke(cli, ["accent", str(cat), *fast])
    assert result.exit_code == 1 and "give exactly one of --channel" in result.output
    result = runner.invoke(cli, ["accent", str(cat), "--channel", "blocks.4", *fast])
    assert result.exit_code == 1 and result.output.strip().startswith("Error: --channel: cannot read")


def test_accent_with_zero_steps_announces_zero_and_leaves_the_photo(random_engine, cat_image) -> None:
    from dreamer.engine.events import Started, Step

    events: list = []
    spec = VisSpec(size=32, steps=0, seed=0)
    out = random_engine.accent(cat_image, channel("blocks.4", 3), spec, on_event=events.append)
    assert [e.total for e in events if isinstance(e, Started)] == [0]
    assert not [e for e in events if isinstance(e, Step)] and out.info["dreamer"]["spec"]["steps"] == 0
