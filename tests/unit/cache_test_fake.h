/*
 * The fake inner dx_api shared by the cache wrapper tests (test_cache_api.c,
 * test_cache_write.c, test_cache_batch.c): a tiny in-memory DynamoDB (tables "T" with key pk,
 * "R" with keys pk+sk) that counts its calls and can answer at once, from another thread, or
 * only when the test releases it; plus helpers that call through the cache and wait.
 * Include after cmocka.h.
 */
#ifndef CACHE_TEST_FAKE_H
#define CACHE_TEST_FAKE_H

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cjson/cJSON.h>
#include "cache.h"
#include "dx_alloc.h"

/* --- the fake inner api --- */

enum fake_mode { FAKE_SYNC, FAKE_THREAD, FAKE_HOLD };

struct held {
    struct dx_reply *reply;
    dx_api_done_cb done;
    void *arg;
};

struct fake {
    pthread_mutex_t mu;
    enum fake_mode mode;
    int calls[DX_OP__COUNT];
    int total;
    char last_body[8192];   /* the last request seen */
    int force_status;       /* non-zero: answer every call with this status ... */
    const char *force_body; /* ... and this body */
    cJSON *items;           /* array of {"table":..., "item":{...}} */
    struct held held[64];
    int nheld;
};

static struct fake F;

static const cJSON *attr(const cJSON *item, const char *name)
{
    return cJSON_GetObjectItemCaseSensitive(item, name);
}

static inline int av_equal(const cJSON *a, const cJSON *b)
{
    return a && b && cJSON_Compare(a, b, 1);
}

/* The stored record for table + key (matching pk, and sk when given). */
static inline cJSON *find(const char *table, const cJSON *key)
{
    cJSON *rec;
    cJSON_ArrayForEach(rec, F.items)
    {
        const cJSON *it = attr(rec, "item");
        if (strcmp(attr(rec, "table")->valuestring, table) != 0)
            continue;
        if (!av_equal(attr(it, "pk"), attr(key, "pk")))
            continue;
        if (attr(key, "sk") && !av_equal(attr(it, "sk"), attr(key, "sk")))
            continue;
        return rec;
    }
    return NULL;
}

static inline void store_put(const char *table, const cJSON *item)
{
    cJSON *old = find(table, item);
    if (old)
        cJSON_Delete(cJSON_DetachItemViaPointer(F.items, old));
    cJSON *r = cJSON_CreateObject();
    cJSON_AddStringToObject(r, "table", table);
    cJSON_AddItemToObject(r, "item", cJSON_Duplicate(item, 1));
    cJSON_AddItemToArray(F.items, r);
}

static inline char *print(const cJSON *v)
{
    return cJSON_PrintUnformatted(v);
}

static inline struct dx_reply *reply_str(int status, const char *s)
{
    return dx_reply_new(status, dx_strdup(s), strlen(s));
}

static inline struct dx_reply *reply_json(cJSON *v)
{
    char *s = print(v);
    struct dx_reply *r = reply_str(200, s);
    free(s);
    cJSON_Delete(v);
    return r;
}

/* The item reduced to a ProjectionExpression that is a plain list of names ("a, #b"). */
static inline cJSON *project(const cJSON *item, const cJSON *req)
{
    const cJSON *pe = attr(req, "ProjectionExpression");
    if (!pe)
        return cJSON_Duplicate(item, 1);
    cJSON *out = cJSON_CreateObject();
    char buf[256];
    snprintf(buf, sizeof(buf), "%s", pe->valuestring);
    for (char *save, *tok = strtok_r(buf, ", ", &save); tok; tok = strtok_r(NULL, ", ", &save)) {
        const char *name = tok;
        if (tok[0] == '#')
            name = attr(attr(req, "ExpressionAttributeNames"), tok)->valuestring;
        const cJSON *v = attr(item, name);
        if (v)
            cJSON_AddItemToObject(out, name, cJSON_Duplicate(v, 1));
    }
    return out;
}

static inline struct dx_reply *handle(enum dx_op op, cJSON *req)
{
    const cJSON *tn = attr(req, "TableName");
    const char *table = tn ? tn->valuestring : "";
    switch (op) {
    case DX_OP_GetItem: {
        cJSON *rec = find(table, attr(req, "Key"));
        cJSON *out = cJSON_CreateObject();
        if (rec)
            cJSON_AddItemToObject(out, "Item", cJSON_Duplicate(attr(rec, "item"), 1));
        return reply_json(out);
    }
    case DX_OP_PutItem:
        store_put(table, attr(req, "Item"));
        return reply_str(200, "{}");
    case DX_OP_UpdateItem: {
        /* "SET v = :v" when :v is given; ReturnValues ALL_NEW / ALL_OLD honoured */
        cJSON *rec = find(table, attr(req, "Key"));
        cJSON *old = rec ? cJSON_Duplicate(attr(rec, "item"), 1) : NULL;
        cJSON *item = old ? cJSON_Duplicate(old, 1) : cJSON_Duplicate(attr(req, "Key"), 1);
        const cJSON *v = attr(attr(req, "ExpressionAttributeValues"), ":v");
        if (v) {
            cJSON_DeleteItemFromObjectCaseSensitive(item, "v");
            cJSON_AddItemToObject(item, "v", cJSON_Duplicate(v, 1));
        }
        store_put(table, item);
        const cJSON *rv = attr(req, "ReturnValues");
        cJSON *out = cJSON_CreateObject();
        if (rv && strcmp(rv->valuestring, "ALL_NEW") == 0)
            cJSON_AddItemToObject(out, "Attributes", cJSON_Duplicate(item, 1));
        else if (rv && strcmp(rv->valuestring, "ALL_OLD") == 0 && old)
            cJSON_AddItemToObject(out, "Attributes", cJSON_Duplicate(old, 1));
        cJSON_AddItemToObject(out, "ConsumedCapacity", cJSON_CreateObject());
        cJSON_Delete(old);
        cJSON_Delete(item);
        return reply_json(out);
    }
    case DX_OP_DeleteItem: {
        cJSON *rec = find(table, attr(req, "Key"));
        if (rec)
            cJSON_Delete(cJSON_DetachItemViaPointer(F.items, rec));
        return reply_str(200, "{}");
    }
    case DX_OP_BatchWriteItem: {
        /* Puts whose pk starts with "unp" come back unprocessed */
        cJSON *out = cJSON_CreateObject();
        cJSON *unp = cJSON_AddObjectToObject(out, "UnprocessedItems");
        const cJSON *tab;
        cJSON_ArrayForEach(tab, attr(req, "RequestItems"))
        {
            const cJSON *r;
            cJSON_ArrayForEach(r, tab)
            {
                const cJSON *put = attr(r, "PutRequest"), *del = attr(r, "DeleteRequest");
                const cJSON *pk = put ? attr(attr(attr(put, "Item"), "pk"), "S") : NULL;
                if (pk && strncmp(pk->valuestring, "unp", 3) == 0) {
                    cJSON *u = cJSON_GetObjectItemCaseSensitive(unp, tab->string);
                    if (!u)
                        u = cJSON_AddArrayToObject(unp, tab->string);
                    cJSON_AddItemToArray(u, cJSON_Duplicate(r, 1));
                } else if (put) {
                    store_put(tab->string, attr(put, "Item"));
                } else if (del) {
                    cJSON *rec = find(tab->string, attr(del, "Key"));
                    if (rec)
                        cJSON_Delete(cJSON_DetachItemViaPointer(F.items, rec));
                }
            }
        }
        return reply_json(out);
    }
    case DX_OP_Query:
    case DX_OP_Scan: {
        const cJSON *p = attr(attr(req, "ExpressionAttributeValues"), ":p");
        cJSON *out = cJSON_CreateObject();
        cJSON *items = cJSON_AddArrayToObject(out, "Items");
        cJSON *rec;
        int n = 0;
        cJSON_ArrayForEach(rec, F.items)
        {
            if (strcmp(attr(rec, "table")->valuestring, table) != 0)
                continue;
            if (op == DX_OP_Query && !av_equal(attr(attr(rec, "item"), "pk"), p))
                continue;
            cJSON_AddItemToArray(items, cJSON_Duplicate(attr(rec, "item"), 1));
            n++;
        }
        cJSON_AddNumberToObject(out, "Count", n);
        cJSON_AddNumberToObject(out, "ScannedCount", n);
        return reply_json(out);
    }
    case DX_OP_BatchGetItem: {
        cJSON *out = cJSON_CreateObject();
        cJSON *resp = cJSON_AddObjectToObject(out, "Responses");
        cJSON *unp = cJSON_AddObjectToObject(out, "UnprocessedKeys");
        const cJSON *tab;
        cJSON_ArrayForEach(tab, attr(req, "RequestItems"))
        {
            cJSON *list = cJSON_AddArrayToObject(resp, tab->string);
            const cJSON *k;
            cJSON_ArrayForEach(k, attr(tab, "Keys"))
            {
                const cJSON *pk = attr(k, "pk");
                if (pk && attr(pk, "S") && strncmp(attr(pk, "S")->valuestring, "unp", 3) == 0) {
                    cJSON *u = cJSON_GetObjectItemCaseSensitive(unp, tab->string);
                    if (!u) {
                        u = cJSON_AddObjectToObject(unp, tab->string);
                        cJSON_AddArrayToObject(u, "Keys");
                    }
                    cJSON_AddItemToArray(cJSON_GetObjectItemCaseSensitive(u, "Keys"),
                                         cJSON_Duplicate(k, 1));
                    continue;
                }
                cJSON *rec = find(tab->string, k);
                if (rec)
                    cJSON_AddItemToArray(list, project(attr(rec, "item"), tab));
            }
        }
        return reply_json(out);
    }
    default:
        return reply_str(200, "{}");
    }
}

struct thread_reply {
    struct held h;
};

static inline void *reply_thread(void *arg)
{
    struct thread_reply *t = arg;
    usleep(1000);
    t->h.done(t->h.reply, t->h.arg);
    free(t);
    return NULL;
}

static inline void fake_call(void *self, const struct dx_call *call, dx_api_done_cb done, void *arg)
{
    pthread_mutex_lock(&F.mu);
    F.calls[call->op]++;
    F.total++;
    size_t n = call->len < sizeof(F.last_body) - 1 ? call->len : sizeof(F.last_body) - 1;
    memcpy(F.last_body, call->body, n);
    F.last_body[n] = '\0';
    struct dx_reply *r;
    if (F.force_status) {
        r = reply_str(F.force_status, F.force_body);
    } else {
        cJSON *req = cJSON_ParseWithLength(call->body, call->len);
        assert_non_null(req);
        r = handle(call->op, req);
        cJSON_Delete(req);
    }
    enum fake_mode mode = F.mode;
    if (mode == FAKE_HOLD) {
        F.held[F.nheld++] = (struct held){r, done, arg};
        pthread_mutex_unlock(&F.mu);
        return;
    }
    pthread_mutex_unlock(&F.mu);
    if (mode == FAKE_THREAD) {
        struct thread_reply *t = malloc(sizeof(*t));
        t->h = (struct held){r, done, arg};
        pthread_t th;
        pthread_create(&th, NULL, reply_thread, t);
        pthread_detach(th);
        return;
    }
    done(r, arg);
}

static const struct dx_api_vtbl fake_vtbl = {.call = fake_call};

/* Answers every held call, from another thread. */
static inline void *release_all(void *unused)
{
    pthread_mutex_lock(&F.mu);
    int n = F.nheld;
    struct held h[64];
    memcpy(h, F.held, sizeof(h));
    F.nheld = 0;
    pthread_mutex_unlock(&F.mu);
    for (int i = 0; i < n; i++)
        h[i].done(h[i].reply, h[i].arg);
    return NULL;
}

static inline void release_from_thread(void)
{
    pthread_t th;
    pthread_create(&th, NULL, release_all, NULL);
    pthread_join(th, NULL);
}

/* --- results --- */

struct result {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int got;
    int status;
    char body[8192];
};

static inline void result_init(struct result *r)
{
    memset(r, 0, sizeof(*r));
    pthread_mutex_init(&r->mu, NULL);
    pthread_cond_init(&r->cv, NULL);
}

static inline void on_done(struct dx_reply *reply, void *arg)
{
    struct result *r = arg;
    pthread_mutex_lock(&r->mu);
    r->got++;
    r->status = reply ? reply->status : -1;
    if (reply)
        snprintf(r->body, sizeof(r->body), "%.*s", (int)reply->len, reply->body);
    dx_reply_free(reply);
    pthread_cond_broadcast(&r->cv);
    pthread_mutex_unlock(&r->mu);
}

static inline void result_wait(struct result *r)
{
    pthread_mutex_lock(&r->mu);
    while (!r->got)
        pthread_cond_wait(&r->cv, &r->mu);
    pthread_mutex_unlock(&r->mu);
}

static struct cache *C;
static struct dx_api API;

static inline void start(struct cache_options *o)
{
    pthread_mutex_init(&F.mu, NULL);
    cJSON_Delete(F.items);
    memset(F.calls, 0, sizeof(F.calls));
    F.total = 0;
    F.mode = FAKE_SYNC;
    F.force_status = 0;
    F.nheld = 0;
    F.items = cJSON_CreateArray();
    struct cache_options def;
    if (!o) {
        cache_options_init(&def);
        o = &def;
    }
    assert_int_equal(cache_new(o, &C), 0);
    API = cache_wrap(C, (struct dx_api){.vt = &fake_vtbl, .self = &F});
}

static inline void stop(void)
{
    cache_free(C);
    C = NULL;
    cJSON_Delete(F.items);
    F.items = NULL;
}

/* One call through the cache, waiting for its answer; returns the status, body in *body. */
static inline int call(enum dx_op op, const char *body, char *out, size_t outlen)
{
    struct result r;
    result_init(&r);
    struct dx_call c = {.op = op, .body = body, .len = strlen(body)};
    dx_api_call(&API, &c, on_done, &r);
    result_wait(&r);
    if (out) {
        size_t n = strlen(r.body);
        assert_true(n < outlen); /* the test's buffer must hold the whole reply */
        memcpy(out, r.body, n + 1);
    }
    return r.status;
}

static inline int inner(enum dx_op op)
{
    pthread_mutex_lock(&F.mu);
    int n = F.calls[op];
    pthread_mutex_unlock(&F.mu);
    return n;
}

#define PUT_A  "{\"TableName\":\"T\",\"Item\":{\"pk\":{\"S\":\"a\"},\"v\":{\"N\":\"1\"}}}"
#define PUT_A2 "{\"TableName\":\"T\",\"Item\":{\"pk\":{\"S\":\"a\"},\"v\":{\"N\":\"2\"}}}"
#define GET_A  "{\"TableName\":\"T\",\"Key\":{\"pk\":{\"S\":\"a\"}}}"

#endif
