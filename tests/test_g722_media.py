"""G.722 packet rows (payload type 9, the G722 package's 8 kHz mode): tones both ways between engines and with
a wideband (16 kHz) terminal, concealment of lost packets, RFC 4733 digits, G.711 rows beside G.722 rows,
a codec change by re-INVITE, the native receive path and comfort noise."""
import numpy as np
import pytest

from test_packet_media import Peer, engine, hang_up, peak_hz, run, tone
from pycallcenter.dsp.plc import DELAY
from pycallcenter.media import g722, rtp
from pycallcenter.media.endpoint import PacketMedia

pytestmark = pytest.mark.skipif(not g722.AVAILABLE, reason="the g722 extra (G722 package) is not installed")

from G722 import G722 as Wideband  # noqa: E402 - only with the extra (the skip above says so)


def open_g722(eng, remote=None, **kw):
    """Return (leg, local address) of an answered leg on a fresh packet row carrying G.722."""
    channel, row = eng.packet.allocate()
    local = eng.packet.open(row, remote=remote, payload_type=9, law="g722", **kw)
    return eng.trunk.leg(channel), local


def feed(eng, leg, peer, codes, packets, drop=(), first=0):
    """Send packets first.. of G.722 codes from peer (leaving out those in drop, whose numbers are still
    used), ticking the engine after each; return what the row played, one array per tick."""
    heard = []
    for k in range(first, first + packets):
        packet = peer.packet(codes[k * 160:(k + 1) * 160], marker=k == 0)
        if k not in drop:
            peer.send(packet)
        eng.tick()
        heard.append(eng.media.rx[leg.row].copy())
    return heard


@pytest.fixture
def g722_row():
    """Yield (engine, answered leg on a G.722 row, a plain-socket peer sending payload type 9 to it)."""
    eng = engine()
    leg, local = open_g722(eng)
    peer = Peer(local, pt=9)
    yield eng, leg, peer
    peer.close()
    hang_up(leg)


def power_at(x, freq, rate=8000):
    """Return the power of one frequency in x (one DFT bin, Goertzel's sum) at the given sample rate."""
    t = np.arange(x.size) / rate
    return abs(np.dot(x.astype(np.float64), np.exp(-2j * np.pi * freq * t))) ** 2


def test_tones_and_inband_digits_cross_between_two_g722_engines():
    from pycallcenter.dsp.tones import dtmf_signal

    engines = engine(seed=1), engine(seed=2)
    leg_a, addr_a = open_g722(engines[0])
    legs = leg_a, open_g722(engines[1], addr_a)[0]
    for eng, leg, keys, freq in zip(engines, legs, ("159", "#73"), (1000, 600)):
        eng.media.play(leg.row, [dtmf_signal(keys, on_ms=80, off_ms=80), tone(freq, 1.0)])
    heard = ([], [])
    for _ in range(70):
        for k in (1, 0):
            engines[k].tick()
            heard[k].append(engines[k].media.rx[legs[k].row].copy())
    a, b = engines
    leg_b = legs[1]
    assert leg_b.digits == "159" and leg_a.digits == "#73"  # the in-band detector hears through G.722
    by_a, by_b = (np.concatenate(h[-20:]) for h in heard)
    assert abs(peak_hz(by_b) - 1000) < 10 and abs(peak_hz(by_a) - 600) < 10
    level = np.sqrt(np.mean(by_b.astype(np.float64) ** 2))
    assert 0.8 * 8000 / np.sqrt(2) < level < 1.2 * 8000 / np.sqrt(2)  # the 8 kHz mode keeps the level
    for eng, leg in ((a, leg_a), (b, leg_b)):
        s = eng.packet.stats(leg.row)
        assert s["packets_in"] >= 60 and s["lost"] == 0 and s["concealed_ms"] == 0 and s["unknown_pt"] == 0
        assert s["bytes_in"] == s["packets_in"] * (12 + 160)  # 64 kbit/s: 160 bytes per 20 ms
    hang_up(leg_a, leg_b)


def test_a_wideband_terminal_hears_us_and_we_hear_it(g722_row):
    """A terminal running G.722 at 16 kHz (as phones do) decodes our 8 kHz-mode stream as ordinary G.722 and
    we hear the low band of its wideband stream: its 1 kHz, not its 6 kHz."""
    eng, leg, peer = g722_row
    enc, dec = Wideband(16000, 64000), Wideband(16000, 64000)
    t = np.arange(16000 * 3) / 16000
    said = (6000 * np.sin(2 * np.pi * 1000 * t) + 3000 * np.sin(2 * np.pi * 6000 * t)).astype(np.int16)
    eng.media.play(leg.row, [tone(700, 3.0)])
    heard, got = [], []
    for k in range(120):
        chunk = said[k * 320:(k + 1) * 320]  # 20 ms at 16 kHz: 160 bytes, timestamps step 160 (RFC 3551 4.5.2)
        peer.send(peer.packet(enc.encode(chunk), marker=k == 0))
        eng.tick()
        heard.append(eng.media.rx[leg.row].copy())
        for data, _ in peer.received():
            p = rtp.parse_rtp(data) if data[1] & 0x7F == 9 else None
            if p is not None:
                assert len(p.payload) == 160
                got.append(np.frombuffer(dec.decode(p.payload), np.int16))
    ours = np.concatenate(heard[20:110])
    assert power_at(ours, 1000) > 100 * power_at(ours, 700)
    assert abs(peak_hz(ours) - 1000) < 10  # 6 kHz is above what an 8 kHz engine carries
    theirs = np.concatenate(got[20:110])
    assert power_at(theirs, 700, 16000) > 1000 * power_at(theirs, 1700, 16000)
    assert power_at(theirs, 700, 16000) > 1000 * power_at(theirs, 6000, 16000)  # nothing in the upper band


def test_lost_g722_packets_are_concealed_and_counted(g722_row):
    eng, leg, peer = g722_row
    codes = g722.codec().encode(tone(300, 3.0, level=6000))
    dropped = {20, 35, 36, 90}
    heard = feed(eng, leg, peer, codes, 140, dropped)
    s = eng.packet.stats(leg.row)
    assert s["lost"] == len(dropped) and s["concealed_ms"] == 20 * len(dropped)
    energy = [float(np.mean(h.astype(np.float64) ** 2)) for h in heard[10:135]]
    assert min(energy) > (6000 ** 2 / 2) * 0.05  # the PLC kept the voice going over the gaps
    # after each gap the decoder (which skipped the lost packets) is back on the tone within a packet
    assert abs(peak_hz(np.concatenate(heard[100:135])) - 300) < 10


def test_rfc4733_digits_on_g722_rows_both_ways(g722_row):
    eng, leg, peer = g722_row
    codes = g722.codec().encode(tone(500, 2.0))
    feed(eng, leg, peer, codes, 10)
    code = rtp.digit_event("7")
    start = peer.ts
    for i in range(1, 6):  # the event stands in for audio (RFC 4733 2.5.1.3): same timestamp throughout
        body = rtp.TelephoneEvent(code, i == 5, 10, i * 160).build()
        peer.send(rtp.build_rtp(101, peer.seq & 0xFFFF, start, peer.ssrc, body, marker=i == 1))
        peer.seq += 1
        eng.tick()
    peer.ts = start + 5 * 160
    feed(eng, leg, peer, codes, 25, first=15)
    assert leg.digits == "7"
    eng.packet.send_digit(leg.row, "3")
    run(eng, ticks=10)
    sent = [rtp.parse_rtp(d) for d, _ in peer.received()]
    events = [p for p in sent if p.payload_type == 101]
    assert events and rtp.parse_event(events[0].payload).digit == "3" and events[0].marker
    assert {p.payload_type for p in sent} == {9, 101}


def test_g711_and_g722_rows_in_one_engine_keep_their_own_audio():
    """G.711 rows stay on the batched path beside G.722 rows on theirs: every row hears its own tone."""
    eng = engine(packet_rows=6)
    laws = ["ulaw", "g722", "alaw", "g722", "ulaw", "g722"]
    rows = []
    for k, law in enumerate(laws):
        channel, row = eng.packet.allocate()
        pt = {"ulaw": 0, "alaw": 8, "g722": 9}[law]
        local = eng.packet.open(row, remote=None, payload_type=pt, law=law)
        rows.append((eng.trunk.leg(channel), Peer(local, pt=pt, ssrc=100 + k), law, 400 + 150 * k))
    from pycallcenter.dsp import g711

    encoders = {k: g722.codec() for k, (_, _, law, _) in enumerate(rows) if law == "g722"}
    signals = [tone(freq, 2.0) for _, _, _, freq in rows]
    heard = [[] for _ in rows]
    for t in range(80):
        for k, (leg, peer, law, _) in enumerate(rows):
            pcm = signals[k][t * 160:(t + 1) * 160]
            payload = (encoders[k].encode(pcm) if law == "g722" else
                       (g711.alaw_encode if law == "alaw" else g711.ulaw_encode)(pcm).tobytes())
            peer.send(peer.packet(payload, marker=t == 0))
        eng.tick()
        for k, (leg, *_) in enumerate(rows):
            heard[k].append(eng.media.rx[leg.row].copy())
    for k, (leg, peer, law, freq) in enumerate(rows):
        assert abs(peak_hz(np.concatenate(heard[k][20:75])) - freq) < 10, (law, freq)
        assert eng.packet.stats(leg.row)["lost"] == 0
        peer.close()
        hang_up(leg)


@pytest.mark.parametrize("native", [True, False])
def test_the_native_and_python_receive_paths_give_the_same_g722_audio(monkeypatch, native, g722_row):
    monkeypatch.setattr(PacketMedia, "native_receive", native)
    eng, leg, peer = g722_row
    codes = g722.codec().encode(tone(850, 2.0))
    heard = feed(eng, leg, peer, codes, 80) + feed(eng, leg, peer, codes, 10, drop=range(80, 90), first=80)
    assert played_exactly(np.concatenate(heard), codes[:80 * 160])


def played_exactly(got, codes, start=1600, end=9600):
    """Return True when got holds, samples start..end of the library's own fresh decoding of codes, sample for
    sample, a whole number of ticks plus the concealer's delay (plc.DELAY) later (past a stream's start,
    which the concealer fades in)."""
    part = np.frombuffer(g722.codec().decode(codes), np.int16)[start:end]
    return any(np.array_equal(got[start + lag:start + lag + part.size], part) for lag in range(DELAY, 1600, 160))


def test_a_new_ssrc_is_decoded_by_a_fresh_decoder(g722_row):
    """A far end that starts a new stream (a new SSRC: a new encoder, after a transfer behind it) is decoded
    from a fresh state, so what is played is exactly the new stream's decoding."""
    eng, leg, peer = g722_row
    feed(eng, leg, peer, g722.codec().encode(tone(500, 1.0)), 40)
    peer.ssrc, peer.seq, peer.ts = 0x5678, 9000, 777000
    codes = g722.codec().encode(tone(1300, 2.0))
    heard = feed(eng, leg, peer, codes, 70, first=1)
    assert eng.packet.stats(leg.row)["ssrc_changes"] == 1
    assert played_exactly(np.concatenate(heard), codes[160:], start=1600, end=8000)


def test_a_re_invite_moves_a_row_from_g711_to_g722_with_a_fresh_decoder():
    eng = engine()
    channel, row = eng.packet.allocate()
    local = eng.packet.open(row, remote=None, payload_type=0, law="ulaw")
    leg = eng.trunk.leg(channel)
    peer = Peer(local, pt=0)
    from pycallcenter.dsp import g711

    for k in range(10):
        peer.send(peer.packet(g711.ulaw_encode(tone(500, 0.02)).tobytes()))
        eng.tick()
    eng.packet.update(row, payload_type=9, law="g722")
    peer.pt = 9
    heard = feed(eng, leg, peer, g722.codec().encode(tone(1200, 2.0)), 60, first=1)
    assert abs(peak_hz(np.concatenate(heard[20:])) - 1200) < 10
    sent = [rtp.parse_rtp(d) for d, _ in peer.received()]
    assert sent[-1].payload_type == 9
    peer.close()
    hang_up(leg)


def test_comfort_noise_on_a_g722_row_measures_what_the_far_end_decodes():
    eng = engine()
    leg, local = open_g722(eng, send_cn=True)
    peer = Peer(local, pt=9)
    peer.send(peer.packet(g722.codec().encode(np.zeros(160, np.int16))))
    run(eng, ticks=60)  # 1.2 s of silence: CN packets, no audio packets
    kinds = [rtp.parse_rtp(d).payload_type for d, _ in peer.received()]
    assert kinds.count(rtp.PT_CN) == 2 and kinds.count(9) == 0
    eng.media.play(leg.row, [tone(500, 0.4)])
    run(eng, ticks=10)
    sent = [rtp.parse_rtp(d) for d, _ in peer.received()]
    assert sent[0].payload_type == 9 and sent[0].marker
    peer.close()
    hang_up(leg)


@pytest.mark.parametrize("hold", ["sendonly", "inactive"])
def test_a_row_resumed_from_hold_decodes_from_a_fresh_state(g722_row, hold):
    """While a row is held its decoder is not fed; on resume (a re-INVITE back to sendrecv) it starts afresh,
    so what is played after the hold is exactly a fresh decoding of the far end's new talkspurt, with no
    glitch from the state the call had before the hold."""
    eng, leg, peer = g722_row
    feed(eng, leg, peer, g722.codec().encode(tone(500, 1.0, level=12000)), 40)
    eng.packet.update(leg.row, direction=hold)
    run(eng, ticks=25)  # held: the far end sends nothing, its clock runs on
    peer.ts += 25 * 160
    eng.packet.update(leg.row, direction="sendrecv")
    codes = g722.codec().encode(tone(1300, 2.0))
    heard = feed(eng, leg, peer, codes, 70, first=1)
    assert eng.packet.stats(leg.row)["ssrc_changes"] == 0  # the same stream: only the resume resets the decoder
    assert played_exactly(np.concatenate(heard), codes[160:], start=1600, end=8000)


@pytest.mark.parametrize("far_end", ["restarts", "pauses", "runs on"])
def test_the_fresh_decoder_on_resume_never_clips_whatever_the_far_end_did(far_end):
    """The codec alone (the figures in docs/sip.md, "G.722"): over a hold the far end may restart its encoder,
    pause it, or run it on without sending. The kept decoder clips at full scale on a restarted encoder; a
    fresh one is exact there and, on a paused or running encoder, peaks at most 1.5 times the signal and is
    within a tenth of full scale of a decoder in step with the encoder after 125 ms."""
    before, unsent, after = tone(500, 1.0, level=12000), tone(700, 0.5), tone(1300, 0.5)
    enc = g722.codec()
    first = enc.encode(before)
    kept, in_step = g722.codec(), g722.codec()  # ours before the hold, and one that follows the far end
    kept.decode(first)
    in_step.decode(first)
    if far_end == "restarts":
        enc, in_step = g722.codec(), g722.codec()
    elif far_end == "runs on":
        in_step.decode(enc.encode(unsent))
    codes = enc.encode(after)
    truth, fresh, old = (np.frombuffer(d.decode(codes), np.int16).astype(np.int64)
                         for d in (in_step, g722.codec(), kept))
    assert np.abs(fresh).max() <= 1.5 * np.abs(truth).max()
    assert np.abs(fresh - truth)[1000:].max() <= 3277
    if far_end == "restarts":
        assert np.array_equal(fresh, truth) and np.abs(old).max() >= 32767
