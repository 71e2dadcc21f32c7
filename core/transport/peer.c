/* core/transport/peer.c - cell server (rep0, one thread) and neighbour
 * client (req0) over nng 1.5 (tcp:// becomes tls+tcp:// when tls.h is
 * configured). The only file of lpz that calls nng for the
 * neighbour exchange. */
#include "transport/peer.h"

#include <inttypes.h>
#include <lpz/log.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <nng/nng.h>
#include <nng/protocol/reqrep0/rep.h>
#include <nng/protocol/reqrep0/req.h>
#include <nng/supplemental/util/platform.h>

#include "base/thread.h"
#include "transport/control.h"
#include "transport/individual.h"
#include "transport/tls_nng.h"
#include "transport/wire.h"

#define URL_MAX 512
/* Bad requests logged one by one before the log thins out to every Nth. */
#define REFUSED_LOG_FIRST 10
#define REFUSED_LOG_EVERY 1000

static int nng_status(int rv)
{
    switch (rv) {
    case NNG_ETIMEDOUT:
        return LPZ_ETIMEOUT;
    case NNG_ENOMEM:
        return LPZ_ENOMEM;
    case NNG_EADDRINVAL:
    case NNG_ENOTSUP:
    case NNG_EINVAL:
        return LPZ_EINVAL;
    default:
        return LPZ_ENET;
    }
}

int lpz_peer_inproc_url(char *buf, size_t size, uint64_t experiment_id, uint32_t cell, lpz_error *err)
{
    int n = snprintf(buf, size, "inproc://lpz/%016" PRIx64 "/%" PRIu32, experiment_id, cell);
    if (n < 0 || (size_t)n >= size)
        return lpz_error_set(err, LPZ_EINVAL, "URL buffer of %zu bytes too small", size);
    return LPZ_OK;
}

/* ------------------------------------------------------------------ */
/* server                                                               */

/* One published population, shared by reference between the publisher,
 * the server thread (which may still be sending the previous one) and
 * in-process readers (lpz_peer_server_acquire). The count is atomic, not
 * under the server's mutex, so that a reader may release it after the
 * server has stopped. */
typedef struct lpz_peer_snapshot {
    int refs; /* atomic */
    uint8_t *data;
    size_t len;
    lpz_wire_prepared prep; /* CRC and HMAC state of data, computed once */
} snapshot;

struct lpz_peer_server {
    nng_socket sock;
    pthread_t thread;
    bool thread_started;
    /* The thread waits for requests on `rx`, with no timeout: a stop
     * cancels it. (A receive timeout polling `stopping` made nng's timer
     * thread spin to each expiry's millisecond: 1.6% of the CPU of the
     * 2x2 quick start, whose four cell servers are never asked in a
     * local run.) rx_lock orders starting a receive against a stop. */
    nng_aio *rx;
    pthread_mutex_t rx_lock;
    int stopping; /* atomic; set under rx_lock: lpz_peer_server_stop asked the thread to end */
    lpz_wire_ctx wire;
    char url[URL_MAX];
    pthread_mutex_t lock; /* guards current, refs and stats */
    snapshot *current;
    lpz_peer_server_stats stats;
};

static void snapshot_unref(snapshot *snap)
{
    if (snap && __atomic_sub_fetch(&snap->refs, 1, __ATOMIC_ACQ_REL) == 0) {
        free(snap->data);
        free(snap);
    }
}

/* The current snapshot with one more reference, or NULL. Taken under the
 * mutex, so that a publish cannot drop the last reference in between. */
static snapshot *snapshot_current(lpz_peer_server *s)
{
    pthread_mutex_lock(&s->lock);
    snapshot *snap = s->current;
    if (snap)
        __atomic_add_fetch(&snap->refs, 1, __ATOMIC_ACQ_REL);
    pthread_mutex_unlock(&s->lock);
    return snap;
}

/* A reply frame: header + payload + tag, in one nng message. NULL when out
 * of memory (the requester then times out). */
static nng_msg *reply_frame(lpz_peer_server *s, unsigned type, uint64_t request_id, const uint8_t *payload,
                            size_t len, const lpz_wire_prepared *prep)
{
    nng_msg *m;
    if (nng_msg_alloc(&m, lpz_wire_frame_size(&s->wire, len)) != 0)
        return NULL;
    uint8_t *f = nng_msg_body(m);
    lpz_wire_prepared local;
    if (!prep) {
        lpz_wire_prepare(&s->wire, payload, len, &local);
        prep = &local;
    }
    if (len)
        memcpy(f + LPZ_WIRE_HEADER_SIZE, payload, len);
    lpz_wire_seal_prepared(&s->wire, prep, type, request_id, f, f + LPZ_WIRE_HEADER_SIZE + len);
    return m;
}

/* An ERROR reply. `stranger`: the request failed lpz_wire_open (not
 * authenticated, or of another experiment): the reply's header carries
 * experiment 0, not this cell's (without a secret the experiment id is
 * what a cell request must know; lpz_wire_open accepts ERROR frames of
 * experiment 0). */
static nng_msg *refuse(lpz_peer_server *s, void *req, uint64_t request_id, const lpz_error *e, int stranger)
{
    char text[LPZ_WIRE_MAX_ERROR_TEXT + 1], peer[80];
    lpz_error_format(e, text, sizeof text);
    lpz_ctl_peer_of(req, peer, sizeof peer);
    pthread_mutex_lock(&s->lock);
    uint64_t n = ++s->stats.refused;
    pthread_mutex_unlock(&s->lock);
    if (n <= REFUSED_LOG_FIRST)
        lpz_log(LPZ_LOG_WARN, "cell server %s: refused a request from %s: %s", s->url, peer, text);
    else if (n % REFUSED_LOG_EVERY == 0)
        lpz_log(LPZ_LOG_WARN, "cell server %s: %" PRIu64 " requests refused so far (only every %d. is logged; "
                "this one from %s): %s", s->url, n, REFUSED_LOG_EVERY, peer, text);
    uint8_t payload[LPZ_WIRE_MAX_ERROR];
    size_t len = lpz_wire_error_encode(payload, e->code, text);
    if (!stranger)
        return reply_frame(s, LPZ_MSG_ERROR, request_id, payload, len, NULL);
    lpz_wire_ctx anon = s->wire;
    anon.experiment_id = 0;
    lpz_wire_prepared prep;
    lpz_wire_prepare(&anon, payload, len, &prep);
    nng_msg *m;
    if (nng_msg_alloc(&m, lpz_wire_frame_size(&anon, len)) != 0)
        return NULL;
    uint8_t *f = nng_msg_body(m);
    memcpy(f + LPZ_WIRE_HEADER_SIZE, payload, len);
    lpz_wire_seal_prepared(&anon, &prep, LPZ_MSG_ERROR, request_id, f, f + LPZ_WIRE_HEADER_SIZE + len);
    lpz_wire_ctx_clear(&anon);
    return m;
}

static nng_msg *answer(lpz_peer_server *s, nng_msg *req)
{
    const uint8_t *frame = nng_msg_body(req);
    size_t len = nng_msg_len(req);
    lpz_error e;
    lpz_error_clear(&e);
    lpz_wire_header h;
    const uint8_t *payload;
    if (lpz_wire_open(&s->wire, frame, len, &h, &payload, &e) != LPZ_OK)
        return refuse(s, req, h.request_id, &e, 1);
    if (h.type != LPZ_MSG_GET_POPULATION) {
        lpz_error_set(&e, LPZ_EFORMAT, "a cell server answers GET_POPULATION, not %s", lpz_msg_type_name(h.type));
        /* an ERROR of experiment 0 passes lpz_wire_open (a refusal's form): its sender showed no experiment, and
         * the reply must not tell it this cell's */
        return refuse(s, req, h.request_id, &e, h.experiment_id != s->wire.experiment_id);
    }
    long long requester = -1;
    if (h.payload_len == 4) {
        lpz_cursor c = lpz_cursor_reader(payload, 4);
        uint32_t cell;
        lpz_get_u32(&c, &cell);
        requester = cell;
    } else if (h.payload_len != 0) {
        lpz_error_set(&e, LPZ_EFORMAT, "GET_POPULATION payload of %llu bytes, expected 0 or 4",
                      (unsigned long long)h.payload_len);
        return refuse(s, req, h.request_id, &e, 0);
    }
    snapshot *snap = snapshot_current(s);
    if (!snap) {
        lpz_error_set(&e, LPZ_ESTATE, "cell has not published a population yet");
        lpz_error_hint(&e, "retry later");
        if (requester >= 0)
            lpz_error_where(&e, "request from cell %lld", requester);
        return refuse(s, req, h.request_id, &e, 0);
    }
    nng_msg *m = reply_frame(s, LPZ_MSG_POPULATION, h.request_id, snap->data, snap->len, &snap->prep);
    snapshot_unref(snap);
    if (m) {
        pthread_mutex_lock(&s->lock);
        s->stats.served++;
        pthread_mutex_unlock(&s->lock);
    }
    return m;
}

static void *serve(void *arg)
{
    lpz_peer_server *s = arg;
    for (;;) {
        pthread_mutex_lock(&s->rx_lock);
        int stopping = __atomic_load_n(&s->stopping, __ATOMIC_ACQUIRE);
        if (!stopping)
            nng_recv_aio(s->sock, s->rx);
        pthread_mutex_unlock(&s->rx_lock);
        if (stopping)
            break;
        nng_aio_wait(s->rx);
        int rv = nng_aio_result(s->rx);
        nng_msg *req = rv ? NULL : nng_aio_get_msg(s->rx);
        if (rv == NNG_ECLOSED || rv == NNG_ECANCELED || __atomic_load_n(&s->stopping, __ATOMIC_ACQUIRE)) {
            if (req)
                nng_msg_free(req);
            break;
        }
        if (rv != 0) {
            lpz_log(LPZ_LOG_WARN, "cell server %s: receive failed: %s", s->url, nng_strerror(rv));
            nng_msleep(10); /* do not spin on a persistent failure */
            continue;
        }
        nng_msg *rep = answer(s, req);
        nng_msg_free(req);
        if (!rep) {
            lpz_log(LPZ_LOG_WARN, "cell server %s: out of memory for a reply", s->url);
            continue;
        }
        rv = nng_sendmsg(s->sock, rep, 0);
        if (rv != 0) {
            nng_msg_free(rep);
            if (rv == NNG_ECLOSED)
                break;
            lpz_log(LPZ_LOG_DEBUG, "cell server %s: reply not sent: %s", s->url, nng_strerror(rv));
        }
    }
    return NULL;
}

/* For tcp://host:0 (and tls+tcp://), the URL with the port nng bound. */
static void resolve_url(lpz_peer_server *s, const char *url, nng_listener l)
{
    snprintf(s->url, sizeof s->url, "%s", url);
    if (strncmp(url, "tcp://", 6) != 0 && strncmp(url, "tls+tcp://", 10) != 0)
        return;
    const char *colon = strrchr(url, ':');
    int port = 0;
    if (!colon || colon < strstr(url, "://") + 3 || nng_listener_get_int(l, NNG_OPT_TCP_BOUND_PORT, &port) != 0)
        return;
    snprintf(s->url, sizeof s->url, "%.*s:%d", (int)(colon - url), url, port);
}

int lpz_peer_server_start(const char *url, uint64_t experiment_id, const char *secret, lpz_peer_server **out,
                          lpz_error *err)
{
    *out = NULL;
    if (!url || strlen(url) >= URL_MAX - 8)
        return lpz_error_set(err, LPZ_EINVAL, "missing or over-long URL for a cell server");
    lpz_peer_server *s = calloc(1, sizeof *s);
    if (!s)
        return lpz_error_set(err, LPZ_ENOMEM, "out of memory");
    pthread_mutex_init(&s->lock, NULL);
    pthread_mutex_init(&s->rx_lock, NULL);
    lpz_wire_ctx_init(&s->wire, experiment_id, secret);
    int rc;
    int rv = nng_aio_alloc(&s->rx, NULL, NULL);
    if (rv) {
        rc = lpz_error_set(err, LPZ_ENOMEM, "out of memory");
        goto fail_nosock;
    }
    nng_aio_set_timeout(s->rx, NNG_DURATION_INFINITE);
    rv = nng_rep0_open(&s->sock);
    if (rv) {
        rc = lpz_error_set(err, nng_status(rv), "cannot open a rep socket: %s", nng_strerror(rv));
        goto fail_nosock;
    }
    /* Requests are tiny; refuse big frames before they are read in full. */
    nng_socket_set_size(s->sock, NNG_OPT_RECVMAXSZ, LPZ_WIRE_MAX_REQUEST_FRAME);
    /* A peer that stops reading must not block the server thread forever. */
    nng_socket_set_ms(s->sock, NNG_OPT_SENDTIMEO, 10000);
    /* The thread ends by itself when stopped (its receive cancelled), and
     * the socket is closed after: closing it while the thread waits in a
     * receive is the pattern of nng's close deadlocks (nng issues 1543,
     * 1813; Debian 12 has nng 1.5.2), seen here as a client that never
     * exited after its cell's results were collected. */
    nng_listener l;
    rv = lpz_tls_listen(s->sock, url, &l);
    if (rv) {
        rc = lpz_error_set(err, nng_status(rv), "cannot listen: %s", nng_strerror(rv));
        lpz_error_where(err, "%s", url);
        if (rv == NNG_EADDRINUSE)
            lpz_error_hint(err, "another process or cell uses this address; choose another port");
        else if (rv == NNG_EADDRINVAL || rv == NNG_ENOTSUP)
            lpz_error_hint(err, "use inproc://lpz/<experiment>/<cell> or tcp://host:port");
        goto fail;
    }
    resolve_url(s, url, l);
    if (lpz_thread_create(&s->thread, serve, s) != 0) {
        rc = lpz_error_set(err, LPZ_ENOMEM, "cannot start the cell server thread");
        goto fail;
    }
    s->thread_started = true;
    lpz_log(LPZ_LOG_DEBUG, "cell server listening on %s", s->url);
    *out = s;
    return LPZ_OK;
fail:
    nng_close(s->sock);
fail_nosock:
    if (s->rx)
        nng_aio_free(s->rx);
    lpz_wire_ctx_clear(&s->wire);
    pthread_mutex_destroy(&s->rx_lock);
    pthread_mutex_destroy(&s->lock);
    free(s);
    return rc;
}

const char *lpz_peer_server_url(const lpz_peer_server *s) { return s->url; }

int lpz_peer_server_publish_take(lpz_peer_server *s, uint8_t *payload, size_t len, lpz_error *err)
{
    lpz_population_view v;
    int rc = lpz_population_parse(payload, len, NULL, &v, err);
    if (rc) {
        free(payload);
        lpz_error_context(err, "publishing on %s", s->url);
        return rc;
    }
    snapshot *snap = malloc(sizeof *snap);
    if (!snap) {
        free(payload);
        return lpz_error_set(err, LPZ_ENOMEM, "out of memory");
    }
    snap->refs = 1;
    snap->data = payload;
    snap->len = len;
    lpz_wire_prepare(&s->wire, payload, len, &snap->prep);
    pthread_mutex_lock(&s->lock);
    snapshot *old = s->current;
    s->current = snap;
    pthread_mutex_unlock(&s->lock);
    snapshot_unref(old);
    return LPZ_OK;
}

int lpz_peer_server_republish(lpz_peer_server *s, lpz_peer_snapshot *mine, lpz_peer_rewrite_fn rewrite, void *user,
                              int *done, lpz_error *err)
{
    *done = 0;
    pthread_mutex_lock(&s->lock);
    snapshot *snap = s->current;
    /* References: the server's and the caller's. Every other one is taken
     * under this lock (snapshot_current), so none appears meanwhile. */
    if (!snap || snap != mine || __atomic_load_n(&snap->refs, __ATOMIC_ACQUIRE) != 2) {
        pthread_mutex_unlock(&s->lock);
        return LPZ_OK;
    }
    lpz_population_view v;
    int rc = rewrite(user, snap->data, snap->len, err);
    if (!rc)
        rc = lpz_population_parse(snap->data, snap->len, NULL, &v, err);
    if (rc) {
        s->current = NULL;
        pthread_mutex_unlock(&s->lock);
        snapshot_unref(snap);
        lpz_error_context(err, "republishing on %s", s->url);
        return rc;
    }
    lpz_wire_prepare(&s->wire, snap->data, snap->len, &snap->prep);
    pthread_mutex_unlock(&s->lock);
    *done = 1;
    return LPZ_OK;
}

lpz_peer_snapshot *lpz_peer_server_acquire(lpz_peer_server *s, const uint8_t **payload, size_t *len)
{
    snapshot *snap = s ? snapshot_current(s) : NULL;
    *payload = snap ? snap->data : NULL;
    *len = snap ? snap->len : 0;
    return snap;
}

void lpz_peer_snapshot_release(lpz_peer_snapshot *snap)
{
    snapshot_unref(snap);
}

int lpz_peer_server_publish(lpz_peer_server *s, const uint8_t *payload, size_t len, lpz_error *err)
{
    uint8_t *copy = malloc(len ? len : 1);
    if (!copy)
        return lpz_error_set(err, LPZ_ENOMEM, "out of memory copying a population of %zu bytes", len);
    if (len)
        memcpy(copy, payload, len);
    return lpz_peer_server_publish_take(s, copy, len, err);
}

void lpz_peer_server_get_stats(lpz_peer_server *s, lpz_peer_server_stats *st)
{
    pthread_mutex_lock(&s->lock);
    *st = s->stats;
    pthread_mutex_unlock(&s->lock);
}

void lpz_peer_server_signal_stop(lpz_peer_server *s)
{
    if (!s)
        return;
    /* Under rx_lock: the thread either sees `stopping` before it starts a
     * receive, or its receive is under way and is cancelled here. */
    pthread_mutex_lock(&s->rx_lock);
    __atomic_store_n(&s->stopping, 1, __ATOMIC_RELEASE);
    nng_aio_cancel(s->rx);
    pthread_mutex_unlock(&s->rx_lock);
}

void lpz_peer_server_stop(lpz_peer_server *s)
{
    if (!s)
        return;
    lpz_peer_server_signal_stop(s);
    if (s->thread_started)
        pthread_join(s->thread, NULL); /* at once, or after a reply's send timeout */
    nng_aio_free(s->rx);
    pthread_mutex_destroy(&s->rx_lock);
    nng_close(s->sock);
    snapshot_unref(s->current);
    lpz_wire_ctx_clear(&s->wire);
    pthread_mutex_destroy(&s->lock);
    free(s);
}

/* ------------------------------------------------------------------ */
/* client                                                               */

/* Process-wide cell moves (lpz_peer_redirect): a client whose original URL
 * appears here dials the new one before its next fetch. Small (one entry
 * per moved cell), so a linear scan under a lock is enough; fetches check
 * only an atomic generation counter unless something moved. */
#define REDIRECT_MAX 256
static struct {
    pthread_mutex_t lock;
    unsigned generation;
    int n;
    char from[REDIRECT_MAX][URL_MAX];
    char to[REDIRECT_MAX][URL_MAX];
} redirects = {PTHREAD_MUTEX_INITIALIZER, 0, 0, {{0}}, {{0}}};

struct lpz_peer_client {
    nng_socket sock;
    lpz_wire_ctx wire;
    char url[URL_MAX];      /* what it dials now */
    char original[URL_MAX]; /* what it was opened with */
    nng_dialer dialer;
    unsigned redirect_gen;
    int64_t requester_cell;
    uint64_t next_id;
    nng_msg *last; /* the last reply; the payload handed out points into it */
};

int lpz_peer_client_open(const char *url, uint64_t experiment_id, const char *secret, int64_t requester_cell,
                         lpz_peer_client **out, lpz_error *err)
{
    *out = NULL;
    if (!url || strlen(url) >= URL_MAX)
        return lpz_error_set(err, LPZ_EINVAL, "missing or over-long neighbour URL");
    if (requester_cell > UINT32_MAX)
        return lpz_error_set(err, LPZ_EINVAL, "requester cell %lld out of range", (long long)requester_cell);
    lpz_peer_client *c = calloc(1, sizeof *c);
    if (!c)
        return lpz_error_set(err, LPZ_ENOMEM, "out of memory");
    snprintf(c->url, sizeof c->url, "%s", url);
    snprintf(c->original, sizeof c->original, "%s", url);
    c->requester_cell = requester_cell;
    c->next_id = ((uint64_t)nng_random() << 32 | nng_random()) | 1;
    lpz_wire_ctx_init(&c->wire, experiment_id, secret);
    int rv = nng_req0_open(&c->sock);
    if (rv) {
        lpz_wire_ctx_clear(&c->wire);
        free(c);
        return lpz_error_set(err, nng_status(rv), "cannot open a req socket: %s", nng_strerror(rv));
    }
    /* Populations are large (megabytes); nng's default limit is 1 MiB. */
    nng_socket_set_size(c->sock, NNG_OPT_RECVMAXSZ, (size_t)LPZ_WIRE_MAX_FRAME);
    nng_socket_set_ms(c->sock, NNG_OPT_RECONNMINT, 50);
    nng_socket_set_ms(c->sock, NNG_OPT_RECONNMAXT, 1000);
    /* Non-blocking: the neighbour may not be up yet; nng keeps trying. */
    /* One behind: the first fetch looks at the moves, also those announced
     * before this client was opened (a cell moved while its neighbour's
     * trainer was still loading its data dialled the old address for good). */
    c->redirect_gen = __atomic_load_n(&redirects.generation, __ATOMIC_ACQUIRE) - 1;
    rv = lpz_tls_dial(c->sock, url, &c->dialer, NNG_FLAG_NONBLOCK);
    if (rv) {
        int rc = lpz_error_set(err, nng_status(rv), "cannot dial: %s", nng_strerror(rv));
        lpz_error_where(err, "%s", url);
        if (rv == NNG_EADDRINVAL || rv == NNG_ENOTSUP)
            lpz_error_hint(err, "use inproc://lpz/<experiment>/<cell> or tcp://host:port");
        nng_close(c->sock);
        lpz_wire_ctx_clear(&c->wire);
        free(c);
        return rc;
    }
    *out = c;
    return LPZ_OK;
}

const char *lpz_peer_client_url(const lpz_peer_client *c) { return c->url; }

int lpz_peer_redirect(const char *from, const char *to, lpz_error *err)
{
    if (!from || !to || strlen(from) >= URL_MAX || strlen(to) >= URL_MAX)
        return lpz_error_set(err, LPZ_EINVAL, "missing or over-long URL in a cell move");
    pthread_mutex_lock(&redirects.lock);
    int i = 0;
    while (i < redirects.n && strcmp(redirects.from[i], from) != 0)
        i++;
    if (i == REDIRECT_MAX) {
        pthread_mutex_unlock(&redirects.lock);
        return lpz_error_set(err, LPZ_EINVAL, "more than %d cell moves in one process", REDIRECT_MAX);
    }
    if (i == redirects.n || strcmp(redirects.to[i], to) != 0) {
        snprintf(redirects.from[i], URL_MAX, "%s", from);
        snprintf(redirects.to[i], URL_MAX, "%s", to);
        if (i == redirects.n)
            redirects.n++;
        __atomic_add_fetch(&redirects.generation, 1, __ATOMIC_RELEASE);
    }
    pthread_mutex_unlock(&redirects.lock);
    return LPZ_OK;
}

void lpz_peer_redirect_clear(void)
{
    pthread_mutex_lock(&redirects.lock);
    redirects.n = 0;
    __atomic_add_fetch(&redirects.generation, 1, __ATOMIC_RELEASE);
    pthread_mutex_unlock(&redirects.lock);
}

/* Follows a cell move announced since the last fetch: closes the old
 * dialer and dials the new address (in the background). */
static void follow_redirect(lpz_peer_client *c)
{
    unsigned gen = __atomic_load_n(&redirects.generation, __ATOMIC_ACQUIRE);
    if (gen == c->redirect_gen)
        return;
    c->redirect_gen = gen;
    char to[URL_MAX] = "";
    pthread_mutex_lock(&redirects.lock);
    for (int i = 0; i < redirects.n; i++)
        if (strcmp(redirects.from[i], c->original) == 0)
            snprintf(to, sizeof to, "%s", redirects.to[i]);
    pthread_mutex_unlock(&redirects.lock);
    if (!to[0] || strcmp(to, c->url) == 0)
        return;
    if (strcmp(to, LPZ_PEER_GONE_URL) == 0) {
        /* Nothing to dial: fetches fail at once from now on. */
        lpz_log(LPZ_LOG_INFO, "neighbour %s is gone; its last known individuals stay in use", c->url);
        nng_dialer_close(c->dialer);
        snprintf(c->url, sizeof c->url, "%s", to);
        return;
    }
    nng_dialer d;
    int rv = lpz_tls_dial(c->sock, to, &d, NNG_FLAG_NONBLOCK);
    if (rv) {
        lpz_log(LPZ_LOG_WARN, "neighbour moved from %s to %s, but it cannot be dialled: %s", c->url, to,
                nng_strerror(rv));
        return;
    }
    lpz_log(LPZ_LOG_INFO, "neighbour moved from %s to %s", c->url, to);
    nng_dialer_close(c->dialer);
    c->dialer = d;
    snprintf(c->url, sizeof c->url, "%s", to);
}

static int fetch_failed(lpz_peer_client *c, int rv, int timeout_ms, lpz_error *err)
{
    if (rv == NNG_ETIMEDOUT)
        return lpz_error_set(err, LPZ_ETIMEOUT, "no answer from neighbour %s within %d ms", c->url, timeout_ms);
    return lpz_error_set(err, nng_status(rv), "exchange with neighbour %s failed: %s", c->url, nng_strerror(rv));
}

void lpz_peer_client_release(lpz_peer_client *c)
{
    if (c && c->last) {
        nng_msg_free(c->last);
        c->last = NULL;
    }
}

int lpz_peer_client_fetch(lpz_peer_client *c, int timeout_ms, const uint8_t **payload, size_t *len, lpz_error *err)
{
    *payload = NULL;
    *len = 0;
    lpz_peer_client_release(c);
    if (timeout_ms <= 0)
        return lpz_error_set(err, LPZ_EINVAL, "fetch timeout must be > 0 ms, not %d", timeout_ms);
    follow_redirect(c);
    if (strcmp(c->url, LPZ_PEER_GONE_URL) == 0)
        return lpz_error_set(err, LPZ_ENOTFOUND, "neighbour %s is gone (its client was lost, no spare took the cell)",
                             c->original);

    size_t plen = c->requester_cell >= 0 ? 4 : 0;
    nng_msg *req;
    int rv = nng_msg_alloc(&req, lpz_wire_frame_size(&c->wire, plen));
    if (rv)
        return lpz_error_set(err, LPZ_ENOMEM, "out of memory");
    uint8_t *f = nng_msg_body(req);
    if (plen) {
        lpz_cursor cur = lpz_cursor_writer(f + LPZ_WIRE_HEADER_SIZE, plen);
        lpz_put_u32(&cur, (uint32_t)c->requester_cell);
    }
    uint64_t id = c->next_id++;
    lpz_wire_seal(&c->wire, LPZ_MSG_GET_POPULATION, id, f, plen, NULL);

    nng_time deadline = nng_clock() + (nng_time)timeout_ms;
    nng_socket_set_ms(c->sock, NNG_OPT_SENDTIMEO, timeout_ms);
    /* A new request on a req socket abandons an earlier unanswered one, so
     * a late reply to a timed-out fetch is never mistaken for this one. */
    rv = nng_sendmsg(c->sock, req, 0);
    if (rv) {
        nng_msg_free(req);
        return fetch_failed(c, rv, timeout_ms, err);
    }
    nng_time now = nng_clock();
    nng_duration left = now >= deadline ? 1 : (nng_duration)(deadline - now);
    nng_socket_set_ms(c->sock, NNG_OPT_RECVTIMEO, left);
    nng_msg *rep;
    rv = nng_recvmsg(c->sock, &rep, 0);
    if (rv)
        return fetch_failed(c, rv, timeout_ms, err);

    lpz_wire_header h;
    const uint8_t *body;
    int rc = lpz_wire_open(&c->wire, nng_msg_body(rep), nng_msg_len(rep), &h, &body, err);
    if (rc == LPZ_OK && h.request_id != id)
        rc = lpz_error_set(err, LPZ_EFORMAT, "reply to request %" PRIu64 ", expected %" PRIu64, h.request_id, id);
    if (rc == LPZ_OK && h.type == LPZ_MSG_ERROR) {
        int code = 0;
        char text[LPZ_WIRE_MAX_ERROR_TEXT + 1];
        rc = lpz_wire_error_decode(body, (size_t)h.payload_len, &code, text, sizeof text, err);
        if (rc == LPZ_OK)
            rc = lpz_error_set(err, LPZ_ENET, "neighbour refused the request: %s (%s)", text, lpz_strerror(code));
    } else if (rc == LPZ_OK && h.type != LPZ_MSG_POPULATION) {
        rc = lpz_error_set(err, LPZ_EFORMAT, "unexpected %s reply to GET_POPULATION", lpz_msg_type_name(h.type));
    }
    if (rc) {
        nng_msg_free(rep);
        lpz_error_context(err, "neighbour %s", c->url);
        return rc;
    }
    c->last = rep;
    *payload = body;
    *len = (size_t)h.payload_len;
    return LPZ_OK;
}

void lpz_peer_client_close(lpz_peer_client *c)
{
    if (!c)
        return;
    lpz_peer_client_release(c);
    nng_close(c->sock);
    lpz_wire_ctx_clear(&c->wire);
    free(c);
}

int lpz_peer_fetch(const char *url, uint64_t experiment_id, const char *secret, int timeout_ms, uint8_t **payload,
                   size_t *len, lpz_error *err)
{
    *payload = NULL;
    *len = 0;
    lpz_peer_client *c;
    int rc = lpz_peer_client_open(url, experiment_id, secret, -1, &c, err);
    if (rc)
        return rc;
    const uint8_t *p;
    size_t n;
    rc = lpz_peer_client_fetch(c, timeout_ms, &p, &n, err);
    if (rc == LPZ_OK) {
        *payload = malloc(n ? n : 1);
        if (!*payload)
            rc = lpz_error_set(err, LPZ_ENOMEM, "out of memory for a population of %zu bytes", n);
        else {
            memcpy(*payload, p, n);
            *len = n;
        }
    }
    lpz_peer_client_close(c);
    return rc;
}
