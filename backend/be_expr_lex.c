/*
 * Tokenizer of the expression language, and DynamoDB's list of reserved words.
 *
 * The tokenizer never fails: a character that starts no token becomes a one-character OTHER
 * token, so the parser can report it the way DynamoDB does ("Syntax error; token: ...").
 * Keywords are identifiers; the parser decides where a word is a keyword.
 */
#include <string.h>
#include "be_expr_ast.h"

/* Developer Guide, "Reserved words in DynamoDB", sorted for binary search. SIZE is a function
 * name too: the parser checks this list only for path names, so size(a) still works while a
 * bare `size` path is refused as DynamoDB refuses it. AND, OR, NOT, BETWEEN, IN, SET, REMOVE,
 * ADD and DELETE are keywords of the grammar (a syntax error, not this one). */
/* clang-format off */
static const char *const reserved_words[] = {
    "ABORT", "ABSOLUTE", "ACTION", "ADD", "AFTER", "AGENT", "AGGREGATE", "ALL", "ALLOCATE",
    "ALTER", "ANALYZE", "AND", "ANY", "ARCHIVE", "ARE", "ARRAY", "AS", "ASC", "ASCII",
    "ASENSITIVE", "ASSERTION", "ASYMMETRIC", "AT", "ATOMIC", "ATTACH", "ATTRIBUTE", "AUTH",
    "AUTHORIZATION", "AUTHORIZE", "AUTO", "AVG", "BACK", "BACKUP", "BASE", "BATCH", "BEFORE",
    "BEGIN", "BETWEEN", "BIGINT", "BINARY", "BIT", "BLOB", "BLOCK", "BOOLEAN", "BOTH", "BREADTH",
    "BUCKET", "BULK", "BY", "BYTE", "CALL", "CALLED", "CALLING", "CAPACITY", "CASCADE", "CASCADED",
    "CASE", "CAST", "CATALOG", "CHAR", "CHARACTER", "CHECK", "CLASS", "CLOB", "CLOSE", "CLUSTER",
    "CLUSTERED", "CLUSTERING", "CLUSTERS", "COALESCE", "COLLATE", "COLLATION", "COLLECTION",
    "COLUMN", "COLUMNS", "COMBINE", "COMMENT", "COMMIT", "COMPACT", "COMPILE", "COMPRESS",
    "CONDITION", "CONFLICT", "CONNECT", "CONNECTION", "CONSISTENCY", "CONSISTENT", "CONSTRAINT",
    "CONSTRAINTS", "CONSTRUCTOR", "CONSUMED", "CONTINUE", "CONVERT", "COPY", "CORRESPONDING", "COUNT",
    "COUNTER", "CREATE", "CROSS", "CUBE", "CURRENT", "CURSOR", "CYCLE", "DATA", "DATABASE", "DATE",
    "DATETIME", "DAY", "DEALLOCATE", "DEC", "DECIMAL", "DECLARE", "DEFAULT", "DEFERRABLE",
    "DEFERRED", "DEFINE", "DEFINED", "DEFINITION", "DELETE", "DELIMITED", "DEPTH", "DEREF", "DESC",
    "DESCRIBE", "DESCRIPTOR", "DETACH", "DETERMINISTIC", "DIAGNOSTICS", "DIRECTORIES", "DISABLE",
    "DISCONNECT", "DISTINCT", "DISTRIBUTE", "DO", "DOMAIN", "DOUBLE", "DROP", "DUMP", "DURATION",
    "DYNAMIC", "EACH", "ELEMENT", "ELSE", "ELSEIF", "EMPTY", "ENABLE", "END", "EQUAL", "EQUALS",
    "ERROR", "ESCAPE", "ESCAPED", "EVAL", "EVALUATE", "EXCEEDED", "EXCEPT", "EXCEPTION",
    "EXCEPTIONS", "EXCLUSIVE", "EXEC", "EXECUTE", "EXISTS", "EXIT", "EXPLAIN", "EXPLODE", "EXPORT",
    "EXPRESSION", "EXTENDED", "EXTERNAL", "EXTRACT", "FAIL", "FALSE", "FAMILY", "FETCH", "FIELDS",
    "FILE", "FILTER", "FILTERING", "FINAL", "FINISH", "FIRST", "FIXED", "FLATTERN", "FLOAT", "FOR",
    "FORCE", "FOREIGN", "FORMAT", "FORWARD", "FOUND", "FREE", "FROM", "FULL", "FUNCTION",
    "FUNCTIONS", "GENERAL", "GENERATE", "GET", "GLOB", "GLOBAL", "GO", "GOTO", "GRANT", "GREATER",
    "GROUP", "GROUPING", "HANDLER", "HASH", "HAVE", "HAVING", "HEAP", "HIDDEN", "HOLD", "HOUR",
    "IDENTIFIED", "IDENTITY", "IF", "IGNORE", "IMMEDIATE", "IMPORT", "IN", "INCLUDING",
    "INCLUSIVE", "INCREMENT", "INCREMENTAL", "INDEX", "INDEXED", "INDEXES", "INDICATOR",
    "INFINITE", "INITIALLY", "INLINE", "INNER", "INNTER", "INOUT", "INPUT", "INSENSITIVE",
    "INSERT", "INSTEAD", "INT", "INTEGER", "INTERSECT", "INTERVAL", "INTO", "INVALIDATE", "IS",
    "ISOLATION", "ITEM", "ITEMS", "ITERATE", "JOIN", "KEY", "KEYS", "LAG", "LANGUAGE", "LARGE",
    "LAST", "LATERAL", "LEAD", "LEADING", "LEAVE", "LEFT", "LENGTH", "LESS", "LEVEL", "LIKE",
    "LIMIT", "LIMITED", "LINES", "LIST", "LOAD", "LOCAL", "LOCALTIME", "LOCALTIMESTAMP",
    "LOCATION", "LOCATOR", "LOCK", "LOCKS", "LOG", "LOGED", "LONG", "LOOP", "LOWER", "MAP",
    "MATCH", "MATERIALIZED", "MAX", "MAXLEN", "MEMBER", "MERGE", "METHOD", "METRICS", "MIN",
    "MINUS", "MINUTE", "MISSING", "MOD", "MODE", "MODIFIES", "MODIFY", "MODULE", "MONTH", "MULTI",
    "MULTISET", "NAME", "NAMES", "NATIONAL", "NATURAL", "NCHAR", "NCLOB", "NEW", "NEXT", "NO",
    "NONE", "NOT", "NULL", "NULLIF", "NUMBER", "NUMERIC", "OBJECT", "OF", "OFFLINE", "OFFSET",
    "OLD", "ON", "ONLINE", "ONLY", "OPAQUE", "OPEN", "OPERATOR", "OPTION", "OR", "ORDER",
    "ORDINALITY", "OTHER", "OTHERS", "OUT", "OUTER", "OUTPUT", "OVER", "OVERLAPS", "OVERRIDE",
    "OWNER", "PAD", "PARALLEL", "PARAMETER", "PARAMETERS", "PARTIAL", "PARTITION", "PARTITIONED",
    "PARTITIONS", "PATH", "PERCENT", "PERCENTILE", "PERMISSION", "PERMISSIONS", "PIPE",
    "PIPELINED", "PLAN", "POOL", "POSITION", "PRECISION", "PREPARE", "PRESERVE", "PRIMARY",
    "PRIOR", "PRIVATE", "PRIVILEGES", "PROCEDURE", "PROCESSED", "PROJECT", "PROJECTION",
    "PROPERTY", "PROVISIONING", "PUBLIC", "PUT", "QUERY", "QUIT", "QUORUM", "RAISE", "RANDOM",
    "RANGE", "RANK", "RAW", "READ", "READS", "REAL", "REBUILD", "RECORD", "RECURSIVE", "REDUCE",
    "REF", "REFERENCE", "REFERENCES", "REFERENCING", "REGEXP", "REGION", "REINDEX", "RELATIVE",
    "RELEASE", "REMAINDER", "RENAME", "REPEAT", "REPLACE", "REQUEST", "RESET", "RESIGNAL",
    "RESOURCE", "RESPONSE", "RESTORE", "RESTRICT", "RESULT", "RETURN", "RETURNING", "RETURNS",
    "REVERSE", "REVOKE", "RIGHT", "ROLE", "ROLES", "ROLLBACK", "ROLLUP", "ROUTINE", "ROW", "ROWS",
    "RULE", "RULES", "SAMPLE", "SATISFIES", "SAVE", "SAVEPOINT", "SCAN", "SCHEMA", "SCOPE",
    "SCROLL", "SEARCH", "SECOND", "SECTION", "SEGMENT", "SEGMENTS", "SELECT", "SELF", "SEMI",
    "SENSITIVE", "SEPARATE", "SEQUENCE", "SERIALIZABLE", "SESSION", "SET", "SETS", "SHARD",
    "SHARE", "SHARED", "SHORT", "SHOW", "SIGNAL", "SIMILAR", "SIZE", "SKEWED", "SMALLINT", "SNAPSHOT",
    "SOME", "SOURCE", "SPACE", "SPACES", "SPARSE", "SPECIFIC", "SPECIFICTYPE", "SPLIT", "SQL",
    "SQLCODE", "SQLERROR", "SQLEXCEPTION", "SQLSTATE", "SQLWARNING", "START", "STATE", "STATIC",
    "STATUS", "STORAGE", "STORE", "STORED", "STREAM", "STRING", "STRUCT", "STYLE", "SUB",
    "SUBMULTISET", "SUBPARTITION", "SUBSTRING", "SUBTYPE", "SUM", "SUPER", "SYMMETRIC", "SYNONYM",
    "SYSTEM", "TABLE", "TABLESAMPLE", "TEMP", "TEMPORARY", "TERMINATED", "TEXT", "THAN", "THEN",
    "THROUGHPUT", "TIME", "TIMESTAMP", "TIMEZONE", "TINYINT", "TO", "TOKEN", "TOTAL", "TOUCH",
    "TRAILING", "TRANSACTION", "TRANSFORM", "TRANSLATE", "TRANSLATION", "TREAT", "TRIGGER", "TRIM",
    "TRUE", "TRUNCATE", "TTL", "TUPLE", "TYPE", "UNDER", "UNDO", "UNION", "UNIQUE", "UNIT",
    "UNKNOWN", "UNLOGGED", "UNNEST", "UNPROCESSED", "UNSIGNED", "UNTIL", "UPDATE", "UPPER", "URL",
    "USAGE", "USE", "USER", "USERS", "USING", "UUID", "VACUUM", "VALUE", "VALUED", "VALUES",
    "VARCHAR", "VARIABLE", "VARIANCE", "VARINT", "VARYING", "VIEW", "VIEWS", "VIRTUAL", "VOID",
    "WAIT", "WHEN", "WHENEVER", "WHERE", "WHILE", "WINDOW", "WITH", "WITHIN", "WITHOUT", "WORK",
    "WRAPPED", "WRITE", "YEAR", "ZONE",
};
/* clang-format on */

static int upper(int c)
{
    return c >= 'a' && c <= 'z' ? c - 'a' + 'A' : c;
}

/* strcmp of the upper-cased word[0..len) against the NUL-terminated kw. */
static int cmp_upper(const char *word, size_t len, const char *kw)
{
    size_t i;
    for (i = 0; i < len && kw[i]; i++) {
        int d = upper((unsigned char)word[i]) - (unsigned char)kw[i];
        if (d)
            return d;
    }
    if (i < len)
        return 1;
    return kw[i] ? -1 : 0;
}

int be_expr_reserved(const char *word, size_t len)
{
    size_t lo = 0, hi = sizeof(reserved_words) / sizeof(reserved_words[0]);
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        int c = cmp_upper(word, len, reserved_words[mid]);
        if (c == 0)
            return 1;
        if (c < 0)
            hi = mid;
        else
            lo = mid + 1;
    }
    return 0;
}

int be_expr_tok_is(const char *src, const struct be_expr_tok *t, const char *kw)
{
    return t->kind == BE_EXPR_TK_IDENT && cmp_upper(src + t->pos, t->len, kw) == 0;
}

/* DynamoDB's names start with a letter; '_' and digits may follow. */
static int is_alpha(int c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static int is_part(int c)
{
    return is_alpha(c) || (c >= '0' && c <= '9') || c == '_';
}

static int is_digit(int c)
{
    return c >= '0' && c <= '9';
}

/* Length of the UTF-8 sequence starting with byte c (1 for anything malformed). */
static size_t utf8_len(unsigned char c)
{
    if (c >= 0xf0 && c < 0xf8)
        return 4;
    if (c >= 0xe0)
        return c < 0xf0 ? 3 : 1;
    if (c >= 0xc0)
        return 2;
    return 1;
}

struct be_expr_tok *be_expr_lex(struct dx_arena *a, const char *src, size_t src_len, size_t *n)
{
    size_t cap = 16, cnt = 0, i = 0;
    struct be_expr_tok *t = dx_arena_alloc(a, cap * sizeof(*t));

    for (;;) {
        while (i < src_len && (src[i] == ' ' || src[i] == '\t' || src[i] == '\n' || src[i] == '\r'))
            i++;
        if (cnt == cap) {
            struct be_expr_tok *nt = dx_arena_alloc(a, 2 * cap * sizeof(*t));
            memcpy(nt, t, cap * sizeof(*t));
            t = nt;
            cap *= 2;
        }
        struct be_expr_tok *k = &t[cnt++];
        k->pos = (uint32_t)i;
        if (i >= src_len) {
            k->kind = BE_EXPR_TK_EOF;
            k->len = 0;
            break;
        }
        unsigned char c = (unsigned char)src[i];
        size_t j = i + 1;
        if (is_alpha(c)) {
            while (j < src_len && is_part((unsigned char)src[j]))
                j++;
            k->kind = BE_EXPR_TK_IDENT;
        } else if (is_digit(c)) {
            /* "0" is a number of its own: "01" reads as 0 then 1. */
            while (c != '0' && j < src_len && is_digit((unsigned char)src[j]))
                j++;
            k->kind = BE_EXPR_TK_NUMBER;
        } else if (c == '#' || c == ':') {
            while (j < src_len && is_part((unsigned char)src[j]))
                j++;
            k->kind =
                j == i + 1 ? BE_EXPR_TK_OTHER : (c == '#' ? BE_EXPR_TK_NAME : BE_EXPR_TK_VALUE);
        } else {
            switch (c) {
            case '(':
                k->kind = BE_EXPR_TK_LPAREN;
                break;
            case ')':
                k->kind = BE_EXPR_TK_RPAREN;
                break;
            case '[':
                k->kind = BE_EXPR_TK_LBRACK;
                break;
            case ']':
                k->kind = BE_EXPR_TK_RBRACK;
                break;
            case ',':
                k->kind = BE_EXPR_TK_COMMA;
                break;
            case '.':
                k->kind = BE_EXPR_TK_DOT;
                break;
            case '+':
                k->kind = BE_EXPR_TK_PLUS;
                break;
            case '-':
                k->kind = BE_EXPR_TK_MINUS;
                break;
            case '=':
                k->kind = BE_EXPR_TK_EQ;
                break;
            case '<':
                if (j < src_len && src[j] == '=') {
                    k->kind = BE_EXPR_TK_LE;
                    j++;
                } else if (j < src_len && src[j] == '>') {
                    k->kind = BE_EXPR_TK_NE;
                    j++;
                } else {
                    k->kind = BE_EXPR_TK_LT;
                }
                break;
            case '>':
                if (j < src_len && src[j] == '=') {
                    k->kind = BE_EXPR_TK_GE;
                    j++;
                } else {
                    k->kind = BE_EXPR_TK_GT;
                }
                break;
            case '"':
            case '\'': {
                /* DynamoDB's lexer reads a quoted string as one token (the grammar has no
                 * place for it, so it is a syntax error naming the whole string); an
                 * unterminated quote is a token of one character. */
                size_t q = i + 1;
                while (q < src_len && src[q] != (char)c)
                    q += (src[q] == '\\' && q + 1 < src_len && src[q + 1] == (char)c) ? 2 : 1;
                k->kind = BE_EXPR_TK_OTHER;
                j = q < src_len ? q + 1 : i + 1;
                break;
            }
            default:
                k->kind = BE_EXPR_TK_OTHER;
                j = i + utf8_len(c);
                if (j > src_len)
                    j = src_len;
                break;
            }
        }
        k->len = (uint32_t)(j - i);
        i = j;
    }
    *n = cnt;
    return t;
}
