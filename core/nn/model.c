/* core/nn/model.c - building, inspecting and running models (lpz/nn.h).
 *
 * Layer kernels live in layers.c, conv.c and lstm.c; this file owns the
 * model's buffers, shape checks, the tensor table (state_dict names) and
 * the forward/backward sweep over the layers.
 */
#include "base/shape.h"
#include "nn/elementwise.h"
#include "nn/internal.h"
#include "nn/model_frozen.h"

#include <lpz/error.h>

#include <cblas.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Bounds that keep a typo from asking for terabytes; far above any network
 * this engine is meant for. */
#define NN_MAX_NUMEL ((int64_t)1 << 31)
#define NN_MAX_PARAMS ((int64_t)1 << 31)

lpz_rng *lpz_model_rng(lpz_model *m)
{
    return &m->rng;
}

int lpz_model_draws_random(const lpz_model *m)
{
    for (int i = 0; i < m->n_layers; i++) {
        const nn_layer *l = &m->layers[i];
        if ((l->kind == NN_DROPOUT && l->p != 0.0f) || (l->kind == NN_LSTM && l->num_layers > 1 && l->p != 0.0f))
            return 1;
    }
    return 0;
}

static void shape_str(const lpz_shape *s, char *buf, size_t size)
{
    size_t o = 0;
    o += (size_t)snprintf(buf + o, size - o, "(");
    for (int i = 0; i < s->ndim && o < size; i++)
        o += (size_t)snprintf(buf + o, size - o, "%s%lld", i ? ", " : "", (long long)s->dim[i]);
    if (o < size)
        snprintf(buf + o, size - o, ")");
}

static int shape_equal(const lpz_shape *a, const lpz_shape *b)
{
    if (a->ndim != b->ndim)
        return 0;
    for (int i = 0; i < a->ndim; i++)
        if (a->dim[i] != b->dim[i])
            return 0;
    return 1;
}

static int check_shape(const lpz_shape *s, const char *what, lpz_error *err)
{
    if (s->ndim < 1 || s->ndim > LPZ_MAX_DIMS)
        return lpz_error_set(err, LPZ_EINVAL, "%s has %d dimensions; 1 to %d are supported", what, s->ndim,
                             LPZ_MAX_DIMS);
    int64_t n = 1;
    for (int i = 0; i < s->ndim; i++) {
        if (s->dim[i] < 1)
            return lpz_error_set(err, LPZ_EINVAL, "%s has dimension %d of size %lld; sizes must be >= 1", what, i,
                                 (long long)s->dim[i]);
        if (s->dim[i] > NN_MAX_NUMEL || n > NN_MAX_NUMEL / s->dim[i])
            return lpz_error_set(err, LPZ_EINVAL, "%s is too large (more than %lld elements)", what,
                                 (long long)NN_MAX_NUMEL);
        n *= s->dim[i];
    }
    return LPZ_OK;
}

int lpz_model_create(const lpz_shape *input_shape, uint64_t seed, lpz_model **out, lpz_error *err)
{
    if (!out)
        return lpz_error_set(err, LPZ_EINVAL, "lpz_model_create: out is NULL");
    *out = NULL;
    if (!input_shape)
        return lpz_error_set(err, LPZ_EINVAL, "lpz_model_create: input shape is NULL");
    int rc = check_shape(input_shape, "model input shape", err);
    if (rc)
        return rc;
    lpz_model *m = calloc(1, sizeof(*m));
    if (!m)
        return lpz_error_set(err, LPZ_ENOMEM, "out of memory creating a model");
    m->in_shape = *input_shape;
    for (int i = m->in_shape.ndim; i < LPZ_MAX_DIMS; i++)
        m->in_shape.dim[i] = 0;
    m->cur_shape = m->in_shape;
    m->training = 1;
    m->seed = seed;
    lpz_rng_seed(&m->rng, seed, 0);
    *out = m;
    return LPZ_OK;
}

/* One arena several models of one thread lay their batch memory out in
 * (lpz_model_share_scratch); freed with the last of them. */
typedef struct nn_scratch {
    int refs;            /* models using it; one thread, no atomics */
    const lpz_model *last; /* the model whose forward pass the arena holds */
} nn_scratch;

/* One gradient buffer several models of one thread use in turn
 * (lpz_model_share_grads); freed with the last of them. */
typedef struct nn_grads {
    int refs; /* one thread, no atomics */
    float *mem;
} nn_grads;

static void release_grads(lpz_model *m)
{
    if (m->grads_shared) {
        if (--m->grads_shared->refs == 0) {
            free(m->grads_shared->mem);
            free(m->grads_shared);
        }
        m->grads_shared = NULL;
    } else {
        free(m->grads);
    }
    m->grads = NULL;
}

static void release_arena(lpz_model *m)
{
    if (m->scratch) {
        if (m->scratch->last == m)
            m->scratch->last = NULL;
        if (--m->scratch->refs == 0) {
            free(m->scratch);
            free(m->arena);
        }
        m->scratch = NULL;
    } else {
        free(m->arena);
    }
    m->arena = NULL;
    m->x_copy = m->g0 = m->g1 = m->work = NULL;
    for (int i = 0; i < m->n_layers; i++)
        m->layers[i].y = m->layers[i].aux = NULL;
    m->reserved = 0;
    m->last_n = 0;
}

void lpz_model_destroy(lpz_model *m)
{
    if (!m)
        return;
    for (int i = 0; i < m->n_layers; i++)
        if (m->layers[i].kind == NN_CUSTOM && m->layers[i].ops->destroy)
            m->layers[i].ops->destroy(m->layers[i].self);
    release_arena(m);
    free(m->layers);
    free(m->tensors);
    if (!m->params_borrowed)
        free(m->params);
    release_grads(m);
    free(m->bufs);
    free(m);
}

/* ---- building ------------------------------------------------------------ */

static int check_name(const lpz_model *m, const char *name, lpz_error *err)
{
    if (!name || !name[0])
        return lpz_error_set(err, LPZ_EINVAL, "a layer with parameters needs a name (e.g. \"0\")");
    if (strlen(name) >= NN_NAME_MAX)
        return lpz_error_set(err, LPZ_EINVAL, "layer name \"%.20s...\" is longer than %d characters", name,
                             NN_NAME_MAX - 1);
    for (int i = 0; i < m->n_layers; i++)
        if (strcmp(m->layers[i].name, name) == 0)
            return lpz_error_set(err, LPZ_EINVAL, "layer name \"%s\" is used twice in one model", name);
    return LPZ_OK;
}

/* Appends a layer with the current shape as input; returns it (not yet
 * counted in n_layers: commit_layer does that once everything succeeded). */
static nn_layer *new_layer(lpz_model *m, nn_kind kind, const char *name, lpz_error *err)
{
    if (!m) {
        lpz_error_set(err, LPZ_EINVAL, "model is NULL");
        return NULL;
    }
    if (m->n_layers == m->cap_layers) {
        int cap = m->cap_layers ? m->cap_layers * 2 : 8;
        nn_layer *nl = realloc(m->layers, (size_t)cap * sizeof(*nl));
        if (!nl) {
            lpz_error_set(err, LPZ_ENOMEM, "out of memory adding a layer");
            return NULL;
        }
        m->layers = nl;
        m->cap_layers = cap;
    }
    nn_layer *l = &m->layers[m->n_layers];
    memset(l, 0, sizeof(*l));
    l->kind = kind;
    if (name)
        snprintf(l->name, sizeof(l->name), "%s", name);
    l->in = m->cur_shape;
    l->in_numel = lpz_shape_numel(&l->in);
    l->poff = m->n_params;
    l->boff = m->n_bufs;
    return l;
}

static int add_tensor(lpz_model *m, const char *layer, const char *pname, lpz_shape shape, int trainable,
                      int64_t off, lpz_error *err)
{
    /* A custom layer names its own parameters, and layer names may hold
     * dots ("main.0"): refuse here what would otherwise surface only when
     * the trained model is saved (a tensor name used twice) or never (an
     * empty or cut-off name). */
    if (!pname[0])
        return lpz_error_set(err, LPZ_EINVAL, "a parameter of layer \"%s\" has an empty name", layer);
    size_t ll = strlen(layer);
    if (ll + 1 + strlen(pname) >= NN_TENSOR_NAME_MAX)
        return lpz_error_set(err, LPZ_EINVAL, "tensor name \"%s.%.20s...\" is longer than %d characters", layer,
                             pname, NN_TENSOR_NAME_MAX - 1);
    for (int i = 0; i < m->n_tensors; i++) {
        const char *t = m->tensors[i].name;
        if (strncmp(t, layer, ll) == 0 && t[ll] == '.' && strcmp(t + ll + 1, pname) == 0)
            return lpz_error_set(err, LPZ_EINVAL, "tensor name \"%s\" is used twice in one model", t);
    }
    if (m->n_tensors == m->cap_tensors) {
        int cap = m->cap_tensors ? m->cap_tensors * 2 : 16;
        nn_tensor *nt = realloc(m->tensors, (size_t)cap * sizeof(*nt));
        if (!nt)
            return lpz_error_set(err, LPZ_ENOMEM, "out of memory adding a tensor");
        m->tensors = nt;
        m->cap_tensors = cap;
    }
    nn_tensor *t = &m->tensors[m->n_tensors++];
    snprintf(t->name, sizeof(t->name), "%s.%s", layer, pname);
    for (int i = shape.ndim; i < LPZ_MAX_DIMS; i++)
        shape.dim[i] = 0;
    t->shape = shape;
    t->trainable = trainable;
    t->off = off;
    return LPZ_OK;
}

/* Within the limit of lpz_model_limit_values after `count` more values. */
static int within_limit(const lpz_model *m, int64_t count, lpz_error *err)
{
    if (m->max_values > 0 && count > m->max_values - m->n_params - m->n_bufs)
        return lpz_error_set(err, LPZ_EFORMAT, "model would have more than %lld parameters and buffers, "
                             "the limit set for it", (long long)m->max_values);
    return LPZ_OK;
}

void lpz_model_limit_values(lpz_model *m, int64_t max_values)
{
    m->max_values = max_values > 0 ? max_values : 0;
}

/* Grows params/grads by `count` floats (zeroed) for the pending layer. */
static int grow_params(lpz_model *m, int64_t count, lpz_error *err)
{
    if (count <= 0)
        return LPZ_OK;
    if (m->n_params + count > NN_MAX_PARAMS)
        return lpz_error_set(err, LPZ_EINVAL, "model would have more than %lld parameters",
                             (long long)NN_MAX_PARAMS);
    int rc = within_limit(m, count, err);
    if (rc)
        return rc;
    size_t sz = (size_t)(m->n_params + count) * sizeof(float);
    float *p = realloc(m->params, sz);
    if (!p)
        return lpz_error_set(err, LPZ_ENOMEM, "out of memory for %lld parameters", (long long)count);
    m->params = p;
    float *g = realloc(m->grads, sz);
    if (!g)
        return lpz_error_set(err, LPZ_ENOMEM, "out of memory for %lld parameters", (long long)count);
    m->grads = g;
    memset(m->params + m->n_params, 0, (size_t)count * sizeof(float));
    memset(m->grads + m->n_params, 0, (size_t)count * sizeof(float));
    return LPZ_OK;
}

static int grow_bufs(lpz_model *m, int64_t count, lpz_error *err)
{
    int rc = within_limit(m, count, err);
    if (rc)
        return rc;
    float *b = realloc(m->bufs, (size_t)(m->n_bufs + count) * sizeof(float));
    if (!b)
        return lpz_error_set(err, LPZ_ENOMEM, "out of memory for buffers");
    m->bufs = b;
    memset(m->bufs + m->n_bufs, 0, (size_t)count * sizeof(float));
    return LPZ_OK;
}

/* Makes the pending layer part of the model: its output becomes the
 * current shape. Any earlier arena is dropped (the next forward reserves). */
static int commit_layer(lpz_model *m, nn_layer *l, lpz_error *err)
{
    for (int i = l->out.ndim; i < LPZ_MAX_DIMS; i++)
        l->out.dim[i] = 0;
    int rc = check_shape(&l->out, "layer output shape", err);
    if (rc)
        return rc;
    l->out_numel = lpz_shape_numel(&l->out);
    m->n_params += l->pcount;
    m->n_bufs += l->bcount;
    m->cur_shape = l->out;
    m->n_layers++;
    int64_t reserved = m->reserved;
    release_arena(m);
    if (reserved)
        return lpz_model_reserve(m, reserved, err);
    return LPZ_OK;
}

/* Undoes the tensors a failed add registered. */
static void rollback(lpz_model *m, int n_tensors)
{
    m->n_tensors = n_tensors;
}

static void uniform(lpz_model *m, int64_t off, int64_t count, double bound)
{
    lpz_rng_fill_uniform(&m->rng, m->params + off, (size_t)count, (float)-bound, (float)bound);
}

static int err_layer(lpz_error *err, const char *what, const char *name)
{
    if (name && name[0])
        lpz_error_context(err, "%s layer \"%s\"", what, name);
    else
        lpz_error_context(err, "%s layer", what);
    return err ? err->code : LPZ_EINVAL;
}

int lpz_model_add_linear(lpz_model *m, const char *name, int64_t out_features, int bias, lpz_error *err)
{
    if (!m)
        return lpz_error_set(err, LPZ_EINVAL, "model is NULL");
    int rc = check_name(m, name, err);
    if (rc)
        return err_layer(err, "linear", name);
    int64_t in = m->cur_shape.dim[m->cur_shape.ndim - 1];
    if (out_features < 1 || out_features > NN_MAX_NUMEL) {
        lpz_error_set(err, LPZ_EINVAL, "out_features is %lld; it must be 1 to %lld", (long long)out_features,
                      (long long)NN_MAX_NUMEL);
        return err_layer(err, "linear", name);
    }
    nn_layer *l = new_layer(m, NN_LINEAR, name, err);
    if (!l)
        return LPZ_ENOMEM;
    l->features = out_features;
    l->bias = bias != 0;
    l->out = l->in;
    l->out.dim[l->out.ndim - 1] = out_features;
    l->pcount = out_features * in + (l->bias ? out_features : 0);
    int nt = m->n_tensors;
    rc = grow_params(m, l->pcount, err);
    if (!rc)
        rc = add_tensor(m, name, "weight", lpz_shape_make(2, out_features, in, 0, 0), 1, l->poff, err);
    if (!rc && l->bias)
        rc = add_tensor(m, name, "bias", lpz_shape_make(1, out_features, 0, 0, 0), 1, l->poff + out_features * in,
                        err);
    if (!rc) {
        double bound = 1.0 / sqrt((double)in);
        uniform(m, l->poff, out_features * in, bound);
        if (l->bias)
            uniform(m, l->poff + out_features * in, out_features, bound);
        rc = commit_layer(m, l, err);
    }
    if (rc) {
        rollback(m, nt);
        return err_layer(err, "linear", name);
    }
    return LPZ_OK;
}

static int add_conv_common(lpz_model *m, nn_kind kind, const char *name, int64_t out_channels, int kernel,
                           int stride, int padding, int bias, lpz_error *err)
{
    const char *what = kind == NN_CONV ? "conv2d" : "conv_transpose2d";
    if (!m)
        return lpz_error_set(err, LPZ_EINVAL, "model is NULL");
    int rc = check_name(m, name, err);
    if (rc)
        return err_layer(err, what, name);
    const lpz_shape *s = &m->cur_shape;
    char sb[96];
    shape_str(s, sb, sizeof(sb));
    if (s->ndim != 3)
        rc = lpz_error_set(err, LPZ_EINVAL, "input shape %s is not (C, H, W)", sb);
    else if (out_channels < 1 || out_channels > NN_MAX_NUMEL)
        rc = lpz_error_set(err, LPZ_EINVAL, "out_channels is %lld; it must be 1 to %lld", (long long)out_channels,
                            (long long)NN_MAX_NUMEL);
    else if (kernel < 1 || stride < 1 || padding < 0)
        rc = lpz_error_set(err, LPZ_EINVAL, "kernel %d, stride %d, padding %d: need kernel >= 1, stride >= 1, "
                           "padding >= 0", kernel, stride, padding);
    if (rc)
        return err_layer(err, what, name);
    int64_t C = s->dim[0], H = s->dim[1], W = s->dim[2], Ho, Wo;
    if (kind == NN_CONV) {
        if (H + 2 * (int64_t)padding < kernel || W + 2 * (int64_t)padding < kernel) {
            lpz_error_set(err, LPZ_EINVAL, "kernel %d is larger than the padded input %lldx%lld (input %s, padding %d)",
                          kernel, (long long)(H + 2 * padding), (long long)(W + 2 * padding), sb, padding);
            lpz_error_hint(err, "use a smaller kernel or more padding");
            return err_layer(err, what, name);
        }
        Ho = (H + 2 * padding - kernel) / stride + 1;
        Wo = (W + 2 * padding - kernel) / stride + 1;
    } else {
        Ho = (H - 1) * stride - 2 * (int64_t)padding + kernel;
        Wo = (W - 1) * stride - 2 * (int64_t)padding + kernel;
        if (Ho < 1 || Wo < 1) {
            lpz_error_set(err, LPZ_EINVAL, "output would be %lldx%lld for input %s, kernel %d, stride %d, padding %d",
                          (long long)Ho, (long long)Wo, sb, kernel, stride, padding);
            lpz_error_hint(err, "padding must be small enough that (H - 1) * stride - 2 * padding + kernel >= 1");
            return err_layer(err, what, name);
        }
    }
    nn_layer *l = new_layer(m, kind, name, err);
    if (!l)
        return LPZ_ENOMEM;
    l->features = out_channels;
    l->k = kernel;
    l->stride = stride;
    l->pad = padding;
    l->bias = bias != 0;
    l->cin = C, l->hin = H, l->win = W;
    l->cout = out_channels, l->hout = Ho, l->wout = Wo;
    l->out = lpz_shape_make(3, out_channels, Ho, Wo, 0);
    int64_t kk = (int64_t)kernel * kernel;
    int64_t wcount = C * out_channels * kk;
    l->pcount = wcount + (l->bias ? out_channels : 0);
    int nt = m->n_tensors;
    rc = grow_params(m, l->pcount, err);
    lpz_shape ws = kind == NN_CONV ? lpz_shape_make(4, out_channels, C, kernel, kernel)
                                   : lpz_shape_make(4, C, out_channels, kernel, kernel);
    if (!rc)
        rc = add_tensor(m, name, "weight", ws, 1, l->poff, err);
    if (!rc && l->bias)
        rc = add_tensor(m, name, "bias", lpz_shape_make(1, out_channels, 0, 0, 0), 1, l->poff + wcount, err);
    if (!rc) {
        /* PyTorch's fan_in is weight.size(1) * k * k: in channels for conv,
         * OUT channels for a transposed conv (its weight is [in, out, k, k]). */
        int64_t fan_in = (kind == NN_CONV ? C : out_channels) * kk;
        double bound = 1.0 / sqrt((double)fan_in);
        uniform(m, l->poff, wcount, bound);
        if (l->bias)
            uniform(m, l->poff + wcount, out_channels, bound);
        rc = commit_layer(m, l, err);
    }
    if (rc) {
        rollback(m, nt);
        return err_layer(err, what, name);
    }
    return LPZ_OK;
}

int lpz_model_add_conv2d(lpz_model *m, const char *name, int64_t out_channels, int kernel, int stride, int padding,
                         int bias, lpz_error *err)
{
    return add_conv_common(m, NN_CONV, name, out_channels, kernel, stride, padding, bias, err);
}

int lpz_model_add_conv_transpose2d(lpz_model *m, const char *name, int64_t out_channels, int kernel, int stride,
                                   int padding, int bias, lpz_error *err)
{
    return add_conv_common(m, NN_CONVT, name, out_channels, kernel, stride, padding, bias, err);
}

int lpz_model_add_batchnorm(lpz_model *m, const char *name, lpz_error *err)
{
    if (!m)
        return lpz_error_set(err, LPZ_EINVAL, "model is NULL");
    int rc = check_name(m, name, err);
    if (rc)
        return err_layer(err, "batchnorm", name);
    if (m->cur_shape.ndim != 1 && m->cur_shape.ndim != 3) {
        char sb[96];
        shape_str(&m->cur_shape, sb, sizeof(sb));
        lpz_error_set(err, LPZ_EINVAL, "input shape %s is neither (C, H, W) nor (F)", sb);
        return err_layer(err, "batchnorm", name);
    }
    nn_layer *l = new_layer(m, NN_BATCHNORM, name, err);
    if (!l)
        return LPZ_ENOMEM;
    int64_t C = l->in.dim[0];
    l->features = C;
    l->out = l->in;
    l->pcount = 2 * C;
    l->bcount = 2 * C + 1;
    int nt = m->n_tensors;
    lpz_shape cs = lpz_shape_make(1, C, 0, 0, 0);
    rc = grow_params(m, l->pcount, err);
    if (!rc)
        rc = grow_bufs(m, l->bcount, err);
    if (!rc)
        rc = add_tensor(m, name, "weight", cs, 1, l->poff, err);
    if (!rc)
        rc = add_tensor(m, name, "bias", cs, 1, l->poff + C, err);
    if (!rc)
        rc = add_tensor(m, name, "running_mean", cs, 0, l->boff, err);
    if (!rc)
        rc = add_tensor(m, name, "running_var", cs, 0, l->boff + C, err);
    if (!rc)
        rc = add_tensor(m, name, "num_batches_tracked", lpz_shape_make(0, 0, 0, 0, 0), 0, l->boff + 2 * C, err);
    if (!rc) {
        for (int64_t c = 0; c < C; c++) {
            m->params[l->poff + c] = 1.0f;    /* weight */
            m->bufs[l->boff + C + c] = 1.0f;  /* running_var */
        }
        rc = commit_layer(m, l, err);
    }
    if (rc) {
        rollback(m, nt);
        return err_layer(err, "batchnorm", name);
    }
    return LPZ_OK;
}

static int add_simple(lpz_model *m, nn_kind kind, float arg, lpz_error *err)
{
    if (!m)
        return lpz_error_set(err, LPZ_EINVAL, "model is NULL");
    nn_layer *l = new_layer(m, kind, NULL, err);
    if (!l)
        return LPZ_ENOMEM;
    l->out = l->in;
    l->slope = arg;
    l->p = arg;
    return commit_layer(m, l, err);
}

int lpz_model_add_relu(lpz_model *m, lpz_error *err)
{
    return add_simple(m, NN_RELU, 0.0f, err);
}

int lpz_model_add_leaky_relu(lpz_model *m, float negative_slope, lpz_error *err)
{
    if (!isfinite(negative_slope))
        return lpz_error_set(err, LPZ_EINVAL, "leaky_relu: negative slope is not a finite number");
    return add_simple(m, NN_LEAKY_RELU, negative_slope, err);
}

int lpz_model_add_tanh(lpz_model *m, lpz_error *err)
{
    return add_simple(m, NN_TANH, 0.0f, err);
}

int lpz_model_add_sigmoid(lpz_model *m, lpz_error *err)
{
    return add_simple(m, NN_SIGMOID, 0.0f, err);
}

int lpz_model_add_dropout(lpz_model *m, float p, lpz_error *err)
{
    if (!(p >= 0.0f && p <= 1.0f))
        return lpz_error_set(err, LPZ_EINVAL, "dropout: probability %g is outside [0, 1]", (double)p);
    return add_simple(m, NN_DROPOUT, p, err);
}

int lpz_model_add_reshape(lpz_model *m, const lpz_shape *shape, lpz_error *err)
{
    if (!m)
        return lpz_error_set(err, LPZ_EINVAL, "model is NULL");
    if (!shape)
        return lpz_error_set(err, LPZ_EINVAL, "reshape: shape is NULL");
    int rc = check_shape(shape, "reshape target", err);
    if (rc)
        return rc;
    int64_t have = lpz_shape_numel(&m->cur_shape), want = lpz_shape_numel(shape);
    if (have != want) {
        char a[96], b[96];
        shape_str(&m->cur_shape, a, sizeof(a));
        shape_str(shape, b, sizeof(b));
        return lpz_error_set(err, LPZ_EINVAL, "reshape: cannot view %s (%lld elements) as %s (%lld elements)", a,
                             (long long)have, b, (long long)want);
    }
    nn_layer *l = new_layer(m, NN_RESHAPE, NULL, err);
    if (!l)
        return LPZ_ENOMEM;
    l->out = *shape;
    return commit_layer(m, l, err);
}

int lpz_model_add_flatten(lpz_model *m, lpz_error *err)
{
    if (!m)
        return lpz_error_set(err, LPZ_EINVAL, "model is NULL");
    lpz_shape s = lpz_shape_make(1, lpz_shape_numel(&m->cur_shape), 0, 0, 0);
    return lpz_model_add_reshape(m, &s, err);
}

int lpz_model_add_lstm(lpz_model *m, const char *name, int64_t hidden, int num_layers, float dropout,
                       lpz_error *err)
{
    if (!m)
        return lpz_error_set(err, LPZ_EINVAL, "model is NULL");
    int rc = check_name(m, name, err);
    if (rc)
        return err_layer(err, "lstm", name);
    char sb[96];
    shape_str(&m->cur_shape, sb, sizeof(sb));
    if (m->cur_shape.ndim != 2)
        rc = lpz_error_set(err, LPZ_EINVAL, "input shape %s is not a sequence (T, F)", sb);
    else if (hidden < 1 || hidden > (1 << 20))
        rc = lpz_error_set(err, LPZ_EINVAL, "hidden size %lld is outside [1, %d]", (long long)hidden, 1 << 20);
    else if (num_layers < 1 || num_layers > 64)
        rc = lpz_error_set(err, LPZ_EINVAL, "num_layers %d is outside [1, 64]", num_layers);
    else if (!(dropout >= 0.0f && dropout <= 1.0f))
        rc = lpz_error_set(err, LPZ_EINVAL, "dropout %g is outside [0, 1]", (double)dropout);
    if (rc)
        return err_layer(err, "lstm", name);
    nn_layer *l = new_layer(m, NN_LSTM, name, err);
    if (!l)
        return LPZ_ENOMEM;
    int64_t F = l->in.dim[1], h = hidden;
    l->features = h;
    l->num_layers = num_layers;
    l->p = dropout;
    l->out = lpz_shape_make(2, l->in.dim[0], h, 0, 0);
    l->pcount = 0;
    for (int k = 0; k < num_layers; k++)
        l->pcount += 4 * h * (k == 0 ? F : h) + 4 * h * h + 8 * h;
    int nt = m->n_tensors;
    rc = grow_params(m, l->pcount, err);
    int64_t off = l->poff;
    for (int k = 0; k < num_layers && !rc; k++) {
        int64_t in = k == 0 ? F : h;
        char pn[4][32];
        snprintf(pn[0], sizeof(pn[0]), "weight_ih_l%d", k);
        snprintf(pn[1], sizeof(pn[1]), "weight_hh_l%d", k);
        snprintf(pn[2], sizeof(pn[2]), "bias_ih_l%d", k);
        snprintf(pn[3], sizeof(pn[3]), "bias_hh_l%d", k);
        rc = add_tensor(m, name, pn[0], lpz_shape_make(2, 4 * h, in, 0, 0), 1, off, err);
        off += 4 * h * in;
        if (!rc)
            rc = add_tensor(m, name, pn[1], lpz_shape_make(2, 4 * h, h, 0, 0), 1, off, err);
        off += 4 * h * h;
        if (!rc)
            rc = add_tensor(m, name, pn[2], lpz_shape_make(1, 4 * h, 0, 0, 0), 1, off, err);
        off += 4 * h;
        if (!rc)
            rc = add_tensor(m, name, pn[3], lpz_shape_make(1, 4 * h, 0, 0, 0), 1, off, err);
        off += 4 * h;
    }
    if (!rc) {
        uniform(m, l->poff, l->pcount, 1.0 / sqrt((double)h));
        rc = commit_layer(m, l, err);
    }
    if (rc) {
        rollback(m, nt);
        return err_layer(err, "lstm", name);
    }
    return LPZ_OK;
}

int lpz_model_add_repeat_steps(lpz_model *m, int64_t steps, lpz_error *err)
{
    if (!m)
        return lpz_error_set(err, LPZ_EINVAL, "model is NULL");
    if (m->cur_shape.ndim != 1) {
        char sb[96];
        shape_str(&m->cur_shape, sb, sizeof(sb));
        return lpz_error_set(err, LPZ_EINVAL, "repeat_steps: input shape %s is not a vector (F)", sb);
    }
    if (steps < 1 || steps > NN_MAX_NUMEL)
        return lpz_error_set(err, LPZ_EINVAL, "repeat_steps: steps is %lld; it must be 1 to %lld", (long long)steps,
                              (long long)NN_MAX_NUMEL);
    nn_layer *l = new_layer(m, NN_REPEAT, NULL, err);
    if (!l)
        return LPZ_ENOMEM;
    l->features = steps;
    l->out = lpz_shape_make(2, steps, l->in.dim[0], 0, 0);
    return commit_layer(m, l, err);
}

int lpz_model_add_last_step(lpz_model *m, lpz_error *err)
{
    if (!m)
        return lpz_error_set(err, LPZ_EINVAL, "model is NULL");
    if (m->cur_shape.ndim != 2) {
        char sb[96];
        shape_str(&m->cur_shape, sb, sizeof(sb));
        return lpz_error_set(err, LPZ_EINVAL, "last_step: input shape %s is not a sequence (T, F)", sb);
    }
    nn_layer *l = new_layer(m, NN_LAST_STEP, NULL, err);
    if (!l)
        return LPZ_ENOMEM;
    l->out = lpz_shape_make(1, l->in.dim[1], 0, 0, 0);
    return commit_layer(m, l, err);
}

int lpz_model_add_custom(lpz_model *m, const char *name, const lpz_layer_ops *ops, void *self, lpz_error *err)
{
    if (!m)
        return lpz_error_set(err, LPZ_EINVAL, "model is NULL");
    int rc = check_name(m, name, err);
    if (rc)
        return err_layer(err, "custom", name);
    if (!ops || ops->size < offsetof(lpz_layer_ops, destroy) + sizeof(ops->destroy) || !ops->output_shape ||
        !ops->forward || !ops->backward) {
        lpz_error_set(err, LPZ_EINVAL, "layer ops are missing (need size, output_shape, forward and backward)");
        return err_layer(err, "custom", name);
    }
    lpz_shape out;
    memset(&out, 0, sizeof(out));
    rc = ops->output_shape(self, &m->cur_shape, &out, err);
    if (rc)
        return err_layer(err, ops->type_name ? ops->type_name : "custom", name);
    const lpz_layer_param_spec *spec = ops->params ? ops->params(self, &m->cur_shape) : NULL;
    int64_t count = 0;
    for (int i = 0; spec && spec[i].name; i++) {
        rc = check_shape(&spec[i].shape, "custom layer parameter shape", err);
        if (rc)
            return err_layer(err, ops->type_name ? ops->type_name : "custom", name);
        count += lpz_shape_numel(&spec[i].shape);
        if (count > NN_MAX_PARAMS) {
            lpz_error_set(err, LPZ_EINVAL, "too many parameters");
            return err_layer(err, "custom", name);
        }
    }
    nn_layer *l = new_layer(m, NN_CUSTOM, name, err);
    if (!l)
        return LPZ_ENOMEM;
    l->ops = ops;
    l->self = self;
    l->out = out;
    l->pcount = count;
    int nt = m->n_tensors;
    rc = grow_params(m, count, err);
    int64_t off = l->poff;
    for (int i = 0; !rc && spec && spec[i].name; i++) {
        rc = add_tensor(m, name, spec[i].name, spec[i].shape, 1, off, err);
        off += lpz_shape_numel(&spec[i].shape);
    }
    if (!rc && ops->init)
        ops->init(self, &l->in, m->params + l->poff, &m->rng);
    if (!rc)
        rc = commit_layer(m, l, err);
    if (rc) {
        rollback(m, nt);
        return err_layer(err, "custom", name);
    }
    return LPZ_OK;
}

/* ---- inspecting ---------------------------------------------------------- */

lpz_shape lpz_model_input_shape(const lpz_model *m)
{
    return m->in_shape;
}

lpz_shape lpz_model_output_shape(const lpz_model *m)
{
    return m->cur_shape;
}

int64_t lpz_model_param_count(const lpz_model *m)
{
    return m->n_params;
}

/* a count with thousands separators */
static void count_text(int64_t v, char *out, size_t size)
{
    char digits[32];
    int nd = snprintf(digits, sizeof digits, "%lld", (long long)v), o = 0;
    for (int i = 0; i < nd && o + 2 < (int)size; i++) {
        if (i && (nd - i) % 3 == 0)
            out[o++] = ',';
        out[o++] = digits[i];
    }
    out[o] = '\0';
}

int lpz_model_layer_count(const lpz_model *m)
{
    return m->n_layers;
}

size_t lpz_model_describe(const lpz_model *m, char *out, size_t size)
{
    size_t n = 0;
    char a[64], b[64], c[32];
#define PUT(...)                                                                                                       \
    do {                                                                                                               \
        if (n < size) {                                                                                                \
            int w_ = snprintf(out + n, size - n, __VA_ARGS__);                                                         \
            n = w_ < 0 ? n : n + (size_t)w_ < size ? n + (size_t)w_ : size - 1;                                       \
        }                                                                                                              \
    } while (0)
    if (!size)
        return 0;
    out[0] = '\0';
    lpz_shape_format_x(&m->in_shape, a, sizeof a);
    lpz_shape_format_x(m->n_layers ? &m->layers[m->n_layers - 1].out : &m->in_shape, b, sizeof b);
    count_text(m->n_params, c, sizeof c);
    PUT("input %s -> output %s, %s parameters", a, b, c);
    for (int i = 0; i < m->n_layers; i++) {
        const nn_layer *l = &m->layers[i];
        PUT("\n  %d ", i);
        switch (l->kind) {
        case NN_LINEAR:
            /* the last dimension (a sequence's steps share the layer) */
            PUT("Linear(%lld -> %lld%s)", (long long)(l->in.ndim ? l->in.dim[l->in.ndim - 1] : l->in_numel),
                (long long)l->features, l->bias ? "" : ", no bias");
            break;
        case NN_CONV:
        case NN_CONVT:
            PUT("%s(%lld -> %lld, kernel %d, stride %d, padding %d%s)", l->kind == NN_CONV ? "Conv2d" : "ConvTranspose2d",
                (long long)l->cin, (long long)l->cout, l->k, l->stride, l->pad, l->bias ? "" : ", no bias");
            break;
        case NN_BATCHNORM:
            PUT("BatchNorm");
            break;
        case NN_RELU:
            PUT("ReLU");
            break;
        case NN_LEAKY_RELU:
            PUT("LeakyReLU(%g)", (double)l->slope);
            break;
        case NN_TANH:
            PUT("Tanh");
            break;
        case NN_SIGMOID:
            PUT("Sigmoid");
            break;
        case NN_DROPOUT:
            PUT("Dropout(%g)", (double)l->p);
            break;
        case NN_RESHAPE:
            PUT("Reshape");
            break;
        case NN_LSTM:
            PUT("LSTM(hidden %lld, layers %d)", (long long)l->features, l->num_layers);
            break;
        case NN_REPEAT:
            PUT("Repeat(%lld steps)", (long long)l->features);
            break;
        case NN_LAST_STEP:
            PUT("LastStep");
            break;
        case NN_CUSTOM:
            PUT("custom layer");
            break;
        }
        lpz_shape_format_x(&l->out, a, sizeof a);
        PUT(" -> %s", a);
        if (l->name[0])
            PUT(" [%s]", l->name);
    }
#undef PUT
    return n;
}

int lpz_model_tensor_count(const lpz_model *m)
{
    return m->n_tensors;
}

int lpz_model_tensor_info(const lpz_model *m, int i, const char **name, lpz_shape *shape, float **data,
                          int *trainable)
{
    if (!m || i < 0 || i >= m->n_tensors)
        return LPZ_EINVAL;
    const nn_tensor *t = &m->tensors[i];
    if (name)
        *name = t->name;
    if (shape)
        *shape = t->shape;
    if (data)
        *data = (t->trainable ? m->params : m->bufs) + t->off;
    if (trainable)
        *trainable = t->trainable;
    return LPZ_OK;
}

int lpz_model_param(lpz_model *m, const char *name, float **data, lpz_shape *shape, lpz_error *err)
{
    if (!m || !name)
        return lpz_error_set(err, LPZ_EINVAL, "lpz_model_param: model or name is NULL");
    for (int i = 0; i < m->n_tensors; i++)
        if (strcmp(m->tensors[i].name, name) == 0)
            return lpz_model_tensor_info(m, i, NULL, shape, data, NULL);
    lpz_error_set(err, LPZ_ENOTFOUND, "the model has no tensor \"%s\"", name);
    if (m->n_tensors)
        lpz_error_hint(err, "its tensors are \"%s\" ... \"%s\" (%d in all)", m->tensors[0].name,
                       m->tensors[m->n_tensors - 1].name, m->n_tensors);
    return LPZ_ENOTFOUND;
}

float *lpz_model_params(lpz_model *m)
{
    return m->params;
}

float *lpz_model_grads(lpz_model *m)
{
    return m->grads;
}

/* ---- running ------------------------------------------------------------- */

/* The activation a batch norm at layer i computes in its own passes: the
 * ReLU or LeakyReLU right after it, else NN_ACT_IDENTITY. Such an
 * activation (fused_act) does no pass of its own, and its output is the
 * batch norm's (one buffer, written once; nothing reads the batch norm's
 * own output). */
static int bn_act(const lpz_model *m, int i)
{
    if (i + 1 >= m->n_layers)
        return NN_ACT_IDENTITY;
    nn_kind k = m->layers[i + 1].kind;
    return k == NN_RELU ? NN_ACT_RELU : k == NN_LEAKY_RELU ? NN_ACT_LEAKY_RELU : NN_ACT_IDENTITY;
}

/* The activation a linear layer at i applies to its outputs as it stores
 * them (nn_linear_forward): the ReLU or LeakyReLU right after it, with a
 * slope that is not negative, else NN_ACT_IDENTITY. Such an activation
 * (fused_act) does no forward pass of its own either and its output is
 * the linear layer's (one pass over the batch less per hidden layer); its
 * backward pass takes the derivative from that output, which is positive
 * exactly where the layer's output before it was (the slope is not
 * negative), so the gradients are the same floats. */
static int lin_act(const lpz_model *m, int i)
{
    if (i + 1 >= m->n_layers || m->layers[i].kind != NN_LINEAR)
        return NN_ACT_IDENTITY;
    const nn_layer *a = &m->layers[i + 1];
    if (a->kind == NN_RELU)
        return NN_ACT_RELU;
    return a->kind == NN_LEAKY_RELU && !(a->slope < 0.0f) ? NN_ACT_LEAKY_RELU : NN_ACT_IDENTITY;
}

/* The activation at i is computed by the batch norm before it. */
static int bn_fused(const lpz_model *m, int i)
{
    return i > 0 && m->layers[i - 1].kind == NN_BATCHNORM && bn_act(m, i - 1) != NN_ACT_IDENTITY;
}

static int fused_act(const lpz_model *m, int i)
{
    return bn_fused(m, i) || (i > 0 && lin_act(m, i - 1) != NN_ACT_IDENTITY);
}

static float bn_slope(const lpz_model *m, int i)
{
    return bn_act(m, i) == NN_ACT_LEAKY_RELU ? m->layers[i + 1].slope : 0.0f;
}

/* The model's batch memory for batches of n, each piece rounded up to 16
 * floats (64 bytes): the input copy, per layer its output (a reshape and
 * an activation fused into a batch norm alias their input) and aux, two
 * gradient buffers of the largest activation, one work area for the
 * layers. Returns the floats it takes (-1 when that overflows); with arena
 * not NULL also points the model's pieces into it. One walk for sizing
 * and laying out, so they agree. */
#define R16(x) (((x) + 15) & ~(int64_t)15)
static int64_t arena_layout(lpz_model *m, float *arena, int64_t n)
{
    int64_t in_numel = lpz_shape_numel(&m->in_shape), maxact = in_numel, work = 0;
    int64_t off = R16(n * in_numel); /* x_copy at 0 */
    const float *prev = arena;
    for (int i = 0; i < m->n_layers; i++) {
        nn_layer *l = &m->layers[i];
        if (l->out_numel > maxact)
            maxact = l->out_numel;
        int64_t w = nn_work_size(l, n), a = nn_aux_size(l, n);
        if (w > work)
            work = w;
        int64_t ysize = l->kind == NN_RESHAPE || fused_act(m, i) ? 0 : R16(n * l->out_numel);
        if (arena) {
            l->y = ysize ? arena + off : (float *)prev;
            l->aux = a ? arena + off + ysize : NULL;
            if (l->kind == NN_CONV || l->kind == NN_CONVT)
                l->chunk = nn_conv_chunk(l, n); /* the one nn_work_size sized work for */
            prev = l->y;
        }
        off += ysize + R16(a);
    }
    if (arena) {
        m->arena = arena;
        m->x_copy = arena;
        m->g0 = arena + off;
        m->g1 = m->g0 + R16(n * maxact);
        m->work = m->g1 + R16(n * maxact);
        m->reserved = n;
        m->last_n = 0;
    }
    off += 2 * R16(n * maxact) + R16(work);
    return (double)off * sizeof(float) > (double)SIZE_MAX / 2 ? -1 : off;
}

int lpz_model_reserve(lpz_model *m, int64_t max_batch, lpz_error *err)
{
    if (!m)
        return lpz_error_set(err, LPZ_EINVAL, "model is NULL");
    if (max_batch < 1 || max_batch > NN_MAX_NUMEL)
        return lpz_error_set(err, LPZ_EINVAL, "batch size %lld is not >= 1", (long long)max_batch);
    if (m->reserved == max_batch && m->arena)
        return LPZ_OK;
    int64_t total = arena_layout(m, NULL, max_batch);
    if (total < 0)
        return lpz_error_set(err, LPZ_ENOMEM, "scratch memory for batch %lld is too large", (long long)max_batch);
    float *arena = aligned_alloc(64, (size_t)total * sizeof(float));
    if (!arena)
        return lpz_error_set(err, LPZ_ENOMEM, "out of memory: %.1f MB of scratch for batch %lld",
                             (double)total * 4.0 / 1e6, (long long)max_batch);
    release_arena(m); /* a shared arena becomes the model's own */
    arena_layout(m, arena, max_batch);
    return LPZ_OK;
}

int lpz_model_share_scratch(lpz_model **models, int count, int64_t max_batch, lpz_error *err)
{
    if (count < 1 || !models)
        return lpz_error_set(err, LPZ_EINVAL, "lpz_model_share_scratch: no models");
    if (max_batch < 1 || max_batch > NN_MAX_NUMEL)
        return lpz_error_set(err, LPZ_EINVAL, "batch size %lld is not >= 1", (long long)max_batch);
    int64_t total = 0;
    for (int i = 0; i < count; i++) {
        int64_t f = models[i] ? arena_layout(models[i], NULL, max_batch) : -1;
        if (f < 0)
            return lpz_error_set(err, models[i] ? LPZ_ENOMEM : LPZ_EINVAL,
                                 "lpz_model_share_scratch: model %d is NULL or its scratch too large", i);
        if (f > total)
            total = f;
    }
    nn_scratch *sh = calloc(1, sizeof *sh);
    float *arena = aligned_alloc(64, (size_t)total * sizeof(float));
    if (!sh || !arena) {
        free(sh);
        free(arena);
        return lpz_error_set(err, LPZ_ENOMEM, "out of memory: %.1f MB of shared scratch for batch %lld",
                             (double)total * 4.0 / 1e6, (long long)max_batch);
    }
    for (int i = 0; i < count; i++) {
        lpz_model *m = models[i];
        if (m->scratch == sh)
            continue; /* listed twice */
        release_arena(m);
        arena_layout(m, arena, max_batch);
        m->scratch = sh;
        sh->refs++;
    }
    return LPZ_OK;
}
#undef R16

void lpz_model_set_training(lpz_model *m, int training)
{
    m->training = training != 0;
}

static const float *layer_input(const lpz_model *m, int i)
{
    return i == 0 ? m->x_copy : m->layers[i - 1].y;
}

static const float *forward(lpz_model *m, const float *x, int64_t n, lpz_error *err);

const float *lpz_model_forward(lpz_model *m, const float *x, int64_t n, lpz_error *err)
{
    if (!m || !m->fp32)
        return forward(m, x, n, err);
    nn_mm_fp32_push();
    const float *y = forward(m, x, n, err);
    nn_mm_fp32_pop();
    return y;
}

static int64_t first_nonfinite(const float *v, int64_t n)
{
    for (int64_t i = 0; i < n; i++)
        if (!isfinite(v[i]))
            return i;
    return -1;
}

int lpz_model_explain_nonfinite(const lpz_model *m, char *out, size_t size)
{
    static const char *const kinds[] = {"linear", "conv2d",  "conv_transpose2d", "batchnorm", "relu",
                                        "leaky_relu", "tanh", "sigmoid", "dropout", "reshape",
                                        "lstm", "repeat", "last_step", "custom"};
    if (!m || m->last_n < 1 || (m->scratch && m->scratch->last != m))
        return 0;
    int64_t n = m->last_n, at;
    if ((at = first_nonfinite(m->x_copy, n * lpz_shape_numel(&m->in_shape))) >= 0) {
        snprintf(out, size, "its input holds %g at element %lld", (double)m->x_copy[at], (long long)at);
        return 1;
    }
    for (int i = 0; i < m->n_layers; i++) {
        const nn_layer *l = &m->layers[i];
        if (l->y == layer_input(m, i))
            continue; /* computes in place of its input (a reshape) */
        at = first_nonfinite(l->y, n * l->out_numel);
        int64_t pat = m->params ? first_nonfinite(m->params + l->poff, l->pcount) : -1; /* (an unbound replica) */
        /* a ReLU computed by this (linear) layer turns NaN into 0: its parameters are looked at anyway */
        if (at < 0 && (pat < 0 || lin_act(m, i) == NN_ACT_IDENTITY))
            continue;
        const char *kind = l->kind == NN_CUSTOM && l->ops && l->ops->type_name ? l->ops->type_name
                           : (unsigned)l->kind < sizeof kinds / sizeof kinds[0] ? kinds[l->kind]
                                                                                  : "?";
        char name[NN_NAME_MAX + 4] = "";
        if (l->name[0])
            snprintf(name, sizeof name, "\"%s\" ", l->name);
        if (pat >= 0)
            snprintf(out, size, "layer %d %s(%s) holds %g in parameter %lld: training diverged", i, name, kind,
                     (double)m->params[l->poff + pat], (long long)pat);
        else
            snprintf(out, size, "layer %d %s(%s) gave %g (output element %lld) from finite inputs and parameters", i,
                     name, kind, (double)l->y[at], (long long)at);
        return 1;
    }
    return 0;
}

void lpz_model_pin_fp32(lpz_model *m)
{
    m->fp32 = 1;
}

static const float *forward(lpz_model *m, const float *x, int64_t n, lpz_error *err)
{
    if (!m || !x) {
        lpz_error_set(err, LPZ_EINVAL, "lpz_model_forward: model or input is NULL");
        return NULL;
    }
    if (n < 1) {
        lpz_error_set(err, LPZ_EINVAL, "lpz_model_forward: batch size %lld is not >= 1", (long long)n);
        return NULL;
    }
    if (m->training) {
        for (int i = 0; i < m->n_layers; i++) {
            const nn_layer *l = &m->layers[i];
            if (l->kind == NN_BATCHNORM && n * (l->in_numel / l->features) < 2) {
                lpz_error_set(err, LPZ_EINVAL,
                              "batchnorm layer \"%s\" needs more than one value per channel in training, got a "
                              "batch of %lld", l->name, (long long)n);
                lpz_error_hint(err, "train with a batch size of at least 2, or switch to evaluation mode");
                return NULL;
            }
        }
    }
    if (x == m->x_copy && n > m->reserved) {
        lpz_error_set(err, LPZ_EINVAL, "lpz_model_forward: %lld samples in an input buffer of %lld", (long long)n,
                      (long long)m->reserved);
        return NULL;
    }
    if (n > m->reserved && lpz_model_reserve(m, n, err) != LPZ_OK)
        return NULL;
    m->last_n = 0;
    if (x != m->x_copy) /* else filled in place (lpz_model_input_buffer) */
        memcpy(m->x_copy, x, (size_t)(n * lpz_shape_numel(&m->in_shape)) * sizeof(float));
    for (int i = 0; i < m->n_layers; i++) {
        nn_layer *l = &m->layers[i];
        const float *in = layer_input(m, i);
        float *y = l->y;
        const float *p = m->params + l->poff;
        int64_t cnt = n * l->out_numel;
        switch (l->kind) {
        case NN_LINEAR: {
            int act = lin_act(m, i);
            nn_linear_forward(l, n, p, in, y, act, act == NN_ACT_IDENTITY ? 0.0f : m->layers[i + 1].slope);
            break;
        }
        case NN_CONV:
            nn_conv_forward(l, n, p, in, y, m->work);
            break;
        case NN_CONVT:
            nn_convt_forward(l, n, p, in, y, m->work);
            break;
        case NN_BATCHNORM:
            nn_bn_forward(l, n, p, m->bufs + l->boff, in, y, m->training, bn_act(m, i), bn_slope(m, i), m->work);
            break;
        case NN_RELU:
            if (!fused_act(m, i)) /* else the batch norm or linear layer before it wrote its output */
                nn_act_forward(NN_ACT_RELU, 0.0f, in, y, cnt);
            break;
        case NN_LEAKY_RELU:
            if (!fused_act(m, i))
                nn_act_forward(NN_ACT_LEAKY_RELU, l->slope, in, y, cnt);
            break;
        case NN_TANH:
            nn_act_forward(NN_ACT_TANH, 0.0f, in, y, cnt);
            break;
        case NN_SIGMOID:
            nn_act_forward(NN_ACT_SIGMOID, 0.0f, in, y, cnt);
            break;
        case NN_DROPOUT:
            if (!m->training || l->p == 0.0f) {
                memcpy(y, in, (size_t)cnt * sizeof(float));
            } else {
                /* aux holds the mask as the factor each value is multiplied by:
                 * 0 (dropped) or 1 / (1 - p) (kept, rescaled as PyTorch). */
                float keep = l->p >= 1.0f ? 0.0f : 1.0f / (1.0f - l->p);
                for (int64_t j = 0; j < cnt; j++) {
                    l->aux[j] = lpz_rng_uniform(&m->rng) < (double)l->p ? 0.0f : keep;
                    y[j] = in[j] * l->aux[j];
                }
            }
            break;
        case NN_RESHAPE:
            break;
        case NN_LSTM:
            nn_lstm_forward(l, n, p, in, y, m->training, &m->rng);
            break;
        case NN_REPEAT: {
            int64_t F = l->in_numel, T = l->features;
            for (int64_t s = 0; s < n; s++)
                for (int64_t t = 0; t < T; t++)
                    memcpy(y + (s * T + t) * F, in + s * F, (size_t)F * sizeof(float));
            break;
        }
        case NN_LAST_STEP: {
            int64_t T = l->in.dim[0], F = l->in.dim[1];
            for (int64_t s = 0; s < n; s++)
                memcpy(y + s * F, in + (s * T + T - 1) * F, (size_t)F * sizeof(float));
            break;
        }
        case NN_CUSTOM:
            l->ops->forward(l->self, &l->in, n, p, in, y, m->training);
            break;
        }
    }
    m->last_n = n;
    m->fwd_training = m->training;
    if (m->scratch)
        m->scratch->last = m;
    return m->n_layers ? m->layers[m->n_layers - 1].y : m->x_copy;
}

/* The backward sweep; with_params 0 leaves the gradient buffer alone
 * (kernels get dp = NULL; a custom layer writes into scratch), 1 adds the
 * parameter gradients to it, BW_FRESH replaces its contents by them (as
 * lpz_model_zero_grad then 1; the linear layers store their products
 * instead of clearing and adding). */
#define BW_FRESH 2
static int backward_sweep(lpz_model *m, const float *dy, float *dx, int with_params, lpz_error *err);

static int backward(lpz_model *m, const float *dy, float *dx, int with_params, lpz_error *err)
{
    if (!m || !m->fp32)
        return backward_sweep(m, dy, dx, with_params, err);
    nn_mm_fp32_push();
    int rc = backward_sweep(m, dy, dx, with_params, err);
    nn_mm_fp32_pop();
    return rc;
}

static int backward_sweep(lpz_model *m, const float *dy, float *dx, int with_params, lpz_error *err)
{
    if (!m || !dy)
        return lpz_error_set(err, LPZ_EINVAL, "lpz_model_backward: model or output gradient is NULL");
    if (m->last_n == 0)
        return lpz_error_set(err, LPZ_ESTATE, "lpz_model_backward called without a forward pass before it");
    if (m->scratch && m->scratch->last != m)
        return lpz_error_set(err, LPZ_ESTATE,
                             "lpz_model_backward: a model sharing this one's scratch ran a forward pass since");
    if (with_params && !m->grads && m->n_params)
        return lpz_error_set(err, LPZ_ESTATE, "lpz_model_backward on a model without gradients (forward only)");
    int64_t n = m->last_n;
    /* every parameter belongs to exactly one layer (n_params grows by each
     * committed layer's pcount), so the layers' stores cover the buffer */
    int fresh = with_params == BW_FRESH;
    /* Leading reshapes (a discriminator's flatten) change no memory: the
     * first other layer writes the model's input gradient into dx itself,
     * or, when dx is NULL, skips its input gradient (a discriminator step
     * does not pay for the product through its first weights). */
    int first = 0;
    while (first < m->n_layers && m->layers[first].kind == NN_RESHAPE)
        first++;
    if (first == m->n_layers) {
        if (dx)
            memcpy(dx, dy, (size_t)(n * lpz_shape_numel(&m->in_shape)) * sizeof(float));
        return LPZ_OK;
    }
    const float *cur = dy;
    for (int i = m->n_layers - 1; i >= first; i--) {
        nn_layer *l = &m->layers[i];
        const float *in = layer_input(m, i);
        const float *p = m->params + l->poff;
        float *dp = with_params ? m->grads + l->poff : NULL;
        float *out;
        if (i == first)
            out = dx; /* may be NULL: the first layer then skips its input gradient */
        else
            out = cur == m->g0 ? m->g1 : m->g0;
        if (fresh && dp && l->pcount && l->kind != NN_LINEAR)
            memset(dp, 0, (size_t)l->pcount * sizeof *dp); /* the other kernels add */
        if (bn_fused(m, i))
            continue; /* the batch norm before it takes the gradient at its output */
        /* (an activation fused into the linear layer before it runs below:
         * its input is its output, in = y, from which ReLU and LeakyReLU
         * with a slope >= 0 take the same derivative as from the input) */
        if (l->kind == NN_RESHAPE)
            continue; /* same memory layout: the gradient passes through */
        int64_t cnt = n * l->out_numel;
        const float *y = l->y;
        switch (l->kind) {
        case NN_LINEAR:
            nn_linear_backward(l, n, p, in, cur, out, dp, fresh);
            break;
        case NN_CONV:
            nn_conv_backward(l, n, p, in, cur, out, dp, m->work);
            break;
        case NN_CONVT:
            nn_convt_backward(l, n, p, in, cur, out, dp, m->work);
            break;
        case NN_BATCHNORM:
            nn_bn_backward(l, n, p, in, cur, out, dp, m->fwd_training, bn_act(m, i), bn_slope(m, i), m->work);
            break;
        case NN_RELU:
        case NN_LEAKY_RELU:
        case NN_TANH:
        case NN_SIGMOID:
            if (out)
                nn_act_backward(l->kind == NN_RELU         ? NN_ACT_RELU
                                : l->kind == NN_LEAKY_RELU ? NN_ACT_LEAKY_RELU
                                : l->kind == NN_TANH       ? NN_ACT_TANH
                                                           : NN_ACT_SIGMOID,
                                l->slope, in, y, cur, out, cnt);
            break;
        case NN_DROPOUT:
            if (out) {
                if (!m->fwd_training || l->p == 0.0f)
                    memcpy(out, cur, (size_t)cnt * sizeof(float));
                else
                    nn_mul(cur, l->aux, out, cnt);
            }
            break;
        case NN_LSTM:
            nn_lstm_backward(l, n, p, in, cur, out, dp, m->work);
            break;
        case NN_REPEAT:
            if (out) {
                int64_t F = l->in_numel, T = l->features;
                for (int64_t s = 0; s < n; s++) {
                    float *o = out + s * F;
                    memcpy(o, cur + s * T * F, (size_t)F * sizeof(float));
                    for (int64_t t = 1; t < T; t++)
                        for (int64_t f = 0; f < F; f++)
                            o[f] += cur[(s * T + t) * F + f];
                }
            }
            break;
        case NN_LAST_STEP:
            if (out) {
                int64_t T = l->in.dim[0], F = l->in.dim[1];
                memset(out, 0, (size_t)(n * T * F) * sizeof(float));
                for (int64_t s = 0; s < n; s++)
                    memcpy(out + (s * T + T - 1) * F, cur + s * F, (size_t)F * sizeof(float));
            }
            break;
        case NN_CUSTOM: {
            /* A plugin's backward always gets somewhere to write dx. */
            float *d = out ? out : (cur == m->g0 ? m->g1 : m->g0);
            if (!dp) {
                dp = m->work;
                if (l->pcount)
                    memset(dp, 0, (size_t)l->pcount * sizeof(float));
            }
            l->ops->backward(l->self, &l->in, n, p, in, y, cur, d, dp);
            break;
        }
        case NN_RESHAPE:
            break;
        }
        cur = out;
    }
    return LPZ_OK;
}

int lpz_model_backward(lpz_model *m, const float *dy, float *dx, lpz_error *err)
{
    return backward(m, dy, dx, 1, err);
}

int lpz_model_backward_fresh(lpz_model *m, const float *dy, float *dx, lpz_error *err)
{
    return backward(m, dy, dx, BW_FRESH, err);
}

int lpz_model_backward_input(lpz_model *m, const float *dy, float *dx, lpz_error *err)
{
    if (!dx)
        return lpz_error_set(err, LPZ_EINVAL, "lpz_model_backward_input: dx is NULL");
    return backward(m, dy, dx, 0, err);
}

float *lpz_model_input_buffer(lpz_model *m, int64_t n, lpz_error *err)
{
    if (!m) {
        lpz_error_set(err, LPZ_EINVAL, "lpz_model_input_buffer: model is NULL");
        return NULL;
    }
    if (n > m->reserved && lpz_model_reserve(m, n, err) != LPZ_OK)
        return NULL;
    /* x_copy is what a backward reads as the first layer's input (and it
     * is shared with the models of a shared arena): once the caller writes
     * here, no pending backward may run on it. */
    m->last_n = 0;
    if (m->scratch)
        m->scratch->last = NULL;
    return m->x_copy;
}

int lpz_model_write_params(lpz_model *m, const float *src, lpz_error *err)
{
    if (m->params_borrowed)
        return lpz_error_set(err, LPZ_ESTATE, "cannot write the parameters of a model that borrows them (read-only)");
    lpz_model_set_vector(m, src);
    return LPZ_OK;
}

void lpz_model_borrow_params(lpz_model *m, float *params)
{
    if (!m->params_borrowed)
        free(m->params);
    m->params = params;
    m->params_borrowed = 1;
}

void lpz_model_drop_grads(lpz_model *m)
{
    release_grads(m);
}

int lpz_model_share_grads(lpz_model **models, int count, lpz_error *err)
{
    if (count < 1 || !models)
        return lpz_error_set(err, LPZ_EINVAL, "lpz_model_share_grads: no models");
    int64_t n = 1;
    for (int i = 0; i < count; i++) {
        if (!models[i] || !models[i]->grads)
            return lpz_error_set(err, LPZ_EINVAL, "lpz_model_share_grads: model %d is NULL or has no gradients", i);
        if (models[i]->n_params > n)
            n = models[i]->n_params;
    }
    nn_grads *sh = calloc(1, sizeof *sh);
    float *mem = calloc((size_t)n, sizeof(float));
    if (!sh || !mem) {
        free(sh);
        free(mem);
        return lpz_error_set(err, LPZ_ENOMEM, "out of memory for %lld shared gradients", (long long)n);
    }
    sh->mem = mem;
    for (int i = 0; i < count; i++) {
        lpz_model *m = models[i];
        if (m->grads_shared == sh)
            continue; /* listed twice */
        release_grads(m);
        m->grads = mem;
        m->grads_shared = sh;
        sh->refs++;
    }
    return LPZ_OK;
}

void lpz_model_zero_grad(lpz_model *m)
{
    if (m->n_params && m->grads)
        memset(m->grads, 0, (size_t)m->n_params * sizeof(float));
}

int lpz_model_clone(const lpz_model *m, lpz_model **out, lpz_error *err)
{
    if (!m || !out)
        return lpz_error_set(err, LPZ_EINVAL, "lpz_model_clone: model or out is NULL");
    *out = NULL;
    for (int i = 0; i < m->n_layers; i++)
        if (m->layers[i].kind == NN_CUSTOM && m->layers[i].ops->destroy)
            return lpz_error_set(err, LPZ_EUNSUPPORTED,
                                 "cannot clone a model whose custom layer \"%s\" owns its state (ops->destroy is "
                                 "set): the copy would free it twice",
                                 m->layers[i].name);
    lpz_model *c = calloc(1, sizeof(*c));
    if (!c)
        return lpz_error_set(err, LPZ_ENOMEM, "out of memory cloning a model");
    *c = *m;
    c->layers = NULL;
    c->tensors = NULL;
    c->params = c->grads = c->bufs = NULL;
    c->arena = c->x_copy = c->g0 = c->g1 = c->work = NULL;
    c->reserved = 0;
    c->last_n = 0;
    c->scratch = NULL; /* the clone gets its own arena */
    c->params_borrowed = 0; /* and its own parameters */
    c->grads_shared = NULL;  /* and gradients */
    c->cap_layers = m->n_layers;
    c->cap_tensors = m->n_tensors;
    size_t np = (size_t)m->n_params * sizeof(float);
    c->layers = malloc((size_t)(m->n_layers ? m->n_layers : 1) * sizeof(nn_layer));
    c->tensors = malloc((size_t)(m->n_tensors ? m->n_tensors : 1) * sizeof(nn_tensor));
    c->params = malloc(np ? np : 1);
    c->grads = malloc(np ? np : 1);
    c->bufs = malloc((size_t)(m->n_bufs ? m->n_bufs : 1) * sizeof(float));
    if (!c->layers || !c->tensors || !c->params || !c->grads || !c->bufs) {
        lpz_model_destroy(c);
        return lpz_error_set(err, LPZ_ENOMEM, "out of memory cloning a model");
    }
    if (m->n_layers)
        memcpy(c->layers, m->layers, (size_t)m->n_layers * sizeof(nn_layer));
    for (int i = 0; i < c->n_layers; i++)
        c->layers[i].y = c->layers[i].aux = NULL;
    if (m->n_tensors)
        memcpy(c->tensors, m->tensors, (size_t)m->n_tensors * sizeof(nn_tensor));
    if (np) {
        memcpy(c->params, m->params, np);
        if (m->grads)
            memcpy(c->grads, m->grads, np);
        else
            memset(c->grads, 0, np);
    }
    if (m->n_bufs)
        memcpy(c->bufs, m->bufs, (size_t)m->n_bufs * sizeof(float));
    *out = c;
    return LPZ_OK;
}

void lpz_model_get_vector(const lpz_model *m, float *out)
{
    if (m->n_params)
        memcpy(out, m->params, (size_t)m->n_params * sizeof(float));
}

void lpz_model_set_vector(lpz_model *m, const float *in)
{
    if (m->n_params)
        memcpy(m->params, in, (size_t)m->n_params * sizeof(float));
}

int lpz_model_copy_from(lpz_model *dst, const lpz_model *src, lpz_error *err)
{
    if (!dst || !src)
        return lpz_error_set(err, LPZ_EINVAL, "lpz_model_copy_from: model is NULL");
    int same = dst->n_params == src->n_params && dst->n_bufs == src->n_bufs && dst->n_tensors == src->n_tensors &&
               dst->n_layers == src->n_layers;
    for (int i = 0; same && i < dst->n_tensors; i++)
        same = strcmp(dst->tensors[i].name, src->tensors[i].name) == 0 &&
               shape_equal(&dst->tensors[i].shape, &src->tensors[i].shape);
    if (!same)
        return lpz_error_set(err, LPZ_EINVAL,
                             "cannot copy between models of different structure (%lld and %lld parameters, %d and "
                             "%d tensors)",
                             (long long)src->n_params, (long long)dst->n_params, src->n_tensors, dst->n_tensors);
    int rc = lpz_model_write_params(dst, src->params, err);
    if (rc)
        return rc;
    if (src->n_bufs)
        memcpy(dst->bufs, src->bufs, (size_t)src->n_bufs * sizeof(float));
    return LPZ_OK;
}

void lpz_nn_set_threads(int threads)
{
    openblas_set_num_threads(threads < 1 ? 1 : threads);
}
