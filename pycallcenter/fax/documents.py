"""Fax document library: sources (PDF, PNG, JPEG, TIFF, plain text) converted once to TIFF-F and cached.

TIFF-F here means 1728 pixels wide, 204 dpi across and 196 (fine) or 98 (standard) lines per inch,
bilevel, Group 4 or Group 3 (T.4 1-D), one image per page. PDF and text are rendered by Ghostscript
(Debian package ``ghostscript``) straight to a TIFF-F device; raster images are scaled and thresholded
by ImageMagick ``convert``, which keeps each image's physical aspect from its resolution tags. Pages are
joined with libtiff's ``tiffcp``. A converted file is cached under a name derived from the source's
content and the options, so a document is converted once and a changed source is converted again.
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from typing import Dict, List, Optional

from pycallcenter.errors import ConfigError, PyCallCenterError

WIDTH = 1728
X_DPI = 204
LINES = {"fine": 196, "standard": 98}
PAGE_LENGTH = {"fine": 2292, "standard": 1146}  # A4 (297 mm) at each vertical resolution
GS_DEVICES = {"g4": "tiffg4", "g3": "tiffg3"}
TIFFCP_COMPRESS = {"g4": "g4", "g3": "g3:1d"}
MAX_SOURCE_BYTES = 50 * 1024 * 1024
MAX_PAGES = 50
TOOL_TIMEOUT = 120.0


class DocumentError(PyCallCenterError):
    """A document cannot be turned into a fax: unknown type, corrupt, encrypted, too big, or a tool is missing."""


@dataclass(frozen=True)
class Document:
    """A catalogue entry: the number callers key, its title and its source file."""

    number: str
    title: str
    source: str


def sniff(path) -> str:
    """Return the source kind of a file from its first bytes: pdf, png, jpeg, tiff or text."""
    with open(path, "rb") as fh:
        head = fh.read(4096)
    if head.startswith(b"%PDF-"):
        return "pdf"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if head.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if head[:4] in (b"II*\x00", b"MM\x00*"):
        return "tiff"
    if b"\x00" not in head:
        try:
            head.decode("utf-8")
            return "text"
        except UnicodeDecodeError as exc:
            if exc.start >= len(head) - 4:  # a multi-byte character cut by the 4 KiB window
                return "text"
    raise DocumentError(f"{path}: not a PDF, PNG, JPEG, TIFF or plain-text file")


def _run(cmd, what):
    exe = shutil.which(cmd[0])
    if exe is None:
        package = {"gs": "ghostscript", "convert": "imagemagick", "identify": "imagemagick",
                   "tiffcp": "libtiff-tools", "tiffinfo": "libtiff-tools"}.get(cmd[0], cmd[0])
        raise DocumentError(f"{what}: the tool {cmd[0]} is not installed (Debian package {package})")
    try:
        proc = subprocess.run([exe] + list(cmd[1:]), capture_output=True, timeout=TOOL_TIMEOUT)
    except subprocess.TimeoutExpired:
        raise DocumentError(f"{what}: {cmd[0]} took longer than {TOOL_TIMEOUT:.0f} s (document too big?)") from None
    if proc.returncode != 0:
        err = proc.stderr.decode("utf-8", "replace").strip().splitlines()
        raise DocumentError(f"{what}: {cmd[0]} failed: {err[-1] if err else 'exit ' + str(proc.returncode)}")
    return proc.stdout.decode("utf-8", "replace")


def _gs(src, dst, resolution, compression, what):
    lines = LINES[resolution]
    _run(["gs", "-q", "-dSAFER", "-dBATCH", "-dNOPAUSE", "-dNOINTERPOLATE", f"-sDEVICE={GS_DEVICES[compression]}",
          f"-r{X_DPI}x{lines}", f"-g{WIDTH}x{PAGE_LENGTH[resolution]}", "-dFIXEDMEDIA", "-dPDFFitPage",
          f"-dLastPage={MAX_PAGES + 1}", f"-sOutputFile={dst}", src], what)
    if not os.path.exists(dst) or os.path.getsize(dst) == 0:  # gs can exit 0 on a file it could not read
        raise DocumentError(f"{what}: Ghostscript rendered no page (corrupt or unreadable file)")


def _ps_string(text):
    out = []
    for ch in text:
        if ch in "()\\":
            out.append("\\" + ch)
        elif 32 <= ord(ch) < 127:
            out.append(ch)
        else:
            out.append("?")
    return "".join(out)


def text_to_postscript(text, columns=80, lines_per_page=60) -> str:
    """Return a PostScript program printing text in Courier on A4 pages (long lines wrapped)."""
    rows = []
    for line in text.expandtabs(8).splitlines() or [""]:
        while len(line) > columns:
            rows.append(line[:columns])
            line = line[columns:]
        rows.append(line)
    pages = [rows[i:i + lines_per_page] for i in range(0, len(rows), lines_per_page)] or [[]]
    out = ["%!PS", "<< /PageSize [595 842] >> setpagedevice", "/Courier findfont 10 scalefont setfont"]
    for page in pages:
        y = 790
        for row in page:
            out.append(f"50 {y} moveto ({_ps_string(row)}) show")
            y -= 12
        out.append("showpage")
    return "\n".join(out) + "\n"


def _frames(src, what):
    info = _run(["identify", "-format", "%w %h %x %y\n", src], what).split()
    frames = []
    for i in range(0, len(info) - 3, 4):
        w, h = int(info[i]), int(info[i + 1])
        try:
            xr, yr = float(info[i + 2]), float(info[i + 3])
        except ValueError:
            xr = yr = 0.0
        frames.append((w, h, xr / yr if xr > 0 and yr > 0 else 1.0))
    return frames


def _raster(src, dst, resolution, compression, kind, workdir, what):
    frames = _frames(src, what)
    if not frames:
        raise DocumentError(f"{what}: no image in the file")
    if len(frames) > MAX_PAGES:
        raise DocumentError(f"{what}: {len(frames)} pages, more than the {MAX_PAGES} a fax may carry here")
    pages = []
    for i, (w, h, aspect) in enumerate(frames):
        if w * h > 60_000_000:
            raise DocumentError(f"{what}: page {i + 1} is {w}x{h} pixels, too big to fax")
        out_h = max(1, int(round(h * (WIDTH / w) * aspect * LINES[resolution] / X_DPI)))
        page = os.path.join(workdir, f"page{i:03d}.tif")
        bilevel = ["-monochrome"] if kind == "jpeg" else ["-threshold", "50%"]
        _run(["convert", f"{src}[{i}]", "-alpha", "remove", "-colorspace", "Gray", "-resize", f"{WIDTH}x{out_h}!",
              *bilevel, "-density", f"{X_DPI}x{LINES[resolution]}", "-units", "PixelsPerInch",
              "-compress", "Group4", page], what)
        pages.append(page)
    # tiffcp sets the final compression (ImageMagick names G3 variants differently across versions)
    _run(["tiffcp", "-c", TIFFCP_COMPRESS[compression], *pages, dst], what)


def convert_to_tiff_f(src, dst, resolution="fine", compression="g4") -> int:
    """Convert a source document to TIFF-F at dst (written as a temp file, renamed at the end); return pages."""
    if resolution not in LINES:
        raise ValueError(f"resolution is 'fine' or 'standard', got {resolution!r}")
    if compression not in GS_DEVICES:
        raise ValueError(f"compression is 'g4' or 'g3', got {compression!r}")
    what = f"document {src}"
    if not os.path.isfile(src):
        raise DocumentError(f"{what}: no such file")
    size = os.path.getsize(src)
    if size > MAX_SOURCE_BYTES:
        raise DocumentError(f"{what}: {size} bytes, more than the {MAX_SOURCE_BYTES} allowed")
    if size == 0:
        raise DocumentError(f"{what}: empty file")
    kind = sniff(src)
    os.makedirs(os.path.dirname(os.path.abspath(dst)) or ".", exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="pycc-fax-") as work:
        tmp = os.path.join(work, "out.tif")
        if kind == "pdf":
            try:
                _gs(src, tmp, resolution, compression, what)
            except DocumentError:
                # an owner password alone (print/copy restrictions) renders; a user password does not
                with open(src, "rb") as fh:
                    if b"/Encrypt" in fh.read():
                        raise DocumentError(f"{what}: the PDF is encrypted (password protected)") from None
                raise
        elif kind == "text":
            ps = os.path.join(work, "text.ps")
            with open(src, "rb") as fh:
                text = fh.read().decode("utf-8", "replace")
            with open(ps, "w") as fh:
                fh.write(text_to_postscript(text))
            _gs(ps, tmp, resolution, compression, what)
        else:
            _raster(src, tmp, resolution, compression, kind, work, what)
        pages = count_pages(tmp)
        if pages == 0:
            raise DocumentError(f"{what}: rendering produced no page")
        if pages > MAX_PAGES:
            raise DocumentError(f"{what}: {pages} pages, more than the {MAX_PAGES} a fax may carry here")
        part = dst + ".part"
        shutil.copyfile(tmp, part)
        os.replace(part, dst)
    return pages


def count_pages(tiff) -> int:
    """Return the number of images (pages) in a TIFF file."""
    out = _run(["tiffinfo", tiff], f"TIFF {tiff}")
    return out.count("TIFF Directory at offset")


def _digest(path, *extra):
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    for e in extra:
        h.update(str(e).encode())
    return h.hexdigest()[:20]


class DocumentLibrary:
    """Documents by number; ``tiff(number)`` returns the cached TIFF-F, converting it on first use."""

    def __init__(self, cache_dir, resolution="fine", compression="g4"):
        if resolution not in LINES or compression not in GS_DEVICES:
            raise ValueError("resolution is fine/standard and compression g4/g3")
        self.cache_dir, self.resolution, self.compression = cache_dir, resolution, compression
        self.documents: Dict[str, Document] = {}
        os.makedirs(cache_dir, exist_ok=True)

    @classmethod
    def from_catalogue(cls, path, cache_dir, **options) -> "DocumentLibrary":
        """Return a library from a JSON catalogue: {"documents": [{"number", "title", "file"}, ...]}
        (file paths relative to the catalogue)."""
        try:
            with open(path) as fh:
                data = json.load(fh)
            entries = data["documents"]
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise ConfigError(f"fax catalogue: {exc}", path=path) from None
        lib = cls(cache_dir, **options)
        base = os.path.dirname(os.path.abspath(path))
        for e in entries:
            try:
                lib.add(str(e["number"]), str(e.get("title", "")), os.path.join(base, e["file"]))
            except (KeyError, TypeError, ValueError) as exc:
                raise ConfigError(f"fax catalogue entry {e!r}: {exc}", path=path) from None
        return lib

    def add(self, number, title, source) -> Document:
        """Add a document under a number of digits; return it."""
        number = str(number)
        if not number.isdigit():
            raise ValueError(f"document numbers are digits (keyed on the phone), got {number!r}")
        doc = Document(number, title, os.path.abspath(source))
        self.documents[number] = doc
        return doc

    def get(self, number) -> Optional[Document]:
        """Return the document with this number, or None."""
        return self.documents.get(str(number))

    def catalogue(self) -> List[Document]:
        """Return the documents sorted by number."""
        return [self.documents[n] for n in sorted(self.documents, key=lambda n: (len(n), n))]

    def tiff(self, number) -> str:
        """Return the path of the document's TIFF-F (converted once, cached); raise KeyError or DocumentError."""
        doc = self.documents.get(str(number))
        if doc is None:
            raise KeyError(f"no fax document number {number}")
        if not os.path.isfile(doc.source):
            raise DocumentError(f"document {number}: source {doc.source} is missing")
        key = _digest(doc.source, self.resolution, self.compression)
        out = os.path.join(self.cache_dir, f"doc{doc.number}-{key}.tif")
        if not os.path.exists(out):
            convert_to_tiff_f(doc.source, out, self.resolution, self.compression)
        return out

    def bundle(self, numbers) -> str:
        """Return one TIFF-F holding the documents' pages in order (cached like single documents)."""
        parts = [self.tiff(n) for n in numbers]
        if len(parts) == 1:
            return parts[0]
        key = hashlib.sha256("|".join(parts).encode()).hexdigest()[:20]
        out = os.path.join(self.cache_dir, f"bundle-{key}.tif")
        if not os.path.exists(out):
            part = out + ".part"
            _run(["tiffcp", *parts, part], "fax bundle")
            os.replace(part, out)
        return out
