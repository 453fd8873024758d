"""Speech, loss patterns and quality measures shared by the concealment tests and bench/bench_plc.py.

Speech comes from espeak-ng (four voices), resampled to 8 kHz by sox. Loss patterns are per packet
(20 ms): independent random loss, and bursty loss from a two-state Gilbert-Elliott chain. Quality is
measured against the unimpaired signal: segmental SNR over the lost packets (or the packets right
after a loss), and PESQ (ITU-T P.862 narrow band, through the PyPI `pesq` package) over the whole
utterance.
"""
import functools
import shutil
import subprocess

import numpy as np

RATE = 8000
PACKET = 160  # 20 ms RTP packets

SENTENCES = (
    ("en", "Thank you for calling. All of our agents are busy helping other customers."),
    ("en+f3", "Please stay on the line and your call will be answered in the order it was received."),
    ("en-us", "To hear your account balance, press one. To speak with an operator, press zero."),
    ("en+f2", "Your estimated waiting time is four minutes. We appreciate your patience today."),
)


@functools.lru_cache(maxsize=None)
def speech():
    """Return int16 speech at 8 kHz (about 20 s, four sentences and voices), or raise RuntimeError."""
    espeak, sox = shutil.which("espeak-ng"), shutil.which("sox")
    if espeak is None or sox is None:
        raise RuntimeError("espeak-ng and sox are needed for the speech corpus (Makefile DEB_PACKAGES)")
    parts = []
    for voice, text in SENTENCES:
        wav = subprocess.run([espeak, "-v", voice, "-s", "150", "--stdout", text], check=True,
                             capture_output=True).stdout
        # -D: no dither, which sox adds at random by default; the corpus must be the same on every run
        raw = subprocess.run([sox, "-D", "-t", "wav", "-", "-r", str(RATE), "-b", "16", "-c", "1", "-e", "signed",
                              "-t", "raw", "-"], input=wav, check=True, capture_output=True).stdout
        parts.append(np.frombuffer(raw, dtype="<i2"))
        parts.append(np.zeros(RATE // 4, np.int16))
    x = np.concatenate(parts)
    return x[: x.size // PACKET * PACKET].copy()


def random_loss(packets, rate, seed):
    """Return a bool mask of packets lost independently with probability rate."""
    return np.random.default_rng(seed).random(packets) < rate


def gilbert_elliott(packets, p_loss_start, p_loss_end, seed, loss_in_bad=1.0, loss_in_good=0.0):
    """Return a bool loss mask from a Gilbert-Elliott chain (good -> bad with p_loss_start, back with p_loss_end)."""
    rng = np.random.default_rng(seed)
    u, v = rng.random(packets), rng.random(packets)
    lost = np.zeros(packets, bool)
    bad = False
    for i in range(packets):
        bad = (u[i] >= p_loss_end) if bad else (u[i] < p_loss_start)
        lost[i] = v[i] < (loss_in_bad if bad else loss_in_good)
    return lost


# name -> function(packets, seed) returning the mask; the bursty pattern averages about 5 % loss in bursts
# of 3 packets (60 ms) on average.
PATTERNS = {
    "random 1%": lambda n, s: random_loss(n, 0.01, s),
    "random 3%": lambda n, s: random_loss(n, 0.03, s),
    "random 5%": lambda n, s: random_loss(n, 0.05, s),
    "random 10%": lambda n, s: random_loss(n, 0.10, s),
    "bursty 5% (Gilbert-Elliott)": lambda n, s: gilbert_elliott(n, 0.0175, 1 / 3, s),
}


def conceal(concealer, x, lost, ticks_per_call=1):
    """Run a one-channel concealer over x in packets; return its output aligned with x (its delay removed)."""
    delay = concealer.delay
    padded = np.concatenate([x, np.zeros(PACKET * -(-delay // PACKET), np.int16)])
    mask = np.concatenate([lost, np.zeros(padded.size // PACKET - lost.size, bool)])
    step = PACKET * ticks_per_call
    out = np.empty_like(padded)
    for i in range(0, padded.size, step):
        blk = padded[i:i + step].reshape(1, -1)
        m = mask[i // PACKET:(i + blk.shape[1]) // PACKET].reshape(1, -1)
        out[i:i + blk.shape[1]] = concealer.process(blk, m)[0]
    return out[delay:delay + x.size]


def zero_fill(x, lost):
    """Return x with every lost packet replaced by silence (no concealment)."""
    y = x.reshape(-1, PACKET).copy()
    y[lost] = 0
    return y.reshape(-1)


def recovered(lost):
    """Return the mask of packets received right after a lost one (where concealment merges back)."""
    return np.concatenate([[False], lost[:-1]]) & ~lost


def seg_snr(ref, deg, packets, floor_db=-10.0, ceil_db=35.0, min_level_db=-50.0):
    """Return mean segmental SNR (dB) of deg against ref over the 20 ms packets marked, skipping near-silence.

    Per-packet SNR is clamped to [floor_db, ceil_db], the usual bounds; packets whose reference power is
    below min_level_db relative to full scale are skipped (there is nothing to conceal there).
    """
    r = ref.reshape(-1, PACKET).astype(np.float64)[packets]
    d = deg.reshape(-1, PACKET).astype(np.float64)[packets]
    sig = (r * r).sum(axis=1)
    err = ((r - d) ** 2).sum(axis=1)
    keep = sig / PACKET > 32768.0**2 * 10 ** (min_level_db / 10)
    snr = 10 * np.log10(sig[keep] / np.maximum(err[keep], 1e-9))
    return float(np.clip(snr, floor_db, ceil_db).mean())


def pesq_nb(ref, deg):
    """Return the PESQ (P.862 narrow band, MOS-LQO) score of deg against ref at 8 kHz."""
    from pesq import pesq

    return float(pesq(RATE, ref.astype(np.float32) / 32768, deg.astype(np.float32) / 32768, "nb"))


def score_patterns(concealers, seeds=(1, 2, 3)):
    """Return {pattern: {name: (PESQ, lost-packet seg. SNR, recovered-packet seg. SNR)}}, means over seeds.

    concealers maps a name to a factory of one-channel concealers (``process(block, lost)``, ``delay``), or
    to None for zero-fill.
    """
    x = speech()
    table = {}
    for pattern, make_mask in PATTERNS.items():
        rows = {name: [] for name in concealers}
        for seed in seeds:
            lost = make_mask(x.size // PACKET, seed)
            for name, factory in concealers.items():
                y = zero_fill(x, lost) if factory is None else conceal(factory(), x, lost)
                rows[name].append((pesq_nb(x, y), seg_snr(x, y, lost), seg_snr(x, y, recovered(lost))))
        table[pattern] = {name: tuple(float(v) for v in np.mean(r, axis=0)) for name, r in rows.items()}
    return table


def main():
    """Print the quality table of docs/plc.md: ours vs spandsp vs zero-fill on every loss pattern."""
    import os
    import sys

    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    from peers import spandsp_plc
    from pycallcenter.dsp.plc import PacketLossConcealer

    names = {"ours": lambda: PacketLossConcealer(1), "spandsp": lambda: spandsp_plc.Concealer(1), "zero-fill": None}
    table = score_patterns(names)
    print(f"speech: {speech().size / RATE:.1f} s, 20 ms packets, seeds 1-3 (means)\n")
    print("| loss pattern | PESQ ours / spandsp / zero-fill | seg. SNR lost packets (dB) | seg. SNR next packet (dB) |")
    print("|---|---|---|---|")
    for pattern, row in table.items():
        cols = [" / ".join(f"{row[n][k]:.{2 if k == 0 else 1}f}" for n in names) for k in range(3)]
        print(f"| {pattern} | {cols[0]} | {cols[1]} | {cols[2]} |")


if __name__ == "__main__":
    main()
