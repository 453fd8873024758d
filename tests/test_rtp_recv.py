"""The native RTP receive path (pycallcenter._native.rtp: drain, accept, playout) against its twins in
pycallcenter.media.rtp_batch, and PacketMedia with the path on against the same PacketMedia with it off, on
streams with loss, reordering, duplicates, jitter, talkspurts and a source change."""
import copy
import select
import socket
import struct

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from pycallcenter.media import rtp_batch as rb
from pycallcenter.media.endpoint import MAX_READS, PacketMedia

SIZE = 160


def _arrays(rng, rows, records):
    """Return RecvArrays with a random but self-consistent state per row (as PacketMedia._enter leaves it)."""
    a = rb.RecvArrays(rows, SIZE, records=records)
    a.settings[:] = (8000, 0.02, 0.5, 3.0, 10.0, 50)
    for i in range(rows):
        hi = int(rng.integers(-2, 1 << 20))
        held = int(rng.integers(0, 6))
        a.ints[i, rb.NATIVE] = rng.random() < 0.8
        a.ints[i, rb.SRC_HOST], a.ints[i, rb.SRC_PORT] = 0x7F000001, 4000 + 2 * i
        a.ints[i, rb.PT], a.ints[i, rb.SSRC] = rng.choice([0, 8]), int(rng.integers(0, 1 << 32))
        a.ints[i, rb.HI], a.ints[i, rb.HI_TS], a.ints[i, rb.NEXT] = hi, int(rng.integers(-5, 1 << 40)), hi - held + 1
        a.floats[i, rb.LAST_TRANSIT] = rng.normal(0, 1e6)
        a.floats[i, rb.JITTER_TS] = abs(rng.normal(0, 50))
        a.floats[i, rb.JITTER] = a.floats[i, rb.JITTER_TS] / 8000
        a.floats[i, rb.TARGET] = rng.uniform(0.02, 0.3)
        for which in (0, 1):  # a monotonic deque of transit values with times inside the window
            n = int(rng.integers(1, 8)) if rng.random() < 0.9 else rb.WINDOW_SLOTS - int(rng.integers(0, 2))  # or full
            times = np.sort(rng.uniform(0.0, 9.0, n))
            values = np.sort(rng.normal(0, 0.05, n))
            a.set_deque(i, which, list(zip(times.tolist(), (values if which == 0 else values[::-1]).tolist())))
            head = int(rng.integers(0, rb.WINDOW_SLOTS))  # start anywhere in the ring, so it wraps
            pairs = a.window[i, 2 * rb.WINDOW_SLOTS * which:2 * rb.WINDOW_SLOTS * (which + 1)].reshape(-1, 2)
            pairs[:] = np.roll(pairs, head, axis=0)
            a.ints[i, rb.MIN_HEAD + 2 * which] = head
        a.ring[i] = rng.integers(0, 256, (rb.DEPTH, SIZE), dtype=np.uint8)
        a.map_fd(10 + 2 * i, i)  # the row's RTP socket; 11 + 2 i is its RTCP socket (not mapped)
    return a


MUTATIONS = ["usual"] * 8 + ["size", "pt", "marker", "ssrc", "host", "port", "seq", "ts", "version", "rtcp",
                             "unknown", "error", "oversized"]


@settings(max_examples=150, deadline=None)
@given(st.integers(1, 6), st.integers(0, 2**32 - 1),
       st.lists(st.tuples(st.integers(0, 5), st.sampled_from(MUTATIONS)), max_size=60), st.floats(9.0, 11.0))
def test_accept_equals_its_twin(rows, seed, plan, now):
    rng = np.random.default_rng(seed)
    a = _arrays(rng, rows, records=64)
    seq = {i: int(a.ints[i, rb.HI]) for i in range(rows)}
    ts = {i: int(a.ints[i, rb.HI_TS]) for i in range(rows)}
    for k, (row, what) in enumerate(plan):
        i = row % rows
        seq[i] += 1
        ts[i] += SIZE
        n = {"size": SIZE + 11, "oversized": rb.MAX_DATAGRAM + 1}.get(what, SIZE + 12)
        header = struct.pack("!BBHII", 0x80, int(a.ints[i, rb.PT]) | (0x80 if what == "marker" else 0),
                             (seq[i] + (what == "seq")) & 0xFFFF, (ts[i] + (what == "ts")) & 0xFFFFFFFF,
                             (int(a.ints[i, rb.SSRC]) + (what == "ssrc")) & 0xFFFFFFFF)
        if what == "pt":
            header = header[:1] + bytes([(header[1] + 1) & 0x7F]) + header[2:]
        if what == "version":
            header = b"\x90" + header[1:]
        a.arena[k, :12] = np.frombuffer(header, np.uint8)
        a.arena[k, 12:n] = rng.integers(0, 256, n - 12, dtype=np.uint8)
        a.rec_len[k] = -111 if what == "error" else n
        a.rec_fd[k] = {"rtcp": 11 + 2 * i, "unknown": 5000}.get(what, 10 + 2 * i)
        a.rec_host[k] = 0x7F000001 + (what == "host")
        a.rec_port[k] = a.ints[i, rb.SRC_PORT] + (what == "port")
    twin = copy.deepcopy(a)
    t = now + 0.02 * len(plan)
    native = rb.accept(len(plan), t, a)
    reference = rb.accept_reference(len(plan), t, twin)
    assert native == reference
    for name in ("ints", "floats", "ring", "ring_ts", "ring_at", "window", "exc"):
        assert np.array_equal(getattr(a, name), getattr(twin, name)), name


@settings(max_examples=100, deadline=None)
@given(st.integers(1, 8), st.integers(0, 2**32 - 1), st.floats(0.0, 1000.0), st.sampled_from([1, 2, 4]))
def test_playout_equals_its_twin(rows, seed, now, frames):
    """frames: packets a tick plays per row (an 80 ms tick of 20 ms packets plays four)."""
    rng = np.random.default_rng(seed)
    a = _arrays(rng, rows, records=4)
    a.ints[:, rb.NEXT] = a.ints[:, rb.HI] + 1 - rng.integers(0, 2 * frames + 1, rows)  # some rows have too few due
    twin = copy.deepcopy(a)
    codes = rng.integers(0, 256, (rows, frames * SIZE), dtype=np.uint8)
    codes_twin = codes.copy()
    left = rb.playout(now, codes, a).tolist()
    assert left == rb.playout_reference(now, codes_twin, twin).tolist()
    assert np.array_equal(codes, codes_twin)
    for name in ("ints", "floats"):
        assert np.array_equal(getattr(a, name), getattr(twin, name)), name


def _sockets(n):
    socks = []
    for _ in range(n):
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.bind(("127.0.0.1", 0))
        s.setblocking(False)
        socks.append(s)
    return socks


def test_drain_reads_what_its_twin_reads():
    ours, peers = _sockets(6), _sockets(3)
    poller = select.epoll()
    try:
        for s in ours:
            poller.register(s.fileno(), select.POLLIN)
        socks = {s.fileno(): s for s in ours}
        results = []
        for drain in (lambda a: rb.drain(poller.fileno(), 16, MAX_READS, a),
                      lambda a: rb.drain_reference(poller, socks, MAX_READS, a)):
            for k, s in enumerate(ours[:5]):  # the sixth gets nothing; the first gets three
                for j in range(3 if k == 0 else 1):
                    peers[k % 3].sendto(bytes([k, j]) * (20 + k), s.getsockname())
            peers[0].sendto(bytes(rb.MAX_DATAGRAM + 40), ours[4].getsockname())  # cut to the arena's width
            a = rb.RecvArrays(2, SIZE, records=32)
            nrec, flooded, full = drain(a)
            records = sorted((int(a.rec_fd[k]), int(a.rec_len[k]), int(a.rec_host[k]), int(a.rec_port[k]),
                              a.arena[k, :a.rec_len[k]].tobytes()) for k in range(nrec))
            results.append((nrec, flooded, full, records))
        assert results[0] == results[1]
        nrec, flooded, full, records = results[0]
        assert (nrec, flooded, full) == (8, 0, False)
        assert {r[1] for r in records} == {40, 42, 44, 46, 48, rb.MAX_DATAGRAM + 1}
        assert {(r[2], r[3]) for r in records} == {(0x7F000001, p.getsockname()[1]) for p in peers}
    finally:
        poller.close()
        for s in ours + peers:
            s.close()


def test_drain_stops_at_max_rounds_and_names_the_flooded_socket():
    ours, peers = _sockets(1), _sockets(1)
    poller = select.epoll()
    try:
        poller.register(ours[0].fileno(), select.POLLIN)
        for _ in range(5):
            peers[0].sendto(b"x" * 30, ours[0].getsockname())
        a = rb.RecvArrays(1, SIZE, records=32)
        nrec, flooded, full = rb.drain(poller.fileno(), 4, 3, a)
        assert (nrec, flooded, full) == (3, 1, False)
        assert a.flood[0] == ours[0].fileno()
        a = rb.RecvArrays(1, SIZE, records=1)  # a full arena ends the drain; the rest waits in the socket
        assert rb.drain(poller.fileno(), 4, 3, a) == (1, 0, True)
    finally:
        poller.close()
        for s in ours + peers:
            s.close()


# --- PacketMedia with the native path on and off, on the same streams -----------------------------------------
_ports = [26000]


def _media(native, blocksize=160):
    lo = _ports[0]
    _ports[0] += 40
    pm = PacketMedia(0, list(range(1, 5)), blocksize, ports=(lo, lo + 39))
    pm.native_receive = native
    return pm


ACTIONS = ["next"] * 10 + ["lose", "swap", "dup", "late", "burst", "quiet", "spurt", "gap"]


def _packets(plan, ssrc=0x1234, pt=0):
    """Return the packets sent in each tick for a plan of actions (one per tick)."""
    rng = np.random.default_rng(len(plan))
    seq, ts = 65500, 0xFFFFF000  # both wrap within a few seconds
    ticks, later = [], []  # later: (tick, packet) sent after that tick's own packets
    marker = True
    for k, action in enumerate(plan):
        if action == "gap":  # a silence of 3 frames the sender did not send: a new spurt, its marker lost
            ts += 3 * 160
        if action == "spurt":
            ts += 5 * 160
            marker = True
        out = []
        for _ in range({"quiet": 0, "burst": 2}.get(action, 1)):
            header = struct.pack("!BBHII", 0x80, pt | (0x80 if marker else 0), seq & 0xFFFF, ts & 0xFFFFFFFF, ssrc)
            packet = header + rng.integers(0, 256, 160, dtype=np.uint8).tobytes()
            marker = False
            seq, ts = seq + 1, ts + 160
            if action == "swap":  # overtaken by the next packet
                later.append((k + 1, packet))
            elif action == "late":  # two ticks late: after its slot, or stretching the delay
                later.append((k + 2, packet))
            elif action != "lose":
                out += [packet] * (2 if action == "dup" else 1)
        ticks.append(out)
    for k, packet in later:
        if k < len(ticks):
            ticks[k].append(packet)
    return ticks


@settings(max_examples=40, deadline=None)
@given(st.lists(st.sampled_from(ACTIONS), min_size=20, max_size=160), st.integers(0, 3), st.sampled_from([1, 4]))
def test_native_path_plays_and_reports_what_the_python_path_does(plan, ssrc_change, frames):
    """frames: 20 ms packets per tick (4: the soak's 80 ms tick, each plan step one packet time)."""
    if frames > 1:  # a clean stretch at the end, so a short plan's ticks also reach the native path
        plan = plan + ["next"] * 12 * frames
    media = [_media(True, 160 * frames), _media(False, 160 * frames)]
    sender = _sockets(2)
    try:
        rows = []
        for pm in media:
            opened = []
            for k in range(2):
                _, row = pm.allocate()
                pm.open(row, remote=sender[k].getsockname(), payload_type=0, law="ulaw")
                opened.append((row, pm._rows[row].local))
            rows.append(opened)
        streams = [_packets(plan), _packets(plan[::-1], ssrc=0x99)]
        if ssrc_change:  # the far end's stream restarts (a transfer behind it) part way through
            cut = len(plan) * ssrc_change // 4
            streams[1][cut:] = _packets(plan[cut:], ssrc=0x77)[:len(plan) - cut]
        native_ticks = 0
        ticks = -(-len(plan) // frames) + 30
        for k in range(ticks):
            for j, (stream, sock) in enumerate(zip(streams, sender)):
                for packet in [p for step in stream[k * frames:(k + 1) * frames] for p in step]:
                    for opened in rows:
                        sock.sendto(packet, opened[j][1])
            now = 160 * frames * (k + 1)
            out = [pm.receive(now) for pm in media]
            native_ticks += sum(r.native for r in media[0]._open)
            assert np.array_equal(out[0][0], out[1][0]), f"tick {k}: the decoded audio differs"
            if k % 7 == 0 or k == ticks - 1:
                for (row, _), (row2, _) in zip(*rows):
                    a, b = media[0].stats(row), media[1].stats(row2)
                    for key in ("packets_in", "bytes_in", "lost", "jitter_ms", "late", "duplicates", "reordered",
                                "concealed_ms", "delay_ms", "ssrc_changes", "wrong_size"):
                        assert a[key] == b[key], (k, key, a[key], b[key])
                    ja, jb = media[0]._rows[row].jb, media[1]._rows[row2].jb
                    assert (ja.highest, ja.stats) == (jb.highest, jb.stats)
        assert native_ticks > 0  # the native path did carry the streams
    finally:
        for pm in media:
            pm.shutdown()
        for s in sender:
            s.close()


def test_a_clean_stream_stays_on_the_native_path():
    pm = _media(True)
    sender = _sockets(1)
    try:
        _, row = pm.allocate()
        local = pm.open(row, remote=sender[0].getsockname(), payload_type=0, law="ulaw")
        native = 0
        for k, packets in enumerate(_packets(["next"] * 200)):
            for packet in packets:
                sender[0].sendto(packet, local)
            pm.receive(160 * (k + 1))
            native += pm._rows[row].native
        assert native >= 195  # from the second tick on: the first packet and the anchor are Python's
        stats = pm.stats(row)
        assert (stats["packets_in"], stats["lost"], stats["concealed_ms"]) == (200, 0, 0)
    finally:
        pm.shutdown()
        sender[0].close()


def test_a_clean_stream_of_20ms_packets_stays_native_with_80ms_ticks():
    pm = _media(True, 640)
    sender = _sockets(1)
    try:
        _, row = pm.allocate()
        local = pm.open(row, remote=sender[0].getsockname(), payload_type=0, law="ulaw")
        native, steps = 0, _packets(["next"] * 200)
        for k in range(50):
            for packets in steps[4 * k:4 * k + 4]:
                for packet in packets:
                    sender[0].sendto(packet, local)
            pm.receive(640 * (k + 1))
            native += pm._rows[row].native
        assert native >= 48
        stats = pm.stats(row)
        assert (stats["packets_in"], stats["lost"], stats["concealed_ms"]) == (200, 0, 0)
    finally:
        pm.shutdown()
        sender[0].close()


@settings(max_examples=30, deadline=None)
@given(st.lists(st.integers(0, 2100), max_size=150), st.integers(1, 200))
def test_recv_many_reads_what_its_twin_reads(sizes, records):
    """recvmmsg batches against recvfrom one at a time: the same datagrams, cut at the same width, same sources."""
    ours, peers = _sockets(1), _sockets(3)
    try:
        results = []
        for recv in (rb.recv_many, rb.recv_many_reference):
            for k, n in enumerate(sizes):
                peers[k % 3].sendto(bytes([k & 0xFF]) * n, ours[0].getsockname())
            box = rb.Inbox(records=records, width=2048)
            got = []
            while True:
                count = recv(ours[0], box)
                got += [(box.arena[j, :box.rec_len[j]].tobytes(), int(box.rec_host[j]), int(box.rec_port[j]))
                        for j in range(count)]
                if count < records:
                    break
            results.append(got)
        assert results[0] == results[1]
        assert [len(d) for d, _, _ in results[0]] == [min(n, 2048) for n in sizes]
        assert [p for _, _, p in results[0]] == [peers[k % 3].getsockname()[1] for k in range(len(sizes))]
    finally:
        for s in ours + peers:
            s.close()
