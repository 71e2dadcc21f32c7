/* core/cli/cmd_train.c - `lpz train` (local mode) and `lpz config`. */
#include "cli/commands.h"
#include "config/config.h"
#include "io/fsutil.h"
#include "config/options_internal.h"
#include "plugin/registry.h"
#include "runtime/run.h"

#include <lpz/log.h>

#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static volatile int stop_flag;
static volatile int final_scoring; /* 1 once the final scoring began (lpz_run_request.scoring) */

/* Async-signal-safe: atomics, write and _exit only. */
static void on_interrupt(int sig)
{
    (void)sig;
    if (!lpz_cli_new_interrupt())
        return; /* the same Ctrl-C delivered again */
    int scoring = __atomic_load_n(&final_scoring, __ATOMIC_SEQ_CST);
    if (__atomic_exchange_n(&stop_flag, 1, __ATOMIC_SEQ_CST)) {
        static const char msg[] = "\nlpz: interrupted twice: exiting now\n";
        static const char msg_scoring[] = "\nlpz: interrupted twice: exiting now; the training is complete "
                                          "(final_scores.csv keeps the cells scored, --resume scores the rest)\n";
        ssize_t ignored = scoring ? write(2, msg_scoring, sizeof msg_scoring - 1) : write(2, msg, sizeof msg - 1);
        (void)ignored;
        _exit(130);
    }
    static const char msg[] = "\nlpz: stopping after the current batch (Ctrl-C again to exit at once)\n";
    static const char msg_scoring[] = "\nlpz: stopping the final scoring; the training is complete (Ctrl-C again "
                                      "to exit at once)\n";
    ssize_t ignored = scoring ? write(2, msg_scoring, sizeof msg_scoring - 1) : write(2, msg, sizeof msg - 1);
    (void)ignored;
}

/* Reads the run file with the --set overrides; prints the error. */
static int read_config(const lpz_cli_args *args, lpz_config *cfg)
{
    lpz_error err;
    lpz_error_clear(&err);
    if (!args->config_file) {
        fprintf(stderr, "lpz: error: 'lpz %s' needs a run file: -f CONFIG (see 'lpz %s --help')\n", args->command,
                args->command);
        lpz_config_init_defaults(cfg);
        return 2;
    }
    if (lpz_cli_read_config(args, args->config_file, cfg, &err) != LPZ_OK) {
        lpz_cli_print_error(&err);
        return 1;
    }
    return 0;
}

/* The checks lpz train makes once it loads the plugins: each named plugin
 * exists (on the --plugin-dir / usual search path) and takes the options its
 * section gives it, with values of the declared types. 0, or 1 after
 * printing the error. */
static int check_plugin_options(const lpz_cli_args *args, const lpz_config *cfg)
{
    lpz_registry reg;
    lpz_error err;
    lpz_error_clear(&err);
    if (lpz_registry_open(&reg, args->plugin_dirs, args->n_plugin_dirs, &err) != LPZ_OK) {
        lpz_cli_print_error(&err);
        return 1;
    }
    int rc = 0;
    const uint32_t kinds[2] = {LPZ_PLUGIN_DATALOADER, LPZ_PLUGIN_NETWORK};
    for (int i = 0; i < 2 && !rc; i++) {
        const lpz_plugin *plugin;
        lpz_options *opts = NULL;
        if (lpz_run_plugin(&reg, cfg, kinds[i], &plugin, &opts, &err) != LPZ_OK) {
            lpz_cli_print_error(&err);
            rc = 1;
        }
        lpz_options_destroy(opts);
    }
    /* and what needs the data's shape (the network's configure, the scores), when it can be had cheaply */
    char said[2600];
    int unchecked;
    if (!rc && lpz_run_check_config_data(cfg, &reg, said, sizeof said, &unchecked, &err) != LPZ_OK) {
        lpz_cli_print_error(&err);
        rc = 1;
    } else if (!rc && said[0]) {
        lpz_log(unchecked == 1 ? LPZ_LOG_WARN : LPZ_LOG_INFO, "%s", said);
    }
    lpz_registry_close(&reg);
    return rc;
}

int lpz_cmd_config(const lpz_cli_args *args)
{
    lpz_config cfg;
    int rc = read_config(args, &cfg);
    if (!rc)
        rc = check_plugin_options(args, &cfg);
    if (!rc) {
        lpz_error err;
        if (lpz_config_dump(&cfg, stdout, &err) != LPZ_OK) {
            lpz_cli_print_error(&err);
            rc = 1;
        }
    }
    lpz_config_destroy(&cfg);
    return rc;
}

void lpz_cli_print_final(const lpz_final_outcome *f, const char *resume, const char *run_dir)
{
    int done = f->scored + f->reused;
    switch (f->state) {
    case LPZ_FINAL_NONE:
        break;
    case LPZ_FINAL_DONE:
        if (!f->cells)
            printf("final scoring: no final mixture to score\n");
        else if (!f->scored)
            printf("final scoring: the %d %s from %s (%lld samples each; not scored again)\n", f->reused,
                   f->reused == 1 ? "cell's score" : "cells' scores", LPZ_FINAL_SCORES_FILE, (long long)f->samples);
        else if (f->reused)
            printf("final scoring: %d cell%s in %.1f s, %d from %s (%lld samples each)\n", f->scored,
                   f->scored == 1 ? "" : "s", f->seconds, f->reused, LPZ_FINAL_SCORES_FILE, (long long)f->samples);
        else
            printf("final scoring: %d cell%s in %.1f s (%lld samples each)\n", f->scored, f->scored == 1 ? "" : "s",
                   f->seconds, (long long)f->samples);
        break;
    case LPZ_FINAL_STOPPED:
        printf("final scoring: stopped after %.1f s with %d of %d cells scored; the training is complete (models, "
               "checkpoints, metrics.csv)\n", f->seconds, done, f->cells);
        printf("to score the other %d: %s %s\n", f->cells - done, resume, run_dir);
        break;
    case LPZ_FINAL_FAILED:
        printf("final scoring: failed, no final scores (a warning in the log says why)\n");
        break;
    case LPZ_FINAL_UNAVAILABLE:
        printf("final scoring: not available for these samples, no final scores (a warning in the log says why)\n");
        break;
    case LPZ_FINAL_INCOMPLETE:
        printf("final scoring: %d of %d cells scored in %.1f s (%lld samples each), %d not (the log's warnings say "
               "why); once fixed, %s %s scores the rest\n", done, f->cells, f->seconds, (long long)f->samples,
               f->unscored, resume, run_dir);
        break;
    }
}

void lpz_cli_print_best(int cell, double score, double g_fitness, int score_higher, int score_es,
                        const lpz_final_outcome *f)
{
    if (isnan(score))
        printf("best cell: %d (generator fitness %.4f; no score computed)\n", cell, g_fitness);
    else if (f->state == LPZ_FINAL_DONE)
        printf("best cell: %d (final FID %.4f over %lld samples)\n", cell, score, (long long)f->samples);
    else
        printf("best cell: %d (%s %.4f, %s)\n", cell, score_higher ? "inception score" : "FID", score,
               score_es ? "optimize_mixture's" : "the last iteration's");
}

static int parse_grid(const char *text, int *k)
{
    char *end;
    long v = strtol(text, &end, 10);
    if (!lpz_cli_is_digits(text) || *end || v < 1 || v > 64)
        return -1;
    *k = (int)v;
    return 0;
}

int lpz_cmd_train(const lpz_cli_args *args)
{
    /* Only a client listens: a local run or a master would ignore the option. */
    if ((args->port || args->bind) && !args->client) {
        fprintf(stderr, "lpz: error: %s is for a client: lpz train --distributed --client %s\n",
                args->port ? "--port" : "--bind", args->port ? "--port PORT" : "--bind ADDR");
        return 2;
    }
    if (args->distributed || args->master || args->client) {
        return lpz_cmd_train_distributed(args);
    }
    int grid = 0;
    if (args->grid && parse_grid(args->grid, &grid)) {
        fprintf(stderr, "lpz: error: --grid %s: expected a whole number from 1 to 64 (K for a KxK grid)\n",
                args->grid);
        return 2;
    }
    lpz_config cfg;
    char resume_cfg[4200];
    lpz_cli_args eff = *args;
    int status = lpz_cli_resume_config(args, resume_cfg, sizeof resume_cfg, &eff.config_file);
    if (status)
        return status;
    /* --grid and --deterministic are configuration keys given on the
     * command line: as --set they are validated with the rest and saved
     * in the run's config.yml, so a resumed run keeps them. */
    char grid_set[64];
    if (grid && eff.n_sets < LPZ_CLI_MAX_LIST) {
        snprintf(grid_set, sizeof grid_set, "general.grid_size=%d", grid);
        eff.sets[eff.n_sets++] = grid_set;
    }
    if (args->deterministic && eff.n_sets < LPZ_CLI_MAX_LIST)
        eff.sets[eff.n_sets++] = "general.deterministic=true";
    int rc = read_config(&eff, &cfg);
    if (rc) {
        lpz_config_destroy(&cfg);
        return rc;
    }
    lpz_registry reg;
    lpz_error err;
    lpz_error_clear(&err);
    if (lpz_registry_open(&reg, args->plugin_dirs, args->n_plugin_dirs, &err) != LPZ_OK) {
        lpz_cli_print_error(&err);
        lpz_config_destroy(&cfg);
        return 1;
    }
    struct sigaction sa, old_int, old_term;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_interrupt;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, &old_int);
    sigaction(SIGTERM, &sa, &old_term);

    lpz_run_request req = {&cfg, &reg,
                           args->quiet ? 0 : (isatty(2) ? 2 : 1), &stop_flag, args->resume, NULL, NULL, &final_scoring};
    lpz_run_outcome out;
    rc = lpz_run_local(&req, &out, &err);
    sigaction(SIGINT, &old_int, NULL);
    sigaction(SIGTERM, &old_term, NULL);
    if (rc == LPZ_ECANCELED && stop_flag) { /* Ctrl-C before training began (the FID classifier's training) */
        fprintf(stderr, "lpz: stopped before the first iteration\n");
        if (out.run_dir[0] && lpz_is_dir(out.run_dir)) /* not of a folder removed meanwhile */
            fprintf(stderr, "lpz: partial results are in %s\n", out.run_dir);
        rc = 130;
    } else if (rc) {
        lpz_cli_print_error(&err);
        if (out.run_dir[0] && lpz_is_dir(out.run_dir)) /* not of a folder removed meanwhile */
            fprintf(stderr, "lpz: partial results are in %s\n", out.run_dir);
        rc = 1;
    } else {
        lpz_train_result *r = &out.result;
        const lpz_cell_result *b = r->best_cell >= 0 ? &r->cells[r->best_cell] : NULL;
        if (r->trained_before)
            printf("training already complete: %d cell%s, %d iteration%s\n", r->n_cells, r->n_cells == 1 ? "" : "s",
                   r->n_cells ? r->cells[0].iterations : 0, r->n_cells && r->cells[0].iterations == 1 ? "" : "s");
        else if (r->seconds_per_iteration > 0)
            printf("%s %d cell%s in %.1f s (median %.2f s per iteration)\n", r->stopped ? "stopped" : "trained",
                   r->n_cells, r->n_cells == 1 ? "" : "s", r->seconds, r->seconds_per_iteration);
        else /* stopped before any cell finished an iteration */
            printf("%s %d cell%s in %.1f s (no iteration finished)\n", r->stopped ? "stopped" : "trained",
                   r->n_cells, r->n_cells == 1 ? "" : "s", r->seconds);
        lpz_cli_print_final(&r->final, "lpz train --resume", out.run_dir);
        if (b) {
            lpz_cli_print_best(b->cell, b->score, b->best_g_fitness, r->score_higher, b->score_es, &r->final);
            printf("best mixture: %s\n", b->mixture_dir);
        }
        printf("results: %s\n", out.run_dir);
        /* 130 for a Ctrl-C, whether it stopped the training or only the final scoring */
        rc = r->stopped || r->final.state == LPZ_FINAL_STOPPED ? 130 : 0;
        lpz_train_result_free(r);
    }
    lpz_registry_close(&reg);
    lpz_config_destroy(&cfg);
    return rc;
}
