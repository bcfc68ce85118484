"""Caricatures: the score's math, layer parsing, the engine's run, the CLI and the notebook function."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from click.testing import CliRunner
from PIL import Image

import dreamer
from dreamer.cli import cli
from dreamer.engine.events import Started, Step
from dreamer.errors import DreamerError
from dreamer.featvis.caricature import caricature_score, parse_layers, total_score
from dreamer.outputs.metadata import read_metadata
from dreamer.spec.specs import VisSpec

FAST = VisSpec(size=32, steps=2, seed=0)


def test_the_score_is_one_for_the_photo_and_rewards_going_further_in_its_direction() -> None:
    a0 = torch.rand(1, 5, 3, 4) + 0.1
    assert float(caricature_score(a0, a0, 2.0)) == pytest.approx(1.0)
    assert float(caricature_score(3 * a0, a0, 2.0)) == pytest.approx(3.0)  # amplified: dot grows, cos stays 1
    # one position, known numbers: a = (1, 1), a0 = (1, 0): dot 1, cos 1/sqrt(2), |a0|^2 1
    a, t = torch.tensor([1.0, 1.0]).view(1, 2, 1, 1), torch.tensor([1.0, 0.0]).view(1, 2, 1, 1)
    assert float(caricature_score(a, t, 2.0)) == pytest.approx(0.5)
    assert float(caricature_score(a, t, 1.0)) == pytest.approx(2**-0.5)
    # pointing away: the cosine is clamped at 0.1, so the negative dot counts at 0.1 ** p, never flips sign
    assert float(caricature_score(-t, t, 2.0)) == pytest.approx(-0.01)
    both = total_score({"x": a, "y": a0}, {"x": t, "y": a0}, (("x", 2.0), ("y", 0.5)), 2.0)
    assert float(both) == pytest.approx(2 * 0.5 + 0.5)


def test_layers_parse_with_weights_and_bad_ones_are_one_line_errors() -> None:
    assert parse_layers(["blocks.4", "blocks.2:0.3"]) == (("blocks.4", 1.0), ("blocks.2", 0.3))
    for bad in ("blocks.4[3]", "blocks.4:-1", "blocks.4:0", "4x"):
        with pytest.raises(DreamerError, match="caricature layer|weight must") as info:
            parse_layers([bad])
        assert info.value.field == "caricature_layers" and "\n" not in str(info.value)


def test_the_engine_runs_a_caricature_through_its_loop_and_records_it(random_engine, cat_image) -> None:
    events: list = []
    out = random_engine.caricature(cat_image, FAST.replace(param="fourier"), on_event=events.append)
    assert out.size == (32, 21)  # the photo's shape, longer side ``size``
    assert [e.total for e in events if isinstance(e, Started)] == [2] and len(
        [e for e in events if isinstance(e, Step)]
    ) == 2
    meta = out.info["dreamer"]
    assert meta["kind"] == "caricature" and meta["spec"]["caricature_layers"] == ["blocks.4"]  # the default, as used
    assert set(meta["scores"]) == {"caricature", "cos blocks.4"}


def test_the_caricature_climbs_toward_the_photo(random_engine, cat_image) -> None:
    spec = VisSpec(size=48, steps=24, seed=0, caricature_layers=("blocks.2",))
    scores: list[float] = []
    random_engine.caricature(
        cat_image, spec, on_event=lambda e: scores.append(e.score) if isinstance(e, Step) else None
    )
    assert sum(scores[-4:]) > 2 * sum(scores[:4])


def test_cli_writes_a_png_with_its_settings(use_random_model, cat: Path, tmp_path: Path) -> None:
    out = tmp_path / "c.png"
    args = ["caricature", str(cat), "-l", "blocks.3", "-l", "blocks.2:0.5", "--power", "1", "--size", "32"]
    result = CliRunner().invoke(cli, [*args, "--steps", "1", "--seed", "3", "-o", str(out)])
    assert result.exit_code == 0, result.output
    meta = read_metadata(out)
    assert meta["kind"] == "caricature" and meta["photo"] == "cat.png" and meta["spec"]["seed"] == 3
    assert meta["spec"]["caricature_layers"] == ["blocks.3", "blocks.2:0.5"] and meta["spec"]["caricature_power"] == 1
    assert Image.open(out).size == (32, 21)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["missing.png"], "missing.png: no such file"),
        (["CAT", "-l", "blocks.99"], "--layer: model lite0 has no layer 'blocks.99'"),
        (["CAT", "-l", "blocks.4:x"], "--layer 'blocks.4:x': a caricature layer is LAYER[:WEIGHT]"),
        (["CAT", "--power", "-1"], "--power"),
    ],
)
def test_cli_bad_input_is_one_line_and_writes_nothing(
    use_random_model, cat: Path, tmp_path: Path, args: list[str], message: str
) -> None:
    out = tmp_path / "c.png"
    argv = [str(cat) if a == "CAT" else str(tmp_path / a) if a.endswith(".png") else a for a in args]
    result = CliRunner().invoke(cli, ["caricature", *argv, "--size", "32", "--steps", "1", "-o", str(out)])
    assert result.exit_code != 0 and message in result.output, result.output
    assert len(result.output.strip().splitlines()) == 1 and not out.exists()


def test_the_notebook_function_takes_layers_and_power(random_engine, cat_image) -> None:
    out = dreamer.caricature(
        cat_image,
        layers=["blocks.3:2"],
        power=1.0,
        engine=random_engine,
        progress=False,
        **{"size": 32, "steps": 1, "seed": 0},
    )
    assert out.info["dreamer"]["spec"]["caricature_layers"] == ["blocks.3:2"]
    assert out.info["dreamer"]["spec"]["caricature_power"] == 1.0
