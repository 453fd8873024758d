"""Whatever a far end sends, a packet row keeps ticking: random mixes of good, lost, reordered, duplicated,
truncated, oversized, foreign and garbage packets, events, comfort noise and SSRC changes. Short in the default
run; the `fuzz` marker runs many more."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pycallcenter.dsp import g711
from pycallcenter.media import rtp
from test_packet_media import Peer, endpoint, engine, tone

KINDS = ["audio", "audio", "audio", "lose", "reorder", "dup", "cut", "big", "garbage", "foreign", "event", "cn",
         "ssrc", "wrong_pt", "padding", "rtcp_garbage"]
plans = st.lists(st.lists(st.sampled_from(KINDS), max_size=4), min_size=20, max_size=120)


def _play(plan):
    eng = engine(packet_rows=2)
    leg, local = endpoint(eng, None)
    peer, stranger = Peer(local), Peer(local, ssrc=77)
    audio = g711.ulaw_encode(tone(700, 3.0)).tobytes()
    held = None
    try:
        for tick, kinds in enumerate(plan):
            for kind in kinds:
                body = audio[(tick % 150) * 160:(tick % 150 + 1) * 160]
                if kind in ("audio", "reorder", "dup"):
                    data = peer.packet(body)
                    if kind == "reorder":
                        held, data = data, held
                    if data is not None:
                        peer.send(data)
                        if kind == "dup":
                            peer.send(data)
                elif kind == "lose":
                    peer.packet(body)
                elif kind == "cut":
                    peer.send(peer.packet(body)[:7])
                elif kind == "big":
                    peer.send(peer.packet(bytes(3000)))
                elif kind == "garbage":
                    peer.send(bytes((tick * 37 + k) % 256 for k in range(tick % 40)))
                elif kind == "foreign":
                    stranger.send(stranger.packet(body))
                elif kind == "event":
                    peer.send(peer.packet(rtp.TelephoneEvent(tick % 20, tick % 3 == 0, 10, 160 * (tick % 5)).build(),
                                          pt=101, advance=0))
                elif kind == "cn":
                    peer.send(peer.packet(bytes([tick % 128]), pt=rtp.PT_CN))
                elif kind == "ssrc":
                    peer.ssrc, peer.seq, peer.ts = (peer.ssrc + 1) & 0xFFFFFFFF, peer.seq + 5000, peer.ts + 10 ** 6
                elif kind == "wrong_pt":
                    peer.send(peer.packet(body, pt=99))
                elif kind == "padding":
                    peer.send(b"\xa0" + peer.packet(body)[1:-1] + b"\xff")
                elif kind == "rtcp_garbage":
                    peer.send(b"\x80\xc8" + bytes(tick % 30))
            eng.tick()
            assert eng.media.rx.dtype == np.int16
        s = eng.packet.stats(leg.row)
        assert eng.packet._rows[leg.row].jb.buffered <= 50
        assert s["packets_in"] >= 0 and s["lost"] >= 0 and s["concealed_ms"] >= 0
        assert set(leg.digits) <= set("0123456789*#ABCD") and len(leg.digits) <= len(plan) // 4 + 1  # keypad speed
    finally:
        peer.close()
        stranger.close()
        leg.hangup()
        eng.shutdown()


@settings(max_examples=15, deadline=None)
@given(plans)
def test_any_far_end_leaves_the_tick_running(plan):
    _play(plan)


@pytest.mark.fuzz
@settings(max_examples=500, deadline=None)
@given(plans)
def test_any_far_end_leaves_the_tick_running_long(plan):
    _play(plan)
