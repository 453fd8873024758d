"""Q.931/LAPD codecs: decode of a real libpri trace, byte-exact rebuild, builders, and DecodeError on bad input."""
import pytest
from hypothesis import given, strategies as st

from pycallcenter.errors import DecodeError
from pycallcenter.isdn import frame as lapd_frame
from pycallcenter.isdn import ie, q931
from pycallcenter.isdn.trace import decode_frame
from pycallcenter.trace.pcap import read_packets


@pytest.fixture(scope="module")
def libpri_frames(testdata):
    return [p.data for p in read_packets(testdata("traces", "libpri_euroisdn_call.pcapng"))]


def test_libpri_trace_decodes_to_the_expected_call(libpri_frames):
    msgs = [decode_frame("lapd", f)["q931"] for f in libpri_frames if "q931" in decode_frame("lapd", f)]
    assert [m["message_type"] for m in msgs] == [
        "SETUP", "CALL PROCEEDING", "ALERTING", "CONNECT", "CONNECT ACKNOWLEDGE", "DISCONNECT", "RELEASE",
        "RELEASE COMPLETE"]
    setup = {i["name"]: i for i in msgs[0]["ies"]}
    assert setup["called_party_number"]["digits"] == "5551234"
    assert setup["calling_party_number"]["digits"] == "2025550100"
    assert setup["channel_identification"]["channel"] == 1
    assert setup["channel_identification"]["exclusive"] is True
    assert all(m["call_reference"] == 1 for m in msgs)
    assert [m["call_reference_flag"] for m in msgs] == [0, 1, 1, 1, 0, 0, 1, 0]
    disc = {i["name"]: i for i in msgs[5]["ies"]}
    assert disc["cause"]["value"] == 16 and disc["cause"]["cause_name"] == "normal call clearing"


def test_libpri_trace_lapd_fields(libpri_frames):
    kinds = [decode_frame("lapd", f)["lapd"]["frame_type"] for f in libpri_frames]
    assert kinds[:4] == ["SABME", "SABME", "UA", "UA"]
    assert "RR" in kinds and kinds.count("I") == 8


def test_every_frame_rebuilds_byte_for_byte(libpri_frames):
    for data in libpri_frames:
        f = lapd_frame.decode(data)
        assert f.encode() == data
        if f.info:
            assert q931.decode(f.info).encode() == f.info


def test_unknown_and_codeset_ies_kept_raw_and_rebuilt():
    body = bytes.fromhex("0802 0001 05" "a1" "7003 80 3132" "96" "2803 414243" "95" "7702 abcd" "4302 0102")
    msg = q931.decode(body)
    assert msg.encode() == body
    names = [i.name for i in msg.ies]
    assert names == ["sending_complete", "called_party_number", "shift", "display", "shift", "ie_5_77", "ie_5_43"]
    assert msg.ies[3].codeset == 6 and msg.ies[3].view()["text"] == "ABC"
    assert msg.ies[5].codeset == 5  # locking shift stays in force
    assert msg.ies[6].view()["data"] == "0102"


def test_builders_round_trip():
    msg = q931.Message(q931.SETUP, 0x1234, False, [
        ie.bearer(0, layer1=3), ie.channel_id(17, exclusive=False), ie.progress(3),
        ie.calling_number("2025550100", presentation=1), ie.called_number("5551234"),
        ie.subaddress(b"\x50\x31"), ie.display("Alice"), ie.keypad("*70"), ie.signal(1), ie.date_time(26, 11, 22, 23, 1),
        ie.user_user(b"hi"), ie.notification(1), ie.restart_indicator(7), ie.call_state(10), ie.cause(17, 2, b"\x01"),
        ie.raw(0, 0x1C, b"\x91\xa1\x03")])
    data = msg.encode()
    back = q931.decode(data)
    assert back.encode() == data
    assert back.call_ref == 0x1234 and back.name == "SETUP"
    view = {i["name"]: i for i in back.view()["ies"]}
    assert view["channel_identification"]["channel"] == 17 and view["channel_identification"]["exclusive"] is False
    assert view["calling_party_number"]["presentation"] == 1
    assert view["cause"]["value"] == 17 and view["cause"]["location"] == 2 and view["cause"]["diagnostics"] == "01"
    assert view["bearer_capability"]["user_info_layer1"] == 3
    assert view["date_time"] == {"name": "date_time", "year": 26, "month": 11, "day": 22, "hour": 23, "minute": 1}
    assert view["facility"]["data"] == "91a103"
    assert view["restart_indicator"]["restart_class"] == 7 and view["call_state"]["value"] == 10


def test_maintenance_service_message():
    msg = q931.Message(q931.SERVICE, 1, False, [ie.change_status(2), ie.channel_id(5)], pd=q931.PD_MAINTENANCE)
    back = q931.decode(msg.encode())
    assert back.name == "SERVICE" and back.fields("change_status")["status"] == 2


@pytest.mark.parametrize("hexmsg,element,offset", [
    ("08", "header", 0),
    ("090100 05", "protocol_discriminator", 0),
    ("08 0201 ", "message_type", 3),
    ("08 0200 01 85", "message_type", 4),
    ("08 0200 01 05 70", "called_party_number", 5),
    ("08 0200 01 05 7005 8031", "called_party_number", 5),
    ("08 0200 01 05 0801 80", "cause", 5),
    ("08 0200 01 05 1801 a1", "channel_identification", 5),
])
def test_malformed_messages_name_element_and_offset(hexmsg, element, offset):
    with pytest.raises(DecodeError) as info:
        q931.decode(bytes.fromhex(hexmsg))
    assert info.value.element == element and info.value.offset == offset


def test_lapd_errors_report_offsets_from_frame_start():
    with pytest.raises(DecodeError) as info:
        decode_frame("lapd", bytes.fromhex("0201 0000 08 0200 01 05 7005 8031"))
    assert info.value.element == "called_party_number" and info.value.offset == 9
    with pytest.raises(DecodeError):
        decode_frame("lapd", b"\x01\x01\x7f")


def test_every_truncation_of_real_frames_is_decode_error_or_valid(libpri_frames):
    for data in libpri_frames:
        for cut in range(len(data)):
            try:
                decode_frame("lapd", data[:cut])
            except DecodeError:
                pass


@given(st.binary(max_size=80))
def test_random_q931_only_decode_error(data):
    try:
        msg = q931.decode(b"\x08\x02" + data)
    except DecodeError:
        return
    assert msg.encode() == b"\x08\x02" + data
    msg.view()


@given(st.binary(min_size=1, max_size=60), st.integers(0, 200), st.integers(0, 255))
def test_mutated_setup_only_decode_error(tail, pos, value):
    base = bytearray(bytes.fromhex("00010000080200010504038090a31803a983816c0c2180323032353535303130307007803535353132333400")[4:])
    base[pos % len(base)] = value
    for data in (bytes(base), bytes(base) + tail):
        try:
            decode_frame("q931", data)
        except DecodeError:
            pass


@pytest.mark.fuzz
@given(st.binary(max_size=300))
def test_fuzz_lapd_random(data):
    try:
        decode_frame("lapd", data)
    except DecodeError:
        pass


@pytest.mark.fuzz
@given(st.integers(0, 19), st.lists(st.tuples(st.integers(0, 200), st.integers(0, 255)), min_size=1, max_size=6),
       st.binary(max_size=20))
def test_fuzz_mutated_libpri_frames(libpri_frames, index, edits, tail):
    data = bytearray(libpri_frames[index % len(libpri_frames)])
    for pos, value in edits:
        data[pos % len(data)] = value
    for candidate in (bytes(data), bytes(data) + tail, bytes(data[: len(data) // 2])):
        try:
            decode_frame("lapd", candidate)
        except DecodeError:
            pass
