/* tests/data/fuzz_csv.c - the npy dataloader's CSV reader on any bytes,
 * with and without a label column. Must never crash, leak or read out of
 * bounds; a table it accepts must be consistent (every value finite and
 * float32, labels in range, names for every column when it has a header),
 * and a refusal must leave nothing allocated and say why. */
#include "../../plugins/dataloaders/npy/csv.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static void check(const uint8_t *data, size_t size, char delim, int header, const char *label)
{
    char *text = malloc(size + 1);
    if (!text)
        return;
    if (size)
        memcpy(text, data, size);
    text[size] = '\0';
    npy_csv c;
    lpz_error err;
    memset(&err, 0, sizeof err);
    int rc = npy_csv_parse(text, size, "fuzz.csv", delim, header, label, 16, &c, &err);
    free(text);
    if (rc != LPZ_OK) {
        if (c.data || c.names || c.labels || c.rows || !err.message[0])
            __builtin_trap();
        return;
    }
    if (c.rows < 1 || c.cols < 1 || !c.data || (label && (!c.labels || c.n_classes < 1 || c.n_classes > 16)) ||
        (!label && c.labels))
        __builtin_trap();
    for (int64_t i = 0; i < c.rows * c.cols; i++)
        if (!isfinite(c.data[i]))
            __builtin_trap();
    for (int64_t i = 0; label && i < c.rows; i++)
        if (c.labels[i] < 0 || c.labels[i] >= c.n_classes)
            __builtin_trap();
    for (int64_t j = 0; c.names && j < c.cols; j++)
        if (!c.names[j])
            __builtin_trap();
    npy_csv_free(&c);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    check(data, size, 0, -1, NULL);
    check(data, size, ';', 1, "2");
    check(data, size, ' ', 0, NULL);
    check(data, size, '\t', -1, "1");
    check(data, size, 0, -1, "class");
    return 0;
}
