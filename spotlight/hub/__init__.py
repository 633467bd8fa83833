"""Sequencing, encoding, history and fan-out of events. Imports no I/O beyond the clock."""

from spotlight.hub.epoch import Epoch
from spotlight.hub.event import Event, encode_event, format_event_id
from spotlight.hub.history import History
from spotlight.hub.hub import Hub, Subscriber

__all__ = ["Epoch", "Event", "History", "Hub", "Subscriber", "encode_event", "format_event_id"]
