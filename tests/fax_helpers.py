"""Helpers for the fax tests: page comparison with ImageMagick and documents made here."""
import os
import shutil
import subprocess

import numpy as np
import pytest


def page_count(tiff):
    """Return the number of pages in a TIFF."""
    out = subprocess.run(["tiffinfo", tiff], capture_output=True, text=True).stdout
    return out.count("TIFF Directory at offset")


def pixel_differences(a, b):
    """Return the list of `compare -metric AE` counts, page by page (pages must match in number)."""
    if shutil.which("compare") is None:
        pytest.skip("ImageMagick compare is not installed")
    n = page_count(a)
    assert page_count(b) == n, f"{a} has {n} pages, {b} has {page_count(b)}"
    diffs = []
    for i in range(n):
        p = subprocess.run(["compare", "-metric", "AE", f"{a}[{i}]", f"{b}[{i}]", "null:"], capture_output=True,
                           text=True)
        diffs.append(int(float(p.stderr.split()[0])))
    return diffs


def write_pbm(path, bits):
    """Write a bilevel image (True = black) as a binary PBM file; return path."""
    h, w = bits.shape
    with open(path, "wb") as fh:
        fh.write(f"P4\n{w} {h}\n".encode())
        fh.write(np.packbits(bits.astype(np.uint8), axis=1).tobytes())
    return path


def make_multipage_tiff(tmp_path, pages=3, resolution="fine"):
    """Return a TIFF-F with pages of text, made here from a plain-text document (long enough to need pages)."""
    from pycallcenter.fax.documents import convert_to_tiff_f

    src = tmp_path / "multi.txt"
    lines = [f"Line {i:03d}: pycallcenter fax test document, page {i // 60 + 1}. " + "#" * (i % 20) for i in
             range(60 * pages)]
    src.write_text("\n".join(lines) + "\n")
    out = str(tmp_path / "multi.tif")
    assert convert_to_tiff_f(str(src), out, resolution) == pages
    return out


def make_pattern_tiff(tmp_path, seed=0):
    """Return a one-page TIFF-F from a random-block pattern (hard to compress: a worst case for the modems)."""
    from pycallcenter.fax.documents import convert_to_tiff_f

    rng = np.random.default_rng(seed)
    blocks = rng.random((120, 96)) < 0.3
    bits = np.kron(blocks, np.ones((8, 18), bool))  # 960 x 1728
    src = write_pbm(str(tmp_path / "pattern.pbm"), bits)
    png = str(tmp_path / "pattern.png")
    subprocess.run(["convert", src, png], check=True)
    out = str(tmp_path / "pattern.tif")
    convert_to_tiff_f(png, out)
    return out


def have_tools():
    """Skip unless ghostscript, ImageMagick and libtiff-tools are installed."""
    for tool in ("gs", "convert", "compare", "tiffcp", "tiffinfo", "identify"):
        if shutil.which(tool) is None:
            pytest.skip(f"{tool} is not installed")
    return True


def exists_no_part(directory):
    """Return the names in directory that look half-written (temp names)."""
    return [n for n in os.listdir(directory) if n.endswith(".part") or ".part." in n]
