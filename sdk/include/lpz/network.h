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
                                   (Wasserstein critic, trainer lipizzaner_wgan);
                                   0: with one (bceloss and heuristicloss need
                                   probabilities in [0, 1]) */
} lpz_network_context;

typedef struct lpz_network_ops {
    size_t size; /* sizeof(lpz_network_ops) of the plugin */

    /* Checks the sample shape (refusing unsupported ones with a message
     * naming the shapes it supports), reads options, and sets the latent
     * shape (the generator's input, without the batch: 1 to 4 dimensions,
     * at most 2^24 values), and sets *state (NULL when the plugin keeps
     * none; left unset, the core takes NULL and warns). Called once per run
     * (and per model file loaded); *state then serves every build. */
    int (*configure)(const lpz_network_context *ctx, void **state, lpz_shape *latent_shape, lpz_error *err);

    void (*release)(void *state);

    /* Adds the layers of a generator or discriminator to `model`, which was
     * created for the latent shape (generator) or the sample shape
     * (discriminator; flatten it first for linear layers over all values).
     * The core then checks that a generator outputs the sample shape
     * (reshape at the end) and a discriminator one value per sample, shape
     * (1). Called for every model (each individual, copy and loaded file),
     * one call at a time; it must build the same structure each time, and
     * give each custom layer a self of its own. The core destroys the model
     * when build fails. */
    int (*build)(void *state, lpz_role role, lpz_model *model, lpz_error *err);

    /* Optional: re-initialises parameters after the layers' default init,
     * e.g. DCGAN's Normal(0, 0.02) weights; find them by tensor name with
     * lpz_model_param. `rng` is seeded from the model's seed and role. */
    int (*init)(void *state, lpz_role role, lpz_model *model, lpz_rng *rng, lpz_error *err);
} lpz_network_ops;

#ifdef __cplusplus
}
#endif
#endif
