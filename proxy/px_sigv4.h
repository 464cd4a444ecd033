/*
 * AWS Signature Version 4 as a pure library: no sockets, no global state beyond a per-thread
 * signing-key cache. The signer builds the canonical request, string to sign, signature and
 * Authorization value for a request described by borrowed pointers; the verifier checks a
 * request's Authorization header (or presigned X-Amz-* query parameters) the way DynamoDB does
 * and reports a failure as the exact DynamoDB error in a struct dx_error.
 */
#ifndef PX_SIGV4_H
#define PX_SIGV4_H

#include <stddef.h>
#include <stdint.h>
#include "dx_buf.h"
#include "dx_error.h"

#define PX_SIGV4_ALGORITHM    "AWS4-HMAC-SHA256"
#define PX_SIGV4_SKEW_SECONDS (15 * 60)

/* One header as received: name and value by (pointer, length); names compare case-insensitively. */
struct px_sigv4_header {
    const char *name;
    size_t name_len;
    const char *value;
    size_t value_len;
};

/* A request by borrowed pointers. query is the raw query string without '?', possibly empty. */
struct px_sigv4_request {
    const char *method;
    size_t method_len;
    const char *path;
    size_t path_len;
    const char *query;
    size_t query_len;
    const struct px_sigv4_header *headers;
    size_t nheaders;
    const void *body;
    size_t body_len;
};

/*
 * What to sign with. Strings are NUL-terminated and borrowed. amz_date is the X-Amz-Date value
 * ("20150830T123600Z"); the caller puts the X-Amz-Date (and X-Amz-Security-Token, if it wants it
 * signed) header into the request itself. normalize_path removes dot segments and empty
 * segments (every service but S3). signed_headers, when not NULL, lists the lowercase header
 * names to sign (nsigned of them, any order); NULL signs every header of the request.
 */
struct px_sigv4_params {
    const char *access_key;
    const char *secret_key;
    const char *region;
    const char *service;
    const char *amz_date;
    int normalize_path;
    const char *const *signed_headers;
    size_t nsigned;
};

/* The signer's outputs: caller-owned buffers (dx_buf_init before, dx_buf_deinit after). */
struct px_sigv4_result {
    struct dx_buf canonical_request;
    struct dx_buf string_to_sign;
    struct dx_buf signature;      /* 64 lowercase hex digits */
    struct dx_buf authorization;  /* the Authorization header value */
    struct dx_buf signed_headers; /* "host;x-amz-date" */
};

void px_sigv4_result_init(struct px_sigv4_result *r);
void px_sigv4_result_deinit(struct px_sigv4_result *r);

/* Signs req. Returns DX_OK, or DX_EINVAL when the parameters are unusable (missing strings). */
int px_sigv4_sign(const struct px_sigv4_request *req, const struct px_sigv4_params *p,
                  struct px_sigv4_result *out);

/*
 * Presigned-URL form: the canonical query is the request's own parameters plus X-Amz-Algorithm,
 * -Credential, -Date, -SignedHeaders, -Expires and (when session_token is not NULL)
 * -Security-Token; the payload line is the hex SHA-256 of the body, as the test suite does.
 * out->authorization receives the whole query string to send after '?', X-Amz-Signature last.
 */
int px_sigv4_presign(const struct px_sigv4_request *req, const struct px_sigv4_params *p,
                     const char *session_token, long expires, struct px_sigv4_result *out);

/* The canonical request alone, for a given list of signed header names (lowercase). */
void px_sigv4_canonical_request(const struct px_sigv4_request *req, int normalize_path,
                                const char *const *signed_headers, size_t nsigned,
                                struct dx_buf *out);

/* Credential lookup: store the secret for the access key in *secret (NUL-terminated, must stay
 * valid until px_sigv4_verify returns) and return 1, or return 0 when the key is unknown. */
typedef int (*px_sigv4_lookup_fn)(void *ctx, const char *access_key, size_t len,
                                  const char **secret);

struct px_sigv4_verify_opts {
    const char *region;           /* our region, e.g. "us-east-1" */
    int allow_test_service;       /* accept scope service "service" (the AWS test suite) */
    int64_t now;                  /* Unix seconds */
    int normalize_path;           /* 1 for DynamoDB (any service but S3) */
    int allow_unsigned_token;     /* tolerate an X-Amz-Security-Token that is not signed */
    int require_dynamodb_headers; /* x-amz-target and content-type must be signed when present */
    px_sigv4_lookup_fn lookup;
    void *lookup_ctx;
};

/*
 * Verifies req (header or presigned-query authentication). Returns DX_OK, or DX_EREQ with err
 * set to the DynamoDB error (MissingAuthenticationToken, IncompleteSignature, InvalidSignature,
 * UnrecognizedClient) and its exact message.
 */
int px_sigv4_verify(const struct px_sigv4_request *req, const struct px_sigv4_verify_opts *o,
                    struct dx_error *err);

/* Parses "YYYYMMDDTHHMMSSZ" into Unix seconds; DX_OK or DX_EINVAL. */
int px_sigv4_parse_amz_date(const char *s, size_t n, int64_t *out);

#endif
