"""Start-up: ``--help`` of every command, ``styles`` and ``info`` answer without importing anything heavy.

Each case runs the console entry point (``dreamer.cli.main``, process set-up included) in a fresh
interpreter and reports which heavy modules ended up in ``sys.modules``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import click
import pytest
from PIL import Image

import dreamer
from dreamer.cli import cli
from dreamer.outputs.images import save_image
from dreamer.outputs.metadata import document

HEAVY = ("torch", "torchvision", "numpy", "timm", "gradio", "ray", "cv2", "av", "imageio", "scipy", "matplotlib")
ROOT = Path(dreamer.__file__).resolve().parent.parent  # the code under test, not an installed copy
PROBE = """
import json, sys
heavy = json.loads(sys.argv[2])
sys.argv = ["dreamer", *json.loads(sys.argv[1])]
from dreamer.cli import main
try:
    main()
    code = 0
except SystemExit as exc:
    code = exc.code or 0
print(json.dumps({"code": code, "heavy": [m for m in heavy if m in sys.modules]}))
"""


def _command_paths(group: click.Group, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    """Every command and subcommand of ``group``, as the words that name it."""
    paths = []
    for name, command in sorted(group.commands.items()):
        paths.append((*prefix, name))
        if isinstance(command, click.Group):
            paths += _command_paths(command, (*prefix, name))
    return paths


def _fresh_run(args: list[str]) -> tuple[int, list[str], str]:
    """Exit status, the heavy modules imported and the output of ``dreamer ARGS`` in a new interpreter."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    proc = subprocess.run(
        [sys.executable, "-c", PROBE, json.dumps(args), json.dumps(HEAVY)],
        capture_output=True, text=True, env=env, check=True, timeout=120,
    )  # fmt: skip
    *output, report = proc.stdout.rstrip("\n").split("\n")
    result = json.loads(report)
    return result["code"], result["heavy"], "\n".join(output) + proc.stderr


def test_every_command_is_probed() -> None:
    paths = _command_paths(cli)
    assert ("render",) in paths and ("styles", "show") in paths and ("info",) in paths
    assert len(paths) >= 15


@pytest.mark.parametrize("words", [(), *_command_paths(cli)], ids=lambda words: " ".join(words) or "dreamer")
def test_help_imports_nothing_heavy(words: tuple[str, ...]) -> None:
    code, heavy, output = _fresh_run([*words, "--help"])
    assert code == 0 and f"Usage: dreamer {' '.join(words)}".rstrip() in output, output
    assert heavy == [], f"dreamer {' '.join(words)} --help imported {heavy}"


def test_styles_lists_without_heavy_imports() -> None:
    code, heavy, output = _fresh_run(["styles"])
    assert code == 0 and "gentle" in output, output
    assert heavy == []


def test_info_reads_a_png_without_heavy_imports(tmp_path: Path) -> None:
    png = save_image(
        Image.new("RGB", (8, 8)), tmp_path / "dream.png",
        metadata=document("dream", {"layers": ["blocks.4"], "steps": 3}, {"device": "cpu"}, seed=7),
    )  # fmt: skip
    code, heavy, output = _fresh_run(["info", str(png)])
    assert code == 0 and "blocks.4" in output and "seed" in output, output
    assert heavy == []
