"""Test helper: run SIPp 3.6 (Debian sip-tester) against our endpoints and read its statistics file."""
import asyncio
import csv
import shutil
import socket
from pathlib import Path

from pycallcenter.sip import ua as U
from pycallcenter.sip.udp import open_endpoint

SIPP = shutil.which("sipp")
MISSING = "sipp (Debian package sip-tester) is not installed; `make sysdeps-test` installs it"
SCENARIOS = Path(__file__).parent / "sipp"  # our own scenario files


def free_udp_port():
    """Return a UDP port free on loopback now."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def last_stats(path):
    """Return SIPp's last statistics row (field name -> text) from the csv file in path."""
    files = sorted(path.glob("*.csv"))
    assert files, "sipp wrote no statistics file"
    with open(files[-1], newline="") as f:
        rows = list(csv.reader(f, delimiter=";"))
    header, last = rows[0], rows[-1]
    return dict(zip(header, last))


async def sipp(tmp_path, *args, timeout=60):
    """Run sipp with args in tmp_path (statistics and errors written there); returns (exit code, stdout, stderr)."""
    proc = await asyncio.create_subprocess_exec(
        SIPP, *args, "-nostdin", "-trace_stat", "-stf", str(tmp_path / "stats.csv"), "-fd", "1",
        "-trace_err", "-error_file", str(tmp_path / "errors.log"), "-timeout", f"{timeout}s", "-timeout_error",
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, cwd=tmp_path)
    try:
        out, err = await asyncio.wait_for(proc.communicate(), timeout + 15)
    except asyncio.TimeoutError:
        proc.kill()
        raise
    return proc.returncode, out.decode(errors="replace"), err.decode(errors="replace")


def call_sipp_uas(tmp_path, scenario_args, talk):
    """Run SIPp as the callee (scenario_args: "-sn uas" or "-sf FILE"), place one call to it from our UDP
    endpoint and hang up talk seconds after the answer; returns (our events, (exit code, stdout, stderr))."""
    port = free_udp_port()

    async def main():
        run = asyncio.create_task(sipp(tmp_path, *scenario_args, "-i", "127.0.0.1", "-p", str(port), "-m", "1",
                                       timeout=30))
        await asyncio.sleep(0.5)  # let SIPp bind its socket
        endpoint = await open_endpoint("127.0.0.1", 0)
        seen = []
        try:
            call_id = endpoint.call(f"sip:service@127.0.0.1:{port}")
            while True:
                event = await asyncio.wait_for(endpoint.events.get(), 10)
                seen.append(event)
                if isinstance(event, U.CallAnswered):
                    await asyncio.sleep(talk)
                    endpoint.hang_up(call_id)
                if isinstance(event, (U.CallEnded, U.CallFailed)):
                    break
            return seen, await run
        finally:
            endpoint.close()

    return asyncio.run(main())
