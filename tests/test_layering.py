"""The folder tree is the architecture: these tests keep it honest.

- Imports run one way, down the layers of ``LAYERS`` (the map atop spotlight/__init__.py):
  a package may import its own modules and any package of a lower layer, never one of its
  own layer or above. A new upward import fails here, naming the module and the import.
- Pure layers import no I/O framework (trio, quart, hypercorn, httpx): they are tested
  without an event loop and reused by replays.
- Production code never imports the shipped fakes (spotlight/testing/), except the command
  line, lazily, for ``python -m spotlight fake-massive``.
- No module reaches into another package's private (underscored) names.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1] / "spotlight"

# Lowest first. A "package" is a folder under spotlight/ or a top-level module's stem.
LAYERS: tuple[frozenset[str], ...] = tuple(
    frozenset(layer.split())
    for layer in (
        "domain",  # ticks, bars, options, New York time, the NYSE calendar
        "runtime config",  # actor machinery; settings from the environment
        "hub auth analytics recording",  # sequencing and fan-out; auth; pure analytics; journal
        "protocol",  # wire formats over the hub's events
        "market",  # sources: simulator, Massive, the poller
        "metrics testing",  # Prometheus metrics; the shipped fakes (tests and demos only)
        "engine",  # pipeline, market supervisor, analytics actor and worker, feeds
        "replay",  # replay actors: their own engine on recorded inputs
        "clients voice",  # per-client actors: inboxes, writers, shared chunks; the voice coach
        "service",  # the root actor
        "web",  # the Quart surface and the raw-socket streams
        "server workers",  # binds the socket, routes connections; N processes on one port
        "__main__",  # the command line
    )
)
RANK = {package: rank for rank, layer in enumerate(LAYERS) for package in layer}
PURE_PACKAGES = ("domain", "analytics")
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
    "protocol/errors.py",
    "protocol/params.py",
    "protocol/framing.py",
    "protocol/ws_frames.py",
    "protocol/ws_commands.py",
    "protocol/snapshot.py",
    "clients/stream.py",
    "clients/stream_queue.py",
    "clients/ws_inbound.py",
    "market/simulator.py",
    "market/simulated_tape.py",
    "market/simulated_options.py",
    "engine/normalizer.py",
    "runtime/backoff.py",
    "auth/cookies.py",
    "auth/keys.py",
    "auth/lockout.py",
    "auth/networks.py",
    "auth/origin.py",
    "auth/pin.py",
    "auth/rate.py",
    "auth/tokens.py",
    "auth/access.py",
    "recording/codec.py",
    "recording/journal.py",
    "recording/store.py",
    "replay/plan.py",
    "replay/pacing.py",
    "replay/items.py",
    "engine/feed.py",
    "voice/messages.py",
    "voice/session.py",
    "voice/intents.py",
    "voice/audio.py",
    "voice/tools.py",
    "voice/realtime.py",
    "testing/fake_massive_data.py",
    *sorted(
        str(p.relative_to(ROOT))
        for package in PURE_PACKAGES
        for p in (ROOT / package).rglob("*.py")
    ),
]
IO_FRAMEWORKS = {"trio", "quart", "quart_trio", "hypercorn", "httpx", "prometheus_client"}


def _imports(path: Path, *, top_level_only: bool = False) -> list[tuple[str, list[str]]]:
    tree = ast.parse(path.read_text())
    nodes = tree.body if top_level_only else list(ast.walk(tree))
    out: list[tuple[str, list[str]]] = []
    for node in nodes:
        if isinstance(node, ast.Import):
            out += [(a.name, []) for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            out.append((node.module, [a.name for a in node.names]))
    return out


def _package(path: Path) -> str:
    rel = path.relative_to(ROOT)
    return rel.parts[0] if len(rel.parts) > 1 else rel.stem


def _target(module: str) -> str | None:
    """The spotlight package an import names (None: not ours, or the bare root package)."""
    parts = module.split(".")
    return parts[1] if parts[0] == "spotlight" and len(parts) > 1 else None


def upward_imports(path: Path, package: str | None = None) -> list[str]:
    """Imports in ``path`` that break the layering, as "file (package) imports module" lines.

    ``package`` overrides the package the file is taken to belong to (for the probe test).
    """
    package = package or _package(path)
    if package == "__init__":
        return []
    rank = RANK[package]
    name = path.relative_to(ROOT) if path.is_relative_to(ROOT) else path.name
    bad = []
    for module, _ in _imports(path):
        target = _target(module)
        if target is None or target == package:
            continue
        if target not in RANK or RANK[target] >= rank:
            bad.append(f"{name} ({package}) imports {module}")
    return bad


def test_every_package_has_a_layer() -> None:
    packages = {_package(p) for p in ROOT.rglob("*.py")} - {"__init__"}
    assert packages - set(RANK) == set(), "add new packages to LAYERS"


def test_imports_only_run_down_the_layers() -> None:
    bad = [line for path in sorted(ROOT.rglob("*.py")) for line in upward_imports(path)]
    assert bad == []


def test_the_rule_fails_on_an_upward_or_sideways_import(tmp_path: Path) -> None:
    probe = tmp_path / "probe.py"
    probe.write_text(
        "from spotlight.domain.bars import Bar\n"
        "from spotlight.market.simulator import MarketSimulator\n"
        "import spotlight.hub.hub\n"
    )
    assert upward_imports(probe, "analytics") == [
        "probe.py (analytics) imports spotlight.market.simulator",  # upward
        "probe.py (analytics) imports spotlight.hub.hub",  # same layer, another package
    ]
    assert upward_imports(probe, "engine") == []


def test_production_code_never_imports_the_fakes() -> None:
    for path in ROOT.rglob("*.py"):
        package = _package(path)
        if package == "testing":
            continue
        # The command line may import it inside the fake-massive command, never at the top.
        imports = _imports(path, top_level_only=package == "__main__")
        for module, _ in imports:
            assert _target(module) != "testing", f"{path.relative_to(ROOT)} imports {module}"


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
