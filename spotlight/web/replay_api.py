"""The replay API: start, control and inspect replays (docs/replay.md, docs/protocol.md).

- ``POST /api/replay/start`` ``{date (+ start) | from+to, symbols?, speed?}`` -> 201
  ``{"replay": R}``; no body (or no date) replays the newest session that has opened
- ``POST /api/replay/stop|pause|resume`` ``{id}``, ``/speed`` ``{id, speed}`` -> ``{"replay": R}``;
  without an id: the caller's one running replay (409 ``ambiguous_replay`` with several)
- ``GET /api/replay`` -> ``{"replays": [R], "limits": {...}, "dates": [...]}``
- ``GET /api/replay/<id>`` -> ``{"replay": R}`` (also shortly after it ended)

Replays belong to the login session that started them; another session gets 404 for them.
Clients attach with ``replay=<id>`` on /realtime/sse, /ws/prices and /api/history.
"""

from __future__ import annotations

from typing import Any

from quart import Quart, Response, jsonify, request

from spotlight.replay.manager import ReplayError
from spotlight.service import SpotlightService
from spotlight.web.bodies import json_object
from spotlight.web.errors import ApiError

__all__ = ["install_replay_routes"]

MAX_BODY = 4096


def install_replay_routes(app: Quart, service: SpotlightService) -> None:
    replays = service.replays

    def owner() -> str:
        return service.access.owner(request.headers.get("cookie"))

    async def body() -> dict[str, Any]:
        # No body at all: every field has its default.
        data = await json_object(
            MAX_BODY,
            "a replay request",
            '{"date": "2026-11-20"}',
            service.settings.server.request_timeout_s,
        )
        return {} if data is None else data

    @app.post("/api/replay/start")
    async def start() -> tuple[Response, int]:
        data = await body()
        try:
            replay = replays.start(owner(), data)
        except ReplayError as exc:
            raise ApiError(exc.status, exc.code, exc.detail) from None
        return jsonify({"replay": replay.describe()}), 201

    async def control(action: str, data: dict[str, Any] | None = None) -> dict[str, Any]:
        if data is None:
            data = await body()
        try:
            replay = replays.control(owner(), data.get("id"), action, data.get("speed"))
        except ReplayError as exc:
            raise ApiError(exc.status, exc.code, exc.detail) from None
        return {"replay": replay.describe()}

    @app.post("/api/replay/stop")
    async def stop() -> dict[str, Any]:
        return await control("stop")

    @app.post("/api/replay/pause")
    async def pause() -> dict[str, Any]:
        return await control("pause")

    @app.post("/api/replay/resume")
    async def resume() -> dict[str, Any]:
        return await control("resume")

    @app.post("/api/replay/speed")
    async def speed() -> dict[str, Any]:
        data = await body()
        if "speed" not in data:
            raise ApiError(400, "bad_speed", 'send {"speed": 1..1000 or "max"} (and "id")')
        return await control("speed", data)

    @app.get("/api/replay")
    async def listing() -> dict[str, Any]:
        return replays.listing(owner())

    @app.get("/api/replay/<rid>")
    async def one(rid: str) -> dict[str, Any]:
        try:
            return {"replay": replays.get(owner(), rid)}
        except ReplayError as exc:
            raise ApiError(exc.status, exc.code, exc.detail) from None
