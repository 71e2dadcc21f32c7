/* rnn (alias lstm) - the sequence GAN of the original system (network
 * traffic: sequences of flow records).
 *
 * Owns: the layer lists of the LSTM generator and discriminator. Calls:
 * the SDK only (lpz/lpz.h).
 *
 * Samples are sequences (T, F): T time steps of F features. h = hidden =
 * the latent size (default 10). Both networks are the PyTorch module
 *     class RNN(nn.Module):          # batch-first, per time step
 *         inp = nn.Linear(in, h)
 *         rnn = nn.LSTM(h, h, num_layers=layers, dropout=dropout, batch_first=True)
 *         out = nn.Linear(h, out)
 * so the saved tensors are "inp.weight", "inp.bias", "rnn.weight_ih_l0",
 * "rnn.weight_hh_l0", "rnn.bias_ih_l0", "rnn.bias_hh_l0", ..., "out.weight",
 * "out.bias".
 *
 * Generator: z of shape (h) is repeated over the T steps -> (T, h) -> inp
 *   (h -> h) -> rnn -> out (h -> F) -> Tanh -> (T, F). The Tanh is lpz's:
 *   the data is scaled to [-1, 1], so generated samples live there too.
 * Discriminator: (T, F) -> inp (F -> h) -> rnn -> out (h -> 1) -> (T, 1) ->
 *   the last step (1) -> Sigmoid. The original squashed that score with a
 *   softmax across the batch (a defect); a Wasserstein critic ends without
 *   the Sigmoid.
 * Weights keep PyTorch's default init of Linear and LSTM.
 */
#include <lpz/lpz.h>

#include <stdlib.h>

#define RNN_DEFAULT_HIDDEN 10
#define RNN_DEFAULT_LAYERS 2
#define RNN_DEFAULT_DROPOUT 0.05
#define STR_(x) #x
#define STR(x) STR_(x)
#define RNN_MAX_HIDDEN 8192
#define RNN_MAX_LAYERS 16
#define RNN_MAX_STEPS 1000000
#define RNN_MAX_FEATURES 1000000

typedef struct rnn_state {
    int64_t steps;    /* T */
    int64_t features; /* F */
    int64_t hidden;   /* h, also the latent size */
    int64_t layers;
    double dropout;
    int critic;
} rnn_state;

static int out_of_range(const lpz_options *opts, const char *key, lpz_error *err, const char *what)
{
    lpz_error_set(err, LPZ_EINVAL, "network option %s is out of range", key);
    lpz_error_where(err, "%s", lpz_options_where(opts, key));
    lpz_error_hint(err, "use %s", what);
    return LPZ_EINVAL;
}

static int read_options(const lpz_options *opts, rnn_state *st, lpz_error *err)
{
    st->hidden = RNN_DEFAULT_HIDDEN;
    st->layers = RNN_DEFAULT_LAYERS;
    st->dropout = RNN_DEFAULT_DROPOUT;
    if (!opts)
        return LPZ_OK;
    int rc = lpz_options_get_int(opts, "hidden", &st->hidden, err);
    if (rc != LPZ_OK && rc != LPZ_ENOTFOUND)
        return rc;
    if (st->hidden < 1 || st->hidden > RNN_MAX_HIDDEN)
        return out_of_range(opts, "hidden", err, "an integer from 1 to " STR(RNN_MAX_HIDDEN));
    rc = lpz_options_get_int(opts, "layers", &st->layers, err);
    if (rc != LPZ_OK && rc != LPZ_ENOTFOUND)
        return rc;
    if (st->layers < 1 || st->layers > RNN_MAX_LAYERS)
        return out_of_range(opts, "layers", err, "an integer from 1 to " STR(RNN_MAX_LAYERS));
    rc = lpz_options_get_float(opts, "dropout", &st->dropout, err);
    if (rc != LPZ_OK && rc != LPZ_ENOTFOUND)
        return rc;
    if (!(st->dropout >= 0.0 && st->dropout < 1.0)) /* also refuses NaN */
        return out_of_range(opts, "dropout", err, "a probability in [0, 1)");
    return LPZ_OK;
}

static int rnn_configure(const lpz_network_context *ctx, void **state, lpz_shape *latent_shape,
                         lpz_error *err)
{
    const lpz_shape *s = &ctx->sample_shape;
    if (s->ndim != 2 || s->dim[0] < 1 || s->dim[0] > RNN_MAX_STEPS || s->dim[1] < 1 ||
        s->dim[1] > RNN_MAX_FEATURES) {
        lpz_error_set(err, LPZ_EUNSUPPORTED,
                      "rnn: samples must be sequences of shape (T, F) (time steps x features, e.g. (30, 4)); "
                      "got %d dimension(s)%s",
                      s->ndim, s->ndim == 2 ? " with a size out of range" : "");
        lpz_error_hint(err, "use a sequence dataset (e.g. netflow), or four_layer_perceptron / convolutional "
                            "for images");
        return LPZ_EUNSUPPORTED;
    }
    rnn_state tmp = {0};
    int rc = read_options(ctx->options, &tmp, err);
    if (rc != LPZ_OK)
        return rc;
    rnn_state *st = malloc(sizeof *st);
    if (!st)
        return lpz_error_set(err, LPZ_ENOMEM, "rnn: out of memory");
    *st = tmp;
    st->steps = s->dim[0];
    st->features = s->dim[1];
    st->critic = ctx->critic;
    *latent_shape = lpz_shape_make(1, st->hidden, 0, 0, 0);
    *state = st;
    return LPZ_OK;
}

static void rnn_release(void *state)
{
    free(state);
}

static int rnn_build(void *state, lpz_role role, lpz_model *m, lpz_error *err)
{
    const rnn_state *st = state;
    int rc;
    if (role == LPZ_ROLE_GENERATOR) {
        if ((rc = lpz_model_add_repeat_steps(m, st->steps, err)) ||
            (rc = lpz_model_add_linear(m, "inp", st->hidden, 1, err)) ||
            (rc = lpz_model_add_lstm(m, "rnn", st->hidden, (int)st->layers, (float)st->dropout, err)) ||
            (rc = lpz_model_add_linear(m, "out", st->features, 1, err)) || (rc = lpz_model_add_tanh(m, err)))
            return rc;
        return LPZ_OK;
    }
    if ((rc = lpz_model_add_linear(m, "inp", st->hidden, 1, err)) ||
        (rc = lpz_model_add_lstm(m, "rnn", st->hidden, (int)st->layers, (float)st->dropout, err)) ||
        (rc = lpz_model_add_linear(m, "out", 1, 1, err)) || (rc = lpz_model_add_last_step(m, err)))
        return rc;
    if (!st->critic && (rc = lpz_model_add_sigmoid(m, err)))
        return rc;
    return LPZ_OK;
}

static const lpz_network_ops ops = {sizeof ops, rnn_configure, rnn_release, rnn_build, NULL};

static const char *const aliases[] = {"lstm", NULL};

static const lpz_option_spec options[] = {
    {"hidden", LPZ_OPT_INT, STR(RNN_DEFAULT_HIDDEN), "LSTM width h, also the latent (noise) size"},
    {"layers", LPZ_OPT_INT, STR(RNN_DEFAULT_LAYERS), "stacked LSTM layers"},
    {"dropout", LPZ_OPT_FLOAT, STR(RNN_DEFAULT_DROPOUT), "dropout between LSTM layers (training only)"},
    {NULL, 0, NULL, NULL}};

LPZ_PLUGIN_DEFINE(LPZ_PLUGIN_NETWORK, "rnn", aliases, "1.0.0",
                  "LSTM sequence GAN of the original for (T, F) sequences, latent = hidden = 10", options,
                  &ops);
