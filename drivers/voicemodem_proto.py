"""ITU-T V.253 voice-modem framing: DLE shielding, shielded event codes and caller-ID report lines.

Pure functions and a small incremental parser, no I/O; ``voicemodem.py`` drives a serial port with them.
"""
from dataclasses import dataclass

import numpy as np

DLE = 0x10
ETX = 0x03
DC4 = 0x14
CAN = 0x18

# DLE-shielded codes the modem sends (V.253 table of DCE event reports); DTMF digits are handled apart.
DLE_EVENTS = {
    ord("a"): "answer_tone", ord("b"): "busy", ord("c"): "fax_calling_tone", ord("d"): "dial_tone",
    ord("e"): "data_calling_tone", ord("f"): "bell_answer_tone", ord("h"): "handset_on_hook",
    ord("H"): "handset_on_hook", ord("l"): "loop_current_break", ord("L"): "loop_current_break",
    ord("q"): "quiet", ord("s"): "silence", ord("u"): "underrun", ord("o"): "overrun",
    ord("R"): "ring", ord("t"): "handset_off_hook", ord("P"): "polarity",
}
DTMF_CODES = frozenset(b"0123456789*#ABCD")

# Caller-ID report keys (AT+VCID=1 formatted reports) and the names we give them.
CID_KEYS = {"DATE": "date", "TIME": "time", "NMBR": "number", "NAME": "name", "MESG": "message",
            "DDN_NMBR": "dialled_number"}


def dle_escape(data):
    """Return data with every DLE byte doubled, as V.253 requires in the transmit stream."""
    return bytes(data).replace(b"\x10", b"\x10\x10")


def end_of_transmit():
    """Return the DLE ETX pair that ends a voice transmit stream."""
    return bytes((DLE, ETX))


@dataclass(frozen=True)
class ShieldedEvent:
    """One DLE-shielded report: kind is 'dtmf', 'end' or a DLE_EVENTS name; offset is in audio bytes."""

    kind: str
    offset: int
    digit: str = ""


class DleDecoder:
    """Splits a voice receive stream into audio bytes and shielded events; DLE pairs may straddle reads."""

    def __init__(self):
        self._pending_dle = False
        self.audio_bytes = 0
        self.ended = False
        self.leftover = b""  # bytes that followed DLE ETX (command-mode text)

    def feed(self, data):
        """Return (audio: bytes, events: list[ShieldedEvent]) for the next chunk of the stream."""
        audio = bytearray()
        events = []
        data = bytes(data)
        for i, byte in enumerate(data):
            if not self._pending_dle:
                if byte == DLE:
                    self._pending_dle = True
                else:
                    audio.append(byte)
                continue
            self._pending_dle = False
            where = self.audio_bytes + len(audio)
            if byte == DLE:
                audio.append(DLE)
            elif byte == ETX:
                events.append(ShieldedEvent("end", where))
                self.ended = True
                self.leftover = data[i + 1:]  # command-mode text again; the caller reads it as lines
                break
            elif byte in DTMF_CODES:
                events.append(ShieldedEvent("dtmf", where, chr(byte)))
            else:
                events.append(ShieldedEvent(DLE_EVENTS.get(byte, f"unknown_{byte:#04x}"), where))
        self.audio_bytes += len(audio)
        return bytes(audio), events


def parse_cid_line(line):
    """Return (name, value) for a caller-ID report line like 'NMBR = 5551234', else None."""
    if "=" not in line:
        return None
    key, _, value = line.partition("=")
    name = CID_KEYS.get(key.strip().upper())
    if name is None:
        return None
    return name, value.strip()


def u8_to_int16(data):
    """Return int16 samples from unsigned 8-bit linear voice bytes (V.253 compression 128 on many chipsets)."""
    return ((np.frombuffer(bytes(data), dtype=np.uint8).astype(np.int16) - 128) << 8).astype(np.int16)


def int16_to_u8(samples):
    """Return unsigned 8-bit linear bytes for int16 samples (rounded to nearest, clipped)."""
    s = np.asarray(samples, dtype=np.int32)
    return np.clip((s + 128) >> 8, -128, 127).astype(np.int16).__add__(128).astype(np.uint8).tobytes()
