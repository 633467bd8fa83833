"""The auth package's surface and its purity (no I/O framework, no event loop needed)."""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import pytest

import spotlight.auth

AUTH = Path(spotlight.auth.__file__).resolve().parent
MODULES = sorted(p.stem for p in AUTH.glob("*.py") if p.stem != "__init__")
IO_FRAMEWORKS = {"trio", "quart", "quart_trio", "hypercorn", "httpx", "prometheus_client"}


def test_expected_modules() -> None:
    assert MODULES == [
        "access",
        "cookies",
        "keys",
        "lockout",
        "networks",
        "origin",
        "pin",
        "rate",
        "tokens",
    ]


@pytest.mark.parametrize("module", MODULES)
def test_modules_import_no_io_framework(module: str) -> None:
    tree = ast.parse((AUTH / f"{module}.py").read_text())
    for node in ast.walk(tree):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            names = [node.module]
        for name in names:
            assert name.split(".")[0] not in IO_FRAMEWORKS, f"auth/{module}.py imports {name}"


@pytest.mark.parametrize("module", MODULES)
def test_every_public_name_is_reexported(module: str) -> None:
    mod = importlib.import_module(f"spotlight.auth.{module}")
    exported = set(spotlight.auth.__all__)
    for name in mod.__all__:
        assert hasattr(mod, name)
        assert name in exported, f"spotlight.auth does not re-export {module}.{name}"
        assert getattr(spotlight.auth, name) is getattr(mod, name)


def test_package_all_is_unique_and_resolves() -> None:
    assert len(spotlight.auth.__all__) == len(set(spotlight.auth.__all__))
    for name in spotlight.auth.__all__:
        assert hasattr(spotlight.auth, name)
