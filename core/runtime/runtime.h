/* core/runtime/runtime.h - the coevolutionary trainer.
 *
 * Owns: the cells of a grid (one thread each in local mode), their
 * populations of individuals, the per-iteration algorithm of
 * ../shared/REFERENCE.md, the result folder (config, metrics, samples,
 * mixtures, checkpoints) and progress. Calls: evolution (operators), nn
 * (models, losses, Adam), model (building and saving networks), data
 * (batches), transport (exchanging individuals between cells), io.
 *
 * The trainer reads only lpz_train_params (filled from the configuration
 * by runtime/params.c), so it never depends on YAML details. Enumerated
 * fields are ints holding the owning module's enum, so this header pulls in
 * none of them.
 */
#ifndef LPZ_RUNTIME_H
#define LPZ_RUNTIME_H

#include <lpz/error.h>
#include <lpz/plugin.h>

#include <stdint.h>

typedef enum lpz_mixture_sampling {
    LPZ_MIX_EXACT_PROPORTION = 0,
    LPZ_MIX_INDEPENDENT_PROBABILITY = 1
} lpz_mixture_sampling;

typedef struct lpz_train_params {
    /* grid and run */
    int grid_k;              /* k for a k x k grid */
    int n_iterations;
    uint64_t seed;
    int deterministic;
    int checkpoint_period;   /* 0: none during the run (each cell still writes its final one) */
    const char *output_dir;
    const char *trainer_name; /* lipizzaner_gan or lipizzaner_wgan */
    int wgan;

    /* population and evolution */
    int population_size;
    int tournament_size;
    int n_replacements;
    int enable_selection;
    double default_lr;
    double alpha;
    double mutation_probability;
    int discriminator_skip_each_nth_step;
    double mixture_sigma;
    int fitness_sample_size;
    int fitness_mode;         /* an lpz_combine_mode (evolution.h) */

    /* losses: mustangs picks one of bce/mse/heuristic per network at
     * creation, or per batch when randomized_always */
    int loss;                 /* an lpz_loss_kind (nn/loss.h) */
    int mustangs;
    int randomized_always;

    /* data */
    int64_t batch_size;
    int64_t n_batches;
    int shuffle;
    double sampling_ratio;

    /* score used for mixture-weight mutation; NULL/"none"/"constant" keep
     * the weights */
    char score_type[32];
    int score_sample_size;
    int mixture_sampling;     /* an lpz_mixture_sampling */

    /* optimize_mixture: an ES over each cell's mixture weights once, after
     * training, instead of the per-iteration mutation */
    int optimize_mixture;
    int es_generations;
    int es_sample_size;
    double es_sigma;
    int es_random_init;

    /* general.logging: no sample files when logging is disabled (zero,
     * the default, writes them); their image format, an lpz_render_format */
    int no_samples;
    int image_format;

    /* threads: cells running at once x BLAS threads <= cores */
    int cores;

    /* logging: the discriminator's layers at the start; each iteration,
     * the L2 distance between the cell's networks and its neighbours' */
    int print_discriminator;
    int net_weights_dist;
} lpz_train_params;

#endif
