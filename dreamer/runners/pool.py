"""Execute gallery jobs in a pool of CPU processes on this machine, each keeping one ``Engine``.

Our own small pool rather than ``concurrent.futures``: the parent must know which job each worker
is on, so a worker that dies (killed, out of memory) fails only its own job and is replaced, and so
Ctrl-C or the parent's death ends every worker at once (workers ignore SIGINT, and on Linux the
kernel kills them when the parent dies).
"""

from __future__ import annotations

import contextlib
import multiprocessing as mp
import os
import queue
import signal
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from dreamer.runners.local import run_one
from dreamer.runners.plan import Job, Result
from dreamer.runners.startup import start_worker
from dreamer.spec.specs import RunEnv

POLL = 0.2  # seconds between checks that every busy worker is still alive
PR_SET_PDEATHSIG = 1  # prctl option: a signal for this process when its parent dies (Linux)


def _die_with_parent() -> None:
    """Ask the kernel to SIGKILL this worker when the process that started it dies (Linux only)."""
    with contextlib.suppress(OSError, AttributeError):
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)


def _worker(threads: int, env: RunEnv, out_dir: str, tasks: Any, results: Any) -> None:
    """A worker process: one Engine for its life; announce each job, render it, send the result back."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
    _die_with_parent()
    engine = start_worker(threads, env)
    while (job := tasks.get()) is not None:
        results.put(("started", os.getpid(), job.key))
        results.put(("done", os.getpid(), run_one(job, Path(out_dir), engine)))


def _death(code: int | None) -> str:
    if code is not None and code < 0:
        name = signal.Signals(-code).name
        why = " (out of memory?)" if -code == signal.SIGKILL else ""
        return f"the worker process was killed by {name}{why}"
    return f"the worker process exited with status {code}"


class PoolExecutor:
    """``workers`` processes sharing this machine's cores; results come back as they finish."""

    name = "pool"

    def __init__(self, workers: int, env: RunEnv | None = None) -> None:
        self.workers = workers
        self.env = env or RunEnv()

    def run(self, jobs: Sequence[Job], out_dir: Path) -> Iterator[Result]:
        """Render the jobs in the pool; a worker that dies fails its job and is replaced."""
        if not jobs:
            return
        ctx = mp.get_context("spawn")  # a fresh interpreter: no threads or locks inherited from the parent
        tasks, results = ctx.Queue(), ctx.Queue()
        for job in jobs:
            tasks.put(job)
        threads = max(1, (os.cpu_count() or 1) // self.workers)
        by_key = {job.key: job for job in jobs}
        procs: dict[int, Any] = {}
        busy: dict[int, str] = {}  # worker pid -> key of the job it is rendering
        pending = set(by_key)  # keys with no result yet

        def start() -> None:
            p = ctx.Process(target=_worker, args=(threads, self.env, str(out_dir), tasks, results), daemon=True)
            p.start()
            procs[p.pid] = p
            tasks.put(None)  # one stop sign per worker, read once the jobs are gone

        try:
            for _ in range(min(self.workers, len(jobs))):
                start()
            left = len(jobs)
            while left:
                try:
                    kind, pid, payload = results.get(timeout=POLL)
                except queue.Empty:
                    for pid, p in list(procs.items()):
                        if not p.is_alive() and pid in busy:  # died mid-job: that job fails, a new worker starts
                            job = by_key[busy.pop(pid)]
                            del procs[pid]
                            left -= 1
                            pending.discard(job.key)
                            yield Result(job, "failed", error=f"{Path(job.photo).name}: {_death(p.exitcode)}")
                            start()
                        elif not p.is_alive() and p.exitcode != 0:  # died between jobs: only replace it
                            del procs[pid]
                            start()
                    if left and not any(p.is_alive() for p in procs.values()):  # a job taken by a worker that died
                        for key in sorted(pending):  # before it could say so: nobody is left to render it
                            yield Result(by_key[key], "failed", error="lost with a worker process that died")
                        return
                    continue
                if kind == "started":
                    busy[pid] = payload
                else:
                    busy.pop(pid, None)
                    pending.discard(payload.job.key)
                    left -= 1
                    yield payload
        finally:  # normal end, Ctrl-C or the caller closing early: no worker outlives the run
            for p in procs.values():
                if p.is_alive():
                    p.kill()
            for p in procs.values():
                p.join(timeout=5)
            tasks.cancel_join_thread()
            results.cancel_join_thread()

    def describe(self) -> dict[str, Any]:
        """The pool's size."""
        return {"name": self.name, "workers": self.workers}
