"""Where an incoming call goes: caller lists, [[route]] tables, business hours and the steps every call
takes before its script (language choice, recording notice, fax detection).

The router is the engine's ``router(leg)``: it returns the script to run, or None to refuse the call
(Q.850 21, call rejected). Number patterns: a plain number matches itself; a pattern starts with ``_``
and uses X (any digit), N (2-9), Z (1-9), [1-5] (a set), a final ``.`` (one or more of anything) and ``!``
(none or more). ``number_state`` answers the PRI spans' overlap receiving: does a route take the number
dialled so far, and could a longer number still match one?
"""
import re
from functools import lru_cache

from pycallcenter.apps.gateway import dial_target
from pycallcenter.apps.schema import clock_range
from pycallcenter.apps.settings import DAYS
from pycallcenter.errors import ConfigError


_ANY = re.compile(".", re.S)


@lru_cache(maxsize=1024)
def _steps(pattern):
    """Return a pattern as steps (character class, repeats): each step takes one character of the number,
    a repeating one any number of them. A plain number is one literal step per character."""
    if not pattern.startswith("_"):
        return tuple((re.compile(re.escape(ch)), False) for ch in pattern)
    steps = []
    i, body = 0, pattern[1:]
    while i < len(body):
        ch = body[i]
        if ch in "Xx":
            steps.append((re.compile("[0-9]"), False))
        elif ch in "Nn":
            steps.append((re.compile("[2-9]"), False))
        elif ch in "Zz":
            steps.append((re.compile("[1-9]"), False))
        elif ch == ".":  # one or more of anything
            steps += [(_ANY, False), (_ANY, True)]
        elif ch == "!":  # none or more of anything
            steps.append((_ANY, True))
        elif ch == "[":
            j = body.index("]", i)
            steps.append((re.compile("[" + re.sub(r"[^0-9\-]", "", body[i + 1:j]) + "]"), False))
            i = j
        else:
            steps.append((re.compile(re.escape(ch)), False))
        i += 1
    return tuple(steps)


@lru_cache(maxsize=1024)
def _pattern(pattern):
    return re.compile("".join(f"(?:{cls.pattern})" + ("*" if repeats else "") for cls, repeats in _steps(pattern)),
                      re.S)


def number_matches(pattern, number):
    """Return True when number matches the pattern (see the module doc)."""
    return bool(_pattern(pattern).fullmatch(number or ""))


def _closure(steps, positions):
    """Return positions with every position a repeating step lets the number skip to."""
    out = set()
    for p in positions:
        out.add(p)
        while p < len(steps) and steps[p][1]:
            p += 1
            out.add(p)
    return out


def number_could_grow(pattern, number):
    """Return True when a longer number (number followed by one or more characters) matches the pattern:
    a plain number by prefix, a pattern by its fixed length or its open end (``.``, ``!``)."""
    steps = _steps(pattern)
    at = _closure(steps, {0})
    for ch in number or "":
        at = _closure(steps, {p if steps[p][1] else p + 1 for p in at if p < len(steps) and steps[p][0].fullmatch(ch)})
        if not at:
            return False
    return any(p < len(steps) for p in at)  # a step is left to take another character, and the rest can follow


def in_hours(hours, days, when):
    """Return True when the datetime is inside 'HH:MM-HH:MM' (None: always) on one of days (empty: any)."""
    if days and DAYS[when.weekday()] not in days:
        return False
    if not hours:
        return True
    opened, closed = clock_range(hours)
    t = when.hour * 3600 + when.minute * 60 + when.second
    if opened <= closed:
        return opened <= t < closed
    return t >= opened or t < closed  # across midnight


def read_numbers(path):
    """Return the set of numbers in a file: one per line (or the first CSV column); # starts a comment."""
    numbers = set()
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            line = line.split("#", 1)[0].strip()
            if not line:
                continue
            first = line.split(",", 1)[0].strip().strip('"')
            if first and (first[0].isdigit() or first[0] == "+"):
                numbers.add(first)
    return numbers


class Router:
    """The centre's engine router; ``route(leg)`` returns the script for an incoming leg, or None."""

    def __init__(self, centre):
        self.centre = centre
        s = centre.settings
        self.settings = s
        callers = s.callers
        self.blocked = set(callers.blocked)
        self.vip = set(callers.vip)
        try:
            if callers.blocked_file:
                self.blocked |= read_numbers(s.place(callers.blocked_file))
            if callers.vip_file:
                self.vip |= read_numbers(s.place(callers.vip_file))
        except OSError as exc:
            raise ConfigError(f"callers: cannot read {exc.filename}: {exc.strerror}", path=s.file) from None
        # steps every answered call takes before its script: async fn(call); features add theirs
        self.before = []
        self.wrappers = []  # fn(script) -> script, applied outermost last (fax detection, ...)
        c = s.centre
        for trunk in centre.engine.adapters:  # PRI spans ask this router whether a called number is complete
            if getattr(trunk, "tech", None) == "pri":
                trunk.collect_digits(self.number_state if c.pri_overlap else None, c.pri_overlap_timeout)

    def _caller_target(self, leg):
        """Return the target the caller lists give a leg whatever its called number (a refusal is
        ("refuse", ...)), or None when the routes decide."""
        s = self.settings
        caller = leg.caller or ""
        if caller in self.blocked or (s.callers.block_anonymous and not caller):
            return ("refuse", None, (), None)
        for area in s.callers.area:
            if caller.startswith(area.prefix):
                return ("queue", area.queue, (), None) if area.queue else ("script", area.script, (), None)
        return None

    def _routes_for(self, leg):
        """Return the [[route]] tables whose caller, trunk and time conditions hold for a leg, in order (the
        called number is left to the caller of this)."""
        caller = leg.caller or ""
        when = self.centre.wall_time()
        trunk_names = {leg.tech, getattr(leg.adapter, "name", None)}
        for route in self.settings.route:
            if route.caller is not None and not number_matches(route.caller, caller):
                continue
            if route.trunk is not None and route.trunk not in trunk_names and route.trunk != _span_of(leg):
                continue
            if not in_hours(route.hours, route.days, when):
                continue
            yield route

    def target(self, leg):
        """Return (kind, name, args, route settings) for a leg: kind 'script', 'queue' or 'dial' (a gateway
        route: name is the engine's dial target), or None to refuse."""
        s = self.settings
        found = self._caller_target(leg)
        if found is not None:
            return None if found[0] == "refuse" else found
        for route in self._routes_for(leg):
            if route.called is not None and not number_matches(route.called, leg.called):
                continue
            if route.queue:
                return ("queue", route.queue, (), route)
            if route.to:
                return ("dial", dial_target(route, leg.called), (), route)
            return ("script", route.script, tuple(route.args), route)
        when = self.centre.wall_time()
        if s.hours.closed_script and not in_hours(s.hours.open, s.hours.days, when):
            return ("script", s.hours.closed_script, (), None)
        if s.hours.closed_script and when.date().isoformat() in s.hours.holidays:
            return ("script", s.hours.closed_script, (), None)
        return ("script", s.centre.default_script, (), None)

    def number_state(self, leg):
        """Return (routed, longer) for the called number an incoming leg has so far: routed when a route or
        the caller lists take the call with this number (not the default script), longer when a longer
        number could still match a route the call may take. Overlap receiving waits while longer holds."""
        if self._caller_target(leg) is not None:
            return True, False
        routed = longer = False
        for route in self._routes_for(leg):
            if route.called is None:  # any number: this route takes the call unless an earlier one waits
                return True, longer
            routed = routed or number_matches(route.called, leg.called)
            longer = longer or number_could_grow(route.called, leg.called)
        return routed, longer

    def route(self, leg):
        """Return the script for an incoming leg (the engine's router), or None to refuse it."""
        engine = self.centre.engine
        if leg.tech == "fxs" and "extension" in engine.scripts.scripts:
            return engine.scripts.scripts["extension"]  # an extension's own dial plan, not the centre's routes
        found = self.target(leg)
        if found is None:
            engine.log("refused", leg=leg.id, reason="blocked", caller=leg.caller or "-")
            return None
        kind, name, args, route = found
        script = self._script(kind, name, args, route, leg)
        for wrap in self.wrappers:
            script = wrap(script)
        return script

    def _script(self, kind, name, args, route, leg):
        scripts = self.centre.engine.scripts
        s = self.settings
        vip = (leg.caller or "") in self.vip
        before = self.before
        gateway = getattr(self.centre, "gateway", None)
        language = route.language if route is not None else None

        async def front(call):
            call.set("route", f"{kind}:{name}")
            if vip:
                call.set("vip", "1")
                call.set("priority", str(s.callers.vip_priority))
                if s.callers.vip_queue:
                    call.set("vip_queue", s.callers.vip_queue)
            if language:
                call.set("lang", language)
            for step in before:
                await step(call)
            if not call.leg.active:
                return None
            if kind == "queue":
                return await scripts.get("queue")(call, name)
            if kind == "dial":
                return await gateway.connect(call, name, route.ring_timeout)
            return await scripts.get(name)(call, *args)

        front.__name__ = name
        return front


def _span_of(leg):
    adapter = leg.adapter
    span = getattr(adapter, "span", None)
    number = getattr(span, "number", None) if span is not None else None
    return str(number) if number is not None else None
