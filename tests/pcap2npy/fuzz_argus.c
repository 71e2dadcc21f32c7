/* tests/pcap2npy/fuzz_argus.c - the argus `ra -c ,` CSV reader on any
 * bytes: never crashes; what it accepts has last >= start. */
#include "p2n.h"

#include <stdio.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    FILE *fp = fmemopen((void *)data, size, "r");
    if (!fp)
        return 0;
    p2n_records recs = {0};
    p2n_argus_stats st;
    lpz_error err;
    if (p2n_read_argus_stream(fp, "fuzz", &recs, &st, &err) == LPZ_OK) {
        for (size_t i = 0; i < recs.n; i++)
            if (recs.v[i].last_ns < recs.v[i].start_ns)
                __builtin_trap();
    }
    fclose(fp);
    p2n_records_free(&recs);
    return 0;
}
