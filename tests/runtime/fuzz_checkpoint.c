/* tests/runtime/fuzz_checkpoint.c - a cell's checkpoint (what a resumed
 * run, and a distributed client given the master's copy, reads) on any
 * bytes: lpz_checkpoint_load into a cell of two generators and two
 * discriminators of a tiny MLP (hidden 2, latent 2, samples of 1x2x2), cell
 * 1 of a 2x2 grid with 3 mixture weights. Must never crash, leak or read
 * out of bounds. What it accepts must be a state the trainer can go on
 * from: finite parameters and moments, second moments >= 0, mixture
 * weights finite and >= 0, scalars in their ranges, random states (the
 * cell's, each model's) that are not all zero (xoshiro256 would give only
 * zeros); and it must survive a save and a load unchanged. The bytes go through a temporary run folder
 * (the loader takes the run's path). */
#include "runtime/checkpoint.h"

#include "config/options_internal.h"
#include "io/fsutil.h"
#include "io/safetensors.h"
#include "model/model.h"
#include "nn/model_frozen.h"

#include <lpz/lpz.h>

#include <inttypes.h>
#include <math.h>
#include <stdint.h>
#include <strings.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

extern const lpz_plugin lpz_plugin_descriptor;

#define POP 2
#define N_MIX 3
#define GRID 2
#define CELL 1

typedef struct cell_buf {
    lpz_member gen[POP], disc[POP];
    double mix[N_MIX];
    lpz_rng rng;
    lpz_cell_state st;
} cell_buf;

static char dirs[2][256]; /* the input's run folder, the re-saved one */
static lpz_options *opts;
static lpz_network *net;
static cell_buf a, b;

static void rm_run(const char *dir)
{
    char p[320];
    snprintf(p, sizeof p, "%s/checkpoints/cell-%d.safetensors", dir, CELL);
    unlink(p);
    snprintf(p, sizeof p, "%s/checkpoints", dir);
    rmdir(p);
    rmdir(dir);
}

static void cleanup(void)
{
    for (int i = 0; i < 2; i++)
        rm_run(dirs[i]);
    for (int i = 0; i < POP; i++) {
        lpz_member_free(&a.gen[i]), lpz_member_free(&a.disc[i]);
        lpz_member_free(&b.gen[i]), lpz_member_free(&b.disc[i]);
    }
    lpz_network_destroy(net);
    lpz_options_destroy(opts);
}

static int setup(void)
{
    lpz_error err;
    const char *tmp = getenv("TMPDIR");
    for (int i = 0; i < 2; i++) {
        snprintf(dirs[i], sizeof dirs[i], "%s/lpz-fuzz-ckpt-%ld-%d", tmp && tmp[0] ? tmp : "/tmp", (long)getpid(),
                 i);
        char p[320];
        snprintf(p, sizeof p, "%s/checkpoints", dirs[i]);
        if (lpz_mkdirs(p, &err))
            return -1;
    }
    opts = lpz_options_create(lpz_plugin_descriptor.options, lpz_plugin_descriptor.name);
    if (!opts || lpz_options_set(opts, "hidden", "2", "fuzz", &err) ||
        lpz_options_set(opts, "latent", "2", "fuzz", &err))
        return -1;
    lpz_shape sample = lpz_shape_make(3, 1, 2, 2, 0);
    if (lpz_network_create(&lpz_plugin_descriptor, opts, &sample, 0, &net, &err))
        return -1;
    cell_buf *cb[2] = {&a, &b};
    for (int k = 0; k < 2; k++) {
        for (int i = 0; i < POP; i++)
            if (lpz_member_init(&cb[k]->gen[i], net, LPZ_ROLE_GENERATOR, 1 + (uint64_t)i, 4, &err) ||
                lpz_member_init(&cb[k]->disc[i], net, LPZ_ROLE_DISCRIMINATOR, 9 + (uint64_t)i, 4, &err))
                return -1;
        cb[k]->st = (lpz_cell_state){.cell = CELL, .grid_k = GRID, .pop = POP, .gen = cb[k]->gen,
                                     .disc = cb[k]->disc, .mix = cb[k]->mix, .n_mix = N_MIX, .rng = &cb[k]->rng,
                                     .critic_saved = -1};
    }
    atexit(cleanup);
    return 0;
}

static int member_ok(const lpz_member *m)
{
    const float *p = lpz_model_params(m->model);
    for (int64_t i = 0; i < m->n_params; i++)
        if (!isfinite(p[i]) || !isfinite(m->adam->m[i]) || !isfinite(m->adam->v[i]) || m->adam->v[i] < 0)
            return 0;
    const lpz_rng *r = lpz_model_rng(m->model);
    if (!(r->s[0] | r->s[1] | r->s[2] | r->s[3]) || (r->has_spare != 0 && r->has_spare != 1) ||
        (r->has_spare && !isfinite(r->spare)))
        return 0;
    return isfinite(m->lr) && m->lr >= 0 && !isnan(m->fitness) && m->loss >= 0 && m->loss <= 3 &&
           m->source_cell >= 0 && m->source_cell < GRID * GRID && m->adam->t >= 0;
}

/* The model's generator (dropout masks): the same state and the same kept deviate, if any. */
static int rngs_equal(lpz_model *x, lpz_model *y)
{
    const lpz_rng *a = lpz_model_rng(x), *b = lpz_model_rng(y);
    return !memcmp(a->s, b->s, sizeof a->s) && a->has_spare == b->has_spare && (!a->has_spare || a->spare == b->spare);
}

static int members_equal(const lpz_member *x, const lpz_member *y)
{
    size_t n = (size_t)x->n_params * sizeof(float);
    return !memcmp(lpz_model_params(x->model), lpz_model_params(y->model), n) &&
           !memcmp(x->adam->m, y->adam->m, n) && !memcmp(x->adam->v, y->adam->v, n) && x->lr == y->lr &&
           x->id == y->id && x->loss == y->loss && x->source_cell == y->source_cell && x->adam->t == y->adam->t &&
           x->fitness == y->fitness && rngs_equal(x->model, y->model);
}

/* The accepted "rng" text is the state, in hex (nothing else read as it). */
static int rng_text_ok(const uint8_t *data, size_t size, const lpz_rng *rng)
{
    uint8_t *copy = malloc(size ? size : 1);
    if (!copy)
        return 1;
    memcpy(copy, data, size);
    lpz_st_file f;
    lpz_error err;
    if (lpz_st_parse(copy, size, &f, &err) != LPZ_OK) /* frees copy */
        return 0;
    const char *text = lpz_st_meta(&f, "rng");
    char want[65];
    snprintf(want, sizeof want, "%016" PRIx64 "%016" PRIx64 "%016" PRIx64 "%016" PRIx64, rng->s[0], rng->s[1],
             rng->s[2], rng->s[3]);
    int ok = text && strcasecmp(text, want) == 0;
    lpz_st_free(&f);
    return ok;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int ready;
    if (!ready) {
        if (setup())
            abort(); /* not the input's fault */
        ready = 1;
    }
    char path[320];
    snprintf(path, sizeof path, "%s/checkpoints/cell-%d.safetensors", dirs[0], CELL);
    FILE *f = fopen(path, "wb");
    if (!f)
        return 0;
    int ok = !size || fwrite(data, 1, size, f) == size;
    if (fclose(f) != 0 || !ok)
        return 0;
    lpz_error err;
    if (lpz_checkpoint_load(dirs[0], &a.st, &err) != LPZ_OK) {
        if (!err.message[0])
            __builtin_trap();
        return 0;
    }
    if (a.st.iteration < 0 || (a.rng.s[0] | a.rng.s[1] | a.rng.s[2] | a.rng.s[3]) == 0 ||
        !rng_text_ok(data, size, &a.rng))
        __builtin_trap();
    for (int i = 0; i < N_MIX; i++)
        if (!isfinite(a.mix[i]) || a.mix[i] < 0)
            __builtin_trap();
    for (int i = 0; i < POP; i++)
        if (!member_ok(&a.gen[i]) || !member_ok(&a.disc[i]))
            __builtin_trap();
    /* Saved again and read back: the same state. */
    if (lpz_checkpoint_save(dirs[1], &a.st, &err) != LPZ_OK ||
        lpz_checkpoint_load(dirs[1], &b.st, &err) != LPZ_OK)
        __builtin_trap();
    if (b.st.iteration != a.st.iteration || memcmp(a.rng.s, b.rng.s, sizeof a.rng.s) ||
        memcmp(a.mix, b.mix, sizeof a.mix))
        __builtin_trap();
    for (int i = 0; i < POP; i++)
        if (!members_equal(&a.gen[i], &b.gen[i]) || !members_equal(&a.disc[i], &b.disc[i]))
            __builtin_trap();
    return 0;
}
