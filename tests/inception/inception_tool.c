/* tests/inception/inception_tool.c - command-line helper around
 * core/inception for the PyTorch cross-check and for measuring speed.
 *
 *   inception_tool features WEIGHTS IN.npy OUT.npy [auto|fid|torchvision]
 *       IN.npy: n x C x H x W float images in [-1, 1] (C = 1 or 3);
 *       OUT.npy: n x 2048 pool features.
 *   inception_tool random-weights OUT.safetensors SEED [fid|torchvision]
 *       A complete weights file with random values (for the benchmark and
 *       for trying the tool without PyTorch).
 *   inception_tool bench WEIGHTS IMAGES THREADS
 *       Features of IMAGES random 3 x 299 x 299 images split over THREADS
 *       threads (one network object each); prints the memory of one
 *       object and seconds per 1,000 images. OPENBLAS_NUM_THREADS sets
 *       the BLAS threads.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <lpz/log.h>

#include "inc_test_util.h"
#include "inception/inception.h"
#include "io/npy.h"

static int fail(const lpz_error *err)
{
    char buf[2600];
    fprintf(stderr, "inception_tool: error: %s\n", lpz_error_format(err, buf, sizeof buf));
    return 1;
}

static int parse_variant(const char *s, lpz_inception_variant *v)
{
    if (!s || !strcmp(s, "auto"))
        *v = LPZ_INCEPTION_AUTO;
    else if (!strcmp(s, "fid"))
        *v = LPZ_INCEPTION_FID;
    else if (!strcmp(s, "torchvision"))
        *v = LPZ_INCEPTION_TORCHVISION;
    else
        return -1;
    return 0;
}

static int cmd_features(int argc, char **argv)
{
    lpz_error err;
    lpz_error_clear(&err);
    lpz_inception_variant v;
    if (parse_variant(argc > 5 ? argv[5] : NULL, &v)) {
        fprintf(stderr, "inception_tool: unknown variant %s\n", argv[5]);
        return 2;
    }
    lpz_npy_array in = {0};
    if (lpz_npy_read(argv[3], &in, &err))
        return fail(&err);
    if (in.ndim != 4 || in.shape[1] > 3 || in.shape[2] > 1 << 20 || in.shape[3] > 1 << 20) {
        fprintf(stderr, "inception_tool: %s: expected n x C x H x W images\n", argv[3]);
        lpz_npy_free(&in);
        return 1;
    }
    lpz_inception *net = NULL;
    if (lpz_inception_open_variant(argv[2], v, &net, &err)) {
        lpz_npy_free(&in);
        return fail(&err);
    }
    int64_t n = in.shape[0];
    float *out = malloc((size_t)(n > 0 ? n : 1) * LPZ_INCEPTION_FEATURES * sizeof(float));
    int rc = !out;
    if (out && lpz_inception_features(net, in.data, n, (int)in.shape[1], (int)in.shape[2], (int)in.shape[3],
                                      out, &err))
        rc = fail(&err);
    int64_t shape[2] = {n, LPZ_INCEPTION_FEATURES};
    if (!rc && lpz_npy_write_f32(argv[4], out, 2, shape, &err))
        rc = fail(&err);
    free(out);
    lpz_inception_close(net);
    lpz_npy_free(&in);
    return rc;
}

typedef struct job {
    lpz_inception *net;
    const float *images;
    int64_t n;
    float *out;
    lpz_error err;
    int rc;
} job;

static void *run_job(void *arg)
{
    job *j = arg;
    /* one image per call, as a caller showing progress would do */
    for (int64_t i = 0; i < j->n && !j->rc; i++)
        j->rc = lpz_inception_features(j->net, j->images, 1, 3, LPZ_INCEPTION_SIZE, LPZ_INCEPTION_SIZE,
                                       j->out + i * LPZ_INCEPTION_FEATURES, &j->err);
    return NULL;
}

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static int cmd_bench(char **argv)
{
    int64_t n = atoll(argv[3]);
    int threads = atoi(argv[4]);
    if (n < 1 || threads < 1 || threads > 64) {
        fprintf(stderr, "inception_tool: bench needs IMAGES >= 1 and 1 <= THREADS <= 64\n");
        return 2;
    }
    const int64_t size = 3 * LPZ_INCEPTION_SIZE * LPZ_INCEPTION_SIZE;
    float *img = malloc((size_t)size * sizeof(float));
    float *out = malloc((size_t)n * LPZ_INCEPTION_FEATURES * sizeof(float));
    job *jobs = calloc((size_t)threads, sizeof *jobs);
    pthread_t *tid = calloc((size_t)threads, sizeof *tid);
    if (!img || !out || !jobs || !tid)
        return 1;
    inc_fill_uniform(img, size, 7, -1.0f, 1.0f);
    lpz_log_set_level(LPZ_LOG_DEBUG); /* the open reports weights and scratch memory */
    int rc = 0;
    for (int t = 0; t < threads && !rc; t++) {
        lpz_error_clear(&jobs[t].err);
        if (lpz_inception_open(argv[2], &jobs[t].net, &jobs[t].err))
            rc = fail(&jobs[t].err);
        jobs[t].images = img;
        jobs[t].n = n / threads + (t < n % threads);
        jobs[t].out = out + (t ? (jobs[t - 1].out - out) + jobs[t - 1].n * LPZ_INCEPTION_FEATURES : 0);
    }
    if (!rc) {
        double t0 = now();
        for (int t = 0; t < threads; t++)
            pthread_create(&tid[t], NULL, run_job, &jobs[t]);
        for (int t = 0; t < threads; t++) {
            pthread_join(tid[t], NULL);
            if (jobs[t].rc)
                rc = fail(&jobs[t].err);
        }
        double dt = now() - t0;
        const char *blas = getenv("OPENBLAS_NUM_THREADS");
        printf("%lld images, %d thread(s), OPENBLAS_NUM_THREADS=%s: %.3f s, %.1f s per 1000 images\n",
               (long long)n, threads, blas ? blas : "(unset)", dt, dt * 1000.0 / (double)n);
    }
    for (int t = 0; t < threads; t++)
        lpz_inception_close(jobs[t].net);
    free(tid);
    free(jobs);
    free(out);
    free(img);
    return rc;
}

int main(int argc, char **argv)
{
    if (argc >= 5 && !strcmp(argv[1], "features"))
        return cmd_features(argc, argv);
    if (argc >= 4 && !strcmp(argv[1], "random-weights")) {
        lpz_error err;
        lpz_error_clear(&err);
        if (inc_write_random_weights(argv[2], (uint64_t)strtoull(argv[3], NULL, 10),
                                     argc > 4 ? argv[4] : NULL, &err))
            return fail(&err);
        return 0;
    }
    if (argc >= 5 && !strcmp(argv[1], "bench"))
        return cmd_bench(argv);
    fprintf(stderr, "usage: inception_tool features WEIGHTS IN.npy OUT.npy [auto|fid|torchvision]\n"
                    "       inception_tool random-weights OUT.safetensors SEED [fid|torchvision]\n"
                    "       inception_tool bench WEIGHTS IMAGES THREADS\n");
    return 2;
}
