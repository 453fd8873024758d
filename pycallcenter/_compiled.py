"""Pure-Python modules that the build also compiles with Cython, and the import rule for them.

The modules named in MODULES stay ordinary Python: the source is the reference and what a reader or a
debugger sees. ``setup.py`` additionally compiles each one with Cython into an extension module beside
its ``.py`` (same name), which Python's import system prefers. On the PRI and SS7 stacks this is worth
a fifth to a half of the time per call or signal unit (see docs/performance.md).

Two rules keep the compiled copy from ever running stale or hiding a bug in the source:

* a compiled module is used only while its source is the one it was compiled from: the build records the
  SHA-256 of every source it compiles (``_compiled_sources.json`` beside this file, written by setup.py for
  an in-place build and for a wheel's); when the ``.py`` no longer matches (an edit not yet rebuilt), the
  source is imported and a ``StaleBuildWarning`` naming the module says so, once per module and process.
  A build made before the digests were recorded falls back to file times (a newer ``.py`` is stale);
* with ``PYCC_PURE=1`` in the environment, every module here is imported from source, silently (``make
  test-pure`` runs the whole suite this way, so the source stays correct on its own).

``install()`` puts the finder that applies these rules at the front of ``sys.meta_path``; the package's
``__init__`` calls it. ``states()`` says, without importing them, where each module would come from
(``pycallcenter selftest`` prints it).
"""
import hashlib
import importlib.machinery
import importlib.util
import json
import os
import sys
import warnings

# Modules compiled by setup.py (dotted names; each is a plain .py file in the source tree).
MODULES = (
    "pycallcenter.isdn.call",
    "pycallcenter.isdn.callstate",
    "pycallcenter.isdn.events",
    "pycallcenter.isdn.ie",
    "pycallcenter.isdn.lapd",
    "pycallcenter.isdn.maintenance",
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
DIGESTS = None  # the digests file; None: _compiled_sources.json beside this module (found late: setup.py and the
                # Makefile read MODULES by exec, without a __file__)
COMPILED, STALE, NOT_BUILT, PURE = "compiled", "source: stale build", "source: not built", "source: PYCC_PURE"


class StaleBuildWarning(RuntimeWarning):
    """A compiled module no longer matches its source, so the (slower) source runs until it is rebuilt."""


def pure_requested():
    """Return True when PYCC_PURE asks for every compiled module to be imported from source."""
    return os.environ.get("PYCC_PURE", "") not in ("", "0")


class SourceWhenStaleFinder:
    """A meta path finder: a module in MODULES comes from its .py when asked (PYCC_PURE) or when stale."""

    def __init__(self):
        self.warned = set()

    def find_spec(self, fullname, path=None, target=None):
        if fullname not in _NAMES:
            return None
        state, source = _state(fullname, path)
        if state == STALE and fullname not in self.warned:
            self.warned.add(fullname)
            leaf = fullname.rpartition(".")[2]
            warnings.warn(f"{fullname}: the compiled module was built from an older {leaf}.py; running the source "
                          f"instead (slower) until it is rebuilt: `make native` or `PYCC_NATIVE_ONLY={leaf} "
                          f"python setup.py build_ext --inplace`", StaleBuildWarning, stacklevel=2)
        if state in (STALE, PURE):
            return importlib.util.spec_from_file_location(fullname, source)
        return None  # compiled and fresh, or nothing compiled: the normal import does the rest

    def invalidate_caches(self):
        return None


def _state(fullname, path):
    """Return (COMPILED, STALE, NOT_BUILT or PURE, the .py path or None) for a module in MODULES."""
    spec = importlib.machinery.PathFinder.find_spec(fullname, path)
    if spec is None or not isinstance(spec.loader, importlib.machinery.ExtensionFileLoader):
        return NOT_BUILT, None
    source = os.path.join(os.path.dirname(spec.origin), fullname.rpartition(".")[2] + ".py")
    if not os.path.exists(source):
        return COMPILED, None  # a wheel may ship the extension alone
    if pure_requested():
        return PURE, source
    return (STALE if _stale(fullname, source, spec.origin) else COMPILED), source


def recorded_digests():
    """Return {module: SHA-256 of the source it was compiled from} as the last build recorded it ({} if none)."""
    path = DIGESTS or os.path.join(os.path.dirname(os.path.abspath(__file__)), "_compiled_sources.json")
    try:
        with open(path) as fh:
            return json.load(fh)
    except (OSError, ValueError):
        return {}


def source_digest(path):
    """Return the SHA-256 hex digest of a file's bytes."""
    with open(path, "rb") as fh:
        return hashlib.sha256(fh.read()).hexdigest()


def _stale(fullname, source, compiled):
    digest = recorded_digests().get(fullname)
    if digest is not None:
        return digest != source_digest(source)
    return os.path.getmtime(source) > os.path.getmtime(compiled)  # a build from before digests were recorded


def states():
    """Return [(module, state)] for every module in MODULES: COMPILED, STALE, NOT_BUILT or PURE (imports only
    the packages that hold them)."""
    out = []
    for name in MODULES:
        parent = importlib.import_module(name.rpartition(".")[0])
        out.append((name, _state(name, parent.__path__)[0]))
    return out


def install():
    """Put the finder at the front of sys.meta_path once; returns None."""
    if not any(isinstance(f, SourceWhenStaleFinder) for f in sys.meta_path):
        sys.meta_path.insert(0, SourceWhenStaleFinder())


def is_compiled(module):
    """Return True when module was loaded from a compiled extension rather than its .py source."""
    return isinstance(getattr(module, "__loader__", None), importlib.machinery.ExtensionFileLoader)
