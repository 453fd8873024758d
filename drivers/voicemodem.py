"""A V.253 voice modem on a serial port, driven as one FXO line (ring + caller ID in, hook, DTMF, voice).

The modem answers AT commands on the serial line; in voice mode (AT+FCLASS=8) it reports rings
and caller ID as result lines, and streams voice with DLE-shielded events (DTMF, busy, dial tone,
loop-current break) in between the samples. Framing lives in ``voicemodem_proto``.
"""
import time

import numpy as np

from pycallcenter.errors import ChannelClosedError, HardwareError

from .voicemodem_proto import DLE, DleDecoder, dle_escape, end_of_transmit, int16_to_u8, parse_cid_line, u8_to_int16

FINAL_OK = ("OK", "VCON", "CONNECT")
FINAL_ERROR = ("ERROR", "NO CARRIER", "BUSY", "NO ANSWER", "NO DIALTONE", "NO DIAL TONE")


class ModemEvent:
    """One thing the modem reported: kind in ring, caller_id, dtmf, busy, dial_tone, loop_current_break, ..."""

    __slots__ = ("kind", "data")

    def __init__(self, kind, **data):
        self.kind = kind
        self.data = data

    def __repr__(self):
        return f"ModemEvent({self.kind!r}, {self.data!r})"

    def __eq__(self, other):
        return isinstance(other, ModemEvent) and (self.kind, self.data) == (other.kind, other.data)


class VoiceModem:
    """One V.253 voice modem; every method blocks at most ``timeout`` seconds waiting for the modem."""

    def __init__(self, port, *, baudrate=115200, timeout=2.0, vsm="128,8000", serial_port=None):
        if serial_port is None:
            try:
                import serial
            except ImportError as exc:
                raise HardwareError("the voice-modem backend needs pyserial (pip install pyserial)") from exc
            try:
                serial_port = serial.serial_for_url(port, baudrate=baudrate, timeout=0.02, write_timeout=timeout)
            except (serial.SerialException, OSError) as exc:
                raise HardwareError(f"cannot open voice modem on {port}: {exc}") from exc
        self.port = port
        self.ser = serial_port
        self.timeout = timeout
        self.vsm = vsm
        self.mode = "command"  # command, receive (AT+VRX) or duplex (AT+VTR)
        self.caller_id = None  # the AT command that enabled caller-ID reports, after setup()
        self.off_hook = False
        self._buf = bytearray()
        self._events = []
        self._cid = {}
        self._decoder = None

    # --- command mode ---
    def _readline(self, deadline):
        while True:
            nl = self._buf.find(b"\n")
            if nl >= 0:
                line = bytes(self._buf[:nl]).decode("ascii", "replace").strip()
                del self._buf[: nl + 1]
                return line
            chunk = self.ser.read(256)  # at least one read, even when the deadline has passed
            if chunk:
                self._buf += chunk
            elif time.monotonic() > deadline:
                return None

    def _unsolicited(self, line):
        """Record a line the modem sent on its own (rings, caller ID); return True if it was one."""
        if line == "RING":
            self._flush_cid()
            self._events.append(ModemEvent("ring"))
            return True
        field = parse_cid_line(line)
        if field is not None:
            self._cid[field[0]] = field[1]
            return True
        return False

    def _flush_cid(self):
        if self._cid:
            self._events.append(ModemEvent("caller_id", **self._cid))
            self._cid = {}

    def command(self, cmd, final=FINAL_OK):
        """Send one AT command; return (result code, informational lines). Raises HardwareError on error."""
        self._check_open()
        if self.mode != "command":
            raise HardwareError(f"voice modem on {self.port}: {cmd} sent while in {self.mode} mode")
        self.ser.write(cmd.encode("ascii") + b"\r")
        deadline = time.monotonic() + self.timeout
        info = []
        while True:
            line = self._readline(deadline)
            if line is None:
                raise HardwareError(f"voice modem on {self.port} did not answer {cmd!r} within {self.timeout} s")
            if not line or line == cmd:  # blank lines and the echo of the command
                continue
            if line in final:
                return line, info
            if line in FINAL_ERROR:
                raise HardwareError(f"voice modem on {self.port} answered {line!r} to {cmd!r}")
            if not self._unsolicited(line):
                info.append(line)

    def setup(self):
        """Reset the modem into voice mode with caller-ID reports; return the modem's identification."""
        self.command("ATZ")
        self.command("ATE0")
        _, ident = self.command("ATI3")
        _, classes = self.command("AT+FCLASS=?")
        if classes and "8" not in classes[0].replace(" ", "").split(","):
            raise HardwareError(f"modem on {self.port} is not a voice modem (AT+FCLASS=? gave {classes[0]!r})")
        self.command("AT+FCLASS=8")
        self.caller_id = self._enable_caller_id()
        self.command(f"AT+VSM={self.vsm}")
        self.command("AT+VLS=0")
        return " ".join(ident)

    def _enable_caller_id(self):
        """Turn on formatted caller-ID reports; return the command that worked, or None if none did."""
        for cmd in ("AT+VCID=1", "AT#CID=1"):  # V.253, then the older Rockwell form many chipsets keep
            try:
                self.command(cmd)
                return cmd
            except HardwareError:
                continue
        return None

    def poll(self, wait=0.0):
        """Return the events (rings, caller ID, DTMF...) the modem reported since the last poll."""
        self._check_open()
        if self.mode == "command":
            deadline = time.monotonic() + wait
            while True:
                line = self._readline(deadline)
                if line is None:
                    break
                if line:
                    self._unsolicited(line)
                deadline = time.monotonic()  # after the first line, drain only what is already there
            if self._cid and not self._buf:  # a complete caller-ID block: report it before the next ring
                self._flush_cid()
        events, self._events = self._events, []
        return events

    def go_off_hook(self):
        """Seize the line (AT+VLS=1); return None."""
        self._flush_cid()
        self.command("AT+VLS=1")
        self.off_hook = True

    def go_on_hook(self):
        """Leave any voice stream and release the line; return None."""
        if self.mode != "command":
            self.stop()
        self.command("AT+VLS=0")
        self.off_hook = False

    def dial(self, number):
        """Dial number (ATD) and wait until the modem reports the far end answered (VCON/OK); return None."""
        self.command(f"ATD{number}")
        self.off_hook = True

    def send_dtmf(self, digits):
        """Send DTMF digits with AT+VTS; return None."""
        for d in digits:
            if d not in "0123456789*#ABCD":
                raise ValueError(f"not a DTMF digit: {d!r}")
        self.command("AT+VTS=" + ",".join(digits))

    # --- voice streams ---
    def start(self, duplex=True):
        """Enter voice streaming: AT+VTR (both ways) or AT+VRX (receive only); return None."""
        self.command("AT+VTR" if duplex else "AT+VRX", final=("CONNECT",))
        self.mode = "duplex" if duplex else "receive"
        self._decoder = DleDecoder()

    def read_voice(self, max_bytes=4096):
        """Return (int16 samples, events) received since the last call (non-blocking)."""
        self._check_open()
        if self.mode == "command":
            raise HardwareError(f"voice modem on {self.port} is not streaming voice")
        raw = bytes(self._buf) + self.ser.read(max_bytes)
        self._buf.clear()
        audio, shielded = self._decoder.feed(raw)
        events = []
        for ev in shielded:
            if ev.kind == "dtmf":
                events.append(ModemEvent("dtmf", digit=ev.digit))
            elif ev.kind == "end":
                self.mode = "command"
            else:
                events.append(ModemEvent(ev.kind))
        if self._decoder.ended:
            self._buf += self._decoder.leftover
            self._decoder = None
        return u8_to_int16(audio), events

    def write_voice(self, samples):
        """Send int16 samples on the duplex stream; return the number of samples queued."""
        self._check_open()
        if self.mode != "duplex":
            raise HardwareError(f"voice modem on {self.port} is not in duplex voice mode")
        data = int16_to_u8(np.asarray(samples, dtype=np.int16))
        self.ser.write(dle_escape(data))
        return len(data)

    def stop(self):
        """End the voice stream (DLE ! for receive, DLE ETX for duplex) and return to command mode; return None."""
        if self.mode == "command":
            return
        self.ser.write(end_of_transmit() if self.mode == "duplex" else bytes((DLE, ord("!"))))
        deadline = time.monotonic() + self.timeout
        while self.mode != "command":
            if time.monotonic() > deadline:
                raise HardwareError(f"voice modem on {self.port} did not end the voice stream")
            _, events = self.read_voice()
            self._events += events
        self._wait_final(deadline, "sent no result after the voice stream")

    def play(self, samples):
        """Transmit samples with AT+VTX and wait until the modem has played them; return None."""
        self.command("AT+VTX", final=("CONNECT",))
        data = int16_to_u8(np.asarray(samples, dtype=np.int16))
        self.ser.write(dle_escape(data) + end_of_transmit())
        deadline = time.monotonic() + self.timeout + len(data) / 8000.0
        self._wait_final(deadline, "did not finish playing")

    def _wait_final(self, deadline, complaint):
        while True:
            line = self._readline(deadline)
            if line is None:
                raise HardwareError(f"voice modem on {self.port} {complaint}")
            if line in FINAL_OK:
                return
            if line:
                self._unsolicited(line)

    def _check_open(self):
        if self.ser is None:
            raise ChannelClosedError(f"voice modem on {self.port} is closed")

    def close(self):
        """Hang up if needed and close the serial port; return None (idempotent)."""
        if self.ser is None:
            return
        try:
            if self.mode != "command" or self.off_hook:
                self.go_on_hook()
        except HardwareError:
            pass  # closing anyway; the port is going away
        finally:
            self.ser.close()
            self.ser = None
