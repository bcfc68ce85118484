"""A video dreamed in chunks at once (``dreamer video --workers N``, ``--executor pool|ray``).

The driver counts the frames, plans the chunks (``video.chunks``), records the plan with the settings
in ``video.json``, and hands one task per chunk to an executor (``runners.tasks``). Each chunk writes
its frames into the shared frames folder as they finish, resuming from its own frames on disk (the
rule of a single run, counted from the chunk's first frame), so a retried chunk or a rerun after a
killed driver redoes only what was lost. The driver cross-fades each border's seam frames as both
sides are in, then scores the whole clip (the seam pairs from the frames on disk).
"""

from __future__ import annotations

import itertools
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PIL import Image

from dreamer.core.consistency import Score, warping_error
from dreamer.engine.engine import Engine
from dreamer.engine.events import CancelToken
from dreamer.engine.inputs import load_mask
from dreamer.engine.records import frame_record
from dreamer.errors import DreamerError
from dreamer.outputs.frames import FRAME_NAME, whole_png
from dreamer.outputs.images import save_image
from dreamer.outputs.metadata import read_metadata
from dreamer.runners.executors import run_tasks
from dreamer.runners.tasks import Task
from dreamer.spec.specs import DreamSpec
from dreamer.spec.video import VideoSpec
from dreamer.video import score as scoring
from dreamer.video.chain import Chain, as_float, pair_flows
from dreamer.video.chunks import SEAM_NAME, Chunk, borders, crossfade, from_borders, plan_chunks, resumable, seam_pairs
from dreamer.video.frames import video_folder
from dreamer.video.io import CorruptStream, read_frames, rgb_array
from dreamer.video.setup import FrameDone, OnEvent, Setup, sample_error, with_chunks

DEFAULT_CHUNKS = 2  # chunks of a pool or Ray run when --workers is not given


@dataclass(frozen=True)
class ChunkTask:
    """Everything a worker needs to dream one chunk (plain data; the files at the same paths on every node)."""

    source: str
    folder: str
    size: tuple[int, int]
    fps: float
    start: float
    duration: float | None
    video: VideoSpec
    spec: DreamSpec  # planned: the run's seed
    settings: dict[str, Any]
    chunk: Chunk


def _raw(folder: Path, index: int, where: str) -> Path:
    """Where a chunk's own dream of frame ``index`` goes: the frame itself, or a seam file (side a or b)."""
    return folder / (FRAME_NAME.format(index) if where == "frame" else SEAM_NAME.format(index, where))


def _present(folder: Path, index: int, where: str) -> Path | None:
    """The file holding frame ``index`` of a chunk's outputs (its raw dream, else the cross-faded frame)."""
    for path in (_raw(folder, index, where), folder / FRAME_NAME.format(index)):
        if whole_png(path):
            return path
    return None


def run_chunk(engine: Engine, task: ChunkTask) -> dict[str, Any]:
    """A worker's task: dream one chunk into the frames folder, resuming from its outputs there; its pair scores."""
    started = time.perf_counter()
    chunk, folder, video = task.chunk, Path(task.folder), task.video
    frames_at, plan = video_folder(folder), engine.plan(task.spec)
    outputs = chunk.outputs()
    found = [_present(folder, i, where) for i, where in outputs]
    n = resumable([p is not None for p in found])
    reference = 0.0
    if 0 < n < len(outputs):  # resumed mid-chunk: the carry's strength as the chunk's first dream set it
        reference = float(read_metadata(found[n - 1]).get("carry_reference") or 0.0)  # type: ignore[arg-type]
    mask = load_mask(task.spec.mask, (task.size[1], task.size[0])) if task.spec.mask else None
    chain = Chain(engine, plan.spec, video, mask, reference=reference)
    out_start, dreamed = chunk.first - chunk.lead, 0
    frames = read_frames(Path(task.source), task.size, start=task.start, duration=task.duration, fps=task.fps)
    for index, cur_in in enumerate(frames):  # decoded from the slice's start: the same frames as a single run's
        if index >= chunk.stop:
            break
        if index < max(chunk.start, out_start if n else chunk.start):
            continue
        if index < out_start:  # warm-up: dreamed and dropped
            chain.dream(index, cur_in)
            continue
        position = index - out_start
        if position < n:
            chain.advance(index, cur_in, rgb_array(found[position]))  # type: ignore[arg-type]
            continue
        out, _ = chain.dream(index, cur_in)
        where = outputs[position][1]
        meta = frame_record(plan, index, Path(task.source).name, video=task.settings["video"])
        meta |= {"chunk": chunk.index, "carry_reference": chain.reference}
        if where == "frame":
            frames_at.save(index, Image.fromarray(out), task.settings, meta)
        else:
            save_image(Image.fromarray(out), _raw(folder, index, where), metadata=meta)
        dreamed += 1
    own = range(chunk.first + 1, chunk.stop - chunk.tail)  # pairs inside the chunk; the driver scores the seams
    return {
        "chunk": chunk.index,
        "dreamed": dreamed,
        "seconds": time.perf_counter() - started,
        "inputs": {i: chain.inputs.pairs[i] for i in own if i in chain.inputs.pairs},
        "outputs": {i: chain.outputs.pairs[i] for i in own if i in chain.outputs.pairs},
    }


def _count(setup: Setup) -> tuple[int, str | None]:
    """The frames in the slice (decoded: a chunk plan needs the exact count), and where a corrupt stream ended it."""
    n = 0
    try:
        for _ in setup.frames():
            n += 1
    except CorruptStream as exc:
        if n:
            return n, str(exc)
        raise
    if not n:
        where = f" from --start {setup.video.start:g} s" if setup.video.start else ""
        raise DreamerError(f"{setup.source}: has no frames{where}")
    return n, None


def _plan(setup: Setup, total: int, workers: int) -> list[Chunk]:
    """The recorded chunks when a resume's clip is the same length, else a new plan of ``workers`` chunks."""
    recorded = (setup.frames_at.read_state() or {}).get("chunks")
    video = setup.video
    if isinstance(recorded, list) and recorded and isinstance(recorded[-1], list) and recorded[-1][-1] == total:
        return from_borders(recorded, video.warmup, video.overlap)
    return plan_chunks(total, workers, video.warmup, video.overlap)


def _blend(folder: Path, earlier: Chunk, later: Chunk) -> None:
    """Write the cross-faded frames of the seam between two finished chunks (each once)."""
    for position, index in enumerate(range(later.first - later.lead, later.first)):
        a, b = _raw(folder, index, "a"), _raw(folder, index, "b")
        if whole_png(folder / FRAME_NAME.format(index)) or not (whole_png(a) and whole_png(b)):
            continue
        mixed = crossfade(rgb_array(a), rgb_array(b), position, later.lead)
        meta = read_metadata(b) | {"chunk": [earlier.index, later.index], "crossfade": position}
        save_image(Image.fromarray(mixed), folder / FRAME_NAME.format(index), metadata=meta)


def _seam_scores(setup: Setup, chunks: list[Chunk], inputs: Score, outputs: Score) -> None:
    """Score the pairs at and around each border, from the frames on disk (they were cross-faded after)."""
    wanted = set(seam_pairs(chunks))
    prev_in = None
    for index, cur_in in enumerate(setup.frames()):
        if index > max(wanted, default=-1):
            break
        if index in wanted and prev_in is not None:
            back, fwd = pair_flows(prev_in, cur_in, setup.video.flow)
            prev_out, cur_out = (as_float(rgb_array(setup.folder / FRAME_NAME.format(i))) for i in (index - 1, index))
            inputs.add(index, warping_error(as_float(prev_in), as_float(cur_in), back, fwd))
            outputs.add(index, warping_error(prev_out, cur_out, back, fwd))
        prev_in = cur_in


def dream_chunks(
    setup: Setup,
    engine: Engine,
    workers: int,
    executor: str | None,
    address: str | None,
    on_event: OnEvent | None,
    cancel: CancelToken | None,
) -> tuple[list[Path], str | None, dict[str, Any]]:
    """The clip in chunks on ``executor``: (frames, where a corrupt stream ended it, the score record)."""
    name = executor or ("ray" if address else "pool")
    if address and name != "ray":
        raise DreamerError(f"--address needs --executor ray (got --executor {name})")
    total, stopped = _count(setup)
    chunks = _plan(setup, total, workers if workers > 1 else DEFAULT_CHUNKS)
    setup = with_chunks(setup, borders(chunks))
    setup.frames_at.resume(setup.settings)  # refuses other settings before any work
    setup.frames_at.record(setup.settings)
    video, folder = setup.video, setup.folder
    tasks = [
        Task(
            f"chunk {c.index} (frames {c.first}-{c.stop - 1})",
            run_chunk,
            ChunkTask(
                str(setup.source.resolve()),
                str(folder.resolve()),
                setup.size,
                setup.fps,
                video.start,
                video.duration,
                video,
                setup.plan.spec,
                setup.settings,
                c,
            ),
        )
        for c in chunks
    ]
    inputs, outputs = Score(), Score()
    finished: set[int] = set()
    ran: list[dict[str, Any]] = []  # per chunk: where it ran, what it dreamed, the retries and why
    results = run_tasks(tasks, name, workers=len(chunks), env=engine.env, engine=engine, address=address)
    try:
        for result in results:
            if result.status != "done" or result.value is None:
                raise DreamerError(
                    f"{setup.source}: {result.key} failed: {result.error}; the finished frames are kept, "
                    "run the same command again to resume"
                )
            k = result.value["chunk"]
            finished.add(k)
            ran.append(
                {
                    "chunk": k,
                    "node": result.node,
                    "dreamed": result.value["dreamed"],
                    "seconds": round(result.value["seconds"], 3),
                    "retries": result.retries,
                }
            )
            for i, e in result.value["inputs"].items():
                inputs.add(int(i), e)
            for i, e in result.value["outputs"].items():
                outputs.add(int(i), e)
            for a, b in itertools.pairwise(chunks):
                if {a.index, b.index} <= finished:
                    _blend(folder, a, b)
            if on_event is not None:
                kept = sum(chunks[j].stop - chunks[j].first for j in finished)
                on_event(FrameDone(kept - 1, total, result.value["seconds"], 0.0, 0.0, None))
    finally:
        getattr(results, "close", lambda: None)()
    for seam in sorted(folder.glob("seam_*.png")):  # every frame is written: the two sides are no longer needed
        seam.unlink()
    _seam_scores(setup, chunks, inputs, outputs)
    frames = [folder / FRAME_NAME.format(i) for i in range(total)]
    count = min(video.score_frames, total)
    sample = list(itertools.islice(setup.frames(), count))
    first_out = rgb_array(frames[0]) if frames else None
    sampled = sample_error(setup, engine, sample, first_out, cancel)
    record = scoring.summarize(inputs, outputs, sampled, seam_pairs(chunks))
    record["chunks"] = {
        "borders": borders(chunks),
        "warmup": video.warmup,
        "overlap": video.overlap,
        "executor": name,
        "ran": ran,
    }
    return frames, stopped, record
