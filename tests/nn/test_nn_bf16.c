/* tests/nn/test_nn_bf16.c - the products in bf16 limbs on both units,
 * the AMX tiles (nn/amx_kernels.h) and AVX512-BF16 (VDPBF16PS,
 * nn/avx512bf16_kernels.h), and the matmul precision that selects them
 * (nn/precision.h):
 * - each unit's kernel (same contract) against a double-precision product
 *   on every edge of its blocking (AMX: M, N around 16, K around 32, K
 *   across the 8-step chunks of 256; AVX512-BF16: M around its 8-row
 *   panels, N around its 16-column vectors and 48-column panels, odd K
 *   and K = 1, 2, 3, K across its 128-step blocks), in all four layouts
 *   of A and B (row stride wider than the row, padding NaN), with and
 *   without bias, storing or adding onto C (C's columns past N
 *   untouched); the error bound per element is tol (sum |A B| + |bias| +
 *   |old C|), tol = 2^-15 for two limbs and 2^-7 for one (just above a
 *   single product's worst case, see TOL_HIGH), and on a large product
 *   two limbs must be far more accurate than one;
 * - values the limb split must handle: exact results where the limbs hold
 *   the inputs exactly, the split's worst-case products, huge and tiny
 *   magnitudes, zeros of both signs, infinities (never a finite result);
 * - determinism: repeated calls, calls on row or column ranges and calls
 *   on other threads give bit-identical results;
 * - a direct call of each kernel before anything else, and bad arguments
 *   (-1, nothing written);
 * - the dispatch: high runs on AMX only, medium on AMX or else
 *   AVX512-BF16, and at medium the linear layer's three products are bit
 *   for bit that unit's kernel's;
 * - through the model API, an MLP (784-256-256-1) at "high" against
 *   "highest": outputs, input and parameter gradients close but not the
 *   same bits (the tile path is taken), lpz_model_backward_fresh equal to
 *   zero_grad + backward; a conv / conv-transpose network and a two-layer
 *   LSTM the same way (the convolutions' products and nn_gemm's); the
 *   same three networks at "medium" on whichever unit runs it; a model
 *   pinned to fp32 (the FID classifier) keeps highest's bits at high or
 *   medium, and so does its clone;
 * - the precision setting: what is in effect, names, invalid values.
 * A test whose unit this CPU lacks is skipped (cmocka's SKIPPED, with a
 * line saying why): the AMX ones on a CPU without AMX, the AVX512-BF16
 * ones on a CPU without AVX512-BF16, the high ones where high runs as
 * highest. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "nn/amx_kernels.h"
#include "nn/avx512bf16_kernels.h"
#include "nn/model_frozen.h"
#include "nn/precision.h"
#include <lpz/nn.h>

#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "nn_test_rand.h"
#include "nn_test_util.h"

/* Error bounds per element, relative to sum |A B| + |bias| + |old C|.
 * An operand x = hi + lo + r with |lo| <= 2^-8 |x| and |r| <= 2^-17 |x|
 * (half an ulp of lo). Two limbs compute hi hi' + lo hi' + hi lo', off
 * from x x' by lo lo' + r x' + r' x: at worst just under 2^-16 + 2 2^-17
 * = 2^-15 of |x x'| (0.994 2^-15 at x = x' = 1.00391388, and the kernel
 * gives exactly that; the bound amx_kernels.h states). One limb: at worst
 * 1 - 1/(1 + 2^-8)^2 = 0.994 2^-7. The fp32 sums add up to 2^-24 per
 * term, which only adversarial inputs, every product at its worst, could
 * line up past the bound. Measured here over
 * all shapes: 2.3e-5 and 7.05e-3, on one-term sums (K = 1; 4.7e-6 and
 * 2.2e-3 over K >= 31); over 8M random single products: 2.7e-5 and
 * 7.6e-3. The large random products, where the errors average out,
 * have tighter bounds of their own (test_kernel_two_limbs_beat_one). */
#define TOL_HIGH 0x1p-15   /* 3.05e-5 */
#define TOL_MEDIUM 0x1p-7  /* 7.8e-3 */
#define SENTINEL -7777.25f /* C's columns past N */

static int irand(int lo, int hi) /* uniform integer in [lo, hi] */
{
    return lo + (int)((next_u64() >> 33) % (uint64_t)(hi - lo + 1));
}

/* ---- the units -------------------------------------------------------------- */

typedef int (*gemm_fn)(int limbs, int64_t M, int64_t N, int64_t K, const float *a, int64_t a_rs, int64_t a_cs,
                       const float *b, int64_t b_rs, int64_t b_cs, const float *bias, float *c, int64_t ldc, int add);

/* A kernel under test, and the edges of its blocking for test_kernel_edges:
 * sizes of M and N, and of K. */
typedef struct {
    const char *name;
    gemm_fn gemm;
    int (*available)(void);
    const char *(*why_not)(void);
    const int64_t *mn, *k;
    int n_mn, n_k;
} bf16_unit;

static const char *amx_why_not(void)
{
    return nn_amx_status_text(nn_amx_status());
}

static const char *vdp_why_not(void)
{
    return nn_avx512bf16_status_text(nn_avx512bf16_status());
}

/* AMX: 16 x 16 tiles in pairs (32), 32-step reduction tiles, chunks of 8 */
static const int64_t amx_mn[] = {1, 15, 16, 17, 31, 33}, amx_k[] = {1, 31, 32, 33, 63, 65, 300};
/* AVX512-BF16: 8-row panels, 16-column vectors in panels of 48 (3
 * vectors; 4 go as 2 + 2: 49 and 64), pairs of k (odd K padded), blocks of
 * 16 pairs in the packing (32, 33) and of 128 steps in the kernel (300:
 * 150 steps at one limb, 450 at two) */
static const int64_t vdp_mn[] = {1, 7, 9, 16, 17, 33, 48, 49, 64};
static const int64_t vdp_k[] = {1, 2, 3, 31, 32, 33, 65, 300};

static const bf16_unit AMX = {"AMX", nn_amx_gemm, nn_amx_available, amx_why_not, amx_mn, amx_k, 6, 7};
static const bf16_unit VDP = {"AVX512-BF16", nn_avx512bf16_gemm, nn_avx512bf16_available, vdp_why_not,
                              vdp_mn, vdp_k, 9, 8};

static const bf16_unit *U = &AMX; /* the unit of the running kernel test */

/* Selects the test's unit (its state); 1 (after saying why) when this CPU
 * cannot run it: the caller skips. */
static int skip_without_unit(void **state)
{
    U = *state;
    if (U->available())
        return 0;
    print_message("skipped: no %s kernels here: %s\n", U->name, U->why_not());
    return 1;
}

/* ---- operands in any layout ------------------------------------------------- */

/* A product's operands as nn_amx_gemm takes them. A [M x K] stored as is
 * (at 0: a[m lda + k]) or transposed (at 1: a[k lda + m]); B [K x N] as
 * is (bt 0: b[k ldb + n]) or transposed (bt 1: b[n ldb + k]); every
 * stored row `pad` floats wider than the matrix, the padding NaN (a read
 * of it would poison the result). C [M x ldc], ldc = N + pad. */
typedef struct {
    int64_t M, N, K;
    int at, bt, bias, add;
    int64_t pad;
    float *a, *b, *bv, *c;
    int64_t lda, ldb, ldc;
    int64_t a_rs, a_cs, b_rs, b_cs;
} gemm_case;

static float amat(const gemm_case *g, int64_t m, int64_t k)
{
    return g->a[m * g->a_rs + k * g->a_cs];
}

static float bmat(const gemm_case *g, int64_t k, int64_t n)
{
    return g->b[k * g->b_rs + n * g->b_cs];
}

/* Allocates the case's operands: gen(i, which) gives element i of A (which
 * 0) or B (1) in logical row-major order, bias and old C uniform. */
static void case_init(gemm_case *g, int64_t M, int64_t N, int64_t K, int at, int bt, int bias, int add, int64_t pad,
                      float (*gen)(int64_t, int))
{
    memset(g, 0, sizeof *g);
    g->M = M, g->N = N, g->K = K, g->at = at, g->bt = bt, g->bias = bias, g->add = add, g->pad = pad;
    int64_t arows = at ? K : M, bcols = bt ? K : N;
    g->lda = (at ? M : K) + pad, g->ldb = bcols + pad, g->ldc = N + pad;
    g->a_rs = at ? 1 : g->lda, g->a_cs = at ? g->lda : 1;
    g->b_rs = bt ? 1 : g->ldb, g->b_cs = bt ? g->ldb : 1;
    g->a = alloc_f(arows * g->lda);
    g->b = alloc_f((bt ? N : K) * g->ldb);
    for (int64_t i = 0; i < arows * g->lda; i++)
        g->a[i] = NAN;
    for (int64_t i = 0; i < (bt ? N : K) * g->ldb; i++)
        g->b[i] = NAN;
    for (int64_t m = 0; m < M; m++)
        for (int64_t k = 0; k < K; k++)
            g->a[m * g->a_rs + k * g->a_cs] = gen ? gen(m * K + k, 0) : urand();
    for (int64_t k = 0; k < K; k++)
        for (int64_t n = 0; n < N; n++)
            g->b[k * g->b_rs + n * g->b_cs] = gen ? gen(k * N + n, 1) : urand();
    g->bv = bias ? rand_mat(N) : NULL;
    g->c = alloc_f(M * g->ldc);
    for (int64_t m = 0; m < M; m++)
        for (int64_t j = 0; j < g->ldc; j++) /* old C: added, or NaN that must not be read */
            g->c[m * g->ldc + j] = j >= N ? SENTINEL : add ? urand() : NAN;
}

static void case_free(gemm_case *g)
{
    free(g->a), free(g->b), free(g->bv), free(g->c);
}

static int run_rows(const gemm_case *g, int limbs, int64_t r0, int64_t r1, int64_t n0, int64_t n1, float *c)
{
    return U->gemm(limbs, r1 - r0, n1 - n0, g->K, g->a + r0 * g->a_rs, g->a_rs, g->a_cs, g->b + n0 * g->b_cs,
                   g->b_rs, g->b_cs, g->bv ? g->bv + n0 : NULL, c + r0 * g->ldc + n0, g->ldc, g->add);
}

/* The product in double with the bias and the old C; scale: sum |A B| +
 * |bias| + |old C|, what the rounding errors are proportional to. */
static void reference(const gemm_case *g, const float *old, double *want, double *scale)
{
    ref_product(g->M, g->N, g->K, g->a, g->a_rs, g->a_cs, g->b, g->b_rs, g->b_cs, want, scale);
    for (int64_t m = 0; m < g->M; m++)
        for (int64_t n = 0; n < g->N; n++) {
            double *s = &want[m * g->N + n], *t = &scale[m * g->N + n];
            if (g->bv)
                *s += g->bv[n], *t += fabs(g->bv[n]);
            if (g->add)
                *s += old[m * g->ldc + n], *t += fabs(old[m * g->ldc + n]);
        }
}

static const char *layout_name(const gemm_case *g)
{
    static const char *names[] = {"A B", "A B^T", "A^T B", "A^T B^T"};
    return names[g->at * 2 + g->bt];
}

/* Runs the case at `limbs` and checks every element against the double
 * product within tol scale, and C's padding; returns the largest
 * |c - want| / scale. */
static double check_case(gemm_case *g, int limbs, double tol)
{
    int64_t M = g->M, N = g->N;
    float *old = alloc_f(M * g->ldc);
    double *want = malloc((size_t)(M * N) * sizeof(double)), *scale = malloc((size_t)(M * N) * sizeof(double));
    assert_true(want && scale);
    memcpy(old, g->c, (size_t)(M * g->ldc) * sizeof(float));
    reference(g, old, want, scale);
    assert_int_equal(run_rows(g, limbs, 0, M, 0, N, g->c), 0);
    double worst = 0;
    for (int64_t m = 0; m < M; m++) {
        for (int64_t n = 0; n < N; n++) {
            double got = g->c[m * g->ldc + n], w = want[m * N + n], s = scale[m * N + n];
            double err = fabs(got - w);
            if (!(err <= tol * s))
                fail_msg("%s, limbs %d %s M=%lld N=%lld K=%lld bias %d add %d pad %lld: C[%lld][%lld] = %.9g, "
                         "exact %.9g, error %.3g > %.3g (tol %.3g of %.3g)",
                         U->name, limbs, layout_name(g), (long long)M, (long long)N, (long long)g->K, g->bias, g->add,
                         (long long)g->pad, (long long)m, (long long)n, got, w, err, tol * s, tol, s);
            if (s > 0 && err / s > worst)
                worst = err / s;
        }
        for (int64_t j = N; j < g->ldc; j++)
            if (memcmp(&g->c[m * g->ldc + j], &old[m * g->ldc + j], sizeof(float)) != 0)
                fail_msg("%s, limbs %d %s M=%lld N=%lld K=%lld: C[%lld][%lld] past N changed to %.9g", U->name, limbs,
                         layout_name(g), (long long)M, (long long)N, (long long)g->K, (long long)m, (long long)j,
                         g->c[m * g->ldc + j]);
    }
    memcpy(g->c, old, (size_t)(M * g->ldc) * sizeof(float)); /* the case can run again */
    free(old), free(want), free(scale);
    return worst;
}

/* ---- 1. the kernel against double ------------------------------------------------ */

static double worst_high, worst_medium;

static void check_shape(int64_t M, int64_t N, int64_t K, int at, int bt, int bias, int add, int64_t pad)
{
    gemm_case g;
    case_init(&g, M, N, K, at, bt, bias, add, pad, NULL);
    double e2 = check_case(&g, 2, TOL_HIGH), e1 = check_case(&g, 1, TOL_MEDIUM);
    worst_high = e2 > worst_high ? e2 : worst_high;
    worst_medium = e1 > worst_medium ? e1 : worst_medium;
    case_free(&g);
}

/* Each unit's first call, before anything asks for it (AMX's runs first
 * of all): a direct call must check the CPU itself (the AMX kernel died
 * of SIGILL when only nn_amx_available() requested the tile state),
 * compute, and refuse bad arguments with -1, writing nothing. Where the
 * unit cannot run, every call is -1 (the fallback the callers rely on:
 * tested here too, not skipped). */
static void test_direct_call_and_bad_arguments(void **state)
{
    U = *state;
    assert_int_equal(lpz_nn_matmul_precision(), LPZ_MATMUL_HIGHEST); /* the default: nothing has set it yet */
    float a[16 * 32], b[32 * 16], c[16 * 16], keep[16 * 16];
    for (int i = 0; i < 16 * 32; i++)
        a[i] = b[i] = 1.0f;
    for (int i = 0; i < 16 * 16; i++)
        c[i] = keep[i] = -3.0f;
    int rc = U->gemm(2, 16, 16, 32, a, 32, 1, b, 16, 1, NULL, c, 16, 0);
    if (!U->available()) {
        assert_int_equal(rc, -1);
        assert_memory_equal(c, keep, sizeof c);
        print_message("no %s kernels here (%s): every call returned -1 and wrote nothing\n", U->name,
                      U->why_not());
        return;
    }
    assert_int_equal(rc, 0);
    for (int i = 0; i < 16 * 16; i++)
        assert_true(c[i] == 32.0f);
    memcpy(c, keep, sizeof c);
    static const struct {
        int limbs;
        int64_t M, N, K;
    } bad[] = {{3, 16, 16, 32}, {0, 16, 16, 32}, {2, 0, 16, 32}, {2, 16, 0, 32}, {2, 16, 16, 0}, {1, -1, 16, 32}};
    /* no unit stride in A, or in B */
    assert_int_equal(U->gemm(2, 16, 16, 32, a, 32, 2, b, 16, 1, NULL, c, 16, 0), -1);
    assert_int_equal(U->gemm(2, 16, 16, 32, a, 32, 1, b, 16, 2, NULL, c, 16, 0), -1);
    assert_memory_equal(c, keep, sizeof c);
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        assert_int_equal(U->gemm(bad[i].limbs, bad[i].M, bad[i].N, bad[i].K, a, 32, 1, b, 16, 1, NULL, c, 16, 0),
                         -1);
        assert_memory_equal(c, keep, sizeof c);
    }
}

/* Every edge of the unit's blocking (bf16_unit: AMX's 16 x 16 tiles and
 * their pairs, 32-steps and chunks of 8; AVX512-BF16's 8-row panels,
 * 16-column vectors, 48-column panels, pairs and 128-step blocks), and
 * one-row and one-column products. All four layouts, bias or not, store
 * or add, row strides equal to or wider than the rows. */
static void test_kernel_edges(void **state)
{
    if (skip_without_unit(state))
        skip();
    int i = 0;
    worst_high = worst_medium = 0;
    for (int a = 0; a < U->n_mn; a++)
        for (int b = 0; b < U->n_mn; b++)
            for (int k = 0; k < U->n_k; k++)
                for (int layout = 0; layout < 4; layout++)
                    for (int ba = 0; ba < 4; ba++, i++)
                        check_shape(U->mn[a], U->mn[b], U->k[k], layout >> 1, layout & 1, ba & 1, ba >> 1,
                                    i % 3 * 3);
    print_message("%s, %d shapes at the edges: max error / scale: %.3g (2 limbs), %.3g (1 limb)\n", U->name, i,
                  worst_high, worst_medium);
}

/* Longer reductions across the 256-element chunks (K = 256, 257, 512,
 * 513, 784), several row and column pairs (odd counts of 16-blocks), and
 * the linear layer's three products at the MLP GAN's shapes. */
static void test_kernel_chunks_and_layer_shapes(void **state)
{
    if (skip_without_unit(state))
        skip();
    static const int64_t shapes[][3] = {
        {47, 50, 300}, {33, 17, 784}, {17, 33, 256}, {31, 47, 257}, {16, 16, 512}, {18, 20, 513}, {80, 49, 129},
    };
    worst_high = worst_medium = 0;
    for (size_t s = 0; s < sizeof shapes / sizeof *shapes; s++)
        for (int layout = 0; layout < 4; layout++)
            check_shape(shapes[s][0], shapes[s][1], shapes[s][2], layout >> 1, layout & 1, (int)(s + layout) & 1,
                        (int)(s + layout) >> 1 & 1, (int64_t)(s % 2) * 5);
    /* forward x W^T + b, input gradient dy W, weight gradient dy^T x (+ dW) */
    check_shape(100, 256, 784, 0, 1, 1, 0, 0);
    check_shape(100, 784, 256, 0, 0, 0, 0, 0);
    check_shape(256, 784, 100, 1, 0, 0, 1, 0);
    print_message("%s, chunks and layer shapes: max error / scale: %.3g (2 limbs), %.3g (1 limb)\n", U->name,
                  worst_high, worst_medium);
}

/* On a large random product (the MLP's first layer) the per-product errors
 * are random and average out: relative to sum |A B| the largest error is
 * ~sqrt(K) times smaller than a single product's worst case. Measured:
 * 7.4e-7 (two limbs), 4.0e-4 (one limb), ratio ~540. Bounds: 2^-18 =
 * 3.8e-6 and 2^-10 = 9.8e-4, and two limbs at least 50 times more
 * accurate: a kernel that dropped a lo limb or a cross product fails
 * these. */
static void test_kernel_two_limbs_beat_one(void **state)
{
    if (skip_without_unit(state))
        skip();
    gemm_case g;
    case_init(&g, 100, 256, 784, 0, 1, 1, 0, 0, NULL);
    double e2 = check_case(&g, 2, TOL_HIGH), e1 = check_case(&g, 1, TOL_MEDIUM);
    print_message("%s, 100 x 256 x 784: max error / scale %.3g (2 limbs), %.3g (1 limb), ratio %.0f\n", U->name, e2, e1,
                  e1 / e2);
    assert_true(e1 > 0);
    assert_true(e2 <= 0x1p-18);
    assert_true(e1 <= 0x1p-10);
    assert_true(e2 < e1 / 50);
    case_free(&g);
}

/* ---- 2. values the split must handle ------------------------------------------ */

static float gen_int(int64_t i, int which) /* small integers (both zeros): exact in one bf16 */
{
    (void)i, (void)which;
    int v = irand(-16, 16);
    return v == 0 && (next_u64() & 1) ? -0.0f : (float)v;
}

/* A: integers below 2^12, 12 significant bits (hi holds 8, lo the rest:
 * hi + lo exact); B: small integers (lo 0). With two limbs every product
 * is then exact (the dropped lo x lo is 0) and the sums of integers below
 * 2^24 too; with one limb it is not. gen_wide_b: the roles swapped (the hi
 * x lo product carries B's lo). */
static float gen_wide_a(int64_t i, int which)
{
    return which == 0 ? (float)irand(-4095, 4095) : gen_int(i, which);
}

static float gen_wide_b(int64_t i, int which)
{
    return which == 1 ? (float)irand(-4095, 4095) : gen_int(i, which);
}

/* The bias and the old C as integers too, then every element must equal
 * the double sum (exactly representable as a float: checked) at `limbs`;
 * returns how many elements differ from it. */
static int64_t exact_mismatches(gemm_case *g, int limbs, int must_be_exact)
{
    for (int64_t n = 0; g->bv && n < g->N; n++)
        g->bv[n] = (float)irand(-100, 100);
    for (int64_t m = 0; g->add && m < g->M; m++)
        for (int64_t n = 0; n < g->N; n++)
            g->c[m * g->ldc + n] = (float)irand(-1000, 1000);
    float *old = alloc_f(g->M * g->ldc);
    size_t nd = (size_t)(g->M * g->N) * sizeof(double);
    double *want = malloc(nd), *scale = malloc(nd);
    assert_true(want && scale);
    memcpy(old, g->c, (size_t)(g->M * g->ldc) * sizeof(float));
    reference(g, old, want, scale);
    assert_int_equal(run_rows(g, limbs, 0, g->M, 0, g->N, g->c), 0);
    int64_t bad = 0;
    for (int64_t m = 0; m < g->M; m++)
        for (int64_t n = 0; n < g->N; n++) {
            double w = want[m * g->N + n];
            assert_true((double)(float)w == w); /* the test's premise: the exact sum is a float */
            float got = g->c[m * g->ldc + n];
            if (got != (float)w) {
                bad++;
                if (must_be_exact)
                    fail_msg("%s, limbs %d %s M=%lld N=%lld K=%lld: C[%lld][%lld] = %.9g, exact %.9g", U->name, limbs,
                             layout_name(g), (long long)g->M, (long long)g->N, (long long)g->K, (long long)m,
                             (long long)n, got, w);
            }
        }
    memcpy(g->c, old, (size_t)(g->M * g->ldc) * sizeof(float));
    free(old), free(want), free(scale);
    return bad;
}

static void test_exact_inputs_give_exact_sums(void **state)
{
    if (skip_without_unit(state))
        skip();
    static const int64_t shapes[][3] = {{1, 1, 1}, {16, 16, 32}, {17, 33, 31}, {33, 17, 65}, {20, 40, 64}};
    int64_t inexact_one_limb = 0, cases = 0;
    for (size_t s = 0; s < sizeof shapes / sizeof *shapes; s++)
        for (int layout = 0; layout < 4; layout++)
            for (int ba = 0; ba < 4; ba++) {
                gemm_case g;
                int64_t M = shapes[s][0], N = shapes[s][1], K = shapes[s][2];
                /* bf16-exact inputs: exact with one limb and with two */
                case_init(&g, M, N, K, layout >> 1, layout & 1, ba & 1, ba >> 1, 3, gen_int);
                exact_mismatches(&g, 2, 1);
                exact_mismatches(&g, 1, 1);
                case_free(&g);
                /* inputs exact in two limbs, A's or B's: exact with two, not with one */
                for (int wide = 0; wide < 2; wide++) {
                    case_init(&g, M, N, K, layout >> 1, layout & 1, ba & 1, ba >> 1, 3, wide ? gen_wide_b : gen_wide_a);
                    exact_mismatches(&g, 2, 1);
                    inexact_one_limb += exact_mismatches(&g, 1, 0) > 0;
                    cases++;
                    case_free(&g);
                }
            }
    /* the wide inputs do need the lo limb: one limb misses nearly every case */
    print_message("%s, one limb inexact in %lld of %lld cases with 12-bit inputs\n", U->name,
                  (long long)inexact_one_limb, (long long)cases);
    assert_true(inexact_one_limb >= cases * 3 / 4);
}

/* The worst single products of the split (see TOL_HIGH): x = y =
 * 1.00391388 (lo lo' and both residuals at their largest, same signs)
 * for two limbs, x = y = 1.0039061 (just under 1 + 2^-8: both operands
 * rounded down by almost 2^-8) for one, scaled by powers of two and
 * signed, in A and in B, in every layout: each element's error is 0.994
 * of the bound, no more (the bound holds at the worst case) and no less
 * (a split rounding any other way, e.g. truncating lo, or a dropped
 * cross product, would not land there). */
static float worst_val;

static float gen_worst(int64_t i, int which) /* products from 2^-90 to 2^50: normal floats */
{
    static const float sa[] = {1.0f, -2.0f, 0x1p-40f, -0x1p30f, 0.5f}, sb[] = {1.0f, -0.25f, 0x1p20f, -0x1p-50f};
    return worst_val * (which ? sb[i % 4] : sa[i % 5]);
}

static void test_worst_case_products(void **state)
{
    if (skip_without_unit(state))
        skip();
    for (int limbs = 1; limbs <= 2; limbs++)
        for (int layout = 0; layout < 4; layout++) {
            gemm_case g;
            double tol = limbs == 2 ? TOL_HIGH : TOL_MEDIUM;
            worst_val = limbs == 2 ? 1.00391388f : 1.0039061f;
            case_init(&g, 17, 19, 1, layout >> 1, layout & 1, 0, 0, 1, gen_worst);
            assert_int_equal(run_rows(&g, limbs, 0, g.M, 0, g.N, g.c), 0);
            for (int64_t m = 0; m < g.M; m++)
                for (int64_t n = 0; n < g.N; n++) {
                    double want = (double)amat(&g, m, 0) * bmat(&g, 0, n);
                    double r = fabs(g.c[m * g.ldc + n] - want) / fabs(want) / tol;
                    if (!(r >= 0.99 && r <= 1.0))
                        fail_msg("%s, limbs %d %s: %.9g x %.9g = %.9g, exact %.9g: error %.4f of the bound", U->name,
                                 limbs, layout_name(&g), amat(&g, m, 0), bmat(&g, 0, n), g.c[m * g.ldc + n], want, r);
                }
            case_free(&g);
        }
}

/* Magnitudes far apart: elements of 1e20 and 1e-20 scale (their lo limbs
 * are normal floats), zeros of both signs, bf16-exact values and plain
 * ones mixed in a row; whole rows of huge or of tiny values (the bound
 * is relative to each element's own scale, so a tiny row's result must be
 * as accurate as an ordinary one). The other operand is of ordinary size:
 * no product overflows or falls below the normal range (the tile unit
 * flushes those). */
static int mixed_row_kind; /* of the current element's row: 0 mixed, 1 huge, 2 tiny */

static float mixed(void)
{
    switch (mixed_row_kind ? mixed_row_kind + 3 : irand(0, 6)) {
    case 0: return 0.0f;
    case 1: return -0.0f;
    case 2: return (float)irand(-255, 255) * 0x1p-7f; /* lo limb 0 */
    case 3: return urand();
    case 4: return 1e20f * urand();
    case 5: return 1e-20f * urand();
    default: return irand(0, 1) ? 1e20f : -1e-20f;
    }
}

static int64_t mixed_k; /* the reduction length of the case being built */

static float gen_mixed_a(int64_t i, int which) /* A's rows: mixed, huge (row 1 mod 5), tiny (row 2 mod 5) */
{
    if (which)
        return urand();
    int64_t row = i / mixed_k;
    mixed_row_kind = row % 5 == 1 ? 1 : row % 5 == 2 ? 2 : 0;
    return mixed();
}

static int64_t mixed_n;

static float gen_mixed_b(int64_t i, int which) /* B's columns likewise */
{
    if (!which)
        return urand();
    int64_t col = i % mixed_n;
    mixed_row_kind = col % 5 == 1 ? 1 : col % 5 == 2 ? 2 : 0;
    return mixed();
}

static void test_mixed_magnitudes_and_zeros(void **state)
{
    if (skip_without_unit(state))
        skip();
    static const int64_t shapes[][3] = {{20, 35, 33}, {33, 16, 300}, {64, 48, 100}};
    double w2 = 0, w1 = 0;
    for (size_t s = 0; s < sizeof shapes / sizeof *shapes; s++)
        for (int layout = 0; layout < 4; layout++)
            for (int side = 0; side < 2; side++) {
                gemm_case g;
                mixed_k = shapes[s][2], mixed_n = shapes[s][1];
                /* no bias nor old C: they would dominate the tiny rows' scale */
                case_init(&g, shapes[s][0], shapes[s][1], shapes[s][2], layout >> 1, layout & 1, 0, 0, 1,
                          side ? gen_mixed_b : gen_mixed_a);
                double e2 = check_case(&g, 2, TOL_HIGH), e1 = check_case(&g, 1, TOL_MEDIUM);
                w2 = e2 > w2 ? e2 : w2, w1 = e1 > w1 ? e1 : w1;
                /* a tiny row's (column's) results are of its size, not flushed */
                int64_t m = side ? 0 : 2, n = side ? 2 : 0;
                assert_int_equal(run_rows(&g, 2, 0, g.M, 0, g.N, g.c), 0);
                float c = g.c[m * g.ldc + n];
                assert_true(fabsf(c) > 1e-24f && fabsf(c) < 1e-17f);
                case_free(&g);
            }
    print_message("%s, mixed magnitudes: max error / scale %.3g (2 limbs), %.3g (1 limb)\n", U->name, w2, w1);
}

/* ---- 3. determinism ----------------------------------------------------------- */

typedef struct {
    const gemm_case *g;
    float *c;
    int rc;
} thread_job;

static void *thread_run(void *p)
{
    thread_job *j = p;
    for (int rep = 0; rep < 3 && j->rc == 0; rep++)
        j->rc = run_rows(j->g, 2, 0, j->g->M, 0, j->g->N, j->c);
    return NULL;
}

/* The same call twice, the rows in two calls (split on and off the
 * 16-row tiles), the columns in two calls (on and off the 32-column
 * stripes) and the call on two other threads at once: the same bits. */
static void test_deterministic_and_row_independent(void **state)
{
    if (skip_without_unit(state))
        skip();
    for (int layout = 0; layout < 4; layout++)
        for (int limbs = 1; limbs <= 2; limbs++) {
            gemm_case g;
            case_init(&g, 100, 70, 300, layout >> 1, layout & 1, 1, 1, 2, NULL);
            size_t bytes = (size_t)(g.M * g.ldc) * sizeof(float);
            float *whole = alloc_f(g.M * g.ldc), *again = alloc_f(g.M * g.ldc), *part = alloc_f(g.M * g.ldc);
            memcpy(whole, g.c, bytes), memcpy(again, g.c, bytes);
            assert_int_equal(run_rows(&g, limbs, 0, g.M, 0, g.N, whole), 0);
            assert_int_equal(run_rows(&g, limbs, 0, g.M, 0, g.N, again), 0);
            assert_memory_equal(whole, again, bytes);
            assert_memory_not_equal(whole, g.c, bytes); /* it did write */
            static const int64_t row_splits[] = {48, 41, 1, 99}, col_splits[] = {32, 16, 20, 69};
            for (int s = 0; s < 4; s++) {
                memcpy(part, g.c, bytes);
                assert_int_equal(run_rows(&g, limbs, 0, row_splits[s], 0, g.N, part), 0);
                assert_int_equal(run_rows(&g, limbs, row_splits[s], g.M, 0, g.N, part), 0);
                if (memcmp(part, whole, bytes) != 0)
                    fail_msg("%s, limbs %d %s: rows 0..%lld and %lld..99 differ from the whole product", U->name, limbs,
                             layout_name(&g), (long long)row_splits[s] - 1, (long long)row_splits[s]);
                memcpy(part, g.c, bytes);
                assert_int_equal(run_rows(&g, limbs, 0, g.M, 0, col_splits[s], part), 0);
                assert_int_equal(run_rows(&g, limbs, 0, g.M, col_splits[s], g.N, part), 0);
                if (memcmp(part, whole, bytes) != 0)
                    fail_msg("%s, limbs %d %s: columns 0..%lld and %lld..69 differ from the whole product", U->name,
                             limbs, layout_name(&g), (long long)col_splits[s] - 1, (long long)col_splits[s]);
            }
            if (limbs == 2) { /* other threads: their own scratch and tile configuration */
                thread_job jobs[2];
                pthread_t th[2];
                for (int t = 0; t < 2; t++) {
                    jobs[t] = (thread_job){&g, alloc_f(g.M * g.ldc), 0};
                    memcpy(jobs[t].c, g.c, bytes);
                    assert_int_equal(pthread_create(&th[t], NULL, thread_run, &jobs[t]), 0);
                }
                for (int t = 0; t < 2; t++) {
                    assert_int_equal(pthread_join(th[t], NULL), 0);
                    assert_int_equal(jobs[t].rc, 0);
                    /* thread_run adds three times when add: compare against three calls here */
                    memcpy(again, g.c, bytes);
                    for (int rep = 0; rep < 3; rep++)
                        assert_int_equal(run_rows(&g, 2, 0, g.M, 0, g.N, again), 0);
                    assert_memory_equal(jobs[t].c, again, bytes);
                    free(jobs[t].c);
                }
            }
            free(whole), free(again), free(part);
            case_free(&g);
        }
}

/* ---- 4. through the layers ---------------------------------------------------- */

/* High against highest, max |difference| / max |value| of each array,
 * measured at batch 100 and 200: outputs 5e-6 to 7e-6, input gradients
 * ~7e-6, parameter gradients 2e-6 to 1e-5. Each product is typically
 * within ~2^-17 (7.6e-6) of its terms' size, the errors random, so about
 * that relative to the results too, and three layers forward and back
 * compound a few of them: 1e-4 leaves room (~10x) without hiding a wrong
 * product (one limb, medium, gives 3e-3 to 4e-3 here). */
#define LAYER_TOL 1e-4
/* Medium (one limb) against highest, the same arrays, measured on
 * AVX512-BF16 at batch 100 and 200: outputs 2.5e-3 to 3.3e-3, the tanh
 * model's input gradients 3.7e-3 to 4.2e-3 and parameter gradients 3e-4
 * to 4.4e-3; the conv and LSTM networks below up to 4.9e-3. 2e-2 leaves
 * ~4x, and a wrong product (a block of the reduction dropped or added
 * twice, a limb misplaced) is off by far more. */
#define LAYER_TOL_MEDIUM 2e-2

/* A precision for the model tests, and how far from highest's its
 * results may be */
typedef struct {
    lpz_matmul_precision p;
    double tol;
} prec_case;

static const prec_case HIGH_CASE = {LPZ_MATMUL_HIGH, LAYER_TOL}, MEDIUM_CASE = {LPZ_MATMUL_MEDIUM, LAYER_TOL_MEDIUM};

/* 1 (after saying why) when p runs as highest on this CPU: the caller
 * skips */
static int skip_unless_in_effect(lpz_matmul_precision p)
{
    if (lpz_nn_matmul_unit(p) != LPZ_MATMUL_UNIT_FP32)
        return 0;
    char why[256];
    print_message("skipped: %s runs as highest here: %s\n", lpz_matmul_precision_name(p),
                  lpz_nn_matmul_fallback_reason(p, why, sizeof why));
    return 1;
}

/* The MLP GAN's discriminator, 784-256-256-1, with leaky relu or tanh.
 * Leaky relu's derivative jumps from 1 to 0.2 at 0: a pre-activation
 * within rounding distance of 0 (one of 1.7e-7 was seen, against errors
 * of ~1e-6) can take the other branch at high, and that unit's gradients
 * then differ by 80%: correct, but beyond any tolerance. Its output is
 * continuous, so it is compared; the gradients are compared on the tanh
 * model (smooth: gradients move as little as the pre-activations). */
static lpz_model *make_mlp(int tanh_act)
{
    lpz_model *m;
    lpz_shape s = lpz_shape_make(1, 784, 0, 0, 0);
    OK(lpz_model_create(&s, 11, &m, &e_));
    OK(lpz_model_add_linear(m, "0", 256, 1, &e_));
    OK(tanh_act ? lpz_model_add_tanh(m, &e_) : lpz_model_add_leaky_relu(m, 0.2f, &e_));
    OK(lpz_model_add_linear(m, "2", 256, 1, &e_));
    OK(tanh_act ? lpz_model_add_tanh(m, &e_) : lpz_model_add_leaky_relu(m, 0.2f, &e_));
    OK(lpz_model_add_linear(m, "4", 1, 1, &e_));
    return m;
}

typedef struct {
    float *y, *dx, *g;
} pass;

/* room for one run_pass of m on n samples */
static pass pass_alloc(lpz_model *m, int64_t n)
{
    lpz_shape is = lpz_model_input_shape(m), os = lpz_model_output_shape(m);
    pass p = {alloc_f(n * lpz_shape_numel(&os)), alloc_f(n * lpz_shape_numel(&is)),
              alloc_f(lpz_model_param_count(m))};
    return p;
}

static void pass_free(pass *p)
{
    free(p->y), free(p->dx), free(p->g);
}

/* forward, zero_grad, backward (or backward_fresh onto NaN gradients) of
 * m on x (n samples) with output gradient dy: the output, the input
 * gradient and the parameter gradients, copied out */
static void run_pass(lpz_model *m, const float *x, const float *dy, int64_t n, int fresh, pass *out)
{
    lpz_shape os = lpz_model_output_shape(m);
    const float *y = lpz_model_forward(m, x, n, &e_);
    if (!y)
        fail_msg("forward: %s", e_.message);
    memcpy(out->y, y, (size_t)(n * lpz_shape_numel(&os)) * sizeof(float));
    int64_t np = lpz_model_param_count(m);
    if (fresh) {
        for (int64_t i = 0; i < np; i++)
            lpz_model_grads(m)[i] = NAN;
        OK(lpz_model_backward_fresh(m, dy, out->dx, &e_));
    } else {
        lpz_model_zero_grad(m);
        OK(lpz_model_backward(m, dy, out->dx, &e_));
    }
    memcpy(out->g, lpz_model_grads(m), (size_t)np * sizeof(float));
}

/* max |got - want| / max |want| over n floats; also whether any bits differ */
static double rel_diff(const float *got, const float *want, int64_t n, int *differs)
{
    double d = 0, w = 0;
    for (int64_t i = 0; i < n; i++) {
        double e = fabs((double)got[i] - want[i]);
        d = e > d ? e : d;
        w = fabs(want[i]) > w ? fabs(want[i]) : w;
    }
    *differs = memcmp(got, want, (size_t)n * sizeof(float)) != 0;
    return w > 0 ? d / w : d;
}

static void within(const prec_case *pc, double r, const char *what, int tanh_act, int64_t n)
{
    if (!(r <= pc->tol))
        fail_msg("%s MLP at %s, batch %lld: %s differs from highest's by %.3g of its largest magnitude (bound %.3g)",
                 tanh_act ? "tanh" : "leaky relu", lpz_matmul_precision_name(pc->p), (long long)n, what, r,
                 pc->tol);
}

static int restore_highest(void **state)
{
    (void)state;
    lpz_nn_set_matmul_precision(LPZ_MATMUL_HIGHEST);
    return 0;
}

static void test_layers_against_highest(void **state)
{
    const prec_case *pc = *state;
    const char *pname = lpz_matmul_precision_name(pc->p);
    if (skip_unless_in_effect(pc->p))
        skip();
    static const struct {
        const char *name;
        int64_t count;
    } tensors[] = {{"0.weight", 256 * 784}, {"0.bias", 256},   {"2.weight", 256 * 256},
                   {"2.bias", 256},         {"4.weight", 256}, {"4.bias", 1}};
    static const int64_t batches[] = {100, 200};
    for (int act = 0; act < 2; act++) {
        lpz_model *m = make_mlp(act);
        for (int bi = 0; bi < 2; bi++) {
            int64_t n = batches[bi];
            float *x = rand_mat(n * 784), *dy = rand_mat(n);
            pass ref = pass_alloc(m, n), bf = pass_alloc(m, n), fresh = pass_alloc(m, n);
            assert_int_equal(lpz_nn_set_matmul_precision(LPZ_MATMUL_HIGHEST), LPZ_MATMUL_HIGHEST);
            run_pass(m, x, dy, n, 0, &ref);
            assert_int_equal(lpz_nn_set_matmul_precision(pc->p), pc->p);
            run_pass(m, x, dy, n, 0, &bf);

            /* not the same bits: the hidden layers' three products ran in bf16 limbs */
            int dif;
            double ry = rel_diff(bf.y, ref.y, n, &dif);
            assert_true(dif);
            double rdx = rel_diff(bf.dx, ref.dx, n * 784, &dif);
            assert_true(dif);
            print_message("%s, batch %lld, %s vs highest, max |diff| / max |value|: output %.3g, input gradient "
                          "%.3g\n",
                          act ? "tanh" : "leaky relu", (long long)n, pname, ry, rdx);
            within(pc, ry, "the output", act, n);
            if (act)
                within(pc, rdx, "the input gradient", act, n);
            int64_t off = 0;
            for (size_t t = 0; t < sizeof tensors / sizeof *tensors; t++) {
                float *data;
                lpz_shape shape;
                OK(lpz_model_param(m, tensors[t].name, &data, &shape, &e_));
                assert_true(data == lpz_model_params(m) + off); /* the gradient at the same offset */
                assert_int_equal(lpz_shape_numel(&shape), tensors[t].count);
                double r = rel_diff(bf.g + off, ref.g + off, tensors[t].count, &dif);
                print_message("  %s gradient %.3g%s\n", tensors[t].name, r, dif ? "" : " (same bits)");
                if (act)
                    within(pc, r, tensors[t].name, act, n);
                if (t == 0 || t == 2)
                    assert_true(dif);
                off += tensors[t].count;
            }
            assert_int_equal(off, lpz_model_param_count(m));

            /* backward_fresh (weight gradients stored, not added): the same bits */
            run_pass(m, x, dy, n, 1, &fresh);
            assert_memory_equal(fresh.y, bf.y, (size_t)n * sizeof(float));
            assert_memory_equal(fresh.dx, bf.dx, (size_t)(n * 784) * sizeof(float));
            assert_memory_equal(fresh.g, bf.g, (size_t)off * sizeof(float));
            /* and the same precision again: the same bits */
            run_pass(m, x, dy, n, 0, &fresh);
            assert_memory_equal(fresh.g, bf.g, (size_t)off * sizeof(float));
            assert_memory_equal(fresh.dx, bf.dx, (size_t)(n * 784) * sizeof(float));

            lpz_nn_set_matmul_precision(LPZ_MATMUL_HIGHEST);
            pass_free(&ref), pass_free(&bf), pass_free(&fresh);
            free(x), free(dy);
        }
        lpz_model_destroy(m);
    }
}

/* The other products that move to a bf16 unit: the convolutions'
 * (gemm0 in conv.c: forward and input gradient; their weight gradients
 * and the LSTM's products go through nn_gemm) on a small conv / conv-
 * transpose network, and an LSTM with hidden 32 (every product at least a
 * tile: 4h = 128 gate columns, reductions of 32). Smooth activations
 * (tanh) throughout, as above. High against highest, max |difference| /
 * max |value|, measured: conv network output 7.2e-6, input gradient
 * 8.3e-6, parameter gradients 1.1e-6; LSTM (ten recurrent steps) 4.6e-6,
 * 8.6e-6 and 8.8e-7: LAYER_TOL again leaves ~10x. Medium on AVX512-BF16:
 * conv 4.3e-3, 3.7e-3, 6.8e-4; LSTM 2.0e-3, 4.9e-3, 6.5e-4 (within
 * LAYER_TOL_MEDIUM). */
static lpz_model *make_conv(void)
{
    lpz_model *m;
    lpz_shape s = lpz_shape_make(3, 3, 16, 16, 0);
    OK(lpz_model_create(&s, 12, &m, &e_));
    OK(lpz_model_add_conv2d(m, "0", 32, 4, 2, 1, 1, &e_));
    OK(lpz_model_add_tanh(m, &e_));
    OK(lpz_model_add_conv2d(m, "2", 64, 4, 2, 1, 1, &e_));
    OK(lpz_model_add_tanh(m, &e_));
    OK(lpz_model_add_conv_transpose2d(m, "4", 32, 4, 2, 1, 1, &e_));
    OK(lpz_model_add_tanh(m, &e_));
    return m;
}

static lpz_model *make_lstm(void)
{
    lpz_model *m;
    lpz_shape s = lpz_shape_make(2, 10, 32, 0, 0);
    OK(lpz_model_create(&s, 13, &m, &e_));
    OK(lpz_model_add_lstm(m, "rnn", 32, 2, 0.0f, &e_));
    OK(lpz_model_add_last_step(m, &e_));
    OK(lpz_model_add_linear(m, "out", 32, 1, &e_));
    OK(lpz_model_add_tanh(m, &e_));
    return m;
}

static void test_conv_and_lstm_against_highest(void **state)
{
    const prec_case *pc = *state;
    if (skip_unless_in_effect(pc->p))
        skip();
    for (int which = 0; which < 2; which++) {
        lpz_model *m = which ? make_lstm() : make_conv();
        const char *name = which ? "LSTM" : "conv";
        int64_t n = 16;
        lpz_shape is = lpz_model_input_shape(m), os = lpz_model_output_shape(m);
        int64_t nx = n * lpz_shape_numel(&is), ny = n * lpz_shape_numel(&os), np = lpz_model_param_count(m);
        float *x = rand_mat(nx), *dy = rand_mat(ny);
        pass r[2] = {pass_alloc(m, n), pass_alloc(m, n)};
        const lpz_matmul_precision prec[2] = {LPZ_MATMUL_HIGHEST, pc->p};
        for (int p = 0; p < 2; p++) {
            assert_int_equal(lpz_nn_set_matmul_precision(prec[p]), prec[p]);
            run_pass(m, x, dy, n, 0, &r[p]);
        }
        lpz_nn_set_matmul_precision(LPZ_MATMUL_HIGHEST);
        int dy_dif, dx_dif, g_dif;
        double ry = rel_diff(r[1].y, r[0].y, ny, &dy_dif), rdx = rel_diff(r[1].dx, r[0].dx, nx, &dx_dif);
        double rg = rel_diff(r[1].g, r[0].g, np, &g_dif);
        print_message("%s, %s vs highest, max |diff| / max |value|: output %.3g, input gradient %.3g, parameter "
                      "gradients %.3g\n",
                      name, lpz_matmul_precision_name(pc->p), ry, rdx, rg);
        /* not the same bits: the products ran in bf16 limbs */
        assert_true(dy_dif && dx_dif && g_dif);
        const double rel[3] = {ry, rdx, rg};
        static const char *what[3] = {"output", "input gradient", "parameter gradients"};
        for (int k = 0; k < 3; k++)
            if (!(rel[k] <= pc->tol))
                fail_msg("%s network at %s: the %s differ%s from highest's by %.3g of the largest magnitude (bound "
                         "%.3g)",
                         name, lpz_matmul_precision_name(pc->p), what[k], k == 2 ? "" : "s", rel[k], pc->tol);
        for (int p = 0; p < 2; p++)
            pass_free(&r[p]);
        free(x), free(dy);
        lpz_model_destroy(m);
    }
}

/* Infinite operands never give finite results: with one limb the rows
 * that hold one are infinite of its sign, as in fp32; with two they are
 * infinite or NaN (the limbs' cross terms are inf - inf, or an infinity
 * times a zero lo limb), the other rows finite. */
static void test_infinities(void **state)
{
    if (skip_without_unit(state))
        skip();
    enum { M = 16, N = 16, K = 32 };
    float a[M * K], b[K * N], c[M * N];
    for (int i = 0; i < M * K; i++)
        a[i] = 0.5f + (float)(i % 7) * 0.125f;
    for (int i = 0; i < K * N; i++)
        b[i] = 0.25f + (float)(i % 5) * 0.0625f;
    a[3 * K + 5] = INFINITY;  /* row 3: +inf */
    a[7 * K + 9] = -INFINITY; /* row 7: -inf */
    for (int limbs = 1; limbs <= 2; limbs++) {
        assert_int_equal(U->gemm(limbs, M, N, K, a, K, 1, b, N, 1, NULL, c, N, 0), 0);
        for (int m = 0; m < M; m++)
            for (int n = 0; n < N; n++) {
                float v = c[m * N + n];
                if (m == 3 || m == 7) {
                    assert_false(isfinite(v));
                    if (limbs == 1)
                        assert_true(isinf(v) && (v > 0) == (m == 3));
                } else
                    assert_true(isfinite(v));
            }
    }
}

/* A model pinned to fp32 (lpz_model_pin_fp32: the FID classifier) gives
 * highest's bits at high, or at medium where high runs as highest
 * (AVX512-BF16 without AMX), forward and backward, and the setting still
 * holds for other models after it ran. */
static void test_pinned_model_stays_fp32(void **state)
{
    (void)state;
    lpz_matmul_precision bf = lpz_nn_matmul_unit(LPZ_MATMUL_HIGH) ? LPZ_MATMUL_HIGH : LPZ_MATMUL_MEDIUM;
    if (skip_unless_in_effect(bf))
        skip();
    lpz_model *pinned = make_mlp(1), *other = make_mlp(1);
    lpz_model_pin_fp32(pinned);
    int64_t n = 100;
    float *x = rand_mat(n * 784), *dy = rand_mat(n);
    pass ref = pass_alloc(pinned, n), got = pass_alloc(pinned, n), o_bf = pass_alloc(other, n);
    pass o_ref = pass_alloc(other, n);
    assert_int_equal(lpz_nn_set_matmul_precision(LPZ_MATMUL_HIGHEST), LPZ_MATMUL_HIGHEST);
    run_pass(pinned, x, dy, n, 0, &ref);
    run_pass(other, x, dy, n, 0, &o_ref);
    assert_int_equal(lpz_nn_set_matmul_precision(bf), bf);
    run_pass(pinned, x, dy, n, 0, &got);
    int64_t np = lpz_model_param_count(pinned);
    assert_memory_equal(got.y, ref.y, (size_t)n * sizeof(float));
    assert_memory_equal(got.dx, ref.dx, (size_t)(n * 784) * sizeof(float));
    assert_memory_equal(got.g, ref.g, (size_t)np * sizeof(float));
    run_pass(pinned, x, dy, n, 1, &got); /* backward_fresh too */
    assert_memory_equal(got.g, ref.g, (size_t)np * sizeof(float));
    /* a clone keeps the pin (the scorer computes features on clones) */
    lpz_model *clone;
    OK(lpz_model_clone(pinned, &clone, &e_));
    pass cl = pass_alloc(clone, n);
    run_pass(clone, x, dy, n, 0, &cl);
    assert_memory_equal(cl.y, ref.y, (size_t)n * sizeof(float));
    assert_memory_equal(cl.g, ref.g, (size_t)np * sizeof(float));
    pass_free(&cl);
    lpz_model_destroy(clone);
    /* a failing pinned forward and backward leave the thread at the setting */
    assert_null(lpz_model_forward(pinned, NULL, n, &e_));
    assert_int_not_equal(lpz_model_backward(pinned, NULL, NULL, &e_), LPZ_OK);
    /* the unpinned model, run after them, computes in bf16 limbs */
    run_pass(other, x, dy, n, 0, &o_bf);
    int dif;
    rel_diff(o_bf.y, o_ref.y, n, &dif);
    assert_true(dif);
    lpz_nn_set_matmul_precision(LPZ_MATMUL_HIGHEST);
    pass_free(&ref), pass_free(&got), pass_free(&o_bf), pass_free(&o_ref);
    free(x), free(dy);
    lpz_model_destroy(pinned);
    lpz_model_destroy(other);
}

/* ---- 5. the dispatch and the precision setting ---------------------------------- */

/* Which unit each precision runs on: high on AMX only, medium on AMX or
 * else AVX512-BF16, highest in fp32; a reason given exactly when a
 * precision falls back. At medium the linear layer's three products are
 * that unit's kernel's, bit for bit: forward x W^T + b, input gradient
 * dy W, weight gradient dy^T x (added onto zeros, as backward does), on
 * odd sizes (37 rows, 300 inputs, 100 outputs). */
static void test_dispatch_picks_the_unit(void **state)
{
    (void)state;
    int amx = nn_amx_available(), vdp = nn_avx512bf16_available();
    lpz_matmul_unit med = amx ? LPZ_MATMUL_UNIT_AMX : vdp ? LPZ_MATMUL_UNIT_AVX512BF16 : LPZ_MATMUL_UNIT_FP32;
    assert_int_equal(lpz_nn_matmul_unit(LPZ_MATMUL_HIGHEST), LPZ_MATMUL_UNIT_FP32);
    assert_int_equal(lpz_nn_matmul_unit(LPZ_MATMUL_HIGH), amx ? LPZ_MATMUL_UNIT_AMX : LPZ_MATMUL_UNIT_FP32);
    assert_int_equal(lpz_nn_matmul_unit(LPZ_MATMUL_MEDIUM), med);
    assert_string_equal(lpz_matmul_unit_name(LPZ_MATMUL_UNIT_FP32), "fp32");
    assert_string_equal(lpz_matmul_unit_name(LPZ_MATMUL_UNIT_AMX), "AMX");
    assert_string_equal(lpz_matmul_unit_name(LPZ_MATMUL_UNIT_AVX512BF16), "AVX512-BF16");
    char why[256];
    static const lpz_matmul_precision ps[] = {LPZ_MATMUL_HIGHEST, LPZ_MATMUL_HIGH, LPZ_MATMUL_MEDIUM};
    for (int i = 0; i < 3; i++) {
        int falls_back = ps[i] != LPZ_MATMUL_HIGHEST && lpz_nn_matmul_unit(ps[i]) == LPZ_MATMUL_UNIT_FP32;
        lpz_nn_matmul_fallback_reason(ps[i], why, sizeof why);
        print_message("%s: on %s%s%s\n", lpz_matmul_precision_name(ps[i]),
                      lpz_matmul_unit_name(lpz_nn_matmul_unit(ps[i])), why[0] ? ": " : "", why);
        assert_int_equal(why[0] != '\0', falls_back);
    }
    if (!amx && vdp) /* the one case of two units: high would be slower on AVX512-BF16 and says so */
        assert_non_null(strstr(lpz_nn_matmul_fallback_reason(LPZ_MATMUL_HIGH, why, sizeof why), "AVX512-BF16"));
    if (skip_unless_in_effect(LPZ_MATMUL_MEDIUM))
        skip();
    gemm_fn gemm = med == LPZ_MATMUL_UNIT_AMX ? nn_amx_gemm : nn_avx512bf16_gemm;

    enum { R = 37, IN = 300, OUT = 100 };
    lpz_model *m;
    lpz_shape s = lpz_shape_make(1, IN, 0, 0, 0);
    OK(lpz_model_create(&s, 14, &m, &e_));
    OK(lpz_model_add_linear(m, "0", OUT, 1, &e_));
    float *W, *bias;
    lpz_shape ws;
    OK(lpz_model_param(m, "0.weight", &W, &ws, &e_));
    OK(lpz_model_param(m, "0.bias", &bias, &ws, &e_));
    float *x = rand_mat(R * IN), *dy = rand_mat(R * OUT);
    pass got = pass_alloc(m, R), ref = pass_alloc(m, R);
    float *y = alloc_f(R * OUT), *dx = alloc_f(R * IN), *dW = alloc_f(OUT * IN);
    assert_int_equal(lpz_nn_set_matmul_precision(LPZ_MATMUL_MEDIUM), LPZ_MATMUL_MEDIUM);
    run_pass(m, x, dy, R, 0, &got);
    lpz_nn_set_matmul_precision(LPZ_MATMUL_HIGHEST);
    run_pass(m, x, dy, R, 0, &ref);
    memset(dW, 0, (size_t)(OUT * IN) * sizeof(float));
    assert_int_equal(gemm(1, R, OUT, IN, x, IN, 1, W, 1, IN, bias, y, OUT, 0), 0);
    assert_int_equal(gemm(1, R, IN, OUT, dy, OUT, 1, W, IN, 1, NULL, dx, IN, 0), 0);
    assert_int_equal(gemm(1, OUT, IN, R, dy, 1, OUT, x, IN, 1, NULL, dW, IN, 1), 0);
    assert_memory_equal(got.y, y, (size_t)(R * OUT) * sizeof(float));
    assert_memory_equal(got.dx, dx, (size_t)(R * IN) * sizeof(float));
    assert_memory_equal(got.g, dW, (size_t)(OUT * IN) * sizeof(float));
    /* and those bits are not fp32's */
    assert_memory_not_equal(ref.y, y, (size_t)(R * OUT) * sizeof(float));
    assert_memory_not_equal(ref.dx, dx, (size_t)(R * IN) * sizeof(float));
    assert_memory_not_equal(ref.g, dW, (size_t)(OUT * IN) * sizeof(float));
    pass_free(&got), pass_free(&ref);
    free(x), free(dy), free(y), free(dx), free(dW);
    lpz_model_destroy(m);
}

static void test_precision_setting(void **state)
{
    (void)state;
    int high = lpz_nn_matmul_unit(LPZ_MATMUL_HIGH) != LPZ_MATMUL_UNIT_FP32;
    int medium = lpz_nn_matmul_unit(LPZ_MATMUL_MEDIUM) != LPZ_MATMUL_UNIT_FP32;
    assert_string_equal(lpz_matmul_precision_name(LPZ_MATMUL_HIGHEST), "highest");
    assert_string_equal(lpz_matmul_precision_name(LPZ_MATMUL_HIGH), "high");
    assert_string_equal(lpz_matmul_precision_name(LPZ_MATMUL_MEDIUM), "medium");
    assert_string_equal(lpz_matmul_precision_name((lpz_matmul_precision)7), "highest");

    assert_int_equal(lpz_nn_set_matmul_precision(LPZ_MATMUL_HIGH), high ? LPZ_MATMUL_HIGH : LPZ_MATMUL_HIGHEST);
    assert_int_equal(lpz_nn_matmul_precision(), high ? LPZ_MATMUL_HIGH : LPZ_MATMUL_HIGHEST);
    assert_int_equal(lpz_nn_set_matmul_precision(LPZ_MATMUL_MEDIUM), medium ? LPZ_MATMUL_MEDIUM : LPZ_MATMUL_HIGHEST);
    assert_int_equal(lpz_nn_matmul_precision(), medium ? LPZ_MATMUL_MEDIUM : LPZ_MATMUL_HIGHEST);
    assert_int_equal(lpz_nn_set_matmul_precision((lpz_matmul_precision)7), LPZ_MATMUL_HIGHEST);
    assert_int_equal(lpz_nn_matmul_precision(), LPZ_MATMUL_HIGHEST);
    lpz_nn_set_matmul_precision(LPZ_MATMUL_MEDIUM);
    assert_int_equal(lpz_nn_set_matmul_precision((lpz_matmul_precision)-1), LPZ_MATMUL_HIGHEST);
    assert_int_equal(lpz_nn_matmul_precision(), LPZ_MATMUL_HIGHEST);

    /* Whatever ran as highest gives highest's bits: high and medium where
     * they fall back; an invalid value set after high or medium (where
     * they run, the products would otherwise stay in bf16); highest set
     * again after medium. */
    lpz_model *m = make_mlp(0);
    const int64_t n = 100;
    float *x = rand_mat(n * 784), *dy = rand_mat(n);
    pass ref = pass_alloc(m, n), p = pass_alloc(m, n);
    lpz_nn_set_matmul_precision(LPZ_MATMUL_HIGHEST);
    run_pass(m, x, dy, n, 0, &ref);
    static const lpz_matmul_precision before[] = {LPZ_MATMUL_HIGHEST, LPZ_MATMUL_HIGH, LPZ_MATMUL_HIGH,
                                                  LPZ_MATMUL_MEDIUM, LPZ_MATMUL_MEDIUM};
    static const lpz_matmul_precision set[] = {LPZ_MATMUL_HIGH, LPZ_MATMUL_MEDIUM, (lpz_matmul_precision)7,
                                               (lpz_matmul_precision)3, LPZ_MATMUL_HIGHEST};
    int checked = 0;
    for (int i = 0; i < 5; i++) {
        lpz_nn_set_matmul_precision(before[i]);
        if (lpz_nn_set_matmul_precision(set[i]) != LPZ_MATMUL_HIGHEST)
            continue; /* high or medium in effect: test_layers_against_highest */
        run_pass(m, x, dy, n, 0, &p);
        assert_memory_equal(p.y, ref.y, (size_t)n * sizeof(float));
        assert_memory_equal(p.dx, ref.dx, (size_t)(n * 784) * sizeof(float));
        assert_memory_equal(p.g, ref.g, (size_t)lpz_model_param_count(m) * sizeof(float));
        checked++;
    }
    assert_int_equal(checked, 3 + !high + !medium);
    /* and high and medium in effect do change the bits (else the checks
     * above prove nothing), medium by one limb's error: the output off by
     * 3e-3 of its largest magnitude here (AMX and AVX512-BF16 alike), high
     * within 1e-5 */
    int dif;
    double rh = 0, rm = 0;
    if (high) {
        assert_int_equal(lpz_nn_set_matmul_precision(LPZ_MATMUL_HIGH), LPZ_MATMUL_HIGH);
        run_pass(m, x, dy, n, 0, &p);
        rh = rel_diff(p.y, ref.y, n, &dif);
        assert_true(dif);
        assert_true(rh <= LAYER_TOL);
    }
    if (medium) {
        assert_int_equal(lpz_nn_set_matmul_precision(LPZ_MATMUL_MEDIUM), LPZ_MATMUL_MEDIUM);
        run_pass(m, x, dy, n, 0, &p);
        rm = rel_diff(p.y, ref.y, n, &dif);
        assert_true(dif);
        assert_true(rm > 10 * LAYER_TOL && rm <= LAYER_TOL_MEDIUM);
    }
    print_message("output off highest's by %.3g (high%s), %.3g (medium%s) of its largest magnitude\n", rh,
                  high ? "" : ": runs as highest", rm, medium ? "" : ": runs as highest");
    lpz_nn_set_matmul_precision(LPZ_MATMUL_HIGHEST);
    pass_free(&ref), pass_free(&p);
    free(x), free(dy);
    lpz_model_destroy(m);
}

/* A kernel test on one unit: its name says which */
#define ON(test, unit, label) {#test " (" label ")", test, NULL, NULL, (void *)&(unit)}
#define AT(test, pcase, label) {#test " (" label ")", test, NULL, restore_highest, (void *)&(pcase)}

int main(void)
{
    const struct CMUnitTest tests[] = {
        /* first: nothing has asked for either unit yet */
        ON(test_direct_call_and_bad_arguments, AMX, "AMX"),
        ON(test_direct_call_and_bad_arguments, VDP, "AVX512-BF16"),
        ON(test_kernel_edges, AMX, "AMX"),
        ON(test_kernel_edges, VDP, "AVX512-BF16"),
        ON(test_kernel_chunks_and_layer_shapes, AMX, "AMX"),
        ON(test_kernel_chunks_and_layer_shapes, VDP, "AVX512-BF16"),
        ON(test_kernel_two_limbs_beat_one, AMX, "AMX"),
        ON(test_kernel_two_limbs_beat_one, VDP, "AVX512-BF16"),
        ON(test_exact_inputs_give_exact_sums, AMX, "AMX"),
        ON(test_exact_inputs_give_exact_sums, VDP, "AVX512-BF16"),
        ON(test_worst_case_products, AMX, "AMX"),
        ON(test_worst_case_products, VDP, "AVX512-BF16"),
        ON(test_mixed_magnitudes_and_zeros, AMX, "AMX"),
        ON(test_mixed_magnitudes_and_zeros, VDP, "AVX512-BF16"),
        ON(test_infinities, AMX, "AMX"),
        ON(test_infinities, VDP, "AVX512-BF16"),
        ON(test_deterministic_and_row_independent, AMX, "AMX"),
        ON(test_deterministic_and_row_independent, VDP, "AVX512-BF16"),
        cmocka_unit_test_teardown(test_dispatch_picks_the_unit, restore_highest),
        AT(test_layers_against_highest, HIGH_CASE, "high"),
        AT(test_layers_against_highest, MEDIUM_CASE, "medium"),
        AT(test_conv_and_lstm_against_highest, HIGH_CASE, "high"),
        AT(test_conv_and_lstm_against_highest, MEDIUM_CASE, "medium"),
        cmocka_unit_test_teardown(test_pinned_model_stays_fp32, restore_highest),
        cmocka_unit_test_teardown(test_precision_setting, restore_highest),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
