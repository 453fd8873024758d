"""Our fax terminal against a bare spandsp terminal through the emulator's G.711 path: pages arrive
pixel-identical (ImageMagick compare -metric AE = 0) both ways, with and without ECM, at each modem."""
import os

import pytest

from fax_helpers import have_tools, make_multipage_tiff, make_pattern_tiff, pixel_differences

pytest.importorskip("pycallcenter.fax._spandsp", reason="the spandsp binding is not built (libspandsp-dev)")
from pycallcenter.apps.fax_loopback import run_loopback  # noqa: E402

MODEMS = {"v17": 14400, "v29": 9600, "v27ter": 4800}


def _check(doc, tmp_path, direction, ecm, modem, law="ulaw"):
    received = str(tmp_path / f"rx-{direction}-{ecm}-{modem}.tif")
    r = run_loopback(doc, direction=direction, received=received, ecm=ecm, modem=modem, law=law)
    assert r.ours is not None and r.ours.ok, r
    assert r.ours.bit_rate == MODEMS[modem]
    assert r.ours.ecm == ecm
    assert r.far_status == 0
    assert os.path.exists(received)
    assert not os.path.exists(os.path.join(tmp_path, f".{os.path.basename(received)}.part"))
    assert pixel_differences(doc, received) == [0] * r.ours.pages
    return r


@pytest.mark.parametrize("direction,ecm,modem", [
    ("to-spandsp", True, "v17"), ("from-spandsp", True, "v17"),
    ("to-spandsp", False, "v29"), ("from-spandsp", True, "v27ter"),
])
def test_itu_chart_arrives_pixel_identical(testdata, tmp_path, direction, ecm, modem):
    _check(testdata("fax", "itu1_g4.tif"), tmp_path, direction, ecm, modem)


@pytest.mark.parametrize("direction,ecm", [("from-spandsp", True)])
def test_multipage_document_made_here_arrives_pixel_identical(tmp_path, direction, ecm):
    have_tools()
    doc = make_multipage_tiff(tmp_path, pages=3)
    r = _check(doc, tmp_path, direction, ecm, "v17", law="alaw")
    assert r.ours.pages == 3 and r.far_pages == 3
    assert [p.page for p in r.ours.page_info] == [1, 2, 3]


@pytest.mark.soak
@pytest.mark.parametrize("modem", sorted(MODEMS))
@pytest.mark.parametrize("ecm", [True, False])
@pytest.mark.parametrize("direction", ["to-spandsp", "from-spandsp"])
@pytest.mark.parametrize("document", ["itu", "multipage", "pattern"])
def test_full_matrix(testdata, tmp_path, document, direction, ecm, modem):
    have_tools()
    doc = {"itu": lambda: testdata("fax", "itu1_g4.tif"), "multipage": lambda: make_multipage_tiff(tmp_path, 3),
           "pattern": lambda: make_pattern_tiff(tmp_path)}[document]()
    _check(doc, tmp_path, direction, ecm, modem)


def test_moderate_noise_and_loss_still_deliver(testdata, tmp_path):
    doc = testdata("fax", "itu1_g4.tif")
    received = str(tmp_path / "rx.tif")
    r = run_loopback(doc, direction="from-spandsp", received=received, ecm=True, modem="v17", noise_dbm0=-55.0,
                     level_db=-6.0)
    assert r.ours.ok, r
    assert pixel_differences(doc, received) == [0]


def test_far_end_hanging_up_mid_page_leaves_no_file_and_frees_the_channel(testdata, tmp_path):
    doc = testdata("fax", "itu1_g4.tif")
    received = str(tmp_path / "rx.tif")
    seen = {}

    def hook(eng):
        seen["eng"] = eng

    r = run_loopback(doc, direction="from-spandsp", received=received, ecm=False, modem="v17", hangup_after=20.0,
                     engine_hook=hook)
    assert r.ours is not None and not r.ours.ok
    assert r.ours.hangup
    assert r.ours.path is None
    assert os.listdir(tmp_path) == []  # neither the TIFF nor its temp name
    eng = seen["eng"]
    assert not eng.legs  # the channel returned to idle
    assert any(" fax_received " in line and "ok=0" in line for line in eng.log_lines)
