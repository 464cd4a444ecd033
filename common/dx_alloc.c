/*
 * Allocation that never returns NULL. Out of memory is not a condition ddax can serve through:
 * the cache bounds itself by eviction, so a failed malloc means the machine is exhausted and the
 * only honest answer is to stop at once, loudly.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "dx_alloc.h"

static void oom(size_t n)
{
    fprintf(stderr, "ddax: out of memory allocating %zu bytes\n", n);
    abort();
}

void *dx_malloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p)
        oom(n);
    return p;
}

void *dx_calloc(size_t count, size_t n)
{
    void *p = calloc(count ? count : 1, n ? n : 1);
    if (!p)
        oom(count * n);
    return p;
}

void *dx_realloc(void *p, size_t n)
{
    void *q = realloc(p, n ? n : 1);
    if (!q)
        oom(n);
    return q;
}

char *dx_strndup(const char *s, size_t n)
{
    char *p = dx_malloc(n + 1);
    memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

char *dx_strdup(const char *s)
{
    return dx_strndup(s, strlen(s));
}

void dx_free(void *p)
{
    free(p);
}
