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
import sys
import time
from dataclasses import dataclass
from typing import Optional

from pycallcenter import bundled
from pycallcenter.acd.stats import day_report
from pycallcenter.apps.centre import Centre
from pycallcenter.apps.settings import load_text
from pycallcenter.apps.simulation import Simulation
from pycallcenter.dsp import SAMPLE_RATE
from pycallcenter.errors import ConfigError

DEMO_START = "2026-01-05T09:00:00"  # a Monday morning: the centre is open for the whole simulated hour

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
    scripts_dir: Optional[str] = None  # default: the bundled scripts
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


def check_settings(settings):
    """Raise ConfigError naming the option when the demo's settings cannot make a centre."""
    for name, ok, want in (("hours", settings.hours > 0, "more than 0"), ("agents", 1 <= settings.agents <= 96,
                           "from 1 to 96 (phones on one FXS span)"),
                           ("calls-per-hour", 0 <= settings.calls_per_hour <= 100000, "from 0 to 100000"),
                           ("blocksize", 8 <= settings.blocksize <= 1024, "from 8 to 1024 samples")):
        if not ok:
            raise ConfigError(f"--{name} must be {want}, got {getattr(settings, name.replace('-', '_'))}")


def centre_text(settings):
    """Return the demo centre's whole configuration (board and centre tables) as TOML text: what a user
    would write to run the same centre with `pycallcenter run FILE --simulate`."""
    q = json.dumps
    scripts = settings.scripts_dir or str(bundled.scripts_dir())
    data = os.path.abspath(settings.data_dir)
    staff = max(1, settings.agents - 1)  # the last phone is the operator's
    lines = [board_config(settings.agents, settings.seed, settings.blocksize), "",
             "[centre]", f"data = {q(data)}", f"scripts = {q(os.path.abspath(scripts))}",
             'default_script = "main_menu"', 'tone_plan = "etsi"', f"log_file = {q(os.path.join(data, 'events.log'))}",
             "station_features = false", f'start = "{DEMO_START}"']
    if settings.agents > 1:
        lines.append(f'operator = "channel/{32 + settings.agents - 1}"')
    lines += ["", "[recording]", 'calls = "all"', 'encoding = "ULAW"',
              "", "[fax]", f"inbox = {q(os.path.join(data, 'fax-inbox'))}"]
    for name in ("sales", "support"):
        lines += ["", "[[queue]]", f'name = "{name}"', 'strategy = "longest_idle"', "wrapup = 15", "ring_timeout = 15",
                  "max_wait = 240", 'overflow = "voicemail"', "announce_every = 30"]
    for i in range(staff):
        first, second = ("sales", "support") if i % 2 == 0 else ("support", "sales")
        lines += ["", "[[agent]]", f'name = "agent{i + 1}"', f'contact = "channel/{32 + i}"',
                  f"queues = {{ {first} = 0, {second} = 1 }}"]
    lines += ["", "[simulate]", f"calls_per_hour = {settings.calls_per_hour!r}", f"talk_mean = {settings.talk_mean!r}",
              f"patience_mean = {settings.patience_mean!r}", f"fax_share = {settings.fax_share!r}",
              f"wrong_input_share = {settings.wrong_input_share!r}", f"seed = {settings.seed}",
              'digits = { "1" = 50, "2" = 35, "9" = 5, "0" = 7, "3" = 3 }']
    return "\n".join(lines) + "\n"


def _progress(done, total, sim_s, wall_s, extra, stream):
    width = 30
    filled = int(width * done / total) if total else width
    bar = "#" * filled + "." * (width - filled)
    mins, secs = divmod(int(sim_s), 60)
    stream.write(f"\r[{bar}] {100 * done / total:5.1f}%  sim {mins:3d}:{secs:02d}  wall {wall_s:5.1f}s  {extra}   ")
    stream.flush()


def run(settings, progress=True, stream=sys.stderr):
    """Run the demo: write its configuration to DATA/centre.toml, build that centre, put simulated callers
    and agents on the emulator's far ends, run the hour and the drain; return the report dict."""
    check_settings(settings)
    data = settings.data_dir
    os.makedirs(data, exist_ok=True)
    config = os.path.join(data, "centre.toml")
    text = centre_text(settings)
    with open(config, "w") as fh:
        fh.write(text)
    board_text, centre_settings = load_text(text, file=config)
    centre = Centre(board_text, centre_settings)
    if centre.acd is not None:  # the manager's report reads the whole hour's queue log: hold it from the start
        centre.acd.qlog.reader("demo report", start=0)
    sim = Simulation(centre, hours=settings.hours, fax_document=_fax_document(data))
    engine, pstn = centre.engine, sim.pstn
    offered_total = sim.offered
    end = settings.hours * 3600.0
    limit = end + settings.drain_seconds
    wall0 = time.perf_counter()
    ticks = 0
    while True:
        sim.tick()
        ticks += 1
        now = engine.now / SAMPLE_RATE
        if now >= end and not pstn.busy or now >= limit:
            break
        if progress and ticks % max(1, int(30 * SAMPLE_RATE / centre.board.blocksize)) == 0:
            _progress(min(now, end), end, now, time.perf_counter() - wall0,
                      f"calls {len(pstn.done)}/{offered_total} active {len(pstn.active)}", stream)
    wall = time.perf_counter() - wall0
    if progress:
        _progress(end, end, engine.now / SAMPLE_RATE, wall, f"calls {len(pstn.done)}/{offered_total}", stream)
        stream.write("\n")
    centre.flush()
    report = build_report(settings, pstn, centre, wall)
    centre.close()
    report["cdrs"] = centre.writer.written
    with open(os.path.join(data, "report.json"), "w") as fh:
        json.dump(report, fh, indent=2, sort_keys=True)
    with open(os.path.join(data, "report.txt"), "w") as fh:
        fh.write(format_report(report))
    return report


def _fax_document(data):
    """Return a one-page TIFF-F the simulated fax machines send (made once), or None without fax support."""
    try:  # deliberate: the demo runs without fax support
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


def build_report(settings, pstn, centre, wall):
    """Return the manager's report: the ACD's figures when it ran, and the callers' own view."""
    engine = centre.engine
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
            "inbox": len(centre.fax_inbox.fax_log) if centre.fax_inbox is not None else 0,
        },
        "recordings": len(engine.recordings),
        "script_errors": engine.errors.total,
        "left_behind": [str(x) for x in centre.leaks()],
    }
    if centre.acd is not None:
        report["acd"] = acd_report(centre.acd, settings.hours * 3600.0, engine.now / SAMPLE_RATE)
    return report


def acd_report(acd, hour_end, sim_end):
    """Return the ACD's figures for the simulated hour, per queue and in total, from its queue log (with
    the centre's one service level definition, as the queue log records it)."""
    end = max(hour_end, sim_end)
    keep = ("offered", "answered", "abandoned", "short_abandoned", "service_level", "asa", "avg_abandon_delay",
            "aht", "occupancy", "utilisation", "calls_per_agent_hour")

    def pick(r):
        return {k: (round(r[k], 3) if isinstance(r[k], float) else r[k]) for k in keep}

    total = day_report(acd.qlog, 0.0, end)
    queues = {q: pick(day_report(acd.qlog, 0.0, end, queue=q)) for q in sorted(acd.queues)}
    return {"queues": queues, "total": pick(total), "sl_threshold": total["sl_seconds"], "sl_mode": total["sl_mode"],
            "queue_log_entries": len(acd.qlog)}


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
        over = {"offered": "offered", "answered": "answered", "exclude_short": "offered less short abandons"}
        lines.append(f"service level = answered within {acd.get('sl_threshold', 20):g} s / "
                     f"{over.get(acd.get('sl_mode'), 'offered')}")
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
    if "cdrs" in report:
        lines.append(f"CDRs written {report['cdrs']} (one per call); "
                     f"left behind at the end: {len(report['left_behind']) or 'nothing'}")
    for leftover in report["left_behind"]:
        lines.append(f"left behind at the end: {leftover}")
    return "\n".join(lines) + "\n"


def _pct(v):
    return "-" if v is None or (isinstance(v, float) and math.isnan(v)) else f"{100 * v:.0f}%"


def _sec(v):
    return "-" if v is None else f"{v:.0f}s"
