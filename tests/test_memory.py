"""Memory planning: renders tile (or refuse) to fit the memory there is; a CUDA OOM retries once."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from click.testing import CliRunner

import dreamer.core.octaves
from dreamer.cli import cli
from dreamer.core.memory import MIN_TILE, bytes_per_pixel, plan_tile
from dreamer.core.objectives import layer
from dreamer.engine.events import Warned
from dreamer.errors import DreamerError
from dreamer.nets.hooks import LayerHooks


def test_bytes_per_pixel_grows_with_depth(random_model) -> None:
    costs = []
    for name in ("blocks.1", "blocks.4"):
        objective = layer(name)
        with LayerHooks(random_model, objective.layers) as run:
            costs.append(bytes_per_pixel(run, objective, random_model.device, side=64))
    assert 0 < costs[0] < costs[1]


def test_plan_tile_untiled_when_it_fits_smaller_tiles_when_not_refuses_when_hopeless() -> None:
    per_pixel = 2000.0
    assert plan_tile(400, 400, 0, 0, per_pixel, budget=10 * 2**30) == 0
    tile = plan_tile(2000, 1500, 0, 0, per_pixel, budget=600 * 2**20)
    assert MIN_TILE <= tile < 1500
    assert plan_tile(2000, 1500, 512, 512, per_pixel, budget=10 * 2**30) == 512  # an explicit tile stays
    with pytest.raises(DreamerError, match=r"not enough memory for a 2000x1500 render.*try max_side \d+"):
        plan_tile(1500, 2000, 0, 0, per_pixel, budget=2**20)


def test_render_in_little_memory_tiles_or_refuses_with_a_size_that_fits(
    monkeypatch: pytest.MonkeyPatch, random_model, cat: Path, tmp_path: Path
) -> None:
    import dreamer.engine.engine

    monkeypatch.setattr(dreamer.engine.engine.Engine, "model", lambda self, *args, **kwargs: random_model)
    seen = []
    real = dreamer.core.octaves.ascent_step
    monkeypatch.setattr(dreamer.core.octaves, "ascent_step", lambda *a, **k: seen.append(k["tile"]) or real(*a, **k))
    from PIL import Image

    big = tmp_path / "big.png"
    Image.open(cat).resize((256, 171)).save(big)
    args = ["render", str(big), "--octaves", "1", "--steps", "1", "-q"]
    monkeypatch.setenv("DREAMER_MAX_MEMORY", "75M")  # too little for 256x171 untiled, enough for tiles
    out = tmp_path / "tiled.png"
    result = CliRunner().invoke(cli, [*args, "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert out.exists() and seen and 0 < seen[0] < 256
    monkeypatch.setenv("DREAMER_MAX_MEMORY", "1M")
    refused = tmp_path / "refused.png"
    result = CliRunner().invoke(cli, [*args, "-o", str(refused)])
    assert result.exit_code == 1 and "not enough memory" in result.output and "--max-side" in result.output
    assert len(result.output.strip().splitlines()) == 1 and not refused.exists()


def test_cuda_out_of_memory_retries_once_with_smaller_tiles(
    monkeypatch: pytest.MonkeyPatch, random_engine, cat_image
) -> None:
    calls = []
    real = dreamer.core.octaves.ascent_step

    def flaky(*args, **kwargs):
        calls.append(kwargs["tile"])
        if len(calls) == 1:
            raise torch.cuda.OutOfMemoryError("CUDA out of memory (simulated)")
        return real(*args, **kwargs)

    monkeypatch.setattr(dreamer.core.octaves, "ascent_step", flaky)
    events = []
    random_engine.dream(cat_image, octaves=1, steps=2, on_event=events.append)
    assert calls[:2] == [0, 128]
    assert [e.message for e in events if isinstance(e, Warned)] == [
        "out of GPU memory at 96x64; retrying with 128 px tiles"
    ]

    def always(*args, **kwargs):
        raise torch.cuda.OutOfMemoryError("CUDA out of memory (simulated)")

    monkeypatch.setattr(dreamer.core.octaves, "ascent_step", always)
    with pytest.raises(DreamerError, match="out of GPU memory"):
        random_engine.dream(cat_image, octaves=1, steps=2)
