/* core/runtime/run.c - see run.h. */
#include "runtime/run.h"
#include "runtime/units.h"

#include "base/shape.h"
#include "config/options_internal.h"
#include "data/batcher.h"
#include "evolution/evolution.h"
#include "io/fsutil.h"
#include "model/model.h"
#include "nn/amx_kernels.h"
#include "nn/precision.h"
#include "report/report.h"
#include "score/score.h"

#include <lpz/dataloader.h>
#include <lpz/log.h>

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

int lpz_run_apply_precision(const lpz_config *cfg)
{
    lpz_matmul_precision want = (lpz_matmul_precision)cfg->general.matmul_precision;
    lpz_matmul_precision got = lpz_nn_set_matmul_precision(want);
    if (got != want) {
        char why[256];
        lpz_log(LPZ_LOG_WARN, "general.matmul_precision: %s needs %s: %s; computing in fp32 (highest)",
                lpz_matmul_precision_name(want), want == LPZ_MATMUL_HIGH ? "AMX" : "AMX or AVX512-BF16",
                lpz_nn_matmul_fallback_reason(want, why, sizeof why));
    } else if (got != LPZ_MATMUL_HIGHEST)
        lpz_log(LPZ_LOG_INFO, "matrix products on %s in %s (general.matmul_precision: %s)",
                lpz_matmul_unit_name(lpz_nn_matmul_unit(got)),
                got == LPZ_MATMUL_HIGH ? "two bf16 limbs" : "one bf16 limb", lpz_matmul_precision_name(got));
    return LPZ_OK;
}

void lpz_run_hints(const lpz_config *cfg)
{
    /* settings that a file can give but that do nothing here: said, not ignored silently (by value, not by
     * where they were set: a run's config.yml sets every key) */
    if (cfg->trainer.name == LPZ_TRAINER_WGAN && cfg->network.loss != LPZ_CFG_LOSS_BCE)
        lpz_log(LPZ_LOG_WARN, "network.loss %s is not used by trainer.name lipizzaner_wgan: its critics and "
                "generators train with the Wasserstein loss", lpz_config_enum_text("network.loss", cfg->network.loss));
    if (cfg->network.loss != LPZ_CFG_LOSS_MUSTANGS && cfg->network.randomized != LPZ_RANDOMIZED_NO)
        lpz_log(LPZ_LOG_WARN, "network.randomized is for network.loss mustangs; with %s it has no effect",
                lpz_config_enum_text("network.loss", cfg->network.loss));
    /* The original's switches for a GPU and its hosted or database logging, which lpz accepts so that its
     * files load: a file that turns one on expected something lpz does not do. */
    char ignored[200] = "";
    size_t n = 0;
    const struct {
        int on;
        const char *key;
    } compat[] = {
        {cfg->trainer.params.score.cuda, "trainer.params.score.cuda"},
        {cfg->master.cuda, "master.cuda"},
        {cfg->general.losswise.enabled, "general.losswise.enabled"},
        {cfg->general.logging.log_server[0] != '\0', "general.logging.log_server"},
    };
    for (size_t i = 0; i < sizeof compat / sizeof compat[0]; i++)
        if (compat[i].on && n < sizeof ignored)
            n += (size_t)snprintf(ignored + n, sizeof ignored - n, "%s%s", n ? ", " : "", compat[i].key);
    if (n)
        lpz_log(LPZ_LOG_INFO, "ignored, as lpz runs on CPUs and logs to metrics.csv and standard error: %s (the "
                "original Lipizzaner's settings)", ignored);
    if (cfg->general.matmul_precision == LPZ_MATMUL_HIGHEST && nn_amx_available())
        lpz_log(LPZ_LOG_INFO, "this CPU has AMX: general.matmul_precision: high computes the networks' products "
                              "about 1.5x as fast (two bf16 limbs, about 2^-16 per product; the default is fp32)");
}

int lpz_train_params_from_config(const lpz_config *cfg, lpz_train_params *p, lpz_error *err)
{
    memset(p, 0, sizeof *p);
    p->grid_k = lpz_config_grid_size(cfg);
    p->n_iterations = cfg->trainer.n_iterations;
    p->seed = (uint64_t)cfg->general.seed;
    p->deterministic = cfg->general.deterministic;
    p->checkpoint_period = cfg->general.checkpoint_period;
    p->output_dir = cfg->general.output_dir;
    p->wgan = cfg->trainer.name == LPZ_TRAINER_WGAN;
    p->trainer_name = p->wgan ? "lipizzaner_wgan" : "lipizzaner_gan";
    p->population_size = cfg->trainer.params.population_size;
    p->tournament_size = cfg->trainer.params.tournament_size;
    p->n_replacements = cfg->trainer.params.n_replacements;
    p->enable_selection = cfg->trainer.params.enable_selection;
    p->default_lr = cfg->trainer.params.default_adam_learning_rate;
    p->alpha = cfg->trainer.params.alpha;
    p->mutation_probability = cfg->trainer.params.mutation_probability;
    p->discriminator_skip_each_nth_step = cfg->trainer.params.discriminator_skip_each_nth_step;
    p->mixture_sigma = cfg->trainer.params.mixture_sigma;
    p->fitness_sample_size = cfg->trainer.params.fitness.fitness_sample_size;
    switch (cfg->trainer.params.fitness.fitness_mode) {
    case LPZ_CFG_FITNESS_BEST: p->fitness_mode = LPZ_COMBINE_BEST; break;
    case LPZ_CFG_FITNESS_AVERAGE: p->fitness_mode = LPZ_COMBINE_AVERAGE; break;
    default: p->fitness_mode = LPZ_COMBINE_WORSE; break;
    }
    /* The config's loss enum and the engine's agree on BCE, MSE and the
     * heuristic loss (0, 1, 2); mustangs picks among those three. */
    p->mustangs = cfg->network.loss == LPZ_CFG_LOSS_MUSTANGS;
    p->loss = p->mustangs ? 0 : cfg->network.loss;
    p->randomized_always = cfg->network.randomized == LPZ_RANDOMIZED_ALWAYS;
    p->batch_size = cfg->dataloader.batch_size;
    p->n_batches = cfg->dataloader.use_batch ? cfg->dataloader.n_batches : 0;
    p->shuffle = cfg->dataloader.shuffle;
    p->sampling_ratio = cfg->dataloader.sampling_ratio;
    snprintf(p->score_type, sizeof p->score_type, "%s",
             cfg->trainer.params.score.enabled
                 ? lpz_config_enum_text("trainer.params.score.type", cfg->trainer.params.score.type)
                 : "none");
    p->score_sample_size = cfg->trainer.params.score.score_sample_size;
    p->mixture_sampling = cfg->trainer.mixture_generator_samples_mode;
    p->optimize_mixture = cfg->trainer.params.optimize_mixture.enabled;
    p->es_generations = cfg->trainer.params.optimize_mixture.es_generations;
    p->es_sample_size = cfg->trainer.params.optimize_mixture.sample_size;
    p->es_sigma = cfg->trainer.params.optimize_mixture.mixture_sigma;
    p->es_random_init = cfg->trainer.params.optimize_mixture.es_random_init;
    p->print_discriminator = cfg->general.logging.print_discriminator;
    p->net_weights_dist = cfg->trainer.calculate_net_weights_dist;
    p->no_samples = !cfg->general.logging.enabled;
    p->image_format = cfg->general.logging.image_format == LPZ_IMAGE_JPG ? LPZ_RENDER_JPEG : LPZ_RENDER_PNG;
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    p->cores = cfg->general.num_workers > 0 ? cfg->general.num_workers : (cores > 0 ? (int)cores : 1);
    if (p->grid_k < 1)
        return lpz_error_set(err, LPZ_EINVAL, "grid size %d is not positive", p->grid_k);
    return LPZ_OK;
}

int lpz_run_check_batch_size(const lpz_config *cfg, int64_t batch_size, lpz_dataset *ds, lpz_error *err)
{
    int64_t count = lpz_dataset_get_info(ds)->count;
    if (batch_size <= count)
        return LPZ_OK;
    lpz_error_set(err, LPZ_EINVAL, "batch_size %lld is larger than the dataset (%lld samples)", (long long)batch_size,
                  (long long)count);
    char w[600];
    lpz_config_locate(lpz_config_where(cfg, "dataloader.batch_size"), "dataloader.batch_size", w, sizeof w);
    lpz_error_where(err, "%s", w);
    lpz_data_hint_batch_size(err, ds);
    return LPZ_EINVAL;
}

/* Dataset and network names of the original Lipizzaner that lpz ships no plugin for, with the way to the same
 * in lpz: "no dataloader plugin named 'circular'" left a migrant to guess. {section, name, what it was, what to
 * do}, NULL-terminated. */
#define TOY "make the points with NumPy, save them with numpy.save and use 'dataset_name: npy' with 'path: " \
            "points.npy' and network four_layer_perceptron (docs/howto/train-on-your-own-data.md)"
#define SSGAN "lpz trains unsupervised GANs only: use 'name: four_layer_perceptron' or 'convolutional'"
static const char *const original_names[][4] = {
    {"dataloader", "gaussian", "one of the original Lipizzaner's toy sets", TOY},
    {"dataloader", "circular", "one of the original Lipizzaner's toy sets", TOY},
    {"dataloader", "grid", "one of the original Lipizzaner's toy sets", TOY},
    {"dataloader", "cifar", "the original Lipizzaner's CIFAR-10 loader",
     "save the images as a .npy of (N, 32, 32, 3) uint8 and use 'dataset_name: npy' with 'path:' and "
     "'channels_last: true'; network convolutional takes 3x32x32"},
    {"dataloader", "mnist_fashion", "the original Lipizzaner's name for Fashion-MNIST",
     "use 'dataset_name: fashion_mnist'"},
    {"dataloader", "mnist_labels", "the original Lipizzaner's MNIST with labels",
     "use 'dataset_name: mnist', which reads the labels too (for the inception score and TVD)"},
    {"network", "circular_problem_perceptron", "the original Lipizzaner's network for its toy sets",
     "use 'name: four_layer_perceptron' (its options hidden and latent set the sizes)"},
    {"network", "ssgan_perceptron", "the original Lipizzaner's semi-supervised GAN", SSGAN},
    {"network", "ssgan_convolutional", "the original Lipizzaner's semi-supervised GAN", SSGAN},
    {NULL, NULL, NULL, NULL},
};
#undef TOY
#undef SSGAN

int lpz_run_plugin(const lpz_registry *reg, const lpz_config *cfg, uint32_t kind, const lpz_plugin **plugin,
                   lpz_options **options, lpz_error *err)
{
    const char *section = kind == LPZ_PLUGIN_DATALOADER ? "dataloader" : "network";
    const char *name = kind == LPZ_PLUGIN_DATALOADER ? cfg->dataloader.dataset_name : cfg->network.name;
    const char *key = kind == LPZ_PLUGIN_DATALOADER ? "dataloader.dataset_name" : "network.name";
    int rc = lpz_registry_find(reg, kind, name, plugin, err);
    for (int i = 0; rc == LPZ_ENOTFOUND && original_names[i][0]; i++)
        if (!strcmp(original_names[i][0], section) && !strcmp(original_names[i][1], name)) {
            lpz_error_hint(err, "'%s' is %s, not in lpz: %s; docs/howto/coming-from-lipizzaner.md", name,
                           original_names[i][2], original_names[i][3]);
            break;
        }
    if (rc) { /* where the name was set, as for any key: "run.yml:7:17: dataloader.dataset_name" */
        char w[600];
        lpz_config_locate(lpz_config_where(cfg, key), key, w, sizeof w);
        lpz_error_context(err, "%s", w);
        return rc;
    }
    char problem[256];
    if (!lpz_options_spec_ok((*plugin)->options, section, problem, sizeof problem)) {
        lpz_error_set(err, LPZ_EINVAL, "plugin %s declares an option that cannot work: %s", (*plugin)->name,
                      problem);
        for (int i = 0; i < reg->n_entries; i++)
            if (reg->entries[i].desc == *plugin)
                lpz_error_where(err, "%s", reg->entries[i].path);
        lpz_error_hint(err, "a bug of the plugin: fix its options table (docs/sdk.md, lpz/options.h)");
        return LPZ_EINVAL;
    }
    *options = lpz_options_create((*plugin)->options, (*plugin)->name);
    if (!*options)
        return lpz_error_set(err, LPZ_ENOMEM, "out of memory");
    rc = lpz_config_fill_options(cfg, section, *options, err);
    if (rc) {
        lpz_options_destroy(*options);
        *options = NULL;
    }
    return rc;
}

int lpz_run_make_dir(const lpz_train_params *p, char *out, size_t size, lpz_error *err)
{
    char stamp[64];
    time_t now = time(NULL);
    struct tm tm;
    localtime_r(&now, &tm);
    strftime(stamp, sizeof stamp, "%Y-%m-%d_%H-%M-%S", &tm);
    char parent[PATH_MAX - 128];
    if (snprintf(parent, sizeof parent, "%s/%s", p->output_dir, p->trainer_name) >= (int)sizeof parent)
        return lpz_error_set(err, LPZ_EINVAL, "general.output_dir is too long");
    int rc = lpz_mkdirs(parent, err);
    if (rc)
        return rc;
    int e = EEXIST;
    for (int n = 0; n < 1000 && e == EEXIST; n++) {
        if (n == 0)
            snprintf(out, size, "%s/%s", parent, stamp);
        else
            snprintf(out, size, "%s/%s-%d", parent, stamp, n);
        if (mkdir(out, 0777) == 0)
            return LPZ_OK;
        e = errno; /* only a name taken (a run started in the same second) is worth another name */
    }
    out[0] = '\0'; /* no folder: nothing to call "partial results" */
    return lpz_error_set(err, LPZ_EIO, "cannot create a result folder under %s: %s", parent,
                         e == EEXIST ? "1000 names taken" : strerror(e));
}

#define RUN_LOCK ".lpz-lock"

int lpz_run_lock(const char *run_dir, int *fd_out, lpz_error *err)
{
    *fd_out = -1;
    char path[PATH_MAX + 16];
    if (snprintf(path, sizeof path, "%s/" RUN_LOCK, run_dir) >= (int)sizeof path)
        return lpz_error_set(err, LPZ_EINVAL, "run folder path too long: %s", run_dir);
    /* The holder removes the file when it is done: a lock taken on a file
     * removed meanwhile is taken again on the new one. */
    for (int tries = 0; tries < 100; tries++) {
        int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
        if (fd < 0 && (errno == EROFS || errno == EACCES))
            return LPZ_OK; /* a folder this run cannot write: what it writes says so, if it writes */
        if (fd < 0)
            return lpz_error_set(err, LPZ_EIO, "cannot create %s: %s", path, strerror(errno));
        if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
            int e = errno;
            char buf[24] = "";
            ssize_t n = pread(fd, buf, sizeof buf - 1, 0);
            buf[n > 0 ? n : 0] = '\0';
            close(fd);
            if (e != EWOULDBLOCK) /* nobody can hold it: the file would only keep the folder from being removed */
                unlink(path);
            if (e == ENOLCK || e == EOPNOTSUPP || e == ENOSYS) {
                lpz_log(LPZ_LOG_WARN, "%s cannot be locked (%s): a second lpz in this run folder would not be "
                        "refused", path, strerror(e));
                return LPZ_OK;
            }
            if (e != EWOULDBLOCK)
                return lpz_error_set(err, LPZ_EIO, "cannot lock %s: %s", path, strerror(e));
            long pid = strtol(buf, NULL, 10);
            if (pid > 0)
                lpz_error_set(err, LPZ_ESTATE, "%s is in use: another lpz (process %ld) trains in it", run_dir, pid);
            else
                lpz_error_set(err, LPZ_ESTATE, "%s is in use: another lpz process trains in it", run_dir);
            lpz_error_hint(err, "wait until that run ends, or stop it (Ctrl-C), then resume; two processes in one "
                                "run folder would overwrite each other's checkpoints and rows");
            return LPZ_ESTATE;
        }
        struct stat held, now;
        if (fstat(fd, &held) == 0 && lstat(path, &now) == 0 && held.st_ino == now.st_ino &&
            held.st_dev == now.st_dev) {
            char pid[24];
            int n = snprintf(pid, sizeof pid, "%ld\n", (long)getpid());
            if (ftruncate(fd, 0) != 0 || pwrite(fd, pid, (size_t)n, 0) != n)
                lpz_log(LPZ_LOG_WARN, "could not write %s: %s (the lock holds)", path, strerror(errno));
            *fd_out = fd;
            return LPZ_OK;
        }
        close(fd);
    }
    return lpz_error_set(err, LPZ_EIO, "cannot lock %s: it keeps being replaced", path);
}

void lpz_run_unlock(const char *run_dir, int fd)
{
    if (fd < 0)
        return;
    char path[PATH_MAX + 16];
    if (snprintf(path, sizeof path, "%s/" RUN_LOCK, run_dir) < (int)sizeof path)
        unlink(path); /* while held: a waiter that opened it takes it, sees it gone and opens anew */
    close(fd);
}

/* 1 when path is a folder (not a link to one) with nothing in it. */
static int is_empty_dir(const char *path)
{
    struct stat st;
    if (lstat(path, &st) != 0 || !S_ISDIR(st.st_mode))
        return 0;
    DIR *d = opendir(path);
    if (!d)
        return 0;
    int empty = 1;
    for (struct dirent *e; empty && (e = readdir(d));)
        empty = !strcmp(e->d_name, ".") || !strcmp(e->d_name, "..");
    closedir(d);
    return empty;
}

int lpz_run_remove_unused(const char *run_dir, int setup_only)
{
    char path[PATH_MAX + 300];
    /* Twice: first check every entry, then remove the empty folders (and,
     * setup_only, the files); the config.yml goes last, once nothing else
     * is left. */
    for (int pass = 0; pass < 2; pass++) {
        DIR *d = opendir(run_dir);
        if (!d)
            return 0;
        int ok = 1;
        for (struct dirent *e; ok && (e = readdir(d));) {
            if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..") || !strcmp(e->d_name, "config.yml"))
                continue;
            snprintf(path, sizeof path, "%s/%s", run_dir, e->d_name);
            struct stat st;
            int file = setup_only && lstat(path, &st) == 0 && S_ISREG(st.st_mode);
            if (pass == 0)
                ok = file || is_empty_dir(path);
            else
                ok = (file ? unlink(path) : rmdir(path)) == 0;
        }
        closedir(d);
        if (!ok)
            return 0;
    }
    snprintf(path, sizeof path, "%s/config.yml", run_dir);
    struct stat st;
    if (lstat(path, &st) == 0 && (!S_ISREG(st.st_mode) || unlink(path) != 0))
        return 0;
    return rmdir(run_dir) == 0;
}

int lpz_run_check_resume(const char *run_dir, int n_iterations, lpz_error *err)
{
    char path[PATH_MAX + 32];
    snprintf(path, sizeof path, "%s/metrics.csv", run_dir);
    if (!lpz_is_file(path))
        return LPZ_OK;
    char *data;
    size_t size;
    int rc = lpz_read_file(path, (size_t)1 << 30, &data, &size, err);
    if (rc)
        return rc;
    /* The header, then rows that start with their iteration (1 and up). A
     * line that is neither is refused, naming it: the resume appends to the
     * file, and a row's iteration read wrongly (saturated, negative) made
     * the check below wrong. */
    long last = 0;
    int no = 0, bad = 0;
    for (const char *line = data, *next; line && *line && !bad; line = next) {
        next = strchr(line, '\n');
        no++;
        if (!next) { /* the resume appends: a row would be glued to this one */
            lpz_error_set(err, LPZ_EFORMAT, "the last line is not complete (it has no end of line)");
            lpz_error_hint(err, "remove that line (a run killed while it wrote it), then resume");
            bad = 1;
            break;
        }
        next++;
        if (*line == '\n' || (line[0] == '\r' && line[1] == '\n') ||
            (no == 1 && !strncmp(line, "iteration,", 10)))
            continue;
        char *end;
        errno = 0;
        long it = strtol(line, &end, 10);
        int len = (int)strcspn(line, ",\r\n"), whole = end != line && !errno && it >= 1 && it <= INT_MAX;
        if (whole && *end == ',') {
            last = it > last ? it : last;
            continue;
        }
        if (whole && (*end == '\r' || *end == '\n')) /* "2": the number is the whole line ("99x,0": not a number) */
            lpz_error_set(err, LPZ_EFORMAT, "not a row of lpz: no ',' after its iteration '%.*s'",
                          len > 40 ? 40 : len, line);
        else
            lpz_error_set(err, LPZ_EFORMAT, "%s: its iteration '%.*s' is not a whole number from 1 to %d",
                          no == 1 ? "not lpz's header 'iteration,cell,...'" : "not a row of lpz",
                          len > 40 ? 40 : len, line, INT_MAX);
        lpz_error_hint(err, "the run folder's metrics.csv is written by lpz: put back the original, or remove "
                            "that line");
        bad = 1;
    }
    if (bad) { /* line `no` refused above */
        lpz_error_where(err, "%s:%d", path, no);
        free(data);
        return LPZ_EFORMAT;
    }
    free(data);
    if (last <= n_iterations)
        return LPZ_OK;
    lpz_error_set(err, LPZ_EINVAL, "the run already has %ld iterations, more than trainer.n_iterations %d", last,
                  n_iterations);
    lpz_error_where(err, "%s", path);
    lpz_error_hint(err, "resume with --set trainer.n_iterations=N, N >= %ld", last);
    return err->code;
}

/* The run folder's copy, with the data paths absolute (lpz_config_dump_run). */
static int write_config(const lpz_config *cfg, const lpz_plugin *dl, const lpz_plugin *net, const char *run_dir,
                        lpz_error *err)
{
    char path[PATH_MAX + 32];
    snprintf(path, sizeof path, "%s/config.yml", run_dir);
    lpz_atomic_file f;
    int rc = lpz_atomic_open(&f, path, err);
    if (rc)
        return rc;
    rc = lpz_config_dump_run(cfg, dl->options, net->options, f.fp, err);
    if (rc) {
        lpz_atomic_abort(&f);
        return rc;
    }
    return lpz_atomic_commit(&f, err);
}

/* The hook's state: the request, and whether a grid iteration finished
 * (a resume that fails before one puts the run's config.yml back). */
typedef struct run_hook {
    const lpz_run_request *req;
    int iterated;
    dev_t dev; /* the run folder as the training began (ino 0: not known) */
    ino_t ino;
    int gone;  /* it was removed or replaced since: the training was stopped */
    const lpz_config *cfg; /* for config.yml again */
    const lpz_plugin *dl, *net;
} run_hook;

/* The run folder removed during the run (rm -rf by hand, a cleaner):
 * the rows of metrics.csv went to the removed file, and the trainer made
 * the folder again for its next checkpoint and samples, a folder without
 * config.yml or metrics.csv. The training is stopped (as by Ctrl-C: the
 * stop's checkpoints and mixtures are written) and the run fails, instead
 * of training on into a folder nothing can read. */
static void check_folder(run_hook *h, const char *run_dir)
{
    struct stat st;
    char path[PATH_MAX + 32];
    snprintf(path, sizeof path, "%s/config.yml", run_dir); /* written at the start, never removed by the run */
    if (h->gone || !h->ino ||
        (stat(run_dir, &st) == 0 && st.st_dev == h->dev && st.st_ino == h->ino && lpz_is_file(path)))
        return;
    h->gone = 1;
    lpz_log(LPZ_LOG_ERROR, "the run folder %s was removed during the run (its metrics.csv, samples and "
            "checkpoints so far are gone): stopping the training", run_dir);
    if (h->req->stop)
        __atomic_store_n(h->req->stop, 1, __ATOMIC_SEQ_CST);
    /* the folder again, for the stop's checkpoints and mixtures, with config.yml (lpz generate, lpz score) */
    lpz_error e;
    snprintf(path, sizeof path, "%s/checkpoints", run_dir);
    if (lpz_mkdirs(path, &e) || write_config(h->cfg, h->dl, h->net, run_dir, &e))
        lpz_log(LPZ_LOG_WARN, "the run folder not made again: %s", e.message);
}

/* report.html; a failure to write it is logged, never fatal to the run. */
static void write_report(const lpz_run_request *req, const char *run_dir, int state)
{
    lpz_error err;
    lpz_error_clear(&err);
    if (req->config->general.logging.enabled && /* false: no report.html during training */
        lpz_report_write_ex(run_dir, state, &err)) {
        char buf[2048];
        lpz_log(LPZ_LOG_WARN, "report.html not written: %s", lpz_error_format(&err, buf, sizeof buf));
    }
}

/* report.html after every grid iteration and at the end of the training
 * (again after the final scoring: it shows the final scores). */
static void report_hook(void *user, const char *run_dir, int iteration)
{
    run_hook *h = user;
    const lpz_run_request *req = h->req;
    if (iteration >= 0)
        h->iterated = 1;
    check_folder(h, run_dir);
    if (!h->gone) /* else nothing to write a report from */
        write_report(req, run_dir, iteration < 0 ? LPZ_REPORT_FINISHED : LPZ_REPORT_RUNNING);
    if (req->on_iteration)
        req->on_iteration(req->user, run_dir, iteration);
}

/* --resume of a run whose training is complete (lpz_run_trained_for_final,
 * or lpz_run_training_complete without final_scores.csv): the cells are
 * not set up again (that rewrote their mixtures, and re-ran
 * optimize_mixture). With master.calculate_score only the final scoring is
 * done (score 1), else nothing and no file changes; the cells' results come
 * from metrics.csv. */
static int complete_run(const lpz_run_request *req, int n_iterations, const char *why, int score_it,
                        lpz_run_outcome *out, lpz_error *err)
{
    const lpz_config *cfg = req->config;
    lpz_train_result *r = &out->result;
    int n = lpz_config_grid_size(cfg) * lpz_config_grid_size(cfg);
    r->n_cells = n;
    r->best_cell = -1;
    r->trained_before = 1;
    r->cells = calloc((size_t)n, sizeof *r->cells);
    int *its = calloc((size_t)n, sizeof *its);
    double *fit = calloc((size_t)n, sizeof *fit), *score = calloc((size_t)n, sizeof *score);
    double *sc = calloc((size_t)n, sizeof *sc);
    int rc = LPZ_OK;
    if (!r->cells || !its || !fit || !score || !sc) {
        rc = lpz_error_set(err, LPZ_ENOMEM, "out of memory");
        goto done;
    }
    if (score_it)
        lpz_log(LPZ_LOG_INFO, "the training of this run is complete (%d iteration%s, %s): only the final scoring "
                "is left", n_iterations, n_iterations == 1 ? "" : "s", why);
    else
        lpz_log(LPZ_LOG_INFO, "the training of this run is complete (%d iteration%s, %s) and master.calculate_score "
                "is off: nothing to do, the run folder is left as it is (--set trainer.n_iterations=N trains on)",
                n_iterations, n_iterations == 1 ? "" : "s", why);
    lpz_error e;
    if (lpz_run_last_rows(out->run_dir, n, fit, score, &e))
        lpz_log(LPZ_LOG_WARN, "the cells' latest fitness and score are not known: %s", e.message);
    for (int i = 0; i < n; i++) {
        r->cells[i].cell = i;
        r->cells[i].iterations = its[i] = n_iterations;
        r->cells[i].best_g_fitness = fit[i];
        r->cells[i].score = score[i];
        char *dir = r->cells[i].mixture_dir; /* run_dir (from realpath) leaves room for /master/<i> */
        if (snprintf(dir, sizeof r->cells[i].mixture_dir, "%s/master/%d", out->run_dir, i) < 0)
            dir[0] = '\0';
    }
    r->score_higher = lpz_run_score_higher(cfg);
    if ((rc = lpz_run_result_best_cell(r, &r->best_cell))) {
        lpz_error_set(err, rc, "out of memory");
        goto done;
    }
    if (score_it) {
        lpz_final_request fr = {.cfg = cfg, .run_dir = out->run_dir, .n_cells = n, .iterations = its,
                                .stop = req->stop, .scoring = req->scoring, .registry = req->registry};
        lpz_run_final_scoring(&fr, sc, &r->final);
        lpz_run_use_final_scores(r, sc);
        write_report(req, out->run_dir, LPZ_REPORT_FINISHED); /* with the final scores, as after a training */
    }
done:
    free(its), free(fit), free(score), free(sc);
    if (rc)
        lpz_train_result_free(r);
    return rc;
}

int lpz_run_score_higher(const lpz_config *cfg)
{
    return cfg->trainer.params.score.enabled && cfg->trainer.params.score.type == LPZ_SCORE_INCEPTION;
}

/* The inception score of the trainer.params.score: class probabilities
 * only lpz's classifier of labelled MNIST-format images gives. */
static int inception_unavailable(const char *dataset, lpz_error *err)
{
    return lpz_error_set(err, LPZ_EUNSUPPORTED,
                         "the inception score needs class probabilities, which lpz has for labelled MNIST-format "
                         "images only (its classifier's 10 classes); %s data has none", dataset);
}

/* Whether failure rc of the training's score (the inception score when
 * `is`) stops the run: the inception score is asked for by name, and
 * unavailable is an error; FID that lpz cannot compute for the data
 * (LPZ_EUNSUPPORTED) is not, the run trains without a score. */
static int score_failure_fatal(int is, int rc)
{
    return is || rc != LPZ_EUNSUPPORTED;
}

/* err of such a failure, with where the score is set and how to go without it. */
static void score_failure_tell(int is, int rc, lpz_error *err)
{
    if (!strstr(err->where, "trainer.params.score")) /* "trainer.params.score.feature_model: <file>" says it */
        lpz_error_context(err, "trainer.params.score");
    if (rc == LPZ_EINVAL || rc == LPZ_EUNSUPPORTED)
        lpz_scorer_hint_skip(err, is ? "set trainer.params.score.type to fid or none"
                                     : "set trainer.params.score.type to none (or constant)");
}

int lpz_run_open_scorer(const lpz_config *cfg, lpz_dataset *ds, const char *cache_dir, volatile int *stop,
                        lpz_scorer **out, lpz_error *err)
{
    *out = NULL;
    int type = cfg->trainer.params.score.type, is = type == LPZ_SCORE_INCEPTION;
    int n = cfg->trainer.params.score.score_sample_size;
    if (!cfg->trainer.params.score.enabled || (type != LPZ_SCORE_FID && !is))
        return LPZ_OK; /* none, constant: the mixture weights stay uniform */
    lpz_scorer_options so = {0};
    so.feature_model = cfg->trainer.params.score.feature_model;
    so.cache_dir = cache_dir;
    so.sample_size = n;
    so.seed = LPZ_SCORE_REAL_SEED; /* the same real samples as `lpz score`, sharing its cache */
    so.stop = stop;
    lpz_log(LPZ_LOG_INFO, "preparing the %s (real-data statistics of %d samples)", is ? "inception score" : "FID", n);
    lpz_scorer *scorer = NULL;
    int rc = lpz_scorer_create(ds, &so, &scorer, err);
    if (!rc && is && !lpz_scorer_has_classes(scorer)) {
        rc = inception_unavailable(lpz_dataset_name(ds), err);
        lpz_scorer_destroy(scorer);
        scorer = NULL;
    }
    if (rc) {
        score_failure_tell(is, rc, err);
        if (score_failure_fatal(is, rc))
            return rc;
        char buf[2048];
        lpz_log(LPZ_LOG_WARN, "%s; training without a score (mixture weights stay uniform)",
                lpz_error_format(err, buf, sizeof buf));
        lpz_error_clear(err);
        return LPZ_OK;
    }
    *out = scorer;
    return LPZ_OK;
}

/* master.calculate_score on samples of this shape and kind (of dataloader
 * `dataset`): a final scoring that cannot run is said before the training,
 * not after it (colour images without the InceptionV3 weights with
 * score.type none are refused, as the training's FID refuses them); one
 * unavailable for such samples is a warning when `warn` (said once: the
 * check before the data is read passes 0). */
static int check_final_scoring(const lpz_config *cfg, const char *dataset, const lpz_dataset_info *info, int warn,
                               lpz_error *err)
{
    if (!cfg->master.calculate_score)
        return LPZ_OK;
    lpz_error ce;
    lpz_error_clear(&ce);
    int crc = lpz_scorer_check_samples(dataset, &info->sample_shape, info->kind,
                                       cfg->trainer.params.score.feature_model, &ce);
    lpz_scorer_hint_skip(&ce, "set master.calculate_score to false");
    lpz_error_context(&ce, "master.calculate_score");
    if (crc == LPZ_EINVAL) {
        *err = ce;
        return crc;
    }
    if (crc && warn) {
        char buf[2048];
        lpz_log(LPZ_LOG_WARN, "%s; the run trains, without final scores", lpz_error_format(&ce, buf, sizeof buf));
    }
    return LPZ_OK;
}

/* What the scores refuse of samples of this shape and kind, before the
 * data is read: the errors lpz_run_open_scorer and check_final_scoring
 * give for them (the weights of colour images, the inception score's
 * classes), nothing they only warn of. */
static int check_scores(const lpz_config *cfg, const char *dataset, const lpz_dataset_info *info, int final,
                        lpz_error *err)
{
    int type = cfg->trainer.params.score.type, is = type == LPZ_SCORE_INCEPTION;
    if (cfg->trainer.params.score.enabled && (type == LPZ_SCORE_FID || is)) {
        int rc = lpz_scorer_check_samples(dataset, &info->sample_shape, info->kind,
                                          cfg->trainer.params.score.feature_model, err);
        if (!rc && is && !lpz_classifier_accepts(&info->sample_shape)) /* no classes without the classifier */
            rc = inception_unavailable(dataset, err);
        if (rc && score_failure_fatal(is, rc)) {
            score_failure_tell(is, rc, err);
            return rc;
        }
        lpz_error_clear(err);
    }
    return final ? check_final_scoring(cfg, dataset, info, 0, err) : LPZ_OK;
}

/* A resume whose --set changes the data (dataloader.dataset_name or one of
 * its options, e.g. another image folder) goes on, as asked, but not
 * silently: one warning naming each change. `old` is the run's config.yml
 * as it was. */
static void warn_other_data(const lpz_config *cfg, const char *old, size_t len)
{
    lpz_config was;
    lpz_error e;
    lpz_error_clear(&e);
    if (lpz_config_load_resolved(old, len, "config.yml", &was, &e)) {
        lpz_config_destroy(&was);
        return;
    }
    char changes[1024] = "";
    size_t n = 0;
    if (strcmp(was.dataloader.dataset_name, cfg->dataloader.dataset_name))
        n += (size_t)snprintf(changes + n, sizeof changes - n, "dataloader.dataset_name %s -> %s",
                              was.dataloader.dataset_name, cfg->dataloader.dataset_name);
    const lpz_config_options *a = &was.dataloader.options, *b = &cfg->dataloader.options;
    for (int i = 0; i < b->count && n < sizeof changes; i++) {
        const char *before = NULL; /* not set: the plugin's default, which may be what is given now */
        for (int j = 0; j < a->count; j++)
            if (!strcmp(a->items[j].key, b->items[i].key))
                before = a->items[j].value;
        if (!before)
            continue;
        char ra[PATH_MAX], rb[PATH_MAX]; /* one file or folder, written two ways, is no change */
        int same_file = realpath(before, ra) && realpath(b->items[i].value, rb) && !strcmp(ra, rb);
        if (strcmp(before, b->items[i].value) && !same_file)
            n += (size_t)snprintf(changes + n, sizeof changes - n, "%sdataloader.%s %s -> %s", n ? ", " : "",
                                  b->items[i].key, before, b->items[i].value);
    }
    if (n)
        lpz_log(LPZ_LOG_WARN, "resuming with other data settings than the run's so far: %s (the run goes on with "
                "them: expected if the data only moved)", changes);
    lpz_config_destroy(&was);
}

/* see run.h */
int lpz_run_trained_sample_shape(const char *run_dir, int n_cells, lpz_shape *shape, char *from, size_t from_size)
{
    for (int c = 0; c < n_cells; c++) {
        char path[PATH_MAX + 64];
        snprintf(path, sizeof path, "%s/master/%d/generator-%d.safetensors", run_dir, c, c);
        lpz_model_info info;
        lpz_error e;
        if (!lpz_is_file(path) || lpz_model_file_info(path, &info, &e))
            continue;
        int ok = info.has_network && info.sample_shape.ndim > 0;
        if (ok)
            *shape = info.sample_shape;
        lpz_model_info_free(&info);
        if (ok) {
            snprintf(from, from_size, "%s", path);
            return 1;
        }
    }
    return 0;
}

/* A resume on data whose samples have another shape than the run trained
 * on cannot load a single network (the generator's output and the
 * discriminator's input are the sample): refused before anything else
 * is said about the data, naming both shapes. */
static int check_resume_shape(const char *run_dir, int n_cells, const lpz_config *cfg, const lpz_shape *now,
                              lpz_error *err)
{
    lpz_shape was;
    char from[PATH_MAX + 64];
    if (!lpz_run_trained_sample_shape(run_dir, n_cells, &was, from, sizeof from))
        return LPZ_OK;
    int same = was.ndim == now->ndim;
    for (int i = 0; same && i < now->ndim; i++)
        same = was.dim[i] == now->dim[i];
    if (same)
        return LPZ_OK;
    char a[128], b[128];
    lpz_shape_format_x(&was, a, sizeof a);
    lpz_shape_format_x(now, b, sizeof b);
    lpz_error_set(err, LPZ_EINVAL, "cannot resume %s: its networks were trained on samples of shape %s (%s), the "
                  "configured data (dataloader %s) has samples of shape %s", run_dir, a, from,
                  cfg->dataloader.dataset_name, b);
    lpz_error_hint(err, "resume with the data the run trained on (without --set dataloader.*: the run's config.yml "
                        "names it), or train a new run on this data");
    return LPZ_EINVAL;
}

/* The folders a dataloader is given (lpz_dataset_context): general.output_dir made absolute when it exists,
 * its cache folder (not made here) and the run file's folder, against which relative data paths resolve. */
static void data_folders(const lpz_config *cfg, const char *output_dir, char out_abs[PATH_MAX], char *cache,
                         size_t cache_size, char cfg_dir[PATH_MAX])
{
    if (!realpath(output_dir, out_abs))
        snprintf(out_abs, PATH_MAX, "%s", output_dir);
    snprintf(cache, cache_size, "%s/cache", out_abs);
    snprintf(cfg_dir, PATH_MAX, "%s", cfg->source_dir[0] ? cfg->source_dir : ".");
}

typedef struct data_check {
    const lpz_run_data *rd;
    lpz_network *net;
} data_check;

/* lpz_dataset_check of lpz_run_open_data: what needs only the samples'
 * shape, in the order a user fixes it (the run's own shape, the network,
 * the scores). */
static int check_data(void *user, const lpz_dataset_info *info, lpz_error *err)
{
    data_check *c = user;
    const lpz_run_data *rd = c->rd;
    int n_cells = rd->params->grid_k * rd->params->grid_k;
    int rc = LPZ_OK;
    if (rd->resume_dir)
        rc = check_resume_shape(rd->resume_dir, n_cells, rd->cfg, &info->sample_shape, err);
    if (!rc)
        rc = lpz_network_create(rd->network, rd->network_options, &info->sample_shape, rd->params->wgan, &c->net,
                                err);
    if (!rc)
        rc = check_scores(rd->cfg, rd->dataloader->name, info, rd->final_scoring, err);
    return rc;
}

int lpz_run_open_data(const lpz_run_data *rd, lpz_dataset **ds, lpz_network **net, lpz_error *err)
{
    data_check c = {rd, NULL};
    *net = NULL;
    int rc = lpz_dataset_open_checked(rd->dataloader, rd->ctx, check_data, &c, ds, err);
    if (rc) {
        lpz_network_destroy(c.net); /* a check that failed after the network, or an open after the checks */
        return rc;
    }
    *net = c.net;
    return LPZ_OK;
}

int lpz_run_check_config_data(const lpz_config *cfg, const lpz_registry *reg, char *said, size_t said_size,
                              int *unchecked, lpz_error *err)
{
    said[0] = '\0';
    *unchecked = 0;
    lpz_train_params p;
    int rc = lpz_train_params_from_config(cfg, &p, err);
    if (rc)
        return rc;
    const lpz_plugin *dl_plugin = NULL, *net_plugin = NULL;
    lpz_options *dl_opts = NULL, *net_opts = NULL;
    if ((rc = lpz_run_plugin(reg, cfg, LPZ_PLUGIN_DATALOADER, &dl_plugin, &dl_opts, err)) ||
        (rc = lpz_run_plugin(reg, cfg, LPZ_PLUGIN_NETWORK, &net_plugin, &net_opts, err)))
        goto done;
    /* the folders lpz train would give the plugin; describe makes none (lpz/dataloader.h) */
    char out_abs[PATH_MAX], cache[PATH_MAX + 16], cfg_dir[PATH_MAX];
    data_folders(cfg, p.output_dir, out_abs, cache, sizeof cache, cfg_dir);
    lpz_dataset_context ctx = {sizeof ctx, dl_opts, out_abs, cache, cfg_dir, NULL, LPZ_SPLIT_TRAIN};
    lpz_dataset_info info;
    lpz_error derr;
    lpz_error_clear(&derr);
    rc = lpz_dataset_describe(dl_plugin, &ctx, &info, &derr);
    if (rc == LPZ_ENOTFOUND || rc == LPZ_EIO) { /* not on this machine (a master's, a login node's): said, not fatal */
        char buf[2048];
        snprintf(said, said_size, "the data were not checked: %s", lpz_error_format(&derr, buf, sizeof buf));
        *unchecked = 1;
        rc = LPZ_OK;
        goto done;
    }
    if (rc) {
        *err = derr;
        lpz_options_hint_included(dl_opts, cfg_dir, err);
        goto done;
    }
    if (info.sample_shape.ndim == 0) {
        snprintf(said, said_size, "the data were not checked: dataloader %s did not tell its sample shape without "
                 "reading the data; lpz train checks the network against it", dl_plugin->name);
        *unchecked = 2;
        goto done;
    }
    lpz_run_data rd = {cfg, &p, dl_plugin, &ctx, net_plugin, net_opts, NULL, 1};
    data_check c = {&rd, NULL};
    rc = check_data(&c, &info, err);
    lpz_network_destroy(c.net);
    if (!rc) {
        char shape[96];
        lpz_shape_format_x(&info.sample_shape, shape, sizeof shape);
        snprintf(said, said_size, "the data: samples of shape %s (dataloader %s, without reading them), which "
                 "network %s takes", shape, dl_plugin->name, net_plugin->name);
    }
done:
    lpz_options_destroy(dl_opts);
    lpz_options_destroy(net_opts);
    return rc;
}

/* Whether dataloader plugin `name` maps samples to original units (only
 * those runs write units.json next to their mixtures); -1 when unknown. */
static int dataloader_has_units(const lpz_registry *reg, const char *name)
{
    const lpz_plugin *pl;
    lpz_error e;
    if (lpz_registry_find(reg, LPZ_PLUGIN_DATALOADER, name, &pl, &e) || !pl->ops)
        return -1;
    const lpz_dataloader_ops *o = pl->ops;
    return o->size > offsetof(lpz_dataloader_ops, to_original_units) && o->to_original_units;
}

/* The dataset_name of a run's config.yml as it was (`old`); "" when it
 * cannot be read. */
static void old_dataloader(const char *old, size_t len, char *name, size_t size)
{
    lpz_config was;
    lpz_error e;
    name[0] = '\0';
    lpz_error_clear(&e);
    if (!lpz_config_load_resolved(old, len, "config.yml", &was, &e))
        snprintf(name, size, "%s", was.dataloader.dataset_name);
    lpz_config_destroy(&was);
}

int lpz_run_local(const lpz_run_request *req, lpz_run_outcome *out, lpz_error *err)
{
    const lpz_config *cfg = req->config;
    memset(out, 0, sizeof *out);
    lpz_train_params p;
    lpz_run_apply_precision(cfg);
    int rc = lpz_train_params_from_config(cfg, &p, err);
    if (rc)
        return rc;
    /* The configuration was validated (lpz_config_validate): grid,
     * tournament against the neighbourhood population and the rest. */

    const lpz_plugin *dl_plugin, *net_plugin;
    lpz_options *dl_opts = NULL, *net_opts = NULL;
    lpz_dataset *ds = NULL;
    lpz_network *net = NULL;
    lpz_scorer *scorer = NULL;
    run_hook hook = {.req = req};
    char *units = NULL;      /* runtime/units.h: written next to each mixture */
    int in_training = 0;     /* 0 while setting up: a new run's folder holds only config.yml and its plugins' files */
    int lock = -1;           /* lpz_run_lock */
    char locked[PATH_MAX] = "";
    char *old_config = NULL; /* a resumed run's config.yml before this run rewrote it */
    size_t old_config_len = 0;
    /* Folders this run makes: removed again when left empty (parent_top,
     * cache_top: the outermost of each that did not exist, "" for none). */
    char parent[PATH_MAX], parent_top[PATH_MAX] = "", cache[PATH_MAX + 16], cache_top[PATH_MAX + 16] = "";
    if ((rc = lpz_run_plugin(req->registry, cfg, LPZ_PLUGIN_DATALOADER, &dl_plugin, &dl_opts, err)))
        goto done;
    if ((rc = lpz_run_plugin(req->registry, cfg, LPZ_PLUGIN_NETWORK, &net_plugin, &net_opts, err)))
        goto done;
    if (req->resume_dir) {
        if (!realpath(req->resume_dir, out->run_dir)) {
            rc = lpz_error_set(err, LPZ_ENOTFOUND, "cannot resume %s: no such folder", req->resume_dir);
            goto done;
        }
        if ((rc = lpz_run_lock(out->run_dir, &lock, err)))
            goto done;
        snprintf(locked, sizeof locked, "%s", out->run_dir);
        /* Before config.yml is rewritten with the new n_iterations. */
        if ((rc = lpz_run_check_resume(out->run_dir, p.n_iterations, err)))
            goto done;
        char path[PATH_MAX + 32];
        snprintf(path, sizeof path, "%s/config.yml", out->run_dir);
        if (lpz_is_file(path) && (rc = lpz_read_file(path, (size_t)1 << 24, &old_config, &old_config_len, err)))
            goto done;
    } else {
        snprintf(parent, sizeof parent, "%s/%s", p.output_dir, p.trainer_name); /* as lpz_run_make_dir */
        lpz_missing_top(parent, parent_top, sizeof parent_top);
        if ((rc = lpz_run_make_dir(&p, out->run_dir, sizeof out->run_dir, err)) ||
            (rc = lpz_run_lock(out->run_dir, &lock, err)))
            goto done;
        snprintf(locked, sizeof locked, "%s", out->run_dir);
    }
    /* A resume of a run whose training is complete trains nothing: by
     * final_scores.csv (its final scoring began), else by the cells'
     * checkpoints and final mixtures. */
    const char *complete = NULL;
    if (req->resume_dir && lpz_run_trained_for_final(out->run_dir, p.grid_k * p.grid_k, p.n_iterations))
        complete = LPZ_FINAL_SCORES_FILE;
    else if (req->resume_dir && lpz_run_training_complete(out->run_dir, p.grid_k * p.grid_k, p.n_iterations))
        complete = "checkpoints and final mixtures";
    if (complete && !cfg->master.calculate_score) { /* nothing to do: not even config.yml is rewritten */
        rc = complete_run(req, p.n_iterations, complete, 0, out, err);
        goto done;
    }
    if ((rc = write_config(cfg, dl_plugin, net_plugin, out->run_dir, err)))
        goto done;
    if (complete) {
        rc = complete_run(req, p.n_iterations, complete, 1, out, err);
        goto done;
    }

    char out_abs[PATH_MAX], cfg_dir[PATH_MAX];
    data_folders(cfg, p.output_dir, out_abs, cache, sizeof cache, cfg_dir);
    lpz_missing_top(cache, cache_top, sizeof cache_top);
    if ((rc = lpz_mkdirs(cache, err)))
        goto done;
    lpz_dataset_context ctx = {sizeof ctx, dl_opts, out_abs, cache, cfg_dir, out->run_dir, LPZ_SPLIT_TRAIN};
    lpz_run_data rd = {cfg, &p, dl_plugin, &ctx, net_plugin, net_opts, req->resume_dir ? out->run_dir : NULL, 1};
    rc = lpz_run_open_data(&rd, &ds, &net, err);
    if (rc)
        lpz_options_hint_included(dl_opts, cfg_dir, err);
    /* The cache folder is there while the dataloader opens (lpz/dataloader.h);
     * one it left empty goes (the scorer makes it again when it writes). */
    lpz_rmdirs_empty(cache, cache_top);
    if (rc)
        goto done;
    if ((rc = lpz_run_check_batch_size(cfg, p.batch_size, ds, err)))
        goto done;
    if ((rc = lpz_units_record_make(cfg, ds, &units, err)))
        goto done;
    if (req->resume_dir) {
        /* Resumed on data scaled otherwise than before (the file replaced,
         * another capture): training goes on, as asked, but not silently:
         * the mixtures written from now on record the new scaling. */
        char mix0[PATH_MAX + 16], run_cfg[PATH_MAX + 16];
        snprintf(mix0, sizeof mix0, "%s/master/0", out->run_dir);
        snprintf(run_cfg, sizeof run_cfg, "%s/config.yml", out->run_dir);
        lpz_error uerr;
        lpz_error_clear(&uerr);
        /* a run on data without original units (images) never wrote units.json: nothing to compare (a change
         * of the data is said by warn_other_data), and it is no "run of an earlier lpz" */
        char was_dl[LPZ_CONFIG_NAME_MAX] = "", units_path[PATH_MAX + 32];
        if (old_config)
            old_dataloader(old_config, old_config_len, was_dl, sizeof was_dl);
        snprintf(units_path, sizeof units_path, "%s/" LPZ_UNITS_FILE, mix0);
        int had_units = !was_dl[0] || lpz_is_file(units_path) || dataloader_has_units(req->registry, was_dl) != 0;
        if (had_units && lpz_is_dir(mix0) && lpz_units_record_check(mix0, cfg, run_cfg, ds, &uerr) == LPZ_EINVAL) {
            char buf[2048];
            lpz_log(LPZ_LOG_WARN, "resuming on other data: %s; going on with the data as it is now (the "
                    "mixtures written from now on record its scaling)",
                    lpz_error_format(&uerr, buf, sizeof buf));
        }
    }
    /* The configuration, plugins and data are good: the hint is no longer
     * followed by an error about them. */
    lpz_run_hints(cfg);
    if (old_config)
        warn_other_data(cfg, old_config, old_config_len);
    if ((rc = lpz_run_open_scorer(cfg, ds, cache, req->stop, &scorer, err)))
        goto done;
    if ((rc = check_final_scoring(cfg, lpz_dataset_name(ds), lpz_dataset_get_info(ds), 1, err)))
        goto done;

    lpz_log(LPZ_LOG_INFO, "results in %s", out->run_dir);
    lpz_train_setup setup = {.params = &p,
                             .dataset = ds,
                             .network = net,
                             .run_dir = out->run_dir,
                             .progress = req->progress,
                             .stop = req->stop,
                             .resume = req->resume_dir != NULL,
                             .scorer = scorer,
                             .on_iteration = report_hook,
                             .user = &hook,
                             .units_record = units};
    in_training = 1;
    struct stat dir_st;
    hook.cfg = cfg;
    hook.dl = dl_plugin;
    hook.net = net_plugin;
    if (stat(out->run_dir, &dir_st) == 0) {
        hook.dev = dir_st.st_dev;
        hook.ino = dir_st.st_ino;
    }
    rc = lpz_train_local(&setup, &out->result, err);
    check_folder(&hook, out->run_dir);
    if (hook.gone) {
        /* what failed after the folder went (a checkpoint written into it) is its consequence */
        if (rc) {
            char buf[2048];
            lpz_log(LPZ_LOG_WARN, "not written: %s", lpz_error_format(err, buf, sizeof buf));
        }
        /* config.yml again at the end too: a removal still going on when it was seen took the first one */
        lpz_error e2;
        if (lpz_mkdirs(out->run_dir, &e2) || write_config(cfg, dl_plugin, net_plugin, out->run_dir, &e2))
            lpz_log(LPZ_LOG_WARN, "config.yml not written again: %s", e2.message);
        rc = lpz_error_set(err, LPZ_EIO, "the run folder %s was removed during the run: the training was stopped",
                           out->run_dir);
        lpz_error_hint(err, "the rows of metrics.csv and timing.csv and the earlier samples are gone: train a new "
                            "run (a --resume needs metrics.csv); the stop's checkpoints and final mixtures, when it "
                            "could write them, are in the folder again with config.yml");
    }
    if (!rc && cfg->master.calculate_score && !out->result.stopped) {
        lpz_train_result *r = &out->result;
        int *its = calloc((size_t)r->n_cells + 1, sizeof *its);
        double *sc = calloc((size_t)r->n_cells + 1, sizeof *sc);
        if (!its || !sc) { /* the training's results are complete: a warning, as any failure to score */
            lpz_log(LPZ_LOG_WARN, "master.calculate_score: out of memory; no final scores");
            r->final.state = LPZ_FINAL_FAILED;
        } else {
            for (int i = 0; i < r->n_cells; i++)
                its[r->cells[i].cell] = r->cells[i].iterations;
            lpz_final_request fr = {.cfg = cfg, .run_dir = out->run_dir, .n_cells = r->n_cells, .iterations = its,
                                    .stop = req->stop, .scoring = req->scoring, .ds = ds, .cache_dir = cache,
                                    .net_plugin = net_plugin};
            lpz_run_final_scoring(&fr, sc, &r->final);
            lpz_run_use_final_scores(r, sc);
            /* Written at the end of the training, before the final
             * scoring: again, so that the page shows the final scores. */
            write_report(req, out->run_dir, LPZ_REPORT_FINISHED);
        }
        free(its);
        free(sc);
    }
done:
    /* A resume that failed before finishing an iteration (a bad --set
     * value, dataset or checkpoint) leaves the run's config.yml as it was:
     * else every later plain --resume would fail the same way. */
    if (rc && old_config && !hook.iterated) {
        char path[PATH_MAX + 32];
        lpz_error e2;
        snprintf(path, sizeof path, "%s/config.yml", out->run_dir);
        if (lpz_write_file_atomic(path, old_config, old_config_len, &e2))
            lpz_log(LPZ_LOG_WARN, "could not put back %s as it was before this resume: %s", path, e2.message);
    }
    lpz_run_unlock(locked, lock); /* before its file could keep the folder below */
    /* No "partial results" where this run left none: a resume that failed
     * before an iteration left the folder as it was; a new run that failed
     * before training wrote only its config.yml (and what its dataloader
     * wrote while opening, e.g. network_traffic's scaling.json): it is
     * removed, with the folders made for it. */
    if (rc && req->resume_dir && !hook.iterated) {
        out->run_dir[0] = '\0';
    } else if (rc && !req->resume_dir && out->run_dir[0] && lpz_run_remove_unused(out->run_dir, !in_training)) {
        out->run_dir[0] = '\0';
        lpz_rmdirs_empty(parent, parent_top);
    }
    free(old_config);
    free(units);
    lpz_scorer_destroy(scorer);
    lpz_network_destroy(net);
    lpz_dataset_close(ds);
    lpz_options_destroy(net_opts);
    lpz_options_destroy(dl_opts);
    return rc;
}
