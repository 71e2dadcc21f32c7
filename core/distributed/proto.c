/* core/distributed/proto.c - see proto.h. */
#include "distributed/proto.h"

#include <stdlib.h>
#include <string.h>

#include "transport/sha256.h"

/* ---- building ---- */

void lpz_dist_msg_init(lpz_dist_msg *m) { memset(m, 0, sizeof *m); }

void lpz_dist_msg_free(lpz_dist_msg *m)
{
    free(m->buf);
    memset(m, 0, sizeof *m);
}

static bool reserve(lpz_dist_msg *m, size_t more)
{
    size_t used = LPZ_WIRE_HEADER_SIZE + m->cur.pos;
    size_t need = used + more + LPZ_WIRE_TAG_SIZE;
    if (m->oom || need < used)
        return m->oom = true, false;
    if (need <= m->cap)
        return true;
    size_t cap = m->cap ? m->cap : 256;
    while (cap < need)
        cap *= 2;
    uint8_t *b = realloc(m->buf, cap);
    if (!b)
        return m->oom = true, false;
    m->buf = b;
    m->cap = cap;
    size_t pos = m->cur.pos;
    m->cur = lpz_cursor_writer(b + LPZ_WIRE_HEADER_SIZE, cap - LPZ_WIRE_HEADER_SIZE - LPZ_WIRE_TAG_SIZE);
    m->cur.pos = pos;
    return true;
}

void lpz_dist_put(lpz_dist_msg *m, const void *p, size_t n)
{
    if (reserve(m, n))
        lpz_put_bytes(&m->cur, p, n);
}
void lpz_dist_put_u8(lpz_dist_msg *m, uint8_t v)
{
    if (reserve(m, 1))
        lpz_put_u8(&m->cur, v);
}
void lpz_dist_put_u16(lpz_dist_msg *m, uint16_t v)
{
    if (reserve(m, 2))
        lpz_put_u16(&m->cur, v);
}
void lpz_dist_put_u32(lpz_dist_msg *m, uint32_t v)
{
    if (reserve(m, 4))
        lpz_put_u32(&m->cur, v);
}
void lpz_dist_put_u64(lpz_dist_msg *m, uint64_t v)
{
    if (reserve(m, 8))
        lpz_put_u64(&m->cur, v);
}
void lpz_dist_put_f64(lpz_dist_msg *m, double v)
{
    if (reserve(m, 8))
        lpz_put_f64(&m->cur, v);
}
void lpz_dist_put_str(lpz_dist_msg *m, const char *s)
{
    size_t n = s ? strlen(s) : 0;
    if (n > 65535) {
        m->oom = true;
        return;
    }
    lpz_dist_put_u16(m, (uint16_t)n);
    lpz_dist_put(m, s, n);
}

int lpz_dist_seal(lpz_dist_msg *m, const lpz_wire_ctx *ctx, unsigned type, uint64_t request_id,
                  const uint8_t **frame, size_t *len, lpz_error *err)
{
    if (!reserve(m, 0) || m->cur.failed)
        return lpz_error_set(err, LPZ_ENOMEM, "out of memory building a %s message", lpz_msg_type_name(type));
    int rc = lpz_wire_seal(ctx, type, request_id, m->buf, m->cur.pos, err);
    if (rc)
        return rc;
    *frame = m->buf;
    *len = lpz_wire_frame_size(ctx, m->cur.pos);
    return LPZ_OK;
}

/* ---- reading ---- */

bool lpz_dist_get_str(lpz_cursor *c, char *out, size_t max)
{
    uint16_t n = 0;
    const uint8_t *p = NULL;
    if (!lpz_get_u16(c, &n) || n > max || !lpz_get_bytes(c, n, &p)) {
        c->failed = true;
        return false;
    }
    for (size_t i = 0; i < n; i++)
        if (p[i] < 0x20 || p[i] >= 0x7f) {
            c->failed = true;
            return false;
        }
    memcpy(out, p, n);
    out[n] = '\0';
    return true;
}

static int truncated(lpz_error *err, const char *what, size_t n)
{
    return lpz_error_set(err, LPZ_EFORMAT, "%s payload malformed (%zu bytes): truncated, over-long or bad field", what,
                         n);
}

static int trailing(lpz_error *err, const char *what, size_t left)
{
    return lpz_error_set(err, LPZ_EFORMAT, "%s payload has %zu unexpected trailing bytes", what, left);
}

/* ---- CHALLENGE ---- */

void lpz_dist_challenge_put(lpz_dist_msg *m, const lpz_dist_challenge *c)
{
    lpz_dist_put_u8(m, c->state);
    lpz_dist_put_u8(m, c->secured);
    lpz_dist_put_u16(m, c->cell_port);
    lpz_dist_put_u64(m, c->experiment);
    lpz_dist_put(m, c->nonce, LPZ_DIST_NONCE);
    lpz_dist_put_str(m, c->name);
    lpz_dist_put_u64(m, c->instance);
}

int lpz_dist_challenge_decode(const uint8_t *p, size_t n, lpz_dist_challenge *c, lpz_error *err)
{
    memset(c, 0, sizeof *c);
    lpz_cursor r = lpz_cursor_reader(p, n);
    const uint8_t *nonce = NULL;
    lpz_get_u8(&r, &c->state);
    lpz_get_u8(&r, &c->secured);
    lpz_get_u16(&r, &c->cell_port);
    lpz_get_u64(&r, &c->experiment);
    lpz_get_bytes(&r, LPZ_DIST_NONCE, &nonce);
    lpz_dist_get_str(&r, c->name, LPZ_DIST_NAME_MAX);
    lpz_get_u64(&r, &c->instance);
    if (r.failed)
        return truncated(err, "CHALLENGE", n);
    if (lpz_cursor_left(&r))
        return trailing(err, "CHALLENGE", lpz_cursor_left(&r));
    if (c->state > LPZ_DIST_FAILED || c->secured > 1)
        return lpz_error_set(err, LPZ_EFORMAT, "CHALLENGE payload: state %u / secured %u out of range", c->state,
                             c->secured);
    memcpy(c->nonce, nonce, LPZ_DIST_NONCE);
    return LPZ_OK;
}

/* ---- AUTH ---- */

void lpz_dist_proof(const char *secret, const char *label, const uint8_t nonce[LPZ_DIST_NONCE],
                    uint8_t out[LPZ_DIST_PROOF])
{
    if (!secret || !secret[0]) {
        memset(out, 0, LPZ_DIST_PROOF);
        return;
    }
    uint8_t msg[64 + LPZ_DIST_NONCE];
    size_t l = strlen(label);
    if (l > 64)
        l = 64;
    memcpy(msg, label, l);
    memcpy(msg + l, nonce, LPZ_DIST_NONCE);
    lpz_hmac_sha256(secret, strlen(secret), msg, l + LPZ_DIST_NONCE, out);
}

void lpz_dist_auth_put(lpz_dist_msg *m, const lpz_dist_auth *a)
{
    lpz_dist_put(m, a->nonce, LPZ_DIST_NONCE);
    lpz_dist_put(m, a->proof, LPZ_DIST_PROOF);
}

int lpz_dist_auth_decode(const uint8_t *p, size_t n, lpz_dist_auth *a, lpz_error *err)
{
    if (n != LPZ_DIST_NONCE + LPZ_DIST_PROOF)
        return lpz_error_set(err, LPZ_EFORMAT, "AUTH payload of %zu bytes, expected %d", n,
                             LPZ_DIST_NONCE + LPZ_DIST_PROOF);
    memcpy(a->nonce, p, LPZ_DIST_NONCE);
    memcpy(a->proof, p + LPZ_DIST_NONCE, LPZ_DIST_PROOF);
    return LPZ_OK;
}

/* ---- START_EXPERIMENT ---- */

void lpz_dist_start_put(lpz_dist_msg *m, const lpz_dist_start *s, const char *const *urls)
{
    lpz_dist_put(m, s->nonce, LPZ_DIST_NONCE);
    lpz_dist_put_u64(m, s->experiment);
    lpz_dist_put_u32(m, s->grid_k);
    lpz_dist_put_u32(m, s->cell);
    lpz_dist_put_u32(m, s->fetch_timeout_ms);
    lpz_dist_put_u32(m, s->n_cells);
    for (uint32_t i = 0; i < s->n_cells; i++)
        lpz_dist_put_str(m, urls[i]);
    lpz_dist_put_u64(m, s->config_len);
    lpz_dist_put(m, s->config, s->config_len);
    lpz_dist_put_u64(m, s->checkpoint_len);
    lpz_dist_put(m, s->checkpoint, s->checkpoint_len);
}

int lpz_dist_start_decode(const uint8_t *p, size_t n, lpz_dist_start *s, lpz_error *err)
{
    memset(s, 0, sizeof *s);
    lpz_cursor r = lpz_cursor_reader(p, n);
    const uint8_t *nonce = NULL;
    lpz_get_bytes(&r, LPZ_DIST_NONCE, &nonce);
    lpz_get_u64(&r, &s->experiment);
    lpz_get_u32(&r, &s->grid_k);
    lpz_get_u32(&r, &s->cell);
    lpz_get_u32(&r, &s->fetch_timeout_ms);
    lpz_get_u32(&r, &s->n_cells);
    if (r.failed)
        return truncated(err, "START_EXPERIMENT", n);
    if (s->grid_k < 1 || s->grid_k > 64 || s->n_cells != s->grid_k * s->grid_k || s->cell >= s->n_cells)
        return lpz_error_set(err, LPZ_EFORMAT, "START_EXPERIMENT: cell %u of a %ux%u grid with %u addresses",
                             s->cell, s->grid_k, s->grid_k, s->n_cells);
    if (!s->experiment)
        return lpz_error_set(err, LPZ_EFORMAT, "START_EXPERIMENT: experiment id 0");
    if (s->fetch_timeout_ms < 1 || s->fetch_timeout_ms > 3600 * 1000)
        return lpz_error_set(err, LPZ_EFORMAT, "START_EXPERIMENT: neighbour timeout %u ms out of range",
                             s->fetch_timeout_ms);
    memcpy(s->nonce, nonce, LPZ_DIST_NONCE);
    s->urls = calloc(s->n_cells, sizeof *s->urls);
    if (!s->urls)
        return lpz_error_set(err, LPZ_ENOMEM, "out of memory");
    for (uint32_t i = 0; i < s->n_cells && !r.failed; i++)
        if (lpz_dist_get_str(&r, s->urls[i], LPZ_DIST_URL_MAX) && !s->urls[i][0])
            r.failed = true;
    uint64_t cl = 0, kl = 0;
    const uint8_t *cfg = NULL, *ck = NULL;
    if (lpz_get_u64(&r, &cl) && cl <= lpz_cursor_left(&r))
        lpz_get_bytes(&r, (size_t)cl, &cfg);
    else
        r.failed = true;
    if (lpz_get_u64(&r, &kl) && kl <= lpz_cursor_left(&r))
        lpz_get_bytes(&r, (size_t)kl, &ck);
    else
        r.failed = true;
    int rc = LPZ_OK;
    if (r.failed)
        rc = truncated(err, "START_EXPERIMENT", n);
    else if (lpz_cursor_left(&r))
        rc = trailing(err, "START_EXPERIMENT", lpz_cursor_left(&r));
    else if (cl == 0)
        rc = lpz_error_set(err, LPZ_EFORMAT, "START_EXPERIMENT without a configuration");
    if (rc) {
        lpz_dist_start_free(s);
        return rc;
    }
    s->config = (const char *)cfg;
    s->config_len = (size_t)cl;
    s->checkpoint = kl ? ck : NULL;
    s->checkpoint_len = (size_t)kl;
    return LPZ_OK;
}

void lpz_dist_start_free(lpz_dist_start *s)
{
    free(s->urls);
    s->urls = NULL;
}

/* ---- HEARTBEAT ---- */

int lpz_dist_moves_decode(const uint8_t *p, size_t n, lpz_dist_move *moves, size_t max, size_t *count,
                          lpz_error *err)
{
    *count = 0;
    lpz_cursor r = lpz_cursor_reader(p, n);
    uint32_t k = 0;
    if (!lpz_get_u32(&r, &k))
        return truncated(err, "HEARTBEAT", n);
    if (k > max || k > LPZ_DIST_MAX_MOVES)
        return lpz_error_set(err, LPZ_EFORMAT, "HEARTBEAT announces %u cell moves, at most %zu", k, max);
    for (uint32_t i = 0; i < k; i++) {
        lpz_get_u32(&r, &moves[i].cell);
        lpz_dist_get_str(&r, moves[i].url, LPZ_DIST_URL_MAX);
        if (!r.failed && (moves[i].cell >= LPZ_DIST_MAX_CELLS || !moves[i].url[0]))
            r.failed = true;
    }
    if (r.failed)
        return truncated(err, "HEARTBEAT", n);
    if (lpz_cursor_left(&r))
        return trailing(err, "HEARTBEAT", lpz_cursor_left(&r));
    *count = k;
    return LPZ_OK;
}

void lpz_dist_status_put(lpz_dist_msg *m, const lpz_dist_status *s)
{
    lpz_dist_put_u8(m, s->state);
    lpz_dist_put_u32(m, s->cell);
    lpz_dist_put_u64(m, s->experiment);
    lpz_dist_put_u32(m, s->iteration);
    lpz_dist_put_u32(m, s->checkpoint_version);
    lpz_dist_put_str(m, s->text);
    lpz_dist_put_str(m, s->data);
}

int lpz_dist_status_decode(const uint8_t *p, size_t n, lpz_dist_status *s, lpz_error *err)
{
    memset(s, 0, sizeof *s);
    lpz_cursor r = lpz_cursor_reader(p, n);
    lpz_get_u8(&r, &s->state);
    lpz_get_u32(&r, &s->cell);
    lpz_get_u64(&r, &s->experiment);
    lpz_get_u32(&r, &s->iteration);
    lpz_get_u32(&r, &s->checkpoint_version);
    lpz_dist_get_str(&r, s->text, LPZ_DIST_TEXT_MAX);
    if (!r.failed && lpz_cursor_left(&r)) /* absent from an older client's reply */
        lpz_dist_get_str(&r, s->data, LPZ_DIST_DATA_MAX);
    if (r.failed)
        return truncated(err, "HEARTBEAT reply", n);
    if (lpz_cursor_left(&r))
        return trailing(err, "HEARTBEAT reply", lpz_cursor_left(&r));
    if (s->state > LPZ_DIST_FAILED)
        return lpz_error_set(err, LPZ_EFORMAT, "HEARTBEAT reply: unknown state %u", s->state);
    return LPZ_OK;
}

/* ---- files ---- */

bool lpz_dist_path_ok(const char *name)
{
    size_t n = strlen(name);
    if (n == 0 || n > LPZ_DIST_PATH_MAX || name[0] == '/' || name[n - 1] == '/')
        return false;
    for (size_t i = 0; i < n; i++) {
        char ch = name[i];
        int ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '.' ||
                 ch == '_' || ch == '-' || ch == '/';
        if (!ok)
            return false;
    }
    /* No empty, "." or ".." component. */
    const char *c = name;
    while (*c) {
        const char *e = strchr(c, '/');
        size_t l = e ? (size_t)(e - c) : strlen(c);
        if (l == 0 || (l == 1 && c[0] == '.') || (l == 2 && c[0] == '.' && c[1] == '.'))
            return false;
        c += l + (e ? 1 : 0);
    }
    return true;
}

void lpz_dist_files_put_header(lpz_dist_msg *m, const lpz_dist_files *f)
{
    lpz_dist_put_u32(m, f->cell);
    lpz_dist_put_u32(m, f->iterations);
    lpz_dist_put_u8(m, f->stopped);
    lpz_dist_put_f64(m, f->best_g_fitness);
    lpz_dist_put_f64(m, f->score);
    lpz_dist_put_u32(m, f->n_files);
}

void lpz_dist_file_put(lpz_dist_msg *m, const char *name, const void *data, uint64_t size)
{
    lpz_dist_put_str(m, name);
    lpz_dist_put_u64(m, size);
    lpz_dist_put(m, data, (size_t)size);
}

int lpz_dist_files_decode(const uint8_t *p, size_t n, lpz_dist_files *f, lpz_error *err)
{
    memset(f, 0, sizeof *f);
    lpz_cursor r = lpz_cursor_reader(p, n);
    lpz_get_u32(&r, &f->cell);
    lpz_get_u32(&r, &f->iterations);
    lpz_get_u8(&r, &f->stopped);
    lpz_get_f64(&r, &f->best_g_fitness);
    lpz_get_f64(&r, &f->score);
    lpz_get_u32(&r, &f->n_files);
    if (r.failed)
        return truncated(err, "RESULT/CHECKPOINT", n);
    if (f->cell >= LPZ_DIST_MAX_CELLS || f->stopped > 1 || f->n_files > LPZ_DIST_MAX_FILES)
        return lpz_error_set(err, LPZ_EFORMAT, "RESULT/CHECKPOINT: cell %u, stopped %u, %u files out of range",
                             f->cell, f->stopped, f->n_files);
    /* Each file needs at least 2 + 1 + 8 bytes: bounds the allocation by
     * what actually arrived. */
    if ((uint64_t)f->n_files * 11 > lpz_cursor_left(&r))
        return truncated(err, "RESULT/CHECKPOINT", n);
    f->files = calloc(f->n_files ? f->n_files : 1, sizeof *f->files);
    if (!f->files)
        return lpz_error_set(err, LPZ_ENOMEM, "out of memory");
    for (uint32_t i = 0; i < f->n_files && !r.failed; i++) {
        lpz_dist_file *x = &f->files[i];
        if (!lpz_dist_get_str(&r, x->name, LPZ_DIST_PATH_MAX))
            break;
        if (!lpz_dist_path_ok(x->name)) {
            int rc = lpz_error_set(err, LPZ_EFORMAT, "RESULT/CHECKPOINT: unsafe file name \"%s\"", x->name);
            lpz_dist_files_free(f);
            return rc;
        }
        for (uint32_t j = 0; j < i; j++)
            if (strcmp(f->files[j].name, x->name) == 0) {
                int rc = lpz_error_set(err, LPZ_EFORMAT, "RESULT/CHECKPOINT: file \"%s\" sent twice", x->name);
                lpz_dist_files_free(f);
                return rc;
            }
        if (lpz_get_u64(&r, &x->size) && x->size <= lpz_cursor_left(&r))
            lpz_get_bytes(&r, (size_t)x->size, &x->data);
        else
            r.failed = true;
    }
    int rc = LPZ_OK;
    if (r.failed)
        rc = truncated(err, "RESULT/CHECKPOINT", n);
    else if (lpz_cursor_left(&r))
        rc = trailing(err, "RESULT/CHECKPOINT", lpz_cursor_left(&r));
    if (rc)
        lpz_dist_files_free(f);
    return rc;
}

void lpz_dist_files_free(lpz_dist_files *f)
{
    free(f->files);
    f->files = NULL;
    f->n_files = 0;
}
