/* DTMF receiver kernel. The numpy twin pycallcenter/dsp/reference/dtmf.py is the specification: every float
 * operation here is the same IEEE float32 operation in the same order (no FMA contraction), so both produce
 * identical events. Channels are processed 8 at a time in lockstep (GCC vector extension), which makes the
 * Goertzel filters SIMD across channels without reordering any channel's arithmetic. */
#pragma GCC optimize("fp-contract=off")
#include <stdlib.h>
#include <string.h>
#include "pycc_dtmf.h"

#define N 106
#define H 53
#define LANES 8
#define HIST 16
/* group state layout, in vectors: notch x1[2] x2[2] y1[2] y2[2]; then per block parity s1[8] s2[8]; energy[2] */
#define GS_S1(p) (8 + (p) * 16)
#define GS_S2(p) (8 + (p) * 16 + 8)
#define GS_EN(p) (40 + (p))
#define GS_SIZE 42

typedef float v8 __attribute__((vector_size(32)));

typedef struct {
    float prev_re[8], prev_im[8];
    int run_d, run_n, run_dead;
    int64_t run_first;
    float hp[HIST], hl[HIST];
    unsigned char hf[HIST];
    int on_d, on_off;
    int64_t on_start, on_end;
    float on_max;
} chan_t;

struct pycc_dtmf {
    pycc_dtmf_tables_t tb;
    int channels, groups;
    int64_t t;
    v8 *gs;
    chan_t *ch;
    v8 *xbuf;
    long cap;
};

static void *alloc32(size_t bytes)
{
    void *p = NULL;
    if (posix_memalign(&p, 32, bytes ? bytes : 32))
        return NULL;
    memset(p, 0, bytes);
    return p;
}

static void chan_init(chan_t *c)
{
    memset(c, 0, sizeof(*c));
    c->run_d = -1;
    c->on_d = -1;
}

pycc_dtmf_t *pycc_dtmf_new(int channels, const pycc_dtmf_tables_t *tables)
{
    pycc_dtmf_t *s = calloc(1, sizeof(*s));
    if (!s)
        return NULL;
    s->tb = *tables;
    s->channels = channels;
    s->groups = (channels + LANES - 1) / LANES;
    s->gs = alloc32(sizeof(v8) * GS_SIZE * s->groups);
    s->ch = calloc(channels, sizeof(chan_t));
    if (!s->gs || !s->ch) {
        pycc_dtmf_free(s);
        return NULL;
    }
    for (int c = 0; c < channels; c++)
        chan_init(&s->ch[c]);
    return s;
}

void pycc_dtmf_free(pycc_dtmf_t *s)
{
    if (!s)
        return;
    free(s->gs);
    free(s->ch);
    free(s->xbuf);
    free(s);
}

void pycc_dtmf_reset(pycc_dtmf_t *s, int channel)
{
    v8 *g = s->gs + (long) (channel / LANES) * GS_SIZE;
    int lane = channel % LANES;
    for (int i = 0; i < GS_SIZE; i++)
        g[i][lane] = 0.0f;
    chan_init(&s->ch[channel]);
}

int64_t pycc_dtmf_samples(const pycc_dtmf_t *s) { return s->t; }

long pycc_dtmf_max_events(const pycc_dtmf_t *s, long samples)
{
    return (long) s->channels * 2 * (samples / H + 2);
}

/* Dial-tone notches, windowing, energy and the 8 Goertzel recursions of both open blocks over one segment
 * (a stretch of samples inside one half-block). One fused loop: the 2 notch and 16 Goertzel recursions are
 * independent chains, so interleaving them hides the float latency. */
#define GOERTZEL_STEP(S1, S2, WY)                                                                             \
    for (int f = 0; f < 8; f++) {                                                                              \
        v8 a_ = coef[f] * S1[f];                                                                               \
        a_ = a_ + WY;                                                                                          \
        a_ = a_ - S2[f];                                                                                       \
        S2[f] = S1[f];                                                                                         \
        S1[f] = a_;                                                                                            \
    }

__attribute__((target_clones("avx2", "default")))
static void segment(v8 *restrict g, const v8 *restrict x, int len, const float *w1, const float *w0, int p1,
                    const pycc_dtmf_tables_t *tb)
{
    const int p0 = 1 - p1;
    const int dial = tb->dialtone;
    float coef[8];
    for (int f = 0; f < 8; f++)
        coef[f] = tb->coef[f];
    const float na0 = tb->notch_a[0], nb10 = tb->notch_b1[0], nb20 = tb->notch_b2[0];
    const float na1 = tb->notch_a[1], nb11 = tb->notch_b1[1], nb21 = tb->notch_b2[1];
    v8 x1a = g[0], x1b = g[1], x2a = g[2], x2b = g[3], y1a = g[4], y1b = g[5], y2a = g[6], y2b = g[7];
    v8 a1[8], a2[8], b1[8], b2[8];
    v8 ea = g[GS_EN(p1)], eb = g[GS_EN(p0)];
    for (int f = 0; f < 8; f++) {
        a1[f] = g[GS_S1(p1) + f];
        a2[f] = g[GS_S2(p1) + f];
        b1[f] = g[GS_S1(p0) + f];
        b2[f] = g[GS_S2(p0) + f];
    }
    for (int i = 0; i < len; i++) {
        v8 y = x[i];
        if (dial) {
            v8 u = y + x2a;
            v8 t = na0 * x1a;
            u = u - t;
            v8 v = nb10 * y1a;
            v8 t2 = nb20 * y2a;
            v = v - t2;
            v8 ya = u + v;
            x2a = x1a;
            x1a = y;
            y2a = y1a;
            y1a = ya;
            u = ya + x2b;
            t = na1 * x1b;
            u = u - t;
            v = nb11 * y1b;
            t2 = nb21 * y2b;
            v = v - t2;
            y = u + v;
            x2b = x1b;
            x1b = ya;
            y2b = y1b;
            y1b = y;
        }
        v8 wa = w1[i] * y;
        v8 wb = w0[i] * y;
        v8 sa = wa * wa;
        v8 sb = wb * wb;
        ea = ea + sa;
        eb = eb + sb;
        GOERTZEL_STEP(a1, a2, wa)
        GOERTZEL_STEP(b1, b2, wb)
    }
    g[0] = x1a;
    g[1] = x1b;
    g[2] = x2a;
    g[3] = x2b;
    g[4] = y1a;
    g[5] = y1b;
    g[6] = y2a;
    g[7] = y2b;
    g[GS_EN(p1)] = ea;
    g[GS_EN(p0)] = eb;
    for (int f = 0; f < 8; f++) {
        g[GS_S1(p1) + f] = a1[f];
        g[GS_S2(p1) + f] = a2[f];
        g[GS_S1(p0) + f] = b1[f];
        g[GS_S2(p0) + f] = b2[f];
    }
}

static const char DIGITS[] = "123A456B789C*0#D";

static long emit(pycc_dtmf_event_t *ev, int channel, int digit, int kind, int64_t start, int64_t end, int64_t when)
{
    ev->channel = channel;
    ev->digit = DIGITS[digit];
    ev->kind = kind;
    ev->start = start;
    ev->end = end;
    ev->when = when;
    return 1;
}

/* One channel's verdict for block k -> run tracker and confirmed-digit tracker (twin: decide()). */
static long decide(const pycc_dtmf_tables_t *tb, chan_t *st, int64_t k, int d, float pur, int fok, float lvl,
                   int channel, pycc_dtmf_event_t *ev)
{
    const float half = 0.5f, near = 0.75f;
    const int64_t centre = k * H + H, when = k * H + N;
    long n = 0;
    if (st->on_d >= 0) {
        if (d == st->on_d) {
            st->on_off = 0;
            if (pur > st->on_max)
                st->on_max = pur;
            if (pur >= half * st->on_max)
                st->on_end = centre + H / 2;
        } else if (++st->on_off >= tb->off_blocks) {
            n += emit(ev + n, channel, st->on_d, 1, st->on_start, st->on_end, when);
            st->on_d = -1;
        }
    }
    if (d < 0) {
        st->run_d = -1;
        st->run_n = 0;
        st->run_dead = 0;
    } else if (st->run_n > 0 && d == st->run_d) {
        if (st->run_n == HIST) {
            memmove(st->hp, st->hp + 1, sizeof(float) * (HIST - 1));
            memmove(st->hl, st->hl + 1, sizeof(float) * (HIST - 1));
            memmove(st->hf, st->hf + 1, HIST - 1);
            st->run_first++;
            st->run_n--;
        }
        st->hp[st->run_n] = pur;
        st->hf[st->run_n] = (unsigned char) fok;
        st->hl[st->run_n] = lvl;
        st->run_n++;
    } else {
        st->run_d = d;
        st->run_first = k;
        st->run_dead = 0;
        st->hp[0] = pur;
        st->hf[0] = 0;
        st->hl[0] = lvl;
        st->run_n = 1;
    }
    if (st->on_d >= 0 || st->run_n == 0 || st->run_dead)
        return n;
    float pm = st->hp[0], lm = st->hl[0];
    for (int i = 1; i < st->run_n; i++) {
        if (st->hp[i] > pm)
            pm = st->hp[i];
        if (st->hl[i] > lm)
            lm = st->hl[i];
    }
    int strong = 0;
    for (int i = 0; i < st->run_n; i++)
        strong += st->hp[i] >= tb->min_purity;
    if (strong < tb->strong_blocks || lm < tb->level)
        return n;
    const float hm = half * pm, lim = near * pm;
    int counted = 0, first = -1, last = -1, pairs = 0;
    for (int i = 0; i < st->run_n; i++)
        if (st->hp[i] >= hm) {
            counted++;
            if (first < 0)
                first = i;
            last = i;
        }
    if (counted < tb->on_blocks)
        return n;
    for (int i = 1; i < st->run_n; i++)
        if (st->hp[i] >= lim && st->hp[i - 1] >= lim) {
            if (!st->hf[i]) {
                st->run_dead = 1;
                return n;
            }
            pairs++;
        }
    if (pairs < 2)
        return n;
    st->on_d = st->run_d;
    st->on_start = (st->run_first + first) * H + H - H / 2;
    st->on_end = (st->run_first + last) * H + H + H / 2;
    st->on_max = pm;
    st->on_off = 0;
    n += emit(ev + n, channel, st->on_d, 0, st->on_start, -1, when);
    return n;
}

/* Block k of parity p is complete for group gi: features per lane, then each channel's decision. */
static long complete(pycc_dtmf_t *s, int gi, int p, int64_t k, pycc_dtmf_event_t *ev)
{
    const pycc_dtmf_tables_t *tb = &s->tb;
    v8 *g = s->gs + (long) gi * GS_SIZE;
    v8 re[8], im[8], e[8];
    for (int f = 0; f < 8; f++) {
        v8 t = g[GS_S2(p) + f] * tb->cosw[f];
        re[f] = g[GS_S1(p) + f] - t;
        im[f] = g[GS_S2(p) + f] * tb->sinw[f];
        v8 a = re[f] * re[f];
        v8 b = im[f] * im[f];
        e[f] = a + b;
    }
    v8 en = g[GS_EN(p)];
    long n = 0;
    for (int l = 0; l < LANES; l++) {
        int c = gi * LANES + l;
        if (c >= s->channels)
            break;
        chan_t *st = &s->ch[c];
        int r = 0, cc = 4;
        for (int f = 1; f < 4; f++)
            if (e[f][l] > e[r][l])
                r = f;
        for (int f = 5; f < 8; f++)
            if (e[f][l] > e[cc][l])
                cc = f;
        float er = e[r][l], ec = e[cc][l], energy = en[l];
        int ok = er >= tb->cand_level && ec >= tb->cand_level && er <= tb->twist * ec && ec <= tb->rtwist * er;
        float tot = er + ec;
        tot = tot * tb->norm;
        float pur = energy > 0.0f ? tot / energy : 0.0f;
        ok = ok && pur >= tb->cand_purity;
        int d = ok ? r * 4 + (cc - 4) : -1;
        int fok = 1;
        const int idx[2] = {r, cc};
        for (int j = 0; j < 2; j++) {
            int f = idx[j];
            float ar = re[f][l], ai = im[f][l], br = st->prev_re[f], bi = st->prev_im[f];
            float t1 = ar * br, t2 = ai * bi;
            float pr = t1 + t2;
            t1 = ai * br;
            t2 = ar * bi;
            float pi = t1 - t2;
            t1 = pr * tb->cosh[f];
            t2 = pi * tb->sinh[f];
            float zr = t1 + t2;
            t1 = pi * tb->cosh[f];
            t2 = pr * tb->sinh[f];
            float zi = t1 - t2;
            t1 = zr * zr;
            t2 = zi * zi;
            float m = t1 + t2;
            float lhs = zr * (zr < 0.0f ? -zr : zr);
            float rhs = tb->costol[f] * m;
            fok = fok && m > 0.0f && lhs >= rhs;
        }
        for (int f = 0; f < 8; f++) {
            st->prev_re[f] = re[f][l];
            st->prev_im[f] = im[f][l];
        }
        n += decide(tb, st, k, d, pur, fok, er < ec ? er : ec, c, ev + n);
    }
    return n;
}

static int ensure(pycc_dtmf_t *s, long samples)
{
    if (samples <= s->cap)
        return 0;
    free(s->xbuf);
    s->xbuf = alloc32(sizeof(v8) * samples);
    if (!s->xbuf) {
        s->cap = 0;
        return -1;
    }
    s->cap = samples;
    return 0;
}

static long run(pycc_dtmf_t *s, const int16_t *x16, const uint8_t *x8, const int16_t *table, long S,
                pycc_dtmf_event_t *ev)
{
    if (S <= 0)
        return 0;
    if (ensure(s, S))
        return -1;
    long nev = 0;
    for (int gi = 0; gi < s->groups; gi++) {
        v8 *xb = s->xbuf;
        for (int l = 0; l < LANES; l++) {
            long c = (long) gi * LANES + l;
            if (c >= s->channels) {
                for (long i = 0; i < S; i++)
                    xb[i][l] = 0.0f;
            } else if (x16) {
                const int16_t *src = x16 + c * S;
                for (long i = 0; i < S; i++)
                    xb[i][l] = (float) src[i];
            } else {
                const uint8_t *src = x8 + c * S;
                for (long i = 0; i < S; i++)
                    xb[i][l] = (float) table[src[i]];
            }
        }
        v8 *g = s->gs + (long) gi * GS_SIZE;
        int64_t t = s->t;
        long i = 0;
        while (i < S) {
            int ph = (int) (t % H);
            int64_t k1 = t / H;
            long len = H - ph;
            if (len > S - i)
                len = S - i;
            int p1 = (int) (k1 & 1);
            segment(g, xb + i, (int) len, s->tb.window + ph, s->tb.window + ph + H, p1, &s->tb);
            i += len;
            t += len;
            if (ph + len == H) {
                int p0 = 1 - p1;
                if (k1 >= 1)
                    nev += complete(s, gi, p0, k1 - 1, ev + nev);
                for (int f = 0; f < 8; f++) {
                    g[GS_S1(p0) + f] = (v8){0};
                    g[GS_S2(p0) + f] = (v8){0};
                }
                g[GS_EN(p0)] = (v8){0};
            }
        }
    }
    s->t += S;
    return nev;
}

long pycc_dtmf_process(pycc_dtmf_t *s, const int16_t *x, long samples, pycc_dtmf_event_t *events)
{
    return run(s, x, NULL, NULL, samples, events);
}

long pycc_dtmf_process_g711(pycc_dtmf_t *s, const uint8_t *x, const int16_t *table, long samples,
                            pycc_dtmf_event_t *events)
{
    return run(s, NULL, x, table, samples, events);
}
