"""How much memory a render may use: asked of the machine here, so that core's planning gets a number.

``DREAMER_MAX_MEMORY`` (e.g. ``4G``) caps it; otherwise the free GPU memory, or the system's
available memory (``/proc/meminfo``, else ``sysconf``).
"""

from __future__ import annotations

import os
import re

import torch

from dreamer.errors import DreamerError


def _parse_bytes(text: str) -> int:
    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([kmgt]?)i?b?\s*", text.lower())
    if not m:
        raise DreamerError(f"DREAMER_MAX_MEMORY must be a size like 4G or 512M (got {text!r})")
    return int(float(m.group(1)) * 1024 ** " kmgt".index(m.group(2) or " "))


def available_bytes(device: torch.device) -> int:
    """Memory a render may use now: ``DREAMER_MAX_MEMORY`` if set, else free GPU or system memory."""
    if limit := os.environ.get("DREAMER_MAX_MEMORY"):
        return _parse_bytes(limit)
    if device.type == "cuda":
        free, _total = torch.cuda.mem_get_info(device)
        return int(free)
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_AVPHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return 8 * 1024**3  # no way to ask: assume a modest laptop
