/* core/nn/replica.h - replicas of a model for data-parallel steps
 * (core-internal).
 *
 * A replica has the structure of a model and its own gradients and batch
 * memory, but no parameters of its own: lpz_replica_bind points it at a
 * model's parameter buffer (read only: forward and backward never write
 * parameters). Two threads can then run forward/backward on two halves of
 * a batch, one on the model and one on the replica, and the gradients are
 * summed before the optimiser step. The result equals the whole-batch step
 * up to float summation order, but only for networks whose forward does
 * not couple the samples of a batch or draw random numbers: batch norm
 * (batch statistics) and active dropout (the model's generator) would
 * differ, so lpz_replica_supported refuses them.
 */
#ifndef LPZ_CORE_NN_REPLICA_H
#define LPZ_CORE_NN_REPLICA_H

#include <lpz/nn.h>

/* 1 when a half-batch forward/backward of m is the matching rows of the
 * whole-batch one: only linear, element-wise, reshape, repeat, last-step
 * and dropout-free LSTM layers. */
int lpz_replica_supported(const lpz_model *m);

/* A replica of m with batch memory for max_batch samples and no parameters
 * bound yet: its parameters are borrowed (lpz_model_borrow_params), so
 * lpz_model_destroy frees only the replica's own memory and nothing can
 * write the bound model's parameters through it. */
int lpz_replica_create(const lpz_model *m, int64_t max_batch, lpz_model **out, lpz_error *err);

/* Points the replica at src's parameters and training mode. src has the
 * structure the replica was made from (same parameter count and layers). */
int lpz_replica_bind(lpz_model *r, const lpz_model *src, lpz_error *err);

/* dst[i] += src[i] for i in [begin, end) of two models' gradient buffers
 * (the replica's half-batch gradients into the model's). */
void lpz_replica_add_grads(lpz_model *dst, const lpz_model *src, int64_t begin, int64_t end);

#endif
