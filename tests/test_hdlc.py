"""HDLC framing: FCS, encoder -> decoder round trips across ticks, native == twin, errors and aborts."""
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from pycallcenter.dsp import hdlc
from pycallcenter.dsp.reference import hdlc as twin

# payload octets that stress stuffing and flag hunting, plus anything else
OCTET = st.one_of(st.sampled_from([0x7E, 0xFF, 0x1F, 0x3E, 0xFC, 0x00]), st.integers(0, 255))
PAYLOAD = st.lists(OCTET, min_size=2, max_size=60).map(bytes)


def _run(encoder, decoder, ticks):
    """Feed encoder output to decoder for a list of tick sizes; return the events."""
    events = []
    for n in ticks:
        events += decoder.process(encoder.process(n))
    return events


def _line(*parts):
    """Return line octets for a sequence of bit lists, padded with flags to whole octets."""
    bits = [b for part in parts for b in part]
    while len(bits) % 8:
        bits.append(1)  # idle ones fill the last octet; they never complete anything
    return twin.bits_to_octets(bits)


FLAG = list(twin.FLAG_BITS)


def test_fcs16_check_value_and_residue():
    assert hdlc.fcs16(b"123456789") == 0x906E  # CRC-16/X.25 check value
    assert twin.fcs16(b"123456789") == 0x906E
    assert hdlc.fcs16(b"") == twin.fcs16(b"") == 0
    data = b"\x00\x01\x7f"
    fcs = hdlc.fcs16(data)
    assert hdlc.fcs16(data + bytes([fcs & 0xFF, fcs >> 8])) == 0x0F47  # the good-frame residue, complemented


@given(st.binary(max_size=300))
def test_fcs16_native_equals_twin(data):
    assert hdlc.fcs16(data) == twin.fcs16(data)
    assert hdlc.fcs16(np.frombuffer(data, np.uint8)) == twin.fcs16(data)


@given(st.lists(st.tuples(st.integers(0, 2), PAYLOAD), max_size=12),
       st.lists(st.integers(1, 37), min_size=1, max_size=8))
def test_round_trip_across_ticks(frames, ticks):
    enc, dec = hdlc.HdlcEncoder(3), hdlc.HdlcDecoder(3)
    for channel, payload in frames:
        enc.send(channel, payload)
    events = []
    while any(enc.pending(c) for c in range(3)):
        events += _run(enc, dec, ticks)
    events += _run(enc, dec, [8])  # the last closing flag
    assert all(e.kind == hdlc.FRAME for e in events), events
    for channel in range(3):
        assert [e.payload for e in events if e.channel == channel] == [p for c, p in frames if c == channel]


@given(st.lists(st.tuples(st.integers(0, 1), PAYLOAD), max_size=8),
       st.lists(st.tuples(st.integers(1, 29), st.sampled_from(["none", "abort0", "abort1", "flip"]),
                          st.integers(0, 10 ** 6)), min_size=1, max_size=20))
def test_native_equals_twin_bit_for_bit(frames, script):
    enc, tenc = hdlc.HdlcEncoder(2), twin.HdlcEncoder(2)
    dec, tdec = hdlc.HdlcDecoder(2, max_frame=40), twin.HdlcDecoder(2, max_frame=40)
    for channel, payload in frames:
        enc.send(channel, payload)
        tenc.send(channel, payload)
    for n, action, where in script:
        if action.startswith("abort"):
            enc.abort(int(action[-1]))
            tenc.abort(int(action[-1]))
        line, tline = enc.process(n), tenc.process(n)
        np.testing.assert_array_equal(line, tline)
        assert [enc.pending(c) for c in range(2)] == [tenc.pending(c) for c in range(2)]
        if action == "flip":
            line[where % 2, where % n] ^= 1 << (where % 8)
        assert dec.process(line) == tdec.process(line)


@given(st.binary(min_size=1, max_size=400), st.integers(1, 4))
def test_garbage_native_equals_twin(data, channels):
    block = np.frombuffer(data * channels, np.uint8).reshape(channels, -1)
    dec, tdec = hdlc.HdlcDecoder(channels, max_frame=30), twin.HdlcDecoder(channels, max_frame=30)
    assert dec.process(block) == tdec.process(block)


def test_idle_line_is_flags_and_gives_no_events():
    enc, dec = hdlc.HdlcEncoder(2), hdlc.HdlcDecoder(2)
    line = enc.process(50)
    assert (line == 0x7E).all()
    assert dec.process(line) == []
    assert dec.process(np.full((2, 50), 0xFF, np.uint8)) == []  # all ones after flags: nothing started


def test_back_to_back_frames_share_one_flag():
    enc = hdlc.HdlcEncoder(1)
    enc.send(0, b"\x01\x02\x03")
    enc.send(0, b"\x04\x05\x06")
    bits = twin.octets_to_bits(enc.process(20)[0].tobytes())
    one = twin.stuffed_frame_bits(b"\x01\x02\x03")
    two = twin.stuffed_frame_bits(b"\x04\x05\x06")
    assert bits[:len(FLAG + one + FLAG + two + FLAG)] == FLAG + one + FLAG + two + FLAG


@pytest.mark.parametrize("between", [FLAG, FLAG + FLAG, FLAG[:-1] + FLAG])  # one, two, shared-zero flags
def test_decoder_splits_frames_on_any_flag_run(between):
    one, two = twin.stuffed_frame_bits(b"\xAA\xBB\xCC"), twin.stuffed_frame_bits(b"\x7E\x7E\x7E")
    events = hdlc.HdlcDecoder(1).process(_line(FLAG, one, between, two, FLAG))
    assert events == [(hdlc.FRAME, 0, b"\xAA\xBB\xCC"), (hdlc.FRAME, 0, b"\x7E\x7E\x7E")]


def test_frame_fed_one_octet_at_a_time():
    line = _line(FLAG, twin.stuffed_frame_bits(b"\xFF" * 20), FLAG)
    dec = hdlc.HdlcDecoder(1)
    events = [e for octet in line for e in dec.process(np.array([octet], np.uint8))]
    assert events == [(hdlc.FRAME, 0, b"\xFF" * 20)]


def test_every_single_bit_error_is_caught_and_the_next_frame_survives():
    bad_frame, good_frame = b"\x02\x01\x7F\xFF\x1F\x55", b"\x03\x73"
    stuffed = twin.stuffed_frame_bits(bad_frame)
    for pos in range(len(stuffed)):
        damaged = list(stuffed)
        damaged[pos] ^= 1
        events = hdlc.HdlcDecoder(1).process(_line(FLAG, damaged, FLAG, twin.stuffed_frame_bits(good_frame), FLAG))
        assert events[-1] == (hdlc.FRAME, 0, good_frame), (pos, events)
        assert {e.kind for e in events[:-1]} <= {hdlc.BAD_FCS, hdlc.ABORT, hdlc.SHORT}, (pos, events)
        assert events[:-1], pos  # the damaged frame was reported, not silently passed or dropped


def test_bad_fcs_event():
    bits = twin.stuffed_frame_bits(b"\x10\x20\x30")
    bits[3] ^= 1
    assert hdlc.HdlcDecoder(1).process(_line(FLAG, bits, FLAG)) == [(hdlc.BAD_FCS, 0, None)]


def test_encoder_abort_reaches_the_decoder_and_the_next_frame_follows():
    enc, dec = hdlc.HdlcEncoder(1), hdlc.HdlcDecoder(1)
    enc.send(0, b"\x55" * 30)
    enc.send(0, b"after")
    events = dec.process(enc.process(10))
    assert enc.pending(0) == 2
    enc.abort(0)
    assert enc.pending(0) == 1
    events += _run(enc, dec, [10, 10, 10])
    assert events == [(hdlc.ABORT, 0, None), (hdlc.FRAME, 0, b"after")]


def test_seven_ones_abort_a_frame():
    events = hdlc.HdlcDecoder(1).process(_line(FLAG, [0, 1, 0, 0, 1, 0, 1, 0, 0] + [1] * 7, FLAG))
    assert events == [(hdlc.ABORT, 0, None)]


def test_overrun_then_recovery():
    dec = hdlc.HdlcDecoder(1, max_frame=12)
    fits, too_long = b"\x01" * 10, b"\x01" * 11  # 10 + 2 FCS octets is the limit
    line = _line(FLAG, twin.stuffed_frame_bits(too_long), FLAG, twin.stuffed_frame_bits(fits), FLAG)
    assert dec.process(line) == [(hdlc.OVERRUN, 0, None), (hdlc.FRAME, 0, fits)]


def test_default_max_frame_takes_1024_octets_of_payload():
    enc, dec = hdlc.HdlcEncoder(1), hdlc.HdlcDecoder(1)
    enc.send(0, bytes(range(256)) * 4)
    enc.send(0, bytes(1025))
    events = _run(enc, dec, [160] * 20)
    assert events == [(hdlc.FRAME, 0, bytes(range(256)) * 4), (hdlc.OVERRUN, 0, None)]


def test_too_short_frame():
    short = twin.octets_to_bits(b"\x01\x02")  # 16 bits between flags
    assert hdlc.HdlcDecoder(1).process(_line(FLAG, short, FLAG)) == [(hdlc.SHORT, 0, None)]


def test_one_channel_accepts_a_1d_block():
    enc, dec = hdlc.HdlcEncoder(1), hdlc.HdlcDecoder(1)
    enc.send(0, bytearray(b"xyz"))
    assert dec.process(enc.process(12)[0]) == [(hdlc.FRAME, 0, b"xyz")]


def test_out_buffer():
    enc = hdlc.HdlcEncoder(2)
    out = np.zeros((2, 5), np.uint8)
    assert enc.process(5, out=out) is out and (out == 0x7E).all()
    with pytest.raises(ValueError):
        enc.process(4, out=out)
    with pytest.raises(TypeError):
        enc.process(5, out=np.zeros((2, 5), np.int16))


@pytest.mark.parametrize("call, error", [
    (lambda e, d: e.send(2, b"ab"), ValueError),
    (lambda e, d: e.send(-1, b"ab"), ValueError),
    (lambda e, d: e.send(0, b""), ValueError),
    (lambda e, d: e.send(0, "text"), TypeError),
    (lambda e, d: e.send(0, [1, 2]), TypeError),
    (lambda e, d: e.send(0, np.zeros(3, np.int16)), TypeError),
    (lambda e, d: e.send(0.5, b"ab"), TypeError),
    (lambda e, d: e.send(0, bytes(70000)), ValueError),
    (lambda e, d: e.abort(5), ValueError),
    (lambda e, d: e.process(-1), ValueError),
    (lambda e, d: e.process(2.0), TypeError),
    (lambda e, d: d.process(np.zeros((3, 4), np.uint8)), ValueError),
    (lambda e, d: d.process(np.zeros((2, 4), np.int16)), TypeError),
    (lambda e, d: d.process(np.zeros((2, 2, 2), np.uint8)), ValueError),
    (lambda e, d: d.process(np.zeros((2, 0), np.uint8)), ValueError),
    (lambda e, d: d.process([[1], [2]]), TypeError),
    (lambda e, d: d.process(np.array([[np.nan], [1.0]])), TypeError),
    (lambda e, d: hdlc.HdlcDecoder(0), ValueError),
    (lambda e, d: hdlc.HdlcDecoder(1, max_frame=3, min_frame=4), ValueError),
    (lambda e, d: hdlc.HdlcEncoder("2"), TypeError),
    (lambda e, d: hdlc.fcs16("abc"), TypeError),
])
def test_bad_input_raises(call, error):
    with pytest.raises(error):
        call(hdlc.HdlcEncoder(2), hdlc.HdlcDecoder(2))


@pytest.fixture(scope="module")
def spandsp_hdlc():
    """spandsp's HDLC transmitter/receiver (peers/spandsp_hdlc.py), or skip when not installed."""
    from peers import PeerUnavailable
    from peers import spandsp_hdlc as peer

    try:
        peer.load()
    except PeerUnavailable as exc:
        pytest.skip(str(exc))
    return peer


FRAMES = [b"\x02\x01\x7F", b"\x7E" * 40, b"\xFF" * 33, bytes(range(256)), b"\x1F\xF8" * 100]


def test_spandsp_receives_what_we_send(spandsp_hdlc):
    enc, rx = hdlc.HdlcEncoder(2), spandsp_hdlc.Receiver(2)
    for frame in FRAMES:
        enc.send(1, frame)
    for _ in range(20):
        rx.process(enc.process(160))
    assert rx.frames(1) == FRAMES and rx.counts(1) == (len(FRAMES), 0)
    assert rx.frames(0) == []


def test_we_receive_what_spandsp_sends(spandsp_hdlc):
    tx, dec = spandsp_hdlc.Transmitter(1), hdlc.HdlcDecoder(1)
    events, queued = [], list(FRAMES)
    for _ in range(400):  # about 2 s of line time, far more than the frames need
        if not queued and len(events) >= len(FRAMES):
            break
        if queued and tx.send(0, queued[0]) == 0:  # spandsp holds one frame at a time
            queued.pop(0)
        events += dec.process(tx.process(np.empty((1, 40), np.uint8)))
        assert len(events) <= len(FRAMES)
    assert events == [(hdlc.FRAME, 0, f) for f in FRAMES]


@pytest.mark.fuzz
def test_fuzz_long_traffic_native_equals_twin():
    """About 30 s of line time with random frames, aborts and bit errors: native and twin never diverge."""
    rng = np.random.default_rng(2024)
    channels = 3
    enc, tenc = hdlc.HdlcEncoder(channels), twin.HdlcEncoder(channels)
    dec, tdec = hdlc.HdlcDecoder(channels, max_frame=64), twin.HdlcDecoder(channels, max_frame=64)
    for _ in range(3000):
        for c in range(channels):
            if rng.random() < 0.3:
                frame = rng.choice([0x7E, 0xFF, 0x1F, 0x00, int(rng.integers(256))], size=int(rng.integers(1, 80)))
                enc.send(c, frame.astype(np.uint8))
                tenc.send(c, frame.astype(np.uint8).tobytes())
            if rng.random() < 0.02:
                enc.abort(c)
                tenc.abort(c)
        n = int(rng.integers(1, 161))
        line = enc.process(n)
        np.testing.assert_array_equal(line, tenc.process(n))
        if rng.random() < 0.1:
            line[rng.integers(channels), rng.integers(n)] ^= np.uint8(1 << int(rng.integers(8)))
        assert dec.process(line) == tdec.process(line)
