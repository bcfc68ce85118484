"""Keep freed memory in the heap, so every ascent step reuses its buffers instead of faulting in new pages.

glibc serves large blocks with ``mmap`` and returns them to the kernel on free. An ascent step
allocates and frees tens of megabytes of activations and gradients, so each step faulted its
buffers in again, page by page: about 19,000 page faults per 512 px Lite0 step, 10-25% of its
time (``bench/heap.py``). Fixing the mmap threshold at glibc's ceiling (32 MiB) and raising the
trim threshold keeps those blocks in the heap for the next step. Blocks over 32 MiB still come
from ``mmap`` and go back when freed, so big tiled renders keep their memory ceiling.
"""

from __future__ import annotations

import ctypes
import os

M_TRIM_THRESHOLD = -1  # mallopt parameter numbers, from glibc's <malloc.h>
M_MMAP_THRESHOLD = -3
MMAP_THRESHOLD = 32 * 1024 * 1024  # glibc's largest allowed value on 64-bit systems
TRIM_THRESHOLD = 1024 * 1024 * 1024  # free memory kept at the heap's top before it is given back


def keep_freed_memory() -> bool:
    """Tune glibc's malloc for the step loop (see the module docstring); returns whether it applied.

    Process-wide, so the CLI calls it and notebooks may; a no-op off glibc (macOS, Windows, musl).
    """
    try:
        os.confstr("CS_GNU_LIBC_VERSION")  # raises off glibc
        mallopt = ctypes.CDLL(None).mallopt
    except (AttributeError, OSError, ValueError):
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    return bool(mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD)) and bool(mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD))
