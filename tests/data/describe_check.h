/* tests/data/describe_check.h - a dataloader's describe held to its open
 * (test_npy.c, test_network_traffic.c). Include after cmocka.h. */
#ifndef LPZ_TEST_DATA_DESCRIBE_CHECK_H
#define LPZ_TEST_DATA_DESCRIBE_CHECK_H

#include <lpz/lpz.h>

#include <string.h>

/* Runs describe and open on ctx and fails the test unless describe's
 * answer is `want`, formatted by told(): NULL, describe fails exactly as
 * open does (code, message, place and hint); "", describe tells nothing
 * and leaves the shape to open; else that shape, which open reports too
 * unless open_error is set. open_error: a part of open's error (a problem
 * past what describe reads). name labels the case in the failure. */
static inline void dt_describe_vs_open(const lpz_dataloader_ops *ops, const lpz_dataset_context *ctx,
                                       const char *name, const char *want, const char *open_error,
                                       void (*told)(const lpz_dataset_info *, char *, size_t))
{
    lpz_dataset_info d, op;
    memset(&d, 0, sizeof d);
    memset(&op, 0, sizeof op);
    lpz_error de, oe;
    memset(&de, 0, sizeof de);
    memset(&oe, 0, sizeof oe);
    int drc = ops->describe(ctx, &d, &de);
    void *s = NULL;
    int orc = ops->open(ctx, &s, &op, &oe);
    if (orc == LPZ_OK)
        ops->close(s);
    char dt[64], ot[64], dmsg[3072], omsg[3072];
    told(&d, dt, sizeof dt);
    told(&op, ot, sizeof ot);
    lpz_error_format(&de, dmsg, sizeof dmsg);
    lpz_error_format(&oe, omsg, sizeof omsg);
    if (!want) { /* refused by describe exactly as by open */
        if (drc == LPZ_OK)
            fail_msg("%s: describe told '%s'; open: %s", name, dt, omsg);
        if (drc != orc || strcmp(dmsg, omsg))
            fail_msg("%s: describe said (%d) %s\nopen said (%d) %s", name, drc, dmsg, orc, omsg);
    } else {
        if (drc != LPZ_OK)
            fail_msg("%s: describe failed: %s", name, dmsg);
        if (strcmp(dt, want))
            fail_msg("%s: describe told '%s', expected '%s'", name, dt, want);
        if (!open_error && orc != LPZ_OK)
            fail_msg("%s: open failed: %s", name, omsg);
        if (!open_error && want[0] && strcmp(ot, dt))
            fail_msg("%s: describe told '%s', open reports '%s'", name, dt, ot);
    }
    if (open_error && (orc == LPZ_OK || !strstr(omsg, open_error)))
        fail_msg("%s: open said '%s', expected '%s'", name, orc ? omsg : "OK", open_error);
}

#endif
