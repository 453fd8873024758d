"""SDP codec (RFC 4566) and offer/answer (RFC 3264): parse, rebuild, errors naming the line, answers, hold."""
import pytest

from pycallcenter.errors import DecodeError
from pycallcenter.sip import sdp as S
from sip_torture import SDP150, crlf

# RFC 4566 5 example, with SDES (RFC 4568) and RFC 3605 rtcp lines added to the audio section
EXAMPLE = crlf("""v=0
o=jdoe 2890844526 2890842807 IN IP4 10.47.16.5
s=SDP Seminar
i=A Seminar on the session description protocol
u=http://www.example.com/seminars/sdp.pdf
e=j.doe@example.com (Jane Doe)
c=IN IP4 224.2.17.12/127
t=2873397496 2873404696
a=recvonly
m=audio 49170 RTP/SAVP 0 101
a=rtpmap:101 telephone-event/8000
a=fmtp:101 0-15
a=rtcp:53020 IN IP4 126.16.64.4
a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR|2^20|1:32
m=video 51372 RTP/AVP 99
a=rtpmap:99 h263-1998/90000
""")


def test_rfc4566_example_parses_and_rebuilds_byte_identical():
    sd = S.parse_sdp(EXAMPLE)
    assert (sd.username, sd.session_id, sd.session_version, sd.address) == ("jdoe", 2890844526, 2890842807, "10.47.16.5")
    assert sd.name == "SDP Seminar" and sd.times == ["2873397496 2873404696"] and sd.attr("recvonly") == ""
    audio, video = sd.media
    assert (audio.media, audio.port, audio.proto, audio.formats) == ("audio", 49170, "RTP/SAVP", ["0", "101"])
    assert audio.rtpmap == {0: ("PCMU", 8000), 101: ("telephone-event", 8000)}
    assert audio.fmtp == {101: "0-15"} and audio.attr("rtcp") == "53020 IN IP4 126.16.64.4"
    (crypto,) = audio.crypto
    assert (crypto.tag, crypto.suite) == (1, "AES_CM_128_HMAC_SHA1_80")
    assert crypto.key_params.startswith("inline:PS1uQCVeeCF") and crypto.session_params is None
    assert video.rtpmap == {99: ("h263-1998", 90000)}
    assert sd.connection_address(video) == "224.2.17.12"
    assert sd.encode() == EXAMPLE


def test_torture_sdp_and_directions():
    sd = S.parse_sdp(crlf(SDP150))
    assert [m.media for m in sd.media] == ["audio", "video"] and sd.media[0].direction == "sendrecv"
    assert sd.encode() == crlf(SDP150)


@pytest.mark.parametrize("text, line", [
    ("v=1\no=- 1 1 IN IP4 a\ns=-\nt=0 0\n", 1),
    ("v=0\no=- 1 IN IP4 a\ns=-\nt=0 0\n", 2),
    ("v=0\no=- 1 1 IN IP4 a\ns=-\nc=IN IP4\nt=0 0\n", 4),
    ("v=0\no=- 1 1 IN IP4 a\ns=-\nc=IN IP4 a\nt=0 0\nm=audio x RTP/AVP 0\n", 6),
    ("v=0\no=- 1 1 IN IP4 a\ns=-\nc=IN IP4 a\nt=0 0\nm=audio 4000 RTP/AVP 0 pcmu\n", 6),
    ("v=0\no=- 1 1 IN IP4 a\ns=-\nc=IN IP4 a\nt=0 0\nm=audio 4000 RTP/AVP 0\na=rtpmap:0\n", 7),
    ("v=0\no=- 1 1 IN IP4 a\ns=-\nc=IN IP4 a\nt=0 0\nm=audio 4000 RTP/AVP 0\na=crypto:1 X nokey\n", 7),
    ("v=0\no=- 1 1 IN IP4 a\ns=-\nt=0 0\nc=IN IP4 a\n", 5),
    ("v=0\no=- 1 1 IN IP4 a\ns=-\nc=IN IP4 a\nt=0 0\nm=audio 4000 RTP/AVP 0\nt=0 0\n", 7),
    ("v=0\no=- 1 1 IN IP4 a\ns=-\nc=IN IP4 a\nt=0 0\nbogus\n", 6),
])
def test_malformed_lines_name_the_line_and_offset(text, line):
    data = text.encode()
    with pytest.raises(DecodeError) as err:
        S.parse_sdp(data)
    assert err.value.element.startswith(f"line {line} ")
    assert err.value.offset == sum(len(x) + 1 for x in text.split("\n")[:line - 1])


def test_missing_lines_are_errors():
    for text in ("v=0\ns=-\nt=0 0\n", "v=0\no=- 1 1 IN IP4 a\ns=-\n",
                 "v=0\no=- 1 1 IN IP4 a\ns=-\nt=0 0\nm=audio 4000 RTP/AVP 0\n"):
        with pytest.raises(DecodeError):
            S.parse_sdp(text.encode())


def _offer(text):
    return S.parse_sdp(crlf(text))


def test_answer_keeps_common_codecs_in_offer_order_with_offerers_event_number():
    offer = _offer("""v=0
o=alice 1 1 IN IP4 192.0.2.1
s=-
c=IN IP4 192.0.2.1
t=0 0
m=audio 5004 RTP/AVP 18 8 0 96 13
a=rtpmap:96 telephone-event/8000
a=fmtp:96 0-15
a=ptime:30
m=video 5006 RTP/AVP 31
""")
    ans = S.parse_sdp(S.answer(offer, "192.0.2.9", 7000).encode())
    audio, video = ans.media
    assert audio.port == 7000 and audio.formats == ["8", "0", "96", "13"]
    assert audio.fmtp == {96: "0-15"} and audio.ptime == 30 and audio.direction == "sendrecv"
    assert (video.port, video.formats) == (0, ["31"])
    assert S.negotiated(ans) == (8, "PCMA")
    assert ans.connection == "IN IP4 192.0.2.9"


def test_answer_rejects_offers_without_a_common_voice_codec_or_secure_profile():
    offer = _offer("v=0\no=- 1 1 IN IP4 h\ns=-\nc=IN IP4 192.0.2.1\nt=0 0\nm=audio 5004 RTP/AVP 18 13\n"
                   "m=audio 5008 RTP/SAVP 0\na=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:abcd\n")
    ans = S.answer(offer, "192.0.2.9", 7000)
    assert [m.port for m in ans.media] == [0, 0] and S.negotiated(ans) is None


@pytest.mark.parametrize("offered, answered", [("sendonly", "recvonly"), ("recvonly", "sendonly"),
                                               ("inactive", "inactive"), ("sendrecv", "sendrecv")])
def test_answer_mirrors_direction(offered, answered):
    offer = S.make_offer("192.0.2.1", 5004, direction=offered)
    assert S.answer(offer, "192.0.2.9", 7000).media[0].direction == answered


def test_old_style_hold_address_is_answered_as_hold():
    offer = _offer("v=0\no=- 1 2 IN IP4 h\ns=-\nc=IN IP4 0.0.0.0\nt=0 0\nm=audio 5004 RTP/AVP 0\n")
    assert S.answer(offer, "192.0.2.9", 7000).media[0].direction == "recvonly"


def test_hold_and_resume_reoffers():
    offer = S.make_offer("192.0.2.1", 5004, session_id=77, version=3)
    held = S.hold(offer)
    assert held.media[0].direction == "sendonly" and held.session_version == 4 and held.session_id == 77
    assert S.answer(held, "192.0.2.9", 7000).media[0].direction == "recvonly"
    again = S.hold(S._redirect(offer, "recvonly"))
    assert again.media[0].direction == "inactive"
    back = S.resume(held)
    assert back.media[0].direction == "sendrecv" and back.session_version == 5
    assert S.parse_sdp(back.encode()).media[0].rtpmap[101] == ("telephone-event", 8000)
