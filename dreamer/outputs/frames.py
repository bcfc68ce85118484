"""A folder of numbered frames that a run can resume: where it goes, its state file, what a resume may reuse.

The zoom and the video dream both write ``frame_00000.png``, ``frame_00001.png`` ... as each frame
finishes, and the settings the frames depend on into a state file (``zoom.json``, ``video.json``) with
the first of them. The same call after an interruption reuses the frames numbered without a gap and
the recorded seed; other settings are refused, naming the knobs that changed.
"""

from __future__ import annotations

import json
import os
import re
import warnings
from pathlib import Path
from typing import Any

from PIL import Image

from dreamer.errors import DreamerError, DreamerWarning
from dreamer.outputs.folders import read_record, refuse_foreign
from dreamer.outputs.images import atomic_write, fit_max_side, save_image

FRAME_NAME = "frame_{:05d}.png"
FRAME_FILE = re.compile(r"frame_\d{5,}\.png")
PNG_START = b"\x89PNG\r\n\x1a\n"
PNG_END = b"\0\0\0\0IEND\xaeB`\x82"  # the empty IEND chunk every whole PNG ends with


def frame_size(size: tuple[int, int], max_side: int) -> tuple[int, int]:
    """(width, height) of the frames: fitted to ``max_side``, rounded down to even for video codecs."""
    w, h = fit_max_side(size, max_side)
    return max(2, w - w % 2), max(2, h - h % 2)


def is_folder_output(output: Path) -> bool:
    """Whether ``-o`` names a folder for the frames only (an existing folder, no suffix, or a trailing slash)."""
    return output.is_dir() or not output.suffix or str(output).endswith(("/", os.sep))


def frames_folder(output: Path, frames_dir: Path | None = None) -> Path:
    """Where an animation's frames go: ``frames_dir``, else the folder ``output`` names, else NAME_EXT_frames/.

    The extension is part of the name, so ``dream.mp4`` and ``dream.gif`` of other settings never share frames.
    """
    if frames_dir is not None:
        return Path(frames_dir)
    return output if is_folder_output(output) else output.with_name(f"{output.stem}_{output.suffix[1:]}_frames")


def whole_png(path: Path) -> bool:
    """Whether ``path`` starts and ends as a PNG does (a zero-byte or truncated frame does not); reads 20 bytes."""
    try:
        with open(path, "rb") as f:
            start = f.read(len(PNG_START))
            f.seek(0, os.SEEK_END)
            if f.tell() < len(PNG_START) + len(PNG_END):
                return False
            f.seek(-len(PNG_END), os.SEEK_END)
            return start == PNG_START and f.read() == PNG_END
    except OSError:
        return False


def finished_frames(folder: Path, start: int = 0, stop: int | None = None) -> list[Path]:
    """The whole frames in ``folder`` numbered ``start``, ``start + 1``, ... (before ``stop``) without a gap.

    They are the ones a resume can trust; a chunk of a chunked run counts from its own first frame.

    The count stops at a damaged frame (zero bytes or cut short, e.g. written by a killed run of
    another tool or on a full disk): it and every later frame are dreamed again.
    """
    done: list[Path] = []
    while (stop is None or start + len(done) < stop) and whole_png(
        frame := folder / FRAME_NAME.format(start + len(done))
    ):
        done.append(frame)
    return done


def check_folder(folder: Path) -> None:
    """Refuse a frames folder that is a file, or that cannot be created or written."""
    if folder.exists() and not folder.is_dir():
        raise DreamerError(f"{folder}: is a file; the frames folder must be a directory")
    existing = folder
    while not existing.exists():
        existing = existing.parent
    if not os.access(existing, os.W_OK):
        raise DreamerError(f"{folder}: cannot write the frames there ({existing} is not writable)")


class FramesFolder:
    """One animation's frames folder and its state file ``state`` (e.g. ``zoom.json``)."""

    def __init__(self, path: str | os.PathLike[str], state: str, also: re.Pattern[str] | None = None) -> None:
        self.path = Path(path)
        self.state_path = self.path / state
        self.also = also  # other files the run keeps there (a chunked video's seam frames)
        self._state_written = self.state_path.exists()

    def read_state(self) -> dict[str, Any] | None:
        """The settings recorded with the frames, or None when there are none."""
        if not self.state_path.exists():
            return None
        state = read_record(self.state_path)
        if state is None:
            raise DreamerError(
                f"{self.state_path}: cannot read the settings of the frames there; delete it to start over"
            )
        return state

    def recorded_seed(self) -> int | None:
        """The seed in the state file, if it holds one (a resume without a seed takes it)."""
        spec = (read_record(self.state_path) or {}).get("spec")
        seed = spec.get("seed") if isinstance(spec, dict) else None
        return seed if isinstance(seed, int) and not isinstance(seed, bool) else None

    def resume(self, settings: dict[str, Any]) -> list[Path]:
        """The finished frames a run with ``settings`` may reuse; frames made with other settings are refused."""
        check_folder(self.path)
        state = self.state_path.name
        also = self.also

        def own(name: str) -> bool:
            return name == state or bool(FRAME_FILE.fullmatch(name) or (also and also.fullmatch(name)))

        refuse_foreign(self.path, own, f"frames and {state}")
        old = self.read_state()
        done = finished_frames(self.path)
        if old is None:
            if done:
                name = self.state_path.name
                raise DreamerError(f"{self.path}: holds frames but no {name}; use an empty frames folder")
            return done
        changed = []
        for key, value in settings.items():
            if isinstance(value, dict):  # name the knob, not the group
                was = old.get(key)
                if not isinstance(was, dict):
                    raise DreamerError(
                        f"{self.state_path}: is not a {self.state_path.stem} state file of this version; "
                        "delete it or use another folder"
                    )
                changed += [k for k, v in value.items() if was.get(k) != v]
            elif old.get(key) != value:
                changed.append(key)
        if changed:
            raise DreamerError(
                f"{self.path}: holds frames made with other settings ({', '.join(dict.fromkeys(changed))}); "
                "use the same options, another frames folder, or delete it to start over"
            )
        damaged = self.path / FRAME_NAME.format(len(done))
        if damaged.is_file():
            message = f"{damaged}: is damaged; dreaming it and the later frames again"
            warnings.warn(message, DreamerWarning, stacklevel=2)
        return done

    def annotate(self, key: str, value: Any) -> None:
        """Add ``key`` (not a setting: e.g. the run's score) to the state file, atomically."""
        state = {**(self.read_state() or {}), key: value}
        text = json.dumps(state, indent=2, sort_keys=True, allow_nan=False)
        atomic_write(self.state_path, lambda tmp: tmp.write_text(text, encoding="utf-8"))

    def save(self, index: int, frame: Image.Image, settings: dict[str, Any], metadata: dict[str, Any]) -> Path:
        """Write frame ``index`` carrying ``metadata``; the first one written also records ``settings``."""
        self.record(settings)
        return save_image(frame, self.path / FRAME_NAME.format(index), metadata=metadata)

    def record(self, settings: dict[str, Any]) -> None:
        """Write the state file with ``settings`` unless this folder already has one."""
        if not self._state_written:
            from dreamer.version import __version__

            state = json.dumps({**settings, "dreamer_version": __version__}, indent=2, sort_keys=True)
            try:
                self.path.mkdir(parents=True, exist_ok=True)
                atomic_write(self.state_path, lambda tmp: tmp.write_text(state, encoding="utf-8"))
            except OSError as exc:
                raise DreamerError(f"{self.path}: cannot write the frames there ({exc.strerror or exc})") from None
            self._state_written = True
