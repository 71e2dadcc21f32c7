/* tests/data/test_celeba.c - the celeba plugin (compiled into this test)
 * on JPEGs written with libjpeg and PNGs written with libpng: centre crop,
 * resize, scaling, the cache (reused, invalidated by a changed folder),
 * corrupt files skipped and counted, JPEGs whose headers claim huge sizes
 * refused before libjpeg allocates for them, empty folders refused; the
 * sample shape told before open, without decoding. */
#include "data/batcher.h"
#include "data/dataset.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "data_test_util.h"

#include <png.h>
#include <zlib.h>
#include <stdio.h>
#include <sys/resource.h>
#include <sys/stat.h>

#include <jpeglib.h>

static const lpz_plugin *P = &lpz_plugin_descriptor;

static const lpz_dataloader_ops *ops(void)
{
    return P->ops;
}

/* An image w x h: columns [0, band) colour a, [w - band, w) colour c,
 * the rest colour b (RGB). A centre crop of a landscape image with
 * band = (w - h) / 2 keeps only colour b. */
static uint8_t *bands(int w, int h, int band, const uint8_t a[3], const uint8_t b[3], const uint8_t c[3])
{
    uint8_t *px = malloc((size_t)w * h * 3);
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++)
            memcpy(px + ((size_t)y * w + x) * 3, x < band ? a : x >= w - band ? c : b, 3);
    return px;
}

static void write_jpeg(const char *path, const uint8_t *rgb, int w, int h)
{
    struct jpeg_compress_struct c;
    struct jpeg_error_mgr je;
    c.err = jpeg_std_error(&je);
    jpeg_create_compress(&c);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    jpeg_stdio_dest(&c, f);
    c.image_width = (JDIMENSION)w;
    c.image_height = (JDIMENSION)h;
    c.input_components = 3;
    c.in_color_space = JCS_RGB;
    jpeg_set_defaults(&c);
    jpeg_set_quality(&c, 95, TRUE);
    jpeg_start_compress(&c, TRUE);
    while (c.next_scanline < c.image_height) {
        JSAMPROW row = (JSAMPROW)(rgb + (size_t)c.next_scanline * w * 3);
        jpeg_write_scanlines(&c, &row, 1);
    }
    jpeg_finish_compress(&c);
    jpeg_destroy_compress(&c);
    fclose(f);
}

static void write_png(const char *path, const uint8_t *rgb, int w, int h)
{
    png_image img;
    memset(&img, 0, sizeof img);
    img.version = PNG_IMAGE_VERSION;
    img.width = (png_uint_32)w;
    img.height = (png_uint_32)h;
    img.format = PNG_FORMAT_RGB;
    assert_true(png_image_write_to_file(&img, path, 0, rgb, 0, NULL));
}

static const uint8_t RED[3] = {255, 0, 0}, GREEN[3] = {0, 255, 0}, BLUE[3] = {0, 0, 255}, GREY[3] = {128, 128, 128};

static void add_jpeg(const char *dir, const char *name, const uint8_t col[3])
{
    char p[1024];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    uint8_t *px = bands(48, 32, 0, col, col, col);
    write_jpeg(p, px, 48, 32);
    free(px);
}

static int open_celeba(const char *dir, const char *cache, const char *size, void **s, lpz_dataset_info *info,
                       lpz_error *err)
{
    lpz_options *o = size ? dt_options(P, "path", dir, "image_size", size, NULL) : dt_options(P, "path", dir, NULL);
    assert_non_null(o);
    lpz_dataset_context ctx = dt_context(o, cache);
    int rc = ops()->open(&ctx, s, info, err);
    lpz_options_destroy(o);
    if (rc != LPZ_OK)
        dt_show(err);
    return rc;
}

/* Mean of channel c of a C x S x S sample. */
static double channel_mean(const float *x, int c, int s)
{
    double m = 0;
    for (int i = 0; i < s * s; i++)
        m += x[c * s * s + i];
    return m / (s * s);
}

static void crops_resizes_and_scales_jpeg_and_png(void **st)
{
    (void)st;
    char root[512], dir[1024], cache[1024], p[1200];
    assert_int_equal(lpz_test_mkdtemp(root, sizeof root, "celeba"), 0);
    snprintf(dir, sizeof dir, "%s/img_align_celeba", root);
    snprintf(cache, sizeof cache, "%s/cache", root);
    assert_int_equal(mkdir(dir, 0755), 0);
    assert_int_equal(mkdir(cache, 0755), 0);
    /* a landscape PNG whose centre square is pure green */
    uint8_t *px = bands(60, 40, 10, RED, GREEN, BLUE);
    snprintf(p, sizeof p, "%s/000001.png", dir);
    write_png(p, px, 60, 40);
    free(px);
    /* a portrait one: the centre crop drops the top and bottom rows */
    px = bands(30, 50, 0, GREY, GREY, GREY);
    for (int y = 0; y < 10; y++)
        memset(px + (size_t)y * 30 * 3, 0, 30 * 3);
    snprintf(p, sizeof p, "%s/000002.PNG", dir);
    write_png(p, px, 30, 50);
    free(px);
    add_jpeg(dir, "000003.jpg", RED);
    add_jpeg(dir, "000004.jpeg", BLUE);
    snprintf(p, sizeof p, "%s/list_attr_celeba.txt", dir);
    assert_int_equal(dt_write(p, "not an image", 12), 0);

    void *s;
    lpz_dataset_info info;
    lpz_error err;
    /* path names the parent; the plugin descends into img_align_celeba/ */
    assert_int_equal(open_celeba(root, cache, "8", &s, &info, &err), LPZ_OK);
    assert_int_equal(info.count, 4);
    assert_int_equal(info.kind, LPZ_SAMPLE_IMAGE);
    assert_int_equal(info.n_classes, 0);
    assert_int_equal(info.sample_shape.ndim, 3);
    assert_int_equal(info.sample_shape.dim[0], 3);
    assert_int_equal(info.sample_shape.dim[1], 8);
    assert_int_equal(info.sample_shape.dim[2], 8);
    float x[3 * 8 * 8];
    assert_int_equal(ops()->read(s, 0, x, &err), LPZ_OK);
    for (int i = 0; i < 64; i++) {
        assert_float_equal(x[i], -1.0, 1e-6);       /* R */
        assert_float_equal(x[64 + i], 1.0, 1e-6);   /* G */
        assert_float_equal(x[128 + i], -1.0, 1e-6); /* B */
    }
    assert_int_equal(ops()->read(s, 1, x, &err), LPZ_OK);
    for (int i = 0; i < 3 * 64; i++)
        assert_float_equal(x[i], 128 / 255.0 * 2 - 1, 1e-6);
    assert_int_equal(ops()->read(s, 2, x, &err), LPZ_OK);
    assert_true(channel_mean(x, 0, 8) > 0.95 && channel_mean(x, 1, 8) < -0.9 && channel_mean(x, 2, 8) < -0.9);
    assert_int_equal(ops()->read(s, 3, x, &err), LPZ_OK);
    assert_true(channel_mean(x, 2, 8) > 0.95 && channel_mean(x, 0, 8) < -0.9);
    ops()->close(s);
    assert_int_equal(dt_count(cache, "celeba-"), 1);
    lpz_test_rmtree(root);
}

static void cache_is_reused_and_a_changed_folder_rebuilds_it(void **st)
{
    (void)st;
    char dir[512], cache[1024], p[1200];
    assert_int_equal(lpz_test_mkdtemp(dir, sizeof dir, "celeba"), 0);
    snprintf(cache, sizeof cache, "%s/.cache", dir);
    assert_int_equal(mkdir(cache, 0755), 0);
    for (int i = 0; i < 6; i++) {
        snprintf(p, sizeof p, "img%02d.jpg", i);
        add_jpeg(dir, p, i % 2 ? RED : BLUE);
    }
    void *s;
    lpz_dataset_info info;
    lpz_error err;
    assert_int_equal(open_celeba(dir, cache, "16", &s, &info, &err), LPZ_OK);
    assert_int_equal(info.count, 6);
    ops()->close(s);
    assert_int_equal(dt_count(cache, ".cache"), 1);
    /* find the cache file and remember its identity */
    char cpath[2048] = "";
    DIR *d = opendir(cache);
    struct dirent *e;
    while ((e = readdir(d)))
        if (strstr(e->d_name, "celeba-"))
            snprintf(cpath, sizeof cpath, "%s/%s", cache, e->d_name);
    closedir(d);
    struct stat a, b;
    assert_int_equal(stat(cpath, &a), 0);
    assert_int_equal((long long)a.st_size, 4096 + 6 * 3 * 16 * 16 + 6 * 8);

    /* unchanged folder: the same file is mapped, not rewritten */
    assert_int_equal(open_celeba(dir, cache, "16", &s, &info, &err), LPZ_OK);
    assert_int_equal(info.count, 6);
    ops()->close(s);
    assert_int_equal(stat(cpath, &b), 0);
    assert_true(a.st_ino == b.st_ino && a.st_mtim.tv_sec == b.st_mtim.tv_sec &&
                a.st_mtim.tv_nsec == b.st_mtim.tv_nsec);

    /* a new image: rebuilt (renamed into place: a new inode), one more sample */
    add_jpeg(dir, "img99.jpg", GREEN);
    assert_int_equal(open_celeba(dir, cache, "16", &s, &info, &err), LPZ_OK);
    assert_int_equal(info.count, 7);
    float x[3 * 16 * 16];
    assert_int_equal(ops()->read(s, 6, x, &err), LPZ_OK);
    assert_true(channel_mean(x, 1, 16) > 0.9);
    ops()->close(s);
    assert_int_equal(stat(cpath, &b), 0);
    assert_true(a.st_ino != b.st_ino);

    /* a damaged cache is rebuilt, not trusted */
    FILE *f = fopen(cpath, "r+b");
    assert_non_null(f);
    fwrite("XXXXXXXX", 1, 8, f);
    fclose(f);
    assert_int_equal(open_celeba(dir, cache, "16", &s, &info, &err), LPZ_OK);
    assert_int_equal(info.count, 7);
    ops()->close(s);

    /* a FIFO where the cache is: rebuilt over it, not waited on */
    assert_int_equal(unlink(cpath), 0);
    assert_int_equal(mkfifo(cpath, 0600), 0);
    assert_int_equal(open_celeba(dir, cache, "16", &s, &info, &err), LPZ_OK);
    assert_int_equal(info.count, 7);
    ops()->close(s);
    assert_int_equal(stat(cpath, &b), 0);
    assert_true(S_ISREG(b.st_mode));

    /* another size: its own cache file */
    assert_int_equal(open_celeba(dir, cache, "8", &s, &info, &err), LPZ_OK);
    assert_int_equal(info.sample_shape.dim[1], 8);
    ops()->close(s);
    assert_int_equal(dt_count(cache, ".cache"), 2);
    lpz_test_rmtree(dir);
}

static char g_log[8192];

static void capture(void *user, lpz_log_level level, const char *line)
{
    (void)user;
    (void)level;
    size_t n = strlen(g_log);
    snprintf(g_log + n, sizeof g_log - n, "%s\n", line);
}

/* Opens the folder at image size 8 with the log captured into g_log. */
static int open_logged(const char *dir, void **s, lpz_dataset_info *info, lpz_error *err)
{
    g_log[0] = '\0';
    lpz_log_set_sink(capture, NULL);
    int rc = open_celeba(dir, dir, "8", s, info, err);
    lpz_log_set_sink(NULL, NULL);
    return rc;
}

static void corrupt_images_are_skipped_and_counted(void **st)
{
    (void)st;
    char dir[512], p[1200];
    assert_int_equal(lpz_test_mkdtemp(dir, sizeof dir, "celeba"), 0);
    add_jpeg(dir, "a.jpg", RED);
    add_jpeg(dir, "b.jpg", GREEN);
    add_jpeg(dir, "c.jpg", BLUE);
    /* b.jpg cut in half; d.jpg is text; e.png is a JPEG header only */
    snprintf(p, sizeof p, "%s/b.jpg", dir);
    struct stat sb;
    assert_int_equal(stat(p, &sb), 0);
    assert_int_equal(truncate(p, sb.st_size / 2), 0);
    snprintf(p, sizeof p, "%s/d.jpg", dir);
    assert_int_equal(dt_write(p, "hello, not a jpeg", 17), 0);
    snprintf(p, sizeof p, "%s/e.png", dir);
    assert_int_equal(dt_write(p, "\x89PNG\r\n\x1a\n\0\0", 10), 0);
    snprintf(p, sizeof p, "%s/f.jpg", dir); /* a FIFO: not an image, not waited on */
    assert_int_equal(mkfifo(p, 0600), 0);
    void *s;
    lpz_dataset_info info;
    lpz_error err;
    int rc = open_logged(dir, &s, &info, &err);
    printf("%s", g_log);
    assert_int_equal(rc, LPZ_OK);
    assert_int_equal(info.count, 2);
    assert_non_null(strstr(g_log, "skipped 3 of 5 images")); /* the FIFO is not listed as an image */
    assert_non_null(strstr(g_log, "d.jpg"));
    float x[3 * 64];
    assert_int_equal(ops()->read(s, 0, x, &err), LPZ_OK);
    assert_true(channel_mean(x, 0, 8) > 0.9); /* a.jpg */
    assert_int_equal(ops()->read(s, 1, x, &err), LPZ_OK);
    assert_true(channel_mean(x, 2, 8) > 0.9); /* c.jpg */
    ops()->close(s);
    lpz_test_rmtree(dir);

    /* nothing decodable at all: an error, not an empty dataset */
    assert_int_equal(lpz_test_mkdtemp(dir, sizeof dir, "celeba"), 0);
    snprintf(p, sizeof p, "%s/x.jpg", dir);
    assert_int_equal(dt_write(p, "\xff\xd8\xff\xe0garbage", 11), 0);
    assert_int_equal(open_celeba(dir, dir, "8", &s, &info, &err), LPZ_EFORMAT);
    assert_non_null(strstr(err.message, "none of the 1 images"));
    lpz_test_rmtree(dir);
}

/* A 16 x 16 progressive JPEG (components: 3, or 4 for CMYK; chroma at full
 * resolution when full_chroma) whose SOF2 header then claims w x h pixels:
 * libjpeg would keep the coefficients of all w x h for its scans. */
static void write_lying_progressive_jpeg(const char *path, int w, int h, int components, int full_chroma)
{
    struct jpeg_compress_struct c;
    struct jpeg_error_mgr je;
    c.err = jpeg_std_error(&je);
    jpeg_create_compress(&c);
    unsigned char *buf = NULL;
    unsigned long len = 0;
    jpeg_mem_dest(&c, &buf, &len);
    c.image_width = 16;
    c.image_height = 16;
    c.input_components = components;
    c.in_color_space = components == 4 ? JCS_CMYK : JCS_RGB;
    jpeg_set_defaults(&c);
    if (full_chroma)
        c.comp_info[0].h_samp_factor = c.comp_info[0].v_samp_factor = 1;
    jpeg_simple_progression(&c);
    jpeg_start_compress(&c, TRUE);
    uint8_t row[16 * 4];
    for (int i = 0; i < 16 * 4; i++)
        row[i] = (uint8_t)(i * 4);
    while (c.next_scanline < c.image_height) {
        JSAMPROW r = row;
        jpeg_write_scanlines(&c, &r, 1);
    }
    jpeg_finish_compress(&c);
    jpeg_destroy_compress(&c);
    /* SOF2: FF C2, length (2), precision (1), height (2), width (2) */
    unsigned long sof = 0;
    while (sof + 9 < len && !(buf[sof] == 0xFF && buf[sof + 1] == 0xC2))
        sof++;
    assert_true(sof + 9 < len);
    buf[sof + 5] = (uint8_t)(h >> 8);
    buf[sof + 6] = (uint8_t)h;
    buf[sof + 7] = (uint8_t)(w >> 8);
    buf[sof + 8] = (uint8_t)w;
    assert_int_equal(dt_write(path, buf, len), 0);
    free(buf);
}

/* Before the header was checked, libjpeg allocated what these claim when
 * decoding started (a 31 KB file claiming 65500 x 65500 took 12.9 GB) and
 * the files were only then skipped as corrupt; the sizes here keep that
 * failure under 1 GB. */
static void jpegs_claiming_huge_sizes_are_skipped_before_allocating(void **st)
{
    (void)st;
    char dir[512], p[1200];
    assert_int_equal(lpz_test_mkdtemp(dir, sizeof dir, "celeba"), 0);
    add_jpeg(dir, "a.jpg", RED);
    snprintf(p, sizeof p, "%s/wide.jpg", dir); /* a side above 32768 (201 MB of coefficients) */
    write_lying_progressive_jpeg(p, 65500, 1024, 3, 0);
    snprintf(p, sizeof p, "%s/many.jpg", dir); /* sides fine, 81 M pixels (243 MB) */
    write_lying_progressive_jpeg(p, 9000, 9000, 3, 0);
    snprintf(p, sizeof p, "%s/full.jpg", dir); /* 64 M pixels, but 4:4:4 (403 MB): over libjpeg's cap */
    write_lying_progressive_jpeg(p, 8192, 8192, 3, 1);
    snprintf(p, sizeof p, "%s/cmyk.jpg", dir);
    write_lying_progressive_jpeg(p, 64, 64, 4, 1);
    void *s;
    lpz_dataset_info info;
    lpz_error err;
    struct rusage before, after;
    assert_int_equal(getrusage(RUSAGE_SELF, &before), 0);
    int rc = open_logged(dir, &s, &info, &err);
    assert_int_equal(getrusage(RUSAGE_SELF, &after), 0);
    printf("%s# peak RSS grew by %ld MB\n", g_log, (after.ru_maxrss - before.ru_maxrss) / 1024);
    assert_int_equal(rc, LPZ_OK);
    assert_true(after.ru_maxrss - before.ru_maxrss < 100 * 1024); /* KB */
    assert_int_equal(info.count, 1);
    assert_non_null(strstr(g_log, "skipped 4 of 5 images"));
    assert_non_null(strstr(g_log, "wide.jpg: JPEG: unsupported size 65500 x 1024"));
    assert_non_null(strstr(g_log, "many.jpg: JPEG: unsupported size 9000 x 9000"));
    assert_non_null(strstr(g_log, "full.jpg: JPEG: 8192 x 8192 needs more than 256 MB"));
    assert_non_null(strstr(g_log, "cmyk.jpg: JPEG: unsupported layout (4 components"));
    ops()->close(s);
    lpz_test_rmtree(dir);
}

/* A PNG whose header claims 9000 x 9000 (sides under 32768, but 243 MB to
 * decode per thread, and 32768 x 32768 would be 3.2 GB) is skipped from
 * its header. The IHDR's size is patched and its CRC recomputed. */
static void pngs_claiming_huge_sizes_are_skipped(void **st)
{
    (void)st;
    char dir[512], p[1200];
    assert_int_equal(lpz_test_mkdtemp(dir, sizeof dir, "celeba"), 0);
    add_jpeg(dir, "a.jpg", RED);
    uint8_t px[16 * 16 * 3] = {0};
    snprintf(p, sizeof p, "%s/big.png", dir);
    write_png(p, px, 16, 16);
    FILE *f = fopen(p, "r+b");
    assert_non_null(f);
    uint8_t ihdr[4 + 13]; /* "IHDR" and its data, after the 8-byte signature and the 4-byte length */
    assert_int_equal(fseek(f, 12, SEEK_SET), 0);
    assert_int_equal(fread(ihdr, 1, sizeof ihdr, f), sizeof ihdr);
    assert_memory_equal(ihdr, "IHDR", 4);
    for (int k = 0; k < 2; k++) { /* width, then height: 9000 big-endian */
        ihdr[4 + 4 * k] = 0, ihdr[5 + 4 * k] = 0, ihdr[6 + 4 * k] = 9000 >> 8, ihdr[7 + 4 * k] = 9000 & 255;
    }
    uLong crc = crc32(0L, ihdr, sizeof ihdr);
    uint8_t be[4] = {(uint8_t)(crc >> 24), (uint8_t)(crc >> 16), (uint8_t)(crc >> 8), (uint8_t)crc};
    assert_int_equal(fseek(f, 12, SEEK_SET), 0);
    assert_int_equal(fwrite(ihdr, 1, sizeof ihdr, f), sizeof ihdr);
    assert_int_equal(fwrite(be, 1, 4, f), 4);
    fclose(f);
    void *s;
    lpz_dataset_info info;
    lpz_error err;
    int rc = open_logged(dir, &s, &info, &err);
    assert_int_equal(rc, LPZ_OK);
    assert_int_equal(info.count, 1);
    assert_non_null(strstr(g_log, "big.png: PNG: unsupported size 9000 x 9000"));
    ops()->close(s);
    lpz_test_rmtree(dir);
}

static void empty_or_missing_folder_is_a_clear_error(void **st)
{
    (void)st;
    char dir[512], p[1200];
    assert_int_equal(lpz_test_mkdtemp(dir, sizeof dir, "celeba"), 0);
    snprintf(p, sizeof p, "%s/readme.txt", dir);
    assert_int_equal(dt_write(p, "x", 1), 0);
    void *s;
    lpz_dataset_info info;
    lpz_error err;
    assert_int_equal(open_celeba(dir, dir, NULL, &s, &info, &err), LPZ_ENOTFOUND);
    assert_non_null(strstr(err.message, "no .jpg, .jpeg or .png images"));
    snprintf(p, sizeof p, "%s/nope", dir);
    assert_int_equal(open_celeba(p, dir, NULL, &s, &info, &err), LPZ_ENOTFOUND);
    assert_non_null(strstr(err.message, "does not exist"));
    /* a file given for the folder is said to be one (it "did not exist") */
    snprintf(p, sizeof p, "%s/readme.txt", dir);
    assert_int_equal(open_celeba(p, dir, NULL, &s, &info, &err), LPZ_EINVAL);
    assert_non_null(strstr(err.message, "is a file, not a folder of images"));
    assert_int_equal(open_celeba(dir, dir, "2", &s, &info, &err), LPZ_EINVAL);
    assert_non_null(strstr(err.message, "image_size"));
    /* no path and no default folder */
    unsetenv("LPZ_DATA");
    lpz_options *o = dt_options(P, NULL);
    lpz_dataset_context ctx = dt_context(o, dir);
    assert_int_equal(ops()->open(&ctx, &s, &info, &err), LPZ_ENOTFOUND);
    dt_show(&err);
    assert_non_null(strstr(err.message, "data/celeba"));
    lpz_options_destroy(o);
    lpz_test_rmtree(dir);
}

/* The sample shape before open (describe, ABI 1.3): 3 x image_size x
 * image_size from the options, nothing decoded and no cache written; the
 * options' and the folder's errors as open gives them. Through the core a
 * check that refuses the shape keeps the folder from being decoded at all;
 * one that takes it gets the data open has. */
static int refuse_all(void *user, const lpz_dataset_info *info, lpz_error *err)
{
    *(int *)user += 1;
    return lpz_error_set(err, LPZ_EUNSUPPORTED, "no %lldx%lld images here", (long long)info->sample_shape.dim[1],
                         (long long)info->sample_shape.dim[2]);
}

static int take_all(void *user, const lpz_dataset_info *info, lpz_error *err)
{
    (void)info;
    (void)err;
    *(int *)user += 1;
    return LPZ_OK;
}

static void describe_tells_the_shape_without_decoding(void **st)
{
    (void)st;
    char dir[512], cache[1024], p[1200];
    assert_int_equal(lpz_test_mkdtemp(dir, sizeof dir, "celeba"), 0);
    snprintf(cache, sizeof cache, "%s/cache", dir);
    assert_int_equal(mkdir(cache, 0755), 0);
    for (int i = 0; i < 5; i++) {
        snprintf(p, sizeof p, "%03d.jpg", i);
        add_jpeg(dir, p, GREEN);
    }
    lpz_options *o = dt_options(P, "path", dir, "image_size", "24", NULL);
    lpz_dataset_context ctx = dt_context(o, cache);
    lpz_dataset_info info;
    memset(&info, 0, sizeof info);
    lpz_error err;
    assert_non_null(ops()->describe);
    assert_int_equal(ops()->describe(&ctx, &info, &err), LPZ_OK);
    assert_int_equal(info.kind, LPZ_SAMPLE_IMAGE);
    assert_int_equal(info.sample_shape.ndim, 3);
    assert_int_equal(info.sample_shape.dim[0], 3);
    assert_int_equal(info.sample_shape.dim[1], 24);
    assert_int_equal(info.sample_shape.dim[2], 24);
    assert_int_equal(dt_count(cache, "celeba-"), 0);

    /* refused on its shape: the folder is never decoded (no cache) */
    int checks = 0;
    lpz_dataset *ds = NULL;
    assert_int_equal(lpz_dataset_open_checked(P, &ctx, refuse_all, &checks, &ds, &err), LPZ_EUNSUPPORTED);
    assert_string_equal(err.message, "no 24x24 images here");
    assert_null(ds);
    assert_int_equal(checks, 1);
    assert_int_equal(dt_count(cache, "celeba-"), 0);
    /* taken: decoded once, the shape the one told */
    assert_int_equal(lpz_dataset_open_checked(P, &ctx, take_all, &checks, &ds, &err), LPZ_OK);
    assert_int_equal(checks, 2);
    assert_int_equal(dt_count(cache, "celeba-"), 1);
    assert_int_equal(lpz_dataset_get_info(ds)->count, 5);
    assert_int_equal(lpz_dataset_numel(ds), 3 * 24 * 24);
    lpz_dataset_close(ds);
    lpz_options_destroy(o);

    /* the options' and the folder's errors, as open gives them */
    const char *bad[][4] = {{"image_size", "2", "image_size 2 is outside [4, 1024]", NULL},
                            {"max_images", "-1", "max_images -1 must be 0 (all) or positive", NULL},
                            {"path", "nope", "image folder 'nope' does not exist", NULL}};
    for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
        o = !strcmp(bad[k][0], "path") ? dt_options(P, "path", bad[k][1], NULL)
                                       : dt_options(P, "path", dir, bad[k][0], bad[k][1], NULL);
        ctx = dt_context(o, cache);
        lpz_error e2;
        void *s = NULL;
        int rc = ops()->describe(&ctx, &info, &err);
        assert_int_not_equal(rc, LPZ_OK);
        assert_int_equal(ops()->open(&ctx, &s, &info, &e2), rc);
        assert_string_equal(err.message, bad[k][2]);
        assert_string_equal(e2.message, err.message);
        assert_string_equal(e2.where, err.where);
        lpz_options_destroy(o);
    }
    lpz_test_rmtree(dir);
}

static void batches_through_the_core_with_max_images(void **st)
{
    (void)st;
    char dir[512], p[64];
    assert_int_equal(lpz_test_mkdtemp(dir, sizeof dir, "celeba"), 0);
    for (int i = 0; i < 12; i++) {
        snprintf(p, sizeof p, "%03d.jpg", i);
        add_jpeg(dir, p, i < 10 ? GREY : RED);
    }
    lpz_options *o = dt_options(P, "path", dir, "image_size", "16", "max_images", "10", NULL);
    lpz_dataset_context ctx = dt_context(o, dir);
    lpz_dataset *ds;
    lpz_error err;
    assert_int_equal(lpz_dataset_open(P, &ctx, &ds, &err), LPZ_OK);
    assert_int_equal(lpz_dataset_get_info(ds)->count, 10);
    lpz_batcher_config c = lpz_batcher_config_default(5, 3, 1);
    lpz_batcher *b;
    assert_int_equal(lpz_batcher_create(ds, &c, &b, &err), LPZ_OK);
    float *x = malloc(5 * 3 * 16 * 16 * sizeof *x);
    for (int k = 0; k < 4; k++) {
        assert_int_equal(lpz_batcher_next(b, x, NULL, &err), LPZ_OK);
        for (int r = 0; r < 5; r++)
            assert_float_equal(channel_mean(x + r * 768, 0, 16), 128 / 255.0 * 2 - 1, 0.03); /* only grey ones */
    }
    free(x);
    lpz_batcher_destroy(b);
    lpz_dataset_close(ds);
    lpz_options_destroy(o);
    lpz_test_rmtree(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(crops_resizes_and_scales_jpeg_and_png),
        cmocka_unit_test(cache_is_reused_and_a_changed_folder_rebuilds_it),
        cmocka_unit_test(corrupt_images_are_skipped_and_counted),
        cmocka_unit_test(jpegs_claiming_huge_sizes_are_skipped_before_allocating),
        cmocka_unit_test(pngs_claiming_huge_sizes_are_skipped),
        cmocka_unit_test(empty_or_missing_folder_is_a_clear_error),
        cmocka_unit_test(describe_tells_the_shape_without_decoding),
        cmocka_unit_test(batches_through_the_core_with_max_images),
    };
    return cmocka_run_group_tests_name("celeba", tests, NULL, NULL);
}
