/* gradcheck - the residual block's backward against finite differences,
 * through the SDK alone. A custom layer's backward is the part of a network
 * plugin most likely to be wrong, and a wrong gradient still trains, only
 * badly; run this (`ctest` in the build folder) after every change to it.
 *
 * It includes the plugin's source to reach its static add_residual, builds
 * a model Linear -> residual block -> Linear with lpz_model_*, and compares
 * the gradients lpz_model_backward gives, of the input and of every
 * parameter, with central differences of L = sum(w * output). */
#include "residual_mlp.c"

enum { IN = 4, H = 6, N = 3 };

static double loss(lpz_model *m, const float *x, const float *w, lpz_error *err)
{
    const float *y = lpz_model_forward(m, x, N, err);
    double l = 0.0;
    for (int i = 0; y && i < N * 2; i++)
        l += (double)w[i] * y[i];
    return l;
}

/* The name of the tensor that holds parameter i, and i's place in it. */
static const char *tensor_of(const lpz_model *m, const float *param, int64_t *at)
{
    for (int t = 0; t < lpz_model_tensor_count(m); t++) {
        const char *name;
        lpz_shape shape;
        float *data;
        int trainable;
        lpz_model_tensor_info(m, t, &name, &shape, &data, &trainable);
        if (trainable && param >= data && param < data + lpz_shape_numel(&shape)) {
            *at = param - data;
            return name;
        }
    }
    *at = 0;
    return "?";
}

/* 1 when the analytic and numeric derivative disagree. */
static int differs(double analytic, double numeric)
{
    return fabs(analytic - numeric) > 2e-3 * fmax(1.0, fabs(numeric));
}

int main(void)
{
    lpz_error err;
    lpz_error_clear(&err);
    lpz_model *m = NULL;
    lpz_shape in = lpz_shape_make(1, IN, 0, 0, 0);
    int rc = lpz_model_create(&in, 7, &m, &err);
    if (!rc)
        rc = lpz_model_add_linear(m, "0", H, 1, &err);
    if (!rc)
        rc = add_residual(m, "1", H, 0.2f, &err);
    if (!rc)
        rc = lpz_model_add_linear(m, "2", 2, 1, &err);
    if (rc) {
        char buf[2048];
        fprintf(stderr, "gradcheck: %s\n", lpz_error_format(&err, buf, sizeof buf));
        lpz_model_destroy(m);
        return 1;
    }
    float x[N * IN], w[N * 2], dx[N * IN];
    lpz_rng rng;
    lpz_rng_seed(&rng, 1, 0);
    lpz_rng_fill_normal(&rng, x, N * IN, 0.0f, 1.0f);
    lpz_rng_fill_normal(&rng, w, N * 2, 0.0f, 1.0f);

    /* analytic: dL/doutput = w */
    lpz_model_zero_grad(m);
    loss(m, x, w, &err);
    if (lpz_model_backward(m, w, dx, &err) != LPZ_OK) {
        fprintf(stderr, "gradcheck: backward failed: %s\n", err.message);
        return 1;
    }
    int64_t np = lpz_model_param_count(m);
    float *p = lpz_model_params(m);
    const float *g = lpz_model_grads(m);

    int bad = 0;
    const float eps = 1e-3f;
    for (int64_t i = 0; i < np + N * IN; i++) {
        float *v = i < np ? &p[i] : &x[i - np];
        float keep = *v;
        *v = keep + eps;
        double lp = loss(m, x, w, &err);
        *v = keep - eps;
        double lm = loss(m, x, w, &err);
        *v = keep;
        double numeric = (lp - lm) / (2.0 * eps), analytic = i < np ? g[i] : dx[i - np];
        if (differs(analytic, numeric) && bad++ < 10) {
            int64_t at = i - np;
            const char *what = i < np ? tensor_of(m, v, &at) : "input";
            fprintf(stderr, "gradcheck: %s[%lld]: backward gives %g, finite differences %g\n", what, (long long)at,
                    analytic, numeric);
        }
    }
    lpz_model_destroy(m);
    if (bad) {
        fprintf(stderr, "gradcheck: FAILED, %d of %lld derivatives differ\n", bad, (long long)(np + N * IN));
        return 1;
    }
    printf("gradcheck: %lld derivatives of the residual block's model agree with finite differences\n",
           (long long)(np + N * IN));
    return 0;
}
