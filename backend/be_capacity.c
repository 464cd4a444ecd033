/*
 * PLACEHOLDER (replaced by the capacity work): admits everything, charges nothing.
 */
#include "backend.h"
#include "be_capacity.h"
#include "be_engine.h"
#include "dx_status.h"

int be_capacity_new(struct backend *be, struct be_capacity **out)
{
    (void)be;
    *out = NULL;
    return DX_OK;
}

void be_capacity_free(struct be_capacity *c)
{
    (void)c;
}

int be_capacity_admit(struct be_req *r)
{
    (void)r;
    return DX_OK;
}

void be_capacity_charge(struct be_req *r)
{
    (void)r;
}

void be_metrics_write(struct backend *be, struct dx_buf *out)
{
    (void)be;
    (void)out;
}
