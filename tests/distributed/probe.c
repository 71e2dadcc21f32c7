/* tests/distributed/probe.c - sends one hostile or malformed control
 * message to a client and prints what came back, for the security test.
 *
 * Usage: dist_probe URL CASE [SECRET]
 *   version    a HELLO frame of protocol version 99
 *   truncated  the first 30 bytes of a HELLO frame
 *   random     4096 random bytes
 *   oversized  a HELLO frame whose payload exceeds the HELLO limit
 *   badmac     a HELLO frame signed with SECRET but one payload byte changed
 *   unauth     HELLO, then START_EXPERIMENT without AUTH (signed with SECRET)
 *   wrongauth  HELLO, then AUTH with a proof from a wrong secret (signed with SECRET)
 *   hello      a valid HELLO (signed with SECRET when given): prints the state
 *   cell       to a cell server: GET_POPULATION of experiment 42 (signed with SECRET)
 * Prints "refused: <text>" for an ERROR reply (exit 0), "reply: <type>"
 * otherwise (exit 1), "no reply" on timeout (exit 2).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "distributed/proto.h"
#include "transport/control.h"
#include "transport/wire.h"

static int report_frame(const uint8_t *rep, size_t n, const char *secret, lpz_dist_challenge *ch, uint8_t **copy);

static int report(const uint8_t *rep, size_t n, const char *secret, lpz_dist_challenge *ch)
{
    uint8_t *copy = NULL;
    int rc = report_frame(rep, n, secret, ch, &copy);
    free(copy);
    return rc;
}

static int report_frame(const uint8_t *rep, size_t n, const char *secret, lpz_dist_challenge *ch, uint8_t **copyp)
{
    lpz_wire_ctx rx;
    lpz_wire_ctx_init_control(&rx, 0, secret);
    lpz_wire_header h;
    const uint8_t *body;
    lpz_error e;
    /* An ERROR reply is signed with the client's secret, which the probe
     * may not share: read it without checking the tag. */
    if (lpz_wire_open(&rx, rep, n, &h, &body, &e) != LPZ_OK) {
        lpz_wire_ctx plain;
        lpz_wire_ctx_init_control(&plain, 0, NULL);
        size_t len = n >= LPZ_WIRE_HEADER_SIZE + 32 ? n - 32 : n;
        uint8_t *copy = malloc(n);
        *copyp = copy;
        memcpy(copy, rep, n);
        if (n >= 12)
            copy[8] = 0; /* clear the HMAC flag */
        int rc = lpz_wire_open(&plain, copy, len, &h, &body, &e);
        if (rc) {
            printf("unreadable reply: %s\n", e.message);
            return 1;
        }
        rep = copy;
    }
    if (h.type == LPZ_MSG_ERROR) {
        int code;
        char text[LPZ_WIRE_MAX_ERROR_TEXT + 1];
        lpz_wire_error_decode(body, (size_t)h.payload_len, &code, text, sizeof text, &e);
        printf("refused: %s (reply of experiment %016llx)\n", text, (unsigned long long)h.experiment_id);
        return 0;
    }
    if (h.type == LPZ_MSG_CHALLENGE && ch && lpz_dist_challenge_decode(body, (size_t)h.payload_len, ch, &e) == 0) {
        printf("reply: CHALLENGE state %u secured %u\n", ch->state, ch->secured);
        return 1;
    }
    printf("reply: %s\n", lpz_msg_type_name(h.type) ? lpz_msg_type_name(h.type) : "?");
    return 1;
}

static int exchange(lpz_ctl_client *c, const uint8_t *f, size_t n, const char *secret, lpz_dist_challenge *ch)
{
    uint8_t *rep;
    size_t rn;
    lpz_error e;
    if (lpz_ctl_request(c, f, n, 3000, &rep, &rn, &e)) {
        printf("no reply: %s\n", e.message);
        return 2;
    }
    int rc = report(rep, rn, secret, ch);
    free(rep);
    return rc;
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: dist_probe URL CASE [SECRET]\n");
        return 64;
    }
    const char *url = argv[1], *kase = argv[2], *secret = argc > 3 ? argv[3] : NULL;
    lpz_ctl_client *c;
    lpz_error e;
    if (lpz_ctl_dial(url, (size_t)1 << 24, &c, &e)) {
        fprintf(stderr, "dial: %s\n", e.message);
        return 64;
    }
    lpz_wire_ctx ctx;
    lpz_wire_ctx_init_control(&ctx, 0, secret);
    lpz_dist_msg m;
    lpz_dist_msg_init(&m);
    const uint8_t *f;
    size_t n;
    int rc = 64;
    if (!strcmp(kase, "cell")) {
        lpz_wire_ctx cell;
        lpz_wire_ctx_init(&cell, 42, secret);
        lpz_dist_seal(&m, &cell, LPZ_MSG_GET_POPULATION, 7, &f, &n, &e);
        rc = exchange(c, f, n, secret, NULL);
        lpz_wire_ctx_clear(&cell);
    } else if (!strcmp(kase, "random")) {
        uint8_t buf[4096];
        lpz_ctl_random(buf, sizeof buf, &e);
        rc = exchange(c, buf, sizeof buf, secret, NULL);
    } else if (!strcmp(kase, "oversized")) {
        uint8_t pad[LPZ_WIRE_MAX_HELLO + 1] = {0};
        lpz_dist_put(&m, pad, sizeof pad);
        /* The sender refuses to seal it: write the header by hand from a
         * sealed empty HELLO and patch the length. */
        lpz_dist_msg h;
        lpz_dist_msg_init(&h);
        lpz_dist_seal(&h, &ctx, LPZ_MSG_HELLO, 7, &f, &n, &e);
        uint8_t frame[LPZ_WIRE_HEADER_SIZE + sizeof pad];
        memcpy(frame, f, LPZ_WIRE_HEADER_SIZE);
        frame[8] = 0; /* no tag */
        frame[32] = (uint8_t)sizeof pad;
        memcpy(frame + LPZ_WIRE_HEADER_SIZE, pad, sizeof pad);
        rc = exchange(c, frame, sizeof frame, secret, NULL);
        lpz_dist_msg_free(&h);
    } else {
        lpz_dist_seal(&m, &ctx, LPZ_MSG_HELLO, 7, &f, &n, &e);
        uint8_t *frame = malloc(n);
        memcpy(frame, f, n);
        if (!strcmp(kase, "version")) {
            frame[4] = 99;
            rc = exchange(c, frame, n, secret, NULL);
        } else if (!strcmp(kase, "truncated")) {
            rc = exchange(c, frame, 30, secret, NULL);
        } else if (!strcmp(kase, "badmac")) {
            frame[n - 1] ^= 1;
            rc = exchange(c, frame, n, secret, NULL);
        } else if (!strcmp(kase, "hello")) {
            lpz_dist_challenge ch;
            rc = exchange(c, frame, n, secret, &ch);
        } else if (!strcmp(kase, "unauth") || !strcmp(kase, "wrongauth")) {
            lpz_dist_challenge ch;
            if (exchange(c, frame, n, secret, &ch) != 1)
                return 1;
            lpz_dist_msg q;
            lpz_dist_msg_init(&q);
            if (!strcmp(kase, "unauth")) {
                const char *urls[1] = {"tcp://127.0.0.1:1"};
                lpz_dist_start s = {.experiment = 42, .grid_k = 1, .cell = 0, .fetch_timeout_ms = 1000,
                                    .n_cells = 1, .config = "general: {}\n", .config_len = 12};
                memcpy(s.nonce, ch.nonce, LPZ_DIST_NONCE);
                lpz_dist_start_put(&q, &s, urls);
                lpz_dist_seal(&q, &ctx, LPZ_MSG_START_EXPERIMENT, 8, &f, &n, &e);
            } else {
                lpz_dist_auth a;
                memcpy(a.nonce, ch.nonce, LPZ_DIST_NONCE);
                lpz_dist_proof("not the secret", "lpz master", ch.nonce, a.proof);
                lpz_dist_auth_put(&q, &a);
                lpz_dist_seal(&q, &ctx, LPZ_MSG_AUTH, 8, &f, &n, &e);
            }
            rc = exchange(c, f, n, secret, NULL);
            lpz_dist_msg_free(&q);
        } else {
            fprintf(stderr, "unknown case %s\n", kase);
        }
        free(frame);
    }
    lpz_dist_msg_free(&m);
    lpz_ctl_client_close(c);
    return rc;
}
