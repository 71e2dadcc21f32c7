/* core/nn/elementwise_body.h - bodies of the element-wise kernels, included
 * by elementwise.c once per instruction set with NN_SFX(name) naming the
 * copy (name_base, name_avx2, name_avx512). No include guard on purpose. */

static void NN_SFX(act_forward)(int kind, float slope, const float *restrict x, float *restrict y, int64_t n)
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

static void NN_SFX(act_backward)(int kind, float slope, const float *restrict x, const float *restrict y,
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

static void NN_SFX(mul)(const float *restrict a, const float *restrict b, float *restrict out, int64_t n)
{
    for (int64_t i = 0; i < n; i++)
        out[i] = a[i] * b[i];
}

static void NN_SFX(adam_update)(float *restrict p, const float *restrict g, float *restrict m, float *restrict v,
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
