// The comparison's Node peer (bench/compare.py): express serves SSE, ws serves WebSocket, on
// one http server. Dependencies are pinned in package.json / package-lock.json and installed
// by the runner (`npm ci` into bench/peers/node/node_modules).
//
//   node bench/peers/node/server.js --port 8002 --rate 20 [--burst-ms 1]
//
// What a competent engineer would deploy for "one stream, fanned out": one timer publishing
// R events/s, each event's text built once, then one res.write / ws.send per client (the
// broadcast loop from the ws README), a bound on what a slow client may have buffered, and
// keep-alives. Same endpoints and message shapes as Spotlight:
//
// - GET /realtime/sse: `retry: 2000`, then `id: <epoch>:<seq>` / `event: tick` frames, and an
//   `event: heartbeat` every 10 s (Spotlight's SPOTLIGHT_HEARTBEAT_S).
// - /ws/prices: after a {"type": "subscribe", ...} message, a `snapshot`, then
//   {"type": "tick", "seq", "id", "payload"} messages and a `heartbeat` every 10 s; a
//   protocol ping every 20 s, and a client that missed the previous pong is terminated (the
//   ws README's heartbeat), as Spotlight pings every 20 s.
// - GET /health, GET /stats ({"published": n, "sse": n, "ws": n}).
//
// Events are Spotlight's tick ({"s", "p", "v", "t"}) with the bid and ask added, ~140 bytes as
// a WebSocket message: the mean size of Spotlight's mixed tick/quote/bar stream. `t` is the
// publish time (integer Unix ms). --burst-ms 1 spaces the R events evenly; a larger value
// publishes the events due every burst-ms together (still one write per event per client).
'use strict';

const crypto = require('node:crypto');
const http = require('node:http');
const express = require('express');
const { WebSocketServer, WebSocket } = require('ws');

function option(name, fallback) {
  const i = process.argv.indexOf(name);
  return i >= 0 && i + 1 < process.argv.length ? Number(process.argv[i + 1]) : fallback;
}

const PORT = option('--port', NaN);
const RATE = option('--rate', NaN);
const BURST_MS = option('--burst-ms', 1);
if (!Number.isInteger(PORT) || !(RATE >= 0) || !(BURST_MS > 0)) {
  console.error('usage: server.js --port P --rate EVENTS_PER_S [--burst-ms B]');
  process.exit(2);
}
const HEARTBEAT_MS = 10_000; // Spotlight's SPOTLIGHT_HEARTBEAT_S default
const PING_MS = 20_000; // Spotlight's WebSocket ping interval
const RETRY_MS = 2000; // Spotlight's SPOTLIGHT_RETRY_MS default
// What a client may have buffered before it is cut off as slow: Spotlight's default
// SPOTLIGHT_CLIENT_QUEUE_BYTES (1 MiB).
const MAX_BUFFERED = 1 << 20;
const MAX_COMMAND_BYTES = 16 * 1024; // Spotlight refuses larger client messages too

const epoch = crypto.randomBytes(6).toString('hex');
let seq = 0;
let price = 598.41;
let last = null;
const sseClients = new Set();
const wsClients = new Set(); // subscribed WebSockets

const app = express();
app.get('/health', (req, res) => res.type('text').send('ok'));
app.get('/stats', (req, res) =>
  res.json({ published: seq, sse: sseClients.size, ws: wsClients.size }),
);
app.get('/realtime/sse', (req, res) => {
  res.writeHead(200, {
    'Content-Type': 'text/event-stream; charset=utf-8',
    'Cache-Control': 'no-cache, no-transform',
    'X-Accel-Buffering': 'no',
  });
  res.write(`retry: ${RETRY_MS}\n\n`);
  sseClients.add(res);
  res.on('close', () => sseClients.delete(res));
});

const server = http.createServer(app);
const wss = new WebSocketServer({ server, path: '/ws/prices', maxPayload: MAX_COMMAND_BYTES });
wss.on('connection', (ws) => {
  ws.isAlive = true;
  ws.on('pong', () => {
    ws.isAlive = true;
  });
  ws.on('close', () => wsClients.delete(ws));
  ws.on('error', () => ws.terminate());
  ws.on('message', (data) => {
    let cmd = null;
    try {
      cmd = JSON.parse(data);
    } catch {
      // answered below
    }
    if (cmd && cmd.type === 'subscribe') {
      if (!wsClients.has(ws)) {
        const snapshot = { symbols: { SPY: { trade: last } }, timeframe: '1m' };
        ws.send(JSON.stringify({ type: 'snapshot', seq, payload: snapshot }));
        wsClients.add(ws);
      }
    } else {
      const payload = { error: 'bad_command', detail: 'send {"type": "subscribe", ...}' };
      ws.send(JSON.stringify({ type: 'error', seq, payload }));
    }
  });
});

function broadcast(sseText, wsText) {
  for (const res of sseClients) {
    if (res.writableLength > MAX_BUFFERED) {
      sseClients.delete(res);
      res.destroy();
    } else {
      res.write(sseText);
    }
  }
  for (const ws of wsClients) {
    if (ws.readyState !== WebSocket.OPEN) continue;
    if (ws.bufferedAmount > MAX_BUFFERED) {
      wsClients.delete(ws);
      ws.close(4008, 'slow'); // Spotlight's close code for a slow client
    } else {
      ws.send(wsText);
    }
  }
}

function publish() {
  seq += 1;
  price = Math.round((price + (seq % 3 ? 0.01 : -0.02)) * 100) / 100;
  const bid = Math.round((price - 0.01) * 100) / 100;
  const ask = Math.round((price + 0.01) * 100) / 100;
  const payload = JSON.stringify({ s: 'SPY', p: price, v: 100.0, b: bid, a: ask, t: Date.now() });
  const id = `${epoch}:${seq}`;
  last = payload;
  broadcast(
    `id: ${id}\nevent: tick\ndata: ${payload}\n\n`,
    `{"type":"tick","seq":${seq},"id":"${id}","payload":${payload}}`,
  );
}

// R events/s on the wall clock: each wake-up publishes every event due by then.
const start = performance.now();
const period = RATE <= 0 ? 1000 : BURST_MS > 1 ? BURST_MS : 1000 / RATE;
let published = 0;
let wake = 0;
function tick() {
  const due = RATE <= 0 ? 0 : Math.floor(((performance.now() - start) * RATE) / 1000);
  for (; published < due; published++) publish();
  wake += 1;
  setTimeout(tick, Math.max(0, start + wake * period - performance.now()));
}

setInterval(() => {
  const data = JSON.stringify({ delivered: seq });
  const message = JSON.stringify({ type: 'heartbeat', seq, payload: {} });
  broadcast(`event: heartbeat\ndata: ${data}\n\n`, message);
}, HEARTBEAT_MS);

setInterval(() => {
  for (const ws of wss.clients) {
    if (!ws.isAlive) {
      ws.terminate();
      continue;
    }
    ws.isAlive = false;
    ws.ping();
  }
}, PING_MS);

server.listen(PORT, '127.0.0.1', () => {
  setTimeout(tick, period);
});
process.on('SIGTERM', () => process.exit(0));
