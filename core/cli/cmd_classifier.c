/* core/cli/cmd_classifier.c - `lpz classifier -f CONFIG [-o FILE]`: trains
 * the MNIST-format feature classifier of FID / IS / TVD on the configured
 * dataset (core/score), reports its test accuracy and saves it. */
#include "cli/commands.h"
#include "base/file.h"
#include "config/config.h"
#include "config/options_internal.h"
#include "io/fsutil.h"
#include "plugin/registry.h"
#include "runtime/run.h"
#include "score/score.h"

#include <lpz/log.h>

#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static void on_progress(void *user, int epoch, int64_t batch, int64_t batches, double loss, double acc)
{
    int epochs = *(const int *)user;
    if (isatty(2) && batch < batches)
        fprintf(stderr, "\repoch %d/%d  batch %lld/%lld  loss %.4f  accuracy %.2f%%   ", epoch, epochs,
                (long long)batch, (long long)batches, loss, 100 * acc);
    else if (batch == batches) {
        if (isatty(2))
            fprintf(stderr, "\r%*s\r", 70, "");
        lpz_log(LPZ_LOG_INFO, "epoch %d/%d: training loss %.4f, training accuracy %.2f%%", epoch, epochs, loss,
                100 * acc);
    }
}

/* What -o names may be replaced only if it is absent or a safetensors
 * file (an earlier classifier): the model is written to a temporary file
 * renamed over the path, which would turn a device or FIFO into a regular
 * file (as root, -o /dev/null would replace /dev/null) and put a model in
 * place of a user's text or run file (-o run.yml). Checked before minutes
 * of training. A safetensors file starts with the little-endian length of
 * its JSON header, which starts with '{'. */
static int check_replaceable(const char *path, lpz_error *err)
{
    struct stat st;
    const char *kind;
    int fd = lpz_open_regular(path, &st, &kind);
    if (fd == -2) {
        lpz_error_set(err, LPZ_EINVAL, "-o '%s' is %s: lpz writes the classifier to a new regular file", path, kind);
        return LPZ_EINVAL;
    }
    if (fd < 0)
        return LPZ_OK; /* absent (or unreadable: the write probe says why) */
    unsigned char head[9];
    ssize_t n = read(fd, head, sizeof head);
    close(fd);
    uint64_t len = 0;
    for (int i = 7; n == (ssize_t)sizeof head && i >= 0; i--)
        len = len << 8 | head[i];
    if (n == (ssize_t)sizeof head && head[8] == '{' && len >= 2 && len <= (uint64_t)st.st_size - 8)
        return LPZ_OK;
    lpz_error_set(err, LPZ_EINVAL, "-o '%s' exists and is not a safetensors model file: not replaced", path);
    lpz_error_hint(err, "remove it first, or give -o a new path (an earlier classifier's .safetensors file is "
                        "replaced)");
    return LPZ_EINVAL;
}

/* The classifier learns MNIST-format images: other data (of dataloader
 * `user`) refused before it is read when the dataloader can tell its
 * samples first (a celeba folder is not decoded to be refused). */
static int check_mnist_format(void *user, const lpz_dataset_info *info, lpz_error *err)
{
    if (lpz_classifier_accepts(&info->sample_shape))
        return LPZ_OK;
    return lpz_error_set(err, LPZ_EUNSUPPORTED, "the training data of %s are not 1x28x28 images; the classifier "
                         "needs MNIST-format data", (const char *)user);
}

int lpz_cmd_classifier(const lpz_cli_args *args)
{
    if (!args->config_file) {
        fprintf(stderr, "lpz: error: 'lpz classifier' needs a run file: -f CONFIG (see 'lpz classifier --help')\n");
        return 2;
    }
    lpz_error err;
    lpz_error_clear(&err);
    lpz_config cfg;
    lpz_registry reg;
    memset(&reg, 0, sizeof reg);
    const lpz_plugin *plugin;
    lpz_options *opts = NULL;
    lpz_dataset *train = NULL, *test = NULL;
    lpz_model *model = NULL;
    int rc = 1;
    char cache[PATH_MAX], path[PATH_MAX + 64];
    if (lpz_cli_read_config(args, args->config_file, &cfg, &err) ||
        lpz_registry_open(&reg, args->plugin_dirs, args->n_plugin_dirs, &err) ||
        lpz_run_plugin(&reg, &cfg, LPZ_PLUGIN_DATALOADER, &plugin, &opts, &err) ||
        lpz_score_open_dataset(plugin, opts, cfg.general.output_dir, cfg.source_dir, LPZ_SPLIT_TRAIN,
                               check_mnist_format, (void *)plugin->name, &train, cache, sizeof cache, &err))
        goto fail; /* data of another shape: said before the test split is read (for a dataloader without one) */
    if (lpz_score_open_dataset(plugin, opts, cfg.general.output_dir, cfg.source_dir, LPZ_SPLIT_TEST, NULL, NULL,
                               &test, cache, sizeof cache, &err))
        goto fail;
    if (args->output)
        snprintf(path, sizeof path, "%s", args->output);
    else if (lpz_mkdirs(cache, &err)) /* the cache folder is made by who writes into it */
        goto fail;
    else
        snprintf(path, sizeof path, "%s/classifier-%s.safetensors", cache, lpz_dataset_name(train));
    /* where the file goes is checked before minutes of training, not after */
    if (!path[0] || lpz_is_dir(path)) {
        lpz_error_set(&err, LPZ_EINVAL, "-o '%s' is not a file path", path);
        goto fail;
    }
    if (check_replaceable(path, &err))
        goto fail;
    lpz_atomic_file probe;
    if (lpz_atomic_open(&probe, path, &err))
        goto fail;
    lpz_atomic_abort(&probe);

    lpz_classifier_train_params p;
    lpz_classifier_train_defaults(&p);
    p.seed = (uint64_t)cfg.general.seed;
    p.progress = args->quiet ? NULL : on_progress;
    p.user = &p.epochs;
    lpz_log(LPZ_LOG_INFO, "training the classifier on %lld %s training samples (%d epochs, batch %lld, Adam lr %g)",
            (long long)lpz_dataset_get_info(train)->count, lpz_dataset_name(train), p.epochs,
            (long long)p.batch_size, p.lr);
    lpz_classifier_report rep;
    uint64_t digest;
    char hex[24];
    if (lpz_dataset_digest(train, &digest, &err))
        goto fail;
    snprintf(hex, sizeof hex, "%016llx", (unsigned long long)digest);
    if (lpz_classifier_train(train, test, &p, &model, &rep, &err) ||
        lpz_classifier_save(path, model, lpz_dataset_name(train), rep.test_accuracy, hex, &err))
        goto fail;
    printf("test accuracy: %.2f%% (%lld %s test samples)\n", 100 * rep.test_accuracy, (long long)rep.n_test,
           lpz_dataset_name(train));
    printf("trained in %.1f s (%lld samples x %d epochs)\n", rep.seconds, (long long)rep.n_train, p.epochs);
    printf("saved: %s\n", path);
    rc = 0;
    goto done;
fail:
    lpz_cli_print_error(&err);
done:
    lpz_model_destroy(model);
    lpz_dataset_close(test);
    lpz_dataset_close(train);
    lpz_options_destroy(opts);
    if (reg.dirs || reg.entries)
        lpz_registry_close(&reg);
    lpz_config_destroy(&cfg);
    return rc;
}
