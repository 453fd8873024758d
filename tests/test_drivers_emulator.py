"""The board emulator: audio over every cable kind, D-channel frames and faults, alarms and counters,
analog signalling timing by tone zone, caller ID between rings, overruns, pacing and determinism."""
import numpy as np
import pytest

from pycallcenter.drivers import Alarm, EventKind, Law, open_board, parse_config
from pycallcenter.drivers.emulator import Emulator, core, media
from pycallcenter.errors import ConfigError

K = EventKind
MS = 8

BASE = """
[board]
blocksize = 160
law = "ulaw"
tonezones = ["{zone}"]

[[span]]
span = 1
framing = "ccs"
crc4 = true
timing = 1
[[span]]
span = 2
framing = "ccs"
crc4 = true
timing = 2
[[span]]
span = 3
kind = "t1"
framing = "esf"
[[span]]
span = 4
kind = "t1"
framing = "esf"
[[span]]
span = 5
kind = "fxs"
channels = 2
[[span]]
span = 6
kind = "fxo"
channels = 2

[[channels]]
signalling = "bchan"
channels = "1-15,17-31,32-46,48-62"
[[channels]]
signalling = "dchan"
channels = "16,47"
[[channels]]
signalling = "fxs_ks"
channels = "63-86,113-114"
[[channels]]
signalling = "fxo_ks"
channels = "87-110,111-112"

[emulator]
seed = {seed}
[[emulator.cable]]
kind = "crossover"
spans = [1, 2]
[[emulator.cable]]
kind = "crossover"
spans = [3, 4]
[[emulator.cable]]
kind = "pair"
fxs = 111
fxo = 113
[[emulator.cable]]
kind = "pstn_line"
channels = 114
name = "pstn"
[[emulator.cable]]
kind = "phone"
channels = 112
name = "agent"
"""
# channels: E1 span 1 = 1-31 (D 16), span 2 = 32-62 (D 47), T1 RBS span 3 = 63-86 (station),
# span 4 = 87-110 (office), FXS ports 111-112, FXO ports 113-114.


def make(zone="us", seed=1, extra="", **kw):
    return open_board(parse_config(BASE.format(zone=zone, seed=seed) + extra), **kw)


def rand_block(shape, seed=0):
    return np.random.default_rng(seed).integers(0, 256, shape, dtype=np.uint8)


MEDIA = (K.READ_OVERRUN, K.WRITE_UNDERRUN)


def kinds(events, channel=None, media_too=False):
    """Return the kinds of events (of one channel), leaving out media overrun/underrun unless asked."""
    return [e.kind for e in events if (channel is None or e.channel == channel) and (media_too or e.kind not in MEDIA)]


def first(events, kind, channel=None):
    return next(e for e in events if e.kind is kind and (channel is None or e.channel == channel))


# --- audio over each cable kind -------------------------------------------------------------------
def test_crossover_carries_audio_both_ways_one_tick_late():
    b = make()
    a, z = b.open(range(1, 16)), b.open(range(32, 47))
    x, y = rand_block((15, 160), 1), rand_block((15, 160), 2)
    a.write(x)
    z.write(y)
    assert np.array_equal(z.read(), x) and np.array_equal(a.read(), y)
    assert np.all(z.read() == Law.ALAW.idle), "nothing written: the far end hears idle"


def test_crossover_converts_law_between_spans():
    cfg = BASE.format(zone="us", seed=1).replace('span = 2\nframing = "ccs"', 'span = 2\nframing = "ccs"\nlaw = "ulaw"')
    b = open_board(parse_config(cfg))
    a, z = b.open([1]), b.open([32])
    tone = (8000 * np.sin(np.arange(160) * 0.3)).astype(np.int16)
    a.write(media.encode(tone, Law.ALAW))
    got = media.decode(z.read()[0], Law.ULAW).astype(int)
    assert np.max(np.abs(got - tone)) < 600


def test_loopback_returns_tx_as_rx():
    cfg = BASE.format(zone="us", seed=1).replace('kind = "crossover"\nspans = [1, 2]', 'kind = "loopback"\nspan = 1')
    b = open_board(parse_config(cfg))
    g = b.open(range(1, 16))
    x = rand_block((15, 160))
    g.write(x)
    assert np.array_equal(g.read(), x)
    assert b.span(1).status().alarms == Alarm.NONE and b.span(2).status().alarms & Alarm.RED


def test_fxs_fxo_pair_carries_audio_both_ways():
    b = make()
    g = b.open([111, 113])
    x = rand_block((2, 160))
    g.write(x)
    got = g.read()
    assert np.array_equal(got[0], x[1]) and np.array_equal(got[1], x[0])


def test_network_far_end_audio_frames_and_handler():
    cfg = BASE.format(zone="us", seed=1).replace('kind = "crossover"\nspans = [1, 2]',
                                                 'kind = "network"\nspan = 1\nname = "pstn1"')
    b = open_board(parse_config(cfg))
    net = b.emulator.far_ends["pstn1"]
    calls = []
    net.handler = lambda n, now: calls.append(now)
    g, d = b.open(range(1, 16)), b.open_hdlc(16)
    x = rand_block((31, 160))
    net.write(x)
    g.write(x[:15])
    assert np.array_equal(g.read(), x[:15])
    assert np.array_equal(net.read_audio()[:15], x[:15])
    d.write_frame(b"\x00\x01\x7f")
    net.write_frame(b"\x02\x01\x01\x03")
    b.step(1)
    assert net.read_frames() == [b"\x00\x01\x7f"]
    assert d.read_frames() == [b"\x02\x01\x01\x03"]
    assert calls == [0, 160]
    with pytest.raises(ValueError):
        net.write(np.zeros((3, 160), np.uint8))
    net.write_audio(3, np.full(200, 0x42, np.uint8))  # one channel, any length: spans ticks
    got = np.concatenate([g.read()[2] for _ in range(4)])
    assert np.count_nonzero(got == 0x42) == 200 and np.all(g.read()[[0, 1]] == Law.ALAW.idle)



@pytest.mark.parametrize("blocksize", [160, 640])
def test_network_far_end_keeps_60_seconds_of_unread_audio_at_any_blocksize(blocksize):
    """Audio nobody reads is bounded by time, not ticks: at 80 ms ticks 3,000 ticks were 240 s per span."""
    cfg = BASE.format(zone="us", seed=1).replace('kind = "crossover"\nspans = [1, 2]',
                                                 'kind = "network"\nspan = 1\nname = "pstn1"')
    b = open_board(parse_config(cfg.replace("blocksize = 160", f"blocksize = {blocksize}")))
    net = b.emulator.far_ends["pstn1"]
    b.step(70 * 8000 // blocksize)  # 70 s, read by no one
    assert net.read_audio().shape == (31, 60 * 8000)
    net.keep_audio(0)  # a far end that looks only at last_rx keeps nothing
    b.step(3)
    assert net.read_audio().shape == (31, 0) and net.last_rx.shape == (31, blocksize)


# --- D-channel ------------------------------------------------------------------------------------
def test_dchan_frames_cross_and_are_paced_at_64k():
    b = make()
    d1, d2 = b.open_hdlc(16), b.open_hdlc(47)
    frames = [bytes([i]) * 100 for i in range(5)]  # 515 bytes on the line: four 160-byte ticks
    for f in frames:
        d1.write_frame(f)
    got = []
    for _ in range(3):
        b.step(1)
        got += d2.read_frames()
    assert 0 < len(got) < 5
    b.step(2)
    got += d2.read_frames()
    assert got == frames


def test_dchan_loss_and_bit_errors_and_aborts():
    b = make()
    emu = b.emulator
    d1, d2 = b.open_hdlc(16), b.open_hdlc(47)
    emu.set_dchan_faults(2, loss=1.0)
    d1.write_frame(b"lost")
    b.step(1)
    assert d2.read_frames() == [] and b.poll_events() == []
    emu.set_dchan_faults(2, ber=0.5)
    for _ in range(5):
        d1.write_frame(b"corrupt me")
    b.step(1)
    ev = b.poll_events()
    assert kinds(ev, 47).count(K.HDLC_BAD_FCS) == 5 and d2.read_frames() == []
    emu.set_dchan_faults(2, abort=1.0)
    d2.write_frame(b"x")
    b.step(1)
    assert kinds(b.poll_events(), 16) == [K.HDLC_ABORT]
    emu.set_dchan_faults(2)
    d1.write_frame(b"fine")
    b.step(1)
    assert d2.read_frames() == [b"fine"]


def test_dchan_frames_lost_while_cable_pulled_or_channel_dead():
    b = make()
    d1, d2 = b.open_hdlc(16), b.open_hdlc(47)
    b.emulator.pull_cable(2)
    d1.write_frame(b"gone")
    d2.write_frame(b"arrives")
    b.step(1)
    assert d2.read_frames() == [] and d1.read_frames() == [b"arrives"]
    b.emulator.reconnect(2)
    b.emulator.kill_channel(16)
    d1.write_frame(b"gone")
    d2.write_frame(b"gone too")
    b.step(1)
    assert d2.read_frames() == [] and d1.read_frames() == []


# --- alarms and counters --------------------------------------------------------------------------
def test_cable_pull_red_here_yellow_there_and_clears():
    b = make()
    b.step(1)
    assert b.span(1).status().alarms == Alarm.NONE and b.span(1).status().syncsrc == 1
    b.poll_events()
    b.emulator.pull_cable(1)
    b.step(1)
    ev = b.poll_events()
    s1, s2 = b.span(1).status(), b.span(2).status()
    assert s1.alarms == Alarm.RED | Alarm.LOS and s2.alarms == Alarm.YELLOW
    assert {(e.span, e.data["alarm"]) for e in ev if e.kind is K.ALARM} == {(1, "RED"), (1, "LOS"), (2, "YELLOW")}
    assert s1.syncsrc == 2, "span 1 in red alarm cannot be the clock source"
    g = b.open([1])
    far = b.open([32])
    far.write(rand_block((1, 160)))
    assert np.all(g.read() == Law.ALAW.idle), "nothing arrives on a pulled cable"
    b.emulator.reconnect(1)
    b.step(1)
    ev = b.poll_events()
    cleared = {(e.span, e.data["alarm"]) for e in ev if e.kind is K.ALARM_CLEARED}
    assert cleared == {(1, "RED"), (1, "LOS"), (2, "YELLOW")}
    assert b.span(1).status().alarms == Alarm.NONE == b.span(2).status().alarms


def test_unplugged_span_blue_lfa_and_maintenance_loopback():
    cfg = BASE.format(zone="us", seed=1).replace('kind = "crossover"\nspans = [3, 4]', 'kind = "loopback"\nspan = 3')
    b = open_board(parse_config(cfg))
    emu = b.emulator
    b.step(1)
    assert b.span(4).status().alarms == Alarm.RED | Alarm.LOS  # nothing plugged in
    emu.set_ais(1)
    emu.set_lfa(2)
    emu.set_maintenance_loopback(3)
    b.step(1)
    assert b.span(1).status().alarms == Alarm.BLUE
    assert b.span(2).status().alarms == Alarm.RED | Alarm.LFA
    assert b.span(3).status().alarms == Alarm.LOOPBACK
    assert b.span(1).status().syncsrc == 0
    names = {(e.span, e.data["alarm"]) for e in b.poll_events() if e.kind is K.ALARM}
    assert {(1, "BLUE"), (2, "RED"), (2, "LFA"), (3, "LOOPBACK"), (4, "RED"), (4, "LOS")} <= names


def test_bit_errors_count_bpv_crc4_fas_ebit_and_corrupt_audio():
    b = make(seed=3)
    b.emulator.set_bit_errors(2, 1e-3)
    g1, g2 = b.open(range(1, 16)), b.open(range(32, 47))
    x = np.full((15, 160), 0x2A, np.uint8)
    flipped = 0
    for _ in range(50):
        g1.write(x)
        g2.write(x)
        g1.read()
        flipped += int(np.count_nonzero(g2.read() != x))
    s2, s1 = b.span(2).status(), b.span(1).status()
    assert s2.bpvcount > 1000 and s2.crc4count > 100 and s2.fascount > 0
    assert s1.ebitcount == s2.crc4count, "E-bits report span 2's CRC4 errors back to span 1"
    assert s1.bpvcount == 0 and s1.crc4count == 0
    assert flipped > 0
    b.emulator.slip(1, 3)
    assert b.span(1).status().slips == 3
    b.emulator.miss_irq()
    g1.write(x)
    g2.write(x)
    g1.read()
    assert np.all(g2.read() == Law.ALAW.idle), "a missed interrupt loses a tick of audio"
    assert b.span(1).status().irqmisses == 1 == b.span(2).status().irqmisses


# --- analog and robbed-bit signalling -------------------------------------------------------------
@pytest.mark.parametrize("zone, cadence", [("us", [(2000, 4000)]), ("uk", [(400, 200), (400, 2000)])])
def test_ring_cadence_follows_tone_zone(zone, cadence):
    b = make(zone)
    b.open([111, 113])
    b.channel(111).ring(True)
    b.step(int(2 * sum(on + off for on, off in cadence) / 20) + 1)
    ev = [e for e in b.poll_events() if e.channel == 113 and e.kind not in MEDIA]
    times = [(e.kind, e.sample_time) for e in ev]
    expect, t = [], 0
    for _ in range(2):
        for on, off in cadence:
            expect += [(K.RING_BEGIN, t), (K.RING_END, t + on * MS)]
            t += (on + off) * MS
    assert times[:len(expect)] == expect


def test_ringer_events_and_ring_trip():
    b = make()
    b.open([111, 113])
    b.channel(111).ring(True)
    b.step(10)
    b.channel(113).hook("off")
    b.step(5)
    ev = b.poll_events()
    assert kinds(ev, 111) == [K.RINGER_ON, K.RINGER_OFF, K.OFF_HOOK]
    assert kinds(ev, 113) == [K.RING_BEGIN, K.RING_END]
    assert first(ev, K.OFF_HOOK).sample_time == 10 * 160 + 30 * MS  # debounced
    assert first(ev, K.RINGER_OFF).sample_time == first(ev, K.OFF_HOOK).sample_time  # ring trip


def test_hook_debounce_flash_and_on_hook():
    b = make()
    b.open([111, 113])
    fxo = b.channel(113)
    fxo.hook("off")
    b.step(1)
    fxo.hook("on")  # a 20 ms bounce: shorter than the 30 ms debounce, never seen
    b.step(1)
    fxo.hook("off")
    b.step(10)
    assert kinds(b.poll_events(), 111) == [K.OFF_HOOK]
    fxo.hook("flash")
    b.step(60)
    ev = b.poll_events()
    assert kinds(ev, 111) == [K.FLASH] and kinds(ev, 113) == [K.HOOK_COMPLETE]
    t_on = b.sample_time
    fxo.hook("on")
    b.step(70)
    ev = b.poll_events()
    assert kinds(ev, 111) == [K.ON_HOOK]
    assert ev[0].sample_time == t_on + 1250 * MS  # longer than the receive flash time
    with pytest.raises(ValueError, match="on hook"):
        fxo.hook("flash")


def test_polarity_and_disconnect_supervision():
    b = make()
    b.open([111, 113])
    b.channel(111).set_polarity(True)
    b.step(1)
    ev = b.poll_events()
    assert kinds(ev, 113) == [K.POLARITY] and ev[0].data == {"reversed": True}
    b.channel(113).hook("off")
    b.step(5)
    b.channel(111).hook("on")  # the FXS port drops loop current: the FXO port sees the far end clear
    b.step(1)
    assert K.ON_HOOK in kinds(b.poll_events(), 113)


def test_wink_and_hook_over_robbed_bit_t1():
    b = make()
    b.open([63, 87])
    station, office = b.channel(63), b.channel(87)
    station.hook("off")
    b.step(5)
    assert kinds(b.poll_events(), 87) == [K.OFF_HOOK]
    office.hook("wink")
    b.step(10)
    ev = b.poll_events()
    assert kinds(ev, 63) == [K.WINK] and kinds(ev, 87) == [K.HOOK_COMPLETE]
    assert first(ev, K.WINK).sample_time == 5 * 160 + 150 * MS
    station.hook("wink")
    b.step(10)
    assert K.WINK in kinds(b.poll_events(), 87)
    with pytest.raises(ValueError, match="office"):
        office.hook("flash")


def test_pstn_line_caller_id_between_rings_decodes():
    callerid = pytest.importorskip("pycallcenter.dsp.callerid")
    pytest.importorskip("pycallcenter.dsp.fsk")
    b = make()
    pstn = b.emulator.far_ends["pstn"]
    g = b.open([114])
    pstn.call("5551234", "ALICE")
    blocks, events = [], []
    for _ in range(320):  # 6.4 s: first ring, gap, second ring begins at 6 s
        blocks.append(g.read()[0])
        events += b.poll_events()
    audio = media.decode(np.concatenate(blocks), Law.ULAW)
    end1 = [e.sample_time for e in events if e.kind is K.RING_END][0]
    begin2 = [e.sample_time for e in events if e.kind is K.RING_BEGIN][1]
    (cid,) = callerid.decode_callerid(audio[end1:begin2])
    assert (cid.number, cid.name) == ("5551234", "ALICE")
    assert not callerid.decode_callerid(audio[:end1]), "nothing before the first ring ends"
    assert np.all(audio[:end1] == 0), "the FXO port hears no audio while the first ring is on"


def test_pstn_line_outgoing_call_dial_answer_hangup():
    pytest.importorskip("pycallcenter.dsp.tones")
    extra = "[emulator.line]\npolarity_on_answer = true\n"
    cfg = BASE.format(zone="us", seed=1).replace("[emulator]\nseed = 1\n", "[emulator]\nseed = 1\n" + extra)
    b = open_board(parse_config(cfg))
    pstn = b.emulator.far_ends["pstn"]
    b.open([114])
    fxo = b.channel(114)
    fxo.hook("off")
    b.step(3)
    assert pstn.off_hook
    fxo.dial("12w3#")
    b.step(100)
    ev = b.poll_events()
    done = first(ev, K.DIAL_COMPLETE, 114)
    assert done.data == {"digits": "123#"} and pstn.digits == "123#"
    assert done.sample_time == 3 * 160 + (4 * 200 + 500) * MS
    pstn.answer()
    b.step(1)
    pstn.hangup()
    b.step(1)
    assert [(e.kind, e.data.get("reversed")) for e in b.poll_events() if e.kind not in MEDIA] == [
        (K.POLARITY, True), (K.POLARITY, False), (K.ON_HOOK, None)]


def test_phone_on_fxs_port():
    dtmf = pytest.importorskip("pycallcenter.dsp.dtmf")
    b = make()
    phone = b.emulator.far_ends["agent"]
    g = b.open([112])
    b.channel(112).ring(True)
    b.step(2)
    assert phone.ringing and phone.rings == 1
    phone.off_hook()
    b.step(5)
    assert not phone.ringing and kinds(b.poll_events(), 112)[-1] is K.OFF_HOOK
    g.read()
    phone.dial("42")
    det = dtmf.DtmfDetector(1)
    digits = [e.digit for _ in range(30) for e in det.process_ulaw(g.read()) if e.kind == "begin"]
    assert digits == ["4", "2"]
    x = rand_block((1, 160))
    g.write(x)
    b.step(1)
    assert np.array_equal(phone.read_audio()[-160:], x[0])
    phone.flash()
    b.step(60)
    assert kinds(b.poll_events(), 112) == [K.FLASH]


def test_phone_tap_shows_every_tick_what_the_phones_heard_in_one_block():
    b = make()
    emu = b.emulator
    phone = emu.far_ends["agent"]
    g = b.open([112])
    tap = emu.tap_phones([phone])
    with pytest.raises(ValueError):
        emu.tap_phones([phone])  # a phone's audio goes to one tap
    b.channel(112).ring(True)
    b.step(1)
    g.write(rand_block((1, 160), 9))
    b.step(1)
    assert phone.ringing and np.all(tap.block == phone.law.idle)  # a ringing phone hears nothing
    phone.off_hook()
    b.step(5)
    g.read()
    for seed in range(3):
        x = rand_block((1, 160), seed)
        g.write(x)
        b.step(1)
        assert tap.block.shape == (1, 160) and np.array_equal(tap.block[0], x[0])
    assert phone.read_audio().size == 0  # tapped: nothing piles up for read_audio()
    emu.kill_channel(112)
    g.write(x)
    b.step(1)
    assert np.all(tap.block == phone.law.idle)
    emu.kill_channel(112, dead=False)
    tap.close()
    g.write(x)
    b.step(1)
    assert np.array_equal(phone.read_audio()[-160:], x[0])


# --- impairments, gains, dead channels ------------------------------------------------------------
def level(codes, law=Law.ALAW):
    return float(np.sqrt(np.mean(media.decode(codes, law).astype(float) ** 2)))


def test_gains_level_noise_and_dead_channel():
    b = make(seed=5)
    emu = b.emulator
    a, z = b.open([1, 2, 3, 4]), b.open([32, 33, 34, 35])
    tone = media.encode((8000 * np.sin(np.arange(160) * 0.25)).astype(np.int16), Law.ALAW)
    block = np.tile(tone, (4, 1))
    b.channel(2).set_gains(rx_db=0.0, tx_db=-6.0)
    emu.set_line_level(34, -12.0)
    emu.kill_channel(35)
    a.write(block)
    got = z.read()
    ref = level(got[0])
    assert abs(20 * np.log10(level(got[1]) / ref) + 6) < 0.5
    assert abs(20 * np.log10(level(got[2]) / ref) + 12) < 0.5
    assert np.all(got[3] == Law.ALAW.idle)
    emu.set_line_noise(32, -20.0)
    a.write(np.full((4, 160), Law.ALAW.idle, np.uint8))
    noisy = z.read()[0]
    assert 500 < level(noisy) < 3000
    emu.kill_channel(35, dead=False)
    a.write(block)
    assert np.array_equal(z.read()[3], tone)


def test_channel_law_and_rx_gain():
    b = make()
    a, z = b.open([1]), b.open([32])
    b.channel(32).set_law("ulaw")
    b.channel(32).set_gains(rx_db=6.0)
    lin = (4000 * np.sin(np.arange(160) * 0.25)).astype(np.int16)
    a.write(media.encode(lin, Law.ALAW)[None])
    got = media.decode(z.read()[0], Law.ULAW).astype(float)
    assert abs(20 * np.log10(np.sqrt(np.mean(got ** 2)) / np.sqrt(np.mean(lin.astype(float) ** 2))) - 6) < 0.5
    b.step(1)
    assert level(z.read()[0], Law.ULAW) < 20, "idle A-law (+-8) stays near silence after conversion and gain"


# --- media clock: overrun, underrun, blocksize, realtime pacing -------------------------------------
def test_slow_reader_overrun_and_missing_writer_underrun():
    b = make()
    g, other = b.open([1, 2]), b.open([32])
    g.write(np.zeros((2, 160), np.uint8))
    for _ in range(10):  # the other group keeps the clock going; g neither reads nor writes
        other.read()
    ev = b.poll_events()
    assert kinds(ev, 1, True) == [K.WRITE_UNDERRUN, K.READ_OVERRUN] and kinds(ev, 2, True) == kinds(ev, 1, True)
    assert first(ev, K.WRITE_UNDERRUN).sample_time == 160
    assert len(g.rx) == b.emulator.buffers
    g.read()
    other.read()
    assert K.READ_OVERRUN not in kinds(b.poll_events(), media_too=True)


@pytest.mark.parametrize("blocksize", [8, 1024])
def test_blocksize_limits(blocksize):
    cfg = BASE.format(zone="us", seed=1).replace("blocksize = 160", f"blocksize = {blocksize}")
    b = open_board(parse_config(cfg))
    a, z = b.open([1]), b.open([32])
    x = rand_block((1, blocksize))
    a.write(x)
    assert np.array_equal(z.read(), x)
    d1, d2 = b.open_hdlc(16), b.open_hdlc(47)
    d1.write_frame(b"\x00" * 40)
    b.step(10)
    assert d2.read_frames() == [b"\x00" * 40]


class FakeClock:
    """Stands in for time.monotonic/sleep in the emulator's pacing."""

    def __init__(self):
        self.now = 0.0

    def monotonic(self):
        return self.now

    def sleep(self, s):
        self.now += s


def test_realtime_pacing_and_late_reader(monkeypatch):
    clock = FakeClock()
    monkeypatch.setattr(core, "time", clock)
    b = make(realtime=True)
    g = b.open([1])
    g.read()
    assert clock.now == pytest.approx(0.02)  # waited for the first tick boundary
    g.read()
    assert clock.now == pytest.approx(0.04)
    clock.now += 0.5  # the reader stalls for 25 ticks
    ev = b.poll_events()
    g.read()
    ev += b.poll_events()
    assert b.emulator.ticks == 27 and K.READ_OVERRUN in kinds(ev, 1, True)
    b.step(3)
    assert b.emulator.ticks == 30 and clock.now == pytest.approx(0.6)


# --- determinism ------------------------------------------------------------------------------------
def script(seed):
    b = make(seed=seed)
    emu = b.emulator
    emu.set_bit_errors(2, 2e-4)
    emu.set_dchan_faults(1, loss=0.3, ber=1e-3)
    emu.set_line_noise(113, -30.0)
    g, d1, d2 = b.open(range(1, 31 + 1 - 16)), b.open_hdlc(16), b.open_hdlc(47)
    ports = b.open([111, 113])
    b.channel(111).ring(True)
    for i in range(300):
        g.read()
        g.write(rand_block((15, 160), i))
        ports.read()
        if i % 7 == 0:
            d1.write_frame(bytes([i % 256]) * 30)
            d2.write_frame(bytes([i % 256]) * 20)
        if i == 150:
            b.channel(113).hook("off")
        if i == 200:
            emu.pull_cable(1)
        if i == 220:
            emu.reconnect(1)
    frames = d1.read_frames() + d2.read_frames()
    status = (b.span(1).status(), b.span(2).status())
    return emu.event_log_text(), frames, status


def test_same_seed_same_event_log():
    log1, frames1, st1 = script(11)
    log2, frames2, st2 = script(11)
    assert log1 == log2 and frames1 == frames2 and st1 == st2
    assert "hdlc_bad_fcs" in log1 and "alarm" in log1 and "off_hook" in log1
    log3, _, st3 = script(12)
    assert (log3, st3) != (log1, st1)


def test_emulator_accepts_paths(tmp_path):
    p = tmp_path / "b.toml"
    p.write_text(BASE.format(zone="us", seed=4))
    emu = Emulator(str(p), seed=9)
    assert emu.seed == 9 and emu.board.emulator is emu
    with pytest.raises(ValueError, match="already"):
        emu.phone(112)


def test_network_span_gives_robbed_bit_channels_a_line_end():
    cfg = BASE.format(zone="us", seed=1).replace('kind = "crossover"\nspans = [3, 4]',
                                                 'kind = "network"\nspan = 3\nname = "co"')
    b = open_board(parse_config(cfg))
    net = b.emulator.far_ends["co"]
    co = net.lines[1]  # the central office facing channel 63 (fxs_ks, first channel of span 3)
    g = b.open([63])
    co.call()
    b.step(2)
    assert kinds(b.poll_events(), 63) == [K.RING_BEGIN]
    b.channel(63).hook("off")
    b.step(3)
    assert co.off_hook and kinds(b.poll_events(), 63) == [K.RING_END]
    for _ in range(b.emulator.buffers):  # drain the blocks buffered while stepping
        g.read()
    co.write_audio(np.full(160, 0x11, np.uint8))
    assert np.all(g.read() == 0x11)
    with pytest.raises(ValueError, match="digital span"):
        b.emulator.pstn_line(64)


def test_unknown_tone_zone_names_the_line():
    text = BASE.format(zone="atlantis", seed=1)
    with pytest.raises(ConfigError, match="atlantis") as info:
        Emulator(parse_config(text, "b.toml"))
    assert info.value.line == text.splitlines().index('tonezones = ["atlantis"]') + 1


def test_hanging_up_during_a_flash_is_an_on_hook():
    b = make()
    b.open([111, 113])
    fxo = b.channel(113)
    fxo.hook("off")
    b.step(5)
    fxo.hook("flash")
    b.step(10)  # 200 ms into the 750 ms flash
    fxo.hook("on")
    b.step(100)
    ev = b.poll_events()
    assert kinds(ev, 111) == [K.OFF_HOOK, K.ON_HOOK]
    assert not b.channel(113).line.office_view and not b.channel(113).line._pending


PRI = """
[board]
name = "{name}"
[[span]]
span = 1
framing = "ccs"
crc4 = true
timing = 1
[[channels]]
signalling = "bchan"
channels = "1-15,17-31"
[[channels]]
signalling = "dchan"
channels = 16
"""


def test_two_boards_on_one_clock():
    emu = Emulator(parse_config(PRI.format(name="cpe")), seed=2)
    net_board = emu.add_board(parse_config(PRI.format(name="network")))
    cpe = emu.board
    emu.crossover(cpe.span(1), net_board.span(1))
    a, z = cpe.open(range(1, 16)), net_board.open(range(1, 16))
    da, dz = cpe.open_hdlc(16), net_board.open_hdlc(16)
    x = rand_block((15, 160))
    a.write(x)
    assert np.array_equal(z.read(), x)
    a.read()
    dz.write_frame(b"\x02\x01\x7f")
    cpe.step(1)
    assert da.read_frames() == [b"\x02\x01\x7f"]
    assert kinds(cpe.poll_events()) == [] and kinds(net_board.poll_events()) == []
    emu.pull_cable(net_board.span(1))
    cpe.step(1)
    assert [e.data["alarm"] for e in cpe.poll_events() if e.kind is K.ALARM] == ["YELLOW"]
    assert [e.data["alarm"] for e in net_board.poll_events() if e.kind is K.ALARM] == ["RED", "LOS"]
    assert net_board.span(1).status().syncsrc == 0 and cpe.span(1).status().syncsrc == 1
    assert "board1 " in emu.event_log_text() and net_board.sample_time == cpe.sample_time
    with pytest.raises(ConfigError, match="blocksize"):
        emu.add_board(parse_config(PRI.format(name="x").replace("[board]", "[board]\nblocksize = 80")))


def test_cabling_errors():
    emu = make().emulator
    with pytest.raises(ValueError, match="span 1 already has a cable"):
        emu.loopback(1)
    with pytest.raises(ValueError, match="two different spans"):
        emu.crossover(emu.board.span(1), 1)
    with pytest.raises(ValueError, match="span 5 is fxs"):
        emu.network(5)
    with pytest.raises(ValueError, match="already cabled"):
        emu.pair(111, 114)
    # one line per cable end pair: 24 robbed-bit pairs and the FXS-FXO pair each join two channels
    assert len(emu.lines) == len([c for c in emu.board.rows if c.signalling.has_hook]) - 24 - 1
