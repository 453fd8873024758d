"""An emulated centre with the CTI server on loopback: PRI callers queue for two agents at FXS phones
(answered through CTI, the emulated handsets standing in for softphones) and a supervisor phone
(the third port, channel 34)."""
from pycallcenter.acd.config import build_on_engine
from pycallcenter.acd.engine_binding import queue_call
from pycallcenter.cti import serve
from pycallcenter.cti.auth import Accounts, User, hash_password
from pycallcenter.cti.client import CtiClient
from pycallcenter.apps.demo import board_config
from pycallcenter.drivers import open_board, parse_config
from pycallcenter.engine.engine import Engine
from pycallcenter.sim.pstn import Caller, PstnSimulator

ACD = {
    "queue": [{"name": "sales", "strategy": "linear", "wrapup": None, "ring_timeout": 30},
              {"name": "support", "strategy": "linear", "wrapup": 0, "ring_timeout": 30}],
    "agent": [{"name": "agent1", "contact": "channel/32", "queues": {"sales": 0, "support": 0}},
              {"name": "agent2", "contact": "channel/33", "queues": {"sales": 0, "support": 0}, "ready": False}],
}

TOKENS = {"tok-a1": {"role": "agent", "name": "agent1"}, "tok-a2": {"role": "agent", "name": "agent2"},
          "tok-boss": {"role": "supervisor", "name": "boss"}}
PASSWORDS = {"boss": ("supervisor", "boss-password"), "agent1": ("agent", "agent1-password")}


def accounts():
    """Return the rig's accounts: PASSWORDS hashed at scrypt's lowest cost we accept (tests only)."""
    return Accounts([User(n, role, hash_password(pw, n=1024)) for n, (role, pw) in PASSWORDS.items()])


class Centre:
    """The running centre: engine, PSTN callers, ACD binding, CTI server; tick() advances it."""

    def __init__(self, config=ACD, rate=200.0, burst=400, tcp=True, **serve_args):
        self.board = open_board(parse_config(board_config(3, seed=1)))  # PRI span + agent1..agent3 at FXS phones
        self.pstn = PstnSimulator(self.board, far_end="pstn")
        self.eng = Engine(self.board, tone_plan="etsi")
        self.eng.auto_trunks()
        self.binding = build_on_engine(self.eng, config)
        far = self.board.emulator.far_ends
        self.phones = {"agent1": far["agent1"], "agent2": far["agent2"], "boss": far["agent3"]}
        serve_args.setdefault("accounts", accounts())
        self.server = serve(self.binding, TOKENS, tcp_port=0 if tcp else None, handsets=self.phones,
                            contacts={"boss": "channel/34"}, rate=rate, burst=burst, **serve_args)
        self.hub = self.server.hub
        self.clients = []

        async def script(call):
            await call.answer()
            call.leg.call.vars.update({"account": "4711", "menu": "2"})
            await queue_call(call, "sales")
            await call.hangup()

        self.eng.router = lambda leg: script

    def caller(self, number, arrival, talk=600.0):
        """Schedule a PSTN caller (seconds of board time) who stays on the line a long time."""
        self.pstn.add(Caller(number, "5000", arrival=arrival, talk=talk, patience=600.0))

    def client(self, token=None):
        """Return a connected (and, with a token, authenticated) CtiClient."""
        c = CtiClient("127.0.0.1", self.server.port)
        self.clients.append(c)
        if token:
            r = self.request(c, {"cmd": "auth", "token": token})
            assert r["type"] == "reply", r
        return c

    def tick(self, n=1):
        for _ in range(n):
            self.eng.tick()

    def run(self, seconds):
        self.tick(int(seconds * 50))

    def pump(self, clients, until, max_ticks=3000):
        """Tick (giving the server thread a moment each tick) until until(frames) holds; return frames by client."""
        got = {id(c): [] for c in clients}
        for _ in range(max_ticks):
            self.eng.tick()
            for c in clients:
                got[id(c)] += c.receive()
            if until(got):
                return got
        raise AssertionError(f"condition not met; frames: {got}")

    def request(self, client, msg, others=()):
        """Send a command, tick until its reply or error comes; return it (and keep other frames)."""
        msg = dict(msg)
        msg.setdefault("id", f"r{id(msg)}")
        client.send(msg)
        for _ in range(2000):  # let the server thread queue it (or answer a bad one) before ticking on
            if self.hub.inbox.qsize():
                break
            early = client.receive(0.001)
            if early:
                client.pending[:0] = early
                break
        found = []

        def done(got):
            found[:] = [f for f in got[id(client)] if f.get("id") == msg["id"] and f["type"] in ("reply", "error")]
            return bool(found)

        got = self.pump([client], done)
        client.pending = [f for f in got[id(client)] if f not in found] + client.pending
        return found[0]

    def hang_up_everyone(self, seconds=5.0):
        """End the test's calls as people would: every handset goes on hook (an agent's hang-up ends the
        caller's conversation, and the caller's script then clears the PSTN call); tick until no leg is
        left or `seconds` have passed."""
        for phone in self.phones.values():
            if phone.line.station_off_hook:
                phone.on_hook()
        self.eng.run(seconds=seconds, until=lambda: not self.eng.legs)

    def close(self):
        self.hang_up_everyone()
        for c in self.clients:
            c.close()
        self.server.stop()
        self.eng.close()
