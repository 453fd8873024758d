"""Batched RTP send path: every row's 12-octet header built beside its payload, and each packet sent from its
row's socket, in one call per tick (pycallcenter.media.rtp_batch is the checked face and holds the twins)."""
from libc.errno cimport errno
from libc.stdint cimport int32_t, int64_t, uint8_t, uint16_t, uint32_t
from libc.string cimport memcpy, memset


cdef extern from "<sys/socket.h>" nogil:
    ctypedef unsigned int socklen_t
    struct sockaddr:
        pass
    ssize_t sendto(int fd, const void *buf, size_t n, int flags, const sockaddr *addr, socklen_t addrlen)
    int MSG_DONTWAIT
    int AF_INET


cdef extern from "<netinet/in.h>" nogil:
    struct in_addr:
        uint32_t s_addr
    struct sockaddr_in:
        int sin_family
        uint16_t sin_port
        in_addr sin_addr
    uint16_t htons(uint16_t)
    uint32_t htonl(uint32_t)


def pack(const uint8_t[:, ::1] codes, const int32_t[::1] rows, const uint8_t[::1] second,
         const uint16_t[::1] seq, const uint32_t[::1] ts, const uint32_t[::1] ssrc, uint8_t[:, ::1] out):
    """Fill out[k] with the RTP header (V=2, no padding, extension or CSRC) and the codes of row rows[k]."""
    cdef Py_ssize_t n = rows.shape[0], size = codes.shape[1], k, r
    cdef uint8_t *p
    if second.shape[0] != n or seq.shape[0] != n or ts.shape[0] != n or ssrc.shape[0] != n:
        raise ValueError("rows, second, seq, ts and ssrc need the same length")
    if out.shape[0] != n or out.shape[1] != size + 12:
        raise ValueError(f"out needs shape ({n}, {size + 12})")
    for k in range(n):
        r = rows[k]
        if r < 0 or r >= codes.shape[0]:
            raise IndexError(f"row {r} outside the {codes.shape[0]} rows of codes")
    with nogil:
        for k in range(n):
            p = &out[k, 0]
            p[0] = 0x80
            p[1] = second[k]
            p[2] = seq[k] >> 8
            p[3] = seq[k] & 0xFF
            p[4] = ts[k] >> 24
            p[5] = (ts[k] >> 16) & 0xFF
            p[6] = (ts[k] >> 8) & 0xFF
            p[7] = ts[k] & 0xFF
            p[8] = ssrc[k] >> 24
            p[9] = (ssrc[k] >> 16) & 0xFF
            p[10] = (ssrc[k] >> 8) & 0xFF
            p[11] = ssrc[k] & 0xFF
            if size:
                memcpy(p + 12, &codes[rows[k], 0], size)


def send(const int32_t[::1] fds, const uint32_t[::1] hosts, const uint16_t[::1] ports,
         const uint8_t[:, ::1] packets, int64_t[::1] result):
    """Send packets[k] from socket fds[k] to IPv4 hosts[k]:ports[k] (host order); result[k] = octets or -errno."""
    cdef Py_ssize_t n = fds.shape[0], k
    cdef size_t size = packets.shape[1]
    cdef sockaddr_in addr
    cdef ssize_t sent
    if hosts.shape[0] != n or ports.shape[0] != n or packets.shape[0] != n or result.shape[0] != n:
        raise ValueError("fds, hosts, ports, packets and result need the same length")
    memset(&addr, 0, sizeof(addr))
    addr.sin_family = AF_INET
    with nogil:
        for k in range(n):
            addr.sin_port = htons(ports[k])
            addr.sin_addr.s_addr = htonl(hosts[k])
            sent = sendto(fds[k], &packets[k, 0] if size else NULL, size, MSG_DONTWAIT,
                          <const sockaddr *> &addr, sizeof(addr))
            result[k] = sent if sent >= 0 else -errno
