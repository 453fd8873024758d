"""What the callback dialler and the campaigns share: outcome names of a cleared attempt, the trunk to
dial on, a queue's free and busy agents, number lists."""
import csv

from pycallcenter.acd.core import IDLE
from pycallcenter.apps.routing import read_numbers
from pycallcenter.engine import call as C
from pycallcenter.errors import ConfigError

# how an attempt that was never answered ended, by its Q.850 cause
CAUSE_OUTCOMES = {C.USER_BUSY: "busy", C.NO_ANSWER: "no_answer", C.NO_USER_RESPONSE: "no_answer",
                  C.NO_CIRCUIT: "congestion", C.UNALLOCATED_NUMBER: "sit", C.CALL_REJECTED: "rejected"}
_SEPARATORS = str.maketrans("", "", " -().+/")


def outcome_of(cause):
    """Return the outcome name of an unanswered attempt cleared with a Q.850 cause."""
    return CAUSE_OUTCOMES.get(cause, "failed")


def default_trunk(engine, given, key, path):
    """Return the trunk name to dial out on: the given one (checked), else the engine's first trunk."""
    names = [a.name for a in engine.adapters]
    if given is not None:
        if given not in names:
            raise ConfigError(f"{key}: no trunk named {given!r} (have {', '.join(names) or 'none'})", path=path)
        return given
    for adapter in engine.adapters:
        if adapter.tech != "fxs":
            return adapter.name
    raise ConfigError(f"{key}: the board has no trunk to dial out on", path=path)


def line_free(engine, trunk):
    """Return True when the trunk has a free line now (False too while a PRI D-channel is down)."""
    return engine.adapter(trunk).idle_line() is not None


def agent_load(acd, queue):
    """Return (free, busy) agents of a queue: free ones can be offered a call now, busy ones are
    logged in and ringing, talking or in wrap-up."""
    q = acd.queues[queue]
    busy = sum(1 for name in q.members if acd.agents[name].logged_in and acd.agents[name].activity != IDLE)
    return len(q.available), busy


def normalise(number):
    """Return a number as the digits to dial (spaces, dashes, dots, brackets and a leading + dropped)."""
    return number.strip().strip('"').translate(_SEPARATORS)


def read_call_list(path, key):
    """Return [(number, {column: value})] of a CSV call list: the number in the first column, a header
    row allowed (its names label the other columns, which go to the call's data); # starts a comment line."""
    out, header = [], None
    try:
        with open(path, newline="", encoding="utf-8") as fh:
            for line, row in enumerate(csv.reader(fh), 1):
                if not row or not row[0].strip() or row[0].lstrip().startswith("#"):
                    continue
                number = normalise(row[0])
                if not number.isdigit():
                    if header is None and not out:
                        header = [c.strip() for c in row]
                        continue
                    raise ConfigError(f"{key}: not a phone number: {row[0].strip()!r}", path=path, line=line)
                names = header or [f"column{i + 1}" for i in range(len(row))]
                out.append((number, {names[i]: v.strip() for i, v in enumerate(row) if 0 < i < len(names)}))
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{key}: cannot read the list: {getattr(exc, 'strerror', None) or exc}", path=path) from None
    return out


def read_dnc(path, key):
    """Return the set of numbers (normalised) of a do-not-call file."""
    try:
        return {normalise(n) for n in read_numbers(path)}
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{key}: cannot read the list: {getattr(exc, 'strerror', None) or exc}", path=path) from None
