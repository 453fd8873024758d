# distutils: sources = _native/src/echo.c
"""Line echo canceller kernel over (channels x samples) blocks; pycallcenter.dsp.echo is the checked public face."""
from libc.stdint cimport int8_t, int16_t, int32_t, int64_t

cdef extern from "pycc_echo.h":
    int GAIN_EVERY "PYCC_ECHO_GAIN_EVERY"
    int MAX_BLOCK "PYCC_ECHO_MAX_BLOCK"
    int BLOCK "PYCC_ECHO_BLOCK"
    int COPY_BLOCKS "PYCC_ECHO_COPY_BLOCKS"
    int TONE_BLOCK "PYCC_ECHO_TONE_BLOCK"
    int NOISE_SUB "PYCC_ECHO_NOISE_SUB"
    int NOISE_SUBS "PYCC_ECHO_NOISE_SUBS"
    int NOISE_WARMUP "PYCC_ECHO_NOISE_WARMUP"
    int TONE_HOLD_BLOCKS "PYCC_ECHO_TONE_HOLD_BLOCKS"
    int V21_BLOCKS "PYCC_ECHO_V21_BLOCKS"
    int RELEASE_BLOCKS "PYCC_ECHO_RELEASE_BLOCKS"
    int BYPASS_RESET_BLOCKS "PYCC_ECHO_BYPASS_RESET_BLOCKS"
    int SETTLE_BLOCKS "PYCC_ECHO_SETTLE_BLOCKS"
    int WINDOW_BLOCKS "PYCC_ECHO_WINDOW_BLOCKS"
    int WINDOW_BEFORE "PYCC_ECHO_WINDOW_BEFORE"
    int WINDOW_AFTER "PYCC_ECHO_WINDOW_AFTER"
    int WINDOW_ROUND "PYCC_ECHO_WINDOW_ROUND"
    int RECORD "PYCC_ECHO_RECORD"
    int REPLAY_RATE "PYCC_ECHO_REPLAY_RATE"
    ctypedef struct pycc_echo_params_t:
        int taps
        float mu, alpha, geigel
        int hangover
        float nlp_ratio, nlp_far
        int nlp, cng, tone_disable, settle, window
        int place
        float window_floor
        long sleep_after, probe_every
        float hp_pole, short_a, noise_a, long_a, delta, dt_mu, guard_ratio, guard_a, copy_ratio, copy_gain, bypass_ratio, bg_reset_ratio, block_floor, above_noise
        float tone_purity, tone_level, quiet_level, reversal_cos, noise_bias, noise_start, converged_erle
        float settle_erle, settle_noise, settle_gain, leave_erle, leave_noise
        double far_active, far_sample
        float cos_table[3][160]
        float sin_table[3][160]
    ctypedef struct pycc_echo_t:
        pass
    pycc_echo_t *pycc_echo_new(int channels, const pycc_echo_params_t *params)
    void pycc_echo_free(pycc_echo_t *s)
    void pycc_echo_reset(pycc_echo_t *s, int channel)
    void pycc_echo_set_enabled(pycc_echo_t *s, int channel, int on)
    void pycc_echo_process(pycc_echo_t *s, const int16_t *far, const int16_t *near, int16_t *out, long samples,
                           const int32_t *rows, int nrows) nogil
    void pycc_echo_counters(const pycc_echo_t *s, float *l_x, float *l_y, float *l_e, int8_t *state,
                            int64_t *resets, int8_t *settled)
    void pycc_echo_windows(const pycc_echo_t *s, int32_t *lo, int32_t *hi)
    void pycc_echo_taps(const pycc_echo_t *s, int channel, float *wf, float *wb)


def layout():
    """Return the kernel's fixed structure (block sizes), for the twin test."""
    return {"GAIN_EVERY": GAIN_EVERY, "MAX_BLOCK": MAX_BLOCK, "BLOCK": BLOCK, "COPY_BLOCKS": COPY_BLOCKS, "TONE_BLOCK": TONE_BLOCK,
            "NOISE_SUB": NOISE_SUB, "NOISE_SUBS": NOISE_SUBS, "NOISE_WARMUP": NOISE_WARMUP, "TONE_HOLD_BLOCKS": TONE_HOLD_BLOCKS,
            "V21_BLOCKS": V21_BLOCKS, "RELEASE_BLOCKS": RELEASE_BLOCKS, "BYPASS_RESET_BLOCKS": BYPASS_RESET_BLOCKS,
            "SETTLE_BLOCKS": SETTLE_BLOCKS, "WINDOW_BLOCKS": WINDOW_BLOCKS, "WINDOW_BEFORE": WINDOW_BEFORE,
            "WINDOW_AFTER": WINDOW_AFTER, "WINDOW_ROUND": WINDOW_ROUND, "RECORD": RECORD, "REPLAY_RATE": REPLAY_RATE}


cdef class Kernel:
    """Native state for N channels; the dict of numbers comes from pycallcenter.dsp.echo (twin constants)."""

    cdef pycc_echo_t *s
    cdef readonly int channels, taps

    def __cinit__(self, int channels, dict pr):
        cdef pycc_echo_params_t p
        cdef int f, k
        if channels < 1:
            raise ValueError("channels must be >= 1")
        p.taps = pr["taps"]
        p.mu, p.alpha, p.geigel = pr["mu"], pr["alpha"], pr["geigel"]
        p.hangover, p.nlp_ratio, p.nlp_far = pr["hangover"], pr["nlp_ratio"], pr["nlp_far"]
        p.nlp, p.cng, p.tone_disable, p.settle = pr["nlp"], pr["cng"], pr["tone_disable"], pr["settle"]
        p.window, p.window_floor, p.place = pr["window"], pr["window_floor"], pr["place"]
        p.sleep_after, p.probe_every = pr["sleep_after"], pr["probe_every"]
        p.hp_pole, p.short_a, p.noise_a, p.long_a = pr["hp_pole"], pr["short_a"], pr["noise_a"], pr["long_a"]
        p.delta, p.copy_ratio, p.bypass_ratio = pr["delta"], pr["copy_ratio"], pr["bypass_ratio"]
        p.copy_gain, p.dt_mu, p.above_noise = pr["copy_gain"], pr["dt_mu"], pr["above_noise"]
        p.guard_ratio, p.guard_a = pr["guard_ratio"], pr["guard_a"]
        p.bg_reset_ratio, p.block_floor = pr["bg_reset_ratio"], pr["block_floor"]
        p.tone_purity, p.tone_level, p.quiet_level = pr["tone_purity"], pr["tone_level"], pr["quiet_level"]
        p.reversal_cos, p.noise_bias, p.noise_start = pr["reversal_cos"], pr["noise_bias"], pr["noise_start"]
        p.converged_erle, p.far_active = pr["converged_erle"], pr["far_active"]
        p.far_sample = pr["far_sample"]
        p.settle_erle, p.settle_noise, p.settle_gain = pr["settle_erle"], pr["settle_noise"], pr["settle_gain"]
        p.leave_erle, p.leave_noise = pr["leave_erle"], pr["leave_noise"]
        cos, sin = pr["cos"], pr["sin"]
        for f in range(3):
            for k in range(160):
                p.cos_table[f][k] = cos[f][k]
                p.sin_table[f][k] = sin[f][k]
        self.channels, self.taps = channels, p.taps
        self.s = pycc_echo_new(channels, &p)
        if self.s == NULL:
            raise MemoryError()

    def __dealloc__(self):
        if self.s != NULL:
            pycc_echo_free(self.s)

    def reset(self, int channel):
        """Clear one channel's state."""
        if not 0 <= channel < self.channels:
            raise ValueError(f"channel {channel} out of range")
        pycc_echo_reset(self.s, channel)

    def set_enabled(self, int channel, bint on):
        """Switch one channel on or off."""
        if not 0 <= channel < self.channels:
            raise ValueError(f"channel {channel} out of range")
        pycc_echo_set_enabled(self.s, channel, on)

    def process(self, const int16_t[:, ::1] far, const int16_t[:, ::1] near, int16_t[:, ::1] out,
                const int32_t[::1] rows=None):
        """Cancel echo on the listed rows (all when None), writing those rows of out."""
        cdef long samples = near.shape[1]
        cdef const int32_t *rp = NULL
        cdef int nrows = 0, i
        if far.shape[0] != self.channels or near.shape[0] != self.channels or out.shape[0] != self.channels:
            raise ValueError("wrong channel count")
        if far.shape[1] != samples or out.shape[1] != samples:
            raise ValueError("far, near and out differ in length")
        if rows is not None:
            nrows = rows.shape[0]
            for i in range(nrows):
                if not 0 <= rows[i] < self.channels:
                    raise ValueError(f"row {rows[i]} out of range")
            if nrows == 0:
                return
            rp = &rows[0]
        if samples == 0:
            return
        with nogil:
            pycc_echo_process(self.s, &far[0, 0], &near[0, 0], &out[0, 0], samples, rp, nrows)

    def counters(self, float[::1] l_x, float[::1] l_y, float[::1] l_e, int8_t[::1] state, int64_t[::1] resets,
                 int8_t[::1] settled):
        """Fill per-channel long-term powers, states, reset counts and steady-state flags."""
        pycc_echo_counters(self.s, &l_x[0], &l_y[0], &l_e[0], &state[0], &resets[0], &settled[0])

    def windows(self, int32_t[::1] lo, int32_t[::1] hi):
        """Fill each channel's active window [lo, hi) of background taps."""
        pycc_echo_windows(self.s, &lo[0], &hi[0])

    def taps_of(self, int channel, float[::1] wf, float[::1] wb):
        """Copy one channel's foreground and background taps."""
        if not 0 <= channel < self.channels:
            raise ValueError(f"channel {channel} out of range")
        pycc_echo_taps(self.s, channel, &wf[0], &wb[0])
