/* A dataloader whose read overflows its stack in any thread but the main
 * one (a runaway recursion, as a plugin's bug would), in a folder of its
 * own (plugin-fixtures-overflow): the crash report comes from the threads
 * liblpz starts too, on their alternate stacks (tests/cli/cli.sh). 100
 * samples of (2). */
#include <lpz/lpz.h>

#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

static int fx_open(const lpz_dataset_context *ctx, void **state, lpz_dataset_info *info, lpz_error *err)
{
    (void)ctx, (void)err;
    *state = NULL;
    info->sample_shape = lpz_shape_make(1, 2, 0, 0, 0);
    info->count = 100;
    info->n_classes = 0;
    info->kind = LPZ_SAMPLE_VECTOR;
    return LPZ_OK;
}

static void fx_close(void *state)
{
    (void)state;
}

/* 256 bytes a call: the thread's stack (8 MB) runs out long before the depth's end, a frame at a time, so the
 * fault comes with the stack pointer in the guard page (a larger frame jumps over it, and the handler then runs
 * in whatever lies beyond, alternate stack or not) */
static __attribute__((noinline)) float runaway(volatile float *up, int depth)
{
    volatile float frame[64];
    memset((void *)frame, 0, sizeof frame);
    frame[depth & 63] = up ? up[0] : 1.0f;
    return depth < (1 << 30) ? runaway(frame, depth + 1) + frame[0] : frame[0];
}

static int fx_read(void *state, int64_t index, float *out, lpz_error *err)
{
    (void)state, (void)err;
    out[0] = (float)index / 100.0f;
    out[1] = -out[0];
    if (syscall(SYS_gettid) != getpid())
        out[1] = runaway(NULL, 0);
    return LPZ_OK;
}

static const lpz_dataloader_ops ops = {.size = sizeof ops, .open = fx_open, .close = fx_close, .read = fx_read};
LPZ_PLUGIN_DEFINE(LPZ_PLUGIN_DATALOADER, "fixture_overflow", NULL, "0.1", "overflows its stack reading in a thread",
                  NULL, &ops);
