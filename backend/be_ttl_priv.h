/*
 * Private to the TTL module (be_ttl.c, the sweeper; be_ttl_ops.c, UpdateTimeToLive and
 * DescribeTimeToLive): where a table keeps its TTL setting and the rule that says whether an
 * item has expired.
 *
 * The setting lives in the table definition's `extra` object under the key "ttl":
 *   {"attr": "<AttributeName>", "enabled": true|false, "changed": <epoch seconds>}
 * written only on the writer thread, on the latest definition loaded inside the write
 * transaction, so it is persisted and published like every other table setting. "changed" is
 * when the last UpdateTimeToLive took effect: for be_options.status_delay_ms after it the
 * change is still settling (ENABLING / DISABLING, and a further change is refused).
 */
#ifndef BE_TTL_PRIV_H
#define BE_TTL_PRIV_H

#include "dx_av.h"
#include "dx_num.h"

struct be_table;

#define BE_TTL_KEY "ttl"
/* DynamoDB ignores expiry times more than five years in the past. */
#define BE_TTL_MAX_AGE_S (5LL * 36525 * 86400 / 100)

struct be_ttl_spec {
    const char *attr; /* NULL when never set; borrowed from the table's extra */
    int enabled;
    double changed; /* epoch seconds; 0 when never set */
};

/* t's TTL setting (all zero when it has none). */
void be__ttl_spec(const struct be_table *t, struct be_ttl_spec *out);
/* DescribeTimeToLive's TimeToLiveStatus of s at `now` with the settle delay delay_ms:
 * ENABLING, ENABLED, DISABLING or DISABLED. */
const char *be__ttl_status(const struct be_ttl_spec *s, double now, unsigned delay_ms);

/* The window of expiry times that count as expired at `now`: [oldest, now). */
struct be_ttl_clock {
    struct dx_num now, oldest;
};
void be__ttl_clock(double now, struct be_ttl_clock *out);
/* 1 when item's attribute attr is a Number (epoch seconds) inside c's window; items without
 * it, with another type, or with a time in the future or more than five years past, never
 * expire (0). */
int be__ttl_expired(const struct dx_av *item, const char *attr, const struct be_ttl_clock *c);

#endif
