/*
 * px_sigv4: AWS Signature Version 4, signer and verifier, without any I/O.
 *
 * The canonical request follows the published algorithm and the awslabs test suite: the path
 * is (optionally) normalised then URI-encoded byte by byte; query names and values are decoded,
 * re-encoded with RFC 3986 rules and sorted; header names are lowercased and sorted, values
 * trimmed with inner whitespace runs collapsed and repeated headers joined with commas. The
 * verifier reproduces DynamoDB's checks in its order and its exact error texts (see
 * shared/notes/errors-auth-and-reliability.md section 2). Secrets never appear in errors.
 */
#include "px_sigv4.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "dx_alloc.h"
#include "dx_status.h"

/* ---- small helpers ---- */

static void sha256(const void *data, size_t n, unsigned char out[32])
{
    unsigned int len = 32;
    EVP_Digest(data, n, out, &len, EVP_sha256(), NULL);
}

static void hmac256(const void *key, size_t klen, const void *data, size_t n, unsigned char out[32])
{
    unsigned int len = 32;
    HMAC(EVP_sha256(), key, (int)klen, data, n, out, &len);
}

static void put_hex(struct dx_buf *b, const unsigned char *p, size_t n)
{
    static const char hx[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        dx_buf_putc(b, hx[p[i] >> 4]);
        dx_buf_putc(b, hx[p[i] & 15]);
    }
}

static int is_unreserved(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '_' || c == '.' || c == '~';
}

/* RFC 3986 encoding as SigV4 wants it: unreserved bytes stay, everything else is %XX (upper). */
static void uri_encode(struct dx_buf *b, const char *s, size_t n, int keep_slash)
{
    static const char hx[] = "0123456789ABCDEF";
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (is_unreserved(c) || (keep_slash && c == '/')) {
            dx_buf_putc(b, (char)c);
        } else {
            char e[3] = {'%', hx[c >> 4], hx[c & 15]};
            dx_buf_append(b, e, 3);
        }
    }
}

static int hexval(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Percent-decoding of one query component; a malformed escape is kept literally. */
static void pct_decode(struct dx_buf *b, const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '%' && i + 2 < n) {
            int h = hexval((unsigned char)s[i + 1]), l = hexval((unsigned char)s[i + 2]);
            if (h >= 0 && l >= 0) {
                dx_buf_putc(b, (char)(h * 16 + l));
                i += 2;
                continue;
            }
        }
        dx_buf_putc(b, s[i]);
    }
}

static int ieq(const char *a, size_t an, const char *b)
{
    size_t bn = strlen(b);
    return an == bn && strncasecmp(a, b, an) == 0;
}

static void format_amz_date(int64_t t, char out[17])
{
    time_t tt = (time_t)t;
    struct tm tm;
    gmtime_r(&tt, &tm);
    strftime(out, 17, "%Y%m%dT%H%M%SZ", &tm);
}

int px_sigv4_parse_amz_date(const char *s, size_t n, int64_t *out)
{
    if (n != 16 || s[8] != 'T' || s[15] != 'Z')
        return DX_EINVAL;
    for (size_t i = 0; i < 15; i++)
        if (i != 8 && !isdigit((unsigned char)s[i]))
            return DX_EINVAL;
    struct tm tm = {0};
    char tmp[5];
    memcpy(tmp, s, 4), tmp[4] = 0, tm.tm_year = atoi(tmp) - 1900;
    memcpy(tmp, s + 4, 2), tmp[2] = 0, tm.tm_mon = atoi(tmp) - 1;
    memcpy(tmp, s + 6, 2), tmp[2] = 0, tm.tm_mday = atoi(tmp);
    memcpy(tmp, s + 9, 2), tmp[2] = 0, tm.tm_hour = atoi(tmp);
    memcpy(tmp, s + 11, 2), tmp[2] = 0, tm.tm_min = atoi(tmp);
    memcpy(tmp, s + 13, 2), tmp[2] = 0, tm.tm_sec = atoi(tmp);
    if (tm.tm_mon < 0 || tm.tm_mon > 11 || tm.tm_mday < 1 || tm.tm_mday > 31 || tm.tm_hour > 23 ||
        tm.tm_min > 59 || tm.tm_sec > 60)
        return DX_EINVAL;
    *out = (int64_t)timegm(&tm);
    return DX_OK;
}

/* ---- canonical request ---- */

static void canonical_path(struct dx_buf *out, const char *p, size_t n, int normalize)
{
    if (n == 0) {
        dx_buf_putc(out, '/');
        return;
    }
    if (!normalize) {
        uri_encode(out, p, n, 1);
        return;
    }
    /* Segments kept so far, as (offset, length) into p; "." and empty ones vanish, ".." pops. */
    size_t cap = n / 2 + 2, cnt = 0;
    size_t *off = dx_malloc(cap * sizeof *off), *len = dx_malloc(cap * sizeof *len);
    size_t i = 0;
    while (i <= n) {
        size_t j = i;
        while (j < n && p[j] != '/')
            j++;
        size_t sl = j - i;
        if (sl == 0 || (sl == 1 && p[i] == '.')) {
            /* nothing */
        } else if (sl == 2 && p[i] == '.' && p[i + 1] == '.') {
            if (cnt > 0)
                cnt--;
        } else {
            off[cnt] = i, len[cnt] = sl, cnt++;
        }
        i = j + 1;
    }
    dx_buf_putc(out, '/');
    for (size_t k = 0; k < cnt; k++) {
        uri_encode(out, p + off[k], len[k], 0);
        if (k + 1 < cnt)
            dx_buf_putc(out, '/');
    }
    if (cnt > 0 && p[n - 1] == '/')
        dx_buf_putc(out, '/');
    dx_free(off);
    dx_free(len);
}

struct qpair {
    char *name;
    char *value;
};

static int qpair_cmp(const void *a, const void *b)
{
    const struct qpair *x = a, *y = b;
    int c = strcmp(x->name, y->name);
    return c ? c : strcmp(x->value, y->value);
}

/* Appends the canonical query; parameters named skip (decoded) are left out (X-Amz-Signature). */
static void canonical_query(struct dx_buf *out, const char *q, size_t n, const char *skip)
{
    size_t cap = 8, cnt = 0;
    struct qpair *v = dx_malloc(cap * sizeof *v);
    struct dx_buf tmp = DX_BUF_INIT, enc = DX_BUF_INIT;
    size_t i = 0;
    while (i < n) {
        size_t j = i;
        while (j < n && q[j] != '&')
            j++;
        if (j > i) {
            size_t eq = i;
            while (eq < j && q[eq] != '=')
                eq++;
            struct qpair pr;
            dx_buf_reset(&tmp);
            pct_decode(&tmp, q + i, eq - i);
            if (skip && tmp.len == strlen(skip) && memcmp(tmp.p, skip, tmp.len) == 0) {
                i = j + 1;
                continue;
            }
            dx_buf_reset(&enc);
            uri_encode(&enc, tmp.p ? tmp.p : "", tmp.len, 0);
            pr.name = dx_strndup(enc.p ? enc.p : "", enc.len);
            dx_buf_reset(&tmp);
            if (eq < j)
                pct_decode(&tmp, q + eq + 1, j - eq - 1);
            dx_buf_reset(&enc);
            uri_encode(&enc, tmp.p ? tmp.p : "", tmp.len, 0);
            pr.value = dx_strndup(enc.p ? enc.p : "", enc.len);
            if (cnt == cap) {
                cap *= 2;
                v = dx_realloc(v, cap * sizeof *v);
            }
            v[cnt++] = pr;
        }
        i = j + 1;
    }
    qsort(v, cnt, sizeof *v, qpair_cmp);
    for (size_t k = 0; k < cnt; k++) {
        if (k)
            dx_buf_putc(out, '&');
        dx_buf_puts(out, v[k].name);
        dx_buf_putc(out, '=');
        dx_buf_puts(out, v[k].value);
        dx_free(v[k].name);
        dx_free(v[k].value);
    }
    dx_free(v);
    dx_buf_deinit(&tmp);
    dx_buf_deinit(&enc);
}

/* Appends a header value trimmed, with every run of whitespace (folded lines too) as one space. */
static void put_trimmed(struct dx_buf *out, const char *s, size_t n)
{
    size_t i = 0;
    while (i < n && isspace((unsigned char)s[i]))
        i++;
    while (n > i && isspace((unsigned char)s[n - 1]))
        n--;
    int sp = 0;
    for (; i < n; i++) {
        if (isspace((unsigned char)s[i])) {
            sp = 1;
            continue;
        }
        if (sp)
            dx_buf_putc(out, ' ');
        sp = 0;
        dx_buf_putc(out, s[i]);
    }
}

static int str_cmp(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The sorted, lowercased, de-duplicated list of signed names (malloc'd strings). */
static char **sorted_names(const struct px_sigv4_request *req, const char *const *names,
                           size_t nnames, size_t *count)
{
    size_t cap = (names ? nnames : req->nheaders) + 1, cnt = 0;
    char **v = dx_malloc(cap * sizeof *v);
    for (size_t i = 0; i < (names ? nnames : req->nheaders); i++) {
        const char *nm = names ? names[i] : req->headers[i].name;
        size_t nl = names ? strlen(names[i]) : req->headers[i].name_len;
        char *s = dx_strndup(nm, nl);
        for (char *c = s; *c; c++)
            *c = (char)tolower((unsigned char)*c);
        int dup = 0;
        for (size_t k = 0; k < cnt && !dup; k++)
            dup = strcmp(v[k], s) == 0;
        if (dup)
            dx_free(s);
        else
            v[cnt++] = s;
    }
    qsort(v, cnt, sizeof *v, str_cmp);
    *count = cnt;
    return v;
}

static void free_names(char **v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        dx_free(v[i]);
    dx_free(v);
}

static void canonical_request_full(const struct px_sigv4_request *req, int normalize, char **names,
                                   size_t nnames, const char *skip_param, const char *payload_hash,
                                   struct dx_buf *out)
{
    dx_buf_append(out, req->method, req->method_len);
    dx_buf_putc(out, '\n');
    canonical_path(out, req->path, req->path_len, normalize);
    dx_buf_putc(out, '\n');
    canonical_query(out, req->query ? req->query : "", req->query_len, skip_param);
    dx_buf_putc(out, '\n');
    for (size_t k = 0; k < nnames; k++) {
        dx_buf_puts(out, names[k]);
        dx_buf_putc(out, ':');
        int first = 1;
        for (size_t i = 0; i < req->nheaders; i++) {
            const struct px_sigv4_header *h = &req->headers[i];
            if (!ieq(h->name, h->name_len, names[k]))
                continue;
            if (!first)
                dx_buf_putc(out, ',');
            first = 0;
            put_trimmed(out, h->value, h->value_len);
        }
        dx_buf_putc(out, '\n');
    }
    dx_buf_putc(out, '\n');
    for (size_t k = 0; k < nnames; k++) {
        if (k)
            dx_buf_putc(out, ';');
        dx_buf_puts(out, names[k]);
    }
    dx_buf_putc(out, '\n');
    if (payload_hash) {
        dx_buf_puts(out, payload_hash);
    } else {
        unsigned char h[32];
        sha256(req->body ? req->body : "", req->body_len, h);
        put_hex(out, h, 32);
    }
}

void px_sigv4_canonical_request(const struct px_sigv4_request *req, int normalize_path,
                                const char *const *signed_headers, size_t nsigned,
                                struct dx_buf *out)
{
    size_t n;
    char **names = sorted_names(req, signed_headers, nsigned, &n);
    canonical_request_full(req, normalize_path, names, n, NULL, NULL, out);
    free_names(names, n);
}

/* ---- signing key (cached per thread for one secret/date/region/service) ---- */

struct key_cache {
    int valid;
    unsigned char secret_hash[32];
    char date[9];
    char region[64];
    char service[64];
    unsigned char key[32];
};

static __thread struct key_cache tl_cache;

static void signing_key(const char *secret, const char *date8, const char *region,
                        const char *service, unsigned char key[32])
{
    unsigned char sh[32];
    sha256(secret, strlen(secret), sh);
    struct key_cache *c = &tl_cache;
    if (c->valid && CRYPTO_memcmp(c->secret_hash, sh, 32) == 0 && strcmp(c->date, date8) == 0 &&
        strcmp(c->region, region) == 0 && strcmp(c->service, service) == 0) {
        memcpy(key, c->key, 32);
        return;
    }
    struct dx_buf k = DX_BUF_INIT;
    dx_buf_puts(&k, "AWS4");
    dx_buf_puts(&k, secret);
    unsigned char a[32], b[32];
    hmac256(k.p, k.len, date8, strlen(date8), a);
    OPENSSL_cleanse(k.p, k.len);
    dx_buf_deinit(&k);
    hmac256(a, 32, region, strlen(region), b);
    hmac256(b, 32, service, strlen(service), a);
    hmac256(a, 32, "aws4_request", 12, key);
    if (strlen(region) < sizeof c->region && strlen(service) < sizeof c->service) {
        c->valid = 1;
        memcpy(c->secret_hash, sh, 32);
        memcpy(c->date, date8, 8);
        c->date[8] = 0;
        strcpy(c->region, region);
        strcpy(c->service, service);
        memcpy(c->key, key, 32);
    }
}

/* string to sign + signature from a finished canonical request */
static void finish(const char *amz_date, const char *scope, const char *secret, const char *region,
                   const char *service, struct px_sigv4_result *out)
{
    unsigned char h[32], key[32], sig[32];
    char date8[9];
    memcpy(date8, amz_date, 8);
    date8[8] = 0;
    sha256(out->canonical_request.p, out->canonical_request.len, h);
    dx_buf_reset(&out->string_to_sign);
    dx_buf_printf(&out->string_to_sign, "%s\n%s\n%s\n", PX_SIGV4_ALGORITHM, amz_date, scope);
    put_hex(&out->string_to_sign, h, 32);
    signing_key(secret, date8, region, service, key);
    hmac256(key, 32, out->string_to_sign.p, out->string_to_sign.len, sig);
    OPENSSL_cleanse(key, sizeof key);
    dx_buf_reset(&out->signature);
    put_hex(&out->signature, sig, 32);
}

void px_sigv4_result_init(struct px_sigv4_result *r)
{
    dx_buf_init(&r->canonical_request);
    dx_buf_init(&r->string_to_sign);
    dx_buf_init(&r->signature);
    dx_buf_init(&r->authorization);
    dx_buf_init(&r->signed_headers);
}

void px_sigv4_result_deinit(struct px_sigv4_result *r)
{
    dx_buf_deinit(&r->canonical_request);
    dx_buf_deinit(&r->string_to_sign);
    dx_buf_deinit(&r->signature);
    dx_buf_deinit(&r->authorization);
    dx_buf_deinit(&r->signed_headers);
}

static int params_ok(const struct px_sigv4_params *p)
{
    return p->access_key && p->secret_key && p->region && p->service && p->amz_date &&
           strlen(p->amz_date) == 16;
}

int px_sigv4_sign(const struct px_sigv4_request *req, const struct px_sigv4_params *p,
                  struct px_sigv4_result *out)
{
    if (!params_ok(p))
        return DX_EINVAL;
    size_t n;
    char **names = sorted_names(req, p->signed_headers, p->nsigned, &n);
    dx_buf_reset(&out->canonical_request);
    canonical_request_full(req, p->normalize_path, names, n, NULL, NULL, &out->canonical_request);
    dx_buf_reset(&out->signed_headers);
    for (size_t k = 0; k < n; k++) {
        if (k)
            dx_buf_putc(&out->signed_headers, ';');
        dx_buf_puts(&out->signed_headers, names[k]);
    }
    free_names(names, n);
    char scope[256];
    snprintf(scope, sizeof scope, "%.8s/%s/%s/aws4_request", p->amz_date, p->region, p->service);
    finish(p->amz_date, scope, p->secret_key, p->region, p->service, out);
    dx_buf_reset(&out->authorization);
    dx_buf_printf(&out->authorization, "%s Credential=%s/%s, SignedHeaders=%s, Signature=%s",
                  PX_SIGV4_ALGORITHM, p->access_key, scope, out->signed_headers.p,
                  out->signature.p);
    return DX_OK;
}

int px_sigv4_presign(const struct px_sigv4_request *req, const struct px_sigv4_params *p,
                     const char *session_token, long expires, struct px_sigv4_result *out)
{
    if (!params_ok(p))
        return DX_EINVAL;
    size_t n;
    char **names = sorted_names(req, p->signed_headers, p->nsigned, &n);
    dx_buf_reset(&out->signed_headers);
    for (size_t k = 0; k < n; k++) {
        if (k)
            dx_buf_putc(&out->signed_headers, ';');
        dx_buf_puts(&out->signed_headers, names[k]);
    }
    char scope[256];
    snprintf(scope, sizeof scope, "%.8s/%s/%s/aws4_request", p->amz_date, p->region, p->service);
    /* The query as sent: the request's own parameters, then the X-Amz-* ones. */
    struct dx_buf q = DX_BUF_INIT, cred = DX_BUF_INIT;
    if (req->query_len) {
        dx_buf_append(&q, req->query, req->query_len);
        dx_buf_putc(&q, '&');
    }
    dx_buf_printf(&cred, "%s/%s", p->access_key, scope);
    dx_buf_puts(&q, "X-Amz-Algorithm=" PX_SIGV4_ALGORITHM "&X-Amz-Credential=");
    uri_encode(&q, cred.p, cred.len, 0);
    dx_buf_printf(&q, "&X-Amz-Date=%s&X-Amz-SignedHeaders=", p->amz_date);
    uri_encode(&q, out->signed_headers.p, out->signed_headers.len, 0);
    dx_buf_printf(&q, "&X-Amz-Expires=%ld", expires);
    if (session_token) {
        dx_buf_puts(&q, "&X-Amz-Security-Token=");
        uri_encode(&q, session_token, strlen(session_token), 0);
    }
    struct px_sigv4_request r2 = *req;
    r2.query = q.p;
    r2.query_len = q.len;
    dx_buf_reset(&out->canonical_request);
    canonical_request_full(&r2, p->normalize_path, names, n, NULL, NULL, &out->canonical_request);
    free_names(names, n);
    finish(p->amz_date, scope, p->secret_key, p->region, p->service, out);
    dx_buf_reset(&out->authorization);
    dx_buf_append(&out->authorization, q.p, q.len);
    dx_buf_printf(&out->authorization, "&X-Amz-Signature=%s", out->signature.p);
    dx_buf_deinit(&q);
    dx_buf_deinit(&cred);
    return DX_OK;
}

/* ---- verifier ---- */

static const char MSG_MISMATCH[] =
    "The request signature we calculated does not match the signature you provided. Check your "
    "AWS Secret Access Key and signing method. Consult the service documentation for details.";

static const struct px_sigv4_header *find_header(const struct px_sigv4_request *req,
                                                 const char *name)
{
    for (size_t i = 0; i < req->nheaders; i++)
        if (ieq(req->headers[i].name, req->headers[i].name_len, name))
            return &req->headers[i];
    return NULL;
}

/* The decoded value of query parameter name (first occurrence) in a malloc'd string, or NULL. */
static char *query_param(const struct px_sigv4_request *req, const char *name)
{
    const char *q = req->query ? req->query : "";
    size_t n = req->query_len, i = 0;
    while (i < n) {
        size_t j = i;
        while (j < n && q[j] != '&')
            j++;
        size_t eq = i;
        while (eq < j && q[eq] != '=')
            eq++;
        struct dx_buf b = DX_BUF_INIT;
        pct_decode(&b, q + i, eq - i);
        int match = b.len == strlen(name) && memcmp(b.p, name, b.len) == 0;
        dx_buf_reset(&b);
        if (match) {
            if (eq < j)
                pct_decode(&b, q + eq + 1, j - eq - 1);
            dx_buf_putc(&b, 0);
            return dx_buf_steal(&b, NULL);
        }
        dx_buf_deinit(&b);
        i = j + 1;
    }
    return NULL;
}

/* Parsed authentication parts (malloc'd, NULL when absent). */
struct auth_parts {
    char *algorithm, *credential, *signed_headers, *signature, *date, *expires;
};

static void parts_free(struct auth_parts *a)
{
    dx_free(a->algorithm);
    dx_free(a->credential);
    dx_free(a->signed_headers);
    dx_free(a->signature);
    dx_free(a->date);
    dx_free(a->expires);
}

/* "AWS4-HMAC-SHA256 Credential=..., SignedHeaders=..., Signature=..." with ',' and/or ' '
 * between the parts (Alternator #9568: some clients omit the space). */
static void parse_auth_header(const char *s, size_t n, struct auth_parts *a)
{
    size_t i = 0;
    while (i < n && s[i] != ' ' && s[i] != ',')
        i++;
    a->algorithm = dx_strndup(s, i);
    while (i < n) {
        while (i < n && (s[i] == ' ' || s[i] == ','))
            i++;
        size_t j = i;
        while (j < n && s[j] != ' ' && s[j] != ',')
            j++;
        size_t eq = i;
        while (eq < j && s[eq] != '=')
            eq++;
        if (eq < j && eq + 1 < j) {
            char **dst = NULL;
            if (ieq(s + i, eq - i, "Credential"))
                dst = &a->credential;
            else if (ieq(s + i, eq - i, "SignedHeaders"))
                dst = &a->signed_headers;
            else if (ieq(s + i, eq - i, "Signature"))
                dst = &a->signature;
            if (dst && !*dst)
                *dst = dx_strndup(s + eq + 1, j - eq - 1);
        }
        i = j;
    }
}

static int auth_error(struct dx_error *err, enum dx_errcode code, const char *msg)
{
    return dx_error_set(err, code, "%s", msg);
}

int px_sigv4_verify(const struct px_sigv4_request *req, const struct px_sigv4_verify_opts *o,
                    struct dx_error *err)
{
    const struct px_sigv4_header *auth = find_header(req, "authorization");
    char *qalg = query_param(req, "X-Amz-Algorithm");
    struct auth_parts a = {0};
    int rc = DX_OK, presigned = 0;
    char **names = NULL;
    size_t nnames = 0;
    struct px_sigv4_result res;
    px_sigv4_result_init(&res);

    if (auth && qalg) {
        rc = auth_error(err, DX_E_INVALID_SIGNATURE,
                        "Found both 'X-Amz-Algorithm' as a query-string param and "
                        "'Authorization' as HTTP header.");
        goto out;
    }
    if ((!auth && !qalg) || (auth && (auth->value_len < 5 || memcmp(auth->value, "AWS4-", 5)))) {
        rc = auth_error(err, DX_E_MISSING_AUTH_TOKEN, "Request is missing Authentication Token");
        goto out;
    }
    const struct px_sigv4_header *dh = find_header(req, "x-amz-date");
    struct dx_buf msg = DX_BUF_INIT;
    if (auth) {
        parse_auth_header(auth->value, auth->value_len, &a);
        if (!a.credential)
            dx_buf_puts(&msg, "Authorization header requires 'Credential' parameter. ");
        if (!a.signature)
            dx_buf_puts(&msg, "Authorization header requires 'Signature' parameter. ");
        if (!a.signed_headers)
            dx_buf_puts(&msg, "Authorization header requires 'SignedHeaders' parameter. ");
        if (!dh && !find_header(req, "date"))
            dx_buf_puts(&msg, "Authorization header requires existence of either a "
                              "'X-Amz-Date' or a 'Date' header. ");
        if (msg.len) {
            dx_buf_puts(&msg, "Authorization=");
            dx_buf_append(&msg, auth->value, auth->value_len);
        }
        if (dh)
            a.date = dx_strndup(dh->value, dh->value_len);
        else if ((dh = find_header(req, "date")))
            a.date = dx_strndup(dh->value, dh->value_len);
    } else {
        presigned = 1;
        a.algorithm = qalg;
        qalg = NULL;
        a.credential = query_param(req, "X-Amz-Credential");
        a.signature = query_param(req, "X-Amz-Signature");
        a.signed_headers = query_param(req, "X-Amz-SignedHeaders");
        a.date = query_param(req, "X-Amz-Date");
        a.expires = query_param(req, "X-Amz-Expires");
        static const char *const req_params[] = {"X-Amz-Algorithm", "X-Amz-Credential",
                                                 "X-Amz-Signature", "X-Amz-SignedHeaders",
                                                 "X-Amz-Date"};
        char *have[] = {a.algorithm, a.credential, a.signature, a.signed_headers, a.date};
        for (size_t i = 0; i < 5; i++)
            if (!have[i] || !*have[i])
                dx_buf_printf(&msg, "AWS query-string parameters must include '%s'. ",
                              req_params[i]);
        if (msg.len)
            dx_buf_puts(&msg, "Re-examine the query-string parameters.");
    }
    if (msg.len) {
        rc = auth_error(err, DX_E_INCOMPLETE_SIGNATURE, msg.p);
        dx_buf_deinit(&msg);
        goto out;
    }
    dx_buf_deinit(&msg);

    if (strcmp(a.algorithm, PX_SIGV4_ALGORITHM) != 0) {
        rc = dx_error_set(err, DX_E_INCOMPLETE_SIGNATURE,
                          "Unsupported AWS 'algorithm': '%s' (only AWS4-HMAC-SHA256 for now). ",
                          a.algorithm);
        goto out;
    }
    int64_t t;
    if (px_sigv4_parse_amz_date(a.date, strlen(a.date), &t) != DX_OK) {
        rc = dx_error_set(err, DX_E_INCOMPLETE_SIGNATURE,
                          "Date must be in ISO-8601 'basic format'. Got '%s'. See "
                          "http://en.wikipedia.org/wiki/ISO_8601",
                          a.date);
        goto out;
    }

    /* Credential: key/date/region/service/aws4_request */
    const char *el[5];
    size_t ell[5], ne = 0;
    {
        const char *c = a.credential;
        const char *start = c;
        for (;; c++) {
            if (*c == '/' || *c == 0) {
                if (ne < 5) {
                    el[ne] = start;
                    ell[ne] = (size_t)(c - start);
                }
                ne++;
                start = c + 1;
                if (*c == 0)
                    break;
            }
        }
    }
    if (ne != 5) {
        rc = dx_error_set(err, DX_E_INCOMPLETE_SIGNATURE,
                          "Credential must have exactly 5 slash-delimited elements, e.g. "
                          "keyid/date/region/service/term, got '%s'",
                          a.credential);
        goto out;
    }
    if (strlen(o->region) != ell[2] || memcmp(el[2], o->region, ell[2]) != 0) {
        rc = dx_error_set(err, DX_E_INVALID_SIGNATURE,
                          "Credential should be scoped to a valid region, not '%.*s'. ",
                          (int)ell[2], el[2]);
        goto out;
    }
    int svc_ok = (ell[3] == 8 && memcmp(el[3], "dynamodb", 8) == 0) ||
                 (o->allow_test_service && ell[3] == 7 && memcmp(el[3], "service", 7) == 0);
    if (!svc_ok) {
        rc = auth_error(err, DX_E_INVALID_SIGNATURE,
                        "Credential should be scoped to correct service: 'dynamodb'. ");
        goto out;
    }
    if (ell[4] != 12 || memcmp(el[4], "aws4_request", 12) != 0) {
        rc = dx_error_set(err, DX_E_INVALID_SIGNATURE,
                          "Credential should be scoped with a valid terminator: 'aws4_request', "
                          "not '%.*s'. ",
                          (int)ell[4], el[4]);
        goto out;
    }
    if (ell[1] != 8 || memcmp(el[1], a.date, 8) != 0) {
        rc = dx_error_set(err, DX_E_INVALID_SIGNATURE,
                          "Date in Credential scope does not match YYYYMMDD from ISO-8601 version "
                          "of date from HTTP: '%.*s' != '%.8s', from '%s'.",
                          (int)ell[1], el[1], a.date, a.date);
        goto out;
    }

    /* Time: the request date within the skew window (presigned: also within X-Amz-Expires). */
    {
        char nowbuf[17], edge[17];
        format_amz_date(o->now, nowbuf);
        if (presigned) {
            long exp = a.expires ? strtol(a.expires, NULL, 10) : 0;
            if (a.expires && exp > 0 && o->now > t + exp) {
                format_amz_date(o->now - exp, edge);
                rc = dx_error_set(err, DX_E_INVALID_SIGNATURE,
                                  "Signature expired: %s is now earlier than %s (%s - %ld sec.)",
                                  a.date, edge, nowbuf, exp);
                goto out;
            }
        }
        if (!presigned && t < o->now - PX_SIGV4_SKEW_SECONDS) {
            format_amz_date(o->now - PX_SIGV4_SKEW_SECONDS, edge);
            rc = dx_error_set(err, DX_E_INVALID_SIGNATURE,
                              "Signature expired: %s is now earlier than %s (%s - 15 min.)", a.date,
                              edge, nowbuf);
            goto out;
        }
        if (t > o->now + PX_SIGV4_SKEW_SECONDS) {
            format_amz_date(o->now + PX_SIGV4_SKEW_SECONDS, edge);
            rc = dx_error_set(err, DX_E_INVALID_SIGNATURE,
                              "Signature not yet current: %s is still later than %s (%s + 15 min.)",
                              a.date, edge, nowbuf);
            goto out;
        }
    }

    /* Signed headers: split, then the required ones. */
    {
        size_t cnt = 1;
        for (const char *c = a.signed_headers; *c; c++)
            cnt += *c == ';';
        const char **list = dx_malloc(cnt * sizeof *list);
        char *copy = dx_strdup(a.signed_headers);
        size_t k = 0;
        for (char *save = NULL, *tok = strtok_r(copy, ";", &save); tok;
             tok = strtok_r(NULL, ";", &save))
            list[k++] = tok;
        names = sorted_names(req, list, k, &nnames);
        dx_free(list);
        dx_free(copy);
    }
    {
        int has_host = 0, has_date = 0, has_token = 0, has_target = 0, has_ct = 0;
        for (size_t k = 0; k < nnames; k++) {
            has_host |= strcmp(names[k], "host") == 0;
            has_date |= strcmp(names[k], "x-amz-date") == 0;
            has_token |= strcmp(names[k], "x-amz-security-token") == 0;
            has_target |= strcmp(names[k], "x-amz-target") == 0;
            has_ct |= strcmp(names[k], "content-type") == 0;
        }
        const char *missing = NULL;
        if (!has_host)
            missing = "Host";
        else if (!presigned && !has_date && find_header(req, "x-amz-date"))
            missing = "X-Amz-Date";
        else if (!presigned && !o->allow_unsigned_token && !has_token &&
                 find_header(req, "x-amz-security-token"))
            missing = "X-Amz-Security-Token";
        else if (o->require_dynamodb_headers && !has_target && find_header(req, "x-amz-target"))
            missing = "X-Amz-Target";
        else if (o->require_dynamodb_headers && !has_ct && find_header(req, "content-type"))
            missing = "Content-Type";
        if (missing) {
            rc = dx_error_set(err, DX_E_INVALID_SIGNATURE,
                              "'%s' must be a 'SignedHeader' in the AWS Authorization.", missing);
            goto out;
        }
    }

    /* Credentials. */
    const char *secret = NULL;
    if (!o->lookup || !o->lookup(o->lookup_ctx, el[0], ell[0], &secret) || !secret) {
        rc = auth_error(err, DX_E_UNRECOGNIZED_CLIENT,
                        "The security token included in the request is invalid.");
        goto out;
    }

    /* Payload hash: an x-amz-content-sha256 header must name the body's hash exactly. */
    unsigned char bh[32];
    char bhex[65];
    {
        struct dx_buf hb = DX_BUF_INIT;
        sha256(req->body ? req->body : "", req->body_len, bh);
        put_hex(&hb, bh, 32);
        memcpy(bhex, hb.p, 65);
        dx_buf_deinit(&hb);
        const struct px_sigv4_header *ch = find_header(req, "x-amz-content-sha256");
        if (ch && !presigned && (ch->value_len != 64 || memcmp(ch->value, bhex, 64) != 0)) {
            rc = auth_error(err, DX_E_INVALID_SIGNATURE, MSG_MISMATCH);
            goto out;
        }
    }

    {
        char scope[256], region[64], service[16];
        snprintf(region, sizeof region, "%.*s", (int)ell[2], el[2]);
        snprintf(service, sizeof service, "%.*s", (int)ell[3], el[3]);
        snprintf(scope, sizeof scope, "%.8s/%s/%s/aws4_request", a.date, region, service);
        canonical_request_full(req, o->normalize_path, names, nnames,
                               presigned ? "X-Amz-Signature" : NULL, bhex, &res.canonical_request);
        finish(a.date, scope, secret, region, service, &res);
        if (strlen(a.signature) != 64 || CRYPTO_memcmp(res.signature.p, a.signature, 64) != 0) {
            rc = auth_error(err, DX_E_INVALID_SIGNATURE, MSG_MISMATCH);
            goto out;
        }
    }

out:
    dx_free(qalg);
    parts_free(&a);
    if (names)
        free_names(names, nnames);
    px_sigv4_result_deinit(&res);
    return rc;
}
