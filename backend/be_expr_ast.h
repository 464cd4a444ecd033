/*
 * Private to the expression library (be_expr*.c): tokens, the syntax tree every expression
 * kind parses into, and the functions the library's files share.
 *
 * Parsing is two passes, as in DynamoDB: a pure syntax pass builds the tree (syntax errors
 * name the offending token), then a semantic pass resolves #names and :values, checks
 * reserved words, functions and operand types, and picks the one error DynamoDB reports.
 * Everything lives in the request arena.
 */
#ifndef BE_EXPR_AST_H
#define BE_EXPR_AST_H

#include <stddef.h>
#include <stdint.h>
#include "dx_arena.h"
#include "dx_av.h"
#include "dx_error.h"
#include "be_expr.h"
#include "dx_status.h"

/* ---- tokens (be_expr_lex.c) ---- */

enum be_expr_tok_kind {
    BE_EXPR_TK_EOF = 0,
    BE_EXPR_TK_IDENT,  /* [A-Za-z_][A-Za-z0-9_]* (keywords too) */
    BE_EXPR_TK_NAME,   /* #[A-Za-z0-9_]+ */
    BE_EXPR_TK_VALUE,  /* :[A-Za-z0-9_]+ */
    BE_EXPR_TK_NUMBER, /* [0-9]+ (list indexes) */
    BE_EXPR_TK_LPAREN,
    BE_EXPR_TK_RPAREN,
    BE_EXPR_TK_LBRACK,
    BE_EXPR_TK_RBRACK,
    BE_EXPR_TK_COMMA,
    BE_EXPR_TK_DOT,
    BE_EXPR_TK_EQ,
    BE_EXPR_TK_NE,
    BE_EXPR_TK_LT,
    BE_EXPR_TK_LE,
    BE_EXPR_TK_GT,
    BE_EXPR_TK_GE,
    BE_EXPR_TK_PLUS,
    BE_EXPR_TK_MINUS,
    BE_EXPR_TK_OTHER, /* any other character (one UTF-8 sequence) */
};

struct be_expr_tok {
    enum be_expr_tok_kind kind;
    uint32_t pos, len; /* bytes in the source */
};

/* Splits src into tokens (always ending with one BE_EXPR_TK_EOF at src_len); never fails.
 * The array lives in a. */
struct be_expr_tok *be_expr_lex(struct dx_arena *a, const char *src, size_t src_len, size_t *n);
/* Whether token t is the keyword kw (case-insensitive, kw upper case). */
int be_expr_tok_is(const char *src, const struct be_expr_tok *t, const char *kw);
/* Whether word[0..len) is one of DynamoDB's reserved words (case-insensitive). */
int be_expr_reserved(const char *word, size_t len);

/* ---- trees ---- */

/* One element of a document path: an attribute/member name or a list index. */
struct be_expr_pel {
    int is_index;
    uint32_t index;
    const char *name; /* resolved name (after #name substitution); not NUL-terminated */
    size_t len;
    /* as written: an identifier or a #placeholder (for the semantic pass) */
    const char *raw;
    size_t raw_len;
    int placeholder;
};

struct be_expr_path {
    struct be_expr_pel *el;
    size_t n;
};

enum be_expr_kind {
    BE_EXPR_PATH = 1,
    BE_EXPR_VALUE,   /* a :value (or a legacy AttributeValue) */
    BE_EXPR_FUNC,    /* function call, fn says which */
    BE_EXPR_CMP,     /* comparator in op */
    BE_EXPR_BETWEEN, /* args: operand, low, high */
    BE_EXPR_IN,      /* args: operand, candidates... */
    BE_EXPR_AND,
    BE_EXPR_OR,
    BE_EXPR_NOT,
    BE_EXPR_PLUS, /* update SET values */
    BE_EXPR_MINUS,
};

enum be_expr_cmp { BE_EXPR_EQ = 1, BE_EXPR_NE, BE_EXPR_LT, BE_EXPR_LE, BE_EXPR_GT, BE_EXPR_GE };

enum be_expr_fn {
    BE_EXPR_FN_UNKNOWN = 0,
    BE_EXPR_FN_ATTRIBUTE_EXISTS,
    BE_EXPR_FN_ATTRIBUTE_NOT_EXISTS,
    BE_EXPR_FN_ATTRIBUTE_TYPE,
    BE_EXPR_FN_BEGINS_WITH,
    BE_EXPR_FN_CONTAINS,
    BE_EXPR_FN_SIZE,
    BE_EXPR_FN_IF_NOT_EXISTS,
    BE_EXPR_FN_LIST_APPEND,
    /* legacy NOT_CONTAINS keeps DynamoDB's legacy meaning (true on a missing attribute) */
    BE_EXPR_FN_NOT_CONTAINS,
};

struct be_expr_node {
    enum be_expr_kind kind;
    int op;     /* enum be_expr_cmp for CMP, enum be_expr_fn for FUNC */
    int parens; /* parentheses written directly around this node */
    struct be_expr_node **args;
    size_t nargs;
    struct be_expr_path path;  /* PATH */
    const struct dx_av *value; /* VALUE (NULL until resolved) */
    const char *text;          /* FUNC name / VALUE placeholder as written */
    size_t text_len;
};

enum be_expr_action { BE_EXPR_SET = 1, BE_EXPR_REMOVE, BE_EXPR_ADD, BE_EXPR_DELETE };

struct be_expr_update {
    enum be_expr_action action;
    struct be_expr_path path;
    struct be_expr_node *value; /* SET: the value; ADD/DELETE: the :value; REMOVE: NULL */
    int legacy;                 /* from AttributeUpdates: legacy ADD (lists) and messages */
    int clause;                 /* which clause (SET, REMOVE, ...) of the expression, in order */
};

struct be_exprs {
    struct be_expr_node *condition;
    struct be_expr_node *filter;
    struct be_expr_node *keycond;
    struct be_expr_update *updates;
    size_t n_updates;
    int has_update;
    struct be_expr_path *proj;
    size_t n_proj;
    int has_proj;
    const char *keys[2];          /* the table's hash and range key names (NULL: none / unknown) */
    const struct be_table *table; /* for index key checks; NULL: unknown */
    int keycond_legacy;           /* keycond came from KeyConditions */
};

/* The type of the key attribute `name` of one of the table's indexes (0: not an index key).
 * Used for the index rules of updates. */
enum dx_av_type be_expr_index_key_type(const struct be_exprs *x, const char *name, size_t len);

/* The key-attribute rules of an update, checked when it runs (after its condition): no
 * nested path into a key in the values, no action on a key attribute. */
int be_expr_check_key_updates(const struct be_exprs *x, struct dx_error *err);

/* ---- parsing (be_expr_parse.c) ---- */

enum be_expr_kindname {
    BE_EXPR_K_CONDITION = 0,
    BE_EXPR_K_UPDATE,
    BE_EXPR_K_PROJECTION,
    BE_EXPR_K_FILTER,
    BE_EXPR_K_KEYCONDITION,
};
/* "ConditionExpression", ... */
const char *be_expr_kind_label(enum be_expr_kindname k);

/* Names and values of a request, and which of them the expressions used. */
struct be_expr_subst {
    const char **name_keys; /* "#n" */
    const char **name_vals; /* the attribute names they stand for */
    size_t n_names;
    char *name_used;
    const char **value_keys; /* ":v" */
    struct dx_av **value_vals;
    size_t n_values;
    char *value_used;
};

/*
 * Parses and checks one expression. The result is a condition tree (condition, filter, key
 * condition), an array of update actions, or an array of paths (projection). DynamoDB's
 * message goes to err with the "Invalid <Kind>Expression: " prefix.
 */
int be_expr_parse_condition(struct dx_arena *a, enum be_expr_kindname k, const char *src,
                            size_t len, struct be_expr_subst *s, struct be_expr_node **out,
                            struct dx_error *err);
int be_expr_parse_update(struct dx_arena *a, const char *src, size_t len, struct be_expr_subst *s,
                         struct be_expr_update **out, size_t *n, struct dx_error *err);
int be_expr_parse_projection(struct dx_arena *a, const char *src, size_t len,
                             struct be_expr_subst *s, struct be_expr_path **out, size_t *n,
                             struct dx_error *err);

/* "[a, b, [2]]" as DynamoDB prints paths in messages; in a. */
char *be_expr_path_str(struct dx_arena *a, const struct be_expr_path *p);

/* ---- evaluation (be_expr_eval.c) ---- */

/* The value at path p in item (a map), or NULL. */
struct dx_av *be_expr_path_get(const struct dx_av *item, const struct be_expr_path *p);
/* Evaluates a condition tree; *ok = 1 when it holds. item NULL: no item. */
int be_expr_eval_condition(const struct be_expr_node *n, const struct dx_av *item, int *ok,
                           struct dx_error *err);
/* DynamoDB ordering of two scalars of the same type (N numerically, S/B bytewise). */
int be_expr_av_cmp(const struct dx_av *x, const struct dx_av *y);

/* ---- projection (be_expr_project.c) ---- */

struct dx_av *be_expr_project_paths(struct dx_arena *a, const struct be_expr_path *paths, size_t n,
                                    const struct dx_av *item);

/* ---- legacy parameters (be_expr_legacy.c) ---- */

/* Expected (+ ConditionalOperator) -> condition tree; QueryFilter / ScanFilter -> filter tree
 * (messages name the member by the cJSON key of `filter`); AttributeUpdates -> update actions;
 * AttributesToGet -> paths. Validation messages are DynamoDB's. */
struct cJSON;
int be_expr_legacy_expected(struct dx_arena *a, const struct cJSON *expected,
                            const struct cJSON *condop, struct be_expr_node **out,
                            struct dx_error *err);
int be_expr_legacy_filter(struct dx_arena *a, const struct cJSON *filter,
                          const struct cJSON *condop, struct be_expr_node **out,
                          struct dx_error *err);
int be_expr_legacy_updates(struct dx_arena *a, const struct cJSON *updates,
                           struct be_expr_update **out, size_t *n, struct dx_error *err);
int be_expr_legacy_attrs(struct dx_arena *a, const struct cJSON *attrs, struct be_expr_path **out,
                         size_t *n, struct dx_error *err);

#endif
