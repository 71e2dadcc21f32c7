/* core/cli/cli.c - argument parsing, help and dispatch. See cli.h. */
#include "cli/cli.h"
#include "cli/commands.h"
#include "config/scalar.h"
#include "io/fsutil.h"
#include "nn/precision.h"

#include <lpz/embed.h>
#include <lpz/log.h>

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/stat.h>
#include <unistd.h>

/* Commands, each a bit in an option's `commands` mask. */
enum {
    C_TRAIN = 1 << 0,
    C_GENERATE = 1 << 1,
    C_SCORE = 1 << 2,
    C_PLUGINS = 1 << 3,
    C_CONFIG = 1 << 4,
    C_CLASSIFIER = 1 << 5,
    C_REPORT = 1 << 6,
    C_ALL = 0xffff
};

typedef struct command_def {
    const char *name;
    int bit;
    const char *usage;
    const char *summary;
    int (*run)(const lpz_cli_args *args);
} command_def;

static const command_def commands[] = {
    {"train", C_TRAIN, "lpz train -f CONFIG [options]",
     "train a grid of GANs (local by default; --distributed --master/--client across machines)", lpz_cmd_train},
    {"generate", C_GENERATE, "lpz generate --mixture-source DIR -o OUT [--sample-size N] [-f CONFIG] [options]",
     "write samples of a trained mixture of generators", lpz_cmd_generate},
    {"score", C_SCORE, "lpz score (--mixture-source DIR | --generator FILE | --samples FILE.npy) [-f CONFIG] [options]",
     "compute FID (and for labelled data inception score and TVD)", lpz_cmd_score},
    {"plugins", C_PLUGINS, "lpz plugins [--plugin-dir DIR]... [-v]",
     "list the dataloader and network plugins found, and files that are not valid plugins", lpz_cmd_plugins},
    {"config", C_CONFIG, "lpz config -f CONFIG [--set KEY=VALUE]... [--plugin-dir DIR]...",
     "check a run file (plugin options too) and print the fully resolved configuration as YAML", lpz_cmd_config},
    {"classifier", C_CLASSIFIER, "lpz classifier -f CONFIG [-o FILE]",
     "train the small classifier whose features give FID, IS and TVD on MNIST-format data", lpz_cmd_classifier},
    {"report", C_REPORT, "lpz report RUN_DIR", "(re)write RUN_DIR/report.html from its metrics and samples",
     lpz_cmd_report},
};
#define N_COMMANDS (int)(sizeof commands / sizeof commands[0])

typedef enum { A_FLAG, A_VALUE, A_LIST } arg_kind;

typedef struct option_def {
    const char *lng;
    char shrt;
    arg_kind kind;
    int commands;
    const char *metavar;
    const char *help;
    size_t offset; /* into lpz_cli_args */
} option_def;

#define OFF(f) offsetof(lpz_cli_args, f)

static const option_def options[] = {
    {"configuration-file", 'f', A_VALUE, C_TRAIN | C_GENERATE | C_SCORE | C_CONFIG | C_CLASSIFIER, "CONFIG",
     "the YAML run file", OFF(config_file)},
    {"plugin-dir", 0, A_LIST, C_ALL, "DIR", "also search DIR for plugins (repeatable; searched first)",
     OFF(plugin_dirs)},
    {"set", 0, A_LIST, C_TRAIN | C_GENERATE | C_SCORE | C_CONFIG | C_CLASSIFIER, "KEY=VALUE",
     "override a configuration key, e.g. --set trainer.n_iterations=5 (repeatable)", OFF(sets)},
    {"quiet", 'q', A_FLAG, C_ALL, NULL, "only errors and the final result", OFF(quiet)},
    {"verbose", 'v', A_FLAG, C_ALL, NULL, "more detail (debug log lines; plugin options in 'plugins')",
     OFF(verbose)},
    {"distributed", 0, A_FLAG, C_TRAIN, NULL, "distributed mode: with --master or --client", OFF(distributed)},
    {"master", 0, A_FLAG, C_TRAIN, NULL, "run the master of a distributed experiment", OFF(master)},
    {"client", 0, A_FLAG, C_TRAIN, NULL, "run a long-lived client that waits for a master", OFF(client)},
    {"port", 0, A_VALUE, C_TRAIN, "PORT", "client port (default 5000, or the next free one)", OFF(port)},
    {"bind", 0, A_VALUE, C_TRAIN, "ADDR", "client listen address", OFF(bind)},
    {"grid", 0, A_VALUE, C_TRAIN, "K", "train a KxK grid (overrides general.grid_size)", OFF(grid)},
    {"deterministic", 0, A_FLAG, C_TRAIN, NULL,
     "synchronise cells once per iteration so equal seeds give equal results", OFF(deterministic)},
    {"resume", 0, A_VALUE, C_TRAIN, "RUN_DIR", "continue a stopped run from its checkpoints", OFF(resume)},
    {"mixture-source", 0, A_VALUE, C_GENERATE | C_SCORE, "DIR", "folder with mixture.yml and generators",
     OFF(mixture_source)},
    {"output", 'o', A_VALUE, C_GENERATE | C_CLASSIFIER, "OUT",
     "output folder (generate) or model file (classifier)", OFF(output)},
    {"sample-size", 0, A_VALUE, C_GENERATE | C_SCORE, "N",
     "samples to write (generate: default 100) or to score (score: at least 2, default score_sample_size; "
     "with --samples at most the file's rows, default all)", OFF(sample_size)},
    {"latent", 0, A_VALUE, C_GENERATE, "FILE.npy", "use these latent vectors, one row each, in order",
     OFF(latent)},
    {"seed", 0, A_VALUE, C_GENERATE | C_SCORE, "SEED",
     "random seed for latents and mixture sampling, 0 to 2^53 - 1 (default general.seed)", OFF(seed)},
    {"format", 0, A_VALUE, C_GENERATE, "png|npy|both", "what to write (default both)", OFF(format)},
    {"generator", 0, A_VALUE, C_SCORE, "FILE", "score a single generator file", OFF(generator)},
    {"samples", 0, A_VALUE, C_SCORE, "FILE.npy", "score these samples", OFF(samples)},
    {"json", 0, A_FLAG, C_SCORE, NULL, "print the scores as JSON", OFF(json)},
    {"help", 'h', A_FLAG, C_ALL, NULL, "show this help", OFF(help)},
};
#define N_OPTIONS (int)(sizeof options / sizeof options[0])

/* Help of an option shared by commands, as one command's --help shows it. */
static const struct {
    int command;
    const char *lng, *help;
} help_for[] = {
    {C_GENERATE, "output", "output folder (created; refused if it holds an earlier generation)"},
    {C_CLASSIFIER, "output", "the model file to write"},
    {C_GENERATE, "sample-size", "samples to write (default 100)"},
    {C_SCORE, "sample-size",
     "samples to score (at least 2; default score_sample_size; with --samples at most the file's rows, default "
     "all)"},
    {C_GENERATE, "format",
     "what to write for image data (default both); sequences and vectors: the rendering and samples.npy, npy|both "
     "add samples-raw.npy"},
};

int lpz_cli_is_digits(const char *text)
{
    if (!*text)
        return 0;
    for (const char *c = text; *c; c++)
        if (*c < '0' || *c > '9')
            return 0;
    return 1;
}

int lpz_cli_parse_count(const char *text, const char *flag, int64_t *out)
{
    char *end;
    errno = 0;
    long long v = strtoll(text, &end, 10);
    if (!lpz_cli_is_digits(text) || *end || errno || v < 1 || v > 10000000) {
        fprintf(stderr, "lpz: error: %s %s: expected a whole number from 1 to 10000000\n", flag, text);
        return 2;
    }
    *out = v;
    return 0;
}

int lpz_cli_parse_seed(const char *text, uint64_t *out)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(text, &end, 10);
    /* the range of general.seed, whose default --seed replaces */
    unsigned long long max = (unsigned long long)lpz_config_find_key("general.seed")->max;
    if (!lpz_cli_is_digits(text) || *end || errno || v > max) {
        fprintf(stderr, "lpz: error: --seed %s: expected a whole number from 0 to %llu (as general.seed)\n", text,
                max);
        return 2;
    }
    *out = v;
    return 0;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

void lpz_cli_progress_start(lpz_cli_progress *p, const char *what, const char *unit, int64_t total, int on)
{
    memset(p, 0, sizeof *p);
    p->on = on;
    p->tty = isatty(2);
    p->total = total;
    p->what = what;
    p->unit = unit;
    p->start = p->last = now_s();
}

void lpz_cli_progress_update(lpz_cli_progress *p, int64_t done)
{
    if (!p->on || done >= p->total)
        return;
    double t = now_s(), el = t - p->start;
    if (el < 1.0 || t - p->last < (p->tty ? 0.25 : 10.0))
        return;
    p->last = t;
    double rate = (double)done / el, eta = rate > 0 ? (double)(p->total - done) / rate : 0;
    char left[48];
    if (eta >= 3600)
        snprintf(left, sizeof left, "%d h %02d min", (int)(eta / 3600), (int)(eta / 60) % 60);
    else if (eta >= 60)
        snprintf(left, sizeof left, "%d min %02d s", (int)(eta / 60), (int)eta % 60);
    else
        snprintf(left, sizeof left, "%.0f s", eta);
    char rt[32];
    snprintf(rt, sizeof rt, rate >= 10 ? "%.0f" : "%.2f", rate);
    if (p->tty) {
        fprintf(stderr, "\r%s: %lld of %lld %s, %s per second, about %s left   ", p->what, (long long)done,
                (long long)p->total, p->unit, rt, left);
        p->shown = 1;
    } else {
        lpz_log(LPZ_LOG_INFO, "%s: %lld of %lld %s, %s per second, about %s left", p->what, (long long)done,
                (long long)p->total, p->unit, rt, left);
    }
}

void lpz_cli_progress_end(lpz_cli_progress *p)
{
    if (p->shown)
        fprintf(stderr, "\r%*s\r", 79, "");
    p->shown = 0;
}

int lpz_cli_new_interrupt(void)
{
    static int64_t last_ns; /* 0: none yet */
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts); /* async-signal-safe (POSIX) */
    int64_t now = (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
    /* One compare-and-swap: two handlers running at once on two threads
     * (a process-directed signal) cannot both count as new. */
    int64_t prev = __atomic_load_n(&last_ns, __ATOMIC_SEQ_CST);
    if (prev && now - prev < 1000000000)
        return 0;
    return __atomic_compare_exchange_n(&last_ns, &prev, now, 0, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
}

int lpz_cli_resume_config(const lpz_cli_args *args, char *buf, size_t cap, const char **config_file)
{
    *config_file = args->config_file;
    if (!args->resume)
        return 0;
    /* A resumed run reads the configuration it saved (with any --set). */
    if (args->config_file) {
        fprintf(stderr, "lpz: error: --resume takes the run's own config.yml; drop -f (use --set to change keys)\n");
        return 2;
    }
    if ((size_t)snprintf(buf, cap, "%s/config.yml", args->resume) >= cap) {
        fprintf(stderr, "lpz: error: --resume %s: path too long\n", args->resume);
        return 2;
    }
    struct stat st;
    if (stat(args->resume, &st) != 0 && errno == ENOENT) {
        fprintf(stderr, "lpz: error: --resume %s: no such folder\n", args->resume);
        return 1;
    }
    if (!lpz_is_file(buf)) {
        fprintf(stderr, "lpz: error: --resume %s: not a run folder (it has no config.yml)\n", args->resume);
        return 1;
    }
    *config_file = buf;
    return 0;
}

int lpz_cli_is_run_folder(const char *dir)
{
    char path[PATH_MAX];
    if ((size_t)snprintf(path, sizeof path, "%s/config.yml", dir) >= sizeof path || !lpz_is_file(path))
        return 0;
    return (size_t)snprintf(path, sizeof path, "%s/metrics.csv", dir) < sizeof path && lpz_is_file(path);
}

int lpz_cli_mixture_run_config(const char *mixture_dir, char *path, size_t size)
{
    /* only a run folder's: DIR is RUN/master/<cell> and RUN has the run's metrics.csv (a config.yml two
     * folders above a mixture copied elsewhere is somebody else's) */
    char up[PATH_MAX + 16], real[PATH_MAX], parent[PATH_MAX + 8];
    snprintf(parent, sizeof parent, "%s/..", mixture_dir);
    const char *base = realpath(parent, real) ? strrchr(real, '/') : NULL;
    snprintf(up, sizeof up, "%s/../..", mixture_dir);
    if (!base || strcmp(base, "/master") || !lpz_cli_is_run_folder(up))
        return 0;
    snprintf(up, sizeof up, "%s/../../config.yml", mixture_dir);
    snprintf(path, size, "%s", realpath(up, real) ? real : up);
    return 1;
}

void lpz_cli_print_error(const lpz_error *err)
{
    char buf[2560];
    fprintf(stderr, "lpz: error: %s\n", lpz_error_format(err, buf, sizeof buf));
}

/* Points at the command's own help once the command is known. */
static void print_usage_error(const command_def *cmd, const char *fmt, const char *arg)
{
    fprintf(stderr, "lpz: error: ");
    fprintf(stderr, fmt, arg);
    if (cmd)
        fprintf(stderr, " (see 'lpz %s --help')\n", cmd->name);
    else
        fprintf(stderr, " (see 'lpz --help')\n");
}

static void print_main_help(FILE *out)
{
    fprintf(out, "lpz %s - train GANs with distributed coevolution (Lipizzaner) on CPUs\n\n", LPZ_VERSION);
    fprintf(out, "usage: lpz <command> [options]\n       lpz --version\n\ncommands:\n");
    for (int i = 0; i < N_COMMANDS; i++)
        fprintf(out, "  %-10s %s\n", commands[i].name, commands[i].summary);
    fprintf(out, "\noptions for every command:\n");
    for (int i = 0; i < N_OPTIONS; i++)
        if (options[i].commands == C_ALL) {
            char left[64];
            snprintf(left, sizeof left, "%s%c%s--%s%s%s", options[i].shrt ? "-" : "",
                     options[i].shrt ? options[i].shrt : ' ', options[i].shrt ? ", " : "  ", options[i].lng,
                     options[i].metavar ? " " : "", options[i].metavar ? options[i].metavar : "");
            fprintf(out, "  %-28s %s\n", left + (options[i].shrt ? 0 : 1), options[i].help);
        }
    fprintf(out, "\n'lpz <command> --help' shows a command's options. Exit status: 0 success, 1 failure, "
                 "2 usage error, 130 interrupted (Ctrl-C).\n");
}

static void print_command_help(const command_def *c, FILE *out)
{
    fprintf(out, "usage: %s\n\n%s\n\noptions:\n", c->usage, c->summary);
    for (int i = 0; i < N_OPTIONS; i++) {
        if (!(options[i].commands & c->bit))
            continue;
        char left[64];
        if (options[i].shrt)
            snprintf(left, sizeof left, "-%c, --%s%s%s", options[i].shrt, options[i].lng,
                     options[i].metavar ? " " : "", options[i].metavar ? options[i].metavar : "");
        else
            snprintf(left, sizeof left, "    --%s%s%s", options[i].lng, options[i].metavar ? " " : "",
                     options[i].metavar ? options[i].metavar : "");
        const char *help = options[i].help;
        for (size_t h = 0; h < sizeof help_for / sizeof help_for[0]; h++)
            if (help_for[h].command == c->bit && !strcmp(help_for[h].lng, options[i].lng))
                help = help_for[h].help;
        fprintf(out, "  %-32s %s\n", left, help);
    }
}

/* " (did you mean '--grid'?)" for a misspelt long option or command, else "". */
static void suggest(const char *typed, int options_not_commands, char *out, size_t size)
{
    const char *names[N_OPTIONS > N_COMMANDS ? N_OPTIONS : N_COMMANDS];
    size_t n = options_not_commands ? N_OPTIONS : N_COMMANDS;
    for (size_t i = 0; i < n; i++)
        names[i] = options_not_commands ? options[i].lng : commands[i].name;
    char word[128];
    snprintf(word, sizeof word, "%s", typed);
    word[strcspn(word, "=")] = '\0';
    int k = lpz_closest(word, names, n);
    out[0] = '\0';
    if (k >= 0)
        snprintf(out, size, " (did you mean '%s%s'?)", options_not_commands ? "--" : "", names[k]);
}

static const option_def *find_long(const char *name, size_t len)
{
    for (int i = 0; i < N_OPTIONS; i++)
        if (strlen(options[i].lng) == len && strncmp(options[i].lng, name, len) == 0)
            return &options[i];
    return NULL;
}

static const option_def *find_short(char c)
{
    for (int i = 0; i < N_OPTIONS; i++)
        if (options[i].shrt == c)
            return &options[i];
    return NULL;
}

/* Stores one option's value; returns 0 or a usage error (2). */
static int store(lpz_cli_args *a, const command_def *cmd, const option_def *o, const char *value,
                 const char *spelled)
{
    char *base = (char *)a + o->offset;
    if (o->offset == OFF(resume) && value) {
        /* "RUN_DIR/" of a shell's completion: the run folder's name in
         * messages and files without "//" (value points into argv) */
        char *v = (char *)value;
        for (size_t n = strlen(v); n > 1 && v[n - 1] == '/'; n--)
            v[n - 1] = '\0';
    }
    switch (o->kind) {
    case A_FLAG: *(int *)base = 1; return 0;
    case A_VALUE: *(const char **)base = value; return 0;
    case A_LIST: {
        int *count = o->offset == OFF(plugin_dirs) ? &a->n_plugin_dirs : &a->n_sets;
        if (*count >= LPZ_CLI_MAX_LIST) {
            print_usage_error(cmd, "too many %s options", spelled);
            return 2;
        }
        ((const char **)base)[(*count)++] = value;
        return 0;
    }
    }
    return 0;
}

static int parse_args(int argc, char **argv, lpz_cli_args *a, const command_def **cmd)
{
    memset(a, 0, sizeof *a);
    *cmd = NULL;
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        const option_def *o = NULL;
        const char *value = NULL;
        if (strncmp(arg, "--", 2) == 0 && arg[2]) {
            const char *eq = strchr(arg + 2, '=');
            size_t len = eq ? (size_t)(eq - arg - 2) : strlen(arg + 2);
            o = find_long(arg + 2, len);
            if (!o) {
                char hint[160], msg[256];
                suggest(arg + 2, 1, hint, sizeof hint);
                snprintf(msg, sizeof msg, "unknown option '%%s'%s", hint);
                print_usage_error(*cmd, msg, arg);
                return 2;
            }
            if (eq) {
                if (o->kind == A_FLAG) {
                    print_usage_error(*cmd, "option '--%s' takes no value", o->lng);
                    return 2;
                }
                value = eq + 1;
            }
        } else if (arg[0] == '-' && arg[1] && !arg[2]) {
            o = find_short(arg[1]);
            if (!o) {
                print_usage_error(*cmd, "unknown option '%s'", arg);
                return 2;
            }
        } else if (!*cmd && !a->command) {
            for (int c = 0; c < N_COMMANDS; c++)
                if (strcmp(arg, commands[c].name) == 0)
                    *cmd = &commands[c];
            if (!*cmd) {
                char hint[160], msg[256];
                suggest(arg, 0, hint, sizeof hint);
                snprintf(msg, sizeof msg, "unknown command '%%s'%s", hint);
                print_usage_error(NULL, msg, arg);
                return 2;
            }
            a->command = arg;
            continue;
        } else {
            if (a->n_positional >= (int)(sizeof a->positional / sizeof a->positional[0])) {
                print_usage_error(*cmd, "too many arguments ('%s')", arg);
                return 2;
            }
            a->positional[a->n_positional++] = arg;
            continue;
        }
        if (o->kind != A_FLAG && !value) {
            if (i + 1 >= argc) {
                print_usage_error(*cmd, "option '%s' needs a value", arg);
                return 2;
            }
            value = argv[++i];
        }
        if (*cmd && !(o->commands & (*cmd)->bit)) {
            fprintf(stderr, "lpz: error: option '--%s' does not apply to 'lpz %s' (see 'lpz %s --help')\n",
                    o->lng, (*cmd)->name, (*cmd)->name);
            return 2;
        }
        if (o->kind != A_FLAG && !*value) { /* -o '' said "empty folder name", naming nothing */
            char opt[64];
            if (arg[1] == '-')
                snprintf(opt, sizeof opt, "--%s", o->lng);
            else
                snprintf(opt, sizeof opt, "-%c", o->shrt);
            print_usage_error(*cmd, "option '%s' has an empty value", opt);
            return 2;
        }
        if (o->offset == OFF(sets) && !strchr(value, '=')) {
            print_usage_error(*cmd, "--set '%s' is not key=value (e.g. --set trainer.n_iterations=5)", value);
            return 2;
        }
        int rc = store(a, *cmd, o, value, arg);
        if (rc)
            return rc;
    }
    return 0;
}

/* general.name of the run file read (lpz_cli_read_config), "" before. */
static char run_name[LPZ_CONFIG_NAME_MAX];

static void cli_log_sink(void *user, lpz_log_level level, const char *line)
{
    (void)user;
    static const char *names[] = {"error", "warning", "info", "debug"};
    if (run_name[0])
        fprintf(stderr, "lpz[%s]: %s: %s\n", run_name, names[level], line);
    else
        fprintf(stderr, "lpz: %s: %s\n", names[level], line);
}

int lpz_cli_read_config(const lpz_cli_args *args, const char *path, lpz_config *cfg, lpz_error *err)
{
    int rc = lpz_config_read(path, args->sets, args->n_sets, cfg, err);
    if (rc)
        return rc;
    if (!args->quiet && !args->verbose) {
        static const lpz_log_level from_cfg[] = {
            [LPZ_CFG_LOG_DEBUG] = LPZ_LOG_DEBUG, [LPZ_CFG_LOG_INFO] = LPZ_LOG_INFO,
            [LPZ_CFG_LOG_WARNING] = LPZ_LOG_WARN, [LPZ_CFG_LOG_ERROR] = LPZ_LOG_ERROR,
            [LPZ_CFG_LOG_CRITICAL] = LPZ_LOG_ERROR};
        int l = cfg->general.logging.log_level;
        if (l >= 0 && l < (int)(sizeof from_cfg / sizeof from_cfg[0]))
            lpz_log_set_level(from_cfg[l]);
    }
    /* a name is shown as it is, but not with control characters or brackets that would garble the line */
    size_t n = 0;
    for (const unsigned char *c = (const unsigned char *)cfg->general.name; *c && n + 1 < sizeof run_name; c++) {
        if (c[0] == 0xc2 && c[1] >= 0x80 && c[1] <= 0x9f) { /* a C1 control (CSI...) in UTF-8 */
            run_name[n++] = '?';
            c++;
            continue;
        }
        run_name[n++] = *c < 32 || *c == 127 || *c == ']' || *c == '[' ? '?' : (char)*c;
    }
    run_name[n] = '\0';
    return LPZ_OK;
}

int lpz_main(int argc, char **argv)
{
    if (argc >= 2 && strcmp(argv[1], "--version") == 0) {
        if (argc > 2) {
            fprintf(stderr, "lpz: error: --version takes nothing after it, got '%s' (see 'lpz --help')\n", argv[2]);
            return 2;
        }
        printf("lpz %s (plugin ABI %d.%d)\n", LPZ_VERSION, LPZ_ABI_MAJOR, LPZ_ABI_MINOR);
        char why[256];
        if (lpz_nn_matmul_unit(LPZ_MATMUL_HIGH) == LPZ_MATMUL_UNIT_AMX)
            printf("matmul precisions: highest (fp32), high and medium (AMX-BF16 on this CPU)\n");
        else if (lpz_nn_matmul_unit(LPZ_MATMUL_MEDIUM) == LPZ_MATMUL_UNIT_AVX512BF16)
            printf("matmul precisions: highest (fp32), medium (AVX512-BF16 on this CPU); high runs as highest: %s\n",
                   lpz_nn_matmul_fallback_reason(LPZ_MATMUL_HIGH, why, sizeof why));
        else
            printf("matmul precisions: highest (fp32); high and medium run as highest: %s\n",
                   lpz_nn_matmul_fallback_reason(LPZ_MATMUL_MEDIUM, why, sizeof why));
        return 0;
    }
    lpz_cli_args args;
    const command_def *cmd;
    int rc = parse_args(argc, argv, &args, &cmd);
    if (rc)
        return rc;
    if (!cmd) {
        if (args.help) {
            print_main_help(stdout);
            return 0;
        }
        print_main_help(stderr);
        return 2;
    }
    if (args.help) {
        print_command_help(cmd, stdout);
        return 0;
    }
    int max_positional = cmd->bit == C_REPORT ? 1 : 0;
    if (args.n_positional > max_positional) {
        fprintf(stderr, "lpz: error: unexpected argument '%s' for 'lpz %s' (see 'lpz %s --help')\n",
                args.positional[max_positional], cmd->name, cmd->name);
        return 2;
    }
    lpz_log_set_sink(cli_log_sink, NULL);
    lpz_log_set_level(args.quiet ? LPZ_LOG_WARN : args.verbose ? LPZ_LOG_DEBUG : LPZ_LOG_INFO);
    return cmd->run(&args);
}
