"""The Redis backend against a real redis-server (its own, on a free port).

The publish script (sequence, entry, fencing), the reader's sequence checks (a gap repaired
from the stream at once; one that cannot be repaired forces a resync) and the detection of
an async replica that lost a suffix are exercised directly on one backend and hub.
"""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import coredis
import pytest
import trio
from scaleout_support import RedisServer, redis_server

from spotlight.hub import redis_scripts
from spotlight.hub.backend_redis import RedisBackend, RedisConfig, Resync
from spotlight.hub.epoch import Epoch
from spotlight.hub.event import Event
from spotlight.hub.history import History
from spotlight.hub.hub import Hub
from spotlight.runtime.tree import ActorNode

pytestmark = pytest.mark.scaleout


class Sink:
    def __init__(self) -> None:
        self.events: list[Event] = []

    def offer(self, event: Event) -> bool:
        self.events.append(event)
        return True


def _backend(url: str, prefix: str, changes: list[str] | None = None) -> RedisBackend:
    config = RedisConfig(
        url=url,
        prefix=prefix,
        node_id="n1",
        max_events=10_000,
        max_age_s=900.0,
        timeout_s=2.0,
        outbound_events=1000,
    )
    return RedisBackend(config, on_epoch_change=(changes.append if changes is not None else None))


def _hub(backend: RedisBackend) -> Hub:
    return Hub(Epoch("placeholder", 0), History(10_000, 900.0), trio.current_time, backend=backend)


@asynccontextmanager
async def _running(
    redis: RedisServer, prefix: str
) -> AsyncIterator[tuple[RedisBackend, Hub, coredis.Redis[bytes]]]:
    backend = _backend(redis.url, prefix)
    hub = _hub(backend)
    async with redis.client() as r, trio.open_nursery() as nursery:
        await nursery.start(backend.run, hub, ActorNode("redis", "hub-backend"))
        yield backend, hub, r
        nursery.cancel_scope.cancel()


async def _lead(backend: RedisBackend, node: str = "n1") -> str:
    cfg = backend.config
    value = await backend.script("ACQUIRE", [cfg.key("lease"), cfg.key("fence")], [node, 60_000])
    return bytes(value).decode()


async def _until(pred: object) -> None:
    with trio.fail_after(5):
        while not pred():  # type: ignore[operator]  # noqa: ASYNC110
            await trio.sleep(0.01)


async def test_a_publish_is_sequenced_in_redis_and_delivered_through_the_stream() -> None:
    p = "t" + secrets.token_hex(4)
    async with redis_server() as redis, _running(redis, p) as (backend, hub, r):
        sink = Sink()
        hub.subscribe(sink, ["tick:SPY"])
        backend.fence = await _lead(backend)
        assert hub.publish("tick", "tick:SPY", {"p": 1}) is None  # the seq is Redis's to give
        hub.publish("quote", "quote:SPY", {"b": 1}, conflate_key="quote:SPY")
        hub.publish("tick", "tick:SPY", {"p": 3})
        await _until(lambda: hub.last_seq == 3)
        assert [(e.seq, e.data) for e in sink.events] == [(1, b'{"p":1}'), (3, b'{"p":3}')]
        assert sink.events[0].sse.startswith(f"id: {hub.epoch.id}:1\n".encode())
        entries = await r.xrange(f"{p}:stream", "-", "+")
        assert [e.identifier for e in entries] == [b"1-0", b"2-0", b"3-0"]
        assert entries[1].field_values[b"c"] == b"quote:SPY"
        assert entries[0].field_values[b"f"] == backend.fence.encode()
        assert await r.get(f"{p}:seq") == b"3"
        assert hub.history.first_seq == 1 and len(hub.history) == 3


async def test_a_deposed_leader_cannot_publish() -> None:
    p = "t" + secrets.token_hex(4)
    async with redis_server() as redis, _running(redis, p) as (backend, hub, r):
        backend.fence = await _lead(backend)
        hub.publish("tick", "tick:SPY", {"p": 1})
        await _until(lambda: hub.last_seq == 1)
        # The lease expires and another node takes it; this one has not noticed yet.
        await r.delete([f"{p}:lease"])
        other = await _lead(backend, "n2")
        assert other != backend.fence
        for i in range(5):
            hub.publish("tick", "tick:SPY", {"p": i})
        await _until(lambda: backend.dropped["fenced"] == 5)
        assert await r.xlen(f"{p}:stream") == 1 and hub.last_seq == 1


async def test_a_gap_is_repaired_from_the_stream_and_an_unrepairable_one_resyncs() -> None:
    p = "t" + secrets.token_hex(4)
    changes: list[str] = []
    backend = _backend("", p, changes)
    hub = _hub(backend)
    async with redis_server() as redis, redis.client() as r:
        await backend._sync(r, hub)
        await r.set(f"{p}:lease", "x:1")
        publish = r.register_script(redis_scripts.PUBLISH)
        keys = [f"{p}:{k}" for k in ("epoch", "seq", "stream", "lease", "batch:x")]
        epoch_value = f"{hub.epoch.id}:{hub.epoch.start_ms}"
        args: list[str | int | bytes] = [epoch_value, "x:1", 1, 10_000, 900_000]
        for i in range(1, 9):
            args += ["tick", "tick:SPY", "", f'{{"p":{i}}}'.encode()]
        assert await publish(keys=keys, args=args) == 8
        e = await r.xrange(f"{p}:stream", "-", "+")
        await backend._deliver_all(r, hub, [e[0], e[1], e[3], e[4]])  # 3 never arrived
        assert hub.last_seq == 5 and [x.seq for x in hub.history.since(0, {"tick:SPY"})] == [
            1,
            2,
            3,
            4,
            5,
        ]
        assert backend.counts["gaps"] == 1 and backend.counts["gapsRepaired"] == 1
        await r.xdel(f"{p}:stream", ["7-0"])  # 7 is gone from the stream as well
        with pytest.raises(Resync):
            await backend._deliver_all(r, hub, [e[5], e[7]])
        assert hub.last_seq == 6 and changes == ["resync"]


async def test_a_replica_that_lost_a_suffix_is_detected_and_makes_a_new_epoch() -> None:
    p = "t" + secrets.token_hex(4)
    backend = _backend("", p)
    hub = _hub(backend)
    async with redis_server() as redis, redis.client() as r:
        await backend._sync(r, hub)
        old = hub.epoch.id
        publish = r.register_script(redis_scripts.PUBLISH)
        keys = [f"{p}:{k}" for k in ("epoch", "seq", "stream", "lease", "batch:x")]

        async def put(fence: str, batch: int, n: int) -> None:
            await r.set(f"{p}:lease", fence)
            args: list[str | int | bytes] = [f"{old}:{hub.epoch.start_ms}", fence, batch, 10_000]
            args.append(900_000)
            for i in range(n):
                args += ["tick", "tick:SPY", "", f'{{"i":{i}}}'.encode()]
            await publish(keys=keys, args=args)

        await put("x:1", 1, 5)
        await backend._deliver_all(r, hub, await r.xrange(f"{p}:stream", "-", "+"))
        assert hub.last_seq == 5
        # A replica promoted without the last two events; the new leader has published on.
        await r.xdel(f"{p}:stream", ["4-0", "5-0"])
        await r.set(f"{p}:seq", 3)
        await put("y:2", 1, 4)  # seqs 4..7, other events than this node delivered as 4, 5
        with pytest.raises(Resync):
            await backend._sync(r, hub)  # what a reconnect does
        new = await r.get(f"{p}:epoch")
        assert new is not None and not new.decode().startswith(old)
        await backend._sync(r, hub)
        assert hub.epoch.id != old and hub.last_seq == 0
