/*
 * be_exprs_parse: request-level rules with DynamoDB's exact messages. Each case is an
 * operation, a request (JSON with ' for "), and the expected error (NULL: accepted).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>
#include "expr_test_util.h"
#include <cjson/cJSON.h>
#include "be_catalog.h"
#include "be_expr.h"
#include "dx_status.h"

struct pcase {
    enum dx_op op;
    const char *req;
    enum dx_errcode code; /* 0: validation when msg is set */
    const char *msg;
};

#define V DX_OP_PutItem
#define U DX_OP_UpdateItem
#define G DX_OP_GetItem
#define S DX_OP_Scan
#define Q DX_OP_Query
#define D DX_OP_DeleteItem

static const struct pcase cases[] = {
    /* accepted */
    {V, "{'ConditionExpression':'attribute_not_exists(id)'}", 0, NULL},
    {V,
     "{'ConditionExpression':'a = :v AND (b < :v OR NOT c <> "
     ":v)','ExpressionAttributeValues':{':v':{'N':'1'}}}",
     0, NULL},
    {V,
     "{'ConditionExpression':'#n.x[2].y BETWEEN :a AND "
     ":b','ExpressionAttributeNames':{'#n':'name'},'ExpressionAttributeValues':{':a':{'N':'1'},':b'"
     ":{'N':'2'}}}",
     0, NULL},
    {V,
     "{'ConditionExpression':'a IN (:a, :b) and size(b) > "
     ":a','ExpressionAttributeValues':{':a':{'N':'1'},':b':{'N':'2'}}}",
     0, NULL},
    {V, "{'ConditionExpression':'(a) = :a','ExpressionAttributeValues':{':a':{'N':'1'}}}", 0, NULL},
    {V, "{'ConditionExpression':'(a = :a)','ExpressionAttributeValues':{':a':{'N':'1'}}}", 0, NULL},
    {V,
     "{'ConditionExpression':'begins_with(a, :s) AND contains(b, :s) AND attribute_type(c, "
     ":t)','ExpressionAttributeValues':{':s':{'S':'x'},':t':{'S':'SS'}}}",
     0, NULL},
    {U,
     "{'UpdateExpression':'SET a = :v, b = b + :v REMOVE c[1], d.e ADD f :v DELETE g "
     ":s','ExpressionAttributeValues':{':v':{'N':'1'},':s':{'SS':['x']}}}",
     0, NULL},
    {U,
     "{'UpdateExpression':'set a = list_append(if_not_exists(a, :l), "
     ":l)','ExpressionAttributeValues':{':l':{'L':[]}}}",
     0, NULL},
    {U, "{'UpdateExpression':'SET a = (b - :v)','ExpressionAttributeValues':{':v':{'N':'1'}}}", 0,
     NULL},
    {G, "{'ProjectionExpression':'a, b.c, d[0], #s','ExpressionAttributeNames':{'#s':'size'}}", 0,
     NULL},
    {G, "{'AttributesToGet':['a','b']}", 0, NULL},
    {G, "{'ExpressionAttributeValues':{':v':{'S':'x'}}}", 0, NULL},
    {U, "{'AttributeUpdates':{'a':{'Action':'PUT','Value':{'S':'x'}},'b':{'Action':'DELETE'}}}", 0,
     NULL},
    {V,
     "{'Expected':{'a':{'Exists':false},'b':{'Value':{'S':'x'}},'c':{'ComparisonOperator':'IN','"
     "AttributeValueList':[{'S':'a'},{'S':'b'}]}},'ConditionalOperator':'OR'}",
     0, NULL},
    {S, "{'ScanFilter':{'a':{'ComparisonOperator':'NOT_NULL'}}}", 0, NULL},
    {Q,
     "{'KeyConditionExpression':'id = :v','FilterExpression':'b = "
     ":v','ExpressionAttributeValues':{':v':{'S':'x'}}}",
     0, NULL},
    {Q,
     "{'KeyConditions':{'id':{'ComparisonOperator':'EQ','AttributeValueList':[{'S':'x'}]}},'"
     "FilterExpression':'b = :v','ExpressionAttributeValues':{':v':{'S':'x'}}}",
     0, NULL},

    /* syntax */
    {V, "{'ConditionExpression':'attribute_not_exists(id) AND'}", 0,
     "Invalid ConditionExpression: Syntax error; token: \"<EOF>\", near: \"AND\""},
    {U, "{'UpdateExpression':'INVALID SYNTAX HERE'}", 0,
     "Invalid UpdateExpression: Syntax error; token: \"INVALID\", near: \"INVALID SYNTAX\""},
    {U, "{'UpdateExpression':'ADD hits : incr','ExpressionAttributeValues':{':incr':{'N':'1'}}}", 0,
     "Invalid UpdateExpression: Syntax error; token: \":\", near: \"hits : incr\""},
    {V, "{'ConditionExpression':'first-name = :v','ExpressionAttributeValues':{':v':{'N':'1'}}}", 0,
     "Invalid ConditionExpression: Syntax error; token: \"-\", near: \"first-name\""},
    {G, "{'ProjectionExpression':'a, b,'}", 0,
     "Invalid ProjectionExpression: Syntax error; token: \"<EOF>\", near: \",\""},
    {U, "{'UpdateExpression':'SET a = :v, REMOVE b','ExpressionAttributeValues':{':v':{'N':'1'}}}",
     0, "Invalid UpdateExpression: Syntax error; token: \"REMOVE\", near: \", REMOVE b\""},
    {S, "{'FilterExpression':'a = '}", 0,
     "Invalid FilterExpression: Syntax error; token: \"<EOF>\", near: \"= \""},
    {Q, "{'KeyConditionExpression':'id == :v','ExpressionAttributeValues':{':v':{'S':'x'}}}", 0,
     "Invalid KeyConditionExpression: Syntax error; token: \"=\", near: \"== :v\""},

    /* empty */
    {U, "{'UpdateExpression':''}", 0, "Invalid UpdateExpression: The expression can not be empty;"},
    {V, "{'ConditionExpression':''}", 0,
     "Invalid ConditionExpression: The expression can not be empty;"},
    {G, "{'ProjectionExpression':''}", 0,
     "Invalid ProjectionExpression: The expression can not be empty;"},

    /* reserved words */
    {V, "{'ConditionExpression':'name = :v','ExpressionAttributeValues':{':v':{'N':'1'}}}", 0,
     "Invalid ConditionExpression: Attribute name is a reserved keyword; reserved keyword: name"},
    {G, "{'ProjectionExpression':'a, Year'}", 0,
     "Invalid ProjectionExpression: Attribute name is a reserved keyword; reserved keyword: Year"},
    {U, "{'UpdateExpression':'SET a.status = :v','ExpressionAttributeValues':{':v':{'N':'1'}}}", 0,
     "Invalid UpdateExpression: Attribute name is a reserved keyword; reserved keyword: status"},

    /* names and values */
    {V, "{'ConditionExpression':'#n = :v','ExpressionAttributeValues':{':v':{'N':'1'}}}", 0,
     "Invalid ConditionExpression: An expression attribute name used in the document path is not "
     "defined; attribute name: #n"},
    {V, "{'ConditionExpression':'a = :v'}", 0,
     "Invalid ConditionExpression: An expression attribute value used in expression is not "
     "defined; attribute value: :v"},
    {U, "{'UpdateExpression':'SET a = :v','ExpressionAttributeValues':{':w':{'N':'1'}}}", 0,
     "Invalid UpdateExpression: An expression attribute value used in expression is not defined; "
     "attribute value: :v"},
    {V,
     "{'ConditionExpression':'a = "
     ":v','ExpressionAttributeNames':{'#a':'x','#b':'y'},'ExpressionAttributeValues':{':v':{'N':'1'"
     "}}}",
     0, "Value provided in ExpressionAttributeNames unused in expressions: keys: {#a, #b}"},
    {V,
     "{'ConditionExpression':'a = :v','ExpressionAttributeValues':{':v':{'N':'1'},':w':{'N':'1'}}}",
     0, "Value provided in ExpressionAttributeValues unused in expressions: keys: {:w}"},
    {G, "{'ExpressionAttributeNames':{'#a':'x'}}", 0,
     "ExpressionAttributeNames can only be specified when using expressions"},
    {V, "{'ExpressionAttributeValues':{':a':{'S':'x'}}}", 0,
     "ExpressionAttributeValues can only be specified when using expressions: ConditionExpression "
     "is null"},
    {U, "{'ExpressionAttributeValues':{':a':{'S':'x'}}}", 0,
     "ExpressionAttributeValues can only be specified when using expressions: UpdateExpression and "
     "ConditionExpression are null"},
    {V, "{'ConditionExpression':'a = :v','ExpressionAttributeValues':{}}", 0,
     "ExpressionAttributeValues must not be empty"},
    {V, "{'ConditionExpression':'a = :v','ExpressionAttributeNames':{}}", 0,
     "ExpressionAttributeNames must not be empty"},
    {V, "{'ConditionExpression':'a = :v','ExpressionAttributeNames':{'a':'b'}}", 0,
     "ExpressionAttributeNames contains invalid key: Syntax error; key: \"a\""},
    {V, "{'ConditionExpression':'a = :v','ExpressionAttributeValues':{'v':{'S':'x'}}}", 0,
     "ExpressionAttributeValues contains invalid key: Syntax error; key: \"v\""},
    {V, "{'ConditionExpression':'a = :v','ExpressionAttributeValues':{':v':{'S':''}}}", 0, NULL},
    {V, "{'ConditionExpression':'a = :v','ExpressionAttributeValues':{':v':{'N':'abc'}}}", 0,
     "ExpressionAttributeValues contains invalid value: The parameter cannot be converted to a "
     "numeric value: abc for key :v"},
    {V, "{'ConditionExpression':5}", DX_E_SERIALIZATION,
     "NUMBER_VALUE cannot be converted to String"},
    {V, "{'ConditionExpression':'a = :v','ExpressionAttributeValues':[]}", DX_E_SERIALIZATION,
     "Start of list found where not expected"},

    /* mixing */
    {G, "{'ProjectionExpression':'a','AttributesToGet':['a']}", 0,
     "Can not use both expression and non-expression parameters in the same request: "
     "Non-expression parameters: {AttributesToGet} Expression parameters: {ProjectionExpression}"},
    {U,
     "{'UpdateExpression':'SET a = :v','ConditionExpression':'b = "
     ":v','AttributeUpdates':{},'Expected':{},'ExpressionAttributeValues':{':v':{'N':'1'}}}",
     0,
     "Can not use both expression and non-expression parameters in the same request: "
     "Non-expression parameters: {AttributeUpdates, Expected} Expression parameters: "
     "{UpdateExpression, ConditionExpression}"},
    {S, "{'FilterExpression':'a = :v','ScanFilter':{},'ConditionalOperator':'OR'}", 0,
     "Can not use both expression and non-expression parameters in the same request: "
     "Non-expression parameters: {ScanFilter, ConditionalOperator} Expression parameters: "
     "{FilterExpression}"},

    /* functions and operands */
    {V, "{'ConditionExpression':'foo(a)'}", 0,
     "Invalid ConditionExpression: Invalid function name; function: foo"},
    {V, "{'ConditionExpression':'begins_with(a)'}", 0,
     "Invalid ConditionExpression: Incorrect number of operands for operator or function; operator "
     "or function: begins_with, number of operands: 1"},
    {V,
     "{'ConditionExpression':'attribute_exists(:v)','ExpressionAttributeValues':{':v':{'N':'1'}}}",
     0,
     "Invalid ConditionExpression: Operator or function requires a document path; operator or "
     "function: attribute_exists"},
    {V, "{'ConditionExpression':'begins_with(a, :v)','ExpressionAttributeValues':{':v':{'N':'1'}}}",
     0,
     "Invalid ConditionExpression: Incorrect operand type for operator or function; operator or "
     "function: begins_with, operand type: N"},
    {V,
     "{'ConditionExpression':'attribute_type(a, :v)','ExpressionAttributeValues':{':v':{'S':'X'}}}",
     0,
     "Invalid ConditionExpression: Invalid attribute type name found; type: X, valid types: "
     "{N,BS,L,B,NULL,M,S,SS,NS,BOOL}"},
    {V,
     "{'ConditionExpression':'attribute_type(a, :v)','ExpressionAttributeValues':{':v':{'N':'1'}}}",
     0,
     "Invalid ConditionExpression: Incorrect operand type for operator or function; operator or "
     "function: attribute_type, operand type: N"},
    {V, "{'ConditionExpression':'size(:v) > a','ExpressionAttributeValues':{':v':{'N':'1'}}}", 0,
     "Invalid ConditionExpression: Incorrect operand type for operator or function; operator or "
     "function: size, operand type: N"},
    {V,
     "{'ConditionExpression':'begins_with(a, :v) = "
     "b','ExpressionAttributeValues':{':v':{'S':'1'}}}",
     0,
     "Invalid ConditionExpression: The function is not allowed to be used this way in an "
     "expression; function: begins_with"},
    {V, "{'ConditionExpression':'size(a)'}", 0,
     "Invalid ConditionExpression: The function is not allowed to be used this way in an "
     "expression; function: size"},
    {V, "{'ConditionExpression':'a = a'}", 0,
     "Invalid ConditionExpression: The first operand must be distinct from the remaining operands "
     "for this operator or function; operator: =, first operand: [a]"},
    {V,
     "{'ConditionExpression':'a BETWEEN :a AND "
     ":b','ExpressionAttributeValues':{':a':{'N':'5'},':b':{'N':'1'}}}",
     0,
     "Invalid ConditionExpression: The BETWEEN operator requires upper bound to be greater than or "
     "equal to lower bound; lower bound operand: AttributeValue: {N:5}, upper bound operand: "
     "AttributeValue: {N:1}"},
    {V,
     "{'ConditionExpression':'a BETWEEN :a AND "
     ":b','ExpressionAttributeValues':{':a':{'N':'5'},':b':{'S':'x'}}}",
     0,
     "Invalid ConditionExpression: The BETWEEN operator requires same data type for lower and "
     "upper bounds; lower bound operand: AttributeValue: {N:5}, upper bound operand: "
     "AttributeValue: {S:x}"},
    {V, "{'ConditionExpression':'((a = :a))','ExpressionAttributeValues':{':a':{'N':'1'}}}", 0,
     "Invalid ConditionExpression: The expression has redundant parentheses;"},

    /* update specifics */
    {U, "{'UpdateExpression':'SET a = :v SET b = :v','ExpressionAttributeValues':{':v':{'N':'1'}}}",
     0,
     "Invalid UpdateExpression: The \"SET\" section can only be used once in an update "
     "expression;"},
    {U, "{'UpdateExpression':'SET a = :v REMOVE a.b','ExpressionAttributeValues':{':v':{'N':'1'}}}",
     0,
     "Invalid UpdateExpression: Two document paths overlap with each other; must remove or rewrite "
     "one of these paths; path one: [a], path two: [a, b]"},
    {U,
     "{'UpdateExpression':'SET a[1] = :v REMOVE a.b','ExpressionAttributeValues':{':v':{'N':'1'}}}",
     0,
     "Invalid UpdateExpression: Two document paths conflict with each other; must remove or "
     "rewrite one of these paths; path one: [a, [1]], path two: [a, b]"},
    {U,
     "{'UpdateExpression':'SET #a = :v REMOVE "
     "#a','ExpressionAttributeNames':{'#a':'x'},'ExpressionAttributeValues':{':v':{'N':'1'}}}",
     0,
     "Invalid UpdateExpression: Two document paths overlap with each other; must remove or rewrite "
     "one of these paths; path one: [x], path two: [x]"},
    {U, "{'UpdateExpression':'ADD a :v','ExpressionAttributeValues':{':v':{'S':'x'}}}", 0,
     "Invalid UpdateExpression: Incorrect operand type for operator or function; operator: ADD, "
     "operand type: STRING, typeSet: ALLOWED_FOR_ADD_OPERAND"},
    {U, "{'UpdateExpression':'DELETE a :v','ExpressionAttributeValues':{':v':{'N':'1'}}}", 0,
     "Invalid UpdateExpression: Incorrect operand type for operator or function; operator: DELETE, "
     "operand type: NUMBER, typeSet: ALLOWED_FOR_DELETE_OPERAND"},
    {U, "{'UpdateExpression':'SET a = b + :v','ExpressionAttributeValues':{':v':{'S':'x'}}}", 0,
     "Invalid UpdateExpression: Incorrect operand type for operator or function; operator or "
     "function: +, operand type: S"},
    {U,
     "{'UpdateExpression':'SET a = list_append(b, "
     ":v)','ExpressionAttributeValues':{':v':{'S':'x'}}}",
     0,
     "Invalid UpdateExpression: Incorrect operand type for operator or function; operator or "
     "function: list_append, operand type: S"},
    {U,
     "{'UpdateExpression':'SET a = if_not_exists(:v, "
     "b)','ExpressionAttributeValues':{':v':{'S':'x'}}}",
     0,
     "Invalid UpdateExpression: Operator or function requires a document path; operator or "
     "function: if_not_exists"},
    {U, "{'UpdateExpression':'SET a = attribute_exists(b)'}", 0,
     "Invalid UpdateExpression: The function is not allowed in an update expression; function: "
     "attribute_exists"},
    {U, "{'UpdateExpression':'SET id = :v','ExpressionAttributeValues':{':v':{'S':'x'}}}", 0, NULL},
    {U, "{'UpdateExpression':'REMOVE id.x'}", 0, NULL},
    {U, "{'AttributeUpdates':{'id':{'Action':'PUT','Value':{'S':'x'}}}}", 0, NULL},
    {G, "{'ProjectionExpression':'a.b, a'}", 0,
     "Invalid ProjectionExpression: Two document paths overlap with each other; must remove or "
     "rewrite one of these paths; path one: [a, b], path two: [a]"},

    /* error order: reserved before undefined name (update), unknown function before reserved
       (condition) */
    {U, "{'UpdateExpression':'SET #a = :v, b.name = :v'}", 0,
     "Invalid UpdateExpression: Attribute name is a reserved keyword; reserved keyword: name"},
    {V, "{'ConditionExpression':'name = foo(a)'}", 0,
     "Invalid ConditionExpression: Attribute name is a reserved keyword; reserved keyword: name"},
    {V, "{'ConditionExpression':'foo(a) = name'}", 0,
     "Invalid ConditionExpression: Invalid function name; function: foo"},
    {V, "{'ConditionExpression':'#a = :v AND b = :w'}", 0,
     "Invalid ConditionExpression: An expression attribute name used in the document path is not "
     "defined; attribute name: #a"},
    {V, "{'ConditionExpression':'b = :w AND #a = :v'}", 0,
     "Invalid ConditionExpression: An expression attribute value used in expression is not "
     "defined; attribute value: :w"},
    {V, "{'ConditionExpression':'foo'}", 0,
     "Invalid ConditionExpression: Syntax error; token: \"<EOF>\", near: \"foo\""},
    {V, "{'ConditionExpression':'a+:delta<b','ExpressionAttributeValues':{':delta':{'N':'1'}}}", 0,
     "Invalid ConditionExpression: Syntax error; token: \"+\", near: \"a+:delta\""},
    {U, "{'UpdateExpression':'SET _123 = :v','ExpressionAttributeValues':{':v':{'N':'1'}}}", 0,
     "Invalid UpdateExpression: Syntax error; token: \"_\", near: \"SET _123\""},
    {U,
     "{'UpdateExpression':'SET :a = "
     ":v','ExpressionAttributeValues':{':v':{'N':'1'},':a':{'N':'1'}}}",
     0, "Invalid UpdateExpression: Syntax error; token: \":a\", near: \"SET :a =\""},
    {U, "{'UpdateExpression':'HELLO b = :v','ExpressionAttributeValues':{':v':{'N':'1'}}}", 0,
     "Invalid UpdateExpression: Syntax error; token: \"HELLO\", near: \"HELLO b\""},
    {V, "{'ConditionExpression':'a[2147483648] = :v','ExpressionAttributeValues':{':v':{'N':'1'}}}",
     0,
     "Invalid ConditionExpression: List index is not within the allowable range; index: "
     "[2147483648]"},
    {V, "{'ConditionExpression':'a < :v','ExpressionAttributeValues':{':v':{'L':[]}}}", 0,
     "Invalid ConditionExpression: Incorrect operand type for operator or function; operator or "
     "function: <, operand type: L"},
    {V, "{'ConditionExpression':'list_append(a, b) = c'}", 0,
     "Invalid ConditionExpression: The function is not allowed in a condition expression; "
     "function: list_append"},
    {V, "{'ConditionExpression':'a IN (a, b)'}", 0,
     "Invalid ConditionExpression: The first operand must be distinct from the remaining operands "
     "for this operator or function; operator: IN, first operand: [a]"},
    {V, "{'ConditionExpression':'((a) = :v)','ExpressionAttributeValues':{':v':{'N':'1'}}}", 0,
     NULL},
    {V, "{'ConditionExpression':'((a)) = :v','ExpressionAttributeValues':{':v':{'N':'1'}}}", 0,
     "Invalid ConditionExpression: The expression has redundant parentheses;"},
    {V,
     "{'ConditionExpression':'(a = :v) AND ((b = :v OR c = "
     ":v))','ExpressionAttributeValues':{':v':{'N':'1'}}}",
     0, "Invalid ConditionExpression: The expression has redundant parentheses;"},
    {U,
     "{'UpdateExpression':'SET a = :v REMOVE b SET c = "
     ":v','ExpressionAttributeValues':{':v':{'N':'1'}}}",
     0,
     "Invalid UpdateExpression: The \"SET\" section can only be used once in an update "
     "expression;"},
    {U, "{'UpdateExpression':'SET a = if_not_exists(a)'}", 0,
     "Invalid UpdateExpression: Incorrect number of operands for operator or function; operator or "
     "function: if_not_exists, number of operands: 1"},
    {U, "{'UpdateExpression':'SET a = :x, b = :y'}", 0,
     "Invalid UpdateExpression: An expression attribute value used in expression is not defined; "
     "attribute value: :y"},
    {U, "{'UpdateExpression':'SET a = :x, b = #y'}", 0,
     "Invalid UpdateExpression: An expression attribute name used in the document path is not "
     "defined; attribute name: #y"},
    /* SIZE is on the reserved list although it also names a function (checked against
     * AWS's answer by several public suites); size(a) stays a function. */
    {G, "{'ProjectionExpression':'size, a'}", 0,
     "Invalid ProjectionExpression: Attribute name is a reserved keyword; reserved keyword: size"},
    {G, "{'ProjectionExpression':'a, and'}", 0,
     "Invalid ProjectionExpression: Syntax error; token: \"and\", near: \", and\""},
    {V,
     "{'ConditionExpression':'a = "
     ":v','ExpressionAttributeNames':{'#a':''},'ExpressionAttributeValues':{':v':{'N':'1'}}}",
     0, "ExpressionAttributeNames contains invalid value: Empty attribute name for key #a"},

    /* key attributes hold scalars; a Query filter may not use them */
    {V, "{'ConditionExpression':'id.x = :v','ExpressionAttributeValues':{':v':{'N':'1'}}}", 0,
     "Key attributes must be scalars; list random access '[]' and map lookup '.' are not allowed: "
     "Key: id"},
    {G, "{'ProjectionExpression':'a, id[0]'}", 0,
     "Key attributes must be scalars; list random access '[]' and map lookup '.' are not allowed: "
     "Key: id"},
    {Q,
     "{'KeyConditionExpression':'id = :v','FilterExpression':'id = "
     ":v','ExpressionAttributeValues':{':v':{'S':'x'}}}",
     0, "Filter Expression can only contain non-primary key attributes: Primary key attribute: id"},
    {S, "{'FilterExpression':'id = :v','ExpressionAttributeValues':{':v':{'S':'x'}}}", 0, NULL},
    /* unused placeholders are listed in DynamoDB's (Java HashSet) order */
    {V,
     "{'ConditionExpression':'a = "
     ":v','ExpressionAttributeNames':{'#zz':'x','#a':'y','#b':'z'},'ExpressionAttributeValues':{':"
     "v':{'N':'1'}}}",
     0, "Value provided in ExpressionAttributeNames unused in expressions: keys: {#zz, #a, #b}"},
    {Q, "{'FilterExpression':'a = :v','ExpressionAttributeValues':{':v':{'S':'x'}}}", 0,
     "Either the KeyConditions or KeyConditionExpression parameter must be specified in the "
     "request."},
    {Q,
     "{'KeyConditions':{'id':{'ComparisonOperator':'EQ','AttributeValueList':[{'S':'x'}]},'a':{'"
     "ComparisonOperator':'NULL'},'b':{'ComparisonOperator':'NULL'}}}",
     0, "Conditions can be of length 1 or 2 only"},
    {V,
     "{'ConditionExpression':'a = "
     ":v','ConditionalOperator':'OR','ExpressionAttributeValues':{':v':{'S':'x'}}}",
     0, NULL},
    {Q,
     "{'KeyConditionExpression':'id = "
     ":v','KeyConditions':{},'ExpressionAttributeValues':{':v':{'S':'x'}}}",
     0,
     "Can not use both expression and non-expression parameters in the same request: "
     "Non-expression parameters: {KeyConditions} Expression parameters: {KeyConditionExpression}"},
    {Q,
     "{'ExpressionAttributeValues':{':v':{'S':'x'}},'KeyConditions':{'id':{'ComparisonOperator':'"
     "EQ','AttributeValueList':[{'S':'x'}]}}}",
     0,
     "ExpressionAttributeValues can only be specified when using expressions: FilterExpression and "
     "KeyConditionExpression are null"},
    /* paths: the first overlap wins over any conflict */
    {U,
     "{'UpdateExpression':'set d[1] = a, d.b = a, c[1].a = a, #c = "
     "if_not_exists(a)','ExpressionAttributeNames':{'#c':'c','#d':'[3]'}}",
     0,
     "Invalid UpdateExpression: Two document paths overlap with each other; must remove or rewrite "
     "one of these paths; path one: [c, [1], a], path two: [c]"},
    {U,
     "{'UpdateExpression':'set #c[3].#d = a, #c.#d[3] = "
     "if_not_exists(a)','ExpressionAttributeNames':{'#c':'c','#d':'[3]'}}",
     0,
     "Invalid UpdateExpression: Two document paths conflict with each other; must remove or "
     "rewrite one of these paths; path one: [c, [3], [3]], path two: [c, [3], [3]]"},
    {U,
     "{'UpdateExpression':'remove a.#c set a[1] = "
     "#d','ExpressionAttributeNames':{'#c':'c','#d':'d'}}",
     0,
     "Invalid UpdateExpression: Two document paths conflict with each other; must remove or "
     "rewrite one of these paths; path one: [a, c], path two: [a, [1]]"},
    {U,
     "{'UpdateExpression':'SET #a = "
     "if_not_exists(:c)','ExpressionAttributeNames':{'#a':'a'},'ExpressionAttributeValues':{':a':{'"
     "S':'a'}}}",
     0,
     "Invalid UpdateExpression: An expression attribute value used in expression is not defined; "
     "attribute value: :c"},
    {U,
     "{'UpdateExpression':'set b = list_append(:a, a), c = if_not_exists(a) add a.b "
     ":a','ExpressionAttributeValues':{':a':{'S':'a'}}}",
     0,
     "Invalid UpdateExpression: Incorrect operand type for operator or function; operator: ADD, "
     "operand type: STRING, typeSet: ALLOWED_FOR_ADD_OPERAND"},
    {U,
     "{'UpdateExpression':' set #c = :c set abOrt = true "
     "','ExpressionAttributeNames':{'#c':'c'},'ExpressionAttributeValues':{':c':{'S':'a'}}}",
     0, "Invalid UpdateExpression: Attribute name is a reserved keyword; reserved keyword: abOrt"},
    {U, "{'UpdateExpression':'remove #d set a = b remove e','ExpressionAttributeNames':{'#d':'d'}}",
     0,
     "Invalid UpdateExpression: The \"REMOVE\" section can only be used once in an update "
     "expression;"},
    {U, "{'UpdateExpression':'set a[1] = \\\"eight\\\"'}", 0,
     "Invalid UpdateExpression: Syntax error; token: \"\"eight\"\", near: \"= \"eight\"\""},
    {Q, "{'KeyConditionExpression':'id = :v','QueryFilter':{'id':{'ComparisonOperator':'NULL'}}}",
     0,
     "Can not use both expression and non-expression parameters in the same request: "
     "Non-expression parameters: {QueryFilter} Expression parameters: {KeyConditionExpression}"},
    {Q,
     "{'KeyConditions':{'id':{'ComparisonOperator':'EQ','AttributeValueList':[{'S':'x'}]}},'"
     "QueryFilter':{'id':{'ComparisonOperator':'NULL'}}}",
     0, "QueryFilter can only contain non-primary key attributes: Primary key attribute: id"},
    {V, "{'ConditionExpression':'(size(a)) > :v','ExpressionAttributeValues':{':v':{'N':'1'}}}", 0,
     NULL},
    {V,
     "{'ConditionExpression':'(attribute_exists(a)) AND NOT (a) IN "
     "(:v)','ExpressionAttributeValues':{':v':{'N':'1'}}}",
     0, NULL},
    {V, "{'ConditionExpression':'(a = :v) = :v','ExpressionAttributeValues':{':v':{'N':'1'}}}", 0,
     "Invalid ConditionExpression: Syntax error; token: \"=\", near: \") = :v\""},
    /* legacy */
    {U, "{'AttributeUpdates':{'a':{'Action':'ADD'}}}", 0,
     "One or more parameter values were invalid: Only DELETE action is allowed when no attribute "
     "value is specified"},
    {U, "{'AttributeUpdates':{'a':{'Action':'DELETE','Value':{'S':'x'}}}}", 0,
     "One or more parameter values were invalid: DELETE action with value is not supported for the "
     "type S"},
    {U, "{'AttributeUpdates':{'a':{'Action':'ADD','Value':{'S':'x'}}}}", 0,
     "One or more parameter values were invalid: ADD action is not supported for the type S"},
    {V, "{'Expected':{'a':{'Exists':true}}}", 0,
     "One or more parameter values were invalid: Value must be provided when Exists is true for "
     "Attribute: a"},
    {V, "{'Expected':{'a':{}}}", 0,
     "One or more parameter values were invalid: Value must be provided when Exists is null for "
     "Attribute: a"},
    {V, "{'Expected':{'a':{'Exists':false,'Value':{'S':'x'}}}}", 0,
     "One or more parameter values were invalid: Value cannot be used when Exists is false for "
     "Attribute: a"},
    {V, "{'Expected':{'a':{'ComparisonOperator':'EQ','Exists':true}}}", 0,
     "One or more parameter values were invalid: Exists and ComparisonOperator cannot be used "
     "together for Attribute: a"},
    {V, "{'Expected':{'a':{'ComparisonOperator':'EQ'}}}", 0,
     "One or more parameter values were invalid: Value or AttributeValueList must be used with "
     "ComparisonOperator: EQ for Attribute: a"},
    {V, "{'Expected':{'a':{'ComparisonOperator':'BETWEEN','AttributeValueList':[{'N':'1'}]}}}", 0,
     "One or more parameter values were invalid: Invalid number of argument(s) for the BETWEEN "
     "ComparisonOperator"},
    {V,
     "{'Expected':{'a':{'ComparisonOperator':'BETWEEN','AttributeValueList':[{'N':'3'},{'N':'1'}]}}"
     "}",
     0,
     "The BETWEEN condition was provided a range where the lower bound is greater than the upper "
     "bound"},
    {V, "{'Expected':{'a':{'AttributeValueList':[{'N':'3'}]}}}", 0,
     "One or more parameter values were invalid: AttributeValueList can only be used with a "
     "ComparisonOperator for Attribute: a"},
    {S, "{'ScanFilter':{'a':{'ComparisonOperator':'LT','AttributeValueList':[{'BOOL':true}]}}}", 0,
     "One or more parameter values were invalid: ComparisonOperator LT is not valid for BOOL "
     "AttributeValue type"},
    {S,
     "{'ScanFilter':{'a':{'ComparisonOperator':'IN','AttributeValueList':[{'N':'1'},{'S':'x'}]}}}",
     0,
     "One or more parameter values were invalid: AttributeValues inside AttributeValueList must be "
     "of same type"},
    {S, "{'ScanFilter':{'a':{'AttributeValueList':[{'N':'1'}]}}}", 0,
     "1 validation error detected: Value null at 'scanFilter.a.member.comparisonOperator' failed "
     "to satisfy constraint: Member must not be null"},
    {G, "{'AttributesToGet':['a','a']}", 0,
     "One or more parameter values were invalid: Duplicate value in attribute name: a"},
};

static void test_cases(void **state)
{
    struct be_table t;
    memset(&t, 0, sizeof(t));
    t.hash.name = "id";
    t.hash.type = DX_AV_S;
    int failures = 0;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const struct pcase *c = &cases[i];
        char *j = jsonify(c->req);
        cJSON *req = cJSON_Parse(j);
        assert_non_null(req);
        struct dx_arena a;
        struct dx_error err = {0};
        struct be_exprs *x = NULL;
        dx_arena_init(&a);
        int rc = be_exprs_parse(&a, c->op, req, &t, &x, &err);
        if (!c->msg) {
            if (rc != DX_OK) {
                fprintf(stderr, "case %zu %s: unexpected error: %s\n", i, c->req, err.msg);
                failures++;
            }
        } else {
            enum dx_errcode want = c->code ? c->code : DX_E_VALIDATION;
            if (rc != DX_EREQ || err.code != want || !err.msg || strcmp(err.msg, c->msg) != 0) {
                fprintf(stderr, "case %zu %s:\n  want: %s\n  got:  %s\n", i, c->req, c->msg,
                        rc == DX_OK ? "(accepted)" : err.msg);
                failures++;
            }
        }
        dx_error_clear(&err);
        dx_arena_deinit(&a);
        cJSON_Delete(req);
        free(j);
    }
    fprintf(stderr, "%zu cases, %d failed\n", sizeof(cases) / sizeof(cases[0]), failures);
    assert_int_equal(failures, 0);
}

/* Query key conditions against a table with hash key id (S) and range key r (N). */
struct kcase {
    const char *req;
    const char *msg; /* NULL: accepted */
    enum be_keycond_op op;
};

static const struct kcase kcases[] = {
    {"{'KeyConditionExpression':'id = :h','ExpressionAttributeValues':{':h':{'S':'x'}}}", NULL,
     BE_KC_NONE},
    {"{'KeyConditionExpression':'id = :h AND r > "
     ":a','ExpressionAttributeValues':{':h':{'S':'x'},':a':{'N':'1'}}}",
     NULL, BE_KC_GT},
    {"{'KeyConditionExpression':':a <= r AND :h = "
     "id','ExpressionAttributeValues':{':h':{'S':'x'},':a':{'N':'1'}}}",
     NULL, BE_KC_GE},
    {"{'KeyConditionExpression':'#h = :h AND #r BETWEEN :a AND "
     ":b','ExpressionAttributeNames':{'#h':'id','#r':'r'},'ExpressionAttributeValues':{':h':{'S':'"
     "x'},':a':{'N':'1'},':b':{'N':'2'}}}",
     NULL, BE_KC_BETWEEN},
    {"{'KeyConditions':{'id':{'ComparisonOperator':'EQ','AttributeValueList':[{'S':'x'}]},'r':{'"
     "ComparisonOperator':'LT','AttributeValueList':[{'N':'1'}]}}}",
     NULL, BE_KC_LT},
    {"{'KeyConditionExpression':'id = :h OR r > "
     ":a','ExpressionAttributeValues':{':h':{'S':'x'},':a':{'N':'1'}}}",
     "Invalid operator used in KeyConditionExpression: OR", 0},
    {"{'KeyConditionExpression':'id = :h AND "
     "attribute_exists(r)','ExpressionAttributeValues':{':h':{'S':'x'}}}",
     "Invalid operator used in KeyConditionExpression: attribute_exists", 0},
    {"{'KeyConditionExpression':'id = :h AND size(r) > "
     ":a','ExpressionAttributeValues':{':h':{'S':'x'},':a':{'N':'1'}}}",
     "KeyConditionExpressions cannot contain nested operations", 0},
    {"{'KeyConditionExpression':'r = :a','ExpressionAttributeValues':{':a':{'N':'1'}}}",
     "Query condition missed key schema element: id", 0},
    {"{'KeyConditionExpression':'id = :h AND x = "
     ":h','ExpressionAttributeValues':{':h':{'S':'x'}}}",
     "Query condition missed key schema element: id", 0},
    {"{'KeyConditionExpression':'id > :h','ExpressionAttributeValues':{':h':{'S':'x'}}}",
     "Query key condition not supported", 0},
    {"{'KeyConditionExpression':'id = :h AND id = "
     ":h','ExpressionAttributeValues':{':h':{'S':'x'}}}",
     "KeyConditionExpressions must only contain one condition per key", 0},
    {"{'KeyConditionExpression':'id = :h','ExpressionAttributeValues':{':h':{'N':'1'}}}",
     "One or more parameter values were invalid: Condition parameter type does not match schema "
     "type",
     0},
    {"{'KeyConditionExpression':'id.a = :h','ExpressionAttributeValues':{':h':{'S':'x'}}}",
     "Key attributes must be scalars; list random access '[]' and map lookup '.' are not allowed: "
     "Key: id",
     0},
    {"{'KeyConditions':{'id':{'ComparisonOperator':'NULL'}}}",
     "Attempted conditional constraint is not an indexable operation", 0},
    {"{'KeyConditions':{'r':{'ComparisonOperator':'EQ','AttributeValueList':[{'N':'1'}]}}}",
     "Query condition missed key schema element: id", 0},
    {"{'KeyConditions':{'id':{'ComparisonOperator':'GT','AttributeValueList':[{'S':'x'}]}}}",
     "Query key condition not supported", 0},
    {"{'KeyConditions':{'id':{'ComparisonOperator':'EQ','AttributeValueList':[{'N':'1'}]}}}",
     "One or more parameter values were invalid: Condition parameter type does not match schema "
     "type",
     0},
    {"{'KeyConditions':{'id':{'ComparisonOperator':'EQ','AttributeValueList':[{'S':'x'}]},'r':{'"
     "ComparisonOperator':'BEGINS_WITH','AttributeValueList':[{'N':'1'}]}}}",
     "One or more parameter values were invalid: ComparisonOperator BEGINS_WITH is not valid for N "
     "AttributeValue type",
     0},
    {"{'KeyConditions':{'id':{'ComparisonOperator':'EQ','AttributeValueList':[{'S':'x'}]},'r':{'"
     "ComparisonOperator':'BETWEEN','AttributeValueList':[{'N':'1'},{'N':'2'}]}}}",
     NULL, BE_KC_BETWEEN},
};

static void test_key_conditions(void **state)
{
    struct be_keydef h = {"id", DX_AV_S}, r = {"r", DX_AV_N};
    int failures = 0;
    for (size_t i = 0; i < sizeof(kcases) / sizeof(kcases[0]); i++) {
        char *j = jsonify(kcases[i].req);
        cJSON *req = cJSON_Parse(j);
        struct dx_arena a;
        struct dx_error err = {0};
        struct be_exprs *x = NULL;
        struct be_keycond kc;
        dx_arena_init(&a);
        assert_non_null(req);
        int rc = be_exprs_parse(&a, DX_OP_Query, req, NULL, &x, &err);
        if (rc == DX_OK) {
            assert_true(be_exprs_has_key_condition(x));
            rc = be_exprs_key_condition(x, &h, &r, &kc, &err);
        }
        if (kcases[i].msg ? (rc != DX_EREQ || strcmp(err.msg, kcases[i].msg) != 0)
                          : (rc != DX_OK || kc.range_op != kcases[i].op || !kc.hash ||
                             kc.hash->type != DX_AV_S)) {
            fprintf(stderr, "key case %zu %s:\n  want %s\n  got  %s\n", i, kcases[i].req,
                    kcases[i].msg ? kcases[i].msg : "(accepted)",
                    rc == DX_OK ? "(accepted)" : err.msg);
            failures++;
        }
        dx_error_clear(&err);
        dx_arena_deinit(&a);
        cJSON_Delete(req);
        free(j);
    }
    assert_int_equal(failures, 0);
}

/* Random token soup through every kind of expression, then evaluation, update and
 * projection of whatever parses: every request gets an answer (accepted, or an error with a
 * message), never a crash. The seed comes from DDAX_TEST_SEED, else the clock; it is printed. */
static void test_random_expressions(void **state)
{
    static const char *const toks[] = {"a",
                                       "b",
                                       "#n",
                                       ":v",
                                       ":l",
                                       "(",
                                       ")",
                                       "[",
                                       "0",
                                       "3",
                                       "]",
                                       ",",
                                       ".",
                                       "=",
                                       "<>",
                                       "<",
                                       "<=",
                                       ">",
                                       ">=",
                                       "+",
                                       "-",
                                       "AND",
                                       "OR",
                                       "NOT",
                                       "BETWEEN",
                                       "IN",
                                       "SET",
                                       "REMOVE",
                                       "ADD",
                                       "DELETE",
                                       "size",
                                       "attribute_exists",
                                       "begins_with",
                                       "contains",
                                       "list_append",
                                       "if_not_exists",
                                       "attribute_type",
                                       "name",
                                       "_",
                                       "@",
                                       " "};
    static const char *const members[] = {"ConditionExpression", "UpdateExpression",
                                          "ProjectionExpression", "FilterExpression"};
    static const enum dx_op ops[] = {DX_OP_PutItem, DX_OP_UpdateItem, DX_OP_GetItem, DX_OP_Scan};
    const char *env = getenv("DDAX_TEST_SEED");
    unsigned seed = env ? (unsigned)strtoul(env, NULL, 10) : (unsigned)time(NULL);
    fprintf(stderr, "test_random_expressions: DDAX_TEST_SEED=%u\n", seed);
    srand(seed);
    struct dx_arena ia;
    struct dx_error err = {0};
    struct dx_av *item = NULL;
    dx_arena_init(&ia);
    cJSON *ij = cJSON_Parse("{\"a\":{\"L\":[{\"N\":\"1\"},{\"M\":{\"x\":{\"S\":\"s\"}}}]},"
                            "\"b\":{\"N\":\"2\"},\"x\":{\"SS\":[\"q\"]}}");
    assert_int_equal(dx_av_map_from_json(&ia, ij, &item, &err), DX_OK);
    for (int iter = 0; iter < 20000; iter++) {
        char expr[256] = "";
        int ntok = 1 + rand() % 12, k = rand() % 4;
        for (int i = 0; i < ntok; i++) {
            strcat(expr, toks[rand() % (sizeof(toks) / sizeof(toks[0]))]);
            if (rand() % 2)
                strcat(expr, " ");
        }
        cJSON *req = cJSON_CreateObject();
        cJSON_AddStringToObject(req, members[k], expr);
        cJSON *names = cJSON_AddObjectToObject(req, "ExpressionAttributeNames");
        cJSON_AddStringToObject(names, "#n", "x");
        if (k != 2) {
            cJSON *vals = cJSON_AddObjectToObject(req, "ExpressionAttributeValues");
            cJSON_AddItemToObject(vals, ":v", cJSON_Parse("{\"N\":\"1\"}"));
            cJSON_AddItemToObject(vals, ":l", cJSON_Parse("{\"L\":[{\"S\":\"z\"}]}"));
        }
        struct dx_arena a;
        struct be_exprs *x = NULL;
        dx_arena_init(&a);
        int rc = be_exprs_parse(&a, ops[k], req, NULL, &x, &err);
        if (rc == DX_OK) {
            int ok;
            struct dx_av *out;
            if (be_exprs_has_condition(x))
                assert_int_equal(be_exprs_check_condition(x, item, &ok, &err), DX_OK);
            if (be_exprs_has_filter(x))
                assert_int_equal(be_exprs_check_filter(x, item, &ok, &err), DX_OK);
            if (be_exprs_has_update(x)) {
                rc = be_exprs_apply_update(x, &a, item, NULL, &out, &err);
                assert_true(rc == DX_OK || (rc == DX_EREQ && err.msg));
                be_exprs_updated_attrs(x, &a, item);
            }
            if (be_exprs_has_projection(x))
                assert_non_null(be_exprs_project(x, &a, item));
        } else {
            assert_int_equal(rc, DX_EREQ);
            assert_non_null(err.msg);
        }
        dx_error_clear(&err);
        dx_arena_deinit(&a);
        cJSON_Delete(req);
    }
    cJSON_Delete(ij);
    dx_arena_deinit(&ia);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cases),
        cmocka_unit_test(test_key_conditions),
        cmocka_unit_test(test_random_expressions),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
