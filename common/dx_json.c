/*
 * Request member type checks in the words of DynamoDB's Java deserialiser (see dx_json.h).
 * The texts follow what DynamoDB returns; JSON numbers are named by the Java class they would
 * deserialise to (Short, Integer, Long or Double).
 */
#include <math.h>
#include <cjson/cJSON.h>
#include "dx_json.h"
#include "dx_status.h"

static const char *number_class(double v)
{
    if (v != floor(v) || isinf(v))
        return "java.lang.Double";
    if (v >= -32768 && v <= 32767)
        return "java.lang.Short";
    if (v >= -2147483648.0 && v <= 2147483647.0)
        return "java.lang.Integer";
    return "java.lang.Long";
}

static const char *want_name(enum dx_jtype want)
{
    switch (want) {
    case DX_JT_STRING:
        return "an String";
    case DX_JT_BOOL:
        return "an Boolean";
    case DX_JT_INT:
        return "an Integer";
    case DX_JT_LONG:
        return "an Long";
    case DX_JT_DOUBLE:
        return "an Double";
    case DX_JT_BLOB:
        return "a Blob";
    default:
        return "an Object";
    }
}

static int serr(struct dx_error *err, const char *msg)
{
    return dx_error_set(err, DX_E_SERIALIZATION, "%s", msg);
}

int dx_json_check(const cJSON *v, enum dx_jtype want, struct dx_error *err)
{
    if (!v || cJSON_IsNull(v))
        return DX_OK;
    switch (want) {
    case DX_JT_LIST:
        if (cJSON_IsArray(v))
            return DX_OK;
        if (cJSON_IsObject(v))
            return serr(err, "Start of structure or map found where not expected.");
        return serr(err, "Expected list or null");
    case DX_JT_MAP:
    case DX_JT_STRUCT:
        if (cJSON_IsObject(v))
            return DX_OK;
        if (cJSON_IsArray(v))
            return serr(err, "Start of list found where not expected");
        return serr(err, want == DX_JT_MAP ? "Expected map or null" : "Expected null");
    default:
        break;
    }
    /* scalars */
    if (cJSON_IsArray(v))
        return serr(err, "Start of list found where not expected");
    if (cJSON_IsObject(v))
        return serr(err, "Start of structure or map found where not expected.");
    switch (want) {
    case DX_JT_STRING:
    case DX_JT_BLOB:
        if (cJSON_IsString(v))
            return DX_OK;
        if (cJSON_IsBool(v))
            return dx_error_set(err, DX_E_SERIALIZATION,
                                "class java.lang.Boolean can not be converted to %s",
                                want_name(want));
        return dx_error_set(err, DX_E_SERIALIZATION, "class %s can not be converted to %s",
                            number_class(v->valuedouble), want_name(want));
    case DX_JT_BOOL:
        if (cJSON_IsBool(v))
            return DX_OK;
        if (cJSON_IsNumber(v)) {
            /* Java's mapper turns a floating-point number into a Boolean, an integer not. */
            const char *cls = number_class(v->valuedouble);
            if (cls[10] == 'D')
                return DX_OK;
            return dx_error_set(err, DX_E_SERIALIZATION,
                                "class %s can not be converted to an Boolean", cls);
        }
        /* The mapper quotes the string upper-cased. */
        char up[128];
        size_t i = 0;
        for (const char *c = v->valuestring; *c && i < sizeof(up) - 1; c++)
            up[i++] = (*c >= 'a' && *c <= 'z') ? (char)(*c - 32) : *c;
        up[i] = '\0';
        return dx_error_set(err, DX_E_SERIALIZATION, "'%s' can not be converted to an Boolean", up);
    case DX_JT_INT:
    case DX_JT_LONG:
    case DX_JT_DOUBLE:
        if (cJSON_IsNumber(v))
            return DX_OK;
        return dx_error_set(err, DX_E_SERIALIZATION, "class %s can not be converted to %s",
                            cJSON_IsBool(v) ? "java.lang.Boolean" : "java.lang.String",
                            want_name(want));
    default:
        return DX_OK;
    }
}
