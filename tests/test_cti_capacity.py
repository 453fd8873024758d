"""The CTI server under a low open-file limit: it serves as many connections as fit, refuses the rest at
once with a log line, and says so at start, instead of letting accept() fail with EMFILE (asyncio then
stops accepting for a second at a time, and every new connection stalls). The server runs in a child
process whose hard limit is lowered; the connections come from this process."""
import json
import os
import select
import socket
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))

SERVER = r"""
import json, logging, resource, sys
resource.setrlimit(resource.RLIMIT_NOFILE, (128, 400))
logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stderr)
from cti_rig import Centre
from pycallcenter.cti.config import Limits

c = Centre(tcp=False, limits=Limits(max_per_source=1000))
soft = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
print(json.dumps({"port": c.server.port, "soft": soft, "capacity": c.server.status()["capacity"]}), flush=True)
for line in sys.stdin:
    print(json.dumps(c.server.status()), flush=True)
"""


def test_a_low_file_limit_caps_connections_with_a_warning_and_refuses_the_rest_at_once():
    proc = subprocess.Popen([sys.executable, "-c", SERVER], cwd=HERE, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env={**os.environ, "PYTHONPATH": HERE})
    socks = []
    try:
        start = json.loads(proc.stdout.readline())
        assert start["soft"] == 400  # raised from 128 to the hard limit
        capacity = start["capacity"]
        assert 0 < capacity < 400 - 256  # what fits beside the files open and the reserve, not the default 1,024
        t = time.monotonic()
        for _ in range(capacity + 20):
            s = socket.create_connection(("127.0.0.1", start["port"]), timeout=5)
            socks.append(s)
        time.sleep(1.0)
        refused = 0
        for s in select.select(socks, [], [], 0)[0]:  # the ones over the cap were closed by the server at once
            try:
                refused += s.recv(1) == b""
            except ConnectionResetError:
                refused += 1
        assert time.monotonic() - t < 5  # no accept() paused for a second at a time
        proc.stdin.write("status\n")
        proc.stdin.flush()
        status = json.loads(proc.stdout.readline())
        assert sum(status["connections"].values()) == capacity, (status, refused, time.monotonic() - t)
        assert refused == 20 and status["refused"]["connection"] == 20
    finally:
        for s in socks:
            s.close()
        proc.stdin.close()
        proc.wait(30)
    err = proc.stderr.read()
    assert "leaves room for" in err and "cti_max_connections (1024)" in err
    assert "refused connection from 127.0.0.1: too many connections" in err and "out of system resource" not in err
