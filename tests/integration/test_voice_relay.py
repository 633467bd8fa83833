"""/voice/ws relaying to an upstream realtime provider (our fake, spotlight/testing/
fake_realtime.py, on 127.0.0.1): the trader's audio goes up, the model's tool calls are
answered by Spotlight with the same call id, the spoken answer comes back; and every kind
of upstream failure reaches the trader as a clear message, is counted, and leaves the
other streams alone."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import replace
from typing import Any

import orjson
import trio
from support import RunningServer, http, running_server, sse, wait_for
from trio_websocket import open_websocket_url
from voice_support import VoiceClient, tone, voice_url
from ws_raw import RawWS

from spotlight.testing.fake_realtime import FakeRealtime
from spotlight.voice.relay import RelayAgent

KEY = "sk-test-not-a-real-key"


@asynccontextmanager
async def relay_server(
    fake: FakeRealtime, **overrides: Any
) -> AsyncIterator[tuple[RunningServer, FakeRealtime]]:
    async with trio.open_nursery() as nursery:
        await nursery.start(fake.serve)
        settings: dict[str, Any] = {"voice_url": fake.url, "voice_key": KEY, **overrides}
        async with running_server(**settings) as srv:
            yield srv, fake
        nursery.cancel_scope.cancel()


async def test_a_question_goes_up_the_tool_call_is_answered_and_the_answer_comes_back() -> None:
    question = tone(800, 300.0)  # the fake cannot hear: any audio, its transcript is scripted
    async with relay_server(FakeRealtime(key=KEY, transcript="what is the price of SPY")) as (
        srv,
        fake,
    ):
        # The question is answered from the market: ask once SPY has traded.
        await wait_for(lambda: "SPY" in srv.service.pipeline.last_trade)
        async with open_websocket_url(voice_url(srv.url)) as ws:
            client = VoiceClient(ws)
            started = await client.start()
            assert started["agent"] == "relay"
            assert started["upstream"] == fake.url.split("?")[0]
            assert "sent to ws://127.0.0.1" in started["notice"]
            assert KEY not in orjson.dumps(started).decode()  # never to the browser
            await client.send_audio(question)
            await client.send({"type": "input.commit"})
            out = await client.answer()
        price = srv.service.pipeline.last_trade["SPY"].price
        async with http(srv.url) as c:
            diag = (await c.get("/api/diag")).text
            metrics = (await c.get("/api/metrics")).text
    # Upstream: our key as a bearer token, the session with our tools, the audio unchanged.
    assert fake.connections[0]["authorization"] == f"Bearer {KEY}"
    assert set(fake.tools) == {
        "get_price",
        "get_levels",
        "get_gex",
        "get_regime",
        "get_setups",
        "get_flow",
    }
    assert bytes(fake.audio_in) == question
    # The model's call was answered with the same call id, with the market's own price,
    # and a new response was asked for.
    (call_id, output) = fake.outputs[0]
    assert call_id.startswith("call_") and output["ok"] and output["symbol"] == "SPY"
    assert abs(output["price"] - price) / price < 0.01
    assert fake.received.count("response.create") == 2
    assert [t["text"] for t in out["transcript"]] == ["what is the price of SPY"]
    assert out["tool"][0]["name"] == "get_price" and out["tool"][0]["result"] == output
    assert out["answer"][0]["text"] == f"SPY is at {output['price']}."
    assert "".join(d["text"] for d in out["answer.delta"]).strip() == out["answer"][0]["text"]
    # Five 100 ms deltas of audio, forwarded as binary frames.
    assert len(client.audio) == 5 * 4800
    assert out["response.done"][0] == {
        "turn": 1,
        "status": "completed",
        "audioBytes": 24000,
        "audioMs": 500,
        "droppedBytes": 0,
    }
    # The key never shows: not in diag, not in metrics.
    assert KEY not in diag and KEY not in metrics
    voice = orjson.loads(diag)["voice"]
    assert voice["agent"] == "relay" and voice["toolCalls"] == {"get_price": 1}
    assert voice["turns"] == {"completed": 1}
    assert 'spotlight_voice_tool_calls_total{outcome="ok",tool="get_price"} 1.0' in metrics


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def ask(srv: RunningServer, text: str = "price of SPY") -> dict[str, list[dict[str, Any]]]:
    async with open_websocket_url(voice_url(srv.url)) as ws:
        client = VoiceClient(ws)
        await client.start(speech=False)
        await client.send({"type": "input.text", "text": text})
        return await client.answer()


async def test_upstream_failures_are_clear_counted_and_leave_the_streams_alone() -> None:
    fake = FakeRealtime(key=KEY)
    async with relay_server(fake, voice_timeout_s=1.0) as (srv, _):
        async with http(srv.url) as c, sse(c, "/realtime/sse?symbols=SPY") as prices:
            await prices.until(lambda f: f.event == "snapshot")
            outcomes: dict[str, dict[str, Any]] = {}
            for fault in ("unauthorized", "reject", "stall", "drop", "error"):
                fake.fault = fault
                out = await ask(srv)
                assert out["response.done"][0]["status"] == "failed", fault
                outcomes[fault] = out["error"][0]
                # The price stream goes on through every voice failure.
                await prices.until(lambda f: f.event in ("tick", "quote", "bar:update"))
            # A provider that is not there at all.
            agent = srv.service.voice.agent
            assert isinstance(agent, RelayAgent)
            agent.config = replace(agent.config, url=f"ws://127.0.0.1:{closed_port()}/v1/realtime")
            refused = (await ask(srv))["error"][0]
            agent.config = replace(agent.config, url=fake.url)
            fake.fault = None
            recovered = await ask(srv)
            diag = (await c.get("/api/diag")).json()["voice"]
            metrics = (await c.get("/api/metrics")).text
    assert outcomes["unauthorized"]["error"] == "upstream_unauthorized"
    assert "SPOTLIGHT_VOICE_KEY" in outcomes["unauthorized"]["detail"]
    assert outcomes["reject"]["kind"] == "rejected" and "503" in outcomes["reject"]["detail"]
    assert outcomes["stall"]["error"] == "upstream_timeout"
    assert outcomes["drop"]["error"] == "upstream_dropped" and "1011" in outcomes["drop"]["detail"]
    assert outcomes["error"]["error"] == "upstream_error"
    assert "the fake model failed" in outcomes["error"]["detail"]
    assert refused["error"] == "upstream_unavailable" and refused["kind"] == "refused"
    # After the faults, the next question reconnects and is answered.
    assert recovered["response.done"][0]["status"] == "completed"
    assert recovered["answer"][0]["text"].startswith("SPY is at ")
    assert diag["agentFailures"] == {
        "unauthorized": 1,
        "rejected": 1,
        "timeout": 1,
        "dropped": 1,
        "error": 1,
        "refused": 1,
    }
    assert diag["lastFailure"]["kind"] == "refused"
    for kind in ("unauthorized", "rejected", "timeout", "dropped", "error", "refused"):
        line = f'spotlight_voice_agent_failures_total{{agent="relay",kind="{kind}"}} 1.0'
        assert line in metrics, kind


async def test_a_cancel_mid_answer_stops_it_upstream_too() -> None:
    fake = FakeRealtime(key=KEY, audio_chunks=50, delta_interval_s=0.05)
    async with relay_server(fake) as (srv, _):
        async with open_websocket_url(voice_url(srv.url)) as ws:
            client = VoiceClient(ws)
            await client.start()
            await client.send({"type": "input.text", "text": "price of SPY"})
            await client.until("tool")
            with trio.fail_after(10):
                while len(client.audio) < 4800:
                    await client.next()
            await client.send({"type": "response.cancel"})
            out = await client.answer()
            # The session goes on: the next question is answered in full.
            await client.send({"type": "input.text", "text": "price of SPY"})
            fake.audio_chunks = 2
            again = await client.answer()
    assert out["response.done"][0]["status"] == "cancelled"
    assert "response.cancel" in fake.received
    assert out["response.done"][0]["audioBytes"] < 50 * 4800
    assert again["response.done"][0]["status"] == "completed"


async def test_a_client_that_cannot_keep_up_loses_audio_not_its_session() -> None:
    """The outbound cap end to end: the provider sends ~4.8 MB of audio at once to a client
    with a tiny receive window that is not reading; past 256 KB held for it, audio is dropped
    (control messages never are) and the client is told how much."""
    chunks = 1000  # 100 ms each
    fake = FakeRealtime(key=KEY, audio_chunks=chunks, delta_interval_s=0.0)
    async with relay_server(fake) as (srv, _):
        host, port = srv.url.removeprefix("http://").split(":")
        sock = trio.socket.socket()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        await sock.connect((host, int(port)))
        raw = RawWS(trio.SocketStream(sock))
        await raw.handshake(f"{host}:{port}", "/voice/ws")
        await raw.send_json({"type": "session.start"})
        await raw.send_json({"type": "input.text", "text": "price of SPY"})
        await wait_for(lambda: len(fake.received) and fake.received.count("response.create") == 2)
        await trio.sleep(2.0)  # not reading while the answer streams
        messages: list[dict[str, Any]] = []
        with trio.fail_after(30):
            while not messages or messages[-1]["type"] != "response.done":
                messages.append(await raw.next())
        await raw.stream.aclose()
    dropped = [m["payload"] for m in messages if m["type"] == "audio.dropped"]
    done = messages[-1]["payload"]
    assert done["status"] == "completed"
    assert done["droppedBytes"] > 0 and dropped
    assert sum(d["bytes"] for d in dropped) == done["droppedBytes"] == dropped[-1]["totalBytes"]
    assert done["audioBytes"] + done["droppedBytes"] == chunks * 4800
    assert raw.binary_bytes == done["audioBytes"]
    # Every control message arrived: the answer, its tool call, the end.
    assert {"tool", "answer", "response.done"} <= {m["type"] for m in messages}
