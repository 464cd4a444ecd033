"""Capacity: ConsumedCapacity figures by DynamoDB's rules, provisioned throttling (tables and
GSIs) that starts when a bucket empties and stops as it refills, UpdateTable lifting it and
switching billing modes, on-demand tables (never throttled; ddax's optional ceiling), and the
capacity metrics on GET /metrics.

Expected figures are computed by hand from the developer guide's rules: reads cost one unit
per started 4 KB of the item (half when eventually consistent), an absent item as the
smallest; Query and Scan sum the sizes of every item read, before the filter, and round up
once per page; writes cost one unit per started 1 KB of the larger of the old and new item;
a secondary index adds its entry's writes (a put, a delete, or both when its key changes).
Item size = attribute name lengths + value lengths.

Throttling tests read with ConsistentRead (or vary their queries) so that the caching layer
of `ddax serve` passes every read to the engine, through a client that makes one attempt:
botocore's retries={"max_attempts": 1} still retries once (it counts retries), so the client
sets total_max_attempts.
"""

import json
import time
import urllib.request

import pytest

from conftest import client_error, make_client, raw_request, unique_name, wait_active

S = lambda v: {"S": v}  # noqa: E731
N = lambda v: {"N": str(v)}  # noqa: E731

MSG_TABLE = ("The level of configured provisioned throughput for the table was exceeded. "
             "Consider increasing your provisioning level with the UpdateTable API")
MSG_GSI = ("The level of configured provisioned throughput for one or more global secondary "
           "indexes of the table was exceeded. Consider increasing your provisioning level for "
           "the under-provisioned global secondary indexes with the UpdateTable API")
MSG_ONDEMAND = "Throughput exceeds the maximum OnDemandThroughput configured on table or index"


def pad(total, pk="a", name="v"):
    """An item {pk: S(pk), name: S('x' * n)} of exactly `total` bytes."""
    n = total - len("pk") - len(pk) - len(name)
    assert n >= 0
    return {"pk": S(pk), name: S("x" * n)}


def provisioned(ddb, make_table, rcu, wcu, **extra):
    name = unique_name("cap")
    args = dict(TableName=name, KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
                ProvisionedThroughput={"ReadCapacityUnits": rcu, "WriteCapacityUnits": wcu})
    for k, v in extra.items():
        if k == "AttributeDefinitions":
            args[k] = args[k] + v
        else:
            args[k] = v
    make_table.client.create_table(**args)
    make_table.names.append(name)
    wait_active(ddb, name)
    return name


def code_of(fn, *a, **kw):
    """None when the call succeeds, else (code, message, response)."""
    try:
        fn(*a, **kw)
        return None
    except Exception as e:  # noqa: BLE001 (ClientError)
        resp = getattr(e, "response", None)
        if resp is None:
            raise
        return resp["Error"]["Code"], resp["Error"]["Message"], resp


def drive_until_throttled(fn, limit=200):
    """Calls fn until it is throttled; returns (successes before, the error)."""
    ok = 0
    for _ in range(limit):
        err = code_of(fn)
        if err is None:
            ok += 1
            continue
        return ok, err
    raise AssertionError("not throttled after %d calls" % limit)


# ---------------------------------------------------------------------------
# ConsumedCapacity


@pytest.fixture(scope="module")
def cap_table(module_tables):
    return module_tables()


@pytest.mark.parametrize("size,consistent,units", [
    (10, True, 1.0), (10, False, 0.5),
    (4096, True, 1.0), (4096, False, 0.5),
    (4097, True, 2.0), (4097, False, 1.0),
    (12289, True, 4.0), (12289, False, 2.0),
])
def test_getitem_capacity(ddb, cap_table, size, consistent, units):
    key = "g%d" % size
    ddb.put_item(TableName=cap_table, Item=pad(size, pk=key))
    r = ddb.get_item(TableName=cap_table, Key={"pk": S(key)}, ConsistentRead=consistent,
                     ReturnConsumedCapacity="TOTAL")
    assert r["ConsumedCapacity"] == {"TableName": cap_table, "CapacityUnits": units}
    # A projection does not reduce it: the whole item is read.
    r = ddb.get_item(TableName=cap_table, Key={"pk": S(key)}, ConsistentRead=consistent,
                     ProjectionExpression="pk", ReturnConsumedCapacity="INDEXES")
    assert r["ConsumedCapacity"] == {"TableName": cap_table, "CapacityUnits": units,
                                     "Table": {"CapacityUnits": units}}


def test_getitem_absent_and_none(ddb, cap_table):
    r = ddb.get_item(TableName=cap_table, Key={"pk": S("absent")}, ConsistentRead=True,
                     ReturnConsumedCapacity="TOTAL")
    assert r["ConsumedCapacity"] == {"TableName": cap_table, "CapacityUnits": 1.0}
    r = ddb.get_item(TableName=cap_table, Key={"pk": S("absent")},
                     ReturnConsumedCapacity="NONE")
    assert "ConsumedCapacity" not in r


@pytest.mark.parametrize("size,units", [(10, 1.0), (1024, 1.0), (1025, 2.0), (10 * 1024 + 1, 11.0)])
def test_putitem_capacity(ddb, cap_table, size, units):
    key = "p%d" % size
    r = ddb.put_item(TableName=cap_table, Item=pad(size, pk=key), ReturnConsumedCapacity="TOTAL")
    assert r["ConsumedCapacity"] == {"TableName": cap_table, "CapacityUnits": units}


def test_write_capacity_larger_of_old_and_new(ddb, cap_table):
    ddb.put_item(TableName=cap_table, Item=pad(3000, pk="big"))
    # Overwriting a 3000-byte item with a tiny one costs the old item's 3 units.
    r = ddb.put_item(TableName=cap_table, Item={"pk": S("big")}, ReturnConsumedCapacity="TOTAL")
    assert r["ConsumedCapacity"]["CapacityUnits"] == 3.0
    # UpdateItem growing it to 2100 bytes: 3 units (the new size).
    r = ddb.update_item(TableName=cap_table, Key={"pk": S("big")},
                        UpdateExpression="SET v = :v",
                        ExpressionAttributeValues={":v": S("x" * (2100 - 6))},
                        ReturnConsumedCapacity="TOTAL")
    assert r["ConsumedCapacity"]["CapacityUnits"] == 3.0
    # DeleteItem: the deleted item's size; deleting nothing: 1.
    r = ddb.delete_item(TableName=cap_table, Key={"pk": S("big")}, ReturnConsumedCapacity="TOTAL")
    assert r["ConsumedCapacity"]["CapacityUnits"] == 3.0
    r = ddb.delete_item(TableName=cap_table, Key={"pk": S("big")}, ReturnConsumedCapacity="TOTAL")
    assert r["ConsumedCapacity"]["CapacityUnits"] == 1.0


@pytest.fixture(scope="module")
def idx_table(module_tables):
    """pk/sk with an LSI on l and a GSI on g, both projecting ALL."""
    return module_tables(
        hash_key=("pk", "S"), range_key=("sk", "S"),
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"},
                              {"AttributeName": "sk", "AttributeType": "S"},
                              {"AttributeName": "l", "AttributeType": "S"},
                              {"AttributeName": "g", "AttributeType": "S"}],
        LocalSecondaryIndexes=[{
            "IndexName": "lsi", "Projection": {"ProjectionType": "ALL"},
            "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"},
                          {"AttributeName": "l", "KeyType": "RANGE"}]}],
        GlobalSecondaryIndexes=[{
            "IndexName": "gsi", "Projection": {"ProjectionType": "ALL"},
            "KeySchema": [{"AttributeName": "g", "KeyType": "HASH"}]}])


def test_writes_with_indexes_at_indexes_level(ddb, idx_table):
    key = {"pk": S("w1"), "sk": S("s")}
    r = ddb.put_item(TableName=idx_table, Item=dict(key, l=S("l1"), g=S("g1")),
                     ReturnConsumedCapacity="INDEXES")
    assert r["ConsumedCapacity"] == {
        "TableName": idx_table, "CapacityUnits": 3.0, "Table": {"CapacityUnits": 1.0},
        "LocalSecondaryIndexes": {"lsi": {"CapacityUnits": 1.0}},
        "GlobalSecondaryIndexes": {"gsi": {"CapacityUnits": 1.0}}}
    # TOTAL: the sum only.
    r = ddb.put_item(TableName=idx_table, Item=dict(key, l=S("l1"), g=S("g1")),
                     ReturnConsumedCapacity="TOTAL")
    assert r["ConsumedCapacity"] == {"TableName": idx_table, "CapacityUnits": 1.0}
    # Changing the GSI key moves its entry (delete + put); the LSI entry is rewritten.
    r = ddb.update_item(TableName=idx_table, Key=key, UpdateExpression="SET g = :g",
                        ExpressionAttributeValues={":g": S("g2")},
                        ReturnConsumedCapacity="INDEXES")
    assert r["ConsumedCapacity"] == {
        "TableName": idx_table, "CapacityUnits": 4.0, "Table": {"CapacityUnits": 1.0},
        "LocalSecondaryIndexes": {"lsi": {"CapacityUnits": 1.0}},
        "GlobalSecondaryIndexes": {"gsi": {"CapacityUnits": 2.0}}}
    # Removing the LSI key drops the LSI entry (1) and rewrites the GSI one (1).
    r = ddb.update_item(TableName=idx_table, Key=key, UpdateExpression="REMOVE l",
                        ReturnConsumedCapacity="INDEXES")
    assert r["ConsumedCapacity"] == {
        "TableName": idx_table, "CapacityUnits": 3.0, "Table": {"CapacityUnits": 1.0},
        "LocalSecondaryIndexes": {"lsi": {"CapacityUnits": 1.0}},
        "GlobalSecondaryIndexes": {"gsi": {"CapacityUnits": 1.0}}}
    r = ddb.delete_item(TableName=idx_table, Key=key, ReturnConsumedCapacity="INDEXES")
    assert r["ConsumedCapacity"] == {
        "TableName": idx_table, "CapacityUnits": 2.0, "Table": {"CapacityUnits": 1.0},
        "GlobalSecondaryIndexes": {"gsi": {"CapacityUnits": 1.0}}}


def test_query_and_scan_charge_items_read_before_the_filter(ddb, make_table):
    tbl = make_table(hash_key=("pk", "S"), range_key=("sk", "S"))
    # Three items of 1500 bytes each: 4500 bytes read = 2 units (1 eventually consistent).
    for i in range(3):
        n = 1500 - len("pk") - 1 - len("sk") - 1 - 1
        ddb.put_item(TableName=tbl, Item={"pk": S("p"), "sk": S(str(i)), "v": S("x" * n)})
    q = dict(TableName=tbl, KeyConditionExpression="pk = :p",
             ExpressionAttributeValues={":p": S("p")})
    r = ddb.query(ConsistentRead=True, ReturnConsumedCapacity="TOTAL", **q)
    assert (r["Count"], r["ConsumedCapacity"]) == (3, {"TableName": tbl, "CapacityUnits": 2.0})
    r = ddb.query(ReturnConsumedCapacity="TOTAL", **q)
    assert r["ConsumedCapacity"] == {"TableName": tbl, "CapacityUnits": 1.0}
    # A filter that keeps nothing still pays for what was read.
    qf = dict(q, FilterExpression="v = :none")
    qf["ExpressionAttributeValues"] = {":p": S("p"), ":none": S("none")}
    r = ddb.query(ConsistentRead=True, ReturnConsumedCapacity="INDEXES", **qf)
    assert (r["Count"], r["ScannedCount"]) == (0, 3)
    assert r["ConsumedCapacity"] == {"TableName": tbl, "CapacityUnits": 2.0,
                                     "Table": {"CapacityUnits": 2.0}}
    # Limit 1: one item read, 1500 bytes: 1 unit.
    r = ddb.query(ConsistentRead=True, Limit=1, ReturnConsumedCapacity="TOTAL", **q)
    assert r["ConsumedCapacity"]["CapacityUnits"] == 1.0
    # An empty result costs the minimum.
    r = ddb.query(TableName=tbl, KeyConditionExpression="pk = :p",
                  ExpressionAttributeValues={":p": S("nothing")}, ReturnConsumedCapacity="TOTAL")
    assert r["ConsumedCapacity"]["CapacityUnits"] == 0.5
    r = ddb.scan(TableName=tbl, ConsistentRead=True, FilterExpression="v = :none",
                 ExpressionAttributeValues={":none": S("none")}, ReturnConsumedCapacity="TOTAL")
    assert (r["Count"], r["ScannedCount"]) == (0, 3)
    assert r["ConsumedCapacity"] == {"TableName": tbl, "CapacityUnits": 2.0}
    r = ddb.scan(TableName=tbl, ReturnConsumedCapacity="TOTAL")
    assert r["ConsumedCapacity"]["CapacityUnits"] == 1.0


def test_query_on_gsi_charges_the_index(ddb, idx_table):
    for i in range(2):
        ddb.put_item(TableName=idx_table,
                     Item={"pk": S("q%d" % i), "sk": S("s"), "g": S("qg"), "l": S("x")})
    r = ddb.query(TableName=idx_table, IndexName="gsi", KeyConditionExpression="g = :g",
                  ExpressionAttributeValues={":g": S("qg")}, ReturnConsumedCapacity="INDEXES")
    assert r["Count"] == 2
    assert r["ConsumedCapacity"] == {
        "TableName": idx_table, "CapacityUnits": 0.5, "Table": {"CapacityUnits": 0.0},
        "GlobalSecondaryIndexes": {"gsi": {"CapacityUnits": 0.5}}}
    r = ddb.query(TableName=idx_table, IndexName="lsi", ConsistentRead=True,
                  KeyConditionExpression="pk = :p", ExpressionAttributeValues={":p": S("q0")},
                  ReturnConsumedCapacity="INDEXES")
    assert r["ConsumedCapacity"] == {
        "TableName": idx_table, "CapacityUnits": 1.0, "Table": {"CapacityUnits": 0.0},
        "LocalSecondaryIndexes": {"lsi": {"CapacityUnits": 1.0}}}


def test_lsi_query_fetching_from_the_table(ddb, make_table):
    """An LSI that does not project what the query asks for reads each item from the table:
    the index entries read (rounded once) plus each fetched item's own 4 KB units."""
    tbl = make_table(
        hash_key=("pk", "S"), range_key=("sk", "S"),
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"},
                              {"AttributeName": "sk", "AttributeType": "S"},
                              {"AttributeName": "l", "AttributeType": "S"}],
        LocalSecondaryIndexes=[{
            "IndexName": "lkeys", "Projection": {"ProjectionType": "KEYS_ONLY"},
            "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"},
                          {"AttributeName": "l", "KeyType": "RANGE"}]}])
    for i in range(2):
        ddb.put_item(TableName=tbl, Item={"pk": S("p"), "sk": S(str(i)), "l": S(str(i)),
                                          "v": S("x" * 5000)})
    q = dict(TableName=tbl, IndexName="lkeys", ConsistentRead=True,
             KeyConditionExpression="pk = :p", ExpressionAttributeValues={":p": S("p")})
    # Keys only: two small entries, 1 unit.
    r = ddb.query(ReturnConsumedCapacity="INDEXES", **q)
    assert r["ConsumedCapacity"] == {
        "TableName": tbl, "CapacityUnits": 1.0, "Table": {"CapacityUnits": 0.0},
        "LocalSecondaryIndexes": {"lkeys": {"CapacityUnits": 1.0}}}
    # All attributes: + 2 units for each 5 KB item fetched.
    r = ddb.query(Select="ALL_ATTRIBUTES", ReturnConsumedCapacity="INDEXES", **q)
    assert r["Count"] == 2 and len(r["Items"][0]["v"]["S"]) == 5000
    assert r["ConsumedCapacity"] == {
        "TableName": tbl, "CapacityUnits": 5.0, "Table": {"CapacityUnits": 4.0},
        "LocalSecondaryIndexes": {"lkeys": {"CapacityUnits": 1.0}}}


def test_batch_capacity_per_table(ddb, make_table):
    t1, t2 = make_table(), make_table()
    ddb.put_item(TableName=t1, Item=pad(10, pk="a"))
    ddb.put_item(TableName=t1, Item=pad(5000, pk="b"))
    r = ddb.batch_get_item(RequestItems={
        t1: {"Keys": [{"pk": S("a")}, {"pk": S("b")}], "ConsistentRead": True},
        t2: {"Keys": [{"pk": S("zz")}]}}, ReturnConsumedCapacity="TOTAL")
    # t1: 1 + 2 (each item rounded on its own); t2: an absent item, eventually consistent.
    assert {c["TableName"]: c["CapacityUnits"] for c in r["ConsumedCapacity"]} == {t1: 3.0,
                                                                                   t2: 0.5}
    r = ddb.batch_write_item(RequestItems={
        t1: [{"PutRequest": {"Item": pad(1025, pk="c")}}, {"DeleteRequest": {"Key": {"pk": S("x")}}}],
        t2: [{"PutRequest": {"Item": pad(10, pk="d")}}]}, ReturnConsumedCapacity="INDEXES")
    caps = {c["TableName"]: c for c in r["ConsumedCapacity"]}
    assert caps[t1] == {"TableName": t1, "CapacityUnits": 3.0, "Table": {"CapacityUnits": 3.0}}
    assert caps[t2] == {"TableName": t2, "CapacityUnits": 1.0, "Table": {"CapacityUnits": 1.0}}


# ---------------------------------------------------------------------------
# Provisioned throttling


@pytest.fixture(scope="module")
def nr(endpoint):
    """A client that never retries (throttling errors reach the test)."""
    return make_client(endpoint, retries={"total_max_attempts": 1, "mode": "standard"})


def consistent_get(ddb, tbl):
    return lambda: ddb.get_item(TableName=tbl, Key={"pk": S("k")}, ConsistentRead=True)


def test_invalid_request_to_a_throttled_table_gets_its_validation_error(ddb, nr, make_table):
    """DynamoDB validates a request before it spends capacity on it."""
    tbl = provisioned(ddb, make_table, rcu=1, wcu=1)
    # One 40 KB item read strongly (10 units) leaves the 1-unit bucket ~9 s in debt.
    nr.put_item(TableName=tbl, Item={"pk": S("k"), "v": S("x" * 40000)})
    drive_until_throttled(consistent_get(nr, tbl))
    code, msg, _ = code_of(nr.get_item, TableName=tbl, Key={"pk": S("k")},
                           ProjectionExpression="a, a")
    assert code == "ValidationException"
    code, msg, _ = code_of(nr.query, TableName=tbl, KeyConditionExpression="pk = :p")
    assert code == "ValidationException"
    code, _, _ = code_of(consistent_get(nr, tbl))
    assert code == "ProvisionedThroughputExceededException"


def test_read_throttling_starts_and_stops(ddb, nr, make_table, endpoint):
    tbl = provisioned(ddb, make_table, rcu=2, wcu=5)
    ok, (code, msg, _) = drive_until_throttled(consistent_get(nr, tbl))
    assert code == "ProvisionedThroughputExceededException"
    assert msg == MSG_TABLE
    # A new table's bucket holds one second of capacity (2 units): about two reads went in
    # (and one more while the bucket is above zero; a slow machine refills some more).
    assert 2 <= ok <= 6
    # The body names the reason and the resource.
    r = raw_request(endpoint, "DynamoDB_20120810.GetItem",
                    {"TableName": tbl, "Key": {"pk": S("k")}, "ConsistentRead": True})
    if r.status == 400:
        body = r.json()
        assert body["__type"].endswith("#ProvisionedThroughputExceededException")
        assert body["ThrottlingReasons"] == [{
            "reason": "TableReadProvisionedThroughputExceeded",
            "resource": "arn:aws:dynamodb:us-east-1:000000000000:table/" + tbl}]
    # The bucket refills at 2 units a second.
    time.sleep(1.2)
    assert code_of(consistent_get(nr, tbl)) is None
    # Writes have their own capacity.
    ddb.put_item(TableName=tbl, Item={"pk": S("w")})


def test_write_throttling_starts_and_stops(ddb, nr, make_table):
    tbl = provisioned(ddb, make_table, rcu=5, wcu=1)
    put = lambda: nr.put_item(TableName=tbl, Item={"pk": S("k")})  # noqa: E731
    ok, (code, msg, _) = drive_until_throttled(put)
    assert (code, msg) == ("ProvisionedThroughputExceededException", MSG_TABLE)
    time.sleep(1.2)
    assert code_of(put) is None


def test_update_table_raising_throughput_lifts_throttling(ddb, nr, make_table):
    tbl = provisioned(ddb, make_table, rcu=1, wcu=1)
    drive_until_throttled(consistent_get(nr, tbl))
    ddb.update_table(TableName=tbl, ProvisionedThroughput={"ReadCapacityUnits": 1000,
                                                           "WriteCapacityUnits": 1})
    wait_active(ddb, tbl)
    time.sleep(0.1)
    for _ in range(20):
        assert code_of(consistent_get(nr, tbl)) is None


def gsi_table(ddb, make_table, grcu, gwcu):
    return provisioned(
        ddb, make_table, rcu=100, wcu=100,
        AttributeDefinitions=[{"AttributeName": "g", "AttributeType": "S"}],
        GlobalSecondaryIndexes=[{
            "IndexName": "gsi", "Projection": {"ProjectionType": "ALL"},
            "KeySchema": [{"AttributeName": "g", "KeyType": "HASH"}],
            "ProvisionedThroughput": {"ReadCapacityUnits": grcu, "WriteCapacityUnits": gwcu}}])


def test_gsi_write_throttling_throttles_table_writes(ddb, nr, make_table):
    tbl = gsi_table(ddb, make_table, 100, 1)
    n = iter(range(1000))
    put = lambda: nr.put_item(TableName=tbl, Item={"pk": S("k%d" % next(n)), "g": S("x")})  # noqa: E731
    ok, (code, msg, _) = drive_until_throttled(put)
    assert (code, msg) == ("ProvisionedThroughputExceededException", MSG_GSI)
    # Reads of the table go on.
    assert code_of(consistent_get(nr, tbl)) is None
    time.sleep(1.2)
    assert code_of(put) is None


def test_gsi_read_throttling(ddb, nr, make_table):
    tbl = gsi_table(ddb, make_table, 1, 100)
    n = iter(range(1000))
    # A different value each time: the query cache of `ddax serve` must not answer.
    q = lambda: nr.query(TableName=tbl, IndexName="gsi", KeyConditionExpression="g = :g",  # noqa: E731
                         ExpressionAttributeValues={":g": S("x%d" % next(n))})
    ok, (code, _, resp) = drive_until_throttled(q)
    assert code == "ProvisionedThroughputExceededException"
    assert ok >= 1
    # The table's own reads are not limited by the index.
    assert code_of(consistent_get(nr, tbl)) is None
    time.sleep(1.2)
    assert code_of(q) is None


def test_batch_get_throttled_only_when_all_tables_are(ddb, nr, make_table):
    t1 = provisioned(ddb, make_table, rcu=1, wcu=1)
    t2 = provisioned(ddb, make_table, rcu=1000, wcu=1)
    drive_until_throttled(consistent_get(nr, t1))
    # t2 still has capacity: the batch runs, and t1's keys come back unprocessed.
    r = nr.batch_get_item(RequestItems={t1: {"Keys": [{"pk": S("a")}], "ConsistentRead": True},
                                         t2: {"Keys": [{"pk": S("a")}], "ConsistentRead": True}})
    assert r["UnprocessedKeys"] == {t1: {"Keys": [{"pk": S("a")}], "ConsistentRead": True}}
    drive_until_throttled(consistent_get(nr, t1))
    code, msg, _ = client_error(nr.batch_get_item, RequestItems={
        t1: {"Keys": [{"pk": S("a")}], "ConsistentRead": True}})
    assert (code, msg) == ("ProvisionedThroughputExceededException", MSG_TABLE)


def test_batch_write_leaves_throttled_tables_unprocessed(ddb, nr, make_table):
    t1 = provisioned(ddb, make_table, rcu=1, wcu=1)
    t2 = provisioned(ddb, make_table, rcu=1, wcu=1000)
    drive_until_throttled(lambda: nr.put_item(TableName=t1, Item={"pk": S("x")}))
    req = {t1: [{"PutRequest": {"Item": {"pk": S("a")}}}],
           t2: [{"PutRequest": {"Item": {"pk": S("a")}}}]}
    r = nr.batch_write_item(RequestItems=req)
    assert r["UnprocessedItems"] == {t1: req[t1]}
    assert "Item" in ddb.get_item(TableName=t2, Key={"pk": S("a")}, ConsistentRead=True)
    # Retried once the bucket has refilled, it goes through.
    time.sleep(1.2)
    assert nr.batch_write_item(RequestItems=r["UnprocessedItems"])["UnprocessedItems"] == {}
    assert "Item" in ddb.get_item(TableName=t1, Key={"pk": S("a")}, ConsistentRead=True)


def test_billing_mode_switching(ddb, nr, make_table):
    tbl = provisioned(ddb, make_table, rcu=1, wcu=1)
    drive_until_throttled(consistent_get(nr, tbl))
    ddb.update_table(TableName=tbl, BillingMode="PAY_PER_REQUEST")
    t = wait_active(ddb, tbl)
    assert t["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"
    assert t["ProvisionedThroughput"]["ReadCapacityUnits"] == 0
    assert t["ProvisionedThroughput"]["WriteCapacityUnits"] == 0
    # On-demand: never throttled.
    for _ in range(50):
        assert code_of(consistent_get(nr, tbl)) is None
    # Back to PROVISIONED needs the throughput.
    code, msg, _ = client_error(ddb.update_table, TableName=tbl, BillingMode="PROVISIONED")
    assert code == "ValidationException"
    ddb.update_table(TableName=tbl, BillingMode="PROVISIONED",
                     ProvisionedThroughput={"ReadCapacityUnits": 3, "WriteCapacityUnits": 4})
    t = wait_active(ddb, tbl)
    assert t["BillingModeSummary"]["BillingMode"] == "PROVISIONED"
    assert (t["ProvisionedThroughput"]["ReadCapacityUnits"],
            t["ProvisionedThroughput"]["WriteCapacityUnits"]) == (3, 4)
    drive_until_throttled(consistent_get(nr, tbl))


def test_switches_to_on_demand_limited_to_four_a_day(ddb, make_table):
    """Provisioned -> on-demand at most four times in a rolling 24 hours (the developer
    guide's "Considerations when switching capacity modes"); back to provisioned any time."""
    tbl = provisioned(ddb, make_table, rcu=1, wcu=1)
    for i in range(4):
        ddb.update_table(TableName=tbl, BillingMode="PAY_PER_REQUEST")
        wait_active(ddb, tbl)
        ddb.update_table(TableName=tbl, BillingMode="PROVISIONED",
                         ProvisionedThroughput={"ReadCapacityUnits": 1 + i,
                                                "WriteCapacityUnits": 1})
        wait_active(ddb, tbl)
    code, msg, _ = client_error(ddb.update_table, TableName=tbl, BillingMode="PAY_PER_REQUEST")
    assert code == "LimitExceededException"
    assert "PayPerRequest" in msg
    t = ddb.describe_table(TableName=tbl)["Table"]
    assert t["BillingModeSummary"]["BillingMode"] == "PROVISIONED"


def test_ondemand_never_throttled(ddb, nr, make_table):
    tbl = make_table()
    for _ in range(300):
        nr.get_item(TableName=tbl, Key={"pk": S("k")}, ConsistentRead=True)


# ---------------------------------------------------------------------------
# Own servers: the on-demand ceiling, the metrics


def fetch_metrics(url):
    with urllib.request.urlopen(url + "/metrics", timeout=10) as r:
        return r.read().decode("utf-8")


def metric(text, name, **labels):
    want = ",".join('%s="%s"' % kv for kv in labels.items())
    prefix = "%s{%s} " % (name, want)
    for line in text.splitlines():
        if line.startswith(prefix):
            return float(line[len(prefix):])
    return None


def test_ondemand_ceiling(server_factory):
    s = server_factory(args=["--on-demand-max-rcu", "2"])
    url = s.start()
    ddb = make_client(url, retries={"total_max_attempts": 1, "mode": "standard"})
    tbl = unique_name("capod")
    ddb.create_table(TableName=tbl, KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                     AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
                     BillingMode="PAY_PER_REQUEST")
    wait_active(ddb, tbl)
    ok, (code, msg, _) = drive_until_throttled(consistent_get(ddb, tbl))
    assert (code, msg) == ("ThrottlingException", MSG_ONDEMAND)
    assert 1 <= ok <= 4
    r = raw_request(url, "DynamoDB_20120810.GetItem",
                    {"TableName": tbl, "Key": {"pk": S("k")}, "ConsistentRead": True})
    if r.status == 400:
        assert r.json()["ThrottlingReasons"][0]["reason"] == "TableReadMaxOnDemandThroughputExceeded"
    # Writes have no ceiling here.
    for i in range(20):
        ddb.put_item(TableName=tbl, Item={"pk": S("w%d" % i)})
    time.sleep(1.1)
    assert code_of(consistent_get(ddb, tbl)) is None
    m = fetch_metrics(url)
    assert metric(m, "ddax_ReadThrottleEvents", table=tbl) >= 1
    assert metric(m, "ddax_ThrottledRequests", table=tbl, operation="GetItem") >= 1


def test_metrics(server_factory):
    s = server_factory(args=["--price-per-million-reads", "0.25",
                             "--price-per-million-writes", "1.25"])
    url = s.start()
    ddb = make_client(url)
    tbl = unique_name("capm")
    ddb.create_table(
        TableName=tbl, KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"},
                              {"AttributeName": "g", "AttributeType": "S"}],
        ProvisionedThroughput={"ReadCapacityUnits": 7, "WriteCapacityUnits": 9},
        GlobalSecondaryIndexes=[{
            "IndexName": "gsi", "Projection": {"ProjectionType": "ALL"},
            "KeySchema": [{"AttributeName": "g", "KeyType": "HASH"}],
            "ProvisionedThroughput": {"ReadCapacityUnits": 3, "WriteCapacityUnits": 4}}])
    wait_active(ddb, tbl)
    ddb.put_item(TableName=tbl, Item={"pk": S("a"), "g": S("x")})           # 1 + GSI 1
    ddb.put_item(TableName=tbl, Item=pad(1500, pk="b"))                     # 2
    ddb.get_item(TableName=tbl, Key={"pk": S("b")}, ConsistentRead=True)    # 1
    ddb.get_item(TableName=tbl, Key={"pk": S("zz")}, ConsistentRead=True)   # 1
    ddb.query(TableName=tbl, IndexName="gsi", KeyConditionExpression="g = :g",
              ExpressionAttributeValues={":g": S("x")})                     # GSI 0.5
    m = fetch_metrics(url)
    assert "# TYPE ddax_ConsumedReadCapacityUnits counter" in m
    assert metric(m, "ddax_ConsumedReadCapacityUnits", table=tbl) == 2.0
    assert metric(m, "ddax_ConsumedReadCapacityUnits", table=tbl, index="gsi") == 0.5
    assert metric(m, "ddax_ConsumedWriteCapacityUnits", table=tbl) == 3.0
    assert metric(m, "ddax_ConsumedWriteCapacityUnits", table=tbl, index="gsi") == 1.0
    assert metric(m, "ddax_ProvisionedReadCapacityUnits", table=tbl) == 7
    assert metric(m, "ddax_ProvisionedWriteCapacityUnits", table=tbl) == 9
    assert metric(m, "ddax_ProvisionedReadCapacityUnits", table=tbl, index="gsi") == 3
    assert metric(m, "ddax_ProvisionedWriteCapacityUnits", table=tbl, index="gsi") == 4
    assert metric(m, "ddax_ReadThrottleEvents", table=tbl) == 0
    # (2.5 read units x 0.25 + 4 write units x 1.25) per million.
    cost = metric(m, "ddax_estimated_on_demand_cost_usd", table=tbl)
    assert cost == pytest.approx((2.5 * 0.25 + 4 * 1.25) / 1e6)


def test_burst_capacity_option(server_factory):
    """--capacity-burst-seconds bounds what an idle bucket keeps (DynamoDB: 300 s)."""
    s = server_factory(args=["--capacity-burst-seconds", "1"])
    url = s.start()
    ddb = make_client(url, retries={"total_max_attempts": 1, "mode": "standard"})
    tbl = unique_name("capb")
    ddb.create_table(TableName=tbl, KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                     AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
                     ProvisionedThroughput={"ReadCapacityUnits": 4, "WriteCapacityUnits": 1})
    wait_active(ddb, tbl)
    assert code_of(consistent_get(ddb, tbl)) is None  # the bucket starts: 1 s = 4 units
    time.sleep(2.5)  # would hold 13 units with 300 s of burst; holds 4
    ok, (code, _, _) = drive_until_throttled(consistent_get(ddb, tbl))
    assert code == "ProvisionedThroughputExceededException"
    assert 4 <= ok <= 6
