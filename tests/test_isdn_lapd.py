"""Q.921 LAPD machine back to back: establishment, data transfer, windowing, loss recovery, re-establishment."""
from hypothesis import given, settings, strategies as st

from pycallcenter.isdn import lapd
from pycallcenter.isdn.frame import Frame, decode


class Pair:
    """Network and user links wired back to back, with simulated time and optional frame loss."""

    def __init__(self):
        self.net = lapd.Link(network=True)
        self.user = lapd.Link(network=False)
        self.now = 0.0
        self.events = {id(self.net): [], id(self.user): []}
        self.drop = lambda sender, data: False
        self.wire = []

    def pump(self, until=None, max_steps=10000):
        for _ in range(max_steps):
            moved = False
            for a, b in ((self.net, self.user), (self.user, self.net)):
                for data in a.pop_frames():
                    self.wire.append((a is self.net, decode(data)))
                    moved = True
                    if not self.drop(a, data):
                        self.events[id(b)] += b.receive(data, self.now)
            if moved:
                continue
            deadlines = [d for d in (self.net.next_deadline(), self.user.next_deadline()) if d is not None]
            if not deadlines or (until is not None and min(deadlines) > until):
                return
            self.now = max(self.now, min(deadlines))
            for link in (self.net, self.user):
                self.events[id(link)] += link.handle_timer(self.now)
        raise AssertionError("no quiescence")

    def got(self, link, kind):
        return [e for e in self.events[id(link)] if isinstance(e, kind)]


def up_pair():
    p = Pair()
    p.net.establish(0.0)
    p.user.establish(0.0)
    p.pump(until=0.5)
    assert p.net.is_up and p.user.is_up
    return p


def test_establishment_with_sabme_collision_like_libpri():
    p = up_pair()
    kinds = [f.kind for _, f in p.wire]
    assert kinds[:4] == ["SABME", "SABME", "UA", "UA"]
    assert p.got(p.net, lapd.LinkUp) and p.got(p.user, lapd.LinkUp)
    # C/R: network commands carry 1, user commands 0
    assert [(net, f.cr) for net, f in p.wire if f.kind == "SABME"] == [(True, 1), (False, 0)]


def test_one_side_establishes():
    p = Pair()
    p.user.establish(0.0)
    p.pump(until=0.5)
    assert p.net.is_up and p.user.is_up
    assert p.got(p.net, lapd.LinkUp)[0].by_peer


def test_data_both_ways_in_order_and_acked():
    p = up_pair()
    for n in range(20):
        p.net.send(b"n%d" % n, p.now)
        p.user.send(b"u%d" % n, p.now)
    p.pump(until=p.now + 0.5)
    assert [e.info for e in p.got(p.user, lapd.Data)] == [b"n%d" % n for n in range(20)]
    assert [e.info for e in p.got(p.net, lapd.Data)] == [b"u%d" % n for n in range(20)]
    assert not p.net.unacked and not p.user.unacked
    assert p.net.vs == 20 and p.user.vr == 20


def test_window_limits_outstanding_frames():
    p = up_pair()
    for n in range(10):
        p.net.send(b"x", p.now)
    sent = [decode(d) for d in p.net.pop_frames()]
    assert [f.ns for f in sent if f.kind == "I"] == list(range(7))
    assert len(p.net.pending) == 3


def test_lost_i_frame_is_recovered_by_reject():
    p = up_pair()
    lost = []

    def drop(sender, data):
        f = decode(data)
        if sender is p.net and f.kind == "I" and f.ns == 1 and not lost:
            lost.append(f)
            return True
        return False

    p.drop = drop
    for n in range(4):
        p.net.send(b"%d" % n, p.now)
    p.pump(until=p.now + 5)
    assert [e.info for e in p.got(p.user, lapd.Data)] == [b"0", b"1", b"2", b"3"]
    assert any(f.kind == "REJ" for _, f in p.wire)


def test_lost_last_frame_recovered_by_t200():
    p = up_pair()
    p.drop = lambda sender, data: sender is p.net and decode(data).kind == "I" and decode(data).pf == 0 and not p.got(p.user, lapd.Data) and p.now < 0.2
    p.net.send(b"hello", p.now)
    p.pump(until=p.now + 5)
    assert [e.info for e in p.got(p.user, lapd.Data)] == [b"hello"]
    assert p.net.counters["retransmissions"] >= 1 and p.net.state == lapd.ESTABLISHED


def test_t203_polls_idle_link():
    p = up_pair()
    p.pump(until=25)
    polls = [f for net, f in p.wire if f.kind == "RR" and f.pf == 1]
    assert polls and p.net.is_up and p.user.is_up


def test_dead_peer_fails_after_n200_and_reestablishes():
    p = up_pair()
    p.drop = lambda sender, data: sender is p.user
    p.net.send(b"x", p.now)
    p.pump(until=p.now + 8)
    errors = [e.code for e in p.got(p.net, lapd.LinkError)]
    assert "I" in errors  # N200 polls unanswered -> re-establishment
    assert "G" in errors and p.got(p.net, lapd.LinkDown)
    p.drop = lambda sender, data: False
    p.net.establish(p.now)
    p.pump(until=p.now + 1)
    assert p.net.is_up and p.user.is_up


def test_peer_sabme_while_up_resets_link():
    p = up_pair()
    p.net.send(b"a", p.now)
    p.pump(until=p.now + 0.1)
    events = p.user.receive(Frame("SABME", cr=1, pf=1).encode(), p.now)
    assert events[-1] == lapd.LinkUp(reestablished=True, by_peer=True)
    assert p.user.vr == 0


def test_disc_releases():
    p = up_pair()
    p.net.release(p.now)
    p.pump(until=p.now + 1)
    assert p.net.state == lapd.TEI_ASSIGNED and p.user.state == lapd.TEI_ASSIGNED
    assert p.got(p.user, lapd.LinkDown) and p.got(p.net, lapd.LinkDown)


def test_physical_down_and_frames_in_tei_assigned():
    p = up_pair()
    assert p.user.physical_down(p.now) == [lapd.LinkDown("physical layer down")]
    p.user.receive(Frame("I", cr=1, pf=1, ns=0, nr=0, info=b"x").encode(), p.now)
    assert decode(p.user.pop_frames()[-1]).kind == "DM"


def test_bad_nr_triggers_reestablishment():
    p = up_pair()
    events = p.user.receive(Frame("RR", cr=1, nr=50).encode(), p.now)
    assert events[-1].code == "J"
    p.pump(until=p.now + 1)
    assert p.user.is_up and p.got(p.user, lapd.LinkUp)[-1].reestablished


@settings(max_examples=40)
@given(st.lists(st.binary(min_size=0, max_size=8), max_size=20), st.integers(0, 2**32))
def test_random_frames_never_raise_and_link_survives(frames, seed):
    p = up_pair()
    for data in frames:
        for link in (p.net, p.user):
            link.receive(data, p.now)
    p.net.send(b"after", p.now)
    p.pump(until=p.now + 30)
    assert p.net.is_up or p.net.state in (lapd.AWAITING_ESTABLISHMENT, lapd.TEI_ASSIGNED)
