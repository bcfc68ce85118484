"""Image-like inputs of the notebook API: PIL images, numpy arrays and tensors of any dtype and layout.

Each is converted with its value range honoured or refused with a one-line ``DreamerError`` that
names the argument; never another exception.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

import dreamer
from dreamer.core.objectives import channel
from dreamer.errors import DreamerError

FAST = {"steps": 1, "octaves": 1, "max_side": 48, "seed": 3, "progress": False}
SOME = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])

NUMPY_INTS = ["uint8", "uint16", "int8", "int16", "int32", "int64", "uint32", "uint64"]
NUMPY_FLOATS = ["float16", "float32", "float64"]
TORCH_DTYPES = {
    "uint8": torch.uint8,
    "uint16": torch.uint16,
    "int8": torch.int8,
    "int16": torch.int16,
    "int32": torch.int32,
    "int64": torch.int64,
    "bool": torch.bool,
    "float16": torch.float16,
    "bfloat16": torch.bfloat16,
    "float32": torch.float32,
    "float64": torch.float64,
}


def convert(image: Any, name: str = "image") -> Any:
    """The one conversion every entry point uses."""
    from dreamer.outputs.imagelike import as_loaded

    return as_loaded(image, name)


def refused(image: Any, name: str = "image") -> str:
    """The one-line message ``image`` is refused with; it names the argument."""
    with pytest.raises(DreamerError) as info:
        convert(image, name)
    text = str(info.value)
    assert text.startswith(f"{name}: ") and "\n" not in text, text
    return text


def expected_8bit(values: np.ndarray, dtype: str) -> np.ndarray:
    """What each value should become in 8 bits, the dtype's range onto 0-255 (floats: before rounding)."""
    v = values.astype(np.float64)
    if dtype == "bool":
        return v * 255
    if "float" in dtype:
        return np.clip(v, 0, 1) * 255
    top = 255 if dtype == "uint8" or (dtype != "uint16" and v.max() <= 255) else 65535
    return np.floor(v / top * 255 + 0.5)


@st.composite
def images(draw: Any, kind: str, dtype: str) -> tuple[Any, np.ndarray]:
    """(an image-like input of ``dtype`` in a random layout, the 0-255 HWC values it must give)."""
    h, w = draw(st.integers(5, 9)), draw(st.integers(5, 9))  # > 4: the layout is never ambiguous
    c = draw(st.integers(1, 4))
    if dtype == "bool":
        values = draw(st.lists(st.booleans(), min_size=h * w * c, max_size=h * w * c))
    elif "int" in dtype:  # dark 16-bit images (all values under 256) included
        most = {"uint8": 255, "int8": 127, "int16": 32767}.get(dtype, 65535)
        top = min(most, draw(st.sampled_from([255, 65535])))
        values = draw(st.lists(st.integers(0, top), min_size=h * w * c, max_size=h * w * c))
    else:
        values = draw(st.lists(st.floats(0, 1), min_size=h * w * c, max_size=h * w * c))
    hwc = np.array(values).reshape(h, w, c)
    if kind == "numpy":
        data = hwc.astype(dtype)
        canonical = data.astype(np.float64)
    else:
        data = torch.tensor(hwc.astype(np.float64 if "float" in dtype else np.int64)).to(TORCH_DTYPES[dtype])
        canonical = data.double().numpy()  # after the dtype's own rounding (float16, bfloat16)
    layouts = ["HWC", "CHW", "NHWC", "NCHW", *(["HW"] if c == 1 else [])]
    layout = draw(st.sampled_from(layouts))
    if layout == "HW":
        data = data[..., 0]
    else:
        if "CHW" in layout:
            data = data.transpose(2, 0, 1) if kind == "numpy" else data.permute(2, 0, 1)
        if layout.startswith("N"):
            data = data[None]
    return data, expected_8bit(canonical, dtype)


CASES = [("numpy", d) for d in [*NUMPY_INTS, "bool", *NUMPY_FLOATS]] + [("torch", d) for d in TORCH_DTYPES]


@pytest.mark.parametrize(("kind", "dtype"), CASES)
@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_arrays_and_tensors_convert_with_their_range(kind: str, dtype: str, data: st.DataObject) -> None:
    image, want = data.draw(images(kind, dtype))
    loaded = convert(image)
    rgb = np.asarray(loaded.rgb)
    c = want.shape[-1]
    grey = want[..., :1] if c < 3 else want[..., :3]
    tolerance = 0.501 if "float" in dtype else 0  # a float becomes one of its two nearest levels
    assert loaded.rgb.mode == "RGB" and rgb.shape[:2] == want.shape[:2]
    assert np.abs(rgb - np.broadcast_to(grey, rgb.shape)).max() <= tolerance
    if c in (2, 4):  # the last channel is alpha, kept aside as for an RGBA file
        assert loaded.alpha is not None
        assert np.abs(np.asarray(loaded.alpha) - want[..., -1]).max() <= tolerance
    else:
        assert loaded.alpha is None


SHAPES = st.lists(st.integers(0, 7), min_size=0, max_size=5)


@SOME
@given(
    shape=SHAPES,
    dtype=st.sampled_from([*TORCH_DTYPES, "complex64"]),
    scale=st.sampled_from([1.0, 255.0, -3.0, float("nan"), float("inf")]),
    torch_side=st.booleans(),
)
def test_any_shape_dtype_and_range_is_converted_or_refused_by_name(
    shape: list[int], dtype: str, scale: float, torch_side: bool
) -> None:
    """Never a ValueError, ZeroDivisionError or TypeError: a LoadedImage or a DreamerError naming ``photo``."""
    values = torch.rand(shape, dtype=torch.float64) * scale
    if dtype == "complex64":
        data: Any = values.to(torch.complex64)
    elif dtype in ("float16", "bfloat16", "float32", "float64"):
        data = values.to(TORCH_DTYPES[dtype])
    else:
        data = torch.nan_to_num(values).clamp(-(2**15), 2**15 - 1).to(TORCH_DTYPES[dtype])
    if not torch_side:
        data = data.float().numpy() if dtype == "bfloat16" else data.numpy()
    try:
        loaded = convert(data, "photo")
    except DreamerError as exc:
        assert str(exc).startswith("photo: ") and "\n" not in str(exc), str(exc)
        return
    assert min(loaded.rgb.size) >= 1 and loaded.rgb.mode == "RGB"
    assert "float" not in dtype or scale == 1.0  # floats outside 0-1, NaN and inf are refused


PIL_MODES = ["1", "L", "P", "RGB", "RGBA", "CMYK", "YCbCr", "LAB", "HSV", "I", "F", "LA", "La", "PA", "RGBX", "RGBa"]
PIL_MODES += ["I;16", "I;16B"]


@SOME
@given(mode=st.sampled_from(PIL_MODES), w=st.integers(0, 6), h=st.integers(0, 6), fill=st.integers(0, 255))
def test_pil_images_in_any_mode_are_converted_or_refused_by_name(mode: str, w: int, h: int, fill: int) -> None:
    im = Image.new(mode, (w, h), fill if mode not in ("RGB", "YCbCr", "LAB", "HSV") else (fill,) * 3)
    if w == 0 or h == 0:
        assert "no pixels" in refused(im, "photo")
        return
    loaded = convert(im, "photo")
    assert loaded.rgb.mode == "RGB" and loaded.rgb.size == (w, h)
    assert (loaded.alpha is not None) == (mode in ("RGBA", "LA", "La", "PA", "RGBa"))


def test_what_is_wrong_is_said() -> None:
    rgb = np.zeros((8, 8, 3), np.uint8)
    assert "empty" in refused(np.zeros((3, 0, 8), np.float32))
    assert "batch of 2" in refused(torch.zeros(2, 3, 8, 8))
    assert "1 to 4 channels" in refused(torch.zeros(5, 8, 8)) and "(5, 8, 8)" in refused(torch.zeros(5, 8, 8))
    assert "complex" in refused(torch.zeros(3, 8, 8, dtype=torch.complex64))
    assert "NaN" in refused(torch.full((3, 8, 8), float("nan")))
    assert "divide by 255" in refused(torch.full((3, 8, 8), 200.0))
    assert "normalis" in refused(torch.full((3, 8, 8), -2.0))
    assert "negative" in refused(np.full((8, 8, 3), -1, np.int32))
    assert "65535" in refused(np.full((8, 8, 3), 70_000, np.int64))
    assert "dimensions" in refused(np.zeros((1, 1, 3, 8, 8), np.uint8))
    assert "dtype" in refused(np.array([["a"] * 8] * 8))
    assert "list" in refused([[0, 1], [1, 0]])
    assert "sparse" in refused(torch.zeros(3, 8, 8).to_sparse())
    assert "meta" in refused(torch.zeros(3, 8, 8, device="meta"))
    assert convert(rgb).rgb.size == (8, 8)


def test_too_large_per_the_pixel_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DREAMER_MAX_PIXELS", "100")
    assert "DREAMER_MAX_PIXELS" in refused(torch.zeros(3, 11, 10))
    assert "DREAMER_MAX_PIXELS" in refused(Image.new("RGB", (11, 10)), "photo")
    assert convert(torch.zeros(3, 10, 10)).rgb.size == (10, 10)


def test_ambiguous_layouts_follow_each_type_convention() -> None:
    """(4, 4, 3): a tensor reads channels-first (4 channels, 4x3), an array channels-last (3 channels, 4x4)."""
    values = np.arange(48, dtype=np.uint8).reshape(4, 4, 3)
    as_array, as_tensor = convert(values), convert(torch.from_numpy(values))
    assert as_array.rgb.size == (4, 4) and as_array.alpha is None
    assert as_tensor.rgb.size == (3, 4) and as_tensor.alpha is not None
    assert np.array_equal(np.asarray(as_array.rgb), values)


def test_float_tensors_a_little_outside_0_1_are_clipped() -> None:
    """A resize's overshoot is not an error: -0.05 and 1.05 are black and white."""
    t = torch.tensor([-0.05, 1.05]).reshape(1, 1, 2).expand(3, 1, 2)
    assert np.asarray(convert(t).rgb)[0].tolist() == [[0, 0, 0], [255, 255, 255]]


# The four bugs, through the real entry point.


def as_chw(im: Image.Image) -> torch.Tensor:
    """What ``torchvision.io.read_image`` returns: uint8 (C, H, W) in 0-255."""
    return torch.from_numpy(np.asarray(im).copy()).permute(2, 0, 1)


def test_uint8_tensor_in_0_255_dreams_like_the_same_pil_image(random_engine: Any, cat_image: Image.Image) -> None:
    from_pil = np.asarray(dreamer.dream(cat_image, engine=random_engine, **FAST))
    from_tensor = np.asarray(dreamer.dream(as_chw(cat_image), engine=random_engine, **FAST))
    assert from_tensor.mean() < 200  # not white
    assert abs(from_tensor.mean() - from_pil.mean()) < 1.0
    assert np.array_equal(from_tensor, from_pil)  # the same pixels in, the same seed: the same dream


def test_nan_tensor_is_refused_not_taken_as_black(random_engine: Any) -> None:
    t = torch.rand(3, 32, 32)
    t[0, 5, 5] = float("nan")
    with pytest.raises(DreamerError, match=r"^image: .*NaN"):
        dreamer.dream(t, engine=random_engine, **FAST)


def test_zero_size_tensor_is_refused(random_engine: Any) -> None:
    with pytest.raises(DreamerError, match=r"^image: .*empty"):
        dreamer.dream(torch.zeros(3, 0, 32), engine=random_engine, **FAST)


def test_two_channel_tensor_is_grey_and_alpha(random_engine: Any, cat_image: Image.Image) -> None:
    la = cat_image.convert("LA")
    la.putalpha(Image.linear_gradient("L").resize(la.size))
    t = torch.from_numpy(np.asarray(la).copy()).permute(2, 0, 1)  # (2, H, W) uint8
    out = dreamer.dream(t, engine=random_engine, **FAST)
    from_pil = dreamer.dream(la, engine=random_engine, **FAST)
    assert np.array_equal(np.asarray(out), np.asarray(from_pil))
    assert np.array_equal(np.asarray(out.info["dreamer_alpha"]), np.asarray(la.getchannel("A")))


def test_rgba_array_keeps_its_alpha_in_the_saved_dream(random_engine: Any, tmp_path: Any) -> None:
    rgba = np.zeros((40, 40, 4), np.uint8)
    rgba[..., 1] = 120
    rgba[:, 20:, 3] = 255
    out = dreamer.dream(rgba, engine=random_engine, **FAST)
    saved = Image.open(dreamer.save_dream(out, tmp_path / "d.png"))
    assert saved.mode == "RGBA" and np.array_equal(np.asarray(saved.getchannel("A")), rgba[..., 3])


def test_every_entry_point_names_its_argument(random_engine: Any, tmp_path: Any) -> None:
    from dreamer.animate.zoom import zoom

    bad = torch.full((3, 16, 16), float("nan"))
    calls = [
        ("image", lambda: dreamer.dream(bad, engine=random_engine, **FAST)),
        ("photo", lambda: dreamer.accent(bad, channel("blocks.4", 0), engine=random_engine, progress=False)),
        ("photo", lambda: dreamer.maps(bad, "blocks.4", engine=random_engine, progress=False)),
        ("photo", lambda: dreamer.grid(layer="blocks.4", top=2, photo=bad, engine=random_engine, progress=False)),
        ("image", lambda: next(zoom(bad, engine=random_engine))),
        ("photo", lambda: dreamer.sweep(bad, ["blocks.4"], engine=random_engine)),
        ("photo", lambda: dreamer.lesson(bad, tmp_path / "lesson", engine=random_engine)),
    ]
    for name, call in calls:
        with pytest.raises(DreamerError) as info:
            call()
        assert str(info.value).startswith(f"{name}: ") and "NaN" in str(info.value), (name, str(info.value))


def test_guide_and_mask_take_files_not_arrays(random_engine: Any, cat_image: Image.Image) -> None:
    for knob in ("guide", "mask"):
        with pytest.raises(DreamerError, match=rf"^{knob} must be"):
            dreamer.dream(cat_image, engine=random_engine, **{knob: np.zeros((8, 8), np.uint8)}, **FAST)
