/* tests/networks/net_test_util.c - see net_test_util.h. */
#include "net_test_util.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

extern const lpz_plugin lpz_plugin_descriptor;

static void fail_with(const char *what, const lpz_error *err)
{
    char buf[2048];
    print_error("%s: %s\n", what, lpz_error_format(err, buf, sizeof buf));
    fail();
}

lpz_options *nt_options(const char *const *pairs)
{
    lpz_options *opts = lpz_options_create(lpz_plugin_descriptor.options, lpz_plugin_descriptor.name);
    assert_non_null(opts);
    for (int i = 0; pairs && pairs[i]; i++) {
        char key[128];
        const char *eq = strchr(pairs[i], '=');
        assert_non_null(eq);
        snprintf(key, sizeof key, "%.*s", (int)(eq - pairs[i]), pairs[i]);
        lpz_error err;
        lpz_error_clear(&err);
        if (lpz_options_set(opts, key, eq + 1, "test", &err) != LPZ_OK)
            fail_with(pairs[i], &err);
    }
    return opts;
}

lpz_network *nt_network(const lpz_options *opts, lpz_shape sample, int critic)
{
    lpz_network *net = NULL;
    lpz_error err;
    lpz_error_clear(&err);
    if (lpz_network_create(&lpz_plugin_descriptor, opts, &sample, critic, &net, &err) != LPZ_OK)
        fail_with("lpz_network_create", &err);
    return net;
}

int nt_try_network(const lpz_options *opts, lpz_shape sample, int critic, lpz_error *err)
{
    lpz_network *net = NULL;
    lpz_error_clear(err);
    int rc = lpz_network_create(&lpz_plugin_descriptor, opts, &sample, critic, &net, err);
    if (rc == LPZ_OK) {
        assert_non_null(net);
        lpz_network_destroy(net);
    } else {
        assert_null(net);
    }
    return rc;
}

lpz_model *nt_build(const lpz_network *net, lpz_role role, uint64_t seed)
{
    lpz_model *m = NULL;
    lpz_error err;
    lpz_error_clear(&err);
    if (lpz_network_build(net, role, seed, &m, &err) != LPZ_OK)
        fail_with("lpz_network_build", &err);
    return m;
}

void nt_expect_tensors(const lpz_model *m, const nt_tensor_spec *spec, int n)
{
    int count = lpz_model_tensor_count(m);
    for (int i = 0; i < count && i < n; i++) {
        const char *name;
        lpz_shape shape;
        float *data;
        int trainable;
        assert_int_equal(lpz_model_tensor_info(m, i, &name, &shape, &data, &trainable), LPZ_OK);
        assert_string_equal(name, spec[i].name);
        if (shape.ndim != spec[i].ndim)
            print_error("tensor %s: ndim %d, expected %d\n", name, shape.ndim, spec[i].ndim);
        assert_int_equal(shape.ndim, spec[i].ndim);
        for (int d = 0; d < shape.ndim; d++)
            assert_int_equal(shape.dim[d], spec[i].dim[d]);
    }
    assert_int_equal(count, n);
}

void nt_fill_normal(float *x, size_t n, uint64_t seed)
{
    lpz_rng rng;
    lpz_rng_seed(&rng, seed, 17);
    lpz_rng_fill_normal(&rng, x, n, 0.0f, 1.0f);
}

void nt_fill_uniform(float *x, size_t n, uint64_t seed)
{
    lpz_rng rng;
    lpz_rng_seed(&rng, seed, 18);
    lpz_rng_fill_uniform(&rng, x, n, -1.0f, 1.0f);
}

const float *nt_forward(lpz_model *m, const float *x, int64_t n)
{
    lpz_error err;
    lpz_error_clear(&err);
    const float *y = lpz_model_forward(m, x, n, &err);
    if (!y)
        fail_with("lpz_model_forward", &err);
    return y;
}

static int compare_tensors(const lpz_model *a, const lpz_model *b, int report)
{
    int n = lpz_model_tensor_count(a);
    if (n != lpz_model_tensor_count(b))
        return 1;
    for (int i = 0; i < n; i++) {
        const char *na, *nb;
        lpz_shape sa, sb;
        float *da, *db;
        int ta, tb;
        assert_int_equal(lpz_model_tensor_info(a, i, &na, &sa, &da, &ta), LPZ_OK);
        assert_int_equal(lpz_model_tensor_info(b, i, &nb, &sb, &db, &tb), LPZ_OK);
        assert_string_equal(na, nb);
        int64_t count = lpz_shape_numel(&sa);
        assert_int_equal(count, lpz_shape_numel(&sb));
        if (memcmp(da, db, (size_t)count * sizeof(float)) != 0) {
            if (report)
                print_error("tensor %s differs\n", na);
            return 1;
        }
    }
    return 0;
}

void nt_expect_same_tensors(const lpz_model *a, const lpz_model *b)
{
    assert_int_equal(lpz_model_tensor_count(a), lpz_model_tensor_count(b));
    assert_int_equal(compare_tensors(a, b, 1), 0);
}

int nt_tensors_differ(const lpz_model *a, const lpz_model *b)
{
    return compare_tensors(a, b, 0);
}

void nt_round_trip(const lpz_network *net, lpz_role role, lpz_model *m, const char *path)
{
    lpz_error err;
    lpz_error_clear(&err);
    const char *keys[] = {"learning_rate", "cell"};
    const char *values[] = {"0.0002", "3"};
    if (lpz_model_save(path, m, net, role, keys, values, 2, &err) != LPZ_OK)
        fail_with("lpz_model_save", &err);

    lpz_model *other = nt_build(net, role, 987654321);
    assert_true(nt_tensors_differ(m, other)); /* the load must do the work */
    if (lpz_model_load_into(path, other, &err) != LPZ_OK)
        fail_with("lpz_model_load_into", &err);
    nt_expect_same_tensors(m, other);

    /* Same outputs, bit for bit, in evaluation mode. */
    lpz_shape in = lpz_model_input_shape(m), out = lpz_model_output_shape(m);
    int64_t n = 3, in_n = lpz_shape_numel(&in), out_n = lpz_shape_numel(&out);
    float *x = malloc((size_t)(n * in_n) * sizeof *x);
    float *y = malloc((size_t)(n * out_n) * sizeof *y);
    assert_non_null(x);
    assert_non_null(y);
    nt_fill_uniform(x, (size_t)(n * in_n), 5);
    lpz_model_set_training(m, 0);
    lpz_model_set_training(other, 0);
    memcpy(y, nt_forward(m, x, n), (size_t)(n * out_n) * sizeof *y);
    const float *y2 = nt_forward(other, x, n);
    assert_memory_equal(y, y2, (size_t)(n * out_n) * sizeof *y);
    free(x);
    free(y);

    /* The metadata names the network. */
    lpz_model_info info;
    if (lpz_model_file_info(path, &info, &err) != LPZ_OK)
        fail_with("lpz_model_file_info", &err);
    assert_true(info.has_network);
    assert_string_equal(info.network, lpz_network_plugin(net)->name);
    assert_string_equal(info.format, LPZ_MODEL_FORMAT);
    assert_string_equal(info.lpz_version, LPZ_VERSION);
    assert_int_equal(info.role, role);
    assert_int_equal(info.critic, lpz_network_critic(net));
    lpz_shape s = lpz_network_sample_shape(net), l = lpz_network_latent_shape(net);
    assert_int_equal(info.sample_shape.ndim, s.ndim);
    for (int d = 0; d < s.ndim; d++)
        assert_int_equal(info.sample_shape.dim[d], s.dim[d]);
    assert_int_equal(info.latent_shape.ndim, l.ndim);
    for (int d = 0; d < l.ndim; d++)
        assert_int_equal(info.latent_shape.dim[d], l.dim[d]);
    assert_string_equal(lpz_model_info_extra(&info, "learning_rate"), "0.0002");
    assert_string_equal(lpz_model_info_extra(&info, "cell"), "3");
    assert_int_equal(info.n_tensors, lpz_model_tensor_count(m));
    int n_spec = 0;
    while (lpz_plugin_descriptor.options && lpz_plugin_descriptor.options[n_spec].name)
        n_spec++;
    assert_int_equal(info.n_options, n_spec);
    lpz_model_info_free(&info);
    lpz_model_destroy(other);
}

static char temp_dir[256];
static char temp_paths[64][320];
static int n_temp;

static void remove_temps(void)
{
    for (int i = 0; i < n_temp; i++)
        unlink(temp_paths[i]);
    if (temp_dir[0])
        rmdir(temp_dir);
}

const char *nt_temp_path(const char *name)
{
    if (!temp_dir[0]) {
        /* Model files are written with fsync; on tmpfs that costs nothing. */
        const char *base = getenv("TMPDIR");
        struct stat st;
        if (!base || !base[0])
            base = stat("/dev/shm", &st) == 0 && S_ISDIR(st.st_mode) && access("/dev/shm", W_OK) == 0
                       ? "/dev/shm"
                       : "/tmp";
        snprintf(temp_dir, sizeof temp_dir, "%s/lpz-nettest-XXXXXX", base);
        assert_non_null(mkdtemp(temp_dir));
        atexit(remove_temps);
    }
    assert_true(n_temp < 64);
    snprintf(temp_paths[n_temp], sizeof temp_paths[n_temp], "%s/%s", temp_dir, name);
    return temp_paths[n_temp++];
}

void nt_expect_error_mentions(const lpz_error *err, const char *needle)
{
    char buf[2048];
    lpz_error_format(err, buf, sizeof buf);
    if (!strstr(buf, needle)) {
        print_error("error \"%s\" does not mention \"%s\"\n", buf, needle);
        fail();
    }
}
