/* tests/fuzz/driver.c - runs a libFuzzer-style target without libFuzzer.
 *
 * Linked with one file defining
 *     int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
 * it feeds the target every file of the seed corpora given on the command
 * line, then deterministic random mutations of those seeds (bit flips,
 * byte sets, interesting values, truncations, insertions, deletions,
 * duplications, splices) until an iteration or time bound is reached.
 * Built with the sanitizers (LPZ_SANITIZE=ON) this is a cheap fuzz pass
 * that runs in every `ctest`; the real coverage-guided libFuzzer binary is
 * built as well when the compiler is clang.
 *
 * Usage: <target> [options] PATH...      (PATH: a folder of seeds or a file)
 *   --seconds S      stop mutating after S seconds (default 5, env LPZ_FUZZ_SECONDS)
 *   --iterations N   at most N mutations (default 1000000, env LPZ_FUZZ_ITERATIONS)
 *   --seed N         random seed (default 1): the same seed, the same inputs
 *   --dump I FILE    write the input of mutation I to FILE and exit (to
 *                    reproduce a crash the driver reported)
 * Exit status 0 when every input returned; a crash or sanitizer report
 * ends the process (the driver first prints which input it was). */
#include <dirent.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Present when built with a sanitizer: called before the process dies. */
void __sanitizer_set_death_callback(void (*callback)(void)) __attribute__((weak));

#define FUZZ_MAX_INPUT (1u << 20) /* larger seeds are cut, mutants never grow beyond */

typedef struct seed {
    uint8_t *data;
    size_t size;
    char *name;
} seed;

static seed *seeds;
static size_t n_seeds;

/* What is running now, for the crash message (async-signal-safe reads). */
static const char *cur_name;
static long long cur_iter = -1;
static unsigned long long cur_seed;
static const char *prog;

static void put(const char *s)
{
    ssize_t r = write(2, s, strlen(s));
    (void)r;
}

static void put_num(long long v)
{
    char buf[32];
    int i = sizeof buf - 1;
    buf[i] = '\0';
    int neg = v < 0;
    unsigned long long u = neg ? 0ull - (unsigned long long)v : (unsigned long long)v;
    do {
        buf[--i] = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    if (neg)
        buf[--i] = '-';
    put(buf + i);
}

static void report_current(void)
{
    put("\nfuzz driver: the crash happened on ");
    if (cur_iter < 0) {
        put("seed file ");
        put(cur_name ? cur_name : "?");
        put("\n");
        return;
    }
    put("mutation ");
    put_num(cur_iter);
    put(" (random seed ");
    put_num((long long)cur_seed);
    put(")\nreproduce: ");
    put(prog);
    put(" --seed ");
    put_num((long long)cur_seed);
    put(" --dump ");
    put_num(cur_iter);
    put(" crash.bin <same corpus paths>; then ");
    put(prog);
    put(" crash.bin\n");
}

static void on_signal(int sig)
{
    report_current();
    signal(sig, SIG_DFL);
    raise(sig);
}

/* splitmix64: each mutation gets its own stream from (seed, iteration), so
 * --dump can rebuild any one of them without replaying the others. */
static uint64_t rng_next(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static size_t rng_below(uint64_t *s, size_t n)
{
    return n ? (size_t)(rng_next(s) % n) : 0;
}

static int cmp_seed(const void *a, const void *b)
{
    return strcmp(((const seed *)a)->name, ((const seed *)b)->name);
}

static int add_file(const char *path)
{
    FILE *fp = fopen(path, "rb");
    if (!fp) {
        fprintf(stderr, "%s: cannot open %s\n", prog, path);
        return -1;
    }
    uint8_t *buf = malloc(FUZZ_MAX_INPUT);
    size_t n = fread(buf, 1, FUZZ_MAX_INPUT, fp);
    fclose(fp);
    seeds = realloc(seeds, sizeof *seeds * (n_seeds + 1));
    seeds[n_seeds].data = realloc(buf, n ? n : 1);
    seeds[n_seeds].size = n;
    seeds[n_seeds].name = strdup(path);
    n_seeds++;
    return 0;
}

static int add_path(const char *path)
{
    struct stat st;
    if (stat(path, &st) != 0) {
        fprintf(stderr, "%s: no such file or folder: %s\n", prog, path);
        return -1;
    }
    if (!S_ISDIR(st.st_mode))
        return add_file(path);
    DIR *d = opendir(path);
    if (!d)
        return -1;
    struct dirent *e;
    size_t first = n_seeds;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        char p[4096];
        if ((size_t)snprintf(p, sizeof p, "%s/%s", path, e->d_name) >= sizeof p)
            continue;
        if (stat(p, &st) == 0 && S_ISREG(st.st_mode) && add_file(p) != 0) {
            closedir(d);
            return -1;
        }
    }
    closedir(d);
    /* readdir order differs between file systems: sort for determinism. */
    qsort(seeds + first, n_seeds - first, sizeof *seeds, cmp_seed);
    return 0;
}

static const uint8_t interesting8[] = {0, 1, 0x7f, 0x80, 0xff, '0', '9', '"', '\'', '{', '}', '[', ']',
                                       ',', ':', '(', ')', ' ', '\n', '\\', 'e', '-', '.', 0x93};
static const uint64_t interesting64[] = {0,          1,          0x7f,        0x80,          0xff,
                                         0x100,      0x7fff,     0xffff,      0x10000,       0x7fffffff,
                                         0x80000000, 0xffffffff, 100000001ull, 0x7fffffffffffffffull,
                                         0xffffffffffffffffull};

/* Builds mutation `iter` into out (capacity FUZZ_MAX_INPUT); returns its size. */
static size_t make_mutant(uint64_t seed_value, long long iter, uint8_t *out)
{
    uint64_t s = seed_value * 0x2545f4914f6cdd1dull ^ (uint64_t)iter * 0x9e3779b97f4a7c15ull;
    rng_next(&s);
    const seed *base = &seeds[rng_below(&s, n_seeds)];
    size_t n = base->size;
    memcpy(out, base->data, n);
    int rounds = 1 + (int)rng_below(&s, 4);
    for (int r = 0; r < rounds; r++) {
        switch (rng_below(&s, 10)) {
        case 0: /* flip a bit */
            if (n)
                out[rng_below(&s, n)] ^= (uint8_t)(1u << rng_below(&s, 8));
            break;
        case 1: /* random byte */
            if (n)
                out[rng_below(&s, n)] = (uint8_t)rng_next(&s);
            break;
        case 2: /* interesting byte */
            if (n)
                out[rng_below(&s, n)] = interesting8[rng_below(&s, sizeof interesting8)];
            break;
        case 3: { /* interesting little-endian integer of 1..8 bytes */
            size_t w = 1 + rng_below(&s, 8);
            if (n >= w) {
                uint64_t v = interesting64[rng_below(&s, sizeof interesting64 / sizeof *interesting64)];
                size_t at = rng_below(&s, n - w + 1);
                for (size_t k = 0; k < w; k++)
                    out[at + k] = (uint8_t)(v >> (8 * k));
            }
            break;
        }
        case 4: /* truncate */
            n = rng_below(&s, n + 1);
            break;
        case 5: { /* insert random or interesting bytes */
            size_t k = 1 + rng_below(&s, 16);
            if (n + k > FUZZ_MAX_INPUT)
                break;
            size_t at = rng_below(&s, n + 1);
            memmove(out + at + k, out + at, n - at);
            for (size_t i = 0; i < k; i++)
                out[at + i] = rng_below(&s, 2) ? (uint8_t)rng_next(&s)
                                                : interesting8[rng_below(&s, sizeof interesting8)];
            n += k;
            break;
        }
        case 6: { /* delete a range */
            if (!n)
                break;
            size_t at = rng_below(&s, n), k = 1 + rng_below(&s, n - at < 32 ? n - at : 32);
            memmove(out + at, out + at + k, n - at - k);
            n -= k;
            break;
        }
        case 7: { /* duplicate a range */
            if (!n)
                break;
            size_t at = rng_below(&s, n), k = 1 + rng_below(&s, n - at < 64 ? n - at : 64);
            if (n + k > FUZZ_MAX_INPUT)
                break;
            size_t to = rng_below(&s, n + 1);
            uint8_t tmp[64];
            memcpy(tmp, out + at, k);
            memmove(out + to + k, out + to, n - to);
            memcpy(out + to, tmp, k);
            n += k;
            break;
        }
        case 8: { /* splice: a piece of another seed over ours */
            const seed *o = &seeds[rng_below(&s, n_seeds)];
            if (!o->size || !n)
                break;
            size_t from = rng_below(&s, o->size), k = 1 + rng_below(&s, o->size - from);
            size_t at = rng_below(&s, n);
            if (at + k > FUZZ_MAX_INPUT)
                k = FUZZ_MAX_INPUT - at;
            memcpy(out + at, o->data + from, k);
            if (at + k > n)
                n = at + k;
            break;
        }
        default: /* change a decimal digit, where text formats keep numbers */
            for (size_t tries = 0; tries < 16 && n; tries++) {
                size_t at = rng_below(&s, n);
                if (out[at] >= '0' && out[at] <= '9') {
                    out[at] = (uint8_t)('0' + rng_below(&s, 10));
                    break;
                }
            }
            break;
        }
    }
    return n;
}

/* Runs one input from an exact-size heap copy, so reading one byte past
 * the end is an ASan error rather than silently reading the next seed. */
static void run_one(const uint8_t *data, size_t n)
{
    uint8_t *copy = malloc(n ? n : 1);
    if (n)
        memcpy(copy, data, n);
    LLVMFuzzerTestOneInput(n ? copy : NULL, n);
    free(copy);
}

static void free_all(uint8_t *buf)
{
    free(buf);
    for (size_t k = 0; k < n_seeds; k++) {
        free(seeds[k].data);
        free(seeds[k].name);
    }
    free(seeds);
}

static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

int main(int argc, char **argv)
{
    prog = argv[0];
    double seconds = 5;
    long long iterations = 1000000, dump_iter = -1;
    const char *dump_file = NULL;
    unsigned long long seed_value = 1;
    if (getenv("LPZ_FUZZ_SECONDS"))
        seconds = atof(getenv("LPZ_FUZZ_SECONDS"));
    if (getenv("LPZ_FUZZ_ITERATIONS"))
        iterations = atoll(getenv("LPZ_FUZZ_ITERATIONS"));
    int i = 1;
    for (; i < argc && argv[i][0] == '-' && argv[i][1] == '-'; i++) {
        if (!strcmp(argv[i], "--seconds") && i + 1 < argc)
            seconds = atof(argv[++i]);
        else if (!strcmp(argv[i], "--iterations") && i + 1 < argc)
            iterations = atoll(argv[++i]);
        else if (!strcmp(argv[i], "--seed") && i + 1 < argc)
            seed_value = strtoull(argv[++i], NULL, 10);
        else if (!strcmp(argv[i], "--dump") && i + 2 < argc) {
            dump_iter = atoll(argv[++i]);
            dump_file = argv[++i];
        } else {
            fprintf(stderr, "%s: unknown option %s (see tests/fuzz/README.md)\n", prog, argv[i]);
            return 2;
        }
    }
    for (; i < argc; i++)
        if (add_path(argv[i]) != 0)
            return 2;
    if (n_seeds == 0) {
        fprintf(stderr, "%s: no seed inputs given\n", prog);
        return 2;
    }
    uint8_t *buf = malloc(FUZZ_MAX_INPUT);
    if (dump_file) {
        size_t n = make_mutant(seed_value, dump_iter, buf);
        FILE *fp = fopen(dump_file, "wb");
        int ok = fp && fwrite(buf, 1, n, fp) == n;
        if (fp && fclose(fp) != 0)
            ok = 0;
        if (!ok)
            fprintf(stderr, "%s: cannot write %s\n", prog, dump_file);
        free_all(buf);
        return ok ? 0 : 2;
    }
    signal(SIGSEGV, on_signal);
    signal(SIGBUS, on_signal);
    signal(SIGFPE, on_signal);
    signal(SIGILL, on_signal);
    signal(SIGABRT, on_signal);
    if (__sanitizer_set_death_callback)
        __sanitizer_set_death_callback(report_current);

    for (size_t k = 0; k < n_seeds; k++) {
        cur_name = seeds[k].name;
        run_one(seeds[k].data, seeds[k].size);
    }
    cur_seed = seed_value;
    double t0 = now_seconds();
    long long done = 0;
    for (; done < iterations; done++) {
        /* Checking the clock every 64 inputs keeps its cost negligible. */
        if ((done & 63) == 0 && now_seconds() - t0 >= seconds)
            break;
        cur_iter = done;
        size_t n = make_mutant(seed_value, done, buf);
        run_one(buf, n);
    }
    printf("%s: %zu seed inputs, %lld mutations (seed %llu) in %.1f s: no crash\n", prog, n_seeds, done, seed_value,
           now_seconds() - t0);
    free_all(buf);
    return 0;
}
