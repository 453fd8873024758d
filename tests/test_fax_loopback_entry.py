"""The fax loopback's public entry (pycallcenter.apps.fax_loopback.run_loopback) builds its engine with the
script API itself: it runs with no script API registered by an earlier import of pycallcenter.ivr."""
import pytest

pytest.importorskip("pycallcenter.fax._spandsp", reason="the spandsp binding is not built (libspandsp-dev)")
from pycallcenter.apps.fax_loopback import run_loopback  # noqa: E402
from pycallcenter.engine import engine as engine_module  # noqa: E402
from pycallcenter.ivr import IvrCall  # noqa: E402


def test_run_loopback_needs_no_script_api_registered_beforehand(testdata, tmp_path, monkeypatch):
    monkeypatch.setattr(engine_module, "_call_factory", None)  # as in a process that never imported ivr
    engines = []

    def hook(eng):
        eng.log_lines = []
        engines.append(eng)

    r = run_loopback(testdata("fax", "itu1_g4.tif"), received=str(tmp_path / "rx.tif"), hangup_after=8.0,
                     engine_hook=hook)
    eng, = engines
    assert eng.call_factory is IvrCall
    assert any(" answered " in line for line in eng.log_lines)  # the script ran and answered the call
    assert r.ours is not None and r.ours.hangup  # send_fax ran in the script until the far end hung up at 8 s
