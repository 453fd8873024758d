"""USB device discovery and the EZ-USB firmware load, against a fake pyusb backend."""

import pytest
import usb.backend

from pycallcenter.drivers.usb import KNOWN_MODELS, UsbModel, find_devices, load_firmware, parse_ihex, wait_for
from pycallcenter.errors import DecodeError, HardwareError


class _Desc:
    def __init__(self, vendor, product, address):
        self.bLength, self.bDescriptorType, self.bcdUSB = 18, 1, 0x0200
        self.bDeviceClass = self.bDeviceSubClass = self.bDeviceProtocol = 0xFF
        self.bMaxPacketSize0 = 64
        self.idVendor, self.idProduct, self.bcdDevice = vendor, product, 0x0001
        self.iManufacturer = self.iProduct = self.iSerialNumber = 0
        self.bNumConfigurations = 1
        self.address, self.bus, self.port_number, self.port_numbers, self.speed = address, 1, address, (address,), 2


class FakeUsbBackend(usb.backend.IBackend):
    """Devices from a list of (vendor, product); records every control transfer as (device, request, value, data)."""

    def __init__(self, devices, fail_at=None):
        self.descs = [_Desc(v, p, i + 2) for i, (v, p) in enumerate(devices)]
        self.transfers = []
        self.ram = {}
        self.fail_at = fail_at
        self.renumerate_as = None  # product id the device takes once its firmware runs

    def enumerate_devices(self):
        return iter(self.descs)

    def get_device_descriptor(self, dev):
        return dev

    def open_device(self, dev):
        return dev

    def close_device(self, handle):
        pass

    def ctrl_transfer(self, handle, bmRequestType, bRequest, wValue, wIndex, data, timeout):
        if self.fail_at is not None and wValue == self.fail_at:
            raise usb.core.USBError("Pipe error", errno=32)
        payload = bytes(data)
        self.transfers.append((handle.idProduct, bmRequestType, bRequest, wValue, payload))
        for i, b in enumerate(payload):
            self.ram[wValue + i] = b
        if (wValue, payload) == (0xE600, b"\x00") and self.renumerate_as:  # CPU released: firmware runs
            handle.idProduct = self.renumerate_as
        return len(payload)


def _ihex_record(addr, kind, data):
    body = bytes([len(data), addr >> 8, addr & 0xFF, kind]) + data
    return ":" + (body + bytes([(-sum(body)) & 0xFF])).hex().upper()


FIRMWARE = "\n".join([
    _ihex_record(0x0000, 0, bytes(range(16))),
    _ihex_record(0x0100, 0, bytes(range(100, 200))),  # more than one 64-byte chunk
    _ihex_record(0x0000, 1, b""),
])


def test_find_matches_vendor_and_product():
    backend = FakeUsbBackend([(0x1234, 0x0001), (0x04B4, 0x8613), (0x04B4, 0x1004)])
    found = find_devices(backend=backend)
    assert [(f.device.idVendor, f.device.idProduct, f.model.ezusb) for f in found] == [(0x04B4, 0x8613, "fx2")]
    extra = UsbModel(0x1234, 0x0001, "test box")
    assert [f.model.name for f in find_devices(KNOWN_MODELS + (extra,), backend=backend)] == [
        "test box", "Cypress EZ-USB FX2 without firmware"]


def test_firmware_load_holds_reset_writes_ram_and_releases():
    backend = FakeUsbBackend([(0x04B4, 0x8613)])
    (dev,) = find_devices(backend=backend)
    assert load_firmware(dev, FIRMWARE) == 116
    t = backend.transfers
    assert t[0][1:] == (0x40, 0xA0, 0xE600, b"\x01")
    assert t[-1][1:] == (0x40, 0xA0, 0xE600, b"\x00")
    assert all(len(x[4]) <= 64 for x in t)
    assert bytes(backend.ram[a] for a in range(16)) == bytes(range(16))
    assert bytes(backend.ram[0x100 + i] for i in range(100)) == bytes(range(100, 200))


def test_firmware_load_failure_is_a_hardware_error():
    backend = FakeUsbBackend([(0x04B4, 0x8613)], fail_at=0x0100)
    (dev,) = find_devices(backend=backend)
    with pytest.raises(HardwareError, match="firmware load .* failed"):
        load_firmware(dev, FIRMWARE)


def test_device_without_ezusb_family_is_refused():
    backend = FakeUsbBackend([(0x1234, 0x0001)])
    (dev,) = find_devices((UsbModel(0x1234, 0x0001, "plain box"),), backend=backend)
    with pytest.raises(HardwareError, match="plain box"):
        load_firmware(dev, FIRMWARE)


def test_ihex_rejects_bad_checksum_and_missing_eof():
    good = _ihex_record(0x10, 0, b"\x01\x02")
    assert parse_ihex(good + "\n:00000001FF") == [(0x10, b"\x01\x02")]
    bad = good[:-2] + ("00" if good[-2:] != "00" else "01")
    with pytest.raises(DecodeError, match="line 1.*checksum"):
        parse_ihex(bad + "\n:00000001FF")
    with pytest.raises(DecodeError, match="end-of-file"):
        parse_ihex(good)
    ext = _ihex_record(0, 4, b"\x00\x01") + "\n" + _ihex_record(0x20, 0, b"\xAA") + "\n:00000001FF"
    assert parse_ihex(ext) == [(0x10020, b"\xAA")]


def test_device_comes_back_with_its_working_id_after_the_load():
    backend = FakeUsbBackend([(0x04B4, 0x8613)])
    backend.renumerate_as = 0x1004
    working = UsbModel(0x04B4, 0x1004, "test box with firmware")
    (dev,) = find_devices(backend=backend)
    with pytest.raises(HardwareError, match="test box with firmware .04b4:1004"):
        wait_for([working], backend=backend, timeout=0.05, interval=0.01)
    load_firmware(dev, FIRMWARE)
    assert [f.model.name for f in wait_for([working], backend=backend, timeout=1.0)] == ["test box with firmware"]
