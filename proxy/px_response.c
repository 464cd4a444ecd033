/*
 * Response heads, request ids and CRC32. The head is formatted by hand into a stack buffer:
 * this runs once per request on the cache-hit path, where snprintf's format parsing shows up.
 */
#include <string.h>
#include <time.h>
#include <sys/random.h>
#include <event2/buffer.h>
#include <zlib.h>
#include "dx_alloc.h"
#include "dx_status.h"
#include "px_response.h"

uint32_t px_crc32(const void *data, size_t len)
{
    return (uint32_t)crc32_z(0L, (const Bytef *)data, len);
}

/* xoshiro256**: fast, and seeded per thread from the kernel, so ids never repeat in practice. */
static __thread uint64_t rng[4];
static __thread int rng_ready;

static uint64_t rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

static uint64_t rng_next(void)
{
    if (!rng_ready) {
        if (getrandom(rng, sizeof(rng), 0) != (ssize_t)sizeof(rng) ||
            (rng[0] | rng[1] | rng[2] | rng[3]) == 0) {
            struct timespec ts;
            clock_gettime(CLOCK_REALTIME, &ts);
            rng[0] = (uint64_t)ts.tv_nsec * 0x9E3779B97F4A7C15ull + (uint64_t)(uintptr_t)&ts;
            rng[1] = (uint64_t)ts.tv_sec ^ 0xD1B54A32D192ED03ull;
            rng[2] = rng[0] ^ 0xBF58476D1CE4E5B9ull;
            rng[3] = rng[1] + 0x94D049BB133111EBull;
        }
        rng_ready = 1;
    }
    uint64_t r = rotl(rng[1] * 5, 7) * 9, t = rng[1] << 17;
    rng[2] ^= rng[0];
    rng[3] ^= rng[1];
    rng[1] ^= rng[2];
    rng[0] ^= rng[3];
    rng[2] ^= t;
    rng[3] = rotl(rng[3], 45);
    return r;
}

void px_request_id_new(char out[PX_REQUEST_ID_LEN + 1])
{
    /* DynamoDB's ids are 52 characters of base32hex (0-9, A-V): 5 bits each. */
    static const char alphabet[] = "0123456789ABCDEFGHIJKLMNOPQRSTUV";
    int i = 0;
    while (i < PX_REQUEST_ID_LEN) {
        uint64_t r = rng_next();
        for (int k = 0; k < 12 && i < PX_REQUEST_ID_LEN; k++, r >>= 5)
            out[i++] = alphabet[r & 31];
    }
    out[PX_REQUEST_ID_LEN] = '\0';
}

const char *px_status_reason(int status)
{
    switch (status) {
    case 100:
        return "Continue";
    case 200:
        return "OK";
    case 400:
        return "Bad Request";
    case 404:
        return "Not Found";
    case 408:
        return "Request Timeout";
    case 411:
        return "Length Required";
    case 413:
        return "Request Entity Too Large";
    case 417:
        return "Expectation Failed";
    case 431:
        return "Request Header Fields Too Large";
    case 500:
        return "Internal Server Error";
    case 501:
        return "Not Implemented";
    case 503:
        return "Service Unavailable";
    case 505:
        return "HTTP Version Not Supported";
    default:
        return status < 300 ? "OK" : status < 500 ? "Bad Request" : "Internal Server Error";
    }
}

static __thread time_t date_sec = -1;
static __thread char date_buf[32];

static char *put2(char *p, int v)
{
    *p++ = (char)('0' + v / 10);
    *p++ = (char)('0' + v % 10);
    return p;
}

const char *px_http_date(void)
{
    static const char days[] = "SunMonTueWedThuFriSat";
    static const char months[] = "JanFebMarAprMayJunJulAugSepOctNovDec";
    time_t now = time(NULL);
    if (now == date_sec)
        return date_buf;
    struct tm tm;
    gmtime_r(&now, &tm);
    char *p = date_buf;
    memcpy(p, days + 3 * tm.tm_wday, 3), p += 3;
    *p++ = ',', *p++ = ' ';
    p = put2(p, tm.tm_mday);
    *p++ = ' ';
    memcpy(p, months + 3 * tm.tm_mon, 3), p += 3;
    *p++ = ' ';
    int y = tm.tm_year + 1900;
    p = put2(p, y / 100 % 100);
    p = put2(p, y % 100);
    *p++ = ' ';
    p = put2(p, tm.tm_hour);
    *p++ = ':';
    p = put2(p, tm.tm_min);
    *p++ = ':';
    p = put2(p, tm.tm_sec);
    memcpy(p, " GMT", 5);
    date_sec = now;
    return date_buf;
}

struct out {
    char *p, *end;
    int overflow;
};

static void put(struct out *o, const char *s, size_t n)
{
    if ((size_t)(o->end - o->p) < n) {
        o->overflow = 1;
        return;
    }
    memcpy(o->p, s, n);
    o->p += n;
}

static void puts_(struct out *o, const char *s)
{
    put(o, s, strlen(s));
}

#define PUTL(o, lit) put(o, lit, sizeof(lit) - 1)

static void putu(struct out *o, uint64_t v)
{
    char tmp[24];
    int i = sizeof(tmp);
    do {
        tmp[--i] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    put(o, tmp + i, sizeof(tmp) - (size_t)i);
}

size_t px_response_head(char *buf, size_t cap, const struct px_response_meta *m, const void *body,
                        size_t len)
{
    struct out o = {buf, buf + cap, 0};
    PUTL(&o, "HTTP/1.1 ");
    putu(&o, (uint64_t)m->status);
    PUTL(&o, " ");
    puts_(&o, px_status_reason(m->status));
    PUTL(&o, "\r\nServer: Server\r\nDate: ");
    puts_(&o, px_http_date());
    PUTL(&o, "\r\n");
    if (m->content_type) {
        PUTL(&o, "Content-Type: ");
        puts_(&o, m->content_type);
        PUTL(&o, "\r\n");
    }
    if (m->chunked_empty) {
        PUTL(&o, "Transfer-Encoding: chunked\r\n");
    } else {
        PUTL(&o, "Content-Length: ");
        putu(&o, len);
        PUTL(&o, "\r\n");
    }
    if (m->keep_alive)
        PUTL(&o, "Connection: keep-alive\r\n");
    else
        PUTL(&o, "Connection: close\r\n");
    if (m->request_id) {
        PUTL(&o, "x-amzn-RequestId: ");
        put(&o, m->request_id, PX_REQUEST_ID_LEN);
        PUTL(&o, "\r\n");
    }
    if (!m->chunked_empty) {
        PUTL(&o, "x-amz-crc32: ");
        putu(&o, px_crc32(body, len));
        PUTL(&o, "\r\n");
    }
    if (m->cors)
        PUTL(&o, "Access-Control-Allow-Origin: *\r\n");
    if (m->extra)
        puts_(&o, m->extra);
    PUTL(&o, "\r\n");
    if (m->chunked_empty)
        PUTL(&o, "0\r\n\r\n");
    return o.overflow ? 0 : (size_t)(o.p - buf);
}

struct ref {
    void (*free_body)(void *);
    void *arg;
};

static void ref_cleanup(const void *data, size_t len, void *extra)
{
    struct ref *r = extra;
    r->free_body(r->arg);
    dx_free(r);
}

/* Below this size, copying the body is cheaper than a reference chain and its cleanup. */
#define PX_COPY_MAX (16 * 1024)

int px_response_write(struct evbuffer *out, const struct px_response_meta *m, const void *body,
                      size_t len, void (*free_body)(void *), void *free_arg)
{
    char stack[PX_RESPONSE_HEAD_MAX];
    char *head = stack;
    size_t n = px_response_head(stack, sizeof(stack), m, body, len);
    int rc = DX_OK;
    if (n == 0) {
        size_t cap = sizeof(stack) + (m->extra ? strlen(m->extra) : 0);
        head = dx_malloc(cap);
        n = px_response_head(head, cap, m, body, len);
    }
    if (m->head_only) {
        if (evbuffer_add(out, head, n) != 0)
            rc = DX_ESYS;
        if (free_body)
            free_body(free_arg);
    } else if (free_body && len > PX_COPY_MAX) {
        struct ref *r = dx_malloc(sizeof(*r));
        r->free_body = free_body;
        r->arg = free_arg;
        if (evbuffer_add(out, head, n) != 0 ||
            evbuffer_add_reference(out, body, len, ref_cleanup, r) != 0) {
            dx_free(r);
            free_body(free_arg);
            rc = DX_ESYS;
        }
    } else {
        /* One contiguous append: head and body land in the same chain. */
        struct evbuffer_iovec v;
        if (evbuffer_reserve_space(out, (ev_ssize_t)(n + len), &v, 1) == 1 &&
            v.iov_len >= n + len) {
            memcpy(v.iov_base, head, n);
            if (len)
                memcpy((char *)v.iov_base + n, body, len);
            v.iov_len = n + len;
            if (evbuffer_commit_space(out, &v, 1) != 0)
                rc = DX_ESYS;
        } else if (evbuffer_add(out, head, n) != 0 || (len && evbuffer_add(out, body, len) != 0)) {
            rc = DX_ESYS;
        }
        if (free_body)
            free_body(free_arg);
    }
    if (head != stack)
        dx_free(head);
    return rc;
}
