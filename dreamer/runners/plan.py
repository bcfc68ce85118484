"""The gallery's plan: every photo in every style as plain-data jobs, and the rule that says one is done.

The plan is independent of what executes it (in process, a process pool, a Ray cluster): each
runs the same jobs with the same resume rule (an output whose metadata holds the job's key).
"""

from __future__ import annotations

import dataclasses
import glob
import hashlib
import json
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dreamer.errors import DreamerError
from dreamer.outputs.metadata import read_metadata
from dreamer.spec.schema import Kind, knobs, to_dict
from dreamer.spec.styles import Style

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".webp", ".bmp", ".gif", ".tif", ".tiff"}


@dataclass(frozen=True)
class Job:
    """One render: a photo in a style, with every resolved setting and the output's name."""

    photo: str
    style: str
    config: dict[str, Any]
    output: str  # file name inside the gallery folder
    key: str  # hash of the photo's bytes and the resolved settings: same key = same image

    def to_dict(self) -> dict[str, Any]:
        """Plain data for the manifest (and for any other executor)."""
        return {"photo": self.photo, "style": self.style, "config": self.config, "output": self.output, "key": self.key}


@dataclass
class Result:
    """What happened to one job."""

    job: Job
    status: str  # "done", "skipped" (already there) or "failed"
    seconds: float = 0.0
    error: str | None = None
    node: str | None = None  # where it ran, for executors with several machines
    retries: list[str] = field(default_factory=list)  # why earlier attempts were lost (a worker died)


@dataclass
class GalleryReport:
    """The outcome of a gallery run."""

    out_dir: Path
    results: list[Result] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)  # one line per input that matched no photo
    executor: dict[str, Any] = field(default_factory=dict)  # what ran the jobs (name, workers, nodes)

    @property
    def failed(self) -> list[Result]:
        """Jobs that could not be rendered."""
        return [r for r in self.results if r.status == "failed"]


def collect_photos(inputs: Iterable[str], exclude: Path | None = None) -> tuple[list[Path], list[str]]:
    """Files, folders (walked for images) and globs -> (photos in order, a message per input that matched nothing).

    A photo given twice (another spelling, a link) counts once; nothing inside ``exclude`` (the
    gallery's own output folder) is ever taken as input, so a re-run never dreams its own dreams.
    """
    skip = exclude.resolve() if exclude is not None else None
    photos: dict[Path, Path] = {}  # real path -> first spelling
    missing: list[str] = []
    for item in inputs:
        path = Path(item)
        if path.is_dir():
            found = sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)
        elif path.exists():
            found = [path]
        else:
            found = sorted(Path(p) for p in glob.glob(item, recursive=True) if Path(p).is_file())
        found = [p for p in found if skip is None or not p.resolve().is_relative_to(skip)]
        if not found:
            why = "folder holds no images" if path.is_dir() else "no such file, folder or matching glob"
            missing.append(f"{item}: {why}")
        for p in found:
            photos.setdefault(p.resolve(), p)
    return list(photos.values()), missing


def unique_styles(styles: list[Style]) -> list[Style]:
    """The styles with distinct names: a second style called the same (another file) gets its path's hash added."""
    seen: dict[str, Path] = {}
    out = []
    for style in styles:
        if style.name in seen and seen[style.name].resolve() != style.path.resolve():
            tag = hashlib.sha1(str(style.path.resolve()).encode()).hexdigest()[:6]
            style = dataclasses.replace(style, name=f"{style.name}-{tag}")
        if style.name not in seen:
            seen[style.name] = style.path
            out.append(style)
    return out


def _file_hash(path: Path) -> str:
    h = hashlib.sha256()
    try:
        with open(path, "rb") as f:
            for chunk in iter(lambda: f.read(1 << 20), b""):
                h.update(chunk)
    except OSError:  # unreadable: the render will report it; keep the plan going
        h.update(str(path).encode())
    return h.hexdigest()


DREAM_FILE = re.compile(r"[A-Za-z0-9._-]+-[0-9a-f]{6}__.+\.png")  # a job's output: _safe_stem(photo)__STYLE.png


def _safe_stem(path: Path) -> str:
    """A file-system- and URL-friendly version of a photo's name, with a short hash for uniqueness."""
    stem = re.sub(r"[^A-Za-z0-9._-]+", "_", path.stem).strip("._") or "photo"
    return f"{stem[:40]}-{hashlib.sha1(str(path.resolve()).encode()).hexdigest()[:6]}"


def _file_digests(settings: dict[str, Any]) -> dict[str, str]:
    """The contents of every file a job reads besides the photo (guide, mask, weights), hashed."""
    from dreamer.spec.specs import DreamSpec

    return {
        name: _file_hash(Path(settings[name]))
        for name, (_, k) in knobs(DreamSpec).items()
        if k.kind is Kind.FILE and settings.get(name)
    }


Progress = Callable[[str, int, int], None]  # (stage, done so far, total): planning and resume report through it
PROGRESS_EVERY = 1000  # items between progress calls


def plan_jobs(
    photos: Iterable[Path],
    styles: Iterable[Style],
    overrides: dict[str, Any] | None = None,
    progress: Progress | None = None,
) -> list[Job]:
    """Every photo in every style, settings resolved (defaults < style < overrides) and keyed.

    Each style's settings are resolved (and its guide or mask hashed) once, each photo hashed once;
    per job only the key is hashed. The key is ``sha256`` of ``[photo digest, style, settings, files]``
    as sorted JSON, spliced from the style's part, so galleries planned by earlier versions resume.
    """
    resolved = []
    for style in styles:
        spec = style.apply().replace(**(overrides or {}))
        settings = to_dict(spec, (Kind.LOOK, Kind.FILE))  # where it runs does not change what it is
        tail = json.dumps([style.name, settings, _file_digests(settings)], sort_keys=True)[1:]
        resolved.append((style.name, settings, tail, spec.seed is None))
    photos = list(photos)
    jobs = []
    for n, photo in enumerate(photos):
        digest, stem = _file_hash(photo), _safe_stem(photo)
        for name, settings, tail, derive_seed in resolved:
            key = hashlib.sha256(f'["{digest}", {tail}'.encode()).hexdigest()
            config = {**settings, "seed": int(key[:15], 16)} if derive_seed else dict(settings)
            jobs.append(Job(str(photo), name, config, f"{stem}__{name}.png", key))  # a derived seed: reruns match
        if progress is not None and (n + 1) % PROGRESS_EVERY == 0:
            progress("planning", n + 1, len(photos))
    if progress is not None:
        progress("planning", len(photos), len(photos))
    return jobs


def is_done(job: Job, out_dir: Path) -> bool:
    """The resume rule: the output exists and records this job's key."""
    path = out_dir / job.output
    if not path.is_file():
        return False
    try:
        return read_metadata(path).get("job_key") == job.key
    except DreamerError:
        return False
