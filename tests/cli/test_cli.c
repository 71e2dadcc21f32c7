/* tests/cli/test_cli.c - the command line's shared helpers: a Ctrl-C
 * delivered again within a second is the same request (a terminal plus
 * `timeout` deliver one keypress two or three times), a later one is new;
 * --resume finds the run's config.yml or says why not; numbers are
 * checked. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "cli/cli.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "scratch.h"

static void test_repeated_interrupt_is_the_same_request(void **state)
{
    (void)state;
    assert_int_equal(lpz_cli_new_interrupt(), 1); /* the first Ctrl-C */
    assert_int_equal(lpz_cli_new_interrupt(), 0); /* delivered again at once */
    struct timespec d = {0, 300000000};
    nanosleep(&d, NULL);
    assert_int_equal(lpz_cli_new_interrupt(), 0); /* still within the second */
    d.tv_sec = 1;
    d.tv_nsec = 100000000;
    nanosleep(&d, NULL);
    assert_int_equal(lpz_cli_new_interrupt(), 1); /* a second Ctrl-C */
}

static void test_resume_config(void **state)
{
    (void)state;
    char dir[512], buf[1024], path[1100];
    assert_int_equal(lpz_test_mkdtemp(dir, sizeof dir, "cli"), 0);
    lpz_cli_args a;
    memset(&a, 0, sizeof a);
    const char *cfg = "x";
    a.config_file = "run.yml";
    assert_int_equal(lpz_cli_resume_config(&a, buf, sizeof buf, &cfg), 0);
    assert_string_equal(cfg, "run.yml"); /* no --resume: -f as given */
    a.resume = dir;
    assert_int_equal(lpz_cli_resume_config(&a, buf, sizeof buf, &cfg), 2); /* -f with --resume */
    a.config_file = NULL;
    assert_int_equal(lpz_cli_resume_config(&a, buf, sizeof buf, &cfg), 1); /* no config.yml */
    snprintf(path, sizeof path, "%s/config.yml", dir);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fclose(f);
    assert_int_equal(lpz_cli_resume_config(&a, buf, sizeof buf, &cfg), 0);
    assert_string_equal(cfg, path);
    assert_int_equal(lpz_cli_resume_config(&a, buf, 8, &cfg), 2); /* does not fit */
    lpz_test_rmtree(dir);
}

static void test_numbers(void **state)
{
    (void)state;
    int64_t n = 0;
    uint64_t s = 0;
    assert_int_equal(lpz_cli_parse_count("100", "--sample-size", &n), 0);
    assert_int_equal(n, 100);
    assert_int_equal(lpz_cli_parse_count("0", "--sample-size", &n), 2);
    assert_int_equal(lpz_cli_parse_count("10000001", "--sample-size", &n), 2);
    assert_int_equal(lpz_cli_parse_count("12x", "--sample-size", &n), 2);
    /* general.seed's range: 0 to 2^53 - 1 */
    assert_int_equal(lpz_cli_parse_seed("9007199254740991", &s), 0);
    assert_true(s == 9007199254740991ULL);
    assert_int_equal(lpz_cli_parse_seed("0", &s), 0);
    assert_true(s == 0);
    assert_int_equal(lpz_cli_parse_seed("9007199254740992", &s), 2);
    assert_int_equal(lpz_cli_parse_seed("18446744073709551615", &s), 2);
    assert_int_equal(lpz_cli_parse_seed("-1", &s), 2);
    assert_int_equal(lpz_cli_parse_seed("", &s), 2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_repeated_interrupt_is_the_same_request),
        cmocka_unit_test(test_resume_config),
        cmocka_unit_test(test_numbers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
