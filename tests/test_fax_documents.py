"""Document library: every source type becomes TIFF-F once (cached); bad input is refused clearly."""
import json
import os
import subprocess

import numpy as np
import pytest

from fax_helpers import have_tools, page_count, write_pbm
from pycallcenter.errors import ConfigError
from pycallcenter.fax import documents as D


def _info(tiff):
    out = subprocess.run(["tiffinfo", tiff], capture_output=True, text=True).stdout
    widths = [int(l.split("Image Width:")[1].split()[0]) for l in out.splitlines() if "Image Width:" in l]
    res = [l.split("Resolution:")[1].strip() for l in out.splitlines() if "Resolution:" in l]
    comp = [l.split(":", 1)[1].strip() for l in out.splitlines() if "Compression Scheme" in l]
    return widths, res, comp


def _pdf(tmp_path, pages=2, name="doc.pdf"):
    ps = tmp_path / "doc.ps"
    ps.write_text(D.text_to_postscript("\n".join(f"PDF line {i}" for i in range(60 * pages))))
    out = str(tmp_path / name)
    subprocess.run(["gs", "-q", "-dSAFER", "-dBATCH", "-dNOPAUSE", "-sDEVICE=pdfwrite", f"-sOutputFile={out}",
                    str(ps)], check=True)
    return out


def _image(tmp_path, fmt):
    bits = np.zeros((400, 300), bool)
    bits[50:350, 40:260] = True
    pbm = write_pbm(str(tmp_path / "img.pbm"), bits)
    out = str(tmp_path / f"img.{fmt}")
    subprocess.run(["convert", pbm, out], check=True)
    return out


@pytest.fixture(autouse=True)
def _tools():
    have_tools()


@pytest.mark.parametrize("kind", ["pdf", "png", "jpeg", "tiff", "text"])
def test_each_source_kind_becomes_tiff_f(tmp_path, kind):
    if kind == "pdf":
        src = _pdf(tmp_path)
    elif kind == "text":
        src = str(tmp_path / "note.txt")
        with open(src, "w") as fh:
            fh.write("Price list\n\tItem 1 ... 10.00\nCaf\u00e9 (unicode) \\ done\n")
    else:
        src = _image(tmp_path, {"jpeg": "jpg"}.get(kind, kind))
    assert D.sniff(src) == kind
    out = str(tmp_path / "out.tif")
    pages = D.convert_to_tiff_f(src, out)
    widths, res, comp = _info(out)
    assert pages == page_count(out) == (2 if kind == "pdf" else 1)
    assert set(widths) == {1728}
    assert set(res) == {"204, 196 pixels/inch"}
    assert set(comp) == {"CCITT Group 4"}


def test_image_keeps_its_shape_at_standard_resolution_and_g3(tmp_path):
    src = _image(tmp_path, "png")  # 300 x 400 square pixels
    out = str(tmp_path / "out.tif")
    D.convert_to_tiff_f(src, out, resolution="standard", compression="g3")
    text = subprocess.run(["tiffinfo", out], capture_output=True, text=True).stdout
    assert "Image Width: 1728 Image Length: 1107" in text  # 400 * 1728/300 * 98/204 = 1106.8
    assert "204, 98 pixels/inch" in text and "CCITT Group 3" in text


def test_tiff_f_source_passes_through_unchanged(tmp_path, testdata):
    from fax_helpers import pixel_differences

    chart = testdata("fax", "itu1_g4.tif")
    out = str(tmp_path / "out.tif")
    D.convert_to_tiff_f(chart, out)
    assert pixel_differences(chart, out) == [0]


def test_library_converts_once_and_bundles(tmp_path):
    lib = D.DocumentLibrary(str(tmp_path / "cache"))
    lib.add("101", "Price list", _pdf(tmp_path, pages=1))
    lib.add("202", "Map", _image(tmp_path, "png"))
    first = lib.tiff("101")
    mtime = os.stat(first).st_mtime_ns
    assert lib.tiff("101") == first and os.stat(first).st_mtime_ns == mtime
    bundle = lib.bundle(["101", "202", "101"])
    assert page_count(bundle) == 3
    assert [d.number for d in lib.catalogue()] == ["101", "202"]
    assert lib.get("999") is None
    with pytest.raises(KeyError):
        lib.tiff("999")
    with pytest.raises(ValueError):
        lib.add("12a", "bad", first)


def test_catalogue_file(tmp_path):
    src = _image(tmp_path, "png")
    cat = tmp_path / "catalogue.json"
    cat.write_text(json.dumps({"documents": [{"number": 7, "title": "Map", "file": os.path.basename(src)}]}))
    lib = D.DocumentLibrary.from_catalogue(str(cat), str(tmp_path / "cache"))
    assert lib.get("7").title == "Map" and os.path.exists(lib.tiff("7"))
    cat.write_text("{not json")
    with pytest.raises(ConfigError):
        D.DocumentLibrary.from_catalogue(str(cat), str(tmp_path / "cache"))


def test_corrupt_encrypted_huge_and_unknown_sources_are_refused(tmp_path, monkeypatch):
    out = str(tmp_path / "out.tif")
    corrupt = tmp_path / "corrupt.pdf"
    corrupt.write_bytes(b"%PDF-1.4\n" + bytes(range(256)) * 20)
    encrypted = str(tmp_path / "secret.pdf")
    subprocess.run(["gs", "-q", "-dSAFER", "-dBATCH", "-dNOPAUSE", "-sDEVICE=pdfwrite", "-sOwnerPassword=o",
                    "-sUserPassword=u", f"-sOutputFile={encrypted}", _pdf(tmp_path, 1, "plain.pdf")], check=True)
    binary = tmp_path / "blob.bin"
    binary.write_bytes(b"\x00\x01\x02garbage" * 100)
    broken_png = tmp_path / "broken.png"
    broken_png.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 64)
    for bad, words in [(corrupt, "failed|rendered no page"), (encrypted, "encrypted"), (binary, "not a PDF"), (broken_png, "failed"),
                       (tmp_path / "absent.pdf", "no such file")]:
        with pytest.raises(D.DocumentError, match=words):
            D.convert_to_tiff_f(str(bad), out)
        assert not os.path.exists(out) and not os.path.exists(out + ".part")
    restricted = str(tmp_path / "restricted.pdf")  # owner password only: printable, so it converts
    subprocess.run(["gs", "-q", "-dSAFER", "-dBATCH", "-dNOPAUSE", "-sDEVICE=pdfwrite", "-sOwnerPassword=o",
                    f"-sOutputFile={restricted}", _pdf(tmp_path, 1, "plain2.pdf")], check=True)
    assert D.convert_to_tiff_f(restricted, out) == 1
    os.unlink(out)
    monkeypatch.setattr(D, "MAX_SOURCE_BYTES", 1000)
    with pytest.raises(D.DocumentError, match="more than"):
        D.convert_to_tiff_f(_pdf(tmp_path, 1, "big.pdf"), out)
    monkeypatch.setattr(D, "MAX_SOURCE_BYTES", 50 << 20)
    monkeypatch.setattr(D, "MAX_PAGES", 2)
    with pytest.raises(D.DocumentError, match="pages"):
        D.convert_to_tiff_f(_pdf(tmp_path, 4, "long.pdf"), out)
