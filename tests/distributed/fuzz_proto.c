/* tests/distributed/fuzz_proto.c - every control payload decoder on
 * arbitrary bytes. The first byte picks the decoder, the rest is the
 * payload; a frame check with a control context runs on the whole input.
 * Properties: no crash, no leak, and a decoded value is within its limits. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "distributed/proto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    const uint8_t *p = data + 1;
    size_t n = size - 1;
    lpz_error e;
    switch (data[0] % 7) {
    case 0: {
        lpz_dist_challenge c;
        if (!lpz_dist_challenge_decode(p, n, &c, &e) && (c.state > LPZ_DIST_FAILED || strlen(c.name) > LPZ_DIST_NAME_MAX))
            abort();
        break;
    }
    case 1: {
        lpz_dist_auth a;
        lpz_dist_auth_decode(p, n, &a, &e);
        break;
    }
    case 2: {
        lpz_dist_start s;
        if (!lpz_dist_start_decode(p, n, &s, &e)) {
            if (s.cell >= s.n_cells || s.n_cells != s.grid_k * s.grid_k || !s.config_len)
                abort();
            for (uint32_t i = 0; i < s.n_cells; i++)
                if (strlen(s.urls[i]) > LPZ_DIST_URL_MAX)
                    abort();
            lpz_dist_start_free(&s);
        }
        break;
    }
    case 3: {
        static lpz_dist_move moves[LPZ_DIST_MAX_MOVES];
        size_t k;
        if (!lpz_dist_moves_decode(p, n, moves, LPZ_DIST_MAX_MOVES, &k, &e) && k > LPZ_DIST_MAX_MOVES)
            abort();
        break;
    }
    case 4: {
        lpz_dist_status s;
        lpz_dist_status_decode(p, n, &s, &e);
        break;
    }
    case 5: {
        lpz_dist_files f;
        if (!lpz_dist_files_decode(p, n, &f, &e)) {
            for (uint32_t i = 0; i < f.n_files; i++)
                if (!lpz_dist_path_ok(f.files[i].name) || f.files[i].data + f.files[i].size > p + n)
                    abort();
            lpz_dist_files_free(&f);
        }
        break;
    }
    default: {
        lpz_wire_ctx c;
        lpz_wire_ctx_init_control(&c, 0, (data[0] & 0x80) ? "fuzz" : NULL);
        lpz_wire_header h;
        const uint8_t *body;
        lpz_wire_open(&c, p, n, &h, &body, &e);
        break;
    }
    }
    return 0;
}
