"""Recording the live pipeline's inputs to disk for replays (docs/replay.md)."""
