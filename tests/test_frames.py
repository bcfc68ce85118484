"""The frames folder the zoom and the video dream share: resume, state file, recorded seed, default location."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image

from dreamer.animate.zoom import MANIFEST, render_zoom
from dreamer.engine.events import CancelToken
from dreamer.errors import Cancelled
from dreamer.outputs.frames import frames_folder
from dreamer.spec.presets import ZOOM_SPEC
from dreamer.spec.specs import MotionSpec

FAST = ZOOM_SPEC.replace(octaves=1, steps=1, jitter=8, max_side=48)


def test_a_resume_takes_a_recorded_seed_of_zero(random_engine, cat: Path, tmp_path: Path) -> None:
    full = render_zoom(cat, tmp_path / "full", MotionSpec(frames=3), FAST.replace(seed=0), engine=random_engine)
    part = tmp_path / "part"
    render_zoom(cat, part, MotionSpec(frames=2), FAST.replace(seed=0), engine=random_engine)
    resumed = render_zoom(cat, part, MotionSpec(frames=3), FAST, engine=random_engine)  # no seed: the recorded 0
    assert [Image.open(p).tobytes() for p in resumed] == [Image.open(p).tobytes() for p in full]


def test_a_run_stopped_before_its_first_frame_leaves_no_state_file(random_engine, cat: Path, tmp_path: Path) -> None:
    cancel = CancelToken()
    cancel.cancel()
    with pytest.raises(Cancelled):
        render_zoom(cat, tmp_path / "f", MotionSpec(frames=2), FAST, engine=random_engine, cancel=cancel)
    assert not (tmp_path / "f" / MANIFEST).exists()
    # So the next run may choose another seed and other settings: nothing was recorded.
    render_zoom(cat, tmp_path / "f", MotionSpec(frames=1), FAST.replace(seed=2, steps=2), engine=random_engine)


@pytest.mark.parametrize(
    ("output", "frames_dir", "folder"),
    [
        ("z.gif", None, "z_gif_frames"),
        ("v.mp4", None, "v_mp4_frames"),
        ("frames", None, "frames"),
        ("z.gif", "mine", "mine"),
    ],
)
def test_the_default_frames_folder(tmp_path: Path, output: str, frames_dir: str | None, folder: str) -> None:
    given = tmp_path / frames_dir if frames_dir else None
    assert frames_folder(tmp_path / output, given) == tmp_path / folder
