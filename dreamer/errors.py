"""The project's own error and warning types: one clear line for the user, no traceback."""

from __future__ import annotations

from dreamer.version import DISTRIBUTION


class DreamerError(Exception):
    """A problem the user can fix (bad file, bad option); its message is one line.

    ``field`` names the setting at fault (``octave_scale``), so each surface can name it its own
    way: the CLI as ``--octave-scale``, a style file as ``key 'octave_scale'``, the library as the argument.
    """

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class Cancelled(DreamerError):
    """A run stopped on request (a ``CancelToken``), between two steps."""


class DreamerWarning(UserWarning):
    """Something worth telling the user that does not stop the render."""


def install_line(extra: str) -> str:
    """The pip command that installs one of dreamer's extras, e.g. ``pip install 'dreamer-art[video]'``."""
    return f"pip install '{DISTRIBUTION}[{extra}]'"


def one_line(text: str) -> str:
    """Text safe to print from a file: control characters (escape sequences, newlines) shown as escapes."""
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)
