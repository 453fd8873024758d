"""The CTI back end's agent_state events: a change the ACD makes (and logs) is reported at the next
events() call; one made past the ACD's log still shows within a board second (the periodic comparison of
every agent), so the shortcut of comparing only the agents the queue log names loses nothing."""
import pytest

from cti_rig import Centre
from pycallcenter.cti import backend as B


@pytest.fixture
def centre():
    c = Centre(tcp=False)
    yield c
    c.close()


def _states(frames):
    return [(f["agent"], f["state"]) for f in frames if f["event"] == "agent_state"]


def test_a_logged_change_is_reported_at_once_and_an_unlogged_one_within_a_second(centre):
    backend = centre.hub.backend
    centre.tick(B.SWEEP_TICKS + 1)
    backend.events()
    centre.binding.command("pause", "agent1", reason="break")
    assert _states(backend.events()) == [("agent1", "paused")]
    centre.binding.acd.agents["agent2"].reason = "meeting"  # no queue-log line: only the periodic comparison sees it
    got = []
    for _ in range(B.SWEEP_TICKS):
        got += _states(backend.events())
    assert got == [("agent2", "paused")]
