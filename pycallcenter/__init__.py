"""pycallcenter: telephony board driver stack with a Python call-centre API.

Building an engine that runs scripts, from Python: the composition root builds the whole centre from its
config (``pycallcenter.apps.centre``, what ``pycallcenter run`` and the demo use). For a bare engine, open a
board (``pycallcenter.drivers.open_board``), build ``pycallcenter.engine.engine.Engine(board)`` and give it
the script API, ``engine.call_factory = pycallcenter.ivr.IvrCall`` (importing ``pycallcenter.ivr`` also
registers it for every engine); set ``engine.router`` to return an ``async def main(call)`` script per leg.
The engine layer never imports the script API itself (the layers only point down): whatever builds an
engine and starts scripts lives at the script API's layer or above, as ``pycallcenter.apps.fax_loopback``
does.
"""
from pycallcenter import _compiled

__version__ = "0.1.0"

_compiled.install()  # compiled hot modules, but never a stale one (see pycallcenter/_compiled.py)
