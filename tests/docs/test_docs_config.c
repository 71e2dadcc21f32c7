/* tests/docs/test_docs_config.c - docs/configuration.md documents every
 * configuration key: each path returned by lpz_config_keys() appears in the
 * page as `path` (in backticks), so a key added to core/config/keys.c
 * without documentation fails here, naming the key. */
#include "config/config.h"
#include "io/fsutil.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <setjmp.h>
#include <cmocka.h>

static void test_every_config_key_is_in_configuration_md(void **state)
{
    (void)state;
    const char *src = getenv("LPZ_SOURCE_DIR");
    assert_non_null(src);
    char path[4096];
    snprintf(path, sizeof path, "%s/docs/configuration.md", src);
    char *doc = NULL;
    size_t size;
    lpz_error err;
    if (lpz_read_file(path, 4 << 20, &doc, &size, &err) != LPZ_OK)
        fail_msg("cannot read %s: %s", path, err.message);
    size_t n = 0;
    const lpz_config_key *keys = lpz_config_keys(&n);
    assert_true(n > 50); /* the table is there: general, trainer, dataloader, network, master */
    int missing = 0;
    for (size_t i = 0; i < n; i++) {
        char quoted[300];
        snprintf(quoted, sizeof quoted, "`%s`", keys[i].path);
        if (!strstr(doc, quoted)) {
            print_message("MISSING in docs/configuration.md: %s\n", quoted);
            missing++;
        }
    }
    print_message("%zu keys checked, %d missing\n", n, missing);
    free(doc);
    assert_int_equal(missing, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_config_key_is_in_configuration_md),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
