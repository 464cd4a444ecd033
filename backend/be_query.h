/*
 * Query and Scan (backend-private to be_query*.c): the page a read operation builds while it
 * walks the items database, and the request checks both operations share.
 *
 * A page follows DynamoDB's rules: items are "read" (ScannedCount, capacity, the 1 MB limit,
 * Limit) before the filter decides whether they are returned (Count, Items). The page stops
 * after Limit items read or after the item whose size takes the sum to 1 MB; it then carries
 * LastEvaluatedKey, the key attributes of the last item read.
 */
#ifndef BE_QUERY_H
#define BE_QUERY_H

#include <stddef.h>
#include <stdint.h>
#include "be_engine.h"
#include "dx_av.h"
#include "dx_buf.h"

struct be_table;
struct be_index;
struct be_exprs;

/* DynamoDB's page size: a page ends after the item that takes the data read to 1 MB. */
#define BE_QUERY_PAGE_BYTES (1024u * 1024u)

struct be_page {
    struct be_req *r;
    const struct be_table *t;
    const struct be_exprs *x;
    long long limit; /* 0: none */
    int count_only;  /* Select=COUNT */
    int consistent;
    int level;                /* ReturnConsumedCapacity level */
    struct dx_buf items;      /* the returned items, JSON, comma separated */
    size_t count, scanned;    /* Count, ScannedCount */
    uint64_t bytes;           /* item bytes read */
    const struct dx_av *last; /* last item read */
    int more;                 /* stopped early: LastEvaluatedKey */
    /* Added for secondary indexes: on an index read t is the index's view (be_index_view) and
     * base the table; LastEvaluatedKey then holds the index keys and the table keys. */
    const struct be_table *base;
    const struct be_index *ix; /* the index read, or NULL */
    int fetch_base; /* LSI read needing attributes it does not project: read the table's item */
    uint64_t fetch_units; /* added: 4 KB units of the table items fetched that way */
};

/* Takes one item read: its stored bytes (data, len) and its decoded tree. Sets *stop when the
 * page is full. DX_OK, or DX_EREQ for a filter's runtime error. */
int be__page_visit(struct be_page *pg, const void *data, size_t len, const struct dx_av *item,
                   int *stop);
/* Writes the response body into pg->r->out. */
void be__page_finish(struct be_page *pg);

#endif
