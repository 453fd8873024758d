"""pycallcenter: telephony board driver stack with a Python call-centre API."""
from pycallcenter import _compiled

__version__ = "0.1.0"

_compiled.install()  # compiled hot modules, but never a stale one (see pycallcenter/_compiled.py)
