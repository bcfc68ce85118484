"""Interrupting a gallery that runs on two worker processes: Ctrl-C, a killed parent, a killed worker."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
from gallerykit import store_state
from PIL import Image

DEADLINE = 180  # seconds any one wait may take on a busy 2-core machine


def start(photos: Path, out: Path) -> subprocess.Popen:
    """``dreamer gallery`` with two workers as a real process; SIGINT restored (CI shells ignore it)."""
    args = [sys.executable, "-m", "dreamer", "gallery", str(photos), "-s", "classic", "-s", "swirls", "-o", str(out)]
    # 24 steps: jobs long enough that the last ones still run when a test interrupts after the first
    args += ["--workers", "2", "--max-side", "96", "--steps", "24", "--octaves", "2", "-q"]
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parents[1])}
    return subprocess.Popen(
        args,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )


def wait_for(condition, what: str) -> None:
    deadline = time.time() + DEADLINE
    while not condition():
        if time.time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.1)


def workers_of(proc: subprocess.Popen) -> list[psutil.Process]:
    try:
        return psutil.Process(proc.pid).children(recursive=True)
    except psutil.NoSuchProcess:
        return []


def pool_workers(proc: subprocess.Popen) -> list[psutil.Process]:
    """The gallery's worker processes (multiprocessing's spawned interpreters)."""
    found = []
    for w in workers_of(proc):
        try:
            if "spawn_main" in " ".join(w.cmdline()):
                found.append(w)
        except psutil.Error:
            pass
    return found


def done_jobs(out: Path) -> int:
    return store_state(out)[0].get("done", 0)


def all_gone(procs: list[psutil.Process]) -> bool:
    return not [p for p in procs if p.is_running() and p.status() != psutil.STATUS_ZOMBIE]


def check_gallery(out: Path) -> dict:
    data = json.loads((out / "manifest.json").read_text())
    for job in data["jobs"]:
        if job["status"] == "done":
            Image.open(out / job["output"]).verify()
    assert not list(out.rglob("*.part")), "no half-written files"
    return data


def test_ctrl_c_stops_both_workers_and_leaves_a_valid_manifest(photos: Path, tmp_path: Path) -> None:
    out = tmp_path / "g"
    proc = start(photos, out)
    try:
        wait_for(lambda: done_jobs(out) >= 1 and len(pool_workers(proc)) >= 2, "a first render with two workers")
        workers = workers_of(proc)
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=DEADLINE)
    finally:
        proc.kill()
    assert proc.returncode == 130, err
    assert "Traceback" not in err and "run the same command again to render the rest" in err
    wait_for(lambda: all_gone(workers), "the workers to end")
    data = check_gallery(out)
    assert 1 <= sum(j["status"] == "done" for j in data["jobs"]) < 6


def test_a_killed_parent_leaves_no_workers_and_a_rerun_finishes(photos: Path, tmp_path: Path) -> None:
    out = tmp_path / "g"
    proc = start(photos, out)
    try:
        wait_for(lambda: done_jobs(out) >= 1 and len(pool_workers(proc)) >= 2, "a first render with two workers")
        workers = workers_of(proc)
        proc.kill()  # SIGKILL: no handler runs in the parent
        proc.wait(timeout=DEADLINE)
        wait_for(lambda: all_gone(workers), "the orphaned workers to die with their parent")
    finally:
        proc.kill()
    again = start(photos, out)
    stdout, stderr = again.communicate(timeout=DEADLINE * 2)
    assert again.returncode == 0, stderr
    data = check_gallery(out)
    statuses = [j["status"] for j in data["jobs"]]
    assert statuses.count("skipped") >= 1 and statuses.count("done") + statuses.count("skipped") == 6


def test_a_worker_killed_mid_job_fails_that_job_and_the_rest_finish(photos: Path, tmp_path: Path) -> None:
    out = tmp_path / "g"
    proc = start(photos, out)
    try:
        wait_for(lambda: done_jobs(out) >= 1 and len(pool_workers(proc)) >= 2, "a first render with two workers")
        victim = pool_workers(proc)[0]
        victim.kill()  # as the kernel's out-of-memory killer would
        _, err = proc.communicate(timeout=DEADLINE * 2)
    finally:
        proc.kill()
    assert proc.returncode == 1 and "Traceback" not in err
    data = check_gallery(out)
    statuses = [j["status"] for j in data["jobs"]]
    failed = [j for j in data["jobs"] if j["status"] == "failed"]
    assert statuses.count("done") + statuses.count("failed") == 6 and 1 <= len(failed) <= 2
    assert all("killed by SIGKILL" in j["error"] for j in failed), failed
    assert (out / "index.html").is_file() and (out / "contact_sheet.png").is_file()


def test_a_worker_starts_up_as_the_cli_does(tmp_path: Path, monkeypatch) -> None:
    """Pillow's limit is raised to DREAMER_MAX_PIXELS in a worker too.

    A 182 Mpx photo under a 200 Mpx limit is decoded (and found truncated), not refused as "too
    large" by Pillow's own 179 Mpx limit.
    """
    from hostile import bomb_png

    from dreamer.runners.gallery import gallery
    from dreamer.runners.pool import PoolExecutor

    photo = bomb_png(tmp_path / "big.png", 14_000, 13_000)
    monkeypatch.setenv("DREAMER_MAX_PIXELS", "200000000")  # the spawned worker inherits it
    report = gallery([str(photo)], ["classic"], tmp_path / "g", executor=PoolExecutor(1))
    [result] = report.results
    assert result.status == "failed" and "corrupt or truncated" in (result.error or ""), result.error
