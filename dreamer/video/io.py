"""Video in and out through PyAV: probing, decoding a time slice at the work size, MP4 writing with the audio.

Every problem with an input becomes a one-line ``DreamerError`` naming the file; a stream that breaks
midway raises ``CorruptStream`` after the good frames were yielded, saying where it stopped.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from dreamer.core.flow import load_cv2
from dreamer.errors import DreamerError, install_line

VIDEO_NEEDS = f"dreamer video needs OpenCV and PyAV: {install_line('video')}"

OUTPUT_TYPES = (".mp4", ".gif")
# audio codecs an MP4 holds as they are; others are re-encoded to AAC
MP4_AUDIO = ("aac", "mp3", "alac", "ac3", "eac3", "opus", "flac")


class CorruptStream(DreamerError):
    """The input's stream broke after ``frame`` good frames (``seconds`` into the slice)."""

    def __init__(self, message: str, frame: int, seconds: float) -> None:
        super().__init__(message)
        self.frame, self.seconds = frame, seconds


@dataclass(frozen=True)
class VideoInfo:
    """What a video file holds, read from its header."""

    path: Path
    size: tuple[int, int]  # (width, height)
    fps: float
    duration: float | None  # seconds, when the container knows
    audio: bool


def _av() -> Any:
    """The PyAV module, imported on first use so the extra stays optional."""
    try:
        import av
    except ImportError:
        raise DreamerError(VIDEO_NEEDS) from None
    return av


def require() -> None:
    """Fail in one line, saying how to install them, when PyAV or OpenCV is missing."""
    _av()
    try:
        load_cv2()
    except DreamerError:
        raise DreamerError(VIDEO_NEEDS) from None


def _open(path: Path) -> Any:
    """An open PyAV container with a video stream, or a one-line error naming the file."""
    av = _av()
    if not path.exists():
        raise DreamerError(f"{path}: no such file")
    if path.is_dir():
        raise DreamerError(f"{path}: is a directory, not a video")
    try:
        box = av.open(str(path))
    except av.error.EOFError:  # a header and nothing after it
        raise DreamerError(f"{path}: has no frames (the file ends before the first one)") from None
    except (av.FFmpegError, OSError, UnicodeDecodeError):
        raise DreamerError(f"{path}: not a video (FFmpeg cannot read it)") from None
    if not box.streams.video:
        box.close()
        raise DreamerError(f"{path}: has no video stream")
    return box


def _origin(box: Any) -> float:
    """The container's start time in seconds: frame and audio times count from it."""
    return box.start_time / 1e6 if box.start_time is not None else 0.0


def _is_still(box: Any, stream: Any) -> bool:
    """Whether FFmpeg read the file as one picture (a PNG or JPEG named .mp4, a one-frame GIF), not a video."""
    name = box.format.name
    return name.endswith("_pipe") or name == "image2" or (name == "gif" and stream.frames <= 1)


def probe(path: str | os.PathLike[str]) -> VideoInfo:
    """Frame size, frame rate, duration and whether there is audio, without decoding."""
    path = Path(path)
    with _open(path) as box:
        stream = box.streams.video[0]
        if _is_still(box, stream):
            kind = stream.codec_context.name.upper()
            raise DreamerError(f"{path}: is a still image ({kind}), not a video; dream it with `dreamer render`")
        rate = stream.average_rate or stream.guessed_rate or stream.base_rate
        fps = float(rate) if rate else 0.0
        if not (0 < fps < 1000) or not stream.width:
            raise DreamerError(f"{path}: the video stream has no usable frame rate or size")
        duration = box.duration / 1e6 if box.duration else None
        return VideoInfo(path, (stream.width, stream.height), fps, duration, bool(box.streams.audio))


def read_frames(
    path: str | os.PathLike[str],
    size: tuple[int, int],
    *,
    start: float = 0.0,
    duration: float | None = None,
    fps: float | None = None,
) -> Iterator[np.ndarray]:
    """Yield the frames from ``start`` for ``duration`` seconds as (H, W, 3) uint8 RGB at ``size``.

    With ``fps`` the frames are picked by time (the input frame shown at each output frame's time);
    without, every input frame in the slice is yielded.
    """
    av = _av()
    path = Path(path)
    end = start + duration if duration is not None else float("inf")
    count, shown_until, last, last_time = 0, start, None, start  # frames yielded; the slice time they cover
    with _open(path) as box:
        stream = box.streams.video[0]
        stream.thread_type = "AUTO"
        origin, tb = _origin(box), stream.time_base
        period = 1.0 / float(stream.average_rate or stream.guessed_rate or 25)  # one input frame's time
        if start > 0:  # to the keyframe before the slice; the frames up to it are skipped below
            box.seek(int((origin + start) / tb), stream=stream, backward=True, any_frame=False)
        frames = box.decode(stream)
        while True:
            try:
                frame = next(frames)
            except StopIteration:
                break
            except (av.FFmpegError, OSError) as exc:
                raise CorruptStream(
                    f"{path}: the stream is corrupt after {count} good frames "
                    f"({shown_until - start:.2f} s into the slice): {exc.strerror or exc}",
                    count,
                    shown_until - start,
                ) from None
            t = (float(frame.pts * tb) if frame.pts is not None else start) - origin
            if t >= end - 1e-6:
                break
            if fps is None:
                if t >= start - 1e-6:
                    count, shown_until = count + 1, t + period
                    yield _scaled(frame, size)
                continue
            # The frame is shown from t on: output frames due before t show the one before it.
            while last is not None and start + count / fps < t - 1e-6:
                count, shown_until = count + 1, start + (count + 1) / fps
                yield last
            last, last_time = _scaled(frame, size), t
        while fps is not None and last is not None and start + count / fps < min(end, last_time + period) - 1e-6:
            count, shown_until = count + 1, start + (count + 1) / fps
            yield last


def rgb_array(path: Path) -> np.ndarray:
    """A frame file as (H, W, 3) uint8 RGB, closing the file."""
    with Image.open(path) as im:
        return np.asarray(im.convert("RGB"))


def _scaled(frame: Any, size: tuple[int, int]) -> np.ndarray:
    """A decoded frame as RGB uint8 at ``size`` (Lanczos when it shrinks, like a still's work size)."""
    im = frame.to_image()
    if im.size != size:
        im = im.resize(size, Image.Resampling.LANCZOS)
    return np.asarray(im.convert("RGB"))


def write_mp4(
    frames: list[Path],
    out: Path,
    fps: float,
    audio: tuple[Path, float, float | None] | None = None,
    comment: str | None = None,
) -> None:
    """Frames -> H.264 MP4 at ``fps``; ``audio`` = (source, start, duration) copies that slice of its sound.

    ``comment`` goes into the container's metadata (e.g. the temporal-consistency score as JSON).
    """
    av = _av()
    try:
        _encode(av, frames, out, fps, audio, comment)
    except av.FFmpegError as exc:
        raise OSError(str(exc)) from None


Audio = tuple[Path, float, float | None]  # (source, start, duration)


def _encode(av: Any, frames: list[Path], out: Path, fps: float, audio: Audio | None, comment: str | None) -> None:
    """``write_mp4``'s work, with PyAV's own errors."""
    rate = Fraction(fps).limit_denominator(1001)
    with av.open(str(out), "w", format="mp4") as box:
        if comment:
            box.metadata["comment"] = comment
        video = box.add_stream("libx264", rate=rate)
        video.height, video.width = rgb_array(frames[0]).shape[:2]
        video.pix_fmt = "yuv420p"
        video.options = {"crf": "18", "preset": "medium"}
        sound = _audio_packets(box, audio, len(frames) / fps) if audio else iter(())
        pending = next(sound, None)
        for index, p in enumerate(frames):
            frame = av.VideoFrame.from_ndarray(rgb_array(p), format="rgb24")
            for packet in video.encode(frame):
                box.mux(packet)
            while pending is not None and pending[0] <= (index + 1) / fps:  # interleave the sound as it plays
                box.mux(pending[1])
                pending = next(sound, None)
        for packet in video.encode():
            box.mux(packet)
        while pending is not None:
            box.mux(pending[1])
            pending = next(sound, None)


def _audio_packets(box: Any, audio: tuple[Path, float, float | None], length: float) -> Iterator[tuple[float, Any]]:
    """(time, packet) of the source's first audio stream in the slice, shifted to start at 0, for ``box``."""
    av = _av()
    src, start, duration = audio
    end = start + min(duration if duration is not None else length, length)
    with av.open(str(src)) as inp:
        if not inp.streams.audio:
            return
        a = inp.streams.audio[0]
        origin, tb = _origin(inp), a.time_base
        shift = int(round((origin + start) / tb))
        if a.codec_context.name in MP4_AUDIO:
            out = box.add_stream_from_template(a)
            for packet in inp.demux(a):
                if packet.pts is None or packet.size == 0:
                    continue
                t = float(packet.pts * tb) - origin
                if t < start - 1e-6 or t >= end:
                    continue
                packet.pts -= shift
                packet.dts = packet.pts if packet.dts is None else packet.dts - shift
                packet.stream = out
                yield t - start, packet
            return
        # Not storable in an MP4 as it is: decode the slice and encode it as AAC.
        out = box.add_stream("aac", rate=a.codec_context.sample_rate)
        for frame in inp.decode(a):
            t = float(frame.pts * tb) - origin if frame.pts is not None else 0.0
            if t < start - 1e-6 or t >= end:
                continue
            frame.pts = None
            for packet in out.encode(frame):
                yield t - start, packet
        for packet in out.encode():
            yield length, packet
