/* plugins/dataloaders/mnist - MNIST and Fashion-MNIST from IDX files.
 *
 * Built twice from this file: `mnist`, and `fashion_mnist` with
 * LPZ_MNIST_FASHION defined (other default folders, Debian's
 * dataset-fashion-mnist among them). Reads the four IDX files of the
 * original distribution, plain or gzipped:
 *   train-images-idx3-ubyte  magic 2051, count, rows, cols, then pixels
 *   train-labels-idx1-ubyte  magic 2049, count, then one byte per label
 *   t10k-*                   the same for the test split
 * Pixels stay uint8 in memory (47 MB for the 60000 training images instead
 * of 188 MB as floats) and are scaled on read to x / 255 * 2 - 1, which is
 * what the original's transforms ToTensor() + Normalize((0.5,), (0.5,))
 * produce. describe reads the image file's header alone (the sample
 * shape before the images are read). Uses only the SDK and zlib.
 */
#include <lpz/lpz.h>

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <zlib.h>

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

#ifdef LPZ_MNIST_FASHION
#define PLUGIN_NAME "fashion_mnist"
#define TV_FOLDER "FashionMNIST" /* torchvision's folder name */
#define ENV_FOLDER "fashion-mnist"
#define SYSTEM_FOLDER "/usr/share/datasets/fashion-mnist"
#define HOW_TO_GET                                                                                           \
    "install Debian's dataset-fashion-mnist (apt-get install dataset-fashion-mnist), or set dataloader.path " \
    "to a folder holding train-images-idx3-ubyte(.gz) and the other three IDX files (torchvision's "          \
    "FashionMNIST(root, download=True) writes them to root/FashionMNIST/raw)"
#else
#define PLUGIN_NAME "mnist"
#define TV_FOLDER "MNIST"
#define ENV_FOLDER "mnist"
#define HOW_TO_GET                                                                                          \
    "set dataloader.path to a folder holding train-images-idx3-ubyte(.gz) and the other three IDX files; " \
    "torchvision's MNIST(root, download=True) writes them to root/MNIST/raw"
#endif

#define IDX_IMAGES_MAGIC 2051u
#define IDX_LABELS_MAGIC 2049u
/* Bounds that no real IDX image file exceeds; they stop a corrupt header
 * from asking for gigabytes. */
#define MAX_SIDE 4096u
#define MAX_COUNT 100000000u

typedef struct mnist_state {
    uint8_t *pixels; /* count x rows x cols */
    uint8_t *labels; /* count */
    int64_t count;
    int64_t numel;
    float lut[256]; /* byte -> [-1, 1] */
} mnist_state;

static int is_dir(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

static int is_file(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0 && S_ISREG(st.st_mode);
}

/* An IDX file as stored: plain, or gzip in one member or several (as
 * concatenated .gz files are; gzip -d reads them all). Read with inflate
 * rather than gzread, which takes a gzip stream that stops early (a cut-off
 * download, its CRC and length trailer missing) for a clean end of file
 * and ignores whatever follows the last member. Here every member must end
 * with its trailer, and only another member may follow one. */
#define IN_BYTES (1u << 17)

typedef struct idx_file {
    FILE *fp;
    const char *path;
    int gz;        /* gzip members, else the bytes as they are */
    int in_member; /* a gzip member has begun whose end and trailer are not read yet */
    z_stream zs;   /* gzip: input in zs.next_in, zs.avail_in bytes of it */
    uint8_t *in;   /* IN_BYTES of compressed input */
} idx_file;

static int idx_open(const char *path, idx_file *f, lpz_error *err)
{
    memset(f, 0, sizeof *f);
    f->path = path;
    f->fp = fopen(path, "rb");
    if (!f->fp) {
        lpz_error_set(err, LPZ_EIO, "cannot open: %s", strerror(errno));
        lpz_error_where(err, "%s", path);
        return LPZ_EIO;
    }
    uint8_t magic[2];
    f->gz = fread(magic, 1, 2, f->fp) == 2 && magic[0] == 0x1f && magic[1] == 0x8b;
    rewind(f->fp);
    if (f->gz) {
        f->in = malloc(IN_BYTES);
        if (!f->in || inflateInit2(&f->zs, 16 + MAX_WBITS) != Z_OK) { /* 16: gzip */
            free(f->in);
            fclose(f->fp);
            return lpz_error_set(err, LPZ_ENOMEM, "out of memory opening %s", path);
        }
    }
    return LPZ_OK;
}

static void idx_close(idx_file *f)
{
    if (f->gz) {
        inflateEnd(&f->zs);
        free(f->in);
    }
    fclose(f->fp);
}

/* Moves the unread input to the buffer's start and reads more after it:
 * 1 when it read some, 0 at the end of the file, -1 on an error (err set). */
static int idx_refill(idx_file *f, lpz_error *err)
{
    if (f->zs.avail_in > 0)
        memmove(f->in, f->zs.next_in, f->zs.avail_in);
    f->zs.next_in = f->in;
    size_t got = fread(f->in + f->zs.avail_in, 1, IN_BYTES - f->zs.avail_in, f->fp);
    if (got == 0 && ferror(f->fp)) {
        lpz_error_set(err, LPZ_EIO, "cannot read: %s", strerror(errno));
        lpz_error_where(err, "%s", f->path);
        return -1;
    }
    f->zs.avail_in += (uInt)got;
    return got > 0;
}

/* Reads up to n bytes (n < 4 GB) of the file's data into dst; *got < n only
 * at the end of the data: of a plain file, or of a gzip file whose last
 * member ended with its trailer and the file with it. */
static int idx_read(idx_file *f, void *dst, size_t n, size_t *got, const char *what, lpz_error *err)
{
    if (!f->gz) {
        *got = fread(dst, 1, n, f->fp);
        if (*got < n && ferror(f->fp)) {
            lpz_error_set(err, LPZ_EIO, "cannot read %s: %s", what, strerror(errno));
            lpz_error_where(err, "%s", f->path);
            return LPZ_EIO;
        }
        return LPZ_OK;
    }
    f->zs.next_out = dst;
    f->zs.avail_out = (uInt)n;
    while (f->zs.avail_out > 0) {
        if (!f->in_member) {
            /* between members: the end of the file, or another member */
            int r = 1;
            while (r > 0 && f->zs.avail_in < 2)
                r = idx_refill(f, err);
            if (r < 0)
                return err->code;
            if (f->zs.avail_in == 0)
                break;
            if (f->zs.avail_in < 2 || f->zs.next_in[0] != 0x1f || f->zs.next_in[1] != 0x8b) {
                lpz_error_set(err, LPZ_EFORMAT, "bytes that are not gzip data follow the end of the gzip stream");
                lpz_error_where(err, "%s", f->path);
                lpz_error_hint(err, "the file is damaged: download it again");
                return LPZ_EFORMAT;
            }
            inflateReset(&f->zs);
            f->in_member = 1;
        }
        if (f->zs.avail_in == 0) {
            int r = idx_refill(f, err);
            if (r < 0)
                return err->code;
            if (r == 0) {
                lpz_error_set(err, LPZ_EFORMAT, "file is truncated: the gzip stream ends early");
                lpz_error_where(err, "%s", f->path);
                lpz_error_hint(err, "the file is incomplete, perhaps a cut-off download: download it again");
                return LPZ_EFORMAT;
            }
        }
        int z = inflate(&f->zs, Z_NO_FLUSH);
        if (z == Z_STREAM_END) {
            f->in_member = 0;
        } else if (z != Z_OK && z != Z_BUF_ERROR) { /* Z_BUF_ERROR: input used up, more is read above */
            lpz_error_set(err, LPZ_EFORMAT, "cannot read %s: %s", what, f->zs.msg ? f->zs.msg : zError(z));
            lpz_error_where(err, "%s", f->path);
            lpz_error_hint(err, "the file is corrupt: download it again");
            return LPZ_EFORMAT;
        }
    }
    *got = n - f->zs.avail_out;
    return LPZ_OK;
}

/* Reads exactly n bytes. */
static int read_exact(idx_file *f, void *dst, size_t n, const char *what, lpz_error *err)
{
    uint8_t *p = dst;
    size_t got = 0;
    while (got < n) {
        size_t chunk = n - got > (1u << 30) ? (1u << 30) : n - got;
        size_t r;
        int rc = idx_read(f, p + got, chunk, &r, what, err);
        if (rc != LPZ_OK)
            return rc;
        if (r == 0) {
            lpz_error_set(err, LPZ_EFORMAT, "file is truncated in %s: %zu of %zu bytes present", what, got, n);
            lpz_error_where(err, "%s", f->path);
            lpz_error_hint(err, "the file is incomplete: download it again");
            return LPZ_EFORMAT;
        }
        got += r;
    }
    return LPZ_OK;
}

/* n bytes read into a new buffer grown as they arrive (up to twice what
 * the file holds, never what a lying header claims: 100,000,000 images in
 * a 1 KB file is a truncated file, not an allocation of 78 GB). A plain
 * file is checked against its size first. */
static int read_alloc(idx_file *f, size_t n, const char *what, uint8_t **out, lpz_error *err)
{
    *out = NULL;
    struct stat st;
    if (!f->gz && fstat(fileno(f->fp), &st) == 0 && S_ISREG(st.st_mode)) {
        long at = ftell(f->fp);
        if (at >= 0 && (uint64_t)st.st_size - (uint64_t)at < n) {
            lpz_error_set(err, LPZ_EFORMAT, "file is truncated in %s: the header says %zu bytes, the file holds %llu",
                          what, n, (unsigned long long)((uint64_t)st.st_size - (uint64_t)at));
            lpz_error_where(err, "%s", f->path);
            lpz_error_hint(err, "the file is incomplete or its header is wrong: download it again");
            return LPZ_EFORMAT;
        }
    }
    size_t cap = n < ((size_t)64 << 20) ? n : ((size_t)64 << 20), got = 0;
    uint8_t *buf = malloc(cap ? cap : 1);
    while (buf && got < n) {
        if (got == cap) {
            size_t more = cap > n - cap ? n : 2 * cap;
            uint8_t *b = realloc(buf, more);
            if (!b) {
                free(buf);
                buf = NULL;
                break;
            }
            buf = b, cap = more;
        }
        int rc = read_exact(f, buf + got, cap - got, what, err);
        if (rc != LPZ_OK) {
            if (rc == LPZ_EFORMAT && !strncmp(err->message, "file is truncated in ", 21)) { /* count all n bytes */
                lpz_error_set(err, LPZ_EFORMAT, "file is truncated in %s: the header says %zu bytes, fewer present",
                              what, n);
                lpz_error_where(err, "%s", f->path);
                lpz_error_hint(err, "the file is incomplete or its header is wrong: download it again");
            }
            free(buf);
            return rc;
        }
        got = cap;
    }
    if (!buf) {
        lpz_error_set(err, LPZ_ENOMEM, "out of memory for %s (%zu bytes)", what, n);
        lpz_error_where(err, "%s", f->path);
        return LPZ_ENOMEM;
    }
    *out = buf;
    return LPZ_OK;
}

static uint32_t be32(const uint8_t *b)
{
    return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | (uint32_t)b[3];
}

/* Checks that nothing follows the declared data (a file of another set
 * or a concatenation would otherwise pass unnoticed) and, for gzip, that
 * the stream ends cleanly. */
static int expect_end(idx_file *f, lpz_error *err)
{
    uint8_t extra;
    size_t got;
    int rc = idx_read(f, &extra, 1, &got, "the end of the file", err);
    if (rc == LPZ_OK && got != 0) {
        lpz_error_set(err, LPZ_EFORMAT, "file is longer than its header declares");
        lpz_error_where(err, "%s", f->path);
        lpz_error_hint(err, "the file is not an IDX file of this dataset");
        return LPZ_EFORMAT;
    }
    return rc;
}

/* The image file's header: count, rows and columns, checked. */
static int read_image_header(idx_file *f, int64_t *count, int64_t *rows, int64_t *cols, lpz_error *err)
{
    uint8_t h[16];
    int rc = read_exact(f, h, sizeof h, "the image header", err);
    if (rc != LPZ_OK)
        return rc;
    if (be32(h) != IDX_IMAGES_MAGIC) {
        lpz_error_set(err, LPZ_EFORMAT, "bad magic number %u (an IDX image file has %u)", be32(h),
                      IDX_IMAGES_MAGIC);
        lpz_error_where(err, "%s", f->path);
        lpz_error_hint(err, "this is not an IDX image file (labels and images swapped?)");
        return LPZ_EFORMAT;
    }
    uint32_t n = be32(h + 4), r = be32(h + 8), c = be32(h + 12);
    if (n == 0 || n > MAX_COUNT || r == 0 || r > MAX_SIDE || c == 0 || c > MAX_SIDE) {
        lpz_error_set(err, LPZ_EFORMAT, "implausible header: %u images of %u x %u pixels", n, r, c);
        lpz_error_where(err, "%s", f->path);
        return LPZ_EFORMAT;
    }
    *count = n;
    *rows = r;
    *cols = c;
    return LPZ_OK;
}

static int read_images(const char *path, mnist_state *s, int64_t *rows, int64_t *cols, lpz_error *err)
{
    idx_file f;
    int rc = idx_open(path, &f, err);
    if (rc != LPZ_OK)
        return rc;
    rc = read_image_header(&f, &s->count, rows, cols, err);
    if (rc == LPZ_OK) {
        s->numel = *rows * *cols;
        rc = read_alloc(&f, (size_t)(s->count * s->numel), "the pixels", &s->pixels, err);
    }
    if (rc == LPZ_OK)
        rc = expect_end(&f, err);
    idx_close(&f);
    return rc;
}

static int read_labels(const char *path, mnist_state *s, int32_t *n_classes, lpz_error *err)
{
    idx_file f;
    int rc = idx_open(path, &f, err);
    if (rc != LPZ_OK)
        return rc;
    uint8_t h[8];
    rc = read_exact(&f, h, sizeof h, "the label header", err);
    if (rc == LPZ_OK && be32(h) != IDX_LABELS_MAGIC) {
        lpz_error_set(err, LPZ_EFORMAT, "bad magic number %u (an IDX label file has %u)", be32(h),
                      IDX_LABELS_MAGIC);
        lpz_error_where(err, "%s", path);
        lpz_error_hint(err, "this is not an IDX label file (labels and images swapped?)");
        rc = LPZ_EFORMAT;
    }
    if (rc == LPZ_OK && (int64_t)be32(h + 4) != s->count) {
        lpz_error_set(err, LPZ_EFORMAT, "%u labels for %lld images", be32(h + 4), (long long)s->count);
        lpz_error_where(err, "%s", path);
        lpz_error_hint(err, "the image and label files belong to different sets");
        rc = LPZ_EFORMAT;
    }
    if (rc == LPZ_OK) {
        s->labels = malloc((size_t)s->count);
        if (!s->labels)
            rc = lpz_error_set(err, LPZ_ENOMEM, "out of memory for %lld labels", (long long)s->count);
        else
            rc = read_exact(&f, s->labels, (size_t)s->count, "the labels", err);
    }
    if (rc == LPZ_OK)
        rc = expect_end(&f, err);
    idx_close(&f);
    if (rc == LPZ_OK) {
        int max = 0;
        for (int64_t i = 0; i < s->count; i++)
            if (s->labels[i] > max)
                max = s->labels[i];
        *n_classes = max + 1;
    }
    return rc;
}

/* dir/name or dir/name.gz, whichever exists (plain first). */
static int find_file(const char *dir, const char *name, char *out, size_t size)
{
    fmt_path(out, size, "%s/%s", dir, name);
    if (is_file(out))
        return 1;
    fmt_path(out, size, "%s/%s.gz", dir, name);
    return is_file(out);
}

static int has_dataset(const char *dir, const char *prefix)
{
    char p[PATH_MAX], name[64];
    fmt_path(name, sizeof name, "%s-images-idx3-ubyte", prefix);
    return is_dir(dir) && find_file(dir, name, p, sizeof p);
}

/* Chooses the folder: the `path` option (relative to the current folder,
 * then to the run file's folder), else the default places in order. */
static int locate(const lpz_dataset_context *ctx, const char *prefix, char *dir, size_t size, lpz_error *err)
{
    const char *opt = NULL;
    if (lpz_options_is_set(ctx->options, "path")) {
        int rc = lpz_options_get_string(ctx->options, "path", &opt, err);
        if (rc != LPZ_OK)
            return rc;
        int fits = fmt_path(dir, size, "%s", opt);
        if (opt[0] != '/' && !is_dir(dir) && ctx->config_dir)
            fits = fmt_path(dir, size, "%s/%s", ctx->config_dir, opt);
        if (!fits || !has_dataset(dir, prefix)) {
            struct stat st;
            int file = fits && stat(dir, &st) == 0 && !S_ISDIR(st.st_mode);
            int missing = fits && stat(dir, &st) != 0 && errno == ENOENT; /* not "no file in" it */
            if (missing)
                lpz_error_set(err, LPZ_ENOTFOUND, "folder '%s' does not exist", opt);
            else if (file) /* a .npy, a CSV, an image: another dataloader's data */
                lpz_error_set(err, LPZ_ENOTFOUND, "'%s' is a file: " PLUGIN_NAME " takes a folder holding "
                              "%s-images-idx3-ubyte(.gz)", opt, prefix);
            else {
                /* there, but not a regular file (a FIFO, a folder, a device): said so, not "no file" */
                char p[PATH_MAX];
                int other = 0;
                for (int gz = 0; fits && gz < 2 && !other; gz++) {
                    fmt_path(p, sizeof p, "%s/%s-images-idx3-ubyte%s", dir, prefix, gz ? ".gz" : "");
                    other = stat(p, &st) == 0 && !S_ISREG(st.st_mode);
                }
                if (other)
                    lpz_error_set(err, LPZ_ENOTFOUND, "%s is not a regular file (%s)", p,
                                  S_ISDIR(st.st_mode) ? "a folder" : S_ISFIFO(st.st_mode) ? "a FIFO" : "a device "
                                                                                                     "or socket");
                else
                    lpz_error_set(err, LPZ_ENOTFOUND, "no %s-images-idx3-ubyte(.gz) in '%s'", prefix, opt);
            }
            lpz_error_where(err, "%s", lpz_options_where(ctx->options, "path"));
            if (file)
                lpz_error_hint(err, "for a .npy of samples set dataloader.dataset_name to npy (network_traffic for "
                                    "flow sequences); or %s", HOW_TO_GET);
            else
                lpz_error_hint(err, "%s", HOW_TO_GET);
            return LPZ_ENOTFOUND;
        }
        return LPZ_OK;
    }
    char tried[4][PATH_MAX];
    int n = 0;
    if (ctx->output_dir)
        fmt_path(tried[n++], PATH_MAX, "%s/data/%s/raw", ctx->output_dir, TV_FOLDER);
    const char *env = getenv("LPZ_DATA");
    if (env && env[0])
        fmt_path(tried[n++], PATH_MAX, "%s/%s", env, ENV_FOLDER);
#ifdef SYSTEM_FOLDER
    fmt_path(tried[n++], PATH_MAX, "%s", SYSTEM_FOLDER);
#endif
    for (int i = 0; i < n; i++) {
        if (has_dataset(tried[i], prefix)) {
            fmt_path(dir, size, "%s", tried[i]);
            return LPZ_OK;
        }
    }
    char list[3 * PATH_MAX + 64] = "";
    for (int i = 0; i < n; i++) {
        size_t len = strlen(list);
        fmt_path(list + len, sizeof list - len, "%s%s", i ? ", " : "", tried[i]);
    }
    if (!(env && env[0])) {
        size_t len = strlen(list);
        fmt_path(list + len, sizeof list - len, "%s$LPZ_DATA/%s (LPZ_DATA unset)", n ? ", " : "", ENV_FOLDER);
    }
    lpz_error_set(err, LPZ_ENOTFOUND, "%s dataset not found; searched: %s", PLUGIN_NAME, list);
    lpz_error_where(err, "dataloader.path (not set)");
    lpz_error_hint(err, "%s", HOW_TO_GET);
    return LPZ_ENOTFOUND;
}

static void mnist_close(void *state)
{
    mnist_state *s = state;
    if (!s)
        return;
    free(s->pixels);
    free(s->labels);
    free(s);
}

/* The split's folder and its image and label files (each size PATH_MAX + 64). */
static int find_split(const lpz_dataset_context *ctx, char *dir, char *images, char *labels, lpz_error *err)
{
    const char *prefix = ctx->split == LPZ_SPLIT_TEST ? "t10k" : "train";
    int rc = locate(ctx, prefix, dir, PATH_MAX, err);
    if (rc != LPZ_OK)
        return rc;
    char name[64];
    fmt_path(name, sizeof name, "%s-images-idx3-ubyte", prefix);
    find_file(dir, name, images, PATH_MAX + 64);
    fmt_path(name, sizeof name, "%s-labels-idx1-ubyte", prefix);
    if (!find_file(dir, name, labels, PATH_MAX + 64)) {
        lpz_error_set(err, LPZ_ENOTFOUND, "%s(.gz) is missing next to the images", name);
        lpz_error_where(err, "%s", dir);
        lpz_error_hint(err, "%s", HOW_TO_GET);
        return LPZ_ENOTFOUND;
    }
    return LPZ_OK;
}

/* The image size from the image file's header (16 bytes), without reading
 * (or unzipping) the images. */
static int mnist_describe(const lpz_dataset_context *ctx, lpz_dataset_info *info, lpz_error *err)
{
    char dir[PATH_MAX], images[PATH_MAX + 64], labels[PATH_MAX + 64];
    int rc = find_split(ctx, dir, images, labels, err);
    if (rc != LPZ_OK)
        return rc;
    idx_file f;
    if ((rc = idx_open(images, &f, err)) != LPZ_OK)
        return rc;
    int64_t count, rows, cols;
    rc = read_image_header(&f, &count, &rows, &cols, err);
    idx_close(&f);
    if (rc != LPZ_OK)
        return rc;
    info->sample_shape = lpz_shape_make(3, 1, rows, cols, 0);
    info->kind = LPZ_SAMPLE_IMAGE;
    return LPZ_OK;
}

static int mnist_open(const lpz_dataset_context *ctx, void **state, lpz_dataset_info *info, lpz_error *err)
{
    const char *prefix = ctx->split == LPZ_SPLIT_TEST ? "t10k" : "train";
    char dir[PATH_MAX], images[PATH_MAX + 64], labels[PATH_MAX + 64];
    int rc = find_split(ctx, dir, images, labels, err);
    if (rc != LPZ_OK)
        return rc;

    mnist_state *s = calloc(1, sizeof *s);
    if (!s)
        return lpz_error_set(err, LPZ_ENOMEM, "out of memory");
    int64_t rows = 0, cols = 0;
    int32_t n_classes = 0;
    rc = read_images(images, s, &rows, &cols, err);
    if (rc == LPZ_OK)
        rc = read_labels(labels, s, &n_classes, err);
    if (rc != LPZ_OK) {
        mnist_close(s);
        return rc;
    }
    for (int v = 0; v < 256; v++)
        s->lut[v] = (float)v / 255.0f * 2.0f - 1.0f;
    info->sample_shape = lpz_shape_make(3, 1, rows, cols, 0);
    info->count = s->count;
    info->n_classes = n_classes;
    info->kind = LPZ_SAMPLE_IMAGE;
    lpz_log(LPZ_LOG_INFO, "%s: %lld %s images of %lld x %lld from %s", PLUGIN_NAME, (long long)s->count, prefix,
            (long long)rows, (long long)cols, dir);
    *state = s;
    return LPZ_OK;
}

static int mnist_read(void *state, int64_t index, float *out, lpz_error *err)
{
    (void)err;
    const mnist_state *s = state;
    const uint8_t *px = s->pixels + index * s->numel;
    /* Eight bytes at a time through GCC vector types (the table lookup does
     * not vectorise; the batcher spends most of its time here): the same
     * arithmetic as the table's, so the same floats (x / 255 is correctly
     * rounded either way and * 2 is exact). */
    typedef uint8_t u8x8 __attribute__((vector_size(8)));
    typedef float f32x8 __attribute__((vector_size(32)));
    int64_t j = 0;
    for (; j + 8 <= s->numel; j += 8) {
        u8x8 b;
        memcpy(&b, px + j, sizeof b);
        f32x8 v = __builtin_convertvector(b, f32x8) / 255.0f * 2.0f - 1.0f;
        memcpy(out + j, &v, sizeof v);
    }
    for (; j < s->numel; j++)
        out[j] = s->lut[px[j]];
    return LPZ_OK;
}

/* The image's bytes (784, on 13 or 14 cache lines) on their way: the
 * batcher reads random images of a 47 MB array, and each read otherwise
 * waits for memory line by line. */
static void mnist_prefetch(void *state, int64_t index)
{
    const mnist_state *s = state;
    const uint8_t *px = s->pixels + index * s->numel;
    for (int64_t j = 0; j < s->numel; j += 64)
        __builtin_prefetch(px + j);
    __builtin_prefetch(px + s->numel - 1);
}

static int mnist_label(void *state, int64_t index, int32_t *label, lpz_error *err)
{
    (void)err;
    const mnist_state *s = state;
    *label = s->labels[index];
    return LPZ_OK;
}

static const lpz_option_spec mnist_options[] = {
    {"path", LPZ_OPT_PATH, NULL,
     "folder with the four IDX files (plain or .gz); default: <output_dir>/data/" TV_FOLDER "/raw, then "
     "$LPZ_DATA/" ENV_FOLDER
#ifdef LPZ_MNIST_FASHION
     ", then " SYSTEM_FOLDER
#endif
    },
    {NULL, 0, NULL, NULL},
};

static const lpz_dataloader_ops mnist_ops = {
    .size = sizeof(lpz_dataloader_ops),
    .open = mnist_open,
    .close = mnist_close,
    .read = mnist_read,
    .label = mnist_label,
    .render = NULL, /* the core's PNG grid */
    .to_original_units = NULL,
    .prefetch = mnist_prefetch,
    .describe = mnist_describe,
};

LPZ_PLUGIN_DEFINE(LPZ_PLUGIN_DATALOADER, PLUGIN_NAME, NULL, "1.0.0",
#ifdef LPZ_MNIST_FASHION
                  "Fashion-MNIST 28x28 grey images (IDX files, plain or gzipped), scaled to [-1, 1]",
#else
                  "MNIST 28x28 grey handwritten digits (IDX files, plain or gzipped), scaled to [-1, 1]",
#endif
                  mnist_options, &mnist_ops);
