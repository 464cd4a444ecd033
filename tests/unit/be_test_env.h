/*
 * The engine test harness shared by the engine-level unit tests (test_be_query.c, test_be_index.c,
 * test_be_backfill.c, test_be_batch.c, test_be_item_ops.c): a real backend in a temporary
 * directory driven through its dx_api with JSON bodies written with single quotes, each call
 * waited for (writes complete on the writer thread). Header-only, like cache_test_fake.h; every
 * function is static inline so a test includes what it uses without unused-function warnings.
 */
#ifndef BE_TEST_ENV_H
#define BE_TEST_ENV_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cjson/cJSON.h>
#include "backend.h"
#include "dx_api.h"
#include "dx_op.h"

struct waiter {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    struct dx_reply *reply;
};

static inline void on_done(struct dx_reply *reply, void *arg)
{
    struct waiter *w = arg;
    pthread_mutex_lock(&w->mu);
    w->reply = reply;
    pthread_cond_signal(&w->cv);
    pthread_mutex_unlock(&w->mu);
}

struct env {
    char dir[64];
    struct backend *be;
    struct dx_api api;
};

static inline char *dequote(const char *s)
{
    char *b = strdup(s);
    for (char *p = b; *p; p++) {
        if (*p == '\'')
            *p = '"';
    }
    return b;
}

/* One call on a body already in JSON, waited for. The reply is the caller's. */
static inline struct dx_reply *call_raw(struct env *e, enum dx_op op, const char *text)
{
    struct waiter w = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, NULL};
    struct dx_call c = {.op = op, .body = text, .len = strlen(text)};
    dx_api_call(&e->api, &c, on_done, &w);
    pthread_mutex_lock(&w.mu);
    while (!w.reply)
        pthread_cond_wait(&w.cv, &w.mu);
    pthread_mutex_unlock(&w.mu);
    return w.reply;
}

static inline char *vformat(const char *fmt, va_list ap)
{
    va_list aq;
    va_copy(aq, ap);
    int n = vsnprintf(NULL, 0, fmt, aq);
    va_end(aq);
    char *b = malloc((size_t)n + 1);
    vsnprintf(b, (size_t)n + 1, fmt, ap);
    char *d = dequote(b);
    free(b);
    return d;
}

/* A call that must succeed; returns the parsed response (cJSON_Delete it). */
static inline cJSON *ok(struct env *e, enum dx_op op, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static inline cJSON *ok(struct env *e, enum dx_op op, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *text = vformat(fmt, ap);
    va_end(ap);
    struct dx_reply *r = call_raw(e, op, text);
    if (r->status != 200)
        fail_msg("%s %.300s -> %d %.*s", dx_op_name(op), text, r->status, (int)r->len, r->body);
    cJSON *j = cJSON_ParseWithLength(r->body, r->len);
    assert_non_null(j);
    dx_reply_free(r);
    free(text);
    return j;
}

/* A call that must fail with error `type` and exactly `msg`. */
static inline void fails(struct env *e, enum dx_op op, const char *body, const char *type,
                         const char *msg)
{
    char *text = dequote(body);
    struct dx_reply *r = call_raw(e, op, text);
    cJSON *got = cJSON_ParseWithLength(r->body, r->len);
    const cJSON *t = cJSON_GetObjectItemCaseSensitive(got, "__type");
    const cJSON *m = cJSON_GetObjectItemCaseSensitive(got, "message");
    if (!m)
        m = cJSON_GetObjectItemCaseSensitive(got, "Message");
    const char *hash = cJSON_IsString(t) ? strchr(t->valuestring, '#') : NULL;
    if (r->status != 400 || !hash || strcmp(hash + 1, type) != 0 || !cJSON_IsString(m) ||
        strcmp(m->valuestring, msg) != 0)
        fail_msg("%s %s\n  want %s: %s\n  got  %d %.*s", dx_op_name(op), body, type, msg, r->status,
                 (int)r->len, r->body);
    cJSON_Delete(got);
    dx_reply_free(r);
    free(text);
}

static inline void put(struct env *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static inline void put(struct env *e, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *text = vformat(fmt, ap);
    va_end(ap);
    struct dx_reply *r = call_raw(e, DX_OP_PutItem, text);
    if (r->status != 200)
        fail_msg("PutItem %.200s -> %d %.*s", text, r->status, (int)r->len, r->body);
    dx_reply_free(r);
    free(text);
}

/* The canonical text of an item: its members sorted by name, each name=value JSON. */
static inline char *canon(const cJSON *item, const char *const *only, size_t n_only)
{
    const char *names[64];
    size_t n = 0;
    const cJSON *c;
    cJSON_ArrayForEach(c, item)
    {
        int keep = !only;
        for (size_t i = 0; only && i < n_only; i++)
            keep |= strcmp(only[i], c->string) == 0;
        if (keep && n < 64)
            names[n++] = c->string;
    }
    for (size_t i = 1; i < n; i++)
        for (size_t j = i; j > 0 && strcmp(names[j - 1], names[j]) > 0; j--) {
            const char *t = names[j];
            names[j] = names[j - 1];
            names[j - 1] = t;
        }
    size_t cap = 4096, used = 0;
    char *out = calloc(1, cap);
    for (size_t i = 0; i < n; i++) {
        char *v = cJSON_PrintUnformatted(cJSON_GetObjectItemCaseSensitive(item, names[i]));
        int w = snprintf(out + used, cap - used, "%s=%s;", names[i], v);
        assert_true(w >= 0 && (size_t)w < cap - used);
        used += (size_t)w;
        free(v);
    }
    return out;
}

static inline int str_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The values of attribute `name` (of type `type`) of the response's Items, joined by ','. */
static inline void values(const cJSON *resp, const char *name, const char *type, char *out,
                          size_t cap)
{
    const cJSON *items = cJSON_GetObjectItemCaseSensitive(resp, "Items");
    size_t used = 0;
    out[0] = 0;
    const cJSON *it;
    cJSON_ArrayForEach(it, items)
    {
        const cJSON *v =
            cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(it, name), type);
        int w = snprintf(out + used, cap - used, "%s%s", used ? "," : "",
                         cJSON_IsString(v) ? v->valuestring : "?");
        assert_true(w >= 0 && (size_t)w < cap - used);
        used += (size_t)w;
    }
}

static inline int count_of(const cJSON *resp, const char *member)
{
    const cJSON *c = cJSON_GetObjectItemCaseSensitive(resp, member);
    assert_true(cJSON_IsNumber(c));
    return c->valueint;
}

/* A backend in a fresh temporary directory (/tmp/ddax-<tag>-XXXXXX), without fsync. */
static inline struct env *env_new(const char *tag, size_t map_size)
{
    struct env *e = calloc(1, sizeof *e);
    snprintf(e->dir, sizeof e->dir, "/tmp/ddax-%s-XXXXXX", tag);
    assert_non_null(mkdtemp(e->dir));
    struct be_options o = {.data_dir = e->dir, .nosync = 1, .map_size = map_size};
    assert_int_equal(be_open(&o, &e->be), 0);
    e->api = be_api(e->be);
    return e;
}

/* cmocka teardown for a setup that stored an env_new in *state: closes and removes it. */
static inline int env_teardown(void **state)
{
    struct env *e = *state;
    be_close(e->be);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", e->dir);
    if (system(cmd) != 0)
        return -1;
    free(e);
    return 0;
}

/* ---- scenarios: a table of calls and the answers they must get ---- */

/* call_raw with a single-quoted JSON body. The reply is the caller's (dx_reply_free). */
static inline struct dx_reply *call(struct env *e, enum dx_op op, const char *body)
{
    char *text = dequote(body);
    struct dx_reply *r = call_raw(e, op, text);
    free(text);
    return r;
}

/* A call that must succeed (setup steps). */
static inline void call_ok(struct env *e, enum dx_op op, const char *body)
{
    struct dx_reply *r = call(e, op, body);
    if (r->status != 200)
        fail_msg("%s %s -> %d %.*s", dx_op_name(op), body, r->status, (int)r->len, r->body);
    dx_reply_free(r);
}

/*
 * One step of a scenario. For a success (type NULL) `want` is the whole response body as
 * single-quoted JSON, compared structurally. For an error, `type` is the name after the '#' of
 * __type and `want` the message, in which '*' stands for any run of characters (values
 * DynamoDB prints, texts owned by other modules). `extra` is the error body's payload, when
 * one is wanted: CancellationReasons for TransactionCanceledException, else Item (which must
 * then be absent when extra is NULL: an error carries the item only when asked to).
 */
/* Case tables leave `extra` (and often `want`) out: */
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"
struct step {
    enum dx_op op;
    const char *body;
    const char *type;
    const char *want;
    const char *extra;
};

static inline int step_msg_matches(const char *got, const char *want)
{
    if (!*want)
        return !*got;
    if (*want == '*') {
        for (const char *g = got;; g++) {
            if (step_msg_matches(g, want + 1))
                return 1;
            if (!*g)
                return 0;
        }
    }
    return *got == *want && step_msg_matches(got + 1, want + 1);
}

/* Whether member `name` of got equals the single-quoted JSON want (NULL: must be absent). */
static inline int step_member_is(const cJSON *got, const char *name, const char *want)
{
    const cJSON *m = cJSON_GetObjectItemCaseSensitive(got, name);
    if (!want)
        return m == NULL;
    char *text = dequote(want);
    cJSON *w = cJSON_Parse(text);
    free(text);
    int same = w && m && cJSON_Compare(w, m, 1);
    cJSON_Delete(w);
    return same;
}

static inline void step_check(size_t i, const struct step *s, const struct dx_reply *r)
{
    cJSON *got = cJSON_ParseWithLength(r->body, r->len);
    if (!got)
        fail_msg("step %zu: unparsable reply %.*s", i, (int)r->len, r->body);
    if (!s->type) {
        char *text = dequote(s->want);
        cJSON *want = cJSON_Parse(text);
        free(text);
        if (r->status != 200 || !want || !cJSON_Compare(want, got, 1))
            fail_msg("step %zu: %s %.300s\n  want 200 %s\n  got  %d %.*s", i, dx_op_name(s->op),
                     s->body, s->want, r->status, (int)r->len, r->body);
        cJSON_Delete(want);
    } else {
        const cJSON *type = cJSON_GetObjectItemCaseSensitive(got, "__type");
        const cJSON *msg = cJSON_GetObjectItemCaseSensitive(got, "message");
        if (!msg)
            msg = cJSON_GetObjectItemCaseSensitive(got, "Message");
        const char *hash = cJSON_IsString(type) ? strchr(type->valuestring, '#') : NULL;
        int ok = r->status == 400 && hash && strcmp(hash + 1, s->type) == 0 &&
                 cJSON_IsString(msg) && step_msg_matches(msg->valuestring, s->want);
        if (strcmp(s->type, "TransactionCanceledException") == 0)
            ok = ok && (!s->extra || step_member_is(got, "CancellationReasons", s->extra));
        else
            ok = ok && step_member_is(got, "Item", s->extra);
        if (!ok)
            fail_msg("step %zu: %s %.300s\n  want %s: %s %s\n  got  %d %.*s", i, dx_op_name(s->op),
                     s->body, s->type, s->want, s->extra ? s->extra : "", r->status, (int)r->len,
                     r->body);
    }
    cJSON_Delete(got);
}

static inline void run_steps(struct env *e, const struct step *steps, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        struct dx_reply *r = call(e, steps[i].op, steps[i].body);
        step_check(i, &steps[i], r);
        dx_reply_free(r);
    }
}

#define RUN(e, steps) run_steps(e, steps, sizeof(steps) / sizeof((steps)[0]))

#endif
