/* tests/inception/inc_test_util.h - weights files and inputs for the
 * InceptionV3 tests and tool. */
#ifndef INC_TEST_UTIL_H
#define INC_TEST_UTIL_H

#include <lpz/error.h>
#include <stdint.h>

/* n floats uniform in [lo, hi) from a fixed-seed generator. */
void inc_fill_uniform(float *x, int64_t n, uint64_t seed, float lo, float hi);

/* A complete weights file (all 94 convolutions with their batch norms, F32)
 * with metadata inception_variant = variant (none when NULL).
 * random: conv weights uniform with variance 2/fan_in, gamma 1, beta
 *         uniform in [-0.1, 0.1], mean 0, var 1 (activations keep their
 *         scale through the network).
 * bias-only: conv weights 0, gamma 2, mean 0.2, var 3 and
 *         beta = inc_bias_only_beta(layer, channel), so every layer outputs
 *         relu(beta - 0.2 * 2 / sqrt(3 + 0.001)) whatever its input. */
int inc_write_random_weights(const char *path, uint64_t seed, const char *variant, lpz_error *err);
int inc_write_bias_only_weights(const char *path, const char *variant, lpz_error *err);
float inc_bias_only_beta(int layer, int channel);

/* A folder for large temporary files: /dev/shm when writable, else
 * $LPZ_BUILD_DIR, else /tmp. */
const char *inc_scratch_dir(void);

#endif
