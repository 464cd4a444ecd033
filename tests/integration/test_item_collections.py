"""Item-collection size limit of tables with local secondary indexes, over HTTP with boto3.

The server runs with a small --item-collection-limit-bytes (1000). Each item here is
{pk, sk (1 char), l (1 char), d (83 chars)}: 92 bytes plus its KEYS_ONLY LSI entry (8 bytes
of keys + 100 bytes of overhead), 200 bytes of its collection, so five items fill one and the
sixth write fails with ItemCollectionSizeLimitExceededException, writing nothing.
"""
import pytest

from conftest import assert_error, make_client, wait_active

LIMIT = 1000
EXC = "ItemCollectionSizeLimitExceededException"
MSG = "The total size of an item collection has exceeded the maximum limit of 10 gigabytes."
D83 = "x" * 83


def create_collection_table(c, name="coll"):
    """A table with a KEYS_ONLY local secondary index on l (its items form collections)."""
    c.create_table(
        TableName=name,
        AttributeDefinitions=[{"AttributeName": n, "AttributeType": "S"}
                              for n in ("pk", "sk", "l")],
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"},
                   {"AttributeName": "sk", "KeyType": "RANGE"}],
        LocalSecondaryIndexes=[{
            "IndexName": "byl",
            "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"},
                          {"AttributeName": "l", "KeyType": "RANGE"}],
            "Projection": {"ProjectionType": "KEYS_ONLY"}}],
        BillingMode="PAY_PER_REQUEST")
    wait_active(c, name)


@pytest.fixture
def client(server_factory):
    server = server_factory(nosync=True, args=["--item-collection-limit-bytes", str(LIMIT)])
    c = make_client(server.start())
    create_collection_table(c)
    c.create_table(
        TableName="plain",
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"},
                              {"AttributeName": "sk", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"},
                   {"AttributeName": "sk", "KeyType": "RANGE"}],
        BillingMode="PAY_PER_REQUEST")
    wait_active(c, "plain")
    return c


def item(pk, sk, d=D83):
    return {"pk": {"S": pk}, "sk": {"S": sk}, "l": {"S": "x"}, "d": {"S": d}}


def fill(c, pk):
    for i in range(1, 6):
        c.put_item(TableName="coll", Item=item(pk, str(i)))


def get(c, pk, sk):
    return c.get_item(TableName="coll", Key={"pk": {"S": pk}, "sk": {"S": sk}},
                      ConsistentRead=True).get("Item")


def test_put_over_the_limit_fails_and_writes_nothing(client):
    fill(client, "a")
    assert_error(EXC, MSG, client.put_item, TableName="coll", Item=item("a", "6"))
    assert get(client, "a", "6") is None
    assert_error(EXC, MSG, client.put_item, TableName="coll", Item=item("a", "1", "x" * 84))
    assert get(client, "a", "1")["d"]["S"] == D83
    # Another partition key is another collection.
    client.put_item(TableName="coll", Item=item("b", "1"))
    # Deleting makes room.
    client.delete_item(TableName="coll", Key={"pk": {"S": "a"}, "sk": {"S": "5"}})
    client.put_item(TableName="coll", Item=item("a", "6"))
    assert get(client, "a", "6")["d"]["S"] == D83


def test_update_and_batch(client):
    fill(client, "a")
    assert_error(EXC, MSG, client.update_item, TableName="coll",
                 Key={"pk": {"S": "a"}, "sk": {"S": "1"}}, UpdateExpression="SET e = :e",
                 ExpressionAttributeValues={":e": {"S": "e"}})
    assert "e" not in get(client, "a", "1")
    assert_error(EXC, MSG, client.batch_write_item, RequestItems={"coll": [
        {"PutRequest": {"Item": item("c", "1")}},
        {"PutRequest": {"Item": item("a", "6")}}]})
    assert get(client, "c", "1") is None
    assert get(client, "a", "6") is None


def test_metrics_and_tables_without_lsi(client):
    r = client.put_item(TableName="coll", Item=item("m", "1"), ReturnItemCollectionMetrics="SIZE")
    assert r["ItemCollectionMetrics"] == {"ItemCollectionKey": {"pk": {"S": "m"}},
                                          "SizeEstimateRangeGB": [0.0, 1.0]}
    for i in range(20):
        client.put_item(TableName="plain",
                        Item={"pk": {"S": "a"}, "sk": {"S": str(i)}, "d": {"S": D83}})
