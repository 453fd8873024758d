"""The one storage schema: tables and typed columns, rendered as DDL for SQLite or PostgreSQL.

Every table carries ``appliance`` so several boxes can share one PostgreSQL reporting database;
JSON columns hold the open-ended parts (call variables, ACD event fields, fax details) as text so the
same rows read back the same from either backend.
"""
# column types: "key" (auto id), "text", "real", "int", "json" (text holding JSON)
TABLES = {
    "cdr": [
        ("id", "key"), ("appliance", "text"), ("call_id", "text"),
        ("start_time", "text"), ("answer_time", "text"), ("end_time", "text"),
        ("start_s", "real"), ("answer_s", "real"), ("end_s", "real"),
        ("caller", "text"), ("caller_name", "text"), ("called", "text"), ("channels", "text"), ("tech", "text"),
        ("direction", "text"), ("duration", "real"), ("billsec", "real"), ("cause", "int"),
        ("disposition", "text"), ("queue", "text"), ("agent", "text"), ("vars", "json"), ("recordings", "json"),
        # added later (databases made before get them through migrations()): what the call came to,
        # the trunk group it came in on, and its last queue visit from the queue log
        ("outcome", "text"), ("trunk", "text"), ("queued_time", "text"), ("queue_wait", "real"),
        ("queue_result", "text"), ("talk", "real"), ("hold", "real"),
        # the start of the process that wrote it (runs.id): call ids restart at C1 on every start
        ("run", "int"),
        # the agent's wrap-up from the desktop (docs/cti.md): disposition code and notes, set after the call
        ("wrapup_code", "text"), ("wrapup_notes", "text"), ("wrapup_agent", "text"),
    ],
    "queue_log": [
        ("id", "key"), ("appliance", "text"), ("time", "real"), ("iso", "text"), ("call_id", "text"),
        ("queue", "text"), ("agent", "text"), ("event", "text"), ("data", "json"), ("run", "int"),
    ],
    "recordings": [
        ("id", "key"), ("appliance", "text"), ("call_id", "text"), ("leg_id", "text"), ("path", "text"),
        ("seconds", "real"), ("voice_ratio", "real"), ("queue", "text"), ("agent", "text"),
        ("created", "text"), ("data", "json"), ("run", "int"),
    ],
    # one row per start of a centre writing here: state running, stopped (closed cleanly) or interrupted
    # (found still running at a later start: the process died); last_seen is its last flush
    "runs": [
        ("id", "key"), ("appliance", "text"), ("started", "text"), ("last_seen", "text"), ("stopped", "text"),
        ("state", "text"), ("pid", "int"), ("data", "json"),
    ],
    # calls in progress, written at each flush and deleted in their CDR's transaction: what a killed
    # process leaves here is closed as interrupted at the next start
    "open_calls": [
        ("id", "key"), ("appliance", "text"), ("run", "int"), ("call_id", "text"), ("start_time", "text"),
        ("start_s", "real"), ("caller", "text"), ("called", "text"), ("channels", "text"), ("direction", "text"),
    ],
    "fax_log": [
        ("id", "key"), ("appliance", "text"), ("call_id", "text"), ("created", "text"), ("direction", "text"),
        ("caller", "text"), ("called", "text"), ("ok", "int"), ("pages", "int"), ("remote_ident", "text"),
        ("path", "text"), ("data", "json"),
    ],
    "voicemail_index": [
        ("id", "key"), ("appliance", "text"), ("mailbox", "text"), ("message_id", "text"), ("call_id", "text"),
        ("caller", "text"), ("created", "text"), ("seconds", "real"), ("folder", "text"), ("heard", "int"),
        ("path", "text"), ("data", "json"),
    ],
    # the agent desktop's customer records, one per caller number (pycallcenter.storage.customers)
    "customers": [
        ("id", "key"), ("appliance", "text"), ("number", "text"), ("name", "text"), ("notes", "text"),
        ("data", "json"), ("updated", "text"), ("updated_by", "text"),
    ],
    # quality checks of recorded calls by supervisors: per criterion scores and the weighted total (0..100)
    "quality": [
        ("id", "key"), ("appliance", "text"), ("run", "int"), ("call_id", "text"), ("recording", "int"),
        ("agent", "text"), ("supervisor", "text"), ("created", "text"), ("scores", "json"), ("total", "real"),
        ("fatal", "int"), ("comments", "text"),
    ],
    # post-call survey answers (apps/survey.py): the caller's 1..5 rating of the agent's call
    "survey": [
        ("id", "key"), ("appliance", "text"), ("run", "int"), ("call_id", "text"), ("created", "text"),
        ("caller", "text"), ("queue", "text"), ("agent", "text"), ("score", "int"),
    ],
    # one row per appliance, replaced every second or so by `pycallcenter run`: what the CTI server and
    # the wallboard read for live figures when they are not on the same box
    "live_status": [
        ("appliance", "pkey"), ("updated", "text"), ("status", "json"),
    ],
}

INDEXES = [
    ("cdr", ("start_s",)), ("cdr", ("call_id",)), ("queue_log", ("time",)), ("queue_log", ("call_id",)),
    ("recordings", ("call_id",)), ("open_calls", ("run", "call_id")), ("fax_log", ("call_id",)), ("voicemail_index", ("mailbox",)),
    ("customers", ("number",)), ("cdr", ("caller",)), ("quality", ("agent", "created")),
    ("survey", ("created",)),
]

_TYPES = {
    "sqlite": {"key": "INTEGER PRIMARY KEY AUTOINCREMENT", "pkey": "TEXT PRIMARY KEY", "text": "TEXT",
               "real": "REAL", "int": "INTEGER", "json": "TEXT"},
    "postgres": {"key": "BIGSERIAL PRIMARY KEY", "pkey": "TEXT PRIMARY KEY", "text": "TEXT",
                 "real": "DOUBLE PRECISION", "int": "BIGINT", "json": "TEXT"},
}


def ddl(dialect):
    """Return the CREATE TABLE / CREATE INDEX statements for a dialect ('sqlite' or 'postgres')."""
    types = _TYPES[dialect]
    out = []
    for table, cols in TABLES.items():
        body = ", ".join(f"{name} {types[kind]}" for name, kind in cols)
        out.append(f"CREATE TABLE IF NOT EXISTS {table} ({body})")
    for table, cols in INDEXES:
        out.append(f"CREATE INDEX IF NOT EXISTS {table}_{'_'.join(cols)} ON {table} ({', '.join(cols)})")
    return out


def migrations(dialect, existing):
    """Return the ALTER TABLE statements that add the columns a database made by an older schema lacks;
    existing is {table: set of its column names} (tables not in it are new and already complete)."""
    types = _TYPES[dialect]
    out = []
    for table, cols in TABLES.items():
        have = existing.get(table)
        if have is None:
            continue
        for name, kind in cols:
            if name not in have:
                out.append(f"ALTER TABLE {table} ADD COLUMN {name} {types[kind]}")
    return out


def columns(table):
    """Return the names of a table's columns, without the auto id; ValueError for an unknown table."""
    if table not in TABLES:
        raise ValueError(f"unknown table {table!r}; tables: {', '.join(TABLES)}")
    return [name for name, kind in TABLES[table] if kind != "key"]


def json_columns(table):
    """Return the set of a table's JSON columns."""
    return {name for name, kind in TABLES[table] if kind == "json"}
