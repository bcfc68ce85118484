"""The gallery on a real local Ray cluster: same images as the local executor, workers and drivers killed."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from gallerykit import store_state
from PIL import Image

from dreamer.runners.gallery import gallery
from dreamer.samples import sample_path

ROOT = Path(__file__).parents[1]
SMALL = {"max_side": 64, "steps": 2, "octaves": 2}
STYLES = ["classic", "swirls"]


@pytest.fixture(scope="module")
def cluster() -> Iterator[str]:
    """One local Ray cluster for the module (two CPUs, bound to 127.0.0.1); yields its address."""
    patch = pytest.MonkeyPatch()
    patch.setenv("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")  # Ray's switch for loopback-only nodes (read at import)
    patch.setenv("PYTHONPATH", os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]))  # workers: this tree
    ray = pytest.importorskip("ray", reason="Ray is the [ray] extra")
    from ray._private import ray_constants

    # The env above is read at import, and an earlier test may have imported ray: set what it sets.
    patch.setattr(ray_constants, "ENABLE_RAY_CLUSTER", False)
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, _node_ip_address="127.0.0.1")
    try:
        yield ray.get_runtime_context().gcs_address
    finally:
        ray.shutdown()
        patch.undo()


def manifest(out: Path) -> dict:
    """The gallery's manifest; every finished job's image opens."""
    data = json.loads((out / "manifest.json").read_text())
    for job in data["jobs"]:
        if job["status"] in ("done", "skipped"):
            Image.open(out / job["output"]).verify()
            assert (out / "thumbs" / job["output"].replace(".png", ".jpg")).is_file()
    return data


def pixels(path: Path) -> np.ndarray:
    """An image's pixels."""
    return np.asarray(Image.open(path).convert("RGB"))


def test_same_images_and_keys_as_the_local_executor(cluster: str, photos: Path, tmp_path: Path) -> None:
    local, on_ray = tmp_path / "local", tmp_path / "ray"
    gallery([str(photos)], STYLES, local, overrides=SMALL)
    report = gallery([str(photos)], STYLES, on_ray, overrides=SMALL, executor="ray", workers=2)
    assert [r.status for r in report.results] == ["done"] * 6
    a, b = manifest(local), manifest(on_ray)
    assert [j["key"] for j in a["jobs"]] == [j["key"] for j in b["jobs"]]
    for job in b["jobs"]:
        assert np.array_equal(pixels(local / job["output"]), pixels(on_ray / job["output"])), job["output"]
        assert job["node"] == "127.0.0.1" and job["attempts"] == 1
    assert a["executor"]["name"] == "local"
    assert b["executor"]["name"] == "ray" and b["executor"]["workers"] == 2
    assert [n["node"] for n in b["executor"]["nodes"]] == ["127.0.0.1"] and len(b["executor"]["actors"]) == 2
    assert {p.name for p in on_ray.iterdir()} >= {"index.html", "contact_sheet.png", "manifest.json"}
    # Started on one executor, finished on the other: the same resume rule both ways.
    for job in a["jobs"][:2]:
        (local / job["output"]).unlink()
        (on_ray / job["output"]).unlink()
    finish_on_ray = gallery(
        [str(photos)], STYLES, local, overrides=SMALL, executor="ray", workers=1, shared_storage=True
    )
    finish_locally = gallery([str(photos)], STYLES, on_ray, overrides=SMALL)
    for report in (finish_on_ray, finish_locally):
        assert [r.status for r in report.results].count("done") == 2
        assert [r.status for r in report.results].count("skipped") == 4
    for job in a["jobs"][:2]:
        assert np.array_equal(pixels(local / job["output"]), pixels(on_ray / job["output"]))


def _kill_first_render(killed: list[int], stop: threading.Event) -> None:
    """SIGKILL the first Ray actor process seen rendering (Ray titles it ``ray::DreamWorker.render``)."""
    import psutil

    while not stop.is_set():
        for proc in psutil.process_iter(["cmdline"]):
            if (proc.info["cmdline"] or [""])[0].startswith("ray::DreamWorker.render"):
                os.kill(proc.pid, signal.SIGKILL)
                killed.append(proc.pid)
                return
        time.sleep(0.01)


def _gallery_killing_a_worker(photos: Path, out: Path, **executor_options: object) -> tuple[dict, list[int]]:
    """Run a one-actor Ray gallery while a thread kills its actor's process during a job."""
    from dreamer.runners.ray import RayExecutor

    killed: list[int] = []
    stop = threading.Event()
    killer = threading.Thread(target=_kill_first_render, args=(killed, stop), daemon=True)
    killer.start()
    try:
        gallery([str(photos)], STYLES, out, overrides=SMALL, executor=RayExecutor(workers=1, **executor_options))
    finally:
        stop.set()
        killer.join(5)
    assert len(killed) == 1, "the worker should have been killed during a job"
    return manifest(out), killed


def test_a_killed_worker_is_restarted_and_its_job_sent_again(cluster: str, photos: Path, tmp_path: Path) -> None:
    data, killed = _gallery_killing_a_worker(photos, tmp_path / "g")
    assert [j["status"] for j in data["jobs"]] == ["done"] * 6
    retried = [j for j in data["jobs"] if j["attempts"] > 1]
    assert len(retried) == 1 and "died" in retried[0]["retries"][0], data["jobs"]
    actor = data["executor"]["actors"][0]
    assert actor["restarts"] == 1 and actor["pid"] != killed[0]


def test_a_job_lost_again_is_failed_with_its_reason_and_the_rest_go_on(
    cluster: str, photos: Path, tmp_path: Path
) -> None:
    data, _ = _gallery_killing_a_worker(photos, tmp_path / "g", retries=0)
    statuses = [j["status"] for j in data["jobs"]]
    assert statuses.count("done") == 5 and statuses.count("failed") == 1
    failed = next(j for j in data["jobs"] if j["status"] == "failed")
    assert "died" in failed["error"] and "\n" not in failed["error"]


def _alive(pid: int) -> bool:
    import psutil

    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def _stop_midway(args: list[str], out: Path, at_least: int, sig: signal.Signals) -> tuple[int, int, dict]:
    """Run the CLI until ``at_least`` jobs are done, send ``sig``; (exit status, done, manifest) once its actors die."""
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 120
    done, meta = 0, {}
    while time.time() < deadline and proc.poll() is None:
        counts, meta = store_state(out)  # the store, as ``dreamer gallery --status`` reads it
        done = counts.get("done", 0) + counts.get("skipped", 0)
        if done >= at_least:
            break
        time.sleep(0.05)
    proc.send_signal(sig)
    status = proc.wait(60)
    assert at_least <= done < 6, f"the driver should be stopped midway (done={done})"
    actors = [a["pid"] for a in meta["executor"]["actors"]]
    while any(_alive(pid) for pid in actors) and time.time() < deadline:
        time.sleep(0.2)
    assert not any(_alive(pid) for pid in actors), "the stopped driver's actors should die with it"
    return status, done, manifest(out)


def test_ctrl_c_then_a_killed_driver_then_a_rerun_renders_only_what_is_missing(
    cluster: str, photos: Path, tmp_path: Path
) -> None:
    out = tmp_path / "g"
    args = [sys.executable, "-m", "dreamer", "gallery", str(photos), "-s", "classic", "-s", "swirls", "-o", str(out)]
    args += ["--executor", "ray", "--address", cluster, "--workers", "1", "--max-side", "64", "--steps", "4", "-q"]
    status, first, data = _stop_midway(args, out, 1, signal.SIGINT)  # Ctrl-C: queued tasks cancelled, actors killed
    assert status == 130 and data["executor"]["name"] == "ray"
    assert [j["status"] for j in data["jobs"]].count("pending") == 6 - first  # a valid manifest, nothing half-done
    status, done, _ = _stop_midway(args, out, first + 1, signal.SIGKILL)
    assert status == -signal.SIGKILL
    finished = {p.name for p in out.glob("*.png") if p.name != "contact_sheet.png"}
    result = subprocess.run(args, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    skipped = int(result.stdout.split(" already there")[0].rsplit(", ", 1)[1])
    assert skipped >= len(finished) - 1 >= done - 1  # at most the render in flight was lost
    assert f"{6 - skipped} rendered" in result.stdout and "per node: 127.0.0.1" in result.stdout
    assert [j["status"] for j in manifest(out)["jobs"]].count("skipped") == skipped
    assert not list(out.rglob("*.part*")), "no half-written files"


def test_without_ray_installed_says_how_to_install_it(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from click.testing import CliRunner

    from dreamer.cli import cli

    monkeypatch.setitem(sys.modules, "ray", None)  # import ray -> ImportError
    shutil.copy(sample_path("chelsea"), tmp_path / "cat.png")
    result = CliRunner().invoke(
        cli, ["gallery", str(tmp_path / "cat.png"), "-s", "classic", "-o", str(tmp_path / "g"), "--executor", "ray"]
    )
    assert result.exit_code == 1
    assert result.output.strip().splitlines()[-1] == "Error: --executor ray needs Ray: pip install 'dreamer-art[ray]'"


@pytest.mark.parametrize("device", ["auto", "cuda", "cuda:0", "cuda:1"])
def test_actors_ask_for_a_gpu_on_any_cuda_device(device: str) -> None:
    """No cluster needed: the resources each actor asks Ray for, from the nodes' resources and --device."""
    from dreamer.runners.ray import actor_shape

    two_gpus = [{"CPU": 16.0, "GPU": 2.0}]
    assert actor_shape(two_gpus, device, None, None) == (2, 1.0, 1.0)
    assert actor_shape(two_gpus, device, 4, None) == (4, 1.0, 0.5)
    assert actor_shape([{"CPU": 8.0}], device, None, None) == (2, 4.0, 0.0)  # no GPU anywhere: CPU actors


def test_cpu_devices_take_no_gpu() -> None:
    from dreamer.runners.ray import actor_shape

    assert actor_shape([{"CPU": 8.0, "GPU": 1.0}], "cpu", None, None) == (2, 4.0, 0.0)
    assert actor_shape([{"CPU": 8.0, "GPU": 1.0}], "cpu", 2, 3) == (2, 3.0, 0.0)


def test_an_actor_given_a_gpu_runs_on_the_one_ray_assigned() -> None:
    """Ray shows an actor only its own GPUs, so ``cuda:1`` in there would be a GPU that does not exist."""
    from dreamer.runners.ray import actor_device

    assert actor_device("cuda:1", 1.0) == actor_device("cuda", 0.5) == "cuda"
    assert actor_device("cuda:1", 0.0) == "cuda:1"  # no GPU in the cluster: the engine says CUDA is missing
    assert actor_device("auto", 1.0) == "auto" and actor_device("cpu", 0.0) == "cpu"


def test_a_cluster_that_fails_to_start_is_one_line(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Ray raises a bare Exception when its node times out starting (seen on a loaded machine): no traceback."""
    import ray
    from click.testing import CliRunner

    from dreamer.cli import cli

    def init(**_kwargs: object) -> None:
        raise Exception("The current node timed out during startup.\nThis could happen because ...")  # noqa: TRY002

    monkeypatch.setattr(ray, "init", init)
    monkeypatch.setattr(ray, "is_initialized", lambda: False)
    shutil.copy(sample_path("chelsea"), tmp_path / "cat.png")
    result = CliRunner().invoke(
        cli, ["gallery", str(tmp_path / "cat.png"), "-s", "classic", "-o", str(tmp_path / "g"), "--executor", "ray"]
    )
    assert result.exit_code == 1 and result.exception is None or isinstance(result.exception, SystemExit)
    last = result.output.strip().splitlines()[-1]
    assert last.startswith("Error: a local Ray cluster: cannot start it (") and "timed out" in last
