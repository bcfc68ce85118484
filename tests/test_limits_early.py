"""Output formats' own limits (GIF timing, GIF/MP4/WebP/JPEG sizes, MP4 frame rates) refused before any work."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner
from PIL import Image

from dreamer.cli import cli
from dreamer.errors import DreamerError, DreamerWarning
from dreamer.outputs.animation import assemble
from dreamer.outputs.limits import GIF_MIN_FPS, check_animation

pytest.importorskip("av")
pytest.importorskip("cv2")

from dreamer.spec import VIDEO_SPEC, VideoSpec  # noqa: E402
from dreamer.video.run import dream_video  # noqa: E402
from dreamer.video.synth import motion_clip  # noqa: E402


def one_line(result) -> str:
    assert result.exit_code == 1 and "Traceback" not in result.output, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1, result.output
    return lines[0]


def frames(folder: Path, n: int = 2) -> list[Path]:
    folder.mkdir(exist_ok=True)
    out = []
    for i in range(n):
        out.append(folder / f"f{i}.png")
        Image.new("RGB", (32, 24), (i * 90, 30, 60)).save(out[-1])
    return out


@pytest.mark.parametrize(("ext", "fps"), [("gif", 0.001), ("gif", 0.0015), ("mp4", 1e-6), ("mp4", 1e-9)])
def test_zoom_refuses_a_frame_rate_its_format_cannot_time_before_any_frame(
    cat: Path, tmp_path: Path, use_random_model: None, ext: str, fps: float
) -> None:
    out = tmp_path / "out"
    out.mkdir()
    args = ["zoom", str(cat), "--frames", "2", "--fps", repr(fps), "-o", str(out / f"z.{ext}"), "-q"]
    line = one_line(CliRunner().invoke(cli, args))
    assert "--fps" in line and "too low" in line and f"z.{ext}" in line, line
    assert list(out.iterdir()) == []  # no frames folder: nothing was dreamed


def test_zoom_at_the_gif_limit_still_works(cat: Path, tmp_path: Path, use_random_model: None) -> None:
    out = tmp_path / "z.gif"
    args = ["zoom", str(cat), "--frames", "2", "--fps", "0.0016", "--steps", "1", "--octaves", "1", "-o", str(out)]
    result = CliRunner().invoke(cli, [*args, "-q"])
    assert result.exit_code == 0, result.output
    with Image.open(out) as gif:
        assert gif.info["duration"] == 625_000  # 0.0016 fps: 625 s a frame, within the 16-bit count of 10 ms


def test_video_refuses_a_gif_frame_rate_before_any_frame(tmp_path: Path, random_engine) -> None:
    from dreamer.samples import sample_path

    clip = tmp_path / "c.mp4"
    motion_clip(sample_path("chelsea"), clip, 3, size=(48, 32), fps=8.0)
    out = tmp_path / "out"
    out.mkdir()
    with pytest.raises(DreamerError, match=r"fps.*too low for .*d\.gif") as caught:
        dream_video(clip, out / "d.gif", VideoSpec(fps=0.001), VIDEO_SPEC.replace(max_side=32), engine=random_engine)
    assert caught.value.field == "fps"
    assert list(out.iterdir()) == []


def test_assemble_refuses_what_a_gif_cannot_time_in_one_line(tmp_path: Path) -> None:
    paths = frames(tmp_path / "frames")
    with pytest.raises(DreamerError, match="too low"):  # was struct.error from Pillow, after all the work
        assemble(paths, tmp_path / "a.gif", GIF_MIN_FPS / 2)
    assert not (tmp_path / "a.gif").exists()
    assemble(paths, tmp_path / "b.gif", GIF_MIN_FPS * 1.01)
    with pytest.warns(DreamerWarning, match="at most 50 frames per second"):
        assemble(paths, tmp_path / "c.gif", 120.0)


@pytest.mark.parametrize(
    ("kind", "size", "ok"),
    [("gif", (65535, 2), True), ("gif", (65536, 2), False), ("mp4", (16384, 16), True), ("mp4", (16386, 16), False)],
)
def test_frame_sizes_each_format_holds(kind: str, size: tuple[int, int], ok: bool) -> None:
    if ok:
        check_animation(f"a.{kind}", kind, 24.0, size)
    else:
        with pytest.raises(DreamerError, match=r"at most \d+ px on a side.*smaller max_side"):
            check_animation(f"a.{kind}", kind, 24.0, size)


@pytest.mark.parametrize(("ext", "side"), [(".webp", 16384), (".jpg", 65536)])
def test_render_refuses_a_still_its_format_cannot_hold_before_work(
    tmp_path: Path, use_random_model: None, ext: str, side: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DREAMER_MAX_PIXELS", str(10**9))
    photo = tmp_path / "wide.png"
    Image.new("RGB", (side, 2), (90, 60, 30)).save(photo)
    out = tmp_path / f"out{ext}"
    args = ["render", str(photo), "--max-side", "64", "--steps", "1", "-o", str(out), "-q"]
    line = one_line(CliRunner().invoke(cli, args))
    assert "px on a side" in line and out.name in line, line
    assert not out.exists()


def no_work(*_args: object, **_kwargs: object) -> None:
    raise AssertionError("the work started before the output's limits were checked")


@pytest.mark.parametrize(
    "args",
    [
        ["grid", "--layer", "blocks.2", "--channels", "0-7", "--columns", "8", "--size", "2048"],
        ["maps", "PHOTO", "--layer", "blocks.2", "--top", "4", "--columns", "4", "--size", "2048"],
        ["sweep", "WIDE"],
    ],
    ids=["grid", "maps", "sweep"],
)
def test_sheets_too_wide_for_webp_are_refused_before_work(
    cat: Path, tmp_path: Path, use_random_model: None, monkeypatch: pytest.MonkeyPatch, args: list[str]
) -> None:
    from dreamer.engine import visualize
    from dreamer.lecture import run

    monkeypatch.setattr(visualize, "_run", no_work)
    monkeypatch.setattr(run, "dream", no_work)
    wide = tmp_path / "wide.png"
    Image.new("RGB", (3000, 40), (90, 60, 30)).save(wide)
    out = tmp_path / "sheet.webp"
    args = [{"PHOTO": str(cat), "WIDE": str(wide)}.get(a, a) for a in args]
    line = one_line(CliRunner().invoke(cli, [*args, "-o", str(out), "-q"]))
    assert "WEBP images can be at most 16383 px on a side" in line and "sheet.webp" in line, line
    assert not out.exists()


def test_the_size_told_before_work_is_the_size_written(cat: Path, random_engine) -> None:
    from dreamer.lecture.sweep import sweep
    from dreamer.spec.specs import DreamSpec, VisSpec

    told: list[tuple[int, int]] = []
    vis = VisSpec(size=32, steps=1, seed=0)
    sheets = [
        random_engine.grid(vis, layer="blocks.2", channels=[0, 1, 2], fits=told.append),
        random_engine.maps(cat, "blocks.2", vis, top=3, fits=told.append),
        sweep(
            cat, ["blocks.1", "blocks.2"], DreamSpec(steps=1, octaves=1, seed=0), engine=random_engine, fits=told.append
        ),
    ]
    assert told == [s.size for s in sheets]
