// Transactions through the AWS SDK for JavaScript v3, which models what Debian's boto3 lacks
// (ReturnValuesOnConditionCheckFailure on transaction items) and parses CancellationReasons
// into TransactionCanceledException. Run by tests/integration/test_transactions.py with
// DDAX_ENDPOINT set (node --test).
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  DynamoDBClient, CreateTableCommand, DeleteTableCommand, PutItemCommand, GetItemCommand,
  TransactWriteItemsCommand, TransactGetItemsCommand, TransactionCanceledException,
} from "@aws-sdk/client-dynamodb";

const endpoint = process.env.DDAX_ENDPOINT;
const client = new DynamoDBClient({
  endpoint, region: "us-east-1", maxAttempts: 1,
  credentials: { accessKeyId: "local", secretAccessKey: "local" },
});
const table = `js_txn_${process.pid}_${Date.now()}`;
const CANCELLED = "Transaction cancelled, please refer cancellation reasons for specific reasons";

test("transactions through the JS SDK", async (t) => {
  await client.send(new CreateTableCommand({
    TableName: table, BillingMode: "PAY_PER_REQUEST",
    AttributeDefinitions: [{ AttributeName: "id", AttributeType: "S" }],
    KeySchema: [{ AttributeName: "id", KeyType: "HASH" }],
  }));
  await client.send(new PutItemCommand({ TableName: table, Item: { id: { S: "a" }, bal: { N: "10" } } }));

  await t.test("ALL_OLD returns the item that failed its condition", async () => {
    const err = await client.send(new TransactWriteItemsCommand({
      TransactItems: [
        { Put: { TableName: table, Item: { id: { S: "n" } }, ConditionExpression: "attribute_not_exists(id)" } },
        { Update: { TableName: table, Key: { id: { S: "a" } }, UpdateExpression: "SET bal = bal - :v",
                    ConditionExpression: "bal >= :v", ExpressionAttributeValues: { ":v": { N: "50" } },
                    ReturnValuesOnConditionCheckFailure: "ALL_OLD" } },
        { ConditionCheck: { TableName: table, Key: { id: { S: "zz" } }, ConditionExpression: "attribute_exists(id)",
                            ReturnValuesOnConditionCheckFailure: "ALL_OLD" } },
      ],
    })).then(() => null, (e) => e);
    assert.ok(err instanceof TransactionCanceledException, String(err));
    assert.equal(err.message, `${CANCELLED} [None, ConditionalCheckFailed, ConditionalCheckFailed]`);
    assert.deepEqual(err.CancellationReasons, [
      { Code: "None" },
      { Code: "ConditionalCheckFailed", Message: "The conditional request failed",
        Item: { id: { S: "a" }, bal: { N: "10" } } },
      { Code: "ConditionalCheckFailed", Message: "The conditional request failed" },
    ]);
    const got = await client.send(new GetItemCommand({ TableName: table, Key: { id: { S: "n" } }, ConsistentRead: true }));
    assert.equal(got.Item, undefined);
  });

  await t.test("a ClientRequestToken retry answers the same and writes once", async () => {
    const input = {
      ClientRequestToken: `js-${process.pid}-${Date.now()}`,
      TransactItems: [{ Update: { TableName: table, Key: { id: { S: "a" } }, UpdateExpression: "ADD bal :one",
                                  ExpressionAttributeValues: { ":one": { N: "1" } } } }],
    };
    await client.send(new TransactWriteItemsCommand(input));
    await client.send(new TransactWriteItemsCommand(input));
    const r = await client.send(new TransactGetItemsCommand({
      TransactItems: [{ Get: { TableName: table, Key: { id: { S: "a" } } } }],
    }));
    assert.equal(r.Responses[0].Item.bal.N, "11");
  });

  await client.send(new DeleteTableCommand({ TableName: table }));
});
