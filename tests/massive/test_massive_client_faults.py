"""MassiveClient against every upstream fault class, with a MockTransport per fault.

Anything that waits (Retry-After, backoff, the overall deadline) runs on ``autojump_clock``,
so "waited 7 s" is asserted on Trio's virtual clock and the suite stays fast.
"""

from __future__ import annotations

import httpx
import pytest
import trio
import trio.testing
from massive_fixtures import KEY, LAST_TRADE, SPX_BARS, Upstream, always, ok, raw, replies

from spotlight.market.massive import (
    MassiveAuthError,
    MassiveDataError,
    MassiveError,
    MassiveNotEntitledError,
    MassiveRateLimitedError,
    MassiveRequestError,
    MassiveServerError,
    MassiveTransportError,
)
from spotlight.runtime.backoff import Backoff

UNKNOWN_KEY = {"status": "ERROR", "request_id": "r1", "error": "Unknown API Key"}
NOT_ENTITLED = {
    "status": "NOT_AUTHORIZED",
    "request_id": "r2",
    "message": "You are not entitled to this data. Please upgrade your plan at "
    "https://massive.com/pricing",
}
RATE_LIMITED = {
    "status": "ERROR",
    "request_id": "r3",
    "error": "You've exceeded the maximum requests per minute, please wait or upgrade your "
    "subscription to continue.",
}


def assert_key_hidden(exc: BaseException) -> None:
    assert KEY not in str(exc) and KEY not in repr(exc)
    for note in getattr(exc, "__notes__", []):
        assert KEY not in note


async def test_401_is_fatal_not_retried_and_hides_the_key() -> None:
    up = Upstream(always(ok(UNKNOWN_KEY, 401)))
    async with up.client() as client:
        with pytest.raises(MassiveAuthError) as info:
            await client.last_trade("SPY")
    assert up.calls == 1
    assert info.value.status == 401 and info.value.endpoint == "last_trade"
    assert "Unknown API Key" in str(info.value) and "MASSIVE_API_KEY" in str(info.value)
    assert_key_hidden(info.value)
    assert up.outcomes() == ["error"]


async def test_403_is_not_entitled_not_retried_and_carries_the_message() -> None:
    up = Upstream(always(ok(NOT_ENTITLED, 403)))
    async with up.client() as client:
        with pytest.raises(MassiveNotEntitledError) as info:
            await client.options_chain("SPX")
    assert up.calls == 1
    assert info.value.status == 403
    assert info.value.detail.startswith("You are not entitled to this data")
    assert "not entitled" in str(info.value)


async def test_404_is_empty_not_an_error() -> None:
    up = Upstream(always(ok({"status": "NOT_FOUND", "message": "Data not found."}, 404)))
    async with up.client() as client:
        assert await client.last_trade("NOPE") is None
        assert await client.option_contract("SPX", "O:SPXW251219C09999000") is None
        assert await client.options_chain("SPX") == []
    assert up.calls == 3
    assert up.outcomes() == ["empty"] * 3
    assert [r.status for r in up.records] == [404] * 3
    assert up.empties == ["last_trade", "option_contract", "options_chain"]


async def test_not_found_inside_a_200_body_is_empty() -> None:
    up = Upstream(always(ok({"status": "NOT_FOUND", "message": "Data not found."})))
    async with up.client() as client:
        assert await client.last_nbbo("SPY") is None
    assert up.empties == ["last_nbbo"]


async def test_429_with_retry_after_waits_that_long_then_succeeds(
    autojump_clock: trio.testing.MockClock,
) -> None:
    up = Upstream(replies([ok(RATE_LIMITED, 429, {"Retry-After": "7"}), ok(LAST_TRADE)]))
    async with up.client() as client:
        start = trio.current_time()
        trade = await client.last_trade("SPY")
        waited = trio.current_time() - start
    assert trade is not None and trade.price == 598.71
    assert 7.0 <= waited < 7.01
    assert up.outcomes() == ["retry", "ok"]
    assert [r.attempt for r in up.records] == [1, 2]


async def test_429_exhausted_raises_rate_limited_with_retry_after(
    autojump_clock: trio.testing.MockClock,
) -> None:
    up = Upstream(always(ok(RATE_LIMITED, 429, {"Retry-After": "2"})))
    async with up.client(max_retries=3) as client:
        start = trio.current_time()
        with pytest.raises(MassiveRateLimitedError) as info:
            await client.aggregates("SPY", 1, "minute", "2025-12-19", "2025-12-19")
        waited = trio.current_time() - start
    assert up.calls == 4  # the first try plus max_retries
    assert info.value.retry_after_s == 2.0 and info.value.status == 429
    assert 6.0 <= waited < 6.01
    assert up.outcomes() == ["retry", "retry", "retry", "error"]
    assert "exceeded the maximum requests" in str(info.value)


async def test_429_with_a_huge_retry_after_gives_up_at_once(
    autojump_clock: trio.testing.MockClock,
) -> None:
    up = Upstream(always(ok(RATE_LIMITED, 429, {"Retry-After": "3600"})))
    async with up.client() as client:
        with pytest.raises(MassiveRateLimitedError) as info:
            await client.last_trade("SPY")
    assert up.calls == 1 and info.value.retry_after_s == 3600.0


@pytest.mark.parametrize("retry_after", [None, "soon", "-1", "nan"])
async def test_429_without_usable_retry_after_uses_capped_jittered_backoff(
    autojump_clock: trio.testing.MockClock, retry_after: str | None
) -> None:
    headers = {"Retry-After": retry_after} if retry_after is not None else {}
    up = Upstream(replies([raw(b"", 429, headers), raw(b"", 429, headers), ok(LAST_TRADE)]))
    backoff = Backoff(base_s=1.0, factor=2.0, cap_s=1.5, jitter=0.5)
    async with up.client(backoff=backoff) as client:
        start = trio.current_time()
        assert await client.last_trade("SPY") is not None
        waited = trio.current_time() - start
    # Retry 0 waits within [0.5, 1.0]; retry 1 is capped at 1.5, so within [0.75, 1.5].
    assert 1.25 <= waited <= 2.5
    assert up.outcomes() == ["retry", "retry", "ok"]


@pytest.mark.parametrize("status", [500, 502, 503, 504, 499, 413])
async def test_server_errors_are_retried_then_succeed(
    autojump_clock: trio.testing.MockClock, status: int
) -> None:
    up = Upstream(replies([raw(b"<html>oops</html>", status), ok(SPX_BARS)]))
    async with up.client() as client:
        aggs = await client.aggregates("I:SPX", 1, "minute", "2025-12-19", "2025-12-19")
    assert len(aggs.bars) == 2
    assert [r.status for r in up.records] == [status, 200]


async def test_server_errors_exhausted_raise_server_error(
    autojump_clock: trio.testing.MockClock,
) -> None:
    up = Upstream(always(raw(b"<html><body>Bad gateway</body></html>", 502)))
    async with up.client(max_retries=2) as client:
        with pytest.raises(MassiveServerError) as info:
            await client.market_status()
    assert up.calls == 3
    assert info.value.status == 502 and info.value.endpoint == "market_status"
    assert "Bad gateway" in str(info.value)
    assert up.outcomes() == ["retry", "retry", "error"]
    assert any("attempt 3 of 3" in n for n in info.value.__notes__)


async def test_backoff_never_exceeds_its_cap(autojump_clock: trio.testing.MockClock) -> None:
    up = Upstream(always(raw(b"", 503)))
    backoff = Backoff(base_s=0.5, factor=10.0, cap_s=2.0, jitter=0.0)
    async with up.client(max_retries=5, backoff=backoff) as client:
        start = trio.current_time()
        with pytest.raises(MassiveServerError):
            await client.market_status()
    assert trio.current_time() - start == pytest.approx(0.5 + 2.0 * 4)


async def test_timeouts_are_retried(autojump_clock: trio.testing.MockClock) -> None:
    up = Upstream(replies([httpx.ReadTimeout("read timed out"), ok(LAST_TRADE)]))
    async with up.client() as client:
        assert await client.last_trade("SPY") is not None
    assert up.outcomes() == ["retry", "ok"]
    assert up.records[0].status is None


async def test_transport_errors_exhausted_raise_transport_error(
    autojump_clock: trio.testing.MockClock,
) -> None:
    up = Upstream(always(httpx.ConnectError("connection refused")))
    async with up.client(max_retries=1) as client:
        with pytest.raises(MassiveTransportError) as info:
            await client.last_trade("SPY")
    assert up.calls == 2
    assert isinstance(info.value.__cause__, httpx.ConnectError)
    assert info.value.status is None


async def test_a_slow_drip_hits_the_overall_deadline(
    autojump_clock: trio.testing.MockClock,
) -> None:
    async def forever(request: httpx.Request) -> httpx.Response:
        await trio.sleep(3600)
        return ok(LAST_TRADE)

    up = Upstream(forever)
    async with up.client(timeout_s=2.0, max_retries=1) as client:
        start = trio.current_time()
        with pytest.raises(MassiveTransportError, match="over 2 s"):
            await client.last_trade("SPY")
    assert up.calls == 2
    assert trio.current_time() - start < 10
    assert all(r.latency_s == pytest.approx(2.0) for r in up.records)


async def test_malformed_json_is_a_data_error_not_retried() -> None:
    up = Upstream(always(raw(b'{"status":"OK","results":[{"o":1', 200)))
    async with up.client() as client:
        with pytest.raises(MassiveDataError) as info:
            await client.aggregates("SPY", 1, "minute", "2025-12-19", "2025-12-19")
    assert up.calls == 1
    assert info.value.endpoint == "aggs" and info.value.status == 200
    assert "not JSON" in str(info.value)
    assert up.outcomes() == ["error"]


@pytest.mark.parametrize(
    "body",
    [
        {"status": "OK", "results": "surprise"},
        {"status": "OK", "results": [{"o": 1, "h": 1, "l": 1, "c": "one", "t": 1}]},
        {"status": "OK", "results": [{"o": -1.0, "h": 1, "l": 1, "c": 1, "t": 1}]},
        {"status": "OK", "results": [{"o": 1, "h": 1, "l": 1, "c": 1, "t": 1.5}]},
        {"status": 7},
        ["not", "an", "object"],
    ],
)
async def test_unexpected_shapes_are_data_errors(body: object) -> None:
    up = Upstream(always(ok(body)))
    async with up.client() as client:
        with pytest.raises(MassiveDataError) as info:
            await client.aggregates("SPY", 1, "minute", "2025-12-19", "2025-12-19")
    assert up.calls == 1 and info.value.endpoint == "aggs"


async def test_error_statuses_inside_200_bodies_are_errors() -> None:
    bodies = [
        ok(NOT_ENTITLED),
        ok({"status": "ERROR", "error": "Unknown API Key"}),
        ok({"status": "ERROR", "error": "invalid timespan"}),
    ]
    up = Upstream(replies(bodies))
    async with up.client() as client:
        with pytest.raises(MassiveNotEntitledError) as entitled:
            await client.options_chain("SPX")
        with pytest.raises(MassiveAuthError):
            await client.options_chain("SPX")
        with pytest.raises(MassiveRequestError, match="invalid timespan"):
            await client.options_chain("SPX")
    assert entitled.value.status == 200
    assert up.calls == 3  # none retried


async def test_other_4xx_and_redirects_are_request_errors_and_never_followed() -> None:
    up = Upstream(
        replies(
            [
                ok({"status": "ERROR", "error": "limit must be <= 250"}, 400),
                raw(b"", 302, {"Location": "https://evil.example/steal"}),
            ]
        )
    )
    async with up.client() as client:
        with pytest.raises(MassiveRequestError, match="limit must be"):
            await client.options_chain("SPX")
        with pytest.raises(MassiveRequestError, match="redirect"):
            await client.options_chain("SPX")
    assert [r.url.host for r in up.requests] == ["api.test", "api.test"]


async def test_upstream_text_echoing_the_key_is_redacted() -> None:
    echo = {"status": "ERROR", "error": f"Unknown API Key {KEY}"}
    up = Upstream(replies([ok(echo, 401), ok(echo, 400), raw(f"<p>{KEY}</p>".encode(), 500)]))
    async with up.client(max_retries=0) as client:
        for _ in range(3):
            with pytest.raises(MassiveError) as info:
                await client.last_trade("SPY")
            assert_key_hidden(info.value)
            assert "<redacted>" in str(info.value)


async def test_every_error_is_a_massive_error_with_an_endpoint() -> None:
    for exc_type in (
        MassiveAuthError,
        MassiveNotEntitledError,
        MassiveRateLimitedError,
        MassiveServerError,
        MassiveTransportError,
        MassiveDataError,
        MassiveRequestError,
    ):
        assert issubclass(exc_type, MassiveError)
    up = Upstream(always(ok(UNKNOWN_KEY, 401)))
    async with up.client() as client:
        with pytest.raises(MassiveError) as info:
            await client.upcoming_holidays()
    assert info.value.endpoint == "holidays"
