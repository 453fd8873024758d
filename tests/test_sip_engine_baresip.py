"""baresip (Debian baresip-core), a real SIP user agent, judges the SIP legs on loopback in real time:
it calls the engine, hears the script's prompt, and its key press (RFC 4733) reaches the script; the
engine calls it through a trunk, it answers on its own, and audio crosses both ways. Its audio is a
tone file (aufile) and what it hears is dumped to WAV by its sndfile module."""
import shutil
import socket
import ssl
import subprocess
import time
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from engine_rig import PRI
from engine_sip_rig import free_rtp_range, power_at as _power_at, tone as _tone
from pycallcenter import ivr
from pycallcenter.drivers import open_board, parse_config
from pycallcenter.engine.engine import Engine
from pycallcenter.engine.sip import Peer, SipTrunk
from pycallcenter.tls import self_signed, server_context

BARESIP = shutil.which("baresip")
pytestmark = pytest.mark.skipif(BARESIP is None, reason="baresip is not installed (Debian baresip-core, in the "
                                                       "Makefile's TEST_DEBS)")

CONFIG = """poll_method\t\tpoll
sip_listen\t\t127.0.0.1:{port}
audio_player\t\taubridge,nowhere
audio_source\t\taufile,{tone}
audio_alert\t\taufile,{tone}
rtp_ports\t\t{rtp_lo}-{rtp_hi}
module_path\t\t/usr/lib/baresip/modules
module\t\t\tstdio.so
module\t\t\tg711.so
module\t\t\taufile.so
module\t\t\taubridge.so
module\t\t\tsndfile.so
module\t\t\tsrtp.so
module_app\t\taccount.so
module_app\t\tmenu.so
snd_path\t\t{folder}
"""


def _free_udp_port():
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]




class Baresip:
    """A baresip process with its own config folder; keys() types into its menu (digits become DTMF)."""

    def __init__(self, folder, user="guest", answer=False, mediaenc=None, account=None, cafile=None):
        """cafile: the certificate baresip trusts for SIP over TLS (its sip_cafile)."""
        self.folder = folder
        self.port = _free_udp_port()
        sf.write(folder / "tone.wav", _tone(600, 30.0), 8000, subtype="PCM_16")
        lo, hi = free_rtp_range(20)
        config = CONFIG.format(port=self.port, tone=folder / "tone.wav", folder=folder, rtp_lo=lo, rtp_hi=hi)
        (folder / "config").write_text(config + (f"sip_cafile\t\t{cafile}\n" if cafile else ""))
        mode = (";answermode=auto" if answer else "") + (f";mediaenc={mediaenc}" if mediaenc else "")
        (folder / "accounts").write_text((account or f"<sip:{user}@127.0.0.1:{self.port}>;regint=0{mode}") + "\n")
        self.log = open(folder / "baresip.log", "w")
        self.proc = None

    def start(self, *commands):
        """Start baresip, running each command at start (e.g. '/dial sip:...')."""
        args = [BARESIP, "-f", str(self.folder)]
        for c in commands:
            args += ["-e", c]
        self.proc = subprocess.Popen(args, stdin=subprocess.PIPE, stdout=self.log, stderr=subprocess.STDOUT)

    def keys(self, text):
        """Type keys into baresip's menu."""
        self.proc.stdin.write(text.encode())
        self.proc.stdin.flush()

    def stop(self):
        """Quit baresip (q), or end the process we started if it does not go."""
        if self.proc is not None and self.proc.poll() is None:
            try:
                self.keys("q")
                self.proc.wait(timeout=5)
            except (OSError, subprocess.TimeoutExpired):
                self.proc.kill()
                self.proc.wait()
        self.log.close()

    def heard(self):
        """Return what baresip decoded from us (its sndfile dump), int16 at 8 kHz."""
        dumps = sorted(self.folder.glob("dump-*-dec.wav"))
        assert dumps, (self.folder / "baresip.log").read_text()[-2000:]
        return sf.read(dumps[-1], dtype="int16")[0]

    def text(self):
        """Return baresip's output so far."""
        if not self.log.closed:
            self.log.flush()
        return (self.folder / "baresip.log").read_text(errors="replace")


def realtime(eng, seconds, until=None, tick=None):
    """Tick the engine (or call tick(), e.g. a centre's) paced to the wall clock, as baresip runs in real
    time; return True once until() holds."""
    ticks = int(seconds / 0.02)
    start = time.monotonic()
    for n in range(ticks):
        (tick or eng.tick)()
        if until is not None and until():
            return True
        ahead = start + (n + 1) * 0.02 - time.monotonic()
        if ahead > 0:
            time.sleep(ahead)
    return False


def _ivr(eng):
    """Route every call to a script that answers, plays 1000 Hz for 1.5 s (noting the loudest sample heard
    from the caller), collects one key, plays 1400 Hz and hangs up; return the dict it fills ("called",
    "srtp", "heard", "digits")."""
    got = {}

    async def script(call):
        got["called"] = call.called
        await call.answer()
        got["srtp"] = eng.packet.stats(call.leg.row)["srtp"]
        await call.play(_tone(1000, 1.5))
        got["heard"] = int(np.abs(eng.media.rx[call.leg.row]).max())
        r = await call.collect(max_digits=1, terminator="", first_timeout=8.0)
        got["digits"] = r.digits
        await call.play(_tone(1400, 1.0))
        await call.hangup()

    eng.router = lambda leg: script
    return got


def _key_after_prompt(eng, phone, got):
    """Once the prompt has played to a started baresip, press 4 on it and run until the script hung up;
    baresip is stopped afterwards whatever happens."""
    try:
        assert realtime(eng, 10.0, until=lambda: "heard" in got), phone.text()[-2000:]
        phone.keys("4")
        assert realtime(eng, 8.0, until=lambda: "digits" in got and not eng.legs), phone.text()[-2000:]
        realtime(eng, 0.5)
    finally:
        phone.stop()


def _call_baresip(eng, phone, target, ready):
    """Start baresip, run ready() (which returns True once it can be called), call target with spawn_call and
    run until that call is over; baresip is stopped afterwards. Return what spawn_call noted."""
    got = {}
    try:
        phone.start()
        assert ready(), phone.text()[-2000:]
        spawn_call(eng, target, got)
        assert realtime(eng, 12.0, until=lambda: got.get("done") and not eng.legs), phone.text()[-2000:]
        realtime(eng, 0.5)
    finally:
        phone.stop()
    return got


def spawn_call(eng, target, got):
    """Start a dialler that calls target; once answered it notes the row's SRTP suite, plays 900 Hz for two
    seconds while noting the loudest 600 Hz heard (baresip's tone file), and hangs up. Fills got
    ("outcome", "srtp", "600", "done")."""

    async def dialler():
        r = await ivr.dial(eng, target, timeout=10, caller="2025550100")
        got["outcome"] = r.outcome
        if r.outcome == "answered":
            got["srtp"] = eng.packet.stats(r.leg.row)["srtp"]
            eng.media.play(r.leg.row, [_tone(900, 2.0)])
            levels = []
            for _ in range(100):
                await ivr.wait(eng, 0.02)
                levels.append(_power_at(eng.media.rx[r.leg.row], 600))
            got["600"] = max(levels)
            r.leg.hangup()
            got["done"] = True

    eng.scheduler.spawn(dialler(), "dialler", eng.now)


@pytest.fixture
def engine():
    board = open_board(parse_config(PRI.format(seed=1)))
    eng = Engine(board, tone_plan="etsi", packet_rows=2, rtp_ports=free_rtp_range())
    made = []

    def add(**kw):
        trunk = eng.add(SipTrunk(eng, listen=("127.0.0.1", 0), **kw))
        made.append(trunk)
        return trunk

    yield eng, add
    eng.shutdown()
    for t in made:
        t.close()


# baresip's srtp module: "srtp-mand" offers RTP/SAVP with a key, "srtp" a keyed RTP/AVP (best-effort)
@pytest.mark.parametrize("policy, mediaenc", [("off", None), ("require", "srtp-mand")])
def test_baresip_calls_in_hears_the_prompt_and_its_key_reaches_the_script(engine, tmp_path, policy, mediaenc):
    eng, add = engine
    trunk = add(guests=True, srtp=policy)
    got = _ivr(eng)
    phone = Baresip(tmp_path, mediaenc=mediaenc)
    phone.start(f"/dial sip:100@127.0.0.1:{trunk.address[1]}")
    _key_after_prompt(eng, phone, got)
    assert got["called"] == "100"
    assert got["srtp"] == (None if mediaenc is None else "AES_CM_128_HMAC_SHA1_80")
    assert got["digits"] == "4"  # baresip's key press came as an RFC 4733 event
    assert got["heard"] > 2000  # baresip's tone file reached the script
    heard = phone.heard()
    assert _power_at(heard, 1000) > 20 * _power_at(heard, 1700)  # the prompt reached baresip
    assert _power_at(heard, 1400) > 20 * _power_at(heard, 1700)
    assert "terminated" in phone.text()


@pytest.mark.parametrize("policy, mediaenc", [("off", None), ("offer", "srtp")])
def test_the_engine_calls_baresip_through_a_trunk_and_it_answers_on_its_own(engine, tmp_path, policy, mediaenc):
    eng, add = engine
    phone = Baresip(tmp_path, user="2001", answer=True, mediaenc=mediaenc)
    trunk = add(peers=[Peer("desk", "127.0.0.1", phone.port)], srtp=policy)
    got = _call_baresip(eng, phone, "sip/desk/2001", lambda: realtime(eng, 1.0) or True)
    assert got["outcome"] == "answered"
    assert got["srtp"] == (None if mediaenc is None else "AES_CM_128_HMAC_SHA1_80")
    assert got["600"] > 1e9  # baresip's 600 Hz tone reached the engine
    heard = phone.heard()
    assert _power_at(heard, 900) > 20 * _power_at(heard, 1700)  # and ours reached baresip
    assert trunk.stats["calls_out"] == 1


def test_baresip_registers_as_an_agent_phone_when_only_md5_is_offered(engine, tmp_path):
    """baresip 1.0 gives up on a 401 that carries any SHA-256 challenge (even after an MD5 one): with
    [sip] digest = ["MD5"] it registers with its password (the shipped SIP centre example does this)."""
    eng, add = engine
    trunk = add(accounts={"agent1": "agent1-secret"}, digest=["MD5"])
    port = trunk.address[1]
    phone = Baresip(tmp_path, account=f"<sip:agent1@127.0.0.1:{port}>;auth_pass=agent1-secret;regint=60")
    try:
        phone.start()
        assert realtime(eng, 8.0, until=lambda: bool(trunk.ua.registrar.lookup("agent1"))), phone.text()[-2000:]
    finally:
        phone.stop()


@pytest.fixture
def tls_centre(engine, tmp_path):
    """The engine's SIP on UDP and TLS (a self-signed certificate for 127.0.0.1 made in tmp_path), agent1's
    account with MD5 digest (what baresip 1.0 answers); yields (engine, trunk, certificate path)."""
    eng, add = engine
    cert, key = self_signed(str(tmp_path))
    trunk = add(accounts={"agent1": "agent1-secret"}, digest=["MD5"], transports=("udp", "tls"), tls_port=0,
                server_ssl=server_context(cert, key), client_ssl=ssl.create_default_context(cafile=cert))
    yield eng, trunk, cert


def _tls_account(trunk, extra=""):
    return (f"<sip:agent1@127.0.0.1:{trunk.streams['TLS'].address[1]};transport=tls>;auth_pass=agent1-secret;"
            f"regint=60{extra}")


def test_baresip_registers_over_tls_and_calls_the_ivr_whose_prompt_and_digit_cross(tls_centre, tmp_path):
    """baresip registers as agent1 to the engine's TLS port (trusting the self-signed certificate through
    sip_cafile), then calls the IVR over the same transport through a digest challenge: it hears the prompt
    and its key press (RFC 4733) reaches collect. No SIP datagram is used."""
    eng, trunk, cert = tls_centre
    got = _ivr(eng)
    phone = Baresip(tmp_path, account=_tls_account(trunk), cafile=cert)
    phone.start(f"/dial sip:100@127.0.0.1:{trunk.streams['TLS'].address[1]};transport=tls")
    _key_after_prompt(eng, phone, got)
    assert bool(trunk.ua.registrar.lookup("agent1"))
    assert got["digits"] == "4" and got["heard"] > 2000  # baresip's key and its tone file reached the script
    heard = phone.heard()
    assert _power_at(heard, 1000) > 20 * _power_at(heard, 1700)  # the prompt crossed to baresip
    assert trunk.stats["datagrams"] == 0 and trunk.stats["calls_in"] == 1
    assert "{0/TLS/v4} 200 OK" in phone.text()  # baresip's own word: registered over TLS


def test_the_engine_calls_baresip_on_its_tls_registration_and_tones_cross(tls_centre, tmp_path):
    """The engine rings agent1 ('sip/agent1') on the TLS connection baresip registered over; baresip answers
    on its own and tones cross both ways."""
    eng, trunk, cert = tls_centre
    phone = Baresip(tmp_path, account=_tls_account(trunk, ";answermode=auto"), cafile=cert)
    outcome = _call_baresip(eng, phone, "sip/agent1",
                            lambda: realtime(eng, 8.0, until=lambda: bool(trunk.ua.registrar.lookup("agent1"))))
    assert outcome["outcome"] == "answered"
    assert outcome["600"] > 1e9  # baresip's tone reached the engine
    heard = phone.heard()
    assert _power_at(heard, 900) > 20 * _power_at(heard, 1700)  # and ours reached baresip
    assert trunk.stats["datagrams"] == 0 and trunk.stats["calls_out"] == 1


def test_baresip_has_an_attended_transfer_command_to_judge_ours_with():
    """baresip would judge attended transfer from a real phone if its menu could send a REFER with Replaces.
    The Debian 12 build (1.0.0) cannot: its menu module offers /transfer (blind) only. The check reads the
    installed menu module, so a baresip that gains the command fails here until a test drives it."""
    menu = Path("/usr/lib/baresip/modules/menu.so")
    if not menu.exists():
        pytest.skip(f"baresip's menu module is not at {menu}")
    if b"atransfer" not in menu.read_bytes():
        pytest.skip("baresip 1.0.0 (Debian 12) has no attended-transfer command (its menu has /transfer, blind, "
                    "only); attended transfer is judged by tests/test_sip_transfer_engine.py, "
                    "tests/test_sip_engine_centre.py and SIPp in tests/test_sip_transfer_sipp.py")
    pytest.fail("this baresip has an attended-transfer command (/atransfer): drive it here against the engine")
