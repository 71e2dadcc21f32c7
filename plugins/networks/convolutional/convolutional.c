/* convolutional (alias dcgan) - the DCGAN of the original system.
 *
 * Owns: the layer lists of the DCGAN generator and discriminator and their
 * weights_init. Calls: the SDK only (lpz/lpz.h).
 *
 * For C x 64 x 64 images (C = 1 or 3) and width w (default 64), as PyTorch
 * nn.Sequential modules (the number before each layer is its Sequential
 * index, which names its tensors: "0.weight", "1.running_mean", ...):
 *
 * Generator, input z of shape (latent, 1, 1):
 *   0 ConvT(latent, 8w, k4 s1 p0)  1 BN  2 ReLU          ->  8w x 4 x 4
 *   3 ConvT(8w, 4w, k4 s2 p1)      4 BN  5 ReLU          ->  4w x 8 x 8
 *   6 ConvT(4w, 2w, k4 s2 p1)      7 BN  8 ReLU          ->  2w x 16 x 16
 *   9 ConvT(2w, w, k4 s2 p1)      10 BN 11 ReLU          ->   w x 32 x 32
 *  12 ConvT(w, C, k4 s2 p1)       13 Tanh                ->   C x 64 x 64
 * Discriminator, input C x 64 x 64:
 *   0 Conv(C, w, k4 s2 p1)         1 LeakyReLU(0.2)      ->   w x 32 x 32
 *   2 Conv(w, 2w, k4 s2 p1)        3 BN  4 LeakyReLU     ->  2w x 16 x 16
 *   5 Conv(2w, 4w, k4 s2 p1)       6 BN  7 LeakyReLU     ->  4w x 8 x 8
 *   8 Conv(4w, 8w, k4 s2 p1)       9 BN 10 LeakyReLU     ->  8w x 4 x 4
 *  11 Conv(8w, 1, k4 s1 p0)       12 Sigmoid             ->   1 x 1 x 1
 * then a flatten (no parameters) to the core's (1) per sample; the Sigmoid
 * is left out for a Wasserstein critic.
 *
 * C x 32 x 32 images use the same layout with one block fewer on each side
 * (the generator starts at 4w channels, the discriminator stops at 4w).
 *
 * Every convolution and transposed convolution has a bias (PyTorch's
 * default bias=True, as ConvolutionalNetworkFactory in the original's
 * src/networks/network_factory.py builds them, so the state_dicts match:
 * "0.weight", "0.bias", "1.weight", ...). Init follows that factory's
 * _init_weights: every conv / transposed-conv weight ~ Normal(0, 0.02),
 * every conv bias = 0; the batch norms keep PyTorch's default init
 * (weight 1, bias 0), which the original does not touch. PyTorch's own
 * DCGAN example differs: its convolutions have bias=False and its
 * weights_init draws batch-norm weights from Normal(1, 0.02).
 */
#include <lpz/lpz.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DCGAN_DEFAULT_WIDTH 64
#define DCGAN_DEFAULT_LATENT 100
#define STR_(x) #x
#define STR(x) STR_(x)
#define DCGAN_MAX_WIDTH 512 /* 8w = 4096 channels: a 512 MB weight already */
#define DCGAN_MAX_LATENT 65536

typedef struct dcgan_state {
    int64_t channels; /* C of the images */
    int64_t width;    /* w */
    int64_t latent;
    int blocks; /* conv+BN blocks between first and last layer: 4 for 64x64, 3 for 32x32 */
    int critic;
} dcgan_state;

static int read_int(const lpz_options *opts, const char *key, int64_t dflt, int64_t max, int64_t *out,
                    lpz_error *err)
{
    *out = dflt;
    if (!opts)
        return LPZ_OK;
    int rc = lpz_options_get_int(opts, key, out, err);
    if (rc == LPZ_ENOTFOUND) {
        *out = dflt;
        return LPZ_OK;
    }
    if (rc != LPZ_OK)
        return rc;
    if (*out < 1 || *out > max) {
        lpz_error_set(err, LPZ_EINVAL, "network option %s = %lld is out of range", key, (long long)*out);
        lpz_error_where(err, "%s", lpz_options_where(opts, key));
        lpz_error_hint(err, "use an integer from 1 to %lld", (long long)max);
        return LPZ_EINVAL;
    }
    return LPZ_OK;
}

static int dcgan_configure(const lpz_network_context *ctx, void **state, lpz_shape *latent_shape,
                           lpz_error *err)
{
    const lpz_shape *s = &ctx->sample_shape;
    int ok = s->ndim == 3 && (s->dim[0] == 1 || s->dim[0] == 3) && s->dim[1] == s->dim[2] &&
             (s->dim[1] == 64 || s->dim[1] == 32);
    if (!ok) {
        char got[96] = "";
        size_t len = 0;
        for (int i = 0; i < s->ndim && i < LPZ_MAX_DIMS && len < sizeof got; i++)
            len +=
                (size_t)snprintf(got + len, sizeof got - len, "%s%lld", i ? "x" : "", (long long)s->dim[i]);
        lpz_error_set(err, LPZ_EUNSUPPORTED,
                      "convolutional: samples of shape %s%s are not supported; supported: images (channels x "
                      "height x width) 3x64x64, 1x64x64, 3x32x32 and 1x32x32",
                      s->ndim > 0 ? got : "()", s->ndim == 3 ? " (channels x height x width)" : "");
        if (s->ndim == 2) /* the dataloaders' sequences are (T, features) */
            lpz_error_hint(err, "for sequences use the rnn network (lstm); or four_layer_perceptron (mlp), which "
                                "takes any shape");
        else if (s->ndim == 1) /* vectors: nothing to resize */
            lpz_error_hint(err, "for vectors use four_layer_perceptron (mlp), which takes any shape; a table's rows "
                                "that are images: dataloader.sample_shape (npy)");
        else
            lpz_error_hint(err, "resize the images to 64x64 or 32x32 in the dataloader (celeba: "
                                "dataloader.image_size=64), or use four_layer_perceptron (mlp), which takes any "
                                "shape");
        return LPZ_EUNSUPPORTED;
    }
    int64_t width, latent;
    int rc = read_int(ctx->options, "width", DCGAN_DEFAULT_WIDTH, DCGAN_MAX_WIDTH, &width, err);
    if (rc == LPZ_OK)
        rc = read_int(ctx->options, "latent", DCGAN_DEFAULT_LATENT, DCGAN_MAX_LATENT, &latent, err);
    if (rc != LPZ_OK)
        return rc;
    dcgan_state *st = calloc(1, sizeof *st);
    if (!st)
        return lpz_error_set(err, LPZ_ENOMEM, "convolutional: out of memory");
    st->channels = s->dim[0];
    st->width = width;
    st->latent = latent;
    st->blocks = s->dim[1] == 64 ? 4 : 3;
    st->critic = ctx->critic;
    /* PyTorch's DCGAN takes noise of shape (N, latent, 1, 1). */
    *latent_shape = lpz_shape_make(3, latent, 1, 1, 0);
    *state = st;
    return LPZ_OK;
}

static void dcgan_release(void *state)
{
    free(state);
}

static int build_generator(const dcgan_state *st, lpz_model *m, lpz_error *err)
{
    char name[16];
    int idx = 0, rc;
    int64_t ch = st->width << (st->blocks - 1); /* 8w for 64x64 */
    for (int b = 0; b < st->blocks; b++, ch /= 2) {
        int first = b == 0;
        snprintf(name, sizeof name, "%d", idx);
        if ((rc = lpz_model_add_conv_transpose2d(m, name, ch, 4, first ? 1 : 2, first ? 0 : 1, 1, err)))
            return rc;
        snprintf(name, sizeof name, "%d", idx + 1);
        if ((rc = lpz_model_add_batchnorm(m, name, err)) || (rc = lpz_model_add_relu(m, err)))
            return rc;
        idx += 3;
    }
    snprintf(name, sizeof name, "%d", idx);
    if ((rc = lpz_model_add_conv_transpose2d(m, name, st->channels, 4, 2, 1, 1, err)) ||
        (rc = lpz_model_add_tanh(m, err)))
        return rc;
    return LPZ_OK;
}

static int build_discriminator(const dcgan_state *st, lpz_model *m, lpz_error *err)
{
    char name[16];
    int rc;
    if ((rc = lpz_model_add_conv2d(m, "0", st->width, 4, 2, 1, 1, err)) ||
        (rc = lpz_model_add_leaky_relu(m, 0.2f, err)))
        return rc;
    int idx = 2;
    int64_t ch = st->width * 2;
    for (int b = 1; b < st->blocks; b++, ch *= 2) {
        snprintf(name, sizeof name, "%d", idx);
        if ((rc = lpz_model_add_conv2d(m, name, ch, 4, 2, 1, 1, err)))
            return rc;
        snprintf(name, sizeof name, "%d", idx + 1);
        if ((rc = lpz_model_add_batchnorm(m, name, err)) || (rc = lpz_model_add_leaky_relu(m, 0.2f, err)))
            return rc;
        idx += 3;
    }
    snprintf(name, sizeof name, "%d", idx);
    if ((rc = lpz_model_add_conv2d(m, name, 1, 4, 1, 0, 1, err)))
        return rc;
    if (!st->critic && (rc = lpz_model_add_sigmoid(m, err)))
        return rc;
    return lpz_model_add_flatten(m, err);
}

static int dcgan_build(void *state, lpz_role role, lpz_model *m, lpz_error *err)
{
    const dcgan_state *st = state;
    return role == LPZ_ROLE_GENERATOR ? build_generator(st, m, err) : build_discriminator(st, m, err);
}

/* The original's _init_weights, applied by tensor name: a 4-D "*.weight"
 * is a (transposed) convolution's, ~ Normal(0, 0.02); every "*.bias" (the
 * convolutions' and the batch norms') is 0; a 1-D "*.weight" is a batch
 * norm's, set to 1 (PyTorch's default, which the original keeps). */
static int dcgan_init(void *state, lpz_role role, lpz_model *m, lpz_rng *rng, lpz_error *err)
{
    (void)state;
    (void)role;
    (void)err;
    int n = lpz_model_tensor_count(m);
    for (int i = 0; i < n; i++) {
        const char *name;
        lpz_shape shape;
        float *data;
        int trainable;
        int rc = lpz_model_tensor_info(m, i, &name, &shape, &data, &trainable);
        if (rc != LPZ_OK)
            return lpz_error_set(err, rc, "convolutional: cannot inspect tensor %d of the model", i);
        if (!trainable)
            continue;
        size_t len = strlen(name), count = (size_t)lpz_shape_numel(&shape);
        int is_weight = len > 7 && strcmp(name + len - 7, ".weight") == 0;
        int is_bias = len > 5 && strcmp(name + len - 5, ".bias") == 0;
        if (is_weight && shape.ndim == 4)
            lpz_rng_fill_normal(rng, data, count, 0.0f, 0.02f);
        else if (is_weight && shape.ndim == 1) {
            for (size_t k = 0; k < count; k++)
                data[k] = 1.0f;
        } else if (is_bias)
            memset(data, 0, count * sizeof *data);
    }
    return LPZ_OK;
}

static const lpz_network_ops ops = {sizeof ops, dcgan_configure, dcgan_release, dcgan_build, dcgan_init};

static const char *const aliases[] = {"dcgan", NULL};

static const lpz_option_spec options[] = {
    {"width", LPZ_OPT_INT, STR(DCGAN_DEFAULT_WIDTH),
     "feature maps of the first/last conv layer (w; others 2w, 4w, 8w)"},
    {"latent", LPZ_OPT_INT, STR(DCGAN_DEFAULT_LATENT),
     "channels of the generator's (latent, 1, 1) input noise"},
    {NULL, 0, NULL, NULL}};

LPZ_PLUGIN_DEFINE(LPZ_PLUGIN_NETWORK, "convolutional", aliases, "1.0.0",
                  "DCGAN of the original for 3x64x64 / 1x64x64 (and 32x32) images, latent 100x1x1", options,
                  &ops);
