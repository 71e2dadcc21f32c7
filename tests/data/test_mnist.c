/* tests/data/test_mnist.c - the mnist plugin (plugins/dataloaders/mnist,
 * compiled into this test) on IDX fixtures written here, plain and
 * gzipped (also in several members, and larger than the first 64 MB read
 * buffer), good and broken (a gzip stream cut
 * off or followed by other bytes); built a second time with LPZ_MNIST_FASHION
 * (test_data_fashion_mnist), which also reads the real Fashion-MNIST
 * when Debian's dataset-fashion-mnist is installed; describe tells the
 * sample shape from the image header alone. */
#include "data/batcher.h"
#include "data/dataset.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "data_test_util.h"

#include <sys/stat.h>
#include <zlib.h>

#define N 50
#define ROWS 5
#define COLS 4

static const lpz_plugin *P = &lpz_plugin_descriptor;

static uint8_t pixel(int i, int j)
{
    return (uint8_t)((i * 31 + j * 7) % 256);
}

static void be32(uint8_t *b, uint32_t v)
{
    b[0] = (uint8_t)(v >> 24);
    b[1] = (uint8_t)(v >> 16);
    b[2] = (uint8_t)(v >> 8);
    b[3] = (uint8_t)v;
}

/* Writes an IDX file: header words then `n` payload bytes; `cut` bytes
 * are left off the end (truncation), gz selects gzip. */
static void write_idx(const char *path, const uint32_t *words, int n_words, const uint8_t *payload, size_t n,
                      size_t cut, int gz)
{
    size_t total = (size_t)n_words * 4 + n;
    uint8_t *buf = malloc(total);
    for (int w = 0; w < n_words; w++)
        be32(buf + 4 * w, words[w]);
    memcpy(buf + 4 * n_words, payload, n);
    if (gz) {
        gzFile f = gzopen(path, "wb");
        assert_non_null(f);
        assert_int_equal(gzwrite(f, buf, (unsigned)(total - cut)), (int)(total - cut));
        gzclose(f);
    } else {
        assert_int_equal(dt_write(path, buf, total - cut), 0);
    }
    free(buf);
}

/* The four files of a set of N images of ROWS x COLS in dir. */
static void write_set(const char *dir, const char *prefix, int gz, int n_images, int n_labels, uint32_t img_magic)
{
    char path[1024];
    uint8_t *px = malloc((size_t)n_images * ROWS * COLS);
    for (int i = 0; i < n_images; i++)
        for (int j = 0; j < ROWS * COLS; j++)
            px[i * ROWS * COLS + j] = pixel(i, j);
    uint8_t lab[N + 10];
    for (int i = 0; i < n_labels; i++)
        lab[i] = (uint8_t)(i % 10);
    uint32_t ih[4] = {img_magic, (uint32_t)n_images, ROWS, COLS};
    uint32_t lh[2] = {2049, (uint32_t)n_labels};
    assert_true(snprintf(path, sizeof path, "%s/%s-images-idx3-ubyte%s", dir, prefix, gz ? ".gz" : "") <
                (int)sizeof path);
    write_idx(path, ih, 4, px, (size_t)n_images * ROWS * COLS, 0, gz);
    assert_true(snprintf(path, sizeof path, "%s/%s-labels-idx1-ubyte%s", dir, prefix, gz ? ".gz" : "") <
                (int)sizeof path);
    write_idx(path, lh, 2, lab, (size_t)n_labels, 0, gz);
    free(px);
}

static int open_dir(const char *dir, lpz_split split, const char *output_dir, void **state, lpz_dataset_info *info,
                    lpz_error *err)
{
    lpz_options *o = dir ? dt_options(P, "path", dir, NULL) : dt_options(P, NULL);
    assert_non_null(o);
    lpz_dataset_context ctx = dt_context(o, output_dir);
    ctx.split = split;
    int rc = P->ops ? ((const lpz_dataloader_ops *)P->ops)->open(&ctx, state, info, err) : -1;
    lpz_options_destroy(o);
    if (rc != LPZ_OK)
        dt_show(err);
    return rc;
}

static const lpz_dataloader_ops *ops(void)
{
    return P->ops;
}

static void check_set(void *state, const lpz_dataset_info *info, int n)
{
    assert_int_equal(info->count, n);
    assert_int_equal(info->kind, LPZ_SAMPLE_IMAGE);
    assert_int_equal(info->sample_shape.ndim, 3);
    assert_int_equal(info->sample_shape.dim[0], 1);
    assert_int_equal(info->sample_shape.dim[1], ROWS);
    assert_int_equal(info->sample_shape.dim[2], COLS);
    assert_int_equal(info->n_classes, 10);
    float x[ROWS * COLS];
    lpz_error err;
    for (int i = 0; i < n; i++) {
        assert_int_equal(ops()->read(state, i, x, &err), LPZ_OK);
        for (int j = 0; j < ROWS * COLS; j++) {
            assert_float_equal(x[j], pixel(i, j) / 255.0 * 2.0 - 1.0, 1e-6);
            /* exactly the float formula, whichever path (8 at a time or the
             * table for the tail) converted it */
            float want = (float)pixel(i, j) / 255.0f * 2.0f - 1.0f;
            assert_memory_equal(&x[j], &want, sizeof want);
        }
        int32_t lab;
        assert_int_equal(ops()->label(state, i, &lab, &err), LPZ_OK);
        assert_int_equal(lab, i % 10);
    }
}

static void reads_plain_idx_any_image_size(void **st)
{
    (void)st;
    char dir[512];
    assert_int_equal(lpz_test_mkdtemp(dir, sizeof dir, "mnist"), 0);
    write_set(dir, "train", 0, N, N, 2051);
    void *s;
    lpz_dataset_info info;
    lpz_error err;
    assert_int_equal(open_dir(dir, LPZ_SPLIT_TRAIN, dir, &s, &info, &err), LPZ_OK);
    check_set(s, &info, N);
    ops()->close(s);
    lpz_test_rmtree(dir);
}

static void reads_gzipped_idx_and_the_test_split(void **st)
{
    (void)st;
    char dir[512];
    assert_int_equal(lpz_test_mkdtemp(dir, sizeof dir, "mnist"), 0);
    write_set(dir, "train", 1, N, N, 2051);
    write_set(dir, "t10k", 1, 20, 20, 2051);
    void *s;
    lpz_dataset_info info;
    lpz_error err;
    assert_int_equal(open_dir(dir, LPZ_SPLIT_TRAIN, dir, &s, &info, &err), LPZ_OK);
    check_set(s, &info, N);
    ops()->close(s);
    assert_int_equal(open_dir(dir, LPZ_SPLIT_TEST, dir, &s, &info, &err), LPZ_OK);
    check_set(s, &info, 20);
    ops()->close(s);
    lpz_test_rmtree(dir);
}

static void finds_torchvision_layout_then_lpz_data(void **st)
{
    (void)st;
    char dir[512], raw[1024], env[1024];
    assert_int_equal(lpz_test_mkdtemp(dir, sizeof dir, "mnist"), 0);
#ifdef LPZ_MNIST_FASHION
    const char *tv = "FashionMNIST", *envsub = "fashion-mnist";
#else
    const char *tv = "MNIST", *envsub = "mnist";
#endif
    /* $LPZ_DATA/<name> */
    snprintf(env, sizeof env, "%s/env/%s", dir, envsub);
    snprintf(raw, sizeof raw, "%s/env", dir);
    assert_int_equal(mkdir(raw, 0755), 0);
    assert_int_equal(mkdir(env, 0755), 0);
    write_set(env, "train", 1, 30, 30, 2051);
    setenv("LPZ_DATA", raw, 1);
    void *s;
    lpz_dataset_info info;
    lpz_error err;
    assert_int_equal(open_dir(NULL, LPZ_SPLIT_TRAIN, dir, &s, &info, &err), LPZ_OK);
    assert_int_equal(info.count, 30);
    ops()->close(s);
    /* <output_dir>/data/<torchvision name>/raw comes first */
    snprintf(raw, sizeof raw, "%s/data", dir);
    assert_int_equal(mkdir(raw, 0755), 0);
    snprintf(raw, sizeof raw, "%s/data/%s", dir, tv);
    assert_int_equal(mkdir(raw, 0755), 0);
    snprintf(raw, sizeof raw, "%s/data/%s/raw", dir, tv);
    assert_int_equal(mkdir(raw, 0755), 0);
    write_set(raw, "train", 0, N, N, 2051);
    assert_int_equal(open_dir(NULL, LPZ_SPLIT_TRAIN, dir, &s, &info, &err), LPZ_OK);
    assert_int_equal(info.count, N);
    ops()->close(s);
    unsetenv("LPZ_DATA");
    lpz_test_rmtree(dir);
}

static void missing_data_lists_the_places_searched(void **st)
{
    (void)st;
    char dir[512];
    assert_int_equal(lpz_test_mkdtemp(dir, sizeof dir, "mnist"), 0);
    unsetenv("LPZ_DATA");
    void *s;
    lpz_dataset_info info;
    lpz_error err;
    assert_int_equal(open_dir(dir, LPZ_SPLIT_TRAIN, dir, &s, &info, &err), LPZ_ENOTFOUND);
    assert_non_null(strstr(err.hint, "IDX"));
    assert_non_null(strstr(err.where, "test.yml:1:1"));
#ifndef LPZ_MNIST_FASHION
    /* (fashion_mnist would find Debian's copy when installed) */
    assert_int_equal(open_dir(NULL, LPZ_SPLIT_TRAIN, dir, &s, &info, &err), LPZ_ENOTFOUND);
    assert_non_null(strstr(err.message, "data/MNIST/raw"));
    assert_non_null(strstr(err.message, "LPZ_DATA"));
    assert_non_null(strstr(err.hint, "torchvision"));
#endif
    /* images without labels */
    write_set(dir, "train", 0, N, N, 2051);
    char p[1024];
    snprintf(p, sizeof p, "%s/train-labels-idx1-ubyte", dir);
    unlink(p);
    assert_int_equal(open_dir(dir, LPZ_SPLIT_TRAIN, dir, &s, &info, &err), LPZ_ENOTFOUND);
    assert_non_null(strstr(err.message, "train-labels-idx1-ubyte"));
    lpz_test_rmtree(dir);
}

static void broken_files_are_clear_errors(void **st)
{
    (void)st;
    char dir[512], path[1024];
    void *s;
    lpz_dataset_info info;
    lpz_error err;
    uint8_t px[N * ROWS * COLS] = {0}, lab[N] = {0};

    /* wrong magic: a label file where images belong */
    assert_int_equal(lpz_test_mkdtemp(dir, sizeof dir, "mnist"), 0);
    write_set(dir, "train", 0, N, N, 2049);
    assert_int_equal(open_dir(dir, LPZ_SPLIT_TRAIN, dir, &s, &info, &err), LPZ_EFORMAT);
    assert_non_null(strstr(err.message, "magic"));
    assert_non_null(strstr(err.where, "train-images-idx3-ubyte"));
    lpz_test_rmtree(dir);

    /* label count differs from image count */
    assert_int_equal(lpz_test_mkdtemp(dir, sizeof dir, "mnist"), 0);
    write_set(dir, "train", 0, N, N - 1, 2051);
    assert_int_equal(open_dir(dir, LPZ_SPLIT_TRAIN, dir, &s, &info, &err), LPZ_EFORMAT);
    assert_non_null(strstr(err.message, "49 labels for 50 images"));
    lpz_test_rmtree(dir);

    /* truncated plain and gzipped image files, a truncated header */
    for (int gz = 0; gz <= 1; gz++) {
        for (int cut = 1; cut <= 2; cut++) {
            assert_int_equal(lpz_test_mkdtemp(dir, sizeof dir, "mnist"), 0);
            write_set(dir, "train", gz, N, N, 2051);
            uint32_t ih[4] = {2051, N, ROWS, COLS};
            snprintf(path, sizeof path, "%s/train-images-idx3-ubyte%s", dir, gz ? ".gz" : "");
            write_idx(path, ih, 4, px, sizeof px, cut == 1 ? 7 : sizeof px + 10, gz);
            assert_int_equal(open_dir(dir, LPZ_SPLIT_TRAIN, dir, &s, &info, &err), LPZ_EFORMAT);
            assert_non_null(strstr(err.message, "truncated"));
            lpz_test_rmtree(dir);
        }
    }

    /* a damaged gzip stream */
    assert_int_equal(lpz_test_mkdtemp(dir, sizeof dir, "mnist"), 0);
    write_set(dir, "train", 1, N, N, 2051);
    snprintf(path, sizeof path, "%s/train-images-idx3-ubyte.gz", dir);
    FILE *f = fopen(path, "r+b");
    assert_non_null(f);
    fseek(f, 20, SEEK_SET);
    fwrite("\xde\xad\xbe\xef\xde\xad\xbe\xef", 1, 8, f);
    fclose(f);
    assert_int_equal(open_dir(dir, LPZ_SPLIT_TRAIN, dir, &s, &info, &err), LPZ_EFORMAT);
    lpz_test_rmtree(dir);

    /* more bytes than the header declares */
    assert_int_equal(lpz_test_mkdtemp(dir, sizeof dir, "mnist"), 0);
    write_set(dir, "train", 0, N, N, 2051);
    uint32_t lh[2] = {2049, N - 5};
    snprintf(path, sizeof path, "%s/train-labels-idx1-ubyte", dir);
    write_idx(path, lh, 2, lab, N, 0, 0);
    assert_int_equal(open_dir(dir, LPZ_SPLIT_TRAIN, dir, &s, &info, &err), LPZ_EFORMAT);
    lpz_test_rmtree(dir);

    /* an absurd header does not allocate gigabytes */
    assert_int_equal(lpz_test_mkdtemp(dir, sizeof dir, "mnist"), 0);
    write_set(dir, "train", 0, N, N, 2051);
    uint32_t huge[4] = {2051, 0xFFFFFFFFu, 28, 28};
    snprintf(path, sizeof path, "%s/train-images-idx3-ubyte", dir);
    write_idx(path, huge, 4, px, sizeof px, 0, 0);
    assert_int_equal(open_dir(dir, LPZ_SPLIT_TRAIN, dir, &s, &info, &err), LPZ_EFORMAT);
    assert_non_null(strstr(err.message, "implausible"));
    lpz_test_rmtree(dir);

    /* a plausible count the file does not hold (100,000,000 images, 78 GB, in a file of 50): truncated, said so
     * before anything that size is allocated (ASan aborted on the allocation); gzipped too */
    for (int gz = 0; gz <= 1; gz++) {
        assert_int_equal(lpz_test_mkdtemp(dir, sizeof dir, "mnist"), 0);
        write_set(dir, "train", gz, N, N, 2051);
        uint32_t lying[4] = {2051, 100000000u, 28, 28};
        snprintf(path, sizeof path, "%s/train-images-idx3-ubyte%s", dir, gz ? ".gz" : "");
        write_idx(path, lying, 4, px, sizeof px, 0, gz);
        assert_int_equal(open_dir(dir, LPZ_SPLIT_TRAIN, dir, &s, &info, &err), LPZ_EFORMAT);
        assert_non_null(strstr(err.message, "truncated in the pixels: the header says 78400000000 bytes"));
        assert_non_null(strstr(err.where, "train-images-idx3-ubyte"));
        lpz_test_rmtree(dir);
    }
}

/* Cuts `bytes` off the end of a file. */
static void cut_file(const char *path, long bytes)
{
    struct stat sb;
    assert_int_equal(stat(path, &sb), 0);
    assert_true(sb.st_size > bytes);
    assert_int_equal(truncate(path, sb.st_size - bytes), 0);
}

static void append_file(const char *path, const void *data, size_t n)
{
    FILE *f = fopen(path, "ab");
    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, n, f), n);
    assert_int_equal(fclose(f), 0);
}

/* gzread takes a gzip stream that stops before its end (a cut-off
 * download: the CRC and length trailer missing, the data complete) for a
 * clean end of file, and ignores what follows the last member. */
static void gzip_streams_cut_off_or_followed_by_junk_are_clear_errors(void **st)
{
    (void)st;
    char dir[512], path[1024];
    void *s;
    lpz_dataset_info info;
    lpz_error err;
    static const char *const files[2] = {"train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"};

    /* the trailer (8 bytes: CRC32, length) gone in whole or in part, or the
     * end of the compressed data too */
    static const long cuts[] = {8, 4, 1, 12};
    for (int k = 0; k < 2; k++) {
        for (size_t c = 0; c < sizeof cuts / sizeof *cuts; c++) {
            assert_int_equal(lpz_test_mkdtemp(dir, sizeof dir, "mnist"), 0);
            write_set(dir, "train", 1, N, N, 2051);
            snprintf(path, sizeof path, "%s/%s", dir, files[k]);
            cut_file(path, cuts[c]);
            assert_int_equal(open_dir(dir, LPZ_SPLIT_TRAIN, dir, &s, &info, &err), LPZ_EFORMAT);
            assert_non_null(strstr(err.message, "truncated"));
            assert_non_null(strstr(err.where, files[k]));
            assert_non_null(strstr(err.hint, "download it again"));
            lpz_test_rmtree(dir);
        }
    }

    /* bytes after the gzip stream: text, and zeros */
    static const char *const junk[2] = {"<html>", "\0\0\0\0"};
    for (int k = 0; k < 2; k++) {
        for (int j = 0; j < 2; j++) {
            assert_int_equal(lpz_test_mkdtemp(dir, sizeof dir, "mnist"), 0);
            write_set(dir, "train", 1, N, N, 2051);
            snprintf(path, sizeof path, "%s/%s", dir, files[k]);
            append_file(path, junk[j], j ? 4 : 6);
            assert_int_equal(open_dir(dir, LPZ_SPLIT_TRAIN, dir, &s, &info, &err), LPZ_EFORMAT);
            assert_non_null(strstr(err.message, "not gzip data"));
            assert_non_null(strstr(err.where, files[k]));
            lpz_test_rmtree(dir);
        }
    }

    /* another whole gzip member holding more data: longer than declared */
    assert_int_equal(lpz_test_mkdtemp(dir, sizeof dir, "mnist"), 0);
    write_set(dir, "train", 1, N, N, 2051);
    snprintf(path, sizeof path, "%s/%s", dir, files[1]);
    gzFile g = gzopen(path, "ab");
    assert_non_null(g);
    assert_int_equal(gzwrite(g, "x", 1), 1);
    assert_int_equal(gzclose(g), Z_OK);
    assert_int_equal(open_dir(dir, LPZ_SPLIT_TRAIN, dir, &s, &info, &err), LPZ_EFORMAT);
    assert_non_null(strstr(err.message, "longer than its header declares"));
    lpz_test_rmtree(dir);
}

/* Concatenated .gz files are one valid gzip file (gzip -d and gzread read
 * all members): the header and the first pixels in one member, the rest in
 * a second one, and an empty third. */
static void reads_gzip_files_of_several_members(void **st)
{
    (void)st;
    char dir[512], path[1024];
    assert_int_equal(lpz_test_mkdtemp(dir, sizeof dir, "mnist"), 0);
    write_set(dir, "train", 1, N, N, 2051);
    uint8_t buf[16 + N * ROWS * COLS];
    uint32_t ih[4] = {2051, N, ROWS, COLS};
    for (int w = 0; w < 4; w++)
        be32(buf + 4 * w, ih[w]);
    for (int i = 0; i < N; i++)
        for (int j = 0; j < ROWS * COLS; j++)
            buf[16 + i * ROWS * COLS + j] = pixel(i, j);
    snprintf(path, sizeof path, "%s/train-images-idx3-ubyte.gz", dir);
    const char *modes[3] = {"wb", "ab", "ab"};
    const size_t ends[3] = {16 + 7 * ROWS * COLS + 3, sizeof buf, sizeof buf};
    size_t at = 0;
    for (int m = 0; m < 3; m++) {
        gzFile g = gzopen(path, modes[m]);
        assert_non_null(g);
        if (ends[m] > at)
            assert_int_equal(gzwrite(g, buf + at, (unsigned)(ends[m] - at)), (int)(ends[m] - at));
        assert_int_equal(gzclose(g), Z_OK);
        at = ends[m];
    }
    void *s;
    lpz_dataset_info info;
    lpz_error err;
    assert_int_equal(open_dir(dir, LPZ_SPLIT_TRAIN, dir, &s, &info, &err), LPZ_OK);
    check_set(s, &info, N);
    ops()->close(s);
    lpz_test_rmtree(dir);
}

/* A gzipped file's size says nothing of what it holds, so its pixels are read
 * into a buffer that grows as they arrive: 64 MB first, then doubled, then
 * the rest. 140 images of 1000 x 1000 (140 MB) take all three steps; each
 * image's first and last pixels and those around the 64 and 128 MB edges
 * must be where they were written. */
#define BIG_SIDE 1000
#define BIG_N 140
static uint8_t big_pixel(size_t at)
{
    return (uint8_t)((at * 2654435761u) >> 13);
}

static void reads_gzip_files_larger_than_the_first_buffer(void **st)
{
    (void)st;
    char dir[512], path[1024];
    assert_int_equal(lpz_test_mkdtemp(dir, sizeof dir, "mnist"), 0);
    uint8_t lab[BIG_N];
    for (int i = 0; i < BIG_N; i++)
        lab[i] = (uint8_t)(i % 10);
    uint32_t lh[2] = {2049, BIG_N};
    snprintf(path, sizeof path, "%s/train-labels-idx1-ubyte.gz", dir);
    write_idx(path, lh, 2, lab, sizeof lab, 0, 1);
    snprintf(path, sizeof path, "%s/train-images-idx3-ubyte.gz", dir);
    gzFile g = gzopen(path, "wb1");
    assert_non_null(g);
    uint8_t head[16];
    uint32_t ih[4] = {2051, BIG_N, BIG_SIDE, BIG_SIDE};
    for (int w = 0; w < 4; w++)
        be32(head + 4 * w, ih[w]);
    assert_int_equal(gzwrite(g, head, sizeof head), (int)sizeof head);
    const size_t img = (size_t)BIG_SIDE * BIG_SIDE;
    uint8_t *px = malloc(img);
    assert_non_null(px);
    for (size_t i = 0; i < BIG_N; i++) {
        for (size_t j = 0; j < img; j++)
            px[j] = big_pixel(i * img + j);
        assert_int_equal(gzwrite(g, px, (unsigned)img), (int)img);
    }
    assert_int_equal(gzclose(g), Z_OK);
    void *s;
    lpz_dataset_info info;
    lpz_error err;
    assert_int_equal(open_dir(dir, LPZ_SPLIT_TRAIN, dir, &s, &info, &err), LPZ_OK);
    assert_int_equal(info.count, BIG_N);
    assert_int_equal(info.sample_shape.dim[1], BIG_SIDE);
    float *x = malloc(img * sizeof *x);
    assert_non_null(x);
    const size_t edges[2] = {(size_t)64 << 20, (size_t)128 << 20};
    for (size_t i = 0; i < BIG_N; i++) {
        assert_int_equal(ops()->read(s, (int64_t)i, x, &err), LPZ_OK);
        size_t want_at[6] = {0, img - 1, 0, 0, 0, 0};
        int n_at = 2;
        for (int e = 0; e < 2; e++)
            if (edges[e] >= i * img && edges[e] < (i + 1) * img) {
                size_t k = edges[e] - i * img;
                want_at[n_at++] = k;
                if (k > 0)
                    want_at[n_at++] = k - 1;
            }
        for (int a = 0; a < n_at; a++) {
            float want = (float)big_pixel(i * img + want_at[a]) / 255.0f * 2.0f - 1.0f;
            assert_memory_equal(&x[want_at[a]], &want, sizeof want);
        }
    }
    free(x);
    free(px);
    ops()->close(s);
    lpz_test_rmtree(dir);
}

/* A FIFO (or a folder) where the images file should be: said as such (it said there was no such file). */
static void images_path_that_is_not_a_file_is_said(void **st)
{
    (void)st;
    char dir[512], path[1024];
    assert_int_equal(lpz_test_mkdtemp(dir, sizeof dir, "mnist"), 0);
    snprintf(path, sizeof path, "%s/train-images-idx3-ubyte", dir);
    assert_int_equal(mkfifo(path, 0600), 0);
    void *s;
    lpz_dataset_info info;
    lpz_error err;
    assert_int_equal(open_dir(dir, LPZ_SPLIT_TRAIN, dir, &s, &info, &err), LPZ_ENOTFOUND);
    assert_non_null(strstr(err.message, "train-images-idx3-ubyte is not a regular file (a FIFO)"));
    lpz_test_rmtree(dir);
}

/* The sample shape before open (describe, ABI 1.3), from the image file's
 * header, plain or gzipped: what open reports; a missing set or a bad
 * header is the error open gives. */
static void describe_reads_the_header_alone(void **st)
{
    (void)st;
    char dir[512];
    for (int gz = 0; gz <= 1; gz++) {
        assert_int_equal(lpz_test_mkdtemp(dir, sizeof dir, "mnist"), 0);
        write_set(dir, "train", gz, N, N, 2051);
        lpz_options *o = dt_options(P, "path", dir, NULL);
        lpz_dataset_context ctx = dt_context(o, dir);
        lpz_dataset_info told, opened;
        memset(&told, 0, sizeof told);
        lpz_error err;
        assert_non_null(ops()->describe);
        assert_int_equal(ops()->describe(&ctx, &told, &err), LPZ_OK);
        void *s;
        assert_int_equal(ops()->open(&ctx, &s, &opened, &err), LPZ_OK);
        assert_int_equal(told.kind, opened.kind);
        assert_int_equal(told.sample_shape.ndim, 3);
        assert_int_equal(opened.sample_shape.ndim, 3);
        for (int i = 0; i < 3; i++)
            assert_int_equal(told.sample_shape.dim[i], opened.sample_shape.dim[i]);
        ops()->close(s);
        /* the test split is not there: said as open says it */
        ctx.split = LPZ_SPLIT_TEST;
        lpz_error e2;
        assert_int_equal(ops()->describe(&ctx, &told, &err), LPZ_ENOTFOUND);
        assert_int_equal(ops()->open(&ctx, &s, &opened, &e2), LPZ_ENOTFOUND);
        assert_string_equal(err.message, e2.message);
        lpz_options_destroy(o);
        lpz_test_rmtree(dir);
    }
    /* labels where the images belong: the header's magic, as open says it */
    assert_int_equal(lpz_test_mkdtemp(dir, sizeof dir, "mnist"), 0);
    write_set(dir, "train", 1, N, N, 2049);
    lpz_options *o = dt_options(P, "path", dir, NULL);
    lpz_dataset_context ctx = dt_context(o, dir);
    lpz_dataset_info info;
    lpz_error err;
    assert_int_equal(ops()->describe(&ctx, &info, &err), LPZ_EFORMAT);
    assert_non_null(strstr(err.message, "bad magic number 2049"));
    assert_non_null(strstr(err.where, "train-images-idx3-ubyte.gz"));
    lpz_options_destroy(o);
    lpz_test_rmtree(dir);
}

static void batches_through_the_core(void **st)
{
    (void)st;
    char dir[512];
    assert_int_equal(lpz_test_mkdtemp(dir, sizeof dir, "mnist"), 0);
    write_set(dir, "train", 1, N, N, 2051);
    lpz_options *o = dt_options(P, "path", dir, NULL);
    lpz_dataset_context ctx = dt_context(o, dir);
    lpz_dataset *ds;
    lpz_error err;
    assert_int_equal(lpz_dataset_open(P, &ctx, &ds, &err), LPZ_OK);
    lpz_batcher_config c = lpz_batcher_config_default(10, 1, 0);
    lpz_batcher *b;
    assert_int_equal(lpz_batcher_create(ds, &c, &b, &err), LPZ_OK);
    float x[10 * ROWS * COLS];
    int32_t lab[10];
    for (int k = 0; k < 5; k++) {
        assert_int_equal(lpz_batcher_next(b, x, lab, &err), LPZ_OK);
        for (int r = 0; r < 10; r++)
            assert_true(lab[r] >= 0 && lab[r] < 10);
    }
    lpz_batcher_destroy(b);
    lpz_dataset_close(ds);
    lpz_options_destroy(o);
    lpz_test_rmtree(dir);
}

#ifdef LPZ_MNIST_FASHION
#define REAL_DIR "/usr/share/datasets/fashion-mnist"
static void real_fashion_mnist_when_installed(void **st)
{
    (void)st;
    struct stat sb;
    if (stat(REAL_DIR "/train-images-idx3-ubyte.gz", &sb) != 0) {
        printf("# skipped: %s not installed (apt-get install dataset-fashion-mnist)\n", REAL_DIR);
        skip();
    }
    char dir[512];
    assert_int_equal(lpz_test_mkdtemp(dir, sizeof dir, "fashion"), 0);
    unsetenv("LPZ_DATA");
    void *s;
    lpz_dataset_info info;
    lpz_error err;
    /* no path: found in Debian's folder */
    assert_int_equal(open_dir(NULL, LPZ_SPLIT_TRAIN, dir, &s, &info, &err), LPZ_OK);
    assert_int_equal(info.count, 60000);
    assert_int_equal(info.n_classes, 10);
    assert_int_equal(info.sample_shape.dim[1], 28);
    assert_int_equal(info.sample_shape.dim[2], 28);
    int hist[10] = {0};
    for (int64_t i = 0; i < info.count; i++) {
        int32_t lab;
        assert_int_equal(ops()->label(s, i, &lab, &err), LPZ_OK);
        hist[lab]++;
    }
    for (int k = 0; k < 10; k++)
        assert_int_equal(hist[k], 6000); /* Fashion-MNIST is balanced */
    int32_t first;
    ops()->label(s, 0, &first, &err);
    assert_int_equal(first, 9); /* the first training image is an ankle boot */
    float x[784];
    double mean = 0;
    for (int i = 0; i < 1000; i++) {
        ops()->read(s, i, x, &err);
        for (int j = 0; j < 784; j++)
            mean += x[j];
    }
    mean /= 1000.0 * 784;
    /* mean pixel of Fashion-MNIST is 0.286 in [0, 1], i.e. -0.43 in [-1, 1] */
    assert_true(mean > -0.5 && mean < -0.35);
    ops()->close(s);
    assert_int_equal(open_dir(NULL, LPZ_SPLIT_TEST, dir, &s, &info, &err), LPZ_OK);
    assert_int_equal(info.count, 10000);
    ops()->close(s);
    lpz_test_rmtree(dir);
}
#endif

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(reads_plain_idx_any_image_size),
        cmocka_unit_test(reads_gzipped_idx_and_the_test_split),
        cmocka_unit_test(finds_torchvision_layout_then_lpz_data),
        cmocka_unit_test(missing_data_lists_the_places_searched),
        cmocka_unit_test(broken_files_are_clear_errors),
        cmocka_unit_test(gzip_streams_cut_off_or_followed_by_junk_are_clear_errors),
        cmocka_unit_test(reads_gzip_files_of_several_members),
        cmocka_unit_test(reads_gzip_files_larger_than_the_first_buffer),
        cmocka_unit_test(images_path_that_is_not_a_file_is_said),
        cmocka_unit_test(describe_reads_the_header_alone),
        cmocka_unit_test(batches_through_the_core),
#ifdef LPZ_MNIST_FASHION
        cmocka_unit_test(real_fashion_mnist_when_installed),
#endif
    };
    return cmocka_run_group_tests_name(lpz_plugin_descriptor.name, tests, NULL, NULL);
}
