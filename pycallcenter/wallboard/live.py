"""A live emulated centre behind the CTI server and wallboard, paced in real time, to watch in a browser.

PSTN callers arrive on an E1 PRI span (Poisson), choose sales or support by their number, queue in
the ACD and are answered by simulated agents at FXS phones. Supervisors and agents may connect
with the passwords printed at start (or from a users file).
"""
import json
import os
import secrets
import tempfile
import time

from pycallcenter.apps.centre import Centre
from pycallcenter.apps.demo import board_config
from pycallcenter.apps.settings import load_text
from pycallcenter.apps.simulation import Simulation
from pycallcenter.dsp import SAMPLE_RATE
from pycallcenter.errors import ConfigError
from pycallcenter.storage.customers import Customers

TICK_SECONDS = 160 / SAMPLE_RATE


def config_text(agents=6, calls_per_hour=240.0, seed=1, data="data", people=()):
    """Return the live centre's configuration: the demo's board, callers with an odd last digit routed to
    sales and the others to support, agents on both queues, simulated callers who press nothing; the
    agents named in people are left to people at the agent desktop (logged in, not ready, not simulated)."""
    lines = [board_config(agents, seed), "[centre]", f"data = {json.dumps(data)}", 'tone_plan = "etsi"',
             "station_features = false",
             "", "[[route]]", 'caller = "_.[13579]"', 'queue = "sales"',
             "", "[[route]]", 'queue = "support"',
             "", "[[queue]]", 'name = "sales"', 'strategy = "longest_idle"', "wrapup = 5",
             "", "[[queue]]", 'name = "support"', 'strategy = "longest_idle"', "wrapup = 10"]
    for i in range(agents):
        queues = "{ sales = 0, support = 1 }" if i % 2 else "{ support = 0, sales = 1 }"
        lines += ["", "[[agent]]", f'name = "agent{i + 1}"', f'contact = "channel/{32 + i}"', f"queues = {queues}"]
        if f"agent{i + 1}" in people:
            lines.append("ready = false")
    lines += ["", "[simulate]", f"calls_per_hour = {float(calls_per_hour)!r}", "talk_mean = 60.0",
              "patience_mean = 90.0", "wrong_input_share = 0.0", "digits = {}", f"seed = {seed}"]
    if people:
        lines.append(f"agents = {json.dumps([f'agent{i + 1}' for i in range(agents) if f'agent{i + 1}' not in people])}")
    return "\n".join(lines) + "\n"


def build(agents=6, calls_per_hour=240.0, seed=1, hours=8.0, data=None, people=()):
    """Return (centre, simulation) of the live centre: agents at FXS phones and Poisson callers, built by
    the same composition root as `run` (its data in `data`, default a new temporary folder); people: the
    agents left to people at the desktop."""
    unknown = sorted(set(people) - {f"agent{i + 1}" for i in range(agents)})
    if unknown:
        raise ConfigError(f"--people: no agent {unknown[0]!r} (the agents are agent1..agent{agents})")

    data = data or tempfile.mkdtemp(prefix="pycc-wallboard-")
    board_text, settings = load_text(config_text(agents, calls_per_hour, seed, data, people),
                                     file=os.path.join(data, "centre.toml"))
    centre = Centre(board_text, settings)
    return centre, Simulation(centre, hours=hours)


def run(port=8080, host="127.0.0.1", agents=6, calls_per_hour=240.0, seconds=None, speed=1.0, seed=1,
        users=None, out=print, people=()):
    """Serve the live centre until seconds of board time have passed (None: until interrupted); return 0."""
    # deliberate: the CLI imports this module to list the command; the CTI web server loads when it runs
    from pycallcenter.cti import serve

    hours = 8.0 if seconds is None else seconds / 3600.0 + 0.01  # callers only for the time we run
    centre, sim = build(agents, calls_per_hour, seed, hours, people=people)
    eng, binding = centre.engine, centre.binding
    passwords = {}
    if users is None:  # a password per person, printed once: this is a demo on the operator's screen
        from pycallcenter.cti.auth import Accounts, User, hash_password

        passwords = {"supervisor": ("supervisor", secrets.token_urlsafe(9))}
        passwords.update({n: ("agent", secrets.token_urlsafe(9)) for n in binding.acd.agents})
        users = Accounts([User(n, role, hash_password(pw)) for n, (role, pw) in passwords.items()])
    from pycallcenter.cti.config import desk_config

    server = serve(binding, host=host, port=port, accounts=users, desk=desk_config(centre.settings),
                   home={"agent": "/agent", "supervisor": "/console"}, handsets=centre.agent_handsets(),
                   customers=Customers(centre.store, centre.centre_config.callbacks(), centre.writer.run))
    url = f"{server.scheme}://{host}:{server.port}"
    out(f"wallboard: {url}/wallboard   agent desktop: {url}/agent   supervisor console: {url}/console   "
        f"CTI WebSocket: ws://{host}:{server.port}/ws")
    for name, (role, pw) in passwords.items():
        out(f"  password for {role} {name}: {pw}")
    start = time.monotonic()
    ticks = 0
    try:
        while seconds is None or ticks * TICK_SECONDS < seconds:
            sim.tick()
            ticks += 1
            if speed:
                ahead = ticks * TICK_SECONDS / speed - (time.monotonic() - start)
                if ahead > 0:
                    time.sleep(ahead)
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
        sim.close()
    snap = binding.acd.realtime("sales", eng.now / SAMPLE_RATE)
    out(f"stopped after {ticks * TICK_SECONDS:.0f} s of board time; sales offered {snap['offered']}, "
        f"answered {snap['answered']}")
    return 0
