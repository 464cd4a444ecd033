"""Transactions through the cache: `ddax proxy` in front of `ddax backend`, and `ddax serve`.

TransactWriteItems is a write: once it has answered (success, cancellation or no answer) every
item it named (Put, Update, Delete, ConditionCheck, in every table) is gone from the item cache
and the cached Query pages of their partitions are refetched. TransactGetItems always reaches the
engine and neither reads nor fills the cache. dynalite implements no transactions, so the proxy
is tested in front of `ddax backend`; tests skip while the engine answers
UnknownOperationException (its transactions are not there yet).
"""

import signal

import pytest
from botocore.exceptions import ClientError

from conftest import make_client
from test_cache import Stack, scrape
from test_cache import create_table as cache_create_table
from test_metrics import value
from test_proxy import Proc, ddax_bin

pytestmark = pytest.mark.lifecycle


class Target:
    """A cache in front of an engine: `client` talks to the cache, `url` has its /metrics.
    kind: "proxy" (`ddax proxy` in front of `ddax backend`), "dynalite" (in front of dynalite)
    or "serve"; opts go to the ddax process that holds the cache."""

    def __init__(self, tmp_path, kind, *opts):
        self.kind = kind
        self.stack = None
        self.proc = None
        if kind in ("proxy", "dynalite"):
            self.stack = Stack(tmp_path, ddax_bin())
            if kind == "dynalite":
                self.stack.start_dynalite()
            else:
                self.stack.start_backend()
            # resign: the proxy may then change request bodies (UpdateItem asks for ALL_NEW),
            # which a pass-through proxy must not do
            self.url = self.stack.start_proxy("--upstream-signing", "resign",
                                              "--aws-access-key-id", "AKIDCACHETEST",
                                              "--aws-secret-access-key", "cache-test-secret",
                                              "--region", "us-east-1", *opts)
        else:
            data = tmp_path / "serve-data"
            data.mkdir()
            self.proc = Proc([ddax_bin(), "serve", "--port", "0", "--bind", "127.0.0.1",
                              "--threads", "4", "--nosync", "--data", str(data), *opts])
            self.url = self.proc.start()
        self.client = make_client(self.url)

    def metric(self, name, **labels):
        return value(scrape(self.url), name, **labels)

    def upstream(self, op):
        """Calls the cache made to the engine (or upstream) for op."""
        return self.metric("ddax_upstream_requests_total", op=op)

    def stop(self):
        if self.stack:
            self.stack.stop()
        if self.proc:
            self.proc.kill(signal.SIGTERM)


@pytest.fixture(params=["proxy", "serve"])
def target(request, tmp_path):
    t = Target(tmp_path, request.param)
    yield t
    t.stop()


def create_table(client):
    return cache_create_table(client, range_key=True)


def key(pk, sk):
    return {"pk": {"S": pk}, "sk": {"S": sk}}


def item(pk, sk, v):
    return {"pk": {"S": pk}, "sk": {"S": sk}, "v": {"S": v}}


def get_v(client, table, pk, sk):
    it = client.get_item(TableName=table, Key=key(pk, sk)).get("Item")
    return None if it is None else it["v"]["S"]


def query_sks(client, table, pk):
    r = client.query(TableName=table, KeyConditionExpression="pk = :p",
                     ExpressionAttributeValues={":p": {"S": pk}})
    return sorted(i["sk"]["S"] for i in r["Items"])


def transact_write(client, items, **kw):
    try:
        return client.transact_write_items(TransactItems=items, **kw)
    except ClientError as e:
        if e.response["Error"]["Code"] == "UnknownOperationException":
            pytest.skip("the engine has no transactions yet")
        raise


def test_transact_write_drops_named_items_and_pages(target):
    ddb = target.client
    t1, t2 = create_table(ddb), create_table(ddb)
    ddb.put_item(TableName=t1, Item=item("P", "1", "old"))
    ddb.put_item(TableName=t1, Item=item("P", "2", "two"))
    ddb.put_item(TableName=t1, Item=item("Q", "1", "other"))
    ddb.put_item(TableName=t2, Item=item("X", "1", "checked"))

    # Fill: the items, and a page of each partition.
    assert get_v(ddb, t1, "P", "1") == "old"
    assert get_v(ddb, t1, "Q", "1") == "other"
    assert get_v(ddb, t2, "X", "1") == "checked"
    assert query_sks(ddb, t1, "P") == ["1", "2"]
    assert query_sks(ddb, t1, "Q") == ["1"]
    g0, q0 = target.upstream("GetItem"), target.upstream("Query")
    assert get_v(ddb, t1, "P", "1") == "old"  # hits
    assert query_sks(ddb, t1, "P") == ["1", "2"]
    assert (target.upstream("GetItem"), target.upstream("Query")) == (g0, q0)

    transact_write(ddb, [
        {"Update": {"TableName": t1, "Key": key("P", "1"), "UpdateExpression": "SET v = :v",
                    "ExpressionAttributeValues": {":v": {"S": "new"}}}},
        {"Put": {"TableName": t1, "Item": item("P", "3", "three")}},
        {"ConditionCheck": {"TableName": t2, "Key": key("X", "1"),
                            "ConditionExpression": "attribute_exists(pk)"}},
    ])
    # Read-your-writes, from an eventual read and from the partition's page.
    assert get_v(ddb, t1, "P", "1") == "new"
    assert get_v(ddb, t1, "P", "3") == "three"
    assert query_sks(ddb, t1, "P") == ["1", "2", "3"]
    # The ConditionCheck's item was refetched too; the untouched partition Q was not.
    g1, q1 = target.upstream("GetItem"), target.upstream("Query")
    assert get_v(ddb, t2, "X", "1") == "checked"
    assert target.upstream("GetItem") == g1 + 1
    assert get_v(ddb, t1, "Q", "1") == "other"
    assert query_sks(ddb, t1, "Q") == ["1"]
    assert target.upstream("GetItem") == g1 + 1
    assert target.upstream("Query") == q1


def test_cancelled_transaction_drops_its_items(target):
    ddb = target.client
    t = create_table(ddb)
    ddb.put_item(TableName=t, Item=item("P", "1", "v1"))
    assert get_v(ddb, t, "P", "1") == "v1"
    assert get_v(ddb, t, "P", "1") == "v1"  # cached
    g0 = target.upstream("GetItem")
    with pytest.raises(ClientError) as e:
        transact_write(ddb, [
            {"Update": {"TableName": t, "Key": key("P", "1"), "UpdateExpression": "SET v = :v",
                        "ConditionExpression": "v = :other",
                        "ExpressionAttributeValues": {":v": {"S": "never"},
                                                      ":other": {"S": "x"}}}},
        ])
    assert e.value.response["Error"]["Code"] == "TransactionCanceledException"
    assert get_v(ddb, t, "P", "1") == "v1"
    assert target.upstream("GetItem") == g0 + 1  # dropped, refetched, unchanged


def test_transact_get_items_bypasses_the_cache(target):
    ddb = target.client
    t = create_table(ddb)
    ddb.put_item(TableName=t, Item=item("P", "1", "v1"))
    assert get_v(ddb, t, "P", "1") == "v1"  # cached
    n0, g0 = target.upstream("TransactGetItems"), target.upstream("GetItem")
    try:
        for _ in range(3):
            r = ddb.transact_get_items(TransactItems=[
                {"Get": {"TableName": t, "Key": key("P", "1")}},
                {"Get": {"TableName": t, "Key": key("P", "2")}},
            ])
            assert r["Responses"][0]["Item"]["v"]["S"] == "v1"
    except ClientError as e:
        if e.response["Error"]["Code"] == "UnknownOperationException":
            pytest.skip("the engine has no transactions yet")
        raise
    assert target.upstream("TransactGetItems") == n0 + 3
    # A write behind the cache's back is impossible with serve; with the proxy, write at the
    # backend directly: TransactGetItems sees it, the cached eventual read does not (yet).
    if target.kind == "proxy":
        direct = make_client(target.stack.upstream_url)
        direct.put_item(TableName=t, Item=item("P", "1", "v2"))
        r = ddb.transact_get_items(TransactItems=[{"Get": {"TableName": t,
                                                           "Key": key("P", "1")}}])
        assert r["Responses"][0]["Item"]["v"]["S"] == "v2"
        assert get_v(ddb, t, "P", "1") == "v1"
    # Nor did the transaction fill the cache: P/2 is still a miss.
    assert get_v(ddb, t, "P", "2") is None
    assert target.upstream("GetItem") == g0 + 1


def test_transaction_metrics_pass_through(target):
    """Unknown or not, a transaction is forwarded once and counted as an upstream call."""
    ddb = target.client
    t = create_table(ddb)
    n0 = target.upstream("TransactWriteItems")
    try:
        ddb.transact_write_items(TransactItems=[{"Put": {"TableName": t,
                                                         "Item": item("A", "1", "x")}}])
    except ClientError:
        pass
    assert target.upstream("TransactWriteItems") == n0 + 1
