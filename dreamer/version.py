"""dreamer's version, recorded in every PNG, page and state file; below every layer, so anything may read it."""

__version__ = "0.2.0"
DISTRIBUTION = "dreamer-art"  # the name on PyPI (`pip install dreamer-art`); the package and command are `dreamer`
