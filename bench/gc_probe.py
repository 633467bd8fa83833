"""Run the Spotlight server with the cyclic garbage collector measured (benchmark use only).

    .venv/bin/python bench/gc_probe.py serve --port P      (same arguments as python -m spotlight)

The server code is unchanged: this launcher only adds a ``gc.callbacks`` hook before calling
``spotlight.__main__.main``. On SIGUSR2 it writes one line to stderr,
``bench-gc {"gen0": [collections, seconds, max pause s], "gen1": ..., "gen2": ...}``
(counts and seconds cumulative, the max since the previous line) and "tracked", the number
of objects the collector tracks (len(gc.get_objects())), which
``bench/fanout.py --gc-probe`` reads at both edges of its window.

``BENCH_GC_THRESHOLD="a,b,c"`` replaces the thresholds of the server's built-in GC policy
(``spotlight.runtime.gc_policy.GC_THRESHOLDS``, applied once start-up is done, after
``gc.freeze()``), so another setting can be tried without changing the server. Setting them
here with ``gc.set_threshold`` would not do: the policy overwrites them at start-up.
"""

from __future__ import annotations

import gc
import json
import os
import signal
import sys
import time
from types import FrameType
from typing import Any

__all__ = ["main"]

_stats = {g: [0, 0.0, 0.0] for g in range(3)}  # {generation: [collections, seconds, max s]}
_started = [0.0]


def _on_gc(phase: str, info: dict[str, Any]) -> None:
    if phase == "start":
        _started[0] = time.perf_counter()
        return
    took = time.perf_counter() - _started[0]
    s = _stats[int(info["generation"])]
    s[0] += 1
    s[1] += took
    s[2] = max(s[2], took)


def _report(signum: int, frame: FrameType | None) -> None:
    line = json.dumps(
        {**{f"gen{g}": v for g, v in _stats.items()}, "tracked": len(gc.get_objects())}
    )
    sys.stderr.write(f"bench-gc {line}\n")
    sys.stderr.flush()
    for v in _stats.values():
        v[2] = 0.0  # the max pause is per report interval


def main() -> int:
    raw = os.environ.get("BENCH_GC_THRESHOLD")
    if raw:
        from spotlight.runtime import gc_policy

        a, b, c = (int(x) for x in raw.split(","))
        gc_policy.GC_THRESHOLDS = (a, b, c)  # read by apply_gc_policy() when it runs
    gc.callbacks.append(_on_gc)
    signal.signal(signal.SIGUSR2, _report)
    from spotlight.__main__ import main as spotlight_main

    return spotlight_main(sys.argv[1:])


if __name__ == "__main__":
    sys.exit(main())
