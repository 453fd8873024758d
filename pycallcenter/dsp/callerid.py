"""Caller ID: the SDMF/MDMF and DTMF CLIP codecs (``callerid_codec``) and the audio that carries them.

``callerid_signal`` makes the FSK (Bell 202 / V.23) or DTMF CLIP signal of a CallerId and
``decode_callerid`` finds them in audio; the message codecs are re-exported here, so this module is the one
place a caller ID user imports from.
"""
from pycallcenter.dsp import dtmf, fsk
from pycallcenter.dsp.callerid_codec import (  # noqa: F401  (public re-exports)
    SDMF_CALLERID,
    SDMF_MWI,
    MDMF_CALLERID,
    MDMF_MWI,
    P_DATETIME,
    P_NUMBER,
    P_DIALLED,
    P_NUMBER_ABSENT,
    P_REDIRECT,
    P_QUALIFIER,
    P_NAME,
    P_NAME_ABSENT,
    P_VISUAL_INDICATOR,
    CallDateTime,
    checksum,
    frame,
    unframe,
    CallerId,
)
from pycallcenter.dsp.tones import dtmf_signal
from pycallcenter.errors import DecodeError

# -- audio helpers --------------------------------------------------------------------------------
DTMF_ON_MS = 70  # EN 300 659-1 DTMF CLIP: 70 ms +-5 tone, at least 65 ms pause
DTMF_OFF_MS = 70


def callerid_signal(callerid, standard="bell202", fmt="mdmf", *, level_dbm0=-13.0, seizure_bits=None, mark_bits=None):
    """Return int16 samples sending callerid as FSK (bell202/v23, fmt sdmf/mdmf) or DTMF CLIP (standard="dtmf")."""
    if standard == "dtmf":
        # level_dbm0 is the pair's; each tone carries half the power
        return dtmf_signal(callerid.to_dtmf(), level_dbm0=level_dbm0 - 3.0, on_ms=DTMF_ON_MS, off_ms=DTMF_OFF_MS)
    if fmt not in ("sdmf", "mdmf"):
        raise ValueError(f"fmt must be 'sdmf' or 'mdmf', got {fmt!r}")
    message = callerid.to_sdmf() if fmt == "sdmf" else callerid.to_mdmf()
    return fsk.modulate_message(message, standard, level_dbm0=level_dbm0, seizure_bits=seizure_bits,
                                mark_bits=mark_bits)


def decode_callerid(samples, standard="bell202"):
    """Return the list of CallerId found in int16 samples (FSK messages with good checksums, or DTMF CLIP)."""
    if standard == "dtmf":
        return _decode_dtmf_audio(samples)
    rx = fsk.FskReceiver(1, standard)
    return [ev.callerid for ev in rx.process(samples) if ev.callerid is not None]


def _decode_dtmf_audio(samples):
    """Return CallerIds in the DTMF digits pycallcenter.dsp.dtmf detects in samples."""
    det = dtmf.DtmfDetector(1)
    digits = "".join(ev.digit for ev in det.process(samples) if ev.kind == "begin")
    out = []
    start = None
    for i, d in enumerate(digits):
        if d in "ABD" and start is None:
            start = i
        elif d in "C#" and start is not None:
            try:
                out.append(CallerId.from_dtmf(digits[start:i + 1]))
            except DecodeError:
                pass
            start = None
    return out
