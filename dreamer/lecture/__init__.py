"""The CNN lecture drawn by a real network on your photo (``dreamer lesson``), and ``dreamer sweep``."""
