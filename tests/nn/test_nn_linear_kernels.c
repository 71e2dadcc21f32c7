/* tests/nn/test_nn_linear_kernels.c - the AVX-512 kernels of the linear
 * layer (nn/linear_kernels.h) against a double-precision product and
 * against cblas_sgemm, on many shapes: every tile edge (rows not a
 * multiple of 8, columns not a multiple of 16 or 48, one-row and
 * one-column matrices) and the MLP GAN's own shapes (R = 50, 100, 200;
 * 64, 256, 784 features). Also: the bias is added, dW accumulates onto
 * what it holds (or is overwritten, add 0), and a repeated call gives
 * bit-identical results; and a
 * linear layer gives the exact products at batch sizes on both sides of
 * the 256-row chunking in layers.c. The convolutions' product
 * (nn_lk_gemm: A or A^T, strided operands, reductions in blocks of 256)
 * on tile edges, block edges and the DCGAN's shapes, and A^T packed once
 * (nn_lk_gemm_packed) giving the same bits. The layers that use
 * the kernels are checked against PyTorch by test_nn_reference. The kernel tests are
 * skipped where the CPU lacks AVX-512. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "nn/linear_kernels.h"
#include <lpz/nn.h>

#include <cblas.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "nn_test_rand.h"

/* |got - want| <= 1e-5 (sum of |terms|) + 1e-6 |want|, for the kernel and
 * for cblas alike: single-precision sums of up to 784 terms stay well
 * inside this (their typical error is ~sqrt(K) 6e-8 of the sum of |terms|). */
static void close_to(const float *got, const double *want, const double *mag, const float *cb, int64_t n,
                     const char *what, int64_t R, int64_t O, int64_t In)
{
    for (int64_t i = 0; i < n; i++) {
        double tol = 1e-5 * mag[i] + 1e-6 * fabs(want[i]) + 1e-30;
        if (!(fabs(got[i] - want[i]) <= tol) || !(fabs(cb[i] - want[i]) <= tol))
            fail_msg("%s R=%lld O=%lld In=%lld element %lld: kernel %.9g, cblas %.9g, exact %.9g (tol %.3g)", what,
                     (long long)R, (long long)O, (long long)In, (long long)i, got[i], cb[i], want[i], tol);
    }
}

static void check_shape(int64_t R, int64_t O, int64_t In)
{
    float *x = rand_mat(R * In), *W = rand_mat(O * In), *b = rand_mat(O), *dy = rand_mat(R * O);
    float *y = malloc((size_t)(R * O) * sizeof(float)), *y2 = malloc((size_t)(R * O) * sizeof(float));
    float *dx = malloc((size_t)(R * In) * sizeof(float)), *dx2 = malloc((size_t)(R * In) * sizeof(float));
    float *dW0 = rand_mat(O * In); /* dW accumulates onto what it holds */
    float *dW = malloc((size_t)(O * In) * sizeof(float)), *dW2 = malloc((size_t)(O * In) * sizeof(float));
    float *cb = malloc((size_t)(R * (O > In ? O : In) + O * In) * sizeof(float));
    float *xt = aligned_alloc(64, (size_t)((nn_lk_forward_scratch(R, In) + 15) / 16 * 16) * sizeof(float));
    int64_t big = R * O > R * In ? (R * O > O * In ? R * O : O * In) : (R * In > O * In ? R * In : O * In);
    double *want = calloc((size_t)big, sizeof(double)), *mag = calloc((size_t)big, sizeof(double));
    assert_true(y && y2 && dx && dx2 && dW && dW2 && cb && xt && want && mag);

    /* forward: y = x W^T + b */
    nn_lk_forward(R, O, In, x, W, b, y, xt);
    nn_lk_forward(R, O, In, x, W, b, y2, xt);
    assert_memory_equal(y, y2, (size_t)(R * O) * sizeof(float));
    ref_product(R, O, In, x, In, 1, W, 1, In, want, mag);
    for (int64_t r = 0; r < R; r++)
        for (int64_t o = 0; o < O; o++) {
            want[r * O + o] += b[o], mag[r * O + o] += fabs(b[o]);
            cb[r * O + o] = b[o];
        }
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (blasint)R, (blasint)O, (blasint)In, 1.0f, x, (blasint)In,
                W, (blasint)In, 1.0f, cb, (blasint)O);
    close_to(y, want, mag, cb, R * O, "forward", R, O, In);
    nn_lk_forward(R, O, In, x, W, NULL, y, xt); /* no bias */
    for (int64_t r = 0; r < R; r++)
        for (int64_t o = 0; o < O; o++)
            assert_true(fabs((double)y[r * O + o] + b[o] - want[r * O + o]) <= 1e-5 * mag[r * O + o] + 1e-6);

    /* input gradient: dx = dy W */
    nn_lk_backward_input(R, O, In, dy, W, dx);
    nn_lk_backward_input(R, O, In, dy, W, dx2);
    assert_memory_equal(dx, dx2, (size_t)(R * In) * sizeof(float));
    ref_product(R, In, O, dy, O, 1, W, In, 1, want, mag);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (blasint)R, (blasint)In, (blasint)O, 1.0f, dy, (blasint)O,
                W, (blasint)In, 0.0f, cb, (blasint)In);
    close_to(dx, want, mag, cb, R * In, "backward_input", R, O, In);

    /* weight gradient: dW = dW0 + dy^T x */
    memcpy(dW, dW0, (size_t)(O * In) * sizeof(float));
    memcpy(dW2, dW0, (size_t)(O * In) * sizeof(float));
    memcpy(cb, dW0, (size_t)(O * In) * sizeof(float));
    nn_lk_backward_weight(R, O, In, dy, x, dW, 1);
    nn_lk_backward_weight(R, O, In, dy, x, dW2, 1);
    assert_memory_equal(dW, dW2, (size_t)(O * In) * sizeof(float));
    ref_product(O, In, R, dy, 1, O, x, In, 1, want, mag);
    for (int64_t i = 0; i < O * In; i++)
        want[i] += dW0[i], mag[i] += fabs(dW0[i]);
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (blasint)O, (blasint)In, (blasint)R, 1.0f, dy, (blasint)O, x,
                (blasint)In, 1.0f, cb, (blasint)In);
    close_to(dW, want, mag, cb, O * In, "backward_weight", R, O, In);

    /* add 0: dW = dy^T x, whatever dW held (NaN here) */
    for (int64_t i = 0; i < O * In; i++)
        dW[i] = NAN;
    nn_lk_backward_weight(R, O, In, dy, x, dW, 0);
    ref_product(O, In, R, dy, 1, O, x, In, 1, want, mag);
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (blasint)O, (blasint)In, (blasint)R, 1.0f, dy, (blasint)O, x,
                (blasint)In, 0.0f, cb, (blasint)In);
    close_to(dW, want, mag, cb, O * In, "backward_weight (store)", R, O, In);

    free(x), free(W), free(b), free(dy), free(y), free(y2), free(dx), free(dx2);
    free(dW0), free(dW), free(dW2), free(cb), free(xt), free(want), free(mag);
}

static int skip_without_avx512(void)
{
    if (nn_lk_available())
        return 0;
    print_message("no AVX-512 on this CPU: the kernels are not used here\n");
    return 1;
}

/* Every tile edge: rows 1..17 around the 8-row block, columns around the
 * 16-lane vector and the 48-column panel, reductions of 1 and odd lengths. */
static void test_tile_edges(void **state)
{
    (void)state;
    if (skip_without_avx512())
        skip();
    static const int64_t Rs[] = {1, 2, 7, 8, 9, 15, 16, 17, 33, 47, 48, 49, 50, 97};
    static const int64_t Os[] = {1, 3, 8, 9, 16, 31, 48, 49, 100};
    static const int64_t Is[] = {1, 5, 16, 17, 32, 47, 48, 65, 99};
    for (size_t a = 0; a < sizeof Rs / sizeof *Rs; a++)
        for (size_t c = 0; c < sizeof Os / sizeof *Os; c++)
            for (size_t d = 0; d < sizeof Is / sizeof *Is; d++)
                check_shape(Rs[a], Os[c], Is[d]);
}

/* The shapes lpz trains with: the MLP GAN's layers (G 64-256-256-784,
 * D 784-256-256-1) at 50 rows (a data-parallel half), 100 (a batch) and
 * 200 (the discriminator's joined real + fake pass), and odd neighbours. */
static void test_training_shapes(void **state)
{
    (void)state;
    if (skip_without_avx512())
        skip();
    static const int64_t shapes[][3] = {
        {100, 256, 64},  {100, 256, 256}, {100, 784, 256}, {100, 256, 784}, {100, 1, 256},  {200, 256, 784},
        {200, 256, 256}, {200, 1, 256},   {50, 256, 784},  {50, 784, 256},  {50, 256, 64},  {101, 255, 783},
        {199, 257, 129}, {1, 784, 784},   {3, 10, 784},    {128, 64, 100},  {100, 10, 128}, {64, 100, 1},
    };
    for (size_t i = 0; i < sizeof shapes / sizeof *shapes; i++)
        check_shape(shapes[i][0], shapes[i][1], shapes[i][2]);
}

/* C = op(A) B of nn_lk_gemm against double and cblas: op(A) = A [M x K]
 * (at 0) or A^T of A [K x M] (at 1), every operand with a row stride
 * wider than its row (lda, ldb, ldc = width + 3); C's padding untouched
 * (C is written, not read: it starts as NaN). */
static void check_gemm(int at, int64_t M, int64_t N, int64_t K)
{
    int64_t lda = (at ? M : K) + 3, ldb = N + 3, ldc = N + 3;
    float *a = rand_mat((at ? K : M) * lda), *b = rand_mat(K * ldb);
    float *c = malloc((size_t)(M * ldc) * sizeof(float)), *c2 = malloc((size_t)(M * ldc) * sizeof(float));
    float *cb = malloc((size_t)(M * N) * sizeof(float));
    double *want = calloc((size_t)(M * N), sizeof(double)), *mag = calloc((size_t)(M * N), sizeof(double));
    assert_true(c && c2 && cb && want && mag);
    for (int64_t i = 0; i < M * ldc; i++)
        c[i] = c2[i] = NAN;
    nn_lk_gemm(at, M, N, K, a, lda, b, ldb, c, ldc);
    nn_lk_gemm(at, M, N, K, a, lda, b, ldb, c2, ldc);
    assert_memory_equal(c, c2, (size_t)(M * ldc) * sizeof(float));
    if (at) { /* A^T packed once (conv.c, for several chunks): the same bits */
        float *pk = malloc((size_t)nn_lk_pack_at_size(M, K) * sizeof(float));
        assert_non_null(pk);
        nn_lk_pack_at(M, K, a, lda, pk);
        for (int64_t i = 0; i < M * ldc; i++)
            c2[i] = NAN;
        nn_lk_gemm_packed(M, N, K, pk, b, ldb, c2, ldc);
        assert_memory_equal(c, c2, (size_t)(M * ldc) * sizeof(float));
        free(pk);
    }
    ref_product(M, N, K, a, at ? 1 : lda, at ? lda : 1, b, ldb, 1, want, mag);
    cblas_sgemm(CblasRowMajor, at ? CblasTrans : CblasNoTrans, CblasNoTrans, (blasint)M, (blasint)N, (blasint)K, 1.0f,
                a, (blasint)lda, b, (blasint)ldb, 0.0f, cb, (blasint)N);
    float *packed = malloc((size_t)(M * N) * sizeof(float));
    assert_non_null(packed);
    for (int64_t m = 0; m < M; m++) {
        memcpy(packed + m * N, c + m * ldc, (size_t)N * sizeof(float));
        for (int64_t j = N; j < ldc; j++)
            assert_true(isnan(c[m * ldc + j]));
    }
    close_to(packed, want, mag, cb, M * N, at ? "gemm A^T" : "gemm A", M, N, K);
    free(a), free(b), free(c), free(c2), free(cb), free(want), free(mag), free(packed);
}

static void test_conv_gemm(void **state)
{
    (void)state;
    if (skip_without_avx512())
        skip();
    static const int64_t Ms[] = {1, 7, 8, 9, 17, 48};
    static const int64_t Ns[] = {1, 15, 16, 17, 48, 49, 65};
    static const int64_t Ks[] = {1, 3, 255, 256, 257, 600};
    for (int at = 0; at < 2; at++)
        for (size_t i = 0; i < sizeof Ms / sizeof *Ms; i++)
            for (size_t j = 0; j < sizeof Ns / sizeof *Ns; j++)
                for (size_t k = 0; k < sizeof Ks / sizeof *Ks; k++)
                    check_gemm(at, Ms[i], Ns[j], Ks[k]);
    /* the DCGAN's: conv forward, input gradient (dcol = W^T dy), convt forward */
    check_gemm(0, 128, 256, 1024);
    check_gemm(0, 512, 256, 4096);
    check_gemm(1, 1024, 256, 128);
    check_gemm(1, 4096, 256, 512);
    check_gemm(0, 64, 1024, 48);
    check_gemm(1, 48, 1024, 64);
}

/* Through the layer (layers.c): batches above 256 rows run the forward
 * product and the input gradient in chunks of rows and the weight
 * gradient on cblas; every batch size gives the exact products and the
 * same result row by row as a batch of one. */
static void test_layer_row_chunks(void **state)
{
    (void)state;
    static const int64_t batches[] = {1, 50, 100, 200, 256, 257, 400, 800};
    const int64_t In = 40, O = 24;
    lpz_error err;
    lpz_model *m;
    lpz_shape s = lpz_shape_make(1, In, 0, 0, 0);
    assert_int_equal(lpz_model_create(&s, 7, &m, &err), LPZ_OK);
    assert_int_equal(lpz_model_add_linear(m, "0", O, 1, &err), LPZ_OK);
    const float *W = lpz_model_params(m), *b = W + O * In;
    float *x = rand_mat(800 * In), *dy = rand_mat(800 * O), *dx = malloc(800 * In * sizeof(float));
    float *y1 = malloc(O * sizeof(float)), *dx1 = malloc(In * sizeof(float));
    double *want = calloc(800 * O * In, sizeof(double)), *mag = calloc(800 * O * In, sizeof(double));
    assert_true(dx && y1 && dx1 && want && mag);
    for (size_t t = 0; t < sizeof batches / sizeof *batches; t++) {
        int64_t n = batches[t];
        const float *y = lpz_model_forward(m, x, n, &err);
        assert_non_null(y);
        ref_product(n, O, In, x, In, 1, W, 1, In, want, mag);
        for (int64_t i = 0; i < n * O; i++)
            assert_true(fabs(y[i] - (want[i] + b[i % O])) <= 1e-5 * (mag[i] + fabs(b[i % O])) + 1e-6);
        lpz_model_zero_grad(m);
        assert_int_equal(lpz_model_backward(m, dy, dx, &err), LPZ_OK);
        ref_product(n, In, O, dy, O, 1, W, In, 1, want, mag);
        for (int64_t i = 0; i < n * In; i++)
            assert_true(fabs(dx[i] - want[i]) <= 1e-5 * mag[i] + 1e-6);
        ref_product(O, In, n, dy, 1, O, x, In, 1, want, mag);
        for (int64_t i = 0; i < O * In; i++)
            assert_true(fabs(lpz_model_grads(m)[i] - want[i]) <= 1e-5 * mag[i] + 1e-6);
        /* the last row alone gives the same bits: no dependence on the
         * chunk a row falls in (the kernels' fixed summation order; the
         * cblas fallback without AVX-512 promises no such thing) */
        if (nn_lk_available()) {
            float *ycopy = malloc((size_t)(n * O) * sizeof(float)), *dxcopy = malloc((size_t)(n * In) * sizeof(float));
            assert_true(ycopy && dxcopy);
            memcpy(ycopy, y, (size_t)(n * O) * sizeof(float));
            memcpy(dxcopy, dx, (size_t)(n * In) * sizeof(float));
            assert_non_null(y = lpz_model_forward(m, x + (n - 1) * In, 1, &err));
            memcpy(y1, y, O * sizeof(float));
            assert_int_equal(lpz_model_backward(m, dy + (n - 1) * O, dx1, &err), LPZ_OK);
            assert_memory_equal(y1, ycopy + (n - 1) * O, O * sizeof(float));
            assert_memory_equal(dx1, dxcopy + (n - 1) * In, In * sizeof(float));
            free(ycopy), free(dxcopy);
        }
    }
    free(x), free(dy), free(dx), free(y1), free(dx1), free(want), free(mag);
    lpz_model_destroy(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tile_edges),
        cmocka_unit_test(test_training_shapes),
        cmocka_unit_test(test_layer_row_chunks),
        cmocka_unit_test(test_conv_gemm),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
