"""Artist controls: objectives that compose, guides, smoothing, colours, masks, strength, tiling."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from click.testing import CliRunner
from PIL import Image

from dreamer.cli import cli
from dreamer.core.ascent import ascent_step, image_gradient, tile_boxes
from dreamer.core.blend import rgb_to_ycbcr, ycbcr_to_rgb
from dreamer.core.objectives import Objective, channel, guide, layer, neuron, parse_spec
from dreamer.core.smoothing import cascade_smooth, gaussian_blur, laplacian_normalize, smooth_gradient
from dreamer.core.tensors import to_tensor
from dreamer.engine import Engine
from dreamer.errors import DreamerError
from dreamer.nets.hooks import LayerHooks
from dreamer.outputs.metadata import read_metadata
from dreamer.samples import sample_path
from dreamer.spec.specs import DreamSpec

FAST = {"steps": 2, "octaves": 2, "seed": 3}


def _ascend(model, objective: Objective, image: torch.Tensor, steps: int = 8) -> torch.Tensor:
    """Run ``steps`` plain ascent steps on a copy of ``image``."""
    image = image.clone()
    gen = torch.Generator().manual_seed(0)
    with LayerHooks(model, objective.layers) as run:
        for _ in range(steps):
            ascent_step(run, objective, image, step_size=0.015, jitter=8, generator=gen, smooth="none")
    return image


def _acts(model, name: str, image: torch.Tensor) -> torch.Tensor:
    with LayerHooks(model, [name]) as run, torch.no_grad():
        return run(image)[name]


@pytest.fixture()
def small_cat(cat_image) -> torch.Tensor:
    """The cat at 128x96 as a tensor."""
    return to_tensor(cat_image.resize((128, 96)))


# --- objectives -----------------------------------------------------------------------------------


def test_channel_objective_raises_its_channel_more_than_the_others(real_model, small_cat) -> None:
    c = 17
    before = _acts(real_model, "blocks.4", small_cat).mean(dim=(0, 2, 3))
    after = _acts(real_model, "blocks.4", _ascend(real_model, channel("blocks.4", c), small_cat)).mean(dim=(0, 2, 3))
    rise = after - before
    others = torch.cat([rise[:c], rise[c + 1 :]])
    assert rise[c] > 0.5
    assert rise[c] > others.max()  # the target channel rose more than every other channel


def test_neuron_objective_raises_its_position_more_than_the_rest_of_its_channel(real_model, small_cat) -> None:
    objective = parse_spec("blocks.4[17]@center")
    before = _acts(real_model, "blocks.4", small_cat)[0, 17]
    after = _acts(real_model, "blocks.4", _ascend(real_model, objective, small_cat))[0, 17]
    h, w = after.shape
    rise = after - before
    assert rise[h // 2, w // 2] > 0.5
    assert rise[h // 2, w // 2] > 3 * rise.mean()


def test_negative_weight_lowers_its_target(real_model, small_cat) -> None:
    target = layer("blocks.3")
    before = float(target(_acts_dict(real_model, small_cat)))
    after = float(target(_acts_dict(real_model, _ascend(real_model, -1.0 * target, small_cat))))
    assert after < 0.8 * before


def _acts_dict(model, image: torch.Tensor) -> dict[str, torch.Tensor]:
    with LayerHooks(model, ["blocks.3"]) as run, torch.no_grad():
        return run(image)


def test_weighted_difference_combines_its_parts() -> None:
    acts = {"a": torch.arange(8, dtype=torch.float).view(2, 4, 1, 1)}
    combo = layer("a") + 0.5 * channel("a", 1) - neuron("a", 3)
    want = layer("a")(acts) + 0.5 * acts["a"][:, 1, 0, 0] - acts["a"][:, 3, 0, 0]
    assert torch.allclose(combo(acts), want)
    assert combo.layers == ("a",)


def test_neuron_specs_parse() -> None:
    acts = {"a": torch.arange(2 * 2 * 3 * 5, dtype=torch.float).view(2, 2, 3, 5)}
    assert torch.allclose(parse_spec("a[1]@center")(acts), acts["a"][:, 1, 1, 2])
    assert torch.allclose(parse_spec("a[1]@2,4:0.5")(acts), 0.5 * acts["a"][:, 1, 2, 4])
    assert torch.allclose(parse_spec("-a[0]@0,0")(acts), -acts["a"][:, 0, 0, 0])


@pytest.mark.parametrize(
    ("spec", "message"),
    [("a@center", "exactly one channel"), ("a[1,2]@center", "exactly one channel"), ("a[1]@x", "bad neuron position")],
)
def test_bad_neuron_specs_name_the_layer_option(spec: str, message: str) -> None:
    with pytest.raises(DreamerError, match=f"^layers .*{message}"):
        parse_spec(spec)


def test_neuron_outside_the_layer_is_a_clear_error() -> None:
    with pytest.raises(DreamerError, match="^layers a.*outside"):
        parse_spec("a[0]@9,9")({"a": torch.zeros(1, 1, 3, 3)})


# --- guide ----------------------------------------------------------------------------------------


def test_guide_objective_gradient_is_the_best_matching_guide_vector() -> None:
    features = torch.tensor([[1.0, 0.0], [0.0, 1.0]])  # (C=2, M=2): two guide vectors, e1 and e2
    act = torch.tensor([[[[3.0, 0.1]], [[1.0, 2.0]]]], requires_grad=True)  # (1, 2, 1, 2): positions (3,1), (0.1,2)
    guide("x", features.view(2, 1, 2))({"x": act}).sum().backward()
    # Position 0 matches e1 best, position 1 matches e2; each gets that vector (over 2 positions).
    assert torch.allclose(act.grad[0, :, 0, 0], torch.tensor([0.5, 0.0]))
    assert torch.allclose(act.grad[0, :, 0, 1], torch.tensor([0.0, 0.5]))


def _pooled_cosine(a: torch.Tensor, b: torch.Tensor) -> float:
    return float(F.cosine_similarity(a.mean(dim=(2, 3)), b.mean(dim=(2, 3))))


def test_guide_moves_the_dreams_features_toward_the_guides(real_engine, cat_image) -> None:
    model = real_engine.model("lite0")
    coffee = Image.open(sample_path("coffee")).convert("RGB").resize((96, 64))
    guide_feats = _acts(model, "blocks.4", to_tensor(coffee))
    image = to_tensor(cat_image.resize((128, 96)))
    guided = _ascend(model, guide("blocks.4", guide_feats[0]), image, steps=10)
    plain = _ascend(model, layer("blocks.4"), image, steps=10)
    before = _pooled_cosine(_acts(model, "blocks.4", image), guide_feats)
    after = _pooled_cosine(_acts(model, "blocks.4", guided), guide_feats)
    unguided = _pooled_cosine(_acts(model, "blocks.4", plain), guide_feats)
    assert after > before + 0.05
    assert after > unguided


def test_guide_render_records_paths_and_layer(random_engine, cat_image, tmp_path: Path) -> None:
    g = tmp_path / "guide.png"
    cat_image.transpose(Image.Transpose.FLIP_LEFT_RIGHT).save(g)
    out = random_engine.dream(cat_image, guide=str(g), **FAST)
    meta = out.info["dreamer"]["spec"]
    assert meta["guide"] == str(g) and meta["guide_layer"] == "blocks.4" and meta["layers"] == []


def test_unreadable_guide_is_a_one_line_error(random_engine, cat_image, tmp_path: Path) -> None:
    bad = tmp_path / "guide.jpg"
    bad.write_text("not an image")
    with pytest.raises(DreamerError, match="^guide .*guide.jpg: not an image"):
        random_engine.dream(cat_image, guide=str(bad), **FAST)


# --- smoothing ------------------------------------------------------------------------------------


def test_gaussian_blur_keeps_constants_and_softens_noise() -> None:
    flat = torch.full((1, 3, 20, 30), 0.7)
    assert torch.allclose(gaussian_blur(flat, 2.0), flat)
    noise = torch.randn(1, 3, 40, 40, generator=torch.Generator().manual_seed(0))
    assert float(cascade_smooth(noise, 1.0).std()) < float(cascade_smooth(noise, 0.0).std()) < float(noise.std())


def test_laplacian_normalisation_evens_out_the_frequency_bands() -> None:
    y = torch.linspace(0, 1, 64).view(1, 1, 64, 1).expand(1, 3, 64, 64)
    coarse = torch.sin(6.28 * y)  # a smooth ramp of large amplitude
    fine = 0.01 * torch.randn(1, 3, 64, 64, generator=torch.Generator().manual_seed(0))
    out = laplacian_normalize(coarse + fine)
    assert out.shape == coarse.shape
    # The faint fine detail is boosted relative to the big smooth shape.
    high = lambda t: t - gaussian_blur(t, 2.0)  # noqa: E731
    assert float(high(out).std() / out.std()) > 3 * float(high(coarse + fine).std() / (coarse + fine).std())


def test_smooth_none_is_the_identity() -> None:
    g = torch.randn(1, 3, 8, 8)
    assert smooth_gradient(g, "none") is g


# --- colours, strength, mask ----------------------------------------------------------------------


def test_ycbcr_round_trips() -> None:
    rgb = torch.rand(1, 3, 8, 8)
    assert torch.allclose(ycbcr_to_rgb(rgb_to_ycbcr(rgb)), rgb, atol=1e-5)


def test_keep_colors_keeps_the_chroma_of_the_input(random_engine, cat_image) -> None:
    out = random_engine.dream(cat_image, keep_colors=True, **FAST)
    plain = random_engine.dream(cat_image, **FAST)
    src, kept, dreamed = (rgb_to_ycbcr(to_tensor(im)) for im in (cat_image, out, plain))
    chroma_error = (kept[:, 1:] - src[:, 1:]).abs()
    assert float(chroma_error.mean()) < 0.005 and float(chroma_error.quantile(0.99)) < 0.03
    assert float((dreamed[:, 1:] - src[:, 1:]).abs().mean()) > 5 * float(chroma_error.mean())  # plain dreams shift it
    assert float((kept[:, :1] - src[:, :1]).abs().mean()) > 0.01  # the luminance was dreamed


def test_strength_blends_with_the_original(random_engine, cat_image) -> None:
    src = to_tensor(cat_image)
    full = to_tensor(random_engine.dream(cat_image, **FAST))
    half = to_tensor(random_engine.dream(cat_image, strength=0.5, **FAST))
    none = random_engine.dream(cat_image, strength=0.0, **FAST)
    assert none.tobytes() == cat_image.tobytes()
    assert torch.allclose(half, (src + full) / 2, atol=1.5 / 255)


def _half_mask(path: Path, size: tuple[int, int]) -> Path:
    """White right half, black left half."""
    m = Image.new("L", size, 0)
    m.paste(255, (size[0] // 2, 0, size[0], size[1]))
    m.save(path)
    return path


def test_mask_leaves_the_masked_out_region_unchanged(random_engine, cat_image, tmp_path: Path) -> None:
    # A mask of another size: it is resized to the image.
    mask = _half_mask(tmp_path / "mask.png", (200, 100))
    out = to_tensor(random_engine.dream(cat_image, mask=str(mask), **FAST))
    src = to_tensor(cat_image)
    w = src.shape[-1]
    edge = w // 2 - 8  # clear of the soft edge
    assert torch.equal(out[..., :edge], src[..., :edge])
    assert float((out[..., w // 2 + 8 :] - src[..., w // 2 + 8 :]).abs().mean()) > 0.02
    # Soft edge: the change ramps up across the border instead of jumping.
    change = (out - src).abs().mean(dim=(0, 1, 2))
    assert 0 < float(change[w // 2 - 1]) < float(change[w // 2 + 8 :].mean())


def test_unreadable_mask_is_a_one_line_cli_error(monkeypatch, random_model, cat: Path, tmp_path: Path) -> None:
    import dreamer.engine.engine

    monkeypatch.setattr(dreamer.engine.engine.Engine, "model", lambda self, *args, **kwargs: random_model)
    bad = tmp_path / "mask.png"
    bad.write_bytes(b"\x89PNG\r\n\x1a\n truncated")
    out = tmp_path / "o.png"
    result = CliRunner().invoke(cli, ["render", str(cat), "-o", str(out), "--mask", str(bad), "-q"])
    assert result.exit_code == 1
    assert "--mask" in result.output and "mask.png" in result.output
    assert len(result.output.strip().splitlines()) == 1
    assert not out.exists()


def test_cli_controls_land_in_the_metadata(monkeypatch, random_model, cat: Path, tmp_path: Path) -> None:
    import dreamer.engine.engine

    monkeypatch.setattr(dreamer.engine.engine.Engine, "model", lambda self, *args, **kwargs: random_model)
    mask = _half_mask(tmp_path / "m.png", (96, 64))
    out = tmp_path / "o.png"
    args = ["--smooth", "laplacian", "--keep-colors", "--strength", "0.7", "--mask", str(mask)]
    result = CliRunner().invoke(cli, ["render", str(cat), "-o", str(out), "--steps", "1", "--octaves", "1", *args])
    assert result.exit_code == 0, result.output
    meta = read_metadata(out)["spec"]
    assert (meta["smooth"], meta["keep_colors"], meta["strength"], meta["mask"]) == ("laplacian", True, 0.7, str(mask))


def test_config_rejects_bad_controls() -> None:
    with pytest.raises(DreamerError, match="strength must be at most 1"):
        DreamSpec(strength=1.5)
    with pytest.raises(DreamerError, match="smooth must be one of none, gaussian, laplacian"):
        DreamSpec(smooth="blur")


# --- tiling ---------------------------------------------------------------------------------------


def test_tiled_gradient_agrees_with_the_whole_image_gradient(real_model, cat_image) -> None:
    image = to_tensor(cat_image.resize((384, 256)))
    objective = layer("blocks.4")
    with LayerHooks(real_model, objective.layers) as run:
        whole, _ = image_gradient(run, objective, image)
        tiled, _ = image_gradient(run, objective, image, tile=256)  # 2 tiles of 192x256
    assert float(F.cosine_similarity(whole.flatten(), tiled.flatten(), dim=0)) > 0.9


def test_tiled_and_untiled_renders_agree(real_engine, cat_image) -> None:
    """Renders differ with the random roll, so compare tiling against a change of seed, on the coarse picture."""
    image = cat_image.resize((384, 256))
    src = to_tensor(image)
    settings = {"octaves": 2, "steps": 4}
    untiled = to_tensor(real_engine.dream(image, seed=1, **settings)) - src
    other_seed = to_tensor(real_engine.dream(image, seed=2, **settings)) - src
    tiled_engine = Engine(device="cpu", precision="fp32", tile=192)
    tiled_engine.use(real_engine.model("lite0"))
    tiled = to_tensor(tiled_engine.dream(image, seed=1, **settings)) - src

    def coarse_corr(a: torch.Tensor, b: torch.Tensor) -> float:
        a, b = F.avg_pool2d(a, 16).flatten(), F.avg_pool2d(b, 16).flatten()
        return float(F.cosine_similarity(a - a.mean(), b - b.mean(), dim=0))

    assert coarse_corr(untiled, tiled) > 0.8 * coarse_corr(untiled, other_seed)
    assert abs(float(tiled.abs().mean()) / float(untiled.abs().mean()) - 1) < 0.15  # as strong a dream


def test_tiled_render_has_no_seams(real_engine, cat_image) -> None:
    """The output's gradient magnitude along tile borders is not higher than elsewhere."""
    image = cat_image.resize((384, 256))
    tile = 64
    tiled_engine = Engine(device="cpu", precision="fp32", tile=tile)
    tiled_engine.use(real_engine.model("lite0"))
    out = to_tensor(tiled_engine.dream(image, seed=1, octaves=1, steps=10))
    gx = (out[..., :, 1:] - out[..., :, :-1]).abs().mean(dim=(0, 1, 2))  # per column step x-1 -> x
    gy = (out[..., 1:, :] - out[..., :-1, :]).abs().mean(dim=(0, 1, 3))
    boxes = tile_boxes(256, 384, tile)
    xs = sorted({b[2] for b in boxes} - {0})
    ys = sorted({b[0] for b in boxes} - {0})
    border = torch.cat([gx[[x - 1 for x in xs]], gy[[y - 1 for y in ys]]]).mean()
    elsewhere = torch.cat([gx, gy]).mean()
    assert float(border) < 1.1 * float(elsewhere)


def test_tiled_step_rolls_the_whole_image(random_model) -> None:
    """With tiles the roll is drawn over the whole image, not just the jitter range."""
    seen = []

    def run(image: torch.Tensor, shift: tuple[int, int] = (0, 0)) -> dict[str, torch.Tensor]:
        assert shift == (0, 0)  # tiles are cut from the rolled image; the model does not roll them again
        seen.append(image.clone())
        return {"x": image}

    image = torch.zeros(1, 3, 128, 160)
    image[..., 0, 0] = 1.0  # a marker pixel
    gen = torch.Generator().manual_seed(0)
    shifts = set()
    for _ in range(8):
        seen.clear()
        ascent_step(run, layer("x"), image.clone(), step_size=1e-9, jitter=0, generator=gen, tile=64)
        whole = torch.zeros(1, 3, 128, 160)
        for part, (y0, y1, x0, x1) in zip(seen, tile_boxes(128, 160, 64), strict=True):
            whole[..., y0:y1, x0:x1] = part
        y, x = divmod(int(whole[0, 0].argmax()), 160)
        shifts.add((y, x))
    assert len(shifts) > 4 and max(max(s) for s in shifts) > 32


def test_dream_takes_a_composed_objective_and_records_its_name(random_engine, cat_image) -> None:
    objective = layer("blocks.4") - 0.5 * layer("blocks.2") + neuron("blocks.3", 2)
    out = random_engine.dream(cat_image, objective=objective, **FAST)
    assert out.info["dreamer"]["objective"] == objective.name
    assert out.tobytes() != random_engine.dream(cat_image, **FAST).tobytes()


def test_small_octaves_run_untiled_and_large_ones_tiled() -> None:
    from dreamer.core.octaves import AUTO_TILE, auto_tile

    assert auto_tile(768, 1024, 0) == 0 and auto_tile(1024, 1024, 0) == 0  # the default work size: whole
    assert auto_tile(1100, 1100, 0) == AUTO_TILE and auto_tile(3000, 4000, 0) == AUTO_TILE
    assert auto_tile(300, 400, 128) == 128  # an explicit tile is kept


def test_a_neuron_is_named_as_the_layer_option_writes_its_position() -> None:
    """The centre reads ``@center`` (it printed ``@None,None``); a given position as Y,X."""
    from dreamer.core.objectives import neuron

    assert neuron("blocks.4", 17).name == "blocks.4:17@center"
    assert neuron("blocks.4", 17, 3, 5).name == "blocks.4:17@3,5"
