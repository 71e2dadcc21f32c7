/* tests/transport/test_sha256.c - SHA-256 against FIPS 180-2 appendix B
 * and HMAC-SHA256 against RFC 4231 section 4, with the portable block
 * function and (where the CPU has them) the SHA extensions; both agree on
 * messages of every length around the block boundaries. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "transport/sha256.h"

static void hex(const uint8_t *d, size_t n, char *out)
{
    for (size_t i = 0; i < n; i++)
        sprintf(out + 2 * i, "%02x", d[i]);
}

static void check_sha(const void *msg, size_t len, const char *want)
{
    uint8_t d[32];
    char h[65];
    lpz_sha256(msg, len, d);
    hex(d, 32, h);
    assert_string_equal(h, want);
}

static void sha256_matches_fips_vectors(void **state)
{
    (void)state;
    check_sha("abc", 3, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    check_sha("", 0, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    const char *m = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
    check_sha(m, strlen(m), "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
    char *a = malloc(1000000);
    assert_non_null(a);
    memset(a, 'a', 1000000);
    check_sha(a, 1000000, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
    free(a);
}

static void sha256_streaming_equals_one_shot_for_any_split(void **state)
{
    (void)state;
    uint8_t msg[300];
    for (size_t i = 0; i < sizeof msg; i++)
        msg[i] = (uint8_t)(i * 7 + 3);
    uint8_t want[32], got[32];
    lpz_sha256(msg, sizeof msg, want);
    for (size_t step = 1; step < 130; step += 7) {
        lpz_sha256_ctx s;
        lpz_sha256_init(&s);
        for (size_t off = 0; off < sizeof msg; off += step)
            lpz_sha256_update(&s, msg + off, off + step > sizeof msg ? sizeof msg - off : step);
        lpz_sha256_final(&s, got);
        assert_memory_equal(got, want, 32);
    }
}

static void check_hmac(const void *key, size_t klen, const void *msg, size_t mlen, const char *want)
{
    uint8_t d[32];
    char h[65];
    lpz_hmac_sha256(key, klen, msg, mlen, d);
    hex(d, 32, h);
    assert_memory_equal(h, want, strlen(want)); /* case 5 is truncated to 128 bits */
}

static void hmac_matches_rfc4231_vectors(void **state)
{
    (void)state;
    uint8_t k[131];
    uint8_t data[50];
    memset(k, 0x0b, 20);
    check_hmac(k, 20, "Hi There", 8, "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
    check_hmac("Jefe", 4, "what do ya want for nothing?", 28,
               "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
    memset(k, 0xaa, 20);
    memset(data, 0xdd, 50);
    check_hmac(k, 20, data, 50, "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe");
    for (int i = 0; i < 25; i++)
        k[i] = (uint8_t)(i + 1);
    memset(data, 0xcd, 50);
    check_hmac(k, 25, data, 50, "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b");
    memset(k, 0x0c, 20);
    check_hmac(k, 20, "Test With Truncation", 20, "a3b6167473100ee06e0c796c2955552b");
    memset(k, 0xaa, 131);
    const char *m6 = "Test Using Larger Than Block-Size Key - Hash Key First";
    check_hmac(k, 131, m6, strlen(m6), "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54");
    const char *m7 = "This is a test using a larger than block-size key and a larger than block-size data. The key "
                     "needs to be hashed before being used by the HMAC algorithm.";
    check_hmac(k, 131, m7, strlen(m7), "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2");
}

static void hmac_prepared_key_gives_the_same_tag_twice(void **state)
{
    (void)state;
    lpz_hmac_key key;
    lpz_hmac_key_init(&key, "Jefe", 4);
    uint8_t a[32], b[32], want[32];
    lpz_hmac_sha256("Jefe", 4, "what do ya want for nothing?", 28, want);
    for (int round = 0; round < 2; round++) {
        lpz_sha256_ctx s;
        lpz_hmac_start(&key, &s);
        lpz_sha256_update(&s, "what do ya ", 11);
        lpz_sha256_update(&s, "want for nothing?", 17);
        lpz_hmac_finish(&key, &s, round ? b : a);
    }
    assert_memory_equal(a, want, 32);
    assert_memory_equal(b, want, 32);
}

static void ct_equal_detects_any_differing_byte(void **state)
{
    (void)state;
    uint8_t x[32], y[32];
    for (int i = 0; i < 32; i++)
        x[i] = y[i] = (uint8_t)i;
    assert_true(lpz_ct_equal(x, y, 32));
    for (int i = 0; i < 32; i++) {
        y[i] ^= 0x80;
        assert_false(lpz_ct_equal(x, y, 32));
        y[i] ^= 0x80;
    }
}

/* The SHA-NI digest of every message length from 0 to 1,100 bytes (all
 * paddings, 0 to 17 blocks), and of 3 MB, equals the portable one. */
static void accelerated_and_portable_agree(void **state)
{
    (void)state;
    if (!lpz_sha256_accelerated(1))
        skip(); /* this CPU has no SHA extensions: only the portable path exists */
    size_t big = 3u << 20;
    uint8_t *msg = malloc(big);
    assert_non_null(msg);
    uint32_t x = 12345;
    for (size_t i = 0; i < big; i++) {
        x = x * 1103515245u + 12345u;
        msg[i] = (uint8_t)(x >> 24);
    }
    uint8_t fast[32], slow[32];
    for (size_t len = 0; len <= 1100; len++) {
        lpz_sha256_accelerated(1);
        lpz_sha256(msg, len, fast);
        lpz_sha256_accelerated(0);
        lpz_sha256(msg, len, slow);
        assert_memory_equal(fast, slow, 32);
    }
    lpz_sha256_accelerated(1);
    lpz_hmac_sha256("key", 3, msg, big, fast);
    lpz_sha256_accelerated(0);
    lpz_hmac_sha256("key", 3, msg, big, slow);
    assert_memory_equal(fast, slow, 32);
    lpz_sha256_accelerated(1);
    free(msg);
}

static int portable(void **state)
{
    (void)state;
    lpz_sha256_accelerated(0);
    return 0;
}

static int automatic(void **state)
{
    (void)state;
    lpz_sha256_accelerated(1);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(sha256_matches_fips_vectors),
        cmocka_unit_test(sha256_streaming_equals_one_shot_for_any_split),
        cmocka_unit_test(hmac_matches_rfc4231_vectors),
        cmocka_unit_test(hmac_prepared_key_gives_the_same_tag_twice),
        cmocka_unit_test(ct_equal_detects_any_differing_byte),
    };
    const struct CMUnitTest both[] = {
        cmocka_unit_test(accelerated_and_portable_agree),
    };
    printf("SHA extensions: %s\n", lpz_sha256_accelerated(1) ? "in use" : "not on this CPU (portable C only)");
    int failed = cmocka_run_group_tests_name("automatic", tests, automatic, NULL);
    failed += cmocka_run_group_tests_name("portable", tests, portable, automatic);
    failed += cmocka_run_group_tests_name("both", both, NULL, NULL);
    return failed;
}
