"""The recordings' share of the engine thread in another bench script's run: the engine thread's CPU time
(``time.thread_time``) in the recorder bank's tick, its removals, the recordings' starts
(``Engine.start_recording``) and stops, summed over the run, with the writer thread's own CPU time; printed at
the end. RECORDING loads ``pycallcenter.engine.recording`` from that source file instead of the built module,
so two versions of it can run side by side on a shared machine (docs/reliability.md, "Scale"):

    .venv/bin/python bench/recording_share.py RECORDING SCRIPT [ARGS...]
    .venv/bin/python bench/recording_share.py /tmp/old/recording.py bench/scale_steady.py 240 120 /tmp/ss-old

A script, not a pytest benchmark: it wraps another script's run of minutes.
"""
import atexit
import collections
import importlib.util
import runpy
import sys
import threading
import time
import warnings


def load(source):
    """Load pycallcenter.engine.recording from source (before anything imports it); return the module."""
    warnings.simplefilter("ignore")  # a source newer than the built module is what is asked for here
    import pycallcenter.engine  # noqa: F401  (the package first)

    spec = importlib.util.spec_from_file_location("pycallcenter.engine.recording", source)
    mod = importlib.util.module_from_spec(spec)
    sys.modules["pycallcenter.engine.recording"] = mod
    spec.loader.exec_module(mod)
    if not hasattr(mod.RecorderBank(160), "beeping"):  # an older bank, under a media plane that asks for it
        mod.RecorderBank.beeping = property(lambda self: self.active)
    return mod


def instrument(mod):
    """Time the recordings' parts on the main thread and the writer thread's CPU; return the counters."""
    from pycallcenter.engine import engine

    spent, calls, writer = collections.Counter(), collections.Counter(), collections.Counter()
    main = threading.main_thread()

    def wrap(cls, name, part):
        fn = getattr(cls, name)

        def timed(*args, **kw):
            if threading.current_thread() is not main:
                return fn(*args, **kw)
            t = time.thread_time()
            try:
                return fn(*args, **kw)
            finally:
                spent[part] += time.thread_time() - t
                calls[part] += 1
        setattr(cls, name, timed)

    wrap(mod.RecorderBank, "tick", "bank tick")
    wrap(mod.RecorderBank, "remove", "bank remove")
    wrap(mod.Recorder, "stop", "recorder stop")
    wrap(engine.Engine, "start_recording", "start_recording")
    run = mod.FileWorker._run

    def timed_run(self):
        t = time.thread_time()
        try:
            return run(self)
        finally:
            writer["ended threads"] += time.thread_time() - t
    mod.FileWorker._run = timed_run
    return spent, calls, writer


def report(spent, calls, writer):
    """Print the sums; returns None."""
    for th in threading.enumerate():  # a writer thread still running
        if th.name == "recording-files":
            writer["running thread"] += time.clock_gettime(time.pthread_getcpuclockid(th.ident))
    parts = ", ".join(f"{k} {v:.2f} s ({calls[k]} calls)" for k, v in spent.items())
    print(f"engine thread in recordings: {parts}; total {sum(spent.values()):.2f} s of the main thread's "
          f"{time.thread_time():.1f} s; writer thread {sum(writer.values()):.2f} s; process {time.process_time():.1f} s")


if __name__ == "__main__":
    counters = instrument(load(sys.argv[1]))
    atexit.register(report, *counters)
    sys.argv = sys.argv[2:]
    runpy.run_path(sys.argv[0], run_name="__main__")
