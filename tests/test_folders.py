"""Output folders holding the user's files: refused in one line, nothing touched.

Every command that writes a folder looks at what it really holds; only its own earlier output is reused.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from dreamer.cli import cli
from dreamer.lecture.lesson import MARKER
from tests.test_lesson import make_lesson

FAST = ["--steps", "1", "--octaves", "1", "--max-side", "48", "--seed", "1"]


def run(*args: object):
    """The CLI in process."""
    return CliRunner().invoke(cli, [str(a) for a in args])


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def _refused(result, folder: Path, *names: str) -> None:
    lines = result.output.strip().splitlines()
    assert result.exit_code == 1 and "Traceback" not in result.output, result.output
    errors = [line for line in lines if line.startswith("Error: ")]
    assert len(errors) == 1 and str(folder) in errors[0] and "not" in errors[0], result.output
    for name in names:
        assert name in errors[0], result.output


def _users_folder(tmp_path: Path, *names: str) -> Path:
    folder = tmp_path / "mine"
    folder.mkdir()
    for name in names:
        (folder / name).write_text(f"the user's own {name}")
    return folder


@pytest.mark.parametrize(
    "own",
    [
        {MARKER: '{"kind": "lesson"}', "notes.txt": "mine"},  # a lesson.json of the user's, beside other files
        {MARKER: "[1, 2]", "index.html": "my page"},  # a lesson.json that is no lesson's record
    ],
)
def test_lesson_keeps_a_folder_that_only_has_a_file_named_lesson_json(cat: Path, tmp_path: Path, own) -> None:
    folder = tmp_path / "mine"
    folder.mkdir()
    for name, text in own.items():
        (folder / name).write_text(text)
    before = _snapshot(folder)
    _refused(run("lesson", cat, "-o", folder, "-q"), folder)
    assert _snapshot(folder) == before


def test_an_earlier_lesson_with_the_users_files_added_is_kept(cat: Path, tmp_path: Path, random_model) -> None:
    out = tmp_path / "out"
    make_lesson(cat, out, random_model)
    assert sorted(json.loads((out / MARKER).read_text())["files"]) == sorted(p.name for p in out.iterdir())
    (out / "my notes.txt").write_text("keep me")
    before = _snapshot(out)
    _refused(run("lesson", cat, "-o", out, "-q"), out, "my notes.txt")
    assert _snapshot(out) == before
    (out / "my notes.txt").unlink()
    record = json.loads((out / MARKER).read_text())
    del record["files"]  # a lesson of 0.2, before the record listed its files: known names only
    (out / MARKER).write_text(json.dumps(record))
    make_lesson(cat, out, random_model, top=1)  # replaced whole
    assert "my notes.txt" not in {p.name for p in out.iterdir()}


def test_zoom_frames_go_only_into_an_empty_folder_or_their_own(use_random_model, cat: Path, tmp_path: Path) -> None:
    folder = _users_folder(tmp_path, "holiday.jpg", "frame_00000.png.txt")
    before = _snapshot(folder)
    _refused(run("zoom", cat, "--frames", "2", "--frames-dir", folder, *FAST), folder, "holiday.jpg")
    _refused(run("zoom", cat, "--frames", "2", "-o", folder, *FAST), folder, "holiday.jpg")  # -o FOLDER: frames only
    assert _snapshot(folder) == before
    ok = tmp_path / "frames"
    assert run("zoom", cat, "--frames", "2", "--frames-dir", ok, "-o", tmp_path / "z.gif", *FAST).exit_code == 0
    again = run("zoom", cat, "--frames", "3", "--frames-dir", ok, "-o", tmp_path / "z.gif", *FAST)  # its own: resumed
    assert again.exit_code == 0 and len(list(ok.glob("frame_*.png"))) == 3, again.output


def test_video_frames_refuse_the_users_folder(use_random_model, tmp_path: Path) -> None:
    pytest.importorskip("av")
    pytest.importorskip("cv2")
    from dreamer.samples import sample_path
    from dreamer.video.synth import motion_clip

    clip = tmp_path / "pan.mp4"
    motion_clip(sample_path("chelsea"), clip, 2, size=(64, 48), fps=8.0)
    folder = _users_folder(tmp_path, "essay.docx")
    before = _snapshot(folder)
    _refused(run("video", clip, "-o", tmp_path / "v.gif", "--frames-dir", folder, *FAST), folder, "essay.docx")
    assert _snapshot(folder) == before and not (tmp_path / "v.gif").exists()


@pytest.mark.parametrize("names", [("index.html",), ("portrait.png", "index.html", "a.txt", "b.txt")])
def test_a_gallery_keeps_off_the_users_folder(use_random_model, photos: Path, tmp_path: Path, names) -> None:
    folder = _users_folder(tmp_path, *names)
    before = _snapshot(folder)
    result = run("gallery", photos, "-s", "classic", "-o", folder, *FAST)
    _refused(result, folder, sorted(names)[0])
    assert _snapshot(folder) == before
    if len(names) > 3:
        assert "and 1 more" in result.output


def test_a_gallery_resumes_its_own_folder(use_random_model, photos: Path, tmp_path: Path) -> None:
    out = tmp_path / "g"
    assert run("gallery", photos, "-s", "classic", "-o", out, *FAST).exit_code == 0
    again = run("gallery", photos, "-s", "classic", "-s", "gentle", "-o", out, *FAST)
    assert again.exit_code == 0 and "3 rendered, 3 already there" in again.output, again.output
    (out / "gallery.sqlite").unlink()  # no gallery store, and no longer a gallery's manifest: its pages are not claimed
    (out / "manifest.json").write_text("{}")
    _refused(run("gallery", photos, "-s", "classic", "-o", out, *FAST), out, "contact_sheet.png")
