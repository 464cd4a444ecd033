/*
 * The operation table (dx_ops.def): names, flags, and X-Amz-Target resolution, which runs once
 * per request.
 */
#include <string.h>
#include "dx_op.h"

struct opdef {
    const char *name;
    unsigned char len; /* strlen(name): the per-request lookup compares lengths first */
    enum dx_svc svc;
    unsigned flags;
};

static const struct opdef ops[DX_OP__COUNT] = {
    [DX_OP_NONE] = {"", 0, 0, 0},
#define DX_OP(name, svc, flags) [DX_OP_##name] = {#name, sizeof(#name) - 1, svc, flags},
#include "dx_ops.def"
#undef DX_OP
};

const char *dx_op_name(enum dx_op op)
{
    return (unsigned)op < DX_OP__COUNT ? ops[op].name : "";
}

unsigned dx_op_flags(enum dx_op op)
{
    return (unsigned)op < DX_OP__COUNT ? ops[op].flags : 0;
}

enum dx_svc dx_op_service(enum dx_op op)
{
    return (unsigned)op < DX_OP__COUNT ? ops[op].svc : 0;
}

static const char ddb_prefix[] = "DynamoDB_20120810.";
static const char streams_prefix[] = "DynamoDBStreams_20120810.";

enum dx_op dx_op_from_target(const char *target, size_t len)
{
    enum dx_svc svc;
    size_t plen;
    if (len > sizeof(streams_prefix) - 1 &&
        memcmp(target, streams_prefix, sizeof(streams_prefix) - 1) == 0) {
        svc = DX_SVC_STREAMS;
        plen = sizeof(streams_prefix) - 1;
    } else if (len > sizeof(ddb_prefix) - 1 &&
               memcmp(target, ddb_prefix, sizeof(ddb_prefix) - 1) == 0) {
        svc = DX_SVC_DDB;
        plen = sizeof(ddb_prefix) - 1;
    } else {
        return DX_OP_NONE;
    }
    const char *name = target + plen;
    size_t nlen = len - plen;
    /* The .def rows of each service are in alphabetical order, but the two services interleave
     * in enum order, so search linearly within the service; 62 rows, and the stored lengths
     * reject most rows before any byte is compared. */
    for (int op = 1; op < DX_OP__COUNT; op++) {
        if (ops[op].svc != svc)
            continue;
        if (ops[op].len == nlen && memcmp(ops[op].name, name, nlen) == 0)
            return (enum dx_op)op;
    }
    return DX_OP_NONE;
}
