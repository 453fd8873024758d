"""Request rate limits per source, sans-IO (time is passed in): a token bucket per source address, in a
table bounded in size (the least recently seen source is dropped first, so a flood of sources cannot grow
it). The user agent refuses a new request over its source's rate with 503 and Retry-After (RFC 3261
21.5.4); requests inside dialogs and ACKs are never limited."""
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
