/* core/nn/conv.c - Conv2d and ConvTranspose2d as im2col/col2im + GEMM.
 *
 * Samples are processed in chunks of l->chunk: the im2col matrix of a chunk
 * is col [C k k, cs * P] with column s * P + p for sample s and output
 * position p, so one GEMM covers the whole chunk. Outputs are then scattered
 * back to NCHW.
 *
 * A transposed conv is the input-gradient of a conv with the roles of input
 * and output swapped: its forward is GEMM + col2im, its input gradient
 * im2col + GEMM.
 */
#include "nn/internal.h"

#include <string.h>

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

/* im2col over cs images x (cs, C, H, W) for a k x k window with stride st
 * and padding pad; output positions (Ho, Wo). col [C k k, cs * Ho * Wo]. */
static void im2col(const float *x, int64_t cs, int64_t C, int64_t H, int64_t W, int k, int st, int pad,
                   int64_t Ho, int64_t Wo, float *col)
{
    int64_t P = Ho * Wo, ld = cs * P;
    for (int64_t c = 0; c < C; c++)
        for (int ki = 0; ki < k; ki++)
            for (int kj = 0; kj < k; kj++) {
                float *dst = col + ((c * k + ki) * k + kj) * ld;
                int64_t off = kj - pad, lo, hi;
                valid_range(off, st, W, Wo, &lo, &hi);
                for (int64_t s = 0; s < cs; s++) {
                    const float *xs = x + (s * C + c) * H * W;
                    float *d = dst + s * P;
                    for (int64_t oh = 0; oh < Ho; oh++) {
                        int64_t ih = oh * st - pad + ki;
                        float *dr = d + oh * Wo;
                        if (ih < 0 || ih >= H) {
                            memset(dr, 0, (size_t)Wo * sizeof(float));
                            continue;
                        }
                        const float *xr = xs + ih * W;
                        for (int64_t ow = 0; ow < lo; ow++)
                            dr[ow] = 0.0f;
                        if (st == 1)
                            memcpy(dr + lo, xr + lo + off, (size_t)(hi - lo) * sizeof(float));
                        else
                            for (int64_t ow = lo; ow < hi; ow++)
                                dr[ow] = xr[ow * st + off];
                        for (int64_t ow = hi; ow < Wo; ow++)
                            dr[ow] = 0.0f;
                    }
                }
            }
}

/* The adjoint of im2col: ADDS col's entries into x (cs, C, H, W). */
static void col2im(const float *col, int64_t cs, int64_t C, int64_t H, int64_t W, int k, int st, int pad,
                   int64_t Ho, int64_t Wo, float *x)
{
    int64_t P = Ho * Wo, ld = cs * P;
    for (int64_t c = 0; c < C; c++)
        for (int ki = 0; ki < k; ki++)
            for (int kj = 0; kj < k; kj++) {
                const float *src = col + ((c * k + ki) * k + kj) * ld;
                int64_t off = kj - pad, lo, hi;
                valid_range(off, st, W, Wo, &lo, &hi);
                for (int64_t s = 0; s < cs; s++) {
                    float *xs = x + (s * C + c) * H * W;
                    const float *d = src + s * P;
                    for (int64_t oh = 0; oh < Ho; oh++) {
                        int64_t ih = oh * st - pad + ki;
                        if (ih < 0 || ih >= H)
                            continue;
                        float *xr = xs + ih * W;
                        const float *dr = d + oh * Wo;
                        if (st == 1)
                            for (int64_t ow = lo; ow < hi; ow++)
                                xr[ow + off] += dr[ow];
                        else
                            for (int64_t ow = lo; ow < hi; ow++)
                                xr[ow * st + off] += dr[ow];
                    }
                }
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
        float *col = work, *og = work + ckk * cs * P;
        im2col(x + s0 * l->in_numel, cs, l->cin, l->hin, l->win, l->k, l->stride, l->pad, l->hout, l->wout, col);
        nn_gemm(0, 0, Cout, cs * P, ckk, 1.0f, p, ckk, col, cs * P, 0.0f, og, cs * P);
        float *ys = y + s0 * l->out_numel;
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
    for (int64_t s0 = 0; s0 < n; s0 += l->chunk) {
        int64_t cs = n - s0 < l->chunk ? n - s0 : l->chunk;
        float *col = work, *og = work + ckk * cs * P;
        const float *dys = dy + s0 * l->out_numel;
        gather(dys, cs, Cout, P, og);
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
                   col);
            /* dW [Cout, Ckk] += dOut [Cout, csP] col^T */
            nn_gemm(0, 1, Cout, ckk, cs * P, 1.0f, og, cs * P, col, cs * P, 1.0f, dp, ckk);
        }
        if (dx) {
            /* dcol [Ckk, csP] = W^T dOut, then fold back into the image */
            nn_gemm(1, 0, ckk, cs * P, Cout, 1.0f, p, ckk, og, cs * P, 0.0f, col, cs * P);
            float *dxs = dx + s0 * l->in_numel;
            memset(dxs, 0, (size_t)(cs * l->in_numel) * sizeof(float));
            col2im(col, cs, l->cin, l->hin, l->win, l->k, l->stride, l->pad, l->hout, l->wout, dxs);
        }
    }
}

/* ---- conv_transpose2d: W [Cin, Cout k k], bias [Cout] --------------------- */

void nn_convt_forward(const nn_layer *l, int64_t n, const float *p, const float *x, float *y, float *work)
{
    int64_t P = l->hin * l->win, ckk = l->cout * l->k * l->k, Cin = l->cin, Cout = l->cout;
    int64_t Po = l->hout * l->wout;
    const float *b = l->bias ? p + Cin * ckk : NULL;
    for (int64_t s0 = 0; s0 < n; s0 += l->chunk) {
        int64_t cs = n - s0 < l->chunk ? n - s0 : l->chunk;
        float *col = work, *xg = work + ckk * cs * P;
        gather(x + s0 * l->in_numel, cs, Cin, P, xg);
        /* col [Cout k k, csP] = W^T [Coutkk, Cin] xg [Cin, csP] */
        nn_gemm(1, 0, ckk, cs * P, Cin, 1.0f, p, ckk, xg, cs * P, 0.0f, col, cs * P);
        float *ys = y + s0 * l->out_numel;
        for (int64_t s = 0; s < cs; s++)
            for (int64_t o = 0; o < Cout; o++) {
                float *dst = ys + (s * Cout + o) * Po;
                float bo = b ? b[o] : 0.0f;
                for (int64_t j = 0; j < Po; j++)
                    dst[j] = bo;
            }
        /* the output plays the image, the input positions the windows */
        col2im(col, cs, Cout, l->hout, l->wout, l->k, l->stride, l->pad, l->hin, l->win, ys);
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
        float *col = work, *xg = work + ckk * cs * P;
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
        im2col(dys, cs, Cout, l->hout, l->wout, l->k, l->stride, l->pad, l->hin, l->win, col);
        if (dp) {
            gather(x + s0 * l->in_numel, cs, Cin, P, xg);
            /* dW [Cin, Coutkk] += xg [Cin, csP] dcol^T */
            nn_gemm(0, 1, Cin, ckk, cs * P, 1.0f, xg, cs * P, col, cs * P, 1.0f, dp, ckk);
        }
        if (dx) {
            /* dxg [Cin, csP] = W [Cin, Coutkk] dcol [Coutkk, csP] */
            nn_gemm(0, 0, Cin, cs * P, ckk, 1.0f, p, ckk, col, cs * P, 0.0f, xg, cs * P);
            scatter(xg, cs, Cin, P, dx + s0 * l->in_numel);
        }
    }
}
