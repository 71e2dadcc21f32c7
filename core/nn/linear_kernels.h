/* core/nn/linear_kernels.h - packing-free AVX-512 products of the linear
 * layer and of the convolutions (linear_kernels.c), used by layers.c and
 * conv.c instead of cblas_sgemm when the CPU has AVX-512 F, VL and DQ.
 *
 * Why: at the batch sizes lpz trains with (R = 50..200 rows) OpenBLAS packs
 * the whole weight matrix W [O x In] on every call and then uses each packed
 * element for only R rows; packing was a quarter of the GEMM time of the
 * MLP GAN. These kernels read B where it lies, and A too unless it is
 * transposed (then each 8-row block, 8 x K floats, is copied once): an 8 x 48 tile
 * of C in 24 zmm accumulators; per step of the reduction, three vector
 * loads of a contiguous row of B and eight broadcasts of A elements. For
 * the convolutions (nn_lk_gemm): OpenBLAS also packed the im2col matrix
 * again and cleared the output before adding to it.
 *
 * All matrices are row-major; the linear layer's are dense (leading
 * dimension = row length), W is [O x In] like PyTorch's. Every product has
 * one fixed summation order per output element and shape, whatever the
 * tile: results are deterministic, and thread-independent.
 */
#ifndef LPZ_NN_LINEAR_KERNELS_H
#define LPZ_NN_LINEAR_KERNELS_H

#include <stdint.h>

/* 1 when the kernels can run here (AVX-512 F, VL and DQ; checked once). */
int nn_lk_available(void);

/* y [R x O] = x [R x In] W^T + b (b [O], or NULL for no bias). Computes
 * y^T = W x^T: needs xt, scratch of nn_lk_forward_scratch(R, In) floats for
 * x^T, 64-byte aligned. */
int64_t nn_lk_forward_scratch(int64_t R, int64_t In);
void nn_lk_forward(int64_t R, int64_t O, int64_t In, const float *x, const float *W, const float *b, float *y,
                   float *xt);
/* The same with the activation after the layer applied to y as it is
 * stored: act NN_ACT_RELU or NN_ACT_LEAKY_RELU (negative slope `slope`),
 * the values nn_act_forward gives (elementwise.h); other values: none. */
void nn_lk_forward_act(int64_t R, int64_t O, int64_t In, const float *x, const float *W, const float *b, float *y,
                       float *xt, int act, float slope);

/* dx [R x In] = dy [R x O] W [O x In] */
void nn_lk_backward_input(int64_t R, int64_t O, int64_t In, const float *dy, const float *W, float *dx);

/* dW [O x In] += dy^T [O x R] x [R x In] (add), or = it (add 0: dW's
 * previous contents are neither read nor kept) */
void nn_lk_backward_weight(int64_t R, int64_t O, int64_t In, const float *dy, const float *x, float *dW, int add);

/* C [M x N] = op(A) B for the convolutions (conv.c): op(A) = A [M x K]
 * (row stride lda) or, at, A^T of A [K x M] (row stride lda); B [K x N]
 * and C row-major with row strides ldb, ldc; K >= 1. C's previous
 * contents are ignored (the first block of 256 of the reduction stores,
 * the others add); C must not overlap A or B. */
void nn_lk_gemm(int at, int64_t M, int64_t N, int64_t K, const float *a, int64_t lda, const float *b, int64_t ldb,
                float *c, int64_t ldc);

/* nn_lk_gemm(1, ...) with A^T packed once for several products (conv.c:
 * a layer's W^T, the same for every chunk of samples): nn_lk_pack_at
 * stores A^T of a [K x M] (row stride lda) into pk, nn_lk_pack_at_size(M,
 * K) floats, as ceil(M / 8) blocks of K x 8 contiguous floats (rows past M
 * zero); nn_lk_gemm_packed(M, N, K, pk, ...) is then C = A^T B with the
 * same sums, bit for bit, as nn_lk_gemm(1, M, N, K, a, lda, ...). */
int64_t nn_lk_pack_at_size(int64_t M, int64_t K);
void nn_lk_pack_at(int64_t M, int64_t K, const float *a, int64_t lda, float *pk);
void nn_lk_gemm_packed(int64_t M, int64_t N, int64_t K, const float *pk, const float *b, int64_t ldb, float *c,
                       int64_t ldc);

#endif
