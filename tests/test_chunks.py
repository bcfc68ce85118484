"""Chunked video: the plan and warm-up as pure functions; chunks in this process against one chain."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("av")
pytest.importorskip("cv2")

from dreamer.errors import DreamerError  # noqa: E402
from dreamer.samples import sample_path  # noqa: E402
from dreamer.spec import VIDEO_SPEC, VideoSpec  # noqa: E402
from dreamer.video.chunks import Chunk, crossfade, from_borders, plan_chunks, resumable, seam_pairs  # noqa: E402
from dreamer.video.io import rgb_array  # noqa: E402
from dreamer.video.run import dream_video  # noqa: E402
from dreamer.video.synth import motion_clip  # noqa: E402

FAST = VIDEO_SPEC.replace(octaves=1, steps=3, max_side=64, seed=4)


def test_chunks_cover_every_frame_once_with_warmup_and_seams() -> None:
    chunks = plan_chunks(24, 3, warmup=6, overlap=2)
    assert [(c.first, c.stop) for c in chunks] == [(0, 8), (8, 16), (16, 24)]
    assert [(c.start, c.lead, c.tail) for c in chunks] == [(0, 0, 2), (2, 2, 2), (10, 2, 0)]
    # Each frame handed over once as a frame, seam frames by both sides of their border.
    handed = [(i, w) for c in chunks for i, w in c.outputs()]
    assert sorted(i for i, w in handed if w == "frame") == [i for i in range(24) if i not in (6, 7, 14, 15)]
    assert sorted(i for i, w in handed if w == "a") == sorted(i for i, w in handed if w == "b") == [6, 7, 14, 15]
    assert seam_pairs(chunks) == [6, 7, 8, 14, 15, 16]
    # Clipped where the clip is short: the warm-up never starts before frame 0, a lead leaves a chunk a frame.
    short = plan_chunks(5, 4, warmup=8, overlap=3)
    expected = [(0, 1, 0, 0), (1, 2, 1, 0), (2, 4, 2, 0), (4, 5, 4, 1)]
    assert [(c.first, c.stop, c.warmup, c.lead) for c in short] == expected
    assert plan_chunks(3, 8, 2, 1) == from_borders([[0, 1], [1, 2], [2, 3]], 2, 1)
    assert plan_chunks(10, 1, 4, 2) == [Chunk(0, 0, 10)]
    with pytest.raises(DreamerError, match="at most --warmup"):
        plan_chunks(10, 2, warmup=1, overlap=2)
    assert resumable([True, True, False, True]) == 2 and resumable([]) == 0


def test_crossfade_moves_from_the_earlier_dream_to_the_later() -> None:
    a, b = np.zeros((2, 2, 3), np.uint8), np.full((2, 2, 3), 90, np.uint8)
    assert [int(crossfade(a, b, p, 2)[0, 0, 0]) for p in range(2)] == [30, 60]


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("clip") / "pan.mp4"
    return motion_clip(sample_path("chelsea"), path, 24, size=(96, 64), zoom=1.005, fps=12.0).path


def _pixels(paths: list[Path]) -> list[np.ndarray]:
    return [rgb_array(p).astype(np.int16) for p in paths]


def test_chunks_equal_one_chain_where_frames_do_not_carry(clip: Path, tmp_path: Path, random_engine) -> None:
    """Frame by frame, each frame depends only on its input and (seed, index): chunking changes nothing."""
    video = VideoSpec(mode="frames", score_frames=0, warmup=6, overlap=2)
    one = dream_video(clip, tmp_path / "one", video, FAST, engine=random_engine)
    three = dream_video(clip, tmp_path / "three", video, FAST, engine=random_engine, workers=3, executor="local")
    assert all(np.array_equal(a, b) for a, b in zip(_pixels(one.frames), _pixels(three.frames), strict=True))
    assert not list((tmp_path / "three").glob("seam_*")), "seam frames go once the borders are cross-faded"


def test_flow_chunks_stay_near_one_chain_and_resume_per_chunk(clip: Path, tmp_path: Path, random_engine) -> None:
    """With the carry, a chunk's dream history differs from one chain's: bounded, and seams no worse than inside."""
    video = VideoSpec(frame_steps=1, score_frames=0, warmup=6, overlap=2)
    one = dream_video(clip, tmp_path / "one", video, FAST, engine=random_engine)
    three = dream_video(clip, tmp_path / "three", video, FAST, engine=random_engine, workers=3, executor="local")
    diff = [float(np.abs(a - b).mean()) for a, b in zip(_pixels(one.frames), _pixels(three.frames), strict=True)]
    assert max(diff[:6]) == 0  # the first chunk up to its seam is one chain's, frame for frame
    assert max(diff) < 12  # then another history of the same dream: within 12 of 255 on average (measured ~6.5)
    seams = three.score["seams"]
    assert seams["frames"] == [6, 7, 8, 14, 15, 16] and seams["error"] <= 1.2 * seams["inside"]
    # A chunk interrupted midway (its last frames gone) resumes from its own frames: the same bytes again.
    before = [p.read_bytes() for p in three.frames]
    for i in (11, 12, 13):
        (tmp_path / "three" / f"frame_{i:05d}.png").unlink()
    again = dream_video(clip, tmp_path / "three", video, FAST, engine=random_engine, workers=3, executor="local")
    assert [p.read_bytes() for p in again.frames] == before
    assert [c["dreamed"] for c in again.score["chunks"]["ran"]] == [0, 5, 0]  # 11-13 and its tail seams 14, 15
    # Other settings are refused; a resume keeps the recorded chunks whatever --workers says now.
    with pytest.raises(DreamerError, match="other settings"):
        dream_video(clip, tmp_path / "three", video, FAST, engine=random_engine)
    kept = dream_video(clip, tmp_path / "three", video, FAST, engine=random_engine, workers=2, executor="local")
    assert kept.score["chunks"]["borders"] == [[0, 8], [8, 16], [16, 24]]
