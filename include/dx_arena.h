/*
 * A request arena: many small allocations, freed all at once when the request ends.
 * Attribute-value trees, parsed expressions and decoded items of one request live in its arena,
 * so no code path has to free them one by one. Not thread-safe: one arena, one thread at a time.
 */
#ifndef DX_ARENA_H
#define DX_ARENA_H

#include <stddef.h>

struct dx_arena_chunk;

struct dx_arena {
    struct dx_arena_chunk *chunks;
    char *ptr; /* next free byte of the current chunk */
    char *end; /* end of the current chunk */
};

void dx_arena_init(struct dx_arena *a);
/* Frees every allocation made from a; a can be reused after dx_arena_init. */
void dx_arena_deinit(struct dx_arena *a);
/* n bytes aligned for any type, valid until dx_arena_deinit; aborts when out of memory. */
void *dx_arena_alloc(struct dx_arena *a, size_t n);
void *dx_arena_calloc(struct dx_arena *a, size_t n);
void *dx_arena_memdup(struct dx_arena *a, const void *p, size_t n);
/* Copy of s[0..n) plus a NUL terminator. */
char *dx_arena_strndup(struct dx_arena *a, const char *s, size_t n);

#endif
