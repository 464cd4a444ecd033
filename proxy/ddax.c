/*
 * The ddax executable: command line, then the engine behind the network front.
 *
 *   ddax serve    the engine with the cache layer (item and query caches) in front
 *   ddax backend  the engine alone
 *   ddax proxy    the cache layer in front of a remote DynamoDB-compatible endpoint
 *                 (--upstream http://HOST:PORT or https://HOST[:PORT]); no engine, no data
 *                 directory
 *
 * Once the socket is bound, exactly one line goes to stdout, "ddax <version> listening on
 * http://HOST:PORT (data in DIR)" (proxy: "(upstream URL)"): scripts and the integration tests
 * start ddax with --port 0 and read the address from it. Everything else (logs) goes to stderr.
 */
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "backend.h"
#include "cache.h"
#include "dx_alloc.h"
#include "dx_log.h"
#include "dx_status.h"
#include "px_server.h"
#include "px_upstream.h"

#ifndef DDAX_VERSION
#define DDAX_VERSION "0.0.0"
#endif

#define EXIT_USAGE 2

static void usage(FILE *f)
{
    fprintf(f, "usage: ddax <command> [options]\n"
               "\n"
               "commands:\n"
               "  serve      DynamoDB-compatible server: the engine behind the cache layer\n"
               "  backend    the engine alone, no cache\n"
               "  proxy      the cache layer in front of another DynamoDB-compatible endpoint\n"
               "\n"
               "options:\n"
               "  --port N             TCP port (default 8000; 0 = any free port)\n"
               "  --bind ADDR          address to listen on (default 127.0.0.1)\n"
               "  --data DIR           data directory (default ./data)\n"
               "  --threads N          worker threads (default: number of cores)\n"
               "  --log-level LEVEL    debug, info, warn or error (default info)\n"
               "  --max-body-bytes N   largest request body (default 16777216; larger: 413)\n"
               "  --nosync             do not fsync commits (tests, benchmarks; not durable)\n"
               "  --item-collection-limit-bytes N  for tests: the item-collection size limit of\n"
               "                       tables with local secondary indexes (default 10 GiB)\n"
               "\n"
               "engine options (serve, backend):\n"
               "  --ttl-interval-ms N  how often the TTL sweeper looks for expired items\n"
               "                       (default 1000)\n"
               "  --table-status-delay-ms N  how long tables and indexes stay CREATING,\n"
               "                       UPDATING or DELETING (default 0: they settle at once)\n"
               "  --on-demand-max-rcu N, --on-demand-max-wcu N  a ceiling on PAY_PER_REQUEST\n"
               "                       tables, in units per second per table (default: none)\n"
               "  --price-per-million-reads USD, --price-per-million-writes USD  on-demand prices\n"
               "                       for the estimated cost metric (default 0.125 and 0.625)\n"
               "  --capacity-burst-seconds N  unused provisioned capacity a table or GSI keeps\n"
               "                       for bursts, in seconds of its rate (default 300)\n"
               "  --capacity-initial-seconds N  capacity a new table or GSI starts with, in\n"
               "                       seconds of its rate (default 1)\n"
               "\n"
               "proxy options:\n"
               "  --upstream URL       the endpoint to forward to: http://HOST:PORT or\n"
               "                       https://HOST[:PORT] (required; e.g.\n"
               "                       https://dynamodb.us-east-1.amazonaws.com)\n"
               "  --upstream-ca-file PATH  https: trust the CAs in this PEM file instead of the\n"
               "                       system's (certificates are always verified)\n"
               "  --upstream-timeout-ms N  connect and request timeout (default 10000)\n"
               "  --upstream-signing MODE  resign or passthrough (default: resign when\n"
               "                       credentials are configured, else passthrough)\n"
               "  --aws-access-key-id ID, --aws-secret-access-key KEY, --aws-session-token TOK,\n"
               "  --region REGION      the proxy's own credentials for resign mode (defaults:\n"
               "                       AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY,\n"
               "                       AWS_SESSION_TOKEN, AWS_REGION or AWS_DEFAULT_REGION)\n"
               "  resign: every forwarded request is signed (SigV4, service dynamodb) with the\n"
               "  proxy's credentials; the client's signature is not forwarded.\n"
               "  passthrough: the client's own headers (Authorization, X-Amz-Date,\n"
               "  X-Amz-Security-Token and Host) go along unchanged, so the upstream checks the\n"
               "  client's own signature (an upstream that insists on its own host name needs\n"
               "  clients that sign for that name).\n"
               "\n"
               "cache options (serve, proxy):\n"
               "  --cache-bytes N      memory for cached entries (default 268435456)\n"
               "  --item-ttl-ms N      item cache TTL (default 300000 as DAX; 0 = no expiry)\n"
               "  --query-ttl-ms N     Query/Scan cache TTL (default 300000; 0 = not cached)\n"
               "  --negative-ttl-ms N  TTL of cached 'item absent' answers (default 300000)\n"
               "  --no-cache           pass every request straight to the engine\n"
               "  --cache-tables T1,T2     cache only these tables\n"
               "  --no-cache-tables T1,T2  never cache these tables\n"
               "  -h, --help           this help\n"
               "  --version            print the version\n");
}

static int bad_usage(const char *fmt, const char *arg)
{
    fprintf(stderr, "ddax: ");
    fprintf(stderr, fmt, arg);
    fprintf(stderr, "\nTry 'ddax --help'.\n");
    return EXIT_USAGE;
}

/* Parses a decimal in [min, max]; 0 on success. */
static int parse_num(const char *s, long long min, long long max, long long *out)
{
    char *end;
    errno = 0;
    if (!*s || *s == ' ' || *s == '+')
        return -1;
    long long v = strtoll(s, &end, 10);
    if (errno || *end || v < min || v > max)
        return -1;
    *out = v;
    return 0;
}

/* Parses a non-negative decimal such as 0.125; 0 on success. */
static int parse_decimal(const char *s, double *out)
{
    char *end;
    errno = 0;
    if (!*s || *s == ' ' || *s == '+' || *s == '-')
        return -1;
    double v = strtod(s, &end);
    if (errno || *end || !(v >= 0) || v > 1e15)
        return -1;
    *out = v;
    return 0;
}

struct args {
    const char *command;
    long long port;
    const char *bind;
    const char *data;
    long long threads;
    const char *log_level;
    long long max_body;
    int nosync;
    long long item_collection_limit; /* 0: DynamoDB's 10 GiB */
    long long ttl_interval_ms, status_delay_ms;
    double ondemand_max_rcu, ondemand_max_wcu, price_read, price_write;
    double burst_seconds, initial_seconds;
    int engine_opts; /* an engine option was given (not for 'proxy') */
    const char *upstream;
    long long upstream_timeout_ms;
    const char *upstream_signing; /* NULL: by whether credentials are configured */
    const char *upstream_ca_file;
    const char *access_key, *secret_key, *session_token, *region;
    int resign; /* the mode decided by parse_args */
    struct cache_options cache;
    char **include_tables, **exclude_tables; /* the lists behind cache.*_tables (owned) */
};

/* "T1,T2" as a NULL-terminated list (empty names skipped); free with free_list. */
static char **split_list(const char *val)
{
    size_t n = 1;
    for (const char *p = val; *p; p++)
        n += *p == ',';
    char **list = dx_malloc((n + 1) * sizeof(*list));
    size_t k = 0;
    for (const char *p = val;;) {
        size_t len = strcspn(p, ",");
        if (len) {
            list[k] = dx_malloc(len + 1);
            memcpy(list[k], p, len);
            list[k++][len] = '\0';
        }
        if (!p[len])
            break;
        p += len + 1;
    }
    list[k] = NULL;
    return list;
}

static void free_list(char **list)
{
    for (size_t k = 0; list && list[k]; k++)
        dx_free(list[k]);
    dx_free(list);
}

/* Returns -1 to continue, or an exit code. */
static int parse_args(int argc, char **argv, struct args *a)
{
    a->port = 8000;
    a->bind = "127.0.0.1";
    a->data = "./data";
    a->threads = 0;
    a->log_level = "info";
    a->max_body = 16 * 1024 * 1024;
    a->upstream_timeout_ms = 10000;
    cache_options_init(&a->cache);
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        if (!strcmp(arg, "-h") || !strcmp(arg, "--help")) {
            usage(stdout);
            return 0;
        }
        if (!strcmp(arg, "--version")) {
            printf("ddax " DDAX_VERSION "\n");
            return 0;
        }
        if (arg[0] != '-') {
            if (a->command)
                return bad_usage("unexpected argument '%s'", arg);
            a->command = arg;
            continue;
        }
        if (!strcmp(arg, "--nosync")) {
            a->nosync = 1;
            continue;
        }
        if (!strcmp(arg, "--no-cache")) {
            a->cache.enabled = 0;
            continue;
        }
        /* Options with a value: "--opt VALUE" or "--opt=VALUE". */
        static const char *const with_value[] = {"--port",
                                                 "--bind",
                                                 "--data",
                                                 "--threads",
                                                 "--log-level",
                                                 "--max-body-bytes",
                                                 "--item-collection-limit-bytes",
                                                 "--ttl-interval-ms",
                                                 "--table-status-delay-ms",
                                                 "--on-demand-max-rcu",
                                                 "--on-demand-max-wcu",
                                                 "--price-per-million-reads",
                                                 "--price-per-million-writes",
                                                 "--capacity-burst-seconds",
                                                 "--capacity-initial-seconds",
                                                 "--cache-bytes",
                                                 "--item-ttl-ms",
                                                 "--query-ttl-ms",
                                                 "--negative-ttl-ms",
                                                 "--cache-tables",
                                                 "--no-cache-tables",
                                                 "--upstream",
                                                 "--upstream-timeout-ms",
                                                 "--upstream-signing",
                                                 "--upstream-ca-file",
                                                 "--aws-access-key-id",
                                                 "--aws-secret-access-key",
                                                 "--aws-session-token",
                                                 "--region"};
        const char *name = NULL, *val = NULL;
        size_t nlen = strcspn(arg, "=");
        for (size_t k = 0; k < sizeof(with_value) / sizeof(with_value[0]); k++)
            if (strlen(with_value[k]) == nlen && !strncmp(arg, with_value[k], nlen))
                name = with_value[k];
        if (!name)
            return bad_usage("unknown option '%s'", arg);
        if (arg[nlen] == '=')
            val = arg + nlen + 1;
        else if (i + 1 < argc)
            val = argv[++i];
        else
            return bad_usage("option '%s' needs a value", name);

        long long v;
        if (!strcmp(name, "--port")) {
            if (parse_num(val, 0, 65535, &v))
                return bad_usage("--port: '%s' is not a port number (0-65535)", val);
            a->port = v;
        } else if (!strcmp(name, "--threads")) {
            if (parse_num(val, 1, 1024, &v))
                return bad_usage("--threads: '%s' is not a number from 1 to 1024", val);
            a->threads = v;
        } else if (!strcmp(name, "--max-body-bytes")) {
            if (parse_num(val, 1, (long long)1 << 40, &v))
                return bad_usage("--max-body-bytes: '%s' is not a positive number", val);
            a->max_body = v;
        } else if (!strcmp(name, "--item-collection-limit-bytes")) {
            if (parse_num(val, 1, (long long)1 << 50, &v))
                return bad_usage("--item-collection-limit-bytes: '%s' is not a positive number",
                                 val);
            a->item_collection_limit = v;
        } else if (!strcmp(name, "--ttl-interval-ms") || !strcmp(name, "--table-status-delay-ms")) {
            if (parse_num(val, name[2] == 't' && name[3] == 't' ? 1 : 0, 3600 * 1000, &v))
                return bad_usage("'%s' is not a number of milliseconds", val);
            *(name[3] == 't' ? &a->ttl_interval_ms : &a->status_delay_ms) = v;
            a->engine_opts = 1;
        } else if (!strncmp(name, "--capacity-", 11)) {
            double d;
            if (parse_decimal(val, &d) || d <= 0)
                return bad_usage("'%s' is not a positive number of seconds", val);
            *(name[11] == 'b' ? &a->burst_seconds : &a->initial_seconds) = d;
            a->engine_opts = 1;
        } else if (!strncmp(name, "--on-demand-max-", 16) || !strncmp(name, "--price-", 8)) {
            double d;
            if (parse_decimal(val, &d))
                return bad_usage("'%s' is not a non-negative number", val);
            if (!strcmp(name, "--on-demand-max-rcu"))
                a->ondemand_max_rcu = d;
            else if (!strcmp(name, "--on-demand-max-wcu"))
                a->ondemand_max_wcu = d;
            else if (!strcmp(name, "--price-per-million-reads"))
                a->price_read = d;
            else
                a->price_write = d;
            a->engine_opts = 1;
        } else if (!strcmp(name, "--cache-bytes")) {
            if (parse_num(val, 0, (long long)1 << 50, &v))
                return bad_usage("--cache-bytes: '%s' is not a number of bytes", val);
            a->cache.max_bytes = (size_t)v;
        } else if (!strcmp(name, "--cache-tables") || !strcmp(name, "--no-cache-tables")) {
            char **list = split_list(val);
            if (!list[0]) {
                free_list(list);
                return bad_usage("%s: no table name given", name);
            }
            /* Repeating an option replaces its list, like the other options. */
            if (name[2] == 'c') {
                free_list(a->include_tables);
                a->include_tables = list;
                a->cache.include_tables = (const char *const *)list;
            } else {
                free_list(a->exclude_tables);
                a->exclude_tables = list;
                a->cache.exclude_tables = (const char *const *)list;
            }
        } else if (!strcmp(name, "--upstream")) {
            a->upstream = val;
        } else if (!strcmp(name, "--upstream-ca-file")) {
            if (!*val)
                return bad_usage("--upstream-ca-file: empty path%s", "");
            a->upstream_ca_file = val;
        } else if (!strcmp(name, "--upstream-signing")) {
            if (strcmp(val, "resign") && strcmp(val, "passthrough"))
                return bad_usage("--upstream-signing: '%s' is not resign or passthrough", val);
            a->upstream_signing = val;
        } else if (!strcmp(name, "--aws-access-key-id")) {
            a->access_key = val;
        } else if (!strcmp(name, "--aws-secret-access-key")) {
            a->secret_key = val;
        } else if (!strcmp(name, "--aws-session-token")) {
            a->session_token = val;
        } else if (!strcmp(name, "--region")) {
            a->region = val;
        } else if (!strcmp(name, "--upstream-timeout-ms")) {
            if (parse_num(val, 1, 3600 * 1000, &v))
                return bad_usage("--upstream-timeout-ms: '%s' is not a number of milliseconds",
                                 val);
            a->upstream_timeout_ms = v;
        } else if (!strncmp(name, "--", 2) && strstr(name, "-ttl-ms")) {
            if (parse_num(val, 0, (long long)1 << 50, &v))
                return bad_usage("%s is not a number of milliseconds", val);
            if (name[2] == 'i')
                a->cache.item_ttl_ms = (uint64_t)v;
            else if (name[2] == 'q')
                a->cache.query_ttl_ms = (uint64_t)v;
            else
                a->cache.negative_ttl_ms = (uint64_t)v;
        } else if (!strcmp(name, "--bind")) {
            if (!*val)
                return bad_usage("--bind: empty address%s", "");
            a->bind = val;
        } else if (!strcmp(name, "--data")) {
            if (!*val)
                return bad_usage("--data: empty directory%s", "");
            a->data = val;
        } else { /* --log-level */
            enum dx_log_level lvl;
            if (dx_log_parse_level(val, &lvl) != DX_OK)
                return bad_usage("--log-level: '%s' is not one of debug, info, warn, error", val);
            a->log_level = val;
        }
    }
    if (!a->command)
        return bad_usage("no command given (serve, backend or proxy)%s", "");
    if (strcmp(a->command, "serve") && strcmp(a->command, "backend") && strcmp(a->command, "proxy"))
        return bad_usage("unknown command '%s' (serve, backend or proxy)", a->command);
    if (!strcmp(a->command, "proxy")) {
        if (!a->upstream)
            return bad_usage("proxy needs --upstream http://HOST:PORT or https://HOST%s", "");
        char host[256];
        int port;
        const char *why;
        if (px_upstream_parse_url(a->upstream, host, sizeof(host), &port, &why) != DX_OK)
            return bad_usage("--upstream: %s", why);
        if (a->upstream_ca_file && strncasecmp(a->upstream, "https://", 8))
            return bad_usage("--upstream-ca-file is only for https upstreams%s", "");
        /* Flags win over the environment, one setting at a time. */
        static const struct {
            size_t off;
            const char *env, *env2;
        } envs[] = {
            {offsetof(struct args, access_key), "AWS_ACCESS_KEY_ID", NULL},
            {offsetof(struct args, secret_key), "AWS_SECRET_ACCESS_KEY", NULL},
            {offsetof(struct args, session_token), "AWS_SESSION_TOKEN", NULL},
            {offsetof(struct args, region), "AWS_REGION", "AWS_DEFAULT_REGION"},
        };
        for (size_t k = 0; k < sizeof(envs) / sizeof(envs[0]); k++) {
            const char **slot = (const char **)((char *)a + envs[k].off);
            if (*slot && !**slot)
                *slot = NULL;
            const char *e = envs[k].env ? getenv(envs[k].env) : NULL;
            if (!*slot && e && *e)
                *slot = e;
            e = envs[k].env2 ? getenv(envs[k].env2) : NULL;
            if (!*slot && e && *e)
                *slot = e;
        }
        int have_creds = a->access_key && a->secret_key;
        if (a->upstream_signing)
            a->resign = !strcmp(a->upstream_signing, "resign");
        else
            a->resign = have_creds;
        if (a->resign) {
            if (!a->access_key)
                return bad_usage("re-signing needs --aws-access-key-id (or AWS_ACCESS_KEY_ID)%s",
                                 "");
            if (!a->secret_key)
                return bad_usage(
                    "re-signing needs --aws-secret-access-key (or AWS_SECRET_ACCESS_KEY)%s", "");
            if (!a->region)
                return bad_usage("re-signing needs --region (or AWS_REGION / AWS_DEFAULT_REGION)%s",
                                 "");
        }
    } else if (a->upstream || a->upstream_signing || a->upstream_ca_file || a->access_key ||
               a->secret_key || a->session_token || a->region) {
        return bad_usage("--upstream, --upstream-signing and the credential options are only for "
                         "'ddax proxy'%s",
                         "");
    }
    if (!strcmp(a->command, "proxy") && a->engine_opts)
        return bad_usage("the engine options (TTL, table status, capacity) are not for 'ddax "
                         "proxy'%s",
                         "");
    return -1;
}

/* The engine deleted items on its own (TTL): the cache in front of it drops the table's
 * entries, or eventually consistent reads would go on seeing them. */
static void engine_changed(void *arg, const char *table)
{
    cache_invalidate_table(arg, table);
}

/* What GET /metrics appends after the server's own figures. */
struct metrics_sources {
    struct cache *cache; /* NULL without a cache */
    struct backend *be;  /* NULL in proxy mode */
};

static void extra_metrics(struct dx_buf *out, void *arg)
{
    struct metrics_sources *m = arg;
    if (m->cache) {
        struct cache_stats st;
        cache_stats_get(m->cache, &st);
        px_metrics_write_cache(&st, out);
    }
    if (m->be)
        be_metrics_write(m->be, out);
}

int main(int argc, char **argv)
{
    struct args a = {0};
    int rc = parse_args(argc, argv, &a);
    if (rc >= 0)
        return rc;

    signal(SIGPIPE, SIG_IGN);
    enum dx_log_level lvl;
    dx_log_parse_level(a.log_level, &lvl);
    dx_log_set_level(lvl);

    int proxy = !strcmp(a.command, "proxy");
    struct backend *be = NULL;
    struct px_upstream *up = NULL;
    struct dx_api api;
    struct cache *cache = NULL;
    if (!strcmp(a.command, "serve") || proxy) {
        /* Passthrough: the upstream checks the client's signature over the body, so the cache
         * must forward bodies unchanged. */
        a.cache.bodies_signed = proxy && !a.resign;
        if (cache_new(&a.cache, &cache) != DX_OK) {
            fprintf(stderr, "ddax: invalid cache options\n");
            return 1;
        }
    }
    if (proxy) {
        struct px_upstream_options uo = {.url = a.upstream,
                                         .timeout_ms = (int)a.upstream_timeout_ms,
                                         .resign = a.resign,
                                         .access_key = a.access_key,
                                         .secret_key = a.secret_key,
                                         .session_token = a.session_token,
                                         .region = a.region,
                                         .ca_file = a.upstream_ca_file};
        /* The mode, never the secret (nor the session token). */
        if (a.resign)
            dx_info("proxy: upstream %s, upstream signing: resign (access key %s, region %s%s)",
                    a.upstream, a.access_key, a.region,
                    a.session_token ? ", with a session token" : "");
        else
            dx_info("proxy: upstream %s, upstream signing: passthrough (the client's own "
                    "signature is forwarded)",
                    a.upstream);
        if (px_upstream_new(&uo, &up) != DX_OK) {
            fprintf(stderr, "ddax: cannot use the upstream '%s' (see the log above)\n", a.upstream);
            cache_free(cache);
            return 1;
        }
        api = px_upstream_api(up);
    } else {
        struct be_options bo = {.data_dir = a.data,
                                .nosync = a.nosync,
                                .item_collection_limit = (uint64_t)a.item_collection_limit,
                                .ttl_interval_ms = (unsigned)a.ttl_interval_ms,
                                .status_delay_ms = (unsigned)a.status_delay_ms,
                                .ondemand_max_rcu = a.ondemand_max_rcu,
                                .ondemand_max_wcu = a.ondemand_max_wcu,
                                .price_read_million = a.price_read,
                                .price_write_million = a.price_write,
                                .capacity_burst_seconds = a.burst_seconds,
                                .capacity_initial_seconds = a.initial_seconds,
                                .on_change = cache ? engine_changed : NULL,
                                .on_change_arg = cache};
        if (be_open(&bo, &be) != DX_OK) {
            fprintf(stderr, "ddax: cannot open the data directory '%s' (see the log above)\n",
                    a.data);
            cache_free(cache);
            return 1;
        }
        api = be_api(be);
    }
    if (cache)
        api = cache_wrap(cache, api);
    free_list(a.include_tables); /* cache_new copied them */
    free_list(a.exclude_tables);
    a.include_tables = a.exclude_tables = NULL;
    a.cache.include_tables = a.cache.exclude_tables = NULL;

    struct metrics_sources msrc = {cache, be};
    struct px_server_options so = {
        .bind = a.bind,
        .port = (int)a.port,
        .threads = (int)a.threads,
        .max_body_bytes = (size_t)a.max_body,
        .metrics_extra = extra_metrics,
        .metrics_arg = &msrc,
    };
    struct px_server *srv = NULL;
    if (px_server_new(&so, &api, &srv) != DX_OK) {
        fprintf(stderr, "ddax: cannot listen on %s:%lld (see the log above)\n", a.bind, a.port);
        be_close(be);
        cache_free(cache);
        px_upstream_free(up);
        return 1;
    }
    int v6 = strchr(a.bind, ':') != NULL;
    printf("ddax " DDAX_VERSION " listening on http://%s%s%s:%d (%s %s)\n", v6 ? "[" : "", a.bind,
           v6 ? "]" : "", px_server_port(srv), proxy ? "upstream" : "data in",
           proxy ? a.upstream : a.data);
    fflush(stdout);

    px_server_run(srv);
    if (be)
        be_close(be);     /* finishes queued writes; their answers are parked in the workers */
    px_upstream_free(up); /* fails calls still out; the workers' loops (bases) still exist */
    px_server_free(srv);
    cache_free(cache); /* no call is in flight any more */
    dx_info("stopped");
    return 0;
}
