"""Where the files that ship inside the package are: the bundled IVR scripts, the example configs and
the emulated hwtests bench.

In the source tree ``ivr_scripts/`` and ``hwtests/`` sit at the top and install as
``pycallcenter.ivr_scripts`` and ``pycallcenter.hwtests`` (``ROOTS`` in setup.py), so asking the import
system for the package's folder gives the right place in an editable install and in an installed wheel
alike; no path is built from the current directory.
"""
from importlib import resources
from pathlib import Path


def _folder(package):
    # A package installed from a wheel or mapped by an editable install is a plain folder on disk, so the
    # Traversable that importlib.resources returns is a real path (zip imports are not supported).
    return Path(str(resources.files(package)))


def scripts_dir():
    """Return the folder of the bundled IVR scripts (main menu, queue, voicemail, fax, ...)."""
    return _folder("pycallcenter.ivr_scripts")


def examples_dir():
    """Return the folder of the example configuration files that ship with the package."""
    return _folder("pycallcenter.examples")


def hwtests_config():
    """Return the path of the board config hwtests runs against by default (the emulated bench)."""
    return _folder("pycallcenter.hwtests") / "emulator.toml"
