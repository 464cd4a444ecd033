"""The AWS CLI (Debian's awscli) against the endpoint: the everyday table and
item commands work and their JSON output parses.
"""

import json
import time
import uuid

import pytest

from conftest import wait_active, wait_gone


def test_cli_table_and_item_lifecycle(aws, ddb):
    name = "itest-cli-" + uuid.uuid4().hex[:10]
    try:
        created = aws("create-table", "--table-name", name,
                      "--attribute-definitions", "AttributeName=id,AttributeType=S",
                      "AttributeName=n,AttributeType=N",
                      "--key-schema", "AttributeName=id,KeyType=HASH",
                      "AttributeName=n,KeyType=RANGE",
                      "--billing-mode", "PAY_PER_REQUEST")
        assert created["TableDescription"]["TableName"] == name
        wait_active(ddb, name)

        desc = aws("describe-table", "--table-name", name)["Table"]
        assert desc["TableStatus"] == "ACTIVE"
        assert desc["KeySchema"] == [{"AttributeName": "id", "KeyType": "HASH"},
                                     {"AttributeName": "n", "KeyType": "RANGE"}]
        assert desc["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"

        listed = aws("list-tables")["TableNames"]
        assert name in listed

        item = {"id": {"S": "k1"}, "n": {"N": "1"}, "txt": {"S": "h\u00e9llo"},
                "tags": {"SS": ["a", "b"]}, "m": {"M": {"x": {"BOOL": True}}}}
        out = aws("put-item", "--table-name", name, "--item", json.dumps(item),
                  "--return-values", "ALL_OLD")
        assert "Attributes" not in out

        got = aws("get-item", "--table-name", name, "--key",
                  json.dumps({"id": {"S": "k1"}, "n": {"N": "1.0"}}), "--consistent-read")
        got["Item"]["tags"]["SS"].sort()
        assert got["Item"] == item

        missing = aws("get-item", "--table-name", name, "--key",
                      json.dumps({"id": {"S": "nope"}, "n": {"N": "1"}}))
        assert "Item" not in missing

        # Errors come back as a non-zero exit with DynamoDB's error code.
        p = aws("put-item", "--table-name", name, "--item", json.dumps({"id": {"S": "k2"}}),
                check=False)
        assert p.returncode != 0
        assert "ValidationException" in p.stderr
        assert "Missing the key n in the item" in p.stderr

        deleted = aws("delete-table", "--table-name", name)
        assert deleted["TableDescription"]["TableName"] == name
        wait_gone(ddb, name)
        p = aws("describe-table", "--table-name", name, check=False)
        assert p.returncode != 0
        assert "ResourceNotFoundException" in p.stderr
    finally:
        try:
            ddb.delete_table(TableName=name)
        except Exception:
            pass


def test_cli_batches_indexes_and_scan(aws, ddb):
    """batch-write-item, batch-get-item, a GSI created by update-table and queried, scan with
    a filter and paging: what the CLI's everyday read path uses."""
    name = "itest-cli-" + uuid.uuid4().hex[:10]
    try:
        aws("create-table", "--table-name", name,
            "--attribute-definitions", "AttributeName=id,AttributeType=S",
            "--key-schema", "AttributeName=id,KeyType=HASH",
            "--billing-mode", "PAY_PER_REQUEST")
        wait_active(ddb, name)

        puts = [{"PutRequest": {"Item": {"id": {"S": "o%d" % i},
                                         "customer": {"S": "ana" if i % 2 else "bo"},
                                         "amount": {"N": str(i)}}}} for i in range(20)]
        out = aws("batch-write-item", "--request-items", json.dumps({name: puts}))
        assert out["UnprocessedItems"] == {}

        keys = [{"id": {"S": "o%d" % i}} for i in (1, 2, 99)]
        got = aws("batch-get-item", "--request-items",
                  json.dumps({name: {"Keys": keys, "ProjectionExpression": "id, amount"}}))
        items = sorted(got["Responses"][name], key=lambda it: it["id"]["S"])
        assert items == [{"id": {"S": "o1"}, "amount": {"N": "1"}},
                         {"id": {"S": "o2"}, "amount": {"N": "2"}}]

        aws("update-table", "--table-name", name,
            "--attribute-definitions", "AttributeName=customer,AttributeType=S",
            "--global-secondary-index-updates", json.dumps([{"Create": {
                "IndexName": "by_customer",
                "KeySchema": [{"AttributeName": "customer", "KeyType": "HASH"}],
                "Projection": {"ProjectionType": "ALL"}}}]))
        wait_active(ddb, name)

        deadline = time.time() + 30
        while True:
            gsis = aws("describe-table", "--table-name", name)["Table"]["GlobalSecondaryIndexes"]
            if gsis[0]["IndexStatus"] == "ACTIVE" or time.time() > deadline:
                break
            time.sleep(0.2)
        assert gsis[0]["IndexStatus"] == "ACTIVE"

        q = aws("query", "--table-name", name, "--index-name", "by_customer",
                "--key-condition-expression", "customer = :c",
                "--expression-attribute-values", json.dumps({":c": {"S": "ana"}}))
        assert sorted(int(it["amount"]["N"]) for it in q["Items"]) == list(range(1, 20, 2))

        # The CLI pages through Scan by itself (--page-size sets the Limit of each call).
        s = aws("scan", "--table-name", name, "--filter-expression", "#t >= :m",
                "--expression-attribute-names", json.dumps({"#t": "amount"}),
                "--expression-attribute-values", json.dumps({":m": {"N": "15"}}),
                "--page-size", "4")
        assert sorted(int(it["amount"]["N"]) for it in s["Items"]) == [15, 16, 17, 18, 19]
        assert s["ScannedCount"] == 20
    finally:
        aws("delete-table", "--table-name", name, check=False)
