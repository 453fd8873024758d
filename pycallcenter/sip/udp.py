"""The IO around the sans-IO SIP core for UDP: one asyncio datagram socket driving a ``UserAgent``.

Datagrams go in with the loop's clock as ``now``; ``Send`` outputs go out with ``sendto``; the one timer
is re-armed at the user agent's ``next_deadline()`` after every input (``transport.Endpoint``). Call
events are queued for the caller (``events``, an asyncio.Queue) and counted (``counts``).
"""
import asyncio

from pycallcenter.sip.transport import Endpoint
from pycallcenter.sip.ua import UserAgent


class SipUdpEndpoint(Endpoint, asyncio.DatagramProtocol):
    """A UDP SIP endpoint: a UAS for OPTIONS and calls, and a UAC through ``call()`` and ``hang_up()``."""

    def __init__(self, ua_factory, advertise=None):
        """ua_factory(local address) builds the user agent once the socket is bound; None when the user agent
        is given later (a MultiEndpoint shares one between transports)."""
        super().__init__()
        self._ua_factory = ua_factory
        self._advertise = advertise
        self.transport = None

    # asyncio protocol
    def connection_made(self, transport):
        self.transport = transport
        self._loop = asyncio.get_running_loop()
        host, port = transport.get_extra_info("sockname")[:2]
        # a wildcard bind cannot go into Via, Contact or SDP: the advertised address does
        if self._ua_factory is not None:
            self.ua = self._ua_factory((self._advertise or host, port))

    def datagram_received(self, data, addr):
        self.run(self.ua.receive(data, addr[:2], self._loop.time(), "UDP"))

    def error_received(self, exc):
        self.counts["socket errors"] += 1

    def connection_lost(self, exc):
        self.stop_timer()

    def send(self, data, addr, transport=None):
        """Send one datagram to addr."""
        self.transport.sendto(data, addr)

    def close(self):
        """Close the socket and stop the timer."""
        if self.transport is not None:
            self.transport.close()


async def open_endpoint(host="127.0.0.1", port=5060, advertise=None, **ua_options):
    """Bind a UDP SIP endpoint on host:port (0 picks a free port) that names itself advertise (default: the
    bound address; required when host is a wildcard such as 0.0.0.0); returns the SipUdpEndpoint."""
    if advertise is None and host in ("0.0.0.0", "::", ""):
        raise ValueError(f"binding to {host or 'all addresses'} needs an address to advertise in Via, Contact and SDP")
    loop = asyncio.get_running_loop()
    _, protocol = await loop.create_datagram_endpoint(
        lambda: SipUdpEndpoint(lambda local: UserAgent(local, **ua_options), advertise), local_addr=(host, port))
    return protocol
