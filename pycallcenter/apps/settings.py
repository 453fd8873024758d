"""The centre's configuration: every table and key of the centre's TOML file, typed and checked.

One file describes the whole centre: the board (``[board]``, ``[[span]]``, ``[[channels]]``,
``[emulator]``: see docs/boards.md, parsed by ``pycallcenter.drivers``) and the tables below (parsed
here). ``load_settings(path)`` returns (board TOML text, :class:`Settings`); any wrong key, type or
value raises one ConfigError naming the file, the line and the key. docs/operations.md documents every
key; a test checks that it names each one.
"""
import dataclasses
import datetime as _dt
import os
import re
from dataclasses import dataclass, field
from typing import Annotated, Optional

from pycallcenter.apps.schema import (Count, Digits, Fraction, Hours, Locator, Match, OneOf, Port, Range,
                                      Seconds, Where, clock_range, load, parse)
from pycallcenter.drivers.config import read_config_text
from pycallcenter.errors import ConfigError
from pycallcenter.media import g722

STRATEGIES = ("ring_all", "linear", "round_robin", "longest_idle", "fewest_calls", "least_talk", "random",
              "weighted_random", "ring_progressively", "skills", "priority", "sticky")
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
Day = Annotated[str, OneOf(DAYS)]
Date = Annotated[str, Match(r"\d{4}-\d{2}-\d{2}", "'2026-12-25'")]
ScriptName = Annotated[str, Match(r"[A-Za-z_][A-Za-z0-9_]*", "a script name (a file in the scripts folder)")]
Language = Annotated[str, Match(r"[a-z]{2,3}(-[A-Za-z0-9]+)?", "a language code such as 'en' or 'zh'")]
NumberPattern = Annotated[str, Match(r"[0-9*#+XNZxnz.\[\]\-!]+|_(?:[0-9*#+XNZxnz.!]|\[[0-9\-]+\])+",
                                     "a number or pattern ('5000', '_5XXX', '_0203.')")]


def sip_target(phone):
    """Return the engine's originate target of an agent's phone: 'sip:USER' -> 'sip/USER' (a registered SIP
    phone), 'webrtc:NAME' -> 'webrtc/NAME' (a browser phone)."""
    tech, _, name = phone.partition(":")
    return f"{tech}/{name}"


def doc(text, default=dataclasses.MISSING, factory=dataclasses.MISSING):
    """Return a dataclass field with its documentation line."""
    if factory is not dataclasses.MISSING:
        return field(default_factory=factory, metadata={"doc": text})
    return field(default=default, metadata={"doc": text})


@dataclass
class CentreSection:
    """[centre]: where things are, and the engine's own switches."""

    data: str = doc("data folder (recordings, CDR database, status, prompts cache), relative to the config file",
                    "data")
    database: Optional[str] = doc("SQLite file or folder, or a PostgreSQL DSN (default: the data folder)", None)
    scripts: Optional[str] = doc("IVR scripts folder (default: the bundled scripts)", None)
    default_script: ScriptName = doc("script for calls no [[route]] matches", "main_menu")
    prompts: Optional[str] = doc("prompt folder (default: DATA/prompts, generated on first start)", None)
    acd: Optional[str] = doc("a TOML file with more [[queue]] and [[agent]] tables", None)
    appliance: Optional[str] = doc("name of this box in a shared database (default: host name)", None)
    metrics_port: Optional[Port] = doc("Prometheus endpoint port (default off; 0 = any free port)", None)
    metrics_addr: str = doc("bind address of the metrics endpoint", "127.0.0.1")
    tone_plan: Optional[str] = doc("tone plan (us, etsi, uk, ...; default: the board's tone zone)", None)
    pri_network: bool = doc("PRI spans take the network side", False)
    pri_restart: Annotated[str, OneOf(("interface", "off"))] = doc(
        "RESTART at start: when a PRI span's D-channel first comes up, one RESTART for the whole interface "
        "(Q.931 5.5) and no call on it until RESTART ACKNOWLEDGE; off: none", "interface")
    pri_overlap: bool = doc("PRI overlap receiving: a SETUP without sending complete whose number could still "
                            "grow into a [[route]]'s is acknowledged and its digits collected before routing; "
                            "false: every SETUP is routed with the number it carries (en bloc)", True)
    pri_overlap_timeout: Annotated[float, Range(1, 120)] = doc(
        "seconds without a new digit before the collected number is routed (Q.931 T302)", 15.0)
    echo_window: Annotated[str, OneOf(("whole", "placed"))] = doc(
        "line echo cancellers at the start of a call: placed = wait up to 112 ms of far-end speech for a "
        "bulk-delay estimate and adapt only a window around it, or, still unsure, the whole tail after replaying "
        "what was held (tails of 64 ms and more: a third of the CPU in a call's first ticks when many calls start "
        "at once); whole = adapt over the whole tail from the start until the echo path is found (docs/echo.md)",
        "placed")
    log_file: Optional[str] = doc("event log file (one line per engine event)", None)
    status_every: Annotated[float, Range(0.05, 3600)] = doc("seconds between status publications", 1.0)
    realtime: bool = doc(
        "while the centre ticks in real time, the tick thread runs in the real-time scheduling class (SCHED_RR "
        "at realtime_priority, ahead of every ordinary process) and the process's other threads one priority "
        "below it; needs root, CAP_SYS_NICE or an rtprio limit, else one warning and normal priority", False)
    realtime_priority: Annotated[int, Range(1, 98)] = doc("SCHED_RR priority of the tick thread with realtime", 10)
    cpu: Optional[Annotated[int, Range(0, 4095)]] = doc(
        "pin the tick thread to this CPU while the centre ticks in real time (default: any CPU)", None)
    lock_memory: bool = doc(
        "lock the process's memory (mlockall, pages locked as touched) while the centre ticks in real time, so "
        "a tick never waits for a page swapped out; needs root, CAP_IPC_LOCK or an unlimited memlock limit",
        False)
    station_features: bool = doc("hook-flash consult/transfer and call waiting on FXS extensions", True)
    cti_port: Optional[Port] = doc("CTI server and wallboard port (default off; 0 = any free port)", None)
    cti_addr: str = doc("CTI bind address", "127.0.0.1")
    cti_lines_port: Optional[Port] = doc("CTI messages as JSON lines over TCP for scripts (default off; 0 = any "
                                         "free port; TLS when the CTI port has it)", None)
    cti_users: Optional[str] = doc("agents' and supervisors' accounts file (docs/cti.md); needs cti_port", None)
    cti_tls: Annotated[str, OneOf(("off", "self-signed"))] = doc(
        "without cti_cert: 'self-signed' makes a certificate in the data folder at start; 'off' serves plain "
        "HTTP (loopback addresses only)", "off")
    cti_cert: Optional[str] = doc("PEM certificate (chain) for HTTPS/WSS on cti_port; needs cti_key", None)
    cti_key: Optional[str] = doc("PEM private key of cti_cert", None)
    cti_hosts: list[str] = doc("more host names browsers reach the CTI server by (Host header check)",
                               factory=list)
    cti_unauth_timeout: Annotated[float, Range(1, 300)] = doc(
        "seconds a CTI connection may stay open without authenticating", 10.0)
    cti_max_connections: Annotated[int, Range(1, 100000)] = doc("CTI connections open at once, in total", 1024)
    cti_max_per_source: Annotated[int, Range(1, 100000)] = doc("CTI connections open at once from one address", 32)
    cti_lockout_after: Annotated[int, Range(1, 1000)] = doc(
        "failed logins in a row from one address that lock it out (each failure doubles the wait first)", 10)
    cti_lockout: Annotated[float, Range(1, 86400)] = doc("seconds a locked-out address waits", 300.0)
    cti_session_idle: Annotated[float, Range(10, 86400)] = doc("seconds a browser session lasts unused", 1800.0)
    cti_session_max: Annotated[float, Range(60, 604800)] = doc("seconds a browser session lasts at most", 43200.0)
    hot_desking: bool = doc("agents may choose their phone at CTI login (login contact=channel/N); otherwise "
                            "the phone in [[agent]] is the only one", False)
    operator: Optional[str] = doc("dial target for 0 in the main menu ('channel/5', 'pri1/200')", None)
    operator_timeout: Seconds = doc("seconds the operator's phone rings", 20.0)
    start: Optional[str] = doc("wall-clock time at board time 0 for simulated runs ('2026-01-05T09:00'); "
                               "default: now", None)
    max_calls: Optional[Annotated[int, Range(1, 100000)]] = doc(
        "overload control: calls up at once; an incoming call beyond it is refused with cause 34 (no "
        "circuit/channel available; SIP 503) before any script runs (default: no limit)", None)
    max_call_rate: Optional[Annotated[float, Range(0.01, 10000)]] = doc(
        "overload control: new incoming calls per second; beyond it (and its burst) a call is refused with "
        "cause 42 (switching equipment congestion; SIP 503) (default: no limit)", None)
    call_rate_burst: Optional[Annotated[float, Range(1, 100000)]] = doc(
        "calls that may arrive at once within max_call_rate (default: one second's worth)", None)
    overload_guard: Annotated[float, Range(0, 1)] = doc(
        "overload control in runs paced in real time: when the p99 of the ticks' work over the last "
        "overload_window seconds passes this share of the tick, incoming calls are refused with cause 42 until "
        "it falls under overload_release (0: off)", 0.8)
    overload_release: Fraction = doc("share of the tick the p99 must fall under before calls are let in again",
                                     0.6)
    overload_window: Annotated[float, Range(0.1, 60)] = doc("seconds of ticks the overload guard's p99 covers", 2.0)
    umask: Annotated[str, Match(r"0?[0-7]{3}", "three octal digits such as '027'")] = doc(
        "file creation mask of `run`, `demo` and `ivr try --data`: recordings, voicemail, faxes and the database "
        "hold personal data, so by default files are 0640 and folders 0750 (group may read, others nothing)", "027")

    def check(self):
        if self.overload_guard and self.overload_release > self.overload_guard:
            raise ValueError(f"overload_release: must be at most overload_guard ({self.overload_guard:g}), "
                             f"got {self.overload_release:g}")
        if self.start is not None:
            try:
                _dt.datetime.fromisoformat(self.start)
            except ValueError:
                raise ValueError(f"start: must be an ISO time such as '2026-01-05T09:00', got {self.start!r}")


@dataclass
class HoursSection:
    """[hours]: when the centre is open (scripts read it; routes may name hours of their own)."""

    days: list[Day] = doc("open days", factory=lambda: ["mon", "tue", "wed", "thu", "fri"])
    open: Hours = doc("opening hours", "08:00-18:00")
    holidays: list[Date] = doc("closed dates", factory=list)
    closed_script: Optional[ScriptName] = doc("script for calls while closed (default: the route's own)", None)


@dataclass
class LanguageSection:
    """[language]: the languages callers may choose at the start of a call."""

    default: Language = doc("language of every prompt unless the caller chooses another", "en")
    choices: list[Language] = doc("offered at the start of a call, key 1 for the first, 2 for the second ...; "
                                  "fewer than two: no choice offered", factory=list)
    prompt: str = doc("prompt played before the choice (one per language: DIR/LANG/NAME)", "choose_language")


@dataclass
class ServiceLevelSection:
    """[service_level]: the one definition of service level used by every screen and report."""

    seconds: Seconds = doc("answered within this many seconds counts as in service level", 20.0)
    mode: Annotated[str, OneOf(("offered", "exclude_short", "answered"))] = doc(
        "what the answered-in-time calls are divided by: offered (abandons count against), exclude_short "
        "(offered less abandons under short_abandon) or answered (abandons ignored)", "offered")
    short_abandon: Seconds = doc("an abandon under this many seconds is a short abandon", 5.0)


@dataclass
class RouteSection:
    """[[route]]: the first route whose conditions all hold takes the call."""

    script: Optional[ScriptName] = doc("script to run", None)
    queue: Optional[str] = doc("queue to join directly (after the recording notice, if any)", None)
    called: Optional[NumberPattern] = doc("called number or pattern (_ prefix: X any digit, N 2-9, Z 1-9, "
                                          ". anything more)", None)
    caller: Optional[NumberPattern] = doc("caller number or pattern", None)
    trunk: Optional[str] = doc("trunk group: a span name or number ('1', 'pri1'), 'fxo' or 'fxs'", None)
    hours: Optional[Hours] = doc("only between these times", None)
    days: list[Day] = doc("only on these days (default: every day)", factory=list)
    language: Optional[Language] = doc("language for calls on this route (no choice offered)", None)
    args: list[str] = doc("arguments passed to the script's main(call, *args)", factory=list)
    to: Optional[Annotated[str, Match(r"sip:[A-Za-z0-9_\-]+|[A-Za-z0-9_\-]+",
                                      "'sip:TRUNK' (a [[sip.trunk]]) or a trunk such as 'pri1'")]] = doc(
        "gateway: dial the (rewritten) called number on this trunk and connect the caller when it answers; "
        "'sip:TRUNK' is a [[sip.trunk]], otherwise a board trunk ('pri1', 'pstn6')", None)
    strip: Annotated[int, Range(0, 20)] = doc("with to: digits taken off the front of the called number", 0)
    prepend: Digits = doc("with to: digits put before the called number (after strip)", "")
    ring_timeout: Annotated[float, Range(1, 600)] = doc("with to: seconds the far end may ring", 60.0)

    def check(self):
        if sum(x is not None for x in (self.script, self.queue, self.to)) != 1:
            raise ValueError("a route needs exactly one of script, queue or to")


@dataclass
class QueueSection:
    """[[queue]]: an ACD queue."""

    name: Annotated[str, Match(r"[A-Za-z0-9_\-]+", "a name of letters, digits, _ and -")] = doc("queue name")
    strategy: Annotated[str, OneOf(STRATEGIES)] = doc("agent selection", "longest_idle")
    wrapup: Optional[Seconds | Annotated[str, OneOf(("manual",))]] = doc(
        "after-call work seconds, or 'manual' (until the agent ends it)", 0.0)
    ring_timeout: Annotated[float, Range(1, 600)] = doc("seconds an agent's phone rings before the next", 15.0)
    max_wait: Optional[Seconds] = doc("seconds a caller waits before overflow", None)
    overflow: Optional[Annotated[str, Match(r"queue:[A-Za-z0-9_\-]+|voicemail|callback",
                                            "'queue:NAME', 'voicemail' or 'callback'")]] = doc(
        "where callers go after max_wait", None)
    announce_every: Optional[Annotated[float, Range(5, 3600)]] = doc(
        "seconds between position / expected wait announcements (default: [announce] every)", None)
    join_empty: Annotated[str, OneOf(("always", "loggedin", "ready"))] = doc(
        "callers may join when: always, some member logged in, some member ready", "loggedin")
    leave_empty: bool = doc("waiting callers leave when the join rule stops holding", False)
    auto_pause_after: Count = doc("pause an agent after this many unanswered offers in a row (0 never)", 0)
    sticky_window: Seconds = doc("seconds a caller's last agent is preferred (strategy sticky)", 0.0)
    progressive_step: Seconds = doc("seconds between extra agents (strategy ring_progressively)", 5.0)
    honour_priority: Optional[bool] = doc("higher priority callers first (default: true when [callers] lists "
                                          "VIPs)", None)
    hours: Optional[Hours] = doc("joins refused outside these times", None)
    closed_target: Optional[str] = doc("where callers go outside hours", None)
    retry: Seconds = doc("seconds an agent rests after an unanswered offer", 2.0)
    aht_guess: Annotated[float, Range(1, None)] = doc("handle time for expected wait before calls complete", 180.0)
    record: Optional[bool] = doc("record this queue's calls (default: [recording])", None)
    whisper: Optional[str] = doc("prompt the agent hears before the caller is connected (default: the queue "
                                 "name when [announce] whisper is on)", None)

    def acd_options(self):
        """Return the keyword options of Acd.add_queue."""
        out = {k: getattr(self, k) for k in (
            "strategy", "ring_timeout", "max_wait", "overflow", "announce_every", "join_empty", "leave_empty",
            "auto_pause_after", "sticky_window", "progressive_step", "honour_priority", "closed_target", "retry",
            "aht_guess")}
        out["wrapup"] = None if self.wrapup == "manual" else self.wrapup
        out["hours"] = clock_range(self.hours) if self.hours else None
        return out


@dataclass
class AgentSection:
    """[[agent]]: an agent, the phone bound to them and their queues."""

    name: Annotated[str, Match(r"[A-Za-z0-9_.\-]+", "a name of letters, digits, ., _ and -")] = doc("agent name")
    contact: Optional[Annotated[str, Match(r"channel/\d+|[A-Za-z0-9_\-]+/[0-9*#+]+",
                                           "'channel/32' or 'pri1/2001'")]] = doc(
        "the agent's phone: an FXS port 'channel/N' or a number on a trunk 'TRUNK/NUMBER' (or set phone)", None)
    phone: Optional[Annotated[str, Match(r"sip:[A-Za-z0-9_.!~*'()&=+$,;?/\-]+|webrtc:[A-Za-z0-9_.\-]+",
                                         "'sip:agent1' or 'webrtc:agent1'")]] = doc(
        "the agent's SIP phone: 'sip:USER', a [[sip.account]] that registers to the centre, or browser phone "
        "'webrtc:NAME', the phone page of CTI user NAME ([webrtc]) (instead of contact)", None)
    queues: dict[str, Annotated[int, Range(0, 99)]] = doc("queue -> penalty (tier, 0 first)", factory=dict)
    skills: dict[str, Annotated[int, Range(1, 10)]] = doc("skill -> level (1..10)", factory=dict)
    login: bool = doc("logged in at start", True)
    ready: bool = doc("ready (not paused) at start", True)
    record: Optional[bool] = doc("record this agent's calls (default: [recording])", None)
    agent_id: Optional[str] = doc("what the caller hears as the agent's ID (default: digits of the name)", None)
    dial: Optional[list[NumberPattern]] = doc("outside numbers this agent may dial from the CTI (default: "
                                              "[dial] allow)", None)

    def check(self):
        if (self.contact is None) == (self.phone is None):
            raise ValueError("an agent needs exactly one of contact or phone")
        if self.phone is not None:  # the ACD rings every phone through engine.originate: the SIP trunk's target
            self.contact = sip_target(self.phone)


@dataclass
class AreaRoute:
    """[[callers.area]]: callers whose number starts with prefix go to a queue or script."""

    prefix: Digits = doc("caller number prefix")
    queue: Optional[str] = doc("queue", None)
    script: Optional[ScriptName] = doc("script", None)

    def check(self):
        if (self.script is None) == (self.queue is None):
            raise ValueError("an area route needs exactly one of script or queue")


@dataclass
class CallersSection:
    """[callers]: caller lists."""

    vip: list[Digits] = doc("VIP caller numbers", factory=list)
    vip_file: Optional[str] = doc("file of VIP numbers, one per line", None)
    vip_priority: Annotated[int, Range(0, 100)] = doc("queue priority of VIP callers", 10)
    vip_queue: Optional[str] = doc("VIP callers go to this queue (a dedicated agent group) instead", None)
    blocked: list[Digits] = doc("blocked caller numbers: refused with cause 21", factory=list)
    blocked_file: Optional[str] = doc("file of blocked numbers, one per line", None)
    block_anonymous: bool = doc("refuse callers that withhold their number", False)
    area: list[AreaRoute] = doc("routing by the caller's area code", factory=list)


@dataclass
class AnnounceSection:
    """[announce]: what callers and agents hear around the queue."""

    every: Optional[Annotated[float, Range(5, 3600)]] = doc(
        "seconds between announcements while waiting (queues without announce_every); off if unset", None)
    position: bool = doc("announce the caller's position", True)
    expected_wait: bool = doc("announce the expected wait (rounded up to minutes)", True)
    agent_id: bool = doc("tell the caller the agent's ID when connected", False)
    whisper: bool = doc("tell the agent the queue name (or the queue's whisper prompt) before connecting", False)


@dataclass
class RecordingSection:
    """[recording]: which calls are recorded, the notice, and how long recordings are kept."""

    calls: Annotated[str, OneOf(("all", "queued", "none"))] = doc(
        "record all answered inbound calls, only calls that reach a queue, or none (queues and agents may "
        "say otherwise)", "none")
    notice: Optional[str] = doc("prompt played before recording starts ('this call may be recorded')", None)
    retention_days: Optional[Annotated[int, Range(1, 36500)]] = doc("delete recordings older than this", None)
    format: Annotated[str, OneOf(("wav", "flac"))] = doc("file format", "wav")
    encoding: Annotated[str, OneOf(("ULAW", "ALAW", "PCM_16"))] = doc("WAV sample encoding", "ULAW")


@dataclass
class CallbacksSection:
    """[callbacks]: callers who leave a number (or keep their place) are called back by the dialler."""

    enabled: bool = doc("dial saved callback requests", False)
    trunk: Optional[str] = doc("trunk to dial out on ('pri1', 'fxo'; default: the first trunk)", None)
    queue: Optional[str] = doc("queue whose agents take callbacks (default: the queue the caller left)", None)
    hours: Hours = doc("calling hours", "09:00-20:00")
    days: list[Day] = doc("calling days", factory=lambda: ["mon", "tue", "wed", "thu", "fri", "sat"])
    max_attempts: Annotated[int, Range(1, 20)] = doc("attempts before giving up", 3)
    retry_after: list[Seconds] = doc("seconds before each retry", factory=lambda: [300.0, 900.0])
    keep_place: bool = doc("a caller who asks for a callback keeps their place in the queue", True)
    key: Optional[Annotated[str, Match(r"[0-9*#]", "one key")]] = doc(
        "key a waiting caller presses to ask for a callback (default off)", None)
    caller_id: Optional[Digits] = doc("number presented to the called party", None)
    ring_timeout: Annotated[float, Range(5, 120)] = doc("seconds to let the customer's phone ring", 30.0)


@dataclass
class CampaignSection:
    """[[campaign]]: an outbound campaign."""

    name: Annotated[str, Match(r"[A-Za-z0-9_\-]+", "a name of letters, digits, _ and -")] = doc("campaign name")
    numbers: str = doc("CSV file of numbers to call (first column the number, a header row allowed)")
    queue: str = doc("queue whose agents take answered calls")
    trunk: Optional[str] = doc("trunk to dial out on (default: the first trunk)", None)
    mode: Annotated[str, OneOf(("progressive", "predictive"))] = doc("pacing", "progressive")
    abandon_cap: Annotated[float, Range(0, 0.5)] = doc("predictive: keep abandoned answered calls under this share",
                                                       0.03)
    max_ratio: Annotated[float, Range(1, 5)] = doc("predictive: at most this many lines per agent (free, or about "
                                                   "to be)", 2.5)
    dnc: Optional[str] = doc("do-not-call list file (one number per line)", None)
    amd: bool = doc("answering machine detection: machines are not passed to agents", True)
    hours: Hours = doc("calling hours", "09:00-20:00")
    days: list[Day] = doc("calling days", factory=lambda: ["mon", "tue", "wed", "thu", "fri"])
    max_attempts: Annotated[int, Range(1, 20)] = doc("attempts per number", 3)
    retry_after: list[Seconds] = doc("seconds before each retry", factory=lambda: [600.0, 3600.0])
    caller_id: Optional[Digits] = doc("number presented to the called party", None)
    ring_timeout: Annotated[float, Range(5, 120)] = doc("seconds to let a number ring", 25.0)


@dataclass
class FaxSection:
    """[fax]: fax-on-demand library and the fax inbox."""

    library: Optional[str] = doc("folder of documents callers may request by number (fax-on-demand)", None)
    inbox: Optional[str] = doc("folder where received faxes are kept (default DATA/fax-inbox)", None)
    detect: bool = doc("answer fax machines calling any route (CNG detection)", True)


@dataclass
class MailboxSection:
    """[[voicemail.box]]: a voicemail box."""

    number: Digits = doc("mailbox number")
    pin: Digits = doc("PIN ('' = nobody can log in)", "")
    owner: str = doc("owner's name", "")
    extension: Optional[Annotated[str, Match(r"channel/\d+", "'channel/N'")]] = doc(
        "FXS port whose lamp shows waiting messages", None)


@dataclass
class VoicemailSection:
    """[voicemail]: voicemail boxes."""

    folder: Optional[str] = doc("voicemail folder (default DATA/voicemail)", None)
    general: Digits = doc("general mailbox (after hours, no agent)", "100")
    general_pin: Digits = doc("its PIN", "")
    box: list[MailboxSection] = doc("mailboxes", factory=list)


@dataclass
class DialSection:
    """[dial]: which outside numbers agents may reach from the CTI (click-to-dial, consult, conference)."""

    allow: list[NumberPattern] = doc("number patterns every agent may dial (default: any not blocked)",
                                     factory=list)
    international: bool = doc("agents may dial international numbers (international_prefix or +)", False)
    international_prefix: Digits = doc("the international access prefix", "00")
    premium: list[Digits] = doc("premium-rate prefixes nobody may dial", factory=lambda: ["0900", "1900"])


@dataclass
class WallboardSection:
    """[wallboard]: when the wallboard's tiles turn red."""

    service_level: Fraction = doc("alert when a queue's service level falls below", 0.8)
    abandon: Fraction = doc("alert when a queue's abandoned share today rises above", 0.05)
    waiting: Count = doc("alert when more calls than this wait in a queue", 5)
    longest_wait: Seconds = doc("alert when a call has waited longer than this (seconds)", 120.0)


Code = Annotated[str, Match(r"[A-Za-z0-9_.\-]+", "a code of letters, digits, ., _ and -")]


@dataclass
class DesktopSection:
    """[desktop]: the codes the agent desktop offers (docs/cti.md)."""

    reasons: list[Code] = doc("not-ready reason codes", factory=lambda: ["break", "lunch", "meeting", "training"])
    dispositions: list[Code] = doc("wrap-up disposition codes, saved with the call's CDR",
                                   factory=lambda: ["sale", "no_sale", "information", "complaint", "callback"])


@dataclass
class QualityCriterion:
    """[[quality.criterion]]: one line of the supervisor's quality-check form, scored 0..5."""

    name: Code = doc("criterion name, as the form shows it")
    weight: Annotated[float, Range(0.1, 100)] = doc("its weight in the check's total", 1.0)
    fatal: bool = doc("a score of 0 here makes the whole check 0 (a fatal error)", False)


def _default_criteria():
    return [QualityCriterion("greeting", 1.0), QualityCriterion("identification", 2.0, True),
            QualityCriterion("solution", 3.0), QualityCriterion("courtesy", 1.0)]


@dataclass
class QualitySection:
    """[quality]: the quality-check form of the supervisor console."""

    criterion: list[QualityCriterion] = doc("the form's criteria", factory=_default_criteria)

    def check(self):
        names = [c.name for c in self.criterion]
        if len(set(names)) != len(names):
            raise ValueError("criterion names must differ")
        if not names:
            raise ValueError("needs at least one criterion")


@dataclass
class SurveySection:
    """[survey]: the post-call satisfaction survey callers hear when the agent hangs up."""

    queues: list[Code] = doc("queues whose callers are offered the survey (empty: off)", factory=list)
    prompt: Code = doc("prompt asking for a rating from 1 to 5 (a name from the prompt folder)", "survey_rate")
    timeout: Annotated[float, Range(2, 60)] = doc("seconds to wait for the caller's key", 8.0)


@dataclass
class SimulateSection:
    """[simulate]: simulated callers and agents on the emulator's far ends (run --simulate)."""

    calls_per_hour: Annotated[float, Range(0, 100000)] = doc("Poisson arrival rate of callers", 300.0)
    called: Digits = doc("number the callers dial", "5000")
    far_end: str = doc("the emulator's network cable name the callers come from", "pstn")
    overlap: bool = doc("callers on a PRI dial digit by digit (overlap sending: SETUP with the first digit, the "
                        "rest in INFORMATION 0.3 s apart once the centre asks for more); default: en bloc", False)
    digits: dict[str, Annotated[float, Range(0, None)]] = doc(
        "menu keys callers press -> weight", factory=lambda: {"1": 50.0, "2": 35.0, "9": 5.0, "0": 7.0, "3": 3.0})
    talk_mean: Annotated[float, Range(1, None)] = doc("mean seconds an agent talks with a caller", 150.0)
    patience_mean: Annotated[float, Range(1, None)] = doc("mean seconds a caller waits in queue", 120.0)
    fax_share: Fraction = doc("share of callers that are fax machines", 0.0)
    wrong_input_share: Fraction = doc("share of callers that press a wrong key first", 0.08)
    seed: int = doc("random seed", 1)
    agents: Optional[list[str]] = doc("agents simulated at their phones (default: every agent on an emulated "
                                      "phone)", None)
    people: list[str] = doc("agents left to people at the agent desktop (/agent): not simulated, logged in "
                            "not ready at start; the desktop's Answer lifts their emulated phone", factory=list)


SipName = Annotated[str, Match(r"[A-Za-z0-9_\-]+", "a name of letters, digits, _ and -")]
SipUser = Annotated[str, Match(r"[A-Za-z0-9_.!~*'()&=+$,;?/\-]+", "a SIP user name such as 'agent1'")]
Host = Annotated[str, Match(r"[A-Za-z0-9.\-:\[\]]+", "a host name or address such as '127.0.0.1'")]


def _sip_codecs(value):
    if not value or len(set(value)) != len(value):
        raise ValueError("must name each of PCMU, PCMA, G722 at most once, and at least one")
    if "G722" in value and not g722.AVAILABLE:
        raise ValueError(g722.MISSING)
    return value


def _port_range(value):
    if len(value) != 2 or value[0] > value[1] or value[0] < 1024:
        raise ValueError("must be [first, last] with 1024 <= first <= last")
    if value[1] - value[0] < 1:
        raise ValueError("needs at least two ports (RTP on an even port, RTCP on the next)")
    return value


@dataclass
class SipTrunkSection:
    """[[sip.trunk]]: a SIP trunk (a carrier or a PBX) the centre calls out through and takes calls from."""

    name: SipName = doc("trunk name: routes dial it as to = \"sip:NAME\"")
    host: Host = doc("the trunk's address (a literal address: no DNS)")
    port: Port = doc("the trunk's SIP port", 5060)
    username: Optional[str] = doc("user name we authenticate (and register) with", None)
    password: Optional[str] = doc("password for the trunk's digest challenges", None)
    register: bool = doc("register to the trunk as username (needs username and password)", False)
    register_expires: Annotated[int, Range(60, 86400)] = doc("seconds a registration asks for", 3600)
    accept: bool = doc("accept calls whose INVITE comes from the trunk's address, without a challenge", True)
    channels: Count = doc("at most this many calls at once on the trunk (0: only [sip] channels limits)", 0)
    prefix: Digits = doc("digits put before every number dialled on the trunk", "")
    strip: Annotated[int, Range(0, 20)] = doc("digits taken off the front of every number dialled on the trunk", 0)
    domain: Optional[str] = doc("host part of the request URI and To (default: host)", None)
    transport: Annotated[str, OneOf(("udp", "tcp", "tls"))] = doc(
        "transport of our requests to the trunk (one of [sip] transports; its calls to us may use any)", "udp")
    keepalive: Annotated[float, Range(0, 3600)] = doc(
        "seconds between OPTIONS pings to the trunk (0: none); unanswered, the trunk is down (logged, in the "
        "status file) and calls to it fail at once with cause 38 until it answers again", 0)

    def check(self):
        if self.register and not (self.username and self.password):
            raise ValueError("register = true needs username and password")


@dataclass
class SipAccountSection:
    """[[sip.account]]: a phone that registers to the centre (an agent's or an extension's)."""

    user: SipUser = doc("user name: the phone registers as sip:USER@domain; agents name it as phone = \"sip:USER\"")
    password: str = doc("digest password the phone answers challenges with")


@dataclass
class SipSection:
    """[sip]: SIP trunks and phones as legs of the engine (docs/sip.md); off unless channels > 0."""

    listen: Host = doc("address the SIP sockets bind", "127.0.0.1")
    port: Port = doc("SIP port for UDP and TCP (0 = any free port)", 5060)
    transports: list[Annotated[str, OneOf(("udp", "tcp", "tls"))]] = doc(
        "transports the centre listens on; a phone's calls go over the transport it registered on",
        factory=lambda: ["udp"])
    tls_port: Port = doc("SIP over TLS port (with \"tls\" in transports)", 5061)
    tls_cert: Optional[str] = doc("PEM certificate (chain) for SIP over TLS; needs tls_key (default: a "
                                  "self-signed certificate made in the data folder)", None)
    tls_key: Optional[str] = doc("PEM private key of tls_cert", None)
    tls_ca: Optional[str] = doc("PEM CA certificates that TLS trunks' certificates are checked against "
                                "(default: the system's)", None)
    domain: Optional[str] = doc("the centre's SIP domain and digest realm (default: public_host)", None)
    public_host: Optional[Host] = doc("address put in Via, Contact and SDP (default: listen)", None)
    channels: Annotated[int, Range(0, 4096)] = doc("packet media rows: SIP calls up at once (0 = SIP off)", 0)
    rtp_ports: Annotated[list[Port], _port_range] = doc("first and last UDP port for RTP", factory=lambda: [20000, 20999])
    guests: bool = doc("take calls from callers that are neither a trunk nor a registered account (a public "
                       "SIP address for the IVR); false challenges them", False)
    ring_seconds: Annotated[float, Range(1, 600)] = doc("seconds a SIP phone or trunk call may ring unanswered "
                                                         "before it is cancelled", 60.0)
    session_expires: Optional[Annotated[int, Range(90, 86400)]] = doc(
        "session timer (RFC 4028) seconds asked for on every SIP call; a call nobody refreshes in time is "
        "cleared with cause 102 (default: a timer only when the far end asks)", None)
    srtp: Annotated[str, OneOf(("off", "offer", "require"))] = doc(
        "SRTP with SDES keys (RFC 4568) on SIP calls: off (plain RTP only), offer (our offers carry a key, "
        "keyed offers get SRTP, plain ones plain RTP), require (RTP/SAVP only; plain offers get 488)", "off")
    digest: list[Annotated[str, OneOf(("SHA-256", "MD5"))]] = doc(
        "digest algorithms our challenges offer, most preferred first (RFC 8760); phones that know only MD5 "
        "and give up on a SHA-256 challenge (baresip 1.0, SIPp 3.6) need [\"MD5\"]",
        factory=lambda: ["SHA-256", "MD5"])
    codecs: Annotated[list[Annotated[str, OneOf(("PCMU", "PCMA", "G722"))]], _sip_codecs] = doc(
        "voice codecs offered on SIP calls, preferred first, and the ones taken from offers (answers keep the "
        "offerer's order, RFC 3264 6.1); G722 needs the g722 extra and is decoded to 8 kHz (docs/sip.md)",
        factory=lambda: ["PCMU", "PCMA"])
    trunk: list[SipTrunkSection] = doc("SIP trunks", factory=list)
    account: list[SipAccountSection] = doc("phones that register to the centre", factory=list)

    def check(self):
        if bool(self.tls_cert) != bool(self.tls_key):
            raise ValueError("tls_cert and tls_key go together")
        if not self.transports or len(set(self.transports)) != len(self.transports):
            raise ValueError("transports must name each of udp, tcp, tls at most once, and at least one")
        if not self.digest or len(set(self.digest)) != len(self.digest):
            raise ValueError("digest must name each of SHA-256, MD5 at most once, and at least one")


def _point_code(value):
    if not 0 <= value <= 0xFFFFFF:
        raise ValueError("must be from 0 to 16777215 (24 bits; ITU point codes 0..16383)")
    return value


PointCode = Annotated[int, _point_code]


@dataclass
class Ss7LinkSection:
    """One signalling link of a [[ss7.linkset]] (an entry of its links list)."""

    span: Annotated[int, Range(1, 4096)] = doc(
        "digital span carrying the link on its one dchan/hardhdlc timeslot; its bchan timeslots are circuits")
    slc: Annotated[int, Range(0, 15)] = doc("signalling link code (the same at both ends)", 0)
    first_cic: Annotated[int, Range(0, 16383)] = doc("CIC of timeslot 0: timeslot N carries CIC first_cic + N", 0)


@dataclass
class Ss7LinksetSection:
    """[[ss7.linkset]]: an SS7 link set to one adjacent exchange: a trunk of ISUP circuits (docs/ss7.md)."""

    name: Annotated[str, Match(r"[A-Za-z][A-Za-z0-9_\-]*", "a name of letters, digits, _ and -")] = doc(
        "trunk name: dial targets ('ss7/2000'), [[route]] trunk and to use it")
    opc: PointCode = doc("our point code (ITU: 0..16383, ANSI: 0..16777215)")
    dpc: PointCode = doc("the adjacent exchange's point code")
    variant: Annotated[str, OneOf(("itu", "ansi"))] = doc("MTP3/ISUP variant", "itu")
    ni: Annotated[int, Range(0, 3)] = doc("network indicator (0 international, 2 national)", 2)
    links: list[Ss7LinkSection] = doc(
        "the signalling links, one per span (two or more: when one fails MTP3 changes over to the others "
        "and calls go on), e.g. [{ span = 1, slc = 0 }, { span = 3, slc = 1, first_cic = 32 }]", factory=list)

    def check(self):
        if not 1 <= len(self.links) <= 16:
            raise ValueError("links: a link set has 1 to 16 links")
        for what, values in (("slc", [l.slc for l in self.links]), ("span", [l.span for l in self.links])):
            if len(set(values)) != len(values):
                raise ValueError(f"links: each link needs its own {what}")
        if self.variant == "itu":
            for key in ("opc", "dpc"):
                if getattr(self, key) > 16383:
                    raise ValueError(f"{key}: an ITU point code is 14 bits (0..16383), got {getattr(self, key)}")
            if any(l.first_cic + 31 > 4095 for l in self.links):
                raise ValueError("links: an ITU CIC is 12 bits: first_cic + 31 must stay within 4095")
        if self.opc == self.dpc:
            raise ValueError("opc and dpc must differ")

    def trunk_options(self):
        """Return the keyword options of Ss7Trunk (engine.auto_trunks' ss7 entries)."""
        return {"name": self.name, "opc": self.opc, "dpc": self.dpc, "variant": self.variant, "ni": self.ni,
                "links": [(l.span, l.slc, l.first_cic) for l in self.links]}


@dataclass
class Ss7Section:
    """[ss7]: SS7 link sets (ISUP trunks); their spans carry no PRI."""

    linkset: list[Ss7LinksetSection] = doc("SS7 link sets", factory=list)


@dataclass
class WebrtcSection:
    """[webrtc]: browser phones (WebRTC through aiortc, the webrtc extra) for CTI users (docs/cti.md)."""

    enabled: bool = doc("serve the browser phone (/phone, /phone.js, /phone/offer) on the CTI server", False)
    channels: Annotated[int, Range(1, 4096)] = doc("packet media rows for browser phone calls up at once", 16)
    ice_servers: list[Annotated[str, Match(r"(stun|turn|turns):[^\s]+", "'stun:stun.example.net:3478'")]] = doc(
        "STUN/TURN servers for ICE (none: host candidates only, nothing leaves the network)", factory=list)
    codecs: list[Annotated[str, OneOf(("pcmu", "pcma", "opus"))]] = doc(
        "codecs offered to the browser, preferred first (G.711 costs no resampling: the engine runs at 8 kHz)",
        factory=lambda: ["pcmu", "pcma", "opus"])
    ring_seconds: Annotated[float, Range(1, 600)] = doc("seconds a browser phone rings before the call gives up",
                                                         60.0)
    dial_trunk: Optional[Annotated[str, Match(r"[A-Za-z0-9_\-]+", "'pri1'")]] = doc(
        "trunk a number dialled from a browser phone goes out on when it names none ('TRUNK/NUMBER')", None)


@dataclass
class Settings:
    """The whole centre's configuration (every table but the board's)."""

    centre: CentreSection = field(default_factory=CentreSection)
    hours: HoursSection = field(default_factory=HoursSection)
    language: LanguageSection = field(default_factory=LanguageSection)
    service_level: ServiceLevelSection = field(default_factory=ServiceLevelSection)
    route: list[RouteSection] = field(default_factory=list)
    queue: list[QueueSection] = field(default_factory=list)
    agent: list[AgentSection] = field(default_factory=list)
    callers: CallersSection = field(default_factory=CallersSection)
    announce: AnnounceSection = field(default_factory=AnnounceSection)
    recording: RecordingSection = field(default_factory=RecordingSection)
    callbacks: CallbacksSection = field(default_factory=CallbacksSection)
    campaign: list[CampaignSection] = field(default_factory=list)
    fax: FaxSection = field(default_factory=FaxSection)
    voicemail: VoicemailSection = field(default_factory=VoicemailSection)
    dial: DialSection = field(default_factory=DialSection)
    wallboard: WallboardSection = field(default_factory=WallboardSection)
    desktop: DesktopSection = field(default_factory=DesktopSection)
    quality: QualitySection = field(default_factory=QualitySection)
    survey: SurveySection = field(default_factory=SurveySection)
    simulate: SimulateSection = field(default_factory=SimulateSection)
    sip: SipSection = field(default_factory=SipSection)
    ss7: Ss7Section = field(default_factory=Ss7Section)
    webrtc: WebrtcSection = field(default_factory=WebrtcSection)
    file: Optional[str] = field(default=None, repr=False)  # the config file (paths are relative to it)
    locator: Optional[Locator] = field(default=None, repr=False)

    def script_references(self):
        """Return (key, script name) of every script the configuration names."""
        refs = [("centre.default_script", self.centre.default_script)]
        refs += [(f"route[{i + 1}].script", r.script) for i, r in enumerate(self.route) if r.script]
        refs += [(f"callers.area[{i + 1}].script", a.script) for i, a in enumerate(self.callers.area) if a.script]
        if self.hours.closed_script:
            refs.append(("hours.closed_script", self.hours.closed_script))
        return refs

    def line_of(self, key):
        """Return the config file's line of a dotted key such as 'route[2].script' (None if not there)."""
        if self.locator is None:
            return None
        path = ()
        for part in key.split("."):
            name, _, index = part.partition("[")
            path += (name,) + ((int(index.rstrip("]")) - 1,) if index else ())
        return self.locator.lines.get(path)

    def place(self, path):
        """Return path made absolute relative to the config file's folder (None stays None)."""
        if path is None or os.path.isabs(path) or self.file is None:
            return path
        return os.path.join(os.path.dirname(os.path.abspath(self.file)), path)


SECTIONS = {f.name for f in dataclasses.fields(Settings) if f.name not in ("file", "locator")}
_TABLE = re.compile(r"^\s*\[\[?\s*([A-Za-z0-9_\-\"']+)")


def split(text):
    """Return (board text, centre text): the centre's tables are cut out of the board's and blanked in it,
    so each parser's line numbers stay those of the file."""
    board, centre, inside = [], [], False
    for line in text.splitlines():
        m = _TABLE.match(line)
        if m and "=" not in line.split("]", 1)[0]:
            inside = m.group(1).strip("\"'") in SECTIONS
        board.append("" if inside else line)
        centre.append(line if inside else "")
    return "\n".join(board) + "\n", "\n".join(centre) + "\n"


def load_text(text, file=None):
    """Return (board TOML text, Settings) of a centre configuration text."""
    board_text, centre_text = split(text)
    table, locator = parse(centre_text, file)
    settings = load(Settings, table, Where(file, (), locator))
    settings.file = file
    settings.locator = locator
    if settings.centre.acd:
        _merge_acd(settings)
    _cross_check(settings, Where(file, (), locator))
    return board_text, settings


def load_settings(path):
    """Return (board TOML text, Settings) read from a centre configuration file."""
    try:
        text = read_config_text(path)
    except OSError as exc:
        raise ConfigError(exc.strerror or str(exc), path=path) from None
    return load_text(text, file=path)


def _merge_acd(settings):
    """Add the [[queue]] and [[agent]] tables of the [centre] acd file."""
    path = settings.place(settings.centre.acd)
    try:
        text = read_config_text(path)
    except OSError as exc:
        raise ConfigError(f"[centre] acd: {exc.strerror or exc}", path=settings.file) from None
    table, locator = parse(text, path)
    where = Where(path, (), locator)
    allowed = {"queue", "agent", "queues", "agents"}
    for key in table:
        if key not in allowed:
            raise where.child(key).error("unknown table in an ACD file; allowed: queue, agent")
    for key, cls, out in (("queue", QueueSection, settings.queue), ("agent", AgentSection, settings.agent)):
        items = table.get(key, table.get(key + "s", []))
        if not isinstance(items, list):
            raise where.child(key).error(f"expected [[{key}]] tables")
        for i, item in enumerate(items):
            if not isinstance(item, dict):
                raise where.child(key, i).error("expected a table")
            out.append(load(cls, item, where.child(key, i)))


def _cross_check(settings, where):
    """Names that refer to other tables must exist."""
    queues = {}
    for i, q in enumerate(settings.queue):
        if q.name in queues:
            raise where.child("queue", i, "name").error(f"queue {q.name!r} is defined twice")
        queues[q.name] = q
    agents = set()
    for i, a in enumerate(settings.agent):
        if a.name in agents:
            raise where.child("agent", i, "name").error(f"agent {a.name!r} is defined twice")
        agents.add(a.name)
        for q in a.queues:
            if q not in queues:
                raise where.child("agent", i, "queues").error(f"no queue named {q!r}")
    for i, q in enumerate(settings.queue):
        if q.overflow and q.overflow.startswith("queue:") and q.overflow[6:] not in queues:
            raise where.child("queue", i, "overflow").error(f"no queue named {q.overflow[6:]!r}")
    refs = [(("route", i, "queue"), r.queue) for i, r in enumerate(settings.route)]
    refs += [(("callers", "area", i, "queue"), a.queue) for i, a in enumerate(settings.callers.area)]
    refs += [(("callers", "vip_queue"), settings.callers.vip_queue), (("callbacks", "queue"), settings.callbacks.queue)]
    refs += [(("campaign", i, "queue"), c.queue) for i, c in enumerate(settings.campaign)]
    refs += [(("survey", "queues"), name) for name in settings.survey.queues]
    for path, name in refs:
        if name is not None and name not in queues:
            raise where.child(*path).error(f"no queue named {name!r}")
    names = [c.name for c in settings.campaign]
    for i, n in enumerate(names):
        if names.index(n) != i:
            raise where.child("campaign", i, "name").error(f"campaign {n!r} is defined twice")
    if settings.centre.cti_port is not None and not settings.centre.cti_users:
        raise where.child("centre", "cti_port").error("needs cti_users (the agents' and supervisors' accounts)")
    if (settings.centre.cti_cert is None) != (settings.centre.cti_key is None):
        raise where.child("centre", "cti_cert").error("cti_cert and cti_key go together")
    _check_sip(settings, where)
    _check_ss7(settings, where)
    if settings.simulate.agents:
        for name in settings.simulate.agents:
            if name not in agents:
                raise where.child("simulate", "agents").error(f"no agent named {name!r}")
    for name in settings.simulate.people:
        if name not in agents:
            raise where.child("simulate", "people").error(f"no agent named {name!r}")
        if name in (settings.simulate.agents or ()):
            raise where.child("simulate", "people").error(f"{name!r} is also in simulate.agents (simulated)")


def _check_ss7(settings, where):
    """Link set names are trunk names, each once; a span carries one link."""
    names, spans = set(), {}
    for i, ls in enumerate(settings.ss7.linkset):
        if ls.name in names:
            raise where.child("ss7", "linkset", i, "name").error(f"link set {ls.name!r} is defined twice")
        names.add(ls.name)
        for link in ls.links:
            if link.span in spans:
                raise where.child("ss7", "linkset", i, "links").error(
                    f"span {link.span} already carries a link of link set {spans[link.span]!r}")
            spans[link.span] = ls.name


def ss7_trunks(settings, board):
    """Return the Ss7Trunk options of the [[ss7.linkset]] tables (engine.auto_trunks' ss7 argument), each
    link's span checked against the board's configuration (a drivers BoardConfig): a digital span with
    exactly one dchan/hardhdlc timeslot, CICs no other span of the link set has. ConfigError names the key."""
    out = []
    for i, ls in enumerate(settings.ss7.linkset):
        key, seen = f"ss7.linkset[{i + 1}].links", set()
        for j, link in enumerate(ls.links):
            try:
                span = board.span(link.span)
            except KeyError:
                span = None
            chans = [c for c in board.channels.values() if c.span == link.span]
            hdlc = [c for c in chans if c.signalling.is_hdlc]
            cics = {link.first_cic + c.offset for c in chans if c.signalling.is_audio}
            why = None
            if span is None:
                why = f"no span {link.span} on the board"
            elif not span.kind.digital or len(hdlc) != 1:
                why = (f"span {link.span} is {span.kind.value} with {len(hdlc)} dchan/hardhdlc timeslot(s); an SS7 "
                       f"link needs a digital span with exactly one")
            elif cics & seen:
                why = (f"CIC {min(cics & seen)} of span {link.span} is also on an earlier span of the link set; "
                       f"give each span its own first_cic")
            if why is not None:
                raise ConfigError(f"{key}[{j + 1}].span: {why}", path=settings.file, line=settings.line_of(key))
            seen |= cics
        out.append(ls.trunk_options())
    return out


def _check_sip(settings, where):
    """SIP names that refer to other tables must exist, and SIP needs its packet rows."""
    sip = settings.sip
    trunks, users = set(), set()
    for i, t in enumerate(sip.trunk):
        if t.name in trunks:
            raise where.child("sip", "trunk", i, "name").error(f"SIP trunk {t.name!r} is defined twice")
        trunks.add(t.name)
    for i, t in enumerate(sip.trunk):
        if t.transport not in sip.transports:
            raise where.child("sip", "trunk", i, "transport").error(f"{t.transport} is not in [sip] transports")
    for i, a in enumerate(sip.account):
        if a.user in users:
            raise where.child("sip", "account", i, "user").error(f"SIP account {a.user!r} is defined twice")
        users.add(a.user)
    for i, a in enumerate(settings.agent):
        if a.phone is not None and a.phone.startswith("webrtc:"):
            if not settings.webrtc.enabled or settings.centre.cti_port is None:
                raise where.child("agent", i, "phone").error("a browser phone needs [webrtc] enabled = true "
                                                             "and [centre] cti_port")
        elif a.phone is not None and a.phone[4:] not in users:
            raise where.child("agent", i, "phone").error(f"no [[sip.account]] with user {a.phone[4:]!r}")
    for i, r in enumerate(settings.route):
        if r.to is not None and r.to.startswith("sip:") and r.to[4:] not in trunks:
            raise where.child("route", i, "to").error(f"no [[sip.trunk]] named {r.to[4:]!r}")
    if settings.webrtc.enabled and settings.centre.cti_port is None:
        raise where.child("webrtc", "enabled").error("browser phones register through the CTI server: set "
                                                     "[centre] cti_port")
    uses = trunks or users or any(a.phone and a.phone.startswith("sip:") for a in settings.agent) or any(
        r.to and r.to.startswith("sip:") for r in settings.route)
    if uses and sip.channels == 0:
        raise where.child("sip", "channels").error("SIP trunks, accounts or phones need channels > 0 (packet rows)")
