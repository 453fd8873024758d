"""`make demo`: a complete small call centre on the emulated board, through a simulated busy hour.

An E1 PRI span faces the emulated PSTN, whose simulated callers arrive as a Poisson process and
behave like people: they listen to the menu, press digits (sometimes wrong ones), wait in queue
with finite patience, talk to an agent, and some are fax machines. Agents sit at analog phones on
FXS ports. Everything in between is the real stack: Q.921/Q.931, the engine, the IVR scripts in
ivr_scripts/, the ACD, recording. At the end the report a call-centre manager reads is printed
and written, with the CDRs and recordings, to the data folder.
"""
import json
import math
import os
import random
import sys
import time
from dataclasses import dataclass

from pycallcenter.dsp import SAMPLE_RATE

@dataclass
class DemoSettings:
    """What the demo simulates."""

    seed: int = 1
    hours: float = 1.0
    agents: int = 18  # 17 in the ACD, the last phone is the operator's
    calls_per_hour: float = 420.0  # a busy hour on one E1: ~25 Erlangs of trunk traffic
    talk_mean: float = 150.0  # seconds of conversation with an agent (exponential)
    patience_mean: float = 120.0  # seconds a caller waits in queue before giving up (exponential)
    fax_share: float = 0.03
    wrong_input_share: float = 0.08
    data_dir: str = "data"
    scripts_dir: str = "ivr_scripts"
    drain_seconds: float = 900.0  # after the hour: let calls in progress finish (no new arrivals)
    blocksize: int = 640  # samples per board tick (DAHDI allows 8..1024): the simulation uses 80 ms ticks,
    # which give the same figures as 20 ms (160, what a real-time board uses) at about twice the speed


def board_config(agents, seed, blocksize=160, far_end="pstn"):
    """Return the emulated board's TOML: one E1 PRI span to the network (the far end `far_end`) and
    `agents` FXS ports (channels 32..) with phones named agent1, agent2, ..."""
    first = 32
    last = first + agents - 1
    phones = "\n".join(f'[[emulator.cable]]\nkind = "phone"\nchannels = {first + i}\nname = "agent{i + 1}"\n'
                       for i in range(agents))
    return f"""
[board]
name = "demo"
law = "alaw"
blocksize = {blocksize}
tonezones = ["etsi"]

[[span]]
span = 1
kind = "e1"
framing = "ccs"
coding = "hdb3"
crc4 = true
timing = 1

[[span]]
span = 2
kind = "fxs"
channels = {agents}

[[channels]]
signalling = "bchan"
channels = "1-15,17-31"

[[channels]]
signalling = "dchan"
channels = "16"

[[channels]]
signalling = "fxo_ks"
channels = "{first}-{last}"

[emulator]
seed = {seed}

[[emulator.cable]]
kind = "network"
span = 1
name = "{far_end}"

{phones}
"""


def make_callers(settings):
    """Return the list of simulated Callers for the busy hour (Poisson arrivals, seeded)."""
    from pycallcenter.sim.pstn import Caller

    rng = random.Random(settings.seed)
    callers = []
    t = 2.0  # let the D-channel come up first
    n = 0
    while True:
        t += rng.expovariate(settings.calls_per_hour / 3600.0)
        if t >= settings.hours * 3600.0:
            break
        n += 1
        number = f"20255{rng.randrange(10000, 99999)}"
        if rng.random() < settings.fax_share:
            callers.append(Caller(number, "5000", t, kind="fax", patience=60.0, talk=0.0))
            continue
        choice = rng.choices(["1", "2", "9", "0", "3"], weights=[50, 35, 5, 7, 3])[0]
        digits = choice
        if rng.random() < settings.wrong_input_share:
            digits = rng.choice("4578") + "," + choice  # a wrong key first, then the right one after the retry
        callers.append(Caller(number, "5000", t, digits=digits, digit_delay=rng.uniform(3.0, 9.0),
                              patience=rng.expovariate(1.0 / settings.patience_mean) + 15.0,
                              talk=rng.expovariate(1.0 / settings.talk_mean) + 10.0))
    return callers


def _load_scripts(folder):
    from pycallcenter.ivr.loader import ScriptSet

    if not os.path.isdir(folder):
        raise FileNotFoundError(f"IVR scripts folder {folder!r} not found (run from the project root)")
    return ScriptSet(folder)


def _progress(done, total, sim_s, wall_s, extra, stream):
    width = 30
    filled = int(width * done / total) if total else width
    bar = "#" * filled + "." * (width - filled)
    mins, secs = divmod(int(sim_s), 60)
    stream.write(f"\r[{bar}] {100 * done / total:5.1f}%  sim {mins:3d}:{secs:02d}  wall {wall_s:5.1f}s  {extra}   ")
    stream.flush()


def run(settings, progress=True, stream=sys.stderr):
    """Run the demo; return the report dict."""
    from pycallcenter.drivers import open_board, parse_config
    from pycallcenter.engine.engine import Engine
    from pycallcenter.engine.prompts import PromptLibrary
    from pycallcenter.ivr import promptset
    from pycallcenter.sim.agents import AgentPool
    from pycallcenter.sim.pstn import PstnSimulator

    data = settings.data_dir
    os.makedirs(data, exist_ok=True)
    prompts_dir = os.path.join(data, "prompts")
    promptset.build(prompts_dir)
    board = open_board(parse_config(board_config(settings.agents, settings.seed, settings.blocksize)))
    pstn = PstnSimulator(board, far_end="pstn", seed=settings.seed)
    fax_document = _fax_document(data)
    for caller in make_callers(settings):
        if caller.kind == "fax":
            caller.fax_document = fax_document
        pstn.add(caller)
    offered_total = len(pstn.pending)
    engine = Engine(board, tone_plan="etsi", log_file=os.path.join(data, "events.log"), keep_log=False)
    engine.auto_trunks()
    engine.recordings_dir = os.path.join(data, "recordings")
    engine.prompts = PromptLibrary(prompts_dir, cache_dir=os.path.join(data, "prompt-cache"))
    engine.scripts = _load_scripts(settings.scripts_dir)
    parts = _attach_parts(engine, settings)
    if "fax_inbox" in parts:
        from pycallcenter.fax.switch import fax_aware

        inbox = parts["fax_inbox"]
        engine.router = lambda leg: fax_aware(engine.scripts.get("main_menu"), inbox=inbox)
    else:
        engine.router = lambda leg: engine.scripts.get("main_menu")
    phones = [board.emulator.far_ends[f"agent{i + 1}"] for i in range(settings.agents)]
    pool = AgentPool(phones, [f"agent{i + 1}" for i in range(settings.agents)], pstn, plan="etsi")
    end = settings.hours * 3600.0
    limit = end + settings.drain_seconds
    wall0 = time.perf_counter()
    ticks = 0
    while True:
        engine.tick()
        pool.tick(engine.now, board.blocksize)
        ticks += 1
        sim = engine.now / SAMPLE_RATE
        if sim >= end and not pstn.busy or sim >= limit:
            break
        if progress and ticks % max(1, int(30 * SAMPLE_RATE / board.blocksize)) == 0:
            _progress(min(sim, end), end, sim, time.perf_counter() - wall0,
                      f"calls {len(pstn.done)}/{offered_total} active {len(pstn.active)}", stream)
    wall = time.perf_counter() - wall0
    if progress:
        _progress(end, end, engine.now / SAMPLE_RATE, wall, f"calls {len(pstn.done)}/{offered_total}", stream)
        stream.write("\n")
    if "fax_inbox" in parts:
        parts["fax_inbox"].flush()
    report = build_report(settings, pstn, engine, parts, wall)
    engine.close()
    with open(os.path.join(data, "report.json"), "w") as fh:
        json.dump(report, fh, indent=2, sort_keys=True)
    with open(os.path.join(data, "report.txt"), "w") as fh:
        fh.write(format_report(report))
    return report


class _RecordEveryCall:
    """Records every PSTN caller's leg from the moment it is answered to its end: what the caller says
    mixed with what they hear (prompts, music, the agent), as G.711 mu-law WAV."""

    def __init__(self, engine):
        self.engine = engine

    def on_leg_event(self, kind, leg):
        if kind == "answered" and leg.tech in ("pri", "ss7", "fxo") and leg.direction == "in":
            self.engine.start_recording(leg, subtype="ULAW")


def acd_config(agents):
    """Return the demo's ACD: sales and support queues over agents 1..agents-1 (the last phone is the
    operator's), half of them on each queue first and on the other as a second tier."""
    queue = dict(strategy="longest_idle", wrapup=15, ring_timeout=15, max_wait=240, overflow="voicemail",
                 announce_every=30)
    cfg = {"queue": [dict(queue, name="sales"), dict(queue, name="support")], "agent": []}
    staff = max(1, agents - 1)
    for i in range(staff):
        first, second = ("sales", "support") if i % 2 == 0 else ("support", "sales")
        cfg["agent"].append({"name": f"agent{i + 1}", "contact": f"channel/{32 + i}",
                             "queues": {first: 0, second: 1}})
    return cfg


def _attach_parts(engine, settings):
    """Attach the centre (scripts' settings, voicemail) and the optional parts (ACD, storage, fax); each
    part that is not there is listed with the reason."""
    from pycallcenter.apps.centre_config import CentreConfig

    parts = {"missing": []}
    engine.listeners.append(_RecordEveryCall(engine))
    operator = f"channel/{32 + settings.agents - 1}" if settings.agents > 1 else None
    centre = CentreConfig(data_dir=settings.data_dir, operator=operator).attach(engine)
    parts["centre"] = centre
    try:
        from pycallcenter.acd.config import build_on_engine
    except ImportError:
        parts["missing"].append("ACD queues (issue 7): the menu's queue choices go to voicemail")
    else:
        parts["acd"] = build_on_engine(engine, acd_config(settings.agents), seed=settings.seed)
    try:
        from pycallcenter.storage import open_store
        from pycallcenter.storage.cdr import CdrWriter
    except ImportError:
        parts["missing"].append("CDR storage (issue 9): no CDR database written")
    else:
        store = open_store(os.path.join(settings.data_dir, "pycallcenter.db"))
        acd = parts["acd"].acd if "acd" in parts else None
        engine.listeners.append(CdrWriter(store, engine, acd=acd))
        parts["store"] = store
        from pycallcenter.storage.adapters import voicemail_indexer

        centre.voicemail().on_message = voicemail_indexer(store)  # messages also land in the common store
    try:
        from pycallcenter.fax.inbox import FaxInbox
        from pycallcenter.fax.switch import fax_aware  # noqa: F401
    except ImportError:
        parts["missing"].append("fax receive (issue 8): fax callers are cleared")
    else:
        on_record = None
        if "store" in parts:
            from pycallcenter.storage.adapters import fax_logger

            on_record = fax_logger(parts["store"])
        # previews are rendered off the tick loop: ImageMagick takes far longer than a tick
        parts["fax_inbox"] = FaxInbox(os.path.join(settings.data_dir, "fax-inbox"), on_record=on_record,
                                      background=True)
    return parts


def _fax_document(data):
    """Return a one-page TIFF-F the simulated fax machines send (made once), or None without fax support."""
    try:
        from pycallcenter.fax.documents import convert_to_tiff_f
    except ImportError:
        return None
    folder = os.path.join(data, "fax-docs")
    tiff = os.path.join(folder, "order-form.tif")
    if not os.path.exists(tiff):
        os.makedirs(folder, exist_ok=True)
        text = os.path.join(folder, "order-form.txt")
        with open(text, "w") as fh:
            fh.write("ORDER FORM\n\nCustomer: Simulated Fax Caller\nItem: 12 x widgets\nPlease deliver by Friday.\n")
        convert_to_tiff_f(text, tiff, resolution="standard", compression="g4")
    return tiff


def build_report(settings, pstn, engine, parts, wall):
    """Return the manager's report: the ACD's figures when it ran, and the callers' own view."""
    callers = pstn.done + list(pstn.active.values())
    voice = [c for c in callers if c.kind == "voice"]
    operator = f"agent{settings.agents}" if settings.agents > 1 else None
    served = [c for c in voice if c.agent_at is not None]
    by_operator = [c for c in served if c.agent == operator]
    abandoned = [c for c in voice if c.abandoned]
    report = {
        "settings": {"seed": settings.seed, "hours": settings.hours, "agents": settings.agents,
                     "calls_per_hour": settings.calls_per_hour},
        "simulated_seconds": engine.now / SAMPLE_RATE,
        "wall_seconds": round(wall, 2),
        "speed_vs_real_time": round(engine.now / SAMPLE_RATE / wall, 1) if wall else None,
        "callers": {
            "offered": len(callers),
            "voice": len(voice),
            "fax": len(callers) - len(voice),
            "reached_agent": len(served) - len(by_operator),
            "reached_operator": len(by_operator),
            "abandoned": len(abandoned),
            "refused_no_channel": sum(c.refused for c in callers),
            "mean_talk_seconds": _mean([c.ended - c.agent_at for c in served if c.ended is not None]),
            "mean_time_to_agent_seconds": _mean([c.agent_at - c.answered for c in served]),
        },
        "fax": {
            "machines": len(callers) - len(voice),
            "sent_ok": sum(1 for c in callers if c.kind == "fax" and (c.fax_result or {}).get("ok")),
            "inbox": len(parts["fax_inbox"].fax_log) if "fax_inbox" in parts else 0,
        },
        "recordings": len(engine.recordings),
        "script_errors": len(engine.errors),
        "left_out": parts["missing"],
    }
    if "acd" in parts:
        report["acd"] = acd_report(parts["acd"].acd, settings.hours * 3600.0, engine.now / SAMPLE_RATE)
    return report


def acd_report(acd, hour_end, sim_end, sl_seconds=20.0):
    """Return the ACD's figures for the simulated hour, per queue and in total, from its queue log."""
    from pycallcenter.acd.stats import day_report

    end = max(hour_end, sim_end)
    keep = ("offered", "answered", "abandoned", "short_abandoned", "service_level", "asa", "avg_abandon_delay",
            "aht", "occupancy", "utilisation", "calls_per_agent_hour")

    def pick(r):
        return {k: (round(r[k], 3) if isinstance(r[k], float) else r[k]) for k in keep}

    queues = {q: pick(day_report(acd.qlog, 0.0, end, queue=q, sl_seconds=sl_seconds)) for q in ("sales", "support")}
    return {"queues": queues, "total": pick(day_report(acd.qlog, 0.0, end, sl_seconds=sl_seconds)),
            "sl_threshold": sl_seconds, "queue_log_entries": len(acd.qlog)}


def _mean(values):
    return round(sum(values) / len(values), 1) if values else None


def format_report(report):
    """Return the report as the text a manager reads."""
    lines = ["", "pycallcenter demo - busy hour report", "=" * 40]
    s = report["settings"]
    lines.append(f"seed {s['seed']}, {s['hours']} h, {s['agents']} agents, {s['calls_per_hour']:.0f} calls/h offered")
    acd = report.get("acd")
    if acd:
        lines.append("")
        lines.append(f"{'queue':<10}{'offered':>8}{'answered':>9}{'abandoned':>10}{'SL':>7}{'ASA':>7}{'AHT':>7}{'occup.':>8}")
        for name, q in sorted(acd.get("queues", {}).items()) + [("all", acd["total"])]:
            lines.append(f"{name:<10}{q['offered']:>8}{q['answered']:>9}{q['abandoned']:>10}"
                         f"{_pct(q.get('service_level')):>7}{_sec(q.get('asa')):>7}{_sec(q.get('aht')):>7}"
                         f"{_pct(q.get('occupancy')):>8}")
        lines.append(f"service level = answered within {acd.get('sl_threshold', 20)} s / offered")
    c = report["callers"]
    lines += ["", "as the callers saw it:",
              f"  offered {c['offered']} ({c['voice']} voice, {c['fax']} fax), reached an agent {c['reached_agent']} "
              f"(and the operator {c['reached_operator']}), "
              f"abandoned {c['abandoned']}, no channel {c['refused_no_channel']}",
              f"  mean time from answer to agent {_sec(c['mean_time_to_agent_seconds'])}, "
              f"mean talk {_sec(c['mean_talk_seconds'])}",
              f"fax machines {report['fax']['machines']}: {report['fax']['sent_ok']} sent their fax, "
              f"{report['fax']['inbox']} faxes in the inbox",
              f"recordings {report['recordings']}, script errors {report['script_errors']}",
              f"simulated {report['simulated_seconds'] / 60:.1f} min in {report['wall_seconds']} s "
              f"({report['speed_vs_real_time']}x real time)"]
    for missing in report["left_out"]:
        lines.append(f"left out: {missing}")
    return "\n".join(lines) + "\n"


def _pct(v):
    return "-" if v is None or (isinstance(v, float) and math.isnan(v)) else f"{100 * v:.0f}%"


def _sec(v):
    return "-" if v is None else f"{v:.0f}s"
