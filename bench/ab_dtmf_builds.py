"""Compare two builds of the DTMF kernel in one process, alternating, on bench_dtmf.py's workloads.

    .venv/bin/python bench/ab_dtmf_builds.py OLD.so NEW.so [ROUNDS [busy|quiet [CODE_PATH]]]

Each .so is a build of pycallcenter._native.dtmf (copy the built module aside before rebuilding). Both are
loaded side by side; each round runs a fresh Kernel of each over the workload's 50 ticks (the order alternating
from round to round) and times it by the calling thread's CPU time, as the benchmark does. Prints the best and
the median channels per core of each build. CODE_PATH (0, 1 or 2) makes both builds take that kernel
code path (`code_path()` in _native/dtmf.pyx: 0 the AVX2 one, 2 that of CPUs without AVX2) instead of the CPU's. Kernel alone (no Python face), so it isolates a kernel change from the
machine's drift better than two benchmark runs minutes apart.
"""
import importlib.machinery
import importlib.util
import os
import shutil
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import bench_dtmf as B  # noqa: E402  (the benchmark's workloads)
from pycallcenter.dsp.reference.dtmf import DtmfEvent, make_tables  # noqa: E402


def _load(path, tag, tmp):
    """Return the kernel module built as path, loaded under its own file so two builds live side by side."""
    copy = os.path.join(tmp, f"{tag}_{os.path.basename(path)}")
    shutil.copy(path, copy)
    loader = importlib.machinery.ExtensionFileLoader("pycallcenter._native.dtmf", copy)
    spec = importlib.util.spec_from_file_location("pycallcenter._native.dtmf", copy, loader=loader)
    module = importlib.util.module_from_spec(spec)
    loader.exec_module(module)
    return module


def main(argv):
    """Run the comparison; returns the exit status."""
    if len(argv) < 3:
        print(__doc__.strip().splitlines()[2].strip(), file=sys.stderr)
        return 2
    for path in argv[1:3]:
        if not os.path.isfile(path):
            print(f"{path}: no such build of the kernel", file=sys.stderr)
            return 2
    rounds = int(argv[3]) if len(argv) > 3 and argv[3].isdigit() else 30
    workload = argv[4] if len(argv) > 4 else "busy"
    if workload not in ("busy", "quiet"):
        print(f"workload must be busy or quiet, got {workload!r}", file=sys.stderr)
        return 2
    path = int(argv[5]) if len(argv) > 5 and argv[5] in ("0", "1", "2") else None
    ticks = getattr(B, workload).__wrapped__()
    tables = make_tables()
    with tempfile.TemporaryDirectory() as tmp:
        builds = [("old", _load(argv[1], "old", tmp)), ("new", _load(argv[2], "new", tmp))]
        for _, module in builds if path is not None else ():
            module.code_path(path)
        times = {name: [] for name, _ in builds}
        for r in range(rounds):
            for name, module in builds if r % 2 == 0 else builds[::-1]:
                kernel = module.Kernel(B.CHANNELS, tables, DtmfEvent)
                t = time.thread_time()
                for tick in ticks:
                    kernel.process(tick)
                times[name].append(time.thread_time() - t)
    for name, seconds in times.items():
        seconds.sort()
        per_core = [B.CHANNELS * B.TICKS * B.TICK_SAMPLES / 8000 / s for s in (seconds[0], seconds[len(seconds) // 2])]
        print(f"{workload} {name}: best {per_core[0]:,.0f} median {per_core[1]:,.0f} channels per core")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
