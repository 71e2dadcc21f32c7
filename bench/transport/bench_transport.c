/* bench/transport/bench_transport.c - how long one neighbour exchange
 * takes: a cell's server publishes its population, a neighbour's client
 * fetches it, validates it and copies every individual out into float
 * arrays (what the trainer's fetch_neighbours does per neighbour and
 * iteration). Over inproc:// (cells in one process: the local default) and
 * loopback tcp:// (the distributed path, one host), with CRC-checked frames
 * and with HMAC-SHA256 (general.secret set).
 *
 * Individuals are the quick start's MLP GAN (latent 64, hidden 256,
 * 28x28 images): G 283,920 and D 267,009 parameters, each travelling with
 * its Adam m and v, so one individual is about 3.3 MB on the wire.
 *
 * usage: bench_transport [--reps N]   (default 21 fetches per figure)
 * Prints result rows "| figure | median | unit | runs | note |" (the
 * format bench/run.sh collects) and exits 0 unless the transport fails.
 */
#include "transport/individual.h"
#include "transport/peer.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define G_PARAMS (64 * 256 + 256 + 256 * 256 + 256 + 256 * 784 + 784) /* 283,920 */
#define D_PARAMS (784 * 256 + 256 + 256 * 256 + 256 + 256 + 1)         /* 267,009 */
#define MAX_POP 3

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof(double), cmp_double);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

static int fail(const char *what, const lpz_error *e)
{
    fprintf(stderr, "bench_transport: %s: %s\n", what, e->message);
    return 1;
}

/* Encodes pop generators + pop discriminators; *payload is malloc'd. */
static int make_population(int pop, uint8_t **payload, size_t *len, lpz_error *e)
{
    lpz_individual ind[2 * MAX_POP];
    size_t stride = 3 * (size_t)G_PARAMS; /* params, m, v of the larger kind */
    float *mem = malloc(sizeof(float) * stride * (size_t)(2 * pop));
    if (!mem)
        return lpz_error_set(e, LPZ_ENOMEM, "out of memory");
    for (size_t i = 0; i < stride * (size_t)(2 * pop); i++)
        mem[i] = (float)(i % 1000) * 1e-3f;
    for (int i = 0; i < 2 * pop; i++) {
        int gen = i < pop;
        size_t n = gen ? G_PARAMS : D_PARAMS;
        memset(&ind[i], 0, sizeof ind[i]);
        ind[i].role = gen ? LPZ_ROLE_GENERATOR : LPZ_ROLE_DISCRIMINATOR;
        ind[i].id = (uint64_t)i + 1;
        ind[i].learning_rate = 2e-4;
        ind[i].param_count = n;
        ind[i].params = mem + stride * (size_t)i;
        ind[i].adam_m = ind[i].params + n;
        ind[i].adam_v = ind[i].params + 2 * n;
    }
    size_t need;
    int rc = lpz_population_size(ind, (size_t)(2 * pop), &need, e);
    if (!rc && !(*payload = malloc(need)))
        rc = lpz_error_set(e, LPZ_ENOMEM, "out of memory");
    if (!rc)
        rc = lpz_population_encode(0, 1, ind, (size_t)(2 * pop), *payload, need, len, e);
    free(mem);
    return rc;
}

/* Median milliseconds of reps fetches (*fetch_ms) and of fetch + parse +
 * copy-out (*all_ms); *mb is the payload size in MB. */
static int measure(const char *url, const char *secret, int pop, int reps, double *fetch_ms, double *all_ms,
                   double *mb)
{
    lpz_error e;
    lpz_peer_server *s = NULL;
    lpz_peer_client *c = NULL;
    uint8_t *payload = NULL;
    size_t len = 0;
    float *p = malloc(sizeof(float) * G_PARAMS), *m = malloc(sizeof(float) * G_PARAMS),
          *v = malloc(sizeof(float) * G_PARAMS);
    double *tf = malloc(sizeof(double) * (size_t)reps), *ta = malloc(sizeof(double) * (size_t)reps);
    int rc = !p || !m || !v || !tf || !ta;
    if (rc)
        fprintf(stderr, "bench_transport: out of memory\n");
    if (!rc && (rc = lpz_peer_server_start(url, 7, secret, &s, &e)))
        fail("server start", &e);
    if (!rc && (rc = make_population(pop, &payload, &len, &e)))
        fail("encode", &e);
    if (!rc) {
        rc = lpz_peer_server_publish_take(s, payload, len, &e);
        payload = NULL;
        if (rc)
            fail("publish", &e);
    }
    if (!rc && (rc = lpz_peer_client_open(lpz_peer_server_url(s), 7, secret, 1, &c, &e)))
        fail("client open", &e);
    for (int r = -2; !rc && r < reps; r++) { /* two warm-up fetches (dialling, first touch) */
        const uint8_t *data;
        size_t dlen;
        lpz_population_view view;
        double t0 = now();
        if ((rc = lpz_peer_client_fetch(c, 30000, &data, &dlen, &e))) {
            fail("fetch", &e);
            break;
        }
        double t1 = now();
        if ((rc = lpz_population_parse(data, dlen, NULL, &view, &e))) {
            fail("parse", &e);
            break;
        }
        for (uint32_t i = 0; !rc && i < view.count; i++) {
            lpz_individual d = {.params = p, .adam_m = m, .adam_v = v};
            if ((rc = lpz_population_get(&view, i, &d, G_PARAMS, 0, &e)))
                fail("copy out", &e);
        }
        double t2 = now();
        if (r >= 0) {
            tf[r] = (t1 - t0) * 1e3;
            ta[r] = (t2 - t0) * 1e3;
        }
    }
    if (!rc) {
        *fetch_ms = median(tf, reps);
        *all_ms = median(ta, reps);
        *mb = (double)len / 1e6;
    }
    lpz_peer_client_close(c);
    lpz_peer_server_stop(s);
    free(payload);
    free(p);
    free(m);
    free(v);
    free(tf);
    free(ta);
    return rc;
}

int main(int argc, char **argv)
{
    int reps = 21;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--reps") == 0 && i + 1 < argc)
            reps = atoi(argv[++i]);
        else if (strcmp(argv[i], "--quick") == 0)
            reps = 5;
        else if (strcmp(argv[i], "--no-torch") != 0) { /* run.sh passes --no-torch to everyone */
            fprintf(stderr, "usage: bench_transport [--reps N] [--quick]\n");
            return 2;
        }
    }
    if (reps < 1)
        reps = 1;
    printf("one neighbour fetch: request, reply, validation, copy-out of every individual; MLP GAN G %d + D %d "
           "params, each with Adam m and v\n",
           G_PARAMS, D_PARAMS);
    static const struct {
        const char *name, *url;
    } transports[2] = {{"inproc", "inproc://lpz/bench-transport"}, {"tcp", "tcp://127.0.0.1:0"}};
    static const char *secrets[2] = {NULL, "bench secret"};
    static const int pops[2] = {1, 3};
    for (int t = 0; t < 2; t++)
        for (int k = 0; k < 2; k++)
            for (int q = 0; q < 2; q++) {
                double f, a, mb;
                if (measure(transports[t].url, secrets[k], pops[q], reps, &f, &a, &mb))
                    return 1;
                char fig[64], note[160];
                snprintf(fig, sizeof fig, "fetch %s %s %dG+%dD", transports[t].name, secrets[k] ? "hmac" : "crc",
                         pops[q], pops[q]);
                snprintf(note, sizeof note, "%.1f MB: %.0f MB/s; transfer alone %.2f ms", mb, mb / (a * 1e-3), f);
                printf("| %s | %.2f | ms | %d | %s |\n", fig, a, reps, note);
            }
    return 0;
}
