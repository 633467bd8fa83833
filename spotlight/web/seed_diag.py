"""The seed server's /api/diag field names, beside ours (issue 15).

The seed clients read ``uptime`` and ``memory.rss`` / ``memory.heapTotal`` /
``memory.heapUsed`` as human figures ("1h 02m 03s", "84.2 MB"). Our own fields stay what
they are (``uptimeS``, ``memory.rssBytes``, ...: numbers, for machines); these are added for
people and for those clients. What the heap figures mean in a Python process:

- ``rss``: the resident set (``VmRSS``);
- ``heapTotal``: resident anonymous memory (``RssAnon``): the malloc heap, Python's object
  arenas and thread stacks, i.e. everything but mapped files and shared libraries;
- ``heapUsed``: ``heapTotal`` less what malloc holds free for reuse (glibc ``mallinfo2``'s
  ``fordblks``); where that cannot be read, the same as ``heapTotal``.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import resource
import sys
from collections.abc import Callable
from typing import Any, cast

__all__ = ["human_bytes", "human_duration", "seed_fields"]


def human_bytes(n: float) -> str:
    """``512 B``, ``1.5 KB``, ``84.2 MB``, ``1.1 GB`` (powers of 1024, one decimal)."""
    for unit in ("B", "KB", "MB"):
        if n < 1024:
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} GB"


def human_duration(seconds: float) -> str:
    """``42s``, ``5m 07s``, ``1h 02m 03s``, ``3d 4h 05m 06s``."""
    s = int(seconds)
    days, s = divmod(s, 86_400)
    hours, s = divmod(s, 3600)
    minutes, s = divmod(s, 60)
    if days:
        return f"{days}d {hours}h {minutes:02d}m {s:02d}s"
    if hours:
        return f"{hours}h {minutes:02d}m {s:02d}s"
    if minutes:
        return f"{minutes}m {s:02d}s"
    return f"{s}s"


class _MallInfo2(ctypes.Structure):
    _fields_ = [
        (name, ctypes.c_size_t)
        for name in (
            "arena",
            "ordblks",
            "smblks",
            "hblks",
            "hblkhd",
            "usmblks",
            "fsmblks",
            "uordblks",
            "fordblks",
            "keepcost",
        )
    ]


@functools.cache
def _mallinfo2() -> Callable[[], _MallInfo2] | None:
    """glibc's ``mallinfo2`` (2.33+), looked up once; None elsewhere."""
    name = ctypes.util.find_library("c")
    if name is None:
        return None
    try:
        fn = ctypes.CDLL(name).mallinfo2
    except (OSError, AttributeError):
        return None
    fn.restype = _MallInfo2
    return cast(Callable[[], _MallInfo2], fn)


def _malloc_free_bytes() -> int | None:
    """Bytes malloc holds free in its arenas, or None where unknown."""
    fn = _mallinfo2()
    return None if fn is None else int(fn().fordblks)


def _status_bytes() -> dict[str, int]:
    """``VmRSS`` and ``RssAnon`` from /proc/self/status (Linux), in bytes."""
    out: dict[str, int] = {}
    try:
        with open("/proc/self/status") as f:
            for line in f:
                key, _, value = line.partition(":")
                if key in ("VmRSS", "RssAnon"):
                    out[key] = int(value.split()[0]) * 1024
    except OSError:
        pass
    return out


def seed_fields(uptime_s: float) -> dict[str, Any]:
    """``{"uptime": ..., "memory": {"rss", "heapTotal", "heapUsed"}}`` as human figures."""
    status = _status_bytes()
    rss = status.get("VmRSS")
    if rss is None:  # not Linux: the peak is what there is
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        rss = peak if sys.platform == "darwin" else peak * 1024
    heap_total = status.get("RssAnon", rss)
    free = _malloc_free_bytes()
    heap_used = heap_total if free is None else max(0, heap_total - free)
    return {
        "uptime": human_duration(uptime_s),
        "memory": {
            "rss": human_bytes(rss),
            "heapTotal": human_bytes(heap_total),
            "heapUsed": human_bytes(heap_used),
        },
    }
