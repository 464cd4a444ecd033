"""Expressions: condition, update and projection expressions, placeholders, the
legacy (pre-expression) parameters, and their errors, as real DynamoDB behaves.
"""

import re
import uuid

import pytest

from conftest import assert_error, assert_validation

CCF = "ConditionalCheckFailedException"
CCF_MSG = "The conditional request failed"


@pytest.fixture(scope="module")
def tbl(module_tables):
    return module_tables(hash_key=("pk", "S"))


def S(v):
    return {"S": v}


def N(v):
    return {"N": v}


def k():
    return uuid.uuid4().hex


def get(ddb, table, key):
    return ddb.get_item(TableName=table, Key={"pk": S(key)}, ConsistentRead=True).get("Item")


SAMPLE = {
    "s": S("hello world"),
    "n": N("10"),
    "neg": N("-2.5"),
    "b": {"B": b"\x01\x02\x03"},
    "t": {"BOOL": True},
    "z": {"NULL": True},
    "ss": {"SS": ["apple", "banana"]},
    "ns": {"NS": ["1", "2", "3"]},
    "bs": {"BS": [b"\x01", b"\x02"]},
    "l": {"L": [S("x"), N("5"), {"M": {"c": S("deep")}}]},
    "m": {"M": {"a": N("1"), "b": {"L": [N("0"), N("1"), {"M": {"c": S("v")}}]},
                "e": S("")}},
    "ver": N("3"),
}


@pytest.fixture(scope="module")
def sample(ddb, tbl):
    key = k()
    ddb.put_item(TableName=tbl, Item=dict(SAMPLE, pk=S(key)))
    return key


def cond(ddb, tbl, key, expr, values=None, names=None):
    """Evaluate a condition against the stored item: True if the write passes."""
    kw = {"ConditionExpression": expr}
    if values:
        kw["ExpressionAttributeValues"] = values
    if names:
        kw["ExpressionAttributeNames"] = names
    try:
        # A no-op conditional update leaves the item unchanged whatever the outcome.
        ddb.update_item(TableName=tbl, Key={"pk": S(key)}, **kw)
        return True
    except ddb.exceptions.ConditionalCheckFailedException as e:
        assert e.response["Error"]["Message"] == CCF_MSG
        return False


# ---------------------------------------------------------------------------
# ConditionExpression


@pytest.mark.parametrize("expr,values,expected", [
    ("n = :v", {":v": N("10")}, True),
    ("n = :v", {":v": N("10.000")}, True),
    ("n = :v", {":v": S("10")}, False),  # different types are never equal
    ("n <> :v", {":v": N("11")}, True),
    ("n <> :v", {":v": S("10")}, True),
    ("n < :v", {":v": N("10.5")}, True),
    ("n < :v", {":v": N("9")}, False),
    ("n <= :v", {":v": N("10")}, True),
    ("n > :v", {":v": N("-100")}, True),
    ("neg > :v", {":v": N("-3")}, True),
    ("neg >= :v", {":v": N("-2.5")}, True),
    ("n > :v", {":v": S("a")}, False),  # ordering across types is false
    ("s < :v", {":v": S("hello worlds")}, True),
    ("s > :v", {":v": S("Hello")}, True),  # byte order: 'h' > 'H'
    ("b < :v", {":v": {"B": b"\x01\x02\x04"}}, True),
    ("b = :v", {":v": {"B": b"\x01\x02\x03"}}, True),
    ("t = :v", {":v": {"BOOL": True}}, True),
    ("z = :v", {":v": {"NULL": True}}, True),
    ("ss = :v", {":v": {"SS": ["banana", "apple"]}}, True),  # sets compare unordered
    ("ns = :v", {":v": {"NS": ["3", "2", "1.0"]}}, True),
    ("m.a = :v", {":v": N("1")}, True),
    ("m.b[2].c = :v", {":v": S("v")}, True),
    ("l[2].c = :v", {":v": S("deep")}, True),
    ("nothere = :v", {":v": N("1")}, False),
    ("nothere <> :v", {":v": N("1")}, True),
    ("n BETWEEN :a AND :b", {":a": N("10"), ":b": N("20")}, True),
    ("n BETWEEN :a AND :b", {":a": N("11"), ":b": N("20")}, False),
    ("s BETWEEN :a AND :b", {":a": S("h"), ":b": S("i")}, True),
    ("n IN (:a, :b, :c)", {":a": N("1"), ":b": N("10"), ":c": S("10")}, True),
    ("n IN (:a, :b)", {":a": N("1"), ":b": N("2")}, False),
    ("n = :a AND s = :b", {":a": N("10"), ":b": S("nope")}, False),
    ("n = :a OR s = :b", {":a": N("10"), ":b": S("nope")}, True),
    ("NOT n = :a", {":a": N("10")}, False),
    ("NOT (n = :a AND s = :b)", {":a": N("10"), ":b": S("nope")}, True),
    # AND binds tighter than OR.
    ("n = :x OR n = :a AND s = :bad", {":x": N("10"), ":a": N("10"), ":bad": S("q")}, True),
    ("(n = :x OR n = :a) AND s = :bad", {":x": N("10"), ":a": N("10"), ":bad": S("q")}, False),
    ("attribute_exists(n)", None, True),
    ("attribute_exists(m.b[1])", None, True),
    ("attribute_exists(m.b[7])", None, False),
    ("attribute_exists(nothere)", None, False),
    ("attribute_not_exists(nothere)", None, True),
    ("attribute_not_exists(s)", None, False),
    ("attribute_type(s, :t)", {":t": S("S")}, True),
    ("attribute_type(n, :t)", {":t": S("S")}, False),
    ("attribute_type(z, :t)", {":t": S("NULL")}, True),
    ("attribute_type(m, :t)", {":t": S("M")}, True),
    ("attribute_type(ss, :t)", {":t": S("SS")}, True),
    ("begins_with(s, :p)", {":p": S("hell")}, True),
    ("begins_with(s, :p)", {":p": S("world")}, False),
    ("begins_with(b, :p)", {":p": {"B": b"\x01\x02"}}, True),
    ("contains(s, :p)", {":p": S("o w")}, True),
    ("contains(ss, :p)", {":p": S("apple")}, True),
    ("contains(ss, :p)", {":p": S("appl")}, False),
    ("contains(ns, :p)", {":p": N("2")}, True),
    ("contains(l, :p)", {":p": N("5")}, True),
    ("contains(b, :p)", {":p": {"B": b"\x02\x03"}}, True),
    ("size(s) = :v", {":v": N("11")}, True),
    ("size(b) = :v", {":v": N("3")}, True),
    ("size(ss) = :v", {":v": N("2")}, True),
    ("size(l) = :v", {":v": N("3")}, True),
    ("size(m) > :v", {":v": N("2")}, True),
    ("size(m.b) BETWEEN :a AND :b", {":a": N("3"), ":b": N("3")}, True),
    ("size(nothere) = :v", {":v": N("0")}, False),
    ("#n = :v AND #ver = :w", {":v": N("10"), ":w": N("3")}, True),
])
def test_condition_expression(ddb, tbl, sample, expr, values, expected):
    names = {"#n": "n", "#ver": "ver"} if "#" in expr else None
    assert cond(ddb, tbl, sample, expr, values, names) is expected


@pytest.mark.dynalite_differs  # dynalite compares lists and maps by identity
def test_condition_list_and_map_equality(ddb, tbl, sample):
    assert cond(ddb, tbl, sample, "l = :v",
                {":v": {"L": [S("x"), N("5"), {"M": {"c": S("deep")}}]}}) is True
    assert cond(ddb, tbl, sample, "m.b = :v",
                {":v": {"L": [N("0"), N("1"), {"M": {"c": S("v")}}]}}) is True
    assert cond(ddb, tbl, sample, "l = :v", {":v": {"L": [S("x")]}}) is False


def test_condition_on_missing_item(ddb, tbl):
    key = k()
    assert cond(ddb, tbl, key, "attribute_exists(pk)") is False
    assert get(ddb, tbl, key) is None
    # attribute_not_exists on the key is the "create only" idiom.
    ddb.put_item(TableName=tbl, Item={"pk": S(key), "v": N("1")},
                 ConditionExpression="attribute_not_exists(pk)")
    assert_error(CCF, CCF_MSG, ddb.put_item, TableName=tbl, Item={"pk": S(key), "v": N("2")},
                 ConditionExpression="attribute_not_exists(pk)")
    assert get(ddb, tbl, key)["v"] == N("1")


def test_optimistic_locking(ddb, tbl):
    key = k()
    ddb.put_item(TableName=tbl, Item={"pk": S(key), "ver": N("1"), "d": S("a")})
    ddb.update_item(TableName=tbl, Key={"pk": S(key)},
                    UpdateExpression="SET d = :d, ver = ver + :one",
                    ConditionExpression="ver = :expected",
                    ExpressionAttributeValues={":d": S("b"), ":one": N("1"), ":expected": N("1")})
    assert_error(CCF, CCF_MSG, ddb.update_item, TableName=tbl, Key={"pk": S(key)},
                 UpdateExpression="SET d = :d, ver = ver + :one",
                 ConditionExpression="ver = :expected",
                 ExpressionAttributeValues={":d": S("c"), ":one": N("1"), ":expected": N("1")})
    assert get(ddb, tbl, key) == {"pk": S(key), "ver": N("2"), "d": S("b")}
    assert_error(CCF, CCF_MSG, ddb.delete_item, TableName=tbl, Key={"pk": S(key)},
                 ConditionExpression="ver = :v", ExpressionAttributeValues={":v": N("1")})
    ddb.delete_item(TableName=tbl, Key={"pk": S(key)},
                    ConditionExpression="ver = :v", ExpressionAttributeValues={":v": N("2")})
    assert get(ddb, tbl, key) is None


@pytest.mark.parametrize("expr,values,message", [
    ("", None, "Invalid ConditionExpression: The expression can not be empty;"),
    ("n = :v", None, "Invalid ConditionExpression: An expression attribute value used in "
     "expression is not defined; attribute value: :v"),
    ("#x = :v", {":v": N("1")}, "Invalid ConditionExpression: An expression attribute name "
     "used in the document path is not defined; attribute name: #x"),
    ("name = :v", {":v": N("1")}, "Invalid ConditionExpression: Attribute name is a reserved "
     "keyword; reserved keyword: name"),
    # DynamoDB has listed the types in two orders over time.
    ("attribute_type(s, :t)", {":t": S("X")}, re.compile(
        r"^Invalid ConditionExpression: Invalid attribute type name found; type: X, valid "
        r"types: \{(B,NULL,SS,BOOL,L,BS,N,NS,S,M|N,BS,L,B,NULL,M,S,SS,NS,BOOL)\}$")),
    ("nofunc(s)", None, "Invalid ConditionExpression: Invalid function name; function: nofunc"),
    ("attribute_exists(s, :v)", {":v": N("1")}, "Invalid ConditionExpression: Incorrect number "
     "of operands for operator or function; operator or function: attribute_exists, number of "
     "operands: 2"),
    ("size(s)", None, "Invalid ConditionExpression: The function is not allowed to be used this "
     "way in an expression; function: size"),
    ("n BETWEEN :b AND :a", {":a": N("1"), ":b": N("2")}, "Invalid ConditionExpression: The "
     "BETWEEN operator requires upper bound to be greater than or equal to lower bound; "
     "lower bound operand: AttributeValue: {N:2}, upper bound operand: AttributeValue: {N:1}"),
])
def test_condition_expression_errors(ddb, tbl, expr, values, message):
    kw = {"ConditionExpression": expr}
    if values:
        kw["ExpressionAttributeValues"] = values
    assert_validation(message, ddb.update_item, TableName=tbl, Key={"pk": S(k())}, **kw)


@pytest.mark.dynalite_differs  # dynalite's parser reports errors in its own words
@pytest.mark.parametrize("kind,expr", [
    ("ConditionExpression", "n = "),
    ("ConditionExpression", "n = :v :w"),
    ("UpdateExpression", "SET a"),
    ("UpdateExpression", "SET a = :v,"),
    ("ProjectionExpression", "a,"),
    ("ProjectionExpression", "a[x]"),
])
def test_expression_syntax_errors(ddb, tbl, kind, expr):
    pattern = re.compile(r'^Invalid %s: Syntax error; token: "[^"]*", near: "[^"]*"$' % kind)
    args = dict(TableName=tbl, Key={"pk": S(k())})
    args[kind] = expr
    fn = ddb.get_item if kind == "ProjectionExpression" else ddb.update_item
    assert_validation(pattern, fn, **args)


def test_syntax_errors_are_validation_errors(ddb, tbl):
    for kind, expr in (("ConditionExpression", "n = "), ("UpdateExpression", "SET a"),
                       ("ProjectionExpression", "a,")):
        args = dict(TableName=tbl, Key={"pk": S(k())})
        args[kind] = expr
        fn = ddb.get_item if kind == "ProjectionExpression" else ddb.update_item
        assert_validation(re.compile(r"^Invalid %s: Syntax error; " % kind), fn, **args)


def test_condition_failure_leaves_item_unchanged(ddb, tbl):
    key = k()
    ddb.put_item(TableName=tbl, Item={"pk": S(key), "a": N("1")})
    assert_error(CCF, CCF_MSG, ddb.put_item, TableName=tbl, Item={"pk": S(key), "a": N("2")},
                 ConditionExpression="a = :v", ExpressionAttributeValues={":v": N("5")},
                 ReturnValues="ALL_OLD")
    assert get(ddb, tbl, key) == {"pk": S(key), "a": N("1")}


# ---------------------------------------------------------------------------
# UpdateExpression


def upd(ddb, tbl, key, expr, values=None, names=None, rv="ALL_NEW", **kw):
    args = dict(TableName=tbl, Key={"pk": S(key)}, UpdateExpression=expr, ReturnValues=rv, **kw)
    if values:
        args["ExpressionAttributeValues"] = values
    if names:
        args["ExpressionAttributeNames"] = names
    return ddb.update_item(**args).get("Attributes")


def test_update_set_forms(ddb, tbl):
    key = k()
    ddb.put_item(TableName=tbl, Item={"pk": S(key), "a": N("5"), "l": {"L": [N("1")]}})
    r = upd(ddb, tbl, key,
            "SET b = a, c = a + :two, d = :two - a, e = if_not_exists(a, :two), "
            "f = if_not_exists(nothere, :two), l = list_append(l, :more), "
            "l2 = list_append(:more, l)",
            {":two": N("2"), ":more": {"L": [S("x")]}})
    assert r == {"pk": S(key), "a": N("5"), "b": N("5"), "c": N("7"), "d": N("-3"),
                 "e": N("5"), "f": N("2"), "l": {"L": [N("1"), S("x")]},
                 "l2": {"L": [S("x"), N("1")]}}


def test_update_remove(ddb, tbl):
    key = k()
    ddb.put_item(TableName=tbl, Item={
        "pk": S(key), "a": N("1"), "b": N("2"),
        "l": {"L": [S("0"), S("1"), S("2"), S("3")]},
        "m": {"M": {"x": N("1"), "y": N("2")}}})
    r = upd(ddb, tbl, key, "REMOVE a, l[1], m.x, nothere, l[9]")
    assert r == {"pk": S(key), "b": N("2"), "l": {"L": [S("0"), S("2"), S("3")]},
                 "m": {"M": {"y": N("2")}}}
    r = upd(ddb, tbl, key, "REMOVE m.y, l[2]")
    assert r == {"pk": S(key), "b": N("2"), "l": {"L": [S("0"), S("2")]}, "m": {"M": {}}}


@pytest.mark.dynalite_differs  # dynalite applies list indexes one after another
def test_update_list_indexes_refer_to_original_positions(ddb, tbl):
    key = k()
    ddb.put_item(TableName=tbl, Item={"pk": S(key), "l": {"L": [N(str(i)) for i in range(6)]}})
    r = upd(ddb, tbl, key, "REMOVE l[1], l[2]")
    assert r["l"] == {"L": [N("0"), N("3"), N("4"), N("5")]}
    ddb.put_item(TableName=tbl, Item={"pk": S(key), "l": {"L": [N(str(i)) for i in range(6)]}})
    r = upd(ddb, tbl, key, "SET l[3] = :v REMOVE l[1]", {":v": N("17")})
    assert r["l"] == {"L": [N("0"), N("2"), N("17"), N("4"), N("5")]}


def test_update_set_list_past_end_in_index_order(ddb, tbl):
    key = k()
    ddb.put_item(TableName=tbl, Item={"pk": S(key), "l": {"L": [S("a")]}})
    r = upd(ddb, tbl, key, "SET l[84] = :a, l[37] = :b, l[50] = :c",
            {":a": S("84"), ":b": S("37"), ":c": S("50")})
    assert r["l"] == {"L": [S("a"), S("37"), S("50"), S("84")]}


def test_update_copy_from_missing_attribute(ddb, tbl):
    key = k()
    ddb.put_item(TableName=tbl, Item={"pk": S(key), "a": N("1")})
    assert_validation("The provided expression refers to an attribute that does not exist in "
                      "the item", ddb.update_item, TableName=tbl, Key={"pk": S(key)},
                      UpdateExpression="SET b = nothere")
    assert_validation("The provided expression refers to an attribute that does not exist in "
                      "the item", ddb.update_item, TableName=tbl, Key={"pk": S(key)},
                      UpdateExpression="SET a = nothere + :v",
                      ExpressionAttributeValues={":v": N("1")})
    assert get(ddb, tbl, key) == {"pk": S(key), "a": N("1")}


def test_update_add_and_delete(ddb, tbl):
    key = k()
    ddb.put_item(TableName=tbl, Item={"pk": S(key), "n": N("1"),
                                      "ss": {"SS": ["a", "b"]}, "ns": {"NS": ["1", "2"]}})
    r = upd(ddb, tbl, key, "ADD n :five, newn :five, ss :s, newss :s, ns :ns",
            {":five": N("5"), ":s": {"SS": ["b", "c"]}, ":ns": {"NS": ["2", "3"]}})
    assert r["n"] == N("6")
    assert r["newn"] == N("5")
    assert sorted(r["ss"]["SS"]) == ["a", "b", "c"]
    assert sorted(r["newss"]["SS"]) == ["b", "c"]
    assert sorted(r["ns"]["NS"]) == ["1", "2", "3"]
    r = upd(ddb, tbl, key, "DELETE ss :s, ns :ns, nothere :s",
            {":s": {"SS": ["a", "zz"]}, ":ns": {"NS": ["1", "2", "3"]}})
    assert sorted(r["ss"]["SS"]) == ["b", "c"]
    assert "ns" not in r  # removing every element removes the attribute
    assert "nothere" not in r


def test_update_nested_paths(ddb, tbl):
    key = k()
    ddb.put_item(TableName=tbl, Item={"pk": S(key), "a": {"M": {"b": {"L": [
        N("0"), N("1"), {"M": {"c": N("1")}}]}}}})
    r = upd(ddb, tbl, key, "SET a.b[2].c = :v, a.b[2].d = :w, a.fresh = :w",
            {":v": S("deep"), ":w": N("9")})
    assert r["a"] == {"M": {"b": {"L": [N("0"), N("1"), {"M": {"c": S("deep"), "d": N("9")}}]},
                            "fresh": N("9")}}
    # Setting past the end of a list appends.
    r = upd(ddb, tbl, key, "SET a.b[10] = :v", {":v": S("end")})
    assert r["a"]["M"]["b"]["L"][-1] == S("end")
    assert len(r["a"]["M"]["b"]["L"]) == 4
    # Names with placeholders, including dots inside a name.
    r = upd(ddb, tbl, key, "SET #dotted = :v, #a.#b[0] = :v",
            {":v": N("7")}, {"#dotted": "x.y", "#a": "a", "#b": "b"})
    assert r["x.y"] == N("7")
    assert r["a"]["M"]["b"]["L"][0] == N("7")


def test_update_invalid_document_path(ddb, tbl):
    key = k()
    ddb.put_item(TableName=tbl, Item={"pk": S(key), "s": S("str")})
    assert_validation("The document path provided in the update expression is invalid for update",
                      ddb.update_item, TableName=tbl, Key={"pk": S(key)},
                      UpdateExpression="SET nothere.x = :v",
                      ExpressionAttributeValues={":v": N("1")})
    assert_validation("The document path provided in the update expression is invalid for update",
                      ddb.update_item, TableName=tbl, Key={"pk": S(key)},
                      UpdateExpression="SET s[0] = :v", ExpressionAttributeValues={":v": N("1")})


def test_update_operand_type_errors(ddb, tbl):
    key = k()
    ddb.put_item(TableName=tbl, Item={"pk": S(key), "s": S("str"), "n": N("1")})
    assert_validation("An operand in the update expression has an incorrect data type",
                      ddb.update_item, TableName=tbl, Key={"pk": S(key)},
                      UpdateExpression="ADD s :v", ExpressionAttributeValues={":v": N("1")})
    assert_validation("An operand in the update expression has an incorrect data type",
                      ddb.update_item, TableName=tbl, Key={"pk": S(key)},
                      UpdateExpression="SET n = s + :v", ExpressionAttributeValues={":v": N("1")})
    assert_validation("An operand in the update expression has an incorrect data type",
                      ddb.update_item, TableName=tbl, Key={"pk": S(key)},
                      UpdateExpression="DELETE n :v", ExpressionAttributeValues={
                          ":v": {"NS": ["1"]}})
    ddb.update_item(TableName=tbl, Key={"pk": S(key)}, UpdateExpression="SET ns = :v",
                    ExpressionAttributeValues={":v": {"NS": ["1"]}})
    assert_validation("An operand in the update expression has an incorrect data type",
                      ddb.update_item, TableName=tbl, Key={"pk": S(key)},
                      UpdateExpression="ADD ns :v", ExpressionAttributeValues={
                          ":v": {"SS": ["1"]}})
    ddb.update_item(TableName=tbl, Key={"pk": S(key)}, UpdateExpression="REMOVE ns")
    assert get(ddb, tbl, key) == {"pk": S(key), "s": S("str"), "n": N("1")}


@pytest.mark.parametrize("expr,values,names,message", [
    ("", None, None, "Invalid UpdateExpression: The expression can not be empty;"),
    ("SET a = :v, a = :w", {":v": N("1"), ":w": N("2")}, None,
     "Invalid UpdateExpression: Two document paths overlap with each other; must remove or "
     "rewrite one of these paths; path one: [a], path two: [a]"),
    ("SET a = :v REMOVE a.b", {":v": N("1")}, None,
     "Invalid UpdateExpression: Two document paths overlap with each other; must remove or "
     "rewrite one of these paths; path one: [a], path two: [a, b]"),
    ("SET a = :v SET b = :v", {":v": N("1")}, None,
     'Invalid UpdateExpression: The "SET" section can only be used once in an update expression;'),
    ("SET a = :v", None, None, "Invalid UpdateExpression: An expression attribute value used in "
     "expression is not defined; attribute value: :v"),
    ("SET #a = :v", {":v": N("1")}, None, "Invalid UpdateExpression: An expression attribute "
     "name used in the document path is not defined; attribute name: #a"),
    ("SET size = :v", {":v": N("1")}, None, "Invalid UpdateExpression: Attribute name is a "
     "reserved keyword; reserved keyword: size"),
    ("SET a.b = :v, a.b.c = :v", {":v": N("1")}, None,
     "Invalid UpdateExpression: Two document paths overlap with each other; must remove or "
     "rewrite one of these paths; path one: [a, b], path two: [a, b, c]"),
    ("SET a[0] = :v, a.b = :v", {":v": N("1")}, None,
     "Invalid UpdateExpression: Two document paths conflict with each other; must remove or "
     "rewrite one of these paths; path one: [a, [0]], path two: [a, b]"),
    # Newer DynamoDB appends ", typeSet: ALLOWED_FOR_ADD_OPERAND".
    ("ADD a :v", {":v": S("x")}, None, re.compile(
        r"^Invalid UpdateExpression: Incorrect operand type for operator or function; "
        r"operator: ADD, operand type: STRING(, typeSet: ALLOWED_FOR_ADD_OPERAND)?$")),
    ("ADD a :v", {":v": {"L": [N("1")]}}, None, re.compile(
        r"^Invalid UpdateExpression: Incorrect operand type for operator or function; "
        r"operator: ADD, operand type: LIST(, typeSet: ALLOWED_FOR_ADD_OPERAND)?$")),
    ("SET a = list_append(:v, :w)", {":v": N("1"), ":w": {"L": []}}, None,
     "Invalid UpdateExpression: Incorrect operand type for operator or function; operator or "
     "function: list_append, operand type: N"),
    ("SET a = nofunc(:v)", {":v": N("1")}, None,
     "Invalid UpdateExpression: Invalid function name; function: nofunc"),
    ("SET a = :v", {":v": N("1"), ":unused": N("2")}, None,
     "Value provided in ExpressionAttributeValues unused in expressions: keys: {:unused}"),
    ("SET a = :v", {":v": N("1")}, {"#unused": "x"},
     "Value provided in ExpressionAttributeNames unused in expressions: keys: {#unused}"),
    ("SET a = :v", {":v": N("1")}, {"nohash": "x"},
     'ExpressionAttributeNames contains invalid key: Syntax error; key: "nohash"'),
    ("SET a = :v", {":v": N("1"), "nocolon": N("1")}, None,
     'ExpressionAttributeValues contains invalid key: Syntax error; key: "nocolon"'),
    ("SET a = :v", {":v": N("1")}, {}, "ExpressionAttributeNames must not be empty"),
])
def test_update_expression_errors(ddb, tbl, expr, values, names, message):
    args = dict(TableName=tbl, Key={"pk": S(k())}, UpdateExpression=expr)
    if values is not None:
        args["ExpressionAttributeValues"] = values
    if names is not None:
        args["ExpressionAttributeNames"] = names
    assert_validation(message, ddb.update_item, **args)


def test_placeholders_shared_by_update_and_condition(ddb, tbl):
    key = k()
    ddb.put_item(TableName=tbl, Item={"pk": S(key), "name": S("a"), "cnt": N("1")})
    # #nm and :one are used by different expressions of the same request: none is unused.
    r = ddb.update_item(TableName=tbl, Key={"pk": S(key)},
                        UpdateExpression="SET cnt = cnt + :one",
                        ConditionExpression="#nm = :a AND cnt >= :one",
                        ExpressionAttributeNames={"#nm": "name"},
                        ExpressionAttributeValues={":one": N("1"), ":a": S("a")},
                        ReturnValues="UPDATED_NEW")
    assert r["Attributes"] == {"cnt": N("2")}
    assert_validation(
        "Value provided in ExpressionAttributeValues unused in expressions: keys: {:b}",
        ddb.put_item, TableName=tbl, Item={"pk": S(key)},
        ConditionExpression="#nm = :a", ExpressionAttributeNames={"#nm": "name"},
        ExpressionAttributeValues={":a": S("a"), ":b": S("b")})


def test_update_expression_empty_values_map(ddb, tbl):
    assert_validation("ExpressionAttributeValues must not be empty", ddb.update_item,
                      TableName=tbl, Key={"pk": S(k())}, UpdateExpression="REMOVE a",
                      ExpressionAttributeValues={})


def test_placeholders_without_expression(ddb, tbl):
    assert_validation("ExpressionAttributeNames can only be specified when using expressions",
                      ddb.get_item, TableName=tbl, Key={"pk": S(k())},
                      ExpressionAttributeNames={"#a": "a"})
    assert_validation(
        re.compile(r"^ExpressionAttributeValues can only be specified when using expressions"),
        ddb.put_item, TableName=tbl, Item={"pk": S(k())},
        ExpressionAttributeValues={":a": N("1")})


def test_update_updated_old_new_nested(ddb, tbl):
    key = k()
    ddb.put_item(TableName=tbl, Item={"pk": S(key), "m": {"M": {"x": N("1"), "y": N("2")}},
                                      "oth": S("o")})
    r = upd(ddb, tbl, key, "SET m.x = :v", {":v": N("10")}, rv="UPDATED_OLD")
    assert r == {"m": {"M": {"x": N("1")}}}
    r = upd(ddb, tbl, key, "SET m.x = :v", {":v": N("11")}, rv="UPDATED_NEW")
    assert r == {"m": {"M": {"x": N("11")}}}
    r = upd(ddb, tbl, key, "REMOVE oth", rv="UPDATED_OLD")
    assert r == {"oth": S("o")}
    r = upd(ddb, tbl, key, "REMOVE nothere", rv="UPDATED_NEW")
    assert not r


# ---------------------------------------------------------------------------
# ProjectionExpression


def proj(ddb, tbl, key, expr, names=None):
    kw = {"ProjectionExpression": expr}
    if names:
        kw["ExpressionAttributeNames"] = names
    return ddb.get_item(TableName=tbl, Key={"pk": S(key)}, **kw).get("Item")


def test_projection(ddb, tbl, sample):
    assert proj(ddb, tbl, sample, "s, n") == {"s": SAMPLE["s"], "n": SAMPLE["n"]}
    assert proj(ddb, tbl, sample, "m.a, m.b[2].c, l[0], l[2]") == {
        "m": {"M": {"a": N("1"), "b": {"L": [{"M": {"c": S("v")}}]}}},
        "l": {"L": [S("x"), {"M": {"c": S("deep")}}]}}
    assert proj(ddb, tbl, sample, "nothere, m.nothere, l[9]") == {}
    assert proj(ddb, tbl, sample, "#s, #m.#a", {"#s": "s", "#m": "m", "#a": "a"}) == {
        "s": SAMPLE["s"], "m": {"M": {"a": N("1")}}}
    assert proj(ddb, tbl, sample, "pk") == {"pk": S(sample)}


@pytest.mark.parametrize("expr,names,message", [
    ("a, a.b", None, "Invalid ProjectionExpression: Two document paths overlap with each other; "
     "must remove or rewrite one of these paths; path one: [a], path two: [a, b]"),
    ("a.b, a.b", None, "Invalid ProjectionExpression: Two document paths overlap with each "
     "other; must remove or rewrite one of these paths; path one: [a, b], path two: [a, b]"),
    ("a[0], a.b", None, "Invalid ProjectionExpression: Two document paths conflict with each "
     "other; must remove or rewrite one of these paths; path one: [a, [0]], path two: [a, b]"),
    ("#x", None, "Invalid ProjectionExpression: An expression attribute name used in the "
     "document path is not defined; attribute name: #x"),
    ("data", None, "Invalid ProjectionExpression: Attribute name is a reserved keyword; "
     "reserved keyword: data"),
    ("a", {"#x": "a"}, "Value provided in ExpressionAttributeNames unused in expressions: "
     "keys: {#x}"),
])
def test_projection_errors(ddb, tbl, expr, names, message):
    kw = {"ProjectionExpression": expr}
    if names:
        kw["ExpressionAttributeNames"] = names
    assert_validation(message, ddb.get_item, TableName=tbl, Key={"pk": S(k())}, **kw)


# ---------------------------------------------------------------------------
# Legacy parameters


def test_legacy_attributes_to_get(ddb, tbl, sample):
    r = ddb.get_item(TableName=tbl, Key={"pk": S(sample)}, AttributesToGet=["s", "n", "none"])
    assert r["Item"] == {"s": SAMPLE["s"], "n": SAMPLE["n"]}


def test_legacy_expected(ddb, tbl):
    key = k()
    ddb.put_item(TableName=tbl, Item={"pk": S(key), "a": N("1")},
                 Expected={"pk": {"Exists": False}})
    assert_error(CCF, CCF_MSG, ddb.put_item, TableName=tbl, Item={"pk": S(key)},
                 Expected={"pk": {"Exists": False}})
    ddb.put_item(TableName=tbl, Item={"pk": S(key), "a": N("2")},
                 Expected={"a": {"Value": N("1")}})
    ddb.put_item(TableName=tbl, Item={"pk": S(key), "a": N("3")},
                 Expected={"a": {"ComparisonOperator": "GT", "AttributeValueList": [N("1")]},
                           "b": {"ComparisonOperator": "NULL"}})
    assert_error(CCF, CCF_MSG, ddb.put_item, TableName=tbl, Item={"pk": S(key)},
                 Expected={"a": {"ComparisonOperator": "LT", "AttributeValueList": [N("1")]},
                           "b": {"ComparisonOperator": "NULL"}})
    assert get(ddb, tbl, key)["a"] == N("3")


@pytest.mark.dynalite_differs  # dynalite stops at the first false condition even with OR
def test_legacy_expected_conditional_operator_or(ddb, tbl):
    key = k()
    ddb.put_item(TableName=tbl, Item={"pk": S(key), "a": N("3")})
    ddb.put_item(TableName=tbl, Item={"pk": S(key), "a": N("4")},
                 Expected={"a": {"ComparisonOperator": "LT", "AttributeValueList": [N("1")]},
                           "b": {"ComparisonOperator": "NULL"}},
                 ConditionalOperator="OR")
    assert get(ddb, tbl, key)["a"] == N("4")
    assert_error(CCF, CCF_MSG, ddb.put_item, TableName=tbl, Item={"pk": S(key)},
                 Expected={"a": {"ComparisonOperator": "LT", "AttributeValueList": [N("1")]},
                           "b": {"ComparisonOperator": "NOT_NULL"}},
                 ConditionalOperator="OR")


def test_legacy_expected_errors(ddb, tbl):
    assert_validation(
        "One or more parameter values were invalid: Value must be provided when Exists is true "
        "for Attribute: a",
        ddb.put_item, TableName=tbl, Item={"pk": S(k())}, Expected={"a": {"Exists": True}})
    assert_validation(
        "One or more parameter values were invalid: Value or AttributeValueList must be used "
        "with ComparisonOperator: EQ for Attribute: a",
        ddb.put_item, TableName=tbl, Item={"pk": S(k())},
        Expected={"a": {"ComparisonOperator": "EQ"}})


def test_legacy_attribute_updates(ddb, tbl):
    key = k()
    ddb.put_item(TableName=tbl, Item={"pk": S(key), "n": N("1"), "ss": {"SS": ["a", "b"]},
                                      "gone": S("x")})
    r = ddb.update_item(TableName=tbl, Key={"pk": S(key)}, AttributeUpdates={
        "n": {"Action": "ADD", "Value": N("2")},
        "ss": {"Action": "DELETE", "Value": {"SS": ["a"]}},
        "new": {"Action": "PUT", "Value": S("v")},
        "gone": {"Action": "DELETE"},
    }, ReturnValues="ALL_NEW")
    assert r["Attributes"] == {"pk": S(key), "n": N("3"), "ss": {"SS": ["b"]}, "new": S("v")}
    assert_validation(
        "One or more parameter values were invalid: Cannot update attribute pk. "
        "This attribute is part of the key",
        ddb.update_item, TableName=tbl, Key={"pk": S(key)},
        AttributeUpdates={"pk": {"Action": "PUT", "Value": S("other")}})


@pytest.mark.parametrize("call,args,message", [
    ("get_item", {"AttributesToGet": ["a"], "ProjectionExpression": "a"},
     "Can not use both expression and non-expression parameters in the same request: "
     "Non-expression parameters: {AttributesToGet} Expression parameters: {ProjectionExpression}"),
    ("put_item", {"Expected": {"a": {"Exists": False}}, "ConditionExpression":
                  "attribute_not_exists(a)"},
     "Can not use both expression and non-expression parameters in the same request: "
     "Non-expression parameters: {Expected} Expression parameters: {ConditionExpression}"),
    ("update_item", {"AttributeUpdates": {"a": {"Action": "PUT", "Value": {"N": "1"}}},
                     "UpdateExpression": "SET b = :v",
                     "ExpressionAttributeValues": {":v": {"N": "1"}}},
     "Can not use both expression and non-expression parameters in the same request: "
     "Non-expression parameters: {AttributeUpdates} Expression parameters: {UpdateExpression}"),
])
def test_mixing_legacy_and_expressions(ddb, tbl, call, args, message):
    key_arg = "Item" if call == "put_item" else "Key"
    assert_validation(message, getattr(ddb, call), TableName=tbl, **{key_arg: {"pk": S(k())}},
                      **args)
