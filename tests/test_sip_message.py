"""SIP message codec: RFC 4475 torture messages, compact forms, folding, list splitting, framing, round trips."""
import pytest

from pycallcenter.errors import DecodeError
from pycallcenter.sip import message as M
from sip_torture import (CANONICAL, DBLREQ, ESC01, ESC02, ESCNULL, INTMETH, INVALID, IPV6, LWSDISP, NOREASON, SDP150,
                         SEMIURI, TRANSPORTS, UNREASON, WSINV, crlf)


def test_wsinv_short_tortuous_invite():
    m = M.parse_message(WSINV)
    assert m.method == "INVITE"
    assert m.uri.user == "vivekg" and m.uri.host == "chair-dnrc.example.com"
    assert m.uri.params == (("unknownparam", None),)
    assert m.to.tag == "1918181833n" and m.to.uri.user == "vivekg" and m.to.display is None
    assert m.from_.tag == "98asjd8" and m.from_.uri.user == "jdrosen"
    assert m.from_.display_name == 'J Rosenberg \\"'
    assert m.max_forwards == 68
    assert m.call_id == "wsinv.ndaksdj@192.0.2.1"
    assert m.cseq == M.CSeq(9, "INVITE")
    vias = m.via
    assert [(v.transport, v.host, v.branch) for v in vias] == [
        ("UDP", "192.0.2.2", "390skdjuw"), ("TCP", "spindle.example.com", "z9hG4bK9ikj8"),
        ("UDP", "192.168.255.111", "z9hG4bK30239")]
    assert m.headers.get("Subject") == ""
    assert m.headers.get("NewFangledHeader") == "newfangled value continued newfangled value"
    assert m.headers.get("UnknownHeaderWithUnusualValue") == ";;,,;;,;"
    assert m.content_type == "application/sdp"
    route = m.route
    assert len(route) == 1 and route[0].uri.host == "services.example.com"
    assert route[0].uri.params == (("lr", None), ("unknownwith", "value"), ("unknown-no-value", None))
    (contact,) = m.contact
    assert contact.display_name == 'Quoted string ""'
    assert contact.params == (("newparam", "newvalue"), ("secondparam", None), ("q", "0.33"))
    assert m.body == crlf(SDP150)[:150] and len(m.body) == 150


def test_intmeth_wide_range_of_characters():
    m = M.parse_message(INTMETH)
    assert m.method == "!interesting-Method0123456789_*+`.%indeed'~"
    assert m.uri.user == "1_unusual.URI~(to-be!sure)&isn't+it$/crazy?,/;;*"
    assert m.uri.password == "&it+has=1,weird!*pas$wo~d_too.(doesn't-it)"
    assert m.uri.host == "example.com"
    assert m.top_via.branch == "z9hG4bK-.!%66*_+`'~"
    assert m.to.display_name == "BEL:\x07 NUL:\x00 DEL:\x7f"
    assert m.from_.display == "token1~` token2'+_ token3*%!.-"
    assert m.from_.tag == "_token~1'+`*%!-."
    assert m.from_.param("fromParam''~+*_!.-%") == '"\u0440\u0430\u0431\u043e\u0442\u0430\u044e\u0449\u0438\u0439"'
    assert m.call_id == "intmeth.word%ZK-!.*_+'@word`~)(><:\\/\"][?}{"
    assert m.cseq.number == 139122385 and m.cseq.method == m.method
    assert m.headers.get("extensionHeader-!.%*+_`'~") == "\ufeff\u5927\u505c\u96fb"


def test_escapes_stay_as_sent():
    m = M.parse_message(ESC01)
    assert m.uri.user == "sips%3Auser%40example.com" and m.uri.host == "example.net"
    assert m.to.uri.user == "%75se%72"
    assert m.content_type == "application/sdp"
    assert m.call_id == "esc01.239409asdfakjkn23onasd0-3234"  # compact 'i'
    (contact,) = m.contact
    assert contact.uri.params == (("%6C%72", None), ("n%61me", "v%61lue%25%34%31"))
    m = M.parse_message(ESCNULL)
    assert [c.uri.user for c in m.contact] == ["%00", "%00%00"]
    m = M.parse_message(ESC02)
    assert m.method == "RE%47IST%45R" and m.to.display == '"%Z%45"'
    assert m.top_via.has_param("rport") and m.top_via.param("rport") is None
    assert len(m.contact) == 3


def test_display_names_and_uri_user_parameters():
    m = M.parse_message(LWSDISP)
    assert m.from_.display == "caller" and m.from_.uri.user == "caller"
    m = M.parse_message(SEMIURI)
    assert m.uri.user == "user;par=u%40example.net" and m.uri.host == "example.com"
    assert m.headers.get_all("Accept") == ["application/sdp", "application/pkcs7-mime", "multipart/mixed",
                                           "multipart/signed", "message/sip", "message/sipfrag"]
    assert m.to.uri.user == "j_user" and not m.to.angle


def test_transports_responses_and_ipv6():
    m = M.parse_message(TRANSPORTS)
    assert [v.transport for v in m.via] == ["UDP", "SCTP", "TLS", "UNKNOWN", "TCP"]
    assert m.call_id == "transports.kijh4akdnaqjkwendsasfdj"
    r = M.parse_message(UNREASON)
    assert r.status == 200 and r.reason.startswith("= 2**3 * 5**2 \u043d\u043e")
    assert len(r.body) == 154
    r = M.parse_message(NOREASON)
    assert r.status == 100 and r.reason == ""
    m = M.parse_message(IPV6)
    assert m.uri.host == "[2001:db8::10]"
    assert m.top_via.host == "[2001:db8::9:1]" and m.top_via.port == 6050
    assert m.top_via.param("received") == "2001:db8::9:255"
    assert m.contact[0].uri.host == "[2001:db8::1]" and m.contact[0].uri.port == 5070


def test_datagram_with_trailing_octets_is_cut_at_content_length():
    m = M.parse_message(DBLREQ)
    assert m.method == "REGISTER" and m.body == b""
    assert m.contact[0].uri.host == "host.example.com"


@pytest.mark.parametrize("name", sorted(INVALID))
def test_invalid_torture_messages_raise_decode_error(name):
    element, data = INVALID[name]
    with pytest.raises(DecodeError) as err:
        M.parse_message(data)
    assert err.value.element == element
    assert 0 <= err.value.offset <= len(data)


def test_error_offset_points_into_the_bad_header():
    data = INVALID["badaspec"][1]
    with pytest.raises(DecodeError) as err:
        M.parse_message(data)
    line_start = data.index(b"To: ")
    assert line_start < err.value.offset < data.index(b"\r\n", line_start)
    assert str(err.value).startswith(f"To at offset {err.value.offset}: ")




def test_canonical_message_round_trips_byte_identical():
    m = M.parse_message(CANONICAL)
    assert m.encode() == CANONICAL
    assert m.headers.get("WWW-Authenticate").count(",") == 2  # not split
    assert m.headers.get("Date") == "Sat, 13 Nov 2010 23:29:00 GMT"
    assert str(m.from_) == '"Alice \\"A\\"" <sip:alice@atlanta.example.com>;tag=9fxced76sl'
    assert str(m.via[0]) == "SIP/2.0/UDP client.atlanta.example.com:5060;branch=z9hG4bK74bf9;rport"


def test_compact_forms_and_lists_rebuild_canonically():
    m = M.parse_message(WSINV)
    again = M.parse_message(m.encode())
    assert [(n, v) for n, v in again.headers] == [(n, v) for n, v in m.headers]
    assert again.encode() == m.encode()
    names = [n for n, _ in m.headers]
    assert names.count("Via") == 3 and "v" not in names and "Contact" in names


def test_builders_make_a_parseable_request_and_matching_response():
    req = M.make_request("OPTIONS", "sip:bob@example.com", via="SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bKx1",
                         from_="<sip:alice@example.com>;tag=a1", to="<sip:bob@example.com>", call_id="c1@x",
                         cseq=7)
    parsed = M.parse_message(req.encode())
    assert parsed.cseq == M.CSeq(7, "OPTIONS") and parsed.max_forwards == 70
    resp = M.make_response(parsed, 200, to_tag="b2", headers=[("Allow", "INVITE, ACK")])
    back = M.parse_message(resp.encode())
    assert back.status == 200 and back.reason == "OK" and back.to.tag == "b2"
    assert back.top_via.branch == "z9hG4bKx1" and back.headers.get_all("Allow") == ["INVITE", "ACK"]


def test_datagram_content_length_rules():
    body = b"v=0\r\n"
    base = M.make_request("MESSAGE", "sip:b@example.com", via="SIP/2.0/UDP h;branch=z9hG4bK1", from_="<sip:a@h>;tag=1",
                          to="<sip:b@h>", call_id="x", cseq=1, body=body).encode()
    assert M.parse_message(base).body == body
    assert M.parse_message(base + b"junk").body == body  # longer datagram: truncated (RFC 3261 18.3)
    with pytest.raises(DecodeError) as err:
        M.parse_message(base[:-2])
    assert err.value.element == "Content-Length"
    with pytest.raises(DecodeError):
        M.parse_message(base + b"junk", datagram=False)
    without = base.replace(b"Content-Length: 5\r\n", b"")
    assert M.parse_message(without).body == body  # no Content-Length on UDP: the rest of the datagram


def test_stream_framer_cuts_messages_and_keeps_partial_data():
    one = M.parse_message(CANONICAL).encode()
    two = M.parse_message(LWSDISP).encode()
    stream = b"\r\n\r\n" + one + two + one
    framer = M.StreamFramer()
    got = []
    for i in range(0, len(stream), 37):
        got += framer.feed(stream[i:i + 37])
    assert [type(m).__name__ for m in got] == ["Request"] * 3
    assert [m.encode() for m in got] == [one, two, one]
    assert framer.pending == 0
    framer.feed(one[:50])
    assert framer.pending == 50


def test_stream_framer_requires_content_length_and_names_stream_offset():
    msg = LWSDISP.replace(b"l: 0\r\n", b"")
    framer = M.StreamFramer()
    assert framer.feed(LWSDISP) != []
    with pytest.raises(DecodeError) as err:
        framer.feed(msg)
    assert err.value.element == "Content-Length" and err.value.offset >= len(LWSDISP)


def test_uri_builds_back_and_rejects_garbage():
    text = "sips:alice:secret@[2001:db8::1]:5061;transport=tls;lr?subject=hi&priority=urgent"
    uri = M.parse_uri(text)
    assert (uri.scheme, uri.user, uri.password, uri.host, uri.port) == ("sips", "alice", "secret", "[2001:db8::1]", 5061)
    assert uri.param("transport") == "tls" and uri.has_param("lr")
    assert uri.headers == (("subject", "hi"), ("priority", "urgent")) and str(uri) == text
    assert str(M.parse_uri("tel:+1-201-555-0123")) == "tel:+1-201-555-0123"
    for bad in ("sip:", "sip:a@", "sip:host:99999", "sip:a b@h", "sip:h;=x", "sip:%zz@h", "nocolon"):
        with pytest.raises(DecodeError):
            M.parse_uri(bad)


def test_header_names_are_case_insensitive_and_compact():
    h = M.Headers([("v", "SIP/2.0/UDP a"), ("CALL-id", "x"), ("x-custom-thing", "1")])
    assert [n for n, _ in h] == ["Via", "Call-ID", "X-Custom-Thing"]
    assert h.get("i") == "x" and h.get("VIA") == "SIP/2.0/UDP a" and "call-id" in h


def test_every_compact_form_expands():
    data = crlf("""MESSAGE sip:bob@example.com SIP/2.0
v: SIP/2.0/UDP h.example.com;branch=z9hG4bKc1
f: <sip:alice@example.com>;tag=1
t: <sip:bob@example.com>
i: compact@h
CSeq: 1 MESSAGE
m: <sip:alice@h.example.com>
k: timer, 100rel
s: hello
e: gzip
o: presence
u: dialog
r: <sip:carol@example.com>
x: 1800;refresher=uac
c: text/plain
l: 2

hi""")
    m = M.parse_message(data)
    names = [n for n, _ in m.headers]
    assert names == ["Via", "From", "To", "Call-ID", "CSeq", "Contact", "Supported", "Supported", "Subject",
                     "Content-Encoding", "Event", "Allow-Events", "Refer-To", "Session-Expires", "Content-Type",
                     "Content-Length"]
    assert m.headers.get_all("k") == ["timer", "100rel"] and m.body == b"hi"
