"""``die_with_parent``: a child exits when its parent is killed with SIGKILL, through
PR_SET_PDEATHSIG on Linux and through the getppid watch everywhere (issue 15, item 6)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from contextlib import suppress
from pathlib import Path

import pytest

from spotlight.runtime.orphan import POLL_S

ROOT = Path(__file__).resolve().parents[2]

# The child: keep only one of the two mechanisms (pretend not to be Linux, or stop the watch
# thread at once), ask to die with its parent, say so, and sleep far longer than the test.
CHILD = """
import os, sys, time
import spotlight.runtime.orphan as orphan
if sys.argv[1] == "watch-only":
    sys.platform = "other"
else:
    orphan._watch = lambda pid: None
orphan.die_with_parent(os.getppid())
print("ready", flush=True)
time.sleep(120)
"""
# The parent: start the child, report its pid, wait to be killed.
PARENT = """
import subprocess, sys, time
args = [sys.executable, "-c", sys.argv[1], sys.argv[2]]
child = subprocess.Popen(args, stdout=subprocess.PIPE, text=True)
assert child.stdout.readline() == "ready\\n"
print(child.pid, flush=True)
time.sleep(120)
"""


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs /proc (Linux)")
@pytest.mark.parametrize("mode", ["pdeathsig-only", "watch-only"])
def test_a_child_dies_when_its_parent_is_killed(mode: str) -> None:
    parent = subprocess.Popen(
        [sys.executable, "-c", PARENT, CHILD, mode],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        assert parent.stdout is not None
        child = int(parent.stdout.readline())
        assert _alive(child)
        os.kill(parent.pid, signal.SIGKILL)
        parent.wait(10)
        deadline = time.monotonic() + 5 * POLL_S + 2
        while _alive(child):
            assert time.monotonic() < deadline, f"the child outlived its parent ({mode})"
            time.sleep(0.02)
    finally:
        with suppress(ProcessLookupError):
            os.killpg(parent.pid, signal.SIGKILL)
        parent.wait(10)
        assert parent.stdout is not None
        parent.stdout.close()
