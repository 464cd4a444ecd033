/*
 * Generic request validation and response fragments of the single-item operations.
 *
 * DynamoDB checks a request in two generic passes before any operation-specific rule: the JSON
 * type of each member (the first mismatch is a SerializationException), then each member's
 * declared constraints (not null, table-name pattern and length, enumerations), where every
 * failure is collected, in the members' order, into one ValidationException
 * "N validation errors detected: Value ... at 'member' failed to satisfy constraint: ...".
 * Clients and tests match these texts, so they are reproduced exactly.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <cjson/cJSON.h>
#include "be_batch.h"
#include "be_capacity.h"
#include "be_catalog.h"
#include "be_expr.h"
#include "be_item_ops.h"
#include "dx_json.h"
#include "dx_status.h"

const char *const be__enum_return_capacity[] = {"INDEXES", "TOTAL", "NONE", NULL};
const char *const be__enum_return_values[] = {"ALL_NEW", "UPDATED_OLD", "ALL_OLD",
                                              "NONE",    "UPDATED_NEW", NULL};
const char *const be__enum_return_metrics[] = {"SIZE", "NONE", NULL};
const char *const be__enum_conditional_op[] = {"OR", "AND", NULL};
const char *const be__enum_return_on_failure[] = {"ALL_OLD", "NONE", NULL};

#define MAX_ERRORS 10

struct verrs {
    int n;
    struct dx_buf msg;
};

/* The member name as DynamoDB prints it in constraint messages: first letter lower-cased. */
static void add_error(struct verrs *v, const char *value, const char *member, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void add_error(struct verrs *v, const char *value, const char *member, const char *fmt, ...)
{
    if (v->n >= MAX_ERRORS)
        return;
    if (v->n)
        dx_buf_puts(&v->msg, "; ");
    v->n++;
    if (value)
        dx_buf_printf(&v->msg, "Value '%s' at '", value);
    else
        dx_buf_puts(&v->msg, "Value null at '");
    char c = member[0];
    if (c >= 'A' && c <= 'Z')
        c = (char)(c - 'A' + 'a');
    dx_buf_putc(&v->msg, c);
    dx_buf_puts(&v->msg, member + 1);
    dx_buf_puts(&v->msg, "' failed to satisfy constraint: ");
    char line[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    dx_buf_puts(&v->msg, line);
}

static int table_name_char(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '.' || c == '-';
}

static void check_table_name(struct verrs *v, const char *member, const char *name)
{
    size_t len = dx_utf16_len(name);
    if (strncmp(name, "arn:", 4) == 0) {
        /* Item operations also take the table's ARN (resolved by the catalog). */
        if (len > 1024)
            add_error(v, name, member, "Member must have length less than or equal to 1024");
        return;
    }
    int pattern_ok = 1;
    for (const char *p = name; *p; p++) {
        if (!table_name_char((unsigned char)*p)) {
            pattern_ok = 0;
            break;
        }
    }
    if (!*name)
        pattern_ok = 0;
    if (!pattern_ok)
        add_error(v, name, member,
                  "Member must satisfy regular expression pattern: [a-zA-Z0-9_.-]+");
    if (len < 3)
        add_error(v, name, member, "Member must have length greater than or equal to 3");
    if (len > 255)
        add_error(v, name, member, "Member must have length less than or equal to 255");
}

static void check_enum(struct verrs *v, const char *member, const char *value,
                       const char *const *enumv)
{
    for (const char *const *e = enumv; *e; e++) {
        if (strcmp(*e, value) == 0)
            return;
    }
    char set[256];
    size_t used = 0;
    set[0] = 0;
    for (const char *const *e = enumv; *e; e++) {
        int w = snprintf(set + used, sizeof set - used, "%s%s", e == enumv ? "" : ", ", *e);
        if (w < 0 || (size_t)w >= sizeof set - used)
            break;
        used += (size_t)w;
    }
    add_error(v, value, member, "Member must satisfy enum value set: [%s]", set);
}

int be__item_validate(struct be_req *r, const struct be_iparam *params, size_t n)
{
    int rc;
    /* Pass 1: JSON types. */
    for (size_t i = 0; i < n; i++) {
        const struct be_iparam *p = &params[i];
        switch (p->kind) {
        case BE_IP_STR: {
            const char *s;
            rc = be_param_str(r, p->name, 0, &s);
            break;
        }
        case BE_IP_MAP:
            /* A map, not a structure: DynamoDB words the mismatch differently. */
            rc = dx_json_check(cJSON_GetObjectItemCaseSensitive(r->json, p->name), DX_JT_MAP,
                               &r->err);
            break;
        case BE_IP_ARR: {
            const struct cJSON *a;
            rc = be_param_arr(r, p->name, 0, &a);
            break;
        }
        case BE_IP_BOOL: {
            int present, b;
            rc = be_param_bool(r, p->name, &present, &b);
            break;
        }
        default:
            rc = DX_OK;
        }
        if (rc != DX_OK)
            return rc;
    }
    /* Pass 2: constraints, all failures in one message. */
    struct verrs v = {0, DX_BUF_INIT};
    for (size_t i = 0; i < n; i++) {
        const struct be_iparam *p = &params[i];
        const cJSON *j = cJSON_GetObjectItemCaseSensitive(r->json, p->name);
        if (j && cJSON_IsNull(j))
            j = NULL;
        if (!j) {
            if (p->flags & BE_IP_NOTNULL)
                add_error(&v, NULL, p->name, "Member must not be null");
            continue;
        }
        if (p->kind != BE_IP_STR || !cJSON_IsString(j))
            continue;
        if (p->flags & BE_IP_TABLENAME)
            check_table_name(&v, p->name, j->valuestring);
        if (p->enumv)
            check_enum(&v, p->name, j->valuestring, p->enumv);
    }
    if (v.n == 0) {
        dx_buf_deinit(&v.msg);
        return DX_OK;
    }
    rc = dx_error_set(&r->err, DX_E_VALIDATION, "%d validation error%s detected: %s", v.n,
                      v.n > 1 ? "s" : "", v.msg.p);
    dx_buf_deinit(&v.msg);
    return rc;
}

static int index_key_check(const struct be_index *x, const struct be_keydef *k,
                           const struct dx_av *item, int update, struct dx_error *err)
{
    if (!k->name)
        return DX_OK;
    const struct dx_av *v = dx_av_map_get(item, k->name, strlen(k->name));
    if (!v)
        return DX_OK;
    if (v->type != k->type)
        return dx_error_set(err, DX_E_VALIDATION,
                            "One or more parameter values were invalid: Type mismatch for Index "
                            "Key %s Expected: %s Actual: %s IndexName: %s",
                            k->name, dx_av_type_name(k->type), dx_av_type_name(v->type), x->name);
    if ((v->type == DX_AV_S || v->type == DX_AV_B) && v->u.bytes.len == 0)
        return dx_error_set(err, DX_E_VALIDATION,
                            "%s The AttributeValue for a key attribute cannot contain an empty %s "
                            "value. IndexName: %s, IndexKey: %s",
                            update ? "The update expression attempted to update a secondary index "
                                     "key to a value that is not supported."
                                   : "One or more parameter values are not valid. A value "
                                     "specified for a secondary index key is not supported.",
                            v->type == DX_AV_S ? "string" : "binary", x->name, k->name);
    return DX_OK;
}

int be__check_index_keys(const struct be_table *t, const struct dx_av *item, int update,
                         struct dx_error *err)
{
    size_t n = t->n_gsi + t->n_lsi;
    if (n == 0)
        return DX_OK;
    /* Visit the indexes in name order (at most 25): DynamoDB names the alphabetically first
     * index when one attribute keys several. */
    const struct be_index *order[32];
    size_t m = 0;
    for (size_t i = 0; i < t->n_gsi && m < 32; i++)
        order[m++] = &t->gsi[i];
    for (size_t i = 0; i < t->n_lsi && m < 32; i++)
        order[m++] = &t->lsi[i];
    for (size_t i = 1; i < m; i++) {
        const struct be_index *x = order[i];
        size_t j = i;
        for (; j > 0 && strcmp(order[j - 1]->name, x->name) > 0; j--)
            order[j] = order[j - 1];
        order[j] = x;
    }
    for (size_t i = 0; i < m; i++) {
        int rc = index_key_check(order[i], &order[i]->hash, item, update, err);
        if (rc == DX_OK)
            rc = index_key_check(order[i], &order[i]->range, item, update, err);
        if (rc != DX_OK)
            return rc;
    }
    return DX_OK;
}

int be__item_capacity_level(const char *s)
{
    if (!s)
        return 0;
    if (strcmp(s, "TOTAL") == 0)
        return 1;
    if (strcmp(s, "INDEXES") == 0)
        return 2;
    return 0;
}

int be__table_and_exprs(struct be_req *r, struct be_table **t, struct be_exprs **x)
{
    *t = be__batch_table(r->be, dx_json_str(r->json, "TableName"));
    int rc = be_exprs_parse(&r->arena, r->op, r->json, *t, x, &r->err);
    if (rc != DX_OK)
        return rc;
    if (*t)
        return be_capacity_admit_table(r, *t);
    return dx_error_set(&r->err, DX_E_RESOURCE_NOT_FOUND, "Requested resource not found");
}
