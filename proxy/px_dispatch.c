/*
 * DynamoDB's request checks in DynamoDB's order. The order and texts are those real DynamoDB
 * shows (recorded by dynalite's connection tests, which run against AWS):
 *   1. every answer carries x-amzn-RequestId, and Access-Control-Allow-Origin when the
 *      request has an Origin; OPTIONS with an Origin is a CORS preflight (200, empty);
 *   2. GET / answers 200 "healthy: dynamodb.<region>.amazonaws.com " (load balancers probe it);
 *      GET of another path answers AWS's HTML "Page Not Found";
 *   3. not POST, or a body whose Content-Type is neither application/json nor
 *      application/x-amz-json-1.0 (parameters after ';' ignored) -> 404
 *      "<UnknownOperationException/>\n";
 *   4. a body that is not JSON -> 400 SerializationException (no message);
 *   5. an X-Amz-Target that names no operation -> 400 UnknownOperationException (no message);
 *   6. authentication: header and query auth both -> InvalidSignatureException; none, or a
 *      header not starting "AWS4-" -> MissingAuthenticationTokenException; missing parts ->
 *      IncompleteSignatureException listing them. (The signature itself is verified later.)
 *   7. an empty body -> 400 SerializationException;
 * and only then the operation. JSON answers use the request's Content-Type when it is
 * application/x-amz-json-1.0 and application/json otherwise, as DynamoDB does.
 */
#include <string.h>
#include "dx_error.h"
#include "px_dispatch.h"
#include "px_jsonv.h"
#include "px_response.h"

static const char unknown_op_xml[] = "<UnknownOperationException/>\n";
static const char not_found_html[] =
    "<!DOCTYPE html PUBLIC \"-//W3C//DTD XHTML 1.0 Transitional//EN\" "
    "\"http://www.w3.org/TR/xhtml1/DTD/xhtml1-transitional.dtd\">\n"
    "<html xmlns=\"http://www.w3.org/1999/xhtml\" xml:lang=\"en\" lang=\"en\">\n"
    "<head>\n  <title>Page Not Found</title>\n</head>\n<body>Page Not Found</body>\n</html>";

void px_verdict_clear(struct px_verdict *v)
{
    dx_buf_deinit(&v->body);
    dx_buf_deinit(&v->extra);
    memset(v, 0, sizeof(*v));
}

static void reply(struct px_verdict *out, int status, const char *ctype, const char *body,
                  size_t len)
{
    out->kind = PX_VERDICT_REPLY;
    out->status = status;
    out->content_type = ctype;
    dx_buf_reset(&out->body);
    dx_buf_append(&out->body, body, len);
}

static void reply_error(struct px_verdict *out, struct dx_error *err)
{
    out->kind = PX_VERDICT_REPLY;
    out->status = dx_error_http_status(err->code);
    dx_buf_reset(&out->body);
    dx_error_write_json(err, &out->body);
    dx_error_clear(err);
}

/* The media type of a Content-Type value: up to ';', trimmed. */
static struct px_str media_type(struct px_str ct)
{
    const char *semi = ct.len ? memchr(ct.p, ';', ct.len) : NULL;
    size_t n = semi ? (size_t)(semi - ct.p) : ct.len;
    const char *p = ct.p;
    while (n && (*p == ' ' || *p == '\t'))
        p++, n--;
    while (n && (p[n - 1] == ' ' || p[n - 1] == '\t'))
        n--;
    return (struct px_str){p, n};
}

/* Looks key up in a query string; 1 when present, with its raw value in *val. */
static int query_get(struct px_str q, const char *key, struct px_str *val)
{
    size_t klen = strlen(key), i = 0;
    while (q.p && i <= q.len) {
        const char *amp = memchr(q.p + i, '&', q.len - i);
        size_t end = amp ? (size_t)(amp - q.p) : q.len;
        const char *eq = memchr(q.p + i, '=', end - i);
        size_t kend = eq ? (size_t)(eq - q.p) : end;
        if (kend - i == klen && memcmp(q.p + i, key, klen) == 0) {
            *val = eq ? (struct px_str){eq + 1, end - kend - 1} : (struct px_str){NULL, 0};
            return 1;
        }
        if (!amp)
            break;
        i = end + 1;
    }
    return 0;
}

/* The Authorization parameters DynamoDB requires, in the order its message lists them. */
static const char *const auth_params[] = {"Credential", "Signature", "SignedHeaders"};
#define N_AUTH_PARAMS (sizeof(auth_params) / sizeof(auth_params[0]))

/* Authorization: "<algorithm> k=v, k=v ..." split on ',' and ' ' after the algorithm. For each
 * of auth_params, whether its last occurrence has a non-empty v (the text up to a further
 * '='), as DynamoDB reads it. One pass: this runs for every request. */
static void auth_scan(struct px_str auth, int found[N_AUTH_PARAMS])
{
    size_t i = 0;
    for (size_t k = 0; k < N_AUTH_PARAMS; k++)
        found[k] = 0;
    while (i < auth.len && auth.p[i] != ',' && auth.p[i] != ' ')
        i++; /* the algorithm */
    while (i < auth.len) {
        while (i < auth.len && (auth.p[i] == ',' || auth.p[i] == ' '))
            i++;
        size_t s = i;
        while (i < auth.len && auth.p[i] != ',' && auth.p[i] != ' ')
            i++;
        const char *tok = auth.p + s;
        size_t n = i - s;
        while (n && *tok == '\t')
            tok++, n--;
        while (n && tok[n - 1] == '\t')
            n--;
        const char *eq = n ? memchr(tok, '=', n) : NULL;
        if (!eq)
            continue;
        size_t klen = (size_t)(eq - tok);
        for (size_t k = 0; k < N_AUTH_PARAMS; k++)
            if (strlen(auth_params[k]) == klen && memcmp(tok, auth_params[k], klen) == 0)
                found[k] = n > klen + 1 && tok[klen + 1] != '=';
    }
}

/* Returns 1 when the request may proceed, 0 with *out set to the error answer. */
static int check_auth(const struct px_http_req *req, struct px_verdict *out)
{
    struct dx_error err = {0};
    struct px_str alg;
    int header = req->has_authorization;
    int query = query_get(req->query, "X-Amz-Algorithm", &alg);
    if (header && query) {
        dx_error_set(&err, DX_E_INVALID_SIGNATURE,
                     "Found both 'X-Amz-Algorithm' as a query-string param and 'Authorization' "
                     "as HTTP header.");
        reply_error(out, &err);
        return 0;
    }
    struct px_str auth = req->authorization;
    if ((!header && !query) || (header && (auth.len < 5 || memcmp(auth.p, "AWS4-", 5) != 0))) {
        dx_error_set(&err, DX_E_MISSING_AUTH_TOKEN, "Request is missing Authentication Token");
        reply_error(out, &err);
        return 0;
    }
    struct dx_buf msg = DX_BUF_INIT;
    if (header) {
        int found[N_AUTH_PARAMS];
        auth_scan(auth, found);
        for (size_t i = 0; i < N_AUTH_PARAMS; i++)
            if (!found[i])
                dx_buf_printf(&msg, "Authorization header requires '%s' parameter. ",
                              auth_params[i]);
        if (!req->amz_date.len && !req->date.len)
            dx_buf_puts(&msg, "Authorization header requires existence of either a 'X-Amz-Date' "
                              "or a 'Date' header. ");
        if (msg.len) {
            dx_buf_puts(&msg, "Authorization=");
            dx_buf_append(&msg, auth.p, auth.len);
        }
    } else {
        static const char *const params[] = {"X-Amz-Algorithm", "X-Amz-Credential",
                                             "X-Amz-Signature", "X-Amz-SignedHeaders",
                                             "X-Amz-Date"};
        for (size_t i = 0; i < sizeof(params) / sizeof(params[0]); i++) {
            struct px_str v;
            if (!query_get(req->query, params[i], &v) || v.len == 0)
                dx_buf_printf(&msg, "AWS query-string parameters must include '%s'. ", params[i]);
        }
        if (msg.len)
            dx_buf_puts(&msg, "Re-examine the query-string parameters.");
    }
    if (msg.len) {
        dx_error_set(&err, DX_E_INCOMPLETE_SIGNATURE, "%s", msg.p);
        dx_buf_deinit(&msg);
        reply_error(out, &err);
        return 0;
    }
    return 1;
}

void px_dispatch_check(const struct px_dispatch_opts *opts, const struct px_http_req *req,
                       const char *body, size_t len, struct px_verdict *out)
{
    struct dx_error err = {0};
    out->kind = PX_VERDICT_REPLY;
    out->cors = req->origin.p != NULL;
    out->op = DX_OP_NONE;
    out->content_type = NULL;
    dx_buf_reset(&out->body);
    dx_buf_reset(&out->extra);

    if (out->cors && px_str_eq(req->method, "OPTIONS")) {
        reply(out, 200, NULL, "", 0);
        if (req->acr_headers.p) {
            dx_buf_puts(&out->extra, "Access-Control-Allow-Headers: ");
            dx_buf_append(&out->extra, req->acr_headers.p, req->acr_headers.len);
            dx_buf_puts(&out->extra, "\r\n");
        }
        if (req->acr_method.p) {
            dx_buf_puts(&out->extra, "Access-Control-Allow-Methods: ");
            dx_buf_append(&out->extra, req->acr_method.p, req->acr_method.len);
            dx_buf_puts(&out->extra, "\r\n");
        }
        dx_buf_puts(&out->extra, "Access-Control-Max-Age: 172800\r\n");
        return;
    }
    if (px_str_eq(req->method, "GET")) {
        if (px_str_eq(req->path, "/")) {
            struct dx_buf b = DX_BUF_INIT;
            dx_buf_printf(&b, "healthy: dynamodb.%s.amazonaws.com ",
                          opts && opts->region ? opts->region : "us-east-1");
            reply(out, 200, NULL, b.p, b.len);
            dx_buf_deinit(&b);
        } else {
            reply(out, 404, "text/html", not_found_html, sizeof(not_found_html) - 1);
        }
        return;
    }

    struct px_str mt = media_type(req->content_type);
    int amz = px_str_eq(mt, PX_CT_AMZ_JSON);
    if (!px_str_eq(req->method, "POST") || (len && !amz && !px_str_eq(mt, PX_CT_JSON))) {
        reply(out, 404, NULL, unknown_op_xml, sizeof(unknown_op_xml) - 1);
        return;
    }
    out->content_type = amz ? PX_CT_AMZ_JSON : PX_CT_JSON;

    if (len && !px_json_valid(body, len)) {
        dx_error_set(&err, DX_E_SERIALIZATION, NULL);
        reply_error(out, &err);
        return;
    }
    enum dx_op op = req->amz_target.len ? dx_op_from_target(req->amz_target.p, req->amz_target.len)
                                        : DX_OP_NONE;
    if (op == DX_OP_NONE) {
        dx_error_set(&err, DX_E_UNKNOWN_OPERATION, NULL);
        reply_error(out, &err);
        return;
    }
    if (!(opts && opts->no_auth) && !check_auth(req, out))
        return;
    if (len == 0) {
        dx_error_set(&err, DX_E_SERIALIZATION, NULL);
        reply_error(out, &err);
        return;
    }
    out->kind = PX_VERDICT_CALL;
    out->op = op;
}
