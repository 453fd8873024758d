"""The chaos soak (pycallcenter.apps.soak): the whole centre on the emulator at full load under a seeded
fault schedule. A few simulated minutes with every fault kind run in `make test`; a simulated day with
over 500 faults runs under the soak marker (`make soak`)."""
import os

import pytest

from pycallcenter import cli
from pycallcenter.apps import soak

# two PRI spans (span faults alternate between them), 8 agent phones, 24 faults in 4.8 simulated minutes (every
# one of the 21 kinds at least once), one caller in 8 over SIP
SHORT = {"hours": 0.08, "spans": 2, "agents": 8, "faults": 24}


@pytest.fixture(scope="module")
def short(tmp_path_factory):
    settings = soak.SoakSettings(**SHORT, data_dir=str(tmp_path_factory.mktemp("soak")))
    return soak.run(settings, stream=None)


def test_a_short_soak_breaks_no_invariant(short):
    assert short["violations"] == []


def test_every_fault_kind_was_injected_and_recovered_in_bound(short):
    for kind in soak.FAULT_KINDS:
        k = short["faults"].get(kind)
        assert k is not None, f"{kind} was not injected"
        assert k["recovered"] == k["injected"] >= 1, kind
        assert k["recovery_max_s"] <= soak.RECOVERY_BOUND[kind], kind


def test_the_faults_bit(short):
    """Each fault did what it stands for: the flaky script raised, recordings could not start, the full
    disk stopped recordings, the database refused writes, the network refused the overload beyond its
    B-channels, the CTI flood's messages reached the server (run, or refused once it locked the flood out)."""
    notes = {}
    for f in short["fault_log"]:
        notes.setdefault(f["kind"], []).append(f["note"])

    def total(kind, prefix):
        return sum(int(n.split(prefix)[1].split()[0].rstrip(",")) for n in notes[kind] if prefix in n)

    assert total("script_raises", "script errors ") >= 1
    assert total("recordings_unwritable", "could not start: ") >= 1
    if all(n.startswith("no tmpfs") for n in notes["disk_full"]):  # no mount privilege: the fault said so
        assert os.geteuid() != 0, notes["disk_full"]
    else:  # recordings on the nearly full disk could not start or were cut short, and the centre went on
        assert total("disk_full", "could not start: ") + total("disk_full", "stopped by the full disk: ") >= 1
    assert total("database_locked", "refused meanwhile: ") >= 1
    assert total("cti_flood", "ran meanwhile: ") + total("cti_flood", "requests refused: ") >= 1
    assert short["calls"]["refused_by_network"] >= 1
    # the centre's own overload control refused part of the burst (cause 34 beyond max_calls, 42 beyond the rate)
    assert total("overload", "cause 34: ") + total("overload", "cause 42: ") >= 1
    # every caller who heard 34 or 42 was refused by it; a refused FXO call rings out, its caller hears no cause
    assert 1 <= short["calls"]["refused_by_centre"] <= short["calls"]["admission"]["refused_total"]
    assert short["calls"]["script_errors"] >= 1


def test_the_ss7_link_set_carried_calls_through_changeover_and_pause(short):
    """The SS7 link set's spans carried calls; a failed link changed over and cleared no call (a violation
    otherwise); losing every link cleared the calls on them (cause 41) and both ends reset their circuits
    before the fault counted as recovered (every link back, GRS acknowledged)."""
    spans = [str(n) for n in range(SHORT["spans"] + 2, SHORT["spans"] + 2 + short["settings"]["ss7_links"])]
    assert all(short["calls"]["placed_by_span"][n] > 0 for n in spans), short["calls"]["placed_by_span"]
    log = {kind: [f for f in short["fault_log"] if f["kind"] == kind] for kind in soak.SS7_FAULTS}
    assert all("0 cleared by the network" in f["note"] for f in log["ss7_link_failure"])
    assert all(f["note"].endswith("cleared with cause 41") for f in log["ss7_linkset_loss"])
    ss7 = short["calls"]["ss7"]
    assert ss7["ss7_route_down"] == len(log["ss7_linkset_loss"]) >= 1
    assert ss7["ss7_route_up"] == ss7["ss7_route_down"] + 1  # the first one is the start
    assert ss7["ss7_link_down"] >= len(log["ss7_link_failure"]) + 2 * len(log["ss7_linkset_loss"])


def test_a_span_alarm_on_an_ss7_span_hardware_blocked_its_circuits_until_it_cleared(short):
    """Every second span alarm (cable pull, frame loss, AIS from the exchange) and bit error burst, the first
    included, hits an SS7 span: the alarm takes the span's link out of service (changeover: the other link
    stays up and the other span's calls go on), clears the span's calls (cause 41), and both ends
    hardware-block its 30 circuits (CGB acknowledged) until the alarm clears (CGU); the fault counts as
    recovered only with every circuit unblocked both ways. Bit errors alone clear no call."""
    spans = {n for n in range(SHORT["spans"] + 2, SHORT["spans"] + 2 + short["settings"]["ss7_links"])}
    alarms = {kind: [f for f in short["fault_log"] if f["kind"] == kind and f["target"] in spans]
              for kind in soak.ALARM_FAULTS}
    errors = [f for f in short["fault_log"] if f["kind"] == "bit_errors" and f["target"] in spans]
    assert all(alarms.values()) and errors, alarms
    every = [f for fs in alarms.values() for f in fs]
    assert all(f["note"].endswith("hardware-blocked circuits at the end: 30 here, 30 at the exchange") for f in every)
    assert all("1 of 2 links up meanwhile" in f["note"] and "answered, 0 cleared by the network" in f["note"]
               for f in every), every
    assert all(" 0 cleared by the network" in f["note"] for f in errors)
    ss7 = short["calls"]["ss7"]
    assert ss7["ss7_span_alarm"] == ss7["ss7_span_clear"] == len(every)


def test_sip_callers_came_in_over_the_carrier_trunk_and_each_got_its_cdr(short):
    """One caller in 8 came in over SIP from the simulated carrier: RTP flowed both ways, SIP calls reached
    agents, and the engine ended them like any other (each with its one CDR, checked with the rest)."""
    sip = short["calls"]["sip"]
    assert sip["placed"] >= 3 and sip["reached_agent"] >= 1, sip
    assert sip["ended_in_engine"] >= sip["placed"] - sip["refused_by_centre"] - 1, sip  # the last may be in IVR
    assert sip["carrier"]["rtp_out"] > 0 and sip["carrier"]["rtp_in"] > 0
    assert sip["sip_trunk_up"] >= 1  # the trunk's OPTIONS pings were answered
    assert short["calls"]["placed_by_span"]["sip"] == sip["placed"]


def test_the_sip_faults_bit(short):
    """sip_peer_down lost the carrier's calls and the centre cleared them; sip_packet_loss dropped datagrams both
    ways and the calls still up counted the gap; sip_garbage's malformed SIP was counted by the centre (each
    one, no more than were sent), and neither cut a call (a violation otherwise)."""
    log = {kind: [f for f in short["fault_log"] if f["kind"] == kind] for kind in soak.SIP_FAULTS}
    assert all(log.values()), log
    assert all("carrier call(s) lost" in f["note"] for f in log["sip_peer_down"])
    for f in log["sip_packet_loss"]:
        dropped = int(f["note"].split("lost: ")[1].split()[0])
        assert dropped >= 1, f["note"]
    for f in log["sip_garbage"]:
        sent = int(f["note"].split("sent ")[1].split()[0])
        counted = int(f["note"].split("the centre counted ")[1].split()[0])
        assert 1 <= counted <= sent, f["note"]
    carrier = short["calls"]["sip"]["carrier"]
    assert carrier["garbage_sip"] >= 1 and carrier["dropped_out"] >= 1 and carrier["dropped_in"] >= 1


def test_every_ended_call_has_exactly_one_cdr(short):
    assert short["cdrs"] == short["calls"]["ended_in_engine"] >= 50


def test_the_report_reads(short):
    text = soak.format_report(short)
    assert "invariant violations: 0" in text
    for kind in soak.FAULT_KINDS:
        assert kind in text
    assert short["ticks"]["p999_ms"] >= short["ticks"]["p99_ms"] > 0
    assert short["rss"]["samples"] >= 4


def test_the_schedule_is_seeded_and_never_overlaps_faults_on_one_resource():
    settings = soak.SoakSettings(hours=2.0, spans=2, seed=7)
    one = soak.schedule(settings, [1, 3], ["agent1", "agent2"])
    assert one == soak.schedule(settings, [1, 3], ["agent1", "agent2"])
    assert one != soak.schedule(soak.SoakSettings(hours=2.0, spans=2, seed=8), [1, 3], ["agent1", "agent2"])
    assert {f.kind for f in one} == set(soak.FAULT_KINDS) and len(one) >= 30
    assert soak.schedule(soak.SoakSettings(hours=2.0, faults=0), [1], ["agent1"]) == []
    busy = {}
    for f in one:
        resource = f.target if f.kind in soak.SPAN_FAULTS else f.kind
        assert f.at >= busy.get(resource, 0.0), f
        busy[resource] = f.at + f.duration


def test_the_command_refuses_an_unknown_fault_kind(capsys):
    assert cli.main(["soak", "--kinds", "cable_pull,earthquake"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "earthquake" in err


# No known violation. RSS grew 6.7% after warm-up in a day (111.8 -> 119.2 MB) until four things that
# filled for hours were bounded: the emulator's line-event journals, the soak's own record of ended calls, the
# Q.931 decode memos and SQLite's page cache (docs/reliability.md, "The day's slope"). Were one to come
# back, name it here with its measurement rather than widening the check.
KNOWN_DAY_VIOLATIONS = ()


@pytest.mark.soak
def test_a_simulated_day_with_over_500_faults(tmp_path):
    settings = soak.SoakSettings(hours=24.0, spans=2, agents=12, faults=540, data_dir=str(tmp_path / "soak"))
    report = soak.run(settings, stream=None)
    assert [v for v in report["violations"] if not any(k in v for k in KNOWN_DAY_VIOLATIONS)] == []
    assert sum(k["injected"] for k in report["faults"].values()) >= 500
    for kind in soak.FAULT_KINDS:
        assert report["faults"][kind]["recovered"] == report["faults"][kind]["injected"] >= 1, kind
    assert report["rss"]["checked"]
    assert report["cdrs"] == report["calls"]["ended_in_engine"]


def test_the_soak_keeps_a_bit_per_ended_call_not_a_day_of_ids():
    """The soak's own bookkeeping must not grow the RSS it checks: a dict of a day's ended call ids grew it by
    1.7 MB (a quarter of the day's growth). Calls whose CDR was seen leave `pending`; the rest is a bit each."""
    import tracemalloc
    from types import SimpleNamespace

    ended = soak._EndedCalls()
    tracemalloc.start()
    for n in range(1, 15_001):  # a day's calls at the day soak's rate, each CDR seen soon after
        ended.on_call_ended(SimpleNamespace(id=f"C{n}", ended=8000 * n))
        del ended.pending[f"C{n}"]
    held = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    assert held < 20_000, held
    ended.on_call_ended(SimpleNamespace(id="C15000", ended=0))  # the same call again counts once
    ended.on_call_ended(SimpleNamespace(id="outbound-7", ended=5))
    assert ended.count == 15_001 and ended.pending == {"outbound-7": 5}
    assert "C1" in ended and "C15000" in ended and "outbound-7" in ended
    assert "C15001" not in ended and "C999999" not in ended and "C0" not in ended and "x" not in ended


def test_the_cdr_writer_waits_briefly_for_a_locked_database(tmp_path):
    """Found by the soak: with SQLite's 10 s busy timeout, a database locked by another process stalled the
    tick loop 10 s per write (every call's audio stopped). The writer's rows go to its backlog instead."""
    from pycallcenter.journal import Journal
    from pycallcenter.storage import open_store
    from pycallcenter.storage.cdr import WRITE_WAIT, CdrWriter

    class Engine:
        now, epoch, listeners, scheduler, calls = 0, 0.0, [], None, {}
        recordings = Journal("recordings")

    store = open_store(str(tmp_path))
    CdrWriter(store, Engine())
    assert store.conn.execute("PRAGMA busy_timeout").fetchone()[0] == int(WRITE_WAIT * 1000) <= 100
    store.close()


def test_two_messages_in_the_same_second_get_two_files(tmp_path):
    """Found by the soak: two callers reaching voicemail in the same second were given the same path (the
    sequence number comes from the index, written only after recording), recorded into one part file,
    and the second stop raised FileNotFoundError out of the engine's tick."""
    import datetime as dt

    from pycallcenter.apps.voicemail import Voicemail

    vm = Voicemail(str(tmp_path / "vm"))
    vm.add_mailbox("100", "1234")
    when = dt.datetime(2026, 1, 5, 10, 52, 31)
    first, second = vm.new_message_path("100", when), vm.new_message_path("100", when)
    assert first != second and all(p.endswith(".wav") and "/100/" in p for p in (first, second))


def test_a_centre_that_raises_out_of_its_tick_is_a_violation_not_a_crash(tmp_path, monkeypatch):
    from pycallcenter.apps.centre import Centre

    real = Centre.tick

    def tick(self):
        if self.engine.now >= 10 * 8000:
            raise FileNotFoundError("a part file went missing")
        real(self)

    monkeypatch.setattr(Centre, "tick", tick)
    report = soak.run(soak.SoakSettings(hours=0.01, faults=0, agents=3, data_dir=str(tmp_path / "soak")), stream=None)
    assert len([v for v in report["violations"] if "the centre raised FileNotFoundError" in v]) == 1
    assert "test_soak.py" in report["violations"][0] and "Traceback" in report["crash"]


def test_a_full_disk_stops_a_recording_not_the_centre(tmp_path):
    """Found by the soak's disk_full fault: ENOSPC while a recording was written raised out of the engine's
    tick (every call stopped), and a header that could not be written was a RuntimeError the recording
    policy did not catch. Now the recorder keeps the error and the call goes on unrecorded."""
    import numpy as np

    from pycallcenter.engine.recording import Recorder

    rec = Recorder(str(tmp_path / "r.wav"), 0, subtype="ULAW")
    rec.write_chunk(np.zeros(800, np.int16))

    def full(frames):
        raise OSError(28, "No space left on device")

    rec._g711 = full
    rec.write_chunk(np.zeros(800, np.int16))
    assert "No space" in rec.error
    rec.write_chunk(np.zeros(800, np.int16))  # nothing more is tried
    stats = rec.stop()
    assert stats["error"] == rec.error and stats["seconds"] == 0.1
    (tmp_path / "h.part.wav").mkdir()  # where the part file must go: it cannot be made
    with pytest.raises(OSError, match="cannot record"):
        Recorder(str(tmp_path / "h.wav"), 0, subtype="ULAW")


def test_an_overload_tick_longer_than_the_board_time_is_a_violation_only_in_real_time():
    # as fast as the CPU allows no audio is lost, so a slow tick is reported, not judged; paced it is audio lost
    from types import SimpleNamespace

    for paced, expected in ((False, 0), (True, 1)):
        fault = soak.Fault(at=157.0, kind="overload", duration=20.0)
        hist = soak.TickHistogram()
        for seconds in (0.002, 0.003, 0.0976):
            hist.add(seconds)
        fault.state.update(cpu=hist, cpu_over=1)
        seen = []
        fake = SimpleNamespace(overloaded=[fault], settings=SimpleNamespace(paced=paced),
                               centre=SimpleNamespace(tick_seconds=0.08),
                               _violate=lambda text, key=None: seen.append(text))
        soak.Soak._overload_recovered(fake, fault)
        assert fault.state["ticks"]["cpu_overruns"] == 1 and fake.overloaded == []
        assert len(seen) == expected, seen
        if expected:
            assert "80 ms" in seen[0] and "overload at 157 s" in seen[0]


def test_the_minute_check_takes_one_step_after_each_tick(tmp_path, monkeypatch):
    """Taken at once the minute check (callers, journals, CDRs, leak lines, RSS) was 13-20 ms after one tick, the
    soak's own work in a paced run's tail: its steps come one after each of the ticks that follow."""
    seen = []
    for name in ("_tally_callers", "_read_journals", "_check_cdrs", "_check_orphans", "_sample_rss"):
        real = getattr(soak.Soak, name)
        monkeypatch.setattr(soak.Soak, name, lambda self, now, real=real, name=name: (
            seen.append((name, self.engine.now)), real(self, now))[1])
    report = soak.run(soak.SoakSettings(hours=0.01, faults=0, agents=3, sip_every=0, check_every=10.0,
                                        data_dir=str(tmp_path / "soak")), stream=None)
    assert report["violations"] == [] and report["rss"]["samples"] >= 3
    first = [(name, at) for name, at in seen[:5]]
    assert [name for name, _ in first] == ["_tally_callers", "_read_journals", "_check_cdrs", "_check_orphans",
                                           "_sample_rss"]
    ticks = [at for _, at in first]
    assert all(b - a == 640 for a, b in zip(ticks, ticks[1:])), ticks  # one 80 ms tick apart


def test_the_refusals_balance_by_trunk(short):
    """The report's refusals are the centre's (its admission's count), by the trunk they came in on; every caller
    refused heard the cause (34 or 42), but those on the FXO lines, whose port never answers (the line rings
    out), and those whose DISCONNECT was lost to a fault on their span (cleared with 41, or 81 once the link
    came back: seed 1 has one, a refusal 0.16 s before a dchan_loss). A day's report said "refused by the
    centre 590 (rate 593)": the callers who heard it beside the refusals."""
    c = short["calls"]
    total = c["admission"]["refused_total"]
    assert sum(c["refused_by_trunk"].values()) == total >= 1
    assert c["refused_by_centre"] == total - c["refused_by_trunk"].get("fxo", 0) - c["refusals_lost"], c
    assert f"refused by the centre {total} (" in soak.format_report(short)
