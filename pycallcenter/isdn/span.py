"""A PRI span on the driver API: Q.921/Q.931 over the span's D-channel, B-channels handed to calls.

The board is the clock: service() is called once per tick, reads the D-channel's frames, runs timers and
writes what the stack sends. Span alarms take the D-channel down at once (calls handled as Q.931 5.8.9
says: active calls wait T309, others are cleared) and recovery re-establishes it.
"""
from pycallcenter.drivers.base import SAMPLE_RATE, SpanKind
from pycallcenter.drivers.events import SIGNALLING_DOWN, alarm_change
from pycallcenter.errors import ConfigError
from pycallcenter.isdn.call import Interface


class PriSpan:
    """One PRI span: owns the D-channel of board span span_number and an Interface (user or network side)."""

    def __init__(self, board, span_number, network=False, variant=None, timers=None, tracer=None):
        span = board.span(span_number)
        if variant is None:
            variant = "euroisdn_e1" if span.kind is SpanKind.E1 else "ni2"
        chans = list(span.channels)
        dchans = [c for c in chans if c.signalling.is_hdlc]
        if len(dchans) != 1:
            raise ConfigError(f"span {span_number} needs exactly one dchan/hardhdlc channel, has {len(dchans)}")
        self.board = board
        self.span_number = span_number
        self.bchannels = {c.offset: c.number for c in chans if c.signalling.is_audio}
        self.iface = Interface(network=network, variant=variant, timers=timers, tracer=tracer)
        self.dchan = board.open_hdlc(dchans[0].number)
        self.in_alarm = bool(span.alarms & SIGNALLING_DOWN)
        self.started = False

    def now(self):
        """Return the board clock in seconds."""
        return self.board.sample_time / SAMPLE_RATE

    def start(self):
        """Bring the D-channel up (now, or when the span's alarm clears); returns events."""
        self.started = True
        if self.in_alarm:
            return self.iface.alarm(self.now())
        return self.iface.start(self.now())

    def board_channel(self, call):
        """Return the board's global channel number carrying call's B-channel (None if none yet)."""
        return self.bchannels.get(call.channel)

    def handle_board_event(self, event):
        """Feed one board event (alarms of this span matter); returns Q.931 events."""
        change = alarm_change(event, self.span_number, self.in_alarm)
        if change is None:
            return []
        self.in_alarm = change
        if change:
            return self.iface.alarm(self.now())
        if self.started:
            return self.iface.recover(self.now())
        return []

    def service(self):
        """Run one tick: frames in, timers, frames out; returns Q.931 events."""
        now = self.now()
        events = []
        for frame in self.dchan.read_frames():
            events += self.iface.receive(frame, now)
        deadline = self.iface.next_deadline()
        if deadline is not None and deadline <= now:
            events += self.iface.handle_timer(now)
        for frame in self.iface.pop_frames():
            self.dchan.write_frame(frame)
        return events
