"""BatchGetItem and BatchWriteItem, as real DynamoDB behaves.

Gets over several tables with projections, absent keys, duplicate keys, the
100-key and 25-request limits, unknown tables, writes mixing puts and deletes
over several tables, all-or-nothing validation, and reads after batch writes
(through ddax's item cache too: a BatchGetItem or GetItem after a BatchWriteItem
that overwrote or deleted items must see the new state).

Responses are unordered in DynamoDB, so items are compared sorted. Real
DynamoDB may hand back UnprocessedKeys under throttling; the helper retries
them, as applications must.
"""

import re
import time
import uuid

import pytest

from conftest import assert_error, assert_validation, unique_name

MISMATCH = "The provided key element does not match the schema"
DUPS = "Provided list of item keys contains duplicates"
NOT_FOUND = "Requested resource not found"
EVENTUAL_WINDOW = 2.0


@pytest.fixture(scope="module")
def th(module_tables):
    return module_tables(hash_key=("pk", "S"))


@pytest.fixture(scope="module")
def tr(module_tables):
    return module_tables(hash_key=("pk", "S"), range_key=("sk", "N"))


def S(v):
    return {"S": v}


def N(v):
    return {"N": v}


def k():
    return uuid.uuid4().hex


def key_of(item):
    return tuple(sorted((a, str(v)) for a, v in item.items() if a in ("pk", "sk")))


def batch_get(ddb, request_items, **kw):
    """All items per table (sorted), following UnprocessedKeys."""
    out = {}
    pending = request_items
    for _ in range(20):
        resp = ddb.batch_get_item(RequestItems=pending, **kw)
        for t, items in resp["Responses"].items():
            out.setdefault(t, []).extend(items)
        pending = resp.get("UnprocessedKeys") or {}
        if not pending:
            break
        time.sleep(0.1)
    assert not pending
    return {t: sorted(v, key=lambda i: sorted((a, str(x)) for a, x in i.items()))
            for t, v in out.items()}


def sort_items(items):
    return sorted(items, key=lambda i: sorted((a, str(x)) for a, x in i.items()))


def batch_write(ddb, request_items, **kw):
    resp = ddb.batch_write_item(RequestItems=request_items, **kw)
    assert resp["UnprocessedItems"] == {}
    return resp


def put(item):
    return {"PutRequest": {"Item": item}}


def delete(key):
    return {"DeleteRequest": {"Key": key}}


# ---------------------------------------------------------------------------
# Functionality


def test_write_and_get_over_two_tables(ddb, th, tr):
    a, b, p = k(), k(), k()
    batch_write(ddb, {
        th: [put({"pk": S(a), "v": N("1"), "w": S("x")}), put({"pk": S(b), "v": N("2")})],
        tr: [put({"pk": S(p), "sk": N("1"), "m": {"M": {"q": S("r"), "z": S("y")}}}),
             put({"pk": S(p), "sk": N("2")})],
    })
    got = batch_get(ddb, {
        th: {"Keys": [{"pk": S(a)}, {"pk": S(k())}, {"pk": S(b)}], "ConsistentRead": True},
        tr: {"Keys": [{"pk": S(p), "sk": N("1.0")}, {"pk": S(p), "sk": N("3")}],
             "ProjectionExpression": "#m.q, sk", "ExpressionAttributeNames": {"#m": "m"},
             "ConsistentRead": True},
    })
    assert got[th] == sort_items([{"pk": S(a), "v": N("1"), "w": S("x")},
                                  {"pk": S(b), "v": N("2")}])
    assert got[tr] == [{"m": {"M": {"q": S("r")}}, "sk": N("1")}]


def test_get_attributes_to_get_and_absent_keys(ddb, th, tr):
    a = k()
    batch_write(ddb, {th: [put({"pk": S(a), "v": N("1"), "w": S("x")})]})
    resp = ddb.batch_get_item(RequestItems={
        th: {"Keys": [{"pk": S(a)}], "AttributesToGet": ["w"], "ConsistentRead": True},
        tr: {"Keys": [{"pk": S(k()), "sk": N("1")}]},
    })
    assert resp["Responses"][th] == [{"w": S("x")}]
    assert resp["Responses"][tr] == []
    assert resp["UnprocessedKeys"] == {}


def test_write_mixes_puts_and_deletes(ddb, th, tr):
    a, b, p = k(), k(), k()
    batch_write(ddb, {th: [put({"pk": S(a), "v": N("1")}), put({"pk": S(b), "v": N("1")})],
                      tr: [put({"pk": S(p), "sk": N("1")})]})
    batch_write(ddb, {
        th: [put({"pk": S(a), "v": N("2")}), delete({"pk": S(b)}), delete({"pk": S(k())})],
        tr: [delete({"pk": S(p), "sk": N("1")}), put({"pk": S(p), "sk": N("2"), "x": S("y")})],
    })
    got = batch_get(ddb, {
        th: {"Keys": [{"pk": S(a)}, {"pk": S(b)}], "ConsistentRead": True},
        tr: {"Keys": [{"pk": S(p), "sk": N("1")}, {"pk": S(p), "sk": N("2")}],
             "ConsistentRead": True},
    })
    assert got[th] == [{"pk": S(a), "v": N("2")}]
    assert got[tr] == [{"pk": S(p), "sk": N("2"), "x": S("y")}]


def test_limits_25_writes_and_100_keys(ddb, th, tr):
    keys = [k() for _ in range(25)]
    batch_write(ddb, {th: [put({"pk": S(x)}) for x in keys[:13]],
                      tr: [put({"pk": S(x), "sk": N("1")}) for x in keys[13:]]})
    batch_write(ddb, {th: [put({"pk": S(x), "n": N("1")}) for x in keys]})
    got = batch_get(ddb, {th: {"Keys": [{"pk": S(x)} for x in keys] +
                               [{"pk": S(k())} for _ in range(75)], "ConsistentRead": True}})
    assert len(got[th]) == 25


def test_consumed_capacity_is_a_list_per_table(ddb, th, tr):
    resp = batch_write(ddb, {th: [put({"pk": S(k())}), put({"pk": S(k())})],
                             tr: [put({"pk": S(k()), "sk": N("1")})]},
                       ReturnConsumedCapacity="TOTAL")
    caps = {c["TableName"]: c["CapacityUnits"] for c in resp["ConsumedCapacity"]}
    assert caps == {th: 2.0, tr: 1.0}
    resp = ddb.batch_get_item(RequestItems={th: {"Keys": [{"pk": S(k())}],
                                                 "ConsistentRead": True}},
                              ReturnConsumedCapacity="TOTAL")
    assert resp["ConsumedCapacity"] == [{"TableName": th, "CapacityUnits": 1.0}]


def eventually_batch(ddb, th, keys, expected):
    """Eventually consistent BatchGetItem converges to `expected` (sorted items)."""
    deadline = time.time() + EVENTUAL_WINDOW
    while True:
        got = batch_get(ddb, {th: {"Keys": [{"pk": S(x)} for x in keys]}}).get(th, [])
        if got == expected:
            return
        if time.time() > deadline:
            assert got == expected, "stale batch read"
        time.sleep(0.05)


def eventually_get(ddb, th, key, expected):
    deadline = time.time() + EVENTUAL_WINDOW
    while True:
        got = ddb.get_item(TableName=th, Key={"pk": S(key)}).get("Item")
        if got == expected:
            return
        if time.time() > deadline:
            assert got == expected, "stale read"
        time.sleep(0.05)


def test_reads_after_batch_write_see_new_state(ddb, th):
    a, b, c = k(), k(), k()
    batch_write(ddb, {th: [put({"pk": S(a), "v": N("1")}), put({"pk": S(b), "v": N("1")})]})
    # Warm any cache in front: items and an absence.
    eventually_batch(ddb, th, [a, b, c], sort_items([{"pk": S(a), "v": N("1")},
                                                     {"pk": S(b), "v": N("1")}]))
    eventually_get(ddb, th, a, {"pk": S(a), "v": N("1")})
    eventually_get(ddb, th, c, None)
    # Overwrite one, delete one, create the absent one.
    batch_write(ddb, {th: [put({"pk": S(a), "v": N("2")}), delete({"pk": S(b)}),
                           put({"pk": S(c), "v": N("3")})]})
    want = sort_items([{"pk": S(a), "v": N("2")}, {"pk": S(c), "v": N("3")}])
    eventually_batch(ddb, th, [a, b, c], want)
    eventually_get(ddb, th, a, {"pk": S(a), "v": N("2")})
    eventually_get(ddb, th, b, None)
    eventually_get(ddb, th, c, {"pk": S(c), "v": N("3")})
    got = batch_get(ddb, {th: {"Keys": [{"pk": S(x)} for x in (a, b, c)],
                               "ConsistentRead": True}})
    assert got[th] == want


# ---------------------------------------------------------------------------
# Validation


def test_get_duplicate_keys(ddb, th, tr):
    a = k()
    assert_validation(DUPS, ddb.batch_get_item,
                      RequestItems={th: {"Keys": [{"pk": S(a)}, {"pk": S(k())}, {"pk": S(a)}]}})
    assert_validation(DUPS, ddb.batch_get_item,
                      RequestItems={tr: {"Keys": [{"pk": S(a), "sk": N("1")},
                                                  {"sk": N("1"), "pk": S(a)}]}})


def test_write_duplicate_keys_write_nothing(ddb, th):
    a, other = k(), k()
    assert_validation(DUPS, ddb.batch_write_item, RequestItems={
        th: [put({"pk": S(other)}), put({"pk": S(a), "c": S("c")}), delete({"pk": S(a)})]})
    assert_validation(DUPS, ddb.batch_write_item, RequestItems={
        th: [delete({"pk": S(a)}), put({"pk": S(a)})]})
    assert_validation(DUPS, ddb.batch_write_item, RequestItems={
        th: [put({"pk": S(a)}), put({"pk": S(a), "x": S("y")})]})
    assert "Item" not in ddb.get_item(TableName=th, Key={"pk": S(other)}, ConsistentRead=True)


def test_too_many_keys(ddb, th, tr):
    keys = [{"pk": S(str(i))} for i in range(101)]
    assert_validation(
        re.compile(r"^1 validation error detected: Value '\[.+\]' at "
                   r"'requestItems\.%s\.member\.keys' failed to satisfy constraint: Member must "
                   r"have length less than or equal to 100$" % re.escape(th)),
        ddb.batch_get_item, RequestItems={th: {"Keys": keys}})
    assert_validation("Too many items requested for the BatchGetItem call", ddb.batch_get_item,
                      RequestItems={th: {"Keys": keys[:100]},
                                    tr: {"Keys": [{"pk": S("x"), "sk": N("1")}]}})


def test_too_many_writes(ddb, th, tr):
    reqs = [put({"pk": S(str(i))}) for i in range(26)]
    assert_validation(
        re.compile(r"^1 validation error detected: Value '\{.+\}' at 'requestItems' failed to "
                   r"satisfy constraint: Map value must satisfy constraint: \[Member must have "
                   r"length less than or equal to 25, Member must have length greater than or "
                   r"equal to 1\]$"),
        ddb.batch_write_item, RequestItems={th: reqs})
    assert_validation(
        "Too many items requested for the BatchWriteItem call", ddb.batch_write_item,
        RequestItems={th: reqs[:13],
                      tr: [put({"pk": S(str(i)), "sk": N("1")}) for i in range(13)]})
    assert "Item" not in ddb.get_item(TableName=th, Key={"pk": S("0")}, ConsistentRead=True)


def test_empty_and_missing_request_items(ddb):
    assert_validation(
        "1 validation error detected: Value '{}' at 'requestItems' failed to satisfy "
        "constraint: Member must have length greater than or equal to 1",
        ddb.batch_get_item, RequestItems={})
    assert_validation(
        "1 validation error detected: Value '{}' at 'requestItems' failed to satisfy "
        "constraint: Member must have length greater than or equal to 1",
        ddb.batch_write_item, RequestItems={})


def test_short_table_name(ddb):
    pattern = re.compile(
        r"^1 validation error detected: Value '\{.+\}' at 'requestItems' failed to satisfy "
        r"constraint: Map keys must satisfy constraint: \[Member must have length less than or "
        r"equal to 255, Member must have length greater than or equal to 3, Member must "
        r"satisfy regular expression pattern: \[a-zA-Z0-9_.-\]\+\]$")
    assert_validation(pattern, ddb.batch_get_item, RequestItems={"a": {"Keys": [{"a": S("a")}]}})
    assert_validation(pattern, ddb.batch_write_item,
                      RequestItems={"a": [put({"a": S("a")})]})


def test_unknown_tables(ddb, th):
    missing = unique_name()
    assert_error("ResourceNotFoundException", NOT_FOUND, ddb.batch_get_item,
                 RequestItems={missing: {"Keys": [{"x": S("a")}]}})
    assert_error("ResourceNotFoundException", NOT_FOUND, ddb.batch_get_item,
                 RequestItems={th: {"Keys": [{"pk": S("a")}]}, missing: {"Keys": [{"x": S("a")}]}})
    a = k()
    assert_error("ResourceNotFoundException", NOT_FOUND, ddb.batch_write_item,
                 RequestItems={th: [put({"pk": S(a)})], missing: [put({"x": S("a")})]})
    assert "Item" not in ddb.get_item(TableName=th, Key={"pk": S(a)}, ConsistentRead=True)


def test_key_schema(ddb, th, tr):
    assert_validation(MISMATCH, ddb.batch_get_item, RequestItems={th: {"Keys": [{"x": S("a")}]}})
    assert_validation(MISMATCH, ddb.batch_get_item,
                      RequestItems={tr: {"Keys": [{"pk": S("a")}]}})
    assert_validation(MISMATCH, ddb.batch_get_item, RequestItems={th: {"Keys": [{"pk": N("1")}]}})
    assert_validation(MISMATCH, ddb.batch_write_item,
                      RequestItems={th: [delete({"pk": S("a"), "x": S("b")})]})


def test_one_bad_item_writes_nothing(ddb, th, tr):
    a, p = k(), k()
    assert_validation(MISMATCH, ddb.batch_write_item, RequestItems={
        th: [put({"pk": S(a)})],
        tr: [put({"pk": S(p), "sk": N("1")}), put({"pk": S(p)})]})
    assert_validation("Item size has exceeded the maximum allowed size",
                      ddb.batch_write_item, RequestItems={
                          th: [put({"pk": S(a)}), put({"pk": S(k()), "b": S("x" * 409600)})]})
    assert_validation(
        "The parameter cannot be converted to a numeric value: b", ddb.batch_write_item,
        RequestItems={th: [put({"pk": S(a)}), put({"pk": S(k()), "n": N("b")})]})
    got = batch_get(ddb, {th: {"Keys": [{"pk": S(a)}], "ConsistentRead": True},
                          tr: {"Keys": [{"pk": S(p), "sk": N("1")}], "ConsistentRead": True}})
    assert got == {th: [], tr: []}


def test_bad_enum_and_null_members(ddb):
    assert_validation(
        re.compile(r"^3 validation errors detected: Value 'hi' at 'returnConsumedCapacity' "
                   r"failed to satisfy constraint: Member must satisfy enum value set: "
                   r"\[INDEXES, TOTAL, NONE\]; Value 'hi' at 'returnItemCollectionMetrics' "
                   r"failed to satisfy constraint: Member must satisfy enum value set: "
                   r"\[SIZE, NONE\]; Value null at 'requestItems\.abc\.member\.1\.member"
                   r"\.putRequest\.item' failed to satisfy constraint: Member must not be null$"),
        ddb.batch_write_item, RequestItems={"abc": [{"PutRequest": {}}]},
        ReturnConsumedCapacity="hi", ReturnItemCollectionMetrics="hi")
