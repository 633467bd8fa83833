/* RFC 6455 client pieces for bench/sse_clients.c (see ws_frames.h): SHA-1 and base64 for the
 * handshake, masked client frames, and the server-frame parser. */
#define _GNU_SOURCE
#include "ws_frames.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>

static const char WS_GUID[] = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

/* -- SHA-1 (FIPS 180-4), only ever over ~60 bytes per connection ------------------------ */
static uint32_t rol(uint32_t x, int n) { return (x << n) | (x >> (32 - n)); }

static void sha1_block(uint32_t h[5], const unsigned char *b) {
    uint32_t w[80];
    for (int i = 0; i < 16; i++)
        w[i] = (uint32_t)b[4 * i] << 24 | (uint32_t)b[4 * i + 1] << 16 |
               (uint32_t)b[4 * i + 2] << 8 | (uint32_t)b[4 * i + 3];
    for (int i = 16; i < 80; i++) w[i] = rol(w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16], 1);
    uint32_t a = h[0], bb = h[1], c = h[2], d = h[3], e = h[4];
    for (int i = 0; i < 80; i++) {
        uint32_t f, k;
        if (i < 20) { f = (bb & c) | (~bb & d); k = 0x5A827999; }
        else if (i < 40) { f = bb ^ c ^ d; k = 0x6ED9EBA1; }
        else if (i < 60) { f = (bb & c) | (bb & d) | (c & d); k = 0x8F1BBCDC; }
        else { f = bb ^ c ^ d; k = 0xCA62C1D6; }
        uint32_t t = rol(a, 5) + f + e + k + w[i];
        e = d; d = c; c = rol(bb, 30); bb = a; a = t;
    }
    h[0] += a; h[1] += bb; h[2] += c; h[3] += d; h[4] += e;
}

static void sha1(const unsigned char *msg, size_t n, unsigned char out[20]) {
    uint32_t h[5] = {0x67452301, 0xEFCDAB89, 0x98BADCFE, 0x10325476, 0xC3D2E1F0};
    unsigned char block[64];
    size_t i = 0;
    for (; i + 64 <= n; i += 64) sha1_block(h, msg + i);
    size_t rest = n - i;
    memset(block, 0, sizeof block);
    memcpy(block, msg + i, rest);
    block[rest] = 0x80;
    if (rest >= 56) {
        sha1_block(h, block);
        memset(block, 0, sizeof block);
    }
    uint64_t bits = (uint64_t)n * 8;
    for (int k = 0; k < 8; k++) block[63 - k] = (unsigned char)(bits >> (8 * k));
    sha1_block(h, block);
    for (int k = 0; k < 5; k++) {
        out[4 * k] = (unsigned char)(h[k] >> 24);
        out[4 * k + 1] = (unsigned char)(h[k] >> 16);
        out[4 * k + 2] = (unsigned char)(h[k] >> 8);
        out[4 * k + 3] = (unsigned char)h[k];
    }
}

static void base64(const unsigned char *in, size_t n, char *out) {
    static const char A[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t o = 0;
    for (size_t i = 0; i < n; i += 3) {
        uint32_t v = (uint32_t)in[i] << 16 | (i + 1 < n ? (uint32_t)in[i + 1] << 8 : 0) |
                     (i + 2 < n ? in[i + 2] : 0);
        out[o++] = A[v >> 18 & 63];
        out[o++] = A[v >> 12 & 63];
        out[o++] = i + 1 < n ? A[v >> 6 & 63] : '=';
        out[o++] = i + 2 < n ? A[v & 63] : '=';
    }
    out[o] = 0;
}

static void random_bytes(unsigned char *out, size_t n) {
    while (n) {
        ssize_t got = getrandom(out, n, 0);
        if (got <= 0) { perror("getrandom"); exit(1); }
        out += got;
        n -= (size_t)got;
    }
}

/* -- handshake ------------------------------------------------------------------------ */
void ws_accept_for(const char *key, char accept[29]) {
    unsigned char buf[128], digest[20];
    size_t k = strlen(key);
    memcpy(buf, key, k);
    memcpy(buf + k, WS_GUID, sizeof WS_GUID - 1);
    sha1(buf, k + sizeof WS_GUID - 1, digest);
    base64(digest, 20, accept);
}

void ws_new_key(char key[25], char accept[29]) {
    unsigned char nonce[16];
    random_bytes(nonce, sizeof nonce);
    base64(nonce, sizeof nonce, key);
    ws_accept_for(key, accept);
}

/* The value of header `name` in a response head (case-insensitive name), or NULL. */
static const char *header(const char *head, size_t len, const char *name, size_t *vlen) {
    size_t nl = strlen(name);
    const char *end = head + len, *line = memchr(head, '\n', len);
    while (line && line + 1 < end) {
        line++;
        const char *eol = memchr(line, '\n', (size_t)(end - line));
        if (!eol) eol = end;
        if ((size_t)(eol - line) > nl && strncasecmp(line, name, nl) == 0 && line[nl] == ':') {
            const char *v = line + nl + 1, *ve = eol;
            while (v < ve && (*v == ' ' || *v == '\t')) v++;
            while (ve > v && (ve[-1] == '\r' || ve[-1] == ' ' || ve[-1] == '\t')) ve--;
            *vlen = (size_t)(ve - v);
            return v;
        }
        line = eol < end ? eol : NULL;
    }
    return NULL;
}

int ws_handshake_ok(const char *head, size_t len, const char *accept) {
    const char *eol = memchr(head, '\n', len);
    if (!eol || !memmem(head, (size_t)(eol - head), " 101", 4)) return 0;
    size_t n;
    const char *v = header(head, len, "upgrade", &n);
    if (!v || n != 9 || strncasecmp(v, "websocket", 9) != 0) return 0;
    v = header(head, len, "sec-websocket-accept", &n);
    return v && n == 28 && memcmp(v, accept, 28) == 0;
}

/* -- frames --------------------------------------------------------------------------- */
size_t ws_client_frame(char *out, int opcode, const char *payload, size_t len) {
    size_t o = 0;
    out[o++] = (char)(0x80 | opcode);
    if (len < 126) {
        out[o++] = (char)(0x80 | len);
    } else if (len < 65536) {
        out[o++] = (char)(0x80 | 126);
        out[o++] = (char)(len >> 8);
        out[o++] = (char)len;
    } else {
        out[o++] = (char)(0x80 | 127);
        for (int k = 7; k >= 0; k--) out[o++] = (char)((uint64_t)len >> (8 * k));
    }
    unsigned char mask[4];
    random_bytes(mask, 4);
    memcpy(out + o, mask, 4);
    o += 4;
    for (size_t i = 0; i < len; i++) out[o + i] = (char)(payload[i] ^ mask[i & 3]);
    return o + len;
}

static void grow(char **buf, size_t *cap, size_t need) {
    if (need <= *cap) return;
    size_t cap2 = *cap ? *cap : 4096;
    while (cap2 < need) cap2 *= 2;
    *buf = realloc(*buf, cap2);
    if (!*buf) { perror("realloc"); exit(1); }
    *cap = cap2;
}

/* Complete frames of p[0..n): handled and counted in *used; an incomplete one is left. */
static int parse(ws_reader *r, const unsigned char *p, size_t n, size_t *used, ws_handler h,
                 void *ctx) {
    size_t pos = 0;
    int rc = 0;
    while (n - pos >= 2) {
        unsigned b0 = p[pos], b1 = p[pos + 1];
        int fin = b0 & 0x80, op = (int)(b0 & 0x0F);
        if (b0 & 0x70) { rc = WS_ERR_RSV; break; }   /* no extension was negotiated */
        if (b1 & 0x80) { rc = WS_ERR_MASKED; break; } /* servers must not mask (5.1) */
        uint64_t len = b1 & 0x7F;
        size_t hdr = 2;
        if (len == 126) {
            if (n - pos < 4) break;
            len = (uint64_t)p[pos + 2] << 8 | p[pos + 3];
            hdr = 4;
        } else if (len == 127) {
            if (n - pos < 10) break;
            len = 0;
            for (int k = 0; k < 8; k++) len = len << 8 | p[pos + 2 + k];
            hdr = 10;
        }
        if (len > WS_MAX_MESSAGE) { rc = WS_ERR_TOO_BIG; break; }
        if (n - pos - hdr < len) break;
        const char *payload = (const char *)p + pos + hdr;
        if (op >= 0x8) {
            if (!fin || len > 125) { rc = WS_ERR_CONTROL; break; }
            if (op != WS_CLOSE && op != WS_PING && op != WS_PONG) { rc = WS_ERR_OPCODE; break; }
            rc = h(ctx, op, payload, (size_t)len);
        } else if (op == WS_CONT) {
            if (!r->message_opcode) { rc = WS_ERR_CONTINUATION; break; }
            if (r->message_len + len > WS_MAX_MESSAGE) { rc = WS_ERR_TOO_BIG; break; }
            grow(&r->message, &r->message_cap, r->message_len + (size_t)len);
            memcpy(r->message + r->message_len, payload, (size_t)len);
            r->message_len += (size_t)len;
            if (fin) {
                int mop = r->message_opcode;
                r->message_opcode = 0;
                rc = h(ctx, mop, r->message, r->message_len);
                r->message_len = 0;
            }
        } else if (op == WS_TEXT || op == WS_BINARY) {
            if (r->message_opcode) { rc = WS_ERR_CONTINUATION; break; } /* 5.4: no interleaving */
            if (fin) {
                rc = h(ctx, op, payload, (size_t)len);
            } else {
                r->message_opcode = op;
                grow(&r->message, &r->message_cap, (size_t)len);
                memcpy(r->message, payload, (size_t)len);
                r->message_len = (size_t)len;
            }
        } else {
            rc = WS_ERR_OPCODE;
            break;
        }
        pos += hdr + (size_t)len;
        if (rc) break;
    }
    *used = pos;
    return rc;
}

int ws_feed(ws_reader *r, const char *data, size_t len, ws_handler h, void *ctx) {
    size_t used = 0;
    int rc;
    if (r->pending_len) {
        grow(&r->pending, &r->pending_cap, r->pending_len + len);
        memcpy(r->pending + r->pending_len, data, len);
        r->pending_len += len;
        rc = parse(r, (const unsigned char *)r->pending, r->pending_len, &used, h, ctx);
        memmove(r->pending, r->pending + used, r->pending_len - used);
        r->pending_len -= used;
    } else {
        rc = parse(r, (const unsigned char *)data, len, &used, h, ctx);
        if (!rc && used < len) {
            grow(&r->pending, &r->pending_cap, len - used);
            memcpy(r->pending, data + used, len - used);
            r->pending_len = len - used;
        }
    }
    return rc;
}

void ws_reader_free(ws_reader *r) {
    free(r->pending);
    free(r->message);
    memset(r, 0, sizeof *r);
}

/* -- self test ------------------------------------------------------------------------ */
typedef struct { int calls, last_op; char last[256]; size_t last_len; } probe_t;

static int probe(void *ctx, int op, const char *payload, size_t len) {
    probe_t *p = ctx;
    p->calls++;
    p->last_op = op;
    p->last_len = len;
    memcpy(p->last, payload, len < sizeof p->last ? len : sizeof p->last);
    return 0;
}

static int check(int ok, const char *what) {
    if (!ok) fprintf(stderr, "ws self-test FAILED: %s\n", what);
    return !ok;
}

int ws_self_test(void) {
    int bad = 0;
    unsigned char d[20];
    char hex[41], accept[29];
    sha1((const unsigned char *)"abc", 3, d);
    for (int i = 0; i < 20; i++) snprintf(hex + 2 * i, 3, "%02x", d[i]);
    bad += check(strcmp(hex, "a9993e364706816aba3e25717850c26c9cd0d89d") == 0, "SHA-1(abc)");
    /* RFC 6455 section 1.3's example key and accept value. */
    ws_accept_for("dGhlIHNhbXBsZSBub25jZQ==", accept);
    bad += check(strcmp(accept, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=") == 0, "RFC 6455 accept");
    const char head[] = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: WebSocket\r\n"
                        "Connection: Upgrade\r\nsec-websocket-accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n";
    bad += check(ws_handshake_ok(head, sizeof head - 1, accept), "101 with the right accept");
    bad += check(!ws_handshake_ok(head, sizeof head - 1, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo_"),
                 "a wrong accept is refused");
    const char h200[] = "HTTP/1.1 200 OK\r\nUpgrade: websocket\r\n"
                        "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n";
    bad += check(!ws_handshake_ok(h200, sizeof h200 - 1, accept), "a 200 is refused");

    /* RFC 6455 section 5.7's examples, fed one byte at a time. */
    probe_t p = {0};
    ws_reader r = {0};
    const unsigned char hello[] = {0x81, 0x05, 'H', 'e', 'l', 'l', 'o'};
    for (size_t i = 0; i < sizeof hello; i++) ws_feed(&r, (const char *)hello + i, 1, probe, &p);
    bad += check(p.calls == 1 && p.last_op == WS_TEXT && p.last_len == 5 &&
                 memcmp(p.last, "Hello", 5) == 0, "unmasked text frame, byte by byte");
    const unsigned char frag[] = {0x01, 0x03, 'H', 'e', 'l', 0x89, 0x00, 0x80, 0x02, 'l', 'o'};
    ws_feed(&r, (const char *)frag, sizeof frag, probe, &p);
    bad += check(p.calls == 3 && p.last_op == WS_TEXT && p.last_len == 5 &&
                 memcmp(p.last, "Hello", 5) == 0, "fragments joined around a ping");
    static char big[70000 + 10];
    big[0] = (char)0x82;
    big[1] = 127;
    for (int k = 0; k < 8; k++) big[2 + k] = (char)((uint64_t)70000 >> (8 * (7 - k)));
    ws_feed(&r, big, sizeof big, probe, &p);
    bad += check(p.calls == 4 && p.last_op == WS_BINARY && p.last_len == 70000,
                 "64-bit length");
    unsigned char mid[4 + 300] = {0x81, 126, 300 >> 8, 300 & 255};
    ws_feed(&r, (const char *)mid, 150, probe, &p);
    ws_feed(&r, (const char *)mid + 150, sizeof mid - 150, probe, &p);
    bad += check(p.calls == 5 && p.last_len == 300, "16-bit length across two feeds");
    const unsigned char masked[] = {0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51,
                                    0x58};
    bad += check(ws_feed(&r, (const char *)masked, sizeof masked, probe, &p) == WS_ERR_MASKED,
                 "a masked server frame is a protocol error");
    ws_reader_free(&r);
    const unsigned char cont[] = {0x80, 0x00};
    bad += check(ws_feed(&r, (const char *)cont, 2, probe, &p) == WS_ERR_CONTINUATION,
                 "a continuation without a start is a protocol error");
    ws_reader_free(&r);

    /* A client frame, unmasked again, is the payload. */
    char out[64];
    size_t n = ws_client_frame(out, WS_TEXT, "ping!", 5);
    bad += check(n == 11 && (unsigned char)out[0] == 0x81 && (unsigned char)out[1] == 0x85,
                 "client frame header");
    char plain[5];
    for (int i = 0; i < 5; i++) plain[i] = (char)(out[6 + i] ^ out[2 + (i & 3)]);
    bad += check(memcmp(plain, "ping!", 5) == 0, "client frame masking");
    return bad;
}
