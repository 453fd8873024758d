"""The far side of a fax call through the emulated board: a plain spandsp terminal on the far end of an
emulated PSTN line (an FXO port), G.711 in between, and the board that carries it. The call itself, our
FaxSession on an engine leg answered by a script, is run by ``pycallcenter.apps.fax_loopback.run_loopback``
(it builds an engine and starts a script, so it lives where the script API may be imported).

The far terminal is a second spandsp instance driven directly (fax_rx/fax_tx on the line's audio,
no FaxSession code), so our session logic is checked against spandsp itself.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Optional

import numpy as np

from pycallcenter.drivers.emulator.core import DBM0_RMS
from pycallcenter.dsp import g711
from pycallcenter.fax._lib import ffi, lib
from pycallcenter.fax.session import FaxResult, _modem_mask

BOARD = """
[board]
law = "{law}"
tonezones = ["us"]
[[span]]
span = 1
kind = "fxo"
channels = 1
[[channels]]
signalling = "fxs_ks"
channels = "1"
[emulator]
seed = {seed}
[emulator.line]
polarity_on_answer = true
[[emulator.cable]]
kind = "pstn_line"
channels = "1"
name = "pstn"
"""


class SpandspTerminal:
    """A bare spandsp fax terminal on a far end: sends or receives a file; ``code``/``pages`` after phase E."""

    def __init__(self, calling, send=None, receive=None, ecm=True, modems=None, ident="SPANDSP"):
        self.fax = lib.fax_init(ffi.NULL, 1 if calling else 0)
        lib.fax_set_transmit_on_idle(self.fax, 1)
        self.t30 = lib.fax_get_t30_state(self.fax)
        self._path = ffi.new("char[]", (send or receive).encode())
        if send:
            lib.t30_set_tx_file(self.t30, self._path, -1, -1)
        else:
            lib.t30_set_rx_file(self.t30, self._path, -1)
        lib.t30_set_tx_ident(self.t30, ident.encode())
        lib.t30_set_ecm_capability(self.t30, 1 if ecm else 0)
        lib.t30_set_supported_modems(self.t30, _modem_mask(modems, None))
        self.sending = bool(send)
        self.buf = np.zeros(160, np.int16)

    def step(self, rx: np.ndarray) -> np.ndarray:
        """Feed int16 samples heard from the line; return as many to send."""
        rx = np.ascontiguousarray(rx, np.int16)
        if rx.size:
            lib.fax_rx(self.fax, ffi.cast("int16_t *", ffi.from_buffer(rx)), rx.size)
        if self.buf.size != rx.size:
            self.buf = np.zeros(rx.size, np.int16)
        got = lib.fax_tx(self.fax, ffi.cast("int16_t *", ffi.from_buffer(self.buf)), rx.size)
        self.buf[got:] = 0
        return self.buf.copy()

    @property
    def active(self) -> bool:
        """Return True while T.30 is still running."""
        return bool(lib.t30_call_active(self.t30))

    def stats(self):
        """Return (pages, completion code text) from spandsp's own statistics."""
        st = ffi.new("t30_stats_t *")
        lib.t30_get_transfer_statistics(self.t30, st)
        return (st.pages_tx if self.sending else st.pages_rx), st.current_status

    def close(self):
        """Free the spandsp state."""
        if self.fax is not None:
            lib.fax_free(self.fax)
            self.fax = None


class FarEnd:
    """Drives a far-end terminal on an emulated line: after each engine tick, what the line carried to
    the far end is decoded, impaired like the other direction (loss, noise, G.711 again) and fed to the
    terminal, and the terminal's answer is queued on the line. ``terminal`` may be set or cleared later."""

    def __init__(self, line, terminal=None, law="ulaw", seed=1, noise_dbm0=None, level_db=None):
        self.line, self.terminal = line, terminal
        self.decode = g711.ulaw_decode if law == "ulaw" else g711.alaw_decode
        self.encode = g711.ulaw_encode if law == "ulaw" else g711.alaw_encode
        self.gain = None if not level_db else 10.0 ** (level_db / 20.0)
        self.noise = None if noise_dbm0 is None else DBM0_RMS * 10.0 ** (noise_dbm0 / 20.0)
        self.rng = np.random.default_rng(seed + 1)

    def step(self):
        """Move one tick of audio to and from the terminal."""
        codes = self.line.read_audio()
        if codes.size == 0 or self.terminal is None:
            return
        heard = self.decode(codes)
        if self.gain is not None or self.noise is not None:
            x = heard.astype(np.float64)
            if self.gain is not None:
                x *= self.gain
            if self.noise is not None:
                x += self.rng.standard_normal(x.size) * self.noise
            heard = self.decode(self.encode(np.clip(np.rint(x), -32768, 32767).astype(np.int16)))
        self.line.write_audio(self.terminal.step(heard))


@dataclass
class LoopbackResult:
    """Our side's FaxResult, the far terminal's page count and status code, and the line time."""

    ours: Optional[FaxResult]
    far_pages: int
    far_status: int
    seconds: float


def write_sent_copy(document, path):
    """Copy the document as sent (the TIFF our side transmitted) to path; return path."""
    import shutil

    if os.path.abspath(document) != os.path.abspath(path):
        shutil.copyfile(document, path)
    return path
