"""Run plain-data tasks (``fn(engine, arg) -> dict``) in this process, in CPU processes, or on Ray.

For run kinds other than the gallery (a chunked video): each task is a module-level function and a
picklable argument; each worker keeps one ``Engine``. A task whose worker dies is sent again
(``retries`` times) and the reason is kept in its result; a task that raises fails with one line.
The task itself must be resumable from what it wrote (a chunk re-reads its frames), so a retry only
redoes what was lost.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import queue
import signal
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from dreamer.errors import DreamerError
from dreamer.runners.startup import start_worker
from dreamer.spec.specs import RunEnv

POLL = 0.2  # seconds between checks that the running processes are alive


@dataclass(frozen=True)
class Task:
    """``fn(engine, arg)`` under ``key``: ``fn`` a module-level function (sent by name), ``arg`` picklable."""

    key: str
    fn: Callable[[Any, Any], dict[str, Any]]
    arg: Any


@dataclass
class TaskResult:
    """What a task returned (``value``), or why it failed; ``retries`` says why it was sent again, if it was."""

    key: str
    status: str  # "done" or "failed"
    value: dict[str, Any] | None = None
    error: str | None = None
    node: str | None = None
    retries: list[str] = field(default_factory=list)


def call(task: Task, engine: Any) -> TaskResult:
    """Run one task with ``engine``; an exception becomes a failed result of one line."""
    try:
        return TaskResult(task.key, "done", task.fn(engine, task.arg))
    except DreamerError as exc:
        return TaskResult(task.key, "failed", error=str(exc))
    except Exception as exc:  # noqa: BLE001 - one broken task must not stop the others
        return TaskResult(task.key, "failed", error=f"{type(exc).__name__}: {exc}".splitlines()[0])


def run_local(tasks: Sequence[Task], engine: Any) -> Iterator[TaskResult]:
    """Every task in this process, in order, on ``engine``."""
    for task in tasks:
        yield call(task, engine)


def _child(task: Task, threads: int, env: RunEnv, results: Any) -> None:
    """A pool process: its own start-up and Engine, one task, its result back."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
    results.put(call(task, start_worker(threads, env)))


def run_pool(tasks: Sequence[Task], workers: int, env: RunEnv, retries: int = 1) -> Iterator[TaskResult]:
    """Each task in a fresh spawned process, ``workers`` at a time; one whose process dies is started again."""
    ctx = mp.get_context("spawn")
    results = ctx.Queue()
    threads = max(1, (os.cpu_count() or 1) // max(1, min(workers, len(tasks))))
    todo = [(t, list[str]()) for t in tasks]
    running: dict[str, tuple[Any, Task, list[str]]] = {}
    try:
        while todo or running:
            while todo and len(running) < workers:
                task, why = todo.pop(0)
                proc = ctx.Process(target=_child, args=(task, threads, env, results), daemon=True)
                proc.start()
                running[task.key] = (proc, task, why)
            try:
                result: TaskResult = results.get(timeout=POLL)
            except queue.Empty:
                for key, (proc, task, why) in list(running.items()):
                    if not proc.is_alive() and results.empty():
                        del running[key]
                        lost = [*why, f"its worker process ended ({proc.exitcode})"]
                        if len(lost) <= retries:
                            todo.insert(0, (task, lost))
                        else:
                            yield TaskResult(key, "failed", error=lost[-1], retries=lost[:-1])
                continue
            proc, _, why = running.pop(result.key)
            proc.join(timeout=10)
            result.retries = why
            yield result
    finally:  # normal end, Ctrl-C or the caller closing early: no process outlives the run
        for proc, _, _ in running.values():
            if proc.is_alive():
                proc.kill()
            proc.join(timeout=5)
        results.cancel_join_thread()
