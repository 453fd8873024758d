"""The fast paths of the ISDN stack give what the declarative/reference paths give, byte for byte."""
import pytest
from hypothesis import given
from hypothesis import strategies as st

from pycallcenter.errors import DecodeError
from pycallcenter.isdn import frame, ie, lapd, q931

CODECS = sorted({(name, id(codec)): codec for name, codec in ie.BODIES.values()}.items())


def _construct_parse(codec, body):
    try:
        return {k: v for k, v in codec.struct.parse(body).items() if not k.startswith("_")}  # drop construct's _io
    except Exception:
        return "error"


def _fast_parse(codec, body):
    try:
        return codec.parse(body)
    except Exception:
        return "error"


@pytest.mark.parametrize("key,codec", CODECS, ids=[k[0] for k, _ in CODECS])
@given(body=st.binary(max_size=12))
def test_generated_parse_matches_construct(key, codec, body):
    expect = _construct_parse(codec, body)
    got = _fast_parse(codec, body)
    assert got == expect
    if got != "error":
        assert list(got) == list(expect)
        assert codec.build(got) == codec.struct.build(expect) == body


@pytest.mark.parametrize("key,codec", CODECS, ids=[k[0] for k, _ in CODECS])
def test_generated_parse_error_on_empty_body_names_the_ie(key, codec):
    if _construct_parse(codec, b"") == "error":
        with pytest.raises(DecodeError) as info:
            ie.parse_body(0, ie.IE_IDS[key[0]], b"", 7)
        assert info.value.element == key[0] and info.value.offset == 7


@given(digits=st.text(alphabet="0123456789*#", max_size=20), ton=st.integers(0, 7), plan=st.integers(0, 15),
       pres=st.integers(0, 3), screen=st.integers(0, 3))
def test_number_builders_match_construct(digits, ton, plan, pres, screen):
    called = ie.called_number(digits, ton, plan)
    _, codec = ie.BODIES[(0, 0x70)]
    assert called.body == codec.struct.build(dict(o3=0x80 | (ton << 4) | plan, digits=digits))
    calling = ie.calling_number(digits, ton, plan, pres, screen)
    _, codec = ie.BODIES[(0, 0x6C)]
    assert calling.body == codec.struct.build(dict(o3=(ton << 4) | plan, o3a=0x80 | (pres << 5) | screen, digits=digits))
    assert calling.shared_view()["digits"] == digits


@given(st.lists(st.sampled_from([ie.bearer(0, layer1=3), ie.channel_id(5), ie.cause(16), ie.progress(8),
                                 ie.calling_number("2025550100"), ie.called_number("555"), ie.display("x"),
                                 ie.raw(0, 0x1C, b"\x91\xa1"), ie.raw(0, 0x3F, b"\x01"), ie.single(0xA1)]),
                max_size=6), st.integers(1, 32767), st.booleans())
def test_decode_memo_gives_the_same_message_twice(items, cr, flag):
    data = q931.Message(q931.SETUP, cr, flag, items).encode()
    first, second = q931.decode(data), q931.decode(data)
    for msg in (first, second):
        assert msg.encode() == data and msg.call_ref == cr and msg.cr_flag == flag
        assert [i.name for i in msg.ies] == [i.name for i in items]
        assert msg.unknown == sum(1 for i in items if i.name.startswith("ie_"))
    assert first.ies is not second.ies


@given(st.binary(min_size=0, max_size=8))
def test_link_fast_path_agrees_with_frame_decode(data):
    """Frames the fast path takes decode (reference codec) to I or S frames; others reach decode()."""
    link = lapd.Link(network=True)
    link.state = lapd.ESTABLISHED
    link.receive(data, 0.0)
    try:
        f = frame.decode(data)
    except DecodeError:
        assert link.counters["bad_frames"] == 1
        return
    assert link.counters["bad_frames"] == 0
    assert f.kind in frame.S_CODES or f.kind in frame.U_CODES or f.kind == "I"


native = pytest.importorskip("pycallcenter._native.q931ie")


def _outcome(fn, *args):
    try:
        items, unknown = fn(*args)
    except DecodeError as exc:
        return ("error", str(exc), exc.element, exc.offset)
    return ([(i.codeset, i.ie_id, i.name, i.wire, i.fields) for i in items], unknown)


@given(st.lists(st.one_of(st.binary(max_size=6), st.sampled_from([b"\x96", b"\x9e", b"\xa1", b"\x28\x02\x80x",
                                                                  b"\x6c\x00", b"\x04\x01\x80"])), max_size=8))
def test_compiled_ie_loop_matches_reference(parts):
    data = b"\x08\x02\x00\x01\x05" + b"".join(parts)
    q931.clear_caches()
    expect = _outcome(q931._decode_ies, data, 5, len(data))
    q931.clear_caches()
    assert _outcome(native.decode_ies, data, 5) == expect


@given(st.binary(min_size=0, max_size=12))
def test_memo_hit_path_matches_full_decode(data):
    try:
        expect = q931.decode(data).view()  # first decode fills the memo (or raises)
    except DecodeError as exc:
        with pytest.raises(DecodeError) as again:
            q931.decode(data)
        assert (again.value.element, again.value.offset) == (exc.element, exc.offset)
        return
    assert q931.decode(data).view() == expect
    hit = native.decode_seen(data)
    assert hit is None or hit.view() == expect
