/* DTMF receiver kernel. The numpy twin pycallcenter/dsp/reference/dtmf.py is the specification: every float
 * operation here is the same IEEE float32 operation in the same order (no FMA contraction: a fused multiply-add only
 * where the twin writes fma32), so both produce identical events. Channels are processed 8 at a time in lockstep (GCC vector extension), which makes the
 * Goertzel filters SIMD across channels without reordering any channel's arithmetic.
 *
 * Idle channels cost next to nothing: the twin's rest rule (a channel whose blocks stayed under rest_energy for
 * rest_blocks with nothing in progress keeps a zero signal state, and a tick whose samples stay within +-rest_peak
 * is silence for it) lets a resting channel skip every stage. Channels live in slots (slot i is lane i % 8 of group
 * i / 8) and the kernel keeps the awake ones in the first groups, swapping slots, state and all, between ticks, so
 * the groups of resting channels are skipped whole. Which slot a channel has changes no result.
 *
 * The row filters run only where a candidate is possible (screen()): the column filters and the energies run for
 * every awake channel over the tick as before; when a block completes, a lane whose strongest column bin cannot
 * reach a candidate with any row (the twist limit bounds the row bin by twist times the column bin, so the purity
 * test needs ec (1 + twist) norm >= cand_purity energy) is no candidate, and its row bins, which nothing else
 * reads, stay zero. The other lanes' rows run per block from the notched samples (the tick's, and a tail of the
 * last 51 kept in the group state), the same operations as a recursion across the tick, either in place for a
 * group with several such lanes or gathered 8 at a time from any groups. Channels that had a candidate lately
 * share groups (slots again), so a dialling channel's neighbours are other dialling channels. */
#pragma GCC optimize("fp-contract=off")
#include <stdlib.h>
#include <string.h>
#include <math.h>
#include <immintrin.h>
#include "pycc_dtmf.h"

#define N 52      /* block, decimated samples */
#define H 26      /* hop, decimated samples */
#define HOP_IN 52 /* hop in input samples */
#define FIR 15    /* half-band decimator length */
/* added to the notch input: after a signal stops the notches decay towards this instead of into subnormal
 * floats (10-100x slower on x86); far below one int16 step, so it changes no decision */
#define DENORMAL_GUARD 1e-10f
#define LANES 8
#define PF_AHEAD 3 /* groups between the one running and the one whose state is fetched (2, 4 and 6: within noise) */
#define HIST 16
#define HOT_BLOCKS 77 /* a channel with a candidate block in the last 0.5 s is kept with the others that had one */
#define SNAP_RING 16 /* groups whose completed blocks can wait for gathered rows at once */
#define DIRECT 3      /* a group with this many lanes to screen in a block runs its rows in place, not gathered */
/* group state layout, in vectors: notch x1[2] x2[2] y1[2] y2[2]; then per block parity the column filters' s1[4]
 * s2[4] (frequencies 4-7: GS_S1(p) + f; the rows run per block from the samples, see screen()); energy of the low
 * band [2] and of the high band [2] */
#define GS_S1(p) (4 + (p) * 8)
#define GS_S2(p) (8 + (p) * 8)
#define GS_EN(p) (24 + (p))
#define GS_ENH(p) (26 + (p))
#define GS_PRE(f) (28 + (f))
#define GS_PIM(f) (36 + (f))
#define GS_HIST(i) (44 + (i)) /* the last FIR-1 input samples, oldest first */
#define GS_CALM (44 + FIR - 1)  /* the rest rule's count of quiet blocks, as floats (saturating at rest_blocks) */
#define TAIL (N - 1)           /* decimated samples of an open block that can precede the tick */
#define GS_TAIL(i) (GS_CALM + 1 + (i)) /* the last TAIL notched low-band samples, oldest first (the row screen) */
#define GS_SIZE (GS_TAIL(0) + TAIL)

typedef float v8 __attribute__((vector_size(32)));
typedef int32_t v8i __attribute__((vector_size(32)));
typedef int16_t v8h __attribute__((vector_size(16)));
typedef int16_t v16h __attribute__((vector_size(32)));
typedef uint16_t v16u __attribute__((vector_size(32)));
typedef int32_t v4i __attribute__((vector_size(16)));
typedef int64_t v2l __attribute__((vector_size(16)));

/* a * b + c rounded once, lane by lane (the twin's fma32): one instruction where the target has FMA (GCC joins the
 * lanes), a libm call per lane in the plain clone, the same result either way */
static inline __attribute__((always_inline)) v8 vfma(v8 a, v8 b, v8 c)
{
    v8 r;
    for (int l = 0; l < LANES; l++)
        r[l] = __builtin_fmaf(a[l], b[l], c[l]);
    return r;
}

/* lane-wise m ? a : b for a comparison mask m (C has no vector ?:) */
#define sel(m, a, b) ((v8) (((v8i) (a) & (m)) | ((v8i) (b) & ~(m))))
#define seli(m, a, b) (((a) & (m)) | ((b) & ~(m)))

typedef struct {
    int run_d, run_n, run_dead;
    int64_t run_first;
    float hp[HIST], hl[HIST];
    float hz[HIST][4]; /* rotated phase-advance products: row (re, im), column (re, im) */
    float hsr[HIST], hsc[HIST]; /* each tone's share of the band */
    unsigned char hf[HIST];
    int on_d, on_off;
    int64_t on_start, on_end;
    float on_max;
} chan_t;

struct pycc_dtmf {
    pycc_dtmf_tables_t tb;
    int channels, groups, slots;
    int64_t t; /* input samples */
    v8 *gs;
    chan_t *ch; /* per channel (not per slot: a slot that changes places leaves its record where it is) */
    int *chan;  /* per slot: its channel, -1 for the lanes past the last channel */
    int *slot;  /* per channel: its slot */
    /* per slot: a run or a digit is in progress (decide() has work even without a candidate). Kept apart from
     * chan_t so the idle test of a block touches one cache line per group, not eight channel records */
    unsigned char *busy;
    unsigned char *rest; /* per slot: at rest (signal state zero); always for slots without a channel */
    unsigned char *gate; /* per slot, this tick: resting and calm, so its input is silence */
    /* per slot: the last block that was a candidate (where the slot is kept, see regroup()); apart from chan_t,
     * whose records regroup() would otherwise pull into the cache every tick, one line each */
    int64_t *last_cand;
    int *awake;          /* this tick: the groups with a slot not gated, in order */
    /* G.711 input: the codes within +-rest_peak are those whose (code ^ law_x) & 0x7f lies in [law_lo, law_hi]
     * (law_ok; both laws are sign-magnitude under such a mask), found for the table in law_table */
    int16_t law_table[256];
    int law_ok, law_peak;
    uint8_t law_x, law_lo, law_hi;
    v8 *xbuf, *ybuf;
    v8 *snap; /* completed blocks of SNAP_RING awake groups of a tick (SNAP vectors each, maxnb per group) */
    long maxnb;
    /* the row screen (see screen()): a block's row filters run only for the lanes whose column bins leave room
     * for a candidate, gathered 8 at a time from any groups and blocks into stage */
    float scr;   /* column energy is multiplied by this before the comparison with cand_purity * energy */
    v8 *stage;   /* N vectors: the gathered lanes' samples */
    int nstage;  /* lanes gathered */
    int st_i[LANES], st_nb[LANES], st_l[LANES]; /* each gathered lane's awake group index, block, lane */
    long counts[3]; /* lane-blocks screened out, lanes gathered, group-blocks whose rows ran in place */
    int16_t *zeros; /* a silent row for the lanes past the last channel */
    int sink;       /* where warm() leaves what it read */
    long cap, xstride, ystride; /* xbuf and ybuf hold two groups' buffers of these many vectors */
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
    s->law_peak = -2; /* no G.711 table seen yet */
    /* candidate => er <= twist ec and (er + ec) norm >= cand_purity energy, each rounded: ec (1 + twist) norm
     * reaches cand_purity energy within a few float roundings (a relative 1e-6); 1e-3 is the margin */
    s->scr = nextafterf((float) ((double) tables->norm * (1.0 + (double) tables->twist) * 1.001), INFINITY);
    s->channels = channels;
    s->groups = (channels + LANES - 1) / LANES;
    s->slots = s->groups * LANES;
    s->gs = alloc32(sizeof(v8) * GS_SIZE * s->groups);
    s->ch = calloc(s->slots, sizeof(chan_t));
    s->chan = calloc(s->slots, sizeof(int));
    s->slot = calloc(channels, sizeof(int));
    s->busy = calloc(s->slots, 1);
    s->rest = calloc(s->slots, 1);
    s->gate = calloc(s->slots, 1);
    s->awake = calloc(s->groups, sizeof(int));
    s->last_cand = calloc(s->slots, sizeof(int64_t));
    s->stage = alloc32(sizeof(v8) * N);
    if (!s->stage || !s->gs || !s->ch || !s->chan || !s->slot || !s->busy || !s->rest || !s->gate || !s->awake || !s->last_cand) {
        pycc_dtmf_free(s);
        return NULL;
    }
    for (int i = 0; i < s->slots; i++) {
        chan_init(&s->ch[i]);
        s->last_cand[i] = INT64_MIN / 2;
        s->chan[i] = i < channels ? i : -1;
        s->rest[i] = i >= channels;
        if (i < channels)
            s->slot[i] = i;
    }
    return s;
}

void pycc_dtmf_free(pycc_dtmf_t *s)
{
    if (!s)
        return;
    free(s->gs);
    free(s->ch);
    free(s->chan);
    free(s->slot);
    free(s->busy);
    free(s->rest);
    free(s->gate);
    free(s->awake);
    free(s->last_cand);
    free(s->stage);
    free(s->xbuf);
    free(s->ybuf);
    free(s->snap);
    free(s->zeros);
    free(s);
}

/* Slot i's signal state back to zero (its lane of the group state). */
static void zero_signal(pycc_dtmf_t *s, int i)
{
    v8 *g = s->gs + (long) (i / LANES) * GS_SIZE;
    const int lane = i % LANES;
    for (int j = 0; j < GS_SIZE; j++)
        g[j][lane] = 0.0f;
}

void pycc_dtmf_reset(pycc_dtmf_t *s, int channel)
{
    const int i = s->slot[channel];
    zero_signal(s, i);
    chan_init(&s->ch[channel]);
    s->last_cand[i] = INT64_MIN / 2;
    s->busy[i] = 0;
    s->rest[i] = 0;
}

int64_t pycc_dtmf_samples(const pycc_dtmf_t *s) { return s->t; }

void pycc_dtmf_screen_counts(const pycc_dtmf_t *s, long counts[3])
{
    memcpy(counts, s->counts, sizeof(s->counts));
}

void pycc_dtmf_signal_state(const pycc_dtmf_t *s, int channel, float out[PYCC_DTMF_STATE])
{
    const int i = s->slot[channel];
    const v8 *g = s->gs + (long) (i / LANES) * GS_SIZE;
    for (int j = 0; j < PYCC_DTMF_STATE; j++) /* the group state's first vectors, in this order (GS_S1(0) + 4 = 8) */
        out[j] = g[j][i % LANES];
}

int pycc_dtmf_at_rest(const pycc_dtmf_t *s, int channel)
{
    const int i = s->slot[channel];
    const v8 *g = s->gs + (long) (i / LANES) * GS_SIZE;
    if (!s->rest[i])
        return 0;
    for (int j = 0; j < GS_SIZE; j++)
        if (g[j][i % LANES] != 0.0f)
            return -1;
    return 1;
}

long pycc_dtmf_max_events(const pycc_dtmf_t *s, long samples)
{
    return (long) s->channels * 2 * (samples / HOP_IN + 2);
}

/* The dial-tone notches: two biquads in cascade, states in registers while a tick runs. */
typedef struct {
    v8 x1a, x1b, x2a, x2b, y1a, y1b, y2a, y2b;
} notch_state_t;
typedef struct {
    v8 na0, nb10, nb20, na1, nb11, nb21; /* na, nb2 negated: fma(-a, x, u) is u - a x rounded once */
} notch_coef_t;

static inline __attribute__((always_inline)) notch_coef_t notch_coef(const pycc_dtmf_tables_t *tb)
{
    notch_coef_t k = {(v8){0} - tb->notch_a[0], (v8){0} + tb->notch_b1[0], (v8){0} - tb->notch_b2[0],
                      (v8){0} - tb->notch_a[1], (v8){0} + tb->notch_b1[1], (v8){0} - tb->notch_b2[1]};
    return k;
}

static inline __attribute__((always_inline)) notch_state_t notch_load(const v8 *g)
{
    notch_state_t n = {g[0], g[1], g[2], g[3], g[4], g[5], g[6], g[7]};
    return n;
}

static inline __attribute__((always_inline)) void notch_store(v8 *g, const notch_state_t *n)
{
    g[0] = n->x1a; g[1] = n->x1b; g[2] = n->x2a; g[3] = n->x2b;
    g[4] = n->y1a; g[5] = n->y1b; g[6] = n->y2a; g[7] = n->y2b;
}

/* One input sample through both notches; returns the output. The two sections are written out: as one biquad
 * function called twice, GCC left the fused steps of the x86-64-v3 clone lane by lane (checked with objdump). */
static inline __attribute__((always_inline)) v8 notch_step(notch_state_t *n, const notch_coef_t *k, v8 x)
{
    v8 xi = x + DENORMAL_GUARD;
    v8 u = xi + n->x2a;
    u = vfma(k->na0, n->x1a, u);
    u = vfma(k->nb20, n->y2a, u);
    v8 ya = vfma(k->nb10, n->y1a, u);
    n->x2a = n->x1a;
    n->x1a = xi;
    n->y2a = n->y1a;
    n->y1a = ya;
    u = ya + n->x2b;
    u = vfma(k->na1, n->x1b, u);
    u = vfma(k->nb21, n->y2b, u);
    v8 yb = vfma(k->nb11, n->y1b, u);
    n->x2b = n->x1b;
    n->x1b = ya;
    n->y2b = n->y1b;
    n->y1b = yb;
    return yb;
}

/* The dial-tone notches over a tick when the filter is on: returns the filtered samples (ybuf), else x. */
static inline __attribute__((always_inline)) const v8 *notch(v8 *restrict g, const v8 *restrict x, v8 *restrict ybuf,
                                                             int len, const pycc_dtmf_tables_t *tb)
{
    if (!tb->dialtone)
        return x;
    const notch_coef_t k = notch_coef(tb);
    notch_state_t n = notch_load(g);
    for (int i = 0; i < len; i++)
        ybuf[i] = notch_step(&n, &k, x[i]);
    notch_store(g, &n);
    return ybuf;
}

#define SNAP 17 /* vectors kept per completed block: s1[8], s2[8], energy */

/* Snapshot chains A0..A(NF-1) / B.. of one parity into completed-block slot sn and zero them. */
#define SNAPSHOT(A, B, OFF)                                                                                         \
    do {                                                                                                            \
        _Pragma("GCC unroll 4") for (int q = 0; q < NF; q++) {                                                      \
            sn[f0 + q] = A[(OFF) + q];                                                                              \
            sn[8 + f0 + q] = B[(OFF) + q];                                                                          \
            A[(OFF) + q] = (v8){0};                                                                                 \
            B[(OFF) + q] = (v8){0};                                                                                 \
        }                                                                                                           \
    } while (0)

/* One pass over a whole tick of decimated samples y (times t0, t0+1, ...): the Goertzel recursions of NF
 * frequencies from f0, for one block parity p or for both (BOTH: 2*NF chains, parity 0 in slots 0-3, parity 1 in
 * 4-7), states held in registers for the whole tick. A block's weights are w[ph] in its first half and w[ph+H] in
 * its second. At each half-block boundary the block that completes leaves its states (and, with E, its energy of
 * both bands) in the next slot of snap and restarts from zero. Returns the boundaries crossed. */
static inline __attribute__((always_inline)) long tick_pass(v8 *restrict g, int f0, const int NF, const int BOTH, int p,
                                                           const float *coef, const float *win, const v8 *restrict y,
                                                           const v8 *restrict hi, long nd, int64_t t0,
                                                           v8 *restrict snap, const int E)
{
    v8 a[8], b[8], en[2], eh[2];
    v8 c[4];
    const int q0 = BOTH ? 0 : p, q1 = BOTH ? 1 : p; /* the parities this pass runs */
#pragma GCC unroll 4
    for (int q = 0; q < NF; q++) {
        a[q] = g[GS_S1(q0) + f0 + q];
        b[q] = g[GS_S2(q0) + f0 + q];
        if (BOTH) {
            a[4 + q] = g[GS_S1(1) + f0 + q];
            b[4 + q] = g[GS_S2(1) + f0 + q];
        }
        c[q] = (v8){0} + coef[f0 + q];
    }
    en[0] = g[GS_EN(q0)];
    en[1] = g[GS_EN(q1)];
    eh[0] = g[GS_ENH(q0)];
    eh[1] = g[GS_ENH(q1)];
    long i = 0, nb = 0;
    int64_t t = t0;
    while (i < nd) {
        const int ph = (int) (t % H), first = (int) ((t / H) & 1); /* the parity in its first half */
        long len = H - ph;
        if (len > nd - i)
            len = nd - i;
        const float *wa = win + ph + (q0 == first ? 0 : H), *wb = win + ph + (q1 == first ? 0 : H);
        const v8 *yy = y + i, *hh = hi + i;
        for (long j = 0; j < len; j++) {
            v8 wy = wa[j] * yy[j], wz = BOTH ? wb[j] * yy[j] : wy;
            if (E) { /* the bands' energies in chains of their own: one fused step each per sample */
                en[0] = vfma(wy, wy, en[0]);
                v8 wh = wa[j] * hh[j];
                eh[0] = vfma(wh, wh, eh[0]);
                if (BOTH) {
                    en[1] = vfma(wz, wz, en[1]);
                    wh = wb[j] * hh[j];
                    eh[1] = vfma(wh, wh, eh[1]);
                }
            }
#pragma GCC unroll 4
            for (int q = 0; q < NF; q++) {
                v8 t1 = wy - b[q];
                b[q] = a[q];
                a[q] = vfma(c[q], a[q], t1);
                if (BOTH) {
                    v8 t2 = wz - b[4 + q];
                    b[4 + q] = a[4 + q];
                    a[4 + q] = vfma(c[q], a[4 + q], t2);
                }
            }
        }
        i += len;
        t += len;
        if (ph + len == H) {
            const int done = 1 - first; /* the parity whose block completes here */
            v8 *sn = snap + nb * SNAP;
            if (done == q0) {
                SNAPSHOT(a, b, 0);
                if (E) {
                    sn[16] = en[0] + eh[0];
                    en[0] = eh[0] = (v8){0};
                }
            } else if (BOTH) {
                SNAPSHOT(a, b, 4);
                if (E) {
                    sn[16] = en[1] + eh[1];
                    en[1] = eh[1] = (v8){0};
                }
            }
            nb++;
        }
    }
#pragma GCC unroll 4
    for (int q = 0; q < NF; q++) {
        g[GS_S1(q0) + f0 + q] = a[q];
        g[GS_S2(q0) + f0 + q] = b[q];
        if (BOTH) {
            g[GS_S1(1) + f0 + q] = a[4 + q];
            g[GS_S2(1) + f0 + q] = b[4 + q];
        }
    }
    if (E) {
        g[GS_EN(q0)] = en[0];
        g[GS_ENH(q0)] = eh[0];
        if (BOTH) {
            g[GS_EN(1)] = en[1];
            g[GS_ENH(1)] = eh[1];
        }
    }
    return nb;
}

/* Dial-tone notches into ybuf (a copy there without them), then windowing, energy and the 4 column Goertzel
 * recursions of both open blocks over a whole tick of decimated samples, one parity a pass so nothing spills;
 * completed blocks go to snap (their row states are filled later, see screen()). Returns the number of
 * completed-block slots written (one per half-block boundary crossed). */
__attribute__((target_clones("arch=x86-64-v3", "default")))
static long segment(v8 *restrict g, const v8 *restrict x, const v8 *restrict hi, v8 *restrict ybuf, long nd,
                    int64_t t0, const pycc_dtmf_tables_t *tb, v8 *restrict snap)
{
    if (notch(g, x, ybuf, (int) nd, tb) != ybuf)
        memcpy(ybuf, x, sizeof(v8) * nd);
    tick_pass(g, 4, 4, 0, 0, tb->coef, tb->window, ybuf, hi, nd, t0, snap, 1);
    return tick_pass(g, 4, 4, 0, 1, tb->coef, tb->window, ybuf, hi, nd, t0, snap, 1);
}

/* segment()'s passes where AVX-512VL gives 32 vector registers: one pass of eight chains (both parities), over
 * samples y already through the notches (or not, with the dial-tone filter off). */
__attribute__((target("avx512f,avx512vl,avx2,fma")))
static long passes_wide(v8 *restrict g, const v8 *restrict y, const v8 *restrict hi, long nd, int64_t t0,
                        const pycc_dtmf_tables_t *tb, v8 *restrict snap)
{
    return tick_pass(g, 4, 4, 1, 0, tb->coef, tb->window, y, hi, nd, t0, snap, 1);
}

/* The notches of two groups in one loop (the dial-tone filter on): each group's chain waits on its own
 * fused multiply-add every sample, so one group alone leaves the FMA pipes idle half the time; 32 vector
 * registers hold both groups' states and the coefficients. */
__attribute__((target("avx512f,avx512vl,avx2,fma")))
static void notch_pair(v8 *restrict ga, v8 *restrict gb, const v8 *restrict xa, const v8 *restrict xb,
                       v8 *restrict ya, v8 *restrict yb, long nd, const pycc_dtmf_tables_t *tb)
{
    const notch_coef_t k = notch_coef(tb);
    notch_state_t na = notch_load(ga), nb = notch_load(gb);
    for (long i = 0; i < nd; i++) {
        ya[i] = notch_step(&na, &k, xa[i]);
        yb[i] = notch_step(&nb, &k, xb[i]);
    }
    notch_store(ga, &na);
    notch_store(gb, &nb);
}

/* segment() where AVX-512VL gives 32 vector registers, for one group: the notches through notch_pair() with a
 * spare partner (GCC leaves the single-group notch loop partly lane by lane in this target; the partner's chain
 * costs next to nothing beside a chain bound by latency), then passes of eight chains. spare_y: room for nd
 * vectors. */
__attribute__((target("avx512f,avx512vl,avx2,fma")))
static long segment_wide(v8 *restrict g, const v8 *restrict x, const v8 *restrict hi, v8 *restrict ybuf,
                         v8 *restrict spare_y, long nd, int64_t t0, const pycc_dtmf_tables_t *tb, v8 *restrict snap)
{
    if (tb->dialtone) {
        v8 spare[8] = {{0}};
        notch_pair(g, spare, x, x, ybuf, spare_y, nd, tb);
    } else {
        memcpy(ybuf, x, sizeof(v8) * nd);
    }
    return passes_wide(g, ybuf, hi, nd, t0, tb, snap);
}

/* 1: segment_wide, 0: segment, -1: chosen by the CPU on first use */
static int wide_path = -1;
static int has_avx2 = -1; /* AVX2 checked (-1: not yet) */
static int has_fma = -1;  /* decimate_fma usable (AVX2 and FMA): -1 until checked */
static int has_bw = -1;   /* transpose16_avx512 and decimate_fma16 usable (the wide path): -1 until checked */

int pycc_dtmf_wide_path(int wide)
{
    if (wide == 2) { /* for tests: what a CPU without AVX2 runs (segment, the plain transpose and decimator) */
        wide_path = 0;
        has_avx2 = has_fma = has_bw = 0;
        return 2;
    }
    has_avx2 = -1;
    if (wide == 0 || (wide == 1 && __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512f")))
        wide_path = wide;
    else if (wide < 0)
        wide_path = -1;
    return wide_path;
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
/* Gains undoing the window's loss at the run's mean frequency offset of the row and the column tone; 0 when a
 * tone's mean phase advance over the near-full block pairs is out of run tolerance (twin: _run_gains). */
static int run_gains(const pycc_dtmf_tables_t *tb, const chan_t *st, float lim, float *gains)
{
    const int idx[2] = {st->run_d / 4, 4 + st->run_d % 4};
    for (int j = 0; j < 2; j++) {
        float zr = 0.0f, zi = 0.0f;
        for (int i = 1; i < st->run_n; i++)
            if (st->hp[i] >= lim && st->hp[i - 1] >= lim) {
                zr = zr + st->hz[i][2 * j];
                zi = zi + st->hz[i][2 * j + 1];
            }
        float a = zr * zr, b = zi * zi;
        float m = a + b;
        float lhs = zr * (zr < 0.0f ? -zr : zr);
        float rhs = tb->costol_run[idx[j]] * m;
        if (!(m > 0.0f && lhs >= rhs))
            return 0;
        float u = zr / sqrtf(m);
        u = 1.0f - u;
        const float *g = tb->gain_poly;
        float v = g[0] * u;
        v = v + g[1];
        v = v * u;
        v = v + g[2];
        v = v * u;
        gains[j] = v + g[3];
    }
    return 1;
}

static long decide(const pycc_dtmf_tables_t *tb, chan_t *st, int64_t k, int d, float pur, int fok, float lvl,
                   const float *z, int channel, pycc_dtmf_event_t *ev)
{
    const float half = 0.5f, near = 0.75f;
    /* block k's centre, in input samples: decimated sample kH + H stands for input time 2(kH + H) + 1 - 7 */
    const int64_t centre = k * HOP_IN + HOP_IN - 6, when = k * HOP_IN + 2 * HOP_IN;
    long n = 0;
    if (st->on_d >= 0) {
        if (d == st->on_d) {
            st->on_off = 0;
            if (pur > st->on_max)
                st->on_max = pur;
            if (pur >= half * st->on_max)
                st->on_end = centre + H;
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
            memmove(st->hz, st->hz + 1, sizeof(st->hz[0]) * (HIST - 1));
            memmove(st->hsr, st->hsr + 1, sizeof(float) * (HIST - 1));
            memmove(st->hsc, st->hsc + 1, sizeof(float) * (HIST - 1));
            st->run_first++;
            st->run_n--;
        }
        st->hp[st->run_n] = pur;
        st->hf[st->run_n] = (unsigned char) fok;
        st->hl[st->run_n] = lvl;
        memcpy(st->hz[st->run_n], z, sizeof(st->hz[0]));
        st->hsr[st->run_n] = z[4];
        st->hsc[st->run_n] = z[5];
        st->run_n++;
    } else {
        st->run_d = d;
        st->run_first = k;
        st->run_dead = 0;
        st->hp[0] = pur;
        st->hf[0] = 0;
        st->hl[0] = lvl;
        memset(st->hz[0], 0, sizeof(st->hz[0]));
        st->hsr[0] = z[4];
        st->hsc[0] = z[5];
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
    float gains[2];
    if (pairs < 2 || !run_gains(tb, st, lim, gains))
        return n;
    /* the two tones' share of the band, corrected for the frequency offset: enough blocks reach tone_purity and
     * the near-full blocks' mean reaches run_purity */
    int pure = 0, full = 0;
    float total = 0.0f;
    for (int i = 0; i < st->run_n; i++) {
        float a = st->hsr[i] * gains[0], b = st->hsc[i] * gains[1];
        float share = a + b;
        pure += share >= tb->tone_purity;
        if (st->hp[i] >= lim) {
            total = total + share;
            full++;
        }
    }
    if (pure < tb->strong_blocks || total < tb->run_purity * (float) full)
        return n;
    st->on_d = st->run_d;
    st->on_start = (st->run_first + first) * HOP_IN + HOP_IN - 6 - H;
    st->on_end = (st->run_first + last) * HOP_IN + HOP_IN - 6 + H;
    st->on_max = pm;
    st->on_off = 0;
    n += emit(ev + n, channel, st->on_d, 0, st->on_start, -1, when);
    return n;
}

/* The rest rule's count of quiet blocks after a block of energy en (both bands). */
static inline __attribute__((always_inline)) void calm_count(v8 *g, v8 en, const pycc_dtmf_tables_t *tb)
{
    v8 cb = g[GS_CALM] + 1.0f;
    cb = sel(cb > (float) tb->rest_blocks, g[GS_CALM], cb);
    g[GS_CALM] = (v8) ((v8i) cb & (en <= tb->rest_energy));
}

/* Block k of parity p is complete for group gi: features for 8 lanes at once (same float operations as the
 * twin, lane by lane), then the decision of each channel that has anything going on. */
__attribute__((target_clones("avx2", "default")))
static long complete(pycc_dtmf_t *s, int gi, const v8 *sn, int64_t k, pycc_dtmf_event_t *ev)
{
    const pycc_dtmf_tables_t *tb = &s->tb;
    v8 *g = s->gs + (long) gi * GS_SIZE;
    v8 re[8], im[8], e[8];
    const unsigned char *act = s->busy + gi * LANES; /* slots without a channel stay 0 and d = -1 there */
    uint64_t anyact;
    memcpy(&anyact, act, sizeof(anyact));
    if (!anyact && tb->cand_level > 0.0f) {
        /* The row screen's common case: no lane's rows ran (their states are all bits zero) and no lane has a run or
         * digit in progress. Then every row bin is +0, so er = 0 < cand_level and no lane is a candidate: what is
         * left of the block is what the next one reads (the bins, the rows' +0) and the rest rule's count. */
        v8i rows = {0};
        for (int f = 0; f < 4; f++)
            rows |= (v8i) sn[f] | (v8i) sn[8 + f];
        if (!(rows[0] | rows[1] | rows[2] | rows[3] | rows[4] | rows[5] | rows[6] | rows[7])) {
            for (int f = 4; f < 8; f++) {
                v8 t = sn[8 + f] * tb->cosw[f];
                g[GS_PRE(f)] = sn[f] - t;
                g[GS_PIM(f)] = sn[8 + f] * tb->sinw[f];
            }
            for (int f = 0; f < 4; f++)
                g[GS_PRE(f)] = g[GS_PIM(f)] = (v8){0};
            calm_count(g, sn[16], tb);
            return 0;
        }
    }
    for (int f = 0; f < 8; f++) {
        v8 t = sn[8 + f] * tb->cosw[f];
        re[f] = sn[f] - t;
        im[f] = sn[8 + f] * tb->sinw[f];
        v8 a = re[f] * re[f];
        v8 b = im[f] * im[f];
        e[f] = a + b;
    }
    /* strongest row and column (first maximum wins) */
    v8 er = e[0], ec = e[4];
    v8i r = {0}, c = {4, 4, 4, 4, 4, 4, 4, 4};
    for (int f = 1; f < 4; f++) {
        v8i m = e[f] > er;
        er = sel(m, e[f], er);
        r = seli(m, ((v8i){0} + f), r);
        v8i mc = e[f + 4] > ec;
        ec = sel(mc, e[f + 4], ec);
        c = seli(mc, ((v8i){0} + (f + 4)), c);
    }
    v8i ok = (er >= tb->cand_level) & (ec >= tb->cand_level) & (er <= tb->twist * ec) & (ec <= tb->rtwist * er);
    v8 en = sn[16];
    v8 tot = er + ec;
    tot = tot * tb->norm;
    v8i pos = en > 0.0f;
    v8 safe = sel(pos, en, ((v8){0} + 1.0f));
    v8 pur = sel(pos, tot / safe, (v8){0});
    v8 shr = er * tb->norm, shc = ec * tb->norm; /* each tone's share alone */
    shr = sel(pos, shr / safe, (v8){0});
    shc = sel(pos, shc / safe, (v8){0});
    ok = ok & (pur >= tb->cand_purity);
    v8i d = seli(ok, r * 4 + (c - 4), ((v8i){0} - 1));
    calm_count(g, en, tb);
    int busy = 0; /* any lane with a candidate or a run/digit in progress needs the frequency test and decide() */
    for (int l = 0; l < LANES; l++)
        busy |= (d[l] >= 0) | act[l];
    if (!busy) {
        for (int f = 0; f < 8; f++) {
            g[GS_PRE(f)] = re[f];
            g[GS_PIM(f)] = im[f];
        }
        return 0;
    }
    /* frequency test on the chosen row and column bins against the previous block */
    v8i fok = {-1, -1, -1, -1, -1, -1, -1, -1};
    v8 zrs[2], zis[2];
    const v8i absmask = {0x7fffffff, 0x7fffffff, 0x7fffffff, 0x7fffffff, 0x7fffffff, 0x7fffffff, 0x7fffffff, 0x7fffffff};
    for (int j = 0; j < 2; j++) {
        v8i idx = j ? c : r;
        v8 ar = {0}, ai = {0}, br = {0}, bi = {0}, ch = {0}, sh = {0}, ct = {0};
        for (int f = j * 4; f < j * 4 + 4; f++) {
            v8i m = idx == f;
            ar = sel(m, re[f], ar);
            ai = sel(m, im[f], ai);
            br = sel(m, g[GS_PRE(f)], br);
            bi = sel(m, g[GS_PIM(f)], bi);
            v8 cf = {0}, sf = {0}, tf = {0};
            cf += tb->cosh[f];
            sf += tb->sinh[f];
            tf += tb->costol[f];
            ch = sel(m, cf, ch);
            sh = sel(m, sf, sh);
            ct = sel(m, tf, ct);
        }
        v8 t1 = ar * br, t2 = ai * bi;
        v8 pr = t1 + t2;
        t1 = ai * br;
        t2 = ar * bi;
        v8 pi = t1 - t2;
        t1 = pr * ch;
        t2 = pi * sh;
        v8 zr = t1 + t2;
        t1 = pi * ch;
        t2 = pr * sh;
        v8 zi = t1 - t2;
        t1 = zr * zr;
        t2 = zi * zi;
        v8 m = t1 + t2;
        zrs[j] = zr;
        zis[j] = zi;
        v8 lhs = zr * (v8) ((v8i) zr & absmask);
        v8 rhs = ct * m;
        fok = fok & (m > 0.0f) & (lhs >= rhs);
    }
    for (int f = 0; f < 8; f++) {
        g[GS_PRE(f)] = re[f];
        g[GS_PIM(f)] = im[f];
    }
    v8 lvl = sel(er < ec, er, ec);
    long n = 0;
    for (int l = 0; l < LANES; l++) {
        const int si = gi * LANES + l, ci = s->chan[si];
        if (ci < 0 || (d[l] < 0 && !act[l]))
            continue; /* no channel, or an idle one (decide() would change nothing; silence is always idle) */
        chan_t *st = &s->ch[ci];
        if (d[l] >= 0)
            s->last_cand[si] = k;
        const float z[6] = {zrs[0][l], zis[0][l], zrs[1][l], zis[1][l], shr[l], shc[l]};
        n += decide(tb, st, k, d[l], pur[l], fok[l] != 0, lvl[l], z, ci, ev + n);
        s->busy[si] = st->on_d >= 0 || st->run_n > 0;
    }
    return n;
}

/* Rows of 8 channels of the int16 tick -> one vector of 8 lanes per sample: 8x8 tiles converted and transposed
 * in registers. */
__attribute__((target_clones("avx2", "default")))
static void transpose(v8 *xb, const int16_t *const *src, long S)
{
    long i = 0;
    for (; i + 8 <= S; i += 8) {
        v8 *out = xb + i;
        v8 r[8], t[8], u[8];
        /* widen each row's 8 samples to float first (exact), then transpose the 8x8 floats: 32-bit lanes
         * interleave in two rounds within 128-bit halves, the halves swap in the third */
        for (int l = 0; l < 8; l++) {
            v8h h;
            memcpy(&h, src[l] + i, sizeof(h));
            r[l] = __builtin_convertvector(__builtin_convertvector(h, v8i), v8);
        }
        for (int l = 0; l < 8; l += 2) {
            t[l] = __builtin_shuffle(r[l], r[l + 1], (v8i){0, 8, 1, 9, 4, 12, 5, 13});
            t[l + 1] = __builtin_shuffle(r[l], r[l + 1], (v8i){2, 10, 3, 11, 6, 14, 7, 15});
        }
        /* t[2q] holds rows 2q, 2q+1 interleaved for samples 0, 1 (low half) and 4, 5 (high half); t[2q+1] for 2, 3
         * and 6, 7 */
        for (int q = 0; q < 2; q++)
            for (int h = 0; h < 2; h++) {
                v8 p0 = t[4 * q + h], p1 = t[4 * q + 2 + h];
                u[4 * q + 2 * h] = __builtin_shuffle(p0, p1, (v8i){0, 1, 8, 9, 4, 5, 12, 13});
                u[4 * q + 2 * h + 1] = __builtin_shuffle(p0, p1, (v8i){2, 3, 10, 11, 6, 7, 14, 15});
            }
        /* u[4q + k] holds rows 4q..4q+3 for sample k (low half) and k + 4 (high half), k = 0..3 */
        for (int k = 0; k < 4; k++) {
            out[k] = __builtin_shuffle(u[k], u[4 + k], (v8i){0, 1, 2, 3, 8, 9, 10, 11});
            out[k + 4] = __builtin_shuffle(u[k], u[4 + k], (v8i){4, 5, 6, 7, 12, 13, 14, 15});
        }
    }
    for (; i < S; i++)
        for (int l = 0; l < 8; l++)
            xb[i][l] = (float) src[l][i];
}

/* Half-band decimation to 4 kHz. ext holds FIR-1 older samples then S new ones; an output is due at every odd
 * input sample (first_odd: whether ext's first new sample is odd). hi gets the high band (2-4 kHz) at the same
 * instants: the centre sample minus the low band. The taps after the first are fused multiply-adds (the twin's
 * fma32): the loop is bound by its additions, and each fused step takes one away. The centre tap's product is
 * exact (half an integer), so fusing it changes nothing. Returns the outputs written. */
static long decimate(v8 *restrict out, v8 *restrict hi, const v8 *restrict ext, long S, int first_odd,
                     const float *hb)
{
    const v8 h0 = (v8){0} + hb[0], h1 = (v8){0} + hb[1], h2 = (v8){0} + hb[2], h3 = (v8){0} + hb[3];
    const v8 half = (v8){0} + 0.5f;
    long n = 0;
    for (long j = first_odd ? 0 : 1; j < S; j += 2) {
        const v8 *x = ext + j; /* x[FIR - 1] is input sample t, x[0] is t - 14 */
        v8 acc = h0 * (x[8] + x[6]);
        acc = vfma(h1, x[10] + x[4], acc);
        acc = vfma(h2, x[12] + x[2], acc);
        acc = vfma(h3, x[14] + x[0], acc);
        acc = vfma(half, x[7], acc);
        hi[n] = x[7] - acc;
        out[n++] = acc;
    }
    return n;
}

/* decimate() with the FMA instruction written out (GCC left some of vfma()'s lanes scalar in this loop), and the
 * even samples, which the next output reads again shifted by one place, kept in registers: two loads an output
 * instead of nine (the loop was bound by its loads). ext holds floats, or with I16 int16 samples
 * (transpose16_avx512's), each widened to float as it is loaded: the same float operations either way. */
__attribute__((target("avx2,fma")))
static inline __attribute__((always_inline)) long decimate_fma_of(v8 *restrict out, v8 *restrict hi,
                                                                 const void *restrict ext, long S, int first_odd,
                                                                 const float *hb, const int I16)
{
    const __m256 h0 = _mm256_set1_ps(hb[0]), h1 = _mm256_set1_ps(hb[1]), h2 = _mm256_set1_ps(hb[2]),
                 h3 = _mm256_set1_ps(hb[3]), half = _mm256_set1_ps(0.5f);
    const long first = first_odd ? 0 : 1, nd = (S - first + 1) / 2;
    const __m256 *xf = (const __m256 *) ext + first; /* x[FIR - 1] is input sample t, x[0] t - 14 */
    const v8h *xh = (const v8h *) ext + first;
#define LD(j) (I16 ? _mm256_cvtepi32_ps(_mm256_cvtepi16_epi32(_mm_loadu_si128((const __m128i *) &xh[j]))) : xf[j])
    __m256 e0 = LD(0), e2 = LD(2), e4 = LD(4), e6 = LD(6), e8 = LD(8), e10 = LD(10), e12 = LD(12);
    for (long n = 0; n < nd; n++, xf += 2, xh += 2) {
        const __m256 e14 = LD(14), c = LD(7);
        __m256 acc = _mm256_mul_ps(h0, _mm256_add_ps(e8, e6));
        acc = _mm256_fmadd_ps(h1, _mm256_add_ps(e10, e4), acc);
        acc = _mm256_fmadd_ps(h2, _mm256_add_ps(e12, e2), acc);
        acc = _mm256_fmadd_ps(h3, _mm256_add_ps(e14, e0), acc);
        acc = _mm256_fmadd_ps(half, c, acc);
        hi[n] = (v8) _mm256_sub_ps(c, acc);
        out[n] = (v8) acc;
        e0 = e2; e2 = e4; e4 = e6; e6 = e8; e8 = e10; e10 = e12; e12 = e14;
    }
#undef LD
    return nd;
}

__attribute__((target("avx2,fma")))
static long decimate_fma(v8 *restrict out, v8 *restrict hi, const v8 *restrict ext, long S, int first_odd,
                         const float *hb)
{
    return decimate_fma_of(out, hi, ext, S, first_odd, hb, 0);
}

__attribute__((target("avx2,fma")))
static long decimate_fma16(v8 *restrict out, v8 *restrict hi, const v8h *restrict ext, long S, int first_odd,
                           const float *hb)
{
    return decimate_fma_of(out, hi, ext, S, first_odd, hb, 1);
}

/* The AVX-512BW path's front (wide path, with FMA): the tick's rows transposed as int16, 16 samples of the 8 rows a
 * step by two rounds of two-source word permutes, and widened to float only where the decimator loads them. The
 * float transpose is bound by its stores (a vector of 8 floats a sample); this one stores half the bytes in a
 * quarter of the instructions, and the decimator loads each sample once anyway. int16 holds every input exactly. */
__attribute__((target("avx512f,avx512bw,avx512vl")))
static void transpose16_avx512(v8h *xb, const int16_t *const *src, long S)
{
    const int16_t *r0 = src[0], *r1 = src[1], *r2 = src[2], *r3 = src[3], *r4 = src[4], *r5 = src[5], *r6 = src[6],
                  *r7 = src[7];
    /* round 1: rows 2q, 2q+1 (words 0-15 and 16-31 of each source, 32-63 from the second) -> rows 4h..4h+3 for
     * samples 0-7 (lo) and 8-15 (hi), word 4 s + r */
    static const uint16_t i1lo[32] = {0, 16, 32, 48, 1, 17, 33, 49, 2, 18, 34, 50, 3, 19, 35, 51,
                                      4, 20, 36, 52, 5, 21, 37, 53, 6, 22, 38, 54, 7, 23, 39, 55};
    static const uint16_t i1hi[32] = {8, 24, 40, 56, 9, 25, 41, 57, 10, 26, 42, 58, 11, 27, 43, 59,
                                      12, 28, 44, 60, 13, 29, 45, 61, 14, 30, 46, 62, 15, 31, 47, 63};
    /* round 2: rows 0-3 and rows 4-7 (word 4 s + r of each) -> the 8 rows of samples 0-3 (a) and 4-7 (b) of the
     * sources' 8 samples, word 8 s + r */
    static const uint16_t i2a[32] = {0, 1, 2, 3, 32, 33, 34, 35, 4, 5, 6, 7, 36, 37, 38, 39,
                                     8, 9, 10, 11, 40, 41, 42, 43, 12, 13, 14, 15, 44, 45, 46, 47};
    static const uint16_t i2b[32] = {16, 17, 18, 19, 48, 49, 50, 51, 20, 21, 22, 23, 52, 53, 54, 55,
                                     24, 25, 26, 27, 56, 57, 58, 59, 28, 29, 30, 31, 60, 61, 62, 63};
    const __m512i k1lo = _mm512_loadu_si512(i1lo), k1hi = _mm512_loadu_si512(i1hi);
    const __m512i k2a = _mm512_loadu_si512(i2a), k2b = _mm512_loadu_si512(i2b);
    int16_t *out = (int16_t *) xb;
    long i = 0;
#define PAIR(a, b) _mm512_inserti64x4(_mm512_castsi256_si512(_mm256_loadu_si256((const __m256i *) ((a) + i))), \
                                      _mm256_loadu_si256((const __m256i *) ((b) + i)), 1)
    for (; i + 16 <= S; i += 16, out += 128) {
        const __m512i p0 = PAIR(r0, r1), p1 = PAIR(r2, r3), p2 = PAIR(r4, r5), p3 = PAIR(r6, r7);
        const __m512i alo = _mm512_permutex2var_epi16(p0, k1lo, p1), ahi = _mm512_permutex2var_epi16(p0, k1hi, p1);
        const __m512i blo = _mm512_permutex2var_epi16(p2, k1lo, p3), bhi = _mm512_permutex2var_epi16(p2, k1hi, p3);
        _mm512_storeu_si512(out + 0, _mm512_permutex2var_epi16(alo, k2a, blo));
        _mm512_storeu_si512(out + 32, _mm512_permutex2var_epi16(alo, k2b, blo));
        _mm512_storeu_si512(out + 64, _mm512_permutex2var_epi16(ahi, k2a, bhi));
        _mm512_storeu_si512(out + 96, _mm512_permutex2var_epi16(ahi, k2b, bhi));
    }
#undef PAIR
    for (; i < S; i++)
        for (int l = 0; l < 8; l++)
            xb[i][l] = src[l][i];
}

/* transpose16_avx512() for CPUs with AVX2 only: an 8x8 int16 transpose in three rounds of unpacks within each
 * 128-bit lane, two tiles (16 samples) a step, the second tile's samples leaving from the upper lanes. */
__attribute__((target("avx2")))
static void transpose16_avx2(v8h *xb, const int16_t *const *src, long S)
{
    const int16_t *r0 = src[0], *r1 = src[1], *r2 = src[2], *r3 = src[3], *r4 = src[4], *r5 = src[5], *r6 = src[6],
                  *r7 = src[7];
    __m128i *out = (__m128i *) xb;
    long i = 0;
#define LOADR(r) _mm256_loadu_si256((const __m256i *) ((r) + i))
    for (; i + 16 <= S; i += 16, out += 16) {
        const __m256i a0 = LOADR(r0), a1 = LOADR(r1), a2 = LOADR(r2), a3 = LOADR(r3);
        const __m256i a4 = LOADR(r4), a5 = LOADR(r5), a6 = LOADR(r6), a7 = LOADR(r7);
        /* rows 2q, 2q+1 interleaved: samples 0-3 (t even), 4-7 (t odd) of each lane's 8 */
        const __m256i t0 = _mm256_unpacklo_epi16(a0, a1), t1 = _mm256_unpackhi_epi16(a0, a1);
        const __m256i t2 = _mm256_unpacklo_epi16(a2, a3), t3 = _mm256_unpackhi_epi16(a2, a3);
        const __m256i t4 = _mm256_unpacklo_epi16(a4, a5), t5 = _mm256_unpackhi_epi16(a4, a5);
        const __m256i t6 = _mm256_unpacklo_epi16(a6, a7), t7 = _mm256_unpackhi_epi16(a6, a7);
        /* rows 0-3 (u0-u3) and 4-7 (u4-u7), two samples each: 0-1, 2-3, 4-5, 6-7 */
        const __m256i u0 = _mm256_unpacklo_epi32(t0, t2), u1 = _mm256_unpackhi_epi32(t0, t2);
        const __m256i u2 = _mm256_unpacklo_epi32(t1, t3), u3 = _mm256_unpackhi_epi32(t1, t3);
        const __m256i u4 = _mm256_unpacklo_epi32(t4, t6), u5 = _mm256_unpackhi_epi32(t4, t6);
        const __m256i u6 = _mm256_unpacklo_epi32(t5, t7), u7 = _mm256_unpackhi_epi32(t5, t7);
        const __m256i o[8] = {_mm256_unpacklo_epi64(u0, u4), _mm256_unpackhi_epi64(u0, u4),
                              _mm256_unpacklo_epi64(u1, u5), _mm256_unpackhi_epi64(u1, u5),
                              _mm256_unpacklo_epi64(u2, u6), _mm256_unpackhi_epi64(u2, u6),
                              _mm256_unpacklo_epi64(u3, u7), _mm256_unpackhi_epi64(u3, u7)};
        for (int k = 0; k < 8; k++) { /* sample k of this step in the low lane, k + 8 in the high one */
            _mm_storeu_si128(out + k, _mm256_castsi256_si128(o[k]));
            _mm_storeu_si128(out + 8 + k, _mm256_extracti128_si256(o[k], 1));
        }
    }
#undef LOADR
    for (; i < S; i++)
        for (int l = 0; l < 8; l++)
            xb[i][l] = src[l][i];
}

static int ensure(pycc_dtmf_t *s, long samples)
{
    if (samples <= s->cap)
        return 0;
    free(s->xbuf);
    free(s->zeros);
    free(s->ybuf);
    free(s->snap);
    /* two groups' worth of each: the AVX-512VL path runs the notches of two groups together */
    s->ystride = samples / 2 + 1;
    s->xstride = FIR - 1 + samples + 2 * s->ystride;
    s->ybuf = alloc32(sizeof(v8) * 2 * s->ystride);
    s->maxnb = samples / 2 / H + 2;
    s->snap = alloc32(sizeof(v8) * SNAP * s->maxnb * SNAP_RING);
    s->xbuf = alloc32(sizeof(v8) * 2 * s->xstride);
    s->zeros = calloc(samples, sizeof(int16_t));
    if (!s->xbuf || !s->ybuf || !s->snap || !s->zeros) {
        s->cap = 0;
        return -1;
    }
    s->cap = samples;
    return 0;
}

/* The state of the groups a few places ahead, fetched a few lines at a time while earlier groups run (issued all at
 * once, prefetches overflow the core's miss buffers and stall it). Their input rows need none: warm() has read the
 * tick into L2, where prefetching the rows instead of the state measured about 2% slower on the busy workload. */
typedef struct {
    const char *cur, *cend; /* the stretch being fetched (apart, so they stay in registers) */
    const char *p[2], *end[2];
    int n, r; /* stretches; the next one to start */
    long step; /* lines per call */
} prefetch_t;

/* The plan for the state of the awake groups i0 .. i0+ng-1 (indexes into s->awake, those past the end ignored; ng
 * at most 2), spread over the calls a tick of ng groups makes. */
static inline __attribute__((always_inline)) prefetch_t prefetch_plan(const pycc_dtmf_t *s, int nawake, int i0, int ng)
{
    prefetch_t pf;
    pf.n = pf.r = 0;
    pf.cur = pf.cend = NULL;
    for (int i = i0; i < i0 + ng && i < nawake; i++) {
        const char *g = (const char *) (s->gs + (long) s->awake[i] * GS_SIZE);
        pf.p[pf.n] = g;
        pf.end[pf.n++] = g + GS_SIZE * sizeof(v8);
    }
    /* a group makes 4 calls of prefetch_some(): 2 in front(), 2 in run() */
    pf.step = (long) pf.n * (GS_SIZE * sizeof(v8) + 63) / 64 / (ng * 4) + 1;
    return pf;
}

static inline __attribute__((always_inline)) void prefetch_some(prefetch_t *pf)
{
    const char *p = pf->cur, *end = pf->cend;
    for (long i = pf->step; i > 0; i--) {
        if (p >= end) {
            if (pf->r >= pf->n)
                break;
            p = pf->p[pf->r];
            end = pf->end[pf->r++];
        }
        __builtin_prefetch(p);
        p += 64;
    }
    pf->cur = p;
    pf->cend = end;
}

/* Read the rows of this tick's awake channels once, in memory order, before any group runs (loads, not prefetch
 * instructions: measured on the busy workload, a sweep of prefetches gained nothing, a sweep of loads about 5%): the
 * groups then find their rows in L2 however their slots scatter them, where the tick's rows would otherwise arrive
 * one group at a time from L3 or memory, in an order the hardware prefetcher does not follow. */
static void warm(pycc_dtmf_t *s, const int16_t *x16, long S)
{
    v16h acc = {0};
    for (int c = 0; c < s->channels; c++) {
        if (s->gate[s->slot[c]])
            continue;
        const char *p = (const char *) (x16 + (long) c * S), *end = p + S * sizeof(int16_t);
        for (p = (const char *) ((unsigned long) p & ~63UL); p + 32 <= end; p += 64) {
            v16h v;
            memcpy(&v, p, sizeof(v));
            acc |= v;
        }
    }
    s->sink = acc[0]; /* keeps the loads */
}

/* Whether every sample of a row (x16, or x8 through table) is within +-peak. */
static inline __attribute__((always_inline)) int all_calm(const int16_t *x16, const uint8_t *x8, const int16_t *table,
                                                         long S, int peak)
{
    if (peak < 0)
        return 0;
    long i = 0;
    if (x16) { /* 16 samples a step: |x| as unsigned (-32768 gives 32768), lane-wise maximum */
        v16u m = {0};
        for (; i + 16 <= S; i += 16) {
            v16h v;
            memcpy(&v, x16 + i, sizeof(v));
            v16h sg = v >> 15;
            v16u a = (v16u) (v ^ sg) - (v16u) sg;
            v16u gt = (v16u) (a > m);
            m = (a & gt) | (m & ~gt);
        }
        for (int l = 0; l < 16; l++)
            if (m[l] > peak)
                return 0;
    }
    for (; i < S; i++) {
        int v = x16 ? x16[i] : table[x8[i]];
        if ((v < 0 ? -v : v) > peak)
            return 0;
    }
    return 1;
}

/* all_calm() for a row of G.711 codes, through the code range law_bound() found: byte compares, 32 at a time */
static inline __attribute__((always_inline)) int codes_calm(const pycc_dtmf_t *s, const uint8_t *x8, const int16_t *table,
                                                           long S)
{
    if (!s->law_ok)
        return all_calm(NULL, x8, table, S, s->tb.rest_peak);
    const uint8_t x = s->law_x, lo = s->law_lo, hi = s->law_hi;
    unsigned bad = 0;
    for (long i = 0; i < S; i++) {
        const uint8_t v = (x8[i] ^ x) & 0x7f;
        bad |= (v < lo) | (v > hi);
    }
    return !bad;
}

/* For a decode table: the mask under which the codes within +-rest_peak form one range of magnitudes (law_ok 0
 * when none of the masks tried fits, as for a table that is neither law: then codes are checked one by one). */
static void law_bound(pycc_dtmf_t *s, const int16_t *table)
{
    static const uint8_t masks[] = {0x00, 0xff, 0x55, 0xd5, 0x2a, 0xaa, 0x7f, 0x80};
    if (s->law_peak == s->tb.rest_peak && !memcmp(s->law_table, table, sizeof(s->law_table)))
        return;
    memcpy(s->law_table, table, sizeof(s->law_table));
    s->law_peak = s->tb.rest_peak;
    s->law_ok = 0;
    for (unsigned m = 0; m < sizeof(masks) && !s->law_ok && s->tb.rest_peak >= 0; m++) {
        int lo = 255, hi = -1, fits = 1;
        for (int c = 0; c < 256; c++)
            if (abs(table[c]) <= s->tb.rest_peak) {
                const int v = (c ^ masks[m]) & 0x7f;
                lo = v < lo ? v : lo;
                hi = v > hi ? v : hi;
            }
        for (int c = 0; c < 256 && fits; c++) {
            const int v = (c ^ masks[m]) & 0x7f;
            fits = (abs(table[c]) <= s->tb.rest_peak) == (v >= lo && v <= hi);
        }
        if (fits && hi >= 0) {
            s->law_ok = 1;
            s->law_x = masks[m];
            s->law_lo = (uint8_t) lo;
            s->law_hi = (uint8_t) hi;
        }
    }
}

/* Group gi's input of this tick -> its decimated low band (*dec) and high band (*hi), in buf (xstride vectors);
 * returns the decimated samples. */
static inline __attribute__((always_inline)) long front(pycc_dtmf_t *s, int gi, const int16_t *x16, const uint8_t *x8,
                                                       const int16_t *table, long S, v8 *buf, v8 **dec, v8 **hi,
                                                       prefetch_t *pf)
{
    v8 *xb = buf + FIR - 1;
    v8 *g = s->gs + (long) gi * GS_SIZE;
    prefetch_some(pf);
    if (x16 && has_fma) { /* int16 all the way into the decimator (the history's floats are integers: exact) */
        const int16_t *src[LANES];
        for (int l = 0; l < LANES; l++) {
            const int si = gi * LANES + l;
            src[l] = s->gate[si] ? s->zeros : x16 + (long) s->chan[si] * S;
        }
        v8h *ext16 = (v8h *) buf;
        for (int j = 0; j < FIR - 1; j++)
            ext16[j] = __builtin_convertvector(__builtin_convertvector(g[GS_HIST(j)], v8i), v8h);
        (has_bw ? transpose16_avx512 : transpose16_avx2)(ext16 + FIR - 1, src, S);
        *dec = buf + FIR - 1 + S;
        *hi = *dec + S / 2 + 1;
        long nd = decimate_fma16(*dec, *hi, ext16, S, (int) (s->t & 1), s->tb.halfband);
        for (int j = 0; j < FIR - 1; j++)
            g[GS_HIST(j)] = __builtin_convertvector(__builtin_convertvector(ext16[S + j], v8i), v8);
        prefetch_some(pf);
        return nd;
    }
    if (x16) {
        const int16_t *src[LANES];
        for (int l = 0; l < LANES; l++) {
            const int si = gi * LANES + l;
            src[l] = s->gate[si] ? s->zeros : x16 + (long) s->chan[si] * S;
        }
        transpose(xb, src, S); /* CPUs without FMA (and the tests' code_path(2)) */
    } else for (int l = 0; l < LANES; l++) {
        const int si = gi * LANES + l;
        if (s->gate[si]) {
            for (long i = 0; i < S; i++)
                xb[i][l] = 0.0f;
        } else {
            const uint8_t *src = x8 + (long) s->chan[si] * S;
            for (long i = 0; i < S; i++)
                xb[i][l] = (float) table[src[i]];
        }
    }
    v8 *ext = buf;
    *dec = buf + FIR - 1 + S;
    *hi = *dec + S / 2 + 1;
    for (int j = 0; j < FIR - 1; j++)
        ext[j] = g[GS_HIST(j)];
    long nd = (has_fma ? decimate_fma : decimate)(*dec, *hi, ext, S, (int) (s->t & 1), s->tb.halfband);
    for (int j = 0; j < FIR - 1; j++)
        g[GS_HIST(j)] = ext[S + j];
    prefetch_some(pf);
    return nd;
}

/* The blocks group gi completed in this tick (in snap), in order -> its channels' events; returns how many. */
static long finish(pycc_dtmf_t *s, int gi, int64_t t0, long nd, const v8 *snap, pycc_dtmf_event_t *ev)
{
    long nev = 0, nb = 0;
    /* block k1 - 2 completes where block k1 - 1 reaches its middle */
    for (int64_t k1 = t0 / H + 1; k1 * H <= t0 + nd; k1++, nb++)
        if (k1 >= 2)
            nev += complete(s, gi, snap + nb * SNAP, k1 - 2, ev + nev);
    return nev;
}

/* The row Goertzel recursions of one block of N samples, x0[0 .. n0) then x1[n0 .. N), from zero state (the same
 * operations in the same order as the streaming ones in tick_pass) -> s1 in out[0..3], s2 in out[4..7]. */
__attribute__((target_clones("arch=x86-64-v3", "default")))
static void stage_rows(const v8 *restrict x0, int n0, const v8 *restrict x1, const float *coef, const float *win,
                       v8 *restrict out)
{
    v8 a0 = {0}, a1 = {0}, a2 = {0}, a3 = {0}, b0 = {0}, b1 = {0}, b2 = {0}, b3 = {0}, t;
    const v8 c0 = (v8){0} + coef[0], c1 = (v8){0} + coef[1], c2 = (v8){0} + coef[2], c3 = (v8){0} + coef[3];
    /* written out: as arrays GCC kept the chains on the stack */
#define ROW_STEP(x)                                                                                                 \
    do {                                                                                                            \
        const v8 wy = win[j] * (x);                                                                                 \
        t = wy - b0; b0 = a0; a0 = vfma(c0, a0, t);                                                                 \
        t = wy - b1; b1 = a1; a1 = vfma(c1, a1, t);                                                                 \
        t = wy - b2; b2 = a2; a2 = vfma(c2, a2, t);                                                                 \
        t = wy - b3; b3 = a3; a3 = vfma(c3, a3, t);                                                                 \
    } while (0)
    int j = 0;
    for (; j < n0; j++)
        ROW_STEP(x0[j]);
    for (; j < N; j++)
        ROW_STEP(x1[j]);
#undef ROW_STEP
    out[0] = a0; out[1] = a1; out[2] = a2; out[3] = a3;
    out[4] = b0; out[5] = b1; out[6] = b2; out[7] = b3;
}

/* The group state's tail (the last TAIL notched samples) after a tick of nd more, y. */
static inline __attribute__((always_inline)) void keep_tail(v8 *restrict tail, const v8 *restrict y, long nd)
{
    if (nd < TAIL) {
        for (long j = 0; j < TAIL - nd; j++)
            tail[j] = tail[j + nd];
        for (long j = 0; j < nd; j++)
            tail[TAIL - nd + j] = y[j];
    } else {
        for (long j = 0; j < TAIL; j++)
            tail[j] = y[nd - TAIL + j];
    }
}

/* The completed-block snapshots of the awake group of index i (a ring of SNAP_RING groups' worth). */
static inline v8 *snap_of(const pycc_dtmf_t *s, int i)
{
    return s->snap + (long) (i % SNAP_RING) * s->maxnb * SNAP;
}

/* Run the rows of the gathered lanes and put their states into their blocks' snapshots. */
static void flush_stage(pycc_dtmf_t *s)
{
    v8 out[8];
    if (!s->nstage)
        return;
    stage_rows(s->stage, N, s->stage, s->tb.coef, s->tb.window, out);
    for (int k = 0; k < s->nstage; k++) {
        v8 *sn = snap_of(s, s->st_i[k]) + s->st_nb[k] * SNAP;
        for (int q = 0; q < 4; q++) {
            sn[q][s->st_l[k]] = out[q][k];
            sn[8 + q][s->st_l[k]] = out[4 + q][k];
        }
    }
    s->nstage = 0;
}

/* The row screen for the blocks one group (awake index i, state g) completed in this tick, whose column states
 * and energies are in snap and whose notched samples are the group state's tail, then y[0 .. nd).
 * A block is a candidate only if er <= twist ec and (er + ec) norm >= cand_purity energy, so ec (1 + twist)
 * norm >= cand_purity energy (scr: with a margin for rounding) and ec >= cand_level; a lane failing that is no
 * candidate whatever its rows, and its row bins are never read (they matter only for a candidate, and for the
 * next block's frequency test when this one was a candidate for the same digit), so they stay zero, which makes
 * complete() find no candidate, as the twin does. The other lanes' samples are gathered for flush_stage(). */
__attribute__((target_clones("avx2", "default")))
static void screen(pycc_dtmf_t *s, int i, const v8 *g, const v8 *y, long nd, int64_t t0)
{
    const pycc_dtmf_tables_t *tb = &s->tb;
    v8 *snap = snap_of(s, i);
    long nb = 0;
    for (int64_t k1 = t0 / H + 1; k1 * H <= t0 + nd; k1++, nb++) {
        if (k1 < 2)
            continue;
        v8 *sn = snap + nb * SNAP;
        v8 ec = {0};
        for (int f = 4; f < 8; f++) { /* the same operations as complete() */
            v8 t = sn[8 + f] * tb->cosw[f];
            v8 re = sn[f] - t;
            v8 im = sn[8 + f] * tb->sinw[f];
            v8 a = re * re;
            v8 b = im * im;
            v8 e = a + b;
            ec = sel(e > ec, e, ec);
        }
        for (int q = 0; q < 4; q++)
            sn[q] = sn[8 + q] = (v8){0};
        const v8i pass = (ec >= tb->cand_level) & (ec * s->scr >= tb->cand_purity * sn[16]);
        const int npass = -(pass[0] + pass[1] + pass[2] + pass[3] + pass[4] + pass[5] + pass[6] + pass[7]);
        s->counts[0] += LANES - npass;
        if (!npass)
            continue;
        const long o = (k1 - 2) * H - t0; /* the block's first sample, from y[0] (from -TAIL) */
        const int split = o < 0 ? (int) -o : 0;
        if (npass >= DIRECT) {
            /* enough lanes to run the whole group in place (the others' rows are exact too, and unused) */
            v8 out[8];
            s->counts[2]++;
            stage_rows(g + GS_TAIL(0) + TAIL + o, split, y + o, tb->coef, tb->window, out);
            for (int q = 0; q < 4; q++) {
                sn[q] = out[q];
                sn[8 + q] = out[4 + q];
            }
            continue;
        }
        const float *tail = (const float *) (g + GS_TAIL(0) + TAIL + o), *blk = (const float *) (y + o);
        for (int l = 0; l < LANES; l++) {
            if (!pass[l])
                continue;
            const int k = s->nstage++;
            s->counts[1]++;
            float *restrict st = (float *) s->stage + k;
            for (int j = 0; j < split; j++)
                st[j * LANES] = tail[j * LANES + l];
            for (int j = split; j < N; j++)
                st[j * LANES] = blk[j * LANES + l];
            s->st_i[k] = i;
            s->st_nb[k] = (int) nb;
            s->st_l[k] = l;
            if (s->nstage == LANES)
                flush_stage(s);
        }
    }
}

/* Exchange two slots, all of their state. */
static void swap_slots(pycc_dtmf_t *s, int a, int b)
{
    v8 *ga = s->gs + (long) (a / LANES) * GS_SIZE, *gb = s->gs + (long) (b / LANES) * GS_SIZE;
    const int la = a % LANES, lb = b % LANES;
    for (int i = 0; i < GS_SIZE; i++) {
        float v = ga[i][la];
        ga[i][la] = gb[i][lb];
        gb[i][lb] = v;
    }
#define SWAP(T, x, y) do { T tmp_ = (x); (x) = (y); (y) = tmp_; } while (0)
    SWAP(unsigned char, s->busy[a], s->busy[b]);
    SWAP(int64_t, s->last_cand[a], s->last_cand[b]);
    SWAP(unsigned char, s->rest[a], s->rest[b]);
    SWAP(int, s->chan[a], s->chan[b]);
#undef SWAP
    if (s->chan[a] >= 0)
        s->slot[s->chan[a]] = a;
    if (s->chan[b] >= 0)
        s->slot[s->chan[b]] = b;
}

/* Gather the slots i < n with in[i] set into the first groups: each one past the first ceil(count / 8) groups changes
 * places with one inside them that has it clear; in[] changes places too. Returns the size of that zone. */
static int gather_slots(pycc_dtmf_t *s, unsigned char *in, int n)
{
    int count = 0;
    for (int i = 0; i < n; i++)
        count += in[i];
    const int zone = (count + LANES - 1) / LANES * LANES;
    for (int i = 0, j = zone;; i++, j++) {
        while (j < n && !in[j])
            j++;
        if (j >= n)
            break;
        while (in[i]) /* a clear slot inside the zone exists for each set one outside it */
            i++;
        swap_slots(s, i, j);
        in[i] = 1;
        in[j] = 0;
    }
    return zone;
}

/* Gather the awake slots into the first groups, so the resting ones fill whole groups that are skipped; among
 * them, the slots with a candidate block in the last HOT_BLOCKS first, so the few groups whose blocks need their
 * row filters (see screen()) hold most such lanes and run them in place. */
static void regroup(pycc_dtmf_t *s)
{
    unsigned char *in = s->gate; /* scratch: the gates of this tick are used up */
    for (int i = 0; i < s->slots; i++)
        in[i] = !s->rest[i];
    const int zone = gather_slots(s, in, s->slots);
    const int64_t kb = s->t / HOP_IN;
    for (int i = 0; i < zone; i++)
        in[i] = !s->rest[i] && kb - s->last_cand[i] <= HOT_BLOCKS;
    gather_slots(s, in, zone);
}

__attribute__((target_clones("avx2", "default")))
static long run(pycc_dtmf_t *s, const int16_t *x16, const uint8_t *x8, const int16_t *table, long S,
                pycc_dtmf_event_t *ev)
{
    if (S <= 0)
        return 0;
    if (ensure(s, S))
        return -1;
    long nev = 0;
    if (wide_path < 0) /* a race on first use only writes the same value twice */
        wide_path = __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512f");
    const int wide = wide_path;
    if (has_avx2 < 0) {
        has_avx2 = __builtin_cpu_supports("avx2");
        has_fma = has_avx2 && __builtin_cpu_supports("fma");
        has_bw = wide && has_fma && __builtin_cpu_supports("avx512bw");
    }
    const int64_t t0 = s->t / 2; /* decimated samples so far: one per odd input sample */
    v8 *const buf[2] = {s->xbuf, s->xbuf + s->xstride};
    v8 *const ybuf[2] = {s->ybuf, s->ybuf + s->ystride};
    /* which slots are silence this tick (resting and within the bound), and the groups that have work */
    int nawake = 0;
    for (int gi = 0; gi < s->groups; gi++) {
        int all = 1;
        uint64_t resting;
        memcpy(&resting, s->rest + gi * LANES, sizeof(resting));
        if (!resting) { /* a group in a call centre's busy hour */
            memset(s->gate + gi * LANES, 0, LANES);
            s->awake[nawake++] = gi;
            continue;
        }
        for (int si = gi * LANES; si < (gi + 1) * LANES; si++) {
            const int c = s->chan[si];
            const int16_t *r16 = x16 && c >= 0 ? x16 + (long) c * S : NULL;
            const uint8_t *r8 = x8 && c >= 0 ? x8 + (long) c * S : NULL;
            s->gate[si] = s->rest[si] && (c < 0 || (r8 ? codes_calm(s, r8, table, S)
                                                           : all_calm(r16, NULL, NULL, S, s->tb.rest_peak)));
            if (s->rest[si] && !s->gate[si]) /* woken: its quiet blocks count afresh */
                s->gs[(long) gi * GS_SIZE + GS_CALM][si % LANES] = 0.0f;
            all &= s->gate[si];
        }
        if (!all)
            s->awake[nawake++] = gi;
    }
    if (x16)
        warm(s, x16, S);
    /* each awake group: front, notches, column passes and the row screen; a group's blocks are completed once the
     * rows of all its gathered lanes have run (done: the awake groups completed so far) */
    long nd = 0;
    int done = 0;
    s->nstage = 0;
    for (int i = 0; i < nawake;) {
        const int gi = s->awake[i];
        v8 *g = s->gs + (long) gi * GS_SIZE, *dec, *hi;
        if (s->nstage && i + 2 - s->st_i[0] >= SNAP_RING) { /* the ring is full: run the lanes gathered so far */
            flush_stage(s);
            for (; done < i; done++)
                nev += finish(s, s->awake[done], t0, nd, snap_of(s, done), ev + nev);
        }
        v8 *const snap = snap_of(s, i);
        int ran = 1;
        prefetch_t pf;
        if (wide && s->tb.dialtone && i + 1 < nawake) {
            /* two groups: both fronts, the notches of both in one loop, then each group's passes */
            const int gj = s->awake[i + 1];
            v8 *g2 = s->gs + (long) gj * GS_SIZE;
            pf = prefetch_plan(s, nawake, i + PF_AHEAD, 2);
            v8 *dec2, *hi2;
            nd = front(s, gi, x16, x8, table, S, buf[0], &dec, &hi, &pf);
            front(s, gj, x16, x8, table, S, buf[1], &dec2, &hi2, &pf);
            notch_pair(g, g2, dec, dec2, ybuf[0], ybuf[1], nd, &s->tb);
            passes_wide(g, ybuf[0], hi, nd, t0, &s->tb, snap);
            prefetch_some(&pf);
            passes_wide(g2, ybuf[1], hi2, nd, t0, &s->tb, snap_of(s, i + 1));
            ran = 2;
        } else {
            pf = prefetch_plan(s, nawake, i + PF_AHEAD, 1);
            nd = front(s, gi, x16, x8, table, S, buf[0], &dec, &hi, &pf);
            if (wide)
                segment_wide(g, dec, hi, ybuf[0], ybuf[1], nd, t0, &s->tb, snap);
            else
                segment(g, dec, hi, ybuf[0], nd, t0, &s->tb, snap);
        }
        for (int r = 0; r < ran; r++) {
            v8 *gr = s->gs + (long) s->awake[i + r] * GS_SIZE, *y = ybuf[r];
            screen(s, i + r, gr, y, nd, t0);
            keep_tail(gr + GS_TAIL(0), y, nd);
            prefetch_some(&pf);
        }
        if (ran == 1)
            prefetch_some(&pf);
        i += ran;
        const int ready = s->nstage ? s->st_i[0] : i; /* groups before the first gathered lane's are complete */
        for (; done < ready; done++)
            nev += finish(s, s->awake[done], t0, nd, snap_of(s, done), ev + nev);
    }
    flush_stage(s);
    for (; done < nawake; done++)
        nev += finish(s, s->awake[done], t0, nd, snap_of(s, done), ev + nev);
    s->t += S;
    /* silence keeps a resting slot at zero; a calm slot with nothing in progress comes to rest */
    for (int gi = 0; gi < s->groups; gi++) {
        const v8 *g = s->gs + (long) gi * GS_SIZE;
        const v8i ready = g[GS_CALM] >= (float) s->tb.rest_blocks;
        uint64_t gated;
        memcpy(&gated, s->gate + gi * LANES, sizeof(gated));
        if (!gated && !(ready[0] | ready[1] | ready[2] | ready[3] | ready[4] | ready[5] | ready[6] | ready[7])) {
            memset(s->rest + gi * LANES, 0, LANES); /* all awake (a group with empty slots always has gated ones) */
            continue;
        }
        int skipped = 1; /* the group did not run: its resting slots are still zero */
        for (int si = gi * LANES; si < (gi + 1) * LANES; si++)
            skipped &= s->gate[si];
        for (int si = gi * LANES; si < (gi + 1) * LANES; si++) {
            if (s->chan[si] < 0)
                continue;
            s->rest[si] = s->gate[si] || (g[GS_CALM][si % LANES] >= (float) s->tb.rest_blocks && !s->busy[si]);
            if (s->rest[si] && !skipped)
                zero_signal(s, si);
        }
    }
    regroup(s);
    return nev;
}

static int event_cmp(const void *pa, const void *pb)
{
    const pycc_dtmf_event_t *a = pa, *b = pb;
    if (a->when != b->when)
        return a->when < b->when ? -1 : 1;
    if (a->channel != b->channel)
        return a->channel < b->channel ? -1 : 1;
    return a->order - b->order;
}

/* Groups run one after another, so events come out grouped by channel; the caller wants them by block. */
static long ordered(pycc_dtmf_event_t *ev, long n)
{
    if (n > 1) {
        for (long i = 0; i < n; i++)
            ev[i].order = (int) i;
        qsort(ev, (size_t) n, sizeof(*ev), event_cmp);
    }
    return n;
}

long pycc_dtmf_process(pycc_dtmf_t *s, const int16_t *x, long samples, pycc_dtmf_event_t *events)
{
    return ordered(events, run(s, x, NULL, NULL, samples, events));
}

long pycc_dtmf_process_g711(pycc_dtmf_t *s, const uint8_t *x, const int16_t *table, long samples,
                            pycc_dtmf_event_t *events)
{
    law_bound(s, table);
    return ordered(events, run(s, NULL, x, table, samples, events));
}
