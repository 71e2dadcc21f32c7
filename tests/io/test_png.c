/* tests/io/test_png.c - PNG writing: pixel values from [-1, 1] floats,
 * grid layout with 2-pixel borders, bad arguments refused, atomic files.
 * Files are read back with libpng's simplified API. */
#include "io/png.h"
#include "io_test_util.h"

#include <png.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

static char dir[1024];

static int setup(void **state)
{
    (void)state;
    return lpz_test_mkdtemp(dir, sizeof dir, "png");
}

static int teardown(void **state)
{
    (void)state;
    lpz_test_rmtree(dir);
    return 0;
}

/* Reads path as 8-bit pixels in its own format (grey or RGB); malloc'd. */
static uint8_t *read_png(const char *path, int *channels, int *h, int *w)
{
    png_image img;
    memset(&img, 0, sizeof img);
    img.version = PNG_IMAGE_VERSION;
    if (!png_image_begin_read_from_file(&img, path))
        return NULL;
    *channels = PNG_IMAGE_PIXEL_CHANNELS(img.format);
    img.format = *channels == 1 ? PNG_FORMAT_GRAY : PNG_FORMAT_RGB;
    *channels = PNG_IMAGE_PIXEL_CHANNELS(img.format);
    uint8_t *buf = malloc(PNG_IMAGE_SIZE(img));
    if (!png_image_finish_read(&img, NULL, buf, 0, NULL)) {
        free(buf);
        return NULL;
    }
    *h = (int)img.height;
    *w = (int)img.width;
    return buf;
}

static void test_grey_values(void **state)
{
    (void)state;
    /* 2 x 3 image: the endpoints, the midpoint, clamping, NaN. */
    float v[6] = {-1.0f, 0.0f, 1.0f, -5.0f, 7.0f, 0.5f};
    char path[1200];
    snprintf(path, sizeof path, "%s/g.png", dir);
    lpz_error err;
    assert_int_equal(lpz_png_write_image(path, v, 1, 2, 3, &err), LPZ_OK);
    int c, h, w;
    uint8_t *px = read_png(path, &c, &h, &w);
    assert_non_null(px);
    assert_int_equal(c, 1);
    assert_int_equal(h, 2);
    assert_int_equal(w, 3);
    const uint8_t want[6] = {0, 128, 255, 0, 255, 191};
    assert_memory_equal(px, want, 6);
    free(px);
    assert_int_equal(io_test_count(dir, ".tmp."), 0);
}

static void test_rgb_is_chw(void **state)
{
    (void)state;
    /* 1 x 2 RGB: pixel 0 pure red, pixel 1 pure blue (planes R, G, B). */
    float v[6] = {1, -1, -1, -1, -1, 1};
    char path[1200];
    snprintf(path, sizeof path, "%s/c.png", dir);
    assert_int_equal(lpz_png_write_image(path, v, 3, 1, 2, NULL), LPZ_OK);
    int c, h, w;
    uint8_t *px = read_png(path, &c, &h, &w);
    assert_non_null(px);
    assert_int_equal(c, 3);
    const uint8_t want[6] = {255, 0, 0, 0, 0, 255};
    assert_memory_equal(px, want, 6);
    free(px);
}

static void test_grid_layout(void **state)
{
    (void)state;
    /* 5 white 3x4 tiles, default columns: ceil(sqrt(5)) = 3 columns, 2
     * rows; width 3*(4+2)+2 = 20, height 2*(3+2)+2 = 12. */
    float tiles[5 * 12];
    for (int i = 0; i < 60; i++)
        tiles[i] = 1.0f;
    char path[1200];
    snprintf(path, sizeof path, "%s/grid.png", dir);
    lpz_error err;
    assert_int_equal(lpz_png_write_grid(path, tiles, 5, 1, 3, 4, 0, &err), LPZ_OK);
    int c, h, w;
    uint8_t *px = read_png(path, &c, &h, &w);
    assert_non_null(px);
    assert_int_equal(w, 20);
    assert_int_equal(h, 12);
    int white = 0;
    for (int i = 0; i < w * h; i++)
        white += px[i] == 255;
    assert_int_equal(white, 5 * 12);
    assert_int_equal(px[0], 0);            /* border */
    assert_int_equal(px[2 * w + 2], 255);  /* first tile's corner */
    assert_int_equal(px[2 * w + 6], 0);    /* border between tiles */
    assert_int_equal(px[2 * w + 8], 255);  /* second tile */
    assert_int_equal(px[7 * w + 14], 0);   /* sixth slot is empty */
    free(px);
    /* Explicit columns: 5 in one row. */
    assert_int_equal(lpz_png_write_grid(path, tiles, 5, 1, 3, 4, 5, &err), LPZ_OK);
    px = read_png(path, &c, &h, &w);
    assert_int_equal(w, 5 * 6 + 2);
    assert_int_equal(h, 7);
    free(px);
}

static void test_u8_and_bad_arguments(void **state)
{
    (void)state;
    char path[1200];
    snprintf(path, sizeof path, "%s/u.png", dir);
    uint8_t px[2 * 2 * 3] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};
    lpz_error err;
    assert_int_equal(lpz_png_write_u8(path, px, 3, 2, 2, &err), LPZ_OK);
    int c, h, w;
    uint8_t *back = read_png(path, &c, &h, &w);
    assert_memory_equal(back, px, sizeof px);
    free(back);
    float f[4] = {0};
    assert_int_equal(lpz_png_write_image(path, f, 2, 1, 2, &err), LPZ_EINVAL);
    assert_int_equal(lpz_png_write_image(path, f, 1, 0, 2, &err), LPZ_EINVAL);
    assert_int_equal(lpz_png_write_image(path, NULL, 1, 1, 2, &err), LPZ_EINVAL);
    assert_int_equal(lpz_png_write_grid(path, f, 0, 1, 1, 1, 0, &err), LPZ_EINVAL);
    assert_int_equal(lpz_png_write_grid(path, f, 1, 1, 1, 70000, 0, &err), LPZ_EINVAL);
    assert_int_equal(lpz_png_write_u8(path, px, 5, 1, 1, &err), LPZ_EINVAL);
    snprintf(path, sizeof path, "%s/missing/u.png", dir);
    assert_int_equal(lpz_png_write_u8(path, px, 3, 2, 2, &err), LPZ_ENOTFOUND);
    /* The good file written first is still there and nothing else. */
    assert_int_equal(io_test_count(dir, NULL), 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_grey_values, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rgb_is_chw, setup, teardown),
        cmocka_unit_test_setup_teardown(test_grid_layout, setup, teardown),
        cmocka_unit_test_setup_teardown(test_u8_and_bad_arguments, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
