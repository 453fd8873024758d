"""Fuzzed MSUs through a live link: only DecodeError from decoders, the link stays aligned, no CIC stuck."""
import pytest
from hypothesis import given, settings, strategies as st

from pycallcenter.errors import DecodeError
from pycallcenter.ss7 import isup as I
from pycallcenter.ss7 import mtp2
from pycallcenter.ss7.trace import decode_frame
from ss7_wire import SpPair
from test_ss7_isup import FAST

# SIO + label (ITU, dpc 1, opc 2) for ISUP, SNM and link test, followed by anything
HEADS = [bytes([0x85]) + (1 | 2 << 14).to_bytes(4, "little"), bytes([0x80]) + (1 | 2 << 14).to_bytes(4, "little"),
         bytes([0x81]) + (1 | 2 << 14).to_bytes(4, "little"), b""]
MSU = st.tuples(st.sampled_from(HEADS), st.binary(min_size=0, max_size=40)).map(lambda t: t[0] + t[1])


def _fuzz_link(msus):
    pair = SpPair(cics=6, isup_timers=FAST, step=0.002).up()
    link_b = pair.b.mtp3.links[0].mtp2
    for msu in msus:
        if len(msu) >= 3:
            link_b.send(msu)
    pair.settle(0.2)
    assert pair.a.mtp3.links[0].mtp2.state == mtp2.IN_SERVICE
    assert pair.a.mtp3.route_available(2)
    pair.ib.group_reset(1, 6, pair.now)
    pair.ib.group_block(1, 6, pair.now, unblock=True)
    pair.ib.group_block(1, 6, pair.now, hardware=True, unblock=True)
    pair.step = 0.005
    pair.run(1.0)
    for n in range(1, 7):
        assert pair.ia.state(n) in (I.IDLE, I.RESETTING, I.RELEASING), n
        assert pair.ia.blocked(n)[1] == frozenset(), n
    pair.run(3.5)  # anything the fuzz left releasing or resetting finishes under T1/T5/T16/T17
    assert all(pair.ia.state(n) == I.IDLE for n in range(1, 7))


@settings(max_examples=15)
@given(st.lists(MSU, min_size=1, max_size=10))
def test_fuzzed_msus_keep_the_link_and_circuits_sane(msus):
    _fuzz_link(msus)


@pytest.mark.fuzz
@given(st.lists(MSU, min_size=1, max_size=30))
def test_fuzzed_msus_long_run(msus):
    _fuzz_link(msus)


@pytest.mark.fuzz
@given(st.binary(max_size=300), st.sampled_from(["mtp2", "mtp3", "isup"]), st.sampled_from(["itu", "ansi"]))
def test_fuzzed_frames_decode_or_raise_decode_error_long_run(data, proto, variant):
    try:
        decode_frame(proto, data, variant)
    except DecodeError:
        pass
