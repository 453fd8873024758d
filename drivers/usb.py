"""USB telephony devices: find them by vendor/product id and load their firmware (pyusb).

Many USB telephony boxes are built on a Cypress EZ-USB (FX/FX2) controller that enumerates with
no firmware; the host writes the firmware into its RAM with vendor request 0xA0 while the CPU is
held in reset through the CPUCS register, then releases the CPU and the device re-enumerates
with its working product id. This module does that step from an Intel HEX file.
"""
import time
from dataclasses import dataclass

from pycallcenter.errors import DecodeError, HardwareError

# Vendor request that reads/writes the EZ-USB's internal RAM (handled by its boot ROM).
EZUSB_FIRMWARE_LOAD = 0xA0
# CPUCS: the register whose bit 0 holds the 8051 in reset; its address differs by family.
CPUCS = {"fx": 0x7F92, "fx2": 0xE600}
CHUNK = 64  # bytes per control transfer (the boot ROM's limit on full-speed endpoint 0)


@dataclass(frozen=True)
class UsbModel:
    """A device model we know: ids, a name, and the EZ-USB family when it needs firmware (else None)."""

    vendor: int
    product: int
    name: str
    ezusb: str = None
    firmware: str = None  # default firmware file name for this model, looked up by the caller


# Ids we recognise out of the box; integrators add theirs with `models=` (or the board config).
KNOWN_MODELS = (
    UsbModel(0x04B4, 0x8613, "Cypress EZ-USB FX2 without firmware", ezusb="fx2"),
    UsbModel(0x0547, 0x2131, "Anchor/Cypress EZ-USB FX without firmware", ezusb="fx"),
)


@dataclass
class UsbTelephonyDevice:
    """A found device: its pyusb handle and the model entry that matched."""

    device: object
    model: UsbModel

    @property
    def location(self):
        """Return 'bus:address' of the device."""
        return f"{self.device.bus}:{self.device.address}"


def _usb_core():
    try:
        import usb.core
    except ImportError as exc:
        raise HardwareError("the USB backend needs pyusb (pip install pyusb) and libusb-1.0") from exc
    return usb.core


def find_devices(models=KNOWN_MODELS, backend=None):
    """Return the UsbTelephonyDevice list of attached devices matching models (by vendor and product id)."""
    core = _usb_core()
    wanted = {(m.vendor, m.product): m for m in models}
    try:
        found = core.find(find_all=True, backend=backend,
                          custom_match=lambda d: (d.idVendor, d.idProduct) in wanted)
        return [UsbTelephonyDevice(d, wanted[(d.idVendor, d.idProduct)]) for d in found]
    except core.NoBackendError as exc:
        raise HardwareError("no USB backend: install libusb-1.0 (Debian package libusb-1.0-0)") from exc


def parse_ihex(text):
    """Return [(address, bytes)] data records of an Intel HEX file; raises DecodeError on bad records."""
    records = []
    base = 0
    for lineno, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line:
            continue
        where = f"line {lineno}"
        if not line.startswith(":"):
            raise DecodeError("record does not start with ':'", element=where, offset=0)
        try:
            body = bytes.fromhex(line[1:])
        except ValueError as exc:
            raise DecodeError(f"not hexadecimal: {exc}", element=where, offset=1) from exc
        if len(body) < 5 or len(body) != body[0] + 5:
            raise DecodeError(f"record length {len(body)} does not match its count {body[0] if body else 0}",
                              element=where, offset=1)
        if sum(body) & 0xFF:
            raise DecodeError("checksum mismatch", element=where, offset=len(line) - 2)
        count, addr, kind, data = body[0], (body[1] << 8) | body[2], body[3], body[4:4 + body[0]]
        if kind == 0x00:
            records.append((base + addr, bytes(data)))
        elif kind == 0x01:
            return records
        elif kind == 0x02 and count == 2:
            base = ((data[0] << 8) | data[1]) << 4
        elif kind == 0x04 and count == 2:
            base = ((data[0] << 8) | data[1]) << 16
        elif kind in (0x03, 0x05):
            continue  # start addresses: the boot ROM starts at 0 regardless
        else:
            raise DecodeError(f"unknown record type {kind:#04x}", element=where, offset=7)
    raise DecodeError("no end-of-file record", element=f"line {lineno if text else 0}")


def _write_ram(dev, address, data, timeout):
    for off in range(0, len(data), CHUNK):
        part = data[off:off + CHUNK]
        written = dev.ctrl_transfer(0x40, EZUSB_FIRMWARE_LOAD, (address + off) & 0xFFFF, 0, part, timeout)
        if written != len(part):
            raise HardwareError(f"USB device wrote {written} of {len(part)} firmware bytes at {address + off:#06x}")


def load_firmware(found, hex_text, *, family=None, timeout=1000):
    """Load Intel HEX firmware into an EZ-USB device's RAM and start it; return the number of bytes loaded."""
    family = family or found.model.ezusb
    if family not in CPUCS:
        raise HardwareError(f"{found.model.name} at {found.location} takes no EZ-USB firmware load "
                            f"(family {family!r}; known: {', '.join(CPUCS)})")
    records = parse_ihex(hex_text)
    dev = found.device
    try:
        _write_ram(dev, CPUCS[family], b"\x01", timeout)  # hold the CPU in reset while its RAM changes
        total = 0
        for address, data in records:
            _write_ram(dev, address, data, timeout)
            total += len(data)
        _write_ram(dev, CPUCS[family], b"\x00", timeout)  # run; the device now re-enumerates
    except HardwareError:
        raise
    except Exception as exc:  # pyusb raises USBError (an IOError) for stalls, timeouts, unplugging
        raise HardwareError(f"firmware load into {found.model.name} at {found.location} failed: {exc}") from exc
    return total


def wait_for(models, backend=None, timeout=5.0, interval=0.1):
    """Return the devices matching models once at least one is attached (after a firmware load re-enumerates)."""
    deadline = time.monotonic() + timeout
    while True:
        found = find_devices(models, backend=backend)
        if found or time.monotonic() >= deadline:
            break
        time.sleep(interval)
    if not found:
        names = ", ".join(f"{m.name} ({m.vendor:04x}:{m.product:04x})" for m in models)
        raise HardwareError(f"no USB device appeared within {timeout} s: {names}")
    return found
