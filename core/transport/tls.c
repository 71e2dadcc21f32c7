/* core/transport/tls.c - see tls.h. nng 1.5 TLS (mbedTLS engine). */
#include "transport/tls.h"
#include "base/file.h"
#include "transport/tls_nng.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <nng/supplemental/tls/tls.h>

#define PEM_MAX ((long)1 << 20) /* certificate chains are kilobytes */
#define URL_MAX 512

/* The PEM texts, kept so each dialer gets its own client configuration
 * (the server name differs per dialer). Guarded by lock. */
static struct {
    pthread_mutex_t lock;
    char *cert, *key, *ca;
} tls = {PTHREAD_MUTEX_INITIALIZER, NULL, NULL, NULL};

static int read_pem(const char *what, const char *path, char **out, lpz_error *err)
{
    *out = NULL;
    if (!path || !path[0])
        return lpz_error_set(err, LPZ_EINVAL, "no %s file given for TLS", what);
    struct stat st;
    const char *kind;
    FILE *f = lpz_fopen_regular(path, &st, &kind); /* a FIFO is refused, not waited on */
    if (!f) {
        int e = errno;
        int rc = kind ? lpz_error_set(err, LPZ_EIO, "cannot open the TLS %s: not a regular file (%s)", what, kind)
                          : lpz_error_set(err, LPZ_EIO, "cannot open the TLS %s: %s", what, strerror(e));
        lpz_error_where(err, "%s", path);
        return rc;
    }
    char *buf = malloc((size_t)PEM_MAX + 1);
    size_t n = buf ? fread(buf, 1, (size_t)PEM_MAX + 1, f) : 0;
    int bad = buf && ferror(f);
    fclose(f);
    int rc = LPZ_OK;
    if (!buf)
        rc = lpz_error_set(err, LPZ_ENOMEM, "out of memory");
    else if (bad)
        rc = lpz_error_set(err, LPZ_EIO, "cannot read the TLS %s", what);
    else if (n > (size_t)PEM_MAX)
        rc = lpz_error_set(err, LPZ_EFORMAT, "the TLS %s is larger than %ld bytes", what, PEM_MAX);
    else {
        buf[n] = '\0';
        if (strlen(buf) != n || !strstr(buf, "-----BEGIN ")) {
            rc = lpz_error_set(err, LPZ_EFORMAT, "the TLS %s is not a PEM file", what);
            lpz_error_hint(err, "expected text starting with -----BEGIN ... (convert DER with openssl x509/pkey)");
        }
    }
    if (rc) {
        free(buf);
        lpz_error_where(err, "%s", path);
        return rc;
    }
    *out = buf;
    return LPZ_OK;
}

/* A configuration for one side from the PEM texts; nng codes. */
static int make_config(nng_tls_mode mode, const char *cert, const char *key, const char *ca, nng_tls_config **out)
{
    nng_tls_config *cfg;
    int rv = nng_tls_config_alloc(&cfg, mode);
    if (rv)
        return rv;
    /* Mutual authentication both ways: a peer without a certificate from
     * the CA is refused during the handshake. */
    rv = nng_tls_config_auth_mode(cfg, NNG_TLS_AUTH_MODE_REQUIRED);
    if (!rv)
        rv = nng_tls_config_ca_chain(cfg, ca, NULL);
    if (!rv)
        rv = nng_tls_config_own_cert(cfg, cert, key, NULL);
    if (rv) {
        nng_tls_config_free(cfg);
        return rv;
    }
    *out = cfg;
    return 0;
}

int lpz_transport_tls_configure(const char *cert_pem_file, const char *key_pem_file, const char *ca_pem_file,
                                lpz_error *err)
{
    char *cert = NULL, *key = NULL, *ca = NULL;
    int rc = read_pem("certificate", cert_pem_file, &cert, err);
    if (!rc)
        rc = read_pem("private key", key_pem_file, &key, err);
    if (!rc)
        rc = read_pem("CA certificate", ca_pem_file, &ca, err);
    /* Parse each file on its own first, so that an error names it. */
    nng_tls_config *probe = NULL;
    int rv = 0;
    if (!rc && (rv = nng_tls_config_alloc(&probe, NNG_TLS_MODE_SERVER)) != 0)
        rc = lpz_error_set(err, LPZ_ENOMEM, "cannot set up TLS: %s", nng_strerror(rv));
    if (!rc && (rv = nng_tls_config_ca_chain(probe, ca, NULL)) != 0) {
        rc = lpz_error_set(err, LPZ_EFORMAT, "the TLS CA certificate cannot be parsed: %s", nng_strerror(rv));
        lpz_error_where(err, "%s", ca_pem_file);
    }
    if (!rc && (rv = nng_tls_config_ca_chain(probe, cert, NULL)) != 0) {
        rc = lpz_error_set(err, LPZ_EFORMAT, "the TLS certificate cannot be parsed: %s", nng_strerror(rv));
        lpz_error_where(err, "%s", cert_pem_file);
    }
    if (probe)
        nng_tls_config_free(probe);
    for (int mode = 0; !rc && mode < 2; mode++) {
        nng_tls_config *cfg;
        rv = make_config(mode ? NNG_TLS_MODE_SERVER : NNG_TLS_MODE_CLIENT, cert, key, ca, &cfg);
        if (rv) {
            rc = lpz_error_set(err, LPZ_EFORMAT, "the TLS private key cannot be used: %s", nng_strerror(rv));
            lpz_error_where(err, "%s", key_pem_file);
            lpz_error_hint(err, "an unencrypted PEM key (PKCS#8 or traditional) matching %s", cert_pem_file);
        } else {
            nng_tls_config_free(cfg);
        }
    }
    if (rc) {
        free(cert), free(key), free(ca);
        return rc;
    }
    pthread_mutex_lock(&tls.lock);
    free(tls.cert), free(tls.key), free(tls.ca);
    tls.cert = cert, tls.key = key, tls.ca = ca;
    pthread_mutex_unlock(&tls.lock);
    return LPZ_OK;
}

void lpz_transport_tls_clear(void)
{
    pthread_mutex_lock(&tls.lock);
    free(tls.cert), free(tls.key), free(tls.ca);
    tls.cert = tls.key = tls.ca = NULL;
    pthread_mutex_unlock(&tls.lock);
}

bool lpz_transport_tls_enabled(void)
{
    pthread_mutex_lock(&tls.lock);
    bool on = tls.cert != NULL;
    pthread_mutex_unlock(&tls.lock);
    return on;
}

/* With TLS on and a tcp:// url: the tls+tcp:// form in buf, and a
 * configuration for mode (server_name: the URL's host for a dialer).
 * Returns 0 with *cfg NULL when the URL stays as it is. */
static int tls_for(const char *url, nng_tls_mode mode, char *buf, size_t size, nng_tls_config **cfg)
{
    *cfg = NULL;
    if (strncmp(url, "tcp://", 6) != 0)
        return 0;
    pthread_mutex_lock(&tls.lock);
    int rv = 0;
    if (tls.cert) {
        if ((size_t)snprintf(buf, size, "tls+%s", url) >= size)
            rv = NNG_EINVAL;
        else
            rv = make_config(mode, tls.cert, tls.key, tls.ca, cfg);
    }
    pthread_mutex_unlock(&tls.lock);
    if (rv || !*cfg || mode != NNG_TLS_MODE_CLIENT)
        return rv;
    /* The host between "://" and the port's colon, without IPv6 brackets. */
    const char *host = url + 6;
    const char *colon = strrchr(host, ':');
    size_t len = colon ? (size_t)(colon - host) : strlen(host);
    if (len >= 2 && host[0] == '[' && host[len - 1] == ']')
        host++, len -= 2;
    char name[URL_MAX];
    snprintf(name, sizeof name, "%.*s", (int)(len < sizeof name ? len : sizeof name - 1), host);
    rv = nng_tls_config_server_name(*cfg, name);
    if (rv) {
        nng_tls_config_free(*cfg);
        *cfg = NULL;
    }
    return rv;
}

int lpz_tls_listen(nng_socket s, const char *url, nng_listener *out)
{
    char tls_url[URL_MAX + 8];
    nng_tls_config *cfg;
    int rv = tls_for(url, NNG_TLS_MODE_SERVER, tls_url, sizeof tls_url, &cfg);
    if (rv)
        return rv;
    if (!cfg)
        return nng_listen(s, url, out, 0);
    nng_listener l;
    rv = nng_listener_create(&l, s, tls_url);
    if (!rv) {
        /* The listener holds its own reference to cfg. */
        rv = nng_listener_set_ptr(l, NNG_OPT_TLS_CONFIG, cfg);
        if (!rv)
            rv = nng_listener_start(l, 0);
        if (rv)
            nng_listener_close(l);
        else if (out)
            *out = l;
    }
    nng_tls_config_free(cfg);
    return rv;
}

int lpz_tls_dial(nng_socket s, const char *url, nng_dialer *out, int flags)
{
    char tls_url[URL_MAX + 8];
    nng_tls_config *cfg;
    int rv = tls_for(url, NNG_TLS_MODE_CLIENT, tls_url, sizeof tls_url, &cfg);
    if (rv)
        return rv;
    if (!cfg)
        return nng_dial(s, url, out, flags);
    nng_dialer d;
    rv = nng_dialer_create(&d, s, tls_url);
    if (!rv) {
        rv = nng_dialer_set_ptr(d, NNG_OPT_TLS_CONFIG, cfg);
        if (!rv)
            rv = nng_dialer_start(d, flags);
        if (rv)
            nng_dialer_close(d);
        else if (out)
            *out = d;
    }
    nng_tls_config_free(cfg);
    return rv;
}
