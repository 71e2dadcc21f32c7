/* tests/nn/nn_test_util.h - shared by the engine's cmocka tests (include
 * after cmocka.h): OK(call) fails the test with the engine's message when
 * a call does not return LPZ_OK; calls pass &e_ as their lpz_error. */
#ifndef LPZ_TESTS_NN_TEST_UTIL_H
#define LPZ_TESTS_NN_TEST_UTIL_H

#include <lpz/error.h>

static lpz_error e_;

#define OK(call)                                                                                                   \
    do {                                                                                                           \
        if ((call) != LPZ_OK)                                                                                      \
            fail_msg("%s: %s", #call, e_.message);                                                                 \
    } while (0)

#endif
