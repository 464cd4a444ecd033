/*
 * Time to live (backend-private): UpdateTimeToLive / DescribeTimeToLive, and the background
 * sweeper that deletes expired items through the normal write path.
 */
#ifndef BE_TTL_H
#define BE_TTL_H

struct backend;
struct be_ttl;

/* Starts the sweeper of be (reads be->opts.ttl_interval_ms). Stopped by be_ttl_stop, which
 * be_close calls before it stops the writer. */
int be_ttl_start(struct backend *be, struct be_ttl **out);
void be_ttl_stop(struct be_ttl *t);

#endif
