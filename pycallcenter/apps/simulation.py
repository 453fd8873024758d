"""Simulated people on a centre's emulated board: PSTN callers on a network cable and agents at the
emulated phones, from the configuration's ``[simulate]`` table. Used by `run --simulate` and the demo, so
an operator can watch their own IVR and queues under load before going live."""
import random

from pycallcenter.drivers.emulator.pstn import Phone
from pycallcenter.dsp import SAMPLE_RATE
from pycallcenter.errors import ConfigError
from pycallcenter.sim.agents import AgentPool
from pycallcenter.sim.pstn import Caller, PstnSimulator
from pycallcenter.sim.ss7 import Networks, exchange_for, linkset_far_ends


def make_callers(section, hours, start=2.0):
    """Return the simulated Callers of `hours` (Poisson arrivals at section.calls_per_hour, seeded)."""
    rng = random.Random(section.seed)
    keys = list(section.digits)
    weights = [section.digits[k] for k in keys]
    wrong = [k for k in "0123456789" if k not in keys] or ["4"]
    callers = []
    t = start  # let the D-channel come up first
    if section.calls_per_hour <= 0:
        return callers
    while True:
        t += rng.expovariate(section.calls_per_hour / 3600.0)
        if t >= hours * 3600.0 + start:
            break
        number = f"20255{rng.randrange(10000, 99999)}"
        if rng.random() < section.fax_share:
            callers.append(Caller(number, section.called, t, kind="fax", patience=60.0, talk=0.0))
            continue
        choice = rng.choices(keys, weights=weights)[0] if keys else ""
        digits = choice
        if rng.random() < section.wrong_input_share:
            digits = rng.choice(wrong) + "," + choice  # a wrong key first, then the right one after the retry
        callers.append(Caller(number, section.called, t, digits=digits, digit_delay=rng.uniform(3.0, 9.0),
                              patience=rng.expovariate(1.0 / section.patience_mean) + 15.0,
                              talk=rng.expovariate(1.0 / section.talk_mean) + 10.0))
    return callers


class Simulation:
    """Simulated callers and agents on a Centre built on the emulator; ``tick()`` runs one tick of both."""

    def __init__(self, centre, hours=1.0, fax_document=None, section=None):
        self.centre = centre
        s = section or centre.settings.simulate
        board = centre.board
        emulator = getattr(board, "emulator", None)
        if emulator is None:
            raise ConfigError("--simulate needs the emulator board (simulated people sit on its far ends)",
                              path=centre.file)
        if s.far_end not in emulator.far_ends:
            raise ConfigError(f"simulate.far_end: simulated callers (run --simulate, ivr try) come from the "
                              f"emulator's network cable named by [simulate] far_end, and this board has no cable "
                              f"named {s.far_end!r} (have {', '.join(sorted(emulator.far_ends)) or 'none'}); "
                              f"a centre reached only over SIP is tried with a SIP phone (docs/sip.md)",
                              path=centre.file)
        self.exchange, self.pstns = None, []
        self.pstn = self._ss7(centre, board, s)
        if self.pstn is None:
            self.pstn = PstnSimulator(board, far_end=s.far_end, seed=s.seed, overlap=s.overlap)
        self.pstns = self.pstns or [self.pstn]
        for pstn in self.pstns:
            pstn.answer_unknown(talk_mean=s.talk_mean)  # the people our campaigns and callbacks call
        for caller in make_callers(s, hours):
            if caller.kind == "fax":
                caller.fax_document = fax_document
            self.pstn.add(caller)
        self.offered = len(self.pstn.pending)
        phones = [end for end in emulator.far_ends.values() if isinstance(end, Phone)]
        contacts = {a.name: a.contact for a in centre.settings.agent}
        if s.agents is not None:
            wanted = {int(contacts[n].split("/")[1]) for n in s.agents if contacts[n].startswith("channel/")}
            phones = [p for p in phones if p.channel.number in wanted]
        people = {int(contacts[n][8:]) for n in s.people if (contacts[n] or "").startswith("channel/")}
        phones = [p for p in phones if p.channel.number not in people]
        self._people_not_ready(s.people)
        self.pool = None
        if phones:
            plan = centre.engine.tone_plan
            network = self.pstn if len(self.pstns) == 1 else Networks(self.pstns)
            self.pool = AgentPool(phones, [p.name for p in phones], network, plan=plan)
        self.blocksize = board.blocksize

    def _ss7(self, centre, board, s):
        """When the callers' cable is on a span of an [[ss7.linkset]], build the network exchange on every
        span of the link set (one simulated network per span, callers on far_end's); return far_end's, or None."""
        span = board.emulator.far_ends[s.far_end].span.number
        for i, linkset in enumerate(centre.settings.ss7.linkset):
            if span not in [link.span for link in linkset.links]:
                continue
            names = linkset_far_ends(board, linkset)
            if names is None:
                raise ConfigError(f"simulate.far_end: the simulated SS7 exchange needs a network cable on every span "
                                  f"of link set {linkset.name!r}", path=centre.file)
            self.exchange = exchange_for(board, linkset, names)
            self.pstns = [PstnSimulator(board, far_end=name, seed=s.seed + k,
                                        iface=self.exchange.interface(link.span))
                          for k, (name, link) in enumerate(zip(names, linkset.links))]
            return self.pstns[names.index(s.far_end)]
        return None

    def _people_not_ready(self, people):
        """Pause the agents left to people, so no call rings them before they press Ready at the desktop."""
        acd = self.centre.acd
        for name in people:
            agent = acd.agents.get(name) if acd is not None else None
            if agent is not None and agent.logged_in and not agent.paused:
                self.centre.binding.apply(acd.pause(name, self.centre.engine.now / SAMPLE_RATE))

    @property
    def busy(self):
        """Return True while callers are waiting to call or in a call."""
        return any(p.busy for p in self.pstns)

    def tick(self):
        """Run one tick of the centre and of the simulated people."""
        self.centre.tick()
        if self.pool is not None:
            self.pool.tick(self.centre.engine.now, self.blocksize)

    def close(self, grace=30.0, publish=False):
        """End the simulation like people leaving: every call is hung up, the simulated agents put their
        phones down when they hear the line clear (bounded by grace seconds), then the centre closes."""
        eng = self.centre.engine
        for pstn in self.pstns:
            pstn.pending.clear()  # nobody new calls in
        for leg in list(eng.legs.values()):
            leg.hangup()
        limit = eng.now + int(grace * SAMPLE_RATE)
        while eng.now < limit and (eng.calls or self._phones_up()):
            self.tick()
        if self.pool is not None:
            for agent in self.pool.agents:
                if agent.state != "idle":
                    self.pool.hang_up(agent, self.seconds())
            self.centre.engine.run(seconds=1.0)  # the ports see the phones go on hook
        self.centre.close(publish=publish)

    def _phones_up(self):
        return self.pool is not None and any(a.state == "talking" for a in self.pool.agents)

    def seconds(self):
        """Return the board time in seconds."""
        return self.centre.engine.now / SAMPLE_RATE
