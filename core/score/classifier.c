/* core/score/classifier.c - the MNIST-format feature classifier: building,
 * training with Adam on a dataset's labels, accuracy, files. See score.h. */
#include "score/score.h"

#include "io/safetensors.h"
#include "model/model.h"
#include "nn/adam.h"
#include "nn/model_frozen.h"

#include <lpz/log.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Samples per forward when only evaluating (bounds the scratch memory:
 * about 6 MB of activations for the classifier). */
#define EVAL_CHUNK 256

int lpz_classifier_accepts(const lpz_shape *s)
{
    return s->ndim == 3 && s->dim[0] == 1 && s->dim[1] == 28 && s->dim[2] == 28;
}

int lpz_classifier_build(uint64_t seed, float p_conv, float p_fc, lpz_model **out, lpz_error *err)
{
    lpz_shape in = lpz_shape_make(3, 1, 28, 28, 0);
    lpz_model *m = NULL;
    int rc = lpz_model_create(&in, seed, &m, err);
    if (rc)
        return rc;
    if ((rc = lpz_model_add_conv2d(m, "conv1", 10, 5, 1, 0, 1, err)) ||
        (rc = lpz_model_add_maxpool2d(m, "pool1", 2, err)) || (rc = lpz_model_add_relu(m, err)) ||
        (rc = lpz_model_add_conv2d(m, "conv2", 20, 5, 1, 0, 1, err)) ||
        (p_conv > 0 && (rc = lpz_model_add_dropout(m, p_conv, err))) ||
        (rc = lpz_model_add_maxpool2d(m, "pool2", 2, err)) || (rc = lpz_model_add_relu(m, err)) ||
        (rc = lpz_model_add_flatten(m, err)) || (rc = lpz_model_add_linear(m, "fc1", 50, 1, err)) ||
        (rc = lpz_model_add_relu(m, err)) || (p_fc > 0 && (rc = lpz_model_add_dropout(m, p_fc, err))) ||
        (rc = lpz_model_add_linear(m, "fc2", LPZ_CLASSIFIER_CLASSES, 1, err))) {
        lpz_model_destroy(m);
        return rc;
    }
    lpz_model_set_training(m, 0);
    /* The yardstick of every FID: trained, cached and used in fp32 at every
     * general.matmul_precision, so scores and the cached classifier and
     * statistics mean the same for runs at any setting. */
    lpz_model_pin_fp32(m);
    *out = m;
    return LPZ_OK;
}

void lpz_classifier_train_defaults(lpz_classifier_train_params *p)
{
    memset(p, 0, sizeof *p);
    p->epochs = 5;
    p->batch_size = 64;
    p->lr = 1e-3;
    p->seed = 1;
}

static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int check_dataset(lpz_dataset *ds, const char *what, lpz_error *err)
{
    const lpz_dataset_info *info = lpz_dataset_get_info(ds);
    if (!lpz_classifier_accepts(&info->sample_shape))
        return lpz_error_set(err, LPZ_EUNSUPPORTED,
                             "the %s data of %s are not 1x28x28 images; the classifier needs MNIST-format data",
                             what, lpz_dataset_name(ds));
    if (!lpz_dataset_has_labels(ds) || info->n_classes != LPZ_CLASSIFIER_CLASSES) {
        lpz_error_set(err, LPZ_EUNSUPPORTED, "the %s data of %s have %d label classes; the classifier needs 10", what,
                      lpz_dataset_name(ds), (int)info->n_classes);
        if (info->n_classes > LPZ_CLASSIFIER_CLASSES) /* 256 from a labels file with a byte of 255 */
            lpz_error_hint(err, "the largest label is %d: labels 0 to 9 are MNIST's and Fashion-MNIST's; check the "
                                "labels file (train-labels-idx1-ubyte, or dataloader.labels)",
                           (int)info->n_classes - 1);
        return LPZ_EUNSUPPORTED;
    }
    return LPZ_OK;
}

int lpz_classifier_accuracy(lpz_model *model, lpz_dataset *ds, int64_t max, double *accuracy, lpz_error *err)
{
    int rc = check_dataset(ds, "test", err);
    if (rc)
        return rc;
    int64_t count = lpz_dataset_get_info(ds)->count;
    if (max > 0 && max < count)
        count = max;
    float *x = malloc((size_t)EVAL_CHUNK * 784 * sizeof(float));
    if (!x)
        return lpz_error_set(err, LPZ_ENOMEM, "out of memory");
    lpz_model_set_training(model, 0);
    int64_t right = 0;
    for (int64_t start = 0; start < count && !rc; start += EVAL_CHUNK) {
        int64_t n = count - start < EVAL_CHUNK ? count - start : EVAL_CHUNK;
        int32_t labels[EVAL_CHUNK];
        for (int64_t i = 0; i < n && !rc; i++)
            if (!(rc = lpz_dataset_read(ds, start + i, x + i * 784, err)))
                rc = lpz_dataset_label(ds, start + i, &labels[i], err);
        const float *y = rc ? NULL : lpz_model_forward(model, x, n, err);
        if (!rc && !y)
            rc = err ? err->code : LPZ_EINVAL;
        for (int64_t i = 0; i < n && !rc; i++) {
            int arg = 0;
            for (int c = 1; c < LPZ_CLASSIFIER_CLASSES; c++)
                if (y[i * LPZ_CLASSIFIER_CLASSES + c] > y[i * LPZ_CLASSIFIER_CLASSES + arg])
                    arg = c;
            right += arg == labels[i];
        }
    }
    free(x);
    if (!rc)
        *accuracy = (double)right / (double)count;
    return rc;
}

int lpz_classifier_train(lpz_dataset *train, lpz_dataset *test, const lpz_classifier_train_params *p,
                         lpz_model **out, lpz_classifier_report *report, lpz_error *err)
{
    *out = NULL;
    int rc = check_dataset(train, "training", err);
    if (rc)
        return rc;
    if (p->epochs < 1 || p->batch_size < 1 || !(p->lr > 0) || !isfinite(p->lr))
        return lpz_error_set(err, LPZ_EINVAL, "classifier training needs epochs >= 1, batch size >= 1, lr > 0");
    double t0 = now_seconds();
    int64_t n = lpz_dataset_get_info(train)->count;
    if (p->max_train > 0 && p->max_train < n)
        n = p->max_train;
    int64_t bs = p->batch_size < n ? p->batch_size : n;
    lpz_model *m = NULL;
    lpz_adam *adam = NULL;
    int64_t *perm = malloc((size_t)n * sizeof *perm);
    int32_t *labels = malloc((size_t)n * sizeof *labels), *blabels = malloc((size_t)bs * sizeof *blabels);
    float *x = malloc((size_t)(bs * 784) * sizeof *x);
    float *grad = malloc((size_t)(bs * LPZ_CLASSIFIER_CLASSES) * sizeof *grad);
    if (!perm || !labels || !blabels || !x || !grad) {
        rc = lpz_error_set(err, LPZ_ENOMEM, "out of memory for classifier training");
        goto done;
    }
    /* Dropout only after fc1 (p 0.5 as the PyTorch example): measured, the
     * extra conv dropout cost accuracy in a few epochs. */
    if ((rc = lpz_classifier_build(p->seed, 0.0f, 0.0f, &m, err)) || (rc = lpz_model_reserve(m, bs, err)) ||
        (rc = lpz_adam_create(lpz_model_param_count(m), &adam, err)))
        goto done;
    for (int64_t i = 0; i < n && !rc; i++) {
        perm[i] = i;
        rc = lpz_dataset_label(train, i, &labels[i], err);
    }
    if (rc)
        goto done;
    lpz_rng rng;
    lpz_rng_seed(&rng, p->seed, 0x636c6173 /* "clas" */);
    int64_t batches = (n + bs - 1) / bs;
    double loss_sum = 0, last_loss = 0, last_acc = 0;
    for (int epoch = 0; epoch < p->epochs && !rc; epoch++) {
        for (int64_t i = n - 1; i > 0; i--) {
            int64_t j = (int64_t)lpz_rng_below(&rng, (uint64_t)(i + 1)), t = perm[i];
            perm[i] = perm[j], perm[j] = t;
        }
        lpz_model_set_training(m, 1);
        loss_sum = 0;
        int64_t right = 0, seen = 0;
        for (int64_t b = 0; b < batches && !rc; b++) {
            if (p->stop && __atomic_load_n(p->stop, __ATOMIC_RELAXED)) {
                rc = lpz_error_set(err, LPZ_ECANCELED, "classifier training stopped");
                break;
            }
            int64_t start = b * bs, k = n - start < bs ? n - start : bs;
            if ((rc = lpz_dataset_read_rows(train, perm + start, k, x, NULL, err)))
                break; /* random rows of the data, hinted ahead */
            for (int64_t i = 0; i < k; i++)
                blabels[i] = labels[perm[start + i]];
            const float *y = lpz_model_forward(m, x, k, err);
            if (!y) {
                rc = err ? err->code : LPZ_EINVAL;
                break;
            }
            double loss;
            int64_t correct;
            if ((rc = lpz_cross_entropy(y, blabels, k, LPZ_CLASSIFIER_CLASSES, &loss, grad, &correct, err)))
                break;
            if ((rc = lpz_model_backward_fresh(m, grad, NULL, err)) ||
                (rc = lpz_adam_step(adam, lpz_model_params(m), lpz_model_grads(m), p->lr, 0.9, 0.999, err)))
                break;
            loss_sum += loss * (double)k;
            right += correct;
            seen += k;
            if (p->progress && ((b + 1) % 200 == 0 || b + 1 == batches))
                p->progress(p->user, epoch + 1, b + 1, batches, loss_sum / (double)seen,
                            (double)right / (double)seen);
        }
        if (seen) {
            last_loss = loss_sum / (double)seen;
            last_acc = (double)right / (double)seen;
        }
    }
    if (rc)
        goto done;
    lpz_model_set_training(m, 0);
    double test_acc = NAN;
    int64_t n_test = 0;
    if (test) {
        if ((rc = lpz_classifier_accuracy(m, test, p->max_test, &test_acc, err)))
            goto done;
        n_test = lpz_dataset_get_info(test)->count;
        if (p->max_test > 0 && p->max_test < n_test)
            n_test = p->max_test;
    }
    if (report) {
        report->train_loss = last_loss;
        report->train_accuracy = last_acc;
        report->test_accuracy = test_acc;
        report->n_train = n;
        report->n_test = n_test;
        report->seconds = now_seconds() - t0;
    }
    *out = m;
    m = NULL;
done:
    lpz_model_destroy(m);
    lpz_adam_destroy(adam);
    free(perm), free(labels), free(blabels), free(x), free(grad);
    return rc;
}

int lpz_classifier_save(const char *path, const lpz_model *model, const char *dataset_name, double test_accuracy,
                        const char *data_digest, lpz_error *err)
{
    char acc[32];
    if (isnan(test_accuracy))
        snprintf(acc, sizeof acc, "unknown");
    else
        snprintf(acc, sizeof acc, "%.6f", test_accuracy);
    const char *keys[] = {"lpz_kind", "dataset", "test_accuracy", "input", "features", LPZ_DATA_DIGEST_KEY};
    const char *vals[] = {LPZ_CLASSIFIER_KIND, dataset_name ? dataset_name : "", acc, "1x28x28 in [-1, 1]",
                          "fc2 logits (10)", data_digest};
    return lpz_model_save(path, model, NULL, LPZ_ROLE_GENERATOR, keys, vals, data_digest ? 6 : 5, err);
}

int lpz_classifier_load(const char *path, lpz_model **out, lpz_error *err)
{
    *out = NULL;
    lpz_model *m = NULL;
    int rc = lpz_classifier_build(0, 0.0f, 0.0f, &m, err);
    if (rc)
        return rc;
    if ((rc = lpz_model_load_into(path, m, err))) {
        lpz_model_destroy(m);
        lpz_error_hint(err, "a classifier file holds conv1.*, conv2.*, fc1.*, fc2.* (F32) as written by "
                            "'lpz classifier'");
        return rc;
    }
    *out = m;
    return LPZ_OK;
}
