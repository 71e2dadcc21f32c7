/* core/nn/model_frozen.h - models that are only run forward (library
 * internal, not SDK).
 *
 * A trainer holds many individuals that are never trained: the
 * neighbours' copies, and the local ones while selection trains the
 * selected copies. Their gradient buffer (4 bytes per parameter: 1.1 MB
 * for the quick start's MLP generator) is dead weight.
 */
#ifndef LPZ_NN_MODEL_FROZEN_H
#define LPZ_NN_MODEL_FROZEN_H

#include <lpz/nn.h>

/* Frees the gradient buffer: forward, backward_input, copies and clones
 * work as before; lpz_model_grads returns NULL, lpz_model_zero_grad does
 * nothing and lpz_model_backward fails with LPZ_ESTATE. */
void lpz_model_drop_grads(lpz_model *m);

#endif
