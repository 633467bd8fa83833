"""The nine SPX channels over SSE, on the simulator: one subscription, one window."""

from __future__ import annotations

import trio
from support import Frame, http, running_server, sse
from test_massive_source import AnchoredClock

from spotlight.analytics.channels import CHANNELS


async def test_one_subscription_captures_all_nine_channels() -> None:
    clock = AnchoredClock()  # a Wednesday 11:00 ET: 0DTE options exist
    async with running_server(clock=clock, gex_s=1.0, levels_s=1.0, sim_history_days=2) as srv:
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
                                if payload is not None:
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


async def test_unknown_channels_are_refused() -> None:
    async with running_server() as srv, http(srv.url) as c:
        r = await c.get("/realtime/sse?channels=gex:SPX,nope")
        assert r.status_code == 400 and r.json()["error"] == "unknown_channel"
        assert "gex:SPX" in r.json()["detail"]
