/* core/distributed/client.c - the long-running client: one experiment at a
 * time, its cell trained by lpz_train_local in a thread while the control
 * loop (this thread) answers the master. */
#include "distributed/distributed.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <ftw.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <lpz/log.h>

#include "base/shape.h"
#include "base/thread.h"
#include "distributed/proto.h"
#include "config/options_internal.h"
#include "io/fsutil.h"
#include "runtime/run.h"
#include "runtime/units.h"
#include "model/model.h"
#include "transport/sha256.h"
#include "transport/control.h"
#include "transport/peer.h"

#define FILE_MAX ((size_t)256 << 20) /* one result file */
/* Sample images one CHECKPOINT reply carries at most (bytes; one
 * iteration's always): the rest go with the next one. */
#define SAMPLES_MAX ((uint64_t)128 << 20)
#define CHALLENGES 16 /* live challenges of an idle client; a HELLO past them replaces one (unanswered first) */

typedef struct client {
    const lpz_dist_client_options *o;
    lpz_ctl_server *srv;
    lpz_wire_ctx ctx; /* control context: experiment 0 (checked by hand), the secret */
    const char *secret;
    int port;
    char bind[256];
    char name[LPZ_DIST_NAME_MAX + 1];
    char root[PATH_MAX - 200];

    uint64_t instance; /* random, not 0: told in every CHALLENGE (auto_discover finds a client at two addresses) */

    /* challenges given to the masters that greeted this idle client: one
     * each, so that two masters greeting at once do not spoil each other's
     * (a single challenge, replaced by every HELLO, made both fail with
     * "stale challenge or wrong shared secret"); the first START wins */
    struct challenge {
        uint8_t nonce[LPZ_DIST_NONCE];
        int live, authed;
        uint64_t seq;
    } ch[CHALLENGES];
    uint64_t ch_seq;

    /* the experiment; fields below are written by the control loop before
     * the training thread starts, except those marked shared */
    pthread_mutex_t lock;
    int state; /* shared: lpz_dist_state */
    uint64_t experiment;
    int cell, grid_k, n_cells;
    char (*urls)[LPZ_DIST_URL_MAX + 1];
    const char **url_ptrs;
    char bind_url[300];
    char *config_text;
    size_t config_len;
    uint8_t *ckpt;
    size_t ckpt_len;
    uint32_t fetch_timeout_ms;
    char run_dir[PATH_MAX];
    int owner_fd; /* run_dir/OWNER_LOCK, flock'ed while the experiment lives here; -1: none */
    int iteration;          /* shared (atomic) */
    volatile int train_stop; /* shared: the trainer's stop flag */
    volatile int release;    /* shared: the callback may return */
    int thread_live, thread_done; /* thread_done shared */
    pthread_t thread;
    lpz_train_result result;
    lpz_cell_result res; /* shared (under lock) once FINISHED */
    int res_stopped;
    char text[LPZ_DIST_TEXT_MAX + 1]; /* shared: why it failed */
    char data[LPZ_DIST_DATA_MAX + 1]; /* shared: what the cell trains on (data_summary), "" until known */
    uint32_t ckpt_version;
    struct stat ckpt_seen;
    double last_contact;
    int results_sent;  /* a RESULT reply was sent for the finished cell */
    int results_acked; /* the master asked something after it: on req/rep, it has the reply */
    int stalled;       /* test_checkpoint_stall_ms done in this experiment */
    int samples_sent;  /* sample images of iterations up to this one went with a CHECKPOINT reply */
} client;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st, (void)flag, (void)ftw;
    remove(path);
    return 0;
}

/* How long a stopped client waits for the master to collect its cell's
 * results (the master polls its clients one after another; a transfer from
 * another client can keep it away for a while). */
#define STOP_GRACE_S 30

/* The control loop did not turn for this long: the process was stopped. */
#define WOKEN_GAP_S 5.0

static void remove_tree(const char *path)
{
    if (path[0])
        nftw(path, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* ---- work folders ----
 * An experiment's folder holds OWNER_LOCK, flock'ed by its client for as
 * long as it is there (the kernel drops the lock when the client dies,
 * SIGKILL too). A client removes the folders in its root whose lock is
 * free: those of clients killed before they could (6.5 MB and more each,
 * left for good). Safe when several clients share a root (the same port
 * on different --bind addresses): a live client's lock is held, and a
 * folder is created under a temporary name with its lock already held,
 * then renamed into place, so none is ever seen unlocked while in use. */
#define OWNER_LOCK ".lpz-client.lock"

/* ".new-<instance>" or "<experiment>-<cell>-<instance>" (hex, decimal, hex). */
static int work_folder_name(const char *name)
{
    if (!strncmp(name, ".new-", 5))
        return 1;
    size_t i = 0, dashes = 0;
    for (; name[i]; i++) {
        int hex = (name[i] >= '0' && name[i] <= '9') || (name[i] >= 'a' && name[i] <= 'f');
        dashes += name[i] == '-';
        if (!hex && name[i] != '-')
            return 0;
    }
    return i > 16 && name[16] == '-' && dashes == 2;
}

static void sweep_stale(client *c)
{
    DIR *d = opendir(c->root);
    if (!d)
        return;
    struct dirent *e;
    char path[PATH_MAX + 300];
    while ((e = readdir(d))) {
        if (!work_folder_name(e->d_name))
            continue;
        snprintf(path, sizeof path, "%s/%s/" OWNER_LOCK, c->root, e->d_name);
        int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
        if (fd < 0)
            continue; /* no lock file: not a folder of this kind of client, left alone */
        /* Locked, and still the file at that path: another sweep may have
         * removed the folder since the open (then this lock proves nothing
         * about what is there now). */
        struct stat held, now;
        if (flock(fd, LOCK_EX | LOCK_NB) == 0 && fstat(fd, &held) == 0 && lstat(path, &now) == 0 &&
            held.st_dev == now.st_dev && held.st_ino == now.st_ino) {
            snprintf(path, sizeof path, "%s/%s", c->root, e->d_name);
            remove_tree(path);
            lpz_log(LPZ_LOG_INFO, "removed %s, the work folder of a client that was killed", path);
        }
        close(fd);
    }
    closedir(d);
}

/* c->run_dir, empty and with its lock held in c->owner_fd. */
static int make_run_dir(client *c, lpz_error *err)
{
    char tmp[PATH_MAX + 64], path[PATH_MAX + 100];
    snprintf(tmp, sizeof tmp, "%s/.new-%016" PRIx64, c->root, c->instance);
    remove_tree(tmp);
    if (mkdir(tmp, 0700) != 0)
        return lpz_error_set(err, LPZ_EIO, "cannot create the work folder %s: %s", tmp, strerror(errno));
    /* The lock file appears under its name locked already: a sweep never
     * finds it free while this client sets up. */
    char made[PATH_MAX + 100];
    snprintf(made, sizeof made, "%s/lock.tmp", tmp);
    snprintf(path, sizeof path, "%s/" OWNER_LOCK, tmp);
    int fd = open(made, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0 || flock(fd, LOCK_EX) != 0 || rename(made, path) != 0) {
        lpz_error_set(err, LPZ_EIO, "cannot create %s: %s", path, strerror(errno));
        if (fd >= 0)
            close(fd);
        remove_tree(tmp);
        return LPZ_EIO;
    }
    if (rename(tmp, c->run_dir) != 0) {
        lpz_error_set(err, LPZ_EIO, "cannot rename %s to %s: %s", tmp, c->run_dir, strerror(errno));
        close(fd);
        remove_tree(tmp);
        return LPZ_EIO;
    }
    c->owner_fd = fd;
    return LPZ_OK;
}

/* ---- the training thread ---- */

/* What the master compares between cells (lpz_dist_status.data): the
 * sample shape, the networks' parameter counts and a digest of the units
 * record's values (what -1, 0 and 1 mean per element: the data's scaling)
 * and the data's sample count and fingerprint (lpz_dataset_digest: another
 * file of the same shape, MNIST for Fashion-MNIST, a shorter copy). The
 * record's options are left out of the digest: they name each client's own
 * absolute file paths. */
static void data_summary(client *c, lpz_dataset *ds, const lpz_network *net, const char *units)
{
    const lpz_shape *shape = &lpz_dataset_get_info(ds)->sample_shape;
    char sh[72];
    lpz_shape_format_x(shape, sh, sizeof sh);
    int64_t params[2] = {-1, -1};
    for (int r = 0; r < 2; r++) {
        lpz_model *mdl = NULL;
        lpz_error e;
        if (!lpz_network_build(net, r ? LPZ_ROLE_DISCRIMINATOR : LPZ_ROLE_GENERATOR, 1, &mdl, &e))
            params[r] = lpz_model_param_count(mdl);
        lpz_model_destroy(mdl);
    }
    char digest[16] = "none";
    const char *values = units ? strstr(units, "\"elements\"") : NULL;
    if (values) {
        uint8_t h[LPZ_SHA256_SIZE];
        lpz_sha256(values, strlen(values), h);
        for (int i = 0; i < 6; i++)
            snprintf(digest + 2 * i, sizeof digest - 2 * (size_t)i, "%02x", h[i]);
    }
    char content[64] = "";
    uint64_t fingerprint;
    lpz_error e;
    if (!lpz_dataset_digest(ds, &fingerprint, &e)) /* a sample it cannot read fails the training soon enough */
        snprintf(content, sizeof content, "; data %lld samples, fingerprint %016llx",
                 (long long)lpz_dataset_get_info(ds)->count, (unsigned long long)fingerprint);
    pthread_mutex_lock(&c->lock);
    snprintf(c->data, sizeof c->data, "sample shape [%s]; network parameters %lld + %lld; units %s%s", sh,
             (long long)params[0], (long long)params[1], digest, content);
    pthread_mutex_unlock(&c->lock);
}

static void on_iteration(void *user, const char *run_dir, int iteration)
{
    client *c = user;
    (void)run_dir;
    if (iteration >= 0) {
        __atomic_store_n(&c->iteration, iteration, __ATOMIC_SEQ_CST);
        return;
    }
    /* The end: results are on disk and the cell still serves its last
     * population, so slower neighbours finish without timeouts. Wait here
     * until the master has collected everything. */
    pthread_mutex_lock(&c->lock);
    if (c->result.cells && c->result.n_cells == 1)
        c->res = c->result.cells[0];
    c->res_stopped = c->result.stopped;
    c->state = LPZ_DIST_FINISHED;
    pthread_mutex_unlock(&c->lock);
    if (__atomic_load_n(&c->release, __ATOMIC_SEQ_CST)) /* aborted, or the master gone: nothing to collect */
        lpz_log(LPZ_LOG_INFO, "cell %d stopped (%d iteration%s); its results are dropped", c->cell,
                c->res.iterations, c->res.iterations == 1 ? "" : "s");
    else
        lpz_log(LPZ_LOG_INFO, "cell %d finished (%d iteration%s); waiting for the master to collect the results",
                c->cell, c->res.iterations, c->res.iterations == 1 ? "" : "s");
    while (!__atomic_load_n(&c->release, __ATOMIC_SEQ_CST) && !__atomic_load_n(c->o->stop, __ATOMIC_SEQ_CST))
        usleep(20000);
}

static int train_cell(client *c, lpz_error *err)
{
    lpz_config cfg;
    lpz_config_init_defaults(&cfg);
    const lpz_plugin *dl_plugin, *net_plugin;
    lpz_options *dl_opts = NULL, *net_opts = NULL;
    lpz_dataset *ds = NULL;
    lpz_network *net = NULL;
    lpz_scorer *scorer = NULL;
    char *units = NULL;
    lpz_train_params p;
    char path[PATH_MAX + 64];
    int rc = lpz_config_load_resolved(c->config_text, c->config_len, "the master's configuration", &cfg, err);
    if (!rc)
        rc = lpz_config_validate(&cfg, err);
    if (!rc)
        rc = lpz_train_params_from_config(&cfg, &p, err);
    if (!rc)
        lpz_run_apply_precision(&cfg); /* the master's setting: the same products on every node that can */
    if (!rc && p.grid_k != c->grid_k)
        rc = lpz_error_set(err, LPZ_EINVAL, "the configuration's grid is %dx%d, the master announced %dx%d", p.grid_k,
                           p.grid_k, c->grid_k, c->grid_k);
    if (rc)
        goto done;
    p.output_dir = c->root;
    if ((rc = lpz_run_plugin(c->o->registry, &cfg, LPZ_PLUGIN_DATALOADER, &dl_plugin, &dl_opts, err)) ||
        (rc = lpz_run_plugin(c->o->registry, &cfg, LPZ_PLUGIN_NETWORK, &net_plugin, &net_opts, err)))
        goto done;
    snprintf(path, sizeof path, "%s/checkpoints", c->run_dir);
    if ((rc = lpz_mkdirs(path, err)))
        goto done;
    snprintf(path, sizeof path, "%s/config.yml", c->run_dir);
    if ((rc = lpz_write_file_atomic(path, c->config_text, c->config_len, err)))
        goto done;
    if (c->ckpt_len) {
        snprintf(path, sizeof path, "%s/checkpoints/cell-%d.safetensors", c->run_dir, c->cell);
        if ((rc = lpz_write_file_atomic(path, c->ckpt, c->ckpt_len, err)))
            goto done;
    }
    char cache[PATH_MAX];
    snprintf(cache, sizeof cache, "%s/cache", c->root);
    if ((rc = lpz_mkdirs(cache, err)))
        goto done;
    lpz_dataset_context ctx = {sizeof ctx, dl_opts, c->root, cache, ".", c->run_dir, LPZ_SPLIT_TRAIN};
    /* the final scoring is the master's */
    lpz_run_data rd = {&cfg, &p, dl_plugin, &ctx, net_plugin, net_opts, NULL, 0};
    if ((rc = lpz_run_open_data(&rd, &ds, &net, err)) ||
        (rc = lpz_run_check_batch_size(&cfg, p.batch_size, ds, err)))
        goto done;
    /* master/<cell>/units.json travels to the master with the mixture */
    if ((rc = lpz_units_record_make(&cfg, ds, &units, err)))
        goto done;
    data_summary(c, ds, net, units);
    /* The training's score (mixture-weight mutation, the metrics' score
     * column, the master's best cell), as a local run's: the classifier
     * and real statistics cached in the client's folder. */
    rc = lpz_run_open_scorer(&cfg, ds, cache, &c->train_stop, &scorer, err);
    if (rc == LPZ_ECANCELED && __atomic_load_n(&c->train_stop, __ATOMIC_SEQ_CST)) {
        /* stopped while it trained the classifier: the trainer stops at once and reports a stopped cell, as a
         * stop in the first batches does (a failed cell failed the master's run) */
        lpz_log(LPZ_LOG_INFO, "cell %d: stopped while preparing the training's score", c->cell);
        lpz_error_clear(err);
        rc = LPZ_OK;
    }
    if (rc)
        goto done;
    const char *bind_urls[1] = {c->bind_url};
    lpz_train_setup setup = {.params = &p,
                             .dataset = ds,
                             .network = net,
                             .run_dir = c->run_dir,
                             .progress = c->o->progress,
                             .stop = &c->train_stop,
                             .resume = c->ckpt_len > 0,
                             .scorer = scorer,
                             .on_iteration = on_iteration,
                             .user = c,
                             .local_cells = &c->cell,
                             .n_local_cells = 1,
                             .cell_urls = c->url_ptrs,
                             .bind_urls = bind_urls,
                             .experiment = c->experiment,
                             .secret = c->secret,
                             .fetch_timeout_ms = (int)c->fetch_timeout_ms,
                             .units_record = units};
    rc = lpz_train_local(&setup, &c->result, err);
    lpz_train_result_free(&c->result);
done:
    free(units);
    lpz_scorer_destroy(scorer);
    lpz_network_destroy(net);
    lpz_dataset_close(ds);
    lpz_options_destroy(net_opts);
    lpz_options_destroy(dl_opts);
    lpz_config_destroy(&cfg);
    return rc;
}

static void *train_main(void *arg)
{
    client *c = arg;
    lpz_error err;
    lpz_error_clear(&err);
    int rc = train_cell(c, &err);
    pthread_mutex_lock(&c->lock);
    if (rc) {
        lpz_error_format(&err, c->text, sizeof c->text);
        c->state = LPZ_DIST_FAILED;
        lpz_log(LPZ_LOG_ERROR, "cell %d failed: %s", c->cell, c->text);
    }
    pthread_mutex_unlock(&c->lock);
    __atomic_store_n(&c->thread_done, 1, __ATOMIC_SEQ_CST);
    return NULL;
}

/* What a START set up, let go: the copies of its message, and the work
 * folder with its lock when it was made. */
static void drop_experiment(client *c)
{
    if (c->owner_fd >= 0) {
        remove_tree(c->run_dir);
        close(c->owner_fd);
        c->owner_fd = -1;
    }
    free(c->urls), free(c->url_ptrs), free(c->config_text), free(c->ckpt);
    c->urls = NULL, c->url_ptrs = NULL, c->config_text = NULL, c->ckpt = NULL;
}

/* Back to idle once the thread is done and the master released us. */
static void reap(client *c)
{
    if (!c->thread_live || !__atomic_load_n(&c->thread_done, __ATOMIC_SEQ_CST) ||
        !__atomic_load_n(&c->release, __ATOMIC_SEQ_CST))
        return;
    pthread_join(c->thread, NULL);
    c->thread_live = 0;
    drop_experiment(c);
    lpz_peer_redirect_clear();
    if (__atomic_load_n(c->o->stop, __ATOMIC_SEQ_CST)) /* stopping (Ctrl-C, SIGTERM): this client exits next */
        lpz_log(LPZ_LOG_INFO, "experiment %016" PRIx64 " done", c->experiment);
    else
        lpz_log(LPZ_LOG_INFO, "experiment %016" PRIx64 " done; idle on port %d", c->experiment, c->port);
    pthread_mutex_lock(&c->lock);
    c->state = LPZ_DIST_IDLE;
    c->experiment = 0;
    pthread_mutex_unlock(&c->lock);
}

/* ---- replies ---- */

/* The cell stops after its batch and its results are not kept for the master. */
static void give_up(client *c)
{
    __atomic_store_n(&c->train_stop, 1, __ATOMIC_SEQ_CST);
    __atomic_store_n(&c->release, 1, __ATOMIC_SEQ_CST);
}

static int state_of(client *c)
{
    pthread_mutex_lock(&c->lock);
    int s = c->state;
    pthread_mutex_unlock(&c->lock);
    return s;
}

/* 0 when the reply went out. */
static int send_reply_sent(client *c, lpz_ctl_msg *req, lpz_dist_msg *m, unsigned type, uint64_t rid)
{
    lpz_error err;
    const uint8_t *f;
    size_t n;
    lpz_wire_ctx ctx = c->ctx;
    ctx.experiment_id = c->experiment;
    int rc = lpz_dist_seal(m, &ctx, type, rid, &f, &n, &err);
    if (!rc)
        rc = lpz_ctl_reply(c->srv, req, f, n, &err);
    if (rc) {
        lpz_log(LPZ_LOG_WARN, "control: reply not sent: %s", err.message);
        lpz_ctl_drop(req);
    }
    lpz_dist_msg_free(m);
    return rc;
}

static void send_reply(client *c, lpz_ctl_msg *req, lpz_dist_msg *m, unsigned type, uint64_t rid)
{
    send_reply_sent(c, req, m, type, rid);
}

static void send_error(client *c, lpz_ctl_msg *req, uint64_t rid, int code, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
static void send_error(client *c, lpz_ctl_msg *req, uint64_t rid, int code, const char *fmt, ...)
{
    char text[LPZ_WIRE_MAX_ERROR_TEXT + 1];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    char peer[80];
    lpz_ctl_msg_peer(req, peer, sizeof peer);
    lpz_log(LPZ_LOG_WARN, "control: refused a request from %s: %s", peer, text);
    uint8_t payload[LPZ_WIRE_MAX_ERROR];
    size_t n = lpz_wire_error_encode(payload, code, text);
    lpz_dist_msg m;
    lpz_dist_msg_init(&m);
    lpz_dist_put(&m, payload, n);
    send_reply(c, req, &m, LPZ_MSG_ERROR, rid);
}

/* Adds one file (path relative to the run folder) when it exists. */
static int add_file(client *c, lpz_dist_msg *m, const char *rel, uint32_t *count)
{
    char path[PATH_MAX + 300];
    snprintf(path, sizeof path, "%s/%s", c->run_dir, rel);
    if (!lpz_is_file(path))
        return 0;
    char *data;
    size_t size;
    lpz_error err;
    if (lpz_read_file(path, FILE_MAX, &data, &size, &err)) {
        lpz_log(LPZ_LOG_WARN, "cannot send %s: %s", rel, err.message);
        return 0;
    }
    if (m)
        lpz_dist_file_put(m, rel, data, size);
    free(data);
    (*count)++;
    return 1;
}

/* Every regular file of a folder under the run folder. */
static void add_dir(client *c, lpz_dist_msg *m, const char *rel, uint32_t *count)
{
    char path[PATH_MAX + 300];
    snprintf(path, sizeof path, "%s/%s", c->run_dir, rel);
    DIR *d = opendir(path);
    if (!d)
        return;
    struct dirent *e;
    while ((e = readdir(d)) && *count < LPZ_DIST_MAX_FILES) {
        if (e->d_name[0] == '.' || strstr(e->d_name, ".tmp."))
            continue;
        char name[600];
        if (snprintf(name, sizeof name, "%s/%s", rel, e->d_name) > LPZ_DIST_PATH_MAX || !lpz_dist_path_ok(name))
            continue;
        add_file(c, m, name, count);
    }
    closedir(d);
}

/* A sample image in the cell's samples folder, by the iteration its name
 * starts with (iteration-NNNN.png, or whatever a dataloader's renderer
 * put after the number). */
typedef struct sample_file {
    int iteration;
    uint64_t size;
    char name[LPZ_DIST_PATH_MAX + 1];
} sample_file;

static int cmp_sample(const void *a, const void *b)
{
    const sample_file *x = a, *y = b;
    if (x->iteration != y->iteration)
        return x->iteration < y->iteration ? -1 : 1;
    return strcmp(x->name, y->name);
}

/* The sample images a CHECKPOINT reply carries: those of the iterations
 * after c->samples_sent up to `done` (whole: the trainer writes an
 * iteration's images before it counts the iteration), oldest first, whole
 * iterations within `room` files and SAMPLES_MAX bytes. A cell moved to
 * another client resumes from the checkpoint the master holds, and its
 * images of the iterations before stay behind on this client: the master
 * has them only if they came with the checkpoints. Each goes with one
 * checkpoint only, so a checkpoint costs only the images new since the last
 * (the RESULT sends them all once more: it also covers a checkpoint reply
 * the master did not get). *upto receives the last iteration covered;
 * *out is malloc'd. */
static size_t pending_samples(client *c, int done, size_t room, sample_file **out, int *upto)
{
    *out = NULL;
    *upto = c->samples_sent;
    char rel[64], path[PATH_MAX + 400];
    snprintf(rel, sizeof rel, "samples/cell-%d", c->cell);
    snprintf(path, sizeof path, "%s/%s", c->run_dir, rel);
    DIR *d = opendir(path);
    if (!d)
        return 0; /* none written yet, or general.logging.enabled false */
    sample_file *v = NULL;
    size_t n = 0, cap = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        const char *num = e->d_name + 10;
        if (strncmp(e->d_name, "iteration-", 10) || *num < '0' || *num > '9' || strstr(e->d_name, ".tmp."))
            continue;
        long it = strtol(num, NULL, 10);
        if (it <= c->samples_sent || it > done)
            continue;
        sample_file x = {(int)it, 0, ""};
        struct stat st;
        if (snprintf(x.name, sizeof x.name, "%s/%s", rel, e->d_name) >= (int)sizeof x.name ||
            !lpz_dist_path_ok(x.name))
            continue;
        snprintf(path, sizeof path, "%s/%s", c->run_dir, x.name);
        if (stat(path, &st) != 0 || !S_ISREG(st.st_mode))
            continue;
        x.size = (uint64_t)st.st_size;
        if (n == cap) {
            sample_file *w = realloc(v, (cap = cap ? 2 * cap : 64) * sizeof *v);
            if (!w) { /* none this time (readdir's order is not the iterations'): all with the next checkpoint */
                free(v);
                closedir(d);
                return 0;
            }
            v = w;
        }
        v[n++] = x;
    }
    closedir(d);
    if (!n) {
        free(v);
        *upto = done;
        return 0;
    }
    qsort(v, n, sizeof *v, cmp_sample);
    size_t keep = 0;
    uint64_t bytes = 0;
    while (keep < n) {
        size_t j = keep;
        uint64_t b = 0;
        for (; j < n && v[j].iteration == v[keep].iteration; j++)
            b += v[j].size;
        if (j > room || (keep && bytes + b > SAMPLES_MAX))
            break;
        bytes += b;
        *upto = v[keep].iteration;
        keep = j;
    }
    if (keep == n)
        *upto = done;
    *out = v;
    return keep;
}

/* RESULT (with_models) or CHECKPOINT reply. Counts first, then writes. */
static void reply_files(client *c, lpz_ctl_msg *req, uint64_t rid, unsigned type)
{
    char dirs[2][64], ck[64];
    snprintf(dirs[0], sizeof dirs[0], "master/%d", c->cell);
    snprintf(dirs[1], sizeof dirs[1], "samples/cell-%d", c->cell);
    snprintf(ck, sizeof ck, "checkpoints/cell-%d.safetensors", c->cell);
    lpz_dist_msg m;
    lpz_dist_msg_init(&m);
    lpz_dist_files h = {0};
    pthread_mutex_lock(&c->lock);
    h.cell = (uint32_t)c->cell;
    h.iterations = type == LPZ_MSG_RESULT ? (uint32_t)c->res.iterations
                                          : (uint32_t)__atomic_load_n(&c->iteration, __ATOMIC_SEQ_CST);
    h.stopped = type == LPZ_MSG_RESULT ? (uint8_t)(c->res_stopped != 0) : 0;
    h.best_g_fitness = c->res.best_g_fitness;
    h.score = c->res.score;
    pthread_mutex_unlock(&c->lock);
    sample_file *samples = NULL;
    int samples_upto = 0;
    size_t n_samples = 0;
    if (type == LPZ_MSG_CHECKPOINT) /* room for metrics.csv, timing.csv and the checkpoint */
        n_samples = pending_samples(c, (int)h.iterations, LPZ_DIST_MAX_FILES - 3, &samples, &samples_upto);
    for (int pass = 0; pass < 2; pass++) {
        lpz_dist_msg *w = pass ? &m : NULL;
        uint32_t n = 0;
        if (pass)
            lpz_dist_files_put_header(&m, &h);
        add_file(c, w, "metrics.csv", &n);
        add_file(c, w, "timing.csv", &n);
        if (type == LPZ_MSG_RESULT) {
            add_dir(c, w, dirs[0], &n);
            add_dir(c, w, dirs[1], &n);
        } else {
            /* the images before the checkpoint: the master stores the files in order and stops at the first it
             * cannot, so a checkpoint it holds never lacks the images that came with it */
            for (size_t i = 0; i < n_samples; i++)
                add_file(c, w, samples[i].name, &n);
            add_file(c, w, ck, &n);
        }
        if (!pass)
            h.n_files = n;
        else if (n != h.n_files) {
            /* A file appeared or vanished between the passes (a new
             * checkpoint): the master simply asks again. */
            lpz_dist_msg_free(&m);
            free(samples);
            send_error(c, req, rid, LPZ_ESTATE, "files changed while sending; ask again");
            return;
        }
    }
    int first = n_samples ? samples[0].iteration : 0, last = n_samples ? samples[n_samples - 1].iteration : 0;
    free(samples);
    int sent = send_reply_sent(c, req, &m, type, rid) == LPZ_OK;
    if (type == LPZ_MSG_RESULT) {
        c->results_sent = 1;
    } else if (sent) {
        if (n_samples)
            lpz_log(LPZ_LOG_DEBUG, "checkpoint sent with %zu sample image%s (iterations %d to %d)", n_samples,
                    n_samples == 1 ? "" : "s", first, last);
        c->samples_sent = samples_upto;
    }
}

static void reply_status(client *c, lpz_ctl_msg *req, uint64_t rid)
{
    /* A checkpoint file replaced since the last look is a new version
     * (written under a temporary name and renamed: a new inode). */
    char path[PATH_MAX + 64];
    snprintf(path, sizeof path, "%s/checkpoints/cell-%d.safetensors", c->run_dir, c->cell);
    struct stat st;
    if (stat(path, &st) == 0 &&
        (st.st_ino != c->ckpt_seen.st_ino || st.st_mtim.tv_sec != c->ckpt_seen.st_mtim.tv_sec ||
         st.st_mtim.tv_nsec != c->ckpt_seen.st_mtim.tv_nsec || st.st_size != c->ckpt_seen.st_size)) {
        c->ckpt_seen = st;
        c->ckpt_version++;
    }
    lpz_dist_status s = {0};
    pthread_mutex_lock(&c->lock);
    s.state = (uint8_t)c->state;
    s.cell = (uint32_t)c->cell;
    s.experiment = c->experiment;
    s.iteration = (uint32_t)__atomic_load_n(&c->iteration, __ATOMIC_SEQ_CST);
    s.checkpoint_version = c->ckpt_version;
    if (c->state == LPZ_DIST_FAILED)
        snprintf(s.text, sizeof s.text, "%s", c->text);
    snprintf(s.data, sizeof s.data, "%s", c->data);
    pthread_mutex_unlock(&c->lock);
    lpz_dist_msg m;
    lpz_dist_msg_init(&m);
    lpz_dist_status_put(&m, &s);
    send_reply(c, req, &m, LPZ_MSG_HEARTBEAT, rid);
}

/* The live challenge with this nonce, or -1. */
static int find_challenge(const client *c, const uint8_t *nonce)
{
    for (int i = 0; i < CHALLENGES; i++)
        if (c->ch[i].live && lpz_ct_equal(nonce, c->ch[i].nonce, LPZ_DIST_NONCE))
            return i;
    return -1;
}

static void handle_start(client *c, lpz_ctl_msg *req, const lpz_wire_header *h, const uint8_t *body)
{
    lpz_error err;
    if (state_of(c) != LPZ_DIST_IDLE)
        return send_error(c, req, h->request_id, LPZ_ESTATE, "busy with experiment %016" PRIx64, c->experiment);
    lpz_dist_start s;
    if (lpz_dist_start_decode(body, (size_t)h->payload_len, &s, &err))
        return send_error(c, req, h->request_id, err.code, "%s", err.message);
    int i = find_challenge(c, s.nonce);
    int ok = i >= 0 && c->ch[i].authed;
    if (i >= 0)
        c->ch[i].live = 0; /* one START per challenge */
    if (!ok) {
        lpz_dist_start_free(&s);
        return send_error(c, req, h->request_id, LPZ_ENET,
                          "START_EXPERIMENT without a fresh authenticated challenge (send HELLO and AUTH first)");
    }
    c->urls = s.urls;
    c->url_ptrs = calloc(s.n_cells, sizeof *c->url_ptrs);
    c->config_text = malloc(s.config_len + 1);
    c->ckpt = s.checkpoint_len ? malloc(s.checkpoint_len) : NULL;
    if (!c->url_ptrs || !c->config_text || (s.checkpoint_len && !c->ckpt)) {
        drop_experiment(c);
        return send_error(c, req, h->request_id, LPZ_ENOMEM, "out of memory");
    }
    for (uint32_t i = 0; i < s.n_cells; i++)
        c->url_ptrs[i] = c->urls[i];
    memcpy(c->config_text, s.config, s.config_len);
    c->config_text[s.config_len] = '\0';
    c->config_len = s.config_len;
    if (s.checkpoint_len)
        memcpy(c->ckpt, s.checkpoint, s.checkpoint_len);
    c->ckpt_len = s.checkpoint_len;
    c->experiment = s.experiment;
    c->cell = (int)s.cell;
    c->grid_k = (int)s.grid_k;
    c->n_cells = (int)s.n_cells;
    c->fetch_timeout_ms = s.fetch_timeout_ms;
    snprintf(c->bind_url, sizeof c->bind_url, "tcp://%s:%d", c->bind, c->port + LPZ_DIST_CELL_PORT_OFFSET);
    /* this client's own (clients sharing the root may hold the same cell:
     * a spare given the cell of a client that lost touch but lives) */
    snprintf(c->run_dir, sizeof c->run_dir, "%s/%016" PRIx64 "-%d-%016" PRIx64, c->root, c->experiment, c->cell,
             c->instance);
    sweep_stale(c);
    if (make_run_dir(c, &err)) {
        drop_experiment(c);
        return send_error(c, req, h->request_id, err.code, "%s", err.message);
    }
    c->iteration = 0;
    c->train_stop = 0;
    c->release = 0;
    c->results_sent = 0;
    c->results_acked = 0;
    c->stalled = 0;
    c->samples_sent = 0;
    c->thread_done = 0;
    c->ckpt_version = 0;
    memset(&c->ckpt_seen, 0, sizeof c->ckpt_seen);
    memset(&c->res, 0, sizeof c->res);
    c->text[0] = '\0';
    c->data[0] = '\0';
    c->last_contact = now_s();
    c->state = LPZ_DIST_RUNNING;
    if (lpz_thread_create(&c->thread, train_main, c) != 0) {
        c->state = LPZ_DIST_IDLE;
        drop_experiment(c);
        return send_error(c, req, h->request_id, LPZ_ENOMEM, "cannot start the training thread");
    }
    c->thread_live = 1;
    memset(c->ch, 0, sizeof c->ch); /* busy now: the other masters' challenges are void */
    lpz_log(LPZ_LOG_INFO, "experiment %016" PRIx64 ": training cell %u of a %ux%u grid%s, cell server %s",
            c->experiment, s.cell, s.grid_k, s.grid_k, s.checkpoint_len ? " from the master's checkpoint" : "",
            c->bind_url);
    lpz_dist_msg m;
    lpz_dist_msg_init(&m);
    lpz_dist_put_u32(&m, s.cell);
    send_reply(c, req, &m, LPZ_MSG_START_EXPERIMENT, h->request_id);
}

static void handle(client *c, lpz_ctl_msg *req)
{
    lpz_wire_header h;
    const uint8_t *body;
    lpz_error err;
    if (lpz_wire_open(&c->ctx, req->frame, req->len, &h, &body, &err))
        return send_error(c, req, h.request_id, err.code, "%s", err.message);
    size_t n = (size_t)h.payload_len;
    int busy = state_of(c) != LPZ_DIST_IDLE;
    switch (h.type) {
    case LPZ_MSG_HELLO: {
        if (n)
            return send_error(c, req, h.request_id, LPZ_EFORMAT, "HELLO payload must be empty, not %zu bytes", n);
        lpz_dist_challenge ch = {0};
        if (!busy) { /* a busy client gives none: its experiment's master talks without */
            /* a free slot, else the oldest not yet answered, else the oldest:
             * a master between AUTH and START keeps its challenge longest */
            struct challenge *x = NULL;
            for (int i = 0; i < CHALLENGES && !(x && !x->live); i++) {
                struct challenge *y = &c->ch[i];
                if (!x || !y->live || (y->authed < x->authed) || (y->authed == x->authed && y->seq < x->seq))
                    x = y;
            }
            lpz_ctl_random(x->nonce, sizeof x->nonce, &err);
            x->live = 1;
            x->authed = 0;
            x->seq = ++c->ch_seq;
            memcpy(ch.nonce, x->nonce, LPZ_DIST_NONCE);
        }
        ch.state = (uint8_t)state_of(c);
        ch.secured = c->secret != NULL;
        ch.cell_port = (uint16_t)(c->port + LPZ_DIST_CELL_PORT_OFFSET);
        ch.experiment = c->experiment;
        snprintf(ch.name, sizeof ch.name, "%s", c->name);
        ch.instance = c->instance;
        lpz_dist_msg m;
        lpz_dist_msg_init(&m);
        lpz_dist_challenge_put(&m, &ch);
        return send_reply(c, req, &m, LPZ_MSG_CHALLENGE, h.request_id);
    }
    case LPZ_MSG_AUTH: {
        lpz_dist_auth a;
        if (lpz_dist_auth_decode(body, n, &a, &err))
            return send_error(c, req, h.request_id, err.code, "%s", err.message);
        if (busy)
            return send_error(c, req, h.request_id, LPZ_ESTATE, "busy with experiment %016" PRIx64, c->experiment);
        int i = find_challenge(c, a.nonce);
        if (i < 0)
            return send_error(c, req, h.request_id, LPZ_ENET, "authentication failed: no live challenge with that "
                              "nonce (answered already, or replaced by %d later greetings): send HELLO again",
                              CHALLENGES);
        uint8_t want[LPZ_DIST_PROOF];
        lpz_dist_proof(c->secret, "lpz master", c->ch[i].nonce, want);
        if (!lpz_ct_equal(a.proof, want, LPZ_DIST_PROOF)) {
            c->ch[i].live = 0; /* one attempt per challenge */
            return send_error(c, req, h.request_id, LPZ_ENET, "authentication failed: wrong shared secret");
        }
        c->ch[i].authed = 1;
        lpz_dist_auth back = {{0}, {0}};
        lpz_dist_proof(c->secret, "lpz client", c->ch[i].nonce, back.proof);
        lpz_dist_msg m;
        lpz_dist_msg_init(&m);
        lpz_dist_auth_put(&m, &back);
        return send_reply(c, req, &m, LPZ_MSG_AUTH, h.request_id);
    }
    case LPZ_MSG_START_EXPERIMENT:
        return handle_start(c, req, &h, body);
    default: break;
    }
    /* The rest belongs to the running experiment. */
    if (!busy || h.experiment_id != c->experiment)
        return send_error(c, req, h.request_id, LPZ_ESTATE, "%s for experiment %016" PRIx64 ", but this client %s",
                          lpz_msg_type_name(h.type), h.experiment_id, busy ? "runs another one" : "is idle");
    c->last_contact = now_s();
    if (c->results_sent) /* the master asks again after the RESULT reply: it has it (req/rep) */
        c->results_acked = 1;
    switch (h.type) {
    case LPZ_MSG_HEARTBEAT: {
        lpz_dist_move moves[LPZ_DIST_MAX_MOVES];
        size_t k;
        if (lpz_dist_moves_decode(body, n, moves, LPZ_DIST_MAX_MOVES, &k, &err))
            return send_error(c, req, h.request_id, err.code, "%s", err.message);
        for (size_t i = 0; i < k; i++)
            if ((int)moves[i].cell < c->n_cells && (int)moves[i].cell != c->cell)
                lpz_peer_redirect(c->urls[moves[i].cell], moves[i].url, &err);
        return reply_status(c, req, h.request_id);
    }
    case LPZ_MSG_CHECKPOINT:
        if (n)
            return send_error(c, req, h.request_id, LPZ_EFORMAT, "CHECKPOINT request must be empty");
        if (c->o->test_checkpoint_stall_ms > 0 && !c->stalled) { /* tests: a client frozen in a transfer */
            c->stalled = 1;
            lpz_log(LPZ_LOG_WARN, "LPZ_DIST_TEST_CHECKPOINT_STALL_MS: deaf for %d ms", c->o->test_checkpoint_stall_ms);
            usleep((useconds_t)c->o->test_checkpoint_stall_ms * 1000);
        }
        return reply_files(c, req, h.request_id, LPZ_MSG_CHECKPOINT);
    case LPZ_MSG_RESULT:
        if (n)
            return send_error(c, req, h.request_id, LPZ_EFORMAT, "RESULT request must be empty");
        if (state_of(c) != LPZ_DIST_FINISHED)
            return send_error(c, req, h.request_id, LPZ_ESTATE, "cell %d has not finished", c->cell);
        return reply_files(c, req, h.request_id, LPZ_MSG_RESULT);
    case LPZ_MSG_STOP: {
        if (n != 1 || body[0] > LPZ_DIST_STOP_ABORT)
            return send_error(c, req, h.request_id, LPZ_EFORMAT, "STOP payload must be one byte 0, 1 or 2");
        int mode = body[0];
        if (mode != LPZ_DIST_STOP_RELEASE || state_of(c) == LPZ_DIST_RUNNING)
            lpz_log(LPZ_LOG_INFO, "the master %s experiment %016" PRIx64,
                    mode == LPZ_DIST_STOP_TRAINING ? "stops" : "aborts", c->experiment);
        __atomic_store_n(&c->train_stop, 1, __ATOMIC_SEQ_CST);
        if (mode != LPZ_DIST_STOP_TRAINING)
            __atomic_store_n(&c->release, 1, __ATOMIC_SEQ_CST);
        lpz_dist_msg m;
        lpz_dist_msg_init(&m);
        lpz_dist_put_u8(&m, (uint8_t)state_of(c));
        return send_reply(c, req, &m, LPZ_MSG_STOP, h.request_id);
    }
    default:
        return send_error(c, req, h.request_id, LPZ_EFORMAT, "unexpected %s request", lpz_msg_type_name(h.type));
    }
}

int lpz_dist_client_run(const lpz_dist_client_options *o, lpz_error *err)
{
    client *c = calloc(1, sizeof *c);
    if (!c)
        return lpz_error_set(err, LPZ_ENOMEM, "out of memory");
    c->o = o;
    c->owner_fd = -1;
    c->secret = o->secret && o->secret[0] ? o->secret : NULL;
    pthread_mutex_init(&c->lock, NULL);
    lpz_wire_ctx_init_control(&c->ctx, 0, c->secret);
    snprintf(c->bind, sizeof c->bind, "%s", o->bind ? o->bind : c->secret ? "0.0.0.0" : "127.0.0.1");
    if (gethostname(c->name, sizeof c->name - 1) != 0)
        snprintf(c->name, sizeof c->name, "unknown");
    {
        uint8_t r[8];
        lpz_error e2;
        lpz_ctl_random(r, sizeof r, &e2);
        for (int i = 0; i < 8; i++)
            c->instance = c->instance << 8 | r[i];
        c->instance |= 1;
    }
    int first = o->port > 0 ? o->port : LPZ_DIST_DEFAULT_PORT;
    int last = o->port > 0 ? o->port : LPZ_DIST_DEFAULT_PORT + LPZ_DIST_PORT_SPAN - 1;
    int rc = LPZ_ESTATE, cell_busy = 0;
    for (int port = first; port <= last && rc == LPZ_ESTATE; port++) {
        char url[300];
        snprintf(url, sizeof url, "tcp://%s:%d", c->bind, port);
        rc = lpz_ctl_listen(url, (size_t)LPZ_WIRE_MAX_FRAME, &c->srv, err);
        c->port = port;
        if (rc)
            continue;
        /* Its cell server listens on port + 1000 when an experiment starts:
         * taken, it failed only then, and the master's whole START with it. */
        lpz_ctl_server *probe = NULL;
        snprintf(url, sizeof url, "tcp://%s:%d", c->bind, port + LPZ_DIST_CELL_PORT_OFFSET);
        rc = lpz_ctl_listen(url, 64, &probe, err);
        lpz_ctl_close(probe);
        if (rc) {
            lpz_ctl_close(c->srv);
            c->srv = NULL;
            cell_busy += rc == LPZ_ESTATE;
            if (rc == LPZ_ESTATE && first == last)
                lpz_error_set(err, LPZ_ESTATE, "cannot listen on port %d: its cell server port %d (port + %d) is in "
                              "use", port, port + LPZ_DIST_CELL_PORT_OFFSET, LPZ_DIST_CELL_PORT_OFFSET);
        }
    }
    if (rc) {
        if (rc == LPZ_ESTATE && first != last)
            lpz_error_set(err, LPZ_ESTATE, "ports %d to %d are all in use%s", first, last,
                          cell_busy ? " (or their cell server ports, port + 1000)" : "");
        lpz_error_hint(err, "choose a free port with --port (a client listens on it and on port + 1000)");
        goto out;
    }
    const char *tmp = getenv("TMPDIR");
    if (o->work_dir)
        snprintf(c->root, sizeof c->root, "%s", o->work_dir);
    else
        snprintf(c->root, sizeof c->root, "%s/lpz-client-%d", tmp && tmp[0] ? tmp : "/tmp", c->port);
    if ((rc = lpz_mkdirs(c->root, err)))
        goto out;
    sweep_stale(c);
    lpz_log(LPZ_LOG_INFO, "client listening on tcp://%s:%d (cell server on port %d), work folder %s", c->bind,
            c->port, c->port + LPZ_DIST_CELL_PORT_OFFSET, c->root);
    if (!c->secret && !o->bind)
        lpz_log(LPZ_LOG_WARN, "no shared secret (general.secret or LPZ_SECRET): listening on loopback only; "
                              "set a secret, or --bind ADDR to accept unauthenticated masters elsewhere");
    else if (!c->secret)
        lpz_log(LPZ_LOG_WARN, "no shared secret: any master that reaches %s can run experiments here", c->bind);
    int timeout_ms = o->master_timeout_ms > 0 ? o->master_timeout_ms : 60000;
    int woken_ms = o->woken_timeout_ms > 0 ? o->woken_timeout_ms : 15000;
    double stop_at = 0, last_tick = now_s(), woke_at = 0;
    for (;;) {
        /* This loop turns every 100 ms at most: a longer gap is a stop of the process (SIGSTOP, a suspended
         * machine). Its master may have written it off meanwhile and ended: nobody would speak to it, and it
         * stayed busy for LPZ_DIST_MASTER_TIMEOUT_MS, refusing a new master's START all along. */
        double tick = now_s();
        if (tick - last_tick >= WOKEN_GAP_S && state_of(c) != LPZ_DIST_IDLE &&
            !__atomic_load_n(&c->release, __ATOMIC_SEQ_CST)) {
            woke_at = tick;
            lpz_log(LPZ_LOG_INFO, "this client was stopped for %.0f s: experiment %016" PRIx64 " is dropped if its "
                    "master says nothing within %g s", tick - last_tick, c->experiment, woken_ms / 1000.0);
        }
        last_tick = tick;
        /* A Ctrl-C or SIGTERM with a cell here: the cell ends its batch and
         * this client answers the master until it has the results, as
         * after a stop from the master (they were deleted at once, and the
         * master reported the cell lost). "Has": the master asked something
         * after the RESULT reply, which on req/rep means the reply arrived
         * (closing the socket right after sending could cut it off). Not
         * past a second Ctrl-C or STOP_GRACE_S, nor for a failed cell. */
        int stop = __atomic_load_n(o->stop, __ATOMIC_SEQ_CST);
        if (stop) {
            int owed = c->thread_live && !c->results_acked && state_of(c) != LPZ_DIST_FAILED &&
                       !__atomic_load_n(&c->release, __ATOMIC_SEQ_CST);
            if (!owed || stop >= 2)
                break;
            double t = now_s();
            if (!stop_at) {
                stop_at = t;
                __atomic_store_n(&c->train_stop, 1, __ATOMIC_SEQ_CST);
                lpz_log(LPZ_LOG_INFO, "stopping: cell %d ends its batch; waiting up to %d s for the master to "
                        "collect its results (Ctrl-C again to quit at once)", c->cell, STOP_GRACE_S);
            }
            if (t - stop_at > STOP_GRACE_S) {
                lpz_log(LPZ_LOG_WARN, "the master did not collect the results of cell %d; they are dropped",
                        c->cell);
                break;
            }
        }
        lpz_ctl_msg req;
        lpz_error e;
        int r = lpz_ctl_recv(c->srv, 100, &req, &e);
        if (r == LPZ_OK)
            handle(c, &req);
        else if (r != LPZ_ETIMEOUT) {
            lpz_log(LPZ_LOG_WARN, "%s", e.message);
            usleep(50000);
        }
        if (state_of(c) != LPZ_DIST_IDLE && now_s() - c->last_contact > timeout_ms / 1000.0 &&
            !__atomic_load_n(&c->release, __ATOMIC_SEQ_CST)) {
            lpz_log(LPZ_LOG_WARN, "no word from the master for %d s: dropping experiment %016" PRIx64,
                    timeout_ms / 1000, c->experiment);
            give_up(c);
        }
        /* The master speaks: it still counts on this client. Not the requests queued while it was stopped,
         * handled as it wakes: a master that wrote it off sent them too. */
        if (woke_at && c->last_contact >= woke_at + 1.0)
            woke_at = 0;
        if (woke_at && now_s() - woke_at > woken_ms / 1000.0) {
            woke_at = 0;
            if (state_of(c) != LPZ_DIST_IDLE && !__atomic_load_n(&c->release, __ATOMIC_SEQ_CST)) {
                lpz_log(LPZ_LOG_WARN, "no word from the master in the %g s since this client was stopped: dropping "
                        "experiment %016" PRIx64 " (the master wrote it off, or ended)", woken_ms / 1000.0,
                        c->experiment);
                give_up(c);
            }
        }
        reap(c);
    }
    if (c->thread_live) {
        give_up(c);
        while (!__atomic_load_n(&c->thread_done, __ATOMIC_SEQ_CST))
            usleep(20000);
        reap(c);
    }
    rc = LPZ_OK;
out:
    lpz_ctl_close(c->srv);
    lpz_wire_ctx_clear(&c->ctx);
    pthread_mutex_destroy(&c->lock);
    free(c);
    return rc;
}
