"""``--spectrum FOLDER``: files that are not photos or too small are skipped and named; none usable is one line."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner
from PIL import Image

from dreamer.cli import cli
from dreamer.errors import DreamerError, DreamerWarning
from dreamer.featvis.param import maco
from dreamer.samples import sample_path

GRID = ["grid", "--layer", "blocks.2", "--channels", "0", "--size", "32", "--steps", "1", "--param", "maco", "-q"]


def hostile_folder(folder: Path, with_photo: bool) -> Path:
    """A spectrum folder: a text file and a zero-byte file named as photos, a 1x1 and a 3x200 photo."""
    folder.mkdir()
    (folder / "notes.png").write_text("not an image")
    (folder / ".png").write_text("a hidden file named only by its suffix")
    (folder / "empty.jpg").write_bytes(b"")
    Image.new("RGB", (1, 1), (200, 10, 10)).save(folder / "dot.png")
    Image.new("RGB", (3, 200), (10, 200, 10)).save(folder / "thin.png")
    if with_photo:
        Image.open(sample_path("coffee")).convert("RGB").resize((96, 64)).save(folder / "coffee.png")
    return folder


def test_bad_files_are_skipped_and_named(tmp_path: Path) -> None:
    folder = hostile_folder(tmp_path / "spec", with_photo=True)
    with pytest.warns(DreamerWarning, match="skipped 4 of the spectrum's photos") as caught:
        spectrum = maco.load_spectrum(str(folder))
    said = str(caught[0].message)
    assert all(name in said for name in ("notes.png", "empty.jpg", "dot.png (1x1", "thin.png (3x200")), said
    assert spectrum.shape == (3, maco.SPECTRUM_SIDE, maco.SPECTRUM_SIDE // 2 + 1) and bool(spectrum.isfinite().all())


def test_a_folder_with_no_usable_photo_is_one_line_naming_it(tmp_path: Path) -> None:
    folder = hostile_folder(tmp_path / "bad", with_photo=False)
    with pytest.raises(DreamerError, match=r"bad: no usable photo in the folder \(.*dot\.png") as caught:
        maco.load_spectrum(str(folder))
    assert caught.value.field == "spectrum"


def test_grid_command_with_a_hostile_spectrum_folder(tmp_path: Path, use_random_model: None) -> None:
    runner = CliRunner()
    bad = hostile_folder(tmp_path / "bad", with_photo=False)
    out = tmp_path / "g.png"
    result = runner.invoke(cli, [*GRID, "--spectrum", str(bad), "-o", str(out)])
    lines = result.output.strip().splitlines()
    assert result.exit_code == 1 and len(lines) == 1 and "Traceback" not in result.output, result.output
    assert "--spectrum" in lines[0] and "no usable photo" in lines[0] and str(bad) in lines[0], lines[0]
    assert not out.exists()
    good = hostile_folder(tmp_path / "good", with_photo=True)
    result = runner.invoke(cli, [*GRID, "--spectrum", str(good), "-o", str(out)])
    assert result.exit_code == 0 and out.is_file(), result.output
    assert "skipped 4" in result.output and "notes.png" in result.output, result.output
