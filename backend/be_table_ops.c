/*
 * The control-plane handlers: CreateTable, DescribeTable, ListTables, DeleteTable and
 * UpdateTable.
 *
 * Reads answer from the published catalog snapshot on the caller's thread. Changes validate
 * what they can up front, then go to the writer: apply re-reads the definition from the
 * catalog database inside the write transaction (the published snapshot can lag behind other
 * changes of the same group), decides, persists and writes the response; after_commit
 * publishes the new snapshot only once the group is durable.
 *
 * With a status delay (be_options.status_delay_ms) a new table is stored CREATING, an updated
 * one UPDATING and a deleted one DELETING (its data dropped at once, its definition kept so the
 * name stays taken), each with the time it settles; the catalog settles them lazily when read.
 * A table in any of these states refuses further changes with ResourceInUseException, as
 * DynamoDB does. Without a delay nothing is ever stored in transition.
 */
#include <stdio.h>
#include <string.h>
#include <cjson/cJSON.h>
#include "dx_alloc.h"
#include "dx_arena.h"
#include "dx_json.h"
#include "dx_status.h"
#include "be_engine.h"
#include "be_store.h"
#include "be_table_priv.h"
#include "be_backfill.h"

#define PREFIX "One or more parameter values were invalid: "

/* How long a transition lasts (--table-status-delay-ms), in seconds; 0 = settles at once. */
static double delay_s(const struct be_req *r)
{
    return r->be->opts.status_delay_ms / 1000.0;
}

/* DynamoDB refuses to change a table that is still being created, updated or deleted. */
static int in_transition(struct be_req *r, const struct be_table *t)
{
    const char *what = be_status_is(t->status, "CREATING")   ? "created"
                       : be_status_is(t->status, "UPDATING") ? "updated"
                       : be_status_is(t->status, "DELETING") ? "deleted"
                                                             : NULL;
    if (!what)
        return DX_OK;
    return dx_error_set(&r->err, DX_E_RESOURCE_IN_USE,
                        "Attempt to change a resource which is still in use: Table is being %s: %s",
                        what, t->name);
}

static void table_response(struct be_req *r, const char *member, const struct be_table *t,
                           const char *status, const struct be_desc_stats *st, unsigned flags)
{
    dx_buf_reset(&r->out);
    dx_buf_printf(&r->out, "{\"%s\":", member);
    be__table_desc(&r->out, t, status, st, flags, be__now());
    dx_buf_putc(&r->out, '}');
}

/* ---- CreateTable ---- */

struct create_state {
    struct be_table *t; /* the handler's reference */
    unsigned flags;
};

static int create_apply(struct be_req *r, MDB_txn *txn)
{
    struct create_state *st = r->state;
    struct be_catalog *c = r->be->catalog;
    struct be_table *t = st->t, *cur;
    int rc = be__catalog_load(c, txn, t->name, &cur);
    if (rc == DX_OK) {
        be_table_unref(cur);
        return dx_error_set(&r->err, DX_E_RESOURCE_IN_USE, "Table already exists: %s", t->name);
    }
    if (rc != DX_ENOTFOUND)
        return rc;
    if ((rc = be_catalog_next_id(c, txn, &t->id)))
        return rc;
    for (size_t i = 0; i < t->n_lsi; i++)
        if ((rc = be_catalog_next_id(c, txn, &t->lsi[i].id)))
            return rc;
    for (size_t i = 0; i < t->n_gsi; i++)
        if ((rc = be_catalog_next_id(c, txn, &t->gsi[i].id)))
            return rc;
    if (delay_s(r) > 0) {
        /* CREATING until the delay has passed (settled lazily, be_catalog.c). */
        dx_free(t->status);
        t->status = dx_strdup("CREATING");
        t->settle_at = be__now() + delay_s(r);
    }
    if ((rc = be_catalog_store(c, txn, t)))
        return rc;
    /* DynamoDB answers CREATING; without a delay the table here is ACTIVE as soon as it is
     * committed, so the next DescribeTable (and a waiter) sees ACTIVE. */
    table_response(r, "TableDescription", t, "CREATING", NULL, st->flags);
    return DX_OK;
}

static void create_done(struct be_req *r, int status)
{
    struct create_state *st = r->state;
    if (status == DX_OK)
        be_catalog_publish(r->be->catalog, st->t);
    be_table_unref(st->t);
    st->t = NULL;
}

int be_op_CreateTable(struct be_req *r)
{
    struct be_table *t;
    int rc = be__table_from_create(r->json, r->be->region, r->be->account, be__now(), &t, &r->err);
    if (rc)
        return rc;
    struct be_table *old = be_catalog_get(r->be->catalog, t->name);
    if (old) {
        be_table_unref(old);
        rc = dx_error_set(&r->err, DX_E_RESOURCE_IN_USE, "Table already exists: %s", t->name);
        be_table_unref(t);
        return rc;
    }
    if (be__catalog_count(r->be->catalog) >= BE_MAX_TABLES) {
        be_table_unref(t);
        return dx_error_set(&r->err, DX_E_LIMIT_EXCEEDED,
                            "Subscriber limit exceeded: The table limit of %d tables per account "
                            "has been reached",
                            BE_MAX_TABLES);
    }
    struct create_state *st = dx_arena_calloc(&r->arena, sizeof *st);
    st->t = t;
    st->flags = BE_DESC_GSI_CREATING;
    if (!dx_json_get(r->json, "DeletionProtectionEnabled"))
        st->flags |= BE_DESC_NO_DP;
    r->state = st;
    r->apply = create_apply;
    r->after_commit = create_done;
    rc = be_req_submit(r);
    if (rc != DX_PENDING) {
        be_table_unref(t);
        st->t = NULL;
    }
    return rc;
}

int be__table_not_found(struct dx_error *err, const char *name)
{
    return dx_error_set(err, DX_E_RESOURCE_NOT_FOUND,
                        "Requested resource not found: Table: %s not found", name);
}

int be__table_arg(struct be_req *r, struct be_table **t)
{
    const char *name;
    int rc = be__table_name_arg(r->json, NULL, &name, &r->err);
    if (rc)
        return rc;
    *t = be_catalog_get(r->be->catalog, name);
    return *t ? DX_OK : be__table_not_found(&r->err, name);
}

/* ---- DescribeTable ---- */

int be_op_DescribeTable(struct be_req *r)
{
    struct be_table *t;
    int rc = be__table_arg(r, &t);
    if (rc)
        return rc;
    struct be_desc_stats st;
    MDB_txn *txn;
    if ((rc = be_read_begin(r->be, &txn))) {
        be_table_unref(t);
        return rc;
    }
    be__table_stats_read(r->be->store, txn, t, &st);
    be_read_end(txn);
    /* While the table is being created its indexes are too. */
    table_response(r, "Table", t, NULL, &st,
                   be_status_is(t->status, "CREATING") ? BE_DESC_GSI_CREATING : 0);
    be_table_unref(t);
    return DX_OK;
}

/* ---- ListTables ---- */

int be_op_ListTables(struct be_req *r)
{
    int rc;
    const cJSON *lim = dx_json_get(r->json, "Limit"),
                *start = dx_json_get(r->json, "ExclusiveStartTableName");
    if ((rc = be__jtype(lim, DX_JT_INT, &r->err)) || (rc = be__jtype(start, DX_JT_STRING, &r->err)))
        return rc;
    struct be_verrs v = {DX_BUF_INIT, 0};
    long long limit = 100;
    if (lim) {
        limit = (long long)lim->valuedouble;
        char val[32];
        snprintf(val, sizeof val, "%lld", limit);
        if (limit < 1)
            be__verr_add(&v, val, "limit", "Member must have value greater than or equal to 1");
        if (limit > 100)
            be__verr_add(&v, val, "limit", "Member must have value less than or equal to 100");
    }
    if (start)
        be__verr_name(&v, start->valuestring, "exclusiveStartTableName");
    if ((rc = be__verr_finish(&v, &r->err)))
        return rc;

    size_t n, i = 0, taken = 0;
    struct be_table **ts = be_catalog_list(r->be->catalog, &n);
    if (start)
        while (i < n && strcmp(ts[i]->name, start->valuestring) <= 0)
            i++;
    dx_buf_puts(&r->out, "{\"TableNames\":[");
    const char *last = NULL;
    for (; i < n && (long long)taken < limit; i++, taken++) {
        if (taken)
            dx_buf_putc(&r->out, ',');
        dx_buf_json_str(&r->out, ts[i]->name, strlen(ts[i]->name));
        last = ts[i]->name;
    }
    dx_buf_putc(&r->out, ']');
    /* A full page names its last table, so the next call continues from there; DynamoDB does
     * so even when no table follows (the client then reads one empty page). */
    if (last && (long long)taken == limit) {
        dx_buf_puts(&r->out, ",\"LastEvaluatedTableName\":");
        dx_buf_json_str(&r->out, last, strlen(last));
    }
    dx_buf_putc(&r->out, '}');
    be_catalog_list_free(ts, n);
    return DX_OK;
}

/* ---- DeleteTable ---- */

struct delete_state {
    char *name;         /* in the arena */
    struct be_table *t; /* with a delay: the DELETING definition to publish */
};

static const char *const PROTECTED_MSG =
    "Resource cannot be deleted as it is currently protected against deletion. Disable "
    "deletion protection first.";

static int delete_apply(struct be_req *r, MDB_txn *txn)
{
    struct delete_state *st = r->state;
    struct be_catalog *c = r->be->catalog;
    struct be_store *s = r->be->store;
    struct be_table *t;
    int rc = be__catalog_load(c, txn, st->name, &t);
    if (rc == DX_ENOTFOUND)
        return be__table_not_found(&r->err, st->name);
    if (rc)
        return rc;
    if ((rc = in_transition(r, t)))
        goto out;
    if (t->deletion_protection) {
        rc = dx_error_set(&r->err, DX_E_VALIDATION, "%s", PROTECTED_MSG);
        goto out;
    }
    struct be_desc_stats stats;
    be__table_stats_read(s, txn, t, &stats);
    if ((rc = be_items_drop_table(s, txn, t->id)))
        goto out;
    for (size_t i = 0; i < t->n_lsi; i++)
        if (t->lsi[i].id && (rc = be_items_drop_table(s, txn, t->lsi[i].id)))
            goto out;
    for (size_t i = 0; i < t->n_gsi; i++)
        if (t->gsi[i].id && (rc = be_items_drop_table(s, txn, t->gsi[i].id)))
            goto out;
    table_response(r, "TableDescription", t, "DELETING", &stats, 0);
    if (delay_s(r) > 0) {
        /* The data is gone already; the definition stays DELETING until the delay has passed
         * (settled lazily, be_catalog.c), so the name cannot be reused meanwhile. */
        dx_free(t->status);
        t->status = dx_strdup("DELETING");
        t->settle_at = be__now() + delay_s(r);
        if ((rc = be_catalog_store(c, txn, t)))
            goto out;
        be_table_unref(st->t);
        st->t = t;
        return DX_OK;
    }
    if ((rc = be_catalog_remove(c, txn, t->name)))
        goto out;
out:
    be_table_unref(t);
    return rc;
}

static void delete_done(struct be_req *r, int status)
{
    struct delete_state *st = r->state;
    if (status == DX_OK && st->t)
        be_catalog_publish(r->be->catalog, st->t);
    else if (status == DX_OK)
        be_catalog_unpublish(r->be->catalog, st->name);
    if (st->t)
        be_table_unref(st->t);
    st->t = NULL;
}

int be_op_DeleteTable(struct be_req *r)
{
    struct be_table *t;
    int rc = be__table_arg(r, &t);
    if (rc)
        return rc;
    rc = in_transition(r, t);
    if (rc == DX_OK && t->deletion_protection)
        rc = dx_error_set(&r->err, DX_E_VALIDATION, "%s", PROTECTED_MSG);
    if (rc) {
        be_table_unref(t);
        return rc;
    }
    struct delete_state *st = dx_arena_calloc(&r->arena, sizeof *st);
    st->name = dx_arena_strndup(&r->arena, t->name, strlen(t->name));
    be_table_unref(t);
    r->state = st;
    r->apply = delete_apply;
    r->after_commit = delete_done;
    return be_req_submit(r);
}

/* ---- UpdateTable ---- */

struct update_state {
    char *name;          /* in the arena */
    struct be_table *t;  /* the new definition, once applied */
    const char *billing; /* requested BillingMode or NULL */
    int has_pt;
    long long rcu, wcu;
    int dp; /* -1 unchanged */
    const char *table_class;
    const cJSON *stream, *sse, *odt;
    const cJSON *gsiu;  /* GlobalSecondaryIndexUpdates */
    const cJSON *adefs; /* AttributeDefinitions (for a Create) */
};

/* The action of one GlobalSecondaryIndexUpdates element ("Update", "Create" or "Delete") and
 * its body; NULL when the element has none. */
static const char *gsiu_action(const cJSON *e, const cJSON **body)
{
    static const char *const actions[] = {"Update", "Create", "Delete"};
    for (int i = 0; i < 3; i++)
        if ((*body = dx_json_get(e, actions[i])))
            return actions[i];
    return NULL;
}

static int update_types(const cJSON *req, struct dx_error *err)
{
    static const struct {
        const char *name;
        enum dx_jtype type;
    } members[] = {
        {"AttributeDefinitions", DX_JT_LIST},        {"BillingMode", DX_JT_STRING},
        {"ProvisionedThroughput", DX_JT_STRUCT},     {"TableClass", DX_JT_STRING},
        {"DeletionProtectionEnabled", DX_JT_BOOL},   {"StreamSpecification", DX_JT_STRUCT},
        {"GlobalSecondaryIndexUpdates", DX_JT_LIST}, {"SSESpecification", DX_JT_STRUCT},
        {"OnDemandThroughput", DX_JT_STRUCT},        {"ReplicaUpdates", DX_JT_LIST},
    };
    int rc;
    for (size_t i = 0; i < sizeof members / sizeof members[0]; i++)
        if ((rc = be__jtype(dx_json_get(req, members[i].name), members[i].type, err)))
            return rc;
    const cJSON *pt = dx_json_get(req, "ProvisionedThroughput");
    if ((rc = be__jtype(dx_json_get(pt, "ReadCapacityUnits"), DX_JT_LONG, err)) ||
        (rc = be__jtype(dx_json_get(pt, "WriteCapacityUnits"), DX_JT_LONG, err)))
        return rc;
    const cJSON *ss = dx_json_get(req, "StreamSpecification");
    if ((rc = be__jtype(dx_json_get(ss, "StreamEnabled"), DX_JT_BOOL, err)) ||
        (rc = be__jtype(dx_json_get(ss, "StreamViewType"), DX_JT_STRING, err)))
        return rc;
    const cJSON *sse = dx_json_get(req, "SSESpecification");
    if ((rc = be__jtype(dx_json_get(sse, "Enabled"), DX_JT_BOOL, err)) ||
        (rc = be__jtype(dx_json_get(sse, "SSEType"), DX_JT_STRING, err)) ||
        (rc = be__jtype(dx_json_get(sse, "KMSMasterKeyId"), DX_JT_STRING, err)))
        return rc;
    const cJSON *e;
    cJSON_ArrayForEach(e, dx_json_get(req, "GlobalSecondaryIndexUpdates"))
    {
        static const char *const actions[] = {"Update", "Create", "Delete"};
        if ((rc = be__jtype(e, DX_JT_STRUCT, err)))
            return rc;
        for (int i = 0; i < 3; i++) {
            const cJSON *a = dx_json_get(e, actions[i]);
            if ((rc = be__jtype(a, DX_JT_STRUCT, err)) ||
                (rc = be__jtype(dx_json_get(a, "IndexName"), DX_JT_STRING, err)))
                return rc;
            const cJSON *ipt = dx_json_get(a, "ProvisionedThroughput");
            if ((rc = be__jtype(ipt, DX_JT_STRUCT, err)) ||
                (rc = be__jtype(dx_json_get(ipt, "ReadCapacityUnits"), DX_JT_LONG, err)) ||
                (rc = be__jtype(dx_json_get(ipt, "WriteCapacityUnits"), DX_JT_LONG, err)))
                return rc;
        }
    }
    return be__jtype(dx_json_get(req, "TableName"), DX_JT_STRING, err);
}

/* The request model's constraints of GlobalSecondaryIndexUpdates. */
static void gsiu_constraints(const cJSON *gsiu, struct be_verrs *v)
{
    char p[160];
    int i = 0;
    const cJSON *e;
    cJSON_ArrayForEach(e, gsiu)
    {
        i++;
        static const char *const actions[] = {"Update", "Create", "Delete"};
        static const char *const lower[] = {"update", "create", "delete"};
        for (int k = 0; k < 3; k++) {
            const cJSON *a = dx_json_get(e, actions[k]);
            if (!a)
                continue;
            const char *name = dx_json_str(a, "IndexName");
            snprintf(p, sizeof p, "globalSecondaryIndexUpdates.%d.member.%s.indexName", i,
                     lower[k]);
            if (!name)
                be__verr_add(v, NULL, p, "Member must not be null");
            else
                be__verr_name(v, name, p);
            if (k == 1) {
                snprintf(p, sizeof p, "globalSecondaryIndexUpdates.%d.member.create.keySchema", i);
                be__verr_keyschema(v, dx_json_get(a, "KeySchema"), p);
                snprintf(p, sizeof p, "globalSecondaryIndexUpdates.%d.member.create.projection", i);
                be__verr_projection(v, dx_json_get(a, "Projection"), p);
            }
            const cJSON *ipt = dx_json_get(a, "ProvisionedThroughput");
            if (ipt && k != 2) {
                snprintf(p, sizeof p,
                         "globalSecondaryIndexUpdates.%d.member.%s.provisionedThroughput", i,
                         lower[k]);
                be__verr_pt(v, ipt, p);
            }
        }
    }
}

/* The rules of GlobalSecondaryIndexUpdates that need no table. */
static int gsiu_rules(struct be_req *r, const cJSON *gsiu, int has_pt, int has_stream)
{
    int creates_deletes = 0;
    const cJSON *e;
    cJSON_ArrayForEach(e, gsiu)
    {
        const cJSON *body;
        const char *action = gsiu_action(e, &body);
        if (!action)
            return dx_error_set(&r->err, DX_E_VALIDATION,
                                PREFIX "One of GlobalSecondaryIndexUpdate.Update, "
                                       "GlobalSecondaryIndexUpdate.Create, "
                                       "GlobalSecondaryIndexUpdate.Delete must not be null");
        int n = (dx_json_get(e, "Update") != NULL) + (dx_json_get(e, "Create") != NULL) +
                (dx_json_get(e, "Delete") != NULL);
        if (n > 1)
            return dx_error_set(&r->err, DX_E_VALIDATION,
                                PREFIX "Only one global secondary index action is allowed per "
                                       "GlobalSecondaryIndexUpdate object");
        const char *name = dx_json_str(body, "IndexName");
        for (const cJSON *f = gsiu->child; f != e; f = f->next) {
            const cJSON *fb;
            if (gsiu_action(f, &fb) && !strcmp(dx_json_str(fb, "IndexName"), name))
                return dx_error_set(&r->err, DX_E_VALIDATION,
                                    PREFIX "Only one global secondary index update per index is "
                                           "allowed simultaneously. Index: %s",
                                    name);
        }
        creates_deletes += strcmp(action, "Update") != 0;
    }
    if (creates_deletes > 1)
        return dx_error_set(&r->err, DX_E_LIMIT_EXCEEDED,
                            "Subscriber limit exceeded: Only 1 online index can be created or "
                            "deleted simultaneously per table");
    if (creates_deletes && has_pt)
        return dx_error_set(&r->err, DX_E_VALIDATION,
                            PREFIX "You cannot create or delete index while updating table IOPS");
    if (creates_deletes && has_stream)
        return dx_error_set(&r->err, DX_E_VALIDATION,
                            PREFIX "You cannot create or delete index while changing stream "
                                   "status");
    return DX_OK;
}

static struct be_index *find_gsi(struct be_table *t, const char *name)
{
    for (size_t i = 0; i < t->n_gsi; i++)
        if (!strcmp(t->gsi[i].name, name))
            return &t->gsi[i];
    return NULL;
}

static int is_lsi(const struct be_table *t, const char *name)
{
    for (size_t i = 0; i < t->n_lsi; i++)
        if (!strcmp(t->lsi[i].name, name))
            return 1;
    return 0;
}

static void set_status_str(char **dst, const char *status)
{
    dx_free(*dst);
    *dst = dx_strdup(status);
}

static void set_status(struct be_index *x, const char *status)
{
    dx_free(x->status);
    x->status = dx_strdup(status);
}

static enum dx_av_type attr_type_of(const char *t)
{
    return !strcmp(t, "N") ? DX_AV_N : !strcmp(t, "B") ? DX_AV_B : DX_AV_S;
}

/* The type of attribute `name` in the request's AttributeDefinitions; 0 when not there. */
static int req_def(const cJSON *adefs, const char *name, enum dx_av_type *type)
{
    const cJSON *d;
    cJSON_ArrayForEach(d, adefs)
    {
        const char *n = dx_json_str(d, "AttributeName"), *ty = dx_json_str(d, "AttributeType");
        if (n && ty && !strcmp(n, name)) {
            *type = attr_type_of(ty);
            return 1;
        }
    }
    return 0;
}

/* Adds the definition of a new index's key attribute to t (the request's definitions are
 * merged into the table's). */
static void merge_def(struct be_table *t, const char *name, enum dx_av_type type)
{
    for (size_t i = 0; i < t->n_attrdefs; i++)
        if (!strcmp(t->attrdefs[i].name, name))
            return;
    t->attrdefs = dx_realloc(t->attrdefs, (t->n_attrdefs + 1) * sizeof *t->attrdefs);
    t->attrdefs[t->n_attrdefs].name = dx_strdup(name);
    t->attrdefs[t->n_attrdefs].type = type;
    t->n_attrdefs++;
}

/* A Create action: the checks that need the table, then the new index (CREATING, storage id
 * assigned by update_apply) appended to t. */
static int gsi_create(struct be_req *r, const cJSON *body, const cJSON *adefs, struct be_table *t)
{
    struct dx_error *err = &r->err;
    const char *name = dx_json_str(body, "IndexName");
    int ppr = t->billing == BE_BILLING_PAY_PER_REQUEST;
    if (find_gsi(t, name) || is_lsi(t, name))
        return dx_error_set(err, DX_E_VALIDATION,
                            "Attempting to create an index which already exists");
    /* Keys: HASH first then RANGE, each defined in this request's AttributeDefinitions. */
    const char *kn[2] = {NULL, NULL}, *kt[2] = {NULL, NULL};
    int nk = 0;
    const cJSON *e;
    cJSON_ArrayForEach(e, dx_json_get(body, "KeySchema"))
    {
        if (nk < 2) {
            kn[nk] = dx_json_str(e, "AttributeName");
            kt[nk] = dx_json_str(e, "KeyType");
            nk++;
        }
    }
    enum dx_av_type ty[2] = {DX_AV_S, DX_AV_S};
    for (int i = 0; i < nk; i++)
        if (!req_def(adefs, kn[i], &ty[i])) {
            struct dx_buf a = DX_BUF_INIT, d = DX_BUF_INIT;
            for (int j = 0; j < nk; j++) {
                if (j)
                    dx_buf_puts(&a, ", ");
                dx_buf_puts(&a, kn[j]);
            }
            int first = 1;
            cJSON_ArrayForEach(e, adefs)
            {
                const char *n = dx_json_str(e, "AttributeName");
                if (!n)
                    continue;
                if (!first)
                    dx_buf_puts(&d, ", ");
                dx_buf_puts(&d, n);
                first = 0;
            }
            dx_buf_putc(&a, '\0');
            dx_buf_putc(&d, '\0');
            int rc = dx_error_set(err, DX_E_VALIDATION,
                                  PREFIX "Some index key attributes are not defined in "
                                         "AttributeDefinitions. Keys: [%s], AttributeDefinitions: "
                                         "[%s]",
                                  a.p, d.p);
            dx_buf_deinit(&a);
            dx_buf_deinit(&d);
            return rc;
        }
    if (nk == 2 && !strcmp(kn[0], kn[1]))
        return dx_error_set(err, DX_E_VALIDATION,
                            "Both the Hash Key and the Range Key element in the KeySchema have "
                            "the same name");
    if (strcmp(kt[0], "HASH") != 0)
        return dx_error_set(err, DX_E_VALIDATION,
                            "Invalid KeySchema: The first KeySchemaElement is not a HASH key type");
    if (nk == 2 && strcmp(kt[1], "RANGE") != 0)
        return dx_error_set(err, DX_E_VALIDATION,
                            "Invalid KeySchema: The second KeySchemaElement is not a RANGE key "
                            "type");
    const cJSON *pr = dx_json_get(body, "Projection");
    const char *ptype = dx_json_str(pr, "ProjectionType");
    const cJSON *nonkey = dx_json_get(pr, "NonKeyAttributes");
    if (!ptype)
        return dx_error_set(err, DX_E_VALIDATION, PREFIX "Unknown ProjectionType: null");
    if (nonkey && strcmp(ptype, "INCLUDE") != 0)
        return dx_error_set(err, DX_E_VALIDATION,
                            PREFIX "ProjectionType is %s, but NonKeyAttributes is specified",
                            ptype);
    if (!nonkey && !strcmp(ptype, "INCLUDE"))
        return dx_error_set(err, DX_E_VALIDATION,
                            PREFIX "ProjectionType is INCLUDE, but NonKeyAttributes is not "
                                   "specified");
    const cJSON *ipt = dx_json_get(body, "ProvisionedThroughput");
    if (ppr && ipt)
        return dx_error_set(err, DX_E_VALIDATION,
                            PREFIX "ProvisionedThroughput should not be specified for index: %s "
                                   "when BillingMode is PAY_PER_REQUEST",
                            name);
    if (!ppr && !ipt)
        return dx_error_set(err, DX_E_VALIDATION,
                            PREFIX "ProvisionedThroughput is not specified for index: %s", name);
    if (t->n_gsi >= BE_MAX_GSI)
        return dx_error_set(err, DX_E_LIMIT_EXCEEDED,
                            "GlobalSecondaryIndex count exceeds the per-table limit of %d",
                            BE_MAX_GSI);

    t->gsi = dx_realloc(t->gsi, (t->n_gsi + 1) * sizeof *t->gsi);
    struct be_index *x = &t->gsi[t->n_gsi++];
    memset(x, 0, sizeof *x);
    x->name = dx_strdup(name);
    x->global = 1;
    x->hash.name = dx_strdup(kn[0]);
    x->hash.type = ty[0];
    merge_def(t, kn[0], ty[0]);
    if (nk == 2) {
        x->range.name = dx_strdup(kn[1]);
        x->range.type = ty[1];
        merge_def(t, kn[1], ty[1]);
    }
    x->projection = !strcmp(ptype, "KEYS_ONLY") ? BE_PROJ_KEYS_ONLY
                    : !strcmp(ptype, "INCLUDE") ? BE_PROJ_INCLUDE
                                                : BE_PROJ_ALL;
    if (nonkey) {
        size_t n = (size_t)cJSON_GetArraySize(nonkey);
        x->nonkey = n ? dx_calloc(n, sizeof(char *)) : NULL;
        cJSON_ArrayForEach(e, nonkey)
        {
            if (cJSON_IsString(e))
                x->nonkey[x->n_nonkey++] = dx_strdup(e->valuestring);
        }
    }
    if (ipt) {
        x->rcu = (int64_t)dx_json_get(ipt, "ReadCapacityUnits")->valuedouble;
        x->wcu = (int64_t)dx_json_get(ipt, "WriteCapacityUnits")->valuedouble;
    }
    x->status = dx_strdup("CREATING");
    return DX_OK;
}

/* Applies the Create, Update and Delete actions to t (the new definition). Created indexes are
 * CREATING until their backfill is done (be_backfill.h). Updated indexes are marked
 * UPDATING and deleted ones DELETING, for the response; update_apply settles both before the
 * definition is stored. */
static int gsiu_apply(struct be_req *r, const cJSON *gsiu, const cJSON *adefs, struct be_table *t,
                      int ppr_before)
{
    struct dx_error *err = &r->err;
    int ppr = t->billing == BE_BILLING_PAY_PER_REQUEST;
    const cJSON *e;
    cJSON_ArrayForEach(e, gsiu)
    {
        const cJSON *body;
        const char *action = gsiu_action(e, &body);
        const char *name = dx_json_str(body, "IndexName");
        if (strcmp(action, "Update") != 0)
            for (size_t i = 0; i < t->n_gsi; i++)
                if (t->gsi[i].status && !strcmp(t->gsi[i].status, "CREATING"))
                    /* An index is still being built. */
                    return dx_error_set(err, DX_E_LIMIT_EXCEEDED,
                                        "Subscriber limit exceeded: Only 1 online index can be "
                                        "created or deleted simultaneously per table");
        if (!strcmp(action, "Create")) {
            int rc = gsi_create(r, body, adefs, t);
            if (rc)
                return rc;
            continue;
        }
        struct be_index *x = find_gsi(t, name);
        if (!x) {
            if (is_lsi(t, name))
                return dx_error_set(err, DX_E_VALIDATION,
                                    "Cannot %s an index that is not a GlobalSecondaryIndex: %s",
                                    !strcmp(action, "Delete") ? "delete" : "update", name);
            return dx_error_set(err, DX_E_RESOURCE_NOT_FOUND,
                                "Requested resource not found: Index %s for table %s", name,
                                t->name);
        }
        if (!strcmp(action, "Delete")) {
            set_status(x, "DELETING");
            continue;
        }
        const cJSON *ipt = dx_json_get(body, "ProvisionedThroughput");
        if (ppr && ipt)
            return dx_error_set(err, DX_E_VALIDATION,
                                PREFIX "Neither ReadCapacityUnits nor WriteCapacityUnits can be "
                                       "specified for index: %s when BillingMode is "
                                       "PAY_PER_REQUEST",
                                name);
        if (ppr)
            return dx_error_set(err, DX_E_VALIDATION,
                                PREFIX "The only Updates for index: %s when TableThroughputMode "
                                       "is PAY_PER_REQUEST can be to OnDemandThroughput, "
                                       "WarmThroughput",
                                name);
        if (!ipt)
            return dx_error_set(err, DX_E_VALIDATION,
                                PREFIX "ProvisionedThroughput must be specified for index: %s",
                                name);
        long long rcu = (long long)dx_json_get(ipt, "ReadCapacityUnits")->valuedouble;
        long long wcu = (long long)dx_json_get(ipt, "WriteCapacityUnits")->valuedouble;
        if (!ppr_before && rcu == x->rcu && wcu == x->wcu)
            return dx_error_set(err, DX_E_VALIDATION,
                                "The provisioned throughput for the index %s will not change. The "
                                "requested value equals the current value. Current "
                                "ReadCapacityUnits provisioned for the index: %lld. Requested "
                                "ReadCapacityUnits: %lld. Current WriteCapacityUnits provisioned "
                                "for the index: %lld. Requested WriteCapacityUnits: %lld. Refer to "
                                "the Amazon DynamoDB Developer Guide for current limits and how to "
                                "request higher limits.",
                                name, (long long)x->rcu, rcu, (long long)x->wcu, wcu);
        x->rcu = rcu;
        x->wcu = wcu;
        /* A CREATING index stays so: its backfill marks it ACTIVE when done. */
        if (!x->status || strcmp(x->status, "CREATING") != 0)
            set_status(x, "UPDATING");
    }
    return DX_OK;
}

/* The decisions that depend on the table's current definition, then the new definition.
 * Runs in apply, against the latest stored definition. */
/* DynamoDB lets a table switch from provisioned to on-demand capacity at most this many times
 * in a rolling 24 hours; the times of the switches are kept in extra under this name. */
#define PPR_SWITCHES_MAX 4
#define PPR_SWITCHES     "PayPerRequestSwitches"

/* The switch times of t within the 24 hours before now, as a new array (the caller owns it). */
static cJSON *ppr_switches_recent(const struct be_table *t, double now)
{
    cJSON *recent = cJSON_CreateArray();
    const cJSON *e,
        *all = t->extra ? cJSON_GetObjectItemCaseSensitive(t->extra, PPR_SWITCHES) : NULL;
    cJSON_ArrayForEach(e, all)
    {
        if (cJSON_IsNumber(e) && e->valuedouble > now - 86400)
            cJSON_AddItemToArray(recent, cJSON_CreateNumber(e->valuedouble));
    }
    return recent;
}

static int update_build(struct be_req *r, struct update_state *u, const struct be_table *cur,
                        struct be_table **out, const char **status)
{
    struct dx_error *err = &r->err;
    int ppr = cur->billing == BE_BILLING_PAY_PER_REQUEST;
    int to_ppr = u->billing && !strcmp(u->billing, "PAY_PER_REQUEST");
    int to_prov = u->billing && !strcmp(u->billing, "PROVISIONED");
    double now = be__now();
    *out = NULL;
    *status = "ACTIVE";

    if (u->stream) {
        int enable = cJSON_IsTrue(dx_json_get(u->stream, "StreamEnabled"));
        const char *vt = dx_json_str(u->stream, "StreamViewType");
        const cJSON *curss =
            cur->extra ? cJSON_GetObjectItemCaseSensitive(cur->extra, "StreamSpecification") : NULL;
        int enabled =
            curss && cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(curss, "StreamEnabled"));
        if (enable && !vt)
            return dx_error_set(err, DX_E_VALIDATION,
                                PREFIX
                                "If stream is being enabled then UpdateViewType is required");
        if (!enable && vt)
            return dx_error_set(err, DX_E_VALIDATION,
                                PREFIX "If stream is being disabled, then UpdateViewType must not "
                                       "be specified");
        if (enable && enabled)
            return dx_error_set(err, DX_E_VALIDATION,
                                "Table already has an enabled stream: TableName: %s", cur->name);
        if (!enable && !enabled)
            return dx_error_set(err, DX_E_VALIDATION,
                                "Table has no stream to disable: TableName: %s", cur->name);
    }
    if (u->sse && !cJSON_IsTrue(dx_json_get(u->sse, "Enabled")) &&
        !(cur->extra && cJSON_GetObjectItemCaseSensitive(cur->extra, "SSEDescription")))
        return dx_error_set(err, DX_E_VALIDATION, PREFIX "Table is already encrypted by default");
    if (ppr && !u->billing && u->has_pt)
        return dx_error_set(err, DX_E_VALIDATION,
                            PREFIX "Neither ReadCapacityUnits nor WriteCapacityUnits can be "
                                   "specified when BillingMode is PAY_PER_REQUEST");
    if (to_prov && !u->has_pt)
        return dx_error_set(err, DX_E_VALIDATION,
                            PREFIX "ProvisionedThroughput must be specified when BillingMode is "
                                   "PROVISIONED");
    /* Back to provisioned capacity: every GSI needs its own throughput in the same request. */
    for (size_t i = 0; to_prov && ppr && i < cur->n_gsi; i++) {
        int given = 0;
        const cJSON *e;
        cJSON_ArrayForEach(e, u->gsiu)
        {
            const cJSON *b = dx_json_get(e, "Update");
            given |= b && !strcmp(dx_json_str(b, "IndexName"), cur->gsi[i].name) &&
                     dx_json_get(b, "ProvisionedThroughput");
        }
        if (!given)
            return dx_error_set(err, DX_E_VALIDATION,
                                PREFIX "ProvisionedThroughput must be specified for index: %s",
                                cur->gsi[i].name);
    }
    if (u->has_pt && !ppr && u->rcu == cur->rcu && u->wcu == cur->wcu)
        return dx_error_set(
            err, DX_E_VALIDATION,
            "The provisioned throughput for the table will not change. The "
            "requested value equals the current value. Current ReadCapacityUnits "
            "provisioned for the table: %lld. Requested ReadCapacityUnits: %lld. "
            "Current WriteCapacityUnits provisioned for the table: %lld. Requested "
            "WriteCapacityUnits: %lld. Refer to the Amazon DynamoDB Developer Guide "
            "for current limits and how to request higher limits.",
            (long long)cur->rcu, u->rcu, (long long)cur->wcu, u->wcu);

    cJSON *switches = NULL;
    if (to_ppr && !ppr) {
        switches = ppr_switches_recent(cur, now);
        if (cJSON_GetArraySize(switches) >= PPR_SWITCHES_MAX) {
            cJSON_Delete(switches);
            return dx_error_set(err, DX_E_LIMIT_EXCEEDED,
                                "Subscriber limit exceeded: Update to PayPerRequest mode are "
                                "limited to %d times in 1 day(s).",
                                PPR_SWITCHES_MAX);
        }
        cJSON_AddItemToArray(switches, cJSON_CreateNumber(now));
    }

    struct be_table *t = be_table_clone(cur);
    if (!t->extra)
        t->extra = cJSON_CreateObject();
    if (switches) {
        cJSON_DeleteItemFromObjectCaseSensitive(t->extra, PPR_SWITCHES);
        cJSON_AddItemToObject(t->extra, PPR_SWITCHES, switches);
    }
    if (to_ppr && !ppr) {
        t->billing = BE_BILLING_PAY_PER_REQUEST;
        t->rcu = t->wcu = 0;
        for (size_t i = 0; i < t->n_gsi; i++)
            t->gsi[i].rcu = t->gsi[i].wcu = 0;
        cJSON_DeleteItemFromObjectCaseSensitive(t->extra, "LastUpdateToPayPerRequestDateTime");
        cJSON_AddNumberToObject(t->extra, "LastUpdateToPayPerRequestDateTime", now);
        *status = "UPDATING";
    }
    if (u->has_pt) {
        if (ppr) {
            /* Back to provisioned capacity. */
            t->billing = BE_BILLING_PROVISIONED;
            cJSON_DeleteItemFromObjectCaseSensitive(t->extra, "OnDemandThroughput");
        } else {
            if (u->rcu > cur->rcu || u->wcu > cur->wcu)
                t->last_increase = now;
            if (u->rcu < cur->rcu || u->wcu < cur->wcu) {
                t->decreases_today = be__decreases_today(cur, now) + 1;
                t->last_decrease = now;
            }
        }
        t->rcu = u->rcu;
        t->wcu = u->wcu;
        *status = "UPDATING";
    }
    if (u->odt && t->billing == BE_BILLING_PAY_PER_REQUEST) {
        cJSON_DeleteItemFromObjectCaseSensitive(t->extra, "OnDemandThroughput");
        cJSON_AddItemToObject(t->extra, "OnDemandThroughput", cJSON_Duplicate(u->odt, 1));
    }
    if (u->dp >= 0)
        t->deletion_protection = u->dp;
    if (u->table_class) {
        dx_free(t->table_class);
        t->table_class = dx_strdup(u->table_class);
        cJSON_DeleteItemFromObjectCaseSensitive(t->extra, "TableClassLastUpdateDateTime");
        cJSON_AddNumberToObject(t->extra, "TableClassLastUpdateDateTime", now);
        *status = "UPDATING";
    }
    if (u->stream) {
        cJSON_DeleteItemFromObjectCaseSensitive(t->extra, "StreamSpecification");
        cJSON_DeleteItemFromObjectCaseSensitive(t->extra, "LatestStreamLabel");
        if (cJSON_IsTrue(dx_json_get(u->stream, "StreamEnabled"))) {
            cJSON *o = cJSON_AddObjectToObject(t->extra, "StreamSpecification");
            cJSON_AddBoolToObject(o, "StreamEnabled", 1);
            cJSON_AddStringToObject(o, "StreamViewType", dx_json_str(u->stream, "StreamViewType"));
            char label[40];
            be__stream_label(now, label, sizeof label);
            cJSON_AddStringToObject(t->extra, "LatestStreamLabel", label);
        }
        *status = "UPDATING";
    }
    if (u->sse) {
        cJSON_DeleteItemFromObjectCaseSensitive(t->extra, "SSEDescription");
        if (cJSON_IsTrue(dx_json_get(u->sse, "Enabled"))) {
            cJSON *o = cJSON_AddObjectToObject(t->extra, "SSEDescription");
            cJSON_AddStringToObject(o, "Status", "ENABLED");
            cJSON_AddStringToObject(o, "SSEType", "KMS");
            const char *key = dx_json_str(u->sse, "KMSMasterKeyId");
            char arn[300], uuid[37];
            if (key && !strncmp(key, "arn:", 4)) {
                snprintf(arn, sizeof arn, "%s", key);
            } else {
                if (!key) {
                    be__uuid4(uuid);
                    key = uuid;
                }
                snprintf(arn, sizeof arn, "arn:aws:kms:%s:%s:key/%s", r->be->region, r->be->account,
                         key);
            }
            cJSON_AddStringToObject(o, "KMSMasterKeyArn", arn);
        }
        *status = "UPDATING";
    }
    if (u->gsiu && cJSON_GetArraySize(u->gsiu)) {
        int rc = gsiu_apply(r, u->gsiu, u->adefs, t, ppr);
        if (rc) {
            be_table_unref(t);
            return rc;
        }
        *status = "UPDATING";
    }
    if (!cJSON_GetArraySize(t->extra)) {
        cJSON_Delete(t->extra);
        t->extra = NULL;
    }
    *out = t;
    return DX_OK;
}

/* After the response: deleted GSIs leave the definition (their entries are dropped), updated
 * ones are ACTIVE again. With a delay (`delayed`) both keep their status until the table's
 * transition settles (be__table_settle); a deleted index's entries are dropped now all the
 * same, and its storage id cleared so that writes no longer maintain it. */
static int gsiu_settle(struct be_req *r, MDB_txn *txn, struct be_table *t, int delayed)
{
    size_t k = 0;
    for (size_t i = 0; i < t->n_gsi; i++) {
        struct be_index *x = &t->gsi[i];
        if (x->status && !strcmp(x->status, "DELETING")) {
            if (x->id) {
                int rc = be_items_drop_table(r->be->store, txn, x->id);
                if (rc)
                    return rc;
            }
            if (delayed) {
                x->id = 0;
                t->gsi[k++] = *x;
                continue;
            }
            dx_free(x->name);
            dx_free(x->hash.name);
            dx_free(x->range.name);
            for (size_t j = 0; j < x->n_nonkey; j++)
                dx_free(x->nonkey[j]);
            dx_free(x->nonkey);
            dx_free(x->status);
            continue;
        }
        if (!delayed && x->status && !strcmp(x->status, "UPDATING"))
            set_status(x, "ACTIVE");
        t->gsi[k++] = *x;
    }
    t->n_gsi = k;
    return DX_OK;
}

static int update_apply(struct be_req *r, MDB_txn *txn)
{
    struct update_state *u = r->state;
    struct be_catalog *c = r->be->catalog;
    struct be_table *cur, *t;
    const char *status;
    int rc = be__catalog_load(c, txn, u->name, &cur);
    if (rc == DX_ENOTFOUND)
        return be__table_not_found(&r->err, u->name);
    if (rc)
        return rc;
    if ((rc = in_transition(r, cur))) {
        be_table_unref(cur);
        return rc;
    }
    rc = update_build(r, u, cur, &t, &status);
    be_table_unref(cur);
    if (rc)
        return rc;
    /* With a delay, a change DynamoDB reports UPDATING stays so until the delay has passed. */
    int delayed = delay_s(r) > 0 && strcmp(status, "ACTIVE") != 0;
    if (delayed) {
        set_status_str(&t->status, "UPDATING");
        t->settle_at = be__now() + delay_s(r);
    }
    for (size_t i = 0; i < t->n_gsi; i++)
        if (!t->gsi[i].id && (rc = be_catalog_next_id(c, txn, &t->gsi[i].id))) {
            be_table_unref(t);
            return rc;
        }
    struct be_desc_stats stats;
    be__table_stats_read(r->be->store, txn, t, &stats);
    table_response(r, "TableDescription", t, status, &stats, 0);
    if ((rc = gsiu_settle(r, txn, t, delayed)) || (rc = be_catalog_store(c, txn, t))) {
        be_table_unref(t);
        return rc;
    }
    be_table_unref(u->t);
    u->t = t;
    return DX_OK;
}

static void update_done(struct be_req *r, int status)
{
    struct update_state *u = r->state;
    if (status == DX_OK && u->t) {
        be_catalog_publish(r->be->catalog, u->t);
        /* A created index is published CREATING: its backfill starts now. */
        const cJSON *e;
        cJSON_ArrayForEach(e, u->gsiu)
        {
            const cJSON *b = dx_json_get(e, "Create");
            struct be_index *x = b ? find_gsi(u->t, dx_json_str(b, "IndexName")) : NULL;
            if (x && x->status && !strcmp(x->status, "CREATING"))
                be_backfill_start(r->be, u->t->name, u->t->id, x->id);
        }
    }
    be_table_unref(u->t);
    u->t = NULL;
}

int be_op_UpdateTable(struct be_req *r)
{
    const cJSON *req = r->json;
    int rc;
    if ((rc = update_types(req, &r->err)))
        return rc;

    /* The request model's constraints, reported together. */
    struct be_verrs v = {DX_BUF_INIT, 0};
    const char *name;
    if ((rc = be__table_name_arg(req, &v, &name, &r->err)))
        return rc;
    const cJSON *pt = dx_json_get(req, "ProvisionedThroughput");
    if (pt) {
        static const char *const members[] = {"WriteCapacityUnits", "ReadCapacityUnits"};
        static const char *const paths[] = {"provisionedThroughput.writeCapacityUnits",
                                            "provisionedThroughput.readCapacityUnits"};
        for (int i = 0; i < 2; i++) {
            const cJSON *x = dx_json_get(pt, members[i]);
            char val[32];
            if (!x) {
                be__verr_add(&v, NULL, paths[i], "Member must not be null");
            } else if (x->valuedouble < 1) {
                snprintf(val, sizeof val, "%lld", (long long)x->valuedouble);
                be__verr_add(&v, val, paths[i],
                             "Member must have value greater than or equal to 1");
            }
        }
    }
    const char *bm = dx_json_str(req, "BillingMode");
    if (bm && strcmp(bm, "PROVISIONED") != 0 && strcmp(bm, "PAY_PER_REQUEST") != 0)
        be__verr_add(&v, bm, "billingMode",
                     "Member must satisfy enum value set: [PROVISIONED, PAY_PER_REQUEST]");
    const cJSON *ss = dx_json_get(req, "StreamSpecification");
    if (ss) {
        if (!dx_json_get(ss, "StreamEnabled"))
            be__verr_add(&v, NULL, "streamSpecification.streamEnabled", "Member must not be null");
        const char *vt = dx_json_str(ss, "StreamViewType");
        if (vt && strcmp(vt, "NEW_IMAGE") && strcmp(vt, "OLD_IMAGE") &&
            strcmp(vt, "NEW_AND_OLD_IMAGES") && strcmp(vt, "KEYS_ONLY"))
            be__verr_add(&v, vt, "streamSpecification.streamViewType",
                         "Member must satisfy enum value set: [NEW_IMAGE, OLD_IMAGE, "
                         "NEW_AND_OLD_IMAGES, KEYS_ONLY]");
    }
    const cJSON *gsiu = dx_json_get(req, "GlobalSecondaryIndexUpdates");
    gsiu_constraints(gsiu, &v);
    if ((rc = be__verr_finish(&v, &r->err)))
        return rc;

    const cJSON *sse = dx_json_get(req, "SSESpecification");
    const cJSON *dp = dx_json_get(req, "DeletionProtectionEnabled");
    const cJSON *odt = dx_json_get(req, "OnDemandThroughput");
    const cJSON *replicas = dx_json_get(req, "ReplicaUpdates");
    const char *tc = dx_json_str(req, "TableClass");
    int n_gsiu = gsiu ? cJSON_GetArraySize(gsiu) : 0;
    int n_repl = replicas ? cJSON_GetArraySize(replicas) : 0;
    if (!pt && !bm && !ss && !n_gsiu && !sse && !dp && !odt && !tc && !n_repl)
        return dx_error_set(&r->err, DX_E_VALIDATION,
                            "At least one of ProvisionedThroughput, BillingMode, "
                            "UpdateStreamEnabled, GlobalSecondaryIndexUpdates, SSESpecification, "
                            "ReplicaUpdates, MultiAccountReplicaReady, ReplicaTransitRoleArn, "
                            "MultiRegionConsistency, DeletionProtectionEnabled, "
                            "OnDemandThroughput, WarmThroughput or TableClass is required");
    if (pt) {
        double rr = dx_json_get(pt, "ReadCapacityUnits")->valuedouble;
        double ww = dx_json_get(pt, "WriteCapacityUnits")->valuedouble;
        if (rr > (double)BE_MAX_THROUGHPUT)
            return dx_error_set(&r->err, DX_E_VALIDATION,
                                "Given value %.0f for ReadCapacityUnits is out of bounds", rr);
        if (ww > (double)BE_MAX_THROUGHPUT)
            return dx_error_set(&r->err, DX_E_VALIDATION,
                                "Given value %.0f for WriteCapacityUnits is out of bounds", ww);
    }
    if (bm && !strcmp(bm, "PAY_PER_REQUEST") && pt)
        return dx_error_set(&r->err, DX_E_VALIDATION,
                            PREFIX "Neither ReadCapacityUnits nor WriteCapacityUnits can be "
                                   "specified when BillingMode is PAY_PER_REQUEST");
    if (tc && strcmp(tc, "STANDARD") != 0 && strcmp(tc, "STANDARD_INFREQUENT_ACCESS") != 0)
        return dx_error_set(&r->err, DX_E_VALIDATION,
                            "Invalid table-class parameter provided. Please try again with a valid "
                            "table-class value: [STANDARD, STANDARD_INFREQUENT_ACCESS].");
    /* Some settings must be changed alone. */
    int others = (pt != NULL) + (bm != NULL) + (ss != NULL) + (n_gsiu > 0) + (sse != NULL) +
                 (dp != NULL) + (odt != NULL) + (tc != NULL);
    if (sse && others > 1)
        return dx_error_set(&r->err, DX_E_VALIDATION,
                            PREFIX "Server-Side Encryption modification must be the only operation "
                                   "in the request");
    if (tc && others > 1)
        return dx_error_set(&r->err, DX_E_VALIDATION,
                            PREFIX "TableClass modification must be the only operation in the "
                                   "request");
    if (dp && others > 1)
        return dx_error_set(&r->err, DX_E_VALIDATION,
                            PREFIX "DeletionProtection modification must be the only operation in "
                                   "the request");
    if (n_gsiu && (rc = gsiu_rules(r, gsiu, pt != NULL, ss != NULL)))
        return rc;
    if (odt && others - (bm != NULL) > 1)
        return dx_error_set(&r->err, DX_E_VALIDATION,
                            PREFIX "OnDemandThroughput can only be combined with BillingMode in an "
                                   "UpdateTable request");

    struct be_table *t = be_catalog_get(r->be->catalog, name);
    if (!t)
        return be__table_not_found(&r->err, name);
    struct update_state *u = dx_arena_calloc(&r->arena, sizeof *u);
    u->name = dx_arena_strndup(&r->arena, t->name, strlen(t->name));
    be_table_unref(t);
    if (n_repl)
        return dx_error_set(&r->err, DX_E_VALIDATION,
                            PREFIX "ReplicaUpdates are not supported by this server yet");
    u->billing = bm;
    u->has_pt = pt != NULL;
    if (pt) {
        u->rcu = (long long)dx_json_get(pt, "ReadCapacityUnits")->valuedouble;
        u->wcu = (long long)dx_json_get(pt, "WriteCapacityUnits")->valuedouble;
    }
    u->dp = dp ? cJSON_IsTrue(dp) : -1;
    u->table_class = tc;
    u->stream = ss;
    u->sse = sse;
    u->odt = odt;
    u->gsiu = gsiu;
    u->adefs = dx_json_get(req, "AttributeDefinitions");
    r->state = u;
    r->apply = update_apply;
    r->after_commit = update_done;
    return be_req_submit(r);
}
