"""Scale-out on Redis with real processes: redis-server, Spotlight nodes, failures.

Each test starts its own ``redis-server`` on a free port (never the system Redis) and real
``python -m spotlight serve`` nodes, with a 1 s lease and a 0.5 s Redis timeout so each
failure plays out within a few seconds. Clients are real SSE clients; what they received is
checked against the shared stream itself (``check_exact``): exactly the events of their
topic, in order, no gap, no duplicate, nothing that is not in the stream.
"""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
import time

import httpx
import pytest
import trio
from scaleout_support import (
    LEASE_TTL_S,
    REDIS_TIMEOUT_S,
    Collector,
    Node,
    TcpProxy,
    check_exact,
    fences_in_order,
    free_port,
    is_notice,
    node_env,
    nodes,
    redis_server,
    stream_entries,
    ticks,
    wait_until,
)
from support import sse

pytestmark = pytest.mark.scaleout

# A follower polls for the lease every ttl/5 and a dead leader's lease lasts at most a ttl:
# takeover within 1.2 ttl, plus a second for the new leader's market to publish (and a
# loaded shared machine).
FAILOVER_BOUND_S = 1.2 * LEASE_TTL_S + 1.0


def _prefix() -> str:
    return "t" + secrets.token_hex(4)


def _seq(event_id: str) -> int:
    return int(event_id.rsplit(":", 1)[1])


def _start(c: Collector) -> int:
    """The seq a collector's first stream started at (its snapshot's position)."""
    return next(f.seq for f in c.frames if f.event == "snapshot")


async def test_a_client_moves_to_another_node_and_resumes_exactly() -> None:
    p = _prefix()
    async with redis_server() as redis:
        async with nodes(("a", node_env(redis.url, p)), ("b", node_env(redis.url, p))) as (a, b):
            async with a.http() as ca, sse(ca, "/realtime/sse?symbols=SPY") as s:
                snap = await s.until(lambda f: f.event == "snapshot")
                for _ in range(5):
                    await s.until(lambda f: f.event == "tick")
                left_at = s.last_id
            assert left_at is not None
            # Events go on while the client is away; then it reconnects to the other node.
            away = _seq(left_at)

            async def moved_on() -> bool:
                return int((await b.health())[1]["checks"]["hub"]["lastSeq"]) > away + 40

            await wait_until(moved_on, 10, "the stream moving on")
            async with b.http() as cb:
                async with sse(cb, "/realtime/sse?symbols=SPY", {"Last-Event-ID": left_at}) as s:
                    frames = [await s.next() for _ in range(60)]
            events = [f for f in frames if f.id is not None and f.event != "heartbeat"]
            assert not [f for f in events if f.event in ("reset", "snapshot")], "not resumed"
            assert events[0].epoch == snap.epoch and events[0].seq > away
            replayed = [f for f in events if f.seq <= away + 40]
            assert replayed, "the events published while away were replayed"
            n = check_exact(ticks(events), await stream_entries(redis.url, p), "tick:SPY", away)
            assert n >= 5


async def test_killing_the_leader_fails_over_without_gap_or_duplicate() -> None:
    p = _prefix()
    async with redis_server() as redis:
        async with nodes(("a", node_env(redis.url, p)), ("b", node_env(redis.url, p))) as (a, b):
            await wait_until(a.is_leader, 5, "a leads (it started first)")
            on_a, on_b = Collector([a.url, b.url]), Collector([b.url])
            async with trio.open_nursery() as nursery:
                nursery.start_soon(on_a.run)
                nursery.start_soon(on_b.run)
                for c in (on_a, on_b):
                    await c.wait_for(lambda f: f.event == "tick", 10)
                start_a, start_b = _start(on_a), _start(on_b)
                before = on_b.count(lambda f: f.event == "tick")
                killed = time.monotonic()
                a.kill9()
                failover = await wait_until(b.is_leader, FAILOVER_BOUND_S + 2, "b takes over")
                await on_b.wait_for(lambda f: f.event == "tick", before + 1, FAILOVER_BOUND_S + 2)
                first_tick = time.monotonic() - killed
                # Both clients go on streaming from b's market, the moved one via Last-Event-ID.
                for c in (on_a, on_b):
                    n = c.count(lambda f: f.event == "tick")
                    await c.wait_for(lambda f: f.event == "tick", n + 20, 10)
                nursery.cancel_scope.cancel()
            print(f"failover: lease {failover:.2f}s, first new tick {first_tick:.2f}s after kill")
            assert failover <= FAILOVER_BOUND_S
            assert first_tick <= FAILOVER_BOUND_S + 1.0
            entries = await stream_entries(redis.url, p)
            assert len(fences_in_order(entries)) == 2  # a's lease, then b's: never a's again
            assert on_a.connects == [a.url, b.url]  # moved once, to b
            assert not [f for f in on_a.frames if f.event == "reset"], "resumed, never reset"
            assert check_exact(ticks(on_a.frames), entries, "tick:SPY", start_a) > 20
            assert check_exact(ticks(on_b.frames), entries, "tick:SPY", start_b) > 20


async def test_redis_restarting_empty_is_a_new_epoch_and_clients_are_reset() -> None:
    p = _prefix()
    async with redis_server() as redis:
        async with nodes(("a", node_env(redis.url, p)), ("b", node_env(redis.url, p))) as (a, b):
            async with b.http() as cb:
                async with sse(cb, "/realtime/sse?symbols=SPY") as s:
                    old = (await s.until(lambda f: f.event == "snapshot")).epoch
                    await s.until(lambda f: f.event == "tick")
                    redis.kill()
                    await redis.start()  # same port, no data
                    with trio.fail_after(15):
                        rest = await s.rest()
                    last_id = s.last_id
            closing = rest[-1]
            assert closing.event == "shutdown" and closing.json()["reason"] == "epoch-changed"
            assert last_id is not None and last_id.startswith(old + ":")
            for node in (a, b):
                await wait_until(
                    lambda node=node: _epoch_is_new(node, old), 10, "every node adopts it"
                )
            new = (await a.health())[1]["epoch"]["id"]
            assert (await b.health())[1]["epoch"]["id"] == new != old
            async with a.http() as ca:
                async with sse(ca, "/realtime/sse?symbols=SPY", {"Last-Event-ID": last_id}) as s:
                    reset = await s.until(lambda f: f.event not in ("heartbeat", "retry"))
                    snapshot = await s.next()
                    tick = await s.until(lambda f: f.event == "tick")
            assert reset.event == "reset" and reset.json()["reason"] == "epoch-changed"
            assert reset.json()["epoch"]["id"] == new
            assert snapshot.event == "snapshot" and snapshot.epoch == new
            assert tick.epoch == new  # never an event of the old stream under a new id
            entries = await stream_entries(redis.url, p)
            assert entries and entries[0][0] == 1  # the new stream starts over


async def _epoch_is_new(node: Node, old: str) -> bool:
    try:
        code, body = await node.health()
    except httpx.HTTPError:
        return False
    return code == 200 and body["epoch"]["id"] != old


async def test_redis_unreachable_for_10s_degrades_then_recovers_exactly() -> None:
    p = _prefix()
    async with redis_server() as redis, trio.open_nursery() as nursery:
        proxy = TcpProxy(redis.port)
        port = await nursery.start(proxy.run)
        via = f"redis://127.0.0.1:{port}/0"
        async with nodes(("a", node_env(via, p)), ("b", node_env(via, p))) as (a, b):
            on_a, on_b = Collector([a.url]), Collector([b.url])
            async with trio.open_nursery() as clients:
                clients.start_soon(on_a.run)
                clients.start_soon(on_b.run)
                for c in (on_a, on_b):
                    await c.wait_for(lambda f: f.event == "tick", 5)
                proxy.cut()
                for node in (a, b):
                    await wait_until(
                        lambda node=node: _degraded(node), REDIS_TIMEOUT_S + 3, "degraded"
                    )
                for c in (on_a, on_b):
                    await c.wait_for(lambda f: is_notice(f) and f.json()["state"] == "degraded")
                async with a.http() as ca:
                    refused = await ca.get("/realtime/sse?symbols=SPY")
                assert refused.status_code == 503 and refused.json()["error"] == "degraded"
                frozen = [c.count(lambda f: f.event == "tick") for c in (on_a, on_b)]
                await trio.sleep(10)  # the outage itself: Redis stays unreachable for 10 s
                # Nothing was made up meanwhile: no market data without the shared stream.
                assert [c.count(lambda f: f.event == "tick") for c in (on_a, on_b)] == frozen
                proxy.restore()
                for node in (a, b):
                    await wait_until(lambda node=node: _healthy(node), 10, "recovered")
                for c, n in zip((on_a, on_b), frozen, strict=True):
                    await c.wait_for(lambda f: is_notice(f) and f.json()["feeds"]["hub"] == "ok")
                    await c.wait_for(lambda f: f.event == "tick", n + 10, 10)
                clients.cancel_scope.cancel()
            entries = await stream_entries(redis.url, p)
            for c in (on_a, on_b):
                assert len(c.connects) == 1  # the same stream throughout: told, not dropped
                assert check_exact(ticks(c.frames), entries, "tick:SPY", _start(c)) > 10
        nursery.cancel_scope.cancel()


async def _degraded(node: Node) -> bool:
    code, body = await node.health()
    return code == 503 and body["status"] == "degraded"


async def _healthy(node: Node) -> bool:
    code, body = await node.health()
    return code == 200 and body["status"] == "ok"


async def test_a_node_partitioned_from_redis_stops_serving_live_and_catches_up() -> None:
    p = _prefix()
    async with redis_server() as redis, trio.open_nursery() as nursery:
        proxy = TcpProxy(redis.port)
        port = await nursery.start(proxy.run)
        a_env = node_env(f"redis://127.0.0.1:{port}/0", p)
        async with nodes(("a", a_env), ("b", node_env(redis.url, p))) as (a, b):
            await wait_until(a.is_leader, 5, "a leads (it started first)")
            on_a, on_b = Collector([a.url]), Collector([b.url])
            async with trio.open_nursery() as clients:
                clients.start_soon(on_a.run)
                clients.start_soon(on_b.run)
                for c in (on_a, on_b):
                    await c.wait_for(lambda f: f.event == "tick", 5)
                proxy.blackhole()  # packets vanish; a's sockets stay open
                await wait_until(lambda: _degraded(a), REDIS_TIMEOUT_S + 3, "a sees it")
                took_over = await wait_until(b.is_leader, FAILOVER_BOUND_S + 2, "b takes over")
                await on_a.wait_for(lambda f: is_notice(f) and f.json()["state"] == "degraded")
                async with a.http() as ca:
                    assert (await ca.get("/realtime/sse?symbols=SPY")).status_code == 503
                stale = on_a.count(lambda f: f.event == "tick")
                n_b = on_b.count(lambda f: f.event == "tick")
                await on_b.wait_for(lambda f: f.event == "tick", n_b + 20, 10)  # b goes on
                assert on_a.count(lambda f: f.event == "tick") == stale  # a serves nothing
                proxy.restore()
                await wait_until(lambda: _healthy(a), 10, "a reconnects")
                await on_a.wait_for(lambda f: f.event == "tick", stale + 25, 10)
                clients.cancel_scope.cancel()
            print(f"partition: b took over {took_over:.2f}s after a was seen degraded")
            entries = await stream_entries(redis.url, p)
            assert len(fences_in_order(entries)) == 2  # a, then b: a never published again
            diag = await a.diag()
            dropped = diag["hub"]["backend"]["dropped"]
            assert dropped["deposed"] + dropped["fenced"] + dropped["stale"] > 0
            for c in (on_a, on_b):
                assert len(c.connects) == 1
                assert check_exact(ticks(c.frames), entries, "tick:SPY", _start(c)) > 20
        nursery.cancel_scope.cancel()


async def test_workers_share_one_port_and_one_sequence() -> None:
    p = _prefix()
    port = free_port()
    async with redis_server() as redis:
        env = node_env(redis.url, p, PORT=str(port))
        proc = _spawn_workers(env, 2)
        try:
            url = f"http://127.0.0.1:{port}"
            seen: dict[str, dict[str, object]] = {}

            async def both_answer_one_leads() -> bool:
                # A new connection each time: the kernel spreads them over the workers.
                try:
                    async with httpx.AsyncClient(base_url=url, timeout=2) as c:
                        r = await c.get("/health")
                except httpx.HTTPError:
                    return False
                if r.status_code == 200:
                    seen[r.json()["checks"]["node"]] = r.json()
                leaders = [b["checks"]["leader"] for b in seen.values()]  # type: ignore[index]
                return len(seen) == 2 and sorted(leaders) == [False, True]

            # Two workers answer on one port, exactly one of them runs the market.
            await wait_until(both_answer_one_leads, 60, "two workers on one port, one leader")
            epochs = {b["epoch"]["id"] for b in seen.values()}  # type: ignore[index]
            assert len(epochs) == 1  # one stream
            proc.send_signal(signal.SIGTERM)
            with trio.fail_after(15):
                code = await trio.to_thread.run_sync(proc.wait)
            assert code == 0
            with pytest.raises(httpx.ConnectError):
                async with httpx.AsyncClient(base_url=url, timeout=2) as c:
                    await c.get("/health")  # every worker stopped with the parent
        finally:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)  # the parent and its workers
                proc.wait()


def _spawn_workers(env: dict[str, str], n: int) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "spotlight", "serve", "--workers", str(n)],
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,  # its own process group: a failed test kills every worker
    )


def test_workers_need_redis_and_say_so() -> None:
    env = {k: v for k, v in os.environ.items() if k != "SPOTLIGHT_REDIS_URL"}
    out = subprocess.run(
        [sys.executable, "-m", "spotlight", "serve", "--workers", "2"],
        env={**env, "SPOTLIGHT_AUTH": "off"},
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert out.returncode == 2 and "SPOTLIGHT_REDIS_URL" in out.stderr
    bad = subprocess.run(
        [sys.executable, "-m", "spotlight", "serve"],
        env={**env, "SPOTLIGHT_REDIS_URL": "http://127.0.0.1:1"},
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert bad.returncode == 2
    assert "SPOTLIGHT_REDIS_URL='http://127.0.0.1:1' must start with redis://" in bad.stderr
