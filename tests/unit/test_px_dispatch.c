/*
 * px_dispatch: DynamoDB's answers to requests that never reach an operation. The cases and
 * the CRC32 values are those of dynalite's connection tests, which were recorded against real
 * DynamoDB: matching the CRC proves the body is byte-for-byte DynamoDB's.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "px_dispatch.h"
#include "px_response.h"

/* Table rows leave trailing expectation fields at zero ("not checked"). */
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"

#define SER "{\"__type\":\"com.amazon.coral.service#SerializationException\"}"
#define UNK "{\"__type\":\"com.amazon.coral.service#UnknownOperationException\"}"
#define MISSING                                                                                    \
    "{\"__type\":\"com.amazon.coral.service#MissingAuthenticationTokenException\",\"message\":"    \
    "\"Request is missing Authentication Token\"}"
#define XML404 "<UnknownOperationException/>\n"
#define LT     "X-Amz-Target: DynamoDB_20120810.ListTables\r\n"
#define SIGNED                                                                                     \
    "Authorization: AWS4-HMAC-SHA256 Credential=k/20261125/us-east-1/dynamodb/aws4_request, "      \
    "SignedHeaders=host;x-amz-date;x-amz-target, Signature=00\r\nX-Amz-Date: 20261125T000000Z\r\n"

struct dcase {
    const char *name;
    const char *method, *path, *headers, *body;
    int kind; /* PX_VERDICT_REPLY or PX_VERDICT_CALL */
    int status;
    const char *want_body; /* NULL: not checked */
    uint32_t crc;          /* 0: not checked */
    const char *ctype;     /* expected Content-Type ("" = none) */
    int cors;
    const char *extra_has; /* a header line the answer must carry */
    enum dx_op op;
};

static const struct dcase cases[] = {
    {"GET health", "GET", "/", "", "", PX_VERDICT_REPLY, 200,
     "healthy: dynamodb.us-east-1.amazonaws.com ", 3128867991u, ""},
    {"GET other path", "GET", "/aaa", "", "", PX_VERDICT_REPLY, 404, NULL, 2548615100u,
     "text/html"},
    {"OPTIONS without Origin", "OPTIONS", "/", "", "", PX_VERDICT_REPLY, 404, XML404, 3552371480u,
     ""},
    {"PUT", "PUT", "/", "", "", PX_VERDICT_REPLY, 404, XML404, 3552371480u, ""},
    {"DELETE", "DELETE", "/", "", "", PX_VERDICT_REPLY, 404, XML404, 3552371480u, ""},
    {"body, no content-type", "POST", "/", "", "hi", PX_VERDICT_REPLY, 404, XML404, 0, ""},
    {"body, content-type whatever", "POST", "/", "Content-Type: whatever\r\n", "hi",
     PX_VERDICT_REPLY, 404, XML404, 0, ""},
    {"body, x-amz-json-1.1", "POST", "/", "Content-Type: application/x-amz-json-1.1\r\n", "hi",
     PX_VERDICT_REPLY, 404, XML404, 0, ""},
    {"body, application/jsonasdf", "POST", "/", "Content-Type: application/jsonasdf\r\n", "hi",
     PX_VERDICT_REPLY, 404, XML404, 0, ""},
    {"not JSON, application/json", "POST", "/", "Content-Type: application/json\r\n", "hi",
     PX_VERDICT_REPLY, 400, SER, 3948637019u, "application/json"},
    {"not JSON, x-amz-json-1.0", "POST", "/", "Content-Type: application/x-amz-json-1.0\r\n", "hi",
     PX_VERDICT_REPLY, 400, SER, 3948637019u, "application/x-amz-json-1.0"},
    {"not JSON, json;", "POST", "/", "Content-Type: application/json;\r\n", "hi", PX_VERDICT_REPLY,
     400, SER, 0, "application/json"},
    {"not JSON, spaces and params", "POST", "/", "Content-Type:   application/json  ;   asfd\r\n",
     "hi", PX_VERDICT_REPLY, 400, SER, 0, "application/json"},
    {"not JSON, json;blahblah", "POST", "/", "Content-Type: application/json;blahblah\r\n", "hi",
     PX_VERDICT_REPLY, 400, SER, 0, "application/json"},
    {"not JSON, amz;blahblah", "POST", "/", "Content-Type: application/x-amz-json-1.0;blahblah\r\n",
     "hi", PX_VERDICT_REPLY, 400, SER, 0, "application/x-amz-json-1.0"},
    {"no target", "POST", "/", "", "", PX_VERDICT_REPLY, 400, UNK, 1368724161u, "application/json"},
    {"no target, with Origin", "POST", "/", "Origin: whatever\r\n", "", PX_VERDICT_REPLY, 400, UNK,
     1368724161u, "application/json", 1},
    {"{} as application/json", "POST", "/", "Content-Type: application/json\r\n", "{}",
     PX_VERDICT_REPLY, 400, UNK, 0, "application/json"},
    {"{} as x-amz-json-1.0", "POST", "/", "Content-Type: application/x-amz-json-1.0\r\n", "{}",
     PX_VERDICT_REPLY, 400, UNK, 0, "application/x-amz-json-1.0"},
    {"{} with charset", "POST", "/", "Content-Type: application/json;charset=asfdsaf\r\n", "{}",
     PX_VERDICT_REPLY, 400, UNK, 0, "application/json"},
    {"incorrect target", "POST", "/", "X-Amz-Target: whatever\r\n", "", PX_VERDICT_REPLY, 400, UNK,
     0, "application/json"},
    {"incorrect operation", "POST", "/", "X-Amz-Target: DynamoDB_20120810.ListTable\r\n", "",
     PX_VERDICT_REPLY, 400, UNK, 0, "application/json"},
    {"no Authorization", "POST", "/", LT, "", PX_VERDICT_REPLY, 400, MISSING, 2088342776u,
     "application/json"},
    {"Authorization AWS4", "POST", "/", LT "Authorization: AWS4\r\n", "", PX_VERDICT_REPLY, 400,
     MISSING, 0, "application/json"},
    {"bad header, misspelt query", "POST", "/?X-Amz-Algorith", LT "Authorization: X\r\n", "",
     PX_VERDICT_REPLY, 400, MISSING, 0, "application/json"},
    {"query without X-Amz-Algorithm", "POST",
     "/?X-Amz-Credential=a&X-Amz-Signature=b&X-Amz-SignedHeaders=c&X-Amz-Date=d", LT, "",
     PX_VERDICT_REPLY, 400, MISSING, 0, "application/json"},
    {"header and query auth", "POST", "/?X-Amz-Algorithm", LT "Authorization: X\r\n", "",
     PX_VERDICT_REPLY, 400,
     "{\"__type\":\"com.amazon.coral.service#InvalidSignatureException\",\"message\":\"Found both "
     "'X-Amz-Algorithm' as a query-string param and 'Authorization' as HTTP header.\"}",
     2139606068u, "application/json"},
    {"Authorization AWS4-", "POST", "/", LT "Authorization: AWS4-\r\n", "", PX_VERDICT_REPLY, 400,
     "{\"__type\":\"com.amazon.coral.service#IncompleteSignatureException\",\"message\":"
     "\"Authorization header requires 'Credential' parameter. Authorization header requires "
     "'Signature' parameter. Authorization header requires 'SignedHeaders' parameter. "
     "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header. "
     "Authorization=AWS4-\"}",
     1828866742u, "application/json"},
    {"Signature and Credential, spaces", "POST", "/",
     LT "Authorization: AWS4- Signature=b Credential=a\r\nDate: a\r\n", "", PX_VERDICT_REPLY, 400,
     NULL, 15336762u, "application/json"},
    {"Signature and Credential, comma", "POST", "/",
     LT "Authorization: AWS4- Signature=b,Credential=a\r\nDate: a\r\n", "", PX_VERDICT_REPLY, 400,
     NULL, 1159703774u, "application/json"},
    {"Signature and Credential, comma space", "POST", "/",
     LT "Authorization: AWS4- Signature=b, Credential=a\r\nDate: a\r\n", "", PX_VERDICT_REPLY, 400,
     NULL, 164353342u, "application/json"},
    {"empty X-Amz-Algorithm query", "POST", "/?X-Amz-Algorithm", LT, "", PX_VERDICT_REPLY, 400,
     NULL, 2900502663u, "application/json"},
    {"query without SignedHeaders", "POST",
     "/?X-Amz-Algorithm=a&X-Amz-Credential=b&X-Amz-Signature=c&X-Amz-Date=d", LT, "",
     PX_VERDICT_REPLY, 400, NULL, 3712057481u, "application/json"},
    {"CORS preflight", "OPTIONS", "/", "Origin: whatever\r\n", "", PX_VERDICT_REPLY, 200, "", 0, "",
     1, "Access-Control-Max-Age: 172800\r\n"},
    {"CORS preflight with headers", "OPTIONS", "/",
     "Origin: whatever\r\nAccess-Control-Request-Headers: a, b, c\r\n", "", PX_VERDICT_REPLY, 200,
     "", 0, "", 1, "Access-Control-Allow-Headers: a, b, c\r\n"},
    {"CORS preflight with method", "OPTIONS", "/",
     "Origin: whatever\r\nAccess-Control-Request-Headers: a, b, c\r\n"
     "Access-Control-Request-Method: d\r\n",
     "", PX_VERDICT_REPLY, 200, "", 0, "", 1, "Access-Control-Allow-Methods: d\r\n"},
    {"signed, empty body", "POST", "/", LT SIGNED, "", PX_VERDICT_REPLY, 400, SER, 0,
     "application/json"},
    {"signed ListTables", "POST", "/", LT SIGNED "Content-Type: application/x-amz-json-1.0\r\n",
     "{}", PX_VERDICT_CALL, 0, NULL, 0, "application/x-amz-json-1.0", 0, NULL, DX_OP_ListTables},
    {"signed GetItem as application/json", "POST", "/",
     "X-Amz-Target: DynamoDB_20120810.GetItem\r\n" SIGNED "Content-Type: application/json\r\n",
     "{\"TableName\":\"t\"}", PX_VERDICT_CALL, 0, NULL, 0, "application/json", 0, NULL,
     DX_OP_GetItem},
    {"streams target", "POST", "/",
     "X-Amz-Target: DynamoDBStreams_20120810.ListStreams\r\n" SIGNED
     "Content-Type: application/json\r\n",
     "{}", PX_VERDICT_CALL, 0, NULL, 0, "application/json", 0, NULL, DX_OP_ListStreams},
    {"date header instead of X-Amz-Date", "POST", "/",
     LT "Authorization: AWS4-HMAC-SHA256 Credential=a, SignedHeaders=host, Signature=b\r\n"
        "Date: Wed, 25 Nov 2026 09:00:00 GMT\r\nContent-Type: application/json\r\n",
     "{}", PX_VERDICT_CALL, 0, NULL, 0, "application/json", 0, NULL, DX_OP_ListTables},
    {"presigned query", "POST",
     "/?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=b&X-Amz-Signature=c&"
     "X-Amz-SignedHeaders=host&X-Amz-Date=d",
     LT "Content-Type: application/json\r\n", "{}", PX_VERDICT_CALL, 0, NULL, 0, "application/json",
     0, NULL, DX_OP_ListTables},
};

static void run(const struct dcase *c, const struct px_dispatch_opts *opts)
{
    char raw[4096];
    size_t blen = strlen(c->body);
    int n = snprintf(raw, sizeof(raw),
                     "%s %s HTTP/1.1\r\nHost: localhost\r\n%sContent-Length: %zu\r\n\r\n%s",
                     c->method, c->path, c->headers, blen, c->body);
    assert_true(n > 0 && (size_t)n < sizeof(raw));
    struct px_http_limits lim;
    px_http_limits_default(&lim);
    struct px_http_req req;
    px_http_req_reset(&req);
    assert_int_equal(px_http_parse_head(raw, (size_t)n, &lim, &req), PX_HTTP_DONE);
    struct px_verdict v = {0};
    px_dispatch_check(opts, &req, raw + req.header_len, blen, &v);
    if ((int)v.kind != c->kind)
        fail_msg("%s: kind %d, want %d (status %d, body %.*s)", c->name, v.kind, c->kind, v.status,
                 (int)v.body.len, v.body.p ? v.body.p : "");
    if (c->kind == PX_VERDICT_CALL) {
        assert_int_equal(v.op, c->op);
    } else {
        if (v.status != c->status)
            fail_msg("%s: status %d, want %d", c->name, v.status, c->status);
        if (c->want_body && (v.body.len != strlen(c->want_body) ||
                             memcmp(v.body.p ? v.body.p : "", c->want_body, v.body.len) != 0))
            fail_msg("%s: body\n  %.*s\nwant\n  %s", c->name, (int)v.body.len, v.body.p,
                     c->want_body);
        if (c->crc && px_crc32(v.body.p, v.body.len) != c->crc)
            fail_msg("%s: crc %u, want %u; body %.*s", c->name, px_crc32(v.body.p, v.body.len),
                     c->crc, (int)v.body.len, v.body.p);
    }
    const char *ct = v.content_type ? v.content_type : "";
    if (strcmp(ct, c->ctype) != 0)
        fail_msg("%s: content type '%s', want '%s'", c->name, ct, c->ctype);
    assert_int_equal(v.cors, c->cors);
    if (c->extra_has && (!v.extra.p || !strstr(v.extra.p, c->extra_has)))
        fail_msg("%s: extra headers lack %s", c->name, c->extra_has);
    px_verdict_clear(&v);
}

static void test_dynamodb_answers(void **state)
{
    struct px_dispatch_opts opts = {.region = NULL};
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        run(&cases[i], &opts);
}

static void test_not_found_page(void **state)
{
    /* AWS's HTML page for a GET of an unknown path: 272 bytes. */
    struct dcase c = {"GET /x",         "GET", "/x", "",          "",
                      PX_VERDICT_REPLY, 404,   NULL, 2548615100u, "text/html"};
    run(&c, NULL);
}

static void test_region_in_health(void **state)
{
    struct px_dispatch_opts opts = {.region = "eu-west-1"};
    struct dcase c = {"GET", "GET",
                      "/",   "",
                      "",    PX_VERDICT_REPLY,
                      200,   "healthy: dynamodb.eu-west-1.amazonaws.com ",
                      0,     ""};
    run(&c, &opts);
}

static void test_no_auth_option(void **state)
{
    struct px_dispatch_opts opts = {.no_auth = 1};
    struct dcase c = {"unsigned with no_auth",
                      "POST",
                      "/",
                      LT "Content-Type: application/json\r\n",
                      "{}",
                      PX_VERDICT_CALL,
                      0,
                      NULL,
                      0,
                      "application/json",
                      0,
                      NULL,
                      DX_OP_ListTables};
    run(&c, &opts);
}

/* A verdict reused across requests must not leak headers or bodies from the previous one. */
static void test_reuse(void **state)
{
    struct px_verdict v = {0};
    struct px_http_limits lim;
    px_http_limits_default(&lim);
    const char *pre = "OPTIONS / HTTP/1.1\r\nOrigin: o\r\nAccess-Control-Request-Method: d\r\n\r\n";
    const char *get = "GET / HTTP/1.1\r\n\r\n";
    struct px_http_req req;
    px_http_req_reset(&req);
    assert_int_equal(px_http_parse_head(pre, strlen(pre), &lim, &req), PX_HTTP_DONE);
    px_dispatch_check(NULL, &req, "", 0, &v);
    assert_true(v.extra.len > 0);
    px_http_req_reset(&req);
    assert_int_equal(px_http_parse_head(get, strlen(get), &lim, &req), PX_HTTP_DONE);
    px_dispatch_check(NULL, &req, "", 0, &v);
    assert_int_equal(v.extra.len, 0);
    assert_int_equal(v.cors, 0);
    assert_int_equal(v.status, 200);
    px_verdict_clear(&v);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_dynamodb_answers),
        cmocka_unit_test(test_not_found_page),
        cmocka_unit_test(test_region_in_health),
        cmocka_unit_test(test_no_auth_option),
        cmocka_unit_test(test_reuse),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
