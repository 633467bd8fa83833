"""The web client's page and its vendored chart library, served by the real server."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from quart_trio import QuartTrio
from support import http, virtual_server
from trio.testing import MockClock

from spotlight.web.client_assets import (
    REPO_ROOT,
    VENDOR_FILES,
    find_node_modules,
    install_client_asset_routes,
)
from spotlight.web.errors import install_error_handlers

PIN = "246810"
LIB = "/static/vendor/lightweight-charts.mjs"


async def test_page_and_chart_library_are_public_and_data_stays_behind_login(
    mock_clock: MockClock,
    tmp_path: Path,
) -> None:
    if find_node_modules() is None:
        pytest.fail("node_modules is missing: run `bash .ci/setup` (npm ci)")
    async with (
        virtual_server(mock_clock, auth="pin", pin=PIN, data_dir=str(tmp_path)) as srv,
        http(srv.url) as c,
    ):
        page = await c.get("/")
        assert page.status_code == 200
        assert 'type="module"' in page.text and "/static/js/app.js" in page.text
        for path in ("/static/js/app.js", "/static/js/stream.js", "/static/style.css"):
            assert (await c.get(path)).status_code == 200, path
        lib = await c.get(LIB)
        assert lib.status_code == 200
        assert lib.headers["content-type"].startswith("text/javascript")
        assert "createChart" in lib.text and "CandlestickSeries" in lib.text
        # Conditional requests: an unchanged file is a 304 without a body.
        again = await c.get(LIB, headers={"If-None-Match": lib.headers["etag"]})
        assert again.status_code == 304 and again.content == b""
        # The dashboard's data is not public.
        for path in ("/api/history?symbol=SPY", "/api/diag"):
            assert (await c.get(path)).status_code == 401, path


def test_the_vendored_file_is_the_pinned_package() -> None:
    lock = (REPO_ROOT / "package-lock.json").read_text()
    assert '"node_modules/lightweight-charts": {\n      "version": "5.' in lock
    for vendor in VENDOR_FILES:
        assert vendor.url.startswith("/static/vendor/")


async def test_missing_node_modules_is_a_clear_503_with_the_fix_not_a_500(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    app = QuartTrio(__name__)
    install_error_handlers(app)
    install_client_asset_routes(app, node_modules=tmp_path / "node_modules")
    client = app.test_client()
    with caplog.at_level(logging.WARNING, logger="spotlight.web.client_assets"):
        for _ in range(2):
            r = await client.get(LIB)
            assert r.status_code == 503
            body = await r.get_json()
            assert body["error"] == "client_assets_missing"
            assert "bash .ci/setup" in body["detail"]
    hints = [rec for rec in caplog.records if "bash .ci/setup" in rec.getMessage()]
    assert len(hints) == 1, "the server logs the hint once, not per request"


def test_find_node_modules_takes_the_first_candidate_that_has_one(tmp_path: Path) -> None:
    (tmp_path / "b" / "node_modules").mkdir(parents=True)
    (tmp_path / "a").mkdir()
    assert find_node_modules((tmp_path / "a", tmp_path / "b")) == tmp_path / "b" / "node_modules"
    assert find_node_modules((tmp_path / "a",)) is None
