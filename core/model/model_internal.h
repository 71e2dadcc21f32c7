/* core/model/model_internal.h - helpers shared by the files of core/model
 * (not for other folders; they use model.h). */
#ifndef LPZ_MODEL_INTERNAL_H
#define LPZ_MODEL_INTERNAL_H

#include "model.h"

#include <stddef.h>

/* "(1, 28, 28)" into buf; returns buf. */
char *lpz_mdl_shape_format(const lpz_shape *s, char *buf, size_t size);
int lpz_mdl_shape_equal(const lpz_shape *a, const lpz_shape *b);

const lpz_options *lpz_network_options(const lpz_network *net);
/* Number of options the plugin declares. */
int lpz_network_option_count(const lpz_network *net);
/* Option i of the plugin as YAML text (value of size bytes). LPZ_ENOTFOUND
 * when the option is unset and has no default (nothing to save). */
int lpz_network_option_text(const lpz_network *net, int i, const char **key, char *value, size_t size,
                            lpz_error *err);

#endif
