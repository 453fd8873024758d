"""tshark agrees with our Q.931 encoder: every message type we build, decoded in one tshark run."""
import shutil
import subprocess

import pytest

from pycallcenter.isdn import ie, q931
from pycallcenter.isdn.frame import Frame, decode
from pycallcenter.trace.pcap import LINKTYPE_LAPD, PcapWriter

pytestmark = pytest.mark.peer

FIELDS = ["q931.message_type", "q931.maintenance_message_type", "q931.call_ref", "q931.call_ref_flag",
          "q931.called_party_number.digits", "q931.calling_party_number.digits", "q931.cause_value",
          "q931.channel.number", "_ws.expert.severity"]


def _messages():
    cr = 0x0101
    setup_ies = [ie.bearer(0, layer1=3), ie.channel_id(5), ie.progress(3), ie.calling_number("2025550100"),
                 ie.called_number("5551234"), ie.display("Bob"), ie.single(0xA1)]
    cases = [(q931.SETUP, setup_ies), (q931.SETUP_ACKNOWLEDGE, [ie.channel_id(5)]),
             (q931.CALL_PROCEEDING, [ie.channel_id(6)]), (q931.ALERTING, [ie.progress(8)]),
             (q931.PROGRESS, [ie.progress(1, 2)]), (q931.CONNECT, [ie.channel_id(7), ie.calling_number("123", name="connected_number")]),
             (q931.CONNECT_ACKNOWLEDGE, []), (q931.DISCONNECT, [ie.cause(17)]), (q931.RELEASE, [ie.cause(16)]),
             (q931.RELEASE_COMPLETE, [ie.cause(102, 2)]), (q931.INFORMATION, [ie.called_number("9")]),
             (q931.STATUS, [ie.cause(30), ie.call_state(10)]), (q931.STATUS_ENQUIRY, []),
             (q931.NOTIFY, [ie.notification(0)]), (q931.FACILITY, [ie.raw(0, 0x1C, bytes.fromhex("91a203020101"))]),
             (q931.RESTART, [ie.channel_id(9), ie.restart_indicator(0)]), (q931.RESTART_ACKNOWLEDGE, [ie.restart_indicator(7)])]
    out = []
    for n, (mt, ies) in enumerate(cases):
        flag = n % 2 == 1
        call_ref = 0 if mt in (q931.RESTART, q931.RESTART_ACKNOWLEDGE) else cr + n
        out.append(q931.Message(mt, call_ref, flag, ies))
    out.append(q931.Message(q931.SERVICE, 0, False, [ie.change_status(1), ie.channel_id(3)], pd=q931.PD_MAINTENANCE))
    out.append(q931.Message(q931.SERVICE_ACKNOWLEDGE, 0, True, [ie.change_status(1), ie.channel_id(3)],
                            pd=q931.PD_MAINTENANCE))
    return out


def test_tshark_decodes_what_we_build(tmp_path):
    if not shutil.which("tshark"):
        pytest.skip("tshark is not installed")
    msgs = _messages()
    path = tmp_path / "built.pcapng"
    with PcapWriter(str(path), LINKTYPE_LAPD) as pcap:
        for n, msg in enumerate(msgs):
            data = Frame("I", 0, 0, 1, 0, n % 128, 0, msg.encode()).encode()
            pcap.write(data, ts=float(n), inbound=True)
    cmd = ["tshark", "-r", str(path), "-T", "fields", "-E", "separator=|", "-E", "occurrence=f"]
    for f in FIELDS:
        cmd += ["-e", f]
    lines = subprocess.run(cmd, capture_output=True, text=True, check=True, timeout=60).stdout.splitlines()
    assert len(lines) == len(msgs)
    for msg, line in zip(msgs, lines):
        got = dict(zip(FIELDS, line.split("|")))
        mt = got["q931.message_type"] if msg.pd == q931.PD_Q931 else got["q931.maintenance_message_type"]
        assert int(mt, 16) == msg.msg_type, (msg, line)
        if msg.call_ref:
            assert int(got["q931.call_ref"].replace(":", ""), 16) == msg.call_ref, (msg, line)
        assert got["q931.call_ref_flag"] in (("1", "True") if msg.cr_flag else ("0", "False")), (msg, line)
        for name, field in (("called_party_number", "q931.called_party_number.digits"),
                            ("calling_party_number", "q931.calling_party_number.digits")):
            v = msg.fields(name)
            assert got[field] == (v["digits"] if v else ""), (msg, line)
        cause = msg.fields("cause")
        assert got["q931.cause_value"] == (str(cause["value"]) if cause else ""), (msg, line)
        chan = msg.fields("channel_identification")
        assert got["q931.channel.number"] == (str(chan["channel"]) if chan else ""), (msg, line)
        assert got["_ws.expert.severity"] in ("", "2097152"), (msg, line)  # no malformed/error expert info


def _flow_frames():
    """Every I frame our call control sends in a set of back-to-back flows (both sides), with its sender."""
    from isdn_pair import Pair
    from pycallcenter.isdn import call as cc
    frames = []
    for variant in ("euroisdn_e1", "ni2", "5ess"):
        p = Pair(variant).start()
        c = p.user.setup(p.now, "5551234", "2025550100", calling_name="Alice", overlap=True)
        p.pump(until=p.now + 0.1)
        inc = p.take("net", cc.IncomingCall)
        p.net.setup_ack(inc.call, p.now)
        p.pump(until=p.now + 0.1)
        p.user.send_digits(c, "9", p.now, complete=True)
        p.net.proceeding(inc.call, p.now)
        p.net.progress(inc.call, p.now, 8)
        p.net.alerting(inc.call, p.now)
        p.net.answer(inc.call, p.now, connected="5551234")
        p.pump(until=p.now + 0.1)
        p.user.status_enquiry(c, p.now)
        p.pump(until=p.now + 0.1)
        p.net.hangup(inc.call, p.now, 17)
        p.pump(until=p.now + 0.1)
        p.net.restart(p.now, [3])
        p.user.restart(p.now)
        if variant == "ni2":
            p.net.service(p.now, 4, 1)
        p.pump(until=p.now + 0.1)
        frames += [(side == "net", data) for side, data in p.tap if decode(data).kind == "I"]
    return frames


def test_tshark_agrees_on_call_control_output(tmp_path):
    if not shutil.which("tshark"):
        pytest.skip("tshark is not installed")
    frames = _flow_frames()
    path = tmp_path / "flows.pcapng"
    with PcapWriter(str(path), LINKTYPE_LAPD) as pcap:
        for n, (from_net, data) in enumerate(frames):
            pcap.write(data, ts=float(n), inbound=from_net)
    cmd = ["tshark", "-r", str(path), "-T", "fields", "-E", "separator=|", "-E", "occurrence=f"]
    for f in FIELDS:
        cmd += ["-e", f]
    lines = subprocess.run(cmd, capture_output=True, text=True, check=True, timeout=60).stdout.splitlines()
    assert len(lines) == len(frames)
    names = set()
    for (_, data), line in zip(frames, lines):
        msg = q931.decode(decode(data).info)
        names.add(msg.name)
        got = dict(zip(FIELDS, line.split("|")))
        mt = got["q931.message_type"] if msg.pd == q931.PD_Q931 else got["q931.maintenance_message_type"]
        assert int(mt, 16) == msg.msg_type, (msg, line)
        for name, field in (("called_party_number", "q931.called_party_number.digits"),
                            ("calling_party_number", "q931.calling_party_number.digits")):
            v = msg.fields(name)
            assert got[field] == (v["digits"] if v else ""), (msg, line)
        cause = msg.fields("cause")
        assert got["q931.cause_value"] == (str(cause["value"]) if cause else ""), (msg, line)
        chan = msg.fields("channel_identification")
        assert got["q931.channel.number"] == (str(chan["channel"]) if chan and chan["channel"] else ""), (msg, line)
        assert got["_ws.expert.severity"] in ("", "2097152"), (msg, line)
    assert {"SETUP", "SETUP ACKNOWLEDGE", "INFORMATION", "CALL PROCEEDING", "PROGRESS", "ALERTING", "CONNECT",
            "CONNECT ACKNOWLEDGE", "STATUS ENQUIRY", "STATUS", "DISCONNECT", "RELEASE", "RELEASE COMPLETE",
            "RESTART", "RESTART ACKNOWLEDGE", "SERVICE", "SERVICE ACKNOWLEDGE"} <= names
