"""The voice coach behind ``/voice/ws`` (docs/voice.md).

messages.py      what a client sends (control JSON), parsed; VoiceError
session.py       one connection's protocol state as synchronous steps (sans-I/O)
conversation.py  the connection end to end: protocol state, agent, replies
agent.py         the Agent and AgentSession protocols, Reply (what an answer may say)
tools.py         price, levels, GEX, regime, setups, flow from a Feed (both agents)
offline.py       the built-in coach: stt.py (pocketsphinx), intents.py, tts.py (espeak-ng)
relay.py         an upstream realtime provider: realtime.py (the OpenAI Realtime protocol)
audio.py         PCM16 24 kHz: resampling, WAV, frames
stats.py         counters for /api/diag and the metrics; coach.py picks the agent
"""
