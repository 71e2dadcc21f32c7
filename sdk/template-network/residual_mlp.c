/* residual_mlp - a network plugin to copy: an MLP GAN with residual blocks
 * and LeakyReLU, for samples of any shape (they are flattened).
 *
 * It has every part of a network plugin: options of three types, a sample
 * shape check in configure, a generator and a discriminator built from the
 * SDK's layers, a custom layer (the residual block, with its own forward
 * and backward: the SDK has no built-in skip connection), tensor names that
 * PyTorch loads, the Wasserstein critic and the optional init.
 * docs/howto/add-a-network.md walks through it.
 *
 * The same networks in PyTorch (a saved model is their state_dict):
 *
 *   class Residual(nn.Module):              # x + fc2(leaky_relu(fc1(x)))
 *       def __init__(self, h, slope):
 *           super().__init__()
 *           self.fc1, self.fc2, self.slope = nn.Linear(h, h), nn.Linear(h, h), slope
 *       def forward(self, x):
 *           return x + self.fc2(F.leaky_relu(self.fc1(x), self.slope))
 *
 *   generator = nn.Sequential(              # input z: (latent)
 *       nn.Linear(latent, hidden), nn.LeakyReLU(slope),          # 0, 1
 *       *[Residual(hidden, slope) for _ in range(blocks)],       # 2 .. blocks + 1
 *       nn.Linear(hidden, S), nn.Tanh())                         # blocks + 2, blocks + 3
 *   # output reshaped to the sample shape; S = values per sample (784 for 1x28x28)
 *
 *   discriminator = nn.Sequential(          # input: the sample flattened to (S)
 *       nn.Linear(S, hidden), nn.LeakyReLU(slope),
 *       *[Residual(hidden, slope) for _ in range(blocks)],
 *       nn.Linear(hidden, 1), nn.Sigmoid()) # no Sigmoid for a Wasserstein critic
 *
 * Tensors: 0.weight, 0.bias, 2.fc1.weight, 2.fc1.bias, 2.fc2.weight,
 * 2.fc2.bias, 3.fc1.weight, ..., then <blocks + 2>.weight and .bias.
 */
#include <lpz/lpz.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define RM_MAX_WIDTH 16384              /* hidden and latent: a typo must not ask for gigabytes */
#define RM_MAX_BLOCKS 64
#define RM_MAX_WEIGHT ((int64_t)1 << 28) /* elements of one weight matrix (1 GiB of floats) */

/* ---- the residual block: a custom layer ----------------------------------
 *
 * y = x + fc2(leaky_relu(fc1(x))) over vectors of h values. Its parameters,
 * in spec order, are one slice of the model's buffer:
 *   fc1.weight [h, h], fc1.bias [h], fc2.weight [h, h], fc2.bias [h].
 * forward and backward cannot fail, so the scratch they need (three vectors
 * of h) is allocated with the layer; they work one sample at a time. Every
 * model gets its own block (build makes a new one per call), so the scratch
 * is never used by two threads at once. */
typedef struct residual {
    int64_t h;
    float slope;
    lpz_layer_param_spec spec[5];
    float *z;  /* fc1's output for one sample */
    float *a;  /* leaky_relu(z) */
    float *da; /* the gradient at a, then at z */
    float scratch[];
} residual;

static int residual_output_shape(void *self, const lpz_shape *in, lpz_shape *out, lpz_error *err)
{
    const residual *r = self;
    if (in->ndim != 1 || in->dim[0] != r->h)
        return lpz_error_set(err, LPZ_EINVAL, "a residual block of width %lld needs vectors of %lld values",
                             (long long)r->h, (long long)r->h);
    *out = *in; /* x + f(x) has the shape of x */
    return LPZ_OK;
}

static const lpz_layer_param_spec *residual_params(void *self, const lpz_shape *in)
{
    (void)in;
    return ((const residual *)self)->spec;
}

/* PyTorch's default nn.Linear init: weights and biases U(-1/sqrt(in), 1/sqrt(in)). */
static void residual_init(void *self, const lpz_shape *in, float *params, lpz_rng *rng)
{
    (void)in;
    const residual *r = self;
    float bound = 1.0f / sqrtf((float)r->h);
    lpz_rng_fill_uniform(rng, params, (size_t)(2 * (r->h * r->h + r->h)), -bound, bound);
}

/* The two loops all the work goes through, written so that the compiler
 * vectorises them at -O3 (eight partial sums; no aliasing). Hand loops are
 * still several times slower than the built-in layers' kernels. */
static float dot(const float *restrict u, const float *restrict v, int64_t h)
{
    float acc[8] = {0};
    int64_t k = 0;
    for (; k + 8 <= h; k += 8)
        for (int j = 0; j < 8; j++)
            acc[j] += u[k + j] * v[k + j];
    float s = 0.0f;
    for (; k < h; k++)
        s += u[k] * v[k];
    for (int j = 0; j < 8; j++)
        s += acc[j];
    return s;
}

static void axpy(float *restrict y, float alpha, const float *restrict x, int64_t h)
{
    for (int64_t k = 0; k < h; k++)
        y[k] += alpha * x[k];
}

/* out = w v + b for one sample; w is [h, h] row-major. */
static void affine(int64_t h, const float *w, const float *b, const float *v, float *out)
{
    for (int64_t o = 0; o < h; o++)
        out[o] = b[o] + dot(w + o * h, v, h);
}

/* z = fc1(x), a = leaky_relu(z) for one sample. */
static void residual_hidden(const residual *r, const float *params, const float *x)
{
    int64_t h = r->h;
    affine(h, params, params + h * h, x, r->z);
    for (int64_t k = 0; k < h; k++)
        r->a[k] = r->z[k] > 0.0f ? r->z[k] : r->slope * r->z[k];
}

static void residual_forward(void *self, const lpz_shape *in, int64_t n, const float *params, const float *x,
                             float *y, int train)
{
    (void)in;
    (void)train; /* no dropout or batch statistics: the same in both modes */
    const residual *r = self;
    int64_t h = r->h;
    const float *w2 = params + h * h + h, *b2 = w2 + h * h;
    for (int64_t i = 0; i < n; i++) {
        const float *xi = x + i * h;
        float *yi = y + i * h;
        residual_hidden(r, params, xi);
        affine(h, w2, b2, r->a, yi);
        for (int64_t k = 0; k < h; k++)
            yi[k] += xi[k]; /* the skip connection */
    }
}

/* backward sees x, y and dy only: it recomputes z and a from x. It writes
 * dx and ADDS to the parameter gradients (laid out like the parameters). */
static void residual_backward(void *self, const lpz_shape *in, int64_t n, const float *params, const float *x,
                              const float *y, const float *dy, float *dx, float *dparams)
{
    (void)in;
    (void)y;
    const residual *r = self;
    int64_t h = r->h;
    const float *w1 = params, *w2 = params + h * h + h;
    float *dw1 = dparams, *db1 = dw1 + h * h, *dw2 = db1 + h, *db2 = dw2 + h * h;
    for (int64_t i = 0; i < n; i++) {
        const float *xi = x + i * h, *g = dy + i * h;
        float *dxi = dx + i * h;
        residual_hidden(r, params, xi);
        memset(r->da, 0, (size_t)h * sizeof *r->da);
        for (int64_t o = 0; o < h; o++) { /* through fc2 */
            db2[o] += g[o];
            axpy(dw2 + o * h, g[o], r->a, h);
            axpy(r->da, g[o], w2 + o * h, h);
        }
        for (int64_t k = 0; k < h; k++) /* through leaky_relu */
            r->da[k] *= r->z[k] > 0.0f ? 1.0f : r->slope;
        memcpy(dxi, g, (size_t)h * sizeof *dxi); /* the skip connection */
        for (int64_t o = 0; o < h; o++) {        /* through fc1 */
            db1[o] += r->da[o];
            axpy(dw1 + o * h, r->da[o], xi, h);
            axpy(dxi, r->da[o], w1 + o * h, h);
        }
    }
}

static const lpz_layer_ops residual_ops = {
    .size = sizeof(lpz_layer_ops), /* always this */
    .type_name = "residual",
    .output_shape = residual_output_shape,
    .params = residual_params,
    .init = residual_init,
    .forward = residual_forward,
    .backward = residual_backward,
    .destroy = free, /* self is one allocation */
};

/* Appends a residual block named `name` to m: its tensors are
 * "<name>.fc1.weight", ... On an error the block is freed here: the model
 * owns it only once lpz_model_add_custom succeeded. */
static int add_residual(lpz_model *m, const char *name, int64_t h, float slope, lpz_error *err)
{
    residual *r = calloc(1, sizeof *r + (size_t)(3 * h) * sizeof(float));
    if (!r)
        return lpz_error_set(err, LPZ_ENOMEM, "out of memory for a residual block of width %lld", (long long)h);
    r->h = h;
    r->slope = slope;
    r->z = r->scratch;
    r->a = r->z + h;
    r->da = r->a + h;
    r->spec[0] = (lpz_layer_param_spec){"fc1.weight", lpz_shape_make(2, h, h, 0, 0)};
    r->spec[1] = (lpz_layer_param_spec){"fc1.bias", lpz_shape_make(1, h, 0, 0, 0)};
    r->spec[2] = (lpz_layer_param_spec){"fc2.weight", lpz_shape_make(2, h, h, 0, 0)};
    r->spec[3] = (lpz_layer_param_spec){"fc2.bias", lpz_shape_make(1, h, 0, 0, 0)};
    r->spec[4] = (lpz_layer_param_spec){NULL, lpz_shape_make(0, 0, 0, 0, 0)};
    int rc = lpz_model_add_custom(m, name, &residual_ops, r, err);
    if (rc != LPZ_OK)
        free(r);
    return rc;
}

/* ---- the network plugin -------------------------------------------------- */

typedef struct rm_state {
    lpz_shape sample; /* the dataset's sample shape */
    int64_t numel;    /* values per sample */
    int64_t latent, hidden, blocks;
    double slope;
    int zero_init_residual;
    int critic; /* 1: the discriminator ends without a sigmoid */
} rm_state;

/* Reads an int option and checks its range; a value out of range is an
 * error that names where it was given ("run.yml:25:11: network.hidden"). */
static int get_int(const lpz_options *o, const char *key, int64_t lo, int64_t hi, int64_t *out, lpz_error *err)
{
    int rc = lpz_options_get_int(o, key, out, err);
    if (rc != LPZ_OK)
        return rc;
    if (*out < lo || *out > hi) {
        lpz_error_set(err, LPZ_EINVAL, "%s is %lld; it must be %lld to %lld", key, (long long)*out, (long long)lo,
                      (long long)hi);
        lpz_error_where(err, "%s", lpz_options_where(o, key));
        return LPZ_EINVAL;
    }
    return LPZ_OK;
}

static int rm_configure(const lpz_network_context *ctx, void **state, lpz_shape *latent_shape, lpz_error *err)
{
    const lpz_options *o = ctx->options;
    rm_state st;
    memset(&st, 0, sizeof st);
    st.sample = ctx->sample_shape;
    st.numel = lpz_shape_numel(&st.sample);
    st.critic = ctx->critic;
    int rc;
    if ((rc = get_int(o, "latent", 1, RM_MAX_WIDTH, &st.latent, err)) ||
        (rc = get_int(o, "hidden", 1, RM_MAX_WIDTH, &st.hidden, err)) ||
        (rc = get_int(o, "blocks", 0, RM_MAX_BLOCKS, &st.blocks, err)) ||
        (rc = lpz_options_get_float(o, "slope", &st.slope, err)) ||
        (rc = lpz_options_get_bool(o, "zero_init_residual", &st.zero_init_residual, err)))
        return rc;
    if (!(st.slope >= 0.0 && st.slope < 1.0)) {
        lpz_error_set(err, LPZ_EINVAL, "slope is %g; it must be at least 0 and below 1", st.slope);
        lpz_error_where(err, "%s", lpz_options_where(o, "slope"));
        return LPZ_EINVAL;
    }
    /* The sample shape: any shape works (it is flattened), up to a size.
     * Refuse what you cannot model, naming what you can. */
    if (st.numel > RM_MAX_WEIGHT / st.hidden) {
        lpz_error_set(err, LPZ_EUNSUPPORTED,
                      "samples of %lld values need %lld x %lld weight matrices at hidden width %lld; this network "
                      "takes at most %lld values per sample at that width",
                      (long long)st.numel, (long long)st.hidden, (long long)st.numel, (long long)st.hidden,
                      (long long)(RM_MAX_WEIGHT / st.hidden));
        lpz_error_hint(err, "lower network.hidden, or use the convolutional network for large images");
        return LPZ_EUNSUPPORTED;
    }
    rm_state *s = malloc(sizeof *s);
    if (!s)
        return lpz_error_set(err, LPZ_ENOMEM, "out of memory");
    *s = st;
    *state = s;
    *latent_shape = lpz_shape_make(1, st.latent, 0, 0, 0); /* the generator's input, without the batch */
    return LPZ_OK;
}

static void rm_release(void *state)
{
    free(state);
}

/* The name of the layer at nn.Sequential index i. */
static const char *idx(char *buf, size_t size, int64_t i)
{
    snprintf(buf, size, "%lld", (long long)i);
    return buf;
}

/* The model arrives created for the latent shape (generator) or the sample
 * shape (discriminator). Layers without parameters take no name, but count
 * in the nn.Sequential numbering. */
static int rm_build(void *state, lpz_role role, lpz_model *m, lpz_error *err)
{
    const rm_state *st = state;
    int gen = role == LPZ_ROLE_GENERATOR;
    char name[24];
    int64_t i = 0;
    int rc;
    if (!gen && (rc = lpz_model_add_flatten(m, err))) /* (C, H, W) -> (S): outside the Sequential */
        return rc;
    if ((rc = lpz_model_add_linear(m, idx(name, sizeof name, i), st->hidden, 1, err)) ||
        (rc = lpz_model_add_leaky_relu(m, (float)st->slope, err)))
        return rc;
    i += 2;
    for (int64_t b = 0; b < st->blocks; b++, i++)
        if ((rc = add_residual(m, idx(name, sizeof name, i), st->hidden, (float)st->slope, err)))
            return rc;
    if (gen) {
        /* the core checks that a generator ends with the sample shape */
        if ((rc = lpz_model_add_linear(m, idx(name, sizeof name, i), st->numel, 1, err)) ||
            (rc = lpz_model_add_tanh(m, err)) || /* data is in [-1, 1] */
            (rc = lpz_model_add_reshape(m, &st->sample, err)))
            return rc;
        return LPZ_OK;
    }
    /* and that a discriminator ends with one value per sample, shape (1) */
    if ((rc = lpz_model_add_linear(m, idx(name, sizeof name, i), 1, 1, err)))
        return rc;
    if (!st->critic && (rc = lpz_model_add_sigmoid(m, err))) /* bceloss wants probabilities */
        return rc;
    return LPZ_OK;
}

/* Optional: runs after build and the layers' default init. Here, with
 * zero_init_residual, every residual block starts as the identity (its fc2
 * weights and bias 0), found by tensor name. */
static int rm_init(void *state, lpz_role role, lpz_model *m, lpz_rng *rng, lpz_error *err)
{
    (void)role;
    (void)rng; /* for random re-initialisation: lpz_rng_fill_normal(rng, ...) */
    const rm_state *st = state;
    if (!st->zero_init_residual)
        return LPZ_OK;
    static const char *const zeroed[] = {"fc2.weight", "fc2.bias"};
    for (int64_t b = 0; b < st->blocks; b++)
        for (int k = 0; k < 2; k++) {
            char name[48];
            snprintf(name, sizeof name, "%lld.%s", (long long)(2 + b), zeroed[k]);
            float *data;
            lpz_shape shape;
            int rc = lpz_model_param(m, name, &data, &shape, err);
            if (rc != LPZ_OK)
                return rc;
            memset(data, 0, (size_t)lpz_shape_numel(&shape) * sizeof *data);
        }
    return LPZ_OK;
}

static const lpz_option_spec rm_options[] = {
    {"latent", LPZ_OPT_INT, "64", "size of the generator's input noise vector"},
    {"hidden", LPZ_OPT_INT, "256", "width of the hidden layers and of the residual blocks"},
    {"blocks", LPZ_OPT_INT, "1", "residual blocks in the generator and in the discriminator (0 to 64)"},
    {"slope", LPZ_OPT_FLOAT, "0.2", "negative slope of every LeakyReLU, in [0, 1)"},
    {"zero_init_residual", LPZ_OPT_BOOL, "false", "start every residual block as the identity"},
    {NULL, 0, NULL, NULL}, /* ends the table */
};

static const lpz_network_ops rm_ops = {
    .size = sizeof(lpz_network_ops), /* always this */
    .configure = rm_configure,
    .release = rm_release,
    .build = rm_build,
    .init = rm_init, /* optional: NULL */
};

LPZ_PLUGIN_DEFINE(LPZ_PLUGIN_NETWORK, "residual_mlp", NULL, "1.0.0",
                  "MLP GAN with residual blocks and LeakyReLU, any sample shape (a template for new networks)",
                  rm_options, &rm_ops);
