/* core/nn/elementwise_body.h - bodies of the element-wise kernels, included
 * by elementwise.c once per instruction set with NN_SFX(name) naming the
 * copy (name_base, name_avx2, name_avx512). No include guard on purpose. */

static void NN_SFX(act_forward)(int kind, float slope, const float *restrict x, float *restrict y, int64_t n)
{
    switch (kind) {
    case NN_ACT_RELU:
        for (int64_t i = 0; i < n; i++)
            y[i] = nn_rect(NN_ACT_RELU, x[i], slope);
        break;
    case NN_ACT_LEAKY_RELU:
        for (int64_t i = 0; i < n; i++)
            y[i] = nn_rect(NN_ACT_LEAKY_RELU, x[i], slope);
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

/* ReLU or LeakyReLU in place (the fallbacks of a linear layer's fused
 * activation: layers.c); other kinds leave y alone. */
static void NN_SFX(act_inplace)(int kind, float slope, float *restrict y, int64_t n)
{
    if (kind == NN_ACT_RELU)
        for (int64_t i = 0; i < n; i++)
            y[i] = nn_rect(NN_ACT_RELU, y[i], slope);
    else if (kind == NN_ACT_LEAKY_RELU)
        for (int64_t i = 0; i < n; i++)
            y[i] = nn_rect(NN_ACT_LEAKY_RELU, y[i], slope);
}

static void NN_SFX(act_backward)(int kind, float slope, const float *restrict x, const float *restrict y,
                                 const float *restrict dy, float *restrict dx, int64_t n)
{
    switch (kind) {
    case NN_ACT_RELU:
        for (int64_t i = 0; i < n; i++)
            dx[i] = nn_drect(NN_ACT_RELU, x[i], dy[i], slope);
        break;
    case NN_ACT_LEAKY_RELU:
        for (int64_t i = 0; i < n; i++)
            dx[i] = nn_drect(NN_ACT_LEAKY_RELU, x[i], dy[i], slope);
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

/* Batch norm over x (n, C, S): sample i, channel c is the row
 * x[(i C + c) S ..] of S values. Every pass walks memory in order. */

/* Per channel: mean and the sum of squared deviations (m2), both in
 * double. Each row is summed in float (vectorised) and its deviations are
 * taken from its own float mean while the row is in L1; the rows are then
 * merged one by one (Chan et al.'s pairwise update), so one pass reads x. */
static void NN_SFX(bn_stats)(const float *restrict x, int64_t n, int64_t C, int64_t S, double *restrict mean,
                             double *restrict m2)
{
    for (int64_t c = 0; c < C; c++)
        mean[c] = m2[c] = 0.0;
    for (int64_t i = 0; i < n; i++) {
        double cnt_a = (double)(i * S), wb = (double)S / (double)((i + 1) * S); /* rows so far, S / (new count) */
        for (int64_t c = 0; c < C; c++) {
            const float *r = x + (i * C + c) * S;
            float s = 0.0f, q = 0.0f;
#pragma omp simd reduction(+ : s)
            for (int64_t j = 0; j < S; j++)
                s += r[j];
            float mr = s / (float)S;
#pragma omp simd reduction(+ : q)
            for (int64_t j = 0; j < S; j++) {
                float d = r[j] - mr;
                q += d * d;
            }
            double delta = (double)mr - mean[c];
            mean[c] += delta * wb;
            m2[c] += (double)q + delta * delta * cnt_a * wb;
        }
    }
}

/* y = f((x - mean[c]) k[c] + b[c]); f: the identity, ReLU or LeakyReLU
 * (act a constant in each copy). */
static inline __attribute__((always_inline)) void NN_SFX(bn_apply_body)(
    const int act, float slope, const float *restrict x, float *restrict y, int64_t n, int64_t C, int64_t S,
    const float *restrict mean, const float *restrict k, const float *restrict b)
{
    for (int64_t i = 0; i < n; i++)
        for (int64_t c = 0; c < C; c++) {
            const float *r = x + (i * C + c) * S;
            float *o = y + (i * C + c) * S, m = mean[c], kc = k[c], bc = b[c];
            for (int64_t j = 0; j < S; j++) {
                float v = (r[j] - m) * kc + bc;
                o[j] = act == NN_ACT_IDENTITY ? v : nn_rect(act, v, slope);
            }
        }
}

/* The gradient g at the batch norm's output: dy through f', with f's
 * input recomputed from x exactly as bn_apply computed it (the same floats,
 * so the same mask). */
#define NN_BN_GRAD(act, j) \
    ((act) == NN_ACT_IDENTITY ? d[j] : nn_drect(act, (r[j] - m) * kc + bc, d[j], slope))

/* sg[c] = sum g, sgh[c] = sum g x_hat, x_hat = (x - mean) istd. */
static inline __attribute__((always_inline)) void NN_SFX(bn_grad_sums_body)(
    const int act, float slope, const float *restrict x, const float *restrict dy, int64_t n, int64_t C, int64_t S,
    const float *restrict mean, const float *restrict istd, const float *restrict k, const float *restrict b,
    double *restrict sg, double *restrict sgh)
{
    for (int64_t c = 0; c < C; c++)
        sg[c] = sgh[c] = 0.0;
    for (int64_t i = 0; i < n; i++)
        for (int64_t c = 0; c < C; c++) {
            const float *r = x + (i * C + c) * S, *d = dy + (i * C + c) * S;
            float m = mean[c], is = istd[c], kc = k[c], bc = b[c], r1 = 0.0f, r2 = 0.0f;
#pragma omp simd reduction(+ : r1, r2)
            for (int64_t j = 0; j < S; j++) {
                float g = NN_BN_GRAD(act, j);
                r1 += g;
                r2 += g * ((r[j] - m) * is);
            }
            sg[c] += r1;
            sgh[c] += r2;
        }
}

/* dx = k[c] (g - mg[c] - x_hat mgh[c]). */
static inline __attribute__((always_inline)) void NN_SFX(bn_grad_input_body)(
    const int act, float slope, const float *restrict x, const float *restrict dy, float *restrict dx, int64_t n,
    int64_t C, int64_t S, const float *restrict mean, const float *restrict istd, const float *restrict k,
    const float *restrict b, const float *restrict mg, const float *restrict mgh)
{
    for (int64_t i = 0; i < n; i++)
        for (int64_t c = 0; c < C; c++) {
            const float *r = x + (i * C + c) * S, *d = dy + (i * C + c) * S;
            float *o = dx + (i * C + c) * S;
            float m = mean[c], is = istd[c], kc = k[c], bc = b[c], a = mg[c], h = mgh[c];
            for (int64_t j = 0; j < S; j++)
                o[j] = kc * (NN_BN_GRAD(act, j) - a - ((r[j] - m) * is) * h);
        }
}
#undef NN_BN_GRAD

/* One copy per activation (a constant act inside the loops). */
#define NN_BN_BY_ACT(body, act, ...)                                                                               \
    do {                                                                                                           \
        if ((act) == NN_ACT_RELU)                                                                                  \
            body(NN_ACT_RELU, __VA_ARGS__);                                                                        \
        else if ((act) == NN_ACT_LEAKY_RELU)                                                                       \
            body(NN_ACT_LEAKY_RELU, __VA_ARGS__);                                                                  \
        else                                                                                                       \
            body(NN_ACT_IDENTITY, __VA_ARGS__);                                                                    \
    } while (0)

static void NN_SFX(bn_apply)(int act, float slope, const float *restrict x, float *restrict y, int64_t n, int64_t C,
                             int64_t S, const float *restrict mean, const float *restrict k,
                             const float *restrict b)
{
    NN_BN_BY_ACT(NN_SFX(bn_apply_body), act, slope, x, y, n, C, S, mean, k, b);
}

static void NN_SFX(bn_grad_sums)(int act, float slope, const float *restrict x, const float *restrict dy, int64_t n,
                                 int64_t C, int64_t S, const float *restrict mean, const float *restrict istd,
                                 const float *restrict k, const float *restrict b, double *restrict sg,
                                 double *restrict sgh)
{
    NN_BN_BY_ACT(NN_SFX(bn_grad_sums_body), act, slope, x, dy, n, C, S, mean, istd, k, b, sg, sgh);
}

static void NN_SFX(bn_grad_input)(int act, float slope, const float *restrict x, const float *restrict dy,
                                  float *restrict dx, int64_t n, int64_t C, int64_t S, const float *restrict mean,
                                  const float *restrict istd, const float *restrict k, const float *restrict b,
                                  const float *restrict mg, const float *restrict mgh)
{
    NN_BN_BY_ACT(NN_SFX(bn_grad_input_body), act, slope, x, dy, dx, n, C, S, mean, istd, k, b, mg, mgh);
}
#undef NN_BN_BY_ACT
