"""dreamer's version, recorded in every PNG, page and state file; below every layer, so anything may read it."""

__version__ = "0.2.0"
