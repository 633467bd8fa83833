/* Many cheap SSE or WebSocket clients in one process, in C: the same job and the same control
 * protocol as bench/sse_clients.py, at a fraction of its CPU.
 *
 * Why: the Python clients spend ~17 us per socket read; at 1,000 clients that is ~17 ms of
 * CPU per 100 ms burst, landing in the same few milliseconds as the server's own ~10 ms of
 * work on a 2-core box. The latency the benchmark reports then measures the clients competing
 * with the server as much as the server. These clients read, de-chunk, count frames by event
 * name and read each tick's "t" (its burst's publish time, integer Unix ms) in a few us.
 *
 * --ws: RFC 6455 clients instead (ws_frames.c): the upgrade handshake (the 101 and its
 * Sec-WebSocket-Accept are checked), one masked text message on open (--subscribe), server
 * frames parsed (7/16/64-bit lengths, fragments joined; a masked server frame is an error),
 * pings answered with a masked pong, a close answered with a close. Each text message is
 * counted by its JSON "type" exactly as an SSE frame by its event name, and a tick's "t"
 * inside its "payload" feeds the same latency histogram.
 *
 * Control protocol (identical to sse_clients.py), one line each way:
 *   once every wave is done      -> {"connected": n, "failed": m}
 *   "mark" on stdin              -> {"counts": {...cumulative...}, "latency": {"ms": n, ...}}
 *                                   (the latency histogram is reset: it covers mark to mark)
 *   "quit" or EOF on stdin       -> exit
 *
 * Build: cc -O2 -o sse_clients bench/sse_clients.c bench/ws_frames.c
 *        (bench/processes.py does this itself, then runs `sse_clients --self-test`)
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "ws_frames.h"

enum { CONNECTING, HEADERS, STREAM, CLOSED };
enum { C_TICK, C_QUOTE, C_BAR_UPDATE, C_BAR_CLOSE, C_HEARTBEAT, C_SNAPSHOT, C_RESET, C_SLOW,
       C_SHUTDOWN, C_ERROR, C_OTHER, C_EVENTS, C_FRAMES, C_BYTES, C_RECVS, C_CONNECTED,
       C_CONNECT_FAILED, C_DISCONNECTS, C_BAD_STATUS, C_BAD_HANDSHAKE, C_BAD_FRAME, C_PINGS,
       C_CLOSE_FRAMES, C_SEND_FAILED, C_N };
static const char *COUNT_NAMES[C_N] = {
    "tick", "quote", "bar:update", "bar:close", "heartbeat", "snapshot", "reset", "slow",
    "shutdown", "error", "other", "events", "frames", "bytes", "recvs", "connected",
    "connect_failed", "disconnects", "bad_status", "bad_handshake", "bad_frame", "pings",
    "close_frames", "send_failed"};
/* Event names (SSE) or message types (WebSocket) counted one by one, in the enum's order. */
static const char *EVENT_NAMES[] = {"tick", "quote", "bar:update", "bar:close", "heartbeat",
                                    "snapshot", "reset", "slow", "shutdown", "error"};
#define N_EVENT_NAMES 10

#define LAT_MIN (-1000)
#define LAT_MAX 60000
static long long counts[C_N];
static long long latency[LAT_MAX - LAT_MIN + 1];

typedef struct {
    int fd, state, wave, chunked;
    long long need; /* chunk payload bytes still to come; -1: a chunk-size line is next */
    char *buf;      /* head bytes (HEADERS) or an unterminated frame (STREAM) */
    size_t len, cap;
    char raw[32];   /* a chunk-size line cut by a recv */
    size_t raw_len;
    char accept[29];  /* --ws: the Sec-WebSocket-Accept this connection's key asks for */
    ws_reader ws;     /* --ws: frames cut by a recv, fragments of a message */
} conn_t;

static conn_t *conns;
static int epfd, wave_no, open_in_wave;
static struct sockaddr_in addr;
static char request[2048];
static size_t request_len;
static int ws_mode;
static const char *ws_host, *ws_port, *ws_path, *ws_subscribe;
static char rbuf[256 * 1024];

static long long now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void append(conn_t *c, const char *p, size_t n) {
    if (c->len + n > c->cap) {
        size_t cap = c->cap ? c->cap : 4096;
        while (cap < c->len + n) cap *= 2;
        c->buf = realloc(c->buf, cap);
        if (!c->buf) { perror("realloc"); exit(1); }
        c->cap = cap;
    }
    memcpy(c->buf + c->len, p, n);
    c->len += n;
}

static void drop(conn_t *c, int why) {
    if (c->state != STREAM && c->wave == wave_no) open_in_wave--;
    counts[why]++;
    epoll_ctl(epfd, EPOLL_CTL_DEL, c->fd, NULL);
    close(c->fd);
    c->state = CLOSED;
    free(c->buf);
    c->buf = NULL;
    c->len = c->cap = 0;
    ws_reader_free(&c->ws);
}

/* One event: `name` is its SSE event name or WebSocket "type"; a tick's "t" (integer Unix
 * ms, its publish time) is looked for in rest[0..rest_len) and goes to the histogram. */
static void count_event(const char *name, size_t len, const char *rest, size_t rest_len,
                        long long now) {
    counts[C_EVENTS]++;
    int which = C_OTHER;
    for (int i = 0; i < N_EVENT_NAMES; i++) {
        if (strlen(EVENT_NAMES[i]) == len && memcmp(name, EVENT_NAMES[i], len) == 0) {
            which = i;
            break;
        }
    }
    counts[which]++;
    if (which != C_TICK || !rest) return;
    const char *t = memmem(rest, rest_len, "\"t\":", 4), *end = rest + rest_len;
    if (!t) return;
    for (t += 4; t < end && (*t == ' ' || *t == '\t'); t++) {}
    if (t >= end || *t < '0' || *t > '9') return;
    long long v = 0;
    for (; t < end && *t >= '0' && *t <= '9'; t++) v = v * 10 + (*t - '0');
    long long d = now - v;
    if (d < LAT_MIN) d = LAT_MIN;
    if (d > LAT_MAX) d = LAT_MAX;
    latency[d - LAT_MIN]++;
}

/* One complete SSE frame (without its blank-line terminator; lines may end in CRLF). */
static void frame(const char *f, size_t n, long long now) {
    counts[C_FRAMES]++;
    const char *ev = memmem(f, n, "event:", 6);
    if (!ev || (ev != f && ev[-1] != '\n')) return;
    size_t left = n - (size_t)(ev + 6 - f);
    const char *name = ev + 6;
    if (left && *name == ' ') { name++; left--; }
    const char *end = memchr(name, '\n', left);
    const char *stop = end ? end : f + n;
    if (stop > name && stop[-1] == '\r') stop--;
    count_event(name, (size_t)(stop - name), end, end ? (size_t)(f + n - end) : 0, now);
}

/* The next blank line (an SSE frame's end) in data[from..len): LF LF or LF CR LF. Returns
 * the index of the first LF and sets *term to the terminator's length, or returns -1. */
static long blank_line(const char *data, size_t from, size_t len, size_t *term) {
    while (from < len) {
        const char *lf = memchr(data + from, '\n', len - from);
        if (!lf) return -1;
        size_t at = (size_t)(lf - data);
        if (at + 1 < len && data[at + 1] == '\n') { *term = 2; return (long)at; }
        if (at + 2 < len && data[at + 1] == '\r' && data[at + 2] == '\n') {
            *term = 3;
            return (long)at;
        }
        if (at + 2 >= len) return -1; /* a terminator may be cut here: wait for more */
        from = at + 1;
    }
    return -1;
}

/* Stream payload: complete frames are counted, an unterminated one is kept. */
static void body(conn_t *c, const char *p, size_t n) {
    const char *data = p;
    size_t len = n;
    if (c->len) {
        append(c, p, n);
        data = c->buf;
        len = c->len;
    }
    long long now = now_ms();
    size_t start = 0, term = 0;
    for (;;) {
        long at = blank_line(data, start, len, &term);
        if (at < 0) break;
        frame(data + start, (size_t)at - start, now);
        start = (size_t)at + term;
    }
    if (data == c->buf) {
        memmove(c->buf, c->buf + start, len - start);
        c->len = len - start;
    } else if (start < len) {
        append(c, data + start, len - start);
    }
}

static void dechunk(conn_t *c, const char *p, size_t n) {
    size_t pos = 0;
    while (pos < n) {
        if (c->need > 0) {
            size_t take = (size_t)c->need < n - pos ? (size_t)c->need : n - pos;
            body(c, p + pos, take);
            pos += take;
            c->need -= (long long)take;
            continue;
        }
        /* A chunk-size line, preceded by the previous chunk's CRLF when need == 0. */
        while (pos < n && c->raw_len < sizeof c->raw - 1) {
            c->raw[c->raw_len++] = p[pos++];
            c->raw[c->raw_len] = 0;
            size_t skip = c->need == 0 ? 2 : 0;
            if (c->raw_len > skip + 1 && c->raw[c->raw_len - 2] == '\r' &&
                c->raw[c->raw_len - 1] == '\n') {
                long long size = strtoll(c->raw + skip, NULL, 16);
                c->need = size ? size : (1LL << 62);
                c->raw_len = 0;
                break;
            }
        }
        if (c->raw_len >= sizeof c->raw - 1) { drop(c, C_BAD_STATUS); return; }
    }
}

/* -- WebSocket ------------------------------------------------------------------------ */
static long long recv_now; /* now_ms() of the recv being parsed */

static int send_frame(conn_t *c, int opcode, const char *payload, size_t len) {
    char out[16 * 1024 + 14];
    if (len > sizeof out - 14) return 1;
    size_t n = ws_client_frame(out, opcode, payload, len);
    /* A few hundred bytes into a socket whose send buffer the benchmark never fills. */
    return send(c->fd, out, n, MSG_NOSIGNAL) != (ssize_t)n;
}

/* One text message: counted by its "type"; a tick's "t" is read inside its "payload". */
static void ws_message(const char *m, size_t n) {
    counts[C_FRAMES]++;
    const char *end = m + n, *k = memmem(m, n, "\"type\"", 6);
    if (!k) return;
    k += 6;
    while (k < end && (*k == ' ' || *k == ':')) k++;
    if (k >= end || *k != '"') return;
    const char *name = ++k, *q = memchr(name, '"', (size_t)(end - name));
    if (!q) return;
    const char *payload = memmem(q, (size_t)(end - q), "\"payload\"", 9);
    const char *rest = payload ? payload : q;
    count_event(name, (size_t)(q - name), rest, (size_t)(end - rest), recv_now);
}

static int on_ws(void *ctx, int opcode, const char *payload, size_t len) {
    conn_t *c = ctx;
    switch (opcode) {
    case WS_TEXT: ws_message(payload, len); return 0;
    case WS_BINARY: counts[C_FRAMES]++; counts[C_OTHER]++; return 0;
    case WS_PING: counts[C_PINGS]++; return send_frame(c, WS_PONG, payload, len);
    case WS_CLOSE:
        /* Echo the status code (5.5.1); the server then closes the TCP connection. */
        counts[C_CLOSE_FRAMES]++;
        return send_frame(c, WS_CLOSE, payload, len >= 2 ? 2 : 0);
    default: return 0; /* pong */
    }
}

/* The 101 arrived: check it, send the subscribe message. 0 when the stream is open. */
static int ws_open(conn_t *c, const char *head, size_t len) {
    if (!ws_handshake_ok(head, len, c->accept)) return C_BAD_HANDSHAKE;
    if (send_frame(c, WS_TEXT, ws_subscribe, strlen(ws_subscribe))) return C_SEND_FAILED;
    return 0;
}

static void ws_data(conn_t *c, const char *data, size_t len) {
    recv_now = now_ms();
    int rc = ws_feed(&c->ws, data, len, on_ws, c);
    if (rc) drop(c, rc < 0 ? C_BAD_FRAME : C_SEND_FAILED);
}

static void readable(conn_t *c) {
    for (;;) {
        ssize_t n = recv(c->fd, rbuf, sizeof rbuf, 0);
        if (n < 0) {
            if (errno == EAGAIN || errno == EINTR) return;
            drop(c, C_DISCONNECTS);
            return;
        }
        if (n == 0) { drop(c, C_DISCONNECTS); return; }
        counts[C_BYTES] += n;
        counts[C_RECVS]++;
        const char *data = rbuf;
        size_t len = (size_t)n;
        if (c->state == HEADERS) {
            append(c, rbuf, len);
            char *end = memmem(c->buf, c->len, "\r\n\r\n", 4);
            if (!end) continue;
            size_t head = (size_t)(end - c->buf) + 4;
            if (ws_mode) {
                int why = ws_open(c, c->buf, head);
                if (why) { drop(c, why); return; }
            } else {
                char *eol = memmem(c->buf, c->len, "\r\n", 2);
                if (!memmem(c->buf, (size_t)(eol - c->buf), " 200", 4)) {
                    drop(c, C_BAD_STATUS);
                    return;
                }
            }
            c->chunked = memmem(c->buf, head, "chunked", 7) != NULL ||
                         memmem(c->buf, head, "Chunked", 7) != NULL;
            c->need = c->chunked ? -1 : (1LL << 62);
            c->state = STREAM;
            if (c->wave == wave_no) open_in_wave--;
            counts[C_CONNECTED]++;
            size_t rest = c->len - head;
            memcpy(rbuf, c->buf + head, rest); /* rest <= what this recv brought */
            c->len = 0;
            data = rbuf;
            len = rest;
            if (!len) continue;
        }
        if (ws_mode) ws_data(c, data, len);
        else if (c->chunked) dechunk(c, data, len);
        else body(c, data, len);
        if (c->state == CLOSED) return;
        if ((size_t)n < sizeof rbuf) return; /* drained: epoll will tell us about more */
    }
}

static void open_wave(int n, int *next_index) {
    wave_no++;
    for (int i = 0; i < n; i++) {
        int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
        if (fd < 0) { counts[C_CONNECT_FAILED]++; continue; }
        if (connect(fd, (struct sockaddr *)&addr, sizeof addr) < 0 && errno != EINPROGRESS) {
            close(fd);
            counts[C_CONNECT_FAILED]++;
            continue;
        }
        conn_t *c = &conns[(*next_index)++];
        memset(c, 0, sizeof *c);
        c->fd = fd;
        c->wave = wave_no;
        c->state = CONNECTING;
        struct epoll_event ev = {.events = EPOLLOUT, .data.ptr = c};
        epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev);
        open_in_wave++;
    }
}

static void connected(conn_t *c) {
    int err = 0;
    socklen_t l = sizeof err;
    getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &l);
    if (err) { drop(c, C_CONNECT_FAILED); return; }
    if (ws_mode) {
        char key[25];
        ws_new_key(key, c->accept);
        request_len = (size_t)snprintf(request, sizeof request,
            "GET %s HTTP/1.1\r\nHost: %s:%s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            "Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n\r\n",
            ws_path, ws_host, ws_port, key);
    }
    if (send(c->fd, request, request_len, MSG_NOSIGNAL) != (ssize_t)request_len) {
        drop(c, C_CONNECT_FAILED);
        return;
    }
    c->state = HEADERS;
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = c};
    epoll_ctl(epfd, EPOLL_CTL_MOD, c->fd, &ev);
}

static void emit_mark(void) {
    printf("{\"counts\": {");
    int first = 1;
    for (int i = 0; i < C_N; i++) {
        if (!counts[i]) continue;
        printf("%s\"%s\": %lld", first ? "" : ", ", COUNT_NAMES[i], counts[i]);
        first = 0;
    }
    printf("}, \"latency\": {");
    first = 1;
    for (int i = 0; i <= LAT_MAX - LAT_MIN; i++) {
        if (!latency[i]) continue;
        printf("%s\"%d\": %lld", first ? "" : ", ", i + LAT_MIN, latency[i]);
        first = 0;
        latency[i] = 0;
    }
    printf("}}\n");
    fflush(stdout);
}

static const char *arg(int argc, char **argv, const char *name, const char *dflt) {
    for (int i = 1; i + 1 < argc; i++)
        if (strcmp(argv[i], name) == 0) return argv[i + 1];
    return dflt;
}

static int flag(int argc, char **argv, const char *name) {
    for (int i = 1; i < argc; i++)
        if (strcmp(argv[i], name) == 0) return 1;
    return 0;
}

int main(int argc, char **argv) {
    if (flag(argc, argv, "--self-test")) {
        int bad = ws_self_test();
        printf("%s\n", bad ? "self-test failed" : "self-test ok");
        return bad ? 1 : 0;
    }
    ws_mode = flag(argc, argv, "--ws");
    const char *host = arg(argc, argv, "--host", "127.0.0.1");
    const char *port = arg(argc, argv, "--port", NULL);
    const char *path = arg(argc, argv, "--path",
                           ws_mode ? "/ws/prices" : "/realtime/sse?symbols=SPY&timeframe=1m");
    ws_subscribe = arg(argc, argv, "--subscribe",
                       "{\"type\":\"subscribe\",\"symbols\":[\"SPY\"],\"timeframe\":\"1m\"}");
    int total = atoi(arg(argc, argv, "--clients", "0"));
    int wave = atoi(arg(argc, argv, "--wave", "200"));
    if (!port || total <= 0 || wave <= 0 || strlen(ws_subscribe) > 16 * 1024) {
        fprintf(stderr, "usage: sse_clients --port P --clients N [--host H] [--path P] [--wave W]\n"
                        "                   [--ws [--subscribe JSON]] | --self-test\n");
        return 2;
    }
    ws_host = host;
    ws_port = port;
    ws_path = path;
    struct rlimit rl;
    getrlimit(RLIMIT_NOFILE, &rl);
    rlim_t want = (rlim_t)total + 64 < rl.rlim_max ? (rlim_t)total + 64 : rl.rlim_max;
    if (rl.rlim_cur < want) { rl.rlim_cur = want; setrlimit(RLIMIT_NOFILE, &rl); }
    addr.sin_family = AF_INET;
    addr.sin_port = htons((unsigned short)atoi(port));
    inet_pton(AF_INET, host, &addr.sin_addr);
    request_len = (size_t)snprintf(request, sizeof request,
        "GET %s HTTP/1.1\r\nHost: %s:%s\r\nAccept: text/event-stream\r\n\r\n", path, host, port);
    conns = calloc((size_t)total, sizeof *conns);
    epfd = epoll_create1(0);
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = NULL};
    fcntl(0, F_SETFL, fcntl(0, F_GETFL) | O_NONBLOCK);
    epoll_ctl(epfd, EPOLL_CTL_ADD, 0, &ev);

    int to_open = total, next_index = 0, announced = 0;
    long long wave_deadline = 0;
    char line[256];
    size_t line_len = 0;
    struct epoll_event events[512];
    for (;;) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        long long mono = (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
        if (to_open && (open_in_wave <= 0 || mono > wave_deadline)) {
            int n = to_open < wave ? to_open : wave;
            to_open -= n;
            open_in_wave = 0;
            open_wave(n, &next_index);
            wave_deadline = mono + 10000;
        } else if (!to_open && !announced && (open_in_wave <= 0 || mono > wave_deadline)) {
            announced = 1;
            printf("{\"connected\": %lld, \"failed\": %lld}\n", counts[C_CONNECTED],
                   (long long)total - counts[C_CONNECTED]);
            fflush(stdout);
        }
        int n = epoll_wait(epfd, events, 512, 200);
        for (int i = 0; i < n; i++) {
            conn_t *c = events[i].data.ptr;
            if (!c) {
                char chunk[256];
                ssize_t r = read(0, chunk, sizeof chunk);
                if (r == 0) return 0;
                for (ssize_t k = 0; k < r; k++) {
                    if (chunk[k] != '\n') {
                        if (line_len < sizeof line - 1) line[line_len++] = chunk[k];
                        continue;
                    }
                    line[line_len] = 0;
                    line_len = 0;
                    if (strcmp(line, "quit") == 0) return 0;
                    if (strcmp(line, "mark") == 0) emit_mark();
                }
            } else if (c->state == CONNECTING) {
                connected(c);
            } else if (c->state != CLOSED) {
                readable(c);
            }
        }
    }
}
