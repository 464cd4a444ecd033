/*
 * Engine-level tests of TagResource, UntagResource and ListTagsOfResource (be_tags.c): a real
 * backend in a temporary directory driven through its dx_api. Checks what a client relies on:
 * tags set, replaced, removed and listed in order; DynamoDB's exact texts for every rejected
 * request (a table of cases, in DynamoDB's validation order); all-or-nothing requests; the
 * 50-tag limit counted after the merge; CreateTable's Tags; tags surviving a reopen and going
 * away with the table; other settings in the definition left alone.
 */
#include "be_test_env.h"

#define ARN "arn:aws:dynamodb:us-east-1:000000000000:table/tags_t"

static int setup(void **state)
{
    struct env *e = env_new("tags", 0);
    cJSON_Delete(ok(e, DX_OP_CreateTable,
                    "{'TableName':'tags_t','BillingMode':'PAY_PER_REQUEST',"
                    "'KeySchema':[{'AttributeName':'p','KeyType':'HASH'}],"
                    "'AttributeDefinitions':[{'AttributeName':'p','AttributeType':'S'}]}"));
    *state = e;
    return 0;
}

/* The table's tags as "k=v;k=v;" in listing order. */
static void tags_of(struct env *e, const char *arn, char *out, size_t cap)
{
    cJSON *r = ok(e, DX_OP_ListTagsOfResource, "{'ResourceArn':'%s'}", arn);
    const cJSON *a = cJSON_GetObjectItemCaseSensitive(r, "Tags"), *t;
    assert_true(cJSON_IsArray(a));
    assert_null(cJSON_GetObjectItemCaseSensitive(r, "NextToken"));
    size_t used = 0;
    out[0] = 0;
    cJSON_ArrayForEach(t, a)
    {
        int w = snprintf(out + used, cap - used, "%s=%s;",
                         cJSON_GetObjectItemCaseSensitive(t, "Key")->valuestring,
                         cJSON_GetObjectItemCaseSensitive(t, "Value")->valuestring);
        assert_true(w >= 0 && (size_t)w < cap - used);
        used += (size_t)w;
    }
    cJSON_Delete(r);
}

static void test_lifecycle(void **state)
{
    struct env *e = *state;
    char got[512];
    tags_of(e, ARN, got, sizeof got);
    assert_string_equal(got, "");
    cJSON *r = ok(e, DX_OP_TagResource,
                  "{'ResourceArn':'" ARN "','Tags':[{'Key':'team','Value':'db'},"
                  "{'Key':'env','Value':''}]}");
    assert_int_equal(cJSON_GetArraySize(r), 0); /* no output members */
    cJSON_Delete(r);
    tags_of(e, ARN, got, sizeof got);
    assert_string_equal(got, "team=db;env=;");
    /* An existing key keeps its place and takes the new value. */
    cJSON_Delete(ok(e, DX_OP_TagResource,
                    "{'ResourceArn':'" ARN "','Tags':[{'Key':'team','Value':'cache'},"
                    "{'Key':'Team','Value':'x'}]}"));
    tags_of(e, ARN, got, sizeof got);
    assert_string_equal(got, "team=cache;env=;Team=x;");
    cJSON_Delete(
        ok(e, DX_OP_UntagResource, "{'ResourceArn':'" ARN "','TagKeys':['env','absent']}"));
    tags_of(e, ARN, got, sizeof got);
    assert_string_equal(got, "team=cache;Team=x;");
    cJSON_Delete(ok(e, DX_OP_UntagResource, "{'ResourceArn':'" ARN "','TagKeys':['team','Team']}"));
    tags_of(e, ARN, got, sizeof got);
    assert_string_equal(got, "");
}

static const struct {
    enum dx_op op;
    const char *body, *type, *msg;
} errors[] = {
    {DX_OP_TagResource, "{'Tags':[{'Key':'a','Value':'b'}]}", "ValidationException",
     "Invalid TableArn"},
    {DX_OP_TagResource, "{'ResourceArn':'" ARN "'}", "ValidationException",
     "1 validation error detected: Value null at 'tags' failed to satisfy constraint: Member "
     "must not be null"},
    {DX_OP_TagResource, "{'ResourceArn':''}", "ValidationException",
     "One or more parameter values were invalid: ARNs must start with 'arn:': "},
    {DX_OP_TagResource, "{'ResourceArn':'nope','Tags':[{'Key':'a','Value':'b'}]}",
     "ValidationException",
     "One or more parameter values were invalid: ARNs must start with 'arn:': nope"},
    {DX_OP_TagResource, "{'ResourceArn':'arn:aws:s3:::b/x','Tags':[{'Key':'a','Value':'b'}]}",
     "ValidationException",
     "One or more parameter values were invalid: Provided Arn is not a DynamoDB resource arn: "
     "arn:aws:s3:::b/x"},
    {DX_OP_TagResource, "{'ResourceArn':'" ARN "/index/gsi1','Tags':[{'Key':'a','Value':'b'}]}",
     "ValidationException",
     "One or more parameter values were invalid: Invalid resource arn provided, only table or "
     "stream is accepted. Provided resource arn: " ARN "/index/gsi1"},
    {DX_OP_TagResource,
     "{'ResourceArn':'arn:aws:dynamodb:eu-west-1:000000000000:table/tags_t',"
     "'Tags':[{'Key':'a','Value':'b'}]}",
     "ValidationException",
     "Invalid TableArn: Invalid ResourceArn provided as input "
     "arn:aws:dynamodb:eu-west-1:000000000000:table/tags_t"},
    {DX_OP_TagResource,
     "{'ResourceArn':'arn:aws:dynamodb:us-east-1:000000000000:table/ab',"
     "'Tags':[{'Key':'a','Value':'b'}]}",
     "ValidationException",
     "Invalid TableArn: Invalid ResourceArn provided as input "
     "arn:aws:dynamodb:us-east-1:000000000000:table/ab"},
    {DX_OP_TagResource, "{'ResourceArn':'arn:x','Tags':[]}", "ValidationException",
     "Invalid TableArn: Invalid ResourceArn provided as input arn:x"},
    {DX_OP_TagResource, "{'ResourceArn':'" ARN "','Tags':[]}", "ValidationException",
     "Atleast one Tag needs to be provided as Input."},
    {DX_OP_TagResource, "{'ResourceArn':'" ARN "','Tags':[{'Key':'','Value':'b'}]}",
     "ValidationException", "The Tag Key provided is invalid, Key: "},
    {DX_OP_TagResource, "{'ResourceArn':'" ARN "','Tags':[{'Value':'b'}]}", "ValidationException",
     "The Tag Key provided is invalid, Key: null"},
    {DX_OP_TagResource, "{'ResourceArn':'" ARN "','Tags':[{'Key':'a;b','Value':'b'}]}",
     "ValidationException", "The Tag Key provided is invalid, Key: a;b"},
    {DX_OP_TagResource, "{'ResourceArn':'" ARN "','Tags':[{'Key':'a'}]}", "ValidationException",
     "The Tag Value provided is invalid, Value: null"},
    {DX_OP_TagResource, "{'ResourceArn':'" ARN "','Tags':[{'Key':'a','Value':'x<y>'}]}",
     "ValidationException", "The Tag Value provided is invalid, Value: x<y>"},
    {DX_OP_TagResource, "{'ResourceArn':'" ARN "','Tags':[{'Key':'aws:cost','Value':'1'}]}",
     "ValidationException", "Tag Key cannot be prefixed with aws:, Key: aws:cost"},
    {DX_OP_TagResource, "{'ResourceArn':'" ARN "','Tags':[{'Key':'Aws:cost','Value':'1'}]}",
     "ValidationException", "Tag Key cannot be prefixed with aws:, Key: Aws:cost"},
    {DX_OP_TagResource,
     "{'ResourceArn':'" ARN "','Tags':[{'Key':'d','Value':'1'},{'Key':'d','Value':'2'}]}",
     "ValidationException", "Duplicate Tag Keys provided as input: Duplicate Tag Key found d"},
    {DX_OP_TagResource, "{'ResourceArn':'" ARN "x','Tags':[{'Key':'a','Value':'b'}]}",
     "ResourceNotFoundException", "Requested resource not found: ResourceArn: " ARN "x not found"},
    {DX_OP_TagResource, "{'ResourceArn':'" ARN "','Tags':{'Key':'a'}}", "SerializationException",
     NULL},
    {DX_OP_UntagResource, "{'TagKeys':['a']}", "ValidationException", "Invalid TableArn"},
    {DX_OP_UntagResource, "{'ResourceArn':'" ARN "'}", "ValidationException",
     "1 validation error detected: Value null at 'tagKeys' failed to satisfy constraint: Member "
     "must not be null"},
    {DX_OP_UntagResource, "{'ResourceArn':'" ARN "','TagKeys':[]}", "ValidationException",
     "Atleast one Tag Key needs to be provided as Input."},
    {DX_OP_UntagResource, "{'ResourceArn':'" ARN "','TagKeys':['']}", "ValidationException",
     "The Tag Key provided is invalid, Key: "},
    {DX_OP_UntagResource, "{'ResourceArn':'" ARN "','TagKeys':['aws:x']}", "ValidationException",
     "Tag Key cannot be prefixed with aws:, Key: aws:x"},
    {DX_OP_UntagResource, "{'ResourceArn':'" ARN "x','TagKeys':['a']}", "ResourceNotFoundException",
     "Requested resource not found: ResourceArn: " ARN "x not found"},
    {DX_OP_ListTagsOfResource, "{}", "ValidationException", "Invalid TableArn"},
    {DX_OP_ListTagsOfResource, "{'ResourceArn':'" ARN "x'}", "ResourceNotFoundException",
     "Requested resource not found: ResourceArn: " ARN "x not found"},
    {DX_OP_ListTagsOfResource, "{'ResourceArn':5}", "SerializationException", NULL},
};

static void test_errors(void **state)
{
    struct env *e = *state;
    for (size_t i = 0; i < sizeof errors / sizeof errors[0]; i++) {
        if (errors[i].msg) {
            fails(e, errors[i].op, errors[i].body, errors[i].type, errors[i].msg);
            continue;
        }
        char *text = dequote(errors[i].body);
        struct dx_reply *r = call_raw(e, errors[i].op, text);
        assert_int_equal(r->status, 400);
        assert_non_null(strstr(r->body, errors[i].type));
        dx_reply_free(r);
        free(text);
    }
    /* A rejected request changes nothing, the valid tags in it included. */
    char got[64];
    fails(e, DX_OP_TagResource,
          "{'ResourceArn':'" ARN
          "','Tags':[{'Key':'good','Value':'1'},{'Key':'aws:x','Value':'1'}]}",
          "ValidationException", "Tag Key cannot be prefixed with aws:, Key: aws:x");
    tags_of(e, ARN, got, sizeof got);
    assert_string_equal(got, "");
}

/* Keys and values: DynamoDB's alphabet (any script's letters, digits, spaces, _.:/=+-@) and
 * lengths in characters, not bytes. */
static void test_alphabet_and_lengths(void **state)
{
    struct env *e = *state;
    static const struct {
        const char *key, *value;
        int ok;
    } cases[] = {
        {"sp ace", "a+b-c=d.e_f:g/h@i", 1},
        {"\xd0\xba\xd0\xbb\xd1\x8e\xd1\x87", "caf\xc3\xa9 \xe8\xa1\xa8", 1}, /* ключ, café 表 */
        {"nbsp\xc2\xa0x", "ideo\xe3\x80\x80space", 1},
        {"myaws:x", "", 1},
        {"hi!", "v", 0},
        {"k", "a,b", 0},
        {"k", "100%", 0},
        {"k", "\xf0\x9f\x94\x91", 0}, /* an emoji */
        {"k", "tab\there", 0},
        {"k", "\xff", 0}, /* not UTF-8 */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        cJSON *body = cJSON_CreateObject();
        cJSON_AddStringToObject(body, "ResourceArn", ARN);
        cJSON *t = cJSON_CreateObject();
        cJSON_AddStringToObject(t, "Key", cases[i].key);
        cJSON_AddStringToObject(t, "Value", cases[i].value);
        cJSON_AddItemToArray(cJSON_AddArrayToObject(body, "Tags"), t);
        char *text = cJSON_PrintUnformatted(body);
        struct dx_reply *r = call_raw(e, DX_OP_TagResource, text);
        if (r->status != (cases[i].ok ? 200 : 400))
            fail_msg("case %zu: %s -> %d %.*s", i, text, r->status, (int)r->len, r->body);
        dx_reply_free(r);
        free(text);
        cJSON_Delete(body);
    }
    /* 128-character keys and 256-character values are the longest. */
    char key[200], value[300], body[700];
    memset(key, 'k', 128);
    key[128] = 0;
    memset(value, 'v', 256);
    value[256] = 0;
    snprintf(body, sizeof body, "{'ResourceArn':'%s','Tags':[{'Key':'%s','Value':'%s'}]}", ARN, key,
             value);
    cJSON_Delete(ok(e, DX_OP_TagResource, "%s", body));
    key[128] = 'k';
    key[129] = 0;
    char msg[400];
    snprintf(body, sizeof body, "{'ResourceArn':'%s','Tags':[{'Key':'%s','Value':'v'}]}", ARN, key);
    snprintf(msg, sizeof msg, "The Tag Key provided is invalid, Key: %s", key);
    fails(e, DX_OP_TagResource, body, "ValidationException", msg);
    value[256] = 'v';
    value[257] = 0;
    snprintf(body, sizeof body, "{'ResourceArn':'%s','Tags':[{'Key':'k','Value':'%s'}]}", ARN,
             value);
    snprintf(msg, sizeof msg, "The Tag Value provided is invalid, Value: %s", value);
    fails(e, DX_OP_TagResource, body, "ValidationException", msg);
    /* 128 two-byte characters are 128 characters. */
    char wide[300] = "";
    for (int i = 0; i < 128; i++)
        strcat(wide, "\xd0\xb6");
    snprintf(body, sizeof body, "{'ResourceArn':'%s','Tags':[{'Key':'%s','Value':'v'}]}", ARN,
             wide);
    cJSON_Delete(ok(e, DX_OP_TagResource, "%s", body));
}

/* Builds a TagResource body with keys k<from>..k<to-1>. */
static char *many_tags(int from, int to, const char *value)
{
    size_t cap = 64 + (size_t)(to - from) * 48 + sizeof ARN;
    char *b = malloc(cap);
    size_t used = (size_t)snprintf(b, cap, "{'ResourceArn':'%s','Tags':[", ARN);
    for (int i = from; i < to; i++)
        used += (size_t)snprintf(b + used, cap - used, "%s{'Key':'k%02d','Value':'%s'}",
                                 i > from ? "," : "", i, value);
    snprintf(b + used, cap - used, "]}");
    return b;
}

static void test_fifty_tag_limit(void **state)
{
    struct env *e = *state;
    const char *msg = "Number of Tags exceed the current limit for the provided ResourceArn";
    char *b = many_tags(0, 51, "v");
    fails(e, DX_OP_TagResource, b, "ValidationException", msg);
    free(b);
    b = many_tags(0, 50, "v");
    cJSON_Delete(ok(e, DX_OP_TagResource, "%s", b));
    free(b);
    /* The limit applies to the merged set... */
    b = many_tags(49, 51, "w");
    fails(e, DX_OP_TagResource, b, "ValidationException", msg);
    free(b);
    /* ...so new values for existing keys are fine. */
    b = many_tags(0, 50, "w");
    cJSON_Delete(ok(e, DX_OP_TagResource, "%s", b));
    free(b);
    cJSON *r = ok(e, DX_OP_ListTagsOfResource, "{'ResourceArn':'" ARN "'}");
    const cJSON *tags = cJSON_GetObjectItemCaseSensitive(r, "Tags");
    assert_int_equal(cJSON_GetArraySize(tags), 50);
    assert_string_equal(
        cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(tags, 7), "Value")->valuestring, "w");
    cJSON_Delete(r);
    /* UntagResource takes at most 50 keys too. */
    char keys[1024] = "{'ResourceArn':'" ARN "','TagKeys':[";
    for (int i = 0; i < 51; i++)
        snprintf(keys + strlen(keys), sizeof keys - strlen(keys), "%s'k%02d'", i ? "," : "", i);
    strcat(keys, "]}");
    fails(e, DX_OP_UntagResource, keys, "ValidationException", msg);
}

static void test_create_table_tags_and_reopen(void **state)
{
    struct env *e = *state;
    cJSON_Delete(ok(e, DX_OP_CreateTable,
                    "{'TableName':'tagged','BillingMode':'PAY_PER_REQUEST',"
                    "'KeySchema':[{'AttributeName':'p','KeyType':'HASH'}],"
                    "'AttributeDefinitions':[{'AttributeName':'p','AttributeType':'S'}],"
                    "'StreamSpecification':{'StreamEnabled':true,'StreamViewType':'KEYS_ONLY'},"
                    "'Tags':[{'Key':'a','Value':'1'},{'Key':'b','Value':'2'}]}"));
    const char *arn = "arn:aws:dynamodb:us-east-1:000000000000:table/tagged";
    char got[128];
    tags_of(e, arn, got, sizeof got);
    assert_string_equal(got, "a=1;b=2;");
    char body[256];
    snprintf(body, sizeof body, "{'ResourceArn':'%s','Tags':[{'Key':'c','Value':'3'}]}", arn);
    cJSON_Delete(ok(e, DX_OP_TagResource, "%s", body));
    snprintf(body, sizeof body, "{'ResourceArn':'%s','TagKeys':['a']}", arn);
    cJSON_Delete(ok(e, DX_OP_UntagResource, "%s", body));

    /* Tags persist in the definition, and the table's other settings are untouched. */
    be_close(e->be);
    struct be_options o = {.data_dir = e->dir, .nosync = 1};
    assert_int_equal(be_open(&o, &e->be), 0);
    e->api = be_api(e->be);
    tags_of(e, arn, got, sizeof got);
    assert_string_equal(got, "b=2;c=3;");
    cJSON *d = ok(e, DX_OP_DescribeTable, "{'TableName':'tagged'}");
    const cJSON *t = cJSON_GetObjectItemCaseSensitive(d, "Table");
    assert_non_null(cJSON_GetObjectItemCaseSensitive(t, "StreamSpecification"));
    assert_null(cJSON_GetObjectItemCaseSensitive(t, "Tags")); /* not part of the description */
    cJSON_Delete(d);

    /* They go away with the table: the same name created again has none. */
    cJSON_Delete(ok(e, DX_OP_DeleteTable, "{'TableName':'tagged'}"));
    snprintf(body, sizeof body, "{'ResourceArn':'%s'}", arn);
    char msg[160];
    snprintf(msg, sizeof msg, "Requested resource not found: ResourceArn: %s not found", arn);
    fails(e, DX_OP_ListTagsOfResource, body, "ResourceNotFoundException", msg);
    cJSON_Delete(ok(e, DX_OP_CreateTable,
                    "{'TableName':'tagged','BillingMode':'PAY_PER_REQUEST',"
                    "'KeySchema':[{'AttributeName':'p','KeyType':'HASH'}],"
                    "'AttributeDefinitions':[{'AttributeName':'p','AttributeType':'S'}]}"));
    tags_of(e, arn, got, sizeof got);
    assert_string_equal(got, "");
}

static void test_create_table_tag_errors(void **state)
{
    struct env *e = *state;
    static const struct {
        const char *tags, *msg;
    } cases[] = {
        {"[{'Key':'aws:x','Value':'1'}]", "Tag Key cannot be prefixed with aws:, Key: aws:x"},
        {"[{'Key':'a!','Value':'1'}]", "The Tag Key provided is invalid, Key: a!"},
        {"[{'Key':'a'}]", "The Tag Value provided is invalid, Value: null"},
        {"[{'Key':'a','Value':'1'},{'Key':'a','Value':'2'}]",
         "Duplicate Tag Keys provided as input: Duplicate Tag Key found a"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char body[512];
        snprintf(body, sizeof body,
                 "{'TableName':'bad_tags','BillingMode':'PAY_PER_REQUEST',"
                 "'KeySchema':[{'AttributeName':'p','KeyType':'HASH'}],"
                 "'AttributeDefinitions':[{'AttributeName':'p','AttributeType':'S'}],'Tags':%s}",
                 cases[i].tags);
        fails(e, DX_OP_CreateTable, body, "ValidationException", cases[i].msg);
    }
    fails(e, DX_OP_DescribeTable, "{'TableName':'bad_tags'}", "ResourceNotFoundException",
          "Requested resource not found: Table: bad_tags not found");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_lifecycle, setup, env_teardown),
        cmocka_unit_test_setup_teardown(test_errors, setup, env_teardown),
        cmocka_unit_test_setup_teardown(test_alphabet_and_lengths, setup, env_teardown),
        cmocka_unit_test_setup_teardown(test_fifty_tag_limit, setup, env_teardown),
        cmocka_unit_test_setup_teardown(test_create_table_tags_and_reopen, setup, env_teardown),
        cmocka_unit_test_setup_teardown(test_create_table_tag_errors, setup, env_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
