/* core/model/network.c - a network plugin configured for one dataset, and
 * the generators / discriminators built from it with checked shapes. */
#include "model_internal.h"
#include "base/shape.h"
#include "nn/model_frozen.h"

#include <lpz/log.h>

#include <inttypes.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct lpz_network {
    const lpz_plugin *plugin;
    const lpz_network_ops *ops;
    const lpz_options *options;
    void *state; /* the plugin's, from configure */
    lpz_shape sample;
    lpz_shape latent;
    int critic;
};

const char *lpz_role_name(lpz_role role)
{
    return role == LPZ_ROLE_GENERATOR ? "generator" : "discriminator";
}

int lpz_mdl_shape_equal(const lpz_shape *a, const lpz_shape *b)
{
    if (a->ndim != b->ndim)
        return 0;
    for (int i = 0; i < a->ndim && i < LPZ_MAX_DIMS; i++)
        if (a->dim[i] != b->dim[i])
            return 0;
    return 1;
}

static int shape_valid(const lpz_shape *s)
{
    if (s->ndim < 0 || s->ndim > LPZ_MAX_DIMS)
        return 0;
    for (int i = 0; i < s->ndim; i++)
        if (s->dim[i] < 1 || s->dim[i] > ((int64_t)1 << 31))
            return 0;
    return 1;
}

int lpz_network_create(const lpz_plugin *plugin, const lpz_options *options, const lpz_shape *sample_shape,
                       int critic, lpz_network **out, lpz_error *err)
{
    *out = NULL;
    if (!plugin || plugin->kind != LPZ_PLUGIN_NETWORK || !plugin->ops)
        return lpz_error_set(err, LPZ_EINVAL, "plugin %s is not a network plugin",
                             plugin && plugin->name ? plugin->name : "(null)");
    const char *name = plugin->name ? plugin->name : "(unnamed)";
    const lpz_network_ops *ops = plugin->ops;
    if (ops->size < offsetof(lpz_network_ops, init) || !ops->configure || !ops->release || !ops->build) {
        lpz_error_set(err, LPZ_EABI, "network plugin %s lacks configure, release or build", name);
        lpz_error_hint(err, "rebuild the plugin against the lpz SDK headers");
        return LPZ_EABI;
    }
    char shape_text[96];
    if (!sample_shape || !shape_valid(sample_shape) || sample_shape->ndim == 0) {
        if (sample_shape)
            lpz_shape_format(sample_shape, shape_text, sizeof shape_text);
        lpz_error_set(err, LPZ_EINVAL, "invalid sample shape %s for network %s",
                      sample_shape ? shape_text : "(none)", name);
        return LPZ_EINVAL;
    }
    lpz_network *net = calloc(1, sizeof *net);
    if (!net)
        return lpz_error_set(err, LPZ_ENOMEM, "out of memory creating network %s", name);
    net->plugin = plugin;
    net->ops = ops;
    net->options = options;
    net->sample = *sample_shape;
    net->critic = critic != 0;

    lpz_network_context ctx = {sizeof ctx, options, *sample_shape, net->critic};
    lpz_shape latent = {0, {0, 0, 0, 0}};
    /* A configure that returns OK without setting *state (NULL is fine:
     * no state) gets NULL, said in a warning: a plugin that keeps none
     * works as before, one whose build then crashes on it has the reason
     * right above the crash. */
    static char unset;
    net->state = &unset;
    lpz_error_clear(err); /* a configure failing silently must not show an older error */
    int rc = ops->configure(&ctx, &net->state, &latent, err);
    if (rc == LPZ_OK && net->state == &unset) {
        lpz_log(LPZ_LOG_WARN, "network plugin %s: configure returned OK without setting *state: taken as NULL "
                "(set it, to NULL when the plugin keeps none)", name);
        net->state = NULL;
    }
    if (rc != LPZ_OK) {
        if (err && err->code == LPZ_OK)
            lpz_error_set(err, rc, "network plugin %s refused its configuration", name);
        lpz_error_context(err, "network %s", name);
        free(net);
        return rc;
    }
    /* at most 2^24 values per sample: the trainer holds fitness_sample_size latents per cell */
    int64_t latent_numel = 1;
    for (int i = 0; i < latent.ndim && latent_numel <= (int64_t)1 << 24; i++)
        latent_numel *= latent.dim[i] > 0 ? latent.dim[i] : 0;
    if (!shape_valid(&latent) || latent.ndim == 0 || latent_numel > (int64_t)1 << 24) {
        lpz_shape_format(&latent, shape_text, sizeof shape_text);
        ops->release(net->state);
        free(net);
        return lpz_error_set(err, LPZ_EINVAL, "network plugin %s set an invalid latent shape %s (1 to 4 dimensions, "
                             "at most 2^24 values)", name, shape_text);
    }
    net->latent = latent;
    *out = net;
    return LPZ_OK;
}

void lpz_network_destroy(lpz_network *net)
{
    if (!net)
        return;
    net->ops->release(net->state);
    free(net);
}

const lpz_plugin *lpz_network_plugin(const lpz_network *net)
{
    return net->plugin;
}

lpz_shape lpz_network_sample_shape(const lpz_network *net)
{
    return net->sample;
}

lpz_shape lpz_network_latent_shape(const lpz_network *net)
{
    return net->latent;
}

int lpz_network_critic(const lpz_network *net)
{
    return net->critic;
}

const lpz_options *lpz_network_options(const lpz_network *net)
{
    return net->options;
}

/* Parameter streams of init: distinct from the engine's use of the seed. */
#define INIT_STREAM 0x6e6574696e6974ull /* "netinit" */

int lpz_network_build(const lpz_network *net, lpz_role role, uint64_t seed, lpz_model **out, lpz_error *err)
{
    return lpz_network_build_within(net, role, seed, 0, out, err);
}

int lpz_network_build_within(const lpz_network *net, lpz_role role, uint64_t seed, int64_t max_values,
                             lpz_model **out, lpz_error *err)
{
    *out = NULL;
    const char *name = net->plugin->name;
    const char *what = lpz_role_name(role);
    if (role != LPZ_ROLE_GENERATOR && role != LPZ_ROLE_DISCRIMINATOR)
        return lpz_error_set(err, LPZ_EINVAL, "unknown network role %d", (int)role);
    const lpz_shape *input = role == LPZ_ROLE_GENERATOR ? &net->latent : &net->sample;
    lpz_model *m = NULL;
    int rc = lpz_model_create(input, seed, &m, err);
    if (rc != LPZ_OK) {
        lpz_error_context(err, "network %s: %s", name, what);
        return rc;
    }
    lpz_model_limit_values(m, max_values);
    rc = net->ops->build(net->state, role, m, err);
    if (rc == LPZ_OK && net->ops->size >= offsetof(lpz_network_ops, init) + sizeof net->ops->init &&
        net->ops->init) {
        lpz_rng rng;
        lpz_rng_seed(&rng, seed, INIT_STREAM + (uint64_t)role);
        rc = net->ops->init(net->state, role, m, &rng, err);
    }
    if (rc != LPZ_OK) {
        if (err && err->code == LPZ_OK)
            lpz_error_set(err, rc, "building failed");
        lpz_error_context(err, "network %s: %s", name, what);
        lpz_model_destroy(m);
        return rc;
    }
    lpz_shape got = lpz_model_output_shape(m);
    lpz_shape want = role == LPZ_ROLE_GENERATOR ? net->sample : lpz_shape_make(1, 1, 0, 0, 0);
    if (!lpz_mdl_shape_equal(&got, &want)) {
        char g[96], w[96];
        lpz_shape_format(&got, g, sizeof g);
        lpz_shape_format(&want, w, sizeof w);
        lpz_model_destroy(m);
        lpz_error_set(err, LPZ_EINVAL, "the %s outputs shape %s per sample, expected %s", what, g, w);
        lpz_error_where(err, "network %s", name);
        lpz_error_hint(err, "the plugin's build() must end with %s",
                       role == LPZ_ROLE_GENERATOR ? "the sample shape (reshape if needed)"
                                                  : "one value per sample (flatten / last step)");
        return LPZ_EINVAL;
    }
    *out = m;
    return LPZ_OK;
}

/* Shortest decimal text that reads back as the same double. */
static void format_double(double v, char *buf, size_t size)
{
    for (int prec = 6; prec <= 17; prec++) {
        snprintf(buf, size, "%.*g", prec, v);
        if (strtod(buf, NULL) == v)
            return;
    }
}

int lpz_network_option_text(const lpz_network *net, int i, const char **key, char *value, size_t size,
                            lpz_error *err)
{
    const lpz_option_spec *spec = &net->plugin->options[i];
    *key = spec->name;
    value[0] = '\0';
    if (!net->options) {
        if (!spec->default_value)
            return LPZ_ENOTFOUND;
        snprintf(value, size, "%s", spec->default_value);
        return LPZ_OK;
    }
    int rc = LPZ_EINVAL;
    lpz_error local;
    lpz_error_clear(&local);
    switch (spec->type) {
    case LPZ_OPT_STRING:
    case LPZ_OPT_PATH: { /* a path is read as a string */
        const char *s = NULL;
        rc = lpz_options_get_string(net->options, spec->name, &s, &local);
        if (rc == LPZ_OK) {
            if (strlen(s) >= size)
                return lpz_error_set(err, LPZ_EINVAL, "network option %s is too long to save (%zu bytes)",
                                     spec->name, strlen(s));
            snprintf(value, size, "%s", s);
        }
        break;
    }
    case LPZ_OPT_INT: {
        int64_t v = 0;
        rc = lpz_options_get_int(net->options, spec->name, &v, &local);
        if (rc == LPZ_OK)
            snprintf(value, size, "%" PRId64, v);
        break;
    }
    case LPZ_OPT_FLOAT: {
        double v = 0;
        rc = lpz_options_get_float(net->options, spec->name, &v, &local);
        if (rc == LPZ_OK) {
            if (!isfinite(v))
                return lpz_error_set(err, LPZ_EINVAL, "network option %s is not finite", spec->name);
            format_double(v, value, size);
        }
        break;
    }
    case LPZ_OPT_BOOL: {
        int v = 0;
        rc = lpz_options_get_bool(net->options, spec->name, &v, &local);
        if (rc == LPZ_OK)
            snprintf(value, size, "%s", v ? "true" : "false");
        break;
    }
    default:
        return lpz_error_set(err, LPZ_EINVAL, "network option %s has an unknown type %d", spec->name,
                             (int)spec->type);
    }
    if (rc == LPZ_ENOTFOUND)
        return LPZ_ENOTFOUND; /* unset and without default: nothing to record */
    if (rc != LPZ_OK) {
        if (err)
            *err = local;
        return rc;
    }
    return LPZ_OK;
}

int lpz_network_option_count(const lpz_network *net)
{
    int n = 0;
    if (net->plugin->options)
        while (net->plugin->options[n].name)
            n++;
    return n;
}
