/*
 * px_response: the head DynamoDB clients parse. SDKs verify x-amz-crc32 against the body, so
 * the header must be zlib's CRC32 in decimal; request ids must look like DynamoDB's.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <event2/buffer.h>
#include <zlib.h>
#include "px_response.h"

/* The value of header `name` in head (case-sensitive name), copied into out. */
static int header(const char *head, const char *name, char *out, size_t cap)
{
    char pat[64];
    snprintf(pat, sizeof(pat), "\r\n%s: ", name);
    const char *p = strstr(head, pat);
    if (!p)
        return 0;
    p += strlen(pat);
    const char *e = strstr(p, "\r\n");
    size_t n = (size_t)(e - p);
    assert_true(n < cap);
    memcpy(out, p, n);
    out[n] = '\0';
    return 1;
}

static int is_request_id(const char *s)
{
    if (strlen(s) != PX_REQUEST_ID_LEN)
        return 0;
    for (const char *p = s; *p; p++)
        if (!((*p >= '0' && *p <= '9') || (*p >= 'A' && *p <= 'Z')))
            return 0;
    return 1;
}

/* CRC32 values DynamoDB sends for these bodies (recorded against AWS by dynalite's tests). */
static void test_crc32_known_values(void **state)
{
    static const struct {
        const char *body;
        uint32_t crc;
    } known[] = {
        {"{\"__type\":\"com.amazon.coral.service#SerializationException\"}", 3948637019u},
        {"{\"__type\":\"com.amazon.coral.service#UnknownOperationException\"}", 1368724161u},
        {"<UnknownOperationException/>\n", 3552371480u},
        {"healthy: dynamodb.us-east-1.amazonaws.com ", 3128867991u},
        {"", 0},
    };
    for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++) {
        assert_int_equal(px_crc32(known[i].body, strlen(known[i].body)), known[i].crc);
        assert_int_equal(px_crc32(known[i].body, strlen(known[i].body)),
                         crc32(0, (const Bytef *)known[i].body, (uInt)strlen(known[i].body)));
    }
}

static void test_head_fields(void **state)
{
    static const char *const bodies[] = {"{}", "", "{\"TableNames\":[\"a\",\"b\"]}",
                                         "{\"x\":\"\xc3\xa9\\u0000\"}"};
    for (size_t i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++) {
        char id[PX_REQUEST_ID_LEN + 1];
        px_request_id_new(id);
        struct px_response_meta m = {
            .status = 200, .content_type = PX_CT_AMZ_JSON, .request_id = id, .keep_alive = 1};
        const char *body = bodies[i];
        size_t len = strlen(body);
        char head[PX_RESPONSE_HEAD_MAX + 1];
        size_t n = px_response_head(head, sizeof(head) - 1, &m, body, len);
        assert_true(n > 0);
        head[n] = '\0';
        assert_true(strncmp(head, "HTTP/1.1 200 OK\r\n", 17) == 0);
        assert_true(n >= 4 && strcmp(head + n - 4, "\r\n\r\n") == 0);
        char v[128];
        assert_true(header(head, "Content-Length", v, sizeof(v)));
        assert_int_equal(strtoull(v, NULL, 10), len);
        assert_true(header(head, "x-amz-crc32", v, sizeof(v)));
        assert_int_equal(strtoull(v, NULL, 10), crc32(0, (const Bytef *)body, (uInt)len));
        assert_true(header(head, "x-amzn-RequestId", v, sizeof(v)));
        assert_string_equal(v, id);
        assert_true(header(head, "Content-Type", v, sizeof(v)));
        assert_string_equal(v, "application/x-amz-json-1.0");
        assert_true(header(head, "Connection", v, sizeof(v)));
        assert_string_equal(v, "keep-alive");
        assert_true(header(head, "Date", v, sizeof(v)));
        /* IMF-fixdate: "Wed, 25 Nov 2026 09:30:00 GMT" */
        assert_int_equal(strlen(v), 29);
        assert_true(v[3] == ',' && strcmp(v + 25, " GMT") == 0);
        assert_false(header(head, "Access-Control-Allow-Origin", v, sizeof(v)));
    }
}

static void test_head_variants(void **state)
{
    char head[PX_RESPONSE_HEAD_MAX + 1], v[128];
    struct px_response_meta m = {.status = 400,
                                 .content_type = NULL,
                                 .keep_alive = 0,
                                 .cors = 1,
                                 .extra = "Access-Control-Max-Age: 172800\r\n"};
    size_t n = px_response_head(head, sizeof(head) - 1, &m, "x", 1);
    head[n] = '\0';
    assert_true(strncmp(head, "HTTP/1.1 400 Bad Request\r\n", 26) == 0);
    assert_false(header(head, "Content-Type", v, sizeof(v)));
    assert_false(header(head, "x-amzn-RequestId", v, sizeof(v)));
    assert_true(header(head, "Connection", v, sizeof(v)));
    assert_string_equal(v, "close");
    assert_true(header(head, "Access-Control-Allow-Origin", v, sizeof(v)));
    assert_string_equal(v, "*");
    assert_true(header(head, "Access-Control-Max-Age", v, sizeof(v)));
    assert_string_equal(v, "172800");

    /* DynamoDB's 413: chunked with an empty body, no Content-Length. */
    struct px_response_meta big = {.status = 413, .keep_alive = 0, .chunked_empty = 1};
    n = px_response_head(head, sizeof(head) - 1, &big, NULL, 0);
    head[n] = '\0';
    assert_true(strncmp(head, "HTTP/1.1 413 Request Entity Too Large\r\n", 39) == 0);
    assert_true(header(head, "Transfer-Encoding", v, sizeof(v)));
    assert_string_equal(v, "chunked");
    assert_false(header(head, "Content-Length", v, sizeof(v)));
    assert_true(n >= 9 && strcmp(head + n - 9, "\r\n\r\n0\r\n\r\n") == 0);

    /* Too small a buffer: 0, never an overflow. */
    assert_int_equal(px_response_head(head, 20, &m, "x", 1), 0);
}

static void test_request_ids(void **state)
{
    enum { N = 20000 };
    char(*ids)[PX_REQUEST_ID_LEN + 1] = malloc(N * sizeof(*ids));
    for (int i = 0; i < N; i++) {
        px_request_id_new(ids[i]);
        assert_true(is_request_id(ids[i]));
    }
    qsort(ids, N, sizeof(*ids), (int (*)(const void *, const void *))strcmp);
    for (int i = 1; i < N; i++)
        assert_true(strcmp(ids[i - 1], ids[i]) != 0);
    free(ids);
}

static int freed;
static void count_free(void *arg)
{
    freed++;
    free(arg);
}

/* Head and body reach the buffer intact, with or without copying the body. */
static void test_write(void **state)
{
    size_t sizes[] = {0, 2, 100, 16 * 1024, 16 * 1024 + 1, 1 << 20};
    for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
        size_t len = sizes[i];
        char *body = malloc(len + 1);
        for (size_t k = 0; k < len; k++)
            body[k] = (char)('a' + k % 26);
        char id[PX_REQUEST_ID_LEN + 1];
        px_request_id_new(id);
        struct px_response_meta m = {
            .status = 200, .content_type = PX_CT_JSON, .request_id = id, .keep_alive = 1};
        struct evbuffer *out = evbuffer_new();
        freed = 0;
        assert_int_equal(px_response_write(out, &m, body, len, count_free, body), 0);
        size_t total = evbuffer_get_length(out);
        char *flat = (char *)evbuffer_pullup(out, -1);
        const char *sep = memmem(flat, total, "\r\n\r\n", 4);
        assert_non_null(sep);
        size_t hlen = (size_t)(sep + 4 - flat);
        assert_int_equal(total - hlen, len);
        char *head = strndup(flat, hlen);
        char v[64];
        assert_true(header(head, "Content-Length", v, sizeof(v)));
        assert_int_equal(strtoull(v, NULL, 10), len);
        assert_true(header(head, "x-amz-crc32", v, sizeof(v)));
        assert_int_equal(strtoull(v, NULL, 10), crc32(0, (const Bytef *)flat + hlen, (uInt)len));
        free(head);
        evbuffer_free(out);
        assert_int_equal(freed, 1); /* the body was released exactly once */
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_crc32_known_values),
        cmocka_unit_test(test_head_fields),
        cmocka_unit_test(test_head_variants),
        cmocka_unit_test(test_request_ids),
        cmocka_unit_test(test_write),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
