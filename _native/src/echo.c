/* Line echo canceller kernel (G.168): two-filter IPNLMS with Geigel double-talk detection, NLP with comfort noise,
 * divergence protection, a G.164/G.165 tone disabler and a watched steady state. pycallcenter/dsp/reference/echo.py
 * is the specification; every expression here follows it in the same order and in float32, except the dot
 * products, the sum of |taps| and the tap update, which run 8 lanes wide with fused multiply-adds where the CPU has
 * them (the twin's sums round differently in the last bits). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "pycc_echo.h"

typedef float v8 __attribute__((vector_size(32)));
typedef float v8u __attribute__((vector_size(32), aligned(4)));
typedef int32_t v8i __attribute__((vector_size(32)));

enum { IDLE, CONVERGING, CONVERGED, DOUBLE_TALK, BYPASS, TONE_DISABLED, DISABLED, NO_ECHO };

typedef struct {
    float *x;             /* 2 * taps: the window is x[pos .. pos + taps), newest first (squares taken as needed) */
    float *wf, *wb, *g;   /* foreground, background taps, proportionate gains */
    int32_t *ring;        /* Geigel: maxima of the last 32-sample blocks */
    int pos, ring_pos, rings;
    int32_t ring_max, cur_max, y_prev;
    int64_t energy, count, resets;
    int dt_hang, blk_n, blk_far, copy_run, div_run, bgdiv_run, bypass_run, bypass, enabled, disabled_by_tone, quiet_run;
    float hp, blk_y, blk_f, blk_b, s_y, s_e, s_n, s_nb, g_y, g_e, noise_cur, noise_ring[PYCC_ECHO_NOISE_SUBS];
    float ring_min;       /* the smallest of noise_ring: it changes once every NOISE_SUB samples */
    float l_x, l_y, l_e, noise;
    uint32_t rng, seed;
    float tacc[2][3][2], tpow[2], hist[2][4][2];
    int tone_run[2], tone_miss[2], v21_run[2];
    int8_t state;
    int dormant, fg_used, heard_far; /* asleep; the foreground took taps / the far end was active since the reset */
    int settled, settle_run;          /* steady state: adaptation frozen, the foreground watched (step 9 of the twin) */
    int wf_moved;                     /* the block's end changed the foreground taps */
    int lo, hi, win_run;              /* the background adapts over taps [lo, hi) (step 10 of the twin) */
    int flo, fhi;                     /* the foreground's taps are zero outside [flo, fhi): the window it was copied in,
                                       * empty while it has none (a call's start, a restart) */
    float run_f, run_b;               /* both filters' error energies over the settle run's blocks */
    int64_t awake_run, far_run;       /* samples cancelling since waking, far-end activity asleep */
    int64_t stagger;                  /* far_run a sleep starts from: channels asleep together wake apart */
    /* step 11 of the twin: estimating the bulk delay, background held, a placed window before the first copy */
    int est, hold, placed, hold_run, place_miss, place_short, est_n, env_n, env_pos, env_seen;
    int64_t env_x, env_y;             /* this envelope step's sums of squares, far and near */
    double *env;                      /* 2 * lags: the far envelope, newest step first from env + env_pos */
    double *sxy, *sx, *sxx;           /* per lag, over the counted steps */
    double sy, syy;
    /* the hold's record, replayed through the background when the hold ends: far (taps - 1 samples of history,
     * then RECORD samples), near and per-sample adaptation flags (1: adapt, 2: double talk) */
    int16_t *rfar, *rnear;
    uint8_t *rflag;
    int rec_n, rp_at, rp_todo;        /* samples recorded, replayed, to replay */
    float rp_hp;                      /* the replay's DC blocker */
    int32_t rp_prev;
} chan_t;

struct pycc_echo {
    int channels;
    pycc_echo_params_t p;
    chan_t *ch;
    float *arena;
    /* settled channels' foreground outputs for a whole tick: tick and history (newest first), outputs */
    float *fir_x, *fir_y;
    long fir_cap;
    double *est_arena;                /* step 11's envelopes and sums, 5 * lags doubles a channel, when placing */
    uint8_t *rec_arena;               /* step 11's records of the hold, when placing */
    float *rp_x;                      /* a replay's far window, newest first (shared by the channels) */
    long rp_cap;
};

pycc_echo_t *pycc_echo_new(int channels, const pycc_echo_params_t *params)
{
    const int n = params->taps;
    if (channels < 1 || n < 32 || n % 32)
        return NULL;
    pycc_echo_t *s = calloc(1, sizeof(*s));
    if (!s)
        return NULL;
    s->channels = channels;
    s->p = *params;
    s->ch = calloc(channels, sizeof(chan_t));
    /* per channel: x (2n), wf, wb, g (n each); 8 spare floats keep each channel 32-byte aligned */
    size_t per = 5 * (size_t) n + 8;
    s->arena = aligned_alloc(32, ((sizeof(float) * per * channels + 31) / 32) * 32);
    int rings = (n + PYCC_ECHO_MAX_BLOCK - 1) / PYCC_ECHO_MAX_BLOCK;
    int32_t *rb = calloc((size_t) channels * rings, sizeof(int32_t));
    s->p.place = params->window && params->place && n >= PYCC_ECHO_PLACE_MIN_TAPS;
    const int lags = n / PYCC_ECHO_ENV_STEP;
    const size_t rec_per = sizeof(int16_t) * ((size_t) n + 2 * PYCC_ECHO_RECORD) + PYCC_ECHO_RECORD;
    if (s->p.place) {
        s->est_arena = calloc((size_t) channels * 5 * lags, sizeof(double));
        s->rec_arena = calloc((size_t) channels, rec_per);
        /* every page touched now, not on the calls' first ticks (a memset would be folded into the calloc) */
        for (size_t k = 0; s->rec_arena && k < (size_t) channels * rec_per; k += 4096)
            ((volatile uint8_t *) s->rec_arena)[k] = 0;
    }
    if (!s->ch || !s->arena || !rb || (s->p.place && (!s->est_arena || !s->rec_arena))) {
        free(rb);
        pycc_echo_free(s);
        return NULL;
    }
    for (int c = 0; c < channels; c++) {
        chan_t *h = &s->ch[c];
        float *a = s->arena + per * c;
        h->wf = a;
        h->wb = a + n;
        h->g = a + 2 * n;
        h->x = a + 3 * n;
        h->ring = rb + (size_t) c * rings;
        h->rings = rings;
        if (s->est_arena) {
            double *e = s->est_arena + (size_t) c * 5 * lags;
            h->env = e, h->sxy = e + 2 * lags, h->sx = e + 3 * lags, h->sxx = e + 4 * lags;
            uint8_t *r = s->rec_arena + (size_t) c * rec_per;
            h->rfar = (int16_t *) r;
            h->rnear = h->rfar + n + PYCC_ECHO_RECORD;
            h->rflag = (uint8_t *) (h->rnear + PYCC_ECHO_RECORD);
        }
        h->enabled = 1;
        h->seed = ((uint32_t) (c + 1) * 0x9E3779B9u) | 1u;
        h->stagger = (int64_t) (((uint64_t) c * 2654435761u) & 0xffffffffu) * (params->probe_every / 2) >> 32;
        pycc_echo_reset(s, c);
    }
    return s;
}

void pycc_echo_free(pycc_echo_t *s)
{
    if (!s)
        return;
    if (s->ch)
        free(s->ch[0].ring);
    free(s->ch);
    free(s->arena);
    free(s->fir_x);
    free(s->fir_y);
    free(s->est_arena);
    free(s->rec_arena);
    free(s->rp_x);
    free(s);
}

/* Step 11 from the start: estimating, background held, whole tail, sums empty. */
static void start_estimate(const pycc_echo_params_t *p, chan_t *h)
{
    h->est = h->hold = p->place;
    h->placed = 0;
    h->lo = 0, h->hi = p->taps;
    h->hold_run = h->place_miss = h->place_short = h->est_n = h->env_n = h->env_pos = h->env_seen = 0;
    h->env_x = h->env_y = 0;
    h->sy = h->syy = 0.0;
    h->rec_n = h->rp_at = h->rp_todo = 0;
    if (h->env)
        memset(h->env, 0, sizeof(double) * 5 * (size_t) (p->taps / PYCC_ECHO_ENV_STEP));
}

void pycc_echo_reset(pycc_echo_t *s, int channel)
{
    chan_t *h = &s->ch[channel];
    const int n = s->p.taps;
    float *wf = h->wf, *wb = h->wb, *g = h->g, *x = h->x;
    int32_t *ring = h->ring;
    int rings = h->rings, enabled = h->enabled;
    int64_t resets = h->resets, stagger = h->stagger;
    uint32_t seed = h->seed;
    double *env = h->env, *sxy = h->sxy, *sx = h->sx, *sxx = h->sxx;
    int16_t *rfar = h->rfar, *rnear = h->rnear;
    uint8_t *rflag = h->rflag;
    memset(h, 0, sizeof(*h));
    h->rfar = rfar, h->rnear = rnear, h->rflag = rflag;
    h->wf = wf, h->wb = wb, h->g = g, h->x = x, h->ring = ring, h->rings = rings;
    h->env = env, h->sxy = sxy, h->sx = sx, h->sxx = sxx;
    h->enabled = enabled, h->resets = resets, h->seed = seed, h->rng = seed, h->stagger = stagger;
    h->hi = n; /* flo = fhi = 0: the foreground is all zeros and sums nothing until its first copy */
    memset(wf, 0, sizeof(float) * 5 * (size_t) n);
    memset(ring, 0, sizeof(int32_t) * rings);
    for (int k = 0; k < n; k++)
        g[k] = 1.0f / (float) n;
    h->noise_cur = s->p.noise_start;
    for (int k = 0; k < PYCC_ECHO_NOISE_SUBS; k++)
        h->noise_ring[k] = s->p.noise_start;
    h->ring_min = s->p.noise_start;
    start_estimate(&s->p, h);
}

void pycc_echo_set_enabled(pycc_echo_t *s, int channel, int on)
{
    s->ch[channel].enabled = on != 0;
}

static inline float hsum(v8 v)
{
    return ((v[0] + v[4]) + (v[1] + v[5])) + ((v[2] + v[6]) + (v[3] + v[7]));
}

/* x86-64-v3 (AVX2 + FMA) first: a fused multiply-add halves the arithmetic of every tap loop below. */
#define TAP_CLONES __attribute__((target_clones("arch=x86-64-v3", "avx2", "default")))

/* The background filter's output and, when asked, the IPNLMS normaliser x' G x, in one pass over the window (the
 * squares of the window are taken here: a stored copy cost a load per tap and 2 * taps floats a channel). Each sum
 * runs in two accumulators (taps k and k + 8 of every 16): with one, every step waited for the previous addition
 * (the loop was bound by the adder's latency, not by its throughput). */
TAP_CLONES
static void background(const float *restrict wb, const float *restrict g, const float *restrict x, int n, int want_den,
                       float *yb, float *den)
{
    v8 ab0 = {0}, ad0 = {0}, ab1 = {0}, ad1 = {0};
    if (want_den) {
        for (int k = 0; k < n; k += 16) {
            v8 x0 = *(const v8u *) (x + k), x1 = *(const v8u *) (x + k + 8);
            ab0 += *(const v8 *) (wb + k) * x0;
            ad0 += *(const v8 *) (g + k) * (x0 * x0);
            ab1 += *(const v8 *) (wb + k + 8) * x1;
            ad1 += *(const v8 *) (g + k + 8) * (x1 * x1);
        }
    } else {
        for (int k = 0; k < n; k += 16) {
            ab0 += *(const v8 *) (wb + k) * *(const v8u *) (x + k);
            ab1 += *(const v8 *) (wb + k + 8) * *(const v8u *) (x + k + 8);
        }
    }
    *yb = hsum(ab0 + ab1);
    *den = hsum(ad0 + ad1);
}

/* The last sample's background update (wb += step G x_prev) fused with this sample's background output and
 * normaliser (background()): one pass over the taps instead of two, so wb and g are loaded once. The previous window
 * is this one moved by a sample, x_prev[k] = x[k + 1], except, when the taps run to the tail's end (at_end), its
 * oldest sample, which this sample's write has just replaced in the ring: it comes in as `oldest`. Each tap gets the same float operations in the same order as
 * adapt() then background(). */
TAP_CLONES
static void adapt_background(float *restrict wb, const float *restrict g, const float *restrict x, int n, float step,
                             float oldest, int at_end, float *yb, float *den)
{
    v8 ab0 = {0}, ad0 = {0}, ab1 = {0}, ad1 = {0};
    float last[24]; /* the last 16 taps' previous window: at the tail's end, the oldest sample put back */
    memcpy(last, x + n - 16 + 1, sizeof(float) * 15);
    last[15] = at_end ? oldest : x[n];
    for (int k = 0; k < n; k += 16) {
        const float *xp = k + 16 < n ? x + k + 1 : last;
        v8 x0 = *(const v8u *) (x + k), x1 = *(const v8u *) (x + k + 8);
        v8 w0 = *(v8 *) (wb + k) + step * (*(const v8 *) (g + k) * *(const v8u *) xp);
        v8 w1 = *(v8 *) (wb + k + 8) + step * (*(const v8 *) (g + k + 8) * *(const v8u *) (xp + 8));
        *(v8 *) (wb + k) = w0;
        *(v8 *) (wb + k + 8) = w1;
        ab0 += w0 * x0;
        ad0 += *(const v8 *) (g + k) * (x0 * x0);
        ab1 += w1 * x1;
        ad1 += *(const v8 *) (g + k + 8) * (x1 * x1);
    }
    *yb = hsum(ab0 + ab1);
    *den = hsum(ad0 + ad1);
}

/* The foreground filter alone (ticks too short for foreground_tick): the same two accumulators as background(). */
TAP_CLONES
static float foreground(const float *restrict wf, const float *restrict x, int n)
{
    v8 af0 = {0}, af1 = {0};
    for (int k = 0; k < n; k += 16) {
        af0 += *(const v8 *) (wf + k) * *(const v8u *) (x + k);
        af1 += *(const v8 *) (wf + k + 8) * *(const v8u *) (x + k + 8);
    }
    return hsum(af0 + af1);
}

/* y[o] = sum_k w[k] c[o + k] for o < S, c newest first: the foreground over a whole tick at once. Sixty-four outputs
 * run side by side, so each tap is loaded once for eight products and no addition waits on the one before; the rest
 * thirty-two, eight or one at a time. */
TAP_CLONES
static void fir_block(const float *restrict w, const float *restrict c, int n, long S, float *restrict y)
{
    long o = 0;
    for (; o + 64 <= S; o += 64) {
        v8 a[8] = {{0}};
        const float *q = c + o;
        for (int k = 0; k < n; k++) {
            const v8 wk = (v8){0} + w[k];
            for (int u = 0; u < 8; u++)
                a[u] += wk * *(const v8u *) (q + k + 8 * u);
        }
        for (int u = 0; u < 8; u++)
            *(v8u *) (y + o + 8 * u) = a[u];
    }
    for (; o + 32 <= S; o += 32) { /* a 160-sample tick leaves 32: four side by side, not four times one */
        v8 a[4] = {{0}};
        const float *q = c + o;
        for (int k = 0; k < n; k++) {
            const v8 wk = (v8){0} + w[k];
            for (int u = 0; u < 4; u++)
                a[u] += wk * *(const v8u *) (q + k + 8 * u);
        }
        for (int u = 0; u < 4; u++)
            *(v8u *) (y + o + 8 * u) = a[u];
    }
    for (; o + 8 <= S; o += 8) { /* four accumulators over the taps (n is a multiple of 32) */
        v8 a0 = {0}, a1 = {0}, a2 = {0}, a3 = {0};
        const float *q = c + o;
        for (int k = 0; k < n; k += 4) {
            a0 += ((v8){0} + w[k]) * *(const v8u *) (q + k);
            a1 += ((v8){0} + w[k + 1]) * *(const v8u *) (q + k + 1);
            a2 += ((v8){0} + w[k + 2]) * *(const v8u *) (q + k + 2);
            a3 += ((v8){0} + w[k + 3]) * *(const v8u *) (q + k + 3);
        }
        *(v8u *) (y + o) = (a0 + a1) + (a2 + a3);
    }
    for (; o < S; o++) {
        float acc = 0.0f;
        for (int k = 0; k < n; k++)
            acc += w[k] * c[o + k];
        y[o] = acc;
    }
}

/* A channel's foreground outputs for the tick into s->fir_y, newest first (sample i at S - 1 - i), from the window
 * s->fir_x: the tick reversed, then the history (newest first already); 0 when there is no room (then per sample).
 * The foreground taps move only at a block's end (a copy, a restart), which recomputes the rest of the tick. */
static int foreground_tick(pycc_echo_t *s, const chan_t *h, const int16_t *far, long S)
{
    const int n = s->p.taps;
    if (S > s->fir_cap) {
        free(s->fir_x);
        free(s->fir_y);
        s->fir_x = malloc(sizeof(float) * (size_t) (n + S + 8));
        s->fir_y = malloc(sizeof(float) * (size_t) (S + 8));
        s->fir_cap = s->fir_x && s->fir_y ? S : 0;
        if (!s->fir_cap)
            return 0;
    }
    float *c = s->fir_x;
    for (long i = 0; i < S; i++)
        c[S - 1 - i] = (float) far[i];
    memcpy(c + S, h->x + h->pos, sizeof(float) * (size_t) n);
    fir_block(h->wf + h->flo, c + h->flo, h->fhi - h->flo, S, s->fir_y);
    return 1;
}

TAP_CLONES
static void adapt(float *restrict wb, const float *restrict g, const float *restrict x, int n, float step)
{
    for (int k = 0; k < n; k += 8)
        *(v8 *) (wb + k) += step * (*(const v8 *) (g + k) * *(const v8u *) (x + k));
}

TAP_CLONES
static void gains(float *restrict g, const float *restrict wb, int n, float alpha)
{
    v8 acc0 = {0}, acc1 = {0}, acc2 = {0}, acc3 = {0};
    for (int k = 0; k < n; k += 32) { /* |w|: clear the sign bits; four sums, so no addition waits on the last */
        acc0 += (v8) ((v8i) *(const v8 *) (wb + k) & 0x7fffffff);
        acc1 += (v8) ((v8i) *(const v8 *) (wb + k + 8) & 0x7fffffff);
        acc2 += (v8) ((v8i) *(const v8 *) (wb + k + 16) & 0x7fffffff);
        acc3 += (v8) ((v8i) *(const v8 *) (wb + k + 24) & 0x7fffffff);
    }
    const float l1 = hsum((acc0 + acc1) + (acc2 + acc3));
    const float base = (1.0f - alpha) / (float) (2 * n), prop = 1.0f + alpha, den = 2.0f * l1 + 1e-3f;
    /* one division, then products: the gains sum to one either way, and this loop ran a division per tap */
    const float scale = prop / den;
    for (int k = 0; k < n; k++)
        g[k] = base + scale * fabsf(wb[k]);
}

/* Step 10 of the twin: the taps [lo, hi) of w the echo is in, edges on multiples of WINDOW_ROUND. */
static void window_of(const float *w, int n, float floor_ratio, int *lo, int *hi)
{
    float m = 0.0f;
    for (int k = 0; k < n; k++)
        m = fabsf(w[k]) > m ? fabsf(w[k]) : m;
    int first = 0, last = n - 1;
    if (m > 0.0f) {
        const float thr = floor_ratio * m;
        while (fabsf(w[first]) < thr)
            first++;
        while (fabsf(w[last]) < thr)
            last--;
    }
    const int a = first - PYCC_ECHO_WINDOW_BEFORE, b = last + 1 + PYCC_ECHO_WINDOW_AFTER;
    *lo = (a > 0 ? a : 0) / PYCC_ECHO_WINDOW_ROUND * PYCC_ECHO_WINDOW_ROUND;
    const int r = (b + PYCC_ECHO_WINDOW_ROUND - 1) / PYCC_ECHO_WINDOW_ROUND * PYCC_ECHO_WINDOW_ROUND;
    *hi = r < n ? r : n;
}

/* Step 10 at a block's end: the whole tail back when the foreground slips, or the window taken. */
static void window_block(const pycc_echo_params_t *p, chan_t *h, int valid, int heard, int loud, float bf, float bb,
                         float by, int running, int restart)
{
    const int n = p->taps;
    if (h->placed) { /* step 11: a placed window, until step 10 takes one from the taps */
        if (valid && loud && !h->fg_used)
            h->place_miss = bb < p->copy_gain * by || bf < p->copy_gain * by ? 0 : h->place_miss + 1;
        else if (valid && loud) /* an echo partly outside the window would hold a copy short of 24 dB for good */
            h->place_short += !(bf * p->leave_erle < by || bf < p->settle_noise * h->noise);
        const int failed = h->place_miss >= PYCC_ECHO_PLACE_MISS || h->place_short >= PYCC_ECHO_PLACE_SHORT;
        if (restart || !running || h->bypass || failed) {
            h->lo = 0, h->hi = n;
            h->placed = 0;
            h->win_run = 0;
            return;
        }
        if (!h->fg_used)
            return;
    } else if (h->hi - h->lo < n) {
        const int slipped = heard && loud && !(bf * p->leave_erle < by || bf < p->leave_noise * h->noise);
        if (slipped || h->bypass || restart || !running) {
            h->lo = 0, h->hi = n;
            h->win_run = 0;
            return;
        }
    }
    /* taken afresh after every WINDOW_BLOCKS good blocks: a window taken early (taps still noisy) narrows */
    const int fit = h->fg_used && !h->bypass && !restart && running;
    const int good = valid && loud && fit && (bf * p->leave_erle < by || bf < p->settle_noise * h->noise);
    if (good)
        h->win_run++;
    else if ((valid && loud) || !fit)
        h->win_run = 0;
    if (h->win_run < PYCC_ECHO_WINDOW_BLOCKS)
        return;
    h->win_run = 0;
    int lo, hi;
    window_of(h->wb, n, p->window_floor, &lo, &hi);
    if (hi - lo <= n / 2) {
        h->lo = lo, h->hi = hi;
        h->placed = 0;
        memset(h->wb, 0, sizeof(float) * (size_t) lo);
        memset(h->wb + hi, 0, sizeof(float) * (size_t) (n - hi));
    }
}

/* Step 11: one envelope step ends. The far envelope is pushed; a counted step (far end active, running) adds to
 * every lag's sums. Kept out of the cloned tap loops and in plain double arithmetic (no fused multiply-adds), so
 * the sums are the twin's to the bit. */
static void envelope_step(const pycc_echo_params_t *p, chan_t *h, int counts)
{
    const int lags = p->taps / PYCC_ECHO_ENV_STEP;
    h->env_pos = h->env_pos ? h->env_pos - 1 : lags - 1;
    const double ex = (double) h->env_x, ey = (double) h->env_y;
    h->env[h->env_pos] = h->env[h->env_pos + lags] = ex;
    h->env_seen += h->env_seen < lags;
    if (counts && h->env_seen == lags) { /* lags not yet filled would read zeros */
        const double *e = h->env + h->env_pos;
        for (int l = 0; l < lags; l++) {
            h->sxy[l] += ey * e[l];
            h->sx[l] += e[l];
            h->sxx[l] += e[l] * e[l];
        }
        h->sy += ey;
        h->syy += ey * ey;
        h->est_n++;
    }
    h->env_x = h->env_y = 0;
    h->env_n = 0;
}

/* Step 11 at a block's end: place the window when the estimate is sure; stop estimating when done. */
static void place_block(const pycc_echo_params_t *p, chan_t *h, int running)
{
    const int n = p->taps, lags = n / PYCC_ECHO_ENV_STEP;
    if (h->fg_used) { /* (never while held: the background does not adapt, so nothing is copied) */
        h->est = h->hold = 0;
        return;
    }
    if (running && h->est_n >= PYCC_ECHO_PLACE_STEPS) {
        const double cnt = (double) h->est_n;
        double best = 0.0;
        int lag = -1;
        for (int l = 0; l < lags; l++) {
            const double num = cnt * h->sxy[l] - h->sx[l] * h->sy;
            const double vx = cnt * h->sxx[l] - h->sx[l] * h->sx[l];
            if (num > 0.0 && vx > 0.0) {
                const double m = num / sqrt(vx);
                if (m > best)
                    best = m, lag = l;
            }
        }
        const double vy = cnt * h->syy - h->sy * h->sy;
        double rest = -INFINITY; /* the best lag more than PLACE_APART steps from it */
        for (int l = 0; lag >= 0 && l < lags; l++) {
            const double num = cnt * h->sxy[l] - h->sx[l] * h->sy;
            const double vx = cnt * h->sxx[l] - h->sx[l] * h->sx[l];
            if (abs(l - lag) > PYCC_ECHO_PLACE_APART && num > 0.0 && vx > 0.0 && num / sqrt(vx) > rest)
                rest = num / sqrt(vx);
        }
        const int sure = lag >= 0 && best * best >= PYCC_ECHO_PLACE_R2 * vy &&
                         best - rest >= PYCC_ECHO_PLACE_MARGIN * sqrt(vy);
        if (sure && h->hi - h->lo == n) {
            const int a = lag * PYCC_ECHO_ENV_STEP - PYCC_ECHO_PLACE_BEFORE;
            const int lo = (a > 0 ? a : 0) / PYCC_ECHO_WINDOW_ROUND * PYCC_ECHO_WINDOW_ROUND;
            const int b = (lag + 1) * PYCC_ECHO_ENV_STEP + PYCC_ECHO_PLACE_AFTER;
            const int r = (b + PYCC_ECHO_WINDOW_ROUND - 1) / PYCC_ECHO_WINDOW_ROUND * PYCC_ECHO_WINDOW_ROUND;
            const int hi = r < n ? r : n;
            if (hi - lo <= n / 2) {
                h->lo = lo, h->hi = hi;
                memset(h->wb, 0, sizeof(float) * (size_t) lo);
                memset(h->wb + hi, 0, sizeof(float) * (size_t) (n - hi));
                h->placed = 1;
                h->place_miss = h->place_short = 0;
                /* placed, the window converges fast without the record (its replay would cost a placed channel's
                 * start more than the hold saved: 30 us a channel in one tick on the engine bench's line) */
                h->est = h->hold = 0;
                h->rec_n = h->rp_at = h->rp_todo = 0; /* (a hold that ended in this block may have armed one) */
                return;
            }
        }
    }
    /* still unsure when the hold ends: the whole tail adapts from now on, and a window placed later would throw away
     * what it learns outside (the speech sweep lost up to 1.2 s of convergence that way) */
    if (!h->hold)
        h->est = 0;
}

/* The fixed structure of step 5 of the twin: copy, bypass and restart decisions at the end of a 64-sample block. */
static void block_end(const pycc_echo_params_t *p, chan_t *h)
{
    const int n = p->taps;
    float by = h->blk_y, bf = h->blk_f, bb = h->blk_b;
    const int running = h->enabled && !h->disabled_by_tone;
    if (running) { /* looking for echo only while cancelling */
        h->awake_run += PYCC_ECHO_BLOCK;
        h->heard_far |= h->blk_far > 0;
    }
    const int valid = h->blk_n == PYCC_ECHO_BLOCK && running;  /* far-end single talk all through the block */
    const int heard = h->blk_far == PYCC_ECHO_BLOCK && running; /* far end active all through, double talk or not */
    const int loud = by > p->block_floor && by > p->above_noise * h->noise;
    const int better = bb < p->copy_ratio * bf && bb < p->copy_gain * by;
    h->copy_run = (valid && loud && better) ? h->copy_run + 1 : 0;
    const int copied = h->copy_run >= PYCC_ECHO_COPY_BLOCKS;
    if (copied) {
        if (!h->fg_used) /* the counters start again: before the first copy the linear output is the echo itself,
                          * and a 0.5 s average would carry those samples' 0 dB for seconds (longer still after a
                          * placed window's hold) */
            h->l_x = h->l_y = h->l_e = 0.0f;
        memcpy(h->wf, h->wb, sizeof(float) * n);
        h->flo = h->lo, h->fhi = h->hi; /* zero outside, as the background was: the foreground sums only these */
        h->wf_moved = 1;
        h->fg_used = 1;
        h->copy_run = 0;
        h->bypass = 0;
        h->div_run = 0;
        bf = bb;
    }
    h->div_run = (heard && loud && bf > p->bypass_ratio * by) ? h->div_run + 1 : 0;
    if (h->div_run >= 1)
        h->bypass = 1;
    else if (h->bypass && heard && bf <= by)
        h->bypass = 0;
    h->bypass_run = h->bypass ? h->bypass_run + 1 : 0;
    h->bgdiv_run = (valid && loud && bb > p->bg_reset_ratio * by) ? h->bgdiv_run + 1 : 0;
    int restart = 0;
    if (h->bgdiv_run >= 4) {
        restart = 1;
        if (h->bypass)
            memset(h->wb, 0, sizeof(float) * n);
        else
            memcpy(h->wb, h->wf, sizeof(float) * n);
        h->bgdiv_run = 0;
        h->resets++;
    }
    if (h->bypass_run >= PYCC_ECHO_BYPASS_RESET_BLOCKS) {
        restart = 1;
        memset(h->wb, 0, sizeof(float) * n);
        memset(h->wf, 0, sizeof(float) * n);
        h->flo = h->fhi = 0;
        h->wf_moved = 1;
        h->bypass = 0;
        h->bypass_run = 0;
        h->resets++;
    }
    if (h->est)
        place_block(p, h, running);
    if (p->window)
        window_block(p, h, valid, heard, loud, bf, bb, by, running, restart);
    /* 9. steady state: settle once the foreground has held its figure for SETTLE_BLOCKS, leave when it slips */
    if (p->settle) {
        if (h->settled) {
            const int slipped = heard && loud && !(bf * p->leave_erle < by || bf < p->leave_noise * h->noise);
            if (slipped || h->bypass || !running)
                h->settled = 0;
        } else {
            const int fit = h->fg_used && !h->bypass && !copied;
            const int good = valid && loud && fit && (bf * p->settle_erle < by || bf < p->settle_noise * h->noise);
            /* a block that cannot be judged (a pause, double talk) neither counts nor breaks the run */
            if (good) {
                h->settle_run++;
                h->run_f += bf;
                h->run_b += bb;
            } else if ((valid && loud) || !fit) {
                h->settle_run = 0;
                h->run_f = h->run_b = 0.0f;
            }
            if (h->settle_run >= PYCC_ECHO_SETTLE_BLOCKS) { /* settles unless the background still gains on it */
                h->settled = h->run_b > p->settle_gain * h->run_f;
                h->settle_run = 0;
                h->run_f = h->run_b = 0.0f;
            }
        }
    }
    h->blk_y = h->blk_f = h->blk_b = 0.0f;
    h->blk_n = h->blk_far = 0;
    if (p->sleep_after && !h->fg_used && h->awake_run >= p->sleep_after) {
        h->dormant = 1; /* nothing found to cancel: sleep until the next look */
        h->far_run = h->stagger;
        memset(h->wb, 0, sizeof(float) * n);
        for (int k = 0; k < n; k++)
            h->g[k] = 1.0f / (float) n;
        h->lo = 0, h->hi = n;
        h->placed = h->est = h->hold = 0;
        h->rec_n = h->rp_at = h->rp_todo = 0;
    }
}

/* Look for echo again: block, tone and double-talk state start afresh. */
static void wake(const pycc_echo_params_t *p, chan_t *h)
{
    h->dormant = 0;
    h->awake_run = 0;
    h->blk_y = h->blk_f = h->blk_b = 0.0f;
    h->blk_n = h->blk_far = 0;
    memset(h->tacc, 0, sizeof(h->tacc));
    memset(h->tpow, 0, sizeof(h->tpow));
    memset(h->hist, 0, sizeof(h->hist));
    for (int d = 0; d < 2; d++)
        h->tone_run[d] = h->tone_miss[d] = h->v21_run[d] = 0;
    h->dt_hang = 0;
    start_estimate(p, h);
}

static int8_t base_state(const pycc_echo_params_t *p, const chan_t *h)
{
    return h->l_e * p->converged_erle < h->l_y ? CONVERGED : (h->l_y > 0.0f ? CONVERGING : IDLE);
}

static void geigel_block(chan_t *h)
{
    h->ring[h->ring_pos] = h->cur_max;
    h->ring_pos = (h->ring_pos + 1) % h->rings;
    int32_t m = 0;
    for (int q = 0; q < h->rings; q++)
        m = h->ring[q] > m ? h->ring[q] : m;
    h->ring_max = m;
    h->cur_max = 0;
}

static void tone_block(const pycc_echo_params_t *p, chan_t *h)
{
    int reversal = 0, v21 = 0, loud = 0;
    const float need = p->tone_purity * (float) PYCC_ECHO_TONE_BLOCK;
    for (int d = 0; d < 2; d++) {
        const float pw = h->tpow[d];
        float (*acc)[2] = h->tacc[d];
        const float re = acc[0][0], im = acc[0][1];
        const float mag = re * re + im * im;
        const int tone = pw >= p->tone_level && 2.0f * mag >= need * pw;
        float (*hs)[2] = h->hist[d];
        memmove(hs[1], hs[0], sizeof(float) * 6);
        const float m = tone ? sqrtf(mag) : 1.0f; /* unit phasors: the products below stay in range */
        hs[0][0] = tone ? re / m : 0.0f;
        hs[0][1] = tone ? im / m : 0.0f;
        if (tone && h->tone_run[d] >= PYCC_ECHO_TONE_HOLD_BLOCKS && (hs[2][0] != 0.0f || hs[2][1] != 0.0f) &&
            (hs[3][0] != 0.0f || hs[3][1] != 0.0f)) {
            const float d1r = hs[0][0] * hs[2][0] + hs[0][1] * hs[2][1], d1i = hs[0][1] * hs[2][0] - hs[0][0] * hs[2][1];
            const float cr = hs[2][0] * hs[3][0] + hs[2][1] * hs[3][1], ci = hs[2][1] * hs[3][0] - hs[2][0] * hs[3][1];
            const float d0r = cr * cr - ci * ci, d0i = 2.0f * cr * ci;
            const float dot = d1r * d0r + d1i * d0i;
            const float norm = sqrtf((d1r * d1r + d1i * d1i) * (d0r * d0r + d0i * d0i));
            reversal |= dot < p->reversal_cos * norm;
        }
        h->tone_miss[d] = tone ? 0 : h->tone_miss[d] + 1;
        if (tone)
            h->tone_run[d]++;
        else if (h->tone_miss[d] >= 2)
            h->tone_run[d] = 0;
        const float mag21 = acc[1][0] * acc[1][0] + acc[1][1] * acc[1][1] + acc[2][0] * acc[2][0] + acc[2][1] * acc[2][1];
        const int flags = pw >= p->tone_level && 2.0f * mag21 >= need * pw;
        h->v21_run[d] = flags ? h->v21_run[d] + 1 : 0;
        v21 |= h->v21_run[d] >= PYCC_ECHO_V21_BLOCKS;
        loud |= pw >= p->quiet_level;
        memset(acc, 0, sizeof(float) * 6);
        h->tpow[d] = 0.0f;
    }
    if (p->tone_disable && (reversal || v21))
        h->disabled_by_tone = 1;
    h->quiet_run = loud ? 0 : h->quiet_run + 1;
    if (h->disabled_by_tone && h->quiet_run >= PYCC_ECHO_RELEASE_BLOCKS)
        h->disabled_by_tone = 0;
}

/* Step 8, asleep: from sample i on, the input passes and far-end samples over -50 dBm0 are counted; nothing else
 * is kept (history, Geigel maxima and DC blocker start from zero on waking). Returns the index of the first sample
 * not processed: samples, or the one after the sample it woke on. */
static long sleep_run(const pycc_echo_params_t *p, chan_t *h, const int16_t *far, const int16_t *near,
                      int16_t *out, long i, long samples)
{
    const int n = p->taps;
    const long start = i;
    const double thr = p->far_sample;
    int64_t far_run = h->far_run;
    int woke = 0;
    while (i < samples) {
        const int on = (double) far[i] * (double) far[i] > thr;
        i++;
        far_run += on;
        if (far_run >= p->probe_every || (on && !h->heard_far)) {
            woke = 1;
            break;
        }
    }
    memcpy(out + start, near + start, sizeof(int16_t) * (size_t) (i - start));
    h->count += i - start;
    h->far_run = far_run;
    int8_t st = NO_ECHO;
    if (woke) {
        wake(p, h);
        memset(h->x, 0, sizeof(float) * 2 * (size_t) n);
        memset(h->ring, 0, sizeof(int32_t) * (size_t) h->rings);
        h->energy = 0;
        h->ring_max = h->cur_max = 0;
        h->hp = 0.0f;
        h->y_prev = 0;
        st = base_state(p, h);
        if (h->bypass)
            st = BYPASS;
    }
    if (h->disabled_by_tone)
        st = TONE_DISABLED;
    if (!h->enabled)
        st = DISABLED;
    h->state = st;
    return i;
}

/* One channel's tick. win and pre: foreground_tick's window and outputs, or NULL (then the foreground runs per
 * sample). */
static void run_channel(const pycc_echo_params_t *restrict p, chan_t *restrict h, const int16_t *restrict far,
                        const int16_t *restrict near, int16_t *restrict out, long samples, const float *restrict win,
                        float *restrict pre)
{ /* restrict: the build has no strict aliasing, so without it every store to out or h would reload the rest */
    const int n = p->taps;
    int pend = 0;          /* the last sample's background update waits to be fused with this sample's filter */
    float pend_step = 0.0f;
    for (long i = 0; i < samples; i++) {
        if (h->dormant) {
            pre = NULL; /* waking starts the history afresh: the tick's window no longer holds */
            i = sleep_run(p, h, far, near, out, i, samples) - 1; /* the loop's i++ moves to the next sample */
            continue;
        }
        const int32_t xi = far[i], yi = near[i];
        const float xs = (float) xi;
        /* 1. DC blocker, history, window energy, Geigel maximum */
        h->hp = p->hp_pole * (h->hp + (float) (yi - h->y_prev));
        h->y_prev = yi;
        const float y = h->hp;
        const int64_t leaving = (int64_t) h->x[h->pos + n - 1];
        h->energy += (int64_t) xi * xi - leaving * leaving;
        h->pos = h->pos ? h->pos - 1 : n - 1;
        h->x[h->pos] = h->x[h->pos + n] = xs;
        const int32_t ax = xi < 0 ? -xi : xi;
        if (ax > h->cur_max)
            h->cur_max = ax;
        const int32_t gmax = h->ring_max > h->cur_max ? h->ring_max : h->cur_max;
        const int far_active = (double) h->energy > p->far_active;
        const int active = h->enabled && !h->disabled_by_tone;
        /* 11. the envelopes of the bulk-delay estimate, and the background held for a tail of far-end activity */
        if (h->est) {
            h->env_x += (int64_t) xi * xi;
            h->env_y += (int64_t) yi * yi;
            if (++h->env_n == PYCC_ECHO_ENV_STEP)
                envelope_step(p, h, far_active && active);
        }
        if (h->hold) {
            h->hold_run += active && far_active;
            if (h->hold_run > n + PYCC_ECHO_PLACE_STEPS * PYCC_ECHO_ENV_STEP) {
                /* unsure: the whole tail adapts from now on, and first learns what the hold recorded (replay()) */
                h->hold = 0;
                h->rp_todo = h->rec_n;
                h->rp_at = 0;
            }
        }
        const int hold = h->hold;
        /* the record starts at the far end's first activity, with the history the window holds then */
        const int rec = hold && h->rec_n < PYCC_ECHO_RECORD && h->rfar && (h->rec_n || (far_active && active));
        if (rec && !h->rec_n) {
            for (int k = 0; k < n - 1; k++)
                h->rfar[n - 1 - k] = (int16_t) h->x[h->pos + 1 + k];
            h->rp_hp = y;
            h->rp_prev = yi;
        }
        /* 4. gains, then 2. both filters (with the normaliser whenever adaptation may follow); settled, the
         * foreground alone: the background stands still, so its error is taken as the foreground's */
        const int settled = h->settled;
        float yf, yb, den = 0.0f;
        yf = pre ? pre[samples - 1 - i] : foreground(h->wf + h->flo, h->x + h->pos + h->flo, h->fhi - h->flo);
        if (settled) {
            yb = yf;
        } else if (hold) { /* the background's taps are all zero and stand still */
            yb = 0.0f;
            pend = 0;
        } else {
            const int want_den = active && far_active, lo = h->lo, len = h->hi - h->lo;
            /* the background's taps outside its window are zero (step 10): only the window is summed */
            if ((uint64_t) h->count % PYCC_ECHO_GAIN_EVERY == 0) /* never with an update pending (see below) */
                gains(h->g + lo, h->wb + lo, len, p->alpha);
            if (pend) {
                adapt_background(h->wb + lo, h->g + lo, h->x + h->pos + lo, len, pend_step, (float) leaving,
                                 h->hi == n, &yb, &den);
                den = want_den ? den : 0.0f;
            } else {
                background(h->wb + lo, h->g + lo, h->x + h->pos + lo, len, want_den, &yb, &den);
            }
            pend = 0;
        }
        const float ef = y - yf, eb = y - yb;
        /* 3. Geigel on what the better filter leaves */
        const float ae = fabsf(ef), ab = fabsf(eb);
        int talk = (ae < ab ? ae : ab) > p->geigel * (float) gmax;
        if (settled && talk) { /* settled, a loud residual (a path change or near speech) ends the steady state at
                                * once; the next sample judges talk on both filters again */
            h->settled = 0;
            h->settle_run = PYCC_ECHO_SETTLE_BLOCKS - 1; /* one good block settles it again */
            h->run_f = h->run_b = 0.0f;
            talk = 0;
        }
        h->dt_hang = talk ? p->hangover : (h->dt_hang > 0 ? h->dt_hang - 1 : 0);
        const int dt = h->dt_hang > 0;
        if (rec) {
            h->rfar[n + h->rec_n] = (int16_t) xi;
            h->rnear[h->rec_n] = (int16_t) yi;
            h->rflag[h->rec_n] = (uint8_t) ((active && far_active) | dt << 1);
            h->rec_n++;
        }
        if (active && far_active && !settled && !hold) {
            const float step = ((dt ? p->mu * p->dt_mu : p->mu) * eb) / (den + p->delta);
            /* the update waits for the next sample's filter pass, unless something reads the taps first: the gains
             * and the block's end (on multiples of GAIN_EVERY) or the tick's end */
            if (i + 1 < samples && ((uint64_t) h->count + 1) % PYCC_ECHO_GAIN_EVERY != 0) {
                pend = 1;
                pend_step = step;
            } else {
                adapt(h->wb + h->lo, h->g + h->lo, h->x + h->pos + h->lo, h->hi - h->lo, step);
            }
        }
        /* 5. block accounting */
        const int single = far_active && !dt;
        h->blk_y += y * y;
        h->blk_f += ef * ef;
        h->blk_b += eb * eb;
        h->blk_n += single;
        h->blk_far += far_active;
        const float lin = h->bypass ? y : ef;
        /* 6. short-term powers, background noise, NLP, comfort noise */
        h->s_y += (y * y - h->s_y) * p->short_a;
        h->s_e += (lin * lin - h->s_e) * p->short_a;
        h->s_n += (lin * lin - h->s_n) * p->noise_a;
        if (!settled) /* the background's error power holds while the background stands still */
            h->s_nb += (eb * eb - h->s_nb) * p->noise_a;
        /* the background filter's error counts as well: until the first copy the linear output is the echo itself,
         * and a background learnt from it would keep every block 'not over the noise', so no copy would ever come */
        const float s_min = h->s_nb < h->s_n ? h->s_nb : h->s_n;
        if (h->count >= PYCC_ECHO_NOISE_WARMUP && s_min < h->noise_cur)
            h->noise_cur = s_min;
        const float nmin = h->ring_min < h->noise_cur ? h->ring_min : h->noise_cur;
        const float noise = nmin >= p->noise_start ? 0.0f : p->noise_bias * nmin;
        h->noise = noise;
        const int quiet = h->s_e < p->nlp_ratio * h->s_y || h->s_e < p->nlp_far * (float) h->energy;
        const int nlp_on = active && far_active && !dt && !h->bypass && quiet;
        uint32_t r = h->rng;
        r ^= r << 13;
        r ^= r >> 17;
        r ^= r << 5;
        h->rng = r;
        /* a linear output 6 dB over the input and over the background (old taps putting echo into silence after a
         * path change, before the block decisions see it) gives way to the input at once */
        h->g_y += (y * y - h->g_y) * p->guard_a;
        h->g_e += (lin * lin - h->g_e) * p->guard_a;
        const int guard = h->g_e > p->guard_ratio * h->g_y && h->g_e > p->guard_ratio * noise;
        float v = guard ? y : lin;
        if (nlp_on && p->nlp) {
            const float uniform = (float) (int32_t) r * (1.0f / 2147483648.0f);
            const float level = noise < h->s_y ? noise : h->s_y; /* never louder than what came in */
            v = p->cng ? uniform * sqrtf(3.0f * level) : 0.0f;
        }
        if (single) {
            h->l_x += (xs * xs - h->l_x) * p->long_a;
            h->l_y += (y * y - h->l_y) * p->long_a;
            h->l_e += (ef * ef - h->l_e) * p->long_a;
        }
        if (active) {
            float rv = rintf(v);
            out[i] = (int16_t) (rv > 32767.0f ? 32767 : (rv < -32768.0f ? -32768 : (int32_t) rv));
        } else {
            out[i] = (int16_t) yi;
        }
        /* 7. tone disabler correlators, both directions */
        const int k = (int) ((uint64_t) h->count % 160); /* count >= 0: unsigned remainders skip the sign fix-ups */
        const float sv[2] = {xs, (float) yi};
        for (int d = 0; d < 2; d++) {
            for (int f = 0; f < 3; f++) {
                h->tacc[d][f][0] += sv[d] * p->cos_table[f][k];
                h->tacc[d][f][1] += sv[d] * p->sin_table[f][k];
            }
            h->tpow[d] += sv[d] * sv[d];
        }
        h->count++;
        if ((uint64_t) h->count % PYCC_ECHO_TONE_BLOCK == 0)
            tone_block(p, h);
        if ((uint64_t) h->count % PYCC_ECHO_MAX_BLOCK == 0)
            geigel_block(h);
        if ((uint64_t) h->count % PYCC_ECHO_BLOCK == 0) {
            block_end(p, h);
            if (h->wf_moved && pre && i + 1 < samples) /* the rest of the tick with the new foreground */
                fir_block(h->wf + h->flo, win + h->flo, h->fhi - h->flo, samples - 1 - i, pre);
            h->wf_moved = 0;
        }
        if ((uint64_t) h->count % PYCC_ECHO_NOISE_SUB == 0) {
            h->noise_ring[(h->count / PYCC_ECHO_NOISE_SUB) % PYCC_ECHO_NOISE_SUBS] = h->noise_cur;
            h->noise_cur = p->noise_start;
            float m = h->noise_ring[0];
            for (int k = 1; k < PYCC_ECHO_NOISE_SUBS; k++)
                m = h->noise_ring[k] < m ? h->noise_ring[k] : m;
            h->ring_min = m;
        }
        /* state: only the tick's last sample's is ever read (counters, between ticks; asleep, sleep_run sets it) */
        if (i + 1 < samples)
            continue;
        int8_t st = base_state(p, h);
        if (dt && far_active)
            st = DOUBLE_TALK;
        if (h->bypass)
            st = BYPASS;
        if (h->dormant)
            st = NO_ECHO;
        if (h->disabled_by_tone)
            st = TONE_DISABLED;
        if (!h->enabled)
            st = DISABLED;
        h->state = st;
    }
}

/* Step 11: up to `budget` recorded samples of the hold through the background, oldest first, as they would have
 * adapted it live (the same update over today's window [lo, hi), gains refreshed every GAIN_EVERY of them). */
static void replay(pycc_echo_t *s, chan_t *h, long budget)
{
    const pycc_echo_params_t *p = &s->p;
    const int n = p->taps, lo = h->lo, len = h->hi - h->lo;
    const int j0 = h->rp_at, j1 = (long) (h->rp_todo - j0) < budget ? h->rp_todo : j0 + (int) budget;
    const long need = (long) (j1 - j0) + n;
    if (need > s->rp_cap) {
        free(s->rp_x);
        s->rp_x = malloc(sizeof(float) * (size_t) need);
        s->rp_cap = s->rp_x ? need : 0;
        if (!s->rp_x) { /* no room: the record is dropped, the canceller goes on as without it */
            h->rp_todo = h->rp_at;
            return;
        }
    }
    float *c = s->rp_x; /* newest first: c[m] = rfar[n + j1 - 1 - m]; sample j's window starts at c + j1 - 1 - j */
    for (long m = 0; m < (long) (j1 - j0) + n - 1; m++)
        c[m] = (float) h->rfar[n + j1 - 1 - m];
    float hp = h->rp_hp;
    int32_t prev = h->rp_prev;
    int pend = 0; /* as live: one sample's update waits to be fused with the next sample's filter pass */
    float pend_step = 0.0f;
    for (int j = j0; j < j1; j++) {
        if (j > 0) {
            hp = p->hp_pole * (hp + (float) (h->rnear[j] - prev));
            prev = h->rnear[j];
        }
        const float *x = c + (j1 - 1 - j) + lo; /* the previous sample's window is x + 1 */
        const int f = h->rflag[j], due = j % PYCC_ECHO_GAIN_EVERY == 0;
        if (pend && (due || !(f & 1))) { /* something reads the taps first, or no pass to fuse with */
            adapt(h->wb + lo, h->g + lo, x + 1, len, pend_step);
            pend = 0;
        }
        if (due)
            gains(h->g + lo, h->wb + lo, len, p->alpha);
        if (!(f & 1))
            continue;
        float yb, den;
        if (pend) /* the tail's end never applies: the record holds the sample past every window */
            adapt_background(h->wb + lo, h->g + lo, x, len, pend_step, 0.0f, 0, &yb, &den);
        else
            background(h->wb + lo, h->g + lo, x, len, 1, &yb, &den);
        pend = 1;
        pend_step = (((f & 2) ? p->mu * p->dt_mu : p->mu) * (hp - yb)) / (den + p->delta);
    }
    if (pend)
        adapt(h->wb + lo, h->g + lo, c + lo, len, pend_step); /* the last sample's window: c + j1 - 1 - (j1 - 1) */
    h->rp_hp = hp;
    h->rp_prev = prev;
    h->rp_at = j1;
}

void pycc_echo_process(pycc_echo_t *s, const int16_t *far, const int16_t *near, int16_t *out, long samples,
                       const int32_t *rows, int nrows)
{
    const int count = rows ? nrows : s->channels;
    for (int r = 0; r < count; r++) {
        const int c = rows ? rows[r] : r;
        const long off = (long) c * samples;
        chan_t *h = &s->ch[c];
        if (h->rp_at < h->rp_todo) {
            if (h->settled || h->dormant) /* the background stands still, or starts afresh: nothing to add */
                h->rp_todo = h->rp_at;
            else
                replay(s, h, samples * PYCC_ECHO_REPLAY_RATE);
        }
        const int pre = !h->dormant && samples >= 32 && foreground_tick(s, h, far + off, samples);
        run_channel(&s->p, h, far + off, near + off, out + off, samples, pre ? s->fir_x : NULL, pre ? s->fir_y : NULL);
    }
}

void pycc_echo_counters(const pycc_echo_t *s, float *l_x, float *l_y, float *l_e, int8_t *state, int64_t *resets,
                        int8_t *settled)
{
    for (int c = 0; c < s->channels; c++) {
        const chan_t *h = &s->ch[c];
        l_x[c] = h->l_x, l_y[c] = h->l_y, l_e[c] = h->l_e, state[c] = h->state, resets[c] = h->resets;
        settled[c] = (int8_t) h->settled;
    }
}

void pycc_echo_windows(const pycc_echo_t *s, int32_t *lo, int32_t *hi)
{
    for (int c = 0; c < s->channels; c++)
        lo[c] = s->ch[c].lo, hi[c] = s->ch[c].hi;
}

void pycc_echo_taps(const pycc_echo_t *s, int channel, float *wf, float *wb)
{
    memcpy(wf, s->ch[channel].wf, sizeof(float) * s->p.taps);
    memcpy(wb, s->ch[channel].wb, sizeof(float) * s->p.taps);
}
