"""Plain-data tasks (``runners.tasks``) on a Ray cluster: one actor per worker slot, each keeping its ``Engine``.

The cluster connection and the actors' shape are the gallery's (``runners.ray``). A task whose actor
dies (its process killed, its node gone) goes back to the front of the queue, to the next idle actor
(the dead one is restarted by Ray where resources allow), up to ``retries`` times, each with its reason.
Tasks read and write their files themselves: every node must see them at the same paths.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Iterator, Sequence
from typing import Any

from dreamer.errors import DreamerError
from dreamer.runners.ray import STARTUP_TIMEOUT, WAIT, RayExecutor, actor_device
from dreamer.runners.startup import start_worker
from dreamer.runners.tasks import Task, TaskResult, call
from dreamer.spec.specs import RunEnv


class TaskWorker:
    """The actor body: one ``Engine`` for the actor's life; runs any task on it."""

    def __init__(self, threads: int, env: RunEnv) -> None:
        self.engine = start_worker(threads, env)

    def ready(self) -> str:
        """The node this actor runs on (the driver's start-up barrier)."""
        import ray

        return ray.util.get_node_ip_address()

    def run(self, task: Task) -> TaskResult:
        """Run one task here, noting the node."""
        import ray

        result = call(task, self.engine)
        result.node = ray.util.get_node_ip_address()
        return result


class RayTasks(RayExecutor):
    """Tasks on a Ray cluster (joined at ``address``, or a private local one)."""

    def run_tasks(self, tasks: Sequence[Task]) -> Iterator[TaskResult]:
        """The tasks' results as they finish; closing the generator kills the actors."""
        ray = self.ray
        owned = self._connect()
        actors: list[Any] = []
        inflight: dict[Any, tuple[int, Task | None, list[str]]] = {}
        try:
            count, cpus, gpus = self._shape()
            remote = ray.remote(num_cpus=cpus, num_gpus=gpus, max_restarts=self.max_restarts, max_task_retries=0)
            env = self.env.replace(device=actor_device(self.env.device, gpus))
            actors = [remote(TaskWorker).remote(max(1, int(cpus)), env) for _ in range(min(count, len(tasks)))]
            inflight.update({_ready(a): (i, None, []) for i, a in enumerate(actors)})
            yield from self._schedule(tasks, actors, inflight)
        finally:  # also on Ctrl-C: nothing queued starts, nothing running goes on
            self._teardown(inflight, actors, owned)

    def _schedule(
        self, tasks: Sequence[Task], actors: list[Any], inflight: dict[Any, tuple[int, Task | None, list[str]]]
    ) -> Iterator[TaskResult]:
        """One task in flight per live actor; a lost task goes to the front of the queue."""
        ray = self.ray
        todo: deque[tuple[Task, list[str]]] = deque((t, []) for t in tasks)
        idle: list[int] = []
        nodes: dict[int, str] = {}
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while todo or any(task is not None for _, task, _ in inflight.values()):
            while idle and todo:
                slot = idle.pop()
                task, why = todo.popleft()
                inflight[actors[slot].run.remote(task)] = (slot, task, why)
            if not inflight:
                for task, why in todo:
                    yield TaskResult(task.key, "failed", error="no Ray workers left (each died)", retries=why)
                return
            done, _ = ray.wait(list(inflight), num_returns=1, timeout=WAIT)
            if not done:
                if not nodes and time.monotonic() > deadline:
                    raise DreamerError(f"no Ray worker started within {STARTUP_TIMEOUT:.0f} s ({self.describe()})")
                continue
            slot, task, why = inflight.pop(done[0])
            try:
                answer = ray.get(done[0])
            except (ray.exceptions.RayActorError, ray.exceptions.ObjectLostError) as exc:
                if task is None:  # dead for good: drop it
                    continue
                inflight[_ready(actors[slot])] = (slot, None, [])  # back when Ray has restarted it somewhere
                lost = [*why, f"worker on {nodes.get(slot, '?')} died: {type(exc).__name__}"]
                if len(lost) <= self.retries:
                    todo.appendleft((task, lost))
                else:
                    yield TaskResult(task.key, "failed", error=lost[-1], node=nodes.get(slot), retries=lost[:-1])
                continue
            idle.append(slot)
            if task is None:
                nodes[slot] = answer
                self.started[slot] = {"node": answer}
                continue
            answer.retries = why
            yield answer


def _ready(actor: Any) -> Any:
    """``actor.ready()``, retried while the actor restarts."""
    return actor.ready.options(max_task_retries=-1).remote()
