/*
 * Request member type checks in the words of DynamoDB's deserialiser (see dx_json.h). The
 * wording is DynamoDB's current one ("NUMBER_VALUE cannot be converted to String", "STRING_VALUE
 * cannot be converted to Integer", "Unrecognized collection type class java.lang.String"), as
 * quoted from AWS by several public test suites; old emulators show an older Jackson wording.
 */
#include <cjson/cJSON.h>
#include "dx_json.h"
#include "dx_status.h"

/* The Java type a member deserialises to, as the messages name it. */
static const char *java_name(enum dx_jtype want)
{
    switch (want) {
    case DX_JT_STRING:
        return "String";
    case DX_JT_BOOL:
        return "Boolean";
    case DX_JT_INT:
        return "Integer";
    case DX_JT_LONG:
        return "Long";
    case DX_JT_DOUBLE:
        return "Double";
    case DX_JT_BLOB:
        return "ByteBuffer";
    default:
        return "Object";
    }
}

/* The token kind of a scalar JSON value, as the messages name it. */
static const char *token_name(const cJSON *v)
{
    if (cJSON_IsNumber(v))
        return "NUMBER_VALUE";
    if (cJSON_IsTrue(v))
        return "TRUE_VALUE";
    if (cJSON_IsFalse(v))
        return "FALSE_VALUE";
    return "STRING_VALUE";
}

static int serr(struct dx_error *err, const char *msg)
{
    return dx_error_set(err, DX_E_SERIALIZATION, "%s", msg);
}

static int matches(const cJSON *v, enum dx_jtype want)
{
    switch (want) {
    case DX_JT_STRING:
    case DX_JT_BLOB:
        return cJSON_IsString(v);
    case DX_JT_BOOL:
        return cJSON_IsBool(v);
    case DX_JT_INT:
    case DX_JT_LONG:
    case DX_JT_DOUBLE:
        return cJSON_IsNumber(v);
    case DX_JT_LIST:
        return cJSON_IsArray(v);
    case DX_JT_MAP:
    case DX_JT_STRUCT:
        return cJSON_IsObject(v);
    }
    return 0;
}

int dx_json_check(const cJSON *v, enum dx_jtype want, struct dx_error *err)
{
    if (!v || cJSON_IsNull(v) || matches(v, want))
        return DX_OK;
    switch (want) {
    case DX_JT_LIST:
        if (cJSON_IsObject(v))
            return serr(err, "Start of structure or map found where not expected");
        return serr(err, "Expected list or null");
    case DX_JT_MAP:
    case DX_JT_STRUCT:
        if (cJSON_IsArray(v))
            return serr(err, "Start of list found where not expected");
        return serr(err, want == DX_JT_MAP ? "Expected map or null" : "Expected null");
    default:
        break;
    }
    if (cJSON_IsArray(v))
        return dx_error_set(err, DX_E_SERIALIZATION, "Unrecognized collection type class %s.%s",
                            want == DX_JT_BLOB ? "java.nio" : "java.lang", java_name(want));
    if (cJSON_IsObject(v))
        return serr(err, "Start of structure or map found where not expected");
    return dx_error_set(err, DX_E_SERIALIZATION, "%s cannot be converted to %s", token_name(v),
                        java_name(want));
}

const cJSON *dx_json_get(const cJSON *obj, const char *name)
{
    const cJSON *j = cJSON_IsObject(obj) ? cJSON_GetObjectItemCaseSensitive(obj, name) : NULL;
    return j && !cJSON_IsNull(j) ? j : NULL;
}

const char *dx_json_str(const cJSON *obj, const char *name)
{
    const cJSON *j = dx_json_get(obj, name);
    return cJSON_IsString(j) ? j->valuestring : NULL;
}

size_t dx_utf16_len(const char *s)
{
    size_t n = 0;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        if ((*p & 0xc0) != 0x80)
            n += *p >= 0xf0 ? 2 : 1; /* a 4-byte sequence is a surrogate pair in UTF-16 */
    return n;
}
