/* tests/nn/test_nn_reference.c - lpz models against PyTorch 1.13.
 *
 * The files in tests/nn/reference/ come from make_reference.py (see its
 * header for the format and contents). Each test builds the same network
 * with lpz, loads PyTorch's weights by tensor name, runs forward and
 * backward in training mode and one Adam step, and compares every tensor
 * with a relative error (max |a - b| / max |b|) of at most 1e-4.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "nn/adam.h"
#include "nn/loss.h"
#include <lpz/nn.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define REL_TOL 1e-4

typedef struct rec {
    char name[128];
    lpz_shape shape;
    int64_t numel;
    float *data;
} rec;

typedef struct ref {
    rec *r;
    int n;
} ref;

static void ref_load(ref *f, const char *file)
{
    const char *src = getenv("LPZ_SOURCE_DIR");
    char path[1024];
    snprintf(path, sizeof(path), "%s/tests/nn/reference/%s", src ? src : ".", file);
    FILE *fp = fopen(path, "rb");
    if (!fp)
        fail_msg("cannot open %s", path);
    char magic[8];
    assert_int_equal(fread(magic, 1, 8, fp), 8);
    assert_memory_equal(magic, "LPZREF1\n", 8);
    f->r = NULL;
    f->n = 0;
    uint32_t len;
    while (fread(&len, 4, 1, fp) == 1) {
        f->r = realloc(f->r, (size_t)(f->n + 1) * sizeof(rec));
        rec *r = &f->r[f->n++];
        memset(r, 0, sizeof(*r));
        assert_true(len < sizeof(r->name));
        assert_int_equal(fread(r->name, 1, len, fp), len);
        uint32_t nd;
        assert_int_equal(fread(&nd, 4, 1, fp), 1);
        assert_true(nd <= LPZ_MAX_DIMS);
        r->shape.ndim = (int)nd;
        r->numel = 1;
        for (uint32_t i = 0; i < nd; i++) {
            assert_int_equal(fread(&r->shape.dim[i], 8, 1, fp), 1);
            r->numel *= r->shape.dim[i];
        }
        r->data = malloc((size_t)(r->numel ? r->numel : 1) * sizeof(float));
        assert_int_equal(fread(r->data, 4, (size_t)r->numel, fp), (size_t)r->numel);
    }
    fclose(fp);
}

static void ref_free(ref *f)
{
    for (int i = 0; i < f->n; i++)
        free(f->r[i].data);
    free(f->r);
}

static const rec *ref_get(const ref *f, const char *name)
{
    for (int i = 0; i < f->n; i++)
        if (strcmp(f->r[i].name, name) == 0)
            return &f->r[i];
    fail_msg("reference has no tensor %s", name);
    return NULL;
}

static void expect_close(const char *what, const float *got, const float *want, int64_t n, double tol)
{
    double maxdiff = 0.0, maxref = 0.0;
    int64_t worst = 0;
    for (int64_t i = 0; i < n; i++) {
        double d = fabs((double)got[i] - want[i]);
        if (!(d <= maxdiff)) {
            maxdiff = d;
            worst = i;
        }
        if (fabs(want[i]) > maxref)
            maxref = fabs(want[i]);
    }
    double rel = maxdiff / (maxref > 1e-30 ? maxref : 1e-30);
    if (!(rel <= tol))
        fail_msg("%s: relative error %.3g > %.1g (element %lld: lpz %.8g, torch %.8g)", what, rel, tol,
                 (long long)worst, (double)got[worst], (double)want[worst]);
}

/* Loads every "param:<name>" of the file into the model's tensor <name>
 * and checks that the model has no tensor the file lacks. */
static void load_params(lpz_model *m, const ref *f)
{
    int loaded = 0;
    for (int i = 0; i < f->n; i++) {
        if (strncmp(f->r[i].name, "param:", 6) != 0)
            continue;
        float *data;
        lpz_shape shape;
        lpz_error err;
        int rc = lpz_model_param(m, f->r[i].name + 6, &data, &shape, &err);
        if (rc)
            fail_msg("%s: %s", f->r[i].name, err.message);
        assert_int_equal(shape.ndim, f->r[i].shape.ndim);
        for (int d = 0; d < shape.ndim; d++)
            assert_int_equal(shape.dim[d], f->r[i].shape.dim[d]);
        memcpy(data, f->r[i].data, (size_t)f->r[i].numel * sizeof(float));
        loaded++;
    }
    assert_int_equal(loaded, lpz_model_tensor_count(m));
}

/* The common check: forward, backward of dout (or of `loss` against
 * `target`), gradients, running statistics, one Adam step. */
static void check_model(lpz_model *m, const char *file, int use_loss, float target)
{
    ref f;
    ref_load(&f, file);
    load_params(m, &f);
    const rec *x = ref_get(&f, "input"), *y = ref_get(&f, "output"), *dout = ref_get(&f, "dout");
    const rec *dx_ref = ref_get(&f, "dinput");
    lpz_shape ish = lpz_model_input_shape(m);
    int64_t n = x->shape.dim[0];
    assert_int_equal(n * lpz_shape_numel(&ish), x->numel);
    lpz_error err;
    lpz_model_set_training(m, 1);
    const float *out = lpz_model_forward(m, x->data, n, &err);
    if (!out)
        fail_msg("forward: %s", err.message);
    lpz_shape osh = lpz_model_output_shape(m);
    assert_int_equal(n * lpz_shape_numel(&osh), y->numel);
    char what[256];
    snprintf(what, sizeof(what), "%s output", file);
    expect_close(what, out, y->data, y->numel, REL_TOL);

    float *dy = malloc((size_t)y->numel * sizeof(float));
    if (use_loss) {
        double loss;
        assert_int_equal(lpz_loss(LPZ_LOSS_BCE, out, y->numel, target, &loss, dy, &err), LPZ_OK);
        const rec *lref = ref_get(&f, "loss");
        float lf = (float)loss;
        snprintf(what, sizeof(what), "%s BCE loss", file);
        expect_close(what, &lf, lref->data, 1, REL_TOL);
        snprintf(what, sizeof(what), "%s BCE gradient", file);
        expect_close(what, dy, dout->data, y->numel, REL_TOL);
    }
    /* backward from PyTorch's dout, so the rest compares like with like */
    memcpy(dy, dout->data, (size_t)y->numel * sizeof(float));
    float *dx = malloc((size_t)x->numel * sizeof(float));
    lpz_model_zero_grad(m);
    assert_int_equal(lpz_model_backward(m, dy, dx, &err), LPZ_OK);
    snprintf(what, sizeof(what), "%s input gradient", file);
    expect_close(what, dx, dx_ref->data, x->numel, REL_TOL);

    int64_t np = lpz_model_param_count(m);
    float *before = malloc((size_t)np * sizeof(float));
    float *torch_grads = malloc((size_t)np * sizeof(float));
    lpz_model_get_vector(m, before);
    for (int i = 0; i < lpz_model_tensor_count(m); i++) {
        const char *name;
        float *data;
        lpz_shape shape;
        int trainable;
        lpz_model_tensor_info(m, i, &name, &shape, &data, &trainable);
        int64_t cnt = lpz_shape_numel(&shape);
        char key[160];
        if (trainable) {
            int64_t off = data - lpz_model_params(m);
            snprintf(key, sizeof(key), "grad:%s", name);
            const rec *g = ref_get(&f, key);
            assert_int_equal(g->numel, cnt);
            snprintf(what, sizeof(what), "%s gradient of %s", file, name);
            expect_close(what, lpz_model_grads(m) + off, g->data, cnt, REL_TOL);
            memcpy(torch_grads + off, g->data, (size_t)cnt * sizeof(float));
        } else {
            snprintf(key, sizeof(key), "buf:%s", name);
            const rec *b = ref_get(&f, key);
            snprintf(what, sizeof(what), "%s buffer %s", file, name);
            expect_close(what, data, b->data, cnt, REL_TOL);
        }
    }

    /* Adam from PyTorch's gradients (ours were compared above): the step
     * (new - old) must match to 1e-4 of its size. */
    lpz_adam *adam;
    assert_int_equal(lpz_adam_create(np, &adam, &err), LPZ_OK);
    float *params = lpz_model_params(m);
    assert_int_equal(lpz_adam_step(adam, params, torch_grads, 2e-4, 0.5, 0.999, &err), LPZ_OK);
    for (int i = 0; i < lpz_model_tensor_count(m); i++) {
        const char *name;
        float *data;
        lpz_shape shape;
        int trainable;
        lpz_model_tensor_info(m, i, &name, &shape, &data, &trainable);
        if (!trainable)
            continue;
        int64_t cnt = lpz_shape_numel(&shape), off = data - params;
        char key[160];
        snprintf(key, sizeof(key), "adam:%s", name);
        const rec *a = ref_get(&f, key);
        float *dm = malloc((size_t)cnt * sizeof(float)), *dt = malloc((size_t)cnt * sizeof(float));
        for (int64_t j = 0; j < cnt; j++) {
            dm[j] = data[j] - before[off + j];
            dt[j] = a->data[j] - before[off + j];
        }
        snprintf(what, sizeof(what), "%s Adam step of %s", file, name);
        /* float rounding of p + step limits this to ~1e-3 of a 2e-4 step */
        expect_close(what, dm, dt, cnt, 2e-3);
        snprintf(what, sizeof(what), "%s parameters after Adam, %s", file, name);
        expect_close(what, data, a->data, cnt, REL_TOL);
        free(dm);
        free(dt);
    }
    lpz_adam_destroy(adam);
    free(before);
    free(torch_grads);
    free(dx);
    free(dy);
    ref_free(&f);
}

#include "nn_test_util.h"

static void test_mlp_generator_matches_torch(void **state)
{
    (void)state;
    lpz_model *m;
    lpz_shape in = lpz_shape_make(1, 16, 0, 0, 0);
    OK(lpz_model_create(&in, 1, &m, &e_));
    OK(lpz_model_add_linear(m, "0", 32, 1, &e_));
    OK(lpz_model_add_leaky_relu(m, 0.2f, &e_));
    OK(lpz_model_add_linear(m, "2", 32, 1, &e_));
    OK(lpz_model_add_leaky_relu(m, 0.2f, &e_));
    OK(lpz_model_add_linear(m, "4", 64, 1, &e_));
    OK(lpz_model_add_tanh(m, &e_));
    check_model(m, "mlp_g.ref", 0, 0);
    lpz_model_destroy(m);
}

static void test_mlp_discriminator_matches_torch(void **state)
{
    (void)state;
    lpz_model *m;
    lpz_shape in = lpz_shape_make(1, 64, 0, 0, 0);
    OK(lpz_model_create(&in, 1, &m, &e_));
    OK(lpz_model_add_linear(m, "0", 32, 1, &e_));
    OK(lpz_model_add_leaky_relu(m, 0.2f, &e_));
    OK(lpz_model_add_linear(m, "2", 32, 1, &e_));
    OK(lpz_model_add_leaky_relu(m, 0.2f, &e_));
    OK(lpz_model_add_linear(m, "4", 1, 1, &e_));
    OK(lpz_model_add_sigmoid(m, &e_));
    check_model(m, "mlp_d.ref", 1, 1.0f);
    lpz_model_destroy(m);
}

static void test_dcgan_generator_matches_torch(void **state)
{
    (void)state;
    lpz_model *m;
    lpz_shape in = lpz_shape_make(3, 8, 1, 1, 0);
    OK(lpz_model_create(&in, 1, &m, &e_));
    OK(lpz_model_add_conv_transpose2d(m, "0", 16, 4, 1, 0, 0, &e_));
    OK(lpz_model_add_batchnorm(m, "1", &e_));
    OK(lpz_model_add_relu(m, &e_));
    OK(lpz_model_add_conv_transpose2d(m, "3", 8, 4, 2, 1, 0, &e_));
    OK(lpz_model_add_batchnorm(m, "4", &e_));
    OK(lpz_model_add_relu(m, &e_));
    OK(lpz_model_add_conv_transpose2d(m, "6", 3, 4, 2, 1, 1, &e_));
    OK(lpz_model_add_tanh(m, &e_));
    lpz_shape out = lpz_model_output_shape(m);
    assert_int_equal(out.ndim, 3);
    assert_int_equal(out.dim[0], 3);
    assert_int_equal(out.dim[1], 16);
    assert_int_equal(out.dim[2], 16);
    check_model(m, "dcgan_g.ref", 0, 0);
    lpz_model_destroy(m);
}

static void test_dcgan_discriminator_matches_torch(void **state)
{
    (void)state;
    lpz_model *m;
    lpz_shape in = lpz_shape_make(3, 3, 16, 16, 0);
    OK(lpz_model_create(&in, 1, &m, &e_));
    OK(lpz_model_add_conv2d(m, "0", 8, 4, 2, 1, 1, &e_));
    OK(lpz_model_add_leaky_relu(m, 0.2f, &e_));
    OK(lpz_model_add_conv2d(m, "2", 16, 4, 2, 1, 0, &e_));
    OK(lpz_model_add_batchnorm(m, "3", &e_));
    OK(lpz_model_add_leaky_relu(m, 0.2f, &e_));
    OK(lpz_model_add_conv2d(m, "5", 1, 4, 1, 0, 0, &e_));
    OK(lpz_model_add_sigmoid(m, &e_));
    check_model(m, "dcgan_d.ref", 1, 0.0f);
    lpz_model_destroy(m);
}

static void test_lstm_sequence_model_matches_torch(void **state)
{
    (void)state;
    lpz_model *m;
    lpz_shape in = lpz_shape_make(2, 6, 4, 0, 0);
    OK(lpz_model_create(&in, 1, &m, &e_));
    OK(lpz_model_add_linear(m, "inp", 10, 1, &e_));
    OK(lpz_model_add_lstm(m, "rnn", 10, 2, 0.0f, &e_));
    OK(lpz_model_add_linear(m, "out", 4, 1, &e_));
    check_model(m, "lstm_seq.ref", 0, 0);
    lpz_model_destroy(m);
}

static void test_losses_match_torch(void **state)
{
    (void)state;
    ref f;
    ref_load(&f, "losses.ref");
    const rec *p = ref_get(&f, "p"), *s = ref_get(&f, "s");
    static const struct {
        const char *name;
        lpz_loss_kind kind;
    } kinds[] = {{"bce", LPZ_LOSS_BCE}, {"mse", LPZ_LOSS_MSE}, {"heuristic", LPZ_LOSS_HEURISTIC},
                 {"wasserstein", LPZ_LOSS_WASSERSTEIN}};
    int checked = 0;
    for (int k = 0; k < 4; k++)
        for (int t = 0; t <= 1; t++) {
            if (kinds[k].kind == LPZ_LOSS_HEURISTIC && t == 0)
                continue;
            const rec *in = kinds[k].kind == LPZ_LOSS_WASSERSTEIN ? s : p;
            char key[64], what[96];
            snprintf(key, sizeof(key), "%s:%d:value", kinds[k].name, t);
            const rec *v = ref_get(&f, key);
            snprintf(key, sizeof(key), "%s:%d:grad", kinds[k].name, t);
            const rec *g = ref_get(&f, key);
            double loss;
            float grad[16];
            assert_true(in->numel <= 16);
            assert_int_equal(lpz_loss(kinds[k].kind, in->data, in->numel, (float)t, &loss, grad, &e_), LPZ_OK);
            float lf = (float)loss;
            snprintf(what, sizeof(what), "%s target %d value", kinds[k].name, t);
            expect_close(what, &lf, v->data, 1, REL_TOL);
            snprintf(what, sizeof(what), "%s target %d gradient", kinds[k].name, t);
            expect_close(what, grad, g->data, in->numel, REL_TOL);
            checked++;
        }
    assert_int_equal(checked, 7);
    ref_free(&f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_mlp_generator_matches_torch),
        cmocka_unit_test(test_mlp_discriminator_matches_torch),
        cmocka_unit_test(test_dcgan_generator_matches_torch),
        cmocka_unit_test(test_dcgan_discriminator_matches_torch),
        cmocka_unit_test(test_lstm_sequence_model_matches_torch),
        cmocka_unit_test(test_losses_match_torch),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
