/* tests/networks/fuzz_model_file.c - model files (what `lpz generate`,
 * `score` and the report open) on any bytes: lpz_model_file_info (the
 * safetensors container, then the metadata: role, critic flag, the shapes
 * and the network_options JSON object) and, for a file that names the MLP
 * compiled in here, lpz_model_open (options set on the plugin, network
 * configured and built, tensors loaded). Must never crash, leak or read out
 * of bounds; what is accepted must be self-consistent. The bytes go
 * through a temporary file: both readers take a path. */
#include "model/model.h"

#include <lpz/lpz.h>

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

extern const lpz_plugin lpz_plugin_descriptor;

static char path[256];

static void remove_path(void) { unlink(path); }

static int shape_ok(const lpz_shape *s)
{
    if (s->ndim < 1 || s->ndim > LPZ_MAX_DIMS)
        return 0;
    for (int i = 0; i < s->ndim; i++)
        if (s->dim[i] < 1)
            return 0;
    return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!path[0]) {
        const char *tmp = getenv("TMPDIR");
        snprintf(path, sizeof path, "%s/lpz-fuzz-model-%ld.safetensors", tmp && tmp[0] ? tmp : "/tmp",
                 (long)getpid());
        atexit(remove_path);
    }
    FILE *f = fopen(path, "wb");
    if (!f)
        return 0;
    int ok = !size || fwrite(data, 1, size, f) == size;
    if (fclose(f) != 0 || !ok)
        return 0;

    lpz_error err;
    lpz_model_info info;
    if (lpz_model_file_info(path, &info, &err) != LPZ_OK) {
        if (!err.message[0] || info.option_keys || info.extra_keys)
            __builtin_trap(); /* a refusal says why and keeps nothing */
    } else {
        if (info.has_network &&
            ((info.role != LPZ_ROLE_GENERATOR && info.role != LPZ_ROLE_DISCRIMINATOR) ||
             (info.critic != 0 && info.critic != 1) || !info.network[0] || !shape_ok(&info.sample_shape) ||
             !shape_ok(&info.latent_shape)))
            __builtin_trap();
        for (int i = 0; i < info.n_options; i++) {
            if (!info.option_keys[i][0])
                __builtin_trap();
            for (int j = 0; j < i; j++)
                if (strcmp(info.option_keys[i], info.option_keys[j]) == 0)
                    __builtin_trap();
        }
        for (int i = 0; i < info.n_extra; i++)
            if (lpz_model_info_extra(&info, info.extra_keys[i]) == NULL)
                __builtin_trap();
        lpz_model_info_free(&info);
    }

    lpz_loaded_model lm;
    if (lpz_model_open(path, &lpz_plugin_descriptor, &lm, &err) == LPZ_OK) {
        /* Every parameter was read from the file: present and finite or
         * not, but the model exists and runs in evaluation mode. */
        if (!lm.model || !lm.net || lpz_model_param_count(lm.model) < 1)
            __builtin_trap();
    } else if (!err.message[0]) {
        __builtin_trap();
    }
    lpz_loaded_model_close(&lm);
    return 0;
}
