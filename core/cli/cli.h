/* core/cli/cli.h - the lpz command line.
 *
 * Owns: argument parsing, --help texts, printing errors and progress,
 * exit codes (0 success, 1 failure, 2 usage error, 130 interrupted). The
 * only part of the core that prints to the user. Calls: config, plugin,
 * runtime and the command implementations; nothing calls it but lpz_main.
 */
#ifndef LPZ_CLI_CLI_H
#define LPZ_CLI_CLI_H

#include <lpz/error.h>
#include "config/config.h"

#include <stdint.h>

#define LPZ_CLI_MAX_LIST 64

/* Everything the command line said, parsed. */
typedef struct lpz_cli_args {
    const char *command;
    const char *config_file;                 /* -f/--configuration-file */
    const char *plugin_dirs[LPZ_CLI_MAX_LIST]; /* --plugin-dir, repeatable */
    int n_plugin_dirs;
    const char *sets[LPZ_CLI_MAX_LIST];      /* --set key.path=value, repeatable */
    int n_sets;
    int quiet, verbose;
    int help;
    /* train */
    int distributed, master, client;
    const char *port, *bind, *grid, *resume;
    int deterministic;
    /* generate / score */
    const char *mixture_source, *output, *sample_size, *latent, *seed, *format;
    const char *generator, *samples;
    int json;
    /* report, positional arguments */
    const char *positional[8];
    int n_positional;
} lpz_cli_args;

/* Prints "lpz: error: <where>: <what> (<hint>)" to stderr. */
void lpz_cli_print_error(const lpz_error *err);

/* Command-line numbers: 0, or 2 (the usage-error exit status) after
 * printing "lpz: error: FLAG TEXT: expected ...". A count is 1..10^7, a
 * seed in general.seed's range (0..2^53 - 1). */
int lpz_cli_parse_count(const char *text, const char *flag, int64_t *out);
int lpz_cli_parse_seed(const char *text, uint64_t *out);

/* 1 when text is decimal digits and nothing else (strtol also takes
 * leading spaces and a sign: ' 2' and '+2' passed where '2 ' did not). */
int lpz_cli_is_digits(const char *text);

/* Progress of long work on stderr, "WHAT: DONE of TOTAL UNIT, R per
 * second, about S s left": a line rewritten in place on a terminal, a log
 * line every 10 s otherwise; nothing in the first second, when on is 0
 * (-q), or once done reaches total. end clears the terminal line. */
typedef struct lpz_cli_progress {
    int on, tty, shown;
    int64_t total;
    double start, last;
    const char *what, *unit;
} lpz_cli_progress;
void lpz_cli_progress_start(lpz_cli_progress *p, const char *what, const char *unit, int64_t total, int on);
void lpz_cli_progress_update(lpz_cli_progress *p, int64_t done);
void lpz_cli_progress_end(lpz_cli_progress *p);

/* For SIGINT/SIGTERM handlers (async-signal-safe): 1 when this signal
 * is a new request, 0 when it repeats one accepted less than a second
 * ago. One Ctrl-C can arrive two or three times: the terminal signals the
 * whole foreground group, and `timeout` passes a signal on to its child
 * and then to its process group again; a repeat must not turn "stop after
 * this batch" into "exit at once" (which loses the final checkpoint). */
int lpz_cli_new_interrupt(void);

/* `--resume RUN_DIR`: the run file becomes RUN_DIR/config.yml (written
 * into buf) and *config_file points at it; without --resume *config_file
 * is -f's. Returns 0, or the exit status after printing why (-f given
 * with --resume, not a run folder). */
int lpz_cli_resume_config(const lpz_cli_args *args, char *buf, size_t cap, const char **config_file);

/* lpz_config_read, then the run file's logging settings: the shown level
 * from general.logging.log_level unless -q or -v was given, and
 * general.name in every later log line ("lpz[NAME]: info: ..."). */
int lpz_cli_read_config(const lpz_cli_args *args, const char *path, lpz_config *cfg, lpz_error *err);

/* A run folder: it holds the run's config.yml and metrics.csv (what
 * lpz train writes first). */
int lpz_cli_is_run_folder(const char *dir);

/* The configuration of the run a mixture folder belongs to, for lpz
 * generate and lpz score without -f: DIR/../../config.yml when DIR is a
 * run's master/<cell> (its parent is named master, and that config.yml is
 * a run folder's). 1 with the path (absolute) in path, else 0. */
int lpz_cli_mixture_run_config(const char *mixture_dir, char *path, size_t size);

#endif
