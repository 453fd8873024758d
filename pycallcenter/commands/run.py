"""`pycallcenter run CONFIG`: run the centre in real time on the configured board until SIGINT/SIGTERM.

CONFIG is the board TOML plus an optional ``[centre]`` table (data folder, database, scripts, prompts,
metrics port, appliance name). Every second the live status is written to DATA/status.json (read by
`pycallcenter status`) and to the database's live_status table (read by CTI/wallboards elsewhere);
CDRs and queue-log rows are committed as calls end.
"""
import json
import os
import re
import signal
import socket
import time
import tomllib

from pycallcenter.errors import ConfigError

CENTRE_KEYS = {"acd", "data", "database", "scripts", "default_script", "prompts", "metrics_port", "metrics_addr",
               "appliance", "tone_plan", "pri_network", "log_file", "status_every", "station_features", "cti_port",
               "cti_addr", "cti_users"}
_HEADER = re.compile(r"^\s*\[\[?\s*([A-Za-z0-9_.\-\"]+)\s*\]\]?")


def split_config(text):
    """Return (board TOML text, centre dict): the [centre] table is cut out (its lines blanked, so the
    board parser's line numbers stay right)."""
    board, centre, inside = [], [], False
    for line in text.splitlines():
        m = _HEADER.match(line)
        if m:
            inside = m.group(1).split(".")[0].strip('"') == "centre"
        (centre if inside else board).append(line)
        if inside:
            board.append("")
    try:
        table = tomllib.loads("\n".join(centre)).get("centre", {})
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"[centre]: {exc}") from exc
    unknown = set(table) - CENTRE_KEYS
    if unknown:
        raise ConfigError(f"unknown key(s) {', '.join(sorted(unknown))} in [centre]; allowed: {', '.join(sorted(CENTRE_KEYS))}")
    return "\n".join(board) + "\n", table


def register(subparsers):
    """Add the run command to the CLI."""
    p = subparsers.add_parser("run", help="run the call centre in real time on the configured board")
    p.add_argument("config", help="board TOML with a [centre] section")
    p.add_argument("--board", default="emulator", help="backend (default emulator)")
    p.add_argument("--data", help="data folder (default: [centre] data, else ./data)")
    p.add_argument("--db", help="database: SQLite path/folder or PostgreSQL DSN (default: the data folder)")
    p.add_argument("--metrics-port", type=int, help="serve Prometheus metrics on this port (0 = any free port)")
    p.add_argument("--seconds", type=float, help="stop after this much board time (default: until a signal)")
    p.add_argument("--fast", action="store_true", help="do not pace ticks in real time (emulator tests)")
    p.set_defaults(func=run)


def _router(scripts, default):
    def route(leg):
        if scripts is None:
            return None
        for name in (leg.called, default):
            if name and name in scripts.scripts:
                return scripts.scripts[name]
        return None
    return route


def _write_json(path, data):
    tmp = f"{path}.tmp"
    with open(tmp, "w") as f:
        json.dump(data, f, indent=1, sort_keys=True, default=str)
    os.replace(tmp, path)  # readers never see half a file


class Centre:
    """A built centre: board, engine, store, CDR writer, tick stats; ``publish()`` writes the status."""

    def __init__(self, config, data=None, db=None, backend="emulator"):
        from pycallcenter.drivers import open_board, parse_config
        from pycallcenter.dsp import SAMPLE_RATE, toneplans
        from pycallcenter.engine.engine import Engine
        from pycallcenter.metrics import TickStats
        from pycallcenter.storage import is_dsn, open_store
        from pycallcenter.storage.cdr import CdrWriter

        self.config = os.path.abspath(config)
        with open(config) as f:
            board_text, centre = split_config(f.read())
        self.centre = centre
        base = os.path.dirname(self.config)

        def place(p):
            return p if p is None or os.path.isabs(p) else os.path.join(base, p)

        self.data = os.path.abspath(data) if data else place(centre.get("data", "data"))
        os.makedirs(self.data, exist_ok=True)
        cfg = parse_config(board_text, path=config)
        # the loop paces the emulator itself (see loop()), whatever its [emulator] realtime says
        options = {"realtime": False} if backend == "emulator" else {}
        self.board = board = open_board(cfg, backend=backend, **options)
        plan = centre.get("tone_plan") or cfg.default_tonezone
        plan = plan if plan in toneplans.PLANS or plan in toneplans.PLAN_ALIASES else "us"
        self.engine = eng = Engine(board, tone_plan=plan, keep_log=False, log_file=place(centre.get("log_file")))
        eng.recordings_dir = os.path.join(self.data, "recordings")
        eng.auto_trunks(pri_network=bool(centre.get("pri_network", False)))
        scripts = None
        if centre.get("scripts"):
            from pycallcenter.ivr.loader import ScriptSet

            scripts = ScriptSet(place(centre["scripts"]))
            eng.scripts = scripts
        if centre.get("prompts"):
            from pycallcenter.engine.prompts import PromptLibrary

            eng.prompts = PromptLibrary([place(centre["prompts"])], cache_dir=os.path.join(self.data, "prompt-cache"))
        eng.router = _router(scripts, centre.get("default_script", "main"))
        self.acd = self.binding = None
        if centre.get("acd"):  # queues and agents (pycallcenter.acd.config TOML); scripts use queue_call()
            from pycallcenter.acd.config import build_on_engine, load_config

            self.binding = build_on_engine(eng, load_config(place(centre["acd"])))
            self.acd = self.binding.acd
        if centre.get("station_features", True):  # hook flash transfer/consult and call waiting on extensions
            from pycallcenter.engine.station import StationFeatures

            StationFeatures(eng)
        self.cti = None
        if centre.get("cti_port") is not None:  # agent desktop API and wallboard: need the ACD and users
            if self.binding is None or not centre.get("cti_users"):
                raise ConfigError("cti_port needs acd = ... and cti_users = ... in [centre]", path=config)
            from pycallcenter.cti import serve
            from pycallcenter.cti.config import load_users

            tokens, contacts = load_users(place(centre["cti_users"]))
            self.cti = serve(self.binding, tokens, host=centre.get("cti_addr", "127.0.0.1"),
                             port=int(centre["cti_port"]), contacts=contacts)
        database = centre.get("database")
        if database and not is_dsn(database):
            database = place(database)
        self.store = open_store(db or database or self.data,
                                appliance=centre.get("appliance") or socket.gethostname())
        # after the ACD binding: the binding logs a call's queue events before its CDR is written
        self.writer = CdrWriter(self.store, eng, acd=self.acd)
        # the bundled IVR scripts read their settings (data paths, hours) from engine.centre
        from pycallcenter.apps.centre_config import CentreConfig
        from pycallcenter.storage.adapters import voicemail_indexer

        self.settings = CentreConfig(data_dir=self.data).attach(eng)
        self.settings.voicemail().on_message = voicemail_indexer(self.store)
        self.tick_seconds = board.blocksize / SAMPLE_RATE
        self.ticks = TickStats(self.tick_seconds)
        self.status_path = os.path.join(self.data, "status.json")
        self.latest = {}

    def publish(self, state="running"):
        """Write the status file and live_status row, flush pending queue-log rows; return the snapshot."""
        from pycallcenter.metrics import snapshot

        eng = self.engine
        # taken on the engine thread: the metrics thread only ever reads this finished dict
        snap = snapshot(eng, self.acd, ticks=self.ticks, cdrs_written=self.writer.written)
        snap.update(state=state, pid=os.getpid(), appliance=self.store.appliance, updated=time.time(),
                    config=self.config, database=getattr(self.store, "path", "postgresql"))
        self.writer.flush()
        snap["store"] = {"backlog": self.writer.backlog, "failures": self.writer.failures,
                         "last_error": self.writer.last_error}
        self.latest["snap"] = snap
        _write_json(self.status_path, snap)
        try:
            self.store.put_status(snap, updated=self.writer.clock.iso(snap["board_seconds"]))
        except Exception as exc:  # noqa: BLE001 - the status row is best effort; the file has it
            self.engine.log("store_error", error=type(exc).__name__, what="live_status")
        return snap

    def loop(self, seconds=None, fast=False, stop=(), every=None):
        """Tick (paced in real time unless fast) until stop is non-empty or seconds of board time pass;
        publish the status every `every` seconds. Return the ticks run."""
        every = float(every or self.centre.get("status_every", 1.0))
        tick_s = self.tick_seconds
        wall0, next_status, n = time.monotonic(), 0.0, 0
        limit = None if seconds is None else int(round(seconds / tick_s))
        while not stop and (limit is None or n < limit):
            self.ticks.timed_tick(self.engine)
            n += 1
            if not fast:
                # pace the emulator ourselves so tick time measures work, not waiting for the clock
                ahead = wall0 + n * tick_s - time.monotonic()
                if ahead > 0:
                    time.sleep(ahead)
            if n * tick_s >= next_status:
                self.publish()
                next_status += every
        return n

    def close(self, grace=5.0):
        """Hang up every call and tick (up to grace seconds) until they have cleared, so calls cut short
        by the stop get their CDRs too; then publish the final 'stopped' status and close the store."""
        eng = self.engine
        for leg in list(eng.legs.values()):
            leg.hangup()
        eng.run(seconds=grace, until=lambda: not eng.calls)
        eng.close()
        if self.cti is not None:
            self.cti.stop()
        self.publish("stopped")
        self.store.close()


def run(args):
    """Run the centre until SIGINT/SIGTERM (or --seconds); return 0 after a clean stop."""
    from pycallcenter.metrics import serve

    c = Centre(args.config, data=args.data, db=args.db, backend=args.board)
    c.publish("starting")
    port = args.metrics_port if args.metrics_port is not None else c.centre.get("metrics_port")
    server = None
    if port is not None:
        addr = c.centre.get("metrics_addr", "127.0.0.1")
        server, _ = serve(lambda: c.latest["snap"], int(port), addr=addr)
        print(f"metrics on http://{addr}:{server.server_port}/metrics", flush=True)
    stop = []
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.append(1))
    if c.cti is not None:
        print(f"CTI and wallboard on http://{c.centre.get('cti_addr', '127.0.0.1')}:{c.cti.port}/", flush=True)
    print(f"running: {len(c.board.spans)} span(s), data in {c.data}, status in {c.status_path}", flush=True)
    try:
        n = c.loop(args.seconds, fast=args.fast, stop=stop)
    finally:
        c.close()
        if server is not None:
            server.shutdown()
    print(f"stopped after {n * c.tick_seconds:.1f} s board time; {c.writer.written} CDR(s) written", flush=True)
    return 0
