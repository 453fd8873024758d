/* Line echo canceller kernel (G.168): see pycallcenter/dsp/reference/echo.py for the specification it reproduces. */
#ifndef PYCC_ECHO_H
#define PYCC_ECHO_H
#include <stdint.h>

/* Fixed structure, the same numbers as the twin (tests/test_echo_twin.py compares them through layout()). */
#define PYCC_ECHO_GAIN_EVERY 16
#define PYCC_ECHO_MAX_BLOCK 32
#define PYCC_ECHO_BLOCK 64
#define PYCC_ECHO_COPY_BLOCKS 3
#define PYCC_ECHO_TONE_BLOCK 40
#define PYCC_ECHO_NOISE_SUB 1600
#define PYCC_ECHO_NOISE_SUBS 8
#define PYCC_ECHO_NOISE_WARMUP 256
#define PYCC_ECHO_TONE_HOLD_BLOCKS 20
#define PYCC_ECHO_V21_BLOCKS 20
#define PYCC_ECHO_RELEASE_BLOCKS 50
#define PYCC_ECHO_BYPASS_RESET_BLOCKS 50
#define PYCC_ECHO_SETTLE_BLOCKS 32
#define PYCC_ECHO_WINDOW_BLOCKS 2  /* active window: judged blocks holding before it is taken (and retaken) */
#define PYCC_ECHO_WINDOW_BEFORE 16 /* taps kept before the first tap of the echo, and after the last */
#define PYCC_ECHO_WINDOW_AFTER 32
#define PYCC_ECHO_WINDOW_ROUND 32  /* window edges on multiples of this (the tap loops' stride) */
#define PYCC_ECHO_ENV_STEP 8         /* step 11, placed window: samples per envelope step */
#define PYCC_ECHO_PLACE_MIN_TAPS 512  /* shortest tail that places a window */
#define PYCC_ECHO_PLACE_STEPS 48      /* counted envelope steps (from a full tail of them) before a decision */
#define PYCC_ECHO_PLACE_R2 0.16       /* squared correlation coefficient the estimate needs */
#define PYCC_ECHO_PLACE_MARGIN 0.25   /* and its lead over every lag more than PLACE_APART steps away */
#define PYCC_ECHO_PLACE_APART 8
#define PYCC_ECHO_PLACE_BEFORE 32     /* taps before the estimated lag, and after its step */
#define PYCC_ECHO_PLACE_AFTER 96
#define PYCC_ECHO_PLACE_MISS 16       /* judged blocks without 3 dB from either filter before the tail is back */
#define PYCC_ECHO_PLACE_SHORT 32      /* or, after the first copy, judged blocks short of 24 dB */
#define PYCC_ECHO_RECORD 1024         /* samples of the hold recorded from the far end's first activity, replayed
                                       * through the background once the hold ends (the loud start of speech) */
#define PYCC_ECHO_REPLAY_RATE 3       /* recorded samples replayed per live sample (at 1 or 2 the speech sweep still
                                       * had a hybrid at 1.5 s; 3 spreads an 896-sample hold over two ticks) */

typedef struct {
    int taps;                 /* tail in samples, a multiple of 32 */
    float mu, alpha, geigel;  /* IPNLMS step and proportionality; Geigel threshold as an amplitude ratio */
    int hangover;             /* double-talk hold, samples */
    float nlp_ratio, nlp_far;          /* linear output / near input power under which the NLP acts */
    int nlp, cng, tone_disable, settle; /* settle: freeze adaptation in a converged steady state, watching it */
    int window;               /* adapt only the active window of the tail once the echo is found */
    int place;                /* place the window early from a bulk-delay estimate (step 11 of the twin) */
    float window_floor;       /* taps within this amplitude ratio of the largest belong to the echo */
    long sleep_after, probe_every; /* far-end single talk before sleeping (0: never), activity asleep before waking */
    /* thresholds, computed once by the Python side from dBm0 figures (see the twin) */
    float hp_pole, short_a, noise_a, long_a, delta, dt_mu, guard_ratio, guard_a, copy_ratio, copy_gain, bypass_ratio, bg_reset_ratio, block_floor, above_noise;
    float tone_purity, tone_level, quiet_level, reversal_cos, noise_bias, noise_start, converged_erle;
    float settle_erle, settle_noise, settle_gain, leave_erle, leave_noise; /* block error bounds to settle and to leave */
    double far_active;        /* window energy (sum of squares over the tail) above which the far end is active */
    double far_sample;        /* a far sample's square over which a sleeping channel counts the far end active */
    float cos_table[3][160], sin_table[3][160];  /* 2100, 1650, 1850 Hz */
} pycc_echo_params_t;

typedef struct pycc_echo pycc_echo_t;

pycc_echo_t *pycc_echo_new(int channels, const pycc_echo_params_t *params);
void pycc_echo_free(pycc_echo_t *s);
void pycc_echo_reset(pycc_echo_t *s, int channel);
void pycc_echo_set_enabled(pycc_echo_t *s, int channel, int on);
/* far, near, out: (channels x samples) int16, C order. Only the listed rows are processed (all when rows is NULL);
 * the other rows of out are left alone. */
void pycc_echo_process(pycc_echo_t *s, const int16_t *far, const int16_t *near, int16_t *out, long samples,
                       const int32_t *rows, int nrows);
/* Per channel: long-term far, near and linear-output powers, state, reset count, 1 when settled (steady state). */
void pycc_echo_counters(const pycc_echo_t *s, float *l_x, float *l_y, float *l_e, int8_t *state, int64_t *resets,
                        int8_t *settled);
/* Per channel: the active window [lo, hi) the background adapts over (0, taps: the whole tail). */
void pycc_echo_windows(const pycc_echo_t *s, int32_t *lo, int32_t *hi);
/* Copies of one channel's foreground and background taps (taps floats each), for tests. */
void pycc_echo_taps(const pycc_echo_t *s, int channel, float *wf, float *wb);
#endif
