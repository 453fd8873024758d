"""Which 20 ms ticks are slow, and why: the appliance-size centre (32 E1 PRI spans, 500 agents; the soak's
centre) with 20 ms ticks. Warm up WARM simulated seconds, then record RECORD more; for every tick, its
engine-thread CPU time (``time.thread_time()``, as the soak times it), its wall time, the CPU time of the
loop's work after it (the soak's checks each second and minute, and the status publication every
`status_every`, 1 s: the centre's own loop runs the ticks, as in `pycallcenter run`) and what ran in it: each part's own CPU time (the board and
emulator, the media plane, the recordings' hand-over, scripts, each trunk, the CTI hub, CDR commits,
the status file, the soak's checks, housekeeping, Python's cyclic GC by generation) and what happened
(calls answered and ended, recordings started and stopped). It prints p50/p99/p99.9/max by CPU and by
wall clock, the load average, the parts' share of the slowest 0.1% of ticks and those ticks themselves.

    .venv/bin/python bench/paced_ticks.py [WARM=120] [RECORD=180] [DATA=/tmp/paced-ticks] [paced] [gc=T0,T1,T2]
                                          [switch=SECONDS] [realtime] [cpu=N] [collector=auto]

``paced`` ticks the recorded stretch against the wall clock (as a board would; the wall-clock figures
are then the real ones on a quiet core); without it the centre runs as fast as the CPU allows, which is
enough for attributing CPU time. ``gc=`` sets the collector's thresholds (``gc.set_threshold``) for the
recorded stretch, to compare against the centre's own; ``switch=`` the switch interval a paced centre runs with
(``centre.PACED_SWITCH``; 0.005 is Python's default); ``realtime`` and ``cpu=N`` give the paced stretch the
centre's ``[centre] realtime = true`` and ``cpu = N`` (the tick thread in SCHED_RR, pinned);
``collector=auto`` keeps the collector's automatic runs on in the paced stretch (as before the paced loop ran
every collection between ticks, ``pycallcenter.heap.between_ticks``), to compare the two in one tree. A script, not a pytest benchmark: one run takes minutes.

Where a tick's wall time beyond its CPU time went is read from the kernel's per-thread counters
(``/proc/self/task/*/schedstat``): the time the engine thread was runnable but waited for a core (another
process or thread held it), the time it was blocked (the GIL held by another of the process's threads, I/O,
a lock), its page faults, and the CPU time the process's other threads (the recordings' writer, the CTI
server) took during the tick; and the part of the tick each wait fell in (each part's wall time less its CPU).
"""
import collections
import contextlib
import gc
import os
import sys
import threading
import time
import types

from pycallcenter.apps import centre as centre_module
from pycallcenter.apps import soak
from pycallcenter.engine import recording
from pycallcenter.storage.cdr import CdrWriter

TICK = 160  # samples: a real board's 20 ms


class Probe:
    """Exclusive CPU time (engine thread) per named part within the current tick, and event counts."""

    def __init__(self):
        self.parts = collections.Counter()  # part -> CPU seconds in this tick, nested parts taken out
        self.walls = collections.Counter()  # part -> wall seconds in this tick, nested parts taken out
        self.events = collections.Counter()  # event -> count in this tick
        self._stack = []  # [part, CPU start, children's CPU, wall start, children's wall]

    def enter(self, part):
        self._stack.append([part, time.thread_time(), 0.0, time.perf_counter(), 0.0])

    def leave(self):
        part, start, inner, wall0, inner_wall = self._stack.pop()
        took, took_wall = time.thread_time() - start, time.perf_counter() - wall0
        self.parts[part] += took - inner
        self.walls[part] += took_wall - inner_wall
        if self._stack:
            self._stack[-1][2] += took
            self._stack[-1][4] += took_wall

    def wrap(self, obj, name, part):
        """Replace obj.name by a wrapper that charges its CPU time to part; return False if it cannot."""
        fn = getattr(obj, name, None)
        if fn is None:
            return False

        def timed(*args, **kw):
            self.enter(part)
            try:
                return fn(*args, **kw)
            finally:
                self.leave()

        try:
            setattr(obj, name, timed)
        except (AttributeError, TypeError):
            return False
        return True

    def count(self, obj, name, event):
        """Count the calls of obj.name as event (the call itself is timed by its caller's part)."""
        fn = getattr(obj, name)

        def counted(*args, **kw):
            self.events[event] += 1
            return fn(*args, **kw)

        setattr(obj, name, counted)

    def on_gc(self, phase, info):
        """gc.callbacks hook: a collection is a part of its own, taken out of what it interrupted."""
        if phase == "start":
            self.enter(f"gc gen{info['generation']}")
        elif self._stack and self._stack[-1][0].startswith("gc gen"):
            self.leave()
            self.events[f"gc gen{info['generation']} collections"] += 1

    def take(self):
        """Return and reset this tick's (parts, walls, events)."""
        parts, walls, events = self.parts, self.walls, self.events
        self.parts, self.walls, self.events = collections.Counter(), collections.Counter(), collections.Counter()
        return parts, walls, events


class Threads:
    """The kernel's per-thread scheduler counters (``/proc/self/task/TID/schedstat``: nanoseconds on a CPU and
    runnable but waiting for one; ``stat``: page faults): what the engine thread did in a tick's wall time
    besides running, and which of the process's other threads ran meanwhile."""

    def __init__(self):
        self.me = threading.get_native_id()
        self._fds = {}  # tid -> (name, schedstat fd)
        self._stat = os.open(f"/proc/self/task/{self.me}/stat", os.O_RDONLY)
        self.rescan()

    def rescan(self):
        """Pick up threads started (and drop those ended) since the last call; returns None."""
        live = set(int(t) for t in os.listdir("/proc/self/task"))
        for tid in list(self._fds):
            if tid not in live:
                os.close(self._fds.pop(tid)[1])
        names = {t.native_id: t.name for t in threading.enumerate()}  # Python's names; the kernel's say "python"
        for tid in live - set(self._fds):
            try:
                with open(f"/proc/self/task/{tid}/comm") as f:
                    name = names.get(tid) or f.read().strip()
                self._fds[tid] = (name if tid != self.me else "engine", os.open(f"/proc/self/task/{tid}/schedstat",
                                                                               os.O_RDONLY))
            except OSError:  # ended meanwhile
                pass

    def sample(self):
        """Return {tid: (name, ns on a CPU, ns waiting for one)} and the engine thread's (minor, major) faults."""
        out = {}
        for tid, (name, fd) in self._fds.items():
            try:
                run, queued = os.pread(fd, 64, 0).split()[:2]
            except OSError:
                continue
            out[tid] = (name, int(run), int(queued))
        fields = os.pread(self._stat, 512, 0).rsplit(b")", 1)[1].split()
        return out, (int(fields[7]), int(fields[9]))  # minflt, majflt (fields 10 and 12 of stat)

    def delta(self, a, b):
        """Return the engine thread's (ns on a CPU, ns queued), its faults (minor, major) and the other threads'
        ns on a CPU by name, between two samples."""
        (ta, fa), (tb, fb) = a, b
        others = collections.Counter()
        mine = (0, 0)
        for tid, (name, run, queued) in tb.items():
            if tid not in ta:  # started in between: its CPU before the first sample is not this tick's
                continue
            run0, queued0 = ta[tid][1:]
            if tid == self.me:
                mine = (run - run0, queued - queued0)
            elif run > run0:
                others[name] += run - run0
        return mine, (fb[0] - fa[0], fb[1] - fa[1]), others


def instrument(k, probe):
    """Wrap the parts of soak k's centre that a tick runs, and count what happens in it."""
    c, eng = k.centre, k.engine
    w = probe.wrap
    if eng.group is not None:
        w(eng.group, "read", "board read (emulator: far ends, cables)")
        w(eng.group, "write", "board write (emulator)")
    w(eng.board, "poll_events", "board events")
    w(eng.media, "receive", "media receive (G.711, DTMF, tones)")
    w(eng.media, "transmit", "media transmit (mix, prompts, echo)")
    w(eng.media.bank, "tick", "recordings: ring copy")
    w(recording.Recorder, "write_chunk", "recordings: hand-over (VAD, encode, write)")
    w(recording.Recorder, "stop", "recordings: stop (close, rename)")
    probe.count(eng.media.bank, "add", "recordings started")
    probe.count(eng.media.bank, "remove", "recordings stopped")
    w(eng.scheduler, "poll", "scheduler (scripts, waiting ops)")
    for adapter in eng.adapters:
        w(adapter, "on_tick", f"trunk {getattr(adapter, 'tech', type(adapter).__name__)}")
        w(adapter, "on_event", f"trunk {getattr(adapter, 'tech', type(adapter).__name__)} events")
    eng.tickers[:] = [_timed_ticker(probe, t) for t in eng.tickers]
    for listener in eng.listeners:
        name = type(listener).__name__
        for method in ("on_call_ended", "on_leg_event", "on_leg_digit"):
            w(listener, method, f"listener {name}.{method}")
    w(CdrWriter, "_drain", "CDR commits (SQLite)")
    for feature in c.features:
        w(feature, "on_tick", f"feature {getattr(feature, 'name', type(feature).__name__)}")
    if c.cti is not None:
        w(c.cti.hub, "publish", "CTI hub snapshot")
    w(k.pool, "tick", "simulated agents")
    if k.fxo is not None:
        w(k.fxo, "tick", "simulated FXO callers")
    # the loop's work between ticks (timed as 'after'): the soak's checks and the status publish
    w(k, "_check_second", "soak: check each second")
    for name in ("_tally_callers", "_read_journals", "_check_cdrs", "_check_orphans", "_sample_rss"):
        w(k, name, "soak: check each minute")  # its steps, one after each tick as Soak.run takes them
    publishing = getattr(c, "publishing", None)
    if publishing is None:  # a centre that publishes in one go, between two ticks
        w(c, "publish", "status publish: other")
        publishing = c.publish

    def timed_publishing(state="running"):  # the loop runs the publication one step after each tick
        steps = publishing(state)
        while True:
            probe.enter("status publish: other")
            try:
                snap = next(steps, None)
            finally:
                probe.leave()
            if snap is None:
                return
            yield snap
    if hasattr(c, "publishing"):
        c.publishing = timed_publishing
    w(centre_module, "snapshot", "status publish: snapshot")
    w(centre_module, "echo_snapshot", "status publish: echo cancellers' rows")
    w(c.writer, "flush", "status publish: pending rows (CDR writer flush)")
    centre_module.json = types.SimpleNamespace(dumps=centre_module.json.dumps)
    w(centre_module.json, "dumps", "status publish: JSON")
    w(centre_module, "_write_text", "status publish: file") or w(centre_module, "_write_json", "status publish: file")
    w(c.store, "put_status", "status publish: live_status row")
    listener = _Events(probe)
    eng.listeners.append(listener)
    gc.callbacks.append(probe.on_gc)


def _timed_ticker(probe, fn):
    owner = getattr(fn, "__self__", None)
    part = f"ticker {type(owner).__name__ if owner is not None else getattr(fn, '__qualname__', fn)}"

    def timed(now):
        probe.enter(part)
        try:
            return fn(now)
        finally:
            probe.leave()
    return timed


class _Events:
    """Engine listener: counts answers and call ends in the probe."""

    def __init__(self, probe):
        self.probe = probe

    def on_call_ended(self, call):
        self.probe.events["calls ended"] += 1

    def on_leg_event(self, kind, leg):
        if kind in ("answered", "offered"):
            self.probe.events[f"legs {kind}"] += 1


def _policy(tid):
    policy = os.sched_getscheduler(tid) & ~os.SCHED_RESET_ON_FORK
    names = {os.SCHED_OTHER: "SCHED_OTHER", os.SCHED_FIFO: "SCHED_FIFO", os.SCHED_RR: "SCHED_RR"}
    return f"{names.get(policy, policy)} {os.sched_getparam(tid).sched_priority}"


def _pct(values, p):
    s = sorted(values)
    return s[min(len(s) - 1, int(p / 100.0 * len(s)))]


def _row(name, values):
    ms = [1000 * v for v in values]
    return (f"{name:34s} p50 {_pct(ms, 50):6.2f}  p99 {_pct(ms, 99):6.2f}  p99.9 {_pct(ms, 99.9):6.2f}  "
            f"max {max(ms):7.2f}  mean {sum(ms) / len(ms):6.2f} ms")


def main(warm=120.0, record=180.0, data="/tmp/paced-ticks", paced=False, thresholds=None, realtime=False, cpu=None):
    """Run the centre; return the list of recorded ticks (dicts)."""
    k = soak.Soak(soak.SoakSettings(hours=1.0, spans=32, agents=500, faults=0, blocksize=TICK, data_dir=data,
                                    realtime=realtime, cpu=cpu), stream=None)
    per_second = int(round(soak.SAMPLE_RATE / TICK))
    state = {"minute": 60.0, "n": 0, "rec": False, "end": None, "steps": []}
    probe = Probe()
    threads = Threads()
    ticks = []

    def step():
        # what ran since the last tick and its checks (the loop's status publication step) belongs to it
        c0, t0 = time.thread_time(), time.perf_counter()
        parts, walls, events = probe.take()
        if ticks and state["end"] is not None:
            last = ticks[-1]
            last["after"] += c0 - state["end"]
            last["parts"].update(parts)
            last["walls"].update(walls)
            last["events"].update(events)
        if state["rec"]:
            if state["n"] % per_second == 0:
                threads.rescan()
            s0 = threads.sample()
        c0, t0 = time.thread_time(), time.perf_counter()
        k.tick()
        c1, t1 = time.thread_time(), time.perf_counter()
        if state["rec"]:
            waits = threads.delta(s0, threads.sample())
        state["n"] += 1
        now = k.seconds()
        if state["n"] % per_second == 0:  # the soak's checks, as Soak.run does them
            k._check_second(now)
        if now >= state["minute"]:
            state["steps"].extend(k._minute_steps())
            state["minute"] += 60.0
        if state["steps"]:
            state["steps"].pop(0)(now)
        c2, t2 = time.thread_time(), time.perf_counter()
        parts, walls, events = probe.take()
        if state["rec"]:
            (run, queued), faults, others = waits
            ticks.append({"cpu": c1 - c0, "wall": t1 - t0, "after": c2 - c1, "after_wall": t2 - t1, "at": now,
                          "parts": parts, "walls": walls, "events": events, "queued": queued / 1e9,
                          "faults": faults, "others": collections.Counter({n: v / 1e9 for n, v in others.items()})})
            state["end"] = c2

    # the centre's own loop, as `pycallcenter run` drives it: the status published every status_every (1 s)
    k.centre.loop(seconds=warm, fast=True, on_tick=step)
    instrument(k, probe)
    if thresholds:
        gc.set_threshold(*thresholds)
    print(f"collector thresholds {gc.get_threshold()}, {gc.get_freeze_count()} objects frozen, automatic runs in the "
          f"paced stretch {'on' if centre_module.between_ticks is contextlib.nullcontext else 'off'}; switch interval "
          f"{1000 * (centre_module.PACED_SWITCH if paced else sys.getswitchinterval()):g} ms")
    state["rec"] = True
    load0 = os.getloadavg()

    def first():  # the loop has applied the centre's scheduling by now: say what the threads run with
        state["first"] = None
        print("scheduling: " + ", ".join(
            f"{'engine' if t.native_id == threads.me else t.name} {_policy(t.native_id)}" for t in threading.enumerate())
            + f"; engine thread's CPUs {sorted(os.sched_getaffinity(0))}")
        step()
    state["first"] = first
    k.centre.loop(seconds=record, fast=not paced, on_tick=lambda: (state["first"] or step)())
    load1 = os.getloadavg()
    gc.callbacks.remove(probe.on_gc)
    report(ticks, k, load0, load1, paced)
    return ticks


def report(ticks, k, load0, load1, paced):
    """Print the percentiles, the parts' shares of the slowest 0.1% and those ticks."""
    n = len(ticks)
    print(f"{n} ticks of 20 ms recorded ({'paced' if paced else 'as fast as the CPU allows'}); calls up "
          f"{len(k.engine.calls)}; load average {load0[0]:.2f} at the start, {load1[0]:.2f} at the end; "
          f"violations {len(k.violations)}")
    print(_row("tick, engine thread CPU", [t["cpu"] for t in ticks]))
    print(_row("tick + loop work after it, CPU", [t["cpu"] + t["after"] for t in ticks]))
    print(_row("tick, wall clock", [t["wall"] for t in ticks]))
    print(_row("tick + loop work after it, wall", [t["wall"] + t["after_wall"] for t in ticks]))
    over = sum(1 for t in ticks if t["cpu"] + t["after"] > 0.02)
    print(f"ticks over 20 ms by CPU (with the loop's work): {over} of {n}")
    for gen in range(3):
        runs = sum(t["events"][f"gc gen{gen} collections"] for t in ticks)
        spent = [t["parts"][f"gc gen{gen}"] for t in ticks if t["parts"][f"gc gen{gen}"]]
        if runs:
            print(f"gc generation {gen}: {runs} collections, {1000 * sum(spent) / runs:.2f} ms each on average, "
                  f"longest tick's share {1000 * max(spent):.1f} ms")
    total = collections.Counter()
    for t in ticks:
        total.update(t["parts"])
    print("\nmean CPU per tick by part (ms):")
    for part, sec in total.most_common(25):
        print(f"  {1000 * sec / n:7.3f}  {part}")
    waits(ticks)
    for key, title in (("cpu", "tick"), ("total", "tick + loop work")):
        val = (lambda t: t["cpu"]) if key == "cpu" else (lambda t: t["cpu"] + t["after"])
        slow = sorted(ticks, key=val, reverse=True)[:max(1, n // 1000)]
        share = collections.Counter()
        for t in slow:
            share.update(t["parts"])
        print(f"\nthe slowest 0.1% by {title} CPU ({len(slow)} ticks, from {1000 * val(slow[-1]):.1f} ms): "
              f"CPU by part in the tick and the loop's work after it, summed over them (ms)")
        for part, sec in share.most_common(12):
            print(f"  {1000 * sec:8.2f}  {part}")
        print("  each of them:")
        for t in slow:
            top = ", ".join(f"{p} {1000 * s:.1f}" for p, s in t["parts"].most_common(4))
            ev = ", ".join(f"{e} {c}" for e, c in sorted(t["events"].items()))
            print(f"    {t['at']:8.2f} s  {1000 * val(t):6.1f} ms (wall {1000 * (t['wall'] + t['after_wall']):6.1f}): "
                  f"{top}; {ev or 'no events'}")


def waits(ticks):
    """Print where the ticks' wall time beyond the engine thread's CPU time went: run-queue time (the core held by
    another thread or process), blocked time (the GIL held by another of our threads, I/O, a lock), page faults,
    the process's other threads' CPU time in the tick, and the parts of the tick the waits fell in."""
    n = len(ticks)
    for t in ticks:
        t["wait"] = max(0.0, t["wall"] - t["cpu"])
        t["blocked"] = max(0.0, t["wait"] - t["queued"])
    print("\nthe tick's wall time beyond its CPU time (the engine thread waited):")
    print(_row("  waited (wall - CPU)", [t["wait"] for t in ticks]))
    print(_row("  for a CPU (run queue)", [t["queued"] for t in ticks]))
    print(_row("  blocked (GIL, I/O, locks)", [t["blocked"] for t in ticks]))
    late = [t for t in ticks if t["wall"] > 0.02]
    print(f"ticks over 20 ms by the wall clock: {len(late)} of {n}; of them {sum(t['cpu'] > 0.02 for t in late)} "
          f"also by CPU")
    for title, group in (("all ticks", ticks), ("ticks over 20 ms by the wall clock", late)):
        if not group:
            continue
        m = len(group)
        others = collections.Counter()
        waited = collections.Counter()
        for t in group:
            others.update(t["others"])
            waited.update({p: t["walls"][p] - t["parts"][p] for p in t["walls"]})
        print(f"  {title} ({m}), mean per tick: CPU {1000 * sum(t['cpu'] for t in group) / m:.2f} ms, "
              f"run queue {1000 * sum(t['queued'] for t in group) / m:.2f} ms, "
              f"blocked {1000 * sum(t['blocked'] for t in group) / m:.2f} ms, "
              f"faults {sum(t['faults'][0] for t in group) / m:.0f} minor {sum(t['faults'][1] for t in group) / m:.2f}"
              f" major")
        print("    other threads' CPU in the tick (ms per tick): " + ", ".join(
            f"{name} {1000 * sec / m:.2f}" for name, sec in others.most_common(6)))
        print("    the waits by the part they fell in (wall - CPU, ms per tick): " + ", ".join(
            f"{part} {1000 * sec / m:.2f}" for part, sec in waited.most_common(6)))
    # the other threads' share: blocked time in ticks where one of them ran against those where none did
    for name in sorted({name for t in ticks for name in t["others"]}):
        ran = [t for t in ticks if t["others"][name] > 0]
        idle = [t for t in ticks if t["others"][name] == 0]
        if ran and idle:
            print(f"  blocked with {name} running in the tick: {1000 * sum(t['blocked'] for t in ran) / len(ran):.2f} ms "
                  f"mean over {len(ran)} ticks; without: {1000 * sum(t['blocked'] for t in idle) / len(idle):.2f} ms "
                  f"over {len(idle)}")
    print("  the slowest 0.1% by the wall clock:")
    for t in sorted(ticks, key=lambda t: t["wall"], reverse=True)[:max(1, n // 1000)]:
        waited = collections.Counter({p: t["walls"][p] - t["parts"][p] for p in t["walls"]})
        print(f"    {t['at']:8.2f} s  wall {1000 * t['wall']:5.1f}  CPU {1000 * t['cpu']:5.1f}  queued "
              f"{1000 * t['queued']:4.1f}  blocked {1000 * t['blocked']:4.1f} ms; faults {t['faults'][0]}/{t['faults'][1]}; "
              f"others " + ", ".join(f"{nm} {1000 * v:.1f}" for nm, v in t["others"].most_common(3)) + "; waited in "
              + ", ".join(f"{p} {1000 * v:.1f}" for p, v in waited.most_common(3)))


if __name__ == "__main__":
    switch_arg = [a[7:] for a in sys.argv[1:] if a.startswith("switch=")]
    if switch_arg:
        centre_module.PACED_SWITCH = float(switch_arg[0])
    args = [a for a in sys.argv[1:] if a not in ("paced", "realtime") and not a.startswith(("gc=", "switch=", "cpu=",
                                                                                             "collector="))]
    gc_arg = [a[3:] for a in sys.argv[1:] if a.startswith("gc=")]
    cpu_arg = [int(a[4:]) for a in sys.argv[1:] if a.startswith("cpu=")]
    if "collector=auto" in sys.argv[1:]:
        centre_module.between_ticks = contextlib.nullcontext  # then collect_in_slack pulls the middle one forward only
    main(*(float(a) for a in args[:2]), *args[2:3], paced="paced" in sys.argv[1:],
         thresholds=tuple(int(x) for x in gc_arg[0].split(",")) if gc_arg else None,
         realtime="realtime" in sys.argv[1:], cpu=cpu_arg[0] if cpu_arg else None)
