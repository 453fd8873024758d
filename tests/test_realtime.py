"""[centre] realtime, realtime_priority, cpu, lock_memory: the tick thread of a centre paced in real time runs
in the real-time scheduling class (SCHED_RR), its other threads one priority below, pinned and locked when
asked; normal priority and one warning line when the host does not permit it; all undone when the loop ends."""
import errno
import os
import sys
import threading

import pytest

from pycallcenter.apps import realtime
from pycallcenter.apps.centre import Centre
from pycallcenter.apps.settings import load_text
from pycallcenter.errors import ConfigError

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from test_ops_cli import _centre_files  # noqa: E402


def _policy(tid=0):
    return os.sched_getscheduler(tid) & ~os.SCHED_RESET_ON_FORK, os.sched_getparam(tid).sched_priority


def _in_thread(fn):
    """Run fn on a fresh thread (its scheduling changes stay there); return what it returned."""
    out = []
    t = threading.Thread(target=lambda: out.append(fn()))
    t.start()
    t.join()
    return out[0]


def _permitted():
    def probe():
        try:
            os.sched_setscheduler(0, os.SCHED_RR, os.sched_param(1))
        except PermissionError:
            return False
        os.sched_setscheduler(0, os.SCHED_OTHER, os.sched_param(0))
        return True
    return _in_thread(probe)


def test_the_tick_thread_runs_at_sched_rr_and_the_other_threads_one_lower_until_restored():
    permitted = _permitted()
    cpu = min(os.sched_getaffinity(0))
    helper_go = threading.Event()
    helper = threading.Thread(target=helper_go.wait, name="helper")
    helper.start()

    def run():
        rt = realtime.Realtime(priority=10, cpu=cpu)
        warnings = rt.apply()
        during = (_policy(), os.sched_getaffinity(0), _policy(helper.native_id), rt.scheduled, warnings)
        rt.restore()
        return during, (_policy(), os.sched_getaffinity(0), _policy(helper.native_id))

    try:
        (mine, cpus, theirs, scheduled, warnings), after = _in_thread(run)
    finally:
        helper_go.set()
        helper.join()
    assert cpus == {cpu}  # pinning needs no privilege
    if permitted:
        assert warnings == [] and scheduled
        assert mine == (os.SCHED_RR, 10) and theirs == (os.SCHED_RR, 9)
    else:
        assert len(warnings) == 1 and not scheduled and mine == (os.SCHED_OTHER, 0) and theirs == (os.SCHED_OTHER, 0)
    assert after == ((os.SCHED_OTHER, 0), os.sched_getaffinity(0), (os.SCHED_OTHER, 0))


def test_not_permitted_is_one_warning_line_and_normal_priority(monkeypatch):
    def refuse(*a):
        raise PermissionError(errno.EPERM, os.strerror(errno.EPERM))

    monkeypatch.setattr(realtime.os, "sched_setscheduler", refuse)
    monkeypatch.setattr(realtime.os, "sched_setaffinity", lambda *a: (_ for _ in ()).throw(
        OSError(errno.EINVAL, os.strerror(errno.EINVAL))))
    rt = realtime.Realtime(priority=10, cpu=4095)
    warnings = _in_thread(rt.apply)
    assert len(warnings) == 2 and not rt.scheduled
    assert warnings[0].startswith("centre.realtime: cannot run the tick thread at SCHED_RR priority 10 "
                                  "(Operation not permitted); it runs at normal priority: run as root")
    assert warnings[1].startswith("centre.cpu: cannot pin the tick thread to CPU 4095 (Invalid argument; this host "
                                  "has CPUs ") and "\n" not in "".join(warnings)
    assert rt.adopt() == 0  # nothing placed below a tick thread that is not real-time


def test_memory_is_not_locked_under_a_finite_memlock_limit_without_root(monkeypatch):
    monkeypatch.setattr(realtime.os, "geteuid", lambda: 1000)
    monkeypatch.setattr(realtime.resource, "getrlimit", lambda what: (65536, 65536))
    rt = realtime.Realtime(lock_memory=True)
    (line,) = rt.apply()
    assert line.startswith("centre.lock_memory: the memlock limit is 65536 bytes; memory is not locked") and not rt._locked


def test_the_keys_are_checked_and_a_section_without_them_asks_for_nothing():
    _, s = load_text("[board]\n[centre]\nrealtime = true\nrealtime_priority = 20\ncpu = 1\nlock_memory = true\n")
    rt = realtime.from_settings(s.centre)
    assert (rt.priority, rt.cpu, rt.lock_memory) == (20, 1, True)
    assert realtime.from_settings(load_text("[board]\n[centre]\n")[1].centre) is None
    assert realtime.from_settings(load_text("[board]\n[centre]\ncpu = 0\n")[1].centre).priority is None
    with pytest.raises(ConfigError, match=r"^f.toml:4: centre.realtime_priority"):
        load_text("[board]\n[centre]\nrealtime = true\nrealtime_priority = 120\n", file="f.toml")


def test_a_paced_loop_applies_the_centres_scheduling_to_its_thread_and_undoes_it(tmp_path):
    permitted = _permitted()
    c = Centre.from_file(_centre_files(tmp_path, "realtime = true\nrealtime_priority = 7\n"))
    seen = []

    def tick():
        seen.append(_policy())
        c.tick()

    try:
        c.loop(seconds=3 * c.tick_seconds, fast=True, on_tick=tick)
        assert set(seen) == {(os.SCHED_OTHER, 0)}  # as fast as the CPU allows: no deadline, nothing to ask for
        seen.clear()
        c.loop(seconds=3 * c.tick_seconds, on_tick=tick)
        assert set(seen) == ({(os.SCHED_RR, 7)} if permitted else {(os.SCHED_OTHER, 0)})
        assert _policy() == (os.SCHED_OTHER, 0)
    finally:
        c.close()


def test_a_system_without_linuxs_scheduling_calls_gets_one_warning(monkeypatch):
    monkeypatch.delattr(realtime.os, "sched_setscheduler")
    rt = realtime.Realtime(priority=10, cpu=0)
    (line,) = rt.apply()
    assert line.startswith("centre.realtime, cpu: this system has no SCHED_RR") and not rt.scheduled
    assert rt.describe() == "normal priority"
