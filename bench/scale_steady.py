"""The appliance-size centre (32 E1 PRI spans, 500 agents; the soak's centre) at steady busy-hour load:
warm up for WARM simulated seconds, then time STEADY more and print the CPU per tick and the speed over
real time by CPU time. The ramp-up (agents logging in, queues filling) is left out, so two runs of different
code compare what a busy hour costs. While the steady stretch runs, its process id is in DATA.steady, for a
sampling profiler to attach to (docs/reliability.md, "Scale", has the py-spy command).

    .venv/bin/python bench/scale_steady.py [WARM=240] [STEADY=120] [DATA=/tmp/scale-steady] [SIP_EVERY]

SIP_EVERY is the soak's --sip-every (every n-th caller over the simulated SIP carrier; 0: no carrier, the
quarter-hour figure's workload); without it the soak's default.

A script, not a pytest benchmark: one run takes minutes and its figure is one number per run. On a shared
machine the CPU per tick grows with the other jobs' load (caches and memory traffic are shared), so compare
two versions of the code by running them side by side, at the same time: two copies of the tree (each with
its compiled modules built and drivers/, _native/, ivr_scripts/ and hwtests/ linked into its pycallcenter/
folder as the installed package lays them out), each run from its copy with PYTHONPATH set to it;
docs/reliability.md ("Scale") has pairs made this way.
"""
import os
import sys
import time

from pycallcenter.apps import soak


def main(warm=240.0, steady=120.0, data="/tmp/scale-steady", prepare=None, sip_every=soak.SIP_SHARE):
    """Run the centre; return (ticks, CPU seconds) of the steady stretch. prepare(soak), if given, runs once the
    centre is built and returns a function called as the steady stretch starts (bench/scale_parts.py)."""
    k = soak.Soak(soak.SoakSettings(hours=1.0, spans=32, agents=500, faults=0, data_dir=data,
                                         sip_every=int(sip_every)), stream=None)
    at_steady = prepare(k) if prepare is not None else None
    per_second = int(round(soak.SAMPLE_RATE / k.centre.board.blocksize))
    state = {"publish": 5.0, "minute": 60.0, "n": 0}

    def until(end):  # the soak's own loop: ticks, the checks each second and minute, the status every 5 s
        while k.seconds() < end:
            k.tick()
            state["n"] += 1
            now = k.seconds()
            if state["n"] % per_second == 0:
                k._check_second(now)
            if now >= state["publish"]:
                k.centre.publish()
                state["publish"] += 5.0
            if now >= state["minute"]:
                k._check_minute(now)
                state["minute"] += 60.0

    until(warm)
    marker = data + ".steady"
    with open(marker, "w") as fh:
        fh.write(str(os.getpid()))
    if at_steady is not None:
        at_steady()
    c0, n0 = time.process_time(), state["n"]
    until(warm + steady)
    cpu, ticks = time.process_time() - c0, state["n"] - n0
    os.remove(marker)
    print(f"steady: {steady:.0f} s simulated after {warm:.0f} s, {ticks} ticks, {cpu:.1f} s CPU, "
          f"{1000 * cpu / ticks:.2f} ms per tick, {steady / cpu:.2f}x real time by CPU time; calls up "
          f"{len(k.engine.calls)}, violations {len(k.violations)}; load average {os.getloadavg()[0]:.1f}")
    for line in k.violations:  # the soak's invariant checks run each second and minute, as in a soak
        print(f"  violation: {line}")
    return ticks, cpu


if __name__ == "__main__":
    args = sys.argv[1:]
    main(*(float(a) for a in args[:2]), *args[2:3], sip_every=int(args[3]) if len(args) > 3 else soak.SIP_SHARE)
