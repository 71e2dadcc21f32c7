/* core/data/batcher.h - mini-batches for one cell, prepared ahead.
 *
 * A batcher draws batches from a shared lpz_dataset for one cell:
 *  - subset: with sampling_ratio < 1 the cell trains on round(ratio *
 *    count) samples (at least batch_size) chosen at random from the seed
 *    and the cell number: each cell gets its own subset ("data dieting"),
 *    the same cell and seed always the same one;
 *  - epochs: an epoch is one pass over the subset in batch_size batches
 *    (a last partial batch is dropped, so every batch is full), capped at
 *    n_batches when 0 < n_batches; with shuffle the order of epoch e is a
 *    permutation seeded by (seed, cell, e), else the subset's order. The
 *    trainer runs lpz_batcher_batches_per_epoch() batches per iteration and
 *    every call of lpz_batcher_next continues where the last stopped, so
 *    iteration i reads epoch i; a resumed cell starts at first_epoch, its
 *    checkpoint's iteration, and reads what the run left uninterrupted would.
 *  - prefetch: a background thread fills up to `prefetch` batches ahead
 *    (memory: prefetch x batch_size x numel floats), so the trainer only
 *    copies a ready batch. prefetch 0 reads synchronously in the caller's
 *    thread; both give exactly the same batches.
 */
#ifndef LPZ_CORE_DATA_BATCHER_H
#define LPZ_CORE_DATA_BATCHER_H

#include "data/dataset.h"

typedef struct lpz_batcher_config {
    int64_t batch_size;    /* > 0 and <= the subset size */
    int64_t n_batches;     /* batches per epoch; 0 (or more than fit) = the whole subset */
    int shuffle;           /* 1: new random order every epoch */
    double sampling_ratio; /* (0, 1]; 1 = all samples */
    uint64_t seed;         /* the run seed */
    uint64_t cell;         /* the cell number: selects the subset and orders */
    int prefetch;          /* batches prepared ahead by a thread; 0 = no thread */
    int64_t first_epoch;   /* the epoch of the first batch (>= 0): a resumed cell's completed iterations */
} lpz_batcher_config;

/* The original's defaults: shuffle on, ratio 1, whole epochs, 2 ahead, from epoch 0. */
lpz_batcher_config lpz_batcher_config_default(int64_t batch_size, uint64_t seed, uint64_t cell);

typedef struct lpz_batcher lpz_batcher;

/* The hint of "dataloader.batch_size N is larger than the dataset": the
 * largest batch size that fits, or more samples (for sequences: shorter
 * ones, e.g. a smaller lpz-pcap2npy --sequence-length). */
void lpz_data_hint_batch_size(lpz_error *err, const lpz_dataset *ds);

/* Validates cfg against the dataset (errors name the offending setting),
 * picks the cell's subset and starts the prefetch thread. The dataset must
 * outlive the batcher. */
int lpz_batcher_create(lpz_dataset *ds, const lpz_batcher_config *cfg, lpz_batcher **out, lpz_error *err);

/* Stops the prefetch thread (it finishes at most the sample it is reading)
 * and frees everything. NULL is fine. */
void lpz_batcher_destroy(lpz_batcher *b);

/* Copies the next batch to out (batch_size x numel floats, row-major by
 * sample) and, when labels is not NULL, its labels (-1 when unlabelled).
 * A read error of the plugin is returned here, for the batch it hit; the
 * batcher then stays failed (every later call returns LPZ_ESTATE). Never
 * allocates. */
int lpz_batcher_next(lpz_batcher *b, float *out, int32_t *labels, lpz_error *err);

/* Batches in one epoch (one trainer iteration). */
int64_t lpz_batcher_batches_per_epoch(const lpz_batcher *b);
/* Samples in this cell's subset. */
int64_t lpz_batcher_subset_size(const lpz_batcher *b);
/* Dataset index of the subset's i-th sample (0 <= i < subset size). */
int64_t lpz_batcher_subset_index(const lpz_batcher *b, int64_t i);
/* Epoch and batch within that epoch of the batch the next call returns. */
void lpz_batcher_position(const lpz_batcher *b, int64_t *epoch, int64_t *batch);

#endif
