"""Q.931 IE loop: the hand-written copy in _native/q931ie.pyx against the same loop in the compiled q931 module.

Both split a SETUP's IE section into shared IE objects; each round gives the loop a SETUP whose calling number
it has not seen, so one IE body is parsed and the others come from the IE memo, as in live traffic. This is
the measurement that decides whether the hand copy is still worth keeping (docs/architecture.md).
"""
import pytest

from pycallcenter import _compiled
from pycallcenter.isdn import ie, q931

ROUNDS = 20000


def _setups():
    return [q931.Message(q931.SETUP, 5, False, [ie.bearer(0, layer1=3), ie.channel_id(5),
                                                ie.calling_number("20255%05d" % i), ie.called_number("5551234"),
                                                ie.single(0xA1)]).encode() for i in range(ROUNDS + 200)]


@pytest.fixture(scope="module")
def setups():
    assert _compiled.is_compiled(q931), "q931 runs from source: build it (make native) to measure the compiled loop"
    assert q931._decode_ies_fast is not None, "pycallcenter._native.q931ie is not built"
    return _setups()


def _run(benchmark, loop, setups):
    it = iter(setups)
    q931.clear_caches()
    items, unknown = benchmark.pedantic(lambda: loop(next(it)), rounds=ROUNDS, iterations=1, warmup_rounds=100)
    assert [i.name for i in items][-2:] == ["called_party_number", "sending_complete"] and unknown == 0


def test_ie_loop_native_copy(benchmark, setups):
    _run(benchmark, lambda data: q931._decode_ies_fast(data, 5), setups)


def test_ie_loop_compiled_module(benchmark, setups):
    _run(benchmark, lambda data: q931._decode_ies(data, 5, len(data)), setups)
