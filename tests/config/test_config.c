/* The run file behaves as docs/configuration.md says: keys, defaults,
 * includes, original-style files, overrides, every error case (with
 * file:line and a hint), the dump round trip, and plugin options. Fixture
 * files are written into a fresh temporary folder per test. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
/* cmocka needs the three above first. */
#include <cmocka.h>

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config/config.h"
#include "config/options_internal.h"
#include "hang_guard.h"

#include <limits.h>

static char dir[256];

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static int setup(void **state)
{
    (void)state;
    snprintf(dir, sizeof dir, "/tmp/lpz-config-test-XXXXXX");
    return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    return nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* Writes text to <dir>/<name> (creating one level of sub-folder) and
 * returns the full path (valid until the next call). */
static const char *put(const char *name, const char *text)
{
    static char path[2][512];
    static int which;
    which ^= 1;
    snprintf(path[which], sizeof path[which], "%s/%s", dir, name);
    char sub[512];
    snprintf(sub, sizeof sub, "%s", path[which]);
    char *slash = strrchr(sub, '/');
    *slash = '\0';
    mkdir(sub, 0700);
    FILE *f = fopen(path[which], "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
    return path[which];
}

static void assert_contains(const char *haystack, const char *needle)
{
    if (!strstr(haystack, needle))
        fail_msg("expected \"%s\" to contain \"%s\"", haystack, needle);
}

/* Loads (and validates when load succeeds) and expects an error. */
static void expect_error(const char *path, int code, const char *where, const char *message, const char *hint)
{
    lpz_config cfg;
    lpz_error err;
    int rc = lpz_config_load(path, &cfg, &err);
    if (rc == LPZ_OK)
        rc = lpz_config_validate(&cfg, &err);
    if (rc == LPZ_OK)
        fail_msg("%s loaded without error", path);
    assert_int_equal(rc, code);
    assert_int_equal(err.code, code);
    if (where)
        assert_contains(err.where, where);
    if (message)
        assert_contains(err.message, message);
    if (hint)
        assert_contains(err.hint, hint);
    lpz_config_destroy(&cfg);
}

static void load_ok(const char *path, lpz_config *cfg)
{
    lpz_error err;
    int rc = lpz_config_load(path, cfg, &err);
    if (rc == LPZ_OK)
        rc = lpz_config_validate(cfg, &err);
    if (rc != LPZ_OK) {
        char buf[2048];
        fail_msg("%s: %s", path, lpz_error_format(&err, buf, sizeof buf));
    }
}

static const char *minimal = "trainer:\n"
                             "  n_iterations: 3\n"
                             "dataloader:\n"
                             "  dataset_name: mnist\n";

/* ---- defaults and original files ------------------------------------- */

static void test_defaults_are_the_references(void **state)
{
    (void)state;
    lpz_config cfg;
    lpz_error err;
    lpz_config_init_defaults(&cfg);
    assert_int_equal(cfg.trainer.params.tournament_size, 2);
    /* The default tournament of 2 does not fit a 1x1 grid with one
     * individual: validation lowers a default (never a written value). */
    assert_int_equal(lpz_config_validate(&cfg, &err), LPZ_OK);
    assert_int_equal(cfg.trainer.params.tournament_size, 1);
    assert_string_equal(cfg.general.output_dir, "./output");
    assert_int_equal(cfg.general.seed, 1);
    assert_int_equal(cfg.general.checkpoint_period, 0);
    assert_int_equal(cfg.trainer.name, LPZ_TRAINER_GAN);
    assert_int_equal(cfg.trainer.params.population_size, 1);
    assert_int_equal(cfg.trainer.params.n_replacements, 1);
    assert_true(cfg.trainer.params.default_adam_learning_rate == 0.0002);
    assert_true(cfg.trainer.params.alpha == 0.0001);
    assert_true(cfg.trainer.params.mutation_probability == 0.5);
    assert_true(cfg.trainer.params.mixture_sigma == 0.01);
    assert_true(cfg.trainer.params.enable_selection);
    assert_int_equal(cfg.trainer.params.score.type, LPZ_SCORE_FID);
    assert_int_equal(cfg.trainer.params.score.score_sample_size, 1000);
    assert_int_equal(cfg.trainer.params.fitness.fitness_sample_size, 1000);
    assert_int_equal(cfg.master.score_sample_size, 50000);
    assert_int_equal(cfg.dataloader.n_batches, 0);
    assert_true(cfg.dataloader.sampling_ratio == 1.0);
    assert_int_equal(lpz_config_grid_size(&cfg), 1);
    assert_string_equal(lpz_config_where(&cfg, "trainer.n_iterations"), "default");
    lpz_config_destroy(&cfg);
}

static const char *source_path(const char *rel)
{
    static char path[1024];
    const char *src = getenv("LPZ_SOURCE_DIR");
    assert_non_null(src);
    snprintf(path, sizeof path, "%s/%s", src, rel);
    return path;
}

static void test_original_quick_start_files_parse(void **state)
{
    (void)state;
    lpz_config cfg;
    load_ok(source_path("configuration/lipizzaner-gan/mnist.yml"), &cfg);
    /* general.yml via !include, with the original's True/False and port range. */
    assert_int_equal(cfg.general.distribution.n_client_nodes, 4);
    for (int i = 0; i < 4; i++) {
        assert_string_equal(cfg.general.distribution.client_nodes[i].address, "127.0.0.1");
        assert_int_equal(cfg.general.distribution.client_nodes[i].port, 5000 + i);
    }
    assert_int_equal(lpz_config_grid_size(&cfg), 2);
    assert_true(cfg.general.distribution.master_node.exit_clients_on_disconnect);
    assert_false(cfg.general.losswise.enabled);
    assert_int_equal(cfg.general.logging.image_format, LPZ_IMAGE_JPG);
    assert_string_equal(cfg.dataloader.dataset_name, "mnist");
    assert_string_equal(cfg.network.name, "four_layer_perceptron");
    assert_int_equal(cfg.trainer.params.discriminator_skip_each_nth_step, 1);
    assert_true(cfg.trainer.params.score.cuda);
    assert_contains(lpz_config_where(&cfg, "general.seed"), "general.yml:");
    lpz_config_destroy(&cfg);

    load_ok(source_path("configuration/lipizzaner-gan/celeba.yml"), &cfg);
    assert_int_equal(cfg.dataloader.batch_size, 128);
    assert_true(cfg.trainer.params.default_adam_learning_rate == 0.00005);
    lpz_config_destroy(&cfg);
    load_ok(source_path("configuration/lipizzaner-gan/network_traffic.yml"), &cfg);
    assert_string_equal(cfg.network.name, "rnn");
    assert_false(cfg.trainer.params.score.enabled);
    lpz_config_destroy(&cfg);
}

static void test_shipped_experiment_files_parse_with_their_grid(void **state)
{
    (void)state;
    const int sizes[] = {1, 2, 3, 4, 5, 6, 7, 8, 12};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        char rel[128];
        snprintf(rel, sizeof rel, "configuration/neurips2018/mnist-%dx%d.yml", sizes[i], sizes[i]);
        lpz_config cfg;
        load_ok(source_path(rel), &cfg);
        assert_int_equal(lpz_config_grid_size(&cfg), sizes[i]);
        assert_int_equal(cfg.general.distribution.n_client_nodes, sizes[i] * sizes[i]);
        assert_int_equal(cfg.trainer.n_iterations, 200);
        assert_false(cfg.trainer.params.enable_selection);
        lpz_config_destroy(&cfg);
    }
    lpz_config cfg;
    load_ok(source_path("configuration/quickstart/fashion-mnist-2x2.yml"), &cfg);
    assert_int_equal(lpz_config_grid_size(&cfg), 2);
    assert_string_equal(cfg.dataloader.dataset_name, "fashion_mnist");
    assert_int_equal(cfg.dataloader.n_batches, 100);
    assert_int_equal(cfg.trainer.params.discriminator_skip_each_nth_step, 0);
    lpz_config_destroy(&cfg);
}

static void test_booleans_in_every_spelling(void **state)
{
    (void)state;
    lpz_config cfg;
    load_ok(put("b.yml", "trainer:\n  calculate_net_weights_dist: True\n  params:\n    enable_selection: no\n"
                         "dataloader:\n  shuffle: FALSE\n  use_batch: yes\nmaster:\n  cuda: on\n"),
            &cfg);
    assert_true(cfg.trainer.calculate_net_weights_dist);
    assert_false(cfg.trainer.params.enable_selection);
    assert_false(cfg.dataloader.shuffle);
    assert_true(cfg.dataloader.use_batch);
    assert_true(cfg.master.cuda);
    lpz_config_destroy(&cfg);
    expect_error(put("b2.yml", "dataloader:\n  shuffle: maybe\n"), LPZ_EINVAL,
                 "b2.yml:2:12: dataloader.shuffle", "expects a boolean", "true or false");
}

static void test_port_ranges_expand_and_bad_ports_fail(void **state)
{
    (void)state;
    lpz_config cfg;
    load_ok(put("p.yml", "general:\n  distribution:\n    client_nodes:\n"
                         "      - address: 10.0.0.1\n        port: 6000-6002\n"
                         "      - {address: host-b, port: 7000}\n"),
            &cfg);
    assert_int_equal(cfg.general.distribution.n_client_nodes, 4);
    assert_int_equal(cfg.general.distribution.client_nodes[2].port, 6002);
    assert_string_equal(cfg.general.distribution.client_nodes[3].address, "host-b");
    assert_int_equal(cfg.general.distribution.client_nodes[3].port, 7000);
    assert_int_equal(lpz_config_grid_size(&cfg), 2);
    lpz_config_destroy(&cfg);

    expect_error(put("p2.yml", "general:\n  distribution:\n    client_nodes:\n"
                               "      - address: 10.0.0.1\n        port: 5003-5000\n"),
                 LPZ_EINVAL, "p2.yml:5:15: general.distribution.client_nodes[0].port", "bad port", "range");
    expect_error(
        put("p3.yml", "general:\n  distribution:\n    client_nodes:\n      - address:\n        port: 5000\n"),
        LPZ_EINVAL, "p3.yml:4:", "no address", "IP address");
    expect_error(put("p4.yml", "general:\n  distribution:\n    client_nodes:\n      - adress: x\n"),
                 LPZ_ENOTFOUND, "p4.yml:4:9", "unknown key 'adress'", "did you mean 'address'?");
}

/* An address that cannot be dialled (empty, blanks, a URL, a port written into it) is refused where it is
 * written: the master found out only when it dialled, naming no file or line. */
static void test_client_addresses_are_checked_where_written(void **state)
{
    (void)state;
    static const char *const bad[][3] = {
        {"\"\"", "no address", "IP address or host name"},
        {"\"tcp://10.0.0.1\"", "'tcp://10.0.0.1' is not a host name or IP address", "without the tcp://"},
        {"10.0.0.1:5001", "'10.0.0.1:5001' is a host and a port", "'address: 10.0.0.1' and 'port: 5001'"},
        {"\"[::1]:5001\"", "is a host and a port", "'address: [::1]' and 'port: 5001'"},
        {"\"10.0.0.1 \"", "is not a host name or IP address", "alone"},
        {"\"node one\"", "is not a host name or IP address", "alone"},
        {"a:b", "neither a host name nor an IP address", "IPv6"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char text[300];
        snprintf(text, sizeof text, "general:\n  distribution:\n    client_nodes:\n      - address: %s\n"
                 "        port: 5000\n", bad[i][0]);
        expect_error(put("a.yml", text), LPZ_EINVAL, "a.yml:4:18: general.distribution.client_nodes[0].address",
                     bad[i][1], bad[i][2]);
    }
    static const char *const good[] = {"10.0.0.1", "node-1.cluster", "\"::1\"", "\"[fe80::1]\"",
                                       "\"fe80::1%eth0\""};
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        char text[300];
        snprintf(text, sizeof text, "general:\n  distribution:\n    client_nodes:\n      - address: %s\n"
                 "        port: 5000\n", good[i]);
        lpz_config cfg;
        load_ok(put("a.yml", text), &cfg);
        assert_int_equal(cfg.general.distribution.n_client_nodes, 1);
        lpz_config_destroy(&cfg);
    }
}

/* The original's default_g/d_adam_learning_rate are refused as what they are, not as a typo of
 * default_adam_learning_rate (the hint said "did you mean 'trainer.params.default_adam_learning_rate'?"). */
static void test_original_separate_learning_rates_are_named_as_unsupported(void **state)
{
    (void)state;
    expect_error(put("q.yml", "trainer:\n  params:\n    default_adam_learning_rate: 0.0002\n"
                              "    default_d_adam_learning_rate: 0.001\n"),
                 LPZ_ENOTFOUND, "q.yml:4:5: trainer.params.default_d_adam_learning_rate",
                 "separate starting learning rate of the discriminators is not supported",
                 "lpz starts generators and discriminators at trainer.params.default_adam_learning_rate");
    expect_error(put("q.yml", "trainer:\n  params:\n    default_g_adam_learning_rate: 0.0002\n"), LPZ_ENOTFOUND,
                 "q.yml:3:5", "learning rate of the generators is not supported", "remove the key");
    lpz_config cfg;
    lpz_error err;
    load_ok(put("s.yml", minimal), &cfg);
    assert_int_equal(lpz_config_set(&cfg, "trainer.params.default_d_adam_learning_rate", "0.001", &err),
                     LPZ_ENOTFOUND);
    assert_contains(err.message, "discriminators is not supported");
    lpz_config_destroy(&cfg);
}

/* ---- errors ------------------------------------------------------------ */

static void test_unknown_key_suggests_the_closest(void **state)
{
    (void)state;
    const char *p = put("mnist.yml", "trainer:\n  name: lipizzaner_gan\n  params:\n    populaton_size: 4\n");
    expect_error(p, LPZ_ENOTFOUND, "mnist.yml:4:5: trainer.params.populaton_size",
                 "unknown key 'populaton_size'", "did you mean 'trainer.params.population_size'?");
    /* The right key in the wrong section. */
    expect_error(put("w.yml", "trainer:\n  batch_size: 4\n"), LPZ_ENOTFOUND, "w.yml:2:3: trainer.batch_size",
                 "unknown key", "dataloader.batch_size");
    /* Nothing close: list what exists. */
    expect_error(put("u.yml", "mastr:\n  cuda: true\nzzzzzzzz: 1\n"), LPZ_ENOTFOUND, "u.yml:1:1: mastr",
                 "unknown key", "did you mean 'master'?");
    expect_error(put("u2.yml", "zzzzzzzz: 1\n"), LPZ_ENOTFOUND, "u2.yml:1:1: zzzzzzzz", "unknown key",
                 "known sections: general, trainer, dataloader, network, master");
}

/* An unknown key whose value is an !include is named where it was written,
 * not at line 1 of the included file (which holds no such key); YAML's
 * merge key gets a hint of its own (it was "did you mean
 * 'general.distribution.tls.ca'?"). */
static void test_unknown_key_with_an_include_is_named_in_the_including_file(void **state)
{
    (void)state;
    put("inc-p.yml", "population_size: 1\n");
    expect_error(put("inc-u.yml", "trainer:\n  n_iterations: 2\n  paramz: !include inc-p.yml\n"), LPZ_ENOTFOUND,
                 "inc-u.yml:3:3: trainer.paramz", "unknown key 'paramz'", "did you mean 'trainer.params'?");
    expect_error(put("inc-top.yml", "general_: !include inc-p.yml\n"), LPZ_ENOTFOUND, "inc-top.yml:1:1: general_",
                 "unknown key 'general_'", "did you mean 'general'?");
    expect_error(put("inc-merge.yml", "trainer:\n  n_iterations: 2\n<<: !include inc-p.yml\n"), LPZ_ENOTFOUND,
                 "inc-merge.yml:3:1: <<", "unknown key '<<'", "merge keys (<<) are not supported");
}

static void test_wrong_types_name_the_expected_type(void **state)
{
    (void)state;
    expect_error(put("t.yml", "dataloader:\n  batch_size: lots\n"), LPZ_EINVAL,
                 "t.yml:2:15: dataloader.batch_size", "expects an integer, got 'lots'", "whole number");
    expect_error(put("t2.yml", "trainer:\n  n_iterations: 2.5\n"), LPZ_EINVAL, "t2.yml:2:17",
                 "expects an integer", "without a decimal point");
    expect_error(put("t3.yml", "trainer:\n  params:\n    alpha: fast\n"), LPZ_EINVAL,
                 "t3.yml:3:12: trainer.params.alpha", "expects a number", NULL);
    expect_error(put("t4.yml", "trainer:\n  params: 5\n"), LPZ_EINVAL, "t4.yml:2:11: trainer.params",
                 "is a section", NULL);
    expect_error(put("t5.yml", "trainer:\n  n_iterations: [1, 2]\n"), LPZ_EINVAL, "t5.yml:2:17",
                 "expects int, got a list", NULL);
    expect_error(put("t6.yml", "trainer:\n  n_iterations:\n"), LPZ_EINVAL, "t6.yml:", "has no value", NULL);
    expect_error(put("t7.yml", "trainer:\n  params:\n    score:\n      type: fdi\n"), LPZ_EINVAL,
                 "t7.yml:4:13: trainer.params.score.type", "unknown value 'fdi'", "did you mean 'fid'?");
}

static void test_out_of_range_values_fail_with_the_range(void **state)
{
    (void)state;
    expect_error(put("r.yml", "dataloader:\n  batch_size: -100\n"), LPZ_EINVAL,
                 "r.yml:2:15: dataloader.batch_size", "batch_size must be in [1, ", "samples per mini-batch");
    expect_error(put("r2.yml", "trainer:\n  params:\n    mutation_probability: 1.5\n"), LPZ_EINVAL,
                 "r2.yml:3:27: trainer.params.mutation_probability", "must be in [0, 1], got 1.5", NULL);
    expect_error(put("r3.yml", "dataloader:\n  sampling_ratio: 0\n"), LPZ_EINVAL, "r3.yml:2:19", "(0, 1]",
                 NULL);
    expect_error(put("r4.yml", "trainer:\n  params:\n    default_adam_learning_rate: -0.1\n"), LPZ_EINVAL,
                 "r4.yml:3:", "default_adam_learning_rate must be", NULL);
    /* whole numbers as whole numbers (it said "[0, 9.0072e+15], got 9.22337e+18"), the value as written */
    expect_error(put("r5.yml", "general:\n  seed: 9223372036854775807\n"), LPZ_EINVAL, "r5.yml:2:9",
                 "seed must be in [0, 9007199254740991], got 9223372036854775807", NULL);
    /* a number beyond double's range is said to be one (it said "expects a number") */
    expect_error(put("r6.yml", "trainer:\n  params:\n    alpha: 1e400\n"), LPZ_EINVAL, "r6.yml:3:",
                 "'1e400' is beyond the range of numbers", NULL);
    /* and one too close to 0 (it said "expects a number, got '1e-320'") */
    expect_error(put("r6b.yml", "trainer:\n  params:\n    alpha: 1e-320\n"), LPZ_EINVAL, "r6b.yml:3:",
                 "'1e-320' is too close to 0 for a number", NULL);
    /* an int field's range fits it (n_batches 4294967396 was stored as 100, 3000000000 said "got -1294967296") */
    expect_error(put("r7.yml", "dataloader:\n  n_batches: 4294967396\n"), LPZ_EINVAL, "r7.yml:2:",
                 "n_batches must be in [0, 2147483647], got 4294967396", NULL);
    size_t nk;
    const lpz_config_key *k = lpz_config_keys(&nk);
    for (size_t i = 0; i < nk; i++)
        if (k[i].type == LPZ_CFG_INT && k[i].size == sizeof(int) && !(k[i].min >= INT_MIN && k[i].max <= INT_MAX)) {
            fprintf(stderr, "%s: an int whose range is [%g, %g]\n", k[i].path, k[i].min, k[i].max);
            fail();
        }
}

static void test_non_square_client_count_is_refused(void **state)
{
    (void)state;
    put("g.yml", "distribution:\n  client_nodes:\n    - address: 127.0.0.1\n      port: 5000-5002\n");
    expect_error(put("sq.yml", "general: !include g.yml\n"), LPZ_EINVAL,
                 "g.yml:3:5: general.distribution.client_nodes", "3 client nodes do not form a square grid",
                 "1, 4, 9");
    /* An explicit grid size decides instead (local runs ignore the list). */
    lpz_config cfg;
    put("d.yml", "client_nodes:\n  - address: 127.0.0.1\n    port: 5000-5002\n");
    load_ok(put("sq2.yml", "general:\n  grid_size: 3\n  distribution: !include d.yml\n"), &cfg);
    assert_int_equal(lpz_config_grid_size(&cfg), 3);
    lpz_config_destroy(&cfg);
}

static void test_tournament_larger_than_neighbourhood_population(void **state)
{
    (void)state;
    /* 1x1 grid: neighbourhood of 1 cell x population 1 = 1 < tournament 2
     * (the original's quick start crashes on this). */
    const char *p = put("t.yml", "trainer:\n  params:\n    population_size: 1\n    tournament_size: 2\n");
    expect_error(p, LPZ_EINVAL, "t.yml:4:22: trainer.params.tournament_size",
                 "larger than the neighbourhood population 1", "at most 1");
    lpz_config cfg;
    /* Without selection the tournament never runs. */
    load_ok(put("t2.yml", "trainer:\n  params:\n    tournament_size: 2\n    enable_selection: False\n"),
            &cfg);
    lpz_config_destroy(&cfg);
    /* 2x2 grid: 3 cells x 1 = 3 >= 2; 3x3: 5 cells x 2 = 10 < 11. */
    load_ok(put("t3.yml", "general:\n  grid_size: 2\n"), &cfg);
    lpz_config_destroy(&cfg);
    expect_error(put("t4.yml", "general:\n  grid_size: 3\ntrainer:\n  params:\n    population_size: 2\n"
                               "    tournament_size: 11\n"),
                 LPZ_EINVAL, "t4.yml:6:22", "population 10 (population_size 2 x 5 cells of a 3x3 grid)",
                 NULL);
}

static void test_other_cross_checks(void **state)
{
    (void)state;
    expect_error(put("c.yml", "trainer:\n  n_iterations: 5\ngeneral:\n  checkpoint_period: 10\n"), LPZ_EINVAL,
                 "c.yml:4:22: general.checkpoint_period", "larger than n_iterations 5", NULL);
    expect_error(put("c2.yml", "trainer:\n  params:\n    n_replacements: 2\n"), LPZ_EINVAL,
                 "c2.yml:3:21: trainer.params.n_replacements", "larger than population_size", NULL);
    expect_error(put("c3.yml", "general:\n  distribution:\n    tls:\n      enabled: true\n"), LPZ_EINVAL,
                 "general.distribution.tls.enabled", "cert is empty", NULL);
}

/* Nesting deeper than 64 levels is refused at once, naming where: libyaml's
 * loader is quadratic in it (a 200 KB file of '[' took 45 s, 2 MB hours). */
static void test_deep_nesting_is_refused_quickly(void **state)
{
    (void)state;
    size_t n = 1000000;
    char *text = malloc(2 * n + 32);
    assert_non_null(text);
    strcpy(text, "general: ");
    size_t o = strlen(text);
    memset(text + o, '[', n);
    memset(text + o + n, ']', n);
    strcpy(text + o + 2 * n, "\n");
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    expect_error(put("deep.yml", text), LPZ_EFORMAT, "deep.yml:1:73", "nested more than 64 deep", NULL);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    free(text);
    /* not a timing assertion: a refusal that reached libyaml's loader would not end in the test's time limit */
    print_message("refused in %.3f s\n", (double)(t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) * 1e-9);
    /* 64 levels (the top mapping and 63 lists) pass the check: the file is
     * then refused for what it holds, a list where a section belongs */
    char ok[256] = "general: ";
    o = strlen(ok);
    memset(ok + o, '[', 63);
    memset(ok + o + 63, ']', 63);
    strcpy(ok + o + 126, "\n");
    expect_error(put("deep64.yml", ok), LPZ_EINVAL, NULL, "is a section", NULL);
    /* a file whose size is not known before it is read (procfs reports 0) is read, not called empty */
    if (access("/proc/self/status", R_OK) == 0)
        expect_error("/proc/self/status", LPZ_ENOTFOUND, "/proc/self/status:1:1", "unknown key 'Name'", NULL);
}

static void test_malformed_and_empty_files(void **state)
{
    (void)state;
    expect_error(put("m.yml", "trainer:\n  name: [unclosed\n  n_iterations: 3\n"), LPZ_EFORMAT,
                 "m.yml:", "malformed YAML", "indentation");
    expect_error(put("m2.yml", "trainer:\n\tname: x\n"), LPZ_EFORMAT, "m2.yml:2:", "malformed YAML", NULL);
    /* a byte that is not UTF-8, a control character: at their line and column (libyaml gives an offset only, and
     * every such error was at 1:1), with the byte */
    expect_error(put("u8.yml", "general:\n  seed: 1\ntrainer:\n  n_iterations: 1\n  \xff\n"), LPZ_EFORMAT,
                 "u8.yml:5:3", "invalid leading UTF-8 octet (byte 0xff)", "UTF-8");
    expect_error(put("ctl.yml", "general:\n  seed: 1\x01\n"), LPZ_EFORMAT, "ctl.yml:2:10",
                 "control characters are not allowed (U+0001)", "control characters");
    /* columns count characters: two 2-byte letters before the control character */
    expect_error(put("ctl2.yml", "general:\n  name: \xc3\xa9\xc3\xa9\x01\n"), LPZ_EFORMAT, "ctl2.yml:2:11",
                 "control characters are not allowed (U+0001)", NULL);
    expect_error(put("e.yml", ""), LPZ_EFORMAT, "e.yml", "empty", "trainer");
    expect_error(put("e2.yml", "# only a comment\n"), LPZ_EFORMAT, "e2.yml", "empty", NULL);
    expect_error(put("l.yml", "- a\n- b\n"), LPZ_EFORMAT, "l.yml:1:1", "must be a mapping of sections", NULL);
    expect_error(put("d.yml", "trainer:\n  n_iterations: 3\n  n_iterations: 4\n"), LPZ_EINVAL, "d.yml:3:3",
                 "appears twice", NULL);
    expect_error(put("tag.yml", "trainer:\n  n_iterations: !foo 3\n"), LPZ_EFORMAT, "tag.yml:2:17",
                 "unknown tag '!foo'", "!include");
    /* a standard tag lpz cannot honour is refused (a base64 !!binary path was taken as its text) */
    expect_error(put("bin.yml", "general:\n  output_dir: !!binary aGVsbG8=\n"), LPZ_EFORMAT, "bin.yml:2:15",
                 "the YAML tag '!!binary' is not supported", "!!str");
    expect_error(put("set.yml", "general:\n  distribution:\n    client_nodes: !!set {a: null}\n"), LPZ_EFORMAT,
                 "set.yml:3:19", "'!!set'", NULL);
    /* "\0" in a double-quoted value: refused, naming it (the text was cut there: "/data\0/etc" became "/data") */
    expect_error(put("nul.yml", "general:\n  output_dir: \"/tmp/x\\0/etc\"\n"), LPZ_EINVAL, "nul.yml:2:15",
                 "holds a NUL character", NULL);
    expect_error(source_path("configuration/does-not-exist.yml"), LPZ_ENOTFOUND, "does-not-exist.yml",
                 "cannot read the run file", NULL);
    /* A mapping that contains itself (through an alias) ends with an error, not a hang. */
    expect_error(put("loop.yml", "trainer: &t\n  params: *t\n"), LPZ_ENOTFOUND,
                 "loop.yml:", "unknown key 'params'", NULL);
    expect_error(
        put("bomb2.yml", "general:\n  distribution:\n    client_nodes: &n [{address: a, port: 1-65535}]\n"),
        LPZ_EINVAL, "bomb2.yml:3:", "more than 4096 client nodes", NULL);
}

/* ---- includes ------------------------------------------------------------ */

static void test_nested_includes_resolve_relative_to_the_including_file(void **state)
{
    (void)state;
    put("conf/logging.yml", "enabled: false\nlog_level: DEBUG\n");
    put("conf/general.yml", "seed: 42\nlogging: !include logging.yml\n");
    const char *p = put("run.yml", "general: !include conf/general.yml\n");
    lpz_config cfg;
    load_ok(p, &cfg);
    assert_int_equal(cfg.general.seed, 42);
    assert_false(cfg.general.logging.enabled);
    assert_int_equal(cfg.general.logging.log_level, LPZ_CFG_LOG_DEBUG);
    assert_contains(lpz_config_where(&cfg, "general.logging.log_level"), "conf/logging.yml:2:12");
    lpz_config_destroy(&cfg);
}

static void test_missing_include_names_the_file_and_line(void **state)
{
    (void)state;
    const char *p = put("run.yml", "trainer:\n  n_iterations: 3\ngeneral: !include nowhere.yml\n");
    expect_error(p, LPZ_ENOTFOUND, "run.yml:3:10: general", "cannot read included file",
                 "relative to the folder");
    lpz_config cfg;
    lpz_error err;
    lpz_config_load(p, &cfg, &err);
    assert_contains(err.message, "nowhere.yml");
    lpz_config_destroy(&cfg);
    expect_error(put("empty-inc.yml", "general: !include e.yml\n"), LPZ_ENOTFOUND, NULL, NULL, NULL);
    put("e.yml", "");
    expect_error(put("empty-inc.yml", "general: !include e.yml\n"), LPZ_EFORMAT,
                 "empty-inc.yml:1:10: general", "included file", NULL);
}

static void test_include_of_a_device_is_refused_not_read_forever(void **state)
{
    (void)state;
    expect_error(put("dev.yml", "general: !include /dev/zero\n"), LPZ_EINVAL, "dev.yml:1:10: general",
                 "not a regular file", NULL);
}

/* A FIFO (as a run file or an !include) is refused at once: opening one
 * with no writer used to block for good, also on a distributed client
 * given it in a START message. The hang guard turns a hang into a failure. */
static void test_fifo_is_refused_not_waited_on(void **state)
{
    (void)state;
    char fifo[512];
    snprintf(fifo, sizeof fifo, "%s/fifo.yml", dir);
    assert_int_equal(mkfifo(fifo, 0600), 0);
    lpz_test_hang_guard(10);
    expect_error(put("fifo-inc.yml", "general: !include fifo.yml\n"), LPZ_EINVAL, "fifo-inc.yml:1:10: general",
                 "not a regular file (a FIFO)", NULL);
    expect_error(fifo, LPZ_EINVAL, "fifo.yml", "not a regular file (a FIFO)", "-f");
    lpz_test_hang_guard(0);
}

static void test_load_from_memory(void **state)
{
    (void)state;
    lpz_config cfg;
    lpz_error err;
    const char text[] = "trainer:\n  n_iterations: 4\n  params:\n    tournament_size: 9\n";
    assert_int_equal(lpz_config_load_buffer(text, sizeof text - 1, "inline.yml", &cfg, &err), LPZ_OK);
    assert_int_equal(cfg.trainer.n_iterations, 4);
    assert_int_equal(lpz_config_validate(&cfg, &err), LPZ_EINVAL);
    assert_string_equal(err.where, "inline.yml:4:22: trainer.params.tournament_size");
    lpz_config_destroy(&cfg);
    assert_int_equal(lpz_config_load_buffer("", 0, "inline.yml", &cfg, &err), LPZ_EFORMAT);
    assert_contains(err.message, "empty");
    lpz_config_destroy(&cfg);
}

/* A master's configuration (and a run folder's config.yml) is read as lpz
 * wrote it: a tag there would read the client's files or environment on
 * the master's behalf and quote them back in an error (a scalar key
 * !include'd from /etc/passwd echoed the file). The same text loads as a
 * run file. */
static void test_resolved_text_refuses_tags(void **state)
{
    (void)state;
    lpz_config cfg;
    lpz_error err;
    setenv("LPZ_TEST_NAME", "from-env", 1);
    const char inc[] = "general:\n  seed: !include /etc/hostname\n";
    const char env[] = "general:\n  name: !ENV ${LPZ_TEST_NAME}\n";
    assert_int_equal(lpz_config_load_resolved(inc, sizeof inc - 1, "the master's configuration", &cfg, &err),
                     LPZ_EFORMAT);
    assert_contains(err.message, "'!include' is not allowed in the master's configuration");
    assert_contains(err.where, "general.seed");
    assert_contains(err.hint, "files");
    lpz_config_destroy(&cfg);
    assert_int_equal(lpz_config_load_resolved(env, sizeof env - 1, "config.yml", &cfg, &err), LPZ_EFORMAT);
    assert_contains(err.message, "'!ENV' is not allowed in config.yml");
    assert_contains(err.hint, "environment variables");
    lpz_config_destroy(&cfg);
    assert_int_equal(lpz_config_load_buffer(env, sizeof env - 1, "run.yml", &cfg, &err), LPZ_OK);
    assert_string_equal(cfg.general.name, "from-env");
    lpz_config_destroy(&cfg);
}

/* A value quoted in an error is cut at 60 characters: it may be a whole
 * file's text or thousands of digits. */
static void test_long_values_are_quoted_short(void **state)
{
    (void)state;
    char text[400] = "general:\n  seed: ";
    size_t len = strlen(text);
    memset(text + len, '9', 300);
    strcpy(text + len + 300, "\n");
    lpz_config cfg;
    lpz_error err;
    assert_int_equal(lpz_config_load_buffer(text, strlen(text), "big.yml", &cfg, &err), LPZ_EINVAL);
    assert_contains(err.message, "seed expects an integer, got '999999999999999999999999999999999999999999999999999999"
                                 "999999...'");
    assert_true(strlen(err.message) < 120);
    lpz_config_destroy(&cfg);
}

static void test_include_cycle_names_the_chain(void **state)
{
    (void)state;
    put("g.yml", "distribution: !include h.yml\n");
    put("h.yml", "master_node: !include g.yml\n");
    const char *p = put("run.yml", "general: !include g.yml\n");
    lpz_config cfg;
    lpz_error err;
    assert_int_equal(lpz_config_load(p, &cfg, &err), LPZ_EINVAL);
    assert_contains(err.message, "include cycle: ");
    assert_contains(err.message, "g.yml -> ");
    assert_contains(err.message, "h.yml -> ");
    assert_contains(err.where, "h.yml:1:14: general.distribution.master_node");
    assert_contains(err.hint, "remove one");
    lpz_config_destroy(&cfg);
    expect_error(put("self.yml", "general: !include self.yml\n"), LPZ_EINVAL, "self.yml:1:10",
                 "include cycle", NULL);
}

static void test_env_tag_expands_variables(void **state)
{
    (void)state;
    setenv("LPZ_TEST_OUT", "/tmp/somewhere", 1);
    lpz_config cfg;
    load_ok(put("env.yml", "general:\n  output_dir: !ENV ${LPZ_TEST_OUT}/run\n"), &cfg);
    assert_string_equal(cfg.general.output_dir, "/tmp/somewhere/run");
    lpz_config_destroy(&cfg);
    unsetenv("LPZ_TEST_OUT");
    expect_error(put("env2.yml", "general:\n  output_dir: !ENV ${LPZ_TEST_OUT}\n"), LPZ_ENOTFOUND,
                 "env2.yml:2:15", "LPZ_TEST_OUT is not set", NULL);
    expect_error(put("env3.yml", "general:\n  output_dir: !ENV ${}/x\n"), LPZ_EINVAL, "env3.yml:2:15", "empty ${}",
                 "the variable's name");
    /* ${NAME:-default}, as in the shell: the default when NAME is unset or empty */
    load_ok(put("env5.yml", "general:\n  output_dir: !ENV ${LPZ_TEST_OUT:-/tmp/fallback}/run\n"), &cfg);
    assert_string_equal(cfg.general.output_dir, "/tmp/fallback/run");
    lpz_config_destroy(&cfg);
    setenv("LPZ_TEST_OUT", "", 1);
    load_ok(put("env5.yml", "general:\n  output_dir: !ENV ${LPZ_TEST_OUT:-/tmp/fallback}/run\n"), &cfg);
    assert_string_equal(cfg.general.output_dir, "/tmp/fallback/run");
    lpz_config_destroy(&cfg);
    setenv("LPZ_TEST_OUT", "/tmp/set", 1);
    load_ok(put("env5.yml", "general:\n  output_dir: !ENV ${LPZ_TEST_OUT:-/tmp/fallback}/run\n"), &cfg);
    assert_string_equal(cfg.general.output_dir, "/tmp/set/run");
    lpz_config_destroy(&cfg);
    unsetenv("LPZ_TEST_OUT");
    expect_error(put("env6.yml", "general:\n  output_dir: !ENV ${:-/x}\n"), LPZ_EINVAL, "env6.yml:2:15", "empty ${}",
                 NULL);
    /* other shell forms are not variable names: said, not looked up as one */
    expect_error(put("env7.yml", "general:\n  output_dir: !ENV ${LPZ_TEST_OUT:=/x}\n"), LPZ_EINVAL, "env7.yml:2:15",
                 "'LPZ_TEST_OUT:=/x' in !ENV value '${LPZ_TEST_OUT:=/x}' is not a variable name",
                 "${NAME:-default}");
    /* a variable too long for a value: named, with the limit */
    char *big = malloc(70000);
    assert_non_null(big);
    memset(big, 'a', 69999);
    big[69999] = '\0';
    setenv("LPZ_TEST_BIG", big, 1);
    free(big);
    expect_error(put("env4.yml", "general:\n  output_dir: !ENV ${LPZ_TEST_BIG}\n"), LPZ_EINVAL, "env4.yml:2:15",
                 "${LPZ_TEST_BIG} is 69999 characters, and a value holds at most", NULL);
    unsetenv("LPZ_TEST_BIG");
}

static void test_optimize_mixture_section_switches_it_on(void **state)
{
    (void)state;
    lpz_config cfg;
    load_ok(put("o.yml", "trainer:\n  params:\n    optimize_mixture:\n      es_generations: 5\n"), &cfg);
    assert_true(cfg.trainer.params.optimize_mixture.enabled);
    assert_int_equal(cfg.trainer.params.optimize_mixture.es_generations, 5);
    lpz_config_destroy(&cfg);
    load_ok(put("o2.yml", "trainer:\n  params:\n    optimize_mixture:\n      enabled: false\n"), &cfg);
    assert_false(cfg.trainer.params.optimize_mixture.enabled);
    /* without a score, refused: score.type none, and score.enabled false (it passed, and the ES ran on nothing) */
    expect_error(put("o3.yml", "trainer:\n  params:\n    score:\n      type: none\n    optimize_mixture:\n"
                               "      es_generations: 5\n"),
                 LPZ_EINVAL, "trainer.params.optimize_mixture.enabled", "score.type is none", "score.type: fid");
    expect_error(put("o4.yml", "trainer:\n  params:\n    score:\n      enabled: false\n    optimize_mixture:\n"
                               "      es_generations: 5\n"),
                 LPZ_EINVAL, "trainer.params.optimize_mixture.enabled", "score.enabled is false",
                 "score.enabled: true");
    lpz_config_destroy(&cfg);
}

/* ---- overrides ----------------------------------------------------------- */

static void test_set_overrides_keys_and_plugin_options(void **state)
{
    (void)state;
    lpz_config cfg;
    lpz_error err;
    load_ok(put("s.yml", minimal), &cfg);
    assert_int_equal(lpz_config_set(&cfg, "trainer.params.population_size", "2", &err), LPZ_OK);
    assert_int_equal(cfg.trainer.params.population_size, 2);
    assert_string_equal(lpz_config_where(&cfg, "trainer.params.population_size"), "--set");
    assert_int_equal(lpz_config_set_assignment(&cfg, "trainer.n_iterations=7", &err), LPZ_OK);
    assert_int_equal(cfg.trainer.n_iterations, 7);
    assert_int_equal(lpz_config_set(&cfg, "general.output_dir", "\"/tmp/a b\"", &err), LPZ_OK);
    assert_string_equal(cfg.general.output_dir, "/tmp/a b");
    assert_int_equal(lpz_config_set(&cfg, "trainer.params.enable_selection", "False", &err), LPZ_OK);
    assert_false(cfg.trainer.params.enable_selection);
    assert_int_equal(lpz_config_set(&cfg, "general.distribution.client_nodes",
                                    "[{address: 10.1.1.1, port: 5000-5008}]", &err),
                     LPZ_OK);
    assert_int_equal(lpz_config_grid_size(&cfg), 3);
    /* A plugin option: kept as text with where "--set". */
    assert_int_equal(lpz_config_set(&cfg, "dataloader.path", "/data/mnist", &err), LPZ_OK);
    assert_int_equal(cfg.dataloader.options.count, 1);
    assert_string_equal(cfg.dataloader.options.items[0].key, "path");
    assert_string_equal(cfg.dataloader.options.items[0].value, "/data/mnist");
    assert_string_equal(cfg.dataloader.options.items[0].where, "--set");
    assert_int_equal(lpz_config_set(&cfg, "dataloader.path", "/data/other", &err), LPZ_OK);
    assert_int_equal(cfg.dataloader.options.count, 1);
    assert_string_equal(cfg.dataloader.options.items[0].value, "/data/other");
    lpz_config_destroy(&cfg);
}

static void test_bad_overrides_are_explained(void **state)
{
    (void)state;
    lpz_config cfg;
    lpz_error err;
    load_ok(put("s.yml", minimal), &cfg);
    assert_int_equal(lpz_config_set(&cfg, "trainer.params.populaton_size", "2", &err), LPZ_ENOTFOUND);
    assert_string_equal(err.where, "--set trainer.params.populaton_size");
    assert_contains(err.hint, "trainer.params.population_size");
    assert_int_equal(lpz_config_set(&cfg, "trainer.params.population_size", "two", &err), LPZ_EINVAL);
    assert_string_equal(err.where, "--set trainer.params.population_size");
    assert_contains(err.message, "expects an integer");
    assert_int_equal(lpz_config_set(&cfg, "trainer.params", "2", &err), LPZ_EINVAL);
    assert_contains(err.message, "is a section");
    /* --set has no colon: the hints say how to write an override */
    assert_int_equal(lpz_config_set_assignment(&cfg, "trainer.n_iterations=", &err), LPZ_EINVAL);
    assert_contains(err.message, "n_iterations has no value");
    assert_contains(err.hint, "--set trainer.n_iterations=10");
    assert_int_equal(lpz_config_set(&cfg, "trainer.n_iterations", "[1, 2]", &err), LPZ_EINVAL);
    assert_contains(err.hint, "--set trainer.n_iterations=10");
    assert_int_equal(lpz_config_set(&cfg, "dataloader.batch_size", "[1", &err), LPZ_EINVAL);
    assert_contains(err.message, "malformed value");
    assert_int_equal(lpz_config_set_assignment(&cfg, "trainer.n_iterations", &err), LPZ_EINVAL);
    assert_contains(err.message, "not key=value");
    assert_int_equal(lpz_config_set(&cfg, "dataloader.nested.deep", "1", &err), LPZ_ENOTFOUND);
    /* a value of several YAML documents (the rest was ignored), a NUL character (the text was cut there) */
    assert_int_equal(lpz_config_set(&cfg, "trainer.params.population_size", "7\n---\n{{{", &err), LPZ_EINVAL);
    assert_contains(err.message, "holds more than one YAML document");
    assert_int_equal(lpz_config_set(&cfg, "trainer.params.population_size", "7\n---\n8", &err), LPZ_EINVAL);
    assert_int_equal(lpz_config_set(&cfg, "general.output_dir", "\"/tmp/a\\0/etc\"", &err), LPZ_EINVAL);
    assert_contains(err.message, "holds a NUL character");
    assert_string_equal(err.where, "--set general.output_dir");
    /* Failed overrides changed nothing. */
    assert_int_equal(cfg.trainer.params.population_size, 1);
    lpz_config_destroy(&cfg);

    const char *sets[] = {"trainer.params.tournament_size=5"};
    assert_int_equal(lpz_config_read(put("s2.yml", minimal), sets, 1, &cfg, &err), LPZ_EINVAL);
    assert_string_equal(err.where, "--set trainer.params.tournament_size");
    assert_contains(err.message, "larger than the neighbourhood population");
    lpz_config_destroy(&cfg);
}

/* ---- dump ------------------------------------------------------------------ */

static void assert_same_config(const lpz_config *a, const lpz_config *b)
{
    size_t n;
    const lpz_config_key *k = lpz_config_keys(&n);
    for (size_t i = 0; i < n; i++) {
        if (k[i].type == LPZ_CFG_NODES)
            continue;
        if (memcmp((const char *)a + k[i].offset, (const char *)b + k[i].offset, k[i].size))
            fail_msg("%s differs after the round trip", k[i].path);
    }
    assert_int_equal(a->general.distribution.n_client_nodes, b->general.distribution.n_client_nodes);
    for (int i = 0; i < a->general.distribution.n_client_nodes; i++) {
        assert_string_equal(a->general.distribution.client_nodes[i].address,
                            b->general.distribution.client_nodes[i].address);
        assert_int_equal(a->general.distribution.client_nodes[i].port,
                         b->general.distribution.client_nodes[i].port);
    }
    const lpz_config_options *oa[] = {&a->dataloader.options, &a->network.options};
    const lpz_config_options *ob[] = {&b->dataloader.options, &b->network.options};
    for (int s = 0; s < 2; s++) {
        assert_int_equal(oa[s]->count, ob[s]->count);
        for (int i = 0; i < oa[s]->count; i++) {
            assert_string_equal(oa[s]->items[i].key, ob[s]->items[i].key);
            assert_string_equal(oa[s]->items[i].value, ob[s]->items[i].value);
        }
    }
}

static void test_dump_parses_back_to_the_same_config(void **state)
{
    (void)state;
    lpz_config a, b;
    lpz_error err;
    load_ok(source_path("configuration/lipizzaner-gan/mnist.yml"), &a);
    assert_int_equal(lpz_config_set(&a, "dataloader.path", "\"/data/with \\\"quotes\\\" and: colon\"", &err),
                     LPZ_OK);
    assert_int_equal(lpz_config_set(&a, "network.width", "64", &err), LPZ_OK);
    assert_int_equal(lpz_config_set(&a, "general.name", "\"tab\\there\"", &err), LPZ_OK);
    assert_int_equal(lpz_config_set(&a, "trainer.params.alpha", "0.1", &err), LPZ_OK);
    assert_int_equal(lpz_config_set(&a, "trainer.params.mixture_sigma", "3.0000000000000004", &err), LPZ_OK);
    assert_int_equal(lpz_config_set(&a, "network.randomized", "always", &err), LPZ_OK);
    assert_int_equal(lpz_config_set(&a, "general.seed", "9007199254740991", &err), LPZ_OK);

    char path[512];
    snprintf(path, sizeof path, "%s/dump.yml", dir);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    assert_int_equal(lpz_config_dump(&a, f, &err), LPZ_OK);
    fclose(f);
    load_ok(path, &b);
    assert_same_config(&a, &b);
    assert_string_equal(b.dataloader.options.items[0].value, "/data/with \"quotes\" and: colon");
    assert_true(b.trainer.params.mixture_sigma == 3.0000000000000004);

    /* And the defaults alone. */
    lpz_config_destroy(&a);
    lpz_config_destroy(&b);
    lpz_config_init_defaults(&a);
    assert_int_equal(lpz_config_validate(&a, &err), LPZ_OK);
    f = fopen(path, "w");
    assert_int_equal(lpz_config_dump(&a, f, &err), LPZ_OK);
    fclose(f);
    load_ok(path, &b);
    assert_same_config(&a, &b);
    lpz_config_destroy(&a);
    lpz_config_destroy(&b);
}

/* A run folder's copy names the files the run read absolute (relative to
 * the current folder, else to the run file's folder for plugin paths), with
 * the value as given in a comment; what is not a path, or names nothing,
 * stays as given. */
static void test_run_copy_makes_paths_absolute(void **state)
{
    (void)state;
    static const lpz_option_spec dl_spec[] = {
        {"path", LPZ_OPT_PATH, NULL, "the data"},
        {"labels", LPZ_OPT_PATH, NULL, "labels"},
        {"missing", LPZ_OPT_PATH, NULL, "names nothing"},
        {"kind", LPZ_OPT_STRING, "auto", "a string that happens to name a file"},
        {NULL, 0, NULL, NULL},
    };
    char sub[600], cwd[PATH_MAX], real_dir[PATH_MAX], path[700];
    assert_non_null(getcwd(cwd, sizeof cwd));
    assert_non_null(realpath(dir, real_dir));
    snprintf(sub, sizeof sub, "%s/conf", dir);
    assert_int_equal(mkdir(sub, 0755), 0);
    put("conf/data.npy", "x");  /* beside the run file only */
    put("labels.npy", "x");     /* in the current folder (dir) only */
    put("kind.txt", "x");
    snprintf(path, sizeof path, "%s/out", dir);
    assert_int_equal(mkdir(path, 0755), 0);
    snprintf(path, sizeof path, "%s/conf/run.yml", dir);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs("trainer:\n  n_iterations: 3\ngeneral:\n  output_dir: out\ndataloader:\n  dataset_name: npy\n"
          "  path: data.npy\n  labels: labels.npy\n  missing: nowhere.npy\n  kind: kind.txt\n", f);
    fclose(f);
    assert_int_equal(chdir(dir), 0);
    lpz_config cfg;
    lpz_error err;
    lpz_error_clear(&err);
    assert_int_equal(lpz_config_load(path, &cfg, &err), LPZ_OK);
    char *text = NULL;
    size_t len = 0;
    f = open_memstream(&text, &len);
    assert_int_equal(lpz_config_dump_run(&cfg, dl_spec, NULL, f, &err), LPZ_OK);
    fclose(f);
    char want[3 * PATH_MAX];
    /* where results go stays as given (a moved run folder would write to, or fail at, the old place) */
    snprintf(want, sizeof want, "  output_dir: \"out\"  # %s:", path);
    assert_contains(text, want);
    snprintf(want, sizeof want, "  path: \"%s/conf/data.npy\"  # plugin option, %s:", real_dir, path);
    assert_contains(text, want);
    assert_contains(text, ", given as \"data.npy\"\n");
    snprintf(want, sizeof want, "  labels: \"%s/labels.npy\"  # plugin option,", real_dir);
    assert_contains(text, want);
    assert_contains(text, "  missing: \"nowhere.npy\"  # plugin option,");
    /* a file name with a newline: escaped in the comment too, so the copy reads back */
    lpz_config back;
    assert_int_equal(lpz_config_load_resolved(text, len, "copy.yml", &back, &err), LPZ_OK);
    lpz_config_destroy(&back);
    lpz_config nl;
    put("new\nline.npy", "x");
    assert_int_equal(lpz_config_load(path, &nl, &err), LPZ_OK);
    assert_int_equal(lpz_config_set(&nl, "dataloader.labels", "\"new\\nline.npy\"", &err), LPZ_OK);
    char *t2 = NULL;
    size_t l2 = 0;
    FILE *f2 = open_memstream(&t2, &l2);
    assert_int_equal(lpz_config_dump_run(&nl, dl_spec, NULL, f2, &err), LPZ_OK);
    fclose(f2);
    assert_contains(t2, "given as \"new\\nline.npy\"\n");
    assert_int_equal(lpz_config_load_resolved(t2, l2, "copy.yml", &back, &err), LPZ_OK);
    snprintf(want, sizeof want, "%s/new\nline.npy", real_dir);
    assert_string_equal(back.dataloader.options.items[1].key, "labels");
    assert_string_equal(back.dataloader.options.items[1].value, want);
    free(t2);
    lpz_config_destroy(&back);
    lpz_config_destroy(&nl);
    /* a string option naming a file stays as given, without the comment's "given as" */
    const char *kind_line = strstr(text, "  kind: \"kind.txt\"  # plugin option,");
    assert_non_null(kind_line);
    const char *kind_end = strchr(kind_line, '\n'), *given = strstr(kind_line, "given as");
    assert_true(kind_end && (!given || given > kind_end));
    /* lpz_config_dump (a master's text for its clients) writes them as given */
    free(text);
    f = open_memstream(&text, &len);
    assert_int_equal(lpz_config_dump(&cfg, f, &err), LPZ_OK);
    fclose(f);
    assert_contains(text, "  path: \"data.npy\"  # plugin option,");
    assert_contains(text, "  output_dir: \"out\"  #");
    assert_null(strstr(text, "given as"));
    free(text);
    /* the default output_dir, which names nothing yet: as given */
    lpz_config_destroy(&cfg);
    lpz_config_init_defaults(&cfg);
    f = open_memstream(&text, &len);
    assert_int_equal(lpz_config_dump_run(&cfg, NULL, NULL, f, &err), LPZ_OK);
    fclose(f);
    assert_contains(text, "  output_dir: \"./output\"\n");
    free(text);
    lpz_config_destroy(&cfg);
    assert_int_equal(chdir(cwd), 0);
}

/* ---- plugin options --------------------------------------------------------- */

static const lpz_option_spec spec[] = {
    {"path", LPZ_OPT_STRING, NULL, "folder of the data"},
    {"width", LPZ_OPT_INT, "64", "layer width"},
    {"slope", LPZ_OPT_FLOAT, "0.2", "LeakyReLU slope"},
    {"cache", LPZ_OPT_BOOL, "true", "keep a cache"},
    {NULL, 0, NULL, NULL},
};

static void test_plugin_options_from_the_run_file(void **state)
{
    (void)state;
    lpz_config cfg;
    lpz_error err;
    load_ok(put("po.yml", "dataloader:\n  dataset_name: mnist\n  path: /data/mnist\n  cache: False\n"
                          "network:\n  name: four_layer_perceptron\n  width: 128\n"),
            &cfg);
    assert_int_equal(cfg.dataloader.options.count, 2);
    assert_string_equal(cfg.dataloader.options.items[0].key, "path");
    assert_contains(cfg.dataloader.options.items[0].where, "po.yml:3:9");

    lpz_options *o = lpz_options_create(spec, "mnist");
    assert_non_null(o);
    assert_int_equal(lpz_config_fill_options(&cfg, "dataloader", o, &err), LPZ_OK);
    const char *s;
    int b;
    int64_t i;
    double d;
    assert_int_equal(lpz_options_get_string(o, "path", &s, &err), LPZ_OK);
    assert_string_equal(s, "/data/mnist");
    assert_int_equal(lpz_options_get_bool(o, "cache", &b, &err), LPZ_OK);
    assert_int_equal(b, 0);
    assert_int_equal(lpz_options_get_int(o, "width", &i, &err), LPZ_OK); /* default */
    assert_int_equal(i, 64);
    assert_int_equal(lpz_options_get_float(o, "slope", &d, &err), LPZ_OK);
    assert_true(d == 0.2);
    assert_true(lpz_options_is_set(o, "path"));
    assert_false(lpz_options_is_set(o, "width"));
    /* where, with the full key path, as for core keys (a plugin's own errors use it) */
    assert_contains(lpz_options_where(o, "path"), "po.yml:3:9: dataloader.path");
    /* not given: the plugin's default, said as such (an out-of-range default had no place at all) */
    assert_string_equal(lpz_options_where(o, "width"), "dataloader.width (not set; mnist's default 64)");
    assert_string_equal(lpz_options_where(o, "no_such_key"), "");
    lpz_options_destroy(o);

    o = lpz_options_create(spec, "four_layer_perceptron");
    assert_int_equal(lpz_config_fill_options(&cfg, "network", o, &err), LPZ_OK);
    assert_int_equal(lpz_options_get_int(o, "width", &i, &err), LPZ_OK);
    assert_int_equal(i, 128);
    assert_contains(lpz_options_where(o, "width"), "po.yml:7:10: network.width");
    lpz_options_destroy(o);

    assert_int_equal(lpz_config_set(&cfg, "dataloader.path", "/x", &err), LPZ_OK);
    o = lpz_options_create(spec, "mnist");
    assert_int_equal(lpz_config_fill_options(&cfg, "dataloader", o, &err), LPZ_OK);
    assert_string_equal(lpz_options_where(o, "path"), "--set dataloader.path");
    lpz_options_destroy(o);
    lpz_config_destroy(&cfg);
}

static void test_plugin_option_errors(void **state)
{
    (void)state;
    lpz_error err;
    lpz_options *o = lpz_options_create(spec, "mnist");
    assert_int_equal(lpz_options_set(o, "widht", "3", "run.yml:7:3", &err), LPZ_ENOTFOUND);
    assert_contains(err.where, "run.yml:7:3");
    assert_contains(err.message, "unknown option 'widht' for plugin 'mnist'");
    assert_contains(err.hint, "did you mean 'width'?");
    assert_int_equal(lpz_options_set(o, "zzzzzzzz", "3", "run.yml:8:3", &err), LPZ_ENOTFOUND);
    assert_contains(err.hint, "path, width, slope, cache");
    assert_int_equal(lpz_options_set(o, "width", "wide", "run.yml:9:10", &err), LPZ_EINVAL);
    assert_contains(err.where, "run.yml:9:10");
    assert_contains(err.message, "expects an integer");
    assert_int_equal(lpz_options_set(o, "slope", "steep", "--set", &err), LPZ_EINVAL);
    assert_int_equal(lpz_options_set(o, "cache", "perhaps", "--set", &err), LPZ_EINVAL);
    assert_contains(err.message, "boolean");

    const char *s;
    int64_t i;
    assert_int_equal(lpz_options_get_string(o, "path", &s, &err), LPZ_ENOTFOUND); /* no default */
    assert_contains(err.message, "not set and has no default");
    assert_int_equal(lpz_options_get_string(o, "width", &s, &err), LPZ_EINVAL); /* declared int */
    assert_contains(err.message, "declared as an integer");
    assert_int_equal(lpz_options_get_int(o, "height", &i, &err), LPZ_EINVAL); /* not declared */
    lpz_options_destroy(o);

    o = lpz_options_create(NULL, "bare");
    assert_int_equal(lpz_options_set(o, "x", "1", "f.yml:1:1", &err), LPZ_ENOTFOUND);
    assert_contains(err.hint, "takes no options");
    lpz_options_destroy(o);

    /* A typo of a core key lands among the plugin options; the hint says so. */
    lpz_config cfg;
    load_ok(put("bs.yml", "dataloader:\n  batchsize: 10\n"), &cfg);
    o = lpz_options_create(spec, "mnist");
    assert_int_equal(lpz_config_fill_options(&cfg, "dataloader", o, &err), LPZ_ENOTFOUND);
    assert_contains(err.where, "bs.yml:2:14: dataloader.batchsize"); /* the full key path */
    assert_contains(err.hint, "core key 'dataloader.batch_size'");
    lpz_options_destroy(o);
    lpz_config_destroy(&cfg);

    /* --set names the key path as for core keys; so does a value of the wrong type. */
    load_ok(put("ps.yml", "network:\n  width: wide\n"), &cfg);
    assert_int_equal(lpz_config_set(&cfg, "dataloader.pathh", "/x", &err), LPZ_OK);
    o = lpz_options_create(spec, "mnist");
    assert_int_equal(lpz_config_fill_options(&cfg, "dataloader", o, &err), LPZ_ENOTFOUND);
    assert_string_equal(err.where, "--set dataloader.pathh");
    assert_contains(err.hint, "did you mean 'path'?");
    lpz_options_destroy(o);
    o = lpz_options_create(spec, "four_layer_perceptron");
    assert_int_equal(lpz_config_fill_options(&cfg, "network", o, &err), LPZ_EINVAL);
    assert_contains(err.where, "ps.yml:2:10: network.width");
    lpz_options_destroy(o);
    lpz_config_destroy(&cfg);
}

/* A plugin's option table that cannot work is refused before use: names
 * that are empty, odd, taken by a core key or declared twice, unknown
 * types, defaults that do not parse as their type. */
static void test_plugin_option_tables_are_checked(void **state)
{
    (void)state;
    char why[256];
    assert_true(lpz_options_spec_ok(spec, "dataloader", why, sizeof why));
    assert_true(lpz_options_spec_ok(NULL, "network", why, sizeof why));
    static const struct {
        lpz_option_spec spec[3];
        const char *section, *problem;
    } bad[] = {
        {{{"", LPZ_OPT_INT, "1", "h"}, {NULL, 0, NULL, NULL}}, "dataloader", "option 0 is named \"\""},
        {{{"a b", LPZ_OPT_INT, "1", "h"}, {NULL, 0, NULL, NULL}}, "dataloader", "named \"a b\""},
        {{{"batch_size", LPZ_OPT_INT, "1", "h"}, {NULL, 0, NULL, NULL}}, "dataloader", "core key of dataloader"},
        {{{"loss", LPZ_OPT_STRING, NULL, "h"}, {NULL, 0, NULL, NULL}}, "network", "core key of network"},
        {{{"x", (lpz_option_type)9, "1", "h"}, {NULL, 0, NULL, NULL}}, "network", "unknown type 9"},
        {{{"x", LPZ_OPT_INT, "abc", "h"}, {NULL, 0, NULL, NULL}}, "network",
         "default \"abc\" does not parse as int"},
        {{{"x", LPZ_OPT_FLOAT, "nan", "h"}, {NULL, 0, NULL, NULL}}, "network", "does not parse as float"},
        {{{"x", LPZ_OPT_BOOL, "2", "h"}, {NULL, 0, NULL, NULL}}, "network", "does not parse as bool"},
        {{{"x", LPZ_OPT_INT, "1", "h"}, {"x", LPZ_OPT_STRING, NULL, "h"}, {NULL, 0, NULL, NULL}}, "network",
         "option x is declared twice"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        why[0] = '\0';
        if (lpz_options_spec_ok(bad[i].spec, bad[i].section, why, sizeof why))
            fail_msg("bad option table %zu was accepted", i);
        assert_contains(why, bad[i].problem);
    }
}

/* ---- the table and the docs ------------------------------------------------ */

static void test_every_key_is_documented(void **state)
{
    (void)state;
    FILE *f = fopen(source_path("docs/configuration.md"), "r");
    assert_non_null(f);
    static char doc[1 << 17];
    size_t len = fread(doc, 1, sizeof doc - 1, f);
    fclose(f);
    doc[len] = '\0';
    size_t n;
    const lpz_config_key *k = lpz_config_keys(&n);
    assert_true(n > 50);
    for (size_t i = 0; i < n; i++) {
        char needle[256];
        snprintf(needle, sizeof needle, "`%s`", k[i].path);
        if (!strstr(doc, needle))
            fail_msg("docs/configuration.md does not document %s", k[i].path);
        assert_non_null(k[i].description);
        assert_non_null(k[i].default_value);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_defaults_are_the_references, setup, teardown),
        cmocka_unit_test_setup_teardown(test_deep_nesting_is_refused_quickly, setup, teardown),
        cmocka_unit_test_setup_teardown(test_original_quick_start_files_parse, setup, teardown),
        cmocka_unit_test_setup_teardown(test_shipped_experiment_files_parse_with_their_grid, setup, teardown),
        cmocka_unit_test_setup_teardown(test_booleans_in_every_spelling, setup, teardown),
        cmocka_unit_test_setup_teardown(test_port_ranges_expand_and_bad_ports_fail, setup, teardown),
        cmocka_unit_test_setup_teardown(test_client_addresses_are_checked_where_written, setup, teardown),
        cmocka_unit_test_setup_teardown(test_original_separate_learning_rates_are_named_as_unsupported, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_unknown_key_suggests_the_closest, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unknown_key_with_an_include_is_named_in_the_including_file, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_wrong_types_name_the_expected_type, setup, teardown),
        cmocka_unit_test_setup_teardown(test_out_of_range_values_fail_with_the_range, setup, teardown),
        cmocka_unit_test_setup_teardown(test_non_square_client_count_is_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tournament_larger_than_neighbourhood_population, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_other_cross_checks, setup, teardown),
        cmocka_unit_test_setup_teardown(test_malformed_and_empty_files, setup, teardown),
        cmocka_unit_test_setup_teardown(test_nested_includes_resolve_relative_to_the_including_file, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_missing_include_names_the_file_and_line, setup, teardown),
        cmocka_unit_test_setup_teardown(test_include_cycle_names_the_chain, setup, teardown),
        cmocka_unit_test_setup_teardown(test_include_of_a_device_is_refused_not_read_forever, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_fifo_is_refused_not_waited_on, setup, teardown),
        cmocka_unit_test_setup_teardown(test_resolved_text_refuses_tags, setup, teardown),
        cmocka_unit_test_setup_teardown(test_long_values_are_quoted_short, setup, teardown),
        cmocka_unit_test_setup_teardown(test_load_from_memory, setup, teardown),
        cmocka_unit_test_setup_teardown(test_env_tag_expands_variables, setup, teardown),
        cmocka_unit_test_setup_teardown(test_optimize_mixture_section_switches_it_on, setup, teardown),
        cmocka_unit_test_setup_teardown(test_set_overrides_keys_and_plugin_options, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_overrides_are_explained, setup, teardown),
        cmocka_unit_test_setup_teardown(test_dump_parses_back_to_the_same_config, setup, teardown),
        cmocka_unit_test_setup_teardown(test_run_copy_makes_paths_absolute, setup, teardown),
        cmocka_unit_test_setup_teardown(test_plugin_options_from_the_run_file, setup, teardown),
        cmocka_unit_test_setup_teardown(test_plugin_option_errors, setup, teardown),
        cmocka_unit_test(test_plugin_option_tables_are_checked),
        cmocka_unit_test(test_every_key_is_documented),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
