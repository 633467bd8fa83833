"""The folder tree is the architecture: these tests keep it honest.

- Pure layers import no I/O framework (trio, quart, hypercorn, httpx): they are tested
  without an event loop and reused by replays.
- No module reaches into another package's private (underscored) names.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1] / "spotlight"
PURE = [
    "hub/epoch.py",
    "hub/event.py",
    "hub/history.py",
    "hub/hub.py",
    "protocol/close.py",
    "protocol/http_head.py",
    "protocol/resume.py",
    "protocol/sse.py",
    "protocol/topics.py",
    "market/bars.py",
    "market/calendar.py",
    "market/simulator.py",
    "market/ticks.py",
    "market/normalizer.py",
    "runtime/backoff.py",
    "auth/cookies.py",
    "auth/keys.py",
    "auth/lockout.py",
    "auth/networks.py",
    "auth/origin.py",
    "auth/pin.py",
    "auth/tokens.py",
    "recording/codec.py",
    "recording/journal.py",
    "recording/store.py",
    "replay/plan.py",
    "replay/pacing.py",
    "replay/items.py",
    "feed.py",
]
IO_FRAMEWORKS = {"trio", "quart", "quart_trio", "hypercorn", "httpx", "prometheus_client"}


def _imports(path: Path) -> list[tuple[str, list[str]]]:
    out: list[tuple[str, list[str]]] = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            out += [(a.name, []) for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            out.append((node.module, [a.name for a in node.names]))
    return out


@pytest.mark.parametrize("rel", PURE)
def test_pure_layers_import_no_io_framework(rel: str) -> None:
    for module, _ in _imports(ROOT / rel):
        assert module.split(".")[0] not in IO_FRAMEWORKS, f"{rel} imports {module}"


def test_no_cross_package_private_imports() -> None:
    for path in ROOT.rglob("*.py"):
        package = path.relative_to(ROOT).parts[0]
        for module, names in _imports(path):
            if not module.startswith("spotlight."):
                continue
            target_pkg = module.split(".")[1]
            private = [n for n in names if n.startswith("_") and n != "__version__"]
            if target_pkg != package:
                assert not private, f"{path.relative_to(ROOT)} imports {private} from {module}"
