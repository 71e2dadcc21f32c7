/* lpz/options.h - a plugin's own YAML options.
 *
 * A plugin declares the options it understands in its descriptor (an array
 * of lpz_option_spec ending with a zeroed entry). In the run file they sit
 * beside the core's keys of the plugin's section:
 *
 *     dataloader:
 *       dataset_name: mnist     # core key: selects the plugin
 *       batch_size: 100         # core key
 *       path: /data/mnist       # option declared by the mnist plugin
 *
 * Before the plugin is opened the core checks every such key against the
 * spec (unknown key -> error with file:line and the closest known option;
 * wrong type -> error naming the expected type), so a plugin reads only
 * values it declared, already validated. A missing key yields the spec's
 * default.
 */
#ifndef LPZ_OPTIONS_H
#define LPZ_OPTIONS_H

#include "error.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum lpz_option_type {
    LPZ_OPT_STRING = 1,
    LPZ_OPT_INT = 2,   /* 64-bit signed integer */
    LPZ_OPT_FLOAT = 3, /* double */
    LPZ_OPT_BOOL = 4,  /* true/false, also the original's True/False, yes/no */
    LPZ_OPT_PATH = 5   /* a file or folder (ABI 1.2): read with lpz_options_get_string, as a string. A
                          relative value is the plugin's to resolve (the current folder first, then
                          lpz_dataset_context.config_dir); a run's config.yml records it absolute when it
                          names an existing file or folder then, so that the run folder's copy works from
                          any folder (lpz generate, lpz score, --resume) */
} lpz_option_type;

typedef struct lpz_option_spec {
    const char *name;          /* key in the plugin's YAML section; NULL ends the array */
    lpz_option_type type;
    const char *default_value; /* as YAML text; NULL means "unset unless given" */
    const char *help;          /* one line for `lpz plugins -v` and the docs */
} lpz_option_spec;

/* The validated options of one plugin instance. Owned by the core. */
typedef struct lpz_options lpz_options;

/* Each getter returns LPZ_OK and the value (from YAML or --set, else the
 * default), LPZ_ENOTFOUND when the option is unset and has no default, or
 * LPZ_EINVAL when the key was not declared with that type. Errors name the
 * file and line of the value. Returned strings live as long as opts. */
LPZ_API int lpz_options_get_string(const lpz_options *opts, const char *key, const char **out, lpz_error *err);
LPZ_API int lpz_options_get_int(const lpz_options *opts, const char *key, int64_t *out, lpz_error *err);
LPZ_API int lpz_options_get_float(const lpz_options *opts, const char *key, double *out, lpz_error *err);
LPZ_API int lpz_options_get_bool(const lpz_options *opts, const char *key, int *out, lpz_error *err);

/* 1 when the key was given in the run file or on the command line. */
LPZ_API int lpz_options_is_set(const lpz_options *opts, const char *key);

/* Where the key's value was given, with its full key path, as lpz names
 * core keys: "run.yml:3:9: dataloader.path" or "--set dataloader.path";
 * when it was not given, that it is the plugin's default:
 * "network.hidden (not set; tinymlp's default 0)", or "dataloader.path (not
 * set)" for an option without a default; "" for a key the plugin does not
 * declare. For a plugin's own error messages about a value it rejects:
 * lpz_error_where(err, "%s", lpz_options_where(opts, "path")). */
LPZ_API const char *lpz_options_where(const lpz_options *opts, const char *key);

#ifdef __cplusplus
}
#endif
#endif
