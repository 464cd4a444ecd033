/*
 * The TableDescription object CreateTable, DescribeTable, UpdateTable and DeleteTable answer
 * with, written straight into the response buffer in DynamoDB's member order, and the item
 * statistics it reports.
 *
 * What DynamoDB leaves out matters as much as what it sends: BillingModeSummary appears once
 * the table is or has been on-demand, TableClassSummary only when a class was chosen, stream
 * members only while a stream is enabled; on-demand tables report a throughput of 0/0.
 */
#include <math.h>
#include <string.h>
#include <time.h>
#include <cjson/cJSON.h>
#include "dx_status.h"
#include "be_store.h"
#include "be_table_priv.h"

double be__now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    /* Millisecond resolution, as DynamoDB reports its timestamps. */
    return (double)ts.tv_sec + (double)(ts.tv_nsec / 1000000) / 1000.0;
}

int be__decreases_today(const struct be_table *t, double now)
{
    if (t->last_decrease <= 0 || floor(t->last_decrease / 86400) != floor(now / 86400))
        return 0;
    return t->decreases_today;
}

/* Epoch seconds as a JSON number with a fractional part (milliseconds). */
static void put_time(struct dx_buf *out, double t)
{
    dx_buf_printf(out, "%.3f", t);
}

static void put_key(struct dx_buf *out, const char *name)
{
    dx_buf_putc(out, '"');
    dx_buf_puts(out, name);
    dx_buf_puts(out, "\":");
}

static void put_str(struct dx_buf *out, const char *s)
{
    dx_buf_json_str(out, s ? s : "", s ? strlen(s) : 0);
}

static void put_keyschema(struct dx_buf *out, const struct be_keydef *hash,
                          const struct be_keydef *range)
{
    put_key(out, "KeySchema");
    dx_buf_puts(out, "[{\"AttributeName\":");
    put_str(out, hash->name);
    dx_buf_puts(out, ",\"KeyType\":\"HASH\"}");
    if (range->name) {
        dx_buf_puts(out, ",{\"AttributeName\":");
        put_str(out, range->name);
        dx_buf_puts(out, ",\"KeyType\":\"RANGE\"}");
    }
    dx_buf_putc(out, ']');
}

static void put_projection(struct dx_buf *out, const struct be_index *x)
{
    static const char *const names[] = {"ALL", "KEYS_ONLY", "INCLUDE"};
    put_key(out, "Projection");
    dx_buf_puts(out, "{\"ProjectionType\":\"");
    dx_buf_puts(out, names[x->projection]);
    dx_buf_putc(out, '"');
    if (x->n_nonkey) {
        dx_buf_puts(out, ",\"NonKeyAttributes\":[");
        for (size_t i = 0; i < x->n_nonkey; i++) {
            if (i)
                dx_buf_putc(out, ',');
            put_str(out, x->nonkey[i]);
        }
        dx_buf_putc(out, ']');
    }
    dx_buf_putc(out, '}');
}

static void put_index(struct dx_buf *out, const struct be_table *t, const struct be_index *x,
                      uint64_t items, uint64_t bytes, unsigned flags)
{
    dx_buf_puts(out, "{\"IndexName\":");
    put_str(out, x->name);
    dx_buf_putc(out, ',');
    put_keyschema(out, &x->hash, &x->range);
    dx_buf_putc(out, ',');
    put_projection(out, x);
    if (x->global) {
        dx_buf_puts(out, ",\"IndexStatus\":");
        int built = x->status && !strcmp(x->status, BE_GSI_BACKFILLED);
        put_str(out, (flags & BE_DESC_GSI_CREATING) || built ? "CREATING"
                     : x->status                             ? x->status
                                                             : "ACTIVE");
        /* An index created on an existing table is being filled from the table's items. */
        if (!(flags & BE_DESC_GSI_CREATING) && x->status && !strcmp(x->status, "CREATING"))
            dx_buf_puts(out, ",\"Backfilling\":true");
        dx_buf_printf(out,
                      ",\"ProvisionedThroughput\":{\"NumberOfDecreasesToday\":0,"
                      "\"ReadCapacityUnits\":%lld,\"WriteCapacityUnits\":%lld}",
                      (long long)(t->billing == BE_BILLING_PAY_PER_REQUEST ? 0 : x->rcu),
                      (long long)(t->billing == BE_BILLING_PAY_PER_REQUEST ? 0 : x->wcu));
    }
    dx_buf_printf(out, ",\"IndexSizeBytes\":%llu,\"ItemCount\":%llu,\"IndexArn\":",
                  (unsigned long long)bytes, (unsigned long long)items);
    dx_buf_putc(out, '"');
    dx_buf_puts(out, t->arn ? t->arn : "");
    dx_buf_puts(out, "/index/");
    dx_buf_puts(out, x->name);
    dx_buf_puts(out, "\"}");
}

static void put_extra(struct dx_buf *out, const cJSON *extra, const char *name)
{
    const cJSON *j = extra ? cJSON_GetObjectItemCaseSensitive(extra, name) : NULL;
    if (!j)
        return;
    char *s = cJSON_PrintUnformatted(j);
    dx_buf_puts(out, ",\"");
    dx_buf_puts(out, name);
    dx_buf_puts(out, "\":");
    dx_buf_puts(out, s);
    cJSON_free(s);
}

static double extra_num(const cJSON *extra, const char *name)
{
    const cJSON *j = extra ? cJSON_GetObjectItemCaseSensitive(extra, name) : NULL;
    return cJSON_IsNumber(j) ? j->valuedouble : 0;
}

void be__table_desc(struct dx_buf *out, const struct be_table *t, const char *status,
                    const struct be_desc_stats *st, unsigned flags, double now)
{
    static const struct be_desc_stats zero;
    if (!st)
        st = &zero;
    int ppr = t->billing == BE_BILLING_PAY_PER_REQUEST;

    dx_buf_puts(out, "{\"AttributeDefinitions\":[");
    for (size_t i = 0; i < t->n_attrdefs; i++) {
        if (i)
            dx_buf_putc(out, ',');
        dx_buf_puts(out, "{\"AttributeName\":");
        put_str(out, t->attrdefs[i].name);
        dx_buf_printf(out, ",\"AttributeType\":\"%s\"}", dx_av_type_name(t->attrdefs[i].type));
    }
    dx_buf_puts(out, "],\"TableName\":");
    put_str(out, t->name);
    dx_buf_putc(out, ',');
    put_keyschema(out, &t->hash, &t->range);
    dx_buf_puts(out, ",\"TableStatus\":");
    put_str(out, status ? status : t->status ? t->status : "ACTIVE");
    dx_buf_puts(out, ",\"CreationDateTime\":");
    put_time(out, t->created);

    dx_buf_puts(out, ",\"ProvisionedThroughput\":{");
    if (t->last_increase > 0) {
        dx_buf_puts(out, "\"LastIncreaseDateTime\":");
        put_time(out, t->last_increase);
        dx_buf_putc(out, ',');
    }
    if (t->last_decrease > 0) {
        dx_buf_puts(out, "\"LastDecreaseDateTime\":");
        put_time(out, t->last_decrease);
        dx_buf_putc(out, ',');
    }
    dx_buf_printf(out,
                  "\"NumberOfDecreasesToday\":%d,\"ReadCapacityUnits\":%lld,"
                  "\"WriteCapacityUnits\":%lld}",
                  be__decreases_today(t, now), (long long)(ppr ? 0 : t->rcu),
                  (long long)(ppr ? 0 : t->wcu));
    dx_buf_printf(out, ",\"TableSizeBytes\":%llu,\"ItemCount\":%llu,\"TableArn\":",
                  (unsigned long long)st->bytes, (unsigned long long)st->items);
    put_str(out, t->arn);
    dx_buf_puts(out, ",\"TableId\":");
    put_str(out, t->table_id);

    /* Present for on-demand tables, and for provisioned ones that were on-demand before. */
    double ppr_time = extra_num(t->extra, "LastUpdateToPayPerRequestDateTime");
    if (ppr || ppr_time > 0) {
        dx_buf_printf(out, ",\"BillingModeSummary\":{\"BillingMode\":\"%s\"",
                      ppr ? "PAY_PER_REQUEST" : "PROVISIONED");
        if (ppr_time > 0) {
            dx_buf_puts(out, ",\"LastUpdateToPayPerRequestDateTime\":");
            put_time(out, ppr_time);
        }
        dx_buf_putc(out, '}');
    }

    if (t->n_lsi) {
        dx_buf_puts(out, ",\"LocalSecondaryIndexes\":[");
        for (size_t i = 0; i < t->n_lsi; i++) {
            if (i)
                dx_buf_putc(out, ',');
            int s = i < BE_MAX_LSI;
            put_index(out, t, &t->lsi[i], s ? st->lsi_items[i] : 0, s ? st->lsi_bytes[i] : 0,
                      flags);
        }
        dx_buf_putc(out, ']');
    }
    if (t->n_gsi) {
        dx_buf_puts(out, ",\"GlobalSecondaryIndexes\":[");
        for (size_t i = 0; i < t->n_gsi; i++) {
            if (i)
                dx_buf_putc(out, ',');
            int s = i < BE_MAX_GSI;
            put_index(out, t, &t->gsi[i], s ? st->gsi_items[i] : 0, s ? st->gsi_bytes[i] : 0,
                      flags);
        }
        dx_buf_putc(out, ']');
    }

    const cJSON *ss =
        t->extra ? cJSON_GetObjectItemCaseSensitive(t->extra, "StreamSpecification") : NULL;
    const cJSON *label =
        t->extra ? cJSON_GetObjectItemCaseSensitive(t->extra, "LatestStreamLabel") : NULL;
    if (ss && cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(ss, "StreamEnabled"))) {
        put_extra(out, t->extra, "StreamSpecification");
        if (cJSON_IsString(label)) {
            dx_buf_puts(out, ",\"LatestStreamLabel\":");
            put_str(out, label->valuestring);
            dx_buf_puts(out, ",\"LatestStreamArn\":\"");
            dx_buf_puts(out, t->arn ? t->arn : "");
            dx_buf_puts(out, "/stream/");
            dx_buf_puts(out, label->valuestring);
            dx_buf_putc(out, '"');
        }
    }
    put_extra(out, t->extra, "SSEDescription");
    if (ppr)
        put_extra(out, t->extra, "OnDemandThroughput");
    if (t->table_class) {
        dx_buf_puts(out, ",\"TableClassSummary\":{\"TableClass\":");
        put_str(out, t->table_class);
        double upd = extra_num(t->extra, "TableClassLastUpdateDateTime");
        if (upd > 0) {
            dx_buf_puts(out, ",\"LastUpdateDateTime\":");
            put_time(out, upd);
        }
        dx_buf_putc(out, '}');
    }
    if (!(flags & BE_DESC_NO_DP))
        dx_buf_printf(out, ",\"DeletionProtectionEnabled\":%s",
                      t->deletion_protection ? "true" : "false");
    dx_buf_putc(out, '}');
}

void be__table_stats_read(struct be_store *s, MDB_txn *txn, const struct be_table *t,
                          struct be_desc_stats *st)
{
    memset(st, 0, sizeof *st);
    if (be_table_stats(s, txn, t->id, &st->items, &st->bytes) != DX_OK)
        st->items = st->bytes = 0;
    /* Index entries are kept under the index's own storage prefix; an index without
     * statistics yet reads as empty. */
    for (size_t i = 0; i < t->n_lsi && i < BE_MAX_LSI; i++)
        if (!t->lsi[i].id ||
            be_table_stats(s, txn, t->lsi[i].id, &st->lsi_items[i], &st->lsi_bytes[i]) != DX_OK)
            st->lsi_items[i] = st->lsi_bytes[i] = 0;
    for (size_t i = 0; i < t->n_gsi && i < BE_MAX_GSI; i++)
        if (!t->gsi[i].id ||
            be_table_stats(s, txn, t->gsi[i].id, &st->gsi_items[i], &st->gsi_bytes[i]) != DX_OK)
            st->gsi_items[i] = st->gsi_bytes[i] = 0;
}
