"""CTI server: agents' and supervisors' desktops talk to the call centre over WebSocket or JSON lines.

:func:`serve` wires it up on an engine that runs an ACD binding; docs/cti.md is the message reference.
"""


def serve(binding, tokens, host="127.0.0.1", port=0, tcp_port=None, handsets=None, contacts=None,
          outbound_trunk=None, rate=20.0, burst=40):
    """Start the CTI/wallboard server for an AcdBinding; return the running CtiServer (its .hub, .port)."""
    from pycallcenter.cti.backend import AcdBackend
    from pycallcenter.cti.hub import CtiHub
    from pycallcenter.cti.server import CtiServer

    backend = AcdBackend(binding, handsets=handsets, contacts=contacts, outbound_trunk=outbound_trunk)
    hub = CtiHub(binding.engine, backend, tokens)
    return CtiServer(hub, host, port, tcp_port, rate=rate, burst=burst).start()
