/* core/io/jpeg.c - JPEG images and grids of samples through libjpeg.
 * Owns: the JPEG encoding. Calls: libjpeg, png.c's grid layout, fsutil,
 * lpz_error.
 *
 * libjpeg reports errors through error_exit, which would exit(); ours
 * longjmps back into write_jpeg(), which destroys the compressor. Nothing
 * allocated there is lost on the jump (the pixels belong to the callers). */
#include "io/jpeg.h"

#include "io/fsutil.h"
#include "io/png.h"

#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>

#include <jpeglib.h>

/* JPEG_MAX_DIMENSION of libjpeg */
#define JPEG_MAX_SIDE 65500

typedef struct jpeg_err_ctx {
    struct jpeg_error_mgr mgr; /* first: libjpeg hands back a pointer to it */
    jmp_buf jmp;
    char msg[JMSG_LENGTH_MAX];
} jpeg_err_ctx;

static void on_jpeg_error(j_common_ptr cinfo)
{
    jpeg_err_ctx *ctx = (jpeg_err_ctx *)cinfo->err;
    (*cinfo->err->format_message)(cinfo, ctx->msg);
    longjmp(ctx->jmp, 1);
}

static void on_jpeg_message(j_common_ptr cinfo)
{
    (void)cinfo; /* warnings do not stop the write and the library never prints */
}

/* Writes the already validated pixels into the open file; 0 or -1 with
 * the libjpeg message in ctx->msg. */
static int write_jpeg(FILE *fp, const uint8_t *pixels, int channels, int height, int width, int quality,
                      jpeg_err_ctx *ctx)
{
    struct jpeg_compress_struct cinfo;
    cinfo.err = jpeg_std_error(&ctx->mgr);
    ctx->mgr.error_exit = on_jpeg_error;
    ctx->mgr.output_message = on_jpeg_message;
    if (setjmp(ctx->jmp)) {
        jpeg_destroy_compress(&cinfo);
        return -1;
    }
    jpeg_create_compress(&cinfo);
    jpeg_stdio_dest(&cinfo, fp);
    cinfo.image_width = (JDIMENSION)width;
    cinfo.image_height = (JDIMENSION)height;
    cinfo.input_components = channels;
    cinfo.in_color_space = channels == 1 ? JCS_GRAYSCALE : JCS_RGB;
    jpeg_set_defaults(&cinfo);
    jpeg_set_quality(&cinfo, quality, TRUE);
    /* 4:4:4: sample tiles are small (28 x 28 for MNIST), halving the
     * colour resolution would smear them */
    for (int c = 0; c < cinfo.num_components; c++)
        cinfo.comp_info[c].h_samp_factor = cinfo.comp_info[c].v_samp_factor = 1;
    jpeg_start_compress(&cinfo, TRUE);
    size_t stride = (size_t)width * (size_t)channels;
    while (cinfo.next_scanline < cinfo.image_height) {
        JSAMPROW row = (JSAMPROW)(pixels + (size_t)cinfo.next_scanline * stride);
        jpeg_write_scanlines(&cinfo, &row, 1);
    }
    jpeg_finish_compress(&cinfo);
    jpeg_destroy_compress(&cinfo);
    return 0;
}

int lpz_jpeg_write_u8(const char *path, const uint8_t *pixels, int channels, int height, int width, int quality,
                      lpz_error *err)
{
    int rc = LPZ_OK;
    if (channels != 1 && channels != 3)
        rc = lpz_error_set(err, LPZ_EINVAL, "JPEG images have 1 (grey) or 3 (RGB) channels, not %d", channels);
    else if (height < 1 || width < 1 || height > JPEG_MAX_SIDE || width > JPEG_MAX_SIDE)
        rc = lpz_error_set(err, LPZ_EINVAL, "image size %d x %d is outside 1..%d", height, width, JPEG_MAX_SIDE);
    else if (quality < 1 || quality > 100)
        rc = lpz_error_set(err, LPZ_EINVAL, "JPEG quality %d is outside 1..100", quality);
    else if (!pixels)
        rc = lpz_error_set(err, LPZ_EINVAL, "no pixels given");
    if (rc) {
        lpz_error_where(err, "%s", path ? path : "(null)");
        return rc;
    }
    lpz_atomic_file f;
    if ((rc = lpz_atomic_open(&f, path, err)))
        return rc;
    jpeg_err_ctx ctx;
    ctx.msg[0] = '\0';
    if (write_jpeg(f.fp, pixels, channels, height, width, quality, &ctx) != 0) {
        lpz_atomic_abort(&f);
        lpz_error_set(err, LPZ_EIO, "cannot write JPEG: %s", ctx.msg);
        lpz_error_where(err, "%s", path);
        return LPZ_EIO;
    }
    return lpz_atomic_commit(&f, err);
}

int lpz_jpeg_write_grid(const char *path, const float *images, int64_t n, int channels, int height, int width,
                        int columns, lpz_error *err)
{
    uint8_t *px;
    int gh = 0, gw = 0;
    int rc = lpz_image_grid_u8(images, n, channels, height, width, columns, 2, &px, &gh, &gw, err);
    if (rc) {
        lpz_error_where(err, "%s", path ? path : "(null)");
        return rc;
    }
    rc = lpz_jpeg_write_u8(path, px, channels, gh, gw, LPZ_JPEG_QUALITY, err);
    free(px);
    return rc;
}
