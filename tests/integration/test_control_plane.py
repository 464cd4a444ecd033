"""The control plane's odds and ends: tags (TagResource, UntagResource,
ListTagsOfResource), DescribeLimits, DescribeEndpoints, table ARNs in place of
TableName, deletion protection, table classes, and table status transitions
(CREATING / UPDATING / DELETING) with a configured delay.

Error texts are DynamoDB's as measured against the real service.
"""

import json
import time
import uuid

import pytest
from botocore.exceptions import ClientError

from conftest import (REGION, assert_error, assert_validation, client_error, make_client,
                      unique_name, wait_active, wait_gone)


def arn_of(ddb, name):
    return ddb.describe_table(TableName=name)["Table"]["TableArn"]


def tags_dict(ddb, arn):
    return {t["Key"]: t["Value"] for t in ddb.list_tags_of_resource(ResourceArn=arn)["Tags"]}


# ---------------------------------------------------------------------------
# Tags


def test_tags_lifecycle(ddb, make_table):
    name = make_table()
    arn = arn_of(ddb, name)
    assert ddb.list_tags_of_resource(ResourceArn=arn)["Tags"] == []
    ddb.tag_resource(ResourceArn=arn, Tags=[{"Key": "team", "Value": "db"},
                                            {"Key": "env", "Value": ""}])
    assert tags_dict(ddb, arn) == {"team": "db", "env": ""}
    # Same key again: the value is replaced; new keys are added.
    ddb.tag_resource(ResourceArn=arn, Tags=[{"Key": "team", "Value": "cache"},
                                            {"Key": "Team", "Value": "x"}])
    assert tags_dict(ddb, arn) == {"team": "cache", "env": "", "Team": "x"}
    # Removing absent keys is allowed.
    ddb.untag_resource(ResourceArn=arn, TagKeys=["env", "nope"])
    assert tags_dict(ddb, arn) == {"team": "cache", "Team": "x"}
    ddb.untag_resource(ResourceArn=arn, TagKeys=["team", "Team"])
    resp = ddb.list_tags_of_resource(ResourceArn=arn)
    assert resp["Tags"] == [] and "NextToken" not in resp


def test_tags_allowed_characters_and_lengths(ddb, make_table):
    name = make_table()
    arn = arn_of(ddb, name)
    tags = [{"Key": "k" * 128, "Value": "v" * 256},
            {"Key": "sp ace", "Value": "a+b-c=d.e_f:g/h@i"},
            {"Key": "ключ", "Value": "表 café"},
            {"Key": "myaws:x", "Value": "1"}]
    ddb.tag_resource(ResourceArn=arn, Tags=tags)
    assert tags_dict(ddb, arn) == {t["Key"]: t["Value"] for t in tags}


def test_tag_resource_errors(ddb, make_table):
    name = make_table()
    arn = arn_of(ddb, name)
    bad_key = "The Tag Key provided is invalid, Key: %s"
    bad_value = "The Tag Value provided is invalid, Value: %s"
    cases = [
        ({"Tags": [{"Key": "a", "Value": "b"}]}, "Invalid TableArn"),
        ({"ResourceArn": arn}, "1 validation error detected: Value null at 'tags' failed to "
                               "satisfy constraint: Member must not be null"),
        ({"ResourceArn": arn, "Tags": []}, "Atleast one Tag needs to be provided as Input."),
        ({"ResourceArn": arn, "Tags": [{"Key": "k" * 129, "Value": "v"}]}, bad_key % ("k" * 129)),
        ({"ResourceArn": arn, "Tags": [{"Key": "", "Value": "v"}]}, bad_key % ""),
        ({"ResourceArn": arn, "Tags": [{"Value": "v"}]}, bad_key % "null"),
        ({"ResourceArn": arn, "Tags": [{"Key": "bad#char", "Value": "v"}]}, bad_key % "bad#char"),
        ({"ResourceArn": arn, "Tags": [{"Key": "k", "Value": "x" * 257}]}, bad_value % ("x" * 257)),
        ({"ResourceArn": arn, "Tags": [{"Key": "k"}]}, bad_value % "null"),
        ({"ResourceArn": arn, "Tags": [{"Key": "k", "Value": "100%"}]}, bad_value % "100%"),
        ({"ResourceArn": arn, "Tags": [{"Key": "k", "Value": "\U0001F511"}]},
         bad_value % "\U0001F511"),
        ({"ResourceArn": arn, "Tags": [{"Key": "ok", "Value": "1"}, {"Key": "aws:foo", "Value": "x"}]},
         "Tag Key cannot be prefixed with aws:, Key: aws:foo"),
        ({"ResourceArn": arn, "Tags": [{"Key": "AWS:foo", "Value": "x"}]},
         "Tag Key cannot be prefixed with aws:, Key: AWS:foo"),
        ({"ResourceArn": arn, "Tags": [{"Key": "dup", "Value": "1"}, {"Key": "dup", "Value": "2"}]},
         "Duplicate Tag Keys provided as input: Duplicate Tag Key found dup"),
        ({"ResourceArn": arn, "Tags": [{"Key": "k%d" % i, "Value": "v"} for i in range(51)]},
         "Number of Tags exceed the current limit for the provided ResourceArn"),
    ]
    for args, msg in cases:
        assert_validation(msg, ddb.tag_resource, **args)
    # Every rejected request is all-or-nothing: the good tag of a mixed request is not set.
    assert tags_dict(ddb, arn) == {}


def test_tag_limit_counts_after_merge(ddb, make_table):
    name = make_table()
    arn = arn_of(ddb, name)
    ddb.tag_resource(ResourceArn=arn, Tags=[{"Key": "k%02d" % i, "Value": "v"} for i in range(50)])
    assert len(tags_dict(ddb, arn)) == 50
    msg = "Number of Tags exceed the current limit for the provided ResourceArn"
    assert_validation(msg, ddb.tag_resource, ResourceArn=arn, Tags=[{"Key": "k50", "Value": "v"}])
    assert_validation(msg, ddb.tag_resource, ResourceArn=arn,
                      Tags=[{"Key": "k01", "Value": "new"}, {"Key": "k50", "Value": "v"}])
    # Changing existing keys keeps the count at 50.
    ddb.tag_resource(ResourceArn=arn, Tags=[{"Key": "k01", "Value": "new"}])
    got = tags_dict(ddb, arn)
    assert len(got) == 50 and got["k01"] == "new"


def test_resource_arn_errors(ddb, make_table):
    name = make_table()
    arn = arn_of(ddb, name)
    account = arn.split(":")[4]
    tag = [{"Key": "a", "Value": "b"}]
    prefix = "One or more parameter values were invalid: "
    invalid = "Invalid TableArn: Invalid ResourceArn provided as input %s"
    cases = [
        ("I_do_not_exist", prefix + "ARNs must start with 'arn:': I_do_not_exist"),
        ("arn:not/a/good/format", invalid % "arn:not/a/good/format"),
        ("arn:aws:s3:::bucket/x", prefix + "Provided Arn is not a DynamoDB resource arn: "
                                           "arn:aws:s3:::bucket/x"),
        (arn + "/index/gsi", prefix + "Invalid resource arn provided, only table or stream is "
                                      "accepted. Provided resource arn: " + arn + "/index/gsi"),
        ("arn:aws:dynamodb:%s:%s:table/ab" % (REGION, account),
         invalid % ("arn:aws:dynamodb:%s:%s:table/ab" % (REGION, account))),
        (arn.replace(REGION, "xx-west-9"), invalid % arn.replace(REGION, "xx-west-9")),
    ]
    for bad, msg in cases:
        assert_validation(msg, ddb.tag_resource, ResourceArn=bad, Tags=tag)
        assert_validation(msg, ddb.list_tags_of_resource, ResourceArn=bad)
        assert_validation(msg, ddb.untag_resource, ResourceArn=bad, TagKeys=["a"])
    assert_validation("Invalid TableArn", ddb.list_tags_of_resource)
    # A well-formed ARN of a table that does not exist.
    missing = arn + "x"
    nf = "Requested resource not found: ResourceArn: %s not found" % missing
    assert_error("ResourceNotFoundException", nf, ddb.tag_resource, ResourceArn=missing, Tags=tag)
    assert_error("ResourceNotFoundException", nf, ddb.list_tags_of_resource, ResourceArn=missing)
    assert_error("ResourceNotFoundException", nf, ddb.untag_resource, ResourceArn=missing,
                 TagKeys=["a"])


def test_untag_resource_errors(ddb, make_table):
    name = make_table()
    arn = arn_of(ddb, name)
    cases = [
        ({"TagKeys": ["a"]}, "Invalid TableArn"),
        ({"ResourceArn": arn}, "1 validation error detected: Value null at 'tagKeys' failed to "
                               "satisfy constraint: Member must not be null"),
        ({"ResourceArn": arn, "TagKeys": []}, "Atleast one Tag Key needs to be provided as Input."),
        ({"ResourceArn": arn, "TagKeys": [""]}, "The Tag Key provided is invalid, Key: "),
        ({"ResourceArn": arn, "TagKeys": ["k" * 129]},
         "The Tag Key provided is invalid, Key: " + "k" * 129),
        ({"ResourceArn": arn, "TagKeys": ["aws:foo"]},
         "Tag Key cannot be prefixed with aws:, Key: aws:foo"),
        ({"ResourceArn": arn, "TagKeys": ["k%d" % i for i in range(51)]},
         "Number of Tags exceed the current limit for the provided ResourceArn"),
    ]
    for args, msg in cases:
        assert_validation(msg, ddb.untag_resource, **args)


def test_tag_serialization_errors(ddb, make_table, raw):
    name = make_table()
    arn = arn_of(ddb, name)
    for op, body in [("TagResource", {"ResourceArn": arn, "Tags": {"Key": "a"}}),
                     ("TagResource", {"ResourceArn": arn, "Tags": [{"Key": 1, "Value": "a"}]}),
                     ("TagResource", {"ResourceArn": arn, "Tags": ["a"]}),
                     ("UntagResource", {"ResourceArn": arn, "TagKeys": [5]}),
                     ("ListTagsOfResource", {"ResourceArn": 7})]:
        r = raw(op, body)
        assert r.status == 400
        assert r.json()["__type"].endswith("#SerializationException"), (op, body, r.json())


def test_create_table_tags(ddb, make_table):
    tags = [{"Key": "owner", "Value": "me"}, {"Key": "cost", "Value": "42"}]
    name = make_table(Tags=tags)
    arn = arn_of(ddb, name)
    assert ddb.list_tags_of_resource(ResourceArn=arn)["Tags"] == tags


def test_create_table_bad_tags_creates_nothing(ddb):
    name = unique_name()
    base = dict(TableName=name, BillingMode="PAY_PER_REQUEST",
                KeySchema=[{"AttributeName": "p", "KeyType": "HASH"}],
                AttributeDefinitions=[{"AttributeName": "p", "AttributeType": "S"}])
    assert_validation("Number of Tags exceed the current limit for the provided ResourceArn",
                      ddb.create_table, Tags=[{"Key": str(i), "Value": str(i)} for i in range(51)],
                      **base)
    assert_validation("Tag Key cannot be prefixed with aws:, Key: aws:x", ddb.create_table,
                      Tags=[{"Key": "aws:x", "Value": "1"}], **base)
    assert_validation("The Tag Key provided is invalid, Key: a!", ddb.create_table,
                      Tags=[{"Key": "a!", "Value": "1"}], **base)
    assert_error("ResourceNotFoundException", None, ddb.describe_table, TableName=name)


def test_tags_go_away_with_the_table(ddb):
    name = unique_name()
    ddb.create_table(TableName=name, BillingMode="PAY_PER_REQUEST",
                     KeySchema=[{"AttributeName": "p", "KeyType": "HASH"}],
                     AttributeDefinitions=[{"AttributeName": "p", "AttributeType": "S"}],
                     Tags=[{"Key": "old", "Value": "1"}])
    wait_active(ddb, name)
    arn = arn_of(ddb, name)
    ddb.delete_table(TableName=name)
    wait_gone(ddb, name)
    assert_error("ResourceNotFoundException", None, ddb.list_tags_of_resource, ResourceArn=arn)
    ddb.create_table(TableName=name, BillingMode="PAY_PER_REQUEST",
                     KeySchema=[{"AttributeName": "p", "KeyType": "HASH"}],
                     AttributeDefinitions=[{"AttributeName": "p", "AttributeType": "S"}])
    try:
        wait_active(ddb, name)
        assert ddb.list_tags_of_resource(ResourceArn=arn)["Tags"] == []
    finally:
        ddb.delete_table(TableName=name)


def test_tags_keep_other_settings(ddb, make_table):
    name = make_table(StreamSpecification={"StreamEnabled": True,
                                           "StreamViewType": "NEW_IMAGE"},
                      TableClass="STANDARD_INFREQUENT_ACCESS")
    arn = arn_of(ddb, name)
    before = ddb.describe_table(TableName=name)["Table"]
    ddb.tag_resource(ResourceArn=arn, Tags=[{"Key": "a", "Value": "b"}])
    ddb.untag_resource(ResourceArn=arn, TagKeys=["a"])
    after = ddb.describe_table(TableName=name)["Table"]
    assert after["StreamSpecification"] == before["StreamSpecification"]
    assert after["LatestStreamArn"] == before["LatestStreamArn"]
    assert after["TableClassSummary"]["TableClass"] == "STANDARD_INFREQUENT_ACCESS"


@pytest.mark.lifecycle
def test_tags_survive_restart(server_factory):
    server = server_factory()
    client = make_client(server.start())
    name = unique_name()
    client.create_table(TableName=name, BillingMode="PAY_PER_REQUEST",
                        KeySchema=[{"AttributeName": "p", "KeyType": "HASH"}],
                        AttributeDefinitions=[{"AttributeName": "p", "AttributeType": "S"}],
                        Tags=[{"Key": "created", "Value": "yes"}])
    wait_active(client, name)
    arn = arn_of(client, name)
    client.tag_resource(ResourceArn=arn, Tags=[{"Key": "added", "Value": "later"}])
    server.stop()
    client = make_client(server.start())
    assert tags_dict(client, arn) == {"created": "yes", "added": "later"}


# ---------------------------------------------------------------------------
# DescribeLimits / DescribeEndpoints


def test_describe_limits(ddb):
    resp = ddb.describe_limits()
    resp.pop("ResponseMetadata")
    assert resp == {"AccountMaxReadCapacityUnits": 80000, "AccountMaxWriteCapacityUnits": 80000,
                    "TableMaxReadCapacityUnits": 40000, "TableMaxWriteCapacityUnits": 40000}


def test_describe_endpoints(ddb):
    resp = ddb.describe_endpoints()
    assert resp["Endpoints"] == [{"Address": "dynamodb.%s.amazonaws.com" % REGION,
                                  "CachePeriodInMinutes": 1440}]


# ---------------------------------------------------------------------------
# A table ARN wherever a TableName goes


def test_table_arn_as_table_name(ddb, make_table):
    name = make_table(range_key=("sk", "N"))
    arn = arn_of(ddb, name)
    assert ddb.describe_table(TableName=arn)["Table"]["TableName"] == name
    ddb.put_item(TableName=arn, Item={"pk": {"S": "a"}, "sk": {"N": "1"}, "v": {"S": "x"}})
    got = ddb.get_item(TableName=arn, Key={"pk": {"S": "a"}, "sk": {"N": "1"}})
    assert got["Item"]["v"] == {"S": "x"}
    ddb.update_item(TableName=arn, Key={"pk": {"S": "a"}, "sk": {"N": "1"}},
                    UpdateExpression="SET v = :v", ExpressionAttributeValues={":v": {"S": "y"}})
    q = ddb.query(TableName=arn, KeyConditionExpression="pk = :p",
                  ExpressionAttributeValues={":p": {"S": "a"}})
    assert q["Count"] == 1 and q["Items"][0]["v"] == {"S": "y"}
    assert ddb.scan(TableName=arn)["Count"] == 1
    b = ddb.batch_get_item(RequestItems={arn: {"Keys": [{"pk": {"S": "a"}, "sk": {"N": "1"}}]}})
    assert len(b["Responses"][arn]) == 1
    ddb.put_item(TableName=arn, Item={"pk": {"S": "b"}, "sk": {"N": "2"}})
    assert ddb.scan(TableName=name)["Count"] == 2
    ddb.delete_item(TableName=arn, Key={"pk": {"S": "b"}, "sk": {"N": "2"}})
    assert ddb.scan(TableName=name)["Count"] == 1
    ddb.transact_write_items(TransactItems=[{"Put": {"TableName": arn, "Item": {
        "pk": {"S": "t"}, "sk": {"N": "3"}}}}])
    tg = ddb.transact_get_items(TransactItems=[{"Get": {"TableName": arn, "Key": {
        "pk": {"S": "t"}, "sk": {"N": "3"}}}}])
    assert tg["Responses"][0]["Item"]["pk"] == {"S": "t"}
    ddb.update_time_to_live(TableName=arn, TimeToLiveSpecification={"Enabled": True,
                                                                     "AttributeName": "exp"})
    ttl = ddb.describe_time_to_live(TableName=arn)["TimeToLiveDescription"]
    assert ttl["AttributeName"] == "exp"
    upd = ddb.update_table(TableName=arn, TableClass="STANDARD_INFREQUENT_ACCESS")
    assert upd["TableDescription"]["TableName"] == name
    wait_active(ddb, name)
    ddb.delete_table(TableName=arn)
    wait_gone(ddb, name)


def test_table_arn_in_batch_write(ddb, make_table):
    name = make_table()
    arn = arn_of(ddb, name)
    ddb.batch_write_item(RequestItems={arn: [{"PutRequest": {"Item": {"pk": {"S": "b"}}}}]})
    assert ddb.scan(TableName=name)["Count"] == 1


def test_table_arn_of_missing_table(ddb, make_table):
    name = make_table()
    arn = arn_of(ddb, name) + "zz"
    code, msg, _ = client_error(ddb.describe_table, TableName=arn)
    assert code == "ResourceNotFoundException"
    code, _, _ = client_error(ddb.get_item, TableName=arn, Key={"pk": {"S": "a"}})
    assert code == "ResourceNotFoundException"


# ---------------------------------------------------------------------------
# Deletion protection and table class


def call(raw, op, body):
    """One request by raw HTTP (Debian's boto3 predates DeletionProtectionEnabled)."""
    r = raw(op, body)
    return r.status, r.json()


PROTECTED = ("Resource cannot be deleted as it is currently protected against deletion. "
             "Disable deletion protection first.")


def test_deletion_protection(ddb, raw):
    name = unique_name()
    st, body = call(raw, "CreateTable", {
        "TableName": name, "BillingMode": "PAY_PER_REQUEST", "DeletionProtectionEnabled": True,
        "KeySchema": [{"AttributeName": "p", "KeyType": "HASH"}],
        "AttributeDefinitions": [{"AttributeName": "p", "AttributeType": "S"}]})
    assert st == 200 and body["TableDescription"]["DeletionProtectionEnabled"] is True
    wait_active(ddb, name)
    arn = arn_of(ddb, name)
    assert call(raw, "DescribeTable", {"TableName": name})[1]["Table"][
        "DeletionProtectionEnabled"] is True
    for ident in (name, arn):
        st, body = call(raw, "DeleteTable", {"TableName": ident})
        assert st == 400 and body["__type"].endswith("#ValidationException")
        assert body["message"] == PROTECTED
    assert ddb.describe_table(TableName=name)["Table"]["TableStatus"] == "ACTIVE"
    st, body = call(raw, "UpdateTable", {"TableName": name, "DeletionProtectionEnabled": False})
    assert st == 200 and body["TableDescription"]["DeletionProtectionEnabled"] is False
    st, body = call(raw, "UpdateTable", {"TableName": arn, "DeletionProtectionEnabled": True})
    assert st == 200 and body["TableDescription"]["DeletionProtectionEnabled"] is True
    assert call(raw, "DeleteTable", {"TableName": name})[0] == 400
    st, body = call(raw, "UpdateTable", {"TableName": name, "DeletionProtectionEnabled": False,
                                         "BillingMode": "PAY_PER_REQUEST"})
    assert st == 400 and body["message"] == (
        "One or more parameter values were invalid: DeletionProtection modification must be "
        "the only operation in the request")
    assert call(raw, "UpdateTable", {"TableName": name,
                                     "DeletionProtectionEnabled": False})[0] == 200
    assert "DeletionProtectionEnabled" not in ddb.describe_table(TableName=name)["Table"] or \
        ddb.describe_table(TableName=name)["Table"]["DeletionProtectionEnabled"] is False
    ddb.delete_table(TableName=name)
    wait_gone(ddb, name)


def test_table_class(ddb, make_table):
    plain = make_table()
    assert "TableClassSummary" not in ddb.describe_table(TableName=plain)["Table"]
    name = make_table(TableClass="STANDARD_INFREQUENT_ACCESS")
    t = ddb.describe_table(TableName=name)["Table"]
    assert t["TableClassSummary"]["TableClass"] == "STANDARD_INFREQUENT_ACCESS"
    resp = ddb.update_table(TableName=name, TableClass="STANDARD")
    assert resp["TableDescription"]["TableClassSummary"]["TableClass"] == "STANDARD"
    t = wait_active(ddb, name)
    assert t["TableClassSummary"]["TableClass"] == "STANDARD"
    assert "LastUpdateDateTime" in t["TableClassSummary"]
    bad = ("Invalid table-class parameter provided. Please try again with a valid table-class "
           "value: [STANDARD, STANDARD_INFREQUENT_ACCESS].")
    assert_validation(bad, ddb.update_table, TableName=name, TableClass="GLACIER")
    assert_validation(bad, ddb.create_table, TableName=unique_name(),
                      BillingMode="PAY_PER_REQUEST", TableClass="GLACIER",
                      KeySchema=[{"AttributeName": "p", "KeyType": "HASH"}],
                      AttributeDefinitions=[{"AttributeName": "p", "AttributeType": "S"}])


# ---------------------------------------------------------------------------
# Status transitions with a delay

DELAY = 0.5


@pytest.fixture
def slow(server_factory):
    server = server_factory(nosync=True, args=["--table-status-delay-ms", str(int(DELAY * 1000))])
    url = server.start()
    return server, make_client(url)


def create(client, name, **extra):
    args = dict(TableName=name, BillingMode="PAY_PER_REQUEST",
                KeySchema=[{"AttributeName": "p", "KeyType": "HASH"}],
                AttributeDefinitions=[{"AttributeName": "p", "AttributeType": "S"}])
    args.update(extra)
    return client.create_table(**args)


@pytest.mark.lifecycle
def test_creating_then_active(slow):
    _, c = slow
    name = unique_name()
    resp = create(c, name)
    assert resp["TableDescription"]["TableStatus"] == "CREATING"
    assert c.describe_table(TableName=name)["Table"]["TableStatus"] == "CREATING"
    assert name in c.list_tables()["TableNames"]
    nf = "Requested resource not found"
    assert_error("ResourceNotFoundException", nf, c.put_item, TableName=name,
                 Item={"p": {"S": "a"}})
    assert_error("ResourceNotFoundException", nf, c.get_item, TableName=name,
                 Key={"p": {"S": "a"}})
    assert_error("ResourceNotFoundException", None, c.scan, TableName=name)
    assert_error("ResourceInUseException", "Table already exists: " + name, create, c, name)
    assert_error("ResourceInUseException",
                 "Attempt to change a resource which is still in use: Table is being created: "
                 + name, c.delete_table, TableName=name)
    assert_error("ResourceInUseException",
                 "Attempt to change a resource which is still in use: Table is being created: "
                 + name, c.update_table, TableName=name, TableClass="STANDARD_INFREQUENT_ACCESS")
    arn = resp["TableDescription"]["TableArn"]
    assert_error("ResourceNotFoundException",
                 "Requested resource not found: ResourceArn: %s not found" % arn,
                 c.list_tags_of_resource, ResourceArn=arn)
    time.sleep(DELAY + 0.1)
    assert c.describe_table(TableName=name)["Table"]["TableStatus"] == "ACTIVE"
    c.put_item(TableName=name, Item={"p": {"S": "a"}})
    assert c.get_item(TableName=name, Key={"p": {"S": "a"}})["Item"] == {"p": {"S": "a"}}


@pytest.mark.lifecycle
def test_gsis_creating_with_table(slow):
    _, c = slow
    name = unique_name()
    create(c, name, AttributeDefinitions=[{"AttributeName": "p", "AttributeType": "S"},
                                          {"AttributeName": "g", "AttributeType": "S"}],
           GlobalSecondaryIndexes=[{"IndexName": "gsi1",
                                    "KeySchema": [{"AttributeName": "g", "KeyType": "HASH"}],
                                    "Projection": {"ProjectionType": "ALL"}}])
    t = c.describe_table(TableName=name)["Table"]
    assert t["TableStatus"] == "CREATING"
    assert t["GlobalSecondaryIndexes"][0]["IndexStatus"] == "CREATING"
    t = wait_active(c, name, timeout=10)
    assert t["GlobalSecondaryIndexes"][0]["IndexStatus"] == "ACTIVE"


@pytest.mark.lifecycle
def test_updating_then_active(slow):
    _, c = slow
    name = unique_name()
    create(c, name, BillingMode="PROVISIONED",
           ProvisionedThroughput={"ReadCapacityUnits": 5, "WriteCapacityUnits": 5})
    wait_active(c, name, timeout=10)
    resp = c.update_table(TableName=name, ProvisionedThroughput={"ReadCapacityUnits": 6,
                                                                 "WriteCapacityUnits": 6})
    assert resp["TableDescription"]["TableStatus"] == "UPDATING"
    assert c.describe_table(TableName=name)["Table"]["TableStatus"] == "UPDATING"
    assert_error("ResourceInUseException",
                 "Attempt to change a resource which is still in use: Table is being updated: "
                 + name, c.update_table, TableName=name,
                 ProvisionedThroughput={"ReadCapacityUnits": 7, "WriteCapacityUnits": 7})
    # Items stay readable and writable while the table is UPDATING.
    c.put_item(TableName=name, Item={"p": {"S": "u"}})
    assert "Item" in c.get_item(TableName=name, Key={"p": {"S": "u"}})
    t = wait_active(c, name, timeout=10)
    assert t["ProvisionedThroughput"]["ReadCapacityUnits"] == 6
    c.update_table(TableName=name, ProvisionedThroughput={"ReadCapacityUnits": 7,
                                                          "WriteCapacityUnits": 7})


@pytest.mark.lifecycle
def test_gsi_throughput_updating_with_delay(slow):
    _, c = slow
    name = unique_name()
    create(c, name, BillingMode="PROVISIONED",
           ProvisionedThroughput={"ReadCapacityUnits": 5, "WriteCapacityUnits": 5},
           AttributeDefinitions=[{"AttributeName": "p", "AttributeType": "S"},
                                 {"AttributeName": "g", "AttributeType": "S"}],
           GlobalSecondaryIndexes=[{
               "IndexName": "gsi1", "KeySchema": [{"AttributeName": "g", "KeyType": "HASH"}],
               "Projection": {"ProjectionType": "KEYS_ONLY"},
               "ProvisionedThroughput": {"ReadCapacityUnits": 5, "WriteCapacityUnits": 5}}])
    wait_active(c, name, timeout=10)
    arn = arn_of(c, name)
    resp = c.update_table(TableName=name, GlobalSecondaryIndexUpdates=[{"Update": {
        "IndexName": "gsi1",
        "ProvisionedThroughput": {"ReadCapacityUnits": 9, "WriteCapacityUnits": 9}}}])
    assert resp["TableDescription"]["TableStatus"] == "UPDATING"
    g = c.describe_table(TableName=name)["Table"]["GlobalSecondaryIndexes"][0]
    assert g["IndexStatus"] == "UPDATING"
    assert g["ProvisionedThroughput"]["ReadCapacityUnits"] == 9
    # Tags can change while the table is UPDATING; the table cannot be deleted.
    c.tag_resource(ResourceArn=arn, Tags=[{"Key": "k", "Value": "v"}])
    assert_error("ResourceInUseException",
                 "Attempt to change a resource which is still in use: Table is being updated: "
                 + name, c.delete_table, TableName=name)
    t = wait_active(c, name, timeout=10)
    assert t["GlobalSecondaryIndexes"][0]["IndexStatus"] == "ACTIVE"
    assert tags_dict(c, arn) == {"k": "v"}
    c.delete_table(TableName=name)
    assert_error("ResourceInUseException",
                 "Attempt to change a resource which is still in use: Table is being deleted: "
                 + name, c.delete_table, TableName=name)


@pytest.mark.lifecycle
def test_gsi_create_and_delete_with_delay(slow):
    _, c = slow
    name = unique_name()
    create(c, name)
    wait_active(c, name, timeout=10)
    c.put_item(TableName=name, Item={"p": {"S": "1"}, "g": {"S": "x"}})
    resp = c.update_table(
        TableName=name,
        AttributeDefinitions=[{"AttributeName": "g", "AttributeType": "S"}],
        GlobalSecondaryIndexUpdates=[{"Create": {
            "IndexName": "gsi1", "KeySchema": [{"AttributeName": "g", "KeyType": "HASH"}],
            "Projection": {"ProjectionType": "ALL"}}}])
    assert resp["TableDescription"]["TableStatus"] == "UPDATING"
    t = c.describe_table(TableName=name)["Table"]
    assert t["TableStatus"] == "UPDATING"
    assert t["GlobalSecondaryIndexes"][0]["IndexStatus"] == "CREATING"
    t = wait_active(c, name, timeout=10)
    assert t["GlobalSecondaryIndexes"][0]["IndexStatus"] == "ACTIVE"
    q = c.query(TableName=name, IndexName="gsi1", KeyConditionExpression="g = :g",
                ExpressionAttributeValues={":g": {"S": "x"}})
    assert q["Count"] == 1
    resp = c.update_table(TableName=name,
                          GlobalSecondaryIndexUpdates=[{"Delete": {"IndexName": "gsi1"}}])
    assert resp["TableDescription"]["GlobalSecondaryIndexes"][0]["IndexStatus"] == "DELETING"
    t = c.describe_table(TableName=name)["Table"]
    assert t["TableStatus"] == "UPDATING"
    assert t["GlobalSecondaryIndexes"][0]["IndexStatus"] == "DELETING"
    # Writes go on while the index is being deleted.
    c.put_item(TableName=name, Item={"p": {"S": "2"}, "g": {"S": "x"}})
    t = wait_active(c, name, timeout=10)
    assert "GlobalSecondaryIndexes" not in t


@pytest.mark.lifecycle
def test_deleting_then_gone(slow):
    _, c = slow
    name = unique_name()
    create(c, name, Tags=[{"Key": "a", "Value": "b"}])
    wait_active(c, name, timeout=10)
    c.put_item(TableName=name, Item={"p": {"S": "a"}})
    resp = c.delete_table(TableName=name)
    assert resp["TableDescription"]["TableStatus"] == "DELETING"
    assert c.describe_table(TableName=name)["Table"]["TableStatus"] == "DELETING"
    assert name in c.list_tables()["TableNames"]
    assert_error("ResourceInUseException", "Table already exists: " + name, create, c, name)
    assert_error("ResourceInUseException",
                 "Attempt to change a resource which is still in use: Table is being deleted: "
                 + name, c.update_table, TableName=name, TableClass="STANDARD_INFREQUENT_ACCESS")
    assert_error("ResourceNotFoundException", None, c.get_item, TableName=name,
                 Key={"p": {"S": "a"}})
    wait_gone(c, name, timeout=10)
    assert name not in c.list_tables()["TableNames"]
    # The name is free again, and the new table starts empty and untagged.
    create(c, name)
    wait_active(c, name, timeout=10)
    assert c.scan(TableName=name)["Count"] == 0
    assert c.list_tags_of_resource(ResourceArn=arn_of(c, name))["Tags"] == []


@pytest.mark.lifecycle
def test_waiters(slow):
    _, c = slow
    name = unique_name()
    create(c, name)
    start = time.time()
    c.get_waiter("table_exists").wait(TableName=name, WaiterConfig={"Delay": 1, "MaxAttempts": 10})
    assert c.describe_table(TableName=name)["Table"]["TableStatus"] == "ACTIVE"
    c.delete_table(TableName=name)
    c.get_waiter("table_not_exists").wait(TableName=name,
                                          WaiterConfig={"Delay": 1, "MaxAttempts": 10})
    assert time.time() - start < 15


@pytest.mark.lifecycle
def test_transition_survives_restart(server_factory):
    # A table CREATING at shutdown is ACTIVE after a restart past its delay; one DELETING is gone.
    server = server_factory(nosync=True, args=["--table-status-delay-ms", "400"])
    c = make_client(server.start())
    a, b = unique_name(), unique_name()
    create(c, b)
    wait_active(c, b, timeout=10)
    create(c, a)
    c.delete_table(TableName=b)
    assert c.describe_table(TableName=a)["Table"]["TableStatus"] == "CREATING"
    server.stop()
    time.sleep(0.5)
    c = make_client(server.start())
    assert c.describe_table(TableName=a)["Table"]["TableStatus"] == "ACTIVE"
    assert_error("ResourceNotFoundException", None, c.describe_table, TableName=b)
    assert sorted(c.list_tables()["TableNames"]) == [a]
    create(c, b)


@pytest.mark.lifecycle
def test_no_delay_is_immediate(make_table, ddb):
    name = unique_name()
    resp = create(ddb, name)
    try:
        assert resp["TableDescription"]["TableStatus"] == "CREATING"
        assert ddb.describe_table(TableName=name)["Table"]["TableStatus"] == "ACTIVE"
    finally:
        ddb.delete_table(TableName=name)
    assert_error("ResourceNotFoundException", None, ddb.describe_table, TableName=name)


# ---------------------------------------------------------------------------
# The AWS CLI


def test_cli_tags_and_limits(aws, ddb, make_table):
    name = make_table()
    arn = arn_of(ddb, name)
    aws("tag-resource", "--resource-arn", arn, "--tags", "Key=Owner,Value=blueTeam",
        "Key=env,Value=prod")
    got = aws("list-tags-of-resource", "--resource-arn", arn)
    assert sorted((t["Key"], t["Value"]) for t in got["Tags"]) == [("Owner", "blueTeam"),
                                                                   ("env", "prod")]
    aws("untag-resource", "--resource-arn", arn, "--tag-keys", "env")
    got = aws("list-tags-of-resource", "--resource-arn", arn)
    assert got["Tags"] == [{"Key": "Owner", "Value": "blueTeam"}]
    p = aws("tag-resource", "--resource-arn", arn, "--tags", "Key=aws:x,Value=1", check=False)
    assert p.returncode != 0 and "ValidationException" in p.stderr
    limits = aws("describe-limits")
    assert limits["TableMaxReadCapacityUnits"] == 40000
    assert limits["AccountMaxWriteCapacityUnits"] == 80000
    ep = aws("describe-endpoints")
    assert ep["Endpoints"][0]["Address"] == "dynamodb.%s.amazonaws.com" % REGION
