"""Packet media: every RTP row of the engine, batched into its tick (RFC 3550, 4733, 3389, 3711, 4961).

``PacketMedia`` owns the rows after the board's rows in the engine's media plane. Each tick:

* ``receive(now)`` drains every readable socket without blocking (a poll, one ``recvfrom`` from each
  socket it names, and again while any socket is still readable, at most ``MAX_READS`` rounds: no
  ``recvfrom`` is spent on an empty socket). On IPv4 this drain, the header check and the jitter buffer's
  in-order, in-spurt case run natively over every row of 20 ms packets at once, whatever the tick (an 80 ms
  tick plays four per row: ``rtp_batch``: drain, accept, playout), and a row comes back to Python only when
  its packet is not the usual one or a tick's packets are not all there. Python then checks the source
  (symmetric RTP; latching on the first valid packet, RFC 4961 practice), decrypts SRTP, and pushes audio,
  comfort-noise and telephone-event packets into the row's adaptive jitter buffer; telephone-events also
  become DTMF digits at once. Then each row pops what is due, every row's G.711 is decoded in one call
  per law, lost 10 ms frames are concealed by the batched PLC (G.711 Appendix I) and comfort-noise frames
  are filled with noise at the level the far end gave. It returns the int16 block (rows x blocksize).
* ``merge_digits(inband, received, now)`` joins the digits from RFC 4733 with the in-band detector's,
  one digit per key press when the far end sends both.
* ``transmit(tx, now)`` encodes the block the engine mixed (one call per law), cuts each row's audio into
  packets of its ptime, replaces audio by telephone-events while a digit is being sent, protects with
  SRTP, sends, and sends RTCP SR/RR (with SDES CNAME) about every 5 s per row. A row whose packet is the
  usual one (plain IPv4 audio in 20 ms packets, no digit being sent) is sent by one native call for all
  such rows (``rtp_batch.send_rows``, one packet per 20 ms of the tick, a row's packets in one
  ``sendmmsg``), which also keeps its sequence number, timestamp and counters.

Bounded by construction: datagrams above ``MAX_DATAGRAM`` are dropped and counted, at most ``MAX_READS``
are read per socket per tick (a flood stays in, and overflows, the kernel's fixed socket buffer), and each
jitter buffer holds at most ``max_packets``. Packets from a source other than the row's are dropped and
counted; malformed ones too. Nothing a far end sends raises out of ``receive``.

Time is the engine's board time in samples (8 kHz), passed in; the wall clock only enters RTCP's NTP
field, through ``epoch`` (the wall-clock time of sample 0).
"""
import collections
import errno
import random
import secrets
import select
import socket

import numpy as np

from pycallcenter.dsp import g711
from pycallcenter.dsp.dtmf import DtmfEvent
from pycallcenter.dsp.plc import FRAME, PacketLossConcealer
from pycallcenter.errors import DecodeError, LocalProtocolError
from pycallcenter.heap import freeze_heap
from pycallcenter.media import g722, rtp, rtp_batch
from pycallcenter.media.jitter import MAX_DROPOUT, MAX_MISORDER, JitterBuffer
from pycallcenter.media.srtp import DEFAULT_SUITE, SrtpContext, format_crypto, new_key, parse_crypto

RATE = 8000
MAX_DATAGRAM = 1500  # above any G.711 packet up to 120 ms with SRTP; anything longer is dropped and counted
KERNEL_FRAME = 160  # samples of the packets the native paths take and send: 20 ms, the usual ptime (a tick holds
# a whole number of them; other ptimes stay in Python)
MAX_READS = 64  # datagrams read per socket per tick; a flood beyond this overflows the kernel's bounded buffer
RTCP_INTERVAL = 5.0  # seconds between a row's reports (RFC 3550 6.2's minimum), randomised 0.5-1.5x
DIRECTIONS = ("sendrecv", "sendonly", "recvonly", "inactive")
LAWS = ("ulaw", "alaw") + (("g722",) if g722.AVAILABLE else ())  # "g722": payload type 9, media/g722.py
SILENCE = {"ulaw": 0xFF, "alaw": 0xD5, "g722": g722.SILENCE_CODE}  # the code of a zero sample
EVENT_END_PACKETS = 3  # RFC 4733 2.5.1.4: the end packet is sent three times
EVENT_VOLUME = 10  # -dBm0 of the tone the event stands for
CN_SILENCE_LEVEL = 60  # -dBov: quieter than this is silence when sending comfort noise (RFC 3389 is optional)
CN_REFRESH = 1.0  # seconds between CN packets during a silence
DIGIT_GAP = 0.08  # seconds: ITU-T Q.24's shortest key press cycle (40 ms tone, 40 ms pause)
DIGIT_QUEUE = 4  # RFC 4733 digits a row holds when they come faster than that (a burst after an outage)
DIGIT_PAIR_WINDOW = 0.25  # seconds, on top of the jitter delay: an in-band copy of an RFC 4733 digit arrives within it
_HDR = rtp.HEADER
_AUDIO, _LOST, _NOISE, _EVENT = 0, 1, 2, 3  # what each 10 ms frame of a tick holds (_EVENT: silence)
_CARRIED = ("lost", "late", "duplicates", "reordered", "concealed_ms")  # jitter counters summed across SSRCs
_SKIP = object()  # a telephone-event sent beside audio (not instead of it): takes no playout slot


class _Stats:
    """Counters of one row (see ``PacketMedia.stats``)."""

    __slots__ = ("packets_in", "bytes_in", "packets_out", "bytes_out", "wrong_source", "oversized", "malformed",
                 "unknown_pt", "srtp_failed", "events_in", "events_out", "cn_in", "cn_out", "rtcp_in", "rtcp_out",
                 "send_errors", "wrong_size", "flood_reads", "bye_in", "rtt", "ssrc_changes",
                 "digits_dropped")

    def __init__(self):
        for name in self.__slots__:
            setattr(self, name, 0)
        self.rtt = None


class _Row:
    """The state of one open packet row."""

    def __init__(self, row, index, channel):
        self.row, self.index, self.channel = row, index, channel
        self.sock = self.rtcp_sock = None
        self.local = None
        self.remote = self.rtcp_remote = None  # where we send
        self.source = None  # the only address accepted once known (None: the next valid packet latches)
        self.latch = True
        self.pt, self.law, self.ptime = rtp.PT_PCMU, "ulaw", 20
        self.tx_samples = 160
        self.dtmf_pt, self.cn_pt = 101, rtp.PT_CN
        self.direction = "sendrecv"
        self.jb = None
        self.rx_frame = 160
        self.rx_sized = False  # the far end's packet size has been seen
        self.rx_codes = bytearray()  # decoded-order G.711 waiting to be played (ptime other than the tick)
        self.rx_kinds = []  # one _AUDIO/_LOST/_NOISE per 80 codes of rx_codes
        self.noise_level = None  # -dBov while the far end is in a comfort-noise silence
        self.ssrc = secrets.randbits(32)
        self.seq = secrets.randbits(16)
        self.ts = secrets.randbits(32)
        self.marker = True  # the first packet of a talkspurt carries the marker (RFC 3551 4.1)
        self.tx_codes = bytearray()
        self.digits = collections.deque()  # (event code, duration in samples) still to send
        self.event = None  # [code, start ts, duration total, duration sent, end packets sent]
        self.last_event_ts = None  # timestamp of the last telephone-event received (one digit per event)
        self.rx_digits = collections.deque()  # RFC 4733 digits received, released one per DIGIT_GAP
        self.digit_at = None  # board time the last of them was released
        self.audio_at = None  # arrival time of the last audio packet
        self.send_cn = False
        self.cn_until = None  # in a sent silence: time of the next CN refresh
        self.srtp = None
        self.remote_ssrc = None
        self.last_sr = None  # (LSR middle 32 bits, arrival seconds)
        self.far_report = None  # the far end's last RTCP report block about our stream
        self.rtcp_mux = False  # RTCP goes out on the RTP port (RFC 5761)
        self.sent_packets = self.sent_octets = 0
        self.sent_since_report = False
        self.prior_expected = self.prior_received = 0
        self.next_rtcp = None
        self.pending_digits = []  # (source, digit, time) not yet paired: "rfc" or "inband"
        self.stats = _Stats()
        self.past = dict.fromkeys(_CARRIED, 0)  # counters of the jitter buffers this row replaced
        self.port = None  # LocalPort of an in-process row (no sockets; see PacketMedia.open_local)
        self.fd = None  # the RTP socket's descriptor when it is IPv4 (the native paths); None: the Python path
        self.dest_of = self.dest4 = None  # the remote dest4 was made from, and (IPv4 int, port) or None
        self.native = False  # the receive kernel holds the row's jitter buffer state (PacketMedia._enter)
        self.tx_native = False  # the send kernel holds its seq, timestamp, marker and send counters (_tx_enter)
        self.src_of = self.src4 = None  # the source src4 was made from, and its IPv4 int (None: not IPv4)


class LocalPort:
    """The two bounded queues of an in-process packet row (a WebRTC leg): another thread appends RTP packets to
    `inbound` and takes the row's RTP packets from `outbound`. deque append/popleft are atomic in CPython, so
    neither side locks; a side that falls behind loses its oldest packets (the deques are bounded), never
    the tick."""

    LOCAL = ("local", 0)  # the source address of the packets pushed in

    def __init__(self, depth=50):
        self.inbound = collections.deque(maxlen=depth)
        self.outbound = collections.deque(maxlen=depth)


class PacketMedia:
    """All packet rows of one engine (rows first_row .. first_row + len(channels) - 1); see the module doc."""

    native_receive = True  # the native receive path where epoll exists (tests switch it off to compare)
    native_send = True  # the send kernel for the usual audio packet (benches switch it off to compare)

    def __init__(self, first_row, channels, blocksize=160, ports=(20000, 20999), epoch=0.0, leg_of=None,
                 jitter=None):
        lo, hi = ports
        if not (0 < lo <= hi < 65536):
            raise ValueError(f"rtp_ports: need 0 < low <= high < 65536, got {ports}")
        if blocksize % FRAME:
            raise ValueError(f"packet rows need a blocksize that is a multiple of {FRAME} samples, got {blocksize}")
        self.first_row = first_row
        self.channels = list(channels)
        self.count = len(self.channels)
        self.blocksize = blocksize
        self.ports = (lo + lo % 2, hi)  # RTP on even ports, RTCP on the odd one above (RFC 3550 11)
        self._cursor = self.ports[0]
        self.epoch = epoch
        self.leg_of = leg_of or (lambda row: None)
        self.jitter = dict(jitter or {})  # JitterBuffer settings for every row
        self.cname = f"pycc-{secrets.token_hex(6)}"  # RFC 7022: a random CNAME per endpoint set
        self._allocated = set()
        self._rows = {}  # row -> _Row (open rows)
        self._open = []  # open _Rows in row order (the tick's loop)
        self._local = []  # open in-process rows (open_local)
        self._digit_rows = {}  # row -> _Row holding RFC 4733 digits not yet released
        # epoll where there is one (a poll costs what the ready sockets cost, not what is open), else poll; the
        # IPv4 sockets in one (the native drain reads it), the IPv6 ones in another (read by Python)
        self._poller = select.epoll() if hasattr(select, "epoll") else select.poll()
        self._poller6 = select.epoll() if hasattr(select, "epoll") else select.poll()
        self._v6 = 0  # IPv6 sockets open
        self._rx = None  # the native receive path's arrays (rtp_batch.RecvArrays), where epoll exists
        if hasattr(select, "epoll") and self.count:
            self._rx = rtp_batch.RecvArrays(self.count, KERNEL_FRAME,
                                            records=max(256, 4 * self.count * (blocksize // KERNEL_FRAME)))
            probe = JitterBuffer(frame_samples=KERNEL_FRAME, **self.jitter)
            settings = self._rx.settings
            settings[rtp_batch.RATE], settings[rtp_batch.WINDOW] = probe.rate, probe._transit.window
            settings[rtp_batch.MIN_DELAY], settings[rtp_batch.MAX_DELAY] = probe.min_delay, probe.max_delay
            settings[rtp_batch.JITTER_FACTOR], settings[rtp_batch.MAX_PACKETS] = probe.jitter_factor, probe.max_packets
        self._by_index = [None] * self.count  # packet index -> open _Row
        self._tx = rtp_batch.SendArrays(self.count, KERNEL_FRAME)
        self._tx_python = []  # open rows the send kernel does not hold (rebuilt when None)
        self._tx_rows = 0  # rows it holds
        self._rtcp_at = np.full(self.count, np.inf)  # when each socket row's next RTCP report is due
        self._python = []  # open rows the receive kernel does not hold (rebuilt when None)
        self._held = None  # indices of open rows that play nothing (sendonly, inactive); rebuilt when None
        self._by_fd = {}  # fd -> (_Row, socket, is RTCP)
        self._plc = PacketLossConcealer(self.count) if self.count else None
        self._codes = np.zeros((self.count, blocksize), np.uint8)
        self._pcm = np.zeros((self.count, blocksize), np.int16)
        self._kinds = np.zeros((self.count, blocksize // FRAME), np.uint8)
        self._tx_codes = np.zeros((self.count, blocksize), np.uint8)
        self._alaw = np.zeros(self.count, bool)  # rows whose law is A-law (others mu-law)
        self._alaw_rows = np.zeros(0, np.intp)
        self._noise_rng = np.random.default_rng(secrets.randbits(64))
        self._local_keys = {}  # row -> our SRTP master key+salt, drawn by local_crypto
        self._silence = np.zeros(self.count, np.uint8) + SILENCE["ulaw"]
        self._g722 = g722.G722Rows()  # the rows that negotiated G.722: a codec state each, per-row calls

    # --- rows -----------------------------------------------------------------------------------
    def allocate(self):
        """Return (channel, row) of a free packet row, now allocated, or None when every row is in use."""
        for i in range(self.count):
            row = self.first_row + i
            if row not in self._allocated:
                self._allocated.add(row)
                return self.channels[i], row
        return None

    def release(self, row):
        """Close the row if open and make it free for allocate() again."""
        self.close(row)
        self._allocated.discard(row)
        self._local_keys.pop(row, None)

    def _index(self, row):
        i = row - self.first_row
        if not 0 <= i < self.count:
            last = self.first_row + self.count - 1
            raise LocalProtocolError(f"row {row} is not a packet row ({self.first_row}-{last})")
        return i

    def local_crypto(self, row, suite=DEFAULT_SUITE):
        """Return our SDES crypto attribute value for the row (a fresh key from `secrets`, kept until release)."""
        self._index(row)
        return format_crypto(suite, self._local_key(row))

    def _local_key(self, row):
        key = self._local_keys.get(row)
        if key is None:
            key = self._local_keys[row] = new_key()
        return key

    def open(self, row, *, remote, payload_type, law, ptime_ms=20, dtmf_pt=101, local_host="127.0.0.1", srtp=None,
             latch=None, cn_pt=rtp.PT_CN, send_cn=False, rtcp_mux=False):
        """Bind the row's RTP (even port) and RTCP (port + 1) sockets; return the local (host, port) for the SDP.

        remote: (host, port) or None (latch on the first valid packet); latch: also latch when remote is
        given (the far end is behind NAT); default: latch only when remote is None. rtcp_mux: send RTCP on the
        RTP port (RFC 5761, a=rtcp-mux agreed); RTCP arriving on the RTP port is read either way."""
        i = self._index(row)
        if row not in self._allocated:
            raise LocalProtocolError(f"packet row {row} is not allocated")
        if row in self._rows:
            raise LocalProtocolError(f"packet row {row} is already open")
        self._check(law=law, ptime_ms=ptime_ms, payload_type=payload_type)
        r = _Row(row, i, self.channels[i])
        r.pt, r.law, r.ptime, r.dtmf_pt, r.cn_pt, r.send_cn = payload_type, law, ptime_ms, dtmf_pt, cn_pt, send_cn
        r.tx_samples = ptime_ms * RATE // 1000
        r.latch = remote is None if latch is None else bool(latch)
        r.rtcp_mux = bool(rtcp_mux)
        if srtp is not None:
            suite, remote_key = parse_crypto(srtp)
            r.srtp = SrtpContext(suite, self._local_key(row), remote_key)
        self._set_remote(r, remote)  # before binding: a name that does not resolve leaves no socket behind
        r.sock, r.rtcp_sock, r.local = self._bind(local_host)
        r.fd = r.sock.fileno() if r.sock.family == socket.AF_INET else None  # the native paths speak IPv4 only
        self._new_jitter(r, r.tx_samples)
        r.next_rtcp = None  # set at the first tick (the time is not known here)
        v6 = r.sock.family == socket.AF_INET6
        for sock, is_rtcp in ((r.sock, False), (r.rtcp_sock, True)):
            self._by_fd[sock.fileno()] = (r, sock, is_rtcp)
            (self._poller6 if v6 else self._poller).register(sock.fileno(), select.POLLIN)
            if self._rx is not None:
                self._rx.map_fd(sock.fileno(), -1 if is_rtcp or v6 else i)
        self._v6 += 2 * v6
        self._rows[row] = r
        self._reorder()
        self._set_law(r, law)
        if self._plc is not None:
            self._plc.reset(i)
        _freeze_heap()
        return r.local

    def open_local(self, row, *, law="ulaw", payload_type=None, ptime_ms=20, depth=50):
        """Open an allocated row whose RTP is pushed and pulled in-process (a WebRTC leg); return its LocalPort.

        Packets go through the row's jitter buffer, PLC, DTMF and stats exactly like a socket row's; no RTCP."""
        i = self._index(row)
        if row not in self._allocated or row in self._rows:
            raise LocalProtocolError(f"packet row {row} is not allocated or is already open")
        pt = payload_type if payload_type is not None else rtp.PT_PCMA if law == "alaw" else rtp.PT_PCMU
        self._check(law=law, ptime_ms=ptime_ms, payload_type=pt)
        r = _Row(row, i, self.channels[i])
        r.pt, r.ptime, r.tx_samples, r.latch = pt, ptime_ms, ptime_ms * RATE // 1000, False
        r.port = LocalPort(depth)
        r.remote = r.source = LocalPort.LOCAL
        r.local = LocalPort.LOCAL
        self._new_jitter(r, r.tx_samples)
        self._rows[row] = r
        self._reorder()
        self._set_law(r, law)
        if self._plc is not None:
            self._plc.reset(i)
        _freeze_heap()
        return r.port

    def _reorder(self):
        """Rebuild the row lists after a row opened or closed."""
        self._open = [self._rows[k] for k in sorted(self._rows)]
        self._local = [x for x in self._open if x.port is not None]
        self._by_index = [None] * self.count
        for x in self._open:
            self._by_index[x.index] = x
        self._python = self._held = self._tx_python = None

    def _check(self, law=None, ptime_ms=None, payload_type=None, direction=None):
        if law is not None and law not in LAWS:
            hint = "" if g722.AVAILABLE or law != "g722" else f" ({g722.MISSING})"
            raise LocalProtocolError(f"law must be one of {', '.join(LAWS)}, got {law!r}{hint}")
        if ptime_ms is not None and (ptime_ms <= 0 or ptime_ms % 10 or ptime_ms > 120):
            raise LocalProtocolError(f"ptime_ms must be 10-120 in steps of 10, got {ptime_ms}")
        if payload_type is not None and not 0 <= payload_type < 128:
            raise LocalProtocolError(f"payload type {payload_type} outside 0-127")
        if direction is not None and direction not in DIRECTIONS:
            raise LocalProtocolError(f"direction must be one of {', '.join(DIRECTIONS)}, got {direction!r}")

    def _bind(self, host):
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        lo, hi = self.ports
        span = (hi - lo) // 2 + 1
        for _ in range(span):
            port = self._cursor
            self._cursor = port + 2 if port + 2 <= hi - 1 else lo
            if port + 1 > hi:
                continue
            socks = []
            try:
                for p in (port, port + 1):
                    s = socket.socket(family, socket.SOCK_DGRAM)
                    socks.append(s)
                    s.setblocking(False)
                    s.bind((host, p))
            except OSError as exc:
                for s in socks:
                    s.close()
                if exc.errno in (errno.EADDRINUSE, errno.EACCES):
                    continue
                raise LocalProtocolError(f"cannot bind RTP on {host}:{port}: {exc.strerror}") from None
            return socks[0], socks[1], (host, port)
        raise LocalProtocolError(f"no free RTP port pair on {host} in rtp_ports {lo}-{hi}")

    def _set_remote(self, r, remote):
        if remote is not None:
            host, port = remote
            remote = (_numeric(host), int(port))
            r.rtcp_remote = (remote[0], remote[1] + 1)
        r.remote = remote
        r.source = None if r.latch else remote

    def _set_law(self, r, law):
        if (law == "g722") != (r.index in self._g722.rows):  # the row starts or stops carrying G.722
            self._g722.set(r.index, law == "g722")
        r.law = law
        self._alaw[r.index] = law == "alaw"
        self._silence[r.index] = SILENCE[law]
        self._alaw_rows = np.nonzero(self._alaw)[0]

    def update(self, row, *, remote=None, direction=None, payload_type=None, law=None, srtp=None):
        """Change an open row (re-INVITE, hold): new remote address, direction, payload type, law or the far end's
        SRTP key (an SDES value; ours stays as local_crypto gave it)."""
        r = self._open_row(row)
        self._check(law=law, payload_type=payload_type, direction=direction)
        self._leave(r)
        self._tx_leave(r)
        self._held = None
        if srtp is not None:
            suite, remote_key = parse_crypto(srtp)
            r.srtp = SrtpContext(suite, self._local_key(row), remote_key)
        if remote is not None:
            self._set_remote(r, remote)
        if direction is not None:
            if direction in ("sendrecv", "sendonly") and r.direction not in ("sendrecv", "sendonly"):
                r.marker = True  # sending resumes: a new talkspurt
            if direction in ("sendrecv", "recvonly") and r.direction in ("sendonly", "inactive"):
                self._g722.restart(r.index)  # playing resumes: the decoder was not fed while held
            r.direction = direction
        if payload_type is not None:
            r.pt = payload_type
        if law is not None:
            self._set_law(r, law)

    def _open_row(self, row):
        r = self._rows.get(row)
        if r is None:
            self._index(row)
            raise LocalProtocolError(f"packet row {row} is not open")
        return r

    def send_digit(self, row, digit, duration_ms=100):
        """Queue an RFC 4733 telephone-event for a DTMF digit on the row (sent in place of audio)."""
        r = self._open_row(row)
        code = rtp.digit_event(digit)
        if not 10 <= duration_ms <= 8000:
            raise LocalProtocolError(f"duration_ms must be 10-8000, got {duration_ms}")
        self._tx_leave(r)
        r.digits.append((code, duration_ms * RATE // 1000))

    def close(self, row):
        """Send RTCP BYE (when the far end is known), close the row's sockets and forget its state."""
        r = self._rows.get(row)
        if r is None:
            return
        if r.port is None and r.rtcp_remote is not None and r.next_rtcp is not None:
            self._send_rtcp(r, None, bye=True)
        self._leave(r)
        self._tx_leave(r)
        self._rtcp_at[r.index] = np.inf
        self._g722.set(r.index, False)
        del self._rows[row]
        self._reorder()
        self._digit_rows.pop(row, None)
        if r.port is not None:
            return
        v6 = r.sock.family == socket.AF_INET6
        self._v6 -= 2 * v6
        for s in (r.sock, r.rtcp_sock):
            (self._poller6 if v6 else self._poller).unregister(s.fileno())
            del self._by_fd[s.fileno()]
            if self._rx is not None:
                self._rx.map_fd(s.fileno(), -1)
            s.close()

    def shutdown(self):
        """Close and release every row (the engine is closing)."""
        for row in list(self._allocated):
            self.release(row)

    def leaks(self):
        """Return one line per allocated or open packet row that no leg is on."""
        out = []
        for row in sorted(self._allocated):
            if self.leg_of(row) is None:
                r = self._rows.get(row)
                what = f"open on {r.local[0]}:{r.local[1]}" if r is not None else "allocated"
                out.append(f"packet row {row} (channel {self.channels[row - self.first_row]}) is {what} with no leg")
        return out

    def is_open(self, row):
        """Return True when the row has sockets open."""
        return row in self._rows

    def stats(self, row):
        """Return the row's counters: packets/bytes in/out, lost, jitter_ms, late, concealed_ms and drops."""
        r = self._open_row(row)
        self._sync(r)
        self._tx_sync(r)
        s, js = r.stats, r.jb.stats
        now = _jitter_counters(r)
        return {
            "packets_in": s.packets_in, "bytes_in": s.bytes_in, "packets_out": s.packets_out,
            "bytes_out": s.bytes_out, **{k: r.past[k] + now[k] for k in _CARRIED},
            "jitter_ms": round(js.jitter * 1000.0, 3), "delay_ms": round(js.target * 1000.0, 1),
            "ssrc_changes": s.ssrc_changes,
            "wrong_source": s.wrong_source, "oversized": s.oversized, "malformed": s.malformed,
            "unknown_pt": s.unknown_pt, "wrong_size": s.wrong_size, "srtp_failed": s.srtp_failed,
            "events_in": s.events_in, "events_out": s.events_out, "cn_in": s.cn_in, "cn_out": s.cn_out,
            "digits_dropped": s.digits_dropped,
            "rtcp_in": s.rtcp_in, "rtcp_out": s.rtcp_out, "bye_in": s.bye_in, "send_errors": s.send_errors,
            "flood_reads": s.flood_reads, "rtt_ms": None if s.rtt is None else round(s.rtt * 1000.0, 1),
            "local": r.local, "remote": r.remote, "srtp": r.srtp.suite if r.srtp else None,
            **_far_end(r.far_report),
        }

    # --- receiving ----------------------------------------------------------------------------------
    def receive(self, now):
        """Drain the sockets and play out one tick; return (int16 audio (rows x blocksize), [DtmfEvent])."""
        t = now / RATE
        digits = []
        for r in self._local:
            inbound = r.port.inbound
            while inbound:
                self._on_rtp(r, inbound.popleft(), LocalPort.LOCAL, t)
        native = self._rx is not None and self.native_receive
        if self._rows:
            if native:
                self._drain_native(t)
            else:
                self._drain(self._poller, t)
            if self._v6:
                self._drain(self._poller6, t)
        if self._digit_rows:
            self._release_digits(t, digits)
        codes, kinds = self._codes, self._kinds
        codes[:] = self._silence[:, None]
        kinds.fill(_AUDIO)
        bs = self.blocksize
        if native:
            for i in rtp_batch.playout(t, codes, self._rx).tolist():  # rows with no packet due: Python plays them
                self._leave(self._by_index[i])
        if self._python is None:
            self._python = [r for r in self._open if not r.native]
        if self._held is None:
            self._held = [r.index for r in self._open if r.direction in ("sendonly", "inactive")]
        held = self._held  # rows that play nothing: their buffers still flow, so nothing piles up
        got_rows, got = [], []  # rows whose whole tick came in one packet: copied in one go below
        python = self._python
        for r in python:
            i = r.index
            if r.rx_frame == bs and not r.rx_codes:
                payload = r.jb.pop(t)
                while payload is _SKIP:
                    payload = r.jb.pop(t)
                if payload.__class__ is bytes and len(payload) == bs:
                    got_rows.append(i)
                    got.append(payload)
                    r.noise_level = None
                else:
                    kinds[i] = self._missing(r, payload)
                continue
            self._fill(r, t)
            got_rows.append(i)
            got.append(bytes(r.rx_codes[:bs]))
            del r.rx_codes[:bs]
            k = bs // FRAME
            kinds[i] = r.rx_kinds[:k]
            del r.rx_kinds[:k]
        if got_rows:
            codes[got_rows] = np.frombuffer(b"".join(got), np.uint8).reshape(len(got_rows), bs)
        if native:
            for r in python:
                if self._can_enter(r):
                    self._enter(r)
        if held:
            codes[held] = self._silence[held, None]
            kinds[held] = _AUDIO
        pcm = self._pcm
        self._by_law(g711.ulaw_decode, g711.alaw_decode, codes, pcm)
        if self._g722:
            self._g722.decode(codes, kinds, pcm, held)
        noise = kinds == _NOISE
        if noise.any():
            self._fill_noise(pcm, noise)
        if self._plc is None:
            return pcm, digits
        return self._plc.process(pcm, kinds == _LOST), digits

    def _drain(self, poller, t):
        """Read every readable socket of poller in Python, one datagram per socket per round (MAX_READS rounds)."""
        by_fd, poll = self._by_fd, poller.poll
        ready = poll(0)
        rounds = 0
        while ready:
            rounds += 1
            if rounds > MAX_READS:  # a flood: what is left waits in (and overflows) the kernel's buffer
                for fd, _ in ready:
                    by_fd[fd][0].stats.flood_reads += 1
                break
            for fd, _ in ready:
                r, sock, is_rtcp = by_fd[fd]
                try:
                    data, addr = sock.recvfrom(MAX_DATAGRAM + 1)
                except BlockingIOError:
                    continue
                except OSError:  # an ICMP error reported on the socket: nothing to read
                    r.stats.send_errors += 1
                    continue
                self._on_datagram(r, is_rtcp, data, addr, t)
            ready = poll(0)

    def _on_datagram(self, r, is_rtcp, data, addr, t):
        if is_rtcp or (len(data) > 1 and 192 <= data[1] <= 223):  # RFC 5761: RTCP muxed on RTP
            self._on_rtcp(r, data, addr, t)
        else:
            self._on_rtp(r, data, addr, t)

    def _drain_native(self, t):
        """Drain the IPv4 sockets natively; the usual packets go straight into their rows' arrays, the rest here."""
        rx = self._rx
        nrec, flooded, _ = rtp_batch.drain(self._poller.fileno(), 2 * self.count + 16, MAX_READS, rx)
        by_fd = self._by_fd
        if nrec and rtp_batch.accept(nrec, t, rx):
            ints, lengths, hosts, ports = rx.ints, rx.rec_len, rx.rec_host, rx.rec_port
            for k in np.flatnonzero(rx.exc[:nrec]).tolist():
                r, _, is_rtcp = by_fd[int(rx.rec_fd[k])]
                if r.native and not ints[r.index, rtp_batch.NATIVE]:  # the kernel handed the row back
                    self._leave(r)
                n = int(lengths[k])
                if n < 0:  # an ICMP error reported on the socket: nothing to read
                    r.stats.send_errors += 1
                    continue
                addr = (socket.inet_ntoa(int(hosts[k]).to_bytes(4, "big")), int(ports[k]))
                self._on_datagram(r, is_rtcp, rx.arena[k, :n].tobytes(), addr, t)
        for fd in rx.flood[:flooded].tolist():
            by_fd[fd][0].stats.flood_reads += 1

    def _can_enter(self, r):
        """Return True when the receive kernel can hold the row: a plain IPv4 stream in a talkspurt, in order."""
        jb = r.jb
        if not (r.fd is not None and r.srtp is None and r.rx_sized and r.rx_frame == KERNEL_FRAME
                and not r.rx_codes and r.noise_level is None and r.remote_ssrc is not None and r.source is not None
                and jb.fast_path and jb._playing and jb._stall_since is None and jb._last_transit is not None):
            return False
        held = jb._hi - jb._next + 1
        buf = jb._buf
        if not (0 <= held < min(rtp_batch.DEPTH, jb.max_packets) and len(buf) == held
                and (jb._starts[-1] if jb._starts else None) == jb._spurt_start
                and len(jb._transit._min) < rtp_batch.WINDOW_SLOTS and len(jb._transit._max) < rtp_batch.WINDOW_SLOTS):
            return False
        for ext, item in buf.items():
            payload = item[1]
            if not (jb._next <= ext <= jb._hi and payload.__class__ is bytes and len(payload) == KERNEL_FRAME):
                return False
        if r.src_of is not r.source:
            r.src_of = r.source
            r.src4 = rtp_batch.ipv4(r.source[0])
        return r.src4 is not None

    def _enter(self, r):
        """Hand the row's jitter buffer state to the receive kernel's arrays (Python keeps a stale copy)."""
        rx, i, jb = self._rx, r.index, r.jb
        ints, floats, js = rx.ints[i], rx.floats[i], jb.stats
        ints[:] = 0
        ints[rtp_batch.SRC_HOST], ints[rtp_batch.SRC_PORT] = r.src4, r.source[1]
        ints[rtp_batch.PT], ints[rtp_batch.SSRC] = r.pt, r.remote_ssrc
        ints[rtp_batch.HI], ints[rtp_batch.HI_TS], ints[rtp_batch.NEXT] = jb._hi, jb._hi_ts, jb._next
        for ext, (ts, payload, at) in jb._buf.items():
            slot = ext % rtp_batch.DEPTH
            rx.ring[i, slot] = np.frombuffer(payload, np.uint8)
            rx.ring_ts[i, slot], rx.ring_at[i, slot] = ts, at
        floats[rtp_batch.LAST_TRANSIT], floats[rtp_batch.JITTER_TS] = jb._last_transit, jb._jitter_ts
        floats[rtp_batch.JITTER], floats[rtp_batch.TARGET], floats[rtp_batch.DELAY] = js.jitter, js.target, js.delay
        rx.set_deque(i, 0, list(jb._transit._min))
        rx.set_deque(i, 1, list(jb._transit._max))
        ints[rtp_batch.NATIVE] = 1
        r.native = True
        self._python = None

    def _sync(self, r):
        """Bring the row's JitterBuffer and counters up to date from the kernel's arrays (while it holds the row)."""
        if not r.native:
            return
        rx, i, jb = self._rx, r.index, r.jb
        ints, floats, js = rx.ints[i], rx.floats[i], jb.stats
        hi, nxt = int(ints[rtp_batch.HI]), int(ints[rtp_batch.NEXT])
        pushed, played = int(ints[rtp_batch.PUSHED]), int(ints[rtp_batch.PLAYED])
        if pushed:
            # push's written-out path keeps the last MAX_MISORDER + 1 numbers (older ones are stale before the
            # duplicate check asks) and counts loss from the sequence numbers
            floor = hi - MAX_MISORDER
            jb._seen = {x for x in jb._seen if x >= floor}
            jb._seen.update(range(max(jb._hi + 1, floor), hi + 1))
            jb._hi, jb._hi_ts = hi, int(ints[rtp_batch.HI_TS])
            js.received += pushed
            js.lost = max(hi - jb._base + 1 - js.received, 0)
            jb._last_transit, jb._jitter_ts = float(floats[rtp_batch.LAST_TRANSIT]), float(floats[rtp_batch.JITTER_TS])
            js.jitter, js.target = float(floats[rtp_batch.JITTER]), float(floats[rtp_batch.TARGET])
            jb._transit._min = collections.deque(rx.deque(i, 0))
            jb._transit._max = collections.deque(rx.deque(i, 1))
            if len(jb._starts) > 1:
                jb._forget(hi - 2 * MAX_DROPOUT)
            r.stats.packets_in += pushed
            r.stats.bytes_in += int(ints[rtp_batch.BYTES])
            r.audio_at = float(floats[rtp_batch.LAST_AT])
        if played:
            js.played += played
            js.delay = float(floats[rtp_batch.DELAY])
        jb._next = nxt
        depth = rtp_batch.DEPTH
        jb._buf = {ext: (int(rx.ring_ts[i, ext % depth]), rx.ring[i, ext % depth].tobytes(),
                         float(rx.ring_at[i, ext % depth])) for ext in range(nxt, hi + 1)}
        ints[rtp_batch.PUSHED] = ints[rtp_batch.PLAYED] = ints[rtp_batch.BYTES] = 0

    def _leave(self, r):
        """Take the row back from the receive kernel (its next packet or playout is not the usual one)."""
        if r.native:
            self._sync(r)
            self._rx.ints[r.index, rtp_batch.NATIVE] = 0
            r.native = False
            self._python = None

    def _by_law(self, ulaw, alaw, src, out):
        """Run a G.711 kernel over every row of src into out: one mu-law call, then A-law over the A-law rows."""
        if self._alaw_rows.size == 0:
            ulaw(src, out=out)
        else:
            out[...] = ulaw(src)
            out[self._alaw_rows] = alaw(src[self._alaw_rows])

    def _missing(self, r, payload):
        """Return what a frame with no audio holds: comfort noise, silence (an event) or a loss to conceal."""
        if payload.__class__ is int:  # a comfort-noise packet: the far end's silence starts (or its level)
            r.noise_level = payload
            return _NOISE
        if payload == b"":  # a telephone-event packet stood in for audio: silence, not codes to decode
            return _EVENT
        if payload is not None:
            r.stats.wrong_size += 1
        return _NOISE if r.noise_level is not None else _LOST

    def _fill(self, r, t):
        """Pop the row's jitter buffer until a tick's worth of codes is waiting (ptime other than the tick)."""
        frame = r.rx_frame
        sub = frame // FRAME
        silence = bytes([SILENCE[r.law]]) * frame
        while len(r.rx_codes) < self.blocksize:
            payload = r.jb.pop(t)
            while payload is _SKIP:
                payload = r.jb.pop(t)
            if payload.__class__ is bytes and len(payload) == frame:
                r.rx_codes += payload
                r.rx_kinds += [_AUDIO] * sub
                r.noise_level = None
            else:
                r.rx_codes += silence
                r.rx_kinds += [self._missing(r, payload)] * sub

    def _fill_noise(self, pcm, noise):
        rows, frames = np.nonzero(noise)
        levels = np.array([_level(self._rows[self.first_row + i].noise_level) for i in rows.tolist()], np.float64)
        rms = 32767.0 * 10.0 ** (-levels / 20.0)
        block = self._noise_rng.standard_normal((rows.size, FRAME)) * rms[:, None]
        view = pcm.reshape(self.count, -1, FRAME)
        view[rows, frames] = np.clip(block, -32768, 32767).astype(np.int16)

    def _release_digits(self, t, digits):
        """Append to digits one queued RFC 4733 digit of each row whose last one is DIGIT_GAP old."""
        for row in sorted(self._digit_rows):  # in row order, as the in-band detector reports them
            r = self._digit_rows[row]
            if r.digit_at is None or t - r.digit_at >= DIGIT_GAP - 1e-9:
                r.digit_at = t
                digits.append(DtmfEvent(row, r.rx_digits.popleft(), "begin", None, None))
                if not r.rx_digits:
                    del self._digit_rows[row]

    def _on_rtp(self, r, data, addr, t):
        n = len(data)
        # The usual packet, written out (it runs for every packet of every row): plain RTP audio from the latched
        # source, in the stream and packet size already seen. The general path below gives the same result for it.
        if r.srtp is None and addr == r.source and 12 <= n <= MAX_DATAGRAM and data[0] == 0x80:
            second, seq, ts, ssrc = _HDR.unpack_from(data)[1:]
            if second & 0x7F == r.pt and ssrc == r.remote_ssrc and r.rx_sized:
                r.audio_at = t
                st = r.stats
                st.packets_in += 1
                st.bytes_in += n
                r.jb.push(seq, ts, data[12:], t, second > 0x7F)
                return
        st = r.stats
        data = _admit(st, data, r.source is None or addr[:2] == r.source, r.srtp and r.srtp.unprotect)
        if data is None:
            return
        if n >= 12 and data[0] == 0x80:  # the usual header: no padding, extension or CSRC
            second, seq, ts, ssrc = _HDR.unpack_from(data)[1:]
            payload, marker, pt = data[12:], second & 0x80, second & 0x7F
        else:
            try:
                p = rtp.parse_rtp(data)
            except DecodeError:
                st.malformed += 1
                return
            payload, marker, pt, seq, ts, ssrc = p.payload, p.marker, p.payload_type, p.sequence, p.timestamp, p.ssrc
        if ssrc != r.remote_ssrc and r.remote_ssrc is not None and pt in (r.pt, r.dtmf_pt, r.cn_pt):
            r.stats.ssrc_changes += 1  # the far end restarted its stream (a transfer, a re-INVITE): start afresh
            self._new_jitter(r, r.rx_frame)
        if pt == r.pt:
            if not r.rx_sized:  # the far end's packet time decides the jitter buffer's frame
                r.rx_sized = True
                size = len(payload)
                if size != r.rx_frame and size % FRAME == 0 and 0 < size <= 960:
                    self._new_jitter(r, size)
            item = payload
            r.audio_at = t
        elif pt == r.dtmf_pt:
            try:
                ev = rtp.parse_event(payload)
            except DecodeError:
                st.malformed += 1
                return
            st.events_in += 1
            if ts != r.last_event_ts:
                r.last_event_ts = ts
                if ev.digit is not None and len(r.rx_digits) < DIGIT_QUEUE:
                    r.rx_digits.append(ev.digit)
                    self._digit_rows[r.row] = r
                elif ev.digit is not None:  # faster than any keypad for longer than a burst: a flood, which
                    st.digits_dropped += 1  # must not grow leg.digits
            # An event sent instead of audio (RFC 4733 2.5.1.3's usual case) takes its slot in the playout as
            # silence, timed where it ends; one sent beside audio (audio arrived within a frame) takes none.
            ts = (ts + max(ev.duration - r.rx_frame, 0)) & 0xFFFFFFFF
            beside = r.audio_at is not None and t - r.audio_at <= r.rx_frame / RATE
            item, marker = (_SKIP if beside else b""), 0
        elif pt == r.cn_pt:
            try:
                item = rtp.parse_cn(payload)[0]
            except DecodeError:
                st.malformed += 1
                return
            st.cn_in += 1
        else:
            st.unknown_pt += 1
            return
        if r.source is None:  # latching: the first valid packet's source is the far end
            self._tx_leave(r)  # it is where we send from now on
            r.source = addr[:2]
            r.remote = r.source
            if r.rtcp_remote is None or r.latch:
                r.rtcp_remote = (r.source[0], r.source[1] + 1)
        r.remote_ssrc = ssrc
        st.packets_in += 1
        st.bytes_in += n
        r.jb.push(seq, ts, item, t, bool(marker))

    def _new_jitter(self, r, frame):
        """Give the row a new jitter buffer of `frame` samples, keeping the old one's counters in the row's totals."""
        self._leave(r)
        self._g722.restart(r.index)  # a new stream (a new SSRC) comes from a new encoder: decode it afresh
        if r.jb is not None:
            for k, v in _jitter_counters(r).items():
                r.past[k] += v
        r.jb = JitterBuffer(frame_samples=frame, **self.jitter)
        r.rx_frame = frame
        r.rx_codes.clear()
        r.rx_kinds.clear()
        r.prior_expected = r.prior_received = 0

    def _on_rtcp(self, r, data, addr, t):
        st = r.stats
        data = _admit(st, data, r.source is None or addr[0] == r.source[0], r.srtp and r.srtp.unprotect_rtcp)
        if data is None:
            return
        try:
            packets = rtp.parse_rtcp(data)
        except DecodeError:
            st.malformed += 1
            return
        st.rtcp_in += 1
        r.rtcp_remote = addr[:2]
        for p in packets:
            if isinstance(p, rtp.SenderReport):
                r.last_sr = (rtp.ntp_middle(p.ntp), t)
            if isinstance(p, (rtp.SenderReport, rtp.ReceiverReport)):
                for block in p.reports:
                    if block.ssrc == r.ssrc:
                        r.far_report = block
                    if block.ssrc == r.ssrc and block.lsr:
                        now_mid = rtp.ntp_middle(rtp.ntp_time(self.epoch + t))
                        rtt = ((now_mid - block.lsr - block.dlsr) & 0xFFFFFFFF) / 65536.0
                        if rtt < 60.0:
                            st.rtt = rtt
            elif isinstance(p, rtp.Bye):
                st.bye_in += 1

    def merge_digits(self, inband, received, now):
        """Return the tick's DTMF events: inband (the detector's, all rows) with in-band copies of digits
        also received by RFC 4733 on a packet row removed (and vice versa), then the RFC 4733 digits."""
        if not self._rows:
            return inband
        t = now / RATE
        out = []
        for ev in inband:
            r = self._rows.get(ev.channel)
            if r is not None and ev.kind == "begin" and self._paired(r, "inband", ev.digit, t):
                continue
            out.append(ev)
        for ev in received:
            r = self._rows.get(ev.channel)
            if r is not None and not self._paired(r, "rfc", ev.digit, t):
                out.append(ev)
        return out

    def _paired(self, r, source, digit, t):
        """Return True when this digit is the other source's copy of one already reported (and pair them)."""
        self._sync(r)
        window = DIGIT_PAIR_WINDOW + r.jb.stats.target
        r.pending_digits = [p for p in r.pending_digits if t - p[2] <= window]
        for k, (src, d, _) in enumerate(r.pending_digits):
            if src != source and d == digit:
                del r.pending_digits[k]
                return True
        r.pending_digits.append((source, digit, t))
        return False

    # --- sending ------------------------------------------------------------------------------------
    def transmit(self, tx, now):
        """Encode the packet rows of the mixed block (int16 rows x blocksize) and send each row's packets."""
        if not self._rows:
            return
        t = now / RATE
        codes = self._tx_codes
        self._by_law(g711.ulaw_encode, g711.alaw_encode, tx, codes)
        if self._g722:
            self._g722.encode(tx, codes)
        bs = self.blocksize
        wire = None  # one copy of the codes, made when a row takes the Python path, then a slice per row
        if self._tx_python is None:
            self._tx_python = [r for r in self._open if not r.tx_native]
        for r in self._tx_python:
            if r.next_rtcp is None:  # RFC 3550 6.2: the first report sooner
                self._rtcp_due(r, t + RTCP_INTERVAL * random.uniform(0.25, 0.75))
            if r.remote is None or r.direction in ("recvonly", "inactive"):
                r.ts = (r.ts + bs) & 0xFFFFFFFF
                r.marker = True
                r.tx_codes.clear()
            elif (r.tx_samples == KERNEL_FRAME and not r.tx_codes and r.event is None and not r.digits and not r.send_cn
                  and r.srtp is None and r.fd is not None and self.native_send and rtp_batch.dest4(r) is not None):
                self._tx_enter(r)  # _send_frame's audio case from now on natively, this tick's packet included
            elif r.tx_samples == bs and not r.tx_codes:
                if wire is None:
                    wire = codes.tobytes()
                self._send_frame(r, wire[r.index * bs:(r.index + 1) * bs], t)
            else:
                if wire is None:
                    wire = codes.tobytes()
                r.tx_codes += wire[r.index * bs:(r.index + 1) * bs]
                n = r.tx_samples
                while len(r.tx_codes) >= n:
                    payload = bytes(r.tx_codes[:n])
                    del r.tx_codes[:n]
                    self._send_frame(r, payload, t)
        if self._tx_rows:
            rtp_batch.send_rows(codes, self._tx)
        for i in np.flatnonzero(self._rtcp_at <= t).tolist():  # after the audio: a sender report counts this tick's
            r = self._by_index[i]
            if r.rtcp_remote is not None:
                self._send_rtcp(r, t)

    def _rtcp_due(self, r, t):
        """Set when the row's next RTCP report is due."""
        r.next_rtcp = t
        if r.port is None:
            self._rtcp_at[r.index] = t

    def _tx_enter(self, r):
        """Hand the row's usual audio packets to the send kernel (Python's seq, ts and counters go stale)."""
        host, port = r.dest4
        self._tx.tx[r.index] = (1, r.fd, host, port, r.pt, r.marker, r.seq, r.ts, r.ssrc, 0, 0, 0)
        r.tx_native = True
        self._tx_python = None
        self._tx_rows += 1

    def _tx_sync(self, r):
        """Bring the row's sequence number, timestamp, marker and send counters up to date from the send kernel."""
        if not r.tx_native:
            return
        a = self._tx.tx[r.index]
        r.marker, r.seq, r.ts = bool(a[rtp_batch.TX_MARKER]), int(a[rtp_batch.TX_SEQ]), int(a[rtp_batch.TX_TS])
        packets, octets = int(a[rtp_batch.TX_PACKETS]), int(a[rtp_batch.TX_BYTES])
        st = r.stats
        st.send_errors += int(a[rtp_batch.TX_ERRORS])
        if packets:
            st.packets_out += packets
            st.bytes_out += octets
            r.sent_packets += packets
            r.sent_octets += octets - rtp_batch.HEADER_SIZE * packets
            r.sent_since_report = True
        a[rtp_batch.TX_PACKETS:rtp_batch.TX_ERRORS + 1] = 0

    def _tx_leave(self, r):
        """Take the row's sending back from the kernel (a digit to send, a re-INVITE, a new remote, a close)."""
        if r.tx_native:
            self._tx_sync(r)
            self._tx.tx[r.index, rtp_batch.TX_NATIVE] = 0
            r.tx_native = False
            self._tx_python = None
            self._tx_rows -= 1

    def _send_frame(self, r, payload, t):
        """Send one ptime of the row: its audio, a telephone-event in its place, comfort noise or nothing."""
        n = len(payload)
        if r.event is None and r.digits:
            code, total = r.digits.popleft()
            r.event = [code, r.ts, total, 0, 0]
        if r.event is not None:
            self._send_event(r, n)
        elif r.send_cn and rtp.cn_level(self._decode(r, payload)) >= CN_SILENCE_LEVEL:
            if r.cn_until is None or t >= r.cn_until:
                r.cn_until = t + CN_REFRESH
                level = rtp.cn_level(self._decode(r, payload))
                self._send(r, _HDR.pack(0x80, r.cn_pt, r.seq, r.ts, r.ssrc) + rtp.build_cn(level))
                r.stats.cn_out += 1
                r.seq = (r.seq + 1) & 0xFFFF
            r.marker = True  # the next audio packet starts a talkspurt
        else:
            r.cn_until = None
            second = r.pt | 0x80 if r.marker else r.pt
            r.marker = False
            self._send(r, _HDR.pack(0x80, second, r.seq, r.ts, r.ssrc) + payload)
            r.seq = (r.seq + 1) & 0xFFFF
        r.ts = (r.ts + n) & 0xFFFFFFFF

    def _send_event(self, r, n):
        ev = r.event
        code, start, total, sent, ends = ev
        first = sent == 0
        sent = min(sent + n, total, 0xFFFF)
        end = sent >= total
        if end:
            ends += 1
        body = rtp.TelephoneEvent(code, end, EVENT_VOLUME, sent).build()
        second = r.dtmf_pt | 0x80 if first else r.dtmf_pt
        self._send(r, _HDR.pack(0x80, second, r.seq, start, r.ssrc) + body)
        r.seq = (r.seq + 1) & 0xFFFF
        r.stats.events_out += 1
        ev[3], ev[4] = sent, ends
        if ends >= EVENT_END_PACKETS:
            r.event = None
            r.marker = True

    def _decode(self, r, payload):
        if r.law == "g722":
            return self._g722.sent(r.index, payload)
        return (g711.alaw_decode if r.law == "alaw" else g711.ulaw_decode)(payload)

    def _send(self, r, packet):
        if r.srtp is not None:
            packet = r.srtp.protect(packet)
        try:
            if r.port is not None:
                r.port.outbound.append(packet)
            else:
                r.sock.sendto(packet, r.remote)
        except OSError:  # a full socket buffer or an unreachable far end: count it, the tick goes on
            r.stats.send_errors += 1
            return
        r.stats.packets_out += 1
        r.stats.bytes_out += len(packet)
        r.sent_packets += 1
        r.sent_octets += len(packet) - 12
        r.sent_since_report = True

    def _send_rtcp(self, r, t, bye=False):
        """Send a compound RTCP packet: SR (we sent since the last report) or RR, SDES CNAME, and BYE on close."""
        if t is None:
            t = r.next_rtcp or 0.0
        blocks = ()
        self._sync(r)
        self._tx_sync(r)
        js = r.jb.stats
        if r.remote_ssrc is not None and js.received:
            expected = js.received + js.lost
            exp_i, rec_i = expected - r.prior_expected, js.received - r.prior_received
            r.prior_expected, r.prior_received = expected, js.received
            lost_i = exp_i - rec_i
            fraction = (lost_i << 8) // exp_i if exp_i > 0 and lost_i > 0 else 0
            lsr, dlsr = 0, 0
            if r.last_sr is not None:
                lsr = r.last_sr[0]
                dlsr = int((t - r.last_sr[1]) * 65536) & 0xFFFFFFFF
            blocks = (rtp.ReportBlock(r.remote_ssrc, min(fraction, 255), max(min(js.lost, 0x7FFFFF), -0x800000),
                                      r.jb.highest & 0xFFFFFFFF, int(js.jitter * RATE), lsr, dlsr),)
        if r.sent_since_report:
            first = rtp.SenderReport(r.ssrc, rtp.ntp_time(self.epoch + t), r.ts, r.sent_packets, r.sent_octets, blocks)
        else:
            first = rtp.ReceiverReport(r.ssrc, blocks)
        parts = [first, rtp.Sdes(((r.ssrc, ((rtp.CNAME, self.cname.encode()),)),))]
        if bye:
            parts.append(rtp.Bye((r.ssrc,)))
        packet = rtp.build_rtcp(parts)
        if r.srtp is not None:
            packet = r.srtp.protect_rtcp(packet)
        try:
            if r.rtcp_mux:
                r.sock.sendto(packet, r.remote)
            else:
                r.rtcp_sock.sendto(packet, r.rtcp_remote)
            r.stats.rtcp_out += 1
        except OSError:
            r.stats.send_errors += 1
        r.sent_since_report = False
        self._rtcp_due(r, t + RTCP_INTERVAL * random.uniform(0.5, 1.5))


def _freeze_heap():
    """Move every object alive now (the built centre and engine) out of the collector's reach, once per process
    (pycallcenter.heap; the centre's first tick may have done it already).

    Measured with 500 rows open (load 13): a full collection scanned ~56,000 objects in 200-214 ms, several
    missed ticks whenever one came; with the heap frozen at the first row's open it scanned the ~12,500 the
    rows made since, in 16-29 ms. Cyclic garbage alive at that moment is kept for good, once: a bounded cost."""
    freeze_heap(collect=False)


def _level(noise_level):
    """Return a row's comfort-noise level in -dBov (127, all but silence, before any CN packet gave one)."""
    return 127 if noise_level is None else noise_level


def _far_end(block):
    """Return how the far end says it receives us (its last RTCP report block): loss and jitter."""
    if block is None:
        return {"far_lost": None, "far_loss_pct": None, "far_jitter_ms": None}
    return {"far_lost": block.cumulative_lost, "far_loss_pct": round(block.fraction_lost * 100 / 256, 1),
            "far_jitter_ms": round(block.jitter * 1000 / RATE, 3)}


def _jitter_counters(r):
    """Return the counters of the row's current jitter buffer that stats() sums across buffers."""
    js = r.jb.stats
    return {"lost": js.lost, "late": js.late, "duplicates": js.duplicates, "reordered": js.reordered,
            "concealed_ms": js.concealed * r.jb.frame * 1000 // RATE}


def _admit(st, data, from_source, unprotect):
    """Return a datagram's plain bytes, or None (counted) when oversized, from another source or failing SRTP."""
    if len(data) > MAX_DATAGRAM:
        st.oversized += 1
        return None
    if not from_source:
        st.wrong_source += 1
        return None
    if unprotect:
        data = unprotect(data)
        if data is None:
            st.srtp_failed += 1
    return data


def _numeric(host):
    """Return host as a numeric address (as recvfrom reports sources), resolving a name once."""
    for family in (socket.AF_INET, socket.AF_INET6):
        try:
            socket.inet_pton(family, host)
            return host
        except OSError:
            pass
    try:
        return socket.getaddrinfo(host, None, type=socket.SOCK_DGRAM)[0][4][0]
    except OSError:
        raise LocalProtocolError(f"cannot resolve RTP remote host {host!r}") from None
