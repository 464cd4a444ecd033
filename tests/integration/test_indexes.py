"""Local and global secondary indexes, as real DynamoDB behaves.

Writes keep every index current (projections ALL, KEYS_ONLY and INCLUDE, sparse indexes,
non-unique index keys, items moving between index partitions, deletes); Query and Scan read
an index with its key schema, page with LastEvaluatedKey holding the index and table keys,
and refuse what DynamoDB refuses (consistent reads of a GSI, ALL_ATTRIBUTES on a GSI that
does not project everything). An LSI read asking for ALL_ATTRIBUTES fetches the table item.
"""

import random

import pytest

from conftest import assert_validation


def S(v):
    return {"S": v}


def N(v):
    return {"N": str(v)}


def attr_defs(*pairs):
    return [{"AttributeName": n, "AttributeType": t} for n, t in pairs]


@pytest.fixture(scope="module")
def itbl(module_tables):
    """pk/sk table with a GSI per projection type and an LSI per projection type."""
    ks_g = [{"AttributeName": "g", "KeyType": "HASH"}, {"AttributeName": "gs", "KeyType": "RANGE"}]
    ks_l = [{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "l", "KeyType": "RANGE"}]
    return module_tables(
        hash_key=("pk", "S"), range_key=("sk", "N"),
        AttributeDefinitions=attr_defs(("pk", "S"), ("sk", "N"), ("g", "S"), ("gs", "N"),
                                       ("l", "S")),
        GlobalSecondaryIndexes=[
            {"IndexName": "g_all", "KeySchema": ks_g, "Projection": {"ProjectionType": "ALL"}},
            {"IndexName": "g_keys", "KeySchema": ks_g,
             "Projection": {"ProjectionType": "KEYS_ONLY"}},
            {"IndexName": "g_inc", "KeySchema": ks_g,
             "Projection": {"ProjectionType": "INCLUDE", "NonKeyAttributes": ["x"]}},
            {"IndexName": "g_hash", "KeySchema": [{"AttributeName": "g", "KeyType": "HASH"}],
             "Projection": {"ProjectionType": "ALL"}},
        ],
        LocalSecondaryIndexes=[
            {"IndexName": "l_all", "KeySchema": ks_l, "Projection": {"ProjectionType": "ALL"}},
            {"IndexName": "l_keys", "KeySchema": ks_l,
             "Projection": {"ProjectionType": "KEYS_ONLY"}},
        ])


def gquery(ddb, tbl, index, g, **kw):
    return ddb.query(TableName=tbl, IndexName=index, KeyConditionExpression="g = :g",
                     ExpressionAttributeValues={":g": S(g)}, **kw)


def test_gsi_projections(ddb, itbl):
    ddb.put_item(TableName=itbl, Item={"pk": S("p1"), "sk": N(1), "g": S("G"), "gs": N(5),
                                       "x": S("xv"), "y": S("yv"), "l": S("L")})
    full = gquery(ddb, itbl, "g_all", "G")["Items"]
    assert full == [{"pk": S("p1"), "sk": N(1), "g": S("G"), "gs": N(5), "x": S("xv"),
                     "y": S("yv"), "l": S("L")}]
    keys = gquery(ddb, itbl, "g_keys", "G")["Items"]
    assert keys == [{"pk": S("p1"), "sk": N(1), "g": S("G"), "gs": N(5)}]
    inc = gquery(ddb, itbl, "g_inc", "G")["Items"]
    assert inc == [{"pk": S("p1"), "sk": N(1), "g": S("G"), "gs": N(5), "x": S("xv")}]
    ddb.delete_item(TableName=itbl, Key={"pk": S("p1"), "sk": N(1)})
    for ix in ("g_all", "g_keys", "g_inc", "g_hash"):
        assert gquery(ddb, itbl, ix, "G")["Items"] == []


def test_sparse_and_moves(ddb, itbl):
    ddb.put_item(TableName=itbl, Item={"pk": S("sp"), "sk": N(1), "y": S("no index keys")})
    assert ddb.scan(TableName=itbl, IndexName="g_hash",
                    FilterExpression="pk = :p",
                    ExpressionAttributeValues={":p": S("sp")})["Count"] == 0
    ddb.update_item(TableName=itbl, Key={"pk": S("sp"), "sk": N(1)},
                    UpdateExpression="SET g = :g", ExpressionAttributeValues={":g": S("A")})
    assert [i["pk"] for i in gquery(ddb, itbl, "g_hash", "A")["Items"]] == [S("sp")]
    # g_all needs gs too: still sparse there
    assert gquery(ddb, itbl, "g_all", "A")["Items"] == []
    ddb.update_item(TableName=itbl, Key={"pk": S("sp"), "sk": N(1)},
                    UpdateExpression="SET g = :g", ExpressionAttributeValues={":g": S("B")})
    assert gquery(ddb, itbl, "g_hash", "A")["Items"] == []
    assert [i["pk"] for i in gquery(ddb, itbl, "g_hash", "B")["Items"]] == [S("sp")]
    ddb.update_item(TableName=itbl, Key={"pk": S("sp"), "sk": N(1)}, UpdateExpression="REMOVE g")
    assert gquery(ddb, itbl, "g_hash", "B")["Items"] == []


def test_non_unique_keys_and_paging(ddb, itbl):
    for i in range(7):
        ddb.put_item(TableName=itbl, Item={"pk": S("nu%d" % i), "sk": N(i), "g": S("NU"),
                                           "gs": N(i % 3)})
    got, esk, pages = [], None, 0
    while True:
        kw = {"Limit": 2}
        if esk:
            kw["ExclusiveStartKey"] = esk
        r = gquery(ddb, itbl, "g_all", "NU", **kw)
        pages += 1
        got += [(int(i["gs"]["N"]), i["pk"]["S"]) for i in r["Items"]]
        esk = r.get("LastEvaluatedKey")
        if not esk:
            break
        assert set(esk) == {"g", "gs", "pk", "sk"}
    assert pages >= 4
    assert got == sorted((i % 3, "nu%d" % i) for i in range(7))
    back = gquery(ddb, itbl, "g_all", "NU", ScanIndexForward=False)["Items"]
    assert [(int(i["gs"]["N"]), i["pk"]["S"]) for i in back] == sorted(got, reverse=True)
    r = ddb.query(TableName=itbl, IndexName="g_all",
                  KeyConditionExpression="g = :g AND gs BETWEEN :a AND :b",
                  ExpressionAttributeValues={":g": S("NU"), ":a": N(1), ":b": N(2)})
    assert r["Count"] == 4  # gs 1 or 2 of i % 3 for i in 0..6


def test_scan_index_and_parallel(ddb, itbl):
    for i in range(20):
        ddb.put_item(TableName=itbl, Item={"pk": S("sc%d" % i), "sk": N(0), "g": S("SC%d" % i),
                                           "gs": N(1)})
    seen = []
    for seg in range(3):
        esk = None
        while True:
            kw = {"Segment": seg, "TotalSegments": 3, "Limit": 4,
                  "FilterExpression": "begins_with(pk, :p)",
                  "ExpressionAttributeValues": {":p": S("sc")}}
            if esk:
                kw["ExclusiveStartKey"] = esk
            r = ddb.scan(TableName=itbl, IndexName="g_keys", **kw)
            seen += [i["pk"]["S"] for i in r["Items"]]
            esk = r.get("LastEvaluatedKey")
            if not esk:
                break
    assert sorted(seen) == sorted("sc%d" % i for i in range(20))


def test_lsi(ddb, itbl):
    for i, l in enumerate(["c", "a", "b"]):
        ddb.put_item(TableName=itbl, Item={"pk": S("lp"), "sk": N(i), "l": S(l), "z": S("zz")})
    ddb.put_item(TableName=itbl, Item={"pk": S("lp"), "sk": N(9)})  # not in the LSI
    r = ddb.query(TableName=itbl, IndexName="l_all", KeyConditionExpression="pk = :p",
                  ExpressionAttributeValues={":p": S("lp")}, ConsistentRead=True)
    assert [i["l"]["S"] for i in r["Items"]] == ["a", "b", "c"]
    r = ddb.query(TableName=itbl, IndexName="l_keys", KeyConditionExpression="pk = :p",
                  ExpressionAttributeValues={":p": S("lp")})
    assert r["Items"][0] == {"pk": S("lp"), "sk": N(1), "l": S("a")}
    r = ddb.query(TableName=itbl, IndexName="l_keys", KeyConditionExpression="pk = :p",
                  ExpressionAttributeValues={":p": S("lp")}, Select="ALL_ATTRIBUTES")
    assert r["Items"][0] == {"pk": S("lp"), "sk": N(1), "l": S("a"), "z": S("zz")}
    r = ddb.query(TableName=itbl, IndexName="l_keys",
                  KeyConditionExpression="pk = :p AND l > :l",
                  ExpressionAttributeValues={":p": S("lp"), ":l": S("a")}, Limit=1)
    assert r["LastEvaluatedKey"] == {"pk": S("lp"), "sk": N(2), "l": S("b")}


def test_errors(ddb, itbl):
    assert_validation("Consistent reads are not supported on global secondary indexes",
                      gquery, ddb, itbl, "g_all", "G", ConsistentRead=True)
    assert_validation("One or more parameter values were invalid: Select type ALL_ATTRIBUTES is "
                      "not supported for global secondary index g_keys because its projection "
                      "type is not ALL", gquery, ddb, itbl, "g_keys", "G", Select="ALL_ATTRIBUTES")
    assert_validation("The table does not have the specified index: nope",
                      ddb.scan, TableName=itbl, IndexName="nope")
    # A GSI cannot fetch from the table: asking it for attributes it does not store is refused.
    assert_validation("One or more parameter values were invalid: Global secondary index g_inc "
                      "does not project [y, z]", gquery, ddb, itbl, "g_inc", "G",
                      ProjectionExpression="pk, x, y, g, z")
    assert_validation("One or more parameter values were invalid: Global secondary index g_keys "
                      "does not project [x]", ddb.scan, TableName=itbl, IndexName="g_keys",
                      ProjectionExpression="#x", ExpressionAttributeNames={"#x": "x"})
    # Keys and INCLUDE'd attributes are fine, and an LSI fetches what it lacks.
    gquery(ddb, itbl, "g_inc", "G", ProjectionExpression="pk, sk, g, gs, x")
    ddb.query(TableName=itbl, IndexName="l_keys", KeyConditionExpression="pk = :p",
              ExpressionAttributeValues={":p": S("lp")}, ProjectionExpression="y")


def test_index_matches_table(ddb, itbl):
    rnd = random.Random(7)
    for _ in range(150):
        k = {"pk": S("r%d" % rnd.randrange(15)), "sk": N(rnd.randrange(3))}
        op = rnd.random()
        if op < 0.2:
            ddb.delete_item(TableName=itbl, Key=k)
        else:
            item = dict(k)
            if rnd.random() < 0.8:
                item["g"] = S("RG%d" % rnd.randrange(4))
            if rnd.random() < 0.8:
                item["gs"] = N(rnd.randrange(5))
            ddb.put_item(TableName=itbl, Item=item)
    table = ddb.scan(TableName=itbl, FilterExpression="begins_with(pk, :r)",
                     ExpressionAttributeValues={":r": S("r")})["Items"]
    for g in range(4):
        want = sorted((int(i["gs"]["N"]), i["pk"]["S"], int(i["sk"]["N"])) for i in table
                      if i.get("g") == S("RG%d" % g) and "gs" in i)
        got = [(int(i["gs"]["N"]), i["pk"]["S"], int(i["sk"]["N"]))
               for i in gquery(ddb, itbl, "g_all", "RG%d" % g)["Items"]]
        assert got == want


def test_index_stats_and_delete_table(ddb, make_table):
    tbl = make_table(hash_key=("pk", "S"),
                     AttributeDefinitions=attr_defs(("pk", "S"), ("g", "S")),
                     GlobalSecondaryIndexes=[{
                         "IndexName": "gix", "KeySchema": [{"AttributeName": "g",
                                                           "KeyType": "HASH"}],
                         "Projection": {"ProjectionType": "KEYS_ONLY"}}])
    for i in range(5):
        item = {"pk": S("k%d" % i), "pad": S("x" * 100)}
        if i < 3:
            item["g"] = S("G")
        ddb.put_item(TableName=tbl, Item=item)
    d = ddb.describe_table(TableName=tbl)["Table"]
    assert d["ItemCount"] == 5
    gi = d["GlobalSecondaryIndexes"][0]
    assert gi["ItemCount"] == 3
    assert 0 < gi["IndexSizeBytes"] < d["TableSizeBytes"]
    ddb.delete_item(TableName=tbl, Key={"pk": S("k0")})
    gi = ddb.describe_table(TableName=tbl)["Table"]["GlobalSecondaryIndexes"][0]
    assert gi["ItemCount"] == 2


def test_index_read_capacity(ddb, itbl):
    r = gquery(ddb, itbl, "g_all", "none", ReturnConsumedCapacity="INDEXES")
    cc = r["ConsumedCapacity"]
    assert cc["TableName"] == itbl and cc["CapacityUnits"] == 0.5
    assert cc["Table"] == {"CapacityUnits": 0.0}
    assert cc["GlobalSecondaryIndexes"] == {"g_all": {"CapacityUnits": 0.5}}
    r = ddb.query(TableName=itbl, IndexName="l_all", KeyConditionExpression="pk = :p",
                  ExpressionAttributeValues={":p": S("none")}, ReturnConsumedCapacity="TOTAL")
    assert r["ConsumedCapacity"] == {"TableName": itbl, "CapacityUnits": 0.5}
