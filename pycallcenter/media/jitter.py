"""Adaptive RTP jitter buffer, sans-IO: ``push(seq, timestamp, payload, arrival_now)`` and ``pop(now)``.

Time is passed in (seconds, any origin, the same clock for both calls); nothing here reads a clock or
touches a socket. The caller pops once per frame interval (20 ms for 160-sample G.711 packets) and gets
the payload due now, or None when there is nothing to play (a lost or late packet, or silence).

How playout works:

* Packets are kept by extended sequence number (16-bit wrap undone as RFC 3550 Appendix A.1 does) and
  extended timestamp (32-bit wrap undone the same way). Within a talkspurt one pop plays one packet.
* A talkspurt starts with the marker bit, or where the timestamp runs ahead of the sequence number (the
  sender stopped sending during silence and its marked first packet was lost). At the start of a spurt
  playout is re-anchored: its first packet plays at ``timestamp / rate + fastest transit + target``.
  This is where the delay shrinks (and where it grows without a stall); in mid-spurt the schedule holds.
* The target delay covers the spread of transit times (arrival - timestamp / rate) over the last
  ``window`` seconds, and at least ``jitter_factor`` times the RFC 3550 interarrival jitter. A spike
  raises it at once; it only comes down at talkspurt boundaries, by at most ``shrink_step`` each.
* When the packet due is missing but later packets of the spurt are here, it is counted concealed and
  None is returned (the caller conceals it). When the buffer has run dry, playout stalls (None, the
  sequence position kept): if the packet then arrives the delay has grown by what the spike needed. A
  stall longer than ``max_delay`` ends the spurt, so an outage does not leave seconds of delay behind.
* A packet arriving after its slot is late (counted, dropped); one already received is a duplicate; when
  ``max_packets`` are held the oldest is dropped (overflow).

``stats`` keeps the counters; ``lost`` there is RFC 3550's cumulative loss (expected minus received,
counted exactly from sequence numbers), ``concealed`` the frames played as missing.
"""
import bisect
import collections
from dataclasses import dataclass

from pycallcenter.errors import LocalProtocolError

MAX_DROPOUT = 3000  # RFC 3550 A.1: a jump ahead larger than this is a restart of the sender's sequence
MAX_MISORDER = 100  # ... and a packet further behind than this is from before the restart
QUEUED, LATE, DUPLICATE, OVERFLOW, STALE = "queued", "late", "duplicate", "overflow", "stale"


@dataclass
class JitterStats:
    """Counters of one jitter buffer (delays and jitter in seconds)."""

    received: int = 0  # packets accepted (duplicates and stale ones not counted)
    lost: int = 0  # RFC 3550 cumulative loss: sequence numbers expected so far and never received
    late: int = 0  # arrived after their playout slot (dropped)
    duplicates: int = 0  # same sequence number received twice (dropped)
    overflow: int = 0  # dropped because max_packets were held
    stale: int = 0  # sequence number too far behind to place (dropped)
    discarded: int = 0  # late + duplicates + overflow + stale
    reordered: int = 0  # arrived after a higher sequence number
    concealed: int = 0  # frames due in a talkspurt whose packet was missing (pop returned None)
    stalls: int = 0  # pops that waited on an empty buffer mid-spurt (the delay grew)
    talkspurts: int = 0  # playout (re)anchors
    played: int = 0  # packets returned by pop
    delay: float = 0.0  # how long the packet last played waited in the buffer
    target: float = 0.0  # target playout delay now
    jitter: float = 0.0  # RFC 3550 interarrival jitter estimate


def _extend(value, reference, modulus):
    """Return the integer congruent to value (mod modulus) nearest to reference (undoes wrap)."""
    d = (value - reference) % modulus
    if d >= modulus // 2:
        d -= modulus
    return reference + d


class _Extremes:
    """Minimum and maximum of values pushed within the last `window` seconds (monotonic deques)."""

    def __init__(self, window):
        self.window = window
        self._min = collections.deque()
        self._max = collections.deque()

    def add(self, now, value):
        # runs for every packet of every row: the two deques are written out rather than looped over
        oldest = now - self.window
        q = self._min
        while q and q[-1][1] >= value:
            q.pop()
        q.append((now, value))
        while q[0][0] < oldest:
            q.popleft()
        q = self._max
        while q and q[-1][1] <= value:
            q.pop()
        q.append((now, value))
        while q[0][0] < oldest:
            q.popleft()

    @property
    def low(self):
        return self._min[0][1]

    @property
    def high(self):
        return self._max[0][1]


class JitterBuffer:
    """Adaptive playout buffer for one RTP stream (see the module docstring for the rules)."""

    fast_path = True  # push's written-out path for the usual packet (tests switch it off to compare)

    def __init__(self, clock_rate=8000, frame_samples=160, min_delay=0.02, max_delay=0.5, max_packets=50,
                 window=10.0, jitter_factor=3.0, shrink_step=0.02):
        if not (clock_rate > 0 and frame_samples > 0 and 0 <= min_delay <= max_delay and max_packets > 0):
            raise ValueError("jitter buffer: need clock_rate, frame_samples, max_packets > 0, 0 <= min <= max delay")
        self.rate, self.frame = clock_rate, frame_samples
        self.min_delay, self.max_delay, self.max_packets = min_delay, max_delay, max_packets
        self.jitter_factor, self.shrink_step = jitter_factor, shrink_step
        self.stats = JitterStats(target=min_delay)
        self._transit = _Extremes(window)
        self._buf = {}  # extended seq -> (extended ts, payload, arrival)
        self._seen = set()  # extended seqs received recently (duplicate check)
        self._starts = []  # extended seqs that start a talkspurt, ascending
        self._start_ts = {}  # their extended timestamps
        self._base = self._hi = self._hi_ts = None
        self._last_transit = None
        self._jitter_ts = 0.0  # RFC 3550 J, in timestamp units
        self._playing = False
        self._next = None  # extended seq due at the next pop while playing
        self._spurt_start = None  # first seq of the talkspurt being played
        self._stall_since = None

    # ---- arrivals ---------------------------------------------------------------------------------------------

    def push(self, seq, timestamp, payload, arrival_now, marker=False):
        """Offer one RTP packet; return QUEUED, LATE, DUPLICATE, OVERFLOW (this or an older one dropped) or STALE."""
        if not (0 <= seq <= 0xFFFF and 0 <= timestamp <= 0xFFFFFFFF):
            raise LocalProtocolError(f"jitter buffer: seq {seq} or timestamp {timestamp} out of RTP range")
        st = self.stats
        hi = self._hi
        # The usual packet, written out (it runs for every packet of every row): the next in sequence, one frame
        # on, no marker, not late, room to keep it. The general path below gives the same result for it.
        if (self.fast_path and hi is not None and (seq - hi) & 0xFFFF == 1 and not marker
                and (timestamp - self._hi_ts) & 0xFFFFFFFF == self.frame and len(self._buf) < self.max_packets
                and (self._next is None or hi + 1 >= self._next)):
            ext = hi + 1
            ts = self._hi_ts + self.frame
            self._seen.add(ext)
            self._seen.discard(ext - MAX_MISORDER - 1)  # _drop_seen for a step of one, written out
            st.received += 1
            rate = self.rate
            transit = arrival_now * rate - ts  # _update_jitter, written out
            if self._last_transit is not None:
                self._jitter_ts += (abs(transit - self._last_transit) - self._jitter_ts) / 16
            self._last_transit = transit
            st.jitter = jitter = self._jitter_ts / rate
            window = self._transit
            window.add(arrival_now, arrival_now - ts / rate)
            self._hi, self._hi_ts = ext, ts
            if len(self._seen) > 4 * MAX_MISORDER or len(self._starts) > 1:
                self._forget(ext - 2 * MAX_DROPOUT)
            st.lost = max((ext - self._base + 1) - st.received, 0)
            self._buf[ext] = (ts, payload, arrival_now)
            needed = window._max[0][1] - window._min[0][1]  # _raise_target, written out
            if needed < self.jitter_factor * jitter:
                needed = self.jitter_factor * jitter
            if needed < self.min_delay:
                needed = self.min_delay
            if needed > self.max_delay:
                needed = self.max_delay
            if needed > st.target:
                st.target = needed
            if self._stall_since is not None and ext == self._next:
                self._stall_since = None
            return QUEUED
        if self._hi is None:
            self._base, self._hi, self._hi_ts = seq, seq, timestamp
            ext, ts, new_spurt = seq, timestamp, False  # the first spurt needs no start: it is spurt None
        else:
            ext = _extend(seq, self._hi, 1 << 16)
            ts = _extend(timestamp, self._hi_ts, 1 << 32)
            if ext - self._hi > MAX_DROPOUT:
                self._restart(ext)
                new_spurt = True
            elif ext < self._hi - MAX_MISORDER:
                return self._drop("stale")
            else:
                new_spurt = ext > self._hi and (marker or ts - self._hi_ts > (ext - self._hi) * self.frame)
        if ext in self._seen:
            return self._drop("duplicates")
        if marker and ext < self._hi:
            self._move_start_back(ext, ts)
        self._seen.add(ext)
        st.received += 1
        if ext < self._hi:
            st.reordered += 1
        self._base = min(self._base, ext)  # a reordered first packet still counts as expected
        self._update_jitter(arrival_now, ts)
        if new_spurt:
            bisect.insort(self._starts, ext)
            self._start_ts[ext] = ts
        if ext > self._hi:
            self._drop_seen(ext)
            self._hi, self._hi_ts = ext, ts
            self._forget(ext - 2 * MAX_DROPOUT)
        # never below 0: duplicates are not counted received, so only a packet from before a restart of the
        # sender's numbering (placed against the new numbering) could take it there
        st.lost = max((self._hi - self._base + 1) - st.received, 0)
        if self._is_late(ext):
            self._raise_target()
            return self._drop("late")
        result = QUEUED
        if len(self._buf) >= self.max_packets:
            oldest = min(self._buf)
            del self._buf[oldest]
            st.overflow += 1
            st.discarded += 1
            if self._playing and oldest == self._next:
                self._next += 1
            result = OVERFLOW
        self._buf[ext] = (ts, payload, arrival_now)
        self._raise_target()
        if self._stall_since is not None and ext == self._next:
            self._stall_since = None
        return result

    def _move_start_back(self, ext, ts):
        """A marked packet overtaken by the next one: its spurt was started there (by the timestamp jump)."""
        i = bisect.bisect_right(self._starts, ext)
        if i < len(self._starts):
            later = self._starts[i]
            if self._start_ts[later] - ts == (later - ext) * self.frame and not (self._playing and self._next > ext):
                self._starts[i] = ext
                del self._start_ts[later]
                self._start_ts[ext] = ts
                if self._next == later:  # the ended spurt handed over to this one: it starts here instead
                    self._next = ext

    def _drop(self, counter):
        setattr(self.stats, counter, getattr(self.stats, counter) + 1)
        self.stats.discarded += 1
        return {"stale": STALE, "duplicates": DUPLICATE, "late": LATE}[counter]

    def _restart(self, ext):
        """The sender's sequence jumped (a new source or a restart): keep counters, start numbering again."""
        self._base = ext - self.stats.received - self.stats.lost  # so `lost` carries on unchanged
        self._hi = ext - 1
        self._buf.clear()
        self._seen.clear()
        self._starts.clear()
        self._start_ts.clear()
        self._playing = False
        self._next = None
        self._stall_since = None

    def _drop_seen(self, new_hi):
        """Forget the received sequence numbers that fall more than MAX_MISORDER behind new_hi: a packet that far
        behind is stale before the duplicate check asks, so the set stays about MAX_MISORDER long (it was up to
        12,000 per row, which a full collection walks), a few numbers per packet and never in one sweep."""
        for s in range(self._hi - MAX_MISORDER, min(self._hi, new_hi - MAX_MISORDER - 1) + 1):
            self._seen.discard(s)

    def _forget(self, below):
        if len(self._seen) > 4 * MAX_MISORDER:
            # only the last MAX_MISORDER can be asked about (anything further behind is stale before the duplicate
            # check), so the set stays a few hundred long: a row's memory, and what a full collection walks
            floor = self._hi - MAX_MISORDER
            self._seen = {s for s in self._seen if s >= floor}
        keep = below if self._next is None else min(below, self._next)
        while len(self._starts) > 1 and self._starts[1] <= keep:
            del self._start_ts[self._starts.pop(0)]

    def _update_jitter(self, arrival, ts):
        transit = arrival * self.rate - ts  # RFC 3550 6.4.1, in timestamp units
        if self._last_transit is not None:
            self._jitter_ts += (abs(transit - self._last_transit) - self._jitter_ts) / 16
        self._last_transit = transit
        self.stats.jitter = self._jitter_ts / self.rate
        self._transit.add(arrival, arrival - ts / self.rate)

    def _needed_delay(self):
        spread = self._transit.high - self._transit.low
        return min(max(spread, self.jitter_factor * self.stats.jitter, self.min_delay), self.max_delay)

    def _raise_target(self):
        self.stats.target = max(self.stats.target, self._needed_delay())

    def _start_of(self, ext):
        """Return the first sequence number of the talkspurt holding ext (None before any known start)."""
        i = bisect.bisect_right(self._starts, ext)
        return self._starts[i - 1] if i else None

    def _is_late(self, ext):
        return self._next is not None and ext < self._next

    # ---- playout ----------------------------------------------------------------------------------------------

    def pop(self, now):
        """Return the payload due at now, or None (missing packet to conceal, a stall, or silence)."""
        st = self.stats
        if not self._playing and not self._anchor(now):
            return None
        starts = self._starts
        # the next talkspurt is due: re-anchor it (no bisect while no later talkspurt is known, the usual case)
        if (starts[-1] if starts else None) != self._spurt_start and self._start_of(self._next) != self._spurt_start:
            self._end_spurt()
            return self.pop(now)
        item = self._buf.pop(self._next, None)
        if item is not None:
            self._next += 1
            self._stall_since = None
            st.played += 1
            st.delay = now - item[2]
            return item[1]
        later = [s for s in self._buf if s > self._next]
        if any(self._start_of(s) == self._spurt_start for s in later):
            self._next += 1
            st.concealed += 1
            return None
        if later:  # only packets of a later talkspurt: this one has ended
            self._end_spurt()
            return self.pop(now)
        if self._stall_since is None:
            self._stall_since = now
        elif now - self._stall_since > self.max_delay:
            self._end_spurt()
            return None
        st.stalls += 1
        return None

    def _end_spurt(self):
        self._playing = False
        self._stall_since = None
        i = 0 if self._spurt_start is None else bisect.bisect_right(self._starts, self._spurt_start)
        if i < len(self._starts) and self._starts[i] > self._next:  # the rest of the ended spurt is late now
            self._next = self._starts[i]
        # The delay shrinks slowly: at most shrink_step per talkspurt boundary, never below what is needed.
        self.stats.target = max(self._needed_delay(), self.stats.target - self.shrink_step)

    def _anchor(self, now):
        """Start playing the oldest buffered packet once its scheduled time has come; return True if started."""
        if not self._buf:
            return False
        first = min(self._buf)
        ts = self._buf[first][0]
        due = ts / self.rate + self._transit.low + self.stats.target
        if now + 1e-9 < due and len(self._buf) < self.max_packets:
            return False
        self._playing = True
        self._next = first
        self._spurt_start = self._start_of(first)
        self.stats.talkspurts += 1
        return True

    @property
    def highest(self):
        """Return the extended highest sequence number received (RFC 3550 A.1; 0 before any packet)."""
        return self._hi or 0

    @property
    def buffered(self):
        """Return the number of packets held."""
        return len(self._buf)
