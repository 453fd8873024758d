"""IVR scripts from a folder: each ``NAME.py`` with ``async def main(call)`` is the script NAME.

``reload()`` re-reads the files that changed. Calls in progress keep running the code they started
with (their coroutine holds it); calls that start afterwards get the new code. A file that fails to
load keeps its previous version and the error is reported, so a typo never takes a script away.
"""
import importlib.util
import os
import sys
import traceback


class ScriptSet:
    """The scripts of one folder, by name."""

    def __init__(self, folder):
        self.folder = os.fspath(folder)
        self.scripts = {}  # name -> main coroutine function
        self._mtimes = {}
        self._generation = 0
        self.errors = {}  # name -> traceback text of the last failed load
        self.reload()

    def names(self):
        """Return the names of the loaded scripts."""
        return sorted(self.scripts)

    def get(self, name):
        """Return the script's main function; KeyError naming the known scripts."""
        try:
            return self.scripts[name]
        except KeyError:
            raise KeyError(f"no IVR script {name!r} in {self.folder} (have {', '.join(self.names()) or 'none'})") from None

    def reload(self):
        """Load new and changed files; return the names (re)loaded."""
        loaded = []
        present = set()
        for entry in sorted(os.listdir(self.folder)):
            if not entry.endswith(".py") or entry.startswith("_"):
                continue
            name = entry[:-3]
            present.add(name)
            path = os.path.join(self.folder, entry)
            mtime = os.stat(path).st_mtime_ns
            if self._mtimes.get(name) == mtime:
                continue
            self._generation += 1
            modname = f"pycallcenter_ivr_scripts.{name}_{self._generation}"
            try:
                spec = importlib.util.spec_from_file_location(modname, path)
                module = importlib.util.module_from_spec(spec)
                sys.modules[modname] = module
                spec.loader.exec_module(module)
                main = getattr(module, "main")
            except Exception:  # keep the previous version; say why
                self.errors[name] = traceback.format_exc()
                self._mtimes[name] = mtime
                continue
            self.errors.pop(name, None)
            self.scripts[name] = main
            self._mtimes[name] = mtime
            loaded.append(name)
        for gone in set(self.scripts) - present:
            del self.scripts[gone]
            self._mtimes.pop(gone, None)
        return loaded
