"""`ddax proxy --upstream URL`: the caching proxy in front of another DynamoDB endpoint.

Starts `ddax backend` (from DDAX_BIN, own data directory, --nosync) as the upstream and
`ddax proxy --upstream` in front of it, then drives the proxy with boto3. The cache is proven
by changing items directly at the upstream, behind the proxy's back. With dynalite installed
(DYNALITE_DIR, default /work/tools/node_modules/dynalite) the basic flow also runs against it.
"""

import os
import queue
import shutil
import signal
import socket
import subprocess
import threading
import time

import pytest
from botocore.exceptions import ClientError

from conftest import LISTEN_RE, make_client, unique_name, wait_active

pytestmark = pytest.mark.lifecycle


class Proc:
    """A ddax (or other) process that prints 'listening on URL' when ready."""

    def __init__(self, args):
        self.args = args
        self.output = []
        self.proc = None
        self.url = None

    def start(self, timeout=20.0):
        self.proc = subprocess.Popen(self.args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL, text=True, bufsize=1)
        found = queue.Queue()
        proc = self.proc

        def reader():
            announced = False
            for line in proc.stdout:
                self.output.append(line.rstrip("\n"))
                m = None if announced else LISTEN_RE.search(line)
                if m:
                    announced = True
                    found.put(m.group(1).rstrip("/."))
            found.put(None)

        threading.Thread(target=reader, daemon=True).start()
        try:
            url = found.get(timeout=timeout)
        except queue.Empty:
            url = None
        if url is None:
            self.kill()
            raise RuntimeError("%s did not start; output:\n%s"
                               % (self.args[:2], "\n".join(self.output)))
        self.url = url
        return url

    def kill(self, sig=signal.SIGKILL):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None


def ddax_bin():
    if os.environ.get("DDAX_ENDPOINT"):
        pytest.skip("proxy tests start their own servers (need DDAX_BIN)")
    binary = os.environ.get("DDAX_BIN")
    if not binary:
        pytest.skip("proxy tests need DDAX_BIN")
    return binary


@pytest.fixture
def stack(tmp_path):
    """(backend, proxy): a ddax backend and a ddax proxy in front of it."""
    binary = ddax_bin()
    data = tmp_path / "upstream-data"
    data.mkdir()
    backend = Proc([binary, "backend", "--port", "0", "--nosync", "--data", str(data)])
    backend.start()
    proxy = Proc([binary, "proxy", "--port", "0", "--threads", "2", "--upstream", backend.url,
                  "--upstream-timeout-ms", "3000"])
    try:
        proxy.start()
    except Exception:
        backend.kill()
        raise
    yield backend, proxy
    proxy.kill(signal.SIGTERM)
    backend.kill(signal.SIGTERM)


def make_table(client, name):
    client.create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST")
    wait_active(client, name)


def get(client, table, pk, **kw):
    return client.get_item(TableName=table, Key={"pk": {"S": pk}}, **kw).get("Item")


def test_forwarding_cache_hits_and_write_through(stack):
    backend, proxy = stack
    via_proxy = make_client(proxy.url)
    direct = make_client(backend.url)
    table = unique_name("proxy")

    # Control plane passes through: the table exists at the upstream.
    make_table(via_proxy, table)
    assert table in direct.list_tables()["TableNames"]
    assert via_proxy.describe_table(TableName=table)["Table"]["TableName"] == table

    via_proxy.put_item(TableName=table, Item={"pk": {"S": "a"}, "v": {"N": "1"}})
    assert get(direct, table, "a")["v"] == {"N": "1"}
    assert get(via_proxy, table, "a")["v"] == {"N": "1"}  # now cached

    # Changed behind the proxy's back: an eventually consistent read is a cache hit, a
    # strongly consistent one goes upstream.
    direct.put_item(TableName=table, Item={"pk": {"S": "a"}, "v": {"N": "2"}})
    assert get(via_proxy, table, "a")["v"] == {"N": "1"}
    assert get(via_proxy, table, "a", ConsistentRead=True)["v"] == {"N": "2"}

    # Write-through: a write through the proxy is visible through it at once.
    via_proxy.put_item(TableName=table, Item={"pk": {"S": "a"}, "v": {"N": "3"}})
    assert get(via_proxy, table, "a")["v"] == {"N": "3"}
    via_proxy.delete_item(TableName=table, Key={"pk": {"S": "a"}})
    assert get(via_proxy, table, "a") is None

    # BatchGetItem with a mix of hits and misses (the cache rebuilds the request).
    via_proxy.put_item(TableName=table, Item={"pk": {"S": "b"}, "v": {"N": "5"}})
    assert get(via_proxy, table, "b")["v"] == {"N": "5"}
    direct.put_item(TableName=table, Item={"pk": {"S": "c"}, "v": {"N": "6"}})
    got = via_proxy.batch_get_item(RequestItems={
        table: {"Keys": [{"pk": {"S": "b"}}, {"pk": {"S": "c"}}]}})["Responses"][table]
    assert sorted((i["pk"]["S"], i["v"]["N"]) for i in got) == [("b", "5"), ("c", "6")]


def test_upstream_errors_pass_through_unchanged(stack):
    backend, proxy = stack
    via_proxy = make_client(proxy.url)
    direct = make_client(backend.url)
    errors = []
    for client in (via_proxy, direct):
        with pytest.raises(ClientError) as e:
            get(client, unique_name("missing"), "a")
        errors.append((e.value.response["Error"]["Code"],
                       e.value.response["ResponseMetadata"]["HTTPStatusCode"]))
    assert errors[0] == errors[1] == ("ResourceNotFoundException", 400)

    with pytest.raises(ClientError) as e:
        via_proxy.create_table(TableName="x", KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                               AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
                               BillingMode="PAY_PER_REQUEST")
    assert e.value.response["Error"]["Code"] == "ValidationException"


def test_upstream_down_gives_5xx_and_hits_still_served(stack):
    backend, proxy = stack
    via_proxy = make_client(proxy.url, retries={"max_attempts": 1, "mode": "standard"})
    table = unique_name("proxy")
    make_table(via_proxy, table)
    via_proxy.put_item(TableName=table, Item={"pk": {"S": "a"}, "v": {"S": "kept"}})
    assert get(via_proxy, table, "a")["v"] == {"S": "kept"}

    backend.kill()
    time.sleep(0.2)
    with pytest.raises(ClientError) as e:
        get(via_proxy, table, "a", ConsistentRead=True)
    err = e.value.response
    assert err["ResponseMetadata"]["HTTPStatusCode"] in (500, 503)
    assert err["Error"]["Code"] in ("ServiceUnavailableException", "InternalServerError")
    # The cache still answers eventually consistent reads of what it holds.
    assert get(via_proxy, table, "a")["v"] == {"S": "kept"}
    assert proxy.proc.poll() is None


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_dynalite_upstream(tmp_path):
    binary = ddax_bin()
    dyn = os.environ.get("DYNALITE_DIR", "/work/tools/node_modules/dynalite")
    node = shutil.which("node")
    if not node or not os.path.exists(os.path.join(dyn, "cli.js")):
        pytest.skip("dynalite is not installed (set DYNALITE_DIR)")
    port = free_port()
    dproc = subprocess.Popen([node, os.path.join(dyn, "cli.js"), "--port", str(port)],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        url = "http://127.0.0.1:%d" % port
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.1)
        proxy = Proc([binary, "proxy", "--port", "0", "--upstream", url])
        proxy.start()
        try:
            via_proxy = make_client(proxy.url)
            direct = make_client(url)
            table = unique_name("proxy")
            make_table(via_proxy, table)
            via_proxy.put_item(TableName=table, Item={"pk": {"S": "a"}, "v": {"N": "1"}})
            assert get(via_proxy, table, "a")["v"] == {"N": "1"}
            direct.put_item(TableName=table, Item={"pk": {"S": "a"}, "v": {"N": "2"}})
            assert get(via_proxy, table, "a")["v"] == {"N": "1"}
            assert get(via_proxy, table, "a", ConsistentRead=True)["v"] == {"N": "2"}
        finally:
            proxy.kill(signal.SIGTERM)
    finally:
        dproc.kill()
        dproc.wait()
