"""Packet rows of the engine: RTP over loopback between two engines, or between an engine and a plain-socket
peer written here (which drops, reorders, floods and lies as a test needs)."""
import socket

import numpy as np
import pytest

from engine_rig import ANALOG
from pycallcenter.drivers import open_board, parse_config
from pycallcenter.dsp import g711
from pycallcenter.dsp.tones import dtmf_signal
from pycallcenter.engine import call as C
from pycallcenter.engine.engine import Engine
from pycallcenter.errors import LocalProtocolError
from pycallcenter.media import rtp

_next_ports = [24000]


def ports(n=20):
    """Return a fresh port range per engine, so tests never meet each other's sockets."""
    lo = _next_ports[0]
    _next_ports[0] += 2 * n
    return lo, lo + 2 * n - 1


class RtpLegs:
    """The least a trunk adapter needs to put legs on packet rows (what the SIP legs do for real)."""

    tech = "rtp"
    name = "rtp"

    def __init__(self, engine):
        self.engine = engine

    def leg(self, channel):
        """Return an answered incoming leg on a packet channel."""
        leg = self.engine.new_leg(self, channel, "in")
        self.engine.new_call(leg)
        self.engine.leg_answered(leg, self.engine.now)
        return leg

    def on_tick(self, now):
        pass

    def answer(self, leg):
        pass

    def hangup(self, leg, cause):
        self.engine.packet.release(leg.row)
        self.engine.leg_ended(leg, cause, self.engine.now)


def engine(packet_rows=4, seed=1):
    """Return an engine over the small analog board with packet rows."""
    board = open_board(parse_config(ANALOG.format(seed=seed)))
    eng = Engine(board, packet_rows=packet_rows, rtp_ports=ports())
    eng.trunk = eng.add(RtpLegs(eng))
    return eng


def endpoint(eng, remote=None, law="ulaw", **kw):
    """Return (leg, local address) of an answered leg on a fresh, open packet row."""
    channel, row = eng.packet.allocate()
    local = eng.packet.open(row, remote=remote, payload_type=0 if law == "ulaw" else 8, law=law, **kw)
    return eng.trunk.leg(channel), local


def pair(law="ulaw", **kw):
    """Return (engine a, leg a, engine b, leg b) talking to each other."""
    a, b = engine(seed=1), engine(seed=2)
    leg_a, addr_a = endpoint(a, None, law, **kw.get("a", {}))
    leg_b, _ = endpoint(b, addr_a, law, **kw.get("b", {}))
    return a, leg_a, b, leg_b


def run(*engines, ticks=50):
    for _ in range(ticks):
        for eng in engines:
            eng.tick()


def hang_up(*legs):
    for leg in legs:
        leg.hangup()


class Peer:
    """A plain UDP socket speaking RTP to one engine row, as a test wants it to."""

    def __init__(self, target, pt=0, ssrc=0x1234, seq=100, ts=5000):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(0)
        self.target = target
        self.pt, self.ssrc, self.seq, self.ts = pt, ssrc, seq, ts
        self.address = self.sock.getsockname()

    def packet(self, payload, pt=None, marker=False, advance=160):
        """Return the next packet's bytes (and step the sequence number and timestamp)."""
        data = rtp.build_rtp(self.pt if pt is None else pt, self.seq & 0xFFFF, self.ts & 0xFFFFFFFF, self.ssrc,
                             payload, marker=marker)
        self.seq += 1
        self.ts += advance
        return data

    def send(self, data):
        self.sock.sendto(data, self.target)

    def received(self):
        """Return every datagram waiting, as (bytes, source)."""
        out = []
        while True:
            try:
                out.append(self.sock.recvfrom(4096))
            except BlockingIOError:
                return out

    def close(self):
        self.sock.close()


def tone(freq, seconds, level=8000):
    t = np.arange(int(seconds * 8000))
    return (level * np.sin(2 * np.pi * freq * t / 8000)).astype(np.int16)


def peak_hz(x):
    spectrum = np.abs(np.fft.rfft(x.astype(np.float64) * np.hanning(x.size)))
    return np.argmax(spectrum) * 8000 / x.size


# ---- audio both ways --------------------------------------------------------------------------------------

@pytest.mark.parametrize("law", ["ulaw", "alaw"])
def test_tones_and_inband_digits_cross_both_ways(law):
    a, leg_a, b, leg_b = pair(law)
    a.media.play(leg_a.row, [dtmf_signal("159", on_ms=80, off_ms=80), tone(1000, 1.0)])
    b.media.play(leg_b.row, [dtmf_signal("#73", on_ms=80, off_ms=80), tone(600, 1.0)])
    heard_a, heard_b = [], []
    for _ in range(70):
        b.tick()
        a.tick()
        heard_a.append(a.media.rx[leg_a.row].copy())
        heard_b.append(b.media.rx[leg_b.row].copy())
    assert leg_b.digits == "159" and leg_a.digits == "#73"
    assert abs(peak_hz(np.concatenate(heard_b[-20:])) - 1000) < 10
    assert abs(peak_hz(np.concatenate(heard_a[-20:])) - 600) < 10
    for eng, leg in ((a, leg_a), (b, leg_b)):
        s = eng.packet.stats(leg.row)
        assert s["packets_in"] >= 60 and s["lost"] == 0 and s["concealed_ms"] == 0 and s["wrong_source"] == 0
    hang_up(leg_a, leg_b)


def test_rfc4733_digits_both_ways_once_each():
    a, leg_a, b, leg_b = pair()
    run(a, b, ticks=5)
    a.packet.send_digit(leg_a.row, "4")
    a.packet.send_digit(leg_a.row, "#", duration_ms=60)
    b.packet.send_digit(leg_b.row, "A")
    run(a, b, ticks=40)
    assert leg_b.digits == "4#" and leg_a.digits == "A"
    # 100 ms at 20 ms packets: 5 packets + 2 more end packets; 60 ms: 3 + 2
    assert a.packet.stats(leg_a.row)["events_out"] == 12
    assert b.packet.stats(leg_b.row)["events_in"] == 12
    hang_up(leg_a, leg_b)


def test_a_digit_sent_both_in_band_and_by_rfc4733_is_one_digit():
    """A phone that sends its key presses both ways (events beside the audio, in one sequence space)."""
    eng = engine()
    leg, local = endpoint(eng, None)
    peer = Peer(local)
    audio = g711.ulaw_encode(np.concatenate([np.zeros(800, np.int16), dtmf_signal("8", on_ms=100, off_ms=200)] * 2))
    presses = {5: 0, 20: 0}  # packet index where a press starts -> event timestamp (set when it starts)
    for k in range(audio.size // 160):
        peer.send(peer.packet(audio[k * 160:(k + 1) * 160].tobytes(), marker=k == 0))
        for start in presses:
            if start <= k < start + 5 + 2:  # 100 ms of event, then two more end packets
                if k == start:
                    presses[start] = peer.ts - 160
                duration = min(k - start + 1, 5) * 160
                body = rtp.TelephoneEvent(8, k >= start + 4, 10, duration).build()
                peer.send(rtp.build_rtp(101, peer.seq & 0xFFFF, presses[start], peer.ssrc, body, marker=k == start))
                peer.seq += 1
        eng.tick()
    run(eng, ticks=10)
    assert leg.digits == "88"
    s = eng.packet.stats(leg.row)
    assert s["events_in"] == 14 and s["lost"] == 0 and s["concealed_ms"] == 0
    peer.close()
    hang_up(leg)


def test_inband_digits_still_count_when_the_peer_sends_no_events():
    a, leg_a, b, leg_b = pair()
    a.media.play(leg_a.row, [dtmf_signal("2580", on_ms=60, off_ms=60)])
    run(a, b, ticks=40)
    assert leg_b.digits == "2580"
    assert b.packet.stats(leg_b.row)["events_in"] == 0
    hang_up(leg_a, leg_b)


# ---- loss, reordering, the jitter buffer and concealment ----------------------------------------------------

def test_loss_and_reordering_are_counted_and_concealed():
    eng = engine()
    leg, local = endpoint(eng, None)
    peer = Peer(local)
    voice = tone(300, 4.0, level=6000)
    codes = g711.ulaw_encode(voice)
    dropped = {20, 35, 36, 90}
    swapped = {50, 120}  # packet k goes after packet k + 1
    packets = [peer.packet(codes[k * 160:(k + 1) * 160].tobytes(), marker=k == 0) for k in range(150)]
    order = []
    k = 0
    while k < 150:
        if k in swapped:
            order += [k + 1, k]
            k += 2
        else:
            order.append(k)
            k += 1
    heard = []
    for k in order:
        if k not in dropped:
            peer.send(packets[k])
        eng.tick()
        heard.append(eng.media.rx[leg.row].copy())
    run(eng, ticks=10)
    s = eng.packet.stats(leg.row)
    assert s["lost"] == len(dropped)
    assert s["reordered"] == len(swapped)
    assert s["late"] == 0
    assert s["concealed_ms"] == 20 * len(dropped)
    # concealment kept the voice going: no tick after the first few is silent
    energy = [float(np.mean(h.astype(np.float64) ** 2)) for h in heard[10:140]]
    assert min(energy) > (6000 ** 2 / 2) * 0.05  # a lost 40 ms fades, yet is never silence
    peer.close()
    hang_up(leg)


def test_a_far_end_with_30_ms_packets_plays_at_the_right_rate():
    eng = engine()
    leg, local = endpoint(eng, None)
    peer = Peer(local)
    codes = g711.ulaw_encode(tone(1000, 3.0))
    heard = []
    sent = 0
    for tick in range(120):
        while sent * 240 < (tick + 1) * 160 and sent < 90:  # a 30 ms packet whenever 30 ms have passed
            peer.send(peer.packet(codes[sent * 240:(sent + 1) * 240].tobytes(), advance=240))
            sent += 1
        eng.tick()
        heard.append(eng.media.rx[leg.row].copy())
    s = eng.packet.stats(leg.row)
    assert s["lost"] == 0 and s["wrong_size"] == 0
    assert abs(peak_hz(np.concatenate(heard[20:100])) - 1000) < 10
    peer.close()
    hang_up(leg)


def test_comfort_noise_is_played_at_the_level_given():
    eng = engine()
    leg, local = endpoint(eng, None)
    peer = Peer(local)
    silence = g711.ulaw_encode(np.zeros(160, np.int16)).tobytes()
    for _ in range(5):
        peer.send(peer.packet(silence))
        eng.tick()
    peer.send(peer.packet(rtp.build_cn(40), pt=rtp.PT_CN))
    heard = []
    for _ in range(50):  # the far end sends nothing more during its silence
        eng.tick()
        heard.append(eng.media.rx[leg.row].copy())
    rms = np.sqrt(np.mean(np.concatenate(heard[5:]).astype(np.float64) ** 2))
    assert 0.8 * rtp.cn_rms(40) < rms < 1.25 * rtp.cn_rms(40)
    assert eng.packet.stats(leg.row)["cn_in"] == 1
    peer.close()
    hang_up(leg)


def test_comfort_noise_sent_in_silence_when_asked():
    eng = engine()
    leg, local = endpoint(eng, None, send_cn=True)
    peer = Peer(local)
    peer.send(peer.packet(g711.ulaw_encode(np.zeros(160, np.int16)).tobytes()))
    run(eng, ticks=60)  # 1.2 s of silence: one CN packet, a refresh after 1 s, no audio packets
    kinds = [rtp.parse_rtp(d).payload_type for d, _ in peer.received()]
    assert kinds.count(rtp.PT_CN) == 2 and kinds.count(0) == 0
    eng.media.play(leg.row, [tone(500, 0.2)])
    run(eng, ticks=5)
    sent = [rtp.parse_rtp(d) for d, _ in peer.received()]
    assert sent[0].payload_type == 0 and sent[0].marker
    peer.close()
    hang_up(leg)


# ---- sources: symmetric RTP and latching ------------------------------------------------------------------

def test_latching_takes_the_first_valid_source_and_drops_others():
    eng = engine()
    leg, local = endpoint(eng, None)
    first, other = Peer(local), Peer(local, ssrc=99)
    payload = bytes(160)
    other.send(b"\x00garbage")  # not RTP: latches nothing
    other.send(rtp.build_rtp(77, 1, 1, 99, payload))  # a payload type not negotiated: latches nothing
    eng.tick()
    first.send(first.packet(payload))
    eng.tick()
    other.send(other.packet(payload))
    run(eng, ticks=3)
    s = eng.packet.stats(leg.row)
    assert s["remote"] == first.address and s["wrong_source"] == 1
    assert s["malformed"] == 1 and s["unknown_pt"] == 1
    assert len(first.received()) >= 3 and other.received() == []
    first.close()
    other.close()
    hang_up(leg)


def test_a_known_remote_is_the_only_source_unless_behind_nat():
    eng = engine()
    nat = Peer(("127.0.0.1", 9))
    strict_leg, strict_local = endpoint(eng, ("127.0.0.1", 9))  # the SDP said port 9; packets come from nat
    nat_leg, nat_local = endpoint(eng, ("127.0.0.1", 9), latch=True)
    for target in (strict_local, nat_local):
        nat.target = target
        nat.send(nat.packet(bytes(160)))
    run(eng, ticks=3)
    assert eng.packet.stats(strict_leg.row)["wrong_source"] == 1
    s = eng.packet.stats(nat_leg.row)
    assert s["wrong_source"] == 0 and s["remote"] == nat.address and s["packets_in"] == 1
    nat.close()
    hang_up(strict_leg, nat_leg)


def test_remote_garbage_oversized_and_floods_are_dropped_and_bounded():
    eng = engine()
    leg, local = endpoint(eng, None)
    peer = Peer(local)
    peer.send(peer.packet(bytes(160)))
    eng.tick()
    peer.send(bytes(2000))
    peer.send(b"\x80")
    peer.send(b"\xa0\x00\x00\x01" + bytes(8))  # padding bit with a zero count
    for _ in range(400):  # a flood of future packets in one tick
        peer.send(peer.packet(bytes(160)))
    run(eng, ticks=3)
    s = eng.packet.stats(leg.row)
    assert s["oversized"] == 1 and s["malformed"] == 2
    assert eng.packet._rows[leg.row].jb.buffered <= 50
    peer.close()
    hang_up(leg)


# ---- RTCP ---------------------------------------------------------------------------------------------

def test_rtcp_reports_both_ways_give_round_trip_and_bye_on_close():
    a, leg_a, b, leg_b = pair()
    a.media.play(leg_a.row, [tone(400, 9.0)])
    b.media.play(leg_b.row, [tone(700, 9.0)])
    run(a, b, ticks=400)  # 8 s: every row has reported at least once
    sa, sb = a.packet.stats(leg_a.row), b.packet.stats(leg_b.row)
    assert sa["rtcp_out"] >= 1 and sb["rtcp_in"] >= 1 and sa["rtcp_in"] >= 1
    assert sa["rtt_ms"] is not None or sb["rtt_ms"] is not None
    for s in (sa, sb):
        assert s["rtt_ms"] is None or 0 <= s["rtt_ms"] < 100
        assert s["far_lost"] == 0 and s["far_loss_pct"] == 0 and 0 <= s["far_jitter_ms"] < 20
    a.packet.close(leg_a.row)
    run(b, ticks=2)
    assert b.packet.stats(leg_b.row)["bye_in"] == 1
    hang_up(leg_a, leg_b)


# ---- SRTP ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("suite", ["AES_CM_128_HMAC_SHA1_80", "AES_CM_128_HMAC_SHA1_32"])
def test_srtp_round_trip_and_tampered_packets_dropped(suite):
    a, b = engine(seed=1), engine(seed=2)
    ca, ra = a.packet.allocate()
    cb, rb = b.packet.allocate()
    key_a, key_b = a.packet.local_crypto(ra, suite), b.packet.local_crypto(rb, suite)
    addr_a = a.packet.open(ra, remote=None, payload_type=0, law="ulaw", srtp=f"1 {key_b}")
    addr_b = b.packet.open(rb, remote=addr_a, payload_type=0, law="ulaw", srtp=key_a)
    leg_a, leg_b = a.trunk.leg(ca), b.trunk.leg(cb)
    a.media.play(ra, [dtmf_signal("369", on_ms=80, off_ms=80)])
    b.packet.send_digit(rb, "*")
    run(a, b, ticks=40)
    assert leg_b.digits == "369" and leg_a.digits == "*"
    assert a.packet.stats(ra)["srtp"] == suite
    # a peer without the key: its packets, and a tampered copy of a real one, fail authentication
    spy = Peer(addr_b)
    spy.sock.close()
    spy.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    spy.sock.bind(("127.0.0.1", 0))
    spy.send(spy.packet(bytes(170)))
    run(b, ticks=2)
    assert b.packet.stats(rb)["wrong_source"] == 1  # latched already: not even looked at
    before = b.packet.stats(rb)["srtp_failed"]
    sender = a.packet._rows[ra].sock
    real = rtp.build_rtp(0, 1, 1, 5, bytes(160))
    forged = bytearray(a.packet._rows[ra].srtp.protect(real))
    forged[20] ^= 1
    sender.sendto(bytes(forged), addr_b)
    run(b, ticks=2)
    assert b.packet.stats(rb)["srtp_failed"] == before + 1
    spy.close()
    hang_up(leg_a, leg_b)


def test_bad_crypto_attribute_is_refused_with_its_element():
    eng = engine()
    channel, row = eng.packet.allocate()
    with pytest.raises(ValueError, match="crypto key"):
        eng.packet.open(row, remote=None, payload_type=0, law="ulaw",
                        srtp="AES_CM_128_HMAC_SHA1_80 inline:c2hvcnQ=")
    assert not eng.packet.is_open(row)
    eng.packet.release(row)


# ---- rows, ports and leaks ----------------------------------------------------------------------------

def test_rows_are_numbered_after_the_board_and_run_out():
    eng = engine(packet_rows=2)
    board_top = max(eng.board.channels)
    got = [eng.packet.allocate(), eng.packet.allocate()]
    assert [c for c, _ in got] == [board_top + 1, board_top + 2]
    assert [eng.channel_of_row[r] for _, r in got] == [board_top + 1, board_top + 2]
    assert eng.packet.allocate() is None
    for _, row in got:
        eng.packet.release(row)


def test_ports_in_use_are_skipped_and_even():
    lo, hi = ports(4)
    blocker = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    blocker.bind(("127.0.0.1", lo + 1))  # the RTCP port of the first pair
    board = open_board(parse_config(ANALOG.format(seed=1)))
    eng = Engine(board, packet_rows=4, rtp_ports=(lo, hi))
    rows = [eng.packet.allocate()[1] for _ in range(4)]
    got = [eng.packet.open(r, remote=None, payload_type=0, law="ulaw")[1] for r in rows[:3]]
    assert got == [lo + 2, lo + 4, lo + 6]
    with pytest.raises(LocalProtocolError, match="no free RTP port pair"):
        eng.packet.open(rows[3], remote=None, payload_type=0, law="ulaw")
    blocker.close()
    for r in rows:
        eng.packet.release(r)


@pytest.mark.leaves_calls
def test_leaks_name_rows_without_legs_and_a_closed_row_leaves_nothing():
    eng = engine()
    channel, row = eng.packet.allocate()
    host, port = eng.packet.open(row, remote=None, payload_type=0, law="ulaw")
    assert eng.leaks() == [f"packet row {row} (channel {channel}) is open on 127.0.0.1:{port} with no leg"]
    leg = eng.trunk.leg(channel)
    assert [line for line in eng.leaks() if "packet row" in line] == []  # the row has its leg (itself a leak here)
    leg.hangup(C.NORMAL_CLEARING)
    assert eng.leaks() == [] and not eng.packet.is_open(row)
    # the sockets are really closed: the ports bind again
    for p in (port, port + 1):
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.bind(("127.0.0.1", p))
        s.close()
    assert eng.shutdown() == []


def test_hold_directions_stop_sending_or_playing():
    eng = engine()
    leg, local = endpoint(eng, None)
    peer = Peer(local)
    peer.send(peer.packet(bytes(160)))
    eng.media.play(leg.row, [tone(500, 2.0)])
    run(eng, ticks=3)
    peer.received()
    eng.packet.update(leg.row, direction="recvonly")
    run(eng, ticks=5)
    assert [d for d, _ in peer.received() if not rtp.looks_like_rtcp(d)] == []
    eng.packet.update(leg.row, direction="sendrecv")
    run(eng, ticks=2)
    sent = [rtp.parse_rtp(d) for d, _ in peer.received() if not rtp.looks_like_rtcp(d)]
    assert len(sent) == 2 and sent[0].marker
    with pytest.raises(LocalProtocolError):
        eng.packet.update(leg.row, direction="sideways")
    peer.close()
    hang_up(leg)


def test_board_only_engine_has_no_packet_media():
    board = open_board(parse_config(ANALOG.format(seed=1)))
    eng = Engine(board)
    assert eng.packet is None and eng.media.rows == eng.media.board_rows == len(eng.channel_of_row)



def test_a_new_ssrc_restarts_the_stream_and_keeps_counting():
    eng = engine()
    leg, local = endpoint(eng, None)
    first = Peer(local, ssrc=1, seq=100)
    codes = g711.ulaw_encode(tone(1000, 2.0)).tobytes()
    for k in range(40):
        if k == 10:
            first.send(b"\x80\x00")  # a cut header: malformed
        if k == 20:  # the far end's call was transferred: new SSRC, sequence and timestamp
            first.ssrc, first.seq, first.ts = 2, 40000, 900000
        packet = first.packet(codes[k * 160:(k + 1) * 160], marker=k in (0, 20))
        if k != 30:  # lost on the way
            first.send(packet)
        eng.tick()
    run(eng, ticks=5)
    s = eng.packet.stats(leg.row)
    assert s["ssrc_changes"] == 1 and s["lost"] == 1 and s["packets_in"] == 39 and s["malformed"] == 1
    first.close()
    hang_up(leg)


def test_update_moves_the_far_end_and_sends_10_ms_packets():
    eng = engine()
    old, new = Peer(("127.0.0.1", 9)), Peer(("127.0.0.1", 9))
    leg, local = endpoint(eng, old.address, ptime_ms=10)
    eng.media.play(leg.row, [tone(700, 1.0)])
    run(eng, ticks=2)
    got = [rtp.parse_rtp(d) for d, _ in old.received() if not rtp.looks_like_rtcp(d)]
    assert len(got) == 4 and all(len(p.payload) == 80 for p in got)
    assert [(p.timestamp - got[0].timestamp) % (1 << 32) for p in got] == [0, 80, 160, 240]
    eng.packet.update(leg.row, remote=new.address, law="alaw", payload_type=8)
    run(eng, ticks=2)
    got = [rtp.parse_rtp(d) for d, _ in new.received() if not rtp.looks_like_rtcp(d)]
    assert len(got) == 4 and {p.payload_type for p in got} == {8} and old.received() == []
    new.target = local
    new.send(new.packet(bytes(160), pt=8))
    run(eng, ticks=2)
    assert eng.packet.stats(leg.row)["packets_in"] == 1
    old.close()
    new.close()
    hang_up(leg)


def test_update_turns_srtp_on():
    a, leg_a, b, leg_b = pair()
    key_a, key_b = a.packet.local_crypto(leg_a.row), b.packet.local_crypto(leg_b.row)
    a.packet.update(leg_a.row, srtp=key_b)
    b.packet.update(leg_b.row, srtp=key_a)
    a.media.play(leg_a.row, [dtmf_signal("42", on_ms=80, off_ms=80)])
    run(a, b, ticks=30)
    assert leg_b.digits == "42"
    assert b.packet.stats(leg_b.row)["srtp"] == "AES_CM_128_HMAC_SHA1_80"
    assert b.packet.stats(leg_b.row)["srtp_failed"] == 0
    hang_up(leg_a, leg_b)


def test_held_rows_play_nothing_and_resume_without_loss():
    eng = engine()
    leg, local = endpoint(eng, None)
    peer = Peer(local)
    codes = g711.ulaw_encode(tone(1000, 3.0)).tobytes()
    heard = []
    for k in range(120):
        if k == 30:
            eng.packet.update(leg.row, direction="sendonly")  # we hold the far end: it still sends
        if k == 80:
            eng.packet.update(leg.row, direction="sendrecv")
        peer.send(peer.packet(codes[k * 160:(k + 1) * 160], marker=k == 0))
        eng.tick()
        heard.append(float(np.abs(eng.media.rx[leg.row]).max()))
    assert max(heard[35:80]) == 0 and min(heard[10:30]) > 1000 and min(heard[85:]) > 1000
    s = eng.packet.stats(leg.row)
    assert s["lost"] == 0 and s["concealed_ms"] == 0 and s["packets_in"] == 120
    peer.close()
    hang_up(leg)


def test_ipv6_rows():
    try:
        probe = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
        probe.bind(("::1", 0))
        probe.close()
    except OSError:
        pytest.skip("no IPv6 loopback on this machine")
    a, b = engine(seed=1), engine(seed=2)
    leg_a, addr_a = endpoint(a, None, local_host="::1")
    leg_b, _ = endpoint(b, addr_a, local_host="::1")
    b.packet.send_digit(leg_b.row, "3")
    a.packet.send_digit(leg_a.row, "6")
    run(a, b, ticks=20)
    assert leg_a.digits == "3" and leg_b.digits == "6"
    assert a.packet.stats(leg_a.row)["remote"][0] == "::1" and b.packet.stats(leg_b.row)["wrong_source"] == 0
    hang_up(leg_a, leg_b)


def test_sent_events_follow_rfc4733():
    eng = engine()
    peer = Peer(("127.0.0.1", 9))
    leg, local = endpoint(eng, peer.address)
    run(eng, ticks=2)
    audio = [rtp.parse_rtp(d) for d, _ in peer.received() if not rtp.looks_like_rtcp(d)]
    eng.packet.send_digit(leg.row, "*", duration_ms=80)
    run(eng, ticks=10)
    sent = [rtp.parse_rtp(d) for d, _ in peer.received() if not rtp.looks_like_rtcp(d)]
    events = [p for p in sent if p.payload_type == 101]
    got = [rtp.parse_event(p.payload) for p in events]
    assert [p.marker for p in events] == [True] + [False] * 5
    assert len({p.timestamp for p in events}) == 1 and events[0].timestamp == (audio[-1].timestamp + 160) % (1 << 32)
    assert [e.duration for e in got] == [160, 320, 480, 640, 640, 640]
    assert [e.end for e in got] == [False] * 3 + [True] * 3
    assert {e.event for e in got} == {10} and {e.volume for e in got} == {10}
    seqs = [p.sequence for p in audio + sent]
    assert all((b - a) % 65536 == 1 for a, b in zip(seqs, seqs[1:]))  # one sequence space, no gap
    after = [p for p in sent if p.payload_type == 0]
    assert after[0].timestamp == (events[0].timestamp + 6 * 160) % (1 << 32)  # audio resumes on the media clock
    peer.close()
    hang_up(leg)


def test_rtcp_muxed_on_the_rtp_port():
    eng = engine()
    peer = Peer(("127.0.0.1", 9))
    leg, local = endpoint(eng, peer.address, rtcp_mux=True)
    peer.target = local
    eng.media.play(leg.row, [tone(400, 9.0)])
    for _ in range(400):
        peer.send(peer.packet(bytes(160)))
        eng.tick()
    peer.send(rtp.build_rtcp([rtp.ReceiverReport(peer.ssrc), rtp.Sdes(((peer.ssrc, ((rtp.CNAME, b"peer"),)),))]))
    run(eng, ticks=2)
    got = peer.received()
    reports = [rtp.parse_rtcp(d) for d, _ in got if rtp.looks_like_rtcp(d)]
    assert reports and all(isinstance(r[0], rtp.SenderReport) for r in reports)
    assert reports[0][0].reports[0].ssrc == peer.ssrc  # it reports on what it hears from us
    s = eng.packet.stats(leg.row)
    assert s["rtcp_in"] == 1 and s["unknown_pt"] == 0 and s["malformed"] == 0
    peer.close()
    hang_up(leg)


def test_many_rows_of_both_laws_keep_their_own_audio():
    """Rows are batched: each pair must hear its own tone, whatever law its neighbours use."""
    a, b = engine(packet_rows=8, seed=1), engine(packet_rows=8, seed=2)
    legs = []
    for k in range(8):
        law = "alaw" if k % 3 == 1 else "ulaw"
        leg_a, addr_a = endpoint(a, None, law)
        leg_b, _ = endpoint(b, addr_a, law)
        a.media.play(leg_a.row, [tone(300 + 100 * k, 2.0)])
        b.media.play(leg_b.row, [tone(1500 + 100 * k, 2.0)])
        legs.append((leg_a, leg_b))
    heard = {}
    for tick in range(60):
        b.tick()
        a.tick()
        if tick >= 30:
            for k, (leg_a, leg_b) in enumerate(legs):
                heard.setdefault(("a", k), []).append(a.media.rx[leg_a.row].copy())
                heard.setdefault(("b", k), []).append(b.media.rx[leg_b.row].copy())
    for k in range(8):
        assert abs(peak_hz(np.concatenate(heard[("a", k)])) - (1500 + 100 * k)) < 10
        assert abs(peak_hz(np.concatenate(heard[("b", k)])) - (300 + 100 * k)) < 10
    hang_up(*[leg for pair_ in legs for leg in pair_])


def test_an_event_flood_gives_keypad_speed_digits_at_most():
    eng = engine()
    leg, local = endpoint(eng, None)
    peer = Peer(local)
    for k in range(5):
        peer.send(peer.packet(bytes(160)))
        eng.tick()
    burst = "1234567"  # seven distinct events in one tick: a burst after an outage, then a flood
    for k, digit in enumerate(burst):
        body = rtp.TelephoneEvent(rtp.digit_event(digit), False, 10, 160).build()
        peer.send(rtp.build_rtp(101, peer.seq & 0xFFFF, (peer.ts + 400 * k) & 0xFFFFFFFF, peer.ssrc, body))
        peer.seq += 1
    eng.tick()
    assert leg.digits == "1"
    run(eng, ticks=20)
    assert leg.digits == "1234"  # one per 80 ms, four held
    assert eng.packet.stats(leg.row)["digits_dropped"] == 3
    peer.close()
    hang_up(leg)
