/* bench/nn/bench_nn.c - time one GAN training step of the nn engine.
 *
 * A step is what the trainer does per batch: a discriminator Adam step
 * (G forward on noise; D forward + BCE + backward on the real batch and on
 * the fake batch, as one pass over both joined when the network's samples
 * do not interact (MLP, LSTM: lpz_replica_supported), else as two; Adam on
 * D) then a generator Adam step (G forward, D
 * forward, BCE against "real", D backward to its input, G backward, Adam
 * on G). Cases: the MLP GAN (batch 100 and 400), the DCGAN 3x64x64 (batch
 * 64), the LSTM GAN (batch 100, sequence 30, 4 features, hidden 10).
 *
 * Prints the median step time, the GEMM GFLOP/s achieved (only FLOPs of
 * matrix products are counted, by wrapping cblas_sgemm and the linear
 * layer's own kernels) and the machine's
 * single-thread sgemm peak (512^3, measured in the same run). When
 * /usr/bin/python3 has torch, runs torch_step.py for the same steps and
 * prints lpz/PyTorch ratios, against an idiomatic PyTorch step ("torch
 * step") and against the step as Lipizzaner's own code runs it ("torch
 * step, Lipizzaner's code": per update a new Adam loaded with the saved
 * state, the fake batch not detached, both networks' gradients).
 *
 * usage: bench_nn [--reps N] [--no-torch] [--quick] [--only PREFIX] [--blas-info]
 *                 [--threads N] [--rounds N] [--shapes] [--precision highest|high|medium]
 *                 [--kernels]
 *   --quick: fewer repetitions, one round, DCGAN at batch 16 (a smoke run);
 *   --rounds N (1-9, default 3): every case in lpz then in PyTorch, N
 *   times over; figures are the medians of the rounds', ratios the
 *   medians of the rounds' ratios (listed in the row);
 *   --only: run the cases whose name starts with PREFIX (mlp, dcgan, lstm);
 *   --blas-info: print OpenBLAS's build configuration and thread count;
 *   --threads N: BLAS threads (default 1; PyTorch always runs on 1:
 *   torch_step.py pins its OpenBLAS and OpenMP, and a row says so if its
 *   process still used more CPU than its thread; ratios are only like for
 *   like at 1);
 *   --shapes: after each case, every matrix product of a step by kind
 *   (OpenBLAS sgemm and its transposes, the engine's kernels) and shape,
 *   with its time and GFLOP/s: where a step's product time goes (the
 *   timer calls add a little to the step);
 *   --precision: the matmul precision (general.matmul_precision,
 *   nn/precision.h): high and medium run the products in bf16 limbs on
 *   AMX, medium on AVX512-BF16 where there is no AMX; their rows are
 *   named "CASE (high)"; on a CPU that runs the precision as highest the
 *   run prints a line and no rows. PyTorch always runs fp32;
 *   --kernels: instead of the steps, each product of the MLP GAN's linear
 *   layers at batch 100 alone (warm, fastest of --reps runs, default 51,
 *   in thread CPU time) on the engine's fp32 kernels and in one and two bf16 limbs on
 *   each bf16 unit this CPU has (AMX, AVX512-BF16): GFLOP/s per shape.
 * Results are rows "| figure | median | unit | runs | note |" (bench/run.sh).
 */
#include "nn/adam.h"
#include "nn/loss.h"
#include "nn/model_frozen.h"
#include "nn/precision.h"
#include "nn/replica.h"
#include <lpz/nn.h>

#include <cblas.h>
#include <dlfcn.h>
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#ifndef LPZ_BENCH_NN_DIR
#define LPZ_BENCH_NN_DIR "."
#endif

/* ---- sgemm FLOP counting: this definition shadows OpenBLAS's ----------- */

typedef void (*sgemm_fn)(const enum CBLAS_ORDER, const enum CBLAS_TRANSPOSE, const enum CBLAS_TRANSPOSE,
                         const blasint, const blasint, const blasint, const float, const float *, const blasint,
                         const float *, const blasint, const float, float *, const blasint);
static sgemm_fn real_sgemm;
static double gemm_flops;
static double now(void);

/* --shapes: every product's time by kind and shape over the timed steps. */
typedef struct shape_stat {
    const char *kind; /* "sgemm NT", "lk fwd", ... */
    int64_t m, n, k;
    long calls;
    double seconds;
} shape_stat;
static int shapes_on;
static shape_stat shapes[128];
static int n_shapes;

static void shape_add(const char *kind, int64_t m, int64_t n, int64_t k, double seconds)
{
    int i = 0;
    while (i < n_shapes && !(shapes[i].kind == kind && shapes[i].m == m && shapes[i].n == n && shapes[i].k == k))
        i++;
    if (i == n_shapes) {
        if (n_shapes == (int)(sizeof shapes / sizeof shapes[0]))
            return;
        shapes[n_shapes++] = (shape_stat){kind, m, n, k, 0, 0};
    }
    shapes[i].calls++;
    shapes[i].seconds += seconds;
}

/* Runs CALL, counts its FLOPs and, with --shapes, times it under KIND. */
#define PRODUCT(kind, m, n, k, call)                                                                               \
    do {                                                                                                           \
        gemm_flops += 2.0 * (double)(m) * (double)(n) * (double)(k);                                               \
        double t0_ = shapes_on ? now() : 0;                                                                        \
        call;                                                                                                      \
        if (shapes_on)                                                                                             \
            shape_add(kind, m, n, k, now() - t0_);                                                                 \
    } while (0)

void cblas_sgemm(const enum CBLAS_ORDER o, const enum CBLAS_TRANSPOSE ta, const enum CBLAS_TRANSPOSE tb,
                 const blasint m, const blasint n, const blasint k, const float alpha, const float *a,
                 const blasint lda, const float *b, const blasint ldb, const float beta, float *c,
                 const blasint ldc)
{
    /* the engine calls it row-major only (nn_gemm) */
    static const char *kinds[2][2] = {{"sgemm NN", "sgemm NT"}, {"sgemm TN", "sgemm TT"}};
    const char *kind = kinds[ta != CblasNoTrans][tb != CblasNoTrans];
    PRODUCT(kind, m, n, k, real_sgemm(o, ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc));
}

/* The engine's own AVX-512 products (nn/linear_kernels.h: the linear
 * layer's three, the convolutions' nn_lk_gemm) replace cblas_sgemm there;
 * CMakeLists.txt links with --wrap so that layers.c's and conv.c's calls
 * come here first and are counted the same way. */
#include "nn/linear_kernels.h"
void __real_nn_lk_forward(int64_t R, int64_t O, int64_t In, const float *x, const float *W, const float *b, float *y,
                          float *xt);
void __real_nn_lk_backward_input(int64_t R, int64_t O, int64_t In, const float *dy, const float *W, float *dx);
void __real_nn_lk_backward_weight(int64_t R, int64_t O, int64_t In, const float *dy, const float *x, float *dW,
                                  int add);
void __wrap_nn_lk_forward(int64_t R, int64_t O, int64_t In, const float *x, const float *W, const float *b, float *y,
                          float *xt);
void __wrap_nn_lk_backward_input(int64_t R, int64_t O, int64_t In, const float *dy, const float *W, float *dx);
void __wrap_nn_lk_backward_weight(int64_t R, int64_t O, int64_t In, const float *dy, const float *x, float *dW,
                                  int add);
void __real_nn_lk_gemm(int at, int64_t M, int64_t N, int64_t K, const float *a, int64_t lda, const float *b,
                       int64_t ldb, float *c, int64_t ldc);
void __wrap_nn_lk_gemm(int at, int64_t M, int64_t N, int64_t K, const float *a, int64_t lda, const float *b,
                       int64_t ldb, float *c, int64_t ldc);

void __wrap_nn_lk_forward(int64_t R, int64_t O, int64_t In, const float *x, const float *W, const float *b, float *y,
                          float *xt)
{
    PRODUCT("lk forward", R, O, In, __real_nn_lk_forward(R, O, In, x, W, b, y, xt));
}

/* the forward with its ReLU/LeakyReLU applied as it stores (layers.c calls this one) */
void __real_nn_lk_forward_act(int64_t R, int64_t O, int64_t In, const float *x, const float *W, const float *b,
                              float *y, float *xt, int act, float slope);
void __wrap_nn_lk_forward_act(int64_t R, int64_t O, int64_t In, const float *x, const float *W, const float *b,
                              float *y, float *xt, int act, float slope);
void __wrap_nn_lk_forward_act(int64_t R, int64_t O, int64_t In, const float *x, const float *W, const float *b,
                              float *y, float *xt, int act, float slope)
{
    PRODUCT("lk forward", R, O, In, __real_nn_lk_forward_act(R, O, In, x, W, b, y, xt, act, slope));
}

void __wrap_nn_lk_backward_input(int64_t R, int64_t O, int64_t In, const float *dy, const float *W, float *dx)
{
    PRODUCT("lk dx", R, In, O, __real_nn_lk_backward_input(R, O, In, dy, W, dx));
}

void __wrap_nn_lk_backward_weight(int64_t R, int64_t O, int64_t In, const float *dy, const float *x, float *dW,
                                  int add)
{
    PRODUCT("lk dW", O, In, R, __real_nn_lk_backward_weight(R, O, In, dy, x, dW, add));
}

void __wrap_nn_lk_gemm(int at, int64_t M, int64_t N, int64_t K, const float *a, int64_t lda, const float *b,
                       int64_t ldb, float *c, int64_t ldc)
{
    PRODUCT(at ? "lk gemm T" : "lk gemm N", M, N, K, __real_nn_lk_gemm(at, M, N, K, a, lda, b, ldb, c, ldc));
}

/* the transposed product with A^T packed once (conv.c's chunks): the same FLOPs as lk gemm T */
void __real_nn_lk_gemm_packed(int64_t M, int64_t N, int64_t K, const float *pk, const float *b, int64_t ldb, float *c,
                              int64_t ldc);
void __wrap_nn_lk_gemm_packed(int64_t M, int64_t N, int64_t K, const float *pk, const float *b, int64_t ldb, float *c,
                              int64_t ldc);
void __wrap_nn_lk_gemm_packed(int64_t M, int64_t N, int64_t K, const float *pk, const float *b, int64_t ldb, float *c,
                              int64_t ldc)
{
    PRODUCT("lk gemm T packed", M, N, K, __real_nn_lk_gemm_packed(M, N, K, pk, b, ldb, c, ldc));
}

/* The bf16 products of the high and medium matmul precisions (AMX:
 * nn/amx_kernels.h; AVX512-BF16: nn/avx512bf16_kernels.h), wrapped the
 * same way: counted only when they computed (else the caller's fp32
 * fallback is). */
#include "nn/amx_kernels.h"
#include "nn/avx512bf16_kernels.h"
#define BF16_WRAP(fn, kind_high, kind_medium)                                                                      \
    int __real_##fn(int limbs, int64_t M, int64_t N, int64_t K, const float *a, int64_t a_rs, int64_t a_cs,          \
                    const float *b, int64_t b_rs, int64_t b_cs, const float *bias, float *c, int64_t ldc, int add);  \
    int __wrap_##fn(int limbs, int64_t M, int64_t N, int64_t K, const float *a, int64_t a_rs, int64_t a_cs,          \
                    const float *b, int64_t b_rs, int64_t b_cs, const float *bias, float *c, int64_t ldc, int add);  \
    int __wrap_##fn(int limbs, int64_t M, int64_t N, int64_t K, const float *a, int64_t a_rs, int64_t a_cs,          \
                    const float *b, int64_t b_rs, int64_t b_cs, const float *bias, float *c, int64_t ldc, int add)   \
    {                                                                                                              \
        double t0 = shapes_on ? now() : 0;                                                                         \
        int rc = __real_##fn(limbs, M, N, K, a, a_rs, a_cs, b, b_rs, b_cs, bias, c, ldc, add);                     \
        if (rc == 0) {                                                                                             \
            gemm_flops += 2.0 * (double)M * (double)N * (double)K;                                                 \
            if (shapes_on)                                                                                         \
                shape_add(limbs == 2 ? kind_high : kind_medium, M, N, K, now() - t0);                              \
        }                                                                                                          \
        return rc;                                                                                                 \
    }
BF16_WRAP(nn_amx_gemm, "amx high", "amx medium")
BF16_WRAP(nn_avx512bf16_gemm, "avx512bf16 high", "avx512bf16 medium")

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* CPU seconds of the calling thread: on a shared machine the neighbours'
 * load stretches wall time by time-slicing, much less this. The calling
 * thread does all the work at --threads 1; the process clock would also
 * count OpenBLAS's idle workers spinning in sched_yield (twice the step). */
static double cpu_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof(double), cmp_double);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

static void die(const char *what, const lpz_error *err)
{
    fprintf(stderr, "bench_nn: %s: %s\n", what, err->message);
    exit(1);
}

#define CK(call)                                                                                                   \
    do {                                                                                                           \
        if ((call) != LPZ_OK)                                                                                      \
            die(#call, &err);                                                                                      \
    } while (0)

/* ---- networks ------------------------------------------------------------- */

static lpz_error err;

static lpz_model *mlp_g(void)
{
    lpz_model *m;
    lpz_shape s = lpz_shape_make(1, 64, 0, 0, 0);
    CK(lpz_model_create(&s, 1, &m, &err));
    CK(lpz_model_add_linear(m, "0", 256, 1, &err));
    CK(lpz_model_add_leaky_relu(m, 0.2f, &err));
    CK(lpz_model_add_linear(m, "2", 256, 1, &err));
    CK(lpz_model_add_leaky_relu(m, 0.2f, &err));
    CK(lpz_model_add_linear(m, "4", 784, 1, &err));
    CK(lpz_model_add_tanh(m, &err));
    lpz_shape img = lpz_shape_make(3, 1, 28, 28, 0); /* as the four_layer_perceptron plugin: images out */
    CK(lpz_model_add_reshape(m, &img, &err));
    return m;
}

static lpz_model *mlp_d(void)
{
    lpz_model *m;
    lpz_shape s = lpz_shape_make(3, 1, 28, 28, 0); /* images in, flattened, as the plugin's */
    CK(lpz_model_create(&s, 2, &m, &err));
    CK(lpz_model_add_flatten(m, &err));
    CK(lpz_model_add_linear(m, "0", 256, 1, &err));
    CK(lpz_model_add_leaky_relu(m, 0.2f, &err));
    CK(lpz_model_add_linear(m, "2", 256, 1, &err));
    CK(lpz_model_add_leaky_relu(m, 0.2f, &err));
    CK(lpz_model_add_linear(m, "4", 1, 1, &err));
    CK(lpz_model_add_sigmoid(m, &err));
    return m;
}

/* The convolutional plugin's DCGAN (as the original's network_factory.py:
 * every (transposed) convolution with a bias), width 64, 3x64x64. */
static lpz_model *dcgan_g(void)
{
    lpz_model *m;
    lpz_shape s = lpz_shape_make(3, 100, 1, 1, 0);
    CK(lpz_model_create(&s, 3, &m, &err));
    static const int ch[] = {512, 256, 128, 64};
    char name[8];
    for (int i = 0; i < 4; i++) {
        snprintf(name, sizeof(name), "%d", 3 * i);
        CK(lpz_model_add_conv_transpose2d(m, name, ch[i], 4, i ? 2 : 1, i ? 1 : 0, 1, &err));
        snprintf(name, sizeof(name), "%d", 3 * i + 1);
        CK(lpz_model_add_batchnorm(m, name, &err));
        CK(lpz_model_add_relu(m, &err));
    }
    CK(lpz_model_add_conv_transpose2d(m, "12", 3, 4, 2, 1, 1, &err));
    CK(lpz_model_add_tanh(m, &err));
    return m;
}

static lpz_model *dcgan_d(void)
{
    lpz_model *m;
    lpz_shape s = lpz_shape_make(3, 3, 64, 64, 0);
    CK(lpz_model_create(&s, 4, &m, &err));
    CK(lpz_model_add_conv2d(m, "0", 64, 4, 2, 1, 1, &err));
    CK(lpz_model_add_leaky_relu(m, 0.2f, &err));
    static const int ch[] = {128, 256, 512};
    char name[8];
    for (int i = 0; i < 3; i++) {
        snprintf(name, sizeof(name), "%d", 2 + 3 * i);
        CK(lpz_model_add_conv2d(m, name, ch[i], 4, 2, 1, 1, &err));
        snprintf(name, sizeof(name), "%d", 3 + 3 * i);
        CK(lpz_model_add_batchnorm(m, name, &err));
        CK(lpz_model_add_leaky_relu(m, 0.2f, &err));
    }
    CK(lpz_model_add_conv2d(m, "11", 1, 4, 1, 0, 1, &err));
    CK(lpz_model_add_flatten(m, &err));
    CK(lpz_model_add_sigmoid(m, &err));
    return m;
}

/* rnn: generator noise (10) repeated over 30 steps -> Linear(10, 10) ->
 * LSTM(10, 2 layers, dropout 0.05) -> Linear(10, 4) per step;
 * discriminator (30, 4) -> Linear(4, 10) -> LSTM -> last step ->
 * Linear(10, 1) -> Sigmoid. */
static lpz_model *lstm_g(void)
{
    lpz_model *m;
    lpz_shape s = lpz_shape_make(1, 10, 0, 0, 0);
    CK(lpz_model_create(&s, 5, &m, &err));
    CK(lpz_model_add_repeat_steps(m, 30, &err));
    CK(lpz_model_add_linear(m, "inp", 10, 1, &err));
    CK(lpz_model_add_lstm(m, "rnn", 10, 2, 0.05f, &err));
    CK(lpz_model_add_linear(m, "out", 4, 1, &err));
    return m;
}

static lpz_model *lstm_d(void)
{
    lpz_model *m;
    lpz_shape s = lpz_shape_make(2, 30, 4, 0, 0);
    CK(lpz_model_create(&s, 6, &m, &err));
    CK(lpz_model_add_linear(m, "inp", 10, 1, &err));
    CK(lpz_model_add_lstm(m, "rnn", 10, 2, 0.05f, &err));
    CK(lpz_model_add_last_step(m, &err));
    CK(lpz_model_add_linear(m, "out", 1, 1, &err));
    CK(lpz_model_add_sigmoid(m, &err));
    return m;
}

/* ---- one GAN step ----------------------------------------------------------- */

typedef struct gan {
    lpz_model *g, *d;
    lpz_adam *ag, *ad;
    int64_t batch, nz, nx;
    float *z, *real, *dy, *dx;
    int joined; /* 1: real then fake rows in D's input buffer, one D pass (0: two passes) */
    lpz_rng rng;
} gan;

static void gan_init(gan *s, lpz_model *g, lpz_model *d, int64_t batch)
{
    s->g = g;
    s->d = d;
    s->batch = batch;
    lpz_shape zs = lpz_model_input_shape(g), xs = lpz_model_input_shape(d);
    s->nz = batch * lpz_shape_numel(&zs);
    s->nx = batch * lpz_shape_numel(&xs);
    CK(lpz_adam_create(lpz_model_param_count(g), &s->ag, &err));
    CK(lpz_adam_create(lpz_model_param_count(d), &s->ad, &err));
    CK(lpz_model_reserve(g, batch, &err));
    CK(lpz_model_reserve(d, batch, &err));
    s->z = malloc((size_t)s->nz * sizeof(float));
    s->real = malloc((size_t)s->nx * sizeof(float));
    s->dy = malloc((size_t)(2 * batch) * sizeof(float));
    s->joined = lpz_replica_supported(d);
    if (s->joined)
        CK(lpz_model_reserve(d, 2 * batch, &err));
    s->dx = malloc((size_t)s->nx * sizeof(float));
    lpz_rng_seed(&s->rng, 7, 0);
    lpz_rng_fill_uniform(&s->rng, s->real, (size_t)s->nx, -1.0f, 1.0f);
}

static void gan_free(gan *s)
{
    lpz_model_destroy(s->g);
    lpz_model_destroy(s->d);
    lpz_adam_destroy(s->ag);
    lpz_adam_destroy(s->ad);
    free(s->z);
    free(s->real);
    free(s->dy);
    free(s->dx);
}

static void gan_step(gan *s)
{
    double loss;
    const float *out;
    /* discriminator: BCE(D(x), 1) + BCE(D(G(z)), 0) */
    lpz_rng_fill_normal(&s->rng, s->z, (size_t)s->nz, 0.0f, 1.0f);
    const float *fake = lpz_model_forward(s->g, s->z, s->batch, &err);
    if (!fake)
        die("G forward", &err);
    if (s->joined) { /* as the trainer: the joined rows assembled in D's input buffer, one pass */
        float *cat = lpz_model_input_buffer(s->d, 2 * s->batch, &err);
        if (!cat)
            die("D input buffer", &err);
        memcpy(cat, s->real, (size_t)s->nx * sizeof(float));
        memcpy(cat + s->nx, fake, (size_t)s->nx * sizeof(float));
        if (!(out = lpz_model_forward(s->d, cat, 2 * s->batch, &err)))
            die("D forward", &err);
        CK(lpz_loss(LPZ_LOSS_BCE, out, s->batch, 1.0f, &loss, s->dy, &err));
        CK(lpz_loss(LPZ_LOSS_BCE, out + s->batch, s->batch, 0.0f, &loss, s->dy + s->batch, &err));
        CK(lpz_model_backward_fresh(s->d, s->dy, NULL, &err));
    } else {
        if (!(out = lpz_model_forward(s->d, s->real, s->batch, &err)))
            die("D forward", &err);
        CK(lpz_loss(LPZ_LOSS_BCE, out, s->batch, 1.0f, &loss, s->dy, &err));
        CK(lpz_model_backward_fresh(s->d, s->dy, NULL, &err)); /* as zero_grad + backward */
        if (!(out = lpz_model_forward(s->d, fake, s->batch, &err)))
            die("D forward", &err);
        CK(lpz_loss(LPZ_LOSS_BCE, out, s->batch, 0.0f, &loss, s->dy, &err));
        CK(lpz_model_backward(s->d, s->dy, NULL, &err));
    }
    CK(lpz_adam_step(s->ad, lpz_model_params(s->d), lpz_model_grads(s->d), 2e-4, 0.5, 0.999, &err));
    /* generator: BCE(D(G(z)), 1) through D */
    lpz_rng_fill_normal(&s->rng, s->z, (size_t)s->nz, 0.0f, 1.0f);
    if (!(fake = lpz_model_forward(s->g, s->z, s->batch, &err)))
        die("G forward", &err);
    if (!(out = lpz_model_forward(s->d, fake, s->batch, &err)))
        die("D forward", &err);
    CK(lpz_loss(LPZ_LOSS_BCE, out, s->batch, 1.0f, &loss, s->dy, &err));
    CK(lpz_model_backward_input(s->d, s->dy, s->dx, &err)); /* D's own gradients unused */
    CK(lpz_model_backward_fresh(s->g, s->dx, NULL, &err));
    CK(lpz_adam_step(s->ag, lpz_model_params(s->g), lpz_model_grads(s->g), 2e-4, 0.5, 0.999, &err));
}

typedef struct result {
    const char *name;
    double ms, gflops;   /* median step, GEMM FLOPs / median step */
    double best_gflops;  /* GEMM FLOPs / fastest step */
    double torch_ms;
    double cpu_ms;       /* median CPU time of a step (calling thread) */
    double torch_cpu_ms;  /* the same for PyTorch (0: not reported) */
    double torch_proc_ms; /* PyTorch's process CPU per step, every thread (0: not reported) */
    double lip_ms, lip_cpu_ms, lip_proc_ms; /* PyTorch as Lipizzaner's code runs the step (0: not reported) */
    /* over the rounds (main): the medians of each round's lpz/PyTorch
     * ratios, wall and CPU, and the wall ratios one by one */
    double ratio, cpu_ratio, lip_ratio, lip_cpu_ratio;
    char ratios[64], lip_ratios[64];
    int torch_rounds, lip_rounds; /* rounds in which PyTorch reported the step */
} result;

/* The median over the rounds of a figure, of the rounds that have it
 * (> 0; 0 if none has: PyTorch failed or is absent), and of a ratio of
 * two, of the rounds that have both; *count: how many rounds that was. */
#define MAX_ROUNDS 9
static double round_median(const result *rr, int rounds, size_t off)
{
    double v[MAX_ROUNDS];
    int n = 0;
    for (int q = 0; q < rounds; q++) {
        double x = *(const double *)((const char *)&rr[q] + off);
        if (x > 0)
            v[n++] = x;
    }
    return n ? median(v, n) : 0;
}

static double round_ratio(const result *rr, int rounds, size_t num, size_t den, char *list, size_t size, int *count)
{
    double v[MAX_ROUNDS];
    int n = 0;
    if (list)
        list[0] = 0;
    for (int q = 0; q < rounds; q++) {
        double a = *(const double *)((const char *)&rr[q] + num), b = *(const double *)((const char *)&rr[q] + den);
        if (!(a > 0 && b > 0))
            continue;
        v[n] = a / b;
        if (list) {
            size_t len = strlen(list);
            snprintf(list + len, size - len, "%s%.2f", n ? " " : "", v[n]);
        }
        n++;
    }
    if (count)
        *count = n;
    return n ? median(v, n) : 0;
}

/* One case's figures over its rounds rr[0 .. rounds-1]: medians, the
 * fastest step's rate, the ratios (round_ratio). */
static result combine_rounds(const result *rr, int rounds)
{
    result r = rr[0];
#define RMED(f) r.f = round_median(rr, rounds, offsetof(result, f))
    RMED(ms);
    RMED(cpu_ms);
    RMED(torch_ms);
    RMED(torch_cpu_ms);
    RMED(torch_proc_ms);
    RMED(lip_ms);
    RMED(lip_cpu_ms);
    RMED(lip_proc_ms);
#undef RMED
    r.gflops = rr[0].gflops * rr[0].ms / r.ms; /* the same FLOPs every step: the rate of the median step */
    for (int q = 1; q < rounds; q++)
        if (rr[q].best_gflops > r.best_gflops)
            r.best_gflops = rr[q].best_gflops;
    r.ratio = round_ratio(rr, rounds, offsetof(result, ms), offsetof(result, torch_ms), r.ratios, sizeof r.ratios,
                          &r.torch_rounds);
    r.cpu_ratio = round_ratio(rr, rounds, offsetof(result, cpu_ms), offsetof(result, torch_cpu_ms), NULL, 0, NULL);
    r.lip_ratio = round_ratio(rr, rounds, offsetof(result, ms), offsetof(result, lip_ms), r.lip_ratios,
                              sizeof r.lip_ratios, &r.lip_rounds);
    r.lip_cpu_ratio = round_ratio(rr, rounds, offsetof(result, cpu_ms), offsetof(result, lip_cpu_ms), NULL, 0, NULL);
    return r;
}

/* Appends "; " (unless buf is empty) and the formatted text to buf. */
__attribute__((format(printf, 3, 4))) static void note_add(char *buf, size_t size, const char *fmt, ...)
{
    size_t len = strlen(buf);
    if (len && len + 2 < size) {
        memcpy(buf + len, "; ", 3);
        len += 2;
    }
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf + len, size - len, fmt, ap);
    va_end(ap);
}

static int cmp_shape(const void *a, const void *b)
{
    double x = ((const shape_stat *)a)->seconds, y = ((const shape_stat *)b)->seconds;
    return x > y ? -1 : x < y;
}

/* --shapes: the products of one step by time (each product's own wall
 * time, timer included; mean over the timed steps). */
static void print_shapes(const char *name, int reps, double step)
{
    qsort(shapes, (size_t)n_shapes, sizeof shapes[0], cmp_shape);
    double total = 0;
    for (int i = 0; i < n_shapes; i++)
        total += shapes[i].seconds;
    printf("%s: products per step (mean of %d steps): %.2f ms of the %.2f ms median step\n", name, reps,
           total / reps * 1e3, step * 1e3);
    printf("  %-17s %6s %6s %6s %5s %9s %8s\n", "kind", "M", "N", "K", "calls", "ms", "GFLOP/s");
    for (int i = 0; i < n_shapes; i++) {
        const shape_stat *h = &shapes[i];
        printf("  %-17s %6lld %6lld %6lld %5.1f %9.3f %8.1f\n", h->kind, (long long)h->m, (long long)h->n,
               (long long)h->k, (double)h->calls / reps, h->seconds / reps * 1e3,
               2.0 * (double)h->m * (double)h->n * (double)h->k * (double)h->calls / h->seconds * 1e-9);
    }
}

static result run_case(const char *name, lpz_model *g, lpz_model *d, int64_t batch, int reps)
{
    gan s;
    gan_init(&s, g, d, batch);
    gan_step(&s); /* warm-up (first touch of the scratch memory) */
    gemm_flops = 0;
    gan_step(&s);
    double flops = gemm_flops;
    double *t = malloc((size_t)reps * 2 * sizeof(double)), *c = t + reps;
    n_shapes = 0;
    for (int i = 0; i < reps; i++) {
        double t0 = now(), c0 = cpu_now();
        gan_step(&s);
        t[i] = now() - t0;
        c[i] = cpu_now() - c0;
    }
    double med = median(t, reps); /* sorts t */
    double best = t[0];
    double cpu = median(c, reps);
    if (shapes_on)
        print_shapes(name, reps, med);
    free(t);
    gan_free(&s);
    result r = {.name = name, .ms = med * 1e3, .gflops = flops / med * 1e-9, .best_gflops = flops / best * 1e-9,
                .cpu_ms = cpu * 1e3};
    return r;
}

/* The machine's single-thread sgemm rate: the FASTEST of reps 512^3
 * products (a peak is what the hardware allows; on a shared machine the
 * median drifts with the neighbours' load). */
static double sgemm_peak(int reps)
{
    int n = 512;
    float *a = malloc((size_t)n * n * sizeof(float)), *b = malloc((size_t)n * n * sizeof(float));
    float *c = malloc((size_t)n * n * sizeof(float));
    for (int i = 0; i < n * n; i++)
        a[i] = b[i] = (float)((i % 17) - 8) / 8.0f;
    double *t = malloc((size_t)reps * sizeof(double));
    real_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1.0f, a, n, b, n, 0.0f, c, n);
    for (int i = 0; i < reps; i++) {
        double t0 = now();
        real_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1.0f, a, n, b, n, 0.0f, c, n);
        t[i] = now() - t0;
    }
    median(t, reps); /* sorts t: t[0] is the fastest */
    double best = t[0];
    free(a);
    free(b);
    free(c);
    free(t);
    return 2.0 * n * n * n / best * 1e-9;
}

static char torch_version[32]; /* "" until torch_step.py reports it */

/* Runs torch_step.py; fills torch_ms of the cases it reports
 * ("<case> <median ms> <median CPU ms>" lines), lip_ms of those it reports
 * as Lipizzaner's code runs them ("<case>_lipizzaner ...") and
 * torch_version ("torch <version>"). */
static void run_torch(result *r, int n, int reps, int quick, const char *only)
{
    char cmd[2048];
    /* only: bench_nn's --only prefix, passed on so that PyTorch runs the
     * same cases (a case name: letters, digits and '_', no quoting needed) */
    snprintf(cmd, sizeof(cmd), "/usr/bin/python3 %s/torch_step.py --reps %d%s%s%s 2>/dev/null", LPZ_BENCH_NN_DIR,
             reps, quick ? " --quick" : "", only ? " --only " : "", only ? only : "");
    FILE *p = popen(cmd, "r");
    if (!p)
        return;
    char line[256];
    while (fgets(line, sizeof(line), p)) {
        char name[64];
        double ms, cpu_ms = 0, proc_ms = 0;
        if (sscanf(line, "torch %31s", torch_version) == 1)
            continue;
        if (sscanf(line, "%63s %lf %lf %lf", name, &ms, &cpu_ms, &proc_ms) >= 2)
            for (int i = 0; i < n; i++) {
                size_t len = strlen(r[i].name);
                if (strcmp(r[i].name, name) == 0) {
                    r[i].torch_ms = ms;
                    r[i].torch_cpu_ms = cpu_ms;
                    r[i].torch_proc_ms = proc_ms;
                } else if (strncmp(r[i].name, name, len) == 0 && strcmp(name + len, "_lipizzaner") == 0) {
                    r[i].lip_ms = ms;
                    r[i].lip_cpu_ms = cpu_ms;
                    r[i].lip_proc_ms = proc_ms;
                }
            }
    }
    pclose(p);
}

/* The comparison is one thread against one: torch_step.py pins PyTorch's
 * OpenBLAS and OpenMP to one thread (Debian's PyTorch ran its products on
 * every core before). Its process CPU per step, every thread counted, well
 * above the calling thread's means work ran elsewhere all the same: the
 * row says so rather than compare one thread with several. */
static void torch_threads_note(char *buf, size_t size, double thread_ms, double proc_ms)
{
    buf[0] = 0;
    if (thread_ms > 0 && proc_ms > 1.2 * thread_ms)
        snprintf(buf, size, "; NOT one thread: the process used %.2f ms of CPU per step (%.1f threads' worth)",
                 proc_ms, proc_ms / thread_ms);
}

/* The rest of a ratio row's note: the CPU-time ratio (what a loaded
 * machine distorts least), the rounds' ratios, rounds PyTorch missed, and
 * a precision other than PyTorch's. */
static void ratio_notes(char *note, size_t size, double cpu_ratio, const char *ratios, int with_torch, int rounds,
                        int fp32)
{
    if (cpu_ratio > 0)
        note_add(note, size, "CPU time ratio %.2f", cpu_ratio);
    if (rounds > 1)
        note_add(note, size, "rounds %s", ratios);
    if (with_torch < rounds)
        note_add(note, size, "PyTorch in %d of %d rounds", with_torch, rounds);
    if (!fp32)
        note_add(note, size, "lpz at another precision than PyTorch's fp32");
}

/* "target <= 0.35: met (0.29, 17% under)" / "... missed by 31%". at_least:
 * the figure must reach goal (else stay under it). */
static void target_note(char *buf, size_t size, double value, double goal, int at_least, const char *what)
{
    int met = at_least ? value >= goal : value <= goal;
    double margin = fabs(value / goal - 1.0) * 100.0;
    if (at_least)
        snprintf(buf, size, "target >= %.0f%%%s%s: %s by %.0f%%", goal * 100, what[0] ? " " : "", what,
                 met ? "met" : "missed", margin);
    else
        snprintf(buf, size, "target <= %.2f: %s by %.0f%%", goal, met ? "met" : "missed", margin);
}

/* --kernels: the products of the MLP GAN's linear layers at batch 100 (in
 * -> out: 64 -> 256, 256 -> 256, 256 -> 784, 784 -> 256): forward
 * x W^T + b [100 x out], input gradient dy W [100 x in], weight gradient
 * dy^T x [out x in] (added to dW, as backward does), each alone and warm:
 * on the engine's fp32 kernels (linear_kernels.h) and in one and two bf16
 * limbs on each unit this CPU has (amx_kernels.h, avx512bf16_kernels.h).
 * A figure is the fastest of reps runs in thread CPU time (what a loaded
 * machine distorts least): what the units gain on the products
 * themselves, packing included, without the rest of a step. */
typedef int (*bf16_gemm_fn)(int limbs, int64_t M, int64_t N, int64_t K, const float *a, int64_t a_rs,
                            int64_t a_cs, const float *b, int64_t b_rs, int64_t b_cs, const float *bias, float *c,
                            int64_t ldc, int add);

static int run_kernels(int reps)
{
    static const int64_t layers[][2] = {{64, 256}, {256, 256}, {256, 784}, {784, 256}};
    static const char *kinds[3] = {"forward", "dx", "dW"};
    const int64_t R = 100;
    const struct {
        const char *name;
        bf16_gemm_fn gemm;
        int ok;
    } units[2] = {{"amx", __real_nn_amx_gemm, nn_amx_available()},
                  {"avx512bf16", __real_nn_avx512bf16_gemm, nn_avx512bf16_available()}};
    printf("bench_nn --kernels: the MLP GAN's linear products at batch 100, each the fastest of %d warm runs in "
           "thread CPU time; bf16 units here: AMX %s, AVX512-BF16 %s\n",
           reps, units[0].ok ? "yes" : "no", units[1].ok ? "yes" : "no");
    for (size_t l = 0; l < sizeof layers / sizeof *layers; l++) {
        int64_t in = layers[l][0], out = layers[l][1];
        float *x = malloc((size_t)(R * in) * sizeof(float)), *W = malloc((size_t)(out * in) * sizeof(float));
        float *b = malloc((size_t)out * sizeof(float)), *y = malloc((size_t)(R * out) * sizeof(float));
        float *dy = malloc((size_t)(R * out) * sizeof(float)), *dx = malloc((size_t)(R * in) * sizeof(float));
        float *dW = malloc((size_t)(out * in) * sizeof(float));
        size_t xt_bytes = ((size_t)nn_lk_forward_scratch(R, in) * sizeof(float) + 63) & ~(size_t)63;
        float *xt = aligned_alloc(64, xt_bytes);
        if (!x || !W || !b || !y || !dy || !dx || !dW || !xt) {
            fprintf(stderr, "bench_nn: out of memory\n");
            return 1;
        }
        for (int64_t i = 0; i < R * in; i++)
            x[i] = (float)((i * 7919) % 2001) / 1000.0f - 1.0f;
        for (int64_t i = 0; i < out * in; i++)
            W[i] = dW[i] = (float)((i * 104729) % 2003) / 20000.0f - 0.05f;
        for (int64_t i = 0; i < R * out; i++)
            dy[i] = (float)((i * 31) % 17) / 8.0f - 1.0f;
        for (int64_t i = 0; i < out; i++)
            b[i] = (float)(i % 7) / 70.0f;
        for (int kind = 0; kind < 3; kind++) {
            int64_t M = kind == 2 ? out : R, N = kind == 0 ? out : in, K = kind == 0 ? in : kind == 1 ? out : R;
            double flop = 2.0 * (double)M * (double)N * (double)K, best32 = 1e30;
            for (int r = 0; r < reps + 1; r++) { /* the first run warms the caches and the scratch */
                double t0 = cpu_now();
                if (kind == 0)
                    __real_nn_lk_forward(R, out, in, x, W, b, y, xt);
                else if (kind == 1)
                    __real_nn_lk_backward_input(R, out, in, dy, W, dx);
                else
                    __real_nn_lk_backward_weight(R, out, in, dy, x, dW, 1);
                double t = cpu_now() - t0;
                if (r && t < best32)
                    best32 = t;
            }
            char name[96];
            snprintf(name, sizeof name, "kernel %s %lldx%lldx%lld", kinds[kind], (long long)M, (long long)N,
                     (long long)K);
            printf("| %s fp32 | %.1f | GFLOP/s | %d | the engine's fp32 kernel |\n", name, flop / best32 * 1e-9,
                   reps);
            for (int u = 0; u < 2; u++)
                for (int limbs = 1; units[u].ok && limbs <= 2; limbs++) {
                    double best = 1e30;
                    for (int r = 0; r < reps + 1; r++) {
                        double t0 = cpu_now();
                        int rc = kind == 0   ? units[u].gemm(limbs, R, out, in, x, in, 1, W, 1, in, b, y, out, 0)
                                 : kind == 1 ? units[u].gemm(limbs, R, in, out, dy, out, 1, W, in, 1, NULL, dx, in, 0)
                                             : units[u].gemm(limbs, out, in, R, dy, 1, out, x, in, 1, NULL, dW, in, 1);
                        double t = cpu_now() - t0;
                        if (rc) {
                            fprintf(stderr, "bench_nn: %s refused %s\n", units[u].name, name);
                            return 1;
                        }
                        if (r && t < best)
                            best = t;
                    }
                    printf("| %s %s %d limb%s | %.1f | GFLOP/s | %d | %.2fx fp32's speed%s |\n", name, units[u].name,
                           limbs, limbs == 2 ? "s" : "", flop / best * 1e-9, reps, best32 / best,
                           limbs == 2 ? " (fp32-equivalent FLOPs)" : "");
                }
        }
        free(x), free(W), free(b), free(y), free(dy), free(dx), free(dW), free(xt);
    }
    return 0;
}

int main(int argc, char **argv)
{
    int reps = 11, torch = 1, quick = 0, threads = 1, precision = LPZ_MATMUL_HIGHEST, rounds = 3, kernels = 0;
    int reps_set = 0;
    const char *only = NULL;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--reps") == 0 && i + 1 < argc)
            reps = atoi(argv[++i]), reps_set = 1;
        else if (strcmp(argv[i], "--threads") == 0 && i + 1 < argc)
            threads = atoi(argv[++i]);
        else if (strcmp(argv[i], "--rounds") == 0 && i + 1 < argc) {
            rounds = atoi(argv[++i]);
            if (rounds < 1 || rounds > MAX_ROUNDS) {
                fprintf(stderr, "bench_nn: --rounds takes 1 to %d, not '%s'\n", MAX_ROUNDS, argv[i]);
                return 2;
            }
        }
        else if (strcmp(argv[i], "--no-torch") == 0)
            torch = 0;
        else if (strcmp(argv[i], "--quick") == 0)
            quick = 1;
        else if (strcmp(argv[i], "--shapes") == 0)
            shapes_on = 1;
        else if (strcmp(argv[i], "--kernels") == 0)
            kernels = 1;
        else if (strcmp(argv[i], "--precision") == 0 && i + 1 < argc) {
            const char *v = argv[++i];
            precision = !strcmp(v, "highest")  ? LPZ_MATMUL_HIGHEST
                        : !strcmp(v, "high")   ? LPZ_MATMUL_HIGH
                        : !strcmp(v, "medium") ? LPZ_MATMUL_MEDIUM
                                               : -1;
            if (precision < 0) {
                fprintf(stderr, "bench_nn: --precision takes highest, high or medium, not '%s'\n", v);
                return 2;
            }
        }
        else if (strcmp(argv[i], "--blas-info") == 0) {
            /* for bench/run.sh's header: the BLAS build and its default threads */
            printf("%s; %d threads by default\n", openblas_get_config(), openblas_get_num_threads());
            return 0;
        } else if (strcmp(argv[i], "--only") == 0 && i + 1 < argc)
            only = argv[++i];
        else {
            fprintf(stderr, "usage: bench_nn [--reps N] [--no-torch] [--quick] [--only CASE-PREFIX] [--blas-info] "
                            "[--threads N] [--rounds N] [--shapes] [--precision highest|high|medium] [--kernels]\n");
            return 2;
        }
    }
    /* --only goes into torch_step.py's command line: case names only */
    for (const char *c = only; c && *c; c++)
        if (!((*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') || *c == '_')) {
            fprintf(stderr, "bench_nn: --only takes a case name prefix (a-z, 0-9, _)\n");
            return 2;
        }
    if (reps < 1)
        reps = 1;
    if (quick && reps > 3)
        reps = 3;
    if (quick)
        rounds = 1;
    real_sgemm = (sgemm_fn)dlsym(RTLD_NEXT, "cblas_sgemm");
    if (!real_sgemm) {
        fprintf(stderr, "bench_nn: cannot find OpenBLAS's cblas_sgemm\n");
        return 1;
    }
    lpz_nn_set_threads(threads);
    if (kernels)
        return run_kernels(reps_set ? reps : 51);
    lpz_matmul_precision prec = lpz_nn_set_matmul_precision((lpz_matmul_precision)precision);
    if (prec != (lpz_matmul_precision)precision) { /* no rows: they would repeat the highest ones under a wrong name */
        char why[256];
        printf("bench_nn: this CPU runs --precision %s as highest (%s): not run\n",
               lpz_matmul_precision_name((lpz_matmul_precision)precision),
               lpz_nn_matmul_fallback_reason((lpz_matmul_precision)precision, why, sizeof why));
        return 0;
    }
    int dreps = reps > 5 ? 5 : reps; /* a DCGAN step takes seconds */
    /* Rounds: every case in lpz, then in PyTorch, again and again; each
     * ratio is the median of the rounds' ratios, so that a drift of the
     * machine's speed (20-40% within minutes on these VMs) between the
     * lpz and the PyTorch half of a round moves one round, not the row.
     * --shapes prints the first round's products only. */
    static result rr[5][MAX_ROUNDS];
    double peak = 0;
    int n = 0;
    for (int q = 0; q < rounds; q++) {
        double p = sgemm_peak(reps < 5 ? 5 : reps);
        if (p > peak)
            peak = p;
        result r[5];
        n = 0;
#define WANT(name) (!only || strncmp(name, only, strlen(only)) == 0)
        if (WANT("mlp_b100"))
            r[n++] = run_case("mlp_b100", mlp_g(), mlp_d(), 100, reps);
        if (WANT("mlp_b400"))
            r[n++] = run_case("mlp_b400", mlp_g(), mlp_d(), 400, reps);
        /* the full case name: --only dcgan_b64 must match it (the prefix
         * "dcgan" alone would be shorter than the option and never match) */
        const char *dcgan_name = quick ? "dcgan_b16" : "dcgan_b64";
        if (WANT(dcgan_name))
            r[n++] = run_case(dcgan_name, dcgan_g(), dcgan_d(), quick ? 16 : 64, dreps);
        if (WANT("lstm_b100"))
            r[n++] = run_case("lstm_b100", lstm_g(), lstm_d(), 100, reps);
        if (torch)
            run_torch(r, n, reps, quick, only);
        for (int i = 0; i < n; i++)
            rr[i][q] = r[i];
        shapes_on = 0;
    }
    result r[5];
    for (int i = 0; i < n; i++)
        r[i] = combine_rounds(rr[i], rounds);

    /* Rows for bench/run.sh: "| figure | median | unit | runs | note |";
     * the targets are those of issue 10 (docs/performance.md). */
    printf("nn engine: one G + one D Adam step, %d BLAS thread%s; GEMM GFLOP/s counts only matrix-product FLOPs; "
           "matmul precision %s%s%s); medians of %d round%s (each: every case in lpz%s), a round's figure the median "
           "of its \"runs\" steps\n",
           threads, threads == 1 ? "" : "s", lpz_matmul_precision_name(prec),
           prec == LPZ_MATMUL_HIGH ? " (products in two bf16 limbs, about 2^-16 each, on "
                                   : prec == LPZ_MATMUL_MEDIUM ? " (products in bf16, about 2^-8 each, on "
                                                               : " (",
           lpz_matmul_unit_name(lpz_nn_matmul_unit(prec)),
           rounds, rounds == 1 ? "" : "s", torch && torch_version[0] ? ", then in PyTorch" : "");
    char peak_name[32] = "";
    if (prec != LPZ_MATMUL_HIGHEST)
        snprintf(peak_name, sizeof peak_name, " (%s run)", lpz_matmul_precision_name(prec));
    printf("| sgemm 512^3 peak%s | %.1f | GFLOP/s | %d | fastest of the runs, %d thread%s, measured in this run |\n",
           peak_name, peak, reps < 5 ? 5 : reps, threads, threads == 1 ? "" : "s");
    int fp32 = prec == LPZ_MATMUL_HIGHEST;
    for (int i = 0; i < n; i++) {
        int runs = strncmp(r[i].name, "dcgan", 5) ? reps : dreps;
        double frac = r[i].gflops / peak;
        /* rows of another precision carry it in their name ("mlp_b100 (high) step") */
        char name[64];
        if (fp32)
            snprintf(name, sizeof name, "%s", r[i].name);
        else
            snprintf(name, sizeof name, "%s (%s)", r[i].name, lpz_matmul_precision_name(prec));
        char note[320] = "";
        if (fp32 && strcmp(r[i].name, "mlp_b100") == 0) /* the GEMM target is about fp32 products */
            target_note(note, sizeof note, frac, 0.60, 1, "of sgemm peak");
        printf("| %s step | %.2f | ms | %d | CPU time of the calling thread %.2f ms (median) |\n", name, r[i].ms, runs,
               r[i].cpu_ms);
        printf("| %s GEMM | %.1f | GFLOP/s | %d | %s%.0f%% of the fp32 sgemm peak (fastest step: %.0f%%)%s%s |\n", name,
               r[i].gflops, runs, fp32 ? "" : "bf16-limb products counted as fp32 FLOPs: ", 100.0 * frac,
               100.0 * r[i].best_gflops / peak, note[0] ? "; " : "", note);
        if (r[i].torch_ms > 0) {
            double ratio = r[i].ratio, goal = 0;
            if (strcmp(r[i].name, "mlp_b100") == 0)
                goal = 0.35;
            else if (strncmp(r[i].name, "dcgan_b64", 9) == 0 || strncmp(r[i].name, "lstm", 4) == 0)
                goal = 0.8;
            note[0] = 0;
            if (goal > 0)
                target_note(note, sizeof note, ratio, goal, 0, "");
            char threads_note[160];
            torch_threads_note(threads_note, sizeof threads_note, r[i].torch_cpu_ms, r[i].torch_proc_ms);
            printf("| %s torch step | %.2f | ms | %d | PyTorch %s, 1 thread, fp32; CPU time %.2f ms (median)%s |\n",
                   name, r[i].torch_ms, runs, torch_version, r[i].torch_cpu_ms, threads_note);
            ratio_notes(note, sizeof note, r[i].cpu_ratio, r[i].ratios, r[i].torch_rounds, rounds, fp32);
            printf("| %s lpz/torch | %.2f | ratio | %d | %s |\n", name, ratio, runs, note);
            /* What the hardware allows in fp32: the step's matrix products
             * alone at the peak of this run, against the target's time. */
            double gflop = r[i].gflops * r[i].ms * 1e-3, floor_ms = gflop / peak * 1e3;
            if (goal > 0 && fp32)
                printf("| %s GEMM floor | %.2f | ms | %d | the step's %.3f GFLOP of products at the sgemm peak, "
                       "nothing else; target %.2f x PyTorch = %.2f ms%s |\n",
                       name, floor_ms, runs, gflop, goal, goal * r[i].torch_ms,
                       goal * r[i].torch_ms < floor_ms ? ": below the floor at this run's sgemm peak" : "");
            /* The same step as the original system's own code runs it: the
             * baseline a user of Lipizzaner moves from. */
            if (r[i].lip_ms > 0) {
                note[0] = 0;
                if (goal > 0) {
                    char t[96];
                    target_note(t, sizeof t, r[i].lip_ratio, goal, 0, "");
                    note_add(note, sizeof note, "against Lipizzaner's own step, %s", t);
                }
                torch_threads_note(threads_note, sizeof threads_note, r[i].lip_cpu_ms, r[i].lip_proc_ms);
                printf("| %s torch step, Lipizzaner's code | %.2f | ms | %d | PyTorch %s, 1 thread, fp32, as "
                       "Lipizzaner runs it (per update a new Adam loaded with the saved state, the fake batch not "
                       "detached, both networks' gradients); CPU time %.2f ms (median)%s |\n",
                       name, r[i].lip_ms, runs, torch_version, r[i].lip_cpu_ms, threads_note);
                ratio_notes(note, sizeof note, r[i].lip_cpu_ratio, r[i].lip_ratios, r[i].lip_rounds, rounds, fp32);
                printf("| %s lpz/Lipizzaner's step | %.2f | ratio | %d | %s |\n", name, r[i].lip_ratio, runs, note);
            }
        }
    }
    if (torch && !torch_version[0])
        printf("PyTorch: not available (/usr/bin/python3 without torch): no ratios\n");
    return 0;
}
