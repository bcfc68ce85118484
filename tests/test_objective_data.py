"""The objective algebra as data: a Python sum of terms is recorded as layer specs, and replays exactly."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from click.testing import CliRunner
from PIL import Image

from dreamer.cli import cli
from dreamer.core.objectives import Objective, channel, class_logit, layer, neuron, parse_specs
from dreamer.engine import Engine
from dreamer.outputs.images import save_dream
from dreamer.outputs.metadata import read_metadata

FAST = {"steps": 2, "octaves": 1, "seed": 5, "max_side": 64}
EXPRESSIONS = {
    "sum": lambda: layer("blocks.3") + channel("blocks.4", 7),
    "weighted": lambda: 0.5 * layer("blocks.2", [1, 3]) - 2 * layer("blocks.4"),
    "neuron": lambda: neuron("blocks.4", 3) + 0.25 * neuron("blocks.3", 2, 1, 0),
    "class": lambda: class_logit(207) - 1e-3 * channel("blocks.5", 1),
    "constant": lambda: -(layer("blocks.1") + 3.0) * 0.1,
}


def _acts() -> dict[str, torch.Tensor]:
    gen = torch.Generator().manual_seed(0)
    shapes = {f"blocks.{i}": (2, 16, 6, 5) for i in range(1, 6)} | {"logits": (2, 1000)}
    return {name: torch.randn(shape, generator=gen) for name, shape in shapes.items()}


@pytest.mark.parametrize("name", EXPRESSIONS)
def test_terms_rebuild_the_same_objective(name: str) -> None:
    objective = EXPRESSIONS[name]()
    rebuilt = parse_specs(objective.terms)
    assert rebuilt.terms == objective.terms
    assert set(rebuilt.layers) == set(objective.layers)
    acts = _acts()
    constant = 0.1 * -3.0 if name == "constant" else 0.0  # a constant moves the score, not the gradient
    assert torch.allclose(rebuilt(acts) + constant, objective(acts), atol=1e-5)


def test_a_function_objective_has_no_terms() -> None:
    mine = Objective(lambda a: a["blocks.4"].mean((1, 2, 3)), ["blocks.4"], "mine")
    assert mine.terms is None and (mine + layer("blocks.3")).terms is None and (2 * mine).terms is None


@pytest.fixture()
def runner(monkeypatch: pytest.MonkeyPatch, random_model) -> CliRunner:
    monkeypatch.setattr(Engine, "model", lambda self, *args, **kwargs: random_model)
    return CliRunner()


def test_a_python_objective_replays_exactly_on_another_photo(
    runner: CliRunner, random_engine: Engine, photos: Path, tmp_path: Path
) -> None:
    objective = layer("blocks.3") + 0.5 * channel("blocks.4", 7)
    made = save_dream(random_engine.dream(photos / "chelsea.png", objective=objective, **FAST), tmp_path / "a.png")
    meta = read_metadata(made)
    assert meta["spec"]["layers"] == ["blocks.3", "blocks.4[7]@mean:0.5"]  # what was optimised, not the default
    assert meta["replayable"] is True
    out = tmp_path / "b.png"
    result = runner.invoke(cli, ["render", str(photos / "coffee.png"), "-o", str(out), "--replay", str(made), "-q"])
    assert result.exit_code == 0, result.output
    assert read_metadata(out)["spec"]["layers"] == meta["spec"]["layers"]
    direct = random_engine.dream(photos / "coffee.png", objective=objective, **FAST)
    assert Image.open(out).tobytes() == direct.tobytes()
    shown = runner.invoke(cli, ["info", str(made)])
    assert "blocks.4[7]@mean:0.5" in shown.output


def test_a_function_objective_is_refused_on_replay_in_one_line(
    runner: CliRunner, random_engine: Engine, cat: Path, tmp_path: Path
) -> None:
    mine = Objective(lambda a: a["blocks.4"].mean((1, 2, 3)), ["blocks.4"], "mine")
    made = save_dream(random_engine.dream(cat, objective=mine, **FAST), tmp_path / "a.png")
    meta = read_metadata(made)
    assert meta["spec"]["layers"] == [] and meta["replayable"] is False and meta["objective"] == "mine"
    out = tmp_path / "b.png"
    result = runner.invoke(cli, ["render", str(cat), "-o", str(out), "--replay", str(made), "-q"])
    assert result.exit_code != 0 and not out.exists()
    assert "Python objective 'mine'" in result.output and "--layer" in result.output
    assert len(result.output.strip().splitlines()) == 1 and "Traceback" not in result.output
    result = runner.invoke(cli, ["render", str(cat), "-o", str(out), "--replay", str(made), "-l", "blocks.2", "-q"])
    assert result.exit_code == 0, result.output
    assert read_metadata(out)["spec"]["layers"] == ["blocks.2"]
