/* core/nn/elementwise.c - the element-wise loops of the engine:
 * activations forward/backward, dropout and the Adam update.
 *
 * These are memory-bound loops over whole batches; each is built for
 * AVX-512, AVX2 and baseline x86-64 and the loader picks the best the CPU
 * has (GCC target_clones), so a generic build still runs wide vectors.
 */
#include "nn/elementwise.h"
#include "nn/fastmath.h"

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && !defined(__SANITIZE_ADDRESS__)
#define NN_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define NN_CLONES
#endif

NN_CLONES void nn_act_forward(int kind, float slope, const float *restrict x, float *restrict y, int64_t n)
{
    switch (kind) {
    case NN_ACT_RELU:
        for (int64_t i = 0; i < n; i++)
            y[i] = x[i] > 0.0f ? x[i] : 0.0f;
        break;
    case NN_ACT_LEAKY_RELU:
        for (int64_t i = 0; i < n; i++)
            y[i] = x[i] > 0.0f ? x[i] : x[i] * slope;
        break;
    case NN_ACT_TANH:
        for (int64_t i = 0; i < n; i++)
            y[i] = nn_tanhf(x[i]);
        break;
    case NN_ACT_SIGMOID:
        for (int64_t i = 0; i < n; i++)
            y[i] = nn_sigmoidf(x[i]);
        break;
    }
}

NN_CLONES void nn_act_backward(int kind, float slope, const float *restrict x, const float *restrict y,
                               const float *restrict dy, float *restrict dx, int64_t n)
{
    switch (kind) {
    case NN_ACT_RELU:
        for (int64_t i = 0; i < n; i++)
            dx[i] = x[i] > 0.0f ? dy[i] : 0.0f;
        break;
    case NN_ACT_LEAKY_RELU:
        for (int64_t i = 0; i < n; i++)
            dx[i] = x[i] > 0.0f ? dy[i] : dy[i] * slope;
        break;
    case NN_ACT_TANH:
        for (int64_t i = 0; i < n; i++)
            dx[i] = dy[i] * (1.0f - y[i] * y[i]);
        break;
    case NN_ACT_SIGMOID:
        for (int64_t i = 0; i < n; i++)
            dx[i] = dy[i] * y[i] * (1.0f - y[i]);
        break;
    }
}

NN_CLONES void nn_mul(const float *restrict a, const float *restrict b, float *restrict out, int64_t n)
{
    for (int64_t i = 0; i < n; i++)
        out[i] = a[i] * b[i];
}

NN_CLONES void nn_adam_update(float *restrict p, const float *restrict g, float *restrict m, float *restrict v,
                              int64_t n, float b1, float b2, float step, float sqrt_bc2, float eps)
{
    float c1 = 1.0f - b1, c2 = 1.0f - b2;
    for (int64_t i = 0; i < n; i++) {
        float gi = g[i];
        float mi = m[i] * b1 + c1 * gi;
        float vi = v[i] * b2 + c2 * gi * gi;
        m[i] = mi;
        v[i] = vi;
        p[i] -= step * (mi / (__builtin_sqrtf(vi) / sqrt_bc2 + eps));
    }
}
