"""Which executor runs a run kind's tasks (``runners.tasks``): this process, a process pool, or Ray."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from dreamer.errors import DreamerError
from dreamer.runners.tasks import Task, TaskResult, run_local, run_pool
from dreamer.spec.specs import RunEnv


def run_tasks(
    tasks: Sequence[Task],
    executor: str,
    *,
    workers: int,
    env: RunEnv,
    engine: Any = None,
    address: str | None = None,
    retries: int = 1,
) -> Iterator[TaskResult]:
    """The tasks' results as they finish, on ``executor``: local (on ``engine``), pool or ray."""
    if executor == "local":
        return run_local(tasks, engine)
    if executor == "pool":
        return run_pool(tasks, workers, env, retries)
    if executor == "ray":
        from dreamer.runners.ray_tasks import RayTasks

        return RayTasks(address, workers=workers, env=env, retries=retries).run_tasks(tasks)
    raise DreamerError(f"--executor must be local, pool or ray (got {executor!r})")
