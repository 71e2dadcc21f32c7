/* tests/inception/inc_test_util.c - see inc_test_util.h. */
#include "inc_test_util.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "inception/inception.h"
#include "io/safetensors.h"

static uint64_t splitmix(uint64_t *s)
{
    uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

void inc_fill_uniform(float *x, int64_t n, uint64_t seed, float lo, float hi)
{
    uint64_t s = seed;
    for (int64_t i = 0; i < n; i++)
        x[i] = lo + (hi - lo) * (float)((double)(splitmix(&s) >> 11) * 0x1.0p-53);
}

float inc_bias_only_beta(int layer, int channel)
{
    return (float)((layer * 7 + channel * 3) % 17) / 16.0f - 0.25f;
}

static int write_weights(const char *path, int random, uint64_t seed, const char *variant, lpz_error *err)
{
    int n = lpz_inception_conv_count();
    int64_t total = 0;
    for (int i = 0; i < n; i++) {
        lpz_inception_conv_spec s;
        lpz_inception_conv_info(i, &s);
        total += (int64_t)s.cout * s.cin * s.kh * s.kw + 4 * s.cout;
    }
    float *data = malloc((size_t)total * sizeof(float));
    lpz_st_tensor *t = calloc((size_t)n * 5, sizeof *t);
    char(*names)[128] = calloc((size_t)n * 5, sizeof *names);
    if (!data || !t || !names) {
        free(data);
        free(t);
        free(names);
        return lpz_error_set(err, LPZ_ENOMEM, "out of memory");
    }
    static const char *const parts[5] = {"conv.weight", "bn.weight", "bn.bias", "bn.running_mean",
                                         "bn.running_var"};
    float *p = data;
    for (int i = 0; i < n; i++) {
        lpz_inception_conv_spec s;
        lpz_inception_conv_info(i, &s);
        int64_t k = (int64_t)s.cin * s.kh * s.kw;
        for (int j = 0; j < 5; j++) {
            lpz_st_tensor *x = &t[i * 5 + j];
            snprintf(names[i * 5 + j], sizeof names[0], "%s.%s", s.name, parts[j]);
            x->name = names[i * 5 + j];
            x->dtype = LPZ_ST_F32;
            x->data = p;
            if (j == 0) {
                x->ndim = 4;
                x->shape[0] = s.cout;
                x->shape[1] = s.cin;
                x->shape[2] = s.kh;
                x->shape[3] = s.kw;
                float a = (float)sqrt(6.0 / (double)k); /* uniform(-a, a): variance 2 / fan_in */
                if (random)
                    inc_fill_uniform(p, s.cout * k, seed + (uint64_t)i, -a, a);
                else
                    for (int64_t e = 0; e < s.cout * k; e++)
                        p[e] = 0.0f;
                p += s.cout * k;
            } else {
                x->ndim = 1;
                x->shape[0] = s.cout;
                for (int o = 0; o < s.cout; o++) {
                    if (j == 1)
                        p[o] = random ? 1.0f : 2.0f;
                    else if (j == 2)
                        p[o] = random ? 0.2f * (float)((o * 37 + i) % 11) / 10.0f - 0.1f
                                      : inc_bias_only_beta(i, o);
                    else if (j == 3)
                        p[o] = random ? 0.0f : 0.2f;
                    else
                        p[o] = random ? 1.0f : 3.0f;
                }
                p += s.cout;
            }
            x->nbytes = (size_t)((j == 0 ? s.cout * k : s.cout) * (int64_t)sizeof(float));
        }
    }
    const char *key = "inception_variant";
    int rc = lpz_st_write(path, t, n * 5, &key, &variant, variant ? 1 : 0, err);
    free(data);
    free(t);
    free(names);
    return rc;
}

int inc_write_random_weights(const char *path, uint64_t seed, const char *variant, lpz_error *err)
{
    return write_weights(path, 1, seed, variant, err);
}

int inc_write_bias_only_weights(const char *path, const char *variant, lpz_error *err)
{
    return write_weights(path, 0, 0, variant, err);
}

const char *inc_scratch_dir(void)
{
    if (access("/dev/shm", W_OK) == 0)
        return "/dev/shm";
    const char *b = getenv("LPZ_BUILD_DIR");
    return b && *b ? b : "/tmp";
}
