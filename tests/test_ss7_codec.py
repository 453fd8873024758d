"""ISUP/MTP3/MTP2 codecs: round trips, byte-exact rebuild, DecodeError naming element and offset."""
import pytest
from hypothesis import given, strategies as st

import ss7_samples
from pycallcenter.errors import DecodeError
from pycallcenter.ss7 import mtp3_codec as M
from pycallcenter.ss7.isup_codec import IsupMessage, decode_isup, encode_isup
from pycallcenter.ss7.su import decode_su, encode_su
from pycallcenter.ss7.trace import decode_frame, log_line

LIBSS7_IAM = bytes.fromhex("0100010060010a000208060310551532f40a070311025255100000")


def test_libss7_iam_decodes_and_rebuilds_byte_for_byte():
    msg = decode_isup(LIBSS7_IAM)
    assert msg.type == "IAM" and msg.cic == 1
    assert msg.params["called_party_number"]["digits"] == "5551234F"
    assert msg.params["calling_party_number"]["digits"] == "2025550100"
    assert msg.params["calling_partys_category"] == {"category": 10}
    assert encode_isup(msg) == LIBSS7_IAM


@pytest.mark.parametrize("variant", ["itu", "ansi"])
def test_every_message_round_trips(variant):
    for msg in ss7_samples.all_messages(variant=variant):
        data = encode_isup(msg, variant)
        back = decode_isup(data, variant)
        assert back.type == msg.type and back.cic == msg.cic
        assert encode_isup(back, variant) == data, msg.type
        assert list(back.params) == list(msg.params), msg.type


def test_ansi_cic_has_14_bits_and_itu_12():
    msg = IsupMessage("RLC", 0x3ABC, {})
    assert decode_isup(encode_isup(msg, "ansi"), "ansi").cic == 0x3ABC
    with pytest.raises(ValueError):
        encode_isup(msg, "itu")


def test_unknown_parameter_is_kept_raw_and_rebuilt():
    data = bytes.fromhex("05000901fa03aabbcc2a010000")
    msg = decode_isup(data)
    assert msg.params["unknown_0xfa"] == {"data": bytes.fromhex("aabbcc")}
    assert encode_isup(msg) == data


def test_unknown_message_type_is_kept_raw():
    data = bytes.fromhex("0500ee01380101" + "00")
    msg = decode_isup(data)
    assert msg.type == "unknown_0xee"
    assert msg.params["message_compatibility_information"]["release_call"] == 0
    assert encode_isup(msg) == data


@pytest.mark.parametrize("data,element,offset", [
    (b"\x01\x00", "ISUP header", 2),
    (bytes.fromhex("01000100"), "forward_call_indicators", 4),
    (bytes.fromhex("0100010060010a00020806031055"), "called_party_number", 8),
    (bytes.fromhex("01000c0200"), "cause_indicators", 3),
    (bytes.fromhex("01000c020402" "8290"), "optional part", 8),
    (bytes.fromhex("01000c020402" "8290" "12010000"), "cause_indicators", 8),
])
def test_decode_error_names_element_and_offset(data, element, offset):
    with pytest.raises(DecodeError) as err:
        decode_isup(data)
    assert err.value.element == element and err.value.offset == offset


def test_signal_units():
    assert decode_su(encode_su(5, 1, 9, 0))[0] == {"bsn": 5, "bib": 1, "fsn": 9, "fib": 0, "li": 0, "type": "FISU"}
    head, _ = decode_su(encode_su(0, 1, 0, 1, status="SIOS"))
    assert head["type"] == "LSSU" and head["status"] == "SIOS"
    head, msu = decode_su(encode_su(1, 1, 2, 1, b"\x85" + bytes(10)))
    assert head["li"] == 11 and msu == b"\x85" + bytes(10)
    with pytest.raises(DecodeError) as err:
        decode_su(bytes.fromhex("ff8005") + b"\x00")
    assert err.value.element == "MTP2 length indicator"


@pytest.mark.parametrize("variant", ["itu", "ansi"])
def test_routing_label_and_management(variant):
    pc = 0x3FFF if variant == "itu" else 0x0A0B0C
    msu = M.encode_msu(0, 2, pc, 5, 3, M.encode_management("COO", variant, fsn=77, slc=3), variant)
    head, user = M.decode_msu(msu, variant)
    assert (head["dpc"], head["opc"], head["sls"], head["ni"]) == (pc, 5, 3, 2)
    assert M.decode_management(0, user, variant)["fsn"] == 77
    test = M.encode_management("SLTM", variant, data=b"\x12\x34", slc=3)
    assert M.decode_management(1, test, variant) == dict({"message_type": "SLTM", "length": 2, "data": b"\x12\x34"},
                                                          **({"slc": 3} if variant == "ansi" else {}))


def test_libss7_trace_decodes(testdata):
    from pycallcenter.trace.pcap import read_packets
    layers = [decode_frame("mtp2", p.data) for p in read_packets(testdata("traces", "libss7_itu_call.pcapng"))]
    kinds = [l.get("mtp3mg", l.get("isup", {})).get("message_type") for l in layers]
    assert kinds == ["SLTM", "SLTM", "SLTA", "SLTA", "TRA", "TRA", "IAM", "ACM", "ANM", "REL", "RLC"]
    iam = layers[6]
    assert (iam["mtp3"]["opc"], iam["mtp3"]["dpc"], iam["isup"]["cic"]) == (1, 2, 1)
    called = next(p for p in iam["isup"]["parameters"] if p["name"] == "called_party_number")
    assert called["digits"].rstrip("F") == "5551234"
    rel = layers[9]["isup"]["parameters"][0]
    assert rel["name"] == "cause_indicators" and rel["cause"] == 16
    assert "REL cic=1 cause=16" in log_line(layers[9])


def test_decode_frame_offsets_are_from_the_frame_start():
    frame = bytes.fromhex("828320" "85" "02400010" "0100" "01" "00")
    with pytest.raises(DecodeError) as err:
        decode_frame("mtp2", frame[:2] + bytes([len(frame) - 3]) + frame[3:])
    assert err.value.element == "forward_call_indicators" and err.value.offset == 3 + 1 + 4 + 3 + 1


@given(st.binary(max_size=80), st.sampled_from(["mtp2", "mtp3", "isup"]), st.sampled_from(["itu", "ansi"]))
def test_fuzzed_input_raises_only_decode_error(data, proto, variant):
    try:
        decode_frame(proto, data, variant)
    except DecodeError:
        pass


@given(st.binary(min_size=1, max_size=60))
def test_fuzzed_isup_bodies_after_a_valid_header(body):
    for head in (b"\x01\x00\x01", b"\x01\x00\x0c", b"\x01\x00\x18", b"\x01\x00\x06"):
        try:
            msg = decode_isup(head + body)
        except DecodeError:
            continue
        encode_isup(msg)  # whatever decodes must build again


def test_access_transport_uses_the_pri_ie_codecs_and_rebuilds():
    data = bytes.fromhex("0100" "09" "01" "03051e028188a1" "00")
    msg = decode_isup(data)
    first, second = msg.params["access_transport"]["elements"]
    assert first["ie"]["name"] == "progress_indicator" and second["ie"]["name"] == "sending_complete"
    assert encode_isup(msg) == data
    usi = decode_isup(encode_isup(ss7_samples.iam()))
    assert usi.params["user_service_information"]["ie"]["name"] == "bearer_capability"


@pytest.mark.parametrize("variant", ["itu", "ansi"])
def test_label_tuple_matches_decode_msu(variant):
    msu = M.encode_msu(5, 2, 0x1234 if variant == "itu" else 0xABCDEF, 0x0765, 9, b"\x01\x00\x10", variant)
    head, user = M.decode_msu(msu, variant)
    assert M.label_tuple(msu, variant) == (head["si"], head["ni"], head["dpc"], head["opc"], head["sls"])
    assert M.label_tuple(msu[:4], variant) is None


def test_parameter_bodies_are_constructs_that_parse_and_build():
    import construct
    from pycallcenter.ss7 import isup_params as P
    tlv = construct.Struct("code" / construct.Int8ub, "body" / construct.Prefixed(construct.Int8ub, P.CALLED))
    data = bytes.fromhex("04" "06" "0310551532f4")
    value = tlv.parse(data)
    assert value.body["digits"] == "5551234F" and value.body["nature_of_address"] == 3
    assert tlv.build(value) == data
    with pytest.raises(ValueError):
        P.CALLED.encode({"nature_of_address": 200, "digits": "1"})
    with pytest.raises(ValueError):
        P.CALLED.encode({"digits": "12X"})


@pytest.mark.parametrize("variant", ["itu", "ansi"])
def test_decode_frame_output_is_json(variant):
    import json
    for msg in ss7_samples.all_messages(variant=variant) + [decode_isup(bytes.fromhex("05000901fa03aabbcc2a010000"))]:
        layers = decode_frame("isup", encode_isup(msg, variant), variant)
        assert json.loads(json.dumps(layers))["isup"]["message_type"] == msg.type
