"""The ``dreamer`` command: a thin Click layer; each command builds specs and calls the engine.

Nothing heavy is imported at module level, so ``dreamer --help`` answers without loading torch.
"""

from __future__ import annotations

from dreamer.cli import (  # noqa: F401 - each module registers its commands
    accent,
    atlas,
    caricature,
    doctor,
    featvis,
    gallery,
    lesson,
    live,
    render,
    studio,
    video,
    zoom,
)
from dreamer.cli.group import cli

__all__ = ["cli", "main"]


def main() -> None:
    """Console-script entry point: process-wide settings belong here, never in the library."""
    from dreamer.runners.startup import tune_process

    tune_process()
    cli(prog_name="dreamer")
