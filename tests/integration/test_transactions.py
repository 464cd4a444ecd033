"""TransactWriteItems and TransactGetItems, as real DynamoDB behaves.

A bank-transfer workload of concurrent transactions whose total never changes (checked by
concurrent TransactGetItems snapshots and a final consistent Scan), idempotent retries with
ClientRequestToken, every cancellation reason (ConditionalCheckFailed with and without the
old item, ValidationError, ItemCollectionSizeLimitExceeded, None), two actions on one item,
the 100-action limit, unknown tables and table ARNs, ConsumedCapacity against hand-computed
figures (transactional writes cost the table 2 units per KB while index entries cost what
they cost outside a transaction; reads 2 per 4 KB), the units charged to ddax's per-table
metrics, and secondary indexes kept by transactional writes. Debian's boto3 does not know ReturnValuesOnConditionCheckFailure
on transaction items, so those requests go over raw HTTP.
"""
import random
import re
import threading
import urllib.error
import urllib.request

import pytest

from conftest import assert_error, assert_validation, client_error, make_client, wait_active
from test_item_collections import create_collection_table

CANCELLED = "Transaction cancelled, please refer cancellation reasons for specific reasons [%s]"
MULTI = "Transaction request cannot include multiple operations on one item"
NOT_FOUND = "Requested resource not found"
CCF = "The conditional request failed"


def S(v):
    return {"S": v}


def N(v):
    return {"N": str(v)}


@pytest.fixture(scope="module")
def acct(module_tables):
    return module_tables(hash_key=("id", "S"))


@pytest.fixture(scope="module")
def indexed(module_tables):
    return module_tables(
        hash_key=("p", "S"), range_key=("s", "N"),
        AttributeDefinitions=[{"AttributeName": "p", "AttributeType": "S"},
                              {"AttributeName": "s", "AttributeType": "N"},
                              {"AttributeName": "g", "AttributeType": "S"},
                              {"AttributeName": "l", "AttributeType": "N"}],
        GlobalSecondaryIndexes=[{
            "IndexName": "by_g",
            "KeySchema": [{"AttributeName": "g", "KeyType": "HASH"}],
            "Projection": {"ProjectionType": "ALL"}}],
        LocalSecondaryIndexes=[{
            "IndexName": "by_l",
            "KeySchema": [{"AttributeName": "p", "KeyType": "HASH"},
                          {"AttributeName": "l", "KeyType": "RANGE"}],
            "Projection": {"ProjectionType": "KEYS_ONLY"}}])


def get(ddb, table, key):
    return ddb.get_item(TableName=table, Key=key, ConsistentRead=True).get("Item")


def update(table, key, expr, values, cond=None, **extra):
    u = {"TableName": table, "Key": key, "UpdateExpression": expr,
         "ExpressionAttributeValues": values}
    if cond:
        u["ConditionExpression"] = cond
    u.update(extra)
    return {"Update": u}


def reasons_of(err_response):
    return err_response.get("CancellationReasons")


# ---------------------------------------------------------------------------
# The bank


def transfer(c, table, src, dst, amount, token=None):
    items = [
        update(table, {"id": S(src)}, "SET bal = bal - :a", {":a": N(amount)}, "bal >= :a"),
        update(table, {"id": S(dst)}, "SET bal = bal + :a", {":a": N(amount)}),
    ]
    kw = {"ClientRequestToken": token} if token else {}
    c.transact_write_items(TransactItems=items, **kw)


WORKERS, PER_WORKER = 6, 60


def test_bank_transfers_keep_the_total(endpoint, ddb, make_table):
    table = make_table(hash_key=("id", "S"))
    accounts = ["acct-%02d" % i for i in range(8)]
    for a in accounts:
        ddb.put_item(TableName=table, Item={"id": S(a), "bal": N(100)})
    total = 100 * len(accounts)
    stop = threading.Event()
    errors = []
    stats = {"ok": 0, "cancelled": 0, "snapshots": 0}
    lock = threading.Lock()

    def worker(seed):
        c = make_client(endpoint)
        rnd = random.Random(seed)
        try:
            for _ in range(PER_WORKER):
                src, dst = rnd.sample(accounts, 2)
                amount = rnd.randint(1, 80)
                try:
                    transfer(c, table, src, dst, amount)
                    with lock:
                        stats["ok"] += 1
                except c.exceptions.TransactionCanceledException as e:
                    codes = [r["Code"] for r in e.response["CancellationReasons"]]
                    assert codes == ["ConditionalCheckFailed", "None"], codes
                    with lock:
                        stats["cancelled"] += 1
        except Exception as e:  # noqa: BLE001 - reported by the main thread
            errors.append(e)

    def auditor():
        c = make_client(endpoint)
        try:
            while not stop.is_set():
                r = c.transact_get_items(TransactItems=[
                    {"Get": {"TableName": table, "Key": {"id": S(a)}}} for a in accounts])
                bals = [int(x["Item"]["bal"]["N"]) for x in r["Responses"]]
                assert sum(bals) == total, bals
                assert min(bals) >= 0, bals
                with lock:
                    stats["snapshots"] += 1
        except Exception as e:  # noqa: BLE001
            errors.append(e)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(WORKERS)]
    audit = threading.Thread(target=auditor)
    audit.start()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    stop.set()
    audit.join()
    assert not errors, errors[0]
    assert stats["ok"] + stats["cancelled"] == WORKERS * PER_WORKER
    assert stats["ok"] > 0 and stats["cancelled"] > 0 and stats["snapshots"] > 0

    items = ddb.scan(TableName=table, ConsistentRead=True)["Items"]
    assert len(items) == len(accounts)
    assert sum(int(i["bal"]["N"]) for i in items) == total
    assert all(int(i["bal"]["N"]) >= 0 for i in items)


# ---------------------------------------------------------------------------
# Idempotency


def test_same_token_applies_once(ddb, acct):
    key = {"id": S("ctr-1")}
    items = [update(acct, key, "ADD n :one", {":one": N(1)})]
    for _ in range(3):
        assert "ConsumedCapacity" not in ddb.transact_write_items(
            TransactItems=items, ClientRequestToken="tok-once-1")
    assert get(ddb, acct, key)["n"] == N(1)
    # A retry that asks for capacity gets the reads of the items (2 units each).
    r = ddb.transact_write_items(TransactItems=items, ClientRequestToken="tok-once-1",
                                 ReturnConsumedCapacity="TOTAL")
    assert r["ConsumedCapacity"] == [{"TableName": acct, "CapacityUnits": 2.0}]
    assert get(ddb, acct, key)["n"] == N(1)
    # Another token is another transaction.
    ddb.transact_write_items(TransactItems=items, ClientRequestToken="tok-once-2")
    assert get(ddb, acct, key)["n"] == N(2)


def test_same_token_other_parameters_is_refused(ddb, acct):
    key = {"id": S("ctr-2")}
    ddb.transact_write_items(TransactItems=[update(acct, key, "ADD n :v", {":v": N(1)})],
                             ClientRequestToken="tok-mismatch")
    code, _, _ = client_error(
        ddb.transact_write_items,
        TransactItems=[update(acct, key, "ADD n :v", {":v": N(5)})],
        ClientRequestToken="tok-mismatch")
    assert code == "IdempotentParameterMismatchException"
    assert get(ddb, acct, key)["n"] == N(1)


def test_cancelled_transaction_does_not_consume_the_token(ddb, acct):
    key = {"id": S("tok-cancel")}
    put = {"Put": {"TableName": acct, "Item": dict(key, v=S("x")),
                   "ConditionExpression": "attribute_exists(id)"}}
    code, msg, _ = client_error(ddb.transact_write_items, TransactItems=[put],
                                ClientRequestToken="tok-cancelled")
    assert (code, msg) == ("TransactionCanceledException", CANCELLED % "ConditionalCheckFailed")
    ddb.put_item(TableName=acct, Item=dict(key, v=S("old")))
    ddb.transact_write_items(TransactItems=[put], ClientRequestToken="tok-cancelled")
    assert get(ddb, acct, key)["v"] == S("x")


def test_token_length_limit(ddb, acct):
    assert_validation(
        "1 validation error detected: Value '%s' at 'clientRequestToken' failed to satisfy "
        "constraint: Member must have length less than or equal to 36" % ("t" * 37),
        ddb.transact_write_items,
        TransactItems=[{"Put": {"TableName": acct, "Item": {"id": S("tl")}}}],
        ClientRequestToken="t" * 37)
    assert get(ddb, acct, {"id": S("tl")}) is None


# ---------------------------------------------------------------------------
# Cancellation reasons


def test_every_reason_in_order_and_nothing_written(ddb, raw, acct):
    ddb.put_item(TableName=acct, Item={"id": S("r-old"), "bal": N(7)})
    ddb.put_item(TableName=acct, Item={"id": S("r-old2"), "bal": N(7)})
    body = {"TransactItems": [
        {"Put": {"TableName": acct, "Item": {"id": S("r-new")},
                 "ConditionExpression": "attribute_not_exists(id)"}},
        {"Put": {"TableName": acct, "Item": {"id": S("r-old")},
                 "ConditionExpression": "attribute_not_exists(id)",
                 "ReturnValuesOnConditionCheckFailure": "ALL_OLD"}},
        {"Update": {"TableName": acct, "Key": {"id": S("r-x")},
                    "UpdateExpression": "SET bal = nothere + :one",
                    "ExpressionAttributeValues": {":one": N(1)}}},
        {"ConditionCheck": {"TableName": acct, "Key": {"id": S("r-old2")},
                            "ConditionExpression": "bal > :v",
                            "ExpressionAttributeValues": {":v": N(100)}}},
        {"Delete": {"TableName": acct, "Key": {"id": N(1)}}},
    ]}
    r = raw("TransactWriteItems", body)
    assert r.status == 400
    j = r.json()
    assert j["__type"].endswith("#TransactionCanceledException"), j
    assert j["Message"] == CANCELLED % (
        "None, ConditionalCheckFailed, ValidationError, ConditionalCheckFailed, ValidationError")
    assert j["CancellationReasons"] == [
        {"Code": "None"},
        {"Code": "ConditionalCheckFailed", "Message": CCF,
         "Item": {"id": S("r-old"), "bal": N(7)}},
        {"Code": "ValidationError",
         "Message": "The provided expression refers to an attribute that does not exist in "
                    "the item"},
        {"Code": "ConditionalCheckFailed", "Message": CCF},
        {"Code": "ValidationError",
         "Message": "The provided key element does not match the schema"},
    ]
    assert get(ddb, acct, {"id": S("r-new")}) is None
    assert get(ddb, acct, {"id": S("r-x")}) is None


def test_boto3_sees_cancellation_reasons(ddb, acct):
    ddb.put_item(TableName=acct, Item={"id": S("b-1"), "bal": N(1)})
    code, msg, resp = client_error(ddb.transact_write_items, TransactItems=[
        update(acct, {"id": S("b-1")}, "SET bal = bal - :a", {":a": N(5)}, "bal >= :a"),
        {"Put": {"TableName": acct, "Item": {"id": S("b-2")}}},
    ])
    assert code == "TransactionCanceledException"
    assert msg == CANCELLED % "ConditionalCheckFailed, None"
    assert [r["Code"] for r in reasons_of(resp)] == ["ConditionalCheckFailed", "None"]
    assert get(ddb, acct, {"id": S("b-1")})["bal"] == N(1)
    assert get(ddb, acct, {"id": S("b-2")}) is None


def test_item_collection_limit_is_a_reason(server_factory):
    server = server_factory(nosync=True, args=["--item-collection-limit-bytes", "1000"])
    c = make_client(server.start())
    create_collection_table(c)

    def item(sk):
        return {"Put": {"TableName": "coll", "Item": {
            "pk": S("a"), "sk": S(sk), "l": S("x"), "d": S("y" * 200)}}}

    code, msg, resp = client_error(c.transact_write_items,
                                   TransactItems=[item(str(i)) for i in range(6)])
    assert code == "TransactionCanceledException"
    codes = [r["Code"] for r in reasons_of(resp)]
    assert "ItemCollectionSizeLimitExceeded" in codes
    assert set(codes) <= {"None", "ItemCollectionSizeLimitExceeded"}
    assert msg == CANCELLED % ", ".join(codes)
    assert c.query(TableName="coll", KeyConditionExpression="pk = :p",
                   ExpressionAttributeValues={":p": S("a")}, ConsistentRead=True)["Count"] == 0


# ---------------------------------------------------------------------------
# Validation and limits


def test_multiple_operations_on_one_item(ddb, acct):
    assert_validation(MULTI, ddb.transact_write_items, TransactItems=[
        {"ConditionCheck": {"TableName": acct, "Key": {"id": S("m")},
                            "ConditionExpression": "attribute_not_exists(id)"}},
        {"Put": {"TableName": acct, "Item": {"id": S("m")}}},
    ])
    assert_validation(MULTI, ddb.transact_get_items, TransactItems=[
        {"Get": {"TableName": acct, "Key": {"id": S("m")}}},
        {"Get": {"TableName": acct, "Key": {"id": S("m")}}},
    ])
    assert get(ddb, acct, {"id": S("m")}) is None


def test_action_limit(ddb, acct):
    pattern = re.compile(r"^1 validation error detected: Value '\[.+\]' at 'transactItems' "
                         r"failed to satisfy constraint: Member must have length less than or "
                         r"equal to 100$", re.S)
    assert_validation(pattern, ddb.transact_write_items, TransactItems=[
        {"Put": {"TableName": acct, "Item": {"id": S("lim-%d" % i)}}} for i in range(101)])
    assert_validation(pattern, ddb.transact_get_items, TransactItems=[
        {"Get": {"TableName": acct, "Key": {"id": S("lim-%d" % i)}}} for i in range(101)])
    assert get(ddb, acct, {"id": S("lim-0")}) is None
    # 100 actions are fine.
    ddb.transact_write_items(TransactItems=[
        {"Put": {"TableName": acct, "Item": {"id": S("lim-%d" % i)}}} for i in range(100)])
    r = ddb.transact_get_items(TransactItems=[
        {"Get": {"TableName": acct, "Key": {"id": S("lim-%d" % i)}}} for i in range(100)])
    assert [x["Item"]["id"]["S"] for x in r["Responses"]] == ["lim-%d" % i for i in range(100)]


def test_empty_and_unknown_table(ddb, acct):
    assert_validation(
        "1 validation error detected: Value '[]' at 'transactItems' failed to satisfy "
        "constraint: Member must have length greater than or equal to 1",
        ddb.transact_write_items, TransactItems=[])
    assert_error("ResourceNotFoundException", NOT_FOUND, ddb.transact_write_items,
                 TransactItems=[{"Put": {"TableName": "no-such-table-tx", "Item": {"id": S("x")}}}])
    assert_error("ResourceNotFoundException", NOT_FOUND, ddb.transact_get_items,
                 TransactItems=[{"Get": {"TableName": "no-such-table-tx", "Key": {"id": S("x")}}}])


def test_table_arn_is_accepted(ddb, acct):
    arn = ddb.describe_table(TableName=acct)["Table"]["TableArn"]
    ddb.transact_write_items(TransactItems=[{"Put": {"TableName": arn,
                                                     "Item": {"id": S("arn-1")}}}])
    r = ddb.transact_get_items(TransactItems=[{"Get": {"TableName": arn,
                                                       "Key": {"id": S("arn-1")}}}])
    assert r["Responses"] == [{"Item": {"id": S("arn-1")}}]


def test_oversized_put_is_a_plain_validation_error(ddb, acct):
    assert_validation("Item size has exceeded the maximum allowed size",
                      ddb.transact_write_items, TransactItems=[
                          {"Put": {"TableName": acct,
                                   "Item": {"id": S("huge"), "v": S("x" * 409600)}}}])


# ---------------------------------------------------------------------------
# Capacity


def test_consumed_capacity(ddb, acct, indexed):
    ddb.put_item(TableName=acct, Item={"id": S("cap-big"), "v": S("z" * 1500)})
    r = ddb.transact_write_items(ReturnConsumedCapacity="INDEXES", TransactItems=[
        # 1 KB put: 2 units.
        {"Put": {"TableName": acct, "Item": {"id": S("cap-1")}}},
        # A check of a ~1.5 KB item: 2 x 2 units.
        {"ConditionCheck": {"TableName": acct, "Key": {"id": S("cap-big")},
                            "ConditionExpression": "attribute_exists(id)"}},
        # A 2.5 KB item (2 x 3) with a GSI (ALL: 3) and an LSI (KEYS_ONLY: 1) entry: index
        # entries cost what they cost outside a transaction.
        {"Put": {"TableName": indexed, "Item": {"p": S("cp"), "s": N(1), "g": S("G"),
                                                 "l": N(1), "d": S("q" * 2500)}}},
    ])
    cap = {c["TableName"]: c for c in r["ConsumedCapacity"]}
    assert cap[acct] == {"TableName": acct, "CapacityUnits": 6.0, "Table": {"CapacityUnits": 6.0}}
    assert cap[indexed] == {
        "TableName": indexed, "CapacityUnits": 10.0, "Table": {"CapacityUnits": 6.0},
        "GlobalSecondaryIndexes": {"by_g": {"CapacityUnits": 3.0}},
        "LocalSecondaryIndexes": {"by_l": {"CapacityUnits": 1.0}}}

    r = ddb.transact_get_items(ReturnConsumedCapacity="TOTAL", TransactItems=[
        {"Get": {"TableName": acct, "Key": {"id": S("cap-big")}}},      # 2
        {"Get": {"TableName": acct, "Key": {"id": S("cap-none")}}},     # 2
        {"Get": {"TableName": indexed, "Key": {"p": S("cp"), "s": N(1)}}},  # 2
    ])
    assert r["ConsumedCapacity"] == [{"TableName": acct, "CapacityUnits": 4.0},
                                     {"TableName": indexed, "CapacityUnits": 2.0}]
    assert r["Responses"][1] == {}


# ---------------------------------------------------------------------------
# Secondary indexes


def query_g(ddb, table, g):
    return ddb.query(TableName=table, IndexName="by_g", KeyConditionExpression="g = :g",
                     ExpressionAttributeValues={":g": S(g)})["Items"]


def test_indexes_follow_transactions(ddb, indexed, acct):
    item = {"p": S("ix"), "s": N(1), "g": S("GX"), "l": N(4)}
    code, _, _ = client_error(ddb.transact_write_items, TransactItems=[
        {"Put": {"TableName": indexed, "Item": item}},
        {"ConditionCheck": {"TableName": acct, "Key": {"id": S("ix-nothing")},
                            "ConditionExpression": "attribute_exists(id)"}},
    ])
    assert code == "TransactionCanceledException"
    assert query_g(ddb, indexed, "GX") == []
    lsi = ddb.query(TableName=indexed, IndexName="by_l", KeyConditionExpression="p = :p",
                    ExpressionAttributeValues={":p": S("ix")}, ConsistentRead=True)
    assert lsi["Items"] == []

    ddb.transact_write_items(TransactItems=[{"Put": {"TableName": indexed, "Item": item}}])
    assert query_g(ddb, indexed, "GX") == [item]
    lsi = ddb.query(TableName=indexed, IndexName="by_l", KeyConditionExpression="p = :p",
                    ExpressionAttributeValues={":p": S("ix")}, ConsistentRead=True)
    assert lsi["Items"] == [{"p": S("ix"), "s": N(1), "l": N(4)}]

    ddb.transact_write_items(TransactItems=[
        update(indexed, {"p": S("ix"), "s": N(1)}, "SET g = :g", {":g": S("GY")})])
    assert query_g(ddb, indexed, "GX") == []
    assert query_g(ddb, indexed, "GY") == [dict(item, g=S("GY"))]

    ddb.transact_write_items(TransactItems=[
        {"Delete": {"TableName": indexed, "Key": {"p": S("ix"), "s": N(1)}}}])
    assert query_g(ddb, indexed, "GY") == []


# ---------------------------------------------------------------------------
# TransactGetItems


def test_get_items_in_order_with_projection(ddb, acct):
    ddb.put_item(TableName=acct, Item={"id": S("g-1"), "bal": N(3), "x": S("y")})
    r = ddb.transact_get_items(TransactItems=[
        {"Get": {"TableName": acct, "Key": {"id": S("g-missing")}}},
        {"Get": {"TableName": acct, "Key": {"id": S("g-1")}, "ProjectionExpression": "#b",
                 "ExpressionAttributeNames": {"#b": "bal"}}},
    ])
    assert r["Responses"] == [{}, {"Item": {"bal": N(3)}}]


def test_get_with_bad_key_is_cancelled(ddb, acct):
    code, msg, resp = client_error(ddb.transact_get_items, TransactItems=[
        {"Get": {"TableName": acct, "Key": {"id": N(1)}}}])
    assert (code, msg) == ("TransactionCanceledException", CANCELLED % "ValidationError")
    assert reasons_of(resp) == [{"Code": "ValidationError", "Message":
                                 "The provided key element does not match the schema"}]


# ---------------------------------------------------------------------------
# Through the cache and other clients


def test_cached_reads_see_transactional_writes(ddb, acct):
    key = {"id": S("cached-1")}
    ddb.put_item(TableName=acct, Item=dict(key, v=N(1)))
    assert ddb.get_item(TableName=acct, Key=key)["Item"]["v"] == N(1)  # now cached
    ddb.transact_write_items(TransactItems=[update(acct, key, "SET v = :v", {":v": N(2)})])
    assert ddb.get_item(TableName=acct, Key=key)["Item"]["v"] == N(2)
    ddb.transact_write_items(TransactItems=[{"Delete": {"TableName": acct, "Key": key}}])
    assert "Item" not in ddb.get_item(TableName=acct, Key=key)


def consumed(endpoint, metric, table, index=None):
    """ddax's per-table counter from /metrics (None when the endpoint has no /metrics)."""
    try:
        with urllib.request.urlopen(endpoint + "/metrics", timeout=10) as r:
            text = r.read().decode("utf-8")
    except (urllib.error.URLError, OSError):
        return None
    labels = 'table="%s"' % table + (',index="%s"' % index if index else "")
    m = re.search(r"^ddax_%s\{%s\} (\S+)$" % (metric, re.escape(labels)), text, re.M)
    return float(m.group(1)) if m else 0.0


def test_units_are_charged_to_tables_and_indexes(endpoint, ddb, make_table):
    """Whether or not the client asks for ConsumedCapacity, the units are counted per table
    and per global secondary index (what throttling and CloudWatch-style metrics see)."""
    t = make_table(hash_key=("p", "S"),
                   AttributeDefinitions=[{"AttributeName": "p", "AttributeType": "S"},
                                         {"AttributeName": "g", "AttributeType": "S"}],
                   GlobalSecondaryIndexes=[{
                       "IndexName": "gix",
                       "KeySchema": [{"AttributeName": "g", "KeyType": "HASH"}],
                       "Projection": {"ProjectionType": "KEYS_ONLY"}}])
    if consumed(endpoint, "ConsumedWriteCapacityUnits", t) is None:
        pytest.skip("the endpoint has no /metrics (not ddax)")
    w0 = consumed(endpoint, "ConsumedWriteCapacityUnits", t)
    g0 = consumed(endpoint, "ConsumedWriteCapacityUnits", t, "gix")
    r0 = consumed(endpoint, "ConsumedReadCapacityUnits", t)
    ddb.transact_write_items(TransactItems=[
        {"Put": {"TableName": t, "Item": {"p": S("u1"), "g": S("x")}}},   # 2 + gix 1
        {"Put": {"TableName": t, "Item": {"p": S("u2")}}},                # 2
    ])
    ddb.transact_get_items(TransactItems=[
        {"Get": {"TableName": t, "Key": {"p": S("u1")}}},                 # 2
        {"Get": {"TableName": t, "Key": {"p": S("u3")}}},                 # 2
    ])
    assert consumed(endpoint, "ConsumedWriteCapacityUnits", t) - w0 == 4.0
    assert consumed(endpoint, "ConsumedWriteCapacityUnits", t, "gix") - g0 == 1.0
    assert consumed(endpoint, "ConsumedReadCapacityUnits", t) - r0 == 4.0
