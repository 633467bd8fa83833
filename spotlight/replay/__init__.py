"""Replays: past sessions run through their own copy of the live pipeline (docs/replay.md)."""
