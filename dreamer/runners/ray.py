"""Execute gallery jobs on a Ray cluster: one actor per worker slot, each keeping its ``Engine`` loaded.

The driver (this process) plans, ships each job with its photo's bytes to an idle actor, and
writes what comes back (the PNG with its metadata, and the thumbnail the actor made) atomically;
every answer that is in is taken at each wait, and the gallery records them in batches. With
``shared_storage`` the actors read photos and write images themselves, at the same paths, on
storage every node mounts (NFS, a bucket mount).

Faults: actors restart when their process dies (``max_restarts``) and the driver sends the lost
job again (``retries`` times), noting why in the result; a job lost again is a failed result.
Closing the generator (Ctrl-C, an error) cancels what is queued and kills the actors.
"""

from __future__ import annotations

import logging
import os
import socket
import tempfile
import time
from collections import deque
from collections.abc import Iterator, Sequence
from contextlib import suppress
from dataclasses import replace
from pathlib import Path
from typing import Any

from dreamer.errors import DreamerError, install_line
from dreamer.outputs.images import atomic_write
from dreamer.runners.local import failure, render_job, run_one
from dreamer.runners.pages import thumb_name, write_thumbnail
from dreamer.runners.plan import Job, Result
from dreamer.runners.startup import start_worker
from dreamer.spec.specs import RunEnv

INSTALL = f"--executor ray needs Ray: {install_line('ray')}"
CPUS_PER_WORKER = 4  # default CPU share of one actor on CPU-only clusters (its torch threads)
MAX_RESTARTS = 4  # times Ray restarts one actor whose process died
STARTUP_TIMEOUT = 300.0  # seconds to wait for the first actor (scheduling, model import) before giving up
WAIT = 0.5  # seconds per ray.wait, so Ctrl-C is seen promptly

Inflight = dict[Any, tuple[int, Job | None, list[str]]]  # ref -> (actor, its job or None for ready(), retries)


def import_ray() -> Any:
    """The ``ray`` module, or a one-line error saying how to install it."""
    try:
        import ray
    except ImportError:
        raise DreamerError(INSTALL) from None
    return ray


class DreamWorker:
    """The actor body: one ``Engine`` for the actor's life, so models load once per worker."""

    def __init__(self, threads: int, env: RunEnv, shared_storage: bool) -> None:
        self.engine = start_worker(threads, env)  # the actor is its own process: set up as the CLI's
        self.threads = threads
        self.shared_storage = shared_storage

    def ready(self) -> dict[str, Any]:
        """Where this actor runs: node, process, device (the driver calls it once, as a start-up barrier)."""
        import ray

        return {
            "node": ray.util.get_node_ip_address(),
            "host": socket.gethostname(),
            "pid": os.getpid(),
            "device": str(self.engine.device),
            "threads": self.threads,
        }

    def render(self, job: Job, photo: bytes | None, out_dir: str) -> dict[str, Any]:
        """Render one job: the PNG's bytes come back, or (shared storage) it is written in ``out_dir``."""
        if self.shared_storage:
            result = run_one(job, Path(out_dir), self.engine)
            return {"status": result.status, "seconds": result.seconds, "error": result.error, "png": None}
        with tempfile.TemporaryDirectory(prefix="dreamer-job-") as tmp:
            local = replace(job, photo=str(Path(tmp) / f"photo{Path(job.photo).suffix}"))
            Path(local.photo).write_bytes(photo or b"")
            try:
                seconds = render_job(local, Path(tmp), self.engine)
            except Exception as exc:  # noqa: BLE001 - a failed job is a result, the actor goes on
                error = failure(job, exc).error or ""
                return {"status": "failed", "seconds": 0.0, "error": error.replace(local.photo, job.photo), "png": None}
            write_thumbnail(local, Path(tmp))  # made here, not on the driver: it only writes the bytes
            png, thumb = (Path(tmp) / name for name in (job.output, thumb_name(job)))
            return {
                "status": "done",
                "seconds": seconds,
                "error": None,
                "png": png.read_bytes(),
                "thumb": thumb.read_bytes(),
            }


def _short(exc: BaseException) -> str:
    """One line for a Ray error (they run to paragraphs)."""
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text[:200]}"


class RayExecutor:
    """Jobs on a Ray cluster; ``address`` None: a private local cluster for this run (or the one already joined)."""

    name = "ray"

    def __init__(
        self,
        address: str | None = None,
        *,
        workers: int | None = None,
        cpus_per_worker: int | None = None,
        env: RunEnv | None = None,
        shared_storage: bool = False,
        retries: int = 1,
        max_restarts: int = MAX_RESTARTS,
    ) -> None:
        self.ray = import_ray()
        self.address = address
        self.workers = workers
        self.cpus_per_worker = cpus_per_worker
        self.env = env or RunEnv()
        self.shared_storage = shared_storage
        self.retries = retries
        self.max_restarts = max_restarts
        self.info: dict[str, Any] = {"name": self.name, "address": address}
        self.started: dict[int, dict[str, Any]] = {}  # each actor's ready() answer, as it comes (back) up

    def describe(self) -> dict[str, Any]:
        """Executor, address, actor resources, the cluster's nodes and the actors' placement."""
        return {**self.info, "actors": list(self.started.values())}

    def _connect(self) -> bool:
        """Join (or start) the cluster; True when this run owns the connection and must close it."""
        ray = self.ray
        owned = not ray.is_initialized()
        if owned:
            address = self.address or os.environ.get("RAY_ADDRESS") or "local"
            options: dict[str, Any] = {"include_dashboard": False} if address == "local" else {}
            try:
                ray.init(address=address, log_to_driver=False, logging_level=logging.WARNING, **options)
            except Exception as exc:  # noqa: BLE001 - Ray raises a bare Exception when its node fails to start
                if address == "local":
                    raise DreamerError(f"a local Ray cluster: cannot start it ({_short(exc)})") from None
                raise DreamerError(f"{address}: cannot start or join it ({_short(exc)})", field="address") from None
        self.info["address"] = ray.get_runtime_context().gcs_address
        return owned

    def _shape(self) -> tuple[int, float, float]:
        """(actors, CPUs each, GPUs each) from the live nodes (see ``actor_shape``)."""
        nodes = [n for n in self.ray.nodes() if n.get("Alive")]
        self.info["nodes"] = [
            {
                "node": n["NodeManagerAddress"],
                "host": n["NodeManagerHostname"],
                "cpus": n["Resources"].get("CPU", 0),
                "gpus": n["Resources"].get("GPU", 0),
            }
            for n in nodes
        ]
        shape = actor_shape([n["Resources"] for n in nodes], self.env.device, self.workers, self.cpus_per_worker)
        self.info.update(workers=shape[0], cpus_per_worker=shape[1], gpus_per_worker=shape[2])
        self.info["shared_storage"] = self.shared_storage
        return shape

    def run(self, jobs: Sequence[Job], out_dir: Path) -> Iterator[Result]:
        """Render the jobs on the cluster's actors, yielding results as they finish."""
        if not jobs:
            return
        ray = self.ray
        self.started = {}
        owned = self._connect()
        actors: list[Any] = []
        inflight: Inflight = {}
        try:
            count, cpus, gpus = self._shape()
            remote = ray.remote(num_cpus=cpus, num_gpus=gpus, max_restarts=self.max_restarts, max_task_retries=0)
            cls = remote(DreamWorker)
            env = self.env.replace(device=actor_device(self.env.device, gpus))
            actors = [cls.remote(max(1, int(cpus)), env, self.shared_storage) for _ in range(count)]
            inflight.update({_probe(a): (i, None, []) for i, a in enumerate(actors)})
            yield from self._schedule(jobs, out_dir, actors, inflight)
        finally:  # also on Ctrl-C: nothing queued starts, nothing running goes on
            self._teardown(inflight, actors, owned)

    def _teardown(self, inflight: dict[Any, Any], actors: list[Any], owned: bool) -> None:
        """Cancel what is queued or running, kill the actors, and leave a cluster this run started."""
        for ref in inflight:
            with suppress(Exception):
                self.ray.cancel(ref)
        for actor in actors:
            with suppress(Exception):
                self.ray.kill(actor)  # for good: no restart
        if owned:
            self.ray.shutdown()

    def _schedule(self, jobs: Sequence[Job], out_dir: Path, actors: list[Any], inflight: Inflight) -> Iterator[Result]:
        """One job in flight per actor; a lost job goes back to the front of the queue (up to ``retries``)."""
        ray = self.ray
        queue: deque[tuple[Job, list[str]]] = deque((job, []) for job in jobs)
        idle: list[int] = []
        nodes: dict[int, str] = {}
        restarts = [0] * len(actors)
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while queue or any(job is not None for _, job, _ in inflight.values()):
            while idle and queue:
                slot = idle.pop()
                job, retries = queue.popleft()
                photo = None if self.shared_storage else _read_photo(job)
                if isinstance(photo, Result):
                    yield photo
                    idle.append(slot)
                    continue
                inflight[actors[slot].render.remote(job, photo, str(out_dir))] = (slot, job, retries)
            if not inflight:  # every actor is gone for good
                for job, retries in queue:
                    yield Result(job, "failed", error="no Ray workers left (each died repeatedly)", retries=retries)
                return
            ready, _ = ray.wait(list(inflight), num_returns=1, timeout=WAIT)
            if not ready:
                if not nodes and time.monotonic() > deadline:
                    raise DreamerError(f"no Ray worker started within {STARTUP_TIMEOUT:.0f} s ({self.describe()})")
                continue
            ready, _ = ray.wait(list(inflight), num_returns=len(inflight), timeout=0)  # every answer in, at once
            for ref in ready:
                slot, job, retries = inflight.pop(ref)
                try:
                    answer = ray.get(ref)
                except ray.exceptions.RayActorError as exc:
                    if job is None:  # dead for good (restarts used up, or its constructor failed): drop it
                        continue
                    # The actor's process died mid-job: Ray restarts it; probe until it is back, send the job again.
                    restarts[slot] += 1
                    inflight[_probe(actors[slot])] = (slot, None, [])
                    lost = [*retries, f"worker on {nodes.get(slot, '?')} died: {_short(exc)}"]
                    if len(lost) <= self.retries:
                        queue.appendleft((job, lost))
                    else:
                        why = f"{Path(job.photo).name}: {lost[-1]}"
                        yield Result(job, "failed", error=why, node=nodes.get(slot), retries=lost[:-1])
                    continue
                idle.append(slot)
                if job is None:
                    nodes[slot] = answer["node"]
                    self.started[slot] = {**answer, "restarts": restarts[slot]}
                    continue
                yield self._record(job, answer, out_dir, nodes[slot], retries)

    def _record(self, job: Job, answer: dict[str, Any], out_dir: Path, node: str, retries: list[str]) -> Result:
        """Write what an actor sent back (image then thumbnail, atomically) and make its result."""
        result = Result(job, answer["status"], answer["seconds"], answer["error"], node=node, retries=retries)
        if answer["png"] is not None:
            try:
                atomic_write(out_dir / job.output, lambda tmp: tmp.write_bytes(answer["png"]))
                (out_dir / "thumbs").mkdir(exist_ok=True)
                atomic_write(out_dir / thumb_name(job), lambda tmp: tmp.write_bytes(answer["thumb"]))
            except Exception as exc:  # noqa: BLE001 - e.g. a full disk: this job fails, the rest go on
                return replace(failure(job, exc), node=node, retries=retries)
        return result


def actor_shape(
    nodes: Sequence[dict[str, float]], device: str, workers: int | None, cpus_per_worker: int | None
) -> tuple[int, float, float]:
    """(actors, CPUs each, GPUs each) for nodes' Ray resources: a GPU each where there are GPUs."""
    node_cpus = [int(n.get("CPU", 0)) for n in nodes] or [1]
    gpus = sum(n.get("GPU", 0) for n in nodes)
    if gpus >= 1 and (device == "auto" or device.partition(":")[0] == "cuda"):  # cuda:N too (#25)
        count = workers or int(gpus)
        return count, float(cpus_per_worker or 1), min(1.0, gpus / count)
    if cpus_per_worker:
        cpus = cpus_per_worker
    elif workers:
        cpus = max(1, min(max(node_cpus), sum(node_cpus) // workers))
    else:
        cpus = max(1, min(CPUS_PER_WORKER, max(node_cpus)))
    return workers or max(1, sum(c // cpus for c in node_cpus)), float(cpus), 0.0


def actor_device(device: str, gpus: float) -> str:
    """The device an actor runs on: ``cuda:N`` becomes ``cuda``, the GPU Ray gave it (the only one it sees)."""
    return "cuda" if gpus and device.partition(":")[0] == "cuda" else device


def _probe(actor: Any) -> Any:
    """``actor.ready()``, retried while the actor restarts; fails only once it is dead for good."""
    return actor.ready.options(max_task_retries=-1).remote()


def _read_photo(job: Job) -> bytes | Result:
    """The photo's bytes to ship to an actor, or the failed result the local executor would give."""
    try:
        return Path(job.photo).read_bytes()
    except OSError as exc:
        from dreamer.outputs.images import load_image

        try:
            load_image(job.photo)  # its one-line message (no such file, permission denied, ...)
        except DreamerError as why:
            return Result(job, "failed", error=str(why))
        return failure(job, exc)
