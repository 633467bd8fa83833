"""Graceful shutdown tells streaming clients to reconnect; the CLI starts and stops cleanly."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
import pytest
import trio
from support import FAST, http, running_server, sse, wait_for

from spotlight.runtime.backoff import Backoff
from spotlight.runtime.supervisor import Escalation, RestartPolicy
from spotlight.server import serve
from spotlight.service import SpotlightService


async def test_shutdown_tells_clients_to_reconnect_then_stops_within_bound() -> None:
    service = SpotlightService(FAST)
    stop = trio.Event()
    # Bounded: telling clients, the grace period and stopping the service all fit in this.
    with trio.fail_after(30):
        await _serve_then_stop(service, stop)
    assert service.shutting_down and not service.ready


async def _serve_then_stop(service: SpotlightService, stop: trio.Event) -> None:
    async with trio.open_nursery() as nursery:
        url = await nursery.start(
            lambda task_status: serve(service, shutdown_trigger=stop.wait, task_status=task_status)
        )
        async with http(url) as c, sse(c, "/realtime/sse?symbols=SPY") as s:
            await s.until(lambda f: f.event == "tick")
            with trio.fail_after(FAST.server.shutdown_grace_s + 3):
                stop.set()
                rest = await s.rest()  # the server ends the response
        assert rest[-1].event == "shutdown"
        body = rest[-1].json()
        assert body["reason"] == "shutdown" and body["reconnect"] is True
        assert rest[-1].epoch == service.epoch.id


async def test_new_streams_are_refused_during_shutdown() -> None:
    async with running_server() as srv, http(srv.url) as c:
        srv.service.begin_shutdown()
        r = await c.get("/realtime/sse?symbols=SPY")
        assert r.status_code == 503 and r.json()["error"] == "shutting_down"
        h = await c.get("/health")
        assert h.status_code == 503 and h.json()["ready"] is False and h.json()["live"] is True


def _spawn(env_extra: dict[str, str]) -> subprocess.Popen[str]:
    env = {
        **os.environ,
        "PORT": "0",
        "SPOTLIGHT_SIM_HISTORY_DAYS": "1",
        "SPOTLIGHT_AUTH": "off",
        **env_extra,
    }
    env.pop("MASSIVE_API_KEY", None)
    return subprocess.Popen(
        [sys.executable, "-m", "spotlight", "serve"],
        env=env,
        stderr=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        text=True,
    )


async def _read_url(proc: subprocess.Popen[str]) -> str:
    assert proc.stderr is not None
    with trio.fail_after(30):
        while True:
            line = await trio.to_thread.run_sync(proc.stderr.readline)
            assert line, "server exited before it was ready"
            if "Spotlight on http://" in line:
                return line.split("Spotlight on ", 1)[1].split()[0]


async def test_sigterm_stops_the_real_process_gracefully() -> None:
    proc = _spawn({})
    try:
        url = await _read_url(proc)
        async with httpx.AsyncClient(base_url=url, timeout=10) as c:
            assert (await c.get("/health")).status_code == 200
            async with sse(c, "/realtime/sse?symbols=SPY") as s:
                await s.until(lambda f: f.event == "snapshot")
                proc.send_signal(signal.SIGTERM)
                with trio.fail_after(10):
                    rest = await s.rest()
        assert rest[-1].event == "shutdown"
        with trio.fail_after(10):
            code = await trio.to_thread.run_sync(proc.wait)
        assert code == 0
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait()
        assert proc.stderr is not None
        proc.stderr.close()


def test_cli_help_and_bad_config() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "spotlight", "--help"], capture_output=True, text=True, check=True
    )
    assert "serve" in out.stdout
    out = subprocess.run(
        [sys.executable, "-m", "spotlight", "serve", "--help"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert "127.0.0.1:5000" in out.stdout and "MASSIVE_API_KEY" in out.stdout
    bad = subprocess.run(
        [sys.executable, "-m", "spotlight", "serve"],
        capture_output=True,
        text=True,
        env={**os.environ, "SPOTLIGHT_HEARTBEAT_S": "soon", "SPOTLIGHT_AUTH": "off"},
    )
    assert bad.returncode == 2
    assert "SPOTLIGHT_HEARTBEAT_S='soon'" in bad.stderr


async def test_ready_only_after_start(nursery: trio.Nursery) -> None:
    service = SpotlightService(FAST)
    assert not service.ready
    await nursery.start(service.run)
    assert service.ready and service.hub.last_seq >= 0
    await wait_for(lambda: service.hub.last_seq > 0)
    nursery.cancel_scope.cancel()


class _BrokenSource:
    kind = "simulated"

    async def backfill(self) -> dict[str, list[object]]:
        return {}

    def diag(self) -> dict[str, object]:
        return {}

    async def option_chains(self) -> dict[str, object]:
        return {}

    async def run(self, node: object, *, sink: object, task_status: object = None) -> None:
        raise RuntimeError("feed exploded")


async def test_a_market_that_keeps_failing_stops_the_server() -> None:
    """Escalation reaches the root: serve() raises instead of serving without data."""
    service = SpotlightService(
        FAST, restart_policy=RestartPolicy(max_restarts=0, window_s=60, backoff=Backoff(0.01))
    )

    @asynccontextmanager
    async def broken() -> AsyncIterator[_BrokenSource]:
        yield _BrokenSource()

    service.open_source = broken  # type: ignore[method-assign,assignment]
    with pytest.raises(BaseExceptionGroup) as info, trio.fail_after(10):
        await serve(service)
    assert info.group_contains(Escalation, match="feed exploded")


def test_cli_reports_a_busy_port() -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        port = busy.getsockname()[1]
        out = subprocess.run(
            [sys.executable, "-m", "spotlight", "serve", "--port", str(port)],
            capture_output=True,
            text=True,
            timeout=60,
            env={**os.environ, "SPOTLIGHT_SIM_HISTORY_DAYS": "0", "SPOTLIGHT_AUTH": "off"},
        )
    assert out.returncode == 1
    assert f"cannot listen on 127.0.0.1:{port}" in out.stderr
