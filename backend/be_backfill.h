/*
 * The backfill of a global secondary index created on an existing table (backend-private).
 *
 * UpdateTable publishes the new index CREATING; the backfill then walks the table's items in
 * small writer jobs (one job's completion queues the next), writing each item's index entry as
 * the item is at that moment, so normal writes interleave with it. Writes maintain every index
 * of the table, CREATING ones included, so an entry the backfill has passed stays current.
 * When the walk reaches the end the index is stored and published ACTIVE.
 */
#ifndef BE_BACKFILL_H
#define BE_BACKFILL_H

#include <stdint.h>

struct backend;

/* Starts the backfill of GSI index_id of table `name` (storage id table_id). Any thread
 * (typically the writer, after the index's creation committed). Abandoned silently when the
 * table or the index goes away or the writer stops (the index stays CREATING and
 * be_backfill_resume restarts it on the next open). */
void be_backfill_start(struct backend *be, const char *name, uint32_t table_id, uint32_t index_id);
/* At open, once the writer runs: restarts from the beginning every index still CREATING. */
void be_backfill_resume(struct backend *be);

#endif
