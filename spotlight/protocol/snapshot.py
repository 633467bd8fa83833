"""A large snapshot in pieces (pure): what a client on a slow link can take message by message.

A fresh subscriber to every channel gets a snapshot of ~190 KB, most of it two or three
analytics payloads (the GEX profiles). As one message, a client on a 4-15 KB/s link could not
take it before its queue's age bound cut it off mid-message, and every retry began the same
snapshot again. So a snapshot whose channel payloads are large is sent as several ``snapshot``
messages, each complete on its own:

- part 1: everything but the large channels (symbols, status, timeframe, the small channels),
  with ``"part": 1, "parts": N``;
- parts 2..N: one large channel each, ``{"part": k, "parts": N, "channels": {name: payload}}``,
  smallest first, so what a trader needs first arrives first.

Every part carries the snapshot's position, as one snapshot does. A client cut off between
parts resumes from that position: it gets the events since (no snapshot again), and a
channel whose part it missed arrives with that channel's next publish (each is republished
on its cadence: docs/analytics.md). A snapshot without large channels stays one message with
no ``part`` fields, exactly as before.
"""

from __future__ import annotations

from typing import Any

import orjson

__all__ = ["PIECE_BYTES", "snapshot_pieces"]

# A channel payload larger than this goes in a part of its own.
PIECE_BYTES = 16 * 1024


def snapshot_pieces(snapshot: object) -> list[object]:
    """``snapshot`` as one or more ``snapshot`` payloads (channel payloads encoded once)."""
    if not isinstance(snapshot, dict) or not isinstance(snapshot.get("channels"), dict):
        return [snapshot]
    channels: dict[str, Any] = snapshot["channels"]
    encoded = {name: orjson.dumps(payload) for name, payload in channels.items()}
    large = sorted(
        (n for n, e in encoded.items() if len(e) > PIECE_BYTES), key=lambda n: len(encoded[n])
    )
    if not large:
        return [snapshot]
    parts = 1 + len(large)
    first = {
        **snapshot,
        "channels": {n: orjson.Fragment(e) for n, e in encoded.items() if n not in large},
        "part": 1,
        "parts": parts,
    }
    rest: list[object] = [
        {"part": i + 2, "parts": parts, "channels": {name: orjson.Fragment(encoded[name])}}
        for i, name in enumerate(large)
    ]
    return [first, *rest]
