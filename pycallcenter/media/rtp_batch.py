"""The tick's RTP packets for all rows at once: headers built beside the payloads, and sent in one native call.

``pack`` and ``send`` run the kernel in ``pycallcenter._native.rtp``; ``pack_reference`` and
``send_reference`` are their readable twins (numpy, and one ``socket.sendto`` per packet), which
tests/test_rtp_batch.py holds equal to them. Only the usual packet takes this path: version 2, no padding,
extension or CSRC, an IPv4 destination, no SRTP (see ``PacketMedia.transmit``).
"""
import socket

import numpy as np

from pycallcenter._native import rtp as _native

HEADER_SIZE = 12


def _arrays(rows, second, seq, ts, ssrc):
    return (np.ascontiguousarray(rows, np.int32), np.ascontiguousarray(second, np.uint8),
            np.ascontiguousarray(seq, np.uint16), np.ascontiguousarray(ts, np.uint32),
            np.ascontiguousarray(ssrc, np.uint32))


def pack(codes, rows, second, seq, ts, ssrc):
    """Return a (len(rows), 12 + payload) uint8 array: each packet's header and the codes of its row."""
    codes = np.ascontiguousarray(codes, np.uint8)
    args = _arrays(rows, second, seq, ts, ssrc)
    out = np.empty((args[0].size, codes.shape[1] + HEADER_SIZE), np.uint8)
    _native.pack(codes, *args, out)
    return out


def pack_reference(codes, rows, second, seq, ts, ssrc):
    """Return what pack returns, built with numpy (the readable twin)."""
    rows, second, seq, ts, ssrc = _arrays(rows, second, seq, ts, ssrc)
    head = np.empty((rows.size, HEADER_SIZE), np.uint8)
    head[:, 0] = 0x80  # version 2, no padding, extension or CSRC
    head[:, 1] = second  # marker bit and payload type
    head[:, 2:4] = seq.astype(">u2").view(np.uint8).reshape(-1, 2)
    head[:, 4:8] = ts.astype(">u4").view(np.uint8).reshape(-1, 4)
    head[:, 8:12] = ssrc.astype(">u4").view(np.uint8).reshape(-1, 4)
    return np.concatenate([head, np.asarray(codes, np.uint8)[rows]], axis=1)


def send(fds, hosts, ports, packets):
    """Send packets[k] from socket fd fds[k] to hosts[k] (IPv4 as an int) port ports[k]; return each result
    (int64: octets sent, or minus the errno)."""
    fds = np.ascontiguousarray(fds, np.int32)
    result = np.empty(fds.size, np.int64)
    _native.send(fds, np.ascontiguousarray(hosts, np.uint32), np.ascontiguousarray(ports, np.uint16),
                 np.ascontiguousarray(packets, np.uint8), result)
    return result


def send_reference(socks, addrs, packets):
    """Return what send returns, sending each packet with socket.sendto (the readable twin)."""
    out = []
    for sock, addr, packet in zip(socks, addrs, packets):
        try:
            out.append(sock.sendto(packet.tobytes(), addr))
        except OSError as exc:
            out.append(-exc.errno)
    return np.array(out, np.int64)


def ipv4(host):
    """Return a numeric IPv4 address as an int (for send), or None for anything else (IPv6, a name)."""
    try:
        return int.from_bytes(socket.inet_pton(socket.AF_INET, host), "big")
    except (OSError, TypeError):
        return None
