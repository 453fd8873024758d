"""`pycallcenter sip serve --codecs` and `sip call --codecs`: the names [sip] codecs takes, checked in one error
line, carried to the SDP each side offers and answers (the agreed codec is on the call's event line)."""
import json
import subprocess
import sys

import pytest

from pycallcenter.cli import main
from pycallcenter.media import g722

needs_g722 = pytest.mark.skipif(not g722.AVAILABLE, reason="the g722 extra (G722 package) is not installed")


def serve(*codecs):
    """Return (a running `sip serve` that stops by itself within 10 s, its port)."""
    extra = ["--codecs", ",".join(codecs)] if codecs else []
    server = subprocess.Popen([sys.executable, "-m", "pycallcenter", "sip", "serve", "--port", "0", "--duration", "10",
                               *extra], stdout=subprocess.PIPE, text=True)
    return server, int(server.stdout.readline().split(":")[-1])


def call(capsys, port, *codecs):
    """Return (exit status of `sip call` to the server, its event lines as dicts)."""
    extra = ["--codecs", ",".join(codecs)] if codecs else []
    status = main(["sip", "call", f"sip:agent@127.0.0.1:{port}", "--talk", "0.1", "--timeout", "5", *extra])
    return status, [json.loads(line) for line in capsys.readouterr().out.splitlines()]


def served(server):
    """Return the server's event lines as dicts up to its call's end (or its own stop), and stop it."""
    events = []
    try:
        for line in server.stdout:
            events.append(json.loads(line))
            if events[-1]["event"] == "CallEnded":
                break
        return events
    finally:
        server.kill()
        server.communicate()


@needs_g722
def test_a_g722_call_is_agreed_when_both_commands_name_it(capsys):
    server, port = serve("G722", "PCMU")
    status, events = call(capsys, port, "G722", "PCMA")
    assert status == 0 and [e["event"] for e in events] == ["CallAnswered", "CallEnded"]
    assert events[0]["codec"] == "G722"
    incoming = served(server)[0]
    assert incoming["event"] == "IncomingCall" and incoming["codec"] == "G722"


@needs_g722
def test_the_callers_preference_wins_among_the_codecs_both_take(capsys):
    server, port = serve("G722", "PCMA")
    status, events = call(capsys, port, "PCMA", "G722")
    assert status == 0 and events[0]["codec"] == "PCMA"
    assert served(server)[0]["codec"] == "PCMA"


def test_a_g711_only_server_takes_the_default_offer_in_its_own_law(capsys):
    server, port = serve("PCMA")
    status, events = call(capsys, port)  # no --codecs: PCMU, PCMA as before
    assert status == 0 and events[0]["codec"] == "PCMA"
    assert served(server)[0]["codec"] == "PCMA"


def test_no_codec_in_common_is_refused_with_488(capsys):
    server, port = serve("PCMU")
    status, events = call(capsys, port, "PCMA")
    server.kill()
    server.communicate()
    assert status == 1 and events == [{"event": "CallFailed", "call_id": events[0]["call_id"], "status": 488}]


@pytest.mark.parametrize("value, says", [
    ("G723", "G723: name one or more of PCMU, PCMA, G722"),
    ("PCMU,pcmu", "at most once"),
    (",", "none: name one or more of"),
])
@pytest.mark.parametrize("action", ["serve", "call"])
def test_a_bad_codecs_value_is_one_error_line(capsys, action, value, says):
    target = ["--port", "0", "--duration", "0"] if action == "serve" else ["sip:agent@127.0.0.1:9"]
    assert main(["sip", action, *target, "--codecs", value]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"--codecs {value}: " in err and says in err and "Traceback" not in err


def test_g722_without_the_extra_names_the_extra(capsys, monkeypatch):
    monkeypatch.setattr(g722, "AVAILABLE", False)
    assert main(["sip", "call", "sip:agent@127.0.0.1:9", "--codecs", "PCMU,G722"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "g722 extra" in err
