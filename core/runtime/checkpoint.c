/* core/runtime/checkpoint.c - see checkpoint.h. */
#include "runtime/checkpoint.h"

#include "base/file.h"
#include "io/fsutil.h"
#include "io/safetensors.h"
#include "io/text.h"
#include "nn/adam.h"
#include "nn/model_frozen.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <sys/stat.h>
#include <stdlib.h>
#include <string.h>

#define MAX_POP 64
#define META_PER_MEMBER 6
#define MAX_META (2 * MAX_POP * META_PER_MEMBER + 9)
#define RNG_SLOTS 6 /* kinds of model slot whose generators are saved (checkpoint.h) */
#define RNG_COLS 6  /* a generator's row: s[0..3], has_spare, the spare's bits */
#define MAX_TENSORS (2 * MAX_POP * 4 + RNG_SLOTS)

static void cell_path(char *out, size_t size, const char *run_dir, int cell)
{
    snprintf(out, size, "%s/checkpoints/cell-%d.safetensors", run_dir, cell);
}

typedef struct meta_builder {
    const char *keys[MAX_META];
    const char *values[MAX_META];
    char storage[MAX_META][2][160]; /* a value: 5 weights x 25 characters fits */
    int n;
    int truncated; /* a value did not fit: refuse to write a wrong checkpoint */
} meta_builder;

static void meta_add(meta_builder *m, const char *key, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void meta_add(meta_builder *m, const char *key, const char *fmt, ...)
{
    if (m->n >= MAX_META) {
        m->truncated = 1;
        return;
    }
    snprintf(m->storage[m->n][0], sizeof m->storage[m->n][0], "%s", key);
    va_list ap;
    va_start(ap, fmt);
    int len = vsnprintf(m->storage[m->n][1], sizeof m->storage[m->n][1], fmt, ap);
    va_end(ap);
    if (len < 0 || (size_t)len >= sizeof m->storage[m->n][1])
        m->truncated = 1;
    m->keys[m->n] = m->storage[m->n][0];
    m->values[m->n] = m->storage[m->n][1];
    m->n++;
}

/* A kind of model slot whose models' generators a checkpoint holds: tensor `name`, a row per model. */
typedef struct rng_slot {
    const char *name;
    lpz_member *members; /* [count] */
    int count;
} rng_slot;

/* The cell's slots in checkpoint.h's order; a slot the cell does not have has count 0. */
static void rng_slots(const lpz_cell_state *s, rng_slot out[RNG_SLOTS])
{
    int nb = s->nb_gen && s->nb_disc ? s->n_nb_slots : 0, sel = s->sel_gen && s->sel_disc ? s->pop : 0;
    out[0] = (rng_slot){"model_rng.generator", s->gen, s->pop};
    out[1] = (rng_slot){"model_rng.discriminator", s->disc, s->pop};
    out[2] = (rng_slot){"model_rng.neighbour_generator", s->nb_gen, nb};
    out[3] = (rng_slot){"model_rng.neighbour_discriminator", s->nb_disc, nb};
    out[4] = (rng_slot){"model_rng.selected_generator", s->sel_gen, sel};
    out[5] = (rng_slot){"model_rng.selected_discriminator", s->sel_disc, sel};
}

static void rng_to_row(const lpz_rng *r, int64_t row[RNG_COLS])
{
    uint64_t w[RNG_COLS] = {r->s[0], r->s[1], r->s[2], r->s[3], r->has_spare ? 1 : 0, 0};
    if (r->has_spare)
        memcpy(&w[5], &r->spare, sizeof w[5]);
    memcpy(row, w, sizeof w); /* the words as they are: I64 is the 64-bit type safetensors has */
}

/* A row as rng_to_row writes it: a state that is not all zero (xoshiro256 would give only zeros: every mask
 * the same), a flag 0 or 1, a finite deviate (0 without one). */
static int row_to_rng(const int64_t row[RNG_COLS], lpz_rng *r)
{
    uint64_t w[RNG_COLS];
    memcpy(w, row, sizeof w);
    double spare;
    memcpy(&spare, &w[5], sizeof spare);
    if (!(w[0] | w[1] | w[2] | w[3]) || w[4] > 1 || (w[4] ? !isfinite(spare) : w[5] != 0))
        return 0;
    memcpy(r->s, w, sizeof r->s);
    r->has_spare = (int)w[4];
    r->spare = w[4] ? spare : 0.0;
    return 1;
}

int lpz_checkpoint_save(const char *run_dir, const lpz_cell_state *s, lpz_error *err)
{
    if (s->pop > MAX_POP)
        return lpz_error_set(err, LPZ_EINVAL, "population %d is too large to checkpoint", s->pop);
    char dir[PATH_MAX], path[PATH_MAX + 64];
    snprintf(dir, sizeof dir, "%s/checkpoints", run_dir);
    int rc = lpz_mkdirs(dir, err);
    if (rc)
        return rc;
    cell_path(path, sizeof path, run_dir, s->cell);

    lpz_st_tensor *t = calloc(MAX_TENSORS, sizeof *t);
    meta_builder *m = calloc(1, sizeof *m);
    char (*names)[64] = calloc(MAX_TENSORS, sizeof *names);
    float **bufs = calloc((size_t)(2 * s->pop), sizeof *bufs);
    int64_t *rows[RNG_SLOTS] = {NULL};
    int nt = 0;
    if (!t || !m || !names || !bufs) {
        rc = lpz_error_set(err, LPZ_ENOMEM, "out of memory writing a checkpoint");
        goto done;
    }
    meta_add(m, "format", "lpz-checkpoint-1");
    meta_add(m, "cell", "%d", s->cell);
    meta_add(m, "grid_size", "%d", s->grid_k);
    meta_add(m, "iteration", "%d", s->iteration);
    meta_add(m, "population_size", "%d", s->pop);
    meta_add(m, "critic", "%d", s->critic ? 1 : 0);
    char mix[512];
    size_t n = 0;
    for (int k = 0; k < s->n_mix && n < sizeof mix; k++)
        n += (size_t)snprintf(mix + n, sizeof mix - n, "%s%.17g", k ? "," : "", s->mix[k]);
    meta_add(m, "mixture_weights", "%s", n ? mix : "");
    meta_add(m, "rng", "%016" PRIx64 "%016" PRIx64 "%016" PRIx64 "%016" PRIx64, s->rng->s[0], s->rng->s[1],
             s->rng->s[2], s->rng->s[3]);
    /* the normal deviate Box-Muller keeps for the next draw (learning-rate mutations draw one at a time):
     * without it a resumed run's next draw was another number than the run left uninterrupted drew */
    uint64_t spare_bits;
    memcpy(&spare_bits, &s->rng->spare, sizeof spare_bits);
    if (s->rng->has_spare)
        meta_add(m, "rng_spare", "%016" PRIx64, spare_bits);
    else
        meta_add(m, "rng_spare", "none");
    for (int role = 0; role < 2; role++)
        for (int i = 0; i < s->pop; i++) {
            const lpz_member *mb = role ? &s->disc[i] : &s->gen[i];
            const char *rn = role ? "discriminator" : "generator";
            char key[64];
            const float *arrays[3] = {lpz_model_params(mb->model), mb->adam->m, mb->adam->v};
            const char *suffix[3] = {"params", "adam_m", "adam_v"};
            for (int a = 0; a < 3; a++) {
                snprintf(names[nt], sizeof names[nt], "%s.%d.%s", rn, i, suffix[a]);
                t[nt] = (lpz_st_tensor){names[nt], LPZ_ST_F32, 1, {mb->n_params}, arrays[a],
                                        (size_t)mb->n_params * sizeof(float)};
                nt++;
            }
            if (mb->n_buffers) {
                float *b = bufs[role * s->pop + i] = malloc((size_t)mb->n_buffers * sizeof(float));
                if (!b) {
                    rc = lpz_error_set(err, LPZ_ENOMEM, "out of memory writing a checkpoint");
                    goto done;
                }
                lpz_member_get_buffers(mb, b);
                snprintf(names[nt], sizeof names[nt], "%s.%d.buffers", rn, i);
                t[nt] = (lpz_st_tensor){names[nt], LPZ_ST_F32, 1, {mb->n_buffers}, b,
                                        (size_t)mb->n_buffers * sizeof(float)};
                nt++;
            }
            snprintf(key, sizeof key, "%s.%d.lr", rn, i);
            meta_add(m, key, "%.17g", mb->lr);
            snprintf(key, sizeof key, "%s.%d.fitness", rn, i);
            meta_add(m, key, "%.17g", mb->fitness);
            snprintf(key, sizeof key, "%s.%d.id", rn, i);
            meta_add(m, key, "%" PRIu64, mb->id);
            snprintf(key, sizeof key, "%s.%d.adam_step", rn, i);
            meta_add(m, key, "%" PRId64, mb->adam->t);
            snprintf(key, sizeof key, "%s.%d.loss", rn, i);
            meta_add(m, key, "%d", mb->loss);
            snprintf(key, sizeof key, "%s.%d.source_cell", rn, i);
            meta_add(m, key, "%d", mb->source_cell);
        }
    rng_slot slots[RNG_SLOTS];
    rng_slots(s, slots);
    for (int k = 0; k < RNG_SLOTS; k++) {
        if (!slots[k].count)
            continue;
        if (!(rows[k] = malloc((size_t)slots[k].count * RNG_COLS * sizeof *rows[k]))) {
            rc = lpz_error_set(err, LPZ_ENOMEM, "out of memory writing a checkpoint");
            goto done;
        }
        for (int i = 0; i < slots[k].count; i++)
            rng_to_row(lpz_model_rng(slots[k].members[i].model), rows[k] + (size_t)i * RNG_COLS);
        snprintf(names[nt], sizeof names[nt], "%s", slots[k].name);
        t[nt] = (lpz_st_tensor){names[nt], LPZ_ST_I64, 2, {slots[k].count, RNG_COLS}, rows[k],
                                (size_t)slots[k].count * RNG_COLS * sizeof *rows[k]};
        nt++;
    }
    if (m->truncated)
        rc = lpz_error_set(err, LPZ_EINVAL, "checkpoint metadata of cell %d does not fit", s->cell);
    else
        rc = lpz_st_write(path, t, nt, m->keys, m->values, m->n, err);
done:
    for (int k = 0; k < RNG_SLOTS; k++)
        free(rows[k]);
    for (int i = 0; bufs && i < 2 * s->pop; i++)
        free(bufs[i]);
    free(bufs);
    free(names);
    free(m);
    free(t);
    return rc;
}

/* Parses a metadata value; LPZ_EFORMAT naming the key when absent or bad. */
static int meta_number(const lpz_st_file *f, const char *path, const char *key, double *out, lpz_error *err)
{
    const char *v = lpz_st_meta(f, key);
    char *end;
    if (!v)
        return lpz_error_set(err, LPZ_EFORMAT, "%s: checkpoint has no '%s'", path, key);
    errno = 0;
    *out = strtod(v, &end);
    if (end == v || *end || errno == ERANGE)
        return lpz_error_set(err, LPZ_EFORMAT, "%s: checkpoint value '%s' of '%s' is not a number", path, v, key);
    return LPZ_OK;
}

/* An integer metadata value in [lo, hi] (written with %d or PRId64): a
 * fraction, a sign where none belongs or a value out of range is refused
 * instead of being cast (a checkpoint's iteration indexes arrays). */
static int meta_int(const lpz_st_file *f, const char *path, const char *key, int64_t lo, int64_t hi, int64_t *out,
                    lpz_error *err)
{
    const char *v = lpz_st_meta(f, key);
    char *end;
    if (!v)
        return lpz_error_set(err, LPZ_EFORMAT, "%s: checkpoint has no '%s'", path, key);
    errno = 0;
    long long x = strtoll(v, &end, 10);
    if (end == v || *end || errno == ERANGE || x < lo || x > hi)
        return lpz_error_set(err, LPZ_EFORMAT, "%s: checkpoint value '%s' of '%s' is not an integer in [%lld, %lld]",
                             path, v, key, (long long)lo, (long long)hi);
    *out = x;
    return LPZ_OK;
}

/* What load_array checks of the values besides type and size. */
enum { ANY_VALUE, FINITE, FINITE_NONNEG };

static int load_array(const lpz_st_file *f, const char *path, const char *name, float *out, int64_t count,
                      int check, lpz_error *err)
{
    const lpz_st_tensor *t = lpz_st_find(f, name);
    if (!t)
        return lpz_error_set(err, LPZ_EFORMAT, "%s: checkpoint has no tensor '%s'", path, name);
    if (t->dtype == LPZ_ST_F32 && t->ndim == 1 && t->shape[0] != count) {
        /* the usual cause: a resume with other network options (--set network.width=...) */
        lpz_error_set(err, LPZ_EFORMAT, "%s: tensor '%s' holds %lld values, but this configuration's network has "
                      "%lld", path, name, (long long)t->shape[0], (long long)count);
        lpz_error_hint(err, "the checkpoints were written by another network: resume with the network options the "
                            "run trained with (the network section of the run's config.yml, without --set "
                            "network.*)");
        return LPZ_EFORMAT;
    }
    if (t->dtype != LPZ_ST_F32 || t->ndim != 1 || t->shape[0] != count)
        return lpz_error_set(err, LPZ_EFORMAT, "%s: tensor '%s' has the wrong type or size (expected F32 [%lld])",
                             path, name, (long long)count);
    memcpy(out, t->data, (size_t)count * sizeof(float));
    for (int64_t i = 0; check != ANY_VALUE && i < count; i++)
        if (!isfinite(out[i]) || (check == FINITE_NONNEG && out[i] < 0.0f))
            return lpz_error_set(err, LPZ_EFORMAT, "%s: tensor '%s' holds %g at element %lld (%s)", path, name,
                                 (double)out[i], (long long)i,
                                 check == FINITE_NONNEG ? "Adam's second moments are finite and >= 0"
                                                        : "a saved state holds finite numbers");
    return LPZ_OK;
}

/* The generators of the cell's models (model_rng.*), each slot's tensor when the checkpoint has it (checkpoint.h):
 * all checked before any is set. */
static int load_model_rngs(const lpz_st_file *f, const char *path, lpz_cell_state *s, lpz_error *err)
{
    rng_slot slots[RNG_SLOTS];
    rng_slots(s, slots);
    s->rng_missing = 0;
    for (int pass = 0; pass < 2; pass++)
        for (int k = 0; k < RNG_SLOTS; k++) {
            const lpz_st_tensor *t = slots[k].count ? lpz_st_find(f, slots[k].name) : NULL;
            if (!t) {
                s->rng_missing |= slots[k].count > 0;
                continue;
            }
            if (t->dtype != LPZ_ST_I64 || t->ndim != 2 || t->shape[0] != slots[k].count || t->shape[1] != RNG_COLS)
                return lpz_error_set(err, LPZ_EFORMAT, "%s: tensor '%s' has the wrong type or size (expected I64 "
                                     "[%d, %d]: the random state of each of its models)", path, slots[k].name,
                                     slots[k].count, RNG_COLS);
            for (int i = 0; i < slots[k].count; i++) {
                int64_t row[RNG_COLS];
                lpz_rng r;
                memcpy(row, (const char *)t->data + (size_t)i * sizeof row, sizeof row); /* may be unaligned */
                if (!row_to_rng(row, &r))
                    return lpz_error_set(err, LPZ_EFORMAT, "%s: row %d of tensor '%s' is not a random state (4 words "
                                         "not all 0, a flag 0 or 1, a finite normal deviate or 0 without one)", path,
                                         i, slots[k].name);
                if (pass)
                    *lpz_model_rng(slots[k].members[i].model) = r;
            }
        }
    return LPZ_OK;
}

/* A checkpoint path that is not a regular file: missing, or something else
 * there (a FIFO, a folder, a link to a device), said as such. */
static int no_checkpoint(const char *path, int cell, lpz_error *err)
{
    struct stat st;
    if (stat(path, &st) != 0 && errno == ENOENT)
        return lpz_error_set(err, LPZ_ENOTFOUND, "no checkpoint for cell %d (%s)", cell, path);
    if (stat(path, &st) != 0) { /* there, perhaps, but unreadable (EACCES, a loop of links): not "none" */
        lpz_error_set(err, LPZ_EIO, "cannot read the checkpoint of cell %d: %s", cell, strerror(errno));
        lpz_error_where(err, "%s", path);
        return LPZ_EIO;
    }
    lpz_error_set(err, LPZ_EINVAL, "the checkpoint of cell %d is not a regular file (%s)", cell,
                  lpz_file_kind(st.st_mode));
    lpz_error_where(err, "%s", path);
    return LPZ_EINVAL;
}

int lpz_checkpoint_iteration(const char *run_dir, int cell, int *iteration, lpz_error *err)
{
    char path[PATH_MAX + 64];
    cell_path(path, sizeof path, run_dir, cell);
    if (!lpz_is_file(path))
        return no_checkpoint(path, cell, err);
    lpz_st_file f;
    int rc = lpz_st_read(path, &f, err);
    if (rc)
        return rc;
    const char *fmt = lpz_st_meta(&f, "format");
    int64_t c = -1, it = 0;
    if (!fmt || strcmp(fmt, "lpz-checkpoint-1") != 0)
        rc = lpz_error_set(err, LPZ_EFORMAT, "%s is not an lpz checkpoint (format '%s')", path, fmt ? fmt : "none");
    if (!rc && !(rc = meta_int(&f, path, "cell", 0, INT_MAX, &c, err)) && c != cell)
        rc = lpz_error_set(err, LPZ_EFORMAT, "%s holds the state of cell %lld, not of cell %d", path, (long long)c,
                           cell);
    if (!rc && !(rc = meta_int(&f, path, "iteration", 0, INT_MAX, &it, err)))
        *iteration = (int)it;
    lpz_st_free(&f);
    return rc;
}

int lpz_checkpoint_load(const char *run_dir, lpz_cell_state *s, lpz_error *err)
{
    char path[PATH_MAX + 64];
    cell_path(path, sizeof path, run_dir, s->cell);
    if (!lpz_is_file(path))
        return no_checkpoint(path, s->cell, err);
    lpz_st_file f;
    int rc = lpz_st_read(path, &f, err);
    if (rc)
        return rc;
    const char *fmt = lpz_st_meta(&f, "format");
    if (!fmt || strcmp(fmt, "lpz-checkpoint-1") != 0) {
        rc = lpz_error_set(err, LPZ_EFORMAT, "%s is not an lpz checkpoint (format '%s')", path, fmt ? fmt : "none");
        goto done;
    }
    int64_t iv;
    if ((rc = meta_int(&f, path, "population_size", 1, MAX_POP, &iv, err)))
        goto done;
    if (iv != s->pop) {
        rc = lpz_error_set(err, LPZ_EFORMAT, "%s holds a population of %d, the run has %d", path, (int)iv, s->pop);
        goto done;
    }
    if ((rc = meta_int(&f, path, "grid_size", 1, INT_MAX, &iv, err)))
        goto done;
    if (iv != s->grid_k) {
        rc = lpz_error_set(err, LPZ_EINVAL, "%s belongs to a %dx%d grid, this run has %dx%d", path, (int)iv, (int)iv,
                           s->grid_k, s->grid_k);
        lpz_error_hint(err, "resume with --grid %d (or --set general.grid_size=%d)", (int)iv, (int)iv);
        goto done;
    }
    if ((rc = meta_int(&f, path, "cell", 0, INT_MAX, &iv, err)))
        goto done;
    if (iv != s->cell) {
        rc = lpz_error_set(err, LPZ_EFORMAT, "%s holds the state of cell %lld, not of cell %d", path, (long long)iv,
                           s->cell);
        goto done;
    }
    if ((rc = meta_int(&f, path, "iteration", 0, INT_MAX, &iv, err)))
        goto done;
    s->iteration = (int)iv;
    /* whether it holds critics (lipizzaner_wgan); not said by an earlier lpz's checkpoints */
    int64_t critic = -1;
    if (lpz_st_meta(&f, "critic") && (rc = meta_int(&f, path, "critic", 0, 1, &critic, err)))
        goto done;
    s->critic_saved = (int)critic;
    /* the cell's n_mix mixture weights, each finite and >= 0 */
    const char *mix = lpz_st_meta(&f, "mixture_weights");
    int n_mix = 0;
    for (const char *q = mix; q && *q && !rc; n_mix++) {
        char *end;
        double w = strtod(q, &end); /* an underflow (a denormal weight) is a weight; an overflow is inf */
        if (end == q || (*end && *end != ',') || !isfinite(w) || w < 0 || n_mix >= s->n_mix)
            rc = lpz_error_set(err, LPZ_EFORMAT, "%s: checkpoint value '%s' of 'mixture_weights' is not %d weights "
                               "(finite, >= 0, separated by commas)", path, mix, s->n_mix);
        else
            s->mix[n_mix] = w;
        q = *end == ',' ? end + 1 : end;
    }
    if (!rc && n_mix != s->n_mix)
        rc = lpz_error_set(err, LPZ_EFORMAT, "%s: checkpoint value '%s' of 'mixture_weights' is not %d weights "
                           "(finite, >= 0, separated by commas)", path, mix ? mix : "", s->n_mix);
    double wsum = 0;
    for (int j = 0; !rc && j < n_mix; j++)
        wsum += s->mix[j];
    if (!rc && !(wsum > 0)) /* the mixture samples no generator: the next score failed naming nothing */
        rc = lpz_error_set(err, LPZ_EFORMAT, "%s: checkpoint value '%s' of 'mixture_weights': every weight is 0",
                           path, mix);
    if (rc)
        goto done;
    /* The generator's state as written: 4 x 16 hex digits. strtoull alone
     * would also take signs, spaces and "0x", and garbage as 0; an all-zero
     * state would make xoshiro256 return only zeros (every latent 0). */
    const char *rng = lpz_st_meta(&f, "rng");
    uint64_t state[4] = {0};
    int bad = !rng || strlen(rng) != 64;
    for (int i = 0; !bad && i < 64; i++) {
        int d = lpz_hex_digit((unsigned char)rng[i]);
        bad = d < 0;
        state[i / 16] = state[i / 16] << 4 | (uint64_t)(d & 15);
    }
    if (bad || !(state[0] | state[1] | state[2] | state[3])) {
        rc = lpz_error_set(err, LPZ_EFORMAT, "%s: checkpoint value '%.80s' of 'rng' is not %s", path, rng ? rng : "",
                           bad ? "64 hex digits (the random state)" : "a random state (it is all zero)");
        goto done;
    }
    memcpy(s->rng->s, state, sizeof state);
    /* the cached normal deviate: "none", or the 16 hex digits of its bits; an earlier lpz's checkpoints do not
     * hold it (they resume without it, as they always did) */
    const char *spare = lpz_st_meta(&f, "rng_spare");
    s->rng->has_spare = 0;
    s->rng->spare = 0.0;
    if (spare && strcmp(spare, "none") != 0) {
        uint64_t bits = 0;
        bad = strlen(spare) != 16;
        for (int i = 0; !bad && i < 16; i++) {
            int d = lpz_hex_digit((unsigned char)spare[i]);
            bad = d < 0;
            bits = bits << 4 | (uint64_t)(d & 15);
        }
        double v;
        memcpy(&v, &bits, sizeof v);
        if (bad || !isfinite(v)) {
            rc = lpz_error_set(err, LPZ_EFORMAT, "%s: checkpoint value '%.80s' of 'rng_spare' is not 'none' or 16 hex "
                               "digits (the bits of a finite normal deviate)", path, spare);
            goto done;
        }
        s->rng->spare = v;
        s->rng->has_spare = 1;
    }
    for (int role = 0; role < 2 && !rc; role++)
        for (int i = 0; i < s->pop && !rc; i++) {
            lpz_member *mb = role ? &s->disc[i] : &s->gen[i];
            const char *rn = role ? "discriminator" : "generator";
            char name[96];
            snprintf(name, sizeof name, "%s.%d.params", rn, i);
            rc = load_array(&f, path, name, lpz_model_params(mb->model), mb->n_params, FINITE, err);
            snprintf(name, sizeof name, "%s.%d.adam_m", rn, i);
            if (!rc)
                rc = load_array(&f, path, name, mb->adam->m, mb->n_params, FINITE, err);
            snprintf(name, sizeof name, "%s.%d.adam_v", rn, i);
            if (!rc)
                rc = load_array(&f, path, name, mb->adam->v, mb->n_params, FINITE_NONNEG, err);
            if (!rc && mb->n_buffers) {
                float *b = malloc((size_t)mb->n_buffers * sizeof(float));
                snprintf(name, sizeof name, "%s.%d.buffers", rn, i);
                rc = b ? load_array(&f, path, name, b, mb->n_buffers, FINITE, err)
                       : lpz_error_set(err, LPZ_ENOMEM, "out of memory");
                if (!rc)
                    lpz_member_set_buffers(mb, b);
                free(b);
            }
            double lr = 0, fitness = 0;
            int64_t id = 0, step = 0, loss = 0, source = 0;
            snprintf(name, sizeof name, "%s.%d.lr", rn, i);
            if (!rc && !(rc = meta_number(&f, path, name, &lr, err)) && !(isfinite(lr) && lr >= 0))
                rc = lpz_error_set(err, LPZ_EFORMAT, "%s: checkpoint value %g of '%s' is not a learning rate >= 0",
                                   path, lr, name);
            snprintf(name, sizeof name, "%s.%d.fitness", rn, i);
            if (!rc && !(rc = meta_number(&f, path, name, &fitness, err)) && isnan(fitness))
                rc = lpz_error_set(err, LPZ_EFORMAT, "%s: checkpoint value of '%s' is not a number", path, name);
            snprintf(name, sizeof name, "%s.%d.id", rn, i);
            if (!rc)
                rc = meta_int(&f, path, name, 0, INT64_MAX, &id, err);
            snprintf(name, sizeof name, "%s.%d.adam_step", rn, i);
            if (!rc)
                rc = meta_int(&f, path, name, 0, LPZ_ADAM_MAX_STEP, &step, err);
            snprintf(name, sizeof name, "%s.%d.loss", rn, i);
            if (!rc)
                rc = meta_int(&f, path, name, 0, 3, &loss, err);
            snprintf(name, sizeof name, "%s.%d.source_cell", rn, i);
            if (!rc)
                rc = meta_int(&f, path, name, 0, (int64_t)s->grid_k * s->grid_k - 1, &source, err);
            if (rc)
                break;
            mb->lr = lr;
            mb->fitness = fitness;
            mb->id = (uint64_t)id;
            mb->adam->t = step;
            mb->loss = (int)loss;
            mb->source_cell = (int)source;
        }
    if (!rc)
        rc = load_model_rngs(&f, path, s, err);
done:
    lpz_st_free(&f);
    return rc;
}
