/* core/runtime/trainer.c - the cells of a grid as threads; see trainer.h.
 *
 * One iteration of a cell (../shared/REFERENCE.md, "The algorithm of one
 * cell"): fetch the neighbours' populations; draw a fitness sample;
 * evaluate every generator against every discriminator of the
 * neighbourhood; tournament selection; per batch: mutate learning rates,
 * train the selected generators against random neighbourhood
 * discriminators, then (skip rule) the selected discriminators against
 * random neighbourhood generators; re-evaluate; replace; publish; log.
 */
#include "runtime/trainer.h"

#include "base/file.h"
#include "base/thread.h"
#include "data/batcher.h"
#include "evolution/evolution.h"
#include "io/fsutil.h"
#include "nn/adam.h"
#include "nn/loss.h"
#include "nn/model_frozen.h"
#include "nn/replica.h"
#include "runtime/checkpoint.h"
#include "runtime/member.h"
#include "runtime/pair.h"
#include "runtime/run.h"
#include "runtime/units.h"
#include "transport/individual.h"
#include "transport/peer.h"

#include <lpz/log.h>

#include <errno.h>
#include <malloc.h>
#include <math.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define ADAM_BETA1 0.5
#define ADAM_BETA2 0.999
#define FETCH_TIMEOUT_MS 10000
#define SAMPLE_COUNT 64   /* samples rendered per cell and iteration */
#define WGAN_CRITIC_STEPS 5
#define WGAN_CLIP 0.01f
/* Stream numbers of the slot seeds: apart from the cells' own (0 .. cells-1). */
#define SLOT_STREAM ((uint64_t)1 << 62)
/* Longest wait of a deferred publish for the neighbours still reading the
 * last one (their fetch-to-selection takes about 0.25 s in the quick
 * start); then it takes a new buffer. */
#define PUBLISH_WAIT_MS 1000

/* ---- a barrier every cell can break (so a failing cell never strands the
 * others) that also hands every waiter the same stop decision ---------- */

typedef struct cell_barrier {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    int count, waiting, generation, broken, decided_stop;
} cell_barrier;

static void barrier_init(cell_barrier *b, int count)
{
    pthread_mutex_init(&b->lock, NULL);
    pthread_cond_init(&b->cond, NULL);
    b->count = count;
    b->waiting = b->generation = b->broken = b->decided_stop = 0;
}

static void barrier_destroy(cell_barrier *b)
{
    pthread_mutex_destroy(&b->lock);
    pthread_cond_destroy(&b->cond);
}

/* Returns the stop decision taken by the last thread to arrive (1 = stop). */
static int barrier_wait(cell_barrier *b, volatile int *stop)
{
    pthread_mutex_lock(&b->lock);
    if (b->broken) {
        pthread_mutex_unlock(&b->lock);
        return 1;
    }
    int gen = b->generation;
    if (++b->waiting == b->count) {
        b->decided_stop = stop ? __atomic_load_n(stop, __ATOMIC_SEQ_CST) : 0;
        b->waiting = 0;
        b->generation++;
        pthread_cond_broadcast(&b->cond);
    } else {
        /* A stop asked for while waiting (Ctrl-C, SIGTERM) breaks the
         * barrier, so every cell stops here or at its next barrier even
         * when another one never arrives. */
        while (gen == b->generation && !b->broken) {
            struct timespec until;
            clock_gettime(CLOCK_REALTIME, &until);
            until.tv_nsec += 200 * 1000 * 1000;
            if (until.tv_nsec >= 1000000000L) {
                until.tv_sec++;
                until.tv_nsec -= 1000000000L;
            }
            pthread_cond_timedwait(&b->cond, &b->lock, &until);
            if (gen == b->generation && stop && __atomic_load_n(stop, __ATOMIC_SEQ_CST)) {
                b->broken = 1;
                pthread_cond_broadcast(&b->cond);
            }
        }
    }
    int decided = b->broken ? 1 : b->decided_stop;
    pthread_mutex_unlock(&b->lock);
    return decided;
}

static void barrier_break(cell_barrier *b)
{
    pthread_mutex_lock(&b->lock);
    b->broken = 1;
    pthread_cond_broadcast(&b->cond);
    pthread_mutex_unlock(&b->lock);
}

/* ---- state ------------------------------------------------------------- */

typedef struct trainer trainer;

/* The parameters of one published version of a cell's population (all
 * its individuals' in payload order), copied out of the payload once and
 * read by every in-process neighbour that fetched that version, until
 * each fetches again: in a 2x2 grid each cell has two readers, so one
 * copy instead of two (2.2 MB per cell for the quick start), and the
 * payload with its Adam moments can go (or be republished in place). */
typedef struct nb_params {
    int refs;                      /* readers; under the publisher's params_lock */
    const lpz_peer_snapshot *snap; /* the version: its snapshot and iteration */
    uint64_t iteration;
    float *data;
} nb_params;

typedef struct cell {
    trainer *tr;
    int id;    /* cell number in the grid */
    int index; /* position among this process's cells */
    int nb[LPZ_MAX_NEIGHBOURS], n_nb;
    lpz_rng rng;
    lpz_batcher *batcher;
    lpz_member *gen, *disc;           /* [pop] local populations */
    lpz_member *sel_gen, *sel_disc;   /* [pop] selected copies (NULL: train the local ones) */
    lpz_member *nb_gen, *nb_disc;     /* [(n_nb - 1) * pop] neighbours' last known populations */
    lpz_member **all_gen, **all_disc; /* [n_nb * pop] local first, then neighbours in order */
    double mix[LPZ_MAX_NEIGHBOURS];
    double score;
    int score_es; /* score is optimize_mixture's */
    lpz_score_context *score_ctx;
    float *real, *z, *dout, *dfake, *fit_z, *sample_z, *samples, *buf_scratch;
    /* The fitness sample's dataset indices, read a chunk at a time into
     * the discriminators' input buffer (eval_chunks): 3 MB per cell less
     * than holding the sample (MNIST, 1,000). */
    int64_t *fit_idx;
    /* 1: a discriminator step joins its real rows and its fake rows, so
     * that D runs one forward and one backward over 2B rows instead of two
     * over B (larger GEMMs, weights packed once). Only for networks whose
     * samples do not interact (no batch norm, no dropout: the same loss
     * and gradients up to float summation order); 0: two passes. */
    int joined;
    /* rows per fitness chunk: for networks whose samples do not interact
     * (no batch norm or dropout) a multiple of 16 (the linear kernels'
     * vector of samples) of at least 128 and at least a batch: at 100 rows
     * the kernels' last vector held 4 samples, 11% of the lanes idle;
     * otherwise a batch (batch statistics over the rows of a training
     * batch; the original's over the whole fitness sample, which it
     * evaluates as one batch: docs/configuration.md) */
    int64_t fit_batch;
    double fit_before[2][64]; /* the population's fitness before this iteration (G, D; population <= 64) */
    int fit_restorable;       /* 1 until the trained networks are evaluated (a stop puts fit_before back) */
    double *pair_loss, *real_loss;
    size_t wire_cap; /* bytes of this cell's POPULATION payload */
    lpz_peer_server *server;
    lpz_peer_client *clients[LPZ_MAX_NEIGHBOURS]; /* neighbours in other processes */
    /* Neighbours run by this process (local mode) are read in place from
     * their servers' snapshots (no copy over inproc): nb_cell[k] non-NULL.
     * nb_snap[k] keeps the snapshot whose Adam moments neighbour k's
     * members borrow, from fetch_neighbours until selection has copied
     * what it picked (release_neighbours); their parameters are one copy
     * per published version (nb_params). */
    lpz_peer_snapshot *nb_snap[LPZ_MAX_NEIGHBOURS];
    struct cell *nb_cell[LPZ_MAX_NEIGHBOURS]; /* that neighbour (in-process), else NULL */
    nb_params *nb_params_held[LPZ_MAX_NEIGHBOURS]; /* the parameters its members read */
    nb_params *nb_params_spare[LPZ_MAX_NEIGHBOURS]; /* after a failed fetch: a version members may read too */
    /* As a publisher: the last version its readers decoded (weak: freed
     * by its last reader), and the lock over it and every refs count. */
    pthread_mutex_t params_lock;
    nb_params *shared_params;
    /* With selection, the local individuals' Adam moments are read in
     * place from the cell's own published snapshot (borrow_own): they only
     * change by replacement, right before the next publish. */
    lpz_peer_snapshot *own_snap;
    /* A publish deferred to the next selection (publish): the iteration
     * (0: none) and the individuals as they were then ([2 pop]). */
    int pending_iteration;
    lpz_individual *pending_inds;
    /* this iteration's figures */
    double g_loss, d_loss;
    long g_steps, d_steps;
    long batch;
    double shown_g, shown_d; /* this iteration's mean losses so far, for the progress line */
    /* the mixture's scoring with InceptionV3 features (about 0.13 s a sample: minutes an iteration), for the
     * progress: samples whose features are done, of score_total (0 while not scoring) */
    int64_t scored, score_total;
    int iteration; /* iterations completed */
    int resumed_at;     /* a resumed cell: the iteration of its checkpoint (0 without one) */
    int no_checkpoint;  /* a resumed cell without a checkpoint: it starts from the beginning */
    int fetch_failures;
    double *iter_seconds; /* [n_iterations] */
    /* [2 (n_iterations + 1)]: the best generator's and discriminator's fitness at the end of each iteration (NAN:
     * not trained by this process), for the progress log, which writes its line for an iteration when the
     * slowest cell has finished it: the others may have moved on and evaluated their populations again */
    double *iter_fit;
    int failed;
    lpz_error err;
    /* Data-parallel steps (dp_setup): a helper thread runs the second half
     * of each batch on replicas of a generator and a discriminator. */
    int dp_state;          /* 0: not decided yet, 1: on, -1: off */
    lpz_pair *dp;
    lpz_model *dp_g, *dp_d; /* replicas, rebound to each step's models */
    double *dp_loss;        /* the helper's fitness sums, as pair_loss then real_loss */
} cell;

struct trainer {
    const lpz_train_params *p;
    const lpz_train_setup *setup;
    lpz_dataset *ds;
    const lpz_network *net;
    int64_t numel, latent, batch;
    int n_cells; /* cells run by this process (the whole grid in local mode) */
    int pop;
    int fetch_timeout_ms;
    int64_t batches_per_iteration;
    cell *cells;
    cell_barrier barrier;
    sem_t permits;
    int n_permits; /* cells computing at once: min(cells, cores) */
    volatile int local_stop;
    volatile int *stop;
    uint64_t experiment;
    pthread_mutex_t lock; /* metrics file, rendering, log of progress */
    FILE *metrics, *timing;
    int prune_rows; /* a resumed run: drop the rows past the checkpoints when the first iteration is done */
    /* Rows of metrics.csv wait here until every cell has finished their
     * iteration, then are written in cell order, so that the file does not
     * depend on thread timing (--deterministic runs give equal files). */
    char **rows;       /* [n_iterations * n_cells] */
    int *done_count;   /* [n_iterations]: cells that finished the iteration */
    int flushed;       /* grid iterations written */
    long start_batches; /* batches done before this process started (resume) */
    uint64_t next_id;
    int said_critic; /* the warning of a resume under another trainer.name, given once */
    int said_rng;    /* the warning of a resume of checkpoints without the models' generators, given once */
    double t0;
};

static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static int stop_requested(const trainer *t)
{
    return __atomic_load_n(t->stop, __ATOMIC_SEQ_CST) != 0;
}

static void acquire(trainer *t)
{
    while (sem_wait(&t->permits) != 0)
        ;
}

static void release(trainer *t)
{
    sem_post(&t->permits);
}

static uint64_t new_id(trainer *t)
{
    return __atomic_add_fetch(&t->next_id, 1, __ATOMIC_SEQ_CST);
}

/* ---- losses -------------------------------------------------------------- */

/* The loss a generator trains with this batch. */
static lpz_loss_kind generator_loss(cell *c, const lpz_member *g)
{
    const lpz_train_params *p = c->tr->p;
    if (p->wgan)
        return LPZ_LOSS_WASSERSTEIN;
    if (p->mustangs && p->randomized_always)
        return (lpz_loss_kind)lpz_rng_below(&c->rng, 3);
    return (lpz_loss_kind)g->loss;
}

/* Discriminators use the member's loss, except that the heuristic loss is
 * a generator loss: its discriminator trains with BCE (as the original).
 * `randomized: always` re-draws generators' losses only: the original's
 * MustangsLoss never re-draws for a discriminator (mustangs_loss.py), and
 * a re-draw per call here gave a discriminator's fitness terms (a call per
 * chunk and generator) different losses. */
static lpz_loss_kind discriminator_loss(cell *c, const lpz_member *d)
{
    if (c->tr->p->wgan)
        return LPZ_LOSS_WASSERSTEIN;
    return d->loss == LPZ_LOSS_HEURISTIC ? LPZ_LOSS_BCE : (lpz_loss_kind)d->loss;
}

/* ---- fitness ------------------------------------------------------------- */

/* The fitness sums of rows [from, to) of the fitness sample, in chunks of
 * one batch so scratch memory stays that of a batch: pair[i * nd + j] +=
 * generator i's loss against d j, dfake[j * ng + i] += d j's fake loss
 * against generator i, dreal[j] += d j's real loss, each times the rows.
 * Part 0 runs the members' models, part 1 (the data-parallel helper) the
 * replicas bound to them in turn. */
typedef struct eval_job {
    cell *c;
    lpz_member **gens, **discs;
    int ng, nd, want_g, want_d;
    int64_t mid;                  /* part 0: rows [0, mid), part 1: [mid, S) */
    double *pair[2], *dreal[2];   /* [part]: pair [ng * nd] then dfake [nd * ng]; dreal [nd] */
    int rc[2];
    lpz_error err1;
} eval_job;

/* The first failure of a two-part job (part 0 reports into the cell's
 * error, part 1 into err1, which then moves into the cell's). */
static int parts_status(cell *c, const int rc[2], const lpz_error *err1)
{
    if (rc[0])
        return rc[0];
    if (rc[1])
        c->err = *err1;
    return rc[1];
}

static int eval_model(int k, lpz_model *replica, lpz_member *m, lpz_model **out, lpz_error *err)
{
    if (!k) {
        *out = m->model;
        return LPZ_OK;
    }
    *out = replica;
    return lpz_replica_bind(replica, m->model, err);
}

/* d's forward pass on n rows that lie in xin, the input buffer of the
 * part's discriminators (shared by all the cell's discriminators, whose
 * batch memory is one arena, so usually d's own: no copy), or copied
 * into d's. */
static const float *d_forward_rows(lpz_model *d, const float *xin, int64_t n, int64_t numel, lpz_error *err)
{
    float *buf = lpz_model_input_buffer(d, n, err);
    if (!buf)
        return NULL;
    if (buf != xin)
        memcpy(buf, xin, (size_t)(n * numel) * sizeof *buf);
    return lpz_model_forward(d, buf, n, err);
}

static void eval_chunks(void *arg, int k)
{
    eval_job *ej = arg;
    cell *c = ej->c;
    trainer *t = c->tr;
    const lpz_train_params *p = t->p;
    int64_t S = p->fitness_sample_size, B = c->fit_batch;
    int64_t from = k ? ej->mid : 0, to = k ? S : ej->mid;
    int ng = ej->ng, nd = ej->nd;
    double *pair = ej->pair[k], *dfake = pair + ng * nd, *dreal = ej->dreal[k];
    lpz_error *err = k ? &ej->err1 : &c->err;
    lpz_model *gm, *dm;
    int rc = LPZ_OK;
    memset(pair, 0, sizeof(double) * (size_t)(2 * ng * nd));
    memset(dreal, 0, sizeof(double) * (size_t)nd);
    for (int64_t off = from; off < to && !rc; off += B) {
        /* a large fitness sample takes long: Ctrl-C stops here (as between batches) */
        if (!p->deterministic && stop_requested(t)) {
            rc = LPZ_ECANCELED;
            break;
        }
        int64_t n = to - off < B ? to - off : B;
        const float *z = c->fit_z + off * t->latent;
        /* The rows every D reads go once into the discriminators' input
         * buffer (one for all of the part's: the cell's discriminators
         * share their batch memory, and the helper's replica is one model),
         * which their forward passes read in place: a chunk's real rows are
         * read there, and each generator's fakes copied there once, instead
         * of each D copying its input (12 copies of 400 KB per chunk before
         * training in a 2x2 quick start, 3 now). */
        float *x = NULL;
        if (!(rc = eval_model(k, c->dp_d, ej->discs[0], &dm, err)) && !(x = lpz_model_input_buffer(dm, n, err)))
            rc = err->code ? err->code : LPZ_ENOMEM;
        if (!rc && ej->want_d) { /* the real rows (random rows of the data, hinted ahead), then each D on them */
            rc = lpz_dataset_read_rows(t->ds, c->fit_idx + off, n, x, NULL, err);
            for (int j = 0; j < nd && !rc; j++) {
                const float *out = NULL;
                double l;
                if (!(rc = eval_model(k, c->dp_d, ej->discs[j], &dm, err)) &&
                    !(out = d_forward_rows(dm, x, n, t->numel, err)))
                    rc = err->code ? err->code : LPZ_EINVAL;
                if (!rc && !(rc = lpz_loss(discriminator_loss(c, ej->discs[j]), out, n, 1.0f, &l, NULL, err)))
                    dreal[j] += l * n;
            }
        }
        for (int i = 0; i < ng && !rc; i++) {
            const float *fake = NULL;
            if (!(rc = eval_model(k, c->dp_g, ej->gens[i], &gm, err)) && !(fake = lpz_model_forward(gm, z, n, err)))
                rc = err->code ? err->code : LPZ_EINVAL;
            if (!rc)
                memcpy(x, fake, (size_t)(n * t->numel) * sizeof *x);
            for (int j = 0; j < nd && !rc; j++) {
                const float *out = NULL;
                double l;
                if (!(rc = eval_model(k, c->dp_d, ej->discs[j], &dm, err)) &&
                    !(out = d_forward_rows(dm, x, n, t->numel, err)))
                    rc = err->code ? err->code : LPZ_EINVAL;
                if (!rc && ej->want_g &&
                    !(rc = lpz_loss(p->wgan ? LPZ_LOSS_WASSERSTEIN : (lpz_loss_kind)ej->gens[i]->loss, out, n, 1.0f,
                                    &l, NULL, err)))
                    pair[i * nd + j] += l * n;
                if (!rc && ej->want_d &&
                    !(rc = lpz_loss(discriminator_loss(c, ej->discs[j]), out, n, 0.0f, &l, NULL, err)))
                    dfake[j * ng + i] += l * n;
            }
        }
    }
    ej->rc[k] = rc;
}

/* Fitness of generators against discriminators (want_g) and of
 * discriminators against generators (want_d), on the cell's fitness sample.
 * The generator's loss is its loss against D(G(z)) with target 1; the
 * discriminator's is loss(D(x), 1) + loss(D(G(z)), 0). Lower is better.
 * With data-parallel steps on, the helper thread takes the second half of
 * the chunks (unless the losses draw random numbers: MUSTANGS'
 * randomized_always) and the two halves' sums are added. */
static int evaluate(cell *c, lpz_member **gens, int ng, lpz_member **discs, int nd, int want_g, int want_d)
{
    trainer *t = c->tr;
    const lpz_train_params *p = t->p;
    int64_t S = p->fitness_sample_size, B = c->fit_batch;
    eval_job ej = {.c = c, .gens = gens, .discs = discs, .ng = ng, .nd = nd, .want_g = want_g, .want_d = want_d};
    /* part 0 sums into pair_loss (2 nall^2: pair then dfake) and real_loss
     * (nall), the helper into dp_loss (the same three, contiguous) */
    ej.pair[0] = c->pair_loss;
    ej.dreal[0] = c->real_loss;
    int64_t chunks = (S + B - 1) / B;
    int split = c->dp && chunks > 1; /* the evaluation draws no random numbers (losses are the members') */
    ej.mid = split ? (chunks + 1) / 2 * B : S;
    if (split) {
        ej.pair[1] = c->dp_loss;
        ej.dreal[1] = c->dp_loss + 2 * ng * nd;
        lpz_pair_run(c->dp, eval_chunks, &ej);
    } else {
        eval_chunks(&ej, 0);
    }
    int rc = parts_status(c, ej.rc, &ej.err1);
    if (rc)
        return rc;
    double *pair = c->pair_loss, *dfake = pair + ng * nd, *dreal = c->real_loss;
    if (split) {
        for (int i = 0; i < 2 * ng * nd; i++)
            pair[i] += ej.pair[1][i];
        for (int j = 0; j < nd; j++)
            dreal[j] += ej.dreal[1][j];
    }
    double losses[LPZ_MAX_NEIGHBOURS * 64];
    if (want_g)
        for (int i = 0; i < ng; i++) {
            for (int j = 0; j < nd; j++)
                losses[j] = pair[i * nd + j] / S;
            gens[i]->fitness = lpz_fitness_combine(losses, nd, (lpz_combine_mode)p->fitness_mode);
        }
    if (want_d)
        for (int j = 0; j < nd; j++) {
            for (int i = 0; i < ng; i++)
                losses[i] = (dreal[j] + dfake[j * ng + i]) / S;
            discs[j]->fitness = lpz_fitness_combine(losses, ng, (lpz_combine_mode)p->fitness_mode);
        }
    return LPZ_OK;
}

/* ---- training steps ------------------------------------------------------- */

static int adam_step(cell *c, lpz_member *m)
{
    return lpz_adam_step(m->adam, lpz_model_params(m->model), lpz_model_grads(m->model), m->lr, ADAM_BETA1,
                         ADAM_BETA2, &c->err);
}

/* ---- data-parallel steps ----------------------------------------------------
 *
 * A single cell on a machine with a spare core splits each batch in two
 * (rows [0, B/2) on the cell's thread with the members' own models, rows
 * [B/2, B) on a helper thread with replicas bound to the same parameters),
 * sums the two gradients and takes one Adam step. The noise and the real
 * batch are drawn for the whole batch exactly as in the single-thread step,
 * and the split is always the same, so only the float summation order of
 * the gradients and losses differs (--deterministic runs stay repeatable).
 * Only for networks whose samples do not interact (lpz_replica_supported:
 * no batch norm, no active dropout); never when cells already fill the
 * cores (general.num_workers: 1 turns it off). Memory, once per process:
 * the two replicas' gradients and activations for a fitness chunk of
 * fit_batch rows (the helper also takes half of the fitness chunks),
 * about 6 MB for the quick start's MLP GAN, plus the second thread's
 * OpenBLAS buffers (1x1 quick start peak RSS about 13 MB higher than with
 * one thread). */

/* dL/dout of count entries from losses averaged over a part of n rows,
 * as part of the mean over the whole batch of B: times n / B (0.5, exact,
 * for an even B). */
static void dp_rescale(float *grad, int64_t count, int64_t n, int64_t B)
{
    float f = (float)((double)n / (double)B);
    for (int64_t i = 0; i < count; i++)
        grad[i] *= f;
}

/* Discriminator gradients of one step over n real and n fake rows in one
 * pass: the rows are joined in D's own input buffer (2n x numel, no copy
 * of ours), D runs forward and backward once, and the gradient is that
 * of loss(D(real), 1) + loss(D(fake), 0) with each loss the mean over B
 * rows (B = n, or the whole batch when n is a part of it). The gradients
 * replace d's (lpz_model_backward_fresh: no clearing first). */
static int d_joined(cell *c, lpz_model *d, lpz_loss_kind kind, const float *real, const float *fake, int64_t n,
                    int64_t B, float *dout, double *loss_real, double *loss_fake, lpz_error *err)
{
    size_t rows = (size_t)(n * c->tr->numel);
    float *cat = lpz_model_input_buffer(d, 2 * n, err);
    if (!cat)
        return err->code ? err->code : LPZ_ENOMEM;
    memcpy(cat, real, rows * sizeof *cat);
    memcpy(cat + rows, fake, rows * sizeof *cat);
    const float *out = lpz_model_forward(d, cat, 2 * n, err);
    if (!out)
        return err->code ? err->code : LPZ_EINVAL;
    int rc = lpz_loss(kind, out, n, 1.0f, loss_real, dout, err);
    if (!rc)
        rc = lpz_loss(kind, out + n, n, 0.0f, loss_fake, dout + n, err);
    if (rc)
        return rc;
    if (n != B)
        dp_rescale(dout, 2 * n, n, B);
    return lpz_model_backward_fresh(d, dout, NULL, err);
}

typedef struct dp_job {
    cell *c;
    lpz_model *g[2], *d[2]; /* [part]: part 0 the members' models, part 1 the replicas */
    int gen_step;           /* 1: generator step, 0: discriminator step */
    lpz_loss_kind kind;
    double loss[2][2]; /* [part][real, fake]: mean over the part's rows */
    int rc[2];
    lpz_error err1; /* part 1's error (part 0 writes the cell's) */
    lpz_member *trained; /* g in a generator step, d otherwise */
    lpz_model *rep;      /* its replica */
} dp_job;

static void dp_free(cell *c)
{
    lpz_pair_destroy(c->dp);
    lpz_model_destroy(c->dp_g);
    lpz_model_destroy(c->dp_d);
    free(c->dp_loss);
    c->dp = NULL;
    c->dp_g = c->dp_d = NULL;
    c->dp_loss = NULL;
}

static void dp_run2(void *runner, void (*fn)(void *, int), void *arg)
{
    lpz_pair_run(runner, fn, arg);
}

/* Decides once per cell whether steps run data-parallel, and sets up the
 * helper thread and the replicas when they do. */
static int dp_setup(cell *c)
{
    trainer *t = c->tr;
    c->dp_state = -1;
    int cores = t->p->cores > 0 ? t->p->cores : 1;
    if (t->n_cells * 2 > cores || t->batch < 2 || !lpz_replica_supported(c->gen[0].model) ||
        !lpz_replica_supported(c->disc[0].model))
        return LPZ_OK;
    /* whole batches and fitness chunks (fit_batch >= batch rows): the
     * helper also takes half of the fitness chunks */
    int rc = lpz_replica_create(c->gen[0].model, c->fit_batch, &c->dp_g, &c->err);
    if (!rc)
        rc = lpz_replica_create(c->disc[0].model, c->fit_batch, &c->dp_d, &c->err);
    int64_t nall = (int64_t)c->n_nb * t->pop;
    if (!rc && !(c->dp_loss = malloc(sizeof(double) * (size_t)(2 * nall * nall + nall))))
        rc = lpz_error_set(&c->err, LPZ_ENOMEM, "out of memory");
    if (!rc)
        rc = lpz_pair_create(&c->dp, &c->err);
    /* the FID's classifier features in two halves too */
    if (!rc && c->score_ctx)
        rc = lpz_score_context_set_parallel(c->score_ctx, dp_run2, c->dp, &c->err);
    if (rc) {
        dp_free(c);
        return rc;
    }
    c->dp_state = 1;
    return LPZ_OK;
}

/* Forward and backward of one part's rows; gradients into the part's
 * model (the generator's in a generator step, the discriminator's in a
 * discriminator step). */
static void dp_half(void *arg, int k)
{
    dp_job *j = arg;
    cell *c = j->c;
    trainer *t = c->tr;
    int64_t B = t->batch, r0 = k ? B / 2 : 0, n = k ? B - B / 2 : B / 2;
    lpz_error *err = k ? &j->err1 : &c->err;
    lpz_model *g = j->g[k], *d = j->d[k];
    float *dout = c->dout + r0, *dfake = c->dfake + r0 * t->numel;
    int rc = LPZ_OK;
    const float *out, *fake = lpz_model_forward(g, c->z + r0 * t->latent, n, err);
    if (!fake) {
        rc = err->code ? err->code : LPZ_EINVAL;
    } else if (j->gen_step) {
        if (!(out = lpz_model_forward(d, fake, n, err)))
            rc = err->code ? err->code : LPZ_EINVAL;
        if (!rc && !(rc = lpz_loss(j->kind, out, n, 1.0f, &j->loss[k][0], dout, err))) {
            dp_rescale(dout, n, n, B);
            rc = lpz_model_backward_input(d, dout, dfake, err);
        }
        if (!rc)
            rc = lpz_model_backward_fresh(g, dfake, NULL, err);
    } else {
        /* data-parallel steps only for discriminators whose samples do not
         * interact (dp_setup), which always take the joined pass */
        rc = d_joined(c, d, j->kind, c->real + r0 * t->numel, fake, n, B, c->dout + 2 * r0, &j->loss[k][0],
                      &j->loss[k][1], err);
    }
    j->rc[k] = rc;
}

/* Part k adds its half of the replica's gradient vector into the trained
 * model's and takes the Adam step of that half of the parameters. Adam is
 * element-wise, so a view of the state over a range updates exactly those
 * elements as the whole step would; the step count is advanced once,
 * afterwards, by dp_step. */
static void dp_sum_adam(void *arg, int k)
{
    dp_job *j = arg;
    lpz_model *m = j->trained->model;
    int64_t P = lpz_model_param_count(m), mid = (P / 2) & ~(int64_t)15; /* 64-byte aligned split */
    int64_t begin = k ? mid : 0, end = k ? P : mid;
    lpz_replica_add_grads(m, j->rep, begin, end);
    lpz_adam view = *j->trained->adam;
    view.n = end - begin;
    view.m += begin;
    view.v += begin;
    j->rc[k] = lpz_adam_step(&view, lpz_model_params(m) + begin, lpz_model_grads(m) + begin, j->trained->lr,
                             ADAM_BETA1, ADAM_BETA2, k ? &j->err1 : &j->c->err);
}

/* One Adam step of g (generator step) or d (discriminator step) on the
 * whole batch; the batch's mean losses against target 1 (real) and 0
 * (fake) in *loss_real and *loss_fake. */
static int dp_step(cell *c, lpz_member *g, lpz_member *d, int gen_step, lpz_loss_kind kind, double *loss_real,
                   double *loss_fake)
{
    dp_job j;
    memset(&j, 0, sizeof j);
    j.c = c;
    j.gen_step = gen_step;
    j.kind = kind;
    j.g[0] = g->model;
    j.d[0] = d->model;
    j.g[1] = c->dp_g;
    j.d[1] = c->dp_d;
    if (lpz_replica_bind(c->dp_g, g->model, &c->err) || lpz_replica_bind(c->dp_d, d->model, &c->err))
        return c->err.code;
    lpz_pair_run(c->dp, dp_half, &j);
    int rc = parts_status(c, j.rc, &j.err1);
    if (rc)
        return rc;
    j.trained = gen_step ? g : d;
    j.rep = gen_step ? c->dp_g : c->dp_d;
    lpz_pair_run(c->dp, dp_sum_adam, &j);
    if ((rc = parts_status(c, j.rc, &j.err1)))
        return rc;
    j.trained->adam->t++;
    int64_t B = c->tr->batch, h = B / 2;
    *loss_real = (j.loss[0][0] * (double)h + j.loss[1][0] * (double)(B - h)) / (double)B;
    *loss_fake = (j.loss[0][1] * (double)h + j.loss[1][1] * (double)(B - h)) / (double)B;
    return LPZ_OK;
}

/* One Adam step of generator g on its loss against discriminator d. */
static int train_generator(cell *c, lpz_member *g, lpz_member *d)
{
    trainer *t = c->tr;
    int64_t B = t->batch;
    lpz_rng_fill_normal(&c->rng, c->z, (size_t)(B * t->latent), 0.0f, 1.0f);
    if (c->dp) {
        double loss, unused;
        int rc = dp_step(c, g, d, 1, generator_loss(c, g), &loss, &unused);
        if (!rc) {
            c->g_loss += loss;
            c->g_steps++;
        }
        return rc;
    }
    const float *fake = lpz_model_forward(g->model, c->z, B, &c->err);
    if (!fake)
        return c->err.code;
    const float *out = lpz_model_forward(d->model, fake, B, &c->err);
    if (!out)
        return c->err.code;
    double loss;
    int rc = lpz_loss(generator_loss(c, g), out, B, 1.0f, &loss, c->dout, &c->err);
    /* Only the input gradient of the opponent is needed: its own parameter
     * gradients stay untouched. */
    if (!rc)
        rc = lpz_model_backward_input(d->model, c->dout, c->dfake, &c->err);
    if (!rc)
        rc = lpz_model_backward_fresh(g->model, c->dfake, NULL, &c->err);
    if (!rc)
        rc = adam_step(c, g);
    if (!rc) {
        c->g_loss += loss;
        c->g_steps++;
    }
    return rc;
}

/* One Adam step of discriminator d on real data and the fakes of g. */
static int train_discriminator(cell *c, lpz_member *d, lpz_member *g)
{
    trainer *t = c->tr;
    int64_t B = t->batch;
    lpz_rng_fill_normal(&c->rng, c->z, (size_t)(B * t->latent), 0.0f, 1.0f);
    double lr, lf;
    int rc;
    if (c->dp) {
        rc = dp_step(c, g, d, 0, discriminator_loss(c, d), &lr, &lf);
        goto stepped;
    }
    const float *fake = lpz_model_forward(g->model, c->z, B, &c->err);
    if (!fake)
        return c->err.code;
    lpz_loss_kind kind = discriminator_loss(c, d);
    if (c->joined) {
        rc = d_joined(c, d->model, kind, c->real, fake, B, B, c->dout, &lr, &lf, &c->err);
        if (!rc)
            rc = adam_step(c, d);
        goto stepped;
    }
    const float *out = lpz_model_forward(d->model, c->real, B, &c->err);
    if (!out)
        return c->err.code;
    rc = lpz_loss(kind, out, B, 1.0f, &lr, c->dout, &c->err);
    if (!rc)
        rc = lpz_model_backward_fresh(d->model, c->dout, NULL, &c->err);
    if (!rc && !(out = lpz_model_forward(d->model, fake, B, &c->err)))
        rc = c->err.code;
    if (!rc)
        rc = lpz_loss(kind, out, B, 0.0f, &lf, c->dout, &c->err);
    if (!rc)
        rc = lpz_model_backward(d->model, c->dout, NULL, &c->err);
    if (!rc)
        rc = adam_step(c, d);
stepped:
    if (!rc && t->p->wgan) {
        float *w = lpz_model_params(d->model);
        for (int64_t i = 0; i < d->n_params; i++)
            w[i] = w[i] > WGAN_CLIP ? WGAN_CLIP : w[i] < -WGAN_CLIP ? -WGAN_CLIP : w[i];
    }
    if (!rc) {
        c->d_loss += lr + lf;
        c->d_steps++;
    }
    return rc;
}

/* ---- exchange -------------------------------------------------------------- */

/* After a publish: the local individuals (with selection on: they do
 * not train) borrow their parameters and Adam moments from the snapshot
 * just published, which holds exactly theirs, and the previous one is
 * let go. Saves a copy of both (12 bytes per parameter and individual:
 * 6.6 MB per cell for the quick start). */
static int borrow_own(cell *c)
{
    trainer *t = c->tr;
    int pop = t->pop;
    if (!c->sel_gen)
        return LPZ_OK;
    const uint8_t *payload;
    size_t len;
    lpz_peer_snapshot *snap = lpz_peer_server_acquire(c->server, &payload, &len);
    lpz_population_view v;
    int rc = snap ? lpz_population_parse(payload, len, NULL, &v, &c->err)
                  : lpz_error_set(&c->err, LPZ_ESTATE, "cell %d has not published", c->id);
    for (int i = 0; !rc && i < 2 * pop; i++) /* publish's order: generators, then discriminators */
        rc = lpz_member_borrow_published(i < pop ? &c->gen[i] : &c->disc[i - pop], &v, (size_t)i, &c->err);
    if (rc) {
        lpz_peer_snapshot_release(snap);
        return rc;
    }
    lpz_peer_snapshot_release(c->own_snap);
    c->own_snap = snap;
    return LPZ_OK;
}

typedef struct publish_job {
    cell *c;
    uint64_t iteration;
    const lpz_individual *inds;
    size_t count;
} publish_job;

/* lpz_peer_rewrite_fn: the population over the payload it replaces (same
 * layout: same individuals' sizes in the same order). */
static int encode_in_place(void *user, uint8_t *payload, size_t len, lpz_error *err)
{
    publish_job *pj = user;
    size_t written;
    int rc = lpz_population_encode((uint32_t)pj->c->id, pj->iteration, pj->inds, pj->count, payload, len, &written,
                                   err);
    if (!rc && written != len)
        rc = lpz_error_set(err, LPZ_ESTATE, "population of %zu bytes over one of %zu", written, len);
    return rc;
}

/* Encodes inds (2 pop individuals, as gathered by publish) as iteration
 * `iteration`'s population: over the last payload when nobody else
 * reads it, else into a new buffer. *deferred (when not NULL) is set
 * instead of taking a new buffer. */
static int publish_inds(cell *c, int iteration, const lpz_individual *inds, int *deferred)
{
    size_t count = (size_t)(2 * c->tr->pop);
    /* When only this cell (its own individuals read it in place,
     * borrow_own) and its server hold the last published payload, it is
     * rewritten in place: individuals not replaced are already there, a
     * replaced one's arrays are copied over; no second 6.6 MB buffer while
     * publishing (the quick start's four cells publishing at about the same
     * time peaked 13-26 MB higher). A neighbour still reading it (between
     * its fetch and its selection) makes this a new buffer, or a deferral. */
    publish_job pj = {c, (uint64_t)iteration, inds, count};
    int done = 0, rc;
    if (c->own_snap &&
        (rc = lpz_peer_server_republish(c->server, c->own_snap, encode_in_place, &pj, &done, &c->err)))
        return rc;
    if (done)
        return LPZ_OK;
    if (deferred) {
        *deferred = 1;
        return LPZ_OK;
    }
    if (c->own_snap)
        lpz_log(LPZ_LOG_DEBUG, "cell %d: iteration %d published in a new buffer (a neighbour is reading the last one)",
                c->id, iteration);
    /* A fresh buffer, handed to the server, which frees the previous one
     * once nobody reads it: no second copy of the population per cell. */
    size_t written;
    uint8_t *wire = malloc(c->wire_cap);
    if (!wire)
        return lpz_error_set(&c->err, LPZ_ENOMEM, "out of memory for cell %d's message", c->id);
    rc = lpz_population_encode((uint32_t)c->id, (uint64_t)iteration, inds, count, wire, c->wire_cap, &written,
                               &c->err);
    if (rc) {
        free(wire);
        return rc;
    }
    return lpz_peer_server_publish_take(c->server, wire, written, &c->err);
}

/* Publishes the local population as iteration `iteration`'s, and points
 * the local individuals at it (borrow_own). may_defer: when a neighbour
 * still reads the last payload (between its fetch and its selection, a
 * fraction of a second), keep the individuals as they are now
 * (c->pending_inds: their arrays are the cell's snapshot's or the
 * selected copies', unchanged until this cell's next selection) and
 * publish them when the cell starts its next iteration (publish_pending)
 * instead of holding two payloads meanwhile. */
static int publish(cell *c, int iteration, int may_defer)
{
    trainer *t = c->tr;
    int pop = t->pop;
    lpz_individual *inds = c->pending_inds;
    /* Buffers of every member are gathered into consecutive slices. */
    float *scratch = c->buf_scratch;
    int64_t off = 0;
    for (int i = 0; i < pop; i++) {
        lpz_member_to_wire(&c->gen[i], LPZ_ROLE_GENERATOR, scratch + off, &inds[i]);
        off += c->gen[i].n_buffers;
    }
    for (int i = 0; i < pop; i++) {
        lpz_member_to_wire(&c->disc[i], LPZ_ROLE_DISCRIMINATOR, scratch + off, &inds[pop + i]);
        off += c->disc[i].n_buffers;
    }
    int deferred = 0;
    int rc = publish_inds(c, iteration, inds, may_defer && c->own_snap ? &deferred : NULL);
    if (rc)
        return rc;
    if (deferred) {
        lpz_log(LPZ_LOG_DEBUG,
                "cell %d: iteration %d's population published when the cell starts its next iteration (a "
                "neighbour is reading the last one)",
                c->id, iteration);
        c->pending_iteration = iteration;
        return LPZ_OK;
    }
    return borrow_own(c);
}

/* A deferred publish (see publish), now: waiting up to wait_ms for the
 * neighbours reading the last payload to finish (polling every
 * millisecond; the caller holds no CPU permit and no neighbour's
 * payload, so they never wait for it), in place, else in a new buffer.
 * Always before the selection overwrites the selected copies some local
 * individuals read. The individuals as they were at the end of their
 * iteration (scalars included: fitness may have been re-evaluated). */
static int publish_pending(cell *c, int wait_ms)
{
    if (!c->pending_iteration)
        return LPZ_OK;
    int iteration = c->pending_iteration, rc, done = 0;
    publish_job pj = {c, (uint64_t)iteration, c->pending_inds, (size_t)(2 * c->tr->pop)};
    for (int waited = 0; waited < wait_ms && !stop_requested(c->tr); waited++) {
        if ((rc = lpz_peer_server_republish(c->server, c->own_snap, encode_in_place, &pj, &done, &c->err)))
            return rc;
        if (done)
            break;
        struct timespec ms = {0, 1000000};
        nanosleep(&ms, NULL);
    }
    c->pending_iteration = 0;
    if (!done && (rc = publish_inds(c, iteration, c->pending_inds, NULL)))
        return rc;
    return borrow_own(c);
}


/* The parameters of version v (in snapshot snap) of publisher p's
 * population with a reference: the one another reader decoded, or a new
 * copy. NULL when out of memory. */
static nb_params *params_get(cell *p, const lpz_peer_snapshot *snap, const lpz_population_view *v, lpz_error *err)
{
    pthread_mutex_lock(&p->params_lock);
    nb_params *np = p->shared_params;
    if (np && np->snap == snap && np->iteration == v->iteration) {
        np->refs++;
        pthread_mutex_unlock(&p->params_lock);
        return np;
    }
    size_t total = 0;
    lpz_individual ind;
    int rc = LPZ_OK;
    for (uint32_t i = 0; !rc && i < v->count; i++)
        if (!(rc = lpz_population_peek(v, i, &ind, err)))
            total += (size_t)ind.param_count;
    np = rc ? NULL : calloc(1, sizeof *np);
    if (np && !(np->data = aligned_alloc(64, ((total ? total : 1) * sizeof(float) + 63) & ~(size_t)63))) {
        free(np);
        np = NULL;
    }
    if (!np) {
        pthread_mutex_unlock(&p->params_lock);
        if (!rc)
            lpz_error_set(err, LPZ_ENOMEM, "out of memory for cell %d's parameters", p->id);
        return NULL;
    }
    size_t off = 0;
    for (uint32_t i = 0; i < v->count; i++) {
        lpz_population_peek(v, i, &ind, err); /* succeeded above */
        memcpy(np->data + off, ind.params, (size_t)ind.param_count * sizeof(float));
        off += (size_t)ind.param_count;
    }
    np->refs = 1;
    np->snap = snap;
    np->iteration = v->iteration;
    p->shared_params = np; /* a previous version lives on with its readers */
    pthread_mutex_unlock(&p->params_lock);
    return np;
}

static void params_put(cell *p, nb_params *np)
{
    if (!np)
        return;
    pthread_mutex_lock(&p->params_lock);
    int last = --np->refs == 0;
    if (last && p->shared_params == np)
        p->shared_params = NULL;
    pthread_mutex_unlock(&p->params_lock);
    if (last) {
        free(np->data);
        free(np);
    }
}

/* Neighbour k's members own no Adam moments (in-process neighbours
 * borrow them from the snapshot while selection may copy them). */
static void drop_neighbour_moments(cell *c, int k)
{
    int pop = c->tr->pop;
    for (int i = 0; i < pop; i++) {
        lpz_member_drop_adam(&c->nb_gen[(k - 1) * pop + i]);
        lpz_member_drop_adam(&c->nb_disc[(k - 1) * pop + i]);
    }
}

/* Neighbour k's members forget the Adam moments they borrow from its
 * snapshot, and the snapshot is released (in-process neighbours). */
static void release_neighbour(cell *c, int k)
{
    if (!c->nb_cell[k])
        return;
    drop_neighbour_moments(c, k);
    lpz_peer_snapshot_release(c->nb_snap[k]);
    c->nb_snap[k] = NULL;
}

/* After selection nothing reads the neighbours' Adam moments until the
 * next fetch: in-process neighbours' snapshots are let go, so that a
 * publisher's previous population does not stay alive for a whole
 * iteration of each of its neighbours (6.6 MB each for the quick start). */
static void release_neighbours(cell *c)
{
    for (int k = 1; k < c->n_nb; k++)
        release_neighbour(c, k);
}

/* Refreshes the neighbours' populations; a neighbour that does not answer
 * in time keeps its last known individuals (logged). */
static int fetch_neighbours(cell *c)
{
    trainer *t = c->tr;
    int pop = t->pop;
    lpz_population_expect expect;
    expect.params[LPZ_ROLE_GENERATOR] = c->gen[0].n_params;
    expect.params[LPZ_ROLE_DISCRIMINATOR] = c->disc[0].n_params;
    expect.buffers[LPZ_ROLE_GENERATOR] = c->gen[0].n_buffers;
    expect.buffers[LPZ_ROLE_DISCRIMINATOR] = c->disc[0].n_buffers;
    for (int k = 1; k < c->n_nb; k++) {
        const uint8_t *payload = NULL;
        size_t len = 0;
        lpz_error e;
        lpz_population_view v;
        int rc = LPZ_OK, inproc = c->nb_cell[k] != NULL;
        if (inproc) {
            /* Published before any cell starts (cell_setup); NULL only
             * after a failed republish, which fails that cell too. */
            lpz_peer_snapshot_release(c->nb_snap[k]);
            if (!(c->nb_snap[k] = lpz_peer_server_acquire(c->nb_cell[k]->server, &payload, &len)))
                rc = lpz_error_set(&e, LPZ_ESTATE, "cell %d is not serving a population (its last publish failed)",
                                   c->nb[k]);
        } else {
            rc = lpz_peer_client_fetch(c->clients[k], t->fetch_timeout_ms, &payload, &len, &e);
        }
        if (!rc)
            rc = lpz_population_parse(payload, len, &expect, &v, &e);
        if (!rc && v.count != (uint32_t)(2 * pop))
            rc = lpz_error_set(&e, LPZ_EFORMAT, "cell %u sent %u individuals, expected %d", v.cell, v.count,
                               2 * pop);
        nb_params *np = NULL;
        if (!rc && inproc && !(np = params_get(c->nb_cell[k], c->nb_snap[k], &v, &e)))
            rc = e.code ? e.code : LPZ_ENOMEM;
        int gi = 0, di = 0;
        size_t poff = 0;
        for (uint32_t i = 0; !rc && i < v.count; i++) {
            lpz_individual hdr;
            memset(&hdr, 0, sizeof hdr);
            rc = lpz_population_get(&v, i, &hdr, 0, 0, &e);
            if (rc)
                break;
            lpz_member *dst = NULL;
            if (hdr.role == LPZ_ROLE_GENERATOR && gi < pop)
                dst = &c->nb_gen[(k - 1) * pop + gi++];
            else if (hdr.role == LPZ_ROLE_DISCRIMINATOR && di < pop)
                dst = &c->nb_disc[(k - 1) * pop + di++];
            if (!dst) {
                rc = lpz_error_set(&e, LPZ_EFORMAT, "cell %u sent an unexpected mix of roles", v.cell);
                break;
            }
            rc = inproc ? lpz_member_borrow_wire(dst, &v, i, np->data + poff, c->buf_scratch, &e)
                        : lpz_member_from_wire(dst, &v, i, c->buf_scratch, &e);
            poff += (size_t)hdr.param_count;
        }
        if (inproc) {
            /* Members now read np (or, after a failure, maybe partly the
             * previous version): keep both alive; the cell fails anyway,
             * since an in-process neighbour never fails unless something
             * is broken. */
            if (rc) {
                if (np && np != c->nb_params_held[k]) /* kept until cell_free */
                    c->nb_params_spare[k] = np;
                else if (np)
                    params_put(c->nb_cell[k], np); /* the one held already */
                c->err = e;
                lpz_error_context(&c->err, "neighbour cell %d", c->nb[k]);
                return rc;
            }
            params_put(c->nb_cell[k], c->nb_params_held[k]);
            c->nb_params_held[k] = np;
            continue;
        }
        /* Decoded (or failed): the reply (a whole population, 6.6 MB for
         * the quick start's MLP pair) is not needed until the next fetch. */
        lpz_peer_client_release(c->clients[k]);
        /* A neighbour the distributed master declared gone is not asked
         * any more (logged once by the transport): not a failure. */
        if (rc == LPZ_ENOTFOUND)
            continue;
        if (rc) {
            char buf[2048];
            c->fetch_failures++;
            lpz_log(LPZ_LOG_WARN, "cell %d: neighbour cell %d: %s; using its last known individuals", c->id,
                    c->nb[k], lpz_error_format(&e, buf, sizeof buf));
        }
    }
    return LPZ_OK;
}

/* The fitness sample's dataset rows: from the cell's subset of the data
 * (dataloader.sampling_ratio < 1), as the original's fitness loader, which
 * is the cell's training loader (it drew from the whole dataset: cells
 * ranked their individuals on data they do not train on). */
static int draw_fitness_sample(cell *c)
{
    trainer *t = c->tr;
    int64_t k = t->p->fitness_sample_size;
    if (t->p->sampling_ratio >= 1.0)
        return lpz_dataset_sample_indices(t->ds, &c->rng, k, c->fit_idx, &c->err);
    int rc = lpz_draw_indices(&c->rng, lpz_batcher_subset_size(c->batcher), k, c->fit_idx, &c->err);
    for (int64_t i = 0; !rc && i < k; i++)
        c->fit_idx[i] = lpz_batcher_subset_index(c->batcher, c->fit_idx[i]);
    return rc;
}

/* After training (every cell's thread joined, every population published):
 * the neighbours' final populations, for the mixture (optimize_mixture,
 * master/<cell>/). The last fetch was at the start of the last iteration,
 * so the mixture held its neighbours' generators of one iteration before
 * the end; the original's client loads the neighbours' final ones when the
 * master gathers the results. Only where every neighbour is in this
 * process: a distributed client's neighbours finish at their own pace, so
 * its mixture keeps the last fetch, and the master puts the neighbours'
 * final networks in once every cell's results are in (final_neighbours in
 * distributed/master.c). */
static int fetch_final_neighbours(cell *c)
{
    for (int k = 1; k < c->n_nb; k++)
        if (!c->nb_cell[k])
            return LPZ_OK;
    return c->n_nb > 1 ? fetch_neighbours(c) : LPZ_OK;
}

/* ---- one iteration ---------------------------------------------------------- */

static int select_population(cell *c, lpz_member **all, lpz_member *sel)
{
    trainer *t = c->tr;
    int n = c->n_nb * t->pop;
    double fit[LPZ_MAX_NEIGHBOURS * 64];
    for (int i = 0; i < n; i++)
        fit[i] = all[i]->fitness;
    for (int i = 0; i < t->pop; i++) {
        int w = lpz_tournament(fit, n, t->p->tournament_size, &c->rng);
        int rc = lpz_member_copy(&sel[i], all[w], &c->err);
        if (rc)
            return rc;
    }
    return LPZ_OK;
}

static int replace_population(cell *c, lpz_member *local, lpz_member *fresh)
{
    int pop = c->tr->pop;
    double lf[64], nf[64];
    int lo[64], no[64], pairs[64][2];
    for (int i = 0; i < pop; i++) {
        lf[i] = local[i].fitness;
        nf[i] = fresh[i].fitness;
    }
    lpz_sort_by_fitness(lf, pop, lo);
    lpz_sort_by_fitness(nf, pop, no);
    int n = lpz_replacement_plan(lf, lo, pop, nf, no, pop, c->tr->p->n_replacements, pairs);
    for (int i = 0; i < n; i++) {
        /* A local individual that reads the cell's snapshot in place
         * (borrow_own) reads the trained copy until the next publish. */
        lpz_member *dst = &local[pairs[i][0]], *src = &fresh[pairs[i][1]];
        int rc = dst->adam_borrowed ? lpz_member_adopt(dst, src, &c->err) : lpz_member_copy(dst, src, &c->err);
        if (rc)
            return rc;
    }
    return LPZ_OK;
}

static lpz_member *best_of(lpz_member *m, int n)
{
    lpz_member *best = &m[0];
    for (int i = 1; i < n; i++)
        if (m[i].fitness < best->fitness)
            best = &m[i];
    return best;
}

/* Writes every grid iteration that all cells have finished; lock held. */
static void flush_rows(trainer *t, int all)
{
    int n_it = t->p->n_iterations;
    while (t->flushed < n_it && (all || t->done_count[t->flushed] == t->n_cells)) {
        int it = t->flushed;
        for (int c = 0; c < t->n_cells; c++) {
            char **row = &t->rows[it * t->n_cells + c];
            if (*row && t->metrics)
                fputs(*row, t->metrics);
            free(*row);
            *row = NULL;
        }
        if (t->metrics)
            fflush(t->metrics);
        t->flushed++;
        if (!all && t->setup->on_iteration)
            t->setup->on_iteration(t->setup->user, t->setup->run_dir, it + 1);
    }
}

static void prune_logs(trainer *t);

static void write_metrics(cell *c, int iteration, double seconds)
{
    trainer *t = c->tr;
    lpz_member *g = best_of(c->gen, t->pop), *d = best_of(c->disc, t->pop);
    char row[1024], score[32] = "";
    size_t n = 0;
    if (!isnan(c->score))
        snprintf(score, sizeof score, "%.6g", c->score);
    n = (size_t)snprintf(row, sizeof row, "%d,%d,%.6g,%.6g,%.6g,%.6g,%.6g,%.6g,%s,", iteration, c->id,
                         c->g_steps ? c->g_loss / c->g_steps : NAN, c->d_steps ? c->d_loss / c->d_steps : NAN,
                         g->fitness, d->fitness, g->lr, d->lr, score);
    for (int k = 0; k < c->n_nb && n < sizeof row - 2; k++)
        n += (size_t)snprintf(row + n, sizeof row - n, "%s%d:%.6f", k ? ";" : "", c->nb[k], c->mix[k]);
    if (n < sizeof row - 1) {
        row[n++] = '\n';
        row[n] = '\0';
    }
    pthread_mutex_lock(&t->lock);
    if (t->prune_rows) {
        t->prune_rows = 0;
        prune_logs(t);
    }
    if (t->timing) {
        fprintf(t->timing, "%d,%d,%.3f,%d\n", iteration, c->id, seconds, c->fetch_failures);
        fflush(t->timing);
    }
    t->rows[(iteration - 1) * t->n_cells + c->index] = strdup(row);
    t->done_count[iteration - 1]++;
    flush_rows(t, 0);
    pthread_mutex_unlock(&t->lock);
}

/* The cell as its checkpoint holds it: with the neighbours' and the selected copies, whose models' generators
 * draw dropout masks from iteration to iteration (a resume that built them afresh drew other masks). */
static lpz_cell_state cell_state(cell *c)
{
    trainer *t = c->tr;
    int nnb = (c->n_nb - 1) * t->pop;
    return (lpz_cell_state){.cell = c->id, .grid_k = t->p->grid_k, .iteration = c->iteration, .pop = t->pop,
                            .gen = c->gen, .disc = c->disc, .mix = c->mix, .n_mix = c->n_nb, .rng = &c->rng,
                            .critic = t->p->wgan, .critic_saved = -1, .nb_gen = nnb ? c->nb_gen : NULL,
                            .nb_disc = nnb ? c->nb_disc : NULL, .n_nb_slots = nnb, .sel_gen = c->sel_gen,
                            .sel_disc = c->sel_disc};
}

static int save_checkpoint(cell *c)
{
    lpz_cell_state st = cell_state(c);
    return lpz_checkpoint_save(c->tr->setup->run_dir, &st, &c->err);
}

/* samples/cell-<c>/iteration-<NNNN>.<png|jpg|csv>: 64 samples of the
 * cell's best generator; none when general.logging.enabled is false. In
 * evaluation mode, as lpz generate and the scores run it: in training mode
 * the samples drew dropout masks from the model's generator and moved its
 * batch norm's running statistics, so a run with the images trained other
 * networks than the same run without them. */
static int save_samples(cell *c, int iteration)
{
    trainer *t = c->tr;
    if (t->p->no_samples)
        return LPZ_OK;
    lpz_member *g = best_of(c->gen, t->pop);
    int64_t done = 0;
    lpz_model_set_training(g->model, 0);
    while (done < SAMPLE_COUNT) {
        int64_t n = SAMPLE_COUNT - done < t->batch ? SAMPLE_COUNT - done : t->batch;
        const float *x = lpz_model_forward(g->model, c->sample_z + done * t->latent, n, &c->err);
        if (!x)
            break;
        memcpy(c->samples + done * t->numel, x, sizeof(float) * (size_t)(n * t->numel));
        done += n;
    }
    lpz_model_set_training(g->model, 1);
    if (done < SAMPLE_COUNT)
        return c->err.code;
    char dir[4096], base[4200];
    snprintf(dir, sizeof dir, "%s/samples/cell-%d", t->setup->run_dir, c->id);
    snprintf(base, sizeof base, "%s/iteration-%04d", dir, iteration);
    pthread_mutex_lock(&t->lock);
    int rc = lpz_mkdirs(dir, &c->err);
    if (!rc)
        rc = lpz_dataset_render_as(t->ds, c->samples, SAMPLE_COUNT, base, (lpz_render_format)t->p->image_format,
                                   &c->err);
    pthread_mutex_unlock(&t->lock);
    return rc;
}

/* The neighbourhood's best generators, local first, in mixture order. */
static void mixture_generators(cell *c, lpz_model **gens)
{
    trainer *t = c->tr;
    gens[0] = best_of(c->gen, t->pop)->model;
    for (int k = 1; k < c->n_nb; k++)
        gens[k] = best_of(&c->nb_gen[(k - 1) * t->pop], t->pop)->model;
}

static void generators_training(lpz_model **gens, int n, int on)
{
    for (int k = 0; k < n; k++)
        lpz_model_set_training(gens[k], on);
}

/* lpz_score_context_set_progress of a cell's score context (InceptionV3 features only). */
static void on_scored(void *arg, int64_t k)
{
    cell *c = arg;
    __atomic_add_fetch(&c->scored, k, __ATOMIC_RELAXED);
}

/* Step 7 of an iteration: score the current mixture and, on grids larger
 * than 1x1, a mutation of its weights; keep the mutation only when its
 * score is better (FID lower, inception score higher). Both scores come
 * from score_sample_size samples drawn with common random numbers
 * (lpz_mixture_score_pair: the same latents, and a sample
 * changes generator only where the two weightings disagree), so most
 * samples are generated and featurised once and the comparison is not
 * drowned in sampling noise. Generators run in evaluation mode. */
static int update_mixture(cell *c)
{
    trainer *t = c->tr;
    const lpz_train_params *p = t->p;
    if (!c->score_ctx)
        return LPZ_OK;
    lpz_model *gens[LPZ_MAX_NEIGHBOURS];
    mixture_generators(c, gens);
    double score, score2 = NAN, mutated[LPZ_MAX_NEIGHBOURS];
    int mutate = c->n_nb > 1 && !p->optimize_mixture;
    if (mutate)
        lpz_mutate_mixture_weights(c->mix, c->n_nb, p->mixture_sigma, &c->rng, mutated);
    generators_training(gens, c->n_nb, 0);
    __atomic_store_n(&c->scored, 0, __ATOMIC_RELAXED);
    __atomic_store_n(&c->score_total, (int64_t)(mutate ? 2 : 1) * p->score_sample_size, __ATOMIC_RELAXED);
    int rc;
    if (mutate)
        rc = lpz_mixture_score_pair(c->score_ctx, gens, c->mix, mutated, c->n_nb, p->score_sample_size,
                                    (lpz_mix_mode)p->mixture_sampling, &c->rng, &score, &score2, &c->err);
    else
        rc = lpz_mixture_score(c->score_ctx, gens, c->mix, c->n_nb, p->score_sample_size,
                               (lpz_mix_mode)p->mixture_sampling, &c->rng, &score, &c->err);
    generators_training(gens, c->n_nb, 1);
    __atomic_store_n(&c->score_total, 0, __ATOMIC_RELAXED);
    if (rc)
        return rc;
    c->score = score;
    int lower = LPZ_METRIC_LOWER_IS_BETTER(lpz_score_context_metric(c->score_ctx));
    if (mutate && (lower ? score2 < score : score2 > score)) {
        memcpy(c->mix, mutated, sizeof(double) * (size_t)c->n_nb);
        c->score = score2;
    }
    return LPZ_OK;
}

/* trainer.calculate_net_weights_dist: the L2 distance between the cell's
 * first generator (discriminator) and each neighbour's first one, logged. */
static void log_weights_dist(cell *c, int it)
{
    trainer *t = c->tr;
    if (c->n_nb < 2)
        return;
    char line[1024], part[2][512];
    for (int role = 0; role < 2; role++) {
        lpz_member **all = role ? c->all_disc : c->all_gen;
        const float *a = lpz_model_params(all[0]->model);
        int64_t n = lpz_model_param_count(all[0]->model);
        size_t len = 0;
        part[role][0] = '\0';
        for (int k = 1; k < c->n_nb; k++) {
            lpz_member *o = all[k * t->pop];
            const float *b = lpz_model_params(o->model);
            double s = 0;
            int64_t m = a && b && lpz_model_param_count(o->model) == n ? n : 0; /* same network: same count */
            for (int64_t i = 0; i < m; i++) {
                double d = (double)a[i] - b[i];
                s += d * d;
            }
            int w = snprintf(part[role] + len, sizeof part[role] - len, "%s%.4g", k > 1 ? ", " : "", sqrt(s));
            if (w > 0 && len + (size_t)w < sizeof part[role])
                len += (size_t)w;
        }
    }
    size_t len = 0;
    for (int k = 1; k < c->n_nb; k++) {
        int w = snprintf(line + len, sizeof line - len, "%s%d", k > 1 ? ", " : "", c->nb[k]);
        if (w > 0 && len + (size_t)w < sizeof line)
            len += (size_t)w;
    }
    lpz_log(LPZ_LOG_INFO, "cell %d, iteration %d: L2 distance of the weights to neighbours %s: generators %s; "
            "discriminators %s", c->id, it + 1, line, part[0], part[1]);
}

static int run_iteration(cell *c, int it)
{
    trainer *t = c->tr;
    const lpz_train_params *p = t->p;
    int pop = t->pop, nall = c->n_nb * pop;
    int rc;
    c->g_loss = c->d_loss = 0;
    c->g_steps = c->d_steps = 0;
    c->batch = 0;
    if (!c->dp_state && (rc = dp_setup(c)))
        return rc;

    acquire(t);
    if (p->net_weights_dist)
        log_weights_dist(c, it);
    rc = draw_fitness_sample(c);
    lpz_rng_fill_normal(&c->rng, c->fit_z, (size_t)(p->fitness_sample_size * t->latent), 0.0f, 1.0f);
    if (!rc)
        rc = evaluate(c, c->all_gen, nall, c->all_disc, nall, 1, 1);
    if (!rc && c->sel_gen) {
        rc = select_population(c, c->all_gen, c->sel_gen);
        if (!rc)
            rc = select_population(c, c->all_disc, c->sel_disc);
    }
    release_neighbours(c);
    release(t);
    if (rc)
        return rc;

    lpz_member *tg = c->sel_gen ? c->sel_gen : c->gen, *td = c->sel_disc ? c->sel_disc : c->disc;
    for (long b = 0; b < t->batches_per_iteration; b++) {
        if (!p->deterministic && stop_requested(t))
            return LPZ_ECANCELED;
        acquire(t);
        rc = lpz_batcher_next(c->batcher, c->real, NULL, &c->err);
        /* Opponents, as the original's update_genomes draws them: with
         * selection on, from the population of the other kind that is
         * training now (selected from the whole neighbourhood by the
         * tournament; against the neighbourhood's frozen copies alone a
         * generator only learns to fool stale discriminators, and neither
         * side improves: a 2x2 Fashion-MNIST grid still drew noise after
         * 2,000 batches); with selection off, from the whole neighbourhood,
         * the local individuals (training) and the neighbours' (as
         * fetched), so that the neighbours take part in the training (they
         * took part only in the fitness). A network's learning rate
         * mutates in the batches where it takes a step (the original
         * mutates in its step), not in a skipped one. */
        int g_turn = !p->wgan || b % WGAN_CRITIC_STEPS == 0;
        int d_turn = lpz_discriminator_trains(p->discriminator_skip_each_nth_step, b);
        for (int i = 0; !rc && g_turn && i < pop; i++) {
            tg[i].lr = lpz_mutate_learning_rate(tg[i].lr, p->default_lr, p->alpha, p->mutation_probability, &c->rng);
            lpz_member *d = c->sel_disc ? &td[lpz_rng_below(&c->rng, (uint64_t)pop)]
                                        : c->all_disc[lpz_rng_below(&c->rng, (uint64_t)nall)];
            rc = train_generator(c, &tg[i], d);
        }
        for (int i = 0; !rc && d_turn && i < pop; i++) {
            td[i].lr = lpz_mutate_learning_rate(td[i].lr, p->default_lr, p->alpha, p->mutation_probability, &c->rng);
            lpz_member *g = c->sel_gen ? &tg[lpz_rng_below(&c->rng, (uint64_t)pop)]
                                       : c->all_gen[lpz_rng_below(&c->rng, (uint64_t)nall)];
            rc = train_discriminator(c, &td[i], g);
        }
        release(t);
        if (rc)
            return rc;
        __atomic_store_n(&c->batch, b + 1, __ATOMIC_RELAXED);
        double g = c->g_steps ? c->g_loss / c->g_steps : NAN, d = c->d_steps ? c->d_loss / c->d_steps : NAN;
        __atomic_store(&c->shown_g, &g, __ATOMIC_RELAXED);
        __atomic_store(&c->shown_d, &d, __ATOMIC_RELAXED);
    }

    /* Re-evaluate the trained individuals (the selected copies, or the
     * local ones when selection is off) against the neighbourhood, then
     * replace the worst local ones by better newcomers. */
    acquire(t);
    lpz_member *trained_g[64], *trained_d[64];
    for (int i = 0; i < pop; i++) {
        trained_g[i] = &tg[i];
        trained_d[i] = &td[i];
    }
    rc = evaluate(c, trained_g, pop, c->all_disc, nall, 1, 0);
    if (!rc)
        rc = evaluate(c, c->all_gen, nall, trained_d, pop, 0, 1);
    if (!rc) /* the fitness is that of the trained networks (and their replacements) from here */
        c->fit_restorable = 0;
    if (!rc && c->sel_gen)
        rc = replace_population(c, c->gen, c->sel_gen);
    if (!rc && c->sel_disc)
        rc = replace_population(c, c->disc, c->sel_disc);
    if (!rc) {
        rc = update_mixture(c);
        /* A stop during the mixture's scoring (a large score sample) comes after the replacement: the
         * iteration's training is whole and counts (its row, its publish, the checkpoint's iteration), without
         * the score and the weight mutation (a cancelled iteration here paired the replaced networks with the
         * iteration before) */
        if (rc == LPZ_ECANCELED) {
            c->score = NAN;
            lpz_error_clear(&c->err);
            rc = LPZ_OK;
        }
    }
    /* Deferred only in runs that are not --deterministic (whose neighbours
     * must find every iteration's population right after it), never after
     * the last iteration, and only when cells outnumber the cores: the wait
     * then costs no core (other cells compute), else it would idle one. */
    if (!rc)
        rc = publish(c, it + 1, !p->deterministic && it + 1 < p->n_iterations && t->n_cells > t->n_permits);
    if (!rc)
        rc = save_samples(c, it + 1);
    release(t);
    return rc;
}

/* ---- cell threads ------------------------------------------------------------- */

/* A failed cell whose networks' last forward passes hold NaN or infinity
 * (a loss met one: it says only which output) is told which layer made it:
 * a custom layer's bug, or parameters gone non-finite. */
static void explain_nonfinite(cell *c)
{
    int pop = c->tr->pop, nall = c->n_nb * pop;
    char why[300];
    for (int role = 0; role < 2; role++) {
        lpz_member *sel = role ? c->sel_disc : c->sel_gen, **all = role ? c->all_disc : c->all_gen;
        int found = 0;
        for (int i = 0; i < pop + nall && !found; i++) {
            const lpz_member *x = i < pop ? (sel ? &sel[i] : NULL) : all[i - pop];
            found = x && lpz_model_explain_nonfinite(x->model, why, sizeof why);
        }
        if (!found && c->dp) /* the data-parallel helper's half of the batch */
            found = lpz_model_explain_nonfinite(role ? c->dp_d : c->dp_g, why, sizeof why);
        if (found) {
            lpz_error_hint(&c->err, "%s: %s", role ? "the discriminator" : "the generator", why);
            return;
        }
    }
}

static void *cell_main(void *arg)
{
    cell *c = arg;
    trainer *t = c->tr;
    const lpz_train_params *p = t->p;
    int rc = LPZ_OK;
    /* Everyone has published before anyone fetches. */
    if (barrier_wait(&t->barrier, t->stop))
        return NULL;
    for (int it = c->iteration; it < p->n_iterations; it++) {
        double t0 = now_seconds();
        if (p->deterministic) {
            if (barrier_wait(&t->barrier, t->stop))
                break;
            rc = fetch_neighbours(c);
            /* a failed fetch still meets the others at the barrier */
            if (barrier_wait(&t->barrier, t->stop) && !rc)
                break;
        } else {
            if (stop_requested(t))
                break;
            rc = publish_pending(c, PUBLISH_WAIT_MS);
            if (!rc)
                rc = fetch_neighbours(c);
        }
        /* A stop within the iteration, before the trained networks are
         * evaluated, leaves the population's fitness of the iteration's
         * start (the evaluation against the new neighbours) unless put back:
         * the checkpoint, the summary's best cell and a resume's first log
         * line disagreed with the last row of metrics.csv. */
        for (int i = 0; i < t->pop; i++)
            c->fit_before[0][i] = c->gen[i].fitness, c->fit_before[1][i] = c->disc[i].fitness;
        c->fit_restorable = 1;
        if (!rc)
            rc = run_iteration(c, it);
        if (rc == LPZ_ECANCELED) {
            for (int i = 0; c->fit_restorable && i < t->pop; i++)
                c->gen[i].fitness = c->fit_before[0][i], c->disc[i].fitness = c->fit_before[1][i];
            rc = LPZ_OK;
            break;
        }
        if (rc) {
            c->failed = 1;
            explain_nonfinite(c);
            lpz_error_context(&c->err, "cell %d, iteration %d", c->id, it + 1);
            __atomic_store_n(t->stop, 1, __ATOMIC_SEQ_CST);
            barrier_break(&t->barrier);
            return NULL;
        }
        double secs = now_seconds() - t0;
        c->iter_seconds[it] = secs;
        c->iter_fit[2 * it] = best_of(c->gen, t->pop)->fitness; /* published by the iteration's store below */
        c->iter_fit[2 * it + 1] = best_of(c->disc, t->pop)->fitness;
        __atomic_store_n(&c->batch, 0, __ATOMIC_SEQ_CST);
        __atomic_store_n(&c->iteration, it + 1, __ATOMIC_SEQ_CST);
        write_metrics(c, it + 1, secs);
        if (p->checkpoint_period > 0 && (it + 1) % p->checkpoint_period == 0 && (rc = save_checkpoint(c)))
            break;
    }
    /* A publish deferred by the last iteration run (a stopped run): the
     * server serves what the checkpoint holds. */
    if (!rc && !c->failed)
        rc = publish_pending(c, 0);
    /* A final checkpoint, so that a stopped run can be resumed and a
     * finished one extended (lpz train --resume). */
    if (!rc && !c->failed)
        rc = save_checkpoint(c);
    if (rc && rc != LPZ_ECANCELED && !c->failed) {
        c->failed = 1;
        lpz_error_context(&c->err, "cell %d", c->id);
        __atomic_store_n(t->stop, 1, __ATOMIC_SEQ_CST);
        barrier_break(&t->barrier);
    }
    return NULL;
}

/* ---- set-up and results -------------------------------------------------------- */

/* The URL cell `id` is dialled at. */
static int cell_url(trainer *t, int id, char *out, size_t size, lpz_error *err)
{
    if (t->setup->cell_urls) {
        if (!t->setup->cell_urls[id])
            return lpz_error_set(err, LPZ_EINVAL, "no address for cell %d", id);
        snprintf(out, size, "%s", t->setup->cell_urls[id]);
        return LPZ_OK;
    }
    return lpz_peer_inproc_url(out, size, t->experiment, (uint32_t)id, err);
}

static int cell_setup(trainer *t, cell *c, int index, int id, lpz_error *err)
{
    const lpz_train_params *p = t->p;
    int pop = t->pop, rc;
    memset(c, 0, sizeof *c);
    pthread_mutex_init(&c->params_lock, NULL);
    c->tr = t;
    c->shown_g = c->shown_d = NAN; /* the progress line shows "-" until its first batch */
    c->id = id;
    c->index = index;
    c->score = NAN;
    c->n_nb = lpz_grid_neighbourhood(p->grid_k, id, c->nb);
    lpz_rng_seed(&c->rng, p->seed, (uint64_t)id);
    for (int k = 0; k < c->n_nb; k++)
        c->mix[k] = 1.0 / c->n_nb;

    int nall = c->n_nb * pop, nnb = (c->n_nb - 1) * pop;
    c->gen = calloc((size_t)pop, sizeof *c->gen);
    c->disc = calloc((size_t)pop, sizeof *c->disc);
    c->nb_gen = calloc((size_t)(nnb ? nnb : 1), sizeof *c->nb_gen);
    c->nb_disc = calloc((size_t)(nnb ? nnb : 1), sizeof *c->nb_disc);
    c->all_gen = calloc((size_t)nall, sizeof *c->all_gen);
    c->all_disc = calloc((size_t)nall, sizeof *c->all_disc);
    if (p->enable_selection) {
        c->sel_gen = calloc((size_t)pop, sizeof *c->sel_gen);
        c->sel_disc = calloc((size_t)pop, sizeof *c->sel_disc);
    }
    int64_t B = t->batch, S = p->fitness_sample_size;
    c->real = malloc(sizeof(float) * (size_t)(B * t->numel));
    c->z = malloc(sizeof(float) * (size_t)(B * t->latent));
    c->dout = malloc(sizeof(float) * (size_t)(2 * B)); /* 2B: a joined real + fake discriminator pass */
    c->dfake = malloc(sizeof(float) * (size_t)(B * t->numel));
    c->fit_idx = malloc(sizeof(int64_t) * (size_t)S);
    c->fit_z = malloc(sizeof(float) * (size_t)(S * t->latent));
    c->sample_z = malloc(sizeof(float) * (size_t)(SAMPLE_COUNT * t->latent));
    c->samples = malloc(sizeof(float) * (size_t)(SAMPLE_COUNT * t->numel));
    c->pair_loss = malloc(sizeof(double) * (size_t)(2 * nall * nall));
    c->real_loss = malloc(sizeof(double) * (size_t)nall);
    c->iter_seconds = calloc((size_t)p->n_iterations + 1, sizeof(double));
    c->iter_fit = malloc(2 * ((size_t)p->n_iterations + 1) * sizeof(double));
    for (int i = 0; c->iter_fit && i < 2 * (p->n_iterations + 1); i++)
        c->iter_fit[i] = NAN;
    if (!c->gen || !c->disc || !c->nb_gen || !c->nb_disc || !c->all_gen || !c->all_disc ||
        (p->enable_selection && (!c->sel_gen || !c->sel_disc)) || !c->real || !c->z || !c->dout || !c->dfake ||
        !c->fit_idx || !c->fit_z || !c->sample_z || !c->samples || !c->pair_loss || !c->real_loss ||
        !c->iter_seconds || !c->iter_fit)
        return lpz_error_set(err, LPZ_ENOMEM, "out of memory for cell %d", id);
    lpz_rng_fill_normal(&c->rng, c->sample_z, (size_t)(SAMPLE_COUNT * t->latent), 0.0f, 1.0f);
    if (t->setup->scorer) {
        if ((rc = lpz_score_context_create(t->setup->scorer, &c->score_ctx, err)))
            return rc;
        if (!strcmp(p->score_type, "inception_score") &&
            (rc = lpz_score_context_set_metric(c->score_ctx, LPZ_METRIC_IS, err)))
            return rc;
        /* Ctrl-C within a large score sample (score_sample_size up to 10^7), as within the fitness samples;
         * --deterministic cells stop between iterations only, in step */
        if (!p->deterministic)
            lpz_score_context_set_stop(c->score_ctx, t->stop);
        lpz_score_context_set_progress(c->score_ctx, on_scored, c);
    }

    /* Local individuals get seeds from the cell's stream; the slots for
     * neighbours and selection from a stream of their own per cell (their
     * parameters are copied in, but their models' streams draw the dropout
     * masks: seed 0 gave every cell's trained copies and fitness passes the
     * same masks; drawn from the cell's stream, the number of slots, which
     * grows with the neighbourhood, would shift everything the cell draws
     * after them). */
    lpz_rng slots;
    lpz_rng_seed(&slots, p->seed, SLOT_STREAM | (uint64_t)id);
    for (int i = 0; i < pop && !rc; i++) {
        rc = lpz_member_init(&c->gen[i], t->net, LPZ_ROLE_GENERATOR, lpz_rng_u64(&c->rng), B, err);
        if (!rc)
            rc = lpz_member_init(&c->disc[i], t->net, LPZ_ROLE_DISCRIMINATOR, lpz_rng_u64(&c->rng), B, err);
        if (rc)
            break;
        lpz_member *ms[2] = {&c->gen[i], &c->disc[i]};
        for (int k = 0; k < 2; k++) {
            ms[k]->lr = p->default_lr;
            ms[k]->id = new_id(t);
            ms[k]->source_cell = id;
            ms[k]->loss = p->mustangs ? (int)lpz_rng_below(&c->rng, 3) : p->loss;
            ms[k]->fitness = 0.0;
        }
    }
    if (!rc && index == 0 && p->print_discriminator) {
        /* a line per layer: a log line holds about 2 KB */
        size_t cap = 256 + (size_t)lpz_model_layer_count(c->disc[0].model) * 160;
        char *text = malloc(cap);
        if (text) {
            lpz_model_describe(c->disc[0].model, text, cap);
            char *save = NULL;
            for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save))
                lpz_log(LPZ_LOG_INFO, "%s%s", line == text ? "discriminator: " : "", line);
            free(text);
        }
    }
    if (!rc) {
        c->joined = lpz_replica_supported(c->disc[0].model);
        c->fit_batch = c->joined && lpz_replica_supported(c->gen[0].model) ? ((B > 128 ? B : 128) + 15) / 16 * 16 : B;
    }
    for (int i = 0; i < nnb && !rc; i++) {
        rc = lpz_member_init(&c->nb_gen[i], t->net, LPZ_ROLE_GENERATOR, lpz_rng_u64(&slots), B, err);
        if (!rc)
            rc = lpz_member_init(&c->nb_disc[i], t->net, LPZ_ROLE_DISCRIMINATOR, lpz_rng_u64(&slots), B, err);
        if (!rc) {
            /* Neighbours' copies are only evaluated (and copied when
             * selected): no gradients. */
            lpz_member_freeze(&c->nb_gen[i]);
            lpz_member_freeze(&c->nb_disc[i]);
        }
    }
    /* With selection the selected copies train and the local individuals
     * are only evaluated, published and replaced: no gradients either. */
    for (int i = 0; i < pop && p->enable_selection && !rc; i++) {
        lpz_member_freeze(&c->gen[i]);
        lpz_member_freeze(&c->disc[i]);
    }
    for (int i = 0; i < pop && p->enable_selection && !rc; i++) {
        rc = lpz_member_init(&c->sel_gen[i], t->net, LPZ_ROLE_GENERATOR, lpz_rng_u64(&slots), B, err);
        if (!rc)
            rc = lpz_member_init(&c->sel_disc[i], t->net, LPZ_ROLE_DISCRIMINATOR, lpz_rng_u64(&slots), B, err);
    }
    if (rc)
        return rc;
    /* One batch arena for all the cell's generators and one for all its
     * discriminators (local, selected, neighbours'): a cell runs one
     * model at a time and consumes each forward's output before the next
     * model of that kind runs (a generator's fakes feed discriminators,
     * whose arena is the other one). Saves about 1 MB per evaluate-only
     * member of the quick start (4.4 instead of 9.7 MB per cell). The
     * discriminators' arena holds a joined real + fake pass (2B rows);
     * both hold a fitness chunk. */
    {
        lpz_model *ms[3 * 64 + LPZ_MAX_NEIGHBOURS * 64];
        for (int role = 0; role < 2 && !rc; role++) {
            lpz_member *loc = role ? c->disc : c->gen, *sel = role ? c->sel_disc : c->sel_gen;
            lpz_member *nbm = role ? c->nb_disc : c->nb_gen;
            int n = 0;
            for (int i = 0; i < pop; i++) {
                ms[n++] = loc[i].model;
                if (sel)
                    ms[n++] = sel[i].model;
            }
            for (int i = 0; i < nnb; i++)
                ms[n++] = nbm[i].model;
            int64_t rows = role && c->joined ? 2 * B : B;
            rc = lpz_model_share_scratch(ms, n, rows > c->fit_batch ? rows : c->fit_batch, err);
        }
        /* The trained individuals (the selected copies, or the local ones
         * without selection) take steps in turn: each replaces the
         * gradients with its backward's (lpz_model_backward_fresh) and
         * takes its Adam step before the next one's backward (a generator
         * step only needs its opponent's input gradient), so they share
         * one gradient buffer (1.1 MB per cell for the quick start). */
        lpz_member *tg = c->sel_gen ? c->sel_gen : c->gen, *td = c->sel_disc ? c->sel_disc : c->disc;
        int n = 0;
        for (int i = 0; i < pop; i++) {
            ms[n++] = tg[i].model;
            ms[n++] = td[i].model;
        }
        if (!rc)
            rc = lpz_model_share_grads(ms, n, err);
        if (rc)
            return rc;
    }
    for (int i = 0; i < pop; i++) {
        c->all_gen[i] = &c->gen[i];
        c->all_disc[i] = &c->disc[i];
    }
    for (int i = 0; i < nnb; i++) {
        c->all_gen[pop + i] = &c->nb_gen[i];
        c->all_disc[pop + i] = &c->nb_disc[i];
    }
    int64_t nbuf = pop * (c->gen[0].n_buffers + c->disc[0].n_buffers);
    c->buf_scratch = malloc(sizeof(float) * (size_t)(nbuf > 0 ? nbuf : 1));
    c->pending_inds = calloc((size_t)(2 * pop), sizeof *c->pending_inds);
    if (!c->buf_scratch || !c->pending_inds)
        return lpz_error_set(err, LPZ_ENOMEM, "out of memory for cell %d", id);

    /* Wire buffer for this cell's populations. */
    lpz_individual inds[128];
    for (int i = 0; i < pop; i++) {
        lpz_member_to_wire(&c->gen[i], LPZ_ROLE_GENERATOR, c->buf_scratch, &inds[i]);
        lpz_member_to_wire(&c->disc[i], LPZ_ROLE_DISCRIMINATOR, c->buf_scratch, &inds[pop + i]);
    }
    if ((rc = lpz_population_size(inds, (size_t)(2 * pop), &c->wire_cap, err)))
        return rc;

    if (t->setup->resume) {
        lpz_cell_state st = cell_state(c);
        if ((rc = lpz_checkpoint_load(t->setup->run_dir, &st, err)) == LPZ_ENOTFOUND) {
            /* deleted (troubleshooting.md says so for a damaged one), or never written (a run that failed at
             * its first checkpoint): the cell starts from the beginning, as a distributed run's does */
            char buf[1024];
            lpz_log(LPZ_LOG_WARN, "%s: cell %d starts from the beginning", lpz_error_format(err, buf, sizeof buf),
                    id);
            lpz_error_clear(err);
            st.iteration = 0;
            st.critic_saved = -1;
            c->no_checkpoint = 1;
            rc = LPZ_OK;
        } else if (rc) {
            return rc;
        }
        /* trainer.name changed in the run's config.yml: the networks load (a critic is a discriminator without
         * its sigmoid), the objective changes; said once */
        if (st.critic_saved >= 0 && st.critic_saved != p->wgan && !__atomic_exchange_n(&t->said_critic, 1,
                                                                                         __ATOMIC_SEQ_CST))
            lpz_log(LPZ_LOG_WARN, "the checkpoints were trained by %s and this run goes on as %s: the same networks "
                    "with another objective (%s)", st.critic_saved ? "lipizzaner_wgan" : "lipizzaner_gan",
                    p->wgan ? "lipizzaner_wgan" : "lipizzaner_gan",
                    p->wgan ? "the discriminators become critics, the Wasserstein loss"
                            : "the critics become discriminators with a sigmoid, the configured loss");
        /* An earlier lpz's checkpoint: the models' generators start afresh, so networks with dropout draw other
         * masks than the run left uninterrupted would have; said once */
        if (st.rng_missing && (lpz_model_draws_random(c->gen[0].model) || lpz_model_draws_random(c->disc[0].model))
            && !__atomic_exchange_n(&t->said_rng, 1, __ATOMIC_SEQ_CST))
            lpz_log(LPZ_LOG_WARN, "the checkpoints do not hold the random generators of the cell's models (an lpz "
                    "built before 2026-11-30 wrote them): the networks' dropout masks start afresh, so the resumed "
                    "run differs from the run left uninterrupted, even with --deterministic");
        /* Training further back is not possible, and labelling the state
         * with fewer iterations than it has would make a later resume
         * redo (and duplicate) iterations. */
        if (st.iteration > p->n_iterations) {
            lpz_error_set(err, LPZ_EINVAL,
                          "the checkpoint of cell %d is at iteration %d, more than trainer.n_iterations %d", id,
                          st.iteration, p->n_iterations);
            lpz_error_hint(err, "resume with --set trainer.n_iterations=N, N >= %d", st.iteration);
            return err->code;
        }
        c->iteration = c->resumed_at = st.iteration;
        for (int i = 0; i < pop; i++) {
            uint64_t top = c->gen[i].id > c->disc[i].id ? c->gen[i].id : c->disc[i].id;
            while (top > __atomic_load_n(&t->next_id, __ATOMIC_SEQ_CST))
                __atomic_store_n(&t->next_id, top, __ATOMIC_SEQ_CST);
        }
    }
    /* Iteration i reads epoch i: a resumed cell goes on with the epoch of its checkpoint's iteration (the
     * data order a deterministic run left uninterrupted has; it began again at epoch 0) */
    lpz_batcher_config bc = lpz_batcher_config_default(p->batch_size, p->seed, (uint64_t)id);
    bc.n_batches = p->n_batches;
    bc.shuffle = p->shuffle;
    bc.sampling_ratio = p->sampling_ratio;
    bc.prefetch = 2;
    bc.first_epoch = c->iteration;
    if ((rc = lpz_batcher_create(t->ds, &bc, &c->batcher, err)))
        return rc;
    if (index == 0)
        t->batches_per_iteration = lpz_batcher_batches_per_epoch(c->batcher);

    char url[4096];
    if ((rc = cell_url(t, id, url, sizeof url, err)))
        return rc;
    const char *bind = t->setup->bind_urls && t->setup->bind_urls[index] ? t->setup->bind_urls[index] : url;
    if ((rc = lpz_peer_server_start(bind, t->experiment, t->setup->secret, &c->server, err)))
        return rc;
    return publish(c, 0, 0) ? (lpz_error_set(err, c->err.code, "%s", c->err.message), c->err.code) : LPZ_OK;
}

static int cell_connect(trainer *t, cell *c, lpz_error *err)
{
    for (int k = 1; k < c->n_nb; k++) {
        /* Local mode: every cell is a thread of this process, its server
         * is read in place (the distributed mode, where cells move
         * between processes, always asks over the transport; so does a
         * big-endian host, where the payload's floats cannot be read in
         * place). Such a neighbour's members own no Adam moments: they
         * borrow them. */
        for (int j = 0; !t->setup->cell_urls && lpz_population_peek_supported() && j < t->n_cells; j++)
            if (t->cells[j].id == c->nb[k])
                c->nb_cell[k] = &t->cells[j];
        if (c->nb_cell[k]) {
            drop_neighbour_moments(c, k);
            continue;
        }
        char url[4096];
        int rc = cell_url(t, c->nb[k], url, sizeof url, err);
        if (!rc)
            rc = lpz_peer_client_open(url, t->experiment, t->setup->secret, c->id, &c->clients[k], err);
        if (rc)
            return rc;
    }
    return LPZ_OK;
}

/* Every cell lets go of the parameters it reads from other cells
 * (params_lock of the publisher), before any cell is freed. */
static void release_params(trainer *t)
{
    for (int i = 0; t->cells && i < t->n_cells; i++) {
        cell *c = &t->cells[i];
        for (int k = 1; c->tr && k < c->n_nb; k++) {
            if (c->nb_cell[k]) {
                params_put(c->nb_cell[k], c->nb_params_held[k]);
                params_put(c->nb_cell[k], c->nb_params_spare[k]);
            }
            c->nb_params_held[k] = c->nb_params_spare[k] = NULL;
        }
    }
}

static void cell_free(cell *c)
{
    trainer *t = c->tr;
    if (!t)
        return;
    for (int k = 1; k < c->n_nb; k++) {
        lpz_peer_client_close(c->clients[k]);
        lpz_peer_snapshot_release(c->nb_snap[k]); /* a run stopped between fetch and selection */
    }
    lpz_peer_snapshot_release(c->own_snap);
    pthread_mutex_destroy(&c->params_lock); /* readers let go first: release_params */
    lpz_peer_server_stop(c->server);
    int pop = t->pop, nnb = (c->n_nb - 1) * pop;
    for (int i = 0; i < pop; i++) {
        if (c->gen)
            lpz_member_free(&c->gen[i]);
        if (c->disc)
            lpz_member_free(&c->disc[i]);
        if (c->sel_gen)
            lpz_member_free(&c->sel_gen[i]);
        if (c->sel_disc)
            lpz_member_free(&c->sel_disc[i]);
    }
    for (int i = 0; i < nnb; i++) {
        if (c->nb_gen)
            lpz_member_free(&c->nb_gen[i]);
        if (c->nb_disc)
            lpz_member_free(&c->nb_disc[i]);
    }
    lpz_batcher_destroy(c->batcher);
    lpz_score_context_destroy(c->score_ctx);
    free(c->gen), free(c->disc), free(c->sel_gen), free(c->sel_disc), free(c->nb_gen), free(c->nb_disc);
    free(c->all_gen), free(c->all_disc), free(c->real), free(c->z), free(c->dout), free(c->dfake);
    free(c->fit_idx), free(c->fit_z), free(c->sample_z);
    free(c->samples), free(c->pair_loss);
    free(c->real_loss), free(c->buf_scratch), free(c->pending_inds), free(c->iter_seconds), free(c->iter_fit);
    dp_free(c); /* data-parallel steps */
}

/* optimize_mixture: a (1+1) ES over the cell's mixture weights with the
 * score (FID or inception score), after training (the original's
 * optimize_generator_mixture_weights). */
static int optimize_weights(cell *c)
{
    trainer *t = c->tr;
    const lpz_train_params *p = t->p;
    if (!p->optimize_mixture || !c->score_ctx || c->n_nb == 1)
        return LPZ_OK;
    lpz_model *gens[LPZ_MAX_NEIGHBOURS];
    mixture_generators(c, gens);
    lpz_mixture_es_params es = {p->es_generations, p->es_sigma, p->es_random_init, 1};
    for (int k = 0; k < c->n_nb; k++)
        lpz_model_set_training(gens[k], 0);
    double best, before[LPZ_MAX_NEIGHBOURS];
    memcpy(before, c->mix, sizeof(double) * (size_t)c->n_nb);
    int rc = lpz_mixture_optimize_score(c->score_ctx, gens, c->mix, c->n_nb, p->es_sample_size,
                                        (lpz_mix_mode)p->mixture_sampling, &es, &c->rng, &best, &c->err);
    if (rc == LPZ_ECANCELED) /* es_random_init had replaced them already */
        memcpy(c->mix, before, sizeof(double) * (size_t)c->n_nb);
    for (int k = 0; k < c->n_nb; k++)
        lpz_model_set_training(gens[k], 1);
    if (!rc) {
        c->score = best;
        c->score_es = 1;
        /* what the search found, as the original printed it */
        char w[LPZ_MAX_NEIGHBOURS * 12 + 1] = "";
        size_t n = 0;
        for (int k = 0; k < c->n_nb && n < sizeof w; k++)
            n += (size_t)snprintf(w + n, sizeof w - n, "%s%.4f", k ? " " : "", c->mix[k]);
        lpz_log(LPZ_LOG_INFO, "cell %d: optimize_mixture: %s %.4f after %d generations; weights %s", c->id,
                strcmp(p->score_type, "inception_score") ? "FID" : "inception score", best, p->es_generations, w);
    }
    return rc;
}

/* master/<cell>/: the best known generator and discriminator of every
 * neighbourhood cell and mixture.yml (file -> weight). */
static int save_mixture(trainer *t, cell *c, lpz_cell_result *r, lpz_error *err)
{
    snprintf(r->mixture_dir, sizeof r->mixture_dir, "%s/master/%d", t->setup->run_dir, c->id);
    int rc = lpz_mkdirs(r->mixture_dir, err);
    if (rc)
        return rc;
    char yml[8192];
    size_t n = (size_t)snprintf(yml, sizeof yml, "# mixture of cell %d: generator file -> weight\n", c->id);
    for (int k = 0; k < c->n_nb; k++) {
        lpz_member *g, *d;
        if (k == 0) {
            g = best_of(c->gen, t->pop);
            d = best_of(c->disc, t->pop);
        } else {
            g = best_of(&c->nb_gen[(k - 1) * t->pop], t->pop);
            d = best_of(&c->nb_disc[(k - 1) * t->pop], t->pop);
        }
        lpz_member *ms[2] = {g, d};
        const char *names[2] = {"generator", "discriminator"};
        for (int j = 0; j < 2; j++) {
            char path[4400], lr[32], fit[32], cellno[16], src[16];
            snprintf(path, sizeof path, "%s/%s-%d.safetensors", r->mixture_dir, names[j], c->nb[k]);
            snprintf(lr, sizeof lr, "%.9g", ms[j]->lr);
            snprintf(fit, sizeof fit, "%.9g", ms[j]->fitness);
            snprintf(cellno, sizeof cellno, "%d", c->id);
            snprintf(src, sizeof src, "%d", c->nb[k]);
            const char *keys[] = {"cell", "neighbour_cell", "learning_rate", "fitness", "loss"};
            /* the loss it trained with: a WGAN's members keep network.loss's, which it does not use */
            lpz_loss_kind loss = t->p->wgan ? LPZ_LOSS_WASSERSTEIN : (lpz_loss_kind)ms[j]->loss;
            const char *vals[] = {cellno, src, lr, fit, lpz_loss_name(loss)};
            if ((rc = lpz_model_save(path, ms[j]->model, t->net, j ? LPZ_ROLE_DISCRIMINATOR : LPZ_ROLE_GENERATOR,
                                     keys, vals, 5, err)))
                return rc;
        }
        n += (size_t)snprintf(yml + n, sizeof yml - n, "generator-%d.safetensors: %.9g\n", c->nb[k], c->mix[k]);
    }
    char path[4400];
    /* units.json before mixture.yml: a mixture.yml is never newer than its record */
    snprintf(path, sizeof path, "%s/" LPZ_UNITS_FILE, r->mixture_dir);
    const char *units = t->setup->units_record;
    if (units && (rc = lpz_write_file_atomic(path, units, strlen(units), err)))
        return rc;
    snprintf(path, sizeof path, "%s/mixture.yml", r->mixture_dir);
    return lpz_write_file_atomic(path, yml, n, err);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

typedef struct progress_ctx {
    trainer *t;
    volatile int done;
    int start; /* the first iteration any cell trains (a resumed run's checkpoints), read before they start */
} progress_ctx;

/* Looks at the cells five times a second: a progress line on a terminal,
 * else a log line when grid iterations finished since the last (fast ones
 * share a line). */
static void *progress_main(void *arg)
{
    progress_ctx *pc = arg;
    trainer *t = pc->t;
    /* a resumed run's first line is for the first iteration it trains (it said "iteration 1/2 done" at once) */
    int mode = t->setup->progress, last_logged = pc->start;
    double last_scoring_log = 0; /* seconds into the run of the last scoring line (mode 1) */
    while (!__atomic_load_n(&pc->done, __ATOMIC_SEQ_CST)) {
        struct timespec ts = {0, 200 * 1000 * 1000};
        nanosleep(&ts, NULL);
        int min_it = t->p->n_iterations;
        long batches = 0;
        for (int i = 0; i < t->n_cells; i++) {
            int it = __atomic_load_n(&t->cells[i].iteration, __ATOMIC_SEQ_CST);
            if (it < min_it)
                min_it = it;
            batches += (long)it * t->batches_per_iteration + __atomic_load_n(&t->cells[i].batch, __ATOMIC_RELAXED);
        }
        double el = now_seconds() - t->t0;
        long total = (long)t->p->n_iterations * t->batches_per_iteration * t->n_cells;
        if (batches > total)
            batches = total;
        /* ETA from the rate of this process (a resumed run starts late). */
        long todo = total - t->start_batches, done = batches - t->start_batches;
        double frac = todo > 0 ? (double)done / todo : 1.0;
        double eta = frac > 0.001 && frac < 1.0 ? el / frac - el : 0.0;
        /* cells scoring their mixture with InceptionV3 (the batches are done, the iteration is not) */
        char scoring[160] = "";
        size_t sn = 0;
        int n_scoring = 0;
        for (int i = 0; i < t->n_cells && sn < sizeof scoring; i++) {
            int64_t total = __atomic_load_n(&t->cells[i].score_total, __ATOMIC_RELAXED),
                    sc = __atomic_load_n(&t->cells[i].scored, __ATOMIC_RELAXED);
            if (total <= 0 || sc <= 0)
                continue;
            if (n_scoring++ < 2)
                sn += (size_t)snprintf(scoring + sn, sizeof scoring - sn, "%s c%d %lld/%lld", sn ? "," : "",
                                       t->cells[i].id, (long long)(sc < total ? sc : total), (long long)total);
        }
        if (n_scoring > 2 && sn < sizeof scoring)
            snprintf(scoring + sn, sizeof scoring - sn, " (+%d)", n_scoring - 2);
        if (mode == 2) {
            /* Per-cell generator/discriminator losses of this iteration for
             * up to four cells, else their mean. */
            char losses[256];
            size_t n = 0;
            double sg = 0, sd = 0;
            int ng = 0, nd = 0;
            for (int i = 0; i < t->n_cells; i++) {
                double g, d;
                __atomic_load(&t->cells[i].shown_g, &g, __ATOMIC_RELAXED);
                __atomic_load(&t->cells[i].shown_d, &d, __ATOMIC_RELAXED);
                if (isfinite(g))
                    sg += g, ng++;
                if (isfinite(d))
                    sd += d, nd++;
                char gs[16] = "-", ds[16] = "-"; /* no step yet (a cell not started, a skipped turn) */
                if (isfinite(g))
                    snprintf(gs, sizeof gs, "%.3f", g);
                if (isfinite(d))
                    snprintf(ds, sizeof ds, "%.3f", d);
                if (t->n_cells <= 4 && n < sizeof losses)
                    n += (size_t)snprintf(losses + n, sizeof losses - n, "  c%d G %s D %s", t->cells[i].id, gs, ds);
            }
            if (t->n_cells > 4 && ng && nd)
                snprintf(losses, sizeof losses, "  mean G %.3f D %.3f", sg / ng, sd / nd);
            else if (t->n_cells > 4)
                snprintf(losses, sizeof losses, "  mean G - D -");
            fprintf(stderr, "\r\033[Kiteration %d/%d  batch %ld/%ld%s%s%s  %.0fs, ETA %.0fs",
                    min_it + 1 > t->p->n_iterations ? t->p->n_iterations : min_it + 1, t->p->n_iterations, batches,
                    total, n || t->n_cells > 4 ? losses : "", n_scoring ? "  scoring" : "", scoring, el, eta);
            fflush(stderr);
        } else if (mode == 1 && n_scoring && el - last_scoring_log >= 30.0) {
            lpz_log(LPZ_LOG_INFO, "iteration %d/%d: scoring the mixtures with InceptionV3, samples done:%s",
                    min_it + 1, t->p->n_iterations, scoring);
            last_scoring_log = el;
        }
        if (mode == 1 && min_it > last_logged) {
            /* each cell's fitness at the end of iteration min_it, as metrics.csv has it (the cells ahead have
             * evaluated their populations again since: the line showed the next iteration's) */
            double gl = 0, dl = 0;
            int nf = 0; /* a resumed cell that was ahead trained min_it before this process: not known here */
            for (int i = 0; i < t->n_cells; i++) {
                const double *f = &t->cells[i].iter_fit[2 * (min_it - 1)];
                if (!isnan(f[0]))
                    gl += f[0], dl += f[1], nf++;
            }
            char fit[96] = "";
            if (nf)
                snprintf(fit, sizeof fit, ": mean best fitness G %.4f D %.4f", gl / nf, dl / nf);
            lpz_log(LPZ_LOG_INFO, "iteration %d/%d done%s, elapsed %.1fs, ETA %.0fs", min_it, t->p->n_iterations, fit,
                    el, eta);
            last_logged = min_it;
        }
    }
    if (mode == 2)
        fprintf(stderr, "\r\033[K");
    return NULL;
}

/* A resumed run's metrics.csv or timing.csv: the rows of the cells trained
 * here for iterations past their checkpoints go (a run killed after it
 * wrote them, or whose checkpoint could not be written), since those
 * iterations are trained, and written, again: the file had them twice, with
 * different values. The file is replaced atomically; *dropped counts. */
static int drop_redone_rows(trainer *t, const char *path, long *dropped, lpz_error *err)
{
    *dropped = 0;
    char *text;
    size_t size;
    int rc = lpz_read_file(path, (size_t)1 << 30, &text, &size, err);
    if (rc)
        return rc;
    char *out = malloc(size + 1);
    if (!out) {
        free(text);
        return lpz_error_set(err, LPZ_ENOMEM, "out of memory for %s", path);
    }
    size_t n = 0;
    for (size_t at = 0; at < size;) {
        const char *line = text + at;
        const char *end = memchr(line, '\n', size - at);
        size_t len = end ? (size_t)(end - line) + 1 : size - at;
        at += len;
        if (!end) { /* a row cut off by the stop (the next one would be glued to it) */
            (*dropped)++;
            continue;
        }
        char *q;
        long it = strtol(line, &q, 10), cell = -1;
        if (q != line && *q == ',')
            cell = strtol(q + 1, &q, 10);
        int drop = 0;
        for (int i = 0; cell >= 0 && *q == ',' && i < t->n_cells; i++)
            if (t->cells[i].id == cell && it > t->cells[i].resumed_at)
                drop = 1;
        if (drop) {
            (*dropped)++;
            continue;
        }
        memcpy(out + n, line, len);
        n += len;
    }
    free(text);
    if (*dropped)
        rc = lpz_write_file_atomic(path, out, n, err);
    free(out);
    return rc;
}

/* metrics.csv or timing.csv of the run folder, for appending: a FIFO, a
 * folder or a symbolic link there is refused (a FIFO blocked the run for
 * good; a link had the rows appended to the file it named). */
static FILE *open_log(const char *path, lpz_error *err)
{
    const char *kind = NULL;
    FILE *f = lpz_fopen_append_regular(path, &kind);
    if (f)
        return f;
    if (kind) {
        lpz_error_set(err, LPZ_EIO, "cannot write to it: not a regular file (%s)", kind);
        lpz_error_hint(err, "the run folder's files are written by lpz: remove or rename that one");
    } else {
        lpz_error_set(err, LPZ_EIO, "cannot open for writing: %s", strerror(errno));
    }
    lpz_error_where(err, "%s", path);
    return NULL;
}

/* A resumed run's metrics.csv and timing.csv without the rows past the
 * checkpoints, once an iteration is done (a resume stopped or failed before
 * leaves the folder as it was); lock held. A failure is a warning: the
 * training goes on, the file keeps those rows. */
static void prune_logs(trainer *t)
{
    for (int k = 0; k < 2; k++) {
        FILE **f = k ? &t->timing : &t->metrics;
        const char *name = k ? "timing.csv" : "metrics.csv";
        char path[4200], buf[1024];
        snprintf(path, sizeof path, "%s/%s", t->setup->run_dir, name);
        long dropped = 0;
        lpz_error e;
        lpz_error_clear(&e);
        if (*f)
            fclose(*f);
        int rc = drop_redone_rows(t, path, &dropped, &e);
        if (rc)
            lpz_log(LPZ_LOG_WARN, "%s; it keeps the rows of the iterations trained again", lpz_error_format(&e, buf,
                                                                                                           sizeof buf));
        else if (dropped)
            lpz_log(LPZ_LOG_INFO, "%s: %ld row%s of iterations past the checkpoints removed: they are trained again",
                    name, dropped, dropped == 1 ? "" : "s");
        if (!(*f = open_log(path, &e)))
            lpz_log(LPZ_LOG_WARN, "%s; its rows are not written", lpz_error_format(&e, buf, sizeof buf));
    }
}

int lpz_train_local(const lpz_train_setup *setup, lpz_train_result *result, lpz_error *err)
{
    const lpz_train_params *p = setup->params;
    memset(result, 0, sizeof *result);
    result->best_cell = -1;
    if (p->grid_k < 1 || p->population_size < 1 || p->population_size > 64 || p->batch_size < 1 ||
        p->fitness_sample_size < 1 || p->n_iterations < 0)
        return lpz_error_set(err, LPZ_EINVAL, "invalid training parameters (grid %d, population %d, batch %lld)",
                             p->grid_k, p->population_size, (long long)p->batch_size);
    /* Populations on the wire are megabytes (6.6 MB for the quick start's
     * MLP pair), malloc'd and freed every iteration by each cell thread.
     * glibc's dynamic mmap threshold rises to the size of the first such
     * block freed, after which they come from the threads' heaps and
     * freed ones stay resident there (measured: 2x2 quick start peak RSS
     * 399 -> 334 MB with a fixed 1 MiB threshold). A fixed threshold
     * makes every block of 1 MiB or more its own mapping, returned to the
     * system when freed. The cost is page faults on each fresh message
     * (~1,600 per 6.6 MB): measured +0.1 s system time over a 3-iteration
     * 2x2 run of ~13 s CPU. Process-wide, but only a threshold. */
    mallopt(M_MMAP_THRESHOLD, 1 << 20);
    trainer *t = calloc(1, sizeof *t);
    if (!t)
        return lpz_error_set(err, LPZ_ENOMEM, "out of memory");
    t->p = p;
    t->setup = setup;
    t->ds = setup->dataset;
    t->net = setup->network;
    t->stop = setup->stop ? setup->stop : &t->local_stop;
    int grid_cells = p->grid_k * p->grid_k;
    t->n_cells = setup->local_cells ? setup->n_local_cells : grid_cells;
    t->fetch_timeout_ms = setup->fetch_timeout_ms > 0 ? setup->fetch_timeout_ms : FETCH_TIMEOUT_MS;
    for (int i = 0; setup->local_cells && i < t->n_cells; i++)
        if (setup->local_cells[i] < 0 || setup->local_cells[i] >= grid_cells) {
            free(t);
            return lpz_error_set(err, LPZ_EINVAL, "cell %d is not in a %dx%d grid", setup->local_cells[i],
                                 p->grid_k, p->grid_k);
        }
    if (t->n_cells < 1) {
        free(t);
        return lpz_error_set(err, LPZ_EINVAL, "no cells to train");
    }
    t->pop = p->population_size;
    t->batch = p->batch_size;
    t->numel = lpz_dataset_numel(t->ds);
    lpz_shape ls = lpz_network_latent_shape(t->net);
    t->latent = lpz_shape_numel(&ls);
    t->experiment = setup->experiment
                        ? setup->experiment
                        : ((uint64_t)time(NULL) << 20) ^ (uint64_t)getpid() ^ (p->seed * 0x9e3779b97f4a7c15ULL);
    t->t0 = now_seconds();
    pthread_mutex_init(&t->lock, NULL);
    barrier_init(&t->barrier, t->n_cells);
    int cores = p->cores > 0 ? p->cores : 1;
    int permits = t->n_cells < cores ? t->n_cells : cores;
    t->n_permits = permits;
    sem_init(&t->permits, 0, (unsigned)permits);
    /* Threads x BLAS threads <= cores: one BLAS thread per running cell.
     * Even a single cell keeps one: the GAN's matrix products are small,
     * and a second OpenBLAS thread spent 39% of a 1x1 run spinning in
     * sched_yield between them (perf, docs/performance.md). */
    lpz_nn_set_threads(1);

    int rc = LPZ_OK;
    char path[4200];
    snprintf(path, sizeof path, "%s/metrics.csv", setup->run_dir);
    if (!(t->metrics = open_log(path, err)))
        rc = err->code;
    else if (ftell(t->metrics) == 0) { /* on disk at once: lpz report during the first iteration reads it */
        fprintf(t->metrics, "iteration,cell,g_loss,d_loss,g_fitness,d_fitness,g_lr,d_lr,score,mixture_weights\n");
        fflush(t->metrics);
    }
    snprintf(path, sizeof path, "%s/timing.csv", setup->run_dir);
    if (!rc && !(t->timing = open_log(path, err)))
        rc = err->code;
    else if (!rc && ftell(t->timing) == 0) {
        fprintf(t->timing, "iteration,cell,seconds,failed_fetches\n");
        fflush(t->timing);
    }
    t->rows = calloc((size_t)(p->n_iterations * t->n_cells) + 1, sizeof *t->rows);
    t->done_count = calloc((size_t)p->n_iterations + 1, sizeof *t->done_count);
    if (!rc && (!t->rows || !t->done_count))
        rc = lpz_error_set(err, LPZ_ENOMEM, "out of memory");

    t->cells = calloc((size_t)t->n_cells, sizeof *t->cells);
    pthread_t *threads = calloc((size_t)t->n_cells, sizeof *threads);
    if (!rc && (!t->cells || !threads))
        rc = lpz_error_set(err, LPZ_ENOMEM, "out of memory");
    for (int i = 0; !rc && t->cells && i < t->n_cells; i++) {
        int id = setup->local_cells ? setup->local_cells[i] : i;
        if ((rc = cell_setup(t, &t->cells[i], i, id, err)))
            lpz_error_context(err, "setting up cell %d", id);
    }
    /* Deterministic cells move in step (a barrier per iteration): resumed
     * from checkpoints of different iterations (a run killed while its
     * cells wrote them), the first to finish would leave the others
     * waiting for it forever. */
    for (int i = 0; !rc && p->deterministic && i < t->n_cells; i++)
        if (t->cells[i].no_checkpoint && t->cells[i].iteration != t->cells[i ? 0 : t->n_cells - 1].iteration) {
            rc = lpz_error_set(err, LPZ_EINVAL, "cell %d has no checkpoint, and the others have theirs; a "
                               "deterministic run moves its cells in step", t->cells[i].id);
            lpz_error_hint(err, "resume without --deterministic (general.deterministic: false): cell %d then starts "
                                "from the beginning, the others from their checkpoints", t->cells[i].id);
        }
    for (int i = 1; !rc && p->deterministic && i < t->n_cells; i++)
        if (t->cells[i].iteration != t->cells[0].iteration) {
            rc = lpz_error_set(err, LPZ_EINVAL,
                               "the checkpoints of cell %d and cell %d are at iterations %d and %d; a "
                               "deterministic run moves its cells in step", t->cells[0].id, t->cells[i].id,
                               t->cells[0].iteration, t->cells[i].iteration);
            lpz_error_hint(err, "resume without --deterministic (general.deterministic: false): each cell then "
                                "continues from its own checkpoint");
        }
    if (!rc) {
        /* Iterations that resumed cells have already done are written. */
        int first = p->n_iterations;
        for (int i = 0; i < t->n_cells; i++) {
            for (int it = 0; it < t->cells[i].iteration; it++)
                t->done_count[it]++;
            if (t->cells[i].iteration < first)
                first = t->cells[i].iteration;
        }
        t->flushed = first;
        for (int i = 0; i < t->n_cells; i++)
            t->start_batches += (long)t->cells[i].iteration * t->batches_per_iteration;
        if (setup->resume)
            lpz_log(LPZ_LOG_INFO, "resuming from iteration %d of %d", first, p->n_iterations);
    }
    if (!rc && setup->resume) {
        int found = 0;
        for (int i = 0; i < t->n_cells; i++)
            found += !t->cells[i].no_checkpoint;
        if (!found) { /* not a resume: a new run in an old folder would lose its rows (a distributed master refuses
                       * this too) */
            rc = lpz_error_set(err, LPZ_ENOTFOUND, "cannot resume %s: no checkpoint of %s%d cell%s in %s/checkpoints",
                               setup->run_dir, t->n_cells == 1 ? "its " : "any of the ", t->n_cells,
                               t->n_cells == 1 ? "" : "s", setup->run_dir);
            lpz_error_hint(err, "start a new run with -f %s/config.yml (the checkpoints are written every "
                                "general.checkpoint_period iterations and when a run ends or is stopped)",
                           setup->run_dir);
        }
        t->prune_rows = 1; /* when the first iteration is done (drop_redone_rows) */
    }
    for (int i = 0; !rc && i < t->n_cells; i++)
        rc = cell_connect(t, &t->cells[i], err);
    if (!rc)
        lpz_log(LPZ_LOG_INFO, "training a %dx%d grid: %d cell%s, %lld batch%s of %lld per iteration, %d iteration%s, "
                              "%d cell%s computing at once",
                p->grid_k, p->grid_k, t->n_cells, t->n_cells == 1 ? "" : "s", (long long)t->batches_per_iteration,
                t->batches_per_iteration == 1 ? "" : "es", (long long)t->batch, p->n_iterations,
                p->n_iterations == 1 ? "" : "s", permits, permits == 1 ? "" : "s");
    /* an iteration is at most one pass over the data (the original's too): said, not capped silently */
    if (!rc && p->n_batches > t->batches_per_iteration)
        lpz_log(LPZ_LOG_WARN, "dataloader.n_batches %lld is more than one pass over the %sdata: an iteration "
                "trains %lld batch%s of %lld (one pass)", (long long)p->n_batches,
                p->sampling_ratio < 1.0 ? "cell's subset of the " : "", (long long)t->batches_per_iteration,
                t->batches_per_iteration == 1 ? "" : "es", (long long)t->batch);

    int started = 0;
    progress_ctx pc = {t, 0, p->n_iterations};
    for (int i = 0; i < t->n_cells; i++) /* before any cell thread runs */
        pc.start = t->cells[i].iteration < pc.start ? t->cells[i].iteration : pc.start;
    pthread_t progress;
    int have_progress = 0;
    if (!rc) {
        for (int i = 0; i < t->n_cells; i++, started++)
            if (lpz_thread_create(&threads[i], cell_main, &t->cells[i]) != 0) {
                rc = lpz_error_set(err, LPZ_ENOMEM, "cannot start the thread of cell %d", i);
                __atomic_store_n(t->stop, 1, __ATOMIC_SEQ_CST);
                barrier_break(&t->barrier);
                break;
            }
        if (setup->progress && lpz_thread_create(&progress, progress_main, &pc) == 0)
            have_progress = 1;
    }
    for (int i = 0; i < started; i++)
        pthread_join(threads[i], NULL);
    __atomic_store_n(&pc.done, 1, __ATOMIC_SEQ_CST);
    if (have_progress)
        pthread_join(progress, NULL);
    if (t->rows) {
        pthread_mutex_lock(&t->lock);
        flush_rows(t, 1); /* rows of an interrupted iteration */
        pthread_mutex_unlock(&t->lock);
    }

    for (int i = 0; !rc && i < t->n_cells; i++)
        if (t->cells[i].failed) {
            *err = t->cells[i].err;
            rc = err->code ? err->code : LPZ_EINVAL;
        }
    if (!rc) {
        result->n_cells = t->n_cells;
        result->cells = calloc((size_t)t->n_cells, sizeof *result->cells);
        result->stopped = stop_requested(t);
        result->score_higher = !strcmp(p->score_type, "inception_score");
        if (!result->cells)
            rc = lpz_error_set(err, LPZ_ENOMEM, "out of memory");
        double *secs = calloc((size_t)(t->n_cells * (p->n_iterations + 1)) + 1, sizeof(double));
        int nsecs = 0;
        int es_skipped = 0;
        for (int i = 0; !rc && i < t->n_cells; i++) {
            cell *c = &t->cells[i];
            lpz_cell_result *r = &result->cells[i];
            r->cell = c->id;
            r->iterations = c->iteration;
            r->best_g_fitness = best_of(c->gen, t->pop)->fitness;
            if ((rc = fetch_final_neighbours(c))) {
                *err = c->err;
                break;
            }
            /* a stopped run (Ctrl-C before or during the ES) keeps the weights it had, and says so once */
            if (!stop_requested(t) && (rc = optimize_weights(c)) == LPZ_ECANCELED)
                rc = LPZ_OK;
            if (!rc && p->optimize_mixture && c->n_nb > 1 && c->score_ctx && stop_requested(t) && !es_skipped++) {
                lpz_log(LPZ_LOG_WARN, "stopped: optimize_mixture left out (cell %d on); the mixtures keep their "
                        "weights", c->id);
                result->stopped = 1;
            }
            if (rc) {
                *err = c->err;
                lpz_error_context(err, "optimize_mixture of cell %d", c->id);
                break;
            }
            r->score = c->score;
            r->score_es = c->score_es;
            rc = save_mixture(t, c, r, err);
            for (int it = 0; secs && it < p->n_iterations; it++)
                if (c->iter_seconds[it] > 0)
                    secs[nsecs++] = c->iter_seconds[it];
        }
        /* The rule the master and a resume that only scores use too. */
        if (!rc && lpz_run_result_best_cell(result, &result->best_cell))
            rc = lpz_error_set(err, LPZ_ENOMEM, "out of memory");
        if (secs && nsecs) {
            qsort(secs, (size_t)nsecs, sizeof *secs, cmp_double);
            result->seconds_per_iteration = secs[nsecs / 2];
        }
        free(secs);
    }
    result->seconds = now_seconds() - t->t0;
    if (!rc && setup->on_iteration)
        setup->on_iteration(setup->user, setup->run_dir, -1);

    release_params(t);
    for (int i = 0; t->cells && i < t->n_cells; i++) /* the servers end together */
        lpz_peer_server_signal_stop(t->cells[i].server);
    for (int i = 0; t->cells && i < t->n_cells; i++)
        cell_free(&t->cells[i]);
    free(t->cells);
    free(threads);
    if (t->metrics)
        fclose(t->metrics);
    if (t->timing)
        fclose(t->timing);
    free(t->rows);
    free(t->done_count);
    sem_destroy(&t->permits);
    barrier_destroy(&t->barrier);
    pthread_mutex_destroy(&t->lock);
    free(t);
    if (rc)
        lpz_train_result_free(result);
    return rc;
}

void lpz_train_result_free(lpz_train_result *r)
{
    free(r->cells);
    memset(r, 0, sizeof *r);
}
