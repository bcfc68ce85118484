"""Activation atlas and evidence: layout and binning, exemplar choice, resume, errors, the page's files."""

from __future__ import annotations

import sys
import types
from html.parser import HTMLParser
from pathlib import Path

import pytest
import torch
from click.testing import CliRunner

from dreamer.cli import cli
from dreamer.engine import Engine
from dreamer.engine.atlas import atlas
from dreamer.errors import DreamerError
from dreamer.featvis.exemplars import top_positions
from dreamer.featvis.layout import bin_points, layout_2d
from dreamer.spec.atlas import ATLAS_VIS, AtlasSpec

TINY = AtlasSpec(patches=24, grid=3, min_points=2, neighbours=2, layout="pca")
TINY_VIS = ATLAS_VIS.replace(size=32, steps=1, batch=4, crops=1, seed=0)


def test_bin_points_puts_each_point_in_its_cell_and_skips_sparse_cells() -> None:
    xy = torch.tensor([[0.0, 1.0], [0.1, 0.9], [1.0, 0.0], [0.95, 0.05], [0.9, 0.1], [0.5, 0.5]])
    b = bin_points(xy, 2, min_points=2)
    # row 0 is the top (largest y): the first two points are top-left, the next three bottom-right
    assert b.cells.tolist() == [0, 0, 3, 3, 3, 3]
    assert b.counts.tolist() == [2, 0, 0, 4] and b.kept == [0, 3]
    assert bin_points(xy, 2, min_points=3).kept == [3]
    assert bin_points(xy, 2, min_points=3).coverage() == pytest.approx(4 / 6)


def test_the_fallback_layouts_are_deterministic_and_keep_clusters_apart() -> None:
    g = torch.Generator().manual_seed(0)
    centres = torch.randn(3, 40, generator=g) * 4
    labels = torch.arange(150) % 3
    x = (centres[labels] + torch.randn(150, 40, generator=g)).relu()
    for method in ("pca", "tsne"):
        xy, used = layout_2d(x, method)
        again, _ = layout_2d(x.clone(), method)
        assert used == method and xy.shape == (150, 2) and torch.equal(xy, again)
        d = torch.cdist(xy, xy).fill_diagonal_(float("inf"))
        assert float((labels[d.argmin(1)] == labels).float().mean()) > 0.95, method


def test_auto_layout_takes_umap_when_installed(monkeypatch: pytest.MonkeyPatch) -> None:
    class FakeUMAP:
        def __init__(self, **kwargs: object) -> None:
            assert kwargs["metric"] == "cosine" and kwargs["random_state"] == 7

        def fit_transform(self, x: object) -> object:
            return x[:, :2]  # type: ignore[index]

    monkeypatch.setitem(sys.modules, "umap", types.SimpleNamespace(UMAP=FakeUMAP))
    monkeypatch.setattr("dreamer.featvis.layout.umap_installed", lambda: True)
    xy, used = layout_2d(torch.rand(10, 5), "auto", seed=7)
    assert used == "umap" and xy.shape == (10, 2)
    monkeypatch.setattr("dreamer.featvis.layout.umap_installed", lambda: False)
    assert layout_2d(torch.rand(10, 5), "auto")[1] == "tsne"
    with pytest.raises(DreamerError, match="umap-learn"):
        layout_2d(torch.rand(10, 5), "umap")


def test_top_positions_pick_the_strongest_and_skip_their_neighbours() -> None:
    m = torch.zeros(1, 6, 6)
    m[0, 1, 1], m[0, 1, 2], m[0, 4, 4], m[0, 0, 5] = 9.0, 8.0, 7.0, 3.0
    picks = top_positions(m, 3, radius=1)[0]
    assert picks == [(9.0, 1, 1), (7.0, 4, 4), (3.0, 0, 5)]  # 8.0 sits next to 9.0
    assert top_positions(m, 2, radius=0)[0] == [(9.0, 1, 1), (8.0, 1, 2)]


class _Images(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.sources: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "img":
            self.sources.append(dict(attrs)["src"] or "")


def test_atlas_writes_sheet_page_and_patches_and_resumes(random_engine: Engine, photos: Path, tmp_path: Path) -> None:
    out = tmp_path / "atlas"
    first = atlas(random_engine, [photos], out, "blocks.4", TINY, TINY_VIS)
    assert first.cells == len(list((out / "cells").iterdir())) and first.made == first.cells > 0
    assert first.points == 3 * 24 and 0 < first.coverage <= 1
    page = _Images()
    page.feed((out / "index.html").read_text(encoding="utf-8"))
    patches = [s for s in page.sources if s.startswith("patches/")]
    assert len(patches) == 2 * first.cells and len(page.sources) == 3 * first.cells
    assert all((out / s).is_file() for s in page.sources)
    again = atlas(random_engine, [photos], out, "blocks.4", TINY, TINY_VIS)
    assert again.made == 0 and again.cells == first.cells
    one = sorted((out / "cells").iterdir())[0]
    one.write_bytes(one.read_bytes()[:50])  # cut short, as by a killed run
    assert atlas(random_engine, [photos], out, "blocks.4", TINY, TINY_VIS).made == 1
    with pytest.raises(DreamerError, match="other settings"):
        atlas(random_engine, [photos], out, "blocks.4", TINY.replace(grid=4), TINY_VIS)


@pytest.mark.usefixtures("use_random_model")
@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--layer", "blocks.4"], "no photos"),
        (["PHOTOS", "--layer", "blocks.44"], "no layer 'blocks.44'"),
        (["PHOTOS", "--layer", "blocks.4", "--grid", "1"], "--grid"),
        (["PHOTOS", "--layer", "blocks.4", "--grid", "9", "--min-points", "500"], "no cell of the 9x9 grid"),
        (["PHOTOS", "--layer", "logits"], "not logits"),
        (["PHOTOS", "--layer", "blocks.4", "-o", "FOREIGN"], "holds files that are not an atlas's"),
    ],
)
def test_bad_atlas_input_is_one_line(photos: Path, tmp_path: Path, args: list[str], message: str) -> None:
    foreign = tmp_path / "mine"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("mine")
    args = [str(photos) if a == "PHOTOS" else str(foreign) if a == "FOREIGN" else a for a in args]
    if "-o" not in args:
        args += ["-o", str(tmp_path / "out")]
    result = CliRunner().invoke(cli, ["atlas", *args, "--size", "32", "--steps", "1", "--patches", "8", "-q"])
    assert result.exit_code != 0 and message in result.output, result.output
    assert len(result.output.strip().splitlines()) == 1 and "Traceback" not in result.output
    assert (foreign / "notes.txt").read_text() == "mine"


@pytest.mark.usefixtures("use_random_model")
def test_grid_evidence_puts_exemplars_in_the_sheet_and_metadata(photos: Path, tmp_path: Path) -> None:
    from PIL import Image

    from dreamer.outputs.metadata import read_metadata

    plain, shown = tmp_path / "plain.png", tmp_path / "evidence.png"
    common = ["grid", "--layer", "blocks.4", "--channels", "3,5", "--size", "32", "--steps", "1", "--seed", "0", "-q"]
    assert CliRunner().invoke(cli, [*common, "-o", str(plain)]).exit_code == 0
    result = CliRunner().invoke(cli, [*common, "--evidence", str(photos), "-o", str(shown)])
    assert result.exit_code == 0, result.output
    assert Image.open(shown).height > Image.open(plain).height  # the strips
    cells = read_metadata(shown)["evidence"]["cells"]
    assert set(cells) == {"blocks.4:3", "blocks.4:5"}
    for entry in cells.values():
        values = [e["value"] for e in entry["exemplars"]]
        assert len(values) == 4 and values == sorted(values, reverse=True)
        assert {e["photo"] for e in entry["exemplars"]} <= {"astronaut.png", "chelsea.png", "coffee.png"}
