"""One T.30 fax terminal over spandsp, fed and drained one block of audio at a time.

A :class:`FaxSession` sends a TIFF-F file or receives into one, as the calling or the answering
terminal (the T.30 role: the one that sends CNG and waits for DIS, independent of who placed the
telephone call). ``tick(rx)`` takes what the line sent us (int16 linear) and returns the same number
of samples to send; ``tick_g711(codes, law)`` does the same on G.711 codes. Progress is reported as
events (phase B, each page, phase E) to ``on_event`` and collected in ``events``; ``result`` is the
:class:`FaxResult` once phase E has run.
"""
from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from typing import Callable, List, Optional

import numpy as np

from pycallcenter.dsp import SAMPLE_RATE, g711
from pycallcenter.errors import LocalProtocolError
from pycallcenter.fax._lib import ffi, lib

MODEMS = {"v27ter": lib.T30_SUPPORT_V27TER, "v29": lib.T30_SUPPORT_V29, "v17": lib.T30_SUPPORT_V17}
# The fastest rate each modem offers; "max_rate" picks every modem whose top rate fits.
MODEM_TOP_RATE = {"v27ter": 4800, "v29": 9600, "v17": 14400}
COMPRESSIONS = {"t4_1d": lib.T30_SUPPORT_T4_1D_COMPRESSION, "t4_2d": lib.T30_SUPPORT_T4_2D_COMPRESSION,
                "t6": lib.T30_SUPPORT_T6_COMPRESSION}
log = logging.getLogger("pycallcenter.fax")
ERR_OK = lib.T30_ERR_OK
ERR_CALLDROPPED = lib.T30_ERR_CALLDROPPED
ERR_FILEERROR = lib.T30_ERR_FILEERROR
_ENCODINGS = {1: "T.4 1-D", 2: "T.4 2-D", 3: "T.6"}  # t4_compression values in the 0.0.6 statistics


def _dpi(pixels_per_metre):
    return int(round(pixels_per_metre * 0.0254))


@dataclass(frozen=True)
class PhaseB:
    """Negotiation reached: the far terminal's ident (capabilities are settled inside spandsp)."""

    remote_ident: str
    code: int


@dataclass(frozen=True)
class PageDone:
    """One page sent or received: rate, resolution in dpi, size in pixels, bad rows."""

    page: int
    bit_rate: int
    ecm: bool
    x_dpi: int
    y_dpi: int
    width: int
    length: int
    bad_rows: int
    encoding: str


@dataclass(frozen=True)
class PhaseE:
    """The call's end: completion code and its text, pages, the far terminal's ident."""

    code: int
    text: str
    pages: int
    remote_ident: str


@dataclass
class FaxResult:
    """What a fax call achieved; ``ok`` is True when T.30 completed without error."""

    ok: bool
    code: int
    text: str
    pages: int
    remote_ident: str = ""
    bit_rate: int = 0
    ecm: bool = False
    duration: float = 0.0
    path: Optional[str] = None
    page_info: List[PageDone] = field(default_factory=list)
    hangup: bool = False  # the line dropped before T.30 finished

    def as_dict(self) -> dict:
        """Return the result as plain JSON-ready values."""
        d = dict(self.__dict__)
        d["page_info"] = [p.__dict__ for p in self.page_info]
        return d


@ffi.def_extern()
def pycc_fax_phase_b(t30, user, result):
    ffi.from_handle(user)._phase_b(result)
    return 0


@ffi.def_extern()
def pycc_fax_phase_d(t30, user, result):
    ffi.from_handle(user)._phase_d(result)
    return 0


@ffi.def_extern()
def pycc_fax_phase_e(t30, user, code):
    ffi.from_handle(user)._phase_e(code)


def _modem_mask(modems, max_rate):
    names = list(modems) if modems else list(MODEMS)
    for n in names:
        if n not in MODEMS:
            raise ValueError(f"unknown fax modem {n!r}; choose from {sorted(MODEMS)}")
    if max_rate is not None:
        names = [n for n in names if MODEM_TOP_RATE[n] <= max_rate]
        if not names:
            raise ValueError(f"no modem runs at or below {max_rate} bit/s (V.27ter needs 4800)")
    mask = 0
    for n in names:
        mask |= MODEMS[n]
    return mask


class FaxSession:
    """A spandsp fax terminal: ``tick(rx)`` one block at a time until ``done``; then ``result``."""

    def __init__(self, *, calling: bool, send: Optional[str] = None, receive: Optional[str] = None,
                 ecm: bool = True, modems=None, max_rate: Optional[int] = None, ident: str = "",
                 header: str = "", on_event: Optional[Callable] = None, compressions=("t4_1d", "t4_2d", "t6")):
        if (send is None) == (receive is None):
            raise LocalProtocolError("a fax session either sends a file or receives into one")
        if send is not None and not os.path.isfile(send):
            raise FileNotFoundError(f"fax document {send} does not exist")
        if len(ident) > 20:
            raise ValueError("T.30 local ident is at most 20 characters")
        self.calling, self.sending = bool(calling), send is not None
        self.path = send if send is not None else receive
        self.on_event = on_event
        self.events: list = []
        self.pages: List[PageDone] = []
        self.result: Optional[FaxResult] = None
        self.samples = 0
        self._handle = ffi.new_handle(self)
        self._fax = lib.fax_init(ffi.NULL, 1 if calling else 0)
        if self._fax == ffi.NULL:
            raise MemoryError("spandsp fax_init failed")
        lib.fax_set_transmit_on_idle(self._fax, 1)
        t30 = self._t30 = lib.fax_get_t30_state(self._fax)
        self._keep = [ffi.new("char[]", self.path.encode())]
        if self.sending:
            lib.t30_set_tx_file(t30, self._keep[0], -1, -1)
        else:
            lib.t30_set_rx_file(t30, self._keep[0], -1)
        if ident:
            lib.t30_set_tx_ident(t30, ident.encode("ascii"))
        if header:
            lib.t30_set_tx_page_header_info(t30, header.encode("ascii")[:50])
        lib.t30_set_ecm_capability(t30, 1 if ecm else 0)
        lib.t30_set_supported_modems(t30, _modem_mask(modems, max_rate))
        comp = 0
        for c in compressions:
            comp |= COMPRESSIONS[c]
        lib.t30_set_supported_compressions(t30, comp)
        lib.t30_set_phase_b_handler(t30, lib.pycc_fax_phase_b, self._handle)
        lib.t30_set_phase_d_handler(t30, lib.pycc_fax_phase_d, self._handle)
        lib.t30_set_phase_e_handler(t30, lib.pycc_fax_phase_e, self._handle)
        self._buf = np.zeros(SAMPLE_RATE // 50, np.int16)

    # --- audio --------------------------------------------------------------------------------------
    def tick(self, rx) -> np.ndarray:
        """Feed one block the line sent us (int16); return as many int16 samples to send."""
        rx = np.ascontiguousarray(rx, dtype=np.int16)
        n = rx.size
        if self._fax is None:
            return np.zeros(n, np.int16)
        if n:
            lib.fax_rx(self._fax, ffi.cast("int16_t *", ffi.from_buffer(rx)), n)
        if self._buf.size < n:
            self._buf = np.zeros(n, np.int16)
        out = self._buf[:n]
        got = lib.fax_tx(self._fax, ffi.cast("int16_t *", ffi.from_buffer(out)), n)
        if got < n:
            out[got:] = 0
        self.samples += n
        return out.copy()

    def tick_g711(self, codes, law="ulaw") -> np.ndarray:
        """Feed G.711 codes (uint8) in law; return the codes to send."""
        dec = g711.ulaw_decode if law == "ulaw" else g711.alaw_decode
        enc = g711.ulaw_encode if law == "ulaw" else g711.alaw_encode
        return enc(self.tick(dec(np.asarray(codes, np.uint8))))

    @property
    def done(self) -> bool:
        """Return True once phase E has run (or the session was stopped)."""
        return self.result is not None

    def hangup(self) -> FaxResult:
        """The line dropped: end T.30 now (phase E reports call dropped unless it had finished); return the result."""
        if self.result is None and self._fax is not None:
            lib.t30_terminate(self._t30)
            if self.result is None:
                self._phase_e(ERR_CALLDROPPED)
            self.result.hangup = True
        self.close()
        return self.result

    def close(self) -> None:
        """Free the spandsp state (idempotent)."""
        if self._fax is not None:
            lib.fax_free(self._fax)
            self._fax = None
            self._t30 = None

    def __del__(self):
        try:
            self.close()
        except Exception:
            pass

    # --- T.30 callbacks -----------------------------------------------------------------------------
    def _emit(self, ev):
        self.events.append(ev)
        if self.on_event is not None:
            try:
                self.on_event(ev)
            except Exception:  # raised inside a spandsp callback: it must not unwind through C
                log.exception("fax on_event handler failed on %r", ev)

    def _stats(self):
        st = ffi.new("t30_stats_t *")
        lib.t30_get_transfer_statistics(self._t30, st)
        return st

    def _remote_ident(self):
        p = lib.t30_get_rx_ident(self._t30)
        return ffi.string(p).decode("ascii", "replace").strip() if p != ffi.NULL else ""

    def _phase_b(self, code):
        self._emit(PhaseB(self._remote_ident(), int(code)))

    def _phase_d(self, code):
        st = self._stats()
        page = PageDone(page=len(self.pages) + 1, bit_rate=st.bit_rate, ecm=bool(st.error_correcting_mode),
                        x_dpi=_dpi(st.x_resolution), y_dpi=_dpi(st.y_resolution), width=st.width, length=st.length,
                        bad_rows=st.bad_rows, encoding=_ENCODINGS.get(st.encoding, str(st.encoding)))
        self.pages.append(page)
        self._emit(page)

    def _phase_e(self, code):
        if self.result is not None:
            return
        st = self._stats()
        pages = st.pages_tx if self.sending else st.pages_rx
        text = ffi.string(lib.t30_completion_code_to_str(code)).decode("ascii", "replace")
        remote = self._remote_ident()
        self._emit(PhaseE(int(code), text, int(pages), remote))
        self.result = FaxResult(ok=code == ERR_OK, code=int(code), text=text, pages=int(pages), remote_ident=remote,
                                bit_rate=st.bit_rate, ecm=bool(st.error_correcting_mode),
                                duration=self.samples / SAMPLE_RATE, path=self.path, page_info=list(self.pages))
