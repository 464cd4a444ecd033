/*
 * The operation table: every DynamoDB (and DynamoDB Streams) operation as an enum value with
 * flags, generated from dx_ops.def. Dispatch, the cache and metrics index by enum dx_op.
 */
#ifndef DX_OP_H
#define DX_OP_H

#include <stddef.h>

enum dx_svc { DX_SVC_DDB = 1, DX_SVC_STREAMS = 2 };

enum dx_op_flags {
    DX_OPF_READ = 1u << 0,        /* reads items */
    DX_OPF_WRITE = 1u << 1,       /* changes items or tables */
    DX_OPF_CONTROL = 1u << 2,     /* control plane: tables, backups, tags, ... */
    DX_OPF_CACHE_ITEM = 1u << 3,  /* served by the item cache when eventually consistent */
    DX_OPF_CACHE_QUERY = 1u << 4, /* served by the query cache when eventually consistent */
    DX_OPF_ITEM_WRITE = 1u << 5,  /* writes items: the cache must invalidate or refresh */
    DX_OPF_TXN = 1u << 6,         /* transactional */
    DX_OPF_PARTIQL = 1u << 7,     /* PartiQL statement */
    DX_OPF_STREAMS = 1u << 8,     /* DynamoDB Streams API */
};

enum dx_op {
    DX_OP_NONE = 0,
#define DX_OP(name, svc, flags) DX_OP_##name,
#include "dx_ops.def"
#undef DX_OP
    DX_OP__COUNT
};

/* "GetItem"; static storage. */
const char *dx_op_name(enum dx_op op);
unsigned dx_op_flags(enum dx_op op);
enum dx_svc dx_op_service(enum dx_op op);

/*
 * Resolves an X-Amz-Target value ("DynamoDB_20120810.GetItem",
 * "DynamoDBStreams_20120810.GetRecords") to an operation; DX_OP_NONE when the target names no
 * operation we know. `target` need not be NUL-terminated.
 */
enum dx_op dx_op_from_target(const char *target, size_t len);

#endif
