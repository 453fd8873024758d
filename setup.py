"""Build script: Cython kernels in _native/ and cffi bindings found beside the code.

Every ``_native/NAME.pyx`` becomes the extension ``pycallcenter._native.NAME``; a kernel
names its own C sources with a ``# distutils: sources = ...`` line at the top of the .pyx.
Every ``_cffi_*.py`` under ``drivers/`` or ``pycallcenter/`` is a cffi API-mode builder:
it defines ``ffibuilder`` (a ``cffi.FFI`` with ``set_source`` called) or sets it to None
when the system header it needs is missing, in which case that binding is skipped and the
module that uses it reports what is missing at run time.

Every module named in ``pycallcenter/_compiled.py`` (plain Python on the hot paths) is also compiled
with Cython into an extension beside its source; see that file for when the source is used instead.

``PYCC_NATIVE_ONLY=g711,dtmf`` limits a development build to some kernels (and skips the compiled
Python modules unless one of them is named by its last component, e.g. ``lapd``).
``PYCC_NATIVE_SKIP=1`` builds no extension at all: ``make venv`` sets it for the editable install, so the
extensions are compiled once, by ``make native``, instead of twice.
"""
import glob
import os
import sys

from setuptools import setup

HERE = os.path.dirname(os.path.abspath(__file__))


def _native_extensions():
    from Cython.Build import cythonize
    from setuptools import Extension

    only = {n for n in os.environ.get("PYCC_NATIVE_ONLY", "").split(",") if n}
    exts = []
    for pyx in sorted(glob.glob(os.path.join("_native", "*.pyx"))):
        name = os.path.splitext(os.path.basename(pyx))[0]
        if only and name not in only:
            continue
        exts.append(
            Extension(
                f"pycallcenter._native.{name}",
                [pyx],
                include_dirs=["_native/include"],
                extra_compile_args=["-O3", "-fno-strict-aliasing", "-Wno-unused-function"],
            )
        )
    py_exts = []
    for name in _compiled_modules():
        leaf = name.rpartition(".")[2]
        if only and leaf not in only:
            continue
        py_exts.append(
            Extension(name, [name.replace(".", "/") + ".py"], extra_compile_args=["-O2", "-Wno-unused-function"])
        )
    # Plain Python modules keep Python's semantics exactly: no kernel directives (negative indexes,
    # Python division and bounds checks stay as in the interpreter).
    _CYTHONIZED.update(_digests([ext.name for ext in py_exts]))
    compiled_py = cythonize(py_exts, build_dir="build/cython", language_level=3, quiet=True,
                            nthreads=os.cpu_count() or 1) if py_exts else []
    return compiled_py + cythonize(
        exts,
        language_level=3,
        compiler_directives={
            "boundscheck": False,
            "wraparound": False,
            "cdivision": True,
            "initializedcheck": False,
        },
        quiet=True,
    )


def _compiled_modules():
    """Return the dotted names listed in pycallcenter/_compiled.py (read without importing the package)."""
    scope = {}
    path = os.path.join(HERE, "pycallcenter", "_compiled.py")
    with open(path) as fh:
        exec(compile(fh.read(), path, "exec"), scope)
    return scope["MODULES"]


def _cffi_extensions():
    if os.environ.get("PYCC_NATIVE_ONLY"):
        return []
    exts = []
    builders = sorted(
        glob.glob(os.path.join("drivers", "**", "_cffi_*.py"), recursive=True)
        + glob.glob(os.path.join("pycallcenter", "**", "_cffi_*.py"), recursive=True)
    )
    for path in builders:
        scope = {"__file__": os.path.join(HERE, path), "__name__": "_cffi_builder"}
        with open(path) as fh:
            exec(compile(fh.read(), path, "exec"), scope)
        ffi = scope.get("ffibuilder")
        if ffi is None:
            print(f"setup.py: skipping {path}: {scope.get('MISSING', 'builder disabled')}", file=sys.stderr)
            continue
        exts.append(ffi.distutils_extension(tmpdir="build/cffi"))
    return exts


# Five source folders install as one package tree: pycallcenter/, drivers/ as pycallcenter.drivers,
# _native/ as pycallcenter._native, and the two that must ship for the product to run outside the tree:
# the bundled IVR scripts (ivr_scripts/ as pycallcenter.ivr_scripts) and the board acceptance suite
# (hwtests/ as pycallcenter.hwtests, with its emulated bench). At the top of the tree they stay where
# users look for them, and `python -m hwtests` keeps working from the repository root.
ROOTS = {
    "pycallcenter": "pycallcenter",
    "pycallcenter.drivers": "drivers",
    "pycallcenter._native": "_native",
    "pycallcenter.ivr_scripts": "ivr_scripts",
    "pycallcenter.hwtests": "hwtests",
}


def _packages():
    from setuptools import find_packages

    pkgs = []
    for name, folder in ROOTS.items():
        pkgs.append(name)
        pkgs += [f"{name}.{sub}" for sub in find_packages(folder) if f"{name}.{sub}" not in ROOTS]
    return pkgs


def _digests(names):
    """Return {module: SHA-256 of its .py} for the compiled modules in names."""
    import hashlib

    out = {}
    for name in names:
        with open(os.path.join(HERE, name.replace(".", "/") + ".py"), "rb") as fh:
            out[name] = hashlib.sha256(fh.read()).hexdigest()
    return out


def _record_digests(target, digests):
    """Write target, the JSON of {module: source digest}, updated with digests; returns None."""
    import json

    try:
        with open(target) as fh:
            recorded = json.load(fh)
    except (OSError, ValueError):
        recorded = {}
    recorded.update(digests)
    with open(target + ".tmp", "w") as fh:
        json.dump(recorded, fh, indent=1, sort_keys=True)
    os.replace(target + ".tmp", target)


# the sources' digests as cythonize read them (filled by _native_extensions), recorded once the build succeeds
_CYTHONIZED = {}


def _build_ext():
    from setuptools.command.build_ext import build_ext

    class BuildExt(build_ext):
        """Also record, after an in-place build, which source each compiled Python module was compiled from
        (pycallcenter/_compiled_sources.json): the import rule in pycallcenter/_compiled.py uses a compiled
        module only while its source still has that digest, and warns when it does not."""

        def run(self):
            super().run()
            if self.inplace and not self.dry_run:
                built = {ext.name for ext in self.extensions} & set(_CYTHONIZED)
                if built:
                    _record_digests(os.path.join(HERE, "pycallcenter", "_compiled_sources.json"),
                                    {name: _CYTHONIZED[name] for name in built})

    return BuildExt


def _build_py():
    from setuptools.command.build_py import build_py

    class BuildPy(build_py):
        """Also record, in a wheel's build, which source each compiled module was compiled from.

        An installer gives every file its own install time, so in an installed wheel a .py is often a few
        microseconds "newer" than the compiled module beside it; the import rule in pycallcenter/_compiled.py
        compares these digests there instead of file times.
        """

        def run(self):
            super().run()
            if getattr(self, "editable_mode", False) or self.dry_run:
                return  # an editable install runs the tree itself: file times are the edits' times
            target = os.path.join(self.build_lib, "pycallcenter", "_compiled_sources.json")
            _record_digests(target, _digests(_compiled_modules()))
            self._prune(target)

        def _prune(self, *extra):
            # build/ is kept between builds so that wheels reuse the compiled extensions, but a file
            # deleted from the tree would otherwise stay in build/lib and ship in every later wheel.
            keep = {os.path.abspath(p) for p in self.get_outputs(include_bytecode=False) + list(extra)}
            keep |= {os.path.abspath(p) for p in self.get_finalized_command("build_ext").get_outputs()}
            for folder, _, files in os.walk(os.path.join(self.build_lib, "pycallcenter")):
                for name in files:
                    path = os.path.abspath(os.path.join(folder, name))
                    if path not in keep:
                        os.remove(path)

    return BuildPy


setup(
    packages=_packages(),
    package_dir=ROOTS,
    ext_modules=[] if os.environ.get("PYCC_NATIVE_SKIP") else _native_extensions() + _cffi_extensions(),
    cmdclass={"build_py": _build_py(), "build_ext": _build_ext()},
)
