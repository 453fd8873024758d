"""Switch variants: the differences between EuroISDN, NI-2, AT&T 4ESS/5ESS and DMS-100 that the stack acts on."""
from dataclasses import dataclass

from pycallcenter.errors import ConfigError

E1_CHANNELS = tuple(c for c in range(1, 32) if c != 16)
T1_CHANNELS = tuple(range(1, 24))


@dataclass(frozen=True)
class Variant:
    """What differs between switch types; libpri_switchtype is the number libpri uses for the same switch."""

    name: str
    libpri_switchtype: int
    channels: tuple  # B-channel numbers on the span
    layer1: int  # bearer user-info layer 1: 2 mu-law, 3 A-law
    display_codeset: int  # where the display IE (calling name) goes: 0, or 6 with a shift
    display_locking: bool  # locking (True) or non-locking shift to display_codeset
    display_type: int = None  # NI-2 style display type octet, or None
    service_pd: int = None  # protocol discriminator of SERVICE messages; None: not supported


VARIANTS = {
    "euroisdn_e1": Variant("euroisdn_e1", 5, E1_CHANNELS, 3, 0, False),
    "euroisdn_t1": Variant("euroisdn_t1", 6, T1_CHANNELS, 2, 0, False),
    "ni2": Variant("ni2", 1, T1_CHANNELS, 2, 0, False, None, 0x03),
    # libpri (the reference peer) sends and reads the display IE in codeset 0 on 5ESS/4ESS too
    "5ess": Variant("5ess", 3, T1_CHANNELS, 2, 0, False, None, 0x03),
    "4ess": Variant("4ess", 4, T1_CHANNELS, 2, 0, False, None, 0x43),
    "dms100": Variant("dms100", 2, T1_CHANNELS, 2, 0, False, None, 0x03),
}


def get_variant(name):
    """Return the Variant called name; raises ConfigError listing the known ones."""
    if isinstance(name, Variant):
        return name
    try:
        return VARIANTS[name]
    except KeyError:
        raise ConfigError(f"unknown ISDN switch variant {name!r} (known: {', '.join(sorted(VARIANTS))})") from None
