"""The IO around the sans-IO SIP core: one asyncio UDP socket driving a ``UserAgent``.

Datagrams go in with the loop's clock as ``now``; ``Send`` outputs go out with ``sendto``; the one timer
is re-armed at the user agent's ``next_deadline()`` after every input. Call events are queued for the
caller (``events``, an asyncio.Queue) and counted (``counts``).
"""
import asyncio
from collections import Counter

from pycallcenter.sip.ua import Send, UserAgent


class SipUdpEndpoint(asyncio.DatagramProtocol):
    """A UDP SIP endpoint: a UAS for OPTIONS and calls, and a UAC through ``call()`` and ``hang_up()``."""

    def __init__(self, ua_factory, advertise=None):
        self._ua_factory = ua_factory
        self._advertise = advertise
        self.ua = None
        self.transport = None
        self.events = asyncio.Queue()
        self.counts = Counter()
        self._timer = None
        self._loop = None

    # asyncio protocol
    def connection_made(self, transport):
        self.transport = transport
        self._loop = asyncio.get_running_loop()
        host, port = transport.get_extra_info("sockname")[:2]
        # a wildcard bind cannot go into Via, Contact or SDP: the advertised address does
        self.ua = self._ua_factory((self._advertise or host, port))

    def datagram_received(self, data, addr):
        self._run(self.ua.receive(data, addr[:2], self._loop.time()))

    def error_received(self, exc):
        self.counts["socket errors"] += 1

    def connection_lost(self, exc):
        if self._timer is not None:
            self._timer.cancel()

    # the caller's face
    @property
    def local_addr(self):
        """Return the (host, port) the socket is bound to."""
        return self.ua.local_addr

    def call(self, target, addr=None):
        """Place a call to target (a SIP URI text); returns its Call-ID."""
        call_id, outputs = self.ua.invite(target, self._loop.time(), addr)
        self._run(outputs)
        return call_id

    def hang_up(self, call_id):
        """End a call: BYE once confirmed, CANCEL while it is still ringing."""
        self._run(self.ua.hang_up(call_id, self._loop.time()))

    def close(self):
        """Close the socket and stop the timer."""
        if self.transport is not None:
            self.transport.close()

    def _run(self, outputs):
        for item in outputs:
            if isinstance(item, Send):
                self.transport.sendto(item.data, item.addr)
            else:
                self.counts[type(item).__name__] += 1
                self.events.put_nowait(item)
        self._arm()

    def _arm(self):
        deadline = self.ua.next_deadline()
        if self._timer is not None:
            if deadline is not None and self._timer.when() == deadline:
                return
            self._timer.cancel()
            self._timer = None
        if deadline is not None:
            self._timer = self._loop.call_at(deadline, self._fire)

    def _fire(self):
        self._timer = None
        self._run(self.ua.handle_timer(self._loop.time()))


async def open_endpoint(host="127.0.0.1", port=5060, advertise=None, **ua_options):
    """Bind a UDP SIP endpoint on host:port (0 picks a free port) that names itself advertise (default: the
    bound address; required when host is a wildcard such as 0.0.0.0); returns the SipUdpEndpoint."""
    if advertise is None and host in ("0.0.0.0", "::", ""):
        raise ValueError(f"binding to {host or 'all addresses'} needs an address to advertise in Via, Contact and SDP")
    loop = asyncio.get_running_loop()
    _, protocol = await loop.create_datagram_endpoint(
        lambda: SipUdpEndpoint(lambda local: UserAgent(local, **ua_options), advertise), local_addr=(host, port))
    return protocol
