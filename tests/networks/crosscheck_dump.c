/* tests/networks/crosscheck_dump.c - writes what torch_crosscheck.py
 * compares with PyTorch, for the one network plugin compiled in.
 *
 *   crosscheck_dump_<plugin> OUTDIR SHAPE [option=value ...]
 *
 * SHAPE is the sample shape, e.g. 1x28x28 or 30x4. For the generator (G)
 * and the discriminator (D), with fixed seeds, it writes to OUTDIR:
 *   R.pre.safetensors  the model as built
 *   R.x_train.npy      a batch of 4 inputs, R.y_train.npy the training-mode
 *                      outputs (batch statistics; updates running stats)
 *   R.safetensors      the model after that batch
 *   R.x_eval.npy       a batch of 3 inputs, R.y_eval.npy the eval-mode outputs
 * Inputs: latents ~ Normal(0, 1) for G, samples ~ Uniform(-1, 1) for D.
 * A test driver, not a library: it prints errors and exits 1. */
#include "config/options_internal.h"
#include "io/fsutil.h"
#include "io/npy.h"
#include "model/model.h"

#include <lpz/lpz.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

extern const lpz_plugin lpz_plugin_descriptor;

static int die(const char *what, const lpz_error *err)
{
    char buf[2048];
    fprintf(stderr, "crosscheck_dump: %s: %s\n", what, lpz_error_format(err, buf, sizeof buf));
    exit(1);
}

static int parse_shape(const char *text, lpz_shape *s)
{
    *s = lpz_shape_make(0, 0, 0, 0, 0);
    const char *p = text;
    while (*p) {
        char *end;
        long v = strtol(p, &end, 10);
        if (end == p || v < 1 || s->ndim == LPZ_MAX_DIMS)
            return 0;
        s->dim[s->ndim++] = v;
        p = end;
        if (*p == 'x')
            p++;
        else if (*p)
            return 0;
    }
    return s->ndim > 0;
}

static void write_npy(const char *dir, const char *role, const char *what, const float *data, int64_t n,
                      const lpz_shape *s)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s.%s.npy", dir, role, what);
    int64_t shape[LPZ_MAX_DIMS + 1] = {n};
    for (int d = 0; d < s->ndim; d++)
        shape[d + 1] = s->dim[d];
    lpz_error err;
    if (lpz_npy_write_f32(path, data, s->ndim + 1, shape, &err) != LPZ_OK)
        die(path, &err);
}

static void dump(const lpz_network *net, lpz_role role, const char *dir)
{
    const char *tag = role == LPZ_ROLE_GENERATOR ? "G" : "D";
    char path[4096];
    lpz_error err;
    lpz_model *m = NULL;
    if (lpz_network_build(net, role, 1000 + (uint64_t)role, &m, &err) != LPZ_OK)
        die("build", &err);
    snprintf(path, sizeof path, "%s/%s.pre.safetensors", dir, tag);
    if (lpz_model_save(path, m, net, role, NULL, NULL, 0, &err) != LPZ_OK)
        die(path, &err);

    lpz_shape in = lpz_model_input_shape(m), out = lpz_model_output_shape(m);
    int64_t in_n = lpz_shape_numel(&in), out_n = lpz_shape_numel(&out);
    float *x = malloc((size_t)(4 * in_n) * sizeof *x);
    if (!x)
        exit(1);
    lpz_rng rng;
    lpz_rng_seed(&rng, 77, (uint64_t)role);
    if (role == LPZ_ROLE_GENERATOR)
        lpz_rng_fill_normal(&rng, x, (size_t)(4 * in_n), 0.0f, 1.0f);
    else
        lpz_rng_fill_uniform(&rng, x, (size_t)(4 * in_n), -1.0f, 1.0f);

    lpz_model_set_training(m, 1);
    const float *y = lpz_model_forward(m, x, 4, &err);
    if (!y)
        die("forward (training)", &err);
    write_npy(dir, tag, "x_train", x, 4, &in);
    write_npy(dir, tag, "y_train", y, 4, &out);
    snprintf(path, sizeof path, "%s/%s.safetensors", dir, tag);
    if (lpz_model_save(path, m, net, role, NULL, NULL, 0, &err) != LPZ_OK)
        die(path, &err);

    if (role == LPZ_ROLE_GENERATOR)
        lpz_rng_fill_normal(&rng, x, (size_t)(3 * in_n), 0.0f, 1.0f);
    else
        lpz_rng_fill_uniform(&rng, x, (size_t)(3 * in_n), -1.0f, 1.0f);
    lpz_model_set_training(m, 0);
    y = lpz_model_forward(m, x, 3, &err);
    if (!y)
        die("forward (eval)", &err);
    write_npy(dir, tag, "x_eval", x, 3, &in);
    write_npy(dir, tag, "y_eval", y, 3, &out);
    (void)out_n;
    free(x);
    lpz_model_destroy(m);
}

int main(int argc, char **argv)
{
    lpz_shape sample;
    if (argc < 3 || !parse_shape(argv[2], &sample)) {
        fprintf(stderr, "usage: %s OUTDIR SHAPE (e.g. 1x28x28) [option=value ...]\n", argv[0]);
        return 2;
    }
    lpz_nn_set_threads(1);
    lpz_error err;
    lpz_options *opts = lpz_options_create(lpz_plugin_descriptor.options, lpz_plugin_descriptor.name);
    if (!opts)
        return 1;
    for (int i = 3; i < argc; i++) {
        char key[128];
        const char *eq = strchr(argv[i], '=');
        if (!eq || eq - argv[i] >= (int)sizeof key) {
            fprintf(stderr, "crosscheck_dump: expected option=value, got %s\n", argv[i]);
            return 2;
        }
        snprintf(key, sizeof key, "%.*s", (int)(eq - argv[i]), argv[i]);
        if (lpz_options_set(opts, key, eq + 1, "command line", &err) != LPZ_OK)
            die(argv[i], &err);
    }
    lpz_network *net = NULL;
    if (lpz_network_create(&lpz_plugin_descriptor, opts, &sample, 0, &net, &err) != LPZ_OK)
        die("network", &err);
    lpz_error_clear(&err);
    if (lpz_mkdirs(argv[1], &err) != LPZ_OK)
        die(argv[1], &err);
    dump(net, LPZ_ROLE_GENERATOR, argv[1]);
    dump(net, LPZ_ROLE_DISCRIMINATOR, argv[1]);
    lpz_network_destroy(net);
    lpz_options_destroy(opts);
    return 0;
}
