"""What a resume reads back from disk: state files of any content, and frames a killed run or a full disk damaged."""

from __future__ import annotations

import json
import shutil
import tempfile
import warnings
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from dreamer.animate.zoom import MANIFEST, render_zoom
from dreamer.errors import DreamerError, DreamerWarning
from dreamer.outputs.frames import FRAME_NAME, FramesFolder, finished_frames
from dreamer.spec.presets import ZOOM_SPEC
from dreamer.spec.specs import MotionSpec

FAST = ZOOM_SPEC.replace(octaves=1, steps=1, jitter=8, max_side=48, seed=5)
SETTINGS = {"spec": {"seed": 5, "steps": 1}, "motion": {"frames": 3}, "photo": "cat.png"}

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4),
    max_leaves=12,
)
# A state file shaped like a real one, with its values replaced by anything.
STATE_LIKE = st.fixed_dictionaries(
    {"spec": JSON | st.dictionaries(st.sampled_from(["seed", "steps"]), JSON), "motion": JSON}, optional={"photo": JSON}
)
RAW = st.one_of(
    st.binary(max_size=40),
    st.builds(lambda n: "[" * n + "]" * n, st.integers(900, 100_000)),  # nested past the parser's depth
    st.builds(lambda n: '{"spec":' * n + "1" + "}" * n, st.integers(900, 5_000)),
    st.builds(lambda n: "1" + "0" * n, st.integers(4_300, 6_000)),  # past int's digit limit
)


def _reads(text: bytes) -> None:
    """Every reader of a frames folder's state either works or raises one DreamerError naming the file."""
    with tempfile.TemporaryDirectory() as tmp:
        folder = FramesFolder(Path(tmp), MANIFEST)
        folder.state_path.write_bytes(text)
        seed = folder.recorded_seed()
        assert seed is None or (isinstance(seed, int) and not isinstance(seed, bool))
        try:
            folder.resume(SETTINGS)
        except DreamerError as exc:
            assert str(folder.state_path) in str(exc) or tmp in str(exc), exc
            assert "\n" not in str(exc)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(JSON, STATE_LIKE))
def test_any_json_state_file_is_read_or_refused_in_one_line(document: object) -> None:
    _reads(json.dumps(document).encode())


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(RAW)
def test_any_bytes_in_a_state_file_are_read_or_refused_in_one_line(raw: bytes | str) -> None:
    _reads(raw if isinstance(raw, bytes) else raw.encode())


def _damage(path: Path, how: str) -> None:
    if how == "empty":
        path.write_bytes(b"")
    elif how == "truncated":
        path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    else:  # another file under the frame's name
        path.write_text("not a picture")


@pytest.mark.parametrize("how", ["empty", "truncated", "text"])
def test_a_damaged_frame_is_dreamed_again_on_resume(random_engine, cat: Path, tmp_path: Path, how: str) -> None:
    full = render_zoom(cat, tmp_path / "full", MotionSpec(frames=4), FAST, engine=random_engine)
    part = tmp_path / "part"
    shutil.copytree(tmp_path / "full", part)
    for index in (3, 2):
        (part / FRAME_NAME.format(index)).unlink() if index == 3 else _damage(part / FRAME_NAME.format(index), how)
    assert len(finished_frames(part)) == 2
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        resumed = render_zoom(cat, part, MotionSpec(frames=4), FAST, engine=random_engine)
    said = [str(w.message) for w in caught if issubclass(w.category, DreamerWarning)]
    assert any(FRAME_NAME.format(2) in m and "damaged" in m for m in said), said
    assert [Image.open(p).tobytes() for p in resumed] == [Image.open(p).tobytes() for p in full]


def test_a_damaged_video_frame_is_dreamed_again_and_the_video_written(clip_and_engine, tmp_path: Path) -> None:
    from dreamer.video.run import dream_video

    clip, engine, spec, fast = clip_and_engine
    full = dream_video(clip, tmp_path / "full", spec, fast, engine=engine)
    part = tmp_path / "part"
    shutil.copytree(tmp_path / "full", part)
    _damage(part / FRAME_NAME.format(0), "truncated")  # the first frame: every later one comes from it
    resumed = dream_video(clip, tmp_path / "v.gif", spec, fast, engine=engine, frames_dir=part)
    assert [p.read_bytes() for p in resumed.frames] == [p.read_bytes() for p in full.frames]
    assert Image.open(tmp_path / "v.gif").n_frames == len(full.frames)


@pytest.fixture()
def clip_and_engine(random_engine, tmp_path: Path):
    """A four-frame pan, the random-weight engine, and fast video settings."""
    pytest.importorskip("av")
    pytest.importorskip("cv2")
    from dreamer.samples import sample_path
    from dreamer.spec import VIDEO_SPEC, VideoSpec
    from dreamer.video.synth import motion_clip

    clip = tmp_path / "pan.mp4"
    motion_clip(sample_path("chelsea"), clip, 4, size=(64, 48), fps=8.0)
    fast = VIDEO_SPEC.replace(octaves=1, steps=1, jitter=8, max_side=48, seed=3)
    return clip, random_engine, VideoSpec(frame_octaves=1, frame_steps=1), fast


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(JSON.map(json.dumps), RAW.map(lambda r: r.decode("latin-1") if isinstance(r, bytes) else r)))
def test_any_settings_text_in_a_png_is_read_or_refused_in_one_line(text: str) -> None:
    """The PNG settings a replay, ``info`` and a gallery's resume read: any text, one DreamerError at worst."""
    from PIL import PngImagePlugin

    from dreamer.outputs.metadata import read_metadata

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "dream.png"
        info = PngImagePlugin.PngInfo()
        info.add_itxt("dreamer", text)
        Image.new("RGB", (4, 4)).save(path, pnginfo=info)
        try:
            data = read_metadata(path)
        except DreamerError as exc:
            assert str(path) in str(exc) and "\n" not in str(exc), exc
        else:
            assert isinstance(data, dict) and isinstance(data["schema"], int)
