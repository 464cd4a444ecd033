/*
 * px_metrics: what a Prometheus scraper and a dashboard rely on. Every family has one HELP and
 * one TYPE line before its samples; the DAX names are there; counters of all workers are
 * summed; histogram buckets are cumulative, end with +Inf and agree with _count; the cache's
 * snapshot appears under DAX's names.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "cache.h"
#include "px_metrics.h"
#include "px_upstream.h"

/* The value of the sample line starting with `series ` (name plus labels), or -1. */
static double sample(const char *text, const char *series)
{
    size_t n = strlen(series);
    for (const char *p = text; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL) {
        if (strncmp(p, series, n) == 0 && p[n] == ' ')
            return strtod(p + n + 1, NULL);
    }
    return -1;
}

static int count_lines(const char *text, const char *line)
{
    int k = 0;
    size_t n = strlen(line);
    for (const char *p = text; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
        if (strncmp(p, line, n) == 0 && (p[n] == '\n' || p[n] == ' '))
            k++;
    return k;
}

/* The scrape of n workers, NUL-terminated in b (release with dx_buf_deinit). */
static const char *scrape(struct px_metrics_worker *w, size_t n, struct dx_buf *b)
{
    struct px_metrics_worker *ws[8];
    for (size_t i = 0; i < n; i++)
        ws[i] = &w[i];
    px_metrics_write(ws, n, b);
    dx_buf_putc(b, '\0');
    return b->p;
}

static void test_families_have_help_and_type(void **state)
{
    static const struct {
        const char *name, *type;
    } cases[] = {
        {"ddax_TotalRequestCount", "counter"},    {"ddax_ErrorRequestCount", "counter"},
        {"ddax_FaultRequestCount", "counter"},    {"ddax_requests_total", "counter"},
        {"ddax_request_errors_total", "counter"}, {"ddax_request_duration_seconds", "histogram"},
        {"ddax_ClientConnections", "gauge"},
    };
    struct px_metrics_worker w[1];
    memset(w, 0, sizeof(w));
    px_metrics_request(&w[0], DX_OP_GetItem, 200, 1000);
    px_metrics_request(&w[0], DX_OP_GetItem, 400, 1000);
    struct dx_buf b = DX_BUF_INIT;
    const char *t = scrape(w, 1, &b);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char line[160];
        snprintf(line, sizeof(line), "# TYPE %s %s", cases[i].name, cases[i].type);
        assert_int_equal(count_lines(t, line), 1);
        const char *type = strstr(t, line);
        snprintf(line, sizeof(line), "# HELP %s", cases[i].name);
        assert_int_equal(count_lines(t, line), 1);
        /* HELP, then TYPE, then the samples (a line starting with the name). */
        assert_true(strstr(t, line) < type);
        snprintf(line, sizeof(line), "\n%s", cases[i].name);
        const char *first = strstr(t, line);
        assert_non_null(first);
        assert_true(first > type);
    }
    assert_int_equal(sample(t, "ddax_TotalRequestCount"), 2);
    assert_int_equal(t[strlen(t) - 1], '\n');
    dx_buf_deinit(&b);
}

static void test_workers_are_summed(void **state)
{
    static const struct {
        int worker;
        enum dx_op op;
        int status;
    } reqs[] = {
        {0, DX_OP_GetItem, 200}, {1, DX_OP_GetItem, 200}, {2, DX_OP_GetItem, 400},
        {0, DX_OP_PutItem, 500}, {1, DX_OP_PutItem, 200}, {2, DX_OP_NONE, 400},
    };
    struct px_metrics_worker w[3];
    memset(w, 0, sizeof(w));
    for (size_t i = 0; i < sizeof(reqs) / sizeof(reqs[0]); i++)
        px_metrics_request(&w[reqs[i].worker], reqs[i].op, reqs[i].status, 1000);
    px_metrics_connections_add(&w[0], 1);
    px_metrics_connections_add(&w[1], 1);
    px_metrics_connections_add(&w[1], 1);
    px_metrics_connections_add(&w[0], -1);
    struct dx_buf b = DX_BUF_INIT;
    const char *t = scrape(w, 3, &b);
    assert_int_equal(sample(t, "ddax_TotalRequestCount"), 6);
    assert_int_equal(sample(t, "ddax_ErrorRequestCount"), 2);
    assert_int_equal(sample(t, "ddax_FaultRequestCount"), 1);
    assert_int_equal(sample(t, "ddax_requests_total{op=\"GetItem\"}"), 3);
    assert_int_equal(sample(t, "ddax_requests_total{op=\"PutItem\"}"), 2);
    assert_int_equal(sample(t, "ddax_requests_total{op=\"none\"}"), 1);
    assert_true(sample(t, "ddax_requests_total{op=\"Query\"}") < 0); /* never seen */
    assert_int_equal(sample(t, "ddax_request_errors_total{op=\"GetItem\",class=\"4xx\"}"), 1);
    assert_int_equal(sample(t, "ddax_request_errors_total{op=\"PutItem\",class=\"5xx\"}"), 1);
    assert_true(sample(t, "ddax_request_errors_total{op=\"PutItem\",class=\"4xx\"}") < 0);
    assert_int_equal(sample(t, "ddax_ClientConnections"), 2);
    dx_buf_deinit(&b);
}

static void test_histogram_cumulative(void **state)
{
    /* Latencies in ns and where they land: le is an inclusive upper bound. */
    static const uint64_t lat[] = {5000, 10000, 10001, 300000, 1000000000ull, 2000000000ull};
    static const struct {
        const char *le;
        double count;
    } want[] = {
        {"1e-05", 2},  {"2.5e-05", 3}, {"0.0001", 3}, {"0.00025", 3},
        {"0.0005", 4}, {"0.5", 4},     {"1", 5},      {"+Inf", 6},
    };
    struct px_metrics_worker w[2];
    memset(w, 0, sizeof(w));
    for (size_t i = 0; i < sizeof(lat) / sizeof(lat[0]); i++)
        px_metrics_request(&w[i % 2], DX_OP_Query, 200, lat[i]);
    struct dx_buf b = DX_BUF_INIT;
    const char *t = scrape(w, 2, &b);
    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
        char series[128];
        snprintf(series, sizeof(series),
                 "ddax_request_duration_seconds_bucket{op=\"Query\",le=\"%s\"}", want[i].le);
        assert_int_equal(sample(t, series), want[i].count);
    }
    /* Every bucket line is cumulative (never decreasing) and there are 16 + +Inf. */
    const char *pfx = "ddax_request_duration_seconds_bucket{op=\"Query\"";
    int n = 0;
    double prev = 0;
    for (const char *p = strstr(t, pfx); p; p = strstr(p + 1, pfx)) {
        double v = strtod(strchr(p, ' ') + 1, NULL);
        assert_true(v >= prev);
        prev = v;
        n++;
    }
    assert_int_equal(n, PX_METRICS_NBUCKETS + 1);
    assert_int_equal(sample(t, "ddax_request_duration_seconds_count{op=\"Query\"}"), 6);
    double sum = sample(t, "ddax_request_duration_seconds_sum{op=\"Query\"}");
    assert_true(sum > 3.0003 && sum < 3.0004);
    dx_buf_deinit(&b);
}

static void test_cache_figures(void **state)
{
    struct cache_stats s;
    memset(&s, 0, sizeof(s));
    s.item_hits = 7;
    s.item_misses = 3;
    s.query_hits = 2;
    s.query_misses = 5;
    s.scan_hits = 6;
    s.scan_misses = 8;
    s.write_images = 11;
    s.write_negative = 12;
    s.write_dropped = 13;
    s.coalesced = 1;
    s.evictions = 4;
    s.entries = 9;
    s.bytes = 4096;
    s.upstream[DX_OP_GetItem] = 3;
    struct dx_buf b = DX_BUF_INIT;
    px_metrics_write_cache(&s, &b);
    dx_buf_putc(&b, '\0');
    static const struct {
        const char *series, *type;
        double v;
    } want[] = {
        {"ddax_ItemCacheHits", "counter", 7},
        {"ddax_ItemCacheMisses", "counter", 3},
        {"ddax_QueryCacheHits", "counter", 2},
        {"ddax_QueryCacheMisses", "counter", 5},
        {"ddax_ScanCacheHits", "counter", 6},
        {"ddax_ScanCacheMisses", "counter", 8},
        {"ddax_cache_write_images_total", "counter", 11},
        {"ddax_cache_write_negative_total", "counter", 12},
        {"ddax_cache_write_dropped_total", "counter", 13},
        {"ddax_coalesced_requests_total", "counter", 1},
        {"ddax_cache_evictions_total", "counter", 4},
        {"ddax_cache_entries", "gauge", 9},
        {"ddax_cache_bytes", "gauge", 4096},
    };
    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
        char line[128];
        snprintf(line, sizeof(line), "# TYPE %s %s", want[i].series, want[i].type);
        assert_int_equal(count_lines(b.p, line), 1);
        assert_int_equal(sample(b.p, want[i].series), want[i].v);
    }
    assert_int_equal(sample(b.p, "ddax_upstream_requests_total{op=\"GetItem\"}"), 3);
    assert_true(sample(b.p, "ddax_upstream_requests_total{op=\"PutItem\"}") < 0);
    dx_buf_deinit(&b);
}

/* Upstream failures: absent from the scrape until an upstream client exists, then one series
 * per kind, counting every failure even when the log lines are rate-limited. */
static void test_upstream_failures(void **state)
{
    struct dx_buf b = DX_BUF_INIT;
    uint64_t f[PX_UPFAIL__COUNT];
    if (!px_upstream_failures(f)) {
        px_metrics_write(NULL, 0, &b);
        dx_buf_putc(&b, '\0');
        assert_null(strstr(b.p, "ddax_upstream_failures_total"));
        dx_buf_reset(&b);
    }
    struct px_upstream_options o = {.url = "http://127.0.0.1:9"};
    struct px_upstream *u;
    assert_int_equal(px_upstream_new(&o, &u), 0);
    for (int i = 0; i < 3; i++)
        px_upstream_failure_note(PX_UPFAIL_TIMEOUT, "test: timeout");
    for (int i = 0; i < 2 * PX_UPSTREAM_LOG_PER_SEC; i++) /* a flood: logged in part */
        px_upstream_failure_note(PX_UPFAIL_5XX, "test: 5xx");
    px_upstream_failure_note(PX_UPFAIL_CONNECT, "test: connect");
    px_metrics_write(NULL, 0, &b);
    dx_buf_putc(&b, '\0');
    assert_int_equal(count_lines(b.p, "# TYPE ddax_upstream_failures_total counter"), 1);
    assert_int_equal(sample(b.p, "ddax_upstream_failures_total{kind=\"timeout\"}"), 3);
    assert_int_equal(sample(b.p, "ddax_upstream_failures_total{kind=\"5xx\"}"),
                     2 * PX_UPSTREAM_LOG_PER_SEC);
    assert_int_equal(sample(b.p, "ddax_upstream_failures_total{kind=\"connect\"}"), 1);
    assert_int_equal(sample(b.p, "ddax_upstream_failures_total{kind=\"transport\"}"), 0);
    assert_string_equal(px_upstream_failure_name(PX_UPFAIL_TRANSPORT), "transport");
    px_upstream_free(u);
    dx_buf_deinit(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_families_have_help_and_type),
        cmocka_unit_test(test_workers_are_summed),
        cmocka_unit_test(test_histogram_cumulative),
        cmocka_unit_test(test_cache_figures),
        cmocka_unit_test(test_upstream_failures),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
