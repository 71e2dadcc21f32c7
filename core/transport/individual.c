/* core/transport/individual.c - POPULATION payload encoding and
 * validation (layout in individual.h and docs/protocol.md). */
#include "transport/individual.h"

#include <math.h>
#include <string.h>

#include "nn/adam.h"
#include "transport/wire.h"

static const char *role_name(unsigned r) { return r == LPZ_ROLE_GENERATOR ? "generator" : "discriminator"; }

void lpz_population_expect_any(lpz_population_expect *e)
{
    e->params[0] = e->params[1] = -1;
    e->buffers[0] = e->buffers[1] = -1;
}

/* Bytes of one individual, or 0 when it cannot fit in any payload. */
static uint64_t individual_bytes(uint64_t n, uint64_t b)
{
    if (n > LPZ_WIRE_MAX_POPULATION || b > LPZ_WIRE_MAX_POPULATION)
        return 0;
    return LPZ_INDIVIDUAL_HEADER_SIZE + 4 * (3 * n + b);
}

int lpz_population_size(const lpz_individual *inds, size_t count, size_t *size, lpz_error *err)
{
    if (count > LPZ_POPULATION_MAX_INDIVIDUALS)
        return lpz_error_set(err, LPZ_EINVAL, "a population message holds at most %u individuals, not %zu",
                             LPZ_POPULATION_MAX_INDIVIDUALS, count);
    uint64_t total = LPZ_POPULATION_HEADER_SIZE;
    for (size_t i = 0; i < count; i++) {
        uint64_t one = individual_bytes(inds[i].param_count, inds[i].buffer_count);
        if (!one || (total += one) > LPZ_WIRE_MAX_POPULATION)
            return lpz_error_set(err, LPZ_EINVAL,
                                 "population too large for one message (individual %zu brings it over %llu bytes)", i,
                                 (unsigned long long)LPZ_WIRE_MAX_POPULATION);
    }
    *size = (size_t)total;
    return LPZ_OK;
}

int lpz_population_encode(uint32_t cell, uint64_t iteration, const lpz_individual *inds, size_t count, uint8_t *buf,
                          size_t cap, size_t *written, lpz_error *err)
{
    size_t need;
    int rc = lpz_population_size(inds, count, &need, err);
    if (rc)
        return rc;
    if (need > cap)
        return lpz_error_set(err, LPZ_EINVAL, "population needs %zu bytes, buffer holds %zu", need, cap);
    for (size_t i = 0; i < count; i++) {
        const lpz_individual *d = &inds[i];
        if ((unsigned)d->role > LPZ_ROLE_DISCRIMINATOR)
            return lpz_error_set(err, LPZ_EINVAL, "individual %zu: invalid role %d", i, (int)d->role);
        if (d->loss_index >= LPZ_INDIVIDUAL_MAX_LOSSES)
            return lpz_error_set(err, LPZ_EINVAL, "individual %zu: loss index %u out of range", i, d->loss_index);
        if (!isfinite(d->learning_rate) || d->learning_rate < 0)
            return lpz_error_set(err, LPZ_EINVAL, "individual %zu: learning rate %g is not a finite value >= 0", i,
                                 d->learning_rate);
        if (d->adam_step < 0 || d->adam_step > LPZ_ADAM_MAX_STEP)
            return lpz_error_set(err, LPZ_EINVAL, "individual %zu: Adam step %lld outside [0, 2^53]", i,
                                 (long long)d->adam_step);
        if ((d->param_count && (!d->params || !d->adam_m || !d->adam_v)) || (d->buffer_count && !d->buffers))
            return lpz_error_set(err, LPZ_EINVAL, "individual %zu: missing parameter, Adam or buffer array", i);
    }
    lpz_cursor c = lpz_cursor_writer(buf, need);
    lpz_put_u32(&c, cell);
    lpz_put_u32(&c, (uint32_t)count);
    lpz_put_u64(&c, iteration);
    for (size_t i = 0; i < count; i++) {
        const lpz_individual *d = &inds[i];
        lpz_put_u8(&c, (uint8_t)d->role);
        lpz_put_u8(&c, d->loss_index);
        lpz_put_u16(&c, 0);
        lpz_put_u32(&c, d->source_cell);
        lpz_put_u64(&c, d->id);
        lpz_put_f64(&c, d->learning_rate);
        lpz_put_f64(&c, d->fitness);
        lpz_put_i64(&c, d->adam_step);
        lpz_put_u64(&c, d->param_count);
        lpz_put_u64(&c, d->buffer_count);
        lpz_put_f32s(&c, d->params, d->param_count);
        lpz_put_f32s(&c, d->adam_m, d->param_count);
        lpz_put_f32s(&c, d->adam_v, d->param_count);
        lpz_put_f32s(&c, d->buffers, d->buffer_count);
    }
    if (c.failed || c.pos != need) /* cannot happen: need was computed from the same counts */
        return lpz_error_set(err, LPZ_ESTATE, "population encoder wrote %zu of %zu bytes", c.pos, need);
    *written = need;
    return LPZ_OK;
}

/* Reads and checks one individual header; leaves the cursor at its first
 * float. */
static int read_individual_header(lpz_cursor *c, size_t index, lpz_individual *d, lpz_error *err)
{
    uint8_t role = 0, loss = 0;
    uint16_t reserved = 0;
    if (lpz_cursor_left(c) < LPZ_INDIVIDUAL_HEADER_SIZE)
        return lpz_error_set(err, LPZ_EFORMAT, "individual %zu: truncated header (%zu of %u bytes)", index,
                             lpz_cursor_left(c), LPZ_INDIVIDUAL_HEADER_SIZE);
    lpz_get_u8(c, &role);
    lpz_get_u8(c, &loss);
    lpz_get_u16(c, &reserved);
    lpz_get_u32(c, &d->source_cell);
    lpz_get_u64(c, &d->id);
    lpz_get_f64(c, &d->learning_rate);
    lpz_get_f64(c, &d->fitness);
    lpz_get_i64(c, &d->adam_step);
    lpz_get_u64(c, &d->param_count);
    lpz_get_u64(c, &d->buffer_count);
    if (role > LPZ_ROLE_DISCRIMINATOR)
        return lpz_error_set(err, LPZ_EFORMAT, "individual %zu: invalid role %u", index, role);
    d->role = (lpz_role)role;
    d->loss_index = loss;
    if (loss >= LPZ_INDIVIDUAL_MAX_LOSSES)
        return lpz_error_set(err, LPZ_EFORMAT, "individual %zu: loss index %u out of range (< %u)", index, loss,
                             LPZ_INDIVIDUAL_MAX_LOSSES);
    if (reserved)
        return lpz_error_set(err, LPZ_EFORMAT, "individual %zu: reserved field is %u, must be 0", index, reserved);
    if (!isfinite(d->learning_rate) || d->learning_rate < 0)
        return lpz_error_set(err, LPZ_EFORMAT, "individual %zu: learning rate %g is not a finite value >= 0", index,
                             d->learning_rate);
    if (d->adam_step < 0 || d->adam_step > LPZ_ADAM_MAX_STEP)
        return lpz_error_set(err, LPZ_EFORMAT, "individual %zu: Adam step %lld outside [0, 2^53]", index,
                             (long long)d->adam_step);
    uint64_t bytes = individual_bytes(d->param_count, d->buffer_count);
    if (!bytes || bytes - LPZ_INDIVIDUAL_HEADER_SIZE > lpz_cursor_left(c))
        return lpz_error_set(err, LPZ_EFORMAT,
                             "individual %zu (%s): %llu parameters and %llu buffers need more than the %zu bytes left",
                             index, role_name(role), (unsigned long long)d->param_count,
                             (unsigned long long)d->buffer_count, lpz_cursor_left(c));
    return LPZ_OK;
}

int lpz_population_parse(const uint8_t *payload, size_t len, const lpz_population_expect *expect,
                         lpz_population_view *v, lpz_error *err)
{
    memset(v, 0, sizeof *v);
    lpz_cursor c = lpz_cursor_reader(payload, len);
    uint32_t cell = 0, count = 0;
    uint64_t iteration = 0;
    lpz_get_u32(&c, &cell);
    lpz_get_u32(&c, &count);
    lpz_get_u64(&c, &iteration);
    if (c.failed)
        return lpz_error_set(err, LPZ_EFORMAT, "POPULATION payload truncated: %zu bytes, the header is %u", len,
                             LPZ_POPULATION_HEADER_SIZE);
    if (count > LPZ_POPULATION_MAX_INDIVIDUALS)
        return lpz_error_set(err, LPZ_EFORMAT, "POPULATION announces %u individuals, the limit is %u", count,
                             LPZ_POPULATION_MAX_INDIVIDUALS);
    for (uint32_t i = 0; i < count; i++) {
        lpz_individual d;
        int rc = read_individual_header(&c, i, &d, err);
        if (rc)
            return rc;
        if (expect) {
            int64_t ep = expect->params[d.role], eb = expect->buffers[d.role];
            if (ep >= 0 && d.param_count != (uint64_t)ep)
                return lpz_error_set(err, LPZ_EFORMAT,
                                     "individual %u (%s) has %llu parameters, this network has %lld", i,
                                     role_name(d.role), (unsigned long long)d.param_count, (long long)ep);
            if (eb >= 0 && d.buffer_count != (uint64_t)eb)
                return lpz_error_set(err, LPZ_EFORMAT, "individual %u (%s) has %llu buffers, this network has %lld",
                                     i, role_name(d.role), (unsigned long long)d.buffer_count, (long long)eb);
        }
        c.pos += (size_t)(4 * (3 * d.param_count + d.buffer_count)); /* checked against the space left */
    }
    if (lpz_cursor_left(&c) != 0)
        return lpz_error_set(err, LPZ_EFORMAT, "POPULATION payload has %zu bytes after its %u individuals",
                             lpz_cursor_left(&c), count);
    v->cell = cell;
    v->count = count;
    v->iteration = iteration;
    v->data = payload;
    v->len = len;
    return LPZ_OK;
}

/* The header of individual `index` into *d, with *c at its arrays. The
 * view was validated by lpz_population_parse, so walking the headers
 * cannot fail; it is checked anyway to stay memory-safe if a caller hands
 * in a view it built itself. */
static int seek_individual(const lpz_population_view *v, size_t index, lpz_cursor *c, lpz_individual *d,
                           lpz_error *err)
{
    if (!v->data || index >= v->count)
        return lpz_error_set(err, LPZ_EINVAL, "individual %zu requested from a population of %u", index, v->count);
    *c = lpz_cursor_reader(v->data, v->len);
    c->pos = LPZ_POPULATION_HEADER_SIZE;
    for (size_t i = 0;; i++) {
        int rc = read_individual_header(c, i, d, err);
        if (rc)
            return rc;
        if (i == index)
            return LPZ_OK;
        c->pos += (size_t)(4 * (3 * d->param_count + d->buffer_count));
    }
}

int lpz_population_get(const lpz_population_view *v, size_t index, lpz_individual *ind, size_t param_cap,
                       size_t buffer_cap, lpz_error *err)
{
    lpz_cursor c;
    lpz_individual d;
    int rc = seek_individual(v, index, &c, &d, err);
    if (rc)
        return rc;
    if ((ind->params || ind->adam_m || ind->adam_v) && d.param_count > param_cap)
        return lpz_error_set(err, LPZ_EINVAL, "individual %zu has %llu parameters, the destination holds %zu", index,
                             (unsigned long long)d.param_count, param_cap);
    if (ind->buffers && d.buffer_count > buffer_cap)
        return lpz_error_set(err, LPZ_EINVAL, "individual %zu has %llu buffers, the destination holds %zu", index,
                             (unsigned long long)d.buffer_count, buffer_cap);
    size_t n = (size_t)d.param_count, b = (size_t)d.buffer_count;
    lpz_get_f32s(&c, ind->params, n);
    lpz_get_f32s(&c, ind->adam_m, n);
    lpz_get_f32s(&c, ind->adam_v, n);
    lpz_get_f32s(&c, ind->buffers, b);
    if (c.failed)
        return lpz_error_set(err, LPZ_EFORMAT, "individual %zu: arrays truncated", index);
    d.params = ind->params;
    d.adam_m = ind->adam_m;
    d.adam_v = ind->adam_v;
    d.buffers = ind->buffers;
    *ind = d;
    return LPZ_OK;
}

int lpz_population_peek_supported(void)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    return 1;
#else
    return 0;
#endif
}

int lpz_population_peek(const lpz_population_view *v, size_t index, lpz_individual *ind, lpz_error *err)
{
#if !defined(__BYTE_ORDER__) || __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__ /* lpz_population_peek_supported() == 0 */
    (void)v, (void)index, (void)ind;
    return lpz_error_set(err, LPZ_EUNSUPPORTED, "reading a population in place needs a little-endian host");
#else
    lpz_cursor c;
    lpz_individual d;
    int rc = seek_individual(v, index, &c, &d, err);
    if (rc)
        return rc;
    /* The header checked that the arrays fit in what is left; every
     * offset is 16 + 56 k + 4 j bytes from the payload's start, so the
     * floats are 4-byte aligned in a malloc'd payload. */
    if ((uintptr_t)(v->data + c.pos) % sizeof(float))
        return lpz_error_set(err, LPZ_EUNSUPPORTED, "individual %zu: arrays not 4-byte aligned in memory", index);
    float *f = (float *)(uintptr_t)(v->data + c.pos);
    size_t n = (size_t)d.param_count;
    d.params = f;
    d.adam_m = f + n;
    d.adam_v = f + 2 * n;
    d.buffers = d.buffer_count ? f + 3 * n : NULL;
    *ind = d;
    return LPZ_OK;
#endif
}
