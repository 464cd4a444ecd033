"""Write-through of new images: `ddax proxy` in front of dynalite and of `ddax backend`, and
`ddax serve`.

After a successful PutItem the next eventually consistent GetItem is answered from the cache
with the item written (numbers in DynamoDB's canonical form), after a DeleteItem with "no such
item", after an UpdateItem with its ALL_NEW image (which the cache asks for; the client still
gets exactly the ReturnValues it asked for), and per request after a BatchWriteItem. Hits are
proven by the cache's own count of calls to the engine or upstream
(ddax_upstream_requests_total) and by its hit counters.
"""

import pytest
from botocore.exceptions import ClientError

from test_cache import create_table as cache_create_table
from test_cache_txn import Target

pytestmark = pytest.mark.lifecycle


@pytest.fixture(params=["dynalite", "proxy", "serve"])
def target(request, tmp_path):
    t = Target(tmp_path, request.param)
    yield t
    t.stop()


def create_table(client):
    return cache_create_table(client, range_key=True, sk_type="N")


def key(pk, sk):
    return {"pk": {"S": pk}, "sk": {"N": str(sk)}}


def get(client, table, pk, sk, **kw):
    return client.get_item(TableName=table, Key=key(pk, sk), **kw).get("Item")


class Counts:
    """Upstream GetItem calls and item-cache hits since the last look."""

    def __init__(self, target):
        self.t = target
        self.take()

    def take(self):
        self.gets = self.t.upstream("GetItem")
        self.hits = self.t.metric("ddax_ItemCacheHits")

    def delta(self):
        g, h = self.t.upstream("GetItem") - self.gets, self.t.metric("ddax_ItemCacheHits") - self.hits
        self.take()
        return g, h


def test_put_image_is_served_without_upstream_read(target):
    ddb = target.client
    t = create_table(ddb)
    c = Counts(target)
    item = {"pk": {"S": "a"}, "sk": {"N": "1"}, "n": {"N": "01.50"},
            "m": {"M": {"ns": {"NS": ["2.0", "3"]}, "s": {"S": "h\u00e9"}}},
            "l": {"L": [{"N": "-0"}, {"BOOL": True}]}}
    ddb.put_item(TableName=t, Item=item)
    got = get(ddb, t, "a", 1)
    assert c.delta() == (0, 1)
    strong = get(ddb, t, "a", 1, ConsistentRead=True)
    assert c.delta() == (1, 0)
    assert got["n"] == {"N": "1.5"}
    assert got["l"]["L"][0] == {"N": "0"}
    assert sorted(got["m"]["M"]["ns"]["NS"]) == ["2", "3"]
    # The cached image is what the engine itself answers.
    got["m"]["M"]["ns"]["NS"].sort()
    strong["m"]["M"]["ns"]["NS"].sort()
    assert got == strong
    assert target.metric("ddax_cache_write_images_total") >= 1


def test_delete_leaves_negative_entry(target):
    ddb = target.client
    t = create_table(ddb)
    ddb.put_item(TableName=t, Item={"pk": {"S": "a"}, "sk": {"N": "1"}})
    c = Counts(target)
    ddb.delete_item(TableName=t, Key=key("a", 1))
    n0 = target.metric("ddax_item_cache_negative_hits_total")
    assert get(ddb, t, "a", 1) is None
    assert c.delta() == (0, 1)
    assert target.metric("ddax_item_cache_negative_hits_total") == n0 + 1
    assert target.metric("ddax_cache_write_negative_total") >= 1


def test_update_item_image_and_client_answer(target):
    ddb = target.client
    t = create_table(ddb)
    ddb.put_item(TableName=t, Item={"pk": {"S": "a"}, "sk": {"N": "1"}, "v": {"N": "1"},
                                    "keep": {"S": "k"}})
    c = Counts(target)

    # NONE (the default): the client gets no Attributes, the cache the whole new item.
    r = ddb.update_item(TableName=t, Key=key("a", 1), UpdateExpression="SET v = v + :d",
                        ExpressionAttributeValues={":d": {"N": "1"}})
    assert "Attributes" not in r
    r = ddb.update_item(TableName=t, Key=key("a", 1), UpdateExpression="SET w = :w",
                        ExpressionAttributeValues={":w": {"S": "x"}}, ReturnValues="NONE")
    assert "Attributes" not in r
    assert get(ddb, t, "a", 1) == {"pk": {"S": "a"}, "sk": {"N": "1"}, "v": {"N": "2"},
                                   "keep": {"S": "k"}, "w": {"S": "x"}}
    assert c.delta() == (0, 1)

    # UPDATED_NEW: exactly that for the client; the entry is dropped (refetched once).
    r = ddb.update_item(TableName=t, Key=key("a", 1), UpdateExpression="SET v = :v",
                        ExpressionAttributeValues={":v": {"N": "5"}}, ReturnValues="UPDATED_NEW")
    assert r["Attributes"] == {"v": {"N": "5"}}
    assert get(ddb, t, "a", 1)["v"] == {"N": "5"}
    assert c.delta() == (1, 0)

    # ALL_OLD: the old item for the client; dropped.
    r = ddb.update_item(TableName=t, Key=key("a", 1), UpdateExpression="REMOVE w",
                        ReturnValues="ALL_OLD")
    assert r["Attributes"]["w"] == {"S": "x"}
    assert "w" not in get(ddb, t, "a", 1)
    assert c.delta() == (1, 0)

    # ALL_NEW asked by the client: passed on and cached.
    r = ddb.update_item(TableName=t, Key=key("a", 1), UpdateExpression="SET v = :v",
                        ExpressionAttributeValues={":v": {"N": "6"}}, ReturnValues="ALL_NEW")
    assert r["Attributes"]["v"] == {"N": "6"}
    assert get(ddb, t, "a", 1) == r["Attributes"]
    assert c.delta() == (0, 1)

    # An update that creates the item.
    ddb.update_item(TableName=t, Key=key("new", 2), UpdateExpression="SET v = :v",
                    ExpressionAttributeValues={":v": {"S": "created"}})
    assert get(ddb, t, "new", 2) == {"pk": {"S": "new"}, "sk": {"N": "2"}, "v": {"S": "created"}}
    assert c.delta() == (0, 1)


def test_conditional_failure_drops_possibly_stale_item(target):
    ddb = target.client
    t = create_table(ddb)
    ddb.put_item(TableName=t, Item={"pk": {"S": "a"}, "sk": {"N": "1"}, "v": {"N": "1"}})
    assert get(ddb, t, "a", 1)["v"] == {"N": "1"}
    c = Counts(target)
    with pytest.raises(ClientError) as e:
        ddb.update_item(TableName=t, Key=key("a", 1), UpdateExpression="SET v = :n",
                        ConditionExpression="v = :old",
                        ExpressionAttributeValues={":n": {"N": "3"}, ":old": {"N": "2"}})
    assert e.value.response["Error"]["Code"] == "ConditionalCheckFailedException"
    assert get(ddb, t, "a", 1)["v"] == {"N": "1"}
    assert c.delta() == (1, 0)  # refetched once ...
    assert get(ddb, t, "a", 1)["v"] == {"N": "1"}
    assert c.delta() == (0, 1)  # ... and cached again


def test_batch_write_images(target):
    ddb = target.client
    t = create_table(ddb)
    ddb.put_item(TableName=t, Item={"pk": {"S": "gone"}, "sk": {"N": "1"}})
    c = Counts(target)
    r = ddb.batch_write_item(RequestItems={t: [
        {"PutRequest": {"Item": {"pk": {"S": "p%d" % i}, "sk": {"N": str(i)},
                                 "v": {"N": "%d.0" % i}}}} for i in range(10)
    ] + [{"DeleteRequest": {"Key": key("gone", 1)}}]})
    assert not r.get("UnprocessedItems")
    for i in range(10):
        assert get(ddb, t, "p%d" % i, i)["v"] == {"N": str(i)}
    assert get(ddb, t, "gone", 1) is None
    assert c.delta() == (0, 11)
    r = ddb.batch_get_item(RequestItems={t: {"Keys": [key("p%d" % i, i) for i in range(10)]}})
    assert len(r["Responses"][t]) == 10
    assert target.upstream("BatchGetItem") == 0
