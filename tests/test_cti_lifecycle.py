"""What CTI sessions and servers leave behind when they end: nothing. Many WebSocket sessions come and go
through one server (no hub session, tracked transport, guard count or file descriptor stays), and a
server stopped on a live ACD binding takes its journal readers, engine listener and tick hook with it
(a reader left behind holds every queue-log entry the others have read, up to the journal's bound)."""
import asyncio
import json
import os

import pytest

from cti_rig import TOKENS, Centre
from pycallcenter.cti import serve


@pytest.fixture
def centre():
    c = Centre(tcp=False)
    yield c
    c.close()


def _fds():
    return len(os.listdir("/proc/self/fd"))


def test_sessions_that_come_and_go_leave_no_session_transport_or_descriptor(centre):
    def churn(n):
        clients = [centre.client("tok-a1" if i % 2 else "tok-boss") for i in range(n)]
        for c in clients:
            c.close()
        centre.clients.clear()
        for _ in range(500):  # the server notices the closes; the hub forgets the sessions at its ticks
            centre.tick()
            if not centre.hub.sessions and not centre.server.conns and not centre.server.tracked:
                break

    churn(5)  # warm up: the first connections allocate what stays for the server's life
    before = _fds()
    for _ in range(6):
        churn(10)
    assert centre.hub.sessions == {} and centre.hub.sources == {}
    assert centre.server.conns == {} and centre.server.tracked == {}
    assert centre.server.guard.conns == {}
    assert _fds() <= before


def test_a_stopped_server_leaves_no_journal_reader_listener_or_tick_hook(centre):
    binding, eng = centre.binding, centre.eng
    readers = (len(binding.decisions.readers), len(binding.acd.qlog.readers))
    hooks = (len(eng.tickers), len(eng.listeners))
    for _ in range(8):
        server = serve(binding, TOKENS)
        assert len(binding.acd.qlog.readers) == readers[1] + 1
        server.stop()
    assert (len(binding.decisions.readers), len(binding.acd.qlog.readers)) == readers
    assert (len(eng.tickers), len(eng.listeners)) == hooks
    server.stop()  # a second stop is harmless



def test_an_auth_read_before_the_end_but_handled_after_it_leaves_no_session(centre):
    """The race behind the soak's cti_flood recovery flake: the writer finds the peer gone and tells the
    hub, then the reader hands over an auth it had already read; the hub must not keep that session."""
    server = centre.server

    async def late_auth():
        c = server._open("ws", None)
        server._gone(c)  # the writer's end: the peer went away (no session yet, so no close for the hub)
        await server._text_in(c, json.dumps({"cmd": "auth", "token": "tok-a1", "id": 1}))
        await server._text_in(c, json.dumps({"cmd": "ping", "id": 2}))

    asyncio.run_coroutine_threadsafe(late_auth(), server.loop).result(5)
    centre.tick(5)
    assert centre.hub.sessions == {} and centre.hub.inbox.empty()
    assert centre.server.guard.refused["not_authenticated"] == 0
