/* core/cli/cmd_generate.c - `lpz generate --mixture-source DIR -o OUT
 * [--sample-size N] [-f CONFIG] [--latent FILE.npy] [--seed S]
 * [--format png|npy|both]`: N samples of a trained mixture (core/score),
 * written for people (PNG per image + grid, or CSV in original units) and
 * as .npy. */
#include "cli/commands.h"
#include "config/config.h"
#include "config/options_internal.h"
#include "io/fsutil.h"
#include "io/npy.h"
#include "io/png.h"
#include "model/model.h"
#include "plugin/registry.h"
#include "runtime/run.h"
#include "runtime/units.h"
#include "score/score.h"

#include <lpz/log.h>

#include <limits.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The grid image shows at most this many samples (the first ones). */
#define GRID_MAX 400
/* Image samples held at a time (CelebA: 1365 of 64x64x3). */
#define GEN_BLOCK_BYTES (64 << 20)
/* Samples generated (and their PNGs written) at a time within a block: the
 * progress line moves on after each step, not after each block (a block of
 * 21,399 Fashion-MNIST PNGs took 9 s without a line). One batch of the
 * generators, so no generator computes more than it did. */
#define GEN_STEP 64

static volatile int stop_flag;

/* Async-signal-safe: atomics, write and _exit only. */
/* stop_flag: 0 while generating, 1 once a Ctrl-C or SIGTERM asked to stop
 * (the generation is cancelled and its files removed), 2 once every file
 * is whole (a signal then acts as it would without this handler). */
static void on_interrupt(int sig)
{
    if (__atomic_load_n(&stop_flag, __ATOMIC_SEQ_CST) == 2) {
        signal(sig, SIG_DFL);
        raise(sig);
        return;
    }
    if (!lpz_cli_new_interrupt())
        return; /* the same Ctrl-C delivered again */
    int running = 0;
    if (!__atomic_compare_exchange_n(&stop_flag, &running, 1, 0, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST)) {
        if (running == 2) { /* committed in the meantime */
            signal(sig, SIG_DFL);
            raise(sig);
            return;
        }
        static const char msg[] = "\nlpz: interrupted twice: exiting now (the output folder may hold part of the "
                                  "samples)\n";
        ssize_t ignored = write(2, msg, sizeof msg - 1);
        (void)ignored;
        _exit(130);
    }
    static const char msg[] = "\nlpz: stopping; what was written is removed (Ctrl-C again to exit at once)\n";
    ssize_t ignored = write(2, msg, sizeof msg - 1);
    (void)ignored;
}

/* A Ctrl-C seen between two steps of the writing: the generation is
 * cancelled and its files removed. */
#define STOP_IF_INTERRUPTED(done)                                                                                     \
    do {                                                                                                              \
        if (stop_flag) {                                                                                              \
            if ((done) < n)                                                                                       \
                lpz_error_set(&err, LPZ_ECANCELED, "interrupted after %lld of %lld samples", (long long)(done),       \
                              (long long)n);                                                                          \
            else                                                                                                      \
                lpz_error_set(&err, LPZ_ECANCELED, "interrupted while writing the %lld samples", (long long)n);       \
            goto fail;                                                                                                \
        }                                                                                                             \
    } while (0)

/* Without -f: the configuration of the run the mixture folder is in
 * (DIR/../../config.yml, as a run writes master/<cell>/), else the
 * defaults with --set; *path says which ("" for the defaults). */
static int read_config_without_f(const lpz_cli_args *args, lpz_config *cfg, char *path, size_t size,
                                 lpz_error *err)
{
    if (lpz_cli_mixture_run_config(args->mixture_source, path, size))
        return lpz_cli_read_config(args, path, cfg, err);
    path[0] = '\0';
    int rc = lpz_config_load_buffer("{}\n", 3, "(the defaults)", cfg, err);
    for (int i = 0; !rc && i < args->n_sets; i++)
        rc = lpz_config_set_assignment(cfg, args->sets[i], err);
    return rc ? rc : lpz_config_validate(cfg, err);
}

/* path made absolute without symbolic links, also where it does not exist
 * yet: its longest existing prefix resolved, the rest as given. 0 when even
 * that cannot be resolved (or does not fit). */
static int resolve_path(const char *path, char *out)
{
    char head[PATH_MAX], real[PATH_MAX];
    if (snprintf(head, sizeof head, "%s", path) >= (int)sizeof head)
        return 0;
    for (;;) {
        if (realpath(head[0] ? head : ".", real)) {
            const char *rest = path + strlen(head);
            return snprintf(out, PATH_MAX, "%s%s%s", real, head[0] || *rest == '/' ? "" : "/", rest) < PATH_MAX;
        }
        char *slash = strrchr(head, '/');
        if (!slash)
            head[0] = '\0';
        else if (slash == head)
            head[1] = '\0'; /* "/" resolves */
        else
            *slash = '\0';
    }
}

/* -o must not be a run's own place: the mixture folder (the samples would
 * sit beside its generator files), a run folder, or anything under the
 * run's master/, checkpoints/ or samples/ (the training's files: a run
 * folder's samples/ was taken for an earlier generation's). 0, or 1 after
 * printing why. */
static int check_output_place(const lpz_cli_args *args)
{
    char out[PATH_MAX], mix[PATH_MAX], up[PATH_MAX];
    if (!resolve_path(args->output, out))
        return 0; /* the mkdirs below says what is wrong with it */
    if (realpath(args->mixture_source, mix) && !strcmp(mix, out)) {
        fprintf(stderr, "lpz: error: %s: -o is the mixture folder (--mixture-source): the samples would go beside "
                        "its generator files (choose a new folder)\n", args->output);
        return 1;
    }
    /* the nearest run folder at or above -o */
    snprintf(up, sizeof up, "%s", out);
    for (char *slash; !lpz_cli_is_run_folder(up); *slash = '\0')
        if (!(slash = strrchr(up, '/')) || slash == up)
            return 0;
    if (!strcmp(up, out)) {
        int n = (int)strlen(args->output);
        while (n > 1 && args->output[n - 1] == '/')
            n--;
        fprintf(stderr, "lpz: error: %s: -o is a run folder (it has the run's config.yml and metrics.csv): its "
                        "samples/ holds the training's images (choose a new folder, e.g. %.*s/generated)\n",
                args->output, n, args->output);
        return 1;
    }
    const char *below = out + strlen(up) + 1; /* the run's folder -o is in */
    size_t len = strcspn(below, "/");
    static const char *own[] = {"master", "checkpoints", "samples"};
    for (size_t i = 0; i < sizeof own / sizeof own[0]; i++)
        if (len == strlen(own[i]) && !strncmp(below, own[i], len)) {
            fprintf(stderr, "lpz: error: %s: -o is inside %s/%s/, where the run keeps what its training wrote "
                            "(choose a new folder, e.g. %s/generated)\n", args->output, up, own[i], up);
            return 1;
        }
    return 0;
}

/* What the mixture's first generator file records (network, sample
 * shape), for a generation without the data. */
static int mixture_recorded(const char *dir, lpz_model_info *info, char *file, size_t file_size, lpz_error *err)
{
    lpz_mixture_file mf;
    memset(&mf, 0, sizeof mf);
    int rc = lpz_mixture_read(dir, &mf, err);
    if (!rc)
        snprintf(file, file_size, "%s", mf.paths[0]);
    if (!rc && (rc = lpz_model_file_info(mf.paths[0], info, err)))
        lpz_error_where(err, "%s", mf.paths[0]);
    if (!rc && !info->has_network) {
        rc = lpz_error_set(err, LPZ_EINVAL, "the generator file records no network");
        lpz_error_where(err, "%s", mf.paths[0]);
        lpz_error_hint(err, "%s", LPZ_MODEL_METADATA_HINT);
    }
    lpz_mixture_file_free(&mf);
    return rc;
}

int lpz_cmd_generate(const lpz_cli_args *args)
{
    if (!args->mixture_source || !args->output) {
        fprintf(stderr, "lpz: error: 'lpz generate' needs --mixture-source DIR and -o OUT "
                        "(see 'lpz generate --help')\n");
        return 2;
    }
    int64_t n_req = 0;
    uint64_t seed = 0;
    if ((args->sample_size && lpz_cli_parse_count(args->sample_size, "--sample-size", &n_req)) ||
        (args->seed && lpz_cli_parse_seed(args->seed, &seed)))
        return 2;
    const char *format = args->format ? args->format : "both";
    int want_png = strcmp(format, "png") == 0 || strcmp(format, "both") == 0;
    int want_npy = strcmp(format, "npy") == 0 || strcmp(format, "both") == 0;
    if (!want_png && !want_npy) {
        fprintf(stderr, "lpz: error: --format %s: expected png, npy or both\n", format);
        return 2;
    }

    if (check_output_place(args))
        return 1;
    /* Another generation's files would mix with this one's (100 old PNGs
     * beside 4 new ones and a 4-sample samples.npy): refused, nothing written. */
    static const char *outputs[] = {"samples", "samples.npy", "samples.csv", "samples-raw.npy", "grid.png"};
    for (size_t i = 0; i < sizeof outputs / sizeof outputs[0]; i++) {
        char path[PATH_MAX + 32];
        snprintf(path, sizeof path, "%s/%s", args->output, outputs[i]);
        if (lpz_is_file(path) || lpz_is_dir(path)) {
            fprintf(stderr, "lpz: error: %s: -o %s already holds the output of an earlier 'lpz generate' (%s) "
                            "(choose a new folder, or delete it)\n", args->output, args->output, outputs[i]);
            return 1;
        }
    }

    lpz_error err;
    lpz_error_clear(&err);
    lpz_config cfg;
    lpz_registry reg;
    memset(&reg, 0, sizeof reg);
    const lpz_plugin *dl_plugin, *net_plugin;
    lpz_options *dl_opts = NULL, *net_opts = NULL;
    lpz_dataset *ds = NULL;
    lpz_mixture mix;
    memset(&mix, 0, sizeof mix);
    lpz_npy_array lat;
    memset(&lat, 0, sizeof lat);
    float *samples = NULL, *grid = NULL;
    lpz_mixture_sampler *sampler = NULL;
    lpz_npy_writer *npy = NULL;
    int64_t pngs = 0; /* sample PNGs written */
    int made_output = 0, handlers = 0;
    struct sigaction old_int, old_term;
    lpz_cli_progress pr;
    int rc = 1;
    char cache[PATH_MAX], path[PATH_MAX + 64], out_top[PATH_MAX], run_cfg[PATH_MAX + 32];
    out_top[0] = '\0';
    lpz_model_info rec;
    memset(&rec, 0, sizeof rec);
    lpz_dataset_info recorded; /* the data's shape as the generators record it, when the data is not read */
    memset(&recorded, 0, sizeof recorded);
    const char *config_file = args->config_file;
    if (config_file ? lpz_cli_read_config(args, config_file, &cfg, &err)
                    : read_config_without_f(args, &cfg, run_cfg, sizeof run_cfg, &err))
        goto fail;
    int no_data = 0; /* without -f, images: the generator files give the shape, the data is not opened */
    char first_gen[PATH_MAX] = "";
    int net_from_file = 0; /* network.name is first_gen's metadata, not the user's */
    if (!config_file) {
        if (mixture_recorded(args->mixture_source, &rec, first_gen, sizeof first_gen, &err))
            goto fail;
        const lpz_shape *s = &rec.sample_shape;
        no_data = s->ndim == 3 && (s->dim[0] == 1 || s->dim[0] == 3);
        if (!no_data && !run_cfg[0]) {
            lpz_error_set(&err, LPZ_EINVAL, "the generators make %s samples of %lld values, which lpz generate "
                          "writes in the data's units: it needs the data and its configuration",
                          s->ndim == 2 ? "sequence" : "vector", (long long)lpz_shape_numel(s));
            lpz_error_where(&err, "%s", args->mixture_source);
            lpz_error_hint(&err, "give the run's configuration with -f RUN/config.yml: this folder is not a run "
                                 "folder's master/<cell>");
            goto fail;
        }
        if (run_cfg[0]) {
            config_file = run_cfg;
            lpz_log(LPZ_LOG_INFO, "configuration: %s (the mixture's run)%s", run_cfg,
                    no_data ? "; images: the data is not read, the generator files give their shape" : "");
        } else {
            /* the defaults, with the generators' own network (its options come from the files) */
            if (lpz_config_set(&cfg, "network.name", rec.network, &err))
                goto fail;
            net_from_file = 1;
            lpz_log(LPZ_LOG_INFO, "%s is not a run folder's master/<cell>: the defaults (seed %lld, "
                    "mixture_generator_samples_mode %s), network %s from the generator files; the data is not read",
                    args->mixture_source, (long long)cfg.general.seed,
                    lpz_config_enum_text("trainer.mixture_generator_samples_mode",
                                         cfg.trainer.mixture_generator_samples_mode), rec.network);
        }
        recorded.sample_shape = rec.sample_shape;
        recorded.kind = LPZ_SAMPLE_IMAGE;
        recorded.count = 1;
    }
    if (lpz_run_apply_precision(&cfg) ||
        lpz_registry_open(&reg, args->plugin_dirs, args->n_plugin_dirs, &err))
        goto fail;
    if (lpz_run_plugin(&reg, &cfg, LPZ_PLUGIN_NETWORK, &net_plugin, &net_opts, &err)) {
        if (net_from_file) /* the name is the file's, not a --set the user gave */
            lpz_error_where(&err, "%s: metadata 'network'", first_gen);
        goto fail;
    }
    /* with the data: the mixture opened for its samples, before they are read when the dataloader can tell them */
    lpz_mixture_request mixture = {args->mixture_source, NULL, net_plugin, &cfg.network.options, &mix};
    if (!no_data && lpz_run_plugin(&reg, &cfg, LPZ_PLUGIN_DATALOADER, &dl_plugin, &dl_opts, &err))
        goto fail;
    if (!no_data && lpz_score_open_dataset(dl_plugin, dl_opts, cfg.general.output_dir, cfg.source_dir,
                                           LPZ_SPLIT_TRAIN, lpz_mixture_open_check, &mixture, &ds, cache,
                                           sizeof cache, &err)) {
        lpz_options_hint_included(dl_opts, cfg.source_dir, &err);
        goto fail;
    }
    if (!args->seed)
        seed = (uint64_t)cfg.general.seed;
    const lpz_dataset_info *info = ds ? lpz_dataset_get_info(ds) : &recorded;
    int64_t numel = lpz_shape_numel(&info->sample_shape);
    if ((!ds && lpz_mixture_open_check(&mixture, info, &err)) ||
        (ds && lpz_units_record_check(args->mixture_source, &cfg, config_file, ds, &err)))
        goto fail;
    lpz_shape zs = lpz_model_input_shape(mix.gens[0]);
    int64_t zn = lpz_shape_numel(&zs);
    int64_t n = n_req ? n_req : 100;

    /* --latent: rows in order; shape (N, latent numel) or (N, latent dims). */
    if (args->latent) {
        if (lpz_npy_read(args->latent, &lat, &err))
            goto fail;
        int ok = lat.ndim >= 2 && lat.shape[0] > 0 && lat.count / lat.shape[0] == zn;
        if (ok && lat.ndim != 2) {
            ok = lat.ndim == 1 + zs.ndim;
            for (int i = 1; ok && i < lat.ndim; i++)
                ok = lat.shape[i] == zs.dim[i - 1];
        }
        if (!ok) {
            char shape[128];
            size_t o = (size_t)snprintf(shape, sizeof shape, "(");
            for (int i = 0; i < lat.ndim && o < sizeof shape; i++)
                o += (size_t)snprintf(shape + o, sizeof shape - o, "%s%lld", i ? ", " : "", (long long)lat.shape[i]);
            if (o < sizeof shape)
                snprintf(shape + o, sizeof shape - o, ")");
            lpz_error_set(&err, LPZ_EINVAL,
                          "latent array has shape %s; the generators take %lld latent values per sample, so "
                          "expected (N, %lld)",
                          shape, (long long)zn, (long long)zn);
            lpz_error_where(&err, "%s", args->latent);
            goto fail;
        }
        for (int64_t i = 0; i < lat.count; i++)
            if (!isfinite(lat.data[i])) {
                lpz_error_set(&err, LPZ_EINVAL, "latent row %lld, element %lld is %g, not a finite number",
                              (long long)(i / zn), (long long)(i % zn), (double)lat.data[i]);
                lpz_error_where(&err, "%s", args->latent);
                goto fail;
            }
        if (!n_req)
            n = lat.shape[0];
        else if (lat.shape[0] != n_req) {
            lpz_error_set(&err, LPZ_EINVAL, "latent array has %lld rows but --sample-size is %lld",
                          (long long)lat.shape[0], (long long)n_req);
            lpz_error_where(&err, "%s", args->latent);
            lpz_error_hint(&err, "drop --sample-size to generate one sample per row");
            goto fail;
        }
    }

    lpz_rng rng;
    lpz_rng_seed(&rng, seed, 0x67656e /* "gen" */);
    if (lpz_mixture_sampler_open(mix.gens, mix.weights, mix.n, n,
                                 (lpz_mix_mode)cfg.trainer.mixture_generator_samples_mode, &rng,
                                 args->latent ? lat.data : NULL, &sampler, &err))
        goto fail;
    /* Images are written a block at a time (PNGs, samples.npy streamed):
     * 50,000 CelebA samples would be 2.4 GB held at once. Vectors and
     * sequences are small and the dataloader renders them whole. */
    int image = info->kind == LPZ_SAMPLE_IMAGE;
    if (!image && args->format && strcmp(args->format, "both")) /* taken silently before */
        lpz_log(LPZ_LOG_WARN, "--format %s is for image data; %s samples are written as the dataloader renders "
                "them and samples.npy%s", args->format, lpz_dataset_name(ds),
                want_npy ? ", plus samples-raw.npy" : " (--format png leaves out samples-raw.npy)");
    int64_t block = n;
    if (image) {
        block = (GEN_BLOCK_BYTES / 4) / (numel > 0 ? numel : 1);
        block = block < 1 ? 1 : block > n ? n : block;
    }
    samples = malloc((size_t)(block * numel) * sizeof *samples);
    if (image && want_png)
        grid = malloc((size_t)((n < GRID_MAX ? n : GRID_MAX) * numel) * sizeof *grid);
    if (!samples || (image && want_png && !grid)) {
        lpz_error_set(&err, LPZ_ENOMEM, "out of memory for %lld samples of %lld values", (long long)block,
                      (long long)numel);
        goto fail;
    }
    lpz_missing_top(args->output, out_top, sizeof out_top);
    if (lpz_mkdirs(args->output, &err))
        goto fail;
    made_output = 1;
    int64_t shape[LPZ_MAX_DIMS + 1] = {n};
    for (int i = 0; i < info->sample_shape.ndim; i++)
        shape[i + 1] = info->sample_shape.dim[i];
    int C = image ? (int)info->sample_shape.dim[0] : 0, H = image ? (int)info->sample_shape.dim[1] : 0,
        W = image ? (int)info->sample_shape.dim[2] : 0;
    if (image && want_png) {
        snprintf(path, sizeof path, "%s/samples", args->output);
        if (lpz_mkdirs(path, &err))
            goto fail;
    }
    if (image && want_npy) {
        snprintf(path, sizeof path, "%s/samples.npy", args->output);
        if (lpz_npy_writer_open(path, info->sample_shape.ndim, shape + 1, &npy, &err))
            goto fail;
    }

    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    stop_flag = 0;
    sa.sa_handler = on_interrupt;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, &old_int);
    sigaction(SIGTERM, &sa, &old_term);
    handlers = 1;
    lpz_cli_progress_start(&pr, "generating", "samples", n, !args->quiet);
    for (int64_t done_rows = 0; done_rows < n;) {
        float *blk = image ? samples : samples + done_rows * numel;
        int64_t k = 0; /* rows of this block so far: blk[0 .. k) */
        while (k < block && done_rows + k < n) {
            STOP_IF_INTERRUPTED(done_rows + k);
            int64_t got, row = done_rows + k;
            float *dst = blk + k * numel;
            if (lpz_mixture_sampler_next(sampler, block - k < GEN_STEP ? block - k : GEN_STEP, dst, &got, &err))
                goto fail;
            /* finite weights and latents can still overflow (a network without a squashing output) */
            for (int64_t i = 0; i < got * numel; i++)
                if (!isfinite(dst[i])) {
                    lpz_error_set(&err, LPZ_EINVAL, "sample %lld, element %lld came out %g: the generators "
                                  "overflowed", (long long)(row + i / numel), (long long)(i % numel), (double)dst[i]);
                    lpz_error_hint(&err, "nothing was written: the generators' outputs exceed float32 for these "
                                         "latents");
                    goto fail;
                }
            for (int64_t i = 0; image && want_png && i < got; i++) {
                STOP_IF_INTERRUPTED(row + i); /* a PNG takes a fraction of a millisecond, a CelebA one more */
                snprintf(path, sizeof path, "%s/samples/sample-%05lld.png", args->output, (long long)(row + i));
                if (lpz_png_write_image_nosync(path, dst + i * numel, C, H, W, &err))
                    goto fail;
                pngs = row + i + 1;
            }
            for (int64_t i = row; grid && i < row + got && i < GRID_MAX; i++)
                memcpy(grid + i * numel, dst + (i - row) * numel, (size_t)numel * sizeof *grid);
            if (!got) { /* (the sampler was opened for n rows: not reached) */
                lpz_error_set(&err, LPZ_EINVAL, "the mixture sampler ended after %lld of %lld samples",
                              (long long)row, (long long)n);
                goto fail;
            }
            k += got;
            lpz_cli_progress_update(&pr, done_rows + k);
        }
        if (npy && lpz_npy_writer_append(npy, samples, k, &err))
            goto fail;
        done_rows += k;
    }
    lpz_cli_progress_end(&pr);

    /* Every step below is short next to a block, but a Ctrl-C during one
     * must still cancel the whole generation: checked between them, and
     * last with the signals held (below). */
    int written = 0;
    if (image) {
        if (want_png) {
            STOP_IF_INTERRUPTED(n);
            snprintf(path, sizeof path, "%s/samples", args->output);
            if (lpz_sync_folder(path, &err))
                goto fail;
            STOP_IF_INTERRUPTED(n);
            /* the dataloader's rendering, or without the data the PNG grid it renders by default */
            snprintf(path, sizeof path, "%s/grid%s", args->output, ds ? "" : ".png");
            int64_t shown = n < GRID_MAX ? n : GRID_MAX;
            if (ds ? lpz_dataset_render(ds, grid, shown, path, &err)
                   : lpz_png_write_grid(path, grid, shown, C, H, W, 0, &err))
                goto fail;
            written = 1;
        }
        if (npy) {
            STOP_IF_INTERRUPTED(n);
            lpz_npy_writer *w = npy;
            npy = NULL;
            if (lpz_npy_writer_close(w, &err))
                goto fail;
        }
    } else {
        /* Sequences and vectors: CSV and .npy in the data's original
         * units; with npy/both also the raw [-1, 1] values. */
        STOP_IF_INTERRUPTED(n);
        snprintf(path, sizeof path, "%s/samples", args->output);
        if (lpz_dataset_render(ds, samples, n, path, &err))
            goto fail;
        if (want_npy) {
            STOP_IF_INTERRUPTED(n);
            snprintf(path, sizeof path, "%s/samples-raw.npy", args->output);
            if (lpz_npy_write_f32(path, samples, 1 + info->sample_shape.ndim, shape, &err))
                goto fail;
        }
        STOP_IF_INTERRUPTED(n);
        snprintf(path, sizeof path, "%s/samples.npy", args->output);
        if (lpz_dataset_to_original_units(ds, samples, n, &err) ||
            lpz_npy_write_f32(path, samples, 1 + info->sample_shape.ndim, shape, &err))
            goto fail;
        written = 1;
    }
    /* The commit, in one step that a handler on any thread sees: from here
     * a signal acts as it would have without lpz generate's handler (the
     * files are whole); before, it cancels. */
    int running = 0;
    if (!__atomic_compare_exchange_n(&stop_flag, &running, 2, 0, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST))
        STOP_IF_INTERRUPTED(n);
    sigaction(SIGINT, &old_int, NULL);
    sigaction(SIGTERM, &old_term, NULL);
    handlers = 0;
    printf("wrote %lld sample%s of a mixture of %d generator%s to %s (%s%s)\n", (long long)n, n == 1 ? "" : "s",
           mix.n, mix.n == 1 ? "" : "s", args->output,
           info->kind == LPZ_SAMPLE_IMAGE ? (written ? "samples/*.png, grid.png" : "") : "samples.csv, samples.npy",
           info->kind == LPZ_SAMPLE_IMAGE ? (want_npy ? (written ? ", samples.npy" : "samples.npy") : "")
                                          : (want_npy ? ", samples-raw.npy" : ""));
    rc = 0;
    goto done;
fail:
    if (handlers)
        lpz_cli_progress_end(&pr);
    if (err.code == LPZ_ECANCELED && stop_flag == 1) {
        fprintf(stderr, "lpz: %s; nothing was written\n", err.message);
        rc = 130;
    } else
        lpz_cli_print_error(&err);
    /* Nothing of a failed or interrupted generation stays behind: the
     * outputs did not exist before (checked above). */
    lpz_npy_writer_abort(npy);
    npy = NULL;
    if (made_output) {
        for (int64_t i = 0; i < pngs; i++) {
            snprintf(path, sizeof path, "%s/samples/sample-%05lld.png", args->output, (long long)i);
            remove(path);
        }
        static const char *files[] = {"grid.png", "samples.csv", "samples.npy", "samples-raw.npy"};
        for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
            snprintf(path, sizeof path, "%s/%s", args->output, files[i]);
            remove(path);
        }
        snprintf(path, sizeof path, "%s/samples", args->output);
        lpz_rmdirs_empty(path, path);
        lpz_rmdirs_empty(args->output, out_top);
    }
done:
    if (handlers) {
        sigaction(SIGINT, &old_int, NULL);
        sigaction(SIGTERM, &old_term, NULL);
    }
    free(samples), free(grid);
    lpz_mixture_sampler_close(sampler);
    lpz_npy_free(&lat);
    lpz_mixture_close(&mix);
    lpz_model_info_free(&rec);
    lpz_dataset_close(ds);
    lpz_options_destroy(net_opts);
    lpz_options_destroy(dl_opts);
    if (reg.dirs || reg.entries)
        lpz_registry_close(&reg);
    lpz_config_destroy(&cfg);
    return rc;
}
