"""The knob schema: every knob declared once, the CLI derived from it, one resolution path for every source."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import click
import pytest
from click.testing import CliRunner
from PIL import Image, PngImagePlugin

from dreamer.cli import cli
from dreamer.errors import DreamerError
from dreamer.outputs.metadata import read_metadata
from dreamer.spec.profiles import PROFILES, Part
from dreamer.spec.resolve import cli_flag, from_file, from_options, resolve
from dreamer.spec.schema import Kind, knob, knobs
from dreamer.spec.specs import DreamSpec, RunEnv

# Every CLI command with its profile's parts: which knobs it shows as options, with which defaults.
COMMANDS = [(p.name, part) for p in PROFILES.values() if p.command for part in p.parts]
SPECS = tuple(dict.fromkeys(part.cls for p in PROFILES.values() for part in p.parts))


def cli_problems(part: Part, command: click.Command) -> list[str]:
    """What is missing between a part's knobs and a command's options: each knob an option with help and default."""
    problems = []
    cls = part.cls
    options = {p.name: p for p in command.params if isinstance(p, click.Option)}
    for name, (_, k) in knobs(cls).items():
        if not k.help.strip():
            problems.append(f"{name}: no help")
        if not k.cli:
            if not k.why_not_cli:
                problems.append(f"{name}: not a CLI knob, and no reason given")
            continue
        option = options.get(name)
        if name not in part.names():
            if option is not None:
                problems.append(f"{name}: the profile leaves it out, the command has it")
            continue
        if option is None:
            problems.append(f"{name}: no option")
            continue
        if cli_flag(name, cls) not in option.opts + option.secondary_opts and not any(
            o.startswith(cli_flag(name, cls)) for o in option.opts
        ):
            problems.append(f"{name}: option is {option.opts}")
        if k.help not in (option.help or "") or "[default: " not in (option.help or ""):
            problems.append(f"{name}: option help does not show the knob's help and default")
        default = getattr(part.defaults, name)
        if option.default != default and not (k.parse or option.multiple or default is None):
            problems.append(f"{name}: option defaults to {option.default!r}, the profile to {default!r}")
    return problems


@pytest.mark.parametrize(("command", "part"), COMMANDS, ids=lambda x: getattr(getattr(x, "cls", None), "__name__", x))
def test_every_knob_of_a_profile_is_an_option_with_help_and_its_default(command: str, part: Part) -> None:
    assert cli_problems(part, cli.commands[command]) == []


def test_every_command_taking_knobs_has_a_profile() -> None:
    names = {n for cls in SPECS for n in knobs(cls)}
    for name, command in cli.commands.items():
        if name in PROFILES:
            continue
        options = {p.name for p in command.params if isinstance(p, click.Option)}
        assert not options & names, f"{name} declares knob options by hand: {sorted(options & names)}"
    assert {p.name for p in PROFILES.values() if p.command} <= set(cli.commands)


def test_profiles_name_only_knobs_their_classes_have() -> None:
    for p in PROFILES.values():
        for part in p.parts:
            assert set(part.exclude) | set(part.only) <= set(knobs(part.cls)), p.name
            assert type(part.defaults) is part.cls, p.name


def test_the_lesson_takes_the_schemas_ranges(tmp_path: Path, cat: Path) -> None:
    run = CliRunner().invoke
    result = run(cli, ["lesson", str(cat), "--max-side", "70000", "-o", str(tmp_path / "l")])
    assert result.exit_code != 0 and "--max-side must be at most 65536" in result.output, result.output
    result = run(cli, ["lesson", str(cat), "--seed", str(2**64), "-o", str(tmp_path / "l")])
    assert result.exit_code != 0 and "--seed must fit in 64 bits" in result.output, result.output
    assert not (tmp_path / "l").exists()


def test_a_knob_without_help_fails_the_check() -> None:
    @dataclass(frozen=True)
    class Broken:
        size: int = knob(3, "")
        secret: int = knob(1, "Set in code.", cli=False)

    command = click.Command("x", params=[click.Option(["--size"], default=3, help="[default: 3]")])
    assert cli_problems(Part(Broken), command) == [
        "size: no help",
        "secret: not a CLI knob, and no reason given",
    ]


def test_each_knob_has_one_kind_and_the_run_environment_is_apart() -> None:
    assert {k.kind for _, k in knobs(RunEnv).values()} == {Kind.ENV}
    assert {n for n, (_, k) in knobs(DreamSpec).items() if k.kind is Kind.FILE} == {"weights", "guide", "mask"}
    assert not {"device", "precision", "tile"} & set(knobs(DreamSpec))


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"octaves": "4"}, "x.toml: key 'octaves' must be a whole number"),
        ({"steps": 2.5}, "key 'steps' must be a whole number"),
        ({"keep_colors": "false"}, "key 'keep_colors' must be true or false"),
        ({"step_size": float("inf")}, "key 'step_size' must be a finite number"),
        ({"step_size": float("nan")}, "key 'step_size' must be a finite number"),
        ({"jitter": 2**70}, "key 'jitter' must fit in 64 bits"),
        ({"seed": -1}, "key 'seed' must be at least 0"),
        ({"layers": "blocks.4"}, "key 'layers' must be a list of strings"),
        ({"stepz": 3}, "key 'stepz': unknown setting; did you mean 'steps'?"),
    ],
)
def test_file_values_get_the_same_checks_named_by_file_and_key(values: dict, message: str) -> None:
    with pytest.raises(DreamerError) as info:
        resolve(DreamSpec, from_file(values, "x.toml", kinds=(Kind.LOOK, Kind.FILE)))
    assert message in str(info.value) and "\n" not in str(info.value)


def test_options_are_named_by_flag_and_arguments_by_name() -> None:
    with pytest.raises(DreamerError, match="^--octave-scale must be greater than 1"):
        resolve(DreamSpec, from_options({"octave_scale": 0.5}, DreamSpec))
    with pytest.raises(DreamerError, match="^octave_scale must be greater than 1"):
        DreamSpec(octave_scale=0.5)
    with pytest.raises(DreamerError, match="^--tile must be 0 .automatic. or at least 64"):
        resolve(RunEnv, from_options({"tile": 10}, RunEnv))


def test_precedence_defaults_style_replay_options() -> None:
    style = from_file({"octaves": 6, "steps": 3, "jitter": 7}, "s.toml", kinds=(Kind.LOOK, Kind.FILE))
    replay = from_file({"octaves": 5, "steps": 4}, "r.png", kinds=(Kind.LOOK,))
    spec = resolve(DreamSpec, style, replay, from_options({"steps": 9}, DreamSpec))
    assert (spec.octaves, spec.steps, spec.jitter, spec.step_size) == (5, 9, 7, DreamSpec().step_size)


def _png_with(path: Path, meta: dict) -> Path:
    info = PngImagePlugin.PngInfo()
    info.add_itxt("dreamer", json.dumps(meta))
    Image.new("RGB", (96, 64), "gray").save(path, pnginfo=info)
    return path


def test_a_png_made_on_a_gpu_in_fp16_replays_on_this_cpu(use_random_model, cat: Path, tmp_path: Path) -> None:
    made = {
        "schema": 2,
        "kind": "dream",
        "spec": {**DreamSpec(seed=11, steps=1, octaves=2).__dict__, "layers": ["blocks.3"]},
        "env": {"device": "cuda", "precision": "fp16"},
    }
    made["spec"]["layers"] = ["blocks.3"]
    old_style = {**made["spec"], "device": "cuda:0", "precision": "fp16", "tile": 256}  # 0.1's flat layout
    for name, meta in (("v2.png", made), ("v1.png", old_style)):
        src = _png_with(tmp_path / name, meta)
        out = tmp_path / f"out-{name}"
        result = CliRunner().invoke(cli, ["render", str(cat), "--replay", str(src), "-o", str(out), "-q"])
        assert result.exit_code == 0, result.output
        replayed = read_metadata(out)
        assert replayed["env"]["device"] == "cpu" and replayed["env"]["precision"] in ("fp32", "bf16")
        assert replayed["spec"]["seed"] == 11 and replayed["spec"]["layers"] == ["blocks.3"]


def test_a_style_sets_a_guide_and_the_command_line_clears_it(use_random_model, cat: Path, tmp_path: Path) -> None:
    Image.open(cat).transpose(Image.Transpose.FLIP_TOP_BOTTOM).save(tmp_path / "g.png")
    (tmp_path / "guided.toml").write_text('description = "x"\nguide = "g.png"\nsteps = 1\noctaves = 1\n')
    base = ["render", str(cat), "-s", str(tmp_path / "guided.toml"), "--seed", "1", "-q"]
    assert CliRunner().invoke(cli, [*base, "-o", str(tmp_path / "a.png")]).exit_code == 0
    assert read_metadata(tmp_path / "a.png")["spec"]["guide"] == str(tmp_path / "g.png")
    result = CliRunner().invoke(cli, [*base, "--guide", "", "-o", str(tmp_path / "b.png")])
    assert result.exit_code == 0, result.output
    spec = read_metadata(tmp_path / "b.png")["spec"]
    assert spec["guide"] is None and spec["layers"] == ["blocks.4"]  # back to the default layer objective


def test_a_replay_never_reopens_files_named_in_the_png(use_random_model, cat: Path, tmp_path: Path) -> None:
    src = _png_with(
        tmp_path / "r.png",
        {"schema": 2, "kind": "dream", "spec": {"mask": "/etc/passwd", "steps": 1, "octaves": 1}, "env": {}},
    )
    out = tmp_path / "o.png"
    result = CliRunner().invoke(cli, ["render", str(cat), "--replay", str(src), "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert "files are not reopened from a PNG: give --mask again" in result.output
    assert read_metadata(out)["spec"]["mask"] is None


def test_the_readme_option_tables_are_the_schemas() -> None:
    from dreamer.spec.docs import TABLES, option_table

    readme = (Path(__file__).parents[1] / "README.md").read_text(encoding="utf-8")
    for name, part in TABLES.items():
        block = f"<!-- options:{name} -->\n{option_table(part)}\n<!-- /options:{name} -->"
        assert block in readme, f"README table {name!r} is stale: run python -m dreamer.spec.docs"


def test_an_error_carries_its_field_and_each_surface_spells_it() -> None:
    import pickle

    from dreamer.cli.options import flag

    exc = DreamerError("not enough memory; try `max_side` 512", field="max_side", refs=("tile",))
    assert str(exc) == "not enough memory; try max_side 512"
    assert exc.spelled(flag) == "not enough memory; try --max-side 512"
    back = pickle.loads(pickle.dumps(exc))
    assert (str(back), back.field) == (str(exc), "max_side")
    prefixed = DreamerError("blocks.9: no such layer", field="layers")
    assert (str(prefixed), prefixed.spelled(flag)) == (
        "layers blocks.9: no such layer",
        "--layer blocks.9: no such layer",
    )


def test_errors_below_the_surfaces_spell_no_cli_flags() -> None:
    import ast
    import re

    root = Path(__file__).parents[1] / "dreamer"
    spelled = []
    for layer in ("core", "nets", "featvis", "engine"):
        for path in sorted((root / layer).rglob("*.py")):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "DreamerError":
                    text = " ".join(
                        c.value for c in ast.walk(node) if isinstance(c, ast.Constant) and isinstance(c.value, str)
                    )
                    if re.search(r"--[a-z]", text):
                        spelled.append(f"{path.relative_to(root)}:{node.lineno}: {text}")
    assert spelled == []


def test_the_cli_names_a_library_error_by_its_flag(use_random_model, cat: Path, tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["render", str(cat), "--device", "tpu", "-o", str(tmp_path / "o.png")])
    assert result.output.strip() == "Error: --device: unknown device 'tpu' (use auto, cpu, cuda, cuda:N or mps)"
    with pytest.raises(DreamerError, match="^device: unknown device 'tpu'"):
        from dreamer.engine.engine import Engine

        Engine(device="tpu")


def test_no_command_declares_a_flag_twice() -> None:
    from dreamer.cli import cli

    for name, command in cli.commands.items():
        flags = [flag for param in command.params for flag in (*param.opts, *param.secondary_opts)]
        twice = sorted({f for f in flags if flags.count(f) > 1})
        assert not twice, f"dreamer {name} declares {twice} more than once (profiles in dreamer/spec/profiles.py)"
