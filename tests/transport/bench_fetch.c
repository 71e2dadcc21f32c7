/* tests/transport/bench_fetch.c - how long a neighbour fetch takes for
 * MLP-sized individuals, over inproc:// and loopback tcp://, with and
 * without a shared secret. Not a test (built, never run by ctest):
 *     /tmp/build/tests/bench_transport_fetch [repeats]
 * Prints the median wall time of `repeats` (default 20) fetches, and of
 * fetch + parse + copy-out into float arrays (what the trainer does). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "transport/individual.h"
#include "transport/peer.h"

/* Fashion-MNIST MLP of the reference configuration (latent 64, hidden 256). */
#define G_PARAMS (64 * 256 + 256 + 256 * 256 + 256 + 256 * 784 + 784) /* 283,920 */
#define D_PARAMS (784 * 256 + 256 + 256 * 256 + 256 + 256 + 1)         /* 266,497 */

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static uint8_t *population(int n_gen, int n_disc, size_t *len)
{
    int n = n_gen + n_disc;
    lpz_individual ind[8];
    float *mem = malloc(sizeof(float) * 3 * (size_t)G_PARAMS * (size_t)n);
    for (size_t i = 0; i < 3 * (size_t)G_PARAMS * (size_t)n; i++)
        mem[i] = (float)(i % 1000) * 1e-3f;
    for (int i = 0; i < n; i++) {
        size_t p = i < n_gen ? G_PARAMS : D_PARAMS;
        memset(&ind[i], 0, sizeof ind[i]);
        ind[i].role = i < n_gen ? LPZ_ROLE_GENERATOR : LPZ_ROLE_DISCRIMINATOR;
        ind[i].learning_rate = 2e-4;
        ind[i].param_count = p;
        ind[i].params = mem + 3 * (size_t)G_PARAMS * (size_t)i;
        ind[i].adam_m = ind[i].params + p;
        ind[i].adam_v = ind[i].params + 2 * p;
    }
    size_t need;
    lpz_population_size(ind, (size_t)n, &need, NULL);
    uint8_t *buf = malloc(need);
    lpz_population_encode(0, 1, ind, (size_t)n, buf, need, len, NULL);
    free(mem);
    return buf;
}

static int run(const char *url_in, const char *secret, int n_gen, int n_disc, int repeats)
{
    lpz_error e;
    lpz_peer_server *s;
    if (lpz_peer_server_start(url_in, 1, secret, &s, &e)) {
        fprintf(stderr, "server: %s\n", e.message);
        return 1;
    }
    size_t len;
    uint8_t *pl = population(n_gen, n_disc, &len);
    lpz_peer_server_publish_take(s, pl, len, &e);
    lpz_peer_client *c;
    lpz_peer_client_open(lpz_peer_server_url(s), 1, secret, 0, &c, &e);
    float *p = malloc(sizeof(float) * G_PARAMS), *m = malloc(sizeof(float) * G_PARAMS),
          *v = malloc(sizeof(float) * G_PARAMS);
    double t_fetch[100], t_all[100];
    for (int r = -2; r < repeats; r++) { /* two warm-up fetches */
        const uint8_t *data;
        size_t dlen;
        double t0 = now();
        if (lpz_peer_client_fetch(c, 30000, &data, &dlen, &e)) {
            fprintf(stderr, "fetch: %s\n", e.message);
            return 1;
        }
        double t1 = now();
        lpz_population_view view;
        if (lpz_population_parse(data, dlen, NULL, &view, &e))
            return 1;
        for (uint32_t i = 0; i < view.count; i++) {
            lpz_individual d = {.params = p, .adam_m = m, .adam_v = v};
            lpz_population_get(&view, i, &d, G_PARAMS, 0, &e);
        }
        double t2 = now();
        if (r >= 0) {
            t_fetch[r] = t1 - t0;
            t_all[r] = t2 - t0;
        }
    }
    qsort(t_fetch, (size_t)repeats, sizeof(double), cmp);
    qsort(t_all, (size_t)repeats, sizeof(double), cmp);
    printf("%-7s %-6s %dG+%dD %6.1f MB  fetch %7.2f ms   fetch+decode %7.2f ms\n",
           strncmp(url_in, "tcp", 3) ? "inproc" : "tcp", secret ? "hmac" : "crc", n_gen, n_disc, len / 1e6,
           t_fetch[repeats / 2] * 1e3, t_all[repeats / 2] * 1e3);
    free(p);
    free(m);
    free(v);
    lpz_peer_client_close(c);
    lpz_peer_server_stop(s);
    return 0;
}

int main(int argc, char **argv)
{
    int repeats = argc > 1 ? atoi(argv[1]) : 20;
    if (repeats < 1 || repeats > 100)
        repeats = 20;
    printf("median of %d fetches; G = %d params, D = %d params, each with Adam m and v\n", repeats, G_PARAMS,
           D_PARAMS);
    const char *urls[2] = {"inproc://lpz/bench/0", "tcp://127.0.0.1:0"};
    const char *secrets[2] = {NULL, "bench secret"};
    int rc = 0;
    for (int u = 0; u < 2; u++)
        for (int k = 0; k < 2; k++) {
            rc |= run(urls[u], secrets[k], 3, 0, repeats);
            rc |= run(urls[u], secrets[k], 3, 3, repeats);
        }
    return rc;
}
