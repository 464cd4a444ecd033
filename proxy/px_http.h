/*
 * HTTP/1.1 request framing: pure functions over a byte buffer, no socket.
 *
 * px_http_parse_head finds the end of a request head (request line and header fields), checks
 * it strictly and extracts only what the front needs: method, target, Content-Length,
 * Transfer-Encoding, keep-alive, Expect, and the few headers DynamoDB's protocol uses. Nothing
 * is copied: every string in struct px_http_req points into the caller's buffer and is valid
 * as long as those bytes are. Other headers are reached later (SigV4 needs every signed one)
 * with px_http_header_next over the raw head. "Need more bytes" is a return value, not an
 * error; a malformed head gives the HTTP status to answer with before closing.
 */
#ifndef PX_HTTP_H
#define PX_HTTP_H

#include <stddef.h>
#include <stdint.h>

#define PX_HTTP_MAX_HEADER_BYTES (64u * 1024u)
#define PX_HTTP_MAX_BODY_BYTES   (16u * 1024u * 1024u) /* DynamoDB answers 413 above 16 MiB */

enum px_http_result {
    PX_HTTP_DONE = 0,   /* a complete head was parsed */
    PX_HTTP_AGAIN = 1,  /* need more bytes */
    PX_HTTP_ERROR = -1, /* malformed or over a limit: answer req->error_status and close */
};

/* A string inside the parsed buffer; not NUL-terminated. len 0 (p may be NULL): absent. */
struct px_str {
    const char *p;
    size_t len;
};

struct px_http_limits {
    size_t max_header_bytes; /* request line + headers + blank line; over it: 431 */
    uint64_t max_body_bytes; /* over it: 413 */
};

struct px_http_req {
    /* Resumption state: set scanned = 0 (px_http_req_reset) before the first call on a new
     * request; the parser remembers how far it has looked for the end of the head, so a head
     * that arrives one byte at a time costs linear time, not quadratic. */
    size_t scanned;

    struct px_str method; /* "POST" */
    struct px_str target; /* request-target as sent: "/", "/?X-Amz-Algorithm=..." */
    struct px_str path;   /* target up to '?' */
    struct px_str query;  /* after '?', without it; absent when there is no '?' */
    int version_minor;    /* HTTP/1.<minor>: 0 or 1 */

    struct px_str content_type;
    struct px_str amz_target;    /* X-Amz-Target */
    struct px_str authorization; /* raw value, parsed by the auth code */
    struct px_str amz_date;      /* X-Amz-Date */
    struct px_str date;          /* Date */
    struct px_str host;
    struct px_str origin;
    struct px_str acr_headers; /* Access-Control-Request-Headers */
    struct px_str acr_method;  /* Access-Control-Request-Method */

    uint64_t content_length; /* body bytes (0 when neither Content-Length nor chunked) */
    unsigned has_content_length : 1;
    unsigned has_authorization : 1; /* an Authorization header was present (even if empty) */
    unsigned has_content_type : 1;
    unsigned chunked : 1;         /* Transfer-Encoding: chunked; content_length is 0 */
    unsigned keep_alive : 1;      /* the connection may stay open after the response */
    unsigned expect_continue : 1; /* Expect: 100-continue */

    const char *head;  /* start of the head (after any leading empty lines) */
    size_t head_start; /* offset of head in the buffer */
    size_t header_len; /* bytes from the buffer start through the blank line */
    int error_status;  /* with PX_HTTP_ERROR: 400, 413, 417, 431, 501 or 505 */
    const char *error; /* with PX_HTTP_ERROR: a short reason for logs; static */
};

/* The defaults: 64 KiB head, 16 MiB body. */
void px_http_limits_default(struct px_http_limits *lim);

/* Prepares req for a new request (clears everything, including the resumption state). */
void px_http_req_reset(struct px_http_req *req);

/*
 * Parses the request head at the start of buf[0..len). On PX_HTTP_DONE the body starts at
 * buf + req->header_len and is req->content_length bytes long (or chunked). Call again with
 * the same req and a longer buffer (same start) after PX_HTTP_AGAIN. A body over the limit is
 * reported as PX_HTTP_ERROR with error_status 413 and content_length set, so the caller can
 * discard the body before closing. Borrowed: buf must outlive the strings in req.
 */
enum px_http_result px_http_parse_head(const char *buf, size_t len,
                                       const struct px_http_limits *lim, struct px_http_req *req);

/*
 * Iterates over the header fields of a head that px_http_parse_head accepted. *pos starts at
 * 0; returns 1 with name and value (trimmed) set, 0 after the last field.
 */
int px_http_header_next(const struct px_http_req *req, size_t *pos, struct px_str *name,
                        struct px_str *value);

/* Case-insensitive comparison of s with the NUL-terminated lit. */
int px_str_ieq(struct px_str s, const char *lit);
int px_str_eq(struct px_str s, const char *lit);

/*
 * Chunked transfer coding. Scans buf[0..len), the bytes after the head, resuming from *state
 * (start with a zeroed struct). On PX_HTTP_DONE, *consumed is the length of the whole chunked
 * body including the trailer, and the decoded body is px_http_chunked_decode's output. A
 * decoded size over max_body gives PX_HTTP_ERROR with error_status 413; malformed input 400.
 */
struct px_http_chunked {
    size_t pos;       /* offset of the next chunk-size line */
    uint64_t decoded; /* data bytes so far */
    int error_status;
};
enum px_http_result px_http_chunked_scan(const char *buf, size_t len, uint64_t max_body,
                                         struct px_http_chunked *state, size_t *consumed);
/* Decodes a chunked body that px_http_chunked_scan accepted, in place: the data moves to
 * buf[0..*out_len). */
void px_http_chunked_decode(char *buf, size_t consumed, size_t *out_len);

#endif
