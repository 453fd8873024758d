"""A room of agents behind one address logging in at once (a shift start, or every desktop reconnecting
after a restart): their password checks queue one at a time for that address instead of being refused
with rate_limited, and a connection waiting its turn is not closed as unauthenticated meanwhile."""
import pytest

from cti_rig import Centre
from pycallcenter.cti.auth import Accounts, User, hash_password
from pycallcenter.cti.config import Limits

ROOM = 8
PASSWORD = "a-room-of-agents"


@pytest.fixture(scope="module")
def stored():
    return hash_password(PASSWORD)  # the default cost: the checks queue for a while


@pytest.fixture
def centre(stored):
    accounts = Accounts([User(f"desk{i}", "agent", stored) for i in range(ROOM)])
    # the room's checks take longer than the unauthenticated timeout (ROOM x 35 ms or more, one at a time)
    c = Centre(tcp=False, accounts=accounts, limits=Limits(unauth_timeout=0.1))
    yield c
    c.close()


def test_logins_from_one_address_at_once_all_succeed_in_turn(centre):
    clients = []
    for i in range(ROOM):  # one after another, each asking as soon as it is connected: the unauthenticated
        # timeout counts from the connection, and on a loaded machine eight handshakes can take longer than it
        c = centre.client()
        c.send({"cmd": "auth", "user": f"desk{i}", "password": PASSWORD, "id": "in"})
        clients.append(c)

    def answered(got):
        return all(any(f.get("id") == "in" for f in got[id(c)]) for c in clients)

    # a bound on ticks, not on time: the checks run one at a time on the server, slower on a loaded machine
    got = centre.pump(clients, answered, max_ticks=50000)
    answers = [next(f for f in got[id(c)] if f.get("id") == "in") for c in clients]
    assert [a["type"] for a in answers] == ["reply"] * ROOM, answers
    assert sorted(name for _, name in centre.hub.sessions.values()) == sorted(f"desk{i}" for i in range(ROOM))
    assert centre.server.guard.refused["unauthenticated"] == 0 and centre.server.guard.refused["rate_limited"] == 0
