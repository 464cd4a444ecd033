"""Fixtures shared by the ddax integration tests.

The tests are written against real DynamoDB behaviour, so they run against any
DynamoDB-compatible endpoint:

* DDAX_ENDPOINT=http://host:port  use a server that is already running (ddax,
  dynalite, DynamoDB Local, AWS itself); tests that need to start/stop/kill the
  server themselves are skipped.
* DDAX_BIN=/path/to/ddax           start `ddax serve` on a free port with a fresh
  data directory for the session and stop it at the end.

Credentials default to dummies; DDAX_ACCESS_KEY_ID / DDAX_SECRET_ACCESS_KEY /
DDAX_REGION override them (e.g. for real AWS).
"""

import json
import os
import queue
import re
import shutil
import signal
import subprocess
import threading
import time
import uuid
import http.client
import urllib.parse

import boto3
import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials
from botocore.exceptions import BotoCoreError, ClientError

ACCESS_KEY = os.environ.get("DDAX_ACCESS_KEY_ID", "AKIDITEST")
SECRET_KEY = os.environ.get("DDAX_SECRET_ACCESS_KEY", "itestsecret")
REGION = os.environ.get("DDAX_REGION", "us-east-1")
START_TIMEOUT = 20.0
LISTEN_RE = re.compile(r"listening on (https?://[^\s]+)")


def pytest_configure(config):
    # Registered here as well so the markers exist whichever ini file pytest picked.
    config.addinivalue_line(
        "markers",
        "dynalite_differs: real-DynamoDB expectation where dynalite is known to differ",
    )
    config.addinivalue_line(
        "markers", "lifecycle: starts/stops its own ddax server (needs DDAX_BIN)"
    )


# ---------------------------------------------------------------------------
# Server process management


class DdaxServer:
    """One `ddax serve` process on a data directory; restartable on the same dir."""

    def __init__(self, binary, data_dir, nosync=True, args=()):
        self.binary = binary
        self.args = list(args)  # further command-line options, e.g. ["--ttl-interval-ms", "200"]
        self.data_dir = data_dir
        self.nosync = nosync
        self.proc = None
        self.url = None
        self.output = []  # every line the server printed, for failure messages

    def start(self, port=0):
        args = [
            self.binary, "serve", "--port", str(port), "--bind", "127.0.0.1",
            "--data", self.data_dir,
        ]
        if self.nosync:
            args.append("--nosync")
        args += self.args
        self.proc = subprocess.Popen(
            args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL, text=True, bufsize=1,
        )
        found = queue.Queue()
        proc = self.proc

        def reader():
            # Keep draining stdout for the whole life of the process so that a
            # chatty server never blocks on a full pipe.
            announced = False
            for line in proc.stdout:
                self.output.append(line.rstrip("\n"))
                if not announced:
                    m = LISTEN_RE.search(line)
                    if m:
                        announced = True
                        found.put(m.group(1).rstrip("/."))
            found.put(None)

        threading.Thread(target=reader, daemon=True).start()
        try:
            url = found.get(timeout=START_TIMEOUT)
        except queue.Empty:
            self.kill()
            raise RuntimeError(
                "ddax did not print 'listening on http://HOST:PORT' within %ss; output:\n%s"
                % (START_TIMEOUT, "\n".join(self.output)))
        if url is None:
            rc = self.proc.wait()
            raise RuntimeError("ddax exited (rc=%s) before listening; output:\n%s"
                               % (rc, "\n".join(self.output)))
        self.url = url
        return url

    def stop(self, timeout=10.0):
        """Clean stop: SIGTERM, then SIGKILL if it does not exit in time."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        rc = self.proc.returncode
        self.proc = None
        return rc

    def kill(self):
        """Crash: SIGKILL, no chance to flush anything."""
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        self.proc = None


@pytest.fixture(scope="session")
def session_server(tmp_path_factory):
    """The ddax process started for the session (None with DDAX_ENDPOINT)."""
    if os.environ.get("DDAX_ENDPOINT"):
        yield None
        return
    binary = os.environ.get("DDAX_BIN")
    if not binary:
        pytest.skip("set DDAX_ENDPOINT=http://host:port or DDAX_BIN=/path/to/ddax")
    server = DdaxServer(binary, str(tmp_path_factory.mktemp("ddax-data")), nosync=True)
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def endpoint(session_server):
    """URL of the server under test (existing DDAX_ENDPOINT or a started DDAX_BIN)."""
    if session_server is None:
        return os.environ["DDAX_ENDPOINT"].rstrip("/")
    return session_server.url


@pytest.fixture(autouse=True)
def _server_survives(request):
    """Report a crash of the session server against the test that caused it, and
    restart it (same port, same data) so that the rest of the suite still runs."""
    yield
    if "session_server" not in request.fixturenames:
        return
    server = request.getfixturevalue("session_server")
    if server is None or server.proc is None or server.proc.poll() is None:
        return
    rc = server.proc.returncode
    tail = "\n".join(server.output[-30:])
    server.proc = None
    port = int(server.url.rsplit(":", 1)[1])
    for _ in range(50):
        try:
            server.start(port=port)
            break
        except RuntimeError:
            time.sleep(0.1)
    pytest.fail("ddax exited with %s during this test (restarted); last output:\n%s"
                % (rc, tail), pytrace=False)


@pytest.fixture
def server_factory(tmp_path):
    """Start own ddax servers (persistence tests). Skipped with DDAX_ENDPOINT."""
    if os.environ.get("DDAX_ENDPOINT"):
        pytest.skip("server lifecycle tests need DDAX_BIN, not DDAX_ENDPOINT")
    binary = os.environ.get("DDAX_BIN")
    if not binary:
        pytest.skip("server lifecycle tests need DDAX_BIN")
    servers = []

    def make(data_dir=None, nosync=False, args=()):
        """A stopped server; args: further options of `ddax serve`."""
        d = data_dir or str(tmp_path / ("data-%d" % len(servers)))
        os.makedirs(d, exist_ok=True)
        s = DdaxServer(binary, d, nosync=nosync, args=args)
        servers.append(s)
        return s

    yield make
    for s in servers:
        s.stop()


# ---------------------------------------------------------------------------
# Clients


def make_client(url, service="dynamodb", **config):
    opts = dict(
        retries={"max_attempts": 1, "mode": "standard"},
        connect_timeout=5, read_timeout=30,
        # Validation is the server's job: send what the test says, unchecked.
        parameter_validation=False,
    )
    opts.update(config)
    cfg = Config(**opts)
    return boto3.client(
        service, endpoint_url=url, region_name=REGION,
        aws_access_key_id=ACCESS_KEY, aws_secret_access_key=SECRET_KEY,
        config=cfg,
    )


@pytest.fixture(scope="session")
def ddb(endpoint):
    return make_client(endpoint)


# ---------------------------------------------------------------------------
# Tables


def unique_name(prefix="itest"):
    return "%s-%s" % (prefix, uuid.uuid4().hex[:12])


def wait_active(client, name, timeout=120.0):
    deadline = time.time() + timeout
    while True:
        t = client.describe_table(TableName=name)["Table"]
        if t["TableStatus"] == "ACTIVE" and all(
                g.get("IndexStatus", "ACTIVE") == "ACTIVE"
                for g in t.get("GlobalSecondaryIndexes", [])):
            return t
        if time.time() > deadline:
            raise AssertionError("table %s not ACTIVE after %ss" % (name, timeout))
        time.sleep(0.05)


def wait_gone(client, name, timeout=120.0):
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            client.describe_table(TableName=name)
        except ClientError as e:
            if e.response["Error"]["Code"] == "ResourceNotFoundException":
                return
            raise
        time.sleep(0.05)
    raise AssertionError("table %s still exists after %ss" % (name, timeout))


def key_schema_args(hash_key=("pk", "S"), range_key=None):
    ks = [{"AttributeName": hash_key[0], "KeyType": "HASH"}]
    ad = [{"AttributeName": hash_key[0], "AttributeType": hash_key[1]}]
    if range_key:
        ks.append({"AttributeName": range_key[0], "KeyType": "RANGE"})
        ad.append({"AttributeName": range_key[0], "AttributeType": range_key[1]})
    return ks, ad


class TableMaker:
    """Creates uniquely named tables, waits until ACTIVE, deletes them at cleanup."""

    def __init__(self, client):
        self.client = client
        self.names = []

    def __call__(self, hash_key=("pk", "S"), range_key=None, billing="PAY_PER_REQUEST",
                 wait=True, **extra):
        name = extra.pop("TableName", None) or unique_name()
        ks, ad = key_schema_args(hash_key, range_key)
        args = {"TableName": name, "KeySchema": ks, "AttributeDefinitions": ad}
        if billing == "PAY_PER_REQUEST":
            args["BillingMode"] = "PAY_PER_REQUEST"
        else:
            args["ProvisionedThroughput"] = {"ReadCapacityUnits": 5, "WriteCapacityUnits": 5}
        args.update(extra)
        self.client.create_table(**args)
        self.names.append(name)
        if wait:
            wait_active(self.client, name)
        return name

    def cleanup(self):
        for name in self.names:
            for _ in range(100):
                try:
                    self.client.delete_table(TableName=name)
                    break
                except ClientError as e:
                    code = e.response["Error"]["Code"]
                    if code == "ResourceNotFoundException":
                        break
                    if code == "ResourceInUseException":  # still CREATING/UPDATING
                        time.sleep(0.1)
                        continue
                    raise
                except BotoCoreError:
                    break  # server gone (crash is reported by _server_survives)
        self.names = []


@pytest.fixture
def make_table(ddb):
    maker = TableMaker(ddb)
    yield maker
    maker.cleanup()


@pytest.fixture(scope="module")
def module_tables(ddb):
    """Module-wide table maker: tests in a module share tables for speed."""
    maker = TableMaker(ddb)
    yield maker
    maker.cleanup()


# ---------------------------------------------------------------------------
# Assertions


def client_error(fn, *args, **kwargs):
    """Call fn, expect a ClientError, return (code, message, response)."""
    try:
        fn(*args, **kwargs)
    except ClientError as e:
        err = e.response.get("Error", {})
        return err.get("Code"), err.get("Message"), e.response
    raise AssertionError("expected an error, the call succeeded")


def assert_error(code, message, fn, *args, **kwargs):
    """Call fn and assert DynamoDB's error code (HTTP 400) and, if given, message.

    message may be a str (exact match), a compiled regex (search) or None.
    """
    got_code, got_msg, resp = client_error(fn, *args, **kwargs)
    assert got_code == code, "code %r (message %r), expected %r" % (got_code, got_msg, code)
    assert resp["ResponseMetadata"]["HTTPStatusCode"] == 400
    if message is None:
        pass
    elif isinstance(message, str):
        assert got_msg == message
    else:
        assert message.search(got_msg or ""), "message %r does not match %r" % (
            got_msg, message.pattern)
    return got_msg


def assert_validation(message, fn, *args, **kwargs):
    return assert_error("ValidationException", message, fn, *args, **kwargs)


# ---------------------------------------------------------------------------
# Raw HTTP (protocol tests, and API features the old Debian boto3 refuses)


class RawResponse:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers  # dict with lower-cased names
        self.body = body

    def json(self):
        return json.loads(self.body.decode("utf-8"))


def signed_headers(url, target, body, content_type="application/x-amz-json-1.0"):
    """SigV4 headers for a DynamoDB JSON request (harmless if the server ignores auth)."""
    headers = {"Content-Type": content_type}
    if target is not None:
        headers["X-Amz-Target"] = target
    req = AWSRequest(method="POST", url=url + "/", data=body, headers=headers)
    SigV4Auth(Credentials(ACCESS_KEY, SECRET_KEY), "dynamodb", REGION).add_auth(req)
    return dict(req.headers.items())


def connect(url, timeout=10):
    u = urllib.parse.urlsplit(url)
    if u.scheme == "https":
        return http.client.HTTPSConnection(u.hostname, u.port or 443, timeout=timeout)
    return http.client.HTTPConnection(u.hostname, u.port or 80, timeout=timeout)


def raw_request(url, target, body, method="POST", headers=None, sign=True, conn=None,
                content_type="application/x-amz-json-1.0"):
    """Send one request; body is bytes, str, or an object to JSON-encode."""
    if not isinstance(body, (bytes, str)):
        body = json.dumps(body)
    if isinstance(body, str):
        body = body.encode("utf-8")
    if sign:
        hdrs = signed_headers(url, target, body, content_type)
    else:
        hdrs = {}
        if content_type is not None:
            hdrs["Content-Type"] = content_type
        if target is not None:
            hdrs["X-Amz-Target"] = target
    if headers:
        hdrs.update(headers)
    own = conn is None
    c = conn or connect(url)
    try:
        c.request(method, "/", body=body if method != "GET" else None, headers=hdrs)
        r = c.getresponse()
        data = r.read()
        return RawResponse(r.status, {k.lower(): v for k, v in r.getheaders()}, data)
    finally:
        if own:
            c.close()


@pytest.fixture(scope="session")
def raw(endpoint):
    def call(op, body, **kw):
        return raw_request(endpoint, "DynamoDB_20120810." + op, body, **kw)
    return call


# ---------------------------------------------------------------------------
# The AWS CLI (Debian's awscli)


def aws_binary():
    for cand in (os.environ.get("DDAX_AWS_CLI"), "/usr/bin/aws", shutil.which("aws")):
        if cand and os.path.exists(cand):
            return cand
    return None


def aws_cli(endpoint):
    """A function running `aws dynamodb ARGS` against endpoint with test credentials and no
    user configuration. With check (the default) it asserts success and returns the parsed
    JSON output; check=False returns the CompletedProcess. Skips the test without the CLI."""
    binary = aws_binary()
    if not binary:
        pytest.skip("AWS CLI not installed")
    env = dict(os.environ)
    env.update({
        "AWS_ACCESS_KEY_ID": os.environ.get("DDAX_ACCESS_KEY_ID", "AKIDITEST"),
        "AWS_SECRET_ACCESS_KEY": os.environ.get("DDAX_SECRET_ACCESS_KEY", "itestsecret"),
        "AWS_DEFAULT_REGION": REGION,
        "AWS_CONFIG_FILE": "/dev/null",
        "AWS_SHARED_CREDENTIALS_FILE": "/dev/null",
        "AWS_PAGER": "",
        "AWS_MAX_ATTEMPTS": "1",
    })
    env.pop("AWS_PROFILE", None)
    env.pop("AWS_SESSION_TOKEN", None)

    def run(*args, check=True):
        cmd = [binary, "dynamodb", *args, "--endpoint-url", endpoint, "--output", "json"]
        p = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=60)
        if check:
            assert p.returncode == 0, "aws %s failed (%d): %s" % (args[0], p.returncode, p.stderr)
            return json.loads(p.stdout) if p.stdout.strip() else {}
        return p

    return run


@pytest.fixture(scope="module")
def aws(endpoint):
    """aws_cli for the session's server."""
    return aws_cli(endpoint)
