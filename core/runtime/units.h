/* core/runtime/units.h - the record of the original units a mixture was
 * trained in.
 *
 * A dataloader with to_original_units (network_traffic: per-feature
 * min-max scaling computed from the whole file) maps [-1, 1] back to the
 * data's units with parameters it takes from the data it opened. A mixture
 * generated with another file of the same shape would silently come out in
 * that file's units. So the trainer writes, next to every mixture
 * (<run_dir>/master/<cell>/units.json, atomically, also on the distributed
 * clients, whose master/<cell>/ folders travel to the master), what the
 * dataloader maps -1, 0 and 1 of each element to, and the dataloader's
 * options; `lpz generate` and `lpz score` compare the configured data's
 * mapping with it and refuse another one, naming both. Plugin-agnostic:
 * only the existing to_original_units is called (no SDK change).
 */
#ifndef LPZ_RUNTIME_UNITS_H
#define LPZ_RUNTIME_UNITS_H

#include "config/config.h"
#include "data/dataset.h"

#define LPZ_UNITS_FILE "units.json"
/* At most this many elements of a sample are recorded (evenly spaced). */
#define LPZ_UNITS_MAX_ELEMENTS 4096

/* The record's text for the opened dataset ds of configuration cfg
 * (malloc'd, *out). *out is NULL when the dataloader has no original units
 * (nothing to record). */
int lpz_units_record_make(const lpz_config *cfg, lpz_dataset *ds, char **out, lpz_error *err);

/* Checks the record of the mixture folder `dir` against ds (opened from
 * cfg, read from the file `config_file`). LPZ_OK when they agree, when ds
 * has no original units and nothing was recorded, or when dir has no
 * record (a run of an earlier lpz: a warning then, when ds has original
 * units). LPZ_EINVAL naming the recorded and the configured data, with a
 * hint, when the mappings differ; LPZ_EFORMAT for a damaged record. */
int lpz_units_record_check(const char *dir, const lpz_config *cfg, const char *config_file, lpz_dataset *ds,
                           lpz_error *err);

#endif
