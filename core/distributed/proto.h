/* core/distributed/proto.h - payloads of the master/client control messages.
 *
 * Frames come from transport/wire.h with a control context (types 16-23);
 * this file builds and checks what is inside them. Every decoder takes
 * bytes from the network: it checks every length against what is left,
 * refuses trailing bytes, bounds every count, and copies nothing before it
 * has checked it. Layouts (little-endian) are in docs/distributed.md.
 *
 * May call: core/transport (wire cursor, sha256), core/base.
 */
#ifndef LPZ_DISTRIBUTED_PROTO_H
#define LPZ_DISTRIBUTED_PROTO_H

#include <lpz/error.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "transport/wire.h"

#define LPZ_DIST_NONCE 32
#define LPZ_DIST_PROOF 32
#define LPZ_DIST_NAME_MAX 255     /* client host names */
#define LPZ_DIST_URL_MAX 255      /* cell addresses */
#define LPZ_DIST_MAX_CELLS 4096   /* 64 x 64 */
#define LPZ_DIST_PATH_MAX 255     /* result file names */
#define LPZ_DIST_MAX_FILES 4096   /* files in one RESULT or CHECKPOINT */
#define LPZ_DIST_TEXT_MAX 1024    /* error text in a heartbeat */
#define LPZ_DIST_DATA_MAX 255     /* a heartbeat's description of the cell's data */

/* What a client is doing. */
typedef enum lpz_dist_state {
    LPZ_DIST_IDLE = 0,     /* accepts an experiment */
    LPZ_DIST_RUNNING = 1,  /* training its cell */
    LPZ_DIST_FINISHED = 2, /* done; results ready; waits for the master's release */
    LPZ_DIST_FAILED = 3    /* training failed; text says why; waits for release */
} lpz_dist_state;

/* STOP modes. */
enum {
    LPZ_DIST_STOP_TRAINING = 0, /* stop after the current batch, keep results for the master */
    LPZ_DIST_STOP_RELEASE = 1,  /* the master has what it needs: go back to idle */
    LPZ_DIST_STOP_ABORT = 2     /* stop and go back to idle, results dropped */
};

/* A growing frame: payload written at LPZ_WIRE_HEADER_SIZE, sealed last. */
typedef struct lpz_dist_msg {
    uint8_t *buf;
    size_t cap;
    lpz_cursor cur; /* over buf + header, grows */
    bool oom;
} lpz_dist_msg;

void lpz_dist_msg_init(lpz_dist_msg *m);
void lpz_dist_msg_free(lpz_dist_msg *m);
/* Appends raw bytes / little-endian values (growing the buffer). */
void lpz_dist_put(lpz_dist_msg *m, const void *p, size_t n);
void lpz_dist_put_u8(lpz_dist_msg *m, uint8_t v);
void lpz_dist_put_u16(lpz_dist_msg *m, uint16_t v);
void lpz_dist_put_u32(lpz_dist_msg *m, uint32_t v);
void lpz_dist_put_u64(lpz_dist_msg *m, uint64_t v);
void lpz_dist_put_f64(lpz_dist_msg *m, double v);
/* u16 length + bytes (len <= 65535). */
void lpz_dist_put_str(lpz_dist_msg *m, const char *s);
/* Seals the payload written so far as a frame of `type`; *frame/len point
 * into m. */
int lpz_dist_seal(lpz_dist_msg *m, const lpz_wire_ctx *ctx, unsigned type, uint64_t request_id,
                  const uint8_t **frame, size_t *len, lpz_error *err);

/* Reads a u16-length string of at most max bytes into out[max + 1]
 * (NUL-terminated); printable ASCII only. */
bool lpz_dist_get_str(lpz_cursor *c, char *out, size_t max);

/* CHALLENGE (client's reply to HELLO). */
typedef struct lpz_dist_challenge {
    uint8_t state;          /* lpz_dist_state */
    uint8_t secured;        /* 1 when the client requires the shared secret */
    uint16_t cell_port;     /* the port its cell server will listen on */
    uint64_t experiment;    /* current experiment, 0 when idle */
    uint8_t nonce[LPZ_DIST_NONCE];
    char name[LPZ_DIST_NAME_MAX + 1];
    uint64_t instance;      /* random per client process, not 0: one client reached at two addresses is one */
} lpz_dist_challenge;
void lpz_dist_challenge_put(lpz_dist_msg *m, const lpz_dist_challenge *c);
int lpz_dist_challenge_decode(const uint8_t *p, size_t n, lpz_dist_challenge *c, lpz_error *err);

/* AUTH: proof = HMAC-SHA256(secret, label || nonce); label "lpz master" from
 * the master, "lpz client" back from the client. Zero proof without a
 * secret. */
void lpz_dist_proof(const char *secret, const char *label, const uint8_t nonce[LPZ_DIST_NONCE],
                    uint8_t out[LPZ_DIST_PROOF]);
typedef struct lpz_dist_auth {
    uint8_t nonce[LPZ_DIST_NONCE]; /* echoed (zero in the client's reply) */
    uint8_t proof[LPZ_DIST_PROOF];
} lpz_dist_auth;
void lpz_dist_auth_put(lpz_dist_msg *m, const lpz_dist_auth *a);
int lpz_dist_auth_decode(const uint8_t *p, size_t n, lpz_dist_auth *a, lpz_error *err);

/* START_EXPERIMENT. Decoded pointers point into the payload. */
typedef struct lpz_dist_start {
    uint8_t nonce[LPZ_DIST_NONCE]; /* the authenticated challenge */
    uint64_t experiment;
    uint32_t grid_k;
    uint32_t cell;
    uint32_t fetch_timeout_ms;
    uint32_t n_cells;            /* grid_k * grid_k */
    char (*urls)[LPZ_DIST_URL_MAX + 1]; /* n_cells, malloc'd by decode (free with lpz_dist_start_free) */
    const char *config;          /* resolved YAML, not NUL-terminated */
    size_t config_len;
    const uint8_t *checkpoint;   /* the cell's checkpoint to resume from, or NULL */
    size_t checkpoint_len;
} lpz_dist_start;
void lpz_dist_start_put(lpz_dist_msg *m, const lpz_dist_start *s, const char *const *urls);
int lpz_dist_start_decode(const uint8_t *p, size_t n, lpz_dist_start *s, lpz_error *err);
void lpz_dist_start_free(lpz_dist_start *s);

/* HEARTBEAT request: cells that moved (cell -> new address). */
typedef struct lpz_dist_move {
    uint32_t cell;
    char url[LPZ_DIST_URL_MAX + 1];
} lpz_dist_move;
#define LPZ_DIST_MAX_MOVES 256
/* Decodes at most max moves into moves[]; *n receives the count. */
int lpz_dist_moves_decode(const uint8_t *p, size_t n, lpz_dist_move *moves, size_t max, size_t *count,
                          lpz_error *err);

/* HEARTBEAT reply. */
typedef struct lpz_dist_status {
    uint8_t state;
    uint32_t cell;
    uint64_t experiment;
    uint32_t iteration;          /* completed iterations */
    uint32_t checkpoint_version; /* grows each time a new checkpoint is on disk */
    char text[LPZ_DIST_TEXT_MAX + 1]; /* why it failed */
    /* what the cell trains on, "" until its data are open: "sample shape
     * [16]; network parameters 1234 + 567; units 0123456789ab" (the master
     * compares the cells'); optional on the wire (older clients send none) */
    char data[LPZ_DIST_DATA_MAX + 1];
} lpz_dist_status;
void lpz_dist_status_put(lpz_dist_msg *m, const lpz_dist_status *s);
int lpz_dist_status_decode(const uint8_t *p, size_t n, lpz_dist_status *s, lpz_error *err);

/* Files of a RESULT or CHECKPOINT reply: u32 count, then per file a u16
 * name length, the name (a relative path: letters, digits, '.', '_', '-',
 * '/', no "..", no leading '/'), a u64 size and the bytes. */
typedef struct lpz_dist_file {
    char name[LPZ_DIST_PATH_MAX + 1];
    const uint8_t *data;
    uint64_t size;
} lpz_dist_file;
/* 1 when name is a safe relative path under a run folder. */
bool lpz_dist_path_ok(const char *name);

/* RESULT / CHECKPOINT reply header, then the files. */
typedef struct lpz_dist_files {
    uint32_t cell;
    uint32_t iterations;
    uint8_t stopped;
    double best_g_fitness;
    double score;
    uint32_t n_files;
    lpz_dist_file *files; /* malloc'd by decode; free with lpz_dist_files_free */
} lpz_dist_files;
/* Writes the header fields; then append files with lpz_dist_file_put. */
void lpz_dist_files_put_header(lpz_dist_msg *m, const lpz_dist_files *f);
void lpz_dist_file_put(lpz_dist_msg *m, const char *name, const void *data, uint64_t size);
int lpz_dist_files_decode(const uint8_t *p, size_t n, lpz_dist_files *f, lpz_error *err);
void lpz_dist_files_free(lpz_dist_files *f);

#endif
