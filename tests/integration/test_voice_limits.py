"""/voice/ws limits and errors on the real server: each gets an error message and the
connection stays up (the next question is answered); each is counted in the metrics and
/api/diag; the keep-alive (ping every SPOTLIGHT_VOICE_PING_S, closed after
SPOTLIGHT_VOICE_IDLE_S of silence) and the access gate (as /ws/prices)."""

from __future__ import annotations

from typing import Any

import trio
from support import http, running_server
from trio_websocket import ConnectionClosed, open_websocket_url
from voice_support import VoiceClient, tone, voice_url
from ws_raw import RawWS


async def still_answers(client: VoiceClient) -> None:
    await client.send({"type": "input.text", "text": "price of SPY"})
    out = await client.answer()
    assert out["response.done"][0]["status"] == "completed"


async def test_bad_messages_get_an_error_and_the_session_goes_on() -> None:
    async with running_server(voice_max_audio_s=1.0) as srv:
        async with open_websocket_url(voice_url(srv.url)) as ws:
            client = VoiceClient(ws)
            errors: list[dict[str, Any]] = []

            async def refused(send: Any) -> None:
                await send
                msg = await client.until("error")
                errors.append(msg["payload"])

            await refused(client.send({"type": "input.commit"}))  # before session.start
            await refused(ws.send_message(b"\x00\x00"))  # audio before session.start
            await client.start(speech=False)
            await refused(ws.send_message("{not json"))
            await refused(ws.send_message("[1, 2]"))
            await refused(client.send({"type": "say.hello"}))
            await refused(client.send({"type": "session.start"}))
            await refused(client.send({"type": "input.commit"}))  # nothing to answer
            await refused(ws.send_message(b"\x00\x00\x00"))  # not PCM16
            await refused(client.send({"type": "input.text", "text": "x" * 501}))
            # Audio past the maximum (1 s here): told once, the turn discarded...
            await refused(client.send_audio(tone(1500)))
            await client.send_audio(tone(300))  # ...and the rest of it ignored
            await refused(client.send({"type": "input.commit"}))
            # A frame past 64 KiB is skipped as it arrives, not a reason to close.
            await refused(ws.send_message(b"\x00" * 70_000))
            await still_answers(client)
            # A flood: past 100 messages a second the rest are dropped, told once.
            for _ in range(150):
                await ws.send_message(b"\x00\x00")
            errors.append((await client.until("error"))["payload"])
            await trio.sleep(1.1)  # the next one-second window
            await client.send({"type": "input.clear"})
            await still_answers(client)
        async with http(srv.url) as c:
            diag = (await c.get("/api/diag")).json()["voice"]
            metrics = (await c.get("/api/metrics")).text
    codes = [e["error"] for e in errors]
    assert codes == [
        "not_started",
        "not_started",
        "bad_json",
        "bad_message",
        "unknown_type",
        "already_started",
        "empty_input",
        "bad_audio",
        "text_too_long",
        "audio_too_long",
        "audio_too_long",
        "frame_too_large",
        "rate_limited",
    ]
    assert "session.start" in errors[0]["detail"]
    assert "input.commit" in errors[4]["detail"]  # the known types are listed
    assert "at most 1 s" in errors[9]["detail"]
    assert "70000 bytes" in errors[11]["detail"]
    assert diag["clientErrors"]["audio_too_long"] == 2
    assert diag["clientErrors"]["rate_limited"] == 1
    assert diag["turns"] == {"completed": 2}
    assert 'spotlight_voice_client_errors_total{error="frame_too_large"} 1.0' in metrics
    assert 'spotlight_voice_client_errors_total{error="bad_json"} 1.0' in metrics


async def test_pings_every_interval_and_a_silent_peer_is_closed() -> None:
    async with running_server(voice_ping_s=0.2, voice_idle_s=0.6) as srv:
        # RawWS never answers pings: after 0.6 s of silence it is closed with 4010 (idle).
        raw = await RawWS.connect(srv.url, "/voice/ws")
        with trio.fail_after(5):
            close = await raw.until_closed()
        assert close.code == 4010 and raw.pings >= 2
        # trio-websocket answers every ping: the session stays well past the idle time.
        async with open_websocket_url(voice_url(srv.url)) as ws:
            client = VoiceClient(ws)
            await client.start(speech=False)
            await trio.sleep(2.0)
            await still_answers(client)


async def test_the_access_gate_is_the_one_of_the_other_streams() -> None:
    async with running_server(auth="pin", pin="24681357") as srv:
        url = voice_url(srv.url)
        assert await close_code(url) == 4401  # no session, no token
        assert await close_code(f"{url}?token=garbage") == 4401
        assert await close_code(url, [(b"Origin", b"http://evil.example")]) == 4403
        async with http(srv.url) as c:
            r = await c.post("/api/auth/pin", json={"pin": "24681357"})
            assert r.status_code == 200
            token = (await c.get("/api/auth/token")).json()["token"]
        async with open_websocket_url(f"{url}?token={token}") as ws:
            assert (await VoiceClient(ws).start())["agent"] == "offline"


async def close_code(url: str, headers: list[tuple[bytes, bytes]] | None = None) -> int:
    with trio.fail_after(10):
        async with open_websocket_url(url, extra_headers=headers or []) as ws:
            try:
                await ws.get_message()
            except ConnectionClosed as closed:
                assert closed.reason is not None
                return int(closed.reason.code)
    raise AssertionError("the server should have closed the socket")


class BrokenAgent:
    """An agent whose session cannot even start (a bug)."""

    name = "broken"

    def describe(self) -> dict[str, Any]:
        return {"agent": self.name, "speech": False, "notice": None}

    def session(self, feed: Any) -> Any:
        raise RuntimeError("a bug in the agent")


async def test_an_agent_that_cannot_start_is_told_and_the_client_asked_to_reconnect() -> None:
    async with running_server() as srv:
        srv.service.voice.agent = BrokenAgent()
        async with open_websocket_url(voice_url(srv.url)) as ws:
            client = VoiceClient(ws)
            error = await client.until("error")
            assert error["payload"]["error"] == "agent_failed"
            with trio.fail_after(10):
                try:
                    while True:
                        await client.next()
                except ConnectionClosed as closed:
                    assert closed.reason is not None and closed.reason.code == 4011
        async with http(srv.url) as c:
            diag = (await c.get("/api/diag")).json()["voice"]
            # The market streams are untouched: /ws/prices still answers.
            async with open_websocket_url(srv.url.replace("http", "ws") + "/ws/prices") as p:
                await p.send_message('{"type": "subscribe", "symbols": ["SPY"]}')
                assert '"snapshot"' in str(await p.get_message())
    assert diag["agentFailures"] == {"internal": 1}
    assert diag["sessions"]["open"] == 0
