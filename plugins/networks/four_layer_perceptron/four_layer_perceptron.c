/* four_layer_perceptron (alias mlp) - the MLP GAN of the original system.
 *
 * Owns: the layer list of the MLP generator and discriminator. Calls: the
 * SDK only (lpz/lpz.h); parameters, training and saving are the core's.
 *
 * Generator, a PyTorch nn.Sequential on a latent vector z of shape (latent):
 *   0 Linear(latent, hidden)  1 LeakyReLU(0.2)
 *   2 Linear(hidden, hidden)  3 LeakyReLU(0.2)
 *   4 Linear(hidden, S)       5 Tanh
 * where S is the number of values of one sample (784 for MNIST 1x28x28);
 * the output is then reshaped (no parameters) to the sample shape.
 * Discriminator: flatten the sample to (S), then
 *   0 Linear(S, hidden)       1 LeakyReLU(0.2)
 *   2 Linear(hidden, hidden)  3 LeakyReLU(0.2)
 *   4 Linear(hidden, 1)       5 Sigmoid (left out for a Wasserstein critic)
 * The activations take Sequential indices too, so the saved tensors are
 * "0.weight" [hidden, latent], "0.bias", "2.weight", ..., "4.bias": the
 * state_dict of that nn.Sequential. Weights keep PyTorch's default Linear
 * init (the original does not re-initialise them).
 */
#include <lpz/lpz.h>

#include <stdio.h>
#include <stdlib.h>

#define MLP_DEFAULT_HIDDEN 256
#define MLP_DEFAULT_LATENT 64
#define STR_(x) #x
#define STR(x) STR_(x)

/* Upper bounds that keep a typo (hidden: 2560000) from asking for
 * gigabytes; far above any useful MLP. */
#define MLP_MAX_WIDTH 65536
#define MLP_MAX_WEIGHT ((int64_t)1 << 30) /* elements of one weight matrix */

typedef struct mlp_state {
    lpz_shape sample;
    int64_t sample_numel;
    int64_t hidden;
    int64_t latent;
    int critic;
} mlp_state;

static int read_width(const lpz_options *opts, const char *key, int64_t dflt, int64_t *out, lpz_error *err)
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
    if (*out < 1 || *out > MLP_MAX_WIDTH) {
        lpz_error_set(err, LPZ_EINVAL, "network option %s = %lld is out of range", key, (long long)*out);
        lpz_error_where(err, "%s", lpz_options_where(opts, key));
        lpz_error_hint(err, "use an integer from 1 to %d", MLP_MAX_WIDTH);
        return LPZ_EINVAL;
    }
    return LPZ_OK;
}

static int mlp_configure(const lpz_network_context *ctx, void **state, lpz_shape *latent_shape,
                         lpz_error *err)
{
    const lpz_shape *s = &ctx->sample_shape;
    if (s->ndim < 1 || s->ndim > LPZ_MAX_DIMS)
        return lpz_error_set(err, LPZ_EINVAL,
                             "four_layer_perceptron: a sample shape needs 1 to %d dimensions, got %d",
                             LPZ_MAX_DIMS, s->ndim);
    for (int i = 0; i < s->ndim; i++)
        if (s->dim[i] < 1)
            return lpz_error_set(
                err, LPZ_EINVAL,
                "four_layer_perceptron: sample dimension %d is %lld; every dimension must be >= 1", i,
                (long long)s->dim[i]);
    int64_t hidden, latent;
    int rc = read_width(ctx->options, "hidden", MLP_DEFAULT_HIDDEN, &hidden, err);
    if (rc == LPZ_OK)
        rc = read_width(ctx->options, "latent", MLP_DEFAULT_LATENT, &latent, err);
    if (rc != LPZ_OK)
        return rc;
    int64_t numel = lpz_shape_numel(s);
    if (numel > MLP_MAX_WEIGHT / hidden) {
        lpz_error_set(
            err, LPZ_EUNSUPPORTED,
            "four_layer_perceptron: samples of %lld values with hidden width %lld need a %lld x %lld "
            "weight matrix, more than this network supports (%lld elements)",
            (long long)numel, (long long)hidden, (long long)hidden, (long long)numel,
            (long long)MLP_MAX_WEIGHT);
        lpz_error_hint(err, "use the convolutional network for large images, or a smaller hidden width");
        return LPZ_EUNSUPPORTED;
    }
    mlp_state *st = calloc(1, sizeof *st);
    if (!st)
        return lpz_error_set(err, LPZ_ENOMEM, "four_layer_perceptron: out of memory");
    st->sample = *s;
    st->sample_numel = numel;
    st->hidden = hidden;
    st->latent = latent;
    st->critic = ctx->critic;
    *latent_shape = lpz_shape_make(1, latent, 0, 0, 0);
    *state = st;
    return LPZ_OK;
}

static void mlp_release(void *state)
{
    free(state);
}

static int mlp_build(void *state, lpz_role role, lpz_model *m, lpz_error *err)
{
    const mlp_state *st = state;
    int rc;
    if (role == LPZ_ROLE_GENERATOR) {
        if ((rc = lpz_model_add_linear(m, "0", st->hidden, 1, err)) ||
            (rc = lpz_model_add_leaky_relu(m, 0.2f, err)) ||
            (rc = lpz_model_add_linear(m, "2", st->hidden, 1, err)) ||
            (rc = lpz_model_add_leaky_relu(m, 0.2f, err)) ||
            (rc = lpz_model_add_linear(m, "4", st->sample_numel, 1, err)) ||
            (rc = lpz_model_add_tanh(m, err)) || (rc = lpz_model_add_reshape(m, &st->sample, err)))
            return rc;
        return LPZ_OK;
    }
    if ((rc = lpz_model_add_flatten(m, err)) || (rc = lpz_model_add_linear(m, "0", st->hidden, 1, err)) ||
        (rc = lpz_model_add_leaky_relu(m, 0.2f, err)) ||
        (rc = lpz_model_add_linear(m, "2", st->hidden, 1, err)) ||
        (rc = lpz_model_add_leaky_relu(m, 0.2f, err)) || (rc = lpz_model_add_linear(m, "4", 1, 1, err)))
        return rc;
    if (!st->critic && (rc = lpz_model_add_sigmoid(m, err)))
        return rc;
    return LPZ_OK;
}

static const lpz_network_ops ops = {sizeof ops, mlp_configure, mlp_release, mlp_build, NULL};

static const char *const aliases[] = {"mlp", NULL};

static const lpz_option_spec options[] = {
    {"hidden", LPZ_OPT_INT, STR(MLP_DEFAULT_HIDDEN), "width of the two hidden layers"},
    {"latent", LPZ_OPT_INT, STR(MLP_DEFAULT_LATENT), "size of the generator's input noise vector"},
    {NULL, 0, NULL, NULL}};

LPZ_PLUGIN_DEFINE(LPZ_PLUGIN_NETWORK, "four_layer_perceptron", aliases, "1.0.0",
                  "MLP GAN of the original (3 linear layers, hidden 256, latent 64; any sample shape)",
                  options, &ops);
