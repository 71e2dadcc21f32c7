/* core/runtime/member.h - one individual of a cell's population.
 *
 * A member is a generator or discriminator with everything that travels
 * with it between cells: its model (parameters and batch-norm buffers), its
 * own Adam state and learning rate, its fitness, its mustangs loss and its
 * identity. Members are allocated once per cell and overwritten in place
 * (copies, neighbour snapshots), never per batch. To save memory, a member
 * that is only evaluated may read its parameters and Adam moments from
 * memory it does not own (a published payload, a shared copy, a trained
 * copy): see lpz_member_borrow_wire, lpz_member_borrow_published,
 * lpz_member_adopt; such a member is never the target of a copy.
 */
#ifndef LPZ_RUNTIME_MEMBER_H
#define LPZ_RUNTIME_MEMBER_H

#include <lpz/network.h>
#include <lpz/nn.h>

#include "model/model.h"
#include "nn/adam.h"
#include "transport/individual.h"

typedef struct lpz_member {
    lpz_model *model;
    lpz_adam *adam;
    double lr;
    double fitness;
    uint64_t id;
    int loss;        /* lpz_loss_kind the member trains with */
    int source_cell; /* where it was created */
    int64_t n_params, n_buffers;
    /* 1: adam->m and adam->v point into memory the member does not own:
     * a population payload (lpz_member_borrow_wire,
     * lpz_member_borrow_published) or another member's arrays
     * (lpz_member_adopt); NULL both: no Adam state (lpz_member_drop_adam).
     * Either way they are never freed here. */
    int adam_borrowed;
} lpz_member;

/* Builds a fresh member (new parameters from seed) with room for batches
 * of max_batch samples. */
int lpz_member_init(lpz_member *m, const lpz_network *net, lpz_role role, uint64_t seed, int64_t max_batch,
                    lpz_error *err);
void lpz_member_free(lpz_member *m);

/* For members that are only evaluated, never trained (neighbours' copies;
 * the local ones while selection trains the selected copies): frees the
 * model's gradient buffer (4 bytes per parameter). Parameters, buffers and
 * Adam state stay, so the member still travels and is copied exactly. */
void lpz_member_freeze(lpz_member *m);

/* Frees the Adam moments (8 bytes per parameter) of a member that gets
 * them from elsewhere when needed: a neighbour's copy whose moments are
 * read in place from the publisher's payload (lpz_member_borrow_wire).
 * Until then the member has no moments: copying from it or publishing it
 * fails with LPZ_ESTATE, evaluating it works. */
void lpz_member_drop_adam(lpz_member *m);

/* Copies parameters, buffers, Adam state and scalars. LPZ_ESTATE when src
 * has no Adam moments or dst's are borrowed. */
int lpz_member_copy(lpz_member *dst, const lpz_member *src, lpz_error *err);

/* Fills a wire individual that points into the member's arrays; buffers
 * are gathered into `buffer_scratch` (n_buffers floats). */
void lpz_member_to_wire(const lpz_member *m, lpz_role role, float *buffer_scratch, lpz_individual *out);

/* Overwrites the member with individual `index` of a parsed population
 * (whose counts were checked against this member's). */
int lpz_member_from_wire(lpz_member *m, const lpz_population_view *v, size_t index, float *buffer_scratch,
                         lpz_error *err);

/* As lpz_member_from_wire, but the Adam moments point into the payload
 * itself (lpz_population_peek), which must stay valid and unchanged until
 * lpz_member_drop_adam: for in-process neighbours, whose moments are only
 * read when selection picks them. The parameters (read all iteration) are
 * copied into the member's own, or, when params_at is not NULL, read from
 * there (n_params floats equal to the payload's, e.g. one copy shared by
 * all the readers of that payload; the member does not free them). The
 * buffers are copied. A member that owned moments frees them. */
int lpz_member_borrow_wire(lpz_member *m, const lpz_population_view *v, size_t index, float *params_at,
                           float *buffer_scratch, lpz_error *err);

/* Points the member's parameters and Adam moments at those of individual
 * `index` of a payload that holds this very member as published (same id
 * and step count, else LPZ_EINVAL): a cell's own individuals, while only
 * selected copies train, need not keep a second copy of what their
 * cell's server holds. Own copies are freed; buffers stay the member's.
 * The member is then read-only (lpz_member_copy into it fails) until
 * lpz_member_adopt. */
int lpz_member_borrow_published(lpz_member *m, const lpz_population_view *v, size_t index, lpz_error *err);

/* dst becomes src: scalars and buffers copied, parameters and Adam
 * moments borrowed from src instead of copied: for a cell's own
 * individual replaced by a trained copy, until the next publish lets it
 * borrow from the published payload. src must not change meanwhile. */
int lpz_member_adopt(lpz_member *dst, const lpz_member *src, lpz_error *err);

/* Batch-norm buffers as one vector (state_dict order). */
void lpz_member_get_buffers(const lpz_member *m, float *out);
void lpz_member_set_buffers(lpz_member *m, const float *in);

#endif
