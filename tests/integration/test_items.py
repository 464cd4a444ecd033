"""Data plane on single items: PutItem, GetItem, DeleteItem, UpdateItem.

Attribute types, number canonicalisation and limits, key validation, item and
key size limits, empty values, ReturnValues and ConsistentRead, as real DynamoDB
behaves.
"""

import re
import uuid

import pytest

from conftest import assert_validation

SIZE_LIMIT = 400 * 1024
MISMATCH = "The provided key element does not match the schema"


@pytest.fixture(scope="module")
def tbl(module_tables):
    return module_tables(hash_key=("pk", "S"))


@pytest.fixture(scope="module")
def tbl_hr(module_tables):
    return module_tables(hash_key=("pk", "S"), range_key=("sk", "N"))


@pytest.fixture(scope="module")
def tbl_bs(module_tables):
    return module_tables(hash_key=("hb", "B"), range_key=("rs", "S"))


def k():
    return uuid.uuid4().hex


def S(v):
    return {"S": v}


def N(v):
    return {"N": v}


def get(ddb, table, key, **kw):
    return ddb.get_item(TableName=table, Key=key, **kw).get("Item")


# ---------------------------------------------------------------------------
# Types


ALL_TYPES = {
    "s": {"S": "hello \u00e9\u20ac\U0001f600"},
    "n": {"N": "123.45"},
    "b": {"B": b"\x00\x01\xfe\xff"},
    "t": {"BOOL": True},
    "f": {"BOOL": False},
    "z": {"NULL": True},
    "ss": {"SS": ["a", "b", "c"]},
    "ns": {"NS": ["1", "2.5", "-3"]},
    "bs": {"BS": [b"\x01", b"\x02\x03"]},
    "l": {"L": [{"S": "x"}, {"N": "1"}, {"L": []}, {"M": {}}, {"NULL": True}]},
    "m": {"M": {"inr": {"M": {"deep": {"L": [{"SS": ["q"]}, {"B": b"\x07"}]}}},
                "e": {"M": {}}, "n": {"N": "7"}}},
}


def normalise(v):
    """Sets are unordered: compare them sorted."""
    if isinstance(v, dict):
        out = {}
        for t, x in v.items():
            if t in ("SS", "NS", "BS"):
                out[t] = sorted(x)
            elif t == "L":
                out[t] = [normalise(e) for e in x]
            elif t == "M":
                out[t] = {a: normalise(e) for a, e in x.items()}
            else:
                out[t] = x
        return out
    return v


def norm_item(item):
    return {a: normalise(v) for a, v in item.items()}


def test_put_get_every_type(ddb, tbl):
    key = k()
    item = dict(ALL_TYPES, pk=S(key))
    ddb.put_item(TableName=tbl, Item=item)
    got = get(ddb, tbl, {"pk": S(key)})
    assert norm_item(got) == norm_item(item)
    got = get(ddb, tbl, {"pk": S(key)}, ConsistentRead=True)
    assert norm_item(got) == norm_item(item)


def test_binary_and_string_keys(ddb, tbl_bs):
    key = {"hb": {"B": b"\x00\xffkey"}, "rs": S("r\u00e9")}
    ddb.put_item(TableName=tbl_bs, Item=dict(key, v=N("1")))
    assert get(ddb, tbl_bs, key) == dict(key, v=N("1"))
    assert get(ddb, tbl_bs, {"hb": {"B": b"\x00\xffkey"}, "rs": S("r")}) is None


def test_get_missing_item_has_no_item(ddb, tbl):
    r = ddb.get_item(TableName=tbl, Key={"pk": S(k())})
    assert "Item" not in r


def test_put_replaces_whole_item(ddb, tbl):
    key = k()
    ddb.put_item(TableName=tbl, Item={"pk": S(key), "a": N("1"), "b": N("2")})
    ddb.put_item(TableName=tbl, Item={"pk": S(key), "c": N("3")})
    assert get(ddb, tbl, {"pk": S(key)}) == {"pk": S(key), "c": N("3")}


def test_delete_item(ddb, tbl):
    key = k()
    ddb.put_item(TableName=tbl, Item={"pk": S(key)})
    r = ddb.delete_item(TableName=tbl, Key={"pk": S(key)})
    assert "Attributes" not in r
    assert get(ddb, tbl, {"pk": S(key)}) is None
    # Deleting an absent item succeeds.
    ddb.delete_item(TableName=tbl, Key={"pk": S(key)})


def test_hash_range_items_are_distinct(ddb, tbl_hr):
    key = k()
    for i in range(3):
        ddb.put_item(TableName=tbl_hr, Item={"pk": S(key), "sk": N(str(i)), "v": N(str(i * 10))})
    for i in range(3):
        assert get(ddb, tbl_hr, {"pk": S(key), "sk": N(str(i))})["v"] == N(str(i * 10))
    # Numeric range keys are compared as numbers: 1.0 addresses the item stored as 1.
    assert get(ddb, tbl_hr, {"pk": S(key), "sk": N("1.0")})["v"] == N("10")
    assert get(ddb, tbl_hr, {"pk": S(key), "sk": N("0.1E1")})["sk"] == N("1")


def test_projection_expression_on_get(ddb, tbl):
    key = k()
    ddb.put_item(TableName=tbl, Item=dict(ALL_TYPES, pk=S(key)))
    got = get(ddb, tbl, {"pk": S(key)}, ProjectionExpression="n, m.inr, l[1]")
    assert got == {"n": N("123.45"), "m": {"M": {"inr": ALL_TYPES["m"]["M"]["inr"]}},
                   "l": {"L": [N("1")]}}


# ---------------------------------------------------------------------------
# Numbers


@pytest.mark.parametrize("given,canonical", [
    ("0001.500", "1.5"),
    ("-0", "0"),
    ("-0.000", "0"),
    ("0.0", "0"),
    ("1e2", "100"),
    ("1E+2", "100"),
    ("12.3400E1", "123.4"),
    ("-.5", "-0.5"),
    ("99999999999999999999999999999999999999", "99999999999999999999999999999999999999"),
    ("0.00000000000000000000000000000000000012", "0.00000000000000000000000000000000000012"),
    ("0e1000", "0"),
    (".123", "0.123"),
    ("-17e5", "-1700000"),
])
def test_number_canonical_form(ddb, tbl, given, canonical):
    key = k()
    ddb.put_item(TableName=tbl, Item={"pk": S(key), "n": N(given), "ns": {"NS": [given]}})
    got = get(ddb, tbl, {"pk": S(key)})
    assert got["n"] == N(canonical)
    assert got["ns"] == {"NS": [canonical]}


@pytest.mark.parametrize("value", [
    "9" * 38,
    "-" + "9" * 38,
    "1" + "0" * 36 + "1",  # 38 significant digits
    "1" + "0" * 60,  # trailing zeros are not significant
    "0.000" + "1" * 38,
    "1E-130",
    "-1E-130",
    "9.9999999999999999999999999999999999999E+125",
    "-9.9999999999999999999999999999999999999E+125",
    "1" + "0" * 125,
])
def test_number_limits_accepted(ddb, tbl, value):
    key = k()
    ddb.put_item(TableName=tbl, Item={"pk": S(key), "n": N(value)})
    # The stored value compares equal to what was sent.
    ddb.put_item(TableName=tbl, Item={"pk": S(key), "n": N(value)},
                 ConditionExpression="n = :v", ExpressionAttributeValues={":v": N(value)})


@pytest.mark.parametrize("value,message", [
    ("1" + "0" * 37 + "1",
     "Attempting to store more than 38 significant digits in a Number"),
    ("1.00000000000000000000000000000000000001",
     "Attempting to store more than 38 significant digits in a Number"),
    ("1E-131",
     "Number underflow. Attempting to store a number with magnitude smaller than supported range"),
    ("1E+126",
     "Number overflow. Attempting to store a number with magnitude larger than supported range"),
    ("-1E+126",
     "Number overflow. Attempting to store a number with magnitude larger than supported range"),
    ("abc", "The parameter cannot be converted to a numeric value: abc"),
    ("1.2.3", "The parameter cannot be converted to a numeric value: 1.2.3"),
    ("", "The parameter cannot be converted to a numeric value"),
    ("NaN", re.compile(r"^The parameter cannot be converted to a numeric value")),
    ("Infinity", re.compile(r"^The parameter cannot be converted to a numeric value")),
    ("-Infinity", re.compile(r"^The parameter cannot be converted to a numeric value")),
    (" 1", re.compile(r"^The parameter cannot be converted to a numeric value")),
    ("1 ", re.compile(r"^The parameter cannot be converted to a numeric value")),
    ("0x10", re.compile(r"^The parameter cannot be converted to a numeric value")),
])
def test_number_invalid(ddb, tbl, value, message):
    assert_validation(message, ddb.put_item, TableName=tbl,
                      Item={"pk": S(k()), "n": N(value)})


@pytest.mark.dynalite_differs  # dynalite rejects a leading plus sign
def test_number_leading_plus_accepted(ddb, tbl):
    key = k()
    ddb.put_item(TableName=tbl, Item={"pk": S(key), "n": N("+3"), "f": N("+1.50")})
    got = get(ddb, tbl, {"pk": S(key)})
    assert (got["n"], got["f"]) == (N("3"), N("1.5"))


@pytest.mark.dynalite_differs  # dynalite does not range-check arithmetic results
def test_arithmetic_result_out_of_range(ddb, tbl):
    key = k()
    # 9e125 + 9e125 = 1.8e126: beyond the largest magnitude.
    assert_validation(
        "Number overflow. Attempting to store a number with magnitude larger than supported range",
        ddb.update_item, TableName=tbl, Key={"pk": S(key)}, UpdateExpression="SET b = :x + :y",
        ExpressionAttributeValues={":x": N("9e125"), ":y": N("9e125")})
    assert get(ddb, tbl, {"pk": S(key)}) is None


@pytest.mark.dynalite_differs  # dynalite keeps results beyond 38 digits
def test_arithmetic_result_beyond_38_digits(ddb, tbl):
    key = k()
    # 1e50 + 1 needs 51 significant digits.
    assert_validation(
        re.compile(r"^(Number overflow\. Attempting to store a number with magnitude larger than "
                   r"supported range|Attempting to store more than 38 significant digits in a "
                   r"Number)$"),
        ddb.update_item, TableName=tbl, Key={"pk": S(key)}, UpdateExpression="SET b = :x + :y",
        ExpressionAttributeValues={":x": N("1e50"), ":y": N("1")})
    assert get(ddb, tbl, {"pk": S(key)}) is None


def test_negative_zero_equals_zero(ddb, tbl, tbl_hr):
    key = k()
    ddb.put_item(TableName=tbl, Item={"pk": S(key), "n": N("-0")})
    ddb.put_item(TableName=tbl, Item={"pk": S(key), "n": N("0")},
                 ConditionExpression="n = :z", ExpressionAttributeValues={":z": N("0")})
    ddb.put_item(TableName=tbl_hr, Item={"pk": S(key), "sk": N("-0")})
    assert get(ddb, tbl_hr, {"pk": S(key), "sk": N("0")}) == {"pk": S(key), "sk": N("0")}


def test_add_exact_big_numbers(ddb, tbl):
    key = k()
    ddb.put_item(TableName=tbl, Item={"pk": S(key), "a": N("9" * 38), "b": N("0.1")})
    r = ddb.update_item(TableName=tbl, Key={"pk": S(key)}, UpdateExpression="ADD a :one",
                        ExpressionAttributeValues={":one": N("1")}, ReturnValues="UPDATED_NEW")
    assert r["Attributes"] == {"a": N("1" + "0" * 38)}
    r = ddb.update_item(TableName=tbl, Key={"pk": S(key)}, UpdateExpression="SET b = b + :v",
                        ExpressionAttributeValues={":v": N("0.2")}, ReturnValues="UPDATED_NEW")
    assert r["Attributes"] == {"b": N("0.3")}
    r = ddb.update_item(TableName=tbl, Key={"pk": S(key)}, UpdateExpression="SET c = :x - :y",
                        ExpressionAttributeValues={
                            ":x": N("12345678901234567890123456789012345678"),
                            ":y": N("12345678901234567890123456789012345677")},
                        ReturnValues="UPDATED_NEW")
    assert r["Attributes"] == {"c": N("1")}
    r = ddb.update_item(TableName=tbl, Key={"pk": S(key)}, UpdateExpression="ADD d :v",
                        ExpressionAttributeValues={":v": N("-1E-130")}, ReturnValues="ALL_NEW")
    assert r["Attributes"]["d"] == get(ddb, tbl, {"pk": S(key)})["d"]
    ddb.put_item(TableName=tbl, Item={"pk": S(key), "d": N("0")},
                 ConditionExpression="d < :z AND d = :v",
                 ExpressionAttributeValues={":z": N("0"), ":v": N("-1E-130")})


def test_number_set_elements_compared_numerically(ddb, tbl):
    key = k()
    assert_validation(re.compile(r"contains duplicates"), ddb.put_item, TableName=tbl,
                      Item={"pk": S(key), "ns": {"NS": ["1", "1.0"]}})


# ---------------------------------------------------------------------------
# Attribute value validation


@pytest.mark.parametrize("value,message", [
    ({}, "Supplied AttributeValue is empty, must contain exactly one of the supported datatypes"),
    ({"S": "a", "N": "1"}, "Supplied AttributeValue has more than one datatypes set, must "
     "contain exactly one of the supported datatypes"),
    ({"NULL": False}, "One or more parameter values were invalid: Null attribute value types "
     "must have the value of true"),
    ({"SS": []}, "One or more parameter values were invalid: An string set  may not be empty"),
    ({"NS": []}, "One or more parameter values were invalid: An number set  may not be empty"),
    ({"BS": []}, "One or more parameter values were invalid: Binary sets should not be empty"),
    ({"SS": ["a", "a"]}, "One or more parameter values were invalid: Input collection [a, a] "
     "contains duplicates."),
    ({"M": {"x": {"SS": []}}}, "One or more parameter values were invalid: An string set  may "
     "not be empty"),
    ({"L": [{}]}, "Supplied AttributeValue is empty, must contain exactly one of the supported "
     "datatypes"),
])
def test_invalid_attribute_values(ddb, tbl, value, message):
    if message.startswith("One or more parameter values were invalid"):
        # Newer DynamoDB wraps these PutItem errors in the validation envelope.
        message = re.compile(r"^(1 validation error detected: )?%s$" % re.escape(message))
    assert_validation(message, ddb.put_item, TableName=tbl, Item={"pk": S(k()), "a": value})


@pytest.mark.parametrize("value", [{"NS": ["1", "1"]}, {"BS": [b"x", b"x"]}])
def test_duplicate_set_elements(ddb, tbl, value):
    assert_validation(re.compile(r"contains duplicates"), ddb.put_item, TableName=tbl,
                      Item={"pk": S(k()), "a": value})


def nested(depth):
    """A value whose innermost scalar sits at nesting level `depth` (top level = 1)."""
    v = S("leaf")
    for i in range(depth - 1):
        v = {"L": [v]} if i % 2 else {"M": {"x": v}}
    return v


@pytest.mark.dynalite_differs  # dynalite has no nesting limit
def test_nesting_limit_32_levels(ddb, tbl):
    key = k()
    ddb.put_item(TableName=tbl, Item={"pk": S(key), "deep": nested(32)})
    assert get(ddb, tbl, {"pk": S(key)})["deep"] == nested(32)
    assert_validation(re.compile(r"^Nesting Levels have exceeded supported limits"),
                      ddb.put_item, TableName=tbl, Item={"pk": S(key), "deep": nested(33)})


def test_empty_set_in_update_rejected(ddb, tbl):
    assert_validation(
        re.compile(r"^(1 validation error detected: )?ExpressionAttributeValues contains invalid "
                   r"value: One or more parameter values were invalid: An string set  may not "
                   r"be empty for key :v$"),
        ddb.update_item, TableName=tbl, Key={"pk": S(k())}, UpdateExpression="SET a = :v",
        ExpressionAttributeValues={":v": {"SS": []}})


def test_empty_string_and_binary_allowed_in_non_key(ddb, tbl):
    key = k()
    item = {"pk": S(key), "s": S(""), "b": {"B": b""},
            "m": {"M": {"e": S("")}}, "l": {"L": [S(""), {"B": b""}]}}
    ddb.put_item(TableName=tbl, Item=item)
    assert get(ddb, tbl, {"pk": S(key)}) == item
    ddb.update_item(TableName=tbl, Key={"pk": S(key)}, UpdateExpression="SET t = :e",
                    ExpressionAttributeValues={":e": S("")})
    assert get(ddb, tbl, {"pk": S(key)})["t"] == S("")


def test_empty_string_key_rejected(ddb, tbl, tbl_hr):
    assert_validation(
        "One or more parameter values are not valid. The AttributeValue for a key attribute "
        "cannot contain an empty string value. Key: pk",
        ddb.put_item, TableName=tbl, Item={"pk": S("")})
    assert_validation(
        re.compile(r"The AttributeValue for a key attribute cannot contain an empty string "
                   r"value\. Key: pk$"),
        ddb.get_item, TableName=tbl, Key={"pk": S("")})
    assert_validation(
        re.compile(r"The AttributeValue for a key attribute cannot contain an empty string "
                   r"value\. Key: pk$"),
        ddb.delete_item, TableName=tbl, Key={"pk": S("")})


def test_empty_binary_key_rejected(ddb, tbl_bs):
    assert_validation(
        "One or more parameter values are not valid. The AttributeValue for a key attribute "
        "cannot contain an empty binary value. Key: hb",
        ddb.put_item, TableName=tbl_bs, Item={"hb": {"B": b""}, "rs": S("x")})


# ---------------------------------------------------------------------------
# Key validation


def test_put_missing_key(ddb, tbl, tbl_hr):
    assert_validation("One or more parameter values were invalid: Missing the key pk in the item",
                      ddb.put_item, TableName=tbl, Item={"x": S("a")})
    assert_validation("One or more parameter values were invalid: Missing the key sk in the item",
                      ddb.put_item, TableName=tbl_hr, Item={"pk": S("a")})


def test_put_key_type_mismatch(ddb, tbl, tbl_hr):
    assert_validation(
        "One or more parameter values were invalid: Type mismatch for key pk expected: S actual: N",
        ddb.put_item, TableName=tbl, Item={"pk": N("1")})
    assert_validation(
        "One or more parameter values were invalid: Type mismatch for key sk expected: N actual: S",
        ddb.put_item, TableName=tbl_hr, Item={"pk": S("a"), "sk": S("1")})


@pytest.mark.parametrize("key", [
    {},
    {"pk": N("1")},
    {"other": S("a")},
    {"pk": S("a"), "extra": S("b")},
])
def test_key_does_not_match_schema(ddb, tbl, key):
    assert_validation(MISMATCH, ddb.get_item, TableName=tbl, Key=key)
    assert_validation(MISMATCH, ddb.delete_item, TableName=tbl, Key=key)
    assert_validation(MISMATCH, ddb.update_item, TableName=tbl, Key=key,
                      UpdateExpression="SET a = :v", ExpressionAttributeValues={":v": N("1")})


def test_hash_range_key_does_not_match_schema(ddb, tbl_hr):
    assert_validation(MISMATCH, ddb.get_item, TableName=tbl_hr, Key={"pk": S("a")})
    assert_validation(MISMATCH, ddb.get_item, TableName=tbl_hr,
                      Key={"pk": S("a"), "sk": S("1")})


def test_update_key_attribute_rejected(ddb, tbl):
    assert_validation(
        "One or more parameter values were invalid: Cannot update attribute pk. "
        "This attribute is part of the key",
        ddb.update_item, TableName=tbl, Key={"pk": S(k())}, UpdateExpression="SET pk = :v",
        ExpressionAttributeValues={":v": S("x")})


def test_key_size_limits(ddb, tbl, tbl_bs):
    ddb.put_item(TableName=tbl, Item={"pk": S("h" * 2048)})
    assert get(ddb, tbl, {"pk": S("h" * 2048)}) == {"pk": S("h" * 2048)}
    assert_validation(
        "One or more parameter values were invalid: Size of hashkey has exceeded the maximum "
        "size limit of2048 bytes",
        ddb.put_item, TableName=tbl, Item={"pk": S("h" * 2049)})
    assert_validation(
        "One or more parameter values were invalid: Size of hashkey has exceeded the maximum "
        "size limit of2048 bytes",
        ddb.get_item, TableName=tbl, Key={"pk": S("h" * 2049)})
    ddb.put_item(TableName=tbl_bs, Item={"hb": {"B": b"\x01" * 2048}, "rs": S("r" * 1024)})
    assert_validation(
        "One or more parameter values were invalid: Aggregated size of all range keys has "
        "exceeded the size limit of 1024 bytes",
        ddb.put_item, TableName=tbl_bs, Item={"hb": {"B": b"\x01"}, "rs": S("r" * 1025)})
    assert_validation(
        "One or more parameter values were invalid: Size of hashkey has exceeded the maximum "
        "size limit of2048 bytes",
        ddb.put_item, TableName=tbl_bs, Item={"hb": {"B": b"\x01" * 2049}, "rs": S("r")})


@pytest.mark.dynalite_differs  # dynalite counts UTF-16 code units, DynamoDB counts UTF-8 bytes
def test_key_size_counts_utf8_bytes(ddb, tbl):
    # 683 x 3-byte characters = 2049 bytes, one over the limit.
    assert_validation(
        "One or more parameter values were invalid: Size of hashkey has exceeded the maximum "
        "size limit of2048 bytes",
        ddb.put_item, TableName=tbl, Item={"pk": S("\u20ac" * 683)})
    ddb.put_item(TableName=tbl, Item={"pk": S("\u20ac" * 682 + "xx")})


# ---------------------------------------------------------------------------
# Item size limit (400 KB = 409600 bytes: attribute names + values, UTF-8)


def big_item(key, total, name="big"):
    """An item whose DynamoDB size is exactly `total` bytes."""
    fixed = len("pk") + len(key) + len(name)
    return {"pk": S(key), name: S("x" * (total - fixed))}


def test_item_size_exactly_at_limit(ddb, tbl):
    key = k()
    ddb.put_item(TableName=tbl, Item=big_item(key, SIZE_LIMIT))
    got = get(ddb, tbl, {"pk": S(key)})
    assert len(got["big"]["S"]) == SIZE_LIMIT - 2 - len(key) - 3


def test_item_size_one_byte_over(ddb, tbl):
    key = k()
    assert_validation("Item size has exceeded the maximum allowed size",
                      ddb.put_item, TableName=tbl, Item=big_item(key, SIZE_LIMIT + 1))
    assert get(ddb, tbl, {"pk": S(key)}) is None


def test_item_size_map_and_list_overhead(ddb, tbl):
    # A map costs 3 bytes plus 1 byte per element plus its names and values;
    # a list costs 3 bytes plus 1 byte per element plus its values.
    key = k()
    base = len("pk") + len(key) + len("m") + 3 + 1 + len("k")
    n = SIZE_LIMIT - base
    ddb.put_item(TableName=tbl, Item={"pk": S(key), "m": {"M": {"k": S("x" * n)}}})
    assert_validation("Item size has exceeded the maximum allowed size",
                      ddb.put_item, TableName=tbl,
                      Item={"pk": S(key), "m": {"M": {"k": S("x" * (n + 1))}}})
    base = len("pk") + len(key) + len("l") + 3 + 1 + (1 + 1)
    n = SIZE_LIMIT - base
    ddb.put_item(TableName=tbl, Item={"pk": S(key), "l": {"L": [S("x" * n), {"NULL": True}]}})
    assert_validation("Item size has exceeded the maximum allowed size",
                      ddb.put_item, TableName=tbl,
                      Item={"pk": S(key), "l": {"L": [S("x" * (n + 1)), {"NULL": True}]}})


@pytest.mark.dynalite_differs  # dynalite counts UTF-16 code units, DynamoDB counts UTF-8 bytes
def test_item_size_counts_utf8_bytes(ddb, tbl):
    key = k()
    fixed = len("pk") + len(key) + len("big")
    room = SIZE_LIMIT - fixed
    # room // 3 euro signs (3 bytes each) fit; pad to exactly the limit, then one more byte.
    val = "\u20ac" * (room // 3) + "x" * (room % 3)
    ddb.put_item(TableName=tbl, Item={"pk": S(key), "big": S(val)})
    assert_validation("Item size has exceeded the maximum allowed size",
                      ddb.put_item, TableName=tbl, Item={"pk": S(key), "big": S(val + "x")})


def test_update_cannot_grow_item_over_limit(ddb, tbl):
    key = k()
    ddb.put_item(TableName=tbl, Item=big_item(key, SIZE_LIMIT - 10))
    assert_validation("Item size to update has exceeded the maximum allowed size",
                      ddb.update_item, TableName=tbl, Key={"pk": S(key)},
                      UpdateExpression="SET extra = :v",
                      ExpressionAttributeValues={":v": S("y" * 100)})
    got = get(ddb, tbl, {"pk": S(key)})
    assert "extra" not in got


# ---------------------------------------------------------------------------
# ReturnValues


def test_put_return_values(ddb, tbl):
    key = k()
    r = ddb.put_item(TableName=tbl, Item={"pk": S(key), "v": N("1")}, ReturnValues="ALL_OLD")
    assert "Attributes" not in r
    r = ddb.put_item(TableName=tbl, Item={"pk": S(key), "v": N("2")}, ReturnValues="ALL_OLD")
    assert r["Attributes"] == {"pk": S(key), "v": N("1")}
    r = ddb.put_item(TableName=tbl, Item={"pk": S(key), "v": N("3")}, ReturnValues="NONE")
    assert "Attributes" not in r
    for bad in ("ALL_NEW", "UPDATED_OLD", "UPDATED_NEW"):
        assert_validation("ReturnValues can only be ALL_OLD or NONE",
                          ddb.put_item, TableName=tbl, Item={"pk": S(key)}, ReturnValues=bad)


def test_delete_return_values(ddb, tbl):
    key = k()
    ddb.put_item(TableName=tbl, Item={"pk": S(key), "v": N("1")})
    r = ddb.delete_item(TableName=tbl, Key={"pk": S(key)}, ReturnValues="ALL_OLD")
    assert r["Attributes"] == {"pk": S(key), "v": N("1")}
    r = ddb.delete_item(TableName=tbl, Key={"pk": S(key)}, ReturnValues="ALL_OLD")
    assert "Attributes" not in r


@pytest.mark.dynalite_differs  # dynalite accepts any enum value on DeleteItem
@pytest.mark.parametrize("bad", ["ALL_NEW", "UPDATED_OLD", "UPDATED_NEW"])
def test_delete_return_values_only_all_old_or_none(ddb, tbl, bad):
    assert_validation("ReturnValues can only be ALL_OLD or NONE",
                      ddb.delete_item, TableName=tbl, Key={"pk": S(k())}, ReturnValues=bad)


def test_update_return_values(ddb, tbl):
    key = k()
    ddb.put_item(TableName=tbl, Item={"pk": S(key), "a": N("1"), "b": S("keep")})
    upd = dict(TableName=tbl, Key={"pk": S(key)}, UpdateExpression="SET a = a + :one, c = :c",
               ExpressionAttributeValues={":one": N("1"), ":c": S("new")})
    r = ddb.update_item(ReturnValues="NONE", **upd)
    assert "Attributes" not in r
    r = ddb.update_item(ReturnValues="ALL_OLD", **upd)
    assert r["Attributes"] == {"pk": S(key), "a": N("2"), "b": S("keep"), "c": S("new")}
    r = ddb.update_item(ReturnValues="UPDATED_OLD", **upd)
    assert r["Attributes"] == {"a": N("3"), "c": S("new")}
    r = ddb.update_item(ReturnValues="UPDATED_NEW", **upd)
    assert r["Attributes"] == {"a": N("5"), "c": S("new")}
    r = ddb.update_item(ReturnValues="ALL_NEW", **upd)
    assert r["Attributes"] == {"pk": S(key), "a": N("6"), "b": S("keep"), "c": S("new")}


def test_update_return_values_bad_enum(ddb, tbl):
    assert_validation(
        re.compile(r"^1 validation error detected: Value 'SOME' at 'returnValues' failed to "
                   r"satisfy constraint: Member must satisfy enum value set: \[.*UPDATED_NEW.*\]$"),
        ddb.update_item, TableName=tbl, Key={"pk": S(k())}, UpdateExpression="SET a = :v",
        ExpressionAttributeValues={":v": N("1")}, ReturnValues="SOME")


def test_update_creates_item(ddb, tbl):
    key = k()
    r = ddb.update_item(TableName=tbl, Key={"pk": S(key)}, UpdateExpression="SET a = :v",
                        ExpressionAttributeValues={":v": N("1")}, ReturnValues="ALL_NEW")
    assert r["Attributes"] == {"pk": S(key), "a": N("1")}
    # An update with no changes still creates the item (key only).
    key2 = k()
    ddb.update_item(TableName=tbl, Key={"pk": S(key2)})
    assert get(ddb, tbl, {"pk": S(key2)}) == {"pk": S(key2)}


def test_consistent_read_sees_latest_write(ddb, tbl):
    key = k()
    for i in range(5):
        ddb.put_item(TableName=tbl, Item={"pk": S(key), "v": N(str(i))})
        assert get(ddb, tbl, {"pk": S(key)}, ConsistentRead=True)["v"] == N(str(i))


def test_consistent_read_must_be_boolean(ddb, raw, tbl):
    r = raw("GetItem", {"TableName": tbl, "Key": {"pk": S("a")}, "ConsistentRead": "maybe"})
    assert r.status == 400
    assert r.json()["__type"] == "com.amazon.coral.service#SerializationException"


# ---------------------------------------------------------------------------
# ReturnConsumedCapacity (1 write unit per started KB, 1 read unit per started
# 4 KB for a strongly consistent read, half of that for an eventually consistent one)


def test_consumed_capacity(ddb, tbl):
    key = k()
    small = {"pk": S(key), "v": S("x" * 100)}
    r = ddb.put_item(TableName=tbl, Item=small, ReturnConsumedCapacity="TOTAL")
    assert r["ConsumedCapacity"] == {"TableName": tbl, "CapacityUnits": 1.0}
    r = ddb.get_item(TableName=tbl, Key={"pk": S(key)}, ReturnConsumedCapacity="TOTAL")
    assert r["ConsumedCapacity"] == {"TableName": tbl, "CapacityUnits": 0.5}
    r = ddb.get_item(TableName=tbl, Key={"pk": S(key)}, ReturnConsumedCapacity="TOTAL",
                     ConsistentRead=True)
    assert r["ConsumedCapacity"] == {"TableName": tbl, "CapacityUnits": 1.0}
    big = {"pk": S(key), "v": S("x" * (5 * 1024))}  # a little over 5 KB: 6 WCU, 2 RCU
    r = ddb.put_item(TableName=tbl, Item=big, ReturnConsumedCapacity="TOTAL")
    assert r["ConsumedCapacity"]["CapacityUnits"] == 6.0
    r = ddb.get_item(TableName=tbl, Key={"pk": S(key)}, ReturnConsumedCapacity="TOTAL",
                     ConsistentRead=True)
    assert r["ConsumedCapacity"]["CapacityUnits"] == 2.0
    r = ddb.get_item(TableName=tbl, Key={"pk": S(key)}, ReturnConsumedCapacity="INDEXES")
    assert r["ConsumedCapacity"]["CapacityUnits"] == 1.0
    assert r["ConsumedCapacity"]["Table"] == {"CapacityUnits": 1.0}
    r = ddb.get_item(TableName=tbl, Key={"pk": S(key)}, ReturnConsumedCapacity="NONE")
    assert "ConsumedCapacity" not in r
    # Deleting charges for the larger of the old item and nothing: 6 WCU.
    r = ddb.delete_item(TableName=tbl, Key={"pk": S(key)}, ReturnConsumedCapacity="TOTAL")
    assert r["ConsumedCapacity"]["CapacityUnits"] == 6.0
    # A read of a missing item still costs the minimum.
    r = ddb.get_item(TableName=tbl, Key={"pk": S(key)}, ReturnConsumedCapacity="TOTAL")
    assert r["ConsumedCapacity"]["CapacityUnits"] == 0.5
