"""The people's side of bench/bench_cti_hub.py, in its own process so the server's process is measured alone:
agent desktops and wallboards as real WebSocket (or WSS) clients that log in with a password, then note
when each frame arrives.

Usage: python bench/cti_hub_people.py SPEC_JSON, where the spec names the url, the password, the users
(name, role, source address) and the file to write the arrivals to. All users connect and log in at
once (a room of desktops after a restart), each from its own 127.0.0.x source address. When all are in,
one line goes to stdout: ``ready OK FAILED SECONDS``. Then frames are noted as (time.monotonic(), key)
until a line ``stop`` arrives on stdin; the arrivals go to the file ({name: [[t, key...], ...]}) and
``done`` is printed. Keys: see frame_key.
"""
import asyncio
import json
import re
import ssl
import sys
import time

from websockets.asyncio.client import connect


# the per-second pushes start with their event and board time (protocol.event, then the view's fields):
# reading those from the head of the text spares the client parsing a wallboard of 500 agent rows, so the
# receipt times measure the server, not this process's JSON parsing
_PUSH = re.compile(r'\{"type":"event","event":"(queue_stats|wallboard)","time":([0-9.]+)[,}]')


def text_key(text):
    """Return frame_key of a frame's JSON text (the pushes read from the head only)."""
    m = _PUSH.match(text, 0, 120)
    if m is not None:
        return [m.group(1), float(m.group(2))]
    return frame_key(json.loads(text))


def frame_key(frame):
    """Return what names one event frame across processes (None for replies and errors): the board time
    of the per-second pushes, the agent and state of a state change, else the event, agent and call."""
    if frame.get("type") != "event":
        return None
    ev = frame["event"]
    if ev in ("queue_stats", "wallboard"):
        return [ev, frame.get("time")]
    if ev == "agent_state":
        return [ev, frame.get("agent"), frame.get("state"), frame.get("reason")]
    return [ev, frame.get("agent") or frame.get("to"), frame.get("call")]


class Person:
    """One desktop or wallboard: its connection and the frames it got."""

    def __init__(self, spec, user):
        self.spec, self.name, self.role, self.source = spec, user["name"], user["role"], user["source"]
        self.arrivals = []
        self.ws = None

    async def log_in(self):
        """Connect from the person's source address and log in; return None or why it failed."""
        ctx = None
        if self.spec["url"].startswith("wss:"):
            ctx = ssl.create_default_context(cafile=self.spec["cafile"])
        try:
            self.ws = await connect(self.spec["url"], ssl=ctx, local_addr=(self.source, 0), compression=None,
                                    open_timeout=120, ping_interval=None, max_size=None, max_queue=None)
            await self.ws.send(json.dumps({"cmd": "auth", "user": self.name, "password": self.spec["password"],
                                           "id": "auth"}))
            while True:
                frame = json.loads(await self.ws.recv())
                if frame.get("id") == "auth":
                    if frame["type"] != "reply":
                        return f"{frame.get('code')}: {frame.get('message')}"
                    break
            if self.role == "supervisor":
                await self.ws.send(json.dumps({"cmd": "wallboard", "id": "wb"}))
        except Exception as exc:  # noqa: BLE001 - any failure is reported, not raised
            return f"{type(exc).__name__}: {exc}"
        return None

    async def listen(self):
        """Note every frame's arrival until the connection ends."""
        try:
            async for text in self.ws:
                t = time.monotonic()
                key = text_key(text)
                if key is not None:
                    self.arrivals.append([t, *key])
        except Exception:  # noqa: BLE001 - the bench closes the connections; nothing to report
            pass


async def main(spec):
    people = [Person(spec, u) for u in spec["users"]]
    t = time.monotonic()
    failures = await asyncio.gather(*(p.log_in() for p in people))
    bad = [f"{p.name}: {f}" for p, f in zip(people, failures) if f is not None]
    print(f"ready {len(people) - len(bad)} {len(bad)} {time.monotonic() - t:.2f}", flush=True)
    for line in bad[:5]:
        print("failed", line, file=sys.stderr, flush=True)
    listeners = [asyncio.ensure_future(p.listen()) for p in people if p.ws is not None]
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)
    arrivals = {p.name: p.arrivals for p in people}
    with open(spec["out"], "w") as fh:
        json.dump(arrivals, fh)
    for p in people:
        if p.ws is not None:
            await p.ws.close()
    for task in listeners:
        task.cancel()
    print("done", flush=True)


if __name__ == "__main__":
    asyncio.run(main(json.loads(sys.argv[1])))
