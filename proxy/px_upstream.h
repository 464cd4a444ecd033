/*
 * The remote upstream client: an implementation of the DynamoDB API interface (dx_api.h) that
 * forwards every call over HTTP/1.1 to another DynamoDB-compatible endpoint (`ddax proxy
 * --upstream URL`), http or https. Two signing modes:
 *
 * Re-signing (options.resign): every request is signed with the proxy's own credentials
 * (SigV4, service "dynamodb", the configured region). The upstream request carries exactly
 * Host (the upstream's host:port), X-Amz-Date (now), X-Amz-Target, Content-Type,
 * X-Amz-Security-Token (when a session token is set) and an Authorization over all of those and
 * the body; none of the client's headers go along. Requests the cache rebuilt are signed the
 * same way.
 *
 * Pass-through signing (the default): when the call carries the client's request head
 * (dx_call.head), every end-to-end header of the client is forwarded unchanged — Authorization,
 * X-Amz-Date, X-Amz-Security-Token, X-Amz-Target, Content-Type, and the client's Host header too,
 * so the upstream can verify the client's own SigV4 signature (a signature only verifies with the
 * Host it was made for). Hop-by-hop headers (Connection, Transfer-Encoding, Expect, ...) and
 * Accept-Encoding are dropped and Content-Length is recomputed. Calls without a head (requests
 * the cache rebuilt) are sent with our own X-Amz-Target, Content-Type and Host.
 *
 * Each worker thread keeps its own pool of keep-alive connections on its own event_base (the
 * one px_worker_current_base names, or the one set with px_upstream_use_base). Calls must be
 * made on a thread running such a loop; done runs later on that same thread. Upstream answers,
 * errors included, are passed on as sent (status and body); when the upstream cannot be reached
 * or does not answer in time, the reply is DynamoDB's 503 ServiceUnavailableException
 * (connection refused / failed) or 500 InternalServerError (timeout, broken answer), and the
 * reason is logged once per failure.
 *
 * https: TLS 1.2 or newer, the upstream's certificate is always verified (against the system's
 * CA store, or only against options.ca_file) and must name the URL's host (or IP address);
 * SNI carries the host name. Keep-alive connections are reused as over http. A failed handshake
 * or a rejected certificate is a 503 ServiceUnavailableException with the reason logged. The
 * Host we send has no port when it is 443 (as AWS expects it).
 */
#ifndef PX_UPSTREAM_H
#define PX_UPSTREAM_H

#include <stddef.h>
#include <stdint.h>
#include "dx_api.h"

struct event_base;
struct px_upstream;

struct px_upstream_options {
    const char *url;    /* "http://HOST[:PORT][/]" or "https://HOST[:PORT][/]" */
    int timeout_ms;     /* connect and whole-request timeout; 0 = 10000 */
    int max_idle_conns; /* idle keep-alive connections kept per worker; 0 = 64 */
    /* Re-signing: with resign set, access_key, secret_key and region are required and
     * session_token is optional (NULL or ""). The strings are copied; the secret is never
     * logged and is wiped at px_upstream_free. */
    int resign;
    const char *access_key;
    const char *secret_key;
    const char *session_token;
    const char *region;
    /* https only: a PEM file of the CAs to trust instead of the system's (NULL: system). */
    const char *ca_file;
};

/* Parses an upstream URL (http:// or https://; the default port is 80 or 443). host
 * (NUL-terminated) gets at most hostcap bytes; IPv6 literals are written without brackets.
 * Returns DX_OK, or DX_EINVAL with a static reason in *why. */
int px_upstream_parse_url(const char *url, char *host, size_t hostcap, int *port, const char **why);

/* A new upstream client. Returns DX_OK, or DX_EINVAL (bad URL; reason logged). Free with
 * px_upstream_free once no call is in flight and the workers' loops have stopped. */
int px_upstream_new(const struct px_upstream_options *opts, struct px_upstream **out);
void px_upstream_free(struct px_upstream *u);

/* The dx_api view of u (valid until px_upstream_free). */
struct dx_api px_upstream_api(struct px_upstream *u);

/* Names the event_base of the calling thread for calls made outside a px_server worker
 * (tests, tools). NULL: back to the worker's. */
void px_upstream_use_base(struct event_base *base);

/*
 * Upstream failures, counted by kind for GET /metrics (ddax_upstream_failures_total): no answer
 * in time (timeout), no connection (connect: refused, unreachable, TLS handshake or certificate
 * rejected), an answer with a 5xx status (5xx), a connection lost or a malformed answer
 * (transport). Each failure is also logged once (a warning), at most PX_UPSTREAM_LOG_PER_SEC
 * lines a second; the lines left out are counted in one line logged with the next failure of a
 * later second. The counters are process-wide (one upstream per process in practice).
 */
enum px_upstream_failure {
    PX_UPFAIL_TIMEOUT,
    PX_UPFAIL_CONNECT,
    PX_UPFAIL_5XX,
    PX_UPFAIL_TRANSPORT,
    PX_UPFAIL__COUNT
};
#define PX_UPSTREAM_LOG_PER_SEC 10

/* "timeout", "connect", "5xx", "transport". */
const char *px_upstream_failure_name(enum px_upstream_failure kind);
/* Fills out with the counts since start; returns 0 (out zeroed) when no upstream client was
 * ever created in this process (serve, backend), 1 otherwise. Any thread. */
int px_upstream_failures(uint64_t out[PX_UPFAIL__COUNT]);
/* Counts one failure of kind and logs the line "upstream <what>" (rate-limited as above).
 * Used by the client itself; exposed for tests. */
void px_upstream_failure_note(enum px_upstream_failure kind, const char *what);

/* HTTP/1.1 response framing: a pure function over a buffer. */
enum px_upresp_result { PX_UPRESP_DONE = 0, PX_UPRESP_AGAIN = 1, PX_UPRESP_ERROR = -1 };

struct px_upresp {
    int status;
    size_t header_len;       /* bytes of the head through the blank line */
    uint64_t content_length; /* with has_content_length */
    unsigned has_content_length : 1;
    unsigned chunked : 1;
    unsigned keep_alive : 1;  /* the connection may be reused after this response */
    unsigned until_close : 1; /* body runs until the upstream closes */
};

/*
 * Parses a response head at buf[0..len). Interim 1xx responses are skipped (header_len then
 * covers them too). On DONE, the body starts at buf + header_len: content_length bytes, or a
 * chunked body (px_http_chunked_scan), or (until_close) everything until EOF. A 204/304
 * response, or one to HEAD, has no body; this parser is for answers to POST, so only 204 and
 * 304 are special.
 */
enum px_upresp_result px_upresp_parse(const char *buf, size_t len, struct px_upresp *out);

#endif
