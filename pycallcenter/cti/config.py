"""CTI users from a TOML file, the server's limits, and who may dial what.

The users file (``[centre] cti_users``)::

    [[user]]
    name = "agent1"                 # for agents: the ACD agent name
    role = "agent"                  # or "supervisor"
    password_hash = "scrypt$16384$8$1$..."   # `pycallcenter cti passwd agent1` prints one

    [[user]]
    name = "sue"
    role = "supervisor"
    password_hash = "scrypt$..."
    contact = "channel/40"          # the supervisor's phone, rung for listen/whisper/barge

The older format (``[[agent]]`` / ``[[supervisor]]`` tables with a ``token``) still loads: its tokens
are API tokens for scripts (the ``auth`` command's ``token``); browsers log in with a password.
"""
import re
import tomllib
from dataclasses import dataclass, field

from pycallcenter.apps.routing import number_matches
from pycallcenter.apps.settings import QualitySection
from pycallcenter.cti import protocol as P
from pycallcenter.cti.auth import ROLES, Accounts, User, parse_hash
from pycallcenter.tls import is_loopback, self_signed, server_context
from pycallcenter.cti.wallboard import Thresholds
from pycallcenter.drivers.config import read_config_text
from pycallcenter.errors import ConfigError


@dataclass
class Limits:
    """What one client may cost the server (docs/cti.md, "Limits")."""

    max_message: int = P.MAX_MESSAGE  # characters of one WebSocket message or JSON line
    max_conns: int = 1024  # open connections in total (500 agent desktops and a few wallboards fit)
    max_per_source: int = 32  # open connections from one address
    unauth_timeout: float = 10.0  # seconds a connection may stay without authenticating
    session_idle: float = 1800.0  # a browser session ends after this long unused
    session_max: float = 43200.0  # and this long after login, used or not
    auth_backoff: float = 0.5  # seconds after a failed login, doubling with each failure
    auth_backoff_max: float = 30.0
    lockout_after: int = 10  # failed logins in a row from one address that lock it out
    lockout: float = 300.0  # seconds the lockout lasts
    rate: float = 20.0  # messages a second per connection
    burst: int = 40


_DIALLABLE = re.compile(r"\+?[0-9]{1,32}")


@dataclass
class DialPolicy:
    """Which numbers agents may dial (click-to-dial, consult, conference to outside numbers).

    allow: number patterns ('_0X.', '5551234'; see pycallcenter.apps.routing) every agent may dial;
    empty allows every number not blocked. per_agent: agent -> its own allow patterns (replacing allow).
    International numbers (international_prefix or '+') and premium prefixes are refused unless
    international is true; premium numbers always are; so is anything but digits (an optional leading +).
    """

    allow: list = field(default_factory=list)
    per_agent: dict = field(default_factory=dict)
    international: bool = False
    international_prefix: str = "00"
    premium: list = field(default_factory=lambda: ["0900", "1900"])

    def check(self, agent, number):
        """Return None when agent may dial number, else the reason it may not."""
        # Only plain digits reach a trunk: a board's dial string reads a leading T or P and 'w' pauses
        # (DAHDI_DIAL), so 'w0900...' or 'P00...' dialled a blocked number that no prefix below matched.
        if not _DIALLABLE.fullmatch(number):
            return f"{number!r} is not a telephone number (up to 32 digits, with an optional leading +)"
        if any(number.startswith(p) for p in self.premium):
            return "premium-rate numbers are blocked"
        if not self.international and (number.startswith("+") or number.startswith(self.international_prefix)):
            return "international numbers are blocked"
        patterns = self.per_agent.get(agent, self.allow)
        if patterns and not any(number_matches(p, number) for p in patterns):
            return f"{number} is not in {agent}'s dial allow-list"
        return None


_CONTACT = re.compile(r"channel/\d+|[A-Za-z0-9_\-]+/[0-9*#+]+|(?:sip|webrtc)/[A-Za-z0-9_.\-]+")


def _check_contact(contact, where, path):
    """A supervisor's phone is an engine target: 'channel/N', 'TRUNK/NUMBER', 'sip/USER' or 'webrtc/NAME'."""
    if contact is not None and not (isinstance(contact, str) and _CONTACT.fullmatch(contact)):
        raise ConfigError(f"{where}: contact must be 'channel/N', 'TRUNK/NUMBER', 'sip/USER' or 'webrtc/NAME', "
                          f"got {contact!r}",
                          path=path)


def load_users(path):
    """Return the :class:`~pycallcenter.cti.auth.Accounts` of a users TOML file."""
    try:
        data = tomllib.loads(read_config_text(path))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(str(exc), path=path) from None
    except OSError as exc:
        raise ConfigError(exc.strerror or str(exc), path=path) from None
    return users_from_dict(data, path)


def users_from_dict(data, path=None):
    """Return the Accounts of the parsed users table ([[user]], or the older [[agent]]/[[supervisor]] tokens)."""
    unknown = set(data) - {"user", "agent", "supervisor"}
    if unknown:
        raise ConfigError(f"unknown table(s) {sorted(unknown)}; use [[user]]", path=path)
    users, tokens = [], {}
    for i, u in enumerate(data.get("user", [])):
        where = f"[[user]] {i + 1}"
        extra = set(u) - {"name", "role", "password_hash", "contact"}
        if extra:
            raise ConfigError(f"{where}: unknown key(s) {sorted(extra)}", path=path)
        name, role, h = u.get("name"), u.get("role"), u.get("password_hash")
        if not isinstance(name, str) or not name:
            raise ConfigError(f"{where}: needs a name", path=path)
        if role not in ROLES:
            raise ConfigError(f"{where} ({name}): role must be 'agent' or 'supervisor'", path=path)
        try:
            parse_hash(h if isinstance(h, str) else "")
        except ValueError as exc:
            raise ConfigError(f"{where} ({name}): password_hash: {exc}", path=path) from None
        if any(x.name == name for x in users):
            raise ConfigError(f"{where}: user {name!r} is defined twice", path=path)
        _check_contact(u.get("contact"), f"{where} ({name})", path)
        users.append(User(name, role, h, u.get("contact")))
    for role in ROLES:
        for user in data.get(role, []):
            name, token = user.get("name"), user.get("token")
            if not isinstance(name, str) or not isinstance(token, str) or len(token) < 8:
                raise ConfigError(f"each [[{role}]] needs a name and a token of 8 characters or more", path=path)
            if token in tokens:
                raise ConfigError(f"token of {name} is used twice", path=path)
            extra = set(user) - {"name", "token", "contact"}
            if extra:
                raise ConfigError(f"[[{role}]] {name}: unknown key(s) {sorted(extra)}", path=path)
            tokens[token] = {"role": role, "name": name}
            _check_contact(user.get("contact"), f"[[{role}]] {name}", path)
            if "contact" in user:
                users.append(User(name, role, None, user["contact"]))
    return Accounts(users, tokens)


@dataclass
class DeskConfig:
    """What the desktop and the console offer: not-ready reasons, disposition codes and the quality form's
    criteria (objects with name, weight, fatal: [desktop] and [[quality.criterion]])."""

    reasons: tuple = ("break", "lunch", "meeting", "training")
    dispositions: tuple = ("sale", "no_sale", "information", "complaint", "callback")
    criteria: tuple = field(default_factory=lambda: tuple(QualitySection().criterion))  # [quality]'s defaults


def desk_config(settings):
    """Return the DeskConfig of a centre's Settings ([desktop] and [[quality.criterion]])."""
    return DeskConfig(tuple(settings.desktop.reasons), tuple(settings.desktop.dispositions),
                      tuple(settings.quality.criterion))


def _server_tls(settings, data):
    """Return the CTI server's SSLContext from [centre] (None: plain HTTP); ConfigError when the certificate does
    not load or a non-loopback address would serve plain HTTP. data None: only check (no certificate is made)."""
    c = settings.centre
    if c.cti_cert:
        return server_context(settings.place(c.cti_cert), settings.place(c.cti_key))
    if c.cti_tls == "self-signed":
        return None if data is None else server_context(*self_signed(data, c.cti_addr))
    if not is_loopback(c.cti_addr):
        raise ConfigError(f"centre.cti_addr: {c.cti_addr} is reachable from other hosts; passwords and cookies "
                          "need TLS there: set cti_cert and cti_key, or cti_tls = \"self-signed\"", path=settings.file)
    return None


def check_tls(settings):
    """Raise ConfigError when the CTI server could not start as [centre] says (`config check` runs this, so a
    file it passes is not refused by `run`); return None."""
    _server_tls(settings, None)


def options(settings, data):
    """Return serve()'s keyword arguments from a centre's Settings (its [centre] cti_* keys, hot_desking,
    [dial], [[agent]] dial and [wallboard]); data is the centre's data folder (the self-signed certificate)."""
    c = settings.centre
    ssl = _server_tls(settings, data)
    limits = Limits(max_conns=c.cti_max_connections, max_per_source=c.cti_max_per_source,
                    unauth_timeout=c.cti_unauth_timeout, session_idle=c.cti_session_idle,
                    session_max=c.cti_session_max, lockout_after=c.cti_lockout_after, lockout=c.cti_lockout)
    d = settings.dial
    dial = DialPolicy(allow=list(d.allow), international=d.international, international_prefix=d.international_prefix,
                      premium=list(d.premium),
                      per_agent={a.name: list(a.dial) for a in settings.agent if a.dial is not None})
    w = settings.wallboard
    return {"desk": desk_config(settings), "tcp_port": c.cti_lines_port, "limits": limits, "ssl": ssl, "hosts": tuple(c.cti_hosts), "dial": dial, "hot_desking": c.hot_desking,
            "thresholds": Thresholds(w.service_level, w.abandon, w.waiting, w.longest_wait)}


def set_password(text, name, password_hash, role="agent"):
    """Return the users file text with NAME's password_hash set (a new [[user]] appended when NAME has none)."""
    blocks = re.split(r"(?m)^(?=\[\[)", text)
    for i, block in enumerate(blocks):
        if block.startswith("[[user]]") and re.search(rf'(?m)^\s*name\s*=\s*"{re.escape(name)}"\s*$', block):
            line = f'password_hash = "{password_hash}"'
            if re.search(r"(?m)^\s*password_hash\s*=.*$", block):
                blocks[i] = re.sub(r"(?m)^\s*password_hash\s*=.*$", lambda m: line, block, count=1)
            else:
                blocks[i] = block.rstrip("\n") + "\n" + line + "\n\n"
            return "".join(blocks)
    sep = "" if not text or text.endswith("\n\n") else ("\n" if text.endswith("\n") else "\n\n")
    return f'{text}{sep}[[user]]\nname = "{name}"\nrole = "{role}"\npassword_hash = "{password_hash}"\n'
