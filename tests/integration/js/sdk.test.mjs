// ddax driven by the AWS SDK for JavaScript v3, as an application would. Run by
// tests/integration/test_js_sdk.py with DDAX_ENDPOINT set (node --test).
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  DynamoDBClient, CreateTableCommand, DescribeTableCommand, ListTablesCommand, DeleteTableCommand,
  PutItemCommand, GetItemCommand, UpdateItemCommand, DeleteItemCommand,
} from "@aws-sdk/client-dynamodb";

const endpoint = process.env.DDAX_ENDPOINT;
const client = new DynamoDBClient({
  endpoint, region: "us-east-1", maxAttempts: 1,
  credentials: { accessKeyId: "local", secretAccessKey: "local" },
});
const table = `js_sdk_${process.pid}_${Date.now()}`;
const key = (id, n) => ({ pk: { S: id }, sk: { N: String(n) } });

test("a table's life through the JS SDK", async (t) => {
  const created = await client.send(new CreateTableCommand({
    TableName: table, BillingMode: "PAY_PER_REQUEST",
    AttributeDefinitions: [{ AttributeName: "pk", AttributeType: "S" },
                           { AttributeName: "sk", AttributeType: "N" }],
    KeySchema: [{ AttributeName: "pk", KeyType: "HASH" }, { AttributeName: "sk", KeyType: "RANGE" }],
  }));
  assert.equal(created.TableDescription.TableName, table);
  assert.equal(created.TableDescription.BillingModeSummary.BillingMode, "PAY_PER_REQUEST");
  const described = await client.send(new DescribeTableCommand({ TableName: table }));
  assert.equal(described.Table.TableStatus, "ACTIVE");
  assert.equal(described.Table.KeySchema.length, 2);
  const listed = await client.send(new ListTablesCommand({}));
  assert.ok(listed.TableNames.includes(table));

  await t.test("put and get every type, numbers canonical", async () => {
    const item = {
      ...key("a", 1), s: { S: "héllo" }, n: { N: "1.50" }, b: { B: new Uint8Array([0, 1, 255]) },
      t: { BOOL: true }, z: { NULL: true }, l: { L: [{ S: "x" }, { N: "2" }] },
      m: { M: { inner: { SS: ["p", "q"] } } }, ns: { NS: ["3", "1"] },
      bs: { BS: [new Uint8Array([1]), new Uint8Array([2])] },
    };
    await client.send(new PutItemCommand({ TableName: table, Item: item }));
    const got = await client.send(new GetItemCommand({ TableName: table, Key: key("a", 1) }));
    assert.equal(got.Item.s.S, "héllo");
    assert.equal(got.Item.n.N, "1.5");
    assert.deepEqual([...got.Item.b.B], [0, 1, 255]);
    assert.equal(got.Item.t.BOOL, true);
    assert.equal(got.Item.z.NULL, true);
    assert.deepEqual(got.Item.l.L, [{ S: "x" }, { N: "2" }]);
    assert.deepEqual([...got.Item.m.M.inner.SS].sort(), ["p", "q"]);
    assert.deepEqual([...got.Item.ns.NS].sort(), ["1", "3"]);
    assert.equal(got.Item.bs.BS.length, 2);
    const absent = await client.send(new GetItemCommand({ TableName: table, Key: key("nope", 1) }));
    assert.equal(absent.Item, undefined);
  });

  await t.test("conditional failure returns the old item when asked", async () => {
    await client.send(new PutItemCommand({ TableName: table, Item: { ...key("c", 1), v: { N: "7" } } }));
    await assert.rejects(
      client.send(new PutItemCommand({
        TableName: table, Item: { ...key("c", 1), v: { N: "8" } },
        ConditionExpression: "attribute_not_exists(pk)",
        ReturnValuesOnConditionCheckFailure: "ALL_OLD",
      })),
      (err) => {
        assert.equal(err.name, "ConditionalCheckFailedException");
        assert.equal(err.$metadata.httpStatusCode, 400);
        assert.equal(err.Item.v.N, "7");
        return true;
      });
    const got = await client.send(new GetItemCommand({ TableName: table, Key: key("c", 1) }));
    assert.equal(got.Item.v.N, "7", "a failed conditional write must change nothing");
  });

  await t.test("update and delete with return values", async () => {
    const upd = await client.send(new UpdateItemCommand({
      TableName: table, Key: key("u", 1),
      UpdateExpression: "SET #c = if_not_exists(#c, :zero) + :inc, tags = :tags",
      ExpressionAttributeNames: { "#c": "count" },
      ExpressionAttributeValues: { ":zero": { N: "0" }, ":inc": { N: "12345678901234567890.5" },
                                   ":tags": { SS: ["x"] } },
      ReturnValues: "ALL_NEW",
    }));
    assert.equal(upd.Attributes.count.N, "12345678901234567890.5");
    assert.deepEqual(upd.Attributes.tags.SS, ["x"]);
    const del = await client.send(new DeleteItemCommand({
      TableName: table, Key: key("u", 1), ReturnValues: "ALL_OLD",
    }));
    assert.equal(del.Attributes.count.N, "12345678901234567890.5");
    const got = await client.send(new GetItemCommand({ TableName: table, Key: key("u", 1) }));
    assert.equal(got.Item, undefined);
  });

  await t.test("validation errors reach the SDK as typed exceptions", async () => {
    await assert.rejects(
      client.send(new GetItemCommand({ TableName: table, Key: { pk: { S: "a" } } })),
      (err) => err.name === "ValidationException" &&
        err.message === "The provided key element does not match the schema");
    await assert.rejects(
      client.send(new GetItemCommand({ TableName: "no_such_table_here", Key: key("a", 1) })),
      (err) => err.name === "ResourceNotFoundException");
  });

  await client.send(new DeleteTableCommand({ TableName: table }));
  await assert.rejects(client.send(new DescribeTableCommand({ TableName: table })),
                       (err) => err.name === "ResourceNotFoundException");
});
