/* HDLC bit-level framing (ISO/IEC 13239 as Q.921 and Q.703 use it): flags, zero-bit stuffing,
 * FCS-16, abort.  Bits leave and arrive least significant bit of each octet first. */
#include <stdlib.h>
#include <string.h>

#include "pycc_hdlc.h"

#define FLAG 0x7E

static uint16_t fcs_table[256];
/* Runs of ones in each octet, in line order (bit 0 first), for the whole-octet fast paths:
 * an octet can pass without stuffing or flag checks when no run of five ones can form in it. */
static uint8_t lead_ones[256], trail_ones[256], max_run[256];
static int fcs_ready;

/* CRC-16/X.25: reflected polynomial x^16 + x^12 + x^5 + 1, preset to ones, sent complemented. */
static void fcs_init(void)
{
    for (int i = 0; i < 256; i++) {
        uint16_t r = (uint16_t) i;
        for (int k = 0; k < 8; k++)
            r = (r & 1) ? (uint16_t) ((r >> 1) ^ 0x8408) : (uint16_t) (r >> 1);
        fcs_table[i] = r;
        int run = 0, best = 0, lead = -1;
        for (int k = 0; k < 8; k++) {
            if ((i >> k) & 1) {
                run++;
            } else {
                if (lead < 0)
                    lead = run;
                run = 0;
            }
            if (run > best)
                best = run;
        }
        lead_ones[i] = (uint8_t) (lead < 0 ? 8 : lead);
        trail_ones[i] = (uint8_t) run;
        max_run[i] = (uint8_t) best;
    }
    fcs_ready = 1;
}

uint16_t pycc_fcs16(const uint8_t *data, size_t n)
{
    if (!fcs_ready)
        fcs_init();
    uint16_t r = 0xFFFF;
    for (size_t i = 0; i < n; i++)
        r = (uint16_t) ((r >> 8) ^ fcs_table[(r ^ data[i]) & 0xFF]);
    return (uint16_t) ~r;
}

/* ---- transmitter ---- */

static int reserve(uint8_t **buf, size_t *cap, size_t need)
{
    if (need <= *cap)
        return 0;
    size_t cap2 = *cap ? *cap : 256;
    while (cap2 < need)
        cap2 *= 2;
    uint8_t *p = realloc(*buf, cap2);
    if (!p)
        return -1;
    *buf = p;
    *cap = cap2;
    return 0;
}

int pycc_hdlc_tx_queue(pycc_hdlc_tx_t *s, const uint8_t *frame, size_t n)
{
    if (!fcs_ready)
        fcs_init();
    /* drop consumed records first so the queue does not grow without bound */
    if (s->q_head) {
        memmove(s->queue, s->queue + s->q_head, s->q_len - s->q_head);
        s->q_len -= s->q_head;
        s->q_head = 0;
    }
    if (reserve(&s->queue, &s->q_cap, s->q_len + n + 4))
        return -1;
    uint8_t *rec = s->queue + s->q_len;
    uint16_t fcs = pycc_fcs16(frame, n);
    size_t len = n + 2;
    rec[0] = (uint8_t) (len & 0xFF);
    rec[1] = (uint8_t) (len >> 8);
    memcpy(rec + 2, frame, n);
    rec[2 + n] = (uint8_t) (fcs & 0xFF); /* FCS goes out low-order byte first */
    rec[3 + n] = (uint8_t) (fcs >> 8);
    s->q_len += len + 2;
    return 0;
}

static size_t record_len(const pycc_hdlc_tx_t *s)
{
    return (size_t) s->queue[s->q_head] | ((size_t) s->queue[s->q_head + 1] << 8);
}

static void drop_record(pycc_hdlc_tx_t *s)
{
    s->q_head += record_len(s) + 2;
    if (s->q_head == s->q_len)
        s->q_head = s->q_len = 0;
}

void pycc_hdlc_tx_abort(pycc_hdlc_tx_t *s)
{
    if (!s->in_frame)
        return;
    drop_record(s);
    s->in_frame = 0;
    s->ones = 0;
    /* bits still held back all belong to the aborted frame: drop them, then eight ones */
    s->bits = 0xFF;
    s->nbits = 8;
    s->after_flag = 0;
}

size_t pycc_hdlc_tx_pending(const pycc_hdlc_tx_t *s)
{
    size_t n = 0;
    for (size_t at = s->q_head; at < s->q_len; n++)
        at += ((size_t) s->queue[at] | ((size_t) s->queue[at + 1] << 8)) + 2;
    return n;
}

void pycc_hdlc_tx_free(pycc_hdlc_tx_t *s)
{
    free(s->queue);
    memset(s, 0, sizeof(*s));
}

/* Appends the next bit(s) of the line signal to s->bits. */
static void tx_refill(pycc_hdlc_tx_t *s)
{
    if (!s->in_frame && s->after_flag && s->q_head < s->q_len) {
        /* the flag just sent opens this frame (back-to-back frames share one flag) */
        s->in_frame = 1;
        s->pos = 0;
        s->ones = 0;
        s->frame_bits = record_len(s) * 8;
    }
    if (!s->in_frame) {
        s->bits |= (uint32_t) FLAG << s->nbits;
        s->nbits += 8;
        s->after_flag = 1;
        return;
    }
    if (s->ones == 5) { /* five ones in a row: stuff a zero */
        s->nbits += 1;
        s->ones = 0;
        return;
    }
    if (s->pos < s->frame_bits) {
        const uint8_t *data = s->queue + s->q_head + 2;
        if ((s->pos & 7) == 0) {
            unsigned octet = data[s->pos >> 3];
            if (s->ones + lead_ones[octet] < 5 && max_run[octet] < 5) { /* no stuffing needed */
                s->bits |= (uint32_t) octet << s->nbits;
                s->nbits += 8;
                s->pos += 8;
                s->ones = trail_ones[octet];
                return;
            }
        }
        uint32_t bit = (data[s->pos >> 3] >> (s->pos & 7)) & 1;
        s->pos++;
        s->bits |= bit << s->nbits;
        s->nbits += 1;
        s->ones = bit ? s->ones + 1 : 0;
        return;
    }
    drop_record(s); /* closing flag */
    s->in_frame = 0;
    s->ones = 0;
    s->bits |= (uint32_t) FLAG << s->nbits;
    s->nbits += 8;
    s->after_flag = 1;
}

void pycc_hdlc_tx_run(pycc_hdlc_tx_t *states, int channels, uint8_t *out, size_t n_octets)
{
    for (int c = 0; c < channels; c++) {
        pycc_hdlc_tx_t *s = &states[c];
        uint8_t *row = out + (size_t) c * n_octets;
        for (size_t i = 0; i < n_octets; i++) {
            while (s->nbits < 8)
                tx_refill(s);
            row[i] = (uint8_t) (s->bits & 0xFF);
            s->bits >>= 8;
            s->nbits -= 8;
        }
    }
}

/* ---- receiver ---- */

int pycc_hdlc_rx_init(pycc_hdlc_rx_t *s, size_t max_frame)
{
    memset(s, 0, sizeof(*s));
    s->buf = calloc(max_frame + 2, 1);
    s->hunting = 1;
    return s->buf ? 0 : -1;
}

void pycc_hdlc_rx_free(pycc_hdlc_rx_t *s)
{
    free(s->buf);
    s->buf = NULL;
}

static int emit(pycc_hdlc_events_t *e, int kind, int channel, const uint8_t *payload, size_t len)
{
    if (e->n == e->cap) {
        size_t cap2 = e->cap ? 2 * e->cap : 64;
        pycc_hdlc_event_t *p = realloc(e->ev, cap2 * sizeof(*p));
        if (!p)
            return -1;
        e->ev = p;
        e->cap = cap2;
    }
    if (reserve(&e->bytes, &e->bcap, e->nbytes + len + 1))
        return -1;
    if (len)
        memcpy(e->bytes + e->nbytes, payload, len);
    e->ev[e->n++] = (pycc_hdlc_event_t) {kind, channel, e->nbytes, len};
    e->nbytes += len;
    return 0;
}

/* A flag ended whatever was collected since the previous one; the flag's own leading zero and
 * five ones went into the buffer and are not part of the frame. */
static int rx_frame_end(pycc_hdlc_rx_t *s, int channel, size_t min_frame, pycc_hdlc_events_t *e)
{
    if (s->hunting || s->nbits <= 6)
        return 0; /* idle flags, or a frame already reported */
    size_t bits = s->nbits - 6;
    if (bits < 8 * min_frame)
        return emit(e, PYCC_HDLC_SHORT, channel, NULL, 0);
    size_t n = bits / 8;
    if (bits % 8 || pycc_fcs16(s->buf, n - 2) != (uint16_t) (s->buf[n - 2] | (s->buf[n - 1] << 8)))
        return emit(e, PYCC_HDLC_BAD_FCS, channel, NULL, 0);
    return emit(e, PYCC_HDLC_FRAME, channel, s->buf, n - 2);
}

int pycc_hdlc_rx_run(pycc_hdlc_rx_t *states, int channels, const uint8_t *in, size_t n_octets,
                     size_t max_frame, size_t min_frame, pycc_hdlc_events_t *e)
{
    if (!fcs_ready)
        fcs_init();
    for (int c = 0; c < channels; c++) {
        pycc_hdlc_rx_t *s = &states[c];
        const uint8_t *row = in + (size_t) c * n_octets;
        for (size_t i = 0; i < n_octets; i++) {
            unsigned octet = row[i];
            if (!s->hunting && s->ones + lead_ones[octet] < 5 && max_run[octet] < 5
                && (s->nbits >> 3) + 1 < max_frame + 1) {
                /* all eight bits are data: no flag, abort or stuffed zero can be in them */
                size_t byte = s->nbits >> 3;
                unsigned shift = s->nbits & 7;
                if (shift == 0) {
                    s->buf[byte] = (uint8_t) octet;
                } else {
                    s->buf[byte] |= (uint8_t) (octet << shift);
                    s->buf[byte + 1] = (uint8_t) (octet >> (8 - shift));
                }
                s->nbits += 8;
                s->ones = trail_ones[octet];
                continue;
            }
            for (int k = 0; k < 8; k++, octet >>= 1) {
                unsigned bit = octet & 1;
                if (bit) {
                    if (s->ones < 7) /* a line of all ones would otherwise overflow the count */
                        s->ones++;
                    if (s->ones == 7 && !s->hunting) {
                        /* abort; the ones may all belong to it, so only report if data came first */
                        if (s->nbits > 5 && emit(e, PYCC_HDLC_ABORT, c, NULL, 0))
                            return -1;
                        s->hunting = 1;
                    }
                    if (s->ones >= 6 || s->hunting)
                        continue; /* sixth one: a flag or an abort, not data */
                } else {
                    int ones = s->ones;
                    s->ones = 0;
                    if (ones == 6) {
                        if (rx_frame_end(s, c, min_frame, e))
                            return -1;
                        s->hunting = 0;
                        s->nbits = 0;
                        continue;
                    }
                    if (ones == 5 || s->hunting)
                        continue; /* stuffed zero */
                }
                size_t byte = s->nbits >> 3;
                if (byte >= max_frame + 1) {
                    if (emit(e, PYCC_HDLC_OVERRUN, c, NULL, 0))
                        return -1;
                    s->hunting = 1;
                    continue;
                }
                if ((s->nbits & 7) == 0)
                    s->buf[byte] = 0;
                s->buf[byte] |= (uint8_t) (bit << (s->nbits & 7));
                s->nbits++;
            }
        }
    }
    return 0;
}

void pycc_hdlc_events_free(pycc_hdlc_events_t *e)
{
    free(e->ev);
    free(e->bytes);
    memset(e, 0, sizeof(*e));
}
