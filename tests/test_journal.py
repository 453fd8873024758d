"""The journal the long-lived histories use (queue log, ACD decisions, recordings, emulator events): readers
see everything once, memory holds only what some reader has yet to read, a reader that never reads is
bounded and told what it lost."""
import pytest

from pycallcenter.journal import Journal


def test_each_reader_sees_every_entry_once_and_read_entries_are_dropped():
    j = Journal("t", bound=None)
    a, b = j.reader("a"), j.reader("b")
    j.extend(range(5))
    assert j.read(a) == [0, 1, 2, 3, 4]
    assert j.kept() == 5  # b has not read them
    j.append(5)
    assert j.read(b) == [0, 1, 2, 3, 4, 5]
    assert j.kept() == 1 and j.start == 5  # a still has 5 to read
    assert j.read(a) == [5] and j.read(a) == []
    assert j.kept() == 0 and len(j) == 6 and j.start == 6


def test_absolute_positions_survive_dropping():
    j = Journal("t", bound=None)
    r = j.reader("r")
    j.extend("abcdef")
    j.read(r)
    j.extend("gh")
    assert len(j) == 8 and j[6] == "g" and j[-1] == "h" and j[6:] == ["g", "h"] and j[0:] == ["g", "h"]
    with pytest.raises(IndexError, match="position 2 is not kept"):
        j[2]
    assert list(j) == ["g", "h"] and list(reversed(j)) == ["h", "g"]


def test_without_readers_everything_is_kept_up_to_the_bound():
    j = Journal("t", bound=4)
    j.extend(range(10))
    assert list(j) == [6, 7, 8, 9] and j.dropped_unread == 6 and len(j) == 10


def test_a_reader_that_never_reads_is_bounded_and_counts_what_it_lost():
    j = Journal("t", bound=100)
    idle, busy = j.reader("idle"), j.reader("busy")
    for i in range(1000):
        j.append(i)
        j.read(busy)
    assert j.kept() == 100 and idle.overflow == 900 and busy.overflow == 0
    assert j.read(idle) == list(range(900, 1000))
    assert j.kept() == 0


def test_keep_holds_the_newest_entries_for_look_back():
    j = Journal("t", bound=None, keep=3)
    r = j.reader("r")
    j.extend(range(10))
    j.read(r)
    assert list(j) == [7, 8, 9]


def test_a_reader_registered_at_zero_sees_what_came_before_it():
    j = Journal("t")
    j.extend("ab")
    r = j.reader("late", start=0)
    assert j.read(r) == ["a", "b"] and j.reader("now").position == 2


def test_closing_the_last_slow_reader_drops_what_it_held():
    j = Journal("t", bound=None)
    fast, slow = j.reader("fast"), j.reader("slow")
    j.extend(range(50))
    j.read(fast)
    assert j.kept() == 50
    j.close(slow)
    assert j.kept() == 0


def test_pop_only_the_entry_no_reader_has_read():
    j = Journal("t")
    r = j.reader("r")
    j.append("x")
    assert j.pop() == "x" and len(j) == 0
    j.append("y")
    j.read(r)
    with pytest.raises(ValueError, match="already read"):
        j.pop()


def test_memory_stays_flat_over_a_long_run():
    j = Journal("t", bound=1000)
    r = j.reader("r")
    for i in range(200_000):
        j.append(i)
        if i % 37 == 0:
            j.read(r)
    assert j.kept() <= 37 and len(j._items) <= 200  # the list itself is cut, not only the view


def _holds_only_unread(j):
    """True when the journal holds no more than its newest `keep` and what its slowest reader has not read (a
    stopped centre has closed its readers: then only the newest `keep`)."""
    unread = j.end - min(r.position for r in j.readers) if j.readers else 0
    return j.kept() <= max(j.keep, unread)


def test_the_centres_histories_hold_only_what_their_readers_have_not_read(tmp_path):
    from pycallcenter.apps import soak

    run = soak.Soak(soak.SoakSettings(hours=0.02, spans=1, agents=4, faults=0, data_dir=str(tmp_path)), stream=None)
    run.run()
    centre = run.centre
    histories = [centre.acd.qlog, centre.binding.decisions, centre.engine.recordings, run.emulator.event_log]
    assert all(len(j) > 0 for j in histories)
    for j in histories:
        assert _holds_only_unread(j), (j, j.readers)
    events = run.emulator.event_log
    assert events.start > 0 and events.kept() < len(events)  # the board's events were read and let go
