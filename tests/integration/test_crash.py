"""Crash consistency of items and secondary indexes across SIGKILL (plan §5.1).

Writers change items so that they move between GSI/LSI partitions, leave and re-enter
sparse indexes and disappear; the server (durable mode, no --nosync) is killed at a random
moment and restarted on the same data directory. After each restart: every acknowledged
write is there (an in-flight one may be applied or not, never half), every index equals a
recomputation from the table (projection-aware), and DescribeTable's ItemCount matches
what a Scan counts, for the table and for each index. A GSI being backfilled when the
server dies must finish after the restart.

These tests start their own servers (DDAX_BIN) and are skipped with DDAX_ENDPOINT. The
random choices come from DDAX_TEST_SEED (or the clock) and the seed is in every failure.
"""

import os
import random
import threading
import time

import pytest
from botocore.exceptions import BotoCoreError, ClientError

from conftest import TableMaker, make_client, wait_active

pytestmark = pytest.mark.lifecycle

WRITERS = 6
KEYS_PER_WRITER = 24
WRITE_SECONDS = 2.0

GSI_KEYS = [{"AttributeName": "g", "KeyType": "HASH"}, {"AttributeName": "gs", "KeyType": "RANGE"}]
# Index name -> (key attributes, projected non-key attributes or None for KEYS_ONLY).
INDEXES = {
    "g_inc": (("g", "gs"), ("x",)),
    "g_keys": (("g", "gs"), ()),
    "l_inc": (("pk", "l"), ("x",)),
}
TABLE_KEYS = ("pk", "sk")


@pytest.fixture
def seed():
    s = int(os.environ.get("DDAX_TEST_SEED") or int(time.time() * 1000) % 10**9)
    print("DDAX_TEST_SEED=%d" % s)
    return s


def ctx(seed, what):
    return "[DDAX_TEST_SEED=%s] %s" % (seed, what)


def create_table(client):
    return TableMaker(client)(
        hash_key=("pk", "S"), range_key=("sk", "N"),
        AttributeDefinitions=[{"AttributeName": n, "AttributeType": t} for n, t in
                              (("pk", "S"), ("sk", "N"), ("g", "S"), ("gs", "N"),
                               ("l", "S"))],
        GlobalSecondaryIndexes=[
            {"IndexName": "g_inc", "KeySchema": GSI_KEYS,
             "Projection": {"ProjectionType": "INCLUDE", "NonKeyAttributes": ["x"]}},
            {"IndexName": "g_keys", "KeySchema": GSI_KEYS,
             "Projection": {"ProjectionType": "KEYS_ONLY"}},
        ],
        LocalSecondaryIndexes=[
            {"IndexName": "l_inc",
             "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"},
                           {"AttributeName": "l", "KeyType": "RANGE"}],
             "Projection": {"ProjectionType": "INCLUDE", "NonKeyAttributes": ["x"]}},
        ])


def kid(item_or_key):
    return (item_or_key["pk"]["S"], item_or_key["sk"]["N"])


def freeze(item):
    """Hashable, order-free form of an item (None for 'absent')."""
    if item is None:
        return None
    return tuple(sorted((k, repr(sorted(v.items()))) for k, v in item.items()))


# ---------------------------------------------------------------------------
# Writers: each owns its keys, so the per-key order of its operations is the order it sent
# them, and the state a write leaves can be computed before the answer comes back.


class Writer:
    def __init__(self, wid, rnd):
        self.wid = wid
        self.rnd = rnd
        self.state = {}  # (pk, sk) -> item or None: what the last acknowledged op left
        self.inflight = None  # ((pk, sk), state the unanswered op would leave)
        self.acked = 0
        self.error = None

    def key(self):
        k = self.rnd.randrange(KEYS_PER_WRITER)
        return {"pk": {"S": "w%d-%d" % (self.wid, k % 8)}, "sk": {"N": str(k // 8)}}

    def attrs(self):
        r = self.rnd
        a = {}
        if r.random() < 0.85:
            a["g"] = {"S": "G%d" % r.randrange(4)}
            a["gs"] = {"N": str(r.randrange(6))}  # duplicates: non-unique index keys
        if r.random() < 0.8:
            a["l"] = {"S": "L%d" % r.randrange(5)}
        if r.random() < 0.7:
            a["x"] = {"S": "x%d" % r.randrange(1000)}
        if r.random() < 0.5:
            a["h"] = {"S": "H%d" % r.randrange(3)}  # key of the GSI the backfill test adds
        a["y"] = {"S": "y" * r.randrange(1, 200)}  # never projected
        return a

    def next_op(self):
        """(callable on a client, key, state it leaves)."""
        r = self.rnd
        key = self.key()
        prev = self.state.get(kid(key))
        p = r.random()
        if p < 0.45:
            item = dict(key, **self.attrs())
            return (lambda c, t: c.put_item(TableName=t, Item=item)), key, item
        if p < 0.85:
            new = self.attrs()
            drop = [a for a in ("g", "gs", "l", "x", "h") if a not in new and r.random() < 0.5]
            values = {}
            sets = []
            for i, (a, v) in enumerate(sorted(new.items())):
                sets.append("%s = :v%d" % (a, i))
                values[":v%d" % i] = v
            expr = "SET " + ", ".join(sets)
            if drop:
                expr += " REMOVE " + ", ".join(drop)
            after = dict(prev) if prev else dict(key)
            after.update(new)
            for a in drop:
                after.pop(a, None)
            return (lambda c, t: c.update_item(TableName=t, Key=key, UpdateExpression=expr,
                                               ExpressionAttributeValues=values)), key, after
        return (lambda c, t: c.delete_item(TableName=t, Key=key)), key, None

    def run(self, url, table, stop):
        client = make_client(url, connect_timeout=2, read_timeout=10)
        while not stop.is_set():
            op, key, after = self.next_op()
            self.inflight = (kid(key), after)
            try:
                op(client, table)
            except (BotoCoreError, OSError):
                return  # the kill: this op stays in flight
            except ClientError as e:
                self.error = repr(e)
                return
            self.state[kid(key)] = after
            self.inflight = None
            self.acked += 1


def run_writers(url, table, writers, seconds):
    stop = threading.Event()
    threads = [threading.Thread(target=w.run, args=(url, table, stop), daemon=True)
               for w in writers]
    for t in threads:
        t.start()
    time.sleep(seconds)
    return stop, threads


# ---------------------------------------------------------------------------
# Checks after a restart


def scan_all(client, table, index=None, consistent=True, page=37):
    items = []
    args = {"TableName": table, "Limit": page}  # small pages: exercise LastEvaluatedKey
    if index:
        args["IndexName"] = index
    elif consistent:
        args["ConsistentRead"] = True
    while True:
        r = client.scan(**args)
        items.extend(r["Items"])
        if "LastEvaluatedKey" not in r:
            return items
        args["ExclusiveStartKey"] = r["LastEvaluatedKey"]


def query_lsi_all(client, table, index, pks, page):
    items = []
    for pk in sorted(pks):
        args = {"TableName": table, "IndexName": index, "Limit": page, "ConsistentRead": True,
                "KeyConditionExpression": "pk = :p",
                "ExpressionAttributeValues": {":p": {"S": pk}}}
        while True:
            r = client.query(**args)
            items.extend(r["Items"])
            if "LastEvaluatedKey" not in r:
                break
            args["ExclusiveStartKey"] = r["LastEvaluatedKey"]
    return items


def project(items, keys, nonkey):
    out = []
    for it in items:
        if not all(k in it for k in keys):
            continue  # sparse: not in the index
        want = set(TABLE_KEYS) | set(keys) | set(nonkey)
        out.append({a: v for a, v in it.items() if a in want})
    return out


def multiset(items):
    d = {}
    for it in items:
        f = freeze(it)
        d[f] = d.get(f, 0) + 1
    return d


def check_indexes(client, table, seed, indexes, page=37):
    """(b) and (c): every index equals its recomputation; ItemCounts match; -> table items."""
    items = scan_all(client, table, page=page)
    by_key = {kid(it): it for it in items}
    assert len(by_key) == len(items), ctx(seed, "table scan returned a key twice")
    desc = client.describe_table(TableName=table)["Table"]
    assert desc["ItemCount"] == len(items), ctx(seed, "table ItemCount %d, scan counts %d" % (
        desc["ItemCount"], len(items)))
    counts = {i["IndexName"]: i["ItemCount"] for i in
              desc.get("GlobalSecondaryIndexes", []) + desc.get("LocalSecondaryIndexes", [])}
    for name, (keys, nonkey) in indexes.items():
        want = project(items, keys, nonkey)
        got = scan_all(client, table, index=name, page=page)
        if multiset(got) != multiset(want):
            gm, wm = multiset(got), multiset(want)
            extra = [f for f in gm if gm[f] != wm.get(f)][:3]
            missing = [f for f in wm if wm[f] != gm.get(f)][:3]
            raise AssertionError(ctx(seed, "index %s: %d items, recomputation %d; extra %s; "
                                     "missing %s" % (name, len(got), len(want), extra, missing)))
        if name.startswith("l_"):
            q = query_lsi_all(client, table, name, {it["pk"]["S"] for it in items},
                              max(3, page // 10))
            assert multiset(q) == multiset(want), ctx(seed, "LSI %s by Query differs" % name)
        assert counts.get(name) == len(want), ctx(seed, "index %s ItemCount %s, holds %d" % (
            name, counts.get(name), len(want)))
    return by_key


def check_items(by_key, writers, seed):
    """(a): the table holds what the acknowledged writes left (in-flight: old or new), and
    nothing else. Then settles each in-flight key to what was found, for the next cycle."""
    known = set()
    for w in writers:
        assert w.error is None, ctx(seed, "writer %d failed before the kill: %s" % (
            w.wid, w.error))
        keys = set(w.state)
        if w.inflight:
            keys.add(w.inflight[0])
        for k in keys:
            known.add(k)
            got = freeze(by_key.get(k))
            allowed = {freeze(w.state.get(k))}
            if w.inflight and w.inflight[0] == k:
                allowed.add(freeze(w.inflight[1]))
            assert got in allowed, ctx(seed, "key %s after restart: %s; allowed %s" % (
                k, by_key.get(k), allowed))
        if w.inflight:
            k = w.inflight[0]
            w.state[k] = by_key.get(k)
            w.inflight = None
    stray = sorted(set(by_key) - known)
    assert not stray, ctx(seed, "items nobody wrote: %s" % stray[:5])


def crash_cycle(server, table, writers, rnd, seed, indexes=INDEXES, page=37):
    url = server.url
    stop, threads = run_writers(url, table, writers, rnd.uniform(0.3, WRITE_SECONDS))
    server.kill()  # at a random moment, writes in flight
    stop.set()
    for t in threads:
        t.join(timeout=30)
    assert not any(t.is_alive() for t in threads), ctx(seed, "writer hung after the kill")
    print("killed after %d acknowledged writes, %d in flight" % (
        sum(w.acked for w in writers), sum(1 for w in writers if w.inflight)))
    url = server.start()
    client = make_client(url)
    wait_active(client, table, timeout=30)
    by_key = check_indexes(client, table, seed, indexes, page)
    check_items(by_key, writers, seed)
    return client


def test_indexes_consistent_after_kill9(server_factory, seed):
    rnd = random.Random(seed)
    server = server_factory(nosync=False)
    url = server.start()
    table = create_table(make_client(url))
    writers = [Writer(i, random.Random(rnd.random())) for i in range(WRITERS)]
    crash_cycle(server, table, writers, rnd, seed)
    assert sum(w.acked for w in writers) >= WRITERS, ctx(seed, "too few writes acknowledged")
    server.stop()


def test_repeated_kills_do_not_accumulate_damage(server_factory, seed):
    rnd = random.Random(seed)
    server = server_factory(nosync=False)
    url = server.start()
    table = create_table(make_client(url))
    writers = [Writer(i, random.Random(rnd.random())) for i in range(WRITERS)]
    for cycle in range(3):
        client = crash_cycle(server, table, writers, rnd, "%d, cycle %d" % (seed, cycle))
    # Still writable, and the indexes still follow writes.
    client.put_item(TableName=table, Item={"pk": {"S": "after"}, "sk": {"N": "0"},
                                           "g": {"S": "GA"}, "gs": {"N": "1"}, "l": {"S": "L"}})
    r = client.query(TableName=table, IndexName="g_keys", KeyConditionExpression="g = :g",
                     ExpressionAttributeValues={":g": {"S": "GA"}})
    assert r["Count"] == 1, ctx(seed, "GSI does not follow writes after 3 crashes")
    server.stop()


def test_kill9_during_gsi_backfill(server_factory, seed):
    rnd = random.Random(seed)
    server = server_factory(nosync=False)
    url = server.start()
    client = make_client(url)
    table = create_table(client)
    # Enough data that the backfill takes a while (~0.15 s unloaded); every item lands in
    # the new index. Loaded from several threads to keep the test short.
    n = 20000
    bulk = {}
    for i in range(n):
        it = {"pk": {"S": "bulk%d" % (i % 97)}, "sk": {"N": str(i)},
              "h": {"S": "H%d" % (i % 7)}, "x": {"S": "%d" % i + "x" * 1500}, "z": {"S": "z"}}
        bulk[kid(it)] = it
    rows = list(bulk.values())
    errors = []

    def load(part):
        cl = make_client(url)
        try:
            for start in range(part * 25, n, 25 * WRITERS):
                cl.batch_write_item(RequestItems={table: [
                    {"PutRequest": {"Item": it}} for it in rows[start:start + 25]]})
        except Exception as e:  # reported on the test's thread
            errors.append(repr(e))

    loaders = [threading.Thread(target=load, args=(p,)) for p in range(WRITERS)]
    for t in loaders:
        t.start()
    for t in loaders:
        t.join()
    assert not errors, ctx(seed, "bulk load failed: %s" % errors[:3])
    d = client.describe_table(TableName=table)["Table"]
    assert d["ItemCount"] == n, ctx(seed, "ItemCount %d after loading %d" % (d["ItemCount"], n))
    writers = [Writer(i, random.Random(rnd.random())) for i in range(WRITERS)]
    writers[0].state.update(bulk)  # nobody touches the bulk items again: their state is known
    indexes = dict(INDEXES, h_new=(("h",), ("x",)))

    # Writers run alongside the backfill too (some of their items have h), so writes that
    # race the backfill must reach the new index as well.
    stop, threads = run_writers(url, table, writers, rnd.uniform(0.1, 0.4))
    client.update_table(
        TableName=table,
        AttributeDefinitions=[{"AttributeName": "h", "AttributeType": "S"}],
        GlobalSecondaryIndexUpdates=[{"Create": {
            "IndexName": "h_new", "KeySchema": [{"AttributeName": "h", "KeyType": "HASH"}],
            "Projection": {"ProjectionType": "INCLUDE", "NonKeyAttributes": ["x"]}}}])
    time.sleep(rnd.uniform(0.0, 0.04))
    g = [i for i in client.describe_table(TableName=table)["Table"]["GlobalSecondaryIndexes"]
         if i["IndexName"] == "h_new"][0]
    server.kill()
    stop.set()
    for t in threads:
        t.join(timeout=30)
    # Not asserted (timing), but the test means to catch CREATING: say so if it did not.
    print("h_new at the kill: %s backfilling=%s" % (g["IndexStatus"], g.get("Backfilling")))

    url = server.start()
    client = make_client(url)
    t = wait_active(client, table, timeout=30)  # polls until every GSI is ACTIVE
    g = [i for i in t["GlobalSecondaryIndexes"] if i["IndexName"] == "h_new"][0]
    assert g["IndexStatus"] == "ACTIVE" and not g.get("Backfilling", False), ctx(seed, str(g))
    by_key = check_indexes(client, table, seed, indexes, page=1000)
    check_items(by_key, writers, seed)
    assert sum(1 for it in by_key.values() if "h" in it) >= n, ctx(seed, "bulk items lost")
    # A second crash, with writers on the finished index.
    crash_cycle(server, table, writers, rnd, seed, indexes=indexes, page=1000)
    server.stop()
