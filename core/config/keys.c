/* core/config/keys.c - THE list of configuration keys.
 *
 * One row per key: path, type, default (as YAML text), one-line meaning,
 * allowed values, and the field it fills. Parsing, defaults, range checks,
 * the dump, `lpz_config_keys` and docs/configuration.md (checked by
 * tests/config) all come from this table, so adding a key here is the
 * whole job. Rows of one section must stay together (the dump nests by
 * common prefix). Calls: nothing. */
#include "config/config.h"

#include <float.h>
#include <stddef.h>
#include <string.h>

#define F(field) offsetof(lpz_config, field), sizeof(((lpz_config *)0)->field)
#define ANY -DBL_MAX, DBL_MAX
#define NONNEG 0, DBL_MAX
#define POS 1, DBL_MAX
#define INT_MAXD 2147483647.0

static const lpz_config_key keys[] = {
    /* ---- general ---- */
    {"general.name", LPZ_CFG_STRING, "\"\"",
     "a name for the run (the original's job name); used in log lines", NULL, ANY, 0, F(general.name)},
    {"general.output_dir", LPZ_CFG_STRING, "./output",
     "folder for results, logs, samples and checkpoints (created when missing)", NULL, ANY, 0,
     F(general.output_dir)},
    {"general.seed", LPZ_CFG_INT, "1",
     "run seed; each cell derives its own random stream from it and its number", NULL, 0, 9007199254740991.0,
     0, F(general.seed)},
    {"general.num_workers", LPZ_CFG_INT, "0",
     "cores a process may use for its cells and data loading (0 = all online cores); the original's "
     "data-loading worker count",
     NULL, 0, 256, 0, F(general.num_workers)},
    {"general.checkpoint_period", LPZ_CFG_INT, "0",
     "save a checkpoint every k iterations (0 = none during the run); each cell's final checkpoint is "
     "written anyway when the run ends or is stopped (Ctrl-C), so lpz train --resume works; at most "
     "trainer.n_iterations",
     NULL, 0, INT_MAXD, 0,
     F(general.checkpoint_period)},
    {"general.grid_size", LPZ_CFG_INT, "0",
     "K of the K x K grid; 0 = from the number of client nodes (their square root), 1 when there are none",
     NULL, 0, 64, 0, F(general.grid_size)},
    {"general.deterministic", LPZ_CFG_BOOL, "false",
     "reproducible runs: the same file and seed give the same result, at some cost in speed", NULL, ANY, 0,
     F(general.deterministic)},
    {"general.matmul_precision", LPZ_CFG_ENUM, "highest",
     "precision of the networks' matrix products: highest = fp32; high = two bf16 limbs on AMX (each product "
     "to about 2^-16, about 1.5x faster steps); medium = one bf16 limb (2^-8) on AMX, else on AVX512-BF16 "
     "(AMD Zen 4: MLP steps about 1.7x faster); where the CPU cannot run them they run as highest",
     "highest|high|medium", ANY, 0, F(general.matmul_precision)},
    {"general.secret", LPZ_CFG_STRING, "\"\"",
     "shared secret of master and clients; messages without it are refused (\"\" = no authentication)", NULL,
     ANY, 0, F(general.secret)},
    {"general.logging.enabled", LPZ_CFG_BOOL, "true",
     "write the sample images (samples/) and report.html during training; false writes neither (metrics.csv, "
     "timing.csv, config.yml, checkpoints and the final models and mixtures are always written)",
     NULL, ANY, 0, F(general.logging.enabled)},
    {"general.logging.log_level", LPZ_CFG_ENUM, "INFO", "lowest level of log lines shown (-q/-v override it)",
     "DEBUG|INFO|WARNING|ERROR|CRITICAL", ANY, 0, F(general.logging.log_level)},
    {"general.logging.log_server", LPZ_CFG_STRING, "\"\"", "the original's database logger; ignored by lpz",
     NULL, ANY, LPZ_CFG_COMPAT, F(general.logging.log_server)},
    {"general.logging.image_format", LPZ_CFG_ENUM, "png",
     "format of the sample image grids samples/cell-<c>/iteration-<NNNN>.png or .jpg (JPEG quality 90)",
     "png|jpg", ANY, 0,
     F(general.logging.image_format)},
    {"general.logging.print_discriminator", LPZ_CFG_BOOL, "false",
     "log the discriminator architecture at start", NULL, ANY, 0, F(general.logging.print_discriminator)},
    {"general.losswise.enabled", LPZ_CFG_BOOL, "false",
     "the original's hosted logging service; ignored by lpz", NULL, ANY, LPZ_CFG_COMPAT,
     F(general.losswise.enabled)},
    {"general.losswise.api_key", LPZ_CFG_STRING, "\"\"", "the original's hosted logging key; ignored by lpz",
     NULL, ANY, LPZ_CFG_COMPAT, F(general.losswise.api_key)},
    {"general.distribution.auto_discover", LPZ_CFG_BOOL, "false",
     "with general.distribution.client_nodes empty, the master looks for idle clients on ports 5000-5099 of "
     "this machine and of every host of its IPv4 subnets (of a subnet larger than /20 the /22 around this "
     "machine; docs/distributed.md)", NULL,
     ANY, 0, F(general.distribution.auto_discover)},
    {"general.distribution.heartbeat_timeout_ms", LPZ_CFG_INT, "5000",
     "the master counts a client as lost when it has not answered heartbeats for this long (milliseconds; "
     "LPZ_DIST_HEARTBEAT_TIMEOUT_MS overrides it)",
     NULL, 100, 3600000, 0, F(general.distribution.heartbeat_timeout_ms)},
    {"general.distribution.fetch_timeout_ms", LPZ_CFG_INT, "5000",
     "how long a cell waits for a neighbour's population before it goes on with the last known one "
     "(milliseconds; distributed runs; LPZ_DIST_FETCH_TIMEOUT_MS overrides it)",
     NULL, 100, 3600000, 0, F(general.distribution.fetch_timeout_ms)},
    {"general.distribution.master_node.exit_clients_on_disconnect", LPZ_CFG_BOOL, "false",
     "when the master loses a client, stop every client (else the run goes on without it)", NULL, ANY, 0,
     F(general.distribution.master_node.exit_clients_on_disconnect)},
    {"general.distribution.client_nodes", LPZ_CFG_NODES, "[]",
     "clients of a distributed run: list of {address, port}; address an IP address or host name alone (no "
     "tcp://, no :port); port (default 5000) may be a range \"5000-5003\"",
     NULL, ANY, 0,
     F(general.distribution.client_nodes)},
    {"general.distribution.tls.enabled", LPZ_CFG_BOOL, "false",
     "master and clients talk over tls+tcp:// instead of tcp://", NULL, ANY, 0,
     F(general.distribution.tls.enabled)},
    {"general.distribution.tls.cert", LPZ_CFG_STRING, "\"\"", "PEM certificate of this process (tls)", NULL,
     ANY, 0, F(general.distribution.tls.cert)},
    {"general.distribution.tls.key", LPZ_CFG_STRING, "\"\"", "PEM private key of cert (tls)", NULL, ANY, 0,
     F(general.distribution.tls.key)},
    {"general.distribution.tls.ca", LPZ_CFG_STRING, "\"\"",
     "PEM CA certificate that peers must chain to (tls)", NULL, ANY, 0, F(general.distribution.tls.ca)},

    /* ---- trainer ---- */
    {"trainer.name", LPZ_CFG_ENUM, "lipizzaner_gan",
     "lipizzaner_gan, or lipizzaner_wgan for the Wasserstein variant (critic without sigmoid)",
     "lipizzaner_gan|lipizzaner_wgan", ANY, 0, F(trainer.name)},
    {"trainer.n_iterations", LPZ_CFG_INT, "10", "number of iterations (generations) each cell runs", NULL, 1,
     INT_MAXD, 0, F(trainer.n_iterations)},
    {"trainer.calculate_net_weights_dist", LPZ_CFG_BOOL, "false",
     "log, each iteration, the L2 distance between each cell's first generator (discriminator) and its "
     "neighbours'", NULL, ANY, 0,
     F(trainer.calculate_net_weights_dist)},
    {"trainer.mixture_generator_samples_mode", LPZ_CFG_ENUM, "exact_proportion",
     "how a mixture draws samples: exactly weight x n per generator, or each sample from a generator drawn "
     "by "
     "weight",
     "exact_proportion|independent_probability", ANY, 0, F(trainer.mixture_generator_samples_mode)},
    {"trainer.params.population_size", LPZ_CFG_INT, "1", "generators (and as many discriminators) per cell",
     NULL, 1, 64, 0, F(trainer.params.population_size)},
    {"trainer.params.tournament_size", LPZ_CFG_INT, "2",
     "individuals drawn per tournament; at most population_size x neighbourhood size", NULL, 1, 65536, 0,
     F(trainer.params.tournament_size)},
    {"trainer.params.n_replacements", LPZ_CFG_INT, "1",
     "best new individuals that may replace the worst local ones per iteration", NULL, 0, 1024, 0,
     F(trainer.params.n_replacements)},
    {"trainer.params.default_adam_learning_rate", LPZ_CFG_FLOAT, "0.0002",
     "initial Adam learning rate of every individual (lr0)", NULL, 0, 10, LPZ_CFG_MIN_EXCLUSIVE,
     F(trainer.params.default_adam_learning_rate)},
    {"trainer.params.alpha", LPZ_CFG_FLOAT, "0.0001",
     "step of the learning-rate mutation: lr <- max(0, lr + alpha * N(-lr0/10, lr0))", NULL, 0, 10, 0,
     F(trainer.params.alpha)},
    {"trainer.params.mutation_probability", LPZ_CFG_FLOAT, "0.5",
     "probability that an individual's learning rate mutates at a batch where it takes a step", NULL, 0, 1, 0,
     F(trainer.params.mutation_probability)},
    {"trainer.params.discriminator_skip_each_nth_step", LPZ_CFG_INT, "0",
     "n: discriminators train on batches where batch % (n + 1) == 0 (0 = every batch)", NULL, 0, 1000000, 0,
     F(trainer.params.discriminator_skip_each_nth_step)},
    {"trainer.params.mixture_sigma", LPZ_CFG_FLOAT, "0.01",
     "standard deviation of the Gaussian noise added to the mixture weights", NULL, NONNEG, 0,
     F(trainer.params.mixture_sigma)},
    {"trainer.params.enable_selection", LPZ_CFG_BOOL, "true",
     "tournament selection and replacement on; the selected copies train against each other. Off: the local "
     "individuals train, each step against an opponent drawn from the whole neighbourhood", NULL,
     ANY, 0, F(trainer.params.enable_selection)},
    {"trainer.params.score.enabled", LPZ_CFG_BOOL, "true",
     "score the mixture each iteration (mixture weights only change when it improves)", NULL, ANY, 0,
     F(trainer.params.score.enabled)},
    {"trainer.params.score.type", LPZ_CFG_ENUM, "fid",
     "fid (lower is better), inception_score (higher is better; labelled MNIST-format data only), constant "
     "(always 0: weights stay uniform), or none (no scoring)",
     "fid|inception_score|constant|none", ANY, 0, F(trainer.params.score.type)},
    {"trainer.params.score.score_sample_size", LPZ_CFG_INT, "1000",
     "generated (and real) samples used per score", NULL, 2, 10000000, 0,
     F(trainer.params.score.score_sample_size)},
    {"trainer.params.score.cuda", LPZ_CFG_BOOL, "false",
     "the original's GPU switch; ignored (lpz runs on CPU)", NULL, ANY, LPZ_CFG_COMPAT,
     F(trainer.params.score.cuda)},
    {"trainer.params.score.feature_model", LPZ_CFG_STRING, "\"\"",
     "safetensors file of the feature network for FID (\"\" = the built-in choice for the data set)", NULL,
     ANY, 0, F(trainer.params.score.feature_model)},
    {"trainer.params.fitness.fitness_sample_size", LPZ_CFG_INT, "1000",
     "real samples drawn each iteration to evaluate fitness", NULL, 1, 10000000, 0,
     F(trainer.params.fitness.fitness_sample_size)},
    {"trainer.params.fitness.fitness_mode", LPZ_CFG_ENUM, "average",
     "how the losses against the neighbourhood combine: worse (highest), best (lowest), average",
     "worse|best|average", ANY, 0, F(trainer.params.fitness.fitness_mode)},
    {"trainer.params.optimize_mixture.enabled", LPZ_CFG_BOOL, "false",
     "optimise the mixture weights once at the end instead of every iteration (on when the section is "
     "present)",
     NULL, ANY, 0, F(trainer.params.optimize_mixture.enabled)},
    {"trainer.params.optimize_mixture.es_generations", LPZ_CFG_INT, "10",
     "generations of the evolution strategy on the mixture weights", NULL, 0, 1000000, 0,
     F(trainer.params.optimize_mixture.es_generations)},
    {"trainer.params.optimize_mixture.sample_size", LPZ_CFG_INT, "10000",
     "samples per score during that search", NULL, 2, 10000000, 0,
     F(trainer.params.optimize_mixture.sample_size)},
    {"trainer.params.optimize_mixture.mixture_sigma", LPZ_CFG_FLOAT, "0.01",
     "mutation noise of the weights during that search", NULL, NONNEG, 0,
     F(trainer.params.optimize_mixture.mixture_sigma)},
    {"trainer.params.optimize_mixture.es_random_init", LPZ_CFG_BOOL, "false",
     "start the search from random weights instead of the current ones", NULL, ANY, 0,
     F(trainer.params.optimize_mixture.es_random_init)},

    /* ---- dataloader (other keys are the dataset plugin's options) ---- */
    {"dataloader.dataset_name", LPZ_CFG_STRING, "mnist",
     "the dataloader plugin (e.g. mnist, fashion_mnist, celeba)", NULL, ANY, 0, F(dataloader.dataset_name)},
    {"dataloader.use_batch", LPZ_CFG_BOOL, "true",
     "true: n_batches mini-batches per iteration; false: a whole pass over the data, n_batches ignored (as the "
     "original)", NULL, ANY, 0, F(dataloader.use_batch)},
    {"dataloader.batch_size", LPZ_CFG_INT, "100", "samples per mini-batch", NULL, 1, 1000000, 0,
     F(dataloader.batch_size)},
    {"dataloader.n_batches", LPZ_CFG_INT, "0", "mini-batches per iteration (0 = one pass over the data)",
     NULL, 0, INT_MAXD, 0, F(dataloader.n_batches)},
    {"dataloader.shuffle", LPZ_CFG_BOOL, "true", "reshuffle the samples every pass", NULL, ANY, 0,
     F(dataloader.shuffle)},
    {"dataloader.sampling_ratio", LPZ_CFG_FLOAT, "1.0",
     "fraction of the data each cell trains on, a different random subset per cell (data dieting)", NULL, 0,
     1, LPZ_CFG_MIN_EXCLUSIVE, F(dataloader.sampling_ratio)},

    /* ---- network (other keys are the network plugin's options) ---- */
    {"network.name", LPZ_CFG_STRING, "four_layer_perceptron",
     "the network plugin (e.g. four_layer_perceptron, convolutional, rnn)", NULL, ANY, 0, F(network.name)},
    {"network.loss", LPZ_CFG_ENUM, "bceloss",
     "bceloss, mseloss, heuristicloss (non-saturating), mustangs (a loss drawn from the three)",
     "bceloss|mseloss|heuristicloss|mustangs", ANY, 0, F(network.loss)},
    {"network.randomized", LPZ_CFG_ENUM, "false",
     "mustangs only: false, true (draw a loss per network at creation) or always (a generator's loss per use)",
     "false|true|always", ANY, 0, F(network.randomized)},

    /* ---- master ---- */
    {"master.calculate_score", LPZ_CFG_BOOL, "false",
     "score every cell's final mixture once after training (FID of master.score_sample_size samples; the best "
     "cell is the lowest; local runs and the distributed master); the scores are kept in the run's "
     "final_scores.csv, which --resume takes instead of scoring again", NULL,
     ANY, 0, F(master.calculate_score)},
    {"master.score_sample_size", LPZ_CFG_INT, "50000",
     "samples per final score (a --resume with another value scores again)", NULL, 2, 10000000, 0,
     F(master.score_sample_size)},
    {"master.cuda", LPZ_CFG_BOOL, "false", "the original's GPU switch; ignored (lpz runs on CPU)", NULL, ANY,
     LPZ_CFG_COMPAT, F(master.cuda)},
};

const lpz_config_key *lpz_config_keys(size_t *count)
{
    if (count)
        *count = sizeof keys / sizeof keys[0];
    return keys;
}

const lpz_config_key *lpz_config_find_key(const char *path)
{
    for (size_t i = 0; path && i < sizeof keys / sizeof keys[0]; i++)
        if (!strcmp(keys[i].path, path))
            return &keys[i];
    return NULL;
}

const char *lpz_config_type_name(lpz_config_type t)
{
    switch (t) {
    case LPZ_CFG_BOOL: return "bool";
    case LPZ_CFG_INT: return "int";
    case LPZ_CFG_FLOAT: return "float";
    case LPZ_CFG_STRING: return "string";
    case LPZ_CFG_ENUM: return "enum";
    case LPZ_CFG_NODES: return "list of {address, port}";
    }
    return "?";
}
