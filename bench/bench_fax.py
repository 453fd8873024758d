"""Fax throughput: our FaxSession (G.711 in and out, events) vs bare spandsp terminals, and whole calls
through the emulator. Sessions per core = 20 ms / (time per tick / sessions), from the fastest and the median round.

Each round is one 160-sample tick of PAIRS sender/receiver pairs in the middle of a V.17 page
(the busiest phase: the image modem runs both ways of the pair). Also here, not a benchmark:
``python bench/bench_fax.py impairments`` prints the success-rate table of docs/fax.md.
"""
import os
import sys
import tempfile

import numpy as np
import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CHART = os.path.join(os.path.dirname(ROOT), "shared", "testdata", "fax", "itu1_g4.tif")
PAIRS = 20
WARM_TICKS = 400  # past training, into the page


def _chart():
    if not os.path.exists(CHART):
        pytest.skip(f"{CHART} is absent")
    return CHART


def _warm(pairs, step):
    lines = [[np.zeros(160, np.int16), np.zeros(160, np.int16)] for _ in pairs]
    for _ in range(WARM_TICKS):
        step(pairs, lines)
    return lines


def _report(benchmark, sessions):
    # min is a quiet tick; the median is a typical one (training, image and idle ticks differ in cost)
    for stat in ("min", "median"):
        per_session = getattr(benchmark.stats.stats, stat) / sessions
        benchmark.extra_info[f"sessions_per_core_{stat}"] = round(0.020 / per_session)
        benchmark.extra_info[f"us_per_session_tick_{stat}"] = round(per_session * 1e6, 1)


def test_ours_fax_sessions_g711(benchmark, tmp_path):
    from pycallcenter.fax.session import FaxSession

    chart = _chart()
    pairs = [(FaxSession(calling=True, send=chart, modems=["v17"]),
              FaxSession(calling=False, receive=str(tmp_path / f"rx{i}.tif"), modems=["v17"])) for i in range(PAIRS)]

    def step(pairs, lines):
        for (tx, rx), ln in zip(pairs, lines):
            a, b = ln
            ln[0], ln[1] = tx.tick_g711(b, "ulaw"), rx.tick_g711(a, "ulaw")

    lines = [[np.full(160, 0xFF, np.uint8), np.full(160, 0xFF, np.uint8)] for _ in pairs]
    for _ in range(WARM_TICKS):
        step(pairs, lines)
    benchmark.pedantic(step, args=(pairs, lines), rounds=200, iterations=1)
    assert not any(tx.done for tx, _ in pairs)  # measured mid-call
    _report(benchmark, 2 * PAIRS)


def test_spandsp_bare_terminals_linear(benchmark, tmp_path):
    from pycallcenter.fax.loopback import SpandspTerminal

    chart = _chart()
    pairs = [(SpandspTerminal(calling=True, send=chart, modems=["v17"]),
              SpandspTerminal(calling=False, receive=str(tmp_path / f"rx{i}.tif"), modems=["v17"]))
             for i in range(PAIRS)]

    def step(pairs, lines):
        for (tx, rx), ln in zip(pairs, lines):
            a, b = ln
            ln[0], ln[1] = tx.step(b), rx.step(a)

    lines = _warm(pairs, step)
    benchmark.pedantic(step, args=(pairs, lines), rounds=200, iterations=1)
    _report(benchmark, 2 * PAIRS)


def test_whole_call_through_the_emulator(benchmark, tmp_path):
    from pycallcenter.apps.fax_loopback import run_loopback

    chart = _chart()
    out = {}

    def call():
        out["r"] = run_loopback(chart, direction="to-spandsp", received=str(tmp_path / "rx.tif"), modem="v17")

    benchmark.pedantic(call, rounds=3, iterations=1)
    assert out["r"].ours.ok
    benchmark.extra_info["line_seconds"] = out["r"].seconds
    benchmark.extra_info["x_real_time"] = round(out["r"].seconds / benchmark.stats.stats.min)


# --- impairment table (python bench/bench_fax.py impairments) --------------------------------------------
CONDITIONS = [(None, 0.0), (-55.0, 0.0), (-50.0, 0.0), (-47.0, 0.0), (-45.0, 0.0), (-40.0, 0.0),
              (None, -10.0), (None, -20.0), (None, -30.0), (-50.0, -10.0)]
MODEMS = ["v17", "v29", "v27ter"]


def impairment_table(seeds=(1, 2), ecm=True, stream=sys.stdout):
    """Print a markdown table of fax success (both directions x seeds) per line condition and modem."""
    from pycallcenter.apps.fax_loopback import run_loopback

    stream.write("| noise dBm0 | loss dB | " + " | ".join(MODEMS) + " |\n")
    stream.write("|---|---|" + "---|" * len(MODEMS) + "\n")
    with tempfile.TemporaryDirectory() as work:
        for noise, loss in CONDITIONS:
            cells = []
            for modem in MODEMS:
                ok = n = 0
                for direction in ("to-spandsp", "from-spandsp"):
                    for seed in seeds:
                        rx = os.path.join(work, "rx.tif")
                        if os.path.exists(rx):
                            os.unlink(rx)
                        r = run_loopback(CHART, direction=direction, received=rx, ecm=ecm, modem=modem, seed=seed,
                                         noise_dbm0=noise, level_db=loss or None, max_seconds=180.0)
                        n += 1
                        ok += bool(r.ours and r.ours.ok and r.far_status == 0)
                cells.append(f"{ok}/{n}")
            noise_text = "none" if noise is None else f"{noise:g}"
            stream.write(f"| {noise_text} | {abs(loss):g} | " + " | ".join(cells) + " |\n")
            stream.flush()


if __name__ == "__main__":
    if ROOT not in sys.path:
        sys.path.insert(0, ROOT)
    if sys.argv[1:2] == ["impairments"]:
        impairment_table(ecm="--no-ecm" not in sys.argv)
    else:
        print(__doc__)
