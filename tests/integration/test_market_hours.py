"""The simulator keeps market hours (the default, ``SPOTLIGHT_SIM_HOURS=exchange``), checked
on a stated Saturday: the real server on virtual time, its wall clock on 2025-12-20."""

from __future__ import annotations

import datetime as dt

import trio
from support import SATURDAY_11, http, sse, virtual_server
from trio.testing import MockClock

from spotlight.domain.nytime import NY

FRIDAY_1559 = int(dt.datetime(2025, 12, 19, 15, 59, tzinfo=NY).timestamp() * 1000)


async def test_on_a_saturday_the_index_rests_at_fridays_close_and_stocks_stream(
    mock_clock: MockClock,
) -> None:
    at = SATURDAY_11
    async with virtual_server(mock_clock, at=at, sim_hours="exchange", sim_history_days=2) as srv:
        async with http(srv.url) as c:
            spx = (await c.get("/api/history?symbol=I:SPX&limit=500")).json()["bars"]
            assert spx[-1]["t"] == FRIDAY_1559  # no weekend candles
            async with sse(c, "/realtime/sse?symbols=SPY,I:SPX") as s:
                snap = (await s.until(lambda f: f.event == "snapshot")).json()
                last = snap["symbols"]["I:SPX"]["trade"]
                assert last["p"] == spx[-1]["c"]  # the last value is Friday's close
                seen: dict[str, int] = {"SPY": 0, "I:SPX": 0}
                with trio.fail_after(20):
                    while seen["SPY"] < 20:
                        f = await s.next()
                        if f.event == "tick":
                            seen[f.json()["s"]] += 1
                assert seen["I:SPX"] == 0  # the index does not print on a Saturday
