"""dreamer video: frame count and rate, slices, resume, audio, the flow mechanics and every bad input."""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

av = pytest.importorskip("av")
pytest.importorskip("cv2")

from dreamer.cli import cli  # noqa: E402
from dreamer.core import flow as fl  # noqa: E402
from dreamer.errors import DreamerError  # noqa: E402
from dreamer.outputs.metadata import read_metadata  # noqa: E402
from dreamer.samples import sample_path  # noqa: E402
from dreamer.spec import VIDEO_SPEC, VideoSpec  # noqa: E402
from dreamer.spec.schema import Kind  # noqa: E402
from dreamer.video import run as video_run  # noqa: E402
from dreamer.video.frames import STATE  # noqa: E402
from dreamer.video.io import probe  # noqa: E402
from dreamer.video.run import carry, dream_video, rms  # noqa: E402
from dreamer.video.synth import motion_clip, motion_frames  # noqa: E402

FAST = VIDEO_SPEC.replace(octaves=1, steps=2, jitter=8, max_side=48)
SPEC = VideoSpec(frame_octaves=1, frame_steps=1)


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Eight frames at 8 fps: the cat photo panned 2 px per frame, slowly zoomed, a disc crossing it."""
    path = tmp_path_factory.mktemp("clip") / "pan.mp4"
    motion_clip(sample_path("chelsea"), path, 8, size=(64, 48), zoom=1.01, object_speed=(3.0, 0.0), fps=8.0)
    return path


def _stream(path: Path) -> tuple[int, Fraction, tuple[int, int], float | None]:
    """(frames decoded, frame rate, size, audio seconds or None) of a written video."""
    with av.open(str(path)) as box:
        v = box.streams.video[0]
        n = sum(1 for _ in box.decode(v))
        audio = None
        if box.streams.audio:
            a = box.streams.audio[0]
            audio = float(a.duration * a.time_base) if a.duration else None
        return n, v.average_rate, (v.width, v.height), audio


def _leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def test_frame_count_rate_and_slices(clip: Path, tmp_path: Path, random_engine) -> None:
    events: list[video_run.FrameDone] = []
    fast = FAST.replace(seed=1)
    out = dream_video(clip, tmp_path / "a.mp4", SPEC, fast, engine=random_engine, on_event=events.append)
    assert len(out.frames) == 8 and out.fps == 8.0
    # Progress: frames done of the total, frames per second and the time left, which ends at 0.
    assert [e.index for e in events] == list(range(8)) and {e.total for e in events} == {8}
    assert all(e.fps > 0 and 0 <= e.flow_seconds <= e.seconds for e in events) and events[-1].eta == 0
    # Each frame carries its settings like a still, for `dreamer info` and --replay.
    meta = read_metadata(out.frames[3])
    assert meta["kind"] == "frame" and meta["frame"] == 3 and meta["video"]["blend"] == SPEC.blend
    assert _stream(tmp_path / "a.mp4") == (8, Fraction(8), (48, 36), None)  # a silent input gives a silent output
    # --fps picks frames by time (4 fps over 1 s: every other frame); --start/--duration dream a slice.
    half = dream_video(clip, tmp_path / "b.gif", SPEC.replace(fps=4.0), FAST.replace(seed=1), engine=random_engine)
    assert len(half.frames) == 4 and (tmp_path / "b.gif").stat().st_size > 0
    part = SPEC.replace(start=0.25, duration=0.5)
    sliced = dream_video(clip, tmp_path / "c", part, FAST.replace(seed=1), engine=random_engine)
    assert len(sliced.frames) == 4 and sliced.output == tmp_path / "c" and (tmp_path / "c" / STATE).is_file()


def test_resume_gives_the_same_frames_and_other_settings_are_refused(clip: Path, tmp_path: Path, random_engine):
    full = dream_video(clip, tmp_path / "full", SPEC, FAST.replace(seed=3), engine=random_engine)

    def stop_after_3(ev: video_run.FrameDone) -> None:
        if ev.index == 3:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        dream_video(clip, tmp_path / "part", SPEC, FAST.replace(seed=3), engine=random_engine, on_event=stop_after_3)
    assert len(list((tmp_path / "part").glob("frame_*.png"))) == 4
    dreamed: list[int] = []
    # No seed given: the resume takes the recorded one.
    resumed = dream_video(
        clip, tmp_path / "part", SPEC, FAST, engine=random_engine, on_event=lambda ev: dreamed.append(ev.index)
    )
    assert dreamed == list(range(4, 8))
    assert [p.read_bytes() for p in resumed.frames] == [p.read_bytes() for p in full.frames]
    with pytest.raises(DreamerError, match=r"other settings \(blend\)"):
        dream_video(clip, tmp_path / "part", SPEC.replace(blend=0.3), FAST, engine=random_engine)
    with pytest.raises(DreamerError, match="steps"):
        dream_video(clip, tmp_path / "part", SPEC, FAST.replace(steps=3), engine=random_engine)


def _with_sound(video: Path | None, out: Path, codec: str = "aac") -> Path:
    """``video`` with a 1 s 440 Hz tone (or the tone alone), made by imageio-ffmpeg's ffmpeg."""
    import imageio_ffmpeg

    cmd = [imageio_ffmpeg.get_ffmpeg_exe(), "-v", "error", *(["-i", str(video)] if video else []), "-f", "lavfi"]
    cmd += ["-i", "sine=frequency=440:duration=1", *(["-c:v", "copy"] if video else []), "-c:a", codec]
    subprocess.run([*cmd, "-shortest", str(out)], check=True, timeout=60)
    return out


def test_the_input_sound_is_kept_in_the_slice(clip: Path, tmp_path: Path, random_engine) -> None:
    loud = _with_sound(clip, tmp_path / "loud.mp4")
    assert probe(loud).audio
    dream_video(loud, tmp_path / "cut.mp4", SPEC.replace(start=0.25, duration=0.5), FAST, engine=random_engine)
    n, _, _, seconds = _stream(tmp_path / "cut.mp4")
    assert n == 4 and seconds is not None and abs(seconds - 0.5) < 0.1
    # Sound an MP4 cannot hold as it is (PCM from a .mkv) is re-encoded as AAC.
    pcm = _with_sound(clip, tmp_path / "pcm.mkv", codec="pcm_s16le")
    dream_video(pcm, tmp_path / "pcm.mp4", SPEC.replace(duration=0.5), FAST, engine=random_engine)
    with av.open(str(tmp_path / "pcm.mp4")) as box:
        assert box.streams.audio[0].codec_context.name == "aac"
    assert abs(_stream(tmp_path / "pcm.mp4")[3] - 0.5) < 0.1


def test_the_flow_follows_a_known_pan_and_marks_the_moving_object() -> None:
    frames, motion, boxes = motion_frames(sample_path("chelsea"), 3, (96, 64), pan=(4.0, 0.0), object_speed=(6, 0))
    a, b = fl.gray(frames[1]), fl.gray(frames[2])
    back, fwd = fl.flow(b, a), fl.flow(a, b)
    x0, y0, x1, y1 = boxes[2]
    background = np.ones(back.shape[:2], bool)
    background[:, max(x0 - 12, 0) : x1 + 12] = False
    # The camera pans 4 source px = 2 frame px per frame: the content moves left, the back flow points right.
    assert abs(np.median(back[background][:, 0]) + motion[2][0, 2]) < 0.3
    warped = fl.warp(frames[1].astype(np.float32), back)
    assert np.abs(warped - frames[2])[background].mean() < 0.4 * np.abs(frames[1].astype(float) - frames[2]).mean()
    occluded = fl.occlusion(back, fwd, 1.0)
    near_object = np.zeros_like(occluded)
    near_object[y0:y1, max(x0 - 8, 0) : x1 + 8] = True
    elsewhere = ~near_object
    elsewhere[:4], elsewhere[-4:], elsewhere[:, :4], elsewhere[:, -4:] = False, False, False, False  # not the borders
    assert occluded[near_object].mean() > 0.05 and occluded[elsewhere].mean() < 0.01


def test_carried_detail_does_not_pile_up_on_a_still_scene() -> None:
    still = np.asarray(np.random.default_rng(0).integers(60, 200, (32, 32, 3)), np.uint8)
    first = np.clip(still + 12, 0, 255).astype(np.uint8)  # the first frame's dream: +12 everywhere

    def run(spec: VideoSpec) -> float:
        out = first
        reference = rms((first.astype(np.float32) - still) / 255)
        for _ in range(12):  # each short dream adds +6 on top of what was carried
            start, _ = carry(still, out, still, spec, reference)
            out = np.clip(start * 255 + 6.5, 0, 255).astype(np.uint8)
        return float((out.astype(float) - still).mean())

    assert run(VideoSpec()) < 12 + 6 + 1  # capped at the first frame's strength, plus one short dream
    assert run(VideoSpec(blend=1.0, detail_cap=0.0)) > 60  # uncapped, it brightens frame after frame


def test_spec_declares_every_knob_and_rejects_bad_values() -> None:
    for field in dataclasses.fields(VideoSpec):
        assert field.metadata["knob"].help and field.metadata["knob"].kind == Kind.LOOK, field.name
    for bad, words in [
        ({"blend": 1.5}, "blend must be at most 1"),
        ({"mode": "warp"}, "mode must be one of"),
        ({"fps": 0.0}, "fps must be greater than 0"),
        ({"frame_steps": -1}, "frame_steps must be at least"),
        ({"start": float("nan")}, "start must be a finite"),
    ]:
        with pytest.raises(DreamerError, match=words):
            VideoSpec(**bad)


def _one_line_error(result) -> str:
    assert result.exit_code == 1, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.output, result.output
    return lines[0]


def test_bad_inputs_are_one_line_and_leave_nothing(clip: Path, tmp_path: Path, monkeypatch) -> None:
    runner = CliRunner()
    text = tmp_path / "notes.mp4"
    text.write_text("not a video at all")
    sound = _with_sound(None, tmp_path / "sound.m4a")  # audio only
    empty = tmp_path / "empty.mkv"
    with av.open(str(empty), "w") as box:  # a video stream with no frames in it
        s = box.add_stream("libx264", rate=10)
        s.width, s.height, s.pix_fmt = 16, 16, "yuv420p"
        box.start_encoding()
    (tmp_path / "afile").write_text("x")
    out = tmp_path / "out"
    out.mkdir()
    cases = [
        ([str(text), "-o", str(out / "a.mp4")], "not a video"),
        ([str(sound), "-o", str(out / "a.mp4")], "has no video stream"),
        ([str(empty), "-o", str(out / "a.mp4")], "has no frames"),
        ([str(tmp_path / "missing.mp4"), "-o", str(out / "a.mp4")], "no such file"),
        ([str(clip), "-o", str(tmp_path / "nowhere" / "a.mp4")], "does not exist"),
        ([str(clip), "-o", str(out / "a.avi")], "unknown video type"),
        ([str(clip), "-o", str(clip)], "is the input video"),
        ([str(clip), "-o", str(out / "a.mp4"), "--frames-dir", str(tmp_path / "afile")], "is a file"),
        ([str(clip), "-o", str(out / "a.mp4"), "--start", "5"], "past the end"),
        ([str(clip), "-o", str(out / "a.mp4"), "--blend", "2"], "--blend must be at most 1"),
    ]
    for args, words in cases:
        line = _one_line_error(runner.invoke(cli, ["video", *args, "-q"]))
        assert words in line, (args, line)
    assert _leftovers(out) == []
    # A frame the memory plan cannot hold: refused with the --max-side that fits, before anything is written.
    monkeypatch.setenv("DREAMER_MAX_MEMORY", "1M")
    line = _one_line_error(runner.invoke(cli, ["video", str(clip), "-o", str(out / "a.mp4"), "--octaves", "1"]))
    assert "--max-side" in line and _leftovers(out) == []


def test_a_stream_corrupt_midway_keeps_what_came_before(clip: Path, tmp_path: Path, random_engine, use_random_model):
    with av.open(str(clip)) as box:  # where the 6th frame's data lies in the file
        middle = [p.pos for p in box.demux(video=0) if p.size][5]
    data = bytearray(clip.read_bytes())
    data[middle : middle + 600] = np.random.default_rng(1).integers(0, 256, 600, dtype=np.uint8).tobytes()
    broken = tmp_path / "broken.mp4"
    broken.write_bytes(bytes(data))
    result = dream_video(broken, tmp_path / "b.mp4", SPEC, FAST.replace(seed=1), engine=random_engine)
    assert result.stopped and "corrupt after" in result.stopped and 0 < len(result.frames) < 8
    assert f"after {len(result.frames)} good frames" in result.stopped
    assert _stream(tmp_path / "b.mp4")[0] == len(result.frames)
    # The command: exit 1 with one line that says where it stopped and what was written.
    args = ["video", str(broken), "-o", str(tmp_path / "c.gif"), "--seed", "1", "--octaves", "1", "--steps", "1", "-q"]
    line = _one_line_error(CliRunner().invoke(cli, [*args, "--max-side", "48", "--frame-steps", "1"]))
    assert f"after {len(result.frames)} good frames" in line and f"with the {len(result.frames)} frames" in line
    assert (tmp_path / "c.gif").is_file()


def test_cli_writes_the_video_and_says_so(clip: Path, tmp_path: Path, use_random_model) -> None:
    args = ["video", str(clip), "-o", str(tmp_path / "v.gif"), "--seed", "2", "--octaves", "1", "--steps", "1"]
    result = CliRunner().invoke(cli, [*args, "--max-side", "48", "--frame-steps", "1", "--duration", "0.5"])
    assert result.exit_code == 0, result.output
    assert "wrote" in result.output and "4 frames at 8 fps" in result.output
    bar = result.output.split("wrote")[0].replace("\r", "\n").splitlines()[-1]
    assert "4/4" in bar and " frames/s" in bar and "frame/s" not in bar and "fps=" not in bar  # one rate, done
    state = json.loads((tmp_path / "v_gif_frames" / STATE).read_text())
    assert state["video"]["frame_steps"] == 1 and state["spec"]["seed"] == 2
    # The frames are at the work size, and the state says so (it said resize_back: true beside 48 px frames).
    assert state["spec"]["resize_back"] is False and max(Image.open(tmp_path / "v.gif").size) == 48
    assert "--resize-back" not in CliRunner().invoke(cli, ["video", "--help"]).output
    # Every VideoSpec knob is an option showing its help and default.
    options = {p.name: p for p in cli.commands["video"].params}
    for field in dataclasses.fields(VideoSpec):
        help_text = options[field.name].help or ""
        assert field.metadata["knob"].help in help_text and "[default: " in help_text, field.name


def test_without_the_extra_the_command_says_how_to_install_it(clip: Path, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "cv2", None)
    line = _one_line_error(CliRunner().invoke(cli, ["video", str(clip), "-o", str(tmp_path / "a.mp4")]))
    assert "pip install 'dreamer-art[video]'" in line and not os.listdir(tmp_path)


def test_every_video_is_scored_against_its_input_and_frame_by_frame(clip: Path, tmp_path: Path, random_engine):
    from dreamer.video.score import line

    fast = FAST.replace(seed=5, steps=4)
    out = dream_video(clip, tmp_path / "s.mp4", SPEC.replace(score_frames=4), fast, engine=random_engine)
    score = out.score
    assert score is not None and score["pairs"] == 7
    print(line(score))
    fbf = score["frame_by_frame"]
    assert fbf["frames"] == 4 and fbf["steadier"] > 1.2, score  # the carry is steadier than dreaming each frame anew
    assert score["input"] < score["warp_error"] < fbf["error"]
    # The same record in video.json and in the MP4's comment.
    assert json.loads((tmp_path / "s_mp4_frames" / STATE).read_text())["score"] == score
    with av.open(str(tmp_path / "s.mp4")) as box:
        assert json.loads(box.metadata["comment"])["dreamer_temporal_consistency"] == score
    # Frame by frame has nothing to compare against; a resume reuses the recorded sample (same frames, same score).
    alone = dream_video(clip, tmp_path / "f", SPEC.replace(mode="frames"), fast, engine=random_engine)
    assert "frame_by_frame" not in alone.score and alone.score["warp_error"] > score["warp_error"]
    again = dream_video(clip, tmp_path / "s.mp4", SPEC.replace(score_frames=4), fast, engine=random_engine)
    assert again.score == score
