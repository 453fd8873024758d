/* DTMF receiver kernel: see pycallcenter/dsp/reference/dtmf.py for the specification it reproduces. */
#ifndef PYCC_DTMF_H
#define PYCC_DTMF_H
#include <stdint.h>

typedef struct {
    float halfband[4], window[52], coef[8], cosw[8], sinw[8], cosh[8], sinh[8], costol[8], costol_run[8], gain_poly[4];
    float notch_a[2], notch_b1[2], notch_b2[2];
    float norm, level, cand_level, twist, rtwist, min_purity, cand_purity, tone_purity, run_purity;
    int on_blocks, off_blocks, strong_blocks, dialtone;
    float rest_energy;           /* rest: rest_blocks blocks of at most this energy (twin: the rest rule) */
    int rest_blocks, rest_peak;  /* and it lasts while each tick stays within +-rest_peak (-1: never rest) */
} pycc_dtmf_tables_t;

typedef struct {
    int channel, digit, kind; /* kind 0 = begin, 1 = end */
    int order;                /* internal: emission order, the sort's last key */
    int64_t start, end, when;
} pycc_dtmf_event_t;

typedef struct pycc_dtmf pycc_dtmf_t;

pycc_dtmf_t *pycc_dtmf_new(int channels, const pycc_dtmf_tables_t *tables);
void pycc_dtmf_free(pycc_dtmf_t *s);
void pycc_dtmf_reset(pycc_dtmf_t *s, int channel);
/* Most events one call of `samples` samples can produce (size of the events array). */
long pycc_dtmf_max_events(const pycc_dtmf_t *s, long samples);
/* Feed one (channels x samples) int16 block (or G.711 codes through a 256-entry table); returns events written,
 * ordered by the analysis block that produced them, then by channel (a channel's end before its begin). */
long pycc_dtmf_process(pycc_dtmf_t *s, const int16_t *x, long samples, pycc_dtmf_event_t *events);
long pycc_dtmf_process_g711(pycc_dtmf_t *s, const uint8_t *x, const int16_t *table, long samples, pycc_dtmf_event_t *events);
int64_t pycc_dtmf_samples(const pycc_dtmf_t *s);
/* Tests: 0 when the channel is awake, 1 when it rests (its signal state all zero), -1 when it rests with state
 * left (a bug). */
int pycc_dtmf_at_rest(const pycc_dtmf_t *s, int channel);
/* Tests: the channel's filter state, 28 floats: the notches' x1, x2, y1, y2 (each for notch 0 then 1), then per
 * block parity the column filters' s1[4] and s2[4], then the low band's block energy per parity, then the high
 * band's; the same numbers the twin keeps, so a test can compare them bit for bit. */
#define PYCC_DTMF_STATE 28
void pycc_dtmf_signal_state(const pycc_dtmf_t *s, int channel, float out[PYCC_DTMF_STATE]);
/* lane-blocks the row screen ruled out, lanes it gathered for their rows, group-blocks whose rows ran in place */
void pycc_dtmf_screen_counts(const pycc_dtmf_t *s, long counts[3]);
/* Tests: pick the Goertzel code path (1 AVX-512VL passes of eight, if the CPU has it; 0 passes of four; -1 by
 * the CPU). Both give identical results; returns the path now set (-1 until the first block is processed). */
int pycc_dtmf_wide_path(int wide);
#endif
