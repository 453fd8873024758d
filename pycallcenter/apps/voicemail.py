"""Voicemail store: mailboxes and their messages (WAV files recorded by the engine's record verb) with an
index in SQLite. The store is sans-IO toward the board: it never touches a call; the IVR flows in
:mod:`pycallcenter.apps.voicemail_ivr` use it, and message-waiting changes go to ``on_mwi``.

Schema (kept simple: the storage work will later move it into the common database)::

    mailboxes(number TEXT PRIMARY KEY, pin TEXT, owner TEXT, extension INTEGER NULL, greeting TEXT NULL)
    messages(id INTEGER PRIMARY KEY, mailbox TEXT, caller TEXT, received TEXT (ISO 8601),
             seconds REAL, path TEXT, state TEXT CHECK IN ('new', 'saved', 'deleted'))
"""
import datetime as _dt
import os
import sqlite3
from typing import Callable, NamedTuple, Optional

from pycallcenter.engine.recording import claim

STATES = ("new", "saved", "deleted")

SCHEMA = """
CREATE TABLE IF NOT EXISTS mailboxes (
    number TEXT PRIMARY KEY,
    pin TEXT NOT NULL,
    owner TEXT NOT NULL DEFAULT '',
    extension INTEGER,
    greeting TEXT
);
CREATE TABLE IF NOT EXISTS messages (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    mailbox TEXT NOT NULL REFERENCES mailboxes(number),
    caller TEXT NOT NULL DEFAULT '',
    received TEXT NOT NULL,
    seconds REAL NOT NULL,
    path TEXT NOT NULL,
    state TEXT NOT NULL DEFAULT 'new' CHECK (state IN ('new', 'saved', 'deleted'))
);
CREATE INDEX IF NOT EXISTS messages_by_box ON messages (mailbox, state, id);
"""


class Mailbox(NamedTuple):
    """A mailbox: its number, PIN, owner, FXS extension channel for MWI (or None), greeting file (or None)."""

    number: str
    pin: str
    owner: str
    extension: Optional[int]
    greeting: Optional[str]


class Message(NamedTuple):
    """One voicemail message as indexed."""

    id: int
    mailbox: str
    caller: str
    received: str
    seconds: float
    path: str
    state: str


class Voicemail:
    """Mailboxes under ``folder`` (one sub-folder of WAV files per mailbox) indexed in ``db_path``.

    ``on_mwi(mailbox, waiting)`` is called when a mailbox's count of new messages goes from 0 to more
    or back to 0 (the centre turns it into FSK MWI and stutter dial tone on the owner's extension).
    ``on_message(message)`` is called for each message indexed (e.g. to copy it into the common store
    with pycallcenter.storage.adapters.index_voicemail).
    """

    def __init__(self, folder, db_path=None, on_mwi: Optional[Callable] = None, min_seconds=1.0):
        self.folder = os.fspath(folder)
        os.makedirs(self.folder, exist_ok=True)
        self.db_path = os.fspath(db_path) if db_path is not None else os.path.join(self.folder, "voicemail.sqlite")
        self.on_mwi = on_mwi
        self.on_message: Optional[Callable] = None
        self.min_seconds = min_seconds  # shorter recordings (hang-ups at the beep) are dropped
        self.db = sqlite3.connect(self.db_path, isolation_level=None)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.executescript(SCHEMA)

    def close(self):
        """Close the index."""
        self.db.close()

    # --- mailboxes -------------------------------------------------------------------------------
    def add_mailbox(self, number, pin, owner="", extension=None, greeting=None):
        """Create or replace a mailbox (PIN '' = no login); return it."""
        number, pin = str(number), str(pin)
        if not number.isdigit() or not (pin.isdigit() or pin == ""):
            raise ValueError(f"mailbox number and PIN must be digits, got {number!r} / {pin!r}")
        self.db.execute("INSERT OR REPLACE INTO mailboxes VALUES (?, ?, ?, ?, ?)",
                        (number, pin, owner, extension, None if greeting is None else os.fspath(greeting)))
        return self.mailbox(number)

    def mailbox(self, number):
        """Return the Mailbox, or None when there is none with that number."""
        row = self.db.execute("SELECT * FROM mailboxes WHERE number = ?", (str(number),)).fetchone()
        return Mailbox(*row) if row else None

    def greeting_path(self, number):
        """Return where the mailbox's own recorded greeting lives (folder/NUMBER/greeting.wav)."""
        return os.path.join(self.folder, str(number), "greeting.wav")

    def set_greeting(self, number, path):
        """Make path (None: the default greeting) the mailbox's greeting; return the Mailbox."""
        self.db.execute("UPDATE mailboxes SET greeting = ? WHERE number = ?",
                        (None if path is None else os.fspath(path), str(number)))
        return self.mailbox(number)

    def mailbox_of_extension(self, channel):
        """Return the Mailbox whose MWI goes to this FXS channel, or None."""
        row = self.db.execute("SELECT * FROM mailboxes WHERE extension = ? ORDER BY number", (channel,)).fetchone()
        return Mailbox(*row) if row else None

    def mailboxes(self):
        """Return every Mailbox, by number."""
        return [Mailbox(*r) for r in self.db.execute("SELECT * FROM mailboxes ORDER BY number")]

    def check_pin(self, number, pin):
        """Return True when the mailbox exists and pin is its PIN."""
        box = self.mailbox(number)
        return box is not None and bool(pin) and pin == box.pin

    # --- messages --------------------------------------------------------------------------------
    def new_message_path(self, number, when):
        """Return a fresh WAV path for a message to the mailbox received at when (a datetime), created empty:
        two callers leaving messages in the same second would otherwise record into one file."""
        (seq,) = self.db.execute("SELECT COALESCE(MAX(id), 0) + 1 FROM messages").fetchone()
        folder = os.path.join(self.folder, str(number))
        return claim(os.path.join(folder, f"{when:%Y%m%d-%H%M%S}-{seq}.wav"))

    def add_message(self, number, caller, path, seconds, when):
        """Index a recorded message as new; return its id, or None (file removed) when it is too short."""
        if seconds < self.min_seconds:
            if os.path.exists(path):
                os.remove(path)
            return None
        before = self.counts(number)[0]
        received = when.isoformat(timespec="seconds") if isinstance(when, _dt.datetime) else str(when)
        cur = self.db.execute("INSERT INTO messages (mailbox, caller, received, seconds, path) VALUES (?, ?, ?, ?, ?)",
                              (str(number), caller or "", received, float(seconds), os.fspath(path)))
        self._mwi(number, before)
        if self.on_message is not None:
            self.on_message(self.message(cur.lastrowid))
        return cur.lastrowid

    def message(self, msg_id):
        """Return the Message with this id, or None."""
        row = self.db.execute("SELECT * FROM messages WHERE id = ?", (msg_id,)).fetchone()
        return Message(*row) if row else None

    def messages(self, number, state="new"):
        """Return the mailbox's messages in a state, oldest first."""
        if state not in STATES:
            raise ValueError(f"state must be one of {STATES}, got {state!r}")
        rows = self.db.execute("SELECT * FROM messages WHERE mailbox = ? AND state = ? ORDER BY id",
                               (str(number), state))
        return [Message(*r) for r in rows]

    def counts(self, number):
        """Return (new, saved) message counts of a mailbox."""
        rows = dict(self.db.execute("SELECT state, COUNT(*) FROM messages WHERE mailbox = ? GROUP BY state",
                                    (str(number),)).fetchall())
        return rows.get("new", 0), rows.get("saved", 0)

    def set_state(self, msg_id, state):
        """Mark a message new, saved or deleted (a deleted message's file is removed); return the Message."""
        if state not in STATES:
            raise ValueError(f"state must be one of {STATES}, got {state!r}")
        msg = self.message(msg_id)
        if msg is None:
            raise KeyError(f"no voicemail message {msg_id}")
        before = self.counts(msg.mailbox)[0]
        self.db.execute("UPDATE messages SET state = ? WHERE id = ?", (state, msg_id))
        if state == "deleted" and os.path.exists(msg.path):
            os.remove(msg.path)
        self._mwi(msg.mailbox, before)
        return msg._replace(state=state)

    def waiting(self, number):
        """Return True when the mailbox has new messages (its MWI state)."""
        return self.counts(number)[0] > 0

    def _mwi(self, number, before):
        after = self.counts(number)[0]
        if self.on_mwi is not None and (before > 0) != (after > 0):
            self.on_mwi(self.mailbox(number), after > 0)
