"""Images in and out: careful loading, any Pillow mode as RGB with its alpha aside, resizing, atomic saving.

No model code here. Every problem with a file becomes a one-line ``DreamerError`` that
names the file and what is wrong.
"""

from __future__ import annotations

import json
import os
import secrets
import warnings
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, ImageOps, PngImagePlugin, UnidentifiedImageError

from dreamer.errors import DreamerError, DreamerWarning
from dreamer.outputs.limits import max_pixels

METADATA_KEY = "dreamer"
PART = ".part"  # suffix of the temporary files atomic_write renames into place
SAVE_FORMATS = {".png": "PNG", ".jpg": "JPEG", ".jpeg": "JPEG", ".webp": "WEBP"}


@dataclass(frozen=True)
class LoadedImage:
    """An input photo as the network wants it (RGB), with its alpha kept aside."""

    rgb: Image.Image
    alpha: Image.Image | None = None
    path: Path | None = None


def _bomb_error(path: Path, size: str) -> DreamerError:
    return DreamerError(
        f"{path}: image is too large to decode safely ({size}); "
        f"if you trust it, raise the limit with DREAMER_MAX_PIXELS (now {max_pixels()})"
    )


def _jsonable(value: Any) -> Any:
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    if isinstance(value, tuple):
        return list(value)
    raise TypeError(f"{type(value).__name__} is not JSON data")


def _declared_size(path: Path) -> str:
    """The size an image's header declares, read by its format's plugin without Pillow's size check."""
    Image.init()
    with open(path, "rb") as fp:
        prefix = fp.read(16)
        for fmt in Image.ID:
            factory, accept = Image.OPEN[fmt]
            if accept is not None and not accept(prefix):
                continue
            fp.seek(0)
            try:
                w, h = factory(fp, str(path)).size
            except Exception:  # noqa: BLE001, S112 - not this format: try the next one
                continue
            return f"{w}x{h} pixels"
    return "over Pillow's decoding limit"


def to_rgb(im: Image.Image) -> tuple[Image.Image, Image.Image | None]:
    """Any Pillow mode -> (RGB, alpha or None); 16-bit grey is scaled, not clipped."""
    if im.mode in ("I;16", "I;16B", "I;16L", "I;16N", "I"):
        arr = np.asarray(im, dtype=np.float64)
        # 16-bit modes by their real range (a dark 16-bit photo stays dark); 32-bit "I" is ambiguous
        top = 65535.0 if im.mode != "I" or arr.max(initial=0) > 255 else 255.0
        grey = Image.fromarray(np.clip(arr / top * 255.0 + 0.5, 0, 255).astype(np.uint8), "L")
        return grey.convert("RGB"), None
    if im.mode == "F":
        arr = np.asarray(im, dtype=np.float64)
        if not np.isfinite(arr).all():
            raise ValueError("float pixels that are NaN or infinite")
        span = float(arr.max() - arr.min()) or 1.0
        grey = Image.fromarray(((arr - arr.min()) / span * 255).astype(np.uint8), "L")
        return grey.convert("RGB"), None
    if im.mode == "P" and "transparency" in im.info:
        im = im.convert("RGBA")
    if im.mode == "La":  # premultiplied: Pillow converts it to LA only
        im = im.convert("LA")
    if im.mode in ("RGBA", "LA", "PA", "RGBa"):
        im = im.convert("RGBA")
        return im.convert("RGB"), im.getchannel("A")
    return im.convert("RGB"), None


def load_image(path: str | os.PathLike[str]) -> LoadedImage:
    """Read a photo Pillow understands, upright per EXIF, as RGB with alpha kept aside."""
    p = Path(path)
    if not p.exists():
        raise DreamerError(f"{p}: no such file")
    if p.is_dir():
        raise DreamerError(f"{p}: is a directory, not an image file")
    if not os.access(p, os.R_OK):
        raise DreamerError(f"{p}: permission denied (the file is not readable)")
    if p.stat().st_size == 0:
        raise DreamerError(f"{p}: file is empty")
    limit = max_pixels()
    try:
        with Image.open(p) as im:
            w, h = im.size
            if w * h > limit:
                raise _bomb_error(p, f"{w}x{h} pixels")
            frames = getattr(im, "n_frames", 1)
            if frames > 1:
                warnings.warn(f"{p}: has {frames} frames; using the first", DreamerWarning, stacklevel=2)
                im.seek(0)
            im.load()
            upright = ImageOps.exif_transpose(im)
            rgb, alpha = to_rgb(upright)
    except DreamerError:
        raise
    except Image.DecompressionBombError:  # past Pillow's own limit (entry points raise it to ours: runners/startup.py)
        raise _bomb_error(p, _declared_size(p)) from None
    except UnidentifiedImageError:
        raise DreamerError(f"{p}: not an image file Pillow can read") from None
    except (OSError, SyntaxError, ValueError) as exc:  # truncated or corrupt data
        raise DreamerError(f"{p}: image data is corrupt or truncated ({exc})") from None
    if min(rgb.size) < 1:
        raise DreamerError(f"{p}: image has no pixels")
    return LoadedImage(rgb=rgb, alpha=alpha, path=p)


def fit_max_side(size: tuple[int, int], max_side: int) -> tuple[int, int]:
    """(width, height) scaled down so the longer side is at most ``max_side``."""
    w, h = size
    scale = min(1.0, max_side / max(w, h))
    return max(1, round(w * scale)), max(1, round(h * scale))


MAX_SIDE_OF = {"WEBP": 16383, "JPEG": 65535, "PNG": 2**31 - 1}  # what each format can store


def check_output_path(out: Path, inputs: tuple[Path | None, ...] = (), size: tuple[int, int] | None = None) -> None:
    """Refuse, before any work, an output that is a folder, would overwrite an input, cannot be written or held."""
    if out.is_dir():
        raise DreamerError(f"{out}: is a directory; give a file name")
    fmt = SAVE_FORMATS.get(out.suffix.lower())
    if fmt is None:
        kinds = ", ".join(sorted(SAVE_FORMATS))
        raise DreamerError(f"{out}: unknown output type {out.suffix!r} (use one of {kinds})")
    for inp in inputs:
        if inp is not None and is_same_file(out, Path(inp)):
            raise DreamerError(f"{out}: output path is the input file {inp}; choose another name")
    folder = out.parent
    if not folder.is_dir():
        why = "is a file" if folder.exists() else "does not exist"
        raise DreamerError(f"{out}: output folder {folder} {why}")
    if not os.access(folder, os.W_OK):
        raise DreamerError(f"{out}: output folder {folder} is not writable")
    if size is not None and max(size) > MAX_SIDE_OF[fmt]:
        raise DreamerError(
            f"{out}: {fmt} images can be at most {MAX_SIDE_OF[fmt]} px on a side, this one would be "
            f"{size[0]}x{size[1]}; use .png or a smaller --max-side with --no-resize-back"
        )


def is_same_file(a: Path, b: Path) -> bool:
    """Whether two paths name the same existing file (links and other spellings included)."""
    try:
        return a.exists() and b.exists() and os.path.samefile(a, b)
    except OSError:
        return False


def default_output_path(inp: Path, suffix: str = "_dream", ext: str = ".png") -> Path:
    """``photo_dream.png`` next to the input, numbered so no existing file is overwritten."""
    candidate = inp.with_name(f"{inp.stem}{suffix}{ext}")
    n = 2
    while candidate.exists():
        candidate = inp.with_name(f"{inp.stem}{suffix}-{n}{ext}")
        n += 1
    return candidate


def atomic_write(path: Path, write: Any) -> None:
    """Call ``write(tmp_path)`` then rename onto ``path``, so no half-written file is ever left.

    A write that fails for the file system's sake (a full disk, a read-only folder) is a
    ``DreamerError`` naming ``path``; the temporary file is removed whatever went wrong.
    """
    path = Path(path)
    # A fresh hidden name beside the target (same file system, so the rename is atomic);
    # created by the writer itself, so the file gets the user's normal permissions.
    tmp = path.with_name(f".{path.name}.{os.getpid()}-{secrets.token_hex(4)}{PART}")
    try:
        write(tmp)
        with open(tmp, "rb") as f:  # on disk before the rename: a resume may trust whatever it finds
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException as exc:
        tmp.unlink(missing_ok=True)
        if isinstance(exc, OSError):
            raise DreamerError(f"{path}: cannot write ({exc.strerror or exc})") from None
        raise


def clean_stale_parts(folder: Path) -> int:
    """Remove temporary files that killed runs left in ``folder`` (their process is gone); returns how many."""
    removed = 0
    for part in folder.glob(f".*{PART}"):
        pid = part.name.removesuffix(PART).rpartition(".")[2].partition("-")[0]
        if pid.isdigit() and not _alive(int(pid)):
            part.unlink(missing_ok=True)
            removed += 1
    return removed


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def save_image(
    im: Image.Image,
    path: str | os.PathLike[str],
    metadata: dict[str, Any] | None = None,
    alpha: Image.Image | None = None,
) -> Path:
    """Write PNG/JPEG/WebP by extension, atomically; PNGs carry ``metadata`` as JSON text."""
    p = Path(path)
    fmt = SAVE_FORMATS.get(p.suffix.lower())
    if fmt is None or max(im.size) > MAX_SIDE_OF[fmt]:
        check_output_path(p, size=im.size)
    if alpha is not None and fmt in ("PNG", "WEBP"):
        im = im.convert("RGB")
        im.putalpha(alpha.resize(im.size, Image.Resampling.BICUBIC))
    options: dict[str, Any] = {}
    if fmt == "PNG":  # run-length coding: as small as deflate's default on dreams and sheets, 2x faster (bench/png.py)
        options["compress_type"] = zlib.Z_RLE
    if fmt == "PNG" and metadata is not None:
        info = PngImagePlugin.PngInfo()
        try:  # paths (a notebook's guide=Path(...)) as text; never NaN or Infinity in a settings file
            text = json.dumps(metadata, sort_keys=True, default=_jsonable, allow_nan=False)
        except ValueError:
            raise DreamerError(f"{p}: the settings hold a non-finite number; nothing was written") from None
        info.add_itxt(METADATA_KEY, text)
        options["pnginfo"] = info
    elif fmt in ("JPEG", "WEBP"):
        options["quality"] = 95
    atomic_write(p, lambda tmp: im.save(tmp, format=fmt, **options))
    return p


def save_dream(im: Image.Image, path: str | os.PathLike[str]) -> Path:
    """Save a dream atomically; PNGs keep its settings, and its alpha where the input had one."""
    return save_image(im, path, metadata=im.info.get("dreamer"), alpha=im.info.get("dreamer_alpha"))
