"""The Store interface: append rows to the schema's tables in atomic batches, read them back.

Backends differ only in how they connect, their DDL and their placeholder; everything else (JSON
columns, batching, queries by time) lives here once.
"""
import json
from contextlib import contextmanager

from pycallcenter.storage import schema


class Store:
    """A connection to the call-centre database. Subclasses set ``dialect`` and ``placeholder``."""

    dialect = ""
    placeholder = "?"

    def __init__(self, conn, appliance="local"):
        self.conn = conn
        self.appliance = appliance
        self._batch = None
        existing = {t: self._columns_of(t) for t in schema.TABLES}
        existing = {t: cols for t, cols in existing.items() if cols is not None}
        for stmt in schema.ddl(self.dialect) + schema.migrations(self.dialect, existing):
            self._execute(stmt)
        self.conn.commit()

    def _columns_of(self, table):
        """Return the set of a table's column names, or None when the table does not exist yet."""
        cur = self.conn.cursor()
        try:
            cur.execute(f"SELECT * FROM {table} LIMIT 0")
        except Exception:  # noqa: BLE001 - each driver names a missing table its own way
            self.conn.rollback()  # PostgreSQL aborts the transaction on the error
            cur.close()
            return None
        names = {d[0] for d in cur.description}
        cur.close()
        return names

    # --- writing ---------------------------------------------------------------------------------
    @contextmanager
    def transaction(self):
        """Group writes: everything added inside is committed together (or not at all)."""
        if self._batch is not None:  # nested: the outer block commits
            yield self
            return
        self._batch = []
        try:
            yield self
            self._commit()
        except BaseException:
            self._batch = None
            try:
                self.conn.rollback()
            except Exception:  # noqa: BLE001 - a dead connection cannot roll back; keep the first error
                pass
            raise

    def add(self, table, row):
        """Append one row (a dict; missing columns are NULL, appliance defaults to ours)."""
        self.add_many(table, [row])

    def add_many(self, table, rows):
        """Append rows to a table; committed at once unless inside ``transaction()``."""
        cols = schema.columns(table)
        unknown = {k for r in rows for k in r} - set(cols)
        if unknown:
            raise ValueError(f"unknown column(s) {', '.join(sorted(unknown))} for table {table}")
        js = schema.json_columns(table)
        values = [tuple(self._value(c, r.get(c), js) if c != "appliance" else r.get(c, self.appliance)
                        for c in cols) for r in rows]
        stmt = f"INSERT INTO {table} ({', '.join(cols)}) VALUES ({', '.join([self.placeholder] * len(cols))})"
        self._write(stmt, values)

    def delete(self, table, where, params=()):
        """Delete a table's rows matching where ('?' placeholders, our appliance's rows only); committed
        at once unless inside ``transaction()``."""
        schema.columns(table)
        self._write(f"DELETE FROM {table} WHERE appliance = ? AND ({where})".replace("?", self.placeholder),
                    [(self.appliance, *params)])

    def update(self, table, values, where, params=()):
        """Set columns (a dict) of a table's rows matching where (our appliance's rows only); committed at
        once unless inside ``transaction()``."""
        cols = schema.columns(table)
        unknown = set(values) - set(cols)
        if unknown:
            raise ValueError(f"unknown column(s) {', '.join(sorted(unknown))} for table {table}")
        js = schema.json_columns(table)
        sets = ", ".join(f"{c} = ?" for c in values)
        self._write(f"UPDATE {table} SET {sets} WHERE appliance = ? AND ({where})".replace("?", self.placeholder),
                    [(*(self._value(c, v, js) for c, v in values.items()), self.appliance, *params)])

    def _write(self, stmt, values):
        if self._batch is not None:
            self._batch.append((stmt, values))
        else:
            self._ensure()
            self._executemany(stmt, values)
            self.conn.commit()

    def put_status(self, status, updated=""):
        """Replace this appliance's live status row (the JSON that `pycallcenter status` prints): status is
        a dict, or its JSON text when the caller has it already (the centre writes the same text to its file)."""
        p = self.placeholder
        text = status if isinstance(status, str) else json.dumps(status, sort_keys=True, default=str)
        with self.transaction():
            self._batch.append((f"DELETE FROM live_status WHERE appliance = {p}", [(self.appliance,)]))
            self._batch.append((f"INSERT INTO live_status (appliance, updated, status) VALUES ({p}, {p}, {p})",
                                [(self.appliance, updated, text)]))

    def _commit(self):
        batch, self._batch = self._batch, None
        self._ensure()
        for stmt, values in batch:
            self._executemany(stmt, values)
        self.conn.commit()

    @staticmethod
    def _value(col, v, js):
        if col in js:
            return None if v is None else json.dumps(v, sort_keys=True, default=str)
        return v

    # --- reading ---------------------------------------------------------------------------------
    def select(self, table, where=None, params=(), order="id", limit=None):
        """Return rows of a table as dicts (JSON columns decoded); where uses '?' placeholders."""
        schema.columns(table)  # ValueError for an unknown table
        cols = [c for c, _ in schema.TABLES[table]]
        sql = f"SELECT {', '.join(cols)} FROM {table}"
        if where:
            sql += " WHERE " + where.replace("?", self.placeholder)
        if order:
            sql += f" ORDER BY {order}"
        if limit:
            sql += f" LIMIT {int(limit)}"
        js = schema.json_columns(table)
        out = []
        self._ensure()
        for rec in self._fetch(sql, tuple(params)):
            row = dict(zip(cols, rec))
            for c in js:
                if row[c] is not None:
                    row[c] = json.loads(row[c])
            out.append(row)
        return out

    def count(self, table):
        """Return the number of rows in a table."""
        schema.columns(table)
        return self._fetch(f"SELECT COUNT(*) FROM {table}", ())[0][0]

    def cdrs(self, start=None, end=None):
        """Return CDRs whose call started in [start, end) (board seconds; None = unbounded)."""
        return self.select("cdr", *_between("start_s", start, end), order="start_s, id")

    def queue_log(self, start=None, end=None):
        """Return queue-log rows with time in [start, end), in the order they were written."""
        return self.select("queue_log", *_between("time", start, end), order="id")

    def live_status(self):
        """Return {appliance: status dict} for every appliance that published one."""
        return {r["appliance"]: dict(r["status"], _updated=r["updated"]) for r in self.select("live_status", order="appliance")}

    def checkpoint_in_background(self):
        """Keep the journal's housekeeping off the writing thread where the backend has any (SQLite's WAL
        checkpoints); return None."""

    def close(self):
        """Close the connection."""
        self.conn.close()

    # --- backend primitives ----------------------------------------------------------------------
    def _ensure(self):
        """Make sure the connection is usable before a write (backends that can reconnect do here)."""

    def _execute(self, stmt, params=()):
        cur = self.conn.cursor()
        cur.execute(stmt, params)
        cur.close()

    def _executemany(self, stmt, values):
        cur = self.conn.cursor()
        cur.executemany(stmt, values)
        cur.close()

    def _fetch(self, sql, params):
        cur = self.conn.cursor()
        cur.execute(sql, params)
        rows = cur.fetchall()
        cur.close()
        return rows


def _between(col, start, end):
    conds, params = [], []
    if start is not None:
        conds.append(f"{col} >= ?")
        params.append(float(start))
    if end is not None:
        conds.append(f"{col} < ?")
        params.append(float(end))
    return (" AND ".join(conds) or None), params
