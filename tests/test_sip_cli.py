"""`pycallcenter sip`: parse prints JSON or one error line; serve and call talk to each other over loopback UDP."""
import json
import subprocess
import sys

from pycallcenter.cli import main
from sip_torture import INVALID, WSINV


def test_parse_prints_the_message_as_json(tmp_path, capsys):
    path = tmp_path / "wsinv.sip"
    path.write_bytes(WSINV)
    assert main(["sip", "parse", str(path)]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["method"] == "INVITE" and out["body_bytes"] == 150
    assert ["Max-Forwards", "0068"] in out["headers"]


def test_parse_names_file_header_and_offset_in_one_line(tmp_path, capsys):
    path = tmp_path / "bad.sip"
    path.write_bytes(INVALID["badaspec"][1])
    assert main(["sip", "parse", str(path)]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"{path}: To at offset " in err and "Traceback" not in err


def test_parse_reads_one_message_at_most(capsys):
    # it read its whole input: `sip parse /dev/zero` ran out of memory
    assert main(["sip", "parse", "/dev/zero"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "/dev/zero: more than 1114112 bytes, longer than one SIP message" in err


def test_serve_answers_a_call_placed_by_call(capsys):
    server = subprocess.Popen([sys.executable, "-m", "pycallcenter", "sip", "serve", "--port", "0", "--duration", "4"],
                              stdout=subprocess.PIPE, text=True)
    try:
        port = int(server.stdout.readline().split(":")[-1])
        assert main(["sip", "call", f"sip:agent@127.0.0.1:{port}", "--talk", "0.1", "--timeout", "5"]) == 0
        events = [json.loads(line)["event"] for line in capsys.readouterr().out.splitlines()]
        assert events == ["CallAnswered", "CallEnded"]
        lines = server.communicate(timeout=10)[0].splitlines()  # serve stops by itself after --duration
    finally:
        server.kill()
    assert [json.loads(line)["event"] for line in lines] == ["IncomingCall", "CallConfirmed", "CallEnded"]


def test_serve_on_all_addresses_needs_an_advertised_address(capsys):
    assert main(["sip", "serve", "--host", "0.0.0.0", "--port", "0", "--duration", "0"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "advertise" in err


def test_serve_over_tcp_with_accounts_challenges_and_answers(tmp_path):
    """`sip serve --transport tcp --account alice:wonderland`: our UA over TCP with the right credentials is
    challenged, then answered; with none it gets 401."""
    import asyncio

    from pycallcenter.sip import ua as U
    from pycallcenter.sip.transport import open_stream_endpoint

    server = subprocess.Popen([sys.executable, "-m", "pycallcenter", "sip", "serve", "--port", "0", "--duration", "6",
                               "--transport", "tcp", "--account", "alice:wonderland"],
                              stdout=subprocess.PIPE, text=True)

    async def call(port, auth):
        caller = await open_stream_endpoint("127.0.0.1", 0, "TCP", auth=auth)
        try:
            caller.call(f"sip:agent@127.0.0.1:{port};transport=tcp")
            while True:
                event = await asyncio.wait_for(caller.events.get(), 5)
                if isinstance(event, (U.CallAnswered, U.CallFailed)):
                    return event
        finally:
            caller.close()

    try:
        first = server.stdout.readline()
        assert first.startswith("listening on tcp ")
        port = int(first.split(":")[-1])
        answered = asyncio.run(call(port, ("alice", "wonderland")))
        refused = asyncio.run(call(port, None))
    finally:
        server.kill()
        server.communicate()
    assert isinstance(answered, U.CallAnswered) and refused == U.CallFailed(refused.call_id, 401)
