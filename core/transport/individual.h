/* core/transport/individual.h - individuals and populations on the wire.
 *
 * An individual is what travels between cells: a generator or a
 * discriminator with its flat parameter vector, its Adam moments, its
 * non-trained buffers (batch-norm running mean/var and num_batches_tracked,
 * as floats) and the scalars that travel with it (learning rate, fitness,
 * Adam step count, mustangs loss index). The trainer copies into and out of
 * its own model and optimizer state; this module only sees float arrays.
 *
 * POPULATION payload layout (little-endian, docs/protocol.md):
 *   u32 serving cell, u32 individual count, u64 iteration,
 *   then per individual a 56-byte header
 *     u8 role, u8 loss index, u16 reserved (0), u32 source cell, u64 id,
 *     f64 learning rate, f64 fitness, i64 Adam step, u64 n, u64 b
 *   followed by n f32 params, n f32 Adam m, n f32 Adam v, b f32 buffers.
 */
#ifndef LPZ_TRANSPORT_INDIVIDUAL_H
#define LPZ_TRANSPORT_INDIVIDUAL_H

#include <lpz/error.h>
#include <stddef.h>
#include <stdint.h>

#include <lpz/network.h> /* lpz_role: LPZ_ROLE_GENERATOR = 0, LPZ_ROLE_DISCRIMINATOR = 1 */

#define LPZ_POPULATION_HEADER_SIZE 16u
#define LPZ_INDIVIDUAL_HEADER_SIZE 56u
/* Limits a decoder enforces (the frame limit, 1 GiB, bounds the rest). */
#define LPZ_POPULATION_MAX_INDIVIDUALS 1024u
#define LPZ_INDIVIDUAL_MAX_LOSSES 16u /* loss index must be below this */

/* One individual. For encoding, the four arrays are read (param_count or
 * buffer_count floats each; may be NULL only when the count is 0). For
 * decoding (lpz_population_get) they are caller-owned destinations, or
 * NULL to skip that array. */
typedef struct lpz_individual {
    lpz_role role;
    uint8_t loss_index;     /* mustangs: which loss this network trains with */
    uint32_t source_cell;   /* grid cell the individual was created on */
    uint64_t id;            /* unique within an experiment */
    double learning_rate;   /* its own Adam learning rate (finite, >= 0) */
    double fitness;         /* last evaluated fitness (any value, NaN allowed) */
    int64_t adam_step;      /* Adam steps taken (>= 0), for bias correction */
    uint64_t param_count;   /* n: trainable parameters */
    uint64_t buffer_count;  /* b: batch-norm statistics etc. */
    float *params;          /* [n] */
    float *adam_m;          /* [n] first moment */
    float *adam_v;          /* [n] second moment */
    float *buffers;         /* [b] */
} lpz_individual;

/* What a receiver expects, per role (index LPZ_ROLE_*); a negative value
 * accepts any count. */
typedef struct lpz_population_expect {
    int64_t params[2];
    int64_t buffers[2];
} lpz_population_expect;

/* Sets every expectation to "any". */
void lpz_population_expect_any(lpz_population_expect *e);

/* Encoded payload size of count individuals; LPZ_EINVAL when it would
 * exceed the protocol's POPULATION limit or the count limit. */
int lpz_population_size(const lpz_individual *inds, size_t count, size_t *size, lpz_error *err);

/* Encodes a population into buf[cap]; *written receives the payload size.
 * Checks the individuals (role, loss index, learning rate, arrays present)
 * and cap. */
int lpz_population_encode(uint32_t cell, uint64_t iteration, const lpz_individual *inds, size_t count, uint8_t *buf,
                          size_t cap, size_t *written, lpz_error *err);

/* A validated population payload (points into the caller's buffer, which
 * must outlive it). */
typedef struct lpz_population_view {
    uint32_t cell;      /* the serving cell */
    uint32_t count;     /* individuals */
    uint64_t iteration; /* the serving cell's iteration when it published */
    const uint8_t *data;
    size_t len;
} lpz_population_view;

/* Validates a whole POPULATION payload: header, every individual's header
 * (role, loss index, reserved bits, learning rate, Adam step, counts
 * against expect when not NULL), lengths exact to the byte. LPZ_EFORMAT
 * with the individual's index in the message on failure. */
int lpz_population_parse(const uint8_t *payload, size_t len, const lpz_population_expect *expect,
                         lpz_population_view *v, lpz_error *err);

/* Reads individual `index` of a parsed view: fills the scalars and counts
 * of ind and copies each array whose pointer in ind is not NULL. The
 * caller's arrays hold param_cap / buffer_cap floats; a larger count is
 * LPZ_EINVAL (nothing is written past them). */
int lpz_population_get(const lpz_population_view *v, size_t index, lpz_individual *ind, size_t param_cap,
                       size_t buffer_cap, lpz_error *err);

/* As lpz_population_get, but points ind's four arrays into the payload
 * instead of copying them (valid as long as the payload; read-only:
 * const in spirit, float * only to share the struct). Floats on the wire
 * are little-endian at 4-byte offsets, so this needs a little-endian host
 * (LPZ_EUNSUPPORTED elsewhere: copy with lpz_population_get then;
 * lpz_population_peek_supported says which beforehand). */
int lpz_population_peek(const lpz_population_view *v, size_t index, lpz_individual *ind, lpz_error *err);
int lpz_population_peek_supported(void);

#endif
