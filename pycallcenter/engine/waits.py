"""What wakes the scripts' ops that are not polled every tick (``Op.polled = False``).

The scheduler polls such an op only when something it waits for may have changed. Deadlines go through the
scheduler's timer heap (``Op.wake_at``); this module signals the rest:

- ``LegSignals``: every event of a leg (answered, alerting, flash, ended, a digit) signals ``leg_key(leg)``,
  so an op waiting on a leg's state or digits says ``wake_on(leg_key(leg))``;
- the media plane's ``on_player_end``: a row's player ending or stopped signals ``player_key(row)``
  (``wake_on_player``), for an op waiting for a prompt or music to end;
- ``SilenceWatch``: the trailing silence of the rows that record or collect with a silence limit, measured
  for all of them in one array pass a tick (a media tap), waking an op only when its row has been quiet for
  its limit. The op still decides for itself, with the same test it ran when it was polled every tick.
"""
import numpy as np


def leg_key(leg):
    """Return the scheduler key that every event of ``leg`` signals."""
    return ("leg", leg.id)


class LegSignals:
    """An engine listener that signals a leg's key to the scheduler on each of the leg's events."""

    def __init__(self, engine):
        self.scheduler = engine.scheduler
        engine.listeners.append(self)

    @classmethod
    def of(cls, engine):
        """Return the engine's LegSignals, creating it on first use."""
        signals = getattr(engine, "leg_signals", None)
        if signals is None:
            signals = engine.leg_signals = cls(engine)
        return signals

    def on_leg_event(self, kind, leg):
        """Wake the ops waiting on this leg."""
        self.scheduler.signal(("leg", leg.id))

    def on_leg_digit(self, leg):
        """Wake the ops waiting on this leg's digits."""
        self.scheduler.signal(("leg", leg.id))


def player_key(row):
    """Return the scheduler key signalled when ``row``'s player ends or is stopped."""
    return ("player", row)


def wake_on_player(op, engine, row):
    """Have ``op`` polled whenever the media plane's player on ``row`` ends or is stopped; returns None."""
    media = engine.media
    if media.on_player_end is None:
        scheduler = engine.scheduler
        media.on_player_end = lambda ended: scheduler.signal(("player", ended))
    op.wake_on(player_key(row))


def wake_on_leg(op, leg):
    """Have ``op`` polled on every event of ``leg`` (its end included); returns None."""
    LegSignals.of(leg.engine)
    op.wake_on(leg_key(leg))


def row_rms(rx, row):
    """Return the RMS of one row of a tick's audio (the test an op applies to its own row)."""
    return float(np.sqrt(np.mean(rx[row].astype(np.float64) ** 2)))


class SilenceWatch:
    """Trailing silence on watched rows, for every watch at once: each tick one gather and one RMS over
    the watched rows, the rows louder than their level marked loud now, and the watches whose row has
    been quiet for their limit woken. The squares of int16 samples summed in float64 are exact whatever
    the order, so the batched RMS equals ``row_rms`` of each row bit for bit."""

    def __init__(self, engine):
        self.engine = engine
        self.watches: list = []  # slot -> Quiet, packed
        self._rows = np.zeros(0, np.intp)
        self._levels = np.zeros(0)
        self._limits = np.zeros(0, np.int64)
        self._since = np.zeros(0, np.int64)  # per slot: the board time silence counts from
        engine.media.taps.append(self)

    @classmethod
    def of(cls, engine):
        """Return the engine's SilenceWatch, creating it on first use."""
        watch = getattr(engine.media, "silence_watch", None)
        if watch is None:
            watch = engine.media.silence_watch = cls(engine)
        return watch

    def watch(self, op, row, level, limit, since):
        """Start watching ``row`` for ``op``: woken once the row has been no louder than ``level`` (RMS)
        for ``limit`` samples counted from ``since``; return the Quiet handle."""
        q = Quiet(self, op, len(self.watches))
        self.watches.append(q)
        self._rows = np.append(self._rows, row)
        self._levels = np.append(self._levels, float(level))
        self._limits = np.append(self._limits, limit)
        self._since = np.append(self._since, since)
        return q

    def _drop(self, q):
        slot, last = q.slot, len(self.watches) - 1
        if slot != last:  # keep the slots packed: the last one moves into the gap
            moved = self.watches[last]
            self.watches[slot], moved.slot = moved, slot
            for a in (self._rows, self._levels, self._limits, self._since):
                a[slot] = a[last]
        self.watches.pop()
        self._rows, self._levels = self._rows[:last], self._levels[:last]
        self._limits, self._since = self._limits[:last], self._since[:last]

    def tap(self, rx):
        """Called by the media plane with each tick's decoded audio."""
        if not self.watches:
            return
        now = self.engine.now
        block = rx[self._rows].astype(np.float64)
        loud = np.sqrt(np.mean(block * block, axis=1)) > self._levels
        since = self._since
        since[loud] = now
        due = np.flatnonzero(now - since >= self._limits)
        if due.size:
            watches = self.watches
            for slot in due.tolist():
                watches[slot].op_due()


class Quiet:
    """One op's watch in a SilenceWatch: ``since`` is when its silence began (a loud tick moves it)."""

    def __init__(self, watch, op, slot):
        self.watch, self.op, self.slot = watch, op, slot

    @property
    def since(self):
        """Return the board time the row's current silence counts from."""
        return int(self.watch._since[self.slot])

    @since.setter
    def since(self, when):
        self.watch._since[self.slot] = when

    def op_due(self):
        """The row has been quiet for the limit: wake the op."""
        task = self.op.task
        if task is not None and task.op is self.op and task.scheduler is not None:
            task.scheduler.wake(task)

    def close(self):
        """Stop watching (idempotent)."""
        if self.slot is not None:
            self.watch._drop(self)
            self.slot = None
