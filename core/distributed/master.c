/* core/distributed/master.c - one experiment on a set of clients: greet
 * and authenticate them, assign cells, start, watch heartbeats, collect
 * checkpoints and results, move lost cells to spares, merge the results. */
#include "distributed/distributed.h"

#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <lpz/log.h>

#include "base/shape.h"
#include "base/thread.h"
#include "distributed/discover.h"
#include "distributed/proto.h"
#include "io/fsutil.h"
#include "io/safetensors.h"
#include "runtime/run.h"
#include "score/score.h"
#include "transport/control.h"
#include "transport/peer.h"

#define TICK_US 200000
#define CALL_MS 1500           /* a heartbeat or control answer */
#define TRANSFER_MS 120000     /* a RESULT or CHECKPOINT */
#define RELEASE_WAIT_S 10.0
#define DISCOVER_MS 1000       /* auto_discover: a batch of connects */

enum { NODE_UNUSED, NODE_IDLE, NODE_ACTIVE, NODE_GONE };
enum { CELL_RUNNING, CELL_DONE, CELL_LOST };

typedef struct node {
    char address[LPZ_CONFIG_NAME_MAX];
    int port;
    char url[300];
    lpz_ctl_client *ctl;
    int role;
    int cell;
    lpz_dist_challenge ch;
    char why[1100]; /* why it is not usable */
    double last_ok;
    uint32_t ckpt_fetched;
    uint32_t ckpt_tried;    /* the last checkpoint version a transfer was made for (stored or not) */
    uint32_t ckpt_unstored; /* the last version fetched but not stored (a full disk): not fetched again */
    int last_iteration;
    int stop_unanswered; /* the last STOP of stop_all went unanswered: wait_idle does not wait for it */
    /* auto_discover: the endpoint as scanned; skip 1: another endpoint of
     * the same client (or loopback only) is used, 2 (listed clients too):
     * no idle lpz client answered there (why says what did) */
    lpz_dist_endpoint ep;
    int skip;
    int refused; /* the status code of the client's last ERROR reply */
    int taken_over; /* busy with the resumed run's old experiment: stopped (take_over) */
    /* declared lost while its cell ran: it may live on (stopped, cut off)
     * and train a cell another client took over, or come back; told to
     * drop the experiment (or taken back) until it answers (settle_gone) */
    int written_off;
    double written_at, last_try;
    /* a CHECKPOINT or RESULT transfer in flight (struct xfer), on a
     * connection of its own (xctl) */
    struct xfer *job;
    lpz_ctl_client *xctl;
} node;

typedef struct mcell {
    int node;
    char url[300];
    int status;
    int restarts;
    char **metrics; /* [n_iterations + 1] rows, by iteration */
    char **timing;
    int ckpt_warned; /* a checkpoint of it could not be stored: said once */
    char data[LPZ_DIST_DATA_MAX + 1]; /* what its client said it trains on (lpz_dist_status.data); "" */
} mcell;

typedef struct master {
    const lpz_dist_master_options *o;
    const lpz_config *cfg;
    const char *secret;
    lpz_wire_ctx ctx;   /* sends: this experiment, the secret */
    lpz_wire_ctx rx;    /* receives: any experiment, the secret */
    uint64_t experiment;
    uint64_t next_id;
    node *nodes;
    int n_nodes;
    mcell *cells;
    int k, n_cells, n_iterations;
    char *config_text;
    size_t config_len;
    char run_dir[PATH_MAX];
    char metrics_header[512], timing_header[256];
    lpz_dist_move moves[LPZ_DIST_MAX_MOVES];
    int n_moves;
    int hb_timeout_ms, fetch_timeout_ms;
    int started; /* a cell was started: the merged files hold this run's rows */
    char *old_config; /* a resumed run's config.yml before this run rewrote it */
    size_t old_config_len;
    int new_rows;      /* a client sent metrics rows of this run */
    int merged_warned; /* a failed write of the merged files during the run was reported */
    lpz_dist_subnet own[LPZ_DIST_DISCOVER_MAX_OWN]; /* auto_discover: this machine's addresses */
    int n_own;
    int units_warned;   /* the cells' data scaling differs: said once */
    int content_warned; /* the cells' data differ (count, fingerprint): said once */
    uint64_t old_experiment; /* a resumed run's experiment before (EXPERIMENT_FILE), 0: none */
    int lock;                /* lpz_run_lock of lock_dir, -1: none */
    char lock_dir[PATH_MAX];
    dev_t dir_dev; /* the run folder as the training began (dir_ino 0: not known): check_dir */
    ino_t dir_ino;
    char trained_shape[80];          /* a resume: the sample shape its networks were trained on, "[1x28x28]"; "" */
    char trained_from[PATH_MAX + 64]; /* the file that says so */
} master;

/* A CHECKPOINT or RESULT transfer from a node, in a thread of its own on a
 * connection of its own (node.xctl), so that the heartbeats to the other
 * nodes go on meanwhile: a client stopped (SIGSTOP, a frozen machine, a
 * cut network) in the middle of one held every heartbeat for TRANSFER_MS,
 * longer than clients wait for word from their master
 * (LPZ_DIST_MASTER_TIMEOUT_MS, 60 s), and every client dropped the run. */
typedef struct xfer {
    master *m;
    node *n;
    unsigned type;
    uint32_t version; /* CHECKPOINT: the checkpoint_version the heartbeat told */
    pthread_t th;
    int threaded;
    int done; /* atomic */
    int rc;
    lpz_error err;
    uint8_t *raw;
    lpz_dist_files f; /* rc 0: the files, pointing into raw */
} xfer;

/* In a run folder: the hex id of its latest experiment, so that a --resume
 * after the master died recognises the clients still busy with it. */
#define EXPERIMENT_FILE ".lpz-experiment"

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* One request/reply. *raw is the malloc'd reply (free it); *body and *blen
 * its payload. A client's ERROR reply becomes LPZ_ENET with its text. */
static int call_on(master *m, const lpz_wire_ctx *tx, node *n, lpz_ctl_client *ctl, unsigned type, lpz_dist_msg *req,
                   int timeout_ms, unsigned want, uint8_t **raw, const uint8_t **body, size_t *blen, lpz_error *err)
{
    *raw = NULL;
    const uint8_t *f;
    size_t flen;
    uint64_t rid = __atomic_fetch_add(&m->next_id, 1, __ATOMIC_SEQ_CST);
    int rc = lpz_dist_seal(req, tx, type, rid, &f, &flen, err);
    if (!rc && ctl == n->ctl)
        rc = lpz_ctl_request(ctl, f, flen, timeout_ms, raw, &flen, err);
    else if (!rc) /* a transfer in a thread of its own (struct xfer) */
        rc = lpz_ctl_request_cancelable(ctl, f, flen, timeout_ms, raw, &flen, err);
    if (rc)
        return rc;
    lpz_wire_header h;
    rc = lpz_wire_open(&m->rx, *raw, flen, &h, body, err);
    if (rc == LPZ_ENET && strstr(err->message, "authentication")) {
        char why[sizeof err->message];
        snprintf(why, sizeof why, "%s", err->message);
        lpz_error_set(err, LPZ_ENET, "its reply cannot be authenticated: the client has another shared secret (%s)",
                      why);
    }
    if (!rc && h.request_id != rid)
        rc = lpz_error_set(err, LPZ_EFORMAT, "reply to another request");
    if (!rc && h.type == LPZ_MSG_ERROR) {
        int code;
        char text[LPZ_WIRE_MAX_ERROR_TEXT + 1];
        rc = lpz_wire_error_decode(*body, (size_t)h.payload_len, &code, text, sizeof text, err);
        if (!rc) {
            if (ctl == n->ctl)
                n->refused = code;
            rc = lpz_error_set(err, LPZ_ENET, "client refused %s: %s", lpz_msg_type_name(type), text);
        }
    } else if (!rc && h.type != want)
        rc = lpz_error_set(err, LPZ_EFORMAT, "%s reply to %s", lpz_msg_type_name(h.type), lpz_msg_type_name(type));
    if (rc) {
        free(*raw);
        *raw = NULL;
        lpz_error_context(err, "client %s", n->url);
        return rc;
    }
    *blen = (size_t)h.payload_len;
    return LPZ_OK;
}

static int call_as(master *m, const lpz_wire_ctx *tx, node *n, unsigned type, lpz_dist_msg *req, int timeout_ms,
                   unsigned want, uint8_t **raw, const uint8_t **body, size_t *blen, lpz_error *err)
{
    return call_on(m, tx, n, n->ctl, type, req, timeout_ms, want, raw, body, blen, err);
}

/* call_as with this experiment's context. */
static int call(master *m, node *n, unsigned type, lpz_dist_msg *req, int timeout_ms, unsigned want, uint8_t **raw,
                const uint8_t **body, size_t *blen, lpz_error *err)
{
    return call_as(m, &m->ctx, n, type, req, timeout_ms, want, raw, body, blen, err);
}

static int take_over(master *m, node *n, lpz_error *err);

/* HELLO: the client's CHALLENGE (its state, nonce and instance) in n->ch;
 * LPZ_ESTATE when it is busy. The first round asks only this, to learn
 * which client answers on an endpoint (one client at two addresses counts
 * once: pick_discovered, check_listed). */
static int hello(master *m, node *n, lpz_error *err)
{
    lpz_dist_msg q;
    uint8_t *raw;
    const uint8_t *b;
    size_t bl;
    lpz_dist_msg_init(&q);
    int rc = call(m, n, LPZ_MSG_HELLO, &q, m->o->discover_timeout_ms, LPZ_MSG_CHALLENGE, &raw, &b, &bl, err);
    lpz_dist_msg_free(&q);
    if (rc)
        return rc;
    rc = lpz_dist_challenge_decode(b, bl, &n->ch, err);
    free(raw);
    if (!rc && n->ch.state != LPZ_DIST_IDLE && n->ch.experiment && n->ch.experiment == m->old_experiment &&
        !n->taken_over) {
        /* a --resume: still busy with this run's experiment of a master that died (it would wait for it
         * LPZ_DIST_MASTER_TIMEOUT_MS): stopped, then asked again */
        n->taken_over = 1;
        return take_over(m, n, err);
    }
    if (!rc && n->ch.state != LPZ_DIST_IDLE)
        rc = lpz_error_set(err, LPZ_ESTATE, "busy with experiment %016" PRIx64, n->ch.experiment);
    return rc;
}

/* A client busy with the experiment of the run this master resumes (its
 * master was killed): an authenticated STOP (abort) in that experiment's
 * name, a wait (bounded) until it is idle, then HELLO again. */
static int take_over(master *m, node *n, lpz_error *err)
{
    lpz_wire_ctx old;
    lpz_wire_ctx_init_control(&old, m->old_experiment, m->secret);
    lpz_dist_msg q;
    lpz_dist_msg_init(&q);
    lpz_dist_put_u8(&q, LPZ_DIST_STOP_ABORT);
    uint8_t *raw;
    const uint8_t *b;
    size_t bl;
    int rc = call_as(m, &old, n, LPZ_MSG_STOP, &q, m->o->discover_timeout_ms, LPZ_MSG_STOP, &raw, &b, &bl, err);
    lpz_dist_msg_free(&q);
    lpz_wire_ctx_clear(&old);
    free(raw);
    if (rc)
        return rc;
    lpz_log(LPZ_LOG_INFO, "client %s was busy with experiment %016" PRIx64 " of this run (its master is gone): "
            "stopped it to take the client over", n->url, m->old_experiment);
    double until = now_s() + RELEASE_WAIT_S;
    do {
        usleep(100000);
        rc = hello(m, n, err);
    } while (rc == LPZ_ESTATE && now_s() < until);
    return rc;
}

/* HELLO, then AUTH when the client is idle; both sides prove the secret. */
static int greet(master *m, node *n, lpz_error *err)
{
    int rc = hello(m, n, err);
    if (rc)
        return rc;
    if (n->ch.secured && !m->secret)
        return lpz_error_set(err, LPZ_ENET, "the client requires a shared secret and this master has none");
    lpz_dist_msg q;
    uint8_t *raw;
    const uint8_t *b;
    size_t bl;
    lpz_dist_auth a;
    memcpy(a.nonce, n->ch.nonce, LPZ_DIST_NONCE);
    lpz_dist_proof(m->secret, "lpz master", n->ch.nonce, a.proof);
    lpz_dist_msg_init(&q);
    lpz_dist_auth_put(&q, &a);
    rc = call(m, n, LPZ_MSG_AUTH, &q, m->o->discover_timeout_ms, LPZ_MSG_AUTH, &raw, &b, &bl, err);
    lpz_dist_msg_free(&q);
    if (rc)
        return rc;
    lpz_dist_auth back;
    uint8_t want[LPZ_DIST_PROOF];
    rc = lpz_dist_auth_decode(b, bl, &back, err);
    free(raw);
    lpz_dist_proof(m->secret, "lpz client", n->ch.nonce, want);
    if (!rc && !lpz_ct_equal(back.proof, want, LPZ_DIST_PROOF))
        rc = lpz_error_set(err, LPZ_ENET, "the client could not prove it holds the shared secret");
    return rc;
}

typedef struct greet_job {
    master *m;
    node *n;
    int hello_only;
} greet_job;

static void *greet_main(void *arg)
{
    greet_job *j = arg;
    lpz_error err;
    lpz_error_clear(&err);
    int rc = j->n->ctl ? LPZ_OK : lpz_ctl_dial(j->n->url, (size_t)LPZ_WIRE_MAX_FRAME, &j->n->ctl, &err);
    if (!rc)
        rc = j->hello_only ? hello(j->m, j->n, &err) : greet(j->m, j->n, &err);
    if (rc) {
        snprintf(j->n->why, sizeof j->n->why, "%s", err.message);
        j->n->role = NODE_UNUSED;
        /* an unusable endpoint is not used later: no redials (nng would
         * keep reconnecting to whatever listens there for the whole run) */
        lpz_ctl_client_close(j->n->ctl);
        j->n->ctl = NULL;
    } else {
        j->n->role = j->hello_only ? NODE_UNUSED : NODE_IDLE;
    }
    return NULL;
}

/* Greets (or, hello_only, asks) every node not skipped, in parallel. */
static void greet_all(master *m, int hello_only)
{
    enum { BATCH = 128 };
    pthread_t th[BATCH];
    int ok[BATCH];
    greet_job jobs[BATCH];
    int todo[BATCH], next = 0;
    while (next < m->n_nodes) {
        int cnt = 0;
        for (; next < m->n_nodes && cnt < BATCH; next++)
            if (!m->nodes[next].skip)
                todo[cnt++] = next;
        for (int i = 0; i < cnt; i++) {
            jobs[i] = (greet_job){m, &m->nodes[todo[i]], hello_only};
            ok[i] = lpz_thread_create(&th[i], greet_main, &jobs[i]) == 0;
            if (!ok[i])
                greet_main(&jobs[i]);
        }
        for (int i = 0; i < cnt; i++)
            if (ok[i])
                pthread_join(th[i], NULL);
    }
}

/* ---- results ---- */

/* Keeps the rows of a metrics.csv / timing.csv text by iteration; returns
 * how many rows it kept (the header is not one). */
static int merge_rows(master *m, mcell *c, int cell, const uint8_t *data, size_t size, int timing)
{
    int kept = 0;
    char **rows = timing ? c->timing : c->metrics;
    char *hdr = timing ? m->timing_header : m->metrics_header;
    size_t hsize = timing ? sizeof m->timing_header : sizeof m->metrics_header;
    size_t i = 0;
    while (i < size) {
        size_t e = i;
        while (e < size && data[e] != '\n')
            e++;
        size_t len = e - i;
        char line[4096];
        if (len > 0 && len < sizeof line) {
            memcpy(line, data + i, len);
            line[len] = '\0';
            char *end;
            long it = strtol(line, &end, 10);
            long cl = *end == ',' ? strtol(end + 1, NULL, 10) : -1;
            if (strncmp(line, "iteration,", 10) == 0) {
                if (!hdr[0] && len < hsize)
                    memcpy(hdr, line, len + 1);
            } else if (end != line && it >= 1 && it <= m->n_iterations && cl == cell) {
                char *dup = strdup(line);
                if (dup) {
                    free(rows[it]);
                    rows[it] = dup;
                    kept++;
                }
            }
        }
        i = e + 1;
    }
    return kept;
}

/* 1 when a file name belongs to cell c's results: a file right in its
 * master/c/ or samples/cell-c/ (a client sends no subfolders: a name from
 * the network makes none), its checkpoint, the rows. */
static int file_of_cell(const char *name, int c)
{
    char a[64], b[64], k[64];
    snprintf(a, sizeof a, "master/%d/", c);
    snprintf(b, sizeof b, "samples/cell-%d/", c);
    snprintf(k, sizeof k, "checkpoints/cell-%d.safetensors", c);
    size_t la = strlen(a), lb = strlen(b);
    return (!strncmp(name, a, la) && !strchr(name + la, '/')) || (!strncmp(name, b, lb) && !strchr(name + lb, '/')) ||
           !strcmp(name, k) || !strcmp(name, "metrics.csv") || !strcmp(name, "timing.csv");
}

static int write_merged(master *m, lpz_error *err);

static void remember_dir(master *m)
{
    struct stat st;
    if (stat(m->run_dir, &st) == 0) {
        m->dir_dev = st.st_dev;
        m->dir_ino = st.st_ino;
    }
}

/* this experiment's id, for a --resume after this master dies (take_over) */
static void write_experiment_id(master *m)
{
    char path[PATH_MAX + 64], id[32];
    snprintf(path, sizeof path, "%s/" EXPERIMENT_FILE, m->run_dir);
    snprintf(id, sizeof id, "%016" PRIx64 "\n", m->experiment);
    lpz_error e;
    if (lpz_write_file_atomic(path, id, strlen(id), &e))
        lpz_log(LPZ_LOG_WARN, "could not write %s: %s", path, e.message);
}

/* The run folder removed during the run (rm -rf by hand, a cleaner): the
 * results would go to a folder made again without config.yml, the lock or
 * the experiment id. The master has every row: it makes the folder again
 * with them, so the run ends readable and resumable; only the sample
 * images of the iterations before are gone. */
static void check_dir(master *m)
{
    struct stat st;
    if (!m->dir_ino || (stat(m->run_dir, &st) == 0 && st.st_dev == m->dir_dev && st.st_ino == m->dir_ino))
        return;
    lpz_error e;
    char path[PATH_MAX + 64];
    snprintf(path, sizeof path, "%s/checkpoints", m->run_dir);
    if (lpz_mkdirs(path, &e)) {
        lpz_log(LPZ_LOG_WARN, "the run folder %s was removed during the run, and cannot be made again: %s",
                m->run_dir, e.message);
        return; /* said again at the next try */
    }
    lpz_log(LPZ_LOG_WARN, "the run folder %s was removed during the run: made again (config.yml, metrics.csv and "
            "timing.csv from the master's rows; the checkpoints and results as they come); the sample images of "
            "the iterations before are gone", m->run_dir);
    remember_dir(m);
    if (m->lock >= 0) { /* its file went with the folder: another lpz could take the new one */
        close(m->lock);
        m->lock = -1;
        if (lpz_run_lock(m->run_dir, &m->lock, &e))
            lpz_log(LPZ_LOG_WARN, "%s", e.message);
    }
    snprintf(path, sizeof path, "%s/config.yml", m->run_dir);
    if (lpz_write_file_atomic(path, m->config_text, m->config_len, &e))
        lpz_log(LPZ_LOG_WARN, "could not write %s: %s", path, e.message);
    write_experiment_id(m);
    if (write_merged(m, &e))
        lpz_log(LPZ_LOG_WARN, "could not write the merged metrics.csv and timing.csv yet (tried again at the end): "
                "%s%s%s", e.message, e.where[0] ? ": " : "", e.where);
}

static int store_files(master *m, int cell, const lpz_dist_files *f, lpz_error *err)
{
    mcell *c = &m->cells[cell];
    int rows = 0;
    check_dir(m);
    if ((int)f->cell != cell)
        return lpz_error_set(err, LPZ_EFORMAT, "files of cell %u, expected cell %d", f->cell, cell);
    for (uint32_t i = 0; i < f->n_files; i++) {
        const lpz_dist_file *x = &f->files[i];
        if (!file_of_cell(x->name, cell)) {
            lpz_log(LPZ_LOG_WARN, "cell %d: ignoring file %s (not one of its results)", cell, x->name);
            continue;
        }
        if (!strcmp(x->name, "metrics.csv") || !strcmp(x->name, "timing.csv")) {
            /* a cell's metrics.csv holds its header from the start: only rows count */
            int kept = merge_rows(m, c, cell, x->data, (size_t)x->size, x->name[0] == 't');
            m->new_rows |= x->name[0] == 'm' && kept > 0;
            rows += kept;
            continue;
        }
        char path[PATH_MAX + 300];
        snprintf(path, sizeof path, "%s/%s", m->run_dir, x->name);
        char *slash = strrchr(path, '/');
        *slash = '\0';
        int rc = lpz_mkdirs(path, err);
        *slash = '/';
        if (!rc)
            rc = lpz_write_file_atomic(path, x->data, (size_t)x->size, err);
        if (rc)
            return rc;
    }
    /* The rows on disk at once, as a local run writes them: a master killed
     * later keeps every row that came with a checkpoint, and --resume
     * finds them (they were only written at the end). */
    if (rows) {
        lpz_error e2;
        if (write_merged(m, &e2) && !m->merged_warned) {
            m->merged_warned = 1;
            lpz_log(LPZ_LOG_WARN, "could not write the merged metrics.csv and timing.csv yet (tried again at "
                                  "the end): %s%s%s", e2.message, e2.where[0] ? ": " : "", e2.where);
        }
    }
    return LPZ_OK;
}

static int write_rows(master *m, const char *name, const char *header, int timing, lpz_error *err)
{
    char path[PATH_MAX + 32];
    snprintf(path, sizeof path, "%s/%s", m->run_dir, name);
    lpz_atomic_file f;
    int rc = lpz_atomic_open(&f, path, err);
    if (rc)
        return rc;
    fprintf(f.fp, "%s\n", header);
    for (int it = 1; it <= m->n_iterations; it++)
        for (int c = 0; c < m->n_cells; c++) {
            char *row = timing ? m->cells[c].timing[it] : m->cells[c].metrics[it];
            if (row)
                fprintf(f.fp, "%s\n", row);
        }
    return lpz_atomic_commit(&f, err);
}

static int write_merged(master *m, lpz_error *err)
{
    if (!m->metrics_header[0])
        snprintf(m->metrics_header, sizeof m->metrics_header,
                 "iteration,cell,g_loss,d_loss,g_fitness,d_fitness,g_lr,d_lr,score,mixture_weights");
    if (!m->timing_header[0])
        snprintf(m->timing_header, sizeof m->timing_header, "iteration,cell,seconds,failed_fetches");
    int rc = write_rows(m, "metrics.csv", m->metrics_header, 0, err);
    return rc ? rc : write_rows(m, "timing.csv", m->timing_header, 1, err);
}

/* A resumed run: takes the run's metrics.csv and timing.csv rows as they
 * are (every cell's earlier iterations), so that the merged files keep
 * them; the cells' new rows replace those of the iterations they redo. */
static int load_rows(master *m, lpz_error *err)
{
    static const char *names[2] = {"metrics.csv", "timing.csv"};
    /* Rows past trainer.n_iterations would be dropped from the merged
     * file: refuse rather than lose them. */
    int rc = lpz_run_check_resume(m->run_dir, m->n_iterations, err);
    if (rc)
        return rc;
    for (int t = 0; t < 2; t++) {
        char path[PATH_MAX + 32];
        snprintf(path, sizeof path, "%s/%s", m->run_dir, names[t]);
        if (!lpz_is_file(path))
            continue;
        char *data;
        size_t size;
        if ((rc = lpz_read_file(path, (size_t)1 << 30, &data, &size, err)))
            return rc;
        for (int c = 0; c < m->n_cells; c++)
            merge_rows(m, &m->cells[c], c, (const uint8_t *)data, size, t);
        free(data);
    }
    return LPZ_OK;
}

/* Removes a new run folder's EXPERIMENT_FILE (before lpz_run_remove_unused,
 * which keeps a folder holding files); returns 1. */
static int drop_experiment_file(const char *run_dir)
{
    char path[PATH_MAX + 32];
    snprintf(path, sizeof path, "%s/" EXPERIMENT_FILE, run_dir);
    unlink(path);
    return 1;
}

/* The temporary files of atomic writes (checkpoints/NAME.tmp.PID.N) of a
 * master that was killed: removed when that process is gone. */
static void remove_leftovers(const char *run_dir)
{
    char dir[PATH_MAX + 16], path[PATH_MAX + 300];
    snprintf(dir, sizeof dir, "%s/checkpoints", run_dir);
    DIR *d = opendir(dir);
    if (!d)
        return;
    struct dirent *e;
    while ((e = readdir(d))) {
        const char *t = strstr(e->d_name, ".tmp.");
        char *end;
        long pid = t ? strtol(t + 5, &end, 10) : 0;
        if (pid <= 0 || *end != '.' || !(kill((pid_t)pid, 0) != 0 && errno == ESRCH)) /* its writer lives */
            continue;
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        if (remove(path) == 0)
            lpz_log(LPZ_LOG_INFO, "removed %s, left by a master that was killed while writing it", path);
    }
    closedir(d);
}

/* Checks that `dir` is a run folder this configuration can continue:
 * fills m->run_dir with its absolute path. */
static int open_resume_dir(master *m, const char *dir, lpz_error *err)
{
    char path[PATH_MAX + 64];
    if (!realpath(dir, m->run_dir) || !lpz_is_dir(m->run_dir)) {
        m->run_dir[0] = '\0';
        return lpz_error_set(err, LPZ_ENOTFOUND, "cannot resume %s: no such folder", dir);
    }
    int rc = lpz_run_lock(m->run_dir, &m->lock, err);
    if (rc)
        return rc;
    snprintf(m->lock_dir, sizeof m->lock_dir, "%s", m->run_dir);
    int found = 0;
    for (int c = 0; c < m->n_cells; c++) {
        snprintf(path, sizeof path, "%s/checkpoints/cell-%d.safetensors", m->run_dir, c);
        found += lpz_is_file(path);
    }
    if (!found) {
        lpz_error_set(err, LPZ_ENOTFOUND, "cannot resume %s: no checkpoint of %s%d cell%s in %s/checkpoints", dir,
                      m->n_cells == 1 ? "its " : "any of the ", m->n_cells, m->n_cells == 1 ? "" : "s", m->run_dir);
        lpz_error_hint(err, "a distributed run keeps its cells' checkpoints in RUN_DIR/checkpoints "
                            "(general.checkpoint_period; the final one is written when a run ends or is stopped)");
        m->run_dir[0] = '\0';
        return err->code;
    }
    if (found < m->n_cells)
        lpz_log(LPZ_LOG_WARN, "resuming %s: %d of %d cells have a checkpoint; the others start from the beginning",
                m->run_dir, found, m->n_cells);
    remove_leftovers(m->run_dir);
    lpz_shape trained;
    if (lpz_run_trained_sample_shape(m->run_dir, m->n_cells, &trained, m->trained_from, sizeof m->trained_from)) {
        char x[72];
        snprintf(m->trained_shape, sizeof m->trained_shape, "[%s]", lpz_shape_format_x(&trained, x, sizeof x));
    }
    snprintf(path, sizeof path, "%s/" EXPERIMENT_FILE, m->run_dir);
    char *text;
    size_t len;
    lpz_error e2;
    if (lpz_is_file(path) && !lpz_read_file(path, 64, &text, &len, &e2)) {
        m->old_experiment = strtoull(text, NULL, 16);
        free(text);
    }
    snprintf(path, sizeof path, "%s/config.yml", m->run_dir);
    if (lpz_is_file(path)) {
        int rc = lpz_read_file(path, (size_t)1 << 24, &m->old_config, &m->old_config_len, err);
        if (rc)
            return rc;
    }
    return load_rows(m, err);
}

/* ---- experiment control ---- */

#define SETTLE_MS 300 /* a written-off client's answer (settle_gone): the run's other heartbeats wait meanwhile */
#define ABORT_MS 500  /* a STOP that aborts (Ctrl-C twice, a failed run): a client that does not answer drops the
                       * experiment itself (LPZ_DIST_MASTER_TIMEOUT_MS) */
#define SETTLE_GIVE_UP_S 120.0 /* settle_gone asks no more: a client that lives has dropped the experiment itself */

static int send_stop_within(master *m, node *n, int mode, int timeout_ms)
{
    if (!n->ctl)
        return LPZ_OK;
    lpz_dist_msg q;
    lpz_dist_msg_init(&q);
    lpz_dist_put_u8(&q, (uint8_t)mode);
    uint8_t *raw;
    const uint8_t *b;
    size_t bl;
    lpz_error err;
    int rc = call(m, n, LPZ_MSG_STOP, &q, timeout_ms, LPZ_MSG_STOP, &raw, &b, &bl, &err);
    lpz_dist_msg_free(&q);
    free(raw);
    if (rc)
        lpz_log(LPZ_LOG_DEBUG, "STOP to %s: %s", n->url, err.message);
    return rc;
}

static int send_stop(master *m, node *n, int mode)
{
    return send_stop_within(m, n, mode, CALL_MS);
}

static void wait_idle(master *m);

/* mode ABORT also waits (bounded) until the clients are idle again. */
static void xfer_end_all(master *m);

static void stop_all(master *m, int mode)
{
    if (mode != LPZ_DIST_STOP_TRAINING) /* the clients drop their files */
        xfer_end_all(m);
    for (int i = 0; i < m->n_nodes; i++) {
        node *n = &m->nodes[i];
        /* (a finished cell whose results are on their way needs no stop, and a request would count as their
         * receipt: see watch) */
        if (n->role == NODE_ACTIVE && !(mode == LPZ_DIST_STOP_TRAINING && n->job && n->job->type == LPZ_MSG_RESULT))
            n->stop_unanswered = send_stop_within(m, n, mode, mode == LPZ_DIST_STOP_ABORT ? ABORT_MS : CALL_MS) != 0;
    }
    if (mode == LPZ_DIST_STOP_ABORT)
        wait_idle(m);
}

static void host_of(const node *n, char *out, size_t size)
{
    /* An IPv6 literal needs brackets in a URL. */
    if (strchr(n->address, ':') && n->address[0] != '[')
        snprintf(out, size, "[%s]", n->address);
    else
        snprintf(out, size, "%s", n->address);
}

static int start_cell(master *m, node *n, int cell, int resume, lpz_error *err)
{
    char host[LPZ_CONFIG_NAME_MAX + 2];
    host_of(n, host, sizeof host);
    char url[300];
    snprintf(url, sizeof url, "tcp://%s:%u", host, n->ch.cell_port);
    const char **urls = calloc((size_t)m->n_cells, sizeof *urls);
    if (!urls)
        return lpz_error_set(err, LPZ_ENOMEM, "out of memory");
    for (int i = 0; i < m->n_cells; i++)
        urls[i] = i == cell ? url : m->cells[i].url;
    char *ckpt = NULL;
    size_t ckpt_len = 0;
    if (resume) {
        char path[PATH_MAX + 64];
        snprintf(path, sizeof path, "%s/checkpoints/cell-%d.safetensors", m->run_dir, cell);
        if (lpz_is_file(path) && lpz_read_file(path, LPZ_WIRE_MAX_START / 2, &ckpt, &ckpt_len, err)) {
            free(urls);
            return err->code;
        }
    }
    lpz_dist_start s = {.experiment = m->experiment,
                        .grid_k = (uint32_t)m->k,
                        .cell = (uint32_t)cell,
                        .fetch_timeout_ms = (uint32_t)m->fetch_timeout_ms,
                        .n_cells = (uint32_t)m->n_cells,
                        .config = m->config_text,
                        .config_len = m->config_len,
                        .checkpoint = (const uint8_t *)ckpt,
                        .checkpoint_len = ckpt_len};
    memcpy(s.nonce, n->ch.nonce, LPZ_DIST_NONCE);
    lpz_dist_msg q;
    lpz_dist_msg_init(&q);
    lpz_dist_start_put(&q, &s, urls);
    free(urls);
    free(ckpt);
    uint8_t *raw;
    const uint8_t *b;
    size_t bl;
    int rc = call(m, n, LPZ_MSG_START_EXPERIMENT, &q, TRANSFER_MS, LPZ_MSG_START_EXPERIMENT, &raw, &b, &bl, err);
    lpz_dist_msg_free(&q);
    free(raw);
    if (rc)
        return rc;
    snprintf(m->cells[cell].url, sizeof m->cells[cell].url, "%s", url);
    m->cells[cell].node = (int)(n - m->nodes);
    m->cells[cell].status = CELL_RUNNING;
    n->role = NODE_ACTIVE;
    n->cell = cell;
    n->last_ok = now_s();
    n->ckpt_fetched = n->ckpt_tried = n->ckpt_unstored = 0;
    n->last_iteration = 0;
    lpz_log(LPZ_LOG_INFO, "cell %d on %s (%s)%s", cell, n->url, n->ch.name,
            ckpt_len ? ", resumed from its latest checkpoint" : resume ? ", from the start (no checkpoint yet)" : "");
    return LPZ_OK;
}

/* After a release, waits (bounded) until every client used is idle again,
 * so that a master that returned leaves its clients ready for the next. */
static void wait_idle(master *m)
{
    double until = now_s() + RELEASE_WAIT_S;
    for (int i = 0; i < m->n_nodes; i++) {
        node *n = &m->nodes[i];
        if (n->role != NODE_ACTIVE || n->stop_unanswered) /* deaf (stopped, frozen): each HELLO took 1.5 s */
            continue;
        while (now_s() < until) {
            lpz_dist_msg q;
            lpz_dist_msg_init(&q);
            uint8_t *raw;
            const uint8_t *b;
            size_t bl;
            lpz_error e;
            lpz_dist_challenge ch;
            int rc = call(m, n, LPZ_MSG_HELLO, &q, CALL_MS, LPZ_MSG_CHALLENGE, &raw, &b, &bl, &e);
            lpz_dist_msg_free(&q);
            if (!rc) {
                rc = lpz_dist_challenge_decode(b, bl, &ch, &e);
                free(raw);
            }
            if (rc || ch.state == LPZ_DIST_IDLE)
                break;
            usleep(50000);
        }
    }
}

/* Tells every client, in the next heartbeats, where cell `cell` is now
 * served (or LPZ_PEER_GONE_URL: nowhere). */
static void announce_move(master *m, int cell, const char *url)
{
    int k = 0;
    while (k < m->n_moves && (int)m->moves[k].cell != cell)
        k++;
    if (k == LPZ_DIST_MAX_MOVES)
        return; /* more moved cells than a heartbeat carries: its neighbours time out instead */
    m->moves[k].cell = (uint32_t)cell;
    snprintf(m->moves[k].url, sizeof m->moves[k].url, "%.255s", url);
    if (k == m->n_moves)
        m->n_moves++;
}

/* The cell of a lost client (node `lost`): on a spare (re-greeted), else
 * on an idle client answering at the lost one's address (restarted there:
 * it refused the heartbeat as idle), else lost. */
static int reassign(master *m, int cell, node *lost)
{
    mcell *c = &m->cells[cell];
    for (int i = 0; i <= m->n_nodes; i++) {
        node *n = i < m->n_nodes ? &m->nodes[i] : lost;
        if (i < m->n_nodes && n->role != NODE_IDLE)
            continue;
        if (i == m->n_nodes && (!lost || lost->refused != LPZ_ESTATE || !lost->ctl))
            break;
        lpz_error err;
        lpz_error_clear(&err);
        n->role = NODE_UNUSED; /* unless it starts below */
        if (greet(m, n, &err) || start_cell(m, n, cell, 1, &err)) {
            if (i < m->n_nodes)
                lpz_log(LPZ_LOG_WARN, "spare %s cannot take cell %d: %s", n->url, cell, err.message);
            else
                lpz_log(LPZ_LOG_INFO, "cell %d cannot restart on %s: %s", cell, n->url, err.message);
            n->role = i < m->n_nodes ? NODE_UNUSED : NODE_GONE;
            continue;
        }
        if (n == lost) {
            lpz_log(LPZ_LOG_INFO, "cell %d restarted on %s: an idle client answers at that address now (restarted "
                    "there)", cell, n->url);
            n->written_off = 0;
        }
        c->restarts++;
        announce_move(m, cell, c->url);
        return 1;
    }
    c->status = CELL_LOST;
    c->node = -1;
    /* Its neighbours stop asking (each fetch would wait out its timeout,
     * every iteration) and keep its last known individuals. */
    announce_move(m, cell, LPZ_PEER_GONE_URL);
    lpz_log(LPZ_LOG_ERROR, "cell %d is lost (no spare client): the run finishes with the others", cell);
    return 0;
}

/* A heartbeat's payload: where the moved cells are served now. */
static void put_moves(const master *m, lpz_dist_msg *q)
{
    lpz_dist_put_u32(q, (uint32_t)m->n_moves);
    for (int i = 0; i < m->n_moves; i++) {
        lpz_dist_put_u32(q, m->moves[i].cell);
        lpz_dist_put_str(q, m->moves[i].url);
    }
}

static int fetch_files(master *m, node *n, lpz_ctl_client *ctl, unsigned type, lpz_dist_files *out, uint8_t **raw,
                       lpz_error *err)
{
    lpz_dist_msg q;
    lpz_dist_msg_init(&q);
    const uint8_t *b;
    size_t bl;
    int rc = call_on(m, &m->ctx, n, ctl, type, &q, TRANSFER_MS, type, raw, &b, &bl, err);
    lpz_dist_msg_free(&q);
    if (!rc && (rc = lpz_dist_files_decode(b, bl, out, err))) {
        free(*raw);
        *raw = NULL;
    }
    return rc;
}

static void *xfer_main(void *arg)
{
    xfer *x = arg;
    lpz_error_clear(&x->err);
    x->rc = fetch_files(x->m, x->n, x->n->xctl, x->type, &x->f, &x->raw, &x->err);
    __atomic_store_n(&x->done, 1, __ATOMIC_RELEASE);
    return NULL;
}

static void xfer_start(master *m, node *n, unsigned type, uint32_t version)
{
    lpz_error e;
    if (!n->xctl && lpz_ctl_dial(n->url, (size_t)LPZ_WIRE_MAX_FRAME, &n->xctl, &e)) {
        lpz_log(LPZ_LOG_DEBUG, "%s of cell %d: %s (asking again)", lpz_msg_type_name(type), n->cell, e.message);
        return;
    }
    xfer *x = calloc(1, sizeof *x);
    if (!x)
        return; /* asked again at the next heartbeat */
    x->m = m;
    x->n = n;
    x->type = type;
    x->version = version;
    n->job = x;
    x->threaded = lpz_thread_create(&x->th, xfer_main, x) == 0;
    if (!x->threaded)
        xfer_main(x);
}

/* The node's transfer, ended (cancelled first when `cancel`): free it with
 * xfer_free. NULL when there was none. */
static xfer *xfer_end(node *n, int cancel)
{
    xfer *x = n->job;
    if (!x)
        return NULL;
    if (cancel)
        lpz_ctl_client_cancel(n->xctl);
    if (x->threaded)
        pthread_join(x->th, NULL);
    n->job = NULL;
    if (cancel) { /* a cancelled connection refuses later requests */
        lpz_ctl_client_close(n->xctl);
        n->xctl = NULL;
    }
    return x;
}

static void xfer_free(xfer *x)
{
    if (!x)
        return;
    if (!x->rc)
        lpz_dist_files_free(&x->f);
    free(x->raw);
    free(x);
}

/* Every transfer still in flight cancelled, and the connections closed. */
static void xfer_end_all(master *m)
{
    for (int i = 0; m->nodes && i < m->n_nodes; i++) {
        xfer_free(xfer_end(&m->nodes[i], 1));
        lpz_ctl_client_close(m->nodes[i].xctl);
        m->nodes[i].xctl = NULL;
    }
}

/* A HEARTBEAT carrying the moved cells' addresses; the reply as call(). */
static int heartbeat_within(master *m, node *n, int timeout_ms, uint8_t **raw, const uint8_t **b, size_t *bl,
                            lpz_error *e)
{
    lpz_dist_msg q;
    lpz_dist_msg_init(&q);
    put_moves(m, &q);
    int rc = call(m, n, LPZ_MSG_HEARTBEAT, &q, timeout_ms, LPZ_MSG_HEARTBEAT, raw, b, bl, e);
    lpz_dist_msg_free(&q);
    return rc;
}

static int heartbeat(master *m, node *n, uint8_t **raw, const uint8_t **b, size_t *bl, lpz_error *e)
{
    return heartbeat_within(m, n, CALL_MS, raw, b, bl, e);
}

/* The moves told at once, the reply not looked at (the next watch() does). */
static void tell_moves(master *m, node *n)
{
    if (n->job && n->job->type == LPZ_MSG_RESULT) /* a request would count as their receipt (watch) */
        return;
    uint8_t *raw;
    const uint8_t *b;
    size_t bl;
    lpz_error e;
    if (!heartbeat(m, n, &raw, &b, &bl, &e))
        free(raw);
}

/* The cells' data as their clients described them (lpz_dist_status.data:
 * "; "-separated parts): a cell whose sample shape or network parameter
 * count differs from the others' cannot exchange individuals with them, so
 * the run stops (-1, err says which cells have what); another scaling of
 * the data (the units digest) or other data of the same shape (its sample
 * count and fingerprint) is a warning: the cells would mix generators
 * trained on differently scaled or different data. Judged when every cell
 * not lost has said (a client of an older lpz says nothing, or less: the
 * parts it does not send are not judged). */
static int check_data(master *m, lpz_error *err)
{
    /* A resume on data of another sample shape: the client's cell cannot load its checkpoint (it failed blaming
     * the network options); said as soon as one client says, before its cell fails. */
    for (int c = 0; m->trained_shape[0] && c < m->n_cells; c++) {
        static const char key[] = "sample shape "; /* "sample shape [1x28x28]; ..." */
        const char *p = m->cells[c].data;
        if (strncmp(p, key, sizeof key - 1))
            continue;
        p += sizeof key - 1;
        size_t len = strcspn(p, ";");
        if (len == strlen(m->trained_shape) && !strncmp(p, m->trained_shape, len))
            continue;
        const node *n = m->cells[c].node >= 0 ? &m->nodes[m->cells[c].node] : NULL;
        lpz_error_set(err, LPZ_EINVAL, "cannot resume %s: its networks were trained on samples of shape %s (%s), "
                      "the data of cell %d's client (%s) have samples of shape %.*s", m->run_dir, m->trained_shape,
                      m->trained_from, c, n ? n->url : "?", (int)len, p);
        lpz_error_hint(err, "resume with the data the run trained on (without --set dataloader.*: the run's "
                            "config.yml names it), or train a new run on this data");
        return -1;
    }
    for (int c = 0; c < m->n_cells; c++) /* judged once every cell is known: the message names them all */
        if (m->cells[c].status != CELL_LOST && !m->cells[c].data[0])
            return 0;
    for (int part = 0; part < 4; part++) {
        char val[64][LPZ_DIST_DATA_MAX + 1];
        int nv = 0, of[LPZ_DIST_MAX_CELLS];
        for (int c = 0; c < m->n_cells; c++) {
            of[c] = -1;
            const char *p = m->cells[c].data;
            for (int k = 0; k < part && p; k++)
                p = (p = strstr(p, "; ")) ? p + 2 : NULL;
            if (!p || !p[0])
                continue;
            size_t len = strcspn(p, ";");
            int v = 0;
            while (v < nv && (strlen(val[v]) != len || strncmp(val[v], p, len)))
                v++;
            if (v == nv && nv < 64)
                snprintf(val[nv++], sizeof val[0], "%.*s", (int)len, p);
            of[c] = v < nv ? v : -1;
        }
        if (nv < 2)
            continue;
        char msg[900];
        size_t k = 0;
        for (int v = 0; v < nv && k < sizeof msg - 80; v++) {
            k += (size_t)snprintf(msg + k, sizeof msg - k, "%s%s on", v ? "; " : "", val[v]);
            int first = 1;
            for (int c = 0; c < m->n_cells && k < sizeof msg - 80; c++) {
                if (of[c] != v)
                    continue;
                const node *n = m->cells[c].node >= 0 ? &m->nodes[m->cells[c].node] : NULL;
                k += (size_t)snprintf(msg + k, sizeof msg - k, "%s cell %d (%s)", first ? "" : ",", c,
                                      n ? n->url : "?");
                first = 0;
            }
        }
        if (part < 2) {
            lpz_error_set(err, LPZ_EINVAL, "the clients' data differ: %s", msg);
            lpz_error_hint(err, "every client must read the same data (dataloader options and files; a relative "
                                "path is read from each client's current folder): the cells exchange individuals");
            return -1;
        }
        if (part == 2 && !m->units_warned) {
            m->units_warned = 1;
            lpz_log(LPZ_LOG_WARN, "the clients' data are scaled differently (digests of the units record: %s): "
                    "the cells mix generators trained on differently scaled data; give every client the same data "
                    "files", msg);
        }
        if (part == 3 && !m->content_warned) {
            m->content_warned = 1;
            lpz_log(LPZ_LOG_WARN, "the clients' data differ (samples and a fingerprint of 64 of them: %s): each "
                    "cell trains on its own client's data and the cells mix generators trained on different data; "
                    "give every client the same data files", msg);
        }
    }
    return 0;
}

/* A finished transfer of node n taken in: a checkpoint stored, results
 * stored and the cell done. -1 (err set) when results cannot be stored. */
static int collect(master *m, node *n, lpz_dist_outcome *out, lpz_error *err)
{
    xfer *x = xfer_end(n, 0);
    mcell *c = &m->cells[n->cell];
    lpz_error e;
    int rc = 0;
    if (!x->rc)
        n->last_ok = now_s(); /* it answered: a long transfer does not count as silence */
    if (x->type == LPZ_MSG_CHECKPOINT)
        n->ckpt_tried = x->version;
    if (x->type == LPZ_MSG_CHECKPOINT && !x->rc) {
        if (store_files(m, n->cell, &x->f, &e)) { /* tried again at the next checkpoint; said once a cell */
            n->ckpt_unstored = x->version;
            if (!c->ckpt_warned)
                lpz_log(LPZ_LOG_WARN, "checkpoint of cell %d not stored: %s%s%s (a --resume needs it; tried "
                        "again at each checkpoint, said once)", n->cell, e.message, e.where[0] ? ": " : "", e.where);
            c->ckpt_warned = 1;
        } else {
            n->ckpt_fetched = x->version;
        }
    } else if (x->type == LPZ_MSG_CHECKPOINT) {
        lpz_log(LPZ_LOG_DEBUG, "checkpoint of cell %d: %s", n->cell, x->err.message);
    } else if (c->status == CELL_RUNNING && !x->rc) {
        if (store_files(m, n->cell, &x->f, err)) {
            rc = -1;
        } else {
            lpz_dist_cell_outcome *r = &out->cells[n->cell];
            r->received = 1;
            r->iterations = (int)x->f.iterations;
            r->stopped = x->f.stopped;
            r->best_g_fitness = x->f.best_g_fitness;
            r->score = x->f.score;
            snprintf(r->client, sizeof r->client, "%s", n->url);
            c->status = CELL_DONE;
            lpz_log(LPZ_LOG_INFO, "cell %d: results received from %s (%u files)", n->cell, n->url, x->f.n_files);
        }
    } else if (c->status == CELL_RUNNING) {
        lpz_log(LPZ_LOG_WARN, "results of cell %d: %s (asking again)", n->cell, x->err.message);
    }
    xfer_free(x);
    return rc;
}

/* One heartbeat round trip with node n; 1 when the node is lost. */
static int watch(master *m, node *n, lpz_dist_outcome *out, lpz_error *err)
{
    if (n->job && __atomic_load_n(&n->job->done, __ATOMIC_ACQUIRE) && collect(m, n, out, err))
        return -1;
    /* no request on top of a RESULT transfer: the client takes the next one
     * as the master's receipt of its results (a client stopped with Ctrl-C
     * then exits) */
    if (n->job && n->job->type == LPZ_MSG_RESULT)
        return 0;
    mcell *c = &m->cells[n->cell];
    uint8_t *raw;
    const uint8_t *b;
    size_t bl;
    lpz_error e;
    lpz_dist_status st;
    int rc = heartbeat(m, n, &raw, &b, &bl, &e);
    if (!rc) {
        rc = lpz_dist_status_decode(b, bl, &st, &e);
        free(raw);
    }
    if (!rc && (st.experiment != m->experiment || (int)st.cell != n->cell))
        rc = lpz_error_set(&e, LPZ_ENET, "reports experiment %016" PRIx64 " cell %u", st.experiment, st.cell);
    if (rc) {
        /* A refusal means the client no longer runs this experiment
         * (restarted or gave up): lost at once. Silence is lost after the
         * heartbeat timeout. */
        double silent = now_s() - n->last_ok;
        if (rc == LPZ_ENET || silent > m->hb_timeout_ms / 1000.0) {
            if (rc == LPZ_ETIMEOUT) /* the request's own timeout is not how long it has been silent */
                lpz_error_set(&e, LPZ_ETIMEOUT, "no answer for %.1f s (heartbeat timeout %d ms)", silent,
                              m->hb_timeout_ms);
            if (m->cells[n->cell].status == CELL_RUNNING)
                lpz_log(LPZ_LOG_ERROR, "client %s (cell %d) lost: %s", n->url, n->cell, e.message);
            else /* its results are here already (a client stopped with Ctrl-C, say) */
                lpz_log(LPZ_LOG_INFO, "client %s (cell %d, results collected) left: %s", n->url, n->cell,
                        e.message);
            xfer_free(xfer_end(n, 1)); /* a checkpoint transfer from it will not end well */
            return 1;
        }
        return 0;
    }
    n->last_ok = now_s();
    n->last_iteration = (int)st.iteration;
    if (st.data[0] && strcmp(st.data, c->data)) {
        snprintf(c->data, sizeof c->data, "%s", st.data);
        if (check_data(m, err))
            return -1;
    }
    if (st.state == LPZ_DIST_FAILED)
        return lpz_error_set(err, LPZ_EINVAL, "cell %d on %s failed: %s", n->cell, n->url, st.text), -1;
    /* One transfer at a time, the checkpoint first (collected at a later heartbeat). A checkpoint that could not
     * be stored is not fetched again until a newer one; a finished cell's is tried once, then its results come
     * (a checkpoint fetched again and again kept them from ever being asked for). */
    uint32_t v = st.checkpoint_version;
    if (!n->job && v > n->ckpt_fetched && v > n->ckpt_unstored &&
        (st.state != LPZ_DIST_FINISHED || v > n->ckpt_tried))
        xfer_start(m, n, LPZ_MSG_CHECKPOINT, v);
    else if (!n->job && st.state == LPZ_DIST_FINISHED && c->status == CELL_RUNNING)
        xfer_start(m, n, LPZ_MSG_RESULT, 0);
    return 0;
}

/* A client declared lost while its cell ran may live on (stopped with
 * SIGSTOP, cut off for longer than the heartbeat timeout) and train on
 * after it comes back. Every 2 s until it answers: when its cell went to
 * another client (or the run is stopping), it is told to drop the
 * experiment (an authenticated STOP, abort); when the cell is lost (no
 * spare) and it answers a heartbeat for it, the cell is back in the run
 * on it. A STOP sent to a stopped process waits in its socket and reaches
 * it when it continues. `last` (the end of the run): one more STOP to the
 * unsettled ones. */
static void settle_gone(master *m, int stopping, int last)
{
    for (int i = 0; i < m->n_nodes; i++) {
        node *n = &m->nodes[i];
        if (n->role != NODE_GONE || !n->written_off || !n->ctl || n->cell < 0)
            continue;
        double t = now_s();
        if (!last && t - n->last_try < 2.0)
            continue;
        if (t - n->written_at > SETTLE_GIVE_UP_S) {
            /* by now it dropped the experiment itself, if it lives (LPZ_DIST_MASTER_TIMEOUT_MS, 60 s by default,
             * counts from the master's last word): no more tries, each of which held the run for SETTLE_MS */
            lpz_log(LPZ_LOG_DEBUG, "client %s, written off %.0f s ago, no longer asked", n->url, t - n->written_at);
            n->written_off = 0;
            continue;
        }
        n->last_try = t;
        mcell *c = &m->cells[n->cell];
        if (!last && !stopping && c->status == CELL_LOST && c->node < 0) {
            uint8_t *raw;
            const uint8_t *b;
            size_t bl;
            lpz_error e;
            lpz_dist_status st;
            n->refused = 0;
            int rc = heartbeat_within(m, n, SETTLE_MS, &raw, &b, &bl, &e);
            if (!rc) {
                rc = lpz_dist_status_decode(b, bl, &st, &e);
                free(raw);
            }
            if (rc && n->refused == LPZ_ESTATE) {
                /* a client started again at that address after the cell was written off (a restart slower
                 * than the heartbeat timeout): the cell restarts there from its checkpoint */
                int cell = n->cell;
                lpz_error_clear(&e);
                if (!greet(m, n, &e) && !start_cell(m, n, cell, 1, &e)) {
                    lpz_log(LPZ_LOG_INFO, "cell %d restarted on %s: an idle client answers at that address now "
                            "(restarted there)", cell, n->url);
                    n->written_off = 0;
                    c->restarts++;
                    announce_move(m, cell, c->url);
                } else {
                    n->role = NODE_GONE;
                }
                continue;
            }
            if (rc || st.experiment != m->experiment || (int)st.cell != n->cell || st.state == LPZ_DIST_FAILED)
                continue;
            lpz_log(LPZ_LOG_WARN, "client %s (cell %d) answers again: cell %d is back in the run there", n->url,
                    n->cell, n->cell);
            n->written_off = 0;
            n->role = NODE_ACTIVE;
            n->last_ok = now_s();
            c->status = CELL_RUNNING;
            c->node = i;
            announce_move(m, n->cell, c->url);
            continue;
        }
        n->refused = 0;
        if (!send_stop_within(m, n, LPZ_DIST_STOP_ABORT, SETTLE_MS)) {
            lpz_log(LPZ_LOG_INFO, "client %s, written off, answers again: told to drop its copy of cell %d", n->url,
                    n->cell);
            n->written_off = 0;
        } else if (n->refused == LPZ_ESTATE) { /* idle, or busy with another experiment: nothing of ours there */
            lpz_log(LPZ_LOG_INFO, "client %s, written off, answers again: it no longer holds cell %d", n->url,
                    n->cell);
            n->written_off = 0;
        }
    }
}

/* ---- the run ---- */

/* dst (a mixture's copy of a neighbour's network) becomes src (the
 * neighbour's own final one): src's tensors and metadata, with dst's
 * "cell" (the mixture's). Refused when the tensors differ in name, dtype
 * or shape. */
static int replace_network(const char *src, const char *dst, lpz_error *err)
{
    lpz_st_file s, d;
    memset(&s, 0, sizeof s);
    memset(&d, 0, sizeof d);
    int rc = lpz_st_read(src, &s, err);
    if (!rc)
        rc = lpz_st_read(dst, &d, err);
    for (int i = 0; !rc && i < s.n_tensors; i++) {
        const lpz_st_tensor *a = &s.tensors[i], *b = lpz_st_find(&d, a->name);
        if (s.n_tensors != d.n_tensors || !b || a->dtype != b->dtype || a->ndim != b->ndim ||
            memcmp(a->shape, b->shape, sizeof(int64_t) * (size_t)a->ndim))
            rc = lpz_error_set(err, LPZ_EFORMAT, "tensor %s differs from the mixture's (another network?)", a->name);
    }
    if (!rc) {
        const char *cell = lpz_st_meta(&d, "cell");
        const char **vals = malloc((size_t)(s.n_meta ? s.n_meta : 1) * sizeof *vals);
        if (!vals)
            rc = lpz_error_set(err, LPZ_ENOMEM, "out of memory");
        for (int i = 0; vals && i < s.n_meta; i++)
            vals[i] = cell && !strcmp(s.meta_keys[i], "cell") ? cell : s.meta_values[i];
        if (vals)
            rc = lpz_st_write(dst, s.tensors, s.n_tensors, (const char *const *)s.meta_keys, vals, s.n_meta, err);
        free(vals);
    }
    lpz_st_free(&s);
    lpz_st_free(&d);
    return rc;
}

/* Every mixture with its neighbours' final networks. A client saves its
 * mixture with its neighbours' individuals as it last fetched them, at the
 * start of its last iteration (a local run fetches them once more after
 * training, runtime/trainer.c; the original's clients load the final ones
 * when the master gathers the results); each neighbour's own folder holds
 * its final ones (its best by its own fitness, as a local run's last fetch
 * picks). A neighbour without results (lost) stays as the client had it;
 * so does a network that cannot be replaced (a warning). The weights and a
 * client's optimize_mixture were found with the ones it had. */
static void final_neighbours(master *m, const lpz_dist_outcome *out)
{
    static const char *roles[2] = {"generator", "discriminator"};
    for (int c = 0; c < m->n_cells; c++) {
        if (!out->cells[c].received)
            continue;
        char dir[PATH_MAX + 32], src[PATH_MAX + 64], dst[PATH_MAX + 64];
        snprintf(dir, sizeof dir, "%s/master/%d", m->run_dir, c);
        lpz_mixture_file mf;
        memset(&mf, 0, sizeof mf);
        lpz_error e;
        lpz_error_clear(&e);
        if (lpz_mixture_read(dir, &mf, &e)) /* the final scoring names a damaged mixture.yml */
            continue;
        for (int j = 0; j < mf.n; j++) {
            int nb, end = 0;
            if (sscanf(mf.files[j], "generator-%d.safetensors%n", &nb, &end) != 1 || mf.files[j][end] || nb == c ||
                nb < 0 || nb >= m->n_cells || !out->cells[nb].received)
                continue;
            for (int r = 0; r < 2; r++) {
                snprintf(src, sizeof src, "%s/master/%d/%s-%d.safetensors", m->run_dir, nb, roles[r], nb);
                snprintf(dst, sizeof dst, "%s/%s-%d.safetensors", dir, roles[r], nb);
                lpz_error_clear(&e);
                if (replace_network(src, dst, &e))
                    lpz_log(LPZ_LOG_WARN, "cell %d's mixture keeps cell %d's %s as its client last fetched it: %s%s%s",
                            c, nb, roles[r], e.message, e.where[0] ? ": " : "", e.where);
            }
        }
        lpz_mixture_file_free(&mf);
    }
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static void summarise(master *m, lpz_dist_outcome *out)
{
    out->best_cell = -1;
    out->lost = 0;
    double *score = calloc((size_t)m->n_cells, sizeof *score), *fit = calloc((size_t)m->n_cells, sizeof *fit);
    int *present = calloc((size_t)m->n_cells, sizeof *present);
    int complete = 0;
    for (int i = 0; i < m->n_cells; i++) {
        lpz_dist_cell_outcome *r = &out->cells[i];
        r->restarts = m->cells[i].restarts;
        out->lost += !r->received;
        r->incomplete = r->received && !out->stopped && r->iterations < m->n_iterations;
        complete += r->received && !r->incomplete;
    }
    for (int i = 0; i < m->n_cells && score && fit && present; i++) {
        lpz_dist_cell_outcome *r = &out->cells[i];
        score[i] = r->score;
        fit[i] = r->best_g_fitness;
        present[i] = r->received && r->iterations > 0; /* stopped before its first iteration: untrained */
        /* a cell whose client was stopped early is not compared with complete ones */
        present[i] &= !(complete && r->incomplete);
    }
    if (score && fit && present)
        out->best_cell = lpz_run_best_cell(m->n_cells, score, fit, present, lpz_run_score_higher(m->cfg));
    free(score), free(fit), free(present);
    /* Median seconds per iteration from the timing rows (3rd column). */
    double *s = calloc((size_t)(m->n_cells * m->n_iterations) + 1, sizeof *s);
    int ns = 0;
    for (int c = 0; s && c < m->n_cells; c++)
        for (int it = 1; it <= m->n_iterations; it++) {
            const char *row = m->cells[c].timing[it];
            const char *p = row ? strchr(row, ',') : NULL;
            p = p ? strchr(p + 1, ',') : NULL;
            if (p)
                s[ns++] = strtod(p + 1, NULL);
        }
    if (ns) {
        qsort(s, (size_t)ns, sizeof *s, cmp_double);
        out->seconds_per_iteration = s[ns / 2];
    }
    free(s);
}

/* master.calculate_score: the collected mixtures scored here (the
 * original's master scored the results it gathered), as a local run scores
 * its own (runtime/run.h); the best cell is then the lowest of those. A
 * failure or a stop is a warning: the results are complete. */
static void final_scores(master *m, lpz_dist_outcome *out)
{
    double *sc = calloc((size_t)m->n_cells + 1, sizeof *sc);
    int *its = calloc((size_t)m->n_cells + 1, sizeof *its);
    if (!sc || !its) {
        lpz_log(LPZ_LOG_WARN, "out of memory; no final scores");
        out->final.state = LPZ_FINAL_FAILED;
        free(sc), free(its);
        return;
    }
    for (int c = 0; c < m->n_cells; c++)
        its[c] = out->cells[c].received ? out->cells[c].iterations : -1; /* a lost cell has no mixture */
    lpz_final_request fr = {.cfg = m->cfg, .run_dir = m->run_dir, .n_cells = m->n_cells, .iterations = its,
                            .stop = (volatile int *)m->o->stop, .scoring = m->o->scoring,
                            .registry = m->o->registry};
    lpz_run_final_scoring(&fr, sc, &out->final);
    if (out->final.state == LPZ_FINAL_DONE) {
        int complete = 0;
        for (int c = 0; c < m->n_cells; c++) {
            out->cells[c].score = sc[c];
            complete += out->cells[c].received && !out->cells[c].incomplete;
        }
        for (int c = 0; c < m->n_cells; c++) /* as summarise: cells stopped early are not compared */
            if (complete && out->cells[c].incomplete)
                sc[c] = NAN;
        int best = lpz_run_lowest_score(sc, m->n_cells);
        if (best >= 0)
            out->best_cell = best;
    }
    free(sc), free(its);
}

/* --resume of a run whose training is complete, by final_scores.csv (its
 * final scoring began: lpz_run_trained_for_final) or by its checkpoints
 * and final mixtures (lpz_run_training_complete; `why` says which): no
 * client is needed, only the final scoring is done, or, with
 * master.calculate_score off, nothing (no file changes); the cells'
 * results otherwise come from the run's metrics.csv (its timing.csv rows
 * were loaded by open_resume_dir). */
static int final_scoring_only(master *m, const char *why, lpz_dist_outcome *out, lpz_error *err)
{
    char path[PATH_MAX + 64];
    int score_it = m->cfg->master.calculate_score;
    snprintf(out->run_dir, sizeof out->run_dir, "%s", m->run_dir);
    snprintf(path, sizeof path, "%s/config.yml", m->run_dir); /* the --set values, as a resume that trains */
    int rc = score_it ? lpz_write_file_atomic(path, m->config_text, m->config_len, err) : LPZ_OK;
    double *fit = calloc((size_t)m->n_cells, sizeof *fit), *score = calloc((size_t)m->n_cells, sizeof *score);
    if (!rc && (!fit || !score))
        rc = lpz_error_set(err, LPZ_ENOMEM, "out of memory");
    if (!rc) {
        if (score_it)
            lpz_log(LPZ_LOG_INFO, "the training of this run is complete (%d iteration%s, %s): only the final "
                    "scoring is left, no client is needed", m->n_iterations, m->n_iterations == 1 ? "" : "s", why);
        else
            lpz_log(LPZ_LOG_INFO, "the training of this run is complete (%d iteration%s, %s) and "
                    "master.calculate_score is off: nothing to do, the run folder is left as it is (--set "
                    "trainer.n_iterations=N trains on)", m->n_iterations, m->n_iterations == 1 ? "" : "s", why);
        lpz_error e;
        if (lpz_run_last_rows(m->run_dir, m->n_cells, fit, score, &e))
            lpz_log(LPZ_LOG_WARN, "the cells' latest fitness and score are not known: %s", e.message);
        for (int c = 0; c < m->n_cells; c++) {
            lpz_dist_cell_outcome *r = &out->cells[c];
            r->received = 1;
            r->iterations = m->n_iterations;
            r->best_g_fitness = fit[c];
            r->score = score[c];
        }
        out->trained_before = 1;
        summarise(m, out);
        if (score_it)
            final_scores(m, out);
    }
    free(fit), free(score);
    return rc;
}

/* general.distribution.auto_discover with no client listed: the open
 * ports 5000-5099 of this machine and of its subnets' hosts (discover.h),
 * each a node; pick_discovered then keeps one endpoint per idle client. */
static int discover_nodes(master *m, lpz_error *err)
{
    lpz_dist_scan sc;
    double t0 = now_s();
    int rc = lpz_dist_discover(LPZ_DIST_DEFAULT_PORT, LPZ_DIST_PORT_SPAN, DISCOVER_MS, 0, &sc, err);
    if (rc)
        return rc;
    lpz_log(LPZ_LOG_INFO, "auto_discover: asked %d address%s (%s) on ports %d-%d in %.1f s: %d answered, %d open "
            "port%s", sc.n_hosts, sc.n_hosts == 1 ? "" : "es", sc.nets, LPZ_DIST_DEFAULT_PORT,
            LPZ_DIST_DEFAULT_PORT + LPZ_DIST_PORT_SPAN - 1, now_s() - t0, sc.n_alive, sc.n_open,
            sc.n_open == 1 ? "" : "s");
    if (sc.narrowed[0])
        lpz_log(LPZ_LOG_WARN, "auto_discover: of subnets larger than %d addresses only the /22 around this machine "
                "was asked: %s (to use clients elsewhere there, list every client in "
                "general.distribution.client_nodes: a list turns auto_discover off)", LPZ_DIST_DISCOVER_MAX_HOSTS,
                sc.narrowed);
    memcpy(m->own, sc.own, sizeof m->own);
    m->n_own = sc.n_own;
    m->nodes = calloc((size_t)(sc.n_open ? sc.n_open : 1), sizeof *m->nodes);
    if (!m->nodes) {
        lpz_dist_scan_free(&sc);
        return lpz_error_set(err, LPZ_ENOMEM, "out of memory");
    }
    for (int i = 0; i < sc.n_open; i++) {
        node *x = &m->nodes[m->n_nodes++];
        x->ep = sc.open[i];
        lpz_dist_ip_string(x->ep.ip, x->address, sizeof x->address);
        x->port = x->ep.port;
    }
    lpz_dist_scan_free(&sc);
    return LPZ_OK;
}

/* After the HELLO round: one endpoint per idle client (discover.h); the
 * others are skipped, those where no idle client answered are reported
 * with the other unusable nodes. */
static void pick_discovered(master *m)
{
    lpz_dist_endpoint *e = calloc((size_t)m->n_nodes + 1, sizeof *e);
    if (!e)
        return; /* then every answering endpoint is greeted */
    for (int i = 0; i < m->n_nodes; i++) {
        e[i] = m->nodes[i].ep;
        e[i].instance = m->nodes[i].why[0] ? 0 : m->nodes[i].ch.instance;
    }
    int used = lpz_dist_discover_pick(e, m->n_nodes, m->own, m->n_own);
    for (int i = 0; i < m->n_nodes; i++) {
        node *n = &m->nodes[i];
        if (e[i].loopback_only)
            lpz_log(LPZ_LOG_WARN, "auto_discover: the client on 127.0.0.1:%d not used: it listens on loopback "
                    "only, which the clients found on other machines cannot reach (start it with a shared secret, "
                    "or with --bind 0.0.0.0)", n->port);
        n->skip = e[i].use ? 0 : n->why[0] ? 2 : 1;
        if (n->skip == 1) {
            lpz_ctl_client_close(n->ctl);
            n->ctl = NULL;
        }
    }
    lpz_log(LPZ_LOG_INFO, "auto_discover: %d idle client%s to greet", used, used == 1 ? "" : "s");
    free(e);
}

static int load_nodes(master *m, lpz_error *err)
{
    const lpz_config *cfg = m->cfg;
    int n = cfg->general.distribution.n_client_nodes;
    int auto_d = n == 0 && cfg->general.distribution.auto_discover;
    if (n == 0 && !auto_d)
        return lpz_error_set(err, LPZ_EINVAL, "no clients: general.distribution.client_nodes is empty"),
               lpz_error_hint(err, "list the clients (address and port, e.g. port: 5000-5003) or set "
                                   "general.distribution.auto_discover: true to look for them on ports 5000-5099 "
                                   "of this machine and of the hosts of its subnets"),
               LPZ_EINVAL;
    if (auto_d) {
        int rc = discover_nodes(m, err);
        if (rc)
            return rc;
    } else {
        m->nodes = calloc((size_t)n, sizeof *m->nodes);
        if (!m->nodes)
            return lpz_error_set(err, LPZ_ENOMEM, "out of memory");
        m->n_nodes = n;
        for (int i = 0; i < n; i++) {
            snprintf(m->nodes[i].address, sizeof m->nodes[i].address, "%s",
                     cfg->general.distribution.client_nodes[i].address);
            m->nodes[i].port = cfg->general.distribution.client_nodes[i].port;
            /* A client listed twice counts as two (under two addresses:
             * check_listed). */
            for (int j = 0; j < i; j++)
                if (m->nodes[j].port == m->nodes[i].port && !strcmp(m->nodes[j].address, m->nodes[i].address)) {
                    lpz_error_set(err, LPZ_EINVAL, "general.distribution.client_nodes lists %s port %d twice "
                                  "(entries %d and %d)", m->nodes[i].address, m->nodes[i].port, j + 1, i + 1);
                    lpz_error_hint(err, "list each client once (a port range such as 5000-5003 is one entry per "
                                        "port)");
                    return LPZ_EINVAL;
                }
        }
    }
    for (int i = 0; i < m->n_nodes; i++) {
        node *x = &m->nodes[i];
        char host[LPZ_CONFIG_NAME_MAX + 2];
        host_of(x, host, sizeof host);
        snprintf(x->url, sizeof x->url, "tcp://%s:%d", host, x->port);
        x->cell = -1;
    }
    return LPZ_OK;
}

/* After the HELLO round on listed clients: one client listed under two
 * addresses (localhost and 127.0.0.1, a name and its address) answers both
 * with its instance number, and would count as two (the second cell
 * started there refused: busy). Clients that did not answer idle are not
 * greeted again (their reason is reported with the others). */
static int check_listed(master *m, lpz_error *err)
{
    for (int i = 0; i < m->n_nodes; i++) {
        node *a = &m->nodes[i];
        if (a->why[0]) {
            a->skip = 2;
            continue;
        }
        for (int j = 0; j < i; j++) {
            node *b = &m->nodes[j];
            if (b->why[0] || b->ch.instance != a->ch.instance)
                continue;
            lpz_error_set(err, LPZ_EINVAL, "general.distribution.client_nodes: %s port %d and %s port %d are the "
                          "same client (host %s)", b->address, b->port, a->address, a->port, a->ch.name);
            lpz_error_hint(err, "list each client once, under one address");
            return LPZ_EINVAL;
        }
    }
    return LPZ_OK;
}

void lpz_dist_outcome_free(lpz_dist_outcome *out)
{
    free(out->cells);
    out->cells = NULL;
}

/* 0, 1 (Ctrl-C: stop after the batch, collect) or 2 (twice: abort) */
static int stop_wanted(const lpz_dist_master_options *o)
{
    return o->stop ? __atomic_load_n(o->stop, __ATOMIC_SEQ_CST) : 0;
}

int lpz_dist_master_run(const lpz_dist_master_options *o, lpz_dist_outcome *out, lpz_error *err)
{
    memset(out, 0, sizeof *out);
    out->best_cell = -1;
    double t0 = now_s(), t_trained = 0;
    master mm, *m = &mm;
    memset(m, 0, sizeof *m);
    m->lock = -1;
    m->o = o;
    m->cfg = o->config;
    m->secret = o->secret && o->secret[0] ? o->secret : NULL;
    m->hb_timeout_ms = o->heartbeat_timeout_ms > 0 ? o->heartbeat_timeout_ms : 5000;
    m->fetch_timeout_ms = o->fetch_timeout_ms > 0 ? o->fetch_timeout_ms : 5000;
    lpz_dist_master_options oo = *o;
    if (oo.discover_timeout_ms <= 0)
        oo.discover_timeout_ms = 1500;
    m->o = &oo;
    lpz_train_params p;
    char parent[PATH_MAX], parent_top[PATH_MAX] = ""; /* a new run's folders, removed when left unused */
    lpz_run_apply_precision(m->cfg); /* the master scores mixtures (master.calculate_score) */
    int rc = lpz_train_params_from_config(m->cfg, &p, err);
    if (rc)
        return rc;
    m->k = p.grid_k;
    m->n_cells = p.grid_k * p.grid_k;
    m->n_iterations = p.n_iterations;
    uint8_t rnd[8];
    lpz_ctl_random(rnd, sizeof rnd, err);
    for (int i = 0; i < 8; i++)
        m->experiment = m->experiment << 8 | rnd[i];
    m->experiment |= 1;
    m->next_id = m->experiment ^ 0x5bd1e995u;
    out->experiment = m->experiment;
    lpz_wire_ctx_init_control(&m->ctx, m->experiment, m->secret);
    lpz_wire_ctx_init_control(&m->rx, 0, m->secret);
    out->n_cells = m->n_cells;
    out->cells = calloc((size_t)m->n_cells, sizeof *out->cells);
    m->cells = calloc((size_t)m->n_cells, sizeof *m->cells);
    if (!out->cells || !m->cells) {
        rc = lpz_error_set(err, LPZ_ENOMEM, "out of memory");
        goto done;
    }
    for (int i = 0; i < m->n_cells; i++) {
        out->cells[i].cell = i;
        out->cells[i].score = NAN;
        m->cells[i].node = -1;
        m->cells[i].metrics = calloc((size_t)m->n_iterations + 1, sizeof(char *));
        m->cells[i].timing = calloc((size_t)m->n_iterations + 1, sizeof(char *));
        if (!m->cells[i].metrics || !m->cells[i].timing) {
            rc = lpz_error_set(err, LPZ_ENOMEM, "out of memory");
            goto done;
        }
    }
    if (o->resume_dir && (rc = open_resume_dir(m, o->resume_dir, err)))
        goto done;
    if ((rc = load_nodes(m, err)))
        goto done;

    /* The configuration every client trains with, as text. */
    FILE *mem = open_memstream(&m->config_text, &m->config_len);
    if (!mem) {
        rc = lpz_error_set(err, LPZ_ENOMEM, "out of memory");
        goto done;
    }
    rc = lpz_config_dump(m->cfg, mem, err);
    fclose(mem);
    if (rc)
        goto done;
    if (o->resume_dir) {
        const char *complete = NULL;
        if (lpz_run_trained_for_final(m->run_dir, m->n_cells, m->n_iterations))
            complete = LPZ_FINAL_SCORES_FILE;
        else if (lpz_run_training_complete(m->run_dir, m->n_cells, m->n_iterations))
            complete = "checkpoints and final mixtures";
        if (complete) {
            rc = final_scoring_only(m, complete, out, err);
            goto done;
        }
    }

    greet_all(m, 1);
    if (!m->cfg->general.distribution.n_client_nodes) /* auto_discover */
        pick_discovered(m);
    else if ((rc = check_listed(m, err)))
        goto done;
    greet_all(m, 0);
    int idle = 0;
    for (int i = 0; i < m->n_nodes; i++) {
        node *n = &m->nodes[i];
        if (n->role == NODE_IDLE)
            idle++;
        else if (n->skip == 1)
            continue; /* another endpoint of the same client, or loopback only (said above) */
        else if (m->cfg->general.distribution.n_client_nodes > 0 || !strstr(n->why, "no answer"))
            lpz_log(LPZ_LOG_WARN, "client %s not used: %s", n->url, n->why);
        else /* auto_discover: an open port of something else */
            lpz_log(LPZ_LOG_INFO, "auto_discover: %s is open but no lpz client answered", n->url);
    }
    lpz_log(LPZ_LOG_INFO, "%d idle client%s for a %dx%d grid (%d cell%s); heartbeat timeout %d ms, neighbour fetch "
            "timeout %d ms", idle, idle == 1 ? "" : "s", m->k, m->k, m->n_cells, m->n_cells == 1 ? "" : "s",
            m->hb_timeout_ms, m->fetch_timeout_ms);
    if (idle < m->n_cells) {
        rc = lpz_error_set(err, LPZ_ESTATE, "a %dx%d grid needs %d idle client%s, %d answered", m->k, m->k,
                           m->n_cells, m->n_cells == 1 ? "" : "s", idle);
        lpz_error_hint(err, "start more clients (lpz train --distributed --client), check addresses, ports, "
                            "the shared secret and TLS (master and clients both with certificates from one CA, or "
                            "both without), or lower general.grid_size; a client busy with the experiment of a "
                            "master that is gone drops it after LPZ_DIST_MASTER_TIMEOUT_MS (60 s by default)");
        goto done;
    }

    if (o->resume_dir) {
        snprintf(out->run_dir, sizeof out->run_dir, "%s", m->run_dir);
    } else {
        snprintf(parent, sizeof parent, "%s/%s", p.output_dir, p.trainer_name); /* as lpz_run_make_dir */
        lpz_missing_top(parent, parent_top, sizeof parent_top);
        if ((rc = lpz_run_make_dir(&p, out->run_dir, sizeof out->run_dir, err)) ||
            (rc = lpz_run_lock(out->run_dir, &m->lock, err)))
            goto done;
        snprintf(m->lock_dir, sizeof m->lock_dir, "%s", out->run_dir);
    }
    snprintf(m->run_dir, sizeof m->run_dir, "%s", out->run_dir);
    char path[PATH_MAX + 64];
    rc = LPZ_EINVAL;
    if (snprintf(path, sizeof path, "%s/config.yml", out->run_dir) >= (int)sizeof path ||
        (rc = lpz_write_file_atomic(path, m->config_text, m->config_len, err)))
        goto done;
    rc = LPZ_EINVAL;
    if (snprintf(path, sizeof path, "%s/checkpoints", out->run_dir) >= (int)sizeof path ||
        (rc = lpz_mkdirs(path, err)))
        goto done;
    write_experiment_id(m);
    remember_dir(m);
    lpz_run_hints(m->cfg); /* not in front of an error about the configuration or the clients */
    lpz_log(LPZ_LOG_INFO, "experiment %016" PRIx64 ", results in %s", m->experiment, m->run_dir);

    /* Every cell's address first (START carries all of them). */
    int next = 0;
    for (int c = 0; c < m->n_cells; c++) {
        while (m->nodes[next].role != NODE_IDLE)
            next++;
        node *n = &m->nodes[next++];
        char host[LPZ_CONFIG_NAME_MAX + 2];
        host_of(n, host, sizeof host);
        snprintf(m->cells[c].url, sizeof m->cells[c].url, "tcp://%s:%u", host, n->ch.cell_port);
        m->cells[c].node = (int)(n - m->nodes);
    }
    m->started = 1;
    int moved = 0;
    for (int c = 0; c < m->n_cells; c++) {
        node *n = &m->nodes[m->cells[c].node];
        n->refused = 0;
        rc = start_cell(m, n, c, o->resume_dir != NULL, err);
        /* Another master started an experiment there since the greeting
         * (two masters at once on the same clients): the cell goes to an
         * idle client not used yet, if any, and the cells started before
         * it hear where it is in their next heartbeat. */
        while (rc && n->refused == LPZ_ESTATE) {
            node *to = NULL;
            for (int i = 0; i < m->n_nodes && !to; i++) {
                int used = m->nodes[i].role != NODE_IDLE;
                for (int x = 0; x < m->n_cells && !used; x++)
                    used = m->cells[x].node == i;
                if (!used)
                    to = &m->nodes[i];
            }
            if (!to)
                break;
            lpz_log(LPZ_LOG_WARN, "client %s was taken by another master since the greeting (busy with another "
                    "experiment): cell %d goes to %s", n->url, c, to->url);
            n->role = NODE_UNUSED;
            n = to;
            n->refused = 0;
            m->cells[c].node = (int)(n - m->nodes);
            rc = start_cell(m, n, c, o->resume_dir != NULL, err);
            if (!rc)
                announce_move(m, c, m->cells[c].url);
            moved |= !rc && c > 0;
        }
        if (rc) {
            lpz_error_context(err, "starting cell %d", c);
            stop_all(m, LPZ_DIST_STOP_ABORT);
            goto done;
        }
    }
    if (moved) /* the cells started before a moved one learn where it is now, not a tick later */
        for (int i = 0; i < m->n_nodes; i++)
            if (m->nodes[i].role == NODE_ACTIVE)
                tell_moves(m, &m->nodes[i]);

    int stop_sent = 0, min_logged = 0;
    for (;;) {
        int want = stop_wanted(o);
        if (want >= 2) {
            lpz_log(LPZ_LOG_WARN, "aborting: every client drops the experiment");
            stop_all(m, LPZ_DIST_STOP_ABORT);
            out->stopped = 1;
            out->dropped = 1;
            break;
        }
        if (want == 1 && !stop_sent) {
            lpz_log(LPZ_LOG_INFO, "stopping every cell after its current batch; collecting results");
            stop_all(m, LPZ_DIST_STOP_TRAINING);
            stop_sent = 1;
            out->stopped = 1;
        }
        int running = 0, min_it = m->n_iterations;
        for (int i = 0; i < m->n_nodes; i++) {
            node *n = &m->nodes[i];
            if (stop_wanted(o) >= 2)
                break; /* Ctrl-C twice: at once, not after the round (a deaf client takes 1.5 s of it) */
            if (n->role != NODE_ACTIVE)
                continue;
            if (m->cells[n->cell].status != CELL_RUNNING) {
                /* Finished: keep it from giving up on us (its cell still
                 * serves its neighbours) until everyone is done. */
                if (now_s() - n->last_ok > 1.0 && watch(m, n, out, err) == 1) {
                    n->role = NODE_GONE;
                    /* its cell no longer serves: the neighbours still
                     * training stop asking it (they waited out the fetch
                     * timeout every iteration) */
                    announce_move(m, n->cell, LPZ_PEER_GONE_URL);
                }
                continue;
            }
            int lost = watch(m, n, out, err);
            if (lost < 0) {
                stop_all(m, LPZ_DIST_STOP_ABORT);
                rc = err->code ? err->code : LPZ_EINVAL;
                goto done;
            }
            if (lost) {
                n->role = NODE_GONE;
                int cell = n->cell;
                if (m->cfg->general.distribution.master_node.exit_clients_on_disconnect) {
                    stop_all(m, LPZ_DIST_STOP_ABORT);
                    out->aborted = 1;
                    rc = lpz_error_set(err, LPZ_ENET,
                                       "client %s (cell %d) was lost; the experiment was stopped on every client",
                                       n->url, cell);
                    lpz_error_hint(err, "set general.distribution.master_node.exit_clients_on_disconnect: false "
                                        "to continue without it (or on a spare client)");
                    goto done;
                }
                n->written_off = 1;
                n->written_at = n->last_try = now_s();
                if (reassign(m, cell, n) && stop_sent)
                    send_stop(m, &m->nodes[m->cells[cell].node], LPZ_DIST_STOP_TRAINING);
            }
            if (m->cells[n->cell].status == CELL_RUNNING && n->role == NODE_ACTIVE) {
                running++;
                if (n->last_iteration < min_it)
                    min_it = n->last_iteration;
            }
        }
        if (stop_wanted(o) >= 2)
            continue;
        settle_gone(m, stop_sent, 0);
        /* Moved cells are watched from their new node on the next round. */
        int pending = 0;
        for (int c = 0; c < m->n_cells; c++)
            pending += m->cells[c].status == CELL_RUNNING;
        if (!pending)
            break;
        if (running && min_it > min_logged) {
            min_logged = min_it;
            lpz_log(LPZ_LOG_INFO, "iteration %d of %d done on every running cell", min_it, m->n_iterations);
        }
        usleep(TICK_US);
    }
    xfer_end_all(m); /* checkpoints in flight when the last results came, a run aborted */
    /* Everyone may go back to idle (an abort told them already: a STOP again only met idle clients, and a deaf one
     * held the master 3 s more). */
    if (!out->dropped)
        stop_all(m, LPZ_DIST_STOP_RELEASE);
    settle_gone(m, 1, 1);
    if (!out->dropped)
        wait_idle(m);
    rc = write_merged(m, err);
    final_neighbours(m, out);
    summarise(m, out);
    t_trained = now_s(); /* the summary's training time leaves out the final scoring (as a local run's) */
    if (!rc && !out->stopped && out->lost == m->n_cells) { /* nothing to show: a failure, not "trained 0 cells" */
        rc = lpz_error_set(err, LPZ_ENET, "every cell was lost (%d of %d): no results arrived", out->lost,
                           m->n_cells);
        lpz_error_hint(err, "the warnings above say how each client was lost; --resume continues from the "
                            "checkpoints the master holds");
        goto done;
    }
    if (!rc && !out->stopped && m->cfg->master.calculate_score)
        final_scores(m, out);
    if (!rc && out->lost && !out->dropped)
        lpz_log(LPZ_LOG_WARN, "%d of %d cells lost; their results are missing", out->lost, m->n_cells);
done:
    xfer_end_all(m); /* before their files are written below */
    /* Rows collected before a failure are kept; a run that never started
     * a cell has none of its own (and a resumed folder's files stay as
     * they are). */
    if (rc && m->run_dir[0] && m->started && m->new_rows) { /* header-only files would keep an empty folder */
        lpz_error e2;
        write_merged(m, &e2);
    }
    /* A resume that failed before any cell sent a row (a bad --set value or
     * checkpoint) leaves config.yml as it was, as a local one does. */
    if (rc && m->old_config && !m->new_rows) {
        char path[PATH_MAX + 64];
        lpz_error e2;
        snprintf(path, sizeof path, "%s/config.yml", m->run_dir);
        if (lpz_write_file_atomic(path, m->old_config, m->old_config_len, &e2))
            lpz_log(LPZ_LOG_WARN, "could not put back %s as it was before this resume: %s", path, e2.message);
    }
    lpz_run_unlock(m->lock_dir, m->lock); /* its file would keep the folder below */
    m->lock = -1;
    /* No "partial results" where this run left none (as lpz_run_local): a
     * resume without new rows is as it was; a new run folder holding only
     * config.yml and empty folders is removed. */
    if (rc && o->resume_dir && !m->new_rows) {
        out->run_dir[0] = '\0';
    } else if (rc && !o->resume_dir && out->run_dir[0] && !m->new_rows && drop_experiment_file(out->run_dir) &&
               lpz_run_remove_unused(out->run_dir, 0)) {
        out->run_dir[0] = '\0';
        lpz_rmdirs_empty(parent, parent_top);
    }
    free(m->old_config);
    out->seconds = out->trained_before ? 0 : (t_trained > 0 ? t_trained : now_s()) - t0;
    for (int i = 0; i < m->n_nodes; i++)
        lpz_ctl_client_close(m->nodes[i].ctl);
    free(m->nodes);
    for (int i = 0; m->cells && i < m->n_cells; i++) {
        for (int it = 0; it <= m->n_iterations; it++) {
            if (m->cells[i].metrics)
                free(m->cells[i].metrics[it]);
            if (m->cells[i].timing)
                free(m->cells[i].timing[it]);
        }
        free(m->cells[i].metrics);
        free(m->cells[i].timing);
    }
    free(m->cells);
    free(m->config_text);
    lpz_wire_ctx_clear(&m->ctx);
    lpz_wire_ctx_clear(&m->rx);
    return rc;
}
