"""Degenerate photos (1x1, 2x2, one pixel thin): every command dreams them scaled up with a warning, or refuses them."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest
import torch
from click.testing import CliRunner
from PIL import Image
from test_lesson import make_lesson

from dreamer.cli import cli
from dreamer.core.objectives import class_logit as klass
from dreamer.core.octaves import MIN_SIDE
from dreamer.engine import Engine
from dreamer.errors import DreamerWarning
from dreamer.lecture.sweep import sweep
from dreamer.nets.wrapper import DreamModel
from dreamer.spec.specs import DreamSpec, MotionSpec, VisSpec

FAST_VIS = VisSpec(size=48, steps=2, seed=0)
FAST_DREAM = DreamSpec(steps=1, octaves=1, seed=0)
SIZES = [(1, 1), (2, 2), (1, 40)]


def tiny(folder: Path, size: tuple[int, int], name: str = "tiny.png") -> Path:
    """A photo of ``size`` with some colour in it."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    path = folder / name
    Image.fromarray(rng.integers(0, 256, (size[1], size[0], 3), dtype=np.uint8)).save(path)
    return path


def scaled_warnings(caught: list[warnings.WarningMessage]) -> list[str]:
    return [str(w.message) for w in caught if issubclass(w.category, DreamerWarning) and "scaled up" in str(w.message)]


@pytest.mark.parametrize("size", SIZES)
def test_accent_and_maps_see_a_tiny_photo_scaled_up_with_a_warning(
    tmp_path: Path, random_engine: Engine, size: tuple[int, int]
) -> None:
    photo = tiny(tmp_path, size)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        accented = random_engine.accent(photo, klass(1), FAST_VIS)
        sheet = random_engine.maps(photo, "blocks.2", FAST_VIS, top=2)
    assert min(accented.size) >= MIN_SIDE and sheet.width > 0
    said = scaled_warnings(caught)
    assert len(said) == 2 and all(f"only {size[0]}x{size[1]}" in s and "tiny.png" in s for s in said), said


def test_tensor_inputs_are_named_in_the_warning(random_engine: Engine) -> None:
    with pytest.warns(DreamerWarning, match=r"`photo`: image is only 2x2; scaled up to 32x32"):
        random_engine.accent(torch.rand(3, 2, 2), klass(1), FAST_VIS)


@pytest.mark.parametrize("size", [(1, 1), (2, 2)])
def test_lesson_on_a_tiny_photo_writes_the_page(
    tmp_path: Path, random_model: DreamModel, size: tuple[int, int]
) -> None:
    photo = tiny(tmp_path, size)
    with pytest.warns(DreamerWarning, match="scaled up"):
        page = make_lesson(photo, tmp_path / "out", random_model, top=1)
    assert page.is_file() and (page.parent / "first_0.png").is_file()


def test_lesson_command_on_a_1x1_photo_says_so_in_one_line(tmp_path: Path, use_random_model: None) -> None:
    photo = tiny(tmp_path, (1, 1))
    args = ["lesson", str(photo), "-o", str(tmp_path / "out"), "-q", "--max-side", "64", "--top", "1"]
    result = CliRunner().invoke(cli, args, env={"DREAMER_QUICK": "1"})
    assert result.exit_code == 0, result.output
    assert [line for line in result.output.splitlines() if "scaled up to 32x32" in line], result.output


@pytest.mark.parametrize("size", SIZES)
def test_render_sweep_and_zoom_dream_a_tiny_photo_with_a_warning(
    tmp_path: Path, random_engine: Engine, size: tuple[int, int]
) -> None:
    from dreamer.animate.zoom import zoom

    photo = tiny(tmp_path, size)
    events: list[object] = []
    out = random_engine.dream(photo, FAST_DREAM, on_event=events.append)
    assert out.size == size and any("is only" in str(getattr(e, "message", "")) for e in events)
    strip = sweep(photo, ["blocks.1"], FAST_DREAM, engine=random_engine)
    assert strip.width > 0
    frames = list(zoom(photo, MotionSpec(frames=2), FAST_DREAM, engine=random_engine))
    assert len(frames) == 2 and frames[-1].size == frames[0].size


@pytest.mark.parametrize("size", [(2, 2), (6, 4)])
def test_video_of_tiny_frames_is_dreamed_scaled_up_with_a_warning(
    tmp_path: Path, random_engine: Engine, size: tuple[int, int]
) -> None:
    pytest.importorskip("av")
    pytest.importorskip("cv2")
    from dreamer.spec import VIDEO_SPEC, VideoSpec
    from dreamer.video.run import dream_video
    from dreamer.video.synth import write_clip

    rng = np.random.default_rng(0)
    clip = write_clip(
        [rng.integers(0, 256, (size[1], size[0], 3), dtype=np.uint8) for _ in range(3)], tmp_path / "t.mp4"
    )
    spec = VIDEO_SPEC.replace(octaves=1, steps=1, max_side=48)
    with pytest.warns(DreamerWarning, match=rf"t\.mp4: frames are only {size[0]}x{size[1]}; dreamed at 32x32"):
        result = dream_video(clip, tmp_path / "d.gif", VideoSpec(frame_steps=1), spec, engine=random_engine)
    assert len(result.frames) == 3 and (tmp_path / "d.gif").is_file()  # was OpenCV's DIS error on the second frame
