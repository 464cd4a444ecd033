/*
 * Type checks for request JSON, with DynamoDB's SerializationException texts.
 *
 * DynamoDB deserialises requests with a Java JSON mapper, so a member of the wrong JSON type is
 * reported in Java's words ("class java.lang.Integer can not be converted to an String",
 * "Start of structure or map found where not expected."). Every request parser uses this one
 * check, so every member of every operation reports the same way.
 */
#ifndef DX_JSON_H
#define DX_JSON_H

#include <stddef.h>

#include "dx_error.h"

struct cJSON;

enum dx_jtype {
    DX_JT_STRING,
    DX_JT_BOOL,
    DX_JT_INT,    /* Integer */
    DX_JT_LONG,   /* Long */
    DX_JT_DOUBLE, /* Double */
    DX_JT_BLOB,   /* base64 string */
    DX_JT_LIST,
    DX_JT_MAP,    /* JSON object with arbitrary keys */
    DX_JT_STRUCT, /* JSON object with known members */
};

/* DX_OK when v is absent (NULL), JSON null, or of the wanted type; otherwise DX_EREQ with the
 * SerializationException DynamoDB sends. */
int dx_json_check(const struct cJSON *v, enum dx_jtype want, struct dx_error *err);

/* The length of the UTF-8 string s as Java's String.length counts it (UTF-16 code units): the
 * length DynamoDB's request-model constraints ("Member must have length ...") count. */
size_t dx_utf16_len(const char *s);

/* obj's member `name` when obj is an object and the member is present and not JSON null,
 * else NULL. Borrowed from obj. */
const struct cJSON *dx_json_get(const struct cJSON *obj, const char *name);
/* The same when the member is a string: its text, else NULL. */
const char *dx_json_str(const struct cJSON *obj, const char *name);

#endif
