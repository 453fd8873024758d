"""Callback requests left in the IVR, for the outbound dialler to place. One SQLite table::

    callbacks(id INTEGER PRIMARY KEY, number TEXT, requested_at TEXT (ISO 8601), queue TEXT,
              state TEXT ('pending', 'dialling', 'done', 'failed'), caller TEXT, call_id TEXT,
              attempts INTEGER)

A dialler takes the oldest 'pending' rows (``pending()``), sets 'dialling' while it calls, then 'done'
or back to 'pending'/'failed' with ``set_state``.
"""
import sqlite3
from typing import NamedTuple

STATES = ("pending", "dialling", "done", "failed")

SCHEMA = """
CREATE TABLE IF NOT EXISTS callbacks (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    number TEXT NOT NULL,
    requested_at TEXT NOT NULL,
    queue TEXT NOT NULL,
    state TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'dialling', 'done', 'failed')),
    caller TEXT NOT NULL DEFAULT '',
    call_id TEXT NOT NULL DEFAULT '',
    attempts INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS callbacks_by_state ON callbacks (state, id);
"""


class Callback(NamedTuple):
    """One callback request row."""

    id: int
    number: str
    requested_at: str
    queue: str
    state: str
    caller: str
    call_id: str
    attempts: int


class CallbackStore:
    """The callbacks table in a SQLite file."""

    def __init__(self, path):
        self.db = sqlite3.connect(path, isolation_level=None)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.executescript(SCHEMA)

    def close(self):
        """Close the database."""
        self.db.close()

    def request(self, number, queue, when, caller="", call_id=""):
        """Queue a callback to number for a queue, requested at when (datetime); return its id."""
        if not number or not str(number).isdigit():
            raise ValueError(f"callback number must be digits, got {number!r}")
        cur = self.db.execute("INSERT INTO callbacks (number, requested_at, queue, caller, call_id) VALUES (?, ?, ?, ?, ?)",
                              (str(number), when.isoformat(timespec="seconds"), queue, caller or "", call_id))
        return cur.lastrowid

    def pending(self, queue=None):
        """Return the pending callbacks, oldest first (of one queue if given)."""
        sql, args = "SELECT * FROM callbacks WHERE state = 'pending'", ()
        if queue is not None:
            sql, args = sql + " AND queue = ?", (queue,)
        return [Callback(*r) for r in self.db.execute(sql + " ORDER BY id", args)]

    def set_state(self, callback_id, state):
        """Move a callback to a state (counting attempts when it goes to 'dialling'); return nothing."""
        if state not in STATES:
            raise ValueError(f"state must be one of {STATES}, got {state!r}")
        self.db.execute("UPDATE callbacks SET state = ?, attempts = attempts + (? = 'dialling') WHERE id = ?",
                        (state, state, callback_id))
