"""Prompts: any file soundfile reads (WAV, FLAC, OGG, any rate), converted once to 8 kHz and cached.

The cache is keyed by content: a SHA-256 of the source file's bytes and of the conversion (our sample
rate, how the source is read, the cached encoding). Two files that differ never share an entry, whatever
their names and times (``en/1.wav`` and ``zh/1.wav`` copied with one mtime stay two prompts), and an edited
file is converted again. A file's status (size, times, inode) only tells whether it must be read again.
"""
import hashlib
import os

import numpy as np

from pycallcenter.dsp import SAMPLE_RATE, g711
from pycallcenter.dsp.audio import read_audio

EXTENSIONS = (".wav", ".flac", ".ogg", ".ul", ".al")
RAW_LAWS = {".ul": "ulaw", ".al": "alaw"}  # headerless G.711 files, read as that law
CACHE_VERSION = 1  # bump when the conversion changes: every cached file is then made again


def content_key(data, law=None):
    """Return the cache key (hex SHA-256) of a prompt's source bytes and of how they are converted."""
    h = hashlib.sha256(f"pycallcenter-prompt v{CACHE_VERSION} rate={SAMPLE_RATE} in={law or 'soundfile'} "
                       f"cache=ulaw\n".encode())
    h.update(data)
    return h.hexdigest()


def _signature(st):
    return st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino, st.st_dev


class PromptLibrary:
    """Finds prompts by name in folders; keeps them as int16 in memory and as mu-law files on disk."""

    def __init__(self, folders, cache_dir=None):
        self.folders = [os.fspath(f) for f in (folders if isinstance(folders, (list, tuple)) else [folders])]
        self.cache_dir = cache_dir
        self._mem = {}  # content key -> samples
        self._seen = {}  # source path -> (file signature, content key): read again only when it changed

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
        src = self.path(name)
        sig = _signature(os.stat(src))
        seen = self._seen.get(src)
        if seen is not None and seen[0] == sig and seen[1] in self._mem:
            return self._mem[seen[1]]
        law = RAW_LAWS.get(os.path.splitext(src)[1])
        with open(src, "rb") as fh:
            key = content_key(fh.read(), law)
        samples = self._mem.get(key)
        if samples is None:
            samples = self._load(src, key, law)
            self._mem[key] = samples
        self._seen[src] = (sig, key)
        return samples

    def _load(self, src, key, law):
        """Return the samples for content key: from the disk cache, else converted from src (and cached)."""
        cached = None
        if self.cache_dir is not None:
            os.makedirs(self.cache_dir, exist_ok=True)
            cached = os.path.join(self.cache_dir, f"{key}.ul")
            if os.path.exists(cached):
                return g711.ulaw_decode(np.fromfile(cached, np.uint8))
        samples = read_audio(src, law=law)
        if cached is None:
            return samples
        codes = g711.ulaw_encode(samples)
        tmp = f"{cached}.{os.getpid()}.tmp"  # whole or absent: another process may read the cache meanwhile
        codes.tofile(tmp)
        os.replace(tmp, cached)
        return g711.ulaw_decode(codes)  # what the line will carry
