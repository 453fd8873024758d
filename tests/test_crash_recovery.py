"""Crash consistency: `pycallcenter run --simulate --fast` is killed with SIGKILL at several moments (just
after it starts, and with calls in every state); each next start closes what the dead run left. Then the
database holds whole calls only: every queue-log line of a call has that call's CDR, no call has two,
calls the dead runs had up are closed as INTERRUPTED, their agents are logged out, no open call is left,
and `pycallcenter report` reads it all."""
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time

import pytest

from pycallcenter.apps import demo

KILL_AFTER_CDRS = (0, 1, 5)  # moments: as soon as it runs, with the first calls ending, with many up


def _start(config):
    """Start `pycallcenter run --simulate --fast` on config; return the process once it is running."""
    proc = subprocess.Popen([sys.executable, "-m", "pycallcenter", "run", config, "--simulate", "--fast",
                             "--seconds", "3600"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    seen = []
    for line in proc.stdout:
        if line.startswith("running:"):
            return proc
        seen.append(line)
    proc.wait(10)
    pytest.fail(f"run exited with {proc.returncode} before it ran: {''.join(seen[-5:])}")


def _cdrs_of_last_run(db):
    try:
        con = sqlite3.connect(db, timeout=1.0)
        try:
            return con.execute("select count(*) from cdr where run = (select max(id) from runs)").fetchone()[0]
        finally:
            con.close()
    except sqlite3.OperationalError:  # not made yet, or locked a moment
        return 0


def _rows(db, sql):
    con = sqlite3.connect(db)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


@pytest.fixture(scope="module")
def crashed(tmp_path_factory):
    """Run, kill -9, start again, ... then a clean start (`run --check`); return the database path."""
    data = tmp_path_factory.mktemp("crash")
    settings = demo.DemoSettings(data_dir=str(data), agents=8, calls_per_hour=3000.0, talk_mean=25.0,
                                 patience_mean=60.0, fax_share=0.0, seed=5)
    config = str(data / "centre.toml")
    with open(config, "w") as fh:
        fh.write(demo.centre_text(settings))
    db = str(data / "pycallcenter.db")
    for n in KILL_AFTER_CDRS:
        proc = _start(config)
        deadline = time.monotonic() + 60
        while _cdrs_of_last_run(db) < n and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.05)
        assert proc.poll() is None, "the centre stopped on its own"
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(10)
        proc.stdout.close()
    check = subprocess.run([sys.executable, "-m", "pycallcenter", "run", config, "--check"],
                           capture_output=True, text=True, timeout=120)
    assert check.returncode == 0, check.stdout + check.stderr
    return db, check.stdout


def test_every_killed_run_is_closed_at_the_next_start(crashed):
    db, out = crashed
    runs = _rows(db, "select id, state from runs order by id")
    assert [s for _, s in runs] == ["interrupted"] * len(KILL_AFTER_CDRS) + ["stopped"]
    assert _rows(db, "select count(*) from open_calls") == [(0,)]
    assert "recovered" in out  # the start says what it closed


def test_the_database_holds_whole_calls_only(crashed):
    db, _ = crashed
    assert _rows(db, "pragma integrity_check") == [("ok",)]
    assert _rows(db, "select run, call_id from cdr group by run, call_id having count(*) > 1") == []
    orphans = _rows(db, "select distinct q.run, q.call_id from queue_log q where q.call_id != '-' and not exists "
                        "(select 1 from cdr c where c.run = q.run and c.call_id = q.call_id)")
    assert orphans == []
    assert _rows(db, "select count(*) from cdr where run is null") == [(0,)]


def test_calls_up_at_the_kill_are_interrupted_and_agents_logged_out(crashed):
    db, _ = crashed
    interrupted = _rows(db, "select run, call_id, outcome, end_time from cdr where disposition = 'INTERRUPTED'")
    assert interrupted, "calls were up at the later kills"
    assert all(outcome == "interrupted" and end for _, _, outcome, end in interrupted)
    assert {run for run, *_ in interrupted} <= {r for (r,) in _rows(db, "select id from runs where state = 'interrupted'")}
    for (run,) in _rows(db, "select id from runs where state = 'interrupted'"):
        state = {}
        for agent, event in _rows(db, f"select agent, event from queue_log where run = {run} and event in "
                                      "('LOGIN', 'LOGOUT') order by id"):
            state[agent] = event
        assert state and set(state.values()) == {"LOGOUT"}, (run, state)


def test_the_report_reads_the_recovered_database(crashed):
    db, _ = crashed
    r = subprocess.run([sys.executable, "-m", "pycallcenter", "report", "--db", db], capture_output=True, text=True,
                       timeout=120)
    assert r.returncode == 0, r.stderr
    assert "Traceback" not in r.stderr


def test_recordings_the_dead_runs_left_in_progress_are_finished_at_the_next_start(crashed):
    # each kill left its calls' recordings as *.part.wav files, which stayed there for good before
    db, out = crashed
    folder = os.path.join(os.path.dirname(db), "recordings")
    left = [os.path.join(root, n) for root, _, names in os.walk(folder) for n in names if n.endswith(".part.wav")]
    assert left == []
    assert "recording(s) the dead run left in progress" in out  # calls were recorded when the last run died


def test_recordings_finished_after_a_crash_belong_to_their_interrupted_calls(crashed):
    # they were finished on disk but had no recordings row and their INTERRUPTED CDR listed none
    import soundfile as sf

    db, out = crashed
    (last,) = _rows(db, "select max(id) from runs where state = 'interrupted'")[0]
    linked = _rows(db, f"select r.call_id, r.path, c.recordings from recordings r join cdr c on c.run = r.run and "
                       f"c.call_id = r.call_id where r.run = {last} and c.disposition = 'INTERRUPTED'")
    assert linked, out  # calls were recorded when the last run died
    assert "linked to their interrupted call" in out
    frames = []
    for call_id, path, listed in linked:
        assert path in json.loads(listed), (call_id, path, listed)
        assert os.path.isfile(path) and not path.endswith(".part.wav")
        frames.append(sf.info(path).frames)  # a finished WAV: its header counts what the dead run wrote
    # the header is rewritten each second, so a recording started in the run's last second counts none
    assert max(frames) > 0, frames
    # no recording of an interrupted call is left without its row
    rows = {p for (p,) in _rows(db, f"select path from recordings where run = {last}")}
    for call_id, listed in _rows(db, f"select call_id, recordings from cdr where run = {last} and "
                                     "disposition = 'INTERRUPTED'"):
        assert set(json.loads(listed)) <= rows, call_id
