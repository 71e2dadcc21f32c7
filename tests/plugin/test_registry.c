/* Plugin loading: valid plugins load, every kind of broken file is listed
 * with its reason and never stops the rest from loading. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "plugin/registry.h"
#include <lpz/dataloader.h>

static char fixtures[4096];

static const lpz_plugin_entry *entry_named(const lpz_registry *r, const char *file)
{
    for (int i = 0; i < r->n_entries; i++) {
        const char *slash = strrchr(r->entries[i].path, '/');
        if (slash && strcmp(slash + 1, file) == 0)
            return &r->entries[i];
    }
    return NULL;
}

static int setup(void **state)
{
    (void)state;
    const char *b = getenv("LPZ_BUILD_DIR");
    snprintf(fixtures, sizeof fixtures, "%s/tests/plugin-fixtures", b ? b : ".");
    /* A plain text file named like a plugin. */
    char path[4200];
    snprintf(path, sizeof path, "%s/not_elf.so", fixtures);
    FILE *f = fopen(path, "w");
    if (!f)
        return -1;
    fputs("this is not a shared object\n", f);
    fclose(f);
    return 0;
}

static void test_valid_plugin_loads_and_is_found_by_name_and_alias(void **state)
{
    (void)state;
    const char *dirs[] = {fixtures};
    lpz_registry r;
    lpz_error err;
    assert_int_equal(lpz_registry_open(&r, dirs, 1, &err), LPZ_OK);
    const lpz_plugin *p = NULL;
    assert_int_equal(lpz_registry_find(&r, LPZ_PLUGIN_DATALOADER, "fixture_valid", &p, &err), LPZ_OK);
    assert_string_equal(p->version, "1.2.3");
    const lpz_plugin *q = NULL;
    assert_int_equal(lpz_registry_find(&r, LPZ_PLUGIN_DATALOADER, "fixture_alias", &q, &err), LPZ_OK);
    assert_ptr_equal(p, q);
    /* The plugin's functions really run. */
    const lpz_dataloader_ops *ops = p->ops;
    void *st;
    lpz_dataset_info info;
    assert_int_equal(ops->open(NULL, &st, &info, &err), LPZ_OK);
    assert_int_equal(info.count, 10);
    float x[2];
    assert_int_equal(ops->read(st, 5, x, &err), LPZ_OK);
    assert_float_equal(x[0], 0.5f, 1e-6);
    ops->close(st);
    lpz_registry_close(&r);
}

static void test_wrong_kind_is_not_found(void **state)
{
    (void)state;
    const char *dirs[] = {fixtures};
    lpz_registry r;
    lpz_error err;
    assert_int_equal(lpz_registry_open(&r, dirs, 1, &err), LPZ_OK);
    const lpz_plugin *p = NULL;
    assert_int_equal(lpz_registry_find(&r, LPZ_PLUGIN_NETWORK, "fixture_valid", &p, &err), LPZ_ENOTFOUND);
    lpz_registry_close(&r);
}

static void test_broken_files_are_listed_with_reasons(void **state)
{
    (void)state;
    const char *dirs[] = {fixtures};
    lpz_registry r;
    lpz_error err;
    assert_int_equal(lpz_registry_open(&r, dirs, 1, &err), LPZ_OK);
    const lpz_plugin_entry *e = entry_named(&r, "fixture_wrong_abi.so");
    assert_non_null(e);
    assert_null(e->desc);
    assert_non_null(strstr(e->problem, "ABI 99.7"));
    assert_non_null(strstr(e->problem, "this lpz has ABI 1."));
    e = entry_named(&r, "fixture_no_descriptor.so");
    assert_non_null(e);
    assert_null(e->desc);
    assert_non_null(strstr(e->problem, "not an lpz plugin"));
    e = entry_named(&r, "not_elf.so");
    assert_non_null(e);
    assert_null(e->desc);
    assert_non_null(strstr(e->problem, "not a loadable shared object"));
    lpz_registry_close(&r);
}

/* A plugin cut short (an interrupted copy): dlopen mapped its segments and died of SIGBUS touching them, which
 * killed every command that loads plugins; now it is listed as not usable, and the rest load. */
static void test_shared_object_cut_short_is_listed_not_loaded(void **state)
{
    (void)state;
    char dir[] = "/tmp/lpz-cut-XXXXXX", src[4200], dst[sizeof dir + 16];
    assert_non_null(mkdtemp(dir));
    snprintf(src, sizeof src, "%s/fixture_valid.so", fixtures);
    snprintf(dst, sizeof dst, "%s/cut.so", dir);
    FILE *in = fopen(src, "rb"), *out = fopen(dst, "wb");
    assert_non_null(in);
    assert_non_null(out);
    char buf[5000];
    size_t n = fread(buf, 1, sizeof buf, in); /* the ELF and program headers, not the segments */
    assert_int_equal(n, sizeof buf);
    assert_int_equal(fwrite(buf, 1, n, out), n);
    fclose(in);
    fclose(out);
    const char *dirs[] = {dir, fixtures};
    lpz_registry r;
    lpz_error err;
    assert_int_equal(lpz_registry_open(&r, dirs, 2, &err), LPZ_OK);
    const lpz_plugin_entry *e = entry_named(&r, "cut.so");
    assert_non_null(e);
    assert_null(e->desc);
    assert_non_null(strstr(e->problem, "the file is cut short: its segments need "));
    assert_non_null(strstr(e->problem, "it holds 5000"));
    const lpz_plugin *p = NULL;
    assert_int_equal(lpz_registry_find(&r, LPZ_PLUGIN_DATALOADER, "fixture_valid", &p, &err), LPZ_OK);
    /* asked for by its name: the hint is to copy it again, not to rebuild it against the SDK */
    assert_int_equal(lpz_registry_find(&r, LPZ_PLUGIN_DATALOADER, "cut", &p, &err), LPZ_ENOTFOUND);
    assert_non_null(strstr(err.message, "cut.so is not usable: the file is cut short"));
    assert_null(strstr(err.hint, "SDK"));
    lpz_registry_close(&r);
    remove(dst);
    rmdir(dir);
}

static void test_missing_plugin_error_names_kind_dirs_and_known_names(void **state)
{
    (void)state;
    const char *dirs[] = {fixtures, "/nonexistent/lpz-plugins"};
    lpz_registry r;
    lpz_error err;
    assert_int_equal(lpz_registry_open(&r, dirs, 2, &err), LPZ_OK);
    const lpz_plugin *p = NULL;
    assert_int_equal(lpz_registry_find(&r, LPZ_PLUGIN_DATALOADER, "no_such_set", &p, &err), LPZ_ENOTFOUND);
    assert_non_null(strstr(err.message, "dataloader"));
    assert_non_null(strstr(err.message, "'no_such_set'"));
    assert_non_null(strstr(err.message, fixtures));
    assert_non_null(strstr(err.message, "/nonexistent/lpz-plugins"));
    assert_non_null(strstr(err.message, "fixture_valid"));
    assert_true(err.hint[0] != '\0');
    lpz_registry_close(&r);
}

/* A file that could not be loaded, named like the plugin asked for, is named with its problem ("no plugin named"
 * sent the author of a plugin built for another ABI looking for a typo); other unusable files are mentioned. */
static void test_unusable_file_of_the_name_is_named_with_its_problem(void **state)
{
    (void)state;
    const char *dirs[] = {fixtures};
    lpz_registry r;
    lpz_error err;
    assert_int_equal(lpz_registry_open(&r, dirs, 1, &err), LPZ_OK);
    const lpz_plugin *p = NULL;
    assert_int_equal(lpz_registry_find(&r, LPZ_PLUGIN_DATALOADER, "fixture_wrong_abi", &p, &err), LPZ_ENOTFOUND);
    assert_non_null(strstr(err.message, "no usable dataloader plugin named 'fixture_wrong_abi': "));
    assert_non_null(strstr(err.message, "/fixture_wrong_abi.so is not usable: "));
    assert_non_null(strstr(err.message, "ABI 99.7"));
    assert_non_null(strstr(err.hint, "'lpz plugins' lists every file found and why one is not usable"));
    assert_int_equal(lpz_registry_find(&r, LPZ_PLUGIN_DATALOADER, "no_such_set", &p, &err), LPZ_ENOTFOUND);
    assert_non_null(strstr(err.message, "files there could not be loaded, the first "));
    assert_non_null(strstr(err.hint, "why a file is not usable"));
    lpz_registry_close(&r);
}

/* An alias that an earlier plugin's name (or alias) takes belongs to that one, and is noted on the later plugin
 * (lpz plugins marked nothing, and training silently used the other). */
static void test_alias_taken_by_an_earlier_plugin_is_noted(void **state)
{
    (void)state;
    char alias_dir[4200];
    snprintf(alias_dir, sizeof alias_dir, "%s-alias", fixtures);
    const char *dirs[] = {alias_dir, fixtures};
    lpz_registry r;
    lpz_error err;
    assert_int_equal(lpz_registry_open(&r, dirs, 2, &err), LPZ_OK);
    const lpz_plugin *p = NULL, *v = NULL;
    assert_int_equal(lpz_registry_find(&r, LPZ_PLUGIN_DATALOADER, "fixture_alias", &p, &err), LPZ_OK);
    assert_string_equal(p->description, "takes fixture_valid's alias");
    assert_int_equal(lpz_registry_find(&r, LPZ_PLUGIN_DATALOADER, "fixture_valid", &v, &err), LPZ_OK);
    const lpz_plugin_entry *e = lpz_registry_entry_of(&r, v);
    assert_non_null(e);
    assert_int_equal(e->shadowed_by, -1);
    assert_non_null(strstr(e->alias_note, "alias fixture_alias shadowed by "));
    assert_non_null(strstr(e->alias_note, "/fixture_alias_taker.so"));
    assert_string_equal(lpz_registry_entry_of(&r, p)->alias_note, "");
    lpz_registry_close(&r);
}

static void test_plugin_path_environment_is_searched_after_plugin_dirs(void **state)
{
    (void)state;
    setenv("LPZ_PLUGIN_PATH", "/first/env:/second/env", 1);
    const char *dirs[] = {"/cli/dir"};
    lpz_registry r;
    lpz_error err;
    assert_int_equal(lpz_registry_open(&r, dirs, 1, &err), LPZ_OK);
    assert_true(r.n_dirs >= 3);
    assert_string_equal(r.dirs[0], "/cli/dir");
    assert_string_equal(r.dirs[1], "/first/env");
    assert_string_equal(r.dirs[2], "/second/env");
    lpz_registry_close(&r);
    unsetenv("LPZ_PLUGIN_PATH");
}

static void test_duplicate_name_first_in_search_order_wins(void **state)
{
    (void)state;
    const char *dirs[] = {fixtures, fixtures};
    lpz_registry r;
    lpz_error err;
    /* The same folder twice is searched once. */
    assert_int_equal(lpz_registry_open(&r, dirs, 2, &err), LPZ_OK);
    int valid = 0;
    for (int i = 0; i < r.n_entries; i++)
        if (r.entries[i].desc && strcmp(r.entries[i].desc->name, "fixture_valid") == 0)
            valid++;
    assert_int_equal(valid, 1);
    lpz_registry_close(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_valid_plugin_loads_and_is_found_by_name_and_alias),
        cmocka_unit_test(test_wrong_kind_is_not_found),
        cmocka_unit_test(test_broken_files_are_listed_with_reasons),
        cmocka_unit_test(test_shared_object_cut_short_is_listed_not_loaded),
        cmocka_unit_test(test_missing_plugin_error_names_kind_dirs_and_known_names),
        cmocka_unit_test(test_unusable_file_of_the_name_is_named_with_its_problem),
        cmocka_unit_test(test_alias_taken_by_an_earlier_plugin_is_noted),
        cmocka_unit_test(test_plugin_path_environment_is_searched_after_plugin_dirs),
        cmocka_unit_test(test_duplicate_name_first_in_search_order_wins),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
