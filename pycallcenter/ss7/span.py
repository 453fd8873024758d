"""An SS7 span on the driver API: MTP2 over the span's HDLC channel, ISUP circuits mapped to its bearer channels.

The board is the clock: ``service()`` runs once per tick, reads the HDLC channel's frames (the board adds and
checks the FCS), runs timers and writes what the link sends: every queued MSU, then one FISU or LSSU so the
far end keeps seeing the link. CIC n maps to the audio channel at timeslot ``n - first_cic`` of the span.
A link in service that hears nothing for longer than a tick or two counts errors as MTP2's octet counting
does (``Silence``), so a dead signalling timeslot takes the link out of service (and MTP3 changes over).
"""
from pycallcenter.drivers.base import SAMPLE_RATE
from pycallcenter.drivers.events import SIGNALLING_DOWN, alarm_change
from pycallcenter.errors import ConfigError, LocalProtocolError
from pycallcenter.ss7 import mtp2

MAX_SU_PER_TICK = 64
SILENT_TICKS = 2  # both ends send at least one signal unit a tick: silence beyond this is a dead link
OCTETS_PER_ERROR = 16  # Q.703 10.1.4: in octet counting mode, one error for every 16 octets without a signal unit


class Silence:
    """MTP2's octet counting for a link serviced once a tick: ``errors(heard, state, now)`` returns how many
    more errored signal units the silence since the last signal unit is worth (64 kbit/s: 8 octets a ms),
    counting only what lies beyond SILENT_TICKS ticks, while the link is aligned or in service."""

    def __init__(self, tick_seconds):
        self.slack = SILENT_TICKS * tick_seconds
        self.last = None
        self.counted = 0

    def errors(self, heard, state, now):
        """Return the number of errors to feed the link's error monitor now."""
        if heard or self.last is None or state not in (mtp2.IN_SERVICE, mtp2.ALIGNED_READY):
            self.last, self.counted = now, 0
            return 0
        due = int(max(0.0, now - self.last - self.slack) * 8000 // OCTETS_PER_ERROR)
        more, self.counted = due - self.counted, due
        return more


class Ss7Span:
    """Board span span_number as signalling link slc (towards adjpc) of SignallingPoint sp, plus its circuits."""

    def __init__(self, board, span_number, sp, slc, adjpc, first_cic=0):
        span = board.span(span_number)
        hdlc = [c for c in span.channels if c.signalling.is_hdlc]
        if len(hdlc) != 1:
            raise ConfigError(f"span {span_number} needs exactly one dchan/hardhdlc channel, has {len(hdlc)}")
        self.board, self.span_number, self.sp, self.slc = board, span_number, sp, slc
        self.link = sp.add_link(slc, adjpc)
        self.by_cic = {first_cic + c.offset: c.number for c in span.channels if c.signalling.is_audio}
        self.by_channel = {number: cic for cic, number in self.by_cic.items()}
        self.channel = board.open_hdlc(hdlc[0].number)
        self.in_alarm = bool(span.alarms & SIGNALLING_DOWN)
        self.started = False
        self.silence = Silence(board.blocksize / SAMPLE_RATE)

    @property
    def cics(self):
        """Return the CICs of this span's bearer channels, in order."""
        return sorted(self.by_cic)

    def channel_for(self, cic):
        """Return the board's global channel number carrying cic."""
        try:
            return self.by_cic[cic]
        except KeyError:
            raise LocalProtocolError(f"CIC {cic} is not on span {self.span_number}") from None

    def cic_for(self, channel_number):
        """Return the CIC of a global channel number of this span."""
        try:
            return self.by_channel[channel_number]
        except KeyError:
            raise LocalProtocolError(f"channel {channel_number} is no bearer of span {self.span_number}") from None

    def now(self):
        """Return the board clock in seconds."""
        return self.board.sample_time / SAMPLE_RATE

    def start(self):
        """Start aligning the link (now, or once the span's alarm clears); returns events."""
        self.started = True
        if not self.in_alarm:
            self.link.start(self.now())
        return []

    def handle_board_event(self, event):
        """Feed one board event: an alarm on this span takes the link out of service; returns events."""
        change = alarm_change(event, self.span_number, self.in_alarm)
        if change is None:
            return []
        self.in_alarm = change
        if change:
            return self.sp.stop_link(self.slc, self.now())
        if self.started:
            self.link.start(self.now())
        return []

    def service(self):
        """Run one tick: signal units in, timers, signal units out; returns MTP3/ISUP events."""
        now = self.now()
        events = []
        frames = self.channel.read_frames()
        for frame in frames:
            events += self.sp.receive(self.slc, frame, now)
        for _ in range(self.silence.errors(bool(frames), self.link.state, now)):
            events += self.sp.receive_error(self.slc, now)
        deadline = self.sp.next_deadline()
        if deadline is not None and deadline <= now:
            events += self.sp.handle_timer(now)
        if self.in_alarm:
            return events
        for _ in range(MAX_SU_PER_TICK):
            su = self.sp.pull(self.slc, now)
            self.channel.write_frame(su)
            if len(su) < 3 or su[2] & 0x3F < 3:  # a FISU or LSSU: nothing more queued
                break
        return events
