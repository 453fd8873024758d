"""[centre] echo_window: the line echo cancellers a centre builds wait for a bulk-delay estimate and adapt a
window around it (placed, the default) or adapt over the whole tail at a call's start (whole); a call runs
through either, and a value that is neither is refused naming the key."""
import pytest

from pycallcenter.apps.settings import ConfigError, load_text
from test_centre import build, call_in, centre_text, prompts, run  # noqa: F401 - prompts: the module fixture


def _places(centre):
    return {g.canceller.params["place"] for g in centre.engine.media.echo_groups}


@pytest.mark.parametrize("window, place", [(None, True), ("whole", False), ("placed", True)])
def test_echo_window_reaches_every_canceller_and_a_call_runs_through_it(tmp_path, window, place):
    centre, sim = build(tmp_path, "", centre=f'echo_window = "{window}"' if window else "")
    try:
        assert centre.engine.media.echo_groups, "the demo's board has lines with echo cancellers"
        assert _places(centre) == {place}
        caller = call_in(sim, talk=3.0)
        run(sim, 3)
        assert caller.answered is not None and caller.ended is None
        assert sum(g.active.size for g in centre.engine.media.echo_groups) == 1  # the caller's line cancels
    finally:
        sim.close()


def test_echo_window_refuses_an_unknown_value(tmp_path):
    text = centre_text(tmp_path / "data", centre='echo_window = "early"')
    with pytest.raises(ConfigError) as err:
        load_text(text, file="centre.toml")
    assert "echo_window" in str(err.value) and "\n" not in str(err.value)
