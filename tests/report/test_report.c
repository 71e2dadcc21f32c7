/* tests/report/test_report.c - report.html from synthetic run folders:
 * what a user looks for (every cell with its latest samples, a curve per
 * cell and metric, the best cell, mixture weights, the configuration
 * escaped with secrets masked), the running/finished state, and that bad
 * or half-written inputs give clear errors or notices, never a crash. */
#include "fixture.h"
#include "io/fsutil.h"
#include "io/jpeg.h"
#include "report/report.h"

#include <dirent.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <setjmp.h>
#include <cmocka.h>

static char root[256];

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st, (void)flag, (void)ftw;
    return remove(path);
}

static int setup(void **state)
{
    (void)state;
    snprintf(root, sizeof root, "/tmp/lpz-test-report-XXXXXX");
    return mkdtemp(root) ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    return nftw(root, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static const char *run_path(const char *name)
{
    static char p[512];
    snprintf(p, sizeof p, "%s/%s", root, name);
    return p;
}

/* Not inlined: gcc 12 at -O3 then takes the returned buffer for the
 * address of the local pointer (a false -Wdangling-pointer). */
__attribute__((noinline)) static char *read_report(const char *dir)
{
    char path[600], *data = NULL;
    size_t size;
    snprintf(path, sizeof path, "%s/report.html", dir);
    assert_int_equal(lpz_read_file(path, 64 << 20, &data, &size, NULL), LPZ_OK);
    return data;
}

static int count(const char *hay, const char *needle)
{
    int n = 0;
    for (const char *p = strstr(hay, needle); p; p = strstr(p + 1, needle))
        n++;
    return n;
}

static void write_file(const char *path, const char *text)
{
    assert_int_equal(lpz_write_file_atomic(path, text, strlen(text), NULL), LPZ_OK);
}

static void assert_problem(const char *html, const char *notice);

/* Decodes base64 up to the closing quote into a malloc'd buffer. */
static unsigned char *unbase64(const char *s, size_t *n)
{
    size_t len = strcspn(s, "\"");
    unsigned char *out = malloc(len / 4 * 3 + 3);
    size_t k = 0;
    uint32_t acc = 0;
    int bits = 0;
    for (size_t i = 0; i < len && s[i] != '='; i++) {
        const char *tab = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        const char *c = strchr(tab, s[i]);
        assert_non_null(c);
        acc = acc << 6 | (uint32_t)(c - tab);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[k++] = (unsigned char)(acc >> bits);
        }
    }
    *n = k;
    return out;
}

static void test_finished_run_shows_every_cell_curve_mixture_and_best(void **state)
{
    (void)state;
    const char *dir = run_path("finished");
    fixture_opts o = {2, 3, 1, 1, 0};
    assert_int_equal(fixture_write(dir, &o), 0);
    lpz_error err;
    assert_int_equal(lpz_report_write(dir, &err), LPZ_OK);
    char *html = read_report(dir);
    assert_non_null(strstr(html, "data-cells=\"4\" data-grid=\"2\" data-best-cell=\"2\" data-state=\"finished\""));
    assert_int_equal(count(html, "<div class=\"cell\" data-cell="), 3);
    assert_int_equal(count(html, "<div class=\"cell best\" data-cell=\"2\""), 1);
    /* 8 metrics (with score and seconds) x 4 cells. */
    assert_int_equal(count(html, "<polyline class=\"curve"), 32);
    assert_int_equal(count(html, "<figure class=\"chart\""), 8);
    assert_int_equal(count(html, "<polyline class=\"curve best\" data-metric=\"score\" data-cell=\"2\""), 1);
    assert_int_equal(count(html, "<table class=\"mixture"), 4);
    assert_non_null(strstr(html, "final (master/0/mixture.yml)"));
    assert_non_null(strstr(html, "generator-1.safetensors</td><td>1</td><td>0.2500"));
    /* The latest samples of each cell, embedded byte for byte. */
    assert_int_equal(count(html, "src=\"data:image/png;base64,"), 4);
    assert_int_equal(count(html, "after iteration 3\""), 4);
    const char *img = strstr(html, "alt=\"samples of cell 1 after iteration 3\" src=\"data:image/png;base64,");
    assert_non_null(img);
    size_t n, fn;
    unsigned char *png = unbase64(strchr(img, ',') + 1, &n);
    char path[600], *file;
    snprintf(path, sizeof path, "%s/samples/cell-1/iteration-0003.png", dir);
    assert_int_equal(lpz_read_file(path, 1 << 20, &file, &fn, NULL), LPZ_OK);
    assert_int_equal(n, fn);
    assert_memory_equal(png, file, n);
    free(png);
    free(file);
    /* Self-contained and safe: no scripts, no refresh, escaped config, no secret. */
    assert_null(strstr(html, "<script"));
    assert_null(strstr(html, "http-equiv=\"refresh\""));
    assert_non_null(strstr(html, "Content-Security-Policy"));
    assert_null(strstr(html, "src=\"http"));
    assert_non_null(strstr(html, "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; co"));
    assert_null(strstr(html, FIXTURE_SECRET));
    assert_non_null(strstr(html, "secret: *****************  # --set"));
    assert_non_null(strstr(html, "lowest score: 65"));
    assert_null(strstr(html, "class=\"notices\""));
    free(html);
}

static void test_running_run_reloads_and_skips_the_row_being_written(void **state)
{
    (void)state;
    const char *dir = run_path("running");
    fixture_opts o = {2, 3, 1, 0, 1};
    assert_int_equal(fixture_write(dir, &o), 0);
    assert_int_equal(lpz_report_write(dir, NULL), LPZ_OK);
    char *html = read_report(dir);
    assert_non_null(strstr(html, "data-state=\"running\" data-iteration=\"3\""));
    assert_non_null(strstr(html, "<meta http-equiv=\"refresh\" content=\"10\">"));
    assert_non_null(strstr(html, "3 of 5 iterations done"));
    assert_null(strstr(html, "class=\"notices\"")); /* a row being written is not a problem */
    /* Weights come from the latest metrics row while master/ is absent. */
    assert_int_equal(count(html, "after iteration 3</caption>"), 4);
    free(html);

    /* The trainer says when it is done, whatever the folder holds: no reloading; 3 of the run's 5 iterations is
     * a stopped run (a Ctrl-C; it said "Finished after 3 iterations"). */
    assert_int_equal(lpz_report_write_ex(dir, LPZ_REPORT_FINISHED, NULL), LPZ_OK);
    html = read_report(dir);
    assert_null(strstr(html, "http-equiv=\"refresh\""));
    assert_non_null(strstr(html, "data-state=\"stopped\""));
    assert_non_null(strstr(html, "Stopped after 3 of 5 iterations"));
    assert_null(strstr(html, "Finished after"));
    free(html);
}

static void test_best_cell_without_scores_is_lowest_generator_fitness(void **state)
{
    (void)state;
    const char *dir = run_path("noscore");
    fixture_opts o = {3, 2, 0, 1, 0};
    assert_int_equal(fixture_write(dir, &o), 0);
    assert_int_equal(lpz_report_write_ex(dir, LPZ_REPORT_RUNNING, NULL), LPZ_OK);
    char *html = read_report(dir);
    assert_non_null(strstr(html, "data-cells=\"9\" data-grid=\"3\" data-best-cell=\"2\" data-state=\"running\""));
    assert_null(strstr(html, "data-metric=\"score\""));
    assert_int_equal(count(html, "<polyline class=\"curve"), 7 * 9);
    assert_non_null(strstr(html, "lowest generator fitness: 0.333333; no scores computed"));
    free(html);
}

static void test_folder_that_is_not_a_run_is_refused_clearly(void **state)
{
    (void)state;
    lpz_error err;
    const char *empty = run_path("empty");
    assert_int_equal(lpz_mkdirs(empty, NULL), LPZ_OK);
    assert_int_equal(lpz_report_write(empty, &err), LPZ_ENOTFOUND);
    assert_non_null(strstr(err.message, "not an lpz run folder"));
    assert_string_equal(err.where, empty);
    assert_non_null(strstr(err.hint, "results:"));

    assert_int_equal(lpz_report_write(run_path("does-not-exist"), &err), LPZ_ENOTFOUND);
    assert_non_null(strstr(err.message, "no such folder"));

    char file[600];
    snprintf(file, sizeof file, "%s/plain-file", root);
    write_file(file, "x");
    assert_int_equal(lpz_report_write(file, &err), LPZ_ENOTFOUND);
    assert_non_null(strstr(err.message, "is a file"));

    assert_int_equal(lpz_report_write(NULL, &err), LPZ_EINVAL);
    assert_int_equal(lpz_report_write("", &err), LPZ_EINVAL);
}

static void test_metrics_without_iteration_and_cell_columns_is_an_error(void **state)
{
    (void)state;
    const char *dir = run_path("badheader");
    assert_int_equal(lpz_mkdirs(dir, NULL), LPZ_OK);
    char path[600];
    snprintf(path, sizeof path, "%s/metrics.csv", dir);
    write_file(path, "a,b,c\n1,2,3\n");
    lpz_error err;
    assert_int_equal(lpz_report_write(dir, &err), LPZ_EFORMAT);
    assert_non_null(strstr(err.where, "metrics.csv:1"));
    assert_non_null(strstr(err.message, "'iteration'"));
    snprintf(path, sizeof path, "%s/report.html", dir);
    assert_false(lpz_is_file(path));
}

static void test_malformed_rows_are_listed_and_left_out(void **state)
{
    (void)state;
    const char *dir = run_path("malformed");
    assert_int_equal(lpz_mkdirs(dir, NULL), LPZ_OK);
    char path[600];
    snprintf(path, sizeof path, "%s/metrics.csv", dir);
    write_file(path, "iteration,cell,g_loss,d_loss,g_fitness,d_fitness,g_lr,d_lr,score,mixture_weights\n"
                     "1,0,0.5,0.6,0.4,0.7,0.0002,0.0002,,0:1\n"
                     "1,1,0.5,0.6\n"
                     "2,0,banana,0.6,0.4,0.7,0.0002,0.0002,,0:1\n"
                     "2,99999,0.5,0.6,0.4,0.7,0.0002,0.0002,,0:1\n"
                     "2,0,0.4,0.5,0.3,0.6,0.0002,0.0002,,0:x\n"
                     "3,0,0.3,0.5,0.2,0.6,0.0002,0.0002,,0:1\n");
    assert_int_equal(lpz_report_write(dir, NULL), LPZ_OK);
    char *html = read_report(dir);
    assert_non_null(strstr(html, "metrics.csv:3: 4 fields where the header has 10; row skipped"));
    assert_non_null(strstr(html, "metrics.csv:4: g_loss &#39;banana&#39; is not a number; row skipped"));
    assert_non_null(strstr(html, "metrics.csv:5: cell &#39;99999&#39; is not a whole number"));
    /* One cell, its three good iterations (1, 2, 3) on every curve. */
    assert_non_null(strstr(html, "data-cells=\"1\""));
    assert_int_equal(count(html, "<polyline class=\"curve"), 6);
    assert_non_null(strstr(html, "config.yml is missing"));
    free(html);
}

static void test_bad_samples_and_mixture_files_are_explained_in_the_page(void **state)
{
    (void)state;
    const char *dir = run_path("badfiles");
    fixture_opts o = {2, 2, 1, 1, 0};
    assert_int_equal(fixture_write(dir, &o), 0);
    char path[600];
    snprintf(path, sizeof path, "%s/samples/cell-0/iteration-0002.png", dir);
    assert_int_equal(lpz_write_file_atomic(path, "\x00\x01garbage", 9, NULL), LPZ_OK);
    snprintf(path, sizeof path, "%s/samples/cell-1/iteration-0009.csv", dir);
    write_file(path, "t,packets,bytes\n0,3,1500\n1,<b>,40\n");
    snprintf(path, sizeof path, "%s/master/3/mixture.yml", dir);
    write_file(path, "# mixture\ngenerator-3.safetensors: banana\n");
    assert_int_equal(lpz_report_write(dir, NULL), LPZ_OK);
    char *html = read_report(dir);
    assert_problem(html, "samples/cell-0/iteration-0002.png: not a PNG (truncated or damaged: no PNG signature); "
                         "not shown");
    assert_non_null(strstr(html, "<pre class=\"samples-text\">t,packets,bytes\n0,3,1500\n1,&lt;b&gt;,40\n</pre>"));
    assert_non_null(strstr(html, "master/3/mixture.yml:2: expected"));
    /* Cell 3 falls back to its latest metrics row; the run is not finished. */
    assert_non_null(strstr(html, "cell 3 &mdash; after iteration 2"));
    assert_non_null(strstr(html, "data-state=\"running\""));
    assert_int_equal(count(html, "src=\"data:image/png;base64,"), 2);
    free(html);
}

static void test_repeated_writes_leave_one_report_and_no_temporary_files(void **state)
{
    (void)state;
    const char *dir = run_path("repeat");
    fixture_opts o = {2, 2, 0, 0, 0};
    assert_int_equal(fixture_write(dir, &o), 0);
    for (int i = 0; i < 5; i++)
        assert_int_equal(lpz_report_write(dir, NULL), LPZ_OK);
    DIR *d = opendir(dir);
    assert_non_null(d);
    struct dirent *e;
    int reports = 0;
    while ((e = readdir(d))) {
        assert_null(strstr(e->d_name, ".tmp."));
        reports += strcmp(e->d_name, "report.html") == 0;
    }
    closedir(d);
    assert_int_equal(reports, 1);
}

/* Random damage to a valid metrics.csv: the report either renders (with
 * notices) or refuses the header; never a crash (run under ASan too). */
static void test_damaged_metrics_never_crash(void **state)
{
    (void)state;
    const char *dir = run_path("fuzz");
    fixture_opts o = {2, 3, 1, 0, 0};
    assert_int_equal(fixture_write(dir, &o), 0);
    char path[600], *orig;
    size_t size;
    snprintf(path, sizeof path, "%s/metrics.csv", dir);
    assert_int_equal(lpz_read_file(path, 1 << 20, &orig, &size, NULL), LPZ_OK);
    char *buf = malloc(size + 64);
    uint64_t s = 12345;
    static const char alphabet[] = ",;:\n\r-.0123456789eEnaN \xff";
    for (int round = 0; round < 300; round++) {
        memcpy(buf, orig, size);
        size_t n = size;
        int edits = 1 + (int)(s % 8);
        for (int k = 0; k < edits; k++) {
            s = s * 6364136223846793005ULL + 1442695040888963407ULL;
            size_t at = (size_t)(s >> 33) % n;
            switch ((s >> 20) % 3) {
            case 0: buf[at] = alphabet[(s >> 40) % (sizeof alphabet - 1)]; break;
            case 1: n = at + 1; break; /* truncate */
            default: buf[at] = '\n'; break;
            }
        }
        assert_int_equal(lpz_write_file_atomic(path, buf, n, NULL), LPZ_OK);
        lpz_error err;
        int rc = lpz_report_write(dir, &err);
        assert_true(rc == LPZ_OK || rc == LPZ_EFORMAT);
    }
    free(buf);
    free(orig);
}

/* ---- damaged run files: each is listed under "Problems found", naming the
 * file and what is wrong; nothing that is not a regular file is read (a
 * FIFO would block, /dev/zero and /dev/urandom never end). alarm() turns a
 * hang into a failure instead of waiting for the ctest timeout. */

/* A finished 2x2 run (3 iterations, scores, every mixture.yml). */
static const char *finished_run(const char *name)
{
    const char *dir = run_path(name);
    fixture_opts o = {2, 3, 1, 1, 0};
    assert_int_equal(fixture_write(dir, &o), 0);
    return dir;
}

static void run_file(char *path, size_t size, const char *dir, const char *rel)
{
    snprintf(path, size, "%s/%s", dir, rel);
}

/* Writes the report of dir (it must succeed) and returns the page. */
static char *report_of(const char *dir)
{
    alarm(30);
    lpz_error err;
    lpz_error_clear(&err);
    int rc = lpz_report_write(dir, &err);
    alarm(0);
    if (rc)
        fprintf(stderr, "lpz_report_write: %s\n", err.message);
    assert_int_equal(rc, LPZ_OK);
    return read_report(dir);
}

/* The problem is listed (HTML-escaped text of the notice) in the notices section. */
static void assert_problem(const char *html, const char *notice)
{
    const char *section = strstr(html, "<section class=\"notices\"><h2>Problems found while reading the run</h2>");
    if (!section || !strstr(section, notice))
        fprintf(stderr, "expected the problem '%s' in:\n%.3000s\n", notice, section ? section : html);
    assert_non_null(section);
    assert_non_null(strstr(section, notice));
}

/* A finished run whose metrics.csv cannot be read: the problem is listed,
 * the status does not claim 0 iterations, and the rest of the run is shown. */
static void assert_metrics_problem(const char *dir, const char *notice)
{
    char *html = report_of(dir);
    assert_problem(html, notice);
    assert_null(strstr(html, "Finished after 0 iterations"));
    assert_non_null(strstr(html, "Finished; the number of iterations is not known: metrics.csv "));
    assert_int_equal(count(html, "src=\"data:image/png;base64,"), 4);
    assert_int_equal(count(html, "<table class=\"mixture"), 4);
    free(html);
}

static void test_empty_metrics_is_a_problem_not_zero_iterations(void **state)
{
    (void)state;
    const char *dir = finished_run("metrics-empty");
    char path[600];
    run_file(path, sizeof path, dir, "metrics.csv");
    assert_int_equal(truncate(path, 0), 0);
    assert_metrics_problem(dir, "metrics.csv: empty (no header row)");
}

static void test_metrics_cut_inside_its_header_is_a_problem(void **state)
{
    (void)state;
    const char *dir = finished_run("metrics-cut");
    char path[600];
    run_file(path, sizeof path, dir, "metrics.csv");
    assert_int_equal(truncate(path, 20), 0); /* "iteration,cell,g_los" */
    assert_metrics_problem(dir, "metrics.csv: no header row (the file ends inside its first line)");
}

static void test_metrics_that_is_a_folder_is_a_problem(void **state)
{
    (void)state;
    const char *dir = finished_run("metrics-dir");
    char path[600];
    run_file(path, sizeof path, dir, "metrics.csv");
    assert_int_equal(unlink(path), 0);
    assert_int_equal(mkdir(path, 0755), 0);
    assert_metrics_problem(dir, "metrics.csv is not a regular file (a folder); not read");
}

static void test_metrics_fifo_is_not_read_and_is_a_problem(void **state)
{
    (void)state;
    const char *dir = finished_run("metrics-fifo");
    char path[600];
    run_file(path, sizeof path, dir, "metrics.csv");
    assert_int_equal(unlink(path), 0);
    assert_int_equal(mkfifo(path, 0644), 0);
    assert_metrics_problem(dir, "metrics.csv is not a regular file (a FIFO); not read");
}

static void test_metrics_symlink_to_dev_zero_is_not_read_and_is_a_problem(void **state)
{
    (void)state;
    const char *dir = finished_run("metrics-zero");
    char path[600];
    run_file(path, sizeof path, dir, "metrics.csv");
    assert_int_equal(unlink(path), 0);
    assert_int_equal(symlink("/dev/zero", path), 0);
    assert_metrics_problem(dir,
                           "metrics.csv is not a regular file (a symbolic link to a character device); not read");
    /* A running run says so too, instead of "0 of 5 iterations done". */
    assert_int_equal(lpz_report_write_ex(dir, LPZ_REPORT_RUNNING, NULL), LPZ_OK);
    char *html = read_report(dir);
    assert_null(strstr(html, "0 of 5 iterations done"));
    assert_non_null(strstr(html, "In progress (or stopped); the number of iterations done is not known"));
    free(html);
}

/* Cell 0's latest samples file (iteration 3) damaged: listed, not embedded;
 * the other three cells still show theirs. */
static void assert_sample_problem(const char *dir, const char *notice)
{
    char *html = report_of(dir);
    assert_problem(html, notice);
    assert_null(strstr(html, "alt=\"samples of cell 0 "));
    assert_int_equal(count(html, "src=\"data:image/png;base64,"), 3);
    /* The tile says why too. */
    const char *tile = strstr(html, "<div class=\"cell\" data-cell=\"0\"");
    assert_non_null(tile);
    const char *why = strstr(tile, "<p class=\"empty\">samples/cell-0/iteration-0003.png");
    assert_non_null(why);
    assert_true(why < strstr(tile, "data-cell=\"1\""));
    free(html);
}

static void test_empty_png_sample_is_a_problem(void **state)
{
    (void)state;
    const char *dir = finished_run("png-empty");
    char path[600];
    run_file(path, sizeof path, dir, "samples/cell-0/iteration-0003.png");
    assert_int_equal(truncate(path, 0), 0);
    assert_sample_problem(dir, "samples/cell-0/iteration-0003.png: empty; not shown");
}

static void test_truncated_png_sample_is_not_embedded(void **state)
{
    (void)state;
    const char *dir = finished_run("png-cut");
    char path[600];
    struct stat st;
    run_file(path, sizeof path, dir, "samples/cell-0/iteration-0003.png");
    assert_int_equal(stat(path, &st), 0);
    assert_true(st.st_size > 100);
    assert_int_equal(truncate(path, 100), 0);
    assert_sample_problem(dir, "samples/cell-0/iteration-0003.png: not a PNG (truncated or damaged: ");
}

static void test_png_sample_with_a_flipped_byte_is_not_embedded(void **state)
{
    (void)state;
    const char *dir = finished_run("png-crc");
    char path[600], *data;
    size_t size;
    run_file(path, sizeof path, dir, "samples/cell-0/iteration-0003.png");
    assert_int_equal(lpz_read_file(path, 1 << 20, &data, &size, NULL), LPZ_OK);
    assert_true(size > 40);
    data[size - 17] ^= 0x10; /* the last byte of the image data, before IDAT's CRC and IEND */
    assert_int_equal(lpz_write_file_atomic(path, data, size, NULL), LPZ_OK);
    free(data);
    assert_sample_problem(dir,
                          "samples/cell-0/iteration-0003.png: not a PNG (truncated or damaged: chunk IDAT has a wrong "
                          "checksum); not shown");
}

/* The marker structure of a JPEG (not a decodable image: only markers and
 * lengths are checked), with FF D9 bytes inside its quantisation table. */
static void test_truncated_jpeg_sample_is_not_embedded(void **state)
{
    (void)state;
    const char *dir = finished_run("jpeg-cut");
    unsigned char jpeg[128];
    size_t n = 0;
    static const unsigned char head[] = {0xff, 0xd8, 0xff, 0xe0, 0x00, 0x10, 'J', 'F', 'I', 'F', 0, 1, 1, 0, 0, 1, 0, 1,
                                         0,    0,    0xff, 0xdb, 0x00, 0x43, 0x00};
    memcpy(jpeg, head, sizeof head);
    n = sizeof head;
    for (int i = 0; i < 64; i++)
        jpeg[n++] = i % 2 ? 0xd9 : 0xff;
    static const unsigned char scan[] = {0xff, 0xda, 0x00, 0x08, 0x01, 0x01, 0x00, 0x00, 0x3f, 0x00,
                                         0x12, 0x34, 0xff, 0x00, 0x56, 0xff, 0xd0, 0x78, 0xff, 0xd9};
    memcpy(jpeg + n, scan, sizeof scan);
    n += sizeof scan;
    char path[600];
    run_file(path, sizeof path, dir, "samples/cell-0/iteration-0004.jpg");
    assert_int_equal(lpz_write_file_atomic(path, jpeg, n, NULL), LPZ_OK);
    char *html = report_of(dir);
    assert_non_null(strstr(html, "alt=\"samples of cell 0 after iteration 4\" src=\"data:image/jpeg;base64,"));
    assert_null(strstr(html, "class=\"notices\""));
    free(html);

    assert_int_equal(lpz_write_file_atomic(path, jpeg, n - 2, NULL), LPZ_OK); /* without its end marker */
    html = report_of(dir);
    assert_problem(html, "samples/cell-0/iteration-0004.jpg: not a JPEG (truncated or damaged: cut short inside the "
                         "image data); not shown");
    assert_null(strstr(html, "data:image/jpeg"));
    free(html);
    assert_int_equal(lpz_write_file_atomic(path, jpeg, 60, NULL), LPZ_OK); /* inside the table */
    html = report_of(dir);
    assert_problem(html, "samples/cell-0/iteration-0004.jpg: not a JPEG (truncated or damaged: cut short inside the "
                         "segment at byte 20); not shown");
    free(html);
}

static void set_mtime(const char *path, time_t when)
{
    struct timespec t[2] = {{when, 0}, {when, 0}};
    assert_int_equal(utimensat(AT_FDCWD, path, t, 0), 0);
}

/* general.logging.image_format: jpg writes iteration-<NNNN>.jpg, shown as
 * image/jpeg. A resume that changed the format and redid an iteration
 * leaves a .png and a .jpg of it: the one written last is shown; a text
 * file of the same iteration never replaces an image. */
static void test_jpeg_sample_of_a_changed_format_is_shown_when_newest(void **state)
{
    (void)state;
    const char *dir = finished_run("jpeg-newest");
    float img[4 * 64];
    for (int i = 0; i < 4 * 64; i++)
        img[i] = (float)(i % 64) / 32.0f - 1.0f;
    char png[600], jpg[600], csv[600];
    run_file(png, sizeof png, dir, "samples/cell-0/iteration-0003.png");
    run_file(jpg, sizeof jpg, dir, "samples/cell-0/iteration-0003.jpg");
    run_file(csv, sizeof csv, dir, "samples/cell-1/iteration-0003.csv");
    assert_int_equal(lpz_jpeg_write_grid(jpg, img, 4, 1, 8, 8, 0, NULL), LPZ_OK);
    assert_int_equal(lpz_write_file_atomic(csv, "sample,f0\n0,1\n", 14, NULL), LPZ_OK);
    set_mtime(png, 1000000000);
    set_mtime(jpg, 1000000100);
    set_mtime(csv, 1000000200);
    char *html = report_of(dir);
    assert_non_null(strstr(html, "alt=\"samples of cell 0 after iteration 3\" src=\"data:image/jpeg;base64,/9j/"));
    assert_int_equal(count(html, "src=\"data:image/png;base64,"), 3); /* cells 1-3: the csv is not shown */
    assert_null(strstr(html, "class=\"notices\""));
    free(html);

    set_mtime(jpg, 999999900); /* the .png is the newer one */
    html = report_of(dir);
    assert_null(strstr(html, "data:image/jpeg"));
    assert_int_equal(count(html, "src=\"data:image/png;base64,"), 4);
    free(html);
}

static void test_png_sample_symlink_to_dev_urandom_is_not_read(void **state)
{
    (void)state;
    const char *dir = finished_run("png-urandom");
    char path[600];
    run_file(path, sizeof path, dir, "samples/cell-0/iteration-0003.png");
    assert_int_equal(unlink(path), 0);
    assert_int_equal(symlink("/dev/urandom", path), 0);
    assert_sample_problem(dir, "samples/cell-0/iteration-0003.png is not a regular file (a symbolic link to a "
                               "character device); not read");
}

static void test_png_sample_fifo_is_not_read(void **state)
{
    (void)state;
    const char *dir = finished_run("png-fifo");
    char path[600];
    run_file(path, sizeof path, dir, "samples/cell-0/iteration-0003.png");
    assert_int_equal(unlink(path), 0);
    assert_int_equal(mkfifo(path, 0644), 0);
    assert_sample_problem(dir, "samples/cell-0/iteration-0003.png is not a regular file (a FIFO); not read");
}

static void test_empty_mixture_is_a_problem(void **state)
{
    (void)state;
    const char *dir = finished_run("mixture-empty");
    char path[600];
    run_file(path, sizeof path, dir, "master/0/mixture.yml");
    assert_int_equal(truncate(path, 0), 0);
    char *html = report_of(dir);
    assert_problem(html, "master/0/mixture.yml: empty");
    /* Cell 0 shows the weights of its latest metrics row instead. */
    assert_non_null(strstr(html, "cell 0 &mdash; after iteration 3"));
    free(html);

    /* Comments only, and a FIFO, likewise. */
    write_file(path, "# mixture of cell 0\n\n");
    html = report_of(dir);
    assert_problem(html, "master/0/mixture.yml: no generator weights (only comments or blank lines)");
    free(html);
    assert_int_equal(unlink(path), 0);
    assert_int_equal(mkfifo(path, 0644), 0);
    html = report_of(dir);
    assert_problem(html, "master/0/mixture.yml is not a regular file (a FIFO); not read");
    free(html);
}

/* A stop in the last iteration writes the rows of the cells that finished it, with every final mixture: the
 * cell furthest behind says the run stopped (the largest iteration said "Finished after 3 iterations"). */
static void test_a_stop_in_the_last_iteration_is_a_stop(void **state)
{
    (void)state;
    const char *dir = finished_run("stopped-last");
    char path[600];
    run_file(path, sizeof path, dir, "metrics.csv");
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    char buf[1 << 16];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    assert_true(n > 1 && buf[n - 1] == '\n');
    buf[n - 1] = '\0';
    char *last = strrchr(buf, '\n'); /* the row of iteration 3, cell 3 */
    assert_non_null(last);
    assert_int_equal(strncmp(last + 1, "3,3,", 4), 0);
    last[1] = '\0';
    f = fopen(path, "wb");
    assert_non_null(f);
    fputs(buf, f);
    fclose(f);
    char *html = report_of(dir);
    assert_non_null(strstr(html, "data-state=\"stopped\""));
    assert_non_null(strstr(html, "Stopped after 2 of 3 iterations (some cells one more)"));
    free(html);
}

static void test_config_that_is_not_a_regular_file_is_a_problem(void **state)
{
    (void)state;
    const char *dir = finished_run("config-fifo");
    char path[600];
    run_file(path, sizeof path, dir, "config.yml");
    assert_int_equal(unlink(path), 0);
    assert_int_equal(mkfifo(path, 0644), 0);
    char *html = report_of(dir);
    assert_problem(html, "config.yml is not a regular file (a FIFO); not read");
    assert_null(strstr(html, "config.yml is missing"));
    assert_non_null(strstr(html, "Finished after 3 iterations."));
    free(html);
}

/* master.calculate_score's final_scores.csv: with every cell's final FID
 * of its latest iteration, the page shows them and names the lowest the
 * best cell (as `lpz train`'s summary), not the lowest score of the last
 * iteration (cell 2 in the fixture). */
static void test_final_scores_name_the_best_cell(void **state)
{
    (void)state;
    const char *dir = finished_run("final-scores");
    char path[600];
    run_file(path, sizeof path, dir, "final_scores.csv");
    write_file(path, "cell,iterations,samples,fid\n0,3,1000,75.5\n1,3,1000,80.25\n2,3,1000,90\n"
                     "3,3,1000,41.123456789012344\n");
    char *html = report_of(dir);
    assert_non_null(strstr(html, "data-best-cell=\"3\""));
    assert_int_equal(count(html, "<div class=\"cell best\" data-cell=\"3\""), 1);
    assert_non_null(strstr(html, "3 (lowest final FID: 41.1235 over 1000 samples)"));
    assert_non_null(strstr(html, "data-final-fid=\"41.123456789012344\""));
    assert_int_equal(count(html, "data-final-fid=\""), 4);
    assert_non_null(strstr(html, "final FID 75.5000 (1000 samples)"));
    assert_non_null(strstr(html, "every cell's final mixture scored"));
    assert_null(strstr(html, "class=\"notices\""));
    free(html);

    /* A stopped final scoring: the FIDs scored are shown, the best cell is the last iteration's. */
    write_file(path, "cell,iterations,samples,fid\n0,3,1000,75.5\n1,3,,\n2,3,,\n3,3,,\n");
    html = report_of(dir);
    assert_non_null(strstr(html, "data-best-cell=\"2\""));
    assert_non_null(strstr(html, "lowest score: 65"));
    assert_int_equal(count(html, "data-final-fid=\""), 1);
    assert_non_null(strstr(html, "incomplete: 1 of 4 cells scored"));
    free(html);

    /* Scores of earlier mixtures (the cells trained on since): not shown. */
    write_file(path, "cell,iterations,samples,fid\n0,2,1000,75.5\n1,2,1000,1\n2,2,1000,1\n3,2,1000,1\n");
    html = report_of(dir);
    assert_non_null(strstr(html, "data-best-cell=\"2\""));
    assert_null(strstr(html, "data-final-fid"));
    assert_non_null(strstr(html, "holds the scores of earlier mixtures"));
    free(html);

    /* A bad row is listed and left out; its cell then has no final FID. */
    write_file(path, "cell,iterations,samples,fid\n0,3,1000,75.5\n1,3,1000,x\n2,3,1000,90\n3,3,1000,41\n");
    html = report_of(dir);
    assert_problem(html, "final_scores.csv:3: not a row &#39;cell,iterations,samples,fid&#39; of this 4-cell run; "
                         "left out");
    assert_non_null(strstr(html, "data-best-cell=\"2\""));
    free(html);

    /* Without the file: as before. */
    assert_int_equal(unlink(path), 0);
    html = report_of(dir);
    assert_non_null(strstr(html, "data-best-cell=\"2\""));
    assert_null(strstr(html, "final scoring"));
    assert_null(strstr(html, "final_scores.csv"));
    free(html);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_finished_run_shows_every_cell_curve_mixture_and_best),
        cmocka_unit_test(test_running_run_reloads_and_skips_the_row_being_written),
        cmocka_unit_test(test_best_cell_without_scores_is_lowest_generator_fitness),
        cmocka_unit_test(test_folder_that_is_not_a_run_is_refused_clearly),
        cmocka_unit_test(test_metrics_without_iteration_and_cell_columns_is_an_error),
        cmocka_unit_test(test_malformed_rows_are_listed_and_left_out),
        cmocka_unit_test(test_bad_samples_and_mixture_files_are_explained_in_the_page),
        cmocka_unit_test(test_repeated_writes_leave_one_report_and_no_temporary_files),
        cmocka_unit_test(test_damaged_metrics_never_crash),
        cmocka_unit_test(test_empty_metrics_is_a_problem_not_zero_iterations),
        cmocka_unit_test(test_metrics_cut_inside_its_header_is_a_problem),
        cmocka_unit_test(test_metrics_that_is_a_folder_is_a_problem),
        cmocka_unit_test(test_metrics_fifo_is_not_read_and_is_a_problem),
        cmocka_unit_test(test_metrics_symlink_to_dev_zero_is_not_read_and_is_a_problem),
        cmocka_unit_test(test_empty_png_sample_is_a_problem),
        cmocka_unit_test(test_truncated_png_sample_is_not_embedded),
        cmocka_unit_test(test_png_sample_with_a_flipped_byte_is_not_embedded),
        cmocka_unit_test(test_truncated_jpeg_sample_is_not_embedded),
        cmocka_unit_test(test_jpeg_sample_of_a_changed_format_is_shown_when_newest),
        cmocka_unit_test(test_png_sample_symlink_to_dev_urandom_is_not_read),
        cmocka_unit_test(test_png_sample_fifo_is_not_read),
        cmocka_unit_test(test_empty_mixture_is_a_problem),
        cmocka_unit_test(test_a_stop_in_the_last_iteration_is_a_stop),
        cmocka_unit_test(test_config_that_is_not_a_regular_file_is_a_problem),
        cmocka_unit_test(test_final_scores_name_the_best_cell),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
