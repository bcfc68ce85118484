"""The `dreamer` command through Click's runner, and as a real process."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from PIL import Image

from dreamer.cli import cli
from dreamer.outputs.metadata import read_metadata

FAST = ["--steps", "2", "--octaves", "2", "--seed", "3", "-q"]


@pytest.fixture()
def runner(monkeypatch: pytest.MonkeyPatch, random_model) -> CliRunner:
    """CLI runs use the random-weight model, so they test mechanics quickly."""
    import dreamer.engine.engine

    monkeypatch.setattr(
        dreamer.engine.engine.Engine,
        "model",
        lambda self, *args, **kwargs: random_model,
    )
    return CliRunner()


def test_render_writes_png_whose_metadata_round_trips(runner: CliRunner, cat: Path, tmp_path: Path) -> None:
    out = tmp_path / "out.png"
    result = runner.invoke(cli, ["render", str(cat), "-o", str(out), "-l", "blocks.3:0.5", "-l", "blocks.4", *FAST])
    assert result.exit_code == 0, result.output
    meta = read_metadata(out)["spec"]
    assert meta["layers"] == ["blocks.3:0.5", "blocks.4"]
    assert meta["steps"] == 2 and meta["octaves"] == 2 and meta["seed"] == 3 and meta["model"] == "lite0"
    assert Image.open(out).size == Image.open(cat).size
    info = runner.invoke(cli, ["info", str(out)])
    assert "blocks.3:0.5" in info.output and "seed" in info.output
    # Replaying the settings on the same photo gives the same image.
    again = tmp_path / "again.png"
    result = runner.invoke(cli, ["render", str(cat), "-o", str(again), "--replay", str(out), "-q"])
    assert result.exit_code == 0, result.output
    assert Image.open(again).tobytes() == Image.open(out).tobytes()


def test_default_output_name_never_overwrites(runner: CliRunner, cat: Path) -> None:
    for expected in ("cat_dream.png", "cat_dream-2.png"):
        result = runner.invoke(cli, ["render", str(cat), *FAST])
        assert result.exit_code == 0, result.output
        assert (cat.parent / expected).exists()


def test_alpha_is_kept_in_png_output(runner: CliRunner, tmp_path: Path) -> None:
    src = tmp_path / "rgba.png"
    im = Image.new("RGBA", (64, 64), (200, 100, 50, 255))
    im.putpixel((0, 0), (0, 0, 0, 0))
    im.save(src)
    out = tmp_path / "o.png"
    assert runner.invoke(cli, ["render", str(src), "-o", str(out), *FAST]).exit_code == 0
    back = Image.open(out)
    assert back.mode == "RGBA" and back.getpixel((0, 0))[3] == 0 and back.getpixel((32, 32))[3] == 255


def _bad_inputs(tmp_path: Path) -> dict[str, tuple[Path, str]]:
    text = tmp_path / "notes.jpg"
    text.write_text("not an image")
    empty = tmp_path / "empty.png"
    empty.write_bytes(b"")
    good = tmp_path / "good.jpg"
    Image.new("RGB", (200, 200), "red").save(good, quality=90)
    truncated = tmp_path / "truncated.jpg"
    truncated.write_bytes(good.read_bytes()[:300])
    return {
        "text": (text, "not an image"),
        "empty": (empty, "file is empty"),
        "truncated": (truncated, "corrupt or truncated"),
        "missing": (tmp_path / "nope.png", "no such file"),
        "directory": (tmp_path, "is a directory"),
    }


@pytest.mark.parametrize("case", ["text", "empty", "truncated", "missing", "directory"])
def test_bad_input_is_one_line_nonzero_and_leaves_nothing(runner: CliRunner, tmp_path: Path, case: str) -> None:
    inputs = tmp_path / "in"
    inputs.mkdir()
    path, message = _bad_inputs(inputs)[case]
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    result = runner.invoke(cli, ["render", str(path), "-o", str(out_dir / "x.png"), *FAST])
    assert result.exit_code == 1
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and message in lines[0] and str(path) in lines[0], result.output
    assert list(out_dir.iterdir()) == []


def test_bad_options_name_the_option(runner: CliRunner, cat: Path, tmp_path: Path) -> None:
    cases = [
        (["--octave-scale", "0.5"], "--octave-scale"),
        (["-l", "blocks.4["], "--layer"),
        (["-l", "blocks.44"], "did you mean"),
        (["-o", str(tmp_path / "x.gif")], "unknown output type"),
        (["-o", str(tmp_path / "missing" / "x.png")], "does not exist"),
        (["-o", str(cat)], "is the input"),
    ]
    for args, message in cases:
        result = runner.invoke(cli, ["render", str(cat), *FAST, *args])
        assert result.exit_code != 0 and message in result.output, (args, result.output)


def test_python_m_dreamer_layers_lists_shapes_offline() -> None:
    result = subprocess.run([sys.executable, "-m", "dreamer", "layers", "--size", "64"], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert "blocks.4     112x4x4 * (default)" in result.stdout


def test_the_bar_shows_the_octave_and_the_gain_within_it() -> None:
    """A raw score drops at every octave (a larger image); the bar shows the octave and the gain since it began."""
    from dreamer.runners.progress import step_postfix

    octave = {"label": "1/2 at 8x6", "first": None}
    assert [step_postfix(s, octave) for s in (10.0, 13.0)] == ["octave 1/2 at 8x6, +0%", "octave 1/2 at 8x6, +30%"]
    octave.update(label="2/2 at 11x8", first=None)
    assert step_postfix(5.0, octave) == "octave 2/2 at 11x8, +0%"  # not a drop from 13 to 5
    assert step_postfix(2.5, {}) == "score=2.5"  # a visualisation has no octaves
