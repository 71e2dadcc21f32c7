/* plugins/dataloaders/celeba - a folder of face images (CelebA's
 * img_align_celeba/, or any folder of JPEG/PNG files) as RGB samples.
 *
 * Each image is centre-cropped to a square (the shorter side) and resized
 * to image_size x image_size (default 64) by area averaging: every output
 * pixel is the mean of the source area it covers, partial pixels weighted
 * by their overlap (enlarging degenerates to nearest neighbour). The
 * original (torchvision Resize(64) + CenterCrop(64), bilinear) gives nearly
 * the same picture for CelebA's 178 x 218 faces. Values are x / 255 * 2 - 1.
 *
 * Decoding runs once, on several threads, into a cache file in
 * ctx->cache_dir, named after the folder and size:
 *     celeba-<hash of folder path>-<size>.cache
 * It holds a header (magic, version, size, a fingerprint of the folder:
 * every file's name, size and modification time, plus image_size and
 * max_images), one uint8 C x H x W slot per file and the table of slots
 * that decoded. Later runs memory-map it; a changed folder changes the
 * fingerprint and rebuilds it. The cache is a local file in this machine's
 * byte order. Unreadable or corrupt images are skipped, as are images over
 * 32768 pixels a side or 8192 x 8192 pixels in all (told by
 * the header, before decoding); the count is logged. describe tells the
 * shape (3 x image_size x image_size) from the options alone, so a size
 * the network refuses is refused before any decoding. Uses only the SDK,
 * libjpeg and libpng.
 */
#include <lpz/lpz.h>

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <png.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jpeglib.h>
/* after jpeglib.h, which it needs */
#include <jerror.h>

/* snprintf for paths and messages: returns 1 when the text fit, 0 when it
 * was cut (the caller treats a cut path as an error or as "not found"). */
static int fmt_path(char *out, size_t size, const char *fmt, ...) LPZ_PRINTF(3, 4);
static int fmt_path(char *out, size_t size, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(out, size, fmt, ap);
    va_end(ap);
    return n >= 0 && (size_t)n < size;
}

#define CACHE_MAGIC "LPZCELB1"
#define CACHE_VERSION 1u
#define DATA_OFFSET 4096u
#define MAX_IMAGE_SIZE 1024
#define MAX_FILE_BYTES (64u << 20) /* larger files are not face crops: skipped */
#define MAX_SIDE (1u << 15) /* pixels a side; larger images are skipped */
/* A JPEG's size is checked from its header, before libjpeg allocates for
 * it: a progressive (or other multi-scan) JPEG keeps every DCT coefficient
 * of the whole image, 2 bytes a sample, and 31 KB of file can claim
 * 65500 x 65500 pixels (12.9 GB). At most MAX_PIXELS (8192 x 8192;
 * 201 MB of coefficients at 4:2:0), and libjpeg's own allocations on one
 * decoder thread stop at JPEG_MAX_MEMORY (beyond it libjpeg would need a
 * backing store, which it lacks, and fails instead of allocating). */
#define MAX_PIXELS (1u << 26) /* JPEGs and PNGs (a PNG holds 3 bytes a pixel: 201 MB) */
#define JPEG_MAX_MEMORY (256L << 20)
#define MAX_DECODE_THREADS 8
#define MAX_LOGGED_SKIPS 10

typedef struct cache_header {
    char magic[8];
    uint32_t version;
    uint32_t image_size;
    uint64_t fingerprint;
    uint64_t n_files;
    uint64_t n_valid;
    uint64_t n_skipped;
    uint64_t data_offset;
    uint64_t table_offset; /* n_valid uint64 slot numbers */
} cache_header;

typedef struct image_file {
    char *name;
    int64_t size;
    int64_t mtime_ns;
} image_file;

typedef struct celeba_state {
    uint8_t *map; /* the whole cache file */
    size_t map_size;
    const uint8_t *data;
    const uint64_t *table;
    int64_t count;
    int64_t slot_bytes; /* 3 * S * S */
    float lut[256];
} celeba_state;

/* ---- folder listing and fingerprint ---- */

static int has_image_ext(const char *name)
{
    const char *dot = strrchr(name, '.');
    if (!dot)
        return 0;
    char ext[8];
    size_t n = strlen(dot + 1);
    if (n == 0 || n >= sizeof ext)
        return 0;
    for (size_t i = 0; i < n; i++)
        ext[i] = (char)tolower((unsigned char)dot[1 + i]);
    ext[n] = '\0';
    return !strcmp(ext, "jpg") || !strcmp(ext, "jpeg") || !strcmp(ext, "png");
}

static int cmp_files(const void *a, const void *b)
{
    return strcmp(((const image_file *)a)->name, ((const image_file *)b)->name);
}

static void free_files(image_file *files, int64_t n)
{
    for (int64_t i = 0; i < n; i++)
        free(files[i].name);
    free(files);
}

static int list_images(const char *dir, image_file **out, int64_t *n_out, lpz_error *err)
{
    DIR *d = opendir(dir);
    if (!d) {
        lpz_error_set(err, LPZ_EIO, "cannot open folder: %s", strerror(errno));
        lpz_error_where(err, "%s", dir);
        return LPZ_EIO;
    }
    image_file *files = NULL;
    int64_t n = 0, cap = 0;
    struct dirent *e;
    char path[PATH_MAX];
    int rc = LPZ_OK;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.' || !has_image_ext(e->d_name))
            continue;
        fmt_path(path, sizeof path, "%s/%s", dir, e->d_name);
        struct stat st;
        if (stat(path, &st) != 0 || !S_ISREG(st.st_mode))
            continue;
        if (n == cap) {
            cap = cap ? cap * 2 : 1024;
            image_file *grown = realloc(files, (size_t)cap * sizeof *files);
            if (!grown) {
                rc = lpz_error_set(err, LPZ_ENOMEM, "out of memory listing %s", dir);
                break;
            }
            files = grown;
        }
        files[n].name = strdup(e->d_name);
        if (!files[n].name) {
            rc = lpz_error_set(err, LPZ_ENOMEM, "out of memory listing %s", dir);
            break;
        }
        files[n].size = st.st_size;
        files[n].mtime_ns = (int64_t)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec;
        n++;
    }
    closedir(d);
    if (rc != LPZ_OK) {
        free_files(files, n);
        return rc;
    }
    if (n > 1)
        qsort(files, (size_t)n, sizeof *files, cmp_files);
    *out = files;
    *n_out = n;
    return LPZ_OK;
}

static uint64_t fnv(uint64_t h, const void *p, size_t n)
{
    const uint8_t *b = p;
    for (size_t i = 0; i < n; i++) {
        h ^= b[i];
        h *= 0x100000001b3ULL;
    }
    return h;
}

static uint64_t fingerprint(const image_file *files, int64_t n, int64_t size)
{
    uint64_t h = 0xcbf29ce484222325ULL;
    uint32_t v = CACHE_VERSION;
    h = fnv(h, &v, sizeof v);
    h = fnv(h, &size, sizeof size);
    h = fnv(h, &n, sizeof n);
    for (int64_t i = 0; i < n; i++) {
        h = fnv(h, files[i].name, strlen(files[i].name) + 1);
        h = fnv(h, &files[i].size, sizeof files[i].size);
        h = fnv(h, &files[i].mtime_ns, sizeof files[i].mtime_ns);
    }
    return h;
}

/* ---- decoding ---- */

typedef struct decoder {
    uint8_t *file;  /* the encoded bytes */
    size_t file_cap;
    uint8_t *rgb;   /* decoded, H x W x 3 */
    size_t rgb_cap;
    float *tmp;     /* horizontal pass, crop rows x S x 3 */
    size_t tmp_cap;
    char msg[256];  /* why the last image failed */
} decoder;

static int grow(void **buf, size_t *cap, size_t need)
{
    if (*cap >= need)
        return 1;
    void *p = realloc(*buf, need);
    if (!p)
        return 0;
    *buf = p;
    *cap = need;
    return 1;
}

struct jpeg_err {
    struct jpeg_error_mgr pub;
    jmp_buf jump;
    char msg[JMSG_LENGTH_MAX];
};

static void jpeg_error_exit_cb(j_common_ptr cinfo)
{
    struct jpeg_err *je = (struct jpeg_err *)cinfo->err;
    je->pub.format_message(cinfo, je->msg);
    longjmp(je->jump, 1);
}

/* libjpeg prints warnings to stderr by default; count them instead. */
static void jpeg_emit_cb(j_common_ptr cinfo, int level)
{
    struct jpeg_err *je = (struct jpeg_err *)cinfo->err;
    if (level < 0) {
        if (je->pub.num_warnings == 0)
            je->pub.format_message(cinfo, je->msg);
        je->pub.num_warnings++;
    }
}

static void jpeg_output_cb(j_common_ptr cinfo)
{
    (void)cinfo;
}

/* Decodes a JPEG to RGB, using libjpeg's DCT scaling to skip detail that
 * the resize would average away. A warning (corrupt data that libjpeg
 * would paper over in grey) counts as a failure. */
static int decode_jpeg(decoder *dc, size_t len, int target, int *w, int *h)
{
    struct jpeg_decompress_struct cinfo;
    struct jpeg_err je;
    memset(&je, 0, sizeof je);
    cinfo.err = jpeg_std_error(&je.pub);
    je.pub.error_exit = jpeg_error_exit_cb;
    je.pub.emit_message = jpeg_emit_cb;
    je.pub.output_message = jpeg_output_cb;
    if (setjmp(je.jump)) {
        if (je.pub.msg_code == JERR_NO_BACKING_STORE)
            snprintf(dc->msg, sizeof dc->msg, "JPEG: %u x %u needs more than %ld MB to decode", cinfo.image_width,
                     cinfo.image_height, JPEG_MAX_MEMORY >> 20);
        else
            snprintf(dc->msg, sizeof dc->msg, "JPEG: %s", je.msg);
        jpeg_destroy_decompress(&cinfo);
        return 0;
    }
    jpeg_create_decompress(&cinfo);
    cinfo.mem->max_memory_to_use = JPEG_MAX_MEMORY;
    jpeg_mem_src(&cinfo, dc->file, (unsigned long)len);
    jpeg_read_header(&cinfo, TRUE);
    /* the header's claims, before jpeg_start_decompress allocates for them */
    if (cinfo.image_width == 0 || cinfo.image_height == 0 || cinfo.image_width > MAX_SIDE ||
        cinfo.image_height > MAX_SIDE || (uint64_t)cinfo.image_width * cinfo.image_height > MAX_PIXELS) {
        snprintf(dc->msg, sizeof dc->msg, "JPEG: unsupported size %u x %u (at most %u a side and %u pixels)",
                 cinfo.image_width, cinfo.image_height, MAX_SIDE, MAX_PIXELS);
        jpeg_destroy_decompress(&cinfo);
        return 0;
    }
    if (cinfo.num_components != 1 && cinfo.num_components != 3) { /* grey or colour: what converts to RGB */
        snprintf(dc->msg, sizeof dc->msg, "JPEG: unsupported layout (%d components, %u x %u)", cinfo.num_components,
                 cinfo.image_width, cinfo.image_height);
        jpeg_destroy_decompress(&cinfo);
        return 0;
    }
    cinfo.out_color_space = JCS_RGB;
    unsigned shorter = cinfo.image_width < cinfo.image_height ? cinfo.image_width : cinfo.image_height;
    unsigned denom = 1;
    while (denom < 8 && shorter / (denom * 2) >= (unsigned)target)
        denom *= 2;
    cinfo.scale_num = 1;
    cinfo.scale_denom = denom;
    jpeg_start_decompress(&cinfo);
    if (cinfo.output_components != 3 || cinfo.output_width == 0 || cinfo.output_height == 0 ||
        cinfo.output_width > MAX_SIDE || cinfo.output_height > MAX_SIDE) {
        snprintf(dc->msg, sizeof dc->msg, "JPEG: unsupported layout (%u components, %u x %u)",
                 (unsigned)cinfo.output_components, cinfo.output_width, cinfo.output_height);
        jpeg_destroy_decompress(&cinfo);
        return 0;
    }
    size_t stride = (size_t)cinfo.output_width * 3;
    if (!grow((void **)&dc->rgb, &dc->rgb_cap, stride * cinfo.output_height)) {
        snprintf(dc->msg, sizeof dc->msg, "out of memory");
        jpeg_destroy_decompress(&cinfo);
        return 0;
    }
    while (cinfo.output_scanline < cinfo.output_height) {
        JSAMPROW row = dc->rgb + stride * cinfo.output_scanline;
        jpeg_read_scanlines(&cinfo, &row, 1);
    }
    jpeg_finish_decompress(&cinfo);
    *w = (int)cinfo.output_width;
    *h = (int)cinfo.output_height;
    int ok = je.pub.num_warnings == 0;
    if (!ok)
        snprintf(dc->msg, sizeof dc->msg, "JPEG: corrupt data (%s)", je.msg);
    jpeg_destroy_decompress(&cinfo);
    return ok;
}

static int decode_png(decoder *dc, size_t len, int *w, int *h)
{
    png_image img;
    memset(&img, 0, sizeof img);
    img.version = PNG_IMAGE_VERSION;
    if (!png_image_begin_read_from_memory(&img, dc->file, len)) {
        snprintf(dc->msg, sizeof dc->msg, "PNG: %s", img.message);
        return 0;
    }
    img.format = PNG_FORMAT_RGB; /* alpha is composited onto black */
    /* the same pixel limit as a JPEG's: a few KB of PNG can claim 32768 x 32768 (3.2 GB per decoder thread) */
    if (img.width == 0 || img.height == 0 || img.width > MAX_SIDE || img.height > MAX_SIDE ||
        (uint64_t)img.width * img.height > MAX_PIXELS) {
        snprintf(dc->msg, sizeof dc->msg, "PNG: unsupported size %u x %u (at most %u a side and %u pixels)",
                 img.width, img.height, MAX_SIDE, MAX_PIXELS);
        png_image_free(&img);
        return 0;
    }
    if (!grow((void **)&dc->rgb, &dc->rgb_cap, PNG_IMAGE_SIZE(img))) {
        snprintf(dc->msg, sizeof dc->msg, "out of memory");
        png_image_free(&img);
        return 0;
    }
    if (!png_image_finish_read(&img, NULL, dc->rgb, 0, NULL)) {
        snprintf(dc->msg, sizeof dc->msg, "PNG: %s", img.message);
        png_image_free(&img);
        return 0;
    }
    *w = (int)img.width;
    *h = (int)img.height;
    return 1;
}

/* Centre square of the H x W x 3 image in dc->rgb, area-averaged to
 * S x S, written as 3 x S x S bytes. Separable: rows first, then columns. */
static int crop_resize(decoder *dc, int w, int h, int s, uint8_t *out)
{
    int m = w < h ? w : h;
    int x0 = (w - m) / 2, y0 = (h - m) / 2;
    double scale = (double)m / s;
    if (!grow((void **)&dc->tmp, &dc->tmp_cap, (size_t)m * s * 3 * sizeof(float))) {
        snprintf(dc->msg, sizeof dc->msg, "out of memory");
        return 0;
    }
    /* horizontal: tmp[y][ox][c] = mean over the source columns of ox */
    for (int ox = 0; ox < s; ox++) {
        double a = ox * scale, b = (ox + 1) * scale;
        int i0 = (int)a, i1 = (int)(b - 1e-9);
        if (i1 >= m)
            i1 = m - 1;
        for (int y = 0; y < m; y++) {
            const uint8_t *row = dc->rgb + ((size_t)(y0 + y) * w + x0) * 3;
            double acc[3] = {0, 0, 0};
            for (int i = i0; i <= i1; i++) {
                double lo = a > i ? a : i, hi = b < i + 1 ? b : i + 1;
                double wt = hi - lo;
                for (int c = 0; c < 3; c++)
                    acc[c] += wt * row[i * 3 + c];
            }
            for (int c = 0; c < 3; c++)
                dc->tmp[((size_t)y * s + ox) * 3 + c] = (float)(acc[c] / (b - a));
        }
    }
    /* vertical, into C x S x S */
    for (int oy = 0; oy < s; oy++) {
        double a = oy * scale, b = (oy + 1) * scale;
        int j0 = (int)a, j1 = (int)(b - 1e-9);
        if (j1 >= m)
            j1 = m - 1;
        for (int ox = 0; ox < s; ox++) {
            double acc[3] = {0, 0, 0};
            for (int j = j0; j <= j1; j++) {
                double lo = a > j ? a : j, hi = b < j + 1 ? b : j + 1;
                double wt = hi - lo;
                for (int c = 0; c < 3; c++)
                    acc[c] += wt * dc->tmp[((size_t)j * s + ox) * 3 + c];
            }
            for (int c = 0; c < 3; c++) {
                double v = acc[c] / (b - a) + 0.5;
                out[(size_t)c * s * s + (size_t)oy * s + ox] = (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v);
            }
        }
    }
    return 1;
}

static int decode_file(decoder *dc, const char *path, int s, uint8_t *out)
{
    /* O_NONBLOCK: a FIFO named like an image is skipped, not waited on */
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    struct stat st;
    if (fd >= 0 && (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode))) {
        close(fd);
        snprintf(dc->msg, sizeof dc->msg, "not a regular file");
        return 0;
    }
    FILE *f = fd >= 0 && fcntl(fd, F_SETFL, O_RDONLY) == 0 ? fdopen(fd, "rb") : NULL;
    if (!f) {
        snprintf(dc->msg, sizeof dc->msg, "cannot open: %s", strerror(errno));
        if (fd >= 0)
            close(fd);
        return 0;
    }
    if (st.st_size <= 0 || (uint64_t)st.st_size > MAX_FILE_BYTES) {
        snprintf(dc->msg, sizeof dc->msg, "empty or larger than %u MB", MAX_FILE_BYTES >> 20);
        fclose(f);
        return 0;
    }
    size_t len = (size_t)st.st_size;
    if (!grow((void **)&dc->file, &dc->file_cap, len) || fread(dc->file, 1, len, f) != len) {
        snprintf(dc->msg, sizeof dc->msg, "cannot read the file");
        fclose(f);
        return 0;
    }
    fclose(f);
    int w = 0, h = 0, ok;
    static const uint8_t png_sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    if (len >= 8 && !memcmp(dc->file, png_sig, 8))
        ok = decode_png(dc, len, &w, &h);
    else if (len >= 3 && dc->file[0] == 0xFF && dc->file[1] == 0xD8 && dc->file[2] == 0xFF)
        ok = decode_jpeg(dc, len, s, &w, &h);
    else {
        snprintf(dc->msg, sizeof dc->msg, "neither JPEG nor PNG content");
        ok = 0;
    }
    return ok && crop_resize(dc, w, h, s, out);
}

/* ---- building the cache on several threads ---- */

typedef struct build_job {
    const char *dir;
    const image_file *files;
    int64_t n_files;
    int size;
    int fd;
    int64_t slot_bytes;
    uint8_t *valid; /* per file */
    int64_t next;   /* atomically taken work index */
    int64_t skipped;
    int io_error;   /* errno of a failed pwrite, or 0 */
} build_job;

static void *build_worker(void *arg)
{
    build_job *job = arg;
    decoder dc;
    memset(&dc, 0, sizeof dc);
    uint8_t *slot = malloc((size_t)job->slot_bytes);
    char path[PATH_MAX];
    for (;;) {
        int64_t i = __atomic_fetch_add(&job->next, 1, __ATOMIC_RELAXED);
        if (i >= job->n_files || !slot || __atomic_load_n(&job->io_error, __ATOMIC_RELAXED))
            break;
        fmt_path(path, sizeof path, "%s/%s", job->dir, job->files[i].name);
        if (!decode_file(&dc, path, job->size, slot)) {
            int64_t k = __atomic_add_fetch(&job->skipped, 1, __ATOMIC_RELAXED);
            if (k <= MAX_LOGGED_SKIPS)
                lpz_log(LPZ_LOG_WARN, "celeba: skipping %s: %s", path, dc.msg);
            continue;
        }
        off_t off = (off_t)DATA_OFFSET + (off_t)i * job->slot_bytes;
        size_t done = 0;
        while (done < (size_t)job->slot_bytes) {
            ssize_t w = pwrite(job->fd, slot + done, (size_t)job->slot_bytes - done, off + (off_t)done);
            if (w <= 0) {
                __atomic_store_n(&job->io_error, w < 0 ? errno : EIO, __ATOMIC_RELAXED);
                break;
            }
            done += (size_t)w;
        }
        job->valid[i] = 1;
    }
    if (!slot)
        __atomic_store_n(&job->io_error, ENOMEM, __ATOMIC_RELAXED);
    free(slot);
    free(dc.file);
    free(dc.rgb);
    free(dc.tmp);
    return NULL;
}

static int write_all(int fd, const void *p, size_t n, off_t off)
{
    const uint8_t *b = p;
    while (n > 0) {
        ssize_t w = pwrite(fd, b, n, off);
        if (w <= 0)
            return 0;
        b += w;
        n -= (size_t)w;
        off += w;
    }
    return 1;
}

static int build_cache(const char *dir, const image_file *files, int64_t n, int size, uint64_t fp,
                       const char *cache_path, lpz_error *err)
{
    char tmp[PATH_MAX + 32];
    fmt_path(tmp, sizeof tmp, "%s.tmp.%ld", cache_path, (long)getpid());
    int fd = open(tmp, O_RDWR | O_CREAT | O_TRUNC, 0644);
    if (fd < 0) {
        lpz_error_set(err, LPZ_EIO, "cannot create the cache file: %s", strerror(errno));
        lpz_error_where(err, "%s", tmp);
        return LPZ_EIO;
    }
    build_job job;
    memset(&job, 0, sizeof job);
    job.dir = dir;
    job.files = files;
    job.n_files = n;
    job.size = size;
    job.fd = fd;
    job.slot_bytes = 3 * (int64_t)size * size;
    job.valid = calloc((size_t)n, 1);
    if (!job.valid) {
        close(fd);
        unlink(tmp);
        return lpz_error_set(err, LPZ_ENOMEM, "out of memory");
    }
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    int n_threads = cpus < 1 ? 1 : cpus > MAX_DECODE_THREADS ? MAX_DECODE_THREADS : (int)cpus;
    if (n_threads > n)
        n_threads = (int)n;
    lpz_log(LPZ_LOG_INFO, "celeba: decoding %lld images from %s to %dx%d on %d threads (once; cached in %s)",
            (long long)n, dir, size, size, n_threads, cache_path);
    pthread_t threads[MAX_DECODE_THREADS];
    int started = 0;
    for (int t = 0; t < n_threads; t++)
        if (pthread_create(&threads[t], NULL, build_worker, &job) == 0)
            started++;
    if (started == 0)
        build_worker(&job); /* no threads available: decode here */
    for (int t = 0; t < started; t++)
        pthread_join(threads[t], NULL);

    int rc = LPZ_OK;
    uint64_t *table = NULL;
    int64_t n_valid = 0;
    if (job.io_error) {
        rc = lpz_error_set(err, LPZ_EIO, "writing the cache failed: %s", strerror(job.io_error));
        lpz_error_where(err, "%s", tmp);
    } else {
        table = malloc((size_t)n * sizeof *table);
        if (!table)
            rc = lpz_error_set(err, LPZ_ENOMEM, "out of memory");
        for (int64_t i = 0; table && i < n; i++)
            if (job.valid[i])
                table[n_valid++] = (uint64_t)i;
        if (rc == LPZ_OK && n_valid == 0) {
            rc = lpz_error_set(err, LPZ_EFORMAT, "none of the %lld images could be decoded", (long long)n);
            lpz_error_where(err, "%s", dir);
            lpz_error_hint(err, "check that the folder holds JPEG or PNG images");
        }
    }
    if (rc == LPZ_OK) {
        cache_header hdr;
        memset(&hdr, 0, sizeof hdr);
        memcpy(hdr.magic, CACHE_MAGIC, 8);
        hdr.version = CACHE_VERSION;
        hdr.image_size = (uint32_t)size;
        hdr.fingerprint = fp;
        hdr.n_files = (uint64_t)n;
        hdr.n_valid = (uint64_t)n_valid;
        hdr.n_skipped = (uint64_t)job.skipped;
        hdr.data_offset = DATA_OFFSET;
        hdr.table_offset = DATA_OFFSET + (uint64_t)n * (uint64_t)job.slot_bytes;
        /* the header goes last so an interrupted build never looks valid */
        if (!write_all(fd, table, (size_t)n_valid * sizeof *table, (off_t)hdr.table_offset) ||
            ftruncate(fd, (off_t)(hdr.table_offset + (uint64_t)n_valid * sizeof *table)) != 0 ||
            !write_all(fd, &hdr, sizeof hdr, 0) || fsync(fd) != 0) {
            rc = lpz_error_set(err, LPZ_EIO, "writing the cache failed: %s", strerror(errno));
            lpz_error_where(err, "%s", tmp);
        }
    }
    free(table);
    free(job.valid);
    if (close(fd) != 0 && rc == LPZ_OK) {
        rc = lpz_error_set(err, LPZ_EIO, "writing the cache failed: %s", strerror(errno));
        lpz_error_where(err, "%s", tmp);
    }
    if (rc == LPZ_OK && rename(tmp, cache_path) != 0) {
        rc = lpz_error_set(err, LPZ_EIO, "cannot rename the cache into place: %s", strerror(errno));
        lpz_error_where(err, "%s", cache_path);
    }
    if (rc != LPZ_OK) {
        unlink(tmp);
        return rc;
    }
    if (job.skipped > 0)
        lpz_log(LPZ_LOG_WARN, "celeba: skipped %lld of %lld images (unreadable or corrupt)", (long long)job.skipped,
                (long long)n);
    return LPZ_OK;
}

/* Maps the cache when it matches (returns 1), else returns 0 (absent,
 * stale or damaged: to be rebuilt). */
static int map_cache(const char *path, uint64_t fp, int64_t n, int size, celeba_state *s)
{
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC); /* a FIFO there: rebuilt, not waited on */
    if (fd < 0)
        return 0;
    struct stat st;
    cache_header hdr;
    int ok = fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && (size_t)st.st_size >= sizeof hdr &&
             pread(fd, &hdr, sizeof hdr, 0) == sizeof hdr;
    int64_t slot = 3 * (int64_t)size * size;
    ok = ok && !memcmp(hdr.magic, CACHE_MAGIC, 8) && hdr.version == CACHE_VERSION && hdr.image_size == (uint32_t)size &&
         hdr.fingerprint == fp && hdr.n_files == (uint64_t)n && hdr.n_valid > 0 && hdr.n_valid <= hdr.n_files &&
         hdr.data_offset == DATA_OFFSET && hdr.table_offset == DATA_OFFSET + hdr.n_files * (uint64_t)slot &&
         (uint64_t)st.st_size == hdr.table_offset + hdr.n_valid * sizeof(uint64_t);
    if (!ok) {
        close(fd);
        return 0;
    }
    void *map = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_SHARED, fd, 0);
    close(fd);
    if (map == MAP_FAILED)
        return 0;
    const uint64_t *table = (const uint64_t *)((const uint8_t *)map + hdr.table_offset);
    for (uint64_t i = 0; i < hdr.n_valid; i++) {
        if (table[i] >= hdr.n_files) {
            munmap(map, (size_t)st.st_size);
            return 0;
        }
    }
    s->map = map;
    s->map_size = (size_t)st.st_size;
    s->data = (const uint8_t *)map + DATA_OFFSET;
    s->table = table;
    s->count = (int64_t)hdr.n_valid;
    s->slot_bytes = slot;
    if (hdr.n_skipped > 0)
        lpz_log(LPZ_LOG_INFO, "celeba: cache has %llu images; %llu unreadable or corrupt files were skipped",
                (unsigned long long)hdr.n_valid, (unsigned long long)hdr.n_skipped);
    return 1;
}

/* ---- the plugin ---- */

static int is_dir(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

static int locate(const lpz_dataset_context *ctx, char *dir, size_t size, lpz_error *err)
{
    if (lpz_options_is_set(ctx->options, "path")) {
        const char *opt;
        int rc = lpz_options_get_string(ctx->options, "path", &opt, err);
        if (rc != LPZ_OK)
            return rc;
        int fits = fmt_path(dir, size, "%s", opt);
        if (opt[0] != '/' && !is_dir(dir) && ctx->config_dir)
            fits = fmt_path(dir, size, "%s/%s", ctx->config_dir, opt);
        if (!fits || !is_dir(dir)) {
            struct stat st;
            if (stat(opt, &st) == 0 || (fits && stat(dir, &st) == 0)) /* a file (one of the images?) */
                rc = lpz_error_set(err, LPZ_EINVAL, "'%s' is a file, not a folder of images", opt);
            else
                rc = lpz_error_set(err, LPZ_ENOTFOUND, "image folder '%s' does not exist", opt);
            lpz_error_where(err, "%s", lpz_options_where(ctx->options, "path"));
            lpz_error_hint(err, "set dataloader.path to the folder holding img_align_celeba/ or the images");
            return rc;
        }
    } else {
        char tried[2][PATH_MAX];
        int n = 0;
        if (ctx->output_dir)
            fmt_path(tried[n++], PATH_MAX, "%s/data/celeba", ctx->output_dir);
        const char *env = getenv("LPZ_DATA");
        if (env && env[0])
            fmt_path(tried[n++], PATH_MAX, "%s/celeba", env);
        int found = -1;
        for (int i = 0; i < n && found < 0; i++)
            if (is_dir(tried[i]))
                found = i;
        if (found < 0) {
            char list[2 * PATH_MAX + 64] = "";
            for (int i = 0; i < n; i++) {
                size_t len = strlen(list);
                fmt_path(list + len, sizeof list - len, "%s%s", i ? ", " : "", tried[i]);
            }
            if (!(env && env[0])) {
                size_t len = strlen(list);
                fmt_path(list + len, sizeof list - len, "%s$LPZ_DATA/celeba (LPZ_DATA unset)", n ? ", " : "");
            }
            lpz_error_set(err, LPZ_ENOTFOUND, "celeba images not found; searched: %s", list);
            lpz_error_where(err, "dataloader.path (not set)");
            lpz_error_hint(err, "download CelebA's img_align_celeba.zip, unpack it and set dataloader.path to the "
                                "folder");
            return LPZ_ENOTFOUND;
        }
        fmt_path(dir, size, "%s", tried[found]);
    }
    /* CelebA's own layout: the images sit in img_align_celeba/ */
    char sub[PATH_MAX + 32];
    fmt_path(sub, sizeof sub, "%s/img_align_celeba", dir);
    if (is_dir(sub))
        fmt_path(dir, size, "%s", sub);
    return LPZ_OK;
}

static void celeba_close(void *state)
{
    celeba_state *s = state;
    if (!s)
        return;
    if (s->map)
        munmap(s->map, s->map_size);
    free(s);
}

/* The options, checked, and the image folder: what describe and open
 * both start with, so that they report the same errors. */
static int read_options(const lpz_dataset_context *ctx, int64_t *size, int64_t *max_images, char *dir,
                        size_t dir_size, lpz_error *err)
{
    *size = 64;
    *max_images = 0;
    int rc = lpz_options_get_int(ctx->options, "image_size", size, err);
    if (rc == LPZ_OK)
        rc = lpz_options_get_int(ctx->options, "max_images", max_images, err);
    if (rc != LPZ_OK)
        return rc;
    if (*size < 4 || *size > MAX_IMAGE_SIZE) {
        lpz_error_set(err, LPZ_EINVAL, "image_size %lld is outside [4, %d]", (long long)*size, MAX_IMAGE_SIZE);
        lpz_error_where(err, "%s", lpz_options_where(ctx->options, "image_size"));
        return LPZ_EINVAL;
    }
    if (*max_images < 0) {
        lpz_error_set(err, LPZ_EINVAL, "max_images %lld must be 0 (all) or positive", (long long)*max_images);
        lpz_error_where(err, "%s", lpz_options_where(ctx->options, "max_images"));
        return LPZ_EINVAL;
    }
    return locate(ctx, dir, dir_size, err);
}

/* Every sample is 3 x image_size x image_size, whatever the images' sizes:
 * told without reading an image, so that lpz refuses an image_size the
 * network does not take before open decodes the folder. */
static int celeba_describe(const lpz_dataset_context *ctx, lpz_dataset_info *info, lpz_error *err)
{
    int64_t size, max_images;
    char dir[PATH_MAX];
    int rc = read_options(ctx, &size, &max_images, dir, sizeof dir, err);
    if (rc != LPZ_OK)
        return rc;
    info->sample_shape = lpz_shape_make(3, 3, size, size, 0);
    info->kind = LPZ_SAMPLE_IMAGE;
    return LPZ_OK;
}

static int celeba_open(const lpz_dataset_context *ctx, void **state, lpz_dataset_info *info, lpz_error *err)
{
    int64_t size, max_images;
    char dir[PATH_MAX];
    int rc = read_options(ctx, &size, &max_images, dir, sizeof dir, err);
    if (rc != LPZ_OK)
        return rc;
    if (!ctx->cache_dir)
        return lpz_error_set(err, LPZ_EINVAL, "celeba needs a cache folder (ctx->cache_dir is NULL)");
    char absdir[PATH_MAX];
    if (!realpath(dir, absdir))
        fmt_path(absdir, sizeof absdir, "%s", dir);

    image_file *files = NULL;
    int64_t n = 0;
    rc = list_images(absdir, &files, &n, err);
    if (rc != LPZ_OK)
        return rc;
    if (n == 0) {
        free_files(files, n);
        lpz_error_set(err, LPZ_ENOTFOUND, "no .jpg, .jpeg or .png images in the folder");
        lpz_error_where(err, "%s", absdir);
        lpz_error_hint(err, "set dataloader.path to the folder holding img_align_celeba/ or the images");
        return LPZ_ENOTFOUND;
    }
    if (max_images > 0 && max_images < n) {
        for (int64_t i = max_images; i < n; i++)
            free(files[i].name);
        n = max_images;
    }

    uint64_t fp = fingerprint(files, n, size);
    char cache_path[PATH_MAX + 64];
    if (!fmt_path(cache_path, sizeof cache_path, "%s/celeba-%016llx-%lld.cache", ctx->cache_dir,
                  (unsigned long long)fnv(0xcbf29ce484222325ULL, absdir, strlen(absdir)), (long long)size)) {
        free_files(files, n);
        lpz_error_set(err, LPZ_EINVAL, "cache folder path is too long");
        lpz_error_where(err, "%s", ctx->cache_dir);
        return LPZ_EINVAL;
    }

    celeba_state *s = calloc(1, sizeof *s);
    if (!s) {
        free_files(files, n);
        return lpz_error_set(err, LPZ_ENOMEM, "out of memory");
    }
    if (!map_cache(cache_path, fp, n, (int)size, s)) {
        rc = build_cache(absdir, files, n, (int)size, fp, cache_path, err);
        if (rc == LPZ_OK && !map_cache(cache_path, fp, n, (int)size, s)) {
            rc = lpz_error_set(err, LPZ_EIO, "the cache just written cannot be mapped");
            lpz_error_where(err, "%s", cache_path);
        }
    } else {
        lpz_log(LPZ_LOG_DEBUG, "celeba: using cache %s", cache_path);
    }
    free_files(files, n);
    if (rc != LPZ_OK) {
        celeba_close(s);
        return rc;
    }
    for (int v = 0; v < 256; v++)
        s->lut[v] = (float)v / 255.0f * 2.0f - 1.0f;
    info->sample_shape = lpz_shape_make(3, 3, size, size, 0);
    info->count = s->count;
    info->n_classes = 0;
    info->kind = LPZ_SAMPLE_IMAGE;
    *state = s;
    return LPZ_OK;
}

static int celeba_read(void *state, int64_t index, float *out, lpz_error *err)
{
    (void)err;
    const celeba_state *s = state;
    const uint8_t *px = s->data + (size_t)s->table[index] * (size_t)s->slot_bytes;
    for (int64_t j = 0; j < s->slot_bytes; j++)
        out[j] = s->lut[px[j]];
    return LPZ_OK;
}

static const lpz_option_spec celeba_options[] = {
    {"path", LPZ_OPT_PATH, NULL,
     "folder of JPEG/PNG images, or one holding img_align_celeba/; default: <output_dir>/data/celeba, then "
     "$LPZ_DATA/celeba"},
    {"image_size", LPZ_OPT_INT, "64", "side of the square RGB samples in pixels (centre crop, area-averaged resize)"},
    {"max_images", LPZ_OPT_INT, "0", "use only the first N images in name order (0 = all)"},
    {NULL, 0, NULL, NULL},
};

static const lpz_dataloader_ops celeba_ops = {
    .size = sizeof(lpz_dataloader_ops),
    .open = celeba_open,
    .close = celeba_close,
    .read = celeba_read,
    .label = NULL,
    .render = NULL, /* the core's PNG grid */
    .to_original_units = NULL,
    .describe = celeba_describe,
};

LPZ_PLUGIN_DEFINE(LPZ_PLUGIN_DATALOADER, "celeba", NULL, "1.0.0",
                  "folder of face images (CelebA img_align_celeba), centre-cropped RGB in [-1, 1], decoded once to a "
                  "memory-mapped cache",
                  celeba_options, &celeba_ops);
