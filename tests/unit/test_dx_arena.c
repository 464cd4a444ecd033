/* dx_arena: alignment, growth past the chunk size, and copies. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>
#include "dx_arena.h"

static void test_alloc(void **state)
{
    struct dx_arena a;
    dx_arena_init(&a);
    char *prev = NULL;
    for (int i = 1; i < 3000; i++) {
        char *p = dx_arena_alloc(&a, (size_t)(i % 97) + 1);
        assert_int_equal((uintptr_t)p % 16, 0);
        memset(p, 0xab, (size_t)(i % 97) + 1); /* ASan checks the bounds */
        assert_true(p != prev);
        prev = p;
    }
    char *big = dx_arena_alloc(&a, 5u << 20); /* larger than any chunk */
    memset(big, 1, 5u << 20);
    char *s = dx_arena_strndup(&a, "hello world", 5);
    assert_string_equal(s, "hello");
    int *z = dx_arena_calloc(&a, 64 * sizeof(int));
    for (int i = 0; i < 64; i++)
        assert_int_equal(z[i], 0);
    dx_arena_deinit(&a);
    assert_null(a.chunks);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_alloc)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
