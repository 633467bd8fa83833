"""The coach's tools on a real pipeline and analytics payloads (never made-up data), and a
conversation driven with a scripted agent: answers, cancels, failures and dropped audio."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import orjson
import trio

from spotlight.domain.ticks import Trade
from spotlight.engine.feed import Feed
from spotlight.engine.pipeline import Pipeline
from spotlight.hub import Epoch, History, Hub
from spotlight.metrics import Metrics
from spotlight.voice.agent import AgentFailure, Reply
from spotlight.voice.conversation import Conversation
from spotlight.voice.session import Turn
from spotlight.voice.stats import VoiceStats
from spotlight.voice.tools import run_tool, speak, tool_specs

T0 = 1_766_154_600_000  # 2025-12-19 09:30 ET


def feed(latest: dict[str, Any] | None = None, name: str = "live") -> Feed:
    hub = Hub(Epoch("ee", 0), History(1000, 1e9), lambda: 0.0)
    pipeline = Pipeline(name, hub, ("SPY", "QQQ", "I:SPX"), 2000, Metrics())
    return Feed(name, hub, pipeline, lambda: latest or {})


GEX = {
    "spot": 6004.0,
    "asOf": "2025-12-19T10:00:00-05:00",
    "buckets": {
        "0dte": {
            "contracts": 10,
            "levels": {"callWall": 6050.0, "putWall": 5950.0, "absGammaStrike": 6000.0},
            "flip": {"level": 5987.5, "side": None},
            "totalGexBn": 3.1,
        },
        "all": {"contracts": 99, "levels": {"callWall": 6100.0}, "flip": {"level": None}},
    },
}


def test_tools_answer_from_the_feed_or_say_not_ready() -> None:
    f = feed()
    assert run_tool(f, "get_price", {"symbol": "SPY"})["error"] == "not_ready"
    assert "Ask me again" in speak("get_price", run_tool(f, "get_price", {}))
    f.pipeline.ingest([Trade("SPY", T0, 600.25, 100), Trade("SPY", T0 + 1000, 601.0, 50)])
    price = run_tool(f, "get_price", {"symbol": "spy"})
    assert price["ok"] and price["price"] == 601.0 and price["symbol"] == "SPY"
    assert price["change"] == 0.75 and price["source"] == "live"
    assert speak("get_price", price) == "SPY is at 601, up 0.75 points on the day."
    assert run_tool(f, "get_price", {"symbol": "TSLA"})["error"] == "bad_arguments"
    assert run_tool(f, "launch", {})["error"] == "unknown_tool"
    for name in ("get_gex", "get_levels", "get_regime", "get_setups", "get_flow"):
        assert run_tool(f, name, {})["error"] == "not_ready", name

    # A snapshot's warming marker (engine/channel_states.py) is no value either.
    marker = {"state": "warming", "channel": "gex:SPX", "reason": "no value yet", "sinceMs": 0}
    assert run_tool(feed({"gex:SPX": marker}), "get_gex", {})["error"] == "not_ready"

    g = feed({"gex:SPX": GEX, "regime:update": {"label": "RANGE", "description": "mean-revert"}})
    gex = run_tool(g, "get_gex", {})
    assert (gex["callWall"], gex["putWall"], gex["flip"], gex["bucket"]) == (
        6050.0,
        5950.0,
        5987.5,
        "0dte",
    )
    assert speak("get_gex", gex) == (
        "SPX call wall 6050, put wall 5950. The gamma flip is at 5987.50."
    )
    assert speak("get_regime", run_tool(g, "get_regime", {})) == "The regime is range: mean-revert."
    assert run_tool(g, "get_gex", {"underlying": "SPY"})["error"] == "not_ready"
    specs = {s["name"]: s for s in tool_specs(f)}
    assert specs["get_price"]["parameters"]["properties"]["symbol"]["enum"] == ["SPY", "QQQ", "SPX"]
    assert run_tool(feed(name="abc123"), "get_regime", {})["source"] == "replay abc123"


class Out:
    """The connection's way out, with an outbound budget like the stream's."""

    def __init__(self, budget: int = 1 << 20) -> None:
        self.budget = budget
        self.messages: list[tuple[str, dict[str, Any]]] = []
        self.audio_bytes = 0

    def control(self, type: str, payload: dict[str, Any]) -> None:
        self.messages.append((type, payload))

    def audio(self, pcm: bytes) -> bool:
        if self.audio_bytes + len(pcm) > self.budget:
            return False
        self.audio_bytes += len(pcm)
        return True

    def types(self) -> list[str]:
        return [t for t, _ in self.messages]

    def last(self, type: str) -> dict[str, Any]:
        return [p for t, p in self.messages if t == type][-1]


class ScriptedAgent:
    """An agent whose answers are functions of the turn: tests say what it does."""

    name = "scripted"

    def __init__(self) -> None:
        self.started = trio.Event()
        self.release = trio.Event()

    def describe(self) -> dict[str, Any]:
        return {"agent": self.name, "speech": True, "notice": None}

    @asynccontextmanager
    async def session(self, feed: Feed) -> AsyncIterator[ScriptedAgent]:
        yield self

    async def respond(self, turn: Turn, reply: Reply) -> None:
        text = turn.text or ""
        if text == "fail":
            raise AgentFailure("timeout", "upstream_timeout", "nothing for 15 s")
        if text == "bug":
            raise KeyError("a bug")
        reply.transcript(text)
        if text == "slow":
            self.started.set()
            for _ in range(100):
                if reply.cancelled:
                    return
                reply.audio(b"\x00" * 4800)
                await trio.sleep(0.01)
        if text == "flood":
            for _ in range(10):
                reply.audio(b"\x00" * 4800)
        reply.answer(f"answered {text}")


def conversation(out: Out, metrics: Metrics) -> Conversation:
    stats = VoiceStats(metrics, lambda: {"agent": "scripted"}, lambda: 123)
    return Conversation(
        ScriptedAgent(), feed(), out, stats, max_audio_s=1.0, limits={"maxFrameBytes": 100}
    )


async def answered(out: Out, n: int) -> None:
    """Wait for the n-th response.done (the conversation's worker runs beside the test)."""
    with trio.fail_after(5):
        while out.types().count("response.done") < n:  # noqa: ASYNC110
            await trio.sleep(0.01)


async def ask(c: Conversation, text: str) -> None:
    await c.receive(orjson.dumps({"type": "input.text", "text": text}).decode())


async def test_a_conversation_answers_cancels_fails_and_drops_audio_in_order() -> None:
    out, metrics = Out(budget=3 * 4800), Metrics()
    c = conversation(out, metrics)
    async with trio.open_nursery() as nursery:
        nursery.start_soon(c.run)
        await c.receive('{"type": "session.start"}')
        assert out.last("session.started")["limits"] == {"maxAudioS": 1.0, "maxFrameBytes": 100}
        for n, text in enumerate(("hello", "fail", "bug"), 1):
            await ask(c, text)
            await answered(out, n)
        agent = c.agent
        assert isinstance(agent, ScriptedAgent)
        await ask(c, "slow")
        await agent.started.wait()
        await c.receive('{"type": "response.cancel"}')
        await answered(out, 4)
        out.audio_bytes = 0
        await ask(c, "flood")
        await answered(out, 5)
        nursery.cancel_scope.cancel()
    done = [p for t, p in out.messages if t == "response.done"]
    assert [d["status"] for d in done] == [
        "completed",
        "failed",
        "failed",
        "cancelled",
        "completed",
    ]
    errors = [p for t, p in out.messages if t == "error"]
    assert errors[0] == {
        "turn": 2,
        "error": "upstream_timeout",
        "detail": "nothing for 15 s",
        "kind": "timeout",
    }
    assert errors[1]["error"] == "agent_failed" and errors[1]["turn"] == 3
    assert done[3]["audioBytes"] < 100 * 4800  # stopped soon after the cancel
    # The flood: 3 frames fit the budget, 7 were dropped, told once where the answer ended.
    assert done[4]["audioBytes"] == 3 * 4800 and done[4]["droppedBytes"] == 7 * 4800
    dropped = out.last("audio.dropped")
    assert dropped["bytes"] == dropped["totalBytes"] == 7 * 4800 and dropped["ms"] == 700
    assert out.types().index("audio.dropped") < len(out.types()) - 1  # before response.done
    assert out.types()[-1] == "response.done"
    stats = c.stats.diag()
    assert stats["turns"] == {"completed": 2, "failed": 2, "cancelled": 1}
    assert stats["agentFailures"] == {"timeout": 1, "internal": 1}
    assert stats["lastFailure"]["kind"] == "internal" and stats["lastFailure"]["atMs"] == 123
    assert stats["audio"]["droppedBytes"] == 7 * 4800
    assert stats["sessions"] == {"open": 0, "total": 1}


async def test_a_question_waiting_behind_an_answer_is_superseded_by_a_newer_one() -> None:
    out = Out()
    c = conversation(out, Metrics())
    agent = c.agent
    assert isinstance(agent, ScriptedAgent)
    async with trio.open_nursery() as nursery:
        nursery.start_soon(c.run)
        await c.receive('{"type": "session.start"}')
        await ask(c, "slow")
        await agent.started.wait()
        await ask(c, "second")  # interrupts "slow"
        await ask(c, "third")  # "second" never started: cancelled at once
        await answered(out, 3)
        nursery.cancel_scope.cancel()
    done = {p["turn"]: p["status"] for t, p in out.messages if t == "response.done"}
    assert done == {1: "cancelled", 2: "cancelled", 3: "completed"}
    assert out.last("answer")["text"] == "answered third"
