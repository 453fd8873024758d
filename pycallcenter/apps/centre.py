"""The composition root: one centre built from one configuration, used by `run`, the demo and tests.

``Centre(board_text, settings)`` (or ``Centre.from_file(path)``) opens the board, builds the engine
with its trunks, scripts, prompts and router, the ACD and its binding, station features, storage and
the CDR writer, the scripts' settings (``engine.centre``), and every configured feature (recording
policy, announcements, callbacks, campaigns, fax, voicemail, caller lists). ``tick()`` runs one board
tick of all of it; ``close()`` ends every call and writes what is left.
"""
import contextlib
import dataclasses
import datetime as _dt
import json
import os
import re
import socket
import sys
import time

from pycallcenter import bundled
from pycallcenter.acd.core import Acd
from pycallcenter.acd.engine_binding import AcdBinding
from pycallcenter.acd.stats import ServiceLevel
from pycallcenter.apps import announcements, housekeeping, outbound, recording_policy, routing, survey
from pycallcenter.apps.centre_config import CentreConfig
from pycallcenter.apps.gateway import Gateway
from pycallcenter.apps.realtime import from_settings as realtime_scheduling
from pycallcenter.apps.schema import clock_range
from pycallcenter.apps.settings import DAYS, load_settings, ss7_trunks
from pycallcenter.drivers import open_board, parse_config
from pycallcenter.drivers.emulator.pstn import Phone
from pycallcenter.dsp import SAMPLE_RATE, toneplans
from pycallcenter.engine import admission
from pycallcenter.engine.engine import Engine
from pycallcenter.engine.media import echo_snapshot
from pycallcenter.engine.prompts import PromptLibrary
from pycallcenter.engine.station import StationFeatures
from pycallcenter.errors import ConfigError
from pycallcenter.fax.documents import DocumentLibrary
from pycallcenter.heap import between_ticks, collect_in_slack, freeze_heap
from pycallcenter.ivr import promptset
from pycallcenter.ivr.loader import ScriptSet
from pycallcenter.metrics import TickStats, snapshot
from pycallcenter.storage import is_dsn, open_store
from pycallcenter.storage.adapters import fax_logger, voicemail_indexer
from pycallcenter.storage.cdr import CdrWriter
from pycallcenter.storage.customers import Customers


class Centre:
    """A built centre: board, engine, ACD binding, store and CDR writer, features; see the module doc."""

    def __init__(self, board_text, settings, data=None, db=None, backend="emulator", board_options=None,
                 realtime=False):
        self.settings = s = settings
        self.file = os.path.abspath(s.file) if s.file else None
        c = s.centre
        self.data = os.path.abspath(data) if data else os.path.abspath(s.place(c.data))
        os.makedirs(self.data, exist_ok=True)
        cfg = parse_config(board_text, path=s.file)
        plan = c.tone_plan or cfg.default_tonezone
        if c.tone_plan is not None and plan not in toneplans.PLANS and plan not in toneplans.PLAN_ALIASES:
            raise ConfigError(f"centre.tone_plan: unknown tone plan {plan!r}; known: "
                              f"{', '.join(sorted(toneplans.PLANS))}", path=s.file, line=s.line_of("centre.tone_plan"))
        plan = plan if plan in toneplans.PLANS or plan in toneplans.PLAN_ALIASES else "us"
        options = dict(board_options or {})
        if backend == "emulator" and not realtime:
            options.setdefault("realtime", False)  # the loop paces the emulator itself (see loop())
        self.board = open_board(cfg, backend=backend, **options)
        self.start = (_dt.datetime.fromisoformat(c.start) if c.start else _dt.datetime.now().replace(microsecond=0))
        self.engine = self.store = self.cti = None
        try:
            self._build(s, plan, db)
        except BaseException:
            self._abandon()  # a centre that cannot start must not keep the board, engine or port it took
            raise

    def _abandon(self):
        for part, how in ((self.cti, "stop"), (self.engine, "close"), (getattr(self, "sip", None), "close"),
                          (getattr(self, "webrtc", None), "close"),
                          (self.store, "close")):
            if part is not None:
                try:
                    getattr(part, how)()
                except Exception:  # noqa: BLE001 - already failing; the first error is the one to report
                    pass
        if self.engine is None:
            self.board.close()

    def _build(self, s, plan, db):
        c, board = s.centre, self.board
        rows = s.sip.channels + (s.webrtc.channels if s.webrtc.enabled else 0)  # SIP and browser phones share them
        sip = {"packet_rows": rows, "rtp_ports": tuple(s.sip.rtp_ports)} if rows else {}
        self.engine = eng = Engine(board, tone_plan=plan, keep_log=False, log_file=s.place(c.log_file),
                                   echo_params={"place": c.echo_window == "placed"}, **sip)
        eng.epoch = self.start.timestamp()  # wall clock at board time 0: recordings and CDRs file by it
        eng.recordings_dir = os.path.join(self.data, "recordings")
        eng.auto_trunks(pri_network=c.pri_network, ss7=ss7_trunks(s, self.board.config))
        for trunk in eng.adapters:  # before their D-channels come up (the first ticks)
            if getattr(trunk, "tech", None) == "pri":
                trunk.restart_at_start = c.pri_restart != "off"
        self.sip = self._sip(s) if s.sip.channels else None
        self.webrtc = self._webrtc(s) if s.webrtc.enabled else None
        self.gateway = Gateway(eng) if any(r.to for r in s.route) else None
        self._scripts(s)
        self._prompts(s)
        self.acd = self.binding = None
        if s.queue:
            self._acd(s)
        if c.station_features:
            StationFeatures(eng)
        self._store(s, db)
        self.centre_config = self._centre_config(s)
        self.features = []
        self.router = routing.Router(self)
        eng.router = self.router.route
        self.fax_inbox = None
        self._fax(s)
        recording_policy.attach(self)
        announcements.attach(self)
        outbound.attach(self)
        survey.attach(self)
        housekeeping.attach(self)  # a centre runs for weeks: free C heap pages go back once a minute
        self.cti = None
        if c.cti_port is not None:
            self._cti(s)
        self.tick_seconds = board.blocksize / SAMPLE_RATE

        self.ticks = TickStats(self.tick_seconds)
        eng.admission = admission.from_settings(c, self.tick_seconds)  # overload control of incoming calls
        self._realtime, self._switch = False, None
        self.scheduling, self._adopted = realtime_scheduling(c), -1  # [centre] realtime, cpu, lock_memory (or None)
        self.realtime = False  # ticks paced by the wall clock (loop() without fast): the overload guard's input
        self.status_path = os.path.join(self.data, "status.json")
        self.latest = {}
        self.left_behind = []
        self._ticked = False

    @classmethod
    def from_file(cls, path, **options):
        """Return the Centre of a configuration file."""
        board_text, settings = load_settings(path)
        return cls(board_text, settings, **options)

    # ------------------------------------------------------------------------------------------ parts

    def _sip(self, s):
        """Return the SIP adapter of [sip] (trunks, the centre's phones, guests), added to the engine."""
        from pycallcenter.engine.sip import Peer, SipTrunk, tls_options  # deliberate: only a [sip] centre loads SIP

        x = s.sip
        peers = [Peer(t.name, t.host, t.port, t.username, t.password, t.accept, t.channels, t.prefix, t.strip,
                      t.domain, t.register, t.register_expires, t.transport, t.keepalive) for t in x.trunk]
        try:
            trunk = SipTrunk(self.engine, listen=(x.listen, x.port), public_host=x.public_host, domain=x.domain,
                             peers=peers, accounts={a.user: a.password for a in x.account}, guests=x.guests,
                             ring_seconds=x.ring_seconds, srtp=x.srtp, transports=x.transports,
                             session_expires=x.session_expires, digest=x.digest, codecs=x.codecs,
                             **tls_options(x, s.place, self.data))
        except ConfigError as exc:
            raise ConfigError(str(exc), path=s.file, line=s.line_of("sip.port") or s.line_of("sip")) from None
        return self.engine.add(trunk)

    def _scripts(self, s):
        self.scripts = self.engine.scripts = load_scripts(s)

    def _prompts(self, s):
        if s.centre.prompts:
            folder = s.place(s.centre.prompts)
            if not os.path.isdir(folder):
                raise ConfigError(f"centre.prompts: no folder {folder}", path=s.file)
        else:
            folder = os.path.join(self.data, "prompts")
            promptset.build(folder)
            promptset.build(folder, announcements.generated_prompts(s))
        self.engine.prompts = PromptLibrary([folder], cache_dir=os.path.join(self.data, "prompt-cache"))

    def _acd(self, s):
        now = self.engine.now / SAMPLE_RATE
        sl = s.service_level
        acd = Acd(s.simulate.seed, service_level=ServiceLevel(sl.seconds, sl.mode, sl.short_abandon))
        start = self.start
        acd.day_offset = start.hour * 3600 + start.minute * 60 + start.second + start.microsecond / 1e6
        for q in s.queue:
            options = q.acd_options()
            if options["announce_every"] is None:
                options["announce_every"] = s.announce.every
            if options["honour_priority"] is None:
                options["honour_priority"] = bool(s.callers.vip or s.callers.vip_file)
            acd.add_queue(q.name, **options)
        for a in s.agent:
            acd.add_agent(a.name, a.contact, dict(a.skills) or None, dict(a.queues) or None)
            if a.login:
                acd.login(a.name, now, ready=a.ready)
        self.binding = AcdBinding(self.engine, acd)
        self.acd = acd

    def _store(self, s, db):
        database = s.centre.database
        if database and not is_dsn(database):
            database = s.place(database)
        self.store = open_store(db or database or self.data, appliance=s.centre.appliance or socket.gethostname())
        self.store.checkpoint_in_background()  # an SQLite WAL's checkpoints off the engine thread (its ticks)
        # after the ACD binding: the binding logs a call's queue events before its CDR is written
        self.writer = CdrWriter(self.store, self.engine, acd=self.acd)
        # runs of this appliance that died (kill -9, power loss), closed as the writer started: their calls
        # up are INTERRUPTED CDRs, their agents logged out; this run's ACD starts from the configuration
        self.recovered = self.writer.recovered
        for r in self.recovered:
            self.engine.log("recovered_run", run=r["run"], interrupted_calls=len(r["calls"]), agents=len(r["agents"]))

    def _centre_config(self, s):
        h = s.hours
        opened, closed = clock_range(h.open)
        vm = s.voicemail
        config = CentreConfig(
            data_dir=self.data,
            open_days=tuple(DAYS.index(d) for d in h.days),
            open_time=_dt.time(opened // 3600, opened % 3600 // 60),
            close_time=_dt.time(min(closed // 3600, 23), closed % 3600 // 60 if closed < 86400 else 59),
            holidays=frozenset(_dt.date.fromisoformat(d) for d in h.holidays),
            base_time=self.start,
            voicemail_dir=s.place(vm.folder) if vm.folder else None,
            general_mailbox=vm.general, general_mailbox_pin=vm.general_pin,
            operator=s.centre.operator, operator_timeout=s.centre.operator_timeout,
            lang=s.language.default,
        ).attach(self.engine)
        voicemail = config.voicemail()
        for box in vm.box:
            if voicemail.mailbox(box.number) is None:
                voicemail.add_mailbox(box.number, box.pin, owner=box.owner,
                                      **({"extension": int(box.extension.split("/")[1])} if box.extension else {}))
        voicemail.on_message = voicemail_indexer(self.store)
        return config

    def _webrtc(self, s):
        """Return the browser phones' adapter of [webrtc] (aiortc on its own thread), added to the engine."""
        try:  # deliberate: aiortc is an optional extra
            from pycallcenter.engine.webrtc import WebRtcPhones
            from pycallcenter.webrtc.phones import PhoneServer
        except ImportError as exc:
            raise ConfigError(f"webrtc.enabled: browser phones need the webrtc extra (pip install "
                              f"'pycallcenter[webrtc]'): {exc}", path=s.file, line=s.line_of("webrtc.enabled")) from None
        w = s.webrtc
        server = PhoneServer(ice_servers=w.ice_servers, codecs=w.codecs)
        return self.engine.add(WebRtcPhones(self.engine, server, ring_seconds=w.ring_seconds,
                                            dial_trunk=w.dial_trunk))

    def _cti(self, s):
        if self.binding is None:
            raise ConfigError("centre.cti_port: the CTI server needs queues and agents ([[queue]], [[agent]])",
                              path=s.file)
        # deliberate: the CTI server and its web library load only when the centre serves it
        from pycallcenter.cti import serve
        from pycallcenter.cti.config import load_users, options

        c = s.centre
        accounts = load_users(s.place(c.cti_users))
        opts = options(s, self.data)
        if self.webrtc is not None:
            self.webrtc.may_dial = opts["dial"].check  # numbers dialled from browser phones obey [dial] too
        # the desktop's records live in the centre's database, callbacks go to the centre's dialler
        opts["customers"] = Customers(self.store, self.centre_config.callbacks(), self.writer.run)
        opts["home"] = {"agent": "/agent", "supervisor": "/console"}
        opts["handsets"] = self.agent_handsets()
        # a bare number an agent reaches (dial, consult, transfer) goes out where the browser phones' numbers
        # go, else on the first trunk (as callbacks do); 'TRUNK/NUMBER' picks another
        trunks = [a.name for a in self.engine.adapters if getattr(a, "tech", None) in ("pri", "ss7", "fxo", "sip")]
        opts["outbound_trunk"] = s.webrtc.dial_trunk or (trunks[0] if trunks else None)
        try:
            self.cti = serve(self.binding, host=c.cti_addr, port=c.cti_port, accounts=accounts,
                             phones=self.webrtc.server if self.webrtc is not None else None, **opts)
        except OSError as exc:
            raise ConfigError(f"centre.cti_port: cannot listen on {c.cti_addr}:{c.cti_port}: "
                              f"{exc.strerror or exc}", path=s.file) from None

    def agent_handsets(self):
        """Return agent -> the emulator's phone on their extension port, which the desktop's Answer lifts
        (the emulated phone stands in for the agent's handset); {} on a real board."""
        emulator = getattr(self.board, "emulator", None)
        if emulator is None:
            return {}

        phones = {p.channel.number: p for p in emulator.far_ends.values() if isinstance(p, Phone)}
        return {a.name: phones[int(a.contact[8:])] for a in self.settings.agent
                if a.contact and a.contact.startswith("channel/") and int(a.contact[8:]) in phones}

    def _fax(self, s):
        # deliberate: fax sessions need spandsp, loaded only for a centre that takes faxes
        from pycallcenter.fax.inbox import FaxInbox
        from pycallcenter.fax.switch import fax_aware

        f = s.fax
        if f.library:
            self.centre_config.fax_library = _library(s.place(f.library), os.path.join(self.data, "fax-cache"), s)
        if f.detect:
            # previews are rendered off the tick loop: ImageMagick takes far longer than a tick
            inbox = FaxInbox(s.place(f.inbox) if f.inbox else os.path.join(self.data, "fax-inbox"),
                             on_record=fax_logger(self.store), background=True)
            self.fax_inbox = inbox
            self.router.wrappers.append(lambda script: fax_aware(script, inbox=inbox))

    # ------------------------------------------------------------------------------------------ running

    def tick(self):
        """Run one board tick of the whole centre (timed into self.ticks)."""
        if not self._ticked:  # built, with whatever drives it: none of that is garbage, ever (pycallcenter.heap)
            self._ticked = True
            freeze_heap()
        self.ticks.timed_tick(self.engine)
        # the overload guard watches what the tick cost, when ticks have a deadline (paced in real time): its CPU
        # time, not its wall time, so other processes on a busy host do not make an idle centre refuse calls
        if self.realtime and self.engine.admission is not None:
            self.engine.admission.observe_tick(self.ticks.last_cpu)
        now = self.engine.now
        for feature in self.features:
            feature.on_tick(now)
        if self.scheduling is not None and self.scheduling.scheduled and now // SAMPLE_RATE != self._adopted:
            self._adopted = now // SAMPLE_RATE  # threads started since (the recordings' writer starts lazily)
            self.scheduling.adopt()

    @property
    def realtime(self):
        """Return True while the ticks are paced by the wall clock (loop() without fast, or a driver that
        paces them itself and says so)."""
        return self._realtime

    @realtime.setter
    def realtime(self, paced):
        # paced, the process runs with a short switch interval (PACED_SWITCH), and Python's own again after;
        # and the thread that sets it (the one that ticks) gets what [centre] realtime, cpu, lock_memory ask
        if paced and self._switch is None:
            self._switch = sys.getswitchinterval()
            sys.setswitchinterval(min(self._switch, PACED_SWITCH))
            if self.scheduling is not None:
                for line in self.scheduling.apply():
                    print(f"warning: {line}", file=sys.stderr, flush=True)
                    self.engine.log("realtime_refused", what=line.split(":", 1)[0])
        elif not paced and self._switch is not None:
            sys.setswitchinterval(self._switch)
            self._switch = None
            if self.scheduling is not None:
                self.scheduling.restore()
        self._realtime = bool(paced)

    def wall_time(self, samples=None):
        """Return the centre's local wall-clock time at board samples (default: now)."""
        samples = self.engine.now if samples is None else samples
        return self.start + _dt.timedelta(seconds=samples / SAMPLE_RATE)

    def loop(self, seconds=None, fast=False, stop=(), every=None, on_tick=None, publish=True):
        """Tick (paced in real time unless fast) until stop is non-empty or seconds of board time pass;
        publish the status every `every` seconds of board time (see publish()), one step after each tick,
        before the wait for the next. Return the ticks run."""
        every = float(every or self.settings.centre.status_every)
        tick_s = self.tick_seconds
        wall0, next_status, n = time.monotonic(), 0.0, 0
        steps = None  # the publication under way
        limit = None if seconds is None else int(round(seconds / tick_s))
        was, self.realtime = self.realtime, not fast
        # paced, the collector runs between ticks only (pycallcenter.heap): not in a tick, where it comes due
        with contextlib.nullcontext() if fast else between_ticks():
            try:
                while not stop and (limit is None or n < limit):
                    if on_tick is not None:
                        on_tick()
                    else:
                        self.tick()
                    n += 1
                    # the step runs in the tick's slack: after it, the wait for the board takes what is left
                    if publish and steps is None and n * tick_s >= next_status:
                        steps = self.publishing("running")
                        next_status += every
                    if steps is not None and next(steps, _DONE) is _DONE:
                        steps = None
                    if not fast:
                        ahead = wall0 + n * tick_s - time.monotonic()
                        if collect_in_slack(max(0.0, ahead)) is not None:
                            ahead = wall0 + n * tick_s - time.monotonic()
                        if ahead > 0:
                            time.sleep(ahead)
                for _ in steps or ():  # stopped mid-way: the status still goes out whole
                    pass
            finally:
                self.realtime = was
        return n

    # ------------------------------------------------------------------------------------------ live changes

    def reload(self):
        """Read the configuration file again and apply, without a restart, what can change live: queue
        membership and penalties, agents' skills, queue strategies; new agents are added and logged in.
        Return (applied changes, keys that need a restart). A file that does not check changes nothing
        (ConfigError)."""
        if self.file is None:
            raise ConfigError("this centre has no configuration file to reload")
        _, new = load_settings(self.file)
        if self.acd is None:
            return [], (["queue", "agent"] if new.queue or new.agent else [])
        acd, now, old = self.acd, self.engine.now / SAMPLE_RATE, self.settings
        changes, restart = [], []
        old_queues = {q.name: q for q in old.queue}
        for q in new.queue:
            was = old_queues.get(q.name)
            if was is None:
                restart.append(f"queue {q.name} (new)")
            elif q.strategy != was.strategy:
                self.binding.apply(acd.set_strategy(q.name, q.strategy, now))
                changes.append(f"queue {q.name} strategy {was.strategy} -> {q.strategy}")
            if was is not None and dataclasses.replace(was, strategy=q.strategy) != q:
                restart.append(f"queue {q.name} (settings other than strategy)")
        restart += [f"queue {n} (removed)" for n in old_queues if n not in {q.name for q in new.queue}]
        live = {q.name for q in new.queue if q.name in old_queues}
        old_agents = {a.name: a for a in old.agent}
        for a in new.agent:
            was = old_agents.get(a.name)
            if was is None:
                acd.add_agent(a.name, a.contact, dict(a.skills) or None)
                changes.append(f"agent {a.name} added")
                if a.login:
                    self.binding.apply(acd.login(a.name, now, ready=a.ready))
                was_queues, was_skills = {}, dict(a.skills)
            else:
                was_queues, was_skills = was.queues, was.skills
                if a.contact != was.contact:
                    restart.append(f"agent {a.name} contact")
            for qname, penalty in a.queues.items():
                if qname in live and was_queues.get(qname) != penalty:
                    self.binding.apply(acd.set_member(qname, a.name, penalty, now))
                    changes.append(f"agent {a.name} in queue {qname} with penalty {penalty}")
            for qname in was_queues:
                if qname in live and qname not in a.queues:
                    self.binding.apply(acd.remove_member(qname, a.name, now))
                    changes.append(f"agent {a.name} out of queue {qname}")
            if a.skills != was_skills:
                self.binding.apply(acd.set_skills(a.name, dict(a.skills), now))
                changes.append(f"agent {a.name} skills {_pairs(was_skills)} -> {_pairs(a.skills)}")
        restart += [f"agent {n} (removed)" for n in old_agents if n not in {a.name for a in new.agent}]
        for name in ("centre", "hours", "language", "service_level", "route", "callers", "announce", "recording",
                     "callbacks", "campaign", "fax", "voicemail", "sip"):
            if getattr(new, name) != getattr(old, name):
                restart.append(f"[{name}]")
        # what was applied is now the running configuration; what needs a restart is still the old one
        for q in old.queue:
            q.strategy = next((n.strategy for n in new.queue if n.name == q.name), q.strategy)
        kept = {a.name: a for a in old.agent}
        running = [dataclasses.replace(kept.get(a.name, a), queues={k: v for k, v in a.queues.items() if k in live},
                                       skills=dict(a.skills)) for a in new.agent]
        old.agent = running + [a for a in old.agent if a.name not in {r.name for r in running}]
        for line in changes:
            self.engine.log("reload", change=line.replace(" ", "_"))
        if restart:
            self.engine.log("reload_needs_restart", what=";".join(restart).replace(" ", "_"))
        return changes, restart

    def publish(self, state="running"):
        """Write DATA/status.json and the database's live_status row, flush pending queue-log rows; return
        the snapshot."""
        steps = self.publishing(state)
        snap = next(steps)
        for _ in steps:
            pass
        return snap

    def publishing(self, state="running"):
        """Return a generator that publishes in steps (the first yields the snapshot): the loops run one after
        each tick (Centre.loop, the soak's), so a publication's few milliseconds of each (the snapshot, the echo cancellers' rows, the pending
        rows' commit, the JSON, the file and the live_status row) are not one tick's 20 ms. The calls,
        queues and agents are one tick's state; the cancellers' counters are read a tick later."""
        snap = snapshot(self.engine, self.acd, ticks=self.ticks, cdrs_written=self.writer.written, echo=False)
        snap.update(state=state, pid=os.getpid(), appliance=self.store.appliance, updated=time.time(),
                    config=self.file, database=getattr(self.store, "path", "postgresql"))
        yield snap
        snap["echo"] = echo_snapshot(self.engine)  # 4 ms of the 7 at 32 spans (1,460 cancellers)
        yield snap
        self.writer.flush()
        snap["store"] = {"backlog": self.writer.backlog, "failures": self.writer.failures,
                         "last_error": self.writer.last_error}
        features = {getattr(f, "name", type(f).__name__): f.status() for f in self.features if hasattr(f, "status")}
        if features:
            snap["features"] = features
        if self.sip is not None:
            snap["sip"] = self.sip.status()
        if self.webrtc is not None:
            snap["webrtc"] = self.webrtc.status()
        self.latest["snap"] = snap  # taken on the engine thread: the metrics thread only reads this dict
        yield snap
        # one encoding for the file and the row (the C encoder: about 5 ms for this snapshot at 32 spans)
        text = json.dumps(snap, sort_keys=True, default=str)
        yield snap
        _write_text(self.status_path, text)
        try:
            self.store.put_status(text, updated=self.writer.clock.iso(snap["board_seconds"]))
        except Exception as exc:  # noqa: BLE001 - the status row is best effort; the file has it
            self.engine.log("store_error", error=type(exc).__name__, what="live_status")

    def flush(self):
        """Wait for background work (fax previews) and write pending CDR rows."""
        if self.fax_inbox is not None:
            self.fax_inbox.flush()
        self.writer.flush()

    def leaks(self):
        """Return what is left behind with no call to own it: legs, seized channels, busy agents, open
        recorders, pending tasks (the engine's own list) and whatever a feature reports."""
        found = list(self.engine.leaks()) if hasattr(self.engine, "leaks") else []
        for feature in self.features:
            leaks = getattr(feature, "leaks", None)
            if leaks is not None:
                found.extend(leaks())
        return found

    def drain(self, grace=5.0):
        """Hang up every call and tick (up to grace seconds of board time) until they have cleared."""
        eng = self.engine
        for leg in list(eng.legs.values()):
            leg.hangup()
        # until the calls are gone and what finishes them (their CDRs, scripts winding up) is done too
        eng.run(seconds=grace, until=lambda: not eng.calls and not eng.leaks())

    def _close_agents(self):
        """Write a closing LOGOUT (reason 'stopped') for every agent still logged in at the run's stop, so
        reports stop counting their occupancy and time in state at the run's end instead of running on to
        the report's end or the next run."""
        if self.acd is not None:
            self.binding.apply(self.acd.stop(self.binding.seconds()))

    def close(self, grace=5.0, publish=True):
        """End every call (they get their CDRs), stop the features, CTI and engine, publish the final
        'stopped' status and close the store."""
        self.drain(grace)
        self._close_agents()
        for feature in self.features:
            close = getattr(feature, "close", None)
            if close is not None:
                close()
        # what the engine still held after the drain: stuck, not merely in progress (run prints it)
        self.left_behind = list(self.engine.close() or [])
        if self.sip is not None:
            self.sip.close()
        if self.webrtc is not None:
            self.webrtc.close()
        if self.cti is not None:
            self.cti.stop()
        self.flush()
        if publish:
            self.publish("stopped")
        self.writer.stop()  # a clean end: the next start has nothing of this run to recover
        self.store.close()
        self.realtime = False


_DONE = object()
# Python's switch interval (seconds) while the loop ticks in real time. Another thread that wants the GIL
# (the recordings' writer, the CTI server) waits this long before it makes the engine thread let go, and
# the engine thread, once it has let go, waits as long for it back: at Python's default (5 ms) each such
# hand-over can hold a 20 ms tick up to a quarter of its time (docs/reliability.md, "Paced in real time").
PACED_SWITCH = 0.0005


def _write_text(path, text):
    tmp = f"{path}.tmp"
    with open(tmp, "w") as f:  # compact JSON: the C encoder, 4x faster than json.dump's with an indent
        f.write(text)
    os.replace(tmp, path)  # readers never see half a file


def _library(path, cache, s):
    """Return the fax-on-demand DocumentLibrary of a JSON catalogue, or of a folder whose files are
    named NUMBER-title.ext (the number is what callers key in)."""
    if os.path.isfile(path):
        return DocumentLibrary.from_catalogue(path, cache)
    if not os.path.isdir(path):
        raise ConfigError(f"fax.library: no catalogue file or folder {path}", path=s.file)
    lib = DocumentLibrary(cache)
    for entry in sorted(os.listdir(path)):
        number = entry.split("-", 1)[0].split(".", 1)[0]
        if number.isdigit() and os.path.isfile(os.path.join(path, entry)):
            title = os.path.splitext(entry)[0][len(number):].strip("-_ ").replace("-", " ")
            lib.add(number, title, os.path.join(path, entry))
    if not lib.documents:
        raise ConfigError(f"fax.library: no documents named NUMBER-title in {path}", path=s.file)
    return lib


def load_scripts(s):
    """Return the ScriptSet of a configuration with every script it names; ConfigError naming the script's
    file and line for a script that does not load, or the config key naming a missing script."""
    folder = s.place(s.centre.scripts) if s.centre.scripts else str(bundled.scripts_dir())
    if not os.path.isdir(folder):
        raise ConfigError(f"centre.scripts: no folder {folder}", path=s.file, line=s.line_of("centre.scripts"))
    scripts = ScriptSet(folder)
    if scripts.errors:
        name, text = sorted(scripts.errors.items())[0]
        lines = text.strip().splitlines()
        where = [m for m in (re.search(r'File "([^"]+)", line (\d+)', t) for t in lines)
                 if m and os.path.dirname(os.path.abspath(m.group(1))) == os.path.abspath(folder)]
        raise ConfigError(f"IVR script {name!r} does not load: {lines[-1].strip()}",
                          path=where[-1].group(1) if where else os.path.join(folder, name + ".py"),
                          line=int(where[-1].group(2)) if where else None)
    for key, name in s.script_references():
        if name not in scripts.scripts:
            default = " (the default: set it to one of the scripts)" if key == "centre.default_script" else ""
            raise ConfigError(f"{key}: no IVR script {name!r} in {folder}{default} (have "
                              f"{', '.join(scripts.names())})", path=s.file, line=s.line_of(key))
    return scripts


def _pairs(d):
    return ",".join(f"{k}={v}" for k, v in sorted(d.items())) or "none"


@contextlib.contextmanager
def file_mask(umask):
    """Create files and folders under this file creation mask (octal text such as '027') while the block
    runs: recordings, voicemail, faxes and the database hold personal data."""
    old = os.umask(int(umask, 8))
    try:
        yield
    finally:
        os.umask(old)
