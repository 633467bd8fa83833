"""Errors a client causes with what it asks for, whichever transport carried the request.

``InvalidRequest`` is raised by the request rules (``protocol/params.py``) with a stable code
and a detail that says what was wrong and how to fix it. Each transport maps it at one
boundary: HTTP answers ``400 {"error", "detail"}`` (web/errors.py), a WebSocket command gets
an ``error`` message (``protocol/ws_commands.CommandError``) and the connection stays open.
"""

from __future__ import annotations

__all__ = ["InvalidRequest"]


class InvalidRequest(ValueError):
    """A parameter the client got wrong: ``error`` is the code, ``detail`` the explanation."""

    def __init__(self, error: str, detail: str) -> None:
        super().__init__(f"{error}: {detail}")
        self.error = error
        self.detail = detail
