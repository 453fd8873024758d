"""A PRI span on the board emulator: our network side on span 1, our user side on span 2, joined by a
crossover cable; calls get board B-channels, a pulled cable takes the D-channel down, reconnecting restores it."""
import pytest

from pycallcenter.drivers import open_board
from pycallcenter.isdn import call as cc
from pycallcenter.isdn.span import PriSpan

from engine_rig import e1_pair_config

CONFIG = e1_pair_config("pri-back-to-back", seed=1)


@pytest.fixture
def rig(tmp_path):
    path = tmp_path / "board.toml"
    path.write_text(CONFIG)
    board = open_board(str(path))
    net = PriSpan(board, 1, network=True)
    user = PriSpan(board, 2, network=False)
    rig = {"board": board, "net": net, "user": user, "events": {"net": [], "user": []}}
    rig["events"]["net"] += net.start()
    rig["events"]["user"] += user.start()
    yield rig
    board.close()


def run(rig, ticks):
    board = rig["board"]
    for _ in range(ticks):
        board.step(1)
        for ev in board.poll_events():
            for side in ("net", "user"):
                rig["events"][side] += rig[side].handle_board_event(ev)
        for side in ("net", "user"):
            rig["events"][side] += rig[side].service()


def of(rig, side, kind):
    return [e for e in rig["events"][side] if isinstance(e, kind)]


def test_call_over_the_emulated_span_gets_board_channels(rig):
    run(rig, 20)
    assert rig["net"].iface.link.is_up and rig["user"].iface.link.is_up
    call = rig["user"].iface.setup(rig["user"].now(), "5551234", "2025550100", channel=5)
    run(rig, 10)
    inc = of(rig, "net", cc.IncomingCall)[0]
    assert (inc.called, inc.calling, inc.channel) == ("5551234", "2025550100", 5)
    assert rig["net"].board_channel(inc.call) == 5 and rig["user"].board_channel(call) == 36
    rig["events"]["net"] += rig["net"].iface.answer(inc.call, rig["net"].now())
    run(rig, 10)
    assert call.state == cc.ACTIVE


def test_pulled_cable_takes_dchannel_down_and_reconnect_restores(rig):
    run(rig, 20)
    call = rig["user"].iface.setup(rig["user"].now(), "1", "2")
    run(rig, 10)
    inc = of(rig, "net", cc.IncomingCall)[0]
    rig["net"].iface.answer(inc.call, rig["net"].now())
    pending = rig["user"].iface.setup(rig["user"].now(), "3", "4")
    run(rig, 10)
    assert call.state == cc.ACTIVE
    pending_net = [e.call for e in of(rig, "net", cc.IncomingCall) if e.called == "3"][0]
    rig["board"].emulator.pull_cable(2)
    run(rig, 5)
    assert of(rig, "user", cc.DChannelDown) and not rig["user"].iface.link.is_up
    assert call.state == cc.ACTIVE and "T309" in rig["user"].iface.running(call)  # active calls survive T309
    assert pending.state == cc.NULL  # calls being set up are cleared
    rig["board"].emulator.reconnect(2)
    run(rig, 200)
    assert rig["user"].iface.link.is_up and rig["net"].iface.link.is_up
    assert call.state == cc.ACTIVE and "T309" not in rig["user"].iface.running(call)
    assert pending_net.state == cc.NULL or pending_net.state == cc.CALL_PRESENT
