"""In-process packet rows (PacketMedia.open_local), the rows WebRTC legs ride: RTP pushed and pulled by another
thread through bounded queues, with the same jitter buffer, DTMF detection and stats as a socket row."""
import numpy as np

from pycallcenter.dsp import g711
from pycallcenter.dsp.tones import dtmf_signal
from pycallcenter.media import rtp
from test_packet_media import engine, peak_hz, tone


def local_leg(eng, law="ulaw"):
    channel, row = eng.packet.allocate()
    port = eng.packet.open_local(row, law=law)
    return eng.trunk.leg(channel), port


def test_pushed_audio_is_heard_and_the_row_audio_comes_out():
    eng = engine()
    leg, port = local_leg(eng)
    eng.media.play(leg.row, [tone(1000, 1.0)])
    heard = dtmf_signal("47", on_ms=80, off_ms=80)
    heard = np.concatenate([heard, np.zeros(160 * 10, np.int16)])
    codes = g711.ulaw_encode(heard)
    out = []
    for i in range(codes.size // 160):
        port.inbound.append(rtp.build_rtp(0, i, i * 160, 0x42, codes[i * 160:(i + 1) * 160].tobytes()))
        eng.tick()
        while port.outbound:
            out.append(port.outbound.popleft())
    assert leg.digits == "47"
    pcm = np.concatenate([g711.ulaw_decode(np.frombuffer(p[12:], np.uint8)) for p in out[5:]])
    assert abs(peak_hz(pcm) - 1000) < 20
    assert {p[1] & 0x7F for p in out} == {0}
    st = eng.packet.stats(leg.row)
    assert st["packets_in"] == codes.size // 160 and st["packets_out"] == len(out)
    leg.hangup()
    eng.tick()
    assert not eng.packet.is_open(leg.row) and eng.packet.leaks() == []


def test_a_consumer_that_falls_behind_loses_only_old_packets():
    eng = engine()
    leg, port = local_leg(eng, law="alaw")
    for _ in range(200):
        eng.tick()
    assert len(port.outbound) == port.outbound.maxlen
    assert {p[1] & 0x7F for p in port.outbound} == {8}
    leg.hangup()
    eng.tick()
