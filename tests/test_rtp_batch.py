"""The native RTP send path (pycallcenter._native.rtp) against its twins in pycallcenter.media.rtp_batch."""
import socket

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pycallcenter.media import rtp, rtp_batch


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 40), st.sampled_from([0, 80, 160, 320]), st.data())
def test_pack_equals_its_twin(nrows, size, data):
    seed = data.draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    codes = rng.integers(0, 256, (nrows, size), dtype=np.uint8)
    n = data.draw(st.integers(0, nrows))
    rows = rng.permutation(nrows)[:n]
    second = rng.integers(0, 256, n)
    seq = rng.integers(0, 1 << 16, n)
    ts = rng.integers(0, 1 << 32, n, dtype=np.uint64)
    ssrc = rng.integers(0, 1 << 32, n, dtype=np.uint64)
    native = rtp_batch.pack(codes, rows, second, seq, ts, ssrc)
    twin = rtp_batch.pack_reference(codes, rows, second, seq, ts, ssrc)
    assert native.shape == twin.shape == (n, size + 12)
    assert np.array_equal(native, twin)


def test_packed_header_parses_back():
    codes = np.arange(2 * 160, dtype=np.uint8).reshape(2, 160) % 251
    packet = rtp_batch.pack(codes, [1], [0x80 | 8], [0xFFFF], [0xFFFFFFFF], [0x12345678])[0].tobytes()
    p = rtp.parse_rtp(packet)
    assert (p.payload_type, p.marker, p.sequence, p.timestamp, p.ssrc) == (8, True, 0xFFFF, 0xFFFFFFFF, 0x12345678)
    assert p.payload == codes[1].tobytes()


def test_pack_rejects_a_row_outside_the_codes():
    with pytest.raises(IndexError, match="row 3"):
        rtp_batch.pack(np.zeros((3, 160), np.uint8), [3], [0], [0], [0], [0])


def _pair(n):
    senders = [socket.socket(socket.AF_INET, socket.SOCK_DGRAM) for _ in range(n)]
    receivers = [socket.socket(socket.AF_INET, socket.SOCK_DGRAM) for _ in range(n)]
    for s in senders + receivers:
        s.bind(("127.0.0.1", 0))
        s.settimeout(2)
    return senders, receivers


def _drain(receivers):
    return [s.recvfrom(2048) for s in receivers]


def test_send_delivers_what_its_twin_delivers():
    senders, receivers = _pair(5)
    try:
        rng = np.random.default_rng(7)
        packets = rng.integers(0, 256, (5, 172), dtype=np.uint8)
        addrs = [s.getsockname() for s in receivers]
        hosts = [rtp_batch.ipv4(a[0]) for a in addrs]
        result = rtp_batch.send([s.fileno() for s in senders], hosts, [a[1] for a in addrs], packets)
        native = _drain(receivers)
        twin_result = rtp_batch.send_reference(senders, addrs, packets)
        twin = _drain(receivers)
        assert result.tolist() == twin_result.tolist() == [172] * 5
        assert native == twin  # the same bytes, from the same source ports
        assert [d for d, _ in native] == [p.tobytes() for p in packets]
        assert [src for _, src in native] == [s.getsockname() for s in senders]
    finally:
        for s in senders + receivers:
            s.close()


def test_send_reports_errors_as_negative_errno():
    senders, receivers = _pair(1)
    try:
        fd = senders[0].fileno()
        senders[0].close()  # a closed descriptor: EBADF, reported, never raised
        result = rtp_batch.send([fd], [rtp_batch.ipv4("127.0.0.1")], [9], np.zeros((1, 20), np.uint8))
        assert result[0] < 0
    finally:
        receivers[0].close()


def test_ipv4_only_for_numeric_ipv4():
    assert rtp_batch.ipv4("127.0.0.1") == 0x7F000001
    assert rtp_batch.ipv4("::1") is None
    assert rtp_batch.ipv4("localhost") is None
