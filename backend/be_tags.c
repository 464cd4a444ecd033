/*
 * Tags: TagResource, UntagResource and ListTagsOfResource, and the tag rules CreateTable
 * shares (be__tags_check).
 *
 * A table's tags live in its catalog definition (the "Tags" member of the definition's extra
 * settings, an array of {Key, Value} in the order they were first set), so they persist with
 * the table, survive a restart and go away with it. Changes go through the writer like every
 * other catalog change: apply re-reads the stored definition, merges, stores; after_commit
 * publishes. The rest of the extra settings (TTL, streams, ...) is carried over untouched.
 *
 * Validation follows what DynamoDB answers today, which is not the request model's generic
 * constraint messages: each bad tag gets "The Tag Key provided is invalid, Key: ..." (or
 * Value), the 50-tag limit is a ValidationException counted after the merge, and the resource
 * is named by a table ARN whose every shape error has its own text.
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <cjson/cJSON.h>
#include "dx_alloc.h"
#include "dx_arena.h"
#include "dx_json.h"
#include "dx_status.h"
#include "be_engine.h"
#include "be_table_priv.h"

#define MAX_TAGS      50
#define MAX_KEY_LEN   128
#define MAX_VALUE_LEN 256
#define PREFIX        "One or more parameter values were invalid: "

/* ---- tag keys and values ---- */

/* The next code point of the UTF-8 string at *p (advanced), or -1 for a malformed sequence. */
static long utf8_next(const unsigned char **p)
{
    const unsigned char *s = *p;
    long cp;
    int n;
    if (s[0] < 0x80) {
        *p = s + 1;
        return s[0];
    }
    if ((s[0] & 0xe0) == 0xc0) {
        cp = s[0] & 0x1f;
        n = 1;
    } else if ((s[0] & 0xf0) == 0xe0) {
        cp = s[0] & 0x0f;
        n = 2;
    } else if ((s[0] & 0xf8) == 0xf0) {
        cp = s[0] & 0x07;
        n = 3;
    } else {
        return -1;
    }
    for (int i = 1; i <= n; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return -1;
        cp = cp << 6 | (s[i] & 0x3f);
    }
    *p = s + n + 1;
    return cp;
}

/* Whether a code point is in the AWS tag alphabet: Unicode letters, digits and spaces, and
 * _ . : / = + - @. Beyond ASCII, the punctuation and symbol blocks are refused and every
 * other code point is taken as a letter of some script (DynamoDB accepts Cyrillic, CJK,
 * accented Latin, NBSP and the ideographic space, and refuses emoji). */
static int tag_char_ok(long c)
{
    if (c < 0x80)
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
               c == ' ' || (c && strchr("_.:/=+-@", (int)c) != NULL);
    if (c < 0xa0)
        return 0; /* C1 controls */
    if (c <= 0xbf)
        return c == 0xa0 || c == 0xaa || c == 0xb2 || c == 0xb3 || c == 0xb5 || c == 0xb9 ||
               c == 0xba || (c >= 0xbc && c <= 0xbe);
    if (c == 0xd7 || c == 0xf7)
        return 0; /* multiplication and division signs */
    if ((c >= 0x2010 && c <= 0x2027) || (c >= 0x2030 && c <= 0x205e) ||
        (c >= 0x20a0 && c <= 0x20cf) ||
        (c >= 0x2100 && c <= 0x214f && c != 0x2102 && c != 0x2107 &&
         !(c >= 0x210a && c <= 0x2113)) ||
        (c >= 0x2190 && c <= 0x2bff) || (c >= 0x3001 && c <= 0x3003) ||
        (c >= 0x3008 && c <= 0x3020) || (c >= 0xe000 && c <= 0xf8ff) ||
        (c >= 0xfe00 && c <= 0xfe0f) || (c >= 0xfff0 && c <= 0xffff) ||
        (c >= 0x1f000 && c <= 0x1faff) || c > 0x10ffff)
        return 0;
    return 1;
}

/* Whether s is a valid tag key (1..128 characters) or value (0..256). */
static int tag_str_ok(const char *s, size_t min, size_t max)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t n = 0;
    while (*p) {
        long c = utf8_next(&p);
        if (c < 0 || !tag_char_ok(c))
            return 0;
        n++;
    }
    return n >= min && n <= max;
}

static const char *jstr(const cJSON *o, const char *k)
{
    const cJSON *j = dx_json_get(o, k);
    return cJSON_IsString(j) ? j->valuestring : NULL;
}

/* The checks every tag key goes through (TagResource's, UntagResource's, CreateTable's). */
static int key_check(const char *key, struct dx_error *err)
{
    if (!key || !tag_str_ok(key, 1, MAX_KEY_LEN))
        return dx_error_set(err, DX_E_VALIDATION, "The Tag Key provided is invalid, Key: %s",
                            key ? key : "null");
    if (!strncasecmp(key, "aws:", 4))
        return dx_error_set(err, DX_E_VALIDATION, "Tag Key cannot be prefixed with aws:, Key: %s",
                            key);
    return DX_OK;
}

int be__tags_check(const cJSON *tags, struct dx_error *err)
{
    const cJSON *e;
    int rc;
    cJSON_ArrayForEach(e, tags)
    {
        if ((rc = key_check(jstr(e, "Key"), err)))
            return rc;
        const char *v = jstr(e, "Value");
        if (!v || !tag_str_ok(v, 0, MAX_VALUE_LEN))
            return dx_error_set(err, DX_E_VALIDATION,
                                "The Tag Value provided is invalid, Value: %s", v ? v : "null");
    }
    cJSON_ArrayForEach(e, tags)
    {
        const char *k = jstr(e, "Key");
        for (const cJSON *f = e->next; f; f = f->next)
            if (!strcmp(k, jstr(f, "Key")))
                return dx_error_set(err, DX_E_VALIDATION,
                                    "Duplicate Tag Keys provided as input: Duplicate Tag Key "
                                    "found %s",
                                    k);
    }
    if (cJSON_GetArraySize(tags) > MAX_TAGS)
        return dx_error_set(err, DX_E_VALIDATION,
                            "Number of Tags exceed the current limit for the provided ResourceArn");
    return DX_OK;
}

/* ---- the resource ---- */

static int name_ok(const char *s, size_t n)
{
    if (n < 3 || n > 255)
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '.' || c == '-'))
            return 0;
    }
    return 1;
}

/* ResourceArn, which must name a table of this region (a stream of the table names it too).
 * DX_OK with *table_arn, the table's own ARN (in r's arena), or DX_EREQ. */
static int resource_arn(struct be_req *r, const char *arn, const char **table_arn)
{
    struct dx_error *err = &r->err;
    /* arn:partition:service:region:account:resource (the arn: prefix was checked before) */
    const char *f[6];
    size_t len[6];
    const char *p = arn;
    for (int i = 0; i < 6; i++) {
        const char *c = i < 5 ? strchr(p, ':') : p + strlen(p);
        if (!c)
            return dx_error_set(err, DX_E_VALIDATION,
                                "Invalid TableArn: Invalid ResourceArn provided as input %s", arn);
        f[i] = p;
        len[i] = (size_t)(c - p);
        p = c + 1;
    }
    if (len[2] != 8 || strncmp(f[2], "dynamodb", 8) != 0)
        return dx_error_set(err, DX_E_VALIDATION,
                            PREFIX "Provided Arn is not a DynamoDB resource arn: %s", arn);
    const char *region = r->be->region;
    int account_ok = len[4] > 0;
    for (size_t i = 0; i < len[4]; i++)
        account_ok &= f[4][i] >= '0' && f[4][i] <= '9';
    if (len[1] != 3 || strncmp(f[1], "aws", 3) != 0 || len[3] != strlen(region) ||
        strncmp(f[3], region, len[3]) != 0 || !account_ok || strncmp(f[5], "table/", 6) != 0)
        return dx_error_set(err, DX_E_VALIDATION,
                            "Invalid TableArn: Invalid ResourceArn provided as input %s", arn);
    const char *name = f[5] + 6, *slash = strchr(name, '/');
    size_t nlen = slash ? (size_t)(slash - name) : strlen(name);
    if (!name_ok(name, nlen))
        return dx_error_set(err, DX_E_VALIDATION,
                            "Invalid TableArn: Invalid ResourceArn provided as input %s", arn);
    if (slash) {
        if (!strncmp(slash, "/index/", 7))
            return dx_error_set(err, DX_E_VALIDATION,
                                PREFIX "Invalid resource arn provided, only table or stream is "
                                       "accepted. Provided resource arn: %s",
                                arn);
        if (!strncmp(slash, "/backup/", 8))
            return dx_error_set(err, DX_E_VALIDATION,
                                PREFIX "Provided Arn is not a DynamoDB resource arn: %s", arn);
        if (strncmp(slash, "/stream/", 8) != 0 || !slash[8])
            return dx_error_set(err, DX_E_VALIDATION,
                                "Invalid TableArn: Invalid ResourceArn provided as input %s", arn);
    }
    *table_arn = dx_arena_strndup(&r->arena, arn, (size_t)(name + nlen - arn));
    return DX_OK;
}

static int arn_not_found(struct be_req *r, const char *arn)
{
    return dx_error_set(&r->err, DX_E_RESOURCE_NOT_FOUND,
                        "Requested resource not found: ResourceArn: %s not found", arn);
}

/* A table that is being created or deleted has no tags to speak of yet (or any more). */
static int taggable(const struct be_table *t)
{
    return t && !be_table_in_transition(t);
}

/* ResourceArn of any of the three operations: present, a string, an ARN. */
static int arn_param(struct be_req *r, const char **arn)
{
    const cJSON *j = dx_json_get(r->json, "ResourceArn");
    int rc = be__jtype(j, DX_JT_STRING, &r->err);
    if (rc)
        return rc;
    if (!j)
        return dx_error_set(&r->err, DX_E_VALIDATION, "Invalid TableArn");
    /* Before the other members are looked at, as DynamoDB does (it used to answer this case
     * with AccessDeniedException). */
    if (strncmp(j->valuestring, "arn:", 4) != 0)
        return dx_error_set(&r->err, DX_E_VALIDATION, PREFIX "ARNs must start with 'arn:': %s",
                            j->valuestring);
    *arn = j->valuestring;
    return DX_OK;
}

/* "1 validation error detected: Value null at '<member>' ..." for a missing list. */
static int null_list(struct be_req *r, const char *member)
{
    return dx_error_set(&r->err, DX_E_VALIDATION,
                        "1 validation error detected: Value null at '%s' failed to satisfy "
                        "constraint: Member must not be null",
                        member);
}

/* ---- TagResource / UntagResource ---- */

struct tag_state {
    const char *arn;       /* as given (in the request) */
    const char *table_arn; /* the table's own ARN (in the arena) */
    const cJSON *tags;     /* TagResource: the tags to set */
    const cJSON *keys;     /* UntagResource: the keys to remove */
    struct be_table *t;    /* apply's result: the definition to publish */
};

static cJSON *tags_of(struct be_table *t)
{
    if (!t->extra)
        t->extra = cJSON_CreateObject();
    cJSON *a = cJSON_GetObjectItemCaseSensitive(t->extra, "Tags");
    if (!cJSON_IsArray(a)) {
        cJSON_DeleteItemFromObjectCaseSensitive(t->extra, "Tags");
        a = cJSON_AddArrayToObject(t->extra, "Tags");
    }
    return a;
}

static cJSON *find_tag(cJSON *a, const char *key)
{
    cJSON *e;
    cJSON_ArrayForEach(e, a)
    {
        const char *k = jstr(e, "Key");
        if (k && !strcmp(k, key))
            return e;
    }
    return NULL;
}

static int tag_apply(struct be_req *r, MDB_txn *txn)
{
    struct tag_state *st = r->state;
    struct be_catalog *c = r->be->catalog;
    struct be_table *p = be_catalog_get(c, st->table_arn), *t;
    if (!p)
        return arn_not_found(r, st->arn);
    /* The latest stored definition of the name, which must still be the same table. */
    uint32_t id = p->id;
    int rc = be__catalog_load(c, txn, p->name, &t);
    be_table_unref(p);
    if (rc == DX_ENOTFOUND || (rc == DX_OK && (t->id != id || !taggable(t)))) {
        if (t)
            be_table_unref(t);
        return arn_not_found(r, st->arn);
    }
    if (rc)
        return rc;
    cJSON *a = tags_of(t);
    const cJSON *e;
    cJSON_ArrayForEach(e, st->tags)
    {
        cJSON *old = find_tag(a, jstr(e, "Key"));
        if (old) {
            cJSON_ReplaceItemInObjectCaseSensitive(old, "Value",
                                                   cJSON_CreateString(jstr(e, "Value")));
            continue;
        }
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "Key", jstr(e, "Key"));
        cJSON_AddStringToObject(o, "Value", jstr(e, "Value"));
        cJSON_AddItemToArray(a, o);
    }
    cJSON_ArrayForEach(e, st->keys)
    {
        cJSON *old = find_tag(a, e->valuestring);
        if (old)
            cJSON_Delete(cJSON_DetachItemViaPointer(a, old));
    }
    if (cJSON_GetArraySize(a) > MAX_TAGS) {
        be_table_unref(t);
        return dx_error_set(&r->err, DX_E_VALIDATION,
                            "Number of Tags exceed the current limit for the provided ResourceArn");
    }
    if (!cJSON_GetArraySize(a))
        cJSON_DeleteItemFromObjectCaseSensitive(t->extra, "Tags");
    if (!cJSON_GetArraySize(t->extra)) {
        cJSON_Delete(t->extra);
        t->extra = NULL;
    }
    if ((rc = be_catalog_store(c, txn, t))) {
        be_table_unref(t);
        return rc;
    }
    be_table_unref(st->t);
    st->t = t;
    dx_buf_reset(&r->out); /* no output members: the engine answers {} */
    return DX_OK;
}

static void tag_done(struct be_req *r, int status)
{
    struct tag_state *st = r->state;
    if (status == DX_OK && st->t)
        be_catalog_publish(r->be->catalog, st->t);
    be_table_unref(st->t);
    st->t = NULL;
}

/* The checks that need the published table, then the writer. */
static int tag_submit(struct be_req *r, struct tag_state *st)
{
    struct be_table *t = be_catalog_get(r->be->catalog, st->table_arn);
    int ok = taggable(t);
    if (t)
        be_table_unref(t);
    if (!ok)
        return arn_not_found(r, st->arn);
    r->state = st;
    r->apply = tag_apply;
    r->after_commit = tag_done;
    return be_req_submit(r);
}

int be_op_TagResource(struct be_req *r)
{
    struct tag_state *st = dx_arena_calloc(&r->arena, sizeof *st);
    const cJSON *tags = dx_json_get(r->json, "Tags"), *e;
    int rc;
    if ((rc = be__jtype(dx_json_get(r->json, "ResourceArn"), DX_JT_STRING, &r->err)) ||
        (rc = be__jtype(tags, DX_JT_LIST, &r->err)))
        return rc;
    cJSON_ArrayForEach(e, tags)
    {
        if ((rc = be__jtype(e, DX_JT_STRUCT, &r->err)) ||
            (rc = be__jtype(dx_json_get(e, "Key"), DX_JT_STRING, &r->err)) ||
            (rc = be__jtype(dx_json_get(e, "Value"), DX_JT_STRING, &r->err)))
            return rc;
    }
    if ((rc = arn_param(r, &st->arn)))
        return rc;
    if (!tags)
        return null_list(r, "tags");
    if ((rc = resource_arn(r, st->arn, &st->table_arn)))
        return rc;
    if (!cJSON_GetArraySize(tags))
        return dx_error_set(&r->err, DX_E_VALIDATION,
                            "Atleast one Tag needs to be provided as Input.");
    if ((rc = be__tags_check(tags, &r->err)))
        return rc;
    st->tags = tags;
    return tag_submit(r, st);
}

int be_op_UntagResource(struct be_req *r)
{
    struct tag_state *st = dx_arena_calloc(&r->arena, sizeof *st);
    const cJSON *keys = dx_json_get(r->json, "TagKeys"), *e;
    int rc;
    if ((rc = be__jtype(dx_json_get(r->json, "ResourceArn"), DX_JT_STRING, &r->err)) ||
        (rc = be__jtype(keys, DX_JT_LIST, &r->err)))
        return rc;
    cJSON_ArrayForEach(e, keys)
    {
        if ((rc = be__jtype(e, DX_JT_STRING, &r->err)))
            return rc;
        if (cJSON_IsNull(e))
            return dx_error_set(&r->err, DX_E_VALIDATION,
                                "The Tag Key provided is invalid, Key: null");
    }
    if ((rc = arn_param(r, &st->arn)))
        return rc;
    if (!keys)
        return null_list(r, "tagKeys");
    if ((rc = resource_arn(r, st->arn, &st->table_arn)))
        return rc;
    if (!cJSON_GetArraySize(keys))
        return dx_error_set(&r->err, DX_E_VALIDATION,
                            "Atleast one Tag Key needs to be provided as Input.");
    cJSON_ArrayForEach(e, keys)
    {
        if ((rc = key_check(e->valuestring, &r->err)))
            return rc;
    }
    if (cJSON_GetArraySize(keys) > MAX_TAGS)
        return dx_error_set(&r->err, DX_E_VALIDATION,
                            "Number of Tags exceed the current limit for the provided ResourceArn");
    st->keys = keys;
    return tag_submit(r, st);
}

/* ---- ListTagsOfResource ---- */

int be_op_ListTagsOfResource(struct be_req *r)
{
    const char *arn = NULL, *table_arn = NULL;
    int rc;
    if ((rc = be__jtype(dx_json_get(r->json, "ResourceArn"), DX_JT_STRING, &r->err)) ||
        (rc = be__jtype(dx_json_get(r->json, "NextToken"), DX_JT_STRING, &r->err)))
        return rc;
    if ((rc = arn_param(r, &arn)) || (rc = resource_arn(r, arn, &table_arn)))
        return rc;
    struct be_table *t = be_catalog_get(r->be->catalog, table_arn);
    if (!taggable(t)) {
        if (t)
            be_table_unref(t);
        return arn_not_found(r, arn);
    }
    /* At most 50 tags: they always fit one page, so there is never a NextToken. */
    dx_buf_puts(&r->out, "{\"Tags\":[");
    const cJSON *a = t->extra ? cJSON_GetObjectItemCaseSensitive(t->extra, "Tags") : NULL, *e;
    int first = 1;
    cJSON_ArrayForEach(e, a)
    {
        const char *k = jstr(e, "Key"), *v = jstr(e, "Value");
        if (!k || !v)
            continue;
        dx_buf_puts(&r->out, first ? "{\"Key\":" : ",{\"Key\":");
        dx_buf_json_str(&r->out, k, strlen(k));
        dx_buf_puts(&r->out, ",\"Value\":");
        dx_buf_json_str(&r->out, v, strlen(v));
        dx_buf_putc(&r->out, '}');
        first = 0;
    }
    dx_buf_puts(&r->out, "]}");
    be_table_unref(t);
    return DX_OK;
}
