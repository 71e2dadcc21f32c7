/* core/transport/sha256.c - SHA-256 and HMAC-SHA256, straight from
 * FIPS 180-4 section 6.2 and RFC 2104. Portable C, big-endian word loads;
 * on x86-64 CPUs with the SHA extensions (sha_ni) the block function runs
 * on them instead (about 8x faster: the HMAC over every frame was the
 * cost of a shared secret, docs/protocol.md). */
#include "transport/sha256.h"

#include <string.h>

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <cpuid.h>
#include <immintrin.h>
#define LPZ_SHA_X86 1
#endif

static const uint32_t K[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
};

static inline uint32_t ror(uint32_t x, int n) { return (x >> n) | (x << (32 - n)); }

static void compress(uint32_t h[8], const uint8_t *p)
{
    uint32_t w[64];
    for (int i = 0; i < 16; i++)
        w[i] = (uint32_t)p[4 * i] << 24 | (uint32_t)p[4 * i + 1] << 16 | (uint32_t)p[4 * i + 2] << 8 | p[4 * i + 3];
    for (int i = 16; i < 64; i++) {
        uint32_t s0 = ror(w[i - 15], 7) ^ ror(w[i - 15], 18) ^ (w[i - 15] >> 3);
        uint32_t s1 = ror(w[i - 2], 17) ^ ror(w[i - 2], 19) ^ (w[i - 2] >> 10);
        w[i] = w[i - 16] + s0 + w[i - 7] + s1;
    }
    uint32_t a = h[0], b = h[1], c = h[2], d = h[3], e = h[4], f = h[5], g = h[6], hh = h[7];
    for (int i = 0; i < 64; i++) {
        uint32_t t1 = hh + (ror(e, 6) ^ ror(e, 11) ^ ror(e, 25)) + ((e & f) ^ (~e & g)) + K[i] + w[i];
        uint32_t t2 = (ror(a, 2) ^ ror(a, 13) ^ ror(a, 22)) + ((a & b) ^ (a & c) ^ (b & c));
        hh = g;
        g = f;
        f = e;
        e = d + t1;
        d = c;
        c = b;
        b = a;
        a = t1 + t2;
    }
    h[0] += a;
    h[1] += b;
    h[2] += c;
    h[3] += d;
    h[4] += e;
    h[5] += f;
    h[6] += g;
    h[7] += hh;
}

#ifdef LPZ_SHA_X86
/* The FIPS 180-4 rounds with SHA-NI: the state lives as (ABEF, CDGH);
 * sha256rnds2 does two rounds, sha256msg1/msg2 extend the schedule four
 * words at a time: W[i..i+3] = msg2(msg1(W[i-16..], W[i-12..]) +
 * W[i-7..i-4], W[i-4..i-1]). */
__attribute__((target("sha,sse4.1,ssse3"))) static void compress_shani(uint32_t h[8], const uint8_t *p,
                                                                      size_t blocks)
{
    const __m128i bswap = _mm_set_epi64x(0x0c0d0e0f08090a0bLL, 0x0405060700010203LL);
    __m128i tmp = _mm_shuffle_epi32(_mm_loadu_si128((const __m128i *)&h[0]), 0xB1); /* CDAB */
    __m128i st1 = _mm_shuffle_epi32(_mm_loadu_si128((const __m128i *)&h[4]), 0x1B); /* EFGH */
    __m128i st0 = _mm_alignr_epi8(tmp, st1, 8);                                      /* ABEF */
    st1 = _mm_blend_epi16(st1, tmp, 0xF0);                                           /* CDGH */
    for (; blocks; blocks--, p += LPZ_SHA256_BLOCK) {
        __m128i save0 = st0, save1 = st1, w[4];
        for (int g = 0; g < 4; g++)
            w[g] = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(p + 16 * g)), bswap);
        for (int g = 0; g < 16; g++) {
            __m128i cur;
            if (g < 4) {
                cur = w[g];
            } else {
                /* w[g&3] is group g-4, then g-3, g-2, g-1. */
                __m128i x = _mm_sha256msg1_epu32(w[g & 3], w[(g + 1) & 3]);
                x = _mm_add_epi32(x, _mm_alignr_epi8(w[(g + 3) & 3], w[(g + 2) & 3], 4));
                cur = _mm_sha256msg2_epu32(x, w[(g + 3) & 3]);
                w[g & 3] = cur;
            }
            __m128i msg = _mm_add_epi32(cur, _mm_loadu_si128((const __m128i *)&K[4 * g]));
            st1 = _mm_sha256rnds2_epu32(st1, st0, msg);
            st0 = _mm_sha256rnds2_epu32(st0, st1, _mm_shuffle_epi32(msg, 0x0E));
        }
        st0 = _mm_add_epi32(st0, save0);
        st1 = _mm_add_epi32(st1, save1);
    }
    tmp = _mm_shuffle_epi32(st0, 0x1B);      /* FEBA */
    st1 = _mm_shuffle_epi32(st1, 0xB1);      /* DCHG */
    st0 = _mm_blend_epi16(tmp, st1, 0xF0);   /* DCBA */
    st1 = _mm_alignr_epi8(st1, tmp, 8);      /* HGFE */
    _mm_storeu_si128((__m128i *)&h[0], st0);
    _mm_storeu_si128((__m128i *)&h[4], st1);
}
#endif

/* -1: not decided yet; 0: portable; 1: SHA-NI. */
static int use_shani = -1;

static int shani(void)
{
    int v = __atomic_load_n(&use_shani, __ATOMIC_RELAXED);
    if (v < 0) {
#ifdef LPZ_SHA_X86
        /* CPUID itself: clang before 16 has no "sha" for __builtin_cpu_supports
         * (the build failed with clang 14). Leaf 1 ECX: SSSE3 bit 9, SSE4.1
         * bit 19; leaf 7 EBX: SHA bit 29. */
        unsigned a, b, c, d;
        int sse = __get_cpuid(1, &a, &b, &c, &d) && (c >> 9 & 1) && (c >> 19 & 1);
        v = sse && __get_cpuid_count(7, 0, &a, &b, &c, &d) && (b >> 29 & 1);
#else
        v = 0;
#endif
        __atomic_store_n(&use_shani, v, __ATOMIC_RELAXED);
    }
    return v;
}

int lpz_sha256_accelerated(int mode)
{
    if (mode == 0)
        __atomic_store_n(&use_shani, 0, __ATOMIC_RELAXED);
    else if (mode > 0)
        __atomic_store_n(&use_shani, -1, __ATOMIC_RELAXED);
    return shani();
}

static void compress_blocks(uint32_t h[8], const uint8_t *p, size_t blocks)
{
#ifdef LPZ_SHA_X86
    if (shani()) {
        compress_shani(h, p, blocks);
        return;
    }
#endif
    for (; blocks; blocks--, p += LPZ_SHA256_BLOCK)
        compress(h, p);
}

void lpz_sha256_init(lpz_sha256_ctx *s)
{
    static const uint32_t iv[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
                                   0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};
    memcpy(s->h, iv, sizeof iv);
    s->total = 0;
    s->fill = 0;
}

void lpz_sha256_update(lpz_sha256_ctx *s, const void *data, size_t len)
{
    const uint8_t *p = data;
    s->total += len;
    if (s->fill) {
        size_t take = LPZ_SHA256_BLOCK - s->fill;
        if (take > len)
            take = len;
        memcpy(s->buf + s->fill, p, take);
        s->fill += take;
        p += take;
        len -= take;
        if (s->fill < LPZ_SHA256_BLOCK)
            return;
        compress_blocks(s->h, s->buf, 1);
        s->fill = 0;
    }
    size_t blocks = len / LPZ_SHA256_BLOCK;
    if (blocks) {
        compress_blocks(s->h, p, blocks);
        p += blocks * LPZ_SHA256_BLOCK;
        len -= blocks * LPZ_SHA256_BLOCK;
    }
    if (len) {
        memcpy(s->buf, p, len);
        s->fill = len;
    }
}

void lpz_sha256_final(lpz_sha256_ctx *s, uint8_t out[LPZ_SHA256_SIZE])
{
    uint64_t bits = s->total * 8;
    /* Padding: 0x80, zeros up to 56 mod 64, then the bit length big-endian. */
    uint8_t pad[LPZ_SHA256_BLOCK + 8] = {0x80};
    size_t padlen = (s->fill < 56) ? 56 - s->fill : 120 - s->fill;
    for (int i = 0; i < 8; i++)
        pad[padlen + i] = (uint8_t)(bits >> (56 - 8 * i));
    lpz_sha256_update(s, pad, padlen + 8);
    for (int i = 0; i < 8; i++) {
        out[4 * i] = (uint8_t)(s->h[i] >> 24);
        out[4 * i + 1] = (uint8_t)(s->h[i] >> 16);
        out[4 * i + 2] = (uint8_t)(s->h[i] >> 8);
        out[4 * i + 3] = (uint8_t)s->h[i];
    }
    lpz_secure_zero(s, sizeof *s);
}

void lpz_sha256(const void *data, size_t len, uint8_t out[LPZ_SHA256_SIZE])
{
    lpz_sha256_ctx s;
    lpz_sha256_init(&s);
    lpz_sha256_update(&s, data, len);
    lpz_sha256_final(&s, out);
}

void lpz_hmac_key_init(lpz_hmac_key *k, const void *key, size_t key_len)
{
    uint8_t block[LPZ_SHA256_BLOCK] = {0};
    if (key_len > LPZ_SHA256_BLOCK)
        lpz_sha256(key, key_len, block);
    else if (key_len)
        memcpy(block, key, key_len);
    uint8_t pad[LPZ_SHA256_BLOCK];
    for (int i = 0; i < LPZ_SHA256_BLOCK; i++)
        pad[i] = block[i] ^ 0x36;
    lpz_sha256_init(&k->inner);
    lpz_sha256_update(&k->inner, pad, sizeof pad);
    for (int i = 0; i < LPZ_SHA256_BLOCK; i++)
        pad[i] = block[i] ^ 0x5c;
    lpz_sha256_init(&k->outer);
    lpz_sha256_update(&k->outer, pad, sizeof pad);
    lpz_secure_zero(block, sizeof block);
    lpz_secure_zero(pad, sizeof pad);
}

void lpz_hmac_start(const lpz_hmac_key *k, lpz_sha256_ctx *s) { *s = k->inner; }

void lpz_hmac_finish(const lpz_hmac_key *k, lpz_sha256_ctx *s, uint8_t out[LPZ_SHA256_SIZE])
{
    uint8_t inner[LPZ_SHA256_SIZE];
    lpz_sha256_final(s, inner);
    lpz_sha256_ctx o = k->outer;
    lpz_sha256_update(&o, inner, sizeof inner);
    lpz_sha256_final(&o, out);
}

void lpz_hmac_sha256(const void *key, size_t key_len, const void *msg, size_t msg_len, uint8_t out[LPZ_SHA256_SIZE])
{
    lpz_hmac_key k;
    lpz_sha256_ctx s;
    lpz_hmac_key_init(&k, key, key_len);
    lpz_hmac_start(&k, &s);
    lpz_sha256_update(&s, msg, msg_len);
    lpz_hmac_finish(&k, &s, out);
    lpz_secure_zero(&k, sizeof k);
}

int lpz_ct_equal(const void *a, const void *b, size_t n)
{
    const volatile uint8_t *x = a, *y = b;
    uint8_t d = 0;
    for (size_t i = 0; i < n; i++)
        d |= x[i] ^ y[i];
    return d == 0;
}

void lpz_secure_zero(void *p, size_t n)
{
    volatile uint8_t *v = p;
    while (n--)
        *v++ = 0;
}
