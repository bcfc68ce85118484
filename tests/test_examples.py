"""Examples that cannot rot: every bash and Python block of README.md runs as written, with the installed wheel.

Each block runs in a fresh folder holding the photos, mask, style file and clip the examples name, with
``DREAMER_QUICK=1`` (sizes, steps and frames capped small: the examples are never edited) and no network (the
installed venv's offline guard). Python blocks run as in a notebook, where ``display`` exists. A block preceded
by a line starting ``*Illustrative`` says why it is not run; it is the exception, and it is counted.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import installed
import pytest
from PIL import Image, ImageDraw

from dreamer.samples import sample_path

pytestmark = pytest.mark.slow

README = installed.ROOT / "README.md"
FENCE = re.compile(r"^(?P<before>[^\n]*)\n```(?P<lang>bash|python)\n(?P<body>.*?)^```$", re.S | re.M)
NOTEBOOK_PRELUDE = "from IPython.display import display\n"
MOST_ILLUSTRATIVE = 6  # make demo/test, pip lines, a multi-machine Ray cluster, the studio server, benchmarks


def blocks() -> list[tuple[int, str, str, bool]]:
    """(line, language, code, illustrative) for each fenced bash or Python block of the README."""
    text = README.read_text(encoding="utf-8")
    return [
        (text.count("\n", 0, m.start("body")) + 1, m["lang"], m["body"], m["before"].startswith("*Illustrative"))
        for m in FENCE.finditer(text)
    ]


def workspace(folder: Path) -> Path:
    """The files the examples name, made small from the bundled photos."""
    cat, coffee, astronaut = (Image.open(sample_path(n)).convert("RGB") for n in ("chelsea", "coffee", "astronaut"))
    for name, image in {"photo.jpg": cat, "cat.jpg": cat, "other.jpg": astronaut, "coffee.jpg": coffee}.items():
        image.resize((64, 48)).save(folder / name)
    cat.resize((96, 72)).save(folder / "huge.jpg")
    mask = Image.new("L", (64, 48), 0)
    ImageDraw.Draw(mask).ellipse((16, 8, 48, 40), fill=255)
    mask.save(folder / "mask.png")
    (folder / "my-look.toml").write_text('description = "my look"\nlayers = ["blocks.3"]\nsteps = 4\n')
    for sub, names in {"photos": ("a.jpg", "b.png"), "more": ("c.jpg",)}.items():
        (folder / sub).mkdir()
        for name in names:
            coffee.resize((48, 64)).save(folder / sub / name)
    from dreamer.video.synth import motion_clip

    motion_clip(sample_path("coffee"), folder / "clip.mp4", frames=56, size=(64, 48), fps=4.0, pan=(1.0, 0.0))
    return folder


def test_the_readme_has_examples_and_few_illustrative_ones() -> None:
    found = blocks()
    assert len(found) >= 15 and sum(illustrative for *_, illustrative in found) <= MOST_ILLUSTRATIVE


@pytest.mark.parametrize(
    ("line", "lang", "code"),
    [pytest.param(line, lang, code, id=f"README.md:{line}") for line, lang, code, shown in blocks() if not shown],
)
def test_readme_example_runs_as_written(
    release: installed.Release, outside: Path, line: int, lang: str, code: str
) -> None:
    folder = workspace(outside)
    env = release.env(folder) | {"DREAMER_QUICK": "1"}
    if lang == "bash":
        command = ["bash", "-euo", "pipefail", "-c", code]
    else:
        command = [str(release.bin / "python"), "-c", NOTEBOOK_PRELUDE + code]
    done = subprocess.run(command, cwd=folder, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, f"README.md:{line} failed:\n{done.stderr[-4000:]}"
    assert not installed.network_log(folder).exists(), installed.network_log(folder).read_text()
