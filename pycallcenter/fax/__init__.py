"""Fax over spandsp: sessions, detection, the document library, the inbox and IVR verbs.

Submodules: session (FaxSession, FaxResult), detect (FaxDetector), documents (DocumentLibrary),
inbox (FaxInbox), ivr (receive_fax, send_fax, detect_fax, fax_on_demand), callback (fax_callback),
switch (fax_aware: any call switched to fax when one is heard), loopback (the far spandsp terminal of
``pycallcenter.apps.fax_loopback.run_loopback``, which builds the engine and its script).
The spandsp binding is loaded on first use of a name that needs it, so the document library works on
a machine without libspandsp; using a session there raises HardwareError naming libspandsp-dev.
"""
import importlib

_WHERE = {
    "FaxSession": "session", "FaxResult": "session", "PhaseB": "session", "PageDone": "session", "PhaseE": "session",
    "FaxDetector": "detect", "DocumentLibrary": "documents", "DocumentError": "documents",
    "convert_to_tiff_f": "documents", "FaxInbox": "inbox", "receive_fax": "ivr", "send_fax": "ivr",
    "detect_fax": "ivr", "watch_for_fax": "ivr", "fax_on_demand": "ivr", "fax_callback": "callback",
    "fax_aware": "switch", "FaxDetected": "switch",
}
__all__ = sorted(_WHERE)


def __getattr__(name):
    if name in _WHERE:
        return getattr(importlib.import_module(f"pycallcenter.fax.{_WHERE[name]}"), name)
    raise AttributeError(f"module 'pycallcenter.fax' has no attribute {name!r}")
