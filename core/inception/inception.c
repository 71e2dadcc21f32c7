/* core/inception/inception.c - InceptionV3 up to the pool features.
 *
 * One image at a time, activations in C x H x W floats. Every convolution
 * is conv + folded batch norm + ReLU: out[cout][ho*wo] = W[cout][cin*kh*kw]
 * x col[cin*kh*kw][ho*wo] with cblas_sgemm, where col is the im2col of the
 * input (1x1 stride-1 convolutions use the input itself). Kernels may be
 * rectangular (1x7, 7x1, 1x3, 3x1) with separate vertical and horizontal
 * padding. Branch outputs are written at their channel offset of the block
 * output, so the channel concatenation costs nothing.
 *
 * Memory: named buffers (two ping-pong buffers for block inputs/outputs,
 * two temporaries for the inside of blocks, one im2col area) sized by a
 * dry run of the forward pass at open; the forward pass then allocates
 * nothing.
 */
#include "inception/inception.h"

#include <cblas.h>
#include <lpz/log.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "io/fsutil.h"
#include "io/safetensors.h"

#define BN_EPS 0.001 /* torchvision BasicConv2d: nn.BatchNorm2d(out, eps=0.001) */
/* clang-format off: the tables below read best one layer per entry */
#define DOCS_HINT                                                                                            \
    "FID on colour images needs the InceptionV3 weights as a safetensors file: convert the public "          \
    "pytorch-fid "                                                                                           \
    "weights (pt_inception-2015-12-05-6726825d.pth) with the few lines of PyTorch in docs/inception.md and " \
    "point "                                                                                                 \
    "score.feature_model at the result"

/* ---- the architecture ------------------------------------------------- */

typedef struct conv_spec {
    const char *name;
    int cin, cout, kh, kw, stride, ph, pw;
} conv_spec;

/* state_dict order, which is also the order the forward pass uses them */
#define C1(P, N, CIN, COUT)                                                                                  \
    {                                                                                                        \
        P "." N, CIN, COUT, 1, 1, 1, 0, 0                                                                    \
    }
#define BLOCK_A(P, CIN, POOL)                                                                                \
    C1(P, "branch1x1", CIN, 64), C1(P, "branch5x5_1", CIN, 48), {P ".branch5x5_2", 48, 64, 5, 5, 1, 2, 2},   \
        C1(P, "branch3x3dbl_1", CIN, 64), {P ".branch3x3dbl_2", 64, 96, 3, 3, 1, 1, 1},                      \
        {P ".branch3x3dbl_3", 96, 96, 3, 3, 1, 1, 1}, C1(P, "branch_pool", CIN, POOL)
#define BLOCK_C(P, C7)                                                                                       \
    C1(P, "branch1x1", 768, 192), C1(P, "branch7x7_1", 768, C7), {P ".branch7x7_2", C7, C7, 1, 7, 1, 0, 3},  \
        {P ".branch7x7_3", C7, 192, 7, 1, 1, 3, 0}, C1(P, "branch7x7dbl_1", 768, C7),                        \
        {P ".branch7x7dbl_2", C7, C7, 7, 1, 1, 3, 0}, {P ".branch7x7dbl_3", C7, C7, 1, 7, 1, 0, 3},          \
        {P ".branch7x7dbl_4", C7, C7, 7, 1, 1, 3, 0}, {P ".branch7x7dbl_5", C7, 192, 1, 7, 1, 0, 3},         \
        C1(P, "branch_pool", 768, 192)
#define BLOCK_E(P, CIN)                                                                                      \
    C1(P, "branch1x1", CIN, 320), C1(P, "branch3x3_1", CIN, 384),                                            \
        {P ".branch3x3_2a", 384, 384, 1, 3, 1, 0, 1}, {P ".branch3x3_2b", 384, 384, 3, 1, 1, 1, 0},          \
        C1(P, "branch3x3dbl_1", CIN, 448), {P ".branch3x3dbl_2", 448, 384, 3, 3, 1, 1, 1},                   \
        {P ".branch3x3dbl_3a", 384, 384, 1, 3, 1, 0, 1}, {P ".branch3x3dbl_3b", 384, 384, 3, 1, 1, 1, 0},    \
        C1(P, "branch_pool", CIN, 192)

static const conv_spec SPECS[] = {
    {"Conv2d_1a_3x3", 3, 32, 3, 3, 2, 0, 0},
    {"Conv2d_2a_3x3", 32, 32, 3, 3, 1, 0, 0},
    {"Conv2d_2b_3x3", 32, 64, 3, 3, 1, 1, 1},
    {"Conv2d_3b_1x1", 64, 80, 1, 1, 1, 0, 0},
    {"Conv2d_4a_3x3", 80, 192, 3, 3, 1, 0, 0},
    BLOCK_A("Mixed_5b", 192, 32),
    BLOCK_A("Mixed_5c", 256, 64),
    BLOCK_A("Mixed_5d", 288, 64),
    {"Mixed_6a.branch3x3", 288, 384, 3, 3, 2, 0, 0},
    C1("Mixed_6a", "branch3x3dbl_1", 288, 64),
    {"Mixed_6a.branch3x3dbl_2", 64, 96, 3, 3, 1, 1, 1},
    {"Mixed_6a.branch3x3dbl_3", 96, 96, 3, 3, 2, 0, 0},
    BLOCK_C("Mixed_6b", 128),
    BLOCK_C("Mixed_6c", 160),
    BLOCK_C("Mixed_6d", 160),
    BLOCK_C("Mixed_6e", 192),
    C1("Mixed_7a", "branch3x3_1", 768, 192),
    {"Mixed_7a.branch3x3_2", 192, 320, 3, 3, 2, 0, 0},
    C1("Mixed_7a", "branch7x7x3_1", 768, 192),
    {"Mixed_7a.branch7x7x3_2", 192, 192, 1, 7, 1, 0, 3},
    {"Mixed_7a.branch7x7x3_3", 192, 192, 7, 1, 1, 3, 0},
    {"Mixed_7a.branch7x7x3_4", 192, 192, 3, 3, 2, 0, 0},
    BLOCK_E("Mixed_7b", 1280),
    BLOCK_E("Mixed_7c", 2048),
};
/* clang-format on */
#define N_CONV ((int)(sizeof SPECS / sizeof SPECS[0]))

int lpz_inception_conv_count(void)
{
    return N_CONV;
}

int lpz_inception_conv_info(int i, lpz_inception_conv_spec *out)
{
    if (i < 0 || i >= N_CONV || !out)
        return LPZ_EINVAL;
    out->name = SPECS[i].name;
    out->cin = SPECS[i].cin;
    out->cout = SPECS[i].cout;
    out->kh = SPECS[i].kh;
    out->kw = SPECS[i].kw;
    return LPZ_OK;
}

/* ---- the object --------------------------------------------------------- */

enum { BUF_A, BUF_B, BUF_T1, BUF_T2, BUF_COL, N_BUF };

typedef struct conv {
    const conv_spec *s;
    const float *w; /* cout x (cin*kh*kw), batch norm scale folded in */
    const float *b; /* cout: beta - mean * gamma / sqrt(var + eps) */
} conv;

struct lpz_inception {
    lpz_inception_variant variant;
    conv convs[N_CONV];
    float *params; /* all weights and biases, one allocation */
    float *buf[N_BUF];
    int64_t cap[N_BUF]; /* floats in each buffer */
    /* bilinear resize tables for the current input size (one entry per
     * output row / column): source indices and the weight of the second */
    int ry0[LPZ_INCEPTION_SIZE], ry1[LPZ_INCEPTION_SIZE], rx0[LPZ_INCEPTION_SIZE], rx1[LPZ_INCEPTION_SIZE];
    float rly[LPZ_INCEPTION_SIZE], rlx[LPZ_INCEPTION_SIZE];
    int rh, rw; /* input size the tables are for (0: none yet) */
};

lpz_inception_variant lpz_inception_get_variant(const lpz_inception *net)
{
    return net->variant;
}

/* ---- kernels (one image) ----------------------------------------------- */

/* in: c x h x w; col: (c*kh*kw) x (ho*wo), zero where the window is in the
 * padding. */
static void im2col(const float *in, int c, int h, int w, int kh, int kw, int stride, int ph, int pw, int ho,
                   int wo, float *col)
{
    for (int ci = 0; ci < c; ci++) {
        const float *plane = in + (int64_t)ci * h * w;
        for (int ki = 0; ki < kh; ki++) {
            for (int kj = 0; kj < kw; kj++) {
                float *dst = col + (((int64_t)ci * kh + ki) * kw + kj) * ho * wo;
                /* output columns whose input column ox*stride - pw + kj lies
                 * inside [0, w): ox in [x_lo, x_hi) */
                int x_lo = 0, x_hi = wo;
                while (x_lo < wo && x_lo * stride - pw + kj < 0)
                    x_lo++;
                while (x_hi > x_lo && (x_hi - 1) * stride - pw + kj >= w)
                    x_hi--;
                for (int oy = 0; oy < ho; oy++, dst += wo) {
                    int iy = oy * stride - ph + ki;
                    if (iy < 0 || iy >= h) {
                        memset(dst, 0, (size_t)wo * sizeof *dst);
                        continue;
                    }
                    const float *row = plane + (int64_t)iy * w - pw + kj;
                    for (int ox = 0; ox < x_lo; ox++)
                        dst[ox] = 0.0f;
                    if (stride == 1)
                        memcpy(dst + x_lo, row + x_lo, (size_t)(x_hi - x_lo) * sizeof *dst);
                    else
                        for (int ox = x_lo; ox < x_hi; ox++)
                            dst[ox] = row[(int64_t)ox * stride];
                    for (int ox = x_hi; ox < wo; ox++)
                        dst[ox] = 0.0f;
                }
            }
        }
    }
}

static void bias_relu(float *x, int c, int64_t hw, const float *b)
{
    for (int ci = 0; ci < c; ci++) {
        float *p = x + ci * hw;
        const float bi = b[ci];
        for (int64_t i = 0; i < hw; i++) {
            float v = p[i] + bi;
            p[i] = v > 0.0f ? v : 0.0f;
        }
    }
}

/* 3x3 max pool without padding (stem, Mixed_6a, Mixed_7a) or with padding
 * 1 (Mixed_7c of the FID variant; the padding never wins, like PyTorch's
 * -inf padding). */
static void max_pool3(const float *in, int c, int h, int w, int stride, int pad, int ho, int wo, float *out)
{
    for (int ci = 0; ci < c; ci++) {
        const float *p = in + (int64_t)ci * h * w;
        float *o = out + (int64_t)ci * ho * wo;
        for (int oy = 0; oy < ho; oy++) {
            int y0 = oy * stride - pad, y1 = y0 + 3;
            if (y0 < 0)
                y0 = 0;
            if (y1 > h)
                y1 = h;
            for (int ox = 0; ox < wo; ox++) {
                int x0 = ox * stride - pad, x1 = x0 + 3;
                if (x0 < 0)
                    x0 = 0;
                if (x1 > w)
                    x1 = w;
                float m = -INFINITY;
                for (int y = y0; y < y1; y++)
                    for (int x = x0; x < x1; x++)
                        m = p[(int64_t)y * w + x] > m ? p[(int64_t)y * w + x] : m;
                o[(int64_t)oy * wo + ox] = m;
            }
        }
    }
}

/* 3x3 average pool, stride 1, padding 1: divided by 9 when the padding
 * counts (torchvision), by the number of pixels inside otherwise (FID). */
static void avg_pool3(const float *in, int c, int h, int w, int include_pad, float *out)
{
    /* separable: each output row first gets the sum of the (up to) three
     * input rows around it, then the sum of three neighbours in place */
    for (int ci = 0; ci < c; ci++) {
        const float *p = in + (int64_t)ci * h * w;
        float *o = out + (int64_t)ci * h * w;
        for (int oy = 0; oy < h; oy++, o += w) {
            int y0 = oy > 0 ? oy - 1 : 0, y1 = oy + 2 < h ? oy + 2 : h;
            const float *r = p + (int64_t)y0 * w;
            for (int x = 0; x < w; x++)
                o[x] = r[x];
            for (int y = y0 + 1; y < y1; y++) {
                r = p + (int64_t)y * w;
                for (int x = 0; x < w; x++)
                    o[x] += r[x];
            }
            const float ny = (float)(y1 - y0);
            float left = 0.0f;
            for (int x = 0; x < w; x++) {
                const float cur = o[x], right = x + 1 < w ? o[x + 1] : 0.0f;
                const int nx = (x + 1 < w ? x + 1 : w - 1) - (x > 0 ? x - 1 : 0) + 1;
                o[x] = (left + cur + right) / (include_pad ? 9.0f : ny * (float)nx);
                left = cur;
            }
        }
    }
}

/* ---- the forward pass over named buffers ------------------------------- */

/* An activation: c x h x w floats at the start of buffer `buf`. */
typedef struct act {
    int buf, c, h, w;
} act;

/* One pass: either a dry run (sizes only, at open) or the real one. */
typedef struct pass {
    lpz_inception *net;
    int dry;
    int next;            /* index of the next convolution */
    int64_t need[N_BUF]; /* dry run: floats each buffer needs */
    int bad;             /* dry run: the architecture tables disagree */
} pass;

static void need(pass *p, int buf, int64_t n)
{
    if (n > p->need[buf])
        p->need[buf] = n;
}

/* Runs the next convolution on `in`, writing its cout channels at channel
 * offset coff of buffer dst (whose other channels are left alone). */
static act conv_op(pass *p, act in, int dst, int coff)
{
    const conv *L = &p->net->convs[p->next++];
    const conv_spec *s = L->s;
    int ho = (in.h + 2 * s->ph - s->kh) / s->stride + 1;
    int wo = (in.w + 2 * s->pw - s->kw) / s->stride + 1;
    int64_t hw = (int64_t)ho * wo, k = (int64_t)s->cin * s->kh * s->kw;
    int direct = s->kh == 1 && s->kw == 1 && s->stride == 1 && s->ph == 0 && s->pw == 0;
    if (p->dry) {
        if (in.c != s->cin || ho < 1 || wo < 1 || dst == in.buf)
            p->bad = 1;
        need(p, dst, (coff + s->cout) * hw);
        if (!direct)
            need(p, BUF_COL, k * hw);
    } else {
        const float *x = p->net->buf[in.buf];
        float *y = p->net->buf[dst] + coff * hw;
        const float *b = x;
        if (!direct) {
            im2col(x, in.c, in.h, in.w, s->kh, s->kw, s->stride, s->ph, s->pw, ho, wo, p->net->buf[BUF_COL]);
            b = p->net->buf[BUF_COL];
        }
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, s->cout, (int)hw, (int)k, 1.0f, L->w, (int)k,
                    b, (int)hw, 0.0f, y, (int)hw);
        bias_relu(y, s->cout, hw, L->b);
    }
    return (act){dst, s->cout, ho, wo};
}

static act max_pool_op(pass *p, act in, int stride, int pad, int dst, int coff)
{
    int ho = (in.h + 2 * pad - 3) / stride + 1, wo = (in.w + 2 * pad - 3) / stride + 1;
    int64_t hw = (int64_t)ho * wo;
    if (p->dry) {
        if (dst == in.buf)
            p->bad = 1;
        need(p, dst, (coff + in.c) * hw);
    } else {
        max_pool3(p->net->buf[in.buf], in.c, in.h, in.w, stride, pad, ho, wo, p->net->buf[dst] + coff * hw);
    }
    return (act){dst, in.c, ho, wo};
}

static act avg_pool_op(pass *p, act in, int include_pad, int dst)
{
    if (p->dry) {
        if (dst == in.buf)
            p->bad = 1;
        need(p, dst, (int64_t)in.c * in.h * in.w);
    } else {
        avg_pool3(p->net->buf[in.buf], in.c, in.h, in.w, include_pad, p->net->buf[dst]);
    }
    return (act){dst, in.c, in.h, in.w};
}

/* The pooled path of InceptionA/C/E: 3x3 pool (stride 1, padding 1) into
 * T1, then the branch_pool convolution. `max` selects FIDInceptionE_2's
 * max pool. */
static act pool_branch(pass *p, act x, int max, int dst, int coff)
{
    int fid = p->net->variant == LPZ_INCEPTION_FID;
    act t = max ? max_pool_op(p, x, 1, 1, BUF_T1, 0) : avg_pool_op(p, x, !fid, BUF_T1);
    return conv_op(p, t, dst, coff);
}

/* The blocks, as torchvision's InceptionA..E forward them; x is in one
 * ping-pong buffer and the output goes to the other (dst). */
static act block_a(pass *p, act x, int dst)
{
    int c = 0;
    c += conv_op(p, x, dst, c).c;
    act t = conv_op(p, x, BUF_T1, 0);
    c += conv_op(p, t, dst, c).c;
    t = conv_op(p, x, BUF_T1, 0);
    t = conv_op(p, t, BUF_T2, 0);
    c += conv_op(p, t, dst, c).c;
    act last = pool_branch(p, x, 0, dst, c);
    return (act){dst, c + last.c, last.h, last.w};
}

static act block_b(pass *p, act x, int dst)
{
    int c = 0;
    c += conv_op(p, x, dst, c).c;
    act t = conv_op(p, x, BUF_T1, 0);
    t = conv_op(p, t, BUF_T2, 0);
    c += conv_op(p, t, dst, c).c;
    act last = max_pool_op(p, x, 2, 0, dst, c);
    return (act){dst, c + last.c, last.h, last.w};
}

static act block_c(pass *p, act x, int dst)
{
    int c = 0;
    c += conv_op(p, x, dst, c).c;
    act t = conv_op(p, x, BUF_T1, 0); /* branch7x7 */
    t = conv_op(p, t, BUF_T2, 0);
    c += conv_op(p, t, dst, c).c;
    t = conv_op(p, x, BUF_T1, 0); /* branch7x7dbl */
    t = conv_op(p, t, BUF_T2, 0);
    t = conv_op(p, t, BUF_T1, 0);
    t = conv_op(p, t, BUF_T2, 0);
    c += conv_op(p, t, dst, c).c;
    act last = pool_branch(p, x, 0, dst, c);
    return (act){dst, c + last.c, last.h, last.w};
}

static act block_d(pass *p, act x, int dst)
{
    int c = 0;
    act t = conv_op(p, x, BUF_T1, 0); /* branch3x3 */
    c += conv_op(p, t, dst, c).c;
    t = conv_op(p, x, BUF_T1, 0); /* branch7x7x3 */
    t = conv_op(p, t, BUF_T2, 0);
    t = conv_op(p, t, BUF_T1, 0);
    c += conv_op(p, t, dst, c).c;
    act last = max_pool_op(p, x, 2, 0, dst, c);
    return (act){dst, c + last.c, last.h, last.w};
}

/* last: Mixed_7c (FIDInceptionE_2 in the FID variant) */
static act block_e(pass *p, act x, int dst, int last_block)
{
    int c = 0;
    c += conv_op(p, x, dst, c).c;
    act t = conv_op(p, x, BUF_T1, 0); /* branch3x3: 1x3 and 3x1 side by side */
    c += conv_op(p, t, dst, c).c;
    c += conv_op(p, t, dst, c).c;
    t = conv_op(p, x, BUF_T1, 0); /* branch3x3dbl */
    t = conv_op(p, t, BUF_T2, 0);
    c += conv_op(p, t, dst, c).c;
    c += conv_op(p, t, dst, c).c;
    int max = last_block && p->net->variant == LPZ_INCEPTION_FID;
    act last = pool_branch(p, x, max, dst, c);
    return (act){dst, c + last.c, last.h, last.w};
}

/* The image (3 x 299 x 299 in BUF_A) to the last block's output. */
static act forward(pass *p)
{
    p->next = 0;
    act x = {BUF_A, 3, LPZ_INCEPTION_SIZE, LPZ_INCEPTION_SIZE};
    x = conv_op(p, x, BUF_B, 0);           /* 32 x 149 x 149 */
    x = conv_op(p, x, BUF_A, 0);           /* 32 x 147 x 147 */
    x = conv_op(p, x, BUF_B, 0);           /* 64 x 147 x 147 */
    x = max_pool_op(p, x, 2, 0, BUF_A, 0); /* 64 x 73 x 73 */
    x = conv_op(p, x, BUF_B, 0);           /* 80 x 73 x 73 */
    x = conv_op(p, x, BUF_A, 0);           /* 192 x 71 x 71 */
    x = max_pool_op(p, x, 2, 0, BUF_B, 0); /* 192 x 35 x 35 */
    for (int i = 0; i < 3; i++)            /* Mixed_5b..d: 256, 288, 288 x 35 x 35 */
        x = block_a(p, x, x.buf == BUF_A ? BUF_B : BUF_A);
    x = block_b(p, x, x.buf == BUF_A ? BUF_B : BUF_A); /* Mixed_6a: 768 x 17 x 17 */
    for (int i = 0; i < 4; i++)                        /* Mixed_6b..e */
        x = block_c(p, x, x.buf == BUF_A ? BUF_B : BUF_A);
    x = block_d(p, x, x.buf == BUF_A ? BUF_B : BUF_A);    /* Mixed_7a: 1280 x 8 x 8 */
    x = block_e(p, x, x.buf == BUF_A ? BUF_B : BUF_A, 0); /* Mixed_7b: 2048 x 8 x 8 */
    x = block_e(p, x, x.buf == BUF_A ? BUF_B : BUF_A, 1); /* Mixed_7c: 2048 x 8 x 8 */
    if (p->dry && (p->next != N_CONV || x.c != LPZ_INCEPTION_FEATURES))
        p->bad = 1;
    return x;
}

/* ---- loading ------------------------------------------------------------ */

static int is_float_dtype(lpz_st_dtype d)
{
    return d == LPZ_ST_F32 || d == LPZ_ST_F64 || d == LPZ_ST_F16 || d == LPZ_ST_BF16;
}

static void shape_text(char *buf, size_t size, int ndim, const int64_t *shape)
{
    size_t n = 0;
    n += (size_t)snprintf(buf + n, size - n, "[");
    for (int i = 0; i < ndim && n < size; i++)
        n += (size_t)snprintf(buf + n, size - n, "%s%lld", i ? ", " : "", (long long)shape[i]);
    if (n < size)
        snprintf(buf + n, size - n, "]");
}

/* Finds `name`, checks dtype and shape, converts to count floats in out and
 * checks they are finite (and >= 0 when nonneg). */
static int load_tensor(const lpz_st_file *f, const char *name, int ndim, const int64_t *shape, int nonneg,
                       float *out, lpz_error *err)
{
    const lpz_st_tensor *t = lpz_st_find(f, name);
    char want[96], got[96];
    shape_text(want, sizeof want, ndim, shape);
    if (!t)
        return lpz_error_set(err, LPZ_EFORMAT, "not InceptionV3 weights: tensor \"%s\" (shape %s) is missing",
                             name, want);
    if (!is_float_dtype(t->dtype))
        return lpz_error_set(err, LPZ_EFORMAT,
                             "tensor \"%s\" has dtype %s; expected a float dtype (F32, F64, F16, BF16)", name,
                             lpz_st_dtype_name(t->dtype));
    int same = t->ndim == ndim;
    for (int i = 0; same && i < ndim; i++)
        same = t->shape[i] == shape[i];
    if (!same) {
        shape_text(got, sizeof got, t->ndim, t->shape);
        return lpz_error_set(err, LPZ_EFORMAT, "tensor \"%s\" has shape %s; InceptionV3 needs %s", name, got,
                             want);
    }
    size_t count = 1;
    for (int i = 0; i < ndim; i++)
        count *= (size_t)shape[i];
    int rc = lpz_st_tensor_to_f32(t, out, count, err);
    if (rc)
        return rc;
    for (size_t i = 0; i < count; i++) {
        if (!isfinite(out[i]) || (nonneg && out[i] < 0.0f))
            return lpz_error_set(err, LPZ_EFORMAT,
                                 "tensor \"%s\" element %zu is %g; expected a finite%s value", name, i,
                                 (double)out[i], nonneg ? " non-negative" : "");
    }
    return LPZ_OK;
}

/* Loads conv i and its batch norm and folds the latter into w (cout x k)
 * and b (cout); tmp holds 4 x cout floats. */
static int load_conv(const lpz_st_file *f, int i, float *w, float *b, float *tmp, lpz_error *err)
{
    const conv_spec *s = &SPECS[i];
    char name[128];
    int64_t wshape[4] = {s->cout, s->cin, s->kh, s->kw}, vshape[1] = {s->cout};
    float *gamma = tmp, *beta = tmp + s->cout, *mean = tmp + 2 * s->cout, *var = tmp + 3 * s->cout;
    int rc;
    snprintf(name, sizeof name, "%s.conv.weight", s->name);
    if ((rc = load_tensor(f, name, 4, wshape, 0, w, err)))
        return rc;
    snprintf(name, sizeof name, "%s.bn.weight", s->name);
    if ((rc = load_tensor(f, name, 1, vshape, 0, gamma, err)))
        return rc;
    snprintf(name, sizeof name, "%s.bn.bias", s->name);
    if ((rc = load_tensor(f, name, 1, vshape, 0, beta, err)))
        return rc;
    snprintf(name, sizeof name, "%s.bn.running_mean", s->name);
    if ((rc = load_tensor(f, name, 1, vshape, 0, mean, err)))
        return rc;
    snprintf(name, sizeof name, "%s.bn.running_var", s->name);
    if ((rc = load_tensor(f, name, 1, vshape, 1, var, err)))
        return rc;
    int64_t k = (int64_t)s->cin * s->kh * s->kw;
    for (int o = 0; o < s->cout; o++) {
        /* eval-mode batch norm: (x - mean) / sqrt(var + eps) * gamma + beta */
        double scale = (double)gamma[o] / sqrt((double)var[o] + BN_EPS);
        for (int64_t j = 0; j < k; j++)
            w[o * k + j] = (float)(w[o * k + j] * scale);
        b[o] = (float)((double)beta[o] - (double)mean[o] * scale);
    }
    return LPZ_OK;
}

static int parse_variant(const lpz_st_file *f, lpz_inception_variant *v, lpz_error *err)
{
    const char *m = lpz_st_meta(f, "inception_variant");
    if (!m || !strcmp(m, "fid"))
        *v = LPZ_INCEPTION_FID;
    else if (!strcmp(m, "torchvision"))
        *v = LPZ_INCEPTION_TORCHVISION;
    else
        return lpz_error_set(err, LPZ_EFORMAT,
                             "metadata inception_variant is \"%.64s\"; expected \"fid\" (pytorch-fid's FID "
                             "Inception, the default) or \"torchvision\"",
                             m);
    return LPZ_OK;
}

static int open_impl(const char *path, lpz_inception_variant variant, lpz_inception **out, lpz_error *err)
{
    lpz_st_file f;
    int rc = lpz_st_read(path, &f, err);
    if (rc)
        return rc;
    lpz_inception *net = calloc(1, sizeof *net);
    float *tmp = NULL;
    if (!net) {
        rc = lpz_error_set(err, LPZ_ENOMEM, "out of memory for the InceptionV3 network");
        goto fail;
    }
    if (variant == LPZ_INCEPTION_AUTO) {
        if ((rc = parse_variant(&f, &net->variant, err)))
            goto fail;
    } else {
        net->variant = variant;
    }
    int64_t total = 0, max_cout = 0;
    for (int i = 0; i < N_CONV; i++) {
        total += (int64_t)SPECS[i].cout * SPECS[i].cin * SPECS[i].kh * SPECS[i].kw + SPECS[i].cout;
        if (SPECS[i].cout > max_cout)
            max_cout = SPECS[i].cout;
    }
    net->params = malloc((size_t)total * sizeof(float));
    tmp = malloc((size_t)max_cout * 4 * sizeof(float));
    if (!net->params || !tmp) {
        rc = lpz_error_set(err, LPZ_ENOMEM, "out of memory for %lld InceptionV3 weights", (long long)total);
        goto fail;
    }
    float *p = net->params;
    for (int i = 0; i < N_CONV; i++) {
        const conv_spec *s = &SPECS[i];
        float *w = p, *b = p + (int64_t)s->cout * s->cin * s->kh * s->kw;
        if ((rc = load_conv(&f, i, w, b, tmp, err)))
            goto fail;
        net->convs[i] = (conv){s, w, b};
        p = b + s->cout;
    }
    int ignored = f.n_tensors - 5 * N_CONV;
    lpz_st_free(&f);
    free(tmp);
    tmp = NULL;

    pass dry = {.net = net, .dry = 1};
    dry.need[BUF_A] = 3 * LPZ_INCEPTION_SIZE * LPZ_INCEPTION_SIZE;
    forward(&dry);
    if (dry.bad) { /* the tables above are wrong: a bug, not bad input */
        lpz_inception_close(net);
        return lpz_error_set(err, LPZ_ESTATE, "internal error: InceptionV3 layer tables are inconsistent");
    }
    for (int i = 0; i < N_BUF; i++) {
        net->cap[i] = dry.need[i] > 0 ? dry.need[i] : 1;
        net->buf[i] = malloc((size_t)net->cap[i] * sizeof(float));
        if (!net->buf[i]) {
            long long floats = (long long)net->cap[i];
            lpz_inception_close(net);
            return lpz_error_set(err, LPZ_ENOMEM, "out of memory for InceptionV3 activations (%lld floats)",
                                 floats);
        }
    }
    int64_t scratch = 0;
    for (int i = 0; i < N_BUF; i++)
        scratch += net->cap[i];
    lpz_log(LPZ_LOG_DEBUG,
            "InceptionV3 (%s variant) from %s: %lld weights (%.1f MB), %d unused tensors ignored, %.1f MB "
            "scratch",
            net->variant == LPZ_INCEPTION_FID ? "FID" : "torchvision", path, (long long)total,
            (double)total * 4 / 1e6, ignored, (double)scratch * 4 / 1e6);
    *out = net;
    return LPZ_OK;

fail:
    lpz_st_free(&f);
    free(tmp);
    lpz_inception_close(net);
    lpz_error_where(err, "%s", path);
    if (rc == LPZ_EFORMAT)
        lpz_error_hint(err, "recreate the InceptionV3 weights file as docs/inception.md explains");
    return rc;
}

int lpz_inception_open_variant(const char *path, lpz_inception_variant variant, lpz_inception **out,
                               lpz_error *err)
{
    if (!out || !path || !*path)
        return lpz_error_set(err, LPZ_EINVAL, "lpz_inception_open: no weights file given");
    *out = NULL;
    if (variant != LPZ_INCEPTION_AUTO && variant != LPZ_INCEPTION_FID && variant != LPZ_INCEPTION_TORCHVISION)
        return lpz_error_set(err, LPZ_EINVAL, "lpz_inception_open: unknown variant %d", (int)variant);
    if (!lpz_is_file(path)) {
        int rc = lpz_error_set(err, LPZ_ENOTFOUND, "InceptionV3 weights file not found%s",
                               lpz_is_dir(path) ? " (the path is a folder)" : "");
        lpz_error_where(err, "%s", path);
        lpz_error_hint(err, DOCS_HINT);
        return rc;
    }
    int rc = open_impl(path, variant, out, err);
    if (rc && err && !err->hint[0])
        lpz_error_hint(err, "%s", DOCS_HINT);
    return rc;
}

int lpz_inception_open(const char *path, lpz_inception **out, lpz_error *err)
{
    return lpz_inception_open_variant(path, LPZ_INCEPTION_AUTO, out, err);
}

void lpz_inception_close(lpz_inception *net)
{
    if (!net)
        return;
    for (int i = 0; i < N_BUF; i++)
        free(net->buf[i]);
    free(net->params);
    free(net);
}

/* ---- features ------------------------------------------------------------ */

/* PyTorch's upsample_bilinear2d with align_corners=False and no scale
 * factor: src = (dst + 0.5) * in/out - 0.5, clamped at 0; the second tap
 * is the next pixel unless at the border. */
static void resize_table(int in, int *i0, int *i1, float *l1)
{
    const float scale = (float)in / (float)LPZ_INCEPTION_SIZE;
    for (int o = 0; o < LPZ_INCEPTION_SIZE; o++) {
        float src = scale * ((float)o + 0.5f) - 0.5f;
        if (src < 0.0f)
            src = 0.0f;
        int a = (int)src;
        if (a > in - 1)
            a = in - 1;
        i0[o] = a;
        i1[o] = a < in - 1 ? a + 1 : a;
        l1[o] = src - (float)a;
    }
}

/* One image plane (h x w) to 299 x 299. */
static void resize_plane(const lpz_inception *net, const float *in, int w, float *out)
{
    for (int oy = 0; oy < LPZ_INCEPTION_SIZE; oy++) {
        const float *r0 = in + (int64_t)net->ry0[oy] * w, *r1 = in + (int64_t)net->ry1[oy] * w;
        const float ly1 = net->rly[oy], ly0 = 1.0f - ly1;
        float *o = out + (int64_t)oy * LPZ_INCEPTION_SIZE;
        for (int ox = 0; ox < LPZ_INCEPTION_SIZE; ox++) {
            const int x0 = net->rx0[ox], x1 = net->rx1[ox];
            const float lx1 = net->rlx[ox], lx0 = 1.0f - lx1;
            o[ox] = ly0 * (lx0 * r0[x0] + lx1 * r0[x1]) + ly1 * (lx0 * r1[x0] + lx1 * r1[x1]);
        }
    }
}

int lpz_inception_features(lpz_inception *net, const float *images, int64_t n, int channels, int height,
                           int width, float *out, lpz_error *err)
{
    if (!net || (n > 0 && (!images || !out)) || n < 0)
        return lpz_error_set(err, LPZ_EINVAL, "lpz_inception_features: missing network, images or output");
    if (channels != 1 && channels != 3)
        return lpz_error_set(
            err, LPZ_EINVAL,
            "InceptionV3 features need grey (1 channel) or RGB (3 channel) images, not %d channels",
            channels);
    if (height < 1 || width < 1 || height > LPZ_INCEPTION_MAX_SIDE || width > LPZ_INCEPTION_MAX_SIDE)
        return lpz_error_set(err, LPZ_EINVAL, "image size %dx%d is outside 1..%d", height, width,
                             LPZ_INCEPTION_MAX_SIDE);
    if (net->rh != height || net->rw != width) {
        resize_table(height, net->ry0, net->ry1, net->rly);
        resize_table(width, net->rx0, net->rx1, net->rlx);
        net->rh = height;
        net->rw = width;
    }
    const int64_t plane = (int64_t)height * width, size2 = (int64_t)LPZ_INCEPTION_SIZE * LPZ_INCEPTION_SIZE;
    pass p = {.net = net};
    for (int64_t i = 0; i < n; i++) {
        const float *img = images + i * channels * plane;
        for (int64_t j = 0; j < channels * plane; j++)
            if (!isfinite(img[j]))
                return lpz_error_set(err, LPZ_EINVAL,
                                     "image %lld (channel %lld, pixel %lld) is not finite (%g)", (long long)i,
                                     (long long)(j / plane), (long long)(j % plane), (double)img[j]);
        float *x = net->buf[BUF_A];
        for (int c = 0; c < 3; c++) {
            if (channels == 1 && c > 0)
                memcpy(x + c * size2, x, (size_t)size2 * sizeof *x); /* grey repeated to RGB */
            else
                resize_plane(net, img + c * plane, width, x + c * size2);
        }
        act y = forward(&p);
        /* adaptive average pool to 1 x 1 */
        const float *a = net->buf[y.buf];
        const int64_t hw = (int64_t)y.h * y.w;
        for (int c = 0; c < y.c; c++) {
            float s = 0.0f;
            for (int64_t j = 0; j < hw; j++)
                s += a[c * hw + j];
            out[i * LPZ_INCEPTION_FEATURES + c] = s / (float)hw;
        }
    }
    return LPZ_OK;
}
