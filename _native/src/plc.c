/* G.711 Appendix I packet-loss concealment, batched over channels.
 *
 * pycallcenter/dsp/reference/plc.py is the specification (it explains each step); this file reproduces it
 * sample for sample: integer Q15 weights with arithmetic shifts, and a pitch choice that compares exact
 * integer correlations (sums of int16 products, held in doubles below 2^53, so any summation order or
 * fused multiply-add gives the same value) with the same three double multiplications as the twin.
 * The history is a 512-sample ring per channel so that a received frame costs two short copies.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "pycc_plc.h"

#define FRAME PYCC_PLC_FRAME
#define DELAY PYCC_PLC_DELAY
#define PITCH_MIN 40
#define PITCH_MAX 120
#define HISTORY (3 * PITCH_MAX + DELAY)
#define CORR_LEN 160
#define CORR_MIN_POWER 250
#define END_OLA_STEP 32
#define FADE_SAMPLES (5 * FRAME)
#define MAX_PERIODS 3
#define MAX_ERASED (FADE_SAMPLES / FRAME + 2)
#define RING 512
#define RING_MASK (RING - 1)

typedef struct {
    int16_t ring[RING];
    int16_t buf[HISTORY]; /* history frozen when the loss began, its tail smoothed into a loop */
    unsigned w;           /* ring write position (total samples written, modulo 2^32) */
    int erased, pitch, overlap, blen, offset;
} chan_t;

struct pycc_plc {
    int channels;
    chan_t *ch;
};

/* Q15 weights, tabulated once so the per-sample loops have no division:
   fade_in[n][i] = ((i + 1) << 15) / (n + 1) for cross-fades of n <= FRAME samples, and
   gain[m] = ((FADE_SAMPLES - m) << 15) / FADE_SAMPLES for the loss fade at m samples into it. */
static int32_t fade_in[FRAME + 1][FRAME];
static int32_t gain[FADE_SAMPLES + 1];
static int tables_ready;

static void make_tables(void)
{
    for (int n = 1; n <= FRAME; n++)
        for (int i = 0; i < n; i++)
            fade_in[n][i] = (int32_t) (((int64_t) (i + 1) << 15) / (n + 1));
    for (int m = 0; m <= FADE_SAMPLES; m++)
        gain[m] = ((int32_t) (FADE_SAMPLES - m) << 15) / FADE_SAMPLES;
    tables_ready = 1;
}

static void chan_reset(chan_t *c)
{
    memset(c, 0, sizeof(*c));
    c->pitch = PITCH_MIN;
    c->overlap = PITCH_MIN / 4;
}

pycc_plc_t *pycc_plc_new(int channels)
{
    if (!tables_ready) /* callers hold the GIL here, so this runs once */
        make_tables();
    pycc_plc_t *s = malloc(sizeof(*s));
    if (s == NULL)
        return NULL;
    s->channels = channels;
    s->ch = malloc(sizeof(chan_t) * (size_t) channels);
    if (s->ch == NULL) {
        free(s);
        return NULL;
    }
    for (int i = 0; i < channels; i++)
        chan_reset(&s->ch[i]);
    return s;
}

void pycc_plc_free(pycc_plc_t *s)
{
    if (s != NULL) {
        free(s->ch);
        free(s);
    }
}

void pycc_plc_reset(pycc_plc_t *s, int channel)
{
    chan_reset(&s->ch[channel]);
}

/* Copy n samples into / out of the ring at a position, in at most two pieces. */
static void ring_put(int16_t *ring, unsigned pos, const int16_t *src, int n)
{
    unsigned p = pos & RING_MASK;
    int first = (int) (RING - p) < n ? (int) (RING - p) : n;
    memcpy(ring + p, src, sizeof(int16_t) * (size_t) first);
    memcpy(ring, src + first, sizeof(int16_t) * (size_t) (n - first));
}

static void ring_get(const int16_t *ring, unsigned pos, int16_t *dst, int n)
{
    unsigned p = pos & RING_MASK;
    int first = (int) (RING - p) < n ? (int) (RING - p) : n;
    memcpy(dst, ring + p, sizeof(int16_t) * (size_t) first);
    memcpy(dst + first, ring, sizeof(int16_t) * (size_t) (n - first));
}

/* Append one frame to the history and write the frame now due for output (DELAY samples behind). */
static void push(chan_t *c, const int16_t *frame, int16_t *out)
{
    ring_put(c->ring, c->w, frame, FRAME);
    c->w += FRAME;
    ring_get(c->ring, c->w - FRAME - DELAY, out, FRAME);
}

static void cross_fade(const int16_t *a, const int16_t *b, int16_t *out, int n)
{
    const int32_t *w = fade_in[n];
    for (int i = 0; i < n; i++)
        out[i] = (int16_t) (((int64_t) a[i] * (32768 - w[i]) + (int64_t) b[i] * w[i] + 16384) >> 15);
}

static void attenuate(int16_t *x, int n, int n0)
{
    for (int k = 0; k < n; k++) {
        int m = n0 + k < FADE_SAMPLES ? n0 + k : FADE_SAMPLES;
        x[k] = (int16_t) (((int32_t) x[k] * gain[m] + 16384) >> 15);
    }
}

/* Dot product of n doubles holding int16 values. Every partial sum is an integer below 2^53, so eight
   vector lanes (in any order the compiler and CPU like) give exactly the twin's integer sum. */
typedef double v4df __attribute__((vector_size(32)));

static inline double dot(const double *a, const double *b, int n) /* n a multiple of 8 */
{
    v4df s0 = {0, 0, 0, 0}, s1 = {0, 0, 0, 0}, va, vb, vc, vd;
    for (int i = 0; i < n; i += 8) {
        memcpy(&va, a + i, sizeof(va));
        memcpy(&vb, b + i, sizeof(vb));
        memcpy(&vc, a + i + 4, sizeof(vc));
        memcpy(&vd, b + i + 4, sizeof(vd));
        s0 += va * vb;
        s1 += vc * vd;
    }
    s0 += s1;
    return (s0[0] + s0[1]) + (s0[2] + s0[3]);
}

/* c / sqrt(e) > bc / sqrt(be), compared as c |c| be > bc |bc| e: no root or division (the twin does the same). */
static int better(double c, double e, double bc, double be)
{
    return c * fabs(c) * be > bc * fabs(bc) * e;
}

__attribute__((target_clones("avx2", "default")))
static int find_pitch(const int16_t *h)
{
    /* even[k] = h[2k] (the coarse search runs on every other sample), full = h as doubles */
    double even[HISTORY / 2], full[HISTORY];
    const int end = HISTORY - CORR_LEN; /* start of the 20 ms matched against the history */
    int best = PITCH_MIN;
    double bc = 0.0, be = 1.0;
    for (int i = 0; i < HISTORY; i++)
        full[i] = h[i];
    for (int i = 0; i < HISTORY / 2; i++)
        even[i] = h[2 * i];
    /* energy of the decimated candidate window, slid two samples back per lag step */
    const double *ref2 = even + end / 2;
    double e = dot(ref2 - PITCH_MIN / 2, ref2 - PITCH_MIN / 2, CORR_LEN / 2);
    for (int p = PITCH_MIN; p <= PITCH_MAX; p += 2) {
        const double *seg = ref2 - p / 2;
        if (p > PITCH_MIN)
            e += seg[0] * seg[0] - seg[CORR_LEN / 2] * seg[CORR_LEN / 2];
        double c = dot(ref2, seg, CORR_LEN / 2), ef = e > CORR_MIN_POWER ? e : CORR_MIN_POWER;
        if (p == PITCH_MIN || better(c, ef, bc, be)) {
            best = p;
            bc = c;
            be = ef;
        }
    }
    int coarse = best;
    int lo = coarse - 1 > PITCH_MIN ? coarse - 1 : PITCH_MIN, hi = coarse + 1 < PITCH_MAX ? coarse + 1 : PITCH_MAX;
    for (int p = lo; p <= hi; p++) {
        const double *ref = full + end, *seg = ref - p;
        double c = dot(ref, seg, CORR_LEN), e2 = dot(seg, seg, CORR_LEN);
        e2 = e2 > 2 * CORR_MIN_POWER ? e2 : 2 * CORR_MIN_POWER;
        if (p == lo || better(c, e2, bc, be)) {
            best = p;
            bc = c;
            be = e2;
        }
    }
    return best;
}

static void synth(chan_t *c, int16_t *out, int n)
{
    const int16_t *loop = c->buf + HISTORY - c->blen;
    while (n > 0) {
        int k = c->blen - c->offset < n ? c->blen - c->offset : n;
        memcpy(out, loop + c->offset, sizeof(int16_t) * (size_t) k);
        out += k;
        n -= k;
        c->offset += k;
        if (c->offset == c->blen)
            c->offset = 0;
    }
}

static void received(chan_t *c, const int16_t *x, int16_t *out)
{
    if (!c->erased) {
        push(c, x, out);
        return;
    }
    int16_t frame[FRAME], tail[FRAME];
    int olen = c->overlap + (c->erased - 1) * END_OLA_STEP;
    if (olen > FRAME)
        olen = FRAME;
    memcpy(frame, x, sizeof(frame));
    synth(c, tail, olen);
    attenuate(tail, olen, FRAME * (c->erased - 1));
    cross_fade(tail, frame, frame, olen);
    c->erased = 0;
    push(c, frame, out);
}

static void lost(chan_t *c, int16_t *out)
{
    int16_t frame[FRAME];
    int e = c->erased;
    if (e == 0) {
        ring_get(c->ring, c->w - HISTORY, c->buf, HISTORY);
        c->pitch = find_pitch(c->buf);
        c->overlap = c->pitch / 4;
        int ov = c->overlap, p = c->pitch;
        /* the unplayed tail fades into the signal one period earlier, so the loop closes smoothly */
        cross_fade(c->buf + HISTORY - ov, c->buf + HISTORY - p - ov, c->buf + HISTORY - ov, ov);
        ring_put(c->ring, c->w - ov, c->buf + HISTORY - ov, ov);
        c->blen = p;
        c->offset = 0;
        synth(c, frame, FRAME);
    } else if (e < MAX_PERIODS) {
        int16_t tail[PITCH_MAX / 4];
        int start = c->offset;
        synth(c, tail, c->overlap);
        c->offset = start % c->pitch;
        c->blen += c->pitch;
        synth(c, frame, FRAME);
        cross_fade(tail, frame, frame, c->overlap);
        attenuate(frame, FRAME, FRAME * (e - 1));
    } else if (FRAME * (e - 1) < FADE_SAMPLES) {
        synth(c, frame, FRAME);
        attenuate(frame, FRAME, FRAME * (e - 1));
    } else {
        memset(frame, 0, sizeof(frame));
    }
    c->erased = e + 1 < MAX_ERASED ? e + 1 : MAX_ERASED;
    push(c, frame, out);
}

/* A row received whole with no loss to merge (the common case): the output is the input delayed, in two copies. */
static void received_block(chan_t *c, const int16_t *x, int16_t *out, long n)
{
    ring_get(c->ring, c->w - DELAY, out, DELAY);
    memcpy(out + DELAY, x, sizeof(int16_t) * (size_t) (n - DELAY));
    long keep = n < RING ? n : RING;
    c->w += (unsigned) (n - keep);
    ring_put(c->ring, c->w, x + (n - keep), (int) keep);
    c->w += (unsigned) keep;
}

void pycc_plc_process(pycc_plc_t *s, const int16_t *x, const uint8_t *lost_mask, int16_t *out, long samples)
{
    long frames = samples / FRAME;
    for (int ch = 0; ch < s->channels; ch++) {
        chan_t *c = &s->ch[ch];
        const int16_t *xr = x + (size_t) ch * (size_t) samples;
        int16_t *yr = out + (size_t) ch * (size_t) samples;
        const uint8_t *m = lost_mask + (size_t) ch * (size_t) frames;
        long lost_frames = 0;
        for (long f = 0; f < frames; f++)
            lost_frames += m[f] != 0;
        if (!c->erased && lost_frames == 0) {
            received_block(c, xr, yr, samples);
            continue;
        }
        for (long f = 0; f < frames; f++) {
            if (m[f])
                lost(c, yr + f * FRAME);
            else
                received(c, xr + f * FRAME, yr + f * FRAME);
        }
    }
}
