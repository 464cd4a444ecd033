/*
 * PLACEHOLDER (replaced by the TTL work): no sweeper yet.
 */
#include <stddef.h>
#include "be_ttl.h"
#include "dx_status.h"

int be_ttl_start(struct backend *be, struct be_ttl **out)
{
    (void)be;
    *out = NULL;
    return DX_OK;
}

void be_ttl_stop(struct be_ttl *t)
{
    (void)t;
}
