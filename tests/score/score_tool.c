/* tests/score/score_tool.c - helper of the score tests:
 *   score_tool classifier OUT.safetensors SEED   a freshly initialised classifier
 *   score_tool features CLF.safetensors IN.npy OUT.npy
 *                                                its 10 logits of each sample
 *   score_tool latent OUT.npy N D SEED           N x D standard normal floats */
#include "io/npy.h"
#include "score/score.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
    if (argc == 4 && strcmp(argv[1], "classifier") == 0) {
        if (lpz_classifier_build(strtoull(argv[3], NULL, 10), 0, 0, &m, &err) ||
            lpz_classifier_save(argv[2], m, "test", NAN, &err))
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
    fprintf(stderr, "usage: score_tool classifier OUT SEED | score_tool features CLF IN.npy OUT.npy | score_tool latent OUT N D SEED\n");
    return 2;
}
