"""Where a soak's RSS goes: run a soak in this process and, every 10 simulated minutes, print RSS next to
glibc's heap (mallinfo2: arena, mmapped, in use, free), SQLite's own memory (sqlite3_memory_used of the
libsqlite3 Python links), open file descriptors, threads and the housekeeping's trim counters, one JSON
line each. docs/reliability.md ("Memory: what grows after warm-up") has a run's figures.

Run: .venv/bin/python bench/soak_rss.py OUT.jsonl --hours 4 --faults 90 --seed 1 --data /tmp/soak-rss
The day's soak with its samples (the settings of `pycallcenter soak --hours 24 --spans 2 --agents 12 --faults 540`;
a long run's curve can be read while it goes, and --json writes the soak's own report as the command does):
     .venv/bin/python bench/soak_rss.py /tmp/day.jsonl --hours 24 --faults 540 --data /tmp/soak-day --json /tmp/day.json
"""
import argparse
import ctypes
import json
import os
import sqlite3
import sys
import threading

import _sqlite3

from pycallcenter.apps import housekeeping, soak


class MallInfo2(ctypes.Structure):
    _fields_ = [(n, ctypes.c_size_t) for n in ("arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks",
                                               "fsmblks", "uordblks", "fordblks", "keepcost")]


def _rss_split():
    """Return the resident anonymous, file-backed and shared-memory kB of this process (/proc/self/status)."""
    out = {}
    with open("/proc/self/status") as f:
        for line in f:
            key, _, value = line.partition(":")
            if key in ("RssAnon", "RssFile", "RssShmem"):
                out[key[3:].lower() + "_kb"] = int(value.split()[0])
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("out")
    ap.add_argument("--hours", type=float, default=4.0)
    ap.add_argument("--faults", type=int, default=90)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--every", type=int, default=10, help="simulated minutes between samples")
    ap.add_argument("--data", default="/tmp/soak-rss")
    ap.add_argument("--sqlite-cache-kib", type=int, help="PRAGMA cache_size of every SQLite connection (a trial)")
    ap.add_argument("--json", metavar="FILE", help="also write the soak's report as JSON to FILE")
    a = ap.parse_args()
    libc = ctypes.CDLL("libc.so.6")
    libc.mallinfo2.restype = MallInfo2
    sqlite = ctypes.CDLL(_sqlite3.__file__)  # the sqlite3_* symbols of the library Python's module links
    sqlite.sqlite3_memory_used.restype = ctypes.c_int64
    keepers, attach, rss_bytes, minutes = [], housekeeping.attach, soak.rss_bytes, [0]
    out = open(a.out, "w")

    def kept(centre, every=housekeeping.EVERY):
        keepers.append(attach(centre, every))
        return keepers[-1]

    def sampled():
        rss = rss_bytes()
        minutes[0] += 1  # the soak samples RSS once a simulated minute
        if minutes[0] % a.every == 0:
            m = libc.mallinfo2()
            row = {"minute": minutes[0], "rss_kb": rss >> 10, "heap_kb": m.arena >> 10, "mmapped_kb": m.hblkhd >> 10,
                   "in_use_kb": m.uordblks >> 10, "free_kb": m.fordblks >> 10,
                   "sqlite_kb": sqlite.sqlite3_memory_used() >> 10, "fds": len(os.listdir("/proc/self/fd")),
                   "threads": threading.active_count(),
                   "pymalloc_blocks": sys.getallocatedblocks(), **_rss_split(), "housekeeping": keepers[0].status() if keepers else None}
            out.write(json.dumps(row) + "\n")
            out.flush()
        return rss

    housekeeping.attach, soak.rss_bytes = kept, sampled
    if a.sqlite_cache_kib is not None:
        connect = sqlite3.connect

        def small_cache(*args, **kw):
            conn = connect(*args, **kw)
            conn.execute(f"PRAGMA cache_size = -{a.sqlite_cache_kib}")
            return conn
        sqlite3.connect = small_cache
    report = soak.run(soak.SoakSettings(hours=a.hours, spans=2, agents=12, faults=a.faults, seed=a.seed,
                                        data_dir=a.data), stream=None)
    out.write(json.dumps({"rss": report["rss"], "violations": report["violations"]}) + "\n")
    if a.json:
        with open(a.json, "w") as fh:
            json.dump(report, fh, indent=2, sort_keys=True, default=str)
    print(soak.format_report(report))


if __name__ == "__main__":
    main()
