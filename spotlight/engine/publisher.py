"""The pipeline's last stage: market changes -> hub events (the SSE/WS payload shapes).

Payload keys are short because they repeat in every event: ``s`` symbol, ``p`` price,
``v`` size/volume, ``t`` exchange time in Unix ms. docs/protocol.md is the reference.
"""

from __future__ import annotations

from spotlight.domain.bars import Bar
from spotlight.domain.ticks import Quote, SourceStatus, Trade
from spotlight.hub.hub import Hub
from spotlight.protocol.topics import STATUS_TOPIC, bar_topic, quote_topic, tick_topic

__all__ = ["MarketPublisher", "SilentPublisher", "quote_json", "trade_json"]


def trade_json(t: Trade) -> dict[str, object]:
    return {"s": t.symbol, "p": t.price, "v": t.size, "t": t.ts_ms}


def quote_json(q: Quote) -> dict[str, object]:
    return {"s": q.symbol, "b": q.bid, "a": q.ask, "bs": q.bid_size, "as": q.ask_size, "t": q.ts_ms}


class MarketPublisher:
    def __init__(self, hub: Hub) -> None:
        self.hub = hub

    def trade(self, t: Trade) -> None:
        self.hub.publish("tick", tick_topic(t.symbol), trade_json(t))

    def quote(self, q: Quote) -> None:
        topic = quote_topic(q.symbol)
        self.hub.publish("quote", topic, quote_json(q), conflate_key=topic)

    def status(self, s: SourceStatus) -> None:
        self.hub.publish("status", STATUS_TOPIC, s.to_json(), conflate_key=STATUS_TOPIC)

    def bar(self, kind: str, bar: Bar) -> None:
        topic = bar_topic(bar.symbol, bar.timeframe)
        if kind == "update":
            self.hub.publish("bar:update", topic, bar.to_json(), conflate_key=topic)
        else:
            self.hub.publish("bar:close", topic, bar.to_json())


class SilentPublisher(MarketPublisher):
    """Publishes nothing: a replay's pipeline uses it while fast-forwarding to its start."""

    def trade(self, t: Trade) -> None:
        pass

    def quote(self, q: Quote) -> None:
        pass

    def status(self, s: SourceStatus) -> None:
        pass

    def bar(self, kind: str, bar: Bar) -> None:
        pass
