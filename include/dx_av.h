/*
 * The attribute-value model: DynamoDB's AttributeValue as a C tree, and its JSON codec.
 *
 * Every tree lives in a request arena (dx_arena.h): nodes are never freed one by one, and a
 * tree is valid until its arena is deinitialised. Trees are canonical, so that equal values
 * have equal shapes:
 *   - N holds the canonical number text (dx_num_format), validated on input;
 *   - B holds the decoded bytes (not base64);
 *   - M members are sorted by name (bytewise) and names are unique;
 *   - SS/NS/BS elements are nodes of type S/N/B, unique, sorted bytewise by their text/bytes.
 * cJSON trees stay inside this codec and the request parsers: the cache and the storage never
 * see them.
 */
#ifndef DX_AV_H
#define DX_AV_H

#include <stddef.h>
#include "dx_arena.h"
#include "dx_buf.h"
#include "dx_error.h"

struct cJSON;

enum dx_av_type {
    DX_AV_S = 1,
    DX_AV_N,
    DX_AV_B,
    DX_AV_BOOL,
    DX_AV_NULL,
    DX_AV_M,
    DX_AV_L,
    DX_AV_SS,
    DX_AV_NS,
    DX_AV_BS,
};

struct dx_av;

struct dx_av_member {
    const char *name; /* not NUL-terminated in general; use name_len */
    size_t name_len;
    struct dx_av *value;
};

struct dx_av {
    enum dx_av_type type;
    union {
        struct {
            const char *p;
            size_t len;
        } bytes; /* S: UTF-8 text; N: canonical number text; B: raw bytes */
        int boolean;
        struct {
            struct dx_av_member *m;
            size_t n, cap;
        } map; /* M (and an item, which is a map) */
        struct {
            struct dx_av **v;
            size_t n, cap;
        } list; /* L in order; SS, NS, BS canonical as said above */
    } u;
};

/* "S", "N", ... as DynamoDB spells the type; static storage. */
const char *dx_av_type_name(enum dx_av_type t);
/* The type for "S", "N", ...; 0 when the text names no type. */
enum dx_av_type dx_av_type_from_name(const char *s, size_t len);

/* Constructors: nodes and copies of the given bytes live in a. */
struct dx_av *dx_av_new_bytes(struct dx_arena *a, enum dx_av_type t, const void *p, size_t len);
struct dx_av *dx_av_new_bool(struct dx_arena *a, int value);
struct dx_av *dx_av_new_null(struct dx_arena *a);
struct dx_av *dx_av_new_map(struct dx_arena *a);
struct dx_av *dx_av_new_list(struct dx_arena *a, enum dx_av_type t); /* L, SS, NS or BS */
/* Deep copy into a. */
struct dx_av *dx_av_copy(struct dx_arena *a, const struct dx_av *v);

/* Map access. get returns the member's value or NULL (borrowed from the tree). set inserts or
 * replaces, keeping members sorted; the name is copied into a. remove returns 1 if removed. */
struct dx_av *dx_av_map_get(const struct dx_av *m, const char *name, size_t len);
void dx_av_map_set(struct dx_arena *a, struct dx_av *m, const char *name, size_t len,
                   struct dx_av *value);
int dx_av_map_remove(struct dx_av *m, const char *name, size_t len);
/* Appends to an L, or adds to a set keeping it canonical (duplicates ignored). */
void dx_av_list_append(struct dx_arena *a, struct dx_av *l, struct dx_av *value);

/* DynamoDB equality: same type and value (numbers numerically, sets as sets). */
int dx_av_equal(const struct dx_av *a, const struct dx_av *b);
/* DynamoDB's size in bytes of a value (attribute name not included), as used for the 400 KB
 * item limit and capacity units. */
size_t dx_av_size(const struct dx_av *v);
/* Size of an item (map): the sum over attributes of name bytes + value size. */
size_t dx_av_item_size(const struct dx_av *item);

/*
 * JSON -> tree. j is one AttributeValue object ({"S": "x"}); the result is validated as
 * DynamoDB validates input: exactly one type, numbers valid (canonicalised), base64 valid, sets
 * not empty and without duplicates, nesting at most 32 levels. Returns DX_OK, or DX_EREQ with
 * DynamoDB's SerializationException / ValidationException in err.
 */
int dx_av_from_json(struct dx_arena *a, const struct cJSON *j, struct dx_av **out,
                    struct dx_error *err);
/* JSON object of name -> AttributeValue (an Item, a Key, ExpressionAttributeValues) -> M. */
int dx_av_map_from_json(struct dx_arena *a, const struct cJSON *j, struct dx_av **out,
                        struct dx_error *err);

/* Tree -> JSON: one AttributeValue object, or a map as a name -> AttributeValue object. */
void dx_av_write_json(struct dx_buf *out, const struct dx_av *v);
void dx_av_map_write_json(struct dx_buf *out, const struct dx_av *m);

#endif
