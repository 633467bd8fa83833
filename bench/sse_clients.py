"""Many cheap SSE clients in one process: raw non-blocking sockets on one epoll selector.

Run by ``bench/fanout.py`` (one process per ``--client-procs``), never imported by the server.
The cost per client must stay far below the server's, or the benchmark measures the clients:
so there is no JSON parsing and no per-frame Python loop. Each ``recv`` is de-chunked (hypercorn
streams bodies with chunked transfer encoding), cut at its last ``\\n\\n`` frame terminator, and
the complete part is measured with a few ``bytes.count`` calls (C speed). Tick latency is read
with one regex pass: the simulator stamps every tick with its burst's publish time in integer
Unix ms, so ``now_ms - t`` is publish-to-receive latency at 1 ms resolution.

Control protocol, one line each way (stdin commands, stdout JSON):
    started by the parent        -> {"connected": n, "failed": m} once every wave is done
    "mark"                       -> {"counts": {...cumulative...}, "latency": {ms: n}}; the
                                    latency histogram is reset, so it covers mark to mark
    "quit" or EOF on stdin       -> close every socket and exit
"""

from __future__ import annotations

import argparse
import errno
import json
import os
import re
import resource
import selectors
import socket
import sys
import time
from collections import Counter

__all__ = ["main"]

# Event types counted one by one; anything else lands in "other".
_COMMON = (b"tick", b"quote", b"bar:update")
_RARE = (b"bar:close", b"heartbeat", b"snapshot", b"reset", b"slow", b"shutdown")
_TICK_T = re.compile(rb'event: tick\ndata: \{[^\n]*?"t":(\d+)')
_RECV_BYTES = 256 * 1024
_CONNECTING, _HEADERS, _STREAM = 0, 1, 2


class _Conn:
    """One client: raw bytes not yet understood, and where it is in the chunked body."""

    __slots__ = ("chunked", "head", "need", "raw", "sock", "state", "tail", "wave")

    def __init__(self, sock: socket.socket, wave: int) -> None:
        self.sock = sock
        self.wave = wave
        self.state = _CONNECTING
        self.head = b""  # response head bytes until the blank line
        self.chunked = False
        self.raw = b""  # undecoded chunk-framing bytes (a chunk-size line cut by a recv)
        self.need = 0  # chunk payload bytes still to come; -1: a chunk-size line is next
        self.tail = b""  # start of a frame whose terminator has not arrived yet


class Clients:
    """The selector loop, counters and the latency histogram for this process's clients."""

    def __init__(self, host: str, port: int, request: bytes, wave: int) -> None:
        self.addr = (host, port)
        self.request = request
        self.wave_size = wave
        self.sel = selectors.DefaultSelector()
        self.counts: Counter[str] = Counter()
        self.latency: Counter[int] = Counter()  # {latency ms (floor): ticks}
        self.open_in_wave = 0
        self.wave_no = 0

    # -- connecting ---------------------------------------------------------------------
    def open_wave(self, n: int) -> None:
        self.wave_no += 1
        for _ in range(n):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.setblocking(False)
            err = s.connect_ex(self.addr)
            if err not in (0, errno.EINPROGRESS):
                s.close()
                self.counts["connect_failed"] += 1
                continue
            c = _Conn(s, self.wave_no)
            self.sel.register(s, selectors.EVENT_WRITE, c)
            self.open_in_wave += 1

    def _connected(self, c: _Conn) -> None:
        err = c.sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
        if err:
            self._drop(c, "connect_failed")
            return
        c.sock.send(self.request)  # ~100 bytes into an empty buffer: never partial
        c.state = _HEADERS
        self.sel.modify(c.sock, selectors.EVENT_READ, c)

    def _drop(self, c: _Conn, why: str) -> None:
        if c.state != _STREAM and c.wave == self.wave_no:
            self.open_in_wave -= 1
        self.counts[why] += 1
        self.sel.unregister(c.sock)
        c.sock.close()

    # -- reading ------------------------------------------------------------------------
    def _readable(self, c: _Conn) -> None:
        try:
            data = c.sock.recv(_RECV_BYTES)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            self._drop(c, "disconnects")
            return
        if not data:
            self._drop(c, "disconnects")
            return
        self.counts["bytes"] += len(data)
        self.counts["recvs"] += 1
        if c.state == _HEADERS:
            head = c.head + data
            end = head.find(b"\r\n\r\n")
            if end < 0:
                c.head = head
                return
            status = head[: head.find(b"\r\n")]
            if b" 200" not in status:
                self._drop(c, "bad_status")
                return
            c.chunked = b"chunked" in head[:end].lower()
            c.need = -1 if c.chunked else 1 << 62
            c.state = _STREAM
            c.head = b""
            if c.wave == self.wave_no:
                self.open_in_wave -= 1
            self.counts["connected"] += 1
            data = head[end + 4 :]
            if not data:
                return
        self._body(c, self._dechunk(c, data) if c.chunked else data)

    def _dechunk(self, c: _Conn, data: bytes) -> bytes:
        buf = c.raw + data if c.raw else data
        c.raw = b""
        out: list[bytes] = []
        pos, n = 0, len(buf)
        while pos < n:
            if c.need > 0:
                take = min(c.need, n - pos)
                out.append(buf[pos : pos + take])
                pos += take
                c.need -= take
                continue
            # A chunk-size line, preceded by the previous chunk's CRLF (need == 0).
            start = pos + 2 if c.need == 0 else pos
            eol = buf.find(b"\r\n", start)
            if eol < 0:
                c.raw = buf[pos:]
                break
            size = int(buf[start:eol].split(b";", 1)[0], 16)
            pos = eol + 2
            c.need = size if size else 1 << 62  # last chunk: the stream ended (EOF follows)
        return b"".join(out) if len(out) != 1 else out[0]

    def _body(self, c: _Conn, payload: bytes) -> None:
        buf = c.tail + payload if c.tail else payload
        end = buf.rfind(b"\n\n")
        if end < 0:
            c.tail = buf
            return
        done = buf[: end + 2]
        c.tail = buf[end + 2 :]
        counts = self.counts
        total = done.count(b"\nevent: ")
        counts["events"] += total
        counts["frames"] += done.count(b"\n\n")
        rest = total
        for name in _COMMON:
            k = done.count(b"\nevent: " + name + b"\n")
            if k:
                counts[name.decode()] += k
                rest -= k
        if rest:
            for name in _RARE:
                k = done.count(b"\nevent: " + name + b"\n")
                if k:
                    counts[name.decode()] += k
                    rest -= k
            counts["other"] += rest
        if b"event: tick\n" in done:
            now_ms = time.time_ns() // 1_000_000
            lat = self.latency
            for t, k in Counter(_TICK_T.findall(done)).items():
                lat[now_ms - int(t)] += k

    # -- control ------------------------------------------------------------------------
    def run(self, total: int) -> None:
        to_open = total
        wave_deadline = 0.0
        announced = False
        self.sel.register(sys.stdin.fileno(), selectors.EVENT_READ, None)
        line = b""
        while True:
            now = time.monotonic()
            if to_open and (self.open_in_wave <= 0 or now > wave_deadline):
                n = min(self.wave_size, to_open)
                to_open -= n
                self.open_in_wave = 0
                self.open_wave(n)
                wave_deadline = now + 10.0
            elif not to_open and not announced and (self.open_in_wave <= 0 or now > wave_deadline):
                announced = True
                c = self.counts
                _emit({"connected": c["connected"], "failed": total - c["connected"]})
            for key, mask in self.sel.select(timeout=0.2):
                conn = key.data
                if conn is None:
                    chunk = os.read(sys.stdin.fileno(), 4096)
                    if not chunk:
                        return
                    line += chunk
                    while b"\n" in line:
                        cmd, line = line.split(b"\n", 1)
                        if cmd.strip() == b"quit":
                            return
                        if cmd.strip() == b"mark":
                            _emit({"counts": dict(self.counts), "latency": dict(self.latency)})
                            self.latency.clear()
                elif conn.state == _CONNECTING:
                    if mask & selectors.EVENT_WRITE:
                        self._connected(conn)
                else:
                    self._readable(conn)

    def close(self) -> None:
        for key in list(self.sel.get_map().values()):
            if isinstance(key.fileobj, socket.socket):
                key.fileobj.close()
        self.sel.close()


def _emit(obj: object) -> None:
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


def main() -> None:
    p = argparse.ArgumentParser(description="Open N SSE clients and count what they receive.")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--clients", type=int, required=True)
    p.add_argument("--path", default="/realtime/sse?symbols=SPY&timeframe=1m")
    p.add_argument("--wave", type=int, default=200, help="connections opened per wave")
    a = p.parse_args()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = min(hard, a.clients + 64)
    if soft < want:
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
    request = (
        f"GET {a.path} HTTP/1.1\r\nHost: {a.host}:{a.port}\r\nAccept: text/event-stream\r\n\r\n"
    )
    clients = Clients(a.host, a.port, request.encode(), a.wave)
    try:
        clients.run(a.clients)
    finally:
        clients.close()


if __name__ == "__main__":
    main()
