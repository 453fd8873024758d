"""Bounded inputs: capture files, audio files, board configs and ISUP messages that claim absurd sizes are
refused with one line naming where, before anything large is allocated; truncated blocks raise DecodeError."""
import struct
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pycallcenter import cli
from pycallcenter.drivers import parse_config
from pycallcenter.drivers.config import MAX_CHANNEL
from pycallcenter.errors import ConfigError, DecodeError
from pycallcenter.ss7.isup_codec import decode_isup
from pycallcenter.trace import pcap
from pycallcenter.trace.pcap import read_packets


class Endless:
    """A binary stream that never ends (like /dev/zero) and fails the test on any unbounded read."""

    def __init__(self, head=b"", fill=b"\0"):
        self.head, self.fill, self.largest, self.pos = head, fill, 0, 0

    def read(self, n=-1):
        assert n is not None and 0 <= n <= 64 * 1024 * 1024, f"unbounded read({n}) of an endless file"
        self.largest = max(self.largest, n)
        out, self.head = self.head[:n], self.head[n:]
        more = n - len(out)
        cycle = self.fill * (2 + more // len(self.fill))
        start = self.pos % len(self.fill)
        self.pos += more
        return out + cycle[start:start + more]


# ------------------------------------------------------------------------------------------ captures

def _block(btype, body):
    return struct.pack("<II", btype, 12 + len(body)) + body + struct.pack("<I", 12 + len(body))


SHB = _block(0x0A0D0D0A, struct.pack("<IHHq", 0x1A2B3C4D, 1, 0, -1))
IDB = _block(1, struct.pack("<HHI", pcap.LINKTYPE_LAPD, 0, 65535))


def test_endless_zeros_are_refused_without_reading_them_all():
    src = Endless()
    with pytest.raises(DecodeError, match="magic"):
        list(read_packets(src))


def test_endless_blocks_without_packets_stop():
    # a valid section header followed by empty custom blocks for ever: bounded reads, then one error
    src = Endless(SHB + IDB, fill=_block(0x00000BAD, b""))
    with pytest.raises(DecodeError, match="carry no packet"):
        list(read_packets(src))
    assert src.largest <= pcap.MAX_BLOCK


def test_a_block_claiming_gigabytes_is_refused_before_reading_it():
    src = Endless(SHB + IDB + struct.pack("<II", 6, 0x7FFFFFFC))
    with pytest.raises(DecodeError, match="claims") as err:
        list(read_packets(src))
    assert err.value.offset == len(SHB + IDB)


def test_a_pcap_record_claiming_gigabytes_is_refused():
    head = struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, pcap.LINKTYPE_LAPD)
    src = Endless(head + struct.pack("<IIII", 0, 0, 0x7FFFFFFF, 0x7FFFFFFF))
    with pytest.raises(DecodeError, match="claims") as err:
        list(read_packets(src))
    assert err.value.offset == 24


@pytest.mark.parametrize("block, element", [
    (_block(1, b""), "pcapng interface"),  # empty IDB
    (IDB + _block(6, b"\0" * 8), "pcapng packet"),  # short EPB
    (IDB + _block(3, b""), "pcapng packet"),  # short SPB
    (IDB + _block(2, b"\0" * 12), "pcapng packet"),  # short (obsolete) packet block
])
def test_truncated_pcapng_blocks_raise_decode_error(block, element):
    with pytest.raises(DecodeError) as err:
        list(read_packets(SHB + block))
    assert err.value.element == element
    assert err.value.offset == len(SHB) + len(block) - (len(block) if element == "pcapng interface" else
                                                        len(block) - len(IDB))


def test_decode_pcap_dev_zero_is_one_line(capsys):
    assert cli.main(["decode", "--pcap", "/dev/zero"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "magic 00000000" in err


# ------------------------------------------------------------------------------------------ audio

def test_wav_at_one_hertz_is_refused_before_decoding(tmp_path, monkeypatch, capsys):
    import soundfile as sf

    path = tmp_path / "one_hz.wav"
    sf.write(str(path), np.zeros(1000, np.int16), 1, subtype="PCM_16")
    monkeypatch.setattr(sf, "read", _no_decode)
    assert cli.main(["dtmf", str(path)]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "sample rate 1 Hz" in err and str(path) in err


def test_a_long_wav_is_refused_before_decoding(tmp_path, monkeypatch):
    import soundfile as sf

    from pycallcenter.dsp import audio

    path = tmp_path / "long.wav"
    sf.write(str(path), np.zeros(3 * 8000, np.int16), 8000, subtype="PCM_16")
    monkeypatch.setattr(audio, "MAX_SECONDS", 2)
    monkeypatch.setattr(sf, "read", _no_decode)
    with pytest.raises(ValueError, match="24000 frames at 8000 Hz"):
        audio.read_audio(path)


def test_raw_g711_from_an_endless_file_is_bounded(monkeypatch):
    from pycallcenter.dsp import audio

    monkeypatch.setattr(audio, "MAX_SECONDS", 1)
    with pytest.raises(ValueError, match="more than 1 seconds"):
        audio.read_audio("/dev/zero", law="alaw")


def _no_decode(*args, **kwargs):
    raise AssertionError("the samples were decoded before the header was checked")


# ------------------------------------------------------------------------------------------ board configs

SPAN = """\
[board]
blocksize = 160

[[span]]
span = 1
kind = "fxs"
channels = {count}
"""
CHANNELS = """\
[board]
blocksize = 160

[[span]]
span = 1
kind = "fxs"
channels = 8

[[channels]]
signalling = "fxo_ks"
channels = "{spec}"
"""


def test_a_span_above_the_highest_channel_is_refused_with_its_line():
    with pytest.raises(ConfigError, match=f"above the highest channel number {MAX_CHANNEL}") as err:
        parse_config(SPAN.format(count=MAX_CHANNEL + 1), "board.toml")
    assert err.value.line == 7


def test_a_channel_range_above_the_highest_channel_is_refused_with_its_line():
    with pytest.raises(ConfigError, match="channel 5000 is above") as err:
        parse_config(CHANNELS.format(spec="1-5000"), "board.toml")
    assert err.value.line == 11


def test_a_hundred_million_channels_fail_fast_in_little_memory():
    """The literal inputs, in a child limited to 1 GiB of address space: before the bounds, both ran
    out of memory expanding the range."""
    code = textwrap.dedent(f"""
        import resource
        resource.setrlimit(resource.RLIMIT_AS, (1 << 30, 1 << 30))
        from pycallcenter.drivers import parse_config
        from pycallcenter.errors import ConfigError
        for text in ({SPAN.format(count=100000000)!r}, {CHANNELS.format(spec="1-100000000")!r}):
            try:
                parse_config(text, "board.toml")
            except ConfigError as exc:
                print(exc)
        """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.splitlines() == [
        f"board.toml:7: span 1: channels 1-100000000 go above the highest channel number {MAX_CHANNEL}",
        f"board.toml:11: channels: channel 100000000 is above the highest channel number {MAX_CHANNEL}"]


# ------------------------------------------------------------------------------------------ ISUP offsets

def test_isup_optional_pointer_past_the_end_names_the_pointer(capsys):
    assert cli.main(["decode", "--proto", "isup", "07000d00a1"]) == 1
    err = capsys.readouterr().err
    assert "optional part pointer at offset 4:" in err and err.count("\n") == 1


@settings(max_examples=400, deadline=None)
@given(st.binary(max_size=40), st.sampled_from(["itu", "ansi"]))
def test_isup_decode_errors_name_offsets_inside_the_message(data, variant):
    try:
        decode_isup(data, variant)
    except DecodeError as exc:
        # a truncation names where the missing part would start (at most the end); nothing beyond it
        assert exc.offset is not None and 0 <= exc.offset <= len(data), str(exc)


@settings(max_examples=600, deadline=None)
@given(st.sampled_from(["lapd", "q931", "mtp2", "mtp3", "isup"]), st.binary(max_size=48),
       st.sampled_from(["itu", "ansi"]))
def test_every_decoder_names_an_offset_inside_what_it_was_given(proto, data, variant):
    from pycallcenter.commands.decode import decode

    try:
        decode(proto, data, variant)
    except DecodeError as exc:
        assert exc.offset is not None and 0 <= exc.offset <= len(data), str(exc)
