"""One SIP user agent on several transports at once: UDP, TCP and TLS sockets on asyncio sharing one
``UserAgent`` (one registrar, one set of calls), for a centre whose trunks use UDP and whose phones use TLS.

The user agent picks each request's transport from its target (TLS for a SIPS URI, else the URI's transport
parameter, else its default) and names it in Via and Contact; responses go back on the transport their
request came on. ``open_endpoints`` binds the sockets, builds the user agent with every port, and returns a
``MultiEndpoint`` with the usual face (``call``, ``hang_up``, ``run``, ``events``, ``counts``, ``ua``).
"""
import asyncio

from pycallcenter.sip.transport import Connection, Endpoint, SipStreamEndpoint
from pycallcenter.sip.udp import SipUdpEndpoint
from pycallcenter.sip.ua import UserAgent


class MultiEndpoint(Endpoint):
    """One UserAgent over several transports at once (UDP, TCP, TLS): each Send goes out on the transport the
    user agent names, each message comes in tagged with the transport it arrived on."""

    def __init__(self):
        super().__init__()
        self.parts = {}  # transport name -> the endpoint that carries it

    def attach(self, name, part):
        """Let part carry transport name for this endpoint's user agent."""
        part.ua = self.ua
        part._loop = self._loop
        part.run = self.run  # what a part receives goes through this endpoint's user agent and timer
        part.counts = self.counts
        self.parts[name] = part

    def send(self, data, addr, transport=None):
        """Send over the named transport (the user agent's default when None)."""
        self.parts[(transport or self.ua.transport).upper()].send(data, addr)

    def close(self):
        """Close every transport and stop the timer."""
        for part in self.parts.values():
            part.close()
        self.stop_timer()


async def open_endpoints(host="127.0.0.1", *, udp=5060, tcp=None, tls=None, server_ssl=None, client_ssl=None,
                         advertise=None, limits=None, **ua_options):
    """Listen for SIP on host over UDP (port udp), and TCP and TLS when their ports are given (0 picks a free
    port); returns the MultiEndpoint whose one user agent serves them all (UDP is its default transport,
    or the first one given)."""
    if advertise is None and host in ("0.0.0.0", "::", ""):
        raise ValueError(f"binding to {host or 'all addresses'} needs an address to advertise in Via and Contact")
    if tls is not None and (server_ssl is None or client_ssl is None):
        raise ValueError("TLS needs server_ssl and client_ssl contexts")
    multi = MultiEndpoint()
    multi._loop = asyncio.get_running_loop()
    parts, ports = {}, {}
    if udp is not None:
        _, part = await multi._loop.create_datagram_endpoint(lambda: SipUdpEndpoint(None), local_addr=(host, udp))
        parts["UDP"], ports["UDP"] = part, part.transport.get_extra_info("sockname")[1]
    for name, port in (("TCP", tcp), ("TLS", tls)):
        if port is None:
            continue
        part = SipStreamEndpoint(name, server_ssl, client_ssl, **(limits or {}))
        part._loop = multi._loop
        part.server = await multi._loop.create_server(lambda p=part: Connection(p), host, port,
                                                      ssl=server_ssl if name == "TLS" else None)
        parts[name], ports[name] = part, part.server.sockets[0].getsockname()[1]
    if not parts:
        raise ValueError("no transport to listen on")
    default = next(iter(parts))
    multi.ua = UserAgent((advertise or host, ports[default]), transport=default, ports=ports, **ua_options)
    for name, part in parts.items():
        multi.attach(name, part)
        if isinstance(part, SipStreamEndpoint):
            part.sweep()
    return multi
