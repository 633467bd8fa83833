"""/voice/ws with the built-in offline coach on the real server: a question spoken by
espeak-ng is heard by pocketsphinx, answered from the live (or replayed) market, and
spoken back; typed questions; text-only sessions."""

from __future__ import annotations

import datetime as dt
import time
from typing import Any

import pytest
from support import InlineExecutor, http, running_server, wait_for
from trio_websocket import open_websocket_url
from voice_support import ESPEAK, ESPEAK_HINT, VoiceClient, rms, spoken, voice_url

from spotlight.voice.audio import BYTES_PER_SECOND
from spotlight.voice.offline import OfflineCoach

FAST_ANALYTICS: dict[str, Any] = {"gex_s": 1.0, "levels_s": 1.0, "executor_factory": InlineExecutor}


@pytest.fixture(autouse=True)
def _needs_espeak() -> None:
    if ESPEAK is None:
        pytest.fail(ESPEAK_HINT)


async def test_a_spoken_question_is_heard_answered_from_the_live_market_and_spoken() -> None:
    question = spoken("what is the price of spy")
    async with running_server(**FAST_ANALYTICS) as srv:
        async with open_websocket_url(voice_url(srv.url)) as ws:
            client = VoiceClient(ws)
            started = await client.start()
            assert started["agent"] == "offline" and started["speech"] is True
            assert started["notice"] is None
            assert started["audio"] == {"format": "pcm16", "sampleRate": 24000, "channels": 1}
            assert started["feed"] == "live"
            await client.send_audio(question)
            await client.send({"type": "input.commit"})
            out = await client.answer()
        live = srv.service.pipeline.last_trade["SPY"].price
    assert out["response.start"] == [{"turn": 1, "agent": "offline", "input": "audio"}]
    assert [t["text"] for t in out["transcript"]] == ["what is the price of spy"]
    (tool,) = out["tool"]
    assert tool["name"] == "get_price" and tool["ok"] and tool["result"]["symbol"] == "SPY"
    # The answer is the market's own price: the one the pipeline had when it was asked.
    assert abs(tool["result"]["price"] - live) / live < 0.01
    (answer,) = out["answer"]
    assert answer["text"].startswith("SPY is at ")
    assert f"{tool['result']['price']:.2f}".removesuffix(".00") in answer["text"]
    (done,) = out["response.done"]
    assert done["status"] == "completed" and done["droppedBytes"] == 0
    # Spoken: more than a second of audible 24 kHz PCM16, every byte of it delivered.
    assert done["audioBytes"] == len(client.audio) > BYTES_PER_SECOND
    assert done["audioMs"] == len(client.audio) * 1000 // BYTES_PER_SECOND
    assert rms(bytes(client.audio)) > 300
    assert client.frames > 10  # streamed in frames, not one blob


async def test_typed_questions_text_only_sessions_and_the_tools() -> None:
    async with running_server(**FAST_ANALYTICS) as srv:
        await wait_for(lambda: "gex:SPX" in srv.service.live.latest(), timeout=20)
        await wait_for(lambda: "levels:update" in srv.service.live.latest(), timeout=20)
        async with open_websocket_url(voice_url(srv.url)) as ws:
            client = VoiceClient(ws)
            started = await client.start(speech=False)
            assert started["speech"] is False
            answers = {}
            for q in (
                "where is the gamma flip",
                "what is the regime",
                "key levels",
                "any setups",
                "options flow",
                "how is QQQ doing",
            ):
                await client.send({"type": "input.text", "text": q})
                answers[q] = await client.answer()
            await client.send({"type": "input.text", "text": "tell me a joke"})
            unknown = await client.answer()
        latest = srv.service.live.latest()
    assert client.audio == b""  # text only: no audio frames at all
    gex = answers["where is the gamma flip"]["tool"][0]
    assert gex["name"] == "get_gex" and gex["ok"]
    chosen = latest["gex:SPX"]["gammaLevels"]  # the one set of levels every consumer uses
    assert gex["result"]["callWall"] == chosen["callWall"] and gex["result"]["callWall"]
    assert gex["result"]["bucket"] == chosen["bucket"]
    assert "call wall" in answers["where is the gamma flip"]["answer"][0]["text"]
    assert answers["what is the regime"]["tool"][0]["result"]["label"] is not None
    assert answers["key levels"]["tool"][0]["name"] == "get_levels"
    assert answers["any setups"]["tool"][0]["name"] == "get_setups"
    assert answers["options flow"]["tool"][0]["name"] == "get_flow"
    qqq = answers["how is QQQ doing"]["tool"][0]
    assert qqq["name"] == "get_price" and qqq["result"]["symbol"] == "QQQ"
    for out in answers.values():
        assert out["response.done"][0]["status"] == "completed"
        assert out["response.done"][0]["audioBytes"] == 0
    assert "tool" not in unknown and "Ask me for" in unknown["answer"][0]["text"]


async def test_the_coach_answers_from_the_replay_the_client_watches() -> None:
    async with running_server(**FAST_ANALYTICS) as srv, http(srv.url) as c:
        now = int(time.time() * 1000)
        end = now - now % 60_000
        r = await c.post(
            "/api/replay/start",
            json={"from": iso(end - 30 * 60_000), "to": iso(end), "speed": 1},
        )
        assert r.status_code == 201, r.text
        rid = r.json()["replay"]["id"]
        feed = srv.service.feed(rid)
        await wait_for(lambda: "SPY" in feed.pipeline.last_trade, timeout=20)
        async with open_websocket_url(voice_url(srv.url, f"replay={rid}")) as ws:
            client = VoiceClient(ws)
            assert (await client.start(speech=False))["feed"] == rid
            await client.send({"type": "input.text", "text": "price of spy"})
            out = await client.answer()
        tool = out["tool"][0]["result"]
        assert tool["source"] == f"replay {rid}"
        # The replay's price (it plays an earlier minute), not necessarily the live one.
        assert tool["price"] == pytest.approx(feed.pipeline.last_trade["SPY"].price, rel=0.01)
        async with open_websocket_url(voice_url(srv.url, "replay=feedbeef")) as ws:
            msg = await VoiceClient(ws).next()
            assert msg["type"] == "error" and msg["payload"]["error"] == "replay_not_found"


def iso(ms: int) -> str:
    return dt.datetime.fromtimestamp(ms / 1000, dt.UTC).isoformat().replace("+00:00", "Z")


async def test_without_espeak_ng_the_coach_answers_in_text_and_says_so() -> None:
    async with running_server(**FAST_ANALYTICS) as srv:
        agent = srv.service.voice.agent
        assert isinstance(agent, OfflineCoach)
        agent.speaker.program = None  # as on a server without the Debian package
        async with open_websocket_url(voice_url(srv.url)) as ws:
            client = VoiceClient(ws)
            started = await client.start()  # speech asked for, not available
            assert started["speech"] is False
            assert "espeak-ng is not installed" in started["notice"]
            await client.send_audio(spoken("what is the price of spy"))
            await client.send({"type": "input.commit"})
            out = await client.answer()
        async with http(srv.url) as c:
            diag = (await c.get("/api/diag")).json()["voice"]
    assert out["answer"][0]["text"].startswith("SPY is at ")
    assert out["response.done"][0]["status"] == "completed"
    assert client.audio == b""
    assert diag["speech"] is False and "espeak-ng" in diag["notice"]
