"""Found by the chaos soak at 500 agents: a CTI flood kept the hub's inbox from ever emptying while the
engine drained it inside one tick (a snapshot costs about 5 ms at that size), so one tick lasted 458 s and
every call's audio stopped. The hub now runs a bounded number of messages a tick and one snapshot serves
every command that reads it in that tick; the server refuses commands while the inbox is full."""
from types import SimpleNamespace

from pycallcenter.cti import protocol as P
from pycallcenter.cti.backend import Backend
from pycallcenter.cti.hub import COMMANDS_PER_TICK, INBOX_LIMIT, CtiHub


class CountingBackend(Backend):
    """A back end that counts the snapshots taken and lets an agent log in."""

    def __init__(self):
        self.snapshots = 0
        self.logged_in = []

    def snapshot(self):
        self.snapshots += 1
        return {"time": float(self.snapshots), "queues": [], "agents": [
            {"name": n, "state": "ready", "reason": ""} for n in self.logged_in]}

    def login(self, name, ready=True, contact=None):
        self.logged_in.append(name)
        return {}


def _hub():
    engine = SimpleNamespace(now=0, tickers=[], log=lambda *a, **k: None)
    backend = CountingBackend()
    hub = CtiHub(engine, backend)
    hub.sessions["c1"] = (P.SUPERVISOR, "sup")
    sent = []
    hub.deliver = sent.extend
    return hub, backend, sent


def test_a_tick_runs_a_bounded_number_of_commands_and_the_rest_wait():
    hub, backend, sent = _hub()
    for i in range(3 * COMMANDS_PER_TICK + 5):
        hub.inbox.put(("msg", "c1", {"cmd": "agent_snapshot", "id": i}))
    before = backend.snapshots
    hub.poll(0)
    replies = [f for _, f in sent if f.get("type") == "reply"]
    assert [f["id"] for f in replies] == list(range(COMMANDS_PER_TICK))
    assert hub.inbox.qsize() == 2 * COMMANDS_PER_TICK + 5
    assert backend.snapshots - before == 1  # one snapshot served every read in the tick
    for _ in range(3):
        hub.poll(0)
    assert hub.inbox.empty()
    assert [f["id"] for _, f in sent if f.get("type") == "reply"] == list(range(3 * COMMANDS_PER_TICK + 5))
    assert INBOX_LIMIT >= 8 * COMMANDS_PER_TICK  # the server's push-back leaves the hub several ticks of work


def test_a_command_that_changes_state_is_seen_by_a_snapshot_later_in_the_same_tick():
    hub, backend, sent = _hub()
    hub.sessions["c2"] = (P.AGENT, "ann")
    hub.inbox.put(("msg", "c1", {"cmd": "agent_snapshot", "id": 1}))
    hub.inbox.put(("msg", "c2", {"cmd": "login", "id": 2}))
    hub.inbox.put(("msg", "c1", {"cmd": "agent_snapshot", "id": 3}))
    hub.poll(0)
    replies = {f["id"]: f for _, f in sent if f.get("type") == "reply"}
    assert replies[1]["agents"] == [] and [a["name"] for a in replies[3]["agents"]] == ["ann"]
