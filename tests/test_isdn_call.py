"""Q.931 call control, our network side against our user side: call flows, clearing, timers, glare, restart,
and the responses Q.931 5.8 prescribes to bad input."""
import pytest
from hypothesis import given, settings, strategies as st

from isdn_pair import Pair
from pycallcenter.errors import LocalProtocolError
from pycallcenter.isdn import call as cc
from pycallcenter.isdn import ie, q931
from pycallcenter.isdn.frame import Frame, decode


def sent_messages(p, side):
    out = []
    for s, data in p.tap:
        f = decode(data)
        if s == side and f.kind == "I":
            out.append(q931.decode(f.info))
    return out


def deafen(iface):
    """Make an interface acknowledge frames at layer 2 but ignore every Q.931 message."""
    iface._message = lambda data, now: None


def inject(p, to, msg):
    """Deliver a raw Q.931 message to side `to` as if its peer sent it in an I frame."""
    iface = getattr(p, to)
    peer = p.user if to == "net" else p.net
    frame = Frame("I", 0, 0, peer.link.cmd_cr, 0, peer.link.vs, peer.link.vr, msg if isinstance(msg, bytes) else msg.encode())
    peer.link.vs = (peer.link.vs + 1) % 128
    p.add(iface, iface.receive(frame.encode(), p.now))
    p.pump(until=p.now + 0.1)


@pytest.mark.parametrize("caller", ["user", "net"])
@pytest.mark.parametrize("variant", ["euroisdn_e1", "euroisdn_t1", "ni2", "dms100", "5ess", "4ess"])
def test_basic_call_numbers_and_hangup_both_directions(caller, variant):
    p = Pair(variant).start()
    a, b = (p.user, p.net) if caller == "user" else (p.net, p.user)
    bn = p.side(b)
    call = a.setup(p.now, "5551234", "2025550100", calling_name="Alice")
    p.pump(until=p.now + 0.1)
    inc = p.take(bn, cc.IncomingCall)
    assert (inc.called, inc.calling, inc.calling_name, inc.sending_complete) == ("5551234", "2025550100", "Alice", True)
    assert inc.channel == call.channel or caller == "user"
    p.add(b, b.proceeding(inc.call, p.now))
    p.add(b, b.alerting(inc.call, p.now, inband=True))
    p.pump(until=p.now + 0.1)
    an = p.side(a)
    assert p.of(an, cc.Proceeding) and p.of(an, cc.Alerting) and p.take(an, cc.Progress).description == 8
    assert call.channel == inc.channel
    p.add(b, b.answer(inc.call, p.now))
    p.pump(until=p.now + 0.1)
    assert call.state == cc.ACTIVE and inc.call.state == cc.ACTIVE
    # hang up from the answering side
    p.add(b, b.hangup(inc.call, p.now, 16))
    p.pump(until=p.now + 0.1)
    assert p.take(an, cc.Disconnected).cause == 16
    assert p.take(an, cc.CallEnded).cause == 16 and p.take(bn, cc.CallEnded).cause == 16
    assert not p.net.calls and not p.user.calls and not p.net.channel_calls and not p.user.channel_calls


def test_caller_hangs_up_active_call_and_message_sequence():
    p = Pair().start()
    call = p.user.setup(p.now, "100", "200")
    p.pump(until=p.now + 0.1)
    inc = p.take("net", cc.IncomingCall)
    p.add(p.net, p.net.answer(inc.call, p.now))
    p.pump(until=p.now + 0.1)
    p.add(p.user, p.user.hangup(call, p.now, 16))
    p.pump(until=p.now + 0.1)
    names = [(s, q931.decode(decode(d).info).name) for s, d in p.tap if decode(d).kind == "I"]
    assert names == [("user", "SETUP"), ("net", "CONNECT"), ("user", "CONNECT ACKNOWLEDGE"), ("user", "DISCONNECT"),
                     ("net", "RELEASE"), ("user", "RELEASE COMPLETE")]
    assert p.take("net", cc.CallEnded).cause == 16


def test_busy_reject_with_release_complete_17():
    p = Pair().start()
    call = p.net.setup(p.now, "100", "200")
    p.pump(until=p.now + 0.1)
    inc = p.take("user", cc.IncomingCall)
    p.add(p.user, p.user.hangup(inc.call, p.now, 17))
    p.pump(until=p.now + 0.1)
    assert p.take("net", cc.CallEnded).cause == 17 and call.state == cc.NULL


def test_busy_after_proceeding_with_disconnect_17():
    p = Pair().start()
    call = p.user.setup(p.now, "100", "200")
    p.pump(until=p.now + 0.1)
    inc = p.take("net", cc.IncomingCall)
    p.add(p.net, p.net.proceeding(inc.call, p.now))
    p.add(p.net, p.net.hangup(inc.call, p.now, 17))
    p.pump(until=p.now + 0.1)
    assert p.take("user", cc.Disconnected).cause == 17 and p.take("user", cc.CallEnded).cause == 17


def test_no_answer_t301_network_side_clears_with_19():
    p = Pair().start()
    call = p.net.setup(p.now, "100", "200")
    p.pump(until=p.now + 0.1)
    inc = p.take("user", cc.IncomingCall)
    p.add(p.user, p.user.alerting(inc.call, p.now))
    p.pump(until=p.now + 179)
    assert call.state == cc.CALL_DELIVERED
    p.pump(until=p.now + 2)
    assert p.take("user", cc.Disconnected).cause == 19 and p.take("net", cc.CallEnded).cause == 19


def test_t310_user_side_clears_with_102():
    p = Pair().start()
    call = p.user.setup(p.now, "100", "200")
    p.pump(until=p.now + 0.1)
    p.add(p.net, p.net.proceeding(p.take("net", cc.IncomingCall).call, p.now))
    p.pump(until=p.now + 29)
    assert call.state == cc.OUTGOING_PROCEEDING
    p.pump(until=p.now + 2)
    assert p.take("net", cc.Disconnected).cause == 102 and call.state == cc.NULL


def test_t303_retransmits_setup_once_then_gives_up():
    p = Pair().start()
    deafen(p.net)
    call = p.user.setup(p.now, "100", "200")
    p.pump(until=p.now + 9)
    setups = [m for m in sent_messages(p, "user") if m.name == "SETUP"]
    assert len(setups) == 2 and call.state == cc.NULL
    assert p.take("user", cc.CallEnded).cause == 102


def test_t305_t308_when_far_end_silent():
    p = Pair().start()
    call = p.user.setup(p.now, "100", "200")
    p.pump(until=p.now + 0.1)
    p.add(p.net, p.net.answer(p.take("net", cc.IncomingCall).call, p.now))
    p.pump(until=p.now + 0.1)
    deafen(p.net)
    p.add(p.user, p.user.hangup(call, p.now))
    p.pump(until=p.now + 45)
    names = [m.name for m in sent_messages(p, "user")][-3:]
    assert names == ["DISCONNECT", "RELEASE", "RELEASE"]
    assert call.state == cc.NULL and p.take("user", cc.CallEnded).cause == 102


def test_t313_user_connect_unacknowledged():
    p = Pair().start()
    p.net.setup(p.now, "100", "200")
    p.pump(until=p.now + 0.1)
    inc = p.take("user", cc.IncomingCall)
    deafen(p.net)
    p.add(p.user, p.user.answer(inc.call, p.now))
    p.pump(until=p.now + 5)
    assert "DISCONNECT" in [m.name for m in sent_messages(p, "user")]


def test_overlap_sending_and_receiving():
    p = Pair().start()
    call = p.user.setup(p.now, "55", "200", overlap=True)
    p.pump(until=p.now + 0.1)
    inc = p.take("net", cc.IncomingCall)
    assert inc.called == "55" and not inc.sending_complete
    p.add(p.net, p.net.setup_ack(inc.call, p.now))
    p.pump(until=p.now + 0.1)
    assert p.of("user", cc.SetupAcknowledged) and call.state == cc.OVERLAP_SENDING
    p.add(p.user, p.user.send_digits(call, "512", p.now))
    p.add(p.user, p.user.send_digits(call, "34", p.now, complete=True))
    p.pump(until=p.now + 0.1)
    assert [e.digits for e in p.of("net", cc.MoreDigits)] == ["512", "34"]
    assert inc.call.called == "5551234" and p.of("net", cc.MoreDigits)[-1].sending_complete
    p.add(p.net, p.net.proceeding(inc.call, p.now))
    p.pump(until=p.now + 0.1)
    assert call.state == cc.OUTGOING_PROCEEDING


def test_overlap_receiving_t302_completes_dialling():
    p = Pair().start()
    p.user.setup(p.now, "5", "200", overlap=True)
    p.pump(until=p.now + 0.1)
    inc = p.take("net", cc.IncomingCall)
    p.add(p.net, p.net.setup_ack(inc.call, p.now))
    p.pump(until=p.now + 11)
    assert p.of("net", cc.DialComplete) and inc.call.state == cc.INCOMING_PROCEEDING


def test_t304_overlap_sending_expiry():
    p = Pair(timers={"T302": 100.0}).start()
    call = p.user.setup(p.now, "5", "200", overlap=True)
    p.pump(until=p.now + 0.1)
    inc = p.take("net", cc.IncomingCall)
    p.add(p.net, p.net.setup_ack(inc.call, p.now))
    deafen(p.net)
    p.pump(until=p.now + 31)
    assert "DISCONNECT" in [m.name for m in sent_messages(p, "user")]


def test_glare_network_wins_and_user_call_moves():
    p = Pair().start()
    ucall = p.user.setup(p.now, "100", "200", channel=1, exclusive=False)
    ncall = p.net.setup(p.now, "300", "400", channel=1)
    p.pump(until=p.now + 0.1)
    uinc = p.take("user", cc.IncomingCall)
    ninc = p.take("net", cc.IncomingCall)
    assert uinc.channel == 1 and ncall.channel == 1
    assert ninc.channel != 1
    p.add(p.net, p.net.proceeding(ninc.call, p.now))
    p.pump(until=p.now + 0.1)
    assert ucall.channel == ninc.channel != 1
    assert p.user.channel_calls[1] is uinc.call


def test_glare_exclusive_user_call_rejected_44():
    p = Pair().start()
    p.user.setup(p.now, "100", "200", channel=3, exclusive=True)
    p.net.setup(p.now, "300", "400", channel=3)
    p.pump(until=p.now + 0.1)
    assert p.take("user", cc.CallEnded).cause == 44
    assert p.take("user", cc.IncomingCall).channel == 3


def test_restart_single_channel_and_whole_interface():
    p = Pair().start()
    c1 = p.net.setup(p.now, "1", "2", channel=5)
    c2 = p.net.setup(p.now, "1", "2", channel=6)
    p.pump(until=p.now + 0.1)
    p.add(p.net, p.net.restart(p.now, [5]))
    p.pump(until=p.now + 0.1)
    assert p.take("user", cc.RestartReceived).channels == [5]
    assert p.take("net", cc.RestartAcknowledged).channels == [5]
    assert 5 not in p.user.channel_calls and 6 in p.user.channel_calls and c1.state == cc.NULL
    p.add(p.user, p.user.restart(p.now))
    p.pump(until=p.now + 0.1)
    assert p.of("net", cc.RestartReceived)[-1].channels is None and not p.net.calls and c2.state == cc.NULL


def test_restart_t316_retries_then_fails():
    p = Pair().start()
    deafen(p.net)
    p.add(p.user, p.user.restart(p.now))
    p.pump(until=p.now + 400)
    assert len([m for m in sent_messages(p, "user") if m.name == "RESTART"]) == 3
    assert p.take("user", cc.RestartAcknowledged).ok is False


def test_service_messages_ni2():
    p = Pair("ni2").start()
    p.add(p.net, p.net.service(p.now, 4, 2))
    p.pump(until=p.now + 0.1)
    assert p.take("user", cc.ServiceReceived) == cc.ServiceReceived(4, 2)
    assert p.take("net", cc.ServiceAcknowledged).status == 2
    assert 4 in p.user.out_of_service
    with pytest.raises(LocalProtocolError):
        Pair("euroisdn_e1").start().net.service(0, 4, 2)


def test_local_misuse_raises():
    p = Pair().start()
    call = p.user.setup(p.now, "1", "2")
    with pytest.raises(LocalProtocolError):
        p.user.answer(call, p.now)
    with pytest.raises(LocalProtocolError):
        p.user.setup(p.now, "1", "2", channel=call.channel)


def test_unknown_call_reference_gets_release_complete_81():
    p = Pair().start()
    inject(p, "net", q931.Message(q931.DISCONNECT, 77, False, [ie.cause(16)]))
    reply = sent_messages(p, "net")[-1]
    assert reply.name == "RELEASE COMPLETE" and reply.call_ref == 77 and reply.cr_flag
    assert reply.fields("cause")["value"] == 81
    inject(p, "net", q931.Message(q931.STATUS_ENQUIRY, 78, False, []))
    reply = sent_messages(p, "net")[-1]
    assert reply.name == "STATUS" and reply.fields("call_state")["value"] == 0


def test_out_of_state_unknown_type_and_unknown_ie_get_status():
    p = Pair().start()
    call = p.user.setup(p.now, "1", "2")
    p.pump(until=p.now + 0.1)
    inc = p.take("net", cc.IncomingCall)
    p.add(p.net, p.net.answer(inc.call, p.now))
    p.pump(until=p.now + 0.1)
    inject(p, "user", q931.Message(q931.ALERTING, call.cr, True, []))
    reply = sent_messages(p, "user")[-1]
    assert reply.name == "STATUS" and reply.fields("cause")["value"] == 101 and reply.fields("call_state")["value"] == 10
    inject(p, "user", q931.Message(0x13, call.cr, True, []))
    assert sent_messages(p, "user")[-1].fields("cause")["value"] == 97
    inject(p, "user", q931.Message(q931.NOTIFY, call.cr, True, [ie.notification(1), ie.raw(0, 0x55, b"\x01")]))
    assert sent_messages(p, "user")[-1].fields("cause")["value"] == 99
    assert p.take("user", cc.Notify).description == 1
    inject(p, "user", bytes.fromhex("080280%02x7d0801" % call.cr))
    assert sent_messages(p, "user")[-1].fields("cause")["value"] == 100
    assert call.state == cc.ACTIVE  # the call survives all of that
    p.add(p.user, p.user.status_enquiry(call, p.now))
    p.pump(until=p.now + 0.1)
    assert p.take("user", cc.StatusReceived).state == cc.ACTIVE


def test_status_null_from_peer_clears_call_locally():
    p = Pair().start()
    call = p.user.setup(p.now, "1", "2")
    p.pump(until=p.now + 0.1)
    inject(p, "user", q931.Message(q931.STATUS, call.cr, True, [ie.cause(81), ie.call_state(0)]))
    assert call.state == cc.NULL and p.take("user", cc.CallEnded).cause == 81


def test_setup_without_bearer_rejected_96():
    p = Pair().start()
    inject(p, "net", q931.Message(q931.SETUP, 9, False, [ie.called_number("1")]))
    reply = sent_messages(p, "net")[-1]
    assert reply.name == "RELEASE COMPLETE" and reply.fields("cause")["value"] == 96


def test_dchannel_down_clears_pending_keeps_active_then_t309():
    p = Pair().start()
    active = p.user.setup(p.now, "1", "2")
    p.pump(until=p.now + 0.1)
    p.add(p.net, p.net.answer(p.take("net", cc.IncomingCall).call, p.now))
    p.pump(until=p.now + 0.1)
    pending = p.user.setup(p.now, "3", "4")
    p.pump(until=p.now + 0.1)
    p.add(p.user, p.user.alarm(p.now))
    assert pending.state == cc.NULL and active.state == cc.ACTIVE and "T309" in p.user.running(active)
    p.add(p.user, p.user.recover(p.now))
    p.pump(until=p.now + 1)
    assert active.state == cc.ACTIVE and "T309" not in p.user.running(active)
    p.add(p.user, p.user.alarm(p.now))
    p.drop = lambda side, data: True
    p.pump(until=p.now + 91)
    assert active.state == cc.NULL and active.cause == 27


def test_link_down_reestablishes_by_itself():
    p = Pair().start()
    p.drop = lambda side, data: side == "net"
    p.pump(until=p.now + 30)
    assert p.of("user", cc.DChannelDown)
    p.drop = None
    p.pump(until=p.now + 30)
    assert p.user.link.is_up and p.net.link.is_up


def test_tracer_writes_pcap_and_log(tmp_path):
    import io
    from pycallcenter.isdn.trace import Tracer
    from pycallcenter.trace.pcap import read_packets
    log = io.StringIO()
    tracer = Tracer(str(tmp_path / "t.pcapng"), log, network=True)
    p = Pair()
    p.net.tracer = tracer
    p.start()
    p.net.setup(p.now, "5551234", "2")
    p.pump(until=p.now + 0.1)
    tracer.close()
    pkts = list(read_packets(str(tmp_path / "t.pcapng")))
    assert len(pkts) == len(log.getvalue().splitlines()) >= 4
    assert "SETUP" in log.getvalue() and "called_party_number=5551234" in log.getvalue()
    assert [k.inbound for k in pkts][:2] == [True, False]  # our SABME (network: inbound), then the user's


def two_active_calls():
    p = Pair().start()
    c1 = p.user.setup(p.now, "1", "2")
    c2 = p.user.setup(p.now, "3", "4")
    p.pump(until=p.now + 0.1)
    for e in p.of("net", cc.IncomingCall):
        p.net.answer(e.call, p.now)
    p.pump(until=p.now + 0.1)
    return p, c1, c2


@settings(max_examples=30)
@given(st.lists(st.binary(min_size=1, max_size=40), min_size=1, max_size=10))
def test_bad_messages_mid_call_never_break_the_link_or_other_calls(junk):
    p, c1, c2 = two_active_calls()
    for data in junk:
        inject(p, "user", b"\x08\x02\x80" + bytes([c1.cr]) + data)
    assert p.user.link.is_up and c2.state == cc.ACTIVE
    p.add(p.user, p.user.hangup(c2, p.now))
    p.pump(until=p.now + 0.1)
    assert p.of("user", cc.CallEnded)[-1].call is c2


def test_display_codeset_follows_variant():
    from dataclasses import replace
    from pycallcenter.isdn.variants import VARIANTS
    codeset6 = replace(VARIANTS["5ess"], name="5ess-codeset6", display_codeset=6)
    for variant, shift in ((codeset6, 0x9E), ("euroisdn_e1", None)):
        p = Pair(variant).start()
        p.user.setup(p.now, "1", "2", calling_name="Carol")
        p.pump(until=p.now + 0.1)
        setup = sent_messages(p, "user")[0]
        shifts = [i.ie_id for i in setup.ies if i.name == "shift"]
        assert shifts == ([shift] if shift else [])
        assert setup.get("display").codeset == (6 if shift else 0)
        assert p.take("net", cc.IncomingCall).calling_name == "Carol"


@pytest.mark.fuzz
@given(st.lists(st.binary(min_size=0, max_size=60), min_size=1, max_size=20), st.integers(0, 3))
def test_fuzz_random_messages_into_live_calls(junk, prefix):
    p, c1, c2 = two_active_calls()
    heads = [b"", b"\x08\x02\x80" + bytes([c1.cr]), b"\x08\x02\x00" + bytes([c1.cr]), b"\x08\x00"]
    for data in junk:
        inject(p, "user", heads[prefix] + data)
        inject(p, "net", heads[prefix] + data)
    assert p.user.link.is_up and p.net.link.is_up
    assert c2.state in (cc.ACTIVE, cc.NULL) and (c2.state == cc.ACTIVE or c2.cause is not None)


def test_notify_facility_and_keypad_reach_the_far_end():
    p, c1, _ = two_active_calls()
    p.user.notify(c1, p.now, 0)
    p.user.facility(c1, p.now, bytes.fromhex("91a203020101"))
    p.user.keypad(c1, p.now, "12#")
    p.pump(until=p.now + 0.1)
    assert p.take("net", cc.Notify).description == 0
    assert p.take("net", cc.FacilityReceived).data == bytes.fromhex("91a203020101")
    assert p.take("net", cc.MoreDigits).digits == "12#"
    assert not [m for m in sent_messages(p, "net") if m.name == "STATUS"]
    with pytest.raises(LocalProtocolError):
        p.user.notify(cc.Call(99, True), p.now, 0)


def active_call():
    """Return a Pair and the user side's call, answered by the network side."""
    p = Pair().start()
    call = p.user.setup(p.now, "1", "2")
    p.pump(until=p.now + 0.1)
    p.add(p.net, p.net.answer(p.take("net", cc.IncomingCall).call, p.now))
    p.pump(until=p.now + 0.1)
    return p, call


@pytest.mark.parametrize("msg_type,ies,missing", [
    (q931.NOTIFY, [], "notification_indicator"),
    (q931.PROGRESS, [], "progress_indicator"),
    (q931.FACILITY, [], "facility"),
    (q931.STATUS, [ie.cause(30)], "call_state"),
    (q931.STATUS, [ie.call_state(10)], "cause"),
])
def test_missing_mandatory_ie_gets_status_96_and_changes_nothing(msg_type, ies, missing):
    p, call = active_call()
    p.clear()
    inject(p, "user", q931.Message(msg_type, call.cr, True, ies))
    reply = sent_messages(p, "user")[-1]
    assert reply.name == "STATUS" and reply.fields("cause")["value"] == 96
    assert reply.fields("call_state")["value"] == cc.ACTIVE and call.state == cc.ACTIVE
    assert [type(e) for e in p.events["user"]] == [cc.ProtocolNotice]
    assert missing in p.events["user"][0].detail and p.events["user"][0].action == "STATUS 96"
    # the far end learns our state from that STATUS and carries on: the call still clears normally
    p.add(p.user, p.user.hangup(call, p.now))
    p.pump(until=p.now + 0.1)
    assert p.take("net", cc.CallEnded).cause == 16


def test_clearing_messages_without_cause_still_clear_with_96():
    p, call = active_call()
    inject(p, "user", q931.Message(q931.DISCONNECT, call.cr, True, []))
    release = [m for m in sent_messages(p, "user") if m.name == "RELEASE"][-1]
    assert release.fields("cause")["value"] == 96 and call.state == cc.NULL


def test_every_state_answers_clearing_and_status_and_only_listed_pairs_are_accepted():
    pairs = set(cc._TRANSITIONS)
    for state in cc.CALL_STATES:
        for mt in (q931.DISCONNECT, q931.RELEASE, q931.RELEASE_COMPLETE, q931.STATUS, q931.STATUS_ENQUIRY):
            assert (state, mt) in pairs
    assert (cc.ACTIVE, q931.ALERTING) not in pairs and (cc.CALL_DELIVERED, q931.CALL_PROCEEDING) not in pairs
    assert (cc.CALL_PRESENT, q931.CONNECT) not in pairs  # the caller never sends CONNECT
