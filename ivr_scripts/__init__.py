"""The bundled IVR scripts; installed as ``pycallcenter.ivr_scripts`` so they ship in the wheel.

The script loader reads this folder as files (``pycallcenter.bundled.scripts_dir()``); it skips names
starting with an underscore, so this file is not a script.
"""
