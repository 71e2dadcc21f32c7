/* core/score/maxpool.c - max pooling as a custom engine layer, and the
 * cross-entropy loss of the classifier. See score.h. */
#include "score/score.h"

#include <float.h>
#include <math.h>
#include <string.h>

/* The window size lives in `self`: a pointer to one of these constants, so
 * the layer owns no memory (no destroy) and the model can be cloned. */
static const int pool_k2 = 2, pool_k3 = 3;

static int pool_output_shape(void *self, const lpz_shape *in, lpz_shape *out, lpz_error *err)
{
    int k = *(const int *)self;
    if (in->ndim != 3)
        return lpz_error_set(err, LPZ_EINVAL, "max pooling needs a (C, H, W) input, got %d dimensions", in->ndim);
    if (in->dim[1] < k || in->dim[2] < k)
        return lpz_error_set(err, LPZ_EINVAL, "max pooling window %d is larger than the %lldx%lld input", k,
                             (long long)in->dim[1], (long long)in->dim[2]);
    *out = lpz_shape_make(3, in->dim[0], in->dim[1] / k, in->dim[2] / k, 0);
    return LPZ_OK;
}

static const lpz_layer_param_spec no_params[] = {{NULL, {0, {0, 0, 0, 0}}}};

static const lpz_layer_param_spec *pool_params(void *self, const lpz_shape *in)
{
    (void)self, (void)in;
    return no_params;
}

static void pool_init(void *self, const lpz_shape *in, float *params, lpz_rng *rng)
{
    (void)self, (void)in, (void)params, (void)rng;
}

/* x: (n, C, H, W), y: (n, C, H/k, W/k). */
static void pool_forward(void *self, const lpz_shape *in, int64_t n, const float *params, const float *x, float *y,
                         int train)
{
    (void)params, (void)train;
    int k = *(const int *)self;
    int64_t C = in->dim[0], H = in->dim[1], W = in->dim[2], Ho = H / k, Wo = W / k;
    for (int64_t p = 0; p < n * C; p++) {
        const float *xp = x + p * H * W;
        float *yp = y + p * Ho * Wo;
        if (k == 2) {
            /* The classifier's case, without the generic window loops (it
             * was 30% of a FID). */
            for (int64_t i = 0; i < Ho; i++) {
                const float *r0 = xp + 2 * i * W, *r1 = r0 + W;
                float *yr = yp + i * Wo;
                for (int64_t j = 0; j < Wo; j++) {
                    float a = r0[2 * j] > r0[2 * j + 1] ? r0[2 * j] : r0[2 * j + 1];
                    float b = r1[2 * j] > r1[2 * j + 1] ? r1[2 * j] : r1[2 * j + 1];
                    yr[j] = a > b ? a : b;
                }
            }
            continue;
        }
        for (int64_t i = 0; i < Ho; i++)
            for (int64_t j = 0; j < Wo; j++) {
                const float *w = xp + i * k * W + j * k;
                float m = w[0];
                for (int a = 0; a < k; a++)
                    for (int b = 0; b < k; b++)
                        if (w[a * W + b] > m)
                            m = w[a * W + b];
                yp[i * Wo + j] = m;
            }
    }
}

/* The gradient of each window goes to the first element equal to its
 * maximum (recomputed from x and y: no saved indices needed). */
static void pool_backward(void *self, const lpz_shape *in, int64_t n, const float *params, const float *x,
                          const float *y, const float *dy, float *dx, float *dparams)
{
    (void)params, (void)dparams;
    int k = *(const int *)self;
    int64_t C = in->dim[0], H = in->dim[1], W = in->dim[2], Ho = H / k, Wo = W / k;
    memset(dx, 0, (size_t)(n * C * H * W) * sizeof(float));
    for (int64_t p = 0; p < n * C; p++) {
        const float *xp = x + p * H * W;
        const float *yp = y + p * Ho * Wo, *dyp = dy + p * Ho * Wo;
        float *dxp = dx + p * H * W;
        for (int64_t i = 0; i < Ho; i++)
            for (int64_t j = 0; j < Wo; j++) {
                int64_t base = i * k * W + j * k, at = -1;
                float m = yp[i * Wo + j];
                for (int e = 0; e < k * k && at < 0; e++) {
                    int64_t o = base + (e / k) * W + e % k;
                    if (xp[o] == m)
                        at = o;
                }
                dxp[at < 0 ? base : at] += dyp[i * Wo + j];
            }
    }
}

static const lpz_layer_ops pool_ops = {
    sizeof(lpz_layer_ops), "maxpool2d", pool_output_shape, pool_params, pool_init, pool_forward, pool_backward,
    NULL,
};

int lpz_model_add_maxpool2d(lpz_model *m, const char *name, int k, lpz_error *err)
{
    if (k != 2 && k != 3)
        return lpz_error_set(err, LPZ_EINVAL, "max pooling window %d is not supported (2 or 3)", k);
    return lpz_model_add_custom(m, name, &pool_ops, (void *)(k == 2 ? &pool_k2 : &pool_k3), err);
}

int lpz_cross_entropy(const float *logits, const int32_t *labels, int64_t n, int classes, double *loss,
                      float *grad, int64_t *correct, lpz_error *err)
{
    if (n < 1 || classes < 2)
        return lpz_error_set(err, LPZ_EINVAL, "cross-entropy needs at least 1 sample and 2 classes");
    double total = 0;
    int64_t right = 0;
    for (int64_t i = 0; i < n; i++) {
        const float *z = logits + i * classes;
        int32_t t = labels[i];
        if (t < 0 || t >= classes)
            return lpz_error_set(err, LPZ_EINVAL, "label %d of sample %lld is outside 0..%d", (int)t, (long long)i,
                                 classes - 1);
        double mx = z[0];
        int arg = 0;
        for (int c = 1; c < classes; c++)
            if (z[c] > mx)
                mx = z[c], arg = c;
        if (!isfinite(mx))
            return lpz_error_set(err, LPZ_EINVAL, "logits of sample %lld are not finite", (long long)i);
        double s = 0;
        for (int c = 0; c < classes; c++)
            s += exp((double)z[c] - mx);
        double lse = mx + log(s);
        total += lse - z[t];
        right += arg == t;
        if (grad)
            for (int c = 0; c < classes; c++)
                grad[i * classes + c] = (float)((exp((double)z[c] - lse) - (c == t)) / (double)n);
    }
    *loss = total / (double)n;
    if (correct)
        *correct = right;
    return LPZ_OK;
}
