from __future__ import annotations

import orjson
import trio
import trio.lowlevel

from spotlight.domain.bars import Bar
from spotlight.domain.ticks import Quote, Trade
from spotlight.engine.normalizer import TickNormalizer
from spotlight.engine.pipeline import Pipeline
from spotlight.hub import Epoch, Event, History, Hub
from spotlight.metrics import Metrics
from spotlight.runtime.supervisor import supervise
from spotlight.runtime.tree import ActorNode

T0 = 1_766_154_600_000  # 2025-12-19 09:30 ET


def test_normalizer_drops_and_counts_bad_ticks() -> None:
    n = TickNormalizer(["SPY", "I:SPX"])
    good: list[Trade | Quote] = [
        Trade("SPY", T0, 600.0, 100),
        Quote("SPY", T0, 599.99, 600.0, 100, 200),
        Trade("I:SPX", T0, 6000.0, 5.0),
    ]
    bad: list[Trade | Quote] = [
        Trade("XXX", T0, 1.0, 1),
        Trade("SPY", T0, 0.0, 1),
        Trade("SPY", T0, float("nan"), 1),
        Trade("SPY", T0, 1.0, -1),
        Quote("SPY", T0, 601, 600, 1, 1),
        Quote("I:SPX", T0, 1, 2, 1, 1),
        Trade("SPY", 17_661_546_000, 1.0, 1),
        Trade("SPY", T0 * 1000, 1.0, 1),
    ]
    out = n.normalize(good + bad)
    assert out[:2] == good[:2]
    assert out[2] == Trade("I:SPX", T0, 6000.0, 0.0)  # index values never carry volume
    assert len(out) == 3
    assert dict(n.rejected) == {
        "unknown-symbol": 1,
        "bad-price": 2,
        "bad-size": 1,
        "crossed-quote": 1,
        "index-quote": 1,
        "bad-timestamp": 2,
    }


class Sink:
    def __init__(self) -> None:
        self.events: list[Event] = []

    def offer(self, e: Event) -> bool:
        self.events.append(e)
        return True


def test_pipeline_turns_ticks_into_sequenced_events() -> None:
    hub = Hub(Epoch("ab", 0), History(1000, 1e9), clock=lambda: 0.0)
    sink = Sink()
    hub.subscribe(sink, ["tick:SPY", "quote:SPY", "bar:SPY:1m", "bar:SPY:5m"])
    p = Pipeline("t", hub, ["SPY", "QQQ"], 600, Metrics())
    p.load_history({"SPY": [Bar("SPY", "1m", T0 - 60_000, 600, 601, 599, 600.5, 1000, 10)]})
    p.ingest(
        [
            Trade("SPY", T0 + 1000, 600.7, 100),
            Quote("SPY", T0 + 1000, 600.6, 600.7, 1, 1),
            Trade("SPY", T0 + 2000, 600.8, 0),
        ]
    )
    kinds = [(e.type, e.topic) for e in sink.events]
    # Trades and closes as they happen; then one update per bar (the newest) and the last
    # quote: earlier ones would be superseded in every client queue before any write.
    assert kinds == [
        ("tick", "tick:SPY"),
        ("bar:close", "bar:SPY:1m"),  # the loaded 09:29 bar closed at the first 09:30 trade
        ("bar:close", "bar:SPY:5m"),  # ...and so did its 09:25 five-minute bucket
        ("tick", "tick:SPY"),
        ("bar:update", "bar:SPY:1m"),
        ("bar:update", "bar:SPY:5m"),
        ("quote", "quote:SPY"),
    ]
    update = orjson.loads(next(e.data for e in sink.events if e.type == "bar:update"))
    assert (update["o"], update["c"], update["n"]) == (600.7, 600.8, 2)
    seqs = [e.seq for e in sink.events]
    assert seqs == sorted(seqs)
    closed = next(e for e in sink.events if e.type == "bar:close")
    assert orjson.loads(closed.data)["c"] == 600.5
    snap = p.snapshot(["SPY"])["symbols"]["SPY"]
    assert snap["trade"]["p"] == 600.8 and snap["quote"]["b"] == 600.6
    assert snap["bars"]["1m"]["o"] == 600.7
    assert p.stats()["ticksIn"] == 3


async def test_pipeline_actor_restart_keeps_its_state() -> None:
    hub = Hub(Epoch("ab", 0), History(1000, 1e9), trio.current_time)
    p = Pipeline("t", hub, ["SPY"], 600)
    root = ActorNode("r", "r")
    async with trio.open_nursery() as n:
        await n.start(supervise, root, "pipeline", "pipeline", p.run)
        await p.inbox.send([Trade("SPY", T0, 600.0, 1)])
        with trio.fail_after(5):
            while p.ticks_in < 1:
                await trio.lowlevel.checkpoint()
        n.cancel_scope.cancel()
    assert p.bars["SPY"].latest("1m") is not None and p.last_trade["SPY"].price == 600.0


def test_an_index_keeps_its_last_value_from_history_while_the_market_is_closed() -> None:
    hub = Hub(Epoch("ab", 0), History(1000, 1e9), clock=lambda: 0.0)
    pipeline = Pipeline("t", hub, ("SPY", "I:SPX"), 1440)
    friday_1559 = 1_795_204_740_000
    pipeline.load_history(
        {
            "I:SPX": [Bar("I:SPX", "1m", friday_1559, 6000.0, 6001.0, 5999.0, 6000.5, 0.0, 60)],
            "SPY": [Bar("SPY", "1m", friday_1559, 600.0, 600.1, 599.9, 600.05, 900.0, 9)],
        }
    )
    last = pipeline.last_trade["I:SPX"]
    assert (last.price, last.size, last.ts_ms) == (6000.5, 0.0, friday_1559 + 59_999)
    assert "SPY" not in pipeline.last_trade  # a stock's last print comes from its feed
