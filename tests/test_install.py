"""What a user installs is what we test: the wheel, installed without ``-e`` into a fresh venv, runs every command.

Each command runs once on a tiny input from a folder outside the checkout, through the installed ``dreamer``
script, and must exit 0 with a valid output, with no network: the venv's ``sitecustomize`` refuses and records
every connection and name lookup that is not loopback, in every process (pool workers, the studio's server).
The sdist must carry the tests; the wheel every module of ``dreamer/`` and its data, and no tests or caches.
"""

from __future__ import annotations

import json
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

import installed
import pytest
from PIL import Image

from dreamer import DISTRIBUTION, __version__
from dreamer.samples import sample_path

pytestmark = pytest.mark.slow


def run(release: installed.Release, home: Path, *args: str, timeout: float = 240) -> str:
    """Run the installed ``dreamer`` in ``home``; assert it exits 0 and return what it printed."""
    done = subprocess.run(
        [str(release.bin / "dreamer"), *args],
        cwd=home,
        env=release.env(home),
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert done.returncode == 0, f"dreamer {' '.join(args)} exited {done.returncode}:\n{done.stderr[-3000:]}"
    assert not installed.network_log(home).exists(), installed.network_log(home).read_text()
    return done.stdout + done.stderr


def photo(folder: Path, name: str = "cat.png", size: tuple[int, int] = (64, 48)) -> Path:
    """A small copy of the bundled cat in ``folder``."""
    Image.open(sample_path("chelsea")).convert("RGB").resize(size).save(folder / name)
    return folder / name


def test_the_wheel_holds_every_module_and_no_tests(release: installed.Release) -> None:
    names = set(installed.wheel_names(release.wheel))
    sources = {str(p) for p in installed.source_files() if p.parts[0] == "dreamer" and p.suffix == ".py"}
    assert sources and sources <= names, f"missing from the wheel: {sorted(sources - names)}"
    assert {"dreamer/styles/classic.toml", "dreamer/assets/chelsea.png", "dreamer/assets/maco_spectrum.npy"} <= names
    assert {"dreamer/assets/imagenet_classes.txt", "dreamer/styles/cups.png"} <= names
    junk = [n for n in names if n.startswith("tests/") or "__pycache__" in n or n.endswith((".pyc", ".pyo"))]
    assert junk == []
    assert release.wheel.name.startswith(f"{installed.DIST}-{__version__}-")


def test_the_sdist_holds_the_tests_and_what_builds_them(release: installed.Release) -> None:
    names = set(installed.sdist_names(release.sdist))
    tests = {str(p) for p in installed.source_files() if p.parts[0] == "tests" and p.suffix == ".py"}
    assert tests and tests <= names, f"missing from the sdist: {sorted(tests - names)}"
    assert {"pyproject.toml", "README.md", "Makefile", "examples/quickstart.ipynb", "MANIFEST.in"} <= names
    assert not [n for n in names if "__pycache__" in n or n.endswith(".pyc")]


def test_version_names_the_distribution(release: installed.Release, outside: Path) -> None:
    assert run(release, outside, "--version").strip() == f"dreamer {__version__} (pip install {DISTRIBUTION})"


def test_doctor(release: installed.Release, outside: Path) -> None:
    out = run(release, outside, "doctor")
    assert f"{__version__} (pip install {DISTRIBUTION})" in out and str(release.venv) in out
    for word in ("python", "torch", "torchvision", "device", "studio", "video", "ray", "cache"):
        assert word in out


def test_render_info_replay_styles_and_layers(release: installed.Release, outside: Path) -> None:
    cat = photo(outside)
    run(release, outside, "render", "cat.png", "-o", "dream.png", "--steps", "1", "--octaves", "2", "--seed", "3")
    dream = Image.open(outside / "dream.png")
    assert dream.size == (64, 48) and json.loads(dream.text["dreamer"])["spec"]["seed"] == 3
    assert Image.open(cat).tobytes() != dream.convert("RGB").tobytes()
    assert '"seed": 3' in run(release, outside, "info", "dream.png", "--json")
    run(release, outside, "render", "cat.png", "--replay", "dream.png", "-s", "swirls", "-o", "again.png")
    assert json.loads(Image.open(outside / "again.png").text["dreamer"])["style"] == "swirls"
    assert "classic" in run(release, outside, "styles")
    assert "blocks.4" in run(release, outside, "layers")


def test_grid_maps_and_accent(release: installed.Release, outside: Path) -> None:
    photo(outside)
    small = ("--steps", "2", "--size", "32", "--seed", "1")
    run(release, outside, "grid", "--layer", "blocks.4", "--channels", "0-1", *small, "-o", "grid.png")
    run(release, outside, "maps", "cat.png", "--layer", "blocks.3", "--top", "2", *small)
    run(release, outside, "accent", "cat.png", "--class", "goldfish", *small, "-o", "fish.png")
    for name in ("grid.png", "cat_maps.png", "fish.png"):
        assert Image.open(outside / name).width >= 32


def test_zoom_and_video(release: installed.Release, outside: Path) -> None:
    from dreamer.video.synth import motion_clip

    photo(outside)
    small = ("--steps", "1", "--octaves", "1", "--max-side", "48", "--seed", "1")
    run(release, outside, "zoom", "cat.png", "--frames", "2", *small, "-o", "zoom.gif")
    assert Image.open(outside / "zoom.gif").n_frames == 2
    motion_clip(sample_path("chelsea"), outside / "clip.mp4", frames=3, size=(48, 32))
    run(release, outside, "video", "clip.mp4", *small, "-o", "dream.gif")
    assert Image.open(outside / "dream.gif").n_frames == 3


def test_lesson_and_sweep(release: installed.Release, outside: Path) -> None:
    photo(outside)
    run(
        release,
        outside,
        "lesson",
        "cat.png",
        "-o",
        "lesson",
        "--max-side",
        "64",
        "--top",
        "1",
        "--vis-size",
        "32",
        "--vis-steps",
        "2",
        "--seed",
        "1",
    )
    page = (outside / "lesson" / "index.html").read_text(encoding="utf-8")
    assert page.count("<img") >= 5
    run(release, outside, "sweep", "cat.png", "-l", "blocks.2", "-l", "blocks.4", "--steps", "1", "--max-side", "48")
    assert Image.open(outside / "cat_sweep.png").width > 48


@pytest.mark.parametrize("workers", ["1", "2"])
def test_gallery_local_and_pool(release: installed.Release, outside: Path, workers: str) -> None:
    (outside / "photos").mkdir()
    photo(outside / "photos", "a.png")
    photo(outside / "photos", "b.png", (48, 64))
    executor = "local" if workers == "1" else "pool"
    run(
        release,
        outside,
        "gallery",
        "photos",
        "-s",
        "classic",
        "-o",
        "out",
        "--steps",
        "1",
        "--max-side",
        "48",
        "--executor",
        executor,
        "--workers",
        workers,
    )
    manifest = json.loads((outside / "out" / "manifest.json").read_text())
    assert sorted(j["status"] for j in manifest["jobs"]) == ["done", "done"]
    assert (outside / "out" / "index.html").is_file()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_studio_serves_its_page_and_a_render(release: installed.Release, outside: Path) -> None:
    client_lib = pytest.importorskip("gradio_client")
    from dreamer.spec.schema import to_dict
    from dreamer.spec.specs import DreamSpec

    cat = photo(outside)
    port = _free_port()
    server = subprocess.Popen(
        [str(release.bin / "dreamer"), "studio", "--host", "127.0.0.1", "--port", str(port)],
        cwd=outside,
        env=release.env(outside),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        page, deadline = "", time.monotonic() + 120
        while time.monotonic() < deadline and server.poll() is None and not page:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5) as answer:
                    page = answer.read().decode("utf-8", "replace")
            except OSError:
                time.sleep(0.5)
        assert server.poll() is None and "gradio" in page.lower(), server.stdout.read() if server.stdout else ""
        client = client_lib.Client(f"http://127.0.0.1:{port}/", verbose=False)
        knobs = to_dict(DreamSpec(max_side=64, octaves=2, steps=2, seed=1))
        image, status = client.predict(
            photo=client_lib.handle_file(str(cat)), painted_mask=None, style="(none)", **knobs, api_name="/render"
        )
        assert status.startswith("done") and Image.open(image).size == (64, 48)
    finally:
        server.terminate()
        server.wait(timeout=30)
    assert not installed.network_log(outside).exists(), installed.network_log(outside).read_text()


def test_the_offline_guard_is_in_every_process_of_the_venv(release: installed.Release, outside: Path) -> None:
    """The check above could pass by not running: this shows the guard is loaded and refuses a lookup."""
    code = (
        "import socket; print(socket.getaddrinfo.__module__, socket.socket.connect.__qualname__); "
        "print(socket.getaddrinfo('127.0.0.1', 80)[0][4][0])"
    )
    done = subprocess.run(
        [str(release.bin / "python"), "-c", code],
        cwd=outside,
        env=release.env(outside),
        capture_output=True,
        text=True,
    )
    assert done.stdout.split() == ["sitecustomize", "guarded.<locals>.wrapper", "127.0.0.1"], done.stderr
