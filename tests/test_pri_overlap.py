"""PRI overlap receiving through the composition root: a gateway centre (an E1 PRI span, a SIP trunk to a
PBX) whose routes include fixed-length and open-ended gateway routes, an IVR script route and a numbering
block with a gap; our network-side Q.931 stack is the PSTN sending the number digit by digit, and our user
agent is the PBX. The called
number is collected (SETUP ACKNOWLEDGE, INFORMATION) before the router sees the call, so the INVITE goes
out once with the whole number; sending complete and T302 end the collection; numbers nobody routes are
released with 28 or 1; every call leaves one CDR and nothing held."""
import os
import shutil

import pytest
from prompt_cache import prompt_cache  # noqa: F401 - the module's prompt set, built once

from engine_rig import PRI, Network
from engine_sip_rig import Phone, free_rtp_range, run
from pycallcenter import bundled
from pycallcenter.apps.centre import Centre
from pycallcenter.apps.settings import load_text
from pycallcenter.isdn import call as q

SEEN = '''"""Tell the test which number the call reached the script with."""


async def main(call):
    call.log(f"called {call.called}")
    await call.hangup()
'''

CENTRE = """
[centre]
data = "{data}"
scripts = "{scripts}"
default_script = "seen"
tone_plan = "etsi"
{centre_keys}
[fax]
detect = false

[sip]
listen = "127.0.0.1"
port = 0
channels = 8
rtp_ports = [{lo}, {hi}]

[[sip.trunk]]
name = "pbx"
host = "127.0.0.1"
port = {pbx}
channels = 8
accept = true

[[route]]
called = "_2XXX"
trunk = "pri"
to = "sip:pbx"

[[route]]
called = "_3."
trunk = "pri"
to = "sip:pbx"

[[route]]
called = "_4XX"
trunk = "pri"
script = "seen"

[[route]]
called = "_6[1-5]XX"
trunk = "pri"
script = "seen"

[[route]]
called = "_8XX"
trunk = "pri"
queue = "sales"

[[queue]]
name = "sales"
join_empty = "always"
"""


class Overlap:
    """The gateway example with overlap-friendly routes, the PSTN (network side) and the PBX (a SIP phone)."""

    def __init__(self, tmp_path, prompts, centre_keys="", pstn=Network):
        (tmp_path / "data").mkdir()
        os.symlink(prompts, tmp_path / "data" / "prompts")
        scripts = tmp_path / "scripts"
        scripts.mkdir()
        (scripts / "seen.py").write_text(SEEN)
        shutil.copy(bundled.scripts_dir() / "queue.py", scripts)  # what a queue route runs
        self.pbx = Phone("pbx", answer_after=None)
        lo, hi = free_rtp_range()
        text = PRI.format(seed=7) + CENTRE.format(data=tmp_path / "data", scripts=scripts, centre_keys=centre_keys,
                                                  lo=lo, hi=hi, pbx=self.pbx.addr[1])
        path = tmp_path / "overlap.toml"
        path.write_text(text)
        board_text, settings = load_text(text, file=str(path))
        self.centre = Centre(board_text, settings)
        self.centre.engine.log_lines = []
        self.eng = self.centre.engine
        self.net = pstn(self.centre.board)
        self.go(1.0)  # the D-channel comes up

    def now(self):
        return self.eng.now / 8000

    def go(self, seconds, until=None):
        return run(self.eng, seconds, self.pbx, until=until, tick=self.centre.tick)

    def dial(self, first, channel=1):
        """Send SETUP with the first digits and no sending complete; return the network's call once the
        centre has answered it (SETUP ACKNOWLEDGE, or anything else it chose)."""
        call = self.net.iface.setup(self.now(), called=first, calling="2025550100", channel=channel, overlap=True)
        assert self.go(1.0, until=lambda: call.state != q.CALL_INITIATED)
        return call

    def digit(self, call, digits, complete=False):
        """Send digits in INFORMATION and let them arrive."""
        self.net.events += self.net.iface.send_digits(call, digits, self.now(), complete=complete)
        self.go(0.2)

    def logged(self, kind):
        return [line for line in self.eng.log_lines if line.split(" ")[1] == kind]

    def invites(self):
        return [e.request for e in self.pbx.events if type(e).__name__ == "IncomingCall"]

    def ended(self, call):
        """Tick until the network's call and every leg are gone; return the network's Disconnected cause."""
        assert self.go(20.0, until=lambda: call.state == q.NULL and not self.eng.legs and not self.eng.calls)
        gone = [e for e in self.net.events if isinstance(e, q.Disconnected) and e.call is call]
        return gone[-1].cause if gone else None

    def invited(self, number, why, within):
        """Wait up to within seconds for the one INVITE; check its number and why collection ended (the
        overlap_done log line); return the seconds it took."""
        start = self.now()
        assert self.go(within, until=self.invites)
        assert [i.uri.user for i in self.invites()] == [number]
        assert [line.split("why=")[1] for line in self.logged("overlap_done")] == [why]
        return self.now() - start

    def refused_by_pbx(self, call, status):
        """The PBX refuses the one INVITE; return the cause the PSTN heard once everything is gone."""
        self.pbx._run(self.pbx.ua.reject(self.pbx.call_id, status, self.now()))
        cause = self.ended(call)
        assert self.centre.leaks() == []
        return cause

    def close(self):
        self.centre.close()
        self.pbx.close()


@pytest.fixture
def ov(tmp_path, prompt_cache):
    o = Overlap(tmp_path, prompt_cache)
    try:
        yield o
    finally:
        o.close()


def test_digits_one_by_one_become_one_invite_with_the_whole_number(ov):
    call = ov.dial("2")
    assert call.state == q.OVERLAP_SENDING  # the centre asked for more digits
    for d in "00":
        ov.digit(call, d)
        assert ov.invites() == [] and not ov.eng.calls  # nobody sees the call while the number can grow
    ov.digit(call, "1")  # 2001: _2XXX takes it and no longer number could match any route
    ov.invited("2001", "matched", within=2.0)
    ov.go(0.5)
    assert len(ov.invites()) == 1
    assert ov.invites()[0].from_.uri.user == "2025550100"
    assert [line.split("called=")[1].split(" ")[0] for line in ov.logged("offered")] == ["2001"]
    assert ov.refused_by_pbx(call, 486) == 17
    ov.go(1.0)
    assert ov.centre.writer.written == 1


def test_sending_complete_ends_an_open_ended_number_at_once(ov):
    call = ov.dial("3")
    assert call.state == q.OVERLAP_SENDING
    ov.digit(call, "1")
    ov.digit(call, "2")
    assert ov.invites() == []  # _3. could take more digits: we wait
    ov.digit(call, "4", complete=True)
    ov.invited("3124", "complete", within=1.0)
    assert ov.refused_by_pbx(call, 486) == 17


def test_t302_routes_what_came(ov):
    call = ov.dial("31")
    ov.digit(call, "5")
    waited = ov.invited("315", "timeout", within=20.0)
    assert 14.5 < waited < 16.0, waited  # Q.931's default T302, restarted by the last digit
    assert ov.refused_by_pbx(call, 603) == 21


def test_an_ivr_route_gets_the_whole_number(ov):
    call = ov.dial("4")
    ov.digit(call, "1")
    assert not ov.eng.calls
    ov.digit(call, "2")
    assert ov.ended(call) == 16
    assert [line.split("msg=")[1] for line in ov.logged("script")] == ["called_412"]
    assert len(ov.logged("offered")) == 1
    assert ov.centre.leaks() == []
    ov.go(1.0)
    assert ov.centre.writer.written == 1


def test_a_queue_route_gets_the_call_once_with_the_whole_number(ov):
    call = ov.dial("8")
    ov.digit(call, "1")
    assert not ov.eng.calls
    ov.digit(call, "2")
    ov.go(2.0)
    assert [line.split("called=")[1].split(" ")[0] for line in ov.logged("offered")] == ["812"]
    assert [(c.id, c.queue, c.state) for c in ov.centre.acd.state.calls.values()] == [("C1", "sales", "waiting")]
    ov.net.events += ov.net.iface.hangup(call, ov.now(), 16)  # the caller gives up waiting
    ov.ended(call)
    assert ov.centre.leaks() == [] and not ov.centre.acd.state.calls
    ov.go(1.0)
    assert ov.centre.writer.written == 1


def test_an_incomplete_number_is_released_with_28_when_t302_runs_out(ov):
    call = ov.dial("20")
    ov.digit(call, "0")
    assert ov.ended(call) == 28  # 200 is the start of _2XXX but matches no route
    assert ov.invites() == [] and ov.logged("offered") == []
    assert ov.centre.leaks() == []
    ov.go(1.0)
    assert ov.centre.writer.written == 1


def test_a_number_no_route_can_take_is_released_with_1_at_once(ov):
    call = ov.dial("6")
    ov.digit(call, "7")  # 67: outside _6[1-5]XX, and no longer number helps
    assert ov.go(0.5, until=lambda: call.state == q.NULL)
    assert ov.ended(call) == 1
    assert [line.split("why=")[1] for line in ov.logged("overlap_done")] == ["no_route"]
    assert ov.logged("offered") == []
    ov.go(1.0)
    assert ov.centre.writer.written == 1


def test_a_caller_hanging_up_while_dialling_leaves_one_cdr_and_nothing_held(ov):
    call = ov.dial("2")
    ov.digit(call, "0")
    ov.net.events += ov.net.iface.hangup(call, ov.now(), 16)
    ov.ended(call)
    assert not ov.eng.legs and ov.centre.leaks() == []
    ov.go(1.0)
    assert ov.centre.writer.written == 1


def test_a_number_that_cannot_grow_is_offered_at_once_without_setup_acknowledge(ov):
    call = ov.dial("5000")  # no route starts with 5: the default script takes it as an en-bloc call
    assert call.state != q.OVERLAP_SENDING
    assert ov.ended(call) == 16
    assert [line.split("msg=")[1] for line in ov.logged("script")] == ["called_5000"]
    assert ov.logged("overlap") == []


def test_overlap_off_routes_the_setup_as_it_came(tmp_path, prompt_cache):
    o = Overlap(tmp_path, prompt_cache, centre_keys="pri_overlap = false\n")
    try:
        call = o.dial("41")
        assert call.state != q.OVERLAP_SENDING
        assert o.ended(call) == 16
        assert [line.split("msg=")[1] for line in o.logged("script")] == ["called_41"]  # the default script
    finally:
        o.close()


def test_the_timeout_key_sets_t302(tmp_path, prompt_cache):
    o = Overlap(tmp_path, prompt_cache, centre_keys="pri_overlap_timeout = 3\n")
    try:
        call = o.dial("31")
        assert 2.5 < o.invited("31", "timeout", within=6.0) < 3.5
        assert o.refused_by_pbx(call, 486) == 17
    finally:
        o.close()


def test_closing_the_centre_while_a_number_is_dialled_clears_it(tmp_path, prompt_cache):
    o = Overlap(tmp_path, prompt_cache)
    try:
        call = o.dial("2")
        o.digit(call, "0")
        o.centre.drain()
        assert not o.eng.legs and not o.eng.calls and o.centre.leaks() == []
        o.go(1.0)
        assert call.state == q.NULL and o.ended(call) == 16
        assert o.centre.writer.written == 1
    finally:
        o.close()
