"""Summarize a py-spy ``--format raw`` profile (collapsed stacks) as text.

    .venv/bin/python bench/profile_summary.py /tmp/profile.txt [--top 25]

Prints, as % of all samples: self time by function (the leaf frame), inclusive time by
function (each function counted once per stack), and self time by package (the first path
component of the leaf frame's file). Line numbers are dropped so one function is one row.
"""

from __future__ import annotations

import argparse
import re
from collections import Counter
from pathlib import Path

__all__ = ["main", "summarize"]

_FRAME = re.compile(r"^(.*) \(([^:()]*)(?::\d+)?\)$")


def _key(frame: str) -> tuple[str, str]:
    """(function (file), package) for one frame like ``Hub.publish (spotlight/hub/hub.py:59)``."""
    m = _FRAME.match(frame)
    if m is None:
        return frame, frame
    func, path = m.groups()
    pkg = path.split("/", 1)[0] if "/" in path else path
    return f"{func} ({path})", pkg


def summarize(text: str, top: int) -> str:
    own: Counter[str] = Counter()
    incl: Counter[str] = Counter()
    pkgs: Counter[str] = Counter()
    total = 0
    for line in text.splitlines():
        stack, _, n = line.rpartition(" ")
        if not stack or not n.isdigit():
            continue
        count = int(n)
        total += count
        keys = [_key(f) for f in stack.split(";")]
        own[keys[-1][0]] += count
        pkgs[keys[-1][1]] += count
        for name in {k for k, _ in keys}:
            incl[name] += count
    if not total:
        return "no samples"

    def table(title: str, c: Counter[str], n: int) -> list[str]:
        rows = [f"{title} ({total} samples)"]
        rows += [f"  {v / total:6.1%}  {k}" for k, v in c.most_common(n)]
        return rows

    return "\n".join(
        [
            *table("self time by function", own, top),
            "",
            *table("inclusive time by function", incl, top + 10),
            "",
            *table("self time by package", pkgs, 15),
        ]
    )


def main() -> None:
    p = argparse.ArgumentParser(description="Summarize a py-spy raw profile.")
    p.add_argument("path")
    p.add_argument("--top", type=int, default=25)
    a = p.parse_args()
    print(summarize(Path(a.path).read_text(), a.top))


if __name__ == "__main__":
    main()
