"""Pure-Python modules that the build also compiles with Cython, and the import rule for them.

The modules named in MODULES stay ordinary Python: the source is the reference and what a reader or a
debugger sees. ``setup.py`` additionally compiles each one with Cython into an extension module beside
its ``.py`` (same name), which Python's import system prefers. On the PRI and SS7 stacks this is worth
a fifth to a half of the time per call or signal unit (see docs/performance.md).

Two rules keep the compiled copy from ever running stale or hiding a bug in the source:

* when the ``.py`` is newer than its compiled module (an edit not yet rebuilt), the source is imported;
  in an installed wheel, whose file times are the installer's, when the ``.py`` differs from the one the
  wheel's build compiled (``_compiled_sources.json``, written by setup.py);
* with ``PYCC_PURE=1`` in the environment, every module here is imported from source (the test suite
  runs the PRI and SS7 tests this way too, so the source stays correct on its own).

``install()`` puts the finder that applies these rules at the front of ``sys.meta_path``; the package's
``__init__`` calls it.
"""
import hashlib
import importlib.machinery
import importlib.util
import json
import os
import sys

# Modules compiled by setup.py (dotted names; each is a plain .py file in the source tree).
MODULES = (
    "pycallcenter.isdn.call",
    "pycallcenter.isdn.callstate",
    "pycallcenter.isdn.events",
    "pycallcenter.isdn.ie",
    "pycallcenter.isdn.lapd",
    "pycallcenter.isdn.q931",
    "pycallcenter.isdn.timers",
    "pycallcenter.ss7.fields",
    "pycallcenter.ss7.isup",
    "pycallcenter.ss7.isup_circuit",
    "pycallcenter.ss7.isup_codec",
    "pycallcenter.ss7.isup_events",
    "pycallcenter.ss7.isup_maintenance",
    "pycallcenter.ss7.mtp2",
    "pycallcenter.ss7.mtp3",
    "pycallcenter.ss7.mtp3_codec",
    "pycallcenter.ss7.stack",
    "pycallcenter.ss7.timers",
    "pycallcenter.timers",
    "pycallcenter.engine.engine",
    "pycallcenter.engine.media",
    "pycallcenter.engine.recording",
    "pycallcenter.engine.scheduler",
    "pycallcenter.sim.agents",
    "pycallcenter.sim.pstn",
)

_NAMES = frozenset(MODULES)


def pure_requested():
    """Return True when PYCC_PURE asks for every compiled module to be imported from source."""
    return os.environ.get("PYCC_PURE", "") not in ("", "0")


class SourceWhenStaleFinder:
    """A meta path finder: a module in MODULES comes from its .py when asked (PYCC_PURE) or when stale."""

    def find_spec(self, fullname, path=None, target=None):
        if fullname not in _NAMES:
            return None
        spec = importlib.machinery.PathFinder.find_spec(fullname, path)
        if spec is None or not isinstance(spec.loader, importlib.machinery.ExtensionFileLoader):
            return None  # no compiled copy: the normal import already takes the source
        source = os.path.join(os.path.dirname(spec.origin), fullname.rpartition(".")[2] + ".py")
        if not os.path.exists(source):
            return None
        if pure_requested() or _stale(fullname, source, spec.origin):
            return importlib.util.spec_from_file_location(fullname, source)
        return None

    def invalidate_caches(self):
        return None


def _stale(fullname, source, compiled):
    built_from = os.path.join(os.path.dirname(os.path.abspath(__file__)), "_compiled_sources.json")
    if os.path.exists(built_from):  # an installed wheel
        with open(built_from) as fh:
            digest = json.load(fh).get(fullname)
        with open(source, "rb") as fh:
            return digest != hashlib.sha256(fh.read()).hexdigest()
    return os.path.getmtime(source) > os.path.getmtime(compiled)


def install():
    """Put the finder at the front of sys.meta_path once; returns None."""
    if not any(isinstance(f, SourceWhenStaleFinder) for f in sys.meta_path):
        sys.meta_path.insert(0, SourceWhenStaleFinder())


def is_compiled(module):
    """Return True when module was loaded from a compiled extension rather than its .py source."""
    return isinstance(getattr(module, "__loader__", None), importlib.machinery.ExtensionFileLoader)
