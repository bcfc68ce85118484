"""Builders for hostile and unusual input files, made on the fly (no fixtures on disk)."""

from __future__ import annotations

import io
import struct
import zipfile
import zlib
from pathlib import Path

import numpy as np
from PIL import Image


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def bomb_png(path: Path, width: int = 50_000, height: int = 50_000) -> Path:
    """A valid-looking PNG header that claims a huge image, with almost no data behind it."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    idat = zlib.compress(b"\x00" * 16)
    path.write_bytes(
        b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", ihdr) + _png_chunk(b"IDAT", idat) + _png_chunk(b"IEND", b"")
    )
    return path


def _photo(size: tuple[int, int] = (64, 48)) -> Image.Image:
    rng = np.random.default_rng(0)
    arr = (rng.random((size[1], size[0], 3)) * 255).astype(np.uint8)
    return Image.fromarray(arr, "RGB")


def broken_files(folder: Path) -> dict[str, tuple[Path, str]]:
    """Name -> (path, the words the one-line error must contain)."""
    folder.mkdir(parents=True, exist_ok=True)
    text = folder / "notes.jpg"
    text.write_text("this is text, not a picture\n")
    zipped = folder / "archive.jpg"
    with zipfile.ZipFile(zipped, "w") as z:
        z.writestr("a.txt", "hello")
    empty = folder / "empty.png"
    empty.write_bytes(b"")
    buf = io.BytesIO()
    _photo((200, 150)).save(buf, "JPEG", quality=90)
    trunc_jpg = folder / "truncated.jpg"
    trunc_jpg.write_bytes(buf.getvalue()[: len(buf.getvalue()) // 3])
    buf = io.BytesIO()
    _photo((200, 150)).save(buf, "PNG")
    trunc_png = folder / "truncated.png"
    trunc_png.write_bytes(buf.getvalue()[: len(buf.getvalue()) // 2])
    directory = folder / "a_folder.png"
    directory.mkdir(exist_ok=True)
    return {
        "text": (text, "not an image"),
        "zip": (zipped, "not an image"),
        "empty": (empty, "empty"),
        "truncated-jpeg": (trunc_jpg, "corrupt or truncated"),
        "truncated-png": (trunc_png, "corrupt or truncated"),
        "directory": (directory, "is a directory"),
        "missing": (folder / "missing.png", "no such file"),
        "bomb": (bomb_png(folder / "bomb.png"), "DREAMER_MAX_PIXELS"),
    }


def odd_but_valid_files(folder: Path) -> dict[str, tuple[Path, tuple[int, int]]]:
    """Name -> (path, the (width, height) the output must have)."""
    folder.mkdir(parents=True, exist_ok=True)
    out: dict[str, tuple[Path, tuple[int, int]]] = {}
    p = folder / "sixteen.png"
    Image.fromarray((np.linspace(0, 65535, 48 * 64).reshape(48, 64)).astype(np.uint16)).save(p)
    out["16-bit"] = (p, (64, 48))
    p = folder / "cmyk.jpg"
    _photo().convert("CMYK").save(p, "JPEG")
    out["cmyk"] = (p, (64, 48))
    p = folder / "palette.png"
    pal = _photo().convert("P", palette=Image.Palette.ADAPTIVE, colors=16)
    pal.save(p, transparency=0)
    out["palette-transparent"] = (p, (64, 48))
    p = folder / "la.png"
    Image.new("LA", (64, 48), (128, 200)).save(p)
    out["LA"] = (p, (64, 48))
    p = folder / "animated.gif"
    frames = [_photo().convert("P"), _photo().transpose(Image.Transpose.FLIP_LEFT_RIGHT).convert("P")]
    frames[0].save(p, save_all=True, append_images=frames[1:], duration=100, loop=0)
    out["animated-gif"] = (p, (64, 48))
    p = folder / "rotated.jpg"
    exif = Image.Exif()
    exif[0x0112] = 6  # orientation: rotate 90 degrees clockwise to display
    _photo((64, 48)).save(p, "JPEG", exif=exif)
    out["exif-rotated"] = (p, (48, 64))
    p = folder / "my photo é 猫.png"
    _photo().save(p)
    out["spaces-unicode"] = (p, (64, 48))
    p = folder / "one.png"
    Image.new("RGB", (1, 1), "red").save(p)
    out["1x1"] = (p, (1, 1))
    p = folder / "strip.png"
    Image.new("RGB", (3, 5000), "blue").save(p)
    out["3x5000"] = (p, (3, 5000))
    return out
