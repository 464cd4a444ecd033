/*
 * Recursive-descent parser of condition (and filter and key-condition), update and
 * projection expressions, and the checks that follow it.
 *
 * Pass 1 builds the tree from the tokens without looking at names or values. It backtracks
 * where the grammar needs it ("(a) = :v" against "(a = :v)"); the syntax error reported is the
 * token where the furthest attempt failed, with DynamoDB's context: the source from the token
 * before it to the token after it. Parentheses directly around parentheses stop the reading
 * ("The expression has redundant parentheses;"), as in DynamoDB.
 *
 * Pass 2 walks the tree and reports the first problem in DynamoDB's order (see the comment
 * above struct chk): reserved words, functions and their places, repeated update sections,
 * overlapping paths, #names and :values, operand types and counts.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include "be_expr_ast.h"
#include "dx_buf.h"

const char *be_expr_kind_label(enum be_expr_kindname k)
{
    switch (k) {
    case BE_EXPR_K_CONDITION:
        return "ConditionExpression";
    case BE_EXPR_K_UPDATE:
        return "UpdateExpression";
    case BE_EXPR_K_PROJECTION:
        return "ProjectionExpression";
    case BE_EXPR_K_FILTER:
        return "FilterExpression";
    case BE_EXPR_K_KEYCONDITION:
        return "KeyConditionExpression";
    }
    return "Expression";
}

/* ------------------------------------------------------------------ pass 1: syntax */

struct ps {
    struct dx_arena *a;
    const char *src;
    size_t len;
    struct be_expr_tok *t;
    size_t nt;
    size_t i;
    size_t fail;   /* furthest token where an attempt failed */
    int redundant; /* "((x))" seen: DynamoDB stops reading there */
    enum be_expr_kindname kind;
};

static const struct be_expr_tok *cur(struct ps *p)
{
    return &p->t[p->i];
}

static int at(struct ps *p, enum be_expr_tok_kind k)
{
    return p->t[p->i].kind == k;
}

static int at_kw(struct ps *p, const char *kw)
{
    return be_expr_tok_is(p->src, cur(p), kw);
}

static void *fail(struct ps *p)
{
    if (p->i > p->fail)
        p->fail = p->i;
    return NULL;
}

/* The nine keywords of the grammar, in every kind of expression: they never name an attribute
 * (a #placeholder must), and are a syntax error where the grammar does not expect them. */
static int is_grammar_word(struct ps *p, const struct be_expr_tok *t)
{
    static const char *const kw[] = {"AND", "OR",     "NOT", "BETWEEN", "IN",
                                     "SET", "REMOVE", "ADD", "DELETE",  NULL};
    if (t->kind != BE_EXPR_TK_IDENT)
        return 0;
    for (const char *const *w = kw; *w; w++)
        if (be_expr_tok_is(p->src, t, *w))
            return 1;
    return 0;
}

static struct be_expr_node *new_node(struct ps *p, enum be_expr_kind k)
{
    struct be_expr_node *n = dx_arena_calloc(p->a, sizeof(*n));
    n->kind = k;
    return n;
}

static void add_arg(struct ps *p, struct be_expr_node *n, struct be_expr_node *arg, size_t *cap)
{
    if (n->nargs == *cap) {
        size_t nc = *cap ? *cap * 2 : 4;
        struct be_expr_node **na = dx_arena_alloc(p->a, nc * sizeof(*na));
        if (n->nargs)
            memcpy(na, n->args, n->nargs * sizeof(*na));
        n->args = na;
        *cap = nc;
    }
    n->args[n->nargs++] = arg;
}

static struct be_expr_node *node2(struct ps *p, enum be_expr_kind k, struct be_expr_node *x,
                                  struct be_expr_node *y)
{
    struct be_expr_node *n = new_node(p, k);
    n->args = dx_arena_alloc(p->a, 2 * sizeof(*n->args));
    n->args[0] = x;
    n->args[1] = y;
    n->nargs = 2;
    return n;
}

static int path_elem(struct ps *p, struct be_expr_pel *e)
{
    const struct be_expr_tok *t = cur(p);
    memset(e, 0, sizeof(*e));
    if (t->kind == BE_EXPR_TK_NAME) {
        e->placeholder = 1;
    } else if (t->kind != BE_EXPR_TK_IDENT || is_grammar_word(p, t)) {
        fail(p);
        return -1;
    }
    e->raw = p->src + t->pos;
    e->raw_len = t->len;
    e->name = e->raw;
    e->len = e->raw_len;
    p->i++;
    return 0;
}

static int parse_path(struct ps *p, struct be_expr_path *out)
{
    size_t cap = 4, n = 0;
    struct be_expr_pel *el = dx_arena_alloc(p->a, cap * sizeof(*el));
    if (path_elem(p, &el[0]) < 0)
        return -1;
    n = 1;
    for (;;) {
        struct be_expr_pel e;
        if (at(p, BE_EXPR_TK_DOT)) {
            p->i++;
            if (path_elem(p, &e) < 0)
                return -1;
        } else if (at(p, BE_EXPR_TK_LBRACK)) {
            p->i++;
            if (!at(p, BE_EXPR_TK_NUMBER)) {
                fail(p);
                return -1;
            }
            memset(&e, 0, sizeof(e));
            e.is_index = 1;
            const struct be_expr_tok *t = cur(p);
            e.raw = p->src + t->pos;
            e.raw_len = t->len;
            uint64_t v = 0;
            for (uint32_t k = 0; k < t->len; k++) {
                v = v * 10 + (uint64_t)(p->src[t->pos + k] - '0');
                if (v > UINT32_MAX)
                    v = UINT32_MAX;
            }
            e.index = (uint32_t)v;
            p->i++;
            if (!at(p, BE_EXPR_TK_RBRACK)) {
                fail(p);
                return -1;
            }
            p->i++;
        } else {
            break;
        }
        if (n == cap) {
            struct be_expr_pel *ne = dx_arena_alloc(p->a, 2 * cap * sizeof(*ne));
            memcpy(ne, el, n * sizeof(*ne));
            el = ne;
            cap *= 2;
        }
        el[n++] = e;
    }
    out->el = el;
    out->n = n;
    return 0;
}

static struct be_expr_node *parse_operand(struct ps *p);

/* operand (',' operand)* ')' after an opening parenthesis: each operand becomes an argument
 * of n (a call or IN). Returns n, or NULL on a syntax error. */
static struct be_expr_node *parse_operand_list(struct ps *p, struct be_expr_node *n, size_t *cap)
{
    for (;;) {
        struct be_expr_node *arg = parse_operand(p);
        if (!arg)
            return NULL;
        add_arg(p, n, arg, cap);
        if (at(p, BE_EXPR_TK_COMMA)) {
            p->i++;
            continue;
        }
        if (!at(p, BE_EXPR_TK_RPAREN))
            return fail(p);
        p->i++;
        return n;
    }
}

/* name '(' operand (',' operand)* ')' with the name token current and '(' next. */
static struct be_expr_node *parse_call(struct ps *p)
{
    struct be_expr_node *n = new_node(p, BE_EXPR_FUNC);
    size_t cap = 0;
    n->text = p->src + cur(p)->pos;
    n->text_len = cur(p)->len;
    p->i += 2;
    return parse_operand_list(p, n, &cap);
}

/* An operand: a path, a :value, a function call, or one of these in parentheses. */
static struct be_expr_node *parse_operand(struct ps *p)
{
    const struct be_expr_tok *t = cur(p);
    if (t->kind == BE_EXPR_TK_LPAREN) {
        p->i++;
        struct be_expr_node *n = parse_operand(p);
        if (!n)
            return NULL;
        if (!at(p, BE_EXPR_TK_RPAREN))
            return fail(p);
        p->i++;
        if (n->parens) {
            p->redundant = 1;
            return NULL;
        }
        n->parens++;
        return n;
    }
    if (t->kind == BE_EXPR_TK_VALUE) {
        struct be_expr_node *n = new_node(p, BE_EXPR_VALUE);
        n->text = p->src + t->pos;
        n->text_len = t->len;
        p->i++;
        return n;
    }
    if (t->kind == BE_EXPR_TK_IDENT && p->t[p->i + 1].kind == BE_EXPR_TK_LPAREN &&
        !is_grammar_word(p, t) && p->kind != BE_EXPR_K_PROJECTION)
        return parse_call(p);
    struct be_expr_node *n = new_node(p, BE_EXPR_PATH);
    if (parse_path(p, &n->path) < 0)
        return NULL;
    return n;
}

static int at_comparator(struct ps *p, int *op)
{
    switch (cur(p)->kind) {
    case BE_EXPR_TK_EQ:
        *op = BE_EXPR_EQ;
        return 1;
    case BE_EXPR_TK_NE:
        *op = BE_EXPR_NE;
        return 1;
    case BE_EXPR_TK_LT:
        *op = BE_EXPR_LT;
        return 1;
    case BE_EXPR_TK_LE:
        *op = BE_EXPR_LE;
        return 1;
    case BE_EXPR_TK_GT:
        *op = BE_EXPR_GT;
        return 1;
    case BE_EXPR_TK_GE:
        *op = BE_EXPR_GE;
        return 1;
    default:
        return 0;
    }
}

static struct be_expr_node *parse_or(struct ps *p);

/* comparison | BETWEEN | IN | function call used as a condition */
static struct be_expr_node *parse_comparison(struct ps *p)
{
    int op;
    struct be_expr_node *x = parse_operand(p);
    if (!x)
        return NULL;
    if (at_comparator(p, &op)) {
        p->i++;
        struct be_expr_node *y = parse_operand(p);
        if (!y)
            return NULL;
        struct be_expr_node *n = node2(p, BE_EXPR_CMP, x, y);
        n->op = op;
        return n;
    }
    if (at_kw(p, "BETWEEN")) {
        p->i++;
        struct be_expr_node *lo = parse_operand(p);
        if (!lo)
            return NULL;
        if (!at_kw(p, "AND"))
            return fail(p);
        p->i++;
        struct be_expr_node *hi = parse_operand(p);
        if (!hi)
            return NULL;
        struct be_expr_node *n = new_node(p, BE_EXPR_BETWEEN);
        size_t cap = 0;
        add_arg(p, n, x, &cap);
        add_arg(p, n, lo, &cap);
        add_arg(p, n, hi, &cap);
        return n;
    }
    if (at_kw(p, "IN")) {
        p->i++;
        if (!at(p, BE_EXPR_TK_LPAREN))
            return fail(p);
        p->i++;
        struct be_expr_node *n = new_node(p, BE_EXPR_IN);
        size_t cap = 0;
        add_arg(p, n, x, &cap);
        return parse_operand_list(p, n, &cap);
    }
    if (x->kind == BE_EXPR_FUNC)
        return x;
    return fail(p);
}

/* '(' condition ')' when that reads, else a comparison whose first operand is in parentheses
 * ("(a) = :v"); the syntax error reported is the one of the attempt that read furthest. */
static struct be_expr_node *parse_primary(struct ps *p)
{
    if (at(p, BE_EXPR_TK_LPAREN)) {
        size_t save = p->i;
        p->i++;
        struct be_expr_node *n = parse_or(p);
        if (p->redundant)
            return NULL;
        if (n && at(p, BE_EXPR_TK_RPAREN)) {
            p->i++;
            int op;
            if (!at_comparator(p, &op) && !at_kw(p, "BETWEEN") && !at_kw(p, "IN")) {
                if (n->parens) {
                    p->redundant = 1;
                    return NULL;
                }
                n->parens++;
                return n;
            }
            /* "(size(a)) > :v": no condition may be followed by a comparator, so the
             * parentheses belong to the first operand. */
            fail(p);
        } else if (n) {
            fail(p);
        }
        p->i = save;
        return parse_comparison(p);
    }
    return parse_comparison(p);
}

static struct be_expr_node *parse_not(struct ps *p)
{
    if (at_kw(p, "NOT")) {
        p->i++;
        struct be_expr_node *x = parse_not(p);
        if (!x)
            return NULL;
        struct be_expr_node *n = new_node(p, BE_EXPR_NOT);
        size_t cap = 0;
        add_arg(p, n, x, &cap);
        return n;
    }
    return parse_primary(p);
}

static struct be_expr_node *parse_and(struct ps *p)
{
    struct be_expr_node *x = parse_not(p);
    while (x && at_kw(p, "AND")) {
        p->i++;
        struct be_expr_node *y = parse_not(p);
        if (!y)
            return NULL;
        x = node2(p, BE_EXPR_AND, x, y);
    }
    return x;
}

static struct be_expr_node *parse_or(struct ps *p)
{
    struct be_expr_node *x = parse_and(p);
    while (x && at_kw(p, "OR")) {
        p->i++;
        struct be_expr_node *y = parse_and(p);
        if (!y)
            return NULL;
        x = node2(p, BE_EXPR_OR, x, y);
    }
    return x;
}

/* DynamoDB's syntax error: the token where reading stopped, and the source from the start of
 * the token before it (or the start of the text) to the end of the token after it. */
static int syntax_error(struct ps *p, struct dx_error *err)
{
    const char *label = be_expr_kind_label(p->kind);
    if (p->redundant)
        return dx_error_set(err, DX_E_VALIDATION,
                            "Invalid %s: The expression has redundant parentheses;", label);
    size_t f = p->fail < p->nt ? p->fail : p->nt - 1;
    const struct be_expr_tok *t = &p->t[f];
    size_t from = f > 0 ? p->t[f - 1].pos : 0;
    size_t to = f + 1 < p->nt ? p->t[f + 1].pos + p->t[f + 1].len : t->pos + t->len;
    if (t->kind == BE_EXPR_TK_EOF) {
        to = p->len;
        return dx_error_set(err, DX_E_VALIDATION,
                            "Invalid %s: Syntax error; token: \"<EOF>\", near: \"%.*s\"", label,
                            (int)(to - from), p->src + from);
    }
    if (p->t[f + 1].kind == BE_EXPR_TK_EOF)
        to = p->len;
    return dx_error_set(err, DX_E_VALIDATION,
                        "Invalid %s: Syntax error; token: \"%.*s\", near: \"%.*s\"", label,
                        (int)t->len, p->src + t->pos, (int)(to - from), p->src + from);
}

static void ps_init(struct ps *p, struct dx_arena *a, enum be_expr_kindname k, const char *src,
                    size_t len)
{
    memset(p, 0, sizeof(*p));
    p->a = a;
    p->src = src;
    p->len = len;
    p->kind = k;
    p->t = be_expr_lex(a, src, len, &p->nt);
}

/* ------------------------------------------------------------------ pass 2: checks */

/*
 * The checks after a successful parse, in DynamoDB's order; the first problem found is the
 * one reported. First, in source order: reserved words, list index range, function names and
 * where each function may be used (and, in conditions, operand counts). For an update, by
 * section: a repeated section. Then, for an update, undefined #names in the paths and
 * overlapping paths. Then #names, :values, operand counts (updates), operand types, distinct
 * operands, BETWEEN bounds; an update's actions from the last to the first.
 */
struct chk {
    struct dx_arena *a;
    struct be_expr_subst *s;
    enum be_expr_kindname kind;
    struct dx_error *err;
};

static int bad(struct chk *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int bad(struct chk *c, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    return dx_error_set(c->err, DX_E_VALIDATION, "Invalid %s: %s", be_expr_kind_label(c->kind),
                        msg);
}

char *be_expr_path_str(struct dx_arena *a, const struct be_expr_path *p)
{
    struct dx_buf b = DX_BUF_INIT;
    dx_buf_putc(&b, '[');
    for (size_t i = 0; i < p->n; i++) {
        if (i)
            dx_buf_puts(&b, ", ");
        if (p->el[i].is_index)
            dx_buf_printf(&b, "[%.*s]", (int)p->el[i].raw_len, p->el[i].raw);
        else if (p->el[i].name)
            dx_buf_append(&b, p->el[i].name, p->el[i].len);
        else
            dx_buf_append(&b, p->el[i].raw, p->el[i].raw_len);
    }
    dx_buf_putc(&b, ']');
    char *s = dx_arena_strndup(a, b.p, b.len);
    dx_buf_deinit(&b);
    return s;
}

static const struct {
    const char *name;
    enum be_expr_fn fn;
    int arity;
    int update;    /* an update function */
    int condition; /* a condition on its own (size is an operand) */
} functions[] = {
    {"attribute_exists", BE_EXPR_FN_ATTRIBUTE_EXISTS, 1, 0, 1},
    {"attribute_not_exists", BE_EXPR_FN_ATTRIBUTE_NOT_EXISTS, 1, 0, 1},
    {"attribute_type", BE_EXPR_FN_ATTRIBUTE_TYPE, 2, 0, 1},
    {"begins_with", BE_EXPR_FN_BEGINS_WITH, 2, 0, 1},
    {"contains", BE_EXPR_FN_CONTAINS, 2, 0, 1},
    {"size", BE_EXPR_FN_SIZE, 1, 0, 0},
    {"if_not_exists", BE_EXPR_FN_IF_NOT_EXISTS, 2, 1, 0},
    {"list_append", BE_EXPR_FN_LIST_APPEND, 2, 1, 0},
};

static int fn_index(const struct be_expr_node *n)
{
    for (size_t i = 0; i < sizeof(functions) / sizeof(functions[0]); i++)
        if (strlen(functions[i].name) == n->text_len &&
            memcmp(functions[i].name, n->text, n->text_len) == 0)
            return (int)i;
    return -1;
}

static int check_arity(struct chk *c, const struct be_expr_node *n, int fi)
{
    if ((int)n->nargs != functions[fi].arity)
        return bad(c,
                   "Incorrect number of operands for operator or function; operator or function: "
                   "%s, number of operands: %zu",
                   functions[fi].name, n->nargs);
    return DX_OK;
}

/* First pass; as_condition: the node stands where a condition is expected. */
static int visit1(struct chk *c, struct be_expr_node *n, int as_condition)
{
    int rc;
    switch (n->kind) {
    case BE_EXPR_PATH:
        for (size_t i = 0; i < n->path.n; i++) {
            const struct be_expr_pel *e = &n->path.el[i];
            if (e->is_index) {
                if (e->raw_len > 10 || e->index > 2147483647u)
                    return bad(c, "List index is not within the allowable range; index: [%.*s]",
                               (int)e->raw_len, e->raw);
            } else if (!e->placeholder && be_expr_reserved(e->raw, e->raw_len)) {
                return bad(c, "Attribute name is a reserved keyword; reserved keyword: %.*s",
                           (int)e->raw_len, e->raw);
            }
        }
        return DX_OK;
    case BE_EXPR_VALUE:
        return DX_OK;
    case BE_EXPR_FUNC: {
        int fi = fn_index(n);
        if (fi < 0)
            return bad(c, "Invalid function name; function: %.*s", (int)n->text_len, n->text);
        n->op = functions[fi].fn;
        if (c->kind == BE_EXPR_K_UPDATE) {
            if (!functions[fi].update)
                return bad(c, "The function is not allowed in an update expression; function: %s",
                           functions[fi].name);
        } else {
            if (functions[fi].update)
                return bad(c, "The function is not allowed in a condition expression; function: %s",
                           functions[fi].name);
            if (as_condition != functions[fi].condition)
                return bad(c,
                           "The function is not allowed to be used this way in an expression; "
                           "function: %s",
                           functions[fi].name);
            if ((rc = check_arity(c, n, fi)) != DX_OK)
                return rc;
        }
        for (size_t i = 0; i < n->nargs; i++)
            if ((rc = visit1(c, n->args[i], 0)) != DX_OK)
                return rc;
        return DX_OK;
    }
    case BE_EXPR_AND:
    case BE_EXPR_OR:
    case BE_EXPR_NOT:
        for (size_t i = 0; i < n->nargs; i++)
            if ((rc = visit1(c, n->args[i], 1)) != DX_OK)
                return rc;
        return DX_OK;
    default:
        for (size_t i = 0; i < n->nargs; i++)
            if ((rc = visit1(c, n->args[i], 0)) != DX_OK)
                return rc;
        return DX_OK;
    }
}

/* Resolves the #names of a path; marks them used. */
static int use_path(struct chk *c, struct be_expr_path *p)
{
    for (size_t i = 0; i < p->n; i++) {
        struct be_expr_pel *e = &p->el[i];
        if (e->is_index || !e->placeholder)
            continue;
        size_t k;
        for (k = 0; k < c->s->n_names; k++)
            if (strlen(c->s->name_keys[k]) == e->raw_len &&
                memcmp(c->s->name_keys[k], e->raw, e->raw_len) == 0)
                break;
        if (k == c->s->n_names)
            return bad(c,
                       "An expression attribute name used in the document path is not defined; "
                       "attribute name: %.*s",
                       (int)e->raw_len, e->raw);
        c->s->name_used[k] = 1;
        e->name = c->s->name_vals[k];
        e->len = strlen(e->name);
    }
    if (p->n > 32)
        return bad(c, "The document path has too many nesting levels; nesting levels: %zu", p->n);
    return DX_OK;
}

static int use_value(struct chk *c, struct be_expr_node *n)
{
    for (size_t k = 0; k < c->s->n_values; k++) {
        if (strlen(c->s->value_keys[k]) == n->text_len &&
            memcmp(c->s->value_keys[k], n->text, n->text_len) == 0) {
            c->s->value_used[k] = 1;
            n->value = c->s->value_vals[k];
            return DX_OK;
        }
    }
    return bad(c,
               "An expression attribute value used in expression is not defined; attribute value: "
               "%.*s",
               (int)n->text_len, n->text);
}

/* The type an operand is known to have before evaluation: a :value's, or N for size(). */
static enum dx_av_type static_type(const struct be_expr_node *n)
{
    if (n->kind == BE_EXPR_VALUE)
        return n->value ? n->value->type : 0;
    if (n->kind == BE_EXPR_FUNC && n->op == BE_EXPR_FN_SIZE)
        return DX_AV_N;
    return 0;
}

static int same_path(const struct be_expr_node *x, const struct be_expr_node *y)
{
    if (x->kind != BE_EXPR_PATH || y->kind != BE_EXPR_PATH || x->path.n != y->path.n)
        return 0;
    for (size_t i = 0; i < x->path.n; i++) {
        const struct be_expr_pel *a = &x->path.el[i], *b = &y->path.el[i];
        if (a->is_index != b->is_index)
            return 0;
        if (a->is_index ? a->index != b->index
                        : (!a->name || !b->name || a->len != b->len ||
                           memcmp(a->name, b->name, a->len) != 0))
            return 0;
    }
    return 1;
}

static int distinct(struct chk *c, const char *op, struct be_expr_node **args, size_t n)
{
    if (n < 2 || args[0]->kind != BE_EXPR_PATH)
        return DX_OK;
    for (size_t i = 1; i < n; i++)
        if (same_path(args[0], args[i]))
            return bad(c,
                       "The first operand must be distinct from the remaining operands for this "
                       "operator or function; operator: %s, first operand: %s",
                       op, be_expr_path_str(c->a, &args[0]->path));
    return DX_OK;
}

static int type_problem(struct chk *c, const char *op, const char *type)
{
    return bad(c,
               "Incorrect operand type for operator or function; operator or function: %s, "
               "operand type: %s",
               op, type);
}

static const char *cmp_label(int op)
{
    switch (op) {
    case BE_EXPR_EQ:
        return "=";
    case BE_EXPR_NE:
        return "<>";
    case BE_EXPR_LT:
        return "<";
    case BE_EXPR_LE:
        return "<=";
    case BE_EXPR_GT:
        return ">";
    default:
        return ">=";
    }
}

static int ordered_type(enum dx_av_type t)
{
    return t == DX_AV_S || t == DX_AV_N || t == DX_AV_B;
}

/* A BETWEEN bound as DynamoDB prints it: AttributeValue: {N:5}. */
static const char *bound_text(struct chk *c, const struct dx_av *v)
{
    struct dx_buf b = DX_BUF_INIT;
    dx_buf_printf(&b, "AttributeValue: {%s:", dx_av_type_name(v->type));
    if (v->type == DX_AV_B)
        dx_buf_printf(&b, "java.nio.HeapByteBuffer[pos=0 lim=%zu cap=%zu]", v->u.bytes.len,
                      v->u.bytes.len);
    else if (v->type == DX_AV_S || v->type == DX_AV_N)
        dx_buf_append(&b, v->u.bytes.p, v->u.bytes.len);
    else if (v->type == DX_AV_BOOL)
        dx_buf_puts(&b, v->u.boolean ? "true" : "false");
    else if (v->type == DX_AV_NULL)
        dx_buf_puts(&b, "null");
    dx_buf_putc(&b, '}');
    char *s = dx_arena_strndup(c->a, b.p, b.len);
    dx_buf_deinit(&b);
    return s;
}

#define TYPE_NAMES "{N,BS,L,B,NULL,M,S,SS,NS,BOOL}"
#define ANY_TYPE                                                                                   \
    "{SS,M,DECIMAL,DOUBLESET,HDS,N,B,DICT,INTSET,BOOL,HD,BS,INT,DECIMALSET,NULL,FLOAT,FS,S,L,NS,"  \
    "DOUBLE}"

static int visit2(struct chk *c, struct be_expr_node *n);

static int visit2_args(struct chk *c, struct be_expr_node *n)
{
    int rc;
    for (size_t i = 0; i < n->nargs; i++)
        if ((rc = visit2(c, n->args[i])) != DX_OK)
            return rc;
    return DX_OK;
}

static int visit2_func(struct chk *c, struct be_expr_node *n)
{
    int fi = fn_index(n), rc;
    const char *name = functions[fi].name;
    enum dx_av_type t;
    if ((rc = visit2_args(c, n)) != DX_OK)
        return rc;
    if (c->kind == BE_EXPR_K_UPDATE && (rc = check_arity(c, n, fi)) != DX_OK)
        return rc;
    switch (n->op) {
    case BE_EXPR_FN_ATTRIBUTE_EXISTS:
    case BE_EXPR_FN_ATTRIBUTE_NOT_EXISTS:
    case BE_EXPR_FN_ATTRIBUTE_TYPE:
    case BE_EXPR_FN_IF_NOT_EXISTS:
        if (n->args[0]->kind != BE_EXPR_PATH)
            return bad(c, "Operator or function requires a document path; operator or function: %s",
                       name);
        break;
    default:
        break;
    }
    if (n->op != BE_EXPR_FN_SIZE && n->op != BE_EXPR_FN_LIST_APPEND &&
        (rc = distinct(c, name, n->args, n->nargs)) != DX_OK)
        return rc;
    switch (n->op) {
    case BE_EXPR_FN_SIZE:
        t = static_type(n->args[0]);
        if (t && (t == DX_AV_N || t == DX_AV_BOOL || t == DX_AV_NULL))
            return type_problem(c, name, dx_av_type_name(t));
        break;
    case BE_EXPR_FN_BEGINS_WITH:
        for (size_t i = 0; i < n->nargs; i++) {
            t = static_type(n->args[i]);
            if (t && t != DX_AV_S && t != DX_AV_B)
                return type_problem(c, name, dx_av_type_name(t));
        }
        break;
    case BE_EXPR_FN_ATTRIBUTE_TYPE: {
        const struct be_expr_node *x = n->args[1];
        if (x->kind != BE_EXPR_VALUE)
            return type_problem(
                c, name, x->kind == BE_EXPR_FUNC && x->op == BE_EXPR_FN_SIZE ? "N" : ANY_TYPE);
        if (x->value->type != DX_AV_S)
            return type_problem(c, name, dx_av_type_name(x->value->type));
        if (!dx_av_type_from_name(x->value->u.bytes.p, x->value->u.bytes.len))
            return bad(c, "Invalid attribute type name found; type: %.*s, valid types: " TYPE_NAMES,
                       (int)x->value->u.bytes.len, x->value->u.bytes.p);
        break;
    }
    case BE_EXPR_FN_LIST_APPEND:
        for (size_t i = 0; i < n->nargs; i++) {
            t = static_type(n->args[i]);
            if (t && t != DX_AV_L)
                return type_problem(c, name, dx_av_type_name(t));
        }
        break;
    default:
        break;
    }
    return DX_OK;
}

static int visit2(struct chk *c, struct be_expr_node *n)
{
    int rc;
    enum dx_av_type t;
    switch (n->kind) {
    case BE_EXPR_PATH:
        return use_path(c, &n->path);
    case BE_EXPR_VALUE:
        return use_value(c, n);
    case BE_EXPR_AND:
    case BE_EXPR_OR:
    case BE_EXPR_NOT:
        return visit2_args(c, n);
    case BE_EXPR_CMP:
        if ((rc = visit2_args(c, n)) != DX_OK)
            return rc;
        if ((rc = distinct(c, cmp_label(n->op), n->args, 2)) != DX_OK)
            return rc;
        if (n->op != BE_EXPR_EQ && n->op != BE_EXPR_NE)
            for (size_t i = 0; i < 2; i++)
                if ((t = static_type(n->args[i])) && !ordered_type(t))
                    return type_problem(c, cmp_label(n->op), dx_av_type_name(t));
        return DX_OK;
    case BE_EXPR_BETWEEN: {
        if ((rc = visit2_args(c, n)) != DX_OK)
            return rc;
        if ((rc = distinct(c, "BETWEEN", n->args, 3)) != DX_OK)
            return rc;
        for (size_t i = 0; i < 3; i++)
            if ((t = static_type(n->args[i])) && !ordered_type(t))
                return type_problem(c, "BETWEEN", dx_av_type_name(t));
        const struct be_expr_node *lo = n->args[1], *hi = n->args[2];
        if (lo->kind == BE_EXPR_VALUE && hi->kind == BE_EXPR_VALUE) {
            if (lo->value->type != hi->value->type)
                return bad(c,
                           "The BETWEEN operator requires same data type for lower and upper "
                           "bounds; lower bound operand: %s, upper bound operand: %s",
                           bound_text(c, lo->value), bound_text(c, hi->value));
            if (be_expr_av_cmp(lo->value, hi->value) > 0)
                return bad(c,
                           "The BETWEEN operator requires upper bound to be greater than or equal "
                           "to lower bound; lower bound operand: %s, upper bound operand: %s",
                           bound_text(c, lo->value), bound_text(c, hi->value));
        }
        return DX_OK;
    }
    case BE_EXPR_IN:
        if ((rc = visit2_args(c, n)) != DX_OK)
            return rc;
        if (n->nargs - 1 > 100)
            return bad(c,
                       "The IN operator is provided with too many operands; number of operands: "
                       "%zu",
                       n->nargs - 1);
        return distinct(c, "IN", n->args, n->nargs);
    case BE_EXPR_FUNC:
        return visit2_func(c, n);
    case BE_EXPR_PLUS:
    case BE_EXPR_MINUS:
        if ((rc = visit2_args(c, n)) != DX_OK)
            return rc;
        for (size_t i = 0; i < 2; i++)
            if ((t = static_type(n->args[i])) && t != DX_AV_N)
                return type_problem(c, n->kind == BE_EXPR_PLUS ? "+" : "-", dx_av_type_name(t));
        return DX_OK;
    }
    return DX_OK;
}

/* Operators and functions in a tree (DynamoDB allows 300 in an expression). */
static size_t count_ops(const struct be_expr_node *n)
{
    size_t k = n->kind != BE_EXPR_PATH && n->kind != BE_EXPR_VALUE;
    for (size_t i = 0; i < n->nargs; i++)
        k += count_ops(n->args[i]);
    return k;
}

static int too_many_ops(struct chk *c, size_t ops)
{
    return bad(c, "The expression contains too many operators; operator count: %zu", ops);
}

static int empty_error(enum be_expr_kindname k, struct dx_error *err)
{
    return dx_error_set(err, DX_E_VALIDATION, "Invalid %s: The expression can not be empty;",
                        be_expr_kind_label(k));
}

static void chk_init(struct chk *c, struct dx_arena *a, struct be_expr_subst *s,
                     enum be_expr_kindname k, struct dx_error *err)
{
    c->a = a;
    c->s = s;
    c->kind = k;
    c->err = err;
}

int be_expr_parse_condition(struct dx_arena *a, enum be_expr_kindname k, const char *src,
                            size_t len, struct be_expr_subst *s, struct be_expr_node **out,
                            struct dx_error *err)
{
    struct ps p;
    struct chk c;
    int rc;
    if (len == 0)
        return empty_error(k, err);
    ps_init(&p, a, k, src, len);
    struct be_expr_node *n = parse_or(&p);
    if (!n || !at(&p, BE_EXPR_TK_EOF)) {
        if (n)
            fail(&p);
        return syntax_error(&p, err);
    }
    chk_init(&c, a, s, k, err);
    size_t ops = count_ops(n);
    if (ops > 300)
        return too_many_ops(&c, ops);
    if ((rc = visit1(&c, n, 1)) != DX_OK || (rc = visit2(&c, n)) != DX_OK)
        return rc;
    *out = n;
    return DX_OK;
}

/* Overlapping paths (one is a prefix of the other) and conflicting ones (one uses as a list
 * what the other uses as a map). Each path is compared with the ones before it; the first
 * overlap is reported, else the last conflict, as DynamoDB does. */
static int check_overlaps(struct chk *c, struct be_expr_path *const *paths, size_t n)
{
    const struct be_expr_path *c1 = NULL, *c2 = NULL;
    for (size_t j = 1; j < n; j++) {
        const struct be_expr_path *p = paths[j];
        for (size_t k = 0; k < j; k++) {
            const struct be_expr_path *q = paths[k];
            size_t i, m = q->n < p->n ? q->n : p->n;
            int differ = 0;
            for (i = 0; i < m && !differ; i++) {
                const struct be_expr_pel *x = &q->el[i], *y = &p->el[i];
                if (x->is_index != y->is_index) {
                    c1 = q;
                    c2 = p;
                    differ = 1;
                } else if (x->is_index ? x->index != y->index
                                       : (x->len != y->len || memcmp(x->name, y->name, x->len))) {
                    differ = 1;
                }
            }
            if (!differ)
                return bad(c,
                           "Two document paths overlap with each other; must remove or rewrite "
                           "one of these paths; path one: %s, path two: %s",
                           be_expr_path_str(c->a, q), be_expr_path_str(c->a, p));
        }
    }
    if (c1)
        return bad(c,
                   "Two document paths conflict with each other; must remove or rewrite one of "
                   "these paths; path one: %s, path two: %s",
                   be_expr_path_str(c->a, c1), be_expr_path_str(c->a, c2));
    return DX_OK;
}

static const char *long_type(enum dx_av_type t)
{
    switch (t) {
    case DX_AV_S:
        return "STRING";
    case DX_AV_N:
        return "NUMBER";
    case DX_AV_B:
        return "BINARY";
    case DX_AV_BOOL:
        return "BOOLEAN";
    case DX_AV_NULL:
        return "NULL";
    case DX_AV_L:
        return "LIST";
    case DX_AV_M:
        return "MAP";
    case DX_AV_SS:
        return "STRING_SET";
    case DX_AV_NS:
        return "NUMBER_SET";
    case DX_AV_BS:
        return "BINARY_SET";
    }
    return "";
}

/* operand [('+' | '-') operand], optionally in parentheses. */
static struct be_expr_node *parse_set_value(struct ps *p)
{
    if (at(p, BE_EXPR_TK_LPAREN)) {
        size_t save = p->i;
        p->i++;
        struct be_expr_node *v = parse_set_value(p);
        if (p->redundant)
            return NULL;
        if (v && at(p, BE_EXPR_TK_RPAREN)) {
            p->i++;
            if (!at(p, BE_EXPR_TK_PLUS) && !at(p, BE_EXPR_TK_MINUS)) {
                if (v->parens) {
                    p->redundant = 1;
                    return NULL;
                }
                v->parens++;
                return v;
            }
        } else if (v) {
            fail(p);
        }
        p->i = save;
    }
    struct be_expr_node *x = parse_operand(p);
    if (!x)
        return NULL;
    if (at(p, BE_EXPR_TK_PLUS) || at(p, BE_EXPR_TK_MINUS)) {
        enum be_expr_kind k = at(p, BE_EXPR_TK_PLUS) ? BE_EXPR_PLUS : BE_EXPR_MINUS;
        p->i++;
        struct be_expr_node *y = parse_operand(p);
        if (!y)
            return NULL;
        return node2(p, k, x, y);
    }
    return x;
}

/* The #names of the paths in a tree, before anything else of it is looked at. */
static int use_names(struct chk *c, struct be_expr_node *n)
{
    int rc;
    if (n->kind == BE_EXPR_PATH)
        return use_path(c, &n->path);
    for (size_t i = 0; i < n->nargs; i++)
        if ((rc = use_names(c, n->args[i])) != DX_OK)
            return rc;
    return DX_OK;
}

#define MAX_CLAUSES 64

int be_expr_parse_update(struct dx_arena *a, const char *src, size_t len, struct be_expr_subst *s,
                         struct be_expr_update **out, size_t *nout, struct dx_error *err)
{
    static const char *const section_names[] = {"", "SET", "REMOVE", "ADD", "DELETE"};
    struct ps p;
    struct chk c;
    int rc;
    if (len == 0)
        return empty_error(BE_EXPR_K_UPDATE, err);
    ps_init(&p, a, BE_EXPR_K_UPDATE, src, len);

    size_t cap = 8, n = 0, nclauses = 0;
    struct be_expr_update *u = dx_arena_alloc(a, cap * sizeof(*u));
    size_t clause_start[MAX_CLAUSES], clause_end[MAX_CLAUSES];
    enum be_expr_action clause_kind[MAX_CLAUSES];

    for (;;) {
        enum be_expr_action act;
        if (at_kw(&p, "SET"))
            act = BE_EXPR_SET;
        else if (at_kw(&p, "REMOVE"))
            act = BE_EXPR_REMOVE;
        else if (at_kw(&p, "ADD"))
            act = BE_EXPR_ADD;
        else if (at_kw(&p, "DELETE"))
            act = BE_EXPR_DELETE;
        else {
            fail(&p);
            return syntax_error(&p, err);
        }
        p.i++;
        size_t first = n;
        for (;;) {
            struct be_expr_update e;
            memset(&e, 0, sizeof(e));
            e.action = act;
            e.clause = (int)nclauses;
            if (parse_path(&p, &e.path) < 0)
                return syntax_error(&p, err);
            if (act == BE_EXPR_SET) {
                if (!at(&p, BE_EXPR_TK_EQ)) {
                    fail(&p);
                    return syntax_error(&p, err);
                }
                p.i++;
                e.value = parse_set_value(&p);
                if (!e.value)
                    return syntax_error(&p, err);
            } else if (act == BE_EXPR_ADD || act == BE_EXPR_DELETE) {
                if (!at(&p, BE_EXPR_TK_VALUE)) {
                    fail(&p);
                    return syntax_error(&p, err);
                }
                e.value = parse_operand(&p);
            }
            if (n == cap) {
                struct be_expr_update *nu = dx_arena_alloc(a, 2 * cap * sizeof(*nu));
                memcpy(nu, u, n * sizeof(*nu));
                u = nu;
                cap *= 2;
            }
            u[n++] = e;
            if (at(&p, BE_EXPR_TK_COMMA)) {
                p.i++;
                continue;
            }
            break;
        }
        if (nclauses < MAX_CLAUSES) {
            clause_start[nclauses] = first;
            clause_end[nclauses] = n;
            clause_kind[nclauses] = act;
            nclauses++;
        }
        if (at(&p, BE_EXPR_TK_EOF))
            break;
    }

    chk_init(&c, a, s, BE_EXPR_K_UPDATE, err);
    size_t ops = 0;
    for (size_t i = 0; i < n; i++)
        if (u[i].value)
            ops += count_ops(u[i].value);
    if (ops > 300)
        return too_many_ops(&c, ops);

    /* Pass 1 a section at a time, in the order the sections first appear. */
    int done[5] = {0};
    for (size_t k = 0; k < nclauses; k++) {
        enum be_expr_action sec = clause_kind[k];
        int count = 0;
        if (done[sec])
            continue;
        done[sec] = 1;
        for (size_t j = k; j < nclauses; j++) {
            if (clause_kind[j] != sec)
                continue;
            count++;
            for (size_t i = clause_start[j]; i < clause_end[j]; i++) {
                struct be_expr_node pn;
                memset(&pn, 0, sizeof(pn));
                pn.kind = BE_EXPR_PATH;
                pn.path = u[i].path;
                if ((rc = visit1(&c, &pn, 0)) != DX_OK)
                    return rc;
                if (u[i].value && (rc = visit1(&c, u[i].value, 0)) != DX_OK)
                    return rc;
            }
        }
        if (count > 1)
            return bad(&c, "The \"%s\" section can only be used once in an update expression;",
                       section_names[sec]);
    }

    /* The paths' #names, then overlapping paths. */
    struct be_expr_path **paths = dx_arena_alloc(a, (n ? n : 1) * sizeof(*paths));
    for (size_t i = 0; i < n; i++) {
        if ((rc = use_path(&c, &u[i].path)) != DX_OK)
            return rc;
        paths[i] = &u[i].path;
    }
    if ((rc = check_overlaps(&c, paths, n)) != DX_OK)
        return rc;

    /* Pass 2 from the last action to the first: every #name, then values and types. */
    for (size_t i = n; i-- > 0;)
        if (u[i].value && (rc = use_names(&c, u[i].value)) != DX_OK)
            return rc;
    for (size_t i = n; i-- > 0;) {
        if (u[i].value && (rc = visit2(&c, u[i].value)) != DX_OK)
            return rc;
        if ((u[i].action == BE_EXPR_ADD || u[i].action == BE_EXPR_DELETE) && u[i].value->value) {
            enum dx_av_type t = u[i].value->value->type;
            int ok = t == DX_AV_SS || t == DX_AV_NS || t == DX_AV_BS ||
                     (u[i].action == BE_EXPR_ADD && t == DX_AV_N);
            if (!ok) {
                const char *op = u[i].action == BE_EXPR_ADD ? "ADD" : "DELETE";
                return bad(&c,
                           "Incorrect operand type for operator or function; operator: %s, "
                           "operand type: %s, typeSet: ALLOWED_FOR_%s_OPERAND",
                           op, long_type(t), op);
            }
        }
    }
    *out = u;
    *nout = n;
    return DX_OK;
}

int be_expr_parse_projection(struct dx_arena *a, const char *src, size_t len,
                             struct be_expr_subst *s, struct be_expr_path **out, size_t *nout,
                             struct dx_error *err)
{
    struct ps p;
    struct chk c;
    int rc;
    if (len == 0)
        return empty_error(BE_EXPR_K_PROJECTION, err);
    ps_init(&p, a, BE_EXPR_K_PROJECTION, src, len);
    size_t cap = 8, n = 0;
    struct be_expr_path *paths = dx_arena_alloc(a, cap * sizeof(*paths));
    for (;;) {
        if (n == cap) {
            struct be_expr_path *np = dx_arena_alloc(a, 2 * cap * sizeof(*np));
            memcpy(np, paths, n * sizeof(*np));
            paths = np;
            cap *= 2;
        }
        if (parse_path(&p, &paths[n]) < 0)
            return syntax_error(&p, err);
        n++;
        if (at(&p, BE_EXPR_TK_COMMA)) {
            p.i++;
            continue;
        }
        if (!at(&p, BE_EXPR_TK_EOF)) {
            fail(&p);
            return syntax_error(&p, err);
        }
        break;
    }
    chk_init(&c, a, s, BE_EXPR_K_PROJECTION, err);
    struct be_expr_path **pp = dx_arena_alloc(a, n * sizeof(*pp));
    for (size_t i = 0; i < n; i++) {
        struct be_expr_node pn;
        memset(&pn, 0, sizeof(pn));
        pn.kind = BE_EXPR_PATH;
        pn.path = paths[i];
        if ((rc = visit1(&c, &pn, 0)) != DX_OK)
            return rc;
    }
    for (size_t i = 0; i < n; i++) {
        if ((rc = use_path(&c, &paths[i])) != DX_OK)
            return rc;
        pp[i] = &paths[i];
    }
    if ((rc = check_overlaps(&c, pp, n)) != DX_OK)
        return rc;
    *out = paths;
    *nout = n;
    return DX_OK;
}
