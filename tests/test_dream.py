"""Hooks, objectives, the ascent step and the octave loop."""

from __future__ import annotations

from collections import Counter

import pytest
import torch

from dreamer.core.ascent import ascent_step, image_gradient, tile_boxes
from dreamer.core.objectives import layer, parse_channels, parse_spec, parse_specs
from dreamer.core.octaves import MIN_SIDE, octave_sizes
from dreamer.core.tensors import to_tensor
from dreamer.engine.events import CancelToken, Step, Warned
from dreamer.errors import Cancelled, DreamerError
from dreamer.nets.hooks import LayerHooks
from dreamer.spec.specs import DreamSpec


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


def test_hooks_are_removed_after_a_render_that_raised(random_engine, cat_image) -> None:
    net = random_engine.model("lite0").net

    def boom(event) -> None:
        if isinstance(event, Step):
            raise RuntimeError("stop here")

    with pytest.raises(RuntimeError, match="stop here"):
        random_engine.dream(cat_image, steps=2, octaves=1, on_event=boom)
    assert all(not m._forward_hooks for m in net.modules())


def test_parameters_get_no_gradient(random_engine, cat_image) -> None:
    random_engine.dream(cat_image, steps=2, octaves=2, seed=0)
    assert all(p.grad is None and not p.requires_grad for p in random_engine.model("lite0").net.parameters())


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


def test_same_seed_same_image_other_seed_other_image(random_engine, cat_image) -> None:
    a = random_engine.dream(cat_image, steps=3, octaves=2, seed=7)
    b = random_engine.dream(cat_image, steps=3, octaves=2, seed=7)
    c = random_engine.dream(cat_image, steps=3, octaves=2, seed=8)
    assert a.tobytes() == b.tobytes()
    assert a.tobytes() != c.tobytes()


def test_octave_sizes_shrink_by_the_scale_smallest_first() -> None:
    assert octave_sizes(280, 560, 3, 1.4) == [(143, 286), (200, 400), (280, 560)]


def test_too_small_for_the_octaves_drops_octaves_with_a_warning(random_engine, cat_image) -> None:
    sizes = octave_sizes(64, 64, 6, 1.4)
    assert len(sizes) < 6 and min(sizes[0]) >= MIN_SIDE and sizes[-1] == (64, 64)
    events = []
    random_engine.dream(cat_image.resize((64, 64)), steps=1, octaves=6, on_event=events.append)
    warned = [e.message for e in events if isinstance(e, Warned)]
    assert warned == [f"image is too small for 6 octaves at scale 1.4; using {len(sizes)}"]


@pytest.mark.parametrize("size", [(1, 1), (3, 500), (5000, 3)])
def test_tiny_and_thin_images_dream_without_crashing(random_engine, size) -> None:
    from PIL import Image

    events = []
    out = random_engine.dream(Image.new("RGB", size, "gray"), steps=1, octaves=3, max_side=256, on_event=events.append)
    assert out.size == size and any(isinstance(e, Warned) and "dreaming at" in e.message for e in events)


def test_events_report_every_step_with_previews_and_the_result_keeps_its_size(random_engine, cat_image) -> None:
    events = []
    out = random_engine.dream(cat_image, steps=2, octaves=2, seed=1, on_event=events.append, preview_every=1)
    kinds = [type(e).__name__ for e in events]
    assert kinds == ["Started", "Octave", "Step", "Step", "Octave", "Step", "Step", "Finished"]
    steps = [e for e in events if isinstance(e, Step)]
    assert [(e.octave, e.step, e.done, e.total) for e in steps] == [
        (0, 0, 1, 4),
        (0, 1, 2, 4),
        (1, 0, 3, 4),
        (1, 1, 4, 4),
    ]
    assert events[0].seed == 1 and events[0].total == 4
    assert all(e.preview is not None for e in steps) and steps[-1].preview.size == cat_image.size
    assert out.size == cat_image.size


def test_a_cancel_token_stops_the_run_within_one_step(random_engine, cat_image) -> None:
    token = CancelToken()
    steps = []

    def on_event(event) -> None:
        if isinstance(event, Step):
            steps.append(event)
            if event.done == 3:
                token.cancel()

    with pytest.raises(Cancelled):
        random_engine.dream(cat_image, steps=5, octaves=2, on_event=on_event, cancel=token)
    assert len(steps) == 3


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
    with pytest.raises(DreamerError, match="^layers") as info:
        parse_specs([bad])
    assert info.value.field == "layers"


def test_channel_out_of_range_names_the_layer(random_engine, cat_image) -> None:
    with pytest.raises(DreamerError, match=r"blocks.4: channel 500 out of range .*0-111"):
        random_engine.dream(cat_image, layers=("blocks.4[500]",), steps=1, octaves=1)


def test_config_rejects_bad_values_naming_the_option() -> None:
    with pytest.raises(DreamerError, match="octave_scale must be greater than 1"):
        DreamSpec(octave_scale=0.9)
    with pytest.raises(DreamerError, match="steps must be at least 0"):
        DreamSpec(steps=-1)
