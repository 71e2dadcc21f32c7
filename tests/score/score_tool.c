/* tests/score/score_tool.c - helper of the score tests:
 *   score_tool classifier OUT.safetensors SEED [SCALE | fill=V]
 *                                                a freshly initialised classifier,
 *                                                its last layer's weights times
 *                                                SCALE (larger logits: class
 *                                                probabilities far from uniform)
 *                                                or all V (fill=3e38: features
 *                                                overflow to infinity)
 *   score_tool features CLF.safetensors IN.npy OUT.npy
 *                                                its 10 logits of each sample
 *   score_tool latent OUT.npy N D SEED           N x D standard normal floats
 *   score_tool fid CLF REAL.npy GEN.npy          FID of GEN against REAL and the
 *                                                mean time of one FID of GEN
 *                                                (features + statistics + FID;
 *                                                for the measurement in docs) */
#include "io/npy.h"
#include "score/score.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static int fail(const lpz_error *err)
{
    char buf[4096];
    fprintf(stderr, "score_tool: %s\n", lpz_error_format(err, buf, sizeof buf));
    return 1;
}

int main(int argc, char **argv)
{
    lpz_error err;
    lpz_error_clear(&err);
    lpz_model *m = NULL;
    if ((argc == 4 || argc == 5) && strcmp(argv[1], "classifier") == 0) {
        float *w;
        lpz_shape shape;
        if (lpz_classifier_build(strtoull(argv[3], NULL, 10), 0, 0, &m, &err) ||
            lpz_model_param(m, "fc2.weight", &w, &shape, &err))
            return fail(&err);
        int fill = argc == 5 && !strncmp(argv[4], "fill=", 5); /* every weight V: "fill=3e38" overflows */
        float v = argc == 5 ? strtof(argv[4] + (fill ? 5 : 0), NULL) : 1.0f;
        for (int64_t i = 0, n = lpz_shape_numel(&shape); argc == 5 && i < n; i++)
            w[i] = fill ? v : w[i] * v;
        if (lpz_classifier_save(argv[2], m, "test", NAN, NULL, &err))
            return fail(&err);
        lpz_model_destroy(m);
        return 0;
    }
    if (argc == 5 && strcmp(argv[1], "features") == 0) {
        lpz_npy_array a;
        if (lpz_classifier_load(argv[2], &m, &err) || lpz_npy_read(argv[3], &a, &err))
            return fail(&err);
        int64_t n = a.shape[0];
        if (a.count != n * 784) {
            fprintf(stderr, "score_tool: %s is not N x 784 values\n", argv[3]);
            return 1;
        }
        const float *y = lpz_model_forward(m, a.data, n, &err);
        int64_t shape[2] = {n, 10};
        if (!y || lpz_npy_write_f32(argv[4], y, 2, shape, &err))
            return fail(&err);
        lpz_npy_free(&a);
        lpz_model_destroy(m);
        return 0;
    }
    if (argc == 6 && strcmp(argv[1], "latent") == 0) {
        int64_t shape[2] = {strtoll(argv[3], NULL, 10), strtoll(argv[4], NULL, 10)};
        if (shape[0] < 1 || shape[1] < 1)
            return 2;
        float *z = malloc((size_t)(shape[0] * shape[1]) * sizeof *z);
        lpz_rng rng;
        lpz_rng_seed(&rng, strtoull(argv[5], NULL, 10), 0);
        lpz_rng_fill_normal(&rng, z, (size_t)(shape[0] * shape[1]), 0, 1);
        if (!z || lpz_npy_write_f32(argv[2], z, 2, shape, &err))
            return fail(&err);
        free(z);
        return 0;
    }
    if (argc == 5 && strcmp(argv[1], "fid") == 0) {
        lpz_npy_array r, g;
        if (lpz_classifier_load(argv[2], &m, &err) || lpz_npy_read(argv[3], &r, &err) ||
            lpz_npy_read(argv[4], &g, &err))
            return fail(&err);
        int64_t nr = r.count / 784, ng = g.count / 784;
        float *fr = malloc((size_t)nr * 10 * sizeof *fr), *fg = malloc((size_t)ng * 10 * sizeof *fg);
        double mr[10], sr[100], sq[100], mg[10], sg[100], fid = 0;
        const float *y = lpz_model_forward(m, r.data, nr, &err);
        if (!y)
            return fail(&err);
        memcpy(fr, y, (size_t)nr * 10 * sizeof *fr);
        if (lpz_feature_stats(fr, nr, 10, mr, sr, &err) || lpz_sym_sqrt(sr, 10, sq, &err))
            return fail(&err);
        struct timespec t0, t1;
        const int reps = 20;
        clock_gettime(CLOCK_MONOTONIC, &t0);
        for (int i = 0; i < reps; i++) {
            /* In chunks of 256 as the scorer runs. */
            for (int64_t s = 0; s < ng; s += 256) {
                int64_t k = ng - s < 256 ? ng - s : 256;
                if (!(y = lpz_model_forward(m, g.data + s * 784, k, &err)))
                    return fail(&err);
                memcpy(fg + s * 10, y, (size_t)k * 10 * sizeof *fg);
            }
            if (lpz_feature_stats(fg, ng, 10, mg, sg, &err) ||
                lpz_fid_from_stats(mr, sr, sq, mg, sg, 10, &fid, &err))
                return fail(&err);
        }
        clock_gettime(CLOCK_MONOTONIC, &t1);
        double ms = ((double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6) / reps;
        printf("fid %.6f\nms_per_fid %.2f (%lld samples)\n", fid, ms, (long long)ng);
        free(fr), free(fg);
        lpz_npy_free(&r), lpz_npy_free(&g);
        lpz_model_destroy(m);
        return 0;
    }
    fprintf(stderr, "usage: score_tool classifier OUT SEED [SCALE|fill=V] | score_tool features CLF IN.npy OUT.npy | "
                    "score_tool latent OUT N D SEED | score_tool fid CLF REAL GEN\n");
    return 2;
}
