"""Two real Ray nodes on this machine (``ray start`` head and worker, one CPU each), one killed midway.

A gallery and a chunked video across both; they should finish on the head with the retry recorded.

Bounded: tiny frames, few steps, a deadline on every wait; both nodes run in their own process groups
under a private temp dir and are killed in ``finally``, then no process naming that dir may be left.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

pytest.importorskip("ray", reason="Ray is the [ray] extra")
psutil = pytest.importorskip("psutil")
pytest.importorskip("av")

from dreamer.runners.gallery import gallery  # noqa: E402
from dreamer.runners.ray import RayExecutor  # noqa: E402
from dreamer.samples import sample_path  # noqa: E402
from dreamer.spec import VIDEO_SPEC, VideoSpec  # noqa: E402
from dreamer.video.run import dream_video  # noqa: E402
from dreamer.video.synth import motion_clip  # noqa: E402

ROOT = Path(__file__).parents[1]
RAY = [sys.executable, "-c", "from ray.scripts.scripts import main; main()"]
DEADLINE = 240.0  # seconds for the whole module's cluster work


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _node(args: list[str], temp: str, env: dict[str, str]) -> subprocess.Popen:
    """``ray start ... --block`` in its own process group (so it and its raylet can be killed together)."""
    cmd = [*RAY, "start", "--block", "--num-cpus", "1", "--node-ip-address", "127.0.0.1", "--temp-dir", temp, *args]
    return subprocess.Popen(cmd, env=env, start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def _ours(temp: str) -> list[int]:
    """Processes whose command line names our temp dir (our nodes' raylets, stores and workers)."""
    found = []
    for proc in psutil.process_iter(["cmdline"]):
        try:
            if any(temp in part for part in proc.info["cmdline"] or []):
                found.append(proc.pid)
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
    return found


def _kill_group(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    proc.wait(10)


class Cluster:
    """A head and a worker node; ``kill_worker`` takes the worker node down with everything on it."""

    def __init__(self) -> None:
        self.temp = tempfile.mkdtemp(prefix="/tmp/dr-ray-")  # short: Ray's socket paths must fit 107 bytes
        self.address = f"127.0.0.1:{_port()}"
        self.env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
        self.env |= {"RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "1", "OMP_NUM_THREADS": "1", "RAY_USAGE_STATS_ENABLED": "0"}
        self.env["RAY_AUTH_MODE"] = "disabled"  # no token to hand from the head to the driver
        port = self.address.rsplit(":", 1)[1]
        self.head = _node(["--head", "--port", port, "--include-dashboard", "false"], self.temp, self.env)
        self.worker: subprocess.Popen | None = None

    def start_worker(self) -> None:
        """A second node joining the head; returns once the cluster has two live nodes."""
        import ray

        self.worker = _node(["--address", self.address], self.temp, self.env)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if ray.is_initialized() and sum(n["Alive"] for n in ray.nodes()) == 2:
                return
            time.sleep(0.5)
        raise AssertionError("the worker node did not join")

    def busy(self, title: str) -> bool:
        """Whether an actor of the worker node (a process under its ``ray start``) is running ``title``."""
        assert self.worker is not None
        try:
            under = psutil.Process(self.worker.pid).children(recursive=True)
        except psutil.NoSuchProcess:
            return False
        for proc in under:
            try:
                if (proc.cmdline() or [""])[0].startswith(title):
                    return True
            except psutil.NoSuchProcess:
                continue
        return False

    def kill_worker(self) -> None:
        """SIGKILL the worker node: its ``ray start``, raylet, object store and actors, at once."""
        assert self.worker is not None
        try:
            under = psutil.Process(self.worker.pid).children(recursive=True)
        except psutil.NoSuchProcess:
            under = []
        _kill_group(self.worker)
        for proc in under:
            try:
                proc.kill()
            except psutil.NoSuchProcess:
                continue

    def close(self) -> None:
        for proc in (self.worker, self.head):
            if proc is not None:
                _kill_group(proc)
        deadline = time.monotonic() + 20
        while (left := _ours(self.temp)) and time.monotonic() < deadline:
            for pid in left:
                try:
                    os.kill(pid, signal.SIGKILL)  # a process of ours that left the group (daemonised by Ray)
                except ProcessLookupError:
                    pass
            time.sleep(0.5)


@pytest.fixture()
def cluster(monkeypatch: pytest.MonkeyPatch) -> Iterator[Cluster]:
    import ray
    from ray._private import ray_constants

    # The nodes allow several on one host (RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER=1); the driver keeps 127.0.0.1 as it is.
    monkeypatch.setattr(ray_constants, "ENABLE_RAY_CLUSTER", False)
    monkeypatch.setenv("RAY_AUTH_MODE", "disabled")
    c = Cluster()
    try:
        deadline = time.monotonic() + 60
        while True:  # the head is up once a driver can join it
            try:
                ray.init(address=c.address, log_to_driver=False, _temp_dir=c.temp)
                break
            except Exception:  # noqa: BLE001 - not up yet
                if time.monotonic() > deadline:
                    raise
                time.sleep(1)
        c.start_worker()
        yield c
    finally:
        ray.shutdown()
        c.close()
        assert not _ours(c.temp), "no process of the test's Ray nodes may be left"


def _kill_when(ready: Callable[[], bool], cluster: Cluster, killed: list[float]) -> threading.Thread:
    """A thread that kills the worker node once ``ready()`` holds (or gives up at the deadline)."""

    def watch() -> None:
        deadline = time.monotonic() + DEADLINE
        while time.monotonic() < deadline and not ready():
            time.sleep(0.05)
        cluster.kill_worker()
        killed.append(time.monotonic())

    thread = threading.Thread(target=watch, daemon=True)
    thread.start()
    return thread


@pytest.mark.skip(
    reason="unfinished (issue 29): the two nodes start, join and run the gallery, but the kill does not yet catch "
    "an actor of the worker node mid-job (no retry is recorded); see the vray report"
)
def test_gallery_and_chunked_video_survive_a_node_killed_midway(
    cluster: Cluster, photos: Path, tmp_path: Path, random_engine
) -> None:
    styles, small = ["classic"], {"max_side": 80, "steps": 6, "octaves": 2}
    local = gallery([str(photos)], styles, tmp_path / "local", overrides=small)
    out = tmp_path / "ray"
    killed: list[float] = []
    watcher = _kill_when(lambda: cluster.busy("ray::DreamWorker.render"), cluster, killed)
    on_ray = gallery(
        [str(photos)], styles, out, overrides=small, executor=RayExecutor(cluster.address, workers=2, retries=2)
    )
    watcher.join(30)
    assert killed and [r.status for r in on_ray.results] == ["done"] * 3
    manifest = json.loads((out / "manifest.json").read_text())
    retried = [j for j in manifest["jobs"] if j["attempts"] > 1]
    assert retried and "died" in retried[0]["retries"][0], manifest["jobs"]
    for r in local.results:
        a, b = (np.asarray(Image.open(d / r.job.output).convert("RGB")) for d in (tmp_path / "local", out))
        assert np.array_equal(a, b), r.job.output

    # A chunked video across a fresh pair of nodes: the worker node dies while its chunk is being dreamed.
    cluster.start_worker()
    clip = motion_clip(sample_path("chelsea"), tmp_path / "pan.mp4", 16, size=(64, 48), zoom=1.005, fps=8.0).path
    spec, video = VIDEO_SPEC.replace(octaves=1, steps=2, max_side=48, seed=2), VideoSpec(frame_steps=1, warmup=3)
    video = video.replace(overlap=1, score_frames=0)
    frames = tmp_path / "v"
    killed.clear()
    watcher = _kill_when(lambda: cluster.busy("ray::TaskWorker.run"), cluster, killed)
    result = dream_video(clip, frames, video, spec, workers=2, executor="ray", address=cluster.address)
    watcher.join(30)
    assert killed and len(result.frames) == 16 and all(p.is_file() for p in result.frames)
    ran = result.score["chunks"]["ran"]
    assert any("died" in why for c in ran for why in c["retries"]), ran
    seams = result.score["seams"]
    assert seams["error"] <= 1.2 * seams["inside"], seams
    assert not list(frames.glob("seam_*"))
