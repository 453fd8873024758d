"""`pycallcenter run CONFIG`: run the centre in real time on the configured board until SIGINT/SIGTERM.

CONFIG is one TOML file: the board ([board], [[span]], [[channels]], [emulator]) and the centre's tables
([centre], [[route]], [[queue]], [[agent]], [recording], ... : docs/operations.md lists every key). The
centre is built by pycallcenter.apps.centre, the same composition root the demo uses. Every
status_every seconds the live status goes to DATA/status.json (read by `pycallcenter status`) and to
the database's live_status table; CDRs and queue-log rows are committed as calls end.

With --simulate, simulated callers (the [simulate] table: calls per hour, menu keys, patience, talk
time) call in on the emulator's network cable and simulated agents answer the emulated phones, so the
operator can watch their own IVR and queues under load before going live.
"""
import math
import os
import signal

from pycallcenter.apps.centre import Centre, file_mask
from pycallcenter.apps.settings import load_settings, sip_target
from pycallcenter.errors import ConfigError

# Imports inside functions are deliberate: the CLI imports every command module; each loads its work when run.

# `run --simulate` draws every caller of the run at start: a day of the busiest centre the keys allow (100,000
# calls an hour) is 2.4 million; --seconds inf (or a century) hung there.
MAX_SIMULATED_CALLERS = 10_000_000


def register(subparsers):
    """Add the run command to the CLI."""
    p = subparsers.add_parser("run", help="run the call centre in real time on the configured board")
    p.add_argument("config", help="the centre's TOML file (board and centre tables; docs/operations.md)")
    p.add_argument("--board", default="emulator", help="backend (default emulator)")
    p.add_argument("--data", help="data folder (default: [centre] data, else ./data)")
    p.add_argument("--db", help="database: SQLite path/folder or PostgreSQL DSN (default: the data folder)")
    p.add_argument("--metrics-port", type=int, help="serve Prometheus metrics on this port (0 = any free port)")
    p.add_argument("--seconds", type=float, help="stop after this much board time (default: until a signal)")
    p.add_argument("--fast", action="store_true", help="do not pace ticks in real time (tests, simulations)")
    p.add_argument("--simulate", action="store_true",
                   help="simulated callers and agents on the emulator's far ends ([simulate] table)")
    p.add_argument("--calls-per-hour", type=float, help="with --simulate: override [simulate] calls_per_hour")
    p.add_argument("--cti-port", type=int, help="serve the pages and CTI on this port instead of [centre] cti_port "
                                                "(0 = any free port; the address is printed)")
    p.add_argument("--browser-phone", metavar="AGENT", action="append", default=[],
                   help="the agent's phone is their browser phone in the desktop ([webrtc] turned on; needs the "
                        "webrtc extra): they hear the caller in the page (repeatable)")
    p.add_argument("--check", action="store_true", help="check the configuration, build the centre, and exit")
    p.set_defaults(func=run)


def run(args):
    """Run the centre until SIGINT/SIGTERM (or --seconds); return 0 after a clean stop."""
    if args.metrics_port is not None and not 0 <= args.metrics_port <= 65535:
        raise ConfigError(f"--metrics-port must be from 0 to 65535, got {args.metrics_port}")
    if args.seconds is not None and not 0 < args.seconds < math.inf:  # -1 and NaN stopped at once, inf hung
        raise ConfigError(f"--seconds must be a number of seconds above 0, got {args.seconds}")
    board_text, settings = load_settings(args.config)
    if args.calls_per_hour is not None:
        if not 0 <= args.calls_per_hour <= 100000:  # as [simulate] calls_per_hour: 1e9 hung making callers
            raise ConfigError(f"--calls-per-hour must be from 0 to 100000, got {args.calls_per_hour}")
        settings.simulate.calls_per_hour = args.calls_per_hour
    if args.cti_port is not None:
        if not 0 <= args.cti_port <= 65535:
            raise ConfigError(f"--cti-port must be from 0 to 65535, got {args.cti_port}")
        if settings.centre.cti_port is None:
            raise ConfigError("--cti-port: the centre serves no pages ([centre] cti_port and cti_users are not set)",
                              path=args.config)
        settings.centre.cti_port = args.cti_port
    _browser_phones(args, settings)
    with file_mask(settings.centre.umask):  # before anything is written: recordings and CDRs are personal data
        return _run(args, settings, board_text)


def _link_recovered(centre, paths):
    """Give the recordings finished after a crash their rows and their INTERRUPTED CDRs; return how many."""
    import soundfile as sf

    from pycallcenter.storage.cdr import recording_call
    from pycallcenter.storage.runs import link_recordings

    found = []
    for path in paths:
        try:
            seconds = sf.info(path).duration
        except (RuntimeError, OSError):  # an unreadable leftover (cut before its header): linked, length unknown
            seconds = None
        found.append((path, *recording_call(path), seconds))
    return len(link_recordings(centre.store, centre.recovered, found))


def _browser_phones(args, settings):
    """Bind each --browser-phone agent to their browser phone and turn [webrtc] on (ConfigError naming a wrong one)."""
    agents = {a.name: a for a in settings.agent}
    for name in args.browser_phone:
        if name not in agents:
            raise ConfigError(f"--browser-phone: no agent named {name!r}", path=args.config)
        if settings.centre.cti_port is None:
            raise ConfigError("--browser-phone: browser phones register through the CTI server ([centre] cti_port)",
                              path=args.config)
        agents[name].phone = f"webrtc:{name}"
        agents[name].contact = sip_target(agents[name].phone)
        settings.webrtc.enabled = True


def _run(args, settings, board_text):
    """Build and run the centre (see run())."""
    from pycallcenter.metrics import serve

    c = Centre(board_text, settings, data=args.data, db=args.db, backend=args.board)
    for r in c.recovered:  # an earlier run died: say what its recovery closed
        print(f"recovered run {r['run']} (it did not stop cleanly): {len(r['calls'])} call(s) closed as interrupted, "
              f"{len(r['agents'])} agent(s) logged out", flush=True)
    if c.recovered and os.path.isdir(c.engine.recordings_dir):
        # the dead run's recorders left *.part.wav files (header rewritten each second, so readable): give
        # them their names and format, as a clean stop would have, before any recorder of this run starts
        from pycallcenter.engine.recording import recover

        done = recover(c.engine.recordings_dir, fmt=settings.recording.format)
        if done:
            linked = _link_recovered(c, done)
            print(f"finished {len(done)} recording(s) the dead run left in progress, {linked} linked to their "
                  "interrupted call", flush=True)
    if args.check:
        c.close(publish=False)
        print(f"{args.config}: OK ({len(c.board.spans)} span(s), {len(settings.queue)} queue(s), "
              f"{len(settings.agent)} agent(s), {len(settings.route)} route(s))")
        return 0
    sim = None
    if args.simulate:
        from pycallcenter.apps.simulation import Simulation

        hours = 8.0 if args.seconds is None else args.seconds / 3600.0
        if settings.simulate.calls_per_hour * hours > MAX_SIMULATED_CALLERS:
            c.close(publish=False)
            raise ConfigError(f"--seconds {args.seconds:g} at {settings.simulate.calls_per_hour:g} calls an hour makes "
                              f"more than {MAX_SIMULATED_CALLERS:,} simulated callers, all made at start; run "
                              "shorter pieces")
        sim = Simulation(c, hours=hours)
    c.publish("starting")
    port = args.metrics_port if args.metrics_port is not None else settings.centre.metrics_port
    server = None
    if port is not None:
        addr = settings.centre.metrics_addr
        try:
            server, _ = serve(lambda: c.latest["snap"], int(port), addr=addr)
        except OSError as exc:
            c.close(publish=False)
            raise ConfigError(f"metrics port {addr}:{port}: {exc.strerror or exc}") from None
        print(f"metrics on http://{addr}:{server.server_port}/metrics", flush=True)
    stop, reload = [], []
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.append(1))
    signal.signal(signal.SIGHUP, lambda *_: reload.append(1))  # `pycallcenter reload`, or kill -HUP
    tick = sim.tick if sim else c.tick

    def step():
        if reload:
            reload.clear()
            _reload(c)
        tick()

    if c.cti is not None:
        _print_pages(c, settings, sim)
    print(f"running: {len(c.board.spans)} span(s), data in {c.data}, status in {c.status_path}"
          + (f", {sim.offered} simulated callers" if sim else ""), flush=True)
    try:
        n = c.loop(args.seconds, fast=args.fast, stop=stop, on_tick=step)
    finally:
        c.close()
        if server is not None:
            server.shutdown()
    print(f"stopped after {n * c.tick_seconds:.1f} s board time; {c.writer.written} CDR(s) written", flush=True)
    for line in c.left_behind:
        print(f"left behind after the calls were cleared: {line}", flush=True)
    return 0


def _print_pages(centre, settings, sim):
    """Print where a person opens the pages, who may log in, and which agents are left to people."""
    url = f"{centre.cti.scheme}://{settings.centre.cti_addr}:{centre.cti.port}"
    print(f"CTI and wallboard on {url}/ (agent desktop {url}/agent, supervisor console {url}/console, "
          f"wallboard {url}/wallboard)", flush=True)
    capped = centre.cti.capacity < centre.cti.limits.max_conns
    print(f"  up to {centre.cti.capacity} connections at once"
          + (" (fewer than cti_max_connections: the open-file limit is too low)" if capped else ""), flush=True)
    if settings.centre.cti_tls == "self-signed" and not settings.centre.cti_cert and centre.cti.scheme == "https":
        print("  the certificate is self-signed (made in the data folder): the browser asks once to accept it",
              flush=True)
    users = centre.cti.accounts.users.values()
    for role in ("agent", "supervisor"):
        names = [u.name for u in users if u.role == role]
        if names:
            print(f"  {role} accounts ({settings.centre.cti_users}): {', '.join(names)}", flush=True)
    phones = [a.name for a in settings.agent if a.phone and a.phone.startswith("webrtc:")]
    if phones:
        print(f"  browser phones (register in the desktop, then calls ring in the page): {', '.join(phones)}",
              flush=True)
    if sim is not None and settings.simulate.people:
        print(f"  left to people at the desktop (log in, press Ready, Answer): {', '.join(settings.simulate.people)}",
              flush=True)


def _reload(centre):
    """Apply the configuration file's live changes; say what changed and what needs a restart."""
    try:
        changes, restart = centre.reload()
    except ConfigError as exc:
        print(f"reload refused, nothing changed: {exc}", flush=True)
        return
    for line in changes:
        print(f"reload: {line}", flush=True)
    if restart:
        print(f"reload: these need a restart and still run as before: {'; '.join(restart)}", flush=True)
    if not changes and not restart:
        print("reload: no changes", flush=True)
