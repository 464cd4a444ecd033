"""Read-your-writes (also through ddax's item cache), atomic counters and
conditional-create races: guarantees applications build on.

DynamoDB's eventually consistent reads may lag a write for a moment, so those
reads are retried for a short while; a cache that keeps serving an old image
(DAX keeps items for minutes) still fails.
"""

import threading
import time
import uuid

import pytest
from botocore.exceptions import ClientError

from conftest import make_client

EVENTUAL_WINDOW = 2.0


@pytest.fixture(scope="module")
def tbl(module_tables):
    return module_tables(hash_key=("pk", "S"))


def S(v):
    return {"S": v}


def N(v):
    return {"N": v}


def eventually(ddb, tbl, key, expected):
    """Eventually consistent reads converge to `expected` (None = no item)."""
    deadline = time.time() + EVENTUAL_WINDOW
    while True:
        got = ddb.get_item(TableName=tbl, Key={"pk": S(key)}).get("Item")
        if got == expected:
            return
        if time.time() > deadline:
            assert got == expected, "stale read"
        time.sleep(0.05)


def strongly(ddb, tbl, key):
    return ddb.get_item(TableName=tbl, Key={"pk": S(key)}, ConsistentRead=True).get("Item")


def test_read_your_writes_through_every_write_path(ddb, tbl):
    key = uuid.uuid4().hex
    item = lambda v: {"pk": S(key), "v": N(str(v))}  # noqa: E731
    # A miss first (a cache may remember the absence).
    eventually(ddb, tbl, key, None)
    ddb.put_item(TableName=tbl, Item=item(1))
    eventually(ddb, tbl, key, item(1))
    assert strongly(ddb, tbl, key) == item(1)
    # UpdateItem without ReturnValues: the writer never sees the new image.
    ddb.update_item(TableName=tbl, Key={"pk": S(key)}, UpdateExpression="SET v = v + :one",
                    ExpressionAttributeValues={":one": N("1")})
    eventually(ddb, tbl, key, item(2))
    ddb.update_item(TableName=tbl, Key={"pk": S(key)}, UpdateExpression="SET v = :v",
                    ExpressionAttributeValues={":v": N("3")}, ReturnValues="ALL_NEW")
    eventually(ddb, tbl, key, item(3))
    # Legacy AttributeUpdates path.
    ddb.update_item(TableName=tbl, Key={"pk": S(key)},
                    AttributeUpdates={"v": {"Action": "ADD", "Value": N("1")}})
    eventually(ddb, tbl, key, item(4))
    ddb.delete_item(TableName=tbl, Key={"pk": S(key)})
    eventually(ddb, tbl, key, None)
    assert strongly(ddb, tbl, key) is None
    ddb.put_item(TableName=tbl, Item=item(5))
    eventually(ddb, tbl, key, item(5))


def test_failed_writes_change_nothing(ddb, tbl):
    key = uuid.uuid4().hex
    item = {"pk": S(key), "v": N("1")}
    ddb.put_item(TableName=tbl, Item=item)
    eventually(ddb, tbl, key, item)
    with pytest.raises(ClientError) as e:
        ddb.put_item(TableName=tbl, Item={"pk": S(key), "v": N("2")},
                     ConditionExpression="v = :x", ExpressionAttributeValues={":x": N("9")})
    assert e.value.response["Error"]["Code"] == "ConditionalCheckFailedException"
    with pytest.raises(ClientError) as e:
        ddb.update_item(TableName=tbl, Key={"pk": S(key)}, UpdateExpression="SET v = :s + v",
                        ExpressionAttributeValues={":s": S("str")})
    assert e.value.response["Error"]["Code"] == "ValidationException"
    with pytest.raises(ClientError) as e:
        ddb.delete_item(TableName=tbl, Key={"pk": S(key)},
                        ConditionExpression="attribute_not_exists(v)")
    assert e.value.response["Error"]["Code"] == "ConditionalCheckFailedException"
    assert ddb.get_item(TableName=tbl, Key={"pk": S(key)})["Item"] == item
    assert strongly(ddb, tbl, key) == item


def test_atomic_counter_under_concurrency(ddb, tbl, endpoint):
    key = uuid.uuid4().hex
    threads_n, per_thread = 8, 25
    errors = []

    def worker():
        client = make_client(endpoint)
        try:
            for _ in range(per_thread):
                client.update_item(TableName=tbl, Key={"pk": S(key)},
                                   UpdateExpression="ADD c :one, s :me",
                                   ExpressionAttributeValues={
                                       ":one": N("1"), ":me": {"SS": [uuid.uuid4().hex]}})
        except Exception as e:  # reported on the test thread
            errors.append(repr(e))

    threads = [threading.Thread(target=worker) for _ in range(threads_n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors[:3]
    got = strongly(ddb, tbl, key)
    assert got["c"] == N(str(threads_n * per_thread))
    assert len(got["s"]["SS"]) == threads_n * per_thread


def test_conditional_create_has_one_winner(ddb, tbl, endpoint):
    key = uuid.uuid4().hex
    results = []
    barrier = threading.Barrier(8)

    def worker(i):
        client = make_client(endpoint)
        barrier.wait()
        try:
            client.put_item(TableName=tbl, Item={"pk": S(key), "owner": N(str(i))},
                            ConditionExpression="attribute_not_exists(pk)")
            results.append(("won", i))
        except ClientError as e:
            results.append((e.response["Error"]["Code"], i))

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    winners = [i for r, i in results if r == "won"]
    assert len(winners) == 1, results
    assert sorted(r for r, _ in results if r != "won") == ["ConditionalCheckFailedException"] * 7
    assert strongly(ddb, tbl, key)["owner"] == N(str(winners[0]))
