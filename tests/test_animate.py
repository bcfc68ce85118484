"""The infinite zoom: frames, resume, smoothness, GIF/MP4 assembly and the `dreamer zoom` command."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from click.testing import CliRunner
from PIL import Image

from dreamer.animate.zoom import MANIFEST, render_zoom, transform, zoom
from dreamer.cli import cli
from dreamer.engine.seeds import frame_seed
from dreamer.errors import DreamerError
from dreamer.outputs.animation import assemble
from dreamer.outputs.metadata import read_metadata
from dreamer.samples import sample_path
from dreamer.spec.presets import ZOOM_SPEC
from dreamer.spec.specs import DreamSpec, MotionSpec, parse_pan

FAST = {"octaves": 1, "steps": 2, "jitter": 8, "max_side": 48}


def spec(**changes) -> DreamSpec:
    """A quick zoom-frame spec."""
    return ZOOM_SPEC.replace(**{**FAST, **changes})


def _frames(folder: Path) -> list[Path]:
    return sorted(folder.glob("frame_*.png"))


def test_frame_count_and_size(random_engine, cat_image) -> None:
    frames = list(zoom(cat_image, MotionSpec(frames=4), spec(seed=0), engine=random_engine))
    assert len(frames) == 4 and all(f.size == (48, 32) and f.mode == "RGB" for f in frames)
    # The frame size follows --max-side, rounded down to even numbers for video codecs.
    small = list(zoom(cat_image, MotionSpec(frames=2), spec(seed=0, max_side=51), engine=random_engine))
    assert [f.size for f in small] == [(50, 34), (50, 34)]


def test_resumed_run_writes_the_same_frames_as_an_uninterrupted_one(random_engine, cat: Path, tmp_path: Path) -> None:
    six = MotionSpec(frames=6)
    full = render_zoom(cat, tmp_path / "full", six, spec(seed=5), engine=random_engine)
    assert [p.name for p in full] == [f"frame_{i:05d}.png" for i in range(6)]

    def stop_at_3(index: int, frame: Image.Image) -> None:
        if index == 3:
            raise KeyboardInterrupt

    part = tmp_path / "part"
    with pytest.raises(KeyboardInterrupt):
        render_zoom(cat, part, six, spec(seed=5), engine=random_engine, on_frame=stop_at_3)
    assert len(_frames(part)) == 4  # on_frame runs once a frame is on disk
    dreamed: list[int] = []
    # No seed given: the resume takes the one recorded in the folder.
    resumed = render_zoom(cat, part, six, spec(), engine=random_engine, on_frame=lambda i, f: dreamed.append(i))
    assert dreamed == [4, 5]
    assert [p.read_bytes() for p in resumed] == [p.read_bytes() for p in full]
    # Asking for more frames later continues the same animation.
    longer = render_zoom(cat, part, MotionSpec(frames=7), spec(), engine=random_engine)
    assert len(longer) == 7 and longer[:6] == resumed


def test_resume_with_other_settings_is_refused(random_engine, cat: Path, tmp_path: Path) -> None:
    folder = tmp_path / "frames"
    render_zoom(cat, folder, MotionSpec(frames=2), spec(seed=1), engine=random_engine)
    with pytest.raises(DreamerError, match=r"other settings \(steps\)"):
        render_zoom(cat, folder, MotionSpec(frames=3), spec(seed=1, steps=3), engine=random_engine)
    with pytest.raises(DreamerError, match=r"other settings \(zoom\)"):
        render_zoom(cat, folder, MotionSpec(frames=3, zoom=1.1), spec(seed=1), engine=random_engine)
    assert len(_frames(folder)) == 2
    assert json.loads((folder / MANIFEST).read_text())["spec"]["seed"] == 1


@pytest.mark.slow
def test_consecutive_frames_are_close_on_the_bundled_model(real_engine) -> None:
    def run(name: str) -> list[np.ndarray]:
        photo = Image.open(sample_path(name)).convert("RGB").resize((96, 64))
        frames = zoom(photo, MotionSpec(frames=5), ZOOM_SPEC.replace(seed=0, octaves=2, steps=4), engine=real_engine)
        return [np.asarray(f, dtype=np.float32) for f in frames]

    cat, coffee = run("chelsea"), run("coffee")
    consecutive = [np.abs(b - a).mean() for a, b in zip(cat, cat[1:], strict=False)]
    unrelated = [np.abs(a - b).mean() for a, b in zip(cat, coffee, strict=True)]
    assert max(consecutive) < 0.5 * min(unrelated), (consecutive, unrelated)
    # The dream keeps working: the last frame is far from the first.
    assert np.abs(cat[-1] - cat[0]).mean() > max(consecutive)


def test_transform_zooms_pans_and_rotates_in_pixels() -> None:
    image = torch.rand(1, 3, 48, 64)
    assert torch.allclose(transform(image, 1.0), image, atol=1e-5)
    # Panning by (2, 0) shows what was 2 px to the right.
    moved = transform(image, 1.0, pan=(2.0, 0.0))
    assert torch.allclose(moved[..., :, :-2], image[..., :, 2:], atol=1e-5)
    # A horizontal bar on a non-square frame turns into a vertical one of the same length.
    bar = torch.zeros(1, 3, 48, 64)
    bar[..., 23:25, 22:42] = 1.0
    turned = transform(bar, 1.0, rotate=90.0)[0, 0] > 0.5
    rows, cols = turned.nonzero(as_tuple=True)
    assert 18 <= int(rows.max() - rows.min()) + 1 <= 22 and int(cols.max() - cols.min()) + 1 <= 4
    # Positive angles turn counter-clockwise on screen: a dot right of the centre ends above it.
    dot = torch.zeros(1, 3, 48, 64)
    dot[..., 23:25, 46:48] = 1.0
    rows, cols = (transform(dot, 1.0, rotate=90.0)[0, 0] > 0.5).nonzero(as_tuple=True)
    assert rows.float().mean() < 16 and abs(cols.float().mean() - 31.5) < 2
    # Zooming in by 2 makes the bar twice as long.
    longer = transform(bar, 2.0)[0, 0] > 0.5
    _, cols = longer.nonzero(as_tuple=True)
    assert 38 <= int(cols.max() - cols.min()) + 1 <= 42


def test_frame_seeds_differ_by_frame_and_seed() -> None:
    seeds = {frame_seed(s, i) for s in range(3) for i in range(50)}
    assert len(seeds) == 150 and all(0 <= s < 2**63 for s in seeds)


@pytest.mark.parametrize("text", ["1", "1,2,3", "a,b", "nan,0", "", "1;2"])
def test_bad_pan_is_a_one_line_error(text: str) -> None:
    with pytest.raises(DreamerError, match="must be") as info:
        parse_pan(text)
    assert info.value.field == "pan"


def test_pan_parses() -> None:
    assert parse_pan("2,-1.5") == (2.0, -1.5) and parse_pan(" 0 , 3 ") == (0.0, 3.0)


def _some_frames(folder: Path, n: int, size: tuple[int, int] = (48, 32)) -> list[Path]:
    folder.mkdir()
    paths = []
    for i in range(n):
        p = folder / f"frame_{i:05d}.png"
        Image.new("RGB", size, (i * 40 % 256, 100, 200 - i * 20)).save(p)
        paths.append(p)
    return paths


def test_gif_has_every_frame_and_loops(tmp_path: Path) -> None:
    frames = _some_frames(tmp_path / "f", 5)
    out = assemble(frames, tmp_path / "z.gif", fps=10)
    with Image.open(out) as gif:
        assert gif.n_frames == 5 and gif.size == (48, 32)
        assert gif.info["loop"] == 0 and gif.info["duration"] == 100
    assert not list(tmp_path.glob(".*part"))


@pytest.mark.skipif(importlib.util.find_spec("imageio_ffmpeg") is None, reason="imageio-ffmpeg is not installed")
def test_mp4_has_every_frame(tmp_path: Path) -> None:
    import imageio_ffmpeg

    frames = _some_frames(tmp_path / "f", 6)
    out = assemble(frames, tmp_path / "z.mp4", fps=12)
    reader = imageio_ffmpeg.read_frames(str(out))
    meta = next(reader)
    assert tuple(meta["size"]) == (48, 32) and meta["fps"] == 12
    assert sum(1 for _ in reader) == 6


def test_mp4_without_imageio_ffmpeg_says_what_to_install(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "imageio_ffmpeg", None)  # import fails, find_spec says missing
    frames = _some_frames(tmp_path / "f", 2)
    with pytest.raises(DreamerError, match=r"imageio-ffmpeg: pip install 'dreamer-art\[video\]'"):
        assemble(frames, tmp_path / "z.mp4")
    assert not (tmp_path / "z.mp4").exists()


@pytest.fixture()
def runner(monkeypatch: pytest.MonkeyPatch, random_model) -> CliRunner:
    """CLI runs use the random-weight model, so they test mechanics quickly."""
    import dreamer.engine.engine

    monkeypatch.setattr(dreamer.engine.engine.Engine, "model", lambda self, *args, **kwargs: random_model)
    return CliRunner()


CLI_FAST = ["--octaves", "1", "--steps", "1", "--max-side", "48", "--seed", "4", "-q"]


def test_cli_zoom_writes_gif_and_keeps_frames(runner: CliRunner, cat: Path, tmp_path: Path) -> None:
    out = tmp_path / "z.gif"
    args = ["zoom", str(cat), "--frames", "3", "--rotate", "1.5", "--pan", "1,0", "-o", str(out), *CLI_FAST]
    result = runner.invoke(cli, args)
    assert result.exit_code == 0, result.output
    with Image.open(out) as gif:
        assert gif.n_frames == 3 and gif.size == (48, 32)
    assert len(_frames(tmp_path / "z_gif_frames")) == 3
    settings = json.loads((tmp_path / "z_gif_frames" / MANIFEST).read_text())
    motion = settings["motion"]
    assert motion["rotate"] == 1.5 and motion["pan"] == [1.0, 0.0] and settings["spec"]["seed"] == 4
    meta = read_metadata(tmp_path / "z_gif_frames" / "frame_00002.png")
    assert meta["frame"] == 2 and meta["motion"]["zoom"] == 1.04 and meta["kind"] == "frame"
    assert meta["spec"]["steps"] == 1 and meta["spec"]["seed"] == 4
    # The same command again finds every frame done and only reassembles.
    first = (tmp_path / "z_gif_frames" / "frame_00002.png").stat().st_mtime_ns
    assert runner.invoke(cli, args).exit_code == 0
    assert (tmp_path / "z_gif_frames" / "frame_00002.png").stat().st_mtime_ns == first


def test_cli_zoom_to_a_folder_writes_frames_only(runner: CliRunner, cat: Path, tmp_path: Path) -> None:
    result = runner.invoke(cli, ["zoom", str(cat), "--frames", "2", "-o", str(tmp_path / "frames") + "/", *CLI_FAST])
    assert result.exit_code == 0, result.output
    assert len(_frames(tmp_path / "frames")) == 2 and not list(tmp_path.glob("*.gif"))


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--pan", "3"], "--pan must be two numbers"),
        (["--pan", "x,1"], "--pan must be two numbers"),
        (["-o", "{tmp}/z.avi"], "unknown animation type '.avi'"),
        (["--zoom", "0"], "--zoom must be greater than 0"),
    ],
)
def test_cli_zoom_bad_options(runner: CliRunner, cat: Path, tmp_path: Path, args: list[str], message: str) -> None:
    args = [a.format(tmp=tmp_path) for a in args]
    result = runner.invoke(cli, ["zoom", str(cat), "--frames", "2", *CLI_FAST, *args])
    assert result.exit_code == 1
    assert result.output.strip().splitlines()[-1].startswith("Error: ") and message in result.output
    assert not list(tmp_path.glob("*_frames")) and not list(tmp_path.glob("*.gif"))


def test_cli_zoom_interrupted_keeps_frames_and_resumes(
    runner: CliRunner, cat: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import dreamer.engine.engine

    real = dreamer.engine.engine.Engine.dream_tensor
    calls = []

    def interrupt_third(self, *args, **kwargs):
        calls.append(1)
        if len(calls) == 3:
            raise KeyboardInterrupt
        return real(self, *args, **kwargs)

    monkeypatch.setattr(dreamer.engine.engine.Engine, "dream_tensor", interrupt_third)
    args = ["zoom", str(cat), "--frames", "4", *CLI_FAST]
    result = runner.invoke(cli, args)
    assert result.exit_code == 130 and "2 frames kept" in result.output
    assert len(_frames(tmp_path / "cat_zoom_gif_frames")) == 2 and not (tmp_path / "cat_zoom.gif").exists()
    result = runner.invoke(cli, args)  # the same command again: carries on from frame 2
    assert result.exit_code == 0, result.output
    assert len(calls) == 5 and Image.open(tmp_path / "cat_zoom.gif").n_frames == 4
