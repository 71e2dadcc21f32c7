/* tests/data/fuzz_celeba_image.c - the celeba dataloader's image decoder
 * (decode_file: PNG or JPEG by signature, the size limits checked from
 * the header before libpng or libjpeg allocate, a warning taken as a
 * failure, then the centre crop area-averaged to S x S) on any bytes. The
 * plugin's source is included to reach its static decoder. Must never
 * crash, leak, read out of bounds or hang; a refusal says why. S is 8, 16
 * or 64 by the input's length (DCT scaling depends on it). The bytes go
 * through a temporary file: the decoder reads a path. */
#include "../../plugins/dataloaders/celeba/celeba.c"

static char tmp_path[256];

static void remove_tmp(void) { unlink(tmp_path); }

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!tmp_path[0]) {
        const char *tmp = getenv("TMPDIR");
        snprintf(tmp_path, sizeof tmp_path, "%s/lpz-fuzz-image-%ld", tmp && tmp[0] ? tmp : "/tmp", (long)getpid());
        atexit(remove_tmp);
    }
    FILE *f = fopen(tmp_path, "wb");
    if (!f)
        return 0;
    int ok = !size || fwrite(data, 1, size, f) == size;
    if (fclose(f) != 0 || !ok)
        return 0;
    static const int sizes[3] = {8, 16, 64};
    int s = sizes[size % 3];
    uint8_t *out = malloc((size_t)3 * s * s);
    decoder dc;
    memset(&dc, 0, sizeof dc);
    if (out && !decode_file(&dc, tmp_path, s, out) && !dc.msg[0])
        __builtin_trap();
    free(dc.file), free(dc.rgb), free(dc.tmp), free(out);
    return 0;
}
