"""The one seam through which the DAHDI backend reaches the kernel: open, close, ioctl, read, write, poll.

(and ``monotonic``: the clock that stamps events, which the fake kernel ties to its simulated board.)

The backend never calls os/fcntl/select itself; it takes an object with these six methods
(``RealSys`` on a machine with DAHDI, ``fake.FakeDahdiKernel`` in tests and dry runs), so the
same code path runs against the real driver and against a fake that answers the same ioctl
numbers with the same struct bytes.
"""
import fcntl
import os
import select
import time

POLLIN = select.POLLIN
POLLPRI = select.POLLPRI
POLLOUT = select.POLLOUT
POLLERR = select.POLLERR


class RealSys:
    """System calls against the running kernel."""

    def open(self, path, flags):
        """Return a new file descriptor for path."""
        return os.open(path, flags)

    def close(self, fd):
        """Close fd; return None."""
        os.close(fd)

    def ioctl(self, fd, request, buf):
        """Run ioctl(fd, request, buf) with buf a mutable buffer the kernel may fill; return the result."""
        return fcntl.ioctl(fd, request, buf, True)

    def read(self, fd, size):
        """Return up to size bytes read from fd."""
        return os.read(fd, size)

    def write(self, fd, data):
        """Return the number of bytes written to fd."""
        return os.write(fd, data)

    def poll(self, fds, timeout_ms):
        """Return [(fd, revents)] for the (fd, events) pairs that are ready within timeout_ms."""
        poller = select.poll()
        for fd, events in fds:
            poller.register(fd, events)
        return poller.poll(timeout_ms)

    def monotonic(self):
        """Return seconds on a monotonic clock (events are stamped with it)."""
        return time.monotonic()
