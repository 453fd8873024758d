"""A small account table for the account-lookup IVR: ``accounts(number TEXT PRIMARY KEY, name TEXT,
balance_cents INTEGER)`` in SQLite. Balances are whole cents so nothing rounds."""
import sqlite3
from decimal import Decimal

SCHEMA = """
CREATE TABLE IF NOT EXISTS accounts (
    number TEXT PRIMARY KEY,
    name TEXT NOT NULL DEFAULT '',
    balance_cents INTEGER NOT NULL DEFAULT 0
);
"""


def connect(path):
    """Return a connection to the account table at path (created if missing)."""
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.executescript(SCHEMA)
    return db


def add_account(path, number, balance, name=""):
    """Create or replace an account with a balance (Decimal, str or int dollars); return nothing."""
    cents = int((Decimal(str(balance)) * 100).to_integral_value())
    db = connect(path)
    try:
        db.execute("INSERT OR REPLACE INTO accounts VALUES (?, ?, ?)", (str(number), name, cents))
    finally:
        db.close()


def balance(path, number):
    """Return the account's balance as a Decimal, or None when there is no such account."""
    db = connect(path)
    try:
        row = db.execute("SELECT balance_cents FROM accounts WHERE number = ?", (str(number),)).fetchone()
    finally:
        db.close()
    return None if row is None else Decimal(row[0]) / 100
