"""Callback requests left in the IVR (or by a caller who kept their place in a queue), and what the
dialler did with each. One SQLite table::

    callbacks(id INTEGER PRIMARY KEY, number TEXT, requested_at TEXT (ISO 8601), queue TEXT,
              state TEXT ('pending', 'dialling', 'done', 'failed'), caller TEXT, call_id TEXT,
              attempts INTEGER, due_at TEXT, next_try TEXT, outcome TEXT, held_by TEXT, updated_at TEXT)

``due_at`` is the local time the caller asked to be called at ('' = as soon as possible), ``next_try``
the earliest time of the next attempt ('' = now), ``outcome`` the last attempt's outcome and
``held_by`` the ACD call id of a caller who kept their place in the queue (the ACD calls them back
when their turn comes; the dialler leaves the row alone while that ACD call exists).

A dialler takes the rows due (``due(now)``), marks each attempt with ``begin()`` ('dialling',
attempts + 1) and ends it with ``finish()`` ('done', 'failed', or back to 'pending' with a retry
time). Times are the centre's local wall-clock times (naive datetimes), stored as ISO 8601 text, so
comparing the text compares the times. A restart calls ``resume()``: an attempt cut short by the stop
goes back to 'pending' (its attempt still counts), so dialling picks up where it stopped.
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

# columns added after the first release: (name, declaration); added to older files on open
ADDED = (("due_at", "TEXT NOT NULL DEFAULT ''"), ("next_try", "TEXT NOT NULL DEFAULT ''"),
         ("outcome", "TEXT NOT NULL DEFAULT ''"), ("held_by", "TEXT NOT NULL DEFAULT ''"),
         ("updated_at", "TEXT NOT NULL DEFAULT ''"))

COLUMNS = ("id", "number", "requested_at", "queue", "state", "caller", "call_id", "attempts") + tuple(
    n for n, _ in ADDED)


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
    due_at: str = ""
    next_try: str = ""
    outcome: str = ""
    held_by: str = ""
    updated_at: str = ""


def _iso(when):
    return when.isoformat(timespec="seconds") if when is not None else ""


class CallbackStore:
    """The callbacks table in a SQLite file."""

    def __init__(self, path):
        self.db = sqlite3.connect(path, isolation_level=None)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.executescript(SCHEMA)
        have = {r[1] for r in self.db.execute("PRAGMA table_info(callbacks)")}
        for name, decl in ADDED:
            if name not in have:
                self.db.execute(f"ALTER TABLE callbacks ADD COLUMN {name} {decl}")
        self._select = f"SELECT {', '.join(COLUMNS)} FROM callbacks"

    def close(self):
        """Close the database."""
        self.db.close()

    def request(self, number, queue, when, caller="", call_id="", at=None, held_by=""):
        """Queue a callback to number for a queue, requested at when (datetime), to be made at `at` (a
        datetime; None: as soon as possible); held_by: the ACD call keeping the caller's place (one row per
        call: a second request for it returns the first's id). Return its id."""
        if not number or not str(number).isdigit():
            raise ValueError(f"callback number must be digits, got {number!r}")
        if held_by and call_id:  # the queue may have reached an agent (and saved it) before the script did
            row = self.db.execute("SELECT id FROM callbacks WHERE call_id = ?", (call_id,)).fetchone()
            if row:
                return row[0]
        cur = self.db.execute(
            "INSERT INTO callbacks (number, requested_at, queue, caller, call_id, due_at, held_by, updated_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (str(number), _iso(when), queue, caller or "", call_id, _iso(at), held_by or "", _iso(when)))
        return cur.lastrowid

    def get(self, callback_id):
        """Return the Callback with this id, or None."""
        row = self.db.execute(self._select + " WHERE id = ?", (callback_id,)).fetchone()
        return Callback(*row) if row else None

    def pending(self, queue=None):
        """Return the pending callbacks, oldest first (of one queue if given)."""
        sql, args = self._select + " WHERE state = 'pending'", ()
        if queue is not None:
            sql, args = sql + " AND queue = ?", (queue,)
        return [Callback(*r) for r in self.db.execute(sql + " ORDER BY id", args)]

    def due(self, now, limit=None):
        """Return the pending callbacks whose chosen time and retry time have come by now (datetime),
        callers with a chosen time first, then oldest first."""
        t = _iso(now)
        sql = (self._select + " WHERE state = 'pending' AND due_at <= ? AND next_try <= ? "
               "ORDER BY due_at = '', due_at, id")
        if limit is not None:
            sql += f" LIMIT {int(limit)}"
        return [Callback(*r) for r in self.db.execute(sql, (t, t))]

    def next_due(self):
        """Return the earliest ISO time at which a pending callback falls due ('' = one is due now), or None."""
        row = self.db.execute("SELECT MIN(MAX(due_at, next_try)) FROM callbacks WHERE state = 'pending'").fetchone()
        return row[0]

    def begin(self, callback_id, now):
        """Mark an attempt as started ('dialling', attempts + 1); return the attempt number."""
        self.db.execute("UPDATE callbacks SET state = 'dialling', attempts = attempts + 1, held_by = '', "
                        "updated_at = ? WHERE id = ?", (_iso(now), callback_id))
        return self.db.execute("SELECT attempts FROM callbacks WHERE id = ?", (callback_id,)).fetchone()[0]

    def finish(self, callback_id, state, outcome, now, next_try=None, counted=True):
        """End an attempt: state 'done', 'failed' or 'pending' (retry not before next_try); an attempt that
        never reached the customer (no agent took it) is not counted. Return nothing."""
        if state not in STATES or state == "dialling":
            raise ValueError(f"an attempt ends in done, failed or pending, not {state!r}")
        self.db.execute("UPDATE callbacks SET state = ?, outcome = ?, next_try = ?, updated_at = ?, "
                        "attempts = attempts - ? WHERE id = ?",
                        (state, outcome, _iso(next_try), _iso(now), 0 if counted else 1, callback_id))

    def release(self, callback_id):
        """The ACD no longer keeps this caller's place: the dialler calls them back like any request."""
        self.db.execute("UPDATE callbacks SET held_by = '' WHERE id = ?", (callback_id,))

    def held(self):
        """Return {ACD call id: callback id} of pending callbacks whose place a queue keeps."""
        return dict(self.db.execute("SELECT held_by, id FROM callbacks WHERE state = 'pending' AND held_by != ''"))

    def resume(self):
        """After a restart: attempts cut short go back to 'pending', no ACD keeps a place any more;
        return how many rows were resumed."""
        cur = self.db.execute("UPDATE callbacks SET state = 'pending' WHERE state = 'dialling'")
        self.db.execute("UPDATE callbacks SET held_by = '' WHERE held_by != ''")
        return cur.rowcount

    def counts(self):
        """Return {state: rows} of every state."""
        out = dict.fromkeys(STATES, 0)
        out.update(self.db.execute("SELECT state, COUNT(*) FROM callbacks GROUP BY state"))
        return out

    def set_state(self, callback_id, state):
        """Move a callback to a state (counting attempts when it goes to 'dialling'); return nothing."""
        if state not in STATES:
            raise ValueError(f"state must be one of {STATES}, got {state!r}")
        self.db.execute("UPDATE callbacks SET state = ?, attempts = attempts + (? = 'dialling') WHERE id = ?",
                        (state, state, callback_id))
