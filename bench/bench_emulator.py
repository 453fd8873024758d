"""Board emulator throughput: one tick of a busy board (read + write every open channel, D-channel frames,
analog signalling) per call. The yardstick is real time: a tick is 20 ms of audio, so the speed-up over
real time is 20 ms / time per tick; simulated busy hours run that much faster than the wall clock."""
import numpy as np
import pytest

from pycallcenter.drivers import open_board, parse_config

SPANS = 8  # E1 spans, crossed over in pairs
PORTS = 12  # FXS ports wired to 12 FXO ports


def _config():
    text = "[board]\nblocksize = 160\n"
    for n in range(1, SPANS + 1):
        text += f'[[span]]\nspan = {n}\nframing = "ccs"\ncrc4 = true\ntiming = {n}\n'
    text += f'[[span]]\nspan = {SPANS + 1}\nkind = "fxs"\nchannels = {PORTS}\n'
    text += f'[[span]]\nspan = {SPANS + 2}\nkind = "fxo"\nchannels = {PORTS}\n'
    b = [f"{31 * s + 1}-{31 * s + 15},{31 * s + 17}-{31 * s + 31}" for s in range(SPANS)]
    d = [str(31 * s + 16) for s in range(SPANS)]
    first = 31 * SPANS + 1
    text += f'[[channels]]\nsignalling = "bchan"\nchannels = "{",".join(b)}"\n'
    text += f'[[channels]]\nsignalling = "dchan"\nchannels = "{",".join(d)}"\n'
    text += f'[[channels]]\nsignalling = "fxo_ks"\nchannels = "{first}-{first + PORTS - 1}"\n'
    text += f'[[channels]]\nsignalling = "fxs_ks"\nchannels = "{first + PORTS}-{first + 2 * PORTS - 1}"\n'
    text += "[emulator]\nseed = 1\n"
    for s in range(1, SPANS + 1, 2):
        text += f'[[emulator.cable]]\nkind = "crossover"\nspans = [{s}, {s + 1}]\n'
    text += (f'[[emulator.cable]]\nkind = "pair"\nfxs = "{first}-{first + PORTS - 1}"\n'
             f'fxo = "{first + PORTS}-{first + 2 * PORTS - 1}"\n')
    return parse_config(text)


@pytest.mark.parametrize("impairments", [False, True], ids=["clean", "bit-errors+noise"])
def test_emulator_tick(benchmark, impairments):
    board = open_board(_config())
    audio = [c for c in board.channels.values() if c.signalling.is_audio]
    group = board.open([c.number for c in audio])
    dchans = [board.open_hdlc(c.number) for c in board.channels.values() if c.signalling.is_hdlc]
    if impairments:
        for s in range(1, SPANS + 1):
            board.emulator.set_bit_errors(s, 1e-5)
        for c in audio[-2 * PORTS:]:
            board.emulator.set_line_noise(c.number, -50.0)
    for c in audio[-2 * PORTS:-PORTS]:
        c.ring(True)
    block = np.full((len(audio), 160), 0x55, np.uint8)
    frame = b"\x00\x01" + bytes(30)
    state = {"n": 0}

    def tick():
        group.write(block)
        group.read()
        state["n"] += 1
        if state["n"] % 5 == 0:
            for d in dchans:
                d.write_frame(frame)
                d.read_frames()
        board.poll_events()

    benchmark(tick)
    per_tick = benchmark.stats.stats.min
    benchmark.extra_info["x_realtime"] = round(0.020 / per_tick)
    print(f"\n{benchmark.name}: {len(audio)} audio channels, {per_tick * 1e6:.0f} us per tick, "
          f"{0.020 / per_tick:.0f}x real time")
