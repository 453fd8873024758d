"""Example configuration files that ship with the package (``pycallcenter.bundled.examples_dir()``).

Every file placed in this folder is installed with the package (see package-data in pyproject.toml).
"""
