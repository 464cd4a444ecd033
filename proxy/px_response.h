/*
 * Response writing: the HTTP/1.1 status line and headers DynamoDB sends (Date, Content-Type,
 * Content-Length, x-amzn-RequestId, x-amz-crc32), request ids, and the CRC32 SDKs verify.
 * px_response_head formats into a caller's buffer (pure, testable); px_response_write appends
 * head and body to a libevent output buffer in as few operations as possible.
 */
#ifndef PX_RESPONSE_H
#define PX_RESPONSE_H

#include <stddef.h>
#include <stdint.h>

#define PX_REQUEST_ID_LEN    52
#define PX_RESPONSE_HEAD_MAX 1024 /* enough for every head px_response_head writes */

#define PX_CT_AMZ_JSON "application/x-amz-json-1.0"
#define PX_CT_JSON     "application/json"

struct px_response_meta {
    int status;               /* 200, 400, ... */
    const char *content_type; /* NULL: no Content-Type header */
    const char *request_id;   /* PX_REQUEST_ID_LEN characters; NULL: no x-amzn-RequestId */
    int keep_alive;           /* 0: "Connection: close" */
    int cors;                 /* the request had an Origin: Access-Control-Allow-Origin: * */
    int chunked_empty;        /* "Transfer-Encoding: chunked" with an empty body (DynamoDB's 413) */
    const char *extra;        /* further header lines, each ending in "\r\n"; NULL: none */
    int head_only;            /* answer to HEAD: headers describe the body, which is not sent */
};

/* CRC32 (zlib's, as in x-amz-crc32) of data. */
uint32_t px_crc32(const void *data, size_t len);

/* Writes a fresh request id: PX_REQUEST_ID_LEN characters of [0-9A-Z] and a NUL. Thread-safe
 * (a per-thread generator seeded from the kernel). */
void px_request_id_new(char out[PX_REQUEST_ID_LEN + 1]);

/* "OK", "Bad Request", ...; static storage. */
const char *px_status_reason(int status);

/* The current time as an IMF-fixdate ("Wed, 25 Nov 2026 09:30:00 GMT"); per-thread buffer
 * formatted once per second, valid until this thread's next call. */
const char *px_http_date(void);

/*
 * Formats the response head for a body of len bytes into buf (cap >= PX_RESPONSE_HEAD_MAX is
 * always enough when extra is short) and returns its length, or 0 when it does not fit.
 */
size_t px_response_head(char *buf, size_t cap, const struct px_response_meta *m, const void *body,
                        size_t len);

struct evbuffer;
/*
 * Appends head and body to out. When free_body is non-NULL, the body is handed over without a
 * copy (large bodies) and free_body(free_arg) runs once libevent has sent it; the body must
 * stay valid until then. Returns DX_OK or DX_ESYS.
 */
int px_response_write(struct evbuffer *out, const struct px_response_meta *m, const void *body,
                      size_t len, void (*free_body)(void *), void *free_arg);

#endif
