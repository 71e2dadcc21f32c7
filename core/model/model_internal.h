/* core/model/model_internal.h - helpers shared by the files of core/model
 * (not for other folders; they use model.h). */
#ifndef LPZ_MODEL_INTERNAL_H
#define LPZ_MODEL_INTERNAL_H

#include "model.h"

#include <stddef.h>

/* "(1, 28, 28)" into buf; returns buf. */
int lpz_mdl_shape_equal(const lpz_shape *a, const lpz_shape *b);

const lpz_options *lpz_network_options(const lpz_network *net);
/* Number of options the plugin declares. */
int lpz_network_option_count(const lpz_network *net);
/* Option i of the plugin as YAML text (value of size bytes). LPZ_ENOTFOUND
 * when the option is unset and has no default (nothing to save). */
int lpz_network_option_text(const lpz_network *net, int i, const char **key, char *value, size_t size,
                            lpz_error *err);

/* lpz_network_build with at most max_values parameters and buffers (0: no
 * limit): a model rebuilt from a file's metadata is refused (LPZ_EFORMAT)
 * before it allocates more than the file's tensors hold. */
int lpz_network_build_within(const lpz_network *net, lpz_role role, uint64_t seed, int64_t max_values,
                             lpz_model **out, lpz_error *err);

#endif
