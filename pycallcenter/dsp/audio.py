"""Audio files in and out: anything soundfile reads, or raw G.711, as 8 kHz mono int16."""
import numpy as np

from pycallcenter.dsp import SAMPLE_RATE, g711


def resample(x, rate_in, rate_out=SAMPLE_RATE, taps=32):
    """Return float64 samples resampled from rate_in to rate_out with a Kaiser-windowed sinc."""
    x = np.asarray(x, dtype=np.float64)
    if rate_in == rate_out or x.size == 0:
        return x.copy()
    if rate_in <= 0 or rate_out <= 0:
        raise ValueError(f"sample rates must be positive, got {rate_in} -> {rate_out}")
    n_out = int(np.floor(x.size * rate_out / rate_in))
    cutoff = min(1.0, rate_out / rate_in) * 0.95  # fraction of the input Nyquist band kept
    half = int(np.ceil(taps / min(1.0, rate_out / rate_in) / 2))
    pad = np.concatenate([np.zeros(half), x, np.zeros(half + 1)])
    out = np.empty(n_out)
    block = 8192
    k = np.arange(-half + 1, half + 1)
    for start in range(0, n_out, block):
        t = np.arange(start, min(n_out, start + block)) * (rate_in / rate_out)
        base = np.floor(t).astype(np.int64)
        frac = t - base
        idx = base[:, None] + k[None, :] + half
        # rational rate changes repeat a few fractional offsets: build each filter phase once
        phases, which = np.unique(np.round(frac, 9), return_inverse=True)
        d = phases[:, None] - k[None, :]
        h = cutoff * np.sinc(cutoff * d) * _kaiser(d, half)
        out[start:start + t.size] = (pad[idx] * h[which.ravel()]).sum(axis=1)
    return out


def _kaiser(d, half, beta=8.0):
    """Kaiser window evaluated at fractional offsets d within [-half, half]."""
    r = np.clip(d / half, -1.0, 1.0)
    return np.i0(beta * np.sqrt(1.0 - r * r)) / np.i0(beta)


def to_int16(x):
    """Return float samples (full scale +-32768) rounded and clipped to int16."""
    return np.clip(np.rint(x), -32768, 32767).astype(np.int16)


# What read_audio accepts, checked from the file's header before any sample is decoded: a header
# claiming a 1 Hz rate (a 8000x upsampling) or billions of frames must not exhaust memory.
MIN_RATE, MAX_RATE = 4000, 384000
MAX_CHANNELS = 16
MAX_SECONDS = 4 * 3600  # of audio at 8 kHz: a long recording, 230 MB as int16
MAX_INPUT_SAMPLES = 1 << 27  # frames x channels decoded at once (1 GiB as float64)


def read_audio(path, law=None):
    """Return the file's audio as 8 kHz mono int16.

    ``law`` ('ulaw' or 'alaw') reads the file as raw G.711 bytes; otherwise soundfile decodes
    it (WAV, FLAC, OGG, ...), channels are averaged and the rate converted to 8 kHz.
    Raises ValueError naming the file when it is not audio.
    """
    if law is not None:
        decoders = {"ulaw": g711.ulaw_decode, "alaw": g711.alaw_decode}
        if law not in decoders:
            raise ValueError(f"law must be 'ulaw' or 'alaw', got {law!r}")
        limit = MAX_SECONDS * SAMPLE_RATE
        with open(path, "rb") as fh:
            data = np.frombuffer(fh.read(limit + 1), dtype=np.uint8)  # bounded: /dev/zero never ends
        if data.size == 0:
            raise ValueError(f"{path}: empty file")
        if data.size > limit:
            raise ValueError(f"{path}: more than {MAX_SECONDS} seconds of raw {law} audio")
        return decoders[law](data)
    import soundfile as sf

    try:
        info = sf.info(str(path))
        _check_header(path, info.samplerate, info.channels, info.frames)
        data, rate = sf.read(str(path), dtype="float64", always_2d=True)
    except (RuntimeError, sf.LibsndfileError) as exc:
        raise ValueError(f"{path}: not an audio file soundfile can read ({exc})") from None
    if data.size == 0:
        raise ValueError(f"{path}: no audio samples")
    finite = np.isfinite(data)
    if not finite.all():
        # a float WAV may hold NaN or infinity: cast to int16 they became arbitrary full-scale clicks (and
        # the resampler spread one over its whole filter), with a RuntimeWarning per call
        frame, channel = np.argwhere(~finite)[0]
        raise ValueError(f"{path}: sample {frame} (channel {channel + 1}) is {data[frame, channel]}, not a number "
                         "audio can hold")
    mono = data.mean(axis=1) * 32768.0
    return to_int16(resample(mono, rate, SAMPLE_RATE))


def _check_header(path, rate, channels, frames):
    """Raise ValueError naming the file when its header's rate, channels or length is out of bounds."""
    if not MIN_RATE <= rate <= MAX_RATE:
        raise ValueError(f"{path}: sample rate {rate} Hz is outside {MIN_RATE}..{MAX_RATE} Hz")
    if not 1 <= channels <= MAX_CHANNELS:
        raise ValueError(f"{path}: {channels} channels (at most {MAX_CHANNELS})")
    if frames > MAX_SECONDS * rate or frames * channels > MAX_INPUT_SAMPLES:
        raise ValueError(f"{path}: {frames} frames at {rate} Hz is more than {MAX_SECONDS} seconds "
                         f"or {MAX_INPUT_SAMPLES} samples")


def write_audio(path, samples, rate=SAMPLE_RATE, subtype="PCM_16"):
    """Write int16 samples to path in the format its suffix names (WAV, FLAC, OGG); return None.

    Raises ValueError naming the file when its suffix names no format soundfile writes, or when the
    file cannot be written (a missing folder, no permission, a full disk).
    """
    import soundfile as sf

    samples = np.asarray(samples)
    if samples.dtype != np.int16:
        raise TypeError(f"expected int16 samples, got {samples.dtype}")
    name = str(path)
    suffix = name.rsplit(".", 1)[-1].upper() if "." in name.rsplit("/", 1)[-1] else ""
    if suffix not in sf.available_formats():
        raise ValueError(f"{name}: unknown audio suffix; use .wav, .flac, ... or --law for raw G.711")
    try:
        sf.write(name, samples, rate, subtype=subtype)
    except (RuntimeError, sf.LibsndfileError) as exc:
        # libsndfile says only "System error." for a missing folder: name the file and what failed
        raise ValueError(f"{name}: cannot write audio ({exc})") from None
