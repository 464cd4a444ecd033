"""Query and Scan on base tables, as real DynamoDB behaves.

Key conditions and sort order, filters with Count/ScannedCount, Select and
projections, paging by Limit and by the 1 MB page through LastEvaluatedKey over
a multi-megabyte table, parallel Scan coverage, the validation errors, and one
AWS CLI query.
"""

import json
import os
import shutil
import subprocess

import pytest

from conftest import REGION, assert_error, assert_validation

BIG = 100 * 1024  # bytes of payload per item of the big table
N_BIG = 40        # ~4 MB in one partition


def S(v):
    return {"S": v}


def N(v):
    return {"N": str(v)}


@pytest.fixture(scope="module")
def tbl(module_tables):
    return module_tables(hash_key=("pk", "S"), range_key=("sk", "N"))


@pytest.fixture(scope="module")
def tbl_s(module_tables):
    return module_tables(hash_key=("pk", "S"), range_key=("sk", "S"))


@pytest.fixture(scope="module")
def tbl_h(module_tables):
    return module_tables(hash_key=("id", "S"))


@pytest.fixture(scope="module")
def small(ddb, tbl):
    """Partition 'a' with sort keys 1..20 (v = sk % 3), neighbours 'b' and 'c'."""
    for p in ("a", "b", "c"):
        for i in range(1, 21):
            ddb.put_item(TableName=tbl, Item={"pk": S(p), "sk": N(i), "v": N(i % 3),
                                              "tag": S("t%d" % i)})
    return tbl


@pytest.fixture(scope="module")
def big(ddb, tbl):
    payload = "x" * BIG
    for i in range(N_BIG):
        ddb.put_item(TableName=tbl, Item={"pk": S("big"), "sk": N(i), "d": S(payload)})
    return tbl


def sks(resp):
    return [int(it["sk"]["N"]) for it in resp["Items"]]


def q(ddb, table, cond, values, **kw):
    return ddb.query(TableName=table, KeyConditionExpression=cond,
                     ExpressionAttributeValues=values, **kw)


@pytest.mark.parametrize("cond,extra,want", [
    ("pk = :p", {}, list(range(1, 21))),
    ("pk = :p AND sk = :a", {":a": N(7)}, [7]),
    ("pk = :p AND sk < :a", {":a": N(4)}, [1, 2, 3]),
    ("pk = :p AND sk <= :a", {":a": N(4)}, [1, 2, 3, 4]),
    ("pk = :p AND sk > :a", {":a": N(17)}, [18, 19, 20]),
    ("pk = :p AND sk >= :a", {":a": N(17)}, [17, 18, 19, 20]),
    ("pk = :p AND sk BETWEEN :a AND :b", {":a": N(5), ":b": N(8)}, [5, 6, 7, 8]),
    ("pk = :p AND sk > :a", {":a": N(20)}, []),
])
def test_key_conditions_both_directions(ddb, small, cond, extra, want):
    values = {":p": S("a"), **extra}
    r = q(ddb, small, cond, values)
    assert sks(r) == want
    assert r["Count"] == len(want) and r["ScannedCount"] == len(want)
    assert "LastEvaluatedKey" not in r
    r = q(ddb, small, cond, values, ScanIndexForward=False)
    assert sks(r) == want[::-1]


def test_string_sort_keys_and_begins_with(ddb, tbl_s):
    words = ["b", "ap", "a", "apple", "Apple", "apricot", "aq", "ao", "\u00e9t\u00e9"]
    for w in words:
        ddb.put_item(TableName=tbl_s, Item={"pk": S("w"), "sk": S(w)})
    r = q(ddb, tbl_s, "pk = :p", {":p": S("w")})
    assert [it["sk"]["S"] for it in r["Items"]] == sorted(words, key=lambda s: s.encode())
    r = q(ddb, tbl_s, "pk = :p AND begins_with(sk, :b)", {":p": S("w"), ":b": S("ap")})
    assert [it["sk"]["S"] for it in r["Items"]] == ["ap", "apple", "apricot"]
    r = q(ddb, tbl_s, "pk = :p AND begins_with(sk, :b)", {":p": S("w"), ":b": S("ap")},
          ScanIndexForward=False)
    assert [it["sk"]["S"] for it in r["Items"]] == ["apricot", "apple", "ap"]


def test_number_sort_order(ddb, tbl):
    nums = ["-1e10", "-7.5", "-0.01", "0", "0.01", "3", "25", "1e3",
            "99999999999999999999999999999999999999", "-99999999999999999999999999999999999999"]
    for n in nums:
        ddb.put_item(TableName=tbl, Item={"pk": S("nums"), "sk": {"N": n}})
    r = q(ddb, tbl, "pk = :p", {":p": S("nums")})
    got = [float(it["sk"]["N"]) for it in r["Items"]]
    assert got == sorted(float(n) for n in nums)
    assert r["Items"][0]["sk"]["N"] == "-99999999999999999999999999999999999999"


def test_filter_counts_and_limit(ddb, small):
    r = q(ddb, small, "pk = :p", {":p": S("a"), ":z": N(0)}, FilterExpression="v = :z")
    assert sks(r) == [3, 6, 9, 12, 15, 18]
    assert r["Count"] == 6 and r["ScannedCount"] == 20
    # Limit bounds the items read before the filter, and a full page has a
    # LastEvaluatedKey holding the key of the last item read.
    r = q(ddb, small, "pk = :p", {":p": S("a"), ":z": N(0)}, FilterExpression="v = :z", Limit=5)
    assert sks(r) == [3]
    assert r["Count"] == 1 and r["ScannedCount"] == 5
    assert r["LastEvaluatedKey"] == {"pk": S("a"), "sk": N(5)}
    r = q(ddb, small, "pk = :p", {":p": S("a")}, Select="COUNT")
    assert "Items" not in r and r["Count"] == 20


def test_limit_reached_at_end_still_has_last_key(ddb, small):
    r = q(ddb, small, "pk = :p AND sk >= :a", {":p": S("a"), ":a": N(19)}, Limit=2)
    assert sks(r) == [19, 20]
    assert r["LastEvaluatedKey"] == {"pk": S("a"), "sk": N(20)}
    r = q(ddb, small, "pk = :p AND sk >= :a", {":p": S("a"), ":a": N(19)}, Limit=2,
          ExclusiveStartKey=r["LastEvaluatedKey"])
    assert r["Items"] == [] and r["Count"] == 0 and "LastEvaluatedKey" not in r


def test_projection(ddb, small):
    r = q(ddb, small, "pk = :p AND sk = :a", {":p": S("a"), ":a": N(2)},
          ProjectionExpression="tag")
    assert r["Items"] == [{"tag": S("t2")}]
    r = ddb.query(TableName=small, KeyConditions={
        "pk": {"ComparisonOperator": "EQ", "AttributeValueList": [S("a")]},
        "sk": {"ComparisonOperator": "BETWEEN", "AttributeValueList": [N(2), N(3)]}},
        AttributesToGet=["sk"])
    assert r["Items"] == [{"sk": N(2)}, {"sk": N(3)}]


def pages(fn, **kw):
    """Every page of a paged call, following LastEvaluatedKey."""
    out = []
    start = None
    while True:
        args = dict(kw)
        if start:
            args["ExclusiveStartKey"] = start
        r = fn(**args)
        out.append(r)
        start = r.get("LastEvaluatedKey")
        if not start:
            return out
        assert len(out) < 1000


def test_query_pages_through_megabytes(ddb, big):
    ps = pages(ddb.query, TableName=big, KeyConditionExpression="pk = :p",
               ExpressionAttributeValues={":p": S("big")}, ProjectionExpression="sk")
    got = [int(it["sk"]["N"]) for p in ps for it in p["Items"]]
    assert got == list(range(N_BIG))
    # Each page but the last stops after the item that takes it to 1 MB.
    for p in ps[:-1]:
        assert 1 <= p["ScannedCount"] <= 11
        assert p["ScannedCount"] * BIG >= 1024 * 1024 - BIG
    assert len(ps) >= 4


def test_query_pages_with_limit_backwards(ddb, big):
    ps = pages(ddb.query, TableName=big, KeyConditionExpression="pk = :p",
               ExpressionAttributeValues={":p": S("big")}, ProjectionExpression="sk",
               ScanIndexForward=False, Limit=7)
    got = [int(it["sk"]["N"]) for p in ps for it in p["Items"]]
    assert got == list(range(N_BIG))[::-1]


def test_scan_pages_through_megabytes(ddb, big, small):
    ps = pages(ddb.scan, TableName=big, ProjectionExpression="pk, sk")
    keys = [(it["pk"]["S"], it["sk"]["N"]) for p in ps for it in p["Items"]]
    assert len(keys) == len(set(keys))
    assert {k for k in keys if k[0] == "big"} == {("big", str(i)) for i in range(N_BIG)}
    assert {k for k in keys if k[0] == "a"} == {("a", str(i)) for i in range(1, 21)}
    assert len(ps) >= 4


HASH_IDS = ["id%03d" % i for i in range(150)]


@pytest.fixture(scope="module")
def hashed(ddb, tbl_h):
    for i in HASH_IDS:
        ddb.put_item(TableName=tbl_h, Item={"id": S(i), "n": N(1)})
    return tbl_h


@pytest.mark.parametrize("total", [1, 3, 7])
def test_parallel_scan_covers_every_item_once(ddb, hashed, total):
    ids = HASH_IDS
    seen = []
    for seg in range(total):
        for p in pages(ddb.scan, TableName=hashed, Segment=seg, TotalSegments=total, Limit=11):
            seen += [it["id"]["S"] for it in p["Items"]]
    assert sorted(seen) == ids


def test_scan_filter_and_count(ddb, hashed):
    r = ddb.scan(TableName=hashed, ScanFilter={
        "id": {"ComparisonOperator": "BEGINS_WITH", "AttributeValueList": [S("id00")]}})
    assert sorted(it["id"]["S"] for it in r["Items"]) == ["id%03d" % i for i in range(10)]
    assert r["Count"] == 10 and r["ScannedCount"] == len(HASH_IDS)
    r = ddb.scan(TableName=hashed, FilterExpression="begins_with(id, :p)",
                 ExpressionAttributeValues={":p": S("id14")}, Select="COUNT")
    assert "Items" not in r and r["Count"] == 10


def test_errors(ddb, tbl, tbl_h):
    assert_validation(
        "Either the KeyConditions or KeyConditionExpression parameter must be specified "
        "in the request.", ddb.query, TableName=tbl)
    assert_validation(
        "Query condition missed key schema element: pk",
        ddb.query, TableName=tbl, KeyConditionExpression="sk = :a",
        ExpressionAttributeValues={":a": N(1)})
    assert_validation(
        "The table does not have the specified index: nope",
        ddb.query, TableName=tbl, IndexName="nope", KeyConditionExpression="pk = :p",
        ExpressionAttributeValues={":p": S("a")})
    assert_validation(
        "The provided starting key is invalid: The provided key element does not match "
        "the schema", ddb.scan, TableName=tbl, ExclusiveStartKey={"pk": S("a")})
    assert_validation(
        "The Segment parameter is zero-based and must be less than parameter TotalSegments: "
        "Segment: 3 is not less than TotalSegments: 3",
        ddb.scan, TableName=tbl_h, Segment=3, TotalSegments=3)
    assert_validation(
        "The TotalSegments parameter is required but was not present in the request when "
        "Segment parameter is present", ddb.scan, TableName=tbl_h, Segment=0)
    assert_validation(
        "The Segment parameter is required but was not present in the request when "
        "parameter TotalSegments is present", ddb.scan, TableName=tbl_h, TotalSegments=2)
    assert_validation(
        "Must specify the AttributesToGet or ProjectionExpression when choosing to get "
        "SPECIFIC_ATTRIBUTES", ddb.scan, TableName=tbl_h, Select="SPECIFIC_ATTRIBUTES")
    assert_validation(
        "ALL_PROJECTED_ATTRIBUTES can be used only when Querying using an IndexName",
        ddb.scan, TableName=tbl_h, Select="ALL_PROJECTED_ATTRIBUTES")
    assert_validation(
        "1 validation error detected: ALL_PROJECTED_ATTRIBUTES can be used only when "
        "Querying using an IndexName", ddb.query, TableName=tbl, Select="ALL_PROJECTED_ATTRIBUTES",
        KeyConditionExpression="pk = :p", ExpressionAttributeValues={":p": S("a")})
    assert_validation(
        "1 validation error detected: Must specify the AttributesToGet or ProjectionExpression "
        "when choosing to get SPECIFIC_ATTRIBUTES", ddb.query, TableName=tbl,
        Select="SPECIFIC_ATTRIBUTES", KeyConditionExpression="pk = :p",
        ExpressionAttributeValues={":p": S("a")})
    for select, what in (("ALL_ATTRIBUTES", "ALL_ATTRIBUTES"), ("COUNT", "only the Count")):
        assert_validation(
            "Cannot specify the ProjectionExpression when choosing to get " + what,
            ddb.scan, TableName=tbl_h, Select=select, ProjectionExpression="id")
        assert_validation(
            "1 validation error detected: Cannot specify the AttributesToGet when choosing "
            "to get " + what, ddb.query, TableName=tbl, Select=select, AttributesToGet=["pk"],
            KeyConditions={"pk": {"ComparisonOperator": "EQ", "AttributeValueList": [S("a")]}})
    assert_error("ResourceNotFoundException", "Requested resource not found",
                 ddb.scan, TableName="itest-no-such-table")


def test_cli_query(ddb, small, endpoint):
    binary = os.environ.get("DDAX_AWS_CLI") or shutil.which("aws") or "/usr/bin/aws"
    if not os.path.exists(binary):
        pytest.skip("AWS CLI not installed")
    env = dict(os.environ)
    env.update({
        "AWS_ACCESS_KEY_ID": os.environ.get("DDAX_ACCESS_KEY_ID", "AKIDITEST"),
        "AWS_SECRET_ACCESS_KEY": os.environ.get("DDAX_SECRET_ACCESS_KEY", "itestsecret"),
        "AWS_DEFAULT_REGION": REGION, "AWS_CONFIG_FILE": "/dev/null",
        "AWS_SHARED_CREDENTIALS_FILE": "/dev/null", "AWS_PAGER": "", "AWS_MAX_ATTEMPTS": "1",
    })
    env.pop("AWS_PROFILE", None)
    p = subprocess.run(
        [binary, "dynamodb", "query", "--table-name", small,
         "--key-condition-expression", "pk = :p AND sk BETWEEN :a AND :b",
         "--expression-attribute-values",
         json.dumps({":p": S("b"), ":a": N(10), ":b": N(12)}),
         "--endpoint-url", endpoint, "--output", "json"],
        env=env, capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stderr
    out = json.loads(p.stdout)
    assert [int(it["sk"]["N"]) for it in out["Items"]] == [10, 11, 12]
    assert out["Count"] == 3
