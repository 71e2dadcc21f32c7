/* lpz/plugin.h - how a plugin declares itself.
 *
 * A plugin is a shared object that exports exactly one symbol, named
 * LPZ_PLUGIN_SYMBOL ("lpz_plugin_descriptor"), of type `const lpz_plugin`.
 * Define it with LPZ_PLUGIN_DEFINE (a test that compiles a plugin's source
 * into its own executable refers to it as `lpz_plugin_descriptor`):
 *
 *     static const lpz_dataloader_ops ops = {.size = sizeof ops, .open = my_open, ...};
 *     LPZ_PLUGIN_DEFINE(LPZ_PLUGIN_DATALOADER, "toy", NULL, "1.0.0",
 *                       "2-D Gaussian mixture", my_options, &ops);
 *
 * The loader (dlopen with RTLD_NOW | RTLD_LOCAL) reads abi_major first and
 * refuses a plugin built for another major version, naming the file and
 * both versions; nothing else of the descriptor is touched in that case.
 * Build plugins as CMake MODULE libraries linked to liblpz with
 * -Wl,-z,defs, so a missing symbol fails at link time.
 */
#ifndef LPZ_PLUGIN_H
#define LPZ_PLUGIN_H

#include "common.h"
#include "options.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum lpz_plugin_kind {
    LPZ_PLUGIN_DATALOADER = 1, /* ops is a const lpz_dataloader_ops * (lpz/dataloader.h) */
    LPZ_PLUGIN_NETWORK = 2     /* ops is a const lpz_network_ops * (lpz/network.h) */
} lpz_plugin_kind;

#define LPZ_PLUGIN_SYMBOL "lpz_plugin_descriptor"

typedef struct lpz_plugin {
    /* These two fields stay first in every ABI version. */
    uint32_t abi_major;
    uint32_t abi_minor;
    uint32_t kind;                /* an lpz_plugin_kind */
    const char *name;             /* the name used in YAML (dataset_name, network.name) */
    const char *const *aliases;   /* other accepted names, NULL-terminated; may be NULL */
    const char *version;          /* the plugin's own version, e.g. "1.2.0" */
    const char *description;      /* one line */
    const lpz_option_spec *options; /* ends with an entry whose name is NULL; may be NULL */
    const void *ops;              /* function table; its first field is its size in bytes */
} lpz_plugin;

#if defined(__GNUC__)
#define LPZ_PLUGIN_EXPORT __attribute__((visibility("default")))
#else
#define LPZ_PLUGIN_EXPORT
#endif

extern LPZ_PLUGIN_EXPORT const lpz_plugin lpz_plugin_descriptor;

/* In C11 and later, a kind that does not match the function table's type
 * (LPZ_PLUGIN_NETWORK with an lpz_dataloader_ops, say) fails to compile:
 * the loader would call open as configure and read as build. */
struct lpz_dataloader_ops;
struct lpz_network_ops;
#if defined(__STDC_VERSION__) && __STDC_VERSION__ >= 201112L && !defined(__cplusplus) &&                    \
    (defined(__clang__) || !defined(__GNUC__) || __GNUC__ * 100 + __GNUC_MINOR__ >= 409) /* _Generic: GCC 4.9 */
#define LPZ_PLUGIN_OPS_CHECK_(kind_, ops_)                                                                      \
    _Static_assert(_Generic((ops_),                                                                           \
                       const struct lpz_dataloader_ops *: (kind_) == LPZ_PLUGIN_DATALOADER,                   \
                       struct lpz_dataloader_ops *: (kind_) == LPZ_PLUGIN_DATALOADER,                         \
                       const struct lpz_network_ops *: (kind_) == LPZ_PLUGIN_NETWORK,                         \
                       struct lpz_network_ops *: (kind_) == LPZ_PLUGIN_NETWORK,                               \
                       default: 1),                                                                           \
                   "LPZ_PLUGIN_DEFINE: the kind does not match the function table (LPZ_PLUGIN_DATALOADER "    \
                   "takes an lpz_dataloader_ops, LPZ_PLUGIN_NETWORK an lpz_network_ops)");
#else
#define LPZ_PLUGIN_OPS_CHECK_(kind_, ops_)
#endif

/* C++ takes the visibility (and the C linkage) from the declaration above
 * and warns of the attribute on the definition. */
#ifdef __cplusplus
#define LPZ_PLUGIN_DEFINITION_EXPORT_
#else
#define LPZ_PLUGIN_DEFINITION_EXPORT_ LPZ_PLUGIN_EXPORT
#endif

/* Defines the plugin's descriptor with the ABI of the headers in use. */
#define LPZ_PLUGIN_DEFINE(kind_, name_, aliases_, version_, description_, options_, ops_) \
    LPZ_PLUGIN_OPS_CHECK_(kind_, ops_)                                                             \
    LPZ_PLUGIN_DEFINITION_EXPORT_ const lpz_plugin lpz_plugin_descriptor = {                       \
        LPZ_ABI_MAJOR, LPZ_ABI_MINOR, (kind_), (name_), (aliases_),                     \
        (version_), (description_), (options_), (ops_)}

/* A text for a plugin kind: "dataloader" or "network". */
LPZ_API const char *lpz_plugin_kind_name(uint32_t kind);

#ifdef __cplusplus
}
#endif
#endif
