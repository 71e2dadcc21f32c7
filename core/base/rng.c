/* core/base/rng.c - xoshiro256** with splitmix64 seeding; no global state. */
#include <lpz/rng.h>

#include "base/rng_internal.h"

#include <math.h>
#include <string.h>

static uint64_t splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static inline uint64_t rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

void lpz_rng_seed(lpz_rng *rng, uint64_t seed, uint64_t stream)
{
    uint64_t x = seed ^ (splitmix64(&(uint64_t){stream + 0x632be59bd9b4e019ULL}));
    for (int i = 0; i < 4; i++)
        rng->s[i] = splitmix64(&x);
    rng->has_spare = 0;
    rng->spare = 0.0;
}

uint64_t lpz_rng_u64(lpz_rng *rng)
{
    uint64_t *s = rng->s;
    uint64_t result = rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

uint64_t lpz_rng_below(lpz_rng *rng, uint64_t n)
{
    if (n <= 1)
        return 0;
    /* Rejection sampling on the top of the range keeps it unbiased. */
    uint64_t limit = UINT64_MAX - UINT64_MAX % n;
    uint64_t r;
    do
        r = lpz_rng_u64(rng);
    while (r >= limit);
    return r % n;
}

double lpz_rng_uniform(lpz_rng *rng)
{
    return (double)(lpz_rng_u64(rng) >> 11) * 0x1.0p-53;
}

/* ---- normal deviates: Box-Muller without libm ------------------------------
 *
 * z0 = r cos(2 pi u2), z1 = r sin(2 pi u2), r = sqrt(-2 ln u1), for u1 in
 * (0, 1] and u2 in [0, 1). ln, cos and sin come from polynomials (relative
 * error below 1e-14, far under float's 6e-8) instead of libm's log and
 * sincos (45 -> 13 ns per deviate; lpz_rng_fill_normal's blocks 3 ns on
 * AVX-512 against 8-9 ns without, measured side by side): the trainer
 * draws ~1.3 million deviates per cell iteration of the quick start and
 * glibc's sincos and log were 2.3% of its CPU time. */

/* The polynomials' coefficients, highest power first: ln m = 2 s (1 + s^2/3
 * + ... + s^14/15); sin th = th - th w (1/3! - w/5! + ... + w^7/17!) and
 * cos th = 1 - w (1/2! - w/4! + ... + w^7/16!) with w = th^2. */
static const double LN_C[] = {1.0 / 15, 1.0 / 13, 1.0 / 11, 1.0 / 9, 1.0 / 7, 1.0 / 5, 1.0 / 3, 1.0};
static const double SIN_C[] = {1.0 / 355687428096000.0, 1.0 / 1307674368000.0, 1.0 / 6227020800.0,
                               1.0 / 39916800.0,        1.0 / 362880.0,        1.0 / 5040.0,
                               1.0 / 120.0,             1.0 / 6.0};
static const double COS_C[] = {1.0 / 20922789888000.0, 1.0 / 87178291200.0, 1.0 / 479001600.0, 1.0 / 3628800.0,
                               1.0 / 40320.0,          1.0 / 720.0,         1.0 / 24.0,        1.0 / 2.0};

/* c[0] x^(n-1) + c[1] x^(n-2) + ... + c[n-1] by Horner's rule (n is a
 * constant where it is inlined: the loop unrolls). */
static inline double horner(const double *c, int n, double x)
{
    double p = c[0];
    for (int i = 1; i < n; i++)
        p = p * x + c[i];
    return p;
}

/* ln(u) for u in [2^-53, 1]: u = m 2^e with m in [sqrt(1/2), sqrt(2)),
 * ln m = 2 atanh(s) = 2 (s + s^3/3 + ... + s^15/15), s = (m - 1)/(m + 1),
 * |s| <= 0.172: the next term is below 3e-14 relative. */
static inline double log_unit(double u)
{
    uint64_t bits;
    memcpy(&bits, &u, sizeof bits);
    int64_t e = (int64_t)((bits >> 52) & 0x7ff) - 1023;
    bits = (bits & 0x000fffffffffffffULL) | 0x3ff0000000000000ULL;
    double m;
    memcpy(&m, &bits, sizeof m);
    if (m > 1.4142135623730951) {
        m *= 0.5;
        e += 1;
    }
    double s = (m - 1.0) / (m + 1.0);
    return (double)e * 0.6931471805599453 + 2.0 * s * horner(LN_C, 8, s * s);
}

/* cos and sin of 2 pi u for u in [0, 1): q = round(4 u) quarter turns plus
 * theta = (4 u - q) pi / 2 in [-pi/4, pi/4] (4 u - q is exact), Taylor
 * series to theta^17 / theta^16 (next terms below 1e-15). */
static inline void sincos_turn(double u, double *c, double *s)
{
    double t = u * 4.0;
    int64_t q = (int64_t)(t + 0.5);
    double th = (t - (double)q) * 1.5707963267948966, w = th * th;
    double sn = th - th * w * horner(SIN_C, 8, -w);
    double cs = 1.0 - w * horner(COS_C, 8, -w);
    switch (q & 3) {
    case 0: *c = cs, *s = sn; break;
    case 1: *c = -sn, *s = cs; break;
    case 2: *c = -cs, *s = -sn; break;
    default: *c = sn, *s = -cs; break;
    }
}

static inline void box_muller(double u1, double u2, double *z0, double *z1)
{
    double r = sqrt(-2.0 * log_unit(u1)), c, s;
    sincos_turn(u2, &c, &s);
    *z0 = r * c;
    *z1 = r * s;
}

/* Two uniforms of one pair, u1 > 0 (drawn again while 0, as always). */
static inline void draw_pair(lpz_rng *rng, double *u1, double *u2)
{
    do
        *u1 = lpz_rng_uniform(rng);
    while (*u1 <= 0.0);
    *u2 = lpz_rng_uniform(rng);
}

double lpz_rng_normal(lpz_rng *rng)
{
    if (rng->has_spare) {
        rng->has_spare = 0;
        return rng->spare;
    }
    double u1, u2, z0, z1;
    draw_pair(rng, &u1, &u2);
    box_muller(u1, u2, &z0, &z1);
    rng->spare = z1;
    rng->has_spare = 1;
    return z0;
}

#define PAIR_BLOCK 64

/* The Box-Muller arithmetic of a block of pairs. Everywhere: box_muller
 * in a tight loop (without the spare-value bookkeeping of lpz_rng_normal).
 * On AVX-512: the same written without branches so that it vectorises:
 * the same operations in the same order, so the same deviates bit for bit
 * (the file is compiled with -ffp-contract=off; test_rng compares the
 * paths double for double): ln's exponent taken as a double from its bits
 * (exact), the mantissa's halving and the quadrant of sin/cos chosen by
 * selects instead of branches. (Built for baseline x86-64 the branch-free
 * form does not vectorise and was 15% slower than the loop.) */
static void box_muller_block_base(const double *u1, const double *u2, double *z0, double *z1, int n)
{
    for (int i = 0; i < n; i++)
        box_muller(u1[i], u2[i], &z0[i], &z1[i]);
}

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define RNG_AVX512 1 /* the AVX-512 block is built (GCC on x86-64) */
#endif

/* The branch-free form of box_muller over a block (inlined into each
 * build below). */
static inline __attribute__((always_inline)) void box_muller_lanes(const double *restrict u1,
                                                                   const double *restrict u2, double *restrict z0,
                                                                   double *restrict z1, int n)
{
    for (int i = 0; i < n; i++) {
        uint64_t bits, eb, mb;
        memcpy(&bits, &u1[i], sizeof bits);
        eb = ((bits >> 52) & 0x7ff) | 0x4330000000000000ULL; /* 2^52 + exponent field */
        mb = (bits & 0x000fffffffffffffULL) | 0x3ff0000000000000ULL;
        double e, m;
        memcpy(&e, &eb, sizeof e);
        memcpy(&m, &mb, sizeof m);
        e = e - 4503599627370496.0 - 1023.0;
        int big = m > 1.4142135623730951;
        m = big ? m * 0.5 : m;
        e = big ? e + 1.0 : e;
        double s = (m - 1.0) / (m + 1.0);
        double r = sqrt(-2.0 * (e * 0.6931471805599453 + 2.0 * s * horner(LN_C, 8, s * s)));
        double t = u2[i] * 4.0;
        int64_t q = (int64_t)(t + 0.5);
        double th = (t - (double)q) * 1.5707963267948966, w = th * th;
        double sn = th - th * w * horner(SIN_C, 8, -w);
        double cs = 1.0 - w * horner(COS_C, 8, -w);
        double a = (q & 1) ? sn : cs, b = (q & 1) ? cs : sn;
        z0[i] = r * (((q + 1) & 2) ? -a : a);
        z1[i] = r * ((q & 2) ? -b : b);
    }
}

/* Built for baseline x86-64 only for test_rng (lpz_rng_box_muller_path 1):
 * the same arithmetic checked on every CPU. */
static void box_muller_block_lanes_base(const double *u1, const double *u2, double *z0, double *z1, int n)
{
    box_muller_lanes(u1, u2, z0, z1, n);
}

#ifdef RNG_AVX512
#pragma GCC push_options
#pragma GCC target("avx512f,avx512dq,avx512vl")
static void box_muller_block_avx512(const double *u1, const double *u2, double *z0, double *z1, int n)
{
    box_muller_lanes(u1, u2, z0, z1, n);
}
#pragma GCC pop_options
#endif

static void (*box_muller_block)(const double *, const double *, double *, double *, int) = box_muller_block_base;

/* Runs at load time, before any thread can draw. */
__attribute__((constructor)) static void pick_box_muller(void)
{
#ifdef RNG_AVX512
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq") &&
        __builtin_cpu_supports("avx512vl"))
        box_muller_block = box_muller_block_avx512;
#endif
}

int lpz_rng_box_muller_path(int path, const double *u1, const double *u2, double *z0, double *z1, int n)
{
    switch (path) {
    case 0:
        for (int i = 0; i < n; i++)
            box_muller(u1[i], u2[i], &z0[i], &z1[i]);
        return 1;
    case 1:
        box_muller_block_lanes_base(u1, u2, z0, z1, n);
        return 1;
#ifdef RNG_AVX512
    case 2:
        if (box_muller_block != box_muller_block_avx512)
            return 0;
        box_muller_block_avx512(u1, u2, z0, z1, n);
        return 1;
#endif
    default:
        return 0;
    }
}

void lpz_rng_fill_normal(lpz_rng *rng, float *out, size_t n, float mean, float std)
{
    size_t i = 0;
    if (n && rng->has_spare) {
        out[i++] = mean + std * (float)lpz_rng_normal(rng);
    }
    /* Whole pairs in blocks: the uniforms in the order lpz_rng_normal draws
     * them, so the deviates are the same as n calls of it. */
    double u1[PAIR_BLOCK], u2[PAIR_BLOCK], z0[PAIR_BLOCK], z1[PAIR_BLOCK];
    while (n - i >= 2) {
        size_t pairs = (n - i) / 2;
        int k = pairs < PAIR_BLOCK ? (int)pairs : PAIR_BLOCK;
        for (int j = 0; j < k; j++)
            draw_pair(rng, &u1[j], &u2[j]);
        box_muller_block(u1, u2, z0, z1, k);
        for (int j = 0; j < k; j++) {
            out[i++] = mean + std * (float)z0[j];
            out[i++] = mean + std * (float)z1[j];
        }
    }
    if (i < n)
        out[i] = mean + std * (float)lpz_rng_normal(rng);
}

void lpz_rng_fill_uniform(lpz_rng *rng, float *out, size_t n, float lo, float hi)
{
    for (size_t i = 0; i < n; i++)
        out[i] = lo + (hi - lo) * (float)lpz_rng_uniform(rng);
}

void lpz_rng_split(lpz_rng *rng, lpz_rng *child)
{
    uint64_t x = lpz_rng_u64(rng);
    for (int i = 0; i < 4; i++)
        child->s[i] = splitmix64(&x);
    child->has_spare = 0;
    child->spare = 0.0;
}
