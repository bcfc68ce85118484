"""Execute gallery jobs in a pool of CPU processes on this machine, each keeping one ``Engine``."""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from dreamer.runners.local import run_one
from dreamer.runners.plan import Job, Result
from dreamer.spec.specs import RunEnv

_WORKER: dict[str, Any] = {}  # filled only inside pool worker processes: their own Engine


def _worker_init(threads: int, env: RunEnv) -> None:
    """Pool worker set-up: share the cores fairly and keep one Engine (models load once per worker)."""
    import torch

    from dreamer.engine.engine import Engine
    from dreamer.runners.heap import keep_freed_memory

    keep_freed_memory()  # a worker process is its own entry point: tune its malloc as the CLI does
    torch.set_num_threads(threads)
    _WORKER["engine"] = Engine(env)


def _worker_render(job: Job, out_dir: str) -> Result:
    """Process-pool entry point."""
    return run_one(job, Path(out_dir), _WORKER["engine"])


class PoolExecutor:
    """``workers`` processes sharing this machine's cores; results come back in job order."""

    name = "pool"

    def __init__(self, workers: int, env: RunEnv | None = None) -> None:
        self.workers = workers
        self.env = env or RunEnv()

    def run(self, jobs: Sequence[Job], out_dir: Path) -> Iterator[Result]:
        """Render the jobs in the pool."""
        if not jobs:
            return
        from concurrent.futures import ProcessPoolExecutor

        threads = max(1, (os.cpu_count() or 1) // self.workers)
        with ProcessPoolExecutor(self.workers, initializer=_worker_init, initargs=(threads, self.env)) as pool:
            yield from pool.map(_worker_render, jobs, [str(out_dir)] * len(jobs))

    def describe(self) -> dict[str, Any]:
        """The pool's size."""
        return {"name": self.name, "workers": self.workers}
