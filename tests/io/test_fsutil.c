/* tests/io/test_fsutil.c - atomic writes leave either the old or the new
 * file and never a temporary; mkdirs; bounded whole-file reads of
 * regular files only. */
#include "io/fsutil.h"
#include "io_test_util.h"
#include "hang_guard.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

static char dir[1024];

static int setup(void **state)
{
    (void)state;
    return lpz_test_mkdtemp(dir, sizeof dir, "fsutil");
}

static int teardown(void **state)
{
    (void)state;
    lpz_test_rmtree(dir);
    return 0;
}

static void test_write_then_read_back(void **state)
{
    (void)state;
    char path[1200];
    snprintf(path, sizeof path, "%s/a.txt", dir);
    lpz_error err;
    assert_int_equal(lpz_write_file_atomic(path, "hello", 5, &err), LPZ_OK);
    char *data = NULL;
    size_t n = 0;
    assert_int_equal(lpz_read_file(path, 100, &data, &n, &err), LPZ_OK);
    assert_int_equal(n, 5);
    assert_string_equal(data, "hello"); /* NUL appended */
    free(data);
    /* Replace: the new content wins, no temp file remains. */
    assert_int_equal(lpz_write_file_atomic(path, "bye", 3, &err), LPZ_OK);
    assert_int_equal(lpz_read_file(path, 100, &data, &n, &err), LPZ_OK);
    assert_string_equal(data, "bye");
    free(data);
    assert_int_equal(io_test_count(dir, ".tmp."), 0);
    assert_true(lpz_is_file(path));
    assert_false(lpz_is_dir(path));
}

static void test_empty_file(void **state)
{
    (void)state;
    char path[1200];
    snprintf(path, sizeof path, "%s/empty", dir);
    lpz_error err;
    assert_int_equal(lpz_write_file_atomic(path, NULL, 0, &err), LPZ_OK);
    char *data = NULL;
    size_t n = 7;
    assert_int_equal(lpz_read_file(path, 0, &data, &n, &err), LPZ_OK);
    assert_int_equal(n, 0);
    assert_non_null(data);
    assert_int_equal(data[0], 0);
    free(data);
}

static void test_abort_keeps_old_file(void **state)
{
    (void)state;
    char path[1200];
    snprintf(path, sizeof path, "%s/model.bin", dir);
    lpz_error err;
    assert_int_equal(lpz_write_file_atomic(path, "old", 3, &err), LPZ_OK);
    lpz_atomic_file f;
    assert_int_equal(lpz_atomic_open(&f, path, &err), LPZ_OK);
    assert_int_equal(io_test_count(dir, ".tmp."), 1);
    fputs("new half-written content", f.fp);
    lpz_atomic_abort(&f);
    lpz_atomic_abort(&f); /* idempotent */
    char buf[64];
    assert_int_equal(io_test_read(path, buf, sizeof buf), 3);
    assert_memory_equal(buf, "old", 3);
    assert_int_equal(io_test_count(dir, ".tmp."), 0);
}

static void test_commit_twice_is_state_error(void **state)
{
    (void)state;
    char path[1200];
    snprintf(path, sizeof path, "%s/c", dir);
    lpz_error err;
    lpz_atomic_file f;
    assert_int_equal(lpz_atomic_open(&f, path, &err), LPZ_OK);
    assert_int_equal(lpz_atomic_commit(&f, &err), LPZ_OK);
    assert_int_equal(lpz_atomic_commit(&f, &err), LPZ_ESTATE);
    lpz_atomic_abort(&f); /* harmless after commit: the file stays */
    assert_true(lpz_is_file(path));
}

static void test_missing_folder_fails_cleanly(void **state)
{
    (void)state;
    char path[1200];
    snprintf(path, sizeof path, "%s/no/such/folder/x", dir);
    lpz_error err;
    lpz_error_clear(&err);
    assert_int_equal(lpz_write_file_atomic(path, "x", 1, &err), LPZ_ENOTFOUND);
    assert_non_null(strstr(err.where, "no/such/folder/x"));
    assert_int_equal(io_test_count(dir, NULL), 0);
}

static void test_read_limit_and_missing(void **state)
{
    (void)state;
    char path[1200];
    snprintf(path, sizeof path, "%s/big", dir);
    lpz_error err;
    assert_int_equal(lpz_write_file_atomic(path, "0123456789", 10, &err), LPZ_OK);
    char *data = (char *)1;
    size_t n = 0;
    assert_int_equal(lpz_read_file(path, 9, &data, &n, &err), LPZ_EFORMAT);
    assert_null(data);
    assert_non_null(strstr(err.where, "big"));
    assert_int_equal(lpz_read_file(path, 10, &data, &n, &err), LPZ_OK);
    assert_int_equal(n, 10);
    free(data);
    snprintf(path, sizeof path, "%s/absent", dir);
    assert_int_equal(lpz_read_file(path, 10, &data, &n, &err), LPZ_ENOTFOUND);
    /* A folder is not a file. */
    assert_int_not_equal(lpz_read_file(dir, 10, &data, &n, &err), LPZ_OK);
}

/* What is not a regular file is refused at once: /dev/zero would never
 * end (a model path pointing at it read gigabytes), a FIFO without a
 * writer would block the open for good (the hang guard turns a hang into a
 * failure), a folder is no file. Neither is read. */
static void test_read_refuses_what_is_not_a_file(void **state)
{
    (void)state;
    char *data = NULL;
    size_t n = 0;
    lpz_error err;
    assert_int_equal(lpz_read_file("/dev/zero", (size_t)1 << 40, &data, &n, &err), LPZ_EIO);
    assert_null(data);
    assert_non_null(strstr(err.message, "not a regular file (a character device)"));
    assert_string_equal(err.where, "/dev/zero");
    char fifo[1200];
    snprintf(fifo, sizeof fifo, "%s/fifo", dir);
    assert_int_equal(mkfifo(fifo, 0600), 0);
    lpz_test_hang_guard(10);
    assert_int_equal(lpz_read_file(fifo, 100, &data, &n, &err), LPZ_EIO);
    lpz_test_hang_guard(0);
    assert_non_null(strstr(err.message, "not a regular file (a FIFO)"));
    assert_int_equal(lpz_read_file(dir, 100, &data, &n, &err), LPZ_EIO);
    assert_non_null(strstr(err.message, "not a regular file (a folder)"));
    assert_null(data);
}

static void test_mkdirs(void **state)
{
    (void)state;
    char path[1200];
    snprintf(path, sizeof path, "%s/a/b//c/", dir);
    lpz_error err;
    assert_int_equal(lpz_mkdirs(path, &err), LPZ_OK);
    assert_true(lpz_is_dir(path));
    assert_int_equal(lpz_mkdirs(path, &err), LPZ_OK); /* existing is fine */
    char file[1200];
    snprintf(file, sizeof file, "%s/a/f", dir);
    assert_int_equal(lpz_write_file_atomic(file, "x", 1, &err), LPZ_OK);
    snprintf(path, sizeof path, "%s/a/f/g", dir);
    assert_int_equal(lpz_mkdirs(path, &err), LPZ_EIO); /* a file is in the way */
    assert_false(lpz_is_dir(path));
    snprintf(path, sizeof path, "%s/a/b/c", dir);
    rmdir(path);
    snprintf(path, sizeof path, "%s/a/b", dir);
    rmdir(path);
}

/* lpz_missing_top + lpz_rmdirs_empty undo a mkdirs where nothing was put,
 * and never remove a folder that holds something or existed before. */
static void test_rmdirs_empty(void **state)
{
    (void)state;
    char path[1200], top[1200], mid[1200], file[1300];
    lpz_error err;
    snprintf(path, sizeof path, "%s/x/y/z", dir);
    lpz_missing_top(path, top, sizeof top);
    snprintf(mid, sizeof mid, "%s/x", dir);
    assert_string_equal(top, mid); /* the outermost missing folder */
    assert_int_equal(lpz_mkdirs(path, &err), LPZ_OK);
    lpz_missing_top(path, mid, sizeof mid);
    assert_string_equal(mid, ""); /* exists now */
    lpz_rmdirs_empty(path, top);
    assert_false(lpz_is_dir(top));
    assert_true(lpz_is_dir(dir)); /* above top: untouched */

    /* A folder with a file stays, with its parents. */
    assert_int_equal(lpz_mkdirs(path, &err), LPZ_OK);
    snprintf(mid, sizeof mid, "%s/x/y", dir);
    snprintf(file, sizeof file, "%s/f", mid);
    assert_int_equal(lpz_write_file_atomic(file, "x", 1, &err), LPZ_OK);
    lpz_rmdirs_empty(path, top);
    assert_false(lpz_is_dir(path)); /* empty: removed */
    assert_true(lpz_is_file(file));
    assert_true(lpz_is_dir(top));
    unlink(file);
    lpz_rmdirs_empty(mid, ""); /* no top: nothing */
    assert_true(lpz_is_dir(mid));
    lpz_rmdirs_empty(mid, top);
    assert_false(lpz_is_dir(top));

    /* A path that climbs back out (new/../old) names an old folder after the
     * new one: nothing is undone (it removed the empty old folder). */
    snprintf(mid, sizeof mid, "%s/old", dir);
    assert_int_equal(lpz_mkdirs(mid, &err), LPZ_OK);
    snprintf(path, sizeof path, "%s/new/../old", dir);
    lpz_missing_top(path, top, sizeof top);
    assert_string_equal(top, "");
    lpz_rmdirs_empty(path, top);
    assert_true(lpz_is_dir(mid));
    rmdir(mid);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_write_then_read_back, setup, teardown),
        cmocka_unit_test_setup_teardown(test_empty_file, setup, teardown),
        cmocka_unit_test_setup_teardown(test_abort_keeps_old_file, setup, teardown),
        cmocka_unit_test_setup_teardown(test_commit_twice_is_state_error, setup, teardown),
        cmocka_unit_test_setup_teardown(test_missing_folder_fails_cleanly, setup, teardown),
        cmocka_unit_test_setup_teardown(test_read_limit_and_missing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_read_refuses_what_is_not_a_file, setup, teardown),
        cmocka_unit_test_setup_teardown(test_mkdirs, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rmdirs_empty, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
