"""The emulator's channels and media: channel faults (dead channels, line noise, hybrid echo, line level),
the receive impairments each tick applies to the audio, and dialled audio going out. A mixin of ``Emulator``
(``core.py``), whose tick calls ``_dial_tick`` and ``_impair``.
"""
from __future__ import annotations

import numpy as np

from ..events import EventKind
from . import media
from .echo import hybrid_response

DBM0_RMS = 16100.0  # rms of a 0 dBm0 sine in 16-bit linear (G.711 full scale is about +3.2 dBm0)


class ChannelMedia:
    """Channel faults and the media impairments of the Emulator."""

    # --- channel faults ----------------------------------------------------------------------------
    def kill_channel(self, channel: int, dead: bool = True) -> None:
        """Make a channel dead (no audio, no signalling either way) or bring it back."""
        ch = self._channel(channel)
        (self._dead.add if dead else self._dead.discard)(ch.row)
        if ch.line is not None:
            ch.line.dead = dead

    def set_line_noise(self, channel: int, level_dbm0=None) -> None:
        """Add white noise at level_dbm0 to what channel receives (None: none)."""
        row = self._channel(channel).row
        if level_dbm0 is None:
            self._noise.pop(row, None)
        else:
            self._noise[row] = DBM0_RMS * 10.0 ** (float(level_dbm0) / 20.0)
        self._noise_cache = None

    def hybrid_echo(self, channel, erl_db=12.0, delay_ms=4.0, dispersion_ms=6.0, seed=0) -> None:
        """Make channel's line return an echo of what the board sends on it (erl_db None: no echo)."""
        ch = self._channel(channel)
        if not ch.signalling.is_audio:
            raise ValueError(f"channel {ch.number} carries no audio: it cannot return echo")
        h = None if erl_db is None else hybrid_response(float(erl_db), float(delay_ms), float(dispersion_ms), seed)
        self._echo.set(ch.row, ch.line_law, h)

    def set_line_level(self, channel: int, gain_db: float = 0.0) -> None:
        """Change the level channel receives by gain_db (line loss or gain)."""
        row = self._channel(channel).row
        if gain_db:
            self._level[row] = float(gain_db)
        else:
            self._level.pop(row, None)

    # --- per tick: the channels' audio -------------------------------------------------------------
    def _dial_tick(self, c, T, t0):
        chunk = c.dial_audio[: self.blocksize]
        T[c.row, : len(chunk)] = chunk
        rest = c.dial_audio[self.blocksize:]
        if len(rest):
            c.dial_audio = rest
        else:
            c.dial_audio = None
            self._dialling.remove(c)
            self.emit(EventKind.DIAL_COMPLETE, c.span.number, c.number, t0 + len(chunk), {"digits": c.dial_digits},
                      c.board)
            c.dial_digits = ""

    def _impair(self, R):
        for span in self._all_spans:
            if span.ber and span.kind.digital:
                self._bit_errors(span, R)
        for row, gain in self._level.items():
            R[row] = media.gain_table(self.rows[row].line_law, gain)[R[row]]
        for law, rows, rms in self._noise_groups():
            noise = self.rng.standard_normal((len(rows), self.blocksize)) * rms
            R[rows] = media.encode(np.rint(media.decode(R[rows], law) + noise), law)
        for row in self._dead:
            R[row] = self._idle_line[row]

    def _noise_groups(self):
        """Return [(law, rows, rms column)] for the noisy rows, built once per change of the noise settings."""
        if self._noise_cache is None:
            by_law: dict = {}
            for row, rms in sorted(self._noise.items()):
                rows, levels = by_law.setdefault(self.rows[row].line_law, ([], []))
                rows.append(row)
                levels.append(rms)
            self._noise_cache = [(law, np.array(r, dtype=np.intp), np.array(v)[:, None])
                                 for law, (r, v) in by_law.items()]
        return self._noise_cache
