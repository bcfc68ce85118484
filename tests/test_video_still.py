"""A still image renamed as a video (clip.mp4 that is a PNG) is refused in one line, pointing to `dreamer render`."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner
from PIL import Image

from dreamer.cli import cli

pytest.importorskip("av")
pytest.importorskip("cv2")


@pytest.mark.parametrize(
    ("fmt", "name"), [("PNG", "clip.mp4"), ("JPEG", "clip.mov"), ("WEBP", "clip.mkv"), ("GIF", "a.gif")]
)
def test_a_still_named_as_a_video_is_refused_in_one_line(tmp_path: Path, fmt: str, name: str) -> None:
    source = tmp_path / name
    Image.new("RGB", (64, 48), (120, 80, 40)).save(source, format=fmt)
    out = tmp_path / "out"
    out.mkdir()
    result = CliRunner().invoke(cli, ["video", str(source), "-o", str(out / "d.gif"), "-q"])
    lines = result.output.strip().splitlines()
    assert result.exit_code == 1 and len(lines) == 1, result.output
    assert "is a still image" in lines[0] and "dreamer render" in lines[0] and name in lines[0], lines[0]
    assert list(out.iterdir()) == []


def test_an_animated_gif_is_still_a_video(tmp_path: Path, use_random_model: None) -> None:
    source = tmp_path / "anim.gif"
    frames = [Image.new("RGB", (48, 32), (40 * i, 80, 40)) for i in range(3)]
    frames[0].save(source, save_all=True, append_images=frames[1:], duration=100, loop=0)
    out = tmp_path / "d.gif"
    args = ["video", str(source), "-o", str(out), "--max-side", "32", "--octaves", "1", "--steps", "1", "-q"]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    with Image.open(out) as gif:
        assert gif.n_frames >= 2
