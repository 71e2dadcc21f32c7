/* core/data/batcher.c - per-cell subsets, seeded epoch orders and a
 * prefetch thread over a ring of ready batches (see batcher.h). */
#include "data/batcher.h"

#include "base/thread.h"

#include <lpz/log.h>

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

enum { TAG_SUBSET = 1, TAG_EPOCH = 2 };

struct lpz_batcher {
    lpz_dataset *ds;
    lpz_batcher_config cfg;
    int64_t numel;
    int64_t batch_floats; /* batch_size * numel */
    int64_t *subset;      /* dataset indices of this cell's samples, ascending */
    int64_t n_subset;
    int64_t per_epoch;    /* batches per epoch */

    /* Producer side: touched only by the thread that fills batches (the
     * prefetch thread, or the caller when prefetch == 0). */
    int64_t *order;       /* the current epoch's dataset indices: subset in a seeded order */
    int64_t prod_epoch, prod_batch;

    /* Ring of `depth` slots. Slot i is the producer's while not ready,
     * the consumer's while ready; `ready[i]` and the counters change under
     * the lock only. */
    int depth;
    float *buf;           /* depth x batch_floats */
    int32_t *labels;      /* depth x batch_size */
    int *ready;
    int *slot_rc;
    lpz_error *slot_err;
    int head, tail;       /* next slot to consume / to fill */
    pthread_mutex_t lock;
    pthread_cond_t filled, freed;
    int stop;             /* read with atomics by the producer mid-batch */
    int thread_started;
    pthread_t thread;

    /* Consumer side. */
    int64_t cons_epoch, cons_batch;
    int failed;
};

/* Stream number for (tag, cell, epoch): a splitmix-style mix so that
 * neighbouring cells and epochs get unrelated streams. */
static uint64_t mix_stream(uint64_t tag, uint64_t cell, uint64_t epoch)
{
    uint64_t z = tag * 0x9e3779b97f4a7c15ULL ^ (cell + 0x632be59bd9b4e019ULL) * 0xbf58476d1ce4e5b9ULL;
    z ^= (epoch + 0x2545f4914f6cdd1dULL) * 0x94d049bb133111ebULL;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

lpz_batcher_config lpz_batcher_config_default(int64_t batch_size, uint64_t seed, uint64_t cell)
{
    lpz_batcher_config c = {batch_size, 0, 1, 1.0, seed, cell, 2, 0};
    return c;
}

/* The order of epoch e: the first per_epoch * batch_size entries of a
 * seeded permutation of the subset (partial Fisher-Yates), or the subset's
 * own order without shuffling. */
static void start_epoch(lpz_batcher *b, int64_t epoch)
{
    for (int64_t i = 0; i < b->n_subset; i++)
        b->order[i] = b->subset[i];
    if (!b->cfg.shuffle)
        return;
    lpz_rng rng;
    lpz_rng_seed(&rng, b->cfg.seed, mix_stream(TAG_EPOCH, b->cfg.cell, (uint64_t)epoch));
    int64_t used = b->per_epoch * b->cfg.batch_size;
    for (int64_t i = 0; i < used && i < b->n_subset - 1; i++) {
        int64_t r = i + (int64_t)lpz_rng_below(&rng, (uint64_t)(b->n_subset - i));
        int64_t t = b->order[i];
        b->order[i] = b->order[r];
        b->order[r] = t;
    }
}

/* Fills one batch at the producer's position and advances it. */
static int produce(lpz_batcher *b, float *out, int32_t *labels, lpz_error *err)
{
    if (b->prod_batch == 0)
        start_epoch(b, b->prod_epoch);
    int64_t bs = b->cfg.batch_size;
    if (__atomic_load_n(&b->stop, __ATOMIC_ACQUIRE))
        return LPZ_ECANCELED;
    /* the samples are random rows of the data: read_rows hints them ahead */
    int rc = lpz_dataset_read_rows(b->ds, b->order + b->prod_batch * bs, bs, out, labels, err);
    if (rc != LPZ_OK) {
        lpz_error_context(err, "cell %llu, epoch %lld, batch %lld", (unsigned long long)b->cfg.cell,
                          (long long)b->prod_epoch, (long long)b->prod_batch);
        return rc;
    }
    if (++b->prod_batch == b->per_epoch) {
        b->prod_batch = 0;
        b->prod_epoch++;
    }
    return LPZ_OK;
}

static void *prefetch_main(void *arg)
{
    lpz_batcher *b = arg;
    for (;;) {
        pthread_mutex_lock(&b->lock);
        while (!b->stop && b->ready[b->tail])
            pthread_cond_wait(&b->freed, &b->lock);
        int stop = b->stop;
        int slot = b->tail;
        pthread_mutex_unlock(&b->lock);
        if (stop)
            break;

        lpz_error_clear(&b->slot_err[slot]);
        int rc = produce(b, b->buf + slot * b->batch_floats, b->labels + slot * b->cfg.batch_size,
                         &b->slot_err[slot]);
        if (rc == LPZ_ECANCELED)
            break;
        pthread_mutex_lock(&b->lock);
        b->slot_rc[slot] = rc;
        b->ready[slot] = 1;
        b->tail = (b->tail + 1) % b->depth;
        pthread_cond_signal(&b->filled);
        pthread_mutex_unlock(&b->lock);
        if (rc != LPZ_OK)
            break; /* the consumer reports it; nothing more to do */
    }
    return NULL;
}

static int pick_subset(lpz_batcher *b, lpz_error *err)
{
    int64_t n = lpz_dataset_get_info(b->ds)->count;
    int64_t m = n;
    if (b->cfg.sampling_ratio < 1.0) {
        m = (int64_t)(b->cfg.sampling_ratio * (double)n + 0.5);
        if (m < b->cfg.batch_size) {
            lpz_log(LPZ_LOG_WARN, "cell %llu: dataloader.sampling_ratio %g leaves %lld of %lld samples, fewer than "
                    "a batch: it trains on %lld (one batch)", (unsigned long long)b->cfg.cell, b->cfg.sampling_ratio,
                    (long long)m, (long long)n, (long long)b->cfg.batch_size);
            m = b->cfg.batch_size;
        }
        if (m > n)
            m = n;
    }
    b->subset = malloc((size_t)n * sizeof *b->subset);
    b->order = malloc((size_t)m * sizeof *b->order);
    if (!b->subset || !b->order)
        return lpz_error_set(err, LPZ_ENOMEM, "out of memory for the sample order of %lld samples", (long long)n);
    for (int64_t i = 0; i < n; i++)
        b->subset[i] = i;
    if (m < n) {
        /* Partial Fisher-Yates picks m distinct samples; sorting them back
         * keeps reads of an unshuffled run sequential. */
        lpz_rng rng;
        lpz_rng_seed(&rng, b->cfg.seed, mix_stream(TAG_SUBSET, b->cfg.cell, 0));
        for (int64_t i = 0; i < m; i++) {
            int64_t r = i + (int64_t)lpz_rng_below(&rng, (uint64_t)(n - i));
            int64_t t = b->subset[i];
            b->subset[i] = b->subset[r];
            b->subset[r] = t;
        }
        /* counting sort over a bitmap: O(n), no comparator */
        unsigned char *mark = calloc((size_t)n, 1);
        if (!mark)
            return lpz_error_set(err, LPZ_ENOMEM, "out of memory choosing the cell's subset");
        for (int64_t i = 0; i < m; i++)
            mark[b->subset[i]] = 1;
        int64_t j = 0;
        for (int64_t i = 0; i < n; i++)
            if (mark[i])
                b->subset[j++] = i;
        free(mark);
    }
    b->n_subset = m;
    return LPZ_OK;
}

void lpz_data_hint_batch_size(lpz_error *err, const lpz_dataset *ds)
{
    const lpz_dataset_info *info = lpz_dataset_get_info(ds);
    lpz_error_hint(err, "set dataloader.batch_size to %lld or less, or give the dataloader more samples%s",
                   (long long)info->count,
                   info->kind == LPZ_SAMPLE_SEQUENCE ? "; sequences: cut the data into more, shorter ones, e.g. "
                                                       "with a smaller lpz-pcap2npy --sequence-length"
                                                     : "");
}

int lpz_batcher_create(lpz_dataset *ds, const lpz_batcher_config *cfg, lpz_batcher **out, lpz_error *err)
{
    *out = NULL;
    int64_t count = lpz_dataset_get_info(ds)->count;
    if (cfg->batch_size <= 0)
        return lpz_error_set(err, LPZ_EINVAL, "dataloader.batch_size is %lld (must be positive)",
                             (long long)cfg->batch_size);
    if (cfg->batch_size > count) {
        lpz_error_set(err, LPZ_EINVAL, "dataloader.batch_size %lld is larger than the dataset (%lld samples)",
                      (long long)cfg->batch_size, (long long)count);
        lpz_data_hint_batch_size(err, ds);
        return LPZ_EINVAL;
    }
    if (!(cfg->sampling_ratio > 0.0 && cfg->sampling_ratio <= 1.0))
        return lpz_error_set(err, LPZ_EINVAL, "dataloader.sampling_ratio %g must be in (0, 1]", cfg->sampling_ratio);
    if (cfg->n_batches < 0)
        return lpz_error_set(err, LPZ_EINVAL, "dataloader.n_batches %lld must be 0 (whole epoch) or positive",
                             (long long)cfg->n_batches);
    if (cfg->prefetch < 0 || cfg->prefetch > 64)
        return lpz_error_set(err, LPZ_EINVAL, "prefetch depth %d must be in [0, 64]", cfg->prefetch);
    if (cfg->first_epoch < 0)
        return lpz_error_set(err, LPZ_EINVAL, "the batcher's first epoch %lld must not be negative",
                             (long long)cfg->first_epoch);

    lpz_batcher *b = calloc(1, sizeof *b);
    if (!b)
        return lpz_error_set(err, LPZ_ENOMEM, "out of memory creating a batcher");
    b->ds = ds;
    b->cfg = *cfg;
    b->numel = lpz_dataset_numel(ds);
    b->batch_floats = cfg->batch_size * b->numel;
    int rc = pick_subset(b, err);
    if (rc != LPZ_OK) {
        lpz_batcher_destroy(b);
        return rc;
    }
    b->per_epoch = b->n_subset / cfg->batch_size;
    if (cfg->n_batches > 0 && cfg->n_batches < b->per_epoch)
        b->per_epoch = cfg->n_batches;
    /* epoch e's order depends on (seed, cell, e) alone: starting later needs no replay */
    b->prod_epoch = b->cons_epoch = cfg->first_epoch;

    b->depth = cfg->prefetch;
    if (b->depth > 0) {
        b->buf = malloc((size_t)(b->depth * b->batch_floats) * sizeof *b->buf);
        b->labels = malloc((size_t)(b->depth * cfg->batch_size) * sizeof *b->labels);
        b->ready = calloc((size_t)b->depth, sizeof *b->ready);
        b->slot_rc = calloc((size_t)b->depth, sizeof *b->slot_rc);
        b->slot_err = calloc((size_t)b->depth, sizeof *b->slot_err);
        if (!b->buf || !b->labels || !b->ready || !b->slot_rc || !b->slot_err) {
            lpz_batcher_destroy(b);
            return lpz_error_set(err, LPZ_ENOMEM, "out of memory for %d prefetched batches of %lld floats",
                                 cfg->prefetch, (long long)b->batch_floats);
        }
        pthread_mutex_init(&b->lock, NULL);
        pthread_cond_init(&b->filled, NULL);
        pthread_cond_init(&b->freed, NULL);
        if (lpz_thread_create(&b->thread, prefetch_main, b) != 0) {
            pthread_mutex_destroy(&b->lock);
            pthread_cond_destroy(&b->filled);
            pthread_cond_destroy(&b->freed);
            b->depth = 0; /* nothing to tear down in destroy */
            lpz_batcher_destroy(b);
            return lpz_error_set(err, LPZ_ENOMEM, "could not start the prefetch thread");
        }
        b->thread_started = 1;
    } else {
        /* synchronous mode reads labels into a small buffer of its own */
        b->labels = malloc((size_t)cfg->batch_size * sizeof *b->labels);
        if (!b->labels) {
            lpz_batcher_destroy(b);
            return lpz_error_set(err, LPZ_ENOMEM, "out of memory creating a batcher");
        }
    }
    lpz_log(LPZ_LOG_DEBUG, "cell %llu: %lld of %lld samples, %lld batches of %lld per epoch",
            (unsigned long long)cfg->cell, (long long)b->n_subset, (long long)count, (long long)b->per_epoch,
            (long long)cfg->batch_size);
    *out = b;
    return LPZ_OK;
}

void lpz_batcher_destroy(lpz_batcher *b)
{
    if (!b)
        return;
    if (b->thread_started) {
        pthread_mutex_lock(&b->lock);
        __atomic_store_n(&b->stop, 1, __ATOMIC_RELEASE);
        pthread_cond_broadcast(&b->freed);
        pthread_mutex_unlock(&b->lock);
        pthread_join(b->thread, NULL);
    }
    if (b->depth > 0) {
        pthread_mutex_destroy(&b->lock);
        pthread_cond_destroy(&b->filled);
        pthread_cond_destroy(&b->freed);
    }
    free(b->subset);
    free(b->order);
    free(b->buf);
    free(b->labels);
    free(b->ready);
    free(b->slot_rc);
    free(b->slot_err);
    free(b);
}

static void advance_consumer(lpz_batcher *b)
{
    if (++b->cons_batch == b->per_epoch) {
        b->cons_batch = 0;
        b->cons_epoch++;
    }
}

int lpz_batcher_next(lpz_batcher *b, float *out, int32_t *labels, lpz_error *err)
{
    if (b->failed)
        return lpz_error_set(err, LPZ_ESTATE, "the batcher failed earlier and cannot continue");
    int64_t bs = b->cfg.batch_size;
    if (b->depth == 0) {
        int rc = produce(b, out, b->labels, err);
        if (rc != LPZ_OK) {
            b->failed = 1;
            return rc;
        }
        if (labels)
            memcpy(labels, b->labels, (size_t)bs * sizeof *labels);
        advance_consumer(b);
        return LPZ_OK;
    }
    pthread_mutex_lock(&b->lock);
    while (!b->ready[b->head])
        pthread_cond_wait(&b->filled, &b->lock);
    int slot = b->head;
    pthread_mutex_unlock(&b->lock);

    int rc = b->slot_rc[slot];
    if (rc != LPZ_OK) {
        b->failed = 1;
        if (err)
            *err = b->slot_err[slot];
        return rc;
    }
    memcpy(out, b->buf + slot * b->batch_floats, (size_t)b->batch_floats * sizeof *out);
    if (labels)
        memcpy(labels, b->labels + slot * bs, (size_t)bs * sizeof *labels);

    pthread_mutex_lock(&b->lock);
    b->ready[slot] = 0;
    b->head = (b->head + 1) % b->depth;
    pthread_cond_signal(&b->freed);
    pthread_mutex_unlock(&b->lock);
    advance_consumer(b);
    return LPZ_OK;
}

int64_t lpz_batcher_batches_per_epoch(const lpz_batcher *b)
{
    return b->per_epoch;
}

int64_t lpz_batcher_subset_size(const lpz_batcher *b)
{
    return b->n_subset;
}

int64_t lpz_batcher_subset_index(const lpz_batcher *b, int64_t i)
{
    return b->subset[i];
}

void lpz_batcher_position(const lpz_batcher *b, int64_t *epoch, int64_t *batch)
{
    if (epoch)
        *epoch = b->cons_epoch;
    if (batch)
        *batch = b->cons_batch;
}
