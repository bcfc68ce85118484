"""The project's own error and warning types: one clear line for the user, no traceback."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from dreamer.version import DISTRIBUTION


class DreamerError(Exception):
    """A problem the user can fix (bad file, bad option); its message is one line.

    ``field`` names the setting at fault (``max_side``), and the message reads after that name
    (``must be at most 65536``, ``blocks.9: no such layer``), or names it in place as ```max_side```.
    Other settings it mentions are listed in ``refs`` and written ```top``` in the message. Each
    surface spells those names its own way (``spelled``): the CLI as flags (``--max-side``), the
    studio as its controls' labels, the library (``str``) as the arguments (``max_side``).
    """

    def __init__(self, message: str, *, field: str | None = None, refs: tuple[str, ...] = ()) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        self.refs = refs
        self.named = False  # True once the names are spelled into the message (a file names its keys)

    def __str__(self) -> str:
        return self.spelled(str)

    def __reduce__(self) -> Any:
        """Pickled with its field (pool workers send errors back to the parent)."""
        return _rebuild, (type(self), self.message, self.field, self.refs, self.named)

    def spelled(self, name: Callable[[str], str]) -> str:
        """The one line with each setting named by ``name`` (``str``: the library's argument names)."""
        if self.named:
            return self.message
        text = self.message
        for ref in {*self.refs, *([self.field] if self.field else [])}:
            text = text.replace(f"`{ref}`", name(ref))
        if self.field is not None and f"`{self.field}`" not in self.message:
            text = f"{name(self.field)} {text}"
        return text

    def spell(self, name: Callable[[str], str]) -> DreamerError:
        """The same error with its names spelled once and for all (a file names its keys, the CLI its flags)."""
        return _rebuild(type(self), self.spelled(name), self.field, self.refs, True)


def _rebuild(
    cls: type[DreamerError], message: str, field: str | None, refs: tuple[str, ...], named: bool
) -> DreamerError:
    exc = cls(message, field=field, refs=refs)
    exc.named = named
    return exc


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
