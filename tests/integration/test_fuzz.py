"""Bad input never gets a 500, a crash or a hang: valid requests of every operation the engine
implements, mutated at random (members dropped, values of other types, empty or huge values,
deep nesting), must each get a 200 or a DynamoDB client error, and the server must keep
answering. The random generator is seeded: a failure names the seed and the body to replay.
"""

import json
import random

import pytest

from conftest import raw_request, unique_name, wait_active

SEED = 20261125
MUTATIONS_PER_SEED = 200
CLIENT_ERROR_PREFIXES = ("com.amazon.coral.", "com.amazonaws.dynamodb.v20120810#")


@pytest.fixture(scope="module")
def tables(ddb):
    name = unique_name("fuzz")
    ddb.create_table(
        TableName=name, BillingMode="PAY_PER_REQUEST",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"},
                   {"AttributeName": "sk", "KeyType": "RANGE"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"},
                              {"AttributeName": "sk", "AttributeType": "N"},
                              {"AttributeName": "g", "AttributeType": "S"}],
        GlobalSecondaryIndexes=[{"IndexName": "byg",
                                 "KeySchema": [{"AttributeName": "g", "KeyType": "HASH"}],
                                 "Projection": {"ProjectionType": "ALL"}}])
    wait_active(ddb, name)
    for i in range(5):
        ddb.put_item(TableName=name, Item={"pk": {"S": "p"}, "sk": {"N": str(i)},
                                           "g": {"S": "g%d" % (i % 2)}, "n": {"N": "1"},
                                           "l": {"L": [{"S": "x"}]}})
    arn = ddb.describe_table(TableName=name)["Table"]["TableArn"]
    yield name, arn
    try:
        ddb.delete_table(TableName=name)
    except Exception:  # noqa: BLE001 (a mutation may have deleted or protected it)
        pass


def seeds(t, arn):
    key = {"pk": {"S": "p"}, "sk": {"N": "1"}}
    item = {"pk": {"S": "p"}, "sk": {"N": "9"}, "g": {"S": "g1"}, "m": {"M": {"a": {"N": "2"}}}}
    return [
        ("GetItem", {"TableName": t, "Key": key, "ProjectionExpression": "#n, l[0]",
                     "ExpressionAttributeNames": {"#n": "n"}, "ConsistentRead": True,
                     "ReturnConsumedCapacity": "TOTAL"}),
        ("PutItem", {"TableName": t, "Item": item, "ConditionExpression": "attribute_not_exists(g)",
                     "ReturnValues": "ALL_OLD", "ReturnConsumedCapacity": "INDEXES"}),
        ("UpdateItem", {"TableName": t, "Key": key,
                        "UpdateExpression": "SET n = n + :one, l = list_append(l, :l) REMOVE m",
                        "ConditionExpression": "n < :big",
                        "ExpressionAttributeValues": {":one": {"N": "1"}, ":big": {"N": "1e9"},
                                                      ":l": {"L": [{"B": "AQID"}]}},
                        "ReturnValues": "UPDATED_NEW"}),
        ("DeleteItem", {"TableName": t, "Key": {"pk": {"S": "q"}, "sk": {"N": "0"}},
                        "Expected": {"n": {"ComparisonOperator": "NULL"}}}),
        ("Query", {"TableName": t, "KeyConditionExpression": "pk = :p AND sk BETWEEN :a AND :b",
                   "FilterExpression": "size(l) > :z",
                   "ExpressionAttributeValues": {":p": {"S": "p"}, ":a": {"N": "0"},
                                                 ":b": {"N": "3"}, ":z": {"N": "0"}},
                   "Limit": 2, "ScanIndexForward": False,
                   "ExclusiveStartKey": key}),
        ("Query", {"TableName": t, "IndexName": "byg", "KeyConditionExpression": "g = :g",
                   "ExpressionAttributeValues": {":g": {"S": "g1"}}, "Select": "COUNT"}),
        ("Scan", {"TableName": t, "Segment": 1, "TotalSegments": 3, "Limit": 3,
                  "ScanFilter": {"n": {"ComparisonOperator": "GE",
                                       "AttributeValueList": [{"N": "0"}]}}}),
        ("BatchGetItem", {"RequestItems": {t: {"Keys": [key, {"pk": {"S": "p"},
                                                              "sk": {"N": "2"}}],
                                               "AttributesToGet": ["n"]}}}),
        ("BatchWriteItem", {"RequestItems": {t: [{"PutRequest": {"Item": item}},
                                                 {"DeleteRequest": {"Key": key}}]},
                            "ReturnItemCollectionMetrics": "SIZE"}),
        ("TransactWriteItems", {"ClientRequestToken": "fuzz-token",
                                "TransactItems": [
                                    {"Put": {"TableName": t, "Item": item}},
                                    {"Update": {"TableName": t, "Key": {"pk": {"S": "p"},
                                                                        "sk": {"N": "3"}},
                                                "UpdateExpression": "ADD n :one",
                                                "ExpressionAttributeValues": {
                                                    ":one": {"N": "1"}}}},
                                    {"ConditionCheck": {"TableName": arn, "Key": {
                                        "pk": {"S": "p"}, "sk": {"N": "4"}},
                                        "ConditionExpression": "attribute_exists(pk)",
                                        "ReturnValuesOnConditionCheckFailure": "ALL_OLD"}},
                                    {"Delete": {"TableName": t, "Key": {"pk": {"S": "z"},
                                                                        "sk": {"N": "1"}}}}],
                                "ReturnConsumedCapacity": "TOTAL"}),
        ("TransactGetItems", {"TransactItems": [
            {"Get": {"TableName": t, "Key": key, "ProjectionExpression": "n"}},
            {"Get": {"TableName": arn, "Key": {"pk": {"S": "p"}, "sk": {"N": "2"}}}}]}),
        ("UpdateTimeToLive", {"TableName": t, "TimeToLiveSpecification": {
            "AttributeName": "exp", "Enabled": True}}),
        ("DescribeTimeToLive", {"TableName": t}),
        ("TagResource", {"ResourceArn": arn, "Tags": [{"Key": "k", "Value": "v"}]}),
        ("UntagResource", {"ResourceArn": arn, "TagKeys": ["k"]}),
        ("ListTagsOfResource", {"ResourceArn": arn}),
        ("DescribeTable", {"TableName": t}),
        ("ListTables", {"Limit": 5, "ExclusiveStartTableName": "a"}),
        ("DescribeLimits", {}),
        ("DescribeEndpoints", {}),
        ("CreateTable", {"TableName": t + "-c", "BillingMode": "PROVISIONED",
                         "ProvisionedThroughput": {"ReadCapacityUnits": 1,
                                                   "WriteCapacityUnits": 1},
                         "KeySchema": [{"AttributeName": "h", "KeyType": "HASH"}],
                         "AttributeDefinitions": [{"AttributeName": "h",
                                                   "AttributeType": "B"}],
                         "Tags": [{"Key": "a", "Value": "b"}]}),
    ]


def random_value(rng, depth=0):
    kind = rng.randrange(12)
    if kind == 0:
        return None
    if kind == 1:
        return rng.choice([True, False])
    if kind == 2:
        return rng.choice([0, -1, 1, 2 ** 63, -2 ** 63, 1e308, 0.5, 101, 1000001])
    if kind == 3:
        return rng.choice(["", "x", "S", "N", "ALL_NEW", "#n", ":v", "a.b[0]", "\u00e9\u4e2d",
                           "1e400", "NaN", "arn:aws:dynamodb:us-east-1:0:table/x", "pk = :p"])
    if kind == 4:
        return "y" * rng.choice([256, 1025, 70000])
    if kind == 5 or depth > 3:
        return {}
    if kind == 6:
        return []
    if kind == 7:
        return {rng.choice(["S", "N", "B", "L", "M", "SS", "NULL", "BOOL"]):
                random_value(rng, depth + 1)}
    if kind == 8:
        return [random_value(rng, depth + 1) for _ in range(rng.randrange(4))]
    if kind == 9:
        return {"k%d" % i: random_value(rng, depth + 1) for i in range(rng.randrange(4))}
    if kind == 10:
        nested = []
        for _ in range(rng.choice([50, 200])):
            nested = [nested]
        return nested
    return [{"S": "v"}] * rng.choice([2, 26, 101])


def paths(node, prefix=()):
    """Every (container, key) place in a JSON tree."""
    out = []
    if isinstance(node, dict):
        for k, v in node.items():
            out.append((node, k))
            out.extend(paths(v))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            out.append((node, i))
            out.extend(paths(v))
    return out


def mutate(rng, body):
    body = json.loads(json.dumps(body))
    for _ in range(rng.choice([1, 1, 2, 3])):
        places = paths(body)
        if not places:
            body[rng.choice(["x", "TableName", "Key"])] = random_value(rng)
            continue
        container, key = rng.choice(places)
        action = rng.randrange(4)
        if action == 0 and isinstance(container, dict):
            del container[key]
        elif action == 1 and isinstance(container, list):
            container.append(json.loads(json.dumps(container[key])))
        else:
            container[key] = random_value(rng)
    return body


def check(resp, op, body, seed):
    where = "seed %d, %s %s" % (seed, op, json.dumps(body)[:600])
    assert resp.status in (200, 400, 413), "%s -> HTTP %d %s" % (where, resp.status,
                                                                resp.body[:300])
    data = json.loads(resp.body)
    if resp.status == 400:
        kind = data.get("__type", "")
        assert kind.startswith(CLIENT_ERROR_PREFIXES), "%s -> %s" % (where, resp.body[:300])


def test_mutated_requests_get_client_errors(endpoint, tables):
    name, arn = tables
    rng = random.Random(SEED)
    for op, valid in seeds(name, arn):
        resp = raw_request(endpoint, "DynamoDB_20120810." + op, valid)
        check(resp, op, valid, SEED)
        for _ in range(MUTATIONS_PER_SEED):
            body = mutate(rng, valid)
            check(raw_request(endpoint, "DynamoDB_20120810." + op, body), op, body, SEED)
    # Still serving, and the table is still whole.
    assert raw_request(endpoint, "DynamoDB_20120810.ListTables", {}).status == 200
