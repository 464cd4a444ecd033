/*
 * The caching dx_api (include/cache.h): routing of each operation to the item cache, the
 * query cache, write-through invalidation or plain pass-through, and request coalescing.
 *
 * Hit path: one parse of the (small) request to compute its key, one shard lock in the table,
 * a generation check, and a copy of the stored reply bytes into the reply: no JSON is
 * produced. Miss path: the request joins a fetch in flight for the same key (coalescing) or
 * starts one; the fetch's completion stores a 200 reply and answers every waiter with its own
 * copy. Every entry records the generations of the groups it depends on (cache_gen.h) as its
 * fetch started; writes (cache_write.c) bump them, which makes the entry stale.
 */
#include <string.h>
#include <time.h>
#include <cjson/cJSON.h>
#include "cache_key.h"
#include "cache_priv.h"
#include "dx_alloc.h"
#include "dx_status.h"

enum { SEED_TABLE = 11, SEED_ITEMS, SEED_WRITES, SEED_ITEM, SEED_ATTR };

/* --- options and lifecycle --- */

void cache_options_init(struct cache_options *o)
{
    memset(o, 0, sizeof(*o));
    o->max_bytes = (size_t)256 << 20;
    o->item_ttl_ms = 300000;
    o->query_ttl_ms = 300000;
    o->negative_ttl_ms = 300000;
    o->enabled = 1;
}

static char **copy_list(const char *const *l)
{
    if (!l || !l[0])
        return NULL;
    size_t n = 0;
    while (l[n])
        n++;
    char **r = dx_calloc(n + 1, sizeof(*r));
    for (size_t i = 0; i < n; i++)
        r[i] = dx_strdup(l[i]);
    return r;
}

static void free_list(char **l)
{
    for (size_t i = 0; l && l[i]; i++)
        dx_free(l[i]);
    dx_free(l);
}

int cache_new(const struct cache_options *opts, struct cache **out)
{
    struct cache_options o;
    if (opts)
        o = *opts;
    else
        cache_options_init(&o);
    if (o.max_bytes == 0)
        return DX_EINVAL;
    struct cache *c = dx_calloc(1, sizeof(*c));
    c->opts = o;
    c->include = copy_list(o.include_tables);
    c->exclude = copy_list(o.exclude_tables);
    c->opts.include_tables = c->opts.exclude_tables = NULL;
    /* about one generation record (an item or a partition) per 384 bytes cached: an entry
     * costs more than that with its overhead, so records are rarely evicted while the entries
     * that need them are live. The records' memory counts against the limit too. */
    size_t recs = o.max_bytes / 384;
    c->gens = cache_gens_new(recs < 256 ? 256 : recs);
    size_t gbytes = cache_gens_bytes(c->gens);
    if (gbytes >= o.max_bytes / 2) {
        cache_gens_free(c->gens);
        dx_free(c);
        return DX_EINVAL; /* too small to hold anything */
    }
    size_t tbytes = o.max_bytes - gbytes;
    /* 64 shards, fewer for small caches so one shard still holds large replies */
    unsigned nshards = 64;
    while (nshards > 1 && tbytes / nshards < ((size_t)4 << 20))
        nshards /= 2;
    c->table = cache_table_new(tbytes, nshards);
    for (int i = 0; i < CACHE_PSHARDS; i++)
        pthread_mutex_init(&c->pending[i].mu, NULL);
    for (int i = 0; i < CACHE_SCHEMASHARDS; i++)
        pthread_mutex_init(&c->schema[i].mu, NULL);
    for (int i = 0; i < CACHE_PSHARDS; i++)
        pthread_mutex_init(&c->wflight[i].mu, NULL);
    pthread_mutex_init(&c->wmu, NULL);
    *out = c;
    return DX_OK;
}

struct cache_schema_rec {
    struct cache_schema_rec *next;
    char *table;
    struct cache_schema s;
};

void cache_free(struct cache *c)
{
    if (!c)
        return;
    cache_table_free(c->table);
    cache_gens_free(c->gens);
    for (int i = 0; i < CACHE_PSHARDS; i++) {
        pthread_mutex_destroy(&c->pending[i].mu);
        pthread_mutex_destroy(&c->wflight[i].mu); /* empty: no write is in flight */
    }
    for (int i = 0; i < CACHE_SCHEMASHARDS; i++) {
        struct cache_schema_rec *r = c->schema[i].head;
        while (r) {
            struct cache_schema_rec *next = r->next;
            dx_free(r->table);
            dx_free(r);
            r = next;
        }
        pthread_mutex_destroy(&c->schema[i].mu);
    }
    struct cache_wrapper *w = c->wrappers;
    while (w) {
        struct cache_wrapper *next = w->next;
        dx_free(w);
        w = next;
    }
    pthread_mutex_destroy(&c->wmu);
    free_list(c->include);
    free_list(c->exclude);
    dx_free(c);
}

void cache_stats_get(struct cache *c, struct cache_stats *out)
{
    memset(out, 0, sizeof(*out));
    out->item_hits = atomic_load(&c->item_hits);
    out->item_misses = atomic_load(&c->item_misses);
    out->negative_hits = atomic_load(&c->negative_hits);
    out->query_hits = atomic_load(&c->query_hits);
    out->query_misses = atomic_load(&c->query_misses);
    out->scan_hits = atomic_load(&c->scan_hits);
    out->scan_misses = atomic_load(&c->scan_misses);
    out->coalesced = atomic_load(&c->coalesced);
    out->invalidations = atomic_load(&c->invalidations);
    out->write_images = atomic_load(&c->write_images);
    out->write_negative = atomic_load(&c->write_negative);
    out->write_dropped = atomic_load(&c->write_dropped);
    for (int i = 0; i < DX_OP__COUNT; i++)
        out->upstream[i] = atomic_load(&c->upstream[i]);
    struct cache_table_stats ts;
    cache_table_stats(c->table, &ts);
    out->evictions = ts.evictions;
    out->entries = ts.entries;
    out->bytes = ts.bytes + cache_gens_bytes(c->gens);
}

/* --- small helpers --- */

uint64_t cache__now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static int in_list(char **l, const char *t, size_t tl)
{
    for (size_t i = 0; l && l[i]; i++)
        if (strlen(l[i]) == tl && memcmp(l[i], t, tl) == 0)
            return 1;
    return 0;
}

int cache__table_cached(struct cache *c, const char *t, size_t tl)
{
    if (c->include && !in_list(c->include, t, tl))
        return 0;
    return !in_list(c->exclude, t, tl);
}

uint64_t cache__g_table(const char *t, size_t tl)
{
    return cache_gen_coarse(cache_hash(t, tl, SEED_TABLE));
}

void cache_invalidate_table(struct cache *c, const char *table)
{
    cache_gens_bump(c->gens, cache__g_table(table, strlen(table)));
}

uint64_t cache__g_items(const char *t, size_t tl)
{
    return cache_gen_coarse(cache_hash(t, tl, SEED_ITEMS));
}

uint64_t cache__g_writes(const char *t, size_t tl)
{
    return cache_gen_coarse(cache_hash(t, tl, SEED_WRITES));
}

uint64_t cache__g_item(const char *t, size_t tl, const char *ck, size_t ckl)
{
    return cache_gen_fine(cache_hash(ck, ckl, cache_hash(t, tl, SEED_ITEM)));
}

uint64_t cache__g_attr(const char *t, size_t tl, const char *name, size_t nl, const char *cv,
                       size_t cvl)
{
    uint64_t h = cache_hash(name, nl, cache_hash(t, tl, SEED_ATTR));
    return cache_gen_fine(cache_hash(cv, cvl, h));
}

int cache__item_key(struct dx_buf *out, const char *t, size_t tl, const cJSON *key,
                    const char *proj, size_t projl, size_t *ck_off, size_t *ck_len)
{
    dx_buf_putc(out, 'I');
    cache_key_lp(out, t, tl);
    *ck_off = out->len;
    if (cache_key_primary(out, key, NULL, 0) != DX_OK)
        return DX_EINVAL;
    *ck_len = out->len - *ck_off;
    dx_buf_putc(out, '|');
    dx_buf_append(out, proj, projl);
    return DX_OK;
}

void cache__item_deps(struct cache_meta *m, const char *t, size_t tl, const char *ck, size_t ckl)
{
    m->ck_len = (uint16_t)ckl;
    m->ndeps = 3;
    m->dep[0] = cache__g_table(t, tl);
    m->dep[1] = cache__g_items(t, tl);
    m->dep[2] = cache__g_item(t, tl, ck, ckl);
}

void cache__snapshot(struct cache *c, struct cache_meta *m)
{
    for (unsigned i = 0; i < m->ndeps; i++)
        m->gen[i] = cache_gens_snapshot(c->gens, m->dep[i]);
}

int cache__current(struct cache *c, const struct cache_meta *m)
{
    for (unsigned i = 0; i < m->ndeps; i++)
        if (cache_gens_peek(c->gens, m->dep[i]) != m->gen[i])
            return 0;
    return 1;
}

/* 1 when the item entry e (struct cache_imeta) is current: its groups come from its key,
 * 'I' <table length> ':' <table> <canonical key> '|' <projection>. */
static int item_current(struct cache *c, const struct cache_entry *e, const struct cache_imeta *im)
{
    size_t klen;
    const char *k = cache_entry_key(e, &klen);
    size_t i = 1, tl = 0;
    while (i < klen && k[i] >= '0' && k[i] <= '9')
        tl = tl * 10 + (size_t)(k[i++] - '0');
    if (i >= klen || k[i] != ':' || i + 1 + tl + im->ck_len > klen)
        return 0;
    struct cache_meta m = {.ndeps = 3};
    cache__item_deps(&m, k + i + 1, tl, k + i + 1 + tl, im->ck_len);
    memcpy(m.gen, im->gen, sizeof(im->gen));
    return cache__current(c, &m);
}

struct cache_entry *cache__lookup(struct cache *c, const char *key, size_t klen, uint64_t hash)
{
    struct cache_entry *e = cache_table_get(c->table, hash, key, klen, cache__now_ms());
    if (!e)
        return NULL;
    size_t ml;
    const void *m = cache_entry_meta(e, &ml);
    int ok = ml == sizeof(struct cache_meta)    ? cache__current(c, m)
             : ml == sizeof(struct cache_imeta) ? item_current(c, e, m)
                                                : 0;
    if (!ok) {
        cache_table_del_entry(c->table, e);
        cache_entry_unref(e);
        return NULL;
    }
    return e;
}

static uint64_t expiry(uint64_t ttl_ms)
{
    return ttl_ms ? cache__now_ms() + ttl_ms : 0;
}

int cache__item_negative(const struct cache_entry *e)
{
    size_t ml;
    const struct cache_imeta *im = cache_entry_meta(e, &ml);
    return ml == sizeof(*im) && im->negative;
}

const char *cache__item_value(const struct cache_entry *e, size_t *len)
{
    if (cache__item_negative(e)) {
        *len = 0;
        return "";
    }
    return cache_entry_value(e, len);
}

struct dx_reply *cache__item_reply(const struct cache_entry *e)
{
    size_t vl;
    const char *v = cache__item_value(e, &vl);
    if (cache__item_negative(e))
        return dx_reply_new(200, dx_strdup("{}"), 2);
    size_t len = 8 + vl + 1;
    char *b = dx_malloc(len + 1);
    memcpy(b, "{\"Item\":", 8);
    memcpy(b + 8, v, vl);
    b[8 + vl] = '}';
    b[len] = '\0';
    return dx_reply_new(200, b, len);
}

void cache__item_put(struct cache *c, const char *key, size_t klen, uint64_t hash,
                     const struct cache_meta *m, int negative, const char *item, size_t ilen)
{
    uint64_t ttl = negative ? c->opts.negative_ttl_ms : c->opts.item_ttl_ms;
    if (negative && ttl == 0)
        return;
    struct cache_imeta im = {.negative = (uint8_t)(negative != 0), .ck_len = m->ck_len};
    memcpy(im.gen, m->gen, sizeof(im.gen));
    cache_table_put(c->table, hash, key, klen, negative ? "" : item, negative ? 0 : ilen, &im,
                    sizeof(im), expiry(ttl), cache__now_ms());
}

void cache__item_store(struct cache *c, const char *key, size_t klen, uint64_t hash,
                       struct cache_meta *m, const char *body, size_t blen)
{
    size_t off = 0, len = 0;
    int rc = cache_json_member(body, blen, "Item", &off, &len);
    if (rc == DX_EINVAL || (rc == DX_OK && body[off] != '{'))
        return;
    /* a reply with ConsumedCapacity or anything else unexpected is not reusable */
    size_t xo, xl;
    if (cache_json_member(body, blen, "ConsumedCapacity", &xo, &xl) == DX_OK)
        return;
    if (!cache__current(c, m))
        return;
    cache__item_put(c, key, klen, hash, m, rc == DX_ENOTFOUND, body + off, len);
}

/* --- learned key schemas --- */

static struct cache_schema_shard *schema_shard(struct cache *c, const char *t, size_t tl)
{
    return &c->schema[cache_hash(t, tl, 7) % CACHE_SCHEMASHARDS];
}

static struct cache_schema_rec *schema_find(struct cache_schema_shard *s, const char *t, size_t tl)
{
    for (struct cache_schema_rec *r = s->head; r; r = r->next)
        if (strlen(r->table) == tl && memcmp(r->table, t, tl) == 0)
            return r;
    return NULL;
}

void cache__schema_learn(struct cache *c, const char *t, size_t tl, const char *const *names,
                         size_t n)
{
    if (n == 0 || n > 2)
        return;
    for (size_t i = 0; i < n; i++)
        if (strlen(names[i]) >= CACHE_KEYNAME_MAX)
            return;
    struct cache_schema_shard *s = schema_shard(c, t, tl);
    pthread_mutex_lock(&s->mu);
    struct cache_schema_rec *r = schema_find(s, t, tl);
    if (!r) {
        r = dx_calloc(1, sizeof(*r));
        r->table = dx_strndup(t, tl);
        r->next = s->head;
        s->head = r;
    }
    r->s.n = n;
    for (size_t i = 0; i < n; i++)
        strcpy(r->s.name[i], names[i]);
    pthread_mutex_unlock(&s->mu);
}

int cache__schema_get(struct cache *c, const char *t, size_t tl, struct cache_schema *out)
{
    struct cache_schema_shard *s = schema_shard(c, t, tl);
    pthread_mutex_lock(&s->mu);
    struct cache_schema_rec *r = schema_find(s, t, tl);
    if (r)
        *out = r->s;
    pthread_mutex_unlock(&s->mu);
    return r ? DX_OK : DX_ENOTFOUND;
}

void cache__schema_forget(struct cache *c, const char *t, size_t tl)
{
    struct cache_schema_shard *s = schema_shard(c, t, tl);
    pthread_mutex_lock(&s->mu);
    for (struct cache_schema_rec **pp = &s->head; *pp; pp = &(*pp)->next) {
        struct cache_schema_rec *r = *pp;
        if (strlen(r->table) == tl && memcmp(r->table, t, tl) == 0) {
            *pp = r->next;
            dx_free(r->table);
            dx_free(r);
            break;
        }
    }
    pthread_mutex_unlock(&s->mu);
}

/* --- forwarding and replies --- */

void cache__forward(struct cache_wrapper *w, const struct dx_call *call, dx_api_done_cb done,
                    void *arg)
{
    if (call->op > DX_OP_NONE && call->op < DX_OP__COUNT)
        cache__count(&w->c->upstream[call->op], 1);
    dx_api_call(&w->inner, call, done, arg);
}

static struct dx_reply *reply_copy(int status, const char *body, size_t len)
{
    char *b = dx_malloc(len + 1);
    memcpy(b, body, len);
    b[len] = '\0';
    return dx_reply_new(status, b, len);
}

/* --- fetches: misses, coalesced --- */

enum fetch_kind { FETCH_ITEM, FETCH_QUERY };

struct waiter {
    dx_api_done_cb done;
    void *arg;
    struct waiter *next;
};

struct cache_fetch {
    struct cache *c;
    struct cache_fetch *next; /* in the pending shard */
    int in_map;
    enum fetch_kind kind;
    uint64_t hash;
    char *key;
    size_t klen;
    struct cache_meta meta;
    /* item fetches: the table and its key names, learned when the GetItem succeeds */
    char *table;
    size_t tlen;
    size_t nkeys;
    char *keynames[2];
    struct waiter first;
    struct waiter *waiters, **tail;
};

static struct cache_pshard *pshard_of(struct cache *c, uint64_t hash)
{
    return &c->pending[hash % CACHE_PSHARDS];
}

static void fetch_free(struct cache_fetch *f)
{
    dx_free(f->key);
    dx_free(f->table);
    for (size_t i = 0; i < f->nkeys; i++)
        dx_free(f->keynames[i]);
    struct waiter *w = f->waiters;
    while (w) {
        struct waiter *next = w->next;
        if (w != &f->first)
            dx_free(w);
        w = next;
    }
    dx_free(f);
}

static void fetch_done(struct dx_reply *reply, void *arg)
{
    struct cache_fetch *f = arg;
    struct cache *c = f->c;
    if (reply && reply->status == 200) {
        if (f->kind == FETCH_ITEM) {
            cache__item_store(c, f->key, f->klen, f->hash, &f->meta, reply->body, reply->len);
            cache__schema_learn(c, f->table, f->tlen, (const char *const *)f->keynames, f->nkeys);
        } else if (cache__current(c, &f->meta)) {
            cache_table_put(c->table, f->hash, f->key, f->klen, reply->body, reply->len, &f->meta,
                            sizeof(f->meta), expiry(c->opts.query_ttl_ms), cache__now_ms());
        }
    }
    struct cache_pshard *ps = pshard_of(c, f->hash);
    pthread_mutex_lock(&ps->mu);
    if (f->in_map) {
        for (struct cache_fetch **pp = &ps->head; *pp; pp = &(*pp)->next) {
            if (*pp == f) {
                *pp = f->next;
                break;
            }
        }
        f->in_map = 0;
    }
    struct waiter *list = f->waiters;
    f->waiters = NULL;
    pthread_mutex_unlock(&ps->mu);

    /* every waiter gets its own reply; the last one gets the original */
    while (list) {
        struct waiter *w = list;
        list = w->next;
        struct dx_reply *r = reply;
        if (list && reply)
            r = reply_copy(reply->status, reply->body, reply->len);
        w->done(r, w->arg);
        if (w != &f->first)
            dx_free(w);
    }
    fetch_free(f);
}

/*
 * Joins the fetch in flight for nf's key if that fetch's snapshot is still current (coalescing),
 * or starts nf. Takes ownership of nf, which carries kind, hash, key, meta.dep and, for items,
 * the table and key names.
 */
static void fetch_start(struct cache_wrapper *w, const struct dx_call *call, struct cache_fetch *nf,
                        dx_api_done_cb done, void *arg)
{
    struct cache *c = w->c;
    struct cache_pshard *ps = pshard_of(c, nf->hash);
    pthread_mutex_lock(&ps->mu);
    for (struct cache_fetch **pp = &ps->head; *pp; pp = &(*pp)->next) {
        struct cache_fetch *f = *pp;
        if (f->hash != nf->hash || f->klen != nf->klen || memcmp(f->key, nf->key, f->klen))
            continue;
        if (cache__current(c, &f->meta)) {
            struct waiter *wt = dx_malloc(sizeof(*wt));
            wt->done = done;
            wt->arg = arg;
            wt->next = NULL;
            *f->tail = wt;
            f->tail = &wt->next;
            pthread_mutex_unlock(&ps->mu);
            cache__count(&c->coalesced, 1);
            fetch_free(nf);
            return;
        }
        /* a write completed since that fetch started: its result may predate the write */
        *pp = f->next;
        f->in_map = 0;
        break;
    }
    nf->c = c;
    nf->first.done = done;
    nf->first.arg = arg;
    nf->first.next = NULL;
    nf->waiters = &nf->first;
    nf->tail = &nf->first.next;
    cache__snapshot(c, &nf->meta);
    nf->in_map = 1;
    nf->next = ps->head;
    ps->head = nf;
    pthread_mutex_unlock(&ps->mu);
    cache__forward(w, call, fetch_done, nf);
}

/* --- GetItem --- */

static int rcc_none(const cJSON *req)
{
    const cJSON *r = cJSON_GetObjectItemCaseSensitive(req, "ReturnConsumedCapacity");
    return !r || (cJSON_IsString(r) && strcmp(r->valuestring, "NONE") == 0);
}

/* 1 for an eventually consistent read; -1 when the member is malformed. */
static int eventual(const cJSON *obj)
{
    const cJSON *cr = cJSON_GetObjectItemCaseSensitive(obj, "ConsistentRead");
    if (!cr || cJSON_IsNull(cr) || cJSON_IsFalse(cr))
        return 1;
    return cJSON_IsTrue(cr) ? 0 : -1;
}

static int members_in(const cJSON *obj, const char *const *allowed)
{
    for (const cJSON *m = obj->child; m; m = m->next) {
        size_t i = 0;
        while (allowed[i] && (!m->string || strcmp(allowed[i], m->string) != 0))
            i++;
        if (!allowed[i])
            return 0;
    }
    return 1;
}

static void get_item(struct cache_wrapper *w, const struct dx_call *call, dx_api_done_cb done,
                     void *arg)
{
    static const char *const allowed[] = {"TableName",
                                          "Key",
                                          "ProjectionExpression",
                                          "ExpressionAttributeNames",
                                          "AttributesToGet",
                                          "ConsistentRead",
                                          "ReturnConsumedCapacity",
                                          NULL};
    struct cache *c = w->c;
    struct dx_buf key = DX_BUF_INIT, proj = DX_BUF_INIT;
    const char *t;
    size_t tl, ck_off, ck_len;
    cJSON *req = cJSON_ParseWithLength(call->body, call->len);
    if (!cJSON_IsObject(req) || !members_in(req, allowed) || eventual(req) != 1 || !rcc_none(req) ||
        cache_key_table_name(cJSON_GetObjectItemCaseSensitive(req, "TableName"), &t, &tl) ||
        !cache__table_cached(c, t, tl) || cache_key_projection(&proj, req) ||
        cache__item_key(&key, t, tl, cJSON_GetObjectItemCaseSensitive(req, "Key"), proj.p, proj.len,
                        &ck_off, &ck_len)) {
        cJSON_Delete(req);
        dx_buf_deinit(&proj);
        dx_buf_deinit(&key);
        cache__forward(w, call, done, arg);
        return;
    }
    dx_buf_deinit(&proj);
    uint64_t hash = cache_hash(key.p, key.len, 0);
    struct cache_entry *e = cache__lookup(c, key.p, key.len, hash);
    if (e) {
        cache__count(&c->item_hits, 1);
        if (cache__item_negative(e))
            cache__count(&c->negative_hits, 1);
        struct dx_reply *r = cache__item_reply(e);
        cache_entry_unref(e);
        cJSON_Delete(req);
        dx_buf_deinit(&key);
        done(r, arg);
        return;
    }
    cache__count(&c->item_misses, 1);
    struct cache_fetch *f = dx_calloc(1, sizeof(*f));
    f->kind = FETCH_ITEM;
    f->hash = hash;
    f->key = dx_buf_steal(&key, &f->klen);
    cache__item_deps(&f->meta, t, tl, f->key + ck_off, ck_len);
    f->table = dx_strndup(t, tl);
    f->tlen = tl;
    for (const cJSON *k = cJSON_GetObjectItemCaseSensitive(req, "Key")->child; k; k = k->next)
        f->keynames[f->nkeys++] = dx_strdup(k->string);
    cJSON_Delete(req);
    fetch_start(w, call, f, done, arg);
}

/* --- Query and Scan --- */

struct eq_ctx {
    const char *t;
    size_t tl;
    struct cache_meta *m;
    int bad;
};

static void on_equality(const char *name, size_t nl, const cJSON *value, void *arg)
{
    struct eq_ctx *x = arg;
    struct dx_buf cv = DX_BUF_INIT;
    if (x->m->ndeps >= CACHE_MAXDEPS || cache_key_scalar(&cv, value) != DX_OK) {
        x->bad = 1;
    } else {
        x->m->dep[x->m->ndeps++] = cache__g_attr(x->t, x->tl, name, nl, cv.p, cv.len);
    }
    dx_buf_deinit(&cv);
}

static void query_scan(struct cache_wrapper *w, const struct dx_call *call, dx_api_done_cb done,
                       void *arg)
{
    struct cache *c = w->c;
    const char *t;
    size_t tl;
    cJSON *req = cJSON_ParseWithLength(call->body, call->len);
    if (c->opts.query_ttl_ms == 0 || !cJSON_IsObject(req) || eventual(req) != 1 || !rcc_none(req) ||
        cache_key_table_name(cJSON_GetObjectItemCaseSensitive(req, "TableName"), &t, &tl) ||
        !cache__table_cached(c, t, tl)) {
        cJSON_Delete(req);
        cache__forward(w, call, done, arg);
        return;
    }
    struct dx_buf key = DX_BUF_INIT;
    dx_buf_putc(&key, call->op == DX_OP_Query ? 'Q' : 'S');
    cache_key_lp(&key, t, tl);
    cache_key_normalize(&key, req, "ReturnConsumedCapacity");
    uint64_t hash = cache_hash(key.p, key.len, 0);

    struct cache_entry *e = cache__lookup(c, key.p, key.len, hash);
    if (e) {
        size_t vl;
        const char *v = cache_entry_value(e, &vl);
        cache__count(call->op == DX_OP_Query ? &c->query_hits : &c->scan_hits, 1);
        struct dx_reply *r = reply_copy(200, v, vl);
        cache_entry_unref(e);
        cJSON_Delete(req);
        dx_buf_deinit(&key);
        done(r, arg);
        return;
    }
    cache__count(call->op == DX_OP_Query ? &c->query_misses : &c->scan_misses, 1);
    struct cache_fetch *f = dx_calloc(1, sizeof(*f));
    f->kind = FETCH_QUERY;
    f->hash = hash;
    f->key = dx_buf_steal(&key, &f->klen);
    /* A base-table Query depends on its partition (one of its key equalities); Scans and
     * index Queries on every write to the table. */
    f->meta.dep[f->meta.ndeps++] = cache__g_table(t, tl);
    int partition = 0;
    if (call->op == DX_OP_Query && !cJSON_GetObjectItemCaseSensitive(req, "IndexName")) {
        struct eq_ctx x = {t, tl, &f->meta, 0};
        int n = cache_key_equalities(req, on_equality, &x);
        partition = n > 0 && !x.bad;
        if (!partition)
            f->meta.ndeps = 1;
    }
    if (!partition)
        f->meta.dep[f->meta.ndeps++] = cache__g_writes(t, tl);
    cJSON_Delete(req);
    fetch_start(w, call, f, done, arg);
}

/* --- the api --- */

static void api_call(void *self, const struct dx_call *call, dx_api_done_cb done, void *arg)
{
    struct cache_wrapper *w = self;
    if (!w->c->opts.enabled) {
        cache__forward(w, call, done, arg);
        return;
    }
    switch (call->op) {
    case DX_OP_GetItem:
        get_item(w, call, done, arg);
        return;
    case DX_OP_BatchGetItem:
        cache__batch_get(w, call, done, arg);
        return;
    case DX_OP_Query:
    case DX_OP_Scan:
        query_scan(w, call, done, arg);
        return;
    case DX_OP_DescribeTable:
        cache__describe_table(w, call, done, arg);
        return;
    case DX_OP_CreateTable:
    case DX_OP_DeleteTable:
    case DX_OP_UpdateTable:
    case DX_OP_RestoreTableFromBackup:
    case DX_OP_RestoreTableToPointInTime:
        cache__write_through(w, call, done, arg);
        return;
    default:
        if (dx_op_flags(call->op) & (DX_OPF_ITEM_WRITE | DX_OPF_PARTIQL))
            cache__write_through(w, call, done, arg);
        else
            cache__forward(w, call, done, arg);
        return;
    }
}

static const struct dx_api_vtbl cache_vtbl = {.call = api_call};

struct dx_api cache_wrap(struct cache *c, struct dx_api inner)
{
    struct cache_wrapper *w = dx_calloc(1, sizeof(*w));
    w->c = c;
    w->inner = inner;
    pthread_mutex_lock(&c->wmu);
    w->next = c->wrappers;
    c->wrappers = w;
    pthread_mutex_unlock(&c->wmu);
    return (struct dx_api){.vt = &cache_vtbl, .self = w};
}
