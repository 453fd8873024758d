"""The project's error types; every layer raises one of these (or ValueError/TypeError for bad arguments)."""


class PyCallCenterError(Exception):
    """Base class of every error the project raises on purpose."""


class ConfigError(PyCallCenterError, ValueError):
    """A configuration file is wrong; names the file and line where known."""

    def __init__(self, message, *, path=None, line=None):
        self.path = path
        self.line = line
        where = ""
        if path is not None:
            where = f"{path}:{line}: " if line is not None else f"{path}: "
        elif line is not None:
            where = f"line {line}: "
        super().__init__(where + message)


class DecodeError(PyCallCenterError, ValueError):
    """Bytes from the wire (or a file) do not parse; names the element and the byte offset."""

    def __init__(self, message, *, element=None, offset=None):
        self.element = element
        self.offset = offset
        parts = []
        if element is not None:
            parts.append(str(element))
        if offset is not None:
            parts.append(f"offset {offset}")
        prefix = f"{' at '.join(parts)}: " if parts else ""
        super().__init__(prefix + message)


class LocalProtocolError(PyCallCenterError):
    """Our caller asked a protocol machine for something its state does not allow."""


class RemoteProtocolError(PyCallCenterError):
    """The far end sent something the protocol does not allow; never fatal to a link or span."""


class HardwareError(PyCallCenterError):
    """A board, driver or device is missing or refused an operation; says what is missing."""


class ChannelClosedError(PyCallCenterError):
    """An operation on a channel that has been closed."""


class RecentErrors(list):
    """The last ``limit`` errors a component met, oldest dropped first, with ``total`` counting every one.

    A list, so code that reads it as one keeps working; it cannot grow without bound whatever scripts or the
    network do (a script failing on every call of a day, a peer sending garbage streams).
    """

    def __init__(self, limit=1000):
        super().__init__()
        self.limit = limit
        self.total = 0

    def append(self, item):
        """Keep item, dropping the oldest past the limit; count it."""
        self.total += 1
        super().append(item)
        if len(self) > self.limit:
            del self[: len(self) - self.limit]
