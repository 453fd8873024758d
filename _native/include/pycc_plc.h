/* G.711 Appendix I packet-loss concealment kernel: pycallcenter/dsp/reference/plc.py is the specification it
   reproduces sample for sample. */
#ifndef PYCC_PLC_H
#define PYCC_PLC_H
#include <stdint.h>

#define PYCC_PLC_FRAME 80 /* 10 ms sub-frame */
#define PYCC_PLC_DELAY 30 /* output lags input by a quarter of the longest pitch period */

typedef struct pycc_plc pycc_plc_t;

pycc_plc_t *pycc_plc_new(int channels);
void pycc_plc_free(pycc_plc_t *s);
void pycc_plc_reset(pycc_plc_t *s, int channel);
/* Conceal one (channels x samples) block, samples a multiple of 80. lost is (channels x samples/80), nonzero
   marks a lost 10 ms sub-frame (its input samples are ignored); out receives the output, DELAY samples late. */
void pycc_plc_process(pycc_plc_t *s, const int16_t *x, const uint8_t *lost, int16_t *out, long samples);
#endif
