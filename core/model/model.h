/* core/model/model.h - networks built from a network plugin, and model files.
 *
 * Owns: turning a network plugin (lpz/network.h) into generator and
 * discriminator models with checked shapes, and saving / loading models as
 * safetensors files that PyTorch users can load with
 * module.load_state_dict(tensors, strict=True).
 * Calls: core/nn (the models, through lpz/nn.h), core/io (safetensors
 * reader/writer), core/base. Never loads plugins itself: the caller (the
 * runtime, `lpz generate`) finds the plugin with core/plugin and passes its
 * descriptor.
 *
 * A model file is a safetensors file whose tensors are the model's
 * state_dict in state_dict order (parameters and batch-norm buffers as F32,
 * "*.num_batches_tracked" as an I64 scalar of shape []), and whose
 * "__metadata__" holds string values:
 *   format           "lpz-model-1"
 *   lpz_version      version of lpz that wrote the file (LPZ_VERSION)
 *   network          the network plugin's name ("four_layer_perceptron")
 *   network_options  JSON object of the plugin's options, every value the
 *                    option's YAML text as a JSON string: {"hidden": "256"}
 *   role             "generator" or "discriminator"
 *   critic           "0", or "1" for a Wasserstein critic (no final sigmoid)
 *   sample_shape     JSON array, one data sample without the batch: "[1, 28, 28]"
 *   latent_shape     JSON array, the generator's input: "[64]"
 * plus any key/value pairs the caller adds (learning rate, fitness, cell...).
 * A model saved without a network (net == NULL) has only format and
 * lpz_version and the caller's pairs.
 */
#ifndef LPZ_MODEL_MODEL_H
#define LPZ_MODEL_MODEL_H

#include <lpz/network.h>
#include <lpz/nn.h>
#include <lpz/plugin.h>

/* Value of the "format" metadata key; bumped if the layout ever changes. */
#define LPZ_MODEL_FORMAT "lpz-model-1"

/* The hint for a model file without the network metadata (a PyTorch state_dict saved as safetensors): a
 * configuration (-f) does not stand in for it, the metadata must be added. */
#define LPZ_MODEL_METADATA_HINT                                                                                   \
    "lpz rebuilds a generator from its file's metadata (network, network_options, role, critic, sample_shape, "    \
    "latent_shape), which a state_dict saved from PyTorch lacks, with or without -f: add it when converting "      \
    "(docs/howto/coming-from-lipizzaner.md)"

/* ---- networks ------------------------------------------------------------ */

/* A configured network plugin: knows the sample and latent shapes and can
 * build any number of generators and discriminators. */
typedef struct lpz_network lpz_network;

/* Configures `plugin` (a network plugin descriptor from the registry) for
 * samples of `sample_shape`. `options` are the plugin's validated options
 * (may be NULL: the plugin then uses its defaults); they must outlive the
 * network. critic != 0 asks for a discriminator without a final sigmoid.
 * Refusals of the plugin (unsupported shape, bad option) are returned as
 * they are, with "network <name>" added to where. */
int lpz_network_create(const lpz_plugin *plugin, const lpz_options *options, const lpz_shape *sample_shape,
                       int critic, lpz_network **out, lpz_error *err);
void lpz_network_destroy(lpz_network *net);

/* Creates a new model of `role`: input = latent shape (generator) or sample
 * shape (discriminator); the plugin adds its layers and re-initialises
 * them; parameters are drawn from `seed` (the same seed gives the same
 * model). Checks that a generator outputs the sample shape and a
 * discriminator shape (1). Safe to call from several threads at once when
 * the plugin's build and init are (those of lpz's plugins are). */
int lpz_network_build(const lpz_network *net, lpz_role role, uint64_t seed, lpz_model **out, lpz_error *err);

const lpz_plugin *lpz_network_plugin(const lpz_network *net);
lpz_shape lpz_network_sample_shape(const lpz_network *net);
lpz_shape lpz_network_latent_shape(const lpz_network *net);
int lpz_network_critic(const lpz_network *net);

/* "generator" / "discriminator". */
const char *lpz_role_name(lpz_role role);

/* ---- model files --------------------------------------------------------- */

/* Writes `model` to path (temporary file + rename). `net` (may be NULL)
 * supplies the network metadata and `role` is recorded with it; the n_extra
 * caller pairs are added to the metadata (keys must not be the reserved
 * ones above). */
int lpz_model_save(const char *path, const lpz_model *model, const lpz_network *net, lpz_role role,
                   const char *const *extra_keys, const char *const *extra_values, int n_extra,
                   lpz_error *err);

/* Restores every parameter and buffer of `model` from path, bit for bit.
 * Refuses (model unchanged) a file that is not valid safetensors, that
 * lacks one of the model's tensors, has one the model does not, or has a
 * tensor of another dtype or shape, naming the tensor. */
int lpz_model_load_into(const char *path, lpz_model *model, lpz_error *err);

/* What a model file says about the network that wrote it: enough to
 * configure the same plugin again (lpz_options_set each option pair, then
 * lpz_network_create with sample_shape and critic) and build the model. */
typedef struct lpz_model_info {
    char format[32];
    char lpz_version[32];
    char network[128]; /* "" when saved without a network */
    int has_network;   /* 1 when network, role, shapes and options were recorded */
    lpz_role role;
    int critic;
    lpz_shape sample_shape;
    lpz_shape latent_shape;
    int n_options;        /* plugin options, in the order saved */
    char **option_keys;   /* option name */
    char **option_values; /* its YAML text ("256", "0.05", "true", a string) */
    int n_extra;          /* every other metadata pair (caller's) */
    char **extra_keys;
    char **extra_values;
    int n_tensors;
    int64_t n_values; /* elements of all tensors (what a model rebuilt from the file may hold) */
} lpz_model_info;

/* Reads and validates the file (as load does) and its metadata. Free with
 * lpz_model_info_free. */
int lpz_model_file_info(const char *path, lpz_model_info *out, lpz_error *err);
void lpz_model_info_free(lpz_model_info *info);

/* The metadata value of `key` in info's extra pairs, or NULL. */
const char *lpz_model_info_extra(const lpz_model_info *info, const char *key);

/* A model rebuilt from its file alone (what `lpz generate` needs). */
typedef struct lpz_loaded_model {
    lpz_model_info info;
    lpz_options *options; /* the plugin's options, as recorded in the file */
    lpz_network *net;
    lpz_model *model; /* in evaluation mode */
} lpz_loaded_model;

/* Reads path's metadata, sets the recorded options on `plugin` (the
 * caller finds it in the registry by info.network; its name or an alias
 * must match), configures it for the recorded sample shape and critic
 * flag, checks the latent shape agrees, builds the recorded role and loads
 * the tensors. A file saved without a network is refused. Close with
 * lpz_loaded_model_close (also after a failure). */
int lpz_model_open(const char *path, const lpz_plugin *plugin, lpz_loaded_model *out, lpz_error *err);
void lpz_loaded_model_close(lpz_loaded_model *lm);

#endif
