/* bench/data/bench_data.c - how fast the data pipeline feeds a trainer.
 *
 * Built twice: bench_data_fashion_mnist (the fashion_mnist plugin compiled
 * in; needs Debian's dataset-fashion-mnist) and bench_data_celeba (the
 * celeba plugin; generates a folder of 64x64 JPEGs in a temporary folder,
 * times the one-off decoding into the cache, then batching from the
 * cache). Batches per second are measured with the prefetch thread
 * (prefetch 2, what training uses: the consumer only copies) and without
 * it (prefetch 0: the cost of producing a batch in the caller's thread).
 *   bench_data_fashion_mnist [batches]     (default 600 = one epoch)
 *   bench_data_celeba [images] [batches]   (default 2000, 300)
 * Prints one row "| figure | median | unit | runs | note |" per figure
 * (bench/run.sh collects them; batch rates are medians of 5 passes).
 * Never part of the tests.
 */
#include "config/options_internal.h"
#include "data/batcher.h"
#include "data/dataset.h"

#include <lpz/lpz.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#ifdef BENCH_CELEBA
#include <jpeglib.h>
#endif

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static int fail(const char *what, const lpz_error *err)
{
    char buf[3072];
    fprintf(stderr, "bench_data: %s: %s\n", what, lpz_error_format(err, buf, sizeof buf));
    return 1;
}

#define REPS 5 /* passes per figure; the row gives their median */

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* Batches per second over n batches, median of REPS passes (a fresh
 * batcher each, so the prefetch thread starts cold every time); the
 * consumer only receives them. Prints one result row. */
static int run_batches(lpz_dataset *ds, int64_t bs, int64_t n, int prefetch, const char *label)
{
    lpz_batcher_config c = lpz_batcher_config_default(bs, 1, 0);
    c.prefetch = prefetch;
    lpz_error err;
    float *x = malloc((size_t)(bs * lpz_dataset_numel(ds)) * sizeof *x);
    int32_t *lab = malloc((size_t)bs * sizeof *lab);
    double rate[REPS], sum = 0;
    int rc = x && lab ? 0 : fail("batches", &(lpz_error){.message = "out of memory"});
    for (int r = 0; r < REPS && rc == 0; r++) {
        lpz_batcher *b;
        if (lpz_batcher_create(ds, &c, &b, &err) != LPZ_OK) {
            rc = fail("batcher", &err);
            break;
        }
        double t0 = now();
        for (int64_t k = 0; k < n; k++) {
            if (lpz_batcher_next(b, x, lab, &err) != LPZ_OK) {
                rc = fail("batch", &err);
                break;
            }
            sum += x[k % bs]; /* keep the copy observable */
        }
        rate[r] = n / (now() - t0);
        lpz_batcher_destroy(b);
    }
    if (rc == 0) {
        qsort(rate, REPS, sizeof rate[0], cmp_double);
        printf("| %s batch %lld prefetch %d | %.0f | batches/s | %d | %.0f samples/s over %lld batches%s |\n", label,
               (long long)bs, prefetch, rate[REPS / 2], REPS, rate[REPS / 2] * bs, (long long)n,
               prefetch ? "; consumer only copies" : "; produced in the caller's thread");
    }
    if (sum == 1e300)
        printf("!\n");
    free(x);
    free(lab);
    return rc;
}

#ifdef BENCH_CELEBA
static void write_jpeg(const char *path, int seed)
{
    enum { S = 64 };
    uint8_t px[S * S * 3];
    for (int y = 0; y < S; y++)
        for (int x = 0; x < S; x++) {
            px[(y * S + x) * 3 + 0] = (uint8_t)(x * 4 + seed);
            px[(y * S + x) * 3 + 1] = (uint8_t)(y * 4 + seed * 3);
            px[(y * S + x) * 3 + 2] = (uint8_t)((x ^ y) * 4 + seed * 7);
        }
    struct jpeg_compress_struct c;
    struct jpeg_error_mgr je;
    c.err = jpeg_std_error(&je);
    jpeg_create_compress(&c);
    FILE *f = fopen(path, "wb");
    if (!f)
        exit(1);
    jpeg_stdio_dest(&c, f);
    c.image_width = S;
    c.image_height = S;
    c.input_components = 3;
    c.in_color_space = JCS_RGB;
    jpeg_set_defaults(&c);
    jpeg_set_quality(&c, 90, TRUE);
    jpeg_start_compress(&c, TRUE);
    while (c.next_scanline < S) {
        JSAMPROW row = px + c.next_scanline * S * 3;
        jpeg_write_scanlines(&c, &row, 1);
    }
    jpeg_finish_compress(&c);
    jpeg_destroy_compress(&c);
    fclose(f);
}

static void rmtree(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return;
    struct dirent *e;
    char p[4096];
    while ((e = readdir(d)))
        if (e->d_name[0] != '.' && (size_t)snprintf(p, sizeof p, "%s/%s", dir, e->d_name) < sizeof p)
            unlink(p);
    closedir(d);
    rmdir(dir);
}
#endif

int main(int argc, char **argv)
{
    lpz_log_set_level(LPZ_LOG_WARN);
    const lpz_plugin *p = &lpz_plugin_descriptor;
    lpz_options *o = lpz_options_create(p->options, p->name);
    lpz_error err;
    char dir[512] = "/tmp";
    const char *tmp = getenv("TMPDIR");
#ifdef BENCH_CELEBA
    int64_t n_images = argc > 1 ? atoll(argv[1]) : 2000;
    int64_t n_batches = argc > 2 ? atoll(argv[2]) : 300;
    snprintf(dir, sizeof dir, "%s/lpz-bench-celeba-XXXXXX", tmp && tmp[0] ? tmp : "/tmp");
    if (!mkdtemp(dir))
        return 1;
    char path[1024];
    for (int64_t i = 0; i < n_images; i++) {
        snprintf(path, sizeof path, "%s/%06lld.jpg", dir, (long long)i);
        write_jpeg(path, (int)i);
    }
    if (lpz_options_set(o, "path", dir, "bench", &err) != LPZ_OK)
        return fail("options", &err);
#else
    int64_t n_batches = argc > 1 ? atoll(argv[1]) : 600;
    (void)tmp;
#endif
    lpz_dataset_context ctx;
    memset(&ctx, 0, sizeof ctx);
    ctx.size = sizeof ctx;
    ctx.options = o;
    ctx.output_dir = dir;
    ctx.cache_dir = dir;
    ctx.config_dir = dir;
    lpz_dataset *ds;
    double t0 = now();
    if (lpz_dataset_open(p, &ctx, &ds, &err) != LPZ_OK) {
#ifndef BENCH_CELEBA
        if (err.code == LPZ_ENOTFOUND) {
            printf("fashion_mnist: skipped (%s)\n", err.hint);
            return 0;
        }
#endif
        return fail("open", &err);
    }
    double t_open = now() - t0;
    const lpz_dataset_info *info = lpz_dataset_get_info(ds);
#ifdef BENCH_CELEBA
    printf("| celeba decode into cache | %.0f | images/s | 1 | %lld JPEGs 64x64 in %.2f s (one-off) |\n",
           info->count / t_open, (long long)info->count, t_open);
    lpz_dataset_close(ds);
    t0 = now();
    if (lpz_dataset_open(p, &ctx, &ds, &err) != LPZ_OK)
        return fail("reopen", &err);
    printf("| celeba reopen from cache | %.1f | ms | 1 | |\n", (now() - t0) * 1e3);
#else
    printf("| fashion_mnist open | %.2f | s | 1 | gunzip + check %lld images |\n", t_open, (long long)info->count);
#endif
    int rc = 0;
#ifdef BENCH_CELEBA
    const int64_t sizes[2] = {100, 128};
#else
    const int64_t sizes[2] = {100, 400};
#endif
    for (int s = 0; s < 2 && rc == 0; s++)
        for (int pf = 2; pf >= 0 && rc == 0; pf -= 2)
            rc = run_batches(ds, sizes[s], n_batches, pf, p->name);
    lpz_dataset_close(ds);
    lpz_options_destroy(o);
#ifdef BENCH_CELEBA
    rmtree(dir);
#endif
    return rc;
}
