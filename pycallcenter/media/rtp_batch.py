"""The tick's RTP packets for all rows at once, both ways, in a few native calls.

Send: ``send_rows`` builds every native row's headers beside its payloads and sends each packet from its row's
socket, one per frame of the tick (an 80 ms tick of 20 ms packets sends four), stepping the row's sequence
number and timestamp (``SendArrays``). Receive: ``drain`` reads every ready socket of an epoll set into a
preallocated arena, ``accept`` takes each row's usual packet into the row's jitter-buffer arrays
(``RecvArrays``) and ``playout`` copies every row's packets due into the tick's codes, one per frame.
``recv_many`` reads one socket's waiting datagrams in recvmmsg batches (``Inbox``: a peer keeping all its
streams on one socket, as the simulated carrier does). They run the kernel in ``pycallcenter._native.rtp``; the
``*_reference`` functions are their readable twins (numpy and plain Python, one ``socket`` call per packet),
which tests/test_rtp_batch.py and tests/test_rtp_recv.py hold equal to them. Only the usual packet takes
these paths: version 2, no padding, extension or CSRC, IPv4, no SRTP (see ``PacketMedia``); the receive
side also needs the row to be in a talkspurt with its packets in order (``accept_reference`` says exactly).
"""
import socket
import struct

import numpy as np

from pycallcenter._native import rtp as _native

HEADER_SIZE = 12
(TX_NATIVE, TX_FD, TX_HOST, TX_PORT, TX_PT, TX_MARKER, TX_SEQ, TX_TS, TX_SSRC, TX_PACKETS, TX_BYTES, TX_ERRORS,
 TX_COLUMNS) = range(13)
if list(_native.LAYOUT["tx"].values()) != list(range(13)):  # pragma: no cover - a stale build of _native/rtp.pyx
    raise ImportError("pycallcenter._native.rtp has another column layout than rtp_batch: rebuild it")


class SendArrays:
    """Every row's send state for the native path (tx, one row per packet row) and the last packet it built per
    row (frame: payload octets of one packet)."""

    def __init__(self, rows, frame):
        self.tx = np.zeros((rows, TX_COLUMNS), np.int64)
        self.packets = np.zeros((rows, frame + HEADER_SIZE), np.uint8)


def send_rows(codes, a):
    """Send codes[i] (uint8 rows x a whole number of frames) from every native row i of a.tx, one packet per
    frame; return how many packets."""
    return _native.send_rows(a.tx, np.ascontiguousarray(codes, np.uint8), a.packets)


def send_rows_reference(codes, a, socks):
    """Return what send_rows returns, with struct headers and socket.sendto (the readable twin; socks: fd ->
    socket)."""
    tx, count = a.tx, 0
    frame = a.packets.shape[1] - HEADER_SIZE
    for i in np.flatnonzero(tx[:, TX_NATIVE]).tolist():
        host = socket.inet_ntoa(int(tx[i, TX_HOST]).to_bytes(4, "big"))
        for start in range(0, codes.shape[1], frame) if frame else (0,):
            seq, ts, ssrc = (int(v) for v in tx[i, [TX_SEQ, TX_TS, TX_SSRC]])
            second = int(tx[i, TX_PT]) & 0x7F | (0x80 if tx[i, TX_MARKER] else 0)
            header = struct.pack("!BBHII", 0x80, second, seq & 0xFFFF, ts & 0xFFFFFFFF, ssrc & 0xFFFFFFFF)
            packet = header + codes[i, start:start + frame].tobytes()
            a.packets[i] = np.frombuffer(packet, np.uint8)
            tx[i, TX_MARKER], tx[i, TX_SEQ], tx[i, TX_TS] = 0, (seq + 1) & 0xFFFF, (ts + frame) & 0xFFFFFFFF
            try:
                sent = socks[int(tx[i, TX_FD])].sendto(packet, (host, int(tx[i, TX_PORT])))
            except OSError:
                tx[i, TX_ERRORS] += 1
            else:
                tx[i, TX_PACKETS] += 1
                tx[i, TX_BYTES] += sent
            count += 1
    return count


def dest4(item):
    """Return item.remote as (IPv4 int, port) for the kernels, or None (IPv6, a name), cached on the item in its
    dest_of (the remote it was made from) and dest4 attributes."""
    if item.dest_of is not item.remote:
        item.dest_of = item.remote
        host = ipv4(item.remote[0])
        item.dest4 = None if host is None else (host, item.remote[1])
    return item.dest4


def ipv4(host):
    """Return a numeric IPv4 address as an int (for the arrays), or None for anything else (IPv6, a name)."""
    try:
        return int.from_bytes(socket.inet_pton(socket.AF_INET, host), "big")
    except (OSError, TypeError):
        return None


# --- receive --------------------------------------------------------------------------------------------------
MAX_DATAGRAM = 1500  # the arena's width is one more: a longer datagram shows as 1,501 octets (oversized)
DEPTH = 64  # playout slots per row (a jitter buffer holding more packets than this stays in Python)
WINDOW_SLOTS = 512  # entries per transit-window deque (10 s of 20 ms packets is 500)
_INT, _FLOAT, _SET = _native.LAYOUT["int"], _native.LAYOUT["float"], _native.LAYOUT["settings"]
(NATIVE, SRC_HOST, SRC_PORT, PT, SSRC, HI, HI_TS, NEXT, PUSHED, PLAYED, BYTES, MIN_HEAD, MIN_LEN, MAX_HEAD,
 MAX_LEN, INT_COLUMNS) = range(16)
LAST_TRANSIT, JITTER_TS, JITTER, TARGET, LAST_AT, DELAY, FLOAT_COLUMNS = range(7)
RATE, MIN_DELAY, MAX_DELAY, JITTER_FACTOR, WINDOW, MAX_PACKETS, SETTINGS = range(7)
if list(_INT.values()) != list(range(16)) or list(_FLOAT.values()) != list(range(7)) \
        or list(_SET.values()) != list(range(7)):  # pragma: no cover - a stale build of _native/rtp.pyx
    raise ImportError("pycallcenter._native.rtp has another column layout than rtp_batch: rebuild it")


class RecvArrays:
    """Every row's receive state for the native path, one row per packet row (see _native/rtp.pyx's columns)."""

    def __init__(self, rows, size, records=256):
        self.ints = np.zeros((rows, INT_COLUMNS), np.int64)
        self.floats = np.zeros((rows, FLOAT_COLUMNS), np.float64)
        self.ring = np.zeros((rows, DEPTH, size), np.uint8)  # a row's packets by extended sequence % DEPTH
        self.ring_ts = np.zeros((rows, DEPTH), np.int64)  # their extended timestamps
        self.ring_at = np.zeros((rows, DEPTH), np.float64)  # their arrival times
        # the transit window's deques: min then max, each WINDOW_SLOTS (time, value) pairs in a ring
        self.window = np.zeros((rows, 4 * WINDOW_SLOTS), np.float64)
        self.settings = np.zeros(SETTINGS, np.float64)
        self.fd_row = np.full(64, -1, np.int32)  # socket descriptor -> packet row index of an RTP socket
        self.arena = np.zeros((records, MAX_DATAGRAM + 1), np.uint8)
        self.rec_fd = np.zeros(records, np.int32)
        self.rec_len = np.zeros(records, np.int32)
        self.rec_host = np.zeros(records, np.uint32)
        self.rec_port = np.zeros(records, np.uint16)
        self.exc = np.zeros(records, np.uint8)
        self.flood = np.zeros(records, np.int32)
        self.left = np.zeros(rows, np.int32)

    def map_fd(self, fd, index):
        """Say which packet row's RTP socket fd is (index -1: none, or an RTCP socket)."""
        if fd >= self.fd_row.size:
            grown = np.full(max(2 * self.fd_row.size, fd + 1), -1, np.int32)
            grown[:self.fd_row.size] = self.fd_row
            self.fd_row = grown
        self.fd_row[fd] = index

    def deque(self, index, which):
        """Return the row's transit-window deque (0: minimum, 1: maximum) as a list of (time, value)."""
        head, length = self.ints[index, MIN_HEAD + 2 * which], self.ints[index, MIN_LEN + 2 * which]
        pairs = self.window[index, 2 * WINDOW_SLOTS * which:2 * WINDOW_SLOTS * (which + 1)].reshape(-1, 2)
        return [tuple(pairs[(head + k) % WINDOW_SLOTS].tolist()) for k in range(length)]

    def set_deque(self, index, which, items):
        """Write a transit-window deque of (time, value) pairs (fewer than WINDOW_SLOTS) into the row."""
        pairs = self.window[index, 2 * WINDOW_SLOTS * which:2 * WINDOW_SLOTS * (which + 1)].reshape(-1, 2)
        if items:
            pairs[:len(items)] = items
        self.ints[index, MIN_HEAD + 2 * which] = 0
        self.ints[index, MIN_LEN + 2 * which] = len(items)


def drain(epfd, maxevents, max_rounds, a):
    """Read every ready socket of epoll set epfd into a's arena; return (records, flooded fds, arena full)."""
    return _native.drain(epfd, maxevents, max_rounds, a.arena, a.rec_fd, a.rec_len, a.rec_host, a.rec_port,
                         a.flood)


def drain_reference(poller, socks, max_rounds, a):
    """Return what drain returns, reading with poller.poll and socket.recvfrom (socks: fd -> socket)."""
    nrec, flooded, rounds = 0, 0, 0
    cap = a.arena.shape[0]
    while True:
        ready = poller.poll(0)
        if not ready:
            return nrec, flooded, False
        rounds += 1
        if rounds > max_rounds:
            for fd, _ in ready[:a.flood.size]:
                a.flood[flooded] = fd
                flooded += 1
            return nrec, flooded, False
        for fd, _ in ready:
            if nrec == cap:
                return nrec, flooded, True
            try:
                data, addr = socks[fd].recvfrom(a.arena.shape[1])
            except (BlockingIOError, InterruptedError):
                continue
            except OSError as exc:
                a.rec_len[nrec], a.rec_host[nrec], a.rec_port[nrec] = -exc.errno, 0, 0
            else:
                a.arena[nrec, :len(data)] = np.frombuffer(data, np.uint8)
                a.rec_len[nrec], a.rec_host[nrec], a.rec_port[nrec] = len(data), ipv4(addr[0]), addr[1]
            a.rec_fd[nrec] = fd
            nrec += 1


def accept(nrec, now, a):
    """Take every recorded datagram that is its native row's usual packet into the row's arrays; mark the
    others in a.exc (their rows stop being native); return how many are marked."""
    return _native.accept(nrec, a.rec_fd, a.rec_len, a.rec_host, a.rec_port, a.arena, a.fd_row, now, a.ints,
                          a.floats, a.ring, a.ring_ts, a.ring_at, a.window, a.settings, a.exc)


def _window_add(a, i, which, now, value, oldest):
    """_Extremes.add for one deque kept in the row's ring (which 0 keeps minimums, 1 maximums)."""
    pairs = a.window[i, 2 * WINDOW_SLOTS * which:2 * WINDOW_SLOTS * (which + 1)].reshape(-1, 2)
    head, n = int(a.ints[i, MIN_HEAD + 2 * which]), int(a.ints[i, MIN_LEN + 2 * which])
    while n:
        last = pairs[(head + n - 1) % WINDOW_SLOTS, 1]
        if (which == 0 and last >= value) or (which == 1 and last <= value):
            n -= 1
        else:
            break
    pairs[(head + n) % WINDOW_SLOTS] = (now, value)
    n += 1
    while pairs[head, 0] < oldest:
        head, n = (head + 1) % WINDOW_SLOTS, n - 1
    a.ints[i, MIN_HEAD + 2 * which], a.ints[i, MIN_LEN + 2 * which] = head, n


def accept_reference(nrec, now, a):
    """Return what accept returns, in plain Python (the readable twin: JitterBuffer.push's written-out path).

    The usual packet comes to a native row's RTP socket from the latched source, is exactly one payload of
    the ring's size behind a bare 12-octet header (V=2, no marker) with the row's payload type and SSRC, is
    the next sequence number one frame on, and finds room (fewer than max_packets and DEPTH held, room in
    both window deques)."""
    ints, floats, s = a.ints, a.floats, a.settings
    rows, size = ints.shape[0], a.ring.shape[2]
    rate = float(s[RATE])
    nexc = 0
    for k in range(nrec):
        a.exc[k] = 1
        fd = int(a.rec_fd[k])
        i = int(a.fd_row[fd]) if 0 <= fd < a.fd_row.size else -1
        if not 0 <= i < rows or not ints[i, NATIVE]:
            nexc += 1
            continue
        data = a.arena[k]
        n = int(a.rec_len[k])
        seq = int(data[2]) << 8 | int(data[3])
        ts = int.from_bytes(data[4:8].tobytes(), "big")
        ssrc = int.from_bytes(data[8:12].tobytes(), "big")
        hi, hi_ts, held = int(ints[i, HI]), int(ints[i, HI_TS]), int(ints[i, HI] - ints[i, NEXT] + 1)
        if (n != size + 12 or data[0] != 0x80 or data[1] != ints[i, PT] or a.rec_host[k] != ints[i, SRC_HOST]
                or a.rec_port[k] != ints[i, SRC_PORT] or ssrc != ints[i, SSRC] or (seq - hi) & 0xFFFF != 1
                or (ts - hi_ts) & 0xFFFFFFFF != size or held >= s[MAX_PACKETS] or held >= DEPTH
                or ints[i, MIN_LEN] >= WINDOW_SLOTS or ints[i, MAX_LEN] >= WINDOW_SLOTS):
            ints[i, NATIVE] = 0
            nexc += 1
            continue
        a.exc[k] = 0
        ext, ext_ts = hi + 1, hi_ts + size
        slot = ext % DEPTH
        a.ring[i, slot] = data[12:12 + size]
        a.ring_ts[i, slot], a.ring_at[i, slot] = ext_ts, now
        ints[i, PUSHED] += 1
        ints[i, BYTES] += n
        transit = now * rate - ext_ts  # RFC 3550 A.8
        floats[i, JITTER_TS] += (abs(transit - floats[i, LAST_TRANSIT]) - floats[i, JITTER_TS]) / 16
        floats[i, LAST_TRANSIT] = transit
        jitter = floats[i, JITTER] = floats[i, JITTER_TS] / rate
        value, oldest = now - ext_ts / rate, now - s[WINDOW]
        _window_add(a, i, 0, now, value, oldest)
        _window_add(a, i, 1, now, value, oldest)
        ints[i, HI], ints[i, HI_TS] = ext, ext_ts
        low = a.window[i, 2 * int(ints[i, MIN_HEAD]) + 1]
        high = a.window[i, 2 * WINDOW_SLOTS + 2 * int(ints[i, MAX_HEAD]) + 1]
        needed = min(max(high - low, s[JITTER_FACTOR] * jitter, s[MIN_DELAY]), s[MAX_DELAY])
        if needed > floats[i, TARGET]:
            floats[i, TARGET] = needed
        floats[i, LAST_AT] = now
    return nexc


def playout(now, codes, a):
    """Copy every native row's packets due into its row of codes (uint8 rows x a whole number of the ring's
    frames), one per frame; return the rows without all of them due (they stop being native) as a slice of
    a.left."""
    n = _native.playout(a.ints, a.floats, a.ring, a.ring_at, codes, now, a.left)
    return a.left[:n]


def playout_reference(now, codes, a):
    """Return what playout returns, with numpy (the readable twin)."""
    ints, frame = a.ints, a.ring.shape[2]
    k = codes.shape[1] // frame
    native = np.flatnonzero(ints[:, NATIVE])
    short = native[ints[native, NEXT] + k - 1 > ints[native, HI]]
    due = native[ints[native, NEXT] + k - 1 <= ints[native, HI]]
    ints[short, NATIVE] = 0
    for f in range(k):
        slots = ints[due, NEXT] % DEPTH
        codes[due, f * frame:(f + 1) * frame] = a.ring[due, slots]
        a.floats[due, DELAY] = now - a.ring_at[due, slots]
        ints[due, PLAYED] += 1
        ints[due, NEXT] += 1
    a.left[:short.size] = short
    return a.left[:short.size]


# --- one socket's datagrams at once -------------------------------------------------------------------------------
class Inbox:
    """An arena for the datagrams of one socket (records of width octets each) and their lengths and sources."""

    def __init__(self, records=1024, width=2048):
        self.arena = np.zeros((records, width), np.uint8)
        self.rec_len = np.zeros(records, np.int32)
        self.rec_host = np.zeros(records, np.uint32)
        self.rec_port = np.zeros(records, np.uint16)


def recv_many(sock, box):
    """Read every datagram waiting on the non-blocking IPv4 socket into box (recvmmsg batches); return how many."""
    return _native.recv_many(sock.fileno(), box.arena, box.rec_len, box.rec_host, box.rec_port)


def recv_many_reference(sock, box):
    """Return what recv_many returns, with socket.recvfrom one datagram at a time (the readable twin)."""
    n, width = 0, box.arena.shape[1]
    while n < box.arena.shape[0]:
        try:
            data, addr = sock.recvfrom(width)
        except (BlockingIOError, InterruptedError):
            break
        except OSError:  # an ICMP error of an earlier send, reported on the socket
            continue
        box.arena[n, :len(data)] = np.frombuffer(data, np.uint8)
        box.rec_len[n], box.rec_host[n], box.rec_port[n] = len(data), ipv4(addr[0]), addr[1]
        n += 1
    return n
