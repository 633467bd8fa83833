"""The nine SPX channels over SSE, on the simulator: one subscription, one window."""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from functools import partial
from typing import Any, TypeVar

import trio
from support import MONDAY_AFTER_CLOSE, Frame, http, sse, virtual_server, wait_for
from trio.testing import MockClock

from spotlight.analytics.channels import CHANNELS
from spotlight.domain.nytime import NY

T = TypeVar("T")


def warming(payload: Any) -> bool:
    """No value yet: null, or the warming marker a snapshot carries instead."""
    return payload is None or payload.get("state") in ("warming", "waiting")


async def test_one_subscription_captures_all_nine_channels(mock_clock: MockClock) -> None:
    # A Wednesday 11:00 ET (virtual_server's default): 0DTE options exist.
    async with virtual_server(mock_clock, gex_s=1.0, levels_s=1.0, sim_history_days=2) as srv:
        async with http(srv.url) as c:
            url = "/realtime/sse?channels=" + ",".join(CHANNELS)
            seen: dict[str, object] = {}
            frames: list[Frame] = []
            async with sse(c, url) as s:
                with trio.fail_after(30):
                    while len(seen) < len(CHANNELS):
                        f = await s.next()
                        frames.append(f)
                        if f.event == "snapshot":
                            for name, payload in f.json()["channels"].items():
                                if not warming(payload):
                                    seen.setdefault(name, payload)
                        elif f.event in CHANNELS:
                            seen.setdefault(f.event, f.json())
    assert set(seen) == set(CHANNELS)
    gex = seen["gex:SPX"]
    assert isinstance(gex, dict)
    assert gex["convention"]["unit"] == "USD per 1% move"
    assert set(gex["buckets"]) == {"0dte", "ex0dte", "all"}
    assert gex["gammaLevels"]["bucket"] in {"0dte", "all"}
    assert gex["buckets"]["0dte"]["contracts"] > 0
    levels = seen["levels:update"]
    assert isinstance(levels, dict) and levels["levels"]
    assert {lv["family"] for lv in levels["levels"]} >= {"round"}
    regime = seen["regime:update"]
    assert isinstance(regime, dict) and regime["gamma"] in {"POS", "NEG", "TRANSITION", "UNKNOWN"}

    # One key style on the wire: camelCase everywhere.
    def snake_keys(value: object) -> list[str]:
        if isinstance(value, dict):
            own = [k for k in value if isinstance(k, str) and "_" in k]
            return own + [k for v in value.values() for k in snake_keys(v)]
        if isinstance(value, list):
            return [k for v in value for k in snake_keys(v)]
        return []

    assert {name: snake_keys(p) for name, p in seen.items() if snake_keys(p)} == {}
    # Channel events are sequenced with everything else.
    seqs = [f.seq for f in frames if f.event in CHANNELS]
    assert seqs == sorted(set(seqs))


async def test_unknown_channels_are_refused(mock_clock: MockClock) -> None:
    async with virtual_server(mock_clock) as srv, http(srv.url) as c:
        r = await c.get("/realtime/sse?channels=gex:SPX,nope")
        assert r.status_code == 400 and r.json()["error"] == "unknown_channel"
        assert "gex:SPX" in r.json()["detail"]


class GatedExecutor(ThreadPoolExecutor):
    """A one-thread pool whose jobs wait for ``gate``: the first GEX pass stays pending until
    the test lets it run, so "before the first value" is a state, not a race."""

    def __init__(self, gate: threading.Event) -> None:
        super().__init__(1)
        self.gate = gate

    def submit(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> Future[T]:
        def gated() -> T:
            self.gate.wait(30)
            return fn(*args, **kwargs)

        return super().submit(gated)


async def test_health_and_snapshots_say_warming_until_the_channels_have_values(
    mock_clock: MockClock,
) -> None:
    gate = threading.Event()
    factory = partial(GatedExecutor, gate)
    async with virtual_server(mock_clock, executor_factory=factory, gex_s=1.0, levels_s=1.0) as srv:
        async with http(srv.url) as c:
            health = await c.get("/health")
            assert health.status_code == 200  # streams are served...
            body = health.json()
            assert body["status"] == "warming"  # ...but say the analytics are not there yet
            assert {"gex:SPX", "gex:SPY", "flow:alert"} <= set(body["analytics"]["warming"])
            url = "/realtime/sse?channels=" + ",".join(CHANNELS)
            async with sse(c, url) as s:
                with trio.fail_after(20):
                    snap = (await s.until(lambda f: f.event == "snapshot")).json()
                    gex = snap["channels"]["gex:SPX"]
                    assert gex["state"] == "warming" and "option chain" in gex["reason"]
                    assert gex["channel"] == "gex:SPX"
                    gate.set()
                    first = await s.until(lambda f: f.event == "gex:SPX")
                    assert "buckets" in first.json()  # the first value comes as an event
            await wait_for(lambda: srv.service.analytics_health()["state"] == "ready", 20)
            assert (await c.get("/health")).json()["status"] == "ok"
            assert (await c.get("/health")).json()["analytics"] == {
                "state": "ready", "warming": [], "waiting": []
            }  # fmt: skip


# Monday 2026-12-07 17:00 New York, after the close: the day the suite was red because one
# "day" of history was Sunday's and the prior session (Friday) was missing.
FRIDAY = dt.date(2026, 12, 4)


async def test_prior_day_levels_exist_on_a_monday_with_one_session_of_history(
    mock_clock: MockClock,
) -> None:
    at = MONDAY_AFTER_CLOSE
    async with virtual_server(mock_clock, at=at, levels_s=1.0, sim_history_days=1) as srv:
        async with http(srv.url) as c:
            spx = (await c.get("/api/history?symbol=I:SPX&limit=5000")).json()["bars"]
            days = {dt.datetime.fromtimestamp(b["t"] / 1000, NY).date() for b in spx}
            assert FRIDAY in days  # one session back from a Monday is Friday
            friday = [
                b for b in spx if dt.datetime.fromtimestamp(b["t"] / 1000, NY).date() == FRIDAY
            ]
            async with sse(c, "/realtime/sse?channels=levels:update") as s:
                with trio.fail_after(20):
                    frame = await s.until(
                        lambda f: (
                            f.event == "levels:update"
                            or (
                                f.event == "snapshot"
                                and not warming(f.json()["channels"]["levels:update"])
                            )
                        )
                    )
    payload = (
        frame.json()
        if frame.event == "levels:update"
        else frame.json()["channels"]["levels:update"]
    )
    named = {lv["name"]: lv["price"] for lv in payload["levels"]}
    # PDH/PDL/PDC are Friday's regular session (09:30-16:00), whatever Sunday printed.
    session = [
        b
        for b in friday
        if (9, 30)
        <= (
            dt.datetime.fromtimestamp(b["t"] / 1000, NY).hour,
            dt.datetime.fromtimestamp(b["t"] / 1000, NY).minute,
        )
        < (16, 0)
    ]
    assert named["PDH"] == round(max(b["h"] for b in session), 2)
    assert named["PDL"] == round(min(b["l"] for b in session), 2)
    assert named["PDC"] == round(session[-1]["c"], 2)
