"""The callback table (chosen times, retries, kept places, resuming after a restart, files from before
those columns), the callback script's time parsing, and campaign lists (CSV, do-not-call, bad lines)."""
import datetime as dt
import importlib.util
import os
import sqlite3
from types import SimpleNamespace

import pytest

from pycallcenter.apps.callbacks import CallbackStore
from pycallcenter.apps.outbound.common import default_trunk, normalise, read_call_list, read_dnc
from pycallcenter.errors import ConfigError

NINE = dt.datetime(2026, 1, 5, 9, 0)


def _callback_script():
    path = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "ivr_scripts", "callback.py")
    spec = importlib.util.spec_from_file_location("callback_script", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_chosen_times_come_first_and_wait_for_their_time(tmp_path):
    store = CallbackStore(str(tmp_path / "cb.sqlite"))
    asap = store.request("2025550001", "sales", NINE)
    at_ten = store.request("2025550002", "sales", NINE, at=NINE.replace(hour=10))
    at_930 = store.request("2025550003", "sales", NINE, at=NINE.replace(minute=30))
    assert [r.id for r in store.due(NINE)] == [asap]
    assert [r.id for r in store.due(NINE.replace(hour=10))] == [at_930, at_ten, asap]
    assert store.next_due() == ""  # one is due now


def test_an_attempt_counts_and_a_retry_waits_for_its_time(tmp_path):
    store = CallbackStore(str(tmp_path / "cb.sqlite"))
    cb = store.request("2025550001", "sales", NINE)
    assert store.begin(cb, NINE) == 1 and store.due(NINE) == []
    store.finish(cb, "pending", "no_answer", NINE, next_try=NINE + dt.timedelta(minutes=5))
    assert store.due(NINE + dt.timedelta(minutes=4)) == []
    (row,) = store.due(NINE + dt.timedelta(minutes=5))
    assert (row.state, row.attempts, row.outcome) == ("pending", 1, "no_answer")
    store.begin(cb, NINE + dt.timedelta(minutes=5))
    store.finish(cb, "pending", "no_agent", NINE, counted=False)  # no agent took it: not an attempt
    assert store.get(cb).attempts == 1
    with pytest.raises(ValueError):
        store.finish(cb, "dialling", "x", NINE)
    assert store.counts() == {"pending": 1, "dialling": 0, "done": 0, "failed": 0}


def test_a_restart_resumes_attempts_and_forgets_kept_places(tmp_path):
    path = str(tmp_path / "cb.sqlite")
    store = CallbackStore(path)
    cut = store.request("2025550001", "sales", NINE)
    store.begin(cut, NINE)
    kept = store.request("2025550002", "sales", NINE, call_id="C7", held_by="C7")
    assert store.request("2025550002", "sales", NINE, call_id="C7", held_by="C7") == kept  # one row per call
    assert store.held() == {"C7": kept}
    store.close()
    store = CallbackStore(path)
    assert store.resume() == 1
    assert store.get(cut).state == "pending" and store.get(cut).attempts == 1
    assert store.held() == {} and [r.id for r in store.due(NINE)] == [cut, kept]


def test_a_table_from_before_the_new_columns_gets_them(tmp_path):
    path = str(tmp_path / "old.sqlite")
    db = sqlite3.connect(path)
    db.executescript("""CREATE TABLE callbacks (id INTEGER PRIMARY KEY AUTOINCREMENT, number TEXT NOT NULL,
        requested_at TEXT NOT NULL, queue TEXT NOT NULL, state TEXT NOT NULL DEFAULT 'pending',
        caller TEXT NOT NULL DEFAULT '', call_id TEXT NOT NULL DEFAULT '', attempts INTEGER NOT NULL DEFAULT 0);
        INSERT INTO callbacks (number, requested_at, queue) VALUES ('2025550009', '2026-01-05T08:00:00', 'sales');""")
    db.commit()
    db.close()
    (row,) = CallbackStore(path).due(NINE)
    assert row.number == "2025550009" and row.due_at == "" and row.next_try == ""


@pytest.mark.parametrize("digits, expected", [
    ("1430", dt.datetime(2026, 1, 5, 14, 30)),
    ("0900", dt.datetime(2026, 1, 6, 9, 0)),  # already past today: tomorrow
    ("1000", dt.datetime(2026, 1, 5, 10, 0)),
    ("2460", None), ("930", None), ("", None),
])
def test_the_callers_chosen_time_is_the_next_one_on_the_clock(digits, expected):
    assert _callback_script().at_time(digits, dt.datetime(2026, 1, 5, 10, 0)) == expected


def test_a_call_list_has_an_optional_header_separators_and_comments(tmp_path):
    path = tmp_path / "list.csv"
    path.write_text("number,name,plan\n# a comment\n+1 (202) 555-0101,Ann,gold\n202.555.0102,Bob\n\n")
    assert read_call_list(str(path), "campaign[1].numbers") == [
        ("12025550101", {"name": "Ann", "plan": "gold"}), ("2025550102", {"name": "Bob"})]
    dnc = tmp_path / "dnc.txt"
    dnc.write_text("202-555-0102\n# gone\n")
    assert read_dnc(str(dnc), "campaign[1].dnc") == {"2025550102"}
    assert normalise(' "202 555 0103" ') == "2025550103"


def test_a_bad_line_in_a_call_list_is_one_line_naming_the_file_and_line(tmp_path):
    path = tmp_path / "list.csv"
    path.write_text("number\n2025550101\ncall me maybe\n")
    with pytest.raises(ConfigError) as err:
        read_call_list(str(path), "campaign[2].numbers")
    assert str(err.value) == f"{path}:3: campaign[2].numbers: not a phone number: 'call me maybe'"
    with pytest.raises(ConfigError, match=r"campaign\[2\].numbers: cannot read the list: No such file"):
        read_call_list(str(tmp_path / "missing.csv"), "campaign[2].numbers")


def test_the_trunk_is_checked_or_the_first_one_taken():
    engine = SimpleNamespace(adapters=[SimpleNamespace(name="ext2", tech="fxs"),
                                       SimpleNamespace(name="pri1", tech="pri")])
    assert default_trunk(engine, None, "callbacks.trunk", "c.toml") == "pri1"
    assert default_trunk(engine, "pri1", "callbacks.trunk", "c.toml") == "pri1"
    with pytest.raises(ConfigError, match=r"^c.toml: callbacks.trunk: no trunk named 'pri9' \(have ext2, pri1\)$"):
        default_trunk(engine, "pri9", "callbacks.trunk", "c.toml")
