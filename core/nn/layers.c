/* core/nn/layers.c - scratch sizes, GEMM wrapper, linear and batch norm.
 *
 * All matrices are row-major. Shapes in comments exclude nothing: n is the
 * batch, R = rows a linear layer sees (n, or n * T for sequences).
 */
#include "nn/internal.h"
#include "nn/elementwise.h"
#include "nn/linear_kernels.h"
#include "nn/amx_kernels.h"
#include "nn/avx512bf16_kernels.h"
#include "nn/precision.h"

#include <cblas.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- matmul precision (precision.h) ------------------------------------- */

static _Atomic int mm_prec; /* lpz_matmul_precision in effect */
/* limbs | unit << 2: limbs 0 (fp32 products) or 2 or 1 (bf16 limbs), unit
 * the lpz_matmul_unit that runs them. One word, so that a product never
 * sees the limbs of one setting and the unit of another. */
static _Atomic int mm_mode;

lpz_matmul_unit lpz_nn_matmul_unit(lpz_matmul_precision p)
{
    if (p != LPZ_MATMUL_HIGH && p != LPZ_MATMUL_MEDIUM)
        return LPZ_MATMUL_UNIT_FP32;
    if (nn_amx_available())
        return LPZ_MATMUL_UNIT_AMX;
    /* two limbs on VDPBF16PS take three bf16 products for each fp32 one:
     * slower than fp32 (avx512bf16_kernels.h), so high stays in fp32 */
    if (p == LPZ_MATMUL_MEDIUM && nn_avx512bf16_available())
        return LPZ_MATMUL_UNIT_AVX512BF16;
    return LPZ_MATMUL_UNIT_FP32;
}

const char *lpz_matmul_unit_name(lpz_matmul_unit u)
{
    return u == LPZ_MATMUL_UNIT_AMX ? "AMX" : u == LPZ_MATMUL_UNIT_AVX512BF16 ? "AVX512-BF16" : "fp32";
}

const char *lpz_nn_matmul_fallback_reason(lpz_matmul_precision p, char *buf, unsigned size)
{
    if (!size)
        return buf;
    buf[0] = '\0';
    if ((p != LPZ_MATMUL_HIGH && p != LPZ_MATMUL_MEDIUM) || lpz_nn_matmul_unit(p) != LPZ_MATMUL_UNIT_FP32)
        return buf;
    nn_amx_status_t as = nn_amx_status();
    nn_avx512bf16_status_t bs = nn_avx512bf16_status();
    if (p == LPZ_MATMUL_HIGH && bs == NN_AVX512BF16_OK)
        snprintf(buf, size,
                 "%s; two bf16 limbs on its AVX512-BF16 take three products for each fp32 one and run slower than "
                 "fp32 (medium runs there)",
                 as == NN_AMX_NO_CPU ? "this CPU has no AMX-BF16" : nn_amx_status_text(as));
    else if (bs == NN_AVX512BF16_NO_OS) /* no AVX-512 state: neither unit can run */
        snprintf(buf, size, "%s", nn_avx512bf16_status_text(bs));
    else if (as == NN_AMX_NO_CPU && bs == NN_AVX512BF16_NO_CPU)
        snprintf(buf, size, "this CPU has neither AMX-BF16 nor AVX512-BF16");
    else if (p == LPZ_MATMUL_HIGH)
        snprintf(buf, size, "%s", nn_amx_status_text(as));
    else
        snprintf(buf, size, "%s; %s", nn_amx_status_text(as), nn_avx512bf16_status_text(bs));
    return buf;
}

lpz_matmul_precision lpz_nn_set_matmul_precision(lpz_matmul_precision p)
{
    if (p != LPZ_MATMUL_HIGH && p != LPZ_MATMUL_MEDIUM)
        p = LPZ_MATMUL_HIGHEST;
    lpz_matmul_unit u = lpz_nn_matmul_unit(p);
    if (u == LPZ_MATMUL_UNIT_FP32)
        p = LPZ_MATMUL_HIGHEST;
    int limbs = p == LPZ_MATMUL_HIGH ? 2 : p == LPZ_MATMUL_MEDIUM ? 1 : 0;
    atomic_store_explicit(&mm_mode, limbs ? limbs | (int)u << 2 : 0, memory_order_relaxed);
    atomic_store_explicit(&mm_prec, (int)p, memory_order_relaxed);
    return p;
}

lpz_matmul_precision lpz_nn_matmul_precision(void)
{
    return (lpz_matmul_precision)atomic_load_explicit(&mm_prec, memory_order_relaxed);
}

const char *lpz_matmul_precision_name(lpz_matmul_precision p)
{
    return p == LPZ_MATMUL_HIGH ? "high" : p == LPZ_MATMUL_MEDIUM ? "medium" : "highest";
}

static _Thread_local int mm_fp32_depth; /* > 0 while a pinned model runs on this thread */

void nn_mm_fp32_push(void)
{
    mm_fp32_depth++;
}

void nn_mm_fp32_pop(void)
{
    mm_fp32_depth--;
}

int nn_mm_limbs(void)
{
    return mm_fp32_depth ? 0 : atomic_load_explicit(&mm_mode, memory_order_relaxed) & 3;
}

int nn_mm_gemm(int limbs, int64_t M, int64_t N, int64_t K, const float *a, int64_t a_rs, int64_t a_cs,
               const float *b, int64_t b_rs, int64_t b_cs, const float *bias, float *c, int64_t ldc, int add)
{
    switch (atomic_load_explicit(&mm_mode, memory_order_relaxed) >> 2) {
    case LPZ_MATMUL_UNIT_AMX: return nn_amx_gemm(limbs, M, N, K, a, a_rs, a_cs, b, b_rs, b_cs, bias, c, ldc, add);
    case LPZ_MATMUL_UNIT_AVX512BF16:
        return nn_avx512bf16_gemm(limbs, M, N, K, a, a_rs, a_cs, b, b_rs, b_cs, bias, c, ldc, add);
    default: return -1; /* the setting changed to highest since the caller looked */
    }
}

/* Every product of the engine that is not on the linear or conv kernels
 * (the LSTM's, the fallbacks) comes here: in bf16 limbs (nn_mm_gemm) at
 * the high and medium precisions, else OpenBLAS. */
void nn_gemm(int ta, int tb, int64_t m, int64_t n, int64_t k, float alpha, const float *a, int64_t lda,
             const float *b, int64_t ldb, float beta, float *c, int64_t ldc)
{
    int limbs = nn_mm_limbs();
    if (limbs && alpha == 1.0f && (beta == 0.0f || beta == 1.0f) && nn_mm_worth(m, n, k) &&
        nn_mm_gemm(limbs, m, n, k, a, ta ? 1 : lda, ta ? lda : 1, b, tb ? 1 : ldb, tb ? ldb : 1, NULL, c, ldc,
                   beta != 0.0f) == 0)
        return;
    cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, (blasint)m,
                (blasint)n, (blasint)k, alpha, a, (blasint)lda, b, (blasint)ldb, beta, c, (blasint)ldc);
}

int64_t nn_aux_size(const nn_layer *l, int64_t n)
{
    switch (l->kind) {
    case NN_BATCHNORM:
        /* per channel: batch mean, 1 / sqrt(var + eps), gamma / sqrt(var +
         * eps); x_hat is computed again from the input in backward instead
         * of stored */
        return 3 * l->features;
    case NN_DROPOUT:
        return n * l->in_numel; /* mask factors */
    case NN_LSTM: {
        /* per layer: gates (NT x 4h), c (NT x h), h (NT x h), dropout mask
         * (NT x h), dropped-out h fed to the next layer (NT x h) */
        int64_t nt = n * l->in.dim[0], h = l->features;
        return (int64_t)l->num_layers * nt * 8 * h;
    }
    default:
        return 0;
    }
}

/* Samples per im2col chunk of a conv/convt layer at batch n: as many as
 * keep col [C k k, cs * P] within NN_COL_CAP, but at least enough for
 * NN_COL_MIN_N GEMM columns: a narrower product reads the whole weight
 * matrix (and OpenBLAS re-packs it and re-reads dW) for too little work.
 * Per-layer CPU time of the DCGAN's layers, forward + backward, was lowest
 * at this point for every large layer (the 512-channel 4x4 ones want 16
 * samples, the 32x32 ones 1), with OpenBLAS and again with the engine's
 * kernels (floors of 64 to 1024 columns measured). */
int64_t nn_conv_chunk(const nn_layer *l, int64_t n)
{
    int64_t P = l->kind == NN_CONV ? l->hout * l->wout : l->hin * l->win;
    int64_t ckk = (l->kind == NN_CONV ? l->cin : l->cout) * l->k * l->k;
    if (P >= NN_COL_MIN_N)
        return 1; /* one sample is wide enough, and its blocks need no gather or scatter (conv.c) */
    int64_t c = NN_COL_CAP / (ckk * P), cmin = (NN_COL_MIN_N + P - 1) / P;
    if (c < cmin)
        c = cmin;
    if (c < 1)
        c = 1;
    return c > n ? n : c;
}

int64_t nn_work_size(const nn_layer *l, int64_t n)
{
    switch (l->kind) {
    case NN_CONV: {
        /* col [C k k, cs * P], the GEMM output [Cout, cs * P], the phase
         * planes of one input plane and, with more than one chunk, W^T
         * packed for the input gradient's products (conv.c) */
        int64_t P = l->hout * l->wout, ckk = l->cin * l->k * l->k;
        int64_t cs = nn_conv_chunk(l, n);
        return cs * P * (ckk + l->cout) +
               nn_conv_phase_size(l->hin, l->win, l->k, l->stride, l->pad, l->hout, l->wout) +
               (cs < n && nn_lk_available() ? nn_lk_pack_at_size(ckk, l->cout) : 0);
    }
    case NN_CONVT: {
        /* col [Cout k k, cs * Pin], gathered input [Cin, cs * Pin], the
         * phase planes of one output plane and, with more than one chunk,
         * W^T packed for the forward products (conv.c) */
        int64_t P = l->hin * l->win, ckk = l->cout * l->k * l->k;
        int64_t cs = nn_conv_chunk(l, n);
        return cs * P * (ckk + l->cin) +
               nn_conv_phase_size(l->hout, l->wout, l->k, l->stride, l->pad, l->hin, l->win) +
               (cs < n && nn_lk_available() ? nn_lk_pack_at_size(ckk, l->cin) : 0);
    }
    case NN_CUSTOM:
        return l->pcount; /* parameter gradients thrown away by backward_input */
    case NN_BATCHNORM:
        return 6 * l->features; /* per channel: two doubles (statistics or gradient sums), two floats */
    case NN_LSTM: {
        /* dG (NT x 4h), h_{t-1} (NT x h), two dH (NT x h), dh and dc (N x h) */
        int64_t nt = n * l->in.dim[0], h = l->features;
        return nt * 7 * h + 2 * n * h;
    }
    default:
        return 0;
    }
}

/* ---- linear: y[R, out] = x[R, in] W^T + b, W [out, in] ------------------- */

/* The AVX-512 kernels (linear_kernels.c) replace cblas_sgemm for the
 * linear layer's three products when the CPU has AVX-512F/VL/DQ and the
 * shape fills their 8 x 48 tiles at least once along out (>= 8) and
 * half a vector along in (>= 8): below that a tile would compute mostly
 * repeated rows (out < SMALL_OUT takes the plain loops below, in < 8
 * OpenBLAS). */
#define SMALL_OUT 8 /* fewer outputs: the plain loops below */

static int lk_avail;
static pthread_once_t lk_avail_once = PTHREAD_ONCE_INIT;

static void lk_avail_init(void)
{
    __builtin_cpu_init();
    lk_avail = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl") &&
               __builtin_cpu_supports("avx512dq");
}

int nn_lk_available(void)
{
    pthread_once(&lk_avail_once, lk_avail_init);
    return lk_avail;
}

static int linear_fast(int64_t in, int64_t out)
{
    return out >= SMALL_OUT && in >= 8 && nn_lk_available();
}

/* The kernels keep x^T (forward) or x (weight gradient), R x in floats,
 * in L2 while W passes by: beyond about 256 rows (1 MB at in = 784) that
 * spills and they fall behind OpenBLAS (MLP GAN at batch 400, 800 rows in
 * the joined pass: 37 against 55 flop per cycle). The forward product and
 * the input gradient treat rows independently, so they run in chunks of at
 * most LK_ROWS rows with bit-identical results; the weight gradient sums
 * over the rows, so above LK_ROWS it stays with cblas. */
#define LK_ROWS 256

static int64_t lk_chunk(int64_t R)
{
    int64_t parts = (R + LK_ROWS - 1) / LK_ROWS;
    return (R + parts - 1) / parts; /* even chunks: 400 rows -> 2 x 200 */
}

/* ---- per-thread scratch (internal.h: nn_thread_scratch) ------------------ */

/* One grow-only buffer per slot and thread: only a thread's first calls
 * allocate; its buffers are freed when it ends (the key's destructor).
 * Threads run layers of many models one after another: one buffer per
 * thread costs less than one per model. */
typedef struct tls_scratch {
    void *buf[NN_SCRATCH_SLOTS];
    size_t cap[NN_SCRATCH_SLOTS];
} tls_scratch;

static pthread_key_t scratch_key;
static pthread_once_t scratch_once = PTHREAD_ONCE_INIT;
static int scratch_key_ok;
static _Thread_local tls_scratch *scratch_tls; /* also keeps the buffers visibly reachable for leak checkers */

static void scratch_free(void *p)
{
    tls_scratch *s = p;
    for (int i = 0; i < NN_SCRATCH_SLOTS; i++)
        free(s->buf[i]);
    free(s);
}

static void scratch_key_init(void)
{
    scratch_key_ok = pthread_key_create(&scratch_key, scratch_free) == 0;
}

void *nn_thread_scratch(int slot, size_t bytes)
{
    tls_scratch *s = scratch_tls;
    if (s && s->buf[slot] && bytes <= s->cap[slot])
        return s->buf[slot];
    pthread_once(&scratch_once, scratch_key_init);
    if (!scratch_key_ok)
        return NULL;
    if (!s) {
        s = calloc(1, sizeof *s);
        if (!s || pthread_setspecific(scratch_key, s) != 0) {
            free(s);
            return NULL;
        }
        scratch_tls = s;
    }
    bytes = (bytes + 63) & ~(size_t)63;
    void *p = aligned_alloc(64, bytes ? bytes : 64);
    if (!p)
        return NULL; /* the caller falls back to another path: nothing changes but speed */
    free(s->buf[slot]);
    s->buf[slot] = p;
    s->cap[slot] = bytes;
    return p;
}

/* x^T for the forward kernel (up to LK_ROWS rows: 784 x 256 floats, 800 KB;
 * 650 KB for the MLP's joined pass of 200) */
static float *lk_scratch(int64_t nfloats)
{
    return nn_thread_scratch(NN_SCRATCH_XT, (size_t)nfloats * sizeof(float));
}

/* Layers with fewer than SMALL_OUT outputs (the discriminator's last
 * layer, out = 1) are matrix-vector products: plain loops, in a fixed
 * order, with sixteen partial sums per dot product so they vectorise.
 * OpenBLAS's small-matrix paths took 3-8 GFLOP/s on them (about 65 us per
 * MLP GAN step, 1% of it; these loops: 6 us). */

static float dot16(const float *a, const float *b, int64_t n)
{
    float acc[16] = {0};
    int64_t i = 0;
    for (; i + 16 <= n; i += 16)
        for (int j = 0; j < 16; j++)
            acc[j] += a[i + j] * b[i + j];
    float s = 0.0f;
    for (int j = 0; j < 16; j++)
        s += acc[j];
    for (; i < n; i++)
        s += a[i] * b[i];
    return s;
}

static void small_forward(int64_t R, int64_t out, int64_t in, const float *x, const float *W, const float *b,
                          float *y)
{
    for (int64_t r = 0; r < R; r++)
        for (int64_t o = 0; o < out; o++)
            y[r * out + o] = (b ? b[o] : 0.0f) + dot16(x + r * in, W + o * in, in);
}

/* dW [out, in] += dy^T x, row by row of x */
static void small_backward_weight(int64_t R, int64_t out, int64_t in, const float *dy, const float *x, float *dW)
{
    for (int64_t o = 0; o < out; o++) {
        float *w = dW + o * in;
        for (int64_t r = 0; r < R; r++) {
            float d = dy[r * out + o];
            const float *xr = x + r * in;
            for (int64_t i = 0; i < in; i++)
                w[i] += d * xr[i];
        }
    }
}

/* dx [R, in] = dy W */
static void small_backward_input(int64_t R, int64_t out, int64_t in, const float *dy, const float *W, float *dx)
{
    for (int64_t r = 0; r < R; r++) {
        float *d = dx + r * in;
        const float *g = dy + r * out;
        for (int64_t i = 0; i < in; i++)
            d[i] = g[0] * W[i];
        for (int64_t o = 1; o < out; o++)
            for (int64_t i = 0; i < in; i++)
                d[i] += g[o] * W[o * in + i];
    }
}

/* C [R, N] = A [R, K] B (+ bias) in bf16 limbs (nn_mm_gemm), B (k, n) =
 * b[k b_rs + n b_cs]: the forward product (B = W^T) and the input
 * gradient (B = W), rows in chunks as the fp32 kernels (independent rows:
 * the same results; the packed A stays in L2). 0 when the unit could not
 * take it; only the first (largest) chunk can fail, before anything is
 * written, and the caller takes the fp32 path. */
static int bf16_rows(int limbs, int64_t R, int64_t N, int64_t K, const float *a, const float *b, int64_t b_rs,
                     int64_t b_cs, const float *bias, float *c)
{
    int64_t ch = lk_chunk(R);
    for (int64_t r0 = 0; r0 < R; r0 += ch)
        if (nn_mm_gemm(limbs, R - r0 < ch ? R - r0 : ch, N, K, a + r0 * K, K, 1, b, b_rs, b_cs, bias, c + r0 * N,
                       N, 0))
            return 0;
    return 1;
}

void nn_linear_forward(const nn_layer *l, int64_t n, const float *p, const float *x, float *y, int act, float slope)
{
    int64_t in = l->in.dim[l->in.ndim - 1], out = l->features;
    int64_t R = n * (l->in_numel / in);
    const float *b = l->bias ? p + out * in : NULL;
    if (out < SMALL_OUT) {
        small_forward(R, out, in, x, p, b, y);
        nn_act_inplace(act, slope, y, R * out);
        return;
    }
    int limbs = nn_mm_limbs();
    if (limbs && nn_mm_worth(R, out, in) && bf16_rows(limbs, R, out, in, x, p, 1, in, b, y)) {
        nn_act_inplace(act, slope, y, R * out);
        return;
    }
    if (linear_fast(in, out)) {
        int64_t ch = lk_chunk(R);
        float *xt = lk_scratch(nn_lk_forward_scratch(ch, in));
        if (xt) {
            for (int64_t r0 = 0; r0 < R; r0 += ch) /* bias and activation in the tiles */
                nn_lk_forward_act(R - r0 < ch ? R - r0 : ch, out, in, x + r0 * in, p, b, y + r0 * out, xt, act,
                                  slope);
            return;
        }
    }
    float beta = 0.0f;
    if (b) {
        for (int64_t r = 0; r < R; r++)
            memcpy(y + r * out, b, (size_t)out * sizeof(float));
        beta = 1.0f;
    }
    nn_gemm(0, 1, R, out, in, 1.0f, x, in, p, in, beta, y, out);
    nn_act_inplace(act, slope, y, R * out);
}

void nn_linear_backward(const nn_layer *l, int64_t n, const float *p, const float *x, const float *dy, float *dx,
                        float *dp, int fresh)
{
    int64_t in = l->in.dim[l->in.ndim - 1], out = l->features;
    int64_t R = n * (l->in_numel / in);
    int fast = linear_fast(in, out), limbs = nn_mm_limbs();
    /* dW [out, in] (+)= dy^T [out, R] x [R, in] */
    if (dp) {
        if (out < SMALL_OUT) {
            if (fresh)
                memset(dp, 0, (size_t)(out * in) * sizeof *dp);
            small_backward_weight(R, out, in, dy, x, dp);
        } else if (limbs && nn_mm_worth(out, in, R) &&
                   nn_mm_gemm(limbs, out, in, R, dy, 1, out, x, in, 1, NULL, dp, in, !fresh) == 0) {
            /* done in bf16 limbs */
        } else if (fast && R <= LK_ROWS) {
            nn_lk_backward_weight(R, out, in, dy, x, dp, !fresh);
        } else {
            nn_gemm(1, 0, out, in, R, 1.0f, dy, out, x, in, fresh ? 0.0f : 1.0f, dp, in);
        }
    }
    if (dp && l->bias) {
        float *db = dp + out * in;
        if (fresh)
            memset(db, 0, (size_t)out * sizeof *db);
        for (int64_t r = 0; r < R; r++)
            for (int64_t o = 0; o < out; o++)
                db[o] += dy[r * out + o];
    }
    /* dx [R, in] = dy [R, out] W [out, in] */
    if (dx) {
        if (out < SMALL_OUT)
            small_backward_input(R, out, in, dy, p, dx);
        else if (limbs && nn_mm_worth(R, in, out) && bf16_rows(limbs, R, in, out, dy, p, in, 1, NULL, dx))
            ; /* done in bf16 limbs */
        else if (fast) {
            int64_t ch = lk_chunk(R);
            for (int64_t r0 = 0; r0 < R; r0 += ch)
                nn_lk_backward_input(R - r0 < ch ? R - r0 : ch, out, in, dy + r0 * out, p, dx + r0 * in);
        } else
            nn_gemm(0, 0, R, in, out, 1.0f, dy, out, p, in, 0.0f, dx, in);
    }
}

/* ---- batch norm over channels: x (n, C, S) with S = H * W (1 for (F)) ----- */

#define BN_EPS 1e-5
#define BN_MOMENTUM 0.1

void nn_bn_forward(nn_layer *l, int64_t n, const float *p, float *buf, const float *x, float *y, int train, int act,
                   float slope, float *work)
{
    int64_t C = l->features, S = l->in_numel / C, M = n * S;
    const float *gamma = p, *beta = p + C;
    float *rmean = buf, *rvar = buf + C, *tracked = buf + 2 * C;
    /* aux: the per-channel arrays the passes take (k = gamma istd: the
     * same floats in backward without a work array for them) */
    float *mean_s = l->aux, *istd_s = mean_s + C, *k_s = istd_s + C;
    double *mean = (double *)work, *m2 = mean + C;
    if (train)
        nn_bn_stats(x, n, C, S, mean, m2);
    for (int64_t c = 0; c < C; c++) {
        double mu, var;
        if (train) {
            mu = mean[c];
            var = m2[c] / (double)M; /* biased: normalisation */
            /* running statistics use the unbiased variance, as PyTorch */
            rmean[c] = (float)((1.0 - BN_MOMENTUM) * rmean[c] + BN_MOMENTUM * mu);
            rvar[c] = (float)((1.0 - BN_MOMENTUM) * rvar[c] + BN_MOMENTUM * var * (double)M / (double)(M - 1));
        } else {
            mu = rmean[c];
            var = rvar[c];
        }
        mean_s[c] = (float)mu;
        istd_s[c] = (float)(1.0 / sqrt(var + BN_EPS));
        k_s[c] = istd_s[c] * gamma[c];
    }
    /* x_hat is not stored: backward computes it again from x (the same
     * floats), which halves what this pass writes */
    nn_bn_apply(act, slope, x, y, n, C, S, mean_s, k_s, beta);
    if (train)
        tracked[0] += 1.0f;
}

void nn_bn_backward(const nn_layer *l, int64_t n, const float *p, const float *x, const float *dy, float *dx,
                    float *dp, int train, int act, float slope, float *work)
{
    int64_t C = l->features, S = l->in_numel / C, M = n * S;
    const float *beta = p + C;
    const float *mean_s = l->aux, *istd_s = mean_s + C, *k_s = istd_s + C;
    double *sg = (double *)work, *sgh = sg + C;
    float *mg = (float *)(sgh + C), *mgh = mg + C;
    if (dp || (dx && train)) /* else unused: nothing to do, or dx = gamma istd g */
        nn_bn_grad_sums(act, slope, x, dy, n, C, S, mean_s, istd_s, k_s, beta, sg, sgh);
    if (dp)
        for (int64_t c = 0; c < C; c++) {
            dp[c] += (float)sgh[c];    /* d gamma */
            dp[C + c] += (float)sg[c]; /* d beta */
        }
    if (!dx)
        return;
    /* training: dx = gamma istd (g - mean(g) - x_hat mean(g x_hat));
     * evaluation (fixed statistics): dx = gamma istd g */
    for (int64_t c = 0; c < C; c++) {
        mg[c] = train ? (float)(sg[c] / (double)M) : 0.0f;
        mgh[c] = train ? (float)(sgh[c] / (double)M) : 0.0f;
    }
    nn_bn_grad_input(act, slope, x, dy, dx, n, C, S, mean_s, istd_s, k_s, beta, mg, mgh);
}
