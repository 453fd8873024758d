"""`pycallcenter fax loopback` and `pycallcenter fax convert` from the command line."""
import pytest

from fax_helpers import have_tools, pixel_differences
from pycallcenter.cli import main

pytest.importorskip("pycallcenter.fax._spandsp", reason="the spandsp binding is not built (libspandsp-dev)")


def test_loopback_to_spandsp_writes_sent_and_received(tmp_path, capsys):
    have_tools()
    doc = tmp_path / "note.txt"
    doc.write_text("A short note, sent at standard resolution.\n")
    rx, sent = str(tmp_path / "received.tif"), str(tmp_path / "sent.tif")
    rc = main(["fax", "loopback", str(doc), "--to-spandsp", "-o", rx, "--sent-tiff", sent, "--no-ecm", "--modem",
               "v29", "--standard"])
    out = capsys.readouterr().out
    assert rc == 0, out
    assert "we sent, spandsp received: OK" in out and "9600 bit/s" in out and "ECM off" in out
    assert pixel_differences(sent, rx) == [0]


def test_loopback_from_spandsp_with_a_text_document(tmp_path, capsys):
    have_tools()
    doc = tmp_path / "memo.txt"
    doc.write_text("Memo\n\nThe fax loopback works from a text file.\n")
    rx, sent = str(tmp_path / "received.tif"), str(tmp_path / "sent.tif")
    rc = main(["fax", "loopback", str(doc), "--from-spandsp", "-o", rx, "--sent-tiff", sent, "--ecm"])
    out = capsys.readouterr().out
    assert rc == 0, out
    assert "spandsp sent, we received: OK" in out and "ECM on" in out
    assert pixel_differences(sent, rx) == [0]


def test_bad_document_is_a_clear_error(tmp_path, capsys):
    have_tools()
    bad = tmp_path / "x.pdf"
    bad.write_bytes(b"%PDF-1.4 /Encrypt 1 0 R")  # a broken file that claims encryption
    assert main(["fax", "loopback", str(bad), "-o", str(tmp_path / "r.tif")]) == 1
    assert "encrypted" in capsys.readouterr().err
    assert main(["fax", "convert", str(bad), "-o", str(tmp_path / "r.tif")]) == 1
    assert not (tmp_path / "r.tif").exists()


def test_convert_reports_pages(tmp_path, capsys):
    have_tools()
    doc = tmp_path / "a.txt"
    doc.write_text("hello\n")
    assert main(["fax", "convert", str(doc), "-o", str(tmp_path / "a.tif"), "--standard", "--g3"]) == 0
    assert "1 page(s)" in capsys.readouterr().out
