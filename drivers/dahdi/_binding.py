"""Loads the compiled DAHDI cffi module, or says plainly what is missing."""
from pycallcenter.errors import HardwareError

try:
    from ._dahdi_cffi import ffi, lib
except ImportError as exc:  # not built: no <dahdi/user.h> when the package was compiled
    try:
        from ._cffi_dahdi import MISSING
    except Exception:  # the builder itself may be unimportable without cffi
        MISSING = None
    raise HardwareError(
        "the DAHDI backend is not built: it needs the <dahdi/user.h> headers from the Debian package "
        "dahdi-linux (or dahdi-dkms) at build time; install one and rebuild with "
        "`python setup.py build_ext --inplace` (or `make native`)"
        + (f" [{MISSING}]" if MISSING else f" [{exc}]")
    ) from exc

__all__ = ["ffi", "lib"]
