/*
 * HTTP/1.1 request framing (RFC 9112), strict where sloppiness invites request smuggling or
 * header injection: a bare CR, a control byte or NUL in a field, whitespace before a colon,
 * obsolete line folding, a Content-Length that is not a plain decimal or that disagrees with
 * another, and Content-Length together with Transfer-Encoding are all rejected with 400.
 * Lenient where clients differ harmlessly: bare LF line ends and empty lines before the
 * request line are accepted, as nginx does.
 */
#include <stdint.h>
#include <string.h>
#include "px_http.h"

/* RFC 9110 tchar: the bytes of a token (methods, header names). */
static const unsigned char tchar[256] = {
    ['!'] = 1, ['#'] = 1, ['$'] = 1, ['%'] = 1, ['&'] = 1, ['\''] = 1, ['*'] = 1, ['+'] = 1,
    ['-'] = 1, ['.'] = 1, ['^'] = 1, ['_'] = 1, ['`'] = 1, ['|'] = 1,  ['~'] = 1, ['0'] = 1,
    ['1'] = 1, ['2'] = 1, ['3'] = 1, ['4'] = 1, ['5'] = 1, ['6'] = 1,  ['7'] = 1, ['8'] = 1,
    ['9'] = 1, ['A'] = 1, ['B'] = 1, ['C'] = 1, ['D'] = 1, ['E'] = 1,  ['F'] = 1, ['G'] = 1,
    ['H'] = 1, ['I'] = 1, ['J'] = 1, ['K'] = 1, ['L'] = 1, ['M'] = 1,  ['N'] = 1, ['O'] = 1,
    ['P'] = 1, ['Q'] = 1, ['R'] = 1, ['S'] = 1, ['T'] = 1, ['U'] = 1,  ['V'] = 1, ['W'] = 1,
    ['X'] = 1, ['Y'] = 1, ['Z'] = 1, ['a'] = 1, ['b'] = 1, ['c'] = 1,  ['d'] = 1, ['e'] = 1,
    ['f'] = 1, ['g'] = 1, ['h'] = 1, ['i'] = 1, ['j'] = 1, ['k'] = 1,  ['l'] = 1, ['m'] = 1,
    ['n'] = 1, ['o'] = 1, ['p'] = 1, ['q'] = 1, ['r'] = 1, ['s'] = 1,  ['t'] = 1, ['u'] = 1,
    ['v'] = 1, ['w'] = 1, ['x'] = 1, ['y'] = 1, ['z'] = 1,
};

void px_http_limits_default(struct px_http_limits *lim)
{
    lim->max_header_bytes = PX_HTTP_MAX_HEADER_BYTES;
    lim->max_body_bytes = PX_HTTP_MAX_BODY_BYTES;
}

void px_http_req_reset(struct px_http_req *req)
{
    memset(req, 0, sizeof(*req));
}

static int lower(int c)
{
    return (c >= 'A' && c <= 'Z') ? c + ('a' - 'A') : c;
}

int px_str_ieq(struct px_str s, const char *lit)
{
    size_t n = strlen(lit);
    if (s.len != n)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (lower((unsigned char)s.p[i]) != lower((unsigned char)lit[i]))
            return 0;
    return 1;
}

int px_str_eq(struct px_str s, const char *lit)
{
    size_t n = strlen(lit);
    return s.len == n && (n == 0 || memcmp(s.p, lit, n) == 0);
}

static enum px_http_result fail(struct px_http_req *req, int status, const char *why)
{
    req->error_status = status;
    req->error = why;
    return PX_HTTP_ERROR;
}

/* Finds the end of the head: the offset just past the blank line, or 0 when not there yet. */
static size_t find_head_end(const char *buf, size_t len, size_t from)
{
    const char *p = buf + from, *end = buf + len;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        if (!nl)
            return 0;
        if (nl + 1 < end && nl[1] == '\n')
            return (size_t)(nl + 2 - buf);
        if (nl + 2 < end && nl[1] == '\r' && nl[2] == '\n')
            return (size_t)(nl + 3 - buf);
        p = nl + 1;
    }
    return 0;
}

/* Parses "1*DIGIT" into *out; 0 on success, -1 on anything else or overflow. */
static int parse_u64(const char *p, size_t n, uint64_t *out)
{
    uint64_t v = 0;
    if (n == 0 || n > 19) /* 19 digits always fit in 64 bits */
        return -1;
    for (size_t i = 0; i < n; i++) {
        if (p[i] < '0' || p[i] > '9')
            return -1;
        v = v * 10 + (uint64_t)(p[i] - '0');
    }
    *out = v;
    return 0;
}

/* Connection is a comma-separated token list; we care about "close" and "keep-alive". */
static void scan_connection(struct px_str v, int *close, int *keep)
{
    size_t i = 0;
    while (i < v.len) {
        while (i < v.len && (v.p[i] == ' ' || v.p[i] == '\t' || v.p[i] == ','))
            i++;
        size_t s = i;
        while (i < v.len && v.p[i] != ',' && v.p[i] != ' ' && v.p[i] != '\t')
            i++;
        struct px_str tok = {v.p + s, i - s};
        if (px_str_ieq(tok, "close"))
            *close = 1;
        else if (px_str_ieq(tok, "keep-alive"))
            *keep = 1;
    }
}

/*
 * Reads one line starting at *pos: sets *line and *llen to its content without the line end
 * and advances *pos past it. The caller guarantees a '\n' exists before end.
 */
static void next_line(const char *buf, size_t end, size_t *pos, const char **line, size_t *llen)
{
    const char *s = buf + *pos;
    const char *nl = memchr(s, '\n', end - *pos);
    size_t n = (size_t)(nl - s);
    *pos += n + 1;
    if (n > 0 && s[n - 1] == '\r')
        n--;
    *line = s;
    *llen = n;
}

static enum px_http_result parse_request_line(const char *l, size_t n, struct px_http_req *req)
{
    size_t i = 0;
    while (i < n && tchar[(unsigned char)l[i]])
        i++;
    if (i == 0 || i >= n || l[i] != ' ')
        return fail(req, 400, "bad method");
    req->method = (struct px_str){l, i};
    size_t ts = ++i;
    while (i < n && (unsigned char)l[i] > 0x20 && l[i] != 0x7f)
        i++;
    if (i == ts || i >= n || l[i] != ' ')
        return fail(req, 400, "bad request target");
    req->target = (struct px_str){l + ts, i - ts};
    i++;
    /* HTTP-version = "HTTP/" DIGIT "." DIGIT */
    if (n - i != 8 || memcmp(l + i, "HTTP/", 5) != 0 || l[i + 5] < '0' || l[i + 5] > '9' ||
        l[i + 6] != '.' || l[i + 7] < '0' || l[i + 7] > '9')
        return fail(req, 400, "bad HTTP version");
    if (l[i + 5] != '1')
        return fail(req, 505, "HTTP version not supported");
    req->version_minor = l[i + 7] == '0' ? 0 : 1;

    const char *q = memchr(req->target.p, '?', req->target.len);
    if (q) {
        req->path = (struct px_str){req->target.p, (size_t)(q - req->target.p)};
        req->query = (struct px_str){q + 1, req->target.len - req->path.len - 1};
    } else {
        req->path = req->target;
    }
    return PX_HTTP_DONE;
}

/* Whether one of the 8 bytes of x is below 0x20 or is 0x7f (DEL). The classic has-less-than
 * and has-zero-byte tests: exact about whether such a byte exists, which is all we ask. */
static int may_have_ctl(uint64_t x)
{
    const uint64_t ones = 0x0101010101010101ull, highs = 0x8080808080808080ull;
    uint64_t del = x ^ (ones * 0x7f);
    return (((x - ones * 0x20) & ~x) | ((del - ones) & ~del)) & highs ? 1 : 0;
}

static int is_ctl(unsigned char c)
{
    return (c < 0x20 && c != '\t') || c == 0x7f;
}

/* Checks a field value (after the colon) and trims optional whitespace around it. Every
 * header byte of every request passes here, so the check looks at 8 bytes at a time and only
 * byte by byte in a word that holds a control byte (or a tab, which is allowed). */
static int field_value(const char *p, size_t n, struct px_str *out)
{
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        uint64_t x;
        memcpy(&x, p + i, 8);
        if (may_have_ctl(x))
            for (size_t k = i; k < i + 8; k++)
                if (is_ctl((unsigned char)p[k]))
                    return -1; /* NUL, bare CR, other controls: header injection */
    }
    for (; i < n; i++)
        if (is_ctl((unsigned char)p[i]))
            return -1;
    while (n && (*p == ' ' || *p == '\t'))
        p++, n--;
    while (n && (p[n - 1] == ' ' || p[n - 1] == '\t'))
        n--;
    *out = (struct px_str){p, n};
    return 0;
}

static void set_once(struct px_str *dst, struct px_str v)
{
    if (!dst->p) /* the first occurrence wins; a later duplicate cannot override it */
        *dst = v;
}

static int name_is(const char *name, size_t n, const char *lit, size_t litlen)
{
    if (n != litlen)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (lower((unsigned char)name[i]) != lit[i])
            return 0;
    return 1;
}
#define NAME_IS(name, n, lit) name_is(name, n, lit, sizeof(lit) - 1)

enum px_http_result px_http_parse_head(const char *buf, size_t len,
                                       const struct px_http_limits *lim, struct px_http_req *req)
{
    size_t start = 0;
    /* Skip empty lines before the request line (RFC 9112 2.2). */
    while (start < len && (buf[start] == '\n' || buf[start] == '\r')) {
        if (buf[start] == '\r') {
            if (start + 1 >= len)
                break;
            if (buf[start + 1] != '\n')
                return fail(req, 400, "bare CR");
            start += 2;
        } else {
            start++;
        }
    }
    if (start >= len || (buf[start] == '\r' && start + 1 >= len)) {
        if (len > lim->max_header_bytes)
            return fail(req, 431, "header too large");
        return PX_HTTP_AGAIN;
    }

    size_t from = req->scanned > start + 2 ? req->scanned - 2 : start;
    size_t end = find_head_end(buf, len, from);
    if (!end) {
        if (len > lim->max_header_bytes)
            return fail(req, 431, "header too large");
        req->scanned = len;
        return PX_HTTP_AGAIN;
    }
    if (end > lim->max_header_bytes)
        return fail(req, 431, "header too large");

    size_t scanned = req->scanned;
    px_http_req_reset(req);
    req->scanned = scanned;
    req->head = buf + start;
    req->head_start = start;
    req->header_len = end;

    size_t pos = start;
    const char *line;
    size_t llen;
    next_line(buf, end, &pos, &line, &llen);
    if (memchr(line, '\r', llen) || memchr(line, '\0', llen))
        return fail(req, 400, "control byte in request line");
    enum px_http_result rc = parse_request_line(line, llen, req);
    if (rc != PX_HTTP_DONE)
        return rc;

    int conn_close = 0, conn_keep = 0, te = 0;
    for (;;) {
        next_line(buf, end, &pos, &line, &llen);
        if (llen == 0)
            break;
        if (line[0] == ' ' || line[0] == '\t')
            return fail(req, 400, "obsolete line folding");
        size_t i = 0;
        while (i < llen && tchar[(unsigned char)line[i]])
            i++;
        if (i == 0 || i >= llen || line[i] != ':')
            return fail(req, 400, "bad header field");
        const char *name = line;
        size_t nlen = i;
        struct px_str v;
        if (field_value(line + i + 1, llen - i - 1, &v) != 0)
            return fail(req, 400, "control byte in header value");

        switch (nlen) {
        case 4:
            if (NAME_IS(name, nlen, "host"))
                set_once(&req->host, v);
            else if (NAME_IS(name, nlen, "date"))
                set_once(&req->date, v);
            break;
        case 6:
            if (NAME_IS(name, nlen, "expect")) {
                if (!px_str_ieq(v, "100-continue"))
                    return fail(req, 417, "unsupported expectation");
                req->expect_continue = 1;
            } else if (NAME_IS(name, nlen, "origin")) {
                set_once(&req->origin, v);
            }
            break;
        case 10:
            if (NAME_IS(name, nlen, "connection"))
                scan_connection(v, &conn_close, &conn_keep);
            else if (NAME_IS(name, nlen, "x-amz-date"))
                set_once(&req->amz_date, v);
            break;
        case 12:
            if (NAME_IS(name, nlen, "content-type")) {
                set_once(&req->content_type, v);
                req->has_content_type = 1;
            } else if (NAME_IS(name, nlen, "x-amz-target")) {
                set_once(&req->amz_target, v);
            }
            break;
        case 13:
            if (NAME_IS(name, nlen, "authorization")) {
                set_once(&req->authorization, v);
                req->has_authorization = 1;
            }
            break;
        case 14:
            if (NAME_IS(name, nlen, "content-length")) {
                uint64_t cl;
                if (parse_u64(v.p, v.len, &cl) != 0)
                    return fail(req, 400, "bad Content-Length");
                if (req->has_content_length && cl != req->content_length)
                    return fail(req, 400, "conflicting Content-Length");
                req->content_length = cl;
                req->has_content_length = 1;
            }
            break;
        case 17:
            if (NAME_IS(name, nlen, "transfer-encoding")) {
                if (te || !px_str_ieq(v, "chunked"))
                    return fail(req, 501, "unsupported Transfer-Encoding");
                te = 1;
            }
            break;
        case 29:
            if (NAME_IS(name, nlen, "access-control-request-method"))
                set_once(&req->acr_method, v);
            break;
        case 30:
            if (NAME_IS(name, nlen, "access-control-request-headers"))
                set_once(&req->acr_headers, v);
            break;
        default:
            break;
        }
    }

    if (te && req->has_content_length)
        return fail(req, 400, "both Content-Length and Transfer-Encoding");
    req->chunked = te;
    req->keep_alive = req->version_minor >= 1 ? !conn_close : (conn_keep && !conn_close);
    if (req->content_length > lim->max_body_bytes)
        return fail(req, 413, "body too large");
    return PX_HTTP_DONE;
}

int px_http_header_next(const struct px_http_req *req, size_t *pos, struct px_str *name,
                        struct px_str *value)
{
    const char *h = req->head;
    size_t end = req->header_len - req->head_start;
    size_t p = *pos;
    const char *line;
    size_t llen;
    if (p == 0)
        next_line(h, end, &p, &line, &llen); /* the request line */
    if (p >= end)
        return 0;
    next_line(h, end, &p, &line, &llen);
    if (llen == 0) {
        *pos = end;
        return 0;
    }
    const char *colon = memchr(line, ':', llen);
    *name = (struct px_str){line, (size_t)(colon - line)};
    field_value(colon + 1, llen - (size_t)(colon - line) - 1, value);
    *pos = p;
    return 1;
}

static int hexval(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c = lower(c);
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

#define CHUNK_LINE_MAX 4096 /* a chunk-size line with extensions, or a trailer line */

/* Finds the end of the line at buf[pos..len): offset past its '\n', 0 when not yet there, or
 * -1 when the line is too long or holds a bare CR. */
static long line_end(const char *buf, size_t len, size_t pos, size_t *content_len)
{
    size_t lim = len - pos < CHUNK_LINE_MAX ? len - pos : CHUNK_LINE_MAX;
    const char *nl = memchr(buf + pos, '\n', lim);
    if (!nl)
        return len - pos >= CHUNK_LINE_MAX ? -1 : 0;
    size_t n = (size_t)(nl - (buf + pos));
    if (n > 0 && buf[pos + n - 1] == '\r')
        n--;
    if (memchr(buf + pos, '\r', n))
        return -1;
    *content_len = n;
    return (long)(nl + 1 - buf);
}

enum px_http_result px_http_chunked_scan(const char *buf, size_t len, uint64_t max_body,
                                         struct px_http_chunked *st, size_t *consumed)
{
    for (;;) {
        size_t pos = st->pos, n = 0;
        long e = line_end(buf, len, pos, &n);
        if (e < 0)
            goto bad;
        if (e == 0)
            return PX_HTTP_AGAIN;
        uint64_t size = 0;
        size_t i = 0;
        for (; i < n; i++) {
            int h = hexval((unsigned char)buf[pos + i]);
            if (h < 0)
                break;
            if (size >> 60)
                goto bad; /* more than 64 bits */
            size = size << 4 | (uint64_t)h;
        }
        if (i == 0 || (i < n && buf[pos + i] != ';' && buf[pos + i] != ' ' && buf[pos + i] != '\t'))
            goto bad;
        if (size == 0) {
            /* Last chunk: skip trailer fields up to the empty line. */
            size_t p = (size_t)e;
            for (;;) {
                long te = line_end(buf, len, p, &n);
                if (te < 0)
                    goto bad;
                if (te == 0)
                    return PX_HTTP_AGAIN; /* st->pos stays at the last-chunk line */
                p = (size_t)te;
                if (n == 0)
                    break;
            }
            *consumed = p;
            return PX_HTTP_DONE;
        }
        if (size > max_body || st->decoded + size > max_body) {
            st->error_status = 413;
            return PX_HTTP_ERROR;
        }
        size_t data = (size_t)e;
        if (len - data < size + 1)
            return PX_HTTP_AGAIN;
        size_t after = data + (size_t)size;
        if (buf[after] == '\n') {
            after += 1;
        } else if (buf[after] == '\r') {
            if (len - after < 2)
                return PX_HTTP_AGAIN;
            if (buf[after + 1] != '\n')
                goto bad;
            after += 2;
        } else {
            goto bad;
        }
        st->decoded += size;
        st->pos = after;
    }
bad:
    st->error_status = 400;
    return PX_HTTP_ERROR;
}

void px_http_chunked_decode(char *buf, size_t consumed, size_t *out_len)
{
    size_t pos = 0, out = 0, n = 0;
    for (;;) {
        /* The body was scanned already: every line is complete and well formed. */
        long e = line_end(buf, consumed, pos, &n);
        uint64_t size = 0;
        for (size_t i = 0; i < n; i++) {
            int h = hexval((unsigned char)buf[pos + i]);
            if (h < 0)
                break;
            size = size << 4 | (uint64_t)h;
        }
        if (size == 0)
            break;
        memmove(buf + out, buf + e, (size_t)size);
        out += (size_t)size;
        pos = (size_t)e + (size_t)size;
        pos += buf[pos] == '\r' ? 2 : 1;
    }
    *out_len = out;
}
