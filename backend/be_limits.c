/*
 * DescribeLimits and DescribeEndpoints: answers about the service rather than a table.
 *
 * DescribeLimits reports DynamoDB's default provisioned-capacity quotas of a Region (the
 * engine enforces no account-wide ceiling, so the defaults are what a client should plan
 * with). DescribeEndpoints names the Regional endpoint, as AWS answers it, for clients that
 * do endpoint discovery; they keep calling the endpoint they were configured with anyway.
 */
#include <stdio.h>
#include <string.h>
#include "dx_status.h"
#include "be_engine.h"

/* DynamoDB's default quotas per Region (account) and per table. */
#define ACCOUNT_MAX_RCU 80000
#define ACCOUNT_MAX_WCU 80000
#define TABLE_MAX_RCU   40000
#define TABLE_MAX_WCU   40000
/* How long a client may cache the endpoint: AWS answers one day. */
#define ENDPOINT_CACHE_MINUTES 1440

int be_op_DescribeLimits(struct be_req *r)
{
    dx_buf_printf(&r->out,
                  "{\"AccountMaxReadCapacityUnits\":%d,\"AccountMaxWriteCapacityUnits\":%d,"
                  "\"TableMaxReadCapacityUnits\":%d,\"TableMaxWriteCapacityUnits\":%d}",
                  ACCOUNT_MAX_RCU, ACCOUNT_MAX_WCU, TABLE_MAX_RCU, TABLE_MAX_WCU);
    return DX_OK;
}

int be_op_DescribeEndpoints(struct be_req *r)
{
    const char *region = r->be->region ? r->be->region : "us-east-1";
    dx_buf_puts(&r->out, "{\"Endpoints\":[{\"Address\":");
    size_t n = strlen(region) + sizeof "dynamodb..amazonaws.com";
    char *addr = dx_arena_alloc(&r->arena, n);
    dx_buf_json_str(&r->out, addr, (size_t)snprintf(addr, n, "dynamodb.%s.amazonaws.com", region));
    dx_buf_printf(&r->out, ",\"CachePeriodInMinutes\":%d}]}", ENDPOINT_CACHE_MINUTES);
    return DX_OK;
}
