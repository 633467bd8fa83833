"""Descriptors cannot run out (issue 21): with the process limited to 1,024 open files, 1,100
idle clients cannot stop /health answering, whether they sent ``GET /health`` with
``Connection: close`` and then sat there, or sent nothing at all.

Before: connections served by hypercorn were never closed (a quart-trio cancellation cut
hypercorn's closing step short), 1,004 of them stopped the server accepting, and Trio logged
an EMFILE traceback every 100 ms. Now the server closes what it answered, caps connections
below the descriptor limit, and closes the oldest idle connection to make room.
"""

from __future__ import annotations

import json
import socket
from pathlib import Path

import pytest
from server_process import spotlight_server

pytestmark = pytest.mark.real_time

CLIENTS = 1100


def _health(host: str, port: int) -> int:
    with socket.create_connection((host, port), timeout=60) as s:
        s.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        data = b""
        while chunk := s.recv(65536):
            data += chunk
    return int(data.split(b" ", 2)[1])


@pytest.mark.parametrize(
    "request_bytes",
    [b"GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", b""],
    ids=["connection-close", "silent"],
)
def test_1100_idle_clients_cannot_stop_health_answering(
    tmp_path: Path, request_bytes: bytes
) -> None:
    env = {
        "SPOTLIGHT_AUTH": "off",
        "SPOTLIGHT_RECORD": "0",
        "SPOTLIGHT_MAX_CONNECTIONS_PER_ADDRESS": "0",
    }
    with spotlight_server(tmp_path, env=env, fd_limit=1024) as server:
        host, port = server.url.removeprefix("http://").split(":")
        idle = []
        try:
            for _ in range(CLIENTS):
                s = socket.create_connection((host, int(port)), timeout=10)
                if request_bytes:
                    s.sendall(request_bytes)
                idle.append(s)  # never read, never closed until the end
            # It answers (after the 1,100 requests queued before it, when they sent one).
            assert _health(host, int(port)) == 200
        finally:
            for s in idle:
                s.close()
        log = server.tail(400)
        assert "Traceback" not in log, log
        assert log.count("accept failed") <= 1, log
        with socket.create_connection((host, int(port)), timeout=10) as s:
            s.sendall(b"GET /api/diag HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            data = b""
            while chunk := s.recv(65536):
                data += chunk
        diag = json.loads(data.partition(b"\r\n\r\n")[2])
        assert diag["connections"]["maxTotal"] <= 1024 - 64
