from __future__ import annotations

import pytest

from spotlight.hub import Epoch, History, Hub
from spotlight.protocol.close import CLOSE_REASONS, close_reason
from spotlight.protocol.resume import BadEventId, EventId, Replay, Reset, decide, parse_event_id


@pytest.mark.parametrize(
    "text",
    [
        "",
        "abc",
        "abc:",
        ":1",
        "abc:-1",
        "ABC:1",
        "abc:01",
        "abc:1:2",
        "zz:1",
        "abc:1 2",
        "a" * 40 + ":1",
    ],
)
def test_malformed_ids_are_refused_with_a_fix(text: str) -> None:
    with pytest.raises(BadEventId, match="send back exactly the id"):
        parse_event_id(text)


def test_well_formed_ids() -> None:
    assert parse_event_id("abc123:0") == EventId("abc123", 0)
    assert parse_event_id(" 0f:99 ") == EventId("0f", 99)


def test_decide_covers_every_reason() -> None:
    hub = Hub(Epoch("aa", 0), History(5, 100), clock=lambda: 0.0)
    for i in range(10):
        hub.publish("x", "t", i)
    args = (hub.epoch.id, hub.last_seq, hub.history, {"t"})
    assert decide(EventId("bb", 9), *args) == Reset("epoch-changed")
    assert decide(EventId("aa", 11), *args) == Reset("unknown-seq")
    assert decide(EventId("aa", 4), *args) == Reset("too-old")
    r = decide(EventId("aa", 5), *args)
    assert isinstance(r, Replay) and [e.seq for e in r.events] == [6, 7, 8, 9, 10]
    r = decide(EventId("aa", 10), *args)
    assert isinstance(r, Replay) and r.events == []


def test_close_table_is_consistent() -> None:
    codes = [r.ws_code for r in CLOSE_REASONS.values()]
    assert len(codes) == len(set(codes))
    for r in CLOSE_REASONS.values():
        if 4000 <= r.ws_code < 4100:  # ours: reconnect with backoff
            assert r.reconnect, r
        elif 4400 <= r.ws_code < 4500:  # ours: do not retry until something changes
            assert not r.reconnect, r
        else:  # RFC 6455's own: only "service restart" (and "going away") invite a retry
            assert r.ws_code < 4000 and r.reconnect == (r.ws_code in (1001, 1012)), r
        assert r.announce or r.ws_code < 4000, r  # our own codes always say why
    with pytest.raises(ValueError, match="unknown close reason"):
        close_reason("nope")


def test_an_unreadable_id_resets_with_its_own_reason() -> None:
    hub = Hub(Epoch("aa", 0), History(5, 100), clock=lambda: 0.0)
    hub.publish("x", "t", 1)
    unreadable = EventId.unreadable("  v2|aa|17 " + "z" * 200)
    assert unreadable.text == ("  v2|aa|17 " + "z" * 200)[:80]
    assert decide(unreadable, hub.epoch.id, hub.last_seq, hub.history, {"t"}) == Reset(
        "malformed-id"
    )
    assert EventId("aa", 1).text == "aa:1"
