"""GET /metrics: Prometheus text exposition (format 0.0.4) on the DynamoDB listener.

ddax's own admin endpoint (not a DynamoDB API): needs no SigV4 signature. Counter names follow
DAX's CloudWatch metrics (ddax_ItemCacheHits, ddax_ErrorRequestCount, ...). Runs against the
session's `ddax serve` (the cache layer in front of the engine); skipped against an endpoint
that has no /metrics (real DynamoDB, dynalite).
"""

import re
import urllib.error
import urllib.request

import pytest
from botocore.exceptions import ClientError

NAME = r"[a-zA-Z_:][a-zA-Z0-9_:]*"
LABEL = r'[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\.)*"'
SAMPLE_RE = re.compile(
    r"^(%s)(?:\{(%s(?:,%s)*)?\})? ([-+]?(?:[0-9.]+(?:[eE][-+]?[0-9]+)?|Inf|NaN))$"
    % (NAME, LABEL, LABEL))
HELP_RE = re.compile(r"^# HELP (%s) (.*)$" % NAME)
TYPE_RE = re.compile(r"^# TYPE (%s) (counter|gauge|histogram|summary|untyped)$" % NAME)
LABELS_RE = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\n]|\\.)*)"')


def fetch(endpoint):
    with urllib.request.urlopen(endpoint + "/metrics", timeout=10) as r:
        return r.status, r.headers.get("Content-Type"), r.read().decode("utf-8")


def parse(text):
    """Parses the exposition line by line (failing on any malformed line); returns
    {family: {"type", "help", "samples": [(name, labels dict, value)]}}."""
    families = {}
    assert text.endswith("\n")
    for line in text.splitlines():
        m = HELP_RE.match(line)
        if m:
            fam = families.setdefault(m.group(1), {"samples": []})
            assert "help" not in fam, "second HELP for " + m.group(1)
            fam["help"] = m.group(2)
            continue
        m = TYPE_RE.match(line)
        if m:
            fam = families.setdefault(m.group(1), {"samples": []})
            assert "type" not in fam and not fam["samples"], "TYPE after samples: " + line
            fam["type"] = m.group(2)
            continue
        m = SAMPLE_RE.match(line)
        assert m, "not Prometheus text format: %r" % line
        name = m.group(1)
        base = re.sub(r"_(bucket|sum|count)$", "", name)
        fam = families.get(name) or families.get(base)
        assert fam is not None and "type" in fam, "sample without TYPE: " + line
        if fam is families.get(base) and name != base:
            assert fam["type"] == "histogram", line
        labels = dict(LABELS_RE.findall(m.group(2) or ""))
        fam["samples"].append((name, labels, float(m.group(3))))
    return families


def value(families, name, **labels):
    """The sample's value (0 when absent: ddax writes per-operation series once seen)."""
    base = re.sub(r"_(bucket|sum|count)$", "", name)
    fam = families.get(name) or families.get(base) or {"samples": []}
    for n, l, v in fam["samples"]:
        if n == name and l == labels:
            return v
    return 0.0


@pytest.fixture(scope="module")
def metrics_url(endpoint):
    try:
        status, _, _ = fetch(endpoint)
    except (urllib.error.URLError, OSError):
        status = None
    if status != 200:
        pytest.skip("the endpoint has no /metrics (not ddax)")
    return endpoint


def scrape(url):
    return parse(fetch(url)[2])


def test_scrape_is_prometheus_text_without_auth(metrics_url):
    status, ctype, text = fetch(metrics_url)  # unsigned: no Authorization header
    assert status == 200
    assert ctype.startswith("text/plain; version=0.0.4")
    fams = parse(text)
    for name, typ in [("ddax_TotalRequestCount", "counter"),
                      ("ddax_ErrorRequestCount", "counter"),
                      ("ddax_FaultRequestCount", "counter"),
                      ("ddax_ClientConnections", "gauge"),
                      ("ddax_ItemCacheHits", "counter"),
                      ("ddax_ItemCacheMisses", "counter"),
                      ("ddax_QueryCacheHits", "counter"),
                      ("ddax_QueryCacheMisses", "counter"),
                      ("ddax_cache_entries", "gauge"),
                      ("ddax_cache_bytes", "gauge"),
                      ("ddax_request_duration_seconds", "histogram")]:
        assert fams[name]["type"] == typ, name
        assert fams[name]["help"], name
    assert value(fams, "ddax_ClientConnections") >= 1  # this scrape's own connection


def test_get_item_twice_misses_then_hits(metrics_url, ddb, make_table):
    table = make_table()
    # ALL_OLD: the cache does not learn the new image from this write (a Put would put it in
    # the cache at once), so the first read is a miss.
    ddb.update_item(TableName=table, Key={"pk": {"S": "a"}}, UpdateExpression="SET v = :v",
                    ExpressionAttributeValues={":v": {"N": "1"}}, ReturnValues="ALL_OLD")
    m0 = scrape(metrics_url)
    ddb.get_item(TableName=table, Key={"pk": {"S": "a"}})
    m1 = scrape(metrics_url)
    assert value(m1, "ddax_ItemCacheMisses") == value(m0, "ddax_ItemCacheMisses") + 1
    assert value(m1, "ddax_ItemCacheHits") == value(m0, "ddax_ItemCacheHits")
    got = ddb.get_item(TableName=table, Key={"pk": {"S": "a"}})
    assert got["Item"]["v"] == {"N": "1"}
    m2 = scrape(metrics_url)
    assert value(m2, "ddax_ItemCacheHits") == value(m1, "ddax_ItemCacheHits") + 1
    assert value(m2, "ddax_ItemCacheMisses") == value(m1, "ddax_ItemCacheMisses")
    assert value(m2, "ddax_upstream_requests_total", op="GetItem") == \
        value(m0, "ddax_upstream_requests_total", op="GetItem") + 1


def test_request_counts_and_latency_per_operation(metrics_url, ddb, make_table):
    table = make_table()
    m0 = scrape(metrics_url)
    for i in range(3):
        ddb.put_item(TableName=table, Item={"pk": {"S": "k%d" % i}})
    ddb.get_item(TableName=table, Key={"pk": {"S": "k0"}})
    m1 = scrape(metrics_url)
    assert value(m1, "ddax_requests_total", op="PutItem") == \
        value(m0, "ddax_requests_total", op="PutItem") + 3
    assert value(m1, "ddax_requests_total", op="GetItem") == \
        value(m0, "ddax_requests_total", op="GetItem") + 1
    assert value(m1, "ddax_TotalRequestCount") == value(m0, "ddax_TotalRequestCount") + 4
    # The histogram: cumulative buckets ending in +Inf, which equals _count.
    h = "ddax_request_duration_seconds"
    buckets = [(l["le"], v) for n, l, v in m1[h]["samples"]
               if n == h + "_bucket" and l["op"] == "PutItem"]
    assert buckets[-1][0] == "+Inf"
    les = [float(le) for le, _ in buckets[:-1]]
    assert les == sorted(les) and les[0] == 0.00001 and les[-1] == 1
    counts = [v for _, v in buckets]
    assert counts == sorted(counts)
    assert counts[-1] == value(m1, h + "_count", op="PutItem")
    assert value(m1, h + "_count", op="PutItem") == value(m0, h + "_count", op="PutItem") + 3
    assert value(m1, h + "_sum", op="PutItem") > value(m0, h + "_sum", op="PutItem")


def test_errors_count_by_class(metrics_url, ddb):
    m0 = scrape(metrics_url)
    with pytest.raises(ClientError) as e:
        ddb.get_item(TableName="no-such-table-metrics", Key={"pk": {"S": "a"}})
    assert e.value.response["Error"]["Code"] == "ResourceNotFoundException"
    m1 = scrape(metrics_url)
    assert value(m1, "ddax_ErrorRequestCount") == value(m0, "ddax_ErrorRequestCount") + 1
    assert value(m1, "ddax_FaultRequestCount") == value(m0, "ddax_FaultRequestCount")
    assert value(m1, "ddax_request_errors_total", op="GetItem", **{"class": "4xx"}) == \
        value(m0, "ddax_request_errors_total", op="GetItem", **{"class": "4xx"}) + 1


def test_other_get_paths_unchanged(metrics_url):
    with urllib.request.urlopen(metrics_url + "/", timeout=10) as r:
        assert r.read().decode().startswith("healthy: dynamodb.")
    with pytest.raises(urllib.error.HTTPError) as e:
        urllib.request.urlopen(metrics_url + "/metricsx", timeout=10)
    assert e.value.code == 404
