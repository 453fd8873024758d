"""DAHDI backend cost per channel: group read + write of 120 B-channels through the real system calls.

No card here, so the channel files are /dev/zero (reads return a block at once, writes are taken):
the ioctls at open time are answered by the fake kernel, and every tick then costs what it costs on a
card: one poll() over all files, one read() and one write() per channel, plus the backend's Python.
Yardstick: the same poll/read/write system calls in a bare Python loop, with no backend around them.
Channels per core = channels x audio seconds / CPU (process) seconds of the fastest round.
"""
import os
import select
import time

import numpy as np
import pytest

pytest.importorskip("pycallcenter.drivers.dahdi._dahdi_cffi", reason="DAHDI binding not built")

from pycallcenter.drivers import open_board, parse_config  # noqa: E402
from pycallcenter.drivers.dahdi.fake import FakeDahdiKernel  # noqa: E402

SPANS = 4
TICKS = 50  # 1 s of audio per round
BLOCK = 160
RESULTS = {}


def _config():
    text = "[board]\nlaw = \"alaw\"\n"
    for s in range(1, SPANS + 1):
        text += f"[[span]]\nspan = {s}\nkind = \"e1\"\nframing = \"ccs\"\ncoding = \"hdb3\"\n"
    bchans = ",".join(f"{31 * s + 1}-{31 * s + 15},{31 * s + 17}-{31 * s + 31}" for s in range(SPANS))
    dchans = ",".join(str(31 * s + 16) for s in range(SPANS))
    return parse_config(text + f"[[channels]]\nsignalling = \"bchan\"\nchannels = \"{bchans}\"\n"
                        f"[[channels]]\nsignalling = \"dchan\"\nchannels = \"{dchans}\"\n")


class ZeroSys(FakeDahdiKernel):
    """Open and ioctl as the fake kernel; read, write and poll as real system calls on /dev/zero."""

    def __init__(self, board):
        super().__init__(board)
        self.real = {}

    def open(self, path, flags):
        fd = super().open(path, flags)
        self.real[fd] = os.open("/dev/zero", os.O_RDWR)
        return fd

    def close(self, fd):
        os.close(self.real.pop(fd))
        super().close(fd)

    def read(self, fd, size):
        return os.read(self.real[fd], size)

    def write(self, fd, data):
        return os.write(self.real[fd], data)

    def poll(self, fds, timeout_ms):
        back = {self.real[fd]: fd for fd, _ in fds}
        p = select.poll()
        for fd, events in fds:
            p.register(self.real[fd], events)
        return [(back[fd], ev) for fd, ev in p.poll(timeout_ms)]


@pytest.fixture(scope="module")
def group():
    config = _config()
    emu = open_board(config, backend="emulator")
    board = open_board(config, backend="dahdi", sys=ZeroSys(emu))
    numbers = [n for n, c in board.channels.items() if c.signalling.is_audio]
    g = board.open(numbers)
    yield g
    board.close()
    emu.close()


def _report(benchmark, name, channels):
    seconds = benchmark.stats.stats.min
    per_core = channels * TICKS * BLOCK / 8000 / seconds
    RESULTS[name] = per_core
    benchmark.extra_info["channels_per_core"] = round(per_core)
    line = f"\n{name}: {per_core:,.0f} channels per core, {seconds / TICKS / channels * 1e6:.2f} us per channel-tick"
    if len(RESULTS) == 2:
        line += f" (backend / bare syscalls = {RESULTS['backend'] / RESULTS['bare syscalls']:.2f})"
    print(line)


@pytest.mark.benchmark(timer=time.process_time)
def test_dahdi_backend_read_write(benchmark, group):
    tx = np.full((len(group), BLOCK), 0xD5, np.uint8)

    def run():
        for _ in range(TICKS):
            group.write(tx)
            group.read()

    benchmark.pedantic(run, rounds=9, warmup_rounds=1)
    _report(benchmark, "backend", len(group))


@pytest.mark.benchmark(timer=time.process_time)
def test_bare_syscalls(benchmark, group):
    fds = [group.board.sys.real[c.file.fd] for c in group.channels]
    block = bytes(BLOCK)

    def run():
        p = select.poll()
        for fd in fds:
            p.register(fd, select.POLLIN | select.POLLPRI)
        for _ in range(TICKS):
            for fd in fds:
                os.write(fd, block)
            p.poll(20)
            for fd in fds:
                os.read(fd, BLOCK)

    benchmark.pedantic(run, rounds=9, warmup_rounds=1)
    _report(benchmark, "bare syscalls", len(fds))
