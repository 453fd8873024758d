"""Reference peers for tests and benchmarks only (spandsp, libpri, libss7); never imported by the runtime.

Each binding is a cffi API-mode module compiled on first use into peers/_build/ (ignored by git),
so struct layouts and signatures come from the installed Debian headers.
"""
import fcntl
import importlib
import os
import sys

BUILD_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "_build")


class PeerUnavailable(RuntimeError):
    """The peer library or its header is not installed."""


def find_header(*candidates):
    """Return the first existing path among candidates; raise PeerUnavailable naming them."""
    for path in candidates:
        if os.path.exists(path):
            return path
    raise PeerUnavailable(f"none of {', '.join(candidates)} exists (install the Debian -dev package; `make test` does)")


def compile_peer(ffibuilder, module_name, headers):
    """Return the compiled cffi module ``module_name``, building it once under a file lock."""
    find_header(*headers)
    os.makedirs(BUILD_DIR, exist_ok=True)
    if BUILD_DIR not in sys.path:
        sys.path.insert(0, BUILD_DIR)
    with open(os.path.join(BUILD_DIR, f"{module_name}.lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            return importlib.import_module(module_name)
        except ImportError:
            pass
        ffibuilder.compile(tmpdir=BUILD_DIR, verbose=False)
        importlib.invalidate_caches()
        return importlib.import_module(module_name)
