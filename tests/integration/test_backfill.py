"""UpdateTable GlobalSecondaryIndexUpdates Create on a populated table, as real DynamoDB does it.

The new index is reported CREATING (Backfilling) at once, and becomes ACTIVE once every item
already in the table is in it; then a Query of the index finds every item, with the index's
projection. The key attributes' definitions are merged into the table's.
"""

import time

from botocore.exceptions import ClientError

from conftest import wait_active


def index_of(table, name):
    for g in table.get("GlobalSecondaryIndexes", []):
        if g["IndexName"] == name:
            return g
    return None


def test_create_index_backfills(ddb, make_table):
    name = make_table(hash_key=("pk", "S"))
    n = 1200
    for start in range(0, n, 25):
        ddb.batch_write_item(RequestItems={name: [
            {"PutRequest": {"Item": {"pk": {"S": "k%05d" % i}, "grp": {"S": "g%d" % (i % 3)},
                                     "num": {"N": str(i)}, "x": {"S": "x%d" % i}}}}
            for i in range(start, min(start + 25, n))]})
    resp = ddb.update_table(
        TableName=name,
        AttributeDefinitions=[{"AttributeName": "grp", "AttributeType": "S"},
                              {"AttributeName": "num", "AttributeType": "N"}],
        GlobalSecondaryIndexUpdates=[{"Create": {
            "IndexName": "by-grp",
            "KeySchema": [{"AttributeName": "grp", "KeyType": "HASH"},
                          {"AttributeName": "num", "KeyType": "RANGE"}],
            "Projection": {"ProjectionType": "INCLUDE", "NonKeyAttributes": ["x"]}}}])
    desc = resp["TableDescription"]
    assert index_of(desc, "by-grp")["IndexStatus"] == "CREATING"
    assert {d["AttributeName"] for d in desc["AttributeDefinitions"]} == {"pk", "grp", "num"}

    # While CREATING: Backfilling, and reads refused with DynamoDB's text.
    t = ddb.describe_table(TableName=name)["Table"]
    g = index_of(t, "by-grp")
    if g["IndexStatus"] == "CREATING":
        assert g.get("Backfilling") is True
        try:
            ddb.query(TableName=name, IndexName="by-grp", KeyConditionExpression="grp = :g",
                      ExpressionAttributeValues={":g": {"S": "g0"}})
        except ClientError as e:
            if index_of(ddb.describe_table(TableName=name)["Table"],
                        "by-grp")["IndexStatus"] == "CREATING":
                assert e.response["Error"]["Code"] == "ValidationException"
                assert e.response["Error"]["Message"] == (
                    "Cannot read from backfilling global secondary index: by-grp")

    t = wait_active(ddb, name)
    g = index_of(t, "by-grp")
    assert g["IndexStatus"] == "ACTIVE"
    assert not g.get("Backfilling", False)
    assert g["ItemCount"] == n

    got = []
    for grp in ("g0", "g1", "g2"):
        kwargs = dict(TableName=name, IndexName="by-grp", KeyConditionExpression="grp = :g",
                      ExpressionAttributeValues={":g": {"S": grp}})
        while True:
            r = ddb.query(**kwargs)
            got.extend(r["Items"])
            if "LastEvaluatedKey" not in r:
                break
            kwargs["ExclusiveStartKey"] = r["LastEvaluatedKey"]
    assert len(got) == n
    assert sorted(int(it["num"]["N"]) for it in got) == list(range(n))
    for it in got:
        i = int(it["num"]["N"])
        assert it == {"pk": {"S": "k%05d" % i}, "grp": {"S": "g%d" % (i % 3)},
                      "num": {"N": str(i)}, "x": {"S": "x%d" % i}}


def test_create_index_validation(ddb, make_table):
    name = make_table(hash_key=("pk", "S"))
    create = {"IndexName": "by-a", "KeySchema": [{"AttributeName": "a", "KeyType": "HASH"}],
              "Projection": {"ProjectionType": "ALL"}}
    try:
        ddb.update_table(TableName=name, GlobalSecondaryIndexUpdates=[{"Create": create}])
        raise AssertionError("accepted an index key without a definition")
    except ClientError as e:
        assert e.response["Error"]["Code"] == "ValidationException"
        assert e.response["Error"]["Message"] == (
            "One or more parameter values were invalid: Some index key attributes are not "
            "defined in AttributeDefinitions. Keys: [a], AttributeDefinitions: []")
    defs = [{"AttributeName": "a", "AttributeType": "S"}]
    ddb.update_table(TableName=name, AttributeDefinitions=defs,
                     GlobalSecondaryIndexUpdates=[{"Create": create}])
    wait_active(ddb, name)
    try:
        ddb.update_table(TableName=name, AttributeDefinitions=defs,
                         GlobalSecondaryIndexUpdates=[{"Create": create}])
        raise AssertionError("accepted an existing index name")
    except ClientError as e:
        assert e.response["Error"]["Code"] == "ValidationException"
        assert e.response["Error"]["Message"] == (
            "Attempting to create an index which already exists")
