/* tests/io/test_jpeg.c - JPEG writing (general.logging.image_format: jpg):
 * a grid of grey and of RGB tiles read back with libjpeg has the grid's
 * size and, within JPEG's loss, the tiles' values and the black borders;
 * bad arguments are refused; files are atomic. */
#include "io/jpeg.h"
#include "io_test_util.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>

#include <jpeglib.h>
#include <cmocka.h>

static char dir[1024];

static int setup(void **state)
{
    (void)state;
    return lpz_test_mkdtemp(dir, sizeof dir, "jpeg");
}

static int teardown(void **state)
{
    (void)state;
    lpz_test_rmtree(dir);
    return 0;
}

typedef struct read_err {
    struct jpeg_error_mgr mgr;
    jmp_buf jmp;
} read_err;

static void on_read_error(j_common_ptr cinfo)
{
    longjmp(((read_err *)cinfo->err)->jmp, 1);
}

/* Decodes path to 8-bit pixels in its own colour space; malloc'd, NULL
 * when it is not a JPEG. */
static uint8_t *read_jpeg(const char *path, int *channels, int *h, int *w)
{
    FILE *fp = fopen(path, "rb");
    if (!fp)
        return NULL;
    struct jpeg_decompress_struct cinfo;
    read_err e;
    uint8_t *volatile px = NULL;
    cinfo.err = jpeg_std_error(&e.mgr);
    e.mgr.error_exit = on_read_error;
    if (setjmp(e.jmp)) {
        jpeg_destroy_decompress(&cinfo);
        fclose(fp);
        free(px);
        return NULL;
    }
    jpeg_create_decompress(&cinfo);
    jpeg_stdio_src(&cinfo, fp);
    jpeg_read_header(&cinfo, TRUE);
    jpeg_start_decompress(&cinfo);
    *channels = cinfo.output_components;
    *h = (int)cinfo.output_height;
    *w = (int)cinfo.output_width;
    size_t stride = (size_t)cinfo.output_width * (size_t)cinfo.output_components;
    px = malloc(stride * cinfo.output_height);
    while (cinfo.output_scanline < cinfo.output_height) {
        JSAMPROW row = px + (size_t)cinfo.output_scanline * stride;
        jpeg_read_scanlines(&cinfo, &row, 1);
    }
    jpeg_finish_decompress(&cinfo);
    jpeg_destroy_decompress(&cinfo);
    fclose(fp);
    return px;
}

static void assert_near(int got, int want, int tol, const char *what, int x, int y)
{
    if (abs(got - want) > tol)
        fail_msg("%s at (%d, %d): %d, expected %d +- %d", what, x, y, got, want, tol);
}

static void test_grey_grid(void **state)
{
    (void)state;
    /* 5 tiles of 8 x 8 (flat -1, -0.5, 0, 0.5, 1): ceil(sqrt(5)) = 3
     * columns, 2 rows; width 3 * (8 + 2) + 2 = 32, height 2 * 10 + 2 = 22. */
    float tiles[5 * 64];
    const float level[5] = {-1.0f, -0.5f, 0.0f, 0.5f, 1.0f};
    for (int i = 0; i < 5; i++)
        for (int k = 0; k < 64; k++)
            tiles[i * 64 + k] = level[i];
    char path[1200];
    snprintf(path, sizeof path, "%s/grid.jpg", dir);
    lpz_error err;
    assert_int_equal(lpz_jpeg_write_grid(path, tiles, 5, 1, 8, 8, 0, &err), LPZ_OK);
    int c, h, w;
    uint8_t *px = read_jpeg(path, &c, &h, &w);
    assert_non_null(px);
    assert_int_equal(c, 1);
    assert_int_equal(w, 32);
    assert_int_equal(h, 22);
    const int want[5] = {0, 64, 128, 191, 255};
    for (int i = 0; i < 5; i++) {
        int x = 2 + (i % 3) * 10 + 4, y = 2 + (i / 3) * 10 + 4; /* a tile's centre */
        assert_near(px[y * w + x], want[i], 12, "tile centre", x, y);
    }
    assert_near(px[0], 0, 12, "border", 0, 0);
    assert_near(px[16 * w + 27], 0, 12, "empty sixth slot", 27, 16);
    free(px);
    assert_int_equal(io_test_count(dir, ".tmp."), 0);
    /* Explicit columns: 5 in one row. */
    assert_int_equal(lpz_jpeg_write_grid(path, tiles, 5, 1, 8, 8, 5, &err), LPZ_OK);
    px = read_jpeg(path, &c, &h, &w);
    assert_non_null(px);
    assert_int_equal(w, 5 * 10 + 2);
    assert_int_equal(h, 12);
    free(px);
}

static void test_rgb_grid_is_chw(void **state)
{
    (void)state;
    /* Two 8 x 8 RGB tiles, planes R, G, B: red, then blue. */
    float tiles[2 * 3 * 64];
    for (int k = 0; k < 64; k++) {
        tiles[0 * 64 + k] = 1, tiles[1 * 64 + k] = -1, tiles[2 * 64 + k] = -1;
        tiles[3 * 64 + k] = -1, tiles[4 * 64 + k] = -1, tiles[5 * 64 + k] = 1;
    }
    char path[1200];
    snprintf(path, sizeof path, "%s/rgb.jpg", dir);
    assert_int_equal(lpz_jpeg_write_grid(path, tiles, 2, 3, 8, 8, 0, NULL), LPZ_OK);
    int c, h, w;
    uint8_t *px = read_jpeg(path, &c, &h, &w);
    assert_non_null(px);
    assert_int_equal(c, 3);
    assert_int_equal(w, 2 * 10 + 2);
    assert_int_equal(h, 12);
    const uint8_t *red = px + ((size_t)6 * (size_t)w + 6) * 3, *blue = px + ((size_t)6 * (size_t)w + 16) * 3;
    assert_near(red[0], 255, 16, "red R", 6, 6);
    assert_near(red[1], 0, 16, "red G", 6, 6);
    assert_near(red[2], 0, 16, "red B", 6, 6);
    assert_near(blue[0], 0, 16, "blue R", 16, 6);
    assert_near(blue[1], 0, 16, "blue G", 16, 6);
    assert_near(blue[2], 255, 16, "blue B", 16, 6);
    free(px);
}

static void test_file_starts_with_soi(void **state)
{
    (void)state;
    uint8_t px[4 * 4] = {0};
    char path[1200];
    snprintf(path, sizeof path, "%s/u.jpg", dir);
    assert_int_equal(lpz_jpeg_write_u8(path, px, 1, 4, 4, LPZ_JPEG_QUALITY, NULL), LPZ_OK);
    FILE *fp = fopen(path, "rb");
    assert_non_null(fp);
    unsigned char head[3] = {0};
    assert_int_equal(fread(head, 1, 3, fp), 3);
    fclose(fp);
    assert_int_equal(head[0], 0xff);
    assert_int_equal(head[1], 0xd8);
    assert_int_equal(head[2], 0xff);
}

static void test_bad_arguments(void **state)
{
    (void)state;
    char path[1200];
    snprintf(path, sizeof path, "%s/u.jpg", dir);
    uint8_t px[2 * 2 * 4] = {0};
    float f[4] = {0};
    lpz_error err;
    assert_int_equal(lpz_jpeg_write_u8(path, px, 3, 2, 2, 90, &err), LPZ_OK);
    assert_int_equal(lpz_jpeg_write_u8(path, px, 4, 2, 2, 90, &err), LPZ_EINVAL);
    assert_int_equal(lpz_jpeg_write_u8(path, px, 2, 2, 2, 90, &err), LPZ_EINVAL);
    assert_int_equal(lpz_jpeg_write_u8(path, px, 1, 0, 2, 90, &err), LPZ_EINVAL);
    assert_int_equal(lpz_jpeg_write_u8(path, px, 1, 2, 2, 0, &err), LPZ_EINVAL);
    assert_int_equal(lpz_jpeg_write_u8(path, px, 1, 2, 2, 101, &err), LPZ_EINVAL);
    assert_int_equal(lpz_jpeg_write_u8(path, NULL, 1, 2, 2, 90, &err), LPZ_EINVAL);
    assert_int_equal(lpz_jpeg_write_grid(path, f, 0, 1, 1, 1, 0, &err), LPZ_EINVAL);
    assert_int_equal(lpz_jpeg_write_grid(path, f, 1, 2, 1, 1, 0, &err), LPZ_EINVAL);
    assert_int_equal(lpz_jpeg_write_grid(path, f, 1, 1, 1, 70000, 0, &err), LPZ_EINVAL);
    assert_non_null(strstr(err.where, "u.jpg"));
    snprintf(path, sizeof path, "%s/missing/u.jpg", dir);
    assert_int_equal(lpz_jpeg_write_u8(path, px, 3, 2, 2, 90, &err), LPZ_ENOTFOUND);
    /* The good file written first is still there and nothing else. */
    assert_int_equal(io_test_count(dir, NULL), 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_grey_grid, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rgb_grid_is_chw, setup, teardown),
        cmocka_unit_test_setup_teardown(test_file_starts_with_soi, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_arguments, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
