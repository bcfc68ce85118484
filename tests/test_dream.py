"""Hooks, objectives, the ascent step and the octave loop."""

from __future__ import annotations

from collections import Counter

import pytest
import torch

from dreamer.core.ascent import ascent_step, image_gradient, tile_boxes
from dreamer.core.objectives import layer, parse_channels, parse_spec, parse_specs
from dreamer.core.octaves import MIN_SIDE, octave_sizes
from dreamer.errors import DreamerError, DreamerWarning
from dreamer.nets.hooks import LayerHooks
from dreamer.outputs.images import to_tensor
from dreamer.spec.config import DreamConfig


def test_forward_stops_at_the_deepest_requested_layer(random_model) -> None:
    calls: Counter[str] = Counter()
    handles = [
        m.register_forward_hook(lambda *_a, n=n: calls.update([n])) for n, m in random_model.net.named_modules() if n
    ]
    try:
        with LayerHooks(random_model, ["blocks.2", "blocks.4"]) as run:
            acts = run(torch.rand(1, 3, 64, 64))
    finally:
        for h in handles:
            h.remove()
    assert set(acts) == {"blocks.2", "blocks.4"}
    assert calls["blocks.4"] == 1 and calls["blocks.3.0.conv_pw"] == 1
    for later in ("blocks.5", "blocks.5.0.conv_pw", "blocks.6", "conv_head", "bn2", "classifier"):
        assert calls[later] == 0, later


def test_hooks_are_removed_after_a_render_that_raised(random_dreamer, cat_image) -> None:
    net = random_dreamer.model("lite0").net

    def boom(octave: int, step: int, image) -> None:
        raise RuntimeError("stop here")

    with pytest.raises(RuntimeError, match="stop here"):
        random_dreamer.dream(cat_image, steps=2, octaves=1, progress=False, callback=boom)
    assert all(not m._forward_hooks for m in net.modules())


def test_parameters_get_no_gradient(random_dreamer, cat_image) -> None:
    random_dreamer.dream(cat_image, steps=2, octaves=2, progress=False, seed=0)
    assert all(p.grad is None and not p.requires_grad for p in random_dreamer.model("lite0").net.parameters())


def test_objective_rises_over_the_steps_on_the_bundled_model(real_model, cat_image) -> None:
    objective = layer("blocks.4")
    image = to_tensor(cat_image.resize((128, 96)))
    gen = torch.Generator().manual_seed(0)
    with LayerHooks(real_model, objective.layers) as run:
        with torch.no_grad():
            before = float(objective(run(image)))
        for _ in range(10):
            ascent_step(run, objective, image, step_size=0.015, jitter=16, generator=gen)
        with torch.no_grad():
            after = float(objective(run(image)))
    assert after > 1.5 * before
    assert 0.0 <= float(image.min()) and float(image.max()) <= 1.0  # clamped in place


def test_same_seed_same_image_other_seed_other_image(random_dreamer, cat_image) -> None:
    a = random_dreamer.dream(cat_image, steps=3, octaves=2, seed=7, progress=False)
    b = random_dreamer.dream(cat_image, steps=3, octaves=2, seed=7, progress=False)
    c = random_dreamer.dream(cat_image, steps=3, octaves=2, seed=8, progress=False)
    assert a.tobytes() == b.tobytes()
    assert a.tobytes() != c.tobytes()


def test_octave_sizes_shrink_by_the_scale_smallest_first() -> None:
    assert octave_sizes(280, 560, 3, 1.4) == [(143, 286), (200, 400), (280, 560)]


def test_too_small_for_the_octaves_drops_octaves_with_a_warning() -> None:
    with pytest.warns(DreamerWarning, match="too small for 6 octaves"):
        sizes = octave_sizes(64, 64, 6, 1.4)
    assert min(sizes[0]) >= MIN_SIDE and sizes[-1] == (64, 64)


@pytest.mark.parametrize("size", [(1, 1), (3, 500), (5000, 3)])
def test_tiny_and_thin_images_dream_without_crashing(random_dreamer, size) -> None:
    from PIL import Image

    with pytest.warns(DreamerWarning):
        out = random_dreamer.dream(Image.new("RGB", size, "gray"), steps=1, octaves=3, progress=False, max_side=256)
    assert out.size == size


def test_callback_sees_every_step_and_returns_same_size(random_dreamer, cat_image) -> None:
    seen = []
    out = random_dreamer.dream(
        cat_image, steps=2, octaves=2, progress=False, callback=lambda o, s, im: seen.append((o, s, im.size))
    )
    assert [(o, s) for o, s, _ in seen] == [(0, 0), (0, 1), (1, 0), (1, 1)]
    assert seen[-1][2] == cat_image.size and out.size == cat_image.size


def test_tiles_cover_every_pixel_exactly_once() -> None:
    cover = torch.zeros(300, 520)
    for y0, y1, x0, x1 in tile_boxes(300, 520, 128):
        assert y1 - y0 <= 128 and x1 - x0 <= 128
        cover[y0:y1, x0:x1] += 1
    assert torch.equal(cover, torch.ones(300, 520))


def test_channels_last_gives_the_same_gradient(random_model) -> None:
    objective = layer("blocks.3")
    image = torch.rand(1, 3, 96, 96)
    with LayerHooks(random_model, objective.layers) as run:
        fast, _ = image_gradient(run, objective, image)
    random_model.channels_last = False
    random_model.net.to(memory_format=torch.contiguous_format)
    try:
        with LayerHooks(random_model, objective.layers) as run:
            plain, _ = image_gradient(run, objective, image)
    finally:
        random_model.channels_last = True
        random_model.net.to(memory_format=torch.channels_last)
    cos = torch.nn.functional.cosine_similarity(fast.flatten(), plain.flatten(), dim=0)
    assert cos > 0.9999
    assert torch.allclose(fast, plain, rtol=1e-3, atol=1e-6 * float(plain.abs().max()))


def test_specs_parse_weights_channels_and_negation() -> None:
    acts = {"a": torch.arange(2 * 4 * 1 * 1, dtype=torch.float).view(2, 4, 1, 1)}
    assert parse_spec("a").layers == ("a",)
    assert torch.allclose(parse_spec("a[1,3]")(acts), torch.tensor([(1 + 9) / 2, (25 + 49) / 2]))
    assert torch.allclose(parse_spec("a:-0.5")(acts), -0.5 * layer("a")(acts))
    assert torch.allclose(parse_spec("-a")(acts), -layer("a")(acts))
    both = parse_specs(["a[0]", "a[1]:2"])
    assert torch.allclose(both(acts), torch.tensor([0 + 2 * 1, 16 + 2 * 25.0]))
    assert parse_channels("3,5-7, 9") == [3, 5, 6, 7, 9]


@pytest.mark.parametrize("bad", ["", "blocks.4[", "blocks.4:x", "blocks.4[3-1]", "4blocks", "blocks.4[a]", "a b"])
def test_malformed_specs_are_clear_errors(bad: str) -> None:
    with pytest.raises(DreamerError, match="--layer"):
        parse_specs([bad])


def test_channel_out_of_range_names_the_layer(random_dreamer, cat_image) -> None:
    with pytest.raises(DreamerError, match=r"blocks.4: channel 500 out of range .*0-111"):
        random_dreamer.dream(cat_image, layers=("blocks.4[500]",), steps=1, octaves=1, progress=False)


def test_config_rejects_bad_values_naming_the_option() -> None:
    with pytest.raises(DreamerError, match="--octave-scale"):
        DreamConfig(octave_scale=0.9)
    with pytest.raises(DreamerError, match="--steps"):
        DreamConfig(steps=-1)
