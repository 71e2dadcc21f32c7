/* core/score/score.h - how good generated samples are, and mixtures of
 * generators.
 *
 * Owns: the small MNIST-format feature classifier (its max-pool layer,
 * cross-entropy, training, files), FID in double precision (means,
 * covariances, the symmetric matrix square root through LAPACK), the
 * inception score, the total variation distance of class histograms, a
 * scorer that caches the real-data statistics, mixture.yml files, mixture
 * sampling (exact_proportion / independent_probability) and the evolution
 * strategy over mixture weights (optimize_mixture).
 * Calls: core/nn (models), core/model (model files), core/data (datasets),
 * core/evolution (the mixture-weight mutation), core/io, core/base,
 * OpenBLAS/LAPACK. Never prints: progress goes through lpz_log or a
 * callback; the CLI (core/cli/cmd_score.c, cmd_generate.c,
 * cmd_classifier.c) and the trainer call it.
 *
 * Conventions: samples are floats in the data's [-1, 1] units, batch
 * first, n x numel(sample shape). Scores: FID lower is better, inception
 * score higher is better, TVD in [0, 1] lower is better.
 * See docs/scores.md for the user-facing description.
 */
#ifndef LPZ_SCORE_SCORE_H
#define LPZ_SCORE_SCORE_H

#include "config/config.h"
#include "data/dataset.h"
#include "model/model.h"

#include <lpz/error.h>
#include <lpz/nn.h>
#include <lpz/rng.h>

#include <stdint.h>

/* ---- the feature classifier (MNIST format: 1 x 28 x 28 in [-1, 1]) ------ */

#define LPZ_CLASSIFIER_CLASSES 10

/* Value of the "lpz_kind" metadata key of a classifier file. */
#define LPZ_CLASSIFIER_KIND "mnist-classifier-1"

/* 1 when samples of this shape are MNIST-format images the classifier
 * takes. */
int lpz_classifier_accepts(const lpz_shape *sample_shape);

/* The network of the PyTorch MNIST example, as the original's MNISTCnn:
 *   conv1 Conv(1->10, k5)      (10, 24, 24)
 *   pool1 MaxPool(2), ReLU     (10, 12, 12)
 *   conv2 Conv(10->20, k5)     (20, 8, 8)
 *   Dropout(p_conv)            element-wise (PyTorch's example uses Dropout2d)
 *   pool2 MaxPool(2), ReLU     (20, 4, 4)
 *   flatten 320, fc1 Linear(320->50), ReLU, Dropout(p_fc)
 *   fc2 Linear(50->10)         logits: the 10 features of FID
 * Tensor names conv1.weight ... fc2.bias as torch's state_dict. Dropout
 * layers are added only when p > 0 (they have no tensors either way). */
int lpz_classifier_build(uint64_t seed, float p_conv, float p_fc, lpz_model **out, lpz_error *err);

/* Max pooling over (C, H, W) with a square window k and stride k (floor:
 * trailing rows/columns that do not fill a window are dropped, as
 * torch.nn.functional.max_pool2d). A custom layer (lpz_layer_ops) without
 * parameters. Ties send the gradient to the first maximum in row-major
 * order. k is 2 or 3. Inputs must be finite (NaN is not propagated as
 * torch does; the scorer refuses non-finite samples before). */
int lpz_model_add_maxpool2d(lpz_model *m, const char *name, int k, lpz_error *err);

/* Mean cross-entropy of logits (n x classes) against labels:
 * L = -mean_i log softmax(logits_i)[label_i]. When grad is not NULL writes
 * dL/dlogits (n x classes; the 1/n included). Labels outside
 * [0, classes) are refused (LPZ_EINVAL naming the sample). If `correct`
 * is not NULL it receives how many argmax predictions equal the label. */
int lpz_cross_entropy(const float *logits, const int32_t *labels, int64_t n, int classes, double *loss,
                      float *grad, int64_t *correct, lpz_error *err);

typedef struct lpz_classifier_train_params {
    int epochs;         /* passes over the training samples */
    int64_t batch_size; /* samples per Adam step */
    double lr;          /* Adam learning rate (betas 0.9, 0.999) */
    uint64_t seed;      /* initialisation, shuffling, dropout */
    int64_t max_train;  /* use at most this many training samples (0 = all) */
    int64_t max_test;   /* evaluate at most this many test samples (0 = all) */
    /* Called every few hundred batches and at the end of each epoch
     * (batch == batches_per_epoch); may be NULL. */
    void (*progress)(void *user, int epoch, int64_t batch, int64_t batches_per_epoch, double mean_loss,
                     double train_accuracy);
    void *user;
    volatile int *stop; /* set to 1 to stop early (LPZ_ECANCELED); may be NULL */
} lpz_classifier_train_params;

/* Defaults used by `lpz classifier` and the scorer's cache: 5 epochs,
 * batch 64, lr 0.001, seed 1, every sample. */
void lpz_classifier_train_defaults(lpz_classifier_train_params *p);

typedef struct lpz_classifier_report {
    double train_loss;     /* mean loss of the last epoch */
    double train_accuracy; /* of the last epoch, in training mode */
    double test_accuracy;  /* on the test dataset; NAN when none given */
    int64_t n_train, n_test;
    double seconds;        /* wall time of training and testing */
} lpz_classifier_report;

/* Trains a new classifier on the labels of `train` (MNIST format, 10
 * classes) with Adam, then measures the accuracy on `test` (may be NULL).
 * The model is returned in evaluation mode. */
int lpz_classifier_train(lpz_dataset *train, lpz_dataset *test, const lpz_classifier_train_params *p,
                         lpz_model **out, lpz_classifier_report *report, lpz_error *err);

/* Accuracy (fraction of argmax == label) of `model` on the first `max`
 * samples of ds (0 = all), in evaluation mode. */
int lpz_classifier_accuracy(lpz_model *model, lpz_dataset *ds, int64_t max, double *accuracy, lpz_error *err);

/* The metadata key of the fingerprint (lpz_dataset_digest, 16 hex digits)
 * of the data a cached classifier was trained on, or real-data statistics
 * were computed from. */
#define LPZ_DATA_DIGEST_KEY "data_digest"

/* Saves a classifier as safetensors (torch state_dict names, F32) with
 * metadata lpz_kind, dataset, test_accuracy, input ("1x28x28 in [-1, 1]"),
 * and data_digest when not NULL, besides lpz's format and version. */
int lpz_classifier_save(const char *path, const lpz_model *model, const char *dataset_name, double test_accuracy,
                        const char *data_digest, lpz_error *err);

/* Builds a classifier and loads its weights from path (any safetensors
 * file with exactly the tensors conv1.weight ... fc2.bias in F32, e.g. one
 * written by torch's safetensors.torch.save_file). */
int lpz_classifier_load(const char *path, lpz_model **out, lpz_error *err);

/* ---- statistics, FID, inception score, TVD ------------------------------- */

/* mean (d) and covariance (d x d, row-major, divided by n - 1 as numpy's
 * np.cov) of n feature rows (n x d floats), accumulated in double. n >= 2. */
int lpz_feature_stats(const float *features, int64_t n, int d, double *mean, double *cov, lpz_error *err);

/* The same statistics over rows added a few at a time, in memory of d x d
 * plus 128 rows whatever the count: rows are gathered in double, centred
 * on the first rows' mean and folded into the sums of products with BLAS
 * (dsyrk). lpz_feature_stats is init, add, finish, free. */
typedef struct lpz_stats {
    int d;
    int64_t n, pending; /* rows folded in; rows gathered in buf */
    double *shift, *sum, *cross, *buf;
} lpz_stats;

/* 1 <= d <= 4096. On failure the accumulator holds nothing to free. */
int lpz_stats_init(lpz_stats *a, int d, lpz_error *err);
void lpz_stats_add(lpz_stats *a, const float *rows, int64_t n);
int64_t lpz_stats_count(const lpz_stats *a);
/* mean and cov of the rows added so far (at least 2); refuses non-finite
 * features as lpz_feature_stats. More rows may be added afterwards. */
int lpz_stats_finish(lpz_stats *a, double *mean, double *cov, lpz_error *err);
void lpz_stats_free(lpz_stats *a);

/* Square root of a symmetric positive semi-definite d x d matrix a:
 * V diag(sqrt(max(lambda, 0))) V^T from LAPACK's dsyevd. `out` may equal
 * `a`. Refuses non-finite input. */
int lpz_sym_sqrt(const double *a, int d, double *out, lpz_error *err);

/* Trace of the square root of (s1 s2) for symmetric PSD s1, s2 given
 * s1_sqrt = s1^(1/2): Tr((s1^(1/2) s2 s1^(1/2))^(1/2)), the eigenvalues
 * of the symmetric middle product clipped at 0. */
int lpz_trace_sqrt_product(const double *s1_sqrt, const double *s2, int d, double *trace, lpz_error *err);

/* FID = |mu1 - mu2|^2 + Tr(s1) + Tr(s2) - 2 Tr((s1 s2)^(1/2)). s1_sqrt
 * may be NULL (it is then computed). Clipped below at 0 (it is a squared
 * distance; rounding can make it -1e-12). */
int lpz_fid_from_stats(const double *mu1, const double *s1, const double *s1_sqrt, const double *mu2,
                       const double *s2, int d, double *fid, lpz_error *err);

/* Inception score exp(mean_i KL(p(y|x_i) || p(y))) of n rows of logits
 * (softmax taken here), over all n rows at once (one split). */
double lpz_inception_score(const float *logits, int64_t n, int classes);

/* The same score over rows of logits added a few at a time (init, add,
 * finish; lpz_inception_score is the three at once): two running sums,
 * no rows kept. NAN for no rows or classes outside 1..LPZ_IS_MAX_CLASSES. */
#define LPZ_IS_MAX_CLASSES 4096
typedef struct lpz_is_acc {
    int classes;
    int64_t n;
    double plogp;                     /* sum_i sum_c p_ic log p_ic */
    double psum[LPZ_IS_MAX_CLASSES]; /* sum_i p_ic */
} lpz_is_acc;
void lpz_is_init(lpz_is_acc *a, int classes);
void lpz_is_add(lpz_is_acc *a, const float *logits, int64_t n);
double lpz_is_finish(const lpz_is_acc *a);

/* Total variation distance 0.5 sum_c |p_c - q_c| of two histograms given
 * as counts (normalised here). */
double lpz_tvd(const int64_t *counts_p, const int64_t *counts_q, int classes);

/* ---- the scorer: real statistics once, scores from several threads ------- */

typedef struct lpz_scorer lpz_scorer;
typedef struct lpz_score_context lpz_score_context;

/* How samples become features. */
typedef enum lpz_feature_kind {
    LPZ_FEATURES_CLASSIFIER = 0, /* MNIST format: the classifier's 10 logits */
    LPZ_FEATURES_RAW = 1,        /* small samples (numel <= LPZ_SCORE_RAW_MAX): the values themselves */
    LPZ_FEATURES_INCEPTION = 2   /* other images (CelebA, RGB): InceptionV3 pool features (2048), from the
                                    weights file in feature_model (docs/inception.md) */
} lpz_feature_kind;

#define LPZ_SCORE_RAW_MAX 512

/* Seed of the real sample `lpz score` uses (and the trainer should use, so
 * that their FIDs compare and share the cached statistics). */
#define LPZ_SCORE_REAL_SEED 1

typedef struct lpz_scorer_options {
    /* Feature network: the classifier (MNIST-format data) or the
     * InceptionV3 weights (other images; required there). NULL or "" for
     * MNIST-format data means <cache_dir>/classifier-<dataset>.safetensors,
     * trained and saved there when missing. */
    const char *feature_model;
    /* Folder for the classifier and the real statistics (created when
     * missing); NULL: nothing is read from or written to disk. */
    const char *cache_dir;
    int64_t sample_size; /* real samples for the statistics (>= 2) */
    uint64_t seed;       /* which real samples (the same seed, the same samples) */
    /* Progress of a classifier training, if one is needed; may be NULL. */
    void (*train_progress)(void *user, int epoch, int64_t batch, int64_t batches_per_epoch, double mean_loss,
                           double train_accuracy);
    void *user;
    /* Set asynchronously (SIGINT) to stop the scorer's preparation (a
     * classifier training, the real statistics): it is then not created
     * (LPZ_ECANCELED); may be NULL. Not kept: contexts take their own
     * (lpz_score_context_set_stop). */
    volatile int *stop;
} lpz_scorer_options;

/* Prepares scoring against `ds` (kept open by the caller while the scorer
 * lives): chooses the features, loads (or trains and caches) the
 * classifier, and computes (or loads from cache_dir) the real-data
 * statistics. Data neither MNIST-format nor small is LPZ_EUNSUPPORTED. */
int lpz_scorer_create(lpz_dataset *ds, const lpz_scorer_options *opts, lpz_scorer **out, lpz_error *err);
/* Whether a scorer of ds can be made at all, without making it: LPZ_OK, or
 * the error lpz_scorer_create would give for colour images without the
 * InceptionV3 weights (feature_model empty) or samples it cannot score (for
 * a check before a long training, e.g. of master.calculate_score). */
int lpz_scorer_check(lpz_dataset *ds, const char *feature_model, lpz_error *err);
/* The same from the samples' shape and kind alone (`name` the dataloader's,
 * for the message): for a check before the data is opened. */
int lpz_scorer_check_samples(const char *name, const lpz_shape *shape, lpz_sample_kind kind,
                             const char *feature_model, lpz_error *err);
void lpz_scorer_destroy(lpz_scorer *s);

/* After lpz_scorer_create failed: adds to err's hint how the caller's user
 * goes without this score ("set master.calculate_score to false"). The
 * scorer's own hints say only how to make the score available. */
void lpz_scorer_hint_skip(lpz_error *err, const char *how);

lpz_feature_kind lpz_scorer_features(const lpz_scorer *s);
/* 1 when inception score and TVD are available (classifier features on
 * data with 10 classes). */
int lpz_scorer_has_classes(const lpz_scorer *s);
/* Where the classifier came from ("" for raw features) and whether it was
 * trained by this call. */
const char *lpz_scorer_classifier_path(const lpz_scorer *s);
int lpz_scorer_trained_classifier(const lpz_scorer *s);
/* 1 when the real statistics were read from the cache. */
int lpz_scorer_stats_cached(const lpz_scorer *s);
/* What the scorer's FIDs are measured with, as text without commas or
 * spaces (at most 63 characters): the kind of features, the digest of the
 * classifier's weights (of the Inception file's name, size and time), and
 * the data's digest (lpz_dataset_digest), e.g.
 * "classifier-0123456789abcdef-data-fedcba9876543210". FIDs over as many
 * samples by scorers of the same identity are comparable. */
void lpz_scorer_identity(const lpz_scorer *s, char *out, size_t size);

/* A per-thread context: its own classifier copy and scratch. Any number
 * of contexts of one scorer may be used at once, each by one thread. */
int lpz_score_context_create(lpz_scorer *s, lpz_score_context **out, lpz_error *err);
void lpz_score_context_destroy(lpz_score_context *c);

/* From now on every feature computation of the context (lpz_score_samples,
 * lpz_score_features, the mixture FIDs) looks at *stop before each chunk of
 * samples and fails with LPZ_ECANCELED once it is set (asynchronously, by
 * SIGINT): a long scoring ends within a chunk. NULL (the default): never. */
void lpz_score_context_set_stop(lpz_score_context *c, volatile int *stop);

/* InceptionV3 features take about 0.13 s a sample on a CPU (50,000 final
 * samples: nearly two hours): with fn set, the context calls fn(arg, k)
 * after every group of k samples whose features it computed (k <= 10), on
 * the calling thread, so that its caller can show how far it is. Not
 * called for the other features (fast). NULL (the default): never. */
typedef void (*lpz_score_progress_fn)(void *arg, int64_t k);
void lpz_score_context_set_progress(lpz_score_context *c, lpz_score_progress_fn fn, void *arg);

/* The log line of a long feature computation: "<what>: D of N samples,
 * about T s left" (min from 2 minutes), after its first 5 s and then every
 * 30 s; elapsed: seconds since it began, *last: elapsed at the last line
 * (0 to begin). */
void lpz_score_log_progress(const char *what, int64_t done, int64_t total, double elapsed, double *last);

/* What the mixture scores (lpz_mixture_score, _pair, lpz_mixture_optimize_score)
 * of a context compute: FID (the default, lower is better) or the inception
 * score of the classifier's class probabilities (higher is better; only on
 * data with classes: lpz_scorer_has_classes). trainer.params.score.type. */
typedef enum lpz_score_metric { LPZ_METRIC_FID = 0, LPZ_METRIC_IS = 1 } lpz_score_metric;
/* LPZ_EUNSUPPORTED (saying why) for the inception score without classes. */
int lpz_score_context_set_metric(lpz_score_context *c, lpz_score_metric metric, lpz_error *err);
lpz_score_metric lpz_score_context_metric(const lpz_score_context *c);
#define LPZ_METRIC_LOWER_IS_BETTER(m) ((m) == LPZ_METRIC_FID)

/* Runs fn(arg, 0) and fn(arg, 1), on two threads when it can; returns
 * when both have returned (the trainer's helper thread, runtime/pair.h). */
typedef void (*lpz_run2_fn)(void *runner, void (*fn)(void *arg, int part), void *arg);
/* From now on the context computes classifier features in two halves
 * through run2, the second on a second classifier copy (with scratch for one
 * CHUNK of samples). The halves are whole CHUNKs of the same rows as one thread
 * processes, so the scores are the same bit for bit. Raw and Inception
 * features stay on one thread. */
int lpz_score_context_set_parallel(lpz_score_context *c, lpz_run2_fn run2, void *runner, lpz_error *err);

typedef struct lpz_scores {
    double fid;
    double inception_score; /* NAN when not available */
    double tvd;             /* NAN when not available */
    int64_t n;              /* samples scored */
} lpz_scores;

/* Scores n >= 2 samples (n x numel floats). Non-finite samples are
 * refused (LPZ_EINVAL naming the first). Open, add, finish of a stream. */
int lpz_score_samples(lpz_score_context *c, const float *samples, int64_t n, lpz_scores *out, lpz_error *err);

/* The same scores of samples given a piece at a time (as many pieces of
 * any size as wanted), bit for bit whatever the pieces: samples reach the
 * classifier in groups counted from the stream's first sample (a model's
 * output for a row can change in its last bits with the rows passed with
 * it). Features go into running statistics (lpz_stats, lpz_is_acc, a class
 * histogram) a few hundred samples at a time, so memory stays d x d
 * whatever the count. A non-finite sample is refused
 * naming its number counted from the stream's first; such a piece is not
 * taken and the stream goes on. After any other failure of add (stopped,
 * out of memory) the stream refuses more pieces and finish. finish may be
 * called once pieces of at least 2 samples in all were added. */
typedef struct lpz_score_stream lpz_score_stream;
int lpz_score_stream_open(lpz_score_context *c, lpz_score_stream **out, lpz_error *err);
int lpz_score_stream_add(lpz_score_stream *st, const float *samples, int64_t n, lpz_error *err);
int lpz_score_stream_finish(lpz_score_stream *st, lpz_scores *out, lpz_error *err);
void lpz_score_stream_close(lpz_score_stream *st);
int lpz_score_fid(lpz_score_context *c, const float *samples, int64_t n, double *fid, lpz_error *err);

/* The same in two parts, for scoring several sample sets that share
 * samples: the feature dimension d; the features of n samples into out
 * (n x d; non-finite samples refused as above); the FID of n >= 2 rows of
 * features against the real statistics. */
int lpz_score_feature_dim(const lpz_score_context *c);
int lpz_score_features(lpz_score_context *c, const float *samples, int64_t n, float *out, lpz_error *err);
int lpz_score_fid_of_features(lpz_score_context *c, const float *features, int64_t n, double *fid, lpz_error *err);
/* The FID of the rows added to acc (lpz_stats of lpz_score_feature_dim
 * features, at least 2 rows) against the real statistics. */
int lpz_score_fid_of_stats(lpz_score_context *c, lpz_stats *acc, double *fid, lpz_error *err);

/* ---- mixtures of generators ---------------------------------------------- */

/* Values as the configuration's trainer.mixture_generator_samples_mode. */
typedef enum lpz_mix_mode {
    LPZ_MIXMODE_EXACT_PROPORTION = 0,
    LPZ_MIXMODE_INDEPENDENT_PROBABILITY = 1
} lpz_mix_mode;

/* Which generator makes each of `count` samples. Weights must be finite,
 * >= 0, not all 0 (they are normalised here).
 *   independent_probability: each sample's generator drawn by weight.
 *   exact_proportion: generator j makes floor(count w_j) samples, the
 *     remaining r < n_gens samples go one each to r distinct generators
 *     drawn with probability proportional to the fractional parts, so each
 *     count is within 1 of count w_j; then the order is shuffled. */
int lpz_mixture_assign(const double *weights, int n_gens, int64_t count, lpz_mix_mode mode, lpz_rng *rng,
                       int *gen_of_sample, lpz_error *err);

/* Coupled assignments of the same `count` samples for two weightings a and
 * b of the same generators (common random numbers): each of ga and gb is
 * distributed exactly as lpz_mixture_assign's for its weights, and a
 * sample keeps its generator unless the two weightings disagree on it.
 *   independent_probability: one uniform per sample, cut by each weighting.
 *   exact_proportion: each weighting's counts as lpz_mixture_assign's, one
 *     random order of the samples, generator j owning a run of consecutive
 *     positions of its count; close weightings differ only at the ends of
 *     the runs. */
int lpz_mixture_assign_pair(const double *wa, const double *wb, int n_gens, int64_t count, lpz_mix_mode mode,
                            lpz_rng *rng, int *ga, int *gb, lpz_error *err);

/* The score (the context's metric: FID unless lpz_score_context_set_metric
 * chose the inception score) of `count` >= 2 samples of the mixture: the
 * assignment as
 * lpz_mixture_assign's, then standard normal latents drawn from rng in
 * sample order (the samples lpz_mixture_generate would write). Each
 * generator's samples go from its output to the classifier GEN_CHUNK at a
 * time and their features into an lpz_stats: no count x numel sample or
 * count x d feature buffer. Generators run in their current mode.
 * Stops with LPZ_ECANCELED as the context's features do
 * (lpz_score_context_set_stop). */
int lpz_mixture_score(lpz_score_context *ctx, lpz_model *const *gens, const double *weights, int n_gens,
                      int64_t count, lpz_mix_mode mode, lpz_rng *rng, double *score, lpz_error *err);

/* Scores of `count` >= 2 samples of the mixture with weights wa and of the
 * mixture with weights wb, on common samples: coupled assignments
 * (lpz_mixture_assign_pair), then one standard normal latent per sample
 * drawn from rng; sample i of a mixture is its generator applied to latent
 * i, so a sample both weightings give to the same generator is generated
 * and featurised once. Costs count plus the number of samples whose
 * generator differs generator passes and features, instead of 2 count, and
 * the difference score_b - score_a is far less noisy than with independent
 * samples. Streams as lpz_mixture_score. */
int lpz_mixture_score_pair(lpz_score_context *ctx, lpz_model *const *gens, const double *wa, const double *wb,
                           int n_gens, int64_t count, lpz_mix_mode mode, lpz_rng *rng, double *score_a,
                           double *score_b, lpz_error *err);

/* Writes `count` samples of the mixture to out (count x numel of the
 * generators' output). Generators must share latent and output shapes;
 * they run in their current mode (evaluation, for scoring) and must not be
 * used by another thread meanwhile. The assignment is drawn from rng
 * first; then, when `latents` is NULL, standard normal latents are drawn
 * from rng in sample order; else latents (count x latent numel) are used,
 * row i for sample i. Allocates scratch for the call (not per batch). */
int lpz_mixture_generate(lpz_model *const *gens, const double *weights, int n_gens, int64_t count, lpz_mix_mode mode,
                         lpz_rng *rng, const float *latents, float *out, lpz_error *err);

/* The same samples a block at a time, for outputs too big to hold: open
 * draws the assignment and latents exactly as lpz_mixture_generate (and
 * holds them: count ints and count x latent numel floats), next writes the
 * following samples, at most max, to out (max x numel) and sets *got (0
 * once all count were written). The blocks' samples are
 * lpz_mixture_generate's bit for bit, whatever max: each generator computes
 * its rows in the same batches (of its 64 next rows counted from sample 0),
 * holding up to 63 computed rows between calls. The generators must not
 * run anything else while the sampler is open; after a failed next, only
 * close. */
typedef struct lpz_mixture_sampler lpz_mixture_sampler;
int lpz_mixture_sampler_open(lpz_model *const *gens, const double *weights, int n_gens, int64_t count,
                             lpz_mix_mode mode, lpz_rng *rng, const float *latents, lpz_mixture_sampler **out,
                             lpz_error *err);
int lpz_mixture_sampler_next(lpz_mixture_sampler *s, int64_t max, float *out, int64_t *got, lpz_error *err);
int64_t lpz_mixture_sampler_numel(const lpz_mixture_sampler *s);
void lpz_mixture_sampler_close(lpz_mixture_sampler *s);

/* A 1+1 evolution strategy over mixture weights (optimize_mixture, as the
 * original's optimize_generator_mixture_weights): optionally start from
 * random weights (Uniform(0,1) normalised), score them, then each
 * generation add Normal(0, sigma) to every weight, clip at 0, renormalise,
 * score, and keep the new weights when the score is better. */
typedef int (*lpz_mixture_score_fn)(void *user, const double *weights, int n, double *score, lpz_error *err);

typedef struct lpz_mixture_es_params {
    int generations;
    double sigma;
    int random_init;
    int lower_is_better; /* 1 for FID, 0 for the inception score */
} lpz_mixture_es_params;

/* weights (n) are read and replaced by the best found; *best_score is its
 * score. */
int lpz_mixture_optimize(double *weights, int n, const lpz_mixture_es_params *p, lpz_rng *rng,
                         lpz_mixture_score_fn score, void *user, double *best_score, lpz_error *err);

/* The ES with the context's metric of `sample_size` mixture samples as the
 * score (lower_is_better set from it); the
 * latents are drawn once (fixed across generations, as the original) and
 * the assignment is drawn anew for each evaluation. Streamed: holds the
 * latents and the samples' features, never the samples. */
int lpz_mixture_optimize_score(lpz_score_context *ctx, lpz_model *const *gens, double *weights, int n_gens,
                               int64_t sample_size, lpz_mix_mode mode, const lpz_mixture_es_params *p, lpz_rng *rng,
                               double *best_score, lpz_error *err);

/* ---- mixture folders ----------------------------------------------------- */

/* mixture.yml: "<generator file>: <weight>" lines ('#' comments and blank
 * lines allowed), as the trainer writes into master/<cell>/. */
typedef struct lpz_mixture_file {
    int n;
    char **files;    /* file names as written (relative to the folder) */
    char **paths;    /* <dir>/<file> */
    double *weights; /* as written (not normalised) */
} lpz_mixture_file;

#define LPZ_MIXTURE_MAX_GENERATORS 1024

/* Reads and checks <dir>/mixture.yml: every line "name: weight" with a
 * plain file name (no '/', no "..") that exists in dir, a finite weight
 * >= 0, no duplicates, at least one generator, the weights not all 0.
 * Errors name "<dir>/mixture.yml:<line>". */
int lpz_mixture_read(const char *dir, lpz_mixture_file *out, lpz_error *err);
void lpz_mixture_file_free(lpz_mixture_file *m);

/* Generators of a mixture, rebuilt from their files. */
typedef struct lpz_mixture {
    int n;
    lpz_loaded_model *models; /* n, each in evaluation mode */
    lpz_model **gens;         /* n: models[j].model */
    double *weights;          /* n, normalised to sum 1 */
    char **paths;             /* n */
} lpz_mixture;

/* Opens the generators of the mixture folder `dir` (mixture.yml), or the
 * single generator file `file` (weight 1) when dir is NULL, with the
 * configured network plugin `net_plugin`, and checks each against the
 * configuration: the file was written by that network (name or alias), is
 * a generator, makes samples of `sample_shape`, and every network option
 * the configuration sets (`opts`, the run file's network section; numbers
 * compared as numbers; NULL: none) has the value recorded in the file. All generators must
 * share one latent shape. Errors name the file. Close with
 * lpz_mixture_close (also after a failure). */
int lpz_mixture_open(const char *dir, const char *file, const lpz_plugin *net_plugin, const lpz_shape *sample_shape,
                     const lpz_config_options *opts, lpz_mixture *out, lpz_error *err);
void lpz_mixture_close(lpz_mixture *m);

/* lpz_mixture_open as an lpz_dataset_check (`request` an lpz_mixture_request),
 * for the data's sample shape: given to lpz_score_open_dataset, generators
 * of another shape than the data's are refused before the data is read
 * when the dataloader tells its samples first (a celeba folder is not
 * decoded to be refused). On failure req->out is closed again. */
typedef struct lpz_mixture_request {
    const char *dir;  /* the mixture folder; NULL: */
    const char *file; /* this single generator file (weight 1) */
    const lpz_plugin *net_plugin;
    const lpz_config_options *opts;
    lpz_mixture *out;
} lpz_mixture_request;
int lpz_mixture_open_check(void *request, const lpz_dataset_info *info, lpz_error *err);

/* ---- opening data for scoring ------------------------------------------- */

/* Opens the dataloader `plugin` with `options` for `split` the way a run
 * does: output_dir (general.output_dir, made absolute) and its cache/
 * folder (the dataset's and the scorer's caches go there), config_dir for
 * relative paths, no run folder. The folders are created for the
 * dataloader's open and removed again when it left them empty: who writes
 * into cache_dir later makes it (lpz_mkdirs). cache_dir receives the cache
 * folder's path (size >= 4096). check (NULL: none) tests the samples,
 * before the dataloader's open when it can tell them first
 * (lpz_dataset_open_checked). */
int lpz_score_open_dataset(const lpz_plugin *plugin, const lpz_options *options, const char *output_dir,
                           const char *config_dir, lpz_split split, lpz_dataset_check check, void *user,
                           lpz_dataset **out, char *cache_dir, size_t cache_dir_size, lpz_error *err);

#endif
