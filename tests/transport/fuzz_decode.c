/* tests/transport/fuzz_decode.c - fuzz body for every decoder of network
 * input: frames (with and without a secret and experiment id), POPULATION
 * payloads (parse, then read every individual into bounded arrays) and
 * ERROR payloads. The first input byte picks the decoder.
 *
 * LLVMFuzzerTestOneInput is the libFuzzer entry point. Built with
 * LPZ_FUZZ_STANDALONE it has its own main (a ctest): it runs the same body
 * over valid seed messages and a fixed number of seeded random mutations of
 * them, so the sanitizer build exercises it on every test run. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "transport/individual.h"
#include "transport/wire.h"

#define CAP 4096 /* floats per destination array */

static void read_population(const uint8_t *p, size_t n)
{
    static float params[CAP], m[CAP], v[CAP], buf[CAP];
    lpz_population_view view;
    lpz_error e;
    if (lpz_population_parse(p, n, NULL, &view, &e) != LPZ_OK)
        return;
    for (uint32_t i = 0; i < view.count; i++) {
        lpz_individual d = {.params = params, .adam_m = m, .adam_v = v, .buffers = buf};
        lpz_population_get(&view, i, &d, CAP, CAP, &e);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    static lpz_wire_ctx plain, keyed;
    static int ready;
    if (!ready) {
        lpz_wire_ctx_init(&plain, 0, NULL);
        lpz_wire_ctx_init(&keyed, 42, "fuzz");
        ready = 1;
    }
    const uint8_t *p = data + 1;
    size_t n = size - 1;
    lpz_error e;
    lpz_wire_header h;
    const uint8_t *payload;
    switch (data[0] % 4) {
    case 0:
    case 1:
        if (lpz_wire_open(data[0] % 4 ? &keyed : &plain, p, n, &h, &payload, &e) == LPZ_OK) {
            if (h.type == LPZ_MSG_POPULATION)
                read_population(payload, (size_t)h.payload_len);
            else if (h.type == LPZ_MSG_ERROR) {
                int code;
                char text[64];
                lpz_wire_error_decode(payload, (size_t)h.payload_len, &code, text, sizeof text, &e);
            }
        }
        break;
    case 2:
        read_population(p, n);
        break;
    default: {
        int code;
        char text[64];
        lpz_wire_error_decode(p, n, &code, text, sizeof text, &e);
    }
    }
    return 0;
}

#ifdef LPZ_FUZZ_STANDALONE
/* Seeds: mode byte + a valid message of each kind. */
static size_t seed(int which, uint8_t *out, size_t cap)
{
    float f[3 * 8 + 2];
    for (int i = 0; i < 26; i++)
        f[i] = (float)i;
    lpz_individual d = {.role = LPZ_ROLE_DISCRIMINATOR, .learning_rate = 1e-3, .param_count = 8,
                        .buffer_count = 2, .params = f, .adam_m = f + 8, .adam_v = f + 16, .buffers = f + 24};
    uint8_t pop[512];
    size_t plen = 0;
    lpz_population_encode(3, 7, &d, 1, pop, sizeof pop, &plen, NULL);
    lpz_wire_ctx plain, keyed;
    lpz_wire_ctx_init(&plain, 0, NULL);
    lpz_wire_ctx_init(&keyed, 42, "fuzz");
    uint8_t *frame = out + 1;
    switch (which) {
    case 0: /* POPULATION frame, no key */
        out[0] = 0;
        memcpy(frame + LPZ_WIRE_HEADER_SIZE, pop, plen);
        lpz_wire_seal(&plain, LPZ_MSG_POPULATION, 1, frame, plen, NULL);
        return 1 + lpz_wire_frame_size(&plain, plen);
    case 1: /* POPULATION frame, keyed */
        out[0] = 1;
        memcpy(frame + LPZ_WIRE_HEADER_SIZE, pop, plen);
        lpz_wire_seal(&keyed, LPZ_MSG_POPULATION, 1, frame, plen, NULL);
        return 1 + lpz_wire_frame_size(&keyed, plen);
    case 2: /* bare POPULATION payload */
        out[0] = 2;
        memcpy(out + 1, pop, plen);
        return 1 + plen;
    default: { /* ERROR frame */
        out[0] = 0;
        size_t el = lpz_wire_error_encode(frame + LPZ_WIRE_HEADER_SIZE, 7, "not yet");
        lpz_wire_seal(&plain, LPZ_MSG_ERROR, 2, frame, el, NULL);
        (void)cap;
        return 1 + lpz_wire_frame_size(&plain, el);
    }
    }
}

static uint32_t rnd_state = 2463534242u;
static uint32_t rnd(void) /* xorshift32: reproducible */
{
    uint32_t x = rnd_state;
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    return rnd_state = x;
}

/* Writes the seeds as files DIR/seed-<k>.bin (the corpus of the harness
 * target lives in tests/transport/corpus, made with this). */
static int write_seeds(const char *dir)
{
    uint8_t b[1024];
    for (int k = 0; k < 4; k++) {
        char path[4096];
        snprintf(path, sizeof path, "%s/seed-%d.bin", dir, k);
        size_t n = seed(k, b, sizeof b);
        FILE *f = fopen(path, "wb");
        if (!f || fwrite(b, 1, n, f) != n || fclose(f) != 0) {
            fprintf(stderr, "cannot write %s\n", path);
            return 1;
        }
    }
    return 0;
}

/* Usage: test_transport_fuzz_replay [ROUNDS] | --write-seeds DIR */
int main(int argc, char **argv)
{
    if (argc > 2 && strcmp(argv[1], "--write-seeds") == 0)
        return write_seeds(argv[2]);
    long rounds = argc > 1 ? atol(argv[1]) : 50000;
    uint8_t base[1024], buf[1100];
    for (long r = 0; r < rounds; r++) {
        size_t n = seed((int)(r % 4), base, sizeof base);
        memcpy(buf, base, n);
        int edits = 1 + (int)(rnd() % 4);
        for (int k = 0; k < edits; k++) {
            switch (rnd() % 4) {
            case 0: /* flip a bit */
                buf[1 + rnd() % (n - 1)] ^= (uint8_t)(1u << (rnd() % 8));
                break;
            case 1: /* random byte */
                buf[1 + rnd() % (n - 1)] = (uint8_t)rnd();
                break;
            case 2: /* truncate */
                n = 1 + rnd() % n;
                break;
            default: /* append */
                if (n < sizeof buf)
                    buf[n++] = (uint8_t)rnd();
            }
            if (n < 2)
                break;
        }
        /* exact-size copy so ASan catches any read past the input */
        uint8_t *in = malloc(n);
        memcpy(in, buf, n);
        LLVMFuzzerTestOneInput(in, n);
        free(in);
    }
    printf("%ld inputs decoded without a fault\n", rounds);
    return 0;
}
#endif
