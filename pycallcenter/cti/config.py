"""CTI users from a TOML file: who may connect, with which token and role.

::

    [[agent]]
    name = "agent1"            # the ACD agent name
    token = "a-long-random-secret"

    [[supervisor]]
    name = "sue"
    token = "another-secret"
    contact = "channel/40"     # the phone rung for listen/whisper/barge
"""
import tomllib

from pycallcenter.errors import ConfigError


def load_users(path):
    """Return (tokens, contacts) for :func:`pycallcenter.cti.serve` from a users TOML file."""
    try:
        with open(path, "rb") as f:
            data = tomllib.load(f)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(str(exc), path=path) from None
    return users_from_dict(data, path)


def users_from_dict(data, path=None):
    """Return (tokens, contacts) from the parsed users table."""
    tokens, contacts = {}, {}
    unknown = set(data) - {"agent", "supervisor"}
    if unknown:
        raise ConfigError(f"unknown table(s) {sorted(unknown)}; use [[agent]] and [[supervisor]]", path=path)
    for role in ("agent", "supervisor"):
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
            if "contact" in user:
                contacts[name] = user["contact"]
    return tokens, contacts
