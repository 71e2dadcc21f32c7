/* lpz/network.h - the interface of a network (architecture) plugin.
 *
 * A network plugin builds a generator and a discriminator from the
 * engine's layers (lpz/nn.h) for the sample shape of the chosen dataset.
 * It owns no training code: parameters, gradients, Adam state, losses and
 * saving are the core's. The layer names it chooses become the tensor names
 * of saved models, so use those of the equivalent PyTorch module.
 */
#ifndef LPZ_NETWORK_H
#define LPZ_NETWORK_H

#include "common.h"
#include "error.h"
#include "nn.h"
#include "options.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum lpz_role {
    LPZ_ROLE_GENERATOR = 0,
    LPZ_ROLE_DISCRIMINATOR = 1
} lpz_role;

typedef struct lpz_network_context {
    size_t size;                /* sizeof(lpz_network_context) of the core */
    const lpz_options *options; /* the plugin's declared options */
    lpz_shape sample_shape;     /* shape of one data sample */
    int critic;                 /* 1: the discriminator must end without a sigmoid
                                   (Wasserstein critic, trainer lipizzaner_wgan) */
} lpz_network_context;

typedef struct lpz_network_ops {
    size_t size; /* sizeof(lpz_network_ops) of the plugin */

    /* Checks the sample shape (refusing unsupported ones with a message
     * naming the shapes it supports), reads options, and sets the latent
     * shape (the generator's input, without the batch). */
    int (*configure)(const lpz_network_context *ctx, void **state, lpz_shape *latent_shape, lpz_error *err);

    void (*release)(void *state);

    /* Adds the layers of a generator or discriminator to `model`, which was
     * created for the latent shape (generator) or the sample shape
     * (discriminator). The core then checks that a generator outputs the
     * sample shape and a discriminator one value per sample, shape (1). */
    int (*build)(void *state, lpz_role role, lpz_model *model, lpz_error *err);

    /* Optional: re-initialises parameters after the layers' default init,
     * e.g. DCGAN's Normal(0, 0.02) weights. */
    int (*init)(void *state, lpz_role role, lpz_model *model, lpz_rng *rng, lpz_error *err);
} lpz_network_ops;

#ifdef __cplusplus
}
#endif
#endif
