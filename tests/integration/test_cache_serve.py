"""Cache semantics of `ddax serve` (the cache in front of the embedded engine).

Each test starts its own `ddax serve` (DDAX_BIN, --port 0 so the system picks a free port,
--nosync, a temporary data directory) with the cache options it needs. There is no upstream to
write to behind the cache's back, so these tests check what a client of serve relies on: its own
writes are visible at once to eventual reads, per-table cache lists are honoured, memory stays
under --cache-bytes, strongly consistent reads bypass the cache, absent items are cached as
negative entries. GET /metrics shows what was answered from the cache.
"""

import signal

import pytest

from conftest import make_client, unique_name
from test_cache import Stack, create_table, scrape
from test_metrics import value
from test_proxy import Proc, ddax_bin

pytestmark = pytest.mark.lifecycle


@pytest.fixture
def serve(tmp_path):
    """start(*opts) -> (client, url) of a `ddax serve` stopped at teardown."""
    procs = []

    def start(*opts):
        data = tmp_path / ("data%d" % len(procs))
        data.mkdir()
        p = Proc([ddax_bin(), "serve", "--port", "0", "--bind", "127.0.0.1", "--threads", "4",
                  "--nosync", "--data", str(data), *opts])
        procs.append(p)
        url = p.start()
        return make_client(url), url

    yield start
    for p in procs:
        p.kill(signal.SIGTERM)


def metric(url, name):
    return value(scrape(url), name)


def get(client, table, pk, **kw):
    return client.get_item(TableName=table, Key={"pk": {"S": pk}}, **kw).get("Item")


def v_of(item):
    return None if item is None else item["v"]["S"]


def put(client, table, pk, v, **extra):
    item = {"pk": {"S": pk}, "v": {"S": v}}
    item.update(extra)
    client.put_item(TableName=table, Item=item)


# --- per-table lists ---


def test_no_cache_tables_never_hit(serve):
    ddb, url = serve("--no-cache-tables", "Bcs,Other")
    a = create_table(ddb, name=unique_name("Acs"))
    b = create_table(ddb, name="Bcs")
    put(ddb, a, "k", "x")
    put(ddb, b, "k", "y")

    h0 = metric(url, "ddax_ItemCacheHits")
    for _ in range(5):
        assert v_of(get(ddb, b, "k")) == "y"
    assert metric(url, "ddax_ItemCacheHits") == h0  # B is never cached

    for _ in range(5):
        assert v_of(get(ddb, a, "k")) == "x"
    assert metric(url, "ddax_ItemCacheHits") - h0 == 5  # A: the Put's image, then hits


def test_cache_tables_only_listed(serve):
    ddb, url = serve("--cache-tables", "Onlycs")
    a = create_table(ddb, name="Onlycs")
    b = create_table(ddb)
    put(ddb, a, "k", "x")
    put(ddb, b, "k", "y")
    h0 = metric(url, "ddax_ItemCacheHits")
    for _ in range(3):
        assert v_of(get(ddb, b, "k")) == "y"
    assert metric(url, "ddax_ItemCacheHits") == h0
    for _ in range(3):
        assert v_of(get(ddb, a, "k")) == "x"
    assert metric(url, "ddax_ItemCacheHits") - h0 == 3  # written through by the Put


def test_no_cache_tables_in_proxy(tmp_path):
    """The lists work the same in `ddax proxy` (a ddax backend as its upstream)."""
    stack = Stack(tmp_path, ddax_bin())
    try:
        stack.start_backend()
        url = stack.start_proxy("--no-cache-tables", "Bpx")
        ddb = make_client(url)
        a = create_table(ddb)
        b = create_table(ddb, name="Bpx")
        put(ddb, a, "k", "x")
        put(ddb, b, "k", "y")
        h0 = metric(url, "ddax_ItemCacheHits")
        for _ in range(3):
            assert v_of(get(ddb, b, "k")) == "y"
        assert metric(url, "ddax_ItemCacheHits") == h0
        for _ in range(3):
            assert v_of(get(ddb, a, "k")) == "x"
        assert metric(url, "ddax_ItemCacheHits") - h0 == 3  # written through by the Put
    finally:
        stack.stop()


# --- write-through ---


def test_writes_visible_at_once(serve):
    ddb, url = serve()
    t = create_table(ddb)
    put(ddb, t, "a", "1")
    assert v_of(get(ddb, t, "a")) == "1"
    assert v_of(get(ddb, t, "a")) == "1"  # cached now
    h0 = metric(url, "ddax_ItemCacheHits")
    assert h0 >= 1

    put(ddb, t, "a", "2")
    assert v_of(get(ddb, t, "a")) == "2"
    ddb.update_item(TableName=t, Key={"pk": {"S": "a"}}, UpdateExpression="SET v = :v",
                    ExpressionAttributeValues={":v": {"S": "3"}})
    assert v_of(get(ddb, t, "a")) == "3"
    assert v_of(get(ddb, t, "a")) == "3"
    ddb.delete_item(TableName=t, Key={"pk": {"S": "a"}})
    assert get(ddb, t, "a") is None
    assert get(ddb, t, "a") is None


def test_batch_write_then_batch_get(serve):
    ddb, url = serve()
    t = create_table(ddb)
    keys = [{"pk": {"S": "k%d" % i}} for i in range(10)]

    def batch_get():
        r = ddb.batch_get_item(RequestItems={t: {"Keys": keys}})
        assert not r.get("UnprocessedKeys")
        return {i["pk"]["S"]: i["v"]["S"] for i in r["Responses"][t]}

    assert batch_get() == {}  # all ten cached as absent
    ddb.batch_write_item(RequestItems={t: [
        {"PutRequest": {"Item": {"pk": {"S": "k%d" % i}, "v": {"S": "a%d" % i}}}}
        for i in range(10)]})
    assert batch_get() == {"k%d" % i: "a%d" % i for i in range(10)}
    h0 = metric(url, "ddax_ItemCacheHits")
    assert batch_get() == {"k%d" % i: "a%d" % i for i in range(10)}
    assert metric(url, "ddax_ItemCacheHits") - h0 == 10

    ddb.batch_write_item(RequestItems={t: [
        {"DeleteRequest": {"Key": {"pk": {"S": "k0"}}}},
        {"PutRequest": {"Item": {"pk": {"S": "k1"}, "v": {"S": "b1"}}}}]})
    want = {"k%d" % i: "a%d" % i for i in range(2, 10)}
    want["k1"] = "b1"
    assert batch_get() == want
    assert v_of(get(ddb, t, "k0")) is None
    assert v_of(get(ddb, t, "k1")) == "b1"


# --- query invalidation ---


def query(client, table, pk):
    r = client.query(TableName=table, KeyConditionExpression="pk = :p",
                     ExpressionAttributeValues={":p": {"S": pk}})
    return sorted(i["sk"]["S"] for i in r["Items"])


def test_query_page_refreshed_by_write_to_its_partition_only(serve):
    ddb, url = serve()
    t = create_table(ddb, range_key=True)
    for pk in ("P", "Q"):
        ddb.put_item(TableName=t, Item={"pk": {"S": pk}, "sk": {"S": "1"}})

    assert query(ddb, t, "P") == ["1"]
    h0 = metric(url, "ddax_QueryCacheHits")
    assert query(ddb, t, "P") == ["1"]
    h1 = metric(url, "ddax_QueryCacheHits")
    assert h1 - h0 == 1  # the page is cached

    ddb.put_item(TableName=t, Item={"pk": {"S": "Q"}, "sk": {"S": "2"}})
    assert query(ddb, t, "P") == ["1"]
    h2 = metric(url, "ddax_QueryCacheHits")
    assert h2 - h1 == 1  # a write to Q keeps P's page

    ddb.put_item(TableName=t, Item={"pk": {"S": "P"}, "sk": {"S": "2"}})
    assert query(ddb, t, "P") == ["1", "2"]
    h3 = metric(url, "ddax_QueryCacheHits")
    assert h3 == h2  # a write to P dropped its page: refetched
    assert query(ddb, t, "P") == ["1", "2"]
    assert metric(url, "ddax_QueryCacheHits") - h3 == 1
    assert query(ddb, t, "Q") == ["1", "2"]


# --- eviction ---


def test_eviction_under_cache_bytes(serve):
    limit = 64 * 1024
    ddb, url = serve("--cache-bytes", str(limit))
    t = create_table(ddb)
    n = 400
    big = "x" * 1000
    for i in range(n):
        put(ddb, t, "k%d" % i, "%d-%s" % (i, big))
    for i in range(n):
        assert v_of(get(ddb, t, "k%d" % i)) == "%d-%s" % (i, big)
        if i % 50 == 0:
            assert metric(url, "ddax_cache_bytes") <= limit
    m = scrape(url)
    assert value(m, "ddax_cache_bytes") <= limit
    assert value(m, "ddax_cache_evictions_total") > 0
    assert 0 < value(m, "ddax_cache_entries") < n
    for i in range(0, n, 7):  # evicted or not, reads stay correct
        assert v_of(get(ddb, t, "k%d" % i)) == "%d-%s" % (i, big)
    assert metric(url, "ddax_cache_bytes") <= limit


# --- strongly consistent reads ---


def test_consistent_reads_never_hits(serve):
    ddb, url = serve()
    t = create_table(ddb, range_key=True)
    ddb.put_item(TableName=t, Item={"pk": {"S": "a"}, "sk": {"S": "1"}, "v": {"S": "x"}})
    key = {"pk": {"S": "a"}, "sk": {"S": "1"}}
    ddb.get_item(TableName=t, Key=key)  # an eventual read fills the cache
    m0 = scrape(url)
    for _ in range(3):
        assert ddb.get_item(TableName=t, Key=key, ConsistentRead=True)["Item"]["v"]["S"] == "x"
        r = ddb.batch_get_item(RequestItems={t: {"Keys": [key], "ConsistentRead": True}})
        assert len(r["Responses"][t]) == 1
        r = ddb.query(TableName=t, KeyConditionExpression="pk = :p", ConsistentRead=True,
                      ExpressionAttributeValues={":p": {"S": "a"}})
        assert r["Count"] == 1
    m1 = scrape(url)
    for name in ("ddax_ItemCacheHits", "ddax_QueryCacheHits",
                 "ddax_item_cache_negative_hits_total"):
        assert value(m1, name) == value(m0, name), name


# --- negative entries ---


def test_absent_item_negative_hit(serve):
    ddb, url = serve()
    t = create_table(ddb)
    m0 = scrape(url)
    assert get(ddb, t, "ghost") is None
    assert get(ddb, t, "ghost") is None
    m1 = scrape(url)
    assert value(m1, "ddax_ItemCacheMisses") - value(m0, "ddax_ItemCacheMisses") == 1
    assert value(m1, "ddax_ItemCacheHits") - value(m0, "ddax_ItemCacheHits") == 1
    assert (value(m1, "ddax_item_cache_negative_hits_total")
            - value(m0, "ddax_item_cache_negative_hits_total")) == 1
    put(ddb, t, "ghost", "here")  # a write through serve drops the negative entry
    assert v_of(get(ddb, t, "ghost")) == "here"
