"""The voice protocol without an event loop: client messages, the session's state machine,
the grammar's intents, the OpenAI Realtime events, audio conversions."""

from __future__ import annotations

import base64
import itertools
import math
import struct
from collections.abc import Sequence

import orjson
import pytest

from spotlight.voice import realtime as rt
from spotlight.voice.audio import BYTES_PER_SECOND, duration_ms, frames, resample
from spotlight.voice.intents import Intent, parse_intent
from spotlight.voice.messages import InputText, SessionStart, VoiceError, parse_client_message
from spotlight.voice.session import Answer, Cancel, Refuse, Start, VoiceSession


def codes(actions: Sequence[object]) -> list[str]:
    return [a.error.error for a in actions if isinstance(a, Refuse)]


def test_client_messages_parse_or_say_what_is_wrong() -> None:
    assert parse_client_message('{"type": "session.start"}') == SessionStart(True)
    assert parse_client_message('{"type": "session.start", "speech": false}') == SessionStart(False)
    assert parse_client_message('{"type": "input.text", "text": "  hi "}') == InputText("hi")
    for raw, error in (
        ("nope", "bad_json"),
        ("[1]", "bad_message"),
        ('{"type": 3}', "bad_message"),
        ('{"type": "session.start", "speech": "yes"}', "bad_message"),
        ('{"type": "input.text", "text": ""}', "bad_message"),
        ('{"type": "input.text", "text": "' + "x" * 501 + '"}', "text_too_long"),
        ('{"type": "teleport"}', "unknown_type"),
    ):
        with pytest.raises(VoiceError) as info:
            parse_client_message(raw)
        assert info.value.error == error, raw


def test_a_session_buffers_a_turn_bounds_it_and_interrupts_an_answer() -> None:
    s = VoiceSession(max_audio_bytes=1000)
    assert codes(s.receive_audio(b"\x00\x00")) == ["not_started"]
    assert s.receive_text('{"type": "session.start"}') == [Start(True)]
    assert codes(s.receive_text('{"type": "session.start"}')) == ["already_started"]
    assert codes(s.receive_text('{"type": "input.commit"}')) == ["empty_input"]
    assert codes(s.receive_audio(b"\x00" * 3)) == ["bad_audio"]
    assert s.receive_audio(b"\x01\x00" * 200) == [] and s.buffered == 400
    (answer,) = s.receive_text('{"type": "input.commit"}')
    assert (
        isinstance(answer, Answer) and answer.turn.id == 1 and len(answer.turn.audio or b"") == 400
    )
    assert s.answering == 1 and s.buffered == 0
    # A new question while the first is answered: the first is cancelled, then the new one.
    actions = s.receive_text('{"type": "input.text", "text": "flip"}')
    assert actions[0] == Cancel(1) and isinstance(actions[1], Answer) and actions[1].turn.id == 2
    assert actions[1].turn.text == "flip" and actions[1].turn.audio is None
    s.finished(1)  # the old one ends: the new one is still the one answered
    assert s.answering == 2
    assert s.receive_text('{"type": "response.cancel"}') == [Cancel(2)]
    s.finished(2)
    assert s.receive_text('{"type": "response.cancel"}') == []  # nothing to cancel: fine
    # Past the maximum: told once, the rest ignored, the commit refused, then a fresh turn.
    assert codes(s.receive_audio(b"\x00" * 1200)) == ["audio_too_long"]
    assert s.receive_audio(b"\x00" * 10) == [] and s.buffered == 0
    assert codes(s.receive_text('{"type": "input.commit"}')) == ["audio_too_long"]
    assert s.receive_audio(b"\x00" * 10) == [] and s.buffered == 10
    assert s.receive_text('{"type": "input.clear"}') == [] and s.buffered == 0


@pytest.mark.parametrize(
    ("text", "intent"),
    [
        ("what is the price of spy", Intent("get_price", {"symbol": "SPY"})),
        ("what is the price of s p", Intent("get_price", {"symbol": "SPX"})),
        ("How is QQQ doing?", Intent("get_price", {"symbol": "QQQ"})),
        ("SPY?", Intent("get_price", {"symbol": "SPY"})),
        ("where is the gamma please", Intent("get_gex", {"underlying": "SPX"})),
        ("spy call wall", Intent("get_gex", {"underlying": "SPY"})),
        ("what is the S&P regime", Intent("get_regime")),
        ("what are the key levels", Intent("get_levels")),
        ("where is vwap", Intent("get_levels")),
        ("any setups", Intent("get_setups")),
        ("options flow summary", Intent("get_flow")),
        ("help", Intent("help")),
        ("tell me a joke", None),
        ("", None),
    ],
)
def test_intents_from_the_grammar_and_typed_questions(text: str, intent: Intent | None) -> None:
    assert parse_intent(text) == intent


def test_realtime_events_in_both_protocol_versions_and_our_events() -> None:
    pcm = b"\x01\x02" * 10
    b64 = base64.b64encode(pcm).decode()
    for kind in ("response.audio.delta", "response.output_audio.delta"):
        assert rt.parse_event(orjson.dumps({"type": kind, "delta": b64})) == rt.AudioDelta(pcm)
    for kind in ("response.audio_transcript.delta", "response.output_text.delta"):
        assert rt.parse_event(orjson.dumps({"type": kind, "delta": "hi"})) == rt.TextDelta("hi")
    call = {"type": "function_call", "call_id": "c1", "name": "get_gex", "arguments": "{}"}
    assert rt.parse_event(orjson.dumps({"type": "response.output_item.done", "item": call})) == (
        rt.FunctionCall("c1", "get_gex", "{}")
    )
    failed = {"status": "failed", "status_details": {"error": {"message": "quota"}}}
    assert rt.parse_event(orjson.dumps({"type": "response.done", "response": failed})) == (
        rt.ResponseDone("failed", "quota")
    )
    err = {"type": "error", "error": {"code": "bad", "message": "no"}}
    assert rt.parse_event(orjson.dumps(err)) == rt.UpstreamError("bad", "no")
    assert rt.parse_event('{"type": "rate_limits.updated"}') is None
    for bad in ("nope", "[]", '{"type": "response.audio.delta", "delta": "!!"}'):
        with pytest.raises(rt.ProtocolViolation):
            rt.parse_event(bad)
    out = orjson.loads(rt.client_function_output("c1", {"ok": True, "price": 1.5}))
    assert out["item"] == {
        "type": "function_call_output",
        "call_id": "c1",
        "output": '{"ok":true,"price":1.5}',
    }
    session = orjson.loads(rt.client_session_update([{"name": "get_price"}]))["session"]
    assert session["turn_detection"] is None and session["input_audio_format"] == "pcm16"
    assert orjson.loads(rt.client_audio_append(pcm))["audio"] == b64


def sine(hz: float, rate: int, seconds: float) -> bytes:
    n = int(rate * seconds)
    return b"".join(
        struct.pack("<h", int(10000 * math.sin(2 * math.pi * hz * i / rate))) for i in range(n)
    )


def crossings(pcm: bytes) -> int:
    s = [v for (v,) in struct.iter_unpack("<h", pcm)]
    return sum(1 for a, b in itertools.pairwise(s) if (a < 0) != (b < 0))


def test_resampling_keeps_the_pitch_and_the_duration() -> None:
    src = sine(300.0, 22_050, 1.0)
    out = resample(src, 22_050, 24_000)
    assert len(out) == 2 * 24_000
    assert abs(crossings(out) - 600) <= 2  # still 300 Hz: 600 zero crossings in a second
    down = resample(out, 24_000, 16_000)
    assert len(down) == 2 * 16_000 and abs(crossings(down) - 600) <= 2
    assert resample(b"", 24_000, 16_000) == b""
    assert duration_ms(BYTES_PER_SECOND) == 1000
    assert [len(f) for f in frames(b"\x00" * 10_000)] == [4800, 4800, 400]
