"""An append-only journal read by registered readers, which keeps only what some reader has yet to read.

The queue log, the ACD's applied decisions, the engine's finished recordings and the emulator's event log
are histories that other parts read incrementally. Kept as plain lists they grow for as long as the
process runs; a ``Journal`` keeps them flat:

- ``append(item)`` adds an entry at the next absolute position (positions never restart or shift);
- ``reader(name)`` registers a reader at the end (or at an absolute ``start``), ``read(reader)`` returns
  what that reader has not seen and moves it on;
- entries every registered reader has passed are dropped, except the newest ``keep`` (so a look-back at
  the last few, such as a script finding the stats of the recording it just stopped, still works);
- with no reader registered, everything is kept (up to the bound): a standalone ACD's reports read the
  whole log, as before;
- at most ``bound`` entries are kept: a reader that never reads loses the oldest, and its ``overflow``
  counts how many it missed (``dropped_unread`` counts those no reader had registered for).

``len(journal)`` is the absolute end position and ``journal[i]`` / ``journal[a:b]`` index by absolute
position, so cursor code written for a list keeps working on what is still kept (a position already
dropped raises IndexError, or is left out of a slice). Iterating yields the entries kept.
"""
from itertools import islice


class JournalReader:
    """A registered reader: its absolute position and how many entries it lost to the bound."""

    __slots__ = ("name", "position", "overflow")

    def __init__(self, name, position):
        self.name = name
        self.position = position
        self.overflow = 0

    def __repr__(self):
        return f"JournalReader({self.name!r}, position={self.position}, overflow={self.overflow})"


class Journal:
    """Append-only entries with registered readers; entries every reader has passed are dropped."""

    __slots__ = ("name", "bound", "keep", "_items", "_head", "_start", "_readers", "dropped_unread")

    def __init__(self, name="journal", bound=100_000, keep=0):
        if bound is not None and bound < 1:
            raise ValueError(f"journal {name}: bound must be at least 1, got {bound}")
        self.name = name
        self.bound = bound
        self.keep = max(0, int(keep))
        self._items = []  # entries kept from self._items[self._head]; the front is cut off in batches
        self._head = 0
        self._start = 0  # absolute position of self._items[self._head]
        self._readers = []
        self.dropped_unread = 0  # entries dropped by the bound while no reader was registered

    # --- writing ---------------------------------------------------------------------------------
    def append(self, item):
        """Add an entry at the end."""
        self._items.append(item)
        if self.bound is not None and len(self._items) - self._head > self.bound:
            self._drop_to(self.end - self.bound)

    def extend(self, items):
        """Add entries at the end."""
        for item in items:
            self.append(item)

    def pop(self):
        """Remove and return the last entry; ValueError when a reader has already read it."""
        if any(r.position >= self.end for r in self._readers):
            raise ValueError(f"journal {self.name}: the last entry was already read")
        if self.end <= self._start:
            raise IndexError(f"journal {self.name}: pop from an empty journal")
        return self._items.pop()

    # --- readers ---------------------------------------------------------------------------------
    def reader(self, name="reader", start=None):
        """Register a reader at the end (or at absolute position start, at most the end); return it."""
        position = self.end if start is None else max(self._start, min(int(start), self.end))
        r = JournalReader(name, position)
        self._readers.append(r)
        return r

    def close(self, reader):
        """Unregister a reader; the entries only it was holding are dropped."""
        self._readers = [r for r in self._readers if r is not reader]
        self._trim()

    def read(self, reader):
        """Return the entries the reader has not seen, oldest first, and move it to the end."""
        if reader.position < self._start:  # lost to the bound since its last read
            reader.overflow += self._start - reader.position
            reader.position = self._start
        first = self._head + reader.position - self._start
        out = self._items[first:]
        reader.position = self.end
        self._trim()
        return out

    def pending(self, reader):
        """Return how many entries the reader has not seen."""
        return self.end - max(reader.position, self._start)

    @property
    def readers(self):
        """Return the registered readers."""
        return tuple(self._readers)

    # --- looking -----------------------------------------------------------------------------------
    @property
    def start(self):
        """Return the absolute position of the oldest entry kept."""
        return self._start

    @property
    def end(self):
        """Return the absolute position the next entry will have (entries ever appended, less pops)."""
        return self._start + len(self._items) - self._head

    def kept(self):
        """Return how many entries are held in memory."""
        return len(self._items) - self._head

    def __len__(self):
        return self.end

    def __iter__(self):
        return islice(self._items, self._head, None)

    def __reversed__(self):
        items, head = self._items, self._head
        return (items[i] for i in range(len(items) - 1, head - 1, -1))

    def __bool__(self):
        return len(self._items) > self._head

    def __getitem__(self, index):
        end = self.end
        if isinstance(index, slice):
            a, b, step = index.indices(end)
            a, b = max(a, self._start), max(b, self._start)
            return self._items[self._head + a - self._start:self._head + b - self._start:step]
        if index < 0:
            index += end
        if not self._start <= index < end:
            raise IndexError(f"journal {self.name}: position {index} is not kept (kept {self._start}..{end - 1})")
        return self._items[self._head + index - self._start]

    def __repr__(self):
        return f"Journal({self.name!r}, kept {self.start}..{self.end}, readers {len(self._readers)})"

    # --- dropping ----------------------------------------------------------------------------------
    def _trim(self):
        if not self._readers:
            return
        upto = min(r.position for r in self._readers)
        self._drop_to(min(upto, self.end - self.keep))

    def _drop_to(self, position):
        """Drop every entry before absolute position; readers behind it count what they lost."""
        cut = position - self._start
        if cut <= 0:
            return
        if not self._readers:
            self.dropped_unread += cut
        for r in self._readers:
            if r.position < position:
                r.overflow += position - r.position
                r.position = position
        self._head += cut
        self._start = position
        if self._head > 64 and self._head * 2 > len(self._items):  # cut the list itself now and then
            del self._items[:self._head]
            self._head = 0
