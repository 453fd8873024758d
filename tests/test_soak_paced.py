"""The soak's paced mode, as `make soak`'s paced test runs it at appliance size, on a small centre for a few
seconds: the collector runs between ticks only (pycallcenter.heap.between_ticks, collect_in_slack from the
wait for the next tick), the status goes out in steps after the ticks, and `realtime` reaches the centre's
[centre] realtime (the tick thread in SCHED_RR where the host permits it)."""
import gc
import json
import os
import time

from pycallcenter.apps import soak


def test_a_paced_soak_collects_between_ticks_publishes_in_steps_and_reaches_the_centres_realtime(tmp_path, monkeypatch):
    probe = os.path.join(str(tmp_path), "probe")
    try:
        os.sched_setscheduler(0, os.SCHED_RR, os.sched_param(1))
        os.sched_setscheduler(0, os.SCHED_OTHER, os.sched_param(0))
        permitted = True
    except PermissionError:
        permitted = False
    k = soak.Soak(soak.SoakSettings(hours=0.0025, spans=1, agents=4, faults=0, paced=True, realtime=True,
                                    blocksize=160, drain_seconds=2.0, sip_every=0, fxo_lines=0, ss7_links=0,
                                    data_dir=probe), stream=None)
    seen, offered = [], []
    tick = k.centre.tick

    def watched():
        seen.append((gc.isenabled(), os.sched_getscheduler(0) & ~os.SCHED_RESET_ON_FORK))
        tick()

    monkeypatch.setattr(k.centre, "tick", watched)
    collect = soak.collect_in_slack
    monkeypatch.setattr(soak, "collect_in_slack", lambda slack: (offered.append(slack), collect(slack))[1])
    report = k.run()
    assert report["violations"] == []
    assert report["scheduling"] == ("SCHED_RR 10" if permitted else "normal priority")
    assert f"paced in real time (tick thread: {report['scheduling']})" in soak.format_report(report)
    assert len(seen) >= 400 and set(seen) == {(False, os.SCHED_RR if permitted else os.SCHED_OTHER)}
    assert len(offered) == len(seen)  # every paced tick's wait offered to the collector
    assert gc.isenabled() and os.sched_getscheduler(0) == os.SCHED_OTHER  # as they were once the run is over
    status = json.loads(open(os.path.join(probe, "status.json")).read())
    assert status["state"] == "running" and "echo" in status and "store" in status  # every step went out


def test_a_run_that_stops_with_sip_calls_up_still_reports_their_callers(tmp_path):
    # a crash stops the run mid-call: the report counts the callers still up, the SIP carrier's too (its calls
    # hold their callers), where it raised AttributeError and lost the crash's own report
    k = soak.Soak(soak.SoakSettings(hours=0.05, spans=1, agents=4, faults=0, sip_every=1, fxo_lines=0, ss7_links=0,
                                    data_dir=str(tmp_path / "soak")), stream=None)
    k._cpu0 = time.process_time()  # as run() sets it
    for _ in range(4000):
        k.tick()
        if k.carrier.active:
            break
    up = len(k.carrier.active)
    report = k._finish(1.0)  # closes the centre
    assert report["calls"]["placed_by_span"]["sip"] >= up > 0
