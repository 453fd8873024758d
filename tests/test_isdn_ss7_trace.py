"""The PRI and SS7 machines' behaviour, pinned: the scripted back-to-back trace (tests/trace_baseline.py) is
byte-identical to the one recorded before the timers and transition tables were restructured."""
from pathlib import Path

from trace_baseline import generate

FIXTURE = Path(__file__).resolve().parent / "data" / "protocol_trace.txt"


def test_trace_is_unchanged():
    expected = FIXTURE.read_text().splitlines()
    got = generate().splitlines()
    for i, (want, have) in enumerate(zip(expected, got)):
        assert have == want, f"line {i + 1} of {FIXTURE.name} differs"
    assert len(got) == len(expected)
