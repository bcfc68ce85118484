"""The settings a dreamer PNG carries: one versioned schema for stills, sheets and frames.

Schema 2 (this version) is a JSON object in an iTXt chunk named ``dreamer``::

    {"schema": 2, "kind": "dream" | "grid" | "maps" | "frame", "spec": {look and file knobs},
     "env": {where it ran: device, precision}, "motion": {...frames only}, ...provenance}

Provenance (``dreamer_version``, ``input``, ``style``, ``seconds``, ``job_key``, ``cells`` ...) sits at
the top level. PNGs from version 0.1 (one flat object) are read and upgraded. Reading never decodes
the picture: the chunk is found by walking the PNG's chunk list, so a file that declares a huge
size or holds a giant compressed chunk is refused in one line instead of being decoded.
"""

from __future__ import annotations

import json
import os
import struct
import zlib
from pathlib import Path
from typing import Any

from dreamer.errors import DreamerError

SCHEMA = 2
KEY = "dreamer"
KINDS = ("dream", "grid", "maps", "frame", "sweep", "accent", "caricature", "atlas")
MAX_TEXT = 1 << 20  # a settings chunk is a few kB; refuse anything over 1 MiB, compressed or not
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
ENV_KEYS = ("device", "precision", "tile", "precision_used")  # 0.1 kept these with the look


def _inflate(data: bytes, where: Path) -> bytes:
    d = zlib.decompressobj()
    try:
        out = d.decompress(data, MAX_TEXT + 1)
    except zlib.error:
        raise DreamerError(f"{where}: dreamer metadata chunk is corrupt (bad compression)") from None
    if len(out) > MAX_TEXT or d.unconsumed_tail:
        raise DreamerError(f"{where}: dreamer metadata is larger than {MAX_TEXT >> 10} kB; refused")
    return out


def _text_of(kind: bytes, data: bytes, where: Path) -> str | None:
    """The chunk's text if it is a text chunk named ``dreamer``."""
    name, sep, rest = data.partition(b"\0")
    if name != KEY.encode() or not sep:
        return None
    if kind == b"tEXt":
        return rest.decode("latin-1")
    if kind == b"zTXt":
        return _inflate(rest[1:], where).decode("latin-1")
    if len(rest) < 2:  # iTXt: compression flag, method, language\0, translated keyword\0, text
        raise DreamerError(f"{where}: dreamer metadata chunk is truncated")
    compressed, body = rest[0], rest[2:]
    parts = body.split(b"\0", 2)
    if len(parts) < 3:
        raise DreamerError(f"{where}: dreamer metadata chunk is truncated")
    text = _inflate(parts[2], where) if compressed else parts[2]
    try:
        return text.decode("utf-8")
    except UnicodeDecodeError:
        raise DreamerError(f"{where}: dreamer metadata is not valid UTF-8") from None


def read_png_text(path: str | os.PathLike[str]) -> str | None:
    """The ``dreamer`` text chunk of a PNG, read without decoding any pixels (None when there is none)."""
    p = Path(path)
    try:
        with open(p, "rb") as f:
            if f.read(8) != PNG_SIGNATURE:
                raise DreamerError(f"{p}: not a PNG file (only PNGs written by dreamer carry settings)")
            while header := f.read(8):
                if len(header) < 8:
                    break
                length, kind = struct.unpack(">I4s", header)
                if kind in (b"tEXt", b"zTXt", b"iTXt"):
                    if length > MAX_TEXT:
                        f.seek(length + 4, os.SEEK_CUR)
                        continue
                    data = f.read(length)
                    if len(data) < length:
                        break
                    text = _text_of(kind, data, p)
                    if text is not None:
                        return text
                    f.seek(4, os.SEEK_CUR)
                elif kind == b"IEND":
                    break
                else:
                    f.seek(length + 4, os.SEEK_CUR)  # pixels and other chunks are skipped, never read
    except IsADirectoryError:
        raise DreamerError(f"{p}: is a directory, not a PNG file") from None
    except FileNotFoundError:
        raise DreamerError(f"{p}: no such file") from None
    except OSError as exc:
        raise DreamerError(f"{p}: cannot read ({exc.strerror or exc})") from None
    return None


def upgrade(data: dict[str, Any], spec_keys: set[str]) -> dict[str, Any]:
    """A 0.1 flat settings object -> schema 2 (look knobs under ``spec``, run environment under ``env``)."""
    if "schema" in data:
        return data
    rest = dict(data)
    spec = {k: rest.pop(k) for k in list(rest) if k in spec_keys}
    env = {k: rest.pop(k) for k in ENV_KEYS if k in rest}
    if "precision_used" in env:
        env["precision"] = env.pop("precision_used")
    kind = rest.pop("kind", None)
    kind = "frame" if "frame" in rest else ("grid" if kind == "featvis" else "dream")
    return {"schema": SCHEMA, "kind": kind, "spec": spec, "env": env, **rest}


def read_metadata(path: str | os.PathLike[str]) -> dict[str, Any]:
    """The settings stored in a dreamer PNG, as schema 2; a one-line error for anything else."""
    from dreamer.spec.schema import knobs
    from dreamer.spec.specs import DreamSpec, VisSpec

    p = Path(path)
    text = read_png_text(p)
    if text is None:
        raise DreamerError(f"{p}: has no dreamer metadata (only PNGs written by dreamer carry it)")
    try:
        data = json.loads(text)
    except (ValueError, RecursionError):  # ValueError: bad JSON, or a number past int's digit limit
        raise DreamerError(f"{p}: dreamer metadata is not valid JSON") from None
    if not isinstance(data, dict) or not data:
        raise DreamerError(f"{p}: dreamer metadata is not a settings object (got {type(data).__name__})")
    data = upgrade(data, set(knobs(DreamSpec)) | set(knobs(VisSpec)))
    schema = data.get("schema")
    if not isinstance(schema, int) or isinstance(schema, bool) or not 1 <= schema <= SCHEMA:
        raise DreamerError(f"{p}: dreamer metadata has schema {schema!r}; this version reads up to {SCHEMA}")
    if data.get("kind") not in KINDS:
        raise DreamerError(f"{p}: dreamer metadata has an unknown kind {data.get('kind')!r:.40}")
    for part in ("spec", "env", "motion"):
        if part in data and not isinstance(data[part], dict):
            raise DreamerError(f"{p}: dreamer metadata key {part!r} is not an object")
    return data


def document(kind: str, spec: dict[str, Any], env: dict[str, Any], **about: Any) -> dict[str, Any]:
    """A schema-2 settings object for a PNG (see the module docstring)."""
    from dreamer.version import __version__

    return {"schema": SCHEMA, "kind": kind, "dreamer_version": __version__, "spec": spec, "env": env, **about}
