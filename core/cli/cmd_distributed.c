/* core/cli/cmd_distributed.c - `lpz train --distributed --client|--master`
 * (core/distributed does the work; this file parses, prints and handles
 * signals). */
#include "cli/commands.h"
#include "config/config.h"
#include "distributed/distributed.h"
#include "io/fsutil.h"
#include "plugin/registry.h"
#include "runtime/run.h"
#include "transport/tls.h"

#include <lpz/log.h>

#include <limits.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int lpz_cmd_train_distributed(const lpz_cli_args *args);

static volatile int dist_stop;
static volatile int final_scoring; /* the master's: 1 once its final scoring began, the clients released */

/* Async-signal-safe: atomics, write and _exit only. */
static void on_signal(int sig)
{
    (void)sig;
    if (!lpz_cli_new_interrupt())
        return; /* the same Ctrl-C delivered again */
    int was = __atomic_fetch_add(&dist_stop, 1, __ATOMIC_SEQ_CST);
    if (__atomic_load_n(&final_scoring, __ATOMIC_SEQ_CST)) { /* no client to stop or abort any more */
        static const char first_scoring[] = "\nlpz: stopping the final scoring; the training is complete (Ctrl-C "
                                            "again to exit at once)\n";
        static const char second_scoring[] = "\nlpz: interrupted twice: exiting now; the training is complete "
                                             "(final_scores.csv keeps the cells scored, --resume scores the rest)\n";
        ssize_t ignored = was ? write(2, second_scoring, sizeof second_scoring - 1)
                              : write(2, first_scoring, sizeof first_scoring - 1);
        (void)ignored;
        if (was)
            _exit(130);
        return;
    }
    static const char first[] = "\nlpz: stopping (Ctrl-C again to abort at once)\n";
    static const char second[] = "\nlpz: aborting\n";
    ssize_t ignored = write(2, was ? second : first, was ? sizeof second - 1 : sizeof first - 1);
    (void)ignored;
    if (was >= 2)
        _exit(130);
}

/* LPZ_SECRET wins over the file's general.secret (keeps it out of files). */
static const char *pick_secret(const lpz_config *cfg)
{
    const char *env = getenv("LPZ_SECRET");
    if (env && env[0])
        return env;
    return cfg && cfg->general.secret[0] ? cfg->general.secret : NULL;
}

/* TLS for every tcp:// socket of this process (transport/tls.h). The
 * environment (LPZ_TLS_CERT, LPZ_TLS_KEY, LPZ_TLS_CA: all three or none)
 * wins over general.distribution.tls of the run file. Returns 0, or 1
 * after printing the error. */
static int setup_tls(const lpz_config *cfg)
{
    const char *names[3] = {"LPZ_TLS_CERT", "LPZ_TLS_KEY", "LPZ_TLS_CA"};
    const char *env[3];
    int set = 0;
    for (int i = 0; i < 3; i++) {
        env[i] = getenv(names[i]);
        set += env[i] && env[i][0];
    }
    lpz_error err;
    lpz_error_clear(&err);
    int rc;
    if (set == 3) {
        rc = lpz_transport_tls_configure(env[0], env[1], env[2], &err);
    } else if (set) {
        fprintf(stderr, "lpz: error: TLS needs all of LPZ_TLS_CERT, LPZ_TLS_KEY and LPZ_TLS_CA (or none); %s is "
                        "not set\n", !(env[0] && env[0][0]) ? names[0] : !(env[1] && env[1][0]) ? names[1] : names[2]);
        return 1;
    } else if (cfg && cfg->general.distribution.tls.enabled) {
        const typeof(cfg->general.distribution.tls) *t = &cfg->general.distribution.tls;
        const char *missing = !t->cert[0] ? "cert" : !t->key[0] ? "key" : !t->ca[0] ? "ca" : NULL;
        if (missing) {
            fprintf(stderr, "lpz: error: general.distribution.tls.enabled is true but general.distribution.tls.%s "
                            "is empty (set cert, key and ca to PEM files, or disable tls)\n", missing);
            return 1;
        }
        rc = lpz_transport_tls_configure(t->cert, t->key, t->ca, &err);
        if (rc)
            lpz_error_context(&err, "general.distribution.tls");
    } else {
        return 0;
    }
    if (rc) {
        lpz_cli_print_error(&err);
        return 1;
    }
    lpz_log(LPZ_LOG_INFO, "TLS on: tcp:// traffic uses tls+tcp:// with mutual certificate authentication");
    return 0;
}

static int env_ms(const char *name, int fallback)
{
    const char *v = getenv(name);
    if (!v || !v[0])
        return fallback;
    char *end;
    long x = strtol(v, &end, 10);
    if (*end || x < 1 || x > 3600 * 1000) {
        lpz_log(LPZ_LOG_WARN, "%s=%s is not a number of milliseconds from 1 to 3600000; ignored", name, v);
        return fallback;
    }
    return (int)x;
}

static void with_signals(struct sigaction *old_int, struct sigaction *old_term)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, old_int);
    sigaction(SIGTERM, &sa, old_term);
}

static int run_client(const lpz_cli_args *args)
{
    /* a client trains what its master sends: these were taken silently */
    const char *opt = NULL, *instead = NULL;
    if (args->grid)
        opt = "--grid", instead = "give the master --set general.grid_size=K";
    else if (args->deterministic)
        opt = "--deterministic", instead = "only a local run moves its cells in step";
    else if (args->resume)
        opt = "--resume", instead = "give the master --resume RUN_DIR";
    if (opt) {
        fprintf(stderr, "lpz: error: %s is not available with --client (a client trains the cell and configuration "
                        "its master sends: %s)\n", opt, instead);
        return 2;
    }
    int port = 0;
    if (args->port) {
        char *end;
        long v = strtol(args->port, &end, 10);
        if (!lpz_cli_is_digits(args->port) || *end || v < 1 || v > 65535 - LPZ_DIST_CELL_PORT_OFFSET) {
            fprintf(stderr, "lpz: error: --port %s: expected a port from 1 to %d (the cell server uses port + %d)\n",
                    args->port, 65535 - LPZ_DIST_CELL_PORT_OFFSET, LPZ_DIST_CELL_PORT_OFFSET);
            return 2;
        }
        port = (int)v;
    }
    lpz_error err;
    lpz_error_clear(&err);
    lpz_config cfg;
    lpz_config_init_defaults(&cfg);
    if (args->config_file && lpz_cli_read_config(args, args->config_file, &cfg, &err)) {
        lpz_cli_print_error(&err);
        lpz_config_destroy(&cfg);
        return 1;
    }
    if (setup_tls(args->config_file ? &cfg : NULL)) {
        lpz_config_destroy(&cfg);
        return 1;
    }
    lpz_registry reg;
    if (lpz_registry_open(&reg, args->plugin_dirs, args->n_plugin_dirs, &err) != LPZ_OK) {
        lpz_cli_print_error(&err);
        lpz_config_destroy(&cfg);
        return 1;
    }
    struct sigaction old_int, old_term;
    with_signals(&old_int, &old_term);
    lpz_dist_client_options o = {.registry = &reg,
                                 .port = port,
                                 .bind = args->bind,
                                 .secret = pick_secret(&cfg),
                                 .progress = args->quiet ? 0 : 1,
                                 .stop = &dist_stop,
                                 .master_timeout_ms = env_ms("LPZ_DIST_MASTER_TIMEOUT_MS", 60000),
                                 .woken_timeout_ms = env_ms("LPZ_DIST_WOKEN_TIMEOUT_MS", 15000),
                                 .test_checkpoint_stall_ms = env_ms("LPZ_DIST_TEST_CHECKPOINT_STALL_MS", 0)};
    int rc = lpz_dist_client_run(&o, &err);
    lpz_transport_tls_clear();
    sigaction(SIGINT, &old_int, NULL);
    sigaction(SIGTERM, &old_term, NULL);
    if (rc)
        lpz_cli_print_error(&err);
    lpz_registry_close(&reg);
    lpz_config_destroy(&cfg);
    return rc ? 1 : 0;
}

static int run_master(const lpz_cli_args *args)
{
    char resume_cfg[PATH_MAX + 16];
    const char *config_file;
    int status = lpz_cli_resume_config(args, resume_cfg, sizeof resume_cfg, &config_file);
    if (status)
        return status;
    if (!config_file) {
        fprintf(stderr, "lpz: error: the master needs a run file: lpz train --distributed --master -f CONFIG "
                        "(or --resume RUN_DIR)\n");
        return 2;
    }
    if (args->grid) {
        fprintf(stderr, "lpz: error: --grid is not available with --master (use --set general.grid_size=K)\n");
        return 2;
    }
    /* taken silently before: the cells of a distributed run are on their clients, not moved in step */
    if (args->deterministic) {
        fprintf(stderr, "lpz: error: --deterministic is not available with --master (the clients' cells are not "
                        "moved in step across processes; a local run is: lpz train --deterministic -f CONFIG)\n");
        return 2;
    }
    lpz_error err;
    lpz_error_clear(&err);
    lpz_config cfg;
    if (lpz_cli_read_config(args, config_file, &cfg, &err)) {
        lpz_cli_print_error(&err);
        lpz_config_destroy(&cfg);
        return 1;
    }
    if (cfg.general.deterministic) { /* taken off: on a client it would only keep a stop waiting for an iteration */
        lpz_log(LPZ_LOG_WARN, "general.deterministic is true: a distributed run is not deterministic (each client "
                "trains its cell at its own pace; only a local run moves its cells in step): taken as false");
        cfg.general.deterministic = false;
    }
    if (setup_tls(&cfg)) {
        lpz_config_destroy(&cfg);
        return 1;
    }
    /* master.calculate_score: the master scores the collected mixtures with the run's plugins */
    lpz_registry reg;
    memset(&reg, 0, sizeof reg);
    if (cfg.master.calculate_score && lpz_registry_open(&reg, args->plugin_dirs, args->n_plugin_dirs, &err)) {
        lpz_cli_print_error(&err);
        lpz_config_destroy(&cfg);
        return 1;
    }
    struct sigaction old_int, old_term;
    with_signals(&old_int, &old_term);
    lpz_dist_master_options o = {.config = &cfg,
                                 .secret = pick_secret(&cfg),
                                 .stop = &dist_stop,
                                 .heartbeat_timeout_ms = env_ms("LPZ_DIST_HEARTBEAT_TIMEOUT_MS",
                                                                cfg.general.distribution.heartbeat_timeout_ms),
                                 .fetch_timeout_ms = env_ms("LPZ_DIST_FETCH_TIMEOUT_MS",
                                                            cfg.general.distribution.fetch_timeout_ms),
                                 .discover_timeout_ms = 1500,
                                 .resume_dir = args->resume,
                                 .registry = cfg.master.calculate_score ? &reg : NULL,
                                 .scoring = &final_scoring};
    lpz_dist_outcome out;
    int rc = lpz_dist_master_run(&o, &out, &err);
    lpz_transport_tls_clear();
    sigaction(SIGINT, &old_int, NULL);
    sigaction(SIGTERM, &old_term, NULL);
    if (rc) {
        lpz_cli_print_error(&err);
        if (out.run_dir[0] && lpz_is_dir(out.run_dir)) /* not of a folder removed meanwhile */
            fprintf(stderr, "lpz: partial results are in %s\n", out.run_dir);
        rc = 1;
    } else {
        int done = out.n_cells - out.lost; /* one client per cell */
        if (out.dropped) /* Ctrl-C twice: nothing was collected, nothing is lost */
            printf("aborted: every client dropped the experiment (Ctrl-C twice) after %.1f s; %d cell%s had sent "
                   "results\n", out.seconds, done, done == 1 ? "" : "s");
        else if (out.trained_before)
            printf("training already complete: %d cell%s, %d iteration%s\n", done, done == 1 ? "" : "s",
                   cfg.trainer.n_iterations, cfg.trainer.n_iterations == 1 ? "" : "s");
        else if (out.seconds_per_iteration > 0)
            printf("%s %d cell%s on %d client%s in %.1f s (median %.2f s per iteration)\n",
                   out.stopped ? "stopped" : "trained", done, done == 1 ? "" : "s", done, done == 1 ? "" : "s",
                   out.seconds, out.seconds_per_iteration);
        else /* stopped before any cell finished an iteration, as a local run says it */
            printf("%s %d cell%s on %d client%s in %.1f s (no iteration finished)\n",
                   out.stopped ? "stopped" : "trained", done, done == 1 ? "" : "s", done, done == 1 ? "" : "s",
                   out.seconds);
        int incomplete = 0;
        for (int c = 0; c < out.n_cells; c++) {
            lpz_dist_cell_outcome *r = &out.cells[c];
            if (!r->received && out.dropped)
                continue;
            if (!r->received)
                printf("lost cell: %d (no results)\n", c);
            else if (r->incomplete && ++incomplete)
                printf("cell %d: stopped at iteration %d of %d (its client was stopped); not compared with the "
                       "complete cells for the best cell\n", c, r->iterations, cfg.trainer.n_iterations);
            else if (r->restarts)
                printf("cell %d: restarted %d time%s, finished on %s\n", c, r->restarts, r->restarts == 1 ? "" : "s",
                       r->client);
        }
        lpz_cli_print_final(&out.final, "lpz train --distributed --master --resume", out.run_dir);
        if (out.best_cell >= 0) {
            lpz_dist_cell_outcome *b = &out.cells[out.best_cell];
            /* a client's score is its optimize_mixture's when the ES ran there (a neighbourhood and a score) */
            int st = cfg.trainer.params.score.type;
            int es = cfg.trainer.params.optimize_mixture.enabled && out.n_cells > 1 && !b->stopped &&
                     cfg.trainer.params.score.enabled && (st == LPZ_SCORE_FID || st == LPZ_SCORE_INCEPTION);
            lpz_cli_print_best(b->cell, b->score, b->best_g_fitness,
                               out.final.state != LPZ_FINAL_DONE && lpz_run_score_higher(&cfg), es, &out.final);
            printf("best mixture: %s/master/%d\n", out.run_dir, b->cell);
        }
        printf("results: %s\n", out.run_dir);
        if (out.dropped)
            printf("the run folder keeps the checkpoints collected so far: lpz train --distributed --master --resume "
                   "%s continues it\n", out.run_dir);
        if (incomplete)
            printf("to train the stopped cell%s on: lpz train --distributed --master --resume %s\n",
                   incomplete == 1 ? "" : "s", out.run_dir);
        rc = out.stopped || out.final.state == LPZ_FINAL_STOPPED ? 130 : 0;
    }
    lpz_dist_outcome_free(&out);
    if (cfg.master.calculate_score)
        lpz_registry_close(&reg);
    lpz_config_destroy(&cfg);
    return rc;
}

int lpz_cmd_train_distributed(const lpz_cli_args *args)
{
    if (!args->distributed || args->master == args->client) {
        fprintf(stderr, "lpz: error: distributed training needs --distributed and exactly one of --master or "
                        "--client (see 'lpz train --help')\n");
        return 2;
    }
    return args->client ? run_client(args) : run_master(args);
}
