"""Durability of the bundled backend: data survives a clean restart, and every
acknowledged write survives a SIGKILL. These tests start and stop their own
server (DDAX_BIN, without --nosync) and are skipped when DDAX_ENDPOINT is given.
"""

import random
import threading
import time

import pytest
from botocore.exceptions import BotoCoreError, ClientError

from conftest import TableMaker, make_client, wait_active

pytestmark = pytest.mark.lifecycle

WRITE_SECONDS = 2.0
WRITERS = 8


def sample_item(pk, rnd):
    return {
        "pk": {"S": pk},
        "n": {"N": str(rnd.randint(-10**30, 10**30))},
        # Canonical form (no trailing zeros) so the stored value reads back verbatim.
        "f": {"N": "%d.%05d%d" % (rnd.randint(0, 10**6), rnd.randint(0, 10**5 - 1),
                                  rnd.randint(1, 9))},
        "s": {"S": "".join(rnd.choice("abc\u00e9\u20ac") for _ in range(rnd.randint(0, 40)))},
        "b": {"B": bytes(rnd.getrandbits(8) for _ in range(rnd.randint(1, 64)))},
        "ss": {"SS": sorted({"x%d" % rnd.randint(0, 99) for _ in range(3)})},
        "m": {"M": {"l": {"L": [{"N": str(rnd.randint(0, 9))}, {"BOOL": True}, {"NULL": True}]}}},
    }


def normalise(item):
    item = dict(item)
    if "ss" in item:
        item["ss"] = {"SS": sorted(item["ss"]["SS"])}
    return item


def get_all(url, table, keys, workers=8):
    """All stored items for keys, read with consistent GetItem calls (only GetItem,
    so this test depends on nothing but the write and read paths)."""
    found = {}
    lock = threading.Lock()
    chunks = [keys[i::workers] for i in range(workers)]

    errors = []

    def reader(chunk):
        client = make_client(url)
        try:
            for key in chunk:
                it = client.get_item(TableName=table, Key={"pk": {"S": key}},
                                     ConsistentRead=True).get("Item")
                if it is not None:
                    with lock:
                        found[key] = it
        except Exception as e:  # reported below, on the test's thread
            errors.append(repr(e))

    threads = [threading.Thread(target=reader, args=(c,)) for c in chunks]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, "reads after restart failed: %s" % errors[:3]
    return found


def test_clean_restart_keeps_data(server_factory):
    server = server_factory(nosync=False)
    url = server.start()
    client = make_client(url)
    maker = TableMaker(client)
    table = maker(hash_key=("pk", "S"), range_key=("sk", "N"), AttributeDefinitions=[
        {"AttributeName": "pk", "AttributeType": "S"},
        {"AttributeName": "sk", "AttributeType": "N"},
        {"AttributeName": "g", "AttributeType": "S"}], GlobalSecondaryIndexes=[{
            "IndexName": "by_g", "KeySchema": [{"AttributeName": "g", "KeyType": "HASH"}],
            "Projection": {"ProjectionType": "KEYS_ONLY"}}])
    provisioned = maker(billing="PROVISIONED")
    before = client.describe_table(TableName=table)["Table"]
    rnd = random.Random(1)
    items = []
    for i in range(50):
        it = sample_item("p%d" % (i % 5), rnd)
        it["sk"] = {"N": str(i)}
        items.append(it)
        client.put_item(TableName=table, Item=it)
    client.delete_item(TableName=table, Key={"pk": {"S": "p0"}, "sk": {"N": "0"}})
    client.update_item(TableName=table, Key={"pk": {"S": "p1"}, "sk": {"N": "1"}},
                       UpdateExpression="SET extra = :v", ExpressionAttributeValues={
                           ":v": {"S": "updated"}})
    assert server.stop() == 0, "ddax did not exit cleanly on SIGTERM:\n" + "\n".join(
        server.output)

    url = server.start()
    client = make_client(url)
    after = wait_active(client, table)
    assert after["TableId"] == before["TableId"]
    assert after["TableArn"] == before["TableArn"]
    assert after["KeySchema"] == before["KeySchema"]
    assert after["CreationDateTime"] == before["CreationDateTime"]
    assert after["AttributeDefinitions"] == before["AttributeDefinitions"]
    assert [(g["IndexName"], g["KeySchema"], g["Projection"])
            for g in after["GlobalSecondaryIndexes"]] == [
        ("by_g", [{"AttributeName": "g", "KeyType": "HASH"}], {"ProjectionType": "KEYS_ONLY"})]
    assert wait_active(client, provisioned)["ProvisionedThroughput"]["ReadCapacityUnits"] == 5
    names = client.list_tables()["TableNames"]
    assert table in names and provisioned in names
    for i, it in enumerate(items):
        got = client.get_item(TableName=table, Key={"pk": it["pk"], "sk": it["sk"]},
                              ConsistentRead=True).get("Item")
        if i == 0:
            assert got is None
            continue
        if i == 1:
            it = dict(it, extra={"S": "updated"})
        assert normalise(got) == normalise(it)
    # Still writable after the restart.
    client.put_item(TableName=table, Item={"pk": {"S": "new"}, "sk": {"N": "1"}})
    server.stop()


def test_kill9_keeps_every_acknowledged_write(server_factory):
    server = server_factory(nosync=False)
    url = server.start()
    setup = make_client(url)
    table = TableMaker(setup)(hash_key=("pk", "S"))

    acked = {}  # pk -> item, only writes that got a 200
    lock = threading.Lock()
    stop = threading.Event()
    errors = []

    def writer(wid):
        client = make_client(url, connect_timeout=2, read_timeout=5)
        rnd = random.Random(wid)
        seq = 0
        while not stop.is_set():
            pk = "w%d-%d" % (wid, seq)
            seq += 1
            item = sample_item(pk, rnd)
            try:
                client.put_item(TableName=table, Item=item)
            except (ClientError, BotoCoreError, OSError) as e:
                if not stop.is_set():
                    errors.append(repr(e))
                return
            with lock:
                acked[pk] = item

    threads = [threading.Thread(target=writer, args=(i,), daemon=True) for i in range(WRITERS)]
    for t in threads:
        t.start()
    time.sleep(WRITE_SECONDS)
    # Crash while writes are still in flight.
    stop.set()
    server.kill()
    for t in threads:
        t.join(timeout=30)
    assert not errors, "writes failed before the kill: %s" % errors[:3]
    with lock:
        acked = dict(acked)
    assert len(acked) >= WRITERS, "too few writes acknowledged (%d)" % len(acked)

    url = server.start()
    client = make_client(url)
    wait_active(client, table)
    found = get_all(url, table, sorted(acked))
    missing = sorted(set(acked) - set(found))
    assert not missing, "%d of %d acknowledged writes lost, e.g. %s" % (
        len(missing), len(acked), missing[:5])
    wrong = [pk for pk, it in acked.items() if normalise(found[pk]) != normalise(it)]
    assert not wrong, "%d acknowledged items differ after restart, e.g. %s" % (
        len(wrong), wrong[:5])
    # The restarted server accepts writes again.
    client.put_item(TableName=table, Item={"pk": {"S": "after-restart"}})
    assert client.get_item(TableName=table, Key={"pk": {"S": "after-restart"}},
                           ConsistentRead=True)["Item"] == {"pk": {"S": "after-restart"}}
    server.stop()
