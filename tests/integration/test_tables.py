"""Control plane: CreateTable, DescribeTable, ListTables, UpdateTable, DeleteTable.

Expectations follow real DynamoDB (AWS API reference and observed messages).
"""

import datetime
import re
import uuid

import pytest

from conftest import (assert_error, assert_validation, key_schema_args, unique_name,
                      wait_active, wait_gone)

ARN_RE = re.compile(r"^arn:aws[a-z-]*:dynamodb:[a-z0-9-]+:\d{12}:table/(.+)$")
UUID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
PPR = {"BillingMode": "PAY_PER_REQUEST"}
PT5 = {"ProvisionedThroughput": {"ReadCapacityUnits": 5, "WriteCapacityUnits": 5}}


def create_args(name, hash_key=("pk", "S"), range_key=None, **extra):
    ks, ad = key_schema_args(hash_key, range_key)
    args = {"TableName": name, "KeySchema": ks, "AttributeDefinitions": ad}
    args.update(extra)
    return args


# ---------------------------------------------------------------------------
# CreateTable / DescribeTable


def test_create_hash_only_on_demand_response(ddb, make_table):
    name = unique_name()
    resp = ddb.create_table(**create_args(name, **PPR))
    make_table.names.append(name)
    d = resp["TableDescription"]
    assert d["TableName"] == name
    assert d["TableStatus"] in ("CREATING", "ACTIVE")
    assert d["KeySchema"] == [{"AttributeName": "pk", "KeyType": "HASH"}]
    assert d["AttributeDefinitions"] == [{"AttributeName": "pk", "AttributeType": "S"}]
    assert d["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"
    assert d["ProvisionedThroughput"]["ReadCapacityUnits"] == 0
    assert d["ProvisionedThroughput"]["WriteCapacityUnits"] == 0
    assert d["ProvisionedThroughput"]["NumberOfDecreasesToday"] == 0
    assert d["ItemCount"] == 0
    assert d["TableSizeBytes"] == 0
    assert ARN_RE.match(d["TableArn"]).group(1) == name
    assert d["TableId"]
    assert isinstance(d["CreationDateTime"], datetime.datetime)


@pytest.mark.dynalite_differs  # dynalite's TableId is 8-4-4-4-8 hex
def test_table_id_is_uuid(ddb, make_table):
    name = make_table()
    assert UUID_RE.match(ddb.describe_table(TableName=name)["Table"]["TableId"])


def test_describe_table_fields_and_stable_id(ddb, make_table):
    name = unique_name()
    created = ddb.create_table(**create_args(name, range_key=("sk", "N"), **PT5))
    make_table.names.append(name)
    wait_active(ddb, name)
    t1 = ddb.describe_table(TableName=name)["Table"]
    t2 = ddb.describe_table(TableName=name)["Table"]
    assert t1["TableStatus"] == "ACTIVE"
    assert t1["TableId"] == t2["TableId"] == created["TableDescription"]["TableId"]
    assert t1["TableArn"] == t2["TableArn"] == created["TableDescription"]["TableArn"]
    assert ARN_RE.match(t1["TableArn"]).group(1) == name
    assert t1["CreationDateTime"] == t2["CreationDateTime"]
    now = datetime.datetime.now(datetime.timezone.utc)
    assert abs((now - t1["CreationDateTime"]).total_seconds()) < 600
    assert t1["KeySchema"] == [{"AttributeName": "pk", "KeyType": "HASH"},
                               {"AttributeName": "sk", "KeyType": "RANGE"}]
    assert sorted(t1["AttributeDefinitions"], key=lambda a: a["AttributeName"]) == [
        {"AttributeName": "pk", "AttributeType": "S"},
        {"AttributeName": "sk", "AttributeType": "N"}]
    pt = t1["ProvisionedThroughput"]
    assert (pt["ReadCapacityUnits"], pt["WriteCapacityUnits"]) == (5, 5)
    assert pt["NumberOfDecreasesToday"] == 0
    assert t1.get("BillingModeSummary", {}).get("BillingMode", "PROVISIONED") == "PROVISIONED"
    assert t1["ItemCount"] == 0
    assert t1["TableSizeBytes"] == 0


def test_describe_on_demand_billing_summary(ddb, make_table):
    name = make_table(billing="PAY_PER_REQUEST")
    t = ddb.describe_table(TableName=name)["Table"]
    assert t["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"
    assert t["ProvisionedThroughput"]["ReadCapacityUnits"] == 0
    assert t["ProvisionedThroughput"]["WriteCapacityUnits"] == 0


def test_create_with_binary_and_number_keys(ddb, make_table):
    name = make_table(hash_key=("h", "B"), range_key=("r", "N"))
    t = ddb.describe_table(TableName=name)["Table"]
    types = {a["AttributeName"]: a["AttributeType"] for a in t["AttributeDefinitions"]}
    assert types == {"h": "B", "r": "N"}


def test_create_with_lsi_and_gsi_described(ddb, make_table):
    name = unique_name()
    args = create_args(name, range_key=("sk", "S"), **PT5)
    args["AttributeDefinitions"] += [{"AttributeName": "lsk", "AttributeType": "N"},
                                     {"AttributeName": "gpk", "AttributeType": "S"}]
    args["LocalSecondaryIndexes"] = [{
        "IndexName": "by_lsk",
        "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"},
                      {"AttributeName": "lsk", "KeyType": "RANGE"}],
        "Projection": {"ProjectionType": "INCLUDE", "NonKeyAttributes": ["x", "y"]},
    }]
    args["GlobalSecondaryIndexes"] = [{
        "IndexName": "by_gpk",
        "KeySchema": [{"AttributeName": "gpk", "KeyType": "HASH"}],
        "Projection": {"ProjectionType": "KEYS_ONLY"},
        "ProvisionedThroughput": {"ReadCapacityUnits": 3, "WriteCapacityUnits": 4},
    }]
    ddb.create_table(**args)
    make_table.names.append(name)
    t = wait_active(ddb, name)
    assert len(t["AttributeDefinitions"]) == 4
    [lsi] = t["LocalSecondaryIndexes"]
    assert lsi["IndexName"] == "by_lsk"
    assert lsi["KeySchema"] == args["LocalSecondaryIndexes"][0]["KeySchema"]
    assert lsi["Projection"]["ProjectionType"] == "INCLUDE"
    assert sorted(lsi["Projection"]["NonKeyAttributes"]) == ["x", "y"]
    assert lsi["IndexArn"] == t["TableArn"] + "/index/by_lsk"
    assert lsi["ItemCount"] == 0 and lsi["IndexSizeBytes"] == 0
    [gsi] = t["GlobalSecondaryIndexes"]
    assert gsi["IndexName"] == "by_gpk"
    assert gsi["KeySchema"] == [{"AttributeName": "gpk", "KeyType": "HASH"}]
    assert gsi["Projection"] == {"ProjectionType": "KEYS_ONLY"}
    assert gsi["IndexStatus"] == "ACTIVE"
    assert gsi["IndexArn"] == t["TableArn"] + "/index/by_gpk"
    assert gsi["ProvisionedThroughput"]["ReadCapacityUnits"] == 3
    assert gsi["ProvisionedThroughput"]["WriteCapacityUnits"] == 4


def test_create_on_demand_gsi_without_throughput(ddb, make_table):
    name = unique_name()
    args = create_args(name, **PPR)
    args["AttributeDefinitions"].append({"AttributeName": "g", "AttributeType": "N"})
    args["GlobalSecondaryIndexes"] = [{
        "IndexName": "gidx", "KeySchema": [{"AttributeName": "g", "KeyType": "HASH"}],
        "Projection": {"ProjectionType": "ALL"}}]
    ddb.create_table(**args)
    make_table.names.append(name)
    t = wait_active(ddb, name)
    assert t["GlobalSecondaryIndexes"][0]["Projection"] == {"ProjectionType": "ALL"}


def test_create_existing_table_resource_in_use(ddb, make_table):
    name = make_table()
    assert_error("ResourceInUseException", None, ddb.create_table, **create_args(name, **PPR))


@pytest.mark.dynalite_differs
def test_create_existing_table_message(ddb, make_table):
    name = make_table()
    assert_error("ResourceInUseException", "Table already exists: " + name,
                 ddb.create_table, **create_args(name, **PPR))


# ---------------------------------------------------------------------------
# CreateTable validation


def name_length_error(name):
    # DynamoDB has answered this in two wordings over the years; accept either.
    return re.compile(
        r"^(TableName must be at least 3 characters long and at most 255 characters long"
        r"|1 validation error detected: Value '%s' at 'tableName' failed to satisfy "
        r"constraint: Member must have length (greater than or equal to 3|less than or "
        r"equal to 255))$" % re.escape(name))


@pytest.mark.parametrize("name", ["ab", "a" * 256])
def test_create_bad_table_name_length(ddb, name):
    assert_validation(name_length_error(name), ddb.create_table, **create_args(name, **PPR))


@pytest.mark.parametrize("name", ["abc;def", "has space", "caf\u00e9"])
def test_create_bad_table_name_chars(ddb, name):
    assert_validation(
        "1 validation error detected: Value '%s' at 'tableName' failed to satisfy constraint: "
        "Member must satisfy regular expression pattern: [a-zA-Z0-9_.-]+" % name,
        ddb.create_table, **create_args(name, **PPR))


def test_table_name_limits_accepted(ddb, make_table):
    # 3 and 255 characters from the whole allowed alphabet are fine.
    short = "a.%s" % uuid.uuid4().hex[0]
    make_table(TableName=short)
    long_name = ("Z_-.9" + uuid.uuid4().hex) .ljust(255, "x")
    make_table(TableName=long_name)
    names = set()
    for n in (short, long_name):
        names.add(ddb.describe_table(TableName=n)["Table"]["TableName"])
    assert names == {short, long_name}


def test_describe_bad_table_name_validated(ddb):
    assert_validation(name_length_error("a" * 256), ddb.describe_table, TableName="a" * 256)
    assert_validation(
        "1 validation error detected: Value 'a/b' at 'tableName' failed to satisfy constraint: "
        "Member must satisfy regular expression pattern: [a-zA-Z0-9_.-]+",
        ddb.describe_table, TableName="a/b")


def test_key_attribute_not_defined(ddb):
    assert_validation(
        "One or more parameter values were invalid: Some index key attributes are not defined in "
        "AttributeDefinitions. Keys: [pk], AttributeDefinitions: [other]",
        ddb.create_table, TableName=unique_name(),
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "other", "AttributeType": "S"}], **PPR)


def test_unused_attribute_definition(ddb):
    assert_validation(
        "One or more parameter values were invalid: Number of attributes in KeySchema does not "
        "exactly match number of attributes defined in AttributeDefinitions",
        ddb.create_table, TableName=unique_name(),
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"},
                              {"AttributeName": "extra", "AttributeType": "S"}], **PPR)


def test_first_key_not_hash(ddb):
    assert_validation(
        "Invalid KeySchema: The first KeySchemaElement is not a HASH key type",
        ddb.create_table, TableName=unique_name(),
        KeySchema=[{"AttributeName": "a", "KeyType": "RANGE"},
                   {"AttributeName": "b", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "a", "AttributeType": "S"},
                              {"AttributeName": "b", "AttributeType": "S"}], **PPR)


def test_hash_and_range_same_name(ddb):
    assert_validation(
        re.compile(r"^(Invalid KeySchema: Some index key attribute have no definition|Both the "
                   r"Hash Key and the Range Key element in the KeySchema have the same name)$"),
        ddb.create_table, TableName=unique_name(),
        KeySchema=[{"AttributeName": "a", "KeyType": "HASH"},
                   {"AttributeName": "a", "KeyType": "RANGE"}],
        AttributeDefinitions=[{"AttributeName": "a", "AttributeType": "S"}], **PPR)


def test_bad_attribute_type_enum(ddb):
    assert_validation(
        "1 validation error detected: Value 'X' at 'attributeDefinitions.1.member.attributeType' "
        "failed to satisfy constraint: Member must satisfy enum value set: [B, N, S]",
        ddb.create_table, TableName=unique_name(),
        KeySchema=[{"AttributeName": "a", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "a", "AttributeType": "X"}], **PPR)


def test_too_many_key_elements(ddb):
    assert_validation(
        re.compile(r"at 'keySchema' failed to satisfy constraint: "
                   r"Member must have length less than or equal to 2"),
        ddb.create_table, TableName=unique_name(),
        KeySchema=[{"AttributeName": n, "KeyType": t}
                   for n, t in (("a", "HASH"), ("b", "RANGE"), ("c", "RANGE"))],
        AttributeDefinitions=[{"AttributeName": n, "AttributeType": "S"} for n in "abc"], **PPR)


def test_on_demand_with_throughput_rejected(ddb):
    assert_validation(
        "One or more parameter values were invalid: Neither ReadCapacityUnits nor "
        "WriteCapacityUnits can be specified when BillingMode is PAY_PER_REQUEST",
        ddb.create_table, **create_args(unique_name(), **PPR, **PT5))


def test_provisioned_without_throughput_rejected(ddb):
    assert_validation(
        "One or more parameter values were invalid: ReadCapacityUnits and WriteCapacityUnits "
        "must both be specified when BillingMode is PROVISIONED",
        ddb.create_table, **create_args(unique_name()))
    assert_validation(
        "One or more parameter values were invalid: ReadCapacityUnits and WriteCapacityUnits "
        "must both be specified when BillingMode is PROVISIONED",
        ddb.create_table, **create_args(unique_name(), BillingMode="PROVISIONED"))


def test_throughput_below_one_rejected(ddb):
    assert_validation(
        "1 validation error detected: Value '0' at 'provisionedThroughput.readCapacityUnits' "
        "failed to satisfy constraint: Member must have value greater than or equal to 1",
        ddb.create_table, **create_args(
            unique_name(),
            ProvisionedThroughput={"ReadCapacityUnits": 0, "WriteCapacityUnits": 5}))


def test_two_validation_errors_reported_together(ddb):
    msg = assert_validation(
        re.compile(r"^2 validation errors detected: "),
        ddb.create_table, **create_args(
            unique_name(),
            ProvisionedThroughput={"ReadCapacityUnits": 0, "WriteCapacityUnits": 0}))
    assert "provisionedThroughput.readCapacityUnits" in msg
    assert "provisionedThroughput.writeCapacityUnits" in msg


def test_bad_billing_mode_enum(ddb):
    assert_validation(
        "1 validation error detected: Value 'FREE' at 'billingMode' failed to satisfy constraint: "
        "Member must satisfy enum value set: [PROVISIONED, PAY_PER_REQUEST]",
        ddb.create_table, **create_args(unique_name(), BillingMode="FREE"))


def test_lsi_requires_table_range_key(ddb):
    args = create_args(unique_name(), **PPR)
    args["AttributeDefinitions"].append({"AttributeName": "l", "AttributeType": "S"})
    args["LocalSecondaryIndexes"] = [{
        "IndexName": "lidx",
        "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"},
                      {"AttributeName": "l", "KeyType": "RANGE"}],
        "Projection": {"ProjectionType": "ALL"}}]
    assert_validation(
        "One or more parameter values were invalid: Table KeySchema does not have a range key, "
        "which is required when specifying a LocalSecondaryIndex",
        ddb.create_table, **args)


def test_lsi_must_share_hash_key(ddb):
    args = create_args(unique_name(), range_key=("sk", "S"), **PPR)
    args["AttributeDefinitions"] += [{"AttributeName": "o", "AttributeType": "S"},
                                     {"AttributeName": "l", "AttributeType": "S"}]
    args["LocalSecondaryIndexes"] = [{
        "IndexName": "lidx",
        "KeySchema": [{"AttributeName": "o", "KeyType": "HASH"},
                      {"AttributeName": "l", "KeyType": "RANGE"}],
        "Projection": {"ProjectionType": "ALL"}}]
    assert_validation(re.compile(r"^One or more parameter values were invalid: "),
                      ddb.create_table, **args)


def test_gsi_key_not_defined(ddb):
    args = create_args(unique_name(), **PPR)
    args["GlobalSecondaryIndexes"] = [{
        "IndexName": "gidx", "KeySchema": [{"AttributeName": "nope", "KeyType": "HASH"}],
        "Projection": {"ProjectionType": "ALL"}}]
    assert_validation(
        "One or more parameter values were invalid: Some index key attributes are not defined "
        "in AttributeDefinitions. Keys: [nope], AttributeDefinitions: [pk]",
        ddb.create_table, **args)


def test_duplicate_index_name(ddb):
    args = create_args(unique_name(), **PPR)
    args["AttributeDefinitions"].append({"AttributeName": "g", "AttributeType": "S"})
    gsi = {"IndexName": "gidx", "KeySchema": [{"AttributeName": "g", "KeyType": "HASH"}],
           "Projection": {"ProjectionType": "ALL"}}
    args["GlobalSecondaryIndexes"] = [gsi, dict(gsi)]
    assert_validation(
        "One or more parameter values were invalid: Duplicate index name: gidx",
        ddb.create_table, **args)


def test_projection_nonkey_attributes_only_with_include(ddb):
    args = create_args(unique_name(), **PPR)
    args["AttributeDefinitions"].append({"AttributeName": "g", "AttributeType": "S"})
    args["GlobalSecondaryIndexes"] = [{
        "IndexName": "gidx", "KeySchema": [{"AttributeName": "g", "KeyType": "HASH"}],
        "Projection": {"ProjectionType": "ALL", "NonKeyAttributes": ["a"]}}]
    assert_validation(
        "One or more parameter values were invalid: ProjectionType is ALL, but NonKeyAttributes "
        "is specified",
        ddb.create_table, **args)


def test_index_name_too_short(ddb):
    args = create_args(unique_name(), **PPR)
    args["AttributeDefinitions"].append({"AttributeName": "g", "AttributeType": "S"})
    args["GlobalSecondaryIndexes"] = [{
        "IndexName": "ab", "KeySchema": [{"AttributeName": "g", "KeyType": "HASH"}],
        "Projection": {"ProjectionType": "ALL"}}]
    assert_validation(
        "1 validation error detected: Value 'ab' at 'globalSecondaryIndexes.1.member.indexName' "
        "failed to satisfy constraint: Member must have length greater than or equal to 3",
        ddb.create_table, **args)


def test_projection_type_missing(ddb):
    args = create_args(unique_name(), **PPR)
    args["AttributeDefinitions"].append({"AttributeName": "g", "AttributeType": "S"})
    args["GlobalSecondaryIndexes"] = [{
        "IndexName": "gidx", "KeySchema": [{"AttributeName": "g", "KeyType": "HASH"}],
        "Projection": {}}]
    assert_validation("One or more parameter values were invalid: Unknown ProjectionType: null",
                      ddb.create_table, **args)


def test_too_many_local_indexes(ddb):
    args = create_args(unique_name(), range_key=("sk", "S"), **PPR)
    args["LocalSecondaryIndexes"] = []
    for i in range(6):
        args["AttributeDefinitions"].append({"AttributeName": "l%d" % i, "AttributeType": "S"})
        args["LocalSecondaryIndexes"].append({
            "IndexName": "lidx%d" % i,
            "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"},
                          {"AttributeName": "l%d" % i, "KeyType": "RANGE"}],
            "Projection": {"ProjectionType": "KEYS_ONLY"}})
    assert_validation(
        "One or more parameter values were invalid: Number of LocalSecondaryIndexes exceeds "
        "per-table limit of 5",
        ddb.create_table, **args)


def test_on_demand_gsi_with_throughput_rejected(ddb):
    args = create_args(unique_name(), **PPR)
    args["AttributeDefinitions"].append({"AttributeName": "g", "AttributeType": "S"})
    args["GlobalSecondaryIndexes"] = [{
        "IndexName": "gidx", "KeySchema": [{"AttributeName": "g", "KeyType": "HASH"}],
        "Projection": {"ProjectionType": "ALL"},
        "ProvisionedThroughput": {"ReadCapacityUnits": 1, "WriteCapacityUnits": 1}}]
    assert_validation(
        "One or more parameter values were invalid: ProvisionedThroughput should not be "
        "specified for index: gidx when BillingMode is PAY_PER_REQUEST",
        ddb.create_table, **args)


def test_missing_key_schema(ddb):
    assert_validation(
        re.compile(r"Value null at 'keySchema' failed to satisfy constraint: "
                   r"Member must not be null"),
        ddb.create_table, TableName=unique_name(),
        AttributeDefinitions=[{"AttributeName": "a", "AttributeType": "S"}], **PPR)


# ---------------------------------------------------------------------------
# ListTables


def test_list_tables_paging(ddb, make_table):
    prefix = "itest-lt-%s-" % uuid.uuid4().hex[:8]
    names = [make_table(TableName=prefix + s, wait=False) for s in ("a", "b", "c")]
    for n in names:
        wait_active(ddb, n)
    # Names come back sorted; ExclusiveStartTableName starts strictly after the name.
    r = ddb.list_tables(ExclusiveStartTableName=names[0], Limit=1)
    assert r["TableNames"] == [names[1]]
    assert r["LastEvaluatedTableName"] == names[1]
    r = ddb.list_tables(ExclusiveStartTableName=names[1], Limit=1)
    assert r["TableNames"] == [names[2]]
    # A full walk with Limit=1 visits every table exactly once, in order.
    seen, start = [], None
    for _ in range(10000):
        kw = {"Limit": 1}
        if start:
            kw["ExclusiveStartTableName"] = start
        r = ddb.list_tables(**kw)
        assert len(r["TableNames"]) <= 1
        seen += r["TableNames"]
        start = r.get("LastEvaluatedTableName")
        if not start:
            break
    assert seen == sorted(seen)
    assert len(seen) == len(set(seen))
    assert [n for n in seen if n.startswith(prefix)] == names
    # Without a limit all of them are listed.
    all_names = ddb.list_tables(ExclusiveStartTableName=prefix)["TableNames"]
    assert all_names[:3] == names


def test_list_tables_start_name_need_not_exist(ddb, make_table):
    prefix = "itest-ls-%s-" % uuid.uuid4().hex[:8]
    a = make_table(TableName=prefix + "b")
    r = ddb.list_tables(ExclusiveStartTableName=prefix + "a", Limit=1)
    assert r["TableNames"] == [a]


@pytest.mark.parametrize("limit,constraint", [
    (0, "Member must have value greater than or equal to 1"),
    (101, "Member must have value less than or equal to 100"),
])
def test_list_tables_bad_limit(ddb, limit, constraint):
    assert_validation(
        "1 validation error detected: Value '%d' at 'limit' failed to satisfy constraint: %s"
        % (limit, constraint),
        ddb.list_tables, Limit=limit)


# ---------------------------------------------------------------------------
# DeleteTable / missing tables


def test_delete_table(ddb, make_table):
    name = make_table()
    d = ddb.delete_table(TableName=name)["TableDescription"]
    assert d["TableName"] == name
    assert d["TableStatus"] in ("DELETING", "ACTIVE")
    wait_gone(ddb, name)
    assert name not in ddb.list_tables(ExclusiveStartTableName=name[:-1])["TableNames"]
    assert_error("ResourceNotFoundException",
                 "Requested resource not found: Table: %s not found" % name,
                 ddb.delete_table, TableName=name)


def test_deleted_table_name_can_be_reused(ddb, make_table):
    name = make_table()
    ddb.put_item(TableName=name, Item={"pk": {"S": "x"}})
    ddb.delete_table(TableName=name)
    wait_gone(ddb, name)
    make_table(TableName=name)
    assert "Item" not in ddb.get_item(TableName=name, Key={"pk": {"S": "x"}})


def test_missing_table_errors(ddb):
    name = unique_name("itest-missing")
    assert_error("ResourceNotFoundException",
                 "Requested resource not found: Table: %s not found" % name,
                 ddb.describe_table, TableName=name)
    assert_error("ResourceNotFoundException", "Requested resource not found",
                 ddb.put_item, TableName=name, Item={"pk": {"S": "a"}})
    assert_error("ResourceNotFoundException", "Requested resource not found",
                 ddb.get_item, TableName=name, Key={"pk": {"S": "a"}})
    assert_error("ResourceNotFoundException", None,
                 ddb.update_table, TableName=name, BillingMode="PAY_PER_REQUEST")


# ---------------------------------------------------------------------------
# UpdateTable


def test_update_provisioned_throughput(ddb, make_table):
    name = make_table(billing="PROVISIONED")
    d = ddb.update_table(TableName=name, ProvisionedThroughput={
        "ReadCapacityUnits": 7, "WriteCapacityUnits": 9})["TableDescription"]
    assert d["TableName"] == name
    assert d["TableStatus"] in ("UPDATING", "ACTIVE")
    t = wait_active(ddb, name)
    assert t["ProvisionedThroughput"]["ReadCapacityUnits"] == 7
    assert t["ProvisionedThroughput"]["WriteCapacityUnits"] == 9


def test_update_throughput_unchanged_rejected(ddb, make_table):
    name = make_table(billing="PROVISIONED")
    assert_validation(
        "The provisioned throughput for the table will not change. The requested value equals "
        "the current value. Current ReadCapacityUnits provisioned for the table: 5. Requested "
        "ReadCapacityUnits: 5. Current WriteCapacityUnits provisioned for the table: 5. "
        "Requested WriteCapacityUnits: 5. Refer to the Amazon DynamoDB Developer Guide for "
        "current limits and how to request higher limits.",
        ddb.update_table, TableName=name, **PT5)


def test_update_billing_to_on_demand_and_back(ddb, make_table):
    name = make_table(billing="PROVISIONED")
    ddb.update_table(TableName=name, BillingMode="PAY_PER_REQUEST")
    t = wait_active(ddb, name)
    assert t["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"
    assert t["ProvisionedThroughput"]["ReadCapacityUnits"] == 0
    assert t["ProvisionedThroughput"]["WriteCapacityUnits"] == 0
    # Data survives a billing mode change.
    ddb.put_item(TableName=name, Item={"pk": {"S": "k"}, "v": {"N": "1"}})
    ddb.update_table(TableName=name, BillingMode="PROVISIONED", ProvisionedThroughput={
        "ReadCapacityUnits": 2, "WriteCapacityUnits": 3})
    t = wait_active(ddb, name)
    assert t["BillingModeSummary"]["BillingMode"] == "PROVISIONED"
    assert t["ProvisionedThroughput"]["ReadCapacityUnits"] == 2
    assert t["ProvisionedThroughput"]["WriteCapacityUnits"] == 3
    assert ddb.get_item(TableName=name, Key={"pk": {"S": "k"}})["Item"]["v"] == {"N": "1"}


def test_update_on_demand_with_throughput_rejected(ddb, make_table):
    name = make_table(billing="PAY_PER_REQUEST")
    assert_validation(
        "One or more parameter values were invalid: Neither ReadCapacityUnits nor "
        "WriteCapacityUnits can be specified when BillingMode is PAY_PER_REQUEST",
        ddb.update_table, TableName=name, **PT5)


def test_update_to_provisioned_requires_throughput(ddb, make_table):
    name = make_table(billing="PAY_PER_REQUEST")
    assert_validation(
        "One or more parameter values were invalid: ProvisionedThroughput must be specified "
        "when BillingMode is PROVISIONED",
        ddb.update_table, TableName=name, BillingMode="PROVISIONED")


def test_update_table_nothing_to_update(ddb, make_table):
    name = make_table()
    assert_validation(re.compile(r"^At least one of ProvisionedThroughput, BillingMode, "),
                      ddb.update_table, TableName=name)
