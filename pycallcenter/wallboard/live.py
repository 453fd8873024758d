"""A live emulated centre behind the CTI server and wallboard, paced in real time, to watch in a browser.

PSTN callers arrive on an E1 PRI span (Poisson), choose sales or support by their number, queue in
the ACD and are answered by simulated agents at FXS phones. Supervisors and agents may connect
with the tokens printed at start (or given in a users file).
"""
import secrets
import time

from pycallcenter.dsp import SAMPLE_RATE

TICK_SECONDS = 160 / SAMPLE_RATE


def build(agents=6, calls_per_hour=240.0, seed=1, hours=8.0):
    """Return (engine, pool, pstn, binding) of a centre with agents at FXS phones and Poisson callers."""
    import random

    from pycallcenter.acd.config import build_on_engine
    from pycallcenter.acd.engine_binding import queue_call
    from pycallcenter.apps.demo import board_config
    from pycallcenter.drivers import open_board, parse_config
    from pycallcenter.engine.engine import Engine
    from pycallcenter.sim.agents import AgentPool
    from pycallcenter.sim.pstn import Caller, PstnSimulator

    board = open_board(parse_config(board_config(agents, seed)))
    pstn = PstnSimulator(board, far_end="pstn", seed=seed)
    rng = random.Random(seed)
    t = 1.0
    while t < hours * 3600:
        t += rng.expovariate(calls_per_hour / 3600.0)
        pstn.add(Caller(f"20255{rng.randrange(10000, 99999)}", "5000", t, talk=rng.expovariate(1 / 60.0) + 5,
                        patience=rng.expovariate(1 / 90.0) + 10))
    eng = Engine(board, tone_plan="etsi", keep_log=False)
    eng.auto_trunks()
    names = [f"agent{i + 1}" for i in range(agents)]
    config = {"queue": [{"name": "sales", "strategy": "longest_idle", "wrapup": 5},
                        {"name": "support", "strategy": "longest_idle", "wrapup": 10}],
              "agent": [{"name": n, "contact": f"channel/{32 + i}",
                         "queues": {"sales": 0, "support": 1} if i % 2 else {"support": 0, "sales": 1}}
                        for i, n in enumerate(names)]}
    binding = build_on_engine(eng, config, seed=seed)

    async def script(call):
        await call.answer()
        queue = "sales" if int(call.caller[-1:] or 0) % 2 else "support"
        call.leg.call.vars.update({"account": call.caller[-4:], "choice": queue})
        await queue_call(call, queue)
        await call.hangup()

    eng.router = lambda leg: script
    phones = [board.emulator.far_ends[n] for n in names]
    pool = AgentPool(phones, names, pstn, plan="etsi")
    return eng, pool, pstn, binding


def run(port=8080, host="127.0.0.1", agents=6, calls_per_hour=240.0, seconds=None, speed=1.0, seed=1,
        users=None, out=print):
    """Serve the live centre until seconds of board time have passed (None: until interrupted); return 0."""
    from pycallcenter.cti import serve

    hours = 8.0 if seconds is None else seconds / 3600.0 + 0.01  # callers only for the time we run
    eng, pool, pstn, binding = build(agents, calls_per_hour, seed, hours)
    if users is None:
        tokens = {secrets.token_urlsafe(12): {"role": "supervisor", "name": "supervisor"}}
        tokens.update({secrets.token_urlsafe(12): {"role": "agent", "name": n} for n in binding.acd.agents})
        contacts = {}
    else:
        tokens, contacts = users
    server = serve(binding, tokens, host=host, port=port, contacts=contacts)
    out(f"wallboard: http://{host}:{server.port}/   CTI WebSocket: ws://{host}:{server.port}/cti")
    if users is None:
        for token, who in tokens.items():
            out(f"  token for {who['role']} {who['name']}: {token}")
    start = time.monotonic()
    ticks = 0
    try:
        while seconds is None or ticks * TICK_SECONDS < seconds:
            eng.tick()
            pool.tick(eng.now)
            ticks += 1
            if speed:
                ahead = ticks * TICK_SECONDS / speed - (time.monotonic() - start)
                if ahead > 0:
                    time.sleep(ahead)
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
        eng.close()
    snap = binding.acd.realtime("sales", eng.now / SAMPLE_RATE)
    out(f"stopped after {ticks * TICK_SECONDS:.0f} s of board time; sales offered {snap['offered']}, "
        f"answered {snap['answered']}")
    return 0
