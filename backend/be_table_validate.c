/*
 * Request validation for the control plane: CreateTable's parser, the TableName argument of
 * the other table operations, and the two layers of DynamoDB's request validator.
 *
 * DynamoDB answers a bad request in a fixed order, and clients (and the tests written against
 * DynamoDB) see which check fired first, so the order here is DynamoDB's: a member of the
 * wrong JSON type is a SerializationException before anything else; then the request model's
 * constraints (not null, lengths, ranges, patterns, enums) are collected together into one
 * "N validation errors detected: ..." message; only then come the operation's own rules, one
 * at a time, in the order DynamoDB applies them (as observed by dynalite's conformance tests
 * and later captures against DynamoDB).
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <cjson/cJSON.h>
#include "dx_alloc.h"
#include "dx_json.h"
#include "dx_status.h"
#include "be_table_priv.h"

#define PREFIX "One or more parameter values were invalid: "
#define TABLE_NAME_LENGTH_MSG                                                                      \
    "TableName must be at least 3 characters long and at most 255 characters long"

/* ---- the constraint-error collector ---- */

void be__verr_add(struct be_verrs *v, const char *value, const char *path, const char *msg)
{
    /* DynamoDB stops collecting at ten. */
    if (v->n >= 10)
        return;
    if (v->n)
        dx_buf_puts(&v->b, "; ");
    if (value)
        dx_buf_printf(&v->b, "Value '%s' at '%s' failed to satisfy constraint: %s", value, path,
                      msg);
    else
        dx_buf_printf(&v->b, "Value null at '%s' failed to satisfy constraint: %s", path, msg);
    v->n++;
}

int be__verr_finish(struct be_verrs *v, struct dx_error *err)
{
    int rc = DX_OK;
    if (v->n)
        rc = dx_error_set(err, DX_E_VALIDATION, "%d validation error%s detected: %s", v->n,
                          v->n > 1 ? "s" : "", v->b.p);
    dx_buf_deinit(&v->b);
    v->n = 0;
    return rc;
}

void be__jval_str(const cJSON *j, struct dx_buf *out)
{
    if (!j || cJSON_IsNull(j)) {
        dx_buf_puts(out, "null");
    } else if (cJSON_IsString(j)) {
        dx_buf_puts(out, j->valuestring);
    } else if (cJSON_IsNumber(j)) {
        double d = j->valuedouble;
        if (d == (double)(long long)d)
            dx_buf_printf(out, "%lld", (long long)d);
        else
            dx_buf_printf(out, "%g", d);
    } else if (cJSON_IsBool(j)) {
        dx_buf_puts(out, cJSON_IsTrue(j) ? "true" : "false");
    } else if (cJSON_IsArray(j)) {
        const cJSON *e;
        int first = 1;
        dx_buf_putc(out, '[');
        cJSON_ArrayForEach(e, j)
        {
            if (!first)
                dx_buf_puts(out, ", ");
            first = 0;
            be__jval_str(e, out);
        }
        dx_buf_putc(out, ']');
    } else {
        const cJSON *e;
        int first = 1;
        dx_buf_putc(out, '{');
        cJSON_ArrayForEach(e, j)
        {
            if (!first)
                dx_buf_puts(out, ", ");
            first = 0;
            dx_buf_printf(out, "%s=", e->string);
            be__jval_str(e, out);
        }
        dx_buf_putc(out, '}');
    }
}

/* Adds a constraint error whose value is j rendered. */
static void verr_j(struct be_verrs *v, const cJSON *j, const char *path, const char *msg)
{
    if (!j) {
        be__verr_add(v, NULL, path, msg);
        return;
    }
    struct dx_buf b = DX_BUF_INIT;
    be__jval_str(j, &b);
    be__verr_add(v, b.p ? b.p : "", path, msg);
    dx_buf_deinit(&b);
}

/* ---- JSON types (SerializationException) ---- */

int be__jtype(const cJSON *j, enum dx_jtype want, struct dx_error *err)
{
    return dx_json_check(j, want, err);
}

/* Type-checks member `name` of obj. */
static int mtype(const cJSON *obj, const char *name, enum dx_jtype want, struct dx_error *err)
{
    return be__jtype(dx_json_get(obj, name), want, err);
}

/* Type-checks a list and each element. */
static int ltype(const cJSON *obj, const char *name, enum dx_jtype elem, struct dx_error *err)
{
    const cJSON *l = dx_json_get(obj, name), *e;
    int rc = be__jtype(l, DX_JT_LIST, err);
    if (rc || !l)
        return rc;
    cJSON_ArrayForEach(e, l)
    {
        if ((rc = be__jtype(e, elem, err)) != DX_OK)
            return rc;
    }
    return DX_OK;
}

static int pt_types(const cJSON *pt, struct dx_error *err)
{
    int rc;
    if ((rc = be__jtype(pt, DX_JT_STRUCT, err)) || !pt)
        return rc;
    if ((rc = mtype(pt, "ReadCapacityUnits", DX_JT_LONG, err)))
        return rc;
    return mtype(pt, "WriteCapacityUnits", DX_JT_LONG, err);
}

static int ks_types(const cJSON *obj, struct dx_error *err)
{
    int rc;
    if ((rc = ltype(obj, "KeySchema", DX_JT_STRUCT, err)))
        return rc;
    const cJSON *ks = dx_json_get(obj, "KeySchema"), *e;
    if (!ks)
        return DX_OK;
    cJSON_ArrayForEach(e, ks)
    {
        if ((rc = mtype(e, "AttributeName", DX_JT_STRING, err)) ||
            (rc = mtype(e, "KeyType", DX_JT_STRING, err)))
            return rc;
    }
    return DX_OK;
}

static int index_types(const cJSON *req, const char *name, int global, struct dx_error *err)
{
    int rc;
    if ((rc = ltype(req, name, DX_JT_STRUCT, err)))
        return rc;
    const cJSON *l = dx_json_get(req, name), *e;
    if (!l)
        return DX_OK;
    cJSON_ArrayForEach(e, l)
    {
        if ((rc = mtype(e, "IndexName", DX_JT_STRING, err)) || (rc = ks_types(e, err)) ||
            (rc = mtype(e, "Projection", DX_JT_STRUCT, err)))
            return rc;
        const cJSON *p = dx_json_get(e, "Projection");
        if (p && ((rc = mtype(p, "ProjectionType", DX_JT_STRING, err)) ||
                  (rc = ltype(p, "NonKeyAttributes", DX_JT_STRING, err))))
            return rc;
        if (global && (rc = pt_types(dx_json_get(e, "ProvisionedThroughput"), err)))
            return rc;
    }
    return DX_OK;
}

static int create_types(const cJSON *req, struct dx_error *err)
{
    int rc;
    const cJSON *e;
    if ((rc = mtype(req, "TableName", DX_JT_STRING, err)) ||
        (rc = ltype(req, "AttributeDefinitions", DX_JT_STRUCT, err)))
        return rc;
    const cJSON *ad = dx_json_get(req, "AttributeDefinitions");
    if (ad) {
        cJSON_ArrayForEach(e, ad)
        {
            if ((rc = mtype(e, "AttributeName", DX_JT_STRING, err)) ||
                (rc = mtype(e, "AttributeType", DX_JT_STRING, err)))
                return rc;
        }
    }
    if ((rc = ks_types(req, err)) || (rc = index_types(req, "LocalSecondaryIndexes", 0, err)) ||
        (rc = index_types(req, "GlobalSecondaryIndexes", 1, err)) ||
        (rc = mtype(req, "BillingMode", DX_JT_STRING, err)) ||
        (rc = pt_types(dx_json_get(req, "ProvisionedThroughput"), err)) ||
        (rc = mtype(req, "StreamSpecification", DX_JT_STRUCT, err)) ||
        (rc = mtype(req, "SSESpecification", DX_JT_STRUCT, err)) ||
        (rc = ltype(req, "Tags", DX_JT_STRUCT, err)) ||
        (rc = mtype(req, "TableClass", DX_JT_STRING, err)) ||
        (rc = mtype(req, "DeletionProtectionEnabled", DX_JT_BOOL, err)) ||
        (rc = mtype(req, "OnDemandThroughput", DX_JT_STRUCT, err)) ||
        (rc = mtype(req, "ResourcePolicy", DX_JT_STRING, err)))
        return rc;
    const cJSON *odt = dx_json_get(req, "OnDemandThroughput");
    if (odt && ((rc = mtype(odt, "MaxReadRequestUnits", DX_JT_LONG, err)) ||
                (rc = mtype(odt, "MaxWriteRequestUnits", DX_JT_LONG, err))))
        return rc;
    const cJSON *ss = dx_json_get(req, "StreamSpecification");
    if (ss && ((rc = mtype(ss, "StreamEnabled", DX_JT_BOOL, err)) ||
               (rc = mtype(ss, "StreamViewType", DX_JT_STRING, err))))
        return rc;
    const cJSON *sse = dx_json_get(req, "SSESpecification");
    if (sse && ((rc = mtype(sse, "Enabled", DX_JT_BOOL, err)) ||
                (rc = mtype(sse, "SSEType", DX_JT_STRING, err)) ||
                (rc = mtype(sse, "KMSMasterKeyId", DX_JT_STRING, err))))
        return rc;
    const cJSON *tags = dx_json_get(req, "Tags");
    if (tags) {
        cJSON_ArrayForEach(e, tags)
        {
            if ((rc = mtype(e, "Key", DX_JT_STRING, err)) ||
                (rc = mtype(e, "Value", DX_JT_STRING, err)))
                return rc;
        }
    }
    return DX_OK;
}

/* ---- the request model's constraints ---- */

static int name_chars_ok(const char *s)
{
    if (!*s)
        return 0;
    for (; *s; s++) {
        char c = *s;
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '.' || c == '-'))
            return 0;
    }
    return 1;
}

static const char *sval(const cJSON *obj, const char *name)
{
    const cJSON *j = dx_json_get(obj, name);
    return cJSON_IsString(j) ? j->valuestring : NULL;
}

/* A table or index name: pattern, then length 3..255. */
static void check_name(struct be_verrs *v, const char *s, const char *path)
{
    if (!name_chars_ok(s))
        be__verr_add(v, s, path, "Member must satisfy regular expression pattern: [a-zA-Z0-9_.-]+");
    if (strlen(s) < 3)
        be__verr_add(v, s, path, "Member must have length greater than or equal to 3");
    if (strlen(s) > 255)
        be__verr_add(v, s, path, "Member must have length less than or equal to 255");
}

static void check_enum(struct be_verrs *v, const char *s, const char *path,
                       const char *const *allowed, const char *set)
{
    for (; *allowed; allowed++)
        if (!strcmp(s, *allowed))
            return;
    char msg[160];
    snprintf(msg, sizeof msg, "Member must satisfy enum value set: [%s]", set);
    be__verr_add(v, s, path, msg);
}

static const char *const key_types[] = {"HASH", "RANGE", NULL};
static const char *const attr_types[] = {"B", "N", "S", NULL};
static const char *const proj_types[] = {"ALL", "INCLUDE", "KEYS_ONLY", NULL};
static const char *const billing_modes[] = {"PROVISIONED", "PAY_PER_REQUEST", NULL};
static const char *const view_types[] = {"NEW_IMAGE", "OLD_IMAGE", "NEW_AND_OLD_IMAGES",
                                         "KEYS_ONLY", NULL};
static const char *const sse_types[] = {"AES256", "KMS", NULL};

static void check_attr_name(struct be_verrs *v, const char *s, const char *path)
{
    size_t n = strlen(s);
    if (n < 1)
        be__verr_add(v, s, path, "Member must have length greater than or equal to 1");
    if (n > 255)
        be__verr_add(v, s, path, "Member must have length less than or equal to 255");
}

static void check_keyschema(struct be_verrs *v, const cJSON *ks, const char *path)
{
    char p[160];
    if (!ks) {
        be__verr_add(v, NULL, path, "Member must not be null");
        return;
    }
    int n = cJSON_GetArraySize(ks), i = 0;
    if (n < 1)
        verr_j(v, ks, path, "Member must have length greater than or equal to 1");
    if (n > 2)
        verr_j(v, ks, path, "Member must have length less than or equal to 2");
    const cJSON *e;
    cJSON_ArrayForEach(e, ks)
    {
        i++;
        const char *an = sval(e, "AttributeName"), *kt = sval(e, "KeyType");
        snprintf(p, sizeof p, "%s.%d.member.attributeName", path, i);
        if (!an)
            be__verr_add(v, NULL, p, "Member must not be null");
        else
            check_attr_name(v, an, p);
        snprintf(p, sizeof p, "%s.%d.member.keyType", path, i);
        if (!kt)
            be__verr_add(v, NULL, p, "Member must not be null");
        else
            check_enum(v, kt, p, key_types, "HASH, RANGE");
    }
}

static void check_pt(struct be_verrs *v, const cJSON *pt, const char *path)
{
    static const char *const members[] = {"WriteCapacityUnits", "ReadCapacityUnits"};
    static const char *const lower[] = {"writeCapacityUnits", "readCapacityUnits"};
    char p[192]; /* path (a char[160] of the caller) + ".readCapacityUnits" */
    for (int i = 0; i < 2; i++) {
        const cJSON *u = dx_json_get(pt, members[i]);
        snprintf(p, sizeof p, "%s.%s", path, lower[i]);
        if (!u)
            be__verr_add(v, NULL, p, "Member must not be null");
        else if (u->valuedouble < 1)
            verr_j(v, u, p, "Member must have value greater than or equal to 1");
    }
}

static void check_projection(struct be_verrs *v, const cJSON *pr, const char *path)
{
    char p[160];
    if (!pr) {
        be__verr_add(v, NULL, path, "Member must not be null");
        return;
    }
    const char *pt = sval(pr, "ProjectionType");
    snprintf(p, sizeof p, "%s.projectionType", path);
    if (pt)
        check_enum(v, pt, p, proj_types, "ALL, INCLUDE, KEYS_ONLY");
    const cJSON *nk = dx_json_get(pr, "NonKeyAttributes");
    snprintf(p, sizeof p, "%s.nonKeyAttributes", path);
    if (nk && cJSON_GetArraySize(nk) < 1)
        verr_j(v, nk, p, "Member must have length greater than or equal to 1");
    if (nk && cJSON_GetArraySize(nk) > 20)
        verr_j(v, nk, p, "Member must have length less than or equal to 20");
    int i = 0;
    const cJSON *e;
    cJSON_ArrayForEach(e, nk)
    {
        i++;
        snprintf(p, sizeof p, "%s.nonKeyAttributes.%d.member", path, i);
        if (!cJSON_IsString(e))
            be__verr_add(v, NULL, p, "Member must not be null");
        else if (!*e->valuestring)
            be__verr_add(v, e->valuestring, p,
                         "Member must have length greater than or equal to 1");
    }
}

static void check_indexes(struct be_verrs *v, const cJSON *l, const char *path, int global)
{
    char p[160], base[96];
    int i = 0;
    const cJSON *e;
    cJSON_ArrayForEach(e, l)
    {
        i++;
        snprintf(base, sizeof base, "%s.%d.member", path, i);
        const char *name = sval(e, "IndexName");
        snprintf(p, sizeof p, "%s.indexName", base);
        if (!name)
            be__verr_add(v, NULL, p, "Member must not be null");
        else
            check_name(v, name, p);
        snprintf(p, sizeof p, "%s.keySchema", base);
        check_keyschema(v, dx_json_get(e, "KeySchema"), p);
        snprintf(p, sizeof p, "%s.projection", base);
        check_projection(v, dx_json_get(e, "Projection"), p);
        const cJSON *pt = global ? dx_json_get(e, "ProvisionedThroughput") : NULL;
        if (pt) {
            snprintf(p, sizeof p, "%s.provisionedThroughput", base);
            check_pt(v, pt, p);
        }
    }
}

static void create_constraints(const cJSON *req, struct be_verrs *v)
{
    char p[96];
    const cJSON *ad = dx_json_get(req, "AttributeDefinitions"), *e;
    if (!ad) {
        be__verr_add(v, NULL, "attributeDefinitions", "Member must not be null");
    } else {
        int i = 0;
        cJSON_ArrayForEach(e, ad)
        {
            i++;
            const char *an = sval(e, "AttributeName"), *at = sval(e, "AttributeType");
            snprintf(p, sizeof p, "attributeDefinitions.%d.member.attributeName", i);
            if (!an)
                be__verr_add(v, NULL, p, "Member must not be null");
            else
                check_attr_name(v, an, p);
            snprintf(p, sizeof p, "attributeDefinitions.%d.member.attributeType", i);
            if (!at)
                be__verr_add(v, NULL, p, "Member must not be null");
            else
                check_enum(v, at, p, attr_types, "B, N, S");
        }
    }
    check_name(v, sval(req, "TableName"), "tableName");
    const char *bm = sval(req, "BillingMode");
    if (bm)
        check_enum(v, bm, "billingMode", billing_modes, "PROVISIONED, PAY_PER_REQUEST");
    const cJSON *pt = dx_json_get(req, "ProvisionedThroughput");
    if (pt)
        check_pt(v, pt, "provisionedThroughput");
    check_keyschema(v, dx_json_get(req, "KeySchema"), "keySchema");
    const cJSON *lsi = dx_json_get(req, "LocalSecondaryIndexes");
    if (lsi)
        check_indexes(v, lsi, "localSecondaryIndexes", 0);
    const cJSON *gsi = dx_json_get(req, "GlobalSecondaryIndexes");
    if (gsi)
        check_indexes(v, gsi, "globalSecondaryIndexes", 1);
    const cJSON *ss = dx_json_get(req, "StreamSpecification");
    if (ss) {
        if (!dx_json_get(ss, "StreamEnabled"))
            be__verr_add(v, NULL, "streamSpecification.streamEnabled", "Member must not be null");
        const char *vt = sval(ss, "StreamViewType");
        if (vt)
            check_enum(v, vt, "streamSpecification.streamViewType", view_types,
                       "NEW_IMAGE, OLD_IMAGE, NEW_AND_OLD_IMAGES, KEYS_ONLY");
    }
    const cJSON *sse = dx_json_get(req, "SSESpecification");
    const char *st = sse ? sval(sse, "SSEType") : NULL;
    if (st)
        check_enum(v, st, "sSESpecification.sSEType", sse_types, "AES256, KMS");
    /* Tags are checked by CreateTable's rules (be__tags_check), with DynamoDB's own texts
     * rather than the request model's constraints. */
}

/* ---- TableName of the other table operations ---- */

void be__verr_name(struct be_verrs *v, const char *s, const char *path)
{
    check_name(v, s, path);
}

void be__verr_pt(struct be_verrs *v, const cJSON *pt, const char *path)
{
    check_pt(v, pt, path);
}

void be__verr_keyschema(struct be_verrs *v, const cJSON *ks, const char *path)
{
    check_keyschema(v, ks, path);
}

void be__verr_projection(struct be_verrs *v, const cJSON *pr, const char *path)
{
    check_projection(v, pr, path);
}

int be__table_name_arg(const cJSON *req, struct be_verrs *extra, const char **name,
                       struct dx_error *err)
{
    struct be_verrs local = {DX_BUF_INIT, 0};
    struct be_verrs *v = extra ? extra : &local;
    const cJSON *j = dx_json_get(req, "TableName");
    int rc = be__jtype(j, DX_JT_STRING, err);
    if (rc) {
        /* A type error wins over any constraint error collected so far. */
        dx_buf_deinit(&v->b);
        v->n = 0;
        return rc;
    }
    if (!j) {
        dx_buf_deinit(&v->b);
        v->n = 0;
        return dx_error_set(err, DX_E_VALIDATION,
                            "The parameter 'TableName' is required but was not present in the "
                            "request");
    }
    const char *s = j->valuestring;
    size_t n = strlen(s);
    /* These operations take a table name or a table ARN (up to 1024 characters); the name
     * rules apply to names only, and the length rule comes before everything else. */
    if (strncmp(s, "arn:", 4) != 0) {
        if (n < 3 || n > 255) {
            dx_buf_deinit(&v->b);
            v->n = 0;
            return dx_error_set(err, DX_E_VALIDATION, TABLE_NAME_LENGTH_MSG);
        }
        if (!name_chars_ok(s))
            be__verr_add(v, s, "tableName",
                         "Member must satisfy regular expression pattern: [a-zA-Z0-9_.-]+");
    } else if (n > 1024) {
        be__verr_add(v, s, "tableName", "Member must have length less than or equal to 1024");
    }
    *name = s;
    return extra ? DX_OK : be__verr_finish(v, err);
}

/* ---- CreateTable's own rules ---- */

struct keyset {
    const char *name[2];
    const char *type[2];
    int n;
};

static void keyset_of(const cJSON *ks, struct keyset *k)
{
    const cJSON *e;
    k->n = 0;
    cJSON_ArrayForEach(e, ks)
    {
        if (k->n == 2)
            break;
        k->name[k->n] = sval(e, "AttributeName");
        k->type[k->n] = sval(e, "KeyType");
        k->n++;
    }
}

struct defs {
    const char **name;
    const char **type;
    int n;
};

static int defs_has(const struct defs *d, const char *name)
{
    for (int i = 0; i < d->n; i++)
        if (!strcmp(d->name[i], name))
            return 1;
    return 0;
}

static void names_join(struct dx_buf *b, const char *const *names, int n)
{
    for (int i = 0; i < n; i++) {
        if (i)
            dx_buf_puts(b, ", ");
        dx_buf_puts(b, names[i]);
    }
}

static int undefined_keys_error(const struct keyset *k, const struct defs *d, struct dx_error *err)
{
    struct dx_buf a = DX_BUF_INIT, b = DX_BUF_INIT;
    names_join(&a, k->name, k->n);
    names_join(&b, d->name, d->n);
    int rc = dx_error_set(err, DX_E_VALIDATION,
                          PREFIX "Some index key attributes are not defined in "
                                 "AttributeDefinitions. Keys: [%s], AttributeDefinitions: [%s]",
                          a.p ? a.p : "", b.p ? b.p : "");
    dx_buf_deinit(&a);
    dx_buf_deinit(&b);
    return rc;
}

/* Shared by the table and its indexes: same names, then HASH first, then RANGE second. */
static int keyschema_shape(const struct keyset *k, struct dx_error *err)
{
    if (k->n == 2 && !strcmp(k->name[0], k->name[1]))
        return dx_error_set(err, DX_E_VALIDATION,
                            "Both the Hash Key and the Range Key element in the KeySchema have "
                            "the same name");
    if (strcmp(k->type[0], "HASH") != 0)
        return dx_error_set(err, DX_E_VALIDATION,
                            "Invalid KeySchema: The first KeySchemaElement is not a HASH key type");
    if (k->n == 2 && strcmp(k->type[1], "RANGE") != 0)
        return dx_error_set(err, DX_E_VALIDATION,
                            "Invalid KeySchema: The second KeySchemaElement is not a RANGE key "
                            "type");
    return DX_OK;
}

static int index_keys_defined(const struct keyset *k, const struct defs *d, struct dx_error *err)
{
    for (int i = 0; i < k->n; i++)
        if (!defs_has(d, k->name[i]))
            return undefined_keys_error(k, d, err);
    return DX_OK;
}

static int projection_rules(const cJSON *pr, struct dx_error *err)
{
    const char *pt = sval(pr, "ProjectionType");
    const cJSON *nk = dx_json_get(pr, "NonKeyAttributes");
    if (!pt)
        return dx_error_set(err, DX_E_VALIDATION, PREFIX "Unknown ProjectionType: null");
    if (nk && strcmp(pt, "INCLUDE") != 0)
        return dx_error_set(err, DX_E_VALIDATION,
                            PREFIX "ProjectionType is %s, but NonKeyAttributes is specified", pt);
    if (!nk && !strcmp(pt, "INCLUDE"))
        return dx_error_set(err, DX_E_VALIDATION,
                            PREFIX "ProjectionType is INCLUDE, but NonKeyAttributes is not "
                                   "specified");
    if (nk) {
        const cJSON *a, *b;
        cJSON_ArrayForEach(a, nk)
        {
            for (b = a->next; b; b = b->next)
                if (!strcmp(a->valuestring, b->valuestring))
                    return dx_error_set(err, DX_E_VALIDATION,
                                        PREFIX "Duplicate element in NonKeyAttributes: %s",
                                        a->valuestring);
        }
    }
    return DX_OK;
}

/* Index names seen so far (LSIs and GSIs share one namespace). */
struct seen {
    const char *name[BE_MAX_LSI + BE_MAX_GSI + 64];
    int n;
};

static int seen_add(struct seen *s, const char *name)
{
    for (int i = 0; i < s->n; i++)
        if (!strcmp(s->name[i], name))
            return 1;
    if (s->n < (int)(sizeof s->name / sizeof s->name[0]))
        s->name[s->n++] = name;
    return 0;
}

static int lsi_rules(const cJSON *lsis, const struct keyset *tk, const struct defs *d,
                     struct seen *seen, struct dx_error *err)
{
    int rc;
    if (!cJSON_GetArraySize(lsis))
        return dx_error_set(err, DX_E_VALIDATION, PREFIX "List of LocalSecondaryIndexes is empty");
    if (tk->n != 2)
        return dx_error_set(err, DX_E_VALIDATION,
                            PREFIX "Table KeySchema does not have a range key, which is required "
                                   "when specifying a LocalSecondaryIndex");
    const cJSON *e;
    cJSON_ArrayForEach(e, lsis)
    {
        const char *name = sval(e, "IndexName");
        struct keyset k;
        keyset_of(dx_json_get(e, "KeySchema"), &k);
        if ((rc = index_keys_defined(&k, d, err)) || (rc = keyschema_shape(&k, err)))
            return rc;
        if (k.n != 2)
            return dx_error_set(err, DX_E_VALIDATION,
                                PREFIX "Index KeySchema does not have a range key for index: %s",
                                name);
        if (strcmp(k.name[0], tk->name[0]) != 0)
            return dx_error_set(err, DX_E_VALIDATION,
                                PREFIX "Index KeySchema does not have the same leading hash key as "
                                       "table KeySchema for index: %s. index hash key: %s, table "
                                       "hash key: %s",
                                name, k.name[0], tk->name[0]);
        if ((rc = projection_rules(dx_json_get(e, "Projection"), err)))
            return rc;
        if (seen_add(seen, name))
            return dx_error_set(err, DX_E_VALIDATION, PREFIX "Duplicate index name: %s", name);
    }
    if (cJSON_GetArraySize(lsis) > BE_MAX_LSI)
        return dx_error_set(err, DX_E_VALIDATION,
                            PREFIX "Number of LocalSecondaryIndexes exceeds per-table limit of 5");
    return DX_OK;
}

static int gsi_rules(const cJSON *gsis, const struct defs *d, int ppr, struct seen *seen,
                     struct dx_error *err)
{
    int rc;
    if (!cJSON_GetArraySize(gsis))
        return dx_error_set(err, DX_E_VALIDATION, PREFIX "List of GlobalSecondaryIndexes is empty");
    const cJSON *e;
    cJSON_ArrayForEach(e, gsis)
    {
        const char *name = sval(e, "IndexName");
        struct keyset k;
        keyset_of(dx_json_get(e, "KeySchema"), &k);
        if ((rc = index_keys_defined(&k, d, err)) || (rc = keyschema_shape(&k, err)) ||
            (rc = projection_rules(dx_json_get(e, "Projection"), err)))
            return rc;
        const cJSON *pt = dx_json_get(e, "ProvisionedThroughput");
        if (ppr && pt)
            return dx_error_set(err, DX_E_VALIDATION,
                                PREFIX "ProvisionedThroughput should not be specified for index: "
                                       "%s when BillingMode is PAY_PER_REQUEST",
                                name);
        if (!ppr && !pt)
            return dx_error_set(err, DX_E_VALIDATION,
                                PREFIX "ProvisionedThroughput is not specified for index: %s",
                                name);
        if (pt) {
            double r = dx_json_get(pt, "ReadCapacityUnits")->valuedouble;
            double w = dx_json_get(pt, "WriteCapacityUnits")->valuedouble;
            if (r > (double)BE_MAX_THROUGHPUT)
                return dx_error_set(err, DX_E_VALIDATION,
                                    "Given value %.0f for ReadCapacityUnits is out of bounds for "
                                    "index %s",
                                    r, name);
            if (w > (double)BE_MAX_THROUGHPUT)
                return dx_error_set(err, DX_E_VALIDATION,
                                    "Given value %.0f for WriteCapacityUnits is out of bounds for "
                                    "index %s",
                                    w, name);
        }
        if (seen_add(seen, name))
            return dx_error_set(err, DX_E_VALIDATION, PREFIX "Duplicate index name: %s", name);
    }
    if (cJSON_GetArraySize(gsis) > BE_MAX_GSI)
        return dx_error_set(err, DX_E_VALIDATION,
                            PREFIX "GlobalSecondaryIndex count exceeds the per-table limit of 20");
    return DX_OK;
}

/* Every definition must be used by a key of the table or of an index. */
static int unused_defs_rule(const cJSON *req, const struct defs *d, struct dx_error *err)
{
    const char *used[2 + 2 * (BE_MAX_LSI + BE_MAX_GSI + 64)];
    int nused = 0;
    const char *lists[] = {"LocalSecondaryIndexes", "GlobalSecondaryIndexes"};
    struct keyset k;
    keyset_of(dx_json_get(req, "KeySchema"), &k);
    for (int i = 0; i < k.n; i++)
        used[nused++] = k.name[i];
    for (int l = 0; l < 2; l++) {
        const cJSON *e;
        cJSON_ArrayForEach(e, dx_json_get(req, lists[l]))
        {
            struct keyset ik;
            keyset_of(dx_json_get(e, "KeySchema"), &ik);
            for (int i = 0; i < ik.n; i++) {
                int dup = 0;
                for (int j = 0; j < nused; j++)
                    dup |= !strcmp(used[j], ik.name[i]);
                if (!dup && nused < (int)(sizeof used / sizeof used[0]))
                    used[nused++] = ik.name[i];
            }
        }
    }
    for (int i = 0; i < d->n; i++) {
        int found = 0;
        for (int j = 0; j < nused; j++)
            found |= !strcmp(used[j], d->name[i]);
        if (!found) {
            struct dx_buf a = DX_BUF_INIT, b = DX_BUF_INIT;
            names_join(&a, d->name, d->n);
            names_join(&b, used, nused);
            int rc = dx_error_set(err, DX_E_VALIDATION,
                                  PREFIX "Some AttributeDefinitions are not used. "
                                         "AttributeDefinitions: [%s], keys used: [%s]",
                                  a.p ? a.p : "", b.p ? b.p : "");
            dx_buf_deinit(&a);
            dx_buf_deinit(&b);
            return rc;
        }
    }
    return DX_OK;
}

/* NonKeyAttributes across all indexes, counted by distinct name, are limited to 100. */
static int projected_total_rule(const cJSON *req, struct dx_error *err)
{
    const char *lists[] = {"LocalSecondaryIndexes", "GlobalSecondaryIndexes"};
    int total = 0;
    for (int l = 0; l < 2; l++) {
        const cJSON *e;
        cJSON_ArrayForEach(e, dx_json_get(req, lists[l]))
        {
            const cJSON *nk = dx_json_get(dx_json_get(e, "Projection"), "NonKeyAttributes");
            total += nk ? cJSON_GetArraySize(nk) : 0;
        }
    }
    if (total > BE_MAX_PROJECTED)
        return dx_error_set(err, DX_E_VALIDATION,
                            PREFIX "The number of attributes in key schema and non-key "
                                   "attributes of all indexes must not exceed %d",
                            BE_MAX_PROJECTED);
    return DX_OK;
}

static int create_rules(const cJSON *req, struct dx_error *err)
{
    int rc;
    const char *bm = sval(req, "BillingMode");
    int ppr = bm && !strcmp(bm, "PAY_PER_REQUEST");
    const cJSON *pt = dx_json_get(req, "ProvisionedThroughput");

    const char *tc = sval(req, "TableClass");
    if (tc && strcmp(tc, "STANDARD") != 0 && strcmp(tc, "STANDARD_INFREQUENT_ACCESS") != 0)
        return dx_error_set(err, DX_E_VALIDATION,
                            "Invalid table-class parameter provided. Please try again with a valid "
                            "table-class value: [STANDARD, STANDARD_INFREQUENT_ACCESS].");
    if (ppr && pt)
        return dx_error_set(err, DX_E_VALIDATION,
                            PREFIX "Neither ReadCapacityUnits nor WriteCapacityUnits can be "
                                   "specified when BillingMode is PAY_PER_REQUEST");
    if (!ppr && !pt)
        return dx_error_set(err, DX_E_VALIDATION,
                            PREFIX "ReadCapacityUnits and WriteCapacityUnits must both be "
                                   "specified when BillingMode is PROVISIONED");
    if (pt) {
        double r = dx_json_get(pt, "ReadCapacityUnits")->valuedouble;
        double w = dx_json_get(pt, "WriteCapacityUnits")->valuedouble;
        if (r > (double)BE_MAX_THROUGHPUT)
            return dx_error_set(err, DX_E_VALIDATION,
                                "Given value %.0f for ReadCapacityUnits is out of bounds", r);
        if (w > (double)BE_MAX_THROUGHPUT)
            return dx_error_set(err, DX_E_VALIDATION,
                                "Given value %.0f for WriteCapacityUnits is out of bounds", w);
    }

    const cJSON *ad = dx_json_get(req, "AttributeDefinitions"), *e;
    int nad = cJSON_GetArraySize(ad);
    struct defs d = {dx_calloc((size_t)nad + 1, sizeof(char *)),
                     dx_calloc((size_t)nad + 1, sizeof(char *)), 0};
    cJSON_ArrayForEach(e, ad)
    {
        d.name[d.n] = sval(e, "AttributeName");
        d.type[d.n] = sval(e, "AttributeType");
        d.n++;
    }
    struct keyset k;
    keyset_of(dx_json_get(req, "KeySchema"), &k);

    /* The two-element and one-element forms of "key not defined" differ in DynamoDB. */
    if (k.n == 2) {
        if (!defs_has(&d, k.name[0]) || !defs_has(&d, k.name[1]) ||
            (!strcmp(k.name[0], k.name[1]) && d.n == 1)) {
            rc = dx_error_set(err, DX_E_VALIDATION,
                              "Invalid KeySchema: Some index key attribute have no definition");
            goto out;
        }
    } else if (!defs_has(&d, k.name[0])) {
        rc = undefined_keys_error(&k, &d, err);
        goto out;
    }
    if ((rc = keyschema_shape(&k, err)))
        goto out;
    for (int i = 0; i < d.n; i++)
        for (int j = i + 1; j < d.n; j++)
            if (!strcmp(d.name[i], d.name[j])) {
                rc = dx_error_set(err, DX_E_VALIDATION, "Attribute Name is duplicated: %s",
                                  d.name[i]);
                goto out;
            }
    const cJSON *lsis = dx_json_get(req, "LocalSecondaryIndexes");
    const cJSON *gsis = dx_json_get(req, "GlobalSecondaryIndexes");
    if (!lsis && !gsis && k.n != d.n) {
        rc = dx_error_set(err, DX_E_VALIDATION,
                          PREFIX "Number of attributes in KeySchema does not exactly match number "
                                 "of attributes defined in AttributeDefinitions");
        goto out;
    }
    struct seen seen = {{0}, 0};
    if (lsis && (rc = lsi_rules(lsis, &k, &d, &seen, err)))
        goto out;
    if (gsis && (rc = gsi_rules(gsis, &d, ppr, &seen, err)))
        goto out;
    if ((lsis || gsis) && (rc = unused_defs_rule(req, &d, err)))
        goto out;
    if ((rc = projected_total_rule(req, err)))
        goto out;

    const cJSON *ss = dx_json_get(req, "StreamSpecification");
    if (ss) {
        int enabled = cJSON_IsTrue(dx_json_get(ss, "StreamEnabled"));
        const char *vt = sval(ss, "StreamViewType");
        if (enabled && !vt) {
            rc = dx_error_set(err, DX_E_VALIDATION,
                              PREFIX "Table is being created with a stream enabled, "
                                     "UpdateViewType is required");
            goto out;
        }
        if (!enabled && vt) {
            rc = dx_error_set(err, DX_E_VALIDATION,
                              PREFIX "Table is being created with a stream disabled, "
                                     "UpdateViewType should not be specified");
            goto out;
        }
    }
    const cJSON *sse = dx_json_get(req, "SSESpecification");
    if (sse) {
        int enabled = cJSON_IsTrue(dx_json_get(sse, "Enabled"));
        const char *st = sval(sse, "SSEType");
        if (!enabled && dx_json_get(sse, "Enabled") && st) {
            rc = dx_error_set(err, DX_E_VALIDATION,
                              PREFIX "SSEType can not be specified if Enabled is false");
            goto out;
        }
        if (!enabled && dx_json_get(sse, "Enabled") && sval(sse, "KMSMasterKeyId")) {
            rc = dx_error_set(err, DX_E_VALIDATION,
                              PREFIX "KMSMasterKeyId can not be specified if Enabled is false");
            goto out;
        }
        if (st && !strcmp(st, "AES256")) {
            rc = dx_error_set(err, DX_E_VALIDATION, PREFIX "SSEType AES256 is not supported");
            goto out;
        }
    }
    if ((rc = be__tags_check(dx_json_get(req, "Tags"), err)))
        goto out;
    /* OnDemandThroughput: only for on-demand tables, and at least 1 when given. */
    const cJSON *odt = dx_json_get(req, "OnDemandThroughput");
    static const char *const odt_members[] = {"MaxReadRequestUnits", "MaxWriteRequestUnits"};
    for (int i = 0; odt && !ppr && i < 2; i++)
        if (dx_json_get(odt, odt_members[i])) {
            rc = dx_error_set(err, DX_E_VALIDATION,
                              PREFIX "%s for OnDemandThroughput cannot be specified when table "
                                     "BillingMode is PROVISIONED.",
                              odt_members[i]);
            goto out;
        }
    for (int i = 0; odt && i < 2; i++) {
        const cJSON *m = dx_json_get(odt, odt_members[i]);
        if (m && m->valuedouble < 1) {
            rc = dx_error_set(err, DX_E_VALIDATION,
                              PREFIX "Requested %s for OnDemandThroughput for table is outside of "
                                     "valid range",
                              odt_members[i]);
            goto out;
        }
    }
    rc = DX_OK;
out:
    dx_free(d.name);
    dx_free(d.type);
    return rc;
}

/* ---- building the table ---- */

static enum dx_av_type attr_type(const cJSON *req, const char *name)
{
    const cJSON *e;
    cJSON_ArrayForEach(e, dx_json_get(req, "AttributeDefinitions"))
    {
        if (!strcmp(sval(e, "AttributeName"), name)) {
            const char *t = sval(e, "AttributeType");
            return dx_av_type_from_name(t, strlen(t));
        }
    }
    return DX_AV_S;
}

static void keys_from(const cJSON *req, const cJSON *ks, struct be_keydef *hash,
                      struct be_keydef *range)
{
    struct keyset k = {0};
    keyset_of(ks, &k);
    hash->name = dx_strdup(k.name[0]);
    hash->type = attr_type(req, k.name[0]);
    if (k.n == 2) {
        range->name = dx_strdup(k.name[1]);
        range->type = attr_type(req, k.name[1]);
    }
}

static void indexes_from(const cJSON *req, const cJSON *l, int global, int ppr,
                         struct be_index **out, size_t *n)
{
    int cnt = cJSON_GetArraySize(l);
    *out = cnt ? dx_calloc((size_t)cnt, sizeof **out) : NULL;
    *n = 0;
    const cJSON *e;
    cJSON_ArrayForEach(e, l)
    {
        struct be_index *x = &(*out)[(*n)++];
        x->name = dx_strdup(sval(e, "IndexName"));
        x->global = global;
        keys_from(req, dx_json_get(e, "KeySchema"), &x->hash, &x->range);
        const cJSON *pr = dx_json_get(e, "Projection");
        const char *pt = sval(pr, "ProjectionType");
        x->projection = !strcmp(pt, "KEYS_ONLY") ? BE_PROJ_KEYS_ONLY
                        : !strcmp(pt, "INCLUDE") ? BE_PROJ_INCLUDE
                                                 : BE_PROJ_ALL;
        const cJSON *nk = dx_json_get(pr, "NonKeyAttributes"), *a;
        if (nk && cJSON_GetArraySize(nk)) {
            x->nonkey = dx_calloc((size_t)cJSON_GetArraySize(nk), sizeof(char *));
            cJSON_ArrayForEach(a, nk) x->nonkey[x->n_nonkey++] = dx_strdup(a->valuestring);
        }
        const cJSON *ipt = global && !ppr ? dx_json_get(e, "ProvisionedThroughput") : NULL;
        if (ipt) {
            x->rcu = (int64_t)dx_json_get(ipt, "ReadCapacityUnits")->valuedouble;
            x->wcu = (int64_t)dx_json_get(ipt, "WriteCapacityUnits")->valuedouble;
        }
        x->status = dx_strdup("ACTIVE");
    }
}

/* The stream label DynamoDB uses: the enabling time in ISO 8601 with milliseconds. */
void be__stream_label(double now, char *buf, size_t n)
{
    time_t s = (time_t)now;
    struct tm tm;
    gmtime_r(&s, &tm);
    int ms = (int)((now - (double)s) * 1000);
    snprintf(buf, n, "%04d-%02d-%02dT%02d:%02d:%02d.%03d", tm.tm_year + 1900, tm.tm_mon + 1,
             tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ms);
}

static void extras_from(const cJSON *req, struct be_table *t, const char *region,
                        const char *account, double now)
{
    cJSON *x = cJSON_CreateObject();
    const cJSON *ss = dx_json_get(req, "StreamSpecification");
    if (ss && cJSON_IsTrue(dx_json_get(ss, "StreamEnabled"))) {
        cJSON *o = cJSON_AddObjectToObject(x, "StreamSpecification");
        cJSON_AddBoolToObject(o, "StreamEnabled", 1);
        cJSON_AddStringToObject(o, "StreamViewType", sval(ss, "StreamViewType"));
        char label[40];
        be__stream_label(now, label, sizeof label);
        cJSON_AddStringToObject(x, "LatestStreamLabel", label);
    }
    const cJSON *sse = dx_json_get(req, "SSESpecification");
    if (sse && cJSON_IsTrue(dx_json_get(sse, "Enabled"))) {
        cJSON *o = cJSON_AddObjectToObject(x, "SSEDescription");
        cJSON_AddStringToObject(o, "Status", "ENABLED");
        cJSON_AddStringToObject(o, "SSEType", "KMS");
        const char *key = sval(sse, "KMSMasterKeyId");
        char arn[256];
        if (key && !strncmp(key, "arn:", 4)) {
            snprintf(arn, sizeof arn, "%s", key);
        } else if (key) {
            snprintf(arn, sizeof arn, "arn:aws:kms:%s:%s:key/%s", region, account, key);
        } else {
            char u[37];
            be__uuid4(u);
            snprintf(arn, sizeof arn, "arn:aws:kms:%s:%s:key/%s", region, account, u);
        }
        cJSON_AddStringToObject(o, "KMSMasterKeyArn", arn);
    }
    const cJSON *tags = dx_json_get(req, "Tags");
    if (tags && cJSON_GetArraySize(tags)) {
        cJSON *a = cJSON_AddArrayToObject(x, "Tags");
        const cJSON *e;
        cJSON_ArrayForEach(e, tags)
        {
            cJSON *o = cJSON_CreateObject();
            cJSON_AddStringToObject(o, "Key", sval(e, "Key"));
            cJSON_AddStringToObject(o, "Value", sval(e, "Value"));
            cJSON_AddItemToArray(a, o);
        }
    }
    if (t->billing == BE_BILLING_PAY_PER_REQUEST) {
        cJSON_AddNumberToObject(x, "LastUpdateToPayPerRequestDateTime", now);
        const cJSON *odt = dx_json_get(req, "OnDemandThroughput");
        if (cJSON_IsObject(odt) && cJSON_GetArraySize(odt))
            cJSON_AddItemToObject(x, "OnDemandThroughput", cJSON_Duplicate(odt, 1));
    }
    /* Kept for GetResourcePolicy. */
    const cJSON *policy = dx_json_get(req, "ResourcePolicy");
    if (cJSON_IsString(policy))
        cJSON_AddStringToObject(x, "ResourcePolicy", policy->valuestring);
    if (cJSON_GetArraySize(x))
        t->extra = x;
    else
        cJSON_Delete(x);
}

int be__table_from_create(const cJSON *req, const char *region, const char *account, double now,
                          struct be_table **out, struct dx_error *err)
{
    int rc;
    *out = NULL;
    if ((rc = create_types(req, err)))
        return rc;
    if (!dx_json_get(req, "TableName"))
        return dx_error_set(err, DX_E_VALIDATION,
                            "The parameter 'TableName' is required but was not present in the "
                            "request");
    size_t namelen = strlen(sval(req, "TableName"));
    if (namelen < 3 || namelen > 255)
        return dx_error_set(err, DX_E_VALIDATION, TABLE_NAME_LENGTH_MSG);
    struct be_verrs v = {DX_BUF_INIT, 0};
    create_constraints(req, &v);
    if ((rc = be__verr_finish(&v, err)))
        return rc;
    if ((rc = create_rules(req, err)))
        return rc;

    struct be_table *t = be_table_new();
    const char *name = sval(req, "TableName");
    t->name = dx_strdup(name);
    size_t n = strlen(region) + strlen(account) + strlen(name) + 32;
    t->arn = dx_malloc(n);
    snprintf(t->arn, n, "arn:aws:dynamodb:%s:%s:table/%s", region, account, name);
    t->table_id = dx_malloc(37);
    be__uuid4(t->table_id);
    t->created = now;
    t->status = dx_strdup("ACTIVE");
    keys_from(req, dx_json_get(req, "KeySchema"), &t->hash, &t->range);
    const cJSON *ad = dx_json_get(req, "AttributeDefinitions"), *e;
    t->attrdefs = dx_calloc((size_t)cJSON_GetArraySize(ad) + 1, sizeof *t->attrdefs);
    cJSON_ArrayForEach(e, ad)
    {
        struct be_keydef *k = &t->attrdefs[t->n_attrdefs++];
        const char *ty = sval(e, "AttributeType");
        k->name = dx_strdup(sval(e, "AttributeName"));
        k->type = dx_av_type_from_name(ty, strlen(ty));
    }
    const char *bm = sval(req, "BillingMode");
    int ppr = bm && !strcmp(bm, "PAY_PER_REQUEST");
    t->billing = ppr ? BE_BILLING_PAY_PER_REQUEST : BE_BILLING_PROVISIONED;
    const cJSON *pt = dx_json_get(req, "ProvisionedThroughput");
    if (pt && !ppr) {
        t->rcu = (int64_t)dx_json_get(pt, "ReadCapacityUnits")->valuedouble;
        t->wcu = (int64_t)dx_json_get(pt, "WriteCapacityUnits")->valuedouble;
    }
    indexes_from(req, dx_json_get(req, "LocalSecondaryIndexes"), 0, ppr, &t->lsi, &t->n_lsi);
    indexes_from(req, dx_json_get(req, "GlobalSecondaryIndexes"), 1, ppr, &t->gsi, &t->n_gsi);
    const cJSON *dp = dx_json_get(req, "DeletionProtectionEnabled");
    t->deletion_protection = cJSON_IsTrue(dp);
    const char *tc = sval(req, "TableClass");
    if (tc)
        t->table_class = dx_strdup(tc);
    extras_from(req, t, region, account, now);
    *out = t;
    return DX_OK;
}
