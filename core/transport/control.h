/* core/transport/control.h - the master/client control channel over nng.
 *
 * A client listens with lpz_ctl_server (nng rep0): it receives one request
 * frame at a time and answers it. A master dials each client with
 * lpz_ctl_client (nng req0) and sends requests with a deadline. This file
 * moves opaque frames only; core/distributed seals, checks and decodes
 * them (transport/wire.h with a control context). Keeping nng here keeps
 * it inside core/transport.
 */
#ifndef LPZ_TRANSPORT_CONTROL_H
#define LPZ_TRANSPORT_CONTROL_H

#include <lpz/error.h>
#include <stddef.h>
#include <stdint.h>

typedef struct lpz_ctl_server lpz_ctl_server;
typedef struct lpz_ctl_client lpz_ctl_client;

/* A received request: frame bytes, valid until the reply is sent or the
 * request is dropped. */
typedef struct lpz_ctl_msg {
    const uint8_t *frame;
    size_t len;
    void *msg_; /* internal */
} lpz_ctl_msg;

/* Listens on url (tcp://addr:port, ipc://, inproc://). max_frame: larger
 * incoming messages are dropped by nng before they are read. LPZ_ESTATE
 * when the address is in use (so a caller can try the next port). */
int lpz_ctl_listen(const char *url, size_t max_frame, lpz_ctl_server **out, lpz_error *err);
/* Waits up to timeout_ms for a request: LPZ_OK, LPZ_ETIMEOUT, or another
 * error when the socket failed. */
int lpz_ctl_recv(lpz_ctl_server *s, int timeout_ms, lpz_ctl_msg *req, lpz_error *err);
/* Sends frame[len] as the reply to the last request and releases it. */
int lpz_ctl_reply(lpz_ctl_server *s, lpz_ctl_msg *req, const uint8_t *frame, size_t len, lpz_error *err);
/* Releases a request without replying (the requester times out). */
void lpz_ctl_drop(lpz_ctl_msg *req);
void lpz_ctl_close(lpz_ctl_server *s);

/* Dials url in the background (opening succeeds when nobody listens yet). */
int lpz_ctl_dial(const char *url, size_t max_frame, lpz_ctl_client **out, lpz_error *err);
/* Sends a request frame and waits up to timeout_ms in all for the reply;
 * *reply is malloc'd (free it). LPZ_ETIMEOUT when nothing came back. */
int lpz_ctl_request(lpz_ctl_client *c, const uint8_t *frame, size_t len, int timeout_ms, uint8_t **reply,
                    size_t *reply_len, lpz_error *err);
/* The same, cancelable from another thread with lpz_ctl_client_cancel
 * (LPZ_ECANCELED; a long transfer the caller no longer waits for). */
int lpz_ctl_request_cancelable(lpz_ctl_client *c, const uint8_t *frame, size_t len, int timeout_ms, uint8_t **reply,
                               size_t *reply_len, lpz_error *err);
/* Ends the cancelable request in flight, and refuses later ones. */
void lpz_ctl_client_cancel(lpz_ctl_client *c);
const char *lpz_ctl_client_url(const lpz_ctl_client *c);
void lpz_ctl_client_close(lpz_ctl_client *c);

/* Sends raw bytes to url and waits for any reply (for tests and probing
 * tools): the reply is malloc'd. */
int lpz_ctl_send_raw(const char *url, const uint8_t *bytes, size_t len, int timeout_ms, uint8_t **reply,
                     size_t *reply_len, lpz_error *err);

/* The address of the peer a request came from ("10.0.0.5:41234",
 * "[::1]:5000"), or "an unknown peer". lpz_ctl_peer_of takes an nng_msg *
 * (the cell server's requests, transport/peer.c). */
void lpz_ctl_msg_peer(const lpz_ctl_msg *req, char *out, size_t size);
void lpz_ctl_peer_of(void *nng_msg, char *out, size_t size);

/* 32 random bytes from the system's generator (nonces, experiment ids). */
int lpz_ctl_random(uint8_t *out, size_t n, lpz_error *err);

#endif
