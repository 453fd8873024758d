"""The aiortc side of browser phones: one asyncio thread, one peer connection per registered phone.

A logged-in agent's page registers its phone by POSTing an SDP offer (audio both ways plus a data channel
named "phone") to the CTI server, which calls :meth:`PhoneServer.offer` with the session's user name; the
answer goes back in the response (every candidate gathered first: no trickle ICE). The peer connection
then stays up while the page is open, and carries every call of that phone: the engine rings it with a
data channel message and the page answers, hangs up, dials and sends digits on the same channel.

Threads: aiortc runs on this module's loop thread. The engine thread learns what happened through
``events`` (a queue it drains every tick: ``(kind, name, pid, value)``; "online" carries the phone's
audio ``Line``, on which the engine thread sets the row); it tells the page through
:meth:`PhoneServer.send`, which hops onto the loop thread. A phone registered again (a reloaded page)
replaces the older connection; ``pid`` tells its events apart.
"""
import asyncio
import itertools
import json
import queue
import threading

from aiortc import RTCConfiguration, RTCIceServer, RTCPeerConnection, RTCRtpSender, RTCSessionDescription

from pycallcenter.errors import RemoteProtocolError
from pycallcenter.webrtc.audio import Line, RowTrack, pump

CODECS = {"opus": "audio/opus", "pcmu": "audio/PCMU", "pcma": "audio/PCMA"}
MAX_OFFER = 64 * 1024  # bytes of SDP: a browser's offer is a few kB
MAX_MESSAGE = 512  # bytes of one data channel message from a page
DIGITS = set("0123456789*#ABCD")
COMMANDS = ("answer", "hangup", "dial", "dtmf")
RATE, BURST = 10.0, 20  # commands per second a page may send (a key press is one): more are dropped


class Phone:
    """One registered browser phone (state on the loop thread, except ``line`` which the engine sets)."""

    def __init__(self, name, pid, pc):
        self.name, self.pid, self.pc = name, pid, pc
        self.line = Line()
        self.channel = None
        self.tasks = []
        self.gone = False
        self.codec = None  # the audio codec agreed ("pcmu", "pcma" or "opus")
        self.tokens, self.refilled = float(BURST), None  # the page's command budget (token bucket)
        self.dropped = 0  # commands dropped: malformed or over the budget


class PhoneServer:
    """Peer connections of browser phones on their own asyncio thread; see the module doc."""

    def __init__(self, ice_servers=(), codecs=("pcmu", "pcma", "opus")):
        self.ice = [RTCIceServer(urls=u) for u in ice_servers]  # none by default: host candidates, nothing phones home
        self.codecs = [c for c in codecs if c in CODECS]
        self.events = queue.SimpleQueue()
        self.phones = {}  # name -> Phone (the loop thread's)
        self._pids = itertools.count(1)
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._main, name="webrtc", daemon=True)
        self._thread.start()

    def _main(self):
        asyncio.set_event_loop(self.loop)
        self.loop.run_forever()

    # --- from other threads -----------------------------------------------------------------------
    def offer(self, name, sdp):
        """Register `name`'s phone from its SDP offer; return a concurrent Future of the SDP answer."""
        return asyncio.run_coroutine_threadsafe(self._offer(name, sdp), self.loop)

    def send(self, name, message):
        """Send a JSON message to the page of `name`'s phone (from any thread; dropped if it is not online)."""
        self.loop.call_soon_threadsafe(self._send, name, json.dumps(message))

    def unregister(self, name):
        """Close `name`'s phone (from any thread): its page logged out, or it must ring no more."""
        asyncio.run_coroutine_threadsafe(self._drop(name), self.loop)

    def close(self):
        """Close every peer connection and stop the loop thread."""
        if not self._thread.is_alive():
            return
        fut = asyncio.run_coroutine_threadsafe(self._close_all(), self.loop)
        try:
            fut.result(10)
        except Exception:  # noqa: BLE001 - closing anyway; a peer that will not close is dropped with the loop
            pass
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(10)
        self.loop.close()

    # --- on the loop thread ---------------------------------------------------------------------------
    async def _offer(self, name, sdp):
        if not isinstance(sdp, str) or len(sdp) > MAX_OFFER or not sdp.startswith("v=0"):
            raise RemoteProtocolError("phone offer: not an SDP offer")
        pc = RTCPeerConnection(RTCConfiguration(iceServers=self.ice))
        phone = Phone(name, next(self._pids), pc)
        self._wire(phone)  # before the offer is applied: it fires "track"
        # The transceiver exists before the offer is applied, so the offer's audio takes it with our codec order
        audio = pc.addTransceiver(RowTrack(phone.line), direction="sendrecv")
        caps = RTCRtpSender.getCapabilities("audio").codecs
        audio.setCodecPreferences([c for want in self.codecs for c in caps
                                   if c.mimeType.lower() == CODECS[want].lower()])
        try:
            await pc.setRemoteDescription(RTCSessionDescription(sdp=sdp, type="offer"))
            if audio.mid is None:
                raise RemoteProtocolError("phone offer: no audio")
            await pc.setLocalDescription(await pc.createAnswer())
        except RemoteProtocolError:
            await pc.close()
            raise
        except Exception as exc:  # aiortc raises ValueError and others on offers it cannot use
            await pc.close()
            why = (str(exc).splitlines() or [type(exc).__name__])[0][:200]
            raise RemoteProtocolError(f"phone offer: {why}") from None
        old = self.phones.get(name)
        self.phones[name] = phone
        if old is not None:
            await self._end(old)
        phone.codec = _agreed(pc.localDescription.sdp)
        self.events.put(("online", name, phone.pid, phone.line))
        return pc.localDescription.sdp

    def _wire(self, phone):
        pc = phone.pc

        @pc.on("track")
        def on_track(track):
            if track.kind == "audio":
                phone.tasks.append(asyncio.ensure_future(pump(track, phone.line)))

        @pc.on("datachannel")
        def on_channel(channel):
            phone.channel = channel

            @channel.on("message")
            def on_message(message):
                self._command(phone, message)

            @channel.on("close")
            def on_close():
                asyncio.ensure_future(self._end(phone))

        @pc.on("connectionstatechange")
        async def on_state():
            if pc.connectionState in ("failed", "closed"):
                await self._end(phone)

    def _command(self, phone, message):
        """Turn a page's message into an engine event; anything malformed is dropped (one bad page, one phone)."""
        if phone.gone:
            return
        now = asyncio.get_running_loop().time()
        if phone.refilled is not None:
            phone.tokens = min(float(BURST), phone.tokens + (now - phone.refilled) * RATE)
        phone.refilled = now
        if phone.tokens < 1.0 or not isinstance(message, str) or len(message) > MAX_MESSAGE:
            phone.dropped += 1  # a page flooding its channel cannot grow the engine's event queue
            return
        phone.tokens -= 1.0
        try:
            msg = json.loads(message)
            cmd = msg["cmd"]
        except (ValueError, KeyError, TypeError):
            phone.dropped += 1
            return
        if cmd not in COMMANDS:
            phone.dropped += 1
            return
        value = msg.get("number") if cmd == "dial" else msg.get("digit") if cmd == "dtmf" else None
        if cmd == "dtmf":
            if isinstance(value, str) and value in DIGITS:
                phone.line.digit(value)
            else:
                phone.dropped += 1
            return
        if cmd == "dial" and not (isinstance(value, str) and 0 < len(value) <= 64):
            phone.dropped += 1
            return
        self.events.put((cmd, phone.name, phone.pid, value))

    def _send(self, name, text):
        phone = self.phones.get(name)
        if phone is not None and phone.channel is not None and phone.channel.readyState == "open":
            phone.channel.send(text)

    async def _drop(self, name):
        phone = self.phones.get(name)
        if phone is not None:
            await self._end(phone)

    async def _end(self, phone):
        if phone.gone:
            return
        phone.gone = True
        if self.phones.get(phone.name) is phone:
            del self.phones[phone.name]
        self.events.put(("gone", phone.name, phone.pid, None))
        for task in phone.tasks:
            task.cancel()
        await phone.pc.close()

    async def _close_all(self):
        for phone in list(self.phones.values()):
            await self._end(phone)
        # aiortc leaves ICE consent and monitor tasks behind a closed connection for a moment: end them here
        rest = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
        for task in rest:
            task.cancel()
        await asyncio.gather(*rest, return_exceptions=True)


def _agreed(sdp):
    """Return the codec our answer puts first on its audio line (lower case), or None."""
    first = None
    for line in sdp.splitlines():
        if line.startswith("m=audio "):
            parts = line.split()
            first = parts[3] if len(parts) > 3 else None
        elif first is not None and line.startswith(f"a=rtpmap:{first} "):
            return line.split(" ", 1)[1].split("/")[0].lower()
    return None
