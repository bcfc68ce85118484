"""The gallery's job store, its manifest export and ``--status``; the paginated index and the capped contact sheet.

Instant renders (``gallerykit``): these are mechanics, the images only need a job's key in their metadata.
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from chromium import DevTools
from click.testing import CliRunner
from gallerykit import InstantExecutor, store_state
from PIL import Image

from dreamer.cli import cli
from dreamer.engine.styles import checked_style
from dreamer.errors import DreamerWarning
from dreamer.runners import pages, sheet
from dreamer.runners.gallery import gallery
from dreamer.runners.lock import folder_lock
from dreamer.runners.plan import plan_jobs
from dreamer.runners.store import STORE_NAME, JobStore

STYLES = ["classic", "swirls"]
KILLER = """
import os, signal, sys
sys.path.insert(0, {tests!r})
from gallerykit import InstantExecutor
import dreamer.runners.book as book
from dreamer.runners.store import JobStore
from dreamer.runners.gallery import gallery

book.BATCH = 5  # many transactions
real, calls = JobStore.record, []

def record(self, results, stats, meta):  # the third batch: half-written, then the process is killed
    calls.append(1)
    if len(calls) == 3:
        self.db.execute("BEGIN")
        self.db.executemany("UPDATE jobs SET status = 'done' WHERE key = ?", [(r.job.key,) for r in results])
        os.kill(os.getpid(), signal.SIGKILL)
    real(self, results, stats, meta)

JobStore.record = record
gallery([{photos!r}], {styles!r}, {out!r}, executor=InstantExecutor())
"""


def many_photos(folder: Path, n: int) -> Path:
    """``n`` tiny distinct photos."""
    folder.mkdir()
    for i in range(n):
        Image.new("RGB", (8, 6), (i * 7 % 256, i * 13 % 256, 90)).save(folder / f"p{i:03d}.png")
    return folder


def test_a_run_killed_mid_write_of_the_store_resumes_with_nothing_lost_or_rendered_twice(tmp_path: Path) -> None:
    photos, out = many_photos(tmp_path / "photos", 20), tmp_path / "g"
    code = KILLER.format(tests=str(Path(__file__).parent), photos=str(photos), styles=STYLES, out=str(out))
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parents[1])}
    killed = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    assert killed.returncode == -9, killed.stderr
    on_disk = {p.name for p in out.glob("*__*.png")}
    counts, _ = store_state(out)  # the half-written batch is not there: the store is as of its last commit
    assert counts.get("done") == 10 and len(on_disk) >= 15 > 10, (counts, len(on_disk))
    again = InstantExecutor()
    report = gallery([str(photos)], STYLES, out, executor=again)
    rendered = {r.job.output for r in report.results if r.status == "done"}
    skipped = {r.job.output for r in report.results if r.status == "skipped"}
    assert skipped == on_disk and not rendered & on_disk  # every image kept, none rendered again
    assert len(rendered) + len(skipped) == 40 and len(again.renders) == 40 - len(on_disk)
    assert store_state(out)[0] == {"done": len(rendered), "skipped": len(skipped)}


@pytest.mark.parametrize("damage", ["deleted", "garbage", "foreign sqlite"])
def test_a_lost_or_damaged_store_is_rebuilt_from_the_images(tmp_path: Path, damage: str) -> None:
    photos, out = many_photos(tmp_path / "photos", 6), tmp_path / "g"
    gallery([str(photos)], STYLES, out, executor=InstantExecutor(fail_every=4))
    store = out / STORE_NAME
    if damage == "deleted":
        store.unlink()
    elif damage == "garbage":  # header intact, the pages after it overwritten
        data = bytearray(store.read_bytes())
        data[100:] = os.urandom(len(data) - 100)
        store.write_bytes(bytes(data))
    else:  # an SQLite file, not ours (the manifest still vouches for the folder)
        store.unlink()
        import sqlite3

        sqlite3.connect(store).execute("CREATE TABLE t (x)").connection.close()
    again = InstantExecutor()
    with pytest.warns(DreamerWarning, match=r"gallery.sqlite: (missing|damaged .*); rebuilt from the images \(9 of 12"):
        report = gallery([str(photos)], STYLES, out, executor=again)
    assert [r.status for r in report.results].count("skipped") == 9 and len(again.renders) == 3
    assert store_state(out)[0] == {"skipped": 9, "done": 3}


def test_the_exported_manifest_equals_the_store(tmp_path: Path) -> None:
    photos, out = many_photos(tmp_path / "photos", 5), tmp_path / "g"
    gallery([str(photos)], STYLES, out, executor=InstantExecutor(fail_every=3))
    gallery([str(photos)], [*STYLES, "gentle"], out, executor=InstantExecutor(fail_every=4))
    manifest = json.loads((out / "manifest.json").read_text())
    store, _ = JobStore.open(out)
    try:
        jobs, meta = store.jobs(), store.meta()
    finally:
        store.close()
    assert manifest["jobs"] == jobs and len(jobs) == 15  # the latest run's jobs, in plan order
    assert {k: manifest[k] for k in ("photos", "styles", "executor")} == {
        k: meta[k] for k in ("photos", "styles", "executor")
    }
    statuses = [j["status"] for j in jobs]
    assert {"skipped", "done", "failed"} <= set(statuses) and all(j["config"]["seed"] for j in jobs)
    assert {j["node"] for j in jobs if j["status"] == "done"} == {"node-a", "node-b"}


def test_status_prints_the_counts_of_a_running_or_stopped_gallery(tmp_path: Path) -> None:
    photos, out = many_photos(tmp_path / "photos", 4), tmp_path / "g"
    gallery([str(photos)], STYLES, out, executor=InstantExecutor(fail_every=3))
    result = CliRunner().invoke(cli, ["gallery", "--status", str(out)])
    assert result.exit_code == 0, result.output
    assert f"{out}: stopped; 8 jobs: 6 done, 0 already there, 2 failed, 0 pending" in result.output
    assert "by node: node-a 3, node-b 3" in result.output
    with folder_lock(out):
        running = CliRunner().invoke(cli, ["gallery", "--status", str(out)])
    assert f"{out}: running (pid {os.getpid()})" in running.output
    missing = CliRunner().invoke(cli, ["gallery", "--status", str(tmp_path)])
    assert missing.exit_code == 1 and "not a gallery folder" in missing.output
    with sqlite3.connect(out / "gallery.sqlite") as db:  # edited by hand: a status it does not know, numbers for nodes
        db.execute("UPDATE jobs SET status = 'lost', node = 7 WHERE status = 'failed'")
        db.execute("UPDATE jobs SET node = 5 WHERE rowid IN (SELECT rowid FROM jobs WHERE status = 'done' LIMIT 1)")
    edited = CliRunner().invoke(cli, ["gallery", "--status", str(out)])
    assert edited.exit_code == 0, edited.output
    assert "8 jobs: 6 done, 0 already there, 0 failed, 0 pending, 2 with a status that is not one of" in edited.output
    assert "by node: 5 1, node-a" in edited.output


def test_keys_are_those_earlier_versions_gave(photos: Path) -> None:
    """Planning resolves each style once; the keys are still sha256 of [photo digest, style, settings, files]."""
    job = plan_jobs([photos / "chelsea.png"], [checked_style("classic")], {"steps": 3})[0]
    digest = hashlib.sha256((photos / "chelsea.png").read_bytes()).hexdigest()
    settings = {k: v for k, v in job.config.items() if k != "seed"} | {"seed": None}
    expected = hashlib.sha256(json.dumps([digest, "classic", settings, {}], sort_keys=True).encode()).hexdigest()
    assert job.key == expected and job.config["seed"] == int(expected[:15], 16)


def test_the_contact_sheet_of_a_large_gallery_is_a_sample(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sheet, "MAX_ROWS", 4)
    photos, out = many_photos(tmp_path / "photos", 9), tmp_path / "g"
    gallery([str(photos)], STYLES, out, executor=InstantExecutor())
    with Image.open(out / "contact_sheet.png") as im:
        assert im.height == 24 + 4 * (pages.THUMB + 6) + 24  # 4 rows of 9, and the note under them
    assert sheet.sample(list(range(9)), 4) == [0, 3, 5, 8]


PAGE_OK = (
    "document.readyState === 'complete' && JSON.stringify(Array.from(document.images)"
    ".map(i => i.complete && i.naturalWidth > 0))"
)
VISIBLE = (
    "JSON.stringify(Array.from(document.querySelectorAll('#grid tr')).slice(1).filter(r => !r.hidden)"
    ".map(r => r.firstElementChild.textContent))"
)


def test_the_paginated_index_in_headless_chromium(tmp_path: Path, browser: DevTools, monkeypatch) -> None:
    monkeypatch.setattr(pages, "PAGE_CELLS", 4)  # 2 photos (rows) a page
    photos, out = many_photos(tmp_path / "photos", 9), tmp_path / "g"
    (out).mkdir()
    (out / "index-9.html").write_text("stale")  # an earlier, larger gallery's last page
    (out / "manifest.json").write_text('{"jobs": []}')
    gallery([str(photos)], STYLES, out, executor=InstantExecutor(fail_every=9))
    names = sorted(p.name for p in out.glob("index*.html"))
    assert names == ["index-2.html", "index-3.html", "index-4.html", "index-5.html", "index.html"]
    seen = 0
    for name in names:
        browser.call("Page.navigate", url=(out / name).as_uri())
        loaded = json.loads(browser.wait(PAGE_OK, 30, f"{name} and its thumbnails"))
        assert loaded and all(loaded), (name, loaded)
        seen += len(loaded)
    assert seen == 18 - 2  # every thumbnail of every page loads (the 2 failed jobs have none)
    browser.call("Page.navigate", url=(out / "index.html").as_uri())
    browser.wait("document.readyState === 'complete'", 30, "the first page")
    browser.js("const b = document.getElementById('filter'); b.value = 'p005'; b.dispatchEvent(new Event('input'))")
    assert json.loads(browser.js(VISIBLE)) == []  # p005 is on page 3
    links = browser.js("Array.from(document.querySelectorAll('#elsewhere a')).map(a => a.textContent + ' ' + a.href)")
    assert len(links) == 1 and links[0].startswith("page 3 (1) ") and "index-3.html?q=p005" in links[0]
    browser.call("Page.navigate", url=links[0].split(" ")[-1])
    browser.wait("document.readyState === 'complete'", 30, "page 3")
    assert json.loads(browser.js(VISIBLE)) == ["p005.png"]  # the filter carried over: p004 hidden
    browser.js("const b = document.getElementById('filter'); b.value = ''; b.dispatchEvent(new Event('input'))")
    assert json.loads(browser.js(VISIBLE)) == ["p004.png", "p005.png"]
