"""Limits per source address, sans-IO (time is passed in), each in a table bounded in size (the least
recently seen source is dropped first, so a flood of sources cannot grow it):

- ``RateLimiter``: a token bucket of new requests; the user agent refuses a request over its source's rate
  with 503 and Retry-After (RFC 3261 21.5.4); requests inside dialogs, ACK and CANCEL are never limited.
- ``FailureLimiter``: failed digest authentications; over the limit the source gets 403 for a while.
"""
from collections import OrderedDict


class RateLimiter:
    """rate new requests per second per source, with bursts of up to burst requests."""

    def __init__(self, rate=20.0, burst=40, max_sources=4096):
        self.rate = rate
        self.burst = burst
        self.max_sources = max_sources
        self._table = OrderedDict()  # source -> [tokens, time of the last refill]
        self.refused = 0

    def allow(self, source, now):
        """Return True and take a token when source may send a new request at now; False counts a refusal."""
        entry = self._table.get(source)
        if entry is None:
            entry = [float(self.burst), now]
        else:
            entry[0] = min(float(self.burst), entry[0] + (now - entry[1]) * self.rate)
            entry[1] = now
        self._table[source] = entry
        self._table.move_to_end(source)
        while len(self._table) > self.max_sources:
            self._table.popitem(last=False)
        if entry[0] >= 1.0:
            entry[0] -= 1.0
            return True
        self.refused += 1
        return False

    def __len__(self):
        return len(self._table)


class FailureLimiter:
    """Counts failed authentications per source (sans-IO: time is passed in) and blocks a source that fails
    more than max_failures times within window seconds, for block seconds. The table holds at most
    max_sources entries (the oldest is dropped first), so a flood of sources cannot grow it."""

    def __init__(self, max_failures=5, window=60.0, block=300.0, max_sources=4096):
        self.max_failures = max_failures
        self.window = window
        self.block = block
        self.max_sources = max_sources
        self._table = OrderedDict()  # source -> [first failure time, count, blocked until]
        self.blocked_requests = 0

    def blocked(self, source, now):
        """Return True (and count it) when source is blocked at now."""
        entry = self._table.get(source)
        if entry is None or entry[2] <= now:
            return False
        self.blocked_requests += 1
        return True

    def failed(self, source, now):
        """Record one failure from source; returns True when that puts it over the limit (now blocked)."""
        entry = self._table.get(source)
        if entry is None or now - entry[0] > self.window:
            entry = [now, 0, 0.0]
        entry[1] += 1
        if entry[1] > self.max_failures:
            entry[2] = now + self.block
        self._table[source] = entry
        self._table.move_to_end(source)
        while len(self._table) > self.max_sources:
            self._table.popitem(last=False)
        return entry[2] > now

    def succeeded(self, source):
        """Forget the failures of source (it authenticated)."""
        self._table.pop(source, None)

    def __len__(self):
        return len(self._table)
