/* core/config/options_internal.h - how the core fills a plugin's options.
 *
 * At parse time the plugin is not loaded yet, so the config keeps the keys
 * of a plugin's section that are not core keys as raw (key, YAML text,
 * where) triples. Once the plugin is loaded, the runtime creates an
 * lpz_options from the plugin's spec and sets each triple, which checks
 * the key exists (else LPZ_ENOTFOUND naming where, with the closest
 * declared option as hint) and that the text parses as the declared type
 * (else LPZ_EINVAL naming where and the expected type).
 */
#ifndef LPZ_CONFIG_OPTIONS_INTERNAL_H
#define LPZ_CONFIG_OPTIONS_INTERNAL_H

#include <lpz/options.h>

/* 1 when a plugin's option table can work: every option has a name of
 * letters, digits and '_', unique, that is not a core key of its section
 * ("dataloader" or "network": the core would take the key and the option
 * could never be set), a known type and a default that parses as it (or
 * none); else 0 with the first problem in `problem`. */
int lpz_options_spec_ok(const lpz_option_spec *spec, const char *section, char *problem, size_t size);

/* The type's word in listings ("string", "int", "float", "bool", "path"; "?" for an unknown one). */
const char *lpz_option_type_word(lpz_option_type t);

/* spec may be NULL (a plugin without options). The spec must outlive opts. */
lpz_options *lpz_options_create(const lpz_option_spec *spec, const char *plugin_name);
void lpz_options_destroy(lpz_options *opts);

/* The section ("dataloader" or "network") whose options these are: messages
 * and lpz_options_where then name the full key path (dataloader.path), as
 * for core keys. Without it they name the bare key. Returns LPZ_OK or LPZ_ENOMEM. */
int lpz_options_set_section(lpz_options *opts, const char *section);

/* Sets key to the YAML scalar text `value`; `where` is "file:line:col" or
 * "--set" (copied). Errors, and lpz_options_where later, say
 * "file:line:col: section.key" or "--set section.key". */
int lpz_options_set(lpz_options *opts, const char *key, const char *value, const char *where, lpz_error *err);

/* After a dataloader failed to open: a relative path option written in an
 * !include'd file of another folder is looked for in the current folder,
 * then in config_dir (the run file's folder), not in the included file's
 * (which !include's own paths are relative to). When one names nothing
 * there, adds that to err's hint (with the absolute path when the file is
 * in the included file's folder). */
void lpz_options_hint_included(const lpz_options *opts, const char *config_dir, lpz_error *err);

#endif
