"""Live figures of a running centre: one snapshot dict (spans, channels, calls, queues, agents, tick
timing) that `pycallcenter status`, the live_status table and the Prometheus endpoint all read, so
every view shows the same numbers.

prometheus-client is optional: it is imported only by :func:`serve`/:class:`CentreCollector`.
"""
import time

from pycallcenter.drivers import Alarm
from pycallcenter.dsp import SAMPLE_RATE
from pycallcenter.engine.media import echo_snapshot
from pycallcenter.errors import ConfigError

ERROR_COUNTERS = ("bpvcount", "crc4count", "ebitcount", "fascount", "fecount", "cvcount", "becount",
                  "errsec", "irqmisses", "slips")


class TickStats:
    """Wall-clock cost of engine ticks: count, total, last, max, and overruns (a tick that took
    longer than its own duration of audio, so real time was lost)."""

    def __init__(self, tick_seconds=0.02):
        self.budget = tick_seconds
        self.count = 0
        self.total = 0.0
        self.last = 0.0
        self.last_cpu = 0.0  # the last tick's CPU time in the ticking thread (what overload control judges)
        self.max = 0.0
        self.overruns = 0

    def record(self, seconds, cpu=None):
        """Add one tick's wall-clock duration (and its CPU time in the ticking thread: default the same)."""
        self.count += 1
        self.total += seconds
        self.last = seconds
        self.last_cpu = seconds if cpu is None else cpu
        self.max = max(self.max, seconds)
        if seconds > self.budget:
            self.overruns += 1

    def timed_tick(self, engine):
        """Run engine.tick() and record how long it took."""
        t0, c0 = time.perf_counter(), time.thread_time()
        engine.tick()
        self.record(time.perf_counter() - t0, time.thread_time() - c0)

    def as_dict(self):
        """Return the figures as a dict."""
        return {"count": self.count, "seconds_total": self.total, "last": self.last, "max": self.max,
                "overruns": self.overruns, "budget": self.budget}


def snapshot(engine, acd=None, ticks=None, cdrs_written=None, echo=True):
    """Return the live status of an engine (and its ACD) as a JSON-ready dict (without the echo cancellers'
    rows if echo is false: at 1,460 channels they are most of its cost, and a paced caller adds them a tick later)."""
    board = engine.board
    legs = list(engine.legs.values())
    by_channel = {leg.channel for leg in legs}
    spans = []
    for span in board.spans:
        st = span.status()
        chans = [c.number for c in span.channels if c.signalling.is_audio]
        spans.append({"span": span.number, "kind": span.kind.name, "name": st.name,
                      "alarms": Alarm.names(int(st.alarms)) if int(st.alarms) else [],
                      "alarm_bits": int(st.alarms),
                      "errors": {k: int(getattr(st, k)) for k in ERROR_COUNTERS},
                      "channels": len(chans), "in_use": sum(1 for c in chans if c in by_channel)})
    leg_states = {}
    for leg in legs:
        leg_states[leg.state] = leg_states.get(leg.state, 0) + 1
    call_states = {}
    for call in engine.calls.values():
        s = "answered" if any(l.answered_at is not None for l in call.legs if l.active) else "setup"
        call_states[s] = call_states.get(s, 0) + 1
    out = {"board_seconds": engine.now / SAMPLE_RATE, "spans": spans,
           "calls": {"active": len(engine.calls), "by_state": call_states, "legs_by_state": leg_states,
                     "list": [_call(c, engine.now) for c in sorted(engine.calls.values(), key=lambda c: c.started)]},
           "queues": [], "agents": []}
    if acd is not None:
        now = engine.now / SAMPLE_RATE
        out["queues"] = [acd.realtime(name, now) for name in sorted(acd.queues)]
        out["agents"] = [{"agent": a.name, "state": a.state, "call": getattr(a, "call", None)}
                         for a in sorted(acd.agents.values(), key=lambda a: a.name)]
    if echo:
        out["echo"] = echo_snapshot(engine)  # per-channel line echo cancellers (ERL, ERLE, state)
    if ticks is not None:
        out["ticks"] = ticks.as_dict()
    if engine.admission is not None:  # overload control: calls refused by the centre itself
        out["admission"] = engine.admission.status()
    linksets = [_linkset(a) for a in engine.adapters if hasattr(a, "links_up")]  # SS7 trunks (Ss7Trunk)
    if linksets:
        out["ss7"] = linksets
    if cdrs_written is not None:
        out["cdrs_written"] = cdrs_written
    return out


def _linkset(trunk):
    """Return an SS7 link set's route, links and circuits as a JSON-ready dict."""
    up = set(trunk.links_up())
    return {"linkset": trunk.name, "opc": trunk.sp.mtp3.opc, "dpc": trunk.dpc,
            "route_up": trunk.sp.mtp3.route_available(trunk.dpc), "circuits": len(trunk.cics), "in_use": len(trunk.legs),
            "blocked": len(trunk.blocked()),
            "links": [{"span": s.span_number, "slc": s.slc, "up": s.slc in up} for s in trunk.spans]}


def _call(call, now):
    first = call.caller_leg
    return {"call": call.id, "caller": first.caller if first else "", "called": first.called if first else "",
            "channels": [l.channel for l in call.legs if l.active], "queue": call.queue, "agent": call.agent,
            "seconds": round((now - call.started) / SAMPLE_RATE, 1)}


class CentreCollector:
    """A prometheus_client collector that reads a fresh snapshot at every scrape."""

    def __init__(self, source):
        self.source = source  # fn() -> snapshot dict

    def collect(self):
        """Yield the metric families of the current snapshot."""
        from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

        snap = self.source()
        alarms = GaugeMetricFamily("pycc_span_alarms", "Span alarm bits (DAHDI alarm mask; 0 = in service)", labels=["span"])
        alarm = GaugeMetricFamily("pycc_span_alarm", "1 while the named alarm is raised on the span", labels=["span", "alarm"])
        errors = CounterMetricFamily("pycc_span_errors", "Span error counters since the board opened",
                                     labels=["span", "counter"])
        chans = GaugeMetricFamily("pycc_channels", "Audio channels of the span", labels=["span"])
        in_use = GaugeMetricFamily("pycc_channels_in_use", "Channels with a call leg on them", labels=["span"])
        for s in snap["spans"]:
            sp = str(s["span"])
            alarms.add_metric([sp], s["alarm_bits"])
            for a in Alarm:
                alarm.add_metric([sp, a.name.lower()], 1 if s["alarm_bits"] & int(a) else 0)
            for k, v in s["errors"].items():
                errors.add_metric([sp, k.replace("count", "")], v)
            chans.add_metric([sp], s["channels"])
            in_use.add_metric([sp], s["in_use"])
        yield from (alarms, alarm, errors, chans, in_use)
        yield from _echo_metrics(snap.get("echo", []), GaugeMetricFamily)
        calls = GaugeMetricFamily("pycc_calls", "Active calls by state (setup or answered)", labels=["state"])
        for state in ("setup", "answered"):
            calls.add_metric([state], snap["calls"]["by_state"].get(state, 0))
        legs = GaugeMetricFamily("pycc_legs", "Active call legs by state", labels=["state"])
        for state, n in sorted(snap["calls"]["legs_by_state"].items()):
            legs.add_metric([state], n)
        yield from (calls, legs)
        depth = GaugeMetricFamily("pycc_queue_depth", "Calls waiting in the queue", labels=["queue"])
        longest = GaugeMetricFamily("pycc_queue_longest_wait_seconds", "Longest current wait", labels=["queue"])
        sl = GaugeMetricFamily("pycc_queue_service_level", "Today's service level: answered within the target over "
                               "the calls the configured mode counts (offered, answered or exclude_short)",
                               labels=["queue", "mode"])
        target = GaugeMetricFamily("pycc_queue_service_level_target_seconds", "Service level answer target",
                                   labels=["queue"])
        totals = CounterMetricFamily("pycc_queue_calls", "Today's calls by outcome", labels=["queue", "outcome"])
        agents = GaugeMetricFamily("pycc_queue_agents", "Member agents by state", labels=["queue", "state"])
        for q in snap["queues"]:
            depth.add_metric([q["queue"]], q["waiting"])
            longest.add_metric([q["queue"]], q["longest_wait"])
            if q["service_level"] is not None:
                sl.add_metric([q["queue"], q["sl_mode"]], q["service_level"])
            target.add_metric([q["queue"]], q["sl_seconds"])
            # with the short abandons and the answers within target, any service level mode can be
            # recomputed from the counters (e.g. over a dashboard's own window)
            for outcome in ("offered", "answered", "abandoned", "short_abandoned", "answered_in_sl"):
                totals.add_metric([q["queue"], outcome], q.get(outcome, 0))
            for state, n in sorted(q["agents"].items()):
                agents.add_metric([q["queue"], state], n)
        yield from (depth, longest, sl, target, totals, agents)
        t = snap.get("ticks")
        if t is not None:
            yield _one(CounterMetricFamily, "pycc_tick_overruns", "Ticks that took longer than their audio", t["overruns"])
            yield _one(CounterMetricFamily, "pycc_tick_seconds", "Wall-clock seconds spent in engine ticks", t["seconds_total"])
            yield _one(CounterMetricFamily, "pycc_ticks", "Engine ticks run", t["count"])
            yield _one(GaugeMetricFamily, "pycc_tick_last_seconds", "Duration of the last tick", t["last"])
            yield _one(GaugeMetricFamily, "pycc_tick_max_seconds", "Longest tick so far", t["max"])
        adm = snap.get("admission")
        if adm is not None:
            refused = CounterMetricFamily("pycc_calls_refused", "Incoming calls the centre refused itself (overload "
                                          "control), by reason", labels=["reason"])
            for reason, n in sorted(adm["refused"].items()):
                refused.add_metric([reason], n)
            yield refused
            yield _one(GaugeMetricFamily, "pycc_overload_guard", "1 while the overload guard refuses new calls",
                       int(adm["guard_engaged"]))
        st = snap.get("store")
        if st is not None:
            yield _one(GaugeMetricFamily, "pycc_store_backlog", "Transactions waiting for the database", st["backlog"])
            yield _one(CounterMetricFamily, "pycc_store_failures", "Database writes that failed (retried later)",
                       st["failures"])
        yield _one(GaugeMetricFamily, "pycc_board_seconds", "Board clock in seconds since the board opened",
                   snap["board_seconds"])


def _echo_metrics(rows, gauge):
    """Yield the line echo canceller gauges: ERL, ERLE and state of every channel whose canceller is running."""
    erl = gauge("pycc_echo_erl_db", "Echo return loss the channel's canceller measures, dB", labels=["channel"])
    erle = gauge("pycc_echo_erle_db", "Echo return loss enhancement of the channel's canceller, dB", labels=["channel"])
    state = gauge("pycc_echo_state", "1 for the state the channel's echo canceller is in", labels=["channel", "state"])
    for r in rows:
        if not r["running"]:
            continue
        ch = str(r["channel"])
        if r["erl_db"] is not None:
            erl.add_metric([ch], r["erl_db"])
        if r["erle_db"] is not None:
            erle.add_metric([ch], r["erle_db"])
        state.add_metric([ch, r["state"]], 1)
    yield from (erl, erle, state)


def _one(family, name, text, value):
    """Return a metric family with one unlabelled sample."""
    m = family(name, text)
    m.add_metric([], value)
    return m


def serve(source, port, addr="127.0.0.1"):
    """Start the Prometheus HTTP endpoint (a daemon thread) for a snapshot source; return (server, thread)."""
    try:
        from prometheus_client import start_http_server
        from prometheus_client.core import CollectorRegistry
    except ImportError as exc:
        raise ConfigError("the metrics endpoint needs prometheus-client: pip install prometheus-client") from exc
    registry = CollectorRegistry(auto_describe=True)
    registry.register(CentreCollector(source))
    return start_http_server(port, addr=addr, registry=registry)
