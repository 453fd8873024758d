"""Digest in the user agent, both ways: our UAS challenges INVITEs (401, stateless nonces), our UAC answers
401 and 407 (SHA-256 preferred, MD5 when that is all that is offered, qop=auth), and a source that keeps
failing is refused with 403 and counted, with a bounded table of sources."""
import random

from pycallcenter.sip import auth as A_
from pycallcenter.sip import ua as U
from pycallcenter.sip.limits import FailureLimiter
from pycallcenter.sip.message import Request, make_response, parse_message
from sip_net import SipNet

A, B, P = ("192.0.2.1", 5060), ("192.0.2.2", 5062), ("198.51.100.5", 5060)
ACCOUNTS = {"alice": "wonderland"}


def _net(a_auth=("alice", "wonderland"), **b_kw):
    net = SipNet()
    net.add(A, rng=random.Random(1), auth=a_auth)
    net.add(B, rng=random.Random(2), credentials=ACCOUNTS.get, auth_secret=b"s" * 32, **b_kw)
    return net


def test_uas_challenges_and_the_uac_answers_with_sha256():
    net = _net()
    call_id = net.call(A, f"sip:b@{B[0]}:{B[1]}")
    assert net.kinds() == ["IncomingCall", "CallAnswered", "CallConfirmed"]
    (challenge,) = net.sent(B, 401)
    algorithms = [A_.Challenge.parse(v).algorithm for v in challenge.headers.get_all("WWW-Authenticate")]
    assert algorithms == ["SHA-256", "MD5"]
    first, second = net.sent(A, "INVITE")
    assert "Authorization" not in first.headers
    scheme, params = A_.parse_params(second.headers.get("Authorization"))
    assert params["algorithm"] == "SHA-256" and params["qop"] == "auth" and params["username"] == "alice"
    assert second.cseq.number == 2 and second.call_id == first.call_id == call_id
    assert second.from_.tag == first.from_.tag and second.top_via.branch != first.top_via.branch
    (ack,) = [m for m in net.sent(A, "ACK") if m.cseq.number == 2]  # the 2xx's ACK carries the credentials
    assert ack.headers.get("Authorization") == second.headers.get("Authorization")
    net.do(A, net.ua[A].bye(call_id, net.now))  # in-dialog requests are not challenged
    assert len(net.of(U.CallEnded)) == 2 and len(net.sent(B, 401)) == 1


def test_md5_when_the_server_offers_only_md5():
    net = _net()
    net.ua[B].digest.algorithms = ("MD5",)
    net.call(A, f"sip:b@{B[0]}:{B[1]}")
    _, params = A_.parse_params(net.sent(A, "INVITE")[1].headers.get("Authorization"))
    assert params["algorithm"] == "MD5" and "CallAnswered" in net.kinds(A)


def test_wrong_password_fails_once_and_the_uac_gives_up():
    net = _net(a_auth=("alice", "looking-glass"))
    call_id = net.call(A, f"sip:b@{B[0]}:{B[1]}")
    assert net.of(U.CallFailed, A) == [U.CallFailed(call_id, 401)]
    assert len(net.sent(A, "INVITE")) == 2  # no third try with the same credentials
    (failed,) = net.of(U.AuthFailed, B)
    assert failed.user == "alice" and failed.source == A and not failed.blocked
    assert not net.ua[A].dialogs and not net.ua[B].dialogs


def test_uac_without_credentials_fails_with_401():
    net = _net(a_auth=None)
    call_id = net.call(A, f"sip:b@{B[0]}:{B[1]}")
    assert net.of(U.CallFailed, A) == [U.CallFailed(call_id, 401)] and not net.of(U.AuthFailed)


def test_a_source_over_its_failure_limit_gets_403_and_is_counted():
    net = _net(a_auth=("alice", "bad"), limiter=FailureLimiter(max_failures=2, window=60, block=300))
    for _ in range(3):
        net.call(A, f"sip:b@{B[0]}:{B[1]}")
    assert [e.blocked for e in net.of(U.AuthFailed, B)] == [False, False, True]
    assert len(net.sent(B, 403)) == 1
    net.ua[A].auth = ("alice", "wonderland")  # even the right password is refused while blocked
    call_id = net.call(A, f"sip:b@{B[0]}:{B[1]}")
    assert net.of(U.CallFailed, A)[-1] == U.CallFailed(call_id, 403)
    assert net.ua[B].stats["auth_blocked"] == 1 and net.ua[B].stats["auth_failed"] == 3
    net.now = 400.0  # the block ends
    net.call(A, f"sip:b@{B[0]}:{B[1]}")
    assert net.kinds(A)[-1] == "CallAnswered"


def test_failure_table_is_bounded_and_forgets_the_oldest():
    limiter = FailureLimiter(max_failures=1, window=60, block=60, max_sources=100)
    for i in range(1000):
        limiter.failed((f"10.0.{i // 256}.{i % 256}", 5060), 0.0)
    assert len(limiter) == 100
    assert limiter.failed(("10.0.3.231", 5060), 1.0) is True  # the newest is kept: its second failure blocks
    assert limiter.blocked(("10.0.3.231", 5060), 2.0) and not limiter.blocked(("10.0.0.0", 5060), 2.0)
    limiter.succeeded(("10.0.3.231", 5060))
    assert not limiter.blocked(("10.0.3.231", 5060), 3.0)


def test_uac_answers_a_proxy_407():
    net = SipNet()
    net.add(A, rng=random.Random(1), auth=("alice", "wonderland"))
    net.add(B, rng=random.Random(2))
    server = A_.DigestServer("proxy.example", b"p" * 32, ACCOUNTS.get)
    checked = []

    def proxy(source, msg, data):
        if source == B:
            return [(A, data)]
        if isinstance(msg, Request) and msg.method == "INVITE" and "Proxy-Authorization" not in msg.headers:
            reply = make_response(msg, 407, to_tag="px", headers=[("Proxy-Authenticate", v)
                                                                  for v in server.challenges(net.now)])
            return [(A, reply.encode())]
        if isinstance(msg, Request) and msg.method == "ACK" and msg.to.tag == "px":
            return []
        if isinstance(msg, Request) and msg.method == "INVITE":
            checked.append(server.check(msg.headers.get("Proxy-Authorization"), "INVITE", net.now))
        return [(B, data)]

    net.proxies[P] = proxy
    net.call(A, f"sip:b@{B[0]}:{B[1]}", addr=P)
    assert checked == [(A_.OK, "alice")]
    assert net.kinds() == ["IncomingCall", "CallAnswered", "CallConfirmed"]
    assert parse_message(net.wire[0][3].encode()).method == "INVITE"


def test_trusted_sources_call_in_without_a_challenge_but_register_with_one():
    net = _net(a_auth=None, trusted=lambda source: source == A)
    net.call(A, f"sip:b@{B[0]}:{B[1]}")
    assert net.kinds() == ["IncomingCall", "CallAnswered", "CallConfirmed"] and not net.sent(B, 401)
    net.do(A, net.ua[A].register("sip:alice@192.0.2.2", B, 300, net.now))
    assert len(net.sent(B, 401)) == 1 and net.of(U.RegistrationFailed, A) == [U.RegistrationFailed(
        "sip:alice@192.0.2.2", 401)]


def test_a_replayed_authorization_is_refused():
    net = _net()
    net.call(A, f"sip:b@{B[0]}:{B[1]}")
    good = net.sent(A, "INVITE")[1]  # the authorized INVITE, as an eavesdropper saw it
    replay = parse_message(good.encode())
    replay.headers.set("Via", "SIP/2.0/UDP 198.51.100.66;branch=z9hG4bKreplay")
    replay.headers.set("Call-ID", "replayed-call")
    net.deliver(("198.51.100.66", 5060), B, replay.encode())
    assert net.sent(B, 401)[-1].call_id == "replayed-call" and net.ua[B].digest.replays == 1
    assert [e.call_id for e in net.of(U.IncomingCall, B)] == [good.call_id]
    assert net.of(U.AuthFailed, B)[-1].source == ("198.51.100.66", 5060)


def test_uas_as_a_proxy_challenges_invites_with_407():
    net = _net(proxy_auth=True)
    net.call(A, f"sip:b@{B[0]}:{B[1]}")
    (challenge,) = net.sent(B, 407)
    assert challenge.headers.get("Proxy-Authenticate").startswith("Digest ") and not net.sent(B, 401)
    assert "Proxy-Authorization" in net.sent(A, "INVITE")[1].headers
    assert net.kinds() == ["IncomingCall", "CallAnswered", "CallConfirmed"]
