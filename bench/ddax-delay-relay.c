/*
 * ddax-delay-relay: a TCP relay that makes a local endpoint look remote, for bench/run.
 *
 * Every accepted connection gets its own connection to the upstream; bytes from the client go
 * to the upstream at once, and each chunk of bytes the upstream sends back is held for a fixed
 * delay (--delay-us) before it goes on to the client, in order. With one request in flight per
 * connection, every answer thus arrives that much later, as from a DynamoDB endpoint one network
 * round trip away, while the relay itself adds only a loopback hop. The relay knows nothing of
 * HTTP.
 *
 * Worker threads (--threads) each run their own libevent loop with their own listening socket on
 * the same port (SO_REUSEPORT: the kernel spreads connections). The loop uses libevent's precise
 * timers (timerfd), so a 1 ms delay is 1 ms and not "the next millisecond tick or two".
 *
 * On start it prints "ddax-delay-relay: listening on 127.0.0.1:PORT" on stdout (--port 0 picks a
 * free port) and runs until killed.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>

#include "dx_alloc.h"

struct options {
    char bind[64];
    int port;
    char upstream_host[256];
    char upstream_port[16];
    uint64_t delay_us;
    int threads;
};

static struct options opt;
static struct sockaddr_storage upstream_addr;
static socklen_t upstream_addrlen;

static uint64_t now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

/* Bytes from the upstream waiting for their time to go on to the client. */
struct chunk {
    struct chunk *next;
    uint64_t due_us;
    struct evbuffer *buf;
};

struct relay {
    struct event_base *base;
    struct evconnlistener *listener;
    pthread_t tid;
};

/* One client connection and its own upstream connection. */
struct pair {
    struct relay *r;
    struct bufferevent *client, *upstream;
    struct event *timer;
    struct chunk *head, *tail;
    int upstream_done; /* the upstream closed: close the client once the queue is sent */
};

static void pair_free(struct pair *p)
{
    while (p->head) {
        struct chunk *c = p->head;
        p->head = c->next;
        evbuffer_free(c->buf);
        dx_free(c);
    }
    if (p->timer)
        event_free(p->timer);
    if (p->client)
        bufferevent_free(p->client);
    if (p->upstream)
        bufferevent_free(p->upstream);
    dx_free(p);
}

static void set_nodelay(struct bufferevent *bev)
{
    int one = 1;
    evutil_socket_t fd = bufferevent_getfd(bev);
    if (fd >= 0)
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

/* Closes the client once everything owed to it has been written. */
static void on_client_drained(struct bufferevent *bev, void *arg)
{
    struct pair *p = arg;
    if (p->upstream_done && !p->head)
        pair_free(p);
}

static void schedule(struct pair *p, uint64_t now)
{
    uint64_t wait = p->head->due_us > now ? p->head->due_us - now : 0;
    struct timeval tv = {(time_t)(wait / 1000000u), (suseconds_t)(wait % 1000000u)};
    evtimer_add(p->timer, &tv);
}

/* Sends every chunk whose delay has passed, in arrival order, and re-arms for the next one. */
static void on_timer(evutil_socket_t fd, short what, void *arg)
{
    struct pair *p = arg;
    uint64_t now = now_us();
    struct evbuffer *out = bufferevent_get_output(p->client);
    while (p->head && p->head->due_us <= now) {
        struct chunk *c = p->head;
        p->head = c->next;
        if (!p->head)
            p->tail = NULL;
        evbuffer_add_buffer(out, c->buf);
        evbuffer_free(c->buf);
        dx_free(c);
    }
    if (p->head)
        schedule(p, now);
    else if (p->upstream_done && evbuffer_get_length(out) == 0)
        pair_free(p);
}

static void on_upstream_read(struct bufferevent *bev, void *arg)
{
    struct pair *p = arg;
    struct evbuffer *in = bufferevent_get_input(bev);
    if (opt.delay_us == 0) {
        bufferevent_write_buffer(p->client, in);
        return;
    }
    struct chunk *c = dx_malloc(sizeof(*c));
    c->next = NULL;
    c->due_us = now_us() + opt.delay_us;
    c->buf = evbuffer_new();
    evbuffer_add_buffer(c->buf, in);
    if (p->tail)
        p->tail->next = c;
    else
        p->head = c;
    p->tail = c;
    if (!evtimer_pending(p->timer, NULL))
        schedule(p, c->due_us - opt.delay_us);
}

static void on_client_read(struct bufferevent *bev, void *arg)
{
    struct pair *p = arg;
    struct evbuffer *in = bufferevent_get_input(bev);
    if (p->upstream)
        bufferevent_write_buffer(p->upstream, in);
    else
        evbuffer_drain(in, evbuffer_get_length(in)); /* the upstream is gone: nowhere to go */
}

static void on_upstream_event(struct bufferevent *bev, short what, void *arg)
{
    struct pair *p = arg;
    if (what & BEV_EVENT_CONNECTED) {
        set_nodelay(bev);
        return;
    }
    if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR)) {
        if (what & BEV_EVENT_ERROR)
            fprintf(stderr, "ddax-delay-relay: upstream %s:%s: %s\n", opt.upstream_host,
                    opt.upstream_port, evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR()));
        /* What the upstream already sent still reaches the client after its delay. */
        bufferevent_free(p->upstream);
        p->upstream = NULL;
        p->upstream_done = 1;
        if (!p->head && evbuffer_get_length(bufferevent_get_output(p->client)) == 0)
            pair_free(p);
    }
}

static void on_client_event(struct bufferevent *bev, short what, void *arg)
{
    if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR))
        pair_free(arg);
}

static void on_accept(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa, int salen,
                      void *arg)
{
    struct relay *r = arg;
    struct pair *p = dx_calloc(1, sizeof(*p));
    p->r = r;
    p->client = bufferevent_socket_new(r->base, fd, BEV_OPT_CLOSE_ON_FREE);
    p->upstream = bufferevent_socket_new(r->base, -1, BEV_OPT_CLOSE_ON_FREE);
    p->timer = evtimer_new(r->base, on_timer, p);
    set_nodelay(p->client);
    bufferevent_setcb(p->client, on_client_read, on_client_drained, on_client_event, p);
    bufferevent_setcb(p->upstream, on_upstream_read, NULL, on_upstream_event, p);
    bufferevent_enable(p->client, EV_READ | EV_WRITE);
    bufferevent_enable(p->upstream, EV_READ | EV_WRITE);
    /* Bytes the client sends before the connect completes wait in the upstream's output. */
    if (bufferevent_socket_connect(p->upstream, (struct sockaddr *)&upstream_addr,
                                   (int)upstream_addrlen) < 0) {
        fprintf(stderr, "ddax-delay-relay: cannot connect to %s:%s\n", opt.upstream_host,
                opt.upstream_port);
        pair_free(p);
    }
}

/* A listening socket on opt.bind:port with SO_REUSEPORT, so every thread can have one. */
static int listen_socket(int port)
{
    struct sockaddr_in sin = {0};
    sin.sin_family = AF_INET;
    sin.sin_port = htons((uint16_t)port);
    if (inet_pton(AF_INET, opt.bind, &sin.sin_addr) != 1) {
        fprintf(stderr, "ddax-delay-relay: --bind: '%s' is not an IPv4 address\n", opt.bind);
        return -1;
    }
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0)
        return -1;
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one));
    if (bind(fd, (struct sockaddr *)&sin, sizeof(sin)) < 0 || listen(fd, 1024) < 0) {
        fprintf(stderr, "ddax-delay-relay: %s:%d: %s\n", opt.bind, port, strerror(errno));
        close(fd);
        return -1;
    }
    evutil_make_socket_nonblocking(fd);
    return fd;
}

static int relay_init(struct relay *r, int fd)
{
    struct event_config *ec = event_config_new();
    event_config_set_flag(ec, EVENT_BASE_FLAG_PRECISE_TIMER);
    r->base = event_base_new_with_config(ec);
    event_config_free(ec);
    if (!r->base)
        return -1;
    r->listener = evconnlistener_new(r->base, on_accept, r, LEV_OPT_CLOSE_ON_FREE, -1, fd);
    return r->listener ? 0 : -1;
}

static void *relay_main(void *arg)
{
    struct relay *r = arg;
    event_base_dispatch(r->base);
    return NULL;
}

static void usage(FILE *f)
{
    fprintf(f, "usage: ddax-delay-relay --upstream HOST:PORT [options]\n"
               "A TCP relay that delays every chunk the upstream sends back.\n\n"
               "  --upstream HOST:PORT  where to forward (required)\n"
               "  --port N              port to listen on (default 0: any free port)\n"
               "  --bind ADDR           IPv4 address to listen on (default 127.0.0.1)\n"
               "  --delay-us N          delay of the upstream's answers in us (default 1000)\n"
               "  --threads N           event loops (default 1)\n"
               "  -h, --help            this text\n");
}

static int parse_upstream(const char *s)
{
    const char *colon = strrchr(s, ':');
    if (!colon || colon == s || strlen(colon + 1) == 0 || strlen(colon + 1) >= 16 ||
        (size_t)(colon - s) >= sizeof(opt.upstream_host))
        return -1;
    memcpy(opt.upstream_host, s, (size_t)(colon - s));
    opt.upstream_host[colon - s] = 0;
    snprintf(opt.upstream_port, sizeof(opt.upstream_port), "%s", colon + 1);
    struct addrinfo hints = {0}, *res = NULL;
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    int rc = getaddrinfo(opt.upstream_host, opt.upstream_port, &hints, &res);
    if (rc != 0) {
        fprintf(stderr, "ddax-delay-relay: %s: %s\n", s, gai_strerror(rc));
        return -1;
    }
    memcpy(&upstream_addr, res->ai_addr, res->ai_addrlen);
    upstream_addrlen = res->ai_addrlen;
    freeaddrinfo(res);
    return 0;
}

static int num_arg(const char *name, const char *s, long long lo, long long hi, long long *out)
{
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno || *end || end == s || v < lo || v > hi) {
        fprintf(stderr, "ddax-delay-relay: %s: '%s' is not a number from %lld to %lld\n", name, s,
                lo, hi);
        return -1;
    }
    *out = v;
    return 0;
}

int main(int argc, char **argv)
{
    snprintf(opt.bind, sizeof(opt.bind), "127.0.0.1");
    opt.delay_us = 1000;
    opt.threads = 1;
    enum { OPT_UPSTREAM = 256, OPT_PORT, OPT_BIND, OPT_DELAY, OPT_THREADS };
    static const struct option longopts[] = {
        {"upstream", required_argument, NULL, OPT_UPSTREAM},
        {"port", required_argument, NULL, OPT_PORT},
        {"bind", required_argument, NULL, OPT_BIND},
        {"delay-us", required_argument, NULL, OPT_DELAY},
        {"threads", required_argument, NULL, OPT_THREADS},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int ch, have_upstream = 0;
    long long x;
    while ((ch = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        switch (ch) {
        case OPT_UPSTREAM:
            if (parse_upstream(optarg) < 0) {
                fprintf(stderr, "ddax-delay-relay: --upstream: '%s' is not HOST:PORT\n", optarg);
                return 2;
            }
            have_upstream = 1;
            break;
        case OPT_PORT:
            if (num_arg("--port", optarg, 0, 65535, &x) < 0)
                return 2;
            opt.port = (int)x;
            break;
        case OPT_BIND:
            snprintf(opt.bind, sizeof(opt.bind), "%s", optarg);
            break;
        case OPT_DELAY:
            if (num_arg("--delay-us", optarg, 0, 60000000, &x) < 0)
                return 2;
            opt.delay_us = (uint64_t)x;
            break;
        case OPT_THREADS:
            if (num_arg("--threads", optarg, 1, 256, &x) < 0)
                return 2;
            opt.threads = (int)x;
            break;
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return 2;
        }
    }
    if (!have_upstream || optind < argc) {
        usage(stderr);
        return 2;
    }
    signal(SIGPIPE, SIG_IGN);

    /* The first socket picks the port (maybe a free one); the others share it. */
    struct relay *relays = dx_calloc((size_t)opt.threads, sizeof(*relays));
    int port = opt.port;
    for (int i = 0; i < opt.threads; i++) {
        int fd = listen_socket(port);
        if (fd < 0)
            return 1;
        if (i == 0) {
            struct sockaddr_in sin;
            socklen_t len = sizeof(sin);
            getsockname(fd, (struct sockaddr *)&sin, &len);
            port = ntohs(sin.sin_port);
        }
        if (relay_init(&relays[i], fd) < 0) {
            fprintf(stderr, "ddax-delay-relay: cannot set up the event loop\n");
            return 1;
        }
    }
    printf("ddax-delay-relay: listening on %s:%d, upstream %s:%s, delay %" PRIu64 " us, "
           "%d thread(s)\n",
           opt.bind, port, opt.upstream_host, opt.upstream_port, opt.delay_us, opt.threads);
    fflush(stdout);
    for (int i = 1; i < opt.threads; i++)
        if (pthread_create(&relays[i].tid, NULL, relay_main, &relays[i]) != 0) {
            fprintf(stderr, "ddax-delay-relay: pthread_create failed\n");
            return 1;
        }
    relay_main(&relays[0]);
    return 0;
}
