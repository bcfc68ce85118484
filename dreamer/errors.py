"""The project's own error and warning types: one clear line for the user, no traceback."""

from __future__ import annotations


class DreamerError(Exception):
    """A problem the user can fix (bad file, bad option); its message is one line."""


class DreamerWarning(UserWarning):
    """Something worth telling the user that does not stop the render."""
