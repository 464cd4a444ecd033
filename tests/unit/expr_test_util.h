/*
 * Shared by the expression tests: requests and items are written in the case tables as JSON
 * with single quotes (readable C strings), turned into real JSON here.
 */
#ifndef EXPR_TEST_UTIL_H
#define EXPR_TEST_UTIL_H

#include <stdlib.h>
#include <string.h>
#include <cjson/cJSON.h>
#include "dx_arena.h"
#include "dx_av.h"
#include "dx_error.h"
#include "dx_status.h"

/* s with every ' turned into "; malloc'd, the caller frees it. */
static inline char *jsonify(const char *s)
{
    char *r = strdup(s);
    for (char *p = r; *p; p++)
        if (*p == '\'')
            *p = '"';
    return r;
}

/* The attribute-value map written (single-quoted) in text, as a tree in a. */
static inline struct dx_av *av(struct dx_arena *a, const char *text)
{
    char *j = jsonify(text);
    cJSON *c = cJSON_Parse(j);
    struct dx_av *v = NULL;
    struct dx_error err = {0};
    assert_non_null(c);
    assert_int_equal(dx_av_map_from_json(a, c, &v, &err), DX_OK);
    cJSON_Delete(c);
    free(j);
    return v;
}

#endif
