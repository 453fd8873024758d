"""CTI server: agents' and supervisors' desktops talk to the call centre over WebSocket or JSON lines.

:func:`serve` wires it up on an engine that runs an ACD binding; docs/cti.md is the message reference.
"""


def serve(binding, tokens=None, host="127.0.0.1", port=0, tcp_port=None, handsets=None, contacts=None,
          outbound_trunk=None, rate=None, burst=None, accounts=None, limits=None, ssl=None, hosts=(),
          dial=None, hot_desking=False, thresholds=None, pages=None, home=None, customers=None, desk=None,
          phones=None):
    """Start the CTI/wallboard server for an AcdBinding; return the running CtiServer (its .hub, .port).

    tokens: API token -> {"role", "name"} (for scripts); accounts: the users file's Accounts (passwords,
    and tokens of the older format); contacts: supervisor -> phone, added to the accounts' own;
    limits: config.Limits (rate and burst override its message rate); ssl: an SSLContext for HTTPS/WSS;
    dial: config.DialPolicy; hot_desking: agents may pick their phone at login; thresholds: the
    wallboard's alert thresholds; pages, home: more logged-in pages and each role's landing page
    (see CtiServer); the agent desktop (/agent) and supervisor console (/console) are always served.
    customers: pycallcenter.storage.customers.Customers (records, wrap-ups, recordings; None: no
    database); desk: backend.DeskConfig (reasons, dispositions, quality criteria); phones: a
    pycallcenter.webrtc PhoneServer whose browser phones register through /phone/offer (docs/cti.md)."""
    import dataclasses

    from pycallcenter.cti.auth import Accounts
    from pycallcenter.cti.backend import AcdBackend
    from pycallcenter.cti.config import Limits
    from pycallcenter.cti.desk import console_page, desktop_page
    from pycallcenter.cti.hub import CtiHub
    from pycallcenter.cti.server import CtiServer

    accounts = accounts or Accounts()
    if tokens:
        accounts = Accounts(accounts.users.values(), {**accounts.tokens(), **tokens})
    limits = limits or Limits()
    if rate is not None or burst is not None:
        limits = dataclasses.replace(limits, rate=limits.rate if rate is None else rate,
                                     burst=limits.burst if burst is None else burst)
    backend = AcdBackend(binding, handsets=handsets, contacts={**accounts.contacts(), **(contacts or {})},
                         outbound_trunk=outbound_trunk, dial=dial, thresholds=thresholds, customers=customers,
                         desk=desk)
    hub = CtiHub(binding.engine, backend, hot_desking=hot_desking)
    pages = {"/agent": (("agent",), desktop_page), "/console": (("supervisor",), console_page), **(pages or {})}
    return CtiServer(hub, accounts, host, port, tcp_port, limits=limits, ssl=ssl, hosts=hosts, pages=pages,
                     home=home, phones=phones).start()
