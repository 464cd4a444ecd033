/*
 * Capacity: admission, token buckets and consumed-capacity counters of the engine.
 *
 * One entry per table name and per (table name, GSI name) holds the counters behind the
 * metrics (consumed units, throttle events, throttled requests by operation), which outlive
 * the table like CloudWatch's series do, and the buckets of the table or GSI now bearing that
 * name. The buckets belong to one table id: a table deleted and created again under the same
 * name starts with fresh buckets.
 *
 * PROVISIONED tables and GSIs have a read and a write bucket refilled at the provisioned rate
 * and holding up to burst_seconds (300, DynamoDB's burst capacity) of unused capacity. A
 * bucket is made at the first request that needs it (or when a table switches to
 * PROVISIONED) with initial_seconds (1) of capacity: a new table can take a short burst but
 * not the 300 s an idle DynamoDB table would have saved, which keeps throttling easy to
 * reach in tests and never lets a fresh table exceed its rate for long.
 *
 * A request is admitted while the buckets it would draw from hold something (> 0) and is
 * charged its real consumption when it finishes, so a big Scan may leave a debt (at most the
 * burst) that later requests wait out, as with DynamoDB. Reads draw from the table, or from
 * the GSI a Query/Scan names; writes from the table and every GSI of it (a GSI short of
 * write capacity throttles writes to its table). Local secondary indexes consume the table's
 * capacity. The rates are read from the table's current snapshot at admission, so
 * UpdateTable takes effect on the next request. Admission runs before the handler validates
 * the request, so a malformed request to a throttled table is answered with the throttle.
 *
 * PAY_PER_REQUEST tables are never throttled unless they have a ceiling: the table's own
 * OnDemandThroughput (MaxReadRequestUnits / MaxWriteRequestUnits) or else the engine's
 * options (ondemand_max_rcu / ondemand_max_wcu units per second per table). The ceiling is a
 * bucket of one second of it, answered with DynamoDB's ThrottlingException for on-demand
 * maximum throughput. (GSIs' own OnDemandThroughput is not enforced.)
 *
 * Counters are in thousandths of a unit, updated with atomics; the entry map is guarded by a
 * read-write lock (entries are never removed before be_capacity_free) and each entry's
 * buckets by its own mutex, so concurrent requests on different tables do not contend.
 */
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <cjson/cJSON.h>
#include "backend.h"
#include "be_capacity.h"
#include "be_catalog.h"
#include "be_engine.h"
#include "be_txn.h"
#include "dx_alloc.h"
#include "dx_op.h"
#include "dx_status.h"

#define NSLOTS 256

#define MSG_TABLE                                                                                  \
    "The level of configured provisioned throughput for the table was exceeded. Consider "         \
    "increasing your provisioning level with the UpdateTable API"
#define MSG_GSI                                                                                    \
    "The level of configured provisioned throughput for one or more global secondary indexes of "  \
    "the table was exceeded. Consider increasing your provisioning level for the "                 \
    "under-provisioned global secondary indexes with the UpdateTable API"
#define MSG_INDEX                                                                                  \
    "The level of configured provisioned throughput for the index was exceeded. Consider "         \
    "increasing your provisioning level with the UpdateTable API"
#define MSG_ONDEMAND                                                                               \
    "Throughput exceeds the maximum OnDemandThroughput configured on table or index"

enum ent_kind { KIND_UNKNOWN = 0, KIND_TABLE, KIND_GSI, KIND_LSI };

struct cap_ent {
    char *table, *index; /* index NULL: the table itself */
    uint32_t hash;
    struct cap_ent *next;
    int kind;               /* atomic: enum ent_kind */
    struct cap_ent *parent; /* KIND_LSI: the table's entry, which an LSI's units go to */
    /* Counters (atomic), in thousandths of a unit or in events. */
    uint64_t read_m, write_m;
    uint64_t read_throttles, write_throttles;
    uint64_t throttled[DX_OP__COUNT]; /* ThrottledRequests by operation (table entries) */
    /* Buckets, under mu. rate_* and prov are the snapshot's as of the last admission. */
    pthread_mutex_t mu;
    uint32_t table_id; /* the table whose buckets these are; 0 = none yet */
    int prov;          /* 1 PROVISIONED, 0 PAY_PER_REQUEST */
    double rate_r, rate_w;
    double od_r, od_w;             /* on-demand ceilings (0: none) */
    struct be_bucket rd, wr;       /* provisioned */
    struct be_bucket od_rd, od_wr; /* on-demand ceiling */
};

struct be_capacity {
    struct backend *be;
    pthread_rwlock_t lock;
    struct cap_ent *slots[NSLOTS];
    double burst_s, initial_s;
    double od_max_r, od_max_w;
    double price_r, price_w;
    uint64_t (*now)(void *);
    void *now_arg;
};

/* ---- buckets ---- */

void be_bucket_refill(struct be_bucket *b, double rate, double cap, uint64_t now_ns)
{
    if (now_ns > b->at_ns && rate > 0) {
        double add = rate * (double)(now_ns - b->at_ns) / 1e9;
        if (b->level < cap)
            b->level = b->level + add > cap ? cap : b->level + add;
    }
    if (now_ns > b->at_ns)
        b->at_ns = now_ns;
    if (b->level > cap)
        b->level = cap;
}

void be_bucket_take(struct be_bucket *b, double units, double max_debt)
{
    b->level -= units;
    if (b->level < -max_debt)
        b->level = -max_debt;
}

static uint64_t real_now(void *arg)
{
    (void)arg;
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

void be_capacity_set_clock(struct be_capacity *c, uint64_t (*now)(void *arg), void *arg)
{
    c->now = now ? now : real_now;
    c->now_arg = now ? arg : NULL;
}

/* ---- entries ---- */

static uint32_t hash_names(const char *table, const char *index)
{
    uint32_t h = 2166136261u;
    for (const char *p = table; *p; p++)
        h = (h ^ (unsigned char)*p) * 16777619u;
    if (index) {
        h = (h ^ 0xffu) * 16777619u;
        for (const char *p = index; *p; p++)
            h = (h ^ (unsigned char)*p) * 16777619u;
    }
    return h;
}

static int same_names(const struct cap_ent *e, uint32_t h, const char *table, const char *index)
{
    if (e->hash != h || strcmp(e->table, table) != 0)
        return 0;
    return index ? (e->index && strcmp(e->index, index) == 0) : e->index == NULL;
}

/* The entry of (table, index), created when missing. */
static struct cap_ent *ent_get(struct be_capacity *c, const char *table, const char *index)
{
    uint32_t h = hash_names(table, index);
    struct cap_ent *e;
    pthread_rwlock_rdlock(&c->lock);
    for (e = c->slots[h % NSLOTS]; e; e = e->next)
        if (same_names(e, h, table, index))
            break;
    pthread_rwlock_unlock(&c->lock);
    if (e)
        return e;
    pthread_rwlock_wrlock(&c->lock);
    for (e = c->slots[h % NSLOTS]; e; e = e->next)
        if (same_names(e, h, table, index))
            break;
    if (!e) {
        e = dx_calloc(1, sizeof(*e));
        e->table = dx_strdup(table);
        e->index = index ? dx_strdup(index) : NULL;
        e->hash = h;
        e->kind = index ? KIND_UNKNOWN : KIND_TABLE;
        pthread_mutex_init(&e->mu, NULL);
        e->next = c->slots[h % NSLOTS];
        c->slots[h % NSLOTS] = e;
    }
    pthread_rwlock_unlock(&c->lock);
    return e;
}

int be_capacity_new(struct backend *be, struct be_capacity **out)
{
    struct be_capacity *c = dx_calloc(1, sizeof(*c));
    c->be = be;
    pthread_rwlock_init(&c->lock, NULL);
    c->burst_s = be->opts.capacity_burst_seconds > 0 ? be->opts.capacity_burst_seconds : 300;
    c->initial_s = be->opts.capacity_initial_seconds > 0 ? be->opts.capacity_initial_seconds : 1;
    if (c->initial_s > c->burst_s)
        c->initial_s = c->burst_s;
    c->od_max_r = be->opts.ondemand_max_rcu > 0 ? be->opts.ondemand_max_rcu : 0;
    c->od_max_w = be->opts.ondemand_max_wcu > 0 ? be->opts.ondemand_max_wcu : 0;
    c->price_r = be->opts.price_read_million > 0 ? be->opts.price_read_million : 0.125;
    c->price_w = be->opts.price_write_million > 0 ? be->opts.price_write_million : 0.625;
    be_capacity_set_clock(c, NULL, NULL);
    *out = c;
    return DX_OK;
}

void be_capacity_free(struct be_capacity *c)
{
    if (!c)
        return;
    for (size_t i = 0; i < NSLOTS; i++) {
        struct cap_ent *e = c->slots[i];
        while (e) {
            struct cap_ent *next = e->next;
            pthread_mutex_destroy(&e->mu);
            dx_free(e->table);
            dx_free(e->index);
            dx_free(e);
            e = next;
        }
    }
    pthread_rwlock_destroy(&c->lock);
    dx_free(c);
}

static void add(uint64_t *counter, uint64_t v)
{
    __atomic_fetch_add(counter, v, __ATOMIC_RELAXED);
}

static uint64_t get(const uint64_t *counter)
{
    return __atomic_load_n(counter, __ATOMIC_RELAXED);
}

/* ---- admission ---- */

/* Why a request is throttled: the resource, and which of DynamoDB's answers it gets. */
enum thr_kind { THR_NONE = 0, THR_TABLE, THR_GSI_WRITE, THR_GSI_READ, THR_ONDEMAND };

struct throttle {
    enum thr_kind kind;
    int write;
    const struct be_table *t;
    const char *index; /* the GSI (THR_GSI_*) */
};

/* Brings e's provisioned buckets to now with rates (r, w) of table id `id`: a bucket of
 * another table (re-created under the name) or of a table that was on-demand until now
 * starts afresh. Caller holds e->mu. */
static void sync_prov(struct be_capacity *c, struct cap_ent *e, uint32_t id, double r, double w,
                      uint64_t now)
{
    if (e->table_id != id || !__atomic_load_n(&e->prov, __ATOMIC_RELAXED)) {
        __atomic_store_n(&e->table_id, id, __ATOMIC_RELAXED);
        e->rd.level = r * c->initial_s;
        e->wr.level = w * c->initial_s;
        e->rd.at_ns = e->wr.at_ns = now;
    }
    __atomic_store_n(&e->prov, 1, __ATOMIC_RELAXED);
    e->rate_r = r;
    e->rate_w = w;
    be_bucket_refill(&e->rd, r, r * c->burst_s, now);
    be_bucket_refill(&e->wr, w, w * c->burst_s, now);
}

/* The same for the on-demand ceilings (buckets of one second, starting full). */
static void sync_od(struct cap_ent *e, uint32_t id, double r, double w, uint64_t now)
{
    if (e->table_id != id || __atomic_load_n(&e->prov, __ATOMIC_RELAXED)) {
        __atomic_store_n(&e->table_id, id, __ATOMIC_RELAXED);
        e->od_rd.level = r;
        e->od_wr.level = w;
        e->od_rd.at_ns = e->od_wr.at_ns = now;
    }
    __atomic_store_n(&e->prov, 0, __ATOMIC_RELAXED);
    e->od_r = r;
    e->od_w = w;
    be_bucket_refill(&e->od_rd, r, r, now);
    be_bucket_refill(&e->od_wr, w, w, now);
}

/* A PAY_PER_REQUEST table's ceiling: its own OnDemandThroughput (MaxReadRequestUnits /
 * MaxWriteRequestUnits, -1 = none) when set, else the engine's option; 0 = none. */
static double od_ceiling(const struct be_capacity *c, const struct be_table *t, int write)
{
    const cJSON *odt =
        t->extra ? cJSON_GetObjectItemCaseSensitive(t->extra, "OnDemandThroughput") : NULL;
    const cJSON *m = odt ? cJSON_GetObjectItemCaseSensitive(odt, write ? "MaxWriteRequestUnits"
                                                                       : "MaxReadRequestUnits")
                         : NULL;
    if (cJSON_IsNumber(m) && m->valuedouble > 0)
        return m->valuedouble;
    return write ? c->od_max_w : c->od_max_r;
}

/* Whether the provisioned bucket (read or write) of e, brought up to date, is empty. */
static int prov_empty(struct be_capacity *c, struct cap_ent *e, uint32_t id, int64_t r, int64_t w,
                      int write, uint64_t now)
{
    pthread_mutex_lock(&e->mu);
    sync_prov(c, e, id, (double)r, (double)w, now);
    int empty = write ? (w > 0 && e->wr.level <= 0) : (r > 0 && e->rd.level <= 0);
    pthread_mutex_unlock(&e->mu);
    return empty;
}

static const struct be_index *find_gsi(const struct be_table *t, const char *name)
{
    for (size_t i = 0; name && i < t->n_gsi; i++)
        if (t->gsi[i].name && strcmp(t->gsi[i].name, name) == 0)
            return &t->gsi[i];
    return NULL;
}

/* Whether a read (write) of table t, through GSI `index` when that names one, may run now.
 * Fills *th and returns 1 when it is throttled (count_throttle then counts it). */
static int check_table(struct be_capacity *c, const struct be_table *t, int write,
                       const char *index, struct throttle *th)
{
    uint64_t now = c->now(c->now_arg);
    struct cap_ent *e = ent_get(c, t->name, NULL);
    memset(th, 0, sizeof(*th));
    th->t = t;
    th->write = write;
    if (t->billing != BE_BILLING_PROVISIONED) {
        double max_r = od_ceiling(c, t, 0), max_w = od_ceiling(c, t, 1);
        if ((write ? max_w : max_r) <= 0) {
            __atomic_store_n(&e->prov, 0, __ATOMIC_RELAXED);
            return 0;
        }
        pthread_mutex_lock(&e->mu);
        sync_od(e, t->id, max_r, max_w, now);
        int empty = (write ? e->od_wr.level : e->od_rd.level) <= 0;
        pthread_mutex_unlock(&e->mu);
        if (empty)
            th->kind = THR_ONDEMAND;
        return empty;
    }
    if (!write) {
        const struct be_index *g = find_gsi(t, index);
        if (g) {
            struct cap_ent *ge = ent_get(c, t->name, g->name);
            __atomic_store_n(&ge->kind, KIND_GSI, __ATOMIC_RELAXED);
            if (prov_empty(c, ge, t->id, g->rcu, g->wcu, 0, now)) {
                th->kind = THR_GSI_READ;
                th->index = g->name;
                return 1;
            }
            return 0;
        }
        if (prov_empty(c, e, t->id, t->rcu, t->wcu, 0, now)) {
            th->kind = THR_TABLE;
            return 1;
        }
        return 0;
    }
    if (prov_empty(c, e, t->id, t->rcu, t->wcu, 1, now)) {
        th->kind = THR_TABLE;
        return 1;
    }
    for (size_t i = 0; i < t->n_gsi; i++) {
        const struct be_index *g = &t->gsi[i];
        struct cap_ent *ge = ent_get(c, t->name, g->name);
        __atomic_store_n(&ge->kind, KIND_GSI, __ATOMIC_RELAXED);
        if (prov_empty(c, ge, t->id, g->rcu, g->wcu, 1, now)) {
            th->kind = THR_GSI_WRITE;
            th->index = g->name;
            return 1;
        }
    }
    return 0;
}

/* Counts a throttled request of operation op: the throttle event on the table or GSI that
 * ran out, and ThrottledRequests of the table. */
static void count_throttle(struct be_capacity *c, const struct throttle *th, enum dx_op op)
{
    struct cap_ent *e = ent_get(c, th->t->name, th->index);
    add(th->write ? &e->write_throttles : &e->read_throttles, 1);
    if ((unsigned)op < DX_OP__COUNT)
        add(&ent_get(c, th->t->name, NULL)->throttled[op], 1);
}

static const char *throttle_message(const struct throttle *th)
{
    switch (th->kind) {
    case THR_GSI_WRITE:
        return MSG_GSI;
    case THR_GSI_READ:
        return MSG_INDEX;
    case THR_ONDEMAND:
        return MSG_ONDEMAND;
    default:
        return MSG_TABLE;
    }
}

/* One ThrottlingReason object: {"reason":"TableReadProvisionedThroughputExceeded",
 * "resource":"<table or index ARN>"}. */
static void put_reason(struct dx_buf *out, const struct throttle *th)
{
    int index = th->kind == THR_GSI_READ || th->kind == THR_GSI_WRITE;
    dx_buf_printf(out, "{\"reason\":\"%s%s%s\",\"resource\":", index ? "Index" : "Table",
                  th->write ? "Write" : "Read",
                  th->kind == THR_ONDEMAND ? "MaxOnDemandThroughputExceeded"
                                           : "ProvisionedThroughputExceeded");
    struct dx_buf arn = DX_BUF_INIT;
    dx_buf_puts(&arn, th->t->arn ? th->t->arn : th->t->name);
    if (index) {
        dx_buf_puts(&arn, "/index/");
        dx_buf_puts(&arn, th->index);
    }
    dx_buf_json_str(out, arn.p, arn.len);
    dx_buf_deinit(&arn);
    dx_buf_putc(out, '}');
}

/* The error of a request throttled for th[0..n) (n >= 1; the first decides the type). */
static int throttle_error(struct be_req *r, const struct throttle *th, size_t n)
{
    enum dx_errcode code =
        th[0].kind == THR_ONDEMAND ? DX_E_THROTTLING : DX_E_PROVISIONED_THROUGHPUT_EXCEEDED;
    int rc = dx_error_set(&r->err, code, "%s", throttle_message(&th[0]));
    dx_buf_puts(&r->err.extra, ",\"ThrottlingReasons\":[");
    for (size_t i = 0; i < n; i++) {
        if (i)
            dx_buf_putc(&r->err.extra, ',');
        put_reason(&r->err.extra, &th[i]);
    }
    dx_buf_putc(&r->err.extra, ']');
    return rc;
}

static const char *member_str(const cJSON *obj, const char *name)
{
    const cJSON *j = cJSON_GetObjectItemCaseSensitive(obj, name);
    return cJSON_IsString(j) ? j->valuestring : NULL;
}

/* BatchGetItem, BatchWriteItem: throttled only when every table is. */
static int admit_batch(struct be_req *r, int write)
{
    struct be_capacity *c = r->be->cap;
    const cJSON *ri = cJSON_GetObjectItemCaseSensitive(r->json, "RequestItems");
    if (!cJSON_IsObject(ri) || !ri->child)
        return DX_OK;
    size_t n = (size_t)cJSON_GetArraySize(ri), k = 0;
    struct be_table **ts = dx_calloc(n, sizeof(*ts));
    struct throttle *th = dx_calloc(n, sizeof(*th));
    int all = 1;
    for (const cJSON *j = ri->child; j && all; j = j->next) {
        struct be_table *t = j->string ? be_catalog_get(r->be->catalog, j->string) : NULL;
        if (!t) {
            all = 0; /* the handler answers for it */
            break;
        }
        ts[k] = t;
        if (!check_table(c, t, write, NULL, &th[k]))
            all = 0;
        k++;
    }
    int rc = DX_OK;
    if (all) {
        for (size_t i = 0; i < k; i++)
            count_throttle(c, &th[i], r->op);
        rc = throttle_error(r, th, k);
    }
    for (size_t i = 0; i < k; i++)
        be_table_unref(ts[i]);
    dx_free(ts);
    dx_free(th);
    return rc;
}

/* TransactWriteItems, TransactGetItems: cancelled when a table of any action is throttled,
 * with a ProvisionedThroughputExceeded reason for the throttled actions (ThrottlingError for
 * an on-demand ceiling) and None for the others. */
static int admit_txn(struct be_req *r, int write)
{
    static const char *const kinds[] = {"Put", "Update", "Delete", "ConditionCheck", "Get"};
    struct be_capacity *c = r->be->cap;
    const cJSON *items = cJSON_GetObjectItemCaseSensitive(r->json, "TransactItems");
    if (!cJSON_IsArray(items) || !items->child)
        return DX_OK;
    size_t n = (size_t)cJSON_GetArraySize(items);
    if (n > BE_TXN_MAX_ACTIONS)
        return DX_OK; /* the handler rejects it */
    struct be_table **ts = dx_calloc(n, sizeof(*ts));
    struct throttle *th = dx_calloc(n, sizeof(*th));
    int any = 0;
    size_t i = 0;
    for (const cJSON *it = items->child; it; it = it->next, i++) {
        const char *name = NULL;
        for (size_t k = 0; k < sizeof(kinds) / sizeof(kinds[0]) && !name; k++)
            name = member_str(cJSON_GetObjectItemCaseSensitive(it, kinds[k]), "TableName");
        if (!name)
            continue;
        /* One check per table: an action on a table seen before shares its verdict. */
        for (size_t j = 0; j < i && !ts[i]; j++) {
            if (ts[j] &&
                (strcmp(ts[j]->name, name) == 0 || (ts[j]->arn && strcmp(ts[j]->arn, name) == 0))) {
                ts[i] = ts[j];
                be_table_ref(ts[i]);
                th[i] = th[j];
            }
        }
        if (ts[i])
            continue;
        ts[i] = be_catalog_get(r->be->catalog, name);
        if (ts[i] && check_table(c, ts[i], write, NULL, &th[i])) {
            any = 1;
            count_throttle(c, &th[i], r->op);
        }
    }
    int rc = DX_OK;
    if (any) {
        struct dx_buf codes = DX_BUF_INIT, reasons = DX_BUF_INIT;
        for (i = 0; i < n; i++) {
            const char *code = th[i].kind == THR_NONE       ? "None"
                               : th[i].kind == THR_ONDEMAND ? "ThrottlingError"
                                                            : "ProvisionedThroughputExceeded";
            dx_buf_printf(&codes, "%s%s", i ? ", " : "", code);
            if (i)
                dx_buf_putc(&reasons, ',');
            if (th[i].kind == THR_NONE) {
                dx_buf_puts(&reasons, "{\"Code\":\"None\"}");
            } else {
                dx_buf_printf(&reasons, "{\"Code\":\"%s\",\"Message\":", code);
                const char *msg = throttle_message(&th[i]);
                dx_buf_json_str(&reasons, msg, strlen(msg));
                dx_buf_putc(&reasons, '}');
            }
        }
        dx_buf_putc(&codes, 0);
        rc = be__txn_cancel(&r->err, codes.p, &reasons);
        dx_buf_deinit(&codes);
        dx_buf_deinit(&reasons);
    }
    for (i = 0; i < n; i++)
        if (ts[i])
            be_table_unref(ts[i]);
    dx_free(ts);
    dx_free(th);
    return rc;
}

int be_capacity_table_out(struct be_req *r, const struct be_table *t, int write)
{
    struct be_capacity *c = r->be->cap;
    struct throttle th;
    if (!c || !check_table(c, t, write, NULL, &th))
        return 0;
    count_throttle(c, &th, r->op);
    return 1;
}

int be_capacity_admit(struct be_req *r)
{
    if (!r->be->cap)
        return DX_OK;
    switch (r->op) {
    case DX_OP_BatchGetItem:
        return admit_batch(r, 0);
    case DX_OP_BatchWriteItem:
        return admit_batch(r, 1);
    case DX_OP_TransactGetItems:
        return admit_txn(r, 0);
    case DX_OP_TransactWriteItems:
        return admit_txn(r, 1);
    default:
        return DX_OK;
    }
}

int be_capacity_admit_table(struct be_req *r, const struct be_table *t)
{
    if (!r->be->cap)
        return DX_OK;
    int write = (dx_op_flags(r->op) & DX_OPF_WRITE) != 0;
    const char *index =
        (r->op == DX_OP_Query || r->op == DX_OP_Scan) ? member_str(r->json, "IndexName") : NULL;
    struct throttle th;
    if (!check_table(r->be->cap, t, write, index, &th))
        return DX_OK;
    count_throttle(r->be->cap, &th, r->op);
    return throttle_error(r, &th, 1);
}

/* ---- charging ---- */

/* The entry units recorded on (table, index) go to: the table's for the table itself and its
 * LSIs, the GSI's own otherwise. Resolved once per name through the catalog. */
static struct cap_ent *charge_target(struct be_capacity *c, const char *table, const char *index)
{
    struct cap_ent *e = ent_get(c, table, index);
    int kind = __atomic_load_n(&e->kind, __ATOMIC_RELAXED);
    if (kind == KIND_UNKNOWN) {
        struct be_table *t = be_catalog_get(c->be->catalog, table);
        kind = t && find_gsi(t, index) ? KIND_GSI : KIND_LSI;
        if (t)
            be_table_unref(t);
        if (kind == KIND_LSI) {
            struct cap_ent *p = ent_get(c, table, NULL);
            __atomic_store_n(&e->parent, p, __ATOMIC_RELEASE);
        }
        __atomic_store_n(&e->kind, kind, __ATOMIC_RELEASE);
    }
    if (kind == KIND_LSI) {
        struct cap_ent *p = __atomic_load_n(&e->parent, __ATOMIC_ACQUIRE);
        return p ? p : ent_get(c, table, NULL);
    }
    return e;
}

static void charge_one(struct be_capacity *c, const struct be_usage *u, uint64_t now)
{
    struct cap_ent *e = charge_target(c, u->table, u->index);
    if (u->read > 0)
        add(&e->read_m, (uint64_t)llround(u->read * 1000));
    if (u->write > 0)
        add(&e->write_m, (uint64_t)llround(u->write * 1000));
    /* No buckets yet (an on-demand table without a ceiling): nothing more to do. */
    if (!__atomic_load_n(&e->table_id, __ATOMIC_RELAXED))
        return;
    pthread_mutex_lock(&e->mu);
    int prov = __atomic_load_n(&e->prov, __ATOMIC_RELAXED);
    if (e->table_id && prov) {
        be_bucket_refill(&e->rd, e->rate_r, e->rate_r * c->burst_s, now);
        be_bucket_refill(&e->wr, e->rate_w, e->rate_w * c->burst_s, now);
        be_bucket_take(&e->rd, u->read, e->rate_r * c->burst_s);
        be_bucket_take(&e->wr, u->write, e->rate_w * c->burst_s);
    } else if (e->table_id && !prov) {
        be_bucket_refill(&e->od_rd, e->od_r, e->od_r, now);
        be_bucket_refill(&e->od_wr, e->od_w, e->od_w, now);
        be_bucket_take(&e->od_rd, u->read, e->od_r);
        be_bucket_take(&e->od_wr, u->write, e->od_w);
    }
    pthread_mutex_unlock(&e->mu);
}

void be_capacity_charge(struct be_req *r)
{
    struct be_capacity *c = r->be->cap;
    if (!c || !r->usage)
        return;
    uint64_t now = c->now(c->now_arg);
    for (const struct be_usage *u = r->usage; u; u = u->next)
        if (u->table && (u->read > 0 || u->write > 0))
            charge_one(c, u, now);
}

/* ---- metrics ---- */

static int ent_cmp(const void *a, const void *b)
{
    const struct cap_ent *x = *(const struct cap_ent *const *)a;
    const struct cap_ent *y = *(const struct cap_ent *const *)b;
    int d = strcmp(x->table, y->table);
    if (d)
        return d;
    if (!x->index || !y->index)
        return x->index ? 1 : y->index ? -1 : 0;
    return strcmp(x->index, y->index);
}

static void head(struct dx_buf *out, const char *name, const char *type, const char *help)
{
    dx_buf_printf(out, "# HELP ddax_%s %s\n# TYPE ddax_%s %s\n", name, help, name, type);
}

/* Label values: table and index names are [a-zA-Z0-9_.-], but escape anyway. */
static void label(struct dx_buf *out, const char *name, const char *v)
{
    dx_buf_printf(out, "%s=\"", name);
    for (const char *p = v; *p; p++) {
        if (*p == '\\' || *p == '"')
            dx_buf_putc(out, '\\');
        if (*p == '\n')
            dx_buf_puts(out, "\\n");
        else
            dx_buf_putc(out, *p);
    }
    dx_buf_putc(out, '"');
}

static void sample(struct dx_buf *out, const char *name, const char *table, const char *index,
                   double v)
{
    dx_buf_printf(out, "ddax_%s{", name);
    label(out, "table", table);
    if (index) {
        dx_buf_putc(out, ',');
        label(out, "index", index);
    }
    dx_buf_printf(out, "} %.12g\n", v);
}

/* The usable entries (tables and GSIs; LSIs fold into their tables), sorted. */
static struct cap_ent **collect(struct be_capacity *c, size_t *n)
{
    size_t cap = 16, k = 0;
    struct cap_ent **v = dx_malloc(cap * sizeof(*v));
    pthread_rwlock_rdlock(&c->lock);
    for (size_t i = 0; i < NSLOTS; i++) {
        for (struct cap_ent *e = c->slots[i]; e; e = e->next) {
            int kind = __atomic_load_n(&e->kind, __ATOMIC_RELAXED);
            if (kind != KIND_TABLE && kind != KIND_GSI)
                continue;
            if (k == cap) {
                cap *= 2;
                v = dx_realloc(v, cap * sizeof(*v));
            }
            v[k++] = e;
        }
    }
    pthread_rwlock_unlock(&c->lock);
    qsort(v, k, sizeof(*v), ent_cmp);
    *n = k;
    return v;
}

void be_metrics_write(struct backend *be, struct dx_buf *out)
{
    struct be_capacity *c = be ? be->cap : NULL;
    if (!c)
        return;
    size_t n;
    struct cap_ent **v = collect(c, &n);

    head(out, "ConsumedReadCapacityUnits", "counter",
         "Read capacity units consumed, per table and global secondary index.");
    for (size_t i = 0; i < n; i++)
        sample(out, "ConsumedReadCapacityUnits", v[i]->table, v[i]->index,
               (double)get(&v[i]->read_m) / 1000);
    head(out, "ConsumedWriteCapacityUnits", "counter",
         "Write capacity units consumed, per table and global secondary index.");
    for (size_t i = 0; i < n; i++)
        sample(out, "ConsumedWriteCapacityUnits", v[i]->table, v[i]->index,
               (double)get(&v[i]->write_m) / 1000);
    head(out, "ReadThrottleEvents", "counter",
         "Read requests that exceeded the capacity of a table or global secondary index.");
    for (size_t i = 0; i < n; i++)
        sample(out, "ReadThrottleEvents", v[i]->table, v[i]->index,
               (double)get(&v[i]->read_throttles));
    head(out, "WriteThrottleEvents", "counter",
         "Write requests that exceeded the capacity of a table or global secondary index.");
    for (size_t i = 0; i < n; i++)
        sample(out, "WriteThrottleEvents", v[i]->table, v[i]->index,
               (double)get(&v[i]->write_throttles));

    head(out, "ThrottledRequests", "counter",
         "Requests rejected for exceeding the capacity of a table or index, by operation.");
    for (size_t i = 0; i < n; i++) {
        if (v[i]->index)
            continue;
        for (int op = 0; op < DX_OP__COUNT; op++) {
            uint64_t t = get(&v[i]->throttled[op]);
            if (!t)
                continue;
            dx_buf_puts(out, "ddax_ThrottledRequests{");
            label(out, "table", v[i]->table);
            dx_buf_printf(out, ",operation=\"%s\"} %llu\n", dx_op_name((enum dx_op)op),
                          (unsigned long long)t);
        }
    }

    /* Request units equal the capacity units (on-demand rules: 4 KB reads, eventually
     * consistent at half, 1 KB writes, transactions at double); a table's cost includes its
     * GSIs'. */
    head(out, "estimated_on_demand_cost_usd", "counter",
         "Estimated cost in USD of the units consumed, at on-demand request prices.");
    for (size_t i = 0; i < n;) {
        double rd = 0, wr = 0;
        size_t j = i;
        for (; j < n && strcmp(v[j]->table, v[i]->table) == 0; j++) {
            rd += (double)get(&v[j]->read_m) / 1000;
            wr += (double)get(&v[j]->write_m) / 1000;
        }
        sample(out, "estimated_on_demand_cost_usd", v[i]->table, NULL,
               rd * c->price_r / 1e6 + wr * c->price_w / 1e6);
        i = j;
    }
    dx_free(v);

    /* Provisioned capacity of the tables that exist now (PROVISIONED ones). */
    size_t nt = 0;
    struct be_table **ts = be_catalog_list(be->catalog, &nt);
    const char *names[2] = {"ProvisionedReadCapacityUnits", "ProvisionedWriteCapacityUnits"};
    for (int w = 0; w < 2; w++) {
        head(out, names[w], "gauge",
             w ? "Provisioned write capacity units of a table or global secondary index."
               : "Provisioned read capacity units of a table or global secondary index.");
        for (size_t i = 0; i < nt; i++) {
            const struct be_table *t = ts[i];
            if (t->billing != BE_BILLING_PROVISIONED)
                continue;
            sample(out, names[w], t->name, NULL, (double)(w ? t->wcu : t->rcu));
            for (size_t g = 0; g < t->n_gsi; g++)
                sample(out, names[w], t->name, t->gsi[g].name,
                       (double)(w ? t->gsi[g].wcu : t->gsi[g].rcu));
        }
    }
    be_catalog_list_free(ts, nt);
}
