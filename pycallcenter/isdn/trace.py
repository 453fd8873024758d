"""Readable views of LAPD/Q.931 traffic: decode_frame for `pycallcenter decode`, and a tracer that logs
every frame to a pcapng file (link type 203, direction marked) and/or one line per frame."""
from pycallcenter.errors import DecodeError
from pycallcenter.isdn import frame as lapd_frame
from pycallcenter.isdn import q931
from pycallcenter.trace.pcap import LINKTYPE_LAPD, PcapWriter


def decode_frame(proto, data):
    """Return {"lapd": {...}, "q931": {...}} for a LAPD frame ("lapd") or {"q931": {...}} for a bare message."""
    if proto == "q931":
        return {"q931": q931.decode(data).view()}
    if proto != "lapd":
        raise ValueError(f"unknown protocol {proto!r} (lapd or q931)")
    frame = lapd_frame.decode(data)
    out = {"lapd": frame.view()}
    if frame.info and frame.kind in ("I", "UI") and frame.sapi == lapd_frame.SAPI_CALL_CONTROL:
        try:
            out["q931"] = q931.decode(frame.info).view()
        except DecodeError as exc:
            # offsets in the error count from the start of the LAPD frame
            inner = exc.offset or 0
            raise DecodeError(str(exc).split(": ", 1)[-1], element=exc.element,
                              offset=inner + len(data) - len(frame.info)) from None
    elif frame.info:
        out["lapd"]["info"] = frame.info.hex()
    return out


def summary(data):
    """Return one line describing a LAPD frame (message name and key IEs), never raising."""
    try:
        frame = lapd_frame.decode(data)
    except DecodeError as exc:
        return f"BAD {exc} {bytes(data).hex()}"
    text = repr(frame)
    if frame.info and frame.kind in ("I", "UI") and frame.sapi == 0:
        try:
            msg = q931.decode(frame.info)
        except DecodeError as exc:
            return f"{text} BAD Q.931 {exc}"
        parts = [msg.name, f"cr={msg.call_ref}/{int(msg.cr_flag)}"]
        for item in msg.ies:
            v = item.view()
            if "digits" in v:
                parts.append(f"{item.name}={v['digits']}")
            elif item.name == "cause":
                parts.append(f"cause={v['value']}")
            elif item.name == "channel_identification":
                parts.append(f"channel={v['channel']}")
        text += " " + " ".join(parts)
    return text


class Tracer:
    """Records frames in and out: pcapng (link type 203, network-side frames marked inbound) and/or a line log."""

    def __init__(self, pcap=None, log=None, network=False):
        self.pcap = PcapWriter(pcap, LINKTYPE_LAPD) if pcap is not None else None
        self.log = log
        self.network = network

    def frame(self, data, sent, now):
        """Record one frame we sent (sent=True) or received at time now (seconds)."""
        from_network = sent == self.network
        if self.pcap is not None:
            self.pcap.write(data, ts=now, inbound=from_network)
        if self.log is not None:
            self.log.write(f"{now:.3f} {'>' if sent else '<'} {summary(data)}\n")

    def close(self):
        """Flush and close the pcap file."""
        if self.pcap is not None:
            self.pcap.close()
