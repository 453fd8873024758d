"""The spandsp binding and FaxSession without the engine: two sessions fed each other's audio."""
import numpy as np
import pytest

from fax_helpers import pixel_differences

pytest.importorskip("pycallcenter.fax._spandsp", reason="the spandsp binding is not built (libspandsp-dev)")
from pycallcenter.errors import LocalProtocolError  # noqa: E402
from pycallcenter.fax import session as S  # noqa: E402
from pycallcenter.fax._lib import ffi, lib  # noqa: E402


def _pair(tx, rx, law=None, max_ticks=6000):
    a = np.zeros(160, np.int16)
    b = np.zeros(160, np.int16)
    for _ in range(max_ticks):
        if tx.done and rx.done:
            break
        if law:
            a2, b2 = tx.tick_g711(b, law), rx.tick_g711(a, law)
        else:
            a2, b2 = tx.tick(b), rx.tick(a)
        a, b = a2, b2


def test_stats_struct_comes_from_the_installed_header():
    # 0.0.6 has no rtp/rtn event counters; API mode sized the struct from the header
    assert ffi.sizeof("t30_stats_t") == 15 * ffi.sizeof("int")
    assert ffi.string(lib.t30_completion_code_to_str(lib.T30_ERR_OK)) == b"OK"


def test_sender_and_receiver_report_pages_idents_and_phase_events(testdata, tmp_path):
    chart = testdata("fax", "itu1_g4.tif")
    seen = []
    tx = S.FaxSession(calling=True, send=chart, ident="+1 555 0100", modems=["v29"], ecm=False)
    rx = S.FaxSession(calling=False, receive=str(tmp_path / "rx.tif"), ident="+1 555 0199", on_event=seen.append)
    _pair(tx, rx, law="alaw")
    assert tx.result.ok and rx.result.ok
    assert (tx.result.pages, rx.result.pages) == (1, 1)
    assert tx.result.remote_ident == "+1 555 0199" and rx.result.remote_ident == "+1 555 0100"
    assert rx.result.bit_rate == 9600 and not rx.result.ecm
    kinds = [type(e).__name__ for e in seen]
    assert kinds[0] == "PhaseB" and kinds[-1] == "PhaseE" and "PageDone" in kinds
    page = rx.result.page_info[0]
    assert (page.width, page.length, page.x_dpi, page.y_dpi, page.bad_rows) == (1728, 2376, 204, 196, 0)
    assert pixel_differences(chart, str(tmp_path / "rx.tif")) == [0]


def test_page_header_adds_rows_above_the_image(testdata, tmp_path):
    chart = testdata("fax", "itu1_g4.tif")
    tx = S.FaxSession(calling=True, send=chart, header="pycallcenter test", ident="HDR")
    rx = S.FaxSession(calling=False, receive=str(tmp_path / "rx.tif"))
    _pair(tx, rx)
    assert rx.result.ok
    assert rx.result.page_info[0].length > 2376


def test_max_rate_limits_the_modems(testdata, tmp_path):
    tx = S.FaxSession(calling=True, send=testdata("fax", "itu1_g4.tif"), max_rate=9600)
    rx = S.FaxSession(calling=False, receive=str(tmp_path / "rx.tif"))
    _pair(tx, rx)
    assert tx.result.ok and tx.result.bit_rate == 9600
    with pytest.raises(ValueError):
        S.FaxSession(calling=True, send=testdata("fax", "itu1_g4.tif"), max_rate=2400)
    with pytest.raises(ValueError):
        S.FaxSession(calling=True, send=testdata("fax", "itu1_g4.tif"), modems=["v34"])


def test_misuse_is_refused(tmp_path):
    with pytest.raises(LocalProtocolError):
        S.FaxSession(calling=True)
    with pytest.raises(FileNotFoundError):
        S.FaxSession(calling=True, send=str(tmp_path / "missing.tif"))
    with pytest.raises(ValueError):
        S.FaxSession(calling=False, receive=str(tmp_path / "x.tif"), ident="x" * 21)


def test_hangup_mid_call_ends_with_call_dropped(testdata, tmp_path):
    tx = S.FaxSession(calling=True, send=testdata("fax", "itu1_g4.tif"))
    rx = S.FaxSession(calling=False, receive=str(tmp_path / "rx.tif"))
    _pair(tx, rx, max_ticks=600)  # 12 s: inside the page
    assert not rx.done
    result = rx.hangup()
    assert result.hangup and not result.ok
    assert rx.hangup() is result  # idempotent
    assert rx.tick(np.zeros(160, np.int16)).shape == (160,)  # a closed session stays silent


def test_a_sender_with_no_partner_times_out_by_itself(testdata):
    tx = S.FaxSession(calling=True, send=testdata("fax", "itu1_g4.tif"))
    silence = np.zeros(160, np.int16)
    for _ in range(50 * 120):
        tx.tick(silence)
        if tx.done:
            break
    assert tx.done and not tx.result.ok
    assert tx.result.pages == 0


def test_missing_binding_names_the_debian_package(monkeypatch):
    import importlib
    import sys

    from pycallcenter.errors import HardwareError

    monkeypatch.setitem(sys.modules, "pycallcenter.fax._spandsp", None)  # as if never built
    monkeypatch.delitem(sys.modules, "pycallcenter.fax._lib")
    with pytest.raises(HardwareError, match="libspandsp-dev"):
        importlib.import_module("pycallcenter.fax._lib")


def test_builder_reports_a_missing_header(monkeypatch, tmp_path):
    import glob
    import os

    path = os.path.join(os.path.dirname(S.__file__), "_cffi_spandsp.py")
    monkeypatch.setattr(os.path, "exists", lambda p: False)
    monkeypatch.setattr(glob, "glob", lambda pattern: [])
    scope = {"__file__": path, "__name__": "_cffi_builder"}
    exec(compile(open(path).read(), path, "exec"), scope)
    assert scope["ffibuilder"] is None and "libspandsp-dev" in scope["MISSING"]


def test_a_failing_event_handler_is_logged_not_fatal(testdata, tmp_path, caplog):
    def broken(ev):
        raise RuntimeError("handler bug")

    tx = S.FaxSession(calling=True, send=testdata("fax", "itu1_g4.tif"), on_event=broken)
    rx = S.FaxSession(calling=False, receive=str(tmp_path / "rx.tif"))
    _pair(tx, rx)
    assert tx.result.ok and rx.result.ok
    assert "handler failed" in caplog.text and "handler bug" in caplog.text
