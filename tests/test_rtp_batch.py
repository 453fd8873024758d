"""The native RTP send path (pycallcenter._native.rtp.send_rows) against its twin in pycallcenter.media.rtp_batch:
the same packets, from the same sockets, and the same state left in the rows' arrays."""
import copy
import socket

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from pycallcenter.media import rtp, rtp_batch as rb


def _pair(n):
    senders = [socket.socket(socket.AF_INET, socket.SOCK_DGRAM) for _ in range(n)]
    receivers = [socket.socket(socket.AF_INET, socket.SOCK_DGRAM) for _ in range(n)]
    for s in senders + receivers:
        s.bind(("127.0.0.1", 0))
        s.settimeout(2)
    return senders, receivers


def _arrays(rng, senders, receivers, size):
    a = rb.SendArrays(len(senders), size)
    for i, (s, r) in enumerate(zip(senders, receivers)):
        a.tx[i] = (rng.random() < 0.7, s.fileno(), 0x7F000001, r.getsockname()[1], rng.integers(0, 128),
                   rng.random() < 0.3, rng.choice([0xFFFF, rng.integers(0, 1 << 16)]),
                   rng.choice([0xFFFFFFFF - size + 1, rng.integers(0, 1 << 32)]), rng.integers(0, 1 << 32), 0, 0, 0)
    return a


@settings(max_examples=30, deadline=None)
@given(st.integers(1, 6), st.sampled_from([0, 80, 160, 320]), st.integers(0, 2**32 - 1), st.sampled_from([1, 2, 4]))
def test_send_rows_sends_and_steps_what_its_twin_does(nrows, size, seed, frames):
    """frames: packets of size octets a row sends per call (an 80 ms tick of 20 ms packets sends four)."""
    rng = np.random.default_rng(seed)
    senders, receivers = _pair(nrows)
    frames = frames if size else 1
    try:
        codes = rng.integers(0, 256, (nrows, frames * size), dtype=np.uint8)
        a = _arrays(rng, senders, receivers, size)
        twin = copy.deepcopy(a)
        first = a.tx.copy()
        sending = np.flatnonzero(a.tx[:, rb.TX_NATIVE]).tolist()
        assert rb.send_rows(codes, a) == frames * len(sending)
        native = [[receivers[i].recvfrom(2048) for _ in range(frames)] for i in sending]
        assert rb.send_rows_reference(codes, twin, {s.fileno(): s for s in senders}) == frames * len(sending)
        reference = [[receivers[i].recvfrom(2048) for _ in range(frames)] for i in sending]
        assert native == reference  # the same bytes, from the same source ports
        assert np.array_equal(a.tx, twin.tx)
        assert np.array_equal(a.packets[sending], twin.packets[sending])
        for i, got in zip(sending, native):
            for f, (data, src) in enumerate(got):
                p = rtp.parse_rtp(data)
                assert src == senders[i].getsockname()
                assert p.payload == codes[i, f * size:(f + 1) * size].tobytes()
                assert p.sequence == (first[i, rb.TX_SEQ] + f) & 0xFFFF
                assert p.timestamp == (first[i, rb.TX_TS] + f * size) & 0xFFFFFFFF
                assert p.marker == bool(first[i, rb.TX_MARKER] and f == 0)
            assert (p.sequence + 1) & 0xFFFF == a.tx[i, rb.TX_SEQ]
            assert (p.timestamp + size) & 0xFFFFFFFF == a.tx[i, rb.TX_TS]
            assert a.tx[i, rb.TX_MARKER] == 0 and a.tx[i, rb.TX_PACKETS] == frames
            assert a.tx[i, rb.TX_BYTES] == frames * (size + 12)
    finally:
        for s in senders + receivers:
            s.close()


def test_send_rows_counts_a_failed_send_and_steps_on():
    senders, receivers = _pair(1)
    try:
        a = rb.SendArrays(1, 20)
        a.tx[0] = (1, senders[0].fileno(), 0x7F000001, 9, 0, 1, 0xFFFF, 5, 7, 0, 0, 0)
        senders[0].close()  # a closed descriptor: EBADF, counted, never raised
        assert rb.send_rows(np.zeros((1, 20), np.uint8), a) == 1
        assert a.tx[0, rb.TX_ERRORS] == 1 and a.tx[0, rb.TX_PACKETS] == 0
        assert (a.tx[0, rb.TX_SEQ], a.tx[0, rb.TX_TS], a.tx[0, rb.TX_MARKER]) == (0, 25, 0)
    finally:
        receivers[0].close()


def test_ipv4_only_for_numeric_ipv4():
    assert rb.ipv4("127.0.0.1") == 0x7F000001
    assert rb.ipv4("::1") is None
    assert rb.ipv4("localhost") is None


def test_a_row_moving_between_the_native_and_python_send_paths_keeps_its_stream():
    """Sequence numbers, timestamps, marker and counters run on across a digit (Python path) and back."""
    from pycallcenter.media.endpoint import PacketMedia

    far = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    far.bind(("127.0.0.1", 0))
    far.settimeout(2)
    pm = PacketMedia(0, [1], 160, ports=(27000, 27009))
    try:
        _, row = pm.allocate()
        pm.open(row, remote=far.getsockname(), payload_type=0, law="ulaw")
        block = np.full((1, 160), 1000, np.int16)
        natives = []
        for k in range(40):
            if k == 10:
                pm.send_digit(row, "5", duration_ms=60)
            pm.transmit(block, 160 * (k + 1))
            natives.append(pm._rows[row].tx_native)
        packets = []
        while True:
            data = far.recv(2048)
            if 192 <= data[1] <= 223:  # RTCP
                continue
            packets.append(rtp.parse_rtp(data))
            if len(packets) == 40:
                break
        assert natives[0] and not natives[10] and natives[-1]  # native, Python during the digit, native again
        assert [p.sequence for p in packets] == [(packets[0].sequence + k) & 0xFFFF for k in range(40)]
        audio = [p for p in packets if p.payload_type == 0]
        events = [p for p in packets if p.payload_type == 101]
        assert len(events) == 3 + 2 and {p.timestamp for p in events} == {events[0].timestamp}
        assert [p.marker for p in packets] == [k in (0, 10, 15) for k in range(40)]  # spurt, event, spurt again
        steps = [(b.timestamp - a.timestamp) & 0xFFFFFFFF for a, b in zip(audio, audio[1:])]
        assert steps == [160] * 9 + [6 * 160] + [160] * 24  # the digit's five frames between the 10th and 11th
        stats = pm.stats(row)
        assert (stats["packets_out"], stats["events_out"]) == (40, 5)
        assert stats["bytes_out"] == 35 * 172 + 5 * 16
    finally:
        pm.shutdown()
        far.close()


def test_an_80ms_tick_sends_four_20ms_packets_natively_as_python_would():
    """A row with 20 ms packets on an 80 ms tick goes to the send kernel and sends what _send_frame sends."""
    from pycallcenter.media.endpoint import PacketMedia

    fars = [socket.socket(socket.AF_INET, socket.SOCK_DGRAM) for _ in range(2)]
    media = []
    try:
        got = []
        for far, native in zip(fars, (True, False)):
            far.bind(("127.0.0.1", 0))
            far.settimeout(2)
            pm = PacketMedia(0, [1], 640, ports=(27100 + 20 * native, 27119 + 20 * native))
            media.append(pm)
            _, row = pm.allocate()
            pm.open(row, remote=far.getsockname(), payload_type=0, law="ulaw")
            r = pm._rows[row]
            r.seq, r.ts, r.ssrc = 100, 5000, 0x1234  # the same stream at both ends
            block = np.arange(640, dtype=np.int16)[None, :] * 7
            for k in range(3):
                if not native:
                    r.fd = None  # the kernel's condition: without a descriptor the row stays in Python
                pm.transmit(block, 640 * (k + 1))
                assert r.tx_native == native
            packets = []
            while len(packets) < 12:
                data = far.recv(2048)
                if not 192 <= data[1] <= 223:  # not RTCP
                    packets.append(data)
            got.append(packets)
            pm._tx_sync(r)
            assert (r.seq, r.ts, r.stats.packets_out) == (112, 5000 + 12 * 160, 12)
        assert got[0] == got[1]
        assert [rtp.parse_rtp(p).marker for p in got[0]] == [True] + [False] * 11
    finally:
        for pm in media:
            pm.shutdown()
        for far in fars:
            far.close()


def test_rows_sharing_one_socket_send_what_their_twin_sends():
    """The carrier's case: every row sends from one socket (its packets leave in sendmmsg batches of 64) to two
    far ends: the same datagrams in the same order as one sendto each."""
    senders, receivers = _pair(2)
    try:
        rng = np.random.default_rng(7)
        a = rb.SendArrays(70, 160)  # more packets than one batch
        for i in range(70):
            a.tx[i] = (1, senders[0].fileno(), 0x7F000001, receivers[i % 2].getsockname()[1], 0, i % 3 == 0,
                       i, 1000 * i, 0x100 + i, 0, 0, 0)
        twin = copy.deepcopy(a)
        codes = rng.integers(0, 256, (70, 640), dtype=np.uint8)
        assert rb.send_rows(codes, a) == 280
        native = [receivers[0].recvfrom(2048) for _ in range(140)]
        assert rb.send_rows_reference(codes, twin, {senders[0].fileno(): senders[0]}) == 280
        reference = [receivers[0].recvfrom(2048) for _ in range(140)]
        assert native == reference
        assert np.array_equal(a.tx, twin.tx) and np.array_equal(a.packets, twin.packets)
        assert a.tx[:, rb.TX_PACKETS].sum() == 280 and a.tx[:, rb.TX_ERRORS].sum() == 0
    finally:
        for s in senders + receivers:
            s.close()
