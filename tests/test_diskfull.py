"""A full disk mid-write: one line, no partial file, and a rerun after space is freed completes.

A render, a gallery and a video are tried (the gallery and the video keep what they finished).

The folder is a tmpfs of its own, filled up to ``room`` bytes, where this machine lets the test
mount one (root); elsewhere every atomic write into it fails with ``ENOSPC`` once ``room`` is used.
"""

from __future__ import annotations

import errno
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from PIL import Image

from dreamer.cli import cli
from dreamer.samples import sample_path

FULL = "No space left on device"
FAST = ["--steps", "1", "--octaves", "1", "--no-resize-back", "--max-side", "96", "--seed", "1"]
TMPFS = 8 << 20


class SmallDisk:
    """A folder with ``room`` bytes left until ``free()``."""

    def __init__(self, base: Path, room: int, monkeypatch: pytest.MonkeyPatch) -> None:
        self.path = base / "disk"
        self.path.mkdir()
        self.mounted = _mount(self.path)
        if self.mounted:
            self.filler = self.path / ".filler"
            self.filler.write_bytes(b"\0" * (TMPFS - room))
            self.filler.chmod(0o400)
        else:  # simulated: the fsync of any file past the room fails, as a real disk's write would
            self.limit: float = room
            real_fsync = os.fsync

            def fsync(fd: int) -> None:
                if _used(self.path) > self.limit and Path(os.readlink(f"/proc/self/fd/{fd}")).is_relative_to(self.path):
                    raise OSError(errno.ENOSPC, FULL)
                real_fsync(fd)

            monkeypatch.setattr(os, "fsync", fsync)

    def free(self) -> None:
        """Make room for everything."""
        if self.mounted:
            self.filler.unlink()
        else:
            self.limit = float("inf")

    def files(self) -> list[Path]:
        """Every file the commands left (the filler aside)."""
        return sorted(p for p in self.path.rglob("*") if p.is_file() and p.name != ".filler")

    def close(self) -> None:
        """Unmount (a lazy unmount: nothing may hold it busy)."""
        if self.mounted:
            subprocess.run(["umount", "-l", str(self.path)], check=False)


def _mount(path: Path) -> bool:
    if os.geteuid() != 0 or shutil.which("mount") is None:
        return False
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={TMPFS}", "tmpfs", str(path)], capture_output=True)
    return done.returncode == 0


def _used(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


@pytest.fixture()
def small_disk(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[type]:
    """Make SmallDisks with a given room; each is unmounted at the end."""
    made: list[SmallDisk] = []

    def make(room: int) -> SmallDisk:
        base = tmp_path / f"disk{len(made)}"
        base.mkdir()
        made.append(SmallDisk(base, room, monkeypatch))
        return made[-1]

    yield make
    for disk in made:
        disk.close()


def run(*args: object):
    """The CLI in process."""
    return CliRunner().invoke(cli, [str(a) for a in args])


def _complete(path: Path) -> bool:
    with Image.open(path) as im:
        im.load()  # a truncated file fails here
    return True


def _lines(result, start: str) -> list[str]:
    return [line for line in result.output.replace("\r", "\n").splitlines() if line.startswith(start)]


def _no_partials(disk: SmallDisk) -> None:
    parts = [p.name for p in disk.files() if p.name.endswith(".part") or p.stat().st_size == 0]
    assert parts == [], parts


def test_a_render_on_a_full_disk_is_one_line_and_a_rerun_completes(use_random_model, small_disk, cat: Path) -> None:
    disk = small_disk(4096)
    out = disk.path / "o.png"
    result = run("render", cat, "-o", out, *FAST)
    assert result.exit_code == 1 and "Traceback" not in result.output, result.output
    assert _lines(result, "Error: ") == [f"Error: {out}: cannot write ({FULL})"], result.output
    assert disk.files() == []  # neither the output nor its temporary file
    disk.free()
    again = run("render", cat, "-o", out, *FAST)
    assert again.exit_code == 0 and _complete(out), again.output


@pytest.mark.parametrize("kib", [2, 16, 160])  # full at the lock, at the job store (~90 KiB), after a few dreams
def test_a_gallery_that_fills_its_disk_keeps_what_it_finished_and_resumes(
    use_random_model, small_disk, photos: Path, kib: int
) -> None:
    disk = small_disk(kib << 10)
    out = disk.path / "g"
    result = run("gallery", photos, "-s", "classic", "-s", "gentle", "-o", out, *FAST)
    assert result.exit_code == 1 and "Traceback" not in result.output, result.output
    assert any(FULL in line for line in result.output.splitlines()), result.output
    _no_partials(disk)
    kept = [p for p in disk.files() if p.parent == out and p.name.endswith(("__classic.png", "__gentle.png"))]
    assert len(kept) < 6 and (kib < 160 or kept), [p.name for p in disk.files()]
    assert all(_complete(p) for p in kept)
    disk.free()
    again = run("gallery", photos, "-s", "classic", "-s", "gentle", "-o", out, *FAST)
    assert again.exit_code == 0, again.output
    assert f"{6 - len(kept)} rendered, {len(kept)} already there, 0 failed" in again.output, again.output
    assert all(_complete(p) for p in out.glob("*__*.png")) and len(list(out.glob("*__*.png"))) == 6


def test_a_video_that_fills_its_disk_resumes_from_the_frames_it_wrote(
    use_random_model, small_disk, tmp_path: Path
) -> None:
    pytest.importorskip("av")
    pytest.importorskip("cv2")
    from dreamer.video.synth import motion_clip

    clip = tmp_path / "pan.mp4"
    motion_clip(sample_path("chelsea"), clip, 8, size=(64, 48), fps=8.0)
    disk = small_disk(16 << 10)  # a few 48 px frames
    out, frames = disk.path / "v.mp4", disk.path / "frames"
    fast = ["--steps", "1", "--octaves", "1", "--max-side", "48", "--seed", "1", "--frame-steps", "1"]
    args = ["video", clip, "-o", out, "--frames-dir", frames, *fast]
    result = run(*args)
    assert result.exit_code == 1 and "Traceback" not in result.output, result.output
    assert len(_lines(result, "Error: ")) == 1 and FULL in _lines(result, "Error: ")[0], result.output
    _no_partials(disk)
    written = sorted(frames.glob("frame_*.png"))
    assert 0 < len(written) < 8 and all(_complete(p) for p in written), [p.name for p in disk.files()]
    assert not out.exists()
    disk.free()
    again = run(*args)
    assert again.exit_code == 0 and "8 frames" in again.output, again.output
    assert len(list(frames.glob("frame_*.png"))) == 8 and out.stat().st_size > 0
