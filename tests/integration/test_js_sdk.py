"""The AWS SDK for JavaScript v3 against the server: runs each js/*.test.mjs with node's test runner
(sdk.test.mjs: the everyday operations; transactions.test.mjs: what Debian's boto3 cannot send,
such as ReturnValuesOnConditionCheckFailure on transaction items)."""
import os
import shutil
import subprocess

import pytest

JS_DIR = os.path.join(os.path.dirname(__file__), "js")


@pytest.mark.parametrize("script", ["sdk.test.mjs", "transactions.test.mjs"])
def test_js_sdk(endpoint, script):
    node = shutil.which("node")
    if not node or not os.path.isdir(os.path.join(JS_DIR, "node_modules", "@aws-sdk")):
        pytest.skip("node or @aws-sdk/client-dynamodb not installed (scripts/deps.sh installs them)")
    env = dict(os.environ, DDAX_ENDPOINT=endpoint)
    proc = subprocess.run([node, "--test", script], cwd=JS_DIR, env=env,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
