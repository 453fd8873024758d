"""Loads the compiled spandsp binding once; a missing build says which Debian package to install."""
from pycallcenter.errors import HardwareError

try:
    from pycallcenter.fax._spandsp import ffi, lib  # noqa: F401  (re-exported)
except ImportError as exc:  # pragma: no cover - depends on the machine
    raise HardwareError(
        "fax needs the spandsp binding pycallcenter.fax._spandsp, which is not built: install the Debian package "
        "libspandsp-dev and run `python setup.py build_ext --inplace` (" + str(exc) + ")"
    ) from exc
