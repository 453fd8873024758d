"""Batched RTP paths. Send: every row's 12-octet header built beside its payload and each packet sent from its
row's socket, in one call per tick. Receive: every ready socket drained in one call, and each row's usual packet
checked and taken into its jitter buffer's arrays in another (pycallcenter.media.rtp_batch is the checked face
and holds the twins)."""
from libc.errno cimport errno
from libc.stdint cimport int32_t, int64_t, uint8_t, uint16_t, uint32_t, uint64_t
from libc.math cimport fabs
from libc.stdlib cimport free, malloc
from libc.string cimport memcpy, memset

ctypedef int64_t i64


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


cdef extern from "<sys/uio.h>" nogil:
    struct iovec:
        void *iov_base
        size_t iov_len


cdef extern from "<sys/socket.h>" nogil:
    struct msghdr:
        void *msg_name
        socklen_t msg_namelen
        iovec *msg_iov
        size_t msg_iovlen
        void *msg_control
        size_t msg_controllen
        int msg_flags
    struct mmsghdr:
        msghdr msg_hdr
        unsigned int msg_len
    int recvmmsg(int fd, mmsghdr *vec, unsigned int vlen, int flags, void *timeout)
    int sendmmsg(int fd, mmsghdr *vec, unsigned int vlen, int flags)


cdef enum:
    MMSG_BATCH = 64      # datagrams per sendmmsg or recvmmsg call
    MAX_ERRORS = 64      # errors reported on the socket (ICMP) skipped in one call before giving up


# int64 columns of a row's send state
cdef enum:
    TX_NATIVE = 0   # 1 while the kernel sends the row's audio
    TX_FD = 1       # the row's RTP socket
    TX_HOST = 2     # where it sends: IPv4, host order
    TX_PORT = 3
    TX_PT = 4       # payload type
    TX_MARKER = 5   # the next packet starts a talkspurt
    TX_SEQ = 6      # sequence number of the next packet
    TX_TS = 7       # its timestamp
    TX_SSRC = 8
    TX_PACKETS = 9  # packets sent since the row was handed over (or last read back)
    TX_BYTES = 10   # their octets, headers included
    TX_ERRORS = 11  # sends that failed since then
    TX_COLUMNS = 12


cdef Py_ssize_t _flush(int fd, mmsghdr *vec, Py_ssize_t nb, i64 **owner) noexcept nogil:
    # send the batch's datagrams (all from fd) with sendmmsg; a datagram that fails is counted on its row and
    # skipped, the rest go on (as one sendto each would)
    cdef Py_ssize_t j = 0, m
    cdef int got
    while j < nb:
        got = sendmmsg(fd, &vec[j], <unsigned int> (nb - j), MSG_DONTWAIT)
        if got < 0:  # a full socket buffer or an unreachable far end: counted, the tick goes on
            owner[j][TX_ERRORS] += 1
            j += 1
            continue
        for m in range(j, j + got):
            owner[m][TX_PACKETS] += 1
            owner[m][TX_BYTES] += vec[m].msg_len
        j += got
    return 0


def send_rows(int64_t[:, ::1] tx, const uint8_t[:, ::1] codes, uint8_t[:, ::1] packets):
    """Send codes[i] from every native row i as packets of packets' width less 12 octets each (one per frame of
    the tick, V=2 header, no padding, extension or CSRC), the last one copied into packets[i]; step its sequence
    number and timestamp per packet and clear its marker after the first, count each sent or failed. Return
    how many packets. Consecutive packets from one socket (a row's frames; rows sharing a socket) leave in one
    sendmmsg call."""
    cdef Py_ssize_t rows = tx.shape[0], size = codes.shape[1], frame = packets.shape[1] - 12, i, f, k
    cdef Py_ssize_t count = 0, nb = 0, width = packets.shape[1]
    cdef i64 *s
    cdef uint8_t *p
    cdef uint8_t *buf
    cdef uint32_t ts, ssrc
    cdef uint16_t seq
    cdef int fd, batch_fd = -1
    cdef mmsghdr vec[MMSG_BATCH]
    cdef iovec iov[MMSG_BATCH]
    cdef sockaddr_in addr[MMSG_BATCH]
    cdef i64 *owner[MMSG_BATCH]
    if tx.shape[1] != TX_COLUMNS or codes.shape[0] != rows or packets.shape[0] != rows or frame < 0 \
            or (frame == 0 and size != 0) or (frame and size % frame):
        raise ValueError(f"tx needs {TX_COLUMNS} columns, codes and packets the same rows, packets 12 more octets"
                         " than a frame that divides the codes' width")
    k = size // frame if frame else 1
    buf = <uint8_t *> malloc(MMSG_BATCH * width)
    if buf == NULL:
        raise MemoryError()
    memset(vec, 0, sizeof(vec))
    memset(addr, 0, sizeof(addr))
    with nogil:
        for i in range(rows):
            s = &tx[i, 0]
            if not s[TX_NATIVE]:
                continue
            fd = <int> s[TX_FD]
            ssrc = <uint32_t> s[TX_SSRC]
            for f in range(k):
                if nb == MMSG_BATCH or (nb and fd != batch_fd):
                    _flush(batch_fd, vec, nb, owner)
                    nb = 0
                batch_fd = fd
                p = buf + nb * width
                seq = <uint16_t> s[TX_SEQ]
                ts = <uint32_t> s[TX_TS]
                p[0] = 0x80
                p[1] = <uint8_t> ((s[TX_PT] & 0x7F) | (0x80 if s[TX_MARKER] else 0))
                p[2] = seq >> 8
                p[3] = seq & 0xFF
                p[4] = ts >> 24
                p[5] = (ts >> 16) & 0xFF
                p[6] = (ts >> 8) & 0xFF
                p[7] = ts & 0xFF
                p[8] = ssrc >> 24
                p[9] = (ssrc >> 16) & 0xFF
                p[10] = (ssrc >> 8) & 0xFF
                p[11] = ssrc & 0xFF
                if frame:
                    memcpy(p + 12, &codes[i, f * frame], frame)
                addr[nb].sin_family = AF_INET
                addr[nb].sin_port = htons(<uint16_t> s[TX_PORT])
                addr[nb].sin_addr.s_addr = htonl(<uint32_t> s[TX_HOST])
                iov[nb].iov_base = p
                iov[nb].iov_len = frame + 12
                vec[nb].msg_hdr.msg_name = &addr[nb]
                vec[nb].msg_hdr.msg_namelen = sizeof(sockaddr_in)
                vec[nb].msg_hdr.msg_iov = &iov[nb]
                vec[nb].msg_hdr.msg_iovlen = 1
                owner[nb] = s
                nb += 1
                s[TX_MARKER] = 0
                s[TX_SEQ] = <uint16_t> (seq + 1)
                s[TX_TS] = <uint32_t> (ts + frame)
                count += 1
                if f == k - 1:
                    memcpy(&packets[i, 0], p, width)
        if nb:
            _flush(batch_fd, vec, nb, owner)
    free(buf)
    return count


# --- the native receive path ----------------------------------------------------------------------------------
# One call drains every ready socket into a preallocated arena (drain); one checks each datagram against the
# row it came to and does the jitter buffer's in-order, in-spurt push over per-row arrays (accept); one plays
# the next packet of every row in a spurt into the tick's codes (playout). Anything else is left to Python:
# pycallcenter.media.rtp_batch is the checked face and holds the twins, and the column layout below is
# checked against it at import (LAYOUT).

cdef extern from "<sys/epoll.h>" nogil:
    ctypedef union epoll_data_t:
        int fd
        uint64_t u64
    struct epoll_event:
        uint32_t events
        epoll_data_t data
    int epoll_wait(int epfd, epoll_event *events, int maxevents, int timeout)


cdef extern from "<sys/socket.h>" nogil:
    ssize_t recvfrom(int fd, void *buf, size_t n, int flags, sockaddr *addr, socklen_t *addrlen)


cdef extern from "<netinet/in.h>" nogil:
    uint16_t ntohs(uint16_t)
    uint32_t ntohl(uint32_t)


cdef extern from "<errno.h>" nogil:
    int EAGAIN
    int EWOULDBLOCK
    int EINTR


# int64 columns of a row's state
cdef enum:
    NATIVE = 0      # 1 while the kernel owns the row's packets and playout
    SRC_HOST = 1    # the latched source, IPv4 host order
    SRC_PORT = 2
    PT = 3          # the audio payload type
    SSRC = 4        # the far end's SSRC
    HI = 5          # extended highest sequence number received
    HI_TS = 6       # its extended timestamp
    NEXT = 7        # extended sequence number due at the next playout
    PUSHED = 8      # packets accepted since the row was handed over (or last read back)
    PLAYED = 9      # packets played since then
    BYTES = 10      # their octets, headers included
    MIN_HEAD = 11   # the transit window's two monotonic deques: first slot and length
    MIN_LEN = 12
    MAX_HEAD = 13
    MAX_LEN = 14
    INT_COLUMNS = 15

# float64 columns
cdef enum:
    LAST_TRANSIT = 0  # RFC 3550 A.8: the previous packet's transit, timestamp units
    JITTER_TS = 1     # J, timestamp units
    JITTER = 2        # J in seconds
    TARGET = 3        # target playout delay, seconds
    LAST_AT = 4       # arrival time of the last packet accepted
    DELAY = 5         # how long the packet last played waited
    FLOAT_COLUMNS = 6

# settings (float64)
cdef enum:
    RATE = 0
    MIN_DELAY = 1
    MAX_DELAY = 2
    JITTER_FACTOR = 3
    WINDOW = 4
    MAX_PACKETS = 5
    SETTINGS = 6

LAYOUT = {
    "tx": {"native": TX_NATIVE, "fd": TX_FD, "host": TX_HOST, "port": TX_PORT, "pt": TX_PT, "marker": TX_MARKER,
           "seq": TX_SEQ, "ts": TX_TS, "ssrc": TX_SSRC, "packets": TX_PACKETS, "bytes": TX_BYTES,
           "errors": TX_ERRORS, "columns": TX_COLUMNS},
    "int": {"native": NATIVE, "src_host": SRC_HOST, "src_port": SRC_PORT, "pt": PT, "ssrc": SSRC, "hi": HI,
            "hi_ts": HI_TS, "next": NEXT, "pushed": PUSHED, "played": PLAYED, "bytes": BYTES,
            "min_head": MIN_HEAD, "min_len": MIN_LEN, "max_head": MAX_HEAD, "max_len": MAX_LEN,
            "columns": INT_COLUMNS},
    "float": {"last_transit": LAST_TRANSIT, "jitter_ts": JITTER_TS, "jitter": JITTER, "target": TARGET,
              "last_at": LAST_AT, "delay": DELAY, "columns": FLOAT_COLUMNS},
    "settings": {"rate": RATE, "min_delay": MIN_DELAY, "max_delay": MAX_DELAY, "jitter_factor": JITTER_FACTOR,
                 "window": WINDOW, "max_packets": MAX_PACKETS, "columns": SETTINGS},
}


def drain(int epfd, int maxevents, int max_rounds, uint8_t[:, ::1] arena, int32_t[::1] rec_fd,
          int32_t[::1] rec_len, uint32_t[::1] rec_host, uint16_t[::1] rec_port, int32_t[::1] flood):
    """Read every ready socket of the epoll set, one datagram per ready socket per round, into arena[k];
    return (datagrams recorded, sockets still ready after max_rounds, arena full).

    rec_len[k] is the datagram's length (at most arena's width: longer ones are cut there) or minus the errno
    of a failed read; rec_host/rec_port its IPv4 source (host order). A full arena ends the drain early."""
    cdef Py_ssize_t cap = arena.shape[0], nrec = 0, nflood = 0
    cdef size_t width = arena.shape[1]
    cdef int nev, e, fd, rounds = 0, full = 0
    cdef ssize_t n
    cdef sockaddr_in addr
    cdef socklen_t alen
    cdef epoll_event *events
    if rec_fd.shape[0] < cap or rec_len.shape[0] < cap or rec_host.shape[0] < cap or rec_port.shape[0] < cap:
        raise ValueError("the record arrays need as many entries as arena has rows")
    if maxevents < 1:
        raise ValueError("maxevents must be positive")
    events = <epoll_event *> malloc(maxevents * sizeof(epoll_event))
    if events == NULL:
        raise MemoryError()
    with nogil:
        while not full:
            nev = epoll_wait(epfd, events, maxevents, 0)
            if nev <= 0:
                break
            rounds += 1
            if rounds > max_rounds:  # a flood: what is left waits in (and overflows) the kernel's buffer
                for e in range(nev):
                    if nflood < flood.shape[0]:
                        flood[nflood] = events[e].data.fd
                        nflood += 1
                break
            for e in range(nev):
                if nrec == cap:
                    full = 1
                    break
                fd = events[e].data.fd
                alen = sizeof(addr)
                n = recvfrom(fd, &arena[nrec, 0], width, MSG_DONTWAIT, <sockaddr *> &addr, &alen)
                if n < 0:
                    if errno == EAGAIN or errno == EWOULDBLOCK or errno == EINTR:
                        continue
                    rec_len[nrec] = -errno  # an ICMP error reported on the socket
                    rec_host[nrec] = 0
                    rec_port[nrec] = 0
                else:
                    rec_len[nrec] = <int32_t> n
                    rec_host[nrec] = ntohl(addr.sin_addr.s_addr)
                    rec_port[nrec] = ntohs(addr.sin_port)
                rec_fd[nrec] = fd
                nrec += 1
    free(events)
    return nrec, nflood, bool(full)


cdef inline Py_ssize_t _slot(i64 ext, Py_ssize_t depth) noexcept nogil:
    # the ring slot of an extended sequence number (which may be negative: a packet from before the first)
    cdef i64 r = ext % depth
    return r + depth if r < 0 else r


cdef inline void _window_add(double *tv, i64 *head, i64 *length, Py_ssize_t cap, double now, double value,
                             double oldest, bint keep_min) noexcept nogil:
    # _Extremes.add for one deque in a ring of cap slots: tv[2 * slot] is the time, tv[2 * slot + 1] the value
    cdef i64 h = head[0], n = length[0], slot
    while n:
        slot = (h + n - 1) % cap
        if (keep_min and tv[2 * slot + 1] >= value) or (not keep_min and tv[2 * slot + 1] <= value):
            n -= 1
        else:
            break
    slot = (h + n) % cap
    tv[2 * slot] = now
    tv[2 * slot + 1] = value
    n += 1
    while tv[2 * h] < oldest:
        h = (h + 1) % cap
        n -= 1
    head[0] = h
    length[0] = n


def accept(Py_ssize_t nrec, const int32_t[::1] rec_fd, const int32_t[::1] rec_len, const uint32_t[::1] rec_host,
           const uint16_t[::1] rec_port, const uint8_t[:, ::1] arena, const int32_t[::1] fd_row, double now,
           int64_t[:, ::1] ints, double[:, ::1] floats, uint8_t[:, :, ::1] ring, int64_t[:, ::1] ring_ts,
           double[:, ::1] ring_at, double[:, ::1] window, const double[::1] settings, uint8_t[::1] exc):
    """Take each recorded datagram that is its native row's usual packet into the row's arrays (see
    rtp_batch.accept_reference for the rules); set exc[k] = 1 for every other one; return how many those are.

    A row whose datagram is not the usual one stops being native here, so its later datagrams go to Python too."""
    cdef Py_ssize_t rows = ints.shape[0], depth = ring.shape[1], size = ring.shape[2]
    cdef Py_ssize_t cap = window.shape[1] // 4, k, i, slot, nfd = fd_row.shape[0], nexc = 0
    cdef i64 *s
    cdef double *f
    cdef const uint8_t *p
    cdef int32_t n
    cdef int fd
    cdef uint32_t ssrc, ts
    cdef uint16_t seq
    cdef i64 ext, ext_ts
    cdef double rate, transit, jitter, needed, oldest, lo, hi
    cdef double *minq
    cdef double *maxq
    if ints.shape[1] != INT_COLUMNS or floats.shape[1] != FLOAT_COLUMNS or settings.shape[0] != SETTINGS:
        raise ValueError("ints, floats or settings do not have the layout's columns")
    if floats.shape[0] != rows or ring.shape[0] != rows or ring_ts.shape[0] != rows or ring_at.shape[0] != rows \
            or window.shape[0] != rows or window.shape[1] % 4 or ring_ts.shape[1] != depth \
            or ring_at.shape[1] != depth:
        raise ValueError("the row arrays disagree on the number of rows or slots")
    if exc.shape[0] < nrec or rec_fd.shape[0] < nrec or arena.shape[0] < nrec or arena.shape[1] < size + 12:
        raise ValueError("the record arrays are shorter than nrec, or the arena narrower than a packet")
    rate = settings[RATE]
    with nogil:
        for k in range(nrec):
            exc[k] = 1
            fd = rec_fd[k]
            i = fd_row[fd] if 0 <= fd < nfd else -1
            if i < 0 or i >= rows:
                nexc += 1
                continue
            s = &ints[i, 0]
            if not s[NATIVE]:
                nexc += 1
                continue
            n = rec_len[k]
            p = &arena[k, 0]
            if n != size + 12 or p[0] != 0x80 or p[1] != s[PT] or rec_host[k] != s[SRC_HOST] \
                    or rec_port[k] != s[SRC_PORT]:
                s[NATIVE] = 0
                nexc += 1
                continue
            seq = (p[2] << 8) | p[3]
            ts = (<uint32_t> p[4] << 24) | (<uint32_t> p[5] << 16) | (<uint32_t> p[6] << 8) | p[7]
            ssrc = (<uint32_t> p[8] << 24) | (<uint32_t> p[9] << 16) | (<uint32_t> p[10] << 8) | p[11]
            # JitterBuffer.push's written-out case: the next in sequence, one frame on, room to keep it
            if ssrc != <uint32_t> s[SSRC] or <uint16_t> (seq - <uint16_t> s[HI]) != 1 \
                    or <uint32_t> (ts - <uint32_t> s[HI_TS]) != <uint32_t> size \
                    or s[HI] - s[NEXT] + 1 >= settings[MAX_PACKETS] or s[HI] - s[NEXT] + 1 >= depth \
                    or s[MIN_LEN] >= cap or s[MAX_LEN] >= cap:
                s[NATIVE] = 0
                nexc += 1
                continue
            exc[k] = 0
            f = &floats[i, 0]
            ext = s[HI] + 1
            ext_ts = s[HI_TS] + size
            slot = _slot(ext, depth)
            memcpy(&ring[i, slot, 0], p + 12, size)
            ring_ts[i, slot] = ext_ts
            ring_at[i, slot] = now
            s[PUSHED] += 1
            s[BYTES] += n
            transit = now * rate - <double> ext_ts
            f[JITTER_TS] += (fabs(transit - f[LAST_TRANSIT]) - f[JITTER_TS]) / 16
            f[LAST_TRANSIT] = transit
            jitter = f[JITTER_TS] / rate
            f[JITTER] = jitter
            oldest = now - settings[WINDOW]
            minq = &window[i, 0]
            maxq = minq + 2 * cap
            transit = now - <double> ext_ts / rate
            _window_add(minq, &s[MIN_HEAD], &s[MIN_LEN], cap, now, transit, oldest, True)
            _window_add(maxq, &s[MAX_HEAD], &s[MAX_LEN], cap, now, transit, oldest, False)
            s[HI] = ext
            s[HI_TS] = ext_ts
            lo = minq[2 * s[MIN_HEAD] + 1]
            hi = maxq[2 * s[MAX_HEAD] + 1]
            needed = hi - lo
            if needed < settings[JITTER_FACTOR] * jitter:
                needed = settings[JITTER_FACTOR] * jitter
            if needed < settings[MIN_DELAY]:
                needed = settings[MIN_DELAY]
            if needed > settings[MAX_DELAY]:
                needed = settings[MAX_DELAY]
            if needed > f[TARGET]:
                f[TARGET] = needed
            f[LAST_AT] = now
    return nexc


def playout(int64_t[:, ::1] ints, double[:, ::1] floats, const uint8_t[:, :, ::1] ring,
            const double[:, ::1] ring_at, uint8_t[:, ::1] codes, double now, int32_t[::1] left):
    """Copy the packets due of every native row into its row of codes, one per frame of the ring's width (the
    codes' width is a whole number of them); a row without all of them due stops being native and is listed
    in left (Python plays it: a loss, a stall or the end of a spurt). Return how many left."""
    cdef Py_ssize_t rows = ints.shape[0], depth = ring.shape[1], size = ring.shape[2], i, f, k, slot, nleft = 0
    cdef i64 *s
    if codes.shape[0] != rows or size == 0 or codes.shape[1] % size or floats.shape[0] != rows \
            or ring.shape[0] != rows or ring_at.shape[0] != rows or ring_at.shape[1] != depth \
            or left.shape[0] < rows:
        raise ValueError("ints, floats, ring, ring_at, codes and left disagree on rows or sizes")
    k = codes.shape[1] // size
    with nogil:
        for i in range(rows):
            s = &ints[i, 0]
            if not s[NATIVE]:
                continue
            if s[NEXT] + k - 1 > s[HI]:
                s[NATIVE] = 0
                left[nleft] = i
                nleft += 1
                continue
            for f in range(k):
                slot = _slot(s[NEXT], depth)
                memcpy(&codes[i, f * size], &ring[i, slot, 0], size)
                floats[i, DELAY] = now - ring_at[i, slot]
                s[PLAYED] += 1
                s[NEXT] += 1
    return nleft


# --- one socket's datagrams in a few system calls -------------------------------------------------------------
# A peer that keeps every stream on one socket (the simulated carrier does: RTP allows it when the far end tells
# the streams apart by address) reads a tick's datagrams with recvmmsg, a batch per system call, not one
# recvfrom each.

def recv_many(int fd, uint8_t[:, ::1] arena, int32_t[::1] rec_len, uint32_t[::1] rec_host,
              uint16_t[::1] rec_port):
    """Read every datagram waiting on the non-blocking IPv4 socket fd into arena[k] (cut at arena's width)
    until none is left or the arena is full; return how many, their lengths and IPv4 sources (host order) in
    rec_len/rec_host/rec_port. Errors the socket reports (an ICMP error of an earlier send) are skipped."""
    cdef Py_ssize_t cap = arena.shape[0], nrec = 0, k, want
    cdef size_t width = arena.shape[1]
    cdef int got, errors = 0
    cdef mmsghdr vec[MMSG_BATCH]
    cdef iovec iov[MMSG_BATCH]
    cdef sockaddr_in addr[MMSG_BATCH]
    if rec_len.shape[0] < cap or rec_host.shape[0] < cap or rec_port.shape[0] < cap:
        raise ValueError("the record arrays need as many entries as arena has rows")
    with nogil:
        while nrec < cap:
            want = min(<Py_ssize_t> MMSG_BATCH, cap - nrec)
            memset(vec, 0, sizeof(vec))
            for k in range(want):
                iov[k].iov_base = &arena[nrec + k, 0]
                iov[k].iov_len = width
                vec[k].msg_hdr.msg_name = &addr[k]
                vec[k].msg_hdr.msg_namelen = sizeof(sockaddr_in)
                vec[k].msg_hdr.msg_iov = &iov[k]
                vec[k].msg_hdr.msg_iovlen = 1
            got = recvmmsg(fd, vec, <unsigned int> want, MSG_DONTWAIT, NULL)
            if got < 0:
                if errno == EAGAIN or errno == EWOULDBLOCK:
                    break
                errors += 1
                if errors > MAX_ERRORS:
                    break
                continue  # EINTR, or an error reported on the socket: what waits behind it is read next
            for k in range(got):
                rec_len[nrec + k] = <int32_t> vec[k].msg_len
                rec_host[nrec + k] = ntohl(addr[k].sin_addr.s_addr)
                rec_port[nrec + k] = ntohs(addr[k].sin_port)
            nrec += got
            if got < want:
                break
    return nrec
