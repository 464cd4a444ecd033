/*
 * ddax-bench: the project's closed-loop HTTP/1.1 load generator for DynamoDB-compatible servers.
 *
 * N keep-alive connections each keep exactly one request in flight (closed loop: the next request
 * leaves when the previous answer has arrived), so the latency measured is what one client sees
 * and throughput is what N such clients get. Requests are DynamoDB JSON 1.0 calls (GetItem of
 * seeded keys, GetItem of absent keys, PutItem, Query, BatchGetItem) in a weighted mix, on keys
 * drawn from a uniform, zipfian or hot-key distribution. Before measuring, the tool creates the
 * table and seeds it (PutItem of every key), then runs a warm-up whose answers are not counted.
 *
 * Each client thread owns its event_base, connections and latency histogram; the histograms are
 * merged at the end. The histogram is log-linear (HDR-style): exact below 256 ns, then 128 linear
 * buckets per power of two, i.e. better than 1% relative precision from 1 us to 10 s in 28 KB.
 * `--self-test` checks its percentiles against exact order statistics of synthetic data.
 *
 * Requests carry a dummy but well-formed SigV4 Authorization header: the servers under test check
 * its shape, and signing would only measure the client's HMAC speed.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#include "dx_alloc.h"

/* ------------------------------------------------------------------------------------------ */
/* Histogram                                                                                   */

#define HIST_SUB_BITS 7                     /* 128 linear buckets per power of two */
#define HIST_SUB      (1u << HIST_SUB_BITS) /* 128 */
#define HIST_EXACT    (2u * HIST_SUB)       /* values below 256 ns get one bucket each */
#define HIST_MAX_EXP  34                    /* 2^34 ns = 17 s: above that, the last bucket */
#define HIST_BUCKETS  (HIST_EXACT + (HIST_MAX_EXP - HIST_SUB_BITS - 1) * HIST_SUB)

struct hist {
    uint64_t count;
    uint64_t min, max; /* exact, in ns */
    uint64_t b[HIST_BUCKETS];
};

static void hist_init(struct hist *h)
{
    memset(h, 0, sizeof(*h));
    h->min = UINT64_MAX;
}

static size_t hist_index(uint64_t v)
{
    if (v < HIST_EXACT)
        return (size_t)v;
    unsigned e = 63u - (unsigned)__builtin_clzll(v); /* 2^e <= v < 2^(e+1), e >= 8 */
    if (e >= HIST_MAX_EXP)
        return HIST_BUCKETS - 1;
    size_t sub = (size_t)(v >> (e - HIST_SUB_BITS)) - HIST_SUB;
    return HIST_EXACT + (size_t)(e - HIST_SUB_BITS - 1) * HIST_SUB + sub;
}

/* The bucket's range [*lo, *lo + *width). */
static void hist_bucket(size_t i, uint64_t *lo, uint64_t *width)
{
    if (i < HIST_EXACT) {
        *lo = i;
        *width = 1;
        return;
    }
    unsigned e = (unsigned)((i - HIST_EXACT) / HIST_SUB) + HIST_SUB_BITS + 1;
    uint64_t sub = (i - HIST_EXACT) % HIST_SUB;
    *lo = (HIST_SUB + sub) << (e - HIST_SUB_BITS);
    *width = (uint64_t)1 << (e - HIST_SUB_BITS);
}

static void hist_record(struct hist *h, uint64_t ns)
{
    h->b[hist_index(ns)]++;
    h->count++;
    if (ns < h->min)
        h->min = ns;
    if (ns > h->max)
        h->max = ns;
}

static void hist_merge(struct hist *dst, const struct hist *src)
{
    for (size_t i = 0; i < HIST_BUCKETS; i++)
        dst->b[i] += src->b[i];
    dst->count += src->count;
    if (src->min < dst->min)
        dst->min = src->min;
    if (src->max > dst->max)
        dst->max = src->max;
}

/* The value at percentile p (0 < p <= 100) in ns: the midpoint of the bucket holding the
 * ceil(p% * count)-th smallest value, clamped to the exact min and max. 0 when empty. */
static double hist_percentile(const struct hist *h, double p)
{
    if (h->count == 0)
        return 0;
    if (p >= 100)
        return (double)h->max;
    uint64_t rank = (uint64_t)ceil(p / 100.0 * (double)h->count);
    if (rank < 1)
        rank = 1;
    uint64_t seen = 0;
    for (size_t i = 0; i < HIST_BUCKETS; i++) {
        seen += h->b[i];
        if (seen >= rank) {
            uint64_t lo, width;
            hist_bucket(i, &lo, &width);
            double v = (double)lo + (double)(width - 1) / 2.0;
            if (v < (double)h->min)
                v = (double)h->min;
            if (v > (double)h->max)
                v = (double)h->max;
            return v;
        }
    }
    return (double)h->max;
}

/* ------------------------------------------------------------------------------------------ */
/* Random numbers and key distributions                                                        */

static uint64_t rng_next(uint64_t *s) /* xorshift64* */
{
    uint64_t x = *s;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *s = x;
    return x * 0x2545F4914F6CDD1DULL;
}

static double rng_unit(uint64_t *s) /* [0, 1) */
{
    return (double)(rng_next(s) >> 11) * (1.0 / 9007199254740992.0);
}

enum dist { DIST_UNIFORM, DIST_ZIPFIAN, DIST_HOTKEY };

/* Zipfian over [0, n) by Gray et al. ("Quickly generating billion-record synthetic databases"),
 * the generator YCSB uses: rank 0 is the most popular key. */
struct zipf {
    uint64_t n;
    double theta, alpha, zetan, eta;
};

static void zipf_init(struct zipf *z, uint64_t n, double theta)
{
    double zeta2 = 0, zetan = 0;
    for (uint64_t i = 1; i <= n; i++) {
        double t = 1.0 / pow((double)i, theta);
        zetan += t;
        if (i <= 2)
            zeta2 += t;
    }
    z->n = n;
    z->theta = theta;
    z->zetan = zetan;
    z->alpha = 1.0 / (1.0 - theta);
    z->eta = (1.0 - pow(2.0 / (double)n, 1.0 - theta)) / (1.0 - zeta2 / zetan);
}

static uint64_t zipf_next(const struct zipf *z, uint64_t *s)
{
    double u = rng_unit(s);
    double uz = u * z->zetan;
    if (uz < 1.0)
        return 0;
    if (uz < 1.0 + pow(0.5, z->theta))
        return z->n > 1 ? 1 : 0;
    uint64_t r = (uint64_t)((double)z->n * pow(z->eta * u - z->eta + 1.0, z->alpha));
    return r < z->n ? r : z->n - 1;
}

/* ------------------------------------------------------------------------------------------ */
/* Configuration                                                                               */

/* OP_SEED and OP_WARM are the passes over every key before measuring: PutItem to seed, GetItem
 * (never ConsistentRead) to fill a cache. */
enum op {
    OP_GET_HIT,
    OP_GET_MISS,
    OP_PUT,
    OP_QUERY,
    OP_BATCHGET,
    OP_COUNT,
    OP_SEED = OP_COUNT,
    OP_WARM
};

static const char *const op_names[OP_COUNT] = {"getitem-hit", "getitem-miss", "putitem", "query",
                                               "batchget"};
static const char *const op_targets[OP_WARM + 1] = {"GetItem",      "GetItem", "PutItem", "Query",
                                                    "BatchGetItem", "PutItem", "GetItem"};

struct config {
    char host[256];
    char port[16];
    int connections;
    int threads;
    double duration; /* seconds of measurement (when requests == 0) */
    double warmup;   /* seconds */
    uint64_t requests;
    char table[128];
    uint64_t keys;
    size_t item_size;
    int batch;
    enum dist dist;
    double zipf_theta;
    double hot_fraction; /* share of the keys that are hot */
    double hot_share;    /* share of the requests that go to hot keys */
    unsigned weights[OP_COUNT];
    unsigned weight_total;
    char mix[256];
    int seed;
    int warm_pass;
    int consistent;
    int seed_connections;
    int json;
    int quiet;
    int spin;
    struct sockaddr_storage addr;
    socklen_t addrlen;
    struct zipf zipf;
};

static struct config cfg;

/* Times, in ns of CLOCK_MONOTONIC, shared read-only by the client threads once they run. */
static uint64_t t_measure;                /* measurement starts (end of warm-up) */
static uint64_t t_end;                    /* measurement ends (duration mode) */
static atomic_uint_fast64_t budget_taken; /* measured requests started (count mode) */
static atomic_int first_error_printed;

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static uint64_t pick_key(uint64_t *rng)
{
    switch (cfg.dist) {
    case DIST_ZIPFIAN:
        return zipf_next(&cfg.zipf, rng);
    case DIST_HOTKEY: {
        uint64_t hot = (uint64_t)((double)cfg.keys * cfg.hot_fraction);
        if (hot < 1)
            hot = 1;
        if (rng_unit(rng) < cfg.hot_share)
            return rng_next(rng) % hot;
        return rng_next(rng) % cfg.keys;
    }
    case DIST_UNIFORM:
    default:
        return rng_next(rng) % cfg.keys;
    }
}

static enum op pick_op(uint64_t *rng)
{
    unsigned r = (unsigned)(rng_next(rng) % cfg.weight_total);
    for (int i = 0; i < OP_COUNT; i++) {
        if (r < cfg.weights[i])
            return (enum op)i;
        r -= cfg.weights[i];
    }
    return OP_GET_HIT;
}

/* ------------------------------------------------------------------------------------------ */
/* Request bodies                                                                              */

/* The fixed part of every request's headers; the Content-Length and body follow. */
static const char auth_header[] =
    "X-Amz-Date: 20260101T000000Z\r\n"
    "Authorization: AWS4-HMAC-SHA256 "
    "Credential=local/20260101/us-east-1/dynamodb/aws4_request, "
    "SignedHeaders=host;x-amz-date;x-amz-target, "
    "Signature=0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\r\n";

static char *value_text; /* cfg.item_size 'x' characters, NUL-terminated */

/* Writes the JSON body of one request into buf (cap bytes); returns its length. */
static size_t build_body(char *buf, size_t cap, enum op op, uint64_t key)
{
    int n = 0;
    switch (op) {
    case OP_GET_HIT:
    case OP_GET_MISS:
    case OP_WARM:
        n = snprintf(buf, cap,
                     "{\"TableName\":\"%s\",\"Key\":{\"pk\":{\"S\":\"%c%010" PRIu64 "\"}}%s}",
                     cfg.table, op == OP_GET_MISS ? 'm' : 'k', key,
                     cfg.consistent && op != OP_WARM ? ",\"ConsistentRead\":true" : "");
        break;
    case OP_PUT:
    case OP_SEED:
        n = snprintf(buf, cap,
                     "{\"TableName\":\"%s\",\"Item\":{\"pk\":{\"S\":\"k%010" PRIu64
                     "\"},\"v\":{\"S\":\"%s\"}}}",
                     cfg.table, key, value_text);
        break;
    case OP_QUERY:
        n = snprintf(buf, cap,
                     "{\"TableName\":\"%s\",\"KeyConditionExpression\":\"pk = :k\","
                     "\"ExpressionAttributeValues\":{\":k\":{\"S\":\"k%010" PRIu64 "\"}}}",
                     cfg.table, key);
        break;
    case OP_BATCHGET: {
        /* Consecutive keys from the drawn one: a batch must not repeat a key. */
        n = snprintf(buf, cap, "{\"RequestItems\":{\"%s\":{\"Keys\":[", cfg.table);
        for (int i = 0; i < cfg.batch; i++)
            n += snprintf(buf + n, cap - (size_t)n, "%s{\"pk\":{\"S\":\"k%010" PRIu64 "\"}}",
                          i ? "," : "", (key + (uint64_t)i) % cfg.keys);
        n += snprintf(buf + n, cap - (size_t)n, "]}}}");
        break;
    }
    }
    return (size_t)n;
}

static size_t body_capacity(void)
{
    return cfg.item_size + (size_t)cfg.batch * 48 + 2 * sizeof(cfg.table) + 256;
}

/* ------------------------------------------------------------------------------------------ */
/* Client threads                                                                              */

struct worker;

struct conn {
    struct worker *w;
    struct bufferevent *bev;
    uint64_t rng;
    uint64_t started; /* ns when the request in flight left */
    int busy;         /* a request is in flight */
    int measured;     /* it left after the warm-up: its answer counts */
    int failures;     /* consecutive connection failures */
    char *body;       /* scratch for request bodies */
};

struct worker {
    pthread_t tid;
    struct event_base *base;
    struct event *timer;
    struct conn *conns;
    int nconns;
    int active;      /* connections still running */
    int seeding;     /* a pass over every key before measuring: seeding or warming */
    enum op pass_op; /* OP_SEED or OP_WARM */
    struct hist hist;
    uint64_t requests, errors, conn_errors;
    uint64_t body_bytes; /* of measured answers */
    uint64_t last_done;  /* ns of the last measured completion */
    uint64_t seed_index, seed_step;
    int fatal;
    int stop; /* the loop must end (needed when spinning: loopbreak only ends one pass) */
};

static void conn_start(struct conn *c);
static void conn_send(struct conn *c);

static void worker_stop(struct worker *w)
{
    w->stop = 1;
    event_base_loopbreak(w->base);
}

static void conn_retire(struct conn *c)
{
    if (c->bev) {
        bufferevent_free(c->bev);
        c->bev = NULL;
    }
    c->busy = 0;
    if (--c->w->active == 0)
        worker_stop(c->w);
}

static void conn_send(struct conn *c)
{
    struct worker *w = c->w;
    enum op op;
    uint64_t key;
    uint64_t now = now_ns();
    if (w->seeding) {
        if (w->seed_index >= cfg.keys) {
            conn_retire(c);
            return;
        }
        op = w->pass_op;
        key = w->seed_index;
        w->seed_index += w->seed_step;
    } else {
        if (cfg.requests && now >= t_measure &&
            atomic_fetch_add(&budget_taken, 1) >= cfg.requests) {
            conn_retire(c);
            return;
        }
        op = pick_op(&c->rng);
        key = op == OP_GET_MISS ? rng_next(&c->rng) % 10000000000ull : pick_key(&c->rng);
    }
    size_t n = build_body(c->body, body_capacity(), op, key);
    struct evbuffer *out = bufferevent_get_output(c->bev);
    evbuffer_add_printf(out,
                        "POST / HTTP/1.1\r\nHost: %s:%s\r\n"
                        "Content-Type: application/x-amz-json-1.0\r\n"
                        "X-Amz-Target: DynamoDB_20120810.%s\r\n"
                        "%sContent-Length: %zu\r\n\r\n",
                        cfg.host, cfg.port, op_targets[op], auth_header, n);
    evbuffer_add(out, c->body, n);
    c->busy = 1;
    c->measured = !w->seeding && now >= t_measure;
    c->started = now_ns();
}

/* Frames one response at the front of in. Returns 1 with *status and *total (header + body
 * bytes) set, 0 when more bytes are needed, -1 on a malformed response. */
static int parse_response(struct evbuffer *in, int *status, size_t *total, size_t *body)
{
    struct evbuffer_ptr end = evbuffer_search(in, "\r\n\r\n", 4, NULL);
    if (end.pos < 0)
        return evbuffer_get_length(in) > 65536 ? -1 : 0;
    size_t hlen = (size_t)end.pos + 4;
    char *h = (char *)evbuffer_pullup(in, (ev_ssize_t)hlen);
    if (!h || hlen < 12 || memcmp(h, "HTTP/1.", 7) != 0)
        return -1;
    *status = atoi(h + 9);
    size_t clen = 0;
    int chunked = 0;
    for (const char *p = h; p < h + hlen;) {
        const char *eol = memchr(p, '\n', (size_t)(h + hlen - p));
        if (!eol)
            break;
        if ((size_t)(eol - p) > 15 && !strncasecmp(p, "Content-Length:", 15))
            clen = strtoull(p + 15, NULL, 10);
        else if (!strncasecmp(p, "Transfer-Encoding:", 18))
            chunked = 1;
        p = eol + 1;
    }
    if (chunked)
        return -1; /* the servers under test always send Content-Length */
    if (evbuffer_get_length(in) < hlen + clen)
        return 0;
    *total = hlen + clen;
    *body = clen;
    return 1;
}

static void conn_done(struct conn *c, int status, struct evbuffer *in, size_t total, size_t body)
{
    struct worker *w = c->w;
    uint64_t done = now_ns();
    c->busy = 0;
    if (w->seeding) {
        if (status != 200) {
            if (!atomic_exchange(&first_error_printed, 1)) {
                size_t n = total < 400 ? total : 400;
                fprintf(stderr, "ddax-bench: %s %s answered %d: %.*s\n",
                        w->pass_op == OP_SEED ? "seeding" : "warm pass", op_targets[w->pass_op],
                        status, (int)n, (const char *)evbuffer_pullup(in, (ev_ssize_t)n));
            }
            w->fatal = 1;
        }
        w->requests++;
        return;
    }
    if (c->measured && (cfg.requests || done <= t_end)) {
        hist_record(&w->hist, done - c->started);
        w->requests++;
        w->body_bytes += body;
        w->last_done = done;
        if (status != 200) {
            w->errors++;
            if (!cfg.quiet && !atomic_exchange(&first_error_printed, 1)) {
                size_t n = total < 400 ? total : 400;
                char *p = (char *)evbuffer_pullup(in, (ev_ssize_t)total);
                char *text = memmem(p, total, "\r\n\r\n", 4);
                fprintf(stderr, "ddax-bench: first error: HTTP %d %.*s\n", status,
                        text ? (int)(total - (size_t)(text + 4 - p)) : (int)n, text ? text + 4 : p);
            }
        }
    }
}

static void on_read(struct bufferevent *bev, void *arg)
{
    struct conn *c = arg;
    struct evbuffer *in = bufferevent_get_input(bev);
    for (;;) {
        int status = 0;
        size_t total = 0, body = 0;
        int r = parse_response(in, &status, &total, &body);
        if (r == 0)
            return;
        if (r < 0 || !c->busy) {
            fprintf(stderr, "ddax-bench: malformed or unexpected response; reconnecting\n");
            c->w->conn_errors++;
            bufferevent_free(c->bev);
            c->bev = NULL;
            conn_start(c);
            return;
        }
        conn_done(c, status, in, total, body);
        evbuffer_drain(in, total);
        if (c->w->fatal) {
            conn_retire(c);
            return;
        }
        conn_send(c);
        if (!c->bev)
            return;
    }
}

static void on_event(struct bufferevent *bev, short what, void *arg)
{
    struct conn *c = arg;
    if (what & BEV_EVENT_CONNECTED) {
        int one = 1;
        setsockopt(bufferevent_getfd(bev), IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
        c->failures = 0;
        conn_send(c);
        return;
    }
    if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR)) {
        /* The server closed or refused: a request in flight is lost and counted as an error. */
        struct worker *w = c->w;
        w->conn_errors++;
        if (c->busy && c->measured && (cfg.requests || now_ns() <= t_end)) {
            w->errors++;
            w->requests++;
        }
        c->busy = 0;
        bufferevent_free(c->bev);
        c->bev = NULL;
        if (++c->failures > 20) {
            if (!atomic_exchange(&first_error_printed, 1))
                fprintf(stderr, "ddax-bench: cannot connect to %s:%s: %s\n", cfg.host, cfg.port,
                        strerror(EVUTIL_SOCKET_ERROR()));
            w->fatal = 1;
            conn_retire(c);
            return;
        }
        conn_start(c);
    }
}

static void conn_start(struct conn *c)
{
    c->bev = bufferevent_socket_new(c->w->base, -1, BEV_OPT_CLOSE_ON_FREE);
    bufferevent_setcb(c->bev, on_read, NULL, on_event, c);
    bufferevent_enable(c->bev, EV_READ | EV_WRITE);
    /* A refused connect is reported later through on_event; -1 means libevent gave up at once
     * without calling it, so take the same path by hand. */
    if (bufferevent_socket_connect(c->bev, (struct sockaddr *)&cfg.addr, (int)cfg.addrlen) < 0)
        on_event(c->bev, BEV_EVENT_ERROR, c);
}

static void on_timer(evutil_socket_t fd, short what, void *arg)
{
    worker_stop(arg);
}

static void worker_init(struct worker *w, int nconns, uint64_t seed)
{
    memset(w, 0, sizeof(*w));
    w->base = event_base_new();
    if (!w->base) {
        fprintf(stderr, "ddax-bench: event_base_new failed\n");
        exit(2);
    }
    w->nconns = nconns;
    w->conns = dx_calloc((size_t)nconns, sizeof(*w->conns));
    hist_init(&w->hist);
    for (int i = 0; i < nconns; i++) {
        struct conn *c = &w->conns[i];
        c->w = w;
        c->rng = seed * 0x9E3779B97F4A7C15ULL + (uint64_t)i * 0xBF58476D1CE4E5B9ULL + 1;
        c->body = dx_malloc(body_capacity());
    }
}

static void worker_deinit(struct worker *w)
{
    for (int i = 0; i < w->nconns; i++) {
        if (w->conns[i].bev)
            bufferevent_free(w->conns[i].bev);
        dx_free(w->conns[i].body);
    }
    dx_free(w->conns);
    if (w->timer)
        event_free(w->timer);
    event_base_free(w->base);
}

static void worker_run(struct worker *w)
{
    w->active = w->nconns;
    for (int i = 0; i < w->nconns; i++)
        conn_start(&w->conns[i]);
    if (!w->seeding && !cfg.requests) {
        uint64_t now = now_ns();
        uint64_t left = t_end > now ? t_end - now : 0;
        struct timeval tv = {(time_t)(left / 1000000000ull), (long)(left % 1000000000ull / 1000)};
        w->timer = evtimer_new(w->base, on_timer, w);
        evtimer_add(w->timer, &tv);
    }
    if (w->active > 0 && cfg.spin && !w->seeding) {
        /* Busy-poll: the thread never sleeps, so an answer is seen without the cost of waking
         * a halted CPU (tens of microseconds on some virtual machines). */
        while (!w->stop)
            event_base_loop(w->base, EVLOOP_NONBLOCK);
    } else if (w->active > 0) {
        event_base_dispatch(w->base);
    }
}

static void *worker_main(void *arg)
{
    worker_run(arg);
    return NULL;
}

/* ------------------------------------------------------------------------------------------ */
/* Control requests (CreateTable, DescribeTable): one blocking connection, no libevent.        */

/* Sends one request and reads the answer. Returns the HTTP status (-1 on a socket error) and
 * copies up to cap-1 bytes of the body into out. */
static int control_call(const char *target, const char *body, char *out, size_t cap)
{
    int fd = socket(cfg.addr.ss_family, SOCK_STREAM, 0);
    if (fd < 0)
        return -1;
    int status = -1;
    if (connect(fd, (struct sockaddr *)&cfg.addr, cfg.addrlen) < 0)
        goto out;
    char req[4096];
    int n =
        snprintf(req, sizeof(req),
                 "POST / HTTP/1.1\r\nHost: %s:%s\r\nContent-Type: application/x-amz-json-1.0\r\n"
                 "X-Amz-Target: DynamoDB_20120810.%s\r\n%sContent-Length: %zu\r\n"
                 "Connection: close\r\n\r\n%s",
                 cfg.host, cfg.port, target, auth_header, strlen(body), body);
    if (n <= 0 || (size_t)n >= sizeof(req) || write(fd, req, (size_t)n) != n)
        goto out;
    char resp[65536];
    size_t got = 0;
    for (;;) {
        ssize_t r = read(fd, resp + got, sizeof(resp) - 1 - got);
        if (r <= 0)
            break;
        got += (size_t)r;
        resp[got] = 0;
        char *hend = strstr(resp, "\r\n\r\n");
        if (hend) {
            char *cl = strcasestr(resp, "\r\nContent-Length:");
            size_t clen = cl && cl < hend ? strtoull(cl + 17, NULL, 10) : 0;
            if (got >= (size_t)(hend + 4 - resp) + clen || got == sizeof(resp) - 1)
                break;
        }
    }
    resp[got] = 0;
    if (got < 12 || memcmp(resp, "HTTP/1.", 7) != 0)
        goto out;
    status = atoi(resp + 9);
    char *b = strstr(resp, "\r\n\r\n");
    snprintf(out, cap, "%s", b ? b + 4 : "");
out:
    close(fd);
    return status;
}

static int create_table(void)
{
    char body[512], resp[4096];
    snprintf(body, sizeof(body),
             "{\"TableName\":\"%s\",\"AttributeDefinitions\":[{\"AttributeName\":\"pk\","
             "\"AttributeType\":\"S\"}],\"KeySchema\":[{\"AttributeName\":\"pk\",\"KeyType\":"
             "\"HASH\"}],\"BillingMode\":\"PAY_PER_REQUEST\"}",
             cfg.table);
    int st = control_call("CreateTable", body, resp, sizeof(resp));
    if (st < 0) {
        fprintf(stderr, "ddax-bench: cannot reach %s:%s\n", cfg.host, cfg.port);
        return -1;
    }
    if (st != 200 && !strstr(resp, "ResourceInUseException")) {
        fprintf(stderr, "ddax-bench: CreateTable answered %d: %s\n", st, resp);
        return -1;
    }
    snprintf(body, sizeof(body), "{\"TableName\":\"%s\"}", cfg.table);
    for (int i = 0; i < 200; i++) {
        st = control_call("DescribeTable", body, resp, sizeof(resp));
        if (st == 200 && strstr(resp, "\"TableStatus\":\"ACTIVE\""))
            return 0;
        usleep(50000);
    }
    fprintf(stderr, "ddax-bench: table %s did not become ACTIVE: %d %s\n", cfg.table, st, resp);
    return -1;
}

/* One request per key, keys 0..keys-1 in order over --seed-connections connections: PutItem of
 * every item (OP_SEED), or GetItem of every item (OP_WARM) so that a cache holds all of them
 * before measuring (a uniform warm-up would need several times more requests to touch them all). */
static int key_pass(enum op op)
{
    struct worker w;
    int nconns = cfg.seed_connections;
    if ((uint64_t)nconns > cfg.keys)
        nconns = (int)cfg.keys;
    worker_init(&w, nconns, 7);
    w.seeding = 1;
    w.pass_op = op;
    w.seed_index = 0;
    w.seed_step = 1;
    uint64_t t0 = now_ns();
    worker_run(&w);
    int bad = w.fatal || w.requests < cfg.keys;
    const char *what = op == OP_SEED ? "seeded" : "warmed (GetItem)";
    if (!cfg.quiet && !bad)
        fprintf(stderr, "ddax-bench: %s %" PRIu64 " items of %zu bytes in %.2f s\n", what, cfg.keys,
                cfg.item_size, (double)(now_ns() - t0) / 1e9);
    if (bad)
        fprintf(stderr, "ddax-bench: %s failed after %" PRIu64 " items\n",
                op == OP_SEED ? "seeding" : "the warm pass", w.requests);
    worker_deinit(&w);
    return bad ? -1 : 0;
}

/* ------------------------------------------------------------------------------------------ */
/* Self-test of the histogram                                                                  */

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* Checks every reported percentile against the exact order statistic of the same data. */
static int check_against_exact(const char *name, uint64_t *v, size_t n)
{
    static const double ps[] = {1, 10, 50, 90, 99, 99.9, 99.99, 100};
    struct hist *h = dx_malloc(sizeof(*h));
    hist_init(h);
    for (size_t i = 0; i < n; i++)
        hist_record(h, v[i]);
    qsort(v, n, sizeof(*v), cmp_u64);
    int fails = 0;
    for (size_t i = 0; i < sizeof(ps) / sizeof(ps[0]); i++) {
        size_t rank = (size_t)ceil(ps[i] / 100.0 * (double)n);
        double exact = (double)v[rank ? rank - 1 : 0];
        double got = hist_percentile(h, ps[i]);
        double tol = exact * 0.01 > 0.5 ? exact * 0.01 : 0.5;
        if (fabs(got - exact) > tol) {
            fprintf(stderr, "self-test %s: p%g = %.1f, exact %.1f\n", name, ps[i], got, exact);
            fails++;
        }
    }
    if (h->count != n || h->min != v[0] || h->max != v[n - 1]) {
        fprintf(stderr, "self-test %s: count/min/max wrong\n", name);
        fails++;
    }
    dx_free(h);
    return fails;
}

static int self_test(void)
{
    int fails = 0;
    size_t n = 1000000;
    uint64_t *v = dx_malloc(n * sizeof(*v));
    uint64_t s = 42;

    /* Uniform 1 us .. 1 s. */
    for (size_t i = 0; i < n; i++)
        v[i] = 1000 + rng_next(&s) % 1000000000ull;
    fails += check_against_exact("uniform", v, n);

    /* Log-uniform 1 us .. 10 s: every octave of the range is exercised. */
    for (size_t i = 0; i < n; i++)
        v[i] = (uint64_t)(1000.0 * pow(10.0, 7.0 * rng_unit(&s)));
    fails += check_against_exact("log-uniform", v, n);

    /* A latency-like shape: most near 20 us, a long tail to 50 ms. */
    for (size_t i = 0; i < n; i++) {
        double u = rng_unit(&s);
        v[i] = u < 0.99 ? 15000 + rng_next(&s) % 10000 : 100000 + rng_next(&s) % 50000000;
    }
    fails += check_against_exact("tail", v, n);

    /* One value, and exact small values. */
    v[0] = 12345;
    fails += check_against_exact("single", v, 1);
    for (size_t i = 0; i < 200; i++)
        v[i] = i + 1;
    fails += check_against_exact("small", v, 200);

    /* Bucket boundaries: index and range agree for every bucket. */
    for (size_t i = 0; i < HIST_BUCKETS; i++) {
        uint64_t lo, width;
        hist_bucket(i, &lo, &width);
        if (hist_index(lo) != i || hist_index(lo + width - 1) != i ||
            (i + 1 < HIST_BUCKETS && hist_index(lo + width) != i + 1)) {
            fprintf(stderr, "self-test: bucket %zu [%" PRIu64 ", +%" PRIu64 ") inconsistent\n", i,
                    lo, width);
            fails++;
            break;
        }
        if (lo >= 1000 && (double)width / (double)lo > 0.01) {
            fprintf(stderr, "self-test: bucket %zu wider than 1%%\n", i);
            fails++;
            break;
        }
    }

    /* Merging two halves gives the same percentiles as recording everything in one. */
    struct hist *a = dx_malloc(sizeof(*a)), *b = dx_malloc(sizeof(*b)),
                *all = dx_malloc(sizeof(*all));
    hist_init(a);
    hist_init(b);
    hist_init(all);
    for (size_t i = 0; i < 100000; i++) {
        uint64_t x = (uint64_t)(1000.0 * pow(10.0, 5.0 * rng_unit(&s)));
        hist_record(i % 2 ? a : b, x);
        hist_record(all, x);
    }
    hist_merge(a, b);
    if (a->count != all->count || a->max != all->max || a->min != all->min ||
        hist_percentile(a, 99) != hist_percentile(all, 99) ||
        hist_percentile(a, 50) != hist_percentile(all, 50)) {
        fprintf(stderr, "self-test: merge differs\n");
        fails++;
    }
    struct hist empty;
    hist_init(&empty);
    if (hist_percentile(&empty, 50) != 0) {
        fprintf(stderr, "self-test: empty histogram\n");
        fails++;
    }
    dx_free(a);
    dx_free(b);
    dx_free(all);
    dx_free(v);
    printf("self-test: %s\n", fails ? "FAILED" : "ok");
    return fails ? 1 : 0;
}

/* ------------------------------------------------------------------------------------------ */
/* Options and main                                                                            */

static void usage(FILE *f)
{
    fprintf(
        f,
        "usage: ddax-bench [options]\n"
        "Closed-loop HTTP/1.1 load generator for DynamoDB-compatible servers.\n\n"
        "  -H, --host HOST         server address (default 127.0.0.1)\n"
        "  -p, --port PORT         server port (default 8000)\n"
        "  -c, --connections N     keep-alive connections, one request in flight each (1)\n"
        "  -t, --threads N         client threads, each with its own event loop (1)\n"
        "  -d, --duration SEC      measured seconds (5)\n"
        "  -n, --requests N        measure N requests instead of a duration\n"
        "  -w, --warmup SEC        unmeasured seconds before measuring (1)\n"
        "  -o, --mix OPS           operation mix, e.g. getitem-hit or getitem-hit:90,putitem:10\n"
        "                          ops: getitem-hit getitem-miss putitem query batchget\n"
        "      --dist D            key distribution: uniform, zipfian, hotkey (uniform)\n"
        "      --zipf-theta X      zipfian skew (0.99)\n"
        "      --hot-fraction X    hotkey: share of keys that are hot (0.01)\n"
        "      --hot-share X       hotkey: share of requests to hot keys (0.9)\n"
        "  -k, --keys N            items seeded and key space (10000)\n"
        "  -s, --item-size BYTES   bytes of the payload attribute of each item (100)\n"
        "  -b, --batch N           keys per BatchGetItem (10, at most 100)\n"
        "  -T, --table NAME        table (bench); created PAY_PER_REQUEST if absent\n"
        "      --no-seed           neither create nor seed the table\n"
        "      --seed-connections N  connections used to seed and warm (16)\n"
        "      --warm-pass         before measuring, GetItem every key once (fills a cache)\n"
        "      --consistent        GetItem with ConsistentRead: true (a cache passes it on)\n"
        "  -j, --json              print the result as one JSON object\n"
        "  -q, --quiet             no progress messages on stderr\n"
        "      --spin              busy-poll instead of sleeping in the event loop (keeps the\n"
        "                          client's wake-up cost out of the latency; a core per thread)\n"
        "      --self-test         check the latency histogram and exit\n"
        "  -h, --help              this text\n");
}

static int parse_mix(const char *s)
{
    memset(cfg.weights, 0, sizeof(cfg.weights));
    cfg.weight_total = 0;
    snprintf(cfg.mix, sizeof(cfg.mix), "%s", s);
    char tmp[256];
    snprintf(tmp, sizeof(tmp), "%s", s);
    char *save = NULL;
    for (char *tok = strtok_r(tmp, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        char *colon = strchr(tok, ':');
        unsigned w = 1;
        if (colon) {
            *colon = 0;
            char *end;
            unsigned long x = strtoul(colon + 1, &end, 10);
            if (*end || x == 0 || x > 1000000)
                return -1;
            w = (unsigned)x;
        }
        int found = -1;
        for (int i = 0; i < OP_COUNT; i++)
            if (!strcmp(tok, op_names[i]))
                found = i;
        if (found < 0)
            return -1;
        cfg.weights[found] += w;
        cfg.weight_total += w;
    }
    return cfg.weight_total ? 0 : -1;
}

static int num_arg(const char *opt, const char *s, double lo, double hi, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || *end || end == s || v < lo || v > hi) {
        fprintf(stderr, "ddax-bench: %s: '%s' is not a number from %g to %g\n", opt, s, lo, hi);
        return -1;
    }
    *out = v;
    return 0;
}

static int resolve(void)
{
    struct addrinfo hints = {0}, *res = NULL;
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    int rc = getaddrinfo(cfg.host, cfg.port, &hints, &res);
    if (rc != 0) {
        fprintf(stderr, "ddax-bench: %s:%s: %s\n", cfg.host, cfg.port, gai_strerror(rc));
        return -1;
    }
    memcpy(&cfg.addr, res->ai_addr, res->ai_addrlen);
    cfg.addrlen = res->ai_addrlen;
    freeaddrinfo(res);
    return 0;
}

static const char *dist_name(enum dist d)
{
    return d == DIST_ZIPFIAN ? "zipfian" : d == DIST_HOTKEY ? "hotkey" : "uniform";
}

static void report(const struct hist *h, uint64_t requests, uint64_t errors, uint64_t conn_errors,
                   uint64_t body_bytes, double seconds)
{
    double body_avg = requests ? (double)body_bytes / (double)requests : 0;
    double rps = seconds > 0 ? (double)requests / seconds : 0;
    double p50 = hist_percentile(h, 50) / 1000, p90 = hist_percentile(h, 90) / 1000;
    double p99 = hist_percentile(h, 99) / 1000, p999 = hist_percentile(h, 99.9) / 1000;
    double mx = (double)h->max / 1000;
    if (h->count == 0)
        mx = 0;
    if (cfg.json) {
        printf("{\"host\":\"%s\",\"port\":%s,\"mix\":\"%s\",\"dist\":\"%s\",\"connections\":%d,"
               "\"threads\":%d,\"spin\":%s,\"keys\":%" PRIu64 ",\"item_size\":%zu,\"seconds\":%.3f,"
               "\"requests\":%" PRIu64 ",\"errors\":%" PRIu64 ",\"connection_errors\":%" PRIu64
               ",\"rps\":%.1f,\"body_bytes_avg\":%.1f,\"consistent\":%s,"
               "\"latency_us\":{\"p50\":%.1f,\"p90\":%.1f,\"p99\":%.1f,"
               "\"p99.9\":%.1f,\"max\":%.1f}}\n",
               cfg.host, cfg.port, cfg.mix, dist_name(cfg.dist), cfg.connections, cfg.threads,
               cfg.spin ? "true" : "false", cfg.keys, cfg.item_size, seconds, requests, errors,
               conn_errors, rps, body_avg, cfg.consistent ? "true" : "false", p50, p90, p99, p999,
               mx);
        return;
    }
    printf("ddax-bench %s:%s mix=%s dist=%s connections=%d threads=%d keys=%" PRIu64
           " item-size=%zu measured=%.2fs\n",
           cfg.host, cfg.port, cfg.mix, dist_name(cfg.dist), cfg.connections, cfg.threads, cfg.keys,
           cfg.item_size, seconds);
    printf("%10s %8s %12s %9s %9s %9s %9s %9s\n", "requests", "errors", "req/s", "p50 us", "p90 us",
           "p99 us", "p99.9 us", "max us");
    printf("%10" PRIu64 " %8" PRIu64 " %12.1f %9.1f %9.1f %9.1f %9.1f %9.1f\n", requests, errors,
           rps, p50, p90, p99, p999, mx);
    printf("answer body: %.1f bytes on average%s\n", body_avg,
           cfg.consistent ? "; GetItem with ConsistentRead" : "");
    if (conn_errors)
        printf("connection errors: %" PRIu64 "\n", conn_errors);
}

int main(int argc, char **argv)
{
    snprintf(cfg.host, sizeof(cfg.host), "127.0.0.1");
    snprintf(cfg.port, sizeof(cfg.port), "8000");
    snprintf(cfg.table, sizeof(cfg.table), "bench");
    cfg.connections = 1;
    cfg.threads = 1;
    cfg.duration = 5;
    cfg.warmup = 1;
    cfg.keys = 10000;
    cfg.item_size = 100;
    cfg.batch = 10;
    cfg.dist = DIST_UNIFORM;
    cfg.zipf_theta = 0.99;
    cfg.hot_fraction = 0.01;
    cfg.hot_share = 0.9;
    cfg.seed = 1;
    cfg.seed_connections = 16;
    parse_mix("getitem-hit");

    enum {
        OPT_DIST = 256,
        OPT_THETA,
        OPT_HOT_FRACTION,
        OPT_HOT_SHARE,
        OPT_NO_SEED,
        OPT_SEED_CONNS,
        OPT_SELF_TEST,
        OPT_SPIN,
        OPT_WARM_PASS,
        OPT_CONSISTENT
    };
    static const struct option longopts[] = {
        {"host", required_argument, NULL, 'H'},
        {"port", required_argument, NULL, 'p'},
        {"connections", required_argument, NULL, 'c'},
        {"threads", required_argument, NULL, 't'},
        {"duration", required_argument, NULL, 'd'},
        {"requests", required_argument, NULL, 'n'},
        {"warmup", required_argument, NULL, 'w'},
        {"mix", required_argument, NULL, 'o'},
        {"dist", required_argument, NULL, OPT_DIST},
        {"zipf-theta", required_argument, NULL, OPT_THETA},
        {"hot-fraction", required_argument, NULL, OPT_HOT_FRACTION},
        {"hot-share", required_argument, NULL, OPT_HOT_SHARE},
        {"keys", required_argument, NULL, 'k'},
        {"item-size", required_argument, NULL, 's'},
        {"batch", required_argument, NULL, 'b'},
        {"table", required_argument, NULL, 'T'},
        {"no-seed", no_argument, NULL, OPT_NO_SEED},
        {"seed-connections", required_argument, NULL, OPT_SEED_CONNS},
        {"json", no_argument, NULL, 'j'},
        {"quiet", no_argument, NULL, 'q'},
        {"self-test", no_argument, NULL, OPT_SELF_TEST},
        {"spin", no_argument, NULL, OPT_SPIN},
        {"warm-pass", no_argument, NULL, OPT_WARM_PASS},
        {"consistent", no_argument, NULL, OPT_CONSISTENT},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int ch;
    double x;
    while ((ch = getopt_long(argc, argv, "H:p:c:t:d:n:w:o:k:s:b:T:jqh", longopts, NULL)) != -1) {
        switch (ch) {
        case 'H':
            snprintf(cfg.host, sizeof(cfg.host), "%s", optarg);
            break;
        case 'p':
            if (num_arg("--port", optarg, 1, 65535, &x) < 0)
                return 2;
            snprintf(cfg.port, sizeof(cfg.port), "%d", (int)x);
            break;
        case 'c':
            if (num_arg("--connections", optarg, 1, 100000, &x) < 0)
                return 2;
            cfg.connections = (int)x;
            break;
        case 't':
            if (num_arg("--threads", optarg, 1, 1024, &x) < 0)
                return 2;
            cfg.threads = (int)x;
            break;
        case 'd':
            if (num_arg("--duration", optarg, 0.01, 1e6, &cfg.duration) < 0)
                return 2;
            break;
        case 'n':
            if (num_arg("--requests", optarg, 1, 1e15, &x) < 0)
                return 2;
            cfg.requests = (uint64_t)x;
            break;
        case 'w':
            if (num_arg("--warmup", optarg, 0, 1e6, &cfg.warmup) < 0)
                return 2;
            break;
        case 'o':
            if (parse_mix(optarg) < 0) {
                fprintf(stderr, "ddax-bench: --mix: '%s' is not a list of op[:weight]\n", optarg);
                return 2;
            }
            break;
        case OPT_DIST:
            if (!strcmp(optarg, "uniform"))
                cfg.dist = DIST_UNIFORM;
            else if (!strcmp(optarg, "zipfian"))
                cfg.dist = DIST_ZIPFIAN;
            else if (!strcmp(optarg, "hotkey"))
                cfg.dist = DIST_HOTKEY;
            else {
                fprintf(stderr, "ddax-bench: --dist: '%s' is not uniform, zipfian or hotkey\n",
                        optarg);
                return 2;
            }
            break;
        case OPT_THETA:
            if (num_arg("--zipf-theta", optarg, 0.01, 0.9999, &cfg.zipf_theta) < 0)
                return 2;
            break;
        case OPT_HOT_FRACTION:
            if (num_arg("--hot-fraction", optarg, 0, 1, &cfg.hot_fraction) < 0)
                return 2;
            break;
        case OPT_HOT_SHARE:
            if (num_arg("--hot-share", optarg, 0, 1, &cfg.hot_share) < 0)
                return 2;
            break;
        case 'k':
            if (num_arg("--keys", optarg, 1, 1e10, &x) < 0)
                return 2;
            cfg.keys = (uint64_t)x;
            break;
        case 's':
            if (num_arg("--item-size", optarg, 1, 350000, &x) < 0)
                return 2;
            cfg.item_size = (size_t)x;
            break;
        case 'b':
            if (num_arg("--batch", optarg, 1, 100, &x) < 0)
                return 2;
            cfg.batch = (int)x;
            break;
        case 'T':
            if (strlen(optarg) < 3 || strlen(optarg) >= 100) {
                fprintf(stderr, "ddax-bench: --table: a name of 3 to 99 characters\n");
                return 2;
            }
            snprintf(cfg.table, sizeof(cfg.table), "%s", optarg);
            break;
        case OPT_NO_SEED:
            cfg.seed = 0;
            break;
        case OPT_SEED_CONNS:
            if (num_arg("--seed-connections", optarg, 1, 1024, &x) < 0)
                return 2;
            cfg.seed_connections = (int)x;
            break;
        case 'j':
            cfg.json = 1;
            break;
        case 'q':
            cfg.quiet = 1;
            break;
        case OPT_SPIN:
            cfg.spin = 1;
            break;
        case OPT_WARM_PASS:
            cfg.warm_pass = 1;
            break;
        case OPT_CONSISTENT:
            cfg.consistent = 1;
            break;
        case OPT_SELF_TEST:
            return self_test();
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return 2;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "ddax-bench: unexpected argument '%s'\n", argv[optind]);
        usage(stderr);
        return 2;
    }
    if (cfg.threads > cfg.connections)
        cfg.threads = cfg.connections;
    if ((uint64_t)cfg.batch > cfg.keys)
        cfg.batch = (int)cfg.keys;
    if (resolve() < 0)
        return 2;
    value_text = dx_malloc(cfg.item_size + 1);
    memset(value_text, 'x', cfg.item_size);
    value_text[cfg.item_size] = 0;
    if (cfg.dist == DIST_ZIPFIAN)
        zipf_init(&cfg.zipf, cfg.keys, cfg.zipf_theta);

    if (cfg.seed && (create_table() < 0 || key_pass(OP_SEED) < 0))
        return 1;
    if (cfg.warm_pass && key_pass(OP_WARM) < 0)
        return 1;

    struct worker *ws = dx_calloc((size_t)cfg.threads, sizeof(*ws));
    uint64_t t0 = now_ns();
    t_measure = t0 + (uint64_t)(cfg.warmup * 1e9);
    t_end = t_measure + (uint64_t)(cfg.duration * 1e9);
    for (int i = 0; i < cfg.threads; i++) {
        int n = cfg.connections / cfg.threads + (i < cfg.connections % cfg.threads);
        worker_init(&ws[i], n, (uint64_t)i + 1);
    }
    for (int i = 0; i < cfg.threads; i++)
        if (pthread_create(&ws[i].tid, NULL, worker_main, &ws[i]) != 0) {
            fprintf(stderr, "ddax-bench: pthread_create failed\n");
            return 2;
        }
    struct hist *total = dx_malloc(sizeof(*total));
    hist_init(total);
    uint64_t requests = 0, errors = 0, conn_errors = 0, body_bytes = 0, last = t_measure;
    int fatal = 0;
    for (int i = 0; i < cfg.threads; i++) {
        pthread_join(ws[i].tid, NULL);
        hist_merge(total, &ws[i].hist);
        requests += ws[i].requests;
        errors += ws[i].errors;
        conn_errors += ws[i].conn_errors;
        body_bytes += ws[i].body_bytes;
        fatal |= ws[i].fatal;
        if (ws[i].last_done > last)
            last = ws[i].last_done;
        worker_deinit(&ws[i]);
    }
    double seconds = cfg.requests ? (double)(last - t_measure) / 1e9 : cfg.duration;
    report(total, requests, errors, conn_errors, body_bytes, seconds);
    dx_free(total);
    dx_free(ws);
    dx_free(value_text);
    return fatal ? 1 : 0;
}
