/* G.711 A-law and mu-law kernels (bit-exact with ITU-T G.191) and A<->mu transcoding (G.711 Tables 3/4). */
#ifndef PYCC_G711_H
#define PYCC_G711_H

#include <stddef.h>
#include <stdint.h>

enum { PYCC_G711_ULAW = 0, PYCC_G711_ALAW = 1 };

/* Builds the lookup tables; call once before anything else (idempotent). */
void pycc_g711_init(void);

void pycc_g711_encode(int law, const int16_t *in, uint8_t *out, size_t n);
void pycc_g711_decode(int law, const uint8_t *in, int16_t *out, size_t n);
/* to_law is the law of the output codes: PYCC_G711_ULAW means A-law in, mu-law out. */
void pycc_g711_transcode(int to_law, const uint8_t *in, uint8_t *out, size_t n);

#endif
