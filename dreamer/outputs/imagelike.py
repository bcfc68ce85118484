"""Image-like inputs of the library: paths, PIL images, numpy arrays and torch tensors -> one ``LoadedImage``.

The one place that decides what an in-memory image means: its layout ((H, W), (C, H, W),
(H, W, C) or a batch of one of them), its channels (1 grey, 2 grey and alpha, 3 RGB, 4 RGBA)
and its values by dtype (bool: black and white; uint8 0-255; uint16 0-65535; other integers
0-255, or 0-65535 when a value is above 255; floats 0-1). Anything else is a one-line
``DreamerError`` that names the argument (```image```, ```photo```) and what is wrong.
"""

from __future__ import annotations

import os
import warnings

import numpy as np
import torch
from PIL import Image

from dreamer.core.octaves import MIN_SIDE
from dreamer.errors import DreamerError, DreamerWarning
from dreamer.outputs.images import LoadedImage, load_image, to_rgb
from dreamer.outputs.limits import max_pixels

ImageLike = str | os.PathLike[str] | Image.Image | np.ndarray | torch.Tensor | LoadedImage

CHANNELS = {1: "grey", 2: "grey and alpha", 3: "RGB", 4: "RGBA"}
FLOAT_SLACK = 0.1  # floats this far outside [0, 1] (a resize's overshoot) are clipped; further out, refused
ARRAY_KINDS = "biuf"  # numpy dtype kinds that are pixel values: bool, integers, floats


def _refuse(name: str, what: str) -> DreamerError:
    return DreamerError(f"`{name}`: {what}", field=name)


def as_loaded(image: ImageLike, name: str = "image", *, seeable: bool = False) -> LoadedImage:
    """Any image-like input as RGB with its alpha kept aside; a bad one is a ``DreamerError`` naming ``name``.

    ``seeable``: a photo the network reads as it is (accent, maps, the lesson) is scaled up, with a
    warning, to at least ``MIN_SIDE`` on each side, the smallest the network sees anything in.
    """
    if isinstance(image, LoadedImage):
        loaded = image
    elif isinstance(image, (str, os.PathLike)):
        loaded = load_image(image)  # its errors name the file
    elif isinstance(image, Image.Image):
        loaded = _from_pil(image, name)
    elif isinstance(image, (np.ndarray, torch.Tensor)):
        loaded = _from_array(image, name)
    else:
        kind = type(image).__name__
        raise _refuse(name, f"cannot use a {kind} as an image (give a path, PIL image, array or tensor)")
    return _scaled_up(loaded, name) if seeable else loaded


def _scaled_up(loaded: LoadedImage, name: str) -> LoadedImage:
    """The photo stretched to at least ``MIN_SIDE`` on each side (as the engine dreams tiny ones), with a warning."""
    w, h = loaded.rgb.size
    size = (max(w, MIN_SIDE), max(h, MIN_SIDE))
    if size == (w, h):
        return loaded
    where = loaded.path if loaded.path is not None else f"`{name}`"
    warnings.warn(
        f"{where}: image is only {w}x{h}; scaled up to {size[0]}x{size[1]}, the smallest the network sees",
        DreamerWarning,
        stacklevel=3,
    )
    alpha = loaded.alpha.resize(size, Image.Resampling.BICUBIC) if loaded.alpha is not None else None
    return LoadedImage(rgb=loaded.rgb.resize(size, Image.Resampling.BICUBIC), alpha=alpha, path=loaded.path)


def _check_size(name: str, w: int, h: int) -> None:
    if w < 1 or h < 1:
        raise _refuse(name, f"image has no pixels ({w}x{h})")
    if w * h > max_pixels():
        raise _refuse(
            name, f"image is too large ({w}x{h} pixels); raise the limit with DREAMER_MAX_PIXELS (now {max_pixels()})"
        )


def _from_pil(image: Image.Image, name: str) -> LoadedImage:
    _check_size(name, *image.size)
    try:
        rgb, alpha = to_rgb(image)
    except (OSError, ValueError) as exc:  # a lazy image's corrupt data, NaN in mode F, a mode with no RGB
        raise _refuse(name, f"cannot read this {image.mode} image ({exc})") from None
    return LoadedImage(rgb=rgb, alpha=alpha)


def _layout(shape: tuple[int, ...], channels_first: bool, name: str) -> str:
    """``HW``, ``CHW`` or ``HWC`` of one image (a leading batch of one dropped); the type's convention if both fit."""
    dims = shape[1:] if len(shape) == 4 else shape
    if 0 in shape:
        raise _refuse(name, f"is empty (shape {shape})")
    if len(shape) == 4 and shape[0] != 1:
        raise _refuse(name, f"is a batch of {shape[0]} images (shape {shape}); give one, e.g. x[0]")
    if len(dims) == 2:
        return "HW"
    if len(dims) != 3:
        count = f"{len(shape)} dimension{'s' * (len(shape) != 1)}"
        raise _refuse(name, f"has {count} (shape {shape}); give (H, W), (C, H, W), (H, W, C) or a batch of one")
    first, last = dims[0] in CHANNELS, dims[2] in CHANNELS
    if first and (channels_first or not last):
        return "CHW"
    if last:
        return "HWC"
    batch = f"; if it is a batch of {dims[0]}, give one, e.g. x[0]" if len(shape) == 3 else ""
    raise _refuse(
        name,
        f"shape {shape} has no axis of 1 to 4 channels first or last (1 grey, 2 grey and alpha, 3 RGB, 4 RGBA){batch}",
    )


def _numpy(t: torch.Tensor, name: str) -> np.ndarray:
    """A tensor's values as a numpy array on the CPU (half floats widened: numpy has no bfloat16)."""
    t = t.detach()
    if t.is_floating_point() and t.dtype not in (torch.float32, torch.float64):
        t = t.float()
    try:
        return t.cpu().resolve_conj().resolve_neg().numpy()
    except (RuntimeError, TypeError, NotImplementedError) as exc:
        raise _refuse(name, f"cannot read this {t.dtype} tensor ({exc})") from None


def _check_kind(image: np.ndarray | torch.Tensor, name: str) -> None:
    """Refuse what holds no pixel values: complex, text, objects; sparse, quantised or meta tensors."""
    if isinstance(image, torch.Tensor):
        if image.layout != torch.strided:
            raise _refuse(name, "is a sparse tensor; give a dense one (x.to_dense())")
        if image.is_quantized:
            raise _refuse(name, "is a quantised tensor; give x.dequantize() scaled to 0-1")
        if image.device.type == "meta":
            raise _refuse(name, "is a tensor on the meta device: it has no values")
        if image.is_complex():
            raise _refuse(name, f"has complex values ({image.dtype}); give real numbers")
        return
    if image.dtype.kind == "c":
        raise _refuse(name, f"has complex values ({image.dtype}); give real numbers")
    if image.dtype.kind not in ARRAY_KINDS:
        raise _refuse(name, f"has dtype {image.dtype}; an image holds integers, floats or booleans")


def _to_8bit(values: np.ndarray, name: str) -> np.ndarray:
    """Values by their dtype's range -> uint8 0-255."""
    kind = values.dtype.kind
    if kind == "b":
        return values.astype(np.uint8) * np.uint8(255)
    if kind in "ui":
        if values.dtype == np.uint8:
            return values
        lo, hi = int(values.min()), int(values.max())
        if lo < 0:
            raise _refuse(name, f"has negative values (down to {lo}); integer images are 0-255 or 0-65535")
        if hi > 65535:
            raise _refuse(name, f"has values up to {hi}; integer images are 0-255 (8-bit) or 0-65535 (16-bit)")
        if hi <= 255 and values.dtype != np.uint16:
            return values.astype(np.uint8)
        return ((values.astype(np.uint32) * 255 + 32767) // 65535).astype(np.uint8)  # rounded
    floats = values.astype(np.float64 if values.dtype.itemsize >= 8 else np.float32, copy=False)
    finite = np.isfinite(floats)
    if not finite.all():
        raise _refuse(name, f"has {int(finite.size - finite.sum())} NaN or infinite values")
    lo, hi = float(floats.min()), float(floats.max())
    if hi > 1 + FLOAT_SLACK:
        raise _refuse(name, f"has float values up to {hi:g}; floats are read as 0-1 (divide by 255 if it is 0-255)")
    if lo < -FLOAT_SLACK:
        raise _refuse(
            name, f"has float values down to {lo:g}; floats are read as 0-1 (undo any normalisation: x * std + mean)"
        )
    return (np.clip(floats, 0, 1) * 255 + 0.5).astype(np.uint8)


def _from_array(image: np.ndarray | torch.Tensor, name: str) -> LoadedImage:
    """An array or tensor of any dtype and layout (see the module's docstring) as RGB with alpha aside."""
    _check_kind(image, name)
    shape = tuple(int(d) for d in image.shape)
    layout = _layout(shape, isinstance(image, torch.Tensor), name)
    one = image[0] if len(shape) == 4 else image
    h, w = (one.shape[1], one.shape[2]) if layout == "CHW" else (one.shape[0], one.shape[1])
    _check_size(name, int(w), int(h))
    values = _numpy(one, name) if isinstance(one, torch.Tensor) else np.asarray(one).view(np.ndarray)
    if layout == "HW":
        values = values[..., None]
    elif layout == "CHW":
        values = values.transpose(1, 2, 0)
    pixels = np.ascontiguousarray(_to_8bit(values, name))
    c = pixels.shape[2]
    colour = pixels[..., :3] if c >= 3 else pixels[..., 0]
    rgb = Image.fromarray(np.ascontiguousarray(colour)).convert("RGB")  # uint8 (H, W, 3): RGB; (H, W): L
    alpha = Image.fromarray(np.ascontiguousarray(pixels[..., -1])) if c in (2, 4) else None
    return LoadedImage(rgb=rgb, alpha=alpha)
