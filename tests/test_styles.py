"""Styles: shipped presets, user files, precedence and validation."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from dreamer.cli import cli
from dreamer.engine.styles import checked_style
from dreamer.errors import DreamerError
from dreamer.nets.registry import get_spec
from dreamer.outputs.metadata import read_metadata
from dreamer.spec.specs import DreamSpec
from dreamer.spec.styles import load_style, style_names

ROOT = Path(__file__).parents[1]


def test_at_least_eight_lite0_styles_and_torchvision_presets() -> None:
    names = style_names()
    lite0 = [n for n in names if load_style(n).apply().model == "lite0"]
    assert len(lite0) >= 8, lite0
    assert {"googlenet", "vgg16"} <= set(names)


@pytest.mark.parametrize("name", style_names())
def test_every_shipped_style_renders_a_small_image(name: str, monkeypatch: pytest.MonkeyPatch, real_model) -> None:
    from dreamer.engine import Engine
    from dreamer.nets.wrapper import DreamModel

    style = load_style(name)
    config = style.apply(DreamSpec(max_side=64, seed=0))
    engine = Engine(device="cpu", precision="fp32")
    if config.model == "lite0":
        engine.use(real_model)
    else:  # torchvision weights cannot be downloaded here: random weights, mechanics only
        spec = get_spec(config.model)
        engine.use(DreamModel(spec.architecture(), spec, real_model.device, precision="fp32"))
    config = config.replace(steps=min(config.steps, 2))
    out = engine.dream(dreamer_input(), config, provenance={"style": name})
    assert out.size == (64, 48)
    assert out.info["dreamer"]["style"] == name and out.info["dreamer"]["spec"]["layers"] == list(config.layers)


def dreamer_input():
    """A 64x48 cat."""
    from PIL import Image

    from dreamer.samples import sample_path

    return Image.open(sample_path("chelsea")).convert("RGB").resize((64, 48))


def test_precedence_defaults_then_style_then_explicit_options(
    tmp_path: Path, cat: Path, monkeypatch, random_model
) -> None:
    import dreamer.engine.engine

    monkeypatch.setattr(dreamer.engine.engine.Engine, "model", lambda self, *args, **kwargs: random_model)
    out = tmp_path / "o.png"
    args = ["render", str(cat), "-o", str(out), "-s", "fur", "--steps", "1", "--octaves", "2", "--seed", "1", "-q"]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    meta = read_metadata(out)
    assert meta["style"] == "fur"
    meta = meta["spec"]
    assert meta["octave_scale"] == 1.5 and meta["layers"] == ["blocks.4", "blocks.5:0.5"]  # from the style
    assert meta["steps"] == 1 and meta["octaves"] == 2  # explicit options win
    assert meta["jitter"] == DreamSpec().jitter  # untouched defaults stay


def test_user_style_file(tmp_path: Path) -> None:
    path = tmp_path / "mine.toml"
    path.write_text('description = "mine"\nlayers = ["blocks.3[1,2]:0.5"]\nsteps = 3\nstep_size = 1\n')
    style = load_style(str(path))
    assert style.name == "mine" and style.apply().steps == 3 and style.apply().step_size == 1.0


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ('description = "x"\nstepz = 3', "key 'stepz': unknown setting; did you mean 'steps'"),
        ('description = "x"\nsteps = "many"', "key 'steps' must be a whole number"),
        ('description = "x"\noctave_scale = 0.5', "key 'octave_scale' must be greater than 1"),
        (
            'description = "x"\nlayers = ["blocks.44"]',
            "key 'layers': model lite0 has no layer 'blocks.44'; did you mean",
        ),
        ('description = "x"\nlayers = "blocks.4"', "key 'layers' must be a list of strings"),
        ('description = "x"\nlayers = ["blocks.4["]', "key 'layers': cannot read 'blocks.4['"),
        ("steps = 3", "key 'description' is required"),
        ('description = "x"\nsteps = [', "not valid TOML"),
        ('description = "x"\nseed = 3', "key 'seed' is chosen per run"),
    ],
)
def test_validation_errors_name_the_file_and_key(tmp_path: Path, body: str, message: str) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(body)
    with pytest.raises(DreamerError) as info:
        checked_style(str(path))
    text = str(info.value)
    assert "\n" not in text and message in text and str(path) in text, text


def test_unknown_style_name_suggests() -> None:
    with pytest.raises(DreamerError, match="did you mean classic"):
        load_style("clasic")


def test_styles_command_lists_and_shows() -> None:
    result = CliRunner().invoke(cli, ["styles"])
    assert result.exit_code == 0 and "classic" in result.output and "Eyes and dog faces" in result.output
    shown = CliRunner().invoke(cli, ["styles", "show", "fur"])
    assert "octaves = 6" in shown.output and "jitter = 32   (default)" not in shown.output


def test_all_styles_are_the_ones_whose_weights_need_no_download(tmp_path: Path) -> None:
    """--all-styles never reaches for the network: a torchvision style joins once its weights are in the cache."""
    import torch
    import torchvision.models as tvm

    from dreamer.engine.styles import styles_at_hand

    ready, left_out = styles_at_hand()  # each test has an empty torch cache (conftest)
    assert {"googlenet", "vgg16"} <= set(left_out) and "classic" in ready and not set(ready) & set(left_out)
    assert sorted(ready + left_out) == style_names()
    weights = Path(torch.hub.get_dir()) / "checkpoints" / Path(tvm.get_model_weights("vgg16").DEFAULT.url).name
    weights.parent.mkdir(parents=True)
    weights.write_bytes(b"")
    assert "vgg16" in styles_at_hand()[0]
