/* core/config/config.h - the run file: YAML -> a typed lpz_config.
 *
 * Owns: the list of every configuration key (one table, keys.c, drives
 * parsing, defaults, validation, the dump, `lpz_config_keys` and the docs
 * test), the YAML reader with `!include` and `!ENV`, `--set` overrides,
 * cross-key validation, and plugin options (options.c, lpz/options.h).
 * Calls: base (errors, log) and libyaml. Knows nothing of plugins, grids or
 * training: it only checks values, so the runtime can trust them.
 *
 * Typical use (what `lpz train -f FILE --set k=v` does):
 *     lpz_config cfg;
 *     if (lpz_config_read(path, sets, n_sets, &cfg, &err)) { print err; }
 *     ... cfg.trainer.params.population_size ...
 *     lpz_config_destroy(&cfg);
 *
 * Every error names "file:line:column: key.path" (or "--set key.path"),
 * what was expected, and a hint (closest known key, allowed values, ...).
 */
#ifndef LPZ_CONFIG_CONFIG_H
#define LPZ_CONFIG_CONFIG_H

#include <lpz/error.h>
#include <lpz/options.h>

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#define LPZ_CONFIG_NAME_MAX 128   /* plugin names, enum texts, addresses */
#define LPZ_CONFIG_PATH_MAX 1024  /* file and folder paths, secrets */
#define LPZ_CONFIG_MAX_NODES 4096 /* client nodes after expanding port ranges */

/* Enumerations: the order matches the key's `choices` text in keys.c. */
typedef enum lpz_trainer_kind { LPZ_TRAINER_GAN = 0, LPZ_TRAINER_WGAN = 1 } lpz_trainer_kind;
typedef enum lpz_mixture_samples_mode {
    LPZ_MIXTURE_EXACT_PROPORTION = 0,
    LPZ_MIXTURE_INDEPENDENT_PROBABILITY = 1
} lpz_mixture_samples_mode;
typedef enum lpz_score_type {
    LPZ_SCORE_FID = 0,
    LPZ_SCORE_INCEPTION = 1,
    LPZ_SCORE_CONSTANT = 2,
    LPZ_SCORE_NONE = 3
} lpz_score_type;
/* Prefixed LPZ_CFG_: the engine (nn/loss.h) and the evolution module own
 * the unprefixed names, and a file may include both. */
typedef enum lpz_cfg_fitness_mode {
    LPZ_CFG_FITNESS_WORSE = 0,
    LPZ_CFG_FITNESS_BEST = 1,
    LPZ_CFG_FITNESS_AVERAGE = 2
} lpz_cfg_fitness_mode;
typedef enum lpz_cfg_loss {
    LPZ_CFG_LOSS_BCE = 0,
    LPZ_CFG_LOSS_MSE = 1,
    LPZ_CFG_LOSS_HEURISTIC = 2,
    LPZ_CFG_LOSS_MUSTANGS = 3
} lpz_cfg_loss;
typedef enum lpz_randomized {
    LPZ_RANDOMIZED_NO = 0,
    LPZ_RANDOMIZED_YES = 1,
    LPZ_RANDOMIZED_ALWAYS = 2
} lpz_randomized;
typedef enum lpz_config_log_level {
    LPZ_CFG_LOG_DEBUG = 0,
    LPZ_CFG_LOG_INFO = 1,
    LPZ_CFG_LOG_WARNING = 2,
    LPZ_CFG_LOG_ERROR = 3,
    LPZ_CFG_LOG_CRITICAL = 4
} lpz_config_log_level;
typedef enum lpz_image_format { LPZ_IMAGE_PNG = 0, LPZ_IMAGE_JPG = 1 } lpz_image_format;

/* One client of a distributed run (a port range in the file is expanded
 * into one node per port). */
typedef struct lpz_config_node {
    char address[LPZ_CONFIG_NAME_MAX];
    int port;
} lpz_config_node;

/* A key of the dataloader or network section that is not a core key: kept
 * as text until the plugin is loaded and declares its options. */
typedef struct lpz_config_option {
    char *key;   /* e.g. "path" */
    char *value; /* YAML scalar text, e.g. "/data/mnist" */
    char *where; /* "file:line:col" or "--set" */
} lpz_config_option;

typedef struct lpz_config_options {
    lpz_config_option *items;
    int count, capacity;
} lpz_config_options;

typedef struct lpz_config {
    struct {
        char name[LPZ_CONFIG_NAME_MAX];
        char output_dir[LPZ_CONFIG_PATH_MAX];
        int64_t seed;
        int num_workers;
        int checkpoint_period;
        int grid_size;
        bool deterministic;
        int matmul_precision; /* 0 highest, 1 high, 2 medium: nn/precision.h's lpz_matmul_precision */
        char secret[LPZ_CONFIG_PATH_MAX];
        struct {
            bool enabled;
            int log_level; /* lpz_config_log_level */
            char log_server[LPZ_CONFIG_PATH_MAX];
            int image_format; /* lpz_image_format */
            bool print_discriminator;
        } logging;
        struct {
            bool enabled;
            char api_key[LPZ_CONFIG_NAME_MAX];
        } losswise;
        struct {
            bool auto_discover;
            int heartbeat_timeout_ms; /* the master's: a silent client is lost after this long */
            int fetch_timeout_ms;     /* the cells' neighbour timeout in a distributed run */
            struct {
                bool exit_clients_on_disconnect;
            } master_node;
            lpz_config_node *client_nodes; /* n_client_nodes entries, malloc'd */
            int n_client_nodes;
            struct {
                bool enabled;
                char cert[LPZ_CONFIG_PATH_MAX];
                char key[LPZ_CONFIG_PATH_MAX];
                char ca[LPZ_CONFIG_PATH_MAX];
            } tls;
        } distribution;
    } general;
    struct {
        int name; /* lpz_trainer_kind */
        int n_iterations;
        bool calculate_net_weights_dist;
        int mixture_generator_samples_mode; /* lpz_mixture_samples_mode */
        struct {
            int population_size;
            int tournament_size;
            int n_replacements;
            double default_adam_learning_rate;
            double alpha;
            double mutation_probability;
            int discriminator_skip_each_nth_step;
            double mixture_sigma;
            bool enable_selection;
            struct {
                bool enabled;
                int type; /* lpz_score_type */
                int score_sample_size;
                bool cuda;
                char feature_model[LPZ_CONFIG_PATH_MAX];
            } score;
            struct {
                int fitness_sample_size;
                int fitness_mode; /* lpz_cfg_fitness_mode */
            } fitness;
            struct {
                bool enabled;
                int es_generations;
                int sample_size;
                double mixture_sigma;
                bool es_random_init;
            } optimize_mixture;
        } params;
    } trainer;
    struct {
        char dataset_name[LPZ_CONFIG_NAME_MAX];
        bool use_batch;
        int batch_size;
        int n_batches;
        bool shuffle;
        double sampling_ratio;
        lpz_config_options options; /* plugin options */
    } dataloader;
    struct {
        char name[LPZ_CONFIG_NAME_MAX];
        int loss;                   /* lpz_cfg_loss */
        int randomized;             /* lpz_randomized */
        lpz_config_options options; /* plugin options */
    } network;
    struct {
        bool calculate_score;
        int score_sample_size;
        bool cuda;
    } master;

    char source[LPZ_CONFIG_PATH_MAX];     /* the run file as given, "" when none */
    char source_dir[LPZ_CONFIG_PATH_MAX]; /* its folder ("." for a bare name) */
    char **where; /* internal: per key of the table, where it was last set (NULL = default) */
} lpz_config;

/* ---- the key table --------------------------------------------------- */

typedef enum lpz_config_type {
    LPZ_CFG_BOOL = 1,
    LPZ_CFG_INT = 2,
    LPZ_CFG_FLOAT = 3,
    LPZ_CFG_STRING = 4,
    LPZ_CFG_ENUM = 5, /* stored as int: index into choices */
    LPZ_CFG_NODES = 6 /* general.distribution.client_nodes */
} lpz_config_type;

enum {
    LPZ_CFG_MIN_EXCLUSIVE = 1, /* value must be > min (not >=) */
    LPZ_CFG_COMPAT = 2         /* accepted from original files; lpz ignores it */
};

typedef struct lpz_config_key {
    const char *path; /* "trainer.params.population_size" */
    lpz_config_type type;
    const char *default_value; /* YAML text; what lpz_config_init_defaults sets */
    const char *description;   /* one line, for docs and --help */
    const char *choices;       /* ENUM: "fid|inception_score|constant|none" */
    double min, max;           /* INT/FLOAT: allowed range (inclusive unless flagged) */
    int flags;                 /* LPZ_CFG_* */
    size_t offset, size;       /* the field in lpz_config */
} lpz_config_key;

/* Every known key, in dump order (sections general, trainer, dataloader,
 * network, master). */
const lpz_config_key *lpz_config_keys(size_t *count);

/* "bool", "int", "float", "string", "enum", "list of {address, port}". */
const char *lpz_config_type_name(lpz_config_type t);

/* The key with this full path, or NULL. */
const lpz_config_key *lpz_config_find_key(const char *path);

/* ---- loading and changing --------------------------------------------- */

/* Sets every key to its default; no allocation. A config so initialised
 * (or loaded) must be released with lpz_config_destroy. */
void lpz_config_init_defaults(lpz_config *cfg);

/* Releases the client nodes, plugin options and bookkeeping; leaves cfg
 * at its defaults. */
void lpz_config_destroy(lpz_config *cfg);

/* Initialises cfg with defaults, then reads the run file at path on top.
 * Checks syntax, keys, types and ranges of single values. Does NOT run the
 * cross-key checks (call lpz_config_validate after applying overrides). On
 * failure cfg is still valid (destroy it) and err says where and why. */
int lpz_config_load(const char *path, lpz_config *cfg, lpz_error *err);

/* As lpz_config_load, for YAML text in memory; `name` stands for the file
 * in messages, and !include paths are relative to the current directory. */
int lpz_config_load_buffer(const char *data, size_t size, const char *name, lpz_config *cfg, lpz_error *err);

/* As lpz_config_load_buffer, for text lpz_config_dump wrote (a master's
 * configuration on a client, a run folder's config.yml): !include and !ENV
 * are refused, since they would read this machine's files or environment
 * variables on another's behalf. */
int lpz_config_load_resolved(const char *data, size_t size, const char *name, lpz_config *cfg, lpz_error *err);

/* Applies one override: key path and a YAML scalar text (quoted strings,
 * numbers, booleans; a flow sequence for client_nodes). A path under
 * dataloader./network. that is not a core key becomes a plugin option with
 * where "--set". */
int lpz_config_set(lpz_config *cfg, const char *path, const char *value, lpz_error *err);

/* Splits "key.path=value" and calls lpz_config_set. */
int lpz_config_set_assignment(lpz_config *cfg, const char *assignment, lpz_error *err);

/* Checks ranges of every key and the rules that involve several keys
 * (square client count, tournament size vs. neighbourhood population,
 * n_replacements vs. population, checkpoint period vs. iterations).
 * One value is adjusted rather than refused: a tournament_size left at its
 * default (2) is lowered to the neighbourhood population when that is
 * smaller (population 1 on a 1x1 grid); a tournament_size the user wrote is
 * an error instead. */
int lpz_config_validate(lpz_config *cfg, lpz_error *err);

/* load + each "key=value" in sets + validate: what the CLI needs. */
int lpz_config_read(const char *path, const char *const *sets, int n_sets, lpz_config *cfg, lpz_error *err);

/* ---- reading ------------------------------------------------------------- */

/* Writes the whole resolved configuration as YAML that lpz_config_load
 * reads back to an equal configuration. Returns LPZ_EIO when writing fails. */
int lpz_config_dump(const lpz_config *cfg, FILE *out, lpz_error *err);

/* value as an existing file or folder, absolute (realpath, into abs of
 * PATH_MAX): value itself (absolute, or relative to the current folder),
 * else relative to dir (not NULL: the run file's folder), as the
 * dataloaders resolve their file options. 0 when it names nothing. */
int lpz_config_locate_path(const char *value, const char *dir, char *abs);

/* lpz_config_dump for a run folder's config.yml: relative paths that name an
 * existing file or folder now are written absolute, with the value as given
 * in a comment, so that the copy works from any folder (lpz generate, lpz
 * score, --resume): trainer.params.score.feature_model and the TLS files
 * (relative to the current folder, as they are used), and
 * the plugins' LPZ_OPT_PATH options of dl_spec and net_spec (either may be
 * NULL): relative to the current folder, else to the run file's folder, as
 * the dataloaders resolve them. Others are written as lpz_config_dump does. */
int lpz_config_dump_run(const lpz_config *cfg, const lpz_option_spec *dl_spec, const lpz_option_spec *net_spec,
                        FILE *out, lpz_error *err);

/* Where key `path` got its value: "file:line:col", "--set" or "default". */
const char *lpz_config_where(const lpz_config *cfg, const char *path);

/* A key's place in a message, from where (lpz_config_where's answer):
 * "run.yml:3:9: dataloader.path", "--set dataloader.path",
 * "dataloader.path (default)", or the bare path when where is "". */
void lpz_config_locate(const char *where, const char *path, char *out, size_t size);

/* K of the K x K grid: general.grid_size when > 0, else the square root of
 * the number of client nodes, else 1. */
int lpz_config_grid_size(const lpz_config *cfg);

/* Neighbourhood size on a K x K torus: 1 (K = 1), 3 (K = 2), 5 (K >= 3). */
int lpz_config_neighbourhood_size(int grid_size);

/* The text of an enum value (e.g. "fid" for trainer.params.score.type), or
 * "?" when out of range. The string stays valid until the next call from
 * the same thread. */
const char *lpz_config_enum_text(const char *path, int value);

/* Sets every raw option of `section` ("dataloader" or "network") into opts
 * (created from the plugin's spec); their messages name the full key path
 * (dataloader.path). An unknown key that is close to a core key of the
 * section gets that core key as the hint. */
int lpz_config_fill_options(const lpz_config *cfg, const char *section, lpz_options *opts, lpz_error *err);

#endif
