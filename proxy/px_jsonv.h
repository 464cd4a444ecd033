/*
 * A JSON syntax check (RFC 8259, strict, as DynamoDB's Java parser is): no tree, no
 * allocation. The front runs it once per request because DynamoDB answers a body that is not
 * JSON with SerializationException BEFORE it looks at the target or the signature.
 */
#ifndef PX_JSONV_H
#define PX_JSONV_H

#include <stddef.h>

#define PX_JSON_MAX_DEPTH 4096 /* deeper nesting is reported as invalid */

/* 1 when s[0..len) is exactly one JSON value with optional surrounding whitespace. */
int px_json_valid(const char *s, size_t len);

#endif
