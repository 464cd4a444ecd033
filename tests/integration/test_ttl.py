"""Time to Live: UpdateTimeToLive / DescribeTimeToLive as DynamoDB answers them, and
the background sweeper deleting expired items (with their index entries) while
reads and writes go on, without touching items whose TTL is in the future, not a
number, or was extended in time. Also the AWS CLI's update-time-to-live and
describe-time-to-live.

The expiry tests start their own server with a short sweep period
(--ttl-interval-ms 200) and without the query cache, so that index reads see the
engine; item reads there are strongly consistent (a TTL deletion, like DynamoDB's,
is not a write through the cache).
"""

import json
import random
import threading
import time

import pytest
from botocore.exceptions import ClientError

from conftest import (assert_error, assert_validation, aws_cli, make_client, unique_name,
                      wait_active)

VERR1 = "1 validation error detected: "


def spec(attr, enabled):
    return {"AttributeName": attr, "Enabled": enabled}


def describe(client, name):
    return client.describe_time_to_live(TableName=name)["TimeToLiveDescription"]


# ---------------------------------------------------------------------------
# UpdateTimeToLive / DescribeTimeToLive


def test_new_table_is_disabled(ddb, make_table):
    name = make_table()
    assert describe(ddb, name) == {"TimeToLiveStatus": "DISABLED"}


def test_enable_disable_cycle(ddb, make_table):
    name = make_table()
    assert_validation("TimeToLive is already disabled", ddb.update_time_to_live,
                      TableName=name, TimeToLiveSpecification=spec("expires", False))

    out = ddb.update_time_to_live(TableName=name, TimeToLiveSpecification=spec("expires", True))
    assert out["TimeToLiveSpecification"] == {"AttributeName": "expires", "Enabled": True}
    assert describe(ddb, name) == {"TimeToLiveStatus": "ENABLED", "AttributeName": "expires"}

    assert_validation("TimeToLive is already enabled", ddb.update_time_to_live,
                      TableName=name, TimeToLiveSpecification=spec("expires", True))
    different = ("TimeToLive is active on a different AttributeName: "
                 "current AttributeName is expires")
    assert_validation(different, ddb.update_time_to_live,
                      TableName=name, TimeToLiveSpecification=spec("other", True))
    assert_validation(different, ddb.update_time_to_live,
                      TableName=name, TimeToLiveSpecification=spec("other", False))

    out = ddb.update_time_to_live(TableName=name,
                                  TimeToLiveSpecification=spec("expires", False))
    assert out["TimeToLiveSpecification"] == {"AttributeName": "expires", "Enabled": False}
    assert describe(ddb, name) == {"TimeToLiveStatus": "DISABLED"}

    # Another attribute once disabled.
    ddb.update_time_to_live(TableName=name, TimeToLiveSpecification=spec("ttl2", True))
    assert describe(ddb, name) == {"TimeToLiveStatus": "ENABLED", "AttributeName": "ttl2"}
    # The setting is not part of the table description.
    assert "ttl2" not in json.dumps(ddb.describe_table(TableName=name)["Table"], default=str)


def test_table_arn_as_name(ddb, make_table):
    name = make_table()
    arn = ddb.describe_table(TableName=name)["Table"]["TableArn"]
    out = ddb.update_time_to_live(TableName=arn, TimeToLiveSpecification=spec("exp", True))
    assert out["TimeToLiveSpecification"] == {"AttributeName": "exp", "Enabled": True}
    assert describe(ddb, arn) == {"TimeToLiveStatus": "ENABLED", "AttributeName": "exp"}
    assert describe(ddb, name) == {"TimeToLiveStatus": "ENABLED", "AttributeName": "exp"}


@pytest.mark.parametrize("kwargs, message", [
    ({}, "The parameter 'TableName' is required but was not present in the request"),
    ({"TableName": "ab", "TimeToLiveSpecification": spec("a", True)},
     "TableName must be at least 3 characters long and at most 255 characters long"),
    ({"TableName": "TABLE"},
     VERR1 + "Value null at 'timeToLiveSpecification' failed to satisfy constraint: "
     "Member must not be null"),
    ({"TableName": "TABLE", "TimeToLiveSpecification": {}},
     "2 validation errors detected: Value null at 'timeToLiveSpecification.attributeName' "
     "failed to satisfy constraint: Member must not be null; Value null at "
     "'timeToLiveSpecification.enabled' failed to satisfy constraint: Member must not be null"),
    ({"TableName": "TABLE", "TimeToLiveSpecification": {"AttributeName": "a"}},
     VERR1 + "Value null at 'timeToLiveSpecification.enabled' failed to satisfy constraint: "
     "Member must not be null"),
    ({"TableName": "TABLE", "TimeToLiveSpecification": spec("", True)},
     "TimeToLiveSpecification.AttributeName must be non empty"),
    ({"TableName": "TABLE", "TimeToLiveSpecification": spec("x" * 256, True)},
     VERR1 + "Value '" + "x" * 256 + "' at 'timeToLiveSpecification.attributeName' failed "
     "to satisfy constraint: Member must have length less than or equal to 255"),
    ({"TableName": "bad;name", "TimeToLiveSpecification": spec("a", True)},
     VERR1 + "Value 'bad;name' at 'tableName' failed to satisfy constraint: Member must "
     "satisfy regular expression pattern: [a-zA-Z0-9_.-]+"),
])
def test_update_validation(ddb, make_table, kwargs, message):
    name = make_table()
    kwargs = dict(kwargs)
    if kwargs.get("TableName") == "TABLE":
        kwargs["TableName"] = name
    assert_validation(message, ddb.update_time_to_live, **kwargs)
    assert describe(ddb, name) == {"TimeToLiveStatus": "DISABLED"}


def test_attribute_name_of_255_characters(ddb, make_table):
    name = make_table()
    attr = "\u00e9" * 255  # characters, not bytes
    ddb.update_time_to_live(TableName=name, TimeToLiveSpecification=spec(attr, True))
    assert describe(ddb, name) == {"TimeToLiveStatus": "ENABLED", "AttributeName": attr}


def test_unknown_table(ddb):
    name = unique_name("itest-nope")
    msg = "Requested resource not found: Table: %s not found" % name
    assert_error("ResourceNotFoundException", msg, ddb.update_time_to_live,
                 TableName=name, TimeToLiveSpecification=spec("a", True))
    assert_error("ResourceNotFoundException", msg, ddb.describe_time_to_live, TableName=name)


def test_wrong_member_types(ddb, make_table):
    name = make_table()
    assert_error("SerializationException", "NUMBER_VALUE cannot be converted to String",
                 ddb.update_time_to_live, TableName=name,
                 TimeToLiveSpecification={"AttributeName": 5, "Enabled": True})
    assert_error("SerializationException", None, ddb.update_time_to_live, TableName=name,
                 TimeToLiveSpecification={"AttributeName": "a", "Enabled": "yes"})
    assert_error("SerializationException", None, ddb.describe_time_to_live, TableName=7)


# ---------------------------------------------------------------------------
# Settling (a server with --table-status-delay-ms)


@pytest.mark.lifecycle
def test_enabling_and_disabling_while_settling(server_factory):
    s = server_factory(nosync=True, args=["--table-status-delay-ms", "700"])
    client = make_client(s.start())
    name = unique_name()
    client.create_table(TableName=name, BillingMode="PAY_PER_REQUEST",
                        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}])
    # Not while the table is being created.
    assert_validation("Cannot describe time to live while table is in CREATING state: "
                      "Current table state is CREATING", client.describe_time_to_live,
                      TableName=name)
    assert_error("ResourceInUseException",
                 "Attempt to change a resource which is still in use: Table %s is being "
                 "created" % name, client.update_time_to_live, TableName=name,
                 TimeToLiveSpecification=spec("exp", True))
    wait_active(client, name)
    client.update_time_to_live(TableName=name, TimeToLiveSpecification=spec("exp", True))
    assert describe(client, name) == {"TimeToLiveStatus": "ENABLING", "AttributeName": "exp"}
    assert_validation("TimeToLive is already enabled", client.update_time_to_live,
                      TableName=name, TimeToLiveSpecification=spec("exp", True))
    assert_validation("Time to live has been modified multiple times within a fixed interval",
                      client.update_time_to_live, TableName=name,
                      TimeToLiveSpecification=spec("exp", False))
    deadline = time.time() + 10
    while describe(client, name)["TimeToLiveStatus"] == "ENABLING":
        assert time.time() < deadline
        time.sleep(0.05)
    assert describe(client, name) == {"TimeToLiveStatus": "ENABLED", "AttributeName": "exp"}
    client.update_time_to_live(TableName=name, TimeToLiveSpecification=spec("exp", False))
    assert describe(client, name) == {"TimeToLiveStatus": "DISABLING", "AttributeName": "exp"}
    deadline = time.time() + 10
    while describe(client, name)["TimeToLiveStatus"] == "DISABLING":
        assert time.time() < deadline
        time.sleep(0.05)
    assert describe(client, name) == {"TimeToLiveStatus": "DISABLED"}
    client.delete_table(TableName=name)
    assert_validation("Cannot describe time to live while table is in DELETING state: "
                      "Current table state is DELETING", client.describe_time_to_live,
                      TableName=name)


# ---------------------------------------------------------------------------
# The sweeper


@pytest.fixture
def ttl_server(server_factory):
    s = server_factory(nosync=True,
                       args=["--ttl-interval-ms", "200", "--query-ttl-ms", "0"])
    return s, make_client(s.start())


def create_indexed(client):
    """Table pk (S) + sk (N), a GSI on g and an LSI on l (both ALL)."""
    name = unique_name("itest-ttl")
    client.create_table(
        TableName=name, BillingMode="PAY_PER_REQUEST",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"},
                   {"AttributeName": "sk", "KeyType": "RANGE"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"},
                              {"AttributeName": "sk", "AttributeType": "N"},
                              {"AttributeName": "g", "AttributeType": "S"},
                              {"AttributeName": "l", "AttributeType": "S"}],
        GlobalSecondaryIndexes=[{"IndexName": "gix",
                                 "KeySchema": [{"AttributeName": "g", "KeyType": "HASH"}],
                                 "Projection": {"ProjectionType": "ALL"}}],
        LocalSecondaryIndexes=[{"IndexName": "lix",
                                "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"},
                                              {"AttributeName": "l", "KeyType": "RANGE"}],
                                "Projection": {"ProjectionType": "ALL"}}])
    wait_active(client, name)
    return name


def scan_keys(client, name, index=None):
    keys, kwargs = set(), {"TableName": name}
    if index:
        kwargs["IndexName"] = index
    else:
        kwargs["ConsistentRead"] = True
    while True:
        page = client.scan(**kwargs)
        for it in page["Items"]:
            keys.add((it["pk"]["S"], int(it["sk"]["N"])))
        if "LastEvaluatedKey" not in page:
            return keys
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def item(pk, sk, exp=None, **extra):
    it = {"pk": {"S": pk}, "sk": {"N": str(sk)}, "g": {"S": "g%d" % (sk % 7)},
          "l": {"S": "l%d" % sk}}
    if exp is not None:
        it["exp"] = exp
    it.update(extra)
    return it


def batch_put(client, name, items):
    for i in range(0, len(items), 25):
        reqs = [{"PutRequest": {"Item": it}} for it in items[i:i + 25]]
        pending = {name: reqs}
        while pending:
            pending = client.batch_write_item(RequestItems=pending).get("UnprocessedItems")


def wait_for(pred, timeout, what):
    deadline = time.time() + timeout
    while not pred():
        if time.time() > deadline:
            raise AssertionError("timed out waiting for " + what)
        time.sleep(0.1)


@pytest.mark.lifecycle
def test_expired_items_deleted_under_load(ttl_server):
    _, client = ttl_server
    name = create_indexed(client)
    now = int(time.time())
    kept, doomed = set(), set()
    items = []
    # Already expired (including a fractional time), and expiring in ~2 s.
    for i in range(150):
        items.append(item("past", i, {"N": str(now - 1 - i) + (".5" if i % 2 else "")}))
        doomed.add(("past", i))
    soon = now + 2
    for i in range(200):
        items.append(item("soon", i, {"N": str(soon)}))
    # Never expire: future, string, number set, binary, missing, older than five years.
    never = [{"N": str(now + 3600)}, {"S": str(now - 10)}, {"NS": [str(now - 10)]},
             {"B": b"1"}, None, {"N": str(now - 6 * 366 * 86400)}]
    for i in range(60):
        items.append(item("keep", i, never[i % len(never)]))
        kept.add(("keep", i))
    batch_put(client, name, items)

    client.update_time_to_live(TableName=name, TimeToLiveSpecification=spec("exp", True))

    stop = threading.Event()
    errors = []
    writes = {"n": 0}
    w_client, r_client, x_client = (make_client(ttl_server[0].url) for _ in range(3))

    def writer():
        # Non-expiring items written the whole time, some with a future TTL.
        try:
            i = 0
            while not stop.is_set():
                exp = {"N": str(int(time.time()) + 3600)} if i % 2 else None
                w_client.put_item(TableName=name, Item=item("w", i, exp))
                i += 1
            writes["n"] = i
        except Exception as e:  # reported by the main thread
            errors.append(e)

    def reader():
        try:
            while not stop.is_set():
                r_client.query(TableName=name, KeyConditionExpression="pk = :p",
                               ExpressionAttributeValues={":p": {"S": "soon"}})
                r_client.query(TableName=name, IndexName="gix",
                               KeyConditionExpression="g = :g",
                               ExpressionAttributeValues={":g": {"S": "g3"}})
                r_client.get_item(TableName=name, ConsistentRead=True,
                                  Key={"pk": {"S": "keep"}, "sk": {"N": "1"}})
        except Exception as e:
            errors.append(e)

    extended, lost = set(), set()

    def extender():
        # Every other "soon" item is pushed into the future, some before its expiry and
        # some after (the sweeper may or may not have removed it by then). An update only
        # applies to an item that still exists; the ones that did apply must survive.
        try:
            order = list(range(0, 200, 2))
            random.Random(7).shuffle(order)
            start = time.time()
            for n, i in enumerate(order):
                target = start + 1.0 + 2.5 * n / len(order)  # from ~1 s before to ~1.5 s after
                time.sleep(max(0.0, target - time.time()))
                try:
                    x_client.update_item(
                        TableName=name, Key={"pk": {"S": "soon"}, "sk": {"N": str(i)}},
                        UpdateExpression="SET exp = :e",
                        ConditionExpression="attribute_exists(pk)",
                        ExpressionAttributeValues={":e": {"N": str(int(time.time()) + 3600)}})
                    extended.add(("soon", i))
                except ClientError as e:
                    if e.response["Error"]["Code"] != "ConditionalCheckFailedException":
                        raise
                    lost.add(("soon", i))
        except Exception as e:
            errors.append(e)

    threads = [threading.Thread(target=f) for f in (writer, reader, extender)]
    for t in threads:
        t.start()
    try:
        for t in threads[2:]:
            t.join(30)
        # The expired items are gone within seconds, with the writes still going on.
        for i in range(1, 200, 2):
            doomed.add(("soon", i))
        doomed |= lost
        wait_for(lambda: not (scan_keys(client, name) & doomed), 15, "expired items to go")
    finally:
        stop.set()
        for t in threads:
            t.join(30)
    assert not errors, errors
    assert len(extended) + len(lost) == 100
    assert extended, "no extension landed in time"

    keys = scan_keys(client, name)
    written = {("w", i) for i in range(writes["n"])}
    assert keys == kept | extended | written
    # The indexes agree with the table.
    assert scan_keys(client, name, "gix") == keys
    assert scan_keys(client, name, "lix") == keys
    q = client.query(TableName=name, IndexName="lix", KeyConditionExpression="pk = :p",
                     ExpressionAttributeValues={":p": {"S": "past"}})
    assert q["Items"] == []
    # Extended items carry their new time.
    for pk, sk in list(extended)[:5]:
        got = client.get_item(TableName=name, ConsistentRead=True,
                              Key={"pk": {"S": pk}, "sk": {"N": str(sk)}})["Item"]
        assert int(got["exp"]["N"]) > now + 1000

    # Once TTL is disabled, expired items stay.
    client.update_time_to_live(TableName=name, TimeToLiveSpecification=spec("exp", False))
    client.put_item(TableName=name, Item=item("late", 1, {"N": str(int(time.time()) - 5)}))
    time.sleep(1.0)
    assert ("late", 1) in scan_keys(client, name)


@pytest.mark.lifecycle
def test_cached_reads_stop_returning_deleted_items(server_factory):
    """`ddax serve` caches eventually consistent reads (5 minutes by default): items the
    sweeper deletes leave the item cache and the cached Scan and Query pages at once."""
    s = server_factory(nosync=True, args=["--ttl-interval-ms", "200"])
    c = make_client(s.start())
    name = create_indexed(c)
    c.update_time_to_live(TableName=name, TimeToLiveSpecification=spec("exp", True))
    soon = {"N": str(int(time.time()) + 2)}
    batch_put(c, name, [item("p", 1, soon), item("p", 2)])
    key = {"pk": {"S": "p"}, "sk": {"N": "1"}}
    query = {"TableName": name, "KeyConditionExpression": "pk = :p",
             "ExpressionAttributeValues": {":p": {"S": "p"}}}
    for _ in range(2):  # the second answer of each comes from the cache
        assert "Item" in c.get_item(TableName=name, Key=key)
        assert c.scan(TableName=name)["Count"] == 2
        assert c.query(**query)["Count"] == 2
    wait_for(lambda: "Item" not in c.get_item(TableName=name, Key=key), 15,
             "the expired item to leave the item cache")
    assert c.scan(TableName=name)["Count"] == 1
    assert c.query(**query)["Count"] == 1
    assert "Item" in c.get_item(TableName=name, Key={"pk": {"S": "p"}, "sk": {"N": "2"}})


@pytest.mark.lifecycle
def test_deleted_table_under_sweep_and_other_tables(ttl_server):
    _, client = ttl_server
    now = int(time.time())
    a = create_indexed(client)
    b = create_indexed(client)
    batch_put(client, a, [item("x", i, {"N": str(now - 5)}) for i in range(500)])
    batch_put(client, b, [item("x", i, {"N": str(now - 5)}) for i in range(100)])
    client.update_time_to_live(TableName=a, TimeToLiveSpecification=spec("exp", True))
    client.update_time_to_live(TableName=b, TimeToLiveSpecification=spec("exp", True))
    client.delete_table(TableName=a)
    wait_for(lambda: not scan_keys(client, b), 15, "table b to be swept")
    assert scan_keys(client, b, "gix") == set()
    # The server is still fine and the name can be used again.
    assert a not in client.list_tables()["TableNames"]


@pytest.mark.lifecycle
def test_setting_survives_restart(server_factory):
    s = server_factory(nosync=False, args=["--ttl-interval-ms", "200"])
    client = make_client(s.start())
    name = unique_name()
    client.create_table(TableName=name, BillingMode="PAY_PER_REQUEST",
                        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}])
    wait_active(client, name)
    client.update_time_to_live(TableName=name, TimeToLiveSpecification=spec("until", True))
    assert s.stop() == 0
    client = make_client(s.start())
    assert describe(client, name) == {"TimeToLiveStatus": "ENABLED", "AttributeName": "until"}
    client.put_item(TableName=name, Item={"pk": {"S": "old"},
                                          "until": {"N": str(int(time.time()) - 1)}})
    client.put_item(TableName=name, Item={"pk": {"S": "new"},
                                          "until": {"N": str(int(time.time()) + 3600)}})
    wait_for(lambda: "Item" not in client.get_item(
        TableName=name, Key={"pk": {"S": "old"}}, ConsistentRead=True), 10, "old to expire")
    assert "Item" in client.get_item(TableName=name, Key={"pk": {"S": "new"}},
                                     ConsistentRead=True)


# ---------------------------------------------------------------------------
# The AWS CLI


def run_cli(endpoint, *args):
    return aws_cli(endpoint)(*args, check=False)


def test_cli_update_and_describe(endpoint, make_table):
    name = make_table()
    p = run_cli(endpoint, "describe-time-to-live", "--table-name", name)
    assert p.returncode == 0, p.stderr
    assert json.loads(p.stdout) == {"TimeToLiveDescription": {"TimeToLiveStatus": "DISABLED"}}

    p = run_cli(endpoint, "update-time-to-live", "--table-name", name,
                "--time-to-live-specification", "Enabled=true,AttributeName=ttl")
    assert p.returncode == 0, p.stderr
    assert json.loads(p.stdout) == {
        "TimeToLiveSpecification": {"Enabled": True, "AttributeName": "ttl"}}

    p = run_cli(endpoint, "describe-time-to-live", "--table-name", name)
    assert p.returncode == 0, p.stderr
    assert json.loads(p.stdout) == {
        "TimeToLiveDescription": {"TimeToLiveStatus": "ENABLED", "AttributeName": "ttl"}}

    p = run_cli(endpoint, "update-time-to-live", "--table-name", name,
                "--time-to-live-specification", "Enabled=true,AttributeName=ttl")
    assert p.returncode != 0
    assert "ValidationException" in p.stderr
    assert "TimeToLive is already enabled" in p.stderr

    p = run_cli(endpoint, "update-time-to-live", "--table-name", name,
                "--time-to-live-specification",
                json.dumps({"Enabled": False, "AttributeName": "ttl"}))
    assert p.returncode == 0, p.stderr
    assert json.loads(p.stdout)["TimeToLiveSpecification"]["Enabled"] is False
    p = run_cli(endpoint, "describe-time-to-live", "--table-name", name)
    assert json.loads(p.stdout) == {"TimeToLiveDescription": {"TimeToLiveStatus": "DISABLED"}}

    p = run_cli(endpoint, "describe-time-to-live", "--table-name", name + "-missing")
    assert p.returncode != 0
    assert "ResourceNotFoundException" in p.stderr
