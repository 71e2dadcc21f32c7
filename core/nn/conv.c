/* core/nn/conv.c - Conv2d and ConvTranspose2d as im2col/col2im + GEMM.
 *
 * Samples are processed in chunks of l->chunk: the im2col matrix of a chunk
 * is col [C k k, cs * P] with column s * P + p for sample s and output
 * position p, so one GEMM covers the whole chunk. Outputs are then scattered
 * back to NCHW (a one-sample chunk is already in place).
 *
 * A transposed conv is the input-gradient of a conv with the roles of input
 * and output swapped: its forward is GEMM + col2im, its input gradient
 * im2col + GEMM.
 */
#include "nn/internal.h"
#include "nn/linear_kernels.h"

#include <string.h>

/* C [M x N] = op(A) B (beta 0): op(A) = A [M x K], or A^T with A [K x M]
 * when at. At the high and medium matmul precisions a product worth the
 * bf16 units goes through nn_gemm, which puts it there; else the engine's
 * AVX-512 kernels when the CPU has them (linear_kernels.h; 10-20% faster
 * here on these shapes, and no pass clearing C) and A has a full tile of 8
 * rows, else OpenBLAS (the 1-output last layer of a discriminator). */
static void gemm0(int at, int64_t M, int64_t N, int64_t K, const float *a, int64_t lda, const float *b, int64_t ldb,
                  float *c, int64_t ldc)
{
    int bf16 = nn_mm_limbs() && nn_mm_worth(M, N, K); /* then nn_gemm takes it to a bf16 unit */
    if (!bf16 && M >= 8 && nn_lk_available())
        nn_lk_gemm(at, M, N, K, a, lda, b, ldb, c, ldc);
    else
        nn_gemm(at, 0, M, N, K, 1.0f, a, lda, b, ldb, 0.0f, c, ldc);
}

/* The transposed products of a layer's chunks (the conv's input gradient,
 * the transposed conv's forward) all read W^T: when there is more than one
 * chunk and they run on the engine's kernels (gemm0's test), W^T is packed
 * once into 8-column blocks (nn_lk_pack_at, into pk: nn_lk_pack_at_size
 * floats at the end of work) instead of each product copying its blocks
 * from W's rows, C k k floats (a multiple of 1 KB in the DCGAN) apart: that
 * copy, from a W read back after the optimizer step, was 4-5% of the DCGAN
 * step on a Zen 4. The same sums, bit for bit. Returns 1 when packed. */
static int pack_wt(int64_t n, int64_t chunk, int64_t M, int64_t N, int64_t K, const float *w, float *pk)
{
    if (n <= chunk || M < 8 || (nn_mm_limbs() && nn_mm_worth(M, N, K)) || !nn_lk_available())
        return 0;
    nn_lk_pack_at(M, K, w, M, pk);
    return 1;
}

/* C = W^T B for one chunk: on the packed W^T when pack_wt packed it
 * (and this chunk's product is not one for the bf16 units), else gemm0 */
static void gemm_wt(int packed, int64_t M, int64_t N, int64_t K, const float *w, const float *pk, const float *b,
                    float *c)
{
    if (packed && !(nn_mm_limbs() && nn_mm_worth(M, N, K)))
        nn_lk_gemm_packed(M, N, K, pk, b, N, c, N);
    else
        gemm0(1, M, N, K, w, M, b, N, c, N);
}

/* The output columns ow whose input column iw = ow * st + off (off =
 * kj - pad) lies inside [0, W): ow in [*lo, *hi). Computing the range once
 * keeps the inner loops free of bounds checks. */
static void valid_range(int64_t off, int st, int64_t W, int64_t Wo, int64_t *lo, int64_t *hi)
{
    int64_t a = off >= 0 ? 0 : (-off + st - 1) / st;   /* first ow with iw >= 0 */
    int64_t b = W - off <= 0 ? 0 : (W - off - 1) / st + 1; /* first ow with iw >= W */
    if (b > Wo)
        b = Wo;
    if (a > b)
        a = b;
    *lo = a;
    *hi = b;
}

/* Geometry of the phase planes of one (H, W) image plane seen through
 * k x k windows with stride st and padding pad at (Ho, Wo) positions: the
 * zero-padded plane is Hp x Wp (big enough for every window, even when the
 * windows overhang the bottom/right padding), split by column into st
 * phases of Wq columns each: phase r, row i, column j holds padded column
 * j * st + r of padded row i. Window element (ki, kj) of output position
 * (oh, ow) is then phase kj % st, row oh * st + ki, column ow + kj / st:
 * one output row's worth is a contiguous run of Wo floats, so im2col and
 * col2im are unit-stride copies/adds with no bounds checks (the strided
 * gathers, bounds tests and per-element zero-fills they replace were 15%
 * of the DCGAN step). */
typedef struct phase_geom {
    int64_t Hp, Wq;
} phase_geom;

static phase_geom phase_geometry(int64_t H, int64_t W, int k, int st, int pad, int64_t Ho, int64_t Wo)
{
    int64_t Hp = H + 2 * pad, Wp = W + 2 * pad;
    if ((Ho - 1) * st + k > Hp)
        Hp = (Ho - 1) * st + k;
    if ((Wo - 1) * st + k > Wp)
        Wp = (Wo - 1) * st + k;
    phase_geom g = {Hp, (Wp + st - 1) / st};
    return g;
}

/* Scratch floats for one plane's phases (st * Hp * Wq). */
int64_t nn_conv_phase_size(int64_t H, int64_t W, int k, int st, int pad, int64_t Ho, int64_t Wo)
{
    phase_geom g = phase_geometry(H, W, k, st, pad, Ho, Wo);
    return st * g.Hp * g.Wq;
}

/* x (H, W) -> its phases ph (st, Hp, Wq), zero outside the image. */
static void phases_in(const float *restrict x, int64_t H, int64_t W, int st, int pad, phase_geom g,
                      float *restrict ph)
{
    if (st == 2) {
        /* image column iw is padded column iw + pad: x[2m] goes to a[m],
         * x[2m + 1] to b[m] (a, b: the two phases, shifted by the
         * padding). One pass of paired loads the compiler vectorises
         * (shuffles), instead of a strided scalar gather per phase. */
        for (int64_t i = 0; i < g.Hp; i++) {
            float *r0 = ph + i * g.Wq, *r1 = ph + (g.Hp + i) * g.Wq;
            memset(r0, 0, (size_t)g.Wq * sizeof(float));
            memset(r1, 0, (size_t)g.Wq * sizeof(float));
            int64_t ih = i - pad;
            if (ih < 0 || ih >= H)
                continue;
            const float *restrict xr = x + ih * W;
            float *restrict a = (pad & 1 ? r1 : r0) + pad / 2;
            float *restrict b = (pad & 1 ? r0 + 1 : r1) + pad / 2;
            for (int64_t m = 0; m < W / 2; m++) {
                a[m] = xr[2 * m];
                b[m] = xr[2 * m + 1];
            }
            if (W & 1)
                a[W / 2] = xr[W - 1];
        }
        return;
    }
    for (int r = 0; r < st; r++) {
        int64_t lo, hi;
        valid_range(r - pad, st, W, g.Wq, &lo, &hi); /* columns j with iw = j st + r - pad in [0, W) */
        for (int64_t i = 0; i < g.Hp; i++) {
            float *row = ph + (r * g.Hp + i) * g.Wq;
            int64_t ih = i - pad;
            if (ih < 0 || ih >= H) {
                memset(row, 0, (size_t)g.Wq * sizeof(float));
                continue;
            }
            const float *xr = x + ih * W + r - pad;
            for (int64_t j = 0; j < lo; j++)
                row[j] = 0.0f;
            if (st == 1)
                memcpy(row + lo, xr + lo, (size_t)(hi - lo) * sizeof(float));
            else
                for (int64_t j = lo; j < hi; j++)
                    row[j] = xr[j * st];
            for (int64_t j = hi; j < g.Wq; j++)
                row[j] = 0.0f;
        }
    }
}

/* The adjoint gather: x (H, W) = the image part of the phases ph. */
static void phases_out(const float *restrict ph, int64_t H, int64_t W, int st, int pad, phase_geom g,
                       float *restrict x)
{
    if (st == 2) {
        /* the inverse of phases_in's stride-2 pass: an interleaving store */
        for (int64_t ih = 0; ih < H; ih++) {
            const float *r0 = ph + (ih + pad) * g.Wq, *r1 = ph + (g.Hp + ih + pad) * g.Wq;
            const float *restrict a = (pad & 1 ? r1 : r0) + pad / 2;
            const float *restrict b = (pad & 1 ? r0 + 1 : r1) + pad / 2;
            float *restrict xr = x + ih * W;
            for (int64_t m = 0; m < W / 2; m++) {
                xr[2 * m] = a[m];
                xr[2 * m + 1] = b[m];
            }
            if (W & 1)
                xr[W - 1] = a[W / 2];
        }
        return;
    }
    for (int r = 0; r < st; r++) {
        int64_t lo, hi;
        valid_range(r - pad, st, W, g.Wq, &lo, &hi);
        for (int64_t ih = 0; ih < H; ih++) {
            const float *row = ph + (r * g.Hp + ih + pad) * g.Wq;
            float *xr = x + ih * W + r - pad;
            for (int64_t j = lo; j < hi; j++)
                xr[j * st] = row[j];
        }
    }
}

/* rows runs of w floats: d (packed, rows x w) = / += s (row pitch sp).
 * Inlined with the common widths as constants (the DCGAN's 4..32), so
 * each run is a few straight vector moves, not a loop with a trip count
 * of 1 to 8 (those loop overheads were most of im2col's time). */
static inline __attribute__((always_inline)) void copy_rows(float *restrict d, const float *restrict s,
                                                            int64_t rows, int64_t w, int64_t sp)
{
    for (int64_t r = 0; r < rows; r++, d += w, s += sp)
        for (int64_t j = 0; j < w; j++)
            d[j] = s[j];
}

static inline __attribute__((always_inline)) void add_rows(float *restrict d, const float *restrict s,
                                                           int64_t rows, int64_t w, int64_t dp)
{
    for (int64_t r = 0; r < rows; r++, d += dp, s += w)
        for (int64_t j = 0; j < w; j++)
            d[j] += s[j];
}

#define NN_BY_WIDTH(call, w)                                                                                      \
    switch (w) {                                                                                                  \
    case 4: call(4); break;                                                                                       \
    case 8: call(8); break;                                                                                       \
    case 16: call(16); break;                                                                                     \
    case 32: call(32); break;                                                                                     \
    default: call(w); break;                                                                                      \
    }

/* A single window covering the whole unpadded plane (the DCGAN's 4x4 <->
 * 1x1 layers): im2col is a transpose; the phase planes would cost a dozen
 * tiny copies per element. */
static int whole_plane_window(int64_t H, int64_t W, int k, int pad, int64_t Ho, int64_t Wo)
{
    return Ho == 1 && Wo == 1 && pad == 0 && H == k && W == k;
}

/* im2col over cs images x (cs, C, H, W) for a k x k window with stride st
 * and padding pad; output positions (Ho, Wo). col [C k k, cs * Ho * Wo].
 * ph: nn_conv_phase_size floats of scratch. Pure copies: the same col as
 * a direct gather, bit for bit. */
static void im2col(const float *x, int64_t cs, int64_t C, int64_t H, int64_t W, int k, int st, int pad,
                   int64_t Ho, int64_t Wo, float *col, float *ph)
{
    int64_t P = Ho * Wo, ld = cs * P;
    if (whole_plane_window(H, W, k, pad, Ho, Wo)) {
        /* col [C k k, cs] is x [cs, C k k] transposed */
        int64_t ckk = C * k * k;
        for (int64_t s = 0; s < cs; s++)
            for (int64_t i = 0; i < ckk; i++)
                col[i * cs + s] = x[s * ckk + i];
        return;
    }
    phase_geom g = phase_geometry(H, W, k, st, pad, Ho, Wo);
    for (int64_t s = 0; s < cs; s++)
        for (int64_t c = 0; c < C; c++) {
            phases_in(x + (s * C + c) * H * W, H, W, st, pad, g, ph);
            for (int ki = 0; ki < k; ki++)
                for (int kj = 0; kj < k; kj++) {
                    const float *src = ph + ((kj % st) * g.Hp + ki) * g.Wq + kj / st;
                    float *d = col + ((c * k + ki) * k + kj) * ld + s * P;
#define NN_COPY(w) copy_rows(d, src, Ho, w, st * g.Wq)
                    NN_BY_WIDTH(NN_COPY, Wo)
#undef NN_COPY
                }
        }
}

/* The adjoint of im2col: x (cs, C, H, W) = init[c] + the sum of col's
 * entries over the windows (init NULL: 0). Each element's terms are added
 * in the same order as a direct scatter-add into x pre-filled with init[c]
 * would (window element (ki, kj) ascending), so results are bitwise those
 * of the plain loop; x is stored, not accumulated: no zero-fill needed. */
static void col2im(const float *col, int64_t cs, int64_t C, int64_t H, int64_t W, int k, int st, int pad,
                   int64_t Ho, int64_t Wo, const float *init, float *x, float *ph)
{
    int64_t P = Ho * Wo, ld = cs * P;
    if (whole_plane_window(H, W, k, pad, Ho, Wo)) {
        /* one term per element: x [cs, C k k] = init + col [C k k, cs]^T */
        int64_t kk = (int64_t)k * k;
        for (int64_t s = 0; s < cs; s++)
            for (int64_t c = 0; c < C; c++) {
                float v0 = init ? init[c] : 0.0f;
                for (int64_t q = 0; q < kk; q++)
                    x[(s * C + c) * kk + q] = v0 + col[(c * kk + q) * cs + s];
            }
        return;
    }
    phase_geom g = phase_geometry(H, W, k, st, pad, Ho, Wo);
    int64_t phn = st * g.Hp * g.Wq;
    for (int64_t s = 0; s < cs; s++)
        for (int64_t c = 0; c < C; c++) {
            float v0 = init ? init[c] : 0.0f;
            for (int64_t i = 0; i < phn; i++)
                ph[i] = v0;
            for (int ki = 0; ki < k; ki++)
                for (int kj = 0; kj < k; kj++) {
                    float *dst = ph + ((kj % st) * g.Hp + ki) * g.Wq + kj / st;
                    const float *d = col + ((c * k + ki) * k + kj) * ld + s * P;
#define NN_ADD(w) add_rows(dst, d, Ho, w, st * g.Wq)
                    NN_BY_WIDTH(NN_ADD, Wo)
#undef NN_ADD
                }
            phases_out(ph, H, W, st, pad, g, x + (s * C + c) * H * W);
        }
}

/* NCHW chunk (cs, C, P) <-> channel-major [C, cs * P]. */
static void gather(const float *x, int64_t cs, int64_t C, int64_t P, float *g)
{
    for (int64_t s = 0; s < cs; s++)
        for (int64_t c = 0; c < C; c++)
            memcpy(g + c * cs * P + s * P, x + (s * C + c) * P, (size_t)P * sizeof(float));
}

static void scatter(const float *g, int64_t cs, int64_t C, int64_t P, float *x)
{
    for (int64_t s = 0; s < cs; s++)
        for (int64_t c = 0; c < C; c++)
            memcpy(x + (s * C + c) * P, g + c * cs * P + s * P, (size_t)P * sizeof(float));
}

/* ---- conv2d: W [Cout, Cin k k], bias [Cout] ------------------------------- */

void nn_conv_forward(const nn_layer *l, int64_t n, const float *p, const float *x, float *y, float *work)
{
    int64_t P = l->hout * l->wout, ckk = l->cin * l->k * l->k, Cout = l->cout;
    const float *b = l->bias ? p + Cout * ckk : NULL;
    for (int64_t s0 = 0; s0 < n; s0 += l->chunk) {
        int64_t cs = n - s0 < l->chunk ? n - s0 : l->chunk;
        float *col = work, *og = work + ckk * cs * P, *ph = og + Cout * cs * P;
        float *ys = y + s0 * l->out_numel;
        im2col(x + s0 * l->in_numel, cs, l->cin, l->hin, l->win, l->k, l->stride, l->pad, l->hout, l->wout, col,
               ph);
        if (cs == 1) {
            /* one sample: [Cout, P] is already its NCHW block; the same
             * sums, then the same bias additions, in place */
            gemm0(0, Cout, P, ckk, p, ckk, col, P, ys, P);
            if (b)
                for (int64_t o = 0; o < Cout; o++)
                    for (int64_t j = 0; j < P; j++)
                        ys[o * P + j] += b[o];
            continue;
        }
        gemm0(0, Cout, cs * P, ckk, p, ckk, col, cs * P, og, cs * P);
        for (int64_t s = 0; s < cs; s++)
            for (int64_t o = 0; o < Cout; o++) {
                const float *src = og + o * cs * P + s * P;
                float *dst = ys + (s * Cout + o) * P;
                float bo = b ? b[o] : 0.0f;
                for (int64_t j = 0; j < P; j++)
                    dst[j] = src[j] + bo;
            }
    }
}

void nn_conv_backward(const nn_layer *l, int64_t n, const float *p, const float *x, const float *dy, float *dx,
                      float *dp, float *work)
{
    int64_t P = l->hout * l->wout, ckk = l->cin * l->k * l->k, Cout = l->cout;
    float *db = dp && l->bias ? dp + Cout * ckk : NULL;
    float *pk = work + l->chunk * P * (ckk + Cout) + /* after col, ogw and ph (layers.c's nn_work_size) */
                nn_conv_phase_size(l->hin, l->win, l->k, l->stride, l->pad, l->hout, l->wout);
    int packed = dx && pack_wt(n, l->chunk, ckk, l->chunk * P, Cout, p, pk);
    for (int64_t s0 = 0; s0 < n; s0 += l->chunk) {
        int64_t cs = n - s0 < l->chunk ? n - s0 : l->chunk;
        float *col = work, *ogw = work + ckk * cs * P, *ph = ogw + Cout * cs * P;
        const float *dys = dy + s0 * l->out_numel;
        /* dOut [Cout, csP]; for one sample that is dy's block as it is */
        const float *og = dys;
        if (cs > 1) {
            gather(dys, cs, Cout, P, ogw);
            og = ogw;
        }
        if (db)
            for (int64_t o = 0; o < Cout; o++) {
                const float *r = og + o * cs * P;
                float acc = 0.0f;
                for (int64_t j = 0; j < cs * P; j++)
                    acc += r[j];
                db[o] += acc;
            }
        if (dp) {
            im2col(x + s0 * l->in_numel, cs, l->cin, l->hin, l->win, l->k, l->stride, l->pad, l->hout, l->wout,
                   col, ph);
            /* dW [Cout, Ckk] += dOut [Cout, csP] col^T */
            nn_gemm(0, 1, Cout, ckk, cs * P, 1.0f, og, cs * P, col, cs * P, 1.0f, dp, ckk);
        }
        if (dx) {
            /* dcol [Ckk, csP] = W^T dOut, then fold back into the image */
            gemm_wt(packed, ckk, cs * P, Cout, p, pk, og, col);
            col2im(col, cs, l->cin, l->hin, l->win, l->k, l->stride, l->pad, l->hout, l->wout, NULL,
                   dx + s0 * l->in_numel, ph);
        }
    }
}

/* ---- conv_transpose2d: W [Cin, Cout k k], bias [Cout] --------------------- */

void nn_convt_forward(const nn_layer *l, int64_t n, const float *p, const float *x, float *y, float *work)
{
    int64_t P = l->hin * l->win, ckk = l->cout * l->k * l->k, Cin = l->cin, Cout = l->cout;
    const float *b = l->bias ? p + Cin * ckk : NULL;
    float *pk = work + l->chunk * P * (ckk + Cin) + /* after col, xg and ph (layers.c's nn_work_size) */
                nn_conv_phase_size(l->hout, l->wout, l->k, l->stride, l->pad, l->hin, l->win);
    int packed = pack_wt(n, l->chunk, ckk, l->chunk * P, Cin, p, pk);
    for (int64_t s0 = 0; s0 < n; s0 += l->chunk) {
        int64_t cs = n - s0 < l->chunk ? n - s0 : l->chunk;
        float *col = work, *xgw = work + ckk * cs * P, *ph = xgw + Cin * cs * P;
        const float *xg = x + s0 * l->in_numel; /* one sample: already [Cin, P] */
        if (cs > 1) {
            gather(xg, cs, Cin, P, xgw);
            xg = xgw;
        }
        /* col [Cout k k, csP] = W^T [Coutkk, Cin] xg [Cin, csP] */
        gemm_wt(packed, ckk, cs * P, Cin, p, pk, xg, col);
        /* the output plays the image (starting from the bias), the input
         * positions the windows */
        col2im(col, cs, Cout, l->hout, l->wout, l->k, l->stride, l->pad, l->hin, l->win, b, y + s0 * l->out_numel,
               ph);
    }
}

void nn_convt_backward(const nn_layer *l, int64_t n, const float *p, const float *x, const float *dy, float *dx,
                       float *dp, float *work)
{
    int64_t P = l->hin * l->win, ckk = l->cout * l->k * l->k, Cin = l->cin, Cout = l->cout;
    int64_t Po = l->hout * l->wout;
    float *db = dp && l->bias ? dp + Cin * ckk : NULL;
    for (int64_t s0 = 0; s0 < n; s0 += l->chunk) {
        int64_t cs = n - s0 < l->chunk ? n - s0 : l->chunk;
        float *col = work, *xg = work + ckk * cs * P, *ph = xg + Cin * cs * P;
        const float *dys = dy + s0 * l->out_numel;
        if (db)
            for (int64_t s = 0; s < cs; s++)
                for (int64_t o = 0; o < Cout; o++) {
                    const float *r = dys + (s * Cout + o) * Po;
                    float acc = 0.0f;
                    for (int64_t j = 0; j < Po; j++)
                        acc += r[j];
                    db[o] += acc;
                }
        if (!dp && !dx)
            continue;
        im2col(dys, cs, Cout, l->hout, l->wout, l->k, l->stride, l->pad, l->hin, l->win, col, ph);
        /* for one sample, x's and dx's blocks are [Cin, P] as they are */
        if (dp) {
            const float *xs = x + s0 * l->in_numel;
            if (cs > 1) {
                gather(xs, cs, Cin, P, xg);
                xs = xg;
            }
            /* dW [Cin, Coutkk] += xg [Cin, csP] dcol^T */
            nn_gemm(0, 1, Cin, ckk, cs * P, 1.0f, xs, cs * P, col, cs * P, 1.0f, dp, ckk);
        }
        if (dx) {
            /* dxg [Cin, csP] = W [Cin, Coutkk] dcol [Coutkk, csP] */
            float *dxs = dx + s0 * l->in_numel;
            gemm0(0, Cin, cs * P, ckk, p, ckk, col, cs * P, cs > 1 ? xg : dxs, cs * P);
            if (cs > 1)
                scatter(xg, cs, Cin, P, dxs);
        }
    }
}
