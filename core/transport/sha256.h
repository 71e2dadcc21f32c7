/* core/transport/sha256.h - SHA-256 (FIPS 180-4) and HMAC-SHA256 (RFC 2104).
 *
 * Used by the wire format to authenticate messages when a shared secret is
 * configured. Self-contained (no OpenSSL; SHA-NI when the CPU has it): the
 * one hash the protocol needs,
 * checked against the FIPS 180-2 and RFC 4231 test vectors in
 * tests/transport. Not for passwords or key derivation.
 */
#ifndef LPZ_TRANSPORT_SHA256_H
#define LPZ_TRANSPORT_SHA256_H

#include <stddef.h>
#include <stdint.h>

#define LPZ_SHA256_SIZE 32  /* digest bytes */
#define LPZ_SHA256_BLOCK 64 /* block bytes */

/* Streaming state; copyable (a copy continues independently). */
typedef struct lpz_sha256_ctx {
    uint32_t h[8];
    uint64_t total; /* bytes absorbed so far */
    uint8_t buf[LPZ_SHA256_BLOCK];
    size_t fill; /* bytes waiting in buf */
} lpz_sha256_ctx;

void lpz_sha256_init(lpz_sha256_ctx *s);
void lpz_sha256_update(lpz_sha256_ctx *s, const void *data, size_t len);
void lpz_sha256_final(lpz_sha256_ctx *s, uint8_t out[LPZ_SHA256_SIZE]);
/* One call: out = SHA-256(data). */
void lpz_sha256(const void *data, size_t len, uint8_t out[LPZ_SHA256_SIZE]);

/* A key made ready for HMAC: the hash states after absorbing key^ipad and
 * key^opad, so that each message costs only its own bytes. */
typedef struct lpz_hmac_key {
    lpz_sha256_ctx inner;
    lpz_sha256_ctx outer;
} lpz_hmac_key;

/* Prepares key (any length; longer than a block is hashed first, RFC 2104). */
void lpz_hmac_key_init(lpz_hmac_key *k, const void *key, size_t key_len);
/* Streaming HMAC: start, lpz_sha256_update() the message, finish. */
void lpz_hmac_start(const lpz_hmac_key *k, lpz_sha256_ctx *s);
void lpz_hmac_finish(const lpz_hmac_key *k, lpz_sha256_ctx *s, uint8_t out[LPZ_SHA256_SIZE]);
/* One call: out = HMAC-SHA256(key, msg). */
void lpz_hmac_sha256(const void *key, size_t key_len, const void *msg, size_t msg_len, uint8_t out[LPZ_SHA256_SIZE]);

/* Which block function runs: the CPU's SHA extensions (x86-64 sha_ni,
 * chosen automatically when present) or portable C. mode 0 forces the
 * portable one, 1 goes back to the automatic choice, -1 only asks.
 * Returns 1 when the SHA extensions are in use. For tests and benchmarks
 * (both give the same digests). */
int lpz_sha256_accelerated(int mode);

/* 1 when the n bytes of a and b are equal, 0 otherwise, in time that does
 * not depend on where they differ (for comparing tags). */
int lpz_ct_equal(const void *a, const void *b, size_t n);

/* Overwrites n bytes with zeros in a way the compiler may not drop (for
 * key material). */
void lpz_secure_zero(void *p, size_t n);

#endif
