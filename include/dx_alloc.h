/*
 * Allocation that never returns NULL: running out of memory aborts the process (the cache
 * limit is enforced by eviction, not by failing allocations). jemalloc is linked in by the
 * server, so these are jemalloc's malloc/free underneath.
 */
#ifndef DX_ALLOC_H
#define DX_ALLOC_H

#include <stddef.h>

void *dx_malloc(size_t n);
void *dx_calloc(size_t count, size_t n);
void *dx_realloc(void *p, size_t n);
char *dx_strdup(const char *s);
char *dx_strndup(const char *s, size_t n);
void dx_free(void *p);

#endif
