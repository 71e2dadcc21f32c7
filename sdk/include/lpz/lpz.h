/* lpz/lpz.h - everything a plugin may use, in one include.
 *
 * The SDK is these headers and nothing else: a plugin includes only
 * <lpz/...> and links only liblpz (pkg-config lpz).
 */
#ifndef LPZ_LPZ_H
#define LPZ_LPZ_H

#include "common.h"
#include "dataloader.h"
#include "error.h"
#include "io.h"
#include "log.h"
#include "network.h"
#include "nn.h"
#include "options.h"
#include "plugin.h"
#include "rng.h"

#endif
