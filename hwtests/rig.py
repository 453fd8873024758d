"""The test rig: one open group of every audio channel, the D-channels, and a tick loop that logs events.

Every check drives the board through ``Rig.run``: each tick it sends whatever audio the checks queued
(idle code otherwise), reads one block of every channel, collects frames and events. Only the
board API is used, so the same rig runs on the emulator, on DAHDI, and on DAHDI over the fake kernel.
"""
from __future__ import annotations

import numpy as np

from pycallcenter.drivers import Law


class DspMissing(Exception):
    """A pycallcenter.dsp module a check needs is not available."""


def dsp(name):
    """Return pycallcenter.dsp.<name>, or raise DspMissing saying which module is absent."""
    import importlib

    try:
        return importlib.import_module(f"pycallcenter.dsp.{name}")
    except Exception as exc:  # not built yet, or a native kernel missing
        raise DspMissing(f"pycallcenter.dsp.{name} not available ({exc})") from exc


class Rig:
    """A board under test with all its audio channels open at once."""

    def __init__(self, board, cables=None):
        self.board = board
        self.cables = cables  # CableControl or None
        self.tick_ms = board.blocksize / 8.0
        chans = sorted(board.channels.values(), key=lambda c: c.number)
        self.audio = [c for c in chans if c.signalling.is_audio]
        self.dchans = [c for c in chans if c.signalling.is_hdlc]
        self.row = {c.number: i for i, c in enumerate(self.audio)}
        self.group = board.open([c.number for c in self.audio]) if self.audio else None
        for c in self.dchans:
            board.open_hdlc(c.number)
        self.idle = np.array([c.law.idle for c in self.audio], dtype=np.uint8)
        self.pending = {}  # row -> uint8 codes still to send
        self.events = []  # every event seen, in order
        self.frames = {c.number: [] for c in self.dchans}  # frames received per D-channel
        self.ticks = 0

    # --- audio ---
    def law(self, number):
        """Return the Law of channel number."""
        return self.board.channel(number).law

    def encode(self, number, samples):
        """Return G.711 codes of int16 samples in channel number's law."""
        g711 = dsp("g711")
        fn = g711.ulaw_encode if self.law(number) is Law.ULAW else g711.alaw_encode
        return fn(np.ascontiguousarray(samples, dtype=np.int16))

    def decode(self, number, codes):
        """Return int16 samples of channel number's G.711 codes."""
        g711 = dsp("g711")
        fn = g711.ulaw_decode if self.law(number) is Law.ULAW else g711.alaw_decode
        return fn(np.ascontiguousarray(codes, dtype=np.uint8))

    def send(self, number, samples):
        """Queue int16 samples to send on channel number after what is already queued."""
        codes = self.encode(number, samples)
        row = self.row[number]
        self.pending[row] = np.concatenate([self.pending.get(row, np.zeros(0, np.uint8)), codes])

    def run(self, ticks, record=(), until=None):
        """Run up to ticks ticks; return {channel: received G.711 codes} for the channels in record.

        ``until(rig)`` is checked after each tick and stops the run early when it returns True.
        """
        got = {n: [] for n in record}
        bs = self.board.blocksize
        for _ in range(int(ticks)):
            if self.group is not None:
                tx = np.repeat(self.idle[:, None], bs, axis=1)
                for row, codes in list(self.pending.items()):
                    n = min(bs, len(codes))
                    tx[row, :n] = codes[:n]
                    if len(codes) > n:
                        self.pending[row] = codes[n:]
                    else:
                        del self.pending[row]
                self.group.write(tx)
                rx = self.group.read()
                for n in record:
                    got[n].append(rx[self.row[n]].copy())
            else:
                self.board.step(1)
            for c in self.dchans:
                self.frames[c.number].extend(c.read_frames())
            self.events.extend(self.board.poll_events())
            self.ticks += 1
            if until is not None and until(self):
                break
        return {n: (np.concatenate(v) if v else np.zeros(0, np.uint8)) for n, v in got.items()}

    def seconds(self, s):
        """Return the number of ticks in s seconds."""
        return max(1, int(round(s * 1000.0 / self.tick_ms)))

    # --- events ---
    def mark(self):
        """Return a position in the event log; events_since(mark) gives what came after it."""
        return len(self.events)

    def events_since(self, mark, kind=None, channel=None, span=None):
        """Return events after mark, filtered by kind, channel and span when given."""
        out = []
        for e in self.events[mark:]:
            if kind is not None and e.kind is not kind:
                continue
            if channel is not None and e.channel != channel:
                continue
            if span is not None and e.span != span:
                continue
            out.append(e)
        return out

    def saw(self, mark, kind, channel=None, span=None):
        """Return True if an event of kind (on channel/span) came after mark."""
        return bool(self.events_since(mark, kind, channel, span))

    def close(self):
        """Close everything the rig opened; return None."""
        if self.group is not None:
            self.group.close()
        for c in self.dchans:
            c.close()


class CableControl:
    """How the suite pulls and restores a span's cable: emulator faults, or an operator at the bench."""

    def __init__(self, pull, restore, how):
        self.pull = pull
        self.restore = restore
        self.how = how  # shown in the report
