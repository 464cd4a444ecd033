/*
 * The table catalog: definitions persisted in the store's catalog database (one JSON record
 * per table, keyed by name), and the published snapshots readers use.
 *
 * Readers on any thread look tables up in a name-sorted array under a mutex and leave with a
 * reference; snapshots are immutable, so nothing else is locked while a request uses one. The
 * writer thread changes the stored definitions inside its transactions and publishes the new
 * snapshot only after the commit, so a reader never sees a table that might still roll back.
 *
 * Status transitions (CREATING, UPDATING, DELETING with a configured delay) settle lazily: a
 * definition carries the time its transition is due, and whoever reads it after that time (a
 * reader through the published map, the writer through the store, the next open) sees it
 * settled. Nothing has to run at that moment, and a restart cannot lose the transition.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cjson/cJSON.h>
#include <openssl/rand.h>
#include "dx_alloc.h"
#include "dx_log.h"
#include "dx_status.h"
#include "be_store.h"
#include "be_table_priv.h"

#define NEXT_ID_KEY      "next_table_id"
#define ENCODING_VERSION 1

struct be_catalog {
    struct be_store *store;
    pthread_mutex_t mu;
    struct be_table **tabs; /* sorted by name; each holds one reference */
    size_t n, cap;
};

/* ---- tables ---- */

struct be_table *be_table_new(void)
{
    struct be_table *t = dx_calloc(1, sizeof *t);
    t->refs = 1;
    return t;
}

static void keydef_free(struct be_keydef *k)
{
    dx_free(k->name);
    k->name = NULL;
}

static void index_free(struct be_index *x)
{
    dx_free(x->name);
    keydef_free(&x->hash);
    keydef_free(&x->range);
    for (size_t i = 0; i < x->n_nonkey; i++)
        dx_free(x->nonkey[i]);
    dx_free(x->nonkey);
    dx_free(x->status);
}

static void table_free(struct be_table *t)
{
    dx_free(t->name);
    dx_free(t->arn);
    dx_free(t->table_id);
    dx_free(t->status);
    keydef_free(&t->hash);
    keydef_free(&t->range);
    for (size_t i = 0; i < t->n_attrdefs; i++)
        keydef_free(&t->attrdefs[i]);
    dx_free(t->attrdefs);
    for (size_t i = 0; i < t->n_lsi; i++)
        index_free(&t->lsi[i]);
    dx_free(t->lsi);
    for (size_t i = 0; i < t->n_gsi; i++)
        index_free(&t->gsi[i]);
    dx_free(t->gsi);
    dx_free(t->table_class);
    if (t->extra)
        cJSON_Delete(t->extra);
    dx_free(t);
}

void be_table_ref(struct be_table *t)
{
    __atomic_fetch_add(&t->refs, 1, __ATOMIC_RELAXED);
}

void be_table_unref(struct be_table *t)
{
    if (t && __atomic_sub_fetch(&t->refs, 1, __ATOMIC_ACQ_REL) == 0)
        table_free(t);
}

static char *sdup(const char *s)
{
    return s ? dx_strdup(s) : NULL;
}

static void keydef_copy(struct be_keydef *dst, const struct be_keydef *src)
{
    dst->name = sdup(src->name);
    dst->type = src->type;
}

static void index_copy(struct be_index *dst, const struct be_index *src)
{
    *dst = *src;
    dst->name = sdup(src->name);
    keydef_copy(&dst->hash, &src->hash);
    keydef_copy(&dst->range, &src->range);
    dst->nonkey = src->n_nonkey ? dx_calloc(src->n_nonkey, sizeof(char *)) : NULL;
    for (size_t i = 0; i < src->n_nonkey; i++)
        dst->nonkey[i] = dx_strdup(src->nonkey[i]);
    dst->status = sdup(src->status);
}

struct be_table *be_table_clone(const struct be_table *t)
{
    struct be_table *c = be_table_new();
    c->id = t->id;
    c->name = sdup(t->name);
    c->arn = sdup(t->arn);
    c->table_id = sdup(t->table_id);
    c->created = t->created;
    c->status = sdup(t->status);
    keydef_copy(&c->hash, &t->hash);
    keydef_copy(&c->range, &t->range);
    c->n_attrdefs = t->n_attrdefs;
    c->attrdefs = t->n_attrdefs ? dx_calloc(t->n_attrdefs, sizeof *c->attrdefs) : NULL;
    for (size_t i = 0; i < t->n_attrdefs; i++)
        keydef_copy(&c->attrdefs[i], &t->attrdefs[i]);
    c->billing = t->billing;
    c->rcu = t->rcu;
    c->wcu = t->wcu;
    c->last_increase = t->last_increase;
    c->last_decrease = t->last_decrease;
    c->decreases_today = t->decreases_today;
    c->n_lsi = t->n_lsi;
    c->lsi = t->n_lsi ? dx_calloc(t->n_lsi, sizeof *c->lsi) : NULL;
    for (size_t i = 0; i < t->n_lsi; i++)
        index_copy(&c->lsi[i], &t->lsi[i]);
    c->n_gsi = t->n_gsi;
    c->gsi = t->n_gsi ? dx_calloc(t->n_gsi, sizeof *c->gsi) : NULL;
    for (size_t i = 0; i < t->n_gsi; i++)
        index_copy(&c->gsi[i], &t->gsi[i]);
    c->deletion_protection = t->deletion_protection;
    c->table_class = sdup(t->table_class);
    c->extra = t->extra ? cJSON_Duplicate(t->extra, 1) : NULL;
    c->settle_at = t->settle_at;
    return c;
}

int be_status_is(const char *status, const char *what)
{
    return status && !strcmp(status, what);
}

int be_table_in_transition(const struct be_table *t)
{
    return be_status_is(t->status, "CREATING") || be_status_is(t->status, "DELETING");
}

static void set_str(char **dst, const char *s)
{
    dx_free(*dst);
    *dst = dx_strdup(s);
}

int be__table_settle(struct be_table *t, double now)
{
    if (t->settle_at <= 0 || now < t->settle_at)
        return 0;
    if (be_status_is(t->status, "DELETING"))
        return 1;
    set_str(&t->status, "ACTIVE");
    size_t k = 0;
    for (size_t i = 0; i < t->n_gsi; i++) {
        struct be_index *x = &t->gsi[i];
        if (be_status_is(x->status, "DELETING")) {
            /* Its entries were dropped when the deletion was requested. */
            index_free(x);
            continue;
        }
        if (be_status_is(x->status, "UPDATING") || be_status_is(x->status, BE_GSI_BACKFILLED))
            set_str(&x->status, "ACTIVE");
        t->gsi[k++] = *x;
    }
    t->n_gsi = k;
    t->settle_at = 0;
    return 0;
}

void be__uuid4(char buf[37])
{
    unsigned char b[16];
    if (RAND_bytes(b, sizeof b) != 1) {
        /* RAND_bytes only fails without an entropy source; fall back to the kernel's. */
        FILE *f = fopen("/dev/urandom", "rb");
        if (!f || fread(b, 1, sizeof b, f) != sizeof b)
            for (size_t i = 0; i < sizeof b; i++)
                b[i] = (unsigned char)random();
        if (f)
            fclose(f);
    }
    b[6] = (unsigned char)((b[6] & 0x0f) | 0x40);
    b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);
    static const char hex[] = "0123456789abcdef";
    char *p = buf;
    for (int i = 0; i < 16; i++) {
        if (i == 4 || i == 6 || i == 8 || i == 10)
            *p++ = '-';
        *p++ = hex[b[i] >> 4];
        *p++ = hex[b[i] & 15];
    }
    *p = '\0';
}

/* ---- encoding ---- */

static const char *proj_name(enum be_projection p)
{
    return p == BE_PROJ_KEYS_ONLY ? "KEYS_ONLY" : p == BE_PROJ_INCLUDE ? "INCLUDE" : "ALL";
}

static cJSON *keydef_json(const struct be_keydef *k)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "n", k->name);
    cJSON_AddStringToObject(o, "t", dx_av_type_name(k->type));
    return o;
}

static cJSON *index_json(const struct be_index *x)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "name", x->name);
    cJSON_AddItemToObject(o, "hash", keydef_json(&x->hash));
    if (x->range.name)
        cJSON_AddItemToObject(o, "range", keydef_json(&x->range));
    cJSON_AddStringToObject(o, "proj", proj_name(x->projection));
    if (x->n_nonkey) {
        cJSON *a = cJSON_AddArrayToObject(o, "nonkey");
        for (size_t i = 0; i < x->n_nonkey; i++)
            cJSON_AddItemToArray(a, cJSON_CreateString(x->nonkey[i]));
    }
    cJSON_AddNumberToObject(o, "rcu", (double)x->rcu);
    cJSON_AddNumberToObject(o, "wcu", (double)x->wcu);
    if (x->status)
        cJSON_AddStringToObject(o, "status", x->status);
    cJSON_AddNumberToObject(o, "id", x->id);
    return o;
}

void be__table_encode(const struct be_table *t, struct dx_buf *out)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "v", ENCODING_VERSION);
    cJSON_AddNumberToObject(o, "id", t->id);
    cJSON_AddStringToObject(o, "name", t->name);
    cJSON_AddStringToObject(o, "arn", t->arn ? t->arn : "");
    cJSON_AddStringToObject(o, "table_id", t->table_id ? t->table_id : "");
    cJSON_AddNumberToObject(o, "created", t->created);
    cJSON_AddStringToObject(o, "status", t->status ? t->status : "ACTIVE");
    cJSON_AddItemToObject(o, "hash", keydef_json(&t->hash));
    if (t->range.name)
        cJSON_AddItemToObject(o, "range", keydef_json(&t->range));
    cJSON *a = cJSON_AddArrayToObject(o, "attrdefs");
    for (size_t i = 0; i < t->n_attrdefs; i++)
        cJSON_AddItemToArray(a, keydef_json(&t->attrdefs[i]));
    cJSON_AddStringToObject(
        o, "billing", t->billing == BE_BILLING_PAY_PER_REQUEST ? "PAY_PER_REQUEST" : "PROVISIONED");
    cJSON_AddNumberToObject(o, "rcu", (double)t->rcu);
    cJSON_AddNumberToObject(o, "wcu", (double)t->wcu);
    cJSON_AddNumberToObject(o, "last_inc", t->last_increase);
    cJSON_AddNumberToObject(o, "last_dec", t->last_decrease);
    cJSON_AddNumberToObject(o, "dec_today", t->decreases_today);
    a = cJSON_AddArrayToObject(o, "lsi");
    for (size_t i = 0; i < t->n_lsi; i++)
        cJSON_AddItemToArray(a, index_json(&t->lsi[i]));
    a = cJSON_AddArrayToObject(o, "gsi");
    for (size_t i = 0; i < t->n_gsi; i++)
        cJSON_AddItemToArray(a, index_json(&t->gsi[i]));
    cJSON_AddBoolToObject(o, "dp", t->deletion_protection != 0);
    if (t->table_class)
        cJSON_AddStringToObject(o, "class", t->table_class);
    if (t->extra)
        cJSON_AddItemToObject(o, "extra", cJSON_Duplicate(t->extra, 1));
    if (t->settle_at > 0)
        cJSON_AddNumberToObject(o, "settle_at", t->settle_at);
    char *s = cJSON_PrintUnformatted(o);
    dx_buf_puts(out, s);
    cJSON_free(s);
    cJSON_Delete(o);
}

static const char *jstr(const cJSON *o, const char *k)
{
    const cJSON *j = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsString(j) ? j->valuestring : NULL;
}

static double jnum(const cJSON *o, const char *k)
{
    const cJSON *j = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsNumber(j) ? j->valuedouble : 0;
}

static int keydef_from(const cJSON *j, struct be_keydef *k)
{
    const char *n = jstr(j, "n"), *ty = jstr(j, "t");
    if (!n || !ty)
        return DX_EINVAL;
    k->type = dx_av_type_from_name(ty, strlen(ty));
    if (k->type != DX_AV_S && k->type != DX_AV_N && k->type != DX_AV_B)
        return DX_EINVAL;
    k->name = dx_strdup(n);
    return DX_OK;
}

static int index_from(const cJSON *j, int global, struct be_index *x)
{
    const char *name = jstr(j, "name"), *proj = jstr(j, "proj");
    if (!name || !proj)
        return DX_EINVAL;
    x->name = dx_strdup(name);
    x->global = global;
    if (keydef_from(cJSON_GetObjectItemCaseSensitive(j, "hash"), &x->hash) != DX_OK)
        return DX_EINVAL;
    const cJSON *r = cJSON_GetObjectItemCaseSensitive(j, "range");
    if (r && keydef_from(r, &x->range) != DX_OK)
        return DX_EINVAL;
    x->projection = !strcmp(proj, "KEYS_ONLY") ? BE_PROJ_KEYS_ONLY
                    : !strcmp(proj, "INCLUDE") ? BE_PROJ_INCLUDE
                                               : BE_PROJ_ALL;
    const cJSON *nk = cJSON_GetObjectItemCaseSensitive(j, "nonkey");
    int n = cJSON_IsArray(nk) ? cJSON_GetArraySize(nk) : 0;
    if (n) {
        x->nonkey = dx_calloc((size_t)n, sizeof(char *));
        const cJSON *e;
        cJSON_ArrayForEach(e, nk)
        {
            if (!cJSON_IsString(e))
                return DX_EINVAL;
            x->nonkey[x->n_nonkey++] = dx_strdup(e->valuestring);
        }
    }
    x->rcu = (int64_t)jnum(j, "rcu");
    x->wcu = (int64_t)jnum(j, "wcu");
    const char *st = jstr(j, "status");
    x->status = dx_strdup(st ? st : "ACTIVE");
    x->id = (uint32_t)jnum(j, "id");
    return DX_OK;
}

static int indexes_from(const cJSON *a, int global, struct be_index **out, size_t *n)
{
    int cnt = cJSON_IsArray(a) ? cJSON_GetArraySize(a) : 0;
    *out = NULL;
    *n = 0;
    if (!cnt)
        return DX_OK;
    *out = dx_calloc((size_t)cnt, sizeof **out);
    const cJSON *e;
    cJSON_ArrayForEach(e, a)
    {
        /* Count first so that a failure leaves a consistent struct for table_free. */
        (*n)++;
        if (index_from(e, global, &(*out)[*n - 1]) != DX_OK)
            return DX_EINVAL;
    }
    return DX_OK;
}

int be__table_decode(const void *p, size_t n, struct be_table **out)
{
    cJSON *o = cJSON_ParseWithLength(p, n);
    struct be_table *t = be_table_new();
    int rc = DX_EINVAL;
    if (!cJSON_IsObject(o))
        goto out;
    const char *name = jstr(o, "name");
    if (!name || jnum(o, "v") != ENCODING_VERSION)
        goto out;
    t->id = (uint32_t)jnum(o, "id");
    t->name = dx_strdup(name);
    t->arn = sdup(jstr(o, "arn"));
    t->table_id = sdup(jstr(o, "table_id"));
    t->created = jnum(o, "created");
    const char *st = jstr(o, "status");
    t->status = dx_strdup(st ? st : "ACTIVE");
    if (keydef_from(cJSON_GetObjectItemCaseSensitive(o, "hash"), &t->hash) != DX_OK)
        goto out;
    const cJSON *r = cJSON_GetObjectItemCaseSensitive(o, "range");
    if (r && keydef_from(r, &t->range) != DX_OK)
        goto out;
    const cJSON *ad = cJSON_GetObjectItemCaseSensitive(o, "attrdefs");
    int nad = cJSON_IsArray(ad) ? cJSON_GetArraySize(ad) : 0;
    if (nad) {
        t->attrdefs = dx_calloc((size_t)nad, sizeof *t->attrdefs);
        const cJSON *e;
        cJSON_ArrayForEach(e, ad)
        {
            t->n_attrdefs++;
            if (keydef_from(e, &t->attrdefs[t->n_attrdefs - 1]) != DX_OK)
                goto out;
        }
    }
    const char *bm = jstr(o, "billing");
    t->billing =
        bm && !strcmp(bm, "PAY_PER_REQUEST") ? BE_BILLING_PAY_PER_REQUEST : BE_BILLING_PROVISIONED;
    t->rcu = (int64_t)jnum(o, "rcu");
    t->wcu = (int64_t)jnum(o, "wcu");
    t->last_increase = jnum(o, "last_inc");
    t->last_decrease = jnum(o, "last_dec");
    t->decreases_today = (int)jnum(o, "dec_today");
    if (indexes_from(cJSON_GetObjectItemCaseSensitive(o, "lsi"), 0, &t->lsi, &t->n_lsi) != DX_OK)
        goto out;
    if (indexes_from(cJSON_GetObjectItemCaseSensitive(o, "gsi"), 1, &t->gsi, &t->n_gsi) != DX_OK)
        goto out;
    t->deletion_protection = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o, "dp"));
    t->table_class = sdup(jstr(o, "class"));
    cJSON *ex = cJSON_GetObjectItemCaseSensitive(o, "extra");
    if (cJSON_IsObject(ex))
        t->extra = cJSON_DetachItemViaPointer(o, ex);
    t->settle_at = jnum(o, "settle_at");
    rc = DX_OK;
out:
    cJSON_Delete(o);
    if (rc != DX_OK) {
        be_table_unref(t);
        t = NULL;
    }
    *out = t;
    return rc;
}

/* ---- the published map ---- */

/* Index of name in c->tabs, or the insertion point with *found = 0. Lock held. */
static size_t find(struct be_catalog *c, const char *name, int *found)
{
    size_t lo = 0, hi = c->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int cmp = strcmp(c->tabs[mid]->name, name);
        if (cmp == 0) {
            *found = 1;
            return mid;
        }
        if (cmp < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    *found = 0;
    return lo;
}

/* Lock held; takes over the caller's reference to t. */
static void put_locked(struct be_catalog *c, struct be_table *t);

/* Lock held. Settles c->tabs[i] when its transition is due: the snapshot is replaced by a
 * settled copy (snapshots never change), or leaves the map when a deletion completed.
 * Returns 1 when it left (i then names the next table). */
static int settle_locked(struct be_catalog *c, size_t i)
{
    struct be_table *t = c->tabs[i];
    if (t->settle_at <= 0)
        return 0; /* the common case: no clock read */
    double now = be__now();
    if (now < t->settle_at)
        return 0;
    struct be_table *n = be_table_clone(t);
    if (be__table_settle(n, now)) {
        be_table_unref(n);
        memmove(c->tabs + i, c->tabs + i + 1, (c->n - i - 1) * sizeof *c->tabs);
        c->n--;
        be_table_unref(t);
        return 1;
    }
    c->tabs[i] = n;
    be_table_unref(t);
    return 0;
}

static void put_locked(struct be_catalog *c, struct be_table *t)
{
    int found;
    size_t i = find(c, t->name, &found);
    if (found) {
        be_table_unref(c->tabs[i]);
        c->tabs[i] = t;
        return;
    }
    if (c->n == c->cap) {
        c->cap = c->cap ? c->cap * 2 : 16;
        c->tabs = dx_realloc(c->tabs, c->cap * sizeof *c->tabs);
    }
    memmove(c->tabs + i + 1, c->tabs + i, (c->n - i) * sizeof *c->tabs);
    c->tabs[i] = t;
    c->n++;
}

int be_catalog_open(struct be_store *s, struct be_catalog **out)
{
    struct be_catalog *c = dx_calloc(1, sizeof *c);
    c->store = s;
    pthread_mutex_init(&c->mu, NULL);
    *out = NULL;

    MDB_txn *txn = NULL;
    MDB_cursor *cur = NULL;
    int rc = mdb_txn_begin(be_store_env(s), NULL, MDB_RDONLY, &txn);
    if (rc) {
        dx_error_log("catalog: read transaction: %s", mdb_strerror(rc));
        goto fail;
    }
    rc = mdb_cursor_open(txn, be_store_dbi(s, BE_DBI_CATALOG), &cur);
    if (rc) {
        dx_error_log("catalog: cursor: %s", mdb_strerror(rc));
        goto fail;
    }
    MDB_val k, v;
    for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0;
         rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        struct be_table *t;
        if (be__table_decode(v.mv_data, v.mv_size, &t) != DX_OK) {
            /* One unreadable record must not make every other table unreachable. */
            dx_error_log("catalog: skipping undecodable definition of '%.*s'", (int)k.mv_size,
                         (const char *)k.mv_data);
            continue;
        }
        /* A transition that was due while the server was down settles now. */
        if (be__table_settle(t, be__now())) {
            be_table_unref(t);
            continue;
        }
        put_locked(c, t);
    }
    if (rc != MDB_NOTFOUND) {
        dx_error_log("catalog: scan: %s", mdb_strerror(rc));
        goto fail;
    }
    mdb_cursor_close(cur);
    mdb_txn_abort(txn);
    *out = c;
    return DX_OK;
fail:
    if (cur)
        mdb_cursor_close(cur);
    if (txn)
        mdb_txn_abort(txn);
    be_catalog_free(c);
    return DX_ESTORE;
}

void be_catalog_free(struct be_catalog *c)
{
    if (!c)
        return;
    for (size_t i = 0; i < c->n; i++)
        be_table_unref(c->tabs[i]);
    dx_free(c->tabs);
    pthread_mutex_destroy(&c->mu);
    dx_free(c);
}

/* The table name inside a table ARN (arn:aws:dynamodb:<region>:<account>:table/<name>),
 * or NULL when s is not one. */
static const char *arn_table_name(const char *s)
{
    if (strncmp(s, "arn:", 4) != 0)
        return NULL;
    const char *p = strstr(s, ":table/");
    if (!p)
        return NULL;
    p += 7;
    if (!*p || strchr(p, '/'))
        return NULL;
    return p;
}

struct be_table *be_catalog_get(struct be_catalog *c, const char *name)
{
    const char *arn = NULL, *n = arn_table_name(name);
    if (n)
        arn = name;
    else
        n = name;
    struct be_table *t = NULL;
    int found;
    pthread_mutex_lock(&c->mu);
    size_t i = find(c, n, &found);
    if (found && settle_locked(c, i))
        found = 0;
    if (found && (!arn || (c->tabs[i]->arn && !strcmp(c->tabs[i]->arn, arn)))) {
        t = c->tabs[i];
        be_table_ref(t);
    }
    pthread_mutex_unlock(&c->mu);
    return t;
}

struct be_table **be_catalog_list(struct be_catalog *c, size_t *n)
{
    pthread_mutex_lock(&c->mu);
    for (size_t i = 0; i < c->n;)
        if (!settle_locked(c, i))
            i++;
    struct be_table **ts = dx_malloc((c->n ? c->n : 1) * sizeof *ts);
    for (size_t i = 0; i < c->n; i++) {
        ts[i] = c->tabs[i];
        be_table_ref(ts[i]);
    }
    *n = c->n;
    pthread_mutex_unlock(&c->mu);
    return ts;
}

void be_catalog_list_free(struct be_table **ts, size_t n)
{
    for (size_t i = 0; i < n; i++)
        be_table_unref(ts[i]);
    dx_free(ts);
}

size_t be__catalog_count(struct be_catalog *c)
{
    pthread_mutex_lock(&c->mu);
    size_t n = c->n;
    pthread_mutex_unlock(&c->mu);
    return n;
}

void be_catalog_publish(struct be_catalog *c, struct be_table *t)
{
    be_table_ref(t);
    pthread_mutex_lock(&c->mu);
    put_locked(c, t);
    pthread_mutex_unlock(&c->mu);
}

void be_catalog_unpublish(struct be_catalog *c, const char *name)
{
    struct be_table *old = NULL;
    int found;
    pthread_mutex_lock(&c->mu);
    size_t i = find(c, name, &found);
    if (found) {
        old = c->tabs[i];
        memmove(c->tabs + i, c->tabs + i + 1, (c->n - i - 1) * sizeof *c->tabs);
        c->n--;
    }
    pthread_mutex_unlock(&c->mu);
    be_table_unref(old);
}

/* ---- the writer's side ---- */

int be_catalog_next_id(struct be_catalog *c, MDB_txn *txn, uint32_t *id)
{
    MDB_dbi dbi = be_store_dbi(c->store, BE_DBI_META);
    MDB_val k = {sizeof NEXT_ID_KEY - 1, (void *)NEXT_ID_KEY}, v;
    uint32_t next = 1;
    int rc = mdb_get(txn, dbi, &k, &v);
    if (rc == 0 && v.mv_size == 4) {
        const unsigned char *p = v.mv_data;
        next = (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
    } else if (rc != 0 && rc != MDB_NOTFOUND) {
        dx_error_log("catalog: read next table id: %s", mdb_strerror(rc));
        return DX_ESTORE;
    }
    if (next == 0 || next == UINT32_MAX)
        return DX_EFULL;
    unsigned char b[4] = {(unsigned char)((next + 1) >> 24), (unsigned char)((next + 1) >> 16),
                          (unsigned char)((next + 1) >> 8), (unsigned char)(next + 1)};
    v.mv_size = 4;
    v.mv_data = b;
    rc = mdb_put(txn, dbi, &k, &v, 0);
    if (rc) {
        dx_error_log("catalog: write next table id: %s", mdb_strerror(rc));
        return DX_ESTORE;
    }
    *id = next;
    return DX_OK;
}

int be_catalog_store(struct be_catalog *c, MDB_txn *txn, const struct be_table *t)
{
    struct dx_buf b = DX_BUF_INIT;
    be__table_encode(t, &b);
    MDB_val k = {strlen(t->name), t->name}, v = {b.len, b.p};
    int rc = mdb_put(txn, be_store_dbi(c->store, BE_DBI_CATALOG), &k, &v, 0);
    dx_buf_deinit(&b);
    if (rc) {
        dx_error_log("catalog: store '%s': %s", t->name, mdb_strerror(rc));
        return DX_ESTORE;
    }
    return DX_OK;
}

int be_catalog_remove(struct be_catalog *c, MDB_txn *txn, const char *name)
{
    MDB_val k = {strlen(name), (void *)name};
    int rc = mdb_del(txn, be_store_dbi(c->store, BE_DBI_CATALOG), &k, NULL);
    if (rc && rc != MDB_NOTFOUND) {
        dx_error_log("catalog: remove '%s': %s", name, mdb_strerror(rc));
        return DX_ESTORE;
    }
    return DX_OK;
}

int be__catalog_load(struct be_catalog *c, MDB_txn *txn, const char *name, struct be_table **out)
{
    MDB_val k = {strlen(name), (void *)name}, v;
    *out = NULL;
    int rc = mdb_get(txn, be_store_dbi(c->store, BE_DBI_CATALOG), &k, &v);
    if (rc == MDB_NOTFOUND)
        return DX_ENOTFOUND;
    if (rc) {
        dx_error_log("catalog: load '%s': %s", name, mdb_strerror(rc));
        return DX_ESTORE;
    }
    if (be__table_decode(v.mv_data, v.mv_size, out) != DX_OK) {
        dx_error_log("catalog: undecodable definition of '%s'", name);
        return DX_ESTORE;
    }
    /* The writer sees a due transition settled too; a table whose deletion completed is gone
     * (its leftover record is overwritten by the next CreateTable of the name). */
    if (be__table_settle(*out, be__now())) {
        be_table_unref(*out);
        *out = NULL;
        return DX_ENOTFOUND;
    }
    return DX_OK;
}
