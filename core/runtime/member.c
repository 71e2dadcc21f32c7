/* core/runtime/member.c - see member.h. */
#include "runtime/member.h"

#include "nn/model_frozen.h"

#include <stdlib.h>
#include <string.h>

static int64_t count_buffers(const lpz_model *model)
{
    int64_t total = 0;
    int n = lpz_model_tensor_count(model);
    for (int i = 0; i < n; i++) {
        const char *name;
        lpz_shape shape;
        float *data;
        int trainable;
        if (lpz_model_tensor_info(model, i, &name, &shape, &data, &trainable) == LPZ_OK && !trainable)
            total += lpz_shape_numel(&shape);
    }
    return total;
}

/* Walks the buffers in state_dict order, copying to or from flat. */
static void walk_buffers(const lpz_model *model, float *flat, int to_model)
{
    int n = lpz_model_tensor_count(model);
    int64_t off = 0;
    for (int i = 0; i < n; i++) {
        const char *name;
        lpz_shape shape;
        float *data;
        int trainable;
        if (lpz_model_tensor_info(model, i, &name, &shape, &data, &trainable) != LPZ_OK || trainable)
            continue;
        int64_t k = lpz_shape_numel(&shape);
        if (to_model)
            memcpy(data, flat + off, (size_t)k * sizeof(float));
        else
            memcpy(flat + off, data, (size_t)k * sizeof(float));
        off += k;
    }
}

void lpz_member_get_buffers(const lpz_member *m, float *out)
{
    walk_buffers(m->model, out, 0);
}

void lpz_member_set_buffers(lpz_member *m, const float *in)
{
    walk_buffers(m->model, (float *)in, 1);
}

int lpz_member_init(lpz_member *m, const lpz_network *net, lpz_role role, uint64_t seed, int64_t max_batch,
                    lpz_error *err)
{
    memset(m, 0, sizeof *m);
    int rc = lpz_network_build(net, role, seed, &m->model, err);
    if (rc)
        return rc;
    if ((rc = lpz_model_reserve(m->model, max_batch, err)))
        goto fail;
    lpz_model_set_training(m->model, 1);
    m->n_params = lpz_model_param_count(m->model);
    m->n_buffers = count_buffers(m->model);
    if ((rc = lpz_adam_create(m->n_params, &m->adam, err)))
        goto fail;
    return LPZ_OK;
fail:
    lpz_member_free(m);
    return rc;
}

void lpz_member_drop_adam(lpz_member *m)
{
    if (!m->adam)
        return;
    if (!m->adam_borrowed) {
        free(m->adam->m);
        free(m->adam->v);
    }
    m->adam->m = m->adam->v = NULL;
    m->adam_borrowed = 0;
}

void lpz_member_free(lpz_member *m)
{
    lpz_member_drop_adam(m); /* borrowed moments are not lpz_adam_destroy's to free */
    if (m->adam)
        lpz_adam_destroy(m->adam);
    if (m->model)
        lpz_model_destroy(m->model);
    memset(m, 0, sizeof *m);
}

void lpz_member_freeze(lpz_member *m)
{
    lpz_model_drop_grads(m->model);
}

/* The scalars an individual carries besides its Adam step (copied with
 * the moments by lpz_adam_copy, or set by the caller). */
static void copy_scalars(lpz_member *dst, const lpz_member *src)
{
    dst->lr = src->lr;
    dst->fitness = src->fitness;
    dst->id = src->id;
    dst->loss = src->loss;
    dst->source_cell = src->source_cell;
}

int lpz_member_copy(lpz_member *dst, const lpz_member *src, lpz_error *err)
{
    if (dst == src)
        return LPZ_OK;
    if (src->n_params && (!src->adam->m || !dst->adam->m || dst->adam_borrowed))
        return lpz_error_set(err, LPZ_ESTATE, "copying an individual: %s Adam moments are not available",
                             src->adam->m ? "the destination's own" : "the source's");
    int rc = lpz_model_copy_from(dst->model, src->model, err);
    if (!rc)
        rc = lpz_adam_copy(dst->adam, src->adam, err);
    if (rc)
        return rc;
    copy_scalars(dst, src);
    return LPZ_OK;
}

void lpz_member_to_wire(const lpz_member *m, lpz_role role, float *buffer_scratch, lpz_individual *out)
{
    memset(out, 0, sizeof *out);
    out->role = role;
    out->loss_index = (uint8_t)m->loss;
    out->source_cell = (uint32_t)m->source_cell;
    out->id = m->id;
    out->learning_rate = m->lr;
    out->fitness = m->fitness;
    out->adam_step = m->adam->t;
    out->param_count = (uint64_t)m->n_params;
    out->buffer_count = (uint64_t)m->n_buffers;
    out->params = lpz_model_params(m->model);
    out->adam_m = m->adam->m;
    out->adam_v = m->adam->v;
    if (m->n_buffers) {
        lpz_member_get_buffers(m, buffer_scratch);
        out->buffers = buffer_scratch;
    }
}

/* The scalars that travel with an individual. */
static void set_scalars(lpz_member *m, const lpz_individual *ind)
{
    m->adam->t = ind->adam_step;
    m->lr = ind->learning_rate;
    m->fitness = ind->fitness;
    m->id = ind->id;
    m->loss = ind->loss_index;
    m->source_cell = (int)ind->source_cell;
}

/* The member reads Adam moments it does not own (and, when params is not
 * NULL, its parameters): its own moments are freed. */
static void borrow_state(lpz_member *m, float *params, float *adam_m, float *adam_v)
{
    if (params)
        lpz_model_borrow_params(m->model, params);
    lpz_member_drop_adam(m);
    m->adam->m = adam_m;
    m->adam->v = adam_v;
    m->adam_borrowed = 1;
}

/* An individual of the wire fits the member's network. */
static int check_counts(const lpz_member *m, const lpz_individual *ind, size_t index, lpz_error *err)
{
    if (ind->param_count != (uint64_t)m->n_params || ind->buffer_count != (uint64_t)m->n_buffers)
        return lpz_error_set(err, LPZ_EFORMAT,
                             "individual %zu has %llu parameters and %llu buffers, expected %lld and %lld", index,
                             (unsigned long long)ind->param_count, (unsigned long long)ind->buffer_count,
                             (long long)m->n_params, (long long)m->n_buffers);
    return LPZ_OK;
}

int lpz_member_from_wire(lpz_member *m, const lpz_population_view *v, size_t index, float *buffer_scratch,
                         lpz_error *err)
{
    if (m->n_params && (!m->adam->m || m->adam_borrowed))
        return lpz_error_set(err, LPZ_ESTATE,
                             "decoding an individual into a member without Adam moments of its own");
    lpz_individual ind;
    memset(&ind, 0, sizeof ind);
    ind.params = lpz_model_params(m->model);
    ind.adam_m = m->adam->m;
    ind.adam_v = m->adam->v;
    ind.buffers = m->n_buffers ? buffer_scratch : NULL;
    int rc = lpz_population_get(v, index, &ind, (size_t)m->n_params, (size_t)m->n_buffers, err);
    if (rc)
        return rc;
    if ((rc = check_counts(m, &ind, index, err)))
        return rc;
    if (m->n_buffers)
        lpz_member_set_buffers(m, buffer_scratch);
    set_scalars(m, &ind);
    return LPZ_OK;
}

/* Individual `index` of the payload, in place, checked to fit the member. */
static int peek_fitting(const lpz_member *m, const lpz_population_view *v, size_t index, lpz_individual *ind,
                        lpz_error *err)
{
    int rc = lpz_population_peek(v, index, ind, err);
    return rc ? rc : check_counts(m, ind, index, err);
}

int lpz_member_borrow_wire(lpz_member *m, const lpz_population_view *v, size_t index, float *params_at,
                           float *buffer_scratch, lpz_error *err)
{
    lpz_individual ind;
    int rc = peek_fitting(m, v, index, &ind, err);
    if (rc)
        return rc;
    if (!params_at && (rc = lpz_model_write_params(m->model, ind.params, err)))
        return rc;
    if (m->n_buffers) {
        memcpy(buffer_scratch, ind.buffers, (size_t)m->n_buffers * sizeof(float));
        lpz_member_set_buffers(m, buffer_scratch);
    }
    borrow_state(m, params_at, ind.adam_m, ind.adam_v);
    set_scalars(m, &ind);
    return LPZ_OK;
}

int lpz_member_borrow_published(lpz_member *m, const lpz_population_view *v, size_t index, lpz_error *err)
{
    lpz_individual ind;
    int rc = peek_fitting(m, v, index, &ind, err);
    if (rc)
        return rc;
    if (ind.id != m->id || ind.adam_step != m->adam->t)
        return lpz_error_set(err, LPZ_EINVAL,
                             "individual %zu of the payload (id %llu, step %lld) is not this member (id %llu, step "
                             "%lld)",
                             index, (unsigned long long)ind.id, (long long)ind.adam_step, (unsigned long long)m->id,
                             (long long)m->adam->t);
    borrow_state(m, ind.params, ind.adam_m, ind.adam_v);
    return LPZ_OK;
}

/* dst's batch-norm buffers = src's, tensor by tensor (no scratch). */
static void copy_buffers(lpz_member *dst, const lpz_member *src)
{
    int n = lpz_model_tensor_count(dst->model);
    for (int i = 0; i < n && dst->n_buffers; i++) {
        const char *name;
        lpz_shape shape;
        float *d, *s;
        int trainable;
        if (lpz_model_tensor_info(dst->model, i, &name, &shape, &d, &trainable) == LPZ_OK && !trainable &&
            lpz_model_tensor_info(src->model, i, &name, &shape, &s, &trainable) == LPZ_OK)
            memcpy(d, s, (size_t)lpz_shape_numel(&shape) * sizeof(float));
    }
}

int lpz_member_adopt(lpz_member *dst, const lpz_member *src, lpz_error *err)
{
    if (dst == src)
        return LPZ_OK;
    if (dst->n_params != src->n_params || dst->n_buffers != src->n_buffers)
        return lpz_error_set(err, LPZ_EINVAL, "adopting an individual of another structure");
    if (src->n_params && !src->adam->m)
        return lpz_error_set(err, LPZ_ESTATE, "adopting an individual without Adam moments");
    copy_buffers(dst, src);
    borrow_state(dst, lpz_model_params(src->model), src->adam->m, src->adam->v);
    dst->adam->t = src->adam->t;
    copy_scalars(dst, src);
    return LPZ_OK;
}
