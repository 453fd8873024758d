"""Q.931 channel maintenance on the global call reference: RESTART (Q.931 5.5) of channels or of the whole
interface, and NI-2's SERVICE messages taking B-channels in and out of service.

These act on the interface's channels rather than on one call, so they sit apart from the call machine in
``call.py``; ``Interface.restart``/``service`` and its message path call them with the interface. T316, the
RESTART's timer, is in ``isdn/timers.py``.
"""
from pycallcenter.errors import LocalProtocolError
from pycallcenter.isdn import causes, ie, q931
from pycallcenter.isdn.events import (ProtocolNotice, RestartAcknowledged, RestartReceived, ServiceAcknowledged,
                                      ServiceReceived)


def restart(iface, now, channels=None):
    """Restart channels (None: the whole interface): clear their calls locally, send RESTART under T316; returns
    None (the events wait in the interface)."""
    iface._now = now
    iface._need_link()
    for call in list(iface.calls.values()):
        if channels is None or call.channel in channels:
            iface._end(call, causes.TEMPORARY_FAILURE)
    # Q.931 5.5.1: no call is placed or accepted on a channel being restarted until RESTART ACKNOWLEDGE;
    # out of service meanwhile, they are refused as Q.931 refuses a channel not available (44, or 34 for a
    # preferred channel with no other free), and stay so if T316 runs out its repeats (until a maintenance
    # action: a later RESTART that is acknowledged)
    held = set(iface.variant.channels if channels is None else channels) - iface.out_of_service
    iface.restart_blocked |= held
    iface.out_of_service |= held
    iface.restart_pending = (channels, 0)
    iface.deadlines.start(None, "T316", now + iface.timers.T316)
    send_restart(iface, channels)


def service(iface, now, channel, status):
    """NI-2 B-channel maintenance: send SERVICE (0 in service, 1 maintenance, 2 out of service); returns None."""
    iface._now = now
    if iface.variant.service_pd is None:
        raise LocalProtocolError(f"{iface.variant.name} has no SERVICE messages")
    pd = iface.variant.service_pd
    msg = q931.Message(q931.SERVICE_TYPES[pd][0], 0, False, [ie.change_status(status), ie.channel_id(channel)],
                       pd=pd)
    iface.service_pending[channel] = status
    iface.link.send(msg.encode(), now)


def send_restart(iface, channels):
    """Send RESTART for channels (None: the whole interface, restart class 7); returns None."""
    if channels is None:
        ies = [ie.restart_indicator(7)]
    else:
        ies = [ie.channel_id(ch) for ch in channels] + [ie.restart_indicator(0)]
    iface._send_cr(0, False, q931.RESTART, ies)


def on_global(iface, msg):
    """Act on a message with the global (dummy) call reference: RESTART, RESTART ACKNOWLEDGE, else STATUS 81;
    returns None."""
    if msg.msg_type == q931.RESTART:
        ind = msg.fields("restart_indicator")
        klass = ind["restart_class"] if ind else None
        chans = [i.view()["channel"] for i in msg.ies if i.name == "channel_identification"]
        channels = None if klass in (6, 7) or not chans else [c for c in chans if c is not None]
        for call in list(iface.calls.values()):
            if channels is None or call.channel in channels:
                iface._end(call, causes.TEMPORARY_FAILURE)
        ies = [i for i in msg.ies if i.name in ("channel_identification", "restart_indicator")]
        iface._send_cr(msg.call_ref, True, q931.RESTART_ACKNOWLEDGE, ies)
        iface._events.append(RestartReceived(channels))
    elif msg.msg_type == q931.RESTART_ACKNOWLEDGE:
        if iface.restart_pending is not None:
            channels = iface.restart_pending[0]
            iface.restart_pending = None
            iface.deadlines.cancel(None, "T316")
            iface.out_of_service -= iface.restart_blocked
            iface.restart_blocked = set()
            iface._events.append(RestartAcknowledged(channels))
    elif msg.msg_type == q931.STATUS:
        pass
    else:
        iface._events.append(ProtocolNotice(f"{msg.name} on the global call reference", "STATUS 81"))
        iface._send_cr(0, not msg.cr_flag, q931.STATUS, [ie.cause(causes.INVALID_CALL_REFERENCE, iface._location()),
                                                      ie.call_state(0)])


def on_maintenance(iface, msg):
    """Act on a SERVICE or SERVICE ACKNOWLEDGE (the maintenance protocol discriminator); returns None."""
    chan = msg.fields("channel_identification")
    status = msg.fields("change_status")
    if chan is None or status is None:
        iface._events.append(ProtocolNotice(f"{msg.name} without channel or change status", "ignored"))
        return
    ch, st = chan["channel"], status["status"]
    if msg.name == "SERVICE":
        if st == 0:
            iface.out_of_service.discard(ch)
        else:
            iface.out_of_service.add(ch)
        ies = [i for i in msg.ies if i.name in ("change_status", "channel_identification")]
        iface._send_cr(msg.call_ref, True, q931.SERVICE_TYPES[msg.pd][1], ies, pd=msg.pd)
        iface._events.append(ServiceReceived(ch, st))
    elif msg.name == "SERVICE ACKNOWLEDGE":
        iface.service_pending.pop(ch, None)
        iface._events.append(ServiceAcknowledged(ch, st))
