/* core/transport/wire.c - framing, validation and payload cursors of the
 * lpz protocol (see wire.h and docs/protocol.md). */
#include "transport/wire.h"

#include <string.h>
#include <zlib.h>

static const uint8_t MAGIC[4] = {'L', 'P', 'Z', '\0'};

/* ---- little-endian helpers (host independent) ---- */

static inline void st16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}
static inline void st32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}
static inline void st64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}
static inline uint16_t ld16(const uint8_t *p) { return (uint16_t)(p[0] | p[1] << 8); }
static inline uint32_t ld32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static inline uint64_t ld64(const uint8_t *p) { return (uint64_t)ld32(p) | (uint64_t)ld32(p + 4) << 32; }

/* ---- message types ---- */

/* class: 1 = cell traffic (any context), 2 = master/client control
 * (contexts made with lpz_wire_ctx_init_control only), 3 = both. */
static const struct {
    unsigned type;
    const char *name;
    unsigned class;
    uint64_t max_payload;
} TYPES[] = {
    {LPZ_MSG_GET_POPULATION, "GET_POPULATION", 1, LPZ_WIRE_MAX_GET_POPULATION},
    {LPZ_MSG_POPULATION, "POPULATION", 1, LPZ_WIRE_MAX_POPULATION},
    {LPZ_MSG_ERROR, "ERROR", 3, LPZ_WIRE_MAX_ERROR},
    {LPZ_MSG_HELLO, "HELLO", 2, LPZ_WIRE_MAX_HELLO},
    {LPZ_MSG_CHALLENGE, "CHALLENGE", 2, LPZ_WIRE_MAX_CHALLENGE},
    {LPZ_MSG_AUTH, "AUTH", 2, LPZ_WIRE_MAX_AUTH},
    {LPZ_MSG_START_EXPERIMENT, "START_EXPERIMENT", 2, LPZ_WIRE_MAX_START},
    {LPZ_MSG_HEARTBEAT, "HEARTBEAT", 2, LPZ_WIRE_MAX_HEARTBEAT},
    {LPZ_MSG_RESULT, "RESULT", 2, LPZ_WIRE_MAX_RESULT},
    {LPZ_MSG_STOP, "STOP", 2, LPZ_WIRE_MAX_STOP},
    {LPZ_MSG_CHECKPOINT, "CHECKPOINT", 2, LPZ_WIRE_MAX_CHECKPOINT},
};

const char *lpz_msg_type_name(unsigned type)
{
    for (size_t i = 0; i < sizeof TYPES / sizeof TYPES[0]; i++)
        if (TYPES[i].type == type)
            return TYPES[i].name;
    return NULL;
}

/* The limit of `type` when a context of this kind may carry it. */
static bool type_limit(unsigned type, bool control, uint64_t *max_payload)
{
    for (size_t i = 0; i < sizeof TYPES / sizeof TYPES[0]; i++)
        if (TYPES[i].type == type && (TYPES[i].class & (control ? 2u : 1u))) {
            *max_payload = TYPES[i].max_payload;
            return true;
        }
    *max_payload = 0;
    return false;
}

bool lpz_msg_type_limit(unsigned type, uint64_t *max_payload) { return type_limit(type, false, max_payload); }

bool lpz_msg_type_control_limit(unsigned type, uint64_t *max_payload) { return type_limit(type, true, max_payload); }

/* ---- context ---- */

void lpz_wire_ctx_init(lpz_wire_ctx *c, uint64_t experiment_id, const char *secret)
{
    memset(c, 0, sizeof *c);
    c->experiment_id = experiment_id;
    if (secret && secret[0]) {
        c->has_key = true;
        lpz_hmac_key_init(&c->key, secret, strlen(secret));
    }
}

void lpz_wire_ctx_init_control(lpz_wire_ctx *c, uint64_t experiment_id, const char *secret)
{
    lpz_wire_ctx_init(c, experiment_id, secret);
    c->control = true;
}

void lpz_wire_ctx_clear(lpz_wire_ctx *c) { lpz_secure_zero(c, sizeof *c); }

size_t lpz_wire_frame_size(const lpz_wire_ctx *c, size_t payload_len)
{
    return LPZ_WIRE_HEADER_SIZE + payload_len + (c->has_key ? LPZ_WIRE_TAG_SIZE : 0);
}

/* ---- sealing ---- */

static uint32_t crc_of(const uint8_t *p, size_t n) { return (uint32_t)crc32_z(crc32_z(0L, Z_NULL, 0), p, n); }

void lpz_wire_prepare(const lpz_wire_ctx *c, const uint8_t *payload, size_t len, lpz_wire_prepared *p)
{
    p->payload_len = len;
    p->crc = crc_of(payload, len);
    p->has_mac = c->has_key;
    if (c->has_key) {
        /* The tag covers payload || header: the payload part is the same
         * for every frame that carries it, so it is absorbed once here. */
        lpz_hmac_start(&c->key, &p->mac);
        lpz_sha256_update(&p->mac, payload, len);
    }
}

static void write_header(uint8_t *h, unsigned type, uint32_t flags, uint32_t crc, uint64_t experiment,
                         uint64_t request_id, uint64_t payload_len)
{
    memcpy(h, MAGIC, 4);
    st16(h + 4, LPZ_WIRE_VERSION);
    st16(h + 6, (uint16_t)type);
    st32(h + 8, flags);
    st32(h + 12, crc);
    st64(h + 16, experiment);
    st64(h + 24, request_id);
    st64(h + 32, payload_len);
}

void lpz_wire_seal_prepared(const lpz_wire_ctx *c, const lpz_wire_prepared *p, unsigned type, uint64_t request_id,
                            uint8_t header[LPZ_WIRE_HEADER_SIZE], uint8_t *tag)
{
    uint32_t flags = p->has_mac ? LPZ_WIRE_FLAG_HMAC : 0;
    write_header(header, type, flags, p->crc, c->experiment_id, request_id, p->payload_len);
    if (p->has_mac) {
        lpz_sha256_ctx s = p->mac;
        lpz_sha256_update(&s, header, LPZ_WIRE_HEADER_SIZE);
        lpz_hmac_finish(&c->key, &s, tag);
    }
}

int lpz_wire_seal(const lpz_wire_ctx *c, unsigned type, uint64_t request_id, uint8_t *frame, size_t payload_len,
                  lpz_error *err)
{
    uint64_t max;
    if (!type_limit(type, c->control, &max))
        return lpz_error_set(err, LPZ_EINVAL, "cannot send message type %u on this %s socket (protocol version %u)",
                             type, c->control ? "control" : "cell", LPZ_WIRE_VERSION);
    if (payload_len > max)
        return lpz_error_set(err, LPZ_EINVAL, "%s payload of %zu bytes exceeds the protocol limit of %llu bytes",
                             lpz_msg_type_name(type), payload_len, (unsigned long long)max);
    lpz_wire_prepared p;
    lpz_wire_prepare(c, frame + LPZ_WIRE_HEADER_SIZE, payload_len, &p);
    lpz_wire_seal_prepared(c, &p, type, request_id, frame, frame + LPZ_WIRE_HEADER_SIZE + payload_len);
    return LPZ_OK;
}

/* ---- opening ---- */

int lpz_wire_open(const lpz_wire_ctx *c, const uint8_t *frame, size_t len, lpz_wire_header *hdr,
                  const uint8_t **payload, lpz_error *err)
{
    memset(hdr, 0, sizeof *hdr);
    *payload = NULL;
    if (!frame && len)
        return lpz_error_set(err, LPZ_EINVAL, "no frame");
    /* Magic and version first, from as few bytes as they need, so that a
     * short frame from another protocol version is named as such. */
    if (len < 4 || memcmp(frame, MAGIC, 4) != 0) {
        if (len < 4)
            return lpz_error_set(err, LPZ_EFORMAT, "truncated message: %zu bytes, the header alone is %u", len,
                                 LPZ_WIRE_HEADER_SIZE);
        return lpz_error_set(err, LPZ_EFORMAT,
                             "not an lpz message: bad magic %02x %02x %02x %02x, expected \"LPZ\\0\"", frame[0],
                             frame[1], frame[2], frame[3]);
    }
    if (len >= 6) {
        hdr->version = ld16(frame + 4);
        if (hdr->version != LPZ_WIRE_VERSION) {
            lpz_error_set(err, LPZ_ENET, "protocol version %u, expected %u", hdr->version, LPZ_WIRE_VERSION);
            lpz_error_hint(err, "run the same lpz version on every machine");
            if (len >= LPZ_WIRE_HEADER_SIZE)
                hdr->request_id = ld64(frame + 24);
            return LPZ_ENET;
        }
    }
    if (len < LPZ_WIRE_HEADER_SIZE)
        return lpz_error_set(err, LPZ_EFORMAT, "truncated message: %zu bytes, the header alone is %u", len,
                             LPZ_WIRE_HEADER_SIZE);
    hdr->type = ld16(frame + 6);
    hdr->flags = ld32(frame + 8);
    hdr->crc = ld32(frame + 12);
    hdr->experiment_id = ld64(frame + 16);
    hdr->request_id = ld64(frame + 24);
    hdr->payload_len = ld64(frame + 32);

    if (hdr->flags & ~LPZ_WIRE_FLAGS_KNOWN)
        return lpz_error_set(err, LPZ_EFORMAT, "unknown header flags 0x%08x", hdr->flags & ~LPZ_WIRE_FLAGS_KNOWN);
    uint64_t max;
    if (!type_limit(hdr->type, c->control, &max)) {
        const char *name = lpz_msg_type_name(hdr->type);
        if (name)
            return lpz_error_set(err, LPZ_EFORMAT, "message type %u (%s) is reserved for %s sockets, not accepted here",
                                 hdr->type, name, c->control ? "cell" : "master/client control");
        return lpz_error_set(err, LPZ_EFORMAT, "unknown message type %u", hdr->type);
    }
    if (hdr->payload_len > max)
        return lpz_error_set(err, LPZ_EFORMAT, "%s payload of %llu bytes exceeds the limit of %llu bytes",
                             lpz_msg_type_name(hdr->type), (unsigned long long)hdr->payload_len,
                             (unsigned long long)max);
    bool tagged = hdr->flags & LPZ_WIRE_FLAG_HMAC;
    /* payload_len <= 1 GiB here, so the sum cannot overflow. */
    uint64_t want = LPZ_WIRE_HEADER_SIZE + hdr->payload_len + (tagged ? LPZ_WIRE_TAG_SIZE : 0);
    if (want != len)
        return lpz_error_set(err, LPZ_EFORMAT,
                             "%s message length mismatch: header announces %llu payload bytes (%llu in all), "
                             "received %zu",
                             lpz_msg_type_name(hdr->type), (unsigned long long)hdr->payload_len,
                             (unsigned long long)want, len);
    /* An ERROR of experiment 0: a cell server's refusal of a request it
     * could not authenticate (transport/peer.c), which does not tell its
     * experiment. The text names only the sender's: the refusal goes back
     * to it, and without a secret the id is what a request must know. */
    if (c->experiment_id && hdr->experiment_id != c->experiment_id &&
        !(hdr->type == LPZ_MSG_ERROR && hdr->experiment_id == 0)) {
        lpz_error_set(err, LPZ_ENET, "message from experiment %016llx, not this side's experiment",
                      (unsigned long long)hdr->experiment_id);
        lpz_error_hint(err, "a cell answers only peers of its own experiment");
        return LPZ_ENET;
    }
    const uint8_t *body = frame + LPZ_WIRE_HEADER_SIZE;
    uint32_t crc = crc_of(body, (size_t)hdr->payload_len);
    if (crc != hdr->crc)
        return lpz_error_set(err, LPZ_EFORMAT, "%s payload checksum mismatch (CRC-32 %08x, header says %08x)",
                             lpz_msg_type_name(hdr->type), crc, hdr->crc);
    if (c->has_key) {
        if (!tagged) {
            lpz_error_set(err, LPZ_ENET, "%s message carries no authentication tag, but a shared secret is set",
                          lpz_msg_type_name(hdr->type));
            lpz_error_hint(err, "configure the same secret on both sides");
            return LPZ_ENET;
        }
        uint8_t tag[LPZ_WIRE_TAG_SIZE];
        lpz_sha256_ctx s;
        lpz_hmac_start(&c->key, &s);
        lpz_sha256_update(&s, body, (size_t)hdr->payload_len);
        lpz_sha256_update(&s, frame, LPZ_WIRE_HEADER_SIZE);
        lpz_hmac_finish(&c->key, &s, tag);
        if (!lpz_ct_equal(tag, body + hdr->payload_len, LPZ_WIRE_TAG_SIZE)) {
            lpz_error_set(err, LPZ_ENET, "%s message failed authentication (HMAC mismatch)",
                          lpz_msg_type_name(hdr->type));
            lpz_error_hint(err, "the peer uses a different shared secret");
            return LPZ_ENET;
        }
    } else if (tagged) {
        lpz_error_set(err, LPZ_ENET, "%s message carries an authentication tag, but no shared secret is set here",
                      lpz_msg_type_name(hdr->type));
        lpz_error_hint(err, "configure the same secret on both sides");
        return LPZ_ENET;
    }
    *payload = body;
    return LPZ_OK;
}

/* ---- ERROR payloads ---- */

size_t lpz_wire_error_encode(uint8_t *out, int code, const char *text)
{
    size_t n = text ? strnlen(text, LPZ_WIRE_MAX_ERROR_TEXT) : 0;
    st32(out, (uint32_t)code);
    st32(out + 4, (uint32_t)n);
    if (n)
        memcpy(out + 8, text, n);
    return 8 + n;
}

int lpz_wire_error_decode(const uint8_t *payload, size_t len, int *code, char *text, size_t text_size,
                          lpz_error *err)
{
    lpz_cursor c = lpz_cursor_reader(payload, len);
    uint32_t ucode = 0, n = 0;
    const uint8_t *s = NULL;
    lpz_get_u32(&c, &ucode);
    lpz_get_u32(&c, &n);
    if (c.failed)
        return lpz_error_set(err, LPZ_EFORMAT, "ERROR payload truncated: %zu bytes, at least 8 needed", len);
    if (n > LPZ_WIRE_MAX_ERROR_TEXT || n != lpz_cursor_left(&c))
        return lpz_error_set(err, LPZ_EFORMAT, "ERROR payload announces %u text bytes, %zu follow", n,
                             lpz_cursor_left(&c));
    lpz_get_bytes(&c, n, &s);
    if (ucode > 255)
        return lpz_error_set(err, LPZ_EFORMAT, "ERROR payload has an invalid status code %u", ucode);
    *code = (int)ucode;
    if (text && text_size) {
        size_t k = n < text_size - 1 ? n : text_size - 1;
        for (size_t i = 0; i < k; i++)
            text[i] = (s[i] >= 0x20 && s[i] < 0x7f) ? (char)s[i] : '?';
        text[k] = '\0';
    }
    return LPZ_OK;
}

/* ---- cursor ---- */

static bool take(lpz_cursor *c, size_t n, uint8_t **p)
{
    if (c->failed || n > c->len - c->pos) {
        c->failed = true;
        return false;
    }
    *p = c->p + c->pos;
    c->pos += n;
    return true;
}

bool lpz_get_u8(lpz_cursor *c, uint8_t *v)
{
    uint8_t *p;
    if (!take(c, 1, &p))
        return false;
    *v = p[0];
    return true;
}
bool lpz_get_u16(lpz_cursor *c, uint16_t *v)
{
    uint8_t *p;
    if (!take(c, 2, &p))
        return false;
    *v = ld16(p);
    return true;
}
bool lpz_get_u32(lpz_cursor *c, uint32_t *v)
{
    uint8_t *p;
    if (!take(c, 4, &p))
        return false;
    *v = ld32(p);
    return true;
}
bool lpz_get_u64(lpz_cursor *c, uint64_t *v)
{
    uint8_t *p;
    if (!take(c, 8, &p))
        return false;
    *v = ld64(p);
    return true;
}
bool lpz_get_i64(lpz_cursor *c, int64_t *v)
{
    uint64_t u;
    if (!lpz_get_u64(c, &u))
        return false;
    memcpy(v, &u, sizeof u);
    return true;
}
bool lpz_get_f64(lpz_cursor *c, double *v)
{
    uint64_t u;
    if (!lpz_get_u64(c, &u))
        return false;
    memcpy(v, &u, sizeof u);
    return true;
}
bool lpz_get_bytes(lpz_cursor *c, size_t n, const uint8_t **out)
{
    uint8_t *p;
    if (!take(c, n, &p))
        return false;
    *out = p;
    return true;
}
bool lpz_get_f32s(lpz_cursor *c, float *dst, size_t n)
{
    uint8_t *p;
    if (n > (SIZE_MAX / 4) || !take(c, n * 4, &p)) {
        c->failed = true;
        return false;
    }
    if (!dst)
        return true;
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    memcpy(dst, p, n * 4);
#else
    for (size_t i = 0; i < n; i++) {
        uint32_t u = ld32(p + 4 * i);
        memcpy(dst + i, &u, 4);
    }
#endif
    return true;
}

bool lpz_put_u8(lpz_cursor *c, uint8_t v)
{
    uint8_t *p;
    if (!take(c, 1, &p))
        return false;
    p[0] = v;
    return true;
}
bool lpz_put_u16(lpz_cursor *c, uint16_t v)
{
    uint8_t *p;
    if (!take(c, 2, &p))
        return false;
    st16(p, v);
    return true;
}
bool lpz_put_u32(lpz_cursor *c, uint32_t v)
{
    uint8_t *p;
    if (!take(c, 4, &p))
        return false;
    st32(p, v);
    return true;
}
bool lpz_put_u64(lpz_cursor *c, uint64_t v)
{
    uint8_t *p;
    if (!take(c, 8, &p))
        return false;
    st64(p, v);
    return true;
}
bool lpz_put_i64(lpz_cursor *c, int64_t v)
{
    uint64_t u;
    memcpy(&u, &v, sizeof u);
    return lpz_put_u64(c, u);
}
bool lpz_put_f64(lpz_cursor *c, double v)
{
    uint64_t u;
    memcpy(&u, &v, sizeof u);
    return lpz_put_u64(c, u);
}
bool lpz_put_bytes(lpz_cursor *c, const void *src, size_t n)
{
    uint8_t *p;
    if (!take(c, n, &p))
        return false;
    if (n)
        memcpy(p, src, n);
    return true;
}
bool lpz_put_f32s(lpz_cursor *c, const float *src, size_t n)
{
    uint8_t *p;
    if (n > (SIZE_MAX / 4) || !take(c, n * 4, &p)) {
        c->failed = true;
        return false;
    }
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    /* p == src: the array already sits where it goes (a population
     * re-encoded in place, lpz_peer_server_republish). */
    if (n && (const void *)p != (const void *)src)
        memcpy(p, src, n * 4);
#else
    for (size_t i = 0; i < n; i++) {
        uint32_t u;
        memcpy(&u, src + i, 4);
        st32(p + 4 * i, u);
    }
#endif
    return true;
}
