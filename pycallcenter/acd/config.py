"""ACD configuration: queues and agents from a dict or a TOML file, built into an Acd (and onto an Engine).

TOML form (the dict form has the same keys under "queue"/"agent" lists)::

    [[queue]]
    name = "sales"
    strategy = "longest_idle"     # see pycallcenter.acd.strategies
    wrapup = 5                    # seconds of after-call work; "manual" = until the agent ends it
    ring_timeout = 15
    max_wait = 300
    overflow = "queue:support"    # or "voicemail", "callback"
    announce_every = 30
    hours = "08:00-18:00"         # time-of-day routing; closed_target = "voicemail"

    [service_level]               # one definition for the wallboard, metrics and reports
    seconds = 20                  # answered within (a queue may set its own sl_seconds)
    mode = "offered"              # offered | answered | exclude_short
    short_abandon = 5             # abandons sooner than this are short (a queue may set its own)

    [[agent]]
    name = "alice"
    contact = "channel/32"        # FXS port, or "trunk/number" for a remote agent
    skills = { english = 8 }
    queues = { sales = 0 }        # queue -> penalty (tier)
    login = true
"""
import tomllib

from pycallcenter.acd.core import Acd, Queue
from pycallcenter.acd.stats import ServiceLevel
from pycallcenter.errors import ConfigError

_QUEUE_KEYS = {f for f in Queue.__dataclass_fields__ if f not in (
    "waiting", "calls", "available", "order", "rr_last", "served", "talked", "recent_handle", "today")}
_AGENT_KEYS = {"name", "contact", "skills", "queues", "login", "ready"}


def load_config(path):
    """Return the ACD config dict read from a TOML file."""
    try:
        with open(path, "rb") as f:
            return tomllib.load(f)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(str(exc), path=path) from None


def _hours(text):
    try:
        a, b = text.split("-")
        return tuple(int(h) * 3600 + int(m) * 60 for h, m in (a.split(":"), b.split(":")))
    except ValueError:
        raise ConfigError(f"hours must look like '08:00-18:00', got {text!r}") from None


def build_acd(config, now=0.0, seed=1):
    """Return an Acd with the config's queues and agents (agents with login=true logged in at now)."""
    level = None
    if "service_level" in config:
        try:
            level = ServiceLevel.from_config(config["service_level"])
        except ValueError as exc:
            raise ConfigError(str(exc)) from None
    acd = Acd(seed, service_level=level)
    for q in config.get("queue", config.get("queues", [])):
        bad = set(q) - _QUEUE_KEYS
        if bad or "name" not in q:
            raise ConfigError(f"queue {q.get('name', '?')}: unknown keys {sorted(bad)}" if bad else "queue without name")
        opts = dict(q)
        name = opts.pop("name")
        if opts.get("wrapup") == "manual":
            opts["wrapup"] = None
        if isinstance(opts.get("hours"), str):
            opts["hours"] = _hours(opts["hours"])
        try:
            acd.add_queue(name, **opts)
        except Exception as exc:
            raise ConfigError(f"queue {name}: {exc}") from None
    for a in config.get("agent", config.get("agents", [])):
        bad = set(a) - _AGENT_KEYS
        if bad or "name" not in a:
            raise ConfigError(f"agent {a.get('name', '?')}: unknown keys {sorted(bad)}" if bad else "agent without name")
        try:
            acd.add_agent(a["name"], a.get("contact", ""), a.get("skills"), a.get("queues"))
        except Exception as exc:
            raise ConfigError(f"agent {a['name']}: {exc}") from None
        if a.get("login", True):
            acd.login(a["name"], now, ready=a.get("ready", True))
    return acd


def build_on_engine(engine, config, seed=1, **binding_options):
    """Build the ACD from config and bind it to an Engine; return the AcdBinding (its .acd is the core)."""
    from pycallcenter.acd.engine_binding import AcdBinding

    acd = build_acd(config, now=engine.now / 8000.0, seed=seed)
    return AcdBinding(engine, acd, **binding_options)
