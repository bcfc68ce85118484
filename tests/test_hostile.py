"""Hostile inputs through the CLI: a one-line error, a non-zero exit and nothing left behind."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner
from hostile import broken_files, odd_but_valid_files
from PIL import Image

from dreamer.cli import cli

FAST = ["--steps", "1", "--octaves", "2", "--max-side", "96", "--seed", "0", "-q"]
VIS = ["--steps", "1", "--size", "32", "--seed", "0", "-q"]


@pytest.fixture()
def runner(monkeypatch: pytest.MonkeyPatch, random_model) -> CliRunner:
    """CLI runs on the random-weight model: these tests are about mechanics."""
    import dreamer.engine.engine

    monkeypatch.setattr(dreamer.engine.engine.Engine, "model", lambda self, *args, **kwargs: random_model)
    return CliRunner()


def commands(photo: Path, out: Path, good: Path) -> dict[str, list[str]]:
    """Every command that reads an image, with PHOTO in the image's place; outputs go under OUT."""
    return {
        "render": ["render", str(photo), "-o", str(out / "o.png"), *FAST],
        "gallery": ["gallery", str(photo), "-s", "classic", "-o", str(out / "g"), *FAST],
        "zoom": ["zoom", str(photo), "--frames", "2", "-o", str(out / "z.gif"), *FAST],
        "guide": ["render", str(good), "--guide", str(photo), "-o", str(out / "o.png"), *FAST],
        "mask": ["render", str(good), "--mask", str(photo), "-o", str(out / "o.png"), *FAST],
        "grid": ["grid", "--layer", "blocks.4", "--top", "2", "--photo", str(photo), *VIS, "-o", str(out / "g.png")],
        "maps": ["maps", str(photo), "--layer", "blocks.4", "--top", "2", *VIS, "-o", str(out / "m.png")],
    }


BROKEN = ["text", "zip", "empty", "truncated-jpeg", "truncated-png", "directory", "missing", "bomb"]


@pytest.mark.parametrize("command", ["render", "gallery", "zoom", "guide", "mask", "grid", "maps"])
@pytest.mark.parametrize("case", BROKEN)
def test_broken_input_is_one_line_and_leaves_no_output(
    runner: CliRunner, tmp_path: Path, cat: Path, command: str, case: str
) -> None:
    path, words = broken_files(tmp_path / "in")[case]
    if command == "gallery" and case == "directory":  # a folder is a valid gallery input: walked for images
        words = "folder holds no images"
    out = tmp_path / "out"
    out.mkdir()
    result = runner.invoke(cli, commands(path, out, cat)[command])
    assert result.exit_code == 1, result.output
    errors = [line for line in result.output.splitlines() if line.lower().startswith("error")]
    assert len(errors) == 1 and words in errors[0] and path.name in errors[0], result.output
    pages = ("index.html", "manifest.json", "contact_sheet.png", "search.js", "gallery.sqlite")
    images = [p for p in out.rglob("*") if p.is_file() and p.name not in pages]
    assert images == [], images


def test_bomb_is_refused_before_decoding_and_says_how_to_raise_the_limit(runner: CliRunner, tmp_path: Path) -> None:
    path, _ = broken_files(tmp_path / "in")["bomb"]
    result = runner.invoke(cli, ["render", str(path), "-o", str(tmp_path / "o.png"), *FAST])
    assert "50000x50000 pixels" in result.output and "DREAMER_MAX_PIXELS" in result.output


def test_unreadable_file_names_the_permission_problem(runner: CliRunner, tmp_path: Path, monkeypatch) -> None:
    path = tmp_path / "secret.png"
    Image.new("RGB", (64, 64)).save(path)
    path.chmod(0)
    if os.access(path, os.R_OK):  # root reads everything: simulate what a normal user meets
        real = os.access
        monkeypatch.setattr(os, "access", lambda p, mode, **kw: False if Path(p) == path else real(p, mode, **kw))
    result = runner.invoke(cli, ["render", str(path), "-o", str(tmp_path / "o.png"), *FAST])
    assert result.exit_code == 1 and "permission denied" in result.output and not (tmp_path / "o.png").exists()


@pytest.mark.parametrize(
    "case",
    ["16-bit", "cmyk", "palette-transparent", "LA", "animated-gif", "exif-rotated", "spaces-unicode", "1x1", "3x5000"],
)
def test_unusual_but_valid_images_render(runner: CliRunner, tmp_path: Path, case: str) -> None:
    path, size = odd_but_valid_files(tmp_path / "in")[case]
    out = tmp_path / f"{path.stem}_out.png"
    result = runner.invoke(cli, ["render", str(path), "-o", str(out), *FAST])
    assert result.exit_code == 0, result.output
    assert Image.open(out).size == size
    if case == "animated-gif":
        assert "has 2 frames; using the first" in result.output


def test_output_problems_are_caught_before_rendering(runner: CliRunner, tmp_path: Path, cat: Path) -> None:
    locked = tmp_path / "locked"
    locked.mkdir()
    cases = [
        (tmp_path / "nowhere" / "o.png", "does not exist"),
        (cat, "is the input"),
        (tmp_path / "o.bmp", "unknown output type"),
    ]
    for out, words in cases:
        result = runner.invoke(cli, ["render", str(cat), "-o", str(out), *FAST])
        assert result.exit_code == 1 and words in result.output, (out, result.output)
    locked.chmod(0o500)
    if not os.access(locked, os.W_OK):  # not meaningful as root
        result = runner.invoke(cli, ["render", str(cat), "-o", str(locked / "o.png"), *FAST])
        assert result.exit_code == 1 and "not writable" in result.output


def test_weights_and_styles_that_are_not_what_they_claim(tmp_path: Path, cat: Path) -> None:
    fake = tmp_path / "weights.pth"
    fake.write_text("no tensors here")
    style = tmp_path / "broken.toml"
    style.write_text("description = 'x'\nsteps = [")
    for args, words in [
        (["--weights", str(fake)], "not a PyTorch checkpoint"),
        (["-s", str(style)], "not valid TOML"),
        (["--model", "resnet5O"], "unknown model"),
    ]:
        result = CliRunner().invoke(cli, ["render", str(cat), "-o", str(tmp_path / "o.png"), *FAST, *args])
        assert result.exit_code == 1 and words in result.output and len(result.output.strip().splitlines()) == 1, (
            result.output
        )


def test_ctrl_c_during_a_render_exits_130_and_leaves_no_output(tmp_path: Path, cat: Path) -> None:
    big = tmp_path / "big.png"
    Image.open(cat).resize((384, 256)).save(big)
    out = tmp_path / "o.png"
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parents[1]), "PYTHONUNBUFFERED": "1"}
    args = [sys.executable, "-m", "dreamer", "render", str(big), "-o", str(out), "--steps", "200", "--octaves", "1"]
    # A shell that runs us in the background ignores SIGINT, and children inherit that: restore it.
    proc = subprocess.Popen(
        args,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    # Wait until the progress bar shows the dream is under way, then press Ctrl-C.
    seen = ""
    deadline = time.time() + 120
    while "dreaming" not in seen and time.time() < deadline:
        seen += proc.stderr.read(1)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err[-500:]
    assert "interrupted" in err
    assert not out.exists() and not [p for p in tmp_path.iterdir() if ".part" in p.name]
