/* core/transport/peer.h - neighbour exchange between cells over nng.
 *
 * A cell runs one lpz_peer_server: it listens (nng rep0) and answers
 * GET_POPULATION at any time with the latest population the cell
 * published, so a neighbour never waits for the cell's iteration. A cell
 * keeps one lpz_peer_client per neighbour (nng req0, dialled once;
 * nng reconnects by itself) and calls lpz_peer_client_fetch every
 * iteration; on LPZ_ETIMEOUT the trainer keeps that neighbour's last known
 * individuals.
 *
 * The same code runs locally (inproc://lpz/<experiment>/<cell>, cells as
 * threads of one process) and distributed (tcp://host:port; tls+tcp:// is
 * for later). Messages are framed and checked by transport/wire.h.
 */
#ifndef LPZ_TRANSPORT_PEER_H
#define LPZ_TRANSPORT_PEER_H

#include <lpz/error.h>
#include <stddef.h>
#include <stdint.h>

typedef struct lpz_peer_server lpz_peer_server;
typedef struct lpz_peer_snapshot lpz_peer_snapshot;
typedef struct lpz_peer_client lpz_peer_client;

/* Writes "inproc://lpz/<experiment id, 16 hex digits>/<cell>" into buf. */
int lpz_peer_inproc_url(char *buf, size_t size, uint64_t experiment_id, uint32_t cell, lpz_error *err);

/* Starts serving on url (inproc://..., tcp://host:port; port 0 picks a
 * free port, see lpz_peer_server_url). experiment_id: requests of other
 * experiments are refused (0 accepts any). secret: NULL or "" for none;
 * otherwise every request must carry a valid HMAC and every reply does.
 * Until the first publish, requests get an ERROR reply (LPZ_ESTATE). */
int lpz_peer_server_start(const char *url, uint64_t experiment_id, const char *secret, lpz_peer_server **out,
                          lpz_error *err);

/* The URL clients dial: the given one, with the bound port for tcp port 0. */
const char *lpz_peer_server_url(const lpz_peer_server *s);

/* Replaces the served population with a copy of payload (a POPULATION
 * payload from lpz_population_encode; it is validated). Requests being
 * answered finish with the previous one; the next request gets this one.
 * Thread-safe; never waits for a request to finish. */
int lpz_peer_server_publish(lpz_peer_server *s, const uint8_t *payload, size_t len, lpz_error *err);

/* As publish, but takes ownership of a malloc'd payload instead of copying
 * it (freed by the server, also when this fails). */
int lpz_peer_server_publish_take(lpz_peer_server *s, uint8_t *payload, size_t len, lpz_error *err);

/* Rewrites the served population in place instead of publishing a new
 * copy, when nobody but the server and the caller (`mine`: its reference
 * from lpz_peer_server_acquire) holds it: rewrite(user, payload, len)
 * must write a valid POPULATION payload of exactly len bytes (it may read
 * arrays that already lie in the payload where they go). Readers wait
 * meanwhile (the server's lock is held). *done = 1 when it was rewritten;
 * 0 when the payload is shared or not current (publish a new one then).
 * A failed rewrite stops serving it (requests get an ERROR until the next
 * publish). */
typedef int (*lpz_peer_rewrite_fn)(void *user, uint8_t *payload, size_t len, lpz_error *err);
int lpz_peer_server_republish(lpz_peer_server *s, lpz_peer_snapshot *mine, lpz_peer_rewrite_fn rewrite, void *user,
                              int *done, lpz_error *err);

/* In-process readers (cells of the same process) read the served
 * population in place instead of fetching a copy over inproc: returns the
 * current payload (*payload, *len) with a reference that keeps it valid,
 * however often the server publishes or even after it stops, until
 * lpz_peer_snapshot_release; NULL (and *payload NULL) before the first
 * publish. The payload is read-only: the server may be sending it.
 * Thread-safe. */
lpz_peer_snapshot *lpz_peer_server_acquire(lpz_peer_server *s, const uint8_t **payload, size_t *len);
/* NULL ok. */
void lpz_peer_snapshot_release(lpz_peer_snapshot *snap);

typedef struct lpz_peer_server_stats {
    uint64_t served;  /* POPULATION replies sent */
    uint64_t refused; /* ERROR replies sent (bad, foreign or early requests) */
} lpz_peer_server_stats;

void lpz_peer_server_get_stats(lpz_peer_server *s, lpz_peer_server_stats *st);

/* Ends the server thread (its wait for a request is cancelled; a reply
 * being sent finishes first, within its send timeout), closes the socket,
 * frees everything. NULL ok. */
void lpz_peer_server_stop(lpz_peer_server *s);
/* Tells the server thread to end without waiting: several servers
 * signalled first, then stopped, end together (each may be finishing a
 * reply). */
void lpz_peer_server_signal_stop(lpz_peer_server *s);

/* A connection to one neighbour's server. requester_cell (>= 0) is sent
 * with each request so the server's log can name who asked; < 0 sends
 * none. Dialling happens in the background: opening succeeds even when the
 * server is not up yet (a bad URL fails at once). One thread at a time may
 * use a client. */
int lpz_peer_client_open(const char *url, uint64_t experiment_id, const char *secret, int64_t requester_cell,
                         lpz_peer_client **out, lpz_error *err);

/* Asks for the neighbour's current population and waits at most timeout_ms
 * (> 0) in all. On success *payload and *len is the POPULATION payload (check
 * it with lpz_population_parse), owned by the client and valid until the
 * next fetch or close. Errors: LPZ_ETIMEOUT (no answer in time; the url is
 * in the message), LPZ_ENOTFOUND (the cell is gone: LPZ_PEER_GONE_URL), LPZ_ENET (the neighbour answered with an ERROR, or its
 * reply failed version/experiment/authentication checks), LPZ_EFORMAT
 * (malformed reply). */
int lpz_peer_client_fetch(lpz_peer_client *c, int timeout_ms, const uint8_t **payload, size_t *len, lpz_error *err);

/* Frees the last fetched reply now (the payload it handed out becomes
 * invalid) instead of at the next fetch or close: a population is
 * megabytes, and a trainer that has decoded it need not hold it for a
 * whole iteration. NULL ok; releasing twice is harmless. */
void lpz_peer_client_release(lpz_peer_client *c);

const char *lpz_peer_client_url(const lpz_peer_client *c);

/* Announces that the cell served at `from` is now served at `to` (the
 * distributed master restarted it on another client). Every client of this
 * process opened with `from` dials `to` before its next fetch. Thread-safe;
 * announcing the same move again changes nothing. */
int lpz_peer_redirect(const char *from, const char *to, lpz_error *err);
/* Forgets every move (between experiments). */
void lpz_peer_redirect_clear(void);

/* A move to this address says the cell is gone for good (the distributed
 * master lost its client and had no spare): fetches from it fail at once
 * with LPZ_ENOTFOUND instead of waiting out their timeout every
 * iteration, and the trainer keeps the cell's last known individuals. */
#define LPZ_PEER_GONE_URL "gone:"

/* NULL ok. */
void lpz_peer_client_close(lpz_peer_client *c);

/* One-shot fetch (opens a client, fetches, closes). *payload is malloc'd;
 * free() it. For tools and tests; the trainer keeps clients open. */
int lpz_peer_fetch(const char *url, uint64_t experiment_id, const char *secret, int timeout_ms, uint8_t **payload,
                   size_t *len, lpz_error *err);

#endif
