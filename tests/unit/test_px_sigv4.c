/*
 * px_sigv4: AWS Signature Version 4 against the official test suite (awslabs aws-c-auth v4
 * vectors in shared/testdata/sigv4, path given at build time as SIGV4_VECTORS). Every case
 * directory must reproduce the canonical request, string to sign, signature and Authorization
 * byte for byte, and the presigned variants; the verifier must accept each signed request at
 * the case's time and reject it, with DynamoDB's exact error, after any single change. A
 * missing vector directory is a failure, not a skip: CI has shared/ beside the checkout.
 */
#include <ctype.h>
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <cmocka.h>
#include <cjson/cJSON.h>
#include "dx_error.h"
#include "dx_status.h"
#include "px_sigv4.h"

#ifndef SIGV4_VECTORS
#define SIGV4_VECTORS "../shared/testdata/sigv4"
#endif

#define MAXH 32

/* A request held by value, so that a struct copy is a deep copy to mutate. */
struct treq {
    char method[16];
    char path[512];
    char query[2048];
    char names[MAXH][64];
    char values[MAXH][2048];
    size_t nh;
    char body[1024];
    size_t body_len;
    struct px_sigv4_header h[MAXH];
};

struct tctx {
    char akid[64], secret[128], token[1024], region[32], service[32], timestamp[32];
    int has_token, normalize, sign_body, omit_token;
    long expires;
};

static char *slurp(const char *dir, const char *file)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", dir, file);
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *s = malloc((size_t)n + 1);
    assert_int_equal(fread(s, 1, (size_t)n, f), (size_t)n);
    s[n] = 0;
    fclose(f);
    return s;
}

static void treq_view(struct treq *r, struct px_sigv4_request *v)
{
    for (size_t i = 0; i < r->nh; i++) {
        r->h[i].name = r->names[i];
        r->h[i].name_len = strlen(r->names[i]);
        r->h[i].value = r->values[i];
        r->h[i].value_len = strlen(r->values[i]);
    }
    v->method = r->method;
    v->method_len = strlen(r->method);
    v->path = r->path;
    v->path_len = strlen(r->path);
    v->query = r->query;
    v->query_len = strlen(r->query);
    v->headers = r->h;
    v->nheaders = r->nh;
    v->body = r->body;
    v->body_len = r->body_len;
}

static void add_header(struct treq *r, const char *name, const char *value)
{
    assert_true(r->nh < MAXH);
    snprintf(r->names[r->nh], sizeof r->names[0], "%s", name);
    snprintf(r->values[r->nh], sizeof r->values[0], "%s", value);
    r->nh++;
}

static int find_h(const struct treq *r, const char *name)
{
    for (size_t i = 0; i < r->nh; i++)
        if (strcasecmp(r->names[i], name) == 0)
            return (int)i;
    return -1;
}

/* Parses a raw HTTP/1.1 request as the suite writes it (folded header lines are kept). */
static void parse_http(const char *text, struct treq *r)
{
    memset(r, 0, sizeof *r);
    const char *eol = strchr(text, '\n');
    assert_non_null(eol);
    const char *sp = strchr(text, ' ');
    const char *ver = eol;
    while (ver > sp && strncmp(ver, " HTTP/", 6) != 0)
        ver--;
    snprintf(r->method, sizeof r->method, "%.*s", (int)(sp - text), text);
    const char *target = sp + 1;
    const char *q = memchr(target, '?', (size_t)(ver - target));
    if (q) {
        snprintf(r->path, sizeof r->path, "%.*s", (int)(q - target), target);
        snprintf(r->query, sizeof r->query, "%.*s", (int)(ver - q - 1), q + 1);
    } else {
        snprintf(r->path, sizeof r->path, "%.*s", (int)(ver - target), target);
    }
    const char *line = eol + 1;
    while (*line && *line != '\n') {
        const char *e = strchr(line, '\n');
        if (!e)
            e = line + strlen(line);
        if ((*line == ' ' || *line == '\t') && r->nh > 0) {
            char *v = r->values[r->nh - 1];
            size_t l = strlen(v);
            snprintf(v + l, sizeof r->values[0] - l, "\n%.*s", (int)(e - line), line);
        } else {
            const char *colon = memchr(line, ':', (size_t)(e - line));
            assert_non_null(colon);
            assert_true(r->nh < MAXH);
            snprintf(r->names[r->nh], sizeof r->names[0], "%.*s", (int)(colon - line), line);
            snprintf(r->values[r->nh], sizeof r->values[0], "%.*s", (int)(e - colon - 1),
                     colon + 1);
            r->nh++;
        }
        line = *e ? e + 1 : e;
    }
    if (*line == '\n') {
        line++;
        r->body_len = strlen(line);
        assert_true(r->body_len < sizeof r->body);
        memcpy(r->body, line, r->body_len);
    }
}

static void parse_ctx(const char *text, struct tctx *c)
{
    memset(c, 0, sizeof *c);
    cJSON *j = cJSON_Parse(text);
    assert_non_null(j);
    cJSON *cr = cJSON_GetObjectItem(j, "credentials");
    snprintf(c->akid, sizeof c->akid, "%s", cJSON_GetObjectItem(cr, "access_key_id")->valuestring);
    snprintf(c->secret, sizeof c->secret, "%s",
             cJSON_GetObjectItem(cr, "secret_access_key")->valuestring);
    cJSON *tok = cJSON_GetObjectItem(cr, "token");
    if (tok) {
        c->has_token = 1;
        snprintf(c->token, sizeof c->token, "%s", tok->valuestring);
    }
    snprintf(c->region, sizeof c->region, "%s", cJSON_GetObjectItem(j, "region")->valuestring);
    snprintf(c->service, sizeof c->service, "%s", cJSON_GetObjectItem(j, "service")->valuestring);
    snprintf(c->timestamp, sizeof c->timestamp, "%s",
             cJSON_GetObjectItem(j, "timestamp")->valuestring);
    c->normalize = cJSON_IsTrue(cJSON_GetObjectItem(j, "normalize"));
    c->sign_body = cJSON_IsTrue(cJSON_GetObjectItem(j, "sign_body"));
    c->omit_token = cJSON_IsTrue(cJSON_GetObjectItem(j, "omit_session_token"));
    cJSON *ex = cJSON_GetObjectItem(j, "expiration_in_seconds");
    c->expires = ex ? (long)ex->valuedouble : 3600;
    cJSON_Delete(j);
}

/* "2015-08-30T12:36:00Z" -> "20150830T123600Z" */
static void amz_date_of(const char *ts, char out[17])
{
    size_t k = 0;
    for (const char *p = ts; *p && k < 16; p++)
        if (*p != '-' && *p != ':')
            out[k++] = *p;
    out[k] = 0;
}

static int64_t now_of(const struct tctx *c)
{
    char d[17];
    int64_t t = 0;
    amz_date_of(c->timestamp, d);
    assert_int_equal(px_sigv4_parse_amz_date(d, 16, &t), DX_OK);
    return t;
}

static const char *g_secret = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";

static int lookup(void *ctx, const char *key, size_t len, const char **secret)
{
    (void)ctx;
    if (len == 11 && memcmp(key, "AKIDEXAMPLE", 11) == 0) {
        *secret = g_secret;
        return 1;
    }
    return 0;
}

static void assert_buf_eq(const struct dx_buf *b, const char *want, const char *what,
                          const char *dir)
{
    if (b->len != strlen(want) || memcmp(b->p, want, b->len) != 0) {
        print_error("%s: %s differs\n--- got\n%.*s\n--- want\n%s\n", dir, what, (int)b->len, b->p,
                    want);
        fail();
    }
}

/* ---- signing every case ---- */

static void sign_case(const char *dir, const struct tctx *c)
{
    char *raw = slurp(dir, "request.txt");
    char *creq = slurp(dir, "header-canonical-request.txt");
    char *sts = slurp(dir, "header-string-to-sign.txt");
    char *sig = slurp(dir, "header-signature.txt");
    char *sreq = slurp(dir, "header-signed-request.txt");
    assert_non_null(raw);
    assert_non_null(creq);
    assert_non_null(sts);
    assert_non_null(sig);
    assert_non_null(sreq);
    struct treq *r = calloc(1, sizeof *r), *s = calloc(1, sizeof *s);
    parse_http(raw, r);
    char date[17];
    amz_date_of(c->timestamp, date);
    add_header(r, "X-Amz-Date", date);
    if (c->has_token && !c->omit_token)
        add_header(r, "X-Amz-Security-Token", c->token);
    struct px_sigv4_request v;
    treq_view(r, &v);
    if (c->sign_body) {
        /* The payload hash header is the canonical request's last line. */
        const char *last = strrchr(creq, '\n') + 1;
        add_header(r, "x-amz-content-sha256", last);
        treq_view(r, &v);
    }
    struct px_sigv4_params p = {c->akid, c->secret,    c->region, c->service,
                                date,    c->normalize, NULL,      0};
    struct px_sigv4_result res;
    px_sigv4_result_init(&res);
    assert_int_equal(px_sigv4_sign(&v, &p, &res), DX_OK);
    assert_buf_eq(&res.canonical_request, creq, "canonical request", dir);
    assert_buf_eq(&res.string_to_sign, sts, "string to sign", dir);
    assert_buf_eq(&res.signature, sig, "signature", dir);
    parse_http(sreq, s);
    int ai = find_h(s, "Authorization");
    assert_true(ai >= 0);
    assert_buf_eq(&res.authorization, s->values[ai], "Authorization", dir);

    /* The presigned variant. */
    char *qcreq = slurp(dir, "query-canonical-request.txt");
    char *qsig = slurp(dir, "query-signature.txt");
    char *qsts = slurp(dir, "query-string-to-sign.txt");
    if (qcreq && qsig && qsts) {
        parse_http(raw, r);
        treq_view(r, &v);
        assert_int_equal(px_sigv4_presign(&v, &p, c->has_token && !c->omit_token ? c->token : NULL,
                                          c->expires, &res),
                         DX_OK);
        assert_buf_eq(&res.canonical_request, qcreq, "query canonical request", dir);
        assert_buf_eq(&res.string_to_sign, qsts, "query string to sign", dir);
        assert_buf_eq(&res.signature, qsig, "query signature", dir);
    }
    free(qcreq);
    free(qsig);
    free(qsts);
    px_sigv4_result_deinit(&res);
    free(r);
    free(s);
    free(raw);
    free(creq);
    free(sts);
    free(sig);
    free(sreq);
}

/* ---- verifying every case, then one change at a time ---- */

static struct px_sigv4_verify_opts opts_for(const struct tctx *c)
{
    struct px_sigv4_verify_opts o = {0};
    o.region = "us-east-1";
    o.allow_test_service = 1;
    o.now = now_of(c);
    o.normalize_path = c->normalize;
    o.allow_unsigned_token = c->omit_token;
    o.lookup = lookup;
    return o;
}

static int verify_treq(struct treq *r, const struct px_sigv4_verify_opts *o, struct dx_error *err)
{
    struct px_sigv4_request v;
    treq_view(r, &v);
    dx_error_clear(err);
    return px_sigv4_verify(&v, o, err);
}

static void expect_reject(const char *dir, const char *what, struct treq *m,
                          const struct px_sigv4_verify_opts *o, enum dx_errcode code,
                          const char *msg)
{
    struct dx_error err = {0};
    int rc = verify_treq(m, o, &err);
    if (rc != DX_EREQ || err.code != code || (msg && (!err.msg || strcmp(err.msg, msg) != 0))) {
        print_error("%s: mutation '%s': rc %d, got %s '%s', want %s '%s'\n", dir, what, rc,
                    dx_error_name(err.code), err.msg ? err.msg : "", dx_error_name(code),
                    msg ? msg : "*");
        fail();
    }
    dx_error_clear(&err);
}

static const char MISMATCH[] =
    "The request signature we calculated does not match the signature you provided. Check your "
    "AWS Secret Access Key and signing method. Consult the service documentation for details.";

/* Replaces the first occurrence of from with to in s (size cap). */
static void replace_in(char *s, size_t cap, const char *from, const char *to)
{
    char *p = strstr(s, from);
    assert_non_null(p);
    char tail[4096];
    snprintf(tail, sizeof tail, "%s", p + strlen(from));
    snprintf(p, cap - (size_t)(p - s), "%s%s", to, tail);
}

static int g_mutations;

static void verify_case(const char *dir, const struct tctx *c)
{
    char *sreq = slurp(dir, "header-signed-request.txt");
    assert_non_null(sreq);
    struct treq *base = calloc(1, sizeof *base), *m = calloc(1, sizeof *m);
    parse_http(sreq, base);
    struct px_sigv4_verify_opts o = opts_for(c);
    struct dx_error err = {0};
    *m = *base;
    if (verify_treq(m, &o, &err) != DX_OK) {
        print_error("%s: signed request rejected: %s %s\n", dir, dx_error_name(err.code), err.msg);
        fail();
    }
    int ai = find_h(base, "Authorization");
    assert_true(ai >= 0);
    char *sh = strstr(base->values[ai], "SignedHeaders=") + 14;
    char signed_list[512];
    snprintf(signed_list, sizeof signed_list, "%.*s", (int)strcspn(sh, ","), sh);

    /* Each signed header's value (x-amz-date is the time checks below). */
    for (size_t i = 0; i < base->nh; i++) {
        char lname[64];
        size_t k;
        for (k = 0; base->names[i][k]; k++)
            lname[k] = (char)tolower((unsigned char)base->names[i][k]);
        lname[k] = 0;
        char pat[80];
        snprintf(pat, sizeof pat, ";%s;", lname);
        char wrapped[600];
        snprintf(wrapped, sizeof wrapped, ";%s;", signed_list);
        if (!strstr(wrapped, pat) || strcmp(lname, "x-amz-date") == 0)
            continue;
        *m = *base;
        strcat(m->values[i], "x");
        expect_reject(dir, lname, m, &o, DX_E_INVALID_SIGNATURE, MISMATCH);
        g_mutations++;
    }
    *m = *base;
    strcat(m->path, "x");
    expect_reject(dir, "path", m, &o, DX_E_INVALID_SIGNATURE, MISMATCH);
    *m = *base;
    strcat(m->query, m->query[0] ? "&Zz=1" : "Zz=1");
    expect_reject(dir, "query", m, &o, DX_E_INVALID_SIGNATURE, MISMATCH);
    *m = *base;
    m->body[m->body_len++] = 'x';
    expect_reject(dir, "body", m, &o, DX_E_INVALID_SIGNATURE, MISMATCH);
    *m = *base;
    snprintf(m->method, sizeof m->method, "%s", strcmp(base->method, "PUT") ? "PUT" : "GET");
    expect_reject(dir, "method", m, &o, DX_E_INVALID_SIGNATURE, MISMATCH);
    g_mutations += 4;

    /* The clock: 16 minutes either way. */
    struct px_sigv4_verify_opts o2 = o;
    o2.now = o.now + 16 * 60;
    expect_reject(dir, "now+16", base, &o2, DX_E_INVALID_SIGNATURE,
                  "Signature expired: 20150830T123600Z is now earlier than 20150830T123700Z "
                  "(20150830T125200Z - 15 min.)");
    o2.now = o.now - 16 * 60;
    expect_reject(dir, "now-16", base, &o2, DX_E_INVALID_SIGNATURE,
                  "Signature not yet current: 20150830T123600Z is still later than "
                  "20150830T123500Z (20150830T122000Z + 15 min.)");
    int di = find_h(base, "X-Amz-Date");
    assert_true(di >= 0);
    *m = *base;
    snprintf(m->values[di], sizeof m->values[0], "20150830T122000Z");
    expect_reject(dir, "date-16", m, &o, DX_E_INVALID_SIGNATURE, NULL);
    *m = *base;
    snprintf(m->values[di], sizeof m->values[0], "20150830T125200Z");
    expect_reject(dir, "date+16", m, &o, DX_E_INVALID_SIGNATURE, NULL);
    /* Within the window the date is still signed: one second off is a mismatch. */
    *m = *base;
    snprintf(m->values[di], sizeof m->values[0], "20150830T123601Z");
    expect_reject(dir, "date+1s", m, &o, DX_E_INVALID_SIGNATURE, MISMATCH);
    g_mutations += 5;

    /* One nibble of the signature, first and last. */
    char *sg = strstr(base->values[ai], "Signature=") + 10;
    size_t off = (size_t)(sg - base->values[ai]);
    for (int end = 0; end < 2; end++) {
        *m = *base;
        char *ch = m->values[ai] + off + (end ? 63 : 0);
        *ch = *ch == '0' ? '1' : '0';
        expect_reject(dir, "signature nibble", m, &o, DX_E_INVALID_SIGNATURE, MISMATCH);
        g_mutations++;
    }

    /* Drop each SignedHeaders entry in turn. */
    char list_copy[512];
    snprintf(list_copy, sizeof list_copy, "%s", signed_list);
    for (char *save = NULL, *tok = strtok_r(list_copy, ";", &save); tok;
         tok = strtok_r(NULL, ";", &save)) {
        char wrapped[600], without[600];
        snprintf(wrapped, sizeof wrapped, ";%s;", signed_list);
        char pat[80];
        snprintf(pat, sizeof pat, ";%s;", tok);
        snprintf(without, sizeof without, "%s", wrapped);
        replace_in(without, sizeof without, pat, ";");
        size_t wl = strlen(without);
        without[wl - 1] = 0;     /* strip the wrapping ';' */
        char from[640], to[640]; /* "SignedHeaders=" + a 600-byte list */
        snprintf(from, sizeof from, "SignedHeaders=%s", signed_list);
        snprintf(to, sizeof to, "SignedHeaders=%s", without + 1);
        *m = *base;
        replace_in(m->values[ai], sizeof m->values[0], from, to);
        const char *want = MISMATCH;
        if (strcmp(tok, "host") == 0)
            want = "'Host' must be a 'SignedHeader' in the AWS Authorization.";
        else if (strcmp(tok, "x-amz-date") == 0)
            want = "'X-Amz-Date' must be a 'SignedHeader' in the AWS Authorization.";
        else if (strcmp(tok, "x-amz-security-token") == 0)
            want = "'X-Amz-Security-Token' must be a 'SignedHeader' in the AWS Authorization.";
        expect_reject(dir, tok, m, &o, DX_E_INVALID_SIGNATURE, want);
        g_mutations++;
    }

    /* The key, the scope. */
    *m = *base;
    replace_in(m->values[ai], sizeof m->values[0], "AKIDEXAMPLE/", "AKIDEXAMPLF/");
    expect_reject(dir, "access key", m, &o, DX_E_UNRECOGNIZED_CLIENT,
                  "The security token included in the request is invalid.");
    *m = *base;
    replace_in(m->values[ai], sizeof m->values[0], "/us-east-1/", "/us-west-2/");
    expect_reject(dir, "region", m, &o, DX_E_INVALID_SIGNATURE,
                  "Credential should be scoped to a valid region, not 'us-west-2'. ");
    o2 = o;
    o2.allow_test_service = 0;
    expect_reject(dir, "service", base, &o2, DX_E_INVALID_SIGNATURE,
                  "Credential should be scoped to correct service: 'dynamodb'. ");
    g_mutations += 3;

    /* No space after the commas is accepted too (Alternator #9568). */
    *m = *base;
    replace_in(m->values[ai], sizeof m->values[0], ", SignedHeaders", ",SignedHeaders");
    replace_in(m->values[ai], sizeof m->values[0], ", Signature", ",Signature");
    assert_int_equal(verify_treq(m, &o, &err), DX_OK);

    dx_error_clear(&err);
    free(base);
    free(m);
    free(sreq);
}

/* Presigned requests from the suite verify, and a changed query is rejected. */
static void verify_query_case(const char *dir, const struct tctx *c)
{
    /* omit_session_token cases append the token after signing: not a request we accept. */
    char *qreq = c->omit_token ? NULL : slurp(dir, "query-signed-request.txt");
    if (!qreq)
        return;
    struct treq *r = calloc(1, sizeof *r);
    parse_http(qreq, r);
    struct px_sigv4_verify_opts o = opts_for(c);
    struct dx_error err = {0};
    if (verify_treq(r, &o, &err) != DX_OK) {
        print_error("%s: presigned request rejected: %s %s\n", dir, dx_error_name(err.code),
                    err.msg);
        fail();
    }
    struct treq *m = calloc(1, sizeof *m);
    *m = *r;
    replace_in(m->query, sizeof m->query, "X-Amz-Expires=3600", "X-Amz-Expires=3601");
    expect_reject(dir, "presigned expires", m, &o, DX_E_INVALID_SIGNATURE, MISMATCH);
    struct px_sigv4_verify_opts o2 = o;
    o2.now = o.now + 3601;
    expect_reject(dir, "presigned expired", r, &o2, DX_E_INVALID_SIGNATURE, NULL);
    g_mutations += 2;
    dx_error_clear(&err);
    free(m);
    free(r);
    free(qreq);
}

static void test_vectors(void **state)
{
    (void)state;
    DIR *d = opendir(SIGV4_VECTORS);
    if (!d) {
        print_error("SigV4 vectors not found at %s\n", SIGV4_VECTORS);
        fail();
    }
    int cases = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        char dir[1024];
        snprintf(dir, sizeof dir, "%s/%s", SIGV4_VECTORS, e->d_name);
        struct stat st;
        if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode))
            continue;
        char *ctx = slurp(dir, "context.json");
        assert_non_null(ctx);
        struct tctx c;
        parse_ctx(ctx, &c);
        free(ctx);
        sign_case(dir, &c);
        verify_case(dir, &c);
        verify_query_case(dir, &c);
        cases++;
    }
    closedir(d);
    print_message("sigv4: %d vector cases, %d rejected mutations\n", cases, g_mutations);
    assert_true(cases >= 38);
}

/* ---- a DynamoDB request ---- */

static void dynamo_request(struct treq *r, const char *target)
{
    memset(r, 0, sizeof *r);
    strcpy(r->method, "POST");
    strcpy(r->path, "/");
    add_header(r, "Host", "localhost:8000");
    add_header(r, "Content-Type", "application/x-amz-json-1.0");
    add_header(r, "X-Amz-Date", "20240102T030405Z");
    add_header(r, "X-Amz-Target", target);
    const char *body = "{\"TableName\":\"t\",\"Key\":{\"pk\":{\"S\":\"a\"}}}";
    r->body_len = strlen(body);
    memcpy(r->body, body, r->body_len);
}

static struct px_sigv4_verify_opts dynamo_opts(void)
{
    struct px_sigv4_verify_opts o = {0};
    o.region = "us-east-1";
    o.normalize_path = 1;
    o.require_dynamodb_headers = 1;
    o.lookup = lookup;
    assert_int_equal(px_sigv4_parse_amz_date("20240102T030405Z", 16, &o.now), DX_OK);
    o.now += 60;
    return o;
}

static void sign_into(struct treq *r, const char *const *names, size_t n)
{
    struct px_sigv4_request v;
    treq_view(r, &v);
    struct px_sigv4_params p = {"AKIDEXAMPLE",      g_secret, "us-east-1", "dynamodb",
                                "20240102T030405Z", 1,        names,       n};
    struct px_sigv4_result res;
    px_sigv4_result_init(&res);
    assert_int_equal(px_sigv4_sign(&v, &p, &res), DX_OK);
    add_header(r, "Authorization", res.authorization.p);
    px_sigv4_result_deinit(&res);
}

static void test_dynamodb_request(void **state)
{
    (void)state;
    struct treq *r = calloc(1, sizeof *r), *m = calloc(1, sizeof *m);
    struct px_sigv4_verify_opts o = dynamo_opts();
    struct dx_error err = {0};
    dynamo_request(r, "DynamoDB_20120810.GetItem");
    sign_into(r, NULL, 0);
    assert_int_equal(verify_treq(r, &o, &err), DX_OK);

    /* A signed GetItem can't be replayed as DeleteItem. */
    *m = *r;
    snprintf(m->values[3], sizeof m->values[0], "DynamoDB_20120810.DeleteItem");
    expect_reject("dynamodb", "target", m, &o, DX_E_INVALID_SIGNATURE, MISMATCH);
    /* The test-suite service name is refused outside test mode. */
    o.allow_test_service = 0;

    /* Target left unsigned: refused when the DynamoDB rule is on. */
    dynamo_request(m, "DynamoDB_20120810.GetItem");
    static const char *const some[] = {"host", "content-type", "x-amz-date"};
    sign_into(m, some, 3);
    expect_reject("dynamodb", "unsigned target", m, &o, DX_E_INVALID_SIGNATURE,
                  "'X-Amz-Target' must be a 'SignedHeader' in the AWS Authorization.");
    o.require_dynamodb_headers = 0;
    assert_int_equal(verify_treq(m, &o, &err), DX_OK);

    dx_error_clear(&err);
    free(r);
    free(m);
}

/* A GetItem signed by botocore 1.29 (SigV4Auth, clock fixed at 2024-01-02T03:04:05Z, with a
 * session token): the server must accept what the SDK sends, and nothing else. */
static void test_botocore_request(void **state)
{
    (void)state;
    struct treq *r = calloc(1, sizeof *r), *m = calloc(1, sizeof *m);
    dynamo_request(r, "DynamoDB_20120810.GetItem");
    add_header(r, "X-Amz-Security-Token", "tok/en+==");
    add_header(r, "Authorization",
               "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20240102/us-east-1/dynamodb/aws4_request, "
               "SignedHeaders=content-type;host;x-amz-date;x-amz-security-token;x-amz-target, "
               "Signature=0b30a6d6e21856e5d5059f6c14facf4f93c3089cc908b78a6d07d39ce86c7152");
    struct px_sigv4_verify_opts o = dynamo_opts();
    struct dx_error err = {0};
    assert_int_equal(verify_treq(r, &o, &err), DX_OK);
    *m = *r;
    strcpy(m->values[4], "tok/en+=");
    expect_reject("botocore", "token", m, &o, DX_E_INVALID_SIGNATURE, MISMATCH);
    *m = *r;
    m->body[0] = '[';
    expect_reject("botocore", "body", m, &o, DX_E_INVALID_SIGNATURE, MISMATCH);
    dx_error_clear(&err);
    free(r);
    free(m);
}

/* The worked example of the AWS General Reference (IAM ListUsers). */
static void test_aws_doc_example(void **state)
{
    (void)state;
    struct treq *r = calloc(1, sizeof *r);
    strcpy(r->method, "GET");
    strcpy(r->path, "/");
    strcpy(r->query, "Action=ListUsers&Version=2010-05-08");
    add_header(r, "Content-Type", "application/x-www-form-urlencoded; charset=utf-8");
    add_header(r, "Host", "iam.amazonaws.com");
    add_header(r, "X-Amz-Date", "20150830T123600Z");
    struct px_sigv4_request v;
    treq_view(r, &v);
    struct px_sigv4_params p = {"AKIDEXAMPLE",      g_secret, "us-east-1", "iam",
                                "20150830T123600Z", 1,        NULL,        0};
    struct px_sigv4_result res;
    px_sigv4_result_init(&res);
    assert_int_equal(px_sigv4_sign(&v, &p, &res), DX_OK);
    assert_string_equal(res.signature.p,
                        "5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7");
    px_sigv4_result_deinit(&res);
    free(r);
}

/* The authentication errors DynamoDB sends, with their exact texts. */
struct err_case {
    const char *auth;  /* Authorization value, or NULL */
    const char *query; /* query string */
    const char *date;  /* X-Amz-Date value, or NULL */
    enum dx_errcode code;
    const char *msg;
};

static const struct err_case err_cases[] = {
    {NULL, "", "20240102T030405Z", DX_E_MISSING_AUTH_TOKEN,
     "Request is missing Authentication Token"},
    {"Basic dXNlcjpwYXNz", "", "20240102T030405Z", DX_E_MISSING_AUTH_TOKEN,
     "Request is missing Authentication Token"},
    {"AWS4-HMAC-SHA256 Credential=a/b/c/d/e, SignedHeaders=host, Signature=00", "X-Amz-Algorithm=x",
     "20240102T030405Z", DX_E_INVALID_SIGNATURE,
     "Found both 'X-Amz-Algorithm' as a query-string param and 'Authorization' as HTTP header."},
    {"AWS4-HMAC-SHA256", "", NULL, DX_E_INCOMPLETE_SIGNATURE,
     "Authorization header requires 'Credential' parameter. Authorization header requires "
     "'Signature' parameter. Authorization header requires 'SignedHeaders' parameter. "
     "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header. "
     "Authorization=AWS4-HMAC-SHA256"},
    {"AWS4-HMAC-SHA256 Credential=a/b/c/d/e, SignedHeaders=host", "", "20240102T030405Z",
     DX_E_INCOMPLETE_SIGNATURE,
     "Authorization header requires 'Signature' parameter. "
     "Authorization=AWS4-HMAC-SHA256 Credential=a/b/c/d/e, SignedHeaders=host"},
    {"AWS4-HMAC-SHA25 Credential=a/b/c/d/e, SignedHeaders=host, Signature=00", "",
     "20240102T030405Z", DX_E_INCOMPLETE_SIGNATURE,
     "Unsupported AWS 'algorithm': 'AWS4-HMAC-SHA25' (only AWS4-HMAC-SHA256 for now). "},
    {"AWS4-HMAC-SHA256 Credential=a/b/c/d/e, SignedHeaders=host, Signature=00", "", "201",
     DX_E_INCOMPLETE_SIGNATURE,
     "Date must be in ISO-8601 'basic format'. Got '201'. See "
     "http://en.wikipedia.org/wiki/ISO_8601"},
    {"AWS4-HMAC-SHA256 Credential=a/b/c/d, SignedHeaders=host, Signature=00", "",
     "20240102T030405Z", DX_E_INCOMPLETE_SIGNATURE,
     "Credential must have exactly 5 slash-delimited elements, e.g. "
     "keyid/date/region/service/term, got 'a/b/c/d'"},
    {"AWS4-HMAC-SHA256 Credential=a/b/c/d/e, SignedHeaders=host, Signature=00", "",
     "20240102T030405Z", DX_E_INVALID_SIGNATURE,
     "Credential should be scoped to a valid region, not 'c'. "},
    {"AWS4-HMAC-SHA256 Credential=a/b/us-east-1/d/e, SignedHeaders=host, Signature=00", "",
     "20240102T030405Z", DX_E_INVALID_SIGNATURE,
     "Credential should be scoped to correct service: 'dynamodb'. "},
    {"AWS4-HMAC-SHA256 Credential=a/b/us-east-1/dynamodb/e, SignedHeaders=host, Signature=00", "",
     "20240102T030405Z", DX_E_INVALID_SIGNATURE,
     "Credential should be scoped with a valid terminator: 'aws4_request', not 'e'. "},
    {"AWS4-HMAC-SHA256 Credential=a/b/us-east-1/dynamodb/aws4_request, SignedHeaders=host, "
     "Signature=00",
     "", "20240102T030405Z", DX_E_INVALID_SIGNATURE,
     "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: "
     "'b' != '20240102', from '20240102T030405Z'."},
    {"AWS4-HMAC-SHA256 Credential=a/20240102/us-east-1/dynamodb/aws4_request, "
     "SignedHeaders=x-amz-date, Signature=00",
     "", "20240102T030405Z", DX_E_INVALID_SIGNATURE,
     "'Host' must be a 'SignedHeader' in the AWS Authorization."},
    {"AWS4-HMAC-SHA256 Credential=nobody/20240102/us-east-1/dynamodb/aws4_request, "
     "SignedHeaders=host;x-amz-date, Signature=00",
     "", "20240102T030405Z", DX_E_UNRECOGNIZED_CLIENT,
     "The security token included in the request is invalid."},
    {"AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20240102/us-east-1/dynamodb/aws4_request, "
     "SignedHeaders=host;x-amz-date, Signature=00",
     "", "20240102T030405Z", DX_E_INVALID_SIGNATURE, MISMATCH},
    {NULL, "X-Amz-Algorithm=AWS4-HMAC-SHA256", NULL, DX_E_INCOMPLETE_SIGNATURE,
     "AWS query-string parameters must include 'X-Amz-Credential'. AWS query-string parameters "
     "must include 'X-Amz-Signature'. AWS query-string parameters must include "
     "'X-Amz-SignedHeaders'. AWS query-string parameters must include 'X-Amz-Date'. "
     "Re-examine the query-string parameters."},
};

static void test_errors(void **state)
{
    (void)state;
    struct px_sigv4_verify_opts o = {0};
    o.region = "us-east-1";
    o.normalize_path = 1;
    o.lookup = lookup;
    assert_int_equal(px_sigv4_parse_amz_date("20240102T030405Z", 16, &o.now), DX_OK);
    struct treq *r = calloc(1, sizeof *r);
    for (size_t i = 0; i < sizeof err_cases / sizeof err_cases[0]; i++) {
        const struct err_case *c = &err_cases[i];
        memset(r, 0, sizeof *r);
        strcpy(r->method, "POST");
        strcpy(r->path, "/");
        snprintf(r->query, sizeof r->query, "%s", c->query);
        add_header(r, "Host", "localhost");
        if (c->date)
            add_header(r, "X-Amz-Date", c->date);
        if (c->auth)
            add_header(r, "Authorization", c->auth);
        char what[32];
        snprintf(what, sizeof what, "error case %zu", i);
        expect_reject("errors", what, r, &o, c->code, c->msg);
    }
    free(r);
}

static void test_parse_date(void **state)
{
    (void)state;
    int64_t t = 0;
    assert_int_equal(px_sigv4_parse_amz_date("19700101T000000Z", 16, &t), DX_OK);
    assert_int_equal(t, 0);
    assert_int_equal(px_sigv4_parse_amz_date("20150830T123600Z", 16, &t), DX_OK);
    assert_int_equal(t, 1440938160);
    assert_int_equal(px_sigv4_parse_amz_date("20150830 123600Z", 16, &t), DX_EINVAL);
    assert_int_equal(px_sigv4_parse_amz_date("20151330T123600Z", 16, &t), DX_EINVAL);
    assert_int_equal(px_sigv4_parse_amz_date("2015-08-30T12:36:00Z", 20, &t), DX_EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_vectors),         cmocka_unit_test(test_dynamodb_request),
        cmocka_unit_test(test_aws_doc_example), cmocka_unit_test(test_botocore_request),
        cmocka_unit_test(test_errors),          cmocka_unit_test(test_parse_date),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
