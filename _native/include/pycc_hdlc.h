/* HDLC framing for raw 64 kbit/s D-channel timeslots: one octet per sample, LSB first on the wire. */
#ifndef PYCC_HDLC_H
#define PYCC_HDLC_H

#include <stddef.h>
#include <stdint.h>

enum { PYCC_HDLC_FRAME = 0, PYCC_HDLC_BAD_FCS = 1, PYCC_HDLC_ABORT = 2, PYCC_HDLC_OVERRUN = 3, PYCC_HDLC_SHORT = 4 };

uint16_t pycc_fcs16(const uint8_t *data, size_t n);

typedef struct {
    uint8_t *queue;        /* records: 2-byte little-endian length, then frame bytes with FCS */
    size_t q_head, q_len, q_cap;
    uint32_t bits;         /* bits waiting to go out, next one in bit 0 */
    int nbits;
    int in_frame, after_flag, ones;
    size_t pos, frame_bits;
} pycc_hdlc_tx_t;

typedef struct {
    uint8_t *buf;          /* max_frame + 2 bytes: room for the flag's first bits after a full frame */
    size_t nbits;
    int ones, hunting;
} pycc_hdlc_rx_t;

typedef struct {
    int kind, channel;
    size_t offset, length; /* payload in the byte arena (good frames only) */
} pycc_hdlc_event_t;

typedef struct {
    pycc_hdlc_event_t *ev;
    size_t n, cap;
    uint8_t *bytes;
    size_t nbytes, bcap;
} pycc_hdlc_events_t;

/* All return 0, or -1 when out of memory. */
int pycc_hdlc_tx_queue(pycc_hdlc_tx_t *s, const uint8_t *frame, size_t n);
void pycc_hdlc_tx_abort(pycc_hdlc_tx_t *s);
size_t pycc_hdlc_tx_pending(const pycc_hdlc_tx_t *s);
void pycc_hdlc_tx_free(pycc_hdlc_tx_t *s);
/* out is channels x n_octets, row-major */
void pycc_hdlc_tx_run(pycc_hdlc_tx_t *states, int channels, uint8_t *out, size_t n_octets);

int pycc_hdlc_rx_init(pycc_hdlc_rx_t *s, size_t max_frame);
void pycc_hdlc_rx_free(pycc_hdlc_rx_t *s);
int pycc_hdlc_rx_run(pycc_hdlc_rx_t *states, int channels, const uint8_t *in, size_t n_octets,
                     size_t max_frame, size_t min_frame, pycc_hdlc_events_t *events);
void pycc_hdlc_events_free(pycc_hdlc_events_t *e);

#endif
