"""From options to specs: defaults < style < replayed PNG < options given, through ``dreamer.spec.resolve``."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import click

from dreamer.cli.options import given
from dreamer.errors import DreamerError, DreamerWarning
from dreamer.spec.resolve import Source, from_file, resolve
from dreamer.spec.schema import Kind
from dreamer.spec.specs import DEFAULT_MODEL, DreamSpec, RunEnv


def replay_source(path: Path, layers_given: bool = False) -> Source:
    """A dreamer PNG's look settings as a resolution source; its run environment and files are not replayed.

    A dream of a Python function objective (one that is not a sum of layer terms) is refused unless
    ``layers_given``: the PNG cannot carry the function, and its recorded layers do not describe it.
    """
    from dreamer.outputs.metadata import read_metadata

    meta = read_metadata(path)
    if meta["kind"] not in ("dream", "frame"):
        raise DreamerError(
            f"--replay {path}: is a feature-visualisation sheet (kind {meta['kind']!r}), not a dream; "
            "its settings are for `dreamer grid`/`maps`"
        )
    if "objective" in meta and meta.get("replayable") is not True and not layers_given:
        raise DreamerError(
            f"--replay {path}: was dreamed with the Python objective {str(meta['objective'])[:80]!r}, which a PNG "
            "cannot carry; give --layer to choose what to dream, or rebuild the objective in Python"
        )
    return from_file(meta.get("spec", {}), f"--replay {path}", kinds=(Kind.LOOK,))


def dream_spec(
    ctx: click.Context, params: dict[str, Any], *, style: str | None, replay: Path | None, base: DreamSpec
) -> tuple[DreamSpec, dict[str, Any]]:
    """The command's DreamSpec and its provenance (the style's name)."""
    sources: list[Source] = []
    provenance: dict[str, Any] = {}
    if style:
        from dreamer.engine.styles import checked_style

        chosen = checked_style(style)
        sources.append(chosen.source())
        provenance["style"] = chosen.name
    options = given(ctx, params, DreamSpec)
    if replay:
        sources.append(replayed := replay_source(replay, layers_given="layers" in options.values))
    spec = resolve(DreamSpec, *sources, options, base=base)
    if replay:
        _explain_replay(replayed, options, spec)
    return spec, provenance


def _explain_replay(replayed: Source, options: Source, spec: DreamSpec) -> None:
    """Say what a replay did not take over, and that a replayed model may download weights."""
    files = [k for k in replayed.dropped if replayed.values.get(k) and k not in options.values]
    if files:
        flags = ", ".join(f"--{k.replace('_', '-')}" for k in files)
        warnings.warn(
            f"the replayed PNG used {flags}; files are not reopened from a PNG: give {flags} again to use them",
            DreamerWarning,
            stacklevel=2,
        )
    if spec.model != DEFAULT_MODEL and "model" not in options.values and not spec.weights:
        warnings.warn(
            f"replaying model {spec.model!r}: its weights come from torchvision (downloaded on first use)",
            DreamerWarning,
            stacklevel=2,
        )


def run_env(ctx: click.Context, params: dict[str, Any]) -> RunEnv:
    """Where this command runs: the RunEnv options given (defaults otherwise); never from a file."""
    return resolve(RunEnv, given(ctx, params, RunEnv))


def knob_params(params: dict[str, Any], *classes: type) -> dict[str, Any]:
    """Split off the command's own parameters from the knob options (which ``given`` reads)."""
    from dreamer.spec.schema import knobs

    names = set().union(*(knobs(c) for c in classes))
    return {k: params.pop(k) for k in list(params) if k in names}
