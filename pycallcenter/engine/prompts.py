"""Prompts: any file soundfile reads (WAV, FLAC, OGG, any rate), converted once to 8 kHz and cached."""
import os

import numpy as np

from pycallcenter.dsp import g711
from pycallcenter.dsp.audio import read_audio

EXTENSIONS = (".wav", ".flac", ".ogg", ".ul", ".al")


class PromptLibrary:
    """Finds prompts by name in folders; keeps them as int16 in memory and as mu-law files on disk."""

    def __init__(self, folders, cache_dir=None):
        self.folders = [os.fspath(f) for f in (folders if isinstance(folders, (list, tuple)) else [folders])]
        self.cache_dir = cache_dir
        self._mem = {}

    def path(self, name):
        """Return the file of a prompt name (looked up in the folders first) or of a path as given;
        FileNotFoundError naming the folders."""
        for folder in self.folders:
            for ext in EXTENSIONS + ("",):
                p = os.path.join(folder, name + ext)
                if os.path.isfile(p):
                    return p
        if os.path.isfile(name):
            return name
        raise FileNotFoundError(f"no prompt {name!r} in {', '.join(self.folders) or 'no folders'}")

    def get(self, name):
        """Return the prompt's samples (8 kHz int16), converting and caching on first use."""
        if name in self._mem:
            return self._mem[name]
        src = self.path(name)
        cached = None
        if self.cache_dir is not None:
            os.makedirs(self.cache_dir, exist_ok=True)
            stem = os.path.basename(src).replace(os.sep, "_")
            cached = os.path.join(self.cache_dir, f"{stem}.{int(os.path.getmtime(src))}.ul")
        if cached is not None and os.path.exists(cached):
            samples = g711.ulaw_decode(np.fromfile(cached, np.uint8))
        else:
            law = {".ul": "ulaw", ".al": "alaw"}.get(os.path.splitext(src)[1])
            samples = read_audio(src, law=law)
            if cached is not None:
                g711.ulaw_encode(samples).tofile(cached)
                samples = g711.ulaw_decode(np.fromfile(cached, np.uint8))  # what the line will carry
        self._mem[name] = samples
        return samples
