/* lpz/dataloader.h - the interface of a dataset plugin.
 *
 * A dataloader answers three questions: the shape of one sample, how many
 * samples there are, and "write sample i as floats scaled to [-1, 1]".
 * It may tell the shape before opening the data (describe), so a
 * configuration that cannot take it is refused before a long open.
 * Batching, shuffling, sub-sampling (sampling_ratio), prefetching threads
 * and the number of batches are the core's business. Optional functions
 * give labels, render samples for people, and map generated samples back
 * to the data's original units.
 *
 * Threading: after open returns, read, label and prefetch may be called
 * from several threads at once (the core's prefetch workers, the cells);
 * they must not modify shared state without locking. describe, open,
 * close, render and to_original_units are called from one thread.
 */
#ifndef LPZ_DATALOADER_H
#define LPZ_DATALOADER_H

#include "common.h"
#include "error.h"
#include "options.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum lpz_split {
    LPZ_SPLIT_TRAIN = 0,
    LPZ_SPLIT_TEST = 1
} lpz_split;

typedef enum lpz_sample_kind {
    LPZ_SAMPLE_VECTOR = 0,   /* shape (F) */
    LPZ_SAMPLE_IMAGE = 1,    /* shape (C, H, W), C = 1 or 3 */
    LPZ_SAMPLE_SEQUENCE = 2  /* shape (T, F) */
} lpz_sample_kind;

/* What the core tells a dataloader when opening it. */
typedef struct lpz_dataset_context {
    size_t size;                /* sizeof(lpz_dataset_context) of the core */
    const lpz_options *options; /* the plugin's declared options */
    const char *output_dir;     /* general.output_dir, absolute */
    const char *cache_dir;      /* a folder the plugin may write caches into (exists during open;
                                   removed after open when left empty) */
    const char *config_dir;     /* folder of the run file; relative paths in options are
                                   resolved against the current directory first, then this */
    const char *run_dir;        /* result folder of this run, or NULL outside a run; a plugin
                                   may save what it needs to undo its scaling here */
    lpz_split split;            /* which part of the data */
} lpz_dataset_context;

/* What a dataloader tells the core about its data. */
typedef struct lpz_dataset_info {
    lpz_shape sample_shape; /* e.g. {3, {1, 28, 28}} or {2, {30, 4}} */
    int64_t count;          /* number of samples, 1 to 2^40 */
    int32_t n_classes;      /* number of label classes, 0 when unlabelled */
    lpz_sample_kind kind;
} lpz_dataset_info;

typedef struct lpz_dataloader_ops {
    size_t size; /* sizeof(lpz_dataloader_ops) of the plugin */

    /* Opens the data (checking it thoroughly), fills info and sets *state
     * (NULL when the plugin keeps none; left unset, the core takes NULL and
     * warns). On failure returns a status, fills err, and leaves *state
     * unset. */
    int (*open)(const lpz_dataset_context *ctx, void **state, lpz_dataset_info *info, lpz_error *err);

    /* Releases everything open allocated. */
    void (*close)(void *state);

    /* Writes sample `index` (0 <= index < count) to out, which has room for
     * lpz_shape_numel(&info.sample_shape) floats, every value in [-1, 1].
     * The core refuses the sample when a value is left unwritten (it fills
     * out with NaN first) or when read writes past the last value (the 16
     * values after it are checked; more can corrupt memory undetected). */
    int (*read)(void *state, int64_t index, float *out, lpz_error *err);

    /* Optional (NULL when unlabelled): the class of sample `index`, from 0
     * to info.n_classes - 1. Called only when info.n_classes > 0, so a
     * plugin whose data may or may not have labels sets n_classes 0 for
     * unlabelled data. */
    int (*label)(void *state, int64_t index, int32_t *label, lpz_error *err);

    /* Optional: writes n samples (as produced by read or by a generator) in
     * a form for people, to path_base plus an extension the plugin chooses
     * (".png" grid of images, ".csv" of sequences, ...). When NULL the core
     * renders images as a PNG grid itself. */
    int (*render)(void *state, const float *samples, int64_t n, const char *path_base, lpz_error *err);

    /* Optional: maps n samples in place from [-1, 1] back to the data's
     * original units (e.g. packets and bytes of network flows). */
    int (*to_original_units)(void *state, float *samples, int64_t n, lpz_error *err);

    /* Optional: a hint that sample `index` (0 <= index < count) will be
     * read soon, e.g. a memory prefetch of its bytes. Must not block, fail
     * or change what read returns. The batcher, the fitness reads and the
     * FID classifier's training batches call it two samples ahead; same
     * threading as read. */
    void (*prefetch)(void *state, int64_t index);

    /* Optional (ABI 1.3): the sample shape and kind that open will report,
     * told from ctx's options and at most a glance at the data (a header,
     * the folder's place), without open's costly work (decoding, reading
     * everything, writing caches). The core calls it before open and
     * configures the network for the shape, so a configuration that cannot
     * take the samples (an image size the network does not support) is
     * refused at once rather than after open. Fill info->sample_shape and
     * info->kind (the core zeroes info first; count and n_classes are not
     * read); leave sample_shape.ndim 0 when the shape cannot be told
     * cheaply (the core then waits for open). open must report the same
     * shape and kind, or the core refuses the data. On failure returns a
     * status and fills err, as open would for the same problem (the core
     * does not call open then). Keeps no state; called from one thread. */
    int (*describe)(const lpz_dataset_context *ctx, lpz_dataset_info *info, lpz_error *err);
} lpz_dataloader_ops;

#ifdef __cplusplus
}
#endif
#endif
