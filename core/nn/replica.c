/* core/nn/replica.c - replicas of a model for data-parallel steps; see
 * replica.h. */
#include "nn/replica.h"

#include "nn/internal.h"
#include "nn/model_frozen.h"

#include <stdlib.h>

int lpz_replica_supported(const lpz_model *m)
{
    for (int i = 0; i < m->n_layers; i++) {
        const nn_layer *l = &m->layers[i];
        switch (l->kind) {
        case NN_LINEAR:
        case NN_RELU:
        case NN_LEAKY_RELU:
        case NN_TANH:
        case NN_SIGMOID:
        case NN_RESHAPE:
        case NN_REPEAT:
        case NN_LAST_STEP:
            break;
        case NN_DROPOUT:
            if (l->p != 0.0f)
                return 0;
            break;
        case NN_LSTM:
            /* Dropout between stacked layers draws from the model's rng. */
            if (l->num_layers > 1 && l->p != 0.0f)
                return 0;
            break;
        default: /* batch norm, convolutions (kept whole), custom layers */
            return 0;
        }
    }
    return 1;
}

int lpz_replica_create(const lpz_model *m, int64_t max_batch, lpz_model **out, lpz_error *err)
{
    *out = NULL;
    if (!lpz_replica_supported(m))
        return lpz_error_set(err, LPZ_EUNSUPPORTED,
                             "this network cannot be split over threads (batch norm, dropout or convolutions)");
    lpz_model *r;
    int rc = lpz_model_clone(m, &r, err);
    if (rc)
        return rc;
    lpz_model_borrow_params(r, NULL); /* frees the clone's copy: the replica reads a bound model's */
    lpz_model_zero_grad(r);
    if ((rc = lpz_model_reserve(r, max_batch, err))) {
        lpz_model_destroy(r);
        return rc;
    }
    *out = r;
    return LPZ_OK;
}

int lpz_replica_bind(lpz_model *r, const lpz_model *src, lpz_error *err)
{
    if (r->n_params != src->n_params || r->n_layers != src->n_layers)
        return lpz_error_set(err, LPZ_EINVAL,
                             "replica of a model with %lld parameters and %d layers bound to one with %lld and %d",
                             (long long)r->n_params, r->n_layers, (long long)src->n_params, src->n_layers);
    r->params = src->params;
    r->training = src->training;
    return LPZ_OK;
}

void lpz_replica_add_grads(lpz_model *dst, const lpz_model *src, int64_t begin, int64_t end)
{
    float *restrict d = dst->grads;
    const float *restrict s = src->grads;
    for (int64_t i = begin; i < end; i++)
        d[i] += s[i];
}
