/*
 * Consumed capacity of the single-item operations, by DynamoDB's rules, and the response
 * fragments that report it (ConsumedCapacity, ItemCollectionMetrics).
 *
 * Reads cost one unit per 4 KB of the item read (half for eventually consistent reads), an
 * absent item as much as the smallest one. Writes cost one unit per 1 KB of the larger of the
 * old and new item, at least one; a secondary index adds the writes its entry needs (a put for
 * a new entry, a delete for a removed one, both when the index key changed, none when the
 * projected entry did not change), each in 1 KB units of the projected entry.
 */
#include <stdio.h>
#include <string.h>
#include "be_catalog.h"
#include "be_item_ops.h"

double be__read_units(const struct dx_av *item, int consistent)
{
    double units = 1;
    if (item) {
        size_t size = dx_av_item_size(item);
        units = (double)((size + 4095) / 4096);
        if (units < 1)
            units = 1;
    }
    return consistent ? units : units / 2;
}

static double write_units(const struct dx_av *item)
{
    if (!item)
        return 0;
    size_t size = dx_av_item_size(item);
    double units = (double)((size + 1023) / 1024);
    return units < 1 ? 1 : units;
}

static void project_attr(struct dx_arena *a, struct dx_av *m, const struct dx_av *item,
                         const char *name)
{
    if (!name)
        return;
    struct dx_av *v = dx_av_map_get(item, name, strlen(name));
    if (v)
        dx_av_map_set(a, m, name, strlen(name), v);
}

/* The index entry of item, or NULL when item lacks one of the index's key attributes. */
static const struct dx_av *index_entry(struct dx_arena *a, const struct be_table *t,
                                       const struct be_index *x, const struct dx_av *item)
{
    if (!item || !dx_av_map_get(item, x->hash.name, strlen(x->hash.name)))
        return NULL;
    if (x->range.name && !dx_av_map_get(item, x->range.name, strlen(x->range.name)))
        return NULL;
    if (x->projection == BE_PROJ_ALL)
        return item;
    struct dx_av *m = dx_av_new_map(a);
    project_attr(a, m, item, t->hash.name);
    project_attr(a, m, item, t->range.name);
    project_attr(a, m, item, x->hash.name);
    project_attr(a, m, item, x->range.name);
    if (x->projection == BE_PROJ_INCLUDE) {
        for (size_t i = 0; i < x->n_nonkey; i++)
            project_attr(a, m, item, x->nonkey[i]);
    }
    return m;
}

static int same_attr(const struct dx_av *p, const struct dx_av *q, const char *name)
{
    if (!name)
        return 1;
    const struct dx_av *u = dx_av_map_get(p, name, strlen(name));
    const struct dx_av *v = dx_av_map_get(q, name, strlen(name));
    return u && v && dx_av_equal(u, v);
}

static double index_units(struct dx_arena *a, const struct be_table *t, const struct be_index *x,
                          const struct dx_av *old_item, const struct dx_av *new_item)
{
    const struct dx_av *o = index_entry(a, t, x, old_item);
    const struct dx_av *n = index_entry(a, t, x, new_item);
    if (o && n) {
        if (!same_attr(o, n, x->hash.name) || !same_attr(o, n, x->range.name))
            return write_units(o) + write_units(n); /* the entry moves: delete + put */
        if (dx_av_equal(o, n))
            return 0;
        double uo = write_units(o), un = write_units(n);
        return uo > un ? uo : un;
    }
    return write_units(o) + write_units(n);
}

static void add_index(struct be_wcap *c, const struct be_index *x, int global, double units)
{
    if (units <= 0 || c->n >= BE_WCAP_MAX)
        return;
    c->idx[c->n].name = x->name;
    c->idx[c->n].global = global;
    c->idx[c->n].units = units;
    c->n++;
    c->total += units;
}

void be__wcap_compute(struct dx_arena *a, const struct be_table *t, const struct dx_av *old_item,
                      const struct dx_av *new_item, struct be_wcap *c)
{
    memset(c, 0, sizeof(*c));
    double uo = write_units(old_item), un = write_units(new_item);
    c->table = uo > un ? uo : un;
    if (c->table < 1)
        c->table = 1;
    c->total = c->table;
    for (size_t i = 0; i < t->n_gsi; i++)
        add_index(c, &t->gsi[i], 1, index_units(a, t, &t->gsi[i], old_item, new_item));
    for (size_t i = 0; i < t->n_lsi; i++)
        add_index(c, &t->lsi[i], 0, index_units(a, t, &t->lsi[i], old_item, new_item));
}

void be__wcap_usage(struct be_req *r, const struct be_table *t, const struct be_wcap *c)
{
    double table = c->table;
    for (size_t i = 0; i < c->n; i++)
        if (!c->idx[i].global)
            table += c->idx[i].units;
    be_req_usage(r, t->name, NULL, 0, table);
    for (size_t i = 0; i < c->n; i++)
        if (c->idx[i].global)
            be_req_usage(r, t->name, c->idx[i].name, 0, c->idx[i].units);
}

/* DynamoDB prints capacity as a double: 1.0, 0.5, 2.0. */
static void put_units(struct dx_buf *out, double units)
{
    if (units < 1e15 && units == (double)(long long)units)
        dx_buf_printf(out, "%.1f", units);
    else
        dx_buf_printf(out, "%g", units);
}

static void put_head(struct dx_buf *out, const char *name, double total)
{
    dx_buf_puts(out, "\"ConsumedCapacity\":{\"TableName\":");
    dx_buf_json_str(out, name, strlen(name));
    dx_buf_puts(out, ",\"CapacityUnits\":");
    put_units(out, total);
}

static void put_part(struct dx_buf *out, const char *member, double units)
{
    dx_buf_printf(out, ",\"%s\":{\"CapacityUnits\":", member);
    put_units(out, units);
    dx_buf_putc(out, '}');
}

void be__write_read_capacity(struct dx_buf *out, const char *name, double units, int level)
{
    put_head(out, name, units);
    if (level >= 2)
        put_part(out, "Table", units);
    dx_buf_putc(out, '}');
}

static void put_indexes(struct dx_buf *out, const struct be_wcap *c, int global)
{
    int first = 1;
    for (size_t i = 0; i < c->n; i++) {
        if (c->idx[i].global != global)
            continue;
        dx_buf_puts(
            out, first ? (global ? ",\"GlobalSecondaryIndexes\":{" : ",\"LocalSecondaryIndexes\":{")
                       : ",");
        first = 0;
        dx_buf_json_str(out, c->idx[i].name, strlen(c->idx[i].name));
        dx_buf_puts(out, ":{\"CapacityUnits\":");
        put_units(out, c->idx[i].units);
        dx_buf_putc(out, '}');
    }
    if (!first)
        dx_buf_putc(out, '}');
}

void be__write_write_capacity(struct dx_buf *out, const char *name, const struct be_wcap *c,
                              int level)
{
    put_head(out, name, c->total);
    if (level >= 2) {
        put_part(out, "Table", c->table);
        put_indexes(out, c, 0);
        put_indexes(out, c, 1);
    }
    dx_buf_putc(out, '}');
}

void be__write_collection_metrics_size(struct dx_buf *out, const struct be_table *t,
                                       const struct dx_av *item, uint64_t bytes)
{
    dx_buf_puts(out, "\"ItemCollectionMetrics\":{\"ItemCollectionKey\":{");
    const struct dx_av *hv = item ? dx_av_map_get(item, t->hash.name, strlen(t->hash.name)) : NULL;
    if (hv) {
        dx_buf_json_str(out, t->hash.name, strlen(t->hash.name));
        dx_buf_putc(out, ':');
        dx_av_write_json(out, hv);
    }
    /* DynamoDB reports the collection size as an estimate range in GB, a lower and an upper
     * bound: [0.0, 1.0] for collections under 1 GB. We give the whole-GB interval holding the
     * exact size. */
    uint64_t gb = bytes >> 30;
    char tail[96];
    snprintf(tail, sizeof tail, "},\"SizeEstimateRangeGB\":[%llu.0,%llu.0]}",
             (unsigned long long)gb, (unsigned long long)gb + 1);
    dx_buf_puts(out, tail);
}

void be__write_collection_metrics(struct dx_buf *out, const struct be_table *t,
                                  const struct dx_av *item)
{
    be__write_collection_metrics_size(out, t, item, 0);
}

void be__wcap_add(struct be_wcap *sum, const struct be_wcap *c, double table_factor)
{
    sum->table += c->table * table_factor;
    sum->total += c->table * table_factor + (c->total - c->table);
    for (size_t i = 0; i < c->n; i++) {
        size_t j = 0;
        while (j < sum->n && strcmp(sum->idx[j].name, c->idx[i].name) != 0)
            j++;
        if (j == sum->n) {
            if (sum->n >= BE_WCAP_MAX)
                continue;
            sum->idx[j] = c->idx[i];
            sum->idx[j].units = 0;
            sum->n++;
        }
        sum->idx[j].units += c->idx[i].units;
    }
}
