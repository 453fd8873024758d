"""REGISTER both ways: our registration client against our registrar (digest required, Contact expires,
refresh before expiry, 423 Min-Expires, unregister, Contact: *, expiry), and calls routed to a registered
user's contact."""
import random

from pycallcenter.sip import ua as U
from pycallcenter.sip.message import make_request, parse_message
from pycallcenter.sip.registrar import Registrar
from sip_net import SipNet

PHONE, CENTRE = ("192.0.2.10", 5070), ("192.0.2.2", 5060)
AOR = "sip:alice@192.0.2.2"
ACCOUNTS = {"alice": "wonderland", "bob": "builder"}


def _net(phone_auth=("alice", "wonderland"), registrar=None, **centre_kw):
    net = SipNet()
    net.add(PHONE, rng=random.Random(1), auth=phone_auth, user="alice")
    net.add(CENTRE, rng=random.Random(2), credentials=ACCOUNTS.get, auth_secret=b"r" * 32,
            registrar=registrar, **centre_kw)
    return net


def test_phone_registers_with_digest_and_is_found_by_lookup():
    net = _net()
    net.do(PHONE, net.ua[PHONE].register(AOR, CENTRE, 600, net.now))
    assert [m.status for m in net.sent(CENTRE, 401)] == [401]
    (registered,) = net.of(U.Registered, PHONE)
    assert registered.aor == AOR and registered.expires == 600
    assert registered.contacts == ("sip:alice@192.0.2.10:5070",)
    assert net.of(U.PhoneRegistered, CENTRE) == [U.PhoneRegistered("alice", ("sip:alice@192.0.2.10:5070",))]
    assert net.ua[CENTRE].registrar.lookup("alice") == ["sip:alice@192.0.2.10:5070"]
    first, second = net.sent(PHONE, "REGISTER")
    assert first.call_id == second.call_id and (first.cseq.number, second.cseq.number) == (1, 2)
    assert str(second.uri) == "sip:192.0.2.2" and second.headers.get("Expires") == "600"


def test_registered_user_is_called_at_its_contact():
    net = _net()
    net.do(PHONE, net.ua[PHONE].register(AOR, CENTRE, 600, net.now))
    call_id = net.call(CENTRE, "sip:alice")
    (invite,) = net.sent(CENTRE, "INVITE")
    assert str(invite.uri) == "sip:alice@192.0.2.10:5070" and str(invite.to.uri) == "sip:alice@192.0.2.2:5060"
    assert net.dests(CENTRE, "INVITE") == [PHONE]
    assert "IncomingCall" in net.kinds(PHONE) and net.kinds(CENTRE)[-1] == "CallAnswered"
    net.do(CENTRE, net.ua[CENTRE].bye(call_id, net.now))
    net.call(CENTRE, "sip:alice@192.0.2.2")  # the AOR with our host reaches it too
    assert net.dests(CENTRE, "INVITE")[-1] == PHONE


def test_refresh_before_expiry_keeps_one_call_id_and_rising_cseq():
    net = _net()
    net.do(PHONE, net.ua[PHONE].register(AOR, CENTRE, 120, net.now))
    net.run(59.0)
    assert len(net.sent(PHONE, "REGISTER")) == 2
    net.run(61.0)  # refreshed at half the granted 120 s
    registers = net.sent(PHONE, "REGISTER")
    assert len(registers) >= 3 and len({m.call_id for m in registers}) == 1
    assert [m.cseq.number for m in registers] == sorted({m.cseq.number for m in registers})
    assert len(net.of(U.Registered, PHONE)) == 2
    net.run(1000.0)
    assert net.ua[CENTRE].registrar.lookup("alice", net.now) == ["sip:alice@192.0.2.10:5070"]


def test_too_brief_interval_is_retried_with_min_expires():
    net = _net(registrar=Registrar(min_expires=300))
    net.do(PHONE, net.ua[PHONE].register(AOR, CENTRE, 60, net.now))
    (brief,) = net.sent(CENTRE, 423)
    assert brief.headers.get("Min-Expires") == "300"
    assert net.of(U.Registered, PHONE)[0].expires == 300


def test_unregister_and_expiry_remove_the_binding():
    net = _net()
    net.do(PHONE, net.ua[PHONE].register(AOR, CENTRE, 600, net.now))
    net.do(PHONE, net.ua[PHONE].register(AOR, CENTRE, 0, net.now))
    assert net.of(U.Registered, PHONE)[-1].expires == 0 and net.ua[CENTRE].registrar.lookup("alice") == []
    assert net.of(U.PhoneRegistered, CENTRE)[-1] == U.PhoneRegistered("alice", ())
    net.do(PHONE, net.ua[PHONE].register(AOR, CENTRE, 100, net.now))
    net.drop = lambda s, d, m: getattr(m, "method", "") == "REGISTER"  # the phone goes away
    net.run(200.0)
    assert net.ua[CENTRE].registrar.lookup("alice", net.now) == []
    assert net.of(U.PhoneRegistered, CENTRE)[-1] == U.PhoneRegistered("alice", ())
    assert net.of(U.RegistrationFailed, PHONE) == [U.RegistrationFailed(AOR, 408)]


def test_registrar_refuses_phones_without_credentials_and_other_users_aors():
    net = SipNet()
    net.add(PHONE, auth=("alice", "wonderland"), user="alice")
    net.add(CENTRE)  # no accounts configured: nobody may register
    net.do(PHONE, net.ua[PHONE].register(AOR, CENTRE, 600, net.now))
    assert net.of(U.RegistrationFailed, PHONE) == [U.RegistrationFailed(AOR, 403)]
    net = _net(phone_auth=("bob", "builder"))
    net.do(PHONE, net.ua[PHONE].register(AOR, CENTRE, 600, net.now))  # bob's credentials, alice's AOR
    assert net.of(U.RegistrationFailed, PHONE) == [U.RegistrationFailed(AOR, 403)]
    assert net.ua[CENTRE].registrar.lookup("alice") == []


def _register(call_id, cseq, contact, expires=None, header_expires=None):
    headers = [("Expires", header_expires)] if header_expires is not None else []
    value = contact if expires is None else f"{contact};expires={expires}"
    return parse_message(make_request("REGISTER", "sip:192.0.2.2", via="SIP/2.0/UDP 192.0.2.10;branch=z9hG4bKr",
                                      from_=f"<{AOR}>;tag=t", to=f"<{AOR}>", call_id=call_id, cseq=cseq,
                                      contact=value, headers=headers).encode())


def test_registrar_rules_star_cseq_and_expires_precedence():
    r = Registrar(min_expires=60, max_expires=3600)
    assert r.register(_register("c1", 5, "<sip:alice@10.0.0.1>", expires=120, header_expires=900), "alice",
                      PHONE, 0.0)[0] == 200
    assert r.bindings("alice", 0.0)[0].expires_at == 120.0  # the contact's expires wins
    assert r.register(_register("c1", 5, "<sip:alice@10.0.0.1>"), "alice", PHONE, 1.0)[0] == 500  # CSeq not higher
    status, headers, _ = r.register(_register("c2", 1, "<sip:alice@10.0.0.2>", header_expires=99999), "alice",
                                    PHONE, 2.0)
    assert status == 200 and len(headers) == 2 and r.bindings("alice", 2.0)[0].expires_at <= 3602.0
    assert r.register(_register("c3", 1, "*", header_expires=600), "alice", PHONE, 3.0)[0] == 400
    assert r.register(_register("c3", 1, "*", header_expires=0), "alice", PHONE, 3.0)[0] == 200
    assert r.lookup("alice", 3.0) == []


def test_call_to_a_registered_phone_behind_nat_keeps_to_the_address_its_register_came_from():
    net = _net()
    nat = ("203.0.113.7", 40123)  # the phone's NAT: what the centre sees; the Contact names the private address
    net.alias[nat] = PHONE
    net.nat[PHONE] = nat
    net.do(PHONE, net.ua[PHONE].register(AOR, CENTRE, 600, net.now))
    assert net.ua[CENTRE].registrar.bindings("alice")[0].source == nat
    call_id = net.call(CENTRE, "sip:alice")
    net.do(CENTRE, net.ua[CENTRE].bye(call_id, net.now))
    assert net.dests(CENTRE, "INVITE") == [nat] and net.dests(CENTRE, "ACK") == [nat]
    assert net.dests(CENTRE, "BYE") == [nat] and len(net.of(U.CallEnded)) == 2
