"""PostgreSQL backend, for centres where several appliances share one reporting database.

psycopg (3) is an optional dependency (the ``pg`` extra): it is imported only when a DSN is opened.
"""
from pycallcenter.errors import ConfigError
from pycallcenter.storage.base import Store


def _psycopg():
    try:
        import psycopg
    except ImportError as exc:
        raise ConfigError("a PostgreSQL DSN needs the psycopg driver: pip install 'psycopg[binary]' "
                          "(or pycallcenter[pg])") from exc
    return psycopg


class PostgresStore(Store):
    """A Store on a PostgreSQL database given by a libpq DSN or postgresql:// URL."""

    dialect = "postgres"
    placeholder = "%s"

    def __init__(self, dsn, appliance="local", connect_timeout=10):
        psycopg = _psycopg()
        self.dsn = dsn
        self.connect_timeout = connect_timeout
        self.reconnects = 0
        conn = psycopg.connect(dsn, connect_timeout=connect_timeout)
        # several appliances may create the schema at once: serialise DDL with an advisory lock
        conn.execute("SELECT pg_advisory_lock(90909)")
        try:
            super().__init__(conn, appliance)
        finally:
            conn.execute("SELECT pg_advisory_unlock(90909)")
            conn.commit()

    def _ensure(self):
        # a server restart or a dropped link leaves the connection broken: open a new one (once per
        # write; if the server is still away this raises and the caller's backlog keeps the rows)
        if self.conn.closed or self.conn.broken:
            self.conn = _psycopg().connect(self.dsn, connect_timeout=self.connect_timeout)
            self.reconnects += 1
