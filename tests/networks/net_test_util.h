/* tests/networks/net_test_util.h - helpers shared by the network tests.
 *
 * Each test executable compiles exactly one network plugin's source and
 * reaches it through its descriptor, lpz_plugin_descriptor. */
#ifndef LPZ_TESTS_NET_TEST_UTIL_H
#define LPZ_TESTS_NET_TEST_UTIL_H

#include "config/options_internal.h"
#include "model/model.h"

#include <lpz/lpz.h>

#include <stddef.h>

/* Options for the test's plugin from "key=value" texts (NULL-terminated
 * list, may be NULL); fails the test on a refused pair. */
lpz_options *nt_options(const char *const *pairs);

/* Network for sample_shape with the given options; fails the test on error. */
lpz_network *nt_network(const lpz_options *opts, lpz_shape sample, int critic);

/* Tries to configure; returns the status and leaves the error in *err. */
int nt_try_network(const lpz_options *opts, lpz_shape sample, int critic, lpz_error *err);

/* Builds a model; fails the test on error. */
lpz_model *nt_build(const lpz_network *net, lpz_role role, uint64_t seed);

/* Asserts the model's tensors are exactly names[i] with shapes[i] (ndim
 * then sizes, like {2, 256, 64}), in state_dict order, n of them. */
typedef struct nt_tensor_spec {
    const char *name;
    int ndim;
    int64_t dim[4];
} nt_tensor_spec;
void nt_expect_tensors(const lpz_model *m, const nt_tensor_spec *spec, int n);

/* Fills x with Normal(0, 1) (latents) or Uniform(-1, 1) (samples). */
void nt_fill_normal(float *x, size_t n, uint64_t seed);
void nt_fill_uniform(float *x, size_t n, uint64_t seed);

/* Runs m on n inputs; returns the model-owned output; fails on error. */
const float *nt_forward(lpz_model *m, const float *x, int64_t n);

/* Asserts every tensor (parameters and buffers) of a and b is bitwise equal. */
void nt_expect_same_tensors(const lpz_model *a, const lpz_model *b);
/* 1 when some parameter differs. */
int nt_tensors_differ(const lpz_model *a, const lpz_model *b);

/* Save -> load round trip of a model of `role`: a differently seeded model
 * of the same network takes the file and must then equal `m` bit for bit,
 * tensors and eval-mode outputs on the same inputs. */
void nt_round_trip(const lpz_network *net, lpz_role role, lpz_model *m, const char *path);

/* A fresh file path in the test's temporary folder (removed at exit). */
const char *nt_temp_path(const char *name);

/* Asserts that err's formatted text contains `needle`. */
void nt_expect_error_mentions(const lpz_error *err, const char *needle);

#endif
