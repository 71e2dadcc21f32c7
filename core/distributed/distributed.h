/* core/distributed/distributed.h - training across processes and machines:
 * a long-running client per cell and a master that runs an experiment on
 * them.
 *
 * Owns: the master/client control protocol (proto.h; frames from
 * transport/wire.h, sockets from transport/control.h), client states,
 * heartbeats, checkpoints sent to the master, moving a lost cell to a spare
 * client, and merging every cell's results into one run folder laid out as
 * in the local mode. The cells themselves train with runtime/trainer.h
 * (lpz_train_local on one cell, tcp:// neighbour URLs) and talk to their
 * neighbours directly, not through the master.
 *
 * May call: runtime (run.h, trainer.h), config, plugin, io, transport,
 * base. Never prints: the CLI (core/cli/cmd_distributed.c) does.
 * User guide and message layouts: docs/distributed.md.
 */
#ifndef LPZ_DISTRIBUTED_DISTRIBUTED_H
#define LPZ_DISTRIBUTED_DISTRIBUTED_H

#include "config/config.h"
#include "plugin/registry.h"
#include "runtime/trainer.h" /* lpz_final_outcome */

#define LPZ_DIST_DEFAULT_PORT 5000
#define LPZ_DIST_PORT_SPAN 100         /* default port tries 5000..5099 */
#define LPZ_DIST_CELL_PORT_OFFSET 1000 /* a client's cell server: control port + 1000 */

typedef struct lpz_dist_client_options {
    const lpz_registry *registry;
    int port;             /* 0: the first free of 5000..5099 */
    const char *bind;     /* listen address; NULL: 127.0.0.1 without a secret, 0.0.0.0 with one */
    const char *secret;   /* NULL/"": none (then loopback only unless bind says otherwise) */
    const char *work_dir; /* where experiments run; NULL: $TMPDIR or /tmp, lpz-client-<port> */
    int progress;         /* passed to the trainer */
    volatile int *stop;   /* set to 1 to end the client (SIGINT/SIGTERM) */
    int master_timeout_ms; /* a busy client without master contact this long gives up (0: 60000) */
    /* a busy client that was stopped (SIGSTOP, a suspended machine) for
     * 5 s or more gives up when its master says nothing this long after it
     * woke: the master wrote it off, or ended (0: 15000) */
    int woken_timeout_ms;
    /* for tests (LPZ_DIST_TEST_CHECKPOINT_STALL_MS): the first CHECKPOINT
     * request of each experiment is answered only this long after, with
     * the client deaf meanwhile, as a client frozen in a transfer; 0: no */
    int test_checkpoint_stall_ms;
} lpz_dist_client_options;

/* Serves experiments until *stop. Fails only when it cannot listen. */
int lpz_dist_client_run(const lpz_dist_client_options *o, lpz_error *err);

typedef struct lpz_dist_cell_outcome {
    int cell;
    int received;   /* 1 when its results arrived */
    int iterations; /* completed */
    int stopped;
    /* 1: stopped short of trainer.n_iterations while the run was not (its
     * client was stopped): not compared with complete cells for the best */
    int incomplete;
    double best_g_fitness;
    double score; /* NAN when not computed */
    int restarts; /* times it was moved to a spare */
    char client[300]; /* host:port of the client that finished it */
} lpz_dist_cell_outcome;

typedef struct lpz_dist_outcome {
    char run_dir[4096];
    int n_cells;
    lpz_dist_cell_outcome *cells; /* n_cells, malloc'd; lpz_dist_outcome_free */
    int lost;      /* cells whose results did not arrive */
    int best_cell; /* -1 when none arrived */
    int stopped;   /* 1 when stopped by the user */
    int aborted;   /* 1 when stopped because a client was lost (exit_clients_on_disconnect) */
    int dropped;   /* 1 when aborted by the user (Ctrl-C twice): the clients dropped the cells, none is lost */
    double seconds;               /* of the training, up to the results merged (not the final scoring) */
    double seconds_per_iteration; /* median over cells' timing rows */
    uint64_t experiment;
    /* 1: a --resume of a run whose training had finished: no client was
     * used, only the final scoring was left (seconds is 0) */
    int trained_before;
    /* master.calculate_score; state DONE: the cells' scores are its final FIDs */
    lpz_final_outcome final;
} lpz_dist_outcome;

typedef struct lpz_dist_master_options {
    const lpz_config *config;
    const char *secret;         /* NULL/"": none */
    volatile int *stop;         /* 1: stop the experiment (clients keep results); 2: abort */
    int heartbeat_timeout_ms;   /* a client silent this long is lost (0: 5000) */
    int fetch_timeout_ms;       /* neighbour timeout given to the cells (0: 5000) */
    int discover_timeout_ms;    /* per client greeting (0: 1500) */
    const char *resume_dir;     /* continue this run folder from its checkpoints (NULL: a new run) */
    const lpz_registry *registry; /* plugins for master.calculate_score (NULL: no final scores) */
    volatile int *scoring;      /* set to 1 when the final scoring begins (lpz_final_request); NULL: none */
} lpz_dist_master_options;

/* Runs one experiment on the configuration's clients. out is filled as far
 * as the run got (run_dir once created). */
int lpz_dist_master_run(const lpz_dist_master_options *o, lpz_dist_outcome *out, lpz_error *err);
void lpz_dist_outcome_free(lpz_dist_outcome *out);

#endif
