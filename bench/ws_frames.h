/* The WebSocket (RFC 6455) client side of bench/sse_clients.c: the opening handshake's key
 * and accept value, masked client frames, and an incremental parser of server frames.
 * No I/O here: the caller owns the sockets (the same epoll loop as the SSE clients).
 */
#ifndef WS_FRAMES_H
#define WS_FRAMES_H

#include <stddef.h>
#include <sys/types.h>

enum { WS_CONT = 0x0, WS_TEXT = 0x1, WS_BINARY = 0x2, WS_CLOSE = 0x8, WS_PING = 0x9,
       WS_PONG = 0xA };

/* A message larger than this is a protocol error here: the benchmark's messages are a few
 * hundred bytes, snapshots a few KB; anything near this size means the parser lost sync. */
#define WS_MAX_MESSAGE (16u << 20)

/* Why a connection's frames could not be read (ws_feed's negative results). */
enum { WS_ERR_MASKED = -1, WS_ERR_RSV = -2, WS_ERR_OPCODE = -3, WS_ERR_CONTROL = -4,
       WS_ERR_CONTINUATION = -5, WS_ERR_TOO_BIG = -6 };

/* Called once per complete message (opcode WS_TEXT or WS_BINARY, fragments joined) and once
 * per control frame (WS_CLOSE, WS_PING, WS_PONG). The payload is valid during the call only.
 * A non-zero return stops ws_feed (the caller dropped the connection). */
typedef int (*ws_handler)(void *ctx, int opcode, const char *payload, size_t len);

typedef struct {
    char *pending;       /* bytes of an incomplete frame kept between feeds */
    size_t pending_len, pending_cap;
    char *message;       /* fragments of a message whose final frame has not come yet */
    size_t message_len, message_cap;
    int message_opcode;  /* 0: not inside a fragmented message */
} ws_reader;

/* A fresh Sec-WebSocket-Key (24 base64 characters) and the Sec-WebSocket-Accept value the
 * server must answer with (28 characters): base64(SHA-1(key + RFC 6455 GUID)). */
void ws_new_key(char key[25], char accept[29]);
void ws_accept_for(const char *key, char accept[29]);

/* True when the response head (status line and headers, up to the blank line) is a
 * "101" switch to websocket whose Sec-WebSocket-Accept equals `accept`. */
int ws_handshake_ok(const char *head, size_t len, const char *accept);

/* One masked client frame (FIN set) into out; returns its length (at most len + 14). */
size_t ws_client_frame(char *out, int opcode, const char *payload, size_t len);

/* Feed received bytes; calls h for every complete message or control frame. Returns 0, a
 * negative WS_ERR_* for a protocol violation, or the handler's non-zero return. */
int ws_feed(ws_reader *r, const char *data, size_t len, ws_handler h, void *ctx);
void ws_reader_free(ws_reader *r);

/* Known-answer checks of SHA-1, the RFC 6455 handshake example and the frame parser;
 * returns the number of failures (each printed to stderr). */
int ws_self_test(void);

#endif
