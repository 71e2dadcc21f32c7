/* core/base/rng.c - xoshiro256** with splitmix64 seeding; no global state. */
#include <lpz/rng.h>

#include <math.h>

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

double lpz_rng_normal(lpz_rng *rng)
{
    if (rng->has_spare) {
        rng->has_spare = 0;
        return rng->spare;
    }
    double u1, u2;
    do
        u1 = lpz_rng_uniform(rng);
    while (u1 <= 0.0);
    u2 = lpz_rng_uniform(rng);
    double r = sqrt(-2.0 * log(u1));
    double a = 2.0 * M_PI * u2;
    rng->spare = r * sin(a);
    rng->has_spare = 1;
    return r * cos(a);
}

void lpz_rng_fill_normal(lpz_rng *rng, float *out, size_t n, float mean, float std)
{
    for (size_t i = 0; i < n; i++)
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
