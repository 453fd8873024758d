"""ISDN PRI: Q.931 decode/build rates and complete calls per second (our network and user sides in one
process) against libpri (two instances over a socketpair, driven from C) in the same run."""
import pytest

from pycallcenter.isdn import call as cc
from pycallcenter.isdn import ie, q931

SETUP = bytes.fromhex("080200010504038090a21803a98381280b546573742043616c6c65726c0c2181323032353535303130307008a1"
                      "35353531323334a1")
CONNECT = bytes.fromhex("0802800107" "1803a98381")
DISCONNECT = bytes.fromhex("080200014508028190")
CALLS = 200


@pytest.mark.parametrize("name,data", [("SETUP", SETUP), ("CONNECT", CONNECT), ("DISCONNECT", DISCONNECT)],
                         ids=["SETUP", "CONNECT", "DISCONNECT"])
def test_decode(benchmark, name, data):
    msg = benchmark(q931.decode, data)
    assert msg.name == name


def test_decode_setup_fresh_numbers(benchmark):
    """SETUP decode with a new calling number every time (that IE misses the body memo, as in live traffic)."""
    msgs = [q931.Message(q931.SETUP, 5, False, [ie.bearer(0, layer1=3), ie.channel_id(5),
                                                ie.calling_number("20255%05d" % i), ie.called_number("5551234"),
                                                ie.single(0xA1)]).encode() for i in range(20000)]
    it = iter(msgs * 50)
    assert q931.decode(msgs[0]).fields("calling_party_number")["digits"] == "2025500000"
    benchmark(lambda: q931.decode(next(it)))


def test_decode_setup_uncached(benchmark):
    """SETUP decode with every memo emptied first: each IE body parsed by the generated code (the cold path)."""
    msg = benchmark.pedantic(q931.decode, args=(SETUP,), setup=q931.clear_caches, rounds=20000, iterations=1,
                             warmup_rounds=100)
    assert msg.fields("called_party_number")["digits"] == "5551234"


def _build_setup():
    return q931.Message(q931.SETUP, 5, False, [ie.bearer(0, layer1=3), ie.channel_id(5), ie.calling_number("2025550100"),
                                               ie.called_number("5551234"), ie.single(0xA1)]).encode()


def test_build_setup(benchmark):
    assert q931.decode(benchmark(_build_setup)).name == "SETUP"


def test_build_connect(benchmark):
    benchmark(lambda: q931.Message(q931.CONNECT, 5, True, [ie.channel_id(5)]).encode())


def test_build_disconnect(benchmark):
    benchmark(lambda: q931.Message(q931.DISCONNECT, 5, False, [ie.cause(16)]).encode())


def _pump(net, user, now):
    moved = True
    while moved:
        moved = False
        for a, b in ((net, user), (user, net)):
            for frame in a.pop_frames():
                moved = True
                for ev in b.receive(frame, now):
                    yield b, ev


def run_our_calls(n):
    """Place, answer and clear n calls between our user and network sides; returns calls completed."""
    net, user = cc.Interface(network=True), cc.Interface(network=False)
    net.start(0.0)
    user.start(0.0)
    list(_pump(net, user, 0.0))
    done = 0
    now = 0.0
    for _ in range(n):
        now += 0.001
        user.setup(now, "5551234", "2025550100", channel=1)
        for side, ev in _pump(net, user, now):
            if isinstance(ev, cc.IncomingCall):
                side.answer(ev.call, now)
            elif isinstance(ev, cc.Answered) and side is user:
                user.hangup(ev.call, now)
            elif isinstance(ev, cc.CallEnded) and side is user:
                done += 1
    return done


def test_calls_ours(benchmark):
    done = benchmark.pedantic(run_our_calls, args=(CALLS,), rounds=15, iterations=1)
    assert done == CALLS
    benchmark.extra_info["calls_per_round"] = CALLS


def test_calls_libpri(benchmark):
    try:
        from peers import libpri
        _, lib = libpri.load()
    except Exception as exc:  # the yardstick is optional on machines without libpri-dev
        pytest.skip(f"libpri unavailable: {exc}")
    done = benchmark.pedantic(lib.peer_pri_bench, args=(CALLS, 5), rounds=15, iterations=1)
    assert done == CALLS
    benchmark.extra_info["calls_per_round"] = CALLS
