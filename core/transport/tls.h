/* core/transport/tls.h - process-wide TLS for every tcp:// socket of
 * core/transport (cell servers and neighbour clients in peer.c, the
 * master/client control channel in control.c).
 *
 * Once configured, a tcp://host:port URL is listened on or dialled as
 * nng's tls+tcp://host:port: a listener requires a client certificate that
 * chains to the CA (mutual authentication), a dialer verifies the server's
 * certificate against the same CA and its name against the URL's host.
 * inproc:// and ipc:// are unaffected. Callers keep using tcp:// URLs, so
 * URLs compare and travel between processes unchanged.
 *
 * Configure before opening sockets; sockets opened earlier stay plain.
 */
#ifndef LPZ_TRANSPORT_TLS_H
#define LPZ_TRANSPORT_TLS_H

#include <lpz/error.h>
#include <stdbool.h>

/* Reads and checks the three PEM files (this process's certificate, its
 * private key, the CA certificate(s) peers must chain to) once; errors name
 * the file. Replaces an earlier configuration. */
int lpz_transport_tls_configure(const char *cert_pem_file, const char *key_pem_file, const char *ca_pem_file,
                                lpz_error *err);
/* Back to plain tcp:// for sockets opened from now on. */
void lpz_transport_tls_clear(void);
bool lpz_transport_tls_enabled(void);

#endif
