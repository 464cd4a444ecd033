/*
 * px_http: request framing. Every case is fed whole and then one byte at a time (every strict
 * prefix of the head must say "need more bytes", and the full input must give the same result
 * as when fed whole); valid requests are also parsed pipelined after another request.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>
#include "px_http.h"

enum tri { UNCHECKED = 0, YES, NO };

struct hcase {
    const char *name;
    const char *raw;
    size_t rawlen; /* 0: strlen(raw) */
    int result;    /* PX_HTTP_DONE or PX_HTTP_ERROR */
    int status;    /* error_status for errors */
    /* expectations for DONE (NULL / -1: not checked) */
    const char *method, *path, *query, *amz_target, *content_type, *authorization, *host;
    const char *content_length; /* decimal */
    enum tri keep_alive, expect_continue, chunked;
    const char *version; /* "1.0" or "1.1" */
};

#define SDK_HEAD                                                                                   \
    "POST / HTTP/1.1\r\n"                                                                          \
    "Host: localhost:8000\r\n"                                                                     \
    "Accept-Encoding: identity\r\n"                                                                \
    "X-Amz-Target: DynamoDB_20120810.ListTables\r\n"                                               \
    "Content-Type: application/x-amz-json-1.0\r\n"                                                 \
    "User-Agent: Boto3/1.26.27 Python/3.11.2 Linux/6.1.0 Botocore/1.29.27\r\n"                     \
    "X-Amz-Date: 20261125T093000Z\r\n"                                                             \
    "Authorization: AWS4-HMAC-SHA256 Credential=x/20261125/us-east-1/dynamodb/aws4_request, "      \
    "SignedHeaders=content-type;host;x-amz-date;x-amz-target, Signature=abc\r\n"                   \
    "Content-Length: 2\r\n"                                                                        \
    "\r\n"

#define OK_(n, r)     .name = n, .raw = r, .result = PX_HTTP_DONE
#define ERR(n, r, st) .name = n, .raw = r, .result = PX_HTTP_ERROR, .status = st

static const struct hcase cases[] = {
    {OK_("minimal", "POST / HTTP/1.1\r\nContent-Length: 2\r\n\r\n{}"), .method = "POST",
     .path = "/", .content_length = "2", .keep_alive = YES, .version = "1.1", .chunked = NO},
    {OK_("sdk request", SDK_HEAD "{}"), .amz_target = "DynamoDB_20120810.ListTables",
     .content_type = "application/x-amz-json-1.0", .host = "localhost:8000",
     .authorization = "AWS4-HMAC-SHA256 Credential=x/20261125/us-east-1/dynamodb/aws4_request, "
                      "SignedHeaders=content-type;host;x-amz-date;x-amz-target, Signature=abc",
     .content_length = "2", .keep_alive = YES, .expect_continue = NO},
    {OK_("no body, no length", "GET / HTTP/1.1\r\nHost: a\r\n\r\n"), .method = "GET",
     .content_length = "0"},
    {OK_("http/1.0 closes", "POST / HTTP/1.0\r\nContent-Length: 0\r\n\r\n"), .keep_alive = NO,
     .version = "1.0"},
    {OK_("http/1.0 keep-alive", "POST / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n"),
     .keep_alive = YES},
    {OK_("connection close", "POST / HTTP/1.1\r\nConnection: close\r\n\r\n"), .keep_alive = NO},
    {OK_("connection list with close", "POST / HTTP/1.1\r\nConnection: foo,  CLOSE \r\n\r\n"),
     .keep_alive = NO},
    {OK_("connection closed-ish token", "POST / HTTP/1.1\r\nConnection: closed\r\n\r\n"),
     .keep_alive = YES},
    {OK_("expect 100-continue", "POST / HTTP/1.1\r\nExpect: 100-Continue\r\n"
                                "Content-Length: 5\r\n\r\nhello"),
     .expect_continue = YES, .content_length = "5"},
    {OK_("bare LF line ends", "POST / HTTP/1.1\nX-Amz-Target: T\nContent-Length: 1\n\nx"),
     .amz_target = "T", .content_length = "1"},
    {OK_("leading empty lines", "\r\n\r\nPOST /p HTTP/1.1\r\n\r\n"), .path = "/p"},
    {OK_("header names any case", "POST / HTTP/1.1\r\ncontent-LENGTH: 3\r\nx-amz-TARGET: a.b\r\n"
                                  "\r\nabc"),
     .content_length = "3", .amz_target = "a.b"},
    {OK_("value whitespace trimmed", "POST / HTTP/1.1\r\nContent-Type: \t application/json \t\r\n"
                                     "\r\n"),
     .content_type = "application/json"},
    {OK_("query split", "POST /?X-Amz-Algorithm=a&b HTTP/1.1\r\n\r\n"), .path = "/",
     .query = "X-Amz-Algorithm=a&b"},
    {OK_("equal duplicate Content-Length", "POST / HTTP/1.1\r\nContent-Length: 1\r\n"
                                           "Content-Length: 1\r\n\r\nx"),
     .content_length = "1"},
    {OK_("chunked", "POST / HTTP/1.1\r\nTransfer-Encoding: Chunked\r\n\r\n0\r\n\r\n"),
     .chunked = YES, .content_length = "0"},
    {OK_("empty header value", "POST / HTTP/1.1\r\nX-Empty:\r\nContent-Type:\r\n\r\n"),
     .content_type = ""},
    {OK_("obs-text allowed in values", "POST / HTTP/1.1\r\nUser-Agent: caf\xc3\xa9\r\n\r\n"),
     .method = "POST"},
    {OK_("first duplicate wins", "POST / HTTP/1.1\r\nX-Amz-Target: first\r\n"
                                 "X-Amz-Target: second\r\n\r\n"),
     .amz_target = "first"},
    {OK_("HTTP/1.9 as 1.1", "POST / HTTP/1.9\r\n\r\n"), .version = "1.1", .keep_alive = YES},
    {OK_("leading zeros in length", "POST / HTTP/1.1\r\nContent-Length: 007\r\n\r\n1234567"),
     .content_length = "7"},
    {OK_("body exactly at the limit", "POST / HTTP/1.1\r\nContent-Length: 16777216\r\n\r\n"),
     .content_length = "16777216"},

    {ERR("no spaces in request line", "GARBAGE\r\n\r\n", 400)},
    {ERR("empty method", " / HTTP/1.1\r\n\r\n", 400)},
    {ERR("double space", "POST  / HTTP/1.1\r\n\r\n", 400)},
    {ERR("space in target", "POST /a b HTTP/1.1\r\n\r\n", 400)},
    {ERR("trailing garbage after version", "POST / HTTP/1.1 x\r\n\r\n", 400)},
    {ERR("HTTP/0.9 style", "POST /\r\n\r\n", 400)},
    {ERR("bad protocol name", "POST / HTTX/1.1\r\n\r\n", 400)},
    {ERR("lowercase protocol", "POST / http/1.1\r\n\r\n", 400)},
    {ERR("HTTP/2.0", "POST / HTTP/2.0\r\n\r\n", 505)},
    {ERR("non-token method", "PO(ST / HTTP/1.1\r\n\r\n", 400)},
    {ERR("header without colon", "POST / HTTP/1.1\r\nHost x\r\n\r\n", 400)},
    {ERR("space before colon", "POST / HTTP/1.1\r\nHost : x\r\n\r\n", 400)},
    {ERR("empty header name", "POST / HTTP/1.1\r\n: x\r\n\r\n", 400)},
    {ERR("obsolete line folding", "POST / HTTP/1.1\r\nX-A: a\r\n b\r\n\r\n", 400)},
    {ERR("negative length", "POST / HTTP/1.1\r\nContent-Length: -1\r\n\r\n", 400)},
    {ERR("plus sign length", "POST / HTTP/1.1\r\nContent-Length: +1\r\n\r\n", 400)},
    {ERR("hex length", "POST / HTTP/1.1\r\nContent-Length: 0x10\r\n\r\n", 400)},
    {ERR("empty length", "POST / HTTP/1.1\r\nContent-Length: \r\n\r\n", 400)},
    {ERR("length list", "POST / HTTP/1.1\r\nContent-Length: 1, 1\r\n\r\n", 400)},
    {ERR("length with inner space", "POST / HTTP/1.1\r\nContent-Length: 1 2\r\n\r\n", 400)},
    {ERR("length overflowing 64 bits",
         "POST / HTTP/1.1\r\nContent-Length: 18446744073709551616\r\n\r\n", 400)},
    {ERR("length of 20 digits", "POST / HTTP/1.1\r\nContent-Length: 99999999999999999999\r\n\r\n",
         400)},
    {ERR("conflicting lengths", "POST / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
         400)},
    {ERR("length and chunked",
         "POST / HTTP/1.1\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n", 400)},
    {ERR("unknown transfer coding", "POST / HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n", 501)},
    {ERR("stacked transfer codings", "POST / HTTP/1.1\r\nTransfer-Encoding: gzip, chunked\r\n\r\n",
         501)},
    {ERR("body over the limit", "POST / HTTP/1.1\r\nContent-Length: 16777217\r\n\r\n", 413)},
    {ERR("unknown expectation", "POST / HTTP/1.1\r\nExpect: 200-ok\r\n\r\n", 417)},
    {ERR("CR injection in a value", "POST / HTTP/1.1\r\nX-A: a\rX-B: b\r\n\r\n", 400)},
    {ERR("CR before CRLF", "POST / HTTP/1.1\r\nX-A: a\r\r\n\r\n", 400)},
    {ERR("bare CR before the request", "\rPOST / HTTP/1.1\r\n\r\n", 400)},
    {ERR("control byte in a value", "POST / HTTP/1.1\r\nX-A: a\x01z\r\n\r\n", 400)},
    {ERR("DEL in a value", "POST / HTTP/1.1\r\nX-A: a\x7fz\r\n\r\n", 400)},
    /* The value check reads 8 bytes at a time: controls in later words and in the tail too. */
    {ERR("control byte in a long value", "POST / HTTP/1.1\r\nX-A: abcdefghijklmnop\x02q\r\n\r\n",
         400)},
    {ERR("DEL in a long value", "POST / HTTP/1.1\r\nX-A: abcdefghijklmno\x7fpqrstuvw\r\n\r\n",
         400)},
    {ERR("control byte last", "POST / HTTP/1.1\r\nX-A: abcdefghijk\x1f\r\n\r\n", 400)},
    {OK_("tabs and UTF-8 inside a long value", "POST / HTTP/1.1\r\nX-Amz-Target: a\tb\xc3\xa9"
                                               "cdefgh\x7e\x80\xff\tij\r\n\r\n"),
     .amz_target = "a\tb\xc3\xa9"
                   "cdefgh\x7e\x80\xff\tij"},
    {ERR("CR in the request line", "POST /\r HTTP/1.1\r\n\r\n", 400)},
    {.name = "NUL in a value",
     .raw = "POST / HTTP/1.1\r\nX-A: a\0b\r\n\r\n",
     .rawlen = 29,
     .result = PX_HTTP_ERROR,
     .status = 400},
    {.name = "NUL in a name",
     .raw = "POST / HTTP/1.1\r\nX\0A: ab\r\n\r\n",
     .rawlen = 29,
     .result = PX_HTTP_ERROR,
     .status = 400},
    {.name = "NUL in the target",
     .raw = "POST /\0 HTTP/1.1\r\n\r\n",
     .rawlen = 21,
     .result = PX_HTTP_ERROR,
     .status = 400},
};

static size_t case_len(const struct hcase *c)
{
    return c->rawlen ? c->rawlen : strlen(c->raw);
}

static void check_str(const char *what, const char *want, struct px_str got)
{
    if (!want)
        return;
    if (got.len != strlen(want) || (got.len && memcmp(got.p, want, got.len) != 0))
        fail_msg("%s: want '%s', got '%.*s'", what, want, (int)got.len, got.p ? got.p : "");
}

static void check_done(const struct hcase *c, const struct px_http_req *r)
{
    check_str("method", c->method, r->method);
    check_str("path", c->path, r->path);
    check_str("query", c->query, r->query);
    check_str("x-amz-target", c->amz_target, r->amz_target);
    check_str("content-type", c->content_type, r->content_type);
    check_str("authorization", c->authorization, r->authorization);
    check_str("host", c->host, r->host);
    if (c->content_length)
        assert_int_equal(r->content_length, strtoull(c->content_length, NULL, 10));
    if (c->keep_alive)
        assert_int_equal(r->keep_alive, c->keep_alive == YES);
    if (c->expect_continue)
        assert_int_equal(r->expect_continue, c->expect_continue == YES);
    if (c->chunked)
        assert_int_equal(r->chunked, c->chunked == YES);
    if (c->version)
        assert_int_equal(r->version_minor, c->version[2] - '0');
}

/* The position of the head's end in the raw case text (where the parser must finish). */
static size_t head_end(const char *raw, size_t len)
{
    size_t s = 0;
    while (s < len && (raw[s] == '\r' || raw[s] == '\n'))
        s++; /* empty lines before the request line */
    for (size_t i = s; i + 1 < len; i++) {
        if (raw[i] == '\n' && raw[i + 1] == '\n')
            return i + 2;
        if (i + 2 < len && raw[i] == '\n' && raw[i + 1] == '\r' && raw[i + 2] == '\n')
            return i + 3;
    }
    return len;
}

static void run_case(const struct hcase *c, const char *buf, size_t len)
{
    struct px_http_limits lim;
    px_http_limits_default(&lim);
    struct px_http_req r;
    px_http_req_reset(&r);
    int rc = px_http_parse_head(buf, len, &lim, &r);
    if (rc != c->result)
        fail_msg("%s: result %d, want %d (%s)", c->name, rc, c->result, r.error ? r.error : "");
    if (rc == PX_HTTP_ERROR) {
        if (r.error_status != c->status)
            fail_msg("%s: status %d, want %d", c->name, r.error_status, c->status);
        return;
    }
    assert_int_equal(r.header_len, head_end(buf, len));
    check_done(c, &r);
}

static void test_whole(void **state)
{
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const struct hcase *c = &cases[i];
        run_case(c, c->raw, case_len(c));
    }
}

/* One byte at a time, in a fresh heap copy each step so ASan catches any read past len. */
static void test_bytewise(void **state)
{
    struct px_http_limits lim;
    px_http_limits_default(&lim);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const struct hcase *c = &cases[i];
        size_t len = case_len(c), end = head_end(c->raw, len);
        struct px_http_req r;
        px_http_req_reset(&r);
        int rc = PX_HTTP_AGAIN;
        size_t k;
        for (k = 1; k <= len; k++) {
            char *b = malloc(k);
            memcpy(b, c->raw, k);
            rc = px_http_parse_head(b, k, &lim, &r);
            if (rc != PX_HTTP_AGAIN) {
                if (rc == PX_HTTP_DONE) {
                    assert_int_equal(r.header_len, end);
                    /* pointers into b: re-run on the stable original to check fields */
                }
                free(b);
                break;
            }
            free(b);
        }
        if (rc != c->result)
            fail_msg("%s (bytewise): result %d, want %d", c->name, rc, c->result);
        if (c->result == PX_HTTP_DONE)
            assert_int_equal(k, end); /* done exactly when the blank line is complete */
        if (rc == PX_HTTP_ERROR)
            assert_int_equal(r.error_status, c->status);
    }
}

/* Each valid request behind another one on the same buffer. */
static void test_pipelined(void **state)
{
    static const char first[] = "POST / HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc";
    struct px_http_limits lim;
    px_http_limits_default(&lim);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const struct hcase *c = &cases[i];
        if (c->result != PX_HTTP_DONE)
            continue;
        size_t len = case_len(c), n1 = sizeof(first) - 1;
        char *b = malloc(n1 + len);
        memcpy(b, first, n1);
        memcpy(b + n1, c->raw, len);
        struct px_http_req r;
        px_http_req_reset(&r);
        assert_int_equal(px_http_parse_head(b, n1 + len, &lim, &r), PX_HTTP_DONE);
        assert_int_equal(r.content_length, 3);
        size_t next = r.header_len + (size_t)r.content_length;
        assert_int_equal(next, n1);
        run_case(c, b + next, len);
        free(b);
    }
}

static void test_header_too_large(void **state)
{
    struct px_http_limits lim;
    px_http_limits_default(&lim);
    size_t n = 70 * 1024;
    char *b = malloc(n + 64);
    strcpy(b, "POST / HTTP/1.1\r\nX-Big: ");
    size_t p = strlen(b);
    memset(b + p, 'a', n - p);
    struct px_http_req r;
    /* No end in sight past the limit: 431 without waiting for more. */
    px_http_req_reset(&r);
    assert_int_equal(px_http_parse_head(b, n, &lim, &r), PX_HTTP_ERROR);
    assert_int_equal(r.error_status, 431);
    /* Just under the limit without an end: still waiting. */
    px_http_req_reset(&r);
    assert_int_equal(px_http_parse_head(b, lim.max_header_bytes, &lim, &r), PX_HTTP_AGAIN);
    /* A complete head over the limit. */
    memcpy(b + n, "\r\n\r\n", 4);
    px_http_req_reset(&r);
    assert_int_equal(px_http_parse_head(b, n + 4, &lim, &r), PX_HTTP_ERROR);
    assert_int_equal(r.error_status, 431);
    /* A complete head exactly at the limit is fine. */
    size_t at = lim.max_header_bytes;
    memcpy(b + at - 4, "\r\n\r\n", 4);
    px_http_req_reset(&r);
    assert_int_equal(px_http_parse_head(b, at, &lim, &r), PX_HTTP_DONE);
    assert_int_equal(r.header_len, at);
    /* A smaller configured limit. */
    lim.max_header_bytes = 100;
    px_http_req_reset(&r);
    assert_int_equal(px_http_parse_head(b, 200, &lim, &r), PX_HTTP_ERROR);
    assert_int_equal(r.error_status, 431);
    free(b);
}

static void test_body_limit_configurable(void **state)
{
    struct px_http_limits lim;
    px_http_limits_default(&lim);
    lim.max_body_bytes = 10;
    struct px_http_req r;
    const char *ok = "POST / HTTP/1.1\r\nContent-Length: 10\r\n\r\n";
    const char *big = "POST / HTTP/1.1\r\nContent-Length: 11\r\n\r\n";
    px_http_req_reset(&r);
    assert_int_equal(px_http_parse_head(ok, strlen(ok), &lim, &r), PX_HTTP_DONE);
    px_http_req_reset(&r);
    assert_int_equal(px_http_parse_head(big, strlen(big), &lim, &r), PX_HTTP_ERROR);
    assert_int_equal(r.error_status, 413);
    /* The caller learns how much to discard. */
    assert_int_equal(r.content_length, 11);
    assert_int_equal(r.header_len, strlen(big));
}

static void test_header_iteration(void **state)
{
    static const char raw[] = SDK_HEAD;
    struct px_http_limits lim;
    px_http_limits_default(&lim);
    struct px_http_req r;
    px_http_req_reset(&r);
    assert_int_equal(px_http_parse_head(raw, sizeof(raw) - 1, &lim, &r), PX_HTTP_DONE);
    size_t pos = 0;
    struct px_str name, value;
    int n = 0, saw_date = 0;
    while (px_http_header_next(&r, &pos, &name, &value)) {
        n++;
        if (px_str_ieq(name, "x-amz-date")) {
            saw_date = 1;
            assert_true(px_str_eq(value, "20261125T093000Z"));
        }
    }
    assert_int_equal(n, 8);
    assert_true(saw_date);
    assert_false(px_http_header_next(&r, &pos, &name, &value));
}

struct ccase {
    const char *name;
    const char *raw;
    int result;
    int status;
    const char *decoded;
    const char *rest; /* what follows the chunked body */
};

#define FIFTY "01234567890123456789012345678901234567890123456789"

static const struct ccase chunk_cases[] = {
    {"one chunk", "5\r\nhello\r\n0\r\n\r\n", PX_HTTP_DONE, 0, "hello", ""},
    {"two chunks, hex sizes", "3\r\nabc\r\nA\r\n0123456789\r\n0\r\n\r\nNEXT", PX_HTTP_DONE, 0,
     "abc0123456789", "NEXT"},
    {"extensions and trailer", "2;ext=1\r\n{}\r\n0;x\r\nX-Trailer: 1\r\n\r\n", PX_HTTP_DONE, 0,
     "{}", ""},
    {"bare LF", "2\n{}\n0\n\n", PX_HTTP_DONE, 0, "{}", ""},
    {"empty body", "0\r\n\r\n", PX_HTTP_DONE, 0, "", ""},
    {"not hex", "zz\r\nab\r\n0\r\n\r\n", PX_HTTP_ERROR, 400, NULL, NULL},
    {"size overflow", "11111111111111111\r\n", PX_HTTP_ERROR, 400, NULL, NULL},
    {"missing CRLF after data", "2\r\nabc\r\n0\r\n\r\n", PX_HTTP_ERROR, 400, NULL, NULL},
    {"negative size", "-1\r\n", PX_HTTP_ERROR, 400, NULL, NULL},
    {"chunk over the limit", "65\r\n", PX_HTTP_ERROR, 413, NULL, NULL},
    {"sum over the limit", "32\r\n" FIFTY "\r\n33\r\n" FIFTY "x\r\n0\r\n\r\n", PX_HTTP_ERROR, 413,
     NULL, NULL},
};

static void test_chunked(void **state)
{
    for (size_t i = 0; i < sizeof(chunk_cases) / sizeof(chunk_cases[0]); i++) {
        const struct ccase *c = &chunk_cases[i];
        size_t len = strlen(c->raw);
        /* Whole, then growing one byte at a time with resumed state. */
        for (int mode = 0; mode < 2; mode++) {
            struct px_http_chunked st = {0};
            size_t consumed = 0;
            int rc = PX_HTTP_AGAIN;
            for (size_t k = mode ? 1 : len; k <= len; k++) {
                char *b = malloc(k);
                memcpy(b, c->raw, k);
                rc = px_http_chunked_scan(b, k, 100, &st, &consumed);
                free(b);
                if (rc != PX_HTTP_AGAIN)
                    break;
            }
            if (rc != c->result)
                fail_msg("%s (mode %d): result %d, want %d", c->name, mode, rc, c->result);
            if (rc == PX_HTTP_ERROR) {
                assert_int_equal(st.error_status, c->status);
                continue;
            }
            assert_int_equal(consumed, len - strlen(c->rest));
            char *b = strdup(c->raw);
            size_t out;
            px_http_chunked_decode(b, consumed, &out);
            assert_int_equal(out, strlen(c->decoded));
            assert_memory_equal(b, c->decoded, out);
            free(b);
        }
    }
}

/*
 * Random mutations of valid requests (bytes replaced with CR, LF, NUL, ':', ' ', digits or
 * random bytes; cuts; duplications): never a crash or a read past the input (run under ASan),
 * and the same verdict whether the input arrives whole or one byte at a time. The seed comes
 * from DDAX_SEED when set and is printed.
 */
static void test_random_mutations(void **state)
{
    unsigned seed = getenv("DDAX_SEED") ? (unsigned)strtoul(getenv("DDAX_SEED"), NULL, 10)
                                        : (unsigned)time(NULL);
    printf("test_random_mutations: DDAX_SEED=%u\n", seed);
    srand(seed);
    static const char special[] = "\r\n\0: \t0123456789-,;";
    struct px_http_limits lim;
    px_http_limits_default(&lim);
    lim.max_header_bytes = 512;
    for (int iter = 0; iter < 3000; iter++) {
        const struct hcase *base = &cases[rand() % (int)(sizeof(cases) / sizeof(cases[0]))];
        size_t len = case_len(base);
        char buf[1024];
        memcpy(buf, base->raw, len);
        int muts = 1 + rand() % 4;
        for (int m = 0; m < muts; m++) {
            size_t at = len ? (size_t)rand() % len : 0;
            switch (rand() % 4) {
            case 0:
                buf[at] = special[rand() % (int)(sizeof(special) - 1)];
                break;
            case 1:
                buf[at] = (char)(rand() & 0xff);
                break;
            case 2: /* cut */
                len = at;
                break;
            default: /* duplicate a run */
                if (len + 64 < sizeof(buf)) {
                    size_t n = (size_t)rand() % 64;
                    if (at + n > len)
                        n = len - at;
                    memmove(buf + at + n, buf + at, len - at);
                    len += n;
                }
                break;
            }
        }
        char *whole = malloc(len ? len : 1);
        memcpy(whole, buf, len);
        struct px_http_req a, b;
        px_http_req_reset(&a);
        int ra = px_http_parse_head(whole, len, &lim, &a);
        px_http_req_reset(&b);
        int rb = PX_HTTP_AGAIN;
        for (size_t k = 1; k <= len && rb == PX_HTTP_AGAIN; k++) {
            char *p = malloc(k);
            memcpy(p, buf, k);
            rb = px_http_parse_head(p, k, &lim, &b);
            free(p);
        }
        if (ra == PX_HTTP_ERROR && a.error_status == 431) {
            /* bytewise may stop at 431 as soon as the limit passes; same verdict */
            assert_int_equal(rb, PX_HTTP_ERROR);
            assert_int_equal(b.error_status, 431);
        } else if (ra == PX_HTTP_DONE) {
            /* bytewise stops at the head's end; a whole-buffer DONE must agree */
            assert_int_equal(rb, PX_HTTP_DONE);
            assert_int_equal(a.header_len, b.header_len);
            assert_int_equal(a.content_length, b.content_length);
        } else {
            assert_int_equal(ra, rb);
            if (ra == PX_HTTP_ERROR)
                assert_int_equal(a.error_status, b.error_status);
        }
        if (ra == PX_HTTP_DONE) {
            size_t pos = 0;
            struct px_str n, v;
            while (px_http_header_next(&a, &pos, &n, &v))
                assert_true(n.len > 0 && n.p >= whole && v.p + v.len <= whole + len);
        }
        free(whole);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_whole),
        cmocka_unit_test(test_bytewise),
        cmocka_unit_test(test_pipelined),
        cmocka_unit_test(test_header_too_large),
        cmocka_unit_test(test_body_limit_configurable),
        cmocka_unit_test(test_header_iteration),
        cmocka_unit_test(test_chunked),
        cmocka_unit_test(test_random_mutations),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
