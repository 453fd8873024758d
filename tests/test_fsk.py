"""FSK caller ID modem: native vs twin, line-model round trips, spandsp ADSI as the judge, bad input."""
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from pycallcenter.dsp import fsk
from pycallcenter.dsp.callerid import CallerId, frame
from pycallcenter.dsp.reference import fsk as ref

SPANDSP_STANDARD = {"bell202": 1, "v23": 2}  # ADSI_STANDARD_CLASS, ADSI_STANDARD_CLIP
standards = st.sampled_from(["bell202", "v23"])
messages = st.builds(frame, st.sampled_from([0x04, 0x06, 0x80, 0x82]), st.binary(min_size=1, max_size=60))


def line(x, snr_db, seed, lead=0, tail=400, law=None):
    """Return x after a noisy line: white noise snr_db below the signal's power, silence around it, G.711."""
    rng = np.random.default_rng(seed)
    x = np.concatenate([np.zeros(lead), x.astype(np.float64), np.zeros(tail)])
    power = np.mean(x[x != 0] ** 2)
    noisy = x + rng.normal(0.0, np.sqrt(power / 10 ** (snr_db / 10)), x.size)
    y = np.clip(np.rint(noisy), -32768, 32767).astype(np.int16)
    if law is not None:
        from pycallcenter.dsp import g711

        y = getattr(g711, f"{law}_decode")(getattr(g711, f"{law}_encode")(y))
    return y


def send(message, standard, level=-13.0, offset=1.0, baud=1200, backend="native"):
    """Return one channel's samples of message sent with both tones scaled by offset and the given baud."""
    mark, space = ref.STANDARDS[standard]
    tx = fsk.FskTransmitter(1, standard, level, mark_hz=mark * offset, space_hz=space * offset, baud=baud,
                            backend=backend)
    tx.put(0, message)
    return tx.process(tx.pending_samples(0))[0]


def receive(x, standard, tick=160, backend="native"):
    """Return the events of one receiver fed x in ticks."""
    rx = fsk.FskReceiver(1, standard, backend=backend)
    events = []
    for i in range(0, len(x), tick):
        events += rx.process(x[i:i + tick])
    return events


@given(standards, messages, st.floats(-40, -10), st.sampled_from([0.99, 1.0, 1.01]),
       st.integers(1188, 1212), st.integers(0, 2**32 - 1), st.integers(0, 999), st.sampled_from([None, "ulaw", "alaw"]))
def test_line_model_round_trip(standard, message, level, offset, baud, seed, lead, law):
    """Noise 20 dB below the signal, -40..-10 dBm0, both tones +-1%, bit rate +-1% (tens of samples of drift
    per message), G.711."""
    x = line(send(message, standard, level, offset, baud), 20.0, seed, lead, law=law)
    events = receive(x, standard)
    assert [(e.data, e.error is None or "checksum" not in e.error) for e in events] == [(message, True)]
    assert events[0].channel == 0


@pytest.mark.parametrize("standard", ["bell202", "v23"])
def test_sensitivity_and_noise_margin(standard):
    msg = CallerId(number="01234567890", name="SENSITIVITY", datetime=(6, 7, 8, 9)).to_mdmf()
    for seed, (level, snr) in enumerate([(-40, 15), (-45, 20), (-10, 15), (3, 30)]):
        events = receive(line(send(msg, standard, level, 1.01, 1212), snr, seed, 77), standard, tick=97)
        assert [e.data for e in events if e.ok] == [msg], (level, snr)
    quiet = receive(line(send(msg, standard, -52.0), 30, 9), standard)
    assert quiet == []  # below the -46 dBm0 carrier detect


def test_channels_are_independent_and_staggered():
    rng = np.random.default_rng(7)
    n = 9
    msgs = [CallerId(number=str(rng.integers(10**9)), name=f"CH {c}", datetime=(1, 2, 3, c)).to_mdmf()
            for c in range(n)]
    tx = fsk.FskTransmitter(n, "v23", -20.0)
    starts = rng.integers(0, 2000, n) // 160
    expected_end = np.zeros(n, np.int64)
    out = []
    for t in range(60):
        for c in range(n):
            if starts[c] == t:
                tx.put(c, msgs[c])
                expected_end[c] = t * 160 + tx.pending_samples(c)
        out.append(tx.process(160))
    x = np.concatenate(out, axis=1)
    x = (x + rng.normal(0, 40, x.shape)).astype(np.int16)
    rx = fsk.FskReceiver(n, "v23")
    got = {}
    for t in range(60):
        for e in rx.process(x[:, t * 160:(t + 1) * 160]):
            assert e.ok and e.channel not in got
            got[e.channel] = (e.callerid, t * 160 + e.sample)
    assert sorted(got) == list(range(n))
    for c in range(n):
        assert got[c][0] == CallerId.parse(msgs[c])
    # each message ends where its channel's transmission ends (less the postamble), whatever its start
    lag = np.array([got[c][1] for c in range(n)]) - expected_end
    assert np.ptp(lag) <= 2 and -80 < lag.min() < 0


@given(st.integers(1, 4), standards, st.lists(st.integers(1, 400), min_size=1, max_size=6), st.data())
def test_twin_matches_native_transmitter(channels, standard, sizes, data):
    txs = [fsk.FskTransmitter(channels, standard, backend=b) for b in ("native", "reference")]
    for c in range(channels):
        level = data.draw(st.floats(-50, 3))
        msg = data.draw(st.one_of(st.none(), messages))
        bits = data.draw(st.tuples(st.integers(0, 40), st.integers(0, 40)))
        for tx in txs:
            tx.set_level(c, level)
            if msg is not None:
                tx.put(c, msg, seizure_bits=bits[0], mark_bits=bits[1])
    for n in sizes:
        a, b = (tx.process(n) for tx in txs)
        assert np.array_equal(a, b)
    assert [txs[0].pending_samples(c) for c in range(channels)] == [txs[1].pending_samples(c) for c in range(channels)]


@given(st.integers(1, 3), standards, st.lists(st.integers(1, 500), min_size=1, max_size=12),
       st.integers(0, 2**32 - 1), st.sampled_from(["messages", "noise", "edges"]))
def test_twin_matches_native_receiver(channels, standard, sizes, seed, kind):
    rng = np.random.default_rng(seed)
    total = sum(sizes)
    if kind == "messages":
        tx = fsk.FskTransmitter(channels, standard, -25.0)
        for c in range(channels):
            tx.put(c, frame(0x80, rng.bytes(int(rng.integers(1, 8)))), seizure_bits=int(rng.integers(0, 20)),
                   mark_bits=int(rng.integers(10, 30)))
        x = tx.process(total) + rng.normal(0, 300, (channels, total)).astype(np.int16)
    elif kind == "noise":
        x = rng.integers(-32768, 32768, (channels, total)).astype(np.int16)
    else:
        x = rng.choice(np.array([-32768, 32767, 0, -1, 1], np.int16), (channels, total))
    rxs = [fsk.FskReceiver(channels, standard, backend=b) for b in ("native", "reference")]
    pos = 0
    for n in sizes:
        a, b = (rx.process(x[:, pos:pos + n]) for rx in rxs)
        assert a == b
        pos += n
    for key in ("count", "ring", "pring", "sums", "psum", "qhist", "uart"):
        assert np.array_equal(rxs[0]._state[key], rxs[1]._state[key]), key


@pytest.mark.parametrize("standard", ["bell202", "v23"])
@pytest.mark.parametrize("callerid", [
    CallerId(number="0123456789", name="JOHN DOE", datetime=(11, 22, 21, 30)),
    CallerId(number_absent_reason="P", name_absent_reason="O", datetime=(1, 1, 0, 0)),
    CallerId(message_waiting=True),
])
def test_spandsp_transmitter_to_our_receiver(spandsp, standard, callerid):
    for message in (callerid.to_mdmf(), callerid.to_sdmf() if callerid.datetime or callerid.message_waiting else None):
        if message is None:
            continue
        # spandsp's adsi_tx appends the checksum itself
        x = spandsp.adsi_transmit(message[:-1], SPANDSP_STANDARD[standard])
        events = receive(x, standard)
        assert [(e.data, e.callerid) for e in events] == [(message, CallerId.parse(message))]
        noisy = receive(line(x[np.flatnonzero(x)[0]:], 20.0, 3, lead=321), standard, tick=61)
        assert [e.data for e in noisy] == [message]
        faint = np.rint(x * 10 ** (-26 / 20)).astype(np.int16)  # about -40 dBm0, below spandsp's own receiver
        assert [e.data for e in receive(faint, standard)] == [message]


@given(standards, messages, st.floats(-25, 0))  # spandsp's adsi_rx stops hearing at about -29 dBm0
def test_our_transmitter_to_spandsp_receiver(spandsp, standard, message, level):
    x = np.concatenate([send(message, standard, level), np.zeros(800, np.int16)])
    # spandsp's adsi_rx hands over the message without its checksum byte, once the checksum verifies
    assert spandsp.adsi_receive(x, SPANDSP_STANDARD[standard]) == [message[:-1]]


@pytest.mark.parametrize("backend", ["native", "reference"])
def test_carrier_loss_framing_and_idle(backend):
    msg = CallerId(number="5551212", datetime=(5, 6, 7, 8)).to_mdmf()
    x = send(msg, "bell202")
    cut = len(x) - 10 * 67  # drop the last bytes: the carrier stops mid-message
    events = receive(np.concatenate([x[:cut], np.zeros(200, np.int16)]), "bell202", backend=backend)
    # the fading carrier reads as space, so the cut byte may end in a framing error before the carrier is lost
    assert len(events) == 1 and events[0].error in fsk.STATUS_TEXT.values() and msg.startswith(events[0].data)
    assert len(events[0].data) >= len(msg) - 10
    bad = bytearray(msg)
    bad[-1] ^= 0x55  # wrong checksum: the frame arrives, the parse names the checksum
    events = receive(send(bytes(bad), "bell202", backend=backend), "bell202", backend=backend)
    assert [e.data for e in events] == [bytes(bad)] and "checksum" in events[0].error and events[0].callerid is None
    noise = line(np.full(8000, 1000, np.int16), 0.0, 1)
    assert receive(noise, "bell202", backend=backend) == []


@pytest.mark.parametrize("standard", ["bell202", "v23"])
def test_short_preambles_cancel_and_reset(standard):
    msg = CallerId(message_waiting=True).to_mdmf()
    tx = fsk.FskTransmitter(2, standard)
    tx.put(0, msg, seizure_bits=0, mark_bits=55)  # no seizure, the shortest EN 300 659-1 mark (80 - 25 bits)
    tx.put(1, msg)
    x = tx.process(400)
    tx.cancel(1)
    assert tx.pending_samples(1) == 0
    x = np.concatenate([x, tx.process(tx.pending_samples(0) + 100)], axis=1)
    assert not x[1, 400:].any()
    rx = fsk.FskReceiver(2, standard)
    assert [(e.channel, e.callerid) for e in rx.process(x)] == [(0, CallerId(message_waiting=True))]
    rx.process(x[:, :-200])  # a second copy, cut off before its end, then a new call on channel 0
    rx.reset(0)
    fresh = fsk.FskReceiver(2, standard)
    assert all(np.array_equal(rx._state[k][0], fresh._state[k][0]) for k in rx._state)
    assert [e.data for e in rx.process(x[:, -200:])] == []  # without the reset the checksum would arrive here
    with pytest.raises(ValueError):
        rx.reset(2)
    with pytest.raises(ValueError):
        tx.cancel(-1)


def test_framing_error_reported():
    msg = frame(0x80, b"\x02\x0512345")
    bits = ref.frame_bits(msg, 0, 40)
    bits[40 + 3 * 10 + 9] = 0  # the fourth byte's stop bit
    tx = fsk.FskTransmitter(1, "v23")
    tx.put_bits(0, bits)
    events = receive(tx.process(tx.pending_samples(0)), "v23")
    assert events and events[0].error.startswith("framing error") and events[0].data == msg[:3]


@pytest.mark.parametrize("backend", ["native", "reference"])
def test_carrier_lost_while_idle_mid_message(backend):
    msg = frame(0x80, b"\x02\x0512345")
    tx = fsk.FskTransmitter(1, "bell202", backend=backend)
    tx.put_bits(0, ref.frame_bits(msg, 10, 40)[:50 + 5 * 10])  # five bytes,
    tx.put_bits(0, np.ones(20, np.uint8))  # an idle mark, then the carrier stops
    x = np.concatenate([tx.process(tx.pending_samples(0)), np.zeros((1, 100), np.int16)], axis=1)
    events = receive(x[0], "bell202", backend=backend)
    assert [(e.error, e.data) for e in events] == [("carrier lost", msg[:5])]


def test_modulator_is_phase_continuous_with_the_right_level_and_timing():
    msg = frame(0x80, bytes(range(40)))
    tx = fsk.FskTransmitter(2, "bell202", -13.0)
    tx.set_level(1, 0.0)
    for c in range(2):
        tx.put(c, msg)
    need = tx.pending_samples(0)
    nbits = 300 + 180 + 10 * len(msg) + 8
    assert need == -(-nbits * 8000 // 1200)
    assert list(tx.pending_samples()) == [need, need]
    x = np.concatenate([tx.process(n) for n in (1, 159, 77, need)], axis=1).astype(np.float64)
    assert not x[:, need:].any() and x[:, need - 1].any()
    amp = fsk.dbm0_to_amplitude(0.0)
    assert abs(amp - 32767 * 10 ** (-3.14 / 20)) < 1e-9
    rms_db = 10 * np.log10(np.mean(x[:, :need] ** 2, axis=1) / (amp * amp / 2))
    assert np.allclose(rms_db, [-13.0, 0.0], atol=0.05)
    # a phase jump would show as a step larger than the steepest slope of a 2200 Hz sine
    steps = np.abs(np.diff(x[1, :need]))
    assert steps.max() <= amp * 2 * np.pi * 2200 / 8000 * 1.01


def test_bad_arguments():
    rx = fsk.FskReceiver(2, "v23")
    with pytest.raises(TypeError):
        rx.process(np.zeros((2, 160)))
    with pytest.raises(TypeError):
        rx.process([0] * 160)
    with pytest.raises(ValueError):
        rx.process(np.zeros((3, 160), np.int16))
    with pytest.raises(ValueError):
        rx.process(np.zeros((2, 0), np.int16))
    with pytest.raises(ValueError):
        rx.process(np.zeros((2, 2, 2), np.int16))
    for bad in ({"standard": "bell103"}, {"backend": "gpu"}, {"channels": 0}):
        with pytest.raises(ValueError):
            fsk.FskReceiver(**{"channels": 1, **bad})
        with pytest.raises(ValueError):
            fsk.FskTransmitter(**{"channels": 1, **bad})
    tx = fsk.FskTransmitter(2)
    for call in (lambda: tx.set_level(0, 3.5), lambda: tx.set_level(0, float("nan")), lambda: tx.set_level(2, -10),
                 lambda: tx.process(0), lambda: tx.put(5, b"\x80\x00\x80"), lambda: tx.put(0, b"x", mark_bits=-1),
                 lambda: fsk.FskTransmitter(1, baud=0), lambda: fsk.FskTransmitter(1, mark_hz=5000)):
        with pytest.raises(ValueError):
            call()
    for bits in ([0, 2], [[0, 1]], [0.5]):
        with pytest.raises(ValueError):
            tx.put_bits(0, bits)
    with pytest.raises(TypeError):
        tx.put(0, "text")
    with pytest.raises(TypeError):
        tx.put(0, b"")


@pytest.mark.fuzz
@given(st.binary(min_size=2, max_size=4000), standards, st.integers(1, 400))
def test_fuzz_arbitrary_audio_native_matches_twin(raw, standard, tick):
    x = np.frombuffer(raw[: len(raw) // 2 * 2], np.int16)
    rxs = [fsk.FskReceiver(1, standard, threshold_dbm0=-60.0, backend=b) for b in ("native", "reference")]
    for i in range(0, x.size, tick):
        a, b = (rx.process(x[i:i + tick]) for rx in rxs)
        assert a == b
        assert all(e.ok == (e.callerid is not None) for e in a)


@pytest.mark.parametrize("backend", ["native", "reference"])
@pytest.mark.parametrize("idle", [0, 8])  # mu-law's and A-law's idle code, decoded
def test_rows_feed_only_the_listening_channels_and_decode_as_if_fed_all_along(backend, idle):
    """A listener fed only the rows it cares about (the ringing phones) gets the same messages as one fed every
    row, and the rows it fed end in the same state, when a row left out was idle for 4 ms before it is fed."""
    tick, ticks = 160, 40
    rng = np.random.default_rng(5)
    x = np.full((3, tick * ticks), idle, np.int16)
    x[0] = rng.normal(0, 3000, x.shape[1]).astype(np.int16)  # a voice that stops being listened to
    first = send(frame(0x80, b"\x02\x0a0123456789"), "bell202")
    second = send(frame(0x04, b"12010800555"), "bell202")
    x[1, 12 * tick + 37:12 * tick + 37 + first.size] = first  # after the row was left out for 12 ticks
    x[2, 3 * tick:3 * tick + second.size] = second
    listening = lambda t: [r for r in range(3) if (r == 0 and t < 20) or (r == 1 and t >= 11) or r == 2]
    full, part = (fsk.FskReceiver(3, "bell202", backend=backend) for _ in range(2))
    got_full, got_part = [], []
    for t in range(ticks):
        block = x[:, t * tick:(t + 1) * tick]
        rows = listening(t)
        got_full += [(e.channel, e.sample, e.data) for e in full.process(block) if e.channel in rows]
        got_part += [(e.channel, e.sample, e.data) for e in part.process(block[rows], rows=rows)]
    assert sorted(c for c, _, _ in got_part if c) == [1, 2]
    assert [e for e in got_part if e[0]] == [e for e in got_full if e[0]]
    for key in ("count", "ring", "pring", "sums", "psum", "qhist", "uart"):
        assert np.array_equal(full._state[key][1:], part._state[key][1:]), key
    assert np.array_equal(full._state["count"], part._state["count"])  # the left-out row's clock ran on


def test_rows_must_be_ascending_channels():
    rx = fsk.FskReceiver(3, "v23")
    for rows in ([1, 0], [0, 3], [-1], [1, 1]):
        with pytest.raises(ValueError):
            rx.process(np.zeros((len(rows), 160), np.int16), rows=rows)
    with pytest.raises(ValueError):
        rx.process(np.zeros((2, 160), np.int16), rows=[0])
