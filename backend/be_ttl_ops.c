/*
 * UpdateTimeToLive and DescribeTimeToLive, and the TTL setting's rules (be_ttl_priv.h).
 *
 * UpdateTimeToLive validates the request on the caller's thread as DynamoDB's request model
 * does, then goes to the writer: apply re-reads the table definition inside the write
 * transaction (the published snapshot can lag behind other changes of the same group, and
 * another setting such as the tags may have changed it), checks the change against the current
 * setting with DynamoDB's texts, and stores a copy with only the "ttl" member of `extra`
 * replaced; after_commit publishes it. DescribeTimeToLive answers from the published snapshot.
 */
#include <stdio.h>
#include <string.h>
#include <cjson/cJSON.h>
#include "dx_arena.h"
#include "dx_json.h"
#include "dx_status.h"
#include "be_engine.h"
#include "be_table_priv.h"
#include "be_ttl_priv.h"

#define TTL_ATTR_MAX 255

/* ---- the setting ---- */

void be__ttl_spec(const struct be_table *t, struct be_ttl_spec *out)
{
    memset(out, 0, sizeof *out);
    const cJSON *o = t->extra ? cJSON_GetObjectItemCaseSensitive(t->extra, BE_TTL_KEY) : NULL;
    if (!cJSON_IsObject(o))
        return;
    const cJSON *a = cJSON_GetObjectItemCaseSensitive(o, "attr");
    const cJSON *c = cJSON_GetObjectItemCaseSensitive(o, "changed");
    out->attr = cJSON_IsString(a) ? a->valuestring : NULL;
    out->enabled = out->attr && cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o, "enabled"));
    out->changed = cJSON_IsNumber(c) ? c->valuedouble : 0;
}

const char *be__ttl_status(const struct be_ttl_spec *s, double now, unsigned delay_ms)
{
    int settling = delay_ms && s->changed > 0 && (now - s->changed) * 1000.0 < (double)delay_ms;
    if (s->enabled)
        return settling ? "ENABLING" : "ENABLED";
    return s->attr && settling ? "DISABLING" : "DISABLED";
}

void be__ttl_clock(double now, struct be_ttl_clock *out)
{
    /* Millisecond text parsed exactly: expiry times are compared as DynamoDB numbers. */
    char buf[64];
    long long ms = (long long)(now * 1000.0);
    int n = snprintf(buf, sizeof buf, "%lld.%03lld", ms / 1000, ms % 1000);
    dx_num_parse(buf, (size_t)n, &out->now);
    ms -= BE_TTL_MAX_AGE_S * 1000;
    n = snprintf(buf, sizeof buf, "%lld.%03lld", ms / 1000, ms % 1000);
    dx_num_parse(buf, (size_t)n, &out->oldest);
}

int be__ttl_expired(const struct dx_av *item, const char *attr, const struct be_ttl_clock *c)
{
    if (!item || item->type != DX_AV_M || !attr)
        return 0;
    const struct dx_av *v = dx_av_map_get(item, attr, strlen(attr));
    struct dx_num n;
    if (!v || v->type != DX_AV_N || dx_num_parse(v->u.bytes.p, v->u.bytes.len, &n) != DX_NUM_OK)
        return 0;
    return dx_num_cmp(&n, &c->now) < 0 && dx_num_cmp(&n, &c->oldest) >= 0;
}

/* ---- UpdateTimeToLive ---- */

struct update_state {
    char *name; /* the table's own name (the request may have used its ARN); in the arena */
    char *attr; /* in the arena */
    int enabled;
    struct be_table *t; /* the new definition, once applied */
};

/* DynamoDB refuses a TTL change while the table is being created (not while it is being
 * deleted). */
static int creating(struct be_req *r, const struct be_table *t)
{
    if (!be_status_is(t->status, "CREATING"))
        return DX_OK;
    return dx_error_set(&r->err, DX_E_RESOURCE_IN_USE,
                        "Attempt to change a resource which is still in use: Table %s is being "
                        "created",
                        t->name);
}

static int update_apply(struct be_req *r, MDB_txn *txn)
{
    struct update_state *u = r->state;
    struct be_catalog *c = r->be->catalog;
    struct be_table *cur, *t;
    int rc = be__catalog_load(c, txn, u->name, &cur);
    if (rc == DX_ENOTFOUND)
        return be__table_not_found(&r->err, u->name);
    if (rc)
        return rc;
    if ((rc = creating(r, cur))) {
        be_table_unref(cur);
        return rc;
    }
    struct be_ttl_spec s;
    be__ttl_spec(cur, &s);
    double now = be__now();
    /* What the change would do is checked before how soon it comes, as DynamoDB does. */
    if (u->enabled && s.enabled && !strcmp(s.attr, u->attr))
        rc = dx_error_set(&r->err, DX_E_VALIDATION, "TimeToLive is already enabled");
    else if (!u->enabled && !s.enabled)
        rc = dx_error_set(&r->err, DX_E_VALIDATION, "TimeToLive is already disabled");
    else if (s.enabled && strcmp(s.attr, u->attr) != 0)
        rc = dx_error_set(&r->err, DX_E_VALIDATION,
                          "TimeToLive is active on a different AttributeName: current "
                          "AttributeName is %s",
                          s.attr);
    else if (strcmp(be__ttl_status(&s, now, r->be->opts.status_delay_ms), "ENABLING") == 0 ||
             strcmp(be__ttl_status(&s, now, r->be->opts.status_delay_ms), "DISABLING") == 0)
        rc = dx_error_set(&r->err, DX_E_VALIDATION,
                          "Time to live has been modified multiple times within a fixed interval");
    if (rc) {
        be_table_unref(cur);
        return rc;
    }

    t = be_table_clone(cur);
    be_table_unref(cur);
    if (!t->extra)
        t->extra = cJSON_CreateObject();
    cJSON_DeleteItemFromObjectCaseSensitive(t->extra, BE_TTL_KEY);
    cJSON *o = cJSON_AddObjectToObject(t->extra, BE_TTL_KEY);
    cJSON_AddStringToObject(o, "attr", u->attr);
    cJSON_AddBoolToObject(o, "enabled", u->enabled);
    cJSON_AddNumberToObject(o, "changed", now);
    if ((rc = be_catalog_store(c, txn, t))) {
        be_table_unref(t);
        return rc;
    }
    /* A rerun of the group (map growth) applies again: keep only the latest definition. */
    if (u->t)
        be_table_unref(u->t);
    u->t = t;

    dx_buf_reset(&r->out);
    dx_buf_printf(&r->out, "{\"TimeToLiveSpecification\":{\"Enabled\":%s,\"AttributeName\":",
                  u->enabled ? "true" : "false");
    dx_buf_json_str(&r->out, u->attr, strlen(u->attr));
    dx_buf_puts(&r->out, "}}");
    return DX_OK;
}

static void update_done(struct be_req *r, int status)
{
    struct update_state *u = r->state;
    if (status == DX_OK && u->t)
        be_catalog_publish(r->be->catalog, u->t);
    if (u->t)
        be_table_unref(u->t);
    u->t = NULL;
}

int be_op_UpdateTimeToLive(struct be_req *r)
{
    const cJSON *req = r->json;
    const cJSON *spec = dx_json_get(req, "TimeToLiveSpecification");
    const cJSON *an = dx_json_get(spec, "AttributeName"), *en = dx_json_get(spec, "Enabled");
    int rc;
    /* Type errors first, in the request model's member order. */
    if ((rc = be__jtype(dx_json_get(req, "TableName"), DX_JT_STRING, &r->err)) ||
        (rc = be__jtype(spec, DX_JT_STRUCT, &r->err)) ||
        (rc = be__jtype(an, DX_JT_STRING, &r->err)) || (rc = be__jtype(en, DX_JT_BOOL, &r->err)))
        return rc;

    /* The request model's constraints, reported together. */
    struct be_verrs v = {DX_BUF_INIT, 0};
    const char *name;
    if ((rc = be__table_name_arg(req, &v, &name, &r->err)))
        return rc;
    if (!spec) {
        be__verr_add(&v, NULL, "timeToLiveSpecification", "Member must not be null");
    } else {
        if (!an)
            be__verr_add(&v, NULL, "timeToLiveSpecification.attributeName",
                         "Member must not be null");
        else if (dx_utf16_len(an->valuestring) > TTL_ATTR_MAX)
            be__verr_add(&v, an->valuestring, "timeToLiveSpecification.attributeName",
                         "Member must have length less than or equal to 255");
        if (!en)
            be__verr_add(&v, NULL, "timeToLiveSpecification.enabled", "Member must not be null");
    }
    if ((rc = be__verr_finish(&v, &r->err)))
        return rc;
    if (!an->valuestring[0])
        return dx_error_set(&r->err, DX_E_VALIDATION,
                            "TimeToLiveSpecification.AttributeName must be non empty");

    struct be_table *t = be_catalog_get(r->be->catalog, name);
    if (!t)
        return be__table_not_found(&r->err, name);
    if ((rc = creating(r, t))) {
        be_table_unref(t);
        return rc;
    }
    struct update_state *u = dx_arena_calloc(&r->arena, sizeof *u);
    u->name = dx_arena_strndup(&r->arena, t->name, strlen(t->name));
    be_table_unref(t);
    u->attr = dx_arena_strndup(&r->arena, an->valuestring, strlen(an->valuestring));
    u->enabled = cJSON_IsTrue(en);
    r->state = u;
    r->apply = update_apply;
    r->after_commit = update_done;
    return be_req_submit(r);
}

/* ---- DescribeTimeToLive ---- */

int be_op_DescribeTimeToLive(struct be_req *r)
{
    struct be_table *t;
    int rc = be__table_arg(r, &t);
    if (rc)
        return rc;
    if (be_table_in_transition(t)) {
        rc = dx_error_set(&r->err, DX_E_VALIDATION,
                          "Cannot describe time to live while table is in %s state: Current "
                          "table state is %s",
                          t->status, t->status);
        be_table_unref(t);
        return rc;
    }
    struct be_ttl_spec s;
    be__ttl_spec(t, &s);
    const char *status = be__ttl_status(&s, be__now(), r->be->opts.status_delay_ms);
    dx_buf_reset(&r->out);
    dx_buf_printf(&r->out, "{\"TimeToLiveDescription\":{\"TimeToLiveStatus\":\"%s\"", status);
    /* DISABLED names no attribute, whatever was set before (as DynamoDB answers). */
    if (strcmp(status, "DISABLED") != 0) {
        dx_buf_puts(&r->out, ",\"AttributeName\":");
        dx_buf_json_str(&r->out, s.attr, strlen(s.attr));
    }
    dx_buf_puts(&r->out, "}}");
    be_table_unref(t);
    return DX_OK;
}
