"""The chaos soak: the whole centre on the emulator at full load while a seeded schedule injects faults,
with invariants checked every simulated second and minute and at the end (`pycallcenter soak`).

The centre is the demo's (pycallcenter.apps.demo: E1 PRI spans to the emulated PSTN, agents at analog
phones, IVR, two queues, recording, CDRs in SQLite), built by the one composition root
(pycallcenter.apps.centre.Centre). Simulated callers arrive on every PRI span at the rate the agents can
just carry; simulated agents answer their phones. The fault kinds (FAULT_KINDS) are injected in a
seeded order at seeded times; faults on one resource (a span, an agent, the storage) never overlap, so
each one's recovery can be timed.

Invariants, each breach one line in the report's ``violations``:
- nothing is held without a live call for longer than ``leak_grace`` (Centre.leaks() lines that name no
  call still up: busy channels, phones off hook, Q.931 calls with no leg, open recorders, tasks);
- the centre and the network agree on which B-channels carry a call, within ``leak_grace``;
- no call is connected to two agents at once;
- every fault recovers within its bound after it ends (the span's D-channel up on both sides, the
  agent's phone free, the database's backlog written, the overload's callers gone, ...);
- at the end, once the callers have left: Centre.leaks() is empty and every ended call has exactly one
  CDR (compared with the engine's ended calls, from an engine listener);
- in runs of an hour or more: resident memory after warm-up (the first quarter) stays within 5%.
"""
import contextlib
import glob
import json
import math
import os
import random
import re
import shutil
import sqlite3
import sys
import time
import traceback
from dataclasses import dataclass, field, replace
from typing import Optional

import numpy as np

from pycallcenter import bundled
from pycallcenter.apps import demo
from pycallcenter.apps.centre import Centre
from pycallcenter.apps.settings import SimulateSection, load_text
from pycallcenter.apps.simulation import make_callers
from pycallcenter.dsp import SAMPLE_RATE
from pycallcenter.engine import call as C
from pycallcenter.errors import LocalProtocolError
from pycallcenter.heap import between_ticks, collect_in_slack
from pycallcenter.isdn import lapd
from pycallcenter.sim.agents import AgentPool
from pycallcenter.sim.fxo import FxoSimulator
from pycallcenter.sim.pstn import Caller, PstnSimulator
from pycallcenter.sim.sip import SipCarrier
from pycallcenter.sim.ss7 import Networks, exchange_for, linkset_far_ends, linkset_text
from pycallcenter.ss7.isup import RESETTING

SPAN_FAULTS = ("cable_pull", "frame_loss", "ais", "bit_errors", "dchan_loss", "far_restart", "slip")
ALARM_FAULTS = ("cable_pull", "frame_loss", "ais")  # the span in red (LOS, LFA) or blue (AIS) alarm meanwhile
SS7_FAULTS = ("ss7_link_failure", "ss7_linkset_loss")  # one resource: the link set
# span faults that also hit the link set's spans: every second one, the first included
SS7_SPAN_FAULTS = ALARM_FAULTS + ("bit_errors",)
FXO_FAULTS = ("fxo_line_drop",)  # one resource: the FXO lines
SIP_FAULTS = ("sip_peer_down", "sip_packet_loss", "sip_garbage")  # one resource: the SIP carrier
FAULT_KINDS = SPAN_FAULTS + ("agent_off_hook", "agent_hangs_up", "script_raises", "recordings_unwritable",
                             "disk_full", "database_locked", "overload", "cti_flood") + SS7_FAULTS + FXO_FAULTS \
    + SIP_FAULTS
# seconds after a fault ends by which it must have recovered
RECOVERY_BOUND = {"cable_pull": 60.0, "frame_loss": 60.0, "ais": 60.0, "bit_errors": 60.0, "dchan_loss": 60.0, "far_restart": 60.0, "slip": 30.0,
                  "agent_off_hook": 60.0, "agent_hangs_up": 60.0, "script_raises": 120.0,
                  "recordings_unwritable": 180.0, "disk_full": 180.0, "database_locked": 30.0, "overload": 240.0,
                  "cti_flood": 30.0, "ss7_link_failure": 60.0, "ss7_linkset_loss": 60.0, "fxo_line_drop": 60.0,
                  # the carrier's lost calls are cleared by the session timer (SIP_SESSION_EXPIRES) or a 481
                  "sip_peer_down": 180.0, "sip_packet_loss": 60.0, "sip_garbage": 60.0}
STORAGE_FAULTS = ("recordings_unwritable", "disk_full", "database_locked")  # one resource: never two at once
DISK_FREE = 16 * 1024  # bytes left on the small disk when the fault starts: a recording fills it in about 2 s
CDR_DUE = 180.0  # seconds after a call ends by which its CDR is in the table (the writer settles for 60)
TICK_STALL = 2.0  # wall seconds one tick may take (a board buffers well under that; a stall is a violation)
FLAKY_NUMBER = "5999"  # the called number routed to the script that raises now and then
FLAKY_SCRIPT = '''"""The soak's flaky script: every other call it takes raises after answering, so the engine's fallback
takes the caller and the call must still clear and get its one CDR. (Counted here, not by call id: other
calls arriving in between would decide which of its own callers fail.)"""

taken = 0


async def main(call):
    global taken
    taken += 1
    mine = taken
    await call.answer()
    await call.wait(1.0)
    if mine % 2 == 0:
        raise RuntimeError("the soak's flaky script fails on purpose")
    await call.wait(2.0)
'''
E1_BCHANNELS = 30
# one resource: the calls the centre admits (the flaky script's callers must not meet the overload control)
LOAD_FAULTS = ("overload", "script_raises")
LOAD_SETTLE = 60.0  # seconds after a load fault before the next: the overload's admitted callers take that long
FXO_DROP_WAIT = 30.0  # seconds from an fxo_line_drop's start to the drop (time to put a caller through)
FXO_SHARE = 8  # every FXO_SHARE-th simulated caller dials in over an FXO line (when the centre has them) ...
FXO_LINE_LOAD = 0.5  # ... unless that offers a line more erlangs than this (4 lines at 2 erlangs: 1 caller in 10 busy)
CALL_TIME = 10.0 + 25.0  # seconds a call takes besides the talk, in the full-load rate and the FXO lines' load
OVERLOAD_SECONDS = 20.0  # the overload fault's callers (twice a span's B-channels) arrive within this
REFUSAL_CAUSES = (34, 42)  # what the centre's overload control refuses calls with (max_calls; rate or load)
SS7_TRUNK = "ss7"  # the soak's SS7 link set (trunk) name
SIP_SHARE = 8  # every SIP_SHARE-th simulated caller comes in over the SIP trunk (SoakSettings.sip_every)
SIP_TRUNK = "carrier"  # the [[sip.trunk]] of the simulated carrier
SIP_SESSION_EXPIRES = 90  # [sip] session_expires: calls a failed carrier lost are cleared within it
SIP_KEEPALIVE = 10  # the carrier trunk's OPTIONS pings (seconds)
SIP_RTP_PORTS = (42000, 45999)  # [sip] rtp_ports of the soak's centre (ports in use are skipped)
SIP_SETTLE = 30.0  # seconds after a SIP fault before the next: its probe caller and retransmissions settle
SIP_GARBAGE_PER_TICK = 3  # malformed datagrams the sip_garbage fault sends each tick
SIP_SETTLE_END = 40.0  # seconds the drain waits at most for the SIP transactions of the last calls to end
CTI_TOKEN = "soak-supervisor-token"
# The CTI flood runs in a process of its own (as real clients do, so their work is not on our GIL): 30
# WebSocket connections sending as fast as they can a mix of bad JSON, wrong and right tokens, snapshot
# requests, unknown commands and refused commands, never reading the answers (the server cuts off a
# client whose unread answers pile up; the flood then connects again), until the soak ends it.
CTI_FLOOD = r"""
import random, sys, time
from pycallcenter.cti import client as ws
from pycallcenter.cti.client import CtiClient

port, token, rng = int(sys.argv[1]), sys.argv[2], random.Random(int(sys.argv[3]))
def connect():
    try:
        return CtiClient("127.0.0.1", port, timeout=2.0)
    except OSError:
        return None
clients = [connect() for _ in range(30)]
while True:
    for i, c in enumerate(clients):
        if c is None:
            clients[i] = connect()
            continue
        u = rng.random()
        try:
            if u < 0.2:
                c.send_raw(ws.TEXT, "{not json")
            elif u < 0.4:
                c.send({"cmd": "auth", "token": "wrong-token-%d" % rng.randrange(1000)})
            elif u < 0.5:
                c.send({"cmd": "auth", "token": token})
            elif u < 0.85:
                c.send({"cmd": rng.choice(["ping", "queue_snapshot", "agent_snapshot", "frobnicate"]), "id": i})
            else:
                c.send({"cmd": "force_state", "agent": "nobody", "state": "ready", "id": i})
        except OSError:
            clients[i] = None
    time.sleep(0.001)
"""


@dataclass
class SoakSettings:
    """What the soak runs: the centre's size and load, the fault schedule and the checks."""

    hours: float = 1.0
    seed: int = 1
    spans: int = 1  # E1 PRI spans to the emulated PSTN
    ss7_links: int = 2  # E1 spans of one SS7 link set to the emulated exchange, one link each (0: no SS7)
    fxo_lines: int = 4  # analog PSTN lines on FXO ports (0: none); half clear by loop current drop, half by tone
    sip_every: int = SIP_SHARE  # every n-th caller comes in over the SIP trunk from the simulated carrier (0: none)
    agents: int = 12  # agent phones (the last is the operator's)
    faults: Optional[int] = None  # faults to inject (default: one every 3 simulated minutes, at least one per kind)
    kinds: tuple = FAULT_KINDS
    data_dir: str = "soak-data"
    blocksize: int = 640  # 80 ms ticks, as the demo's simulation
    calls_per_hour: Optional[float] = None  # default: what the agents can just carry (full load)
    talk_mean: float = 40.0
    patience_mean: float = 60.0
    check_every: float = 60.0  # simulated seconds between the minute checks (leaks, CDRs, RSS)
    leak_grace: float = 150.0  # a held thing with no live call, or a B-channel the two ends disagree on
    drain_seconds: float = 900.0  # after the run: callers finish, nobody new calls
    warmup: float = 20.0  # seconds before the first fault (D-channels come up)
    rss_check_hours: float = 1.0  # runs at least this long check that RSS stays flat
    paced: bool = False  # tick in real time (as a board would), not as fast as the CPU allows
    realtime: bool = False  # paced: the centre's [centre] realtime = true (the tick thread in SCHED_RR)
    cpu: Optional[int] = None  # paced: the centre's [centre] cpu (the tick thread pinned to that CPU)
    # the centre's overload control ([centre] max_calls, max_call_rate): None picks limits the overload
    # fault's burst passes (so the centre refuses part of it itself) and the normal load stays under
    max_calls: Optional[int] = None
    max_call_rate: Optional[float] = None


@dataclass
class Fault:
    """One injected fault and what became of it (times in simulated seconds)."""

    at: float
    kind: str
    duration: float
    target: object = None
    started: Optional[float] = None
    ended: Optional[float] = None
    recovered: Optional[float] = None
    note: str = ""
    state: dict = field(default_factory=dict)

    @property
    def recovery(self):
        """Return seconds from the fault's end to its recovery (None while not recovered)."""
        return None if self.recovered is None or self.ended is None else self.recovered - self.ended


class TickHistogram:
    """Tick durations in fixed log-spaced bins (constant memory over a day of ticks); percentiles from them."""

    EDGES = np.geomspace(1e-5, 100.0, 801)

    def __init__(self):
        self.counts = np.zeros(len(self.EDGES) + 1, np.int64)
        self.n, self.max, self.total = 0, 0.0, 0.0

    def add(self, seconds):
        """Count one tick's duration."""
        self.counts[int(np.searchsorted(self.EDGES, seconds))] += 1
        self.n += 1
        self.total += seconds
        self.max = max(self.max, seconds)

    def percentile(self, p):
        """Return the upper edge of the bin holding the p-th percentile (seconds; bins are 1.2% wide)."""
        if not self.n:
            return None
        k = int(np.searchsorted(np.cumsum(self.counts), p / 100.0 * self.n))
        return float(self.EDGES[min(k, len(self.EDGES) - 1)])


def rss_bytes():
    """Return this process's resident set size from /proc/self/statm (bytes)."""
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def schedule(settings, span_numbers, agent_names, ss7_spans=()):
    """Return the seeded fault schedule: kinds in shuffled rounds (each kind once per round), at seeded
    times; a fault on a busy resource (span, agent, storage) waits until the one before it is over. Every
    second span alarm (cable pull, frame loss, AIS) and bit error burst, the first included, hits one of
    ss7_spans (the SS7 link set's, one resource with it)."""
    rng = random.Random(f"soak-faults-{settings.seed}")
    kinds = [k for k in FAULT_KINDS if k in settings.kinds and _possible(k, settings)]
    run = settings.hours * 3600.0
    first, last = settings.warmup, run - 90.0
    if not kinds or last <= first:
        return []
    count = settings.faults if settings.faults is not None else max(len(kinds), int(run / 180.0))
    if count <= 0:
        return []
    order = []
    while len(order) < count:
        batch = list(kinds)
        rng.shuffle(batch)
        order += batch
    order = order[:count]
    gap = (last - first) / count
    busy = {}
    faults = []
    for i, kind in enumerate(order):
        at = first + gap * i + rng.uniform(0.0, gap * 0.5)
        target, duration = _pick(kind, rng, span_numbers, agent_names, i)
        nth = order[:i].count(kind)
        if kind in SS7_SPAN_FAULTS and ss7_spans and not nth % 2:
            target = ss7_spans[nth // 2 % len(ss7_spans)]
        resource = (("ss7",) if target in ss7_spans and kind in SS7_SPAN_FAULTS
                    else ("span", target) if kind in SPAN_FAULTS else ("agent", target) if kind.startswith("agent")
                    else ("storage",) if kind in STORAGE_FAULTS else ("ss7",) if kind in SS7_FAULTS
                    else ("fxo",) if kind in FXO_FAULTS else ("load",) if kind in LOAD_FAULTS
                    else ("sip",) if kind in SIP_FAULTS else (kind,))
        at = max(at, busy.get(resource, 0.0))
        if at + duration > last:
            # a kind's first fault pushed late by its resource is cut to fit rather than left out, so a short
            # run still has every kind (the FXO drop needs its whole wait to put a caller through)
            first_of_kind = not any(f.kind == kind for f in faults)
            if not (first_of_kind and duration > 0 and last - at >= 5.0 and kind not in FXO_FAULTS):
                continue
            duration = last - at
        busy[resource] = at + duration + {("load",): LOAD_SETTLE, ("sip",): SIP_SETTLE}.get(resource, 10.0)
        faults.append(Fault(round(at, 3), kind, duration, target))
    return sorted(faults, key=lambda f: f.at)


def _possible(kind, settings):
    """Return False for an SS7 fault the centre has no link set for (a link failure needs two links), an
    FXO fault when it has no FXO lines, or a SIP fault when no caller comes over SIP."""
    if kind in FXO_FAULTS:
        return settings.fxo_lines > 0
    if kind in SIP_FAULTS:
        return settings.sip_every > 0
    return kind not in SS7_FAULTS or settings.ss7_links >= (2 if kind == "ss7_link_failure" else 1)


def _pick(kind, rng, spans, agents, i):
    """Return (target, duration seconds) of the i-th fault of a kind."""
    span = spans[i % len(spans)]
    if kind in ALARM_FAULTS:
        return span, rng.uniform(3.0, 20.0)
    if kind == "bit_errors":
        return span, rng.uniform(2.0, 10.0)
    if kind == "dchan_loss":
        return span, rng.uniform(3.0, 30.0)
    if kind in ("far_restart", "slip"):
        return span, 0.0
    if kind == "agent_off_hook":
        return rng.choice(agents), rng.uniform(10.0, 40.0)
    if kind == "agent_hangs_up":
        return rng.choice(agents), 0.0
    if kind in ("recordings_unwritable", "disk_full"):
        return None, rng.uniform(10.0, 40.0)
    if kind == "database_locked":
        return None, 60.0
    if kind == "overload":
        return span, OVERLOAD_SECONDS
    if kind == "cti_flood":
        return None, rng.uniform(10.0, 30.0)
    if kind == "ss7_link_failure":  # the link is chosen when the fault starts
        return None, rng.uniform(5.0, 30.0)
    if kind == "ss7_linkset_loss":
        return None, rng.uniform(3.0, 20.0)
    if kind == "sip_peer_down":
        return None, rng.uniform(10.0, 30.0)
    if kind == "sip_packet_loss":
        return None, rng.uniform(3.0, 10.0)
    if kind == "sip_garbage":
        return None, rng.uniform(5.0, 15.0)
    if kind == "fxo_line_drop":  # the line is chosen at the end: a caller is put through meanwhile if none is
        return None, FXO_DROP_WAIT
    return None, 0.0  # script_raises: a few callers to the flaky route at once


def centre_text(settings, data, carrier=None):
    """Return the soak centre's configuration: the demo's centre (its board with more PRI spans after the
    agents' phones, their own cables), a route to the flaky script, no fax machines; with carrier (the
    simulated carrier's SIP address, host and port), a SIP trunk to it as a user configures one."""
    ds = demo.DemoSettings(seed=settings.seed, hours=settings.hours, agents=settings.agents,
                           calls_per_hour=settings.calls_per_hour or 0.0, talk_mean=settings.talk_mean,
                           patience_mean=settings.patience_mean, fax_share=0.0, data_dir=data,
                           scripts_dir=os.path.join(data, "scripts"), blocksize=settings.blocksize)
    limits = "".join(f"{key} = {value}\n" for key, value in overload_limits(settings).items())
    limits += ("realtime = true\n" if settings.realtime else "") + (f"cpu = {settings.cpu}\n" if settings.cpu is not None
                                                                    else "")
    text = demo.centre_text(ds).replace("\n[centre]\n", '\n[centre]\ncti_port = 0\ncti_users = "cti-users.toml"\n'
                                        + limits, 1)
    lines = [text, "[[route]]", f'called = "{FLAKY_NUMBER}"', 'script = "soak_flaky"', ""]
    first = 32 + settings.agents  # the demo numbers span 1 1-31 and the phones 32..
    for k in range(2, settings.spans + 1):
        number = k + 1  # span 2 is the phones' FXS span
        lines += ["[[span]]", f"span = {number}", 'kind = "e1"', 'framing = "ccs"', 'coding = "hdb3"', "crc4 = true",
                  f"timing = {k}", f"first_channel = {first}", "",
                  "[[channels]]", 'signalling = "bchan"', f'channels = "{first}-{first + 14},{first + 16}-{first + 30}"',
                  "", "[[channels]]", 'signalling = "dchan"', f"channels = {first + 15}", "",
                  "[[emulator.cable]]", 'kind = "network"', f"span = {number}", f'name = "pstn{k}"', ""]
        first += 31
    if settings.ss7_links:  # after the PRI spans: an SS7 link set of E1 spans, one link on each
        spans = [settings.spans + 2 + k for k in range(settings.ss7_links)]
        lines.append(linkset_text(spans, first, timing=settings.spans + 1, name=SS7_TRUNK))
        first += 31 * settings.ss7_links
    if settings.fxo_lines:  # last: an FXO span on PSTN lines; their calls carry no called number
        lines += fxo_text(fxo_span(settings), first, settings.fxo_lines)
    if carrier is not None:
        lines += sip_text(settings, carrier)
    return "\n".join(lines) + "\n"


def sip_text(settings, carrier):
    """Return the TOML lines of the centre's SIP side: [sip] on any free port of loopback with packet rows for
    twice the SIP share of the calls up (and 10 more), a session timer (so calls a failed carrier lost are
    cleared), and the carrier as a [[sip.trunk]] whose INVITEs are taken unchallenged, pinged with OPTIONS.
    Its callers dial the main number, routed as any other call."""
    erlangs = (settings.calls_per_hour or 0.0) / 3600.0 * (settings.talk_mean + CALL_TIME)
    rows = min(4096, 10 + math.ceil(2 * erlangs / settings.sip_every))
    return ["[sip]", f'listen = "{carrier[0]}"', "port = 0", f"channels = {rows}",
            f"rtp_ports = [{SIP_RTP_PORTS[0]}, {SIP_RTP_PORTS[1]}]", f"session_expires = {SIP_SESSION_EXPIRES}", "",
            "[[sip.trunk]]", f'name = "{SIP_TRUNK}"', f'host = "{carrier[0]}"', f"port = {carrier[1]}",
            f"keepalive = {SIP_KEEPALIVE}", ""]


def fxo_span(settings):
    """Return the number of the soak centre's FXO span (after the phones', PRI and SS7 spans)."""
    return settings.spans + 2 + settings.ss7_links


def fxo_every(settings):
    """Return n: every n-th simulated caller dials in over the FXO lines. One in FXO_SHARE, or fewer when that
    would offer each line more than FXO_LINE_LOAD erlangs: at 32 spans and 500 agents (6.7 calls a second) one
    caller in 8 would be 62 erlangs on 4 lines, which turn away 15 of every 16 of them (Erlang B)."""
    erlangs = settings.calls_per_hour / 3600.0 * (settings.talk_mean + CALL_TIME)
    return max(FXO_SHARE, math.ceil(erlangs / (FXO_LINE_LOAD * settings.fxo_lines)))


def fxo_text(span, first, count):
    """Return the TOML lines of an FXO span of count ports from channel first, each on an emulated PSTN
    line (far ends fxoN), and the route that sends their calls to the main menu."""
    last = first + count - 1
    return ["[[span]]", f"span = {span}", 'kind = "fxo"', f"channels = {count}", f"first_channel = {first}", "",
            "[[channels]]", 'signalling = "fxs_ks"', f'channels = "{first}-{last}"', "",
            "[[emulator.cable]]", 'kind = "pstn_line"', f'channels = "{first}-{last}"', 'name = "fxo"', "",
            "[[route]]", 'trunk = "fxo"', 'script = "main_menu"', ""]


def overload_callers(settings):
    """Return how many extra callers the overload fault brings within OVERLOAD_SECONDS: the centre's normal
    arrivals once more (twice its capacity meanwhile), or twice a span's B-channels when that is more (a
    small centre carries less than a span: its burst then fills one span and the network refuses beyond)."""
    normal = (settings.calls_per_hour or 0.0) / 3600.0
    return max(2 * E1_BCHANNELS, round(normal * OVERLOAD_SECONDS))


def overload_limits(settings):
    """Return the soak centre's overload control keys: calls up at once (twice the agents and twenty more: the
    queue's callers and the IVR's fit, the overload fault's spike does not) and new calls per second (the
    normal arrival rate plus half the overload fault's, so its 2x burst is partly refused with cause 42),
    with a burst of five calls and two seconds of the normal rate: Poisson callers at 6.7 a second against a
    burst of five alone were refused 1 in 26 by the rate limit with no fault at all."""
    normal = (settings.calls_per_hour or 0.0) / 3600.0
    burst_rate = overload_callers(settings) / OVERLOAD_SECONDS
    return {"max_calls": settings.max_calls if settings.max_calls is not None else 2 * settings.agents + 20,
            "max_call_rate": round(settings.max_call_rate if settings.max_call_rate is not None
                                   else normal + burst_rate / 2, 3),
            "call_rate_burst": 5 + round(2 * normal)}


class Soak:
    """One soak run: the centre, its simulated people, the fault schedule and the invariant checks."""

    def __init__(self, settings, stream=None):
        if settings.calls_per_hour is None:  # full load: offered agent work equals the agents' time (one is the operator)
            settings = replace(settings, calls_per_hour=round(
                3600.0 * max(1, settings.agents - 1) / (settings.talk_mean + CALL_TIME), 1))
        self.settings = s = settings
        self.stream = stream
        self.data = data = os.path.abspath(s.data_dir)
        os.makedirs(data, exist_ok=True)
        scripts = os.path.join(data, "scripts")
        shutil.rmtree(scripts, ignore_errors=True)
        shutil.copytree(str(bundled.scripts_dir()), scripts, ignore=shutil.ignore_patterns("__pycache__"))
        with open(os.path.join(scripts, "soak_flaky.py"), "w") as fh:
            fh.write(FLAKY_SCRIPT)
        for stale in ("pycallcenter.db", "pycallcenter.db-wal", "pycallcenter.db-shm", "events.log"):
            if os.path.exists(os.path.join(data, stale)):
                os.remove(os.path.join(data, stale))
        with open(os.path.join(data, "cti-users.toml"), "w") as fh:
            fh.write(f'[[supervisor]]\nname = "soak"\ntoken = "{CTI_TOKEN}"\n')
        # the SIP carrier's sockets first: the centre's trunk names its port
        self.carrier = SipCarrier(seed=s.seed) if s.sip_every else None
        text = centre_text(s, data, self.carrier.address if self.carrier is not None else None)
        config = os.path.join(data, "centre.toml")
        with open(config, "w") as fh:
            fh.write(text)
        board_text, cs = load_text(text, file=config)
        self.centre = centre = Centre(board_text, cs)
        centre.realtime = s.paced  # the overload guard reads the ticks' work when they have a deadline
        # what [centre] realtime, cpu gave the ticking thread (this one), for the report
        self.scheduling = centre.scheduling.describe() if centre.scheduling is not None and s.paced else "normal priority"
        self.engine = eng = centre.engine
        self.emulator = emu = centre.board.emulator
        names = ["pstn"] + [f"pstn{k}" for k in range(2, s.spans + 1)]
        self.span_numbers = [1] + [k + 1 for k in range(2, s.spans + 1)]
        self.pstns = [PstnSimulator(centre.board, far_end=n, seed=s.seed + i) for i, n in enumerate(names)]
        self.trunks = {a.span_number: a for a in eng.adapters if getattr(a, "tech", "") == "pri"}
        self.network_spans = list(self.span_numbers)  # the span of each simulated network in self.pstns
        self.ss7 = self.exchange = None
        if cs.ss7.linkset:  # the exchange at the far end of the link set: one simulated network per span
            (linkset,) = cs.ss7.linkset
            far = linkset_far_ends(centre.board, linkset)
            self.ss7, self.exchange = eng.adapter(linkset.name), exchange_for(centre.board, linkset, far)
            self.pstns += [PstnSimulator(centre.board, far_end=name, seed=s.seed + 100 + k,
                                         iface=self.exchange.interface(link.span))
                           for k, (name, link) in enumerate(zip(far, linkset.links))]
            self.network_spans += [link.span for link in linkset.links]
        self.fxo = None
        digital = list(self.pstns)
        if s.fxo_lines:  # the PSTN lines on the FXO ports, half clearing by loop current, half by busy tone
            span = next(sp for sp in centre.board.spans if sp.number == fxo_span(s))
            ports = [c.number for c in span.channels]
            self.fxo = FxoSimulator(centre.board, [f"fxo{ch}" for ch in ports], plan=eng.tone_plan,
                                    clearing=("loop", "tone"), seed=s.seed + 200)
            self.fxo_channels = {f"fxo{ch}": ch for ch in ports}
            self.pstns.append(self.fxo)
            self.network_spans.append(fxo_span(s))
        if self.carrier is not None:  # the SIP carrier's callers, counted with the networks' (its "span": sip)
            self.carrier.connect(centre.sip.address)
            self.pstns.append(self.carrier)
            self.network_spans.append("sip")
        section = SimulateSection(calls_per_hour=s.calls_per_hour, talk_mean=s.talk_mean,
                                  patience_mean=s.patience_mean, fax_share=0.0, seed=s.seed)
        callers = make_callers(section, s.hours, start=s.warmup / 2)
        every = fxo_every(s) if self.fxo is not None else 0
        sip = s.sip_every if self.carrier is not None else 0
        digital_calls = 0
        for i, caller in enumerate(callers):
            if every and i % every == every - 1:
                self.fxo.add(caller)
            elif sip and i % sip == sip // 2:  # not the FXO's turn (a caller whose turns coincide goes over FXO)
                self.carrier.add(caller)
            else:  # round robin on a count of its own: skipping the FXO's callers must not favour half the spans
                digital[digital_calls % len(digital)].add(caller)
                digital_calls += 1
        self.offered = len(callers)
        phones = [end for end in emu.far_ends.values() if type(end).__name__ == "Phone"]
        self.pool = AgentPool(phones, [p.name for p in phones], Networks(self.pstns), plan=eng.tone_plan)
        self.agent_channel = {a.name: a.phone.channel.number for a in self.pool.agents}
        self.agent_channels = set(self.agent_channel.values())
        self.acd_names = {int(a.contact.split("/")[1]): a.name for a in cs.agent if a.contact.startswith("channel/")}
        self.faults = schedule(s, self.span_numbers, [a.name for a in self.pool.agents[:-1]],
                               self.ss7.span_numbers if self.ss7 is not None else ())
        self._next_fault = 0
        self.active = []  # faults started and not yet recovered
        self.ended_calls = _EndedCalls()  # what the engine ended, kept small for a day (RSS is watched)
        self.violations = []
        self._violated = set()
        self._orphans = {}  # leak line -> first seen
        self._disagree = {}  # (span, channel, side) -> first seen
        self.ticks = TickHistogram()
        # the same ticks by the engine thread's CPU time: on a loaded machine the wall clock also counts the
        # time other processes held the core, this is what the tick itself cost
        self.tick_cpu = TickHistogram()
        self.overruns = 0  # ticks whose work took longer than the board time they cover
        self.late = 0  # paced: ticks started more than one tick behind the wall clock
        self.overloaded = []  # overload faults started and not yet recovered: their ticks are timed apart
        self.overload_cpu = TickHistogram()  # the engine thread's CPU time of the ticks in those windows
        self.overload_over = 0  # those ticks that took more CPU than the tick's board time
        self._due = time.perf_counter()
        self.rss = []  # (simulated seconds, bytes)
        self.crash = None  # the traceback when the centre raised out of its tick
        self.extra_offered = 0  # callers the faults added (flaky route, overload)
        self.callers_done = dict.fromkeys(("placed", "refused_by_network", "refused_by_centre", "reached_agent",
                                           "abandoned"), 0)
        self.placed_by_span = dict.fromkeys(self.network_spans, 0)  # callers the network put through, per span
        self.sip_done = dict.fromkeys(self.callers_done, 0)  # the SIP carrier's share of callers_done
        self.db_path = getattr(centre.store, "path", None)
        self.recordings_dir = eng.recordings_dir
        eng.listeners.append(self.ended_calls)
        if eng.admission is not None:  # which legs the overload control refused, for the report's count by trunk
            eng.admission.admit = self.ended_calls.watch(eng.admission.admit)
        # the soak reads the emulator's board events (counted, then let go) so their journal stays flat
        self._board_events = emu.event_log.reader("soak")
        self.board_events = 0
        self._recs = eng.recordings.reader("soak")  # finished recordings: those a full disk cut short
        self.recording_errors = 0
        # small tmpfs disks of the disk_full faults (unmounted at the end); a killed run's are unmounted now
        self.mounts = sorted(glob.glob(os.path.join(data, "small-disk-*")))
        self._unmount()

    # ------------------------------------------------------------------------------------------ running

    def seconds(self):
        """Return the board time in seconds."""
        return self.engine.now / SAMPLE_RATE

    def tick(self):
        """Run one tick of the centre and the simulated agents (timed)."""
        if self.settings.paced:  # wait for the board: the tick after this one is due one tick later
            self._due += self.centre.board.blocksize / SAMPLE_RATE
            ahead = self._due - time.perf_counter()
            if collect_in_slack(max(0.0, ahead)) is not None:  # the collector, between ticks (see run())
                ahead = self._due - time.perf_counter()
            if ahead > 0:
                time.sleep(ahead)
            elif -ahead > self.centre.board.blocksize / SAMPLE_RATE:
                self.late += 1  # a real board's buffers would have run dry for a moment
        t0, c0 = time.perf_counter(), time.thread_time()
        if self.fxo is not None:  # the PSTN lines' callers act on the board time the tick starts at
            self.fxo.tick(self.engine.now)
        if self.carrier is not None:  # its datagrams are on the centre's sockets before the centre reads them
            self.carrier.tick(self.engine.now, self.centre.board.blocksize)
        self.centre.tick()
        self.pool.tick(self.engine.now, self.centre.board.blocksize)
        spent = time.perf_counter() - t0
        cpu = time.thread_time() - c0
        self.tick_cpu.add(cpu)
        if self.overloaded:  # the overload faults' windows, from their start to their recovery
            over = cpu > self.centre.tick_seconds
            self.overload_cpu.add(cpu)
            self.overload_over += over
            for fault in self.overloaded:
                fault.state["cpu"].add(cpu)
                fault.state["cpu_over"] += over
        self.ticks.add(spent)
        if spent > self.centre.board.blocksize / SAMPLE_RATE:
            self.overruns += 1
        if spent > TICK_STALL:  # every call's audio stopped that long: a real-time board would have overrun
            self._violate(f"one tick took {spent:.2f} s of wall time (limit {TICK_STALL:.0f} s)")

    def run(self):
        """Run the soak, the drain and the final checks; return the report dict."""
        s = self.settings
        end = s.hours * 3600.0
        tick_s = self.centre.board.blocksize / SAMPLE_RATE
        per_second = max(1, int(round(1.0 / tick_s)))
        next_minute, next_publish, n = s.check_every, 5.0, 0
        minute = []  # steps of the minute check still to take
        publishing = None  # the status publication under way, one step after each tick (as Centre.loop does)
        wall0 = time.perf_counter()
        self._due = wall0
        self._cpu0 = time.process_time()
        # paced, the collector runs between ticks only (pycallcenter.heap), as in the centre's own loop
        with between_ticks() if s.paced else contextlib.nullcontext():
            try:
                while self.seconds() < end:
                    self._faults(self.seconds())
                    self.tick()
                    n += 1
                    now = self.seconds()
                    if n % per_second == 0:
                        self._check_second(now)
                    if publishing is None and now >= next_publish:  # as `run` does: the status file, rows retried
                        publishing = self.centre.publishing()
                        next_publish += 5.0
                    if publishing is not None and next(publishing, None) is None:
                        publishing = None
                    if now >= next_minute:
                        minute.extend(self._minute_steps())
                        next_minute += s.check_every
                        self._progress(now, end, wall0)
                    if minute:  # one step of the minute check after each tick
                        minute.pop(0)(now)
                for step in minute:
                    step(self.seconds())
                for _ in publishing or ():
                    pass
                self._drain(per_second)
            except Exception as exc:  # noqa: BLE001 - the centre died: that is the finding, reported with its place
                self.crash = traceback.format_exc()
                self._violate(f"the centre raised {type(exc).__name__}: {exc} ({_where(exc)}); the run stopped")
        return self._finish(time.perf_counter() - wall0)

    def _progress(self, now, end, wall0):
        if self.stream is not None:
            done = sum(1 for f in self.faults if f.started is not None)
            self.stream.write(f"\rsoak {now / 60:6.1f}/{end / 60:.0f} min  faults {done}/{len(self.faults)}  "
                              f"violations {len(self.violations)}  wall {time.perf_counter() - wall0:6.0f} s ")
            self.stream.flush()

    def _drain(self, per_second):
        """Stop the faults and the arrivals, let the callers finish (bounded), then put the phones down."""
        for fault in list(self.active):
            if fault.ended is None:
                self._end(fault, self.seconds())
        for p in self.pstns:
            p.pending.clear()
        limit = self.seconds() + self.settings.drain_seconds
        n = 0
        while self.seconds() < limit:
            self.tick()
            n += 1
            if n % per_second == 0:
                now = self.seconds()
                self._check_second(now)
                if not self.engine.calls and not any(p.busy for p in self.pstns) and not self.active:
                    break
        for agent in self.pool.agents:
            if agent.state != "idle":
                self.pool.hang_up(agent, self.seconds())
        # the ports see the phones go on hook; the last SIP transactions end (timers D, J and K: up to 32 s)
        for n in range(int(SIP_SETTLE_END * per_second)):
            self.tick()
            if n >= 2 * per_second and not self._sip_left():
                break
        for fault in self.active:
            self._violate(f"{fault.kind} at {fault.at:.0f} s ({fault.target}) never recovered")

    # ------------------------------------------------------------------------------------------ faults

    def _faults(self, now):
        while self._next_fault < len(self.faults) and self.faults[self._next_fault].at <= now:
            fault = self.faults[self._next_fault]
            self._next_fault += 1
            fault.started = now
            getattr(self, f"_start_{fault.kind}")(fault, now)
            self.engine.log("soak_fault", fault=fault.kind, target=fault.target, seconds=f"{fault.duration:.1f}")
            self.active.append(fault)
            if fault.duration <= 0:
                fault.ended = now
        for fault in self.active:
            if fault.ended is None and now >= fault.started + fault.duration:
                self._end(fault, now)
            elif fault.ended is None and fault.kind == "sip_garbage":
                sent = self.carrier.garbage(SIP_GARBAGE_PER_TICK)
                fault.state["sent"] = [a + b for a, b in zip(fault.state["sent"], sent)]

    def _end(self, fault, now):
        fault.ended = now
        end = getattr(self, f"_end_{fault.kind}", None)
        if end is not None:
            end(fault, now)

    def _span_parts(self, span):
        return self.trunks[span], self.pstns[self.span_numbers.index(span)]

    def _span_alarm(self, fault, on):
        """Put the fault's span in (or out of) its alarm: cable pulled (red, LOS), frame alignment lost (red,
        LFA) or the far end sending AIS (blue)."""
        emu, span = self.emulator, fault.target
        if fault.kind == "cable_pull":
            emu.pull_cable(span) if on else emu.reconnect(span)
        elif fault.kind == "frame_loss":
            emu.set_lfa(span, on)
        else:
            emu.set_ais(span, on)

    def _start_span_alarm(self, fault, now):
        self._span_alarm(fault, True)
        if self._on_ss7(fault.target):  # its calls are cleared (cause 41), its circuits hardware-blocked both ways;
            # the link set's other spans keep theirs (their links carry the signalling after changeover)
            fault.state["calls"] = self._ss7_span_calls(fault.target)
            fault.state["others"] = [leg for leg in self._ss7_calls() if leg not in fault.state["calls"]]

    def _end_span_alarm(self, fault, now):
        links = len(self.ss7.links_up()) if self._on_ss7(fault.target) else 0
        self._span_alarm(fault, False)
        if self._on_ss7(fault.target):
            legs, others = fault.state["calls"], fault.state["others"]
            cics = self._ss7_cics(fault.target)
            cut = [leg for leg in others if leg.state == C.ENDED and leg.cause != C.NORMAL_CLEARING]
            fault.note = (f"SS7 span: {len(legs)} answered call(s) at the alarm, "
                          f"{sum(leg.cause == C.TEMPORARY_FAILURE for leg in legs)} cleared with cause 41; "
                          f"{links} of {len(self.ss7.span_numbers)} links up meanwhile; on the other spans "
                          f"{len(others)} answered, {len(cut)} cleared by the network; "
                          f"hardware-blocked circuits at the end: {len(set(cics) & set(self.ss7.blocked()))} here, "
                          f"{sum(bool(self.exchange.isup.blocked(cic)[0]) for cic in cics)} at the exchange")
            if any(leg.state != C.ENDED for leg in legs):
                self._violate(f"{fault.kind} at {fault.at:.0f} s left a call up on SS7 span {fault.target}",
                              key=("up", id(fault)))
            if cut and len(self.ss7.span_numbers) > 1:
                self._violate(f"{fault.kind} at {fault.at:.0f} s on SS7 span {fault.target} cleared {len(cut)} call(s) "
                              f"on the link set's other spans (causes {sorted({leg.cause for leg in cut})})",
                              key=("cut", id(fault)))

    _start_cable_pull = _start_frame_loss = _start_ais = _start_span_alarm
    _end_cable_pull = _end_frame_loss = _end_ais = _end_span_alarm

    def _on_ss7(self, span):
        return self.ss7 is not None and span in self.ss7.span_numbers

    def _ss7_span_calls(self, span):
        """Return the SS7 trunk's answered legs on the circuits of one of its spans."""
        cics = self._ss7_cics(span)
        return [leg for leg in self._ss7_calls() if leg.cic in cics]

    def _ss7_cics(self, span):
        """Return the CICs of an SS7 span of the link set."""
        return next(sp.cics for sp in self.ss7.spans if sp.span_number == span)

    def _start_bit_errors(self, fault, now):
        ber = 10.0 ** random.Random(f"{self.settings.seed}-{fault.at}").uniform(-5.0, -3.0)
        fault.note = f"BER {ber:.1e}"
        self.emulator.set_bit_errors(fault.target, ber)
        if self._on_ss7(fault.target):  # errors alone raise no alarm: the calls on its bearers must go on
            fault.state["calls"] = self._ss7_span_calls(fault.target)

    def _end_bit_errors(self, fault, now):
        self.emulator.set_bit_errors(fault.target, 0.0)
        if self._on_ss7(fault.target):
            legs = fault.state["calls"]
            cut = [leg for leg in legs if leg.state == C.ENDED and leg.cause != C.NORMAL_CLEARING]
            fault.note += (f"; SS7 span: {len(legs)} answered call(s) at the start, {len(cut)} cleared by the network, "
                           f"{len(self.ss7.links_up())} of {len(self.ss7.span_numbers)} links up at the end")

    def _start_dchan_loss(self, fault, now):
        self.emulator.set_dchan_faults(fault.target, loss=1.0)

    def _end_dchan_loss(self, fault, now):
        self.emulator.set_dchan_faults(fault.target)

    def _start_far_restart(self, fault, now):
        _, pstn = self._span_parts(fault.target)

        try:
            pstn._q931(pstn.iface.restart(now))  # the network restarts the whole interface (cause 41 to its calls)
        except LocalProtocolError as exc:  # its D-channel is down just now: nothing to restart over
            fault.note = f"not sent: {exc}"

    def _start_slip(self, fault, now):
        self.emulator.slip(fault.target, 1 + int(fault.at) % 5)

    def _agent(self, name):
        return self.pool.by_name(name)

    def _start_agent_off_hook(self, fault, now):
        # prefer an agent in a call: when the caller leaves, the phone stays off hook (the agent walked away)
        talking = [a for a in self.pool.agents[:-1] if a.state == "talking"]
        scheduled = self._agent(fault.target)  # the schedule's pick when they are in a call, else one who is
        agent = (scheduled if scheduled.state == "talking" or not talking
                 else talking[int(fault.at) % len(talking)])
        fault.target = agent.name
        fault.note = "left off hook in a call" if agent.state == "talking" else "lifted and left off hook"
        if agent.state != "talking":
            agent.phone.off_hook()
        agent.state = "away"  # the pool leaves an agent in this state alone

    def _end_agent_off_hook(self, fault, now):
        agent = self._agent(fault.target)
        agent.phone.on_hook()
        agent.state, agent.caller = "idle", None

    def _start_agent_hangs_up(self, fault, now):
        talking = [a for a in self.pool.agents[:-1] if a.state == "talking"]
        if not talking:
            fault.note = "no agent in a call: put down an idle phone's handset after lifting it"
            agent = self._agent(fault.target)
            agent.phone.off_hook()
            agent.phone.on_hook()
            return
        agent = talking[int(fault.at) % len(talking)]
        fault.target = agent.name
        leg = next((leg for leg in self.engine.legs.values() if leg.channel == self.agent_channel[agent.name]), None)
        fault.state["call"] = leg.call.id if leg is not None and leg.call is not None else None
        fault.note = f"put the phone down in call {fault.state['call']}"
        self.pool.hang_up(agent, now)

    def _start_script_raises(self, fault, now):
        rng = random.Random(f"{self.settings.seed}-flaky-{fault.at}")
        _, pstn = self._span_parts(self._freest_span())
        callers = [Caller(f"20266{rng.randrange(10000, 99999)}", FLAKY_NUMBER, now + 0.5 * i, patience=60.0, talk=5.0)
                   for i in range(4)]
        for c in callers:
            pstn.add(c)
        fault.state["callers"] = callers
        fault.state["errors"] = len(self.engine.errors)

    def _freest_span(self):
        """Return the PRI span with the most free B-channels and its D-channel up: an overload or a cable
        pulled elsewhere must not refuse the callers a fault brings."""
        return min(self.span_numbers, key=lambda n: (self.trunks[n].iface.link.state != lapd.ESTABLISHED,
                                                     len(self.trunks[n].busy), self.span_numbers.index(n)))

    def _recorded_callers(self, fault, now):
        """Two callers to the main number at a storage fault's start: calls are answered (and so recorded)
        while it lasts, whatever the random arrivals do."""
        rng = random.Random(f"{self.settings.seed}-storage-{fault.at}")
        _, pstn = self._span_parts(self._freest_span())
        callers = [Caller(f"20299{rng.randrange(10000, 99999)}", "5000", now + 1.0 + 2.0 * i, digits=rng.choice("12"),
                          digit_delay=3.0, patience=30.0, talk=10.0) for i in range(2)]
        for c in callers:
            pstn.add(c)
        fault.state["callers"] = callers

    def _start_recordings_unwritable(self, fault, now):
        # a disk-full stand-in that holds for root too: the recordings folder's parent is a regular file
        blocker = os.path.join(self.data, "not-a-folder")
        with open(blocker, "w") as fh:
            fh.write("the soak put this file where the recordings folder's parent should be\n")
        self.engine.recordings_dir = os.path.join(blocker, "recordings")
        fault.state["failed"] = self._recordings_failed()
        self._recorded_callers(fault, now)

    def _end_recordings_unwritable(self, fault, now):
        self.engine.recordings_dir = self.recordings_dir
        os.remove(os.path.join(self.data, "not-a-folder"))
        fault.state["open_at_end"] = {id(r) for r in self.engine.media.recorders}
        fault.note = f"recordings that could not start: {self._recordings_failed() - fault.state['failed']}"

    def _recordings_failed(self):
        return sum(getattr(f, "failed", 0) for f in self.centre.features if type(f).__name__ == "RecordingPolicy")

    def _start_disk_full(self, fault, now):
        """New recordings go to a small tmpfs with DISK_FREE bytes left: they start, then the disk fills
        while they are written (ENOSPC mid-call), as a real disk does. Needs mount privileges (root); without
        them the fault says so and does nothing."""
        import subprocess

        disk = os.path.join(self.data, f"small-disk-{len(self.mounts)}")
        os.makedirs(disk, exist_ok=True)
        try:
            mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m,mode=0750", "tmpfs", disk],
                                     capture_output=True, text=True)
            why = (mounted.stderr or "mount failed").strip().splitlines()[-1] if mounted.returncode else None
        except OSError as exc:
            why = str(exc)
        if why is not None:
            fault.note = f"no tmpfs: {why}"
            return
        self.mounts.append(disk)
        free = os.statvfs(disk)
        with open(os.path.join(disk, "filler"), "wb") as fh:
            fh.write(b"\0" * max(0, free.f_bavail * free.f_frsize - DISK_FREE))
        self.engine.recordings_dir = os.path.join(disk, "recordings")
        fault.state.update(failed=self._recordings_failed(), errors=self._recording_errors())
        self._recorded_callers(fault, now)

    def _end_disk_full(self, fault, now):
        self.engine.recordings_dir = self.recordings_dir
        fault.state["open_at_end"] = {id(r) for r in self.engine.media.recorders}
        if "errors" in fault.state:  # the recorders still open on the full disk stay there until their call ends
            fault.note = (f"recordings that could not start: {self._recordings_failed() - fault.state['failed']}, "
                          f"stopped by the full disk: {self._recording_errors() - fault.state['errors']}")

    def _recording_errors(self):
        """Return how many recorders have stopped writing on an error, open ones and finished ones."""
        self.recording_errors += sum(1 for st in self.engine.recordings.read(self._recs) if st.get("error"))
        open_now = sum(1 for r in self.engine.media.recorders if getattr(r, "error", None))
        return open_now + self.recording_errors

    def _unmount(self):
        import subprocess

        for disk in self.mounts:
            try:
                subprocess.run(["umount", "-l", disk], capture_output=True)
            except OSError:  # no umount on this system: nothing was mounted either
                break
        self.mounts = []

    def _start_database_locked(self, fault, now):
        if self.db_path is None:
            fault.note = "no SQLite file"
            return
        lock = sqlite3.connect(self.db_path, timeout=0.0, isolation_level=None)
        lock.execute("BEGIN EXCLUSIVE")  # another process holding the database: every write is refused
        fault.state["lock"] = lock
        fault.state["failures"] = self.centre.writer.failures

    def _end_database_locked(self, fault, now):
        lock = fault.state.pop("lock", None)
        if lock is not None:
            lock.execute("ROLLBACK")
            lock.close()
            fault.note = f"writes refused meanwhile: {self.centre.writer.failures - fault.state['failures']}"

    def _start_overload(self, fault, now):
        """Twice the span's B-channels call within the fault's seconds: the network refuses those it has no
        channel for (cause 34 on a real network), the centre's overload control refuses what passes its
        limits (cause 34 beyond max_calls, 42 beyond max_call_rate) and takes the rest; nothing may fail."""
        rng = random.Random(f"{self.settings.seed}-overload-{fault.at}")
        count = overload_callers(self.settings)
        if count > 2 * E1_BCHANNELS:  # twice a large centre's capacity: on every PRI span, not one span's worth
            fault.target = "every PRI span"
            pstns = self.pstns[:len(self.span_numbers)]
        else:
            pstns = [self._span_parts(fault.target)[1]]
        callers = [Caller(f"20277{rng.randrange(10000, 99999)}", "5000", now + rng.uniform(0.0, fault.duration),
                          digits=rng.choice("12"), digit_delay=rng.uniform(3.0, 6.0),
                          patience=rng.uniform(20.0, 60.0), talk=rng.uniform(10.0, 30.0))
                   for _ in range(count)]
        for i, c in enumerate(sorted(callers, key=lambda c: c.arrival)):
            pstns[i % len(pstns)].add(c)
        fault.state["callers"] = callers
        fault.state["errors"] = len(self.engine.errors)
        fault.state["overruns"] = self.overruns
        fault.state.update(cpu=TickHistogram(), cpu_over=0)
        self.overloaded.append(fault)

    def _end_overload(self, fault, now):
        fault.state["overruns"] = self.overruns - fault.state["overruns"]
        if self.settings.paced and fault.state["overruns"]:  # in real time an overrun is audio lost
            self._violate(f"overload at {fault.at:.0f} s: {fault.state['overruns']} tick(s) overran their "
                          f"{1000 * self.centre.tick_seconds:.0f} ms", key=("overrun", id(fault)))

    def _overload_recovered(self, fault):
        """The overload's callers are gone: stop timing its ticks apart. In a paced run its ticks' own work (the
        engine thread's CPU time, whatever else holds the machine) must never have exceeded the tick: that is
        audio lost. Run as fast as the CPU allows, the figures are reported, not judged: there no audio is
        lost, and one slow tick on a shared machine (a full collection, another job on the memory bus) would
        make a timing check of the test suite's short soaks."""
        self.overloaded.remove(fault)
        hist, over = fault.state["cpu"], fault.state["cpu_over"]
        fault.state["ticks"] = _cpu_figures(hist, over)
        if over and self.settings.paced:
            self._violate(f"overload at {fault.at:.0f} s: {over} tick(s) took more of the engine thread's CPU than "
                          f"their {1000 * self.centre.tick_seconds:.0f} ms (max {_ms(hist.max)} ms)",
                          key=("cpu overrun", id(fault)))

    def _start_cti_flood(self, fault, now):
        import subprocess

        fault.state["commands"] = self.centre.cti.hub.commands
        fault.state["refused"] = self._cti_refused()
        fault.state["proc"] = subprocess.Popen(
            [sys.executable, "-c", CTI_FLOOD, str(self.centre.cti.port), CTI_TOKEN, str(int(fault.at))],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def _end_cti_flood(self, fault, now):
        proc = fault.state.pop("proc")
        proc.terminate()
        proc.wait(10)
        # the flood guesses tokens from one address, so the server soon locks it out: most of it is refused
        fault.note = (f"commands the engine ran meanwhile: {self.centre.cti.hub.commands - fault.state['commands']}, "
                      f"requests refused: {self._cti_refused() - fault.state['refused']}")

    def _cti_refused(self):
        status = getattr(self.centre.cti, "status", None)
        return sum(status()["refused"].values()) if status is not None else 0

    def _ss7_calls(self):
        """Return the SS7 trunk's legs with an answered call on them now."""
        return [leg for leg in self.ss7.legs.values() if leg.state == C.ANSWERED]

    def _start_ss7_link_failure(self, fault, now):
        """One link of the link set fails: its signalling timeslot loses every frame (its bearers still carry
        the calls). MTP3 changes over to the other link; no call may be cleared by it; changeback follows."""
        spans = self.ss7.span_numbers  # each link fails in turn
        earlier = sum(1 for f in self.faults if f.kind == fault.kind and f.started is not None) - 1
        fault.target = spans[earlier % len(spans)]
        self.emulator.set_dchan_faults(fault.target, loss=1.0)
        fault.state["calls"] = self._ss7_calls()

    def _end_ss7_link_failure(self, fault, now):
        self.emulator.set_dchan_faults(fault.target)
        legs = fault.state["calls"]
        cut = [leg for leg in legs if leg.state == C.ENDED and leg.cause != C.NORMAL_CLEARING]
        fault.note = (f"{len(legs)} answered call(s) at the failure, {sum(leg.state != C.ENDED for leg in legs)} still "
                      f"up at its end, {len(cut)} cleared by the network")
        if cut:
            self._violate(f"ss7_link_failure at {fault.at:.0f} s cleared {len(cut)} call(s) that changeover must keep "
                          f"(causes {sorted({leg.cause for leg in cut})})", key=("cut", id(fault)))

    def _start_ss7_linkset_loss(self, fault, now):
        """Every link of the link set fails at once (MTP pause): the calls on it are cleared, and when the links
        return both ends reset every circuit (GRS) before new calls seize them."""
        fault.target = "+".join(map(str, self.ss7.span_numbers))
        for span in self.ss7.span_numbers:
            self.emulator.set_dchan_faults(span, loss=1.0)
        fault.state["calls"] = self._ss7_calls()

    def _end_ss7_linkset_loss(self, fault, now):
        for span in self.ss7.span_numbers:
            self.emulator.set_dchan_faults(span)
        legs = fault.state["calls"]
        up = [leg for leg in legs if leg.state != C.ENDED]
        fault.note = (f"{len(legs)} answered call(s) at the loss, "
                      f"{sum(leg.cause == C.TEMPORARY_FAILURE for leg in legs)} cleared with cause 41")
        if up:
            self._violate(f"ss7_linkset_loss at {fault.at:.0f} s left {len(up)} call(s) up on a link set with no "
                          f"link", key=("up", id(fault)))

    def _start_fxo_line_drop(self, fault, now):
        """Lines that clear by loop current and by tone take turns; make sure a caller is up on a line of this
        fault's kind by the drop: one more caller rings such a line now, and stays (the drop comes
        FXO_DROP_WAIT seconds later, at the fault's end; a caller already up may have left by then)."""
        earlier = sum(1 for f in self.faults if f.kind == fault.kind and f.started is not None) - 1
        fault.state["clearing"] = clearing = ("loop", "tone")[earlier % 2]
        rng = random.Random(f"{self.settings.seed}-fxo-{fault.at}")
        caller = Caller(f"20288{rng.randrange(10000, 99999)}", "", now, digits=rng.choice("12"),
                        digit_delay=3.0, patience=180.0, talk=120.0)
        self.fxo.add(caller, clearing=clearing)
        fault.state["callers"] = [caller]

    def _end_fxo_line_drop(self, fault, now):
        """The far end of a connected FXO line vanishes: loop current drops, or (on a line without disconnect
        supervision) only the exchange's busy tone tells the port. Lines of each kind take turns."""
        up = self.fxo.connected(fault.state["clearing"]) or self.fxo.connected()
        if not up:
            fault.note = "no FXO call up to drop (every line was in use when the fault's caller rang)"
            return
        ours = self.fxo.line_of(fault.state["callers"][0])
        line = ours if ours in up else up[0]
        caller = self.fxo.vanish(line, now)
        fault.target = line
        fault.state["channel"] = self.fxo_channels[line]
        fault.note = (f"far end of {line} (by {self.fxo.clearing_of(line)}) vanished "
                      f"{now - caller.answered:.0f} s into the call")

    def _fxo_cleared(self, fault):
        """Return True once the dropped line is idle at both ends: no leg on its port, the line on hook."""
        channel = fault.state.get("channel")
        if channel is None:
            return True
        if any(leg.channel == channel for leg in self.engine.legs.values()):
            return False
        if self.fxo.line_state(fault.target) != "idle":
            return False
        if "cleared_after" not in fault.state:
            fault.state["cleared_after"] = round(self.seconds() - fault.ended, 1)
            fault.note += f"; the centre cleared after {fault.state['cleared_after']:.1f} s"
        return True

    def _sip_legs(self):
        """Return the centre's legs of the SIP calls the carrier has answered and nobody has cleared."""
        sessions = self.centre.sip.sessions
        return [sessions[cid].leg for cid in self.carrier.answered_calls() if cid in sessions]

    def _sip_probe(self, fault, now):
        """One SIP caller a second from now: at a loss or garbage fault's start, so a call is set up through it;
        at a SIP fault's end, its answer shows the trunk carries calls again."""
        rng = random.Random(f"{self.settings.seed}-sip-{fault.at}-{now}")
        caller = Caller(f"20233{rng.randrange(10000, 99999)}", "5000", now + 1.0, digits=rng.choice("12"),
                        digit_delay=3.0, patience=30.0, talk=10.0)
        self.carrier.add(caller)
        fault.state.setdefault("callers", []).append(caller)

    def _start_sip_peer_down(self, fault, now):
        """The carrier stops answering and sending: its callers are lost (cause 41 to them), new ones refused.
        The centre still holds those calls until its session timer (or a 481 once the carrier is back) ends
        them; its OPTIONS pings go unanswered."""
        fault.state["legs"] = [sess.leg for sess in self.centre.sip.sessions.values()]
        fault.state["lost"] = len(self.carrier.active)
        self.carrier.go_down(now)

    def _end_sip_peer_down(self, fault, now):
        self.carrier.come_back(now)
        self._sip_probe(fault, now)
        fault.note = f"{fault.state['lost']} carrier call(s) lost, {len(fault.state['legs'])} up at the centre"

    def _start_sip_packet_loss(self, fault, now):
        """A burst of lost datagrams between the carrier and the centre, both ways, SIP and RTP (30-70% of them,
        seeded): retransmissions must carry the calls' signalling through, the packet rows' concealment (PLC)
        covers the audio's gaps."""
        fault.state["legs"] = legs = self._sip_legs()
        fault.state["rows"] = {leg.row: (self._row_stat(leg.row, "lost"), self._row_stat(leg.row, "concealed_ms"))
                               for leg in legs}
        fault.state["dropped"] = self.carrier.counts["dropped_out"] + self.carrier.counts["dropped_in"]
        self._sip_probe(fault, now)
        self.carrier.loss = round(random.Random(f"{self.settings.seed}-loss-{fault.at}").uniform(0.3, 0.7), 2)

    def _end_sip_packet_loss(self, fault, now):
        self._sip_probe(fault, now)
        legs = self._sip_legs_since(fault)
        dropped = self.carrier.counts["dropped_out"] + self.carrier.counts["dropped_in"] - fault.state["dropped"]
        fault.note = (f"{100 * self.carrier.loss:.0f}% lost: {dropped} datagrams dropped, {len(legs)} SIP "
                      f"call(s) answered at its start or during it")
        self.carrier.loss = 0.0

    def _start_sip_garbage(self, fault, now):
        """Malformed datagrams at the centre's SIP port and at the RTP ports of the calls up, each tick: counted
        and dropped, never a call or the trunk lost."""
        fault.state["legs"] = legs = self._sip_legs()
        fault.state["malformed"] = self.centre.sip.ua.stats["malformed"]
        fault.state["rtp_bad"] = {leg.row: self._rtp_bad(leg.row) for leg in legs}
        fault.state["sent"] = [0, 0]
        self._sip_probe(fault, now)

    def _end_sip_garbage(self, fault, now):
        self._sip_probe(fault, now)
        legs = [leg for leg in self._sip_legs_since(fault) if leg.state != C.ENDED]
        bad = sum(self._rtp_bad(leg.row) - fault.state["rtp_bad"].get(leg.row, 0) for leg in legs)
        fault.note = (f"sent {fault.state['sent'][0]} to the SIP port, {fault.state['sent'][1]} to RTP ports; the "
                      f"centre counted {self.centre.sip.ua.stats['malformed'] - fault.state['malformed']} malformed "
                      f"SIP messages, {bad} bad RTP datagrams on the {len(legs)} call(s) still up")

    def _sip_legs_since(self, fault):
        """Return the fault's SIP legs: those answered at its start and those answered since (kept in its state,
        each checked when it recovers)."""
        legs = fault.state["legs"]
        legs += [leg for leg in self._sip_legs() if leg not in legs]
        return legs

    def _row_stat(self, row, key):
        packet = self.engine.packet
        return packet.stats(row).get(key, 0) if packet.is_open(row) else 0

    def _rtp_bad(self, row):
        """Return the datagrams a packet row refused or could not use (malformed, wrong size, unknown type...)."""
        return sum(self._row_stat(row, k) for k in ("malformed", "wrong_size", "unknown_pt", "oversized",
                                                    "wrong_source"))

    def _sip_recovered(self, fault):
        """A SIP fault is over when a call placed after it was answered, the carrier trunk is not down by its
        pings, the calls the carrier lost are gone from the centre too, and no call up at the start of a loss
        or garbage fault was cut by it (a violation: ended with any cause but 16)."""
        # the probe caller, or (when an overload elsewhere had it refused) the next caller over SIP
        answered = self.carrier.last_answer
        if answered is None or answered <= fault.ended:
            return False
        sip = self.centre.sip
        if sip.trunk_state.get(SIP_TRUNK) == "down":
            return False
        legs = fault.state["legs"]
        if fault.kind == "sip_peer_down":
            up = [leg for leg in legs if leg.state != C.ENDED]
            if up:
                return False
            fault.note += ("; the centre cleared them with causes "
                           + ", ".join(f"{c} x{n}" for c, n in sorted(_counts(leg.cause for leg in legs).items())))
            return True
        if fault.kind == "sip_packet_loss":  # the rows count the gap once packets flow again
            up = [leg for leg in legs if leg.state != C.ENDED]
            lost, concealed = (sum(self._row_stat(leg.row, key) - fault.state["rows"].get(leg.row, (0, 0))[i]
                                   for leg in up)
                               for i, key in enumerate(("lost", "concealed_ms")))
            fault.note += (f"; on the {len(up)} still up when traffic resumed: {lost} packets counted lost, "
                           f"{concealed:.0f} ms concealed")
        cut = [leg for leg in legs if leg.state == C.ENDED and leg.cause != C.NORMAL_CLEARING]
        if cut:
            self._violate(f"{fault.kind} at {fault.at:.0f} s cut {len(cut)} SIP call(s) (causes "
                          f"{sorted({leg.cause for leg in cut})})", key=("cut", id(fault)))
        return True

    # ------------------------------------------------------------------------------------------ recovery

    def _recovered(self, fault, now):
        kind = fault.kind
        if kind in SPAN_FAULTS and self._on_ss7(fault.target):  # span up, links in, circuits unblocked both ways
            return self._ss7_up() and not self._alarm_bits(fault.target) and not self._ss7_blocked(fault.target)
        if kind in SPAN_FAULTS:
            return self._span_up(fault.target)
        if kind in SS7_FAULTS:  # every link in service at both ends, changed back, every circuit reset
            return self._ss7_up()
        if kind in FXO_FAULTS:
            return self._fxo_cleared(fault)
        if kind in SIP_FAULTS:
            return self._sip_recovered(fault)
        if kind == "agent_off_hook":
            return self._agent_free(fault.target)
        if kind == "agent_hangs_up":
            call = fault.state.get("call")
            return self._agent_free(fault.target) and (call is None or call not in self.engine.calls)
        if kind in ("script_raises", "overload"):
            callers = fault.state["callers"]
            if not all(c.ended is not None for c in callers):
                return False
            if kind == "script_raises":
                fault.note = f"script errors {len(self.engine.errors) - fault.state['errors']}"
            else:
                self._overload_recovered(fault)
                refused = sum(c.refused for c in callers)
                by_centre = {cause: sum(_caller_is("refused_by_centre", c) and c.cause == cause for c in callers)
                             for cause in REFUSAL_CAUSES}
                ticks = fault.state["ticks"]
                fault.note = (f"{refused} of {len(callers)} refused by the network (no B-channel free), "
                              + "by the centre: " + ", ".join(f"cause {cause}: {n}" for cause, n in by_centre.items())
                              + f", ticks overrun {fault.state['overruns']} (wall clock), "
                              f"{ticks['cpu_overruns']} by the engine thread's CPU (mean {ticks['cpu_mean_ms']} ms, "
                              f"p99 {ticks['cpu_p99_ms']} ms, max {ticks['cpu_max_ms']} ms over {ticks['count']} ticks), "
                              f"script errors {len(self.engine.errors) - fault.state['errors']}")
            return not any(call.caller_leg is not None and call.caller_leg.called == FLAKY_NUMBER
                           for call in self.engine.calls.values()) if kind == "script_raises" else True
        if kind in ("recordings_unwritable", "disk_full"):
            fresh = [r for r in self.engine.media.recorders if id(r) not in fault.state["open_at_end"]]
            return any(r.path.startswith(self.recordings_dir) for r in fresh) or not self.engine.calls
        if kind == "database_locked":
            return self.centre.writer.backlog == 0
        if kind == "cti_flood":  # every flood connection gone and its messages handled
            cti = self.centre.cti
            return not cti.conns and cti.hub.inbox.empty() and not cti.hub.sessions
        return True

    def _span_up(self, span):
        trunk, pstn = self._span_parts(span)
        return (trunk.iface.link.state == lapd.ESTABLISHED and pstn.iface.link.state == lapd.ESTABLISHED
                and not self._alarm_bits(span))

    def _alarm_bits(self, span):
        """Return the alarm bits of the centre's span (0: none)."""
        return getattr(next(x for x in self.centre.board.spans if x.number == span), "alarm_bits", 0)

    def _ss7_blocked(self, span):
        """Return True while a circuit of the SS7 span is blocked at either end or a group message awaits its ack."""
        cics = self._ss7_cics(span)
        return (any(any(self.ss7.isup.blocked(cic)) or any(self.exchange.isup.blocked(cic)) for cic in cics)
                or bool(self.ss7.isup._group) or bool(self.exchange.isup._group))

    def _ss7_up(self):
        every = len(self.ss7.span_numbers)
        return (len(self.ss7.links_up()) == every and len(self.exchange.links_up()) == every
                and not self.ss7.reset_due and not self.exchange.reset_due
                and all(self.ss7.isup.state(cic) != RESETTING and self.exchange.isup.state(cic) != RESETTING
                        for cic in self.ss7.cics))

    def _agent_free(self, name):
        ch = self.agent_channel[name]
        acd_name = self.acd_names.get(ch)
        stuck = [line for line in self._orphan_lines() if f"channel {ch} " in line
                 or (acd_name and f"agent {acd_name} " in line)]
        return not stuck

    # ------------------------------------------------------------------------------------------ checks

    def _violate(self, text, key=None):
        key = key or text
        if key in self._violated:
            return
        self._violated.add(key)
        self.violations.append(f"{self.seconds():.1f} s: {text}")
        if self.stream is not None:  # a long run says what broke when it breaks, not only at its end
            self.stream.write(f"\nviolation at {self.violations[-1]}\n")

    def _sip_left(self):
        """Return what SIP holds with no call, at the centre and at the carrier: dialogs, transactions other than
        the trunk's OPTIONS pings, timers other than the pings', sessions and packet rows (empty after a drain)."""
        if self.carrier is None:
            return []
        sip, ua = self.centre.sip, self.centre.sip.ua
        out = [f"SIP session {cid} on row {sess.row}" for cid, sess in sip.sessions.items()]
        out += [f"SIP dialog {cid}" for cid in ua.dialogs]
        out += [f"SIP transaction {key[-1]} {key[1]}" for key in ua.layer.transactions if key[-1] != "OPTIONS"]
        out += [f"SIP timer {name} of {owner}" for owner, name in ua.timers.keys()
                if not (isinstance(owner, tuple) and owner[0] == "ka")]
        out += self.engine.packet.leaks()
        return out + [line for line in self.carrier.leaks()
                      if not (line.startswith("carrier transaction OPTIONS"))]

    def _check_second(self, now):
        for fault in list(self.active):
            if fault.ended is None:
                continue
            if self._recovered(fault, now):
                fault.recovered = now
                if "callers" in fault.state:
                    self.extra_offered += len(fault.state.pop("callers"))
                self.active.remove(fault)
            elif now - fault.ended > RECOVERY_BOUND[fault.kind]:
                self._violate(f"{fault.kind} at {fault.at:.0f} s ({fault.target}) not recovered "
                              f"{RECOVERY_BOUND[fault.kind]:.0f} s after it ended", key=id(fault))
        for call in self.engine.calls.values():
            agents = [leg for leg in call.legs if leg.active and leg.state == "answered"
                      and leg.channel in self.agent_channels]
            if len(agents) > 1:
                self._violate(f"call {call.id} is connected to {len(agents)} agents "
                              f"(channels {', '.join(str(leg.channel) for leg in agents)})", key=("two", call.id))
        self._check_channels(now)

    def _check_channels(self, now):
        """The centre and the network must agree, within leak_grace, on which B-channels carry a call."""
        seen = set()
        for span, trunk in self.trunks.items():
            _, pstn = self._span_parts(span)
            net = set(pstn.iface.channel_calls)
            ours = {trunk.offset_of[ch] for ch in trunk.busy}
            for offset in ours - net:
                seen.add((span, offset, "centre"))
            for offset in net - ours:
                seen.add((span, offset, "network"))
        if self.ss7 is not None:  # the same for the SS7 circuits: a leg at our end, a call at the exchange
            ours = set(self.ss7.legs)
            net = set(self.exchange.calls)
            for cic in ours ^ net:
                seen.add((self.ss7.name, cic, "centre" if cic in ours else "network"))
        if self.carrier is not None and not self.carrier.down:  # SIP calls: a session here, a call at the carrier
            ours, net = set(self.centre.sip.sessions), set(self.carrier.active)
            for cid in ours ^ net:
                seen.add((SIP_TRUNK, cid, "centre" if cid in ours else "network"))
        for (span, offset, side), first in _overdue(self._disagree, seen, now, self.settings.leak_grace):
            what = f"SIP call {offset}" if span == SIP_TRUNK else f"span {span} B-channel {offset}"
            self._violate(f"{what} held by the {side} only for {now - first:.0f} s",
                          key=("disagree", span, offset, side, first))

    def _orphan_lines(self):
        """Return Centre.leaks() lines that name no call still up (what is held with no call to own it)."""
        out = []
        for line in self.centre.leaks():
            ids = re.findall(r"\b(C\d+)\b", line)
            if not any(i in self.engine.calls for i in ids):
                out.append(line)
        return out

    def _check_minute(self, now):
        """Run the whole minute check at once (the run spreads its steps over the following ticks)."""
        for step in self._minute_steps():
            step(now)

    def _minute_steps(self):
        """Return the minute check as steps, for the run to take one after each tick: taken at once they were
        13-20 ms after one tick (CDR counts, leak lines, RSS), the soak's own work in the tail of a paced run."""
        return [self._tally_callers, self._read_journals, self._check_cdrs, self._check_orphans, self._sample_rss]

    def _tally_callers(self, now):
        # the people who left are counted and let go: a day of Caller objects would show as RSS growth
        for span, p in zip(self.network_spans, self.pstns):
            for c in p.done:
                for k in self.callers_done:
                    self.callers_done[k] += _caller_is(k, c)
                    if p is self.carrier:
                        self.sip_done[k] += _caller_is(k, c)
                self.placed_by_span[span] += not c.refused
            p.done.clear()

    def _read_journals(self, now):
        self.board_events += len(self.emulator.event_log.read(self._board_events))
        self._recording_errors()  # reads the finished recordings, so the journal lets them go

    def _check_orphans(self, now):
        for line, first in _overdue(self._orphans, set(self._orphan_lines()), now, self.settings.leak_grace):
            self._violate(f"held for {now - first:.0f} s with no call: {line}", key=("orphan", line, first))

    def _sample_rss(self, now):
        self.rss.append((now, rss_bytes()))

    # ------------------------------------------------------------------------------------------ the end

    def _finish(self, wall):
        s = self.settings
        left = self.centre.leaks() + self._sip_left()
        for line in left:
            self._violate(f"left behind after the drain: {line}")
        try:
            self.centre.close(publish=False)
        except Exception as exc:  # noqa: BLE001 - after a crash the centre may not close cleanly either
            self._violate(f"closing the centre raised {type(exc).__name__}: {exc} ({_where(exc)})")
        self._unmount()
        cdrs = self._cdr_counts()
        missing = sorted(set(self.ended_calls.pending) - set(cdrs), key=_call_number)
        doubled = sorted((c for c, n in cdrs.items() if n > 1), key=_call_number)
        phantom = sorted((c for c in cdrs if c not in self.ended_calls), key=_call_number)
        if missing:
            self._violate(f"{len(missing)} ended calls have no CDR: {', '.join(missing[:10])}")
        if doubled:
            self._violate(f"{len(doubled)} calls have more than one CDR: {', '.join(doubled[:10])}")
        if phantom:
            self._violate(f"{len(phantom)} CDRs name no call the engine ended: {', '.join(phantom[:10])}")
        rss = self._rss_report()
        if rss["checked"] and rss["growth"] > 0.05:
            self._violate(f"RSS grew {100 * rss['growth']:.1f}% after warm-up "
                          f"({rss['after_warmup_mb']:.1f} -> {rss['max_mb']:.1f} MB)")
        callers = [c for p in self.pstns for c in _callers(p)]
        by_kind = {}
        for f in self.faults:
            if f.started is None:
                continue
            k = by_kind.setdefault(f.kind, {"injected": 0, "recovered": 0, "recovery_s": []})
            k["injected"] += 1
            if f.recovered is not None:
                k["recovered"] += 1
                k["recovery_s"].append(f.recovery)
        for k in by_kind.values():
            times = k.pop("recovery_s")
            k["recovery_mean_s"] = round(sum(times) / len(times), 2) if times else None
            k["recovery_max_s"] = round(max(times), 2) if times else None
        t, tc = self.ticks, self.tick_cpu
        return {
            "settings": {"hours": s.hours, "seed": s.seed, "spans": s.spans, "ss7_links": s.ss7_links,
                         "fxo_lines": s.fxo_lines, "sip_every": s.sip_every, "agents": s.agents,
                         "calls_per_hour": s.calls_per_hour, "blocksize": s.blocksize},
            "simulated_seconds": round(self.seconds(), 1),
            "wall_seconds": round(wall, 1),
            # CPU seconds of this process (all its threads): the speed on one core when other jobs share it
            "cpu_seconds": round(time.process_time() - self._cpu0, 1),
            "paced": s.paced,
            "scheduling": self.scheduling,
            "faults": by_kind,
            "fault_log": [{"at": f.at, "kind": f.kind, "target": f.target, "duration": round(f.duration, 1),
                           "recovery_s": None if f.recovery is None else round(f.recovery, 2), "note": f.note,
                           **({"ticks": f.state["ticks"]} if "ticks" in f.state else {})}
                          for f in self.faults if f.started is not None],
            "violations": list(self.violations),
            "crash": self.crash,
            "calls": {"offered": self.offered + self.extra_offered
                      + sum(len(f.state.get("callers", ())) for f in self.faults),
                      **{k: n + sum(1 for c in callers if _caller_is(k, c)) for k, n in self.callers_done.items()},
                      "ended_in_engine": self.ended_calls.count,
                      "placed_by_span": {str(span): n + sum(1 for c in _callers(p) if not c.refused)
                                         for (span, n), p in zip(self.placed_by_span.items(), self.pstns)},
                      "ss7": self._ss7_counts(),
                      "sip": self._sip_counts(),
                      "script_errors": self.engine.errors.total,
                      # the centre's own overload control: calls it refused by reason (capacity 34, rate/load 42)
                      "admission": self.engine.admission.status() if self.engine.admission is not None else None,
                      # the same refusals by the trunk they came in on: the FXO lines' callers hear no cause (the
                      # port never answers, the line rings out), so refused_by_centre counts them as abandoned
                      "refused_by_trunk": dict(sorted(self.ended_calls.refused.items())),
                      "refusals_lost": self.ended_calls.refusals_lost},
            "cdrs": sum(cdrs.values()),
            "rss": rss,
            "ticks": {"count": t.n, "mean_ms": round(1000 * t.total / t.n, 3) if t.n else None,
                      "p99_ms": _ms(t.percentile(99.0)), "p999_ms": _ms(t.percentile(99.9)), "max_ms": _ms(t.max),
                      "tick_ms": 1000.0 * s.blocksize / SAMPLE_RATE, "overruns": self.overruns, "late": self.late,
                      "cpu_mean_ms": round(1000 * tc.total / tc.n, 3) if tc.n else None,
                      "cpu_p99_ms": _ms(tc.percentile(99.0)), "cpu_p999_ms": _ms(tc.percentile(99.9)),
                      "cpu_max_ms": _ms(tc.max), "overload": _cpu_figures(self.overload_cpu, self.overload_over)},
            "load_average": [round(v, 2) for v in os.getloadavg()],  # the machine's, at the end: context for the times
        }

    def _ss7_counts(self):
        """Return what the SS7 trunk logged: links down and up, route down and up (MTP pause, resume), its spans'
        alarms and their clearing (hardware blocking and unblocking)."""
        if self.ss7 is None:
            return None
        return self._log_counts(("ss7_link_down", "ss7_link_up", "ss7_route_down", "ss7_route_up", "ss7_span_alarm",
                                 "ss7_span_clear"))

    def _sip_counts(self):
        """Return the SIP side's figures: the carrier's callers (placed, answered, refused by the centre: 503 with
        cause 34 or 42), the SIP calls the engine ended, the carrier's datagram counts and the centre's trunk
        counters (malformed messages, refusals) and pings (sip_trunk_down / sip_trunk_up in its log)."""
        if self.carrier is None:
            return None
        callers = self.carrier.done + [call.caller for call in self.carrier.active.values()]
        tally = {k: n + sum(1 for c in callers if _caller_is(k, c)) for k, n in self.sip_done.items()}
        trunk = {k: v for k, v in self.centre.sip.stats.items() if k in ("datagrams", "refused", "calls_in")}
        return {**tally, "ended_in_engine": self.ended_calls.sip, "carrier": dict(self.carrier.counts),
                "centre": {**trunk, "malformed": self.centre.sip.ua.stats["malformed"]},
                **self._log_counts(("sip_trunk_down", "sip_trunk_up"))}

    def _log_counts(self, kinds):
        """Return {kind: lines of that kind in the centre's log file}."""
        counts = dict.fromkeys(kinds, 0)
        path = self.centre.settings.place(self.centre.settings.centre.log_file)
        with open(path) as fh:
            for line in fh:
                kind = line.split(" ", 2)[1] if " " in line else ""
                if kind in counts:
                    counts[kind] += 1
        return counts

    def _check_cdrs(self, now):
        """Every minute: no call has two CDRs, and a call ended more than CDR_DUE seconds ago has its CDR
        once the writer has nothing waiting (a locked database is read anyway: WAL readers are not blocked)."""
        pending = self.ended_calls.pending
        try:
            doubled, seen = self._cdr_seen(list(pending), timeout=0.0)
        except sqlite3.OperationalError:
            return
        for call_id, n in doubled:
            self._violate(f"call {call_id} has {n} CDRs", key=("cdrs", call_id))
        for call_id in seen:
            del pending[call_id]
        if self.centre.writer.backlog:
            return
        due = self.engine.now - int(CDR_DUE * SAMPLE_RATE)
        for call_id, ended in pending.items():
            if ended <= due:
                self._violate(f"call {call_id} ended {(self.engine.now - ended) / SAMPLE_RATE:.0f} s ago and has no CDR",
                              key=("no cdr", call_id))

    def _cdr_seen(self, ids, timeout):
        """Return the (call id, count) of calls with more than one CDR, and those of ids that have a CDR. Both
        are asked of SQLite: reading a day's table into Python every minute grew RSS with the table."""
        if self.db_path is None:
            return [], []
        db = sqlite3.connect(self.db_path, timeout=timeout)
        try:
            doubled = db.execute("select call_id, count(*) from cdr group by call_id having count(*) > 1").fetchall()
            seen = set()
            for i in range(0, len(ids), 500):  # within SQLite's limit on bound parameters
                chunk = ids[i:i + 500]
                marks = ",".join("?" * len(chunk))
                seen.update(r[0] for r in db.execute(f"select call_id from cdr where call_id in ({marks})", chunk))
            return doubled, seen
        finally:
            db.close()

    def _cdr_counts(self, timeout=5.0):
        if self.db_path is None:
            return {}
        db = sqlite3.connect(self.db_path, timeout=timeout)
        try:
            return dict(db.execute("select call_id, count(*) from cdr group by call_id").fetchall())
        finally:
            db.close()

    def _rss_report(self):
        s = self.settings
        samples = self.rss
        warm = s.hours * 3600.0 / 4
        after = [b for t, b in samples if t >= warm]
        checked = s.hours >= s.rss_check_hours and len(after) >= 2
        out = {"samples": len(samples), "checked": checked,
               "start_mb": round(samples[0][1] / 2**20, 1) if samples else None,
               "end_mb": round(samples[-1][1] / 2**20, 1) if samples else None}
        if after:
            out.update(after_warmup_mb=round(after[0] / 2**20, 1), max_mb=round(max(after) / 2**20, 1),
                       growth=round(max(after) / after[0] - 1.0, 4))
        else:
            out.update(after_warmup_mb=None, max_mb=None, growth=0.0)
        return out


class _EndedCalls:
    """Engine listener: the calls the engine ended (what the CDR table must match). A dict of a day's call ids
    grew RSS by 1.7 MB, so it keeps one bit per engine call number (C<n>), and the ended time only of the
    calls whose CDR has not been seen yet."""

    def __init__(self):
        self.count = 0  # calls ended
        self.sip = 0  # of which came in over SIP
        self.refused = {}  # trunk tech -> incoming calls the centre's overload control refused
        self.refusals_lost = 0  # of those, calls whose clearing with the cause was lost to a fault on their trunk
        self._refused_legs = set()  # ids of refused legs not ended yet
        self.pending = {}  # call id -> board sample the engine ended it, until its CDR is seen
        self._bits = bytearray()
        self._others = set()  # ids not of the engine's C<n> form

    def on_call_ended(self, call):
        """Note an ended call."""
        if call.id in self:
            return
        self.count += 1
        leg = getattr(call, "caller_leg", None)
        self.sip += getattr(leg, "tech", None) == "sip"
        if leg is not None and leg.id in self._refused_legs:
            self._refused_legs.discard(leg.id)
            # a D-channel or link lost meanwhile: the DISCONNECT with 42 never arrived and the call was cleared
            # otherwise (41, or 81 from the network once the link came back)
            self.refusals_lost += leg.cause not in REFUSAL_CAUSES
        self.pending[call.id] = call.ended
        n = _call_number(call.id)
        if n <= 0:
            self._others.add(call.id)
            return
        if n >> 3 >= len(self._bits):
            self._bits.extend(bytes(max((n >> 3) + 1 - len(self._bits), 1024)))
        self._bits[n >> 3] |= 1 << (n & 7)

    def watch(self, admit):
        """Return admit (Admission.admit) wrapped to note each leg it refuses, by trunk."""
        def watched(engine, leg, now):
            refused = admit(engine, leg, now)
            if refused is not None:
                self.refused[leg.tech] = self.refused.get(leg.tech, 0) + 1
                self._refused_legs.add(leg.id)
            return refused
        return watched

    def __contains__(self, call_id):
        n = _call_number(call_id)
        if n <= 0:
            return call_id in self._others
        return n >> 3 < len(self._bits) and bool(self._bits[n >> 3] & 1 << (n & 7))


def _where(exc):
    """Return 'file:line in function' of the innermost frame of an exception's traceback."""
    frames = traceback.extract_tb(exc.__traceback__)
    if not frames:
        return "no traceback"
    f = frames[-1]
    return f"{os.path.relpath(f.filename) if f.filename.startswith(os.sep) else f.filename}:{f.lineno} in {f.name}"


def _callers(network):
    """Return a simulated network's callers, done and still in a call (the SIP carrier keeps its calls up,
    each with its caller; a run that stops mid-call, as a crash does, still counts them)."""
    return network.done + [getattr(up, "caller", up) for up in network.active.values()]


def _caller_is(what, caller):
    """Return True when a simulated caller counts under what (placed, refused_by_network, ...)."""
    return {"placed": not caller.refused, "refused_by_network": caller.refused,
            "refused_by_centre": caller.answered is None and caller.cause in REFUSAL_CAUSES,
            "reached_agent": caller.agent_at is not None, "abandoned": caller.abandoned}[what]


def _overdue(ages, seen, now, grace):
    """Keep in ages (thing -> first seen) only the things seen now; return [(thing, first seen)] of those
    seen continuously for longer than grace."""
    for thing in list(ages):
        if thing not in seen:
            del ages[thing]
    return [(thing, ages.setdefault(thing, now)) for thing in seen if now - ages.get(thing, now) > grace]


def _counts(items):
    """Return {item: how many times it occurs}."""
    out = {}
    for item in items:
        out[item] = out.get(item, 0) + 1
    return out


def _call_number(call_id):
    return int(call_id.lstrip("C")) if call_id.lstrip("C").isdigit() else 0


def _cpu_figures(hist, over):
    """Return a histogram of ticks' CPU times as report figures: count, mean, p99, p99.9, max (ms), and over
    (the ticks whose CPU time exceeded their board time)."""
    return {"count": hist.n, "cpu_mean_ms": _ms(hist.total / hist.n) if hist.n else None,
            "cpu_p99_ms": _ms(hist.percentile(99.0)), "cpu_p999_ms": _ms(hist.percentile(99.9)),
            "cpu_max_ms": _ms(hist.max) if hist.n else None, "cpu_overruns": over}


def _ms(seconds):
    return None if seconds is None else round(1000.0 * seconds, 2)


def run(settings, stream=sys.stderr):
    """Run a soak; return its report dict (also written to DATA/soak.json)."""
    soak = Soak(settings, stream=stream)
    try:
        report = soak.run()
    finally:  # interrupted (Ctrl-C) too: no small disk stays mounted in the data folder
        soak._unmount()
    if stream is not None:
        stream.write("\n")
    with open(os.path.join(soak.data, "soak.json"), "w") as fh:
        json.dump(report, fh, indent=1, sort_keys=True, default=str)
    return report


def _pacing(r):
    if not r.get("paced"):
        return "as fast as the CPU allows"
    return f"paced in real time (tick thread: {r.get('scheduling', 'normal priority')})"


def format_report(r):
    """Return the soak report as text."""
    s, c, t, rss = r["settings"], r["calls"], r["ticks"], r["rss"]
    lines = ["", "pycallcenter soak", "=" * 40,
             f"seed {s['seed']}, {s['hours']} h simulated in {r['wall_seconds']} s, {s['spans']} PRI span(s), "
             f"{'an SS7 link set of %d link(s), ' % s['ss7_links'] if s.get('ss7_links') else ''}"
             f"{'%d FXO line(s), ' % s['fxo_lines'] if s.get('fxo_lines') else ''}"
             f"{'a SIP carrier (1 caller in %d), ' % s['sip_every'] if s.get('sip_every') else ''}"
             f"{s['agents']} agent phones, {s['calls_per_hour']:.0f} calls/h",
             f"{_pacing(r)}: {r['simulated_seconds']} s "
             f"simulated, {_x(r['simulated_seconds'], r['wall_seconds'])} real time by the wall clock, "
             f"{_x(r['simulated_seconds'], r['cpu_seconds'])} by this process's CPU time ({r['cpu_seconds']} s)",
             "", f"{'fault':<24}{'injected':>9}{'recovered':>10}{'mean s':>8}{'max s':>8}"]
    for kind in FAULT_KINDS:
        k = r["faults"].get(kind)
        if k:
            lines.append(f"{kind:<24}{k['injected']:>9}{k['recovered']:>10}{_f(k['recovery_mean_s']):>8}"
                         f"{_f(k['recovery_max_s']):>8}")
    total = sum(k["injected"] for k in r["faults"].values())
    lines += [f"{'all':<24}{total:>9}{sum(k['recovered'] for k in r['faults'].values()):>10}", "",
              f"calls: offered {c['offered']}, placed {c['placed']}, refused by the network {c['refused_by_network']}, "
              f"refused by the centre {_refused_total(c)}{_refusals(c.get('admission'), c.get('refused_by_trunk'))}"
              f" (callers who heard the cause {c.get('refused_by_centre', 0)}, cleared otherwise by a fault "
              f"{c.get('refusals_lost', 0)}), "
              f"reached an agent {c['reached_agent']}, abandoned {c['abandoned']}, ended in the engine "
              f"{c['ended_in_engine']}, CDRs {r['cdrs']}, script errors {c['script_errors']}",
              *_sip_line(c.get("sip")),
              f"RSS {rss['start_mb']} MB at the first check, {rss['after_warmup_mb']} MB after warm-up, max "
              f"{rss['max_mb']} MB (growth {100 * rss['growth']:.1f}%, {'checked' if rss['checked'] else 'not checked: short run'})",
              f"tick ({t['tick_ms']:.0f} ms of board time): mean {t['mean_ms']} ms, p99 {t['p99_ms']} ms, "
              f"p99.9 {t['p999_ms']} ms, max {t['max_ms']} ms; {t['overruns']} tick(s) longer than "
              f"{t['tick_ms']:.0f} ms" + (f", {t['late']} started over a tick late" if r.get("paced") else ""),
              f"tick by the engine thread's CPU time: mean {t.get('cpu_mean_ms')} ms, p99 {t.get('cpu_p99_ms')} ms, "
              f"p99.9 {t.get('cpu_p999_ms')} ms, max {t.get('cpu_max_ms')} ms; load average at the end "
              f"{', '.join(str(v) for v in r.get('load_average', []))}"]
    ovl = t.get("overload")
    if ovl and ovl["count"]:
        lines.append(f"tick in the overload windows (start to recovery), by the engine thread's CPU time: "
                     f"{ovl['count']} ticks, mean {ovl['cpu_mean_ms']} ms, p99 {ovl['cpu_p99_ms']} ms, p99.9 "
                     f"{ovl['cpu_p999_ms']} ms, max {ovl['cpu_max_ms']} ms; {ovl['cpu_overruns']} longer than "
                     f"{t['tick_ms']:.0f} ms")
    lines += ["", f"invariant violations: {len(r['violations'])}"]
    lines += [f"  {v}" for v in r["violations"]]
    return "\n".join(lines) + "\n"


def _sip_line(sip):
    """Return the report's line on the SIP calls (none without a SIP carrier)."""
    if not sip:
        return []
    carrier, centre = sip["carrier"], sip["centre"]
    return [f"SIP: placed {sip['placed']}, refused by the carrier {sip['refused_by_network']} (down), refused by the "
            f"centre {sip['refused_by_centre']} (503), reached an agent {sip['reached_agent']}, abandoned "
            f"{sip['abandoned']}, ended in the engine {sip['ended_in_engine']}; RTP packets out {carrier['rtp_out']}, "
            f"in {carrier['rtp_in']}; datagrams dropped {carrier['dropped_out'] + carrier['dropped_in']}, malformed "
            f"sent {carrier['garbage_sip']} SIP and {carrier['garbage_rtp']} RTP (the centre counted "
            f"{centre['malformed']} malformed SIP); trunk down {sip['sip_trunk_down']}, up {sip['sip_trunk_up']}"]


def _refused_total(c):
    """Return the calls the centre refused: its admission's count (the callers who heard it when there is none)."""
    adm = c.get("admission")
    return adm["refused_total"] if adm else c.get("refused_by_centre", 0)


def _refusals(adm, by_trunk=None):
    """Return ' (capacity N, load N, rate N; fxo N, pri N, ...)' for the admission status and the refusals by
    trunk in a report, '' without an admission."""
    if not adm:
        return ""
    trunks = "; " + ", ".join(f"{k} {v}" for k, v in by_trunk.items()) if by_trunk else ""
    return " (" + ", ".join(f"{k} {v}" for k, v in sorted(adm["refused"].items())) + trunks + ")"


def _x(simulated, spent):
    return "-" if not spent else f"{simulated / spent:.1f}x"


def _f(v):
    return "-" if v is None else f"{v:.1f}"
