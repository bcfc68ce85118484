"""Batch galleries: photos x styles, resume, bad photos, escaping, and the page in a real browser."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from chromium import DevTools
from click.testing import CliRunner
from gallerykit import store_state
from PIL import Image

from dreamer.cli import cli
from dreamer.outputs.metadata import read_metadata
from dreamer.runners.gallery import collect_photos, gallery

SMALL = {"max_side": 64, "steps": 2, "octaves": 2}
SMALL_ARGS = ["--max-side", "64", "--steps", "2", "--octaves", "2", "-q"]
XSS = "<img src=x onerror=alert(1)>.png"


def check_manifest(out: Path, expected_jobs: int) -> dict:
    """The manifest is valid JSON with every job, its settings and a status; done jobs have valid images."""
    data = json.loads((out / "manifest.json").read_text())
    assert set(data) >= {"dreamer_version", "photos", "styles", "jobs", "missing_inputs"}
    assert len(data["jobs"]) == expected_jobs
    for job in data["jobs"]:
        assert set(job) >= {"photo", "style", "config", "output", "key", "status", "seconds", "error"}
        assert job["status"] in {"done", "skipped", "failed", "pending"}
        assert isinstance(job["config"]["seed"], int) and job["config"]["layers"]
        if job["status"] in ("done", "skipped"):
            assert read_metadata(out / job["output"])["job_key"] == job["key"]
    return data


def test_three_photos_times_two_styles(photos: Path, tmp_path: Path) -> None:
    out = tmp_path / "g"
    report = gallery([str(photos)], ["classic", "swirls"], out, overrides=SMALL)
    assert [r.status for r in report.results] == ["done"] * 6
    data = check_manifest(out, 6)
    assert {j["style"] for j in data["jobs"]} == {"classic", "swirls"}
    page = (out / "index.html").read_text()
    assert page.count("<img ") == 6 and page.count("<tr>") == 4  # header + 3 photos
    assert Image.open(out / "contact_sheet.png").size[0] > 2 * 256
    # Same command again: nothing to do. --force: everything again.
    again = gallery([str(photos / "*.png")], ["classic", "swirls"], out, overrides=SMALL)
    assert [r.status for r in again.results] == ["skipped"] * 6
    # A changed setting is a different job.
    changed = gallery([str(photos)], ["classic"], out, overrides={**SMALL, "steps": 1})
    assert [r.status for r in changed.results] == ["done"] * 3


def test_corrupt_photo_is_reported_and_the_rest_go_on(photos: Path, tmp_path: Path) -> None:
    (photos / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    out = tmp_path / "g"
    result = CliRunner().invoke(cli, ["gallery", str(photos), "-s", "classic", "-o", str(out), *SMALL_ARGS])
    assert result.exit_code == 1
    assert "3 rendered, 0 already there, 1 failed" in result.output
    assert "broken.jpg" in result.output and "corrupt or truncated" in result.output
    data = check_manifest(out, 4)
    assert [j["status"] for j in data["jobs"]].count("failed") == 1


def test_missing_input_is_reported(photos: Path, tmp_path: Path) -> None:
    result = CliRunner().invoke(
        cli,
        [
            "gallery",
            str(photos / "chelsea.png"),
            str(tmp_path / "nope*.png"),
            "-s",
            "classic",
            "-o",
            str(tmp_path / "g"),
            *SMALL_ARGS,
        ],
    )
    assert result.exit_code == 1 and "nope*.png: no such file, folder or matching glob" in result.output


def test_hostile_file_name_is_escaped_in_the_page(photos: Path, tmp_path: Path) -> None:
    shutil.copy(photos / "chelsea.png", photos / XSS)
    out = tmp_path / "g"
    gallery([str(photos / XSS)], ["classic"], out, overrides=SMALL)
    page = (out / "index.html").read_text()
    assert "<img src=x" not in page and "&lt;img src=x onerror=alert(1)&gt;.png" in page
    assert "<p>1 photo &times; 1 style." in page  # not "1 photos"


def test_collect_photos_walks_folders_and_globs(photos: Path) -> None:
    (photos / "notes.txt").write_text("x")
    found, missing = collect_photos([str(photos), str(photos / "c*.png"), "nothing-here-*.jpg"])
    assert sorted(p.name for p in found) == ["astronaut.png", "chelsea.png", "coffee.png"]
    assert missing == ["nothing-here-*.jpg: no such file, folder or matching glob"]


def test_killed_run_resumes_rendering_only_what_is_missing(photos: Path, tmp_path: Path) -> None:
    out = tmp_path / "g"
    args = [sys.executable, "-m", "dreamer", "gallery", str(photos), "-s", "classic", "-s", "swirls", "-o", str(out)]
    args += ["--max-side", "128", "--steps", "6", "--octaves", "2", "-q"]
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parents[1])}
    proc = subprocess.Popen(args, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 120
    done = 0
    while time.time() < deadline and proc.poll() is None:
        done = store_state(out)[0].get("done", 0)  # the store, as ``dreamer gallery --status`` reads it
        if done >= 2:
            break
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert 2 <= done < 6, f"the run should be killed midway (done={done})"
    finished = {p.name for p in out.glob("*.png") if p.name != "contact_sheet.png"}
    result = subprocess.run(args, env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    skipped = int(result.stdout.split(" already there")[0].rsplit(", ", 1)[1])
    assert skipped >= len(finished) - 1 >= done - 1  # at most the render in flight was lost
    assert f"{6 - skipped} rendered" in result.stdout
    check_manifest(out, 6)
    for png in out.glob("*.png"):
        Image.open(png).verify()
    assert not list(out.rglob("*.part*")), "no half-written files"


def test_index_page_shows_every_thumbnail_in_headless_chromium(photos: Path, tmp_path: Path, browser: DevTools) -> None:
    shutil.copy(photos / "chelsea.png", photos / XSS)
    out = tmp_path / "g"
    gallery([str(photos)], ["classic", "swirls"], out, overrides=SMALL)
    browser.call("Page.navigate", url=(out / "index.html").as_uri())
    expression = (
        "document.readyState === 'complete' && document.images.length ? JSON.stringify(Array.from(document.images)"
        ".map(i => i.complete && i.naturalWidth > 0)) : null"
    )
    loaded = json.loads(browser.wait(expression, 60, "the gallery page and its images"))
    assert loaded is not None and len(loaded) == 8 and all(loaded), loaded


def test_an_interrupted_run_removes_what_its_stopped_workers_were_writing(photos: Path, tmp_path: Path) -> None:
    """A worker killed mid-write leaves a temporary file; the gallery removes it on the way out."""
    dead = subprocess.Popen([sys.executable, "-c", "pass"])  # a process id that is gone
    dead.wait()
    out = tmp_path / "g"

    class Stopped:
        name = "stopped"

        def run(self, jobs, out_dir):  # noqa: ANN001, ANN202 - the Executor protocol
            (out_dir / f".{jobs[0].output}.{dead.pid}-0000.part").write_bytes(b"half a png")
            raise KeyboardInterrupt
            yield  # a generator, like every executor

        def describe(self) -> dict:
            return {"executor": self.name}

    with pytest.raises(KeyboardInterrupt):
        gallery([str(photos)], ["classic"], out, overrides=SMALL, executor=Stopped())
    assert not list(out.rglob("*.part"))
    assert json.loads((out / "manifest.json").read_text())["jobs"]  # the manifest is there for a rerun
