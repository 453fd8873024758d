/* G.711 A-law and mu-law kernels (bit-exact with ITU-T G.191) and A<->mu transcoding (G.711 Tables 3/4). */
#ifndef PYCC_G711_H
#define PYCC_G711_H

#include <stddef.h>
#include <stdint.h>

enum { PYCC_G711_ULAW = 0, PYCC_G711_ALAW = 1 };

/* live[r] of a row that pycc_g711_send_copies sent this tick */
enum { PYCC_G711_SENT = 2 };

/* Builds the lookup tables; call once before anything else (idempotent). */
void pycc_g711_init(void);

void pycc_g711_encode(int law, const int16_t *in, uint8_t *out, size_t n);
void pycc_g711_decode(int law, const uint8_t *in, int16_t *out, size_t n);
/* to_law is the law of the output codes: PYCC_G711_ULAW means A-law in, mu-law out. */
void pycc_g711_transcode(int to_law, const uint8_t *in, uint8_t *out, size_t n);

/* One tick's mix to the line, row by row (acc, tx: rows x n; codes: n bytes for each row r
 * with a law, law[r] >= 0, which come first).
 * A row with live[r] == PYCC_G711_SENT was sent already (pycc_g711_send_copies): it is only booked as written.
 * A row with another live[r] set gets its int32 sum saturated into tx, encoded into codes with law[r] (PYCC_G711_ULAW
 * or PYCC_G711_ALAW; a negative law: no codes, e.g. a packet row) and its acc row cleared. A row not live but
 * dirty[r] (written last tick) gets silence in tx and codes. Then dirty[r] = live[r] and live[r] = 0: rows
 * neither live nor dirty are not touched, their tx zero and codes the silence code already. acc must be zero
 * on every row not live. The codes are those of pycc_g711_encode, computed without its table so that the loop
 * vectorises (AVX2 where the CPU has it). */
void pycc_g711_mix_out(int32_t *acc, int16_t *tx, uint8_t *codes, const int8_t *law, uint8_t *live,
                       uint8_t *dirty, size_t rows, size_t n);

/* The rows whose tick is one talker's audio as it came in (a bridge's listener hearing nothing else), sent
 * without the int32 mix: for each i, tx[dst[i]] = rx[src[i]] (rows of n samples; an int16 row needs no
 * saturation), codes[dst[i]] its encoding with law[dst[i]] (none for a negative law) and live[dst[i]] =
 * PYCC_G711_SENT. The codes and tx are those pycc_g711_mix_out sends for the same row added into the mix. */
void pycc_g711_send_copies(const int16_t *rx, int16_t *tx, uint8_t *codes, const int8_t *law, uint8_t *live,
                           const ptrdiff_t *dst, const ptrdiff_t *src, size_t k, size_t n);

#endif
