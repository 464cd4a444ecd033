/*
 * Canonical cache keys (cache_key.h).
 *
 * Keys are byte strings for hashing and comparing, never shown to anyone, so every variable
 * part is written length-prefixed ("<len>:<bytes>"): no choice of attribute names or values
 * can make two different requests produce the same key. The functions are strict about
 * shape: anything unusual returns DX_EINVAL and the request simply bypasses the cache.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cjson/cJSON.h>
#include "cache_key.h"
#include "dx_alloc.h"
#include "dx_num.h"
#include "dx_status.h"

/* --- hashing --- */

static uint64_t mix64(uint64_t h)
{
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdULL;
    h ^= h >> 33;
    h *= 0xc4ceb9fe1a85ec53ULL;
    h ^= h >> 33;
    return h;
}

uint64_t cache_hash(const void *p, size_t n, uint64_t seed)
{
    const unsigned char *s = p;
    uint64_t h = seed ^ (n * 0x9E3779B97F4A7C15ULL);
    while (n >= 8) {
        uint64_t w;
        memcpy(&w, s, 8);
        h = (h ^ mix64(w)) * 0x9E3779B97F4A7C15ULL;
        s += 8;
        n -= 8;
    }
    uint64_t w = 0;
    for (size_t i = 0; i < n; i++)
        w |= (uint64_t)s[i] << (8 * i);
    h = (h ^ mix64(w ^ n)) * 0x9E3779B97F4A7C15ULL;
    return mix64(h);
}

/* --- pieces --- */

void cache_key_lp(struct dx_buf *out, const char *s, size_t n)
{
    /* by hand: printf is a measurable part of a cache hit */
    char tmp[24];
    size_t i = sizeof(tmp);
    tmp[--i] = ':';
    size_t v = n;
    do {
        tmp[--i] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    dx_buf_append(out, tmp + i, sizeof(tmp) - i);
    dx_buf_append(out, s, n);
}

int cache_key_table_name(const cJSON *tn, const char **name, size_t *len)
{
    if (!cJSON_IsString(tn) || !tn->valuestring || !tn->valuestring[0])
        return DX_EINVAL;
    const char *s = tn->valuestring;
    if (strncmp(s, "arn:", 4) == 0) {
        const char *t = strstr(s, ":table/");
        if (!t)
            return DX_EINVAL;
        s = t + 7;
        const char *slash = strchr(s, '/');
        *name = s;
        *len = slash ? (size_t)(slash - s) : strlen(s);
        return *len ? DX_OK : DX_EINVAL;
    }
    *name = s;
    *len = strlen(s);
    return DX_OK;
}

int cache_key_scalar(struct dx_buf *out, const cJSON *av)
{
    if (!cJSON_IsObject(av) || !av->child || av->child->next)
        return DX_EINVAL;
    const cJSON *v = av->child;
    if (!cJSON_IsString(v) || !v->string || !v->string[0] || v->string[1])
        return DX_EINVAL;
    const char *s = v->valuestring;
    size_t n = strlen(s);
    switch (v->string[0]) {
    case 'S':
    case 'B':
        dx_buf_putc(out, v->string[0]);
        cache_key_lp(out, s, n);
        return DX_OK;
    case 'N': {
        struct dx_num num;
        char text[DX_NUM_STRMAX];
        if (dx_num_parse(s, n, &num) != DX_NUM_OK)
            return DX_EINVAL;
        size_t tl = dx_num_format(&num, text);
        dx_buf_putc(out, 'N');
        cache_key_lp(out, text, tl);
        return DX_OK;
    }
    default:
        return DX_EINVAL;
    }
}

static int cmp_members(const void *a, const void *b)
{
    const cJSON *x = *(const cJSON *const *)a, *y = *(const cJSON *const *)b;
    int c = strcmp(x->string, y->string);
    if (c)
        return c;
    return (x > y) - (x < y); /* stable enough: same names keep tree order */
}

int cache_key_primary(struct dx_buf *out, const cJSON *map, const char *const *names, size_t nnames)
{
    const cJSON *m[2];
    size_t n = 0;
    if (!cJSON_IsObject(map))
        return DX_EINVAL;
    if (nnames) {
        if (nnames > 2)
            return DX_EINVAL;
        for (size_t i = 0; i < nnames; i++) {
            m[n] = cJSON_GetObjectItemCaseSensitive(map, names[i]);
            if (!m[n])
                return DX_EINVAL;
            n++;
        }
    } else {
        for (const cJSON *c = map->child; c; c = c->next) {
            if (n == 2 || !c->string)
                return DX_EINVAL;
            m[n++] = c;
        }
        if (n == 0)
            return DX_EINVAL;
    }
    if (n == 2) {
        int c = strcmp(m[0]->string, m[1]->string);
        if (c == 0)
            return DX_EINVAL; /* a duplicate member */
        if (c > 0) {
            const cJSON *t = m[0];
            m[0] = m[1];
            m[1] = t;
        }
    }
    for (size_t i = 0; i < n; i++) {
        cache_key_lp(out, m[i]->string, strlen(m[i]->string));
        if (cache_key_scalar(out, m[i]) != DX_OK)
            return DX_EINVAL;
    }
    return DX_OK;
}

/* --- projections --- */

static int is_word(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

static int is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* Marks the EAN member named name[0..n) as used; NULL when there is none. */
static const cJSON *ean_use(const cJSON *ean, const char *name, size_t n, unsigned char *used)
{
    size_t i = 0;
    for (const cJSON *c = ean ? ean->child : NULL; c; c = c->next, i++) {
        if (c->string && strlen(c->string) == n && memcmp(c->string, name, n) == 0) {
            if (i < 64)
                used[i] = 1;
            return c;
        }
    }
    return NULL;
}

static int check_ean(const cJSON *ean, size_t *count)
{
    *count = 0;
    if (!ean)
        return DX_OK;
    if (!cJSON_IsObject(ean) || !ean->child)
        return DX_EINVAL;
    for (const cJSON *c = ean->child; c; c = c->next) {
        if (!cJSON_IsString(c) || !c->string || c->string[0] != '#')
            return DX_EINVAL;
        ++*count;
    }
    return *count <= 64 ? DX_OK : DX_EINVAL;
}

int cache_key_projection(struct dx_buf *out, const cJSON *obj)
{
    const cJSON *pe = cJSON_GetObjectItemCaseSensitive(obj, "ProjectionExpression");
    const cJSON *ean = cJSON_GetObjectItemCaseSensitive(obj, "ExpressionAttributeNames");
    const cJSON *atg = cJSON_GetObjectItemCaseSensitive(obj, "AttributesToGet");
    size_t nean;
    if (check_ean(ean, &nean) != DX_OK)
        return DX_EINVAL;
    if (pe && atg)
        return DX_EINVAL;
    if (atg) {
        if (ean || !cJSON_IsArray(atg) || !atg->child)
            return DX_EINVAL;
        dx_buf_putc(out, 'A');
        for (const cJSON *c = atg->child; c; c = c->next) {
            if (!cJSON_IsString(c))
                return DX_EINVAL;
            for (const cJSON *d = atg->child; d != c; d = d->next)
                if (strcmp(d->valuestring, c->valuestring) == 0)
                    return DX_EINVAL; /* duplicates are rejected by DynamoDB */
            cache_key_lp(out, c->valuestring, strlen(c->valuestring));
        }
        return DX_OK;
    }
    if (!pe) {
        if (ean)
            return DX_EINVAL; /* names that nothing uses */
        dx_buf_putc(out, '-');
        return DX_OK;
    }
    if (!cJSON_IsString(pe) || !pe->valuestring[0])
        return DX_EINVAL;
    unsigned char used[64] = {0};
    const char *s = pe->valuestring;
    int last_word = 0, pending_space = 0;
    dx_buf_putc(out, 'P');
    while (*s) {
        if (is_space(*s)) {
            pending_space = 1;
            s++;
            continue;
        }
        int word = is_word(*s) || *s == '#';
        /* keep one space only where it separates two words ("a b" is not "ab") */
        if (pending_space && last_word && word)
            dx_buf_putc(out, ' ');
        pending_space = 0;
        if (*s == '#') {
            const char *start = s++;
            while (is_word(*s))
                s++;
            const cJSON *def = ean_use(ean, start, (size_t)(s - start), used);
            if (!def)
                return DX_EINVAL;
            dx_buf_putc(out, '#');
            cache_key_lp(out, def->valuestring, strlen(def->valuestring));
            last_word = 1;
            continue;
        }
        dx_buf_putc(out, *s);
        last_word = word;
        s++;
    }
    for (size_t i = 0; i < nean; i++)
        if (!used[i])
            return DX_EINVAL;
    return DX_OK;
}

/* --- normalization --- */

void cache_key_normalize(struct dx_buf *out, const cJSON *v, const char *drop)
{
    if (cJSON_IsObject(v)) {
        size_t n = 0;
        for (const cJSON *c = v->child; c; c = c->next)
            n++;
        const cJSON *stackv[16];
        const cJSON **m = n <= 16 ? stackv : dx_malloc(n * sizeof(*m));
        size_t k = 0;
        for (const cJSON *c = v->child; c; c = c->next)
            if (c->string && !(drop && strcmp(c->string, drop) == 0))
                m[k++] = c;
        qsort(m, k, sizeof(*m), cmp_members);
        dx_buf_putc(out, '{');
        for (size_t i = 0; i < k; i++) {
            if (i)
                dx_buf_putc(out, ',');
            dx_buf_json_str(out, m[i]->string, strlen(m[i]->string));
            dx_buf_putc(out, ':');
            cache_key_normalize(out, m[i], NULL);
        }
        dx_buf_putc(out, '}');
        if (m != stackv)
            dx_free(m);
    } else if (cJSON_IsArray(v)) {
        dx_buf_putc(out, '[');
        for (const cJSON *c = v->child; c; c = c->next) {
            if (c != v->child)
                dx_buf_putc(out, ',');
            cache_key_normalize(out, c, NULL);
        }
        dx_buf_putc(out, ']');
    } else if (cJSON_IsString(v)) {
        dx_buf_json_str(out, v->valuestring, strlen(v->valuestring));
    } else if (cJSON_IsNumber(v)) {
        dx_buf_printf(out, "%.17g", v->valuedouble);
    } else if (cJSON_IsTrue(v)) {
        dx_buf_puts(out, "true");
    } else if (cJSON_IsFalse(v)) {
        dx_buf_puts(out, "false");
    } else {
        dx_buf_puts(out, "null");
    }
}

/* --- key conditions --- */

enum tok { T_END, T_NAME, T_VALUE, T_EQ, T_OTHER };

struct lexer {
    const char *s;
    const cJSON *ean, *eav;
    const char *name; /* T_NAME: resolved name */
    size_t nlen;
    const cJSON *value; /* T_VALUE: resolved value */
    int bad;            /* an unresolvable placeholder */
};

static enum tok lex(struct lexer *lx)
{
    const char *s = lx->s;
    while (is_space(*s))
        s++;
    if (!*s) {
        lx->s = s;
        return T_END;
    }
    enum tok t = T_OTHER;
    if (*s == '#' || *s == ':') {
        const char *start = s++;
        while (is_word(*s))
            s++;
        size_t n = (size_t)(s - start);
        const cJSON *obj = *start == '#' ? lx->ean : lx->eav;
        const cJSON *def = NULL;
        for (const cJSON *c = obj ? obj->child : NULL; c; c = c->next)
            if (c->string && strlen(c->string) == n && memcmp(c->string, start, n) == 0)
                def = c;
        if (!def) {
            lx->bad = 1;
        } else if (*start == '#') {
            if (!cJSON_IsString(def))
                lx->bad = 1;
            else {
                lx->name = def->valuestring;
                lx->nlen = strlen(def->valuestring);
                t = T_NAME;
            }
        } else {
            lx->value = def;
            t = T_VALUE;
        }
    } else if (is_word(*s)) {
        lx->name = s;
        while (is_word(*s))
            s++;
        lx->nlen = (size_t)(s - lx->name);
        t = T_NAME;
    } else if (*s == '=' || *s == '<' || *s == '>') {
        const char *start = s;
        while (*s == '=' || *s == '<' || *s == '>')
            s++;
        t = (s - start == 1 && *start == '=') ? T_EQ : T_OTHER;
    } else {
        s++;
    }
    lx->s = s;
    return t;
}

int cache_key_equalities(const cJSON *req, cache_key_eq_cb cb, void *arg)
{
    const cJSON *kce = cJSON_GetObjectItemCaseSensitive(req, "KeyConditionExpression");
    const cJSON *kc = cJSON_GetObjectItemCaseSensitive(req, "KeyConditions");
    int found = 0;
    if (kce && kc)
        return DX_EINVAL;
    if (kc) {
        if (!cJSON_IsObject(kc))
            return DX_EINVAL;
        for (const cJSON *c = kc->child; c; c = c->next) {
            const cJSON *op = cJSON_GetObjectItemCaseSensitive(c, "ComparisonOperator");
            const cJSON *l = cJSON_GetObjectItemCaseSensitive(c, "AttributeValueList");
            if (!c->string || !cJSON_IsString(op))
                return DX_EINVAL;
            if (strcmp(op->valuestring, "EQ") != 0)
                continue;
            if (!cJSON_IsArray(l) || !l->child || l->child->next)
                return DX_EINVAL;
            cb(c->string, strlen(c->string), l->child, arg);
            found++;
        }
        return found ? found : DX_EINVAL;
    }
    if (!cJSON_IsString(kce))
        return DX_EINVAL;
    struct lexer lx = {
        .s = kce->valuestring,
        .ean = cJSON_GetObjectItemCaseSensitive(req, "ExpressionAttributeNames"),
        .eav = cJSON_GetObjectItemCaseSensitive(req, "ExpressionAttributeValues"),
    };
    /* A sliding window of three tokens: NAME = VALUE or VALUE = NAME. */
    struct {
        enum tok t;
        const char *name;
        size_t nlen;
        const cJSON *value;
    } w[3] = {{T_END, NULL, 0, NULL}, {T_END, NULL, 0, NULL}, {T_END, NULL, 0, NULL}};
    enum tok t;
    while ((t = lex(&lx)) != T_END) {
        w[0] = w[1];
        w[1] = w[2];
        w[2].t = t;
        w[2].name = lx.name;
        w[2].nlen = lx.nlen;
        w[2].value = lx.value;
        if (w[1].t != T_EQ)
            continue;
        if (w[0].t == T_NAME && w[2].t == T_VALUE) {
            cb(w[0].name, w[0].nlen, w[2].value, arg);
            found++;
        } else if (w[0].t == T_VALUE && w[2].t == T_NAME) {
            cb(w[2].name, w[2].nlen, w[0].value, arg);
            found++;
        }
    }
    if (lx.bad)
        return DX_EINVAL;
    return found ? found : DX_EINVAL;
}

/* --- JSON scanning --- */

static size_t skip_ws(const char *j, size_t i, size_t len)
{
    while (i < len && is_space(j[i]))
        i++;
    return i;
}

/* Index just past the string starting at j[i] == '"', or 0 when unterminated. */
static size_t skip_string(const char *j, size_t i, size_t len)
{
    for (i++; i < len; i++) {
        if (j[i] == '\\')
            i++;
        else if (j[i] == '"')
            return i + 1;
    }
    return 0;
}

/* Index just past the value starting at j[i], or 0 when malformed. */
static size_t skip_value(const char *j, size_t i, size_t len)
{
    if (i >= len)
        return 0;
    if (j[i] == '"')
        return skip_string(j, i, len);
    if (j[i] == '{' || j[i] == '[') {
        int depth = 0;
        for (; i < len; i++) {
            char c = j[i];
            if (c == '"') {
                size_t e = skip_string(j, i, len);
                if (!e)
                    return 0;
                i = e - 1;
            } else if (c == '{' || c == '[') {
                depth++;
            } else if (c == '}' || c == ']') {
                if (--depth == 0)
                    return i + 1;
            }
        }
        return 0;
    }
    while (i < len && j[i] != ',' && j[i] != '}' && j[i] != ']' && !is_space(j[i]))
        i++;
    return i;
}

int cache_json_member(const char *json, size_t len, const char *name, size_t *off, size_t *vlen)
{
    size_t nlen = strlen(name);
    size_t i = skip_ws(json, 0, len);
    if (i >= len || json[i] != '{')
        return DX_EINVAL;
    i = skip_ws(json, i + 1, len);
    if (i < len && json[i] == '}')
        return DX_ENOTFOUND;
    while (i < len) {
        if (json[i] != '"')
            return DX_EINVAL;
        size_t ks = i + 1, ke = skip_string(json, i, len);
        if (!ke)
            return DX_EINVAL;
        i = skip_ws(json, ke, len);
        if (i >= len || json[i] != ':')
            return DX_EINVAL;
        i = skip_ws(json, i + 1, len);
        size_t ve = skip_value(json, i, len);
        if (!ve)
            return DX_EINVAL;
        if (ke - 1 - ks == nlen && memcmp(json + ks, name, nlen) == 0) {
            *off = i;
            *vlen = ve - i;
            return DX_OK;
        }
        i = skip_ws(json, ve, len);
        if (i < len && json[i] == ',')
            i = skip_ws(json, i + 1, len);
        else
            break;
    }
    return DX_ENOTFOUND;
}
