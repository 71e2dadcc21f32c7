/* core/data - the data pipeline between dataloader plugins and the trainer.
 *
 * Owns: an opened dataset (a plugin's ops + state + info, validated),
 * batching, per-cell sub-sampling and shuffling, the prefetch thread
 * (batcher.h), random samples for fitness and score, the default renderer
 * for samples, and the SDK's exported file helpers (lpz/io.h, sdk_io.c).
 * May call: core/base (errors, log, rng), core/io (npy, png, atomic files).
 * Must not call: the trainer, transport, nn, config or the plugin loader
 * (the runtime hands it an already loaded `const lpz_plugin *`).
 *
 * Threading: after lpz_dataset_open returns, lpz_dataset_read,
 * lpz_dataset_label and lpz_dataset_sample may be called from any number
 * of threads at once (several cells share one dataset); open, close,
 * render and to_original_units are called from one thread.
 */
#ifndef LPZ_CORE_DATA_DATASET_H
#define LPZ_CORE_DATA_DATASET_H

#include <lpz/dataloader.h>
#include <lpz/plugin.h>
#include <lpz/rng.h>

typedef struct lpz_dataset lpz_dataset;

/* Opens the dataloader `plugin` (kind LPZ_PLUGIN_DATALOADER) with ctx and
 * checks what it reports: mandatory functions present, a shape of 1..4
 * positive dimensions that matches the kind (images C x H x W with C 1 or
 * 3), count > 0. Errors from the plugin keep their text, prefixed with the
 * dataset name in `where`. */
int lpz_dataset_open(const lpz_plugin *plugin, const lpz_dataset_context *ctx, lpz_dataset **out, lpz_error *err);

/* A caller's test of the samples (a network configured for their shape,
 * a resumed run's shape compared): info holds the shape and kind, and
 * count and n_classes when the data is open (0 when it is not yet). */
typedef int (*lpz_dataset_check)(void *user, const lpz_dataset_info *info, lpz_error *err);

/* lpz_dataset_open with the caller's test of the samples, run before the
 * plugin's open when the plugin describes its samples first (describe,
 * ABI 1.3: shape and kind from the options, without open's work), else
 * after open. So a configuration that cannot take the data is refused
 * before open's work where the plugin allows it (celeba decodes every
 * image in open). open must then report the described shape and kind
 * (else LPZ_EFORMAT: a plugin bug). A failing check's error is returned
 * as it is, with the dataset closed again. check may be NULL (describe is
 * still held to open's shape). */
int lpz_dataset_open_checked(const lpz_plugin *plugin, const lpz_dataset_context *ctx, lpz_dataset_check check,
                             void *user, lpz_dataset **out, lpz_error *err);

/* The plugin's describe alone (lpz config's check of a run file): the
 * sample shape and kind, checked as lpz_dataset_open_checked checks them,
 * without opening the data. info->sample_shape.ndim is 0 when the plugin
 * does not describe its samples (it has no describe, or its describe
 * leaves the shape to open). */
int lpz_dataset_describe(const lpz_plugin *plugin, const lpz_dataset_context *ctx, lpz_dataset_info *info,
                         lpz_error *err);

/* Closes the plugin state and frees the dataset. NULL is fine. */
void lpz_dataset_close(lpz_dataset *ds);

const lpz_dataset_info *lpz_dataset_get_info(const lpz_dataset *ds);
const char *lpz_dataset_name(const lpz_dataset *ds);
/* Floats in one sample (product of the sample shape). */
int64_t lpz_dataset_numel(const lpz_dataset *ds);
/* 1 when the plugin provides labels. */
int lpz_dataset_has_labels(const lpz_dataset *ds);

/* A fingerprint of the data (FNV-1a 64 over the count, the sample shape,
 * the number of classes and the values and labels of up to
 * LPZ_DATASET_DIGEST_SAMPLES samples spread evenly over the dataset): what
 * lpz's caches of things derived from the data (the FID classifier, the
 * real-data statistics) are matched on, so that a file replaced by other
 * data (of the same size) is not scored with another file's statistics. A
 * change to samples it does not read goes unnoticed. */
#define LPZ_DATASET_DIGEST_SAMPLES 64
int lpz_dataset_digest(lpz_dataset *ds, uint64_t *digest, lpz_error *err);

/* Writes sample `index` to out (numel floats). Checks the index and that
 * the plugin wrote only finite values in [-1, 1] (else LPZ_EFORMAT naming
 * the sample and element: a plugin bug or bad data, caught at once). */
int lpz_dataset_read(lpz_dataset *ds, int64_t index, float *out, lpz_error *err);

/* Passes the hint that sample `index` will be read soon to the plugin's
 * prefetch (when it has one and the index is valid; else nothing).
 * Readers of random samples go through lpz_dataset_read_rows, which hints
 * the sample LPZ_DATASET_PREFETCH_AHEAD places ahead of the one it reads
 * (and, at its first, the ones before it). */
void lpz_dataset_prefetch(lpz_dataset *ds, int64_t index);
#define LPZ_DATASET_PREFETCH_AHEAD 2

/* Reads the samples idx[0..n) into out (n x numel floats) and, when labels
 * is not NULL, their labels (-1 when unlabelled), each hinted ahead as
 * above: random rows of a large dataset each come from memory, and the
 * hint lets the plugin fetch them while the reads before them convert.
 * Stops at the first failure (the error names the sample). The batcher,
 * the fitness reads and the classifier's training batches read here. */
int lpz_dataset_read_rows(lpz_dataset *ds, const int64_t *idx, int64_t n, float *out, int32_t *labels,
                          lpz_error *err);

/* The label of sample `index`; LPZ_EUNSUPPORTED when unlabelled. */
int lpz_dataset_label(lpz_dataset *ds, int64_t index, int32_t *label, lpz_error *err);

/* Draws k examples uniformly from the whole dataset (distinct when
 * k <= count, else every sample at least floor(k / count) times) using
 * rng, and writes them to out (k x numel floats) and, when labels is not
 * NULL, their labels (-1 when unlabelled). For fitness and score samples:
 * called once per iteration, it may allocate. */
int lpz_dataset_sample(lpz_dataset *ds, lpz_rng *rng, int64_t k, float *out, int32_t *labels, lpz_error *err);
/* The indices of the same draw (the same rng use), for callers that read
 * the examples a chunk at a time instead of holding k x numel floats. */
int lpz_dataset_sample_indices(lpz_dataset *ds, lpz_rng *rng, int64_t k, int64_t *idx, lpz_error *err);
/* The same draw among n items 0..n-1 (k <= n: distinct; more: whole copies
 * of all n, the rest distinct): for a part of the dataset (a cell's subset). */
int lpz_draw_indices(lpz_rng *rng, int64_t n, int64_t k, int64_t *idx, lpz_error *err);

/* Writes n samples (n x numel floats, as from read or a generator) for
 * people to path_base plus an extension: the plugin's render when it has
 * one; else images as a PNG grid (".png") and vectors or sequences as CSV
 * (".csv", mapped to original units when the plugin can). */
int lpz_dataset_render(lpz_dataset *ds, const float *samples, int64_t n, const char *path_base, lpz_error *err);

/* How the core renders images (a plugin's own render chooses for itself). */
typedef enum lpz_render_format { LPZ_RENDER_PNG = 0, LPZ_RENDER_JPEG = 1 } lpz_render_format;

/* lpz_dataset_render with the core's image grid in `format`: a JPEG grid
 * is written to path_base plus ".jpg" (general.logging.image_format). */
int lpz_dataset_render_as(lpz_dataset *ds, const float *samples, int64_t n, const char *path_base,
                          lpz_render_format format, lpz_error *err);

/* Maps n samples in place to the data's original units; a no-op returning
 * LPZ_OK when the plugin has no such mapping (its data is already in
 * [-1, 1] units). */
int lpz_dataset_to_original_units(lpz_dataset *ds, float *samples, int64_t n, lpz_error *err);
/* 1 when the plugin maps samples back to original units. */
int lpz_dataset_has_original_units(const lpz_dataset *ds);

#endif
