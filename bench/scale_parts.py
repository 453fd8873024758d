"""The CPU time of each part of the appliance-size centre's tick at steady busy-hour load (the run of
bench/scale_steady.py): the emulator, the simulated PSTNs, their spans' routing and D-channel frames, the
phone tap, the simulated agents, the PRI trunks and their Q.931 stacks; the media plane (receive with the echo
cancellers, the fax and silence taps and DTMF; transmit with the mix and the recordings' bank), the scheduler's
poll, the recordings' starts and stops and the listeners of the legs' events; each timed by the engine thread's
CPU time around it (time.thread_time) during the steady stretch, in microseconds a tick. Parts nest (a
recording stopped from a leg's end counts in the PRI trunks and the listeners too).

    .venv/bin/python bench/scale_parts.py [WARM=240] [STEADY=30] [DATA=/tmp/scale-parts] [SIP_EVERY]

SIP_EVERY as in bench/scale_steady.py (0: no SIP carrier, the quarter-hour figure's workload).

A sampling profiler's shares count the wall clock, so on a loaded machine they include the time a thread
was preempted (docs/reliability.md, "Scale"); these figures are CPU time. Each timed call costs two more
thread_time() system calls (under a microsecond of CPU each), so the parts called most (32 to 34 times a
tick) read a few microseconds high.
"""
import collections
import sys
import time

import scale_steady
from pycallcenter.apps.centre import Centre
from pycallcenter.drivers.emulator import core as emu_core
from pycallcenter.drivers.emulator import pstn as emu_pstn
from pycallcenter.engine import engine, media, pri, recording, scheduler, waits
from pycallcenter.fax import detect
from pycallcenter.isdn import span
from pycallcenter.sim import agents, pstn

PARTS = [  # (class, method, label)
    (Centre, "tick", "the centre's tick (the engine and the emulator's tick inside it)"),
    (emu_core.Emulator, "tick", "the emulator's tick (all of it)"),
    (pstn.PstnSimulator, "_tick", "the simulated PSTNs (network Q.931 or ISUP, callers, audio)"),
    (emu_pstn.NetworkSpan, "route", "network spans' audio routing"),
    (emu_pstn.NetworkSpan, "move_frames", "network spans' D-channel frames"),
    (emu_pstn.PhoneTap, "_take", "the phone tap"),
    (agents.AgentPool, "tick", "the simulated agents"),
    (pri.PriTrunk, "on_tick", "the PRI trunks (Q.931 and what a leg's events set off)"),
    (span.PriSpan, "service", "the PRI trunks' Q.931 stacks alone"),
    (media.MediaPlane, "receive", "media receive (G.711 decode, echo, taps, DTMF)"),
    (media.EchoGroup, "cancel", "the echo cancellers (kernel and rows)"),
    (detect.BatchedFaxWatcher, "tap", "the fax watchers' tap"),
    (waits.SilenceWatch, "tap", "the silence tap"),
    (media.MediaPlane, "transmit", "media transmit (mix, send, the recordings' bank)"),
    (media.MediaPlane, "_mix", "the mix (links, tones, sources, players, beeps)"),
    (recording.RecorderBank, "tick", "the recordings' bank tick (gather, hand-overs)"),
    (scheduler.Scheduler, "poll", "the scheduler's poll (scripts and waiting ops)"),
    (engine.Engine, "start_recording", "recordings started"),
    (engine.Engine, "stop_recording", "recordings stopped"),
    (engine.Engine, "_notify", "the listeners of legs' events and calls' ends"),
]


def main(warm=240.0, steady=30.0, data="/tmp/scale-parts", sip_every=scale_steady.soak.SIP_SHARE):
    """Run the steady stretch with each part timed; return {label: (microseconds a tick, calls a tick)}."""
    spent, calls, timing = collections.Counter(), collections.Counter(), [False]

    def timed(fn, label):
        def run(*args, **kw):
            if not timing[0]:
                return fn(*args, **kw)
            c0 = time.thread_time()
            try:
                return fn(*args, **kw)
            finally:
                spent[label] += time.thread_time() - c0
                calls[label] += 1
        return run

    def prepare(k):
        for cls, name, label in PARTS:
            setattr(cls, name, timed(getattr(cls, name), label))
        for sim in k.pstns:  # each network span holds its simulator's bound method from before the wrapping
            if isinstance(sim, pstn.PstnSimulator):
                sim.far.handler = sim._tick
        return lambda: timing.__setitem__(0, True)

    ticks, cpu = scale_steady.main(warm, steady, data, prepare=prepare, sip_every=sip_every)
    out = {label: (1e6 * spent[label] / ticks, calls[label] / ticks) for _, _, label in PARTS}
    for label, (us, n) in out.items():
        print(f"{us:8.0f} us a tick  {label}  ({n:.0f} calls a tick)")
    return out


if __name__ == "__main__":
    args = sys.argv[1:]
    main(*(float(a) for a in args[:2]), *args[2:3], sip_every=int(args[3]) if len(args) > 3 else scale_steady.soak.SIP_SHARE)
