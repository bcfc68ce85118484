"""``python -m dreamer``: the same as the ``dreamer`` command."""

from dreamer.cli import main

if __name__ == "__main__":
    main()
