"""G.711 throughput: our kernels vs spandsp 0.0.6's, one 160-sample tick of 1,000 channels per call.

Channels per core = samples per second / 8000. spandsp runs through peers/spandsp.py's C batch
loops called on pre-cast pointers, so both sides pay one Python call per tick.
"""
import numpy as np
import pytest

from pycallcenter.dsp import TICK_SAMPLES, g711

CHANNELS = 1000
LAWS = ("ulaw", "alaw")


@pytest.fixture(scope="module")
def tick():
    """One tick of speech-level noise (about -20 dBFS), as int16 channels x samples."""
    rng = np.random.default_rng(711)
    return np.clip(rng.normal(0, 3000, (CHANNELS, TICK_SAMPLES)), -32768, 32767).astype(np.int16)


@pytest.fixture(scope="module")
def spandsp():
    """The spandsp peer (peers.spandsp), compiled on first use."""
    from peers import spandsp as sp

    sp.load()
    return sp


def _report(benchmark):
    per_call = benchmark.stats.stats.min
    channels = CHANNELS * TICK_SAMPLES / per_call / 8000
    benchmark.extra_info["channels_per_core"] = round(channels)
    print(f"\n{benchmark.name}: {channels:,.0f} channels per core")


def _spandsp_loop(spandsp, kind, law, src, dst):
    mod = spandsp.load()
    fn = getattr(mod.lib, f"peer_{law}_{kind}")
    types = {np.dtype(np.int16): "int16_t *", np.dtype(np.uint8): "uint8_t *"}
    p_src = mod.ffi.cast(types[src.dtype], src.ctypes.data)
    p_dst = mod.ffi.cast(types[dst.dtype], dst.ctypes.data)
    return lambda: fn(p_src, p_dst, src.size)


@pytest.mark.parametrize("law", LAWS)
def test_encode_ours(benchmark, tick, law):
    out = np.empty(tick.shape, np.uint8)
    benchmark(getattr(g711, f"{law}_encode"), tick, out=out)
    _report(benchmark)


@pytest.mark.parametrize("law", LAWS)
def test_encode_spandsp(benchmark, spandsp, tick, law):
    out = np.empty(tick.shape, np.uint8)
    benchmark(_spandsp_loop(spandsp, "encode", law, tick, out))
    _report(benchmark)


@pytest.mark.parametrize("law", LAWS)
def test_decode_ours(benchmark, tick, law):
    codes = getattr(g711, f"{law}_encode")(tick)
    out = np.empty(tick.shape, np.int16)
    benchmark(getattr(g711, f"{law}_decode"), codes, out=out)
    _report(benchmark)


@pytest.mark.parametrize("law", LAWS)
def test_decode_spandsp(benchmark, spandsp, tick, law):
    codes = getattr(g711, f"{law}_encode")(tick)
    out = np.empty(tick.shape, np.int16)
    benchmark(_spandsp_loop(spandsp, "decode", law, codes, out))
    _report(benchmark)


def test_transcode_ours(benchmark, tick):
    codes = g711.alaw_encode(tick)
    out = np.empty(tick.shape, np.uint8)
    benchmark(g711.alaw_to_ulaw, codes, out=out)
    _report(benchmark)
