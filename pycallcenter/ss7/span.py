"""An SS7 span on the driver API: MTP2 over the span's HDLC channel, ISUP circuits mapped to its bearer channels.

The board is the clock: ``service()`` runs once per tick, reads the HDLC channel's frames (the board adds and
checks the FCS), runs timers and writes what the link sends: every queued MSU, then one FISU or LSSU so the
far end keeps seeing the link. CIC n maps to the audio channel at timeslot ``n - first_cic`` of the span.
"""
from pycallcenter.drivers.base import SAMPLE_RATE
from pycallcenter.drivers.events import SIGNALLING_DOWN, alarm_change
from pycallcenter.errors import ConfigError, LocalProtocolError

MAX_SU_PER_TICK = 64


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
        for frame in self.channel.read_frames():
            events += self.sp.receive(self.slc, frame, now)
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
