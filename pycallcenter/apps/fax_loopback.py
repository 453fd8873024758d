"""One fax call through the emulated board: our FaxSession on an engine leg, answered by a script, against a
plain spandsp terminal on the far end of an emulated PSTN line (``pycallcenter.fax.loopback``), G.711 in
between. ``pycallcenter fax loopback`` runs it; so do the fax tests and benchmarks.
"""
from pycallcenter.drivers import open_board, parse_config
from pycallcenter.engine.engine import Engine
from pycallcenter.fax.ivr import receive_fax, send_fax
from pycallcenter.fax.loopback import BOARD, FarEnd, LoopbackResult, SpandspTerminal
from pycallcenter.ivr import IvrCall


def run_loopback(document, *, direction="to-spandsp", received, ecm=True, modem=None, law="ulaw", seed=1,
                 noise_dbm0=None, level_db=None, hangup_after=None, max_seconds=600.0, engine_hook=None):
    """Run one fax call through the emulator (our sender -> spandsp receiver for 'to-spandsp', the other
    way for 'from-spandsp'); return a LoopbackResult. Impairments apply to both directions of the line."""
    if direction not in ("to-spandsp", "from-spandsp"):
        raise ValueError("direction is 'to-spandsp' or 'from-spandsp'")
    modems = [modem] if modem else None
    board = open_board(parse_config(BOARD.format(law=law, seed=seed)))
    eng = Engine(board)
    eng.call_factory = IvrCall  # the answering script runs on the script API, whoever imported what before
    eng.auto_trunks()
    line = board.emulator.far_ends["pstn"]
    channel = line.channel.number
    if noise_dbm0 is not None:
        board.emulator.set_line_noise(channel, noise_dbm0)
    if level_db:
        board.emulator.set_line_level(channel, level_db)
    outcome = {}
    if direction == "to-spandsp":
        # The far machine dialled in and pressed start to receive: it answers T.30 (called terminal).
        far = SpandspTerminal(calling=False, receive=received, ecm=ecm, modems=modems)
    else:
        far = SpandspTerminal(calling=True, send=document, ecm=ecm, modems=modems)

    async def script(call):
        await call.answer()
        if direction == "to-spandsp":
            outcome["r"] = await send_fax(call, document, calling=True, ecm=ecm, modems=modems, ident="PYCALLCENTER")
        else:
            outcome["r"] = await receive_fax(call, received, calling=False, ecm=ecm, modems=modems,
                                             ident="PYCALLCENTER")
        await call.hangup()

    eng.router = lambda leg: script
    if engine_hook is not None:
        engine_hook(eng)
    line.call(number="5551234")
    drive = FarEnd(line, far, law=law, seed=seed, noise_dbm0=noise_dbm0, level_db=level_db)
    ticks = int(max_seconds * 50)
    t = 0
    while t < ticks and "r" not in outcome:
        eng.tick()
        t += 1
        if hangup_after is not None and t >= hangup_after * 50:
            line.hangup()
            hangup_after = None
            drive.terminal = None
        drive.step()
    eng.run(ticks=10)
    pages, status = far.stats()
    far.close()
    eng.close()
    return LoopbackResult(outcome.get("r"), pages, status, t / 50.0)
