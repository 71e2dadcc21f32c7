/* core/transport/control.c - see control.h. nng 1.5 req0/rep0; tcp://
 * becomes tls+tcp:// when tls.h is configured. */
#include "transport/control.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <nng/nng.h>
#include <nng/protocol/reqrep0/rep.h>
#include <nng/protocol/reqrep0/req.h>
#include <nng/supplemental/util/platform.h>

#include "transport/tls_nng.h"

#define URL_MAX 512

static int status_of(int rv)
{
    switch (rv) {
    case NNG_ETIMEDOUT: return LPZ_ETIMEOUT;
    case NNG_ENOMEM: return LPZ_ENOMEM;
    case NNG_EADDRINVAL:
    case NNG_ENOTSUP:
    case NNG_EINVAL: return LPZ_EINVAL;
    default: return LPZ_ENET;
    }
}

struct lpz_ctl_server {
    nng_socket sock;
    char url[URL_MAX];
};

struct lpz_ctl_client {
    nng_socket sock;
    char url[URL_MAX];
    pthread_mutex_t mu; /* aio and cancelled (lpz_ctl_request_cancelable, lpz_ctl_client_cancel) */
    nng_aio *aio;       /* the operation a cancelable request waits for */
    int cancelled;
};

int lpz_ctl_listen(const char *url, size_t max_frame, lpz_ctl_server **out, lpz_error *err)
{
    *out = NULL;
    if (!url || strlen(url) >= URL_MAX)
        return lpz_error_set(err, LPZ_EINVAL, "missing or over-long control URL");
    lpz_ctl_server *s = calloc(1, sizeof *s);
    if (!s)
        return lpz_error_set(err, LPZ_ENOMEM, "out of memory");
    snprintf(s->url, sizeof s->url, "%s", url);
    int rv = nng_rep0_open(&s->sock);
    if (rv) {
        free(s);
        return lpz_error_set(err, status_of(rv), "cannot open a rep socket: %s", nng_strerror(rv));
    }
    nng_socket_set_size(s->sock, NNG_OPT_RECVMAXSZ, max_frame);
    nng_socket_set_ms(s->sock, NNG_OPT_SENDTIMEO, 10000);
    rv = lpz_tls_listen(s->sock, url, NULL);
    if (rv) {
        int rc = lpz_error_set(err, rv == NNG_EADDRINUSE ? LPZ_ESTATE : status_of(rv), "cannot listen: %s",
                               nng_strerror(rv));
        lpz_error_where(err, "%s", url);
        nng_close(s->sock);
        free(s);
        return rc;
    }
    *out = s;
    return LPZ_OK;
}

int lpz_ctl_recv(lpz_ctl_server *s, int timeout_ms, lpz_ctl_msg *req, lpz_error *err)
{
    memset(req, 0, sizeof *req);
    nng_socket_set_ms(s->sock, NNG_OPT_RECVTIMEO, timeout_ms > 0 ? timeout_ms : 1);
    nng_msg *m;
    int rv = nng_recvmsg(s->sock, &m, 0);
    if (rv == NNG_ETIMEDOUT)
        return LPZ_ETIMEOUT;
    if (rv)
        return lpz_error_set(err, status_of(rv), "control socket %s: receive failed: %s", s->url, nng_strerror(rv));
    req->frame = nng_msg_body(m);
    req->len = nng_msg_len(m);
    req->msg_ = m;
    return LPZ_OK;
}

int lpz_ctl_reply(lpz_ctl_server *s, lpz_ctl_msg *req, const uint8_t *frame, size_t len, lpz_error *err)
{
    nng_msg *m = req->msg_;
    req->msg_ = NULL;
    req->frame = NULL;
    if (!m)
        return lpz_error_set(err, LPZ_ESTATE, "no request to answer");
    /* Reuse the request message: it carries nng's routing header. */
    nng_msg_clear(m);
    int rv = nng_msg_append(m, frame, len);
    if (!rv)
        rv = nng_sendmsg(s->sock, m, 0);
    if (rv) {
        nng_msg_free(m);
        return lpz_error_set(err, status_of(rv), "control socket %s: reply not sent: %s", s->url, nng_strerror(rv));
    }
    return LPZ_OK;
}

void lpz_ctl_peer_of(void *msg, char *out, size_t size)
{
    snprintf(out, size, "an unknown peer");
    if (!msg)
        return;
    nng_pipe p = nng_msg_get_pipe(msg);
    nng_sockaddr sa;
    if (nng_pipe_id(p) < 0 || nng_pipe_get_addr(p, NNG_OPT_REMADDR, &sa) != 0)
        return;
    char ip[INET6_ADDRSTRLEN];
    if (sa.s_family == NNG_AF_INET && inet_ntop(AF_INET, &sa.s_in.sa_addr, ip, sizeof ip))
        snprintf(out, size, "%s:%u", ip, (unsigned)ntohs(sa.s_in.sa_port));
    else if (sa.s_family == NNG_AF_INET6 && inet_ntop(AF_INET6, sa.s_in6.sa_addr, ip, sizeof ip))
        snprintf(out, size, "[%s]:%u", ip, (unsigned)ntohs(sa.s_in6.sa_port));
}

void lpz_ctl_msg_peer(const lpz_ctl_msg *req, char *out, size_t size)
{
    lpz_ctl_peer_of(req->msg_, out, size);
}

void lpz_ctl_drop(lpz_ctl_msg *req)
{
    if (req->msg_)
        nng_msg_free(req->msg_);
    memset(req, 0, sizeof *req);
}

void lpz_ctl_close(lpz_ctl_server *s)
{
    if (!s)
        return;
    nng_close(s->sock);
    free(s);
}

int lpz_ctl_dial(const char *url, size_t max_frame, lpz_ctl_client **out, lpz_error *err)
{
    *out = NULL;
    if (!url || strlen(url) >= URL_MAX)
        return lpz_error_set(err, LPZ_EINVAL, "missing or over-long control URL");
    lpz_ctl_client *c = calloc(1, sizeof *c);
    if (!c)
        return lpz_error_set(err, LPZ_ENOMEM, "out of memory");
    snprintf(c->url, sizeof c->url, "%s", url);
    int rv = nng_req0_open(&c->sock);
    if (rv) {
        free(c);
        return lpz_error_set(err, status_of(rv), "cannot open a req socket: %s", nng_strerror(rv));
    }
    pthread_mutex_init(&c->mu, NULL);
    nng_socket_set_size(c->sock, NNG_OPT_RECVMAXSZ, max_frame);
    nng_socket_set_ms(c->sock, NNG_OPT_RECONNMINT, 50);
    nng_socket_set_ms(c->sock, NNG_OPT_RECONNMAXT, 500);
    /* A request is never resent by nng: the caller decides on timeouts. */
    nng_socket_set_ms(c->sock, NNG_OPT_REQ_RESENDTIME, NNG_DURATION_INFINITE);
    rv = lpz_tls_dial(c->sock, url, NULL, NNG_FLAG_NONBLOCK);
    if (rv) {
        int rc = lpz_error_set(err, status_of(rv), "cannot dial: %s", nng_strerror(rv));
        lpz_error_where(err, "%s", url);
        nng_close(c->sock);
        pthread_mutex_destroy(&c->mu);
        free(c);
        return rc;
    }
    *out = c;
    return LPZ_OK;
}

int lpz_ctl_request(lpz_ctl_client *c, const uint8_t *frame, size_t len, int timeout_ms, uint8_t **reply,
                    size_t *reply_len, lpz_error *err)
{
    *reply = NULL;
    *reply_len = 0;
    if (timeout_ms <= 0)
        timeout_ms = 1;
    nng_time deadline = nng_clock() + (nng_time)timeout_ms;
    nng_socket_set_ms(c->sock, NNG_OPT_SENDTIMEO, timeout_ms);
    /* A new request abandons an unanswered earlier one, so a late reply is
     * never taken for this one's. */
    int rv = nng_send(c->sock, (void *)(uintptr_t)frame, len, 0);
    if (!rv) {
        nng_time now = nng_clock();
        nng_socket_set_ms(c->sock, NNG_OPT_RECVTIMEO, now >= deadline ? 1 : (nng_duration)(deadline - now));
        nng_msg *m;
        rv = nng_recvmsg(c->sock, &m, 0);
        if (!rv) {
            size_t n = nng_msg_len(m);
            *reply = malloc(n ? n : 1);
            if (!*reply) {
                nng_msg_free(m);
                return lpz_error_set(err, LPZ_ENOMEM, "out of memory for a %zu-byte reply", n);
            }
            memcpy(*reply, nng_msg_body(m), n);
            *reply_len = n;
            nng_msg_free(m);
            return LPZ_OK;
        }
    }
    if (rv == NNG_ETIMEDOUT)
        return lpz_error_set(err, LPZ_ETIMEOUT, "no answer from %s within %d ms", c->url, timeout_ms);
    return lpz_error_set(err, status_of(rv), "exchange with %s failed: %s", c->url, nng_strerror(rv));
}

/* Runs one send (or receive) of a cancelable request and waits for it;
 * NNG_ECANCELED without starting when the client was cancelled. */
static int cancelable_op(lpz_ctl_client *c, nng_aio *aio, int send)
{
    pthread_mutex_lock(&c->mu);
    int cancelled = c->cancelled;
    if (!cancelled) {
        c->aio = aio;
        if (send)
            nng_send_aio(c->sock, aio);
        else
            nng_recv_aio(c->sock, aio);
    }
    pthread_mutex_unlock(&c->mu);
    if (cancelled)
        return NNG_ECANCELED;
    nng_aio_wait(aio);
    pthread_mutex_lock(&c->mu);
    c->aio = NULL;
    pthread_mutex_unlock(&c->mu);
    return nng_aio_result(aio);
}

int lpz_ctl_request_cancelable(lpz_ctl_client *c, const uint8_t *frame, size_t len, int timeout_ms, uint8_t **reply,
                               size_t *reply_len, lpz_error *err)
{
    *reply = NULL;
    *reply_len = 0;
    if (timeout_ms <= 0)
        timeout_ms = 1;
    nng_time deadline = nng_clock() + (nng_time)timeout_ms;
    nng_aio *aio;
    nng_msg *m;
    if (nng_aio_alloc(&aio, NULL, NULL) != 0)
        return lpz_error_set(err, LPZ_ENOMEM, "out of memory");
    if (nng_msg_alloc(&m, 0) != 0 || nng_msg_append(m, frame, len) != 0) {
        nng_aio_free(aio);
        return lpz_error_set(err, LPZ_ENOMEM, "out of memory for a %zu-byte request", len);
    }
    nng_aio_set_msg(aio, m);
    nng_aio_set_timeout(aio, timeout_ms);
    int rv = cancelable_op(c, aio, 1);
    if (rv) { /* not sent: the message is still the caller's */
        nng_msg_free(m);
    } else {
        nng_time now = nng_clock();
        nng_aio_set_msg(aio, NULL);
        nng_aio_set_timeout(aio, now >= deadline ? 1 : (nng_duration)(deadline - now));
        rv = cancelable_op(c, aio, 0);
        if (!rv) {
            nng_msg *r = nng_aio_get_msg(aio);
            size_t n = nng_msg_len(r);
            *reply = malloc(n ? n : 1);
            if (*reply) {
                memcpy(*reply, nng_msg_body(r), n);
                *reply_len = n;
            }
            nng_msg_free(r);
            if (!*reply)
                rv = NNG_ENOMEM;
        }
    }
    nng_aio_free(aio);
    if (!rv)
        return LPZ_OK;
    if (rv == NNG_ETIMEDOUT)
        return lpz_error_set(err, LPZ_ETIMEOUT, "no answer from %s within %d ms", c->url, timeout_ms);
    if (rv == NNG_ECANCELED)
        return lpz_error_set(err, LPZ_ECANCELED, "exchange with %s cancelled", c->url);
    return lpz_error_set(err, status_of(rv), "exchange with %s failed: %s", c->url, nng_strerror(rv));
}

void lpz_ctl_client_cancel(lpz_ctl_client *c)
{
    if (!c)
        return;
    pthread_mutex_lock(&c->mu);
    c->cancelled = 1;
    if (c->aio)
        nng_aio_cancel(c->aio);
    pthread_mutex_unlock(&c->mu);
}

const char *lpz_ctl_client_url(const lpz_ctl_client *c) { return c->url; }

void lpz_ctl_client_close(lpz_ctl_client *c)
{
    if (!c)
        return;
    nng_close(c->sock);
    pthread_mutex_destroy(&c->mu);
    free(c);
}

int lpz_ctl_send_raw(const char *url, const uint8_t *bytes, size_t len, int timeout_ms, uint8_t **reply,
                     size_t *reply_len, lpz_error *err)
{
    lpz_ctl_client *c;
    int rc = lpz_ctl_dial(url, (size_t)1 << 20, &c, err);
    if (rc)
        return rc;
    rc = lpz_ctl_request(c, bytes, len, timeout_ms, reply, reply_len, err);
    lpz_ctl_client_close(c);
    return rc;
}

int lpz_ctl_random(uint8_t *out, size_t n, lpz_error *err)
{
    int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
    size_t got = 0;
    while (fd >= 0 && got < n) {
        ssize_t r = read(fd, out + got, n - got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        got += (size_t)r;
    }
    if (fd >= 0)
        close(fd);
    if (got == n)
        return LPZ_OK;
    /* nng's generator is seeded from the system's entropy as well. */
    for (size_t i = 0; i < n; i++)
        out[i] = (uint8_t)nng_random();
    (void)err;
    return LPZ_OK;
}
