"""The cache's figures on GET /metrics: Scan pages counted apart from Query pages (DAX's
ScanCacheHits/ScanCacheMisses), write-through counters, and the proxy's upstream failures by
kind (timeout, connect, 5xx, transport), each also logged once.
"""

import http.server
import socket
import threading
import time

import pytest
from botocore.exceptions import ClientError

from conftest import make_client
from test_cache import Stack, scrape
from test_cache_txn import Target
from test_metrics import value
from test_proxy import ddax_bin, free_port

pytestmark = pytest.mark.lifecycle


@pytest.fixture(params=["proxy", "serve"])
def target(request, tmp_path):
    t = Target(tmp_path, request.param)
    yield t
    t.stop()


def test_scan_and_query_pages_counted_apart(target):
    ddb = target.client
    from test_cache_txn import create_table, item
    t = create_table(ddb)
    ddb.put_item(TableName=t, Item=item("P", "1", "x"))
    m0 = scrape(target.url)
    for _ in range(3):
        assert ddb.scan(TableName=t)["Count"] == 1
    for _ in range(2):
        ddb.query(TableName=t, KeyConditionExpression="pk = :p",
                  ExpressionAttributeValues={":p": {"S": "P"}})
    m1 = scrape(target.url)

    def delta(name):
        return value(m1, name) - value(m0, name)

    assert (delta("ddax_ScanCacheMisses"), delta("ddax_ScanCacheHits")) == (1, 2)
    assert (delta("ddax_QueryCacheMisses"), delta("ddax_QueryCacheHits")) == (1, 1)
    assert m1["ddax_ScanCacheHits"]["type"] == "counter"
    # serve has no upstream: no failure series there
    assert ("ddax_upstream_failures_total" in m1) == (target.kind == "proxy")


def test_write_through_counters(target):
    ddb = target.client
    from test_cache_txn import create_table, item, key
    t = create_table(ddb)
    m0 = scrape(target.url)
    ddb.put_item(TableName=t, Item=item("P", "1", "x"))
    ddb.delete_item(TableName=t, Key=key("P", "2"))
    ddb.update_item(TableName=t, Key=key("P", "1"), UpdateExpression="SET v = :v",
                    ExpressionAttributeValues={":v": {"S": "y"}}, ReturnValues="UPDATED_OLD")
    m1 = scrape(target.url)
    for name, d in (("ddax_cache_write_images_total", 1), ("ddax_cache_write_negative_total", 1),
                    ("ddax_cache_write_dropped_total", 1)):
        assert value(m1, name) - value(m0, name) == d, name


# --- upstream failures ---


class FakeUpstream:
    """An HTTP endpoint misbehaving in one way: 'slow' (answers after 2 s), '500' (answers
    500 with a DynamoDB error body) or 'hangup' (closes without answering)."""

    def __init__(self, mode):
        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self):
                self.rfile.read(int(self.headers.get("Content-Length", 0)))
                if mode == "hangup":
                    self.close_connection = True
                    self.connection.shutdown(socket.SHUT_RDWR)
                    return
                if mode == "slow":
                    time.sleep(2)
                body = (b'{"__type":"com.amazonaws.dynamodb.v20120810#InternalServerError",'
                        b'"message":"boom"}')
                self.send_response(500)
                self.send_header("Content-Type", "application/x-amz-json-1.0")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = "http://127.0.0.1:%d" % self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.mark.parametrize("mode,kind,status", [
    ("down", "connect", 503),
    ("slow", "timeout", 500),
    ("500", "5xx", 500),
    ("hangup", "transport", 500),
])
def test_upstream_failures_counted_and_logged(tmp_path, mode, kind, status):
    stack = Stack(tmp_path, ddax_bin())
    fake = None
    try:
        if mode == "down":
            stack.upstream_url = "http://127.0.0.1:%d" % free_port()
        else:
            fake = FakeUpstream(mode)
            stack.upstream_url = fake.url
        url = stack.start_proxy("--upstream-timeout-ms", "500")
        ddb = make_client(url)
        m0 = scrape(url)
        n = 3
        for _ in range(n):
            with pytest.raises(ClientError) as e:
                ddb.get_item(TableName="t", Key={"pk": {"S": "a"}})
            assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == status
        m1 = scrape(url)
        # the SDK may retry a 5xx: count what reached the proxy
        n = value(m1, "ddax_requests_total", op="GetItem") - \
            value(m0, "ddax_requests_total", op="GetItem")
        assert n >= 3
        for k in ("timeout", "connect", "5xx", "transport"):
            d = value(m1, "ddax_upstream_failures_total", kind=k) - \
                value(m0, "ddax_upstream_failures_total", kind=k)
            assert d == (n if k == kind else 0), (k, d)
        assert m1["ddax_upstream_failures_total"]["type"] == "counter"
        # nothing was cached from the failures
        assert value(m1, "ddax_cache_entries") == 0
        # one log line per failure, naming its kind
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            lines = [ln for ln in stack.proxy.output if "(%s)" % kind in ln and "upstream" in ln]
            if len(lines) >= n:
                break
            time.sleep(0.05)
        assert len(lines) == n, stack.proxy.output
    finally:
        stack.stop()
        if fake:
            fake.close()


# --- memory ---


@pytest.mark.parametrize("kind", ["serve", "proxy"])
def test_cache_bytes_limit_holds_as_memory(tmp_path, kind):
    """Many ~300-byte items written and read through a cache of 300 kB: the bytes gauge (each
    entry's real allocation, the bucket arrays and the invalidation records) never exceeds the
    limit, the limit is used, and an entry is charged at least its payload."""
    limit = 300000
    t = Target(tmp_path, kind, "--cache-bytes", str(limit))
    try:
        ddb = t.client
        from test_cache_txn import create_table
        table = create_table(ddb)
        pad = "p" * 250
        n = 3000
        for start in range(0, n, 25):
            ddb.batch_write_item(RequestItems={table: [
                {"PutRequest": {"Item": {"pk": {"S": "k%05d" % i}, "sk": {"S": "s"},
                                         "v": {"S": pad}}}}
                for i in range(start, start + 25)]})
            if start % 500 == 0:
                assert t.metric("ddax_cache_bytes") <= limit
        for i in range(0, n, 7):
            r = ddb.get_item(TableName=table, Key={"pk": {"S": "k%05d" % i}, "sk": {"S": "s"}})
            assert r["Item"]["v"]["S"] == pad
        m = scrape(t.url)
        used, entries = value(m, "ddax_cache_bytes"), value(m, "ddax_cache_entries")
        assert used <= limit
        assert used >= 0.8 * limit  # the memory is used, not wasted
        assert value(m, "ddax_cache_evictions_total") > 0
        assert 300 * entries <= used  # at least the payload of each entry
        assert entries >= 0.8 * limit / 600  # and not much more than that
    finally:
        t.stop()
