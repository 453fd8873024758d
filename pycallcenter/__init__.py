"""pycallcenter: telephony board driver stack with a Python call-centre API."""

__version__ = "0.1.0"
