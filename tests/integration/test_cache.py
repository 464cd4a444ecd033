"""Cache semantics of `ddax proxy`: TTLs, invalidation, eviction, coalescing, failed writes.

Each test starts its own upstream (`ddax backend` from DDAX_BIN on a free port, --nosync, a
temporary data directory; or dynalite when installed) and `ddax proxy --upstream` in front of it
with the cache options the test needs. Staleness is produced by writing directly at the upstream,
behind the proxy's back; the proxy's and the backend's GET /metrics show what was served from
cache and what reached the upstream.
"""

import http.client
import http.server
import json
import os
import shutil
import signal
import socket
import subprocess
import threading
import time
import urllib.parse
import urllib.request

import pytest
from botocore.exceptions import ClientError

from conftest import connect, make_client, signed_headers, unique_name, wait_active
from test_metrics import parse, value
from test_proxy import Proc, ddax_bin, free_port

pytestmark = pytest.mark.lifecycle

DYNALITE_DIR = os.environ.get("DYNALITE_DIR", "/work/tools/node_modules/dynalite")


def scrape(url):
    with urllib.request.urlopen(url + "/metrics", timeout=10) as r:
        return parse(r.read().decode("utf-8"))


class Stack:
    """An upstream and a proxy in front of it; stop() ends both."""

    def __init__(self, tmp_path, binary):
        self.tmp_path = tmp_path
        self.binary = binary
        self.backend = None
        self.dynalite = None
        self.proxy = None
        self.upstream_url = None
        self.data = None

    def start_backend(self, port=0):
        if self.data is None:
            self.data = self.tmp_path / "upstream-data"
            self.data.mkdir()
        self.backend = Proc([self.binary, "backend", "--port", str(port), "--bind", "127.0.0.1",
                             "--nosync", "--data", str(self.data)])
        self.upstream_url = self.backend.start()
        return self.upstream_url

    def start_dynalite(self):
        node = shutil.which("node")
        if not node or not os.path.exists(os.path.join(DYNALITE_DIR, "cli.js")):
            pytest.skip("dynalite is not installed (set DYNALITE_DIR)")
        port = free_port()
        self.dynalite = subprocess.Popen(
            [node, os.path.join(DYNALITE_DIR, "cli.js"), "--port", str(port)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.1)
        self.upstream_url = "http://127.0.0.1:%d" % port
        return self.upstream_url

    def start_proxy(self, *opts):
        self.proxy = Proc([self.binary, "proxy", "--port", "0", "--bind", "127.0.0.1",
                           "--threads", "4", "--upstream", self.upstream_url,
                           "--upstream-timeout-ms", "3000", *opts])
        self.proxy.start()
        return self.proxy.url

    def stop(self):
        if self.proxy:
            self.proxy.kill(signal.SIGTERM)
        if self.backend:
            self.backend.kill(signal.SIGTERM)
        if self.dynalite:
            self.dynalite.kill()
            self.dynalite.wait()


@pytest.fixture
def stack(tmp_path):
    s = Stack(tmp_path, ddax_bin())
    yield s
    s.stop()


def start(stack, kind, *proxy_opts):
    """(via_proxy, direct) clients for an upstream of the given kind behind a proxy."""
    if kind == "dynalite":
        stack.start_dynalite()
    else:
        stack.start_backend()
    stack.start_proxy(*proxy_opts)
    return make_client(stack.proxy.url), make_client(stack.upstream_url)


def create_table(client, range_key=False, name=None, sk_type="S"):
    """An on-demand table keyed by pk (S) and, with range_key, sk (of sk_type); waits until
    it is ACTIVE."""
    name = name or unique_name("cache")
    ks = [{"AttributeName": "pk", "KeyType": "HASH"}]
    ad = [{"AttributeName": "pk", "AttributeType": "S"}]
    if range_key:
        ks.append({"AttributeName": "sk", "KeyType": "RANGE"})
        ad.append({"AttributeName": "sk", "AttributeType": sk_type})
    client.create_table(TableName=name, KeySchema=ks, AttributeDefinitions=ad,
                        BillingMode="PAY_PER_REQUEST")
    wait_active(client, name)
    return name


def get(client, table, pk, **kw):
    return client.get_item(TableName=table, Key={"pk": {"S": pk}}, **kw).get("Item")


def v_of(item):
    return None if item is None else item["v"]["S"]


UPSTREAMS = ["backend", "dynalite"]


# --- 1 (and 6): TTLs of positive and negative entries ---


def in_window(t_cached):
    """True while a 1500 ms entry is surely still fresh (a slow machine skips the check
    rather than failing it; the test still checks the expiry)."""
    return time.monotonic() - t_cached < 1.2


@pytest.mark.parametrize("kind", UPSTREAMS)
def test_eventual_read_stale_until_item_ttl(stack, kind):
    via_proxy, direct = start(stack, kind, "--item-ttl-ms", "1500")
    table = create_table(via_proxy)
    via_proxy.put_item(TableName=table, Item={"pk": {"S": "a"}, "v": {"S": "old"}})
    assert v_of(get(via_proxy, table, "a")) == "old"  # cached now
    t_cached = time.monotonic()

    direct.put_item(TableName=table, Item={"pk": {"S": "a"}, "v": {"S": "new"}})
    assert v_of(get(direct, table, "a", ConsistentRead=True)) == "new"
    # Behind the proxy's back: eventual reads are served from the cache until the TTL ...
    stale = v_of(get(via_proxy, table, "a"))
    if in_window(t_cached):
        assert stale == "old"
    # ... a strongly consistent read always goes through (and does not refresh the entry).
    assert v_of(get(via_proxy, table, "a", ConsistentRead=True)) == "new"
    stale = v_of(get(via_proxy, table, "a"))
    if in_window(t_cached):
        assert stale == "old"

    time.sleep(max(0.0, 2.0 - (time.monotonic() - t_cached)))
    assert v_of(get(via_proxy, table, "a")) == "new"


@pytest.mark.parametrize("kind", UPSTREAMS)
def test_absent_item_invisible_until_negative_ttl(stack, kind):
    via_proxy, direct = start(stack, kind, "--negative-ttl-ms", "1500")
    table = create_table(via_proxy)
    assert get(via_proxy, table, "ghost") is None  # a negative entry now
    t_cached = time.monotonic()

    direct.put_item(TableName=table, Item={"pk": {"S": "ghost"}, "v": {"S": "here"}})
    stale = get(via_proxy, table, "ghost")
    if in_window(t_cached):
        assert stale is None
    assert v_of(get(via_proxy, table, "ghost", ConsistentRead=True)) == "here"
    stale = get(via_proxy, table, "ghost")
    if in_window(t_cached):
        assert stale is None

    time.sleep(max(0.0, 2.0 - (time.monotonic() - t_cached)))
    assert v_of(get(via_proxy, table, "ghost")) == "here"


# --- 2: Query/Scan cache invalidation by writes through the proxy ---


def query(client, table, pk):
    r = client.query(TableName=table, KeyConditionExpression="pk = :p",
                     ExpressionAttributeValues={":p": {"S": pk}})
    return sorted(i["sk"]["S"] for i in r["Items"])


def upstream_ops(stack, op):
    """Requests of one operation the ddax backend (the upstream) has answered."""
    return value(scrape(stack.backend.url), "ddax_requests_total", op=op)


def test_query_and_scan_pages_invalidated_by_own_writes_only(stack):
    via_proxy, direct = start(stack, "backend")
    table = create_table(via_proxy, range_key=True)
    for pk in ("P", "Q"):
        for sk in ("1", "2"):
            via_proxy.put_item(TableName=table, Item={"pk": {"S": pk}, "sk": {"S": sk}})

    assert query(via_proxy, table, "P") == ["1", "2"]  # miss: fills the page
    n0 = upstream_ops(stack, "Query")
    h0 = value(scrape(stack.proxy.url), "ddax_QueryCacheHits")
    assert query(via_proxy, table, "P") == ["1", "2"]  # hit
    assert upstream_ops(stack, "Query") == n0
    assert value(scrape(stack.proxy.url), "ddax_QueryCacheHits") == h0 + 1

    # A write to another partition leaves P's page cached.
    via_proxy.put_item(TableName=table, Item={"pk": {"S": "Q"}, "sk": {"S": "3"}})
    assert query(via_proxy, table, "P") == ["1", "2"]
    assert upstream_ops(stack, "Query") == n0, "a write to Q dropped P's cached page"
    assert value(scrape(stack.proxy.url), "ddax_QueryCacheHits") == h0 + 2
    assert query(via_proxy, table, "Q") == ["1", "2", "3"]  # Q itself reads its write

    # Read-your-writes: a write to P through the proxy refreshes P's page.
    via_proxy.put_item(TableName=table, Item={"pk": {"S": "P"}, "sk": {"S": "3"}})
    assert query(via_proxy, table, "P") == ["1", "2", "3"]
    via_proxy.delete_item(TableName=table, Key={"pk": {"S": "P"}, "sk": {"S": "1"}})
    assert query(via_proxy, table, "P") == ["2", "3"]
    via_proxy.update_item(TableName=table, Key={"pk": {"S": "P"}, "sk": {"S": "2"}},
                          UpdateExpression="SET v = :v",
                          ExpressionAttributeValues={":v": {"S": "x"}})
    r = via_proxy.query(TableName=table, KeyConditionExpression="pk = :p",
                        ExpressionAttributeValues={":p": {"S": "P"}})
    assert [i.get("v") for i in r["Items"]] == [{"S": "x"}, None]

    # A cached Scan of the table is refreshed by a write to any partition of it.
    s0 = via_proxy.scan(TableName=table)["Count"]
    sn = upstream_ops(stack, "Scan")
    assert via_proxy.scan(TableName=table)["Count"] == s0
    assert upstream_ops(stack, "Scan") == sn  # served from cache
    via_proxy.put_item(TableName=table, Item={"pk": {"S": "R"}, "sk": {"S": "1"}})
    assert via_proxy.scan(TableName=table)["Count"] == s0 + 1
    via_proxy.delete_item(TableName=table, Key={"pk": {"S": "Q"}, "sk": {"S": "1"}})
    assert via_proxy.scan(TableName=table)["Count"] == s0

    # Behind the proxy's back the page stays (until the query TTL), as with DAX.
    direct.put_item(TableName=table, Item={"pk": {"S": "P"}, "sk": {"S": "9"}})
    assert query(via_proxy, table, "P") == ["2", "3"]


# --- 3: eviction under a small memory limit ---


def test_eviction_keeps_cache_within_limit(stack):
    limit = 200000
    via_proxy, direct = start(stack, "backend", "--cache-bytes", str(limit))
    table = create_table(via_proxy)
    n = 2000
    pad = "x" * 1000

    def body(i):
        return "%05d-%s" % (i, pad)

    for start_i in range(0, n, 25):
        direct.batch_write_item(RequestItems={table: [
            {"PutRequest": {"Item": {"pk": {"S": "k%05d" % i}, "v": {"S": body(i)}}}}
            for i in range(start_i, start_i + 25)]})

    for rnd in range(2):  # the second round re-reads items evicted during the first
        for i in range(n):
            item = get(via_proxy, table, "k%05d" % i)
            assert item is not None and item["pk"]["S"] == "k%05d" % i, i
            assert item["v"]["S"] == body(i), i
            if i % 250 == 0:
                assert value(scrape(stack.proxy.url), "ddax_cache_bytes") <= limit
    m = scrape(stack.proxy.url)
    assert value(m, "ddax_cache_bytes") <= limit
    assert value(m, "ddax_cache_bytes") > 0
    assert value(m, "ddax_cache_evictions_total") > 0
    # Still caching under pressure: the last item read is a hit.
    h0 = value(m, "ddax_ItemCacheHits")
    assert get(via_proxy, table, "k%05d" % (n - 1))["v"]["S"] == body(n - 1)
    assert value(scrape(stack.proxy.url), "ddax_ItemCacheHits") == h0 + 1


# --- 4: request coalescing ---


class SlowRelay:
    """HTTP relay between the proxy and the backend that holds every GetItem for `delay`
    seconds, so that concurrent client reads certainly overlap the one upstream fetch. With
    drop_writes set it forwards PutItem but hangs up instead of answering (an ambiguous write:
    applied upstream, never acknowledged)."""

    def __init__(self, target_url, delay):
        self.drop_writes = False
        u = urllib.parse.urlsplit(target_url)
        target = (u.hostname, u.port)
        relay = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                if self.headers.get("X-Amz-Target", "").endswith(".GetItem"):
                    with relay.lock:
                        relay.get_items += 1
                    time.sleep(delay)
                c = http.client.HTTPConnection(*target, timeout=10)
                try:
                    c.request("POST", self.path, body=body, headers=dict(self.headers.items()))
                    r = c.getresponse()
                    data = r.read()
                finally:
                    c.close()
                if relay.drop_writes and self.headers.get("X-Amz-Target", "").endswith(
                        ".PutItem"):
                    self.close_connection = True
                    return
                self.send_response(r.status)
                for k, v in r.getheaders():
                    if k.lower() not in ("content-length", "connection", "transfer-encoding"):
                        self.send_header(k, v)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        self.lock = threading.Lock()
        self.get_items = 0
        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = "http://127.0.0.1:%d" % self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def test_concurrent_misses_of_one_key_coalesce(stack):
    stack.start_backend()
    direct = make_client(stack.upstream_url)
    relay = SlowRelay(stack.upstream_url, delay=0.3)
    try:
        stack.upstream_url = relay.url
        via_proxy = make_client(stack.start_proxy())
        table = create_table(via_proxy)
        direct.put_item(TableName=table, Item={"pk": {"S": "hot"}, "v": {"S": "hot-value"}})
        n = 50
        body = json.dumps({"TableName": table, "Key": {"pk": {"S": "hot"}}}).encode()
        # Signed requests on open connections, so that the barrier releases bare sends.
        conns = []
        for _ in range(n):
            c = connect(stack.proxy.url)
            c.connect()
            conns.append((c, signed_headers(stack.proxy.url, "DynamoDB_20120810.GetItem", body)))
        r0, u0 = relay.get_items, upstream_ops(stack, "GetItem")
        p0 = scrape(stack.proxy.url)
        barrier = threading.Barrier(n)
        results = [None] * n

        def run(i):
            c, headers = conns[i]
            barrier.wait()
            try:
                c.request("POST", "/", body=body, headers=headers)
                r = c.getresponse()
                results[i] = (r.status, json.loads(r.read()).get("Item", {}).get("v"))
            except Exception as e:  # reported through results
                results[i] = e
            finally:
                c.close()

        threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
        assert results == [(200, {"S": "hot-value"})] * n
        p1 = scrape(stack.proxy.url)
        fetched = relay.get_items - r0
        # The reads all arrived within the one slow fetch: one upstream GetItem for 50.
        assert fetched == upstream_ops(stack, "GetItem") - u0
        assert 1 <= fetched <= 2, "%d upstream GetItems for %d concurrent reads" % (fetched, n)

        def delta(name, **labels):
            return value(p1, name, **labels) - value(p0, name, **labels)

        assert delta("ddax_upstream_requests_total", op="GetItem") == fetched
        assert delta("ddax_coalesced_requests_total") > 0
        assert delta("ddax_coalesced_requests_total") + delta("ddax_ItemCacheHits") \
            == n - fetched
    finally:
        relay.close()


# --- 5: failed writes are not cached ---


@pytest.mark.parametrize("kind", UPSTREAMS)
def test_conditional_check_failure_leaves_cached_item(stack, kind):
    via_proxy, direct = start(stack, kind)
    table = create_table(via_proxy)
    via_proxy.put_item(TableName=table, Item={"pk": {"S": "a"}, "v": {"S": "kept"}})
    assert v_of(get(via_proxy, table, "a")) == "kept"
    for call in (
        lambda: via_proxy.put_item(TableName=table,
                                   Item={"pk": {"S": "a"}, "v": {"S": "rejected"}},
                                   ConditionExpression="attribute_not_exists(pk)"),
        lambda: via_proxy.update_item(TableName=table, Key={"pk": {"S": "a"}},
                                      UpdateExpression="SET v = :v",
                                      ConditionExpression="v = :old",
                                      ExpressionAttributeValues={":v": {"S": "rejected"},
                                                                 ":old": {"S": "other"}}),
        lambda: via_proxy.delete_item(TableName=table, Key={"pk": {"S": "a"}},
                                      ConditionExpression="attribute_not_exists(v)"),
    ):
        with pytest.raises(ClientError) as e:
            call()
        assert e.value.response["Error"]["Code"] == "ConditionalCheckFailedException"
        assert v_of(get(via_proxy, table, "a")) == "kept"
        assert v_of(get(via_proxy, table, "a", ConsistentRead=True)) == "kept"
    # Nor is an absent item turned into a phantom by a failed conditional write.
    assert get(via_proxy, table, "b") is None
    with pytest.raises(ClientError):
        via_proxy.put_item(TableName=table, Item={"pk": {"S": "b"}, "v": {"S": "phantom"}},
                           ConditionExpression="attribute_exists(pk)")
    assert get(via_proxy, table, "b") is None
    assert get(direct, table, "b", ConsistentRead=True) is None


def test_write_while_upstream_down_is_not_served(stack):
    via_proxy, direct = start(stack, "backend")
    table = create_table(via_proxy)
    via_proxy.put_item(TableName=table, Item={"pk": {"S": "a"}, "v": {"S": "acked"}})
    assert v_of(get(via_proxy, table, "a")) == "acked"
    port = int(stack.upstream_url.rsplit(":", 1)[1])

    stack.backend.kill()  # SIGKILL: the write below never reaches it
    time.sleep(0.2)
    with pytest.raises(ClientError) as e:
        via_proxy.put_item(TableName=table, Item={"pk": {"S": "a"}, "v": {"S": "unacked"}})
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] >= 500
    # While down: the old value (the cache may keep what it held) or an error, never the
    # value whose write was not acknowledged.
    try:
        got = v_of(get(via_proxy, table, "a"))
        assert got == "acked", got
    except ClientError as err:  # the failed write dropped the entry: nothing to serve
        assert err.response["ResponseMetadata"]["HTTPStatusCode"] >= 500

    # Back up on the same port and data: the eventual read is refetched and still "acked".
    for _ in range(50):
        try:
            stack.start_backend(port=port)
            break
        except RuntimeError:
            time.sleep(0.1)
    assert stack.upstream_url.endswith(":%d" % port)
    assert v_of(get(via_proxy, table, "a")) == "acked"
    assert v_of(get(via_proxy, table, "a", ConsistentRead=True)) == "acked"
    # And the cache works again: a write through the proxy is read back.
    via_proxy.put_item(TableName=table, Item={"pk": {"S": "a"}, "v": {"S": "second"}})
    assert v_of(get(via_proxy, table, "a")) == "second"


def test_ambiguous_write_drops_cached_item(stack):
    """The upstream applies a write but the answer never arrives: the client gets a 5xx and
    the proxy must not go on serving the pre-write value from its cache."""
    stack.start_backend()
    relay = SlowRelay(stack.upstream_url, delay=0)
    try:
        stack.upstream_url = relay.url
        via_proxy = make_client(stack.start_proxy())
        table = create_table(via_proxy)
        via_proxy.put_item(TableName=table, Item={"pk": {"S": "a"}, "v": {"S": "before"}})
        assert v_of(get(via_proxy, table, "a")) == "before"  # cached
        relay.drop_writes = True
        with pytest.raises(ClientError) as e:
            via_proxy.put_item(TableName=table, Item={"pk": {"S": "a"}, "v": {"S": "maybe"}})
        assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] >= 500
        relay.drop_writes = False
        truth = v_of(get(via_proxy, table, "a", ConsistentRead=True))
        assert truth == "maybe"  # the relay did forward it
        assert v_of(get(via_proxy, table, "a")) == truth
    finally:
        relay.close()
