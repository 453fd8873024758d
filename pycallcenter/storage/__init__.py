"""Call-centre storage: CDRs, queue log, recordings index, fax log, voicemail index, live status.

``open_store(target)``: a ``postgresql://`` URL or libpq DSN opens PostgreSQL, anything else is an
SQLite file (a folder means ``FOLDER/pycallcenter.db``).
"""
import os
import sqlite3

from pycallcenter.storage.base import Store
from pycallcenter.storage.sqlite import SqliteStore

DB_NAME = "pycallcenter.db"


def is_dsn(target):
    """Return True when target names a PostgreSQL database rather than an SQLite file."""
    t = str(target)
    return t.startswith(("postgresql://", "postgres://")) or ("=" in t and ("dbname" in t or "host" in t))


def open_store(target, appliance="local", create=True, **options):
    """Return a Store for a DSN/URL (PostgreSQL) or a path (SQLite file, or a folder holding one).

    With ``create=False`` (readers such as ``report`` and ``status``) a missing SQLite file is a
    FileNotFoundError naming it, so a mistyped path never leaves an empty database behind.
    """
    if is_dsn(target):
        from pycallcenter.storage.postgres import PostgresStore

        return PostgresStore(str(target), appliance=appliance, **options)
    path = os.fspath(target)
    if path != ":memory:" and (os.path.isdir(path) or path.endswith(os.sep) or not os.path.splitext(path)[1]):
        path = os.path.join(path, DB_NAME)
    if not create and path != ":memory:" and not os.path.isfile(path):
        raise FileNotFoundError(f"no database at {path} (`pycallcenter run` or `demo` writes one there)")
    try:
        return SqliteStore(path, appliance=appliance, **options)
    except sqlite3.DatabaseError as exc:
        if type(exc) is not sqlite3.DatabaseError:  # a locked or busy database (OperationalError) is not this
            raise
        # 'file is not a database' named no file: `report --db` given the wrong file printed a traceback
        raise ValueError(f"{path}: not an SQLite database ({exc})") from None


__all__ = ["Store", "SqliteStore", "open_store", "is_dsn", "DB_NAME"]
