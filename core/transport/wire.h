/* core/transport/wire.h - the lpz network message format (protocol v1).
 *
 * Every message between cells, clients and master is one frame:
 *
 *   offset size  field
 *        0    4  magic "LPZ\0"
 *        4    2  protocol version (u16)          -- offsets 0..5 never change
 *        6    2  message type (u16, lpz_msg_type)
 *        8    4  flags (u32; bit 0 = HMAC tag present, others must be 0)
 *       12    4  CRC-32 (zlib) of the payload
 *       16    8  experiment id (u64; 0 = none)
 *       24    8  request id (u64; a reply echoes its request's)
 *       32    8  payload length in bytes (u64)
 *       40    n  payload (type specific, see docs/protocol.md)
 *     40+n   32  HMAC-SHA256(secret, payload || header) when flag bit 0
 *
 * All integers and floats are little-endian. docs/protocol.md is the full
 * specification; this header is its implementation. Decoding
 * (lpz_wire_open) validates everything and never trusts a length it has not
 * checked; it fails with LPZ_EFORMAT for malformed frames and LPZ_ENET for
 * frames that are well-formed but not for us (other protocol version, other
 * experiment, failed authentication).
 *
 * Also here: a bounded cursor for reading and writing payload fields.
 */
#ifndef LPZ_TRANSPORT_WIRE_H
#define LPZ_TRANSPORT_WIRE_H

#include <lpz/error.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "transport/sha256.h"

#define LPZ_WIRE_VERSION 1u
#define LPZ_WIRE_HEADER_SIZE 40u
#define LPZ_WIRE_TAG_SIZE 32u
#define LPZ_WIRE_FLAG_HMAC 0x1u
#define LPZ_WIRE_FLAGS_KNOWN LPZ_WIRE_FLAG_HMAC

/* Message types. Numbers are part of the protocol and never reused.
 * Types 1-2 travel only between cells, 16-23 only between a master and a
 * client (control sockets, core/distributed); a context accepts and sends
 * only its own class (and ERROR), so a cell server never parses a control
 * message and a control socket never serves populations. */
typedef enum lpz_msg_type {
    LPZ_MSG_GET_POPULATION = 1, /* request: [u32 requester cell] or empty */
    LPZ_MSG_POPULATION = 2,     /* reply: a population (transport/individual.h) */
    LPZ_MSG_ERROR = 3,          /* reply: u32 code, u32 text length, text */
    LPZ_MSG_HELLO = 16,         /* control: master greets a client */
    LPZ_MSG_CHALLENGE = 17,     /* control: client's state and nonce */
    LPZ_MSG_AUTH = 18,          /* control: challenge responses, both ways */
    LPZ_MSG_START_EXPERIMENT = 19, /* control: config, cell, addresses */
    LPZ_MSG_HEARTBEAT = 20,     /* control: master polls, client reports */
    LPZ_MSG_RESULT = 21,        /* control: a finished cell's files */
    LPZ_MSG_STOP = 22,          /* control: stop or release an experiment */
    LPZ_MSG_CHECKPOINT = 23     /* control: a cell's latest checkpoint */
} lpz_msg_type;

/* Payload limits per type (bytes). A frame announcing more is refused
 * before anything else is read. */
#define LPZ_WIRE_MAX_GET_POPULATION 4u
#define LPZ_WIRE_MAX_ERROR_TEXT 1024u
#define LPZ_WIRE_MAX_ERROR (8u + LPZ_WIRE_MAX_ERROR_TEXT)
#define LPZ_WIRE_MAX_POPULATION ((uint64_t)1 << 30) /* 1 GiB */
/* Control payload limits (core/distributed; layouts in docs/distributed.md). */
#define LPZ_WIRE_MAX_HELLO 64u
#define LPZ_WIRE_MAX_CHALLENGE 4096u
#define LPZ_WIRE_MAX_AUTH 128u
#define LPZ_WIRE_MAX_START ((uint64_t)1 << 30)
#define LPZ_WIRE_MAX_HEARTBEAT ((uint64_t)1 << 20)
#define LPZ_WIRE_MAX_RESULT ((uint64_t)1 << 30)
#define LPZ_WIRE_MAX_STOP 64u
#define LPZ_WIRE_MAX_CHECKPOINT ((uint64_t)1 << 30)
/* The largest whole frame any implemented type allows (for receive buffers). */
#define LPZ_WIRE_MAX_FRAME (LPZ_WIRE_HEADER_SIZE + LPZ_WIRE_MAX_POPULATION + LPZ_WIRE_TAG_SIZE)
/* The largest request frame (what a cell server accepts). */
#define LPZ_WIRE_MAX_REQUEST_FRAME 4096u

/* Name of a message type ("GET_POPULATION"), or NULL when unknown. */
const char *lpz_msg_type_name(unsigned type);
/* Payload limit of a type a cell context carries (GET_POPULATION,
 * POPULATION, ERROR); 0 and false otherwise. */
bool lpz_msg_type_limit(unsigned type, uint64_t *max_payload);
/* The same for control contexts (ERROR and types 16-23). */
bool lpz_msg_type_control_limit(unsigned type, uint64_t *max_payload);

/* One side's view of the protocol: which experiment it belongs to and the
 * shared secret, if any. Senders stamp and sign with it; receivers check
 * against it. Read-only after init, so threads may share one. */
typedef struct lpz_wire_ctx {
    uint64_t experiment_id; /* 0: none (send 0, accept any) */
    bool control;           /* master/client control channel (types 16-23) */
    bool has_key;
    lpz_hmac_key key;
} lpz_wire_ctx;

/* secret: NULL or "" for none; otherwise its bytes (without the NUL) are
 * the HMAC key. */
void lpz_wire_ctx_init(lpz_wire_ctx *c, uint64_t experiment_id, const char *secret);
/* The same for a master/client control channel. */
void lpz_wire_ctx_init_control(lpz_wire_ctx *c, uint64_t experiment_id, const char *secret);
/* Wipes the key material. */
void lpz_wire_ctx_clear(lpz_wire_ctx *c);

/* Decoded header fields. */
typedef struct lpz_wire_header {
    uint16_t version;
    uint16_t type;
    uint32_t flags;
    uint32_t crc;
    uint64_t experiment_id;
    uint64_t request_id;
    uint64_t payload_len;
} lpz_wire_header;

/* Bytes of a whole frame with this payload length under ctx. */
size_t lpz_wire_frame_size(const lpz_wire_ctx *c, size_t payload_len);

/* What a sender computes once per payload (CRC and, with a key, the HMAC
 * state after absorbing the payload), so that the same payload can be sent
 * in many frames (one per request id) without hashing it again. */
typedef struct lpz_wire_prepared {
    size_t payload_len;
    uint32_t crc;
    bool has_mac;
    lpz_sha256_ctx mac;
} lpz_wire_prepared;

void lpz_wire_prepare(const lpz_wire_ctx *c, const uint8_t *payload, size_t len, lpz_wire_prepared *p);

/* Writes the 40-byte header to `header` and, when ctx has a key, the
 * 32-byte tag to `tag` (ignored otherwise). */
void lpz_wire_seal_prepared(const lpz_wire_ctx *c, const lpz_wire_prepared *p, unsigned type, uint64_t request_id,
                            uint8_t header[LPZ_WIRE_HEADER_SIZE], uint8_t *tag);

/* Frames a payload that the caller already placed at
 * frame + LPZ_WIRE_HEADER_SIZE; frame must hold
 * lpz_wire_frame_size(c, payload_len) bytes. Fails (LPZ_EINVAL) when the
 * type is not implemented or the payload exceeds its limit. */
int lpz_wire_seal(const lpz_wire_ctx *c, unsigned type, uint64_t request_id, uint8_t *frame, size_t payload_len,
                  lpz_error *err);

/* Validates a received frame of exactly len bytes: magic, version, flags,
 * type, per-type limit, exact length, experiment id (when ctx has one),
 * CRC, HMAC (required when ctx has a key, refused when it has none). On
 * success fills hdr and points *payload into frame. On failure hdr may be
 * partly filled: hdr->request_id is valid when len >= the header size and
 * the magic is right (so an error reply can echo it), otherwise 0. */
int lpz_wire_open(const lpz_wire_ctx *c, const uint8_t *frame, size_t len, lpz_wire_header *hdr,
                  const uint8_t **payload, lpz_error *err);

/* ERROR payloads: code (an lpz_status) and a short text (truncated to
 * LPZ_WIRE_MAX_ERROR_TEXT bytes). encode returns the payload length written
 * to out (which must hold LPZ_WIRE_MAX_ERROR bytes). decode copies the text
 * NUL-terminated into text[text_size], replacing non-printable bytes with
 * '?' (it comes from the network and will be logged). */
size_t lpz_wire_error_encode(uint8_t *out, int code, const char *text);
int lpz_wire_error_decode(const uint8_t *payload, size_t len, int *code, char *text, size_t text_size,
                          lpz_error *err);

/* Bounded cursor over a byte buffer. Every get/put checks the remaining
 * length; the first failure sets `failed` and all later calls do nothing,
 * so a decoder can read a run of fields and check once. Values are
 * little-endian on the wire whatever the host. */
typedef struct lpz_cursor {
    uint8_t *p; /* NULL-safe for readers (const cast inside) */
    size_t len;
    size_t pos;
    bool failed;
} lpz_cursor;

static inline lpz_cursor lpz_cursor_reader(const uint8_t *buf, size_t len)
{
    lpz_cursor c = {(uint8_t *)(uintptr_t)buf, len, 0, false};
    return c;
}
static inline lpz_cursor lpz_cursor_writer(uint8_t *buf, size_t len)
{
    lpz_cursor c = {buf, len, 0, false};
    return c;
}
static inline size_t lpz_cursor_left(const lpz_cursor *c) { return c->failed ? 0 : c->len - c->pos; }

bool lpz_get_u8(lpz_cursor *c, uint8_t *v);
bool lpz_get_u16(lpz_cursor *c, uint16_t *v);
bool lpz_get_u32(lpz_cursor *c, uint32_t *v);
bool lpz_get_u64(lpz_cursor *c, uint64_t *v);
bool lpz_get_i64(lpz_cursor *c, int64_t *v);
bool lpz_get_f64(lpz_cursor *c, double *v);
/* Points *p at the next n bytes (no copy) and skips them. */
bool lpz_get_bytes(lpz_cursor *c, size_t n, const uint8_t **p);
/* Copies n little-endian float32 values into dst (dst may be NULL: skip). */
bool lpz_get_f32s(lpz_cursor *c, float *dst, size_t n);

bool lpz_put_u8(lpz_cursor *c, uint8_t v);
bool lpz_put_u16(lpz_cursor *c, uint16_t v);
bool lpz_put_u32(lpz_cursor *c, uint32_t v);
bool lpz_put_u64(lpz_cursor *c, uint64_t v);
bool lpz_put_i64(lpz_cursor *c, int64_t v);
bool lpz_put_f64(lpz_cursor *c, double v);
bool lpz_put_bytes(lpz_cursor *c, const void *src, size_t n);
/* Writes n floats little-endian. */
bool lpz_put_f32s(lpz_cursor *c, const float *src, size_t n);

#endif
