"""The README's option tables, written from the schema (``python -m dreamer.spec.docs`` prints them)."""

from __future__ import annotations

from typing import Any

from dreamer.spec.lesson import LessonSpec
from dreamer.spec.live import LiveSpec
from dreamer.spec.profiles import ACCENT_ONLY, Part, profile
from dreamer.spec.resolve import cli_flag
from dreamer.spec.schema import knobs
from dreamer.spec.specs import DreamSpec, MotionSpec, RunEnv, VisSpec
from dreamer.spec.video import VideoSpec

TABLES: dict[str, Part] = {  # marker name -> the command's part whose knobs and defaults it shows
    "render": profile("render").part(DreamSpec),
    "env": profile("render").part(RunEnv),
    "zoom": profile("zoom").part(MotionSpec),
    "grid": profile("grid").part(VisSpec),
    "accent": Part(VisSpec, profile("accent").part(VisSpec).preset, only=ACCENT_ONLY),  # its own two
    "video": profile("video").part(VideoSpec),
    "lesson": profile("lesson").part(LessonSpec),
    "live": profile("live").part(LiveSpec),
}


def _default(value: Any, show: str | None) -> str:
    if show is not None:
        return show
    if isinstance(value, bool):
        return "on" if value else "off"
    if isinstance(value, tuple):
        return ",".join(f"{v:g}" for v in value)
    return "none" if value is None else str(value)


def option_table(part: Part) -> str:
    """A Markdown table of a command part's CLI knobs: flag, kind, help and default."""
    cls, defaults = part.cls, part.defaults
    rows = ["| option | kind | what it does | default |", "| --- | --- | --- | --- |"]
    for name in part.names():
        k = knobs(cls)[name][1]
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
    still, frame = profile("render").defaults(DreamSpec), profile("zoom").defaults(DreamSpec)
    changed = [
        f"`{cli_flag(n)}` {getattr(frame, n)}" for n in knobs(DreamSpec) if getattr(frame, n) != getattr(still, n)
    ]
    return "Zoom frames dream lighter than a still: " + ", ".join(changed) + "."


def main() -> None:
    """Print each table under its README marker name."""
    for name, part in TABLES.items():
        print(f"<!-- options:{name} -->\n{option_table(part)}\n<!-- /options:{name} -->\n")
    print(zoom_defaults())


if __name__ == "__main__":
    main()
