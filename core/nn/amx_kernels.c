/* core/nn/amx_kernels.c - matrix products on the AMX tile unit in bf16
 * limbs with fp32 accumulation (see amx_kernels.h for the precision and why).
 * Compiled with AMX and AVX-512 BF16 flags (CMakeLists.txt); callers check
 * nn_amx_available() first.
 *
 * A product C [M x N] = A [M x K] B [K x N] runs as:
 * - A packed once into 16 x 32 bf16 tiles (limb by limb: x = hi + lo,
 *   hi = bf16(x), lo = bf16(x - hi)), zero-padded to whole tiles;
 * - for each pair of 16-column blocks of C: B's two column blocks packed
 *   into the VNNI layout TDPBF16PS wants (row p of a tile holds the pairs
 *   (B[2p][n], B[2p+1][n]) for its 16 columns), then for each pair of
 *   16-row blocks of A a 32 x 32 block of C in four accumulator tiles:
 *   per 32-wide step of the reduction hi x hi, then lo x hi and hi x lo
 *   (three products of the two limbs, lo x lo dropped: "high"), or hi x hi
 *   alone (one limb: "medium");
 * - K in chunks of KC_TILES steps: a chunk of B's panel (2 x 8 x 2 KB for
 *   two limbs) stays in L1 while every row block of A passes; the
 *   accumulators go to an fp32 buffer between chunks;
 * - the finished 32-column stripe written to C by AVX-512 with masks for
 *   the edges: + bias[n], and + the old C when adding.
 * Every element's sum runs in one fixed order per shape: results are
 * deterministic and independent of threads.
 */
#include "nn/amx_kernels.h"
#include "nn/internal.h"

const char *nn_amx_status_text(nn_amx_status_t s)
{
    switch (s) {
    case NN_AMX_OK: return "AMX-BF16 available";
    case NN_AMX_NOT_BUILT: return "this build of lpz has no AMX kernels (its compiler could not build them)";
    case NN_AMX_NO_CPU: return "this CPU has no AMX-BF16 (or the OS does not enable AVX-512)";
    default: return "the kernel did not grant the AMX tile state (Linux 5.16 or later is needed)";
    }
}

#ifdef LPZ_NO_AMX

nn_amx_status_t nn_amx_status(void)
{
    return NN_AMX_NOT_BUILT;
}

int nn_amx_available(void)
{
    return 0;
}

int nn_amx_gemm(int limbs, int64_t M, int64_t N, int64_t K, const float *a, int64_t a_rs, int64_t a_cs,
                const float *b, int64_t b_rs, int64_t b_cs, const float *bias, float *c, int64_t ldc, int add)
{
    (void)limbs, (void)M, (void)N, (void)K, (void)a, (void)a_rs, (void)a_cs, (void)b, (void)b_rs, (void)b_cs;
    (void)bias, (void)c, (void)ldc, (void)add;
    return -1;
}

#else

#include "nn/bf16_split.h"
#include "nn/simd_transpose.h"

#include <immintrin.h>
#include <pthread.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#define ARCH_REQ_XCOMP_PERM 0x1023
#define XFEATURE_XTILEDATA 18

#define TR 16      /* rows of a tile */
#define TK 32      /* bf16 reduction elements per tile row (64 bytes) */
#define TILE 512   /* bf16 elements per tile */
#define KC_TILES 8 /* reduction steps per chunk */

#define INLINE static inline __attribute__((always_inline))

typedef struct {
    uint8_t palette, start_row;
    uint8_t reserved[14];
    uint16_t colsb[16];
    uint8_t rows[16];
} tilecfg;

/* ---- availability --------------------------------------------------------- */

static nn_amx_status_t amx_status = NN_AMX_NO_CPU;
static pthread_once_t amx_once = PTHREAD_ONCE_INIT;

static void amx_init(void)
{
    unsigned a, b, c, d;
    /* leaf 1: ECX bit 27 OSXSAVE; then XCR0 must enable the SSE, AVX and
     * the three AVX-512 states (bits 1, 2, 5, 6, 7) */
    __asm__ volatile("cpuid" : "=a"(a), "=b"(b), "=c"(c), "=d"(d) : "a"(1), "c"(0));
    if (!(c >> 27 & 1))
        return;
    unsigned xlo, xhi;
    __asm__ volatile("xgetbv" : "=a"(xlo), "=d"(xhi) : "c"(0));
    if ((xlo & 0xE6) != 0xE6)
        return;
    /* leaf 7.0: EDX bit 22 AMX-BF16, bit 24 AMX-TILE; EBX bit 16 AVX512F, 17 DQ, 30 BW;
     * leaf 7.1: EAX bit 5 AVX512_BF16 */
    __asm__ volatile("cpuid" : "=a"(a), "=b"(b), "=c"(c), "=d"(d) : "a"(0));
    if (a < 7)
        return;
    __asm__ volatile("cpuid" : "=a"(a), "=b"(b), "=c"(c), "=d"(d) : "a"(7), "c"(0));
    int tile = (d >> 22 & 1) && (d >> 24 & 1), avx512 = (b >> 16 & 1) && (b >> 17 & 1) && (b >> 30 & 1);
    unsigned max7 = a;
    __asm__ volatile("cpuid" : "=a"(a), "=b"(b), "=c"(c), "=d"(d) : "a"(7), "c"(1));
    int bf16 = max7 >= 1 && (a >> 5 & 1);
    if (!tile || !avx512 || !bf16)
        return;
    /* Linux hands out the 8 KB tile state only on request (5.16 and later);
     * it fails where the kernel or the hypervisor does not support it */
    amx_status = syscall(SYS_arch_prctl, ARCH_REQ_XCOMP_PERM, XFEATURE_XTILEDATA) == 0 ? NN_AMX_OK : NN_AMX_NO_OS;
}

nn_amx_status_t nn_amx_status(void)
{
    pthread_once(&amx_once, amx_init);
    return amx_status;
}

int nn_amx_available(void)
{
    return nn_amx_status() == NN_AMX_OK;
}

/* ---- packing ----------------------------------------------------------------- */

/* A tile's 16 rows of 32 bf16 per limb into out_hi/out_lo, transposed
 * first (as 16 x 16 pairs) when tr. */
INLINE void store_rows(int limbs, int tr, __m512i h[16], __m512i l[16], uint16_t *out_hi, uint16_t *out_lo)
{
    if (tr) {
        nn_tr16(h);
        if (limbs == 2)
            nn_tr16(l);
    }
    for (int i = 0; i < 16; i++) {
        _mm512_store_si512(out_hi + i * TK, h[i]);
        if (limbs == 2)
            _mm512_store_si512(out_lo + i * TK, l[i]);
    }
}

/* Rows along the reduction: s(i, k) = src[i rs + k] for tile row i (0..15,
 * valid below nr) and k in [k0, k0 + 32) (valid below K). out_hi/out_lo
 * receive 16 rows of 32 bf16 (64 bytes). With tr, the 16 x 16 pairs are
 * transposed first (row p of the result holds pair p of every row i). */
INLINE void pack_rows(int limbs, int tr, const float *src, ptrdiff_t rs, int nr, int64_t k0, int64_t K,
                      uint16_t *out_hi, uint16_t *out_lo)
{
    int64_t kv = K - k0;
    __mmask16 m0 = kv >= 16 ? 0xFFFF : (__mmask16)((1u << (kv > 0 ? kv : 0)) - 1);
    __mmask16 m1 = kv >= 32 ? 0xFFFF : (__mmask16)((1u << (kv > 16 ? kv - 16 : 0)) - 1);
    __m512i h[16], l[16];
    for (int i = 0; i < 16; i++) {
        if (i >= nr) {
            h[i] = l[i] = _mm512_setzero_si512();
            continue;
        }
        const float *p = src + i * rs + k0;
        __m256i h0, h1, l0, l1;
        nn_bf16_split16(limbs, _mm512_maskz_loadu_ps(m0, p), &h0, &l0);
        nn_bf16_split16(limbs, _mm512_maskz_loadu_ps(m1, p + 16), &h1, &l1);
        h[i] = nn_cat256(h0, h1);
        if (limbs == 2)
            l[i] = nn_cat256(l0, l1);
    }
    store_rows(limbs, tr, h, l, out_hi, out_lo);
}

/* Rows along the other index: s(k, j) = src[k rs + j] for k in [k0, k0 + 32)
 * (valid below K) and j in 0..15 (valid below nc). Row p of the output
 * holds the pairs (s(k0 + 2p, j), s(k0 + 2p + 1, j)) for j = 0..15 (the
 * VNNI layout); with tr, transposed (row j holds s(k0 .. k0 + 31, j)). */
INLINE void pack_pairs(int limbs, int tr, const float *src, ptrdiff_t rs, int nc, int64_t k0, int64_t K,
                       uint16_t *out_hi, uint16_t *out_lo)
{
    const __m512i idx = _mm512_set_epi16(31, 15, 30, 14, 29, 13, 28, 12, 27, 11, 26, 10, 25, 9, 24, 8, 23, 7,
                                         22, 6, 21, 5, 20, 4, 19, 3, 18, 2, 17, 1, 16, 0);
    __mmask16 mc = nc >= 16 ? 0xFFFF : (__mmask16)((1u << nc) - 1);
    __m512i h[16], l[16];
    for (int p = 0; p < 16; p++) {
        int64_t k = k0 + 2 * p;
        __m512 a = k < K ? _mm512_maskz_loadu_ps(mc, src + k * rs) : _mm512_setzero_ps();
        __m512 b = k + 1 < K ? _mm512_maskz_loadu_ps(mc, src + (k + 1) * rs) : _mm512_setzero_ps();
        __m256i ha, hb, la, lb;
        nn_bf16_split16(limbs, a, &ha, &la);
        nn_bf16_split16(limbs, b, &hb, &lb);
        h[p] = _mm512_permutexvar_epi16(idx, nn_cat256(ha, hb));
        if (limbs == 2)
            l[p] = _mm512_permutexvar_epi16(idx, nn_cat256(la, lb));
    }
    store_rows(limbs, tr, h, l, out_hi, out_lo);
}

/* Tile (block, kb) of an operand: 16 indices of its non-reduction
 * dimension from i0 (valid below n) and 32 of the reduction from kb * 32.
 * x(i, k) = src[i si + k sk], with si == 1 or sk == 1. vnni: the B
 * layout (pairs along k); else the A layout (rows along k). */
static void pack_tile(int limbs, int vnni, const float *src, ptrdiff_t si, ptrdiff_t sk, int64_t i0,
                      int64_t n, int64_t kb, int64_t K, uint16_t *out)
{
    int nv = n - i0 < 16 ? (int)(n - i0) : 16;
    int64_t k0 = kb * TK;
    uint16_t *lo = out + TILE;
    if (sk == 1) /* rows along k: A as is, B transposed */
        pack_rows(limbs, vnni, src + i0 * si, si, nv, k0, K, out, lo);
    else /* rows along i: B as is, A transposed */
        pack_pairs(limbs, !vnni, src + i0, sk, nv, k0, K, out, lo);
}

/* ---- the tile kernel ---------------------------------------------------------- */

/* One 32-step... chunk of the reduction for a (2 or 1) x (2 or 1) block of
 * 16 x 16 accumulator tiles: tiles 0..3 = C (m, n) at 2 m + n, 4..5 = A's
 * row blocks, 6..7 = B's column blocks. a: the row block's packed tiles
 * for kb = 0.. (stride ast bf16 per block row); b likewise. acc: fp32
 * stripe, row stride 32 floats (128 bytes), first = zero the accumulators
 * instead of loading them. */
INLINE void block(int limbs, int twom, int twon, int first, int64_t nk, const uint16_t *a0,
                  const uint16_t *a1, const uint16_t *b0, const uint16_t *b1, float *acc)
{
    const int ts = limbs * TILE; /* bf16 per (block, kb) */
    /* OP(tile, its place in acc) for each accumulator in use (tile numbers
     * must be constants) */
#define EACH_C(OP)                                                                                                 \
    do {                                                                                                           \
        OP(0, acc);                                                                                                \
        if (twon)                                                                                                  \
            OP(1, acc + 16);                                                                                       \
        if (twom) {                                                                                                \
            OP(2, acc + 16 * 32);                                                                                  \
            if (twon)                                                                                              \
                OP(3, acc + 16 * 32 + 16);                                                                         \
        }                                                                                                          \
    } while (0)
#define C_ZERO(t, p) _tile_zero(t)
#define C_LOAD(t, p) _tile_loadd(t, p, 128)
#define C_STORE(t, p) _tile_stored(t, p, 128)
    /* every accumulator += its row block of A (tile 4 or 5) x column block of B (6 or 7) */
#define DP_ALL()                                                                                                   \
    do {                                                                                                           \
        _tile_dpbf16ps(0, 4, 6);                                                                                   \
        if (twon)                                                                                                  \
            _tile_dpbf16ps(1, 4, 7);                                                                               \
        if (twom) {                                                                                                \
            _tile_dpbf16ps(2, 5, 6);                                                                               \
            if (twon)                                                                                              \
                _tile_dpbf16ps(3, 5, 7);                                                                           \
        }                                                                                                          \
    } while (0)
    if (first)
        EACH_C(C_ZERO);
    else
        EACH_C(C_LOAD);
    for (int64_t kb = 0; kb < nk; kb++) {
        const uint16_t *pa0 = a0 + kb * ts, *pa1 = a1 + kb * ts, *pb0 = b0 + kb * ts, *pb1 = b1 + kb * ts;
        /* hi x hi */
        _tile_loadd(4, pa0, 64);
        _tile_loadd(6, pb0, 64);
        if (twon)
            _tile_loadd(7, pb1, 64);
        if (twom)
            _tile_loadd(5, pa1, 64);
        DP_ALL();
        if (limbs == 2) {
            /* lo(A) x hi(B) */
            _tile_loadd(4, pa0 + TILE, 64);
            if (twom)
                _tile_loadd(5, pa1 + TILE, 64);
            DP_ALL();
            /* hi(A) x lo(B) */
            _tile_loadd(4, pa0, 64);
            _tile_loadd(6, pb0 + TILE, 64);
            if (twon)
                _tile_loadd(7, pb1 + TILE, 64);
            if (twom)
                _tile_loadd(5, pa1, 64);
            DP_ALL();
        }
    }
    EACH_C(C_STORE);
#undef DP_ALL
#undef C_STORE
#undef C_LOAD
#undef C_ZERO
#undef EACH_C
}

__attribute__((noinline)) static void block_any(int limbs, int twom, int twon, int first, int64_t nk,
                                                const uint16_t *a0, const uint16_t *a1, const uint16_t *b0,
                                                const uint16_t *b1, float *acc)
{
#define B4(L)                                                                                                \
    do {                                                                                                     \
        if (twom && twon)                                                                                    \
            first ? block(L, 1, 1, 1, nk, a0, a1, b0, b1, acc) : block(L, 1, 1, 0, nk, a0, a1, b0, b1, acc); \
        else if (twom)                                                                                       \
            first ? block(L, 1, 0, 1, nk, a0, a1, b0, b1, acc) : block(L, 1, 0, 0, nk, a0, a1, b0, b1, acc); \
        else if (twon)                                                                                       \
            first ? block(L, 0, 1, 1, nk, a0, a1, b0, b1, acc) : block(L, 0, 1, 0, nk, a0, a1, b0, b1, acc); \
        else                                                                                                 \
            first ? block(L, 0, 0, 1, nk, a0, a1, b0, b1, acc) : block(L, 0, 0, 0, nk, a0, a1, b0, b1, acc); \
    } while (0)
    if (limbs == 2)
        B4(2);
    else
        B4(1);
#undef B4
}

/* ---- the product ---------------------------------------------------------------- */

int nn_amx_gemm(int limbs, int64_t M, int64_t N, int64_t K, const float *a, int64_t a_rs, int64_t a_cs,
                const float *b, int64_t b_rs, int64_t b_cs, const float *bias, float *c, int64_t ldc, int add)
{
    /* the tile state must be granted first (a tile instruction without it
     * kills the process with SIGILL): once per process, cheap after */
    if (!nn_amx_available() || (limbs != 1 && limbs != 2) || M < 1 || N < 1 || K < 1 || (a_rs != 1 && a_cs != 1) ||
        (b_rs != 1 && b_cs != 1))
        return -1;
    int64_t MB = (M + 15) / 16, NB = (N + 15) / 16, KB = (K + TK - 1) / TK;
    int64_t MBp = (MB + 1) / 2 * 2;
    size_t ts = (size_t)limbs * TILE; /* bf16 per (block, kb) */
    size_t a_bytes = (size_t)MB * KB * ts * 2, b_bytes = 2 * (size_t)KB * ts * 2;
    size_t acc_bytes = (size_t)MBp * 16 * 32 * sizeof(float);
    char *buf = nn_thread_scratch(NN_SCRATCH_AMX, a_bytes + b_bytes + acc_bytes);
    if (!buf)
        return -1;
    uint16_t *pa = (uint16_t *)buf, *pb = (uint16_t *)(buf + a_bytes);
    float *acc = (float *)(buf + a_bytes + b_bytes);

    tilecfg cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.palette = 1;
    for (int t = 0; t < 8; t++) {
        cfg.rows[t] = 16;
        cfg.colsb[t] = 64;
    }
    _tile_loadconfig(&cfg);

    for (int64_t mb = 0; mb < MB; mb++)
        for (int64_t kb = 0; kb < KB; kb++)
            pack_tile(limbs, 0, a, a_rs, a_cs, mb * 16, M, kb, K, pa + (mb * KB + kb) * ts);

    for (int64_t nb = 0; nb < NB; nb += 2) {
        int twon = nb + 1 < NB;
        for (int j = 0; j <= twon; j++)
            for (int64_t kb = 0; kb < KB; kb++)
                pack_tile(limbs, 1, b, b_cs, b_rs, (nb + j) * 16, N, kb, K, pb + (j * KB + kb) * ts);
        for (int64_t kc = 0; kc < KB; kc += KC_TILES) {
            int64_t nk = KB - kc < KC_TILES ? KB - kc : KC_TILES;
            const uint16_t *b0 = pb + kc * ts, *b1 = pb + (KB + kc) * ts;
            for (int64_t mb = 0; mb < MB; mb += 2) {
                int twom = mb + 1 < MB;
                const uint16_t *a0 = pa + (mb * KB + kc) * ts, *a1 = a0 + KB * ts;
                block_any(limbs, twom, twon, kc == 0, nk, a0, a1, b0, b1, acc + mb * 16 * 32);
            }
        }
        /* the stripe's columns nb * 16 .. + 32 into C */
        int64_t n0 = nb * 16;
        int nc = N - n0 < 32 ? (int)(N - n0) : 32;
        __mmask16 k0 = nc >= 16 ? 0xFFFF : (__mmask16)((1u << nc) - 1);
        __mmask16 k1 = nc >= 32 ? 0xFFFF : (__mmask16)((1u << (nc > 16 ? nc - 16 : 0)) - 1);
        __m512 bv0 = bias ? _mm512_maskz_loadu_ps(k0, bias + n0) : _mm512_setzero_ps();
        __m512 bv1 = bias ? _mm512_maskz_loadu_ps(k1, bias + n0 + 16) : _mm512_setzero_ps();
        for (int64_t m = 0; m < M; m++) {
            float *cr = c + m * ldc + n0;
            __m512 v0 = _mm512_add_ps(_mm512_load_ps(acc + m * 32), bv0);
            __m512 v1 = _mm512_add_ps(_mm512_maskz_load_ps(k1, acc + m * 32 + 16), bv1);
            if (add) {
                v0 = _mm512_add_ps(v0, _mm512_maskz_loadu_ps(k0, cr));
                v1 = _mm512_add_ps(v1, _mm512_maskz_loadu_ps(k1, cr + 16));
            }
            _mm512_mask_storeu_ps(cr, k0, v0);
            if (k1)
                _mm512_mask_storeu_ps(cr + 16, k1, v1);
        }
    }
    _tile_release();
    return 0;
}

#endif /* LPZ_NO_AMX */
