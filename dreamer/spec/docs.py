"""The README's option tables, written from the schema (``python -m dreamer.spec.docs`` prints them)."""

from __future__ import annotations

from typing import Any

from dreamer.spec.resolve import cli_flag
from dreamer.spec.schema import knobs
from dreamer.spec.specs import ZOOM_SPEC, DreamSpec, MotionSpec, RunEnv, VisSpec
from dreamer.video.spec import VideoSpec

TABLES = {  # marker name -> (spec class, the defaults shown)
    "render": (DreamSpec, DreamSpec()),
    "env": (RunEnv, RunEnv()),
    "zoom": (MotionSpec, MotionSpec()),
    "grid": (VisSpec, VisSpec()),
    "video": (VideoSpec, VideoSpec()),
}


def _default(value: Any, show: str | None) -> str:
    if show is not None:
        return show
    if isinstance(value, bool):
        return "on" if value else "off"
    if isinstance(value, tuple):
        return ",".join(f"{v:g}" for v in value)
    return "none" if value is None else str(value)


def option_table(cls: type, defaults: Any) -> str:
    """A Markdown table of a spec's CLI knobs: flag, kind, help and default."""
    rows = ["| option | kind | what it does | default |", "| --- | --- | --- | --- |"]
    for name, (_, k) in knobs(cls).items():
        if not k.cli:
            continue
        flag = cli_flag(name, cls)
        flags = f"`{k.short}/{flag}`" if k.short else f"`{flag}`"
        choices = f" ({', '.join(k.choices)})" if k.choices else ""
        help_text = k.help.replace("|", "\\|")
        rows.append(
            f"| {flags} | {k.kind.value} | {help_text}{choices} | {_default(getattr(defaults, name), k.show)} |"
        )
    return "\n".join(rows)


def zoom_defaults() -> str:
    """The knobs whose zoom default differs from a still's, as one line."""
    still = DreamSpec()
    changed = [
        f"`{cli_flag(n)}` {getattr(ZOOM_SPEC, n)}"
        for n in knobs(DreamSpec)
        if getattr(ZOOM_SPEC, n) != getattr(still, n)
    ]
    return "Zoom frames dream lighter than a still: " + ", ".join(changed) + "."


def main() -> None:
    """Print each table under its README marker name."""
    for name, (cls, defaults) in TABLES.items():
        print(f"<!-- options:{name} -->\n{option_table(cls, defaults)}\n<!-- /options:{name} -->\n")
    print(zoom_defaults())


if __name__ == "__main__":
    main()
