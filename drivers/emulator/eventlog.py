"""The emulator's events: what the emulated boards report (``emit``), ordered by sample time into each board's
queue and the event log, and digits the board dials reaching an emulated PSTN line. A mixin of ``Emulator``
(``core.py``).
"""
from __future__ import annotations

from ..events import Event, EventKind
from .pstn import PstnLine


class EventLog:
    """Events of the Emulator's boards."""

    def emit(self, kind: EventKind, span, channel, sample_time: int, data, board=None) -> None:
        """Record an event of board (default: the first) for its poll_events(), ordered by sample time."""
        self._pending.append((board or self.board, Event(kind, span, channel, int(sample_time), dict(data))))

    def _flush(self):
        if self._pending:
            self._pending.sort(key=lambda be: be[1].sample_time)
            for board, event in self._pending:
                self.event_log.append((board.index, event))
                board.event_queue.append(event)
            self._pending = []

    def _take_events(self, board=None):
        board = board or self.board
        self._catch_up()
        self._flush()
        out, board.event_queue = board.event_queue, []
        return out

    def event_log_text(self) -> str:
        """Return every board's events, one per line (board index first when there are several)."""
        self._flush()
        if len(self.boards) == 1:
            return "".join(f"{e}\n" for _, e in self.event_log)
        return "".join(f"board{b} {e}\n" for b, e in self.event_log)

    def _dialled(self, channel, digits):
        end = channel.line.office if channel.line and channel.signalling.is_station else None
        if isinstance(end, PstnLine):
            end.digits += digits
