/* core/transport/tls_nng.h - internal to core/transport: listen and dial
 * through the process-wide TLS setting of tls.h. Return nng error codes. */
#ifndef LPZ_TRANSPORT_TLS_NNG_H
#define LPZ_TRANSPORT_TLS_NNG_H

#include <nng/nng.h>

/* nng_listen(s, url, l, 0), over tls+tcp:// when TLS is on and url is
 * tcp://. l may be NULL. */
int lpz_tls_listen(nng_socket s, const char *url, nng_listener *l);
/* nng_dial(s, url, d, flags), likewise. d may be NULL. */
int lpz_tls_dial(nng_socket s, const char *url, nng_dialer *d, int flags);

#endif
