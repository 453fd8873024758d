"""The emulator's phones and PSTN lines keep only their newest line events (KEEP_EVENTS) and count every ring:
at 4,096 per line the journals grew through the whole day-long soak (docs/reliability.md, "Memory")."""
from pycallcenter.drivers.emulator.pstn import KEEP_EVENTS
from pycallcenter.drivers.events import EventKind
from tests.engine_rig import analog_engine


def test_a_line_that_rings_all_day_keeps_its_newest_events_and_counts_every_ring():
    eng, ends = analog_engine()
    phone, line = ends["alice"], ends["pstn3"]
    for ring in range(3000):  # about a day and a half of an FXO line's rings in the soak
        for end in (phone, line):
            end._line_event(EventKind.RING_BEGIN, 48_000 * ring, {})
            end._line_event(EventKind.RING_END, 48_000 * ring + 16_000, {})
    for end in (phone, line):
        assert end.events.kept() == KEEP_EVENTS <= 256
        assert end.ring_count == 3000
        assert end.event_kinds()[-2:] == [EventKind.RING_BEGIN, EventKind.RING_END]
        assert len(end.events) == 6000  # the absolute count goes on
