"""Every file dreamer reads is untrusted input: PNG metadata, replays, styles, paths, numbers (issue 14)."""

from __future__ import annotations

import json
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image, PngImagePlugin

from dreamer.cli import cli
from dreamer.cli.settings import replay_source
from dreamer.engine.styles import checked_style
from dreamer.errors import DreamerError
from dreamer.outputs.metadata import read_metadata, read_png_text
from dreamer.spec.resolve import resolve
from dreamer.spec.specs import DreamSpec
from dreamer.spec.styles import load_style

FAST = ["--steps", "1", "--octaves", "1", "--seed", "1", "-q"]


def chunk(kind: bytes, data: bytes) -> bytes:
    """One PNG chunk with its length and CRC."""
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def png_bytes(width: int, height: int, *chunks: bytes) -> bytes:
    """A PNG that declares ``width`` x ``height`` (8-bit grey) with one row of pixel data and extra chunks."""
    ihdr = chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0))
    idat = chunk(b"IDAT", zlib.compress(b"\0" * (width + 1)))
    return b"\x89PNG\r\n\x1a\n" + ihdr + b"".join(chunks) + idat + chunk(b"IEND", b"")


def itxt(text: str, compressed: bool = False) -> bytes:
    """An iTXt chunk named dreamer."""
    body = zlib.compress(text.encode()) if compressed else text.encode()
    return chunk(b"iTXt", b"dreamer\0" + bytes([int(compressed), 0]) + b"\0\0" + body)


def meta_png(path: Path, meta: object, size: tuple[int, int] = (96, 64)) -> Path:
    """A real (decodable) PNG carrying ``meta`` as its dreamer settings."""
    info = PngImagePlugin.PngInfo()
    info.add_itxt("dreamer", meta if isinstance(meta, str) else json.dumps(meta))
    Image.new("RGB", size, "gray").save(path, pnginfo=info)
    return path


def one_line_error(result, *needles: str) -> None:
    """A non-zero exit with exactly one line, starting Error:, naming each needle, and no traceback."""
    lines = result.output.strip().splitlines()
    assert result.exit_code not in (0, None) and "Traceback" not in result.output, result.output
    errors = [line for line in lines if line.startswith("Error: ")]
    assert len(errors) == 1, result.output
    for needle in needles:
        assert needle in errors[0], result.output


def run(*args: str):
    return CliRunner().invoke(cli, [str(a) for a in args])


# --- 1. reading metadata never decodes the picture -------------------------------------------------


def test_info_on_a_huge_declared_png_reads_the_settings_without_decoding(tmp_path: Path) -> None:
    meta = {"schema": 2, "kind": "dream", "spec": {"steps": 3}, "env": {}}
    path = tmp_path / "huge.png"
    path.write_bytes(png_bytes(100_000, 100_000, itxt(json.dumps(meta))))
    result = run("info", path)
    assert result.exit_code == 0 and "steps" in result.output, result.output


def test_a_giant_compressed_text_chunk_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "zip.png"
    path.write_bytes(png_bytes(8, 8, itxt("x" * (30 << 20), compressed=True)))
    one_line_error(run("info", path), str(path), "larger than")


@pytest.mark.parametrize(
    ("meta", "why"),
    [
        ("{}", "not a settings object"),
        ("[1, 2]", "not a settings object"),
        ("{nope", "not valid JSON"),
        ('{"schema": 99}', "schema 99"),
    ],
)
def test_metadata_that_is_not_a_settings_object_is_one_line(tmp_path: Path, meta: str, why: str) -> None:
    path = meta_png(tmp_path / "m.png", meta)
    one_line_error(run("info", path), str(path), why)
    one_line_error(run("render", path, "--replay", path, "-o", tmp_path / "o.png"), why)
    assert not (tmp_path / "o.png").exists()


def test_info_never_prints_control_characters_from_a_file(tmp_path: Path) -> None:
    meta = {"schema": 2, "kind": "dream", "spec": {"model": "lite0\x1b[2J\x1b]0;pwned\x07"}, "env": {}, "x\x1b[31m": 1}
    result = run("info", meta_png(tmp_path / "m.png", meta))
    assert result.exit_code == 0 and "\x1b" not in result.output and "\x07" not in result.output
    assert "\\x1b[2J" in result.output


# --- 2. a replay trusts nothing in the file -------------------------------------------------------


@pytest.mark.parametrize(
    ("spec", "key", "why"),
    [
        ({"octaves": "4"}, "octaves", "must be a whole number"),
        ({"steps": 2.5}, "steps", "must be a whole number"),
        ({"keep_colors": "false"}, "keep_colors", "must be true or false"),
        ({"step_size": float("nan")}, "step_size", "must be a finite number"),
        ({"octave_scale": float("inf")}, "octave_scale", "must be a finite number"),
        ({"colour": 3}, "colour", "unknown setting"),
        ({"layers": [1, 2]}, "layers", "must be a list of strings"),
    ],
)
def test_replay_refuses_wrong_types_unknown_keys_and_non_finite_numbers(
    use_random_model, cat: Path, tmp_path: Path, spec: dict, key: str, why: str
) -> None:
    src = meta_png(tmp_path / "r.png", {"schema": 2, "kind": "dream", "spec": spec, "env": {}})
    out = tmp_path / "o.png"
    one_line_error(run("render", cat, "--replay", src, "-o", out), str(src), f"key {key!r}", why)
    assert not out.exists()


def test_a_grid_sheet_is_not_replayed_into_a_render(use_random_model, cat: Path, tmp_path: Path) -> None:
    src = meta_png(tmp_path / "g.png", {"schema": 2, "kind": "grid", "spec": {"steps": 256, "size": 128}, "env": {}})
    one_line_error(run("render", cat, "--replay", src, "-o", tmp_path / "o.png"), "feature-visualisation sheet")


def test_a_replayed_model_that_would_download_says_so_first(use_random_model, cat: Path, tmp_path: Path) -> None:
    src = meta_png(
        tmp_path / "r.png",
        {
            "schema": 2,
            "kind": "dream",
            "spec": {"model": "googlenet", "steps": 1, "octaves": 1, "layers": ["blocks.4"]},
        },
    )
    result = run("render", cat, "--replay", src, "-o", tmp_path / "o.png", "-q")
    assert "replaying model 'googlenet': its weights come from torchvision" in result.output


# --- 3. non-finite and overflowing numbers --------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["-l", "blocks.4:1e39"], "--layer blocks.4:1e39: the weight must be"),
        (["--jitter", str(2**70)], "--jitter must fit in 64 bits"),
        (["--seed", str(2**64)], "--seed must fit in 64 bits"),
        (["--step-size", "inf"], "--step-size must be a finite number"),
        (["--strength", "nan"], "--strength must be a finite number"),
    ],
)
def test_overflowing_options_are_refused_before_any_work(use_random_model, cat: Path, tmp_path: Path, args, needle):
    out = tmp_path / "o.png"
    one_line_error(run("render", cat, "-o", out, *args), needle)
    assert not out.exists()


def test_an_infinite_step_in_a_style_is_refused(tmp_path: Path) -> None:
    (tmp_path / "s.toml").write_text('description = "x"\nstep_size = inf\n')
    with pytest.raises(DreamerError, match=r"s.toml: key 'step_size' must be a finite number"):
        checked_style(str(tmp_path / "s.toml"))


def test_a_non_finite_gradient_stops_the_render_and_writes_nothing(
    use_random_model, cat: Path, tmp_path: Path, monkeypatch
) -> None:
    import dreamer.core.ascent

    monkeypatch.setattr(dreamer.core.ascent, "smooth_gradient", lambda g, *a: g * float("nan"))
    out = tmp_path / "o.png"
    one_line_error(run("render", cat, "-o", out, *FAST), "gradient became NaN or infinite")
    assert not out.exists()


# --- 4. output paths ------------------------------------------------------------------------------


def test_output_paths_that_cannot_work_are_refused_first(use_random_model, cat: Path, tmp_path: Path) -> None:
    (tmp_path / "folder").mkdir()
    (tmp_path / "file.txt").write_text("x")
    one_line_error(run("render", cat, "-o", tmp_path / "folder", *FAST), "is a directory")
    one_line_error(run("render", cat, "-o", tmp_path / "file.txt" / "o.png", *FAST), "is a file")
    one_line_error(run("gallery", cat, "-s", "classic", "-o", tmp_path / "file.txt", *FAST), "is a file")
    one_line_error(run("zoom", cat, "--frames", "2", "--frames-dir", tmp_path / "file.txt" / "f", *FAST), "file.txt")
    assert (tmp_path / "file.txt").read_text() == "x"
    wide = tmp_path / "wide.png"
    Image.new("RGB", (16400, 8), "gray").save(wide)
    one_line_error(run("render", wide, "-o", tmp_path / "w.webp", *FAST), "at most 16383 px")
    assert not (tmp_path / "w.webp").exists()


def test_a_full_disk_is_one_line_and_leaves_nothing(use_random_model, cat: Path, tmp_path: Path, monkeypatch) -> None:
    import errno

    def full(self, fp, *args, **kwargs):
        Path(fp).write_bytes(b"half")
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(Image.Image, "save", full)
    one_line_error(run("render", cat, "-o", tmp_path / "o.png", *FAST), "No space left on device")
    assert [p.name for p in tmp_path.iterdir() if "o.png" in p.name] == []  # neither the output nor a .part


def test_sheets_that_cannot_be_laid_out_are_refused(use_random_model, tmp_path: Path) -> None:
    one_line_error(run("grid", "--layer", "blocks.3", "--columns", "-1", "-o", tmp_path / "g.png"), "--columns")
    thin = tmp_path / "thin.png"
    Image.new("RGB", (900, 10), "gray").save(thin)
    one_line_error(run("maps", thin, "--layer", "blocks.3", "--steps", "1", "--size", "32"), "too thin")
    assert not (tmp_path / "g.png").exists() and not (tmp_path / "thin_maps.png").exists()


# --- 5. inputs are never overwritten --------------------------------------------------------------


def test_no_input_is_ever_the_output(use_random_model, cat: Path, tmp_path: Path) -> None:
    mask = tmp_path / "mask.png"
    Image.new("L", (96, 64), 255).save(mask)
    before = {p: p.read_bytes() for p in (cat, mask)}
    one_line_error(run("render", cat, "-o", cat, *FAST), "is the input file")
    one_line_error(run("render", cat, "--mask", mask, "-o", mask, *FAST), "is the input file")
    one_line_error(run("render", cat, "-o", tmp_path / "." / "cat.png", *FAST), "is the input file")
    gif = tmp_path / "in.gif"
    Image.open(cat).save(gif)
    before[gif] = gif.read_bytes()
    one_line_error(run("zoom", gif, "--frames", "2", "-o", gif, *FAST), "is the input file")
    assert all(p.read_bytes() == data for p, data in before.items())


# --- 6. galleries ---------------------------------------------------------------------------------


def test_a_gallery_inside_its_input_folder_never_dreams_its_own_output(use_random_model, tmp_path: Path) -> None:
    from dreamer.runners.gallery import gallery

    photos = tmp_path / "photos"
    photos.mkdir()
    Image.new("RGB", (64, 48), "gray").save(photos / "a.png")
    small = {"steps": 1, "octaves": 1, "max_side": 48}
    first = gallery([str(photos), str(photos / "." / "a.png")], ["classic"], photos / "out", overrides=small)
    assert len(first.results) == 1  # the same photo by two spellings is one job
    again = gallery([str(photos)], ["classic"], photos / "out", overrides=small)
    assert [r.status for r in again.results] == ["skipped"]


def test_two_styles_with_one_name_do_not_collide(use_random_model, cat: Path, tmp_path: Path) -> None:
    from dreamer.runners.gallery import gallery

    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "classic.toml").write_text('description = "mine"\nsteps = 1\noctaves = 1\n')
    report = gallery(
        [str(cat)],
        ["classic", str(tmp_path / "mine" / "classic.toml")],
        tmp_path / "g",
        overrides={"steps": 1, "octaves": 1, "max_side": 48},
    )
    names = {r.job.style for r in report.results}
    outputs = {r.job.output for r in report.results}
    assert len(names) == 2 and len(outputs) == 2 and all(r.status == "done" for r in report.results)


def test_the_resume_key_covers_the_guide_file_contents(use_random_model, cat: Path, tmp_path: Path) -> None:
    from dreamer.runners.gallery import gallery

    guide = tmp_path / "guide.png"
    Image.new("RGB", (32, 32), "red").save(guide)
    small = {"steps": 1, "octaves": 1, "max_side": 48, "guide": str(guide)}
    gallery([str(cat)], ["classic"], tmp_path / "g", overrides=small)
    Image.new("RGB", (32, 32), "blue").save(guide)  # same path, other picture
    again = gallery([str(cat)], ["classic"], tmp_path / "g", overrides=small)
    assert [r.status for r in again.results] == ["done"]


def test_resuming_writes_the_manifest_once_for_all_skipped_jobs(
    use_random_model, cat: Path, tmp_path: Path, monkeypatch
) -> None:
    import dreamer.runners.gallery as runner

    small = {"steps": 1, "octaves": 1, "max_side": 48}
    runner.gallery([str(cat)], ["classic", "swirls", "fur"], tmp_path / "g", overrides=small)
    writes = []
    import dreamer.runners.book as book

    real = book.export_manifest
    monkeypatch.setattr(book, "export_manifest", lambda *a: writes.append(1) or real(*a))
    report = runner.gallery([str(cat)], ["classic", "swirls", "fur"], tmp_path / "g", overrides=small)
    assert [r.status for r in report.results] == ["skipped"] * 3 and len(writes) == 1


def test_two_runs_on_one_folder_do_not_interleave(use_random_model, cat: Path, tmp_path: Path) -> None:
    from dreamer.runners.lock import folder_lock

    out = tmp_path / "g"
    out.mkdir()
    with folder_lock(out):
        one_line_error(run("gallery", cat, "-s", "classic", "-o", out, *FAST), "another dreamer run is writing here")
    stale = out / ".x.png.999999999-abcd.part"
    stale.write_bytes(b"half")  # a killed run's temporary file: cleaned up by the next run
    assert run("gallery", cat, "-s", "classic", "-o", out, *FAST).exit_code == 0
    assert not stale.exists()


# --- 8. options are applied, values read right ----------------------------------------------------


def test_zoom_applies_strength(use_random_model, cat: Path, tmp_path: Path) -> None:
    result = run("zoom", cat, "--frames", "1", "--strength", "0", "--max-side", "96", "-o", tmp_path / "f/", *FAST)
    assert result.exit_code == 0, result.output
    frame = np.asarray(Image.open(tmp_path / "f" / "frame_00000.png"), dtype=float)
    assert np.abs(frame - np.asarray(Image.open(cat).convert("RGB"), dtype=float)).mean() < 1.0


def test_a_dark_16_bit_photo_stays_dark(tmp_path: Path) -> None:
    from dreamer.outputs.images import load_image

    path = tmp_path / "dark16.png"
    Image.fromarray(np.full((32, 48), 200, dtype=np.uint16)).save(path)
    assert np.asarray(load_image(path).rgb).max() <= 1  # 200/65535 of full scale, not 200/255


def test_save_dream_takes_paths_in_the_settings(random_engine, cat: Path, tmp_path: Path) -> None:
    from dreamer.outputs.images import save_dream

    mask = tmp_path / "m.png"
    Image.new("L", (96, 64), 255).save(mask)
    out = random_engine.dream(cat, steps=1, octaves=1, mask=mask)
    save_dream(out, tmp_path / "o.png")
    assert read_metadata(tmp_path / "o.png")["spec"]["mask"] == str(mask)


# --- property tests: only the project's own error ever comes out ----------------------------------

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)
KEYS = st.sampled_from(["octaves", "steps", "step_size", "layers", "seed", "mask", "model", "jitter", "x", "kind"])


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    st.one_of(JSON, st.dictionaries(KEYS, JSON, max_size=5).map(lambda s: {"schema": 2, "kind": "dream", "spec": s}))
)
def test_random_json_metadata_and_replays_raise_only_our_error(tmp_path: Path, data: object) -> None:
    path = tmp_path / "r.png"
    meta_png(path, data, size=(4, 4))
    try:
        resolve(DreamSpec, replay_source(path))
    except DreamerError as exc:
        assert "\n" not in str(exc)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.binary(max_size=300))
def test_random_bytes_raise_only_our_error(tmp_path: Path, blob: bytes) -> None:
    path = tmp_path / "b.png"
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + blob if blob[:1] != b"x" else blob)
    try:
        read_png_text(path)
        read_metadata(path)
    except DreamerError as exc:
        assert "\n" not in str(exc)


TOML_VALUES = st.one_of(
    st.integers(-(2**70), 2**70),
    st.floats(),
    st.booleans(),
    st.text(max_size=6).map(json.dumps),
    st.lists(st.text(max_size=6), max_size=3).map(json.dumps),
    st.just("inf"),
    st.just("nan"),
    st.just("[1, 2]"),
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.dictionaries(KEYS, TOML_VALUES, max_size=4))
def test_random_toml_values_raise_only_our_error(tmp_path: Path, values: dict) -> None:
    def toml(v: object) -> str:
        if isinstance(v, bool):
            return str(v).lower()
        if isinstance(v, float):
            return "nan" if v != v else ("inf" if v == float("inf") else "-inf" if v == float("-inf") else repr(v))
        return str(v)

    body = 'description = "x"\n' + "".join(f"{k} = {toml(v)}\n" for k, v in values.items())
    (tmp_path / "s.toml").write_text(body)
    try:
        load_style(str(tmp_path / "s.toml"))
    except DreamerError as exc:
        assert "\n" not in str(exc)
