"""Numpy twin of the FSK kernels (_native/fsk.pyx): the readable specification of the modem.

Both kernels use integer arithmetic only (apart from one rounded product per output sample) so
the native kernel reproduces the twin bit for bit on every platform.

Modulator: a 32-bit phase accumulator per channel indexes a 4096-entry sine table; the bit clock
adds ``baud`` per sample and moves to the next bit at each multiple of 8000, so a 1200-baud bit
lasts 6 or 7 samples (20/3 on average) and frequency and timing offsets are plain integers.

Demodulator: a quadrature correlator per tone, summed over a sliding window of WINDOW samples
(about one bit), gives the energies Em and Es; with q = (Em - Es) >> 2, the bit is mark when the
last three q add up to more than 0 (the vote halves the errors at 10 dB S/N). A sliding power sum
over POWER_WINDOW samples with hysteresis is the carrier detect. A UART then hunts for a run of
mark, takes the 1->0 edge of each start bit as its bit clock and samples every 20/3 samples.
A message is type, length, body, checksum: it ends after length + 3 bytes.
"""
import numpy as np

SAMPLE_RATE = 8000
STANDARDS = {"bell202": (1200.0, 2200.0), "v23": (1300.0, 2100.0)}  # (mark, space) Hz
BAUD = 1200
TABLE_BITS = 12
TABLE_SHIFT = 32 - TABLE_BITS
SINE = np.sin(2 * np.pi * np.arange(1 << TABLE_BITS) / (1 << TABLE_BITS))
REF_SCALE = 4095  # correlator reference amplitude: keeps every energy below 2**62
REF_COS = np.rint(REF_SCALE * np.cos(2 * np.pi * np.arange(1 << TABLE_BITS) / (1 << TABLE_BITS))).astype(np.int32)
REF_SIN = np.rint(REF_SCALE * np.sin(2 * np.pi * np.arange(1 << TABLE_BITS) / (1 << TABLE_BITS))).astype(np.int32)
MASK32 = 0xFFFFFFFF

WINDOW = 8  # correlator length in samples: one bit is 6.67; 8 separates the tones better
POWER_WINDOW = 32  # carrier detect power window (4 ms)
BIT_THIRDS = 3 * SAMPLE_RATE // BAUD  # one bit in thirds of a sample: 20
START_DELAY = 7  # thirds of a sample from the detected start edge to the first decision
MARK_RUN = 100  # samples of continuous mark (15 bits) before a start bit is believed
MAX_MESSAGE = 258  # type + length + 255 + checksum

HUNT, WAIT_START, BITS = 0, 1, 2
STATUS_OK, STATUS_FRAMING, STATUS_CARRIER = 0, 1, 2

FULL_SCALE = 32767.0
DBM0_FULL_SCALE_SINE = 3.14  # a full-scale sine is +3.14 dBm0


def dbm0_to_amplitude(dbm0):
    """Return the peak amplitude (int16 scale) of a sine at dbm0."""
    return FULL_SCALE * 10.0 ** ((dbm0 - DBM0_FULL_SCALE_SINE) / 20.0)


def power_threshold(dbm0):
    """Return the POWER_WINDOW sum of squares of a sine at dbm0 (the carrier detect's unit)."""
    a = dbm0_to_amplitude(dbm0)
    return int(POWER_WINDOW * a * a / 2)


def phase_increment(hz):
    """Return the 32-bit phase step per sample of a tone at hz."""
    return int(round(hz * 2.0 ** 32 / SAMPLE_RATE)) & MASK32


def frame_bits(message, seizure_bits, mark_bits, postamble_bits=8):
    """Return the uint8 bit stream: seizure 0101..., mark 1s, each byte 8N1 LSB first, then postamble 1s."""
    data = np.frombuffer(bytes(message), dtype=np.uint8)
    chars = np.zeros((data.size, 10), dtype=np.uint8)
    chars[:, 1:9] = (data[:, None] >> np.arange(8)) & 1
    chars[:, 9] = 1
    return np.concatenate([
        np.arange(seizure_bits, dtype=np.uint8) & 1,
        np.ones(mark_bits, dtype=np.uint8),
        chars.reshape(-1),
        np.ones(postamble_bits, dtype=np.uint8),
    ])


# -- modulator ------------------------------------------------------------------------------------
def new_tx_state(channels):
    """Return the modulator state arrays for channels."""
    return {
        "phase": np.zeros(channels, np.int64),  # 32-bit phase accumulator
        "acc": np.zeros(channels, np.int64),  # bit clock, 0..7999
    }


def modulate(out, bits, offsets, lengths, consumed, state, amp, inc, baud):
    """Fill out (channels, n) int16 from each channel's bits[offsets[c]:offsets[c]+lengths[c]].

    Writes the number of whole bits sent per channel into consumed; a channel silent once its
    bits run out (its bit clock restarts at 0 for the next message). inc is (channels, 2)
    phase steps for space (bit 0) and mark (bit 1); amp and baud are per channel.
    """
    channels, n = out.shape
    j = np.arange(n, dtype=np.int64)
    for c in range(channels):
        acc0, length = int(state["acc"][c]), int(lengths[c])
        bi = (acc0 + int(baud[c]) * j) // SAMPLE_RATE  # bit in flight at each sample
        m = int(np.count_nonzero(bi < length))
        cur = bits[offsets[c] + bi[:m]].astype(np.int64)
        steps = np.asarray(inc[c], dtype=np.uint64)[cur]
        ph = np.concatenate([[0], np.cumsum(steps)]).astype(np.uint64)
        ph = (np.uint64(state["phase"][c]) + ph) & np.uint64(MASK32)
        out[c, :m] = np.rint(amp[c] * SINE[(ph[:m] >> np.uint64(TABLE_SHIFT)).astype(np.int64)]).astype(np.int16)
        out[c, m:] = 0
        state["phase"][c] = int(ph[m])
        total = acc0 + int(baud[c]) * n
        if total // SAMPLE_RATE >= length:
            consumed[c] = length
            state["acc"][c] = 0
        else:
            consumed[c] = total // SAMPLE_RATE
            state["acc"][c] = total % SAMPLE_RATE


# -- demodulator ----------------------------------------------------------------------------------
def new_rx_state(channels):
    """Return the demodulator state arrays for channels."""
    return {
        "count": np.zeros(channels, np.int64),  # samples seen: the correlators' phase reference
        "ring": np.zeros((channels, 4, WINDOW), np.int32),  # last products, at count % WINDOW
        "pring": np.zeros((channels, POWER_WINDOW), np.int32),  # last squares, at count % POWER_WINDOW
        "sums": np.zeros((channels, 4), np.int64),
        "psum": np.zeros(channels, np.int64),
        "qhist": np.zeros((channels, 2), np.int64),  # the two q before the block, older first
        # carrier, state, mark run, clock (thirds), bit number, byte, bytes in message
        "uart": np.zeros((channels, 7), np.int32),
        "msg": np.zeros((channels, MAX_MESSAGE), np.uint8),
    }


def _window_sums(hist, new, w):
    """Return the sums of w consecutive values ending at each element of new (hist: the w-1 before)."""
    full = np.concatenate([hist, new], axis=-1)
    cs = np.concatenate([np.zeros(full.shape[:-1] + (1,), np.int64), np.cumsum(full, axis=-1)], axis=-1)
    return cs[..., w:] - cs[..., :-w]


def _history(ring, count, w):
    """Return the last w-1 values of a ring written at count % w, oldest first."""
    pos = (count - (w - 1) + np.arange(w - 1)) % w
    return ring[..., pos].astype(np.int64)


def discriminate(block, state, inc_mark, inc_space):
    """Return (d, p) for a (channels, n) block: the mark-minus-space vote and the power sum per sample."""
    channels, n = block.shape
    d = np.empty((channels, n), np.int64)
    p = np.empty((channels, n), np.int64)
    for c in range(channels):
        n0 = int(state["count"][c])
        x = block[c].astype(np.int64)
        t = (np.uint64(n0) + np.arange(n, dtype=np.uint64))
        im = (((t * np.uint64(inc_mark)) & np.uint64(MASK32)) >> np.uint64(TABLE_SHIFT)).astype(np.int64)
        is_ = (((t * np.uint64(inc_space)) & np.uint64(MASK32)) >> np.uint64(TABLE_SHIFT)).astype(np.int64)
        prod = np.stack([x * REF_COS[im], x * REF_SIN[im], x * REF_COS[is_], x * REF_SIN[is_]])
        s = _window_sums(_history(state["ring"][c], n0, WINDOW), prod, WINDOW)
        q = np.concatenate([state["qhist"][c], (s[0] * s[0] + s[1] * s[1] - s[2] * s[2] - s[3] * s[3]) >> 2])
        d[c] = q[2:] + q[1:-1] + q[:-2]
        state["qhist"][c] = q[-2:]
        sq = x * x
        p[c] = _window_sums(_history(state["pring"][c], n0, POWER_WINDOW), sq, POWER_WINDOW)
        for k in range(max(0, n - WINDOW), n):
            state["ring"][c, :, (n0 + k) % WINDOW] = prod[:, k]
        for k in range(max(0, n - POWER_WINDOW), n):
            state["pring"][c, (n0 + k) % POWER_WINDOW] = sq[k]
        state["sums"][c] = s[:, -1]
        state["psum"][c] = p[c, -1]
        state["count"][c] = n0 + n
    return d, p


def demodulate(block, state, inc_mark, inc_space, on_threshold, off_threshold):
    """Run one (channels, n) int16 block; return events [(channel, sample, status, bytes)]."""
    d, p = discriminate(block, state, inc_mark, inc_space)
    events = []
    for c in range(block.shape[0]):
        carrier, st, run, t, k, byte, nbytes = (int(v) for v in state["uart"][c])
        msg = state["msg"][c]
        for j in range(block.shape[1]):
            if not carrier:
                if p[c, j] < on_threshold:
                    continue
                carrier, st, run = 1, HUNT, 0
            elif p[c, j] < off_threshold:
                if nbytes:
                    events.append((c, j, STATUS_CARRIER, bytes(msg[:nbytes])))
                carrier, st, run, nbytes = 0, HUNT, 0, 0
                continue
            bit = 1 if d[c, j] > 0 else 0
            if st == HUNT:
                run = run + 1 if bit else 0
                if run >= MARK_RUN:
                    st = WAIT_START
            elif st == WAIT_START:
                if not bit:
                    st, t, k, byte = BITS, START_DELAY, 0, 0
            else:
                t -= 3
                if t > 0:
                    continue
                t += BIT_THIRDS
                if k == 0:
                    if bit:  # the start bit did not last: a glitch
                        st = WAIT_START
                        continue
                elif k <= 8:
                    byte |= bit << (k - 1)
                else:
                    if not bit:
                        if nbytes:
                            events.append((c, j, STATUS_FRAMING, bytes(msg[:nbytes])))
                        st, run, nbytes = HUNT, 0, 0
                        continue
                    msg[nbytes] = byte
                    nbytes += 1
                    if nbytes >= 2 and nbytes == int(msg[1]) + 3:
                        events.append((c, j, STATUS_OK, bytes(msg[:nbytes])))
                        st, run, nbytes = HUNT, 0, 0
                    else:
                        st = WAIT_START
                    continue
                k += 1
        state["uart"][c] = (carrier, st, run, t, k, byte, nbytes)
    return events
