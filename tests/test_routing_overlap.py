"""The router's overlap question: could a longer called number still match a route? Patterns against a
brute-force search over short suffixes (hypothesis), and ``Router.number_state`` over [[route]] tables."""
import datetime as dt
import itertools
from types import SimpleNamespace

from hypothesis import given, settings, strategies as st

from pycallcenter.apps.routing import Router, number_could_grow, number_matches
from pycallcenter.apps.settings import load_text
from pycallcenter.errors import ConfigError

# one character of each class the pattern grammar tells apart: 0 (digit, not Z), 1 (Z, not N), 5 (N), * (no digit)
ALPHABET = "015*"
STEPS = ["0", "1", "5", "X", "N", "Z", "[1-5]", "[05]", ".", "!"]


def _grows_by_search(pattern, number, longest):
    return any(number_matches(pattern, number + "".join(tail))
               for n in range(1, longest + 1) for tail in itertools.product(ALPHABET, repeat=n))


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(STEPS), min_size=1, max_size=4), st.text(ALPHABET, max_size=5))
def test_a_pattern_could_grow_exactly_when_some_short_suffix_matches(parts, number):
    pattern = "_" + "".join(parts)
    # a fixed step takes one character and an open one matches with one more: 4 characters find any match
    assert number_could_grow(pattern, number) == _grows_by_search(pattern, number, 4), (pattern, number)


@given(st.text("0123456789", min_size=1, max_size=6), st.text("0123456789", max_size=7))
def test_a_plain_number_could_grow_from_its_proper_prefixes_only(plain, number):
    assert number_could_grow(plain, number) == (len(number) < len(plain) and plain.startswith(number))


def test_examples_of_the_grammar():
    assert number_could_grow("_2XXX", "2") and not number_could_grow("_2XXX", "2001")
    assert number_could_grow("_0.", "0") and number_could_grow("_0.", "0123")  # open end
    assert number_could_grow("_!", "") and number_matches("_!", "")
    assert not number_could_grow("_2[1-5]XX", "26") and number_could_grow("_2[1-5]XX", "25")
    assert number_could_grow("_NXX", "") and not number_could_grow("_NXX", "1")


ROUTES = """
[[route]]
called = "_2XX"
script = "short"

[[route]]
called = "_2XXX"
to = "pri1"

[[route]]
called = "5000"
script = "five"

[[route]]
called = "_7."
caller = "_44."
script = "uk"

[[route]]
called = "_8[1-3]XX"
queue = "sales"

[[queue]]
name = "sales"
"""


def _router(text=ROUTES):
    _, s = load_text(text)
    centre = SimpleNamespace(settings=s, engine=SimpleNamespace(adapters=[]),
                             wall_time=lambda: dt.datetime(2026, 12, 7, 12, 0))
    return Router(centre)


def _leg(called, caller="2025550100"):
    return SimpleNamespace(called=called, caller=caller, tech="pri", adapter=SimpleNamespace(name="pri1"))


def test_number_state_over_a_route_table():
    r = _router()
    assert r.number_state(_leg("2")) == (False, True)  # the start of _2XX and _2XXX
    assert r.number_state(_leg("200")) == (True, True)  # _2XX takes it, but 2001 would go to _2XXX
    assert r.number_state(_leg("2001")) == (True, False)
    assert r.number_state(_leg("50")) == (False, True)
    assert r.number_state(_leg("5000")) == (True, False)
    assert r.number_state(_leg("9")) == (False, False)  # nothing starts with 9: the default script's
    assert r.number_state(_leg("7")) == (False, False)  # _7. is only for callers from 44...
    assert r.number_state(_leg("7", caller="4420")) == (False, True)
    assert r.number_state(_leg("71", caller="4420")) == (True, True)  # open end: more digits may follow
    assert r.number_state(_leg("8")) == (False, True)
    assert r.number_state(_leg("84")) == (False, False)  # outside the 81-83 block
    assert r.number_state(_leg("8200")) == (True, False)


def test_a_route_for_any_number_settles_the_call_unless_an_earlier_route_could_grow():
    r = _router('[[route]]\ncalled = "_1XX"\nscript = "a"\n\n[[route]]\ntrunk = "pri"\nscript = "b"\n')
    assert r.number_state(_leg("1")) == (True, True)  # 1XX may still come; the catch-all takes it otherwise
    assert r.number_state(_leg("2")) == (True, False)
    r = _router('[[callers]]\nblocked = ["2025550100"]\n\n[[route]]\ncalled = "_1XX"\nscript = "a"\n'
                .replace("[[callers]]", "[callers]"))
    assert r.number_state(_leg("1")) == (True, False)  # a blocked caller is refused whatever the number


def test_a_pattern_with_a_broken_set_is_one_config_error_naming_its_line():
    for bad in ("_2[", "_2[]X", "_2[a-z]"):
        text = f'[[route]]\nscript = "a"\ncalled = "{bad}"\n'
        try:
            load_text(text, file="centre.toml")
        except ConfigError as exc:
            assert str(exc).startswith("centre.toml:3: route[1].called: must look like"), str(exc)
        else:
            raise AssertionError(f"{bad} was accepted")


def _table(patterns):
    return "\n".join(f'[[route]]\ncalled = "{p}"\nscript = "s{i}"\n' for i, p in enumerate(patterns))


@settings(max_examples=150, deadline=None)
@given(st.lists(st.lists(st.sampled_from(STEPS), min_size=1, max_size=3).map(lambda p: "_" + "".join(p)),
                min_size=1, max_size=3),
       st.text(ALPHABET, max_size=4))
def test_number_state_agrees_with_where_the_router_sends_the_number_and_every_longer_one(patterns, number):
    r = _router(_table(patterns))
    routed, longer = r.number_state(_leg(number))
    assert routed == (r.target(_leg(number))[3] is not None)  # a route took it, not the default script
    grown = [number + "".join(tail) for n in (1, 2, 3) for tail in itertools.product(ALPHABET, repeat=n)]
    assert longer == any(r.target(_leg(g))[3] is not None for g in grown), (patterns, number)
