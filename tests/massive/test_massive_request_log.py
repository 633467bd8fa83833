"""Massive requests in the log (issue 15, item 6): one DEBUG line per attempt, one INFO
summary a minute, and no per-request INFO line from httpx under the server's logging."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest
import trio
import trio.testing
from massive_fixtures import KEY, LAST_TRADE, Upstream, always, ok, replies

from spotlight.__main__ import QUIET_LOGGERS, configure_logging
from spotlight.market.massive.request_log import SUMMARY_S
from spotlight.runtime.backoff import Backoff

LOGGER = "spotlight.market.massive.request_log"


def ours(caplog: pytest.LogCaptureFixture, level: int) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == LOGGER and r.levelno == level]


async def test_each_attempt_at_debug_and_a_summary_a_minute_at_info(
    autojump_clock: trio.testing.MockClock, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger=LOGGER)
    up = Upstream(replies([ok({"status": "ERROR", "error": "busy"}, 503), *[ok(LAST_TRADE)] * 13]))
    async with up.client(backoff=Backoff(base_s=0.5, factor=2, cap_s=1, jitter=0)) as client:
        for _ in range(13):  # one every 5 s: 0 ... 60 s (the first one retried once)
            await client.last_trade("SPY")
            await trio.sleep(5)
    debug, info = ours(caplog, logging.DEBUG), ours(caplog, logging.INFO)
    assert len(debug) == up.calls == 14
    assert debug[0] == "Massive last_trade: HTTP 503, retry in 0 ms (attempt 1)"
    assert debug[1].startswith("Massive last_trade: HTTP 200, ok in ") and "(attempt 2)" in debug[1]
    # After a minute, at the next request: the first window's 13 attempts (12 calls); the
    # rest when the client closes.
    assert len(info) == 2, info
    assert info[0].startswith(
        f"Massive: 13 requests in the last {SUMMARY_S:.0f} s (12 ok, 1 retried;"
    )
    assert "last_trade 13" in info[0] and "latency avg" in info[0]
    assert info[1].startswith("Massive: 1 request in the last 5 s (1 ok; last_trade 1)")
    assert not any(KEY in r.getMessage() for r in caplog.records)


@pytest.fixture
def server_logging() -> Iterator[None]:
    """``configure_logging`` as the CLI calls it; the loggers' levels restored afterwards."""
    saved = {name: logging.getLogger(name).level for name in QUIET_LOGGERS}
    configure_logging("INFO")
    yield
    for name, level in saved.items():
        logging.getLogger(name).setLevel(level)


async def test_the_server_logging_has_no_info_line_per_request(
    server_logging: None, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    up = Upstream(always(ok(LAST_TRADE)))
    async with up.client() as client:
        for _ in range(5):
            await client.last_trade("SPY")
    per_request = [r for r in caplog.records if r.levelno >= logging.INFO and r.name != LOGGER]
    assert per_request == [], [r.getMessage() for r in per_request]  # httpx's "HTTP Request: ..."
    assert len(ours(caplog, logging.INFO)) == 1  # the summary at close
    assert ours(caplog, logging.DEBUG) == []  # below the level: not even formatted
