/*
 * Request arena: bump allocation in chunks that double in size, all freed together. Requests
 * build many small trees (attribute values, expression nodes); freeing them one by one would
 * cost more than building them and would make every error path a leak hazard.
 */
#include <stdint.h>
#include <string.h>
#include "dx_alloc.h"
#include "dx_arena.h"

#define ARENA_ALIGN       16
#define ARENA_FIRST_CHUNK 4096

struct dx_arena_chunk {
    struct dx_arena_chunk *next;
    size_t size;
    /* the chunk's bytes follow, aligned */
    _Alignas(ARENA_ALIGN) char data[];
};

void dx_arena_init(struct dx_arena *a)
{
    a->chunks = NULL;
    a->ptr = a->end = NULL;
}

void dx_arena_deinit(struct dx_arena *a)
{
    struct dx_arena_chunk *c = a->chunks;
    while (c) {
        struct dx_arena_chunk *next = c->next;
        dx_free(c);
        c = next;
    }
    dx_arena_init(a);
}

void *dx_arena_alloc(struct dx_arena *a, size_t n)
{
    n = (n + ARENA_ALIGN - 1) & ~(size_t)(ARENA_ALIGN - 1);
    if (n == 0)
        n = ARENA_ALIGN;
    if ((size_t)(a->end - a->ptr) < n || a->ptr == NULL) {
        size_t size = a->chunks ? a->chunks->size * 2 : ARENA_FIRST_CHUNK;
        if (size > (1u << 20))
            size = 1u << 20;
        if (size < n)
            size = n;
        struct dx_arena_chunk *c = dx_malloc(sizeof(*c) + size);
        c->size = size;
        c->next = a->chunks;
        a->chunks = c;
        a->ptr = c->data;
        a->end = c->data + size;
    }
    void *p = a->ptr;
    a->ptr += n;
    return p;
}

void *dx_arena_calloc(struct dx_arena *a, size_t n)
{
    void *p = dx_arena_alloc(a, n);
    memset(p, 0, n);
    return p;
}

void *dx_arena_memdup(struct dx_arena *a, const void *p, size_t n)
{
    void *q = dx_arena_alloc(a, n);
    if (n)
        memcpy(q, p, n);
    return q;
}

char *dx_arena_strndup(struct dx_arena *a, const char *s, size_t n)
{
    char *q = dx_arena_alloc(a, n + 1);
    if (n)
        memcpy(q, s, n);
    q[n] = '\0';
    return q;
}
