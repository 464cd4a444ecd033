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


# --- re-signing: the proxy signs upstream requests with its own credentials ---

PROXY_KEY = "AKIDPROXYRESIGN"
PROXY_SECRET = "proxy/resign/secret"
PROXY_REGION = "us-west-2"


def resign_proxy(binary, upstream_url, *extra):
    return Proc([binary, "proxy", "--port", "0", "--threads", "2", "--upstream", upstream_url,
                 "--upstream-timeout-ms", "3000", "--upstream-signing=resign",
                 "--aws-access-key-id", PROXY_KEY, "--aws-secret-access-key", PROXY_SECRET,
                 "--region", PROXY_REGION, *extra])


def client_with_other_creds(url):
    """boto3 with credentials (and region) that are NOT the proxy's."""
    import boto3
    from botocore.config import Config
    return boto3.client("dynamodb", endpoint_url=url, region_name="eu-central-1",
                        aws_access_key_id="AKIDCLIENTONLY", aws_secret_access_key="client-secret",
                        aws_session_token="client-session-token",
                        config=Config(retries={"max_attempts": 1, "mode": "standard"}))


def drive_basic_flow(via_proxy, direct):
    table = unique_name("resign")
    make_table(via_proxy, table)
    via_proxy.put_item(TableName=table, Item={"pk": {"S": "a"}, "v": {"N": "1"}})
    via_proxy.put_item(TableName=table, Item={"pk": {"S": "b"}, "v": {"N": "2"}})
    assert get(via_proxy, table, "a")["v"] == {"N": "1"}
    direct.put_item(TableName=table, Item={"pk": {"S": "a"}, "v": {"N": "9"}})
    assert get(via_proxy, table, "a")["v"] == {"N": "1"}  # a cache hit
    assert get(via_proxy, table, "a", ConsistentRead=True)["v"] == {"N": "9"}
    # BatchGetItem: "a" is cached, so the cache rebuilds the body for "b" and "c" alone
    got = via_proxy.batch_get_item(RequestItems={table: {"Keys": [
        {"pk": {"S": "a"}}, {"pk": {"S": "b"}}, {"pk": {"S": "c"}}]}})
    vals = sorted((i["pk"]["S"], i["v"]["N"]) for i in got["Responses"][table])
    assert vals[1:] == [("b", "2")] and vals[0][0] == "a"
    assert not got.get("UnprocessedKeys")
    via_proxy.update_item(TableName=table, Key={"pk": {"S": "b"}},
                          UpdateExpression="SET v = :v",
                          ExpressionAttributeValues={":v": {"N": "3"}})
    assert get(via_proxy, table, "b")["v"] == {"N": "3"}
    assert via_proxy.scan(TableName=table)["Count"] == 2
    with pytest.raises(ClientError) as e:
        via_proxy.get_item(TableName=table + "-missing", Key={"pk": {"S": "a"}})
    assert e.value.response["Error"]["Code"] == "ResourceNotFoundException"
    via_proxy.delete_table(TableName=table)


def test_resign_with_backend(tmp_path):
    binary = ddax_bin()
    data = tmp_path / "upstream-data"
    data.mkdir()
    backend = Proc([binary, "backend", "--port", "0", "--nosync", "--data", str(data)])
    backend.start()
    proxy = resign_proxy(binary, backend.url, "--aws-session-token", "proxy-session-token")
    try:
        proxy.start()
        log = "\n".join(proxy.output)
        assert "upstream signing: resign" in log
        assert PROXY_KEY in log
        assert PROXY_SECRET not in log and "proxy-session-token" not in log
        drive_basic_flow(client_with_other_creds(proxy.url), make_client(backend.url))
        assert PROXY_SECRET not in "\n".join(proxy.output)
    finally:
        proxy.kill(signal.SIGTERM)
        backend.kill(signal.SIGTERM)


def test_resign_signature_checked_by_capturing_upstream():
    """A capturing upstream recomputes the SigV4 signature with botocore and the proxy's keys."""
    import http.server
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    binary = ddax_bin()
    seen = []

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self):
            body = self.rfile.read(int(self.headers["Content-Length"]))
            seen.append((dict(self.headers.items()), body))
            out = b'{"TableNames":[]}'
            self.send_response(200)
            self.send_header("Content-Type", "application/x-amz-json-1.0")
            self.send_header("Content-Length", str(len(out)))
            self.end_headers()
            self.wfile.write(out)

        def log_message(self, *args):
            pass

    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    upstream = "http://127.0.0.1:%d" % srv.server_address[1]
    proxy = resign_proxy(binary, upstream)
    try:
        proxy.start()
        assert client_with_other_creds(proxy.url).list_tables()["TableNames"] == []
    finally:
        proxy.kill(signal.SIGTERM)
        srv.shutdown()
        srv.server_close()
    assert len(seen) == 1
    headers, body = seen[0]
    lower = {k.lower(): v for k, v in headers.items()}
    assert lower["host"] == "127.0.0.1:%d" % srv.server_address[1]
    assert lower["x-amz-target"] == "DynamoDB_20120810.ListTables"
    assert "x-amz-security-token" not in lower  # the client's token is not forwarded
    auth = lower["authorization"]
    assert "Credential=%s/" % PROXY_KEY in auth
    assert "/%s/dynamodb/aws4_request" % PROXY_REGION in auth
    assert "AKIDCLIENTONLY" not in auth
    signed = auth.split("SignedHeaders=")[1].split(",")[0].split(";")
    assert signed == ["content-type", "host", "x-amz-date", "x-amz-target"]

    def expected(secret):
        req = AWSRequest(method="POST", url=upstream + "/", data=body,
                         headers={h: lower[h] for h in signed})
        req.context["timestamp"] = lower["x-amz-date"]
        signer = SigV4Auth(Credentials(PROXY_KEY, secret), "dynamodb", PROXY_REGION)
        canonical = signer.canonical_request(req)
        return signer.signature(signer.string_to_sign(req, canonical), req)

    sig = auth.split("Signature=")[1].strip()
    assert sig == expected(PROXY_SECRET)
    assert sig != expected("client-secret")


def test_resign_usage_errors(tmp_path):
    binary = ddax_bin()
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    base = [binary, "proxy", "--upstream", "http://127.0.0.1:9"]
    for extra, msg in [
        (["--upstream-signing=resign"], "--aws-access-key-id"),
        (["--upstream-signing=resign", "--aws-access-key-id", "K", "--aws-secret-access-key",
          "S"], "--region"),
        (["--upstream-signing=sometimes"], "resign or passthrough"),
    ]:
        r = subprocess.run(base + extra, env=env, capture_output=True, text=True, timeout=10)
        assert r.returncode == 2 and msg in r.stderr, (extra, r.stderr)
    r = subprocess.run([binary, "backend", "--region", "x"], env=env, capture_output=True,
                       text=True, timeout=10)
    assert r.returncode == 2


def test_resign_from_environment_with_dynalite(tmp_path):
    """Credentials from AWS_* variables, default mode: resign; dynalite as the upstream."""
    binary = ddax_bin()
    dyn = os.environ.get("DYNALITE_DIR", "/work/tools/node_modules/dynalite")
    node = shutil.which("node")
    if not node or not os.path.exists(os.path.join(dyn, "cli.js")):
        pytest.skip("dynalite is not installed (set DYNALITE_DIR)")
    port = free_port()
    dproc = subprocess.Popen([node, os.path.join(dyn, "cli.js"), "--port", str(port)],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    old_env = dict(os.environ)
    try:
        url = "http://127.0.0.1:%d" % port
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.1)
        os.environ.update(AWS_ACCESS_KEY_ID=PROXY_KEY, AWS_SECRET_ACCESS_KEY=PROXY_SECRET,
                          AWS_DEFAULT_REGION=PROXY_REGION)
        os.environ.pop("AWS_REGION", None)
        os.environ.pop("AWS_SESSION_TOKEN", None)
        proxy = Proc([binary, "proxy", "--port", "0", "--upstream", url])
        try:
            proxy.start()
        finally:
            os.environ.clear()
            os.environ.update(old_env)
        try:
            assert "upstream signing: resign" in "\n".join(proxy.output)
            drive_basic_flow(client_with_other_creds(proxy.url), make_client(url))
        finally:
            proxy.kill(signal.SIGTERM)
    finally:
        dproc.kill()
        dproc.wait()


# --- https upstreams: a TLS-terminating relay (Python ssl) in front of `ddax backend` ---


def make_certs(tmp_path):
    """A throwaway CA and a server certificate for 127.0.0.1 and localhost (openssl CLI);
    also a second CA the proxy is not told about. Returns (ca.pem, cert, key, other-ca.pem)."""
    openssl = shutil.which("openssl")
    if not openssl:
        pytest.skip("the openssl command is not installed")

    def run(*args):
        subprocess.run([openssl, *args], check=True, capture_output=True, timeout=60)

    d = str(tmp_path)
    p = lambda n: os.path.join(d, n)  # noqa: E731
    for ca in ("ca", "other-ca"):
        run("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
            "-keyout", p(ca + ".key"), "-out", p(ca + ".pem"), "-days", "1",
            "-subj", "/CN=ddax test " + ca, "-addext", "basicConstraints=critical,CA:TRUE",
            "-addext", "keyUsage=critical,keyCertSign,cRLSign")
    run("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
        "-keyout", p("server.key"), "-out", p("server.csr"), "-subj", "/CN=127.0.0.1")
    with open(p("server.ext"), "w") as f:
        f.write("subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n"
                "basicConstraints=CA:FALSE\n")
    run("x509", "-req", "-in", p("server.csr"), "-CA", p("ca.pem"), "-CAkey", p("ca.key"),
        "-CAcreateserial", "-out", p("server.pem"), "-days", "1", "-extfile", p("server.ext"))
    return p("ca.pem"), p("server.pem"), p("server.key"), p("other-ca.pem")


class TlsRelay:
    """Accepts TLS on a loopback port and relays each connection, in plain text, to target."""

    def __init__(self, cert, key, target):
        import ssl
        self.ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.ctx.load_cert_chain(cert, key)
        self.target = target
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.connections = 0
        self.handshakes = 0
        self.stopped = False
        threading.Thread(target=self.serve, daemon=True).start()

    def serve(self):
        while not self.stopped:
            try:
                raw, _ = self.sock.accept()
            except OSError:
                return
            self.connections += 1
            threading.Thread(target=self.handle, args=(raw,), daemon=True).start()

    def handle(self, raw):
        try:
            tls = self.ctx.wrap_socket(raw, server_side=True)
        except OSError:
            raw.close()
            return
        self.handshakes += 1
        try:
            plain = socket.create_connection(self.target)
        except OSError:
            tls.close()
            return

        def pump(src, dst):
            try:
                while True:
                    data = src.recv(65536)
                    if not data:
                        break
                    dst.sendall(data)
            except OSError:
                pass
            for s in (src, dst):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

        threading.Thread(target=pump, args=(plain, tls), daemon=True).start()
        pump(tls, plain)

    def close(self):
        self.stopped = True
        self.sock.close()


def backend_target(url):
    hostport = url.split("://", 1)[1]
    host, port = hostport.rsplit(":", 1)
    return host.strip("[]"), int(port)


def test_https_upstream_through_tls_relay(tmp_path):
    binary = ddax_bin()
    ca, cert, key, other_ca = make_certs(tmp_path)
    data = tmp_path / "upstream-data"
    data.mkdir()
    backend = Proc([binary, "backend", "--port", "0", "--nosync", "--data", str(data)])
    backend.start()
    relay = TlsRelay(cert, key, backend_target(backend.url))
    upstream = "https://127.0.0.1:%d" % relay.port
    proxy = resign_proxy(binary, upstream, "--upstream-ca-file", ca)
    untrusting = Proc([binary, "proxy", "--port", "0", "--upstream", upstream,
                       "--upstream-timeout-ms", "3000", "--upstream-ca-file", other_ca])
    try:
        proxy.start()
        drive_basic_flow(client_with_other_creds(proxy.url), make_client(backend.url))
        # keep-alive: far fewer TLS handshakes than requests (2 worker threads)
        assert 1 <= relay.handshakes <= 4, relay.handshakes

        # A CA that did not sign the upstream's certificate: 503, and the log says why.
        untrusting.start()
        with pytest.raises(ClientError) as e:
            make_client(untrusting.url).list_tables()
        assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 503
        assert e.value.response["Error"]["Code"] == "ServiceUnavailableException"
        deadline = time.time() + 5
        while time.time() < deadline and not any(
                "TLS certificate verification failed" in l for l in untrusting.output):
            time.sleep(0.05)
        assert any("TLS certificate verification failed" in l and "local issuer" in l
                   for l in untrusting.output), untrusting.output
    finally:
        untrusting.kill(signal.SIGTERM)
        proxy.kill(signal.SIGTERM)
        relay.close()
        backend.kill(signal.SIGTERM)


def test_https_usage(tmp_path):
    binary = ddax_bin()
    r = subprocess.run([binary, "proxy", "--upstream", "http://127.0.0.1:9",
                        "--upstream-ca-file", "/tmp/ca.pem"],
                       capture_output=True, text=True, timeout=10)
    assert r.returncode == 2 and "only for https" in r.stderr, r.stderr
    # An unreadable CA file is refused at startup.
    r = subprocess.run([binary, "proxy", "--port", "0", "--upstream", "https://127.0.0.1:9",
                        "--upstream-ca-file", str(tmp_path / "missing.pem")],
                       capture_output=True, text=True, timeout=10)
    assert r.returncode != 0 and "missing.pem" in r.stderr, r.stderr
