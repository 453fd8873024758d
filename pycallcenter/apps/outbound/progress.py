"""What each campaign did with each number, kept in DATA/campaigns.sqlite so a restarted centre goes
on where it stopped instead of calling everyone again::

    campaign_numbers(campaign TEXT, number TEXT, status TEXT, attempts INTEGER, next_due TEXT,
                     outcome TEXT, updated_at TEXT, PRIMARY KEY (campaign, number))

``status`` is the dialler's (pending, dialling, connected, machine, exhausted, failed); ``next_due`` the
local wall-clock time (ISO 8601) before which a pending number is not dialled again.
"""
import os
import sqlite3

SCHEMA = """
CREATE TABLE IF NOT EXISTS campaign_numbers (
    campaign TEXT NOT NULL,
    number TEXT NOT NULL,
    status TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_due TEXT NOT NULL DEFAULT '',
    outcome TEXT NOT NULL DEFAULT '',
    updated_at TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (campaign, number)
);
"""

def pause_flag(data, name):
    """Return the path of the file whose presence pauses a campaign (``pycallcenter campaign pause``)."""
    return os.path.join(data, "campaigns", f"{name}.paused")


def saved_counts(data):
    """Return {campaign: {status: numbers}} from the campaigns table of a data folder ({} without one)."""
    path = os.path.join(data, "campaigns.sqlite")
    if not os.path.exists(path):
        return {}
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        out = {}
        for campaign, status, n in db.execute("SELECT campaign, status, COUNT(*) FROM campaign_numbers "
                                              "GROUP BY campaign, status"):
            out.setdefault(campaign, {})[status] = n
        return out
    finally:
        db.close()


class CampaignProgress:
    """The campaign_numbers table of one campaign."""

    def __init__(self, path, campaign):
        self.db = sqlite3.connect(path, isolation_level=None)
        self.db.execute("PRAGMA journal_mode=WAL")
        # a save happens inside the engine's tick: without an fsync per commit it takes ~50 us, not ~4 ms;
        # a power cut may lose the last few states (those numbers are dialled again), never the file
        self.db.execute("PRAGMA synchronous=NORMAL")
        self.db.executescript(SCHEMA)
        self.campaign = campaign

    def load(self):
        """Return {number: (status, attempts, next_due ISO text, outcome)} saved for this campaign."""
        rows = self.db.execute("SELECT number, status, attempts, next_due, outcome FROM campaign_numbers "
                               "WHERE campaign = ?", (self.campaign,))
        return {r[0]: r[1:] for r in rows}

    def save(self, number, status, attempts, next_due, outcome, now):
        """Record a number's state (next_due and now are datetimes; next_due None when not pending)."""
        self.db.execute(
            "INSERT INTO campaign_numbers (campaign, number, status, attempts, next_due, outcome, updated_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (campaign, number) DO UPDATE SET status = excluded.status, "
            "attempts = excluded.attempts, next_due = excluded.next_due, outcome = excluded.outcome, "
            "updated_at = excluded.updated_at",
            (self.campaign, number, status, attempts, next_due.isoformat(timespec="seconds") if next_due else "",
             outcome, now.isoformat(timespec="seconds")))

    def close(self):
        """Close the database."""
        self.db.close()
